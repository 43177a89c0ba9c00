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

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CLI_POLL_MS 100

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
        pthread_cond_t cond; /* broadcast when done or the session ends */
        long count;          /* events to print, -1 = until interrupted */
        long printed;
        bool quiet; /* the count is reached or we are closing: print nothing more */
        int last_state;
};

/* Runs on the I/O thread. Events that arrive together are delivered one call after
 * another before the main thread can look, so the count is enforced here. */
static void cli_watch_event(const struct synod_event *ev, void *arg)
{
        struct cli_watch_state *w = arg;
        pthread_mutex_lock(&w->mu);
        if (ev->type == SYNOD_EVENT_SESSION)
                w->last_state = ev->state;
        if (w->quiet) {
                /* nothing more to print */
        } else if (ev->type == SYNOD_EVENT_SESSION) {
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
        if (w->count > 0 && w->printed >= w->count)
                w->quiet = true;
        fflush(w->ctx->out);
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->mu);
}

static void cli_deadline_in(struct timespec *ts, int ms)
{
        clock_gettime(CLOCK_REALTIME, ts);
        ts->tv_nsec += (long)ms * 1000000L;
        ts->tv_sec += ts->tv_nsec / 1000000000L;
        ts->tv_nsec %= 1000000000L;
}

int cmd_watch(struct cli_ctx *ctx, int argc, char **argv)
{
        bool recursive = false;
        long long count = -1;
        for (int c; (c = getopt(argc, argv, ":rn:")) != -1;) {
                if (c == 'r')
                        recursive = true;
                else if (c != 'n')
                        return cli_bad_option(ctx, c, argv);
                else if (!cli_number(ctx, "-n", optarg, 1, LONG_MAX, &count))
                        return CLI_EXIT_USAGE;
        }
        if (optind + 1 != argc) {
                cli_error(ctx, CLI_EXIT_USAGE, "watch: %s PATH",
                          optind >= argc ? "missing" : "too many arguments; expected one");
                return cli_usage(ctx, cli_command_usage("watch"), CLI_EXIT_USAGE);
        }
        const char *path = argv[optind];
        if (!cli_path_ok(ctx, path, false))
                return CLI_EXIT_USAGE;
        ctx->patient = true;
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        /* Freed only after the handle: the watch stays registered until the handle closes. */
        struct cli_watch_state *w = calloc(1, sizeof(*w));
        if (w == NULL)
                return cli_error(ctx, CLI_EXIT_INTERNAL, "out of memory");
        w->ctx = ctx;
        w->count = (long)count;
        w->last_state = SYNOD_STATE_CONNECTED;
        pthread_mutex_init(&w->mu, NULL);
        pthread_cond_init(&w->cond, NULL);
        int rc = synod_add_watch(ctx->h, path, recursive, cli_watch_event, w);
        code = rc != SYNOD_OK ? cli_fail(ctx, rc, path) : CLI_EXIT_OK;
        pthread_mutex_lock(&w->mu);
        /* Only now: a script that waits for this line may rely on the watch being set. */
        if (code == CLI_EXIT_OK && !ctx->json) {
                fprintf(ctx->out, "WATCHING %s\n", path);
                fflush(ctx->out);
        }
        /* until a signal, the count, or the session ends */
        while (code == CLI_EXIT_OK && !cli_interrupted() && !(count > 0 && w->printed >= count)) {
                if (w->last_state == SYNOD_STATE_EXPIRED || w->last_state == SYNOD_STATE_CLOSED) {
                        code = CLI_EXIT_LOST;
                        break;
                }
                struct timespec ts;
                cli_deadline_in(&ts, CLI_POLL_MS); /* signals are polled */
                pthread_cond_timedwait(&w->cond, &w->mu, &ts);
        }
        w->quiet = true; /* our own close is no news */
        pthread_mutex_unlock(&w->mu);
        if (code == CLI_EXIT_LOST)
                cli_error(ctx, code, "watch: the session %s",
                          synod_state_name(synod_state(ctx->h)));
        /* The handle (and with it the watch) goes before w does. */
        synod_close(ctx->h);
        ctx->h = NULL;
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return code;
}

/* ---- txn ---- */

/* Splits line into at most max whitespace-separated words (in place); the count found,
 * which is max + 1 when there are more. */
static int cli_split(char *line, char **words, int max)
{
        int n = 0;
        for (char *p = strtok(line, " \t\r\n"); p; p = strtok(NULL, " \t\r\n")) {
                if (n == max)
                        return max + 1;
                words[n++] = p;
        }
        return n;
}

/* What one txn file holds, and the values read for its operations. */
struct cli_txn {
        char **lines; /* the operations' words point into these */
        struct synod_request *ops;
        struct cli_value *values;
        int n;
        bool ops_from_stdin;
        bool stdin_used; /* a '-' value was read */
        size_t bytes;    /* the multi request's size so far, about */
};

/* One txn line's error: "txn line N: MESSAGE". */
static int cli_txn_error(struct cli_ctx *ctx, int lineno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int cli_txn_error(struct cli_ctx *ctx, int lineno, const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return cli_error(ctx, CLI_EXIT_USAGE, "txn line %d: %s", lineno, msg);
}

static bool cli_txn_version(const char *s, int32_t *out)
{
        char *end;
        long long v = strtoll(s, &end, 10);
        if (s[0] == '\0' || *end != '\0' || v < -1 || v > INT32_MAX)
                return false;
        *out = (int32_t)v;
        return true;
}

/* The DATA word of a txn line into op's value i (t->values[i]). */
static int cli_txn_value(struct cli_ctx *ctx, struct cli_txn *t, int lineno, const char *word,
                         struct synod_request *q)
{
        if (strcmp(word, "-") == 0) {
                if (t->ops_from_stdin)
                        return cli_txn_error(ctx, lineno,
                                             "'-' reads stdin, which holds the operations "
                                             "here: give the operations as FILE");
                if (t->stdin_used)
                        return cli_txn_error(ctx, lineno, "stdin was already read by a '-'");
                t->stdin_used = true;
        }
        struct cli_value *v = &t->values[t->n];
        size_t used = t->bytes + CLI_REQUEST_OVERHEAD_BYTES + strlen(q->path);
        size_t room = used < ZK_FRAME_BYTES_MAX ? ZK_FRAME_BYTES_MAX - used : 0;
        char where[32];
        snprintf(where, sizeof(where), "txn line %d", lineno);
        int code = cli_value_read(ctx, word, room, where, v);
        if (code != CLI_EXIT_OK)
                return code;
        q->data = v->data;
        q->data_len = v->len;
        return CLI_EXIT_OK;
}

static int cli_txn_parse(struct cli_ctx *ctx, struct cli_txn *t, int lineno, char **w, int n)
{
        struct synod_request *q = &t->ops[t->n];
        if (n < 1)
                return cli_txn_error(ctx, lineno, "no operation");
        memset(q, 0, sizeof(*q));
        q->version = -1;
        q->data_len = -1;
        const char *op = w[0];
        int i = 1;
        bool seq = false;
        if (strcmp(op, "create") == 0) {
                q->op = SYNOD_OP_CREATE;
                if (i < n && w[i][0] == '-' && w[i][1] != '\0') {
                        const char *f = w[i];
                        if (strspn(f + 1, "es") != strlen(f + 1))
                                return cli_txn_error(ctx, lineno,
                                                     "create takes -e, -s or -es, not '%s'", f);
                        seq = strchr(f, 's') != NULL;
                        q->mode = (strchr(f, 'e') ? SYNOD_EPHEMERAL : 0) + (seq ? 2 : 0);
                        i++;
                }
                if (n - i < 1 || n - i > 2)
                        return cli_txn_error(ctx, lineno, "create wants PATH [DATA]");
        } else if (strcmp(op, "set") == 0) {
                q->op = SYNOD_OP_SET;
                if (n < 3 || n > 4)
                        return cli_txn_error(ctx, lineno, "set wants PATH DATA [VERSION]");
                if (n == 4 && !cli_txn_version(w[3], &q->version))
                        return cli_txn_error(ctx, lineno, "VERSION '%s' is not an integer", w[3]);
        } else if (strcmp(op, "delete") == 0 || strcmp(op, "check") == 0) {
                bool check = op[0] == 'c';
                q->op = check ? SYNOD_OP_CHECK : SYNOD_OP_DELETE;
                if (check ? n != 3 : (n < 2 || n > 3))
                        return cli_txn_error(ctx, lineno, "%s",
                                             check ? "check wants PATH VERSION"
                                                   : "delete wants PATH [VERSION]");
                if (n == 3 && !cli_txn_version(w[2], &q->version))
                        return cli_txn_error(ctx, lineno, "VERSION '%s' is not an integer", w[2]);
        } else {
                return cli_txn_error(ctx, lineno,
                                     "unknown operation '%s' (create, set, delete, check)", op);
        }
        q->path = w[i];
        const char *why = cli_path_problem(q->path, seq);
        if (why != NULL) {
                char msg[256];
                snprintf(msg, sizeof(msg), "path '%.80s' %s", q->path, why);
                return cli_txn_error(ctx, lineno, "%s", msg);
        }
        if (q->op == SYNOD_OP_SET || (q->op == SYNOD_OP_CREATE && i + 1 < n)) {
                int code = cli_txn_value(ctx, t, lineno, w[i + 1], q);
                if (code != CLI_EXIT_OK)
                        return code;
        }
        t->bytes += CLI_REQUEST_OVERHEAD_BYTES + strlen(q->path) +
                    (q->data_len > 0 ? (size_t)q->data_len : 0);
        if (t->bytes > ZK_FRAME_BYTES_MAX)
                return cli_txn_error(ctx, lineno,
                                     "the operations so far make a request larger than "
                                     "jute.maxbuffer (%d bytes)",
                                     ZK_FRAME_BYTES_MAX);
        t->n++;
        return CLI_EXIT_OK;
}

static int cli_txn_read(struct cli_ctx *ctx, FILE *in, struct cli_txn *t)
{
        char *buf = malloc(CLI_TXN_LINE_BYTES_MAX);
        if (buf == NULL)
                return cli_error(ctx, CLI_EXIT_INTERNAL, "out of memory");
        int code = CLI_EXIT_OK;
        for (int lineno = 1; code == CLI_EXIT_OK && fgets(buf, CLI_TXN_LINE_BYTES_MAX, in) != NULL;
             lineno++) {
                char *p = buf + strspn(buf, " \t\r");
                if (*p == '#' || *p == '\n' || *p == '\0')
                        continue;
                if (strchr(p, '\n') == NULL && !feof(in)) {
                        code = cli_error(ctx, CLI_EXIT_USAGE,
                                         "txn line %d: longer than %d bytes (use @FILE for large "
                                         "data)",
                                         lineno, CLI_TXN_LINE_BYTES_MAX - 1);
                        break;
                }
                if (t->n == CLI_TXN_OPS_MAX) {
                        code =
                            cli_error(ctx, CLI_EXIT_USAGE, "txn line %d: more than %d operations",
                                      lineno, CLI_TXN_OPS_MAX);
                        break;
                }
                if ((t->lines[t->n] = strdup(p)) == NULL) {
                        code = cli_error(ctx, CLI_EXIT_INTERNAL, "out of memory");
                        break;
                }
                char *w[5];
                int n = cli_split(t->lines[t->n], w, 4);
                code = n > 4 ? cli_txn_error(ctx, lineno,
                                             "too many words: DATA is one word (quotes do not "
                                             "group; use @FILE for data with spaces)")
                             : cli_txn_parse(ctx, t, lineno, w, n);
                if (code != CLI_EXIT_OK) { /* the failed line's, which t->n does not count */
                        free(t->lines[t->n]);
                        t->lines[t->n] = NULL;
                        cli_value_free(&t->values[t->n]);
                }
        }
        if (code == CLI_EXIT_OK && ferror(in))
                code = cli_error(ctx, CLI_EXIT_USAGE, "txn: cannot read the operations");
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
        int c = getopt(argc, argv, ":");
        if (c != -1)
                return cli_bad_option(ctx, c, argv);
        if (argc - optind > 1) {
                cli_error(ctx, CLI_EXIT_USAGE, "txn: too many arguments; expected [FILE]");
                return cli_usage(ctx, cli_command_usage("txn"), CLI_EXIT_USAGE);
        }
        const char *file = optind < argc ? argv[optind] : "-";
        struct cli_txn t = {.ops_from_stdin = strcmp(file, "-") == 0};
        if (t.ops_from_stdin && ctx->in_shell)
                return cli_error(ctx, CLI_EXIT_USAGE,
                                 "txn: in the shell, give the operations as FILE");
        if (t.ops_from_stdin && isatty(STDIN_FILENO))
                fputs("synod: txn: reading operations from the terminal, one per line; end with "
                      "Ctrl-D\n",
                      ctx->err);
        FILE *in = t.ops_from_stdin ? stdin : fopen(file, "r");
        if (in == NULL)
                return cli_error(ctx, CLI_EXIT_USAGE, "txn: cannot open %s: %s", file,
                                 strerror(errno));
        t.lines = calloc(CLI_TXN_OPS_MAX, sizeof(char *));
        t.ops = calloc(CLI_TXN_OPS_MAX, sizeof(*t.ops));
        t.values = calloc(CLI_TXN_OPS_MAX, sizeof(*t.values));
        int code = t.lines && t.ops && t.values
                       ? cli_txn_read(ctx, in, &t)
                       : cli_error(ctx, CLI_EXIT_INTERNAL, "out of memory");
        if (in != stdin)
                fclose(in);
        if (code == CLI_EXIT_OK)
                code = cli_connect(ctx);
        if (code == CLI_EXIT_OK) {
                struct synod_request m = {.op = SYNOD_OP_MULTI, .ops = t.ops, .op_count = t.n};
                struct synod_result *res = NULL;
                int rc = synod_call_sync(ctx->h, &m, &res);
                if (res != NULL && res->result_count == t.n)
                        cli_txn_print(ctx, t.ops, res);
                synod_result_free(res);
                code = cli_fail(ctx, rc, "txn");
        }
        for (int i = 0; t.lines && i < t.n; i++) {
                free(t.lines[i]);
                cli_value_free(&t.values[i]);
        }
        free(t.lines);
        free(t.ops);
        free(t.values);
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
                if (n == CLI_ACL_MAX)
                        return cli_error(ctx, CLI_EXIT_USAGE, "acl: more than %d entries",
                                         CLI_ACL_MAX);
                if (first == NULL || first == last)
                        return cli_error(ctx, CLI_EXIT_USAGE, "acl: '%.80s' is not SCHEME:ID:PERMS",
                                         item);
                *first = '\0';
                *last = '\0';
                int perms = cli_perms_parse(last + 1);
                if (perms < 0)
                        return cli_error(ctx, CLI_EXIT_USAGE,
                                         "acl: PERMS '%.16s' are not letters of rwcda", last + 1);
                acl[n++] = (struct synod_acl){perms, item, first + 1};
        }
        struct synod_request q = {
            .op = SYNOD_OP_SET_ACL, .path = path, .acl = acl, .acl_count = n, .version = version};
        int code = cli_connect(ctx);
        return code != CLI_EXIT_OK ? code : cli_fail(ctx, synod_call_sync(ctx->h, &q, NULL), path);
}

int cmd_acl(struct cli_ctx *ctx, int argc, char **argv)
{
        long long version = -1;
        for (int c; (c = getopt(argc, argv, ":v:")) != -1;) {
                if (c != 'v')
                        return cli_bad_option(ctx, c, argv);
                if (!cli_number(ctx, "-v", optarg, -1, INT32_MAX, &version))
                        return CLI_EXIT_USAGE;
        }
        int left = argc - optind;
        char **a = argv + optind;
        bool get = left >= 1 && strcmp(a[0], "get") == 0;
        bool set = left >= 1 && strcmp(a[0], "set") == 0;
        if ((!get && !set) || (get && left != 2) || (set && left != 3)) {
                cli_error(ctx, CLI_EXIT_USAGE, "acl: %s",
                          !get && !set ? "expected get or set"
                          : get        ? "get wants PATH"
                                       : "set wants PATH SCHEME:ID:PERMS[,...]");
                return cli_usage(ctx, cli_command_usage("acl"), CLI_EXIT_USAGE);
        }
        if (!cli_path_ok(ctx, a[1], false))
                return CLI_EXIT_USAGE;
        if (set)
                return cli_acl_set(ctx, a[1], a[2], (int32_t)version);
        int code = cli_connect(ctx);
        return code != CLI_EXIT_OK ? code : cli_acl_get(ctx, a[1]);
}
