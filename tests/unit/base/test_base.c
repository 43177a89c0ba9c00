/* Unit tests of src/base: bounded reader/writer, CRC-32C vectors, PRNG, error tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base64.h"
#include "base/buf.h"
#include "base/crc32c.h"
#include "base/err.h"
#include "base/rand.h"
#include "base/utf8.h"
#include "base/zk_types.h"

static void reader_stops_at_end_and_stays_failed(void **state)
{
        (void)state;
        const uint8_t data[] = {0, 0, 0, 7, 1, 2};
        struct syn_reader r;
        syn_reader_init(&r, data, sizeof data);
        assert_int_equal(syn_read_be32(&r), 7);
        assert_false(r.failed);
        assert_int_equal(syn_read_be32(&r), 0); /* only 2 bytes left */
        assert_true(r.failed);
        assert_int_equal(syn_read_u8(&r), 0); /* sticky, even though 2 bytes remain */
        assert_null(syn_read_bytes(&r, 1));
}

static void writer_round_trips_big_endian(void **state)
{
        (void)state;
        struct syn_writer w;
        syn_writer_init(&w, 0);
        syn_write_be32(&w, 0x01020304);
        syn_write_be64(&w, 0x1122334455667788ull);
        syn_write_u8(&w, 0xab);
        assert_false(w.failed);
        assert_int_equal(w.len, 13);
        assert_int_equal(w.data[0], 1);
        struct syn_reader r;
        syn_reader_init(&r, w.data, w.len);
        assert_int_equal(syn_read_be32(&r), 0x01020304);
        assert_true(syn_read_be64(&r) == 0x1122334455667788ull);
        assert_int_equal(syn_read_u8(&r), 0xab);
        assert_int_equal(syn_reader_left(&r), 0);
        syn_writer_close(&w);
}

static void writer_cap_fails_sticky(void **state)
{
        (void)state;
        struct syn_writer w;
        syn_writer_init(&w, 6);
        syn_write_be32(&w, 1);
        syn_write_be32(&w, 2); /* would make 8 > 6 */
        assert_true(w.failed);
        assert_int_equal(w.len, 4);
        syn_write_u8(&w, 1);
        assert_int_equal(w.len, 4);
        syn_writer_close(&w);
}

static void writer_patch_and_take(void **state)
{
        (void)state;
        struct syn_writer w;
        syn_writer_init(&w, 0);
        syn_write_be32(&w, 0);
        syn_write_bytes(&w, "abc", 3);
        syn_writer_patch_be32(&w, 0, 3);
        size_t len;
        uint8_t *p = syn_writer_take(&w, &len);
        assert_int_equal(len, 7);
        assert_int_equal(syn_get_be32(p), 3);
        assert_memory_equal(p + 4, "abc", 3);
        assert_null(w.data);
        free(p);
}

static void crc32c_known_vectors(void **state)
{
        (void)state;
        assert_int_equal(syn_crc32c(0, "123456789", 9), 0xe3069283u);
        assert_int_equal(syn_crc32c(0, "", 0), 0);
        uint8_t zeros[32] = {0};
        assert_int_equal(syn_crc32c(0, zeros, sizeof zeros), 0x8a9136aau);
        /* Incremental equals one-shot, across the 8-byte stride. */
        const char *text = "The quick brown fox jumps over the lazy dog";
        size_t n = strlen(text);
        uint32_t whole = syn_crc32c(0, text, n);
        uint32_t part = syn_crc32c(syn_crc32c(0, text, 13), text + 13, n - 13);
        assert_int_equal(whole, part);
        assert_int_equal(whole, 0x22620404u);
}

static void rand_is_deterministic_and_bounded(void **state)
{
        (void)state;
        struct syn_rand a, b;
        syn_rand_seed(&a, 42);
        syn_rand_seed(&b, 42);
        for (int i = 0; i < 1000; i++)
                assert_true(syn_rand_next(&a) == syn_rand_next(&b));
        syn_rand_seed(&b, 43);
        assert_true(syn_rand_next(&a) != syn_rand_next(&b));
        int seen[10] = {0};
        for (int i = 0; i < 10000; i++) {
                uint64_t v = syn_rand_range(&a, 5, 14);
                assert_true(v >= 5 && v <= 14);
                seen[v - 5]++;
        }
        for (int i = 0; i < 10; i++)
                assert_true(seen[i] > 800); /* roughly uniform: expected 1000 each */
}

static void base64_pads_like_rfc4648(void **state)
{
        (void)state;
        char out[16];
        assert_int_equal(syn_base64_encode((const uint8_t *)"f", 1, out, sizeof out), 4);
        assert_string_equal(out, "Zg==");
        syn_base64_encode((const uint8_t *)"fo", 2, out, sizeof out);
        assert_string_equal(out, "Zm8=");
        syn_base64_encode((const uint8_t *)"foobar", 6, out, sizeof out);
        assert_string_equal(out, "Zm9vYmFy");
        assert_int_equal(syn_base64_size(6), 9);
        assert_int_equal(syn_base64_encode((const uint8_t *)"foobar", 6, out, 8), 0);
        assert_int_equal(syn_base64_encode((const uint8_t *)"", 0, out, 1), 0);
        assert_string_equal(out, "");
}

/* Decodes s (n bytes) as one sequence: its length, and *cp. */
static size_t utf8_one(const char *s, size_t n, uint32_t *cp)
{
        return syn_utf8_decode((const uint8_t *)s, n, cp);
}

static void utf8_is_strict(void **state)
{
        (void)state;
        uint32_t cp = 0;
        assert_int_equal(utf8_one("A", 1, &cp), 1);
        assert_int_equal(cp, 0x41);
        assert_int_equal(utf8_one("\xc3\xa9", 2, &cp), 2);
        assert_int_equal(cp, 0xe9);
        assert_int_equal(utf8_one("\xe2\x82\xac", 3, &cp), 3);
        assert_int_equal(cp, 0x20ac);
        assert_int_equal(utf8_one("\xf0\x9f\x98\x80", 4, &cp), 4);
        assert_int_equal(cp, 0x1f600);
        assert_int_equal(utf8_one("\xf4\x8f\xbf\xbf", 4, &cp), 4);
        assert_int_equal(cp, 0x10ffff);
        assert_int_equal(utf8_one("\x80", 1, &cp), 0);             /* stray continuation */
        assert_int_equal(utf8_one("\xc0\x80", 2, &cp), 0);         /* overlong NUL */
        assert_int_equal(utf8_one("\xe0\x80\xaf", 3, &cp), 0);     /* overlong '/' */
        assert_int_equal(utf8_one("\xf0\x8f\xbf\xbf", 4, &cp), 0); /* overlong */
        assert_int_equal(utf8_one("\xed\xa0\x80", 3, &cp), 0);     /* a surrogate */
        assert_int_equal(utf8_one("\xf4\x90\x80\x80", 4, &cp), 0); /* past U+10FFFF */
        assert_int_equal(utf8_one("\xf5\x80\x80\x80", 4, &cp), 0);
        assert_int_equal(utf8_one("\xe2\x82", 2, &cp), 0);     /* cut short */
        assert_int_equal(utf8_one("\xe2\x41\xac", 3, &cp), 0); /* not a continuation */
}

static void error_tables_name_every_code(void **state)
{
        (void)state;
        assert_string_equal(syn_errname(SYN_ECORRUPT), "SYN_ECORRUPT");
        assert_string_equal(syn_strerror(SYN_ENOSPC), "no space left on device");
        assert_string_equal(zk_errname(ZNONODE), "ZNONODE");
        assert_string_equal(zk_strerror(ZBADVERSION), "bad version");
        assert_string_equal(zk_errname(-9999), "ZUNKNOWN");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(reader_stops_at_end_and_stays_failed),
            cmocka_unit_test(writer_round_trips_big_endian),
            cmocka_unit_test(writer_cap_fails_sticky),
            cmocka_unit_test(writer_patch_and_take),
            cmocka_unit_test(crc32c_known_vectors),
            cmocka_unit_test(rand_is_deterministic_and_bounded),
            cmocka_unit_test(error_tables_name_every_code),
            cmocka_unit_test(base64_pads_like_rfc4648),
            cmocka_unit_test(utf8_is_strict),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
