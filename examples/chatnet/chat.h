/*
 * What chatnet-server and chatnet-client share: the layout of the synod tree, the
 * limits of the line protocol and the helpers that check names and split lines.
 *
 * The synod tree (README.md, "Design"):
 *   /chatnet/secret             random text every chat server shows its peers
 *   /chatnet/servers/ADDR@INST  ephemeral, one per running server (ADDR = host:port,
 *                               INST = random per process, so a restarted server does not
 *                               collide with the node its crashed predecessor left)
 *   /chatnet/users/NAME         persistent, one per registered user:
 *                               "<nonce>\n<key>" (nonce: which REGISTER created it)
 */
#ifndef CHATNET_CHAT_H
#define CHATNET_CHAT_H

#include <stdbool.h>
#include <stddef.h>

#define CHAT_SECRET_PATH "/chatnet/secret"
#define CHAT_SERVERS_DIR "/chatnet/servers"
#define CHAT_USERS_DIR   "/chatnet/users"

/* "host:port" of a server, as given to --listen. */
#define CHAT_ADDR_BYTES_MAX 64
/* A user name: 1..32 of [A-Za-z0-9._-], not "." or "..". */
#define CHAT_NAME_BYTES_MAX 32
/* A login key: 0..64 printable characters without spaces. */
#define CHAT_KEY_BYTES_MAX 64
/* One protocol line without its newline; longer lines close the connection. */
#define CHAT_LINE_BYTES_MAX 4096
/* A synod path: the users directory, '/', a name. */
#define CHAT_PATH_BYTES_MAX 128
/* Random ids (instance, nonce, key): 16 random bytes in hex. */
#define CHAT_RANDOM_HEX_BYTES 32

/* Accumulates bytes read from a socket and hands them out one line at a time. */
struct chat_linebuf {
        char data[2 * CHAT_LINE_BYTES_MAX + 2];
        size_t start; /* first byte not yet handed out */
        size_t len;   /* bytes held (from data[0]) */
};

void chat_linebuf_init(struct chat_linebuf *lb);
/* Where the next read may write and how much: compacts first. */
char *chat_linebuf_space(struct chat_linebuf *lb, size_t *room);
void chat_linebuf_commit(struct chat_linebuf *lb, size_t n);
/*
 * The next complete line (NUL-terminated, "\r\n" or "\n" stripped), valid until the next
 * space() call; NULL if none is complete. *too_long is set when the held bytes already
 * exceed CHAT_LINE_BYTES_MAX without a newline: the peer is not speaking the protocol.
 */
char *chat_linebuf_next(struct chat_linebuf *lb, bool *too_long);

bool chat_name_ok(const char *name);
bool chat_key_ok(const char *key);
/* Splits "host:port" (port 1..65535) into host (buf of host_len) and *port. */
bool chat_addr_split(const char *addr, char *host, size_t host_len, int *port);
/* The ADDR of a server node name "ADDR@INST" into addr (CHAT_ADDR_BYTES_MAX + 1). */
bool chat_server_node_addr(const char *node, char *addr);
/* CHAT_RANDOM_HEX_BYTES hex characters and a NUL into buf; false without entropy. */
bool chat_random_hex(char *buf);

#endif
