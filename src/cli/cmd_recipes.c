/*
 * Recipe commands: service, config, barrier, counter, group.
 *
 * The long-running ones (service register/watch, config watch, group run)
 * wait on a notifier that their watches bump, re-read, and print what
 * changed. The notifier is freed only after the handle is closed, because a
 * one-shot watch may still fire until then.
 */
#include "cli/cli.h"

#include "base/limits.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLI_WAIT_SLICE_MS 200
#define CLI_PORT_MAX      65535

struct cli_notify {
        pthread_mutex_t mu;
        pthread_cond_t cond;
        uint64_t n;
};

static struct cli_notify *cli_notify_new(void)
{
        struct cli_notify *w = calloc(1, sizeof(*w));
        if (w) {
                pthread_mutex_init(&w->mu, NULL);
                pthread_cond_init(&w->cond, NULL);
        }
        return w;
}

static void cli_notify_fn(const struct synod_event *ev, void *arg)
{
        (void)ev;
        struct cli_notify *w = arg;
        pthread_mutex_lock(&w->mu);
        w->n++;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->mu);
}

static uint64_t cli_notify_value(struct cli_notify *w)
{
        pthread_mutex_lock(&w->mu);
        uint64_t v = w->n;
        pthread_mutex_unlock(&w->mu);
        return v;
}

static void cli_notify_wait(struct cli_notify *w, uint64_t seen, int ms)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)ms * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_mutex_lock(&w->mu);
        while (w->n == seen && pthread_cond_timedwait(&w->cond, &w->mu, &ts) == 0) {
        }
        pthread_mutex_unlock(&w->mu);
}

/* Closes the handle first (no watch can fire after), then frees the notifier. */
static void cli_notify_done(struct cli_ctx *ctx, struct cli_notify *w)
{
        if (ctx->h) {
                synod_close(ctx->h);
                ctx->h = NULL;
        }
        if (w) {
                pthread_cond_destroy(&w->cond);
                pthread_mutex_destroy(&w->mu);
                free(w);
        }
}

static bool cli_session_gone(struct cli_ctx *ctx)
{
        enum synod_state s = synod_state(ctx->h);
        return s == SYNOD_STATE_EXPIRED || s == SYNOD_STATE_CLOSED;
}

/* ---- service ---- */

static void cli_instance_print(struct cli_ctx *ctx, const struct synod_instance *it, bool comma)
{
        if (ctx->json) {
                fprintf(ctx->out, "%s{\"id\":", comma ? "," : "");
                cli_json_string(ctx->out, it->id);
                fputs(",\"address\":", ctx->out);
                cli_json_string(ctx->out, it->address);
                /* Another client may have written anything there: only JSON passes. */
                fprintf(ctx->out, ",\"port\":%d,\"metadata\":%s}", it->port,
                        cli_json_is_object(it->metadata_json) ? it->metadata_json : "null");
        } else {
                fprintf(ctx->out, "%s %s:%d %s\n", it->id, it->address, it->port,
                        it->metadata_json);
        }
}

static int cli_service_register(struct cli_ctx *ctx, int argc, char **argv)
{
        static const struct option longs[] = {{"address", required_argument, NULL, 'a'},
                                              {"port", required_argument, NULL, 'p'},
                                              {"id", required_argument, NULL, 'i'},
                                              {"metadata", required_argument, NULL, 'm'},
                                              {0, 0, 0, 0}};
        const char *address = NULL, *id = NULL, *meta = NULL;
        long long port = -1;
        cli_getopt_reset();
        for (int c; (c = getopt_long(argc, argv, ":", longs, NULL)) != -1;) {
                if (c == 'a')
                        address = optarg;
                else if (c == 'p' && !cli_number(ctx, "--port", optarg, 1, CLI_PORT_MAX, &port))
                        return CLI_EXIT_USAGE;
                else if (c == 'i')
                        id = optarg;
                else if (c == 'm')
                        meta = optarg;
                else if (c != 'p')
                        return cli_bad_option(ctx, c, argv);
        }
        if (optind + 1 != argc || address == NULL || port < 0) {
                cli_error(ctx, CLI_EXIT_USAGE, "service register: %s",
                          optind + 1 != argc ? "expected one SERVICE"
                          : address == NULL  ? "--address is required"
                                             : "--port is required");
                return cli_usage(ctx, cli_command_usage("service"), CLI_EXIT_USAGE);
        }
        /* Every reader of the registry parses the metadata: a typo must not reach it. */
        if (meta != NULL && !cli_json_is_object(meta))
                return cli_error(ctx, CLI_EXIT_USAGE,
                                 "service register: --metadata '%.80s' is not a JSON object "
                                 "(e.g. '{\"zone\":\"a\"}')",
                                 meta);
        ctx->patient = true;
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        char *path = NULL;
        int rc = synod_service_register(ctx->h, argv[optind], id, address, (int)port, meta, &path);
        if (rc != SYNOD_OK)
                return cli_fail(ctx, rc, argv[optind]);
        fprintf(ctx->out, "%s\n", path);
        fflush(ctx->out);
        free(path);
        while (!cli_interrupted() && !cli_session_gone(ctx)) {
                struct timespec ts = {0, CLI_WAIT_SLICE_MS * 1000000L};
                nanosleep(&ts, NULL);
        }
        return cli_interrupted() ? CLI_EXIT_OK : cli_fail(ctx, SYNOD_ESESSIONEXPIRED, "register");
}

static int cli_service_list(struct cli_ctx *ctx, const char *service)
{
        struct synod_instance *items;
        int32_t n;
        int rc = synod_service_list(ctx->h, service, &items, &n, NULL, NULL);
        if (rc != SYNOD_OK)
                return cli_fail(ctx, rc, service);
        if (ctx->json)
                fputc('[', ctx->out);
        for (int32_t i = 0; i < n; i++)
                cli_instance_print(ctx, &items[i], i > 0);
        if (ctx->json)
                fputs("]\n", ctx->out);
        synod_instances_free(items, n);
        return CLI_EXIT_OK;
}

static bool cli_has_id(const struct synod_instance *items, int32_t n, const char *id)
{
        for (int32_t i = 0; i < n; i++)
                if (strcmp(items[i].id, id) == 0)
                        return true;
        return false;
}

/* Prints the difference between two listings, at most max lines; returns how many. */
static long cli_service_diff(struct cli_ctx *ctx, const struct synod_instance *old, int32_t n_old,
                             const struct synod_instance *now, int32_t n_now, long max)
{
        long lines = 0;
        for (int32_t i = 0; i < n_now && lines < max; i++) {
                if (cli_has_id(old, n_old, now[i].id))
                        continue;
                if (ctx->json) {
                        fputs("{\"added\":", ctx->out);
                        cli_json_string(ctx->out, now[i].id);
                        fputs(",\"address\":", ctx->out);
                        cli_json_string(ctx->out, now[i].address);
                        fprintf(ctx->out, ",\"port\":%d}\n", now[i].port);
                } else {
                        fprintf(ctx->out, "+ %s %s:%d\n", now[i].id, now[i].address, now[i].port);
                }
                lines++;
        }
        for (int32_t i = 0; i < n_old && lines < max; i++) {
                if (cli_has_id(now, n_now, old[i].id))
                        continue;
                if (ctx->json) {
                        fputs("{\"removed\":", ctx->out);
                        cli_json_string(ctx->out, old[i].id);
                        fputs("}\n", ctx->out);
                } else {
                        fprintf(ctx->out, "- %s\n", old[i].id);
                }
                lines++;
        }
        fflush(ctx->out);
        return lines;
}

static int cli_service_watch(struct cli_ctx *ctx, const char *service, long count)
{
        struct cli_notify *w = cli_notify_new();
        struct synod_instance *old = NULL;
        int32_t n_old = 0;
        long printed = 0;
        int code = w ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
        while (code == CLI_EXIT_OK && !cli_interrupted() && (count < 0 || printed < count)) {
                uint64_t seen = cli_notify_value(w);
                struct synod_instance *now;
                int32_t n_now;
                int rc = synod_service_list(ctx->h, service, &now, &n_now, cli_notify_fn, w);
                if (rc != SYNOD_OK && rc != SYNOD_ECONNECTIONLOSS) {
                        code = cli_fail(ctx, rc, service);
                        break;
                }
                if (rc == SYNOD_OK) { /* on a connection loss, list again on reconnection */
                        /* several changes may come in one listing: -n counts lines */
                        printed += cli_service_diff(ctx, old, n_old, now, n_now,
                                                    count < 0 ? LONG_MAX : count - printed);
                        synod_instances_free(old, n_old);
                        old = now;
                        n_old = n_now;
                }
                while (cli_notify_value(w) == seen && !cli_interrupted() && !cli_session_gone(ctx))
                        cli_notify_wait(w, seen, CLI_WAIT_SLICE_MS);
                if (cli_session_gone(ctx))
                        code = cli_fail(ctx, SYNOD_ESESSIONEXPIRED, "watch");
        }
        synod_instances_free(old, n_old);
        cli_notify_done(ctx, w);
        return code;
}

/* "[-n COUNT] NAME" of the watch subcommands (argv[0] is the subcommand): *count -1
 * without -n. False if reported. */
static bool cli_count_and_name(struct cli_ctx *ctx, int argc, char **argv, const char *what,
                               long long *count, const char **name)
{
        *count = -1;
        cli_getopt_reset();
        for (int c; (c = getopt(argc, argv, ":n:")) != -1;) {
                if (c != 'n') {
                        cli_bad_option(ctx, c, argv);
                        return false;
                }
                if (!cli_number(ctx, "-n", optarg, 1, LONG_MAX, count))
                        return false;
        }
        if (optind + 1 != argc) {
                cli_error(ctx, CLI_EXIT_USAGE, "%s %s: expected one %s", ctx->cmd, argv[0], what);
                cli_usage(ctx, cli_command_usage(ctx->cmd), CLI_EXIT_USAGE);
                return false;
        }
        *name = argv[optind];
        return true;
}

int cmd_service(struct cli_ctx *ctx, int argc, char **argv)
{
        static const char known[] = "register, list, watch, pick";
        const char *sub = argc >= 2 ? argv[1] : "";
        if (strcmp(sub, "register") == 0)
                return cli_service_register(ctx, argc - 1, argv + 1);
        long long count = -1;
        const char *service;
        bool watch = strcmp(sub, "watch") == 0;
        if (watch || strcmp(sub, "list") == 0 || strcmp(sub, "pick") == 0) {
                if (!cli_count_and_name(ctx, argc - 1, argv + 1, "SERVICE", &count, &service))
                        return CLI_EXIT_USAGE;
                if (count != -1 && !watch)
                        return cli_error(ctx, CLI_EXIT_USAGE, "service %s: -n is for watch", sub);
        } else {
                return cli_bad_subcommand(ctx, argc, argv, known);
        }
        ctx->patient = watch;
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        if (strcmp(sub, "list") == 0)
                return cli_service_list(ctx, service);
        if (watch)
                return cli_service_watch(ctx, service, (long)count);
        struct synod_instance it;
        int rc = synod_service_pick(ctx->h, service, NULL, (uint64_t)time(NULL) ^ 0x9e37, &it);
        if (rc != SYNOD_OK)
                return cli_fail(ctx, rc, service);
        cli_instance_print(ctx, &it, false);
        if (ctx->json)
                fputc('\n', ctx->out);
        synod_instance_clear(&it);
        return CLI_EXIT_OK;
}

/* ---- config ---- */

static void cli_config_print(struct cli_ctx *ctx, const struct synod_config *cfg)
{
        if (ctx->json) {
                fprintf(ctx->out, "{\"generation\":%d,\"entries\":{", cfg->generation);
                for (int32_t i = 0; i < cfg->count; i++) {
                        fputs(i ? "," : "", ctx->out);
                        cli_json_string(ctx->out, cfg->entries[i].key);
                        fputc(':', ctx->out);
                        cli_json_string(ctx->out, cfg->entries[i].value);
                }
                fputs("}}\n", ctx->out);
        } else {
                fprintf(ctx->out, "# generation %d\n", cfg->generation);
                for (int32_t i = 0; i < cfg->count; i++)
                        fprintf(ctx->out, "%s=%s\n", cfg->entries[i].key, cfg->entries[i].value);
        }
        fflush(ctx->out);
}

/* KEY=VALUE and -KEY lines of `name` into e[0..*n); a bad line is reported by number. */
static int cli_config_read(struct cli_ctx *ctx, FILE *in, const char *name,
                           struct synod_config_entry *e, int32_t *n)
{
        char *line = malloc(CLI_CONFIG_LINE_BYTES_MAX);
        if (line == NULL)
                return cli_error(ctx, CLI_EXIT_INTERNAL, "out of memory");
        int code = CLI_EXIT_OK;
        for (int lineno = 1; code == CLI_EXIT_OK && fgets(line, CLI_CONFIG_LINE_BYTES_MAX, in);
             lineno++) {
                if (strchr(line, '\n') == NULL && !feof(in)) {
                        code = cli_error(ctx, CLI_EXIT_USAGE, "%s:%d: longer than %d bytes", name,
                                         lineno, CLI_CONFIG_LINE_BYTES_MAX - 1);
                        break;
                }
                line[strcspn(line, "\r\n")] = '\0';
                if (line[0] == '\0' || line[0] == '#')
                        continue;
                char *eq = strchr(line, '=');
                bool remove = line[0] == '-';
                if (remove ? eq != NULL || line[1] == '\0' : eq == NULL || eq == line) {
                        code = cli_error(ctx, CLI_EXIT_USAGE,
                                         "%s:%d: expected KEY=VALUE or -KEY, got '%.80s'", name,
                                         lineno, line);
                        break;
                }
                if (*n == CLI_CONFIG_KEYS_MAX) {
                        code = cli_error(ctx, CLI_EXIT_USAGE, "%s:%d: more than %d keys", name,
                                         lineno, CLI_CONFIG_KEYS_MAX);
                        break;
                }
                if (remove) {
                        e[*n] = (struct synod_config_entry){strdup(line + 1), NULL, -1};
                } else {
                        *eq = '\0';
                        e[*n] = (struct synod_config_entry){strdup(line), strdup(eq + 1), -1};
                }
                (*n)++;
        }
        if (code == CLI_EXIT_OK && ferror(in))
                code = cli_error(ctx, CLI_EXIT_USAGE, "cannot read %s", name);
        free(line);
        return code;
}

static int cli_config_apply(struct cli_ctx *ctx, int argc, char **argv)
{
        long long gen = -1;
        cli_getopt_reset();
        for (int c; (c = getopt(argc, argv, ":g:")) != -1;) {
                if (c != 'g')
                        return cli_bad_option(ctx, c, argv);
                if (!cli_number(ctx, "-g", optarg, -1, INT32_MAX, &gen))
                        return CLI_EXIT_USAGE;
        }
        if (optind >= argc || argc - optind > 2) {
                cli_error(ctx, CLI_EXIT_USAGE, "config apply: %s",
                          optind >= argc ? "missing ROOT"
                                         : "too many arguments; expected ROOT [FILE]");
                return cli_usage(ctx, cli_command_usage("config"), CLI_EXIT_USAGE);
        }
        const char *root = argv[optind];
        if (!cli_path_ok(ctx, root, false))
                return CLI_EXIT_USAGE;
        const char *file = optind + 1 < argc ? argv[optind + 1] : "-";
        bool from_stdin = strcmp(file, "-") == 0;
        FILE *in = from_stdin ? stdin : fopen(file, "r");
        if (in == NULL)
                return cli_error(ctx, CLI_EXIT_USAGE, "config apply: cannot open %s: %s", file,
                                 strerror(errno));
        struct synod_config_entry *e = calloc(CLI_CONFIG_KEYS_MAX, sizeof(*e));
        int32_t n = 0;
        int code = e ? cli_config_read(ctx, in, from_stdin ? "stdin" : file, e, &n)
                     : cli_error(ctx, CLI_EXIT_INTERNAL, "out of memory");
        if (in != stdin)
                fclose(in);
        if (code == CLI_EXIT_OK)
                code = cli_connect(ctx);
        if (code == CLI_EXIT_OK)
                code = cli_fail(ctx, synod_config_apply(ctx->h, root, e, n, (int32_t)gen), root);
        for (int32_t i = 0; e && i < n; i++) {
                free(e[i].key);
                free(e[i].value);
        }
        free(e);
        return code;
}

static int cli_config_watch(struct cli_ctx *ctx, const char *root, long count)
{
        struct cli_notify *w = cli_notify_new();
        int code = w ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
        int rc = w ? synod_add_watch(ctx->h, root, true, cli_notify_fn, w) : SYNOD_OK;
        if (rc != SYNOD_OK)
                code = cli_fail(ctx, rc, root);
        int32_t last_gen = -2;
        long printed = 0;
        while (code == CLI_EXIT_OK && !cli_interrupted() && (count < 0 || printed < count)) {
                uint64_t seen = cli_notify_value(w);
                struct synod_config cfg;
                rc = synod_config_get(ctx->h, root, &cfg);
                if (rc == SYNOD_ENONODE) {
                        cfg = (struct synod_config){NULL, 0, -1};
                        rc = SYNOD_OK;
                }
                if (rc == SYNOD_OK && cfg.generation != last_gen) {
                        cli_config_print(ctx, &cfg);
                        last_gen = cfg.generation;
                        printed++;
                }
                synod_config_free(&cfg);
                if (rc != SYNOD_OK && rc != SYNOD_ECONNECTIONLOSS)
                        code = cli_fail(ctx, rc, root);
                while (code == CLI_EXIT_OK && cli_notify_value(w) == seen && !cli_interrupted() &&
                       !cli_session_gone(ctx))
                        cli_notify_wait(w, seen, CLI_WAIT_SLICE_MS);
                if (cli_session_gone(ctx))
                        code = cli_fail(ctx, SYNOD_ESESSIONEXPIRED, "watch");
        }
        cli_notify_done(ctx, w);
        return code;
}

int cmd_config(struct cli_ctx *ctx, int argc, char **argv)
{
        const char *sub = argc >= 2 ? argv[1] : "";
        if (strcmp(sub, "apply") == 0)
                return cli_config_apply(ctx, argc - 1, argv + 1);
        bool watch = strcmp(sub, "watch") == 0;
        if (!watch && strcmp(sub, "get") != 0)
                return cli_bad_subcommand(ctx, argc, argv, "get, apply, watch");
        long long count;
        const char *root;
        if (!cli_count_and_name(ctx, argc - 1, argv + 1, "ROOT", &count, &root))
                return CLI_EXIT_USAGE;
        if (count != -1 && !watch)
                return cli_error(ctx, CLI_EXIT_USAGE, "config get: -n is for watch");
        if (!cli_path_ok(ctx, root, false))
                return CLI_EXIT_USAGE;
        ctx->patient = watch;
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        if (watch)
                return cli_config_watch(ctx, root, (long)count);
        struct synod_config cfg;
        int rc = synod_config_get(ctx->h, root, &cfg);
        if (rc != SYNOD_OK)
                return cli_fail(ctx, rc, root);
        cli_config_print(ctx, &cfg);
        synod_config_free(&cfg);
        return CLI_EXIT_OK;
}

/* ---- barrier, counter ---- */

int cmd_barrier(struct cli_ctx *ctx, int argc, char **argv)
{
        long long timeout_ms = -1;
        cli_getopt_reset();
        for (int c; (c = getopt(argc, argv, ":t:")) != -1;) {
                if (c != 't')
                        return cli_bad_option(ctx, c, argv);
                if (!cli_number(ctx, "-t", optarg, 0, INT_MAX, &timeout_ms))
                        return CLI_EXIT_USAGE;
        }
        int left = argc - optind;
        char **a = argv + optind;
        const char *sub = left > 0 ? a[0] : "";
        bool single =
            strcmp(sub, "set") == 0 || strcmp(sub, "remove") == 0 || strcmp(sub, "wait") == 0;
        bool dbl = strcmp(sub, "enter") == 0 || strcmp(sub, "leave") == 0;
        if (!single && !dbl)
                return cli_bad_subcommand(ctx, left + 1, a - 1, "set, remove, wait, enter, leave");
        /* leave takes COUNT too, for symmetry with enter; it waits for every member. */
        if (left != (single ? 2 : 4)) {
                cli_error(ctx, CLI_EXIT_USAGE, "barrier %s: expected %s", sub,
                          single ? "PATH" : "DIR MEMBER COUNT");
                return cli_usage(ctx, cli_command_usage("barrier"), CLI_EXIT_USAGE);
        }
        long long members = 0;
        if (!cli_path_ok(ctx, a[1], false) ||
            (dbl && !cli_number(ctx, "COUNT", a[3], 1, INT32_MAX, &members)))
                return CLI_EXIT_USAGE;
        ctx->patient = strcmp(sub, "wait") == 0 || dbl;
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        int rc;
        if (strcmp(sub, "set") == 0)
                rc = synod_barrier_set(ctx->h, a[1]);
        else if (strcmp(sub, "remove") == 0)
                rc = synod_barrier_remove(ctx->h, a[1]);
        else if (strcmp(sub, "wait") == 0)
                rc = synod_barrier_wait(ctx->h, a[1], (int)timeout_ms);
        else if (strcmp(sub, "enter") == 0)
                rc = synod_double_barrier_enter(ctx->h, a[1], a[2], (int32_t)members,
                                                (int)timeout_ms);
        else
                rc = synod_double_barrier_leave(ctx->h, a[1], a[2], (int)timeout_ms);
        return cli_fail(ctx, rc, a[1]);
}

int cmd_counter(struct cli_ctx *ctx, int argc, char **argv)
{
        const char *sub = argc >= 2 ? argv[1] : "";
        bool add = strcmp(sub, "add") == 0;
        if (!add && strcmp(sub, "get") != 0)
                return cli_bad_subcommand(ctx, argc, argv, "get, add");
        /* No getopt here: a DELTA may be negative ("-5"). */
        if (argc < 3 || argc > (add ? 4 : 3)) {
                cli_error(ctx, CLI_EXIT_USAGE, "counter %s: expected %s", sub,
                          add ? "PATH [DELTA]" : "PATH");
                return cli_usage(ctx, cli_command_usage("counter"), CLI_EXIT_USAGE);
        }
        long long delta = add ? 1 : 0;
        if (!cli_path_ok(ctx, argv[2], false) ||
            (argc == 4 && !cli_number(ctx, "DELTA", argv[3], INT64_MIN, INT64_MAX, &delta)))
                return CLI_EXIT_USAGE;
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        int64_t v = 0;
        int rc = synod_counter_add(ctx->h, argv[2], delta, &v);
        if (rc == SYNOD_OK)
                fprintf(ctx->out, ctx->json ? "{\"value\":%" PRId64 "}\n" : "%" PRId64 "\n", v);
        return cli_fail(ctx, rc, argv[2]);
}

/* ---- group ---- */

static int cli_split_items(char *s, const char **items)
{
        int n = 0;
        for (char *p = strtok(s, ","); p && n < CLI_ITEMS_MAX; p = strtok(NULL, ","))
                items[n++] = p;
        return n;
}

static void cli_group_print(struct cli_ctx *ctx, char **members, int32_t n_members, const char *me,
                            const char **items, int n_items, int32_t *owned)
{
        int32_t k =
            synod_partition((const char *const *)members, n_members, me, items, n_items, owned);
        fprintf(ctx->out, "members: %d owned:", n_members);
        for (int32_t i = 0; i < k; i++)
                fprintf(ctx->out, " %s", items[owned[i]]);
        fputc('\n', ctx->out);
        fflush(ctx->out);
}

static int cli_group_run(struct cli_ctx *ctx, const char *dir, const char *me, char *item_list,
                         long count)
{
        const char **items = calloc(CLI_ITEMS_MAX, sizeof(*items));
        int32_t *owned = calloc(CLI_ITEMS_MAX, sizeof(*owned));
        struct cli_notify *w = cli_notify_new();
        int n_items = items ? cli_split_items(item_list, items) : 0;
        int code = items && owned && w ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
        if (code == CLI_EXIT_OK)
                code = cli_fail(ctx, synod_group_join(ctx->h, dir, me), dir);
        for (long printed = 0;
             code == CLI_EXIT_OK && !cli_interrupted() && (count < 0 || printed < count);
             printed++) {
                uint64_t seen = cli_notify_value(w);
                char **members;
                int32_t n;
                int rc = synod_group_members(ctx->h, dir, &members, &n, cli_notify_fn, w);
                if (rc != SYNOD_OK) {
                        code = cli_fail(ctx, rc, dir);
                        break;
                }
                cli_group_print(ctx, members, n, me, items, n_items, owned);
                synod_strings_free(members, n);
                while (cli_notify_value(w) == seen && !cli_interrupted() && !cli_session_gone(ctx))
                        cli_notify_wait(w, seen, CLI_WAIT_SLICE_MS);
                if (cli_session_gone(ctx))
                        code = cli_fail(ctx, SYNOD_ESESSIONEXPIRED, dir);
        }
        cli_notify_done(ctx, w);
        free(items);
        free(owned);
        return code;
}

int cmd_group(struct cli_ctx *ctx, int argc, char **argv)
{
        const char *sub = argc >= 2 ? argv[1] : "";
        bool run = strcmp(sub, "run") == 0;
        if (!run && strcmp(sub, "members") != 0)
                return cli_bad_subcommand(ctx, argc, argv, "members, run");
        long long count = -1;
        cli_getopt_reset();
        for (int c; (c = getopt(argc - 1, argv + 1, ":n:")) != -1;) {
                if (c != 'n')
                        return cli_bad_option(ctx, c, argv + 1);
                if (!run)
                        return cli_error(ctx, CLI_EXIT_USAGE, "group members: -n is for run");
                if (!cli_number(ctx, "-n", optarg, 1, LONG_MAX, &count))
                        return CLI_EXIT_USAGE;
        }
        int i = optind + 1;
        if (argc - i != (run ? 3 : 1)) {
                cli_error(ctx, CLI_EXIT_USAGE, "group %s: expected %s", sub,
                          run ? "DIR MEMBER ITEM[,ITEM...]" : "DIR");
                return cli_usage(ctx, cli_command_usage("group"), CLI_EXIT_USAGE);
        }
        if (!cli_path_ok(ctx, argv[i], false))
                return CLI_EXIT_USAGE;
        ctx->patient = run;
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        if (run)
                return cli_group_run(ctx, argv[i], argv[i + 1], argv[i + 2], (long)count);
        char **m;
        int32_t n;
        int rc = synod_group_members(ctx->h, argv[i], &m, &n, NULL, NULL);
        for (int32_t k = 0; rc == SYNOD_OK && k < n; k++)
                fprintf(ctx->out, "%s\n", m[k]);
        if (rc == SYNOD_OK)
                synod_strings_free(m, n);
        return cli_fail(ctx, rc, argv[i]);
}
