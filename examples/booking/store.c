/*
 * Rooms and bookings in synod. Each day of a room is one node holding that day's
 * bookings as a JSON array, so deciding an overlap needs one read per day, and booking
 * is one multi that writes every day the booking touches with the version that read
 * saw (or creates a day nobody booked yet) and creates /booking/ids/ID. Two overlapping
 * requests on any servers read the same version of a day they share; the multi of the
 * first to commit bumps it, so the other's fails whole and re-reads: it now sees the
 * first booking and answers 409. A booking across midnight writes both days in the same
 * multi, so the check covers both.
 *
 * A lost reply (the synod server we talk to died) leaves "did it happen?"; the booking's
 * random id answers it: the multi created /booking/ids/ID with everything else or
 * nothing at all.
 */
#include "booking.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* How long a request keeps trying through connection losses (a leader election). */
#define BK_RETRY_MS_MAX 30000
/* Pause before retrying after a connection loss. */
#define BK_RETRY_PAUSE_MS 50
/* Multi rounds lost to concurrent writers of the same day before giving up (503). */
#define BK_CAS_ROUNDS_MAX 200

struct retry {
        int64_t deadline_ms;
        bool lost; /* a write's reply was lost: that write may have happened */
};

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void retry_init(struct retry *r)
{
        r->deadline_ms = now_ms() + BK_RETRY_MS_MAX;
        r->lost = false;
}

/* True if rc is a connection loss worth waiting out (after a short pause). */
static bool again(struct synod *h, int rc, struct retry *r)
{
        if (rc != SYNOD_ECONNECTIONLOSS && rc != SYNOD_EOPERATIONTIMEOUT)
                return false;
        enum synod_state s = synod_state(h);
        if (s == SYNOD_STATE_EXPIRED || s == SYNOD_STATE_CLOSED || now_ms() >= r->deadline_ms)
                return false;
        struct timespec ts = {0, BK_RETRY_PAUSE_MS * 1000000L};
        nanosleep(&ts, NULL);
        return true;
}

static bool random_hex(char *buf, size_t hex_len)
{
        unsigned char bytes[BK_ID_BYTES / 2];
        if (hex_len / 2 > sizeof(bytes) ||
            getrandom(bytes, hex_len / 2, 0) != (ssize_t)(hex_len / 2))
                return false;
        for (size_t i = 0; i < hex_len / 2; i++)
                snprintf(buf + 2 * i, 3, "%02x", bytes[i]);
        return true;
}

bool bk_room_name_ok(const char *name)
{
        size_t n = strlen(name);
        if (n == 0 || n > BK_ROOM_BYTES_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = name[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-'))
                        return false;
        }
        return true;
}

int bk_store_init(struct synod *h)
{
        const char *dirs[] = {BK_SERVERS_DIR, BK_ROOMS_DIR, BK_IDS_DIR};
        struct retry r;
        retry_init(&r);
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                int rc;
                do {
                        rc = synod_create_parents(h, dirs[i]);
                } while (rc != SYNOD_OK && again(h, rc, &r));
                if (rc != SYNOD_OK)
                        return rc;
        }
        return SYNOD_OK;
}

static void room_path(char *buf, const char *room)
{
        snprintf(buf, BK_PATH_BYTES_MAX, BK_ROOMS_DIR "/%s", room);
}

static void day_path(char *buf, const char *room, int64_t day)
{
        char date[BK_DATE_BYTES + 1];
        bk_format_date(day, date);
        snprintf(buf, BK_PATH_BYTES_MAX, BK_ROOMS_DIR "/%s/%s", room, date);
}

static enum bk_status status_of(int rc)
{
        return rc == SYNOD_ENONODE ? BK_NOT_FOUND : BK_UNAVAILABLE;
}

/* A sync then the children of dir: what every write that finished anywhere left. */
static int fresh_children(struct synod *h, const char *dir, char ***names, int32_t *count)
{
        struct retry r;
        retry_init(&r);
        int rc;
        do {
                rc = synod_sync(h, dir);
                if (rc == SYNOD_OK)
                        rc = synod_children(h, dir, names, count, NULL, NULL);
        } while (rc != SYNOD_OK && again(h, rc, &r));
        return rc;
}

json_t *bk_rooms_list(struct synod *h, enum bk_status *status)
{
        char **names;
        int32_t count;
        int rc = fresh_children(h, BK_ROOMS_DIR, &names, &count);
        if (rc != SYNOD_OK) {
                *status = status_of(rc);
                return NULL;
        }
        json_t *out = json_array();
        for (int32_t i = 0; i < count; i++)
                json_array_append_new(out, json_pack("{s:s}", "name", names[i]));
        synod_strings_free(names, count);
        return out;
}

json_t *bk_servers_list(struct synod *h, enum bk_status *status)
{
        char **names;
        int32_t count;
        int rc = fresh_children(h, BK_SERVERS_DIR, &names, &count);
        if (rc != SYNOD_OK) {
                *status = status_of(rc);
                return NULL;
        }
        json_t *out = json_array();
        for (int32_t i = 0; i < count; i++) { /* "ADDR@INST", sorted: equal ADDRs adjacent */
                char *at = strrchr(names[i], '@');
                if (at == NULL)
                        continue;
                *at = '\0';
                size_t n = json_array_size(out);
                if (n == 0 || strcmp(json_string_value(json_array_get(out, n - 1)), names[i]) != 0)
                        json_array_append_new(out, json_string(names[i]));
        }
        synod_strings_free(names, count);
        return out;
}

/* The bookings stored in a day node; an empty array for no data or data not ours. */
static json_t *parse_day(const char *data)
{
        json_t *day = data ? json_loads(data, 0, NULL) : NULL;
        if (!json_is_array(day)) {
                json_decref(day);
                day = json_array();
        }
        return day;
}

json_t *bk_day_list(struct synod *h, const char *room, int64_t day, enum bk_status *status)
{
        char path[BK_PATH_BYTES_MAX], rpath[BK_PATH_BYTES_MAX];
        day_path(path, room, day);
        room_path(rpath, room);
        struct retry r;
        retry_init(&r);
        char *data = NULL;
        int rc;
        do {
                rc = synod_sync(h, rpath);
                if (rc == SYNOD_OK)
                        rc = synod_get(h, path, &data, NULL, NULL, NULL, NULL);
                if (rc == SYNOD_ENONODE) /* nobody booked that day, if the room exists */
                        rc = synod_exists(h, rpath, NULL, NULL, NULL);
        } while (rc != SYNOD_OK && again(h, rc, &r));
        if (rc != SYNOD_OK) {
                *status = status_of(rc);
                return NULL;
        }
        json_t *out = parse_day(data);
        free(data);
        return out;
}

enum bk_status bk_room_create(struct synod *h, const char *name)
{
        char path[BK_PATH_BYTES_MAX], nonce[BK_ID_BYTES + 1];
        room_path(path, name);
        if (!random_hex(nonce, BK_ID_BYTES))
                return BK_UNAVAILABLE;
        struct retry r;
        retry_init(&r);
        int rc;
        do {
                rc = synod_create(h, path, nonce, BK_ID_BYTES, SYNOD_PERSISTENT, NULL);
                r.lost = r.lost || rc == SYNOD_ECONNECTIONLOSS;
                if (rc == SYNOD_ENODEEXISTS && r.lost) { /* ours, if our nonce is in it */
                        char *data = NULL;
                        rc = synod_get(h, path, &data, NULL, NULL, NULL, NULL);
                        if (rc == SYNOD_OK && strcmp(data, nonce) != 0)
                                rc = SYNOD_ENODEEXISTS;
                        free(data);
                }
        } while (rc != SYNOD_OK && again(h, rc, &r));
        if (rc == SYNOD_OK)
                return BK_OK;
        return rc == SYNOD_ENODEEXISTS ? BK_CONFLICT : BK_UNAVAILABLE;
}

json_t *bk_booking_json(const struct bk_booking *b)
{
        return json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", b->id, "room", b->room, "start",
                         b->start, "end", b->end, "who", b->who);
}

static bool overlaps(const struct bk_booking *b, json_t *other)
{
        int64_t s, e;
        const char *os = json_string_value(json_object_get(other, "start"));
        const char *oe = json_string_value(json_object_get(other, "end"));
        if (os == NULL || oe == NULL || !bk_parse_time(os, &s) || !bk_parse_time(oe, &e))
                return false; /* not a booking we wrote: ignored */
        return b->start_min < e && s < b->end_min;
}

static int64_t floor_div(int64_t a, int64_t b)
{
        return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* What one round of bk_book read and will write, per day. */
struct day_write {
        char path[BK_PATH_BYTES_MAX];
        int32_t version; /* -1: the day node does not exist yet */
        char *data;      /* the new array, with our booking */
};

/* What one round of bk_book found in the days it read. */
enum day_read {
        DAYS_FIT,      /* the writes are prepared */
        DAYS_CONFLICT, /* a booking read overlaps ours */
        DAYS_OURS,     /* ours is there: an earlier round's multi happened, its reply lost */
        DAYS_FAILED,   /* the synod error is in *rc */
};

static enum day_read read_days(struct synod *h, const struct bk_booking *b, int64_t first, int n,
                               struct day_write *w, int *rc)
{
        json_t *mine = bk_booking_json(b);
        enum day_read st = DAYS_FIT;
        for (int i = 0; i < n && st == DAYS_FIT; i++) {
                day_path(w[i].path, b->room, first + i);
                char *data = NULL;
                struct synod_stat stat = {0};
                *rc = synod_get(h, w[i].path, &data, NULL, &stat, NULL, NULL);
                if (*rc != SYNOD_OK && *rc != SYNOD_ENONODE) {
                        st = DAYS_FAILED;
                        break;
                }
                w[i].version = *rc == SYNOD_OK ? stat.version : -1;
                *rc = SYNOD_OK;
                json_t *day = parse_day(data);
                free(data);
                size_t k;
                json_t *other;
                json_array_foreach(day, k, other)
                {
                        const char *oid = json_string_value(json_object_get(other, "id"));
                        if (oid != NULL && strcmp(oid, b->id) == 0)
                                st = DAYS_OURS;
                        else if (st == DAYS_FIT && overlaps(b, other))
                                st = DAYS_CONFLICT;
                }
                json_array_append(day, mine);
                w[i].data = json_dumps(day, JSON_COMPACT);
                json_decref(day);
                if (w[i].data == NULL) {
                        *rc = SYNOD_ESYSTEMERROR;
                        st = DAYS_FAILED;
                }
        }
        json_decref(mine);
        return st;
}

/* Builds and runs the multi: every day at the version read, and the id node. */
static int write_days(struct synod *h, const struct bk_booking *b, struct day_write *w, int n,
                      int *failed_op)
{
        struct synod_request ops[BK_SPAN_DAYS_MAX + 1];
        memset(ops, 0, sizeof(ops));
        for (int i = 0; i < n; i++) {
                ops[i].op = w[i].version < 0 ? SYNOD_OP_CREATE : SYNOD_OP_SET;
                ops[i].path = w[i].path;
                ops[i].data = w[i].data;
                ops[i].data_len = (int32_t)strlen(w[i].data);
                ops[i].version = w[i].version;
                ops[i].mode = SYNOD_PERSISTENT;
        }
        char id_path[BK_PATH_BYTES_MAX];
        snprintf(id_path, sizeof(id_path), BK_IDS_DIR "/%s", b->id);
        json_t *days = json_array();
        for (int i = 0; i < n; i++)
                json_array_append_new(days, json_string(strrchr(w[i].path, '/') + 1));
        json_t *where = json_pack("{s:s, s:o}", "room", b->room, "days", days);
        char *where_text = json_dumps(where, JSON_COMPACT);
        json_decref(where);
        if (where_text == NULL)
                return SYNOD_ESYSTEMERROR;
        ops[n] = (struct synod_request){.op = SYNOD_OP_CREATE,
                                        .path = id_path,
                                        .data = where_text,
                                        .data_len = (int32_t)strlen(where_text),
                                        .mode = SYNOD_PERSISTENT};
        struct synod_request multi = {.op = SYNOD_OP_MULTI, .ops = ops, .op_count = n + 1};
        struct synod_result *res = NULL;
        int rc = synod_call_sync(h, &multi, &res);
        *failed_op = -1;
        for (int32_t i = 0; res != NULL && i < res->result_count; i++)
                if (res->results[i].err != SYNOD_OK &&
                    res->results[i].err != SYNOD_ERUNTIMEINCONSISTENCY && *failed_op < 0)
                        *failed_op = i;
        synod_result_free(res);
        free(where_text);
        return rc;
}

/* After a lost reply: does our id node exist (then the whole multi happened)? */
static int id_exists(struct synod *h, const char *id, struct retry *r)
{
        char path[BK_PATH_BYTES_MAX];
        snprintf(path, sizeof(path), BK_IDS_DIR "/%s", id);
        int rc;
        do { /* the sync lets a new leader commit what the old one left first */
                rc = synod_sync(h, BK_IDS_DIR);
                if (rc == SYNOD_OK)
                        rc = synod_exists(h, path, NULL, NULL, NULL);
        } while (rc != SYNOD_OK && rc != SYNOD_ENONODE && again(h, rc, r));
        return rc;
}

enum bk_status bk_book(struct synod *h, struct bk_booking *b)
{
        int64_t first = floor_div(b->start_min, BK_MINUTES_PER_DAY);
        int n = (int)(floor_div(b->end_min - 1, BK_MINUTES_PER_DAY) - first + 1);
        if (n < 1 || n > BK_SPAN_DAYS_MAX || !random_hex(b->id, BK_ID_BYTES))
                return BK_UNAVAILABLE;
        struct retry r;
        retry_init(&r);
        for (int round = 0; round < BK_CAS_ROUNDS_MAX; round++) {
                struct day_write w[BK_SPAN_DAYS_MAX];
                memset(w, 0, sizeof(w));
                int rc = SYNOD_OK, failed_op = -1;
                enum day_read st = read_days(h, b, first, n, w, &rc);
                if (st == DAYS_FIT) {
                        rc = write_days(h, b, w, n, &failed_op);
                        r.lost = r.lost || rc == SYNOD_ECONNECTIONLOSS;
                }
                for (int i = 0; i < n; i++)
                        free(w[i].data);
                if (st == DAYS_OURS)
                        return BK_OK;
                if (st == DAYS_CONFLICT)
                        return BK_CONFLICT;
                if (rc == SYNOD_OK)
                        return BK_OK;
                if (again(h, rc, &r)) {
                        if (!r.lost)
                                continue;
                        int ex = id_exists(h, b->id, &r);
                        if (ex == SYNOD_OK)
                                return BK_OK; /* our multi happened; its reply was lost */
                        if (ex != SYNOD_ENONODE)
                                return BK_UNAVAILABLE;
                        continue;
                }
                if (rc == SYNOD_ENONODE)
                        return BK_NOT_FOUND; /* a day create found no room */
                if (rc == SYNOD_ENODEEXISTS && failed_op == n && !random_hex(b->id, BK_ID_BYTES))
                        return BK_UNAVAILABLE; /* (an id collision: a new id) */
                if (rc != SYNOD_EBADVERSION && rc != SYNOD_ENODEEXISTS)
                        return BK_UNAVAILABLE;
                synod_sync(h, BK_ROOMS_DIR); /* someone wrote a day we read: read it fresh */
        }
        return BK_UNAVAILABLE;
}

/* Removes booking id from every day it is in, and its id node, in one multi. */
enum bk_status bk_cancel(struct synod *h, const char *id)
{
        char id_path[BK_PATH_BYTES_MAX];
        snprintf(id_path, sizeof(id_path), BK_IDS_DIR "/%s", id);
        struct retry r;
        retry_init(&r);
        for (int round = 0; round < BK_CAS_ROUNDS_MAX; round++) {
                char *where_text = NULL;
                int rc = synod_get(h, id_path, &where_text, NULL, NULL, NULL, NULL);
                if (rc == SYNOD_ENONODE) /* gone: by us if a reply was lost, else never there */
                        return r.lost ? BK_OK : BK_NOT_FOUND;
                if (rc != SYNOD_OK) {
                        if (again(h, rc, &r))
                                continue;
                        return BK_UNAVAILABLE;
                }
                json_t *where = json_loads(where_text, 0, NULL);
                free(where_text);
                const char *room = json_string_value(json_object_get(where, "room"));
                json_t *days = json_object_get(where, "days");
                size_t n = json_array_size(days);
                if (room == NULL || n == 0 || n > BK_SPAN_DAYS_MAX) {
                        json_decref(where);
                        return BK_NOT_FOUND; /* not a booking we wrote */
                }
                struct synod_request ops[BK_SPAN_DAYS_MAX + 1];
                char paths[BK_SPAN_DAYS_MAX][BK_PATH_BYTES_MAX];
                char *texts[BK_SPAN_DAYS_MAX] = {0};
                memset(ops, 0, sizeof(ops));
                rc = SYNOD_OK;
                for (size_t i = 0; i < n && rc == SYNOD_OK; i++) {
                        snprintf(paths[i], BK_PATH_BYTES_MAX, BK_ROOMS_DIR "/%s/%s", room,
                                 json_string_value(json_array_get(days, i)));
                        char *data = NULL;
                        struct synod_stat stat = {0};
                        rc = synod_get(h, paths[i], &data, NULL, &stat, NULL, NULL);
                        json_t *day = parse_day(data);
                        free(data);
                        for (size_t k = json_array_size(day); k-- > 0;) {
                                const char *bid = json_string_value(
                                    json_object_get(json_array_get(day, k), "id"));
                                if (bid != NULL && strcmp(bid, id) == 0)
                                        json_array_remove(day, k);
                        }
                        texts[i] = json_dumps(day, JSON_COMPACT);
                        json_decref(day);
                        if (texts[i] == NULL)
                                rc = SYNOD_ESYSTEMERROR;
                        ops[i] = (struct synod_request){
                            .op = SYNOD_OP_SET,
                            .path = paths[i],
                            .data = texts[i],
                            .data_len = texts[i] ? (int32_t)strlen(texts[i]) : 0,
                            .version = stat.version};
                }
                json_decref(where);
                ops[n] =
                    (struct synod_request){.op = SYNOD_OP_DELETE, .path = id_path, .version = -1};
                if (rc == SYNOD_OK) {
                        struct synod_request multi = {
                            .op = SYNOD_OP_MULTI, .ops = ops, .op_count = (int32_t)n + 1};
                        rc = synod_call_sync(h, &multi, NULL);
                        r.lost = r.lost || rc == SYNOD_ECONNECTIONLOSS;
                }
                for (size_t i = 0; i < n; i++)
                        free(texts[i]);
                if (rc == SYNOD_OK)
                        return BK_OK;
                if (again(h, rc, &r))
                        continue;
                if (rc != SYNOD_EBADVERSION && rc != SYNOD_ENONODE)
                        return BK_UNAVAILABLE;
                synod_sync(h, BK_ROOMS_DIR); /* a day changed meanwhile: read again */
        }
        return BK_UNAVAILABLE;
}
