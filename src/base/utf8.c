#include "base/utf8.h"

size_t syn_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
        uint8_t c = s[0];
        if (c < 0x80) {
                *cp = c;
                return 1;
        }
        size_t len;
        uint32_t v;
        uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
        if (c >= 0xc2 && c <= 0xdf) {
                len = 2;
                v = c & 0x1fu;
        } else if (c >= 0xe0 && c <= 0xef) {
                len = 3;
                v = c & 0x0fu;
                lo = c == 0xe0 ? 0xa0 : lo; /* overlong */
                hi = c == 0xed ? 0x9f : hi; /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
                len = 4;
                v = c & 0x07u;
                lo = c == 0xf0 ? 0x90 : lo; /* overlong */
                hi = c == 0xf4 ? 0x8f : hi; /* past U+10FFFF */
        } else {
                return 0; /* a continuation byte, or a lead that can only be overlong */
        }
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                uint8_t b = s[i];
                if (b < lo || b > hi)
                        return 0;
                lo = 0x80;
                hi = 0xbf;
                v = v << 6 | (b & 0x3fu);
        }
        *cp = v;
        return len;
}
