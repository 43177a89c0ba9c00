/*
 * booking-server --synod HOSTS --listen IP:PORT
 *
 * Opens a synod session, makes the tree's directories, joins the group of live booking
 * servers (an ephemeral node "ADDR@INST" under /booking/servers, so a crashed server
 * leaves it with its session), starts the change watch and the HTTP server, then waits
 * for SIGTERM or SIGINT (exit 0) or the loss of the synod session (exit 1: the group
 * node is gone and the watch with it; a supervisor restarts the server).
 */
#include "booking.h"

#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define BK_SESSION_TIMEOUT_MS 10000
#define BK_CONNECT_TIMEOUT_MS 30000
/* Start-up calls retried after a connection loss at most this often. */
#define BK_SETUP_TRIES_MAX 20

static volatile sig_atomic_t session_lost;

static void on_state(struct synod *h, enum synod_state state, void *arg)
{
        if (state != SYNOD_STATE_EXPIRED)
                return;
        session_lost = 1;
        kill(getpid(), SIGTERM); /* main waits for it in sigwait */
}

static bool split_addr(const char *addr, char *ip, size_t ip_len, int *port)
{
        const char *colon = strrchr(addr, ':');
        if (colon == NULL || (size_t)(colon - addr) >= ip_len)
                return false;
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (colon[1] == '\0' || *end != '\0' || p < 1 || p > 65535)
                return false;
        memcpy(ip, addr, (size_t)(colon - addr));
        ip[colon - addr] = '\0';
        *port = (int)p;
        return true;
}

static int setup(struct synod *h, const char *self)
{
        unsigned char raw[8];
        if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
                return SYNOD_ESYSTEMERROR;
        char member[BK_ADDR_BYTES_MAX + 20];
        snprintf(member, sizeof(member), "%s@%02x%02x%02x%02x%02x%02x%02x%02x", self, raw[0],
                 raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7]);
        int rc = synod_wait_connected(h, BK_CONNECT_TIMEOUT_MS);
        if (rc == SYNOD_OK)
                rc = bk_store_init(h);
        for (int tries = 0; rc == SYNOD_OK && tries < BK_SETUP_TRIES_MAX; tries++) {
                rc = bk_events_start(h);
                if (rc != SYNOD_ECONNECTIONLOSS)
                        break;
        }
        if (rc == SYNOD_OK) /* retries lost replies itself */
                rc = synod_group_join(h, BK_SERVERS_DIR, member);
        return rc;
}

int main(int argc, char **argv)
{
        const char *hosts = NULL, *listen_addr = NULL;
        for (int i = 1; i + 1 < argc; i += 2) {
                if (strcmp(argv[i], "--synod") == 0)
                        hosts = argv[i + 1];
                else if (strcmp(argv[i], "--listen") == 0)
                        listen_addr = argv[i + 1];
        }
        char ip[BK_ADDR_BYTES_MAX + 1];
        int port;
        if (argc != 5 || hosts == NULL || listen_addr == NULL ||
            strlen(listen_addr) > BK_ADDR_BYTES_MAX ||
            !split_addr(listen_addr, ip, sizeof(ip), &port)) {
                fprintf(
                    stderr,
                    "usage: booking-server --synod HOST:PORT[,...][/chroot] --listen IP:PORT\n");
                return 2;
        }
        /* Every thread started from here on inherits the mask: only sigwait gets them. */
        sigset_t quit;
        sigemptyset(&quit);
        sigaddset(&quit, SIGTERM);
        sigaddset(&quit, SIGINT);
        pthread_sigmask(SIG_BLOCK, &quit, NULL);
        signal(SIGPIPE, SIG_IGN);

        struct synod *h = NULL;
        struct synod_options opt = {
            .servers = hosts, .session_timeout_ms = BK_SESSION_TIMEOUT_MS, .on_state = on_state};
        int rc = synod_open(&h, &opt);
        if (rc == SYNOD_OK)
                rc = setup(h, listen_addr);
        if (rc != SYNOD_OK) {
                fprintf(stderr, "booking-server: synod %s: %s\n", hosts, synod_strerror(rc));
                if (h != NULL)
                        synod_close(h);
                return 1;
        }
        struct bk_http_options http = {.synod = h, .self_addr = listen_addr};
        struct MHD_Daemon *d = bk_http_start(ip, port, &http);
        if (d == NULL) {
                fprintf(stderr, "booking-server: cannot serve HTTP on %s\n", listen_addr);
                synod_close(h);
                return 1;
        }
        printf("booking-server: serving http://%s/ (synod %s)\n", listen_addr, hosts);
        fflush(stdout);

        int sig;
        sigwait(&quit, &sig);
        if (session_lost)
                fprintf(stderr, "booking-server: synod session expired; leaving\n");
        bk_events_stop(); /* ends the event streams, so their threads can be joined */
        MHD_stop_daemon(d);
        synod_close(h); /* deletes our group node */
        return session_lost ? 1 : 0;
}
