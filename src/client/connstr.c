/*
 * Connect strings and chroot paths.
 *
 * A connect string is the ZooKeeper one: comma-separated host[:port] items
 * and an optional chroot after the first '/', which applies to every server
 * ("a:1,b:2/app"). IPv6 hosts are bracketed ("[::1]:2181"). Everything is
 * parsed into fixed-size fields bounded by base/limits.h, so a connect string
 * from the command line or the environment cannot make us allocate.
 */
#include "client/client.h"

#include "base/err.h"
#include "base/zk_path.h"
#include "proto/zk_records.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CL_PORT_DEFAULT 2181
#define CL_PORT_MAX     65535
/* How much of a malformed item an error message quotes. */
#define CL_SHOWN_BYTES_MAX 64

/* Writes the reason for a malformed connect string, if the caller wants one. */
static int cl_bad(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int cl_bad(char *why, size_t why_len, const char *fmt, ...)
{
        if (why != NULL && why_len > 0) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(why, why_len, fmt, ap);
                va_end(ap);
        }
        return SYN_EINVAL;
}

int cl_parse_port(const char *p, size_t n, int *port)
{
        if (n == 0 || n > 5)
                return SYN_EINVAL;
        int v = 0;
        for (size_t i = 0; i < n; i++) {
                if (p[i] < '0' || p[i] > '9')
                        return SYN_EINVAL;
                v = v * 10 + (p[i] - '0');
        }
        if (v < 1 || v > CL_PORT_MAX)
                return SYN_EINVAL;
        *port = v;
        return SYN_OK;
}

static int cl_parse_server_why(const char *p, size_t n, struct cl_server *out, char *why,
                               size_t why_len)
{
        const char *host = p;
        size_t host_len;
        const char *rest;
        int shown = n > CL_SHOWN_BYTES_MAX ? CL_SHOWN_BYTES_MAX : (int)n;
        if (n > 0 && p[0] == '[') {
                const char *close = memchr(p, ']', n);
                if (close == NULL)
                        return cl_bad(why, why_len, "'%.*s' lacks the ']' of its IPv6 address",
                                      shown, p);
                host = p + 1;
                host_len = (size_t)(close - host);
                rest = close + 1;
        } else {
                const char *colon = memchr(p, ':', n);
                host_len = colon ? (size_t)(colon - p) : n;
                rest = p + host_len;
        }
        size_t rest_len = n - (size_t)(rest - p);
        if (n == 0)
                return cl_bad(why, why_len, "a server is empty (',,' or a ',' first)");
        if (host_len == 0)
                return cl_bad(why, why_len, "'%.*s' has no host", shown, p);
        if (host_len > CLIENT_HOST_BYTES_MAX)
                return cl_bad(why, why_len, "a host name is longer than %d bytes",
                              CLIENT_HOST_BYTES_MAX);
        memcpy(out->host, host, host_len);
        out->host[host_len] = '\0';
        out->port = CL_PORT_DEFAULT;
        if (rest_len == 0)
                return SYN_OK;
        if (rest[0] != ':')
                return cl_bad(why, why_len, "'%.*s': expected ':PORT' after ']'", shown, p);
        if (cl_parse_port(rest + 1, rest_len - 1, &out->port) == SYN_OK)
                return SYN_OK;
        int port_shown =
            (int)(rest_len - 1 > CL_SHOWN_BYTES_MAX ? CL_SHOWN_BYTES_MAX : rest_len - 1);
        if (rest_len > 1 && strspn(rest + 1, "0123456789") >= rest_len - 1)
                return cl_bad(why, why_len, "port %.*s of '%.*s' is out of range (1..%d)",
                              port_shown, rest + 1, shown, p, CL_PORT_MAX);
        return cl_bad(why, why_len, "port '%.*s' of '%.*s' is not a number", port_shown, rest + 1,
                      shown, p);
}

int cl_parse_server(const char *p, size_t n, struct cl_server *out)
{
        return cl_parse_server_why(p, n, out, NULL, 0);
}

static int cl_parse_chroot(const char *p, struct cl_connstr *out, char *why, size_t why_len)
{
        size_t n = strlen(p);
        while (n > 1 && p[n - 1] == '/')
                n--; /* "/app/" means "/app"; "/" means no chroot */
        if (n == 1)
                return SYN_OK;
        if (n > ZK_PATH_BYTES_MAX || zk_path_validate((const uint8_t *)p, n, false) != ZOK)
                return cl_bad(why, why_len, "chroot '%.*s' is not a valid path",
                              (int)(n > CL_SHOWN_BYTES_MAX ? CL_SHOWN_BYTES_MAX : n), p);
        memcpy(out->chroot, p, n);
        out->chroot[n] = '\0';
        return SYN_OK;
}

int cl_connstr_parse_why(const char *s, struct cl_connstr *out, char *why, size_t why_len)
{
        memset(out, 0, sizeof(*out));
        if (s == NULL || s[0] == '\0')
                return cl_bad(why, why_len, "it is empty");
        /* The chroot starts at the first '/' outside brackets. */
        const char *end = s;
        bool in_bracket = false;
        for (; *end != '\0'; end++) {
                if (*end == '[')
                        in_bracket = true;
                else if (*end == ']')
                        in_bracket = false;
                else if (*end == '/' && !in_bracket)
                        break;
        }
        const char *p = s;
        while (p < end) {
                const char *comma = memchr(p, ',', (size_t)(end - p));
                const char *item_end = comma ? comma : end;
                if (out->count == CLIENT_SERVERS_MAX)
                        return cl_bad(why, why_len, "more than %d servers", CLIENT_SERVERS_MAX);
                int rc = cl_parse_server_why(p, (size_t)(item_end - p), &out->servers[out->count],
                                             why, why_len);
                if (rc != SYN_OK)
                        return rc;
                out->count++;
                p = comma ? comma + 1 : end;
                if (comma && p == end)
                        return cl_bad(why, why_len, "it ends with a ','");
        }
        if (out->count == 0)
                return cl_bad(why, why_len, "it names no server before the chroot");
        return *end == '/' ? cl_parse_chroot(end, out, why, why_len) : SYN_OK;
}

int cl_connstr_parse(const char *s, struct cl_connstr *out)
{
        return cl_connstr_parse_why(s, out, NULL, 0);
}

char *cl_path_join(const char *chroot, const char *path)
{
        size_t c = strlen(chroot), n = strlen(path);
        if (c > 0 && strcmp(path, "/") == 0)
                n = 0;
        char *s = malloc(c + n + 1);
        if (s == NULL)
                return NULL;
        memcpy(s, chroot, c);
        memcpy(s + c, path, n);
        s[c + n] = '\0';
        return s;
}

const char *cl_path_strip(const char *chroot, const char *server_path)
{
        size_t c = strlen(chroot);
        if (c == 0 || strncmp(server_path, chroot, c) != 0)
                return server_path;
        if (server_path[c] == '\0')
                return "/";
        return server_path[c] == '/' ? server_path + c : server_path;
}
