/* Test helper: writes a WAL of N small entries (4 KiB segments) into a data directory.
 * usage: make_wal <dir> <n> */
#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "storage/storage.h"

int main(int argc, char **argv)
{
        if (argc != 3)
                return 2;
        struct wal wal;
        struct wal_recovered rec;
        struct wal_options o = {.segment_bytes = 4096, .preallocate = true};
        int err = wal_open(&wal, argv[1], &o, &rec);
        if (err != SYN_OK)
                return 1;
        wal_recovered_free(&rec);
        unsigned long n = strtoul(argv[2], NULL, 10);
        for (unsigned long i = 1; i <= n && err == SYN_OK; i++)
                err = wal_append(&wal, 1, 1 + i / 50, i, "payload-of-an-entry", 19);
        struct wal_meta m = {.term = 1 + n / 50, .vote = 2};
        if (err == SYN_OK)
                err = wal_save_meta(&wal, &m);
        if (err == SYN_OK)
                err = wal_sync(&wal);
        wal_close(&wal);
        return err == SYN_OK ? 0 : 1;
}
