/*
 * The stream inside a synod snapshot file: the Raft configuration in effect at the
 * snapshot's index, then the tree (tree_snap).
 *
 *   8 bytes  magic "SYNMEMB1"
 *   u32      length of the configuration (big-endian, <= RAFT_CONFIG_ENCODED_BYTES_MAX)
 *   ...      raft_config_encode bytes
 *   ...      the tree snapshot stream
 *
 * The configuration must travel with the snapshot: once the log before it is compacted,
 * the snapshot is the only record of who the members were (after runtime membership
 * changes they differ from the configuration file). A stream without the magic is a
 * tree alone, written before the prefix existed; its configuration is the file's.
 */
#ifndef SYN_REPLICA_SNAPSTREAM_H
#define SYN_REPLICA_SNAPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft/raft.h"

#define SNAPSTREAM_MAGIC       "SYNMEMB1"
#define SNAPSTREAM_MAGIC_BYTES 8

/* Writes the prefix for configuration c through write(arg, p, n) (a non-zero return stops
 * and is returned). Returns 0, that error, or SYN_ETOOBIG (cannot happen for a valid c). */
int snapstream_write_config(const struct raft_config *c,
                            int (*write)(void *arg, const void *p, size_t n), void *arg);

/*
 * Splits a stream (hostile bytes, borrowed): *has_config and *config from the prefix (false
 * and untouched for a stream without one), *tree / *tree_len the tree part (borrowed from
 * bytes). Returns 0, or SYN_ECORRUPT for a prefix that is truncated or does not decode.
 */
int snapstream_split(const uint8_t *bytes, size_t len, struct raft_config *config, bool *has_config,
                     const uint8_t **tree, size_t *tree_len);

#endif
