/*
 * synod-check-wal: offline checker of a synod write-ahead log (like
 * redis-check-aof). Reads the segments of <data-dir>/wal (or a wal directory,
 * or single segment files) with the same scanner recovery uses, and prints
 * each segment, optionally each record, and where a torn tail or corruption
 * is. It never modifies anything: a torn tail is cut by the server itself at
 * start-up.
 *
 * Exit status: 0 the log is clean, 1 torn tail (the server will truncate it),
 * 2 corruption (the server will refuse to start), 3 usage or I/O error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/err.h"
#include "base/limits.h"
#include "storage/storage.h"

enum { EXIT_CLEAN = 0, EXIT_TORN = 1, EXIT_CORRUPT = 2, EXIT_ERROR = 3 };

struct check {
        bool verbose;
        int status;         /* worst so far */
        bool have_prev;     /* a previous segment was read and ended cleanly */
        uint64_t prev_last; /* its last index */
        uint64_t records;   /* total over segments */
};

static void usage(FILE *out)
{
        fprintf(out, "usage: synod-check-wal [-v] <data-dir | wal-dir | segment.seg...>\n"
                     "  -v  print every record (offset, index, term, type, len)\n"
                     "exit: 0 clean, 1 torn tail, 2 corrupt, 3 usage or I/O error\n");
}

static void worse(struct check *c, int status)
{
        if (status > c->status)
                c->status = status;
}

static int print_record(void *arg, const struct wal_entry *e, uint64_t offset)
{
        (void)arg;
        printf("    offset %-10llu index %-10llu term %-6llu type %-3u len %u\n",
               (unsigned long long)offset, (unsigned long long)e->index,
               (unsigned long long)e->term, e->type, e->len);
        return 0;
}

static const char *base_name(const char *path)
{
        const char *s = strrchr(path, '/');
        return s ? s + 1 : path;
}

/* Cross-segment checks: name vs header, contiguity, torn tail only in the last. */
static void judge(struct check *c, const char *path, const struct wal_scan *s, bool is_last)
{
        uint64_t named;
        if (s->header_ok && wal_segment_name_parse(base_name(path), &named) &&
            named != s->first_index) {
                printf("  CORRUPT: header first index %llu does not match the name\n",
                       (unsigned long long)s->first_index);
                worse(c, EXIT_CORRUPT);
        }
        if (s->header_ok && c->have_prev && s->first_index != c->prev_last + 1) {
                printf("  CORRUPT: first index %llu does not follow the previous segment's "
                       "last index %llu\n",
                       (unsigned long long)s->first_index, (unsigned long long)c->prev_last);
                worse(c, EXIT_CORRUPT);
        }
        if (s->tail == WAL_TAIL_CORRUPT) {
                printf("  CORRUPT at offset %llu: %s; a valid record follows at offset %llu\n",
                       (unsigned long long)s->bad_offset, s->reason,
                       (unsigned long long)s->valid_offset);
                worse(c, EXIT_CORRUPT);
        } else if (s->tail == WAL_TAIL_TORN && !is_last) {
                printf("  CORRUPT at offset %llu: %s, in a segment that is not the last\n",
                       (unsigned long long)s->bad_offset, s->reason);
                worse(c, EXIT_CORRUPT);
        } else if (s->tail == WAL_TAIL_TORN) {
                printf("  TORN TAIL at offset %llu: %s (recovery truncates here)\n",
                       (unsigned long long)s->bad_offset, s->reason);
                worse(c, EXIT_TORN);
        }
}

static void check_segment(struct check *c, const char *path, bool is_last)
{
        uint8_t *data;
        size_t len;
        uint64_t max = (uint64_t)WAL_SEGMENT_BYTES_MAX + WAL_ENTRY_BYTES_MAX + 64;
        int err = storage_fs_read_file(storage_fs_posix(), path, max, &data, &len);
        if (err != SYN_OK) {
                printf("%s: cannot read: %s\n", path, syn_strerror(err));
                worse(c, EXIT_ERROR);
                return;
        }
        printf("%s: %zu bytes\n", path, len);
        struct wal_scan s;
        wal_segment_scan(data, len, &s, c->verbose ? print_record : NULL, NULL);
        free(data);
        if (s.header_ok)
                printf("  first index %llu, %llu records, indexes %llu..%llu, last term %llu, "
                       "data ends at offset %llu\n",
                       (unsigned long long)s.first_index, (unsigned long long)s.count,
                       (unsigned long long)s.first_index, (unsigned long long)s.last_index,
                       (unsigned long long)s.last_term, (unsigned long long)s.end_offset);
        else
                printf("  bad segment header\n");
        judge(c, path, &s, is_last);
        c->records += s.count;
        /* After a damaged segment its last index means little: do not pile on. */
        c->have_prev = s.header_ok && s.tail == WAL_TAIL_CLEAN;
        c->prev_last = s.last_index;
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

static void check_dir(struct check *c, const char *wal_dir)
{
        char **names;
        size_t n;
        int err = storage_fs_posix()->list_dir(NULL, wal_dir, STORAGE_DIR_ENTRIES_MAX, &names, &n);
        if (err != SYN_OK) {
                fprintf(stderr, "synod-check-wal: cannot list %s: %s\n", wal_dir,
                        syn_strerror(err));
                worse(c, EXIT_ERROR);
                return;
        }
        uint64_t *firsts = malloc((n ? n : 1) * sizeof *firsts);
        size_t k = 0;
        for (size_t i = 0; firsts && i < n; i++) {
                if (wal_segment_name_parse(names[i], &firsts[k]))
                        k++;
                else
                        printf("%s/%s: not a segment name, ignored\n", wal_dir, names[i]);
        }
        storage_fs_names_free(names, n);
        if (!firsts) {
                worse(c, EXIT_ERROR);
                return;
        }
        qsort(firsts, k, sizeof *firsts, cmp_u64);
        printf("%s: %zu segments\n", wal_dir, k);
        for (size_t i = 0; i < k; i++) {
                char path[STORAGE_PATH_BYTES_MAX + 32];
                snprintf(path, sizeof path, "%s/%020llu.seg", wal_dir,
                         (unsigned long long)firsts[i]);
                check_segment(c, path, i + 1 == k);
        }
        free(firsts);
}

static bool is_dir(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The server refuses to start when neither meta copy is valid: so does this check. */
static void check_meta(struct check *c, const char *dir)
{
        struct wal_meta m;
        uint64_t seq;
        int err = wal_meta_load(storage_fs_posix(), dir, &m, &seq);
        if (err == SYN_OK)
                printf("meta: term %llu, vote %llu (write %llu)\n", (unsigned long long)m.term,
                       (unsigned long long)m.vote, (unsigned long long)seq);
        else {
                printf("meta: %s\n", syn_strerror(err));
                worse(c, err == SYN_ECORRUPT ? EXIT_CORRUPT : EXIT_ERROR);
        }
}

int main(int argc, char **argv)
{
        struct check c = {0};
        int i = 1;
        if (i < argc && (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)) {
                usage(stdout);
                return EXIT_CLEAN;
        }
        if (i < argc && strcmp(argv[i], "-v") == 0) {
                c.verbose = true;
                i++;
        }
        /* An option here is a mistake, not a file name to fail to read. */
        if (i >= argc || (argv[i][0] == '-' && argv[i][1] != '\0')) {
                if (i < argc)
                        fprintf(stderr, "synod-check-wal: unknown option '%s'\n", argv[i]);
                usage(stderr);
                return EXIT_ERROR;
        }
        if (argc - i == 1 && is_dir(argv[i])) {
                char wal_dir[STORAGE_PATH_BYTES_MAX + 8];
                snprintf(wal_dir, sizeof wal_dir, "%s/wal", argv[i]);
                if (is_dir(wal_dir)) {
                        check_meta(&c, argv[i]);
                        check_dir(&c, wal_dir);
                } else {
                        check_dir(&c, argv[i]);
                }
        } else {
                for (; i < argc; i++)
                        check_segment(&c, argv[i], i + 1 == argc);
        }
        static const char *const verdict[] = {"clean", "torn tail", "CORRUPT", "error"};
        printf("%llu records; %s\n", (unsigned long long)c.records, verdict[c.status]);
        return c.status;
}
