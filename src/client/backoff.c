/*
 * Reconnect pacing. A connection attempt goes to the next server of the
 * connect string at once; only after a whole round failed do we pause, with
 * exponential growth and jitter so a crowd of clients that lost the same
 * server does not come back in lock step. The per-server connect timeout is
 * the session timeout divided among the servers (as the Java client does), so
 * one round fits in a session timeout and a live session can be re-attached.
 */
#include "client/client.h"

#include "base/assert.h"

int cl_backoff_ms(int round, struct syn_rand *r)
{
        SYN_ASSERT(round >= 0);
        if (round == 0)
                return 0;
        int d = CLIENT_BACKOFF_MS_MIN;
        for (int i = 1; i < round && d < CLIENT_BACKOFF_MS_MAX; i++)
                d *= 2;
        if (d > CLIENT_BACKOFF_MS_MAX)
                d = CLIENT_BACKOFF_MS_MAX;
        return (int)syn_rand_range(r, (uint64_t)(d / 2), (uint64_t)d);
}

int cl_connect_timeout_ms(int session_timeout_ms, int server_count)
{
        SYN_ASSERT(server_count > 0);
        int t = session_timeout_ms / server_count;
        return t < CLIENT_CONNECT_TIMEOUT_MS_MIN ? CLIENT_CONNECT_TIMEOUT_MS_MIN : t;
}
