/* main.c — sluice-sim: runs the randomized simulator over a range of seeds.
 *
 *   sluice-sim --seeds FIRST..LAST [--nodes N] [--steps S] [--trace] [--verbose]
 *   sluice-sim-broken --bug NAME --seeds ... [--expect-violation]   (test build only)
 *
 * Prints one line per failing seed with the violation and the command that replays it, and ends
 * with `seeds: N, violations: V`. Exit status: 0 when no seed failed, 1 when one did, 2 on bad
 * usage. With --expect-violation (used to prove the checkers bite) the run stops at the first
 * failing seed and the status is inverted: 0 when a seed failed, 1 when none did.
 */
#include "sim.h"

#include "core/assert.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static jmp_buf seed_jmp;
static uint64_t current_seed;

/* An assertion inside the core is a violation of this seed: report it and go on. */
static void on_assert(void)
{
    fprintf(stderr, "  (while running seed %" PRIu64 ")\n", current_seed);
    longjmp(seed_jmp, 1);
}

/* Runs one seed, turning an assertion failure into a violation. Kept apart from main so that no
 * local variable lives across the longjmp. */
static void run_guarded(const struct sim_run_options *o, struct sim_report *rep)
{
    current_seed = o->seed;
    memset(rep, 0, sizeof(*rep));
    if (setjmp(seed_jmp) == 0) {
        sim_run(o, rep);
    } else { /* sim_run filled the profile before anything could fail */
        rep->ok = false;
        snprintf(rep->what, sizeof(rep->what), "assertion failed inside the core (see above)");
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sluice-sim --seeds FIRST..LAST [--nodes N] [--steps S] [--trace] [--verbose]\n"
#ifdef SL_RAFT_BROKEN
            "                  --bug commit-old-term|vote-early|ack-early|vote-any-log\n"
            "                  [--expect-violation]  (stop at the first violation; exit 0 if any)\n"
#endif
            "\n"
            "Runs a whole Raft cluster in one process on a virtual clock, once per seed, under\n"
            "random faults (message delay, loss, duplication and reordering; symmetric and\n"
            "one-way partitions; crashes that lose unsynced writes; slow disks; membership\n"
            "changes; leadership transfers; log compaction) and checks Raft's safety properties\n"
            "after every event, then liveness once the faults heal.\n"
            "\n"
            "  --seeds A..B   seeds to run (or a single seed A)\n"
            "  --nodes N      initial voters (1..%d; default: 3 for odd seeds, 5 for even)\n"
            "  --steps S      events in the fault phase of each seed (default 20000)\n"
            "  --trace        print every message and event (use with one seed)\n"
            "  --verbose      print a summary line for every seed\n",
            SIM_SLOTS_MAX - 1);
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s) {
        return -1;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || s[0] == '-') {
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t first = 0, last = 0, steps = 20000, nodes = 0;
    bool have_seeds = false, trace = false, verbose = false, expect_violation = false;
    uint32_t broken = 0;
    const char *bug_name = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--seeds") && v) {
            char buf[64];
            snprintf(buf, sizeof(buf), "%s", v);
            char *dots = strstr(buf, "..");
            if (dots) {
                *dots = 0;
            }
            if (parse_u64(buf, &first) || parse_u64(dots ? dots + 2 : buf, &last) || last < first) {
                fprintf(stderr,
                        "sluice-sim: --seeds wants FIRST..LAST with FIRST <= LAST, got "
                        "'%s'\n",
                        v);
                return 2;
            }
            have_seeds = true;
            i++;
        } else if (!strcmp(a, "--steps") && v) {
            if (parse_u64(v, &steps) || steps == 0) {
                fprintf(stderr, "sluice-sim: --steps wants a positive number, got '%s'\n", v);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--nodes") && v) {
            if (parse_u64(v, &nodes) || nodes == 0 || nodes >= SIM_SLOTS_MAX) {
                fprintf(stderr, "sluice-sim: --nodes wants 1..%d, got '%s'\n", SIM_SLOTS_MAX - 1,
                        v);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--trace")) {
            trace = true;
        } else if (!strcmp(a, "--verbose")) {
            verbose = true;
#ifdef SL_RAFT_BROKEN
        } else if (!strcmp(a, "--bug") && v) {
            static const struct {
                const char *name;
                uint32_t bit;
            } bugs[] = {{"commit-old-term", SL_RAFT_BROKEN_COMMIT_OLD_TERM},
                        {"vote-early", SL_RAFT_BROKEN_VOTE_EARLY},
                        {"ack-early", SL_RAFT_BROKEN_ACK_EARLY},
                        {"vote-any-log", SL_RAFT_BROKEN_VOTE_ANY_LOG}};
            for (size_t k = 0; k < sizeof(bugs) / sizeof(bugs[0]); k++) {
                if (!strcmp(v, bugs[k].name)) {
                    broken |= bugs[k].bit;
                }
            }
            if (!broken) {
                fprintf(stderr, "sluice-sim: unknown --bug '%s'\n", v);
                return 2;
            }
            bug_name = v;
            i++;
        } else if (!strcmp(a, "--expect-violation")) {
            expect_violation = true;
#endif
        } else {
            fprintf(stderr, "sluice-sim: unknown or incomplete option '%s'\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!have_seeds) {
        fprintf(stderr, "sluice-sim: --seeds is required\n\n");
        usage(stderr);
        return 2;
    }
    sl_assert_set_hook(on_assert);
    setvbuf(stdout, NULL, _IOLBF, 0);

    uint64_t seeds = 0, violations = 0;
    for (uint64_t seed = first;; seed++) {
        struct sim_run_options o = {seed, (uint32_t)nodes, steps, broken, trace};
        struct sim_report rep;
        seeds++;
        run_guarded(&o, &rep);
        if (!rep.ok) {
            violations++;
            printf("seed %" PRIu64 ": VIOLATION: %s\n", seed, rep.what);
            printf("  profile: %s\n", rep.profile);
            printf("  replay:  %s --seeds %" PRIu64 "..%" PRIu64 " --steps %" PRIu64, argv[0], seed,
                   seed, steps);
            if (nodes) {
                printf(" --nodes %" PRIu64, nodes);
            }
            if (bug_name) {
                printf(" --bug %s", bug_name);
            }
            printf("\n");
        } else if (verbose) {
            printf("seed %" PRIu64 ": ok, %u nodes, %" PRIu64 " steps, %.1f s virtual, %" PRIu64
                   " acked, %" PRIu64 " leaders, %" PRIu64 " crashes, %" PRIu64
                   " snapshots installed, %" PRIu64 " failed allocations\n",
                   seed, rep.nodes, rep.steps, rep.virtual_us / 1e6, rep.acked, rep.stats.elections,
                   rep.stats.crashes, rep.stats.snapshots_installed, rep.stats.alloc_failures);
        }
        if (seed == last || (expect_violation && violations)) {
            break;
        }
    }
    printf("seeds: %" PRIu64 ", violations: %" PRIu64 "\n", seeds, violations);
    if (expect_violation) {
        return violations > 0 ? 0 : 1;
    }
    return violations > 0 ? 1 : 0;
}
