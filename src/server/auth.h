/*
 * Authentication helpers of the server: ZooKeeper's digest scheme.
 * Pure functions (SHA-1 from OpenSSL's libcrypto), unit-tested alone.
 */
#ifndef SYN_SERVER_AUTH_H
#define SYN_SERVER_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"

/* Longest digest identity "user:base64(sha1)" kept for a connection, bytes with NUL. */
#define SRV_DIGEST_ID_BYTES (ZK_AUTH_BYTES_MAX + 32)

/*
 * The digest identity of the cleartext auth bytes "user:password" (borrowed for
 * the call): "user:" + base64(sha1("user:password")), NUL-terminated into out.
 * Text without a ':' is all user name, as in ZooKeeper: "text:" + base64(sha1("text")).
 * Returns 0, or SYN_ETOOBIG if out is too small.
 */
int srv_digest_identity(const uint8_t *auth, size_t len, char *out, size_t out_size);

#endif
