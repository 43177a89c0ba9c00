/*
 * Small helpers shared by the recipes: ids, sleeping, deadlines, paths and the
 * retry rule (retry a connection loss while the session may still live).
 */
#include "client/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

void cl_guid(char *buf, size_t buf_len)
{
        uint64_t v[2] = {0, 0};
        if (getrandom(v, sizeof(v), 0) != (ssize_t)sizeof(v)) {
                /* No kernel entropy: the clock, pid and stack address still differ per call. */
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                struct syn_rand r;
                syn_rand_seed(&r, (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                                      ((uint64_t)getpid() << 16) ^ (uintptr_t)buf);
                v[0] = syn_rand_next(&r);
                v[1] = syn_rand_next(&r);
        }
        snprintf(buf, buf_len, "%016llx%016llx", (unsigned long long)v[0],
                 (unsigned long long)v[1]);
}

void cl_sleep_ms(int ms)
{
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

char *cl_child_path(const char *dir, const char *name)
{
        size_t d = strlen(dir);
        bool root = d == 1 && dir[0] == '/';
        size_t n = strlen(name);
        char *s = malloc(d + n + 2);
        if (s == NULL)
                return NULL;
        memcpy(s, dir, d);
        size_t off = root ? d : d + 1;
        s[d] = '/';
        memcpy(s + off, name, n);
        s[off + n] = '\0';
        return s;
}

bool cl_retryable(struct synod *h, int err)
{
        if (err != SYNOD_ECONNECTIONLOSS && err != SYNOD_EOPERATIONTIMEOUT)
                return false;
        enum synod_state s = synod_state(h);
        if (s != SYNOD_STATE_CONNECTED && s != SYNOD_STATE_SUSPENDED && s != SYNOD_STATE_CONNECTING)
                return false;
        cl_sleep_ms(CLIENT_RETRY_PAUSE_MS);
        return true;
}

int64_t cl_deadline(int timeout_ms)
{
        return timeout_ms < 0 ? -1 : cl_now_ms() + timeout_ms;
}

bool cl_past(int64_t deadline_ms)
{
        return deadline_ms >= 0 && cl_now_ms() >= deadline_ms;
}
