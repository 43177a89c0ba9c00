/*
 * JSON for --json: output that is always valid JSON (node data that is not UTF-8 text
 * goes out as base64, and says so), and a strict checker for the JSON a user passes in
 * (service --metadata), so that what a registry stores stays valid JSON for every
 * reader.
 */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/limits.h"
#include "base/utf8.h"

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0 if it is not one. */
static size_t cli_utf8_len(const unsigned char *s, size_t n)
{
        uint32_t cp;
        return syn_utf8_decode(s, n, &cp);
}

static void cli_json_text(FILE *f, const unsigned char *s, size_t n)
{
        fputc('"', f);
        for (size_t i = 0; i < n;) {
                unsigned char c = s[i];
                size_t len = cli_utf8_len(s + i, n - i);
                if (len == 0) {
                        fputs("\\ufffd", f);
                        i++;
                        continue;
                }
                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c == '\n')
                        fputs("\\n", f);
                else if (c == '\t')
                        fputs("\\t", f);
                else if (c < 0x20 || c == 0x7f)
                        fprintf(f, "\\u%04x", c);
                else
                        fwrite(s + i, 1, len, f);
                i += len;
        }
        fputc('"', f);
}

void cli_json_string(FILE *f, const char *s)
{
        if (s == NULL)
                fputs("null", f);
        else
                cli_json_text(f, (const unsigned char *)s, strlen(s));
}

/* UTF-8 text without NUL: what a JSON string carries unchanged for every reader. */
static bool cli_is_text(const unsigned char *s, size_t n)
{
        for (size_t i = 0; i < n;) {
                size_t len = cli_utf8_len(s + i, n - i);
                if (len == 0 || s[i] == '\0')
                        return false;
                i += len;
        }
        return true;
}

/* s as a JSON string of its base64 (out of memory: null, which says nothing false). */
static void cli_base64(FILE *f, const unsigned char *s, size_t n)
{
        size_t size = syn_base64_size(n);
        char *text = malloc(size);
        if (text == NULL || syn_base64_encode(s, n, text, size) != size - 1) {
                fputs("null", f);
        } else {
                fputc('"', f);
                fwrite(text, 1, size - 1, f);
                fputc('"', f);
        }
        free(text);
}

void cli_json_data(FILE *f, const char *data, int32_t len)
{
        const unsigned char *s = (const unsigned char *)data;
        if (data == NULL || len < 0) {
                fputs("\"data\":null,\"encoding\":\"utf-8\"", f);
        } else if (cli_is_text(s, (size_t)len)) {
                fputs("\"data\":", f);
                cli_json_text(f, s, (size_t)len);
                fputs(",\"encoding\":\"utf-8\"", f);
        } else {
                fputs("\"data\":", f);
                cli_base64(f, s, (size_t)len);
                fputs(",\"encoding\":\"base64\"", f);
        }
}

void cli_json_stat(FILE *f, const struct synod_stat *st)
{
        fprintf(f,
                "{\"czxid\":%lld,\"mzxid\":%lld,\"ctime\":%lld,\"mtime\":%lld,\"version\":%d,"
                "\"cversion\":%d,\"aversion\":%d,\"ephemeralOwner\":%lld,\"dataLength\":%d,"
                "\"numChildren\":%d,\"pzxid\":%lld}",
                (long long)st->czxid, (long long)st->mzxid, (long long)st->ctime_ms,
                (long long)st->mtime_ms, st->version, st->cversion, st->aversion,
                (long long)st->ephemeral_owner, st->data_length, st->num_children,
                (long long)st->pzxid);
}

static const char *cli_json_num(const char *p);

void cli_json_number(FILE *f, const char *text)
{
        const char *end = text != NULL ? cli_json_num(text) : NULL;
        bool hex = text != NULL && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
        if (hex) {
                char *stop;
                unsigned long long v = strtoull(text + 2, &stop, 16);
                if (text[2] != '\0' && *stop == '\0') {
                        fprintf(f, "%llu", v);
                        return;
                }
        }
        if (end != NULL && *end == '\0' && !hex)
                fputs(text, f);
        else
                fputs("null", f);
}

/* ---- checking JSON (RFC 8259) ---- */

static const char *cli_json_value(const char *p, int depth);

static const char *cli_json_ws(const char *p)
{
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
                p++;
        return p;
}

static bool cli_is_hex(char c)
{
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Each checker takes p at the start of its token and returns the end, or NULL. */
static const char *cli_json_str(const char *p)
{
        if (*p++ != '"')
                return NULL;
        while (*p != '"') {
                const unsigned char *u = (const unsigned char *)p;
                if (*u < 0x20)
                        return NULL; /* also the end of the text */
                if (*p == '\\') {
                        p++;
                        if (*p == 'u') {
                                for (int i = 1; i <= 4; i++)
                                        if (!cli_is_hex(p[i]))
                                                return NULL;
                                p += 5;
                        } else if (*p != '\0' && strchr("\"\\/bfnrt", *p) != NULL) {
                                p++;
                        } else {
                                return NULL;
                        }
                        continue;
                }
                size_t len = cli_utf8_len(u, strnlen(p, 4));
                if (len == 0)
                        return NULL;
                p += len;
        }
        return p + 1;
}

static const char *cli_json_digits(const char *p)
{
        if (*p < '0' || *p > '9')
                return NULL;
        while (*p >= '0' && *p <= '9')
                p++;
        return p;
}

static const char *cli_json_num(const char *p)
{
        if (*p == '-')
                p++;
        if (*p == '0')
                p++;
        else if ((p = cli_json_digits(p)) == NULL)
                return NULL;
        if (*p == '.' && (p = cli_json_digits(p + 1)) == NULL)
                return NULL;
        if (*p == 'e' || *p == 'E') {
                p++;
                if (*p == '+' || *p == '-')
                        p++;
                p = cli_json_digits(p);
        }
        return p;
}

/* An object (close '}') or an array (close ']') after its opening bracket. */
static const char *cli_json_members(const char *p, char close, int depth)
{
        p = cli_json_ws(p);
        if (*p == close)
                return p + 1;
        for (;;) {
                if (close == '}') {
                        p = cli_json_str(p);
                        if (p == NULL)
                                return NULL;
                        p = cli_json_ws(p);
                        if (*p++ != ':')
                                return NULL;
                }
                p = cli_json_value(p, depth + 1);
                if (p == NULL)
                        return NULL;
                p = cli_json_ws(p);
                if (*p == close)
                        return p + 1;
                if (*p++ != ',')
                        return NULL;
                p = cli_json_ws(p);
        }
}

static const char *cli_json_value(const char *p, int depth)
{
        if (depth > CLI_JSON_DEPTH_MAX)
                return NULL;
        p = cli_json_ws(p);
        switch (*p) {
        case '{':
                return cli_json_members(p + 1, '}', depth);
        case '[':
                return cli_json_members(p + 1, ']', depth);
        case '"':
                return cli_json_str(p);
        case 't':
                return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
        case 'f':
                return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
        case 'n':
                return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
        default:
                return cli_json_num(p);
        }
}

static bool cli_json_valid(const char *s)
{
        const char *end = cli_json_value(s, 0);
        return end != NULL && *cli_json_ws(end) == '\0';
}

bool cli_json_is_object(const char *s)
{
        return cli_json_valid(s) && *cli_json_ws(s) == '{';
}
