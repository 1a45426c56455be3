/* test_raft_election.c — elections (core/raft/election.c and the role transitions of raft.c):
 * a candidate's own vote counts once durable; PreVote keeps terms stable; the up-to-date log
 * check and one vote per term; vote grants leave only once durable; the CheckQuorum lease and
 * leader step-down; randomized election timeouts. Single members are driven by hand; a partition
 * and a lost quorum are shown on a simulated cluster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "raft_fixture.h"

#include "core/errors.h"

#include <string.h>

/* ---- helpers ------------------------------------------------------------------------------- */

/* Member 1 of voters {1, 2, 3}, brand new (term 0, empty log, no leader known). */
static void boot_fresh_voter(struct fx *f)
{
    struct sl_raft_options o;
    fx_options(&o, 1);
    struct sl_raft_config c = config_voters(3);
    fx_boot_new(f, &o, &c);
}

/* Member 1 of voters {1, 2, 3} restarting in term 2 with log (1, term 1), (2, term 2). */
static void boot_voter_with_log(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    sim_disk_init(&f->disk);
    f->disk.snap.config = config_voters(3);
    f->disk.hs.term = 2;
    disk_put(&f->disk, 1);
    disk_put(&f->disk, 2);
    struct sl_raft_options o;
    fx_options(&o, 1);
    fx_boot_disk(f, &o);
}

/* Member 1 follows leader 2 in term 1, having just heard from it. */
static void boot_follower_of_2(struct fx *f)
{
    boot_fresh_voter(f);
    fx_recv(f, msg_heartbeat(2, 1, 1, 0));
    fx_settle(f);
    assert_int_equal(sl_raft_leader(f->r), 2);
    fx_clear_sent(f);
}

static const struct sl_raft_msg *vote_answer(const struct fx *f, uint64_t to)
{
    const struct sl_raft_msg *m = fx_find_sent(f, SL_RAFT_MSG_VOTE_RESP, to);
    assert_non_null(m);
    return m;
}

static bool granted(const struct sl_raft_msg *m)
{
    return !(m->flags & SL_RAFT_FLAG_REJECT);
}

/* ---- a candidate's own vote ---------------------------------------------------------------- */

static void test_single_voter_elects_itself_only_once_its_vote_is_durable(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    struct sl_raft_config c = config_voters(1);
    fx_boot_new(&f, &o, &c);

    fx_tick_while_role(&f, SL_RAFT_FOLLOWER, 100);
    assert_int_equal(sl_raft_role(f.r), SL_RAFT_CANDIDATE);
    assert_int_equal(sl_raft_term(f.r), 1);

    struct sl_raft_update u;
    fx_take(&f, &u);
    assert_int_not_equal(u.write_id, 0);
    assert_int_equal(u.hard_state.term, 1);
    assert_int_equal(u.hard_state.vote, 1);
    assert_int_equal(sl_raft_role(f.r), SL_RAFT_CANDIDATE); /* handed out is not durable */

    fx_persist(&f, &u);
    assert_int_equal(sl_raft_role(f.r), SL_RAFT_LEADER);
    assert_int_equal(sl_raft_term(f.r), 1);
    fx_absorb(&f, &u);
    fx_free(&f);
}

/* ---- PreVote ------------------------------------------------------------------------------- */

static void test_follower_timeout_starts_prevote_without_changing_term(void **state)
{
    (void)state;
    struct fx f;
    boot_voter_with_log(&f);
    fx_tick_while_role(&f, SL_RAFT_FOLLOWER, 100);
    assert_int_equal(sl_raft_role(f.r), SL_RAFT_PRECANDIDATE);
    assert_int_equal(sl_raft_term(f.r), 2);
    fx_settle(&f);
    assert_int_equal(f.disk.writes, 0); /* neither term nor vote changed */
    assert_int_equal(fx_count_sent(&f, SL_RAFT_MSG_VOTE, 0), 0);
    for (uint64_t to = 2; to <= 3; to++) {
        const struct sl_raft_msg *m = fx_find_sent(&f, SL_RAFT_MSG_PREVOTE, to);
        assert_non_null(m);
        assert_int_equal(m->term, 3); /* the term it would campaign for */
        assert_int_equal(m->index, 2);
        assert_int_equal(m->log_term, 2);
    }
    fx_free(&f);
}

static void test_prevote_quorum_starts_a_real_election(void **state)
{
    (void)state;
    struct fx f;
    boot_voter_with_log(&f);
    fx_tick_while_role(&f, SL_RAFT_FOLLOWER, 100);
    fx_settle(&f);
    fx_recv(&f, msg_prevote_resp(2, 1, 3, true)); /* with its own: 2 of 3 */
    assert_int_equal(sl_raft_role(f.r), SL_RAFT_CANDIDATE);
    assert_int_equal(sl_raft_term(f.r), 3);
    struct sl_raft_update u;
    fx_take(&f, &u);
    assert_int_not_equal(u.write_id, 0);
    assert_int_equal(u.hard_state.term, 3);
    assert_int_equal(u.hard_state.vote, 1);
    fx_persist(&f, &u);
    fx_absorb(&f, &u);
    assert_int_equal(f.disk.hs.term, 3);
    assert_int_equal(f.disk.hs.vote, 1);
    fx_free(&f);
}

static void test_prevote_rejected_by_a_majority_returns_to_follower(void **state)
{
    (void)state;
    struct fx f;
    boot_voter_with_log(&f);
    fx_tick_while_role(&f, SL_RAFT_FOLLOWER, 100);
    fx_settle(&f);
    fx_recv(&f, msg_prevote_resp(2, 1, 2, false));
    assert_int_equal(sl_raft_role(f.r), SL_RAFT_PRECANDIDATE); /* 1 yes, 1 no: undecided */
    fx_recv(&f, msg_prevote_resp(3, 1, 2, false));
    assert_int_equal(sl_raft_role(f.r), SL_RAFT_FOLLOWER);
    assert_int_equal(sl_raft_term(f.r), 2);
    fx_free(&f);
}

static void test_vote_requests_leave_only_once_the_candidates_term_is_durable(void **state)
{
    (void)state;
    struct fx f;
    boot_voter_with_log(&f);
    fx_tick_while_role(&f, SL_RAFT_FOLLOWER, 100);
    fx_settle(&f);
    fx_recv(&f, msg_prevote_resp(2, 1, 3, true));
    struct sl_raft_update u;
    fx_take(&f, &u);
    assert_int_equal(update_count_msgs(&u, SL_RAFT_MSG_VOTE, 0), 0);
    fx_persist(&f, &u);
    fx_absorb(&f, &u);
    fx_settle(&f);
    for (uint64_t to = 2; to <= 3; to++) {
        const struct sl_raft_msg *m = fx_find_sent(&f, SL_RAFT_MSG_VOTE, to);
        assert_non_null(m);
        assert_int_equal(m->term, 3);
        assert_int_equal(m->index, 2);
        assert_int_equal(m->log_term, 2);
        assert_false(m->flags & SL_RAFT_FLAG_TRANSFER);
    }
    fx_free(&f);
}

static void test_voter_grants_prevote_without_changing_its_term_or_vote(void **state)
{
    (void)state;
    struct fx f;
    boot_voter_with_log(&f);
    fx_recv(&f, msg_prevote(3, 1, 3, 2, 2));
    fx_settle(&f);
    const struct sl_raft_msg *m = fx_find_sent(&f, SL_RAFT_MSG_PREVOTE_RESP, 3);
    assert_non_null(m);
    assert_true(granted(m));
    assert_int_equal(m->term, 3);
    assert_int_equal(sl_raft_term(f.r), 2);
    assert_int_equal(f.disk.writes, 0);
    fx_free(&f);
}

static void test_partitioned_node_returning_does_not_raise_term_or_depose_leader(void **state)
{
    (void)state;
    struct sim_cluster_options o;
    cluster_options(&o, 3, 3, 11);
    struct sim_cluster *c = cluster_new(&o);
    int leader = cluster_step_until_leader(c, 2000);
    assert_true(leader >= 0);
    cluster_run_ms(c, 200);
    uint64_t term = sl_raft_term(sim_cluster_raft(c, (uint32_t)leader));
    int away = cluster_follower(c, -1);

    sim_cluster_isolate(c, (uint32_t)away);
    cluster_run_ms(c, 3000); /* many election timeouts */
    struct sl_raft *r = sim_cluster_raft(c, (uint32_t)away);
    assert_int_equal(sl_raft_role(r), SL_RAFT_PRECANDIDATE); /* it did try */
    assert_int_equal(sl_raft_term(r), term);

    sim_cluster_heal(c);
    cluster_run_ms(c, 2000);
    assert_int_equal(sim_cluster_leader(c), leader);
    assert_int_equal(sl_raft_term(sim_cluster_raft(c, (uint32_t)leader)), term);
    assert_int_equal(sl_raft_role(r), SL_RAFT_FOLLOWER);
    assert_int_equal(sl_raft_leader(r), sim_cluster_id(c, (uint32_t)leader));
    assert_int_equal(sl_raft_term(r), term);
    cluster_free(c);
}

/* ---- granting votes ------------------------------------------------------------------------ */

static void test_vote_refused_to_candidate_with_older_last_term(void **state)
{
    (void)state;
    struct fx f;
    boot_voter_with_log(&f);              /* last entry (2, term 2) */
    fx_recv(&f, msg_vote(3, 1, 3, 5, 1)); /* longer log, but last term 1 */
    fx_settle(&f);
    const struct sl_raft_msg *m = vote_answer(&f, 3);
    assert_false(granted(m));
    assert_int_equal(m->term, 3);
    assert_int_equal(f.disk.hs.term, 3);
    assert_int_equal(f.disk.hs.vote, 0);
    fx_free(&f);
}

static void test_vote_refused_to_candidate_with_shorter_log_of_same_last_term(void **state)
{
    (void)state;
    struct fx f;
    boot_voter_with_log(&f);
    fx_recv(&f, msg_vote(3, 1, 3, 1, 2)); /* last term 2 too, but at index 1 */
    fx_settle(&f);
    assert_false(granted(vote_answer(&f, 3)));
    assert_int_equal(f.disk.hs.vote, 0);
    fx_free(&f);
}

static void test_vote_granted_to_candidate_with_log_at_least_as_up_to_date(void **state)
{
    (void)state;
    struct fx f;
    boot_voter_with_log(&f);
    fx_recv(&f, msg_vote(3, 1, 3, 2, 2));
    fx_settle(&f);
    const struct sl_raft_msg *m = vote_answer(&f, 3);
    assert_true(granted(m));
    assert_int_equal(m->term, 3);
    assert_int_equal(f.disk.hs.vote, 3);
    fx_free(&f);
}

static void test_voter_grants_at_most_one_vote_per_term(void **state)
{
    (void)state;
    struct fx f;
    boot_fresh_voter(&f);
    fx_recv(&f, msg_vote(2, 1, 1, 0, 0));
    fx_settle(&f);
    fx_recv(&f, msg_vote(3, 1, 1, 0, 0)); /* a second candidate, same term */
    fx_settle(&f);
    fx_recv(&f, msg_vote(2, 1, 1, 0, 0)); /* the first one asking again */
    fx_settle(&f);
    assert_true(granted(vote_answer(&f, 2)));
    assert_false(granted(vote_answer(&f, 3)));
    assert_true(granted(fx_nth_sent(&f, SL_RAFT_MSG_VOTE_RESP, 2, 1)));
    assert_int_equal(f.disk.hs.vote, 2);
    fx_free(&f);
}

static void test_vote_grant_is_held_until_the_vote_is_durable(void **state)
{
    (void)state;
    struct fx f;
    boot_fresh_voter(&f);
    fx_recv(&f, msg_vote(2, 1, 1, 0, 0));
    struct sl_raft_update u;
    fx_take(&f, &u);
    assert_int_equal(u.hard_state.term, 1);
    assert_int_equal(u.hard_state.vote, 2);
    assert_int_equal(u.n_msgs, 0); /* the grant waits for the write */
    fx_persist(&f, &u);
    fx_absorb(&f, &u);
    fx_take(&f, &u);
    assert_int_equal(update_count_msgs(&u, SL_RAFT_MSG_VOTE_RESP, 2), 1);
    fx_absorb(&f, &u);
    assert_true(granted(vote_answer(&f, 2)));
    fx_free(&f);
}

/* ---- the CheckQuorum lease ----------------------------------------------------------------- */

static void test_follower_in_lease_ignores_higher_term_vote_without_transfer_flag(void **state)
{
    (void)state;
    struct fx f;
    boot_follower_of_2(&f);
    fx_recv(&f, msg_vote(3, 1, 2, 0, 0));
    fx_settle(&f);
    assert_int_equal(sl_raft_term(f.r), 1);
    assert_int_equal(sl_raft_leader(f.r), 2);
    assert_int_equal(f.n_sent, 0);
    fx_recv(&f, msg_prevote(3, 1, 2, 0, 0)); /* nor a pre-vote */
    fx_settle(&f);
    assert_int_equal(f.n_sent, 0);
    fx_free(&f);
}

static void test_follower_in_lease_grants_a_transfer_vote(void **state)
{
    (void)state;
    struct fx f;
    boot_follower_of_2(&f);
    struct sl_raft_msg m = msg_vote(3, 1, 2, 0, 0);
    m.flags = SL_RAFT_FLAG_TRANSFER;
    fx_recv(&f, m);
    fx_settle(&f);
    assert_int_equal(sl_raft_term(f.r), 2);
    assert_true(granted(vote_answer(&f, 3)));
    fx_free(&f);
}

static void test_follower_past_its_lease_accepts_higher_term_vote(void **state)
{
    (void)state;
    struct fx f;
    boot_follower_of_2(&f);
    fx_tick(&f, f.opt.election_ticks); /* an election timeout without the leader */
    fx_settle(&f);
    fx_recv(&f, msg_vote(3, 1, 2, 0, 0));
    fx_settle(&f);
    assert_int_equal(sl_raft_term(f.r), 2);
    assert_true(granted(vote_answer(&f, 3)));
    fx_free(&f);
}

/* ---- leaders stepping down ----------------------------------------------------------------- */

static void test_leader_hearing_from_no_one_steps_down(void **state)
{
    (void)state;
    struct fx f;
    boot_fresh_voter(&f);
    fx_elect(&f);
    uint64_t term = sl_raft_term(f.r);
    /* CheckQuorum runs every election_ticks; the first check after the election still credits
     * the followers (a new leader assumes them active), the second finds them silent. */
    fx_tick(&f, 2 * f.opt.election_ticks);
    assert_int_equal(sl_raft_role(f.r), SL_RAFT_FOLLOWER);
    assert_int_equal(sl_raft_term(f.r), term);
    assert_int_equal(sl_raft_leader(f.r), 0);
    fx_free(&f);
}

static void test_leader_hearing_from_a_majority_keeps_leading(void **state)
{
    (void)state;
    struct fx f;
    boot_fresh_voter(&f);
    fx_elect(&f);
    for (unsigned t = 0; t < 10 * f.opt.election_ticks; t++) {
        fx_tick(&f, 1);
        fx_recv(&f, msg_heartbeat_resp(2, 1, sl_raft_term(f.r)));
        fx_settle(&f);
    }
    assert_int_equal(sl_raft_role(f.r), SL_RAFT_LEADER);
    fx_free(&f);
}

static void test_leader_cut_off_from_majority_steps_down_within_two_check_windows(void **state)
{
    (void)state;
    struct sim_cluster_options o;
    cluster_options(&o, 3, 3, 5);
    struct sim_cluster *c = cluster_new(&o);
    int leader = cluster_step_until_leader(c, 2000);
    assert_true(leader >= 0);
    cluster_run_ms(c, 500);
    assert_int_equal(sim_cluster_leader(c), leader);
    uint64_t term = sl_raft_term(sim_cluster_raft(c, (uint32_t)leader));

    sim_cluster_isolate(c, (uint32_t)leader);
    uint64_t start = sim_cluster_now(c);
    /* The check that follows the cut may still count replies from before it: the one after
     * that must find the quorum gone, so 2 * election_ticks ticks at most. */
    uint64_t window_ms = o.raft.election_ticks * o.tick_us / MS;
    assert_true(cluster_step_until_role(c, (uint32_t)leader, SL_RAFT_FOLLOWER, 2 * window_ms));
    assert_true(sim_cluster_now(c) - start <= 2 * window_ms * MS);
    struct sl_raft *r = sim_cluster_raft(c, (uint32_t)leader);
    assert_int_equal(sl_raft_term(r), term); /* stepping down does not start a term */
    assert_int_equal(sl_raft_leader(r), 0);
    cluster_free(c);
}

static void test_stale_leader_steps_down_on_append_response_with_higher_term(void **state)
{
    (void)state;
    struct fx f;
    boot_fresh_voter(&f);
    fx_elect(&f);
    fx_recv(&f, msg_append_resp(2, 1, 5, 0));
    assert_int_equal(sl_raft_role(f.r), SL_RAFT_FOLLOWER);
    assert_int_equal(sl_raft_term(f.r), 5);
    assert_int_equal(sl_raft_leader(f.r), 0);
    fx_settle(&f);
    assert_int_equal(f.disk.hs.term, 5);
    fx_free(&f);
}

static void test_follower_answers_stale_append_with_its_term(void **state)
{
    (void)state;
    struct fx f;
    boot_voter_with_log(&f); /* term 2 */
    fx_recv(&f, msg_heartbeat(3, 1, 1, 0));
    fx_settle(&f);
    const struct sl_raft_msg *m = fx_find_sent(&f, SL_RAFT_MSG_APPEND_RESP, 3);
    assert_non_null(m);
    assert_int_equal(m->term, 2);
    assert_int_equal(sl_raft_term(f.r), 2);
    assert_int_equal(sl_raft_leader(f.r), 0);
    fx_free(&f);
}

/* ---- randomized timeouts ------------------------------------------------------------------- */

static void test_election_timeouts_are_randomized_in_one_to_two_base_timeouts(void **state)
{
    (void)state;
    unsigned seen[64] = {0};
    unsigned lo = UINT32_MAX, hi = 0;
    for (uint64_t seed = 1; seed <= 300; seed++) {
        struct fx f;
        struct sl_raft_options o;
        fx_options(&o, 1);
        o.random_seed = seed;
        struct sl_raft_config c = config_voters(3);
        fx_boot_new(&f, &o, &c);
        unsigned ticks = fx_tick_while_role(&f, SL_RAFT_FOLLOWER, 1000);
        assert_in_range(ticks, o.election_ticks, 2 * o.election_ticks - 1);
        seen[ticks]++;
        lo = ticks < lo ? ticks : lo;
        hi = ticks > hi ? ticks : hi;
        fx_free(&f);
    }
    /* Every value of the range comes up: the timeout is spread, not fixed. */
    assert_int_equal(lo, 10);
    assert_int_equal(hi, 19);
    for (unsigned t = 10; t < 20; t++) {
        assert_true(seen[t] > 0);
    }
}

static void test_options_without_storage_or_with_absurd_timeouts_are_refused(void **state)
{
    (void)state;
    struct sim_disk d;
    sim_disk_init(&d);
    d.snap.config = config_voters(3);
    struct sl_raft_boot b = sim_disk_boot(&d);
    struct sl_raft_options o;
    struct sl_raft *r = NULL;
    fx_options(&o, 1); /* no storage */
    assert_int_equal(sl_raft_new(&r, &o, &b), SL_EINVAL);
    o.storage = sim_disk_storage(&d);
    o.election_ticks = UINT32_MAX;
    assert_int_equal(sl_raft_new(&r, &o, &b), SL_EINVAL);
    o.election_ticks = 10;
    assert_int_equal(sl_raft_new(&r, &o, &b), SL_OK);
    sl_raft_free(r);
    sim_disk_free(&d);
}

static void test_messages_for_another_group_or_member_are_refused(void **state)
{
    (void)state;
    struct fx f;
    boot_fresh_voter(&f);
    struct sl_raft_msg m = msg_heartbeat(2, 1, 1, 0);
    m.group = FX_GROUP + 1;
    assert_int_equal(sl_raft_step(f.r, &m), SL_EINVAL);
    m.group = FX_GROUP;
    m.to = 3;
    assert_int_equal(sl_raft_step(f.r, &m), SL_EINVAL);
    assert_int_equal(sl_raft_term(f.r), 0); /* nothing changed */
    assert_false(sl_raft_has_update(f.r));
    sl_raft_msg_free(&m);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_voter_elects_itself_only_once_its_vote_is_durable),
        cmocka_unit_test(test_options_without_storage_or_with_absurd_timeouts_are_refused),
        cmocka_unit_test(test_messages_for_another_group_or_member_are_refused),
        cmocka_unit_test(test_follower_timeout_starts_prevote_without_changing_term),
        cmocka_unit_test(test_prevote_quorum_starts_a_real_election),
        cmocka_unit_test(test_prevote_rejected_by_a_majority_returns_to_follower),
        cmocka_unit_test(test_vote_requests_leave_only_once_the_candidates_term_is_durable),
        cmocka_unit_test(test_voter_grants_prevote_without_changing_its_term_or_vote),
        cmocka_unit_test(test_partitioned_node_returning_does_not_raise_term_or_depose_leader),
        cmocka_unit_test(test_vote_refused_to_candidate_with_older_last_term),
        cmocka_unit_test(test_vote_refused_to_candidate_with_shorter_log_of_same_last_term),
        cmocka_unit_test(test_vote_granted_to_candidate_with_log_at_least_as_up_to_date),
        cmocka_unit_test(test_voter_grants_at_most_one_vote_per_term),
        cmocka_unit_test(test_vote_grant_is_held_until_the_vote_is_durable),
        cmocka_unit_test(test_follower_in_lease_ignores_higher_term_vote_without_transfer_flag),
        cmocka_unit_test(test_follower_in_lease_grants_a_transfer_vote),
        cmocka_unit_test(test_follower_past_its_lease_accepts_higher_term_vote),
        cmocka_unit_test(test_leader_hearing_from_no_one_steps_down),
        cmocka_unit_test(test_leader_hearing_from_a_majority_keeps_leading),
        cmocka_unit_test(test_leader_cut_off_from_majority_steps_down_within_two_check_windows),
        cmocka_unit_test(test_stale_leader_steps_down_on_append_response_with_higher_term),
        cmocka_unit_test(test_follower_answers_stale_append_with_its_term),
        cmocka_unit_test(test_election_timeouts_are_randomized_in_one_to_two_base_timeouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
