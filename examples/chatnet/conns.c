/*
 * Accepted connections and the line protocol (README.md, "Protocol"). The first line
 * tells a peer ("PEER addr secret") from a user (anything else). A user's lines are
 * handled strictly in order: while one waits for synod (REGISTER, LOGIN, USERS) the
 * connection is not read, so a SAY sent right after a REGISTER runs after it.
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct write_req {
        uv_write_t req;
        char data[];
};

static void process_lines(struct conn *c);

static void conn_release(struct conn *c)
{
        if (--c->refs == 0)
                free(c);
}

static void on_closed(uv_handle_t *handle)
{
        struct conn *c = handle->data;
        struct server *srv = c->srv;
        conn_release(c);
        server_maybe_finish(srv);
}

static void conn_close(struct conn *c)
{
        if (c->closing)
                return;
        c->closing = true;
        if (c->prev)
                c->prev->next = c->next;
        else
                c->srv->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_written(uv_write_t *req, int status)
{
        free(req);
}

void conn_send_line(struct conn *c, const char *line)
{
        if (c->closing || c->moved)
                return;
        if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > SRV_USER_OUTPUT_BYTES_MAX) {
                fprintf(stderr, "chatnet-server: dropping a user that does not read\n");
                conn_close(c);
                return;
        }
        size_t n = strlen(line);
        struct write_req *w = malloc(sizeof(*w) + n + 1);
        if (w == NULL) {
                conn_close(c);
                return;
        }
        memcpy(w->data, line, n);
        w->data[n] = '\n';
        uv_buf_t buf = uv_buf_init(w->data, (unsigned)n + 1);
        if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0) {
                free(w);
                conn_close(c);
        }
}

void conns_deliver(struct server *srv, const char *msg_line)
{
        for (struct conn *c = srv->conns; c != NULL; c = c->next)
                if (c->kind == CONN_USER && c->name[0] != '\0')
                        conn_send_line(c, msg_line);
}

/* ---- commands ---- */

/* "VERB rest": true if line starts with verb followed by a space or the end. */
static bool verb(const char *line, const char *v, const char **rest)
{
        size_t n = strlen(v);
        if (strncmp(line, v, n) != 0 || (line[n] != '\0' && line[n] != ' '))
                return false;
        *rest = line[n] == ' ' ? line + n + 1 : line + n;
        return true;
}

/* "name [key]" of REGISTER and LOGIN. */
static void name_and_key(struct conn *c, const char *args, bool registering)
{
        char name[CHAT_NAME_BYTES_MAX + 2] = "";
        char key[CHAT_KEY_BYTES_MAX + 2] = "";
        const char *sp = strchr(args, ' ');
        size_t n = sp ? (size_t)(sp - args) : strlen(args);
        if (n > CHAT_NAME_BYTES_MAX || (sp && strlen(sp + 1) > CHAT_KEY_BYTES_MAX)) {
                conn_send_line(c, "ERR name or key too long");
                return;
        }
        memcpy(name, args, n);
        if (sp)
                snprintf(key, sizeof(key), "%s", sp + 1);
        if (!chat_name_ok(name) || !chat_key_ok(key)) {
                conn_send_line(c, "ERR a name is 1-32 of A-Z a-z 0-9 . _ - ; a key has no spaces");
                return;
        }
        if (c->name[0] != '\0') {
                conn_send_line(c, "ERR already logged in");
                return;
        }
        if (registering)
                users_register(c, name, key);
        else
                users_login(c, name, key);
}

static void say(struct conn *c, const char *text)
{
        if (c->name[0] == '\0') {
                conn_send_line(c, "ERR REGISTER or LOGIN first");
                return;
        }
        char line[CHAT_LINE_BYTES_MAX + 1];
        if ((size_t)snprintf(line, sizeof(line), "MSG %s %s", c->name, text) >= sizeof(line)) {
                conn_send_line(c, "ERR text too long"); /* the MSG line must fit a line */
                return;
        }
        conns_deliver(c->srv, line);
        peers_relay(c->srv, line);
}

static void list_servers(struct conn *c)
{
        char line[CHAT_ADDR_BYTES_MAX + 16];
        snprintf(line, sizeof(line), "%s self", c->srv->addr);
        conn_send_line(c, line);
        for (struct peer *p = c->srv->peers; p != NULL; p = p->next) {
                snprintf(line, sizeof(line), "%s %s", p->addr, p->state == PEER_UP ? "up" : "down");
                conn_send_line(c, line);
        }
        conn_send_line(c, "END");
}

static void user_line(struct conn *c, const char *line)
{
        const char *rest;
        if (c->moved) { /* only its last words still count */
                if (verb(line, "SAY", &rest) && rest[0] != '\0')
                        say(c, rest);
                return;
        }
        if (line[0] == '\0')
                return;
        if (verb(line, "REGISTER", &rest))
                name_and_key(c, rest, true);
        else if (verb(line, "LOGIN", &rest))
                name_and_key(c, rest, false);
        else if (verb(line, "SAY", &rest) && rest[0] != '\0')
                say(c, rest);
        else if (verb(line, "USERS", &rest) && rest[0] == '\0')
                users_list(c);
        else if (verb(line, "SERVERS", &rest) && rest[0] == '\0')
                list_servers(c);
        else
                conn_send_line(c, "ERR commands: REGISTER name [key], LOGIN name [key], "
                                  "SAY text, USERS, SERVERS");
}

static void first_line(struct conn *c, const char *line)
{
        const char *rest;
        if (!verb(line, "PEER", &rest)) {
                c->kind = CONN_USER;
                user_line(c, line);
                return;
        }
        const char *sp = strchr(rest, ' ');
        if (sp == NULL || strcmp(sp + 1, c->srv->secret) != 0) {
                fprintf(stderr, "chatnet-server: refused a peer without the cluster's secret\n");
                conn_close(c);
                return;
        }
        c->kind = CONN_PEER_IN;
}

static void handle_line(struct conn *c, const char *line)
{
        switch (c->kind) {
        case CONN_NEW:
                first_line(c, line);
                break;
        case CONN_USER:
                user_line(c, line);
                break;
        case CONN_PEER_IN:
                if (strncmp(line, "MSG ", 4) == 0)
                        conns_deliver(c->srv, line);
                break;
        }
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
        struct conn *c = handle->data;
        size_t room;
        char *p = chat_linebuf_space(&c->in, &room);
        *buf = uv_buf_init(p, (unsigned)room);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
        struct conn *c = stream->data;
        if (nread < 0) {
                conn_close(c);
                return;
        }
        chat_linebuf_commit(&c->in, (size_t)nread);
        process_lines(c);
}

static void process_lines(struct conn *c)
{
        while (!c->busy && !c->closing) {
                bool too_long;
                char *line = chat_linebuf_next(&c->in, &too_long);
                if (too_long) {
                        conn_send_line(c, "ERR line too long");
                        conn_close(c);
                        return;
                }
                if (line == NULL)
                        break;
                handle_line(c, line);
        }
        if (c->closing)
                return;
        if (c->busy)
                uv_read_stop((uv_stream_t *)&c->tcp);
        else
                uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ---- moving users away (SIGTERM) ---- */

static void on_shutdown(uv_shutdown_t *req, int status)
{
        free(req);
}

/* Sends MOVE and half-closes: the user's lines already on the way are still read and
 * relayed until it hangs up (or the drain ends), so no SAY of a moving user is lost. */
static void conn_move(struct conn *c)
{
        const char *target = peers_pick_move_target(c->srv);
        if (target != NULL) {
                char line[CHAT_ADDR_BYTES_MAX + 8];
                snprintf(line, sizeof(line), "MOVE %s", target);
                conn_send_line(c, line);
        }
        c->moved = true;
        uv_shutdown_t *req = malloc(sizeof(*req));
        if (req == NULL || uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
                free(req);
                conn_close(c);
        }
}

void conns_move_all(struct server *srv)
{
        struct conn *next;
        for (struct conn *c = srv->conns; c != NULL; c = next) {
                next = c->next;
                if (c->kind != CONN_PEER_IN && !c->busy && !c->moved)
                        conn_move(c);
        }
}

bool conns_all_gone(struct server *srv)
{
        for (struct conn *c = srv->conns; c != NULL; c = c->next)
                if (c->kind != CONN_PEER_IN)
                        return false;
        return true;
}

void conns_close_all(struct server *srv)
{
        while (srv->conns != NULL)
                conn_close(srv->conns);
}

void conn_op_finished(struct conn *c)
{
        c->busy = false;
        bool closing = c->closing;
        conn_release(c); /* frees c only if it is closed already */
        if (closing)
                return;
        process_lines(c);
        if (c->srv->quitting && !c->closing && !c->busy && !c->moved)
                conn_move(c);
}

/* ---- accepting ---- */

void conns_on_connection(uv_stream_t *listener, int status)
{
        struct server *srv = listener->data;
        if (status < 0) {
                fprintf(stderr, "chatnet-server: accept: %s\n", uv_strerror(status));
                return;
        }
        struct conn *c = calloc(1, sizeof(*c));
        if (c == NULL)
                return;
        c->srv = srv;
        c->refs = 1;
        c->kind = CONN_NEW;
        chat_linebuf_init(&c->in);
        uv_tcp_init(srv->loop, &c->tcp);
        c->tcp.data = c;
        if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
                uv_close((uv_handle_t *)&c->tcp, on_closed);
                return;
        }
        c->next = srv->conns;
        if (srv->conns)
                srv->conns->prev = c;
        srv->conns = c;
        uv_tcp_nodelay(&c->tcp, 1);
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}
