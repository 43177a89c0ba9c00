/*
 * The console API's parts (admin-internal; the contract is admin.h's "web console"):
 * console.c runs the workers and routes, console_node.c reads and edits one znode,
 * console_events.c keeps the live event feed. All of it runs on the workers.
 *
 * Ownership: requests are borrowed from the admin server until answered (each handler
 * answers the request it is given exactly once); everything else is borrowed for the call.
 */
#ifndef SYN_ADMIN_CONSOLE_H
#define SYN_ADMIN_CONSOLE_H

#include <jansson.h>

#include "admin/admin.h"

/* HTTP statuses the console answers. */
enum {
        CONSOLE_OK = 200,
        CONSOLE_BAD_REQUEST = 400,
        CONSOLE_UNAUTHORIZED = 401,
        CONSOLE_FORBIDDEN = 403,
        CONSOLE_NOT_FOUND = 404,
        CONSOLE_METHOD_NOT_ALLOWED = 405,
        CONSOLE_CONFLICT = 409,
        CONSOLE_INTERNAL_ERROR = 500,
        CONSOLE_UNAVAILABLE = 503,
};

/* Answers r with o as JSON (the reference to o is taken; NULL: out of memory, 500). */
void console_answer(struct admin_server *a, struct admin_request *r, unsigned status, json_t *o);
/* Answers r with {"error": error, "message": message}. */
void console_refuse(struct admin_server *a, struct admin_request *r, unsigned status,
                    const char *error, const char *message);

struct synod;
/* Opens a session of this server (libsynod on servers, the console's session timeout);
 * credentials ("user:password", NULL: anonymous) are added as a digest identity. Does not
 * wait for the session. SYNOD_OK or libsynod's error; *out owned by the caller. */
int console_open(struct synod **out, const char *servers, const char *credentials);

/* GET: the node's data (hex), Stat, children and ACL; POST: a JSON edit (create, set,
 * delete). znode is the node's path ("/a/b"), taken from the URL. */
void console_node(struct admin_server *a, struct admin_request *r, const char *servers,
                  const char *znode);

/* The event feed: a session watching the whole tree. */
struct console_feed;
/* *out is owned by the caller (console_feed_free); servers is copied. SYN_OK or SYN_ENOMEM. */
int console_feed_new(struct console_feed **out, const char *servers);
/* Closes the feed's session (blocking up to the client's close wait) and frees f. */
void console_feed_free(struct console_feed *f);
/* Answers r with the events numbered `after` (the decimal text from the URL) and later;
 * opens the feed's session if it has none or it expired. */
void console_events(struct console_feed *f, struct admin_server *a, struct admin_request *r,
                    const char *after);

#endif
