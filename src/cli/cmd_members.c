/*
 * `synod members`: the servers of the cluster as /zookeeper/config lists them, and
 * changing them with ZooKeeper's reconfig (synod_get_config, synod_reconfig), so the
 * same commands work against synod and ZooKeeper 3.8.
 *
 * list puts the configured membership next to what each server says it is doing
 * (Mode and Zxid from srvr on its client address, the probe of `synod status`): a
 * server listed but not following is what an operator watches for during a change.
 * add and remove are one incremental reconfig each and print the membership the
 * servers answered with, without probing: a server just added may not serve yet.
 */
#include "cli/cli.h"

#include "base/limits.h"
#include "base/zk_types.h"

#include "client/client.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct cli_member {
        int64_t id;
        char role[16];                          /* participant | observer */
        char peer[CLI_MEMBER_LINE_BYTES_MAX];   /* host:peerPort[:electionPort] */
        char client[CLI_MEMBER_LINE_BYTES_MAX]; /* [host:]port as listed; "" if none */
        struct cl_server probe;                 /* where srvr is asked; port 0 = nowhere */
        char mode[32], zxid[32];                /* from srvr; "" if not asked or no answer */
};

struct cli_membership {
        struct cli_member *m; /* CLI_MEMBERS_MAX of them */
        int count;
        char version[32]; /* the version= value, hex as listed; "" if none */
};

/* "host:peerPort[:electionPort][:participant|observer]" (s is cut in place). */
static bool cli_member_server(char *s, struct cli_member *m)
{
        char *role = strrchr(s, ':');
        bool has_role = role != NULL &&
                        (strcmp(role + 1, "participant") == 0 || strcmp(role + 1, "observer") == 0);
        snprintf(m->role, sizeof(m->role), "%s", has_role ? role + 1 : "participant");
        if (has_role)
                *role = '\0';
        snprintf(m->peer, sizeof(m->peer), "%s", s);
        char *after_host = s[0] == '[' ? strchr(s, ']') : s; /* IPv6 hosts are bracketed */
        char *peer_port = after_host != NULL ? strchr(after_host, ':') : NULL;
        char *election = peer_port != NULL ? strchr(peer_port + 1, ':') : NULL;
        int port;
        if (election != NULL) {
                if (cl_parse_port(election + 1, strlen(election + 1), &port) != 0)
                        return false;
                *election = '\0';
        }
        /* host:peerPort is a connect-string item, with the port mandatory. */
        return peer_port != NULL && cl_parse_server(s, strlen(s), &m->probe) == 0;
}

/* "[clientHost:]clientPort"; an absent or unspecified host (0.0.0.0: every interface)
 * is probed at the peer host already in m->probe. */
static bool cli_member_client(const char *s, struct cli_member *m)
{
        snprintf(m->client, sizeof(m->client), "%s", s);
        if (strchr(s, ':') == NULL)
                return cl_parse_port(s, strlen(s), &m->probe.port) == 0;
        struct cl_server c;
        if (cl_parse_server(s, strlen(s), &c) != 0)
                return false;
        m->probe.port = c.port;
        if (strcmp(c.host, "0.0.0.0") != 0 && strcmp(c.host, "::") != 0)
                memcpy(m->probe.host, c.host, sizeof(c.host));
        return true;
}

/* One "server.N=spec" line of len bytes (not NUL-terminated) into m. */
static bool cli_member_parse(const char *line, size_t len, struct cli_member *m)
{
        static const char prefix[] = "server.";
        const size_t prefix_len = sizeof(prefix) - 1;
        char buf[CLI_MEMBER_LINE_BYTES_MAX];
        if (len >= sizeof(buf) || len <= prefix_len || memcmp(line, prefix, prefix_len) != 0)
                return false;
        memcpy(buf, line, len);
        buf[len] = '\0';
        char *id = buf + prefix_len;
        size_t digits = strspn(id, "0123456789");
        if (digits == 0 || digits > 18 || id[digits] != '=')
                return false;
        memset(m, 0, sizeof(*m));
        m->id = strtoll(id, NULL, 10);
        char *spec = id + digits + 1;
        char *client = strchr(spec, ';');
        if (client != NULL)
                *client++ = '\0';
        if (!cli_member_server(spec, m))
                return false;
        if (client == NULL) {
                m->probe.port = 0; /* no client address: nothing to ask */
                return true;
        }
        return cli_member_client(client, m);
}

static int cli_member_cmp(const void *a, const void *b)
{
        int64_t x = ((const struct cli_member *)a)->id, y = ((const struct cli_member *)b)->id;
        return (x > y) - (x < y);
}

/* The membership text: server lines and version=, other lines (weights, groups) skipped.
 * False (and a message) if a server line does not parse or there are too many. */
static bool cli_members_parse(struct cli_ctx *ctx, const char *text, struct cli_membership *ms)
{
        ms->count = 0;
        ms->version[0] = '\0';
        for (const char *p = text; *p != '\0';) {
                size_t len = strcspn(p, "\r\n");
                if (strncmp(p, "version=", 8) == 0 && len - 8 < sizeof(ms->version)) {
                        memcpy(ms->version, p + 8, len - 8);
                        ms->version[len - 8] = '\0';
                }
                if (strncmp(p, "server.", 7) == 0 &&
                    (ms->count == CLI_MEMBERS_MAX ||
                     !cli_member_parse(p, len, &ms->m[ms->count++]))) {
                        cli_error(ctx, CLI_EXIT_ZK_ERROR, "members: cannot read '%.*s' of %s",
                                  (int)len, p, ZK_CONFIG_NODE);
                        return false;
                }
                p += len;
                p += strspn(p, "\r\n");
        }
        qsort(ms->m, (size_t)ms->count, sizeof(*ms->m), cli_member_cmp);
        return true;
}

static void cli_members_probe(struct cli_membership *ms)
{
        for (int i = 0; i < ms->count; i++) {
                struct cli_member *m = &ms->m[i];
                char *srvr = m->probe.port != 0 ? cli_four_letter(&m->probe, "srvr") : NULL;
                cli_field(srvr, "Mode:", m->mode, sizeof(m->mode));
                cli_field(srvr, "Zxid:", m->zxid, sizeof(m->zxid));
                free(srvr);
        }
}

static void cli_json_or_null(FILE *f, const char *s)
{
        cli_json_string(f, s[0] != '\0' ? s : NULL);
}

static void cli_members_print(struct cli_ctx *ctx, const struct cli_membership *ms)
{
        if (ctx->json) {
                fputs("{\"version\":", ctx->out);
                cli_json_or_null(ctx->out, ms->version);
                fputs(",\"servers\":[", ctx->out);
        } else {
                fprintf(ctx->out, "# version %s\n%-4s %-12s %-28s %-22s %-10s %s\n",
                        ms->version[0] ? ms->version : "-", "ID", "ROLE", "PEER", "CLIENT", "MODE",
                        "ZXID");
        }
        for (int i = 0; i < ms->count; i++) {
                const struct cli_member *m = &ms->m[i];
                if (!ctx->json) {
                        fprintf(ctx->out, "%-4" PRId64 " %-12s %-28s %-22s %-10s %s\n", m->id,
                                m->role, m->peer, m->client[0] ? m->client : "-",
                                m->mode[0] ? m->mode : "-", m->zxid[0] ? m->zxid : "-");
                        continue;
                }
                fprintf(ctx->out, "%s{\"id\":%" PRId64 ",\"role\":\"%s\",\"peer\":", i ? "," : "",
                        m->id, m->role);
                cli_json_string(ctx->out, m->peer);
                fputs(",\"client\":", ctx->out);
                cli_json_or_null(ctx->out, m->client);
                fputs(",\"mode\":", ctx->out);
                cli_json_or_null(ctx->out, m->mode);
                fputs(",\"zxid\":", ctx->out);
                cli_json_number(ctx->out, m->zxid[0] != '\0' ? m->zxid : NULL);
                fputc('}', ctx->out);
        }
        if (ctx->json)
                fputs("]}\n", ctx->out);
}

/* Parses and prints a membership text (probing each server first if live). */
static int cli_members_show(struct cli_ctx *ctx, const char *text, bool live)
{
        struct cli_membership ms = {calloc(CLI_MEMBERS_MAX, sizeof(struct cli_member)), 0, ""};
        if (ms.m == NULL)
                return CLI_EXIT_INTERNAL;
        int code = CLI_EXIT_OK;
        if (!cli_members_parse(ctx, text, &ms)) {
                code = CLI_EXIT_ZK_ERROR;
        } else if (ms.count == 0) {
                code = cli_error(ctx, CLI_EXIT_ZK_ERROR,
                                 "members: %s lists no server (a standalone server has no "
                                 "membership)",
                                 ZK_CONFIG_NODE);
        } else {
                if (live)
                        cli_members_probe(&ms);
                cli_members_print(ctx, &ms);
        }
        free(ms.m);
        return code;
}

/* A clearer word than the error's name for what commonly goes wrong in a reconfig. */
static int cli_members_fail(struct cli_ctx *ctx, int rc, const char *what)
{
        const char *hint = NULL;
        switch (rc) {
        case SYNOD_ERECONFIGDISABLED:
                hint = "the servers refuse reconfig: set reconfigEnabled=true in their zoo.cfg";
                break;
        case SYNOD_ENOAUTH:
                hint = "changing the membership needs the super user: --auth digest:super:PASSWORD";
                break;
        case SYNOD_EBADVERSION:
                hint = "the membership changed since that version (synod members list)";
                break;
        case SYNOD_ENEWCONFIGNOQUORUM:
                hint = "the new membership cannot form a quorum: start joining servers first";
                break;
        case SYNOD_ERECONFIGINPROGRESS:
                hint = "another membership change is not finished yet: retry shortly";
                break;
        case SYNOD_EUNIMPLEMENTED:
                hint = "a standalone server has no membership to change";
                break;
        case SYNOD_EBADARGUMENTS:
                hint = "the servers refused the change: a malformed server line, or an id that "
                       "is not a member";
                break;
        default:
                break;
        }
        return cli_fail_hint(ctx, rc, what, hint);
}

static int cli_members_list(struct cli_ctx *ctx, int argc)
{
        if (argc != 2)
                return cli_error(ctx, CLI_EXIT_USAGE, "members list takes no argument");
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        char *text = NULL;
        int rc = synod_get_config(ctx->h, &text, NULL, NULL, NULL, NULL);
        if (rc != SYNOD_OK)
                return cli_members_fail(ctx, rc, "members list");
        code = cli_members_show(ctx, text, true);
        free(text);
        return code;
}

/*
 * The reconfig list of add (server lines, "server." prefixed if the argument is
 * "ID=...") or remove (ids), comma-separated into out (cap bytes). False (and a
 * message) if an argument is malformed.
 */
static bool cli_members_list_of(struct cli_ctx *ctx, bool add, int argc, char **argv, char *out,
                                size_t cap)
{
        size_t len = 0;
        out[0] = '\0';
        for (int i = 0; i < argc; i++) {
                const char *a = argv[i];
                const char *prefix = add && strncmp(a, "server.", 7) != 0 ? "server." : "";
                struct cli_member m;
                char line[CLI_MEMBER_LINE_BYTES_MAX];
                int n = snprintf(line, sizeof(line), "%s%s", prefix, a);
                bool ok = n > 0 && (size_t)n < sizeof(line) &&
                          (add ? cli_member_parse(line, (size_t)n, &m)
                               : a[0] != '\0' && strspn(a, "0123456789") == strlen(a));
                if (ok) {
                        n = snprintf(out + len, cap - len, "%s%s", i ? "," : "", line);
                        ok = n > 0 && (size_t)n < cap - len;
                        len += ok ? (size_t)n : 0;
                }
                if (!ok) {
                        cli_error(ctx, CLI_EXIT_USAGE, "members: bad %s '%.80s'",
                                  add ? "server (ID=HOST:PEERPORT...)" : "server id", a);
                        return false;
                }
        }
        return true;
}

/* add / remove [-c VERSION] ARGS...: one incremental reconfig. */
static int cli_members_change(struct cli_ctx *ctx, int argc, char **argv)
{
        bool add = strcmp(argv[1], "add") == 0;
        int64_t from = -1;
        int first = 2;
        if (argc > 3 && strcmp(argv[2], "-c") == 0) {
                char *end;
                from = strtoll(argv[3], &end, 16);
                if (argv[3][0] == '\0' || *end != '\0' || from < 0)
                        return cli_error(ctx, CLI_EXIT_USAGE,
                                         "members %s: -c wants the hex VERSION `members list` "
                                         "prints, not '%.80s'",
                                         argv[1], argv[3]);
                first = 4;
        }
        if (argc <= first || argc - first > CLI_MEMBERS_MAX)
                return cli_usage(ctx, cli_command_usage("members"), CLI_EXIT_USAGE);
        size_t cap = (size_t)(argc - first) * CLI_MEMBER_LINE_BYTES_MAX;
        char *list = malloc(cap);
        if (list == NULL)
                return CLI_EXIT_INTERNAL;
        int code = cli_members_list_of(ctx, add, argc - first, argv + first, list, cap)
                       ? cli_connect(ctx)
                       : CLI_EXIT_USAGE;
        char *text = NULL;
        if (code == CLI_EXIT_OK) {
                int rc = synod_reconfig(ctx->h, add ? list : NULL, add ? NULL : list, NULL, from,
                                        &text, NULL, NULL);
                code = rc == SYNOD_OK
                           ? cli_members_show(ctx, text, false)
                           : cli_members_fail(ctx, rc, add ? "members add" : "members remove");
        }
        free(text);
        free(list);
        return code;
}

int cmd_members(struct cli_ctx *ctx, int argc, char **argv)
{
        if (argc >= 2 && strcmp(argv[1], "list") == 0)
                return cli_members_list(ctx, argc);
        if (argc >= 3 && (strcmp(argv[1], "add") == 0 || strcmp(argv[1], "remove") == 0))
                return cli_members_change(ctx, argc, argv);
        return cli_bad_subcommand(ctx, argc, argv, "list, add, remove");
}
