/*
 * Authentication: the digest scheme and the identities a connection carries.
 *
 * ZooKeeper's DigestAuthenticationProvider turns the cleartext "user:password" of
 * an auth packet into the identity "user:" + base64(sha1("user:password")) (standard
 * base64 with padding). Digest auth never fails; it only adds an identity. The
 * identity equals the configured superDigest → the connection is the super user.
 */
#include <openssl/sha.h>
#include <string.h>

#include "base/limits.h"

#include "base/err.h"
#include "server/auth.h"

#include "base/base64.h"

int srv_digest_identity(const uint8_t *auth, size_t len, char *out, size_t out_size)
{
        /* Without a colon ZooKeeper takes the whole text as the user name and
         * hashes it all; such an identity can still match an ACL written for it. */
        const uint8_t *colon = memchr(auth, ':', len);
        size_t user_len = colon != NULL ? (size_t)(colon - auth) : len;
        uint8_t hash[SHA_DIGEST_LENGTH];
        SHA1(auth, len, hash);
        char b64[64];
        size_t b64_len = syn_base64_encode(hash, sizeof hash, b64, sizeof b64);
        if (user_len + 1 + b64_len + 1 > out_size)
                return SYN_ETOOBIG;
        memcpy(out, auth, user_len);
        out[user_len] = ':';
        memcpy(out + user_len + 1, b64, b64_len + 1);
        return 0;
}
