/*
 * The client's state machine, as a pure transition function.
 *
 * CONNECTING is "no session yet"; SUSPENDED is "had a session, lost the
 * connection, the session may still live". EXPIRED and CLOSED are final: a
 * session that expired can never come back (the server deleted its
 * ephemerals), so nothing leads out of them. A connection loss before the
 * first session keeps CONNECTING; a suspension that lasted a whole session
 * timeout becomes EXPIRED locally, because the server must have expired us
 * by then (it saw no ping for that long) and holders of locks must stop.
 */
#include "client/client.h"

#include "base/assert.h"

enum synod_state cl_state_next(enum synod_state s, enum cl_event ev)
{
        if (s == SYNOD_STATE_CLOSED)
                return s;
        if (ev == CL_EV_CLOSE)
                return SYNOD_STATE_CLOSED;
        if (s == SYNOD_STATE_EXPIRED)
                return s;
        switch (ev) {
        case CL_EV_SESSION_UP:
                return SYNOD_STATE_CONNECTED;
        case CL_EV_CONN_LOST:
                return s == SYNOD_STATE_CONNECTED ? SYNOD_STATE_SUSPENDED : s;
        case CL_EV_SESSION_EXPIRED:
                /* Only a session we had can expire; before that it is a refused connect. */
                return s == SYNOD_STATE_CONNECTING ? s : SYNOD_STATE_EXPIRED;
        case CL_EV_SUSPEND_TIMEOUT:
                return s == SYNOD_STATE_SUSPENDED ? SYNOD_STATE_EXPIRED : s;
        case CL_EV_CLOSE:
                break;
        }
        SYN_UNREACHABLE();
}

const char *synod_state_name(enum synod_state s)
{
        switch (s) {
        case SYNOD_STATE_CONNECTING:
                return "CONNECTING";
        case SYNOD_STATE_CONNECTED:
                return "CONNECTED";
        case SYNOD_STATE_SUSPENDED:
                return "SUSPENDED";
        case SYNOD_STATE_EXPIRED:
                return "EXPIRED";
        case SYNOD_STATE_CLOSED:
                return "CLOSED";
        }
        return "UNKNOWN";
}
