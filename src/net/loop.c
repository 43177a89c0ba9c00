/*
 * The event loop: listener, tick timer, signal handlers, async wake-ups and the
 * prepare hook that is synod's beforeSleep.
 *
 * Order inside the prepare hook, every iteration:
 *   1. deliver frames buffered on connections whose reading was resumed;
 *   2. the server's before_sleep (persist → send → apply → reply, see server/host.c);
 *   3. one write per connection with everything queued for it, then the clients'
 *      memory budget (net.h), then the flush hooks (net_hook_add: peer links write
 *      what was queued for them the same way).
 * If step 1 or 2 left work (more buffered frames), an idle handle keeps the next
 * poll from blocking. This file and clock.c are the only readers of the clock in synod.
 */
#include "net/net.h"

#include <signal.h>
#include <string.h>
#include <time.h>

#include "base/assert.h"
#include "base/err.h"
#include "base/log.h"

/* conn.c */
void net_conn_accept(struct net *net, uv_stream_t *listener, struct net_tls_ctx *tls);
void net_conn_expire_handshakes(struct net *net);
void net_conn_flush_all(struct net *net);
void net_conn_deliver_pending(struct net *net);
void net_conn_close_all(struct net *net);
void net_conn_enforce_budget(struct net *net);

static const int net_signal_numbers[3] = {SIGINT, SIGTERM, SIGCHLD};

static void on_connection(uv_stream_t *server, int status)
{
        struct net *net = server->data;
        if (status < 0) {
                SYN_WARN("accept failed: %s", uv_strerror(status));
                return;
        }
        bool secure = server == (uv_stream_t *)&net->secure_listener;
        net_conn_accept(net, server, secure ? net->options.tls : NULL);
}

static void on_tick(uv_timer_t *timer)
{
        struct net *net = timer->data;
        if (net_clock_poll(&net->clock, uv_now(&net->loop)))
                uv_timer_set_repeat(timer,
                                    net_clock_tick_period(&net->clock, net->options.tick_ms));
        if (net->tls_handshaking > 0)
                net_conn_expire_handshakes(net);
        if (net->options.callbacks.on_tick)
                net->options.callbacks.on_tick(net->options.arg);
}

static void on_signal(uv_signal_t *handle, int signum)
{
        struct net *net = handle->data;
        if (net->options.callbacks.on_signal)
                net->options.callbacks.on_signal(net->options.arg, signum);
}

static void on_idle(uv_idle_t *idle)
{
        (void)idle; /* exists only so that poll does not block; prepare does the work */
}

static void on_prepare(uv_prepare_t *prepare)
{
        struct net *net = prepare->data;
        net->wake_requested = false;
        net_conn_deliver_pending(net);
        if (net->options.callbacks.before_sleep)
                net->options.callbacks.before_sleep(net->options.arg);
        net_conn_flush_all(net);
        net_conn_enforce_budget(net);
        /* Bounded by the hooks registered (one per peer-link set). */
        for (struct net_hook *h = net->flush_hooks; h != NULL; h = h->next)
                h->fn(h->arg);
        /* A hook's callbacks (a peer link dropped) may have queued client output after the
         * flush above: the next iteration writes it without waiting for an event. */
        bool more = net->pending_input != NULL || net->wake_requested || net->dirty != NULL;
        if (more && !net->idle_active) {
                uv_idle_start(&net->idle, on_idle);
                net->idle_active = true;
        } else if (!more && net->idle_active) {
                uv_idle_stop(&net->idle);
                net->idle_active = false;
        }
        if (net->stopping)
                uv_stop(&net->loop);
}

/* `key` names the address's setting in messages. */
static int bind_listener(struct net *net, uv_tcp_t *listener, const char *key, const char *address,
                         int port)
{
        struct sockaddr_storage addr;
        int rc = uv_ip4_addr(address, port, (struct sockaddr_in *)&addr);
        if (rc != 0)
                rc = uv_ip6_addr(address, port, (struct sockaddr_in6 *)&addr);
        if (rc != 0) {
                SYN_ERROR("%s '%s' is not an IP address", key, address);
                return SYN_EINVAL;
        }
        uv_tcp_init(&net->loop, listener);
        listener->data = net;
        rc = uv_tcp_bind(listener, (const struct sockaddr *)&addr, 0);
        if (rc == 0)
                rc = uv_listen((uv_stream_t *)listener, NET_LISTEN_BACKLOG, on_connection);
        if (rc != 0) {
                SYN_ERROR("cannot listen on %s:%d: %s", address, port, uv_strerror(rc));
                return SYN_ESYS;
        }
        return 0;
}

static void close_walk_cb(uv_handle_t *handle, void *arg)
{
        (void)arg;
        if (!uv_is_closing(handle))
                uv_close(handle, NULL);
}

int net_init(struct net *net, const struct net_options *options)
{
        SYN_ASSERT(options->frame_bytes_max > 0);
        SYN_ASSERT(options->tick_ms > 0);
        SYN_ASSERT(options->client_memory_max > 0);
        memset(net, 0, sizeof *net);
        net->options = *options;
        if (uv_loop_init(&net->loop) != 0)
                return SYN_ESYS;
        int rc = bind_listener(net, &net->listener, "clientPortAddress", options->address,
                               options->port);
        if (rc == 0 && options->tls != NULL)
                rc = bind_listener(net, &net->secure_listener, "secureClientPortAddress",
                                   options->secure_address, options->secure_port);
        if (rc != 0) {
                uv_walk(&net->loop, close_walk_cb, NULL);
                uv_run(&net->loop, UV_RUN_DEFAULT);
                uv_loop_close(&net->loop);
                return rc;
        }
        net_clock_init(&net->clock, uv_now(&net->loop));
        uv_timer_init(&net->loop, &net->tick);
        net->tick.data = net;
        uv_timer_start(&net->tick, on_tick, options->tick_ms, options->tick_ms);
        uv_prepare_init(&net->loop, &net->prepare);
        net->prepare.data = net;
        uv_prepare_start(&net->prepare, on_prepare);
        uv_idle_init(&net->loop, &net->idle);
        for (int i = 0; i < 3; i++) {
                uv_signal_init(&net->loop, &net->signals[i]);
                net->signals[i].data = net;
                uv_signal_start(&net->signals[i], on_signal, net_signal_numbers[i]);
        }
        /* A client that vanishes mid-write must not kill the process. */
        signal(SIGPIPE, SIG_IGN);
        return 0;
}

int net_run(struct net *net)
{
        net->stopping = false;
        /* The one loop of synod without a bound: it ends only through net_stop. */
        uv_run(&net->loop, UV_RUN_DEFAULT);
        return 0;
}

void net_stop(struct net *net)
{
        net->stopping = true;
        uv_stop(&net->loop);
}

void net_close(struct net *net)
{
        /* A hook's owner still has handles open that the walk below would close under it. */
        SYN_ASSERT(net->flush_hooks == NULL);
        net_conn_close_all(net);
        uv_walk(&net->loop, close_walk_cb, NULL);
        /* Bounded: with every handle closing, one run finishes the close callbacks. */
        uv_run(&net->loop, UV_RUN_DEFAULT);
        int rc = uv_loop_close(&net->loop);
        if (rc != 0)
                SYN_WARN("loop close: %s", uv_strerror(rc));
}

void net_hook_add(struct net *net, struct net_hook *h)
{
        h->next = net->flush_hooks;
        net->flush_hooks = h;
}

void net_hook_remove(struct net *net, struct net_hook *h)
{
        /* Bounded by the hooks registered. */
        for (struct net_hook **p = &net->flush_hooks; *p != NULL; p = &(*p)->next) {
                if (*p == h) {
                        *p = h->next;
                        h->next = NULL;
                        return;
                }
        }
}

static int listener_port(const uv_tcp_t *listener)
{
        struct sockaddr_storage addr;
        int len = sizeof addr;
        if (uv_tcp_getsockname(listener, (struct sockaddr *)&addr, &len) != 0)
                return -1;
        if (addr.ss_family == AF_INET)
                return ntohs(((struct sockaddr_in *)&addr)->sin_port);
        return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
}

int net_port(const struct net *net)
{
        return listener_port(&net->listener);
}

int net_secure_port(const struct net *net)
{
        return net->options.tls != NULL ? listener_port(&net->secure_listener) : -1;
}

uint64_t net_now_ms(struct net *net)
{
        return net_clock_mono(&net->clock, uv_now(&net->loop));
}

int64_t net_wall_ms(struct net *net)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t real = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        return net_clock_wall(&net->clock, real, uv_now(&net->loop));
}

void net_wake(struct net *net)
{
        net->wake_requested = true;
        if (!net->idle_active) {
                uv_idle_start(&net->idle, on_idle);
                net->idle_active = true;
        }
}

static void on_async(uv_async_t *handle)
{
        struct net_async *a = handle->data;
        a->cb(a->arg);
}

int net_async_init(struct net *net, struct net_async *a, void (*cb)(void *arg), void *arg)
{
        a->cb = cb;
        a->arg = arg;
        a->handle.data = a;
        return uv_async_init(&net->loop, &a->handle, on_async) == 0 ? 0 : SYN_ESYS;
}

void net_async_send(struct net_async *a)
{
        uv_async_send(&a->handle);
}
