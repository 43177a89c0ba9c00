/*
 * Registered users are persistent nodes /chatnet/users/NAME, so every server (also one
 * started later) knows them all, and create decides a name race: of two REGISTERs of
 * one name, on any servers, exactly one create succeeds.
 *
 * A create whose reply is lost (the synod server we talk to died) may or may not have
 * happened. The node's data starts with a nonce naming this REGISTER, so reading the
 * node back tells: our nonce, the name is ours; another, someone else won; no node,
 * nothing happened and we create again.
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool in_time(const struct op *op)
{
        return uv_now(op->conn->srv->loop) < op->deadline_ms;
}

static bool retryable(const struct op *op, int err)
{
        return (err == SYNOD_ECONNECTIONLOSS || err == SYNOD_EOPERATIONTIMEOUT) && in_time(op);
}

static void user_path(char *buf, const char *name)
{
        snprintf(buf, CHAT_PATH_BYTES_MAX, CHAT_USERS_DIR "/%s", name);
}

static int submit(struct op *op)
{
        char path[CHAT_PATH_BYTES_MAX];
        user_path(path, op->name);
        struct server *srv = op->conn->srv;
        if (op->kind == OP_USERS) { /* the list waits for the sync's answer: see list_done */
                struct synod_request req = {.op = op->synced ? SYNOD_OP_CHILDREN : SYNOD_OP_SYNC,
                                            .path = CHAT_USERS_DIR};
                return bridge_call(srv, &req, op);
        }
        if (op->kind == OP_REGISTER && !op->reading_back) {
                char data[sizeof(op->nonce) + CHAT_KEY_BYTES_MAX + 2];
                int n = snprintf(data, sizeof(data), "%s\n%s", op->nonce, op->key);
                struct synod_request req = {.op = SYNOD_OP_CREATE,
                                            .path = path,
                                            .data = data,
                                            .data_len = n,
                                            .mode = SYNOD_PERSISTENT};
                return bridge_call(srv, &req, op);
        }
        struct synod_request req = {.op = SYNOD_OP_GET, .path = path};
        return bridge_call(srv, &req, op);
}

static void finish(struct op *op, const char *reply)
{
        struct conn *c = op->conn;
        if (reply != NULL)
                conn_send_line(c, reply);
        op_free(op);
        conn_op_finished(c);
}

static void finish_error(struct op *op, int err)
{
        char line[CHAT_LINE_BYTES_MAX];
        snprintf(line, sizeof(line), "ERR synod: %s", synod_strerror(err));
        finish(op, line);
}

static void start(struct conn *c, enum op_kind kind, const char *name, const char *key)
{
        struct op *op = calloc(1, sizeof(*op));
        if (op == NULL) {
                conn_send_line(c, "ERR out of memory");
                return;
        }
        op->kind = kind;
        op->conn = c;
        snprintf(op->name, sizeof(op->name), "%s", name);
        snprintf(op->key, sizeof(op->key), "%s", key);
        snprintf(op->nonce, sizeof(op->nonce), "%s/%s/%llu", c->srv->addr, c->srv->instance,
                 (unsigned long long)++c->srv->nonce_counter);
        op->deadline_ms = uv_now(c->srv->loop) + SRV_OP_RETRY_MS_MAX;
        int rc = submit(op);
        if (rc != SYNOD_OK) { /* answered now: the connection goes on with its next line */
                char line[CHAT_LINE_BYTES_MAX];
                snprintf(line, sizeof(line), "ERR synod: %s", synod_strerror(rc));
                conn_send_line(c, line);
                op_free(op);
                return;
        }
        /* The result is queued for the loop, which runs only after we return. */
        c->busy = true;
        c->refs++;
}

void users_register(struct conn *c, const char *name, const char *key)
{
        start(c, OP_REGISTER, name, key);
}

void users_login(struct conn *c, const char *name, const char *key)
{
        start(c, OP_LOGIN, name, key);
}

void users_list(struct conn *c)
{
        start(c, OP_USERS, "", "");
}

/* Our user node's data is "nonce\nkey"; compares one of the two lines. */
static bool data_line_is(const char *data, int line, const char *want)
{
        if (data == NULL)
                return false;
        const char *nl = strchr(data, '\n');
        if (nl == NULL)
                return false;
        if (line == 0)
                return (size_t)(nl - data) == strlen(want) &&
                       strncmp(data, want, strlen(want)) == 0;
        return strcmp(nl + 1, want) == 0;
}

static void logged_in(struct op *op)
{
        snprintf(op->conn->name, sizeof(op->conn->name), "%s", op->name);
        finish(op, "OK");
}

static void resubmit(struct op *op)
{
        int rc = submit(op);
        if (rc != SYNOD_OK)
                finish_error(op, rc);
}

static void on_retry_timer(uv_timer_t *timer)
{
        struct server *srv = timer->data;
        struct op *ops = srv->retry_head;
        srv->retry_head = NULL;
        while (ops != NULL) {
                struct op *op = ops;
                ops = op->next;
                if (op->conn->closing)
                        users_discard(op);
                else
                        resubmit(op);
        }
}

/* After a connection loss: sends op again after a pause, so that a leader election that
 * closes connections several times is waited out instead of raced through. */
static void resubmit_later(struct op *op)
{
        struct server *srv = op->conn->srv;
        op->next = srv->retry_head;
        srv->retry_head = op;
        srv->retry_timer.data = srv;
        if (!uv_is_active((uv_handle_t *)&srv->retry_timer))
                uv_timer_start(&srv->retry_timer, on_retry_timer, SRV_OP_RETRY_PAUSE_MS, 0);
}

void users_discard_retries(struct server *srv)
{
        while (srv->retry_head != NULL) {
                struct op *op = srv->retry_head;
                srv->retry_head = op->next;
                users_discard(op);
        }
}

static void register_done(struct op *op)
{
        int err = op->err;
        if (!op->reading_back) {
                if (err == SYNOD_OK)
                        logged_in(op);
                else if (err == SYNOD_ENODEEXISTS && !op->lost_once)
                        finish(op, "TAKEN");
                else if (err == SYNOD_ENODEEXISTS && in_time(op)) {
                        op->reading_back = true; /* a reply was lost before: is it ours? */
                        resubmit(op);
                } else if (retryable(op, err)) {
                        op->lost_once = true; /* the node may be ours now: its nonce decides */
                        op->reading_back = true;
                        resubmit_later(op);
                } else
                        finish_error(op, err);
                return;
        }
        if (err == SYNOD_OK) {
                if (data_line_is(op->data, 0, op->nonce))
                        logged_in(op);
                else
                        finish(op, "TAKEN");
        } else if (err == SYNOD_ENONODE && in_time(op)) {
                op->reading_back = false; /* the lost create did not happen (yet, here) */
                resubmit_later(op);
        } else if (retryable(op, err)) {
                resubmit_later(op);
        } else {
                finish_error(op, err);
        }
}

static void login_done(struct op *op)
{
        if (op->err == SYNOD_OK && data_line_is(op->data, 1, op->key))
                logged_in(op);
        else if (op->err == SYNOD_OK)
                finish(op, "DENIED");
        else if (op->err == SYNOD_ENONODE)
                finish(op, "DENIED");
        else if (retryable(op, op->err))
                resubmit_later(op);
        else
                finish_error(op, op->err);
}

static void list_done(struct op *op)
{
        int err = op->err;
        if (err != SYNOD_OK) {
                op->synced = false; /* a list on a new connection needs its own sync */
                if (retryable(op, err))
                        resubmit_later(op);
                else
                        finish_error(op, err);
                return;
        }
        if (!op->synced) {
                op->synced = true;
                resubmit(op);
                return;
        }
        for (int32_t i = 0; i < op->child_count; i++)
                conn_send_line(op->conn, op->children[i]);
        finish(op, "END");
}

void users_done(struct op *op)
{
        if (op->conn->closing) { /* the user hung up meanwhile: nobody to answer */
                users_discard(op);
                return;
        }
        switch (op->kind) {
        case OP_REGISTER:
                register_done(op);
                break;
        case OP_LOGIN:
                login_done(op);
                break;
        case OP_USERS:
                list_done(op);
                break;
        case OP_ROSTER:
                break;
        }
}

void users_discard(struct op *op)
{
        struct conn *c = op->conn;
        op_free(op);
        if (c != NULL)
                conn_op_finished(c);
}
