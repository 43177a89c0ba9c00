/*
 * Data commands: get, set, create, rm, ls, stat, watch, txn, acl.
 * Each is a thin layer over the blocking calls of libsynod; output is the
 * ZooKeeper CLI's style by default and one JSON value with --json.
 */
#include "cli/cli.h"

#include "base/limits.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* getopt over a subcommand's argv: reset first (the shell runs many). */
static int cli_getopt(int argc, char **argv, const char *opts, const struct option *longs)
{
        return getopt_long(argc, argv, opts, longs, NULL);
}

static void cli_getopt_reset(void)
{
        optind = 0;
        opterr = 1;
}

static bool cli_parse_int(const char *s, long long lo, long long hi, long long *out)
{
        char *end;
        long long v = strtoll(s, &end, 0);
        if (*s == '\0' || *end != '\0' || v < lo || v > hi)
                return false;
        *out = v;
        return true;
}

int cmd_get(struct cli_ctx *ctx, int argc, char **argv)
{
        static const struct option longs[] = {{"stat", no_argument, NULL, 'S'}, {0, 0, 0, 0}};
        bool show_stat = false;
        cli_getopt_reset();
        for (int c; (c = cli_getopt(argc, argv, "S", longs)) != -1;) {
                if (c != 'S')
                        return cli_usage(ctx, cli_command_usage("get"), CLI_EXIT_USAGE);
                show_stat = true;
        }
        if (optind + 1 != argc)
                return cli_usage(ctx, cli_command_usage("get"), CLI_EXIT_USAGE);
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        char *data;
        int32_t len;
        struct synod_stat st;
        int rc = synod_get(ctx->h, argv[optind], &data, &len, &st, NULL, NULL);
        if (rc != SYNOD_OK)
                return cli_fail(ctx, rc, argv[optind]);
        if (ctx->json) {
                fprintf(ctx->out, "{\"path\":");
                cli_json_string(ctx->out, argv[optind]);
                fprintf(ctx->out, ",\"data\":");
                cli_json_bytes(ctx->out, data, len);
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

int cmd_set(struct cli_ctx *ctx, int argc, char **argv)
{
        long long version = -1;
        cli_getopt_reset();
        for (int c; (c = cli_getopt(argc, argv, "v:", NULL)) != -1;)
                if (c != 'v' || !cli_parse_int(optarg, -1, INT32_MAX, &version))
                        return cli_usage(ctx, cli_command_usage("set"), CLI_EXIT_USAGE);
        if (optind + 2 != argc)
                return cli_usage(ctx, cli_command_usage("set"), CLI_EXIT_USAGE);
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        struct synod_stat st;
        const char *data = argv[optind + 1];
        int rc =
            synod_set(ctx->h, argv[optind], data, (int32_t)strlen(data), (int32_t)version, &st);
        if (rc != SYNOD_OK)
                return cli_fail(ctx, rc, argv[optind]);
        if (ctx->json) {
                cli_json_stat(ctx->out, &st);
                fputc('\n', ctx->out);
        }
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

int cmd_create(struct cli_ctx *ctx, int argc, char **argv)
{
        bool eph = false, seq = false, container = false, parents = false;
        long long ttl = 0;
        cli_getopt_reset();
        for (int c; (c = cli_getopt(argc, argv, "escpt:", NULL)) != -1;) {
                if (c == 'e')
                        eph = true;
                else if (c == 's')
                        seq = true;
                else if (c == 'c')
                        container = true;
                else if (c == 'p')
                        parents = true;
                else if (c != 't' || !cli_parse_int(optarg, 1, INT64_MAX, &ttl))
                        return cli_usage(ctx, cli_command_usage("create"), CLI_EXIT_USAGE);
        }
        int mode = cli_create_mode(eph, seq, container, ttl);
        if (mode < 0 || optind >= argc || argc - optind > 2)
                return cli_usage(ctx, cli_command_usage("create"), CLI_EXIT_USAGE);
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        const char *path = argv[optind];
        const char *data = optind + 1 < argc ? argv[optind + 1] : NULL;
        struct synod_request q = {.op = SYNOD_OP_CREATE,
                                  .path = path,
                                  .data = data,
                                  .data_len = data ? (int32_t)strlen(data) : -1,
                                  .mode = mode,
                                  .ttl_ms = ttl};
        struct synod_result *res = NULL;
        int rc = synod_call_sync(ctx->h, &q, &res);
        if (rc == SYNOD_ENONODE && parents) {
                char *parent = strdup(path);
                char *slash = parent ? strrchr(parent, '/') : NULL;
                if (slash && slash != parent) {
                        *slash = '\0';
                        rc = synod_create_parents(ctx->h, parent);
                }
                free(parent);
                synod_result_free(res);
                res = NULL;
                if (rc == SYNOD_OK)
                        rc = synod_call_sync(ctx->h, &q, &res);
        }
        if (rc != SYNOD_OK) {
                synod_result_free(res);
                return cli_fail(ctx, rc, path);
        }
        if (ctx->json) {
                fprintf(ctx->out, "{\"path\":");
                cli_json_string(ctx->out, res->path);
                fprintf(ctx->out, ",\"stat\":");
                cli_json_stat(ctx->out, &res->stat);
                fprintf(ctx->out, "}\n");
        } else {
                fprintf(ctx->out, "%s\n", res->path);
        }
        synod_result_free(res);
        return CLI_EXIT_OK;
}

int cmd_rm(struct cli_ctx *ctx, int argc, char **argv)
{
        bool recursive = false;
        long long version = -1;
        cli_getopt_reset();
        for (int c; (c = cli_getopt(argc, argv, "rv:", NULL)) != -1;) {
                if (c == 'r')
                        recursive = true;
                else if (c != 'v' || !cli_parse_int(optarg, -1, INT32_MAX, &version))
                        return cli_usage(ctx, cli_command_usage("rm"), CLI_EXIT_USAGE);
        }
        if (optind + 1 != argc)
                return cli_usage(ctx, cli_command_usage("rm"), CLI_EXIT_USAGE);
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        int rc = recursive ? synod_delete_recursive(ctx->h, argv[optind])
                           : synod_delete(ctx->h, argv[optind], (int32_t)version);
        return cli_fail(ctx, rc, argv[optind]);
}

static int cli_ls_walk(struct cli_ctx *ctx, const char *path, int depth, bool *first)
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
                rc = cli_ls_walk(ctx, child, depth + 1, first);
                free(child);
        }
        synod_strings_free(kids, n);
        return rc;
}

int cmd_ls(struct cli_ctx *ctx, int argc, char **argv)
{
        bool recursive = false;
        cli_getopt_reset();
        for (int c; (c = cli_getopt(argc, argv, "R", NULL)) != -1;) {
                if (c != 'R')
                        return cli_usage(ctx, cli_command_usage("ls"), CLI_EXIT_USAGE);
                recursive = true;
        }
        if (optind + 1 != argc)
                return cli_usage(ctx, cli_command_usage("ls"), CLI_EXIT_USAGE);
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        const char *path = argv[optind];
        bool first = true;
        int rc;
        if (ctx->json)
                fputc('[', ctx->out);
        if (recursive) {
                rc = cli_ls_walk(ctx, path, 0, &first);
        } else {
                char **kids;
                int32_t n;
                rc = synod_children(ctx->h, path, &kids, &n, NULL, NULL);
                for (int32_t i = 0; rc == SYNOD_OK && i < n; i++) {
                        if (ctx->json) {
                                fputs(i ? "," : "", ctx->out);
                                cli_json_string(ctx->out, kids[i]);
                        } else {
                                fprintf(ctx->out, "%s\n", kids[i]);
                        }
                }
                if (rc == SYNOD_OK)
                        synod_strings_free(kids, n);
        }
        if (ctx->json)
                fputs("]\n", ctx->out);
        return cli_fail(ctx, rc, path);
}

int cmd_stat(struct cli_ctx *ctx, int argc, char **argv)
{
        if (argc != 2)
                return cli_usage(ctx, cli_command_usage("stat"), CLI_EXIT_USAGE);
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        struct synod_stat st;
        int rc = synod_exists(ctx->h, argv[1], &st, NULL, NULL);
        if (rc != SYNOD_OK)
                return cli_fail(ctx, rc, argv[1]);
        if (ctx->json) {
                cli_json_stat(ctx->out, &st);
                fputc('\n', ctx->out);
        } else {
                cli_print_stat(ctx->out, &st);
        }
        return CLI_EXIT_OK;
}
