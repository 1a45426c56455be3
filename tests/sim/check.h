/* check.h — the simulator's safety checkers: hash-chain mirrors of every node's in-memory log
 * and the global records they are compared against.
 *
 * Every entry gets a chain value: chain(i) = mix(chain(i - 1), term, type, payload). Equal
 * chains at an index mean equal logs up to that index, so each property below costs O(1) per
 * entry:
 *   - log matching: the first chain seen for (index, term) is recorded; any log that later holds
 *     (index, term) with another chain breaks it;
 *   - leader completeness: a new leader's chain at the highest applied index must equal the
 *     chain applied there;
 *   - state machine safety: the first chain applied at an index is recorded; every other apply
 *     there must match;
 *   - election safety: one (leader id, boot) per term.
 * Functions return NULL when all is well, else a description of the violation (valid until the
 * next call).
 */
#ifndef SL_SIM_CHECK_H
#define SL_SIM_CHECK_H

#include "core/raft/raft.h"

#include <stdbool.h>
#include <stdint.h>

/* The in-memory log of one node, as terms and chains: entries base_index + 1 .. last. */
struct sim_mirror {
    uint64_t base_index;
    uint64_t base_term;
    uint64_t base_chain;
    uint64_t *terms;
    uint64_t *chains;
    size_t off; /* entry base_index + 1 + k lives at [off + k] */
    size_t n;
    size_t cap;
};

void sim_mirror_reset(struct sim_mirror *m, uint64_t index, uint64_t term, uint64_t chain);
void sim_mirror_free(struct sim_mirror *m);
static inline uint64_t sim_mirror_last(const struct sim_mirror *m)
{
    return m->base_index + m->n;
}
/* Term and chain at `index`; false when the mirror does not hold it. */
bool sim_mirror_at(const struct sim_mirror *m, uint64_t index, uint64_t *term, uint64_t *chain);

/* The chain after `prev` extended by `e`. */
uint64_t sim_chain(uint64_t prev, const struct sl_raft_entry *e);

/* Snapshot data of the simulated state machine: (index, chain), 16 bytes. */
struct sl_buf *sim_snapshot_data(uint64_t index, uint64_t chain);
/* Decodes it; an absent buffer is the empty state (0, 0). False if malformed. */
bool sim_snapshot_decode(const struct sl_buf *b, uint64_t *index, uint64_t *chain);

struct sim_checker;

struct sim_checker *sim_checker_new(void);
void sim_checker_free(struct sim_checker *ch);

/* Applies a write handed out by a node (its in-memory log changed the same way) to its mirror
 * and checks log matching for every new entry. */
const char *sim_check_write(struct sim_checker *ch, struct sim_mirror *m,
                            const struct sl_raft_update *u);

/* Checks an entry found in a log (rebuilding a mirror from disk) and appends it to `m`. */
const char *sim_check_append(struct sim_checker *ch, struct sim_mirror *m,
                             const struct sl_raft_entry *e);

/* `id` (in its `boot`-th life) was seen leading `term` with log `m`. */
const char *sim_check_leader(struct sim_checker *ch, uint64_t id, uint64_t boot, uint64_t term,
                             const struct sim_mirror *m);

/* A state machine reached `index` (entry of `term`) with `chain`. */
const char *sim_check_applied(struct sim_checker *ch, uint64_t index, uint64_t term,
                              uint64_t chain);

/* The highest index applied anywhere. */
uint64_t sim_checker_applied_max(const struct sim_checker *ch);

#endif
