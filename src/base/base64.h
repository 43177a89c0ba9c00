/* Standard base64 (RFC 4648, with padding): digest identities, the CLI's JSON. */
#ifndef SYN_BASE_BASE64_H
#define SYN_BASE_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Bytes syn_base64_encode writes for len input bytes, the NUL included. */
static inline size_t syn_base64_size(size_t len)
{
        return 4 * ((len + 2) / 3) + 1;
}

/* Encodes len bytes of in into out (out_size bytes; both borrowed), NUL-terminated.
 * Returns the length without the NUL, or 0 if out_size < syn_base64_size(len)
 * (nothing written then). */
size_t syn_base64_encode(const uint8_t *in, size_t len, char *out, size_t out_size);

#endif
