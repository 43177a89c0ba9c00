/*
 * TLS over memory buffers (OpenSSL). The socket code (conn.c for clients, peer.c for peer
 * links) keeps reading and writing with libuv as for plain TCP; this module only turns
 * the ciphertext it read into plaintext and the plaintext it queued into ciphertext. Each
 * session's SSL object has two memory BIOs and never sees a socket, so a handshake is a
 * series of these calls between reads and never blocks the loop.
 *
 * A context (struct net_tls_ctx) is one SSL_CTX built from ZooKeeper-style settings
 * (net_tls_config): a PEM key store (private key and certificate chain in one file), a
 * PEM trust store (the CA certificates the other end's chain must lead to), whether a
 * client certificate is required, the protocol versions and cipher suites. A session
 * (struct net_tls) is one connection's SSL state, as server or as client.
 *
 * Ownership: net_tls_ctx_new returns a context owned by the caller (net_tls_ctx_free);
 * sessions hold a reference to their context (OpenSSL's own count), so a context may be
 * freed while sessions made from it still exist. net_tls_new returns a session owned by
 * the caller (net_tls_free). Writers passed in are borrowed for the call. Everything runs
 * on the loop thread.
 */
#ifndef SYN_NET_TLS_H
#define SYN_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* Plaintext bytes in one TLS record: ciphertext is produced this much at a time. */
#define NET_TLS_RECORD_BYTES 16384
/* Most a record adds to its plaintext (header, explicit IV, MAC or tag, CBC padding). */
#define NET_TLS_RECORD_OVERHEAD_BYTES_MAX 512
/* Plaintext one read can yield beyond the ciphertext read: a record begun in an earlier
 * read and completed by this one. Input buffers of TLS connections have this much more. */
#define NET_TLS_INPUT_SLACK_BYTES (NET_TLS_RECORD_BYTES + NET_TLS_RECORD_OVERHEAD_BYTES_MAX)
/* Ciphertext that `plain` bytes of plaintext can become. */
#define NET_TLS_WIRE_BYTES_MAX(plain)                                                              \
        ((plain) + ((plain) / NET_TLS_RECORD_BYTES + 1) * NET_TLS_RECORD_OVERHEAD_BYTES_MAX)
/* Longest reason a failed handshake is logged with. */
#define NET_TLS_REASON_BYTES 256

/* ZooKeeper's ssl.clientAuth. */
enum net_tls_client_auth {
        NET_TLS_CLIENT_AUTH_NEED, /* a client without a valid certificate is refused */
        NET_TLS_CLIENT_AUTH_WANT, /* a certificate is asked for; if sent it must be valid */
        NET_TLS_CLIENT_AUTH_NONE, /* no certificate is asked for */
};

/* The settings of one context; every string borrowed for net_tls_ctx_new. */
struct net_tls_config {
        const char *key_prefix;     /* "ssl." or "ssl.quorum.": errors name the keys */
        const char *key_store;      /* PEM file: private key and certificate chain */
        const char *key_store_type; /* "" or "PEM" (case-insensitive) */
        const char *trust_store;    /* PEM file of CA certificates */
        const char *trust_store_type;
        const char *client_auth;       /* "need", "want" or "none" (server side only) */
        const char *protocol;          /* highest version: "TLSv1.3" or "TLSv1.2" */
        const char *enabled_protocols; /* "" or a comma list of versions */
        const char *ciphersuites;      /* "" or a comma list of IANA names (as in Java) */
};

struct net_tls_ctx;
struct net_tls;

/*
 * Builds a context for the server side (`server`: accepts; a client certificate as
 * client_auth says) or the client side (dials; presents the key store's certificate, and
 * checks the server's against the trust store). Returns 0, SYN_ECONFIG with `error`
 * naming the key and the reason (unreadable file, key not matching the certificate,
 * unknown version or suite), or SYN_ENOMEM.
 */
int net_tls_ctx_new(const struct net_tls_config *config, bool server, struct net_tls_ctx **out,
                    char *error, size_t error_size);
void net_tls_ctx_free(struct net_tls_ctx *ctx);

/* A session of `ctx`, as its side; NULL if out of memory. */
struct net_tls *net_tls_new(struct net_tls_ctx *ctx);
void net_tls_free(struct net_tls *t);

/*
 * Takes `len` bytes of ciphertext read from the socket (len 0: only advances the
 * handshake, which is how a client side sends its hello) and appends the plaintext they
 * complete to `plain`. Returns 0, or SYN_EPROTO when the handshake or a record failed:
 * `reason` then says why (the certificate check's result, or the alert or error), and
 * the connection must be closed. Output the handshake needs is then waiting for
 * net_tls_output, even on failure (an alert).
 */
int net_tls_input(struct net_tls *t, const uint8_t *data, size_t len, struct syn_writer *plain,
                  char *reason, size_t reason_size);

/*
 * Moves what may be sent to `wire`: handshake messages, then (once the handshake is done)
 * `plain` encrypted, taken from its front record by record while `wire` stays within its
 * cap_max; what does not fit stays in `plain`. Returns 0 or SYN_ENOMEM.
 */
int net_tls_output(struct net_tls *t, struct syn_writer *plain, struct syn_writer *wire);

/* True while ciphertext is waiting for net_tls_output (handshake messages, an alert). */
bool net_tls_has_output(const struct net_tls *t);

/* True once the handshake is complete. */
bool net_tls_established(const struct net_tls *t);

/* Queues a close_notify alert (sent by the next net_tls_output), once; after it no
 * plaintext can be sent. */
void net_tls_shutdown(struct net_tls *t);

/* The other end's certificate subject (for logs), "" if none; NUL-terminated in `out`. */
void net_tls_peer_subject(const struct net_tls *t, char *out, size_t size);

#endif
