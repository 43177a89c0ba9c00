/*
 * watch, txn and acl.
 *
 * watch adds a persistent (optionally recursive) watch and prints one line
 * per event from the I/O thread until interrupted, the session ends, or
 * -n events were printed. txn reads one operation per line and runs them as
 * one multi: all applied or none.
 */
#include "cli/cli.h"

#include "base/limits.h"

#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLI_POLL_MS 100

static void cli_sleep_ms(int ms)
{
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

static const char *cli_event_name(int type)
{
        switch (type) {
        case SYNOD_EVENT_CREATED:
                return "CREATED";
        case SYNOD_EVENT_DELETED:
                return "DELETED";
        case SYNOD_EVENT_DATA_CHANGED:
                return "DATA_CHANGED";
        case SYNOD_EVENT_CHILDREN_CHANGED:
                return "CHILDREN_CHANGED";
        default:
                return "SESSION";
        }
}

struct cli_watch_state {
        struct cli_ctx *ctx;
        pthread_mutex_t mu;
        long printed;
        int last_state;
};

static void cli_watch_event(const struct synod_event *ev, void *arg)
{
        struct cli_watch_state *w = arg;
        pthread_mutex_lock(&w->mu);
        if (ev->type == SYNOD_EVENT_SESSION) {
                w->last_state = ev->state;
                if (!w->ctx->json)
                        fprintf(w->ctx->out, "SESSION %s\n", synod_state_name(ev->state));
        } else if (w->ctx->json) {
                fprintf(w->ctx->out, "{\"event\":\"%s\",\"path\":", cli_event_name(ev->type));
                cli_json_string(w->ctx->out, ev->path);
                fputs("}\n", w->ctx->out);
                w->printed++;
        } else {
                fprintf(w->ctx->out, "%s %s\n", cli_event_name(ev->type), ev->path);
                w->printed++;
        }
        fflush(w->ctx->out);
        pthread_mutex_unlock(&w->mu);
}

int cmd_watch(struct cli_ctx *ctx, int argc, char **argv)
{
        bool recursive = false;
        long count = -1;
        optind = 0;
        for (int c; (c = getopt(argc, argv, "rn:")) != -1;) {
                if (c == 'r')
                        recursive = true;
                else if (c == 'n' && (count = strtol(optarg, NULL, 10)) > 0)
                        continue;
                else
                        return cli_usage(ctx, cli_command_usage("watch"), CLI_EXIT_USAGE);
        }
        if (optind + 1 != argc)
                return cli_usage(ctx, cli_command_usage("watch"), CLI_EXIT_USAGE);
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        /* Static storage: the watch stays registered until the handle closes. */
        struct cli_watch_state *w = calloc(1, sizeof(*w));
        if (w == NULL)
                return CLI_EXIT_INTERNAL;
        w->ctx = ctx;
        w->last_state = SYNOD_STATE_CONNECTED;
        pthread_mutex_init(&w->mu, NULL);
        int rc = synod_add_watch(ctx->h, argv[optind], recursive, cli_watch_event, w);
        if (rc != SYNOD_OK) {
                pthread_mutex_destroy(&w->mu);
                free(w);
                return cli_fail(ctx, rc, argv[optind]);
        }
        if (!ctx->json)
                fprintf(ctx->out, "WATCHING %s\n", argv[optind]);
        fflush(ctx->out);
        code = CLI_EXIT_OK;
        while (!cli_interrupted()) { /* until a signal, the count, or the session ends */
                pthread_mutex_lock(&w->mu);
                bool done = count > 0 && w->printed >= count;
                int st = w->last_state;
                pthread_mutex_unlock(&w->mu);
                if (done)
                        break;
                if (st == SYNOD_STATE_EXPIRED || st == SYNOD_STATE_CLOSED) {
                        code = CLI_EXIT_LOST;
                        break;
                }
                cli_sleep_ms(CLI_POLL_MS);
        }
        /* The handle (and with it the watch) goes before w does. */
        synod_close(ctx->h);
        ctx->h = NULL;
        pthread_mutex_destroy(&w->mu);
        free(w);
        return code;
}

/* ---- txn ---- */

/* Splits line into at most max whitespace-separated words (in place). */
static int cli_split(char *line, char **words, int max)
{
        int n = 0;
        for (char *p = strtok(line, " \t\r\n"); p && n < max; p = strtok(NULL, " \t\r\n"))
                words[n++] = p;
        return n;
}

static bool cli_txn_parse(char **w, int n, struct synod_request *q)
{
        memset(q, 0, sizeof(*q));
        q->version = -1;
        q->data_len = -1;
        int i = 1;
        if (strcmp(w[0], "create") == 0) {
                q->op = SYNOD_OP_CREATE;
                if (i < n && w[i][0] == '-') {
                        q->mode =
                            (strchr(w[i], 'e') ? SYNOD_EPHEMERAL : 0) + (strchr(w[i], 's') ? 2 : 0);
                        i++;
                }
                if (i >= n || n - i > 2)
                        return false;
                q->path = w[i];
                if (i + 1 < n) {
                        q->data = w[i + 1];
                        q->data_len = (int32_t)strlen(w[i + 1]);
                }
                return true;
        }
        if (n < 2)
                return false;
        q->path = w[1];
        if (strcmp(w[0], "set") == 0 && (n == 3 || n == 4)) {
                q->op = SYNOD_OP_SET;
                q->data = w[2];
                q->data_len = (int32_t)strlen(w[2]);
                q->version = n == 4 ? atoi(w[3]) : -1;
                return true;
        }
        if (strcmp(w[0], "delete") == 0 && (n == 2 || n == 3)) {
                q->op = SYNOD_OP_DELETE;
                q->version = n == 3 ? atoi(w[2]) : -1;
                return true;
        }
        if (strcmp(w[0], "check") == 0 && n == 3) {
                q->op = SYNOD_OP_CHECK;
                q->version = atoi(w[2]);
                return true;
        }
        return false;
}

static int cli_txn_read(struct cli_ctx *ctx, FILE *in, char **lines, struct synod_request *ops,
                        int *n_ops)
{
        char *buf = malloc(CLI_TXN_LINE_BYTES_MAX);
        if (buf == NULL)
                return CLI_EXIT_INTERNAL;
        int code = CLI_EXIT_OK;
        for (int lineno = 1; fgets(buf, CLI_TXN_LINE_BYTES_MAX, in) != NULL; lineno++) {
                char *p = buf + strspn(buf, " \t");
                if (*p == '#' || *p == '\n' || *p == '\0')
                        continue;
                if (*n_ops == CLI_TXN_OPS_MAX || (lines[*n_ops] = strdup(p)) == NULL) {
                        code = CLI_EXIT_USAGE;
                        break;
                }
                char *w[5];
                int n = cli_split(lines[*n_ops], w, 5);
                if (n == 0 || !cli_txn_parse(w, n, &ops[*n_ops])) {
                        fprintf(ctx->err, "synod: txn line %d: cannot parse\n", lineno);
                        free(lines[*n_ops]);
                        code = CLI_EXIT_USAGE;
                        break;
                }
                (*n_ops)++;
        }
        free(buf);
        return code;
}

static void cli_txn_print(struct cli_ctx *ctx, const struct synod_request *ops,
                          const struct synod_result *res)
{
        if (ctx->json)
                fputc('[', ctx->out);
        for (int32_t i = 0; i < res->result_count; i++) {
                const struct synod_result *r = &res->results[i];
                const char *path = r->path ? r->path : ops[i].path;
                if (ctx->json) {
                        fprintf(ctx->out, "%s{\"path\":", i ? "," : "");
                        cli_json_string(ctx->out, path);
                        fprintf(ctx->out, ",\"err\":\"%s\"}", synod_errname(r->err));
                } else {
                        fprintf(ctx->out, "%s %s\n", synod_errname(r->err), path);
                }
        }
        if (ctx->json)
                fputs("]\n", ctx->out);
}

int cmd_txn(struct cli_ctx *ctx, int argc, char **argv)
{
        if (argc > 2)
                return cli_usage(ctx, cli_command_usage("txn"), CLI_EXIT_USAGE);
        FILE *in = argc == 2 && strcmp(argv[1], "-") != 0 ? fopen(argv[1], "r") : stdin;
        if (in == NULL) {
                fprintf(ctx->err, "synod: cannot open %s\n", argv[1]);
                return CLI_EXIT_USAGE;
        }
        char **lines = calloc(CLI_TXN_OPS_MAX, sizeof(char *));
        struct synod_request *ops = calloc(CLI_TXN_OPS_MAX, sizeof(*ops));
        int n = 0;
        int code = lines && ops ? cli_txn_read(ctx, in, lines, ops, &n) : CLI_EXIT_INTERNAL;
        if (in != stdin)
                fclose(in);
        if (code == CLI_EXIT_OK)
                code = cli_connect(ctx);
        if (code == CLI_EXIT_OK) {
                struct synod_request m = {.op = SYNOD_OP_MULTI, .ops = ops, .op_count = n};
                struct synod_result *res = NULL;
                int rc = synod_call_sync(ctx->h, &m, &res);
                if (res != NULL && res->result_count == n)
                        cli_txn_print(ctx, ops, res);
                synod_result_free(res);
                code = cli_fail(ctx, rc, "txn");
        }
        for (int i = 0; lines && i < n; i++)
                free(lines[i]);
        free(lines);
        free(ops);
        return code;
}

/* ---- acl ---- */

static int cli_perms_parse(const char *s)
{
        int p = 0;
        for (; *s; s++) {
                const char *letters = "rwcda";
                const char *at = strchr(letters, *s);
                if (at == NULL)
                        return -1;
                p |= 1 << (at - letters);
        }
        return p;
}

static void cli_perms_print(FILE *f, int perms)
{
        const char *letters = "rwcda";
        for (int i = 0; i < 5; i++)
                if (perms & (1 << i))
                        fputc(letters[i], f);
}

static int cli_acl_get(struct cli_ctx *ctx, const char *path)
{
        struct synod_request q = {.op = SYNOD_OP_GET_ACL, .path = path};
        struct synod_result *res = NULL;
        int rc = synod_call_sync(ctx->h, &q, &res);
        if (rc == SYNOD_OK) {
                if (ctx->json)
                        fputc('[', ctx->out);
                for (int32_t i = 0; i < res->acl_count; i++) {
                        const struct synod_acl *a = &res->acl[i];
                        if (ctx->json) {
                                fprintf(ctx->out, "%s{\"scheme\":", i ? "," : "");
                                cli_json_string(ctx->out, a->scheme);
                                fputs(",\"id\":", ctx->out);
                                cli_json_string(ctx->out, a->id);
                                fprintf(ctx->out, ",\"perms\":%d}", a->perms);
                        } else {
                                fprintf(ctx->out, "%s:%s:", a->scheme, a->id);
                                cli_perms_print(ctx->out, a->perms);
                                fputc('\n', ctx->out);
                        }
                }
                if (ctx->json)
                        fputs("]\n", ctx->out);
        }
        synod_result_free(res);
        return cli_fail(ctx, rc, path);
}

static int cli_acl_set(struct cli_ctx *ctx, const char *path, char *spec, int32_t version)
{
        struct synod_acl acl[CLI_ACL_MAX];
        int n = 0;
        for (char *item = strtok(spec, ","); item; item = strtok(NULL, ",")) {
                char *first = strchr(item, ':');
                char *last = strrchr(item, ':');
                if (n == CLI_ACL_MAX || first == NULL || first == last)
                        return cli_usage(ctx, cli_command_usage("acl"), CLI_EXIT_USAGE);
                *first = '\0';
                *last = '\0';
                int perms = cli_perms_parse(last + 1);
                if (perms < 0)
                        return cli_usage(ctx, cli_command_usage("acl"), CLI_EXIT_USAGE);
                acl[n++] = (struct synod_acl){perms, item, first + 1};
        }
        struct synod_request q = {
            .op = SYNOD_OP_SET_ACL, .path = path, .acl = acl, .acl_count = n, .version = version};
        return cli_fail(ctx, synod_call_sync(ctx->h, &q, NULL), path);
}

int cmd_acl(struct cli_ctx *ctx, int argc, char **argv)
{
        int32_t version = -1;
        optind = 0;
        for (int c; (c = getopt(argc, argv, "v:")) != -1;) {
                if (c != 'v')
                        return cli_usage(ctx, cli_command_usage("acl"), CLI_EXIT_USAGE);
                version = atoi(optarg);
        }
        int left = argc - optind;
        char **a = argv + optind;
        if (left < 2 || (strcmp(a[0], "get") == 0 && left != 2) ||
            (strcmp(a[0], "set") == 0 && left != 3) ||
            (strcmp(a[0], "get") != 0 && strcmp(a[0], "set") != 0))
                return cli_usage(ctx, cli_command_usage("acl"), CLI_EXIT_USAGE);
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        return strcmp(a[0], "get") == 0 ? cli_acl_get(ctx, a[1])
                                        : cli_acl_set(ctx, a[1], a[2], version);
}
