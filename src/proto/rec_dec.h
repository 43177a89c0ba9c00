/*
 * Private to src/proto: the two-pass record decoder shared by the request and
 * response codecs, and the records both use (Stat, ACL lists, string lists).
 *
 * A decode runs the same record function twice over the same bytes. Pass 1
 * ("counting") only validates and counts vector elements by kind; if any were
 * counted, one block is allocated with exactly that many elements of each
 * kind, and pass 2 ("filling") hands them out in the same order. Because the
 * bytes and the code are the same, pass 2 cannot fail and takes exactly what
 * pass 1 counted (both asserted). One allocation per decoded record, no
 * realloc, and no allocation at all for records without vectors.
 */
#ifndef SYN_PROTO_REC_DEC_H
#define SYN_PROTO_REC_DEC_H

#include "proto/jute.h"
#include "proto/zk_records.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rec_kind {
        REC_ACL,      /* struct zk_acl */
        REC_BYTES,    /* struct zk_bytes */
        REC_INFO,     /* struct zk_client_info */
        REC_REQUEST,  /* struct zk_request (multi sub-ops) */
        REC_RESPONSE, /* struct zk_response (multi results) */
        REC_KINDS,
};

struct rec_dec {
        struct jute_reader in;
        bool counting;
        size_t used[REC_KINDS];
        size_t cap[REC_KINDS];    /* filling pass: what pass 1 counted */
        uint8_t *base[REC_KINDS]; /* filling pass: element storage per kind */
};

/* The record function run by rec_decode: reads one record from d->in into out. */
typedef void (*rec_fn)(struct rec_dec *d, void *out);

/*
 * Runs fn over bytes in two passes as above. On success *pool is the owned
 * block (NULL if nothing was counted) and *trailing the bytes after the record.
 * Returns SYN_OK, the reader's error, or SYN_ENOMEM.
 */
int rec_decode(const uint8_t *bytes, size_t len, rec_fn fn, void *out, void **pool,
               size_t *trailing);

/*
 * Takes n (>= 0) elements of kind k: NULL while counting or for n == 0 (the
 * caller then decodes into a scratch element), else storage from the block.
 */
void *rec_take(struct rec_dec *d, enum rec_kind k, int32_t n);

void rec_read_stat(struct rec_dec *d, struct zk_stat *st);
void rec_read_acl_list(struct rec_dec *d, struct zk_acl_list *out);
/* Reads a vector<ustring> of at most count_max strings of at most bytes_max each. */
void rec_read_bytes_list(struct rec_dec *d, struct zk_bytes_list *out, int32_t count_max,
                         int32_t bytes_max);

void rec_write_stat(struct syn_writer *w, const struct zk_stat *st);
/* Return false (writing nothing) if count > 0 with items NULL, or count < -1. */
bool rec_write_acl_list(struct syn_writer *w, const struct zk_acl_list *l);
bool rec_write_bytes_list(struct syn_writer *w, const struct zk_bytes_list *l);

bool rec_stat_equal(const struct zk_stat *a, const struct zk_stat *b);
bool rec_acl_list_equal(const struct zk_acl_list *a, const struct zk_acl_list *b);
bool rec_bytes_list_equal(const struct zk_bytes_list *a, const struct zk_bytes_list *b);

#endif
