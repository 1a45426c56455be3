/* election.c — PreVote, votes, the CheckQuorum lease and leadership transfer.
 *
 * A follower whose election timer fires first asks for pre-votes for term + 1 without changing
 * its term; only with a quorum of pre-votes does it start a real election. A node cut off from
 * the cluster therefore never inflates its term, and returns without disrupting anyone. Voters
 * that heard from a leader within the election timeout ignore (pre-)votes altogether (the
 * lease), unless the leader itself asked for the election by a transfer.
 */
#include "core/raft/internal.h"

#include "core/assert.h"
#include "core/errors.h"

void sl_raft__campaign(struct sl_raft *r, bool pre, bool transfer)
{
    if (!sl_raft_config_is_voter(sl_raft__config(r), r->opt.id)) {
        return;
    }
    uint64_t term;
    if (pre) {
        r->role = SL_RAFT_PRECANDIDATE;
        term = r->term + 1;
    } else {
        r->role = SL_RAFT_CANDIDATE;
        r->term++;
        r->vote = r->opt.id;
        r->w_hard = true;
        term = r->term;
        /* The vote counts once the write carrying it is durable: the next one. */
        r->self_vote_write = r->write_last + 1;
    }
    r->leader = 0;
    r->transfer_to = 0;
    sl_raft__reset_election_timer(r);
    for (uint32_t k = 0; k < r->n_peers; k++) {
        r->peers[k].vote = SL_RAFT_VOTE_NONE;
    }
    uint64_t last = r->log.last, last_term = sl_raft_log_last_term(&r->log);
    for (uint32_t k = 0; k < r->n_peers; k++) {
        const struct sl_raft_progress *pr = &r->peers[k];
        if (pr->id == r->opt.id || pr->role != SL_RAFT_VOTER) {
            continue;
        }
        struct sl_raft_msg m =
            sl_raft__msg(r, pre ? SL_RAFT_MSG_PREVOTE : SL_RAFT_MSG_VOTE, pr->id);
        m.term = term;
        m.index = last;
        m.log_term = last_term;
        m.flags = transfer ? SL_RAFT_FLAG_TRANSFER : 0;
        sl_raft__send(r, &m);
    }
    if (pre || sl_raft_is_broken(r, SL_RAFT_BROKEN_VOTE_EARLY)) {
        r->self_vote_write = 0;
        sl_raft__record_vote(r, r->opt.id, true);
    }
}

void sl_raft__record_vote(struct sl_raft *r, uint64_t from, bool granted)
{
    SL_ASSERT(r->role == SL_RAFT_PRECANDIDATE || r->role == SL_RAFT_CANDIDATE);
    struct sl_raft_progress *pr = sl_raft__progress(r, from);
    if (!pr || pr->role != SL_RAFT_VOTER || pr->vote != SL_RAFT_VOTE_NONE) {
        return; /* not a voter, or already answered: the first answer counts */
    }
    pr->vote = granted ? SL_RAFT_VOTE_GRANTED : SL_RAFT_VOTE_REJECTED;
    uint32_t yes = 0, no = 0, voters = 0;
    for (uint32_t k = 0; k < r->n_peers; k++) {
        if (r->peers[k].role == SL_RAFT_VOTER) {
            voters++;
            yes += r->peers[k].vote == SL_RAFT_VOTE_GRANTED;
            no += r->peers[k].vote == SL_RAFT_VOTE_REJECTED;
        }
    }
    uint32_t quorum = voters / 2 + 1;
    if (yes >= quorum) {
        if (r->role == SL_RAFT_PRECANDIDATE) {
            sl_raft__campaign(r, false, false);
        } else {
            sl_raft__become_leader(r);
        }
    } else if (no > voters - quorum) {
        sl_raft__become_follower(r, r->term, 0);
    }
}

void sl_raft__handle_vote_request(struct sl_raft *r, const struct sl_raft_msg *m)
{
    bool pre = m->type == SL_RAFT_MSG_PREVOTE;
    bool can_vote =
        r->vote == m->from || (r->vote == 0 && r->leader == 0) || (pre && m->term > r->term);
    uint64_t last_term = sl_raft_log_last_term(&r->log);
    bool up_to_date =
        m->log_term > last_term || (m->log_term == last_term && m->index >= r->log.last);
    if (sl_raft_is_broken(r, SL_RAFT_BROKEN_VOTE_ANY_LOG)) {
        up_to_date = true;
    }
    struct sl_raft_msg resp =
        sl_raft__msg(r, pre ? SL_RAFT_MSG_PREVOTE_RESP : SL_RAFT_MSG_VOTE_RESP, m->from);
    if (can_vote && up_to_date) {
        if (!pre) {
            /* Record the vote before answering: the answer waits until it is durable. */
            if (r->vote != m->from) {
                r->vote = m->from;
                r->w_hard = true;
            }
            r->election_elapsed = 0;
        }
        resp.term = m->term;
    } else {
        resp.flags = SL_RAFT_FLAG_REJECT;
    }
    sl_raft__send(r, &resp);
}

void sl_raft__handle_vote_response(struct sl_raft *r, const struct sl_raft_msg *m)
{
    bool granted = !(m->flags & SL_RAFT_FLAG_REJECT);
    if (m->type == SL_RAFT_MSG_PREVOTE_RESP) {
        /* A grant names the term asked for; a refusal carries the voter's own term. */
        if (r->role != SL_RAFT_PRECANDIDATE || m->term != (granted ? r->term + 1 : r->term)) {
            return;
        }
    } else if (r->role != SL_RAFT_CANDIDATE) {
        return;
    }
    sl_raft__record_vote(r, m->from, granted);
}

void sl_raft__handle_timeout_now(struct sl_raft *r, const struct sl_raft_msg *m)
{
    if (r->role == SL_RAFT_LEADER || (r->leader != 0 && r->leader != m->from)) {
        return;
    }
    sl_raft__campaign(r, false, true);
}

void sl_raft__check_quorum(struct sl_raft *r)
{
    uint32_t active = 0, voters = 0;
    for (uint32_t k = 0; k < r->n_peers; k++) {
        struct sl_raft_progress *pr = &r->peers[k];
        if (pr->role == SL_RAFT_VOTER) {
            voters++;
            active += pr->id == r->opt.id || pr->recent_active;
        }
        pr->recent_active = pr->id == r->opt.id;
    }
    if (active < voters / 2 + 1) {
        sl_raft__become_follower(r, r->term, 0);
    }
}

int sl_raft_transfer(struct sl_raft *r, uint64_t to)
{
    if (r->role != SL_RAFT_LEADER) {
        return SL_ENOTLEADER;
    }
    if (to == r->opt.id || !sl_raft_config_is_voter(sl_raft__config(r), to)) {
        return SL_EINVAL;
    }
    if (r->transfer_to) {
        return SL_EBUSY;
    }
    r->transfer_to = to;
    r->transfer_elapsed = 0;
    r->transfer_sent = false;
    struct sl_raft_progress *pr = sl_raft__progress(r, to);
    sl_raft__maybe_finish_transfer(r, pr);
    sl_raft__send_appends(r, pr);
    return SL_OK;
}

void sl_raft__maybe_finish_transfer(struct sl_raft *r, struct sl_raft_progress *pr)
{
    if (r->transfer_to != pr->id || r->transfer_sent || pr->match != r->log.last) {
        return;
    }
    struct sl_raft_msg m = sl_raft__msg(r, SL_RAFT_MSG_TIMEOUT_NOW, pr->id);
    sl_raft__send(r, &m);
    r->transfer_sent = true;
}
