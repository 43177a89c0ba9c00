/*
 * Every limit of synod, with its unit, default and reason (SQLite's sqliteLimit.h).
 *
 * A limit that is tunable at run time is a row in the server's config table
 * (min, max, default) and shows in mntr; the constant here is its default.
 * Relations between limits are checked with _Static_assert at the end.
 *
 * Each module adds its limits in its own section; keep names prefixed with the
 * module and suffixed with the unit.
 */
#ifndef SYN_BASE_LIMITS_H
#define SYN_BASE_LIMITS_H

/* ---- proto: the ZooKeeper wire ---- */

/* Largest client packet, bytes: ZooKeeper's jute.maxbuffer default (0xfffff). */
#define ZK_FRAME_BYTES_MAX (1024 * 1024 - 1)
/* Longest path accepted, bytes. ZooKeeper has no explicit cap; the frame bounds it. */
#define ZK_PATH_BYTES_MAX (64 * 1024)
/* Most ACL entries in one ACL list: more is hostile, not useful. */
#define ZK_ACL_COUNT_MAX 1024
/* Most operations in one multi / multiRead. */
#define ZK_MULTI_OPS_MAX 16384
/* Most paths in one SetWatches packet (the Java client chunks at 128 KiB). */
#define ZK_SETWATCHES_PATHS_MAX 65536
/* Auth bytes in one AuthPacket. */
#define ZK_AUTH_BYTES_MAX 4096
/* Session password length: the C client parses exactly this many bytes. */
#define ZK_PASSWD_BYTES 16

/* ---- raft ---- */

/* ---- storage ---- */

/* ---- tree / session ---- */

/* ---- watch ---- */

/* ---- net / server ---- */

/* ---- relations ---- */
_Static_assert(ZK_PATH_BYTES_MAX < ZK_FRAME_BYTES_MAX, "a path must fit in a frame");

#endif
