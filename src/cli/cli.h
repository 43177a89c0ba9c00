/*
 * The `synod` command line (everything but `serve`, which src/server owns).
 *
 * cli_main parses the global options (anywhere before a "--": --server, --auth,
 * --json, --session-timeout, --connect-timeout, --help), then runs one
 * subcommand from the table in cli.c. Each cmd_*.c file implements a group of
 * subcommands as `int cmd_x(struct cli_ctx *, int argc, char **argv)` that
 * returns an exit code (below). The interactive shell reuses the same table
 * with a handle kept open between commands.
 *
 * Exit codes (stable, documented in `synod --help`):
 *   0 ok; 1 the server answered with an error (no node, bad version, ...);
 *   2 usage error; 3 could not connect, or the connection was lost;
 *   4 session expired, or a lock / leadership was lost; 5 timed out waiting
 *   (lock, election, barrier); 6 internal error.
 *   `lock` and `elect` otherwise exit with their command's status.
 */
#ifndef SYN_CLI_CLI_H
#define SYN_CLI_CLI_H

#include <synod/synod.h>

#include <stdbool.h>
#include <stdio.h>

enum cli_exit {
        CLI_EXIT_OK = 0,
        CLI_EXIT_ZK_ERROR = 1,
        CLI_EXIT_USAGE = 2,
        CLI_EXIT_CONNECT = 3,
        CLI_EXIT_LOST = 4,
        CLI_EXIT_TIMEOUT = 5,
        CLI_EXIT_INTERNAL = 6,
};

struct cli_ctx {
        const char *servers; /* --server, else $SYNOD_SERVERS, else 127.0.0.1:2181 */
        const char *auth;    /* --auth, else $SYNOD_AUTH: "scheme:credentials", or NULL */
        bool json;
        int session_timeout_ms;
        int connect_timeout_ms;
        struct synod *h; /* opened on demand by cli_connect; the shell keeps it */
        bool in_shell;
        FILE *out;
        FILE *err;
};

/* Entry point: returns the process exit code. argv[0] is the program name. */
int cli_main(int argc, char **argv);

/* Runs one subcommand (argv[0] = its name) with ctx. */
int cli_dispatch(struct cli_ctx *ctx, int argc, char **argv);

/* Opens ctx->h if needed and waits for CONNECTED. CLI_EXIT_OK or CLI_EXIT_CONNECT
 * (message printed). */
int cli_connect(struct cli_ctx *ctx);
/* Maps a ZooKeeper error to an exit code, printing "synod: what: message" if not ok. */
int cli_fail(struct cli_ctx *ctx, int zk_err, const char *what);
/* Prints usage text of a subcommand to ctx->err (or out for --help); returns code. */
int cli_usage(struct cli_ctx *ctx, const char *text, int code);
/* True if argv has -h/--help before any "--". */
bool cli_wants_help(int argc, char **argv);

/* JSON output helpers (to f). */
void cli_json_string(FILE *f, const char *s);
void cli_json_bytes(FILE *f, const char *s, int32_t len);
void cli_json_stat(FILE *f, const struct synod_stat *st);
void cli_print_stat(FILE *f, const struct synod_stat *st);

/* Four-letter words (cmd_status.c). cli_four_letter sends word to srv and returns the
 * reply (malloc'd, NUL-terminated; the caller frees it) or NULL if unreachable, within
 * CLI_4LW_TIMEOUT_MS per step. cli_field copies the value after "key" (a srvr or mntr
 * line) up to the end of its line into out; false if text is NULL or lacks key. */
struct cl_server;
char *cli_four_letter(const struct cl_server *srv, const char *word);
bool cli_field(const char *text, const char *key, char *out, size_t out_len);

/* A signal flag set by SIGINT/SIGTERM while a long-running command runs. */
void cli_signals_install(void);
bool cli_interrupted(void);

/* Subcommand groups. */
int cmd_get(struct cli_ctx *ctx, int argc, char **argv);
int cmd_set(struct cli_ctx *ctx, int argc, char **argv);
int cmd_create(struct cli_ctx *ctx, int argc, char **argv);
int cmd_rm(struct cli_ctx *ctx, int argc, char **argv);
int cmd_ls(struct cli_ctx *ctx, int argc, char **argv);
int cmd_stat(struct cli_ctx *ctx, int argc, char **argv);
int cmd_watch(struct cli_ctx *ctx, int argc, char **argv);
int cmd_txn(struct cli_ctx *ctx, int argc, char **argv);
int cmd_acl(struct cli_ctx *ctx, int argc, char **argv);
int cmd_lock(struct cli_ctx *ctx, int argc, char **argv);
int cmd_elect(struct cli_ctx *ctx, int argc, char **argv);
int cmd_service(struct cli_ctx *ctx, int argc, char **argv);
int cmd_config(struct cli_ctx *ctx, int argc, char **argv);
int cmd_barrier(struct cli_ctx *ctx, int argc, char **argv);
int cmd_counter(struct cli_ctx *ctx, int argc, char **argv);
int cmd_group(struct cli_ctx *ctx, int argc, char **argv);
int cmd_status(struct cli_ctx *ctx, int argc, char **argv);
int cmd_members(struct cli_ctx *ctx, int argc, char **argv);
int cmd_shell(struct cli_ctx *ctx, int argc, char **argv);

/* The one-line summaries and usage texts, for help and the man page. */
struct cli_command {
        const char *name;
        int (*run)(struct cli_ctx *ctx, int argc, char **argv);
        const char *summary;
        const char *usage;
};
extern const struct cli_command cli_commands[];
extern const int cli_command_count;
/* The usage text of a command (static storage). */
const char *cli_command_usage(const char *name);

#endif
