/*
 * Raft scenario scripts: tests/raft/testdata/NAME.txt holds commands, one per
 * line; running them against the in-process cluster of tests/unit/raft/net.h
 * prints a trace, which must equal NAME.out byte for byte. With
 * SYNOD_REWRITE=1 the runner writes NAME.out instead (review the diff like
 * code). Each script is named after the rule it shows.
 *
 * Commands (ids are 1-based node ids):
 *   net N [prevote=0] [checkquorum=0] [trailing=K]   start N voters
 *   campaign ID | tick ID [K] | tickall [K] | deliver | drop
 *   propose ID TEXT | read ID CTX | transfer ID TARGET | snapshot ID
 *   conf ID add_voter|add_learner|promote|remove NODE
 *   isolate ID | cut A B | heal | crash ID | restart ID | hold ID | flush ID
 *   status                                  one line per node
 *   # comment                               copied to the trace
 * Every command line is echoed; commands print their error if they fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "net.h"

#define SCENARIO_LINE_MAX 512
#define SCENARIO_OUT_MAX  (1024 * 1024)

struct scenario {
        struct net net;
        bool started;
        char *out;
        size_t len;
};

static void emit(struct scenario *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void emit(struct scenario *s, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(s->out + s->len, SCENARIO_OUT_MAX - s->len, fmt, ap);
        va_end(ap);
        assert_true(n >= 0 && s->len + (size_t)n < SCENARIO_OUT_MAX);
        s->len += (size_t)n;
}

static void quick(struct raft_options *o)
{
        o->election_ticks = 10;
        o->heartbeat_ticks = 1;
}

/* `net N prevote=0 checkquorum=0 trailing=K`: restart every node with those options. */
static void net_options(struct net *net, const char *line)
{
        for (uint64_t id = 1; id <= net->n; id++) {
                struct net_node *n = net_node(net, id);
                net_crash(net, id);
                n->opts.pre_vote = strstr(line, "prevote=0") == NULL;
                n->opts.check_quorum = strstr(line, "checkquorum=0") == NULL;
                const char *t = strstr(line, "trailing=");
                if (t != NULL) {
                        n->opts.snapshot_trailing = strtoull(t + strlen("trailing="), NULL, 10);
                }
                net_restart(net, id);
        }
}

static void status(struct scenario *s)
{
        for (uint64_t id = 1; id <= s->net.n; id++) {
                struct net_node *n = net_node(&s->net, id);
                if (!n->up) {
                        emit(s, "  n%llu: down\n", (unsigned long long)id);
                        continue;
                }
                const struct raft_config *c = raft_config(&n->r);
                emit(s,
                     "  n%llu: %s term=%llu leader=%llu first=%llu last=%llu/%llu commit=%llu "
                     "applied=%llu snap=%llu voters=%u learners=%u",
                     (unsigned long long)id, raft_role_name(raft_role(&n->r)),
                     (unsigned long long)raft_term(&n->r), (unsigned long long)raft_leader(&n->r),
                     (unsigned long long)raft_first_index(&n->r),
                     (unsigned long long)raft_last_index(&n->r),
                     (unsigned long long)raft_last_term(&n->r),
                     (unsigned long long)raft_commit_index(&n->r),
                     (unsigned long long)n->applied_index,
                     (unsigned long long)raft_snapshot(&n->r)->index, c->n_voters, c->n_learners);
                for (size_t i = 0; i < n->n_reads; i++) {
                        emit(s, " read(%llu@%llu)", (unsigned long long)n->reads[i].ctx,
                             (unsigned long long)n->reads[i].index);
                }
                n->n_reads = 0;
                emit(s, "\n");
        }
}

static enum raft_conf_op conf_op(const char *name)
{
        if (strcmp(name, "add_voter") == 0) {
                return RAFT_CONF_ADD_VOTER;
        }
        if (strcmp(name, "add_learner") == 0) {
                return RAFT_CONF_ADD_LEARNER;
        }
        if (strcmp(name, "promote") == 0) {
                return RAFT_CONF_PROMOTE;
        }
        assert_string_equal(name, "remove");
        return RAFT_CONF_REMOVE;
}

static int step_ev(struct scenario *s, uint64_t id, struct raft_event ev)
{
        return net_step(&s->net, id, &ev);
}

/* Commands that step one node; returns raft_step's result. */
static int run_node_cmd(struct scenario *s, const char *cmd, uint64_t id, const char *a,
                        const char *b)
{
        if (strcmp(cmd, "campaign") == 0) {
                return net_campaign(&s->net, id);
        }
        if (strcmp(cmd, "tick") == 0) {
                int k = a[0] ? atoi(a) : 1;
                for (int i = 0; i < k; i++) {
                        net_tick(&s->net, id);
                }
                return 0;
        }
        if (strcmp(cmd, "propose") == 0) {
                return net_propose(&s->net, id, a);
        }
        if (strcmp(cmd, "read") == 0) {
                return step_ev(s, id,
                               (struct raft_event){.type = RAFT_EV_READ_INDEX,
                                                   .read_index.ctx = strtoull(a, NULL, 10)});
        }
        if (strcmp(cmd, "transfer") == 0) {
                return step_ev(s, id,
                               (struct raft_event){.type = RAFT_EV_TRANSFER,
                                                   .transfer.target = strtoull(a, NULL, 10)});
        }
        if (strcmp(cmd, "snapshot") == 0) {
                return net_snapshot(&s->net, id);
        }
        assert_string_equal(cmd, "conf");
        return step_ev(s, id,
                       (struct raft_event){
                           .type = RAFT_EV_CONF_CHANGE,
                           .conf_change = {.op = conf_op(a), .node_id = strtoull(b, NULL, 10)}});
}

static bool is_node_cmd(const char *cmd)
{
        const char *names[] = {"campaign", "tick",     "propose", "read",
                               "transfer", "snapshot", "conf"};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                if (strcmp(cmd, names[i]) == 0) {
                        return true;
                }
        }
        return false;
}

static void run_net_cmd(struct scenario *s, const char *cmd, uint64_t x, uint64_t y)
{
        struct net *net = &s->net;
        if (strcmp(cmd, "deliver") == 0) {
                net_deliver(net);
        } else if (strcmp(cmd, "drop") == 0) {
                net_drop_all(net);
        } else if (strcmp(cmd, "tickall") == 0) {
                net_tick_all(net, x ? (unsigned)x : 1);
        } else if (strcmp(cmd, "isolate") == 0) {
                net_isolate(net, x);
        } else if (strcmp(cmd, "cut") == 0) {
                net_cut(net, x, y);
        } else if (strcmp(cmd, "heal") == 0) {
                net_heal(net);
        } else if (strcmp(cmd, "crash") == 0) {
                net_crash(net, x);
        } else if (strcmp(cmd, "restart") == 0) {
                net_restart(net, x);
        } else if (strcmp(cmd, "hold") == 0) {
                net_node(net, x)->hold_persist = true;
        } else if (strcmp(cmd, "flush") == 0) {
                net_node(net, x)->hold_persist = false;
                net_flush(net, x);
        } else if (strcmp(cmd, "status") == 0) {
                status(s);
        } else {
                fail_msg("unknown command '%s'", cmd);
        }
}

static void run_line(struct scenario *s, char *line)
{
        line[strcspn(line, "\r\n")] = 0;
        emit(s, "%s\n", line);
        char cmd[64] = "", a[256] = "", b[256] = "", c[256] = "";
        if (line[0] == '#' || sscanf(line, "%63s %255s %255s %255s", cmd, a, b, c) < 1) {
                return;
        }
        if (strcmp(cmd, "net") == 0) {
                if (s->started) {
                        net_close(&s->net);
                }
                net_init(&s->net, (size_t)atoi(a), quick);
                net_options(&s->net, line);
                s->started = true;
                return;
        }
        assert_true(s->started);
        if (is_node_cmd(cmd)) {
                int rv = run_node_cmd(s, cmd, strtoull(a, NULL, 10), b, c);
                if (rv != 0) {
                        emit(s, "  error: %s\n", syn_errname(rv));
                }
                return;
        }
        run_net_cmd(s, cmd, strtoull(a, NULL, 10), strtoull(b, NULL, 10));
}

static char *slurp(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        if (f == NULL) {
                *len = 0;
                return NULL;
        }
        char *buf = malloc(SCENARIO_OUT_MAX);
        assert_non_null(buf);
        *len = fread(buf, 1, SCENARIO_OUT_MAX - 1, f);
        buf[*len] = 0;
        fclose(f);
        return buf;
}

static void run_script(const char *script)
{
        struct scenario s;
        memset(&s, 0, sizeof(s));
        s.out = malloc(SCENARIO_OUT_MAX);
        assert_non_null(s.out);
        FILE *f = fopen(script, "r");
        assert_non_null(f);
        char line[SCENARIO_LINE_MAX];
        while (fgets(line, sizeof(line), f) != NULL) {
                run_line(&s, line);
                net_check_safety(&s.net);
        }
        fclose(f);
        if (s.started) {
                net_close(&s.net);
        }
        char expected_path[1024];
        snprintf(expected_path, sizeof(expected_path), "%.*s.out", (int)(strlen(script) - 4),
                 script);
        if (getenv("SYNOD_REWRITE") != NULL) {
                FILE *w = fopen(expected_path, "w");
                assert_non_null(w);
                fwrite(s.out, 1, s.len, w);
                fclose(w);
        } else {
                size_t len;
                char *want = slurp(expected_path, &len);
                if (want == NULL || len != s.len || memcmp(want, s.out, len) != 0) {
                        fprintf(stderr, "%s: trace differs from %s; got:\n%.*s\n", script,
                                expected_path, (int)s.len, s.out);
                        fail();
                }
                free(want);
        }
        free(s.out);
}

static void test_scenarios(void **state)
{
        char **scripts = *state;
        for (size_t i = 0; scripts[i] != NULL; i++) {
                run_script(scripts[i]);
        }
}

int main(int argc, char **argv)
{
        (void)argc;
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_prestate(test_scenarios, argv + 1),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
