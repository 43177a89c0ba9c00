#include "base/base64.h"

static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t syn_base64_encode(const uint8_t *in, size_t len, char *out, size_t out_size)
{
        if (out_size < syn_base64_size(len))
                return 0;
        size_t o = 0;
        for (size_t i = 0; i < len; i += 3) {
                uint32_t v = (uint32_t)in[i] << 16;
                if (i + 1 < len)
                        v |= (uint32_t)in[i + 1] << 8;
                if (i + 2 < len)
                        v |= in[i + 2];
                out[o++] = digits[(v >> 18) & 63];
                out[o++] = digits[(v >> 12) & 63];
                out[o++] = i + 1 < len ? digits[(v >> 6) & 63] : '=';
                out[o++] = i + 2 < len ? digits[v & 63] : '=';
        }
        out[o] = '\0';
        return o;
}
