/*
 * Links to the other servers. Every server keeps one outgoing TCP connection to every
 * other listed server and sends its users' MSG lines on it; the receiver hands them to
 * its own users and relays nothing further. So a SAY costs one line per other server,
 * and a server joining the network costs one new connection from each server (README,
 * "Cost of a server"). A link that drops is dialled again with a growing pause while
 * the peer is listed in synod; a message for a peer whose link is down is dropped.
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct peer_link {
        uv_tcp_t tcp;
        uv_connect_t connect;
        struct peer *peer; /* NULL once the peer is gone */
        char discard[256]; /* what a peer sends back (nothing) is read and dropped */
};

struct write_req {
        uv_write_t req;
        char data[];
};

static void peer_connect(struct peer *p);

static void on_link_closed(uv_handle_t *handle)
{
        free(handle->data);
}

static void on_retry(uv_timer_t *timer)
{
        peer_connect(timer->data);
}

/* Detaches and closes the link; the peer dials again later if it is still listed. */
static void link_drop(struct peer *p)
{
        struct peer_link *l = p->link;
        if (l == NULL)
                return;
        p->link = NULL;
        l->peer = NULL;
        uv_close((uv_handle_t *)&l->tcp, on_link_closed);
        p->state = PEER_WAITING;
        if (p->listed && !p->srv->quitting) {
                uv_timer_start(&p->retry, on_retry, (uint64_t)p->backoff_ms, 0);
                p->backoff_ms = p->backoff_ms * 2 > SRV_PEER_BACKOFF_MS_MAX
                                    ? SRV_PEER_BACKOFF_MS_MAX
                                    : p->backoff_ms * 2;
        }
}

static void on_written(uv_write_t *req, int status)
{
        free(req);
}

static bool link_send(struct peer *p, const char *line)
{
        uv_stream_t *s = (uv_stream_t *)&p->link->tcp;
        if (uv_stream_get_write_queue_size(s) > SRV_PEER_OUTPUT_BYTES_MAX)
                return false;
        size_t n = strlen(line);
        struct write_req *w = malloc(sizeof(*w) + n + 1);
        if (w == NULL)
                return false;
        memcpy(w->data, line, n);
        w->data[n] = '\n';
        uv_buf_t buf = uv_buf_init(w->data, (unsigned)n + 1);
        if (uv_write(&w->req, s, &buf, 1, on_written) != 0) {
                free(w);
                return false;
        }
        return true;
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
        struct peer_link *l = handle->data;
        *buf = uv_buf_init(l->discard, sizeof(l->discard));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
        struct peer_link *l = stream->data;
        if (nread < 0 && l->peer != NULL)
                link_drop(l->peer); /* the peer closed or died */
}

static void on_connected(uv_connect_t *req, int status)
{
        struct peer_link *l = req->data;
        struct peer *p = l->peer;
        if (p == NULL)
                return; /* dropped meanwhile; its close is under way */
        if (status < 0) {
                link_drop(p);
                return;
        }
        p->state = PEER_UP;
        p->backoff_ms = SRV_PEER_BACKOFF_MS_MIN;
        uv_tcp_nodelay(&l->tcp, 1);
        char hello[CHAT_ADDR_BYTES_MAX + CHAT_RANDOM_HEX_BYTES + 8];
        snprintf(hello, sizeof(hello), "PEER %s %s", p->srv->addr, p->srv->secret);
        if (!link_send(p, hello) || uv_read_start((uv_stream_t *)&l->tcp, on_alloc, on_read) != 0)
                link_drop(p);
}

static void peer_connect(struct peer *p)
{
        char host[CHAT_ADDR_BYTES_MAX + 1];
        int port;
        struct sockaddr_storage sa;
        if (p->link != NULL || !chat_addr_split(p->addr, host, sizeof(host), &port) ||
            (uv_ip4_addr(host, port, (struct sockaddr_in *)&sa) != 0 &&
             uv_ip6_addr(host, port, (struct sockaddr_in6 *)&sa) != 0))
                return; /* listed addresses were checked by the server that wrote them */
        struct peer_link *l = calloc(1, sizeof(*l));
        if (l == NULL)
                return;
        l->peer = p;
        uv_tcp_init(p->srv->loop, &l->tcp);
        l->tcp.data = l;
        l->connect.data = l;
        p->link = l;
        p->state = PEER_CONNECTING;
        if (uv_tcp_connect(&l->connect, &l->tcp, (struct sockaddr *)&sa, on_connected) != 0)
                link_drop(p);
}

static void on_peer_closed(uv_handle_t *handle)
{
        free(handle->data);
}

static void peer_remove(struct peer **slot)
{
        struct peer *p = *slot;
        *slot = p->next;
        p->listed = false;
        link_drop(p);
        uv_close((uv_handle_t *)&p->retry, on_peer_closed);
}

void peers_sync(struct server *srv, char **addrs, int32_t count)
{
        for (struct peer *p = srv->peers; p != NULL; p = p->next)
                p->listed = false;
        for (int32_t i = 0; i < count; i++) {
                if (strcmp(addrs[i], srv->addr) == 0)
                        continue;
                struct peer *p = srv->peers;
                while (p != NULL && strcmp(p->addr, addrs[i]) != 0)
                        p = p->next;
                if (p != NULL) { /* known (a restarted server may be listed twice) */
                        p->listed = true;
                        continue;
                }
                p = calloc(1, sizeof(*p));
                if (p == NULL)
                        continue;
                p->srv = srv;
                p->listed = true;
                p->backoff_ms = SRV_PEER_BACKOFF_MS_MIN;
                snprintf(p->addr, sizeof(p->addr), "%s", addrs[i]);
                uv_timer_init(srv->loop, &p->retry);
                p->retry.data = p;
                p->next = srv->peers;
                srv->peers = p;
                fprintf(stderr, "chatnet-server: peer %s joined\n", p->addr);
                peer_connect(p);
        }
        for (struct peer **slot = &srv->peers; *slot != NULL;) {
                if ((*slot)->listed) {
                        slot = &(*slot)->next;
                        continue;
                }
                fprintf(stderr, "chatnet-server: peer %s left\n", (*slot)->addr);
                peer_remove(slot);
        }
}

void peers_relay(struct server *srv, const char *msg_line)
{
        for (struct peer *p = srv->peers; p != NULL; p = p->next)
                if (p->state == PEER_UP && !link_send(p, msg_line))
                        fprintf(stderr, "chatnet-server: message to %s dropped\n", p->addr);
}

const char *peers_pick_move_target(struct server *srv)
{
        size_t up = 0, listed = 0;
        for (struct peer *p = srv->peers; p != NULL; p = p->next) {
                up += p->state == PEER_UP;
                listed++;
        }
        if (listed == 0)
                return NULL;
        size_t pick = srv->move_cursor++ % (up > 0 ? up : listed);
        for (struct peer *p = srv->peers; p != NULL; p = p->next) {
                if (up > 0 && p->state != PEER_UP)
                        continue;
                if (pick-- == 0)
                        return p->addr;
        }
        return NULL;
}

static void on_link_shut(uv_shutdown_t *req, int status)
{
        struct peer_link *l = req->data;
        free(req);
        if (l->peer != NULL)
                link_drop(l->peer);
}

void peers_flush_and_close(struct server *srv)
{
        for (struct peer *p = srv->peers; p != NULL; p = p->next) {
                p->listed = false;
                uv_timer_stop(&p->retry);
                if (p->state != PEER_UP) {
                        link_drop(p);
                        continue;
                }
                uv_shutdown_t *req = malloc(sizeof(*req));
                if (req != NULL)
                        req->data = p->link;
                if (req == NULL ||
                    uv_shutdown(req, (uv_stream_t *)&p->link->tcp, on_link_shut) != 0) {
                        free(req);
                        link_drop(p);
                }
        }
}

void peers_close_all(struct server *srv)
{
        while (srv->peers != NULL)
                peer_remove(&srv->peers);
}
