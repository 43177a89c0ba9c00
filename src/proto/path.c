/*
 * Znode path validation: ZooKeeper's PathUtils.validatePath, over UTF-8.
 *
 * Java validates the String that jute decoded from UTF-8, char by char
 * (UTF-16 code units). We walk the bytes instead and decode UTF-8 strictly:
 * input Java would decode to U+FFFD (ill-formed, overlong, surrogates) or to a
 * surrogate pair (code points above U+FFFF) contains a forbidden char in
 * Java's view, so it is invalid here too. '/' and '.' are single bytes in
 * UTF-8, so the component rules can look at neighbouring bytes directly.
 * A sequential create is validated as path + "1" (Java does exactly that), so
 * "/a/" is accepted then; the "1" is virtual, nothing is copied.
 */
#include "base/limits.h"
#include "base/zk_types.h"
#include "proto/zk_records.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct path_view {
        const uint8_t *p;
        size_t len; /* including the virtual '1' of a sequential path */
        size_t real_len;
};

static int path_at(const struct path_view *v, size_t i)
{
        if (i >= v->len)
                return -1;
        return i < v->real_len ? v->p[i] : '1';
}

/* Java's forbidden chars (PathUtils): controls, C1, surrogates + private use, specials. */
static bool path_char_forbidden(uint32_t c)
{
        return c <= 0x1f || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) ||
               (c >= 0xfff0 && c <= 0xffff) || c > 0xffff;
}

/*
 * Decodes one UTF-8 sequence at *i (advancing it). Returns the code point, or
 * UINT32_MAX for ill-formed input (which Java would turn into U+FFFD).
 */
static uint32_t path_decode_utf8(const struct path_view *v, size_t *i)
{
        int b0 = path_at(v, *i);
        (*i)++;
        if (b0 < 0x80)
                return (uint32_t)b0;
        int extra;
        uint32_t cp;
        int lo = 0x80, hi = 0xbf; /* allowed range of the first continuation byte */
        if (b0 >= 0xc2 && b0 <= 0xdf) {
                extra = 1;
                cp = (uint32_t)b0 & 0x1f;
        } else if (b0 >= 0xe0 && b0 <= 0xef) {
                extra = 2;
                cp = (uint32_t)b0 & 0x0f;
                if (b0 == 0xe0)
                        lo = 0xa0; /* no overlongs */
                if (b0 == 0xed)
                        hi = 0x9f; /* no encoded surrogates */
        } else {
                /* C0/C1 overlongs, stray continuations, and 4-byte sequences (above
                 * U+FFFF, a surrogate pair in Java: forbidden either way). */
                return UINT32_MAX;
        }
        for (int k = 0; k < extra; k++) {
                int b = path_at(v, *i);
                if (b < lo || b > hi)
                        return UINT32_MAX;
                (*i)++;
                cp = cp << 6 | ((uint32_t)b & 0x3f);
                lo = 0x80;
                hi = 0xbf;
        }
        return cp;
}

/* Java's "." / ".." component check at byte i (a '.'). */
static bool path_dot_component(const struct path_view *v, size_t i)
{
        int next = path_at(v, i + 1);
        bool ends = next == -1 || next == '/';
        if (!ends)
                return false;
        if (path_at(v, i - 1) == '/')
                return true;                                                   /* "/." */
        return path_at(v, i - 1) == '.' && i >= 2 && path_at(v, i - 2) == '/'; /* "/.." */
}

int zk_path_validate(const uint8_t *path, int32_t len, bool sequential)
{
        if (len < 0 || len > ZK_PATH_BYTES_MAX || (len > 0 && path == NULL))
                return ZBADARGUMENTS;
        struct path_view v = {path, (size_t)len + (sequential ? 1 : 0), (size_t)len};
        if (v.len == 0 || path_at(&v, 0) != '/')
                return ZBADARGUMENTS;
        if (v.len == 1)
                return ZOK; /* the root */
        if (path_at(&v, v.len - 1) == '/')
                return ZBADARGUMENTS;
        size_t i = 1;
        int last = '/';
        while (i < v.len) {
                int c = path_at(&v, i);
                if (c == '/' && last == '/')
                        return ZBADARGUMENTS; /* empty component */
                if (c == '.' && path_dot_component(&v, i))
                        return ZBADARGUMENTS; /* relative component */
                if (c == '/' || c == '.') {
                        last = c;
                        i++;
                        continue;
                }
                uint32_t cp = path_decode_utf8(&v, &i);
                if (cp == UINT32_MAX || path_char_forbidden(cp))
                        return ZBADARGUMENTS;
                last = c; /* only compared with '/' and '.', so the lead byte will do */
        }
        return ZOK;
}
