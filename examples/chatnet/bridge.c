/*
 * libsynod runs completions, watches and state changes on its own I/O thread. Those
 * callbacks must not touch connections or peers (the loop thread owns them), so they
 * only copy the result into the op, queue it under a mutex and wake the loop with
 * uv_async_send; the loop then does the work (users_done, roster_done). The queue and
 * two flags are the only state the two threads share.
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void bridge_wake_locked(struct server *srv)
{
        if (!srv->bridge_closed)
                uv_async_send(&srv->wake);
}

/* Copies what the loop needs out of a result that is only borrowed here. */
static void copy_result(struct op *op, const struct synod_result *res)
{
        op->err = res->err;
        if (res->err != SYNOD_OK)
                return;
        if (res->data != NULL && res->data_len >= 0) {
                op->data = strndup(res->data, (size_t)res->data_len);
                if (op->data == NULL)
                        op->err = SYNOD_ESYSTEMERROR;
        }
        if (res->child_count <= 0)
                return;
        op->children = calloc((size_t)res->child_count, sizeof(char *));
        if (op->children == NULL) {
                op->err = SYNOD_ESYSTEMERROR;
                return;
        }
        op->child_count = res->child_count;
        for (int32_t i = 0; i < res->child_count; i++) {
                op->children[i] = strdup(res->children[i]);
                if (op->children[i] == NULL)
                        op->err = SYNOD_ESYSTEMERROR;
        }
}

static void on_done(const struct synod_result *res, void *arg)
{
        struct op *op = arg;
        struct server *srv = op->srv;
        copy_result(op, res);
        pthread_mutex_lock(&srv->mu);
        op->next = NULL;
        if (srv->done_tail)
                srv->done_tail->next = op;
        else
                srv->done_head = op;
        srv->done_tail = op;
        bridge_wake_locked(srv);
        pthread_mutex_unlock(&srv->mu);
}

static void clear_result(struct op *op)
{
        free(op->data);
        op->data = NULL;
        for (int32_t i = 0; i < op->child_count; i++)
                free(op->children[i]);
        free(op->children);
        op->children = NULL;
        op->child_count = 0;
        op->err = SYNOD_OK;
}

int bridge_call(struct server *srv, const struct synod_request *req, struct op *op)
{
        clear_result(op);
        op->srv = srv;
        return synod_call(srv->synod, req, on_done, op);
}

void bridge_on_state(struct synod *h, enum synod_state state, void *arg)
{
        struct server *srv = arg;
        if (state != SYNOD_STATE_EXPIRED)
                return; /* SUSPENDED and back: libsynod re-attaches the session and watches */
        pthread_mutex_lock(&srv->mu);
        srv->session_lost = true;
        bridge_wake_locked(srv);
        pthread_mutex_unlock(&srv->mu);
}

void bridge_on_roster_event(const struct synod_event *ev, void *arg)
{
        struct server *srv = arg;
        if (ev->type == SYNOD_EVENT_SESSION)
                return; /* state changes arrive through bridge_on_state */
        pthread_mutex_lock(&srv->mu);
        srv->roster_dirty = true;
        bridge_wake_locked(srv);
        pthread_mutex_unlock(&srv->mu);
}

static void on_wake(uv_async_t *handle)
{
        struct server *srv = handle->data;
        pthread_mutex_lock(&srv->mu);
        struct op *ops = srv->done_head;
        srv->done_head = srv->done_tail = NULL;
        bool roster_dirty = srv->roster_dirty;
        bool session_lost = srv->session_lost;
        srv->roster_dirty = false;
        pthread_mutex_unlock(&srv->mu);

        while (ops != NULL) {
                struct op *op = ops;
                ops = op->next;
                if (op->kind == OP_ROSTER)
                        roster_done(op);
                else
                        users_done(op);
        }
        if (session_lost) {
                fprintf(stderr, "chatnet-server: synod session expired; leaving\n");
                server_quit(srv, 1);
        } else if (roster_dirty) {
                roster_refresh(srv);
        }
}

int bridge_init(struct server *srv)
{
        if (pthread_mutex_init(&srv->mu, NULL) != 0)
                return -1;
        srv->wake.data = srv;
        return uv_async_init(srv->loop, &srv->wake, on_wake);
}

void bridge_close(struct server *srv)
{
        pthread_mutex_lock(&srv->mu);
        srv->bridge_closed = true;
        pthread_mutex_unlock(&srv->mu);
        uv_close((uv_handle_t *)&srv->wake, NULL);
}

void bridge_drain(struct server *srv)
{
        pthread_mutex_lock(&srv->mu);
        struct op *ops = srv->done_head;
        srv->done_head = srv->done_tail = NULL;
        pthread_mutex_unlock(&srv->mu);
        while (ops != NULL) {
                struct op *op = ops;
                ops = op->next;
                users_discard(op);
        }
}

void op_free(struct op *op)
{
        if (op == NULL)
                return;
        clear_result(op);
        free(op);
}
