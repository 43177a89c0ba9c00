/*
 * Length-prefixed framing: see frame.h. The reader never trusts the length:
 * it is checked for sign and against the caller's maximum before anything
 * waits for that many bytes, so a hostile peer cannot make a connection buffer
 * grow beyond one maximal frame.
 */
#include "proto/frame.h"

#include "base/assert.h"
#include "base/err.h"
#include "base/limits.h"

#include <string.h>

static bool is_ascii_letter(uint8_t c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool zk_frame_is_fourlw(const uint8_t p[4])
{
        for (int i = 0; i < 4; i++) {
                if (!is_ascii_letter(p[i]))
                        return false;
        }
        return true;
}

void zk_frame_parse(const uint8_t *buf, size_t len, bool fresh, size_t frame_bytes_max,
                    struct zk_frame *out)
{
        SYN_ASSERT(buf != NULL || len == 0);
        SYN_ASSERT(frame_bytes_max < (size_t)ZK_FOURLW_VALUE_MIN);
        memset(out, 0, sizeof *out);
        out->kind = ZK_FRAME_NEED_MORE;
        if (len < 4)
                return;
        if (fresh && zk_frame_is_fourlw(buf)) {
                out->kind = ZK_FRAME_FOURLW;
                memcpy(out->word, buf, 4);
                out->word[4] = '\0';
                out->consumed = 4;
                return;
        }
        int32_t n = (int32_t)syn_get_be32(buf);
        if (n < 0 || (size_t)n > frame_bytes_max) {
                out->kind = ZK_FRAME_BAD_LENGTH;
                out->bad_length = n;
                return;
        }
        if (len - 4 < (size_t)n)
                return;
        out->kind = ZK_FRAME_READY;
        out->payload = buf + 4;
        out->payload_len = (size_t)n;
        out->consumed = 4 + (size_t)n;
}

size_t zk_frame_begin(struct syn_writer *w)
{
        size_t start = w->len;
        syn_write_be32(w, 0);
        return start;
}

void zk_frame_abort(struct syn_writer *w, size_t start)
{
        SYN_ASSERT(start <= w->len);
        w->len = start;
}

int zk_frame_end(struct syn_writer *w, size_t start, size_t payload_bytes_max)
{
        if (w->failed)
                return SYN_ENOMEM;
        SYN_ASSERT(start + 4 <= w->len);
        size_t payload = w->len - start - 4;
        if (payload > payload_bytes_max || payload > INT32_MAX) {
                zk_frame_abort(w, start);
                return SYN_ETOOBIG;
        }
        syn_writer_patch_be32(w, start, (uint32_t)payload);
        return SYN_OK;
}
