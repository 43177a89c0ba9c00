/*
 * Out-of-memory test of src/net: conn.c and loop.c are compiled with
 * malloc/calloc/realloc renamed to the failing allocator of
 * tests/unit/tree/nomem_alloc.c (see CMakeLists.txt).
 *
 * A reply the socket does not take at once goes out through uv_write, which
 * needs one allocation. When it fails the connection must be closed (the
 * client reconnects): the flush used to put the connection back on the list
 * it was walking and spin for as long as malloc kept failing and the client
 * was not reading, stalling the whole loop. The client here does not read
 * until the server has closed, or until CLOSE_WAIT_MS have passed (then the
 * test fails); an alarm turns any other hang into a failure.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/log.h"
#include "net/net.h"
#include "nomem_alloc.h"

/* Far more than the (shrunk) socket buffers take: the rest needs uv_write. */
enum {
        REPLY_BYTES = 1024 * 1024,
        SMALL_SOCKET_BUFFER = 4096,
        CLOSE_WAIT_MS = 5000,
        HANG_ALARM_S = 60,
};

struct fixture {
        struct net net;
        struct net_async done;
        int port;
        int frames;
        atomic_int closes;      /* read by the client thread */
        bool allocation_failed; /* at the moment of the close */
        size_t client_bytes;
        bool client_saw_eof;
        bool closed_in_time; /* the server closed before the client read anything */
};

static bool on_accept(void *arg, struct net_conn *conn, const char *ip)
{
        (void)arg;
        (void)ip;
        int size = SMALL_SOCKET_BUFFER;
        uv_send_buffer_size((uv_handle_t *)&conn->tcp, &size);
        return true;
}

static void on_frame(void *arg, struct net_conn *conn, const uint8_t *data, size_t len)
{
        struct fixture *f = arg;
        (void)data;
        (void)len;
        f->frames++;
        static uint8_t reply[4 + REPLY_BYTES];
        syn_put_be32(reply, REPLY_BYTES);
        assert_int_equal(net_conn_send(conn, reply, sizeof reply), 0);
        nomem_fail_from(0); /* every allocation of net from now on fails */
}

static void on_fourlw(void *arg, struct net_conn *conn, const char *word)
{
        (void)arg;
        (void)word;
        net_conn_close(conn, false);
}

static void on_close(void *arg, struct net_conn *conn)
{
        struct fixture *f = arg;
        (void)conn;
        f->closes++;
        f->allocation_failed = nomem_failed();
        nomem_fail_from(-1);
}

static void on_done(void *arg)
{
        struct fixture *f = arg;
        net_stop(&f->net);
}

static void *client_main(void *arg)
{
        struct fixture *f = arg;
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        int size = SMALL_SOCKET_BUFFER;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
                uint8_t frame[8];
                syn_put_be32(frame, 4);
                syn_put_be32(frame + 4, 1);
                if (write(fd, frame, sizeof frame) == (ssize_t)sizeof frame) {
                        /* Not reading: the server's socket buffer stays full. */
                        for (int ms = 0; ms < CLOSE_WAIT_MS && atomic_load(&f->closes) == 0;
                             ms += 10)
                                nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
                        f->closed_in_time = atomic_load(&f->closes) > 0;
                        static uint8_t buf[65536];
                        ssize_t n = -1;
                        while (f->closed_in_time && (n = read(fd, buf, sizeof buf)) > 0)
                                f->client_bytes += (size_t)n;
                        f->client_saw_eof = f->closed_in_time && n == 0;
                }
        }
        close(fd);
        net_async_send(&f->done);
        return NULL;
}

static void output_allocation_failure_closes_the_connection(void **state)
{
        (void)state;
        static struct fixture f;
        memset(&f, 0, sizeof f);
        nomem_fail_from(-1);
        alarm(HANG_ALARM_S); /* the default action ends the process: a hang fails */
        syn_log_configure(SYN_LOG_ERROR, NULL, NULL);
        struct net_options o = {
            .address = "127.0.0.1",
            .port = 0,
            .frame_bytes_max = 1024,
            .tick_ms = 20,
            .client_memory_max = 64 * 1024 * 1024,
            .callbacks = {.on_accept = on_accept,
                          .on_frame = on_frame,
                          .on_fourlw = on_fourlw,
                          .on_close = on_close},
            .arg = &f,
        };
        assert_int_equal(net_init(&f.net, &o), 0);
        assert_int_equal(net_async_init(&f.net, &f.done, on_done, &f), 0);
        f.port = net_port(&f.net);
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, client_main, &f), 0);
        net_run(&f.net);
        pthread_join(t, NULL);
        net_close(&f.net);
        alarm(0);
        assert_true(f.closed_in_time);
        assert_int_equal(f.frames, 1);
        assert_int_equal(f.closes, 1);
        assert_true(f.allocation_failed);
        assert_true(f.client_saw_eof);
        assert_true(f.client_bytes < 4 + REPLY_BYTES); /* cut short, not hung */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(output_allocation_failure_closes_the_connection),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
