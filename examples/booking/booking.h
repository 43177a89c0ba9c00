/*
 * booking-server's parts. Every HTTP request runs on its own libmicrohttpd thread and
 * talks to synod with libsynod's blocking calls (any thread may make them); all shared
 * state lives in synod, so any booking server can take any request.
 *
 *   main.c    options, joining the group of servers, signals, shutdown
 *   http.c    routing, request bodies, JSON responses
 *   store.c   rooms and bookings in synod: the one atomic multi that decides overlap
 *   times.c   "YYYY-MM-DDTHH:MM" and the days a booking touches (pure)
 *   events.c  a change generation bumped by a recursive synod watch; the SSE stream
 *   page.html the web page (embedded at build time as booking_page)
 *
 * The synod tree (README.md, "Design"):
 *   /booking/servers/ADDR@INST        ephemeral: the live booking servers
 *   /booking/rooms/NAME               a room
 *   /booking/rooms/NAME/YYYY-MM-DD    a day of the room: JSON array of its bookings
 *   /booking/ids/ID                   {"room": NAME, "days": [...]}: where booking ID is
 */
#ifndef BOOKING_BOOKING_H
#define BOOKING_BOOKING_H

#include <synod/synod.h>

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BK_ROOT        "/booking"
#define BK_SERVERS_DIR "/booking/servers"
#define BK_ROOMS_DIR   "/booking/rooms"
#define BK_IDS_DIR     "/booking/ids"

/* A room name: 1..40 of [A-Za-z0-9._-], not "." or "..". */
#define BK_ROOM_BYTES_MAX 40
/* Who booked: 1..64 bytes, no control characters. */
#define BK_WHO_BYTES_MAX 64
/* "host:port" of a server. */
#define BK_ADDR_BYTES_MAX 64
/* A booking spans at most this many calendar days (a night across midnight is 2). */
#define BK_SPAN_DAYS_MAX 7
/* "YYYY-MM-DDTHH:MM" and "YYYY-MM-DD". */
#define BK_TIME_BYTES 16
#define BK_DATE_BYTES 10
/* Booking ids: 16 random bytes in hex. */
#define BK_ID_BYTES 32
/* Paths: the rooms directory, a room, a day. */
#define BK_PATH_BYTES_MAX  128
#define BK_MINUTES_PER_DAY 1440

/* ---- times.c ---- */

/* Minutes since 1970-01-01T00:00 of a strict "YYYY-MM-DDTHH:MM" (no zone: wall time). */
bool bk_parse_time(const char *s, int64_t *minutes);
/* Day number (days since 1970-01-01) of a strict "YYYY-MM-DD". */
bool bk_parse_date(const char *s, int64_t *day);
/* "YYYY-MM-DD" of a day number into buf (BK_DATE_BYTES + 1). */
void bk_format_date(int64_t day, char *buf);

/* ---- store.c ---- */

enum bk_status {
        BK_OK,
        BK_CONFLICT,    /* overlaps a booking, or the room exists */
        BK_NOT_FOUND,   /* no such room or booking */
        BK_UNAVAILABLE, /* synod did not answer in time (or the session is gone) */
};

struct bk_booking {
        char id[BK_ID_BYTES + 1];
        char room[BK_ROOM_BYTES_MAX + 1];
        char start[BK_TIME_BYTES + 1];
        char end[BK_TIME_BYTES + 1];
        char who[BK_WHO_BYTES_MAX + 1];
        int64_t start_min, end_min;
};

bool bk_room_name_ok(const char *name);
/* Creates the directories of the tree (start-up). */
int bk_store_init(struct synod *h);
/* JSON arrays, new references; NULL with *status set otherwise. */
json_t *bk_rooms_list(struct synod *h, enum bk_status *status);
json_t *bk_servers_list(struct synod *h, enum bk_status *status);
json_t *bk_day_list(struct synod *h, const char *room, int64_t day, enum bk_status *status);
enum bk_status bk_room_create(struct synod *h, const char *name);
/* Books b (fields checked by the caller; b->id is filled in on BK_OK). */
enum bk_status bk_book(struct synod *h, struct bk_booking *b);
enum bk_status bk_cancel(struct synod *h, const char *id);
json_t *bk_booking_json(const struct bk_booking *b);

/* ---- events.c ---- */

/* Starts the recursive watch on /booking; SYNOD_OK or the error. */
int bk_events_start(struct synod *h);
/* The current change generation; waits up to timeout_ms for it to pass `seen`. */
uint64_t bk_events_wait(uint64_t seen, int timeout_ms);
/* Wakes every waiter for good (shutdown). */
void bk_events_stop(void);
bool bk_events_stopped(void);

/* ---- http.c ---- */

struct MHD_Daemon;
struct bk_http_options {
        struct synod *synod;
        const char *self_addr;
};
struct MHD_Daemon *bk_http_start(const char *ip, int port, const struct bk_http_options *opt);

/* ---- page (generated from page.html) ---- */

extern const unsigned char booking_page[];
extern const size_t booking_page_len;

#endif
