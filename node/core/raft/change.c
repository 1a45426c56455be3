/* change.c — one-server membership changes (sl_raft_change).
 *
 * Rules (Ongaro's dissertation, §4.1, with the fix for the single-server bug he published in
 * 2015): one member is added, promoted or removed at a time, so any two consecutive
 * configurations share a majority; the new configuration takes effect on every member as soon
 * as its entry is appended; the leader proposes the next change only once the previous one is
 * committed and once it has committed an entry of its own term (its NOOP). New members join as
 * learners and are promoted once caught up (learner_caught_up); the leader is never removed
 * (transfer first).
 */
#include "core/raft/internal.h"

#include "core/errors.h"

/* A learner may become a voter once it holds the configuration in force (so it knows it is a
 * member), is within promote_lag_entries_max of the commit index, and was heard from in the
 * current election timeout: promoting a silent member could leave the group without a quorum. */
static bool learner_caught_up(const struct sl_raft *r, const struct sl_raft_progress *pr)
{
    if (pr->match < sl_raft_config_index(r) || !pr->recent_active) {
        return false;
    }
    return r->commit <= pr->match || r->commit - pr->match <= r->opt.promote_lag_entries_max;
}

int sl_raft_change(struct sl_raft *r, enum sl_raft_change_op op, uint64_t id, uint64_t *index)
{
    if (r->role != SL_RAFT_LEADER) {
        return SL_ENOTLEADER;
    }
    if (r->transfer_to || r->commit < r->term_start || sl_raft_config_index(r) > r->commit) {
        return SL_EBUSY;
    }
    struct sl_raft_config c = *sl_raft__config(r);
    struct sl_raft_member *m = NULL;
    for (uint32_t i = 0; i < c.n; i++) {
        if (c.members[i].id == id) {
            m = &c.members[i];
        }
    }
    switch (op) {
    case SL_RAFT_ADD_LEARNER:
        if (id == 0 || m) {
            return SL_EINVAL;
        }
        if (c.n == SL_RAFT_MEMBERS_MAX) {
            return SL_ELIMIT;
        }
        c.members[c.n].id = id;
        c.members[c.n].role = SL_RAFT_LEARNER;
        c.n++;
        break;
    case SL_RAFT_PROMOTE:
        if (!m || m->role != SL_RAFT_LEARNER) {
            return SL_EINVAL;
        }
        if (!learner_caught_up(r, sl_raft__progress(r, id))) {
            return SL_ENOTCAUGHTUP;
        }
        m->role = SL_RAFT_VOTER;
        break;
    case SL_RAFT_REMOVE:
        if (!m || id == r->opt.id) {
            return SL_EINVAL;
        }
        *m = c.members[c.n - 1];
        c.n--;
        break;
    default:
        return SL_EINVAL;
    }
    struct sl_buf *payload;
    int rc = sl_raft_config_encode(&c, &payload);
    if (rc != SL_OK) {
        return rc;
    }
    uint64_t at;
    rc = sl_raft__leader_append(r, SL_RAFT_ENTRY_CONFIG, &payload, 1, &at);
    sl_buf_unref(payload);
    if (rc == SL_OK && index) {
        *index = at;
    }
    return rc;
}
