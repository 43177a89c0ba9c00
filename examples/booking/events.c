/*
 * Live updates. One persistent recursive watch on /booking tells this server about
 * every change in the tree (a booking, a cancel, a room, a booking server coming or
 * going), whoever made it and through whichever server. The watch callback runs on
 * libsynod's I/O thread and only bumps a generation under a mutex; each open page waits
 * on it in its own HTTP thread (bk_events_wait) and then reloads what it shows. A
 * reconnect also bumps it: events that happened while we were away are not replayed for
 * persistent watches, so pages re-read everything then.
 */
#include "booking.h"

#include <pthread.h>
#include <time.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed;
static uint64_t generation = 1;
static bool stopped;

static void bump(void)
{
        pthread_mutex_lock(&mu);
        generation++;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&mu);
}

static void on_event(const struct synod_event *ev, void *arg)
{
        if (ev->type != SYNOD_EVENT_SESSION || ev->state == SYNOD_STATE_CONNECTED)
                bump();
}

int bk_events_start(struct synod *h)
{
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        int rc = pthread_cond_init(&changed, &attr);
        pthread_condattr_destroy(&attr);
        if (rc != 0)
                return SYNOD_ESYSTEMERROR;
        return synod_add_watch(h, BK_ROOT, true, on_event, NULL);
}

uint64_t bk_events_wait(uint64_t seen, int timeout_ms)
{
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&mu);
        while (generation <= seen && !stopped && pthread_cond_timedwait(&changed, &mu, &until) == 0)
                ;
        uint64_t g = generation;
        pthread_mutex_unlock(&mu);
        return g;
}

void bk_events_stop(void)
{
        pthread_mutex_lock(&mu);
        stopped = true;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&mu);
}

bool bk_events_stopped(void)
{
        pthread_mutex_lock(&mu);
        bool s = stopped;
        pthread_mutex_unlock(&mu);
        return s;
}
