/*
 * Path syntax, as ZooKeeper's PathUtils.validatePath checks it: absolute, no
 * empty component, no "." or ".." component, no trailing '/' (except the root,
 * or a sequential create, which is checked as if "1" followed), and no
 * forbidden characters. Java checks UTF-16 units, so we decode UTF-8 strictly
 * and reject: U+0000..U+001F, U+007F..U+009F, U+D800..U+F8FF, U+FFF0..U+FFFF and
 * every supplementary character (a surrogate pair in Java). Malformed UTF-8
 * decodes to U+FFFD in Java, which is rejected too.
 */
#include <stdint.h>

#include "base/limits.h"
#include "tree/tree_int.h"

/* Decodes one code point at p[*i]; returns it or -1 if malformed. */
static int32_t path_utf8_next(const uint8_t *p, size_t len, size_t *i)
{
        uint8_t c = p[*i];
        if (c < 0x80) {
                *i += 1;
                return c;
        }
        int extra;
        int32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
                extra = 1;
                cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
                extra = 2;
                cp = c & 0x0f;
        } else {
                return -1; /* continuation byte, overlong lead, or a 4-byte sequence */
        }
        if (*i + (size_t)extra >= len)
                return -1;
        for (int k = 1; k <= extra; k++) {
                uint8_t cc = p[*i + (size_t)k];
                if ((cc & 0xc0) != 0x80)
                        return -1;
                cp = cp << 6 | (cc & 0x3f);
        }
        if (extra == 2 && cp < 0x800)
                return -1; /* overlong */
        *i += (size_t)extra + 1;
        return cp;
}

static bool path_cp_forbidden(int32_t cp)
{
        return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0xd800 && cp <= 0xf8ff) ||
               cp >= 0xfff0;
}

static bool path_chars_ok(const char *p, size_t len)
{
        const uint8_t *u = (const uint8_t *)p;
        for (size_t i = 0; i < len;) {
                if (u[i] == '/')
                        return false;
                int32_t cp = path_utf8_next(u, len, &i);
                if (cp < 0 || path_cp_forbidden(cp))
                        return false;
        }
        return true;
}

/* Checks one component (bytes between slashes). */
static bool path_component_ok(const char *p, size_t len)
{
        if (len == 0)
                return false;
        if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
                return false;
        return path_chars_ok(p, len);
}

int tree_name_validate(const char *p, size_t len)
{
        return path_component_ok(p, len) ? ZOK : ZBADARGUMENTS;
}

int tree_path_validate(const char *p, size_t len, bool sequential)
{
        if (len == 0 || len > ZK_PATH_BYTES_MAX || p[0] != '/')
                return ZBADARGUMENTS;
        if (len == 1)
                return ZOK;
        size_t start = 1;
        for (size_t i = 1; i <= len; i++) {
                if (i < len && p[i] != '/')
                        continue;
                size_t n = i - start;
                /* A sequential create appends digits to the last name: it may be
                 * empty ("/dir/") or "." / "..", but its characters must be valid. */
                bool ok = i == len && sequential ? path_chars_ok(p + start, n)
                                                 : path_component_ok(p + start, n);
                if (!ok)
                        return ZBADARGUMENTS;
                start = i + 1;
        }
        return ZOK;
}

size_t tree_parent_len(const char *p, size_t len)
{
        size_t i = len;
        while (i > 0 && p[i - 1] != '/')
                i--;
        /* i is just past the last '/'; the parent is everything before it, or "/" */
        return i <= 1 ? 1 : i - 1;
}
