/* replication.c — proposals, AppendEntries, heartbeats, the commit rule, snapshots and
 * compaction.
 *
 * The leader keeps a progress per member:
 *
 *            reject, or gap after compaction (sl_raft__probe)
 *   PROBE <--------------------------------------------- REPLICATE
 *     |  ----------------------------------------------->  ^
 *     |    reply covering the probe (start_replicating)    | snapshot acknowledged
 *     |                                                     | (start_replicating)
 *     +--> SNAPSHOT ----------------------------------------+
 *   next entry compacted      snapshot lost: back to PROBE after two election timeouts
 *   (send_snapshot)
 *
 * PROBE sends one APPEND at a time until the logs agree; REPLICATE streams APPENDs back to
 * back, at most inflight_msgs_max unacknowledged; a follower's rejection carries the
 * conflicting term and its first index, so the leader skips a whole term per round trip (fast
 * back-off) instead of one entry.
 */
#include "core/raft/internal.h"

#include "core/alloc.h"
#include "core/assert.h"
#include "core/errors.h"

/* ---- leader: proposals --------------------------------------------------------------------- */

int sl_raft__leader_append(struct sl_raft *r, uint8_t type, struct sl_buf *const *data, size_t n,
                           uint64_t *first_index)
{
    SL_ASSERT(r->role == SL_RAFT_LEADER);
    int rc = sl_raft_log_reserve(&r->log, n, 1);
    if (rc == SL_OK && type == SL_RAFT_ENTRY_CONFIG) {
        rc = sl_raft_history_reserve(&r->configs, n);
    }
    if (rc != SL_OK) {
        return rc;
    }
    uint64_t first = r->log.last + 1;
    for (size_t k = 0; k < n; k++) {
        struct sl_raft_entry e = {first + k, r->term, type, data ? data[k] : NULL};
        sl_raft__append(r, &e);
        r->uncommitted_bytes += sl_buf_len(e.data);
    }
    r->bcast_pending = true;
    *first_index = first;
    return SL_OK;
}

int sl_raft_propose(struct sl_raft *r, uint8_t type, struct sl_buf *const *data, size_t n,
                    uint64_t *first_index, uint64_t *term)
{
    if (r->role != SL_RAFT_LEADER) {
        return SL_ENOTLEADER;
    }
    if (n == 0 || type != SL_RAFT_ENTRY_NORMAL || !data) {
        return SL_EINVAL;
    }
    if (r->transfer_to) {
        return SL_EBUSY;
    }
    if (n > r->opt.uncommitted_entries_max) {
        return SL_ELIMIT; /* could never fit the window: retrying would not help */
    }
    uint64_t bytes = 0;
    for (size_t k = 0; k < n; k++) {
        bytes += sl_buf_len(data[k]);
    }
    if (r->log.last - r->commit + n > r->opt.uncommitted_entries_max ||
        (r->uncommitted_bytes > 0 && r->uncommitted_bytes + bytes > r->opt.uncommitted_bytes_max)) {
        return SL_EBUSY;
    }
    int rc = sl_raft__leader_append(r, type, data, n, first_index);
    if (rc == SL_OK && term) {
        *term = r->term;
    }
    return rc;
}

/* ---- leader: sending ----------------------------------------------------------------------- */

void sl_raft__probe(struct sl_raft_progress *pr, uint64_t next)
{
    pr->state = SL_RAFT_PROBE;
    pr->probe_sent = false;
    pr->next = next;
    pr->inflight_count = 0;
}

/* PROBE or SNAPSHOT -> REPLICATE; stays put (and returns false) if the in-flight ring cannot be
 * allocated: probing one APPEND at a time is slower but correct. */
static bool start_replicating(struct sl_raft *r, struct sl_raft_progress *pr)
{
    if (!pr->inflight) {
        pr->inflight = sl_malloc(r->opt.inflight_msgs_max * sizeof(*pr->inflight));
        if (!pr->inflight) {
            return false;
        }
    }
    pr->state = SL_RAFT_REPLICATE;
    pr->probe_sent = false;
    pr->next = pr->match + 1;
    pr->round_start = pr->next;
    pr->inflight_start = pr->inflight_count = 0;
    return true;
}

static void inflight_push(struct sl_raft *r, struct sl_raft_progress *pr, uint64_t last)
{
    SL_ASSERT(pr->inflight_count < r->opt.inflight_msgs_max);
    pr->inflight[(pr->inflight_start + pr->inflight_count) % r->opt.inflight_msgs_max] = last;
    pr->inflight_count++;
}

/* Forgets the APPENDs acknowledged by a match of `index`. */
static void inflight_ack(struct sl_raft *r, struct sl_raft_progress *pr, uint64_t index)
{
    while (pr->inflight_count && pr->inflight[pr->inflight_start] <= index) {
        pr->inflight_start = (pr->inflight_start + 1) % r->opt.inflight_msgs_max;
        pr->inflight_count--;
    }
}

static void send_snapshot(struct sl_raft *r, struct sl_raft_progress *pr)
{
    struct sl_raft_msg m = sl_raft__msg(r, SL_RAFT_MSG_SNAPSHOT, pr->id);
    m.snapshot = r->snap;
    m.snapshot.data = sl_buf_ref(r->snap.data);
    pr->state = SL_RAFT_SNAPSHOT;
    pr->inflight_count = 0;
    pr->snapshot_index = r->snap.index;
    pr->snapshot_ticks = 0;
    sl_raft__send(r, &m);
}

bool sl_raft__send_append(struct sl_raft *r, struct sl_raft_progress *pr)
{
    if (pr->id == r->opt.id) {
        return false;
    }
    switch (pr->state) {
    case SL_RAFT_SNAPSHOT:
        return false;
    case SL_RAFT_PROBE:
        if (pr->probe_sent) {
            return false;
        }
        break;
    case SL_RAFT_REPLICATE:
        if (pr->next > r->log.last || pr->inflight_count >= r->opt.inflight_msgs_max) {
            return false;
        }
        break;
    default:
        SL_UNREACHABLE();
    }
    uint64_t prev = pr->next - 1;
    if (prev < r->log.snap_index) {
        send_snapshot(r, pr);
        return true;
    }
    struct sl_raft_msg m = sl_raft__msg(r, SL_RAFT_MSG_APPEND, pr->id);
    m.index = prev;
    m.log_term = sl_raft_log_term(&r->log, prev);
    m.commit = r->commit;
    if (pr->next <= r->log.last) {
        uint64_t want = r->log.last - prev;
        if (want > r->opt.append_entries_max) {
            want = r->opt.append_entries_max;
        }
        m.entries = sl_malloc((size_t)want * sizeof(*m.entries));
        size_t got = 0;
        if (!m.entries ||
            sl_raft_log_read(&r->log, pr->next, pr->next + want - 1, r->opt.append_bytes_max,
                             m.entries, (size_t)want, &got) != SL_OK) {
            sl_free(m.entries);
            return false; /* retried on the next heartbeat response */
        }
        m.n_entries = (uint32_t)got;
    }
    if (pr->state == SL_RAFT_REPLICATE) {
        pr->next += m.n_entries;
        inflight_push(r, pr, pr->next - 1);
    } else {
        pr->probe_sent = true;
    }
    sl_raft__send(r, &m);
    return true;
}

void sl_raft__send_appends(struct sl_raft *r, struct sl_raft_progress *pr)
{
    while (sl_raft__send_append(r, pr)) {
    }
}

void sl_raft__bcast_append(struct sl_raft *r)
{
    for (uint32_t k = 0; k < r->n_peers; k++) {
        sl_raft__send_appends(r, &r->peers[k]);
    }
}

void sl_raft__bcast_heartbeat(struct sl_raft *r)
{
    for (uint32_t k = 0; k < r->n_peers; k++) {
        struct sl_raft_progress *pr = &r->peers[k];
        if (pr->id == r->opt.id) {
            continue;
        }
        struct sl_raft_msg m = sl_raft__msg(r, SL_RAFT_MSG_HEARTBEAT, pr->id);
        /* Only what the follower is known to hold may be committed on its side. */
        m.commit = pr->match < r->commit ? pr->match : r->commit;
        sl_raft__send(r, &m);
    }
}

/* ---- leader: the commit rule --------------------------------------------------------------- */

void sl_raft__maybe_commit(struct sl_raft *r)
{
    uint64_t match[SL_RAFT_MEMBERS_MAX];
    uint32_t n = 0;
    for (uint32_t k = 0; k < r->n_peers; k++) {
        const struct sl_raft_progress *pr = &r->peers[k];
        if (pr->role != SL_RAFT_VOTER) {
            continue;
        }
        uint64_t v = pr->match;
        if (pr->id == r->opt.id) {
            /* The leader's own copy counts only once durable. */
            v = sl_raft_is_broken(r, SL_RAFT_BROKEN_ACK_EARLY) ? r->log.last : r->durable;
        }
        uint32_t i = n++;
        while (i > 0 && match[i - 1] < v) { /* insertion sort, descending */
            match[i] = match[i - 1];
            i--;
        }
        match[i] = v;
    }
    SL_ASSERT(n > 0);
    uint64_t candidate = match[n / 2]; /* the highest index held by a majority */
    if (candidate <= r->commit) {
        return;
    }
    /* Figure 8 of the Raft paper: an entry of an older term may be on a majority and still be
     * overwritten, so only an entry of the leader's own term is committed by counting. */
    if (sl_raft_log_term(&r->log, candidate) != r->term &&
        !sl_raft_is_broken(r, SL_RAFT_BROKEN_COMMIT_OLD_TERM)) {
        return;
    }
    uint64_t from = r->commit + 1 > r->term_start ? r->commit + 1 : r->term_start;
    for (uint64_t i = from; i <= candidate; i++) {
        const struct sl_raft_entry *e = sl_raft_log_cached(&r->log, i);
        SL_ASSERT(e); /* uncommitted entries are never evicted */
        r->uncommitted_bytes -= sl_buf_len(e->data);
    }
    sl_raft__set_commit(r, candidate);
}

/* ---- leader: responses --------------------------------------------------------------------- */

void sl_raft__handle_append_response(struct sl_raft *r, const struct sl_raft_msg *m)
{
    struct sl_raft_progress *pr = sl_raft__progress(r, m->from);
    if (!pr) {
        return;
    }
    pr->recent_active = true;
    if (m->flags & SL_RAFT_FLAG_REJECT) {
        /* Replies to APPENDs of an abandoned round (or an old probe) say nothing new: acting on
         * them would restart the pipeline again and again on a reordering network. */
        bool stale = pr->state == SL_RAFT_SNAPSHOT ||
                     (pr->state == SL_RAFT_REPLICATE &&
                      (m->index <= pr->match || m->index + 1 < pr->round_start)) ||
                     (pr->state == SL_RAFT_PROBE && m->index != pr->next - 1);
        if (stale) {
            return;
        }
        /* Fast back-off: skip the follower's whole conflicting term at once. */
        uint64_t next = m->hint;
        if (m->log_term) {
            uint64_t last_of_term = sl_raft_log_term_last(&r->log, m->log_term, m->index);
            if (last_of_term) {
                next = last_of_term + 1;
            }
        }
        if (next > m->index) {
            next = m->index; /* step back at least one entry */
        }
        if (next < pr->match + 1) {
            next = pr->match + 1;
        }
        sl_raft__probe(pr, next);
        sl_raft__send_appends(r, pr);
        return;
    }
    if (m->index > r->log.last) {
        return; /* cannot come from a member of this term */
    }
    bool advanced = m->index > pr->match;
    if (advanced) {
        pr->match = m->index;
    }
    /* Leave PROBE only on a reply that covers the probe, SNAPSHOT once the snapshot is in. */
    if ((pr->state == SL_RAFT_PROBE && m->index + 1 >= pr->next) ||
        (pr->state == SL_RAFT_SNAPSHOT && pr->match >= pr->snapshot_index)) {
        if (!start_replicating(r, pr)) {
            sl_raft__probe(pr, pr->match + 1);
        }
    } else if (pr->state == SL_RAFT_REPLICATE) {
        inflight_ack(r, pr, pr->match);
    }
    if (pr->next <= pr->match) {
        pr->next = pr->match + 1;
    }
    if (advanced) {
        sl_raft__maybe_commit(r);
    }
    sl_raft__maybe_finish_transfer(r, pr);
    sl_raft__send_appends(r, pr);
}

void sl_raft__handle_heartbeat_response(struct sl_raft *r, const struct sl_raft_msg *m)
{
    struct sl_raft_progress *pr = sl_raft__progress(r, m->from);
    if (!pr) {
        return;
    }
    pr->recent_active = true;
    if (pr->state == SL_RAFT_PROBE) {
        pr->probe_sent = false; /* the probe may have been lost: send another */
    } else if (pr->state == SL_RAFT_REPLICATE && pr->match < r->log.last) {
        if (pr->next - 1 < r->log.snap_index) {
            /* What we streamed has been compacted since: probe from the match, which sends the
             * snapshot if the follower needs it. */
            sl_raft__probe(pr, pr->match + 1);
        } else {
            /* Streamed APPENDs may have been lost, and with nothing new to send the follower
             * would never say so. An empty APPEND after the last entry sent surfaces a gap as
             * a rejection (and the leader probes), or confirms the match. */
            struct sl_raft_msg gap = sl_raft__msg(r, SL_RAFT_MSG_APPEND, pr->id);
            gap.index = pr->next - 1;
            gap.log_term = sl_raft_log_term(&r->log, gap.index);
            gap.commit = r->commit;
            sl_raft__send(r, &gap);
        }
    }
    sl_raft__send_appends(r, pr);
}

/* ---- follower ------------------------------------------------------------------------------ */

void sl_raft__handle_append(struct sl_raft *r, const struct sl_raft_msg *m)
{
    struct sl_raft_msg resp = sl_raft__msg(r, SL_RAFT_MSG_APPEND_RESP, m->from);
    if (m->index < r->commit) {
        /* Everything up to our commit index already matches any leader's log. */
        resp.index = r->commit;
        sl_raft__send(r, &resp);
        return;
    }
    uint64_t term = sl_raft_log_term(&r->log, m->index);
    if (m->index > r->log.last || term != m->log_term) {
        resp.flags = SL_RAFT_FLAG_REJECT;
        resp.index = m->index;
        if (m->index > r->log.last) {
            resp.hint = r->log.last + 1;
        } else {
            resp.log_term = term;
            resp.hint = sl_raft_log_term_first(&r->log, term);
            if (resp.hint <= r->commit) {
                resp.hint = r->commit + 1;
            }
        }
        sl_raft__send(r, &resp);
        return;
    }

    /* Skip the entries we already hold; the first one that differs, or is new, starts the
     * part to (re)write. */
    uint32_t k = 0;
    while (k < m->n_entries && m->entries[k].index <= r->log.last &&
           sl_raft_log_term(&r->log, m->entries[k].index) == m->entries[k].term) {
        k++;
    }
    if (k < m->n_entries) {
        size_t terms = 1, configs = 0;
        for (uint32_t j = k; j < m->n_entries; j++) {
            terms += j > k && m->entries[j].term != m->entries[j - 1].term;
            configs += m->entries[j].type == SL_RAFT_ENTRY_CONFIG;
        }
        if (sl_raft_log_reserve(&r->log, m->n_entries - k, terms) != SL_OK ||
            sl_raft_history_reserve(&r->configs, configs) != SL_OK) {
            return; /* out of memory: as if the message was lost */
        }
        if (m->entries[k].index <= r->log.last) {
            sl_raft__truncate(r, m->entries[k].index);
        }
        for (uint32_t j = k; j < m->n_entries; j++) {
            sl_raft__append(r, &m->entries[j]);
        }
    }
    uint64_t last_new = m->index + m->n_entries;
    sl_raft__set_commit(r, m->commit < last_new ? m->commit : last_new);
    resp.index = last_new;
    sl_raft__send(r, &resp);
}

void sl_raft__handle_heartbeat(struct sl_raft *r, const struct sl_raft_msg *m)
{
    sl_raft__set_commit(r, m->commit < r->log.last ? m->commit : r->log.last);
    struct sl_raft_msg resp = sl_raft__msg(r, SL_RAFT_MSG_HEARTBEAT_RESP, m->from);
    sl_raft__send(r, &resp);
}

void sl_raft__handle_snapshot(struct sl_raft *r, const struct sl_raft_msg *m)
{
    const struct sl_raft_snapshot *s = &m->snapshot;
    struct sl_raft_msg resp = sl_raft__msg(r, SL_RAFT_MSG_APPEND_RESP, m->from);
    if (s->index <= r->commit) {
        resp.index = r->commit;
        sl_raft__send(r, &resp);
        return;
    }
    if (sl_raft_log_term(&r->log, s->index) == s->term) {
        /* We hold the entries the snapshot covers: commit them and apply them normally. */
        sl_raft__set_commit(r, s->index);
        resp.index = s->index;
        sl_raft__send(r, &resp);
        return;
    }
    /* Install: the log restarts after the snapshot; the state machine is reset to it once the
     * snapshot is durable. Until then the disk may hold other entries up to its index. */
    sl_raft__stale_from(r, r->log.snap_index + 1);
    sl_raft_log_reset(&r->log, s->index, s->term);
    sl_raft_history_reset(&r->configs, s->index, &s->config);
    sl_buf_unref(r->snap.data);
    r->snap = *s;
    r->snap.data = sl_buf_ref(s->data);
    r->w_snap = true;
    r->w_truncate = s->index + 1;
    r->w_from = s->index + 1;
    r->commit = r->applied = s->index;
    r->w_commit = true;
    r->restore_wait = true;
    r->restore_write = r->write_last + 1;
    sl_raft__apply_config(r);
    resp.index = s->index;
    sl_raft__send(r, &resp);
}

/* ---- compaction ---------------------------------------------------------------------------- */

int sl_raft_compact(struct sl_raft *r, uint64_t index, struct sl_buf *data)
{
    if (index > r->applied) {
        return SL_EINVAL;
    }
    if (index <= r->snap.index) {
        return SL_ESTALE;
    }
    uint64_t term = sl_raft_log_term(&r->log, index);
    SL_ASSERT(term != 0);
    struct sl_raft_config config = sl_raft_history_at(&r->configs, index)->config;
    sl_raft_log_compact(&r->log, index, term);
    sl_raft_history_compact(&r->configs, index);
    sl_buf_unref(r->snap.data);
    r->snap.index = index;
    r->snap.term = term;
    r->snap.config = config;
    r->snap.data = sl_buf_ref(data);
    r->w_snap = true;
    return SL_OK;
}
