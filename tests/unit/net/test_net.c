/*
 * Unit tests of src/net with a real loop on 127.0.0.1 and a client thread using
 * blocking sockets: frames split into single bytes arrive whole and in order,
 * replies queued in one iteration arrive, a four-letter word is recognised and
 * answered before the close, a hostile length closes the connection, and a
 * server that pauses a connection gets no frames until it resumes, replies
 * far larger than the socket buffers arrive whole and in order, and over the
 * clients' memory budget the connection holding the most is closed while a
 * small one goes on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/log.h"
#include "net/net.h"

enum { FRAMES_MAX = 64 };

struct fixture {
        struct net net;
        struct net_async done;
        int port;
        /* server side observations */
        int frames;
        uint32_t frame_values[FRAMES_MAX];
        char word[8];
        int closes;
        bool pause_after_first;
        struct net_conn *paused;
        /* client side observations */
        uint8_t reply[256];
        size_t reply_len;
        bool saw_eof;
        void (*client)(struct fixture *f);
        /* big replies: every frame is answered with BIG_REPLY_BYTES of a pattern */
        bool big_replies;
        int big_frames_verified;
        /* budget: a frame of BURST_VALUE is answered with BURST_REPLIES big replies */
        uint64_t budget; /* client_memory_max; 0: 64 MiB */
        int small_replies_read;
        bool burster_closed;
};

/* One frame's answer: 16 MiB, more than the kernel's socket buffers take (tcp_wmem's
 * default maximum is 4 MiB), so most of it stays with the server, over BUDGET_BYTES. */
enum { BURST_VALUE = 0xb0b0b0, BURST_REPLIES = 64, BUDGET_BYTES = 1024 * 1024 };

/* 40 replies of 256 KiB: far over the socket buffers and the output soft limit, so
 * writes go out in part, the rest through uv_write, and reading pauses and resumes
 * while frames of one read wait in the input buffer. */
enum { BIG_FRAMES = 40, BIG_REPLY_BYTES = 256 * 1024 };

static uint8_t big_pattern(uint32_t value, size_t i)
{
        return (uint8_t)(value * 31u + i * 7u + (i >> 9));
}

static void send_big_reply(struct net_conn *conn, uint32_t value)
{
        static uint8_t reply[4 + BIG_REPLY_BYTES];
        syn_put_be32(reply, BIG_REPLY_BYTES);
        for (size_t i = 0; i < BIG_REPLY_BYTES; i++)
                reply[4 + i] = big_pattern(value, i);
        assert_int_equal(net_conn_send(conn, reply, sizeof reply), 0);
}

static bool on_accept(void *arg, struct net_conn *conn, const char *ip)
{
        (void)arg;
        (void)conn;
        return strcmp(ip, "127.0.0.1") == 0;
}

static void on_frame(void *arg, struct net_conn *conn, const uint8_t *data, size_t len)
{
        struct fixture *f = arg;
        assert_int_equal(len, 4);
        if (f->frames < FRAMES_MAX)
                f->frame_values[f->frames] = syn_get_be32(data);
        f->frames++;
        if (f->big_replies) {
                send_big_reply(conn, syn_get_be32(data));
                return;
        }
        if (syn_get_be32(data) == BURST_VALUE) {
                for (int i = 0; i < BURST_REPLIES; i++)
                        send_big_reply(conn, BURST_VALUE);
                return;
        }
        uint8_t echo[8];
        syn_put_be32(echo, 4);
        memcpy(echo + 4, data, 4);
        assert_int_equal(net_conn_send(conn, echo, sizeof echo), 0);
        if (f->pause_after_first && f->frames == 1) {
                net_conn_pause_reading(conn, true);
                f->paused = conn;
        }
}

static void on_fourlw(void *arg, struct net_conn *conn, const char *word)
{
        struct fixture *f = arg;
        snprintf(f->word, sizeof f->word, "%s", word);
        net_conn_send(conn, "imok", 4);
        net_conn_close(conn, true);
}

static void on_close(void *arg, struct net_conn *conn)
{
        struct fixture *f = arg;
        (void)conn;
        f->closes++;
}

static void on_tick(void *arg)
{
        struct fixture *f = arg;
        if (f->paused != NULL) { /* resume a tick later: frames must have waited */
                assert_int_equal(f->frames, 1);
                net_conn_pause_reading(f->paused, false);
                f->paused = NULL;
        }
}

static void on_done(void *arg)
{
        struct fixture *f = arg;
        net_stop(&f->net);
}

static int client_connect(struct fixture *f)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
        return fd;
}

/* Reads until EOF or `want` bytes. */
static void client_read(struct fixture *f, int fd, size_t want)
{
        while (f->reply_len < want && f->reply_len < sizeof f->reply) {
                ssize_t n = read(fd, f->reply + f->reply_len, sizeof f->reply - f->reply_len);
                if (n <= 0) {
                        f->saw_eof = true;
                        return;
                }
                f->reply_len += (size_t)n;
        }
}

static void *client_main(void *arg)
{
        struct fixture *f = arg;
        f->client(f);
        net_async_send(&f->done);
        return NULL;
}

static void run(struct fixture *f)
{
        syn_log_configure(SYN_LOG_ERROR, NULL, NULL);
        struct net_options o = {
            .address = "127.0.0.1",
            .port = 0,
            .frame_bytes_max = 1024,
            .tick_ms = 20,
            .client_memory_max = f->budget != 0 ? f->budget : 64 * 1024 * 1024,
            .callbacks = {.on_accept = on_accept,
                          .on_frame = on_frame,
                          .on_fourlw = on_fourlw,
                          .on_close = on_close,
                          .on_tick = on_tick},
            .arg = f,
        };
        assert_int_equal(net_init(&f->net, &o), 0);
        assert_int_equal(net_async_init(&f->net, &f->done, on_done, f), 0);
        f->port = net_port(&f->net);
        assert_true(f->port > 0);
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, client_main, f), 0);
        net_run(&f->net);
        pthread_join(t, NULL);
        net_close(&f->net);
}

static void send_frames_bytewise(struct fixture *f)
{
        int fd = client_connect(f);
        for (uint32_t v = 1; v <= 3; v++) {
                uint8_t frame[8];
                syn_put_be32(frame, 4);
                syn_put_be32(frame + 4, v * 1000);
                for (size_t i = 0; i < sizeof frame; i++) {
                        assert_int_equal(write(fd, frame + i, 1), 1);
                        usleep(1000);
                }
        }
        client_read(f, fd, 24);
        close(fd);
}

static void frames_split_into_bytes_arrive_whole_and_in_order(void **state)
{
        (void)state;
        static struct fixture f;
        memset(&f, 0, sizeof f);
        f.client = send_frames_bytewise;
        run(&f);
        assert_int_equal(f.frames, 3);
        assert_int_equal(f.frame_values[0], 1000);
        assert_int_equal(f.frame_values[2], 3000);
        assert_int_equal(f.reply_len, 24);
        assert_int_equal(syn_get_be32(f.reply + 4), 1000);
        assert_int_equal(syn_get_be32(f.reply + 20), 3000);
}

static void send_ruok(struct fixture *f)
{
        int fd = client_connect(f);
        assert_int_equal(write(fd, "ruok", 4), 4);
        client_read(f, fd, sizeof f->reply);
        close(fd);
}

static void fourlw_is_answered_then_closed(void **state)
{
        (void)state;
        static struct fixture f;
        memset(&f, 0, sizeof f);
        f.client = send_ruok;
        run(&f);
        assert_string_equal(f.word, "ruok");
        assert_int_equal(f.reply_len, 4);
        assert_memory_equal(f.reply, "imok", 4);
        assert_true(f.saw_eof);
        assert_int_equal(f.closes, 1);
        assert_int_equal(f.frames, 0);
}

static void send_hostile_length(struct fixture *f)
{
        int fd = client_connect(f);
        uint8_t len[4];
        syn_put_be32(len, 4096); /* over frame_bytes_max = 1024 */
        assert_int_equal(write(fd, len, 4), 4);
        client_read(f, fd, sizeof f->reply);
        close(fd);
}

static void hostile_length_closes_the_connection(void **state)
{
        (void)state;
        static struct fixture f;
        memset(&f, 0, sizeof f);
        f.client = send_hostile_length;
        run(&f);
        assert_true(f.saw_eof);
        assert_int_equal(f.reply_len, 0);
        assert_int_equal(f.frames, 0);
        assert_int_equal(f.closes, 1);
        assert_int_equal(f.net.protocol_errors, 1);
}

static void send_two_frames_at_once(struct fixture *f)
{
        int fd = client_connect(f);
        uint8_t frames[16];
        syn_put_be32(frames, 4);
        syn_put_be32(frames + 4, 7);
        syn_put_be32(frames + 8, 4);
        syn_put_be32(frames + 12, 8);
        assert_int_equal(write(fd, frames, sizeof frames), (ssize_t)sizeof frames);
        client_read(f, fd, 16);
        close(fd);
}

static void paused_connection_gets_buffered_frames_after_resume(void **state)
{
        (void)state;
        static struct fixture f;
        memset(&f, 0, sizeof f);
        f.client = send_two_frames_at_once;
        f.pause_after_first = true;
        run(&f);
        assert_int_equal(f.frames, 2); /* on_tick asserted only one arrived while paused */
        assert_int_equal(f.frame_values[1], 8);
        assert_int_equal(f.reply_len, 16);
}

static void send_many_read_big(struct fixture *f)
{
        int fd = client_connect(f);
        uint8_t frames[BIG_FRAMES * 8];
        for (uint32_t k = 0; k < BIG_FRAMES; k++) {
                syn_put_be32(frames + 8 * k, 4);
                syn_put_be32(frames + 8 * k + 4, k + 1);
        }
        assert_int_equal(write(fd, frames, sizeof frames), (ssize_t)sizeof frames);
        usleep(100 * 1000); /* let the server fill the socket and its output buffer */
        size_t total = (size_t)BIG_FRAMES * (4 + BIG_REPLY_BYTES);
        uint8_t *in = malloc(total);
        assert_non_null(in);
        size_t have = 0;
        while (have < total) {
                ssize_t n = read(fd, in + have, total - have);
                if (n <= 0)
                        break;
                have += (size_t)n;
        }
        for (uint32_t k = 0; k < BIG_FRAMES && have == total; k++) {
                const uint8_t *r = in + (size_t)k * (4 + BIG_REPLY_BYTES);
                if (syn_get_be32(r) != BIG_REPLY_BYTES)
                        break;
                size_t i = 0;
                while (i < BIG_REPLY_BYTES && r[4 + i] == big_pattern(k + 1, i))
                        i++;
                if (i != BIG_REPLY_BYTES)
                        break;
                f->big_frames_verified++;
        }
        free(in);
        close(fd);
}

static void big_output_arrives_whole_and_in_order(void **state)
{
        (void)state;
        static struct fixture f;
        memset(&f, 0, sizeof f);
        f.client = send_many_read_big;
        f.big_replies = true;
        run(&f);
        assert_int_equal(f.frames, BIG_FRAMES);
        assert_int_equal(f.big_frames_verified, BIG_FRAMES);
        assert_true(f.net.backpressure_pauses > 0); /* the soft limit was reached */
        assert_int_equal(f.net.bytes_sent, (uint64_t)BIG_FRAMES * (4 + BIG_REPLY_BYTES));
}

static void send_value(int fd, uint32_t value)
{
        uint8_t frame[8];
        syn_put_be32(frame, 4);
        syn_put_be32(frame + 4, value);
        assert_int_equal(write(fd, frame, sizeof frame), (ssize_t)sizeof frame);
}

/* Whether the echo of `value` comes back whole on fd. */
static bool echo_arrives(int fd, uint32_t value)
{
        send_value(fd, value);
        uint8_t echo[8];
        size_t have = 0;
        while (have < sizeof echo) {
                ssize_t n = read(fd, echo + have, sizeof echo - have);
                if (n <= 0)
                        return false;
                have += (size_t)n;
        }
        return syn_get_be32(echo) == 4 && syn_get_be32(echo + 4) == value;
}

static void burst_beside_small(struct fixture *f)
{
        int small = client_connect(f);
        int burster = socket(AF_INET, SOCK_STREAM, 0);
        int rcvbuf = 4096;
        setsockopt(burster, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        struct timeval limit = {.tv_sec = 10}; /* a server that never closes fails the test */
        setsockopt(burster, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        assert_int_equal(connect(burster, (struct sockaddr *)&a, sizeof a), 0);
        f->small_replies_read += echo_arrives(small, 1);
        send_value(burster, BURST_VALUE); /* never reads its answer */
        usleep(200 * 1000);
        f->small_replies_read += echo_arrives(small, 2);
        /* Bounded by the receive timeout; a server that closed it sends EOF or a reset. */
        static uint8_t sink[65536];
        ssize_t n;
        size_t got = 0;
        while ((n = read(burster, sink, sizeof sink)) > 0)
                got += (size_t)n;
        f->burster_closed =
            got < (size_t)BURST_REPLIES * BIG_REPLY_BYTES && (n == 0 || errno != EAGAIN);
        close(burster);
        close(small);
}

static void budget_closes_the_largest_and_spares_the_small(void **state)
{
        (void)state;
        static struct fixture f;
        memset(&f, 0, sizeof f);
        f.client = burst_beside_small;
        f.budget = BUDGET_BYTES;
        run(&f);
        assert_int_equal(f.small_replies_read, 2);
        assert_true(f.burster_closed);
        assert_int_equal(f.net.budget_evictions, 1);
        assert_int_equal(f.closes, 2);
        assert_int_equal(f.net.client_bytes, 0); /* every charge went with its connection */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(frames_split_into_bytes_arrive_whole_and_in_order),
            cmocka_unit_test(fourlw_is_answered_then_closed),
            cmocka_unit_test(hostile_length_closes_the_connection),
            cmocka_unit_test(paused_connection_gets_buffered_frames_after_resume),
            cmocka_unit_test(big_output_arrives_whole_and_in_order),
            cmocka_unit_test(budget_closes_the_largest_and_spares_the_small),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
