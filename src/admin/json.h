/*
 * admin's JSON helpers (jansson), shared by the /commands writers and the console's
 * API. The setters take the reference of v; a NULL value (out of memory) makes the set
 * fail, which admin_json_dump's result catches at the end.
 */
#ifndef SYN_ADMIN_JSON_H
#define SYN_ADMIN_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "base/buf.h"

static inline void put(json_t *o, const char *key, json_t *v)
{
        json_object_set_new(o, key, v);
}

static inline void put_int(json_t *o, const char *key, int64_t v)
{
        put(o, key, json_integer((json_int_t)v));
}

static inline void put_str(json_t *o, const char *key, const char *v)
{
        put(o, key, v != NULL ? json_string(v) : json_null());
}

/*
 * Writes o (indented, then a newline) to w and drops the reference to o (taken even on
 * error; NULL is out of memory). SYN_OK, SYN_ENOMEM or SYN_ETOOBIG (over w's cap).
 */
int admin_json_dump(struct syn_writer *w, json_t *o);

#endif
