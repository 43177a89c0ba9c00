/*
 * Naming and ordering of lock-style nodes (locks, read/write locks, election
 * candidates): "_c_<guid>-<kind>-<seq>", where <seq> is the 10-digit sequence
 * suffix the server appends. Order is by sequence number only (the guid
 * prefix differs per client and would otherwise decide), and a waiter blocks
 * on exactly one node so that a release wakes one waiter, not the herd.
 */
#include "client/client.h"

#include <stdlib.h>
#include <string.h>

#define CL_SEQ_DIGITS 10

int64_t cl_seq_of(const char *name)
{
        size_t n = strlen(name);
        if (n < CL_SEQ_DIGITS)
                return -1;
        int64_t v = 0;
        for (size_t i = n - CL_SEQ_DIGITS; i < n; i++) {
                if (name[i] < '0' || name[i] > '9')
                        return -1;
                v = v * 10 + (name[i] - '0');
        }
        return v;
}

bool cl_name_has_guid(const char *name, const char *guid)
{
        size_t g = strlen(guid);
        return strncmp(name, "_c_", 3) == 0 && strncmp(name + 3, guid, g) == 0 &&
               name[3 + g] == '-';
}

bool cl_name_kind(const char *name, char *buf, size_t buf_len)
{
        if (strncmp(name, "_c_", 3) != 0 || cl_seq_of(name) < 0)
                return false;
        const char *dash = strchr(name + 3, '-');
        if (dash == NULL)
                return false;
        const char *kind = dash + 1;
        size_t n = strlen(kind);
        if (n < CL_SEQ_DIGITS + 1 || kind[n - CL_SEQ_DIGITS - 1] != '-')
                return false;
        size_t k = n - CL_SEQ_DIGITS - 1;
        if (k + 1 > buf_len)
                return false;
        memcpy(buf, kind, k);
        buf[k] = '\0';
        return true;
}

static int cl_seq_cmp(const void *a, const void *b)
{
        const char *x = *(char *const *)a, *y = *(char *const *)b;
        int64_t sx = cl_seq_of(x), sy = cl_seq_of(y);
        if (sx < 0 || sy < 0) /* names without a sequence sort last, by name */
                return sx < 0 && sy < 0 ? strcmp(x, y) : (sx < 0 ? 1 : -1);
        return sx < sy ? -1 : (sx > sy ? 1 : strcmp(x, y));
}

int cl_lock_blocker(char **names, int32_t n, const char *ours)
{
        qsort(names, (size_t)n, sizeof(char *), cl_seq_cmp);
        int32_t me = -1;
        for (int32_t i = 0; i < n; i++)
                if (strcmp(names[i], ours) == 0)
                        me = i;
        if (me < 0 || cl_seq_of(ours) < 0)
                return -2;
        char kind[64];
        bool is_read = cl_name_kind(ours, kind, sizeof(kind)) && strcmp(kind, "read") == 0;
        for (int32_t i = me - 1; i >= 0; i--) {
                if (cl_seq_of(names[i]) < 0)
                        continue;
                if (!is_read)
                        return i;
                char other[64];
                if (!cl_name_kind(names[i], other, sizeof(other)) || strcmp(other, "read") != 0)
                        return i; /* a read waits for the nearest earlier writer */
        }
        return -1;
}
