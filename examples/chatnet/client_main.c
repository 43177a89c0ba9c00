/*
 * chatnet-client --synod HOSTS --name NAME [--key KEY] [--server IP:PORT]
 *
 * A terminal client that keeps a user in the chat while servers come and go. It finds
 * servers in synod (the children of /chatnet/servers are the live ones), follows MOVE,
 * and when its server vanishes without a word it logs in on another one. Its identity
 * is the name and a key: REGISTER stores the key with the name, LOGIN on any server
 * later proves it. A key is drawn at random unless --key gives one (to come back as
 * the same user in a later run).
 *
 * stdin: a line is said (SAY); "/users" and "/servers" ask the server; "/quit" or the
 * end of input leaves. stdout: what the server sends (MSG, user lists), and lines
 * starting with "* " about the connection ("* connected IP:PORT as NAME").
 */
#include "chat.h"

#include <synod/synod.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#define CLI_CONNECT_TIMEOUT_MS 2000
/* A login waits for synod on the server: through a leader election if need be. */
#define CLI_REPLY_TIMEOUT_MS     20000
#define CLI_SYNOD_TIMEOUT_MS     30000
#define CLI_RECONNECT_ROUNDS_MAX 30
#define CLI_BACKOFF_MS_MIN       100
#define CLI_BACKOFF_MS_MAX       2000
#define CLI_SERVERS_MAX          64

struct client {
        struct synod *synod;
        const char *name;
        char key[CHAT_KEY_BYTES_MAX + 1];
        bool registered; /* the name is ours: from now on LOGIN */
        int fd;
        char addr[CHAT_ADDR_BYTES_MAX + 1];
        struct chat_linebuf in;
};

enum login_result { LOGIN_OK, LOGIN_MOVED, LOGIN_FAILED, LOGIN_FATAL };

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

static int dial(const char *addr)
{
        char host[CHAT_ADDR_BYTES_MAX + 1];
        int port;
        struct sockaddr_storage sa = {0};
        socklen_t len;
        if (!chat_addr_split(addr, host, sizeof(host), &port))
                return -1;
        struct sockaddr_in *v4 = (struct sockaddr_in *)&sa;
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&sa;
        if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
                v4->sin_family = AF_INET;
                v4->sin_port = htons((uint16_t)port);
                len = sizeof(*v4);
        } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
                v6->sin6_family = AF_INET6;
                v6->sin6_port = htons((uint16_t)port);
                len = sizeof(*v6);
        } else {
                return -1;
        }
        int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        if (connect(fd, (struct sockaddr *)&sa, len) != 0 && errno != EINPROGRESS)
                goto fail;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int err = 0;
        socklen_t elen = sizeof(err);
        if (poll(&p, 1, CLI_CONNECT_TIMEOUT_MS) != 1 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0)
                goto fail;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        return fd;
fail:
        close(fd);
        return -1;
}

static bool send_line(struct client *c, const char *line)
{
        char buf[CHAT_LINE_BYTES_MAX + 2];
        int n = snprintf(buf, sizeof(buf), "%s\n", line);
        if (n < 0 || (size_t)n >= sizeof(buf))
                return false;
        for (int off = 0; off < n;) {
                ssize_t w = send(c->fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
                if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
                        struct pollfd p = {.fd = c->fd, .events = POLLOUT};
                        if (poll(&p, 1, CLI_CONNECT_TIMEOUT_MS) != 1)
                                return false;
                        continue;
                }
                if (w <= 0)
                        return false;
                off += (int)w;
        }
        return true;
}

/* Reads from the socket into the line buffer: >0 bytes, 0 closed, -1 error. */
static ssize_t fill(struct client *c)
{
        size_t room;
        char *p = chat_linebuf_space(&c->in, &room);
        ssize_t n = recv(c->fd, p, room, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 1;
        if (n > 0)
                chat_linebuf_commit(&c->in, (size_t)n);
        return n;
}

/* The next line from the server within the deadline; NULL on timeout or hang-up. */
static char *read_line(struct client *c, int64_t deadline)
{
        for (;;) {
                bool too_long;
                char *line = chat_linebuf_next(&c->in, &too_long);
                if (line != NULL || too_long)
                        return line;
                int left = (int)(deadline - now_ms());
                struct pollfd p = {.fd = c->fd, .events = POLLIN};
                if (left <= 0 || poll(&p, 1, left) != 1 || fill(c) <= 0)
                        return NULL;
        }
}

static void hang_up(struct client *c)
{
        if (c->fd >= 0)
                close(c->fd);
        c->fd = -1;
        chat_linebuf_init(&c->in);
}

/* Sends REGISTER or LOGIN and waits for the answer; a MOVE answer names where to go. */
static enum login_result ask(struct client *c, const char *verb, char *move_to)
{
        char line[CHAT_LINE_BYTES_MAX];
        snprintf(line, sizeof(line), "%s %s %s", verb, c->name, c->key);
        if (!send_line(c, line))
                return LOGIN_FAILED;
        char *reply = read_line(c, now_ms() + CLI_REPLY_TIMEOUT_MS);
        if (reply == NULL)
                return LOGIN_FAILED;
        if (strcmp(reply, "OK") == 0)
                return LOGIN_OK;
        if (strncmp(reply, "MOVE ", 5) == 0) {
                snprintf(move_to, CHAT_ADDR_BYTES_MAX + 1, "%s", reply + 5);
                return LOGIN_MOVED;
        }
        if (strcmp(reply, "TAKEN") == 0 || strcmp(reply, "DENIED") == 0)
                return LOGIN_FATAL;
        fprintf(stderr, "chatnet-client: %s says: %s\n", c->addr, reply);
        return LOGIN_FAILED;
}

/*
 * Connects to addr and logs in. The first time it REGISTERs; TAKEN then may still mean
 * the name is ours (an earlier REGISTER landed but its answer was lost with a server,
 * or --key names an earlier run's user), which LOGIN with our key settles.
 */
static enum login_result login_at(struct client *c, const char *addr, char *move_to)
{
        c->fd = dial(addr);
        if (c->fd < 0)
                return LOGIN_FAILED;
        snprintf(c->addr, sizeof(c->addr), "%s", addr);
        enum login_result r = LOGIN_FATAL;
        if (!c->registered)
                r = ask(c, "REGISTER", move_to);
        if (r == LOGIN_FATAL)
                r = ask(c, "LOGIN", move_to);
        if (r == LOGIN_FATAL)
                fprintf(stderr, "chatnet-client: the name %s is taken\n", c->name);
        if (r == LOGIN_OK) {
                c->registered = true;
                printf("* connected %s as %s\n", c->addr, c->name);
        } else {
                hang_up(c);
        }
        return r;
}

/* The live servers' addresses from synod, shuffled, `avoid` last. */
static int32_t discover(struct client *c, const char *avoid, char addrs[][CHAT_ADDR_BYTES_MAX + 1])
{
        char **children = NULL;
        int32_t count = 0, n = 0;
        int rc = synod_children(c->synod, CHAT_SERVERS_DIR, &children, &count, NULL, NULL);
        if (rc != SYNOD_OK) {
                fprintf(stderr, "chatnet-client: listing servers: %s\n", synod_strerror(rc));
                return 0;
        }
        for (int32_t i = 0; i < count && n < CLI_SERVERS_MAX; i++)
                if (chat_server_node_addr(children[i], addrs[n]))
                        n++;
        synod_strings_free(children, count);
        for (int32_t i = n - 1; i > 0; i--) {
                int32_t j = rand() % (i + 1);
                char tmp[CHAT_ADDR_BYTES_MAX + 1];
                memcpy(tmp, addrs[i], sizeof(tmp));
                memcpy(addrs[i], addrs[j], sizeof(tmp));
                memcpy(addrs[j], tmp, sizeof(tmp));
        }
        for (int32_t i = 0; avoid != NULL && i < n - 1; i++) {
                if (strcmp(addrs[i], avoid) != 0)
                        continue;
                memcpy(addrs[i], addrs[n - 1], sizeof(addrs[i]));
                snprintf(addrs[n - 1], sizeof(addrs[n - 1]), "%s", avoid);
                break;
        }
        return n;
}

/* Logs in somewhere: `prefer` first (a MOVE target, --server), then the servers synod
 * lists. Exits when the name is not ours or every round failed. */
static void connect_somewhere(struct client *c, const char *prefer, const char *avoid)
{
        char move_to[CHAT_ADDR_BYTES_MAX + 1];
        char want[CHAT_ADDR_BYTES_MAX + 1] = "";
        char avoided[CHAT_ADDR_BYTES_MAX + 1] = "";
        if (prefer != NULL)
                snprintf(want, sizeof(want), "%s", prefer);
        if (avoid != NULL)
                snprintf(avoided, sizeof(avoided), "%s", avoid);
        int backoff = CLI_BACKOFF_MS_MIN;
        for (int round = 0; round < CLI_RECONNECT_ROUNDS_MAX; round++) {
                while (want[0] != '\0') { /* a chain of MOVEs ends when one logs us in */
                        enum login_result r = login_at(c, want, move_to);
                        want[0] = '\0';
                        if (r == LOGIN_OK)
                                return;
                        if (r == LOGIN_FATAL)
                                exit(1);
                        if (r == LOGIN_MOVED)
                                memcpy(want, move_to, sizeof(want));
                }
                char addrs[CLI_SERVERS_MAX][CHAT_ADDR_BYTES_MAX + 1];
                int32_t n = discover(c, avoided[0] ? avoided : NULL, addrs);
                for (int32_t i = 0; i < n; i++) {
                        enum login_result r = login_at(c, addrs[i], move_to);
                        if (r == LOGIN_OK)
                                return;
                        if (r == LOGIN_FATAL)
                                exit(1);
                        if (r == LOGIN_MOVED) {
                                memcpy(want, move_to, sizeof(want));
                                break;
                        }
                }
                if (want[0] != '\0')
                        continue;
                sleep_ms(backoff);
                backoff = backoff * 2 > CLI_BACKOFF_MS_MAX ? CLI_BACKOFF_MS_MAX : backoff * 2;
        }
        fprintf(stderr, "chatnet-client: no chat server after %d rounds\n",
                CLI_RECONNECT_ROUNDS_MAX);
        exit(1);
}

/* A line typed by the user, as a protocol line; false to leave. */
static bool user_command(struct client *c, const char *typed, char *out, size_t out_len)
{
        if (strcmp(typed, "/quit") == 0)
                return false;
        if (strcmp(typed, "/users") == 0)
                snprintf(out, out_len, "USERS");
        else if (strcmp(typed, "/servers") == 0)
                snprintf(out, out_len, "SERVERS");
        else if (typed[0] == '/' || typed[0] == '\0')
                out[0] = '\0';
        else
                snprintf(out, out_len, "SAY %s", typed);
        return true;
}

/* What the server sent: printed, except MOVE, which is followed. */
static void server_lines(struct client *c)
{
        for (;;) {
                bool too_long;
                char *line = chat_linebuf_next(&c->in, &too_long);
                if (line == NULL)
                        return;
                if (strncmp(line, "MOVE ", 5) != 0) {
                        printf("%s\n", line);
                        continue;
                }
                char target[CHAT_ADDR_BYTES_MAX + 1];
                snprintf(target, sizeof(target), "%s", line + 5);
                printf("* moved to %s\n", target);
                char old[CHAT_ADDR_BYTES_MAX + 1];
                memcpy(old, c->addr, sizeof(old));
                hang_up(c);
                connect_somewhere(c, target, old);
                return;
        }
}

/* Sends a line; if the server is gone, sends it to the one we log in to next. */
static void say_anyway(struct client *c, const char *line)
{
        if (send_line(c, line))
                return;
        char lost[CHAT_ADDR_BYTES_MAX + 1];
        memcpy(lost, c->addr, sizeof(lost));
        printf("* lost %s\n", lost);
        hang_up(c);
        connect_somewhere(c, NULL, lost);
        if (!send_line(c, line))
                fprintf(stderr, "chatnet-client: could not send to %s\n", c->addr);
}

static void usage(void)
{
        fprintf(stderr, "usage: chatnet-client --synod HOST:PORT[,...] --name NAME [--key KEY] "
                        "[--server IP:PORT]\n");
}

static bool parse_args(int argc, char **argv, const char **hosts, const char **name,
                       const char **key, const char **first)
{
        for (int i = 1; i < argc; i++) {
                if (i + 1 < argc && strcmp(argv[i], "--synod") == 0)
                        *hosts = argv[++i];
                else if (i + 1 < argc && strcmp(argv[i], "--name") == 0)
                        *name = argv[++i];
                else if (i + 1 < argc && strcmp(argv[i], "--key") == 0)
                        *key = argv[++i];
                else if (i + 1 < argc && strcmp(argv[i], "--server") == 0)
                        *first = argv[++i];
                else
                        return false;
        }
        return *hosts != NULL && *name != NULL;
}

int main(int argc, char **argv)
{
        static struct client c = {.fd = -1};
        const char *hosts = NULL, *first = NULL, *key = NULL;
        if (!parse_args(argc, argv, &hosts, &c.name, &key, &first) || !chat_name_ok(c.name) ||
            (key != NULL && (!chat_key_ok(key) || key[0] == '\0'))) {
                usage();
                return 2;
        }
        if (key != NULL)
                snprintf(c.key, sizeof(c.key), "%s", key);
        else if (!chat_random_hex(c.key))
                return 1;
        srand((unsigned)(now_ms() ^ getpid()));
        signal(SIGPIPE, SIG_IGN);
        setvbuf(stdout, NULL, _IOLBF, 0);
        chat_linebuf_init(&c.in);
        struct synod_options opt = {.servers = hosts};
        int rc = synod_open(&c.synod, &opt);
        if (rc == SYNOD_OK)
                rc = synod_wait_connected(c.synod, CLI_SYNOD_TIMEOUT_MS);
        if (rc != SYNOD_OK) {
                fprintf(stderr, "chatnet-client: synod %s: %s\n", hosts, synod_strerror(rc));
                return 1;
        }
        connect_somewhere(&c, first, NULL);

        static struct chat_linebuf typed;
        chat_linebuf_init(&typed);
        for (;;) {
                struct pollfd p[2] = {{.fd = 0, .events = POLLIN}, {.fd = c.fd, .events = POLLIN}};
                if (poll(p, 2, -1) < 0 && errno != EINTR)
                        break;
                if (p[1].revents != 0) {
                        if (fill(&c) <= 0) {
                                char lost[CHAT_ADDR_BYTES_MAX + 1];
                                memcpy(lost, c.addr, sizeof(lost));
                                printf("* lost %s\n", lost);
                                hang_up(&c);
                                connect_somewhere(&c, NULL, lost);
                        } else {
                                server_lines(&c);
                        }
                        continue;
                }
                if (p[0].revents == 0)
                        continue;
                size_t room;
                char *space = chat_linebuf_space(&typed, &room);
                ssize_t n = read(0, space, room);
                if (n <= 0)
                        break;
                chat_linebuf_commit(&typed, (size_t)n);
                bool too_long, stay = true;
                char *line;
                while (stay && (line = chat_linebuf_next(&typed, &too_long)) != NULL) {
                        char out[CHAT_LINE_BYTES_MAX + 8];
                        stay = user_command(&c, line, out, sizeof(out));
                        if (stay && strlen(out) > CHAT_LINE_BYTES_MAX)
                                printf("* too long, not sent\n");
                        else if (stay && out[0] != '\0')
                                say_anyway(&c, out);
                }
                if (!stay || too_long)
                        break;
        }
        hang_up(&c);
        synod_close(c.synod);
        return 0;
}
