/*
 * Length-prefixed framing of the ZooKeeper client protocol (docs/protocol-notes.md,
 * "Encoding and framing").
 *
 * Every message in both directions is a 4-byte big-endian length followed by
 * that many payload bytes. The reader side is a pure function over the bytes
 * a connection has buffered so far: it says "need more", "a frame of N bytes
 * is here", or "this length is hostile, close the connection", and never
 * copies. On the first bytes of a fresh connection it also recognises a
 * four-letter-word candidate (4 ASCII letters, e.g. "ruok"): every 4lw spells
 * a value far above any accepted frame length (see ZK_FOURLW_VALUE_MIN in
 * base/limits.h), so a real length never looks like one. The server looks the
 * word up in proto/fourlw.h; an unknown word means close without output.
 *
 * The writer side lets encoders append a frame in place: reserve the 4 length
 * bytes, write the record, then patch the length, so many replies share one
 * output buffer and one write(2).
 */
#ifndef SYN_PROTO_FRAME_H
#define SYN_PROTO_FRAME_H

#include "base/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum zk_frame_kind {
        ZK_FRAME_NEED_MORE,  /* not a whole frame yet: read more, call again */
        ZK_FRAME_READY,      /* payload/payload_len describe one whole frame */
        ZK_FRAME_FOURLW,     /* fresh connection opened with 4 ASCII letters: see word */
        ZK_FRAME_BAD_LENGTH, /* negative or too large length: close the connection */
};

struct zk_frame {
        enum zk_frame_kind kind;
        const uint8_t *payload; /* READY: borrowed from the caller's buffer */
        size_t payload_len;     /* READY: 0..frame_bytes_max */
        size_t consumed;        /* READY: 4 + payload_len; FOURLW: 4; else 0 */
        char word[5];           /* FOURLW: the 4 letters, NUL-terminated */
        int64_t bad_length;     /* BAD_LENGTH: the length as sent, for the log line */
};

/*
 * Looks at the start of buf (len bytes buffered, borrowed) and fills *out.
 * fresh: nothing has been consumed on this connection yet (4lw detection is
 * only done then). frame_bytes_max: the largest payload accepted, normally
 * ZK_FRAME_BYTES_MAX; must be below ZK_FOURLW_VALUE_MIN (asserted).
 * A length of 0 is a (useless) READY frame: the record decoder rejects it.
 */
void zk_frame_parse(const uint8_t *buf, size_t len, bool fresh, size_t frame_bytes_max,
                    struct zk_frame *out);

/* True if the 4 bytes are ASCII letters (a-z, A-Z): a four-letter-word candidate. */
bool zk_frame_is_fourlw(const uint8_t p[4]);

/*
 * Starts a frame: appends a 4-byte length placeholder to w and returns its
 * offset, to be passed to zk_frame_end.
 */
size_t zk_frame_begin(struct syn_writer *w);

/*
 * Ends the frame started at start: patches the length to the bytes written
 * since. Returns SYN_OK; SYN_ETOOBIG if the payload exceeds payload_bytes_max
 * (w is then rolled back to start, dropping the frame); SYN_ENOMEM if w
 * failed (sticky; the frame is lost and w must be reset).
 */
int zk_frame_end(struct syn_writer *w, size_t start, size_t payload_bytes_max);

/* Rolls w back to length start (drops a partly written frame). start <= w->len. */
void zk_frame_abort(struct syn_writer *w, size_t start);

#endif
