/*
 * `synod` command-line driver: global options, the subcommand table, help,
 * the man page, exit codes and the small output helpers every command uses.
 *
 * Global options may appear anywhere before a "--" (so `synod get /a --json`
 * works); they are removed from argv before the subcommand parses its own.
 * Every subcommand answers --help with its usage text, which is also what
 * `synod help --man` turns into the man page.
 */
#include "cli/cli.h"

#include "base/err.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/zk_path.h"
#include "client/client.h"
#include "proto/zk_records.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CLI_SERVERS_DEFAULT            "127.0.0.1:2181"
#define CLI_SESSION_TIMEOUT_MS_DEFAULT 10000
#define CLI_CONNECT_TIMEOUT_MS_DEFAULT 15000
/* Longest value of --session-timeout / --connect-timeout, ms (an hour). */
#define CLI_TIMEOUT_MS_MAX (3600 * 1000)
/* How much of an offending argument a message quotes, bytes. */
#define CLI_SHOWN_BYTES_MAX 80

static volatile sig_atomic_t cli_signal_seen; /* the one signal flag */

static void cli_on_signal(int sig)
{
        cli_signal_seen = sig;
}

void cli_signals_install(void)
{
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = cli_on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
}

bool cli_interrupted(void)
{
        return cli_signal_seen != 0;
}

static const char cli_global_help[] =
    "usage: synod [--server HOSTS] [--auth SCHEME:CREDENTIALS] [--json]\n"
    "             [--session-timeout MS] [--connect-timeout MS] COMMAND [ARGS...]\n"
    "\n"
    "Global options (anywhere before a \"--\"):\n"
    "      --server HOSTS       connect string host:port[,host:port...][/chroot]\n"
    "                           (default $SYNOD_SERVERS, else " CLI_SERVERS_DEFAULT ")\n"
    "      --auth SCHEME:CRED   authenticate the session, e.g. digest:user:password\n"
    "                           (default $SYNOD_AUTH, which keeps it out of ps)\n"
    "  -j, --json               machine-readable output\n"
    "      --session-timeout MS session timeout to request (default 10000)\n"
    "      --connect-timeout MS give up connecting after MS (default 15000)\n"
    "  -h, --help               this text; COMMAND --help for a command's\n"
    "\n"
    "Exit codes: 0 ok; 1 the server answered with an error (no node, bad version...);\n"
    "2 usage; 3 could not connect or connection lost; 4 session expired or lock /\n"
    "leadership lost; 5 timed out waiting; 6 internal error; 7 a backup file failed\n"
    "its checks. `lock` and `elect` otherwise exit with their command's status.\n"
    "\n"
    "Commands:\n"
    "  serve     run a server: synod serve [-c zoo.cfg] (synod serve --help)\n";

static void cli_print_commands(FILE *f)
{
        for (int i = 0; i < cli_command_count; i++)
                fprintf(f, "  %-9s %s\n", cli_commands[i].name, cli_commands[i].summary);
}

/* Writes the man page (troff) from the same texts. */
static void cli_print_man(FILE *f)
{
        fprintf(f, ".TH SYNOD 1 \"\" \"synod " SYNOD_VERSION "\" \"User Commands\"\n");
        fprintf(f, ".SH NAME\nsynod \\- command-line client of the synod coordination service\n");
        fprintf(f, ".SH SYNOPSIS\n.nf\n");
        for (const char *p = cli_global_help; *p && strncmp(p, "\nGlobal", 7) != 0; p++)
                fputc(*p == '\\' ? '\\' : *p, f);
        fprintf(f, "\n.fi\n.SH DESCRIPTION\n.nf\n%s", strstr(cli_global_help, "Global"));
        fprintf(f, ".fi\n.SH COMMANDS\n");
        for (int i = 0; i < cli_command_count; i++)
                fprintf(f, ".SS %s\n%s\n.nf\n%s.fi\n", cli_commands[i].name,
                        cli_commands[i].summary, cli_commands[i].usage);
        fprintf(f, ".SH ENVIRONMENT\nSYNOD_SERVERS: default connect string.\n.br\n"
                   "SYNOD_AUTH: default --auth SCHEME:CREDENTIALS.\n");
}

static void cli_verror(struct cli_ctx *ctx, int code, const char *zk_name, const char *fmt,
                       va_list ap) __attribute__((format(printf, 4, 0)));

static void cli_verror(struct cli_ctx *ctx, int code, const char *zk_name, const char *fmt,
                       va_list ap)
{
        char msg[1024];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        ctx->errors++;
        if (ctx->json) {
                fputs("{\"error\":", ctx->err);
                cli_json_string(ctx->err, msg);
                fprintf(ctx->err, ",\"exit\":%d,\"zk_error\":", code);
                cli_json_string(ctx->err, zk_name);
                fputs("}\n", ctx->err);
        } else {
                fprintf(ctx->err, "synod: %s\n", msg);
        }
}

int cli_error(struct cli_ctx *ctx, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        cli_verror(ctx, code, NULL, fmt, ap);
        va_end(ap);
        return code;
}

/* A warning: "synod: MESSAGE", or {"warning":MESSAGE} with --json. */
static void cli_warn(struct cli_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void cli_warn(struct cli_ctx *ctx, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (ctx->json) {
                fputs("{\"warning\":", ctx->err);
                cli_json_string(ctx->err, msg);
                fputs("}\n", ctx->err);
        } else {
                fprintf(ctx->err, "synod: %s\n", msg);
        }
}

static void cli_zk_error(struct cli_ctx *ctx, int code, int zk_err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void cli_zk_error(struct cli_ctx *ctx, int code, int zk_err, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        cli_verror(ctx, code, synod_errname(zk_err), fmt, ap);
        va_end(ap);
}

int cli_usage(struct cli_ctx *ctx, const char *text, int code)
{
        if (code == CLI_EXIT_OK)
                fputs(text, ctx->out);
        else if (!ctx->json)
                fputs(text, ctx->err);
        else if (ctx->errors == 0) /* one JSON error per failure: the specific one if any */
                cli_error(ctx, code, "%s", text);
        return code;
}

void cli_getopt_reset(void)
{
        optind = 0;
        opterr = 0; /* cli_bad_option says it, naming the command */
}

int cli_bad_option(struct cli_ctx *ctx, int c, char **argv)
{
        const char *cmd = ctx->cmd ? ctx->cmd : "synod";
        /* optind has moved past the offending word, unless it was a cluster like -xq. */
        const char *word = optind > 0 ? argv[optind - 1] : "";
        if (c == ':') {
                if (optopt != 0 && word[0] == '-' && word[1] != '-')
                        return cli_error(ctx, CLI_EXIT_USAGE, "%s: option -%c needs a value", cmd,
                                         optopt);
                return cli_error(ctx, CLI_EXIT_USAGE, "%s: option %s needs a value", cmd, word);
        }
        if (optopt >= '0' && optopt <= '9') /* a negative number meant as a value */
                return cli_error(ctx, CLI_EXIT_USAGE,
                                 "%s: unknown option -%c (a value that starts with '-' goes "
                                 "after --: synod %s ... -- %s)",
                                 cmd, optopt, cmd, word);
        if (optopt != 0)
                return cli_error(ctx, CLI_EXIT_USAGE, "%s: unknown option -%c (synod %s --help)",
                                 cmd, optopt, cmd);
        return cli_error(ctx, CLI_EXIT_USAGE, "%s: unknown option '%.*s' (synod %s --help)", cmd,
                         CLI_SHOWN_BYTES_MAX, word, cmd);
}

/* The subcommand argv[1] is none of `known`: report it. */
int cli_bad_subcommand(struct cli_ctx *ctx, int argc, char **argv, const char *known)
{
        if (argc < 2)
                cli_error(ctx, CLI_EXIT_USAGE, "%s: missing the subcommand (%s)", ctx->cmd, known);
        else
                cli_error(ctx, CLI_EXIT_USAGE, "%s: unknown subcommand '%.80s' (%s)", ctx->cmd,
                          argv[1], known);
        return cli_usage(ctx, cli_command_usage(ctx->cmd), CLI_EXIT_USAGE);
}

bool cli_number(struct cli_ctx *ctx, const char *what, const char *s, long long lo, long long hi,
                long long *out)
{
        char *end = NULL;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (s[0] != '\0' && *end == '\0' && errno == 0 && v >= lo && v <= hi) {
                *out = v;
                return true;
        }
        cli_error(ctx, CLI_EXIT_USAGE, "%s%s%s wants an integer from %lld to %lld, not '%.*s'",
                  ctx->cmd ? ctx->cmd : "", ctx->cmd ? " " : "", what, lo, hi, CLI_SHOWN_BYTES_MAX,
                  s);
        return false;
}

/* The first problem zk_path_validate would find, in words. */
const char *cli_path_problem(const char *path, bool sequential)
{
        size_t n = strlen(path);
        if (path[0] != '/')
                return "must start with '/' (paths are absolute)";
        if (n > ZK_PATH_BYTES_MAX)
                return "is too long";
        if (strstr(path, "//") != NULL)
                return "has an empty segment ('//')";
        if (n > 1 && path[n - 1] == '/' && !sequential)
                return "ends with '/' (only a sequential node's prefix may)";
        for (const char *seg = path; seg != NULL; seg = strchr(seg + 1, '/')) {
                size_t len = strcspn(seg + 1, "/");
                if ((len == 1 && seg[1] == '.') || (len == 2 && strncmp(seg + 1, "..", 2) == 0))
                        return "has a '.' or '..' segment (paths are not resolved)";
        }
        if (zk_path_validate((const uint8_t *)path, n, sequential) != ZOK)
                return "has a character ZooKeeper forbids (a control character or invalid "
                       "UTF-8)";
        return NULL;
}

bool cli_path_ok(struct cli_ctx *ctx, const char *path, bool sequential)
{
        const char *why = cli_path_problem(path, sequential);
        if (why != NULL)
                cli_error(ctx, CLI_EXIT_USAGE, "path '%.*s' %s", CLI_SHOWN_BYTES_MAX, path, why);
        return why == NULL;
}

/* ---- values: DATA, -, @FILE ---- */

size_t cli_value_room(const char *path)
{
        size_t used = strlen(path) + CLI_REQUEST_OVERHEAD_BYTES;
        return used < ZK_FRAME_BYTES_MAX ? ZK_FRAME_BYTES_MAX - used : 0;
}

bool cli_stdin_has_data(void)
{
        struct stat st;
        if (isatty(STDIN_FILENO) || fstat(STDIN_FILENO, &st) != 0)
                return false;
        if (S_ISREG(st.st_mode))
                return st.st_size > lseek(STDIN_FILENO, 0, SEEK_CUR);
        if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode))
                return false; /* /dev/null and other devices */
        /* A pipe or socket: data, its end, or nothing for a while -- an idle pipe that ssh
         * or a supervisor hands down and nobody writes, which holds no data to lose. The
         * byte read is lost, but data on stdin makes the command refuse anyway. */
        struct pollfd p = {STDIN_FILENO, POLLIN, 0};
        if (poll(&p, 1, CLI_STDIN_PIPE_WAIT_MS) != 1)
                return false;
        char c;
        return read(STDIN_FILENO, &c, 1) > 0;
}

/* Reads all of fd into v, refusing more than room bytes. */
static int cli_value_slurp(struct cli_ctx *ctx, int fd, const char *name, size_t room,
                           const char *where, struct cli_value *v)
{
        size_t cap = room + 1, len = 0; /* one byte more tells "too big" */
        char *buf = malloc(cap);
        if (buf == NULL)
                return cli_error(ctx, CLI_EXIT_INTERNAL, "%s: out of memory reading %s", where,
                                 name);
        for (;;) { /* bounded by cap */
                ssize_t n = read(fd, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = errno;
                        free(buf);
                        return cli_error(ctx, CLI_EXIT_USAGE, "%s: cannot read %s: %s", where, name,
                                         strerror(e));
                }
                len += (size_t)n;
                if (n == 0 || len == cap)
                        break;
        }
        if (len > room) {
                struct stat st;
                free(buf);
                if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
                        return cli_error(ctx, CLI_EXIT_USAGE,
                                         "%s: %s is %lld bytes; a request must fit in "
                                         "jute.maxbuffer (%d bytes), which leaves %zu bytes for "
                                         "the data",
                                         where, name, (long long)st.st_size, ZK_FRAME_BYTES_MAX,
                                         room);
                return cli_error(ctx, CLI_EXIT_USAGE,
                                 "%s: %s holds more than %zu bytes; a request must fit in "
                                 "jute.maxbuffer (%d bytes)",
                                 where, name, room, ZK_FRAME_BYTES_MAX);
        }
        *v = (struct cli_value){buf, (int32_t)len, true};
        return CLI_EXIT_OK;
}

int cli_value_read(struct cli_ctx *ctx, const char *arg, size_t room, const char *where,
                   struct cli_value *v)
{
        *v = (struct cli_value){NULL, -1, false};
        if (arg == NULL)
                return CLI_EXIT_OK;
        if (strcmp(arg, "-") == 0) {
                if (ctx->in_shell) /* stdin is the shell's own input */
                        return cli_error(ctx, CLI_EXIT_USAGE,
                                         "%s: '-' (data from stdin) does not work in the shell: "
                                         "use @FILE",
                                         where);
                return cli_value_slurp(ctx, STDIN_FILENO, "stdin", room, where, v);
        }
        if (arg[0] == '@') {
                int fd = open(arg + 1, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return cli_error(ctx, CLI_EXIT_USAGE, "%s: cannot open %s: %s", where,
                                         arg + 1, strerror(errno));
                int code = cli_value_slurp(ctx, fd, arg + 1, room, where, v);
                close(fd);
                return code;
        }
        size_t len = strlen(arg);
        if (len > room)
                return cli_error(ctx, CLI_EXIT_USAGE,
                                 "%s: DATA is %zu bytes; a request must fit in jute.maxbuffer "
                                 "(%d bytes), which leaves %zu bytes for the data",
                                 where, len, ZK_FRAME_BYTES_MAX, room);
        *v = (struct cli_value){(char *)arg, (int32_t)len, false};
        return CLI_EXIT_OK;
}

void cli_value_free(struct cli_value *v)
{
        if (v->owned)
                free(v->data);
        *v = (struct cli_value){NULL, -1, false};
}

bool cli_wants_help(int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--") == 0)
                        return false;
                if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
                        return true;
        }
        return false;
}

/* Adds ctx->auth ("scheme:credentials") to the new handle: queued before any request,
 * and re-sent on every reconnect by the library. */
static int cli_add_auth(struct cli_ctx *ctx)
{
        if (ctx->auth == NULL)
                return SYNOD_OK;
        const char *colon = strchr(ctx->auth, ':');
        char *scheme = strndup(ctx->auth, (size_t)(colon - ctx->auth));
        if (scheme == NULL)
                return SYNOD_ESYSTEMERROR;
        const char *cred = colon + 1;
        int rc = synod_add_auth(ctx->h, scheme, cred, (int32_t)strnlen(cred, INT32_MAX));
        free(scheme);
        return rc;
}

/* "a:1 (connection refused), b:2 (unknown host)": each server and how its last
 * attempt ended, into buf. Returns true if no host resolved. */
static bool cli_describe_servers(struct cli_ctx *ctx, const enum cl_reach *reach, char *buf,
                                 size_t len)
{
        const struct cl_connstr *cs = &ctx->h->cs; /* read-only once open */
        size_t used = 0;
        bool all_unknown = true;
        buf[0] = '\0';
        for (int i = 0; i < cs->count; i++) {
                all_unknown = all_unknown && reach[i] == CL_REACH_NO_HOST;
                int n = used < len ? snprintf(buf + used, len - used, "%s%s:%d (%s)", i ? ", " : "",
                                              cs->servers[i].host, cs->servers[i].port,
                                              cl_reach_name(reach[i]))
                                   : 0;
                used += n > 0 ? (size_t)n : 0;
        }
        return all_unknown;
}

static int64_t cli_mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Waits for the session. When every server refused the connection or named an unknown
 * host, nothing is listening: a one-shot command (get, create, ...) says so at once
 * instead of waiting out --connect-timeout, since a new user's usual mistake is a
 * server not started or a wrong port. A long-running command (watch, lock, service
 * register, ...) is often started next to its servers by a supervisor, where a server
 * still starting refuses for a moment: it says so at once too, but keeps trying until
 * --connect-timeout. Once a session exists, a lost connection is the library's to
 * retry in both cases (the session may outlive a server restart).
 */
static int cli_wait_session(struct cli_ctx *ctx)
{
        enum cl_reach reach[CLIENT_SERVERS_MAX];
        char where[CLIENT_SERVERS_MAX * 64];
        bool warned = false;
        int64_t deadline = cli_mono_ms() + ctx->connect_timeout_ms;
        for (;;) { /* bounded by deadline */
                int rc = synod_wait_connected(ctx->h, CLI_CONNECT_POLL_MS);
                if (rc == SYNOD_OK)
                        return CLI_EXIT_OK;
                if (rc != SYNOD_EOPERATIONTIMEOUT)
                        return cli_fail(ctx, rc, "connect");
                if (cl_nobody_listening(ctx->h, reach) && !warned) {
                        bool unknown = cli_describe_servers(ctx, reach, where, sizeof(where));
                        const char *hint =
                            unknown ? "is the host name right?" : "is synod running?";
                        if (!ctx->patient)
                                return cli_error(ctx, CLI_EXIT_CONNECT,
                                                 "no server at %s — %s (servers from %s)", where,
                                                 hint, ctx->servers_from);
                        cli_warn(ctx,
                                 "no server at %s — %s (servers from %s); still trying for up "
                                 "to %d ms",
                                 where, hint, ctx->servers_from, ctx->connect_timeout_ms);
                        warned = true;
                }
                if (cli_interrupted())
                        return cli_error(ctx, CLI_EXIT_CONNECT, "interrupted while connecting");
                if (cli_mono_ms() >= deadline) {
                        cl_nobody_listening(ctx->h, reach);
                        cli_describe_servers(ctx, reach, where, sizeof(where));
                        return cli_error(ctx, CLI_EXIT_CONNECT,
                                         "cannot connect within %d ms (--connect-timeout): %s",
                                         ctx->connect_timeout_ms, where);
                }
        }
}

int cli_connect(struct cli_ctx *ctx)
{
        if (ctx->h != NULL) {
                enum synod_state s = synod_state(ctx->h);
                if (s != SYNOD_STATE_EXPIRED && s != SYNOD_STATE_CLOSED)
                        return CLI_EXIT_OK;
                synod_close(ctx->h); /* the shell reconnects after an expiry */
                ctx->h = NULL;
        }
        struct cl_connstr *cs = malloc(sizeof(*cs));
        if (cs == NULL)
                return cli_error(ctx, CLI_EXIT_INTERNAL, "out of memory");
        char why[256];
        int bad = cl_connstr_parse_why(ctx->servers, cs, why, sizeof(why));
        free(cs);
        if (bad != SYN_OK)
                return cli_error(ctx, CLI_EXIT_USAGE, "bad connect string '%.*s' (from %s): %s",
                                 CLI_SHOWN_BYTES_MAX, ctx->servers, ctx->servers_from, why);
        struct synod_options opt = {.servers = ctx->servers,
                                    .session_timeout_ms = ctx->session_timeout_ms,
                                    .seed = 0,
                                    .on_state = NULL,
                                    .state_arg = NULL};
        int rc = synod_open(&ctx->h, &opt);
        if (rc != SYNOD_OK)
                return cli_fail(ctx, rc, "connect");
        int code = cli_fail(ctx, cli_add_auth(ctx), "--auth");
        if (code == CLI_EXIT_OK)
                code = cli_wait_session(ctx);
        if (code != CLI_EXIT_OK) {
                synod_close(ctx->h);
                ctx->h = NULL;
        }
        return code;
}

int cli_fail(struct cli_ctx *ctx, int zk_err, const char *what)
{
        return cli_fail_hint(ctx, zk_err, what, NULL);
}

int cli_fail_hint(struct cli_ctx *ctx, int zk_err, const char *what, const char *hint)
{
        if (zk_err == SYNOD_OK)
                return CLI_EXIT_OK;
        int code;
        switch (zk_err) {
        case SYNOD_ECONNECTIONLOSS:
        case SYNOD_ECLOSING:
                code = CLI_EXIT_CONNECT;
                break;
        case SYNOD_ESESSIONEXPIRED:
                code = CLI_EXIT_LOST;
                break;
        case SYNOD_EOPERATIONTIMEOUT:
                code = CLI_EXIT_TIMEOUT;
                break;
        case SYNOD_EBADARGUMENTS:
                code = CLI_EXIT_USAGE;
                break;
        case SYNOD_ESYSTEMERROR:
        case SYNOD_EAPIERROR:
                code = CLI_EXIT_INTERNAL;
                break;
        default:
                code = CLI_EXIT_ZK_ERROR;
                break;
        }
        cli_zk_error(ctx, code, zk_err, "%s: %s%s%s", what, synod_strerror(zk_err),
                     hint ? " — " : "", hint ? hint : "");
        return code;
}

void cli_print_stat(FILE *f, const struct synod_stat *st)
{
        fprintf(f,
                "cZxid = 0x%llx\nctime = %lld\nmZxid = 0x%llx\nmtime = %lld\npZxid = 0x%llx\n"
                "cversion = %d\ndataVersion = %d\naclVersion = %d\nephemeralOwner = 0x%llx\n"
                "dataLength = %d\nnumChildren = %d\n",
                (unsigned long long)st->czxid, (long long)st->ctime_ms,
                (unsigned long long)st->mzxid, (long long)st->mtime_ms,
                (unsigned long long)st->pzxid, st->cversion, st->version, st->aversion,
                (unsigned long long)st->ephemeral_owner, st->data_length, st->num_children);
}

static int cmd_help(struct cli_ctx *ctx, int argc, char **argv)
{
        if (argc > 1 && strcmp(argv[1], "--man") == 0) {
                cli_print_man(ctx->out);
                return CLI_EXIT_OK;
        }
        for (int i = 0; argc > 1 && i < cli_command_count; i++)
                if (strcmp(cli_commands[i].name, argv[1]) == 0)
                        return cli_usage(ctx, cli_commands[i].usage, CLI_EXIT_OK);
        fputs(cli_global_help, ctx->out);
        cli_print_commands(ctx->out);
        return CLI_EXIT_OK;
}

int cli_dispatch(struct cli_ctx *ctx, int argc, char **argv)
{
        if (argc < 1)
                return cmd_help(ctx, 0, argv);
        if (strcmp(argv[0], "help") == 0)
                return cmd_help(ctx, argc, argv);
        for (int i = 0; i < cli_command_count; i++) {
                if (strcmp(cli_commands[i].name, argv[0]) != 0)
                        continue;
                if (cli_wants_help(argc, argv))
                        return cli_usage(ctx, cli_commands[i].usage, CLI_EXIT_OK);
                ctx->cmd = cli_commands[i].name;
                ctx->patient = false;
                cli_getopt_reset();
                ctx->errors = 0;
                int code = cli_commands[i].run(ctx, argc, argv);
                ctx->cmd = NULL;
                return code;
        }
        if (argv[0][0] == '-')
                return cli_error(ctx, CLI_EXIT_USAGE,
                                 "unknown option '%.*s' before the command (synod --help)",
                                 CLI_SHOWN_BYTES_MAX, argv[0]);
        return cli_error(ctx, CLI_EXIT_USAGE, "unknown command '%.*s' (synod --help)",
                         CLI_SHOWN_BYTES_MAX, argv[0]);
}

/* "scheme:credentials" with a scheme. */
static bool cli_auth_valid(const char *s)
{
        return s != NULL && s[0] != ':' && strchr(s, ':') != NULL;
}

/* A millisecond value of a global option. */
static bool cli_global_ms(struct cli_ctx *ctx, const char *name, const char *val, int *out)
{
        long long v;
        if (val == NULL) {
                cli_error(ctx, CLI_EXIT_USAGE, "%s needs a value in milliseconds", name);
                return false;
        }
        if (!cli_number(ctx, name, val, 1, CLI_TIMEOUT_MS_MAX, &v))
                return false;
        *out = (int)v;
        return true;
}

/* One global option a (value: the next word, or after '=') into ctx. Returns the words
 * it took (1 or 2), 0 if a is no global option, -1 on error (reported). */
static int cli_take_global(struct cli_ctx *ctx, const char *a, const char *next)
{
        static const char *const with_value[] = {"--server", "--auth", "--session-timeout",
                                                 "--connect-timeout"};
        for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++) {
                size_t n = strlen(with_value[k]);
                if (strncmp(a, with_value[k], n) != 0 || (a[n] != '\0' && a[n] != '='))
                        continue;
                const char *val = a[n] == '=' ? a + n + 1 : next;
                int took = a[n] == '=' ? 1 : 2;
                if (val == NULL) {
                        cli_error(ctx, CLI_EXIT_USAGE, "%s needs a value", with_value[k]);
                        return -1;
                }
                if (k == 0) {
                        ctx->servers = val;
                        ctx->servers_from = "--server";
                } else if (k == 1) {
                        if (!cli_auth_valid(val)) {
                                cli_error(ctx, CLI_EXIT_USAGE,
                                          "--auth wants SCHEME:CREDENTIALS, e.g. "
                                          "digest:user:password");
                                return -1;
                        }
                        ctx->auth = val;
                } else if (!cli_global_ms(ctx, with_value[k], val,
                                          k == 2 ? &ctx->session_timeout_ms
                                                 : &ctx->connect_timeout_ms)) {
                        return -1;
                }
                return took;
        }
        if (strcmp(a, "-j") == 0 || strcmp(a, "--json") == 0) {
                ctx->json = true;
                return 1;
        }
        return 0;
}

/* Takes the global options out of argv (before any "--"); returns the new argc or -1
 * (reported). --json is looked for first, so that errors in the others come out as
 * JSON too. */
static int cli_take_globals(struct cli_ctx *ctx, int argc, char **argv, bool *help)
{
        for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
                ctx->json =
                    ctx->json || strcmp(argv[i], "-j") == 0 || strcmp(argv[i], "--json") == 0;
        int n = 0;
        bool after_dashdash = false;
        for (int i = 0; i < argc; i++) {
                const char *a = argv[i];
                if (after_dashdash || strcmp(a, "--") == 0) {
                        after_dashdash = true;
                        argv[n++] = argv[i];
                        continue;
                }
                int took = cli_take_global(ctx, a, i + 1 < argc ? argv[i + 1] : NULL);
                if (took < 0)
                        return -1;
                if (took > 0) {
                        i += took - 1;
                } else if (n == 0 && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
                        *help = true;
                } else {
                        argv[n++] = argv[i];
                }
        }
        return n;
}

int cli_main(int argc, char **argv)
{
        const char *env = getenv("SYNOD_SERVERS");
        const char *auth = getenv("SYNOD_AUTH");
        bool env_servers = env != NULL && env[0] != '\0';
        struct cli_ctx ctx = {
            .servers = env_servers ? env : CLI_SERVERS_DEFAULT,
            .servers_from = env_servers ? "SYNOD_SERVERS" : "the default; --server picks others",
            .auth = auth && auth[0] ? auth : NULL,
            .json = false,
            .session_timeout_ms = CLI_SESSION_TIMEOUT_MS_DEFAULT,
            .connect_timeout_ms = CLI_CONNECT_TIMEOUT_MS_DEFAULT,
            .h = NULL,
            .in_shell = false,
            .patient = false,
            .cmd = NULL,
            .errors = 0,
            .out = stdout,
            .err = stderr,
        };
        /* Library chatter (state changes) only when asked: SYNOD_LOG=debug|info|warn. */
        const char *level = getenv("SYNOD_LOG");
        int lv = level ? syn_log_level_parse(level) : -1;
        syn_log_configure(lv >= 0 ? (enum syn_log_level)lv : SYN_LOG_WARN, NULL, NULL);
        bool help = false;
        int n = cli_take_globals(&ctx, argc - 1, argv + 1, &help);
        if (n < 0)
                return CLI_EXIT_USAGE;
        if (ctx.auth != NULL && !cli_auth_valid(ctx.auth))
                return cli_error(&ctx, CLI_EXIT_USAGE, "SYNOD_AUTH is not SCHEME:CREDENTIALS");
        if (help || n == 0) {
                cmd_help(&ctx, 0, argv);
                return n == 0 && !help ? CLI_EXIT_USAGE : CLI_EXIT_OK;
        }
        cli_signals_install();
        int code = cli_dispatch(&ctx, n, argv + 1);
        fflush(ctx.out);
        if (ctx.h != NULL)
                synod_close(ctx.h);
        return code;
}
