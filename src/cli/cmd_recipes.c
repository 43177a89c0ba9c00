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

#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLI_WAIT_SLICE_MS 200

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
                fprintf(ctx->out, ",\"port\":%d,\"metadata\":%s}", it->port, it->metadata_json);
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
        int port = -1;
        optind = 0;
        for (int c; (c = getopt_long(argc, argv, "", longs, NULL)) != -1;) {
                if (c == 'a')
                        address = optarg;
                else if (c == 'p')
                        port = atoi(optarg);
                else if (c == 'i')
                        id = optarg;
                else if (c == 'm')
                        meta = optarg;
                else
                        return cli_usage(ctx, cli_command_usage("service"), CLI_EXIT_USAGE);
        }
        if (optind + 1 != argc || address == NULL || port < 0)
                return cli_usage(ctx, cli_command_usage("service"), CLI_EXIT_USAGE);
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        char *path = NULL;
        int rc = synod_service_register(ctx->h, argv[optind], id, address, port, meta, &path);
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

/* Prints the difference between two listings; returns how many lines. */
static long cli_service_diff(struct cli_ctx *ctx, const struct synod_instance *old, int32_t n_old,
                             const struct synod_instance *now, int32_t n_now)
{
        long lines = 0;
        for (int32_t i = 0; i < n_now; i++) {
                if (cli_has_id(old, n_old, now[i].id))
                        continue;
                fprintf(ctx->out,
                        ctx->json ? "{\"added\":\"%s\",\"address\":\"%s\",\"port\":%d}\n"
                                  : "+ %s %s:%d\n",
                        now[i].id, now[i].address, now[i].port);
                lines++;
        }
        for (int32_t i = 0; i < n_old; i++) {
                if (cli_has_id(now, n_now, old[i].id))
                        continue;
                fprintf(ctx->out, ctx->json ? "{\"removed\":\"%s\"}\n" : "- %s\n", old[i].id);
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
                        printed += cli_service_diff(ctx, old, n_old, now, n_now);
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

int cmd_service(struct cli_ctx *ctx, int argc, char **argv)
{
        if (argc < 3)
                return cli_usage(ctx, cli_command_usage("service"), CLI_EXIT_USAGE);
        const char *sub = argv[1];
        if (strcmp(sub, "register") == 0)
                return cli_service_register(ctx, argc - 1, argv + 1);
        long count = -1;
        const char *service = argv[2];
        if (strcmp(sub, "watch") == 0 && argc == 5 && strcmp(argv[2], "-n") == 0) {
                count = strtol(argv[3], NULL, 10);
                service = argv[4];
        } else if (argc != 3) {
                return cli_usage(ctx, cli_command_usage("service"), CLI_EXIT_USAGE);
        }
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        if (strcmp(sub, "list") == 0)
                return cli_service_list(ctx, service);
        if (strcmp(sub, "watch") == 0)
                return cli_service_watch(ctx, service, count);
        if (strcmp(sub, "pick") == 0) {
                struct synod_instance it;
                int rc =
                    synod_service_pick(ctx->h, service, NULL, (uint64_t)time(NULL) ^ 0x9e37, &it);
                if (rc != SYNOD_OK)
                        return cli_fail(ctx, rc, service);
                cli_instance_print(ctx, &it, false);
                if (ctx->json)
                        fputc('\n', ctx->out);
                synod_instance_clear(&it);
                return CLI_EXIT_OK;
        }
        return cli_usage(ctx, cli_command_usage("service"), CLI_EXIT_USAGE);
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

static int cli_config_read(FILE *in, struct synod_config_entry *e, int32_t *n)
{
        char *line = malloc(CLI_CONFIG_LINE_BYTES_MAX);
        if (line == NULL)
                return CLI_EXIT_INTERNAL;
        int code = CLI_EXIT_OK;
        while (fgets(line, CLI_CONFIG_LINE_BYTES_MAX, in) != NULL) {
                line[strcspn(line, "\r\n")] = '\0';
                if (line[0] == '\0' || line[0] == '#')
                        continue;
                char *eq = strchr(line, '=');
                if (*n == CLI_CONFIG_KEYS_MAX || (line[0] == '-' ? eq != NULL : eq == NULL)) {
                        code = CLI_EXIT_USAGE;
                        break;
                }
                if (line[0] == '-') {
                        e[*n] = (struct synod_config_entry){strdup(line + 1), NULL, -1};
                } else {
                        *eq = '\0';
                        e[*n] = (struct synod_config_entry){strdup(line), strdup(eq + 1), -1};
                }
                (*n)++;
        }
        free(line);
        return code;
}

static int cli_config_apply(struct cli_ctx *ctx, int argc, char **argv)
{
        int32_t gen = -1;
        optind = 0;
        for (int c; (c = getopt(argc, argv, "g:")) != -1;) {
                if (c != 'g')
                        return cli_usage(ctx, cli_command_usage("config"), CLI_EXIT_USAGE);
                gen = atoi(optarg);
        }
        if (optind >= argc || argc - optind > 2)
                return cli_usage(ctx, cli_command_usage("config"), CLI_EXIT_USAGE);
        const char *file = optind + 1 < argc ? argv[optind + 1] : "-";
        FILE *in = strcmp(file, "-") ? fopen(file, "r") : stdin;
        if (in == NULL)
                return cli_usage(ctx, cli_command_usage("config"), CLI_EXIT_USAGE);
        struct synod_config_entry *e = calloc(CLI_CONFIG_KEYS_MAX, sizeof(*e));
        int32_t n = 0;
        int code = e ? cli_config_read(in, e, &n) : CLI_EXIT_INTERNAL;
        if (in != stdin)
                fclose(in);
        if (code == CLI_EXIT_OK)
                code = cli_connect(ctx);
        if (code == CLI_EXIT_OK)
                code = cli_fail(ctx, synod_config_apply(ctx->h, argv[optind], e, n, gen),
                                argv[optind]);
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
        if (argc < 3)
                return cli_usage(ctx, cli_command_usage("config"), CLI_EXIT_USAGE);
        if (strcmp(argv[1], "apply") == 0)
                return cli_config_apply(ctx, argc - 1, argv + 1);
        long count = -1;
        const char *root = argv[2];
        if (argc == 5 && strcmp(argv[2], "-n") == 0) {
                count = strtol(argv[3], NULL, 10);
                root = argv[4];
        } else if (argc != 3) {
                return cli_usage(ctx, cli_command_usage("config"), CLI_EXIT_USAGE);
        }
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        if (strcmp(argv[1], "watch") == 0)
                return cli_config_watch(ctx, root, count);
        if (strcmp(argv[1], "get") != 0)
                return cli_usage(ctx, cli_command_usage("config"), CLI_EXIT_USAGE);
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
        int timeout_ms = -1;
        optind = 0;
        for (int c; (c = getopt(argc, argv, "t:")) != -1;) {
                if (c != 't')
                        return cli_usage(ctx, cli_command_usage("barrier"), CLI_EXIT_USAGE);
                timeout_ms = atoi(optarg);
        }
        int left = argc - optind;
        char **a = argv + optind;
        bool dbl = left == 4 && (strcmp(a[0], "enter") == 0 || strcmp(a[0], "leave") == 0);
        if (left != 2 && !dbl)
                return cli_usage(ctx, cli_command_usage("barrier"), CLI_EXIT_USAGE);
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        int rc;
        if (strcmp(a[0], "set") == 0 && left == 2)
                rc = synod_barrier_set(ctx->h, a[1]);
        else if (strcmp(a[0], "remove") == 0 && left == 2)
                rc = synod_barrier_remove(ctx->h, a[1]);
        else if (strcmp(a[0], "wait") == 0 && left == 2)
                rc = synod_barrier_wait(ctx->h, a[1], timeout_ms);
        else if (dbl && strcmp(a[0], "enter") == 0)
                rc = synod_double_barrier_enter(ctx->h, a[1], a[2], atoi(a[3]), timeout_ms);
        else if (dbl)
                rc = synod_double_barrier_leave(ctx->h, a[1], a[2], timeout_ms);
        else
                return cli_usage(ctx, cli_command_usage("barrier"), CLI_EXIT_USAGE);
        return cli_fail(ctx, rc, a[1]);
}

int cmd_counter(struct cli_ctx *ctx, int argc, char **argv)
{
        if (argc < 3 || argc > 4 || (strcmp(argv[1], "get") == 0 && argc != 3))
                return cli_usage(ctx, cli_command_usage("counter"), CLI_EXIT_USAGE);
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        int64_t v = 0;
        int rc;
        if (strcmp(argv[1], "add") == 0)
                rc = synod_counter_add(ctx->h, argv[2], argc == 4 ? strtoll(argv[3], NULL, 10) : 1,
                                       &v);
        else if (strcmp(argv[1], "get") == 0)
                rc = synod_counter_add(ctx->h, argv[2], 0, &v);
        else
                return cli_usage(ctx, cli_command_usage("counter"), CLI_EXIT_USAGE);
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
        long count = -1;
        int i = 2;
        if (argc >= 4 && strcmp(argv[2], "-n") == 0) {
                count = strtol(argv[3], NULL, 10);
                i = 4;
        }
        bool run = argc >= 2 && strcmp(argv[1], "run") == 0 && argc - i == 3;
        bool members = argc == 3 && strcmp(argv[1], "members") == 0;
        if (!run && !members)
                return cli_usage(ctx, cli_command_usage("group"), CLI_EXIT_USAGE);
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        if (run)
                return cli_group_run(ctx, argv[i], argv[i + 1], argv[i + 2], count);
        char **m;
        int32_t n;
        int rc = synod_group_members(ctx->h, argv[2], &m, &n, NULL, NULL);
        for (int32_t k = 0; rc == SYNOD_OK && k < n; k++)
                fprintf(ctx->out, "%s\n", m[k]);
        synod_strings_free(m, n);
        return cli_fail(ctx, rc, argv[2]);
}
