/*
 * TLS sessions over memory BIOs (net/tls.h). Ciphertext read from the socket is written
 * into the session's read BIO; SSL_do_handshake and SSL_read consume it; what OpenSSL
 * wants sent collects in the write BIO and is moved out by net_tls_output. Memory BIOs
 * never block, so every call returns at once with what it could do.
 */
#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"

struct net_tls_ctx {
        SSL_CTX *ssl_ctx;
        bool server;
};

struct net_tls {
        SSL *ssl;
        BIO *rbio; /* owned by ssl (SSL_set_bio); ciphertext read from the socket */
        BIO *wbio; /* owned by ssl; ciphertext to send */
};

static const struct {
        const char *name;
        int version;
} tls_versions[] = {
    {"TLSv1.2", TLS1_2_VERSION},
    {"TLSv1.3", TLS1_3_VERSION},
};

#define TLS_VERSION_COUNT (sizeof tls_versions / sizeof tls_versions[0])

/* Longest cipher-suite list a context is given (ssl.ciphersuites converted). */
#define TLS_CIPHER_LIST_BYTES 2048
/* Longest protocol or suite name looked up. */
#define TLS_NAME_BYTES 128

/* The reason of OpenSSL's first queued error, for messages: the root cause ("No such file
 * or directory"), where later ones only say which layer gave up. Drains the queue. */
static const char *openssl_reason(void)
{
        unsigned long first = ERR_get_error();
        /* Bounded by the queue's size (OpenSSL keeps at most ERR_NUM_ERRORS). */
        while (ERR_get_error() != 0)
                continue;
        if (first != 0 && ERR_SYSTEM_ERROR(first))
                return strerror(ERR_GET_REASON(first)); /* an errno: a file we could not read */
        const char *r = first != 0 ? ERR_reason_error_string(first) : NULL;
        return r != NULL ? r : "unknown error";
}

static int version_of(const char *name)
{
        for (size_t i = 0; i < TLS_VERSION_COUNT; i++)
                if (strcmp(tls_versions[i].name, name) == 0)
                        return tls_versions[i].version;
        return 0;
}

/* Copies the next comma-separated item of *list (spaces trimmed) into `out`; false at the
 * end. Bounded by the list's length. */
static bool next_item(const char **list, char *out, size_t size)
{
        const char *p = *list;
        while (*p == ' ' || *p == ',')
                p++;
        if (*p == '\0')
                return false;
        const char *end = p;
        while (*end != '\0' && *end != ',')
                end++;
        size_t n = (size_t)(end - p);
        while (n > 0 && p[n - 1] == ' ')
                n--;
        snprintf(out, size, "%.*s", (int)n, p);
        *list = end;
        return true;
}

/* ssl.enabledProtocols, or without it ssl.protocol (and TLSv1.2 below TLSv1.3, as
 * ZooKeeper enables both when its protocol is TLSv1.3): OpenSSL takes a range. */
static int set_versions(SSL_CTX *ctx, const struct net_tls_config *c, char *error,
                        size_t error_size)
{
        const char *list = c->enabled_protocols;
        const char *key = "enabledProtocols";
        if (list[0] == '\0') {
                list = c->protocol;
                key = "protocol";
        }
        int lo = 0, hi = 0;
        char name[TLS_NAME_BYTES];
        while (next_item(&list, name, sizeof name)) {
                int v = version_of(name);
                if (v == 0) {
                        snprintf(error, error_size,
                                 "%s%s: unknown protocol '%s' (TLSv1.2 or TLSv1.3)", c->key_prefix,
                                 key, name);
                        return SYN_ECONFIG;
                }
                lo = lo == 0 || v < lo ? v : lo;
                hi = v > hi ? v : hi;
        }
        if (hi == 0) {
                snprintf(error, error_size, "%s%s is empty", c->key_prefix, key);
                return SYN_ECONFIG;
        }
        if (c->enabled_protocols[0] == '\0' && hi == TLS1_3_VERSION)
                lo = TLS1_2_VERSION;
        SSL_CTX_set_min_proto_version(ctx, lo);
        SSL_CTX_set_max_proto_version(ctx, hi);
        return 0;
}

/* Appends `name` to a ':'-separated OpenSSL list. */
static bool list_append(char *list, size_t size, const char *name)
{
        size_t len = strlen(list);
        int n = snprintf(list + len, size - len, "%s%s", len > 0 ? ":" : "", name);
        return n > 0 && (size_t)n < size - len;
}

/*
 * ssl.ciphersuites takes IANA names, as Java does. TLS 1.3 suites (no "_WITH_" in their
 * names) keep them in OpenSSL; older ones have OpenSSL names of their own.
 */
static int set_ciphers(SSL_CTX *ctx, const struct net_tls_config *c, char *error, size_t error_size)
{
        if (c->ciphersuites[0] == '\0')
                return 0;
        char tls13[TLS_CIPHER_LIST_BYTES] = "";
        char tls12[TLS_CIPHER_LIST_BYTES] = "";
        const char *list = c->ciphersuites;
        char name[TLS_NAME_BYTES];
        while (next_item(&list, name, sizeof name)) {
                bool ok;
                if (strstr(name, "_WITH_") == NULL) {
                        ok = list_append(tls13, sizeof tls13, name);
                } else {
                        const char *ossl = OPENSSL_cipher_name(name);
                        ok = strcmp(ossl, "(NONE)") != 0 && list_append(tls12, sizeof tls12, ossl);
                }
                if (!ok) {
                        snprintf(error, error_size, "%sciphersuites: unknown cipher suite '%s'",
                                 c->key_prefix, name);
                        return SYN_ECONFIG;
                }
        }
        /* An empty list for one version disables that version's suites, as Java does. */
        if (SSL_CTX_set_ciphersuites(ctx, tls13) != 1 ||
            (tls12[0] != '\0' ? SSL_CTX_set_cipher_list(ctx, tls12) != 1
                              : SSL_CTX_set_cipher_list(ctx, "-ALL") == 1)) {
                snprintf(error, error_size, "%sciphersuites: %s", c->key_prefix, openssl_reason());
                return SYN_ECONFIG;
        }
        return 0;
}

static bool pem_type(const char *type)
{
        return type[0] == '\0' || strcasecmp(type, "PEM") == 0;
}

/* A key or trust store is named and of a type we read; else the error names its keys. */
static bool store_usable(const struct net_tls_config *c, const char *store, const char *location,
                         const char *type, char *error, size_t error_size)
{
        if (location[0] == '\0') {
                snprintf(error, error_size, "%s%s.location is required", c->key_prefix, store);
                return false;
        }
        if (!pem_type(type)) {
                snprintf(error, error_size, "%s%s.type: only PEM is supported", c->key_prefix,
                         store);
                return false;
        }
        return true;
}

static int set_verify(SSL_CTX *ctx, const struct net_tls_config *c, bool server, char *error,
                      size_t error_size)
{
        int mode = SSL_VERIFY_PEER;
        if (server) {
                if (strcasecmp(c->client_auth, "need") == 0) {
                        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
                } else if (strcasecmp(c->client_auth, "none") == 0) {
                        mode = SSL_VERIFY_NONE;
                } else if (strcasecmp(c->client_auth, "want") != 0) {
                        snprintf(error, error_size, "%sclientAuth: '%s' is not need, want or none",
                                 c->key_prefix, c->client_auth);
                        return SYN_ECONFIG;
                }
        }
        if (mode == SSL_VERIFY_NONE)
                return 0;
        if (!store_usable(c, "trustStore", c->trust_store, c->trust_store_type, error, error_size))
                return SYN_ECONFIG;
        if (SSL_CTX_load_verify_locations(ctx, c->trust_store, NULL) != 1) {
                snprintf(error, error_size, "%strustStore.location: %s: %s", c->key_prefix,
                         c->trust_store, openssl_reason());
                return SYN_ECONFIG;
        }
        if (server) {
                /* Tells clients which CAs we accept, so they can pick a certificate. */
                STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(c->trust_store);
                if (names != NULL)
                        SSL_CTX_set_client_CA_list(ctx, names);
        }
        SSL_CTX_set_verify(ctx, mode, NULL);
        return 0;
}

static int set_key_store(SSL_CTX *ctx, const struct net_tls_config *c, char *error,
                         size_t error_size)
{
        if (!store_usable(c, "keyStore", c->key_store, c->key_store_type, error, error_size))
                return SYN_ECONFIG;
        /* One file holds both, as ZooKeeper's PEM key store: each reader skips the other's
         * PEM blocks. */
        if (SSL_CTX_use_certificate_chain_file(ctx, c->key_store) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, c->key_store, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
                snprintf(error, error_size, "%skeyStore.location: %s: %s", c->key_prefix,
                         c->key_store, openssl_reason());
                return SYN_ECONFIG;
        }
        return 0;
}

int net_tls_ctx_new(const struct net_tls_config *config, bool server, struct net_tls_ctx **out,
                    char *error, size_t error_size)
{
        *out = NULL;
        ERR_clear_error();
        struct net_tls_ctx *ctx = calloc(1, sizeof *ctx);
        if (ctx == NULL)
                return SYN_ENOMEM;
        ctx->server = server;
        ctx->ssl_ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
        if (ctx->ssl_ctx == NULL) {
                free(ctx);
                return SYN_ENOMEM;
        }
        /* Renegotiation would let a peer restart the handshake at will: nothing needs it.
         * Idle connections give their record buffers back. */
        SSL_CTX_set_options(ctx->ssl_ctx, SSL_OP_NO_RENEGOTIATION);
        SSL_CTX_set_mode(ctx->ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
        int rc = set_key_store(ctx->ssl_ctx, config, error, error_size);
        if (rc == 0)
                rc = set_verify(ctx->ssl_ctx, config, server, error, error_size);
        if (rc == 0)
                rc = set_versions(ctx->ssl_ctx, config, error, error_size);
        if (rc == 0)
                rc = set_ciphers(ctx->ssl_ctx, config, error, error_size);
        if (rc != 0) {
                net_tls_ctx_free(ctx);
                return rc;
        }
        *out = ctx;
        return 0;
}

void net_tls_ctx_free(struct net_tls_ctx *ctx)
{
        if (ctx == NULL)
                return;
        SSL_CTX_free(ctx->ssl_ctx);
        free(ctx);
}

struct net_tls *net_tls_new(struct net_tls_ctx *ctx)
{
        struct net_tls *t = calloc(1, sizeof *t);
        if (t == NULL)
                return NULL;
        t->ssl = SSL_new(ctx->ssl_ctx);
        t->rbio = BIO_new(BIO_s_mem());
        t->wbio = BIO_new(BIO_s_mem());
        if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
                BIO_free(t->rbio);
                BIO_free(t->wbio);
                SSL_free(t->ssl);
                free(t);
                return NULL;
        }
        /* An empty read BIO means "wait for more", not end of file. */
        BIO_set_mem_eof_return(t->rbio, -1);
        SSL_set_bio(t->ssl, t->rbio, t->wbio);
        if (ctx->server)
                SSL_set_accept_state(t->ssl);
        else
                SSL_set_connect_state(t->ssl);
        return t;
}

void net_tls_free(struct net_tls *t)
{
        if (t == NULL)
                return;
        SSL_free(t->ssl); /* frees both BIOs */
        free(t);
}

/* Why the session failed: the certificate check's verdict if it refused, else the
 * error (an alert from the other end, a missing certificate, a bad record). */
static void failure_reason(const struct net_tls *t, char *out, size_t size)
{
        long verify = SSL_get_verify_result(t->ssl);
        const char *reason = openssl_reason();
        if (verify != X509_V_OK)
                snprintf(out, size, "certificate refused: %s",
                         X509_verify_cert_error_string(verify));
        else
                snprintf(out, size, "%s", reason);
}

/* Whether an SSL call that returned `rc` failed for good (not just waiting for input). */
static bool failed(const struct net_tls *t, int rc)
{
        int e = SSL_get_error(t->ssl, rc);
        return e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE;
}

int net_tls_input(struct net_tls *t, const uint8_t *data, size_t len, struct syn_writer *plain,
                  char *reason, size_t reason_size)
{
        ERR_clear_error();
        if (len > 0 && BIO_write(t->rbio, data, (int)len) != (int)len) {
                snprintf(reason, reason_size, "out of memory");
                return SYN_EPROTO;
        }
        if (!SSL_is_init_finished(t->ssl)) {
                int rc = SSL_do_handshake(t->ssl);
                if (rc != 1) {
                        if (!failed(t, rc))
                                return 0;
                        failure_reason(t, reason, reason_size);
                        return SYN_EPROTO;
                }
        }
        uint8_t buf[NET_TLS_RECORD_BYTES];
        /* Bounded: every pass takes plaintext of the finite ciphertext in the read BIO. */
        for (;;) {
                int n = SSL_read(t->ssl, buf, sizeof buf);
                if (n > 0) {
                        syn_write_bytes(plain, buf, (size_t)n);
                        continue;
                }
                if (!failed(t, n))
                        return 0;
                if (SSL_get_error(t->ssl, n) == SSL_ERROR_ZERO_RETURN)
                        snprintf(reason, reason_size, "closed by the other end");
                else
                        failure_reason(t, reason, reason_size);
                return SYN_EPROTO;
        }
}

/* Moves the write BIO's ciphertext to `wire`. */
static int drain(struct net_tls *t, struct syn_writer *wire)
{
        /* Bounded by what the write BIO holds. */
        for (size_t pending = BIO_ctrl_pending(t->wbio); pending > 0;
             pending = BIO_ctrl_pending(t->wbio)) {
                if (!syn_writer_reserve(wire, pending))
                        return SYN_ENOMEM;
                int n = BIO_read(t->wbio, wire->data + wire->len, (int)pending);
                if (n <= 0)
                        return SYN_ENOMEM;
                wire->len += (size_t)n;
        }
        return 0;
}

int net_tls_output(struct net_tls *t, struct syn_writer *plain, struct syn_writer *wire)
{
        ERR_clear_error();
        int rc = drain(t, wire);
        if (rc != 0 || !SSL_is_init_finished(t->ssl))
                return rc;
        size_t done = 0;
        /* Bounded by the plaintext queued: every pass encrypts one record of it. */
        while (done < plain->len) {
                size_t n = plain->len - done;
                if (n > NET_TLS_RECORD_BYTES)
                        n = NET_TLS_RECORD_BYTES;
                if (wire->len + n + NET_TLS_RECORD_OVERHEAD_BYTES_MAX > wire->cap_max)
                        break;
                /* A memory BIO takes every record: SSL_write writes all or fails. */
                if (SSL_write(t->ssl, plain->data + done, (int)n) != (int)n)
                        return SYN_ENOMEM;
                done += n;
                rc = drain(t, wire);
                if (rc != 0)
                        return rc;
        }
        if (done > 0) {
                memmove(plain->data, plain->data + done, plain->len - done);
                plain->len -= done;
        }
        return 0;
}

bool net_tls_has_output(const struct net_tls *t)
{
        return BIO_ctrl_pending(t->wbio) > 0;
}

bool net_tls_established(const struct net_tls *t)
{
        return SSL_is_init_finished(t->ssl);
}

void net_tls_shutdown(struct net_tls *t)
{
        ERR_clear_error();
        if (SSL_is_init_finished(t->ssl) && (SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN) == 0)
                SSL_shutdown(t->ssl);
}

void net_tls_peer_subject(const struct net_tls *t, char *out, size_t size)
{
        out[0] = '\0';
        X509 *cert = SSL_get1_peer_certificate(t->ssl);
        if (cert == NULL)
                return;
        X509_NAME_oneline(X509_get_subject_name(cert), out, (int)size);
        X509_free(cert);
}
