/*
 * libFuzzer target for the ZooKeeper client-protocol decoders (src/proto).
 *
 * The input is used three ways, so the fuzzer need not learn the framing to
 * reach the record decoders:
 *   1. as a byte stream from a fresh client connection: zk_frame_parse splits
 *      it (4lw candidates, bad lengths and all); the first frame is decoded as
 *      a ConnectRequest, the rest as requests;
 *   2. as one request payload, decoded directly;
 *   3. as a reply body, for a reply type picked by the first byte.
 * Everything that decodes is encoded again and decoded back, and must come
 * out equal (encode(decode(x)) decodes to decode(x)); anything else aborts.
 * Decoders must never crash, read out of bounds or leak: ASan/UBSan watch.
 */
#include "base/buf.h"
#include "base/err.h"
#include "base/limits.h"
#include "proto/frame.h"
#include "proto/zk_records.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
        do {                                                                                       \
                if (!(cond))                                                                       \
                        abort();                                                                   \
        } while (0)

static bool rc_is_decode_error(int rc)
{
        return rc == SYN_EPROTO || rc == SYN_ETOOBIG || rc == SYN_ENOTSUP;
}

static void round_trip_request(const uint8_t *p, size_t n)
{
        struct zk_request req;
        int rc = zk_request_decode(p, n, &req);
        FUZZ_CHECK(rc == SYN_OK || rc_is_decode_error(rc));
        if (rc == SYN_OK) {
                struct syn_writer w;
                syn_writer_init(&w, 0);
                rc = zk_request_write(&w, &req);
                /* Only a payload over the frame limit may fail to re-encode. */
                FUZZ_CHECK(rc == SYN_OK || (rc == SYN_ETOOBIG && n > ZK_FRAME_BYTES_MAX));
                if (rc == SYN_OK) {
                        FUZZ_CHECK(w.len >= 4 && syn_get_be32(w.data) == w.len - 4);
                        FUZZ_CHECK(w.len - 4 + req.trailing_bytes <= n);
                        struct zk_request back;
                        FUZZ_CHECK(zk_request_decode(w.data + 4, w.len - 4, &back) == SYN_OK);
                        FUZZ_CHECK(zk_request_equal(&req, &back));
                        FUZZ_CHECK(back.trailing_bytes == 0);
                        zk_request_free(&back);
                }
                syn_writer_close(&w);
        }
        zk_request_free(&req);
}

static void round_trip_connect(const uint8_t *p, size_t n)
{
        struct zk_connect_request req;
        int rc = zk_connect_request_decode(p, n, &req);
        FUZZ_CHECK(rc == SYN_OK || rc_is_decode_error(rc));
        if (rc != SYN_OK)
                return;
        struct syn_writer w;
        syn_writer_init(&w, 0);
        FUZZ_CHECK(zk_connect_request_write(&w, &req) == SYN_OK);
        struct zk_connect_request back;
        FUZZ_CHECK(zk_connect_request_decode(w.data + 4, w.len - 4, &back) == SYN_OK);
        FUZZ_CHECK(back.protocol_version == req.protocol_version);
        FUZZ_CHECK(back.last_zxid_seen == req.last_zxid_seen);
        FUZZ_CHECK(back.timeout_ms == req.timeout_ms);
        FUZZ_CHECK(back.session_id == req.session_id);
        FUZZ_CHECK(zk_bytes_equal(back.passwd, req.passwd));
        FUZZ_CHECK(back.has_read_only == req.has_read_only);
        FUZZ_CHECK(back.read_only == req.read_only);
        syn_writer_close(&w);
}

static void split_stream(const uint8_t *data, size_t size)
{
        bool fresh = true;
        /* Every READY frame consumes >= 4 bytes, so this ends within size/4 + 1 steps. */
        while (size > 0) {
                struct zk_frame f;
                zk_frame_parse(data, size, fresh, ZK_FRAME_BYTES_MAX, &f);
                if (f.kind != ZK_FRAME_READY)
                        return; /* need more, 4lw (the server answers and closes), bad length */
                FUZZ_CHECK(f.consumed == 4 + f.payload_len && f.consumed <= size);
                if (fresh)
                        round_trip_connect(f.payload, f.payload_len);
                else
                        round_trip_request(f.payload, f.payload_len);
                fresh = false;
                data += f.consumed;
                size -= f.consumed;
        }
}

static void round_trip_response(const uint8_t *data, size_t size)
{
        static const int32_t types[] = {1,   2,   3,   4,   5,   6,   7,   8,   9,  11,
                                        12,  13,  14,  15,  16,  17,  18,  19,  21, 22,
                                        100, 101, 102, 103, 104, 105, 106, 107, -11};
        if (size == 0)
                return;
        int32_t type = types[data[0] % (sizeof types / sizeof types[0])];
        struct zk_response resp;
        int rc = zk_response_decode(type, data + 1, size - 1, &resp);
        FUZZ_CHECK(rc == SYN_OK || rc == SYN_EPROTO || rc == SYN_ETOOBIG);
        if (rc == SYN_OK) {
                struct syn_writer w;
                struct zk_reply_header h = {1, 2, ZOK};
                syn_writer_init(&w, 0);
                FUZZ_CHECK(zk_reply_write(&w, &h, &resp) == SYN_OK);
                struct zk_reply_header hb;
                size_t off;
                FUZZ_CHECK(zk_reply_header_decode(w.data + 4, w.len - 4, &hb, &off) == SYN_OK);
                struct zk_response back;
                FUZZ_CHECK(zk_response_decode(type, w.data + 4 + off, w.len - 4 - off, &back) ==
                           SYN_OK);
                FUZZ_CHECK(zk_response_equal(&resp, &back));
                zk_response_free(&back);
                syn_writer_close(&w);
        }
        zk_response_free(&resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        split_stream(data, size);
        round_trip_request(data, size);
        round_trip_response(data, size);
        return 0;
}
