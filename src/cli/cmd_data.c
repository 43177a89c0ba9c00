/*
 * Data commands: get, set, create, rm (delete, deleteall), ls, stat.
 * Each is a thin layer over the blocking calls of libsynod; output is the
 * ZooKeeper CLI's style by default and one JSON value with --json. Arguments are
 * checked here, before connecting, so that a mistake gets a message naming it
 * rather than the server's "bad arguments".
 */
#include "cli/cli.h"
#include "cli/progress.h"

#include "base/limits.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Longest hint appended to an error, bytes (it may quote a path). */
#define CLI_HINT_BYTES_MAX 512

/* Between want_min and want_max operands after the options (argv[optind..argc)),
 * named by the words of `names` ("PATH [DATA]"); otherwise a usage error saying which
 * are missing, or that there are too many. */
static bool cli_operands(struct cli_ctx *ctx, int argc, int want_min, int want_max,
                         const char *names, int *code)
{
        int have = argc - optind;
        if (have >= want_min && have <= want_max)
                return true;
        const char *missing = names;
        for (int i = 0; i < have && strchr(missing, ' ') != NULL; i++)
                missing = strchr(missing, ' ') + 1;
        if (have < want_min)
                cli_error(ctx, CLI_EXIT_USAGE, "%s: missing %s", ctx->cmd, missing);
        else
                cli_error(ctx, CLI_EXIT_USAGE, "%s: too many arguments; expected %s", ctx->cmd,
                          names);
        *code = cli_usage(ctx, cli_command_usage(ctx->cmd), CLI_EXIT_USAGE);
        return false;
}

/* The single operand PATH of a command that takes only that: checked, then the
 * connection made. CLI_EXIT_OK with *path = argv[optind], or the exit code to return. */
static int cli_path_then_connect(struct cli_ctx *ctx, int argc, char **argv, const char **path)
{
        int code;
        if (!cli_operands(ctx, argc, 1, 1, "PATH", &code))
                return code;
        *path = argv[optind];
        if (!cli_path_ok(ctx, *path, false))
                return CLI_EXIT_USAGE;
        return cli_connect(ctx);
}

/* "-v VERSION": -1 (any) up to INT32_MAX. */
static bool cli_version(struct cli_ctx *ctx, const char *s, long long *out)
{
        return cli_number(ctx, "-v", s, -1, INT32_MAX, out);
}

int cmd_get(struct cli_ctx *ctx, int argc, char **argv)
{
        static const struct option longs[] = {{"stat", no_argument, NULL, 'S'}, {0, 0, 0, 0}};
        bool show_stat = false;
        for (int c; (c = getopt_long(argc, argv, ":S", longs, NULL)) != -1;) {
                if (c != 'S')
                        return cli_bad_option(ctx, c, argv);
                show_stat = true;
        }
        const char *path;
        int code = cli_path_then_connect(ctx, argc, argv, &path);
        if (code != CLI_EXIT_OK)
                return code;
        char *data;
        int32_t len;
        struct synod_stat st;
        int rc = synod_get(ctx->h, path, &data, &len, &st, NULL, NULL);
        if (rc != SYNOD_OK)
                return cli_fail(ctx, rc, path);
        if (ctx->json) {
                fprintf(ctx->out, "{\"path\":");
                cli_json_string(ctx->out, path);
                fputc(',', ctx->out);
                cli_json_data(ctx->out, data, len);
                fprintf(ctx->out, ",\"stat\":");
                cli_json_stat(ctx->out, &st);
                fprintf(ctx->out, "}\n");
        } else {
                if (len > 0)
                        fwrite(data, 1, (size_t)len, ctx->out);
                fputc('\n', ctx->out);
                if (show_stat)
                        cli_print_stat(ctx->out, &st);
        }
        free(data);
        return CLI_EXIT_OK;
}

/* {"path":...,"stat":{...}}: what create and set print with --json. */
static void cli_json_path_stat(struct cli_ctx *ctx, const char *path, const struct synod_stat *st)
{
        fprintf(ctx->out, "{\"path\":");
        cli_json_string(ctx->out, path);
        fprintf(ctx->out, ",\"stat\":");
        cli_json_stat(ctx->out, st);
        fprintf(ctx->out, "}\n");
}

int cmd_set(struct cli_ctx *ctx, int argc, char **argv)
{
        long long version = -1;
        for (int c; (c = getopt(argc, argv, ":v:")) != -1;) {
                if (c != 'v')
                        return cli_bad_option(ctx, c, argv);
                if (!cli_version(ctx, optarg, &version))
                        return CLI_EXIT_USAGE;
        }
        int code;
        if (!cli_operands(ctx, argc, 2, 2, "PATH DATA|-|@FILE", &code))
                return code;
        const char *path = argv[optind];
        if (!cli_path_ok(ctx, path, false))
                return CLI_EXIT_USAGE;
        struct cli_value v;
        if ((code = cli_value_read(ctx, argv[optind + 1], cli_value_room(path), path, &v)) !=
            CLI_EXIT_OK)
                return code;
        code = cli_connect(ctx);
        struct synod_stat st;
        int rc = code == CLI_EXIT_OK ? synod_set(ctx->h, path, v.data, v.len, (int32_t)version, &st)
                                     : SYNOD_OK;
        cli_value_free(&v);
        if (code != CLI_EXIT_OK)
                return code;
        if (rc != SYNOD_OK)
                return cli_fail(ctx, rc, path);
        if (ctx->json)
                cli_json_path_stat(ctx, path, &st);
        return CLI_EXIT_OK;
}

static int cli_create_mode(bool eph, bool seq, bool container, long long ttl)
{
        if (container)
                return eph || seq || ttl ? -1 : SYNOD_CONTAINER;
        if (ttl > 0)
                return eph ? -1
                           : (seq ? SYNOD_PERSISTENT_SEQUENTIAL_WITH_TTL
                                  : SYNOD_PERSISTENT_WITH_TTL);
        return (eph ? SYNOD_EPHEMERAL : SYNOD_PERSISTENT) + (seq ? 2 : 0);
}

/* Creates q (and with parents its missing ancestors); *res on success. */
static int cli_create_call(struct cli_ctx *ctx, const struct synod_request *q, bool parents,
                           struct synod_result **res)
{
        int rc = synod_call_sync(ctx->h, q, res);
        if (rc != SYNOD_ENONODE || !parents)
                return rc;
        synod_result_free(*res);
        *res = NULL;
        char *parent = strdup(q->path);
        char *slash = parent ? strrchr(parent, '/') : NULL;
        if (slash && slash != parent) {
                *slash = '\0';
                rc = synod_create_parents(ctx->h, parent);
        }
        free(parent);
        return rc == SYNOD_OK ? synod_call_sync(ctx->h, q, res) : rc;
}

int cmd_create(struct cli_ctx *ctx, int argc, char **argv)
{
        bool eph = false, seq = false, container = false, parents = false;
        long long ttl = 0;
        for (int c; (c = getopt(argc, argv, ":escpt:")) != -1;) {
                if (c == 'e')
                        eph = true;
                else if (c == 's')
                        seq = true;
                else if (c == 'c')
                        container = true;
                else if (c == 'p')
                        parents = true;
                else if (c != 't')
                        return cli_bad_option(ctx, c, argv);
                else if (!cli_number(ctx, "-t", optarg, 1, INT64_MAX, &ttl))
                        return CLI_EXIT_USAGE;
        }
        int mode = cli_create_mode(eph, seq, container, ttl);
        if (mode < 0)
                return cli_error(ctx, CLI_EXIT_USAGE,
                                 "create: -c does not combine with -e, -s or -t, nor -e with -t");
        int code;
        if (!cli_operands(ctx, argc, 1, 2, "PATH [DATA]", &code))
                return code;
        const char *path = argv[optind];
        if (!cli_path_ok(ctx, path, seq))
                return CLI_EXIT_USAGE;
        const char *arg = optind + 1 < argc ? argv[optind + 1] : NULL;
        /* Data piped in without '-' would be dropped silently: refuse it instead. Reading it
         * unasked would make `create` consume a script's input, or wait forever on a pipe
         * nobody writes. */
        if (arg == NULL && !ctx->in_shell && cli_stdin_has_data())
                return cli_error(ctx, CLI_EXIT_USAGE,
                                 "create: stdin holds data but no DATA was given: add '-' to "
                                 "store it (synod create %s -), or '' for an empty node",
                                 path);
        struct cli_value v;
        if ((code = cli_value_read(ctx, arg, cli_value_room(path), path, &v)) != CLI_EXIT_OK)
                return code;
        struct synod_request q = {.op = SYNOD_OP_CREATE,
                                  .path = path,
                                  .data = v.data,
                                  .data_len = v.len,
                                  .mode = mode,
                                  .ttl_ms = ttl};
        struct synod_result *res = NULL;
        code = cli_connect(ctx);
        int rc = code == CLI_EXIT_OK ? cli_create_call(ctx, &q, parents, &res) : SYNOD_OK;
        cli_value_free(&v);
        if (code == CLI_EXIT_OK && rc != SYNOD_OK)
                code = cli_fail(ctx, rc, path);
        if (code == CLI_EXIT_OK && ctx->json)
                cli_json_path_stat(ctx, res->path, &res->stat);
        else if (code == CLI_EXIT_OK)
                fprintf(ctx->out, "%s\n", res->path);
        synod_result_free(res);
        return code;
}

/* rm and its ZooKeeper names: recursive is -r (deleteall), version -v. */
static int cli_remove(struct cli_ctx *ctx, const char *path, bool recursive, long long version)
{
        if (!cli_path_ok(ctx, path, false))
                return CLI_EXIT_USAGE;
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        int rc;
        if (recursive) {
                struct cli_progress p;
                cli_progress_begin(&p, ctx->err, ctx->json, "rm -r: deleted", false, "nodes");
                p.min_done = CLI_PROGRESS_NODES_MIN;
                rc = synod_delete_recursive_progress(ctx->h, path, cli_progress_count, &p);
                cli_progress_end(&p);
        } else {
                rc = synod_delete(ctx->h, path, (int32_t)version);
        }
        char hint[CLI_HINT_BYTES_MAX];
        snprintf(hint, sizeof(hint), "it has children; %s %s deletes the whole subtree",
                 strcmp(ctx->cmd, "delete") == 0 ? "deleteall" : "rm -r", path);
        return cli_fail_hint(ctx, rc, path, rc == SYNOD_ENOTEMPTY ? hint : NULL);
}

int cmd_rm(struct cli_ctx *ctx, int argc, char **argv)
{
        bool recursive = false;
        long long version = -1;
        const char *opts = strcmp(ctx->cmd, "delete") == 0 ? ":v:" : ":rv:";
        for (int c; (c = getopt(argc, argv, opts)) != -1;) {
                if (c == 'r')
                        recursive = true;
                else if (c != 'v')
                        return cli_bad_option(ctx, c, argv);
                else if (!cli_version(ctx, optarg, &version))
                        return CLI_EXIT_USAGE;
        }
        if (recursive && version != -1)
                return cli_error(ctx, CLI_EXIT_USAGE, "%s: -r does not take -v", ctx->cmd);
        int code;
        if (!cli_operands(ctx, argc, 1, 1, "PATH", &code))
                return code;
        return cli_remove(ctx, argv[optind], recursive, version);
}

int cmd_delete(struct cli_ctx *ctx, int argc, char **argv)
{
        return cmd_rm(ctx, argc, argv);
}

int cmd_deleteall(struct cli_ctx *ctx, int argc, char **argv)
{
        int c = getopt(argc, argv, ":");
        if (c != -1)
                return cli_bad_option(ctx, c, argv);
        int code;
        if (!cli_operands(ctx, argc, 1, 1, "PATH", &code))
                return code;
        return cli_remove(ctx, argv[optind], true, -1);
}

/* Lists the subtree below path; *listed counts the paths printed (for p). */
static int cli_ls_walk(struct cli_ctx *ctx, const char *path, int depth, bool *first,
                       struct cli_progress *p, uint64_t *listed)
{
        char **kids;
        int32_t n;
        int rc = synod_children(ctx->h, path, &kids, &n, NULL, NULL);
        if (rc == SYNOD_ENONODE && depth > 0)
                return SYNOD_OK; /* deleted while we walked */
        if (rc != SYNOD_OK || depth >= CLI_LS_DEPTH_MAX)
                return rc;
        for (int32_t i = 0; i < n && rc == SYNOD_OK; i++) {
                size_t len = strlen(path) + strlen(kids[i]) + 2;
                char *child = malloc(len);
                if (child == NULL) {
                        rc = SYNOD_ESYSTEMERROR;
                        break;
                }
                snprintf(child, len, "%s/%s", strcmp(path, "/") == 0 ? "" : path, kids[i]);
                if (ctx->json) {
                        fputs(*first ? "" : ",", ctx->out);
                        cli_json_string(ctx->out, child);
                } else {
                        fprintf(ctx->out, "%s\n", child);
                }
                *first = false;
                cli_progress_update(p, ++*listed, 0);
                rc = cli_ls_walk(ctx, child, depth + 1, first, p, listed);
                free(child);
        }
        synod_strings_free(kids, n);
        return rc;
}

int cmd_ls(struct cli_ctx *ctx, int argc, char **argv)
{
        bool recursive = false;
        for (int c; (c = getopt(argc, argv, ":R")) != -1;) {
                if (c != 'R')
                        return cli_bad_option(ctx, c, argv);
                recursive = true;
        }
        const char *path;
        int code = cli_path_then_connect(ctx, argc, argv, &path);
        if (code != CLI_EXIT_OK)
                return code;
        bool first = true;
        int rc;
        char **kids = NULL;
        int32_t n = 0;
        if (recursive) {
                if (ctx->json)
                        fputc('[', ctx->out);
                struct cli_progress p;
                uint64_t listed = 0;
                cli_progress_begin(&p, ctx->err, ctx->json, "ls -R: listed", false, "nodes");
                p.min_done = CLI_PROGRESS_NODES_MIN;
                /* On the terminal that shows the listing, the listing is the progress (and a
                 * progress line would break its lines). */
                p.on = p.on && !isatty(fileno(ctx->out));
                rc = cli_ls_walk(ctx, path, 0, &first, &p, &listed);
                cli_progress_end(&p);
                if (ctx->json)
                        fputs("]\n", ctx->out);
                return cli_fail(ctx, rc, path);
        }
        /* Printed only once listed, so that an error leaves no half-written JSON. */
        rc = synod_children(ctx->h, path, &kids, &n, NULL, NULL);
        if (rc != SYNOD_OK)
                return cli_fail(ctx, rc, path);
        if (ctx->json)
                fputc('[', ctx->out);
        for (int32_t i = 0; i < n; i++) {
                if (ctx->json) {
                        fputs(i ? "," : "", ctx->out);
                        cli_json_string(ctx->out, kids[i]);
                } else {
                        fprintf(ctx->out, "%s\n", kids[i]);
                }
        }
        if (ctx->json)
                fputs("]\n", ctx->out);
        synod_strings_free(kids, n);
        return CLI_EXIT_OK;
}

int cmd_stat(struct cli_ctx *ctx, int argc, char **argv)
{
        int c = getopt(argc, argv, ":");
        if (c != -1)
                return cli_bad_option(ctx, c, argv);
        const char *path;
        int code = cli_path_then_connect(ctx, argc, argv, &path);
        if (code != CLI_EXIT_OK)
                return code;
        struct synod_stat st;
        int rc = synod_exists(ctx->h, path, &st, NULL, NULL);
        if (rc != SYNOD_OK)
                return cli_fail(ctx, rc, path);
        if (ctx->json) {
                cli_json_stat(ctx->out, &st);
                fputc('\n', ctx->out);
        } else {
                cli_print_stat(ctx->out, &st);
        }
        return CLI_EXIT_OK;
}
