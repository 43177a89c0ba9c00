/*
 * chatnet-server's parts. One libuv loop thread owns every socket and all state;
 * libsynod runs its callbacks on its own I/O thread, and those only hand results to
 * the loop (bridge.c): the loop thread is the only one that reads or changes a
 * struct server, struct conn or struct peer.
 *
 *   server_main.c  options, start-up in synod, SIGTERM and the drain that follows
 *   bridge.c       libsynod callbacks -> a locked queue -> uv_async on the loop
 *   roster.c       the servers list: a child watch on /chatnet/servers
 *   users.c        REGISTER, LOGIN, USERS as asynchronous synod requests
 *   conns.c        accepted connections and the line protocol
 *   peers.c        the outgoing link to every other server, relaying MSG lines
 */
#ifndef CHATNET_SERVER_H
#define CHATNET_SERVER_H

#include "chat.h"

#include <synod/synod.h>

#include <pthread.h>
#include <stdint.h>
#include <uv.h>

/* Session timeout asked of synod: a crashed server leaves the list after this long. */
#define SRV_SESSION_TIMEOUT_MS 10000
/* How long start-up waits for a synod session before giving up. */
#define SRV_CONNECT_TIMEOUT_MS 30000
/* Unsent bytes a user connection may hold before it is dropped as not reading. */
#define SRV_USER_OUTPUT_BYTES_MAX (1024 * 1024)
/* Unsent bytes a peer link may hold; further messages to that peer are dropped. */
#define SRV_PEER_OUTPUT_BYTES_MAX (4 * 1024 * 1024)
/* How long a user's request keeps retrying through synod connection losses (a leader
 * election closes connections more than once), and the pause before each retry. */
#define SRV_OP_RETRY_MS_MAX   30000
#define SRV_OP_RETRY_PAUSE_MS 100
/* After SIGTERM: how long moved users may take to hang up, then how long peer links
 * get to flush what the drain relayed. */
#define SRV_QUIT_DRAIN_MS 3000
#define SRV_QUIT_FLUSH_MS 1000
/* Reconnect pause of a peer link: doubles from MIN to MAX while the peer is listed. */
#define SRV_PEER_BACKOFF_MS_MIN 50
#define SRV_PEER_BACKOFF_MS_MAX 1000
#define SRV_LISTEN_BACKLOG      128
/* Pause before listing the servers again after a failed list. */
#define SRV_ROSTER_RETRY_MS 500

enum conn_kind {
        CONN_NEW,     /* no line yet */
        CONN_USER,    /* a person (or chatnet-client) */
        CONN_PEER_IN, /* another server relaying MSG lines to us */
};

struct conn {
        uv_tcp_t tcp;
        struct server *srv;
        struct conn *prev, *next;
        enum conn_kind kind;
        char name[CHAT_NAME_BYTES_MAX + 1]; /* "" until REGISTER or LOGIN succeeded */
        bool busy;                          /* a synod request of this user is outstanding */
        bool closing;                       /* uv_close called */
        bool moved;                         /* MOVE sent: relay its last SAYs until it hangs up */
        int refs;                           /* the handle, plus one while busy */
        struct chat_linebuf in;
};

enum peer_state { PEER_WAITING, PEER_CONNECTING, PEER_UP };

struct peer_link; /* one TCP connection attempt (peers.c) */

struct peer {
        struct server *srv;
        struct peer *next;
        char addr[CHAT_ADDR_BYTES_MAX + 1];
        enum peer_state state;
        bool listed; /* still in /chatnet/servers (set by every roster pass) */
        int backoff_ms;
        uv_timer_t retry;
        struct peer_link *link; /* NULL while WAITING */
};

enum op_kind {
        OP_REGISTER, /* create the user node; after a lost reply, read it back */
        OP_LOGIN,    /* read the user node and compare the key */
        OP_USERS,    /* sync, then (when it answered) list the users directory */
        OP_ROSTER,   /* list the servers directory with a watch */
};

/* A synod request in flight and, once done, its result (bridge.c hands it back). */
struct op {
        struct op *next;
        struct server *srv;
        enum op_kind kind;
        struct conn *conn;    /* NULL for OP_ROSTER */
        uint64_t deadline_ms; /* loop time after which a connection loss is final */
        bool reading_back;    /* OP_REGISTER: the GET after a lost create reply */
        bool lost_once;       /* OP_REGISTER: a reply was lost, so the node may be ours */
        char name[CHAT_NAME_BYTES_MAX + 1];
        char key[CHAT_KEY_BYTES_MAX + 1];
        char nonce[CHAT_ADDR_BYTES_MAX + 2 * CHAT_RANDOM_HEX_BYTES + 4];
        bool synced; /* OP_USERS: the SYNC before the list is done */
        /* result */
        int err;
        char *data;
        char **children;
        int32_t child_count;
};

struct server {
        uv_loop_t *loop;
        uv_tcp_t listener;
        uv_signal_t sigterm, sigint;
        uv_timer_t quit_timer;
        uv_timer_t roster_timer;
        uv_timer_t retry_timer;
        struct op *retry_head; /* user ops waiting to be sent again (users.c) */
        uv_async_t wake;
        char addr[CHAT_ADDR_BYTES_MAX + 1];
        char instance[CHAT_RANDOM_HEX_BYTES + 1];
        char node_path[CHAT_PATH_BYTES_MAX + CHAT_RANDOM_HEX_BYTES];
        char secret[CHAT_RANDOM_HEX_BYTES + 1];
        struct synod *synod;
        uint64_t nonce_counter;
        struct conn *conns;
        struct peer *peers;
        size_t move_cursor;    /* round robin over live peers for MOVE */
        bool roster_in_flight; /* one list of the servers at a time */
        bool roster_again;     /* the watch fired while a list was in flight */
        bool quitting;
        bool flushing;
        int exit_code;

        /* Shared with the synod I/O thread, under mu (bridge.c). */
        pthread_mutex_t mu;
        struct op *done_head, *done_tail;
        bool roster_dirty;
        bool session_lost; /* the session expired: our ephemerals are gone */
        bool bridge_closed;
};

/* bridge.c */
int bridge_init(struct server *srv);
/* Submits req for op (its previous result cleared); the result comes back to users_done
 * or roster_done on the loop thread. A synod error code if it could not be submitted. */
int bridge_call(struct server *srv, const struct synod_request *req, struct op *op);
/* The libsynod callbacks for a state change and for the roster watch. */
void bridge_on_state(struct synod *h, enum synod_state state, void *arg);
void bridge_on_roster_event(const struct synod_event *ev, void *arg);
/* After this no callback touches the loop; then synod_close may run. */
void bridge_close(struct server *srv);
/* After synod_close: hands back the ops still queued (each to users_discard). */
void bridge_drain(struct server *srv);
void op_free(struct op *op);

/* roster.c */
void roster_refresh(struct server *srv);
void roster_done(struct op *op);

/* users.c */
void users_register(struct conn *c, const char *name, const char *key);
void users_login(struct conn *c, const char *name, const char *key);
void users_list(struct conn *c);
void users_done(struct op *op);
/* At exit: releases an op whose result nobody will read. */
void users_discard(struct op *op);
/* At exit: releases the ops waiting to be retried. */
void users_discard_retries(struct server *srv);

/* conns.c */
void conns_on_connection(uv_stream_t *listener, int status);
/* Writes one line (a newline is added) to a user; drops users that stop reading. */
void conn_send_line(struct conn *c, const char *line);
/* A synod operation of c finished: drop its reference, go on with buffered lines. */
void conn_op_finished(struct conn *c);
/* Sends MSG to every logged-in user of this server. */
void conns_deliver(struct server *srv, const char *msg_line);
/* SIGTERM: MOVE every user elsewhere; returns when the last has hung up (or the drain
 * timer ends it). */
void conns_move_all(struct server *srv);
bool conns_all_gone(struct server *srv);
void conns_close_all(struct server *srv);

/* peers.c */
/* Makes the peer set the given addresses (self excluded): links to new ones, drops gone. */
void peers_sync(struct server *srv, char **addrs, int32_t count);
void peers_relay(struct server *srv, const char *msg_line);
/* Picks a live peer for MOVE (round robin over links that are up, else any listed);
 * NULL if there is none. */
const char *peers_pick_move_target(struct server *srv);
void peers_flush_and_close(struct server *srv);
void peers_close_all(struct server *srv);

/* server_main.c */
/* The drain after SIGTERM (or a lost session) has nothing left to wait for. */
void server_maybe_finish(struct server *srv);
void server_quit(struct server *srv, int exit_code);

#endif
