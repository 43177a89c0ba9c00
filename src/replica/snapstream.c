/* The snapshot stream's configuration prefix (snapstream.h). */
#include "replica/snapstream.h"

#include <string.h>

#include "base/buf.h"
#include "base/err.h"

int snapstream_write_config(const struct raft_config *c,
                            int (*write)(void *arg, const void *p, size_t n), void *arg)
{
        uint8_t buf[SNAPSTREAM_MAGIC_BYTES + 4 + RAFT_CONFIG_ENCODED_BYTES_MAX];
        int n =
            raft_config_encode(c, buf + SNAPSTREAM_MAGIC_BYTES + 4, RAFT_CONFIG_ENCODED_BYTES_MAX);
        if (n < 0)
                return n;
        memcpy(buf, SNAPSTREAM_MAGIC, SNAPSTREAM_MAGIC_BYTES);
        syn_put_be32(buf + SNAPSTREAM_MAGIC_BYTES, (uint32_t)n);
        return write(arg, buf, SNAPSTREAM_MAGIC_BYTES + 4 + (size_t)n);
}

int snapstream_split(const uint8_t *bytes, size_t len, struct raft_config *config, bool *has_config,
                     const uint8_t **tree, size_t *tree_len)
{
        *has_config = false;
        *tree = bytes;
        *tree_len = len;
        if (len < SNAPSTREAM_MAGIC_BYTES || memcmp(bytes, SNAPSTREAM_MAGIC, SNAPSTREAM_MAGIC_BYTES))
                return 0;
        if (len < SNAPSTREAM_MAGIC_BYTES + 4)
                return SYN_ECORRUPT;
        uint32_t n = syn_get_be32(bytes + SNAPSTREAM_MAGIC_BYTES);
        size_t start = SNAPSTREAM_MAGIC_BYTES + 4;
        if (n > RAFT_CONFIG_ENCODED_BYTES_MAX || n > len - start)
                return SYN_ECORRUPT;
        if (raft_config_decode(config, bytes + start, n) != 0)
                return SYN_ECORRUPT;
        *has_config = true;
        *tree = bytes + start + n;
        *tree_len = len - start - n;
        return 0;
}
