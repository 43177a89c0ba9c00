#include "base/zk_path.h"

#include "base/limits.h"
#include "base/utf8.h"
#include "base/zk_types.h"

static bool char_forbidden(uint32_t cp)
{
        return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0xd800 && cp <= 0xf8ff) ||
               cp >= 0xfff0;
}

static bool chars_ok(const uint8_t *p, size_t len)
{
        for (size_t i = 0; i < len;) {
                uint32_t cp;
                size_t n = syn_utf8_decode(p + i, len - i, &cp);
                if (n == 0 || cp == '/' || char_forbidden(cp))
                        return false;
                i += n;
        }
        return true;
}

static bool name_ok(const uint8_t *p, size_t len)
{
        if (len == 0)
                return false;
        if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
                return false;
        return chars_ok(p, len);
}

int zk_name_validate(const uint8_t *name, size_t len)
{
        return name_ok(name, len) ? ZOK : ZBADARGUMENTS;
}

int zk_path_validate(const uint8_t *path, size_t len, bool sequential)
{
        if (len == 0 || len > ZK_PATH_BYTES_MAX || path == NULL || path[0] != '/')
                return ZBADARGUMENTS;
        if (len == 1)
                return ZOK; /* the root */
        size_t start = 1;
        for (size_t i = 1; i <= len; i++) {
                if (i < len && path[i] != '/')
                        continue;
                /* A sequential create appends digits to the last name, so that one may
                 * be empty, "." or "..": only its characters are checked. */
                bool ok = i == len && sequential ? chars_ok(path + start, i - start)
                                                 : name_ok(path + start, i - start);
                if (!ok)
                        return ZBADARGUMENTS;
                start = i + 1;
        }
        return ZOK;
}
