/*
 * Unit tests of the jute primitives (src/proto/jute.c), the framing
 * (frame.c) and path validation (path.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/limits.h"
#include "base/zk_path.h"
#include "proto/frame.h"
#include "proto/jute.h"
#include "proto/zk_records.h"
#include "test_proto.h"

/* ---- jute ---- */

static void jute_buffer_lengths(void **state)
{
        (void)state;
        const uint8_t in[] = {0xff, 0xff, 0xff, 0xff, /* null */
                              0,    0,    0,    0,    /* empty */
                              0,    0,    0,    3,    'a', 'b', 'c'};
        struct jute_reader r;
        jute_reader_init(&r, in, sizeof in);
        struct zk_bytes b = jute_read_buffer(&r, 10);
        assert_int_equal(b.len, -1);
        assert_null(b.data);
        b = jute_read_buffer(&r, 10);
        assert_int_equal(b.len, 0);
        b = jute_read_buffer(&r, 3);
        assert_int_equal(b.len, 3);
        assert_ptr_equal(b.data, in + 12); /* a view, not a copy */
        assert_int_equal(r.err, SYN_OK);
        assert_int_equal(jute_reader_left(&r), 0);

        jute_reader_init(&r, in + 8, 7);
        b = jute_read_buffer(&r, 2); /* 3 > limit 2 */
        assert_int_equal(r.err, SYN_ETOOBIG);
        assert_int_equal(b.len, -1);
        jute_reader_init(&r, in + 8, 6); /* one byte short */
        jute_read_buffer(&r, 10);
        assert_int_equal(r.err, SYN_EPROTO);
        const uint8_t neg[] = {0xff, 0xff, 0xff, 0xfe, 0};
        jute_reader_init(&r, neg, sizeof neg);
        jute_read_buffer(&r, 10);
        assert_int_equal(r.err, SYN_EPROTO);
}

static void jute_errors_are_sticky(void **state)
{
        (void)state;
        const uint8_t in[] = {0, 0, 0, 9, 0, 0, 0, 1, 1};
        struct jute_reader r;
        jute_reader_init(&r, in, sizeof in);
        jute_read_buffer(&r, 4); /* 9 > 4: ETOOBIG */
        assert_int_equal(r.err, SYN_ETOOBIG);
        /* Later reads return zero and the first error stays. */
        assert_int_equal(jute_read_int(&r), 0);
        assert_false(jute_read_bool(&r));
        jute_reader_fail(&r, SYN_EPROTO);
        assert_int_equal(r.err, SYN_ETOOBIG);
        assert_int_equal(jute_reader_left(&r), 0);
}

static void jute_counts(void **state)
{
        (void)state;
        uint8_t in[4 + 24] = {0};
        struct jute_reader r;
        syn_put_be32(in, 2);
        jute_reader_init(&r, in, sizeof in);
        assert_int_equal(jute_read_count(&r, 5, 12), 2); /* 2 * 12 <= 24 */
        syn_put_be32(in, 3);
        jute_reader_init(&r, in, sizeof in);
        assert_int_equal(jute_read_count(&r, 5, 12), 0); /* 3 * 12 > 24 */
        assert_int_equal(r.err, SYN_EPROTO);
        syn_put_be32(in, 6);
        jute_reader_init(&r, in, sizeof in);
        jute_read_count(&r, 5, 1);
        assert_int_equal(r.err, SYN_ETOOBIG);
        syn_put_be32(in, (uint32_t)-1);
        jute_reader_init(&r, in, sizeof in);
        assert_int_equal(jute_read_count(&r, 5, 1), -1);
        assert_int_equal(r.err, SYN_OK);
        syn_put_be32(in, (uint32_t)-2);
        jute_reader_init(&r, in, sizeof in);
        jute_read_count(&r, 5, 1);
        assert_int_equal(r.err, SYN_EPROTO);
        /* INT32_MAX elements of a huge size must not overflow the check. */
        syn_put_be32(in, INT32_MAX);
        jute_reader_init(&r, in, sizeof in);
        jute_read_count(&r, INT32_MAX, SIZE_MAX / 2);
        assert_int_equal(r.err, SYN_EPROTO);
}

static void jute_write_primitives(void **state)
{
        (void)state;
        struct syn_writer w;
        syn_writer_init(&w, 0);
        jute_write_int(&w, -2);
        jute_write_long(&w, -1);
        jute_write_bool(&w, true);
        jute_write_buffer(&w, zk_bytes_of(NULL));
        jute_write_buffer(&w, zk_bytes_of("hi"));
        const uint8_t want[] = {0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff,
                                0xff, 0xff, 0xff, 0xff, 1,    0xff, 0xff, 0xff,
                                0xff, 0,    0,    0,    2,    'h',  'i'};
        assert_int_equal(w.len, sizeof want);
        assert_memory_equal(w.data, want, sizeof want);
        syn_writer_close(&w);
        assert_true(zk_bytes_equal(zk_bytes_of(""), zk_bytes_of("")));
        assert_false(zk_bytes_equal(zk_bytes_of(""), zk_bytes_of(NULL)));
        assert_false(zk_bytes_equal(zk_bytes_of("ab"), zk_bytes_of("ac")));
}

/* ---- frame ---- */

static void frame_needs_whole_frame(void **state)
{
        (void)state;
        const uint8_t in[] = {0, 0, 0, 3, 'a', 'b', 'c', 0, 0};
        struct zk_frame f;
        for (size_t k = 0; k < 7; k++) {
                zk_frame_parse(in, k, false, ZK_FRAME_BYTES_MAX, &f);
                assert_int_equal(f.kind, ZK_FRAME_NEED_MORE);
                assert_int_equal(f.consumed, 0);
        }
        zk_frame_parse(in, sizeof in, false, ZK_FRAME_BYTES_MAX, &f);
        assert_int_equal(f.kind, ZK_FRAME_READY);
        assert_ptr_equal(f.payload, in + 4);
        assert_int_equal(f.payload_len, 3);
        assert_int_equal(f.consumed, 7);
        /* The next frame starts right after (an empty one here). */
        zk_frame_parse(in + f.consumed, 2, false, ZK_FRAME_BYTES_MAX, &f);
        assert_int_equal(f.kind, ZK_FRAME_NEED_MORE);
        const uint8_t empty[] = {0, 0, 0, 0};
        zk_frame_parse(empty, 4, false, ZK_FRAME_BYTES_MAX, &f);
        assert_int_equal(f.kind, ZK_FRAME_READY);
        assert_int_equal(f.payload_len, 0);
}

static void frame_rejects_bad_lengths(void **state)
{
        (void)state;
        uint8_t in[4];
        struct zk_frame f;
        syn_put_be32(in, (uint32_t)-1);
        zk_frame_parse(in, 4, false, ZK_FRAME_BYTES_MAX, &f);
        assert_int_equal(f.kind, ZK_FRAME_BAD_LENGTH);
        assert_int_equal(f.bad_length, -1);
        syn_put_be32(in, ZK_FRAME_BYTES_MAX + 1);
        zk_frame_parse(in, 4, false, ZK_FRAME_BYTES_MAX, &f);
        assert_int_equal(f.kind, ZK_FRAME_BAD_LENGTH);
        syn_put_be32(in, ZK_FRAME_BYTES_MAX); /* the maximum itself is fine */
        zk_frame_parse(in, 4, false, ZK_FRAME_BYTES_MAX, &f);
        assert_int_equal(f.kind, ZK_FRAME_NEED_MORE);
        syn_put_be32(in, 100); /* a smaller configured maximum is honoured */
        zk_frame_parse(in, 4, false, 99, &f);
        assert_int_equal(f.kind, ZK_FRAME_BAD_LENGTH);
}

static void frame_four_letter_words_only_when_fresh(void **state)
{
        (void)state;
        const uint8_t ruok[] = {'r', 'u', 'o', 'k'};
        struct zk_frame f;
        zk_frame_parse(ruok, 3, true, ZK_FRAME_BYTES_MAX, &f);
        assert_int_equal(f.kind, ZK_FRAME_NEED_MORE);
        zk_frame_parse(ruok, 4, true, ZK_FRAME_BYTES_MAX, &f);
        assert_int_equal(f.kind, ZK_FRAME_FOURLW);
        assert_string_equal(f.word, "ruok");
        assert_int_equal(f.consumed, 4);
        /* After the handshake the same bytes are just a hostile length. */
        zk_frame_parse(ruok, 4, false, ZK_FRAME_BYTES_MAX, &f);
        assert_int_equal(f.kind, ZK_FRAME_BAD_LENGTH);
        /* Not all letters: a length (here too large). */
        const uint8_t mixed[] = {'r', 'u', '0', 'k'};
        zk_frame_parse(mixed, 4, true, ZK_FRAME_BYTES_MAX, &f);
        assert_int_equal(f.kind, ZK_FRAME_BAD_LENGTH);
        /* A real ConnectRequest length on a fresh connection is a frame. */
        const uint8_t hello[] = {0, 0, 0, 45};
        zk_frame_parse(hello, 4, true, ZK_FRAME_BYTES_MAX, &f);
        assert_int_equal(f.kind, ZK_FRAME_NEED_MORE);
        assert_true(zk_frame_is_fourlw((const uint8_t *)"MNTR"));
        assert_false(zk_frame_is_fourlw((const uint8_t *)"mnt "));
        assert_false(zk_frame_is_fourlw((const uint8_t *)"\0\0\0\x2d"));
}

static void frame_writer_patches_and_rolls_back(void **state)
{
        (void)state;
        struct syn_writer w;
        syn_writer_init(&w, 0);
        syn_write_u8(&w, 0x7f); /* an earlier frame's byte: must survive */
        size_t start = zk_frame_begin(&w);
        syn_write_bytes(&w, "abc", 3);
        assert_int_equal(zk_frame_end(&w, start, 3), SYN_OK);
        const uint8_t want[] = {0x7f, 0, 0, 0, 3, 'a', 'b', 'c'};
        assert_int_equal(w.len, sizeof want);
        assert_memory_equal(w.data, want, sizeof want);
        start = zk_frame_begin(&w);
        syn_write_bytes(&w, "abcd", 4);
        assert_int_equal(zk_frame_end(&w, start, 3), SYN_ETOOBIG);
        assert_int_equal(w.len, sizeof want);
        syn_writer_close(&w);
        /* A writer over its cap reports ENOMEM. */
        syn_writer_init(&w, 6);
        start = zk_frame_begin(&w);
        syn_write_bytes(&w, "abc", 3);
        assert_int_equal(zk_frame_end(&w, start, 100), SYN_ENOMEM);
        syn_writer_close(&w);
}

/* ---- path validation ---- */

static int validate(const char *p, bool seq)
{
        return zk_path_validate((const uint8_t *)p, strlen(p), seq);
}

static void path_validation_cases(void **state)
{
        (void)state;
        const char *good[] = {"/",
                              "/a",
                              "/a/b",
                              "/zookeeper/quota",
                              "/a.b",
                              "/a/..b",
                              "/a/b..",
                              "/...",
                              "/a/.b.",
                              "/\xc3\xa9",
                              "/\xe2\x82\xac",
                              "/a b",
                              "/a-0000000001",
                              "/\xef\xbf\xaf"};
        const char *bad[] = {"",
                             "a",
                             "a/b",
                             "/a/",
                             "//",
                             "/a//b",
                             "/.",
                             "/..",
                             "/a/.",
                             "/a/../b",
                             "/a/./b",
                             "/a\x01",
                             "/a\x1f",
                             "/a\x7f",
                             "/\xc2\x80",
                             "/\xc2\x9f",
                             "/\xed\xa0\x80",
                             "/\xee\x80\x80",
                             "/\xef\xbf\xb0",
                             "/\xef\xbf\xbf",
                             "/\xf0\x9f\x98\x80",
                             "/\xc0\xaf",
                             "/\xe0\x80\xaf",
                             "/\x80",
                             "/\xc3",
                             "/\xe2\x82",
                             "/\xff"};
        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
                if (validate(good[i], false) != ZOK)
                        fail_msg("expected valid: %s", good[i]);
        }
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                if (validate(bad[i], false) != ZBADARGUMENTS)
                        fail_msg("expected invalid: index %zu", i);
        }
        /* An embedded NUL. */
        assert_int_equal(zk_path_validate((const uint8_t *)"/a\0b", 4, false), ZBADARGUMENTS);
        /* Null, and longer than the limit. */
        assert_int_equal(zk_path_validate(NULL, (size_t)-1, false),
                         ZBADARGUMENTS); /* a null string */
        uint8_t *longp = malloc(ZK_PATH_BYTES_MAX + 1);
        memset(longp, 'a', ZK_PATH_BYTES_MAX + 1);
        longp[0] = '/';
        assert_int_equal(zk_path_validate(longp, ZK_PATH_BYTES_MAX, false), ZOK);
        assert_int_equal(zk_path_validate(longp, ZK_PATH_BYTES_MAX + 1, false), ZBADARGUMENTS);
        free(longp);
}

static void path_validation_sequential(void **state)
{
        (void)state;
        /* Validated as path + "1". */
        assert_int_equal(validate("/a/", true), ZOK);
        assert_int_equal(validate("/", true), ZOK);
        assert_int_equal(validate("/a/lock-", true), ZOK);
        assert_int_equal(validate("/a/.", true), ZOK);       /* "/a/.1" */
        assert_int_equal(validate("/a/..", true), ZOK);      /* "/a/..1" */
        assert_int_equal(validate("", true), ZBADARGUMENTS); /* "1" */
        assert_int_equal(validate("/a//", true), ZBADARGUMENTS);
        assert_int_equal(validate("/./", true), ZBADARGUMENTS);
        assert_int_equal(validate("/a/", false), ZBADARGUMENTS);
        assert_int_equal(validate("/\xc3", true), ZBADARGUMENTS); /* "1" completes nothing */
}

int run_wire_tests(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(jute_buffer_lengths),
            cmocka_unit_test(jute_errors_are_sticky),
            cmocka_unit_test(jute_counts),
            cmocka_unit_test(jute_write_primitives),
            cmocka_unit_test(frame_needs_whole_frame),
            cmocka_unit_test(frame_rejects_bad_lengths),
            cmocka_unit_test(frame_four_letter_words_only_when_fresh),
            cmocka_unit_test(frame_writer_patches_and_rolls_back),
            cmocka_unit_test(path_validation_cases),
            cmocka_unit_test(path_validation_sequential),
        };
        return cmocka_run_group_tests_name("proto wire", tests, NULL, NULL);
}
