/*
 * The registry of writes waiting for their entry (etcd's wait registry).
 *
 * A write is registered under (session id, cxid) when it is proposed; the apply
 * path takes the waiter named by the committed txn itself and calls it. The
 * proposer and the applier never call each other, and a write proposed by
 * another server (forwarded to the leader) is completed on this one just the
 * same: the key travels inside the entry. CREATE_SESSION txns are registered
 * under (new session id, SRV_CXID_CREATE_SESSION); the server's own txns
 * (session id 0) have no waiter.
 *
 * A connection that closes removes its waiters, so an entry applied later finds
 * nobody and nothing dangles. A key can be registered once at a time: a client
 * that reuses the xid of a write still in flight is refused (SYN_EEXIST).
 */
#include "base/assert.h"
#include "base/err.h"
#include "base/hash.h"
#include "server/server.h"

static size_t bucket_of(uint64_t session_id, int32_t cxid)
{
        uint64_t h = syn_mix64(session_id ^ syn_mix64((uint64_t)(uint32_t)cxid));
        return (size_t)(h % SRV_WAITER_BUCKETS);
}

static struct srv_waiter **slot(struct srv *srv, uint64_t session_id, int32_t cxid)
{
        struct srv_waiter **p = &srv->waiters[bucket_of(session_id, cxid)];
        /* Bounded by the waiters of one bucket. */
        while (*p != NULL && ((*p)->session_id != session_id || (*p)->cxid != cxid))
                p = &(*p)->next;
        return p;
}

int registry_add(struct srv *srv, struct srv_waiter *w)
{
        SYN_ASSERT(!w->registered);
        SYN_ASSERT(w->session_id != 0);
        SYN_ASSERT(w->on_applied != NULL);
        struct srv_waiter **p = slot(srv, w->session_id, w->cxid);
        if (*p != NULL)
                return SYN_EEXIST;
        w->next = NULL;
        *p = w;
        w->registered = true;
        srv->waiter_count++;
        return 0;
}

void registry_remove(struct srv *srv, struct srv_waiter *w)
{
        if (!w->registered)
                return;
        struct srv_waiter **p = slot(srv, w->session_id, w->cxid);
        SYN_ASSERT(*p == w);
        *p = w->next;
        w->next = NULL;
        w->registered = false;
        SYN_ASSERT(srv->waiter_count > 0);
        srv->waiter_count--;
}

struct srv_waiter *registry_find(struct srv *srv, uint64_t session_id, int32_t cxid)
{
        return session_id == 0 ? NULL : *slot(srv, session_id, cxid);
}

struct srv_waiter *registry_take_key(struct srv *srv, uint64_t session_id, int32_t cxid)
{
        struct srv_waiter *w = registry_find(srv, session_id, cxid);
        if (w != NULL)
                registry_remove(srv, w);
        return w;
}

struct srv_waiter *registry_take(struct srv *srv, const struct txn *txn)
{
        if (txn->type == TXN_CREATE_SESSION)
                return registry_take_key(srv, txn->session.id, SRV_CXID_CREATE_SESSION);
        return registry_take_key(srv, txn->session_id, txn->cxid);
}
