/*
 * The HTTP side (README.md, "API"): libmicrohttpd with one thread per connection, so a
 * handler may block on synod, and the event stream may block waiting for a change.
 * Request bodies are JSON parsed by jansson; every answer is JSON, except the page and
 * the event stream.
 */
#include "booking.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Request bodies larger than this are refused (413): a booking is a few hundred bytes. */
#define BK_BODY_BYTES_MAX       (16 * 1024)
#define BK_HTTP_CONNECTIONS_MAX 256
/* Seconds a connection may stay silent; the event stream writes more often than this. */
#define BK_HTTP_IDLE_TIMEOUT_S 60
/* The event stream writes a comment this often, so a closed page is noticed. */
#define BK_SSE_KEEPALIVE_MS 10000
#define BK_SSE_BLOCK_BYTES  256

static struct bk_http_options options;

struct request {
        char *body;
        size_t len;
        bool too_big;
};

/* ---- answers ---- */

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *type,
                                 const void *body, size_t len)
{
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
        if (resp == NULL)
                return MHD_NO;
        MHD_add_response_header(resp, "Content-Type", type);
        MHD_add_response_header(resp, "Cache-Control", "no-store");
        enum MHD_Result r = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return r;
}

/* Sends value (a new reference, consumed) as JSON; NULL sends an empty body. */
static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, json_t *value)
{
        char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;
        json_decref(value);
        if (value != NULL && text == NULL)
                return send_text(conn, 500, "text/plain", "out of memory", 13);
        enum MHD_Result r =
            send_text(conn, status, "application/json", text ? text : "", text ? strlen(text) : 0);
        free(text);
        return r;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status, const char *why)
{
        return send_json(conn, status, json_pack("{s:s}", "error", why));
}

static enum MHD_Result send_status(struct MHD_Connection *conn, enum bk_status st, json_t *ok)
{
        switch (st) {
        case BK_OK:
                return send_json(conn, ok ? 200 : 204, ok);
        case BK_CONFLICT:
                json_decref(ok);
                return send_error(conn, 409, "conflict");
        case BK_NOT_FOUND:
                json_decref(ok);
                return send_error(conn, 404, "not found");
        case BK_UNAVAILABLE:
                break;
        }
        json_decref(ok);
        return send_error(conn, 503, "synod is not answering; try again");
}

/* ---- the event stream ---- */

struct stream {
        uint64_t seen; /* 0 until the first event (the current generation) is sent */
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
        struct stream *s = cls;
        uint64_t g = bk_events_wait(s->seen, s->seen == 0 ? 0 : BK_SSE_KEEPALIVE_MS);
        if (bk_events_stopped())
                return MHD_CONTENT_READER_END_OF_STREAM;
        int n = g > s->seen ? snprintf(buf, max, "data: %llu\n\n", (unsigned long long)g)
                            : snprintf(buf, max, ": still here\n\n");
        s->seen = g;
        return n < 0 || (size_t)n >= max ? MHD_CONTENT_READER_END_WITH_ERROR : n;
}

static enum MHD_Result send_stream(struct MHD_Connection *conn)
{
        struct stream *s = calloc(1, sizeof(*s));
        if (s == NULL)
                return MHD_NO;
        struct MHD_Response *resp = MHD_create_response_from_callback(
            MHD_SIZE_UNKNOWN, BK_SSE_BLOCK_BYTES, stream_read, s, free);
        if (resp == NULL) {
                free(s);
                return MHD_NO;
        }
        MHD_add_response_header(resp, "Content-Type", "text/event-stream");
        MHD_add_response_header(resp, "Cache-Control", "no-store");
        enum MHD_Result r = MHD_queue_response(conn, 200, resp);
        MHD_destroy_response(resp);
        return r;
}

/* ---- handlers ---- */

static json_t *parse_body(const struct request *req)
{
        return req->body ? json_loadb(req->body, req->len, 0, NULL) : NULL;
}

static enum MHD_Result post_room(struct MHD_Connection *conn, const struct request *req)
{
        json_t *body = parse_body(req);
        const char *name = json_string_value(json_object_get(body, "name"));
        enum MHD_Result r;
        if (name == NULL || !bk_room_name_ok(name)) {
                r = send_error(conn, 400, "name: 1-40 of A-Z a-z 0-9 . _ -");
        } else {
                enum bk_status st = bk_room_create(options.synod, name);
                r = st == BK_OK ? send_json(conn, 201, json_pack("{s:s}", "name", name))
                                : send_status(conn, st, NULL);
        }
        json_decref(body);
        return r;
}

static bool who_ok(const char *who)
{
        size_t n = strlen(who);
        if (n == 0 || n > BK_WHO_BYTES_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)who[i] < 0x20 || who[i] == 0x7f)
                        return false;
        return true;
}

static enum MHD_Result post_booking(struct MHD_Connection *conn, const struct request *req)
{
        json_t *body = parse_body(req);
        const char *room = json_string_value(json_object_get(body, "room"));
        const char *start = json_string_value(json_object_get(body, "start"));
        const char *end = json_string_value(json_object_get(body, "end"));
        const char *who = json_string_value(json_object_get(body, "who"));
        struct bk_booking b = {0};
        const char *bad = NULL;
        if (room == NULL || !bk_room_name_ok(room))
                bad = "room: the name of a room";
        else if (start == NULL || end == NULL || !bk_parse_time(start, &b.start_min) ||
                 !bk_parse_time(end, &b.end_min))
                bad = "start, end: YYYY-MM-DDTHH:MM";
        else if (b.end_min <= b.start_min)
                bad = "end must be after start";
        else if (b.end_min - b.start_min > (BK_SPAN_DAYS_MAX - 1) * BK_MINUTES_PER_DAY)
                bad = "a booking spans at most 7 days";
        else if (who == NULL || !who_ok(who))
                bad = "who: 1-64 bytes, no control characters";
        enum MHD_Result r;
        if (bad != NULL) {
                r = send_error(conn, 400, bad);
        } else {
                snprintf(b.room, sizeof(b.room), "%s", room);
                snprintf(b.start, sizeof(b.start), "%s", start);
                snprintf(b.end, sizeof(b.end), "%s", end);
                snprintf(b.who, sizeof(b.who), "%s", who);
                enum bk_status st = bk_book(options.synod, &b);
                r = st == BK_OK ? send_json(conn, 201, bk_booking_json(&b))
                                : send_status(conn, st, NULL);
        }
        json_decref(body);
        return r;
}

static bool id_ok(const char *id)
{
        if (strlen(id) != BK_ID_BYTES)
                return false;
        for (const char *p = id; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

static enum MHD_Result day_bookings(struct MHD_Connection *conn, const char *room)
{
        const char *date = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "date");
        int64_t day;
        if (date == NULL || !bk_parse_date(date, &day))
                return send_error(conn, 400, "date=YYYY-MM-DD");
        if (!bk_room_name_ok(room))
                return send_error(conn, 404, "not found");
        enum bk_status st = BK_OK;
        json_t *list = bk_day_list(options.synod, room, day, &st);
        return send_status(conn, st, list);
}

static enum MHD_Result servers(struct MHD_Connection *conn)
{
        enum bk_status st = BK_OK;
        json_t *list = bk_servers_list(options.synod, &st);
        if (list == NULL)
                return send_status(conn, st, NULL);
        return send_json(conn, 200,
                         json_pack("{s:s, s:o}", "self", options.self_addr, "servers", list));
}

static enum MHD_Result route(struct MHD_Connection *conn, const char *url, const char *method,
                             const struct request *req)
{
        bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
        bool del = strcmp(method, "DELETE") == 0;
        if (req->too_big)
                return send_error(conn, 413, "request body too large");
        if (get && strcmp(url, "/") == 0)
                return send_text(conn, 200, "text/html; charset=utf-8", booking_page,
                                 booking_page_len);
        if (get && strcmp(url, "/events") == 0)
                return send_stream(conn);
        if (get && strcmp(url, "/servers") == 0)
                return servers(conn);
        if (strcmp(url, "/rooms") == 0) {
                if (post)
                        return post_room(conn, req);
                enum bk_status st = BK_OK;
                json_t *rooms = get ? bk_rooms_list(options.synod, &st) : NULL;
                return get ? send_status(conn, st, rooms) : send_error(conn, 405, "GET or POST");
        }
        if (strcmp(url, "/bookings") == 0)
                return post ? post_booking(conn, req) : send_error(conn, 405, "POST");
        if (strncmp(url, "/bookings/", 10) == 0) {
                if (!del)
                        return send_error(conn, 405, "DELETE");
                if (!id_ok(url + 10))
                        return send_error(conn, 404, "not found");
                return send_status(conn, bk_cancel(options.synod, url + 10), NULL);
        }
        const char *tail = strncmp(url, "/rooms/", 7) == 0 ? strchr(url + 7, '/') : NULL;
        if (tail != NULL && strcmp(tail, "/bookings") == 0) {
                char room[BK_ROOM_BYTES_MAX + 2];
                size_t n = (size_t)(tail - (url + 7));
                if (n > BK_ROOM_BYTES_MAX)
                        return send_error(conn, 404, "not found");
                memcpy(room, url + 7, n);
                room[n] = '\0';
                return get ? day_bookings(conn, room) : send_error(conn, 405, "GET");
        }
        return send_error(conn, 404, "not found");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
        struct request *req = *state;
        if (req == NULL) { /* the headers: set up, the body (if any) comes next */
                req = calloc(1, sizeof(*req));
                *state = req;
                return req ? MHD_YES : MHD_NO;
        }
        if (*upload_size > 0) {
                if (!req->too_big && req->len + *upload_size <= BK_BODY_BYTES_MAX) {
                        char *grown = realloc(req->body, req->len + *upload_size);
                        if (grown == NULL)
                                return MHD_NO;
                        memcpy(grown + req->len, upload, *upload_size);
                        req->body = grown;
                        req->len += *upload_size;
                } else {
                        req->too_big = true;
                }
                *upload_size = 0;
                return MHD_YES;
        }
        return route(conn, url, method, req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
                         enum MHD_RequestTerminationCode why)
{
        struct request *req = *state;
        if (req != NULL)
                free(req->body);
        free(req);
        *state = NULL;
}

struct MHD_Daemon *bk_http_start(const char *ip, int port, const struct bk_http_options *opt)
{
        options = *opt;
        struct sockaddr_storage sa = {0};
        struct sockaddr_in *v4 = (struct sockaddr_in *)&sa;
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&sa;
        unsigned flags =
            MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
        if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
                v4->sin_family = AF_INET;
                v4->sin_port = htons((uint16_t)port);
        } else if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
                v6->sin6_family = AF_INET6;
                v6->sin6_port = htons((uint16_t)port);
                flags |= MHD_USE_IPv6;
        } else {
                return NULL;
        }
        return MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, NULL,
                                MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                MHD_OPTION_CONNECTION_LIMIT, (unsigned)BK_HTTP_CONNECTIONS_MAX,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)BK_HTTP_IDLE_TIMEOUT_S,
                                MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
}
