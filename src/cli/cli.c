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

#include "base/log.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define CLI_SERVERS_DEFAULT            "127.0.0.1:2181"
#define CLI_SESSION_TIMEOUT_MS_DEFAULT 10000
#define CLI_CONNECT_TIMEOUT_MS_DEFAULT 15000

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
    "leadership lost; 5 timed out waiting; 6 internal error. `lock` and `elect`\n"
    "otherwise exit with their command's status.\n"
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

int cli_usage(struct cli_ctx *ctx, const char *text, int code)
{
        fputs(text, code == CLI_EXIT_OK ? ctx->out : ctx->err);
        return code;
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

int cli_connect(struct cli_ctx *ctx)
{
        if (ctx->h != NULL) {
                enum synod_state s = synod_state(ctx->h);
                if (s != SYNOD_STATE_EXPIRED && s != SYNOD_STATE_CLOSED)
                        return CLI_EXIT_OK;
                synod_close(ctx->h); /* the shell reconnects after an expiry */
                ctx->h = NULL;
        }
        struct synod_options opt = {.servers = ctx->servers,
                                    .session_timeout_ms = ctx->session_timeout_ms,
                                    .seed = 0,
                                    .on_state = NULL,
                                    .state_arg = NULL};
        int rc = synod_open(&ctx->h, &opt);
        if (rc != SYNOD_OK) {
                fprintf(ctx->err, "synod: bad connect string '%s'\n", ctx->servers);
                return CLI_EXIT_USAGE;
        }
        int code = cli_fail(ctx, cli_add_auth(ctx), "--auth");
        if (code == CLI_EXIT_OK) {
                rc = synod_wait_connected(ctx->h, ctx->connect_timeout_ms);
                if (rc != SYNOD_OK) {
                        fprintf(ctx->err, "synod: cannot connect to %s: %s\n", ctx->servers,
                                synod_strerror(rc));
                        code = CLI_EXIT_CONNECT;
                }
        }
        if (code != CLI_EXIT_OK) {
                synod_close(ctx->h);
                ctx->h = NULL;
        }
        return code;
}

int cli_fail(struct cli_ctx *ctx, int zk_err, const char *what)
{
        if (zk_err == SYNOD_OK)
                return CLI_EXIT_OK;
        fprintf(ctx->err, "synod: %s: %s\n", what, synod_strerror(zk_err));
        switch (zk_err) {
        case SYNOD_ECONNECTIONLOSS:
        case SYNOD_ECLOSING:
                return CLI_EXIT_CONNECT;
        case SYNOD_ESESSIONEXPIRED:
                return CLI_EXIT_LOST;
        case SYNOD_EOPERATIONTIMEOUT:
                return CLI_EXIT_TIMEOUT;
        case SYNOD_EBADARGUMENTS:
                return CLI_EXIT_USAGE;
        case SYNOD_ESYSTEMERROR:
        case SYNOD_EAPIERROR:
                return CLI_EXIT_INTERNAL;
        default:
                return CLI_EXIT_ZK_ERROR;
        }
}

void cli_json_bytes(FILE *f, const char *s, int32_t len)
{
        if (s == NULL || len < 0) {
                fputs("null", f);
                return;
        }
        fputc('"', f);
        for (int32_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c == '\n')
                        fputs("\\n", f);
                else if (c < 0x20 || c == 0x7f)
                        fprintf(f, "\\u%04x", c);
                else
                        fputc(c, f);
        }
        fputc('"', f);
}

void cli_json_string(FILE *f, const char *s)
{
        cli_json_bytes(f, s, s ? (int32_t)strlen(s) : -1);
}

void cli_json_stat(FILE *f, const struct synod_stat *st)
{
        fprintf(f,
                "{\"czxid\":%lld,\"mzxid\":%lld,\"ctime\":%lld,\"mtime\":%lld,\"version\":%d,"
                "\"cversion\":%d,\"aversion\":%d,\"ephemeralOwner\":%lld,\"dataLength\":%d,"
                "\"numChildren\":%d,\"pzxid\":%lld}",
                (long long)st->czxid, (long long)st->mzxid, (long long)st->ctime_ms,
                (long long)st->mtime_ms, st->version, st->cversion, st->aversion,
                (long long)st->ephemeral_owner, st->data_length, st->num_children,
                (long long)st->pzxid);
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
                return cli_commands[i].run(ctx, argc, argv);
        }
        fprintf(ctx->err, "synod: unknown command '%s' (try synod --help)\n", argv[0]);
        return CLI_EXIT_USAGE;
}

static bool cli_parse_ms(const char *s, int *out)
{
        char *end;
        long v = strtol(s, &end, 10);
        if (*s == '\0' || *end != '\0' || v <= 0 || v > 3600 * 1000)
                return false;
        *out = (int)v;
        return true;
}

/* "scheme:credentials" with a scheme. */
static bool cli_auth_valid(const char *s)
{
        return s != NULL && s[0] != ':' && strchr(s, ':') != NULL;
}

/* Takes the global options out of argv (before any "--"); returns the new argc or -1. */
static int cli_take_globals(struct cli_ctx *ctx, int argc, char **argv, bool *help)
{
        int n = 0;
        bool after_dashdash = false;
        for (int i = 0; i < argc; i++) {
                const char *a = argv[i];
                const char *val = i + 1 < argc ? argv[i + 1] : NULL;
                if (after_dashdash || strcmp(a, "--") == 0) {
                        after_dashdash = true;
                        argv[n++] = argv[i];
                } else if (strcmp(a, "--server") == 0) {
                        if (val == NULL)
                                return -1;
                        ctx->servers = val;
                        i++;
                } else if (strncmp(a, "--server=", 9) == 0) {
                        ctx->servers = a + 9;
                } else if (strcmp(a, "--auth") == 0) {
                        if (!cli_auth_valid(val))
                                return -1;
                        ctx->auth = val;
                        i++;
                } else if (strncmp(a, "--auth=", 7) == 0) {
                        if (!cli_auth_valid(a + 7))
                                return -1;
                        ctx->auth = a + 7;
                } else if (strcmp(a, "-j") == 0 || strcmp(a, "--json") == 0) {
                        ctx->json = true;
                } else if (strcmp(a, "--session-timeout") == 0) {
                        if (val == NULL || !cli_parse_ms(val, &ctx->session_timeout_ms))
                                return -1;
                        i++;
                } else if (strcmp(a, "--connect-timeout") == 0) {
                        if (val == NULL || !cli_parse_ms(val, &ctx->connect_timeout_ms))
                                return -1;
                        i++;
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
        struct cli_ctx ctx = {
            .servers = env && env[0] ? env : CLI_SERVERS_DEFAULT,
            .auth = auth && auth[0] ? auth : NULL,
            .json = false,
            .session_timeout_ms = CLI_SESSION_TIMEOUT_MS_DEFAULT,
            .connect_timeout_ms = CLI_CONNECT_TIMEOUT_MS_DEFAULT,
            .h = NULL,
            .in_shell = false,
            .out = stdout,
            .err = stderr,
        };
        /* Library chatter (state changes) only when asked: SYNOD_LOG=debug|info|warn. */
        const char *level = getenv("SYNOD_LOG");
        int lv = level ? syn_log_level_parse(level) : -1;
        syn_log_configure(lv >= 0 ? (enum syn_log_level)lv : SYN_LOG_WARN, NULL, NULL);
        bool help = false;
        int n = cli_take_globals(&ctx, argc - 1, argv + 1, &help);
        if (n >= 0 && ctx.auth != NULL && !cli_auth_valid(ctx.auth)) {
                fputs("synod: SYNOD_AUTH is not SCHEME:CREDENTIALS\n", stderr);
                return CLI_EXIT_USAGE;
        }
        if (n < 0) {
                fputs("synod: a global option is missing its value or it is invalid\n", stderr);
                return CLI_EXIT_USAGE;
        }
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
