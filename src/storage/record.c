/*
 * WAL records and segment images: encoding, checking, and the scan that finds
 * where a segment's log ends and whether what follows is a clean end, a torn
 * tail or corruption (docs/storage-format.md, "Recovery").
 *
 * Everything here is pure: it works on bytes in memory, never reads out of the
 * given bounds, and never allocates, so recovery, synod-check-wal and the fuzzer
 * share it.
 *
 * The scan reads records until the first one that does not check (at offset X).
 * If only zeros follow, the log simply ends (preallocated space). Otherwise it
 * looks for any valid record at an aligned offset after X: a torn write cannot
 * produce a record whose CRC matches, so finding one means the bad record is in
 * the middle of the log (corruption); finding none means a torn tail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/buf.h"
#include "base/crc32c.h"
#include "base/err.h"
#include "base/limits.h"
#include "storage/internal.h"

void wal_record_encode(uint8_t *out, uint8_t type, uint64_t term, uint64_t index, const void *data,
                       size_t len)
{
        SYN_ASSERT(type != 0);
        SYN_ASSERT(term >= 1);
        SYN_ASSERT(index >= 1);
        SYN_ASSERT(index <= WAL_INDEX_MAX);
        SYN_ASSERT(term <= WAL_INDEX_MAX);
        SYN_ASSERT(len <= WAL_ENTRY_BYTES_MAX);
        size_t size = wal_record_size(len);
        memset(out, 0, size);
        syn_put_be32(out + 4, (uint32_t)len);
        out[8] = type;
        syn_put_be64(out + 16, term);
        syn_put_be64(out + 24, index);
        if (len > 0)
                memcpy(out + WAL_RECORD_HEADER_BYTES, data, len);
        uint32_t crc = syn_crc32c(0, out + 4, WAL_RECORD_HEADER_BYTES - 4 + len);
        syn_put_be32(out, crc);
}

static bool all_zero(const uint8_t *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (p[i] != 0)
                        return false;
        return true;
}

bool wal_record_parse(const uint8_t *p, size_t avail, struct wal_entry *e, size_t *size)
{
        if (avail < WAL_RECORD_HEADER_BYTES)
                return false;
        uint32_t len = syn_get_be32(p + 4);
        /* Cheap rejections first: the scan for later records calls this at every
         * aligned offset of a damaged region. */
        if (len > WAL_ENTRY_BYTES_MAX || p[8] == 0 || !all_zero(p + 9, 7))
                return false;
        size_t framed = wal_record_size(len);
        if (framed > avail)
                return false;
        uint64_t term = syn_get_be64(p + 16);
        uint64_t index = syn_get_be64(p + 24);
        if (term == 0 || index == 0 || term > WAL_INDEX_MAX || index > WAL_INDEX_MAX)
                return false;
        size_t end = WAL_RECORD_HEADER_BYTES + len;
        if (!all_zero(p + end, framed - end))
                return false;
        if (syn_crc32c(0, p + 4, end - 4) != syn_get_be32(p))
                return false;
        e->index = index;
        e->term = term;
        e->type = p[8];
        e->len = len;
        e->data = p + WAL_RECORD_HEADER_BYTES;
        *size = framed;
        return true;
}

void wal_segment_header_encode(uint8_t out[WAL_SEGMENT_HEADER_BYTES], uint64_t first_index)
{
        SYN_ASSERT(first_index >= 1);
        memset(out, 0, WAL_SEGMENT_HEADER_BYTES);
        memcpy(out, WAL_SEGMENT_MAGIC, 8);
        syn_put_be32(out + 8, STORAGE_FORMAT_VERSION);
        syn_put_be64(out + 16, first_index);
        syn_put_be32(out + 28, syn_crc32c(0, out, 28));
}

static bool segment_header_parse(const uint8_t *p, size_t len, uint64_t *first_index)
{
        if (len < WAL_SEGMENT_HEADER_BYTES)
                return false;
        if (memcmp(p, WAL_SEGMENT_MAGIC, 8) != 0)
                return false;
        if (syn_get_be32(p + 8) != STORAGE_FORMAT_VERSION)
                return false;
        if (syn_get_be32(p + 12) != 0 || syn_get_be32(p + 24) != 0)
                return false;
        if (syn_crc32c(0, p, 28) != syn_get_be32(p + 28))
                return false;
        *first_index = syn_get_be64(p + 16);
        return *first_index >= 1 && *first_index <= WAL_INDEX_MAX;
}

/* Classifies the bytes from the bad offset x to the end (see the file comment). */
static void classify_tail(const uint8_t *data, size_t len, size_t x, struct wal_scan *scan,
                          const char *reason)
{
        scan->bad_offset = x;
        if (scan->header_ok && all_zero(data + x, len - x)) {
                scan->tail = WAL_TAIL_CLEAN;
                return;
        }
        size_t p = (x + WAL_RECORD_ALIGN) & ~(size_t)(WAL_RECORD_ALIGN - 1);
        for (; p < len && len - p >= WAL_RECORD_HEADER_BYTES; p += WAL_RECORD_ALIGN) {
                struct wal_entry e;
                size_t size;
                if (wal_record_parse(data + p, len - p, &e, &size)) {
                        scan->tail = WAL_TAIL_CORRUPT;
                        scan->valid_offset = p;
                        scan->reason = reason;
                        return;
                }
        }
        scan->tail = WAL_TAIL_TORN;
        scan->reason = reason;
}

static const char *bad_record_reason(const uint8_t *p, size_t avail)
{
        if (avail < WAL_RECORD_HEADER_BYTES)
                return "partial record header";
        uint32_t len = syn_get_be32(p + 4);
        if (len > WAL_ENTRY_BYTES_MAX)
                return "record length over the limit";
        if (wal_record_size(len) > avail)
                return "record runs past the end of the file";
        return "record checksum or fields do not check";
}

int wal_segment_scan(const uint8_t *data, size_t len, struct wal_scan *scan, wal_scan_fn fn,
                     void *arg)
{
        memset(scan, 0, sizeof *scan);
        if (len == 0) {
                scan->tail = WAL_TAIL_TORN;
                scan->reason = "empty file";
                return SYN_OK;
        }
        uint64_t first;
        if (!segment_header_parse(data, len, &first)) {
                classify_tail(data, len, 0, scan, "bad segment header");
                return SYN_OK;
        }
        scan->header_ok = true;
        scan->first_index = first;
        scan->last_index = first - 1;
        size_t off = WAL_SEGMENT_HEADER_BYTES;
        scan->end_offset = off;
        while (off < len) {
                struct wal_entry e;
                size_t size;
                if (!wal_record_parse(data + off, len - off, &e, &size)) {
                        classify_tail(data, len, off, scan,
                                      bad_record_reason(data + off, len - off));
                        return SYN_OK;
                }
                if (e.index != scan->last_index + 1) {
                        scan->tail = WAL_TAIL_CORRUPT;
                        scan->bad_offset = off;
                        scan->valid_offset = off;
                        scan->reason = "record index out of sequence";
                        return SYN_OK;
                }
                if (fn) {
                        int r = fn(arg, &e, off);
                        if (r != 0)
                                return r;
                }
                scan->count++;
                scan->last_index = e.index;
                scan->last_term = e.term;
                off += size;
                scan->end_offset = off;
        }
        scan->tail = WAL_TAIL_CLEAN;
        return SYN_OK;
}

bool wal_segment_name_parse(const char *name, uint64_t *first_index)
{
        uint64_t v = 0;
        for (int i = 0; i < 20; i++) {
                char c = name[i];
                if (c < '0' || c > '9')
                        return false;
                uint64_t d = (uint64_t)(c - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return false;
                v = v * 10 + d;
        }
        if (strcmp(name + 20, ".seg") != 0 || v == 0 || v > WAL_INDEX_MAX)
                return false;
        *first_index = v;
        return true;
}

int storage_path_join(char *buf, const char *dir, const char *name)
{
        int n = snprintf(buf, STORAGE_PATH_BYTES_MAX, "%s/%s", dir, name);
        if (n < 0 || n >= STORAGE_PATH_BYTES_MAX)
                return SYN_ETOOBIG;
        return SYN_OK;
}

int wal_segment_path(char *buf, const char *wal_dir, uint64_t first_index)
{
        char name[32];
        snprintf(name, sizeof name, "%020llu.seg", (unsigned long long)first_index);
        return storage_path_join(buf, wal_dir, name);
}

void wal_jobs_free(struct wal_job *jobs)
{
        while (jobs) {
                struct wal_job *next = jobs->next;
                free(jobs->data);
                free(jobs);
                jobs = next;
        }
}
