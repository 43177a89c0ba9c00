/*
 * Leader election: a lock of kind "n" whose node data is the candidate's id.
 * The candidate with the lowest sequence number leads; each other candidate
 * watches only its predecessor, so a leader's death wakes exactly the next one.
 *
 * synod_election_start runs the campaign on its own thread: campaign, call
 * on_gain, then watch our own node and the session; when either goes (node
 * deleted, session expired) or resign is asked, call on_loss. A session that
 * expired cannot campaign again: the thread then stops (open a new handle).
 */
#include "client/client.h"

#include <stdlib.h>
#include <string.h>

struct synod_election {
        struct synod *h;
        struct synod_lock *lock;
        char *dir;
        pthread_t thread;
        bool thread_running;
        pthread_mutex_t mu;
        bool stop; /* under mu */
        synod_leader_fn on_gain, on_loss;
        void *arg;
};

int synod_election_new(struct synod *h, const char *dir, const char *id,
                       struct synod_election **out)
{
        *out = NULL;
        if (id == NULL)
                return SYNOD_EBADARGUMENTS;
        struct synod_election *e = calloc(1, sizeof(*e));
        if (e == NULL)
                return SYNOD_ESYSTEMERROR;
        int rc = synod_lock_new(h, dir, "n", &e->lock);
        if (rc == SYNOD_OK)
                rc = synod_lock_set_data(e->lock, id, (int32_t)strlen(id));
        if (rc == SYNOD_OK && (e->dir = strdup(dir)) == NULL)
                rc = SYNOD_ESYSTEMERROR;
        if (rc != SYNOD_OK) {
                synod_lock_free(e->lock);
                free(e);
                return rc;
        }
        e->h = h;
        pthread_mutex_init(&e->mu, NULL);
        *out = e;
        return SYNOD_OK;
}

static bool cl_election_stopping(struct synod_election *e)
{
        pthread_mutex_lock(&e->mu);
        bool s = e->stop;
        pthread_mutex_unlock(&e->mu);
        return s;
}

void synod_election_free(struct synod_election *e)
{
        if (e == NULL)
                return;
        if (e->thread_running) {
                pthread_mutex_lock(&e->mu);
                e->stop = true;
                pthread_mutex_unlock(&e->mu);
                cl_recipe_watch(NULL, e->h); /* wake the thread */
                pthread_join(e->thread, NULL);
        }
        synod_lock_free(e->lock);
        pthread_mutex_destroy(&e->mu);
        free(e->dir);
        free(e);
}

int synod_election_campaign(struct synod_election *e, int timeout_ms)
{
        return synod_lock_acquire(e->lock, timeout_ms);
}

int synod_election_resign(struct synod_election *e)
{
        return synod_lock_release(e->lock);
}

bool synod_election_is_leader(struct synod_election *e)
{
        return synod_lock_held(e->lock);
}

int64_t synod_election_token(struct synod_election *e)
{
        return synod_lock_token(e->lock);
}

int synod_election_observe(struct synod *h, const char *dir, char **leader_id)
{
        *leader_id = NULL;
        for (int round = 0; round < CLIENT_CAS_ROUNDS_MAX; round++) {
                char **kids;
                int32_t n;
                int rc = synod_children(h, dir, &kids, &n, NULL, NULL);
                if (rc != SYNOD_OK) {
                        if (cl_retryable(h, rc))
                                continue;
                        return rc;
                }
                int32_t best = -1;
                for (int32_t i = 0; i < n; i++) {
                        char kind[8];
                        if (!cl_name_kind(kids[i], kind, sizeof(kind)) || strcmp(kind, "n") != 0)
                                continue;
                        if (best < 0 || cl_seq_of(kids[i]) < cl_seq_of(kids[best]))
                                best = i;
                }
                char *path = best >= 0 ? cl_child_path(dir, kids[best]) : NULL;
                synod_strings_free(kids, n);
                if (best < 0)
                        return SYNOD_ENONODE;
                if (path == NULL)
                        return SYNOD_ESYSTEMERROR;
                rc = synod_get(h, path, leader_id, NULL, NULL, NULL, NULL);
                free(path);
                if (rc == SYNOD_OK || (rc != SYNOD_ENONODE && !cl_retryable(h, rc)))
                        return rc; /* ENONODE: the leader just left; look again */
        }
        return SYNOD_EOPERATIONTIMEOUT;
}

/* Leader: returns when leadership is lost or a stop is asked. */
static void cl_election_hold(struct synod_election *e)
{
        for (;;) { /* bounded by the leadership */
                if (cl_election_stopping(e) || !synod_lock_held(e->lock))
                        return;
                uint64_t seen = cl_events_value(e->h);
                int rc = synod_exists(e->h, synod_lock_path(e->lock), NULL, cl_recipe_watch, e->h);
                if (rc == SYNOD_ENONODE || rc == SYNOD_ESESSIONEXPIRED || rc == SYNOD_ECLOSING)
                        return;
                cl_events_wait(e->h, seen, CLIENT_RECIPE_POLL_MS * 10);
        }
}

static bool cl_election_cancel(void *arg)
{
        return cl_election_stopping(arg);
}

static void *cl_election_main(void *arg)
{
        struct synod_election *e = arg;
        cl_lock_set_cancel(e->lock, cl_election_cancel, e);
        while (!cl_election_stopping(e)) { /* bounded by stop and the session */
                int rc = synod_lock_acquire(e->lock, -1);
                if (rc != SYNOD_OK) {
                        if (cl_retryable(e->h, rc))
                                continue;
                        break; /* expired or closed: no campaign without a session */
                }
                if (e->on_gain)
                        e->on_gain(e, e->arg);
                cl_election_hold(e);
                synod_lock_release(e->lock);
                if (e->on_loss)
                        e->on_loss(e, e->arg);
        }
        return NULL;
}

int synod_election_start(struct synod_election *e, synod_leader_fn on_gain, synod_leader_fn on_loss,
                         void *arg)
{
        if (e->thread_running)
                return SYNOD_EAPIERROR;
        e->on_gain = on_gain;
        e->on_loss = on_loss;
        e->arg = arg;
        if (pthread_create(&e->thread, NULL, cl_election_main, e) != 0)
                return SYNOD_ESYSTEMERROR;
        e->thread_running = true;
        return SYNOD_OK;
}
