/*
 * Sample records for the proto tests: at least one request of every client
 * opcode and one reply body of every layout, with null, empty and non-empty
 * strings and vectors, nested ACLs in multi, and a setWatches2 with all five
 * lists. All storage is static; the arrays are rebuilt by each call.
 */
#ifndef SYN_TESTS_PROTO_SAMPLES_H
#define SYN_TESTS_PROTO_SAMPLES_H

#include "proto/zk_records.h"

#include <stddef.h>
#include <stdint.h>

#define SAMPLE_BYTES(s) ((struct zk_bytes){(const uint8_t *)(s), (int32_t)(sizeof(s) - 1)})
#define SAMPLE_NULL     ((struct zk_bytes){NULL, -1})

/* Fills out[0..max) with sample requests and returns how many. */
size_t sample_requests(struct zk_request *out, size_t max);

/* Fills out[0..max) with sample reply bodies (every layout) and returns how many. */
size_t sample_responses(struct zk_response *out, size_t max);

/* Encodes req as a frame; returns the payload (without the length) in a fresh
 * malloc'd buffer of exactly *len bytes (caller frees). Asserts success. */
uint8_t *sample_request_payload(const struct zk_request *req, size_t *len);

/* Encodes a reply {xid 7, zxid 9, err 0} with body; returns the body bytes after
 * the 16-byte header in a fresh malloc'd buffer of exactly *len bytes. */
uint8_t *sample_response_body(const struct zk_response *body, size_t *len);

#endif
