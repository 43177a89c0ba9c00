/*
 * `synod status`: one row per server of the connect string, from the
 * four-letter words srvr and mntr (which ZooKeeper answers too). Each word is
 * one short TCP exchange: send 4 bytes, read until the server closes. The
 * latency column is the srvr round trip as seen from here. `synod members list`
 * asks srvr of every member the same way (cli_four_letter, cli_field).
 */
#include "cli/cli.h"

#include "base/limits.h"

#include "client/client.h"

#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t cli_mono_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *cli_four_letter(const struct cl_server *srv, const char *word)
{
        char port[8];
        snprintf(port, sizeof(port), "%d", srv->port);
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        struct addrinfo *ai = NULL;
        if (getaddrinfo(srv->host, port, &hints, &ai) != 0 || ai == NULL)
                return NULL;
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct timeval tv = {CLI_4LW_TIMEOUT_MS / 1000, 0};
        if (fd >= 0) {
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        }
        bool ok = fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
                  send(fd, word, 4, MSG_NOSIGNAL) == 4;
        freeaddrinfo(ai);
        char *buf = ok ? malloc(CLI_4LW_BYTES_MAX + 1) : NULL;
        size_t len = 0;
        while (buf != NULL && len < CLI_4LW_BYTES_MAX) {
                ssize_t n = recv(fd, buf + len, CLI_4LW_BYTES_MAX - len, 0);
                if (n <= 0)
                        break;
                len += (size_t)n;
        }
        if (fd >= 0)
                close(fd);
        if (buf)
                buf[len] = '\0';
        return buf;
}

bool cli_field(const char *text, const char *key, char *out, size_t out_len)
{
        const char *p = text ? strstr(text, key) : NULL;
        if (p == NULL)
                return false;
        p += strlen(key);
        while (*p == ' ' || *p == '\t')
                p++;
        size_t n = strcspn(p, "\r\n");
        if (n >= out_len)
                n = out_len - 1;
        memcpy(out, p, n);
        out[n] = '\0';
        return true;
}

struct cli_row {
        char server[CLIENT_HOST_BYTES_MAX + 8];
        char role[32], zxid[32], conns[16], sessions[16], outstanding[16], latency[48];
        double rtt_ms;
        const char *health;
};

static void cli_status_probe(const struct cl_server *srv, struct cli_row *r)
{
        memset(r, 0, sizeof(*r));
        snprintf(r->server, sizeof(r->server), "%s:%d", srv->host, srv->port);
        int64_t t0 = cli_mono_us();
        char *srvr = cli_four_letter(srv, "srvr");
        r->rtt_ms = (double)(cli_mono_us() - t0) / 1000.0;
        char *mntr = srvr ? cli_four_letter(srv, "mntr") : NULL;
        const char *dash = "-";
        snprintf(r->role, sizeof(r->role), "%s", dash);
        snprintf(r->zxid, sizeof(r->zxid), "%s", dash);
        snprintf(r->conns, sizeof(r->conns), "%s", dash);
        snprintf(r->sessions, sizeof(r->sessions), "%s", dash);
        snprintf(r->outstanding, sizeof(r->outstanding), "%s", dash);
        snprintf(r->latency, sizeof(r->latency), "%s", dash);
        bool serving = cli_field(srvr, "Mode:", r->role, sizeof(r->role));
        cli_field(srvr, "Zxid:", r->zxid, sizeof(r->zxid));
        cli_field(srvr, "Connections:", r->conns, sizeof(r->conns));
        cli_field(srvr, "Outstanding:", r->outstanding, sizeof(r->outstanding));
        cli_field(srvr, "Latency min/avg/max:", r->latency, sizeof(r->latency));
        cli_field(mntr, "zk_global_sessions", r->sessions, sizeof(r->sessions));
        r->health = srvr == NULL ? "down" : (serving ? "ok" : "not-serving");
        free(srvr);
        free(mntr);
}

static void cli_status_print(struct cli_ctx *ctx, const struct cli_row *r, int i)
{
        if (ctx->json) {
                char lat[3][16] = {"-", "-", "-"}; /* "min/avg/max" */
                sscanf(r->latency, "%15[^/]/%15[^/]/%15s", lat[0], lat[1], lat[2]);
                fprintf(ctx->out, "%s{\"server\":", i ? "," : "");
                cli_json_string(ctx->out, r->server);
                fputs(",\"role\":", ctx->out);
                cli_json_string(ctx->out, strcmp(r->role, "-") ? r->role : NULL);
                fputs(",\"zxid\":", ctx->out);
                cli_json_number(ctx->out, r->zxid);
                fputs(",\"connections\":", ctx->out);
                cli_json_number(ctx->out, r->conns);
                fputs(",\"sessions\":", ctx->out);
                cli_json_number(ctx->out, r->sessions);
                fputs(",\"outstanding\":", ctx->out);
                cli_json_number(ctx->out, r->outstanding);
                fputs(",\"latency_min_ms\":", ctx->out);
                cli_json_number(ctx->out, lat[0]);
                fputs(",\"latency_avg_ms\":", ctx->out);
                cli_json_number(ctx->out, lat[1]);
                fputs(",\"latency_max_ms\":", ctx->out);
                cli_json_number(ctx->out, lat[2]);
                fprintf(ctx->out, ",\"rtt_ms\":%.3f,\"health\":\"%s\"}", r->rtt_ms, r->health);
                return;
        }
        fprintf(ctx->out, "%-22s %-11s %-14s %6s %8s %6s %-16s %8.2f  %s\n", r->server, r->role,
                r->zxid, r->conns, r->sessions, r->outstanding, r->latency, r->rtt_ms, r->health);
}

int cmd_status(struct cli_ctx *ctx, int argc, char **argv)
{
        if (argc != 1)
                return cli_error(ctx, CLI_EXIT_USAGE, "status takes no argument, not '%.80s'",
                                 argv[1]);
        struct cl_connstr *cs = malloc(sizeof(*cs));
        if (cs == NULL)
                return CLI_EXIT_INTERNAL;
        char why[256];
        if (cl_connstr_parse_why(ctx->servers, cs, why, sizeof(why)) != 0) {
                free(cs);
                return cli_error(ctx, CLI_EXIT_USAGE, "bad connect string '%.80s' (from %s): %s",
                                 ctx->servers, ctx->servers_from, why);
        }
        if (ctx->json)
                fputc('[', ctx->out);
        else
                fprintf(ctx->out, "%-22s %-11s %-14s %6s %8s %6s %-16s %8s  %s\n", "SERVER", "ROLE",
                        "ZXID", "CONNS", "SESSIONS", "OUTST", "LAT min/avg/max", "RTT_MS",
                        "HEALTH");
        int up = 0;
        for (int i = 0; i < cs->count; i++) {
                struct cli_row r;
                cli_status_probe(&cs->servers[i], &r);
                cli_status_print(ctx, &r, i);
                up += strcmp(r.health, "ok") == 0;
        }
        if (ctx->json)
                fputs("]\n", ctx->out);
        int code = up > 0 ? CLI_EXIT_OK : CLI_EXIT_CONNECT;
        free(cs);
        return code;
}
