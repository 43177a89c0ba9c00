/*
 * synod-sim: the command line of the deterministic Raft simulator.
 *
 *   synod-sim --seed N [--nodes 3|5|7] [--steps K] [--trace] [--check-replay]
 *       runs one seed; --trace prints every event on one line. The same seed
 *       (and flags) replays exactly: the run ends with a digest of every event
 *       and the state it left, and --check-replay runs the seed a second time
 *       in the same process and fails unless the digests agree.
 *   synod-sim --seeds N [--first S] [--jobs J] [--nodes K] [--steps K]
 *             [--expect-failure]
 *       runs seeds S .. S+N-1, each in its own forked process, J at a time,
 *       and prints a summary with totals. A failing seed prints its reason,
 *       its swarm parameters and the command that replays it. With
 *       --expect-failure (the planted-bug tests) no more seeds start after the
 *       first failure, and the exit status is 0 only if a failure was found.
 *
 * --end-to-end-only turns off the checks of Raft's rules as seen in messages
 * (checker.c) and keeps only the end-to-end properties, to measure what those
 * catch on their own.
 *
 * A seed that dies (a core assertion, a sanitizer report) counts as a failure
 * of that seed. Exit status: 0 if every seed passed (or, with
 * --expect-failure, if one failed), else 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim.h"

struct sim_cli {
        uint64_t seed;
        bool one_seed;
        uint64_t seeds;
        uint64_t first;
        uint32_t jobs;
        uint32_t nodes;
        uint64_t steps;
        bool trace;
        bool expect_failure;
        bool check_replay;
        bool end_to_end_only;
        const char *argv0;
};

static void sim_usage(FILE *f)
{
        fprintf(f,
                "usage: synod-sim --seed N [--nodes 3|5|7] [--steps K] [--trace] [--check-replay]\n"
                "       synod-sim --seeds N [--first S] [--jobs J] [--nodes K] [--steps K]"
                " [--expect-failure]\n"
                "       (either form: --end-to-end-only skips the rule checks)\n");
}

static bool sim_parse_u64(const char *s, uint64_t *out)
{
        if (s == NULL || *s == '\0')
                return false;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0' || s[0] == '-')
                return false;
        *out = v;
        return true;
}

static int sim_parse(struct sim_cli *cli, int argc, char **argv)
{
        memset(cli, 0, sizeof(*cli));
        cli->argv0 = argv[0];
        cli->jobs = 1;
        cli->steps = SIM_STEPS_DEFAULT;
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                const char *v = i + 1 < argc ? argv[i + 1] : NULL;
                uint64_t x = 0;
                if (strcmp(a, "--trace") == 0) {
                        cli->trace = true;
                        continue;
                }
                if (strcmp(a, "--expect-failure") == 0) {
                        cli->expect_failure = true;
                        continue;
                }
                if (strcmp(a, "--end-to-end-only") == 0) {
                        cli->end_to_end_only = true;
                        continue;
                }
                if (strcmp(a, "--check-replay") == 0) {
                        cli->check_replay = true;
                        continue;
                }
                if (!sim_parse_u64(v, &x)) {
                        fprintf(stderr, "synod-sim: %s needs a number\n", a);
                        return -1;
                }
                i++;
                if (strcmp(a, "--seed") == 0) {
                        cli->seed = x;
                        cli->one_seed = true;
                } else if (strcmp(a, "--seeds") == 0) {
                        cli->seeds = x;
                } else if (strcmp(a, "--first") == 0) {
                        cli->first = x;
                } else if (strcmp(a, "--jobs") == 0 && x >= 1 && x <= SIM_JOBS_MAX) {
                        cli->jobs = (uint32_t)x;
                } else if (strcmp(a, "--nodes") == 0 && (x == 3 || x == 5 || x == 7)) {
                        cli->nodes = (uint32_t)x;
                } else if (strcmp(a, "--steps") == 0 && x >= 1) {
                        cli->steps = x;
                } else {
                        fprintf(stderr, "synod-sim: bad option %s %s\n", a, v);
                        return -1;
                }
        }
        if (cli->one_seed == (cli->seeds != 0)) {
                sim_usage(stderr);
                return -1;
        }
        return 0;
}

static void sim_print_replay(const struct sim_cli *cli, uint64_t seed, FILE *f)
{
        char flags[128] = "";
        if (cli->nodes != 0)
                snprintf(flags, sizeof(flags), " --nodes %u", cli->nodes);
        if (cli->steps != SIM_STEPS_DEFAULT) {
                size_t k = strlen(flags);
                snprintf(flags + k, sizeof(flags) - k, " --steps %" PRIu64, cli->steps);
        }
        if (cli->end_to_end_only) {
                size_t k = strlen(flags);
                snprintf(flags + k, sizeof(flags) - k, " --end-to-end-only");
        }
        if (strstr(cli->argv0, "plant") == NULL)
                fprintf(f, "  replay: make sim SEED=%" PRIu64 "%s%s%s\n", seed,
                        flags[0] ? " SIMFLAGS='" : "", flags[0] ? flags + 1 : "",
                        flags[0] ? "'" : "");
        fprintf(f, "  replay: %s --seed %" PRIu64 "%s [--trace]\n", cli->argv0, seed, flags);
}

static int sim_one(const struct sim_cli *cli, uint64_t seed, struct sim_stats *st)
{
        struct sim_swarm sw;
        sim_swarm_from_seed(&sw, seed, cli->nodes);
        struct sim_options opt = {
            .steps = cli->steps, .trace = cli->trace, .rule_checks = !cli->end_to_end_only};
        memset(st, 0, sizeof(*st));
        int failed = sim_run(&sw, &opt, st);
        if (failed)
                sim_print_replay(cli, seed, stdout);
        fflush(stdout);
        return failed;
}

static int sim_single(const struct sim_cli *cli)
{
        struct sim_swarm sw;
        sim_swarm_from_seed(&sw, cli->seed, cli->nodes);
        printf("synod-sim seed %" PRIu64 " steps %" PRIu64 "\n", cli->seed, cli->steps);
        sim_swarm_print(&sw, stdout);
        fflush(stdout);
        struct sim_stats st;
        int failed = sim_one(cli, cli->seed, &st);
        printf("%s digest=%016" PRIx64 "\n", failed ? "FAILED" : "ok", st.digest);
        sim_stats_print(&st, stdout);
        if (cli->check_replay) {
                /* Determinism is a property we test: the same seed, the same run. */
                struct sim_stats again;
                int failed_again = sim_one(cli, cli->seed, &again);
                if (failed_again != failed || again.digest != st.digest ||
                    again.events != st.events) {
                        printf("REPLAY DIFFERS: digest %016" PRIx64 " then %016" PRIx64
                               ", events %" PRIu64 " then %" PRIu64 "\n",
                               st.digest, again.digest, st.events, again.events);
                        return 1;
                }
                printf("replay identical\n");
        }
        return failed;
}

struct sim_child {
        pid_t pid;
        uint64_t seed;
        int fd;
};

static pid_t sim_spawn(const struct sim_cli *cli, uint64_t seed, int *fd_out)
{
        int fds[2];
        if (pipe(fds) != 0)
                return -1;
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                return -1;
        }
        if (pid == 0) {
                close(fds[0]);
                struct sim_stats st;
                int failed = sim_one(cli, seed, &st);
                ssize_t w = write(fds[1], &st, sizeof(st));
                _exit(failed || w != (ssize_t)sizeof(st) ? 1 : 0);
        }
        close(fds[1]);
        *fd_out = fds[0];
        return pid;
}

/* Reaps one child; returns true if its seed failed. */
static bool sim_reap(const struct sim_cli *cli, struct sim_child *kids, uint32_t *n_kids,
                     struct sim_stats *sum)
{
        int status = 0;
        pid_t pid = waitpid(-1, &status, 0);
        uint32_t i = 0;
        while (i < *n_kids && kids[i].pid != pid)
                i++;
        if (pid < 0 || i == *n_kids) {
                fprintf(stderr, "synod-sim: waitpid: %s\n", strerror(errno));
                exit(2);
        }
        struct sim_child k = kids[i];
        kids[i] = kids[--*n_kids];
        struct sim_stats st;
        memset(&st, 0, sizeof(st));
        ssize_t r = read(k.fd, &st, sizeof(st));
        close(k.fd);
        bool failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0 || r != (ssize_t)sizeof(st);
        if (r != (ssize_t)sizeof(st)) {
                memset(&st, 0, sizeof(st));
                st.seeds = 1;
        }
        if (failed && WIFSIGNALED(status)) {
                printf("FAIL seed %" PRIu64 ": died of signal %d (%s): a core assertion or "
                       "sanitizer report, see stderr above\n",
                       k.seed, WTERMSIG(status), strsignal(WTERMSIG(status)));
                sim_print_replay(cli, k.seed, stdout);
        } else if (failed && r != (ssize_t)sizeof(st)) {
                printf("FAIL seed %" PRIu64 ": exited with status %d before reporting\n", k.seed,
                       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
                sim_print_replay(cli, k.seed, stdout);
        }
        st.failures = failed ? 1 : 0;
        sim_stats_add(sum, &st);
        fflush(stdout);
        return failed;
}

static int sim_many(const struct sim_cli *cli)
{
        struct sim_child kids[SIM_JOBS_MAX];
        uint32_t n_kids = 0;
        struct sim_stats sum;
        memset(&sum, 0, sizeof(sum));
        uint64_t next = cli->first;
        uint64_t end = cli->first + cli->seeds;
        bool found = false;
        while (next < end || n_kids > 0) {
                bool stop = cli->expect_failure && found;
                if (next < end && n_kids < cli->jobs && !stop) {
                        int fd;
                        pid_t pid = sim_spawn(cli, next, &fd);
                        if (pid < 0) {
                                fprintf(stderr, "synod-sim: fork: %s\n", strerror(errno));
                                return 2;
                        }
                        kids[n_kids++] = (struct sim_child){.pid = pid, .seed = next, .fd = fd};
                        next++;
                        continue;
                }
                if (n_kids == 0)
                        break;
                if (sim_reap(cli, kids, &n_kids, &sum))
                        found = true;
        }
        printf("synod-sim: seeds %" PRIu64 "..%" PRIu64 " (%" PRIu64 " run), steps %" PRIu64
               " each\n",
               cli->first, end - 1, sum.seeds, cli->steps);
        sim_stats_print(&sum, stdout);
        if (cli->expect_failure) {
                if (sum.failures > 0) {
                        printf("expected failure found: the simulator catches this build's bug\n");
                        return 0;
                }
                printf("NOT CAUGHT: no seed failed; the simulator misses this build's bug\n");
                return 1;
        }
        return sum.failures > 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
        struct sim_cli cli;
        if (sim_parse(&cli, argc, argv) != 0)
                return 2;
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (cli.one_seed)
                return sim_single(&cli) ? 1 : 0;
        return sim_many(&cli);
}
