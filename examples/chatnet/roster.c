/*
 * The servers list. Each server is an ephemeral node under /chatnet/servers, so the
 * list is exactly the servers whose synod sessions live. One child watch per list
 * keeps it current: the watch fires, the loop lists again (setting the next watch),
 * and peers_sync turns the new list into links. A server that joins costs each other
 * server one notification and one list, and one link from each of them to it.
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>

static void on_retry(uv_timer_t *timer)
{
        roster_refresh(timer->data);
}

static void retry_later(struct server *srv)
{
        srv->roster_timer.data = srv;
        uv_timer_start(&srv->roster_timer, on_retry, SRV_ROSTER_RETRY_MS, 0);
}

void roster_refresh(struct server *srv)
{
        if (srv->flushing)
                return;
        if (srv->roster_in_flight) {
                srv->roster_again = true;
                return;
        }
        struct op *op = calloc(1, sizeof(*op));
        if (op == NULL) {
                retry_later(srv);
                return;
        }
        op->kind = OP_ROSTER;
        struct synod_request req = {.op = SYNOD_OP_CHILDREN,
                                    .path = CHAT_SERVERS_DIR,
                                    .watch = bridge_on_roster_event,
                                    .watch_arg = srv};
        int rc = bridge_call(srv, &req, op);
        if (rc != SYNOD_OK) {
                fprintf(stderr, "chatnet-server: listing servers: %s\n", synod_strerror(rc));
                op_free(op);
                retry_later(srv);
                return;
        }
        srv->roster_in_flight = true;
        srv->roster_again = false;
}

void roster_done(struct op *op)
{
        struct server *srv = op->srv;
        srv->roster_in_flight = false;
        if (op->err == SYNOD_OK && !srv->flushing) {
                char(*addrs)[CHAT_ADDR_BYTES_MAX + 1] =
                    calloc((size_t)op->child_count + 1, sizeof(*addrs));
                char **list = calloc((size_t)op->child_count + 1, sizeof(char *));
                int32_t n = 0;
                for (int32_t i = 0; addrs && list && i < op->child_count; i++) {
                        if (!chat_server_node_addr(op->children[i], addrs[n]))
                                continue; /* not a chat server's node: not ours to use */
                        list[n] = addrs[n];
                        n++;
                }
                if (addrs && list)
                        peers_sync(srv, list, n);
                else
                        retry_later(srv);
                free(list);
                free(addrs);
        } else if (op->err != SYNOD_OK && !srv->flushing) {
                fprintf(stderr, "chatnet-server: listing servers: %s\n", synod_strerror(op->err));
                retry_later(srv);
        }
        bool again = srv->roster_again;
        op_free(op);
        if (again)
                roster_refresh(srv);
}
