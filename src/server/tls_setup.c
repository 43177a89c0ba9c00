/*
 * TLS contexts from the configuration: ZooKeeper's ssl.* keys (the secure client port)
 * and ssl.quorum.* keys (peer links) become net/tls.h contexts. Errors name the key.
 */
#include "base/err.h"
#include "base/log.h"
#include "net/tls.h"
#include "server/server.h"

int srv_tls_make(const struct srv_tls_settings *s, const char *key_prefix, bool server,
                 struct net_tls_ctx **out)
{
        struct net_tls_config c = {
            .key_prefix = key_prefix,
            .key_store = s->key_store,
            .key_store_type = s->key_store_type,
            .trust_store = s->trust_store,
            .trust_store_type = s->trust_store_type,
            /* Peers always prove who they are: ssl.quorum.* has no clientAuth. */
            .client_auth = s->client_auth[0] != '\0' ? s->client_auth : "need",
            .protocol = s->protocol,
            .enabled_protocols = s->enabled_protocols,
            .ciphersuites = s->ciphersuites,
        };
        char error[SRV_CONFIG_ERROR_BYTES];
        int rc = net_tls_ctx_new(&c, server, out, error, sizeof error);
        if (rc == SYN_ECONFIG)
                SYN_ERROR("%s", error);
        else if (rc != 0)
                SYN_ERROR("cannot set TLS up (%s*): %s", key_prefix, syn_strerror(rc));
        return rc;
}
