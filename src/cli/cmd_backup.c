/*
 * `synod backup FILE`: a consistent snapshot of a running server, saved to FILE
 * (etcdctl snapshot save). It is ZooKeeper 3.9's admin command `snapshot`, asked of
 * the server's admin port over HTTP (libcurl), so it works while the server keeps
 * serving (src/server/backup.c). The body is written to FILE.part, verified with
 * the snapshot reader (every chunk CRC, the trailer), made durable and renamed to
 * FILE: a FILE that exists was received whole and checks out.
 *
 * The admin address: --admin HOST:PORT, else $SYNOD_ADMIN, else the first server of
 * the connect string, at the admin.serverPort its `conf` reports (8080, ZooKeeper's
 * default, if it does not answer). Credentials: --auth digest:USER:PASSWORD becomes
 * the Authorization header ZooKeeper's AdminServer takes.
 */
#include "cli/cli.h"
#include "cli/progress.h"

#include "base/err.h"
#include "base/limits.h"
#include "client/client.h"
#include "storage/storage.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Longest admin address or URL we build, bytes. */
#define BACKUP_URL_BYTES_MAX 1024
/* Most bytes of an error body kept for the message. */
#define BACKUP_ERROR_BYTES_MAX 1024

struct admin_addr {
        char host[CLIENT_HOST_BYTES_MAX + 1];
        int port;
        char command_url[ADMIN_URL_BYTES_MAX];
};

/* The admin address from --admin / $SYNOD_ADMIN ("HOST:PORT"), or from the server. */
static int admin_address(struct cli_ctx *ctx, const char *given, struct admin_addr *a)
{
        snprintf(a->command_url, sizeof a->command_url, "/commands");
        if (given != NULL) {
                struct cl_server srv;
                if (strchr(given, ':') == NULL ||
                    cl_parse_server(given, strlen(given), &srv) != SYN_OK)
                        return cli_error(ctx, CLI_EXIT_USAGE,
                                         "backup: --admin wants HOST:PORT (port 1 to 65535), "
                                         "not '%s'",
                                         given);
                snprintf(a->host, sizeof a->host, "%s", srv.host);
                a->port = srv.port;
                return CLI_EXIT_OK;
        }
        struct cl_connstr cs;
        if (cl_connstr_parse(ctx->servers, &cs) != SYN_OK)
                return cli_error(ctx, CLI_EXIT_USAGE, "backup: bad connect string '%s' (%s)",
                                 ctx->servers, ctx->servers_from);
        snprintf(a->host, sizeof a->host, "%s", cs.servers[0].host);
        a->port = CLI_ADMIN_PORT_DEFAULT;
        char *conf = cli_four_letter(&cs.servers[0], "conf");
        char v[ADMIN_URL_BYTES_MAX];
        if (cli_field(conf, "admin.enableServer=", v, sizeof v) && strcmp(v, "false") == 0) {
                free(conf);
                return cli_error(ctx, CLI_EXIT_CONNECT,
                                 "backup: the admin server of %s:%d is off "
                                 "(admin.enableServer=false): turn it on, or give --admin "
                                 "HOST:PORT of another server",
                                 cs.servers[0].host, cs.servers[0].port);
        }
        if (cli_field(conf, "admin.serverPort=", v, sizeof v))
                a->port = atoi(v);
        if (cli_field(conf, "admin.commandURL=", v, sizeof v) && v[0] == '/')
                snprintf(a->command_url, sizeof a->command_url, "%s", v);
        /* A server bound to one address is reached there; a wildcard one where its
         * clients reach it. */
        if (cli_field(conf, "admin.serverAddress=", v, sizeof v) && strcmp(v, "0.0.0.0") != 0 &&
            strcmp(v, "::") != 0 && v[0] != '\0')
                snprintf(a->host, sizeof a->host, "%s", v);
        free(conf);
        return CLI_EXIT_OK;
}

struct transfer {
        struct cli_ctx *ctx;
        FILE *out;
        long status; /* the HTTP status, once known */
        char error[BACKUP_ERROR_BYTES_MAX];
        size_t error_len;
        uint64_t received;
        struct cli_progress progress;
        CURL *curl;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
        struct transfer *t = arg;
        size_t len = size * n;
        if (t->status == 0)
                curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
        if (t->status != 200) { /* an error's JSON: keep its start for the message */
                size_t room = sizeof t->error - 1 - t->error_len;
                size_t k = len < room ? len : room;
                memcpy(t->error + t->error_len, p, k);
                t->error_len += k;
                t->error[t->error_len] = '\0';
                return len;
        }
        if (fwrite(p, 1, len, t->out) != len)
                return 0; /* curl reports CURLE_WRITE_ERROR */
        t->received += len;
        return len;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
        (void)ultotal;
        (void)ulnow;
        struct transfer *t = arg;
        if (t->status == 200 || t->status == 0)
                cli_progress_update(&t->progress, (uint64_t)dlnow,
                                    dltotal > 0 ? (uint64_t)dltotal : 0);
        return cli_interrupted() ? 1 : 0;
}

/* The "error" string of the admin server's JSON answer, else the body itself. */
static const char *error_text(struct transfer *t)
{
        char *p = strstr(t->error, "\"error\"");
        char *q = p ? strchr(p + 7, '"') : NULL;
        char *end = q ? strchr(q + 1, '"') : NULL;
        if (end == NULL)
                return t->error_len > 0 ? t->error : "no reason given";
        *end = '\0';
        return q + 1;
}

/* "Authorization: digest user:password" from --auth digest:user:password. */
static int auth_header(struct cli_ctx *ctx, struct curl_slist **headers)
{
        if (ctx->auth == NULL)
                return CLI_EXIT_OK;
        if (strncmp(ctx->auth, "digest:", 7) != 0)
                return cli_error(ctx, CLI_EXIT_USAGE,
                                 "backup: the admin server takes digest credentials: "
                                 "--auth digest:USER:PASSWORD");
        char h[BACKUP_URL_BYTES_MAX];
        snprintf(h, sizeof h, "Authorization: digest %s", ctx->auth + 7);
        struct curl_slist *l = curl_slist_append(NULL, h);
        if (l == NULL)
                return cli_error(ctx, CLI_EXIT_INTERNAL, "backup: out of memory");
        *headers = l;
        return CLI_EXIT_OK;
}

/* Runs the GET into t->out. CLI_EXIT_OK when a 200 body arrived whole. */
static int fetch(struct cli_ctx *ctx, const struct admin_addr *a, struct transfer *t)
{
        char url[BACKUP_URL_BYTES_MAX];
        bool v6 = strchr(a->host, ':') != NULL;
        snprintf(url, sizeof url, "http://%s%s%s:%d%s/snapshot?streaming=true", v6 ? "[" : "",
                 a->host, v6 ? "]" : "", a->port, a->command_url);
        struct curl_slist *headers = NULL;
        int code = auth_header(ctx, &headers);
        if (code != CLI_EXIT_OK)
                return code;
        t->curl = curl_easy_init();
        if (t->curl == NULL) {
                curl_slist_free_all(headers);
                return cli_error(ctx, CLI_EXIT_INTERNAL, "backup: cannot start libcurl");
        }
        curl_easy_setopt(t->curl, CURLOPT_URL, url);
        curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(t->curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(t->curl, CURLOPT_WRITEDATA, t);
        curl_easy_setopt(t->curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(t->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(t->curl, CURLOPT_XFERINFODATA, t);
        curl_easy_setopt(t->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)ctx->connect_timeout_ms);
        curl_easy_setopt(t->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(t->curl, CURLOPT_LOW_SPEED_TIME, (long)(CLI_BACKUP_STALL_MS / 1000));
        curl_easy_setopt(t->curl, CURLOPT_NOSIGNAL, 1L);
        CURLcode rc = curl_easy_perform(t->curl);
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
        curl_easy_cleanup(t->curl);
        curl_slist_free_all(headers);
        cli_progress_end(&t->progress);
        if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
                return cli_error(ctx, CLI_EXIT_CONNECT,
                                 "backup: no admin server at %s:%d (%s) - is the server running "
                                 "with admin.enableServer=true? Give its admin address with "
                                 "--admin HOST:PORT",
                                 a->host, a->port, curl_easy_strerror(rc));
        if (rc == CURLE_ABORTED_BY_CALLBACK)
                return cli_error(ctx, CLI_EXIT_CONNECT, "backup: interrupted");
        if (rc != CURLE_OK)
                return cli_error(ctx, CLI_EXIT_CONNECT, "backup: %s:%d: %s", a->host, a->port,
                                 curl_easy_strerror(rc));
        if (t->status != 200)
                return cli_error(ctx, t->status == 404 ? CLI_EXIT_CONNECT : CLI_EXIT_ZK_ERROR,
                                 "backup: the admin server at %s:%d refused (HTTP %ld): %s",
                                 a->host, a->port, t->status, error_text(t));
        return CLI_EXIT_OK;
}

/* Verifies the received file; fills index/term. */
static int verify(struct cli_ctx *ctx, const char *part, uint64_t *index, uint64_t *term)
{
        struct snapfile_reader r;
        int rc = snapfile_reader_open_file(&r, NULL, part);
        if (rc != SYN_OK)
                return cli_error(ctx, CLI_EXIT_DAMAGED,
                                 "backup: what the server sent is not a whole snapshot (%s); "
                                 "nothing was saved",
                                 syn_strerror(rc));
        *index = r.info.index;
        *term = r.info.term;
        snapfile_reader_close(&r);
        return CLI_EXIT_OK;
}

int cmd_backup(struct cli_ctx *ctx, int argc, char **argv)
{
        static const struct option longs[] = {{"admin", required_argument, NULL, 'a'},
                                              {0, 0, 0, 0}};
        const char *admin = getenv("SYNOD_ADMIN");
        for (int c; (c = getopt_long(argc, argv, ":", longs, NULL)) != -1;) {
                if (c != 'a')
                        return cli_bad_option(ctx, c, argv);
                admin = optarg;
        }
        if (argc - optind != 1) {
                cli_error(ctx, CLI_EXIT_USAGE, "backup: %s",
                          argc - optind < 1 ? "missing FILE" : "too many arguments; expected FILE");
                return cli_usage(ctx, cli_command_usage("backup"), CLI_EXIT_USAGE);
        }
        const char *file = argv[optind];
        struct admin_addr a;
        int code = admin_address(ctx, admin != NULL && admin[0] != '\0' ? admin : NULL, &a);
        if (code != CLI_EXIT_OK)
                return code;
        char part[BACKUP_URL_BYTES_MAX];
        if ((size_t)snprintf(part, sizeof part, "%s.part", file) >= sizeof part)
                return cli_error(ctx, CLI_EXIT_USAGE, "backup: FILE name too long");
        int fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        FILE *out = fd >= 0 ? fdopen(fd, "wb") : NULL;
        if (out == NULL) {
                int e = errno;
                if (fd >= 0)
                        close(fd);
                return cli_error(ctx, CLI_EXIT_USAGE, "backup: %s: %s", part, strerror(e));
        }
        struct transfer t = {.ctx = ctx, .out = out};
        cli_progress_begin(&t.progress, ctx->err, ctx->json, "backup", true, NULL);
        curl_global_init(CURL_GLOBAL_DEFAULT);
        code = fetch(ctx, &a, &t);
        curl_global_cleanup();
        bool written = fflush(out) == 0 && fsync(fileno(out)) == 0;
        int werr = errno;
        fclose(out);
        if (code == CLI_EXIT_OK && !written)
                code = cli_error(ctx, CLI_EXIT_INTERNAL, "backup: writing %s: %s", part,
                                 strerror(werr));
        uint64_t index = 0, term = 0;
        if (code == CLI_EXIT_OK)
                code = verify(ctx, part, &index, &term);
        if (code == CLI_EXIT_OK && rename(part, file) != 0)
                code = cli_error(ctx, CLI_EXIT_INTERNAL, "backup: renaming %s to %s: %s", part,
                                 file, strerror(errno));
        if (code != CLI_EXIT_OK) {
                unlink(part);
                return code;
        }
        cli_sync_parent_dir(file);
        if (ctx->json) {
                fputs("{\"file\":", ctx->out);
                cli_json_string(ctx->out, file);
                fprintf(ctx->out, ",\"zxid\":%llu,\"term\":%llu,\"bytes\":%llu}\n",
                        (unsigned long long)index, (unsigned long long)term,
                        (unsigned long long)t.received);
        } else {
                fprintf(ctx->out, "saved %s: zxid 0x%llx, %llu bytes\n", file,
                        (unsigned long long)index, (unsigned long long)t.received);
        }
        return CLI_EXIT_OK;
}

void cli_sync_parent_dir(const char *path)
{
        char dir[BACKUP_URL_BYTES_MAX];
        const char *slash = strrchr(path, '/');
        if (slash == NULL)
                snprintf(dir, sizeof dir, ".");
        else
                snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
                fsync(fd);
                close(fd);
        }
}
