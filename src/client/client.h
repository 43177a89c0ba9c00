/*
 * Internals of libsynod shared by the files of src/client (the public
 * contract is include/synod/synod.h).
 *
 * The pure pieces (connect-string parsing, the state machine, backoff, path
 * chroot handling, lock-node naming and ordering) are functions over data so
 * the unit tests can drive them without a server. The handle (struct synod)
 * is split between the caller's threads and the one I/O thread:
 *   - under `mu`: state, closing, the submit queue, session id / timeout,
 *     next_xid, the current server's name (the caller side reads these);
 *   - I/O thread only: the socket, buffers, the in-flight list, the watch
 *     table, last_zxid, the password.
 * Callbacks never run with `mu` held, so they may submit requests.
 */
#ifndef SYN_CLIENT_CLIENT_H
#define SYN_CLIENT_CLIENT_H

#include <synod/synod.h>

#include "base/buf.h"
#include "base/limits.h"
#include "base/rand.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- connect string (connstr.c) ---- */

struct cl_server {
        char host[CLIENT_HOST_BYTES_MAX + 1];
        int port;
};

struct cl_connstr {
        struct cl_server servers[CLIENT_SERVERS_MAX];
        int count;
        char chroot[ZK_PATH_BYTES_MAX + 1]; /* "" = none; else "/a/b", no trailing '/' */
};

/*
 * Parses "host[:port][,host[:port]...][/chroot]" (port defaults to 2181; IPv6
 * as "[::1]:2181"). Returns SYN_OK or SYN_EINVAL (empty, bad port, host too
 * long, too many servers, invalid chroot).
 */
int cl_connstr_parse(const char *s, struct cl_connstr *out);
/* The same, writing why a malformed string is refused into why (why_len bytes; e.g.
 * "port 70000 of '127.0.0.1:70000' is out of range (1..65535)"). */
int cl_connstr_parse_why(const char *s, struct cl_connstr *out, char *why, size_t why_len);
/* One "host[:port]" item of n bytes (not NUL-terminated; port 2181 if absent) into
 * out. SYN_OK or SYN_EINVAL. */
int cl_parse_server(const char *p, size_t n, struct cl_server *out);
/* A port of exactly the n bytes at p, 1..65535. SYN_OK or SYN_EINVAL. */
int cl_parse_port(const char *p, size_t n, int *port);

/* ---- paths under a chroot (connstr.c) ---- */

/* Writes chroot+path into a malloc'd string (caller frees); "/" under a chroot is the
 * chroot itself. NULL on out of memory. */
char *cl_path_join(const char *chroot, const char *path);
/* Strips the chroot from a server path; returns a pointer into server_path (borrowed),
 * "/" when they are equal, or server_path unchanged when it is outside the chroot. */
const char *cl_path_strip(const char *chroot, const char *server_path);

/* ---- state machine (state.c) ---- */

enum cl_event {
        CL_EV_SESSION_UP,      /* handshake accepted (new or re-attached session) */
        CL_EV_CONN_LOST,       /* socket error, read timeout, protocol error */
        CL_EV_SESSION_EXPIRED, /* the server answered the handshake with timeOut 0 */
        CL_EV_SUSPEND_TIMEOUT, /* SUSPENDED for a whole negotiated session timeout */
        CL_EV_CLOSE,           /* synod_close */
};

/* The next state; the same state when the event means nothing in it. Pure. */
enum synod_state cl_state_next(enum synod_state s, enum cl_event ev);

/* ---- backoff (backoff.c) ---- */

/* Pause before connection round `round` (0 = first: no pause), jittered in
 * [d/2, d] where d doubles from CLIENT_BACKOFF_MS_MIN up to CLIENT_BACKOFF_MS_MAX. */
int cl_backoff_ms(int round, struct syn_rand *r);
/* Per-server connect timeout: session timeout / #servers, at least the minimum. */
int cl_connect_timeout_ms(int session_timeout_ms, int server_count);

/* ---- lock naming (recipes/lock_names.c) ---- */

/* The sequence number of a sequential node name (its last 10 digits), or -1. */
int64_t cl_seq_of(const char *name);
/* True if name is a lock node of this guid: "_c_<guid>-...". */
bool cl_name_has_guid(const char *name, const char *guid);
/* The kind of a lock node name ("_c_<guid>-<kind>-<seq>"), copied into buf; false if
 * the name is not one. */
bool cl_name_kind(const char *name, char *buf, size_t buf_len);
/*
 * Sorts names[0..n) by sequence number (names without one last) and returns the
 * index in the sorted array of the node `ours` must wait for: -1 if it holds the
 * lock, -2 if `ours` is not among the names. Read waits on the nearest earlier
 * "write"; anything else on the nearest earlier node.
 */
int cl_lock_blocker(char **names, int32_t n, const char *ours);

/* Internal: acquire gives up with SYNOD_ECLOSING when cancel(arg) turns true (checked
 * while waiting). Used by the election thread so that free can stop it. */
void cl_lock_set_cancel(struct synod_lock *l, bool (*cancel)(void *arg), void *arg);

/* ---- requests and watches (request.c, watch.c) ---- */

enum cl_watch_kind {
        CL_WATCH_NONE,
        CL_WATCH_DATA,
        CL_WATCH_EXIST,
        CL_WATCH_CHILD,
        CL_WATCH_PERSISTENT,
        CL_WATCH_RECURSIVE,
};

struct cl_waiter {
        pthread_cond_t cond;
        bool done;
        struct synod_result *res; /* handed over by the I/O thread */
};

struct cl_req {
        struct cl_req *next;
        int32_t xid;
        int32_t op;      /* opcode sent (create -> create2 etc.) */
        int32_t user_op; /* enum synod_op */
        uint8_t *frame;  /* whole frame incl. length; owned */
        size_t frame_len;
        synod_done_fn done;
        void *arg;
        struct cl_waiter *waiter; /* sync call: hand the result over instead */
        enum cl_watch_kind watch_kind;
        char *watch_path; /* server path (chroot included); owned */
        synod_watch_fn watch;
        void *watch_arg;
};

/* Encodes req into a new cl_req (xid patched later). Returns SYNOD_OK,
 * SYNOD_EBADARGUMENTS or SYNOD_ESYSTEMERROR. *out freed with cl_req_free. */
int cl_req_build(const char *chroot, const struct synod_request *req, struct cl_req **out);
void cl_req_free(struct cl_req *r);
/* Patches the xid into the frame. */
void cl_req_set_xid(struct cl_req *r, int32_t xid);
/* Builds the result of a reply body (NULL body for errors). NULL on out of memory. */
struct synod_result *cl_result_build(const char *chroot, const struct cl_req *r, int err,
                                     int64_t zxid, const uint8_t *body, size_t body_len);
struct synod_result *cl_result_error(int user_op, int err);

struct cl_watch {
        struct cl_watch *next;
        enum cl_watch_kind kind;
        char *path; /* server path; owned */
        synod_watch_fn fn;
        void *arg;
};

struct cl_watch_table {
        struct cl_watch *head;
        int32_t count; /* <= CLIENT_WATCHES_MAX */
};

/* Registers a watch (path copied). SYNOD_OK or SYNOD_ESYSTEMERROR (memory or limit). */
int cl_watch_add(struct cl_watch_table *t, enum cl_watch_kind kind, const char *path,
                 synod_watch_fn fn, void *arg);
/* Removes the watches an event triggers (one-shot) and returns them as a list the
 * caller fires and frees with cl_watch_list_free; persistent ones matching are
 * copied into the list. */
struct cl_watch *cl_watch_take(struct cl_watch_table *t, int type, const char *path);
void cl_watch_list_free(struct cl_watch *list);
/* Copies every watch (for session events). */
struct cl_watch *cl_watch_copy_all(struct cl_watch_table *t);
void cl_watch_clear(struct cl_watch_table *t);
/* Appends SetWatches/SetWatches2 frames (xid -8) for every watch, chunked by
 * CLIENT_SETWATCHES_BYTES_MAX. SYN_OK, SYN_ENOMEM or SYN_ETOOBIG. */
int cl_watch_write_set_watches(struct cl_watch_table *t, int64_t relative_zxid,
                               struct syn_writer *w);

/* ---- the handle (handle.c, io.c) ---- */

/* How the last connection attempt to one server of the connect string ended. */
enum cl_reach {
        CL_REACH_UNTRIED,    /* no attempt yet */
        CL_REACH_REFUSED,    /* every address of the host refused the TCP connection */
        CL_REACH_NO_HOST,    /* the host name does not resolve (not a temporary DNS failure) */
        CL_REACH_NO_ANSWER,  /* TCP connect or handshake timed out */
        CL_REACH_NO_SESSION, /* connected, but the server closed or garbled the handshake */
        CL_REACH_OK,         /* a session was established */
};

/*
 * True when the last attempt on every server was refused or named an unknown host:
 * no server is listening, so waiting out a connect timeout only delays the news (the
 * CLI reports it at once). reach (h->cs.count entries, or NULL) receives each
 * server's outcome either way.
 */
bool cl_nobody_listening(struct synod *h, enum cl_reach *reach);
/* A few words for an outcome: "connection refused", "unknown host", ... */
const char *cl_reach_name(enum cl_reach r);

struct cl_auth {
        char *scheme;
        uint8_t *auth;
        int32_t len;
};

struct synod {
        pthread_mutex_t mu;
        pthread_cond_t state_cond; /* broadcast on every state change */
        pthread_t io_thread;
        int wake_fds[2]; /* pipe: callers write a byte to wake the I/O thread */

        /* under mu */
        enum synod_state state;
        bool closing;
        struct cl_req *queue_head, *queue_tail; /* submitted, not yet sent */
        int32_t queued;                         /* in the queue or in flight */
        int32_t next_xid;
        uint64_t events; /* see cl_recipe_watch */
        pthread_cond_t events_cond;
        int64_t session_id;
        int session_timeout_ms; /* negotiated */
        char current_server[CLIENT_HOST_BYTES_MAX + 16];
        struct cl_auth auths[CLIENT_AUTH_MAX];
        int auth_count;
        enum cl_reach reach[CLIENT_SERVERS_MAX]; /* per server of cs, by the I/O thread */

        /* set at open, then read-only */
        struct cl_connstr cs;
        int requested_timeout_ms;
        synod_state_fn on_state;
        void *state_arg;

        /* I/O thread only */
        struct syn_rand rand;
        int server_next; /* index of the next server to try */
        int fd;
        uint8_t passwd[ZK_PASSWD_BYTES];
        int64_t last_zxid;
        int read_timeout_ms;
        int64_t last_recv_ms, last_send_ms, suspended_since_ms;
        struct syn_writer out;
        size_t out_sent;
        uint8_t *in;
        size_t in_len, in_cap;
        struct cl_req *inflight_head, *inflight_tail;
        int32_t inflight;
        struct cl_watch_table watches;
};

/* synod_call_sync with paths under `chroot` instead of the handle's ("" = none): the
 * membership node is read outside the chroot (synod_get_config). */
int cl_call_sync(struct synod *h, const char *chroot, const struct synod_request *req,
                 struct synod_result **out);

/* The I/O thread's body (io.c). */
void *cl_io_main(void *arg);
/* Changes state under mu, broadcasts, then (mu released) calls on_state and the
 * session event on every watch. I/O thread only. */
void cl_set_state(struct synod *h, enum cl_event ev);
/* Delivers res for r (to the waiter or done) and frees r; res NULL = out of memory. */
void cl_complete(struct synod *h, struct cl_req *r, struct synod_result *res);
int64_t cl_now_ms(void);
bool cl_on_io_thread(struct synod *h);

/* ---- recipe helpers (recipes/util.c) ---- */

/* A random 32-hex-digit id into buf (>= 33 bytes), from the clock, pid and a counter. */
void cl_guid(char *buf, size_t buf_len);
/* Sleeps ms milliseconds. */
void cl_sleep_ms(int ms);
/* Joins dir and name with one '/'; malloc'd, caller frees; NULL on out of memory. */
char *cl_child_path(const char *dir, const char *name);
/* Retry policy: true if err is worth retrying (connection loss while the session
 * lives), after a pause. */
bool cl_retryable(struct synod *h, int err);
/* Deadline helpers: deadline -1 = never. */
int64_t cl_deadline(int timeout_ms);
bool cl_past(int64_t deadline_ms);

/*
 * Recipes wait on the handle's event counter (h->events, under mu, broadcast on
 * events_cond): every watch a recipe sets uses cl_recipe_watch with arg = h, and
 * every state change bumps it too. The counter lives as long as the handle, so a
 * one-shot watch that fires after its recipe call returned touches nothing freed.
 * A waiter takes the value, checks its condition, then waits for a change.
 */
uint64_t cl_events_value(struct synod *h);
void cl_recipe_watch(const struct synod_event *ev, void *arg);
/* Waits until the counter differs from seen, at most ms. */
void cl_events_wait(struct synod *h, uint64_t seen, int ms);

#endif
