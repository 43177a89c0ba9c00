/*
 * chatnet-server --synod HOSTS --listen HOST:PORT
 *
 * Start-up runs on the main thread with blocking synod calls before the loop starts:
 * bind the listener (so the address we publish answers), open a session, make the
 * directories, read or create the shared secret, join /chatnet/servers. Then the loop
 * runs until SIGTERM/SIGINT (exit 0) or the loss of the synod session (exit 1), both
 * ending with the drain: leave the servers list, MOVE every user to a live server,
 * relay what they still send until they hang up, flush the peer links.
 */
#include "server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Blocking start-up calls are retried after a connection loss, with a pause, this long. */
#define SRV_SETUP_RETRY_MS_MAX 30000

static void usage(void)
{
        fprintf(stderr, "usage: chatnet-server --synod HOST:PORT[,HOST:PORT...] --listen "
                        "IP:PORT\n");
}

static bool parse_args(int argc, char **argv, const char **hosts, const char **listen_addr)
{
        for (int i = 1; i < argc; i++) {
                if (i + 1 < argc && strcmp(argv[i], "--synod") == 0)
                        *hosts = argv[++i];
                else if (i + 1 < argc && strcmp(argv[i], "--listen") == 0)
                        *listen_addr = argv[++i];
                else
                        return false;
        }
        return *hosts != NULL && *listen_addr != NULL;
}

static int listen_on(struct server *srv)
{
        char host[CHAT_ADDR_BYTES_MAX + 1];
        int port;
        struct sockaddr_storage sa;
        if (!chat_addr_split(srv->addr, host, sizeof(host), &port) ||
            (uv_ip4_addr(host, port, (struct sockaddr_in *)&sa) != 0 &&
             uv_ip6_addr(host, port, (struct sockaddr_in6 *)&sa) != 0)) {
                fprintf(stderr, "chatnet-server: --listen needs a numeric IP:PORT, not %s\n",
                        srv->addr);
                return -1;
        }
        uv_tcp_init(srv->loop, &srv->listener);
        srv->listener.data = srv;
        int rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&sa, 0);
        if (rc == 0)
                rc = uv_listen((uv_stream_t *)&srv->listener, SRV_LISTEN_BACKLOG,
                               conns_on_connection);
        if (rc != 0)
                fprintf(stderr, "chatnet-server: listen on %s: %s\n", srv->addr, uv_strerror(rc));
        return rc;
}

static bool retry_setup(int rc, uint64_t *waited_ms)
{
        if ((rc != SYNOD_ECONNECTIONLOSS && rc != SYNOD_EOPERATIONTIMEOUT) ||
            *waited_ms >= SRV_SETUP_RETRY_MS_MAX)
                return false;
        uv_sleep(SRV_OP_RETRY_PAUSE_MS);
        *waited_ms += SRV_OP_RETRY_PAUSE_MS;
        return true;
}

/* The secret peers show each other: created once by the first server, read by the rest. */
static int load_secret(struct server *srv)
{
        char mine[CHAT_RANDOM_HEX_BYTES + 1];
        if (!chat_random_hex(mine))
                return SYNOD_ESYSTEMERROR;
        int rc;
        uint64_t waited_ms = 0;
        do {
                rc = synod_create(srv->synod, CHAT_SECRET_PATH, mine, (int32_t)strlen(mine),
                                  SYNOD_PERSISTENT, NULL);
                if (rc == SYNOD_OK) {
                        memcpy(srv->secret, mine, sizeof(mine));
                        return rc;
                }
                if (rc == SYNOD_ENODEEXISTS) { /* someone's, maybe ours after a lost reply */
                        char *data = NULL;
                        rc = synod_get(srv->synod, CHAT_SECRET_PATH, &data, NULL, NULL, NULL, NULL);
                        if (rc == SYNOD_OK)
                                snprintf(srv->secret, sizeof(srv->secret), "%s", data);
                        free(data);
                }
        } while (rc != SYNOD_OK && retry_setup(rc, &waited_ms));
        return rc;
}

static int setup_synod(struct server *srv, const char *hosts)
{
        struct synod_options opt = {.servers = hosts,
                                    .session_timeout_ms = SRV_SESSION_TIMEOUT_MS,
                                    .on_state = bridge_on_state,
                                    .state_arg = srv};
        int rc = synod_open(&srv->synod, &opt);
        if (rc != SYNOD_OK)
                return rc;
        rc = synod_wait_connected(srv->synod, SRV_CONNECT_TIMEOUT_MS);
        uint64_t waited_ms = 0;
        while (rc == SYNOD_OK) {
                rc = synod_create_parents(srv->synod, CHAT_USERS_DIR);
                if (rc == SYNOD_OK)
                        rc = synod_create_parents(srv->synod, CHAT_SERVERS_DIR);
                if (rc == SYNOD_OK || !retry_setup(rc, &waited_ms))
                        break;
        }
        if (rc == SYNOD_OK)
                rc = load_secret(srv);
        char member[CHAT_ADDR_BYTES_MAX + CHAT_RANDOM_HEX_BYTES + 2];
        snprintf(member, sizeof(member), "%s@%s", srv->addr, srv->instance);
        snprintf(srv->node_path, sizeof(srv->node_path), CHAT_SERVERS_DIR "/%s", member);
        if (rc == SYNOD_OK) /* retries lost replies itself, and knows its own node again */
                rc = synod_group_join(srv->synod, CHAT_SERVERS_DIR, member);
        return rc;
}

static void on_signal(uv_signal_t *handle, int signum)
{
        server_quit(handle->data, 0);
}

static void close_if_open(uv_handle_t *handle)
{
        if (!uv_is_closing(handle))
                uv_close(handle, NULL);
}

/* Last step: every handle is closed, so uv_run returns. */
static void finish(struct server *srv)
{
        conns_close_all(srv);
        peers_close_all(srv);
        uv_timer_stop(&srv->quit_timer);
        close_if_open((uv_handle_t *)&srv->quit_timer);
        close_if_open((uv_handle_t *)&srv->roster_timer);
        close_if_open((uv_handle_t *)&srv->retry_timer);
        users_discard_retries(srv);
        close_if_open((uv_handle_t *)&srv->sigterm);
        close_if_open((uv_handle_t *)&srv->sigint);
        if (!srv->bridge_closed)
                bridge_close(srv);
}

static void on_quit_timer(uv_timer_t *timer)
{
        struct server *srv = timer->data;
        if (!srv->flushing) {
                conns_close_all(srv); /* users that did not hang up within the drain */
                server_maybe_finish(srv);
        } else {
                finish(srv);
        }
}

void server_maybe_finish(struct server *srv)
{
        if (!srv->quitting || srv->flushing || !conns_all_gone(srv))
                return;
        srv->flushing = true;
        conns_close_all(srv);
        peers_flush_and_close(srv);
        uv_timer_start(&srv->quit_timer, on_quit_timer, SRV_QUIT_FLUSH_MS, 0);
}

void server_quit(struct server *srv, int exit_code)
{
        if (srv->quitting)
                return;
        srv->quitting = true;
        srv->exit_code = exit_code;
        close_if_open((uv_handle_t *)&srv->listener);
        if (!srv->session_lost) { /* leave the list first, so nobody is sent here */
                struct synod_request req = {
                    .op = SYNOD_OP_DELETE, .path = srv->node_path, .version = -1};
                synod_call(srv->synod, &req, NULL, NULL);
        }
        fprintf(stderr, "chatnet-server: leaving; moving users to the other servers\n");
        conns_move_all(srv);
        uv_timer_start(&srv->quit_timer, on_quit_timer, SRV_QUIT_DRAIN_MS, 0);
        server_maybe_finish(srv);
}

int main(int argc, char **argv)
{
        const char *hosts = NULL, *listen_addr = NULL;
        if (!parse_args(argc, argv, &hosts, &listen_addr)) {
                usage();
                return 2;
        }
        static struct server srv;
        srv.loop = uv_default_loop();
        if (strlen(listen_addr) > CHAT_ADDR_BYTES_MAX || !chat_random_hex(srv.instance)) {
                usage();
                return 2;
        }
        snprintf(srv.addr, sizeof(srv.addr), "%s", listen_addr);
        signal(SIGPIPE, SIG_IGN);
        if (listen_on(&srv) != 0)
                return 1;
        if (bridge_init(&srv) != 0) { /* before synod_open: its state callback uses it */
                fprintf(stderr, "chatnet-server: cannot set up the synod bridge\n");
                return 1;
        }
        int rc = setup_synod(&srv, hosts);
        if (rc != SYNOD_OK) {
                fprintf(stderr, "chatnet-server: synod %s: %s\n", hosts, synod_strerror(rc));
                if (srv.synod != NULL)
                        synod_close(srv.synod);
                return 1;
        }
        uv_timer_init(srv.loop, &srv.quit_timer);
        srv.quit_timer.data = &srv;
        uv_timer_init(srv.loop, &srv.roster_timer);
        uv_timer_init(srv.loop, &srv.retry_timer);
        uv_signal_init(srv.loop, &srv.sigterm);
        uv_signal_init(srv.loop, &srv.sigint);
        srv.sigterm.data = srv.sigint.data = &srv;
        uv_signal_start(&srv.sigterm, on_signal, SIGTERM);
        uv_signal_start(&srv.sigint, on_signal, SIGINT);
        roster_refresh(&srv);
        printf("chatnet-server: serving on %s (synod %s)\n", srv.addr, hosts);
        fflush(stdout);

        uv_run(srv.loop, UV_RUN_DEFAULT);

        synod_close(srv.synod); /* fails what is still pending; the bridge is closed */
        bridge_drain(&srv);
        uv_loop_close(srv.loop);
        return srv.exit_code;
}
