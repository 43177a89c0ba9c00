/*
 * The admin server's HTTP side: libmicrohttpd with its internal polling thread,
 * and the hand-over of requests to the loop thread (see admin.h).
 *
 * A request's life: MHD calls on_request once when the headers arrive (we only
 * attach our struct), then with each piece of the body (kept, up to
 * ADMIN_BODY_BYTES_MAX: a larger one is answered 413 here), then once more when the
 * body is read: the request is queued, its connection suspended and the loop woken. The loop
 * answers with admin_respond, which stores the answer and resumes the connection; MHD then calls
 * on_request a third time and the stored answer is queued. on_completed frees the request. The
 * queue and the answer hand-over are under one mutex; MHD may resume from any thread
 * (suspend/resume implies its inter-thread channel).
 *
 * The listening socket is bound here, before MHD starts, so a bind failure is
 * reported with the address and errno, and port 0 can be resolved; MHD owns it after.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin/admin.h"
#include "base/assert.h"
#include "base/err.h"
#include "base/limits.h"

enum req_state { REQ_NEW, REQ_QUEUED, REQ_DONE };

/* The first buffer for a request body, bytes (then doubled as needed). */
enum { BODY_CAP_MIN = 4096 };

struct admin_request {
        struct admin_request *next; /* in the queue */
        struct MHD_Connection *conn;
        enum req_state state;
        char method[16];
        char *path;
        char *authorization;
        uint8_t *request_body; /* malloc'd; NULL while empty */
        size_t request_body_len, request_body_cap;
        bool too_large;
        unsigned status;
        const char *content_type;
        uint8_t *body; /* malloc'd; handed to MHD with the response */
        size_t body_len;
        int file_fd; /* >= 0: answer with this file instead of body (owned until handed to MHD) */
        uint64_t file_size;
};

struct admin_server {
        struct MHD_Daemon *daemon;
        int listen_fd;
        uint16_t port;
        void (*notify)(void *arg);
        void *notify_arg;
        pthread_mutex_t mu;
        struct admin_request *head, *tail; /* queued, not yet taken by the loop */
        bool stopping;
};

static void request_free(struct admin_request *r)
{
        if (r->file_fd >= 0)
                close(r->file_fd);
        free(r->path);
        free(r->authorization);
        free(r->request_body);
        free(r->body);
        free(r);
}

/* Queues resp (taken) with its content type. */
static enum MHD_Result queue(struct MHD_Connection *c, unsigned status, const char *content_type,
                             struct MHD_Response *resp)
{
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        enum MHD_Result rc = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return rc;
}

static enum MHD_Result queue_answer(struct MHD_Connection *c, unsigned status,
                                    const char *content_type, uint8_t *body, size_t len)
{
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (resp == NULL) {
                free(body);
                return MHD_NO;
        }
        return queue(c, status, content_type, resp);
}

/* Streams the file from its current offset; MHD closes fd with the response (with
 * sendfile where it can: the bytes do not pass through this process's memory). */
static enum MHD_Result queue_file(struct MHD_Connection *c, const char *content_type, int fd,
                                  uint64_t size)
{
        struct MHD_Response *resp = MHD_create_response_from_fd64(size, fd);
        if (resp == NULL) {
                close(fd);
                return MHD_NO;
        }
        return queue(c, MHD_HTTP_OK, content_type, resp);
}

static enum MHD_Result answer_text(struct MHD_Connection *c, unsigned status, const char *text)
{
        char *body = strdup(text);
        if (body == NULL)
                return MHD_NO;
        return queue_answer(c, status, "text/plain", (uint8_t *)body, strlen(body));
}

/* The first call with the whole request: copy what the loop needs, queue, suspend. */
static enum MHD_Result enqueue(struct admin_server *a, struct admin_request *r,
                               struct MHD_Connection *c, const char *url, const char *method)
{
        snprintf(r->method, sizeof r->method, "%s", method);
        r->path = strdup(url);
        const char *auth =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        r->authorization = auth != NULL ? strdup(auth) : NULL;
        if (r->path == NULL || (auth != NULL && r->authorization == NULL))
                return MHD_NO;
        pthread_mutex_lock(&a->mu);
        if (a->stopping) {
                pthread_mutex_unlock(&a->mu);
                return answer_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "server stopping\n");
        }
        r->state = REQ_QUEUED;
        if (a->tail != NULL)
                a->tail->next = r;
        else
                a->head = r;
        a->tail = r;
        /* Under mu: admin_respond cannot resume before the suspension. */
        MHD_suspend_connection(c);
        pthread_mutex_unlock(&a->mu);
        a->notify(a->notify_arg);
        return MHD_YES;
}

/* Appends a piece of the body, growing the buffer geometrically (pieces are small: a
 * copy per piece would be quadratic); past ADMIN_BODY_BYTES_MAX the body is dropped and
 * the request marked to be refused once it is all read. */
static void keep_body(struct admin_request *r, const char *piece, size_t len)
{
        if (r->too_large)
                return;
        size_t need = r->request_body_len + len;
        if (len > ADMIN_BODY_BYTES_MAX - r->request_body_len) {
                r->too_large = true;
        } else if (need > r->request_body_cap) {
                size_t cap = r->request_body_cap != 0 ? r->request_body_cap : BODY_CAP_MIN;
                while (cap < need)
                        cap *= 2;
                uint8_t *grown = realloc(r->request_body, cap);
                if (grown != NULL) {
                        r->request_body = grown;
                        r->request_body_cap = cap;
                }
                r->too_large = grown == NULL; /* as good as too large: it cannot be kept */
        }
        if (r->too_large) {
                free(r->request_body);
                r->request_body = NULL;
                r->request_body_len = r->request_body_cap = 0;
                return;
        }
        memcpy(r->request_body + r->request_body_len, piece, len);
        r->request_body_len = need;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
        (void)version;
        (void)upload_data;
        struct admin_server *a = cls;
        struct admin_request *r = *con_cls;
        if (r == NULL) {
                r = calloc(1, sizeof *r);
                if (r == NULL)
                        return MHD_NO;
                r->conn = c;
                r->file_fd = -1;
                *con_cls = r;
                return MHD_YES;
        }
        if (*upload_data_size != 0) {
                keep_body(r, upload_data, *upload_data_size);
                *upload_data_size = 0;
                return MHD_YES;
        }
        switch (r->state) {
        case REQ_NEW:
                if (r->too_large)
                        return answer_text(c, MHD_HTTP_CONTENT_TOO_LARGE,
                                           "request body too large\n");
                return enqueue(a, r, c, url, method);
        case REQ_DONE: {
                if (r->file_fd >= 0) {
                        int fd = r->file_fd;
                        r->file_fd = -1;
                        return queue_file(c, r->content_type, fd, r->file_size);
                }
                uint8_t *body = r->body;
                r->body = NULL;
                return queue_answer(c, r->status, r->content_type, body, r->body_len);
        }
        case REQ_QUEUED:
                break;
        }
        SYN_UNREACHABLE();
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        (void)cls;
        (void)c;
        (void)toe;
        struct admin_request *r = *con_cls;
        if (r == NULL)
                return;
        SYN_ASSERT(r->state != REQ_QUEUED); /* a suspended connection does not complete */
        request_free(r);
        *con_cls = NULL;
}

/* Binds address:port with SO_REUSEADDR, as the client listener does. */
static int bind_listener(const char *address, uint16_t port, int *fd_out, uint16_t *bound,
                         char *error, size_t error_size)
{
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof ss);
        socklen_t len;
        struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, address, &v4->sin_addr) == 1) {
                v4->sin_family = AF_INET;
                v4->sin_port = htons(port);
                len = sizeof *v4;
        } else if (inet_pton(AF_INET6, address, &v6->sin6_addr) == 1) {
                v6->sin6_family = AF_INET6;
                v6->sin6_port = htons(port);
                len = sizeof *v6;
        } else {
                snprintf(error, error_size, "admin.serverAddress %s is not an IP address", address);
                return SYN_ECONFIG;
        }
        int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
            bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, NET_LISTEN_BACKLOG) != 0 ||
            getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
                snprintf(error, error_size, "cannot listen on %s:%u (admin.serverPort): %s",
                         address, (unsigned)port, strerror(errno));
                if (fd >= 0)
                        close(fd);
                return SYN_ESYS;
        }
        *bound = ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
        *fd_out = fd;
        return SYN_OK;
}

int admin_start(struct admin_server **out, const struct admin_options *o, char *error,
                size_t error_size)
{
        SYN_ASSERT(o->notify != NULL);
        *out = NULL;
        struct admin_server *a = calloc(1, sizeof *a);
        if (a == NULL)
                return SYN_ENOMEM;
        a->notify = o->notify;
        a->notify_arg = o->notify_arg;
        pthread_mutex_init(&a->mu, NULL);
        int rc = bind_listener(o->address, o->port, &a->listen_fd, &a->port, error, error_size);
        if (rc != SYN_OK) {
                pthread_mutex_destroy(&a->mu);
                free(a);
                return rc;
        }
        unsigned timeout_s = (o->idle_timeout_ms + 999) / 1000;
        a->daemon = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL,
            NULL, on_request, a, MHD_OPTION_LISTEN_SOCKET, a->listen_fd,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)ADMIN_CONNECTIONS_MAX,
            MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
            NULL, MHD_OPTION_END);
        if (a->daemon == NULL) {
                /* The socket is MHD's once given to it (it closes it on stop); whether a
                 * failed start closed it is not said, so it is left rather than risk
                 * closing a descriptor the WAL thread may have been handed since. */
                snprintf(error, error_size, "cannot start the admin server on %s:%u", o->address,
                         (unsigned)a->port);
                pthread_mutex_destroy(&a->mu);
                free(a);
                return SYN_ESYS;
        }
        *out = a;
        return SYN_OK;
}

uint16_t admin_port(const struct admin_server *a)
{
        return a->port;
}

struct admin_request *admin_next(struct admin_server *a)
{
        pthread_mutex_lock(&a->mu);
        struct admin_request *r = a->head;
        if (r != NULL) {
                a->head = r->next;
                if (a->head == NULL)
                        a->tail = NULL;
                r->next = NULL;
        }
        pthread_mutex_unlock(&a->mu);
        return r;
}

const char *admin_request_method(const struct admin_request *r)
{
        return r->method;
}

const char *admin_request_path(const struct admin_request *r)
{
        return r->path;
}

const char *admin_request_authorization(const struct admin_request *r)
{
        return r->authorization;
}

const uint8_t *admin_request_body(const struct admin_request *r, size_t *len)
{
        *len = r->request_body_len;
        return r->request_body;
}

/* Stores the answer and resumes; called with mu held. */
static void respond_locked(struct admin_request *r, unsigned status, const char *content_type,
                           uint8_t *body, size_t len)
{
        SYN_ASSERT(r->state == REQ_QUEUED);
        r->status = status;
        r->content_type = content_type;
        r->body = body;
        r->body_len = len;
        r->state = REQ_DONE;
        MHD_resume_connection(r->conn);
}

void admin_respond(struct admin_server *a, struct admin_request *r, unsigned status,
                   const char *content_type, struct syn_writer *body)
{
        size_t len = 0;
        uint8_t *data = syn_writer_take(body, &len);
        if (data == NULL && len == 0)
                data = calloc(1, 1); /* MHD wants a buffer it may free */
        pthread_mutex_lock(&a->mu);
        respond_locked(r, status, content_type, data, len);
        pthread_mutex_unlock(&a->mu);
}

void admin_respond_file(struct admin_server *a, struct admin_request *r, const char *content_type,
                        int fd, uint64_t size)
{
        SYN_ASSERT(fd >= 0);
        pthread_mutex_lock(&a->mu);
        r->file_fd = fd;
        r->file_size = size;
        respond_locked(r, MHD_HTTP_OK, content_type, NULL, 0);
        pthread_mutex_unlock(&a->mu);
}

void admin_stop(struct admin_server *a)
{
        if (a == NULL)
                return;
        pthread_mutex_lock(&a->mu);
        a->stopping = true;
        /* MHD refuses to stop with suspended connections: answer what is queued. */
        while (a->head != NULL) {
                struct admin_request *r = a->head;
                a->head = r->next;
                r->next = NULL;
                char *body = strdup("server stopping\n");
                respond_locked(r, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", (uint8_t *)body,
                               body != NULL ? strlen(body) : 0);
        }
        a->tail = NULL;
        pthread_mutex_unlock(&a->mu);
        MHD_stop_daemon(a->daemon); /* closes the listening socket too */
        pthread_mutex_destroy(&a->mu);
        free(a);
}
