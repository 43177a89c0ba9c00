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
 *   (lock, election, barrier); 6 internal error; 7 a backup file failed its
 *   checks (damaged or truncated).
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
        CLI_EXIT_DAMAGED = 7,
};

struct cli_ctx {
        const char *servers;      /* --server, else $SYNOD_SERVERS, else 127.0.0.1:2181 */
        const char *servers_from; /* where servers came from, for messages */
        const char *auth;         /* --auth, else $SYNOD_AUTH: "scheme:credentials", or NULL */
        bool json;
        int session_timeout_ms;
        int connect_timeout_ms;
        struct synod *h; /* opened on demand by cli_connect; the shell keeps it */
        bool in_shell;
        bool patient;    /* set by a long-running command before cli_connect: see there */
        const char *cmd; /* the running subcommand's name, for messages */
        int errors;      /* errors the running subcommand reported */
        FILE *out;
        FILE *err;
};

/* Entry point: returns the process exit code. argv[0] is the program name. */
int cli_main(int argc, char **argv);

/* Runs one subcommand (argv[0] = its name) with ctx. */
int cli_dispatch(struct cli_ctx *ctx, int argc, char **argv);

/* Opens ctx->h if needed and waits for CONNECTED. CLI_EXIT_OK, CLI_EXIT_USAGE (bad
 * connect string) or CLI_EXIT_CONNECT (message printed). */
int cli_connect(struct cli_ctx *ctx);
/* Maps a ZooKeeper error to an exit code, reporting "what: message" if not ok. */
int cli_fail(struct cli_ctx *ctx, int zk_err, const char *what);
/* The same with a hint of what to do appended (NULL: none). */
int cli_fail_hint(struct cli_ctx *ctx, int zk_err, const char *what, const char *hint);
/* Reports an error and returns code: "synod: MESSAGE" on ctx->err, or with --json one
 * line {"error":MESSAGE,"exit":CODE,"zk_error":null} there. */
int cli_error(struct cli_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prints usage text of a subcommand to ctx->out for --help (code 0), else to ctx->err
 * (with --json: as the error, unless a more specific one was reported); returns code. */
int cli_usage(struct cli_ctx *ctx, const char *text, int code);
/* The usage error of the running command after getopt returned '?' or ':' (an unknown
 * option, or one missing its value): names the option. Returns CLI_EXIT_USAGE. */
int cli_bad_option(struct cli_ctx *ctx, int c, char **argv);
/* The usage error of a command whose subcommand argv[1] is missing or none of `known`
 * ("get, add"). Returns CLI_EXIT_USAGE. */
int cli_bad_subcommand(struct cli_ctx *ctx, int argc, char **argv, const char *known);
/* Resets getopt for a subcommand's argv (the shell runs many), with our own messages. */
void cli_getopt_reset(void);
/* True if argv has -h/--help before any "--". */
bool cli_wants_help(int argc, char **argv);

/* The integer value s of option or argument `what` (e.g. "-t"), decimal, in [lo, hi].
 * On error reports "WHAT wants an integer from LO to HI, not 'S'" and returns false. */
bool cli_number(struct cli_ctx *ctx, const char *what, const char *s, long long lo, long long hi,
                long long *out);
/* True if path is a valid znode path (sequential: a prefix for a sequential name, which
 * may end in '/'); otherwise reports what is wrong with it ("must start with '/'",
 * "has an empty segment", ...). */
bool cli_path_ok(struct cli_ctx *ctx, const char *path, bool sequential);
/* What is wrong with path in words ("must start with '/' ..."), or NULL if nothing. */
const char *cli_path_problem(const char *path, bool sequential);

/*
 * Node data given on the command line: "-" reads stdin, "@FILE" reads FILE, anything
 * else is the bytes of the argument. A value over what one request can carry is refused
 * naming the size and jute.maxbuffer.
 */
struct cli_value {
        char *data; /* NULL = no data */
        int32_t len;
        bool owned; /* data was read (malloc'd) */
};
/* Reads arg into v; `room` is the most bytes a value may have in its request, `where`
 * starts an error's message (the path, "txn line 3"). CLI_EXIT_OK or CLI_EXIT_USAGE
 * (reported). */
int cli_value_read(struct cli_ctx *ctx, const char *arg, size_t room, const char *where,
                   struct cli_value *v);
void cli_value_free(struct cli_value *v);
/* The most data bytes a create or set of path can carry within jute.maxbuffer. */
size_t cli_value_room(const char *path);
/* True when stdin holds data a command without a DATA argument would otherwise ignore:
 * a non-empty file, or a pipe not already at its end. */
bool cli_stdin_has_data(void);

/* JSON output helpers (to f; json.c). Strings are emitted as valid UTF-8 JSON (bytes
 * that are not UTF-8 become U+FFFD). */
void cli_json_string(FILE *f, const char *s);
/* Node data as two members, "data":...,"encoding":...: a JSON string ("utf-8") when
 * the bytes are UTF-8 text without NUL, otherwise base64 ("base64"); null data is
 * "data":null with "utf-8". */
void cli_json_data(FILE *f, const char *data, int32_t len);
void cli_json_stat(FILE *f, const struct synod_stat *st);
/* A number as read from a four-letter word ("12", "0.27", "0x1f" as hex): a JSON
 * number, or null when text is NULL, "-" or not a number. */
void cli_json_number(FILE *f, const char *text);
/* True if s is one well-formed JSON value that is an object (RFC 8259; nesting bounded
 * by CLI_JSON_DEPTH_MAX). */
bool cli_json_is_object(const char *s);
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
int cmd_delete(struct cli_ctx *ctx, int argc, char **argv);
int cmd_deleteall(struct cli_ctx *ctx, int argc, char **argv);
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
int cmd_backup(struct cli_ctx *ctx, int argc, char **argv);
int cmd_restore(struct cli_ctx *ctx, int argc, char **argv);

/* fsyncs the directory holding path (a file just renamed or created there); best effort:
 * the file itself was synced, and a failure here has nothing left to undo. */
void cli_sync_parent_dir(const char *path);

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
