/*
 * lock and elect: run a command while holding a lock / while leader.
 *
 * The command runs as a child process (in its own process group, with
 * PR_SET_PDEATHSIG so it dies with us if we are killed with -9). We poll the
 * child and the session; when the session is lost we kill the child's group
 * (TERM, then KILL after a grace period) and exit 4. By default "lost" starts
 * at SUSPENDED: once the connection is gone we can no longer know that the
 * lock is ours, and the server may expire the session about when we notice
 * (Curator's advice). --tolerate-suspend waits for EXPIRED instead (which
 * the client declares after a whole session timeout without a server), for
 * commands that prefer availability and check the fencing token themselves.
 * The fencing token (czxid of our lock node) is exported as
 * SYNOD_FENCING_TOKEN; it grows with every new holder.
 */
#include "cli/cli.h"

#include "base/limits.h"

#include "client/client.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CLI_POLL_MS        50
#define CLI_KILL_GRACE_MS  2000
#define CLI_CHECK_EVERY_MS 1000

static void cli_nap(int ms)
{
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

/* "/abs/dir" stays; a bare NAME goes under prefix. */
static bool cli_recipe_dir(const char *prefix, const char *name, char *buf, size_t len)
{
        if (name[0] == '\0' || (name[0] != '/' && strchr(name, '/')))
                return false;
        int n = name[0] == '/' ? snprintf(buf, len, "%s", name)
                               : snprintf(buf, len, "%s/%s", prefix, name);
        return n > 0 && (size_t)n < len;
}

static pid_t cli_spawn(char **cmd, int64_t token, const char *node)
{
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid != 0)
                return pid;
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
                _exit(127); /* the parent died before prctl */
        char tok[32];
        snprintf(tok, sizeof(tok), "%" PRId64, token);
        setenv("SYNOD_FENCING_TOKEN", tok, 1);
        if (node)
                setenv("SYNOD_LOCK_NODE", node, 1);
        signal(SIGPIPE, SIG_DFL);
        execvp(cmd[0], cmd);
        fprintf(stderr, "synod: cannot run %s: %s\n", cmd[0], strerror(errno));
        _exit(127);
}

static int cli_exit_status(int status)
{
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : CLI_EXIT_INTERNAL;
}

/* Kills the child's group and reaps it. */
static void cli_kill_child(pid_t pid)
{
        kill(-pid, SIGTERM);
        kill(pid, SIGTERM);
        for (int waited = 0; waited < CLI_KILL_GRACE_MS; waited += CLI_POLL_MS) {
                if (waitpid(pid, NULL, WNOHANG) == pid)
                        return;
                cli_nap(CLI_POLL_MS);
        }
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

/* Is what we hold still ours? */
static bool cli_still_ours(struct synod *h, struct synod_lock *l, bool tolerate_suspend,
                           int64_t *next_check_ms, int64_t now_ms)
{
        enum synod_state s = synod_state(h);
        if (s == SYNOD_STATE_EXPIRED || s == SYNOD_STATE_CLOSED)
                return false;
        if (s == SYNOD_STATE_SUSPENDED && !tolerate_suspend)
                return false;
        if (s == SYNOD_STATE_CONNECTED && now_ms >= *next_check_ms) {
                *next_check_ms = now_ms + CLI_CHECK_EVERY_MS;
                return synod_lock_check(l); /* our node deleted by someone: lost */
        }
        return true;
}

static int64_t cli_now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs cmd while l is held. Returns the exit code. */
static int cli_run_holding(struct cli_ctx *ctx, struct synod_lock *l, char **cmd,
                           bool tolerate_suspend, const char *what)
{
        pid_t pid = cli_spawn(cmd, synod_lock_token(l), synod_lock_path(l));
        if (pid < 0) {
                return cli_error(ctx, CLI_EXIT_INTERNAL, "cannot fork: %s", strerror(errno));
        }
        int64_t next_check = 0;
        for (;;) { /* until the child exits, a signal, or the lock is lost */
                int status;
                pid_t w = waitpid(pid, &status, WNOHANG);
                if (w == pid) {
                        synod_lock_release(l);
                        return cli_exit_status(status);
                }
                if (cli_interrupted()) {
                        cli_kill_child(pid);
                        synod_lock_release(l);
                        return 128 + SIGTERM;
                }
                if (!cli_still_ours(ctx->h, l, tolerate_suspend, &next_check, cli_now_ms())) {
                        cli_error(ctx, CLI_EXIT_LOST, "%s lost (%s); stopping the command", what,
                                  synod_state_name(synod_state(ctx->h)));
                        cli_kill_child(pid);
                        return CLI_EXIT_LOST;
                }
                cli_nap(CLI_POLL_MS);
        }
}

struct cli_lock_args {
        long long timeout_ms;
        const char *kind;
        const char *id;
        bool tolerate_suspend;
        bool observe;
        const char *name;
        char **cmd;
};

/* Parses [options] NAME [--] CMD... (or --observe NAME); false if reported. */
static bool cli_lock_parse(struct cli_ctx *ctx, int argc, char **argv, struct cli_lock_args *a)
{
        static const struct option longs[] = {
            {"read", no_argument, NULL, 'r'},     {"write", no_argument, NULL, 'w'},
            {"id", required_argument, NULL, 'i'}, {"tolerate-suspend", no_argument, NULL, 'T'},
            {"observe", no_argument, NULL, 'o'},  {0, 0, 0, 0}};
        cli_getopt_reset();
        /* '+': options end at NAME, so that CMD keeps its own. */
        for (int c; (c = getopt_long(argc, argv, "+:t:", longs, NULL)) != -1;) {
                if (c == 't' && !cli_number(ctx, "-t", optarg, 0, INT_MAX, &a->timeout_ms))
                        return false;
                else if (c == 'r')
                        a->kind = "read";
                else if (c == 'w')
                        a->kind = "write";
                else if (c == 'i')
                        a->id = optarg;
                else if (c == 'T')
                        a->tolerate_suspend = true;
                else if (c == 'o')
                        a->observe = true;
                else if (c != 't') {
                        cli_bad_option(ctx, c, argv);
                        return false;
                }
        }
        if (optind >= argc) {
                cli_error(ctx, CLI_EXIT_USAGE, "%s: missing NAME", ctx->cmd);
                return false;
        }
        a->name = argv[optind++];
        if (optind < argc && strcmp(argv[optind], "--") == 0)
                optind++;
        a->cmd = optind < argc ? argv + optind : NULL;
        if (a->observe && a->cmd != NULL)
                cli_error(ctx, CLI_EXIT_USAGE, "%s --observe takes no command", ctx->cmd);
        else if (!a->observe && a->cmd == NULL)
                cli_error(ctx, CLI_EXIT_USAGE, "%s: missing the command to run: %s NAME -- CMD...",
                          ctx->cmd, ctx->cmd);
        return a->observe ? a->cmd == NULL : a->cmd != NULL;
}

/* The directory of NAME under prefix, or a message saying why NAME is no name. */
static bool cli_lock_dir(struct cli_ctx *ctx, const char *prefix, const char *name, char *buf,
                         size_t len)
{
        if (name[0] == '/' && !cli_path_ok(ctx, name, false))
                return false;
        if (!cli_recipe_dir(prefix, name, buf, len)) {
                cli_error(ctx, CLI_EXIT_USAGE,
                          "%s: NAME '%.80s' must be a plain name (no '/') or an absolute path",
                          ctx->cmd, name);
                return false;
        }
        return true;
}

static bool cli_lock_cancel(void *arg)
{
        (void)arg;
        return cli_interrupted();
}

static int cli_acquire_and_run(struct cli_ctx *ctx, struct synod_lock *l,
                               const struct cli_lock_args *a, const char *what)
{
        cl_lock_set_cancel(l, cli_lock_cancel, NULL); /* SIGTERM while waiting: give up */
        int rc = synod_lock_acquire(l, (int)a->timeout_ms);
        if (rc == SYNOD_ECLOSING && cli_interrupted())
                return 128 + SIGTERM;
        if (rc == SYNOD_EOPERATIONTIMEOUT) {
                return cli_error(ctx, CLI_EXIT_TIMEOUT, "%s not acquired within %lld ms", what,
                                 a->timeout_ms);
        }
        if (rc != SYNOD_OK)
                return cli_fail(ctx, rc, what);
        if (ctx->json) {
                fputs("{\"acquired\":", ctx->err);
                cli_json_string(ctx->err, synod_lock_path(l));
                fprintf(ctx->err, ",\"token\":%" PRId64 "}\n", synod_lock_token(l));
        }
        return cli_run_holding(ctx, l, a->cmd, a->tolerate_suspend, what);
}

int cmd_lock(struct cli_ctx *ctx, int argc, char **argv)
{
        struct cli_lock_args a = {.timeout_ms = -1, .kind = "lock"};
        char dir[CLI_NAME_BYTES_MAX];
        if (!cli_lock_parse(ctx, argc, argv, &a))
                return cli_usage(ctx, cli_command_usage("lock"), CLI_EXIT_USAGE);
        if (a.observe)
                return cli_error(ctx, CLI_EXIT_USAGE, "lock: --observe is for elect");
        if (!cli_lock_dir(ctx, "/synod/locks", a.name, dir, sizeof(dir)))
                return CLI_EXIT_USAGE;
        ctx->patient = true;
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        struct synod_lock *l;
        int rc = synod_lock_new(ctx->h, dir, a.kind, &l);
        if (rc != SYNOD_OK)
                return cli_fail(ctx, rc, dir);
        char owner[128];
        char host[64] = "";
        gethostname(host, sizeof(host) - 1);
        snprintf(owner, sizeof(owner), "%s:%d", host, (int)getpid());
        synod_lock_set_data(l, owner, (int32_t)strlen(owner));
        code = cli_acquire_and_run(ctx, l, &a, "lock");
        synod_lock_free(l);
        return code;
}

int cmd_elect(struct cli_ctx *ctx, int argc, char **argv)
{
        struct cli_lock_args a = {.timeout_ms = -1, .kind = "n"};
        char dir[CLI_NAME_BYTES_MAX];
        if (!cli_lock_parse(ctx, argc, argv, &a))
                return cli_usage(ctx, cli_command_usage("elect"), CLI_EXIT_USAGE);
        if (!cli_lock_dir(ctx, "/synod/elections", a.name, dir, sizeof(dir)))
                return CLI_EXIT_USAGE;
        ctx->patient = !a.observe;
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        if (a.observe) {
                char *leader = NULL;
                int rc = synod_election_observe(ctx->h, dir, &leader);
                if (rc == SYNOD_OK) {
                        if (ctx->json) {
                                fputs("{\"leader\":", ctx->out);
                                cli_json_string(ctx->out, leader);
                                fputs("}\n", ctx->out);
                        } else {
                                fprintf(ctx->out, "%s\n", leader ? leader : "");
                        }
                }
                free(leader);
                return cli_fail(ctx, rc, dir);
        }
        char idbuf[128];
        if (a.id == NULL) {
                char host[64] = "";
                gethostname(host, sizeof(host) - 1);
                snprintf(idbuf, sizeof(idbuf), "%s:%d", host, (int)getpid());
                a.id = idbuf;
        }
        setenv("SYNOD_LEADER_ID", a.id, 1);
        /* An election is a lock of kind "n" whose data is the candidate id (what
         * synod_election_* does); CMD runs the same way as under `lock`. */
        struct synod_lock *l;
        int rc = synod_lock_new(ctx->h, dir, "n", &l);
        if (rc != SYNOD_OK)
                return cli_fail(ctx, rc, dir);
        synod_lock_set_data(l, a.id, (int32_t)strlen(a.id));
        code = cli_acquire_and_run(ctx, l, &a, "leadership");
        synod_lock_free(l);
        return code;
}
