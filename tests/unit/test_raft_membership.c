/* test_raft_membership.c — one-server membership changes (core/raft/change.c and the
 * configuration handling of raft.c): learners receive the log but neither vote nor count toward a
 * quorum; promotion needs the learner caught up; removal shrinks the quorum; one change at a time,
 * and none before the leader committed its NOOP; the errors of sl_raft_change; a configuration
 * takes effect when appended and is undone when truncated; a removed member does not disrupt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "raft_fixture.h"

#include "core/errors.h"
#include "core/raft/membership.h"

#include <string.h>

/* ---- helpers ------------------------------------------------------------------------------- */

/* {1 voter, 2 voter, 3 learner} */
static struct sl_raft_config two_voters_and_a_learner(void)
{
    struct sl_raft_config c = config_voters(2);
    config_add(&c, 3, SL_RAFT_LEARNER);
    return c;
}

/* Member 1, leader of `c` with its NOOP (index 1) committed by member 2. */
static void boot_ready_leader(struct fx *f, const struct sl_raft_options *o,
                              const struct sl_raft_config *c)
{
    fx_boot_new(f, o, c);
    fx_elect(f);
    if (sl_raft_config_voters(c) > 1) {
        fx_ack(f, 2, 1);
    }
    assert_int_equal(sl_raft_commit(f->r), 1);
    fx_clear_sent(f);
}

static int change(struct fx *f, enum sl_raft_change_op op, uint64_t id)
{
    int rc = sl_raft_change(f->r, op, id, NULL);
    fx_settle(f);
    return rc;
}

static const struct sl_raft_member *member(struct sl_raft *r, uint64_t id)
{
    return sl_raft_config_find(sl_raft_config(r), id);
}

/* An APPEND from `from` carrying one CONFIG entry (index prev + 1) with configuration `c`. */
static struct sl_raft_msg append_config(uint64_t from, uint64_t to, uint64_t term, uint64_t prev,
                                        uint64_t prev_term, const struct sl_raft_config *c)
{
    struct sl_raft_msg m = msg_append(from, to, term, prev, prev_term, 0, NULL, 0);
    struct sl_buf *b = NULL;
    assert_int_equal(sl_raft_config_encode(c, &b), SL_OK);
    msg_append_entry(&m, term, SL_RAFT_ENTRY_CONFIG, b);
    sl_buf_unref(b);
    return m;
}

/* Adds a new node as a learner through the leader; returns its slot. */
static uint32_t cluster_add_learner(struct sim_cluster *c, uint32_t leader)
{
    int slot = sim_cluster_add_node(c);
    assert_true(slot >= 0);
    uint64_t id = sim_cluster_id(c, (uint32_t)slot);
    assert_int_equal(sl_raft_change(sim_cluster_raft(c, leader), SL_RAFT_ADD_LEARNER, id, NULL),
                     SL_OK);
    sim_cluster_drain(c, leader);
    return (uint32_t)slot;
}

/* ---- learners ------------------------------------------------------------------------------ */

static void test_added_learner_receives_the_log(void **state)
{
    (void)state;
    struct sim_cluster_options o;
    cluster_options(&o, 3, 4, 51);
    struct sim_cluster *c = cluster_new(&o);
    int leader = cluster_step_until_ready_leader(c, 2000);
    assert_true(leader >= 0);
    uint64_t first = 0;
    assert_int_equal(sim_cluster_propose(c, (uint32_t)leader, 10, &first, NULL), SL_OK);
    assert_true(cluster_step_until_acked(c, 10, 1000));

    uint32_t learner = cluster_add_learner(c, (uint32_t)leader);
    uint64_t id = sim_cluster_id(c, learner);
    assert_true(cluster_step_until_applied(c, learner, first + 9, 2000));
    struct sl_raft *r = sim_cluster_raft(c, learner);
    assert_non_null(member(r, id));
    assert_int_equal(member(r, id)->role, SL_RAFT_LEARNER);
    assert_int_equal(sl_raft_config_voters(sl_raft_config(r)), 3);
    assert_int_equal(sl_raft_role(r), SL_RAFT_FOLLOWER);
    cluster_free(c);
}

static void test_learner_does_not_count_toward_the_commit_quorum(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    struct sl_raft_config c = two_voters_and_a_learner();
    fx_boot_new(&f, &o, &c);
    fx_elect(&f); /* NOOP at 1, durable on the leader */
    fx_ack(&f, 3, 1);
    assert_int_equal(sl_raft_match(f.r, 3), 1);
    assert_int_equal(sl_raft_commit(f.r), 0); /* leader + learner: not 2 of 2 voters */
    fx_ack(&f, 2, 1);
    assert_int_equal(sl_raft_commit(f.r), 1);
    fx_free(&f);
}

static void test_learner_is_not_asked_to_vote(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    struct sl_raft_config c = two_voters_and_a_learner();
    fx_boot_new(&f, &o, &c);
    fx_tick_while_role(&f, SL_RAFT_FOLLOWER, 100);
    fx_settle(&f);
    assert_int_equal(fx_count_sent(&f, SL_RAFT_MSG_PREVOTE, 2), 1);
    assert_int_equal(fx_count_sent(&f, SL_RAFT_MSG_PREVOTE, 3), 0);
    fx_free(&f);
}

static void test_vote_from_a_learner_is_not_counted(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    struct sl_raft_config c = two_voters_and_a_learner();
    fx_boot_new(&f, &o, &c);
    fx_tick_while_role(&f, SL_RAFT_FOLLOWER, 100);
    fx_settle(&f);
    fx_recv(&f, msg_prevote_resp(3, 1, 1, true));
    assert_int_equal(sl_raft_role(f.r), SL_RAFT_PRECANDIDATE); /* still 1 of 2 voters */
    fx_recv(&f, msg_prevote_resp(2, 1, 1, true));
    assert_int_equal(sl_raft_role(f.r), SL_RAFT_CANDIDATE);
    fx_free(&f);
}

static void test_learner_never_campaigns(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 3);
    struct sl_raft_config c = two_voters_and_a_learner();
    fx_boot_new(&f, &o, &c);
    fx_tick(&f, 10 * o.election_ticks);
    fx_settle(&f);
    assert_int_equal(sl_raft_role(f.r), SL_RAFT_FOLLOWER);
    assert_int_equal(sl_raft_term(f.r), 0);
    assert_int_equal(f.n_sent, 0);
    fx_free(&f);
}

/* ---- promotion ----------------------------------------------------------------------------- */

/* Leader of {1 V, 2 V, 3 L} with entries up to 6 committed by member 2; learner 3 has nothing. */
static void boot_leader_with_lagging_learner(struct fx *f)
{
    struct sl_raft_options o;
    fx_options(&o, 1);
    o.promote_lag_entries_max = 2;
    struct sl_raft_config c = two_voters_and_a_learner();
    boot_ready_leader(f, &o, &c);
    assert_int_equal(fx_propose(f, 5, 16, 100), SL_OK);
    fx_settle(f);
    fx_ack(f, 2, 6);
    assert_int_equal(sl_raft_commit(f->r), 6);
}

static void test_promote_is_refused_while_the_learner_lags(void **state)
{
    (void)state;
    struct fx f;
    boot_leader_with_lagging_learner(&f);
    fx_ack(&f, 3, 3); /* 3 behind the commit index, the limit is 2 */
    assert_int_equal(change(&f, SL_RAFT_PROMOTE, 3), SL_ENOTCAUGHTUP);
    assert_int_equal(member(f.r, 3)->role, SL_RAFT_LEARNER);
    assert_int_equal(sl_raft_last_index(f.r), 6);
    fx_free(&f);
}

static void test_promote_succeeds_once_the_learner_is_caught_up(void **state)
{
    (void)state;
    struct fx f;
    boot_leader_with_lagging_learner(&f);
    fx_ack(&f, 3, 4); /* 2 behind: within the limit */
    uint64_t index = 0;
    assert_int_equal(sl_raft_change(f.r, SL_RAFT_PROMOTE, 3, &index), SL_OK);
    assert_int_equal(index, 7);
    assert_int_equal(member(f.r, 3)->role, SL_RAFT_VOTER);
    assert_int_equal(sl_raft_config_voters(sl_raft_config(f.r)), 3);
    fx_free(&f);
}

static void test_promoted_learner_becomes_a_voter_on_every_member(void **state)
{
    (void)state;
    struct sim_cluster_options o;
    cluster_options(&o, 3, 4, 53);
    o.raft.promote_lag_entries_max = 2;
    struct sim_cluster *c = cluster_new(&o);
    int leader = cluster_step_until_ready_leader(c, 2000);
    assert_true(leader >= 0);
    assert_int_equal(sim_cluster_propose(c, (uint32_t)leader, 20, NULL, NULL), SL_OK);
    assert_true(cluster_step_until_acked(c, 20, 1000));
    /* The learner joins but hears nothing from the leader for now: it lags. */
    int slot = sim_cluster_add_node(c);
    assert_true(slot >= 0);
    uint32_t learner = (uint32_t)slot;
    uint64_t id = sim_cluster_id(c, learner);
    sim_cluster_cut(c, (uint32_t)leader, learner, true);
    struct sl_raft *lr = sim_cluster_raft(c, (uint32_t)leader);
    assert_int_equal(sl_raft_change(lr, SL_RAFT_ADD_LEARNER, id, NULL), SL_OK);
    sim_cluster_drain(c, (uint32_t)leader);
    assert_int_equal(sl_raft_change(lr, SL_RAFT_PROMOTE, id, NULL), SL_EBUSY); /* uncommitted */
    assert_true(cluster_step_until_config_committed(c, (uint32_t)leader, 1000));
    assert_int_equal(sl_raft_change(lr, SL_RAFT_PROMOTE, id, NULL), SL_ENOTCAUGHTUP);

    sim_cluster_cut(c, (uint32_t)leader, learner, false);
    assert_true(cluster_step_until_matched(c, (uint32_t)leader, id, sl_raft_commit(lr), 2000));
    assert_int_equal(sl_raft_change(lr, SL_RAFT_PROMOTE, id, NULL), SL_OK);
    sim_cluster_drain(c, (uint32_t)leader);
    assert_true(cluster_step_until_config_committed(c, (uint32_t)leader, 1000));
    cluster_run_ms(c, 100);
    for (uint32_t s = 0; s < 4; s++) {
        const struct sl_raft_config *cfg = sl_raft_config(sim_cluster_raft(c, s));
        assert_int_equal(sl_raft_config_voters(cfg), 4);
        assert_true(sl_raft_config_is_voter(cfg, id));
    }
    cluster_free(c);
}

/* ---- removal ------------------------------------------------------------------------------- */

static void test_removing_a_voter_shrinks_the_quorum(void **state)
{
    (void)state;
    struct sim_cluster_options o;
    cluster_options(&o, 4, 4, 55);
    struct sim_cluster *c = cluster_new(&o);
    int leader = cluster_step_until_ready_leader(c, 2000);
    assert_true(leader >= 0);
    int gone = cluster_follower(c, -1), down = cluster_follower(c, gone);
    uint64_t gone_id = sim_cluster_id(c, (uint32_t)gone);
    struct sl_raft *lr = sim_cluster_raft(c, (uint32_t)leader);
    assert_int_equal(sl_raft_change(lr, SL_RAFT_REMOVE, gone_id, NULL), SL_OK);
    sim_cluster_drain(c, (uint32_t)leader);
    assert_true(cluster_step_until_config_committed(c, (uint32_t)leader, 1000));
    assert_null(member(lr, gone_id));
    assert_int_equal(sl_raft_config_voters(sl_raft_config(lr)), 3);
    sim_cluster_remove_node(c, (uint32_t)gone);

    /* Two of the three remaining voters are a majority now (two of four were not). */
    sim_cluster_crash(c, (uint32_t)down);
    assert_int_equal(sim_cluster_propose(c, (uint32_t)leader, 5, NULL, NULL), SL_OK);
    assert_true(cluster_step_until_acked(c, 5, 1000));
    assert_int_equal(sim_cluster_leader(c), leader);
    cluster_free(c);
}

static void test_removed_node_does_not_disrupt_the_cluster(void **state)
{
    (void)state;
    struct sim_cluster_options o;
    cluster_options(&o, 3, 3, 57);
    struct sim_cluster *c = cluster_new(&o);
    int leader = cluster_step_until_ready_leader(c, 2000);
    assert_true(leader >= 0);
    int gone = cluster_follower(c, -1);
    struct sl_raft *lr = sim_cluster_raft(c, (uint32_t)leader);
    uint64_t term = sl_raft_term(lr);

    /* Cut off first, so that it never learns it was removed and keeps trying to campaign. */
    sim_cluster_isolate(c, (uint32_t)gone);
    assert_int_equal(sl_raft_change(lr, SL_RAFT_REMOVE, sim_cluster_id(c, (uint32_t)gone), NULL),
                     SL_OK);
    sim_cluster_drain(c, (uint32_t)leader);
    assert_true(cluster_step_until_config_committed(c, (uint32_t)leader, 1000));
    cluster_run_ms(c, 1000);
    assert_int_equal(sl_raft_role(sim_cluster_raft(c, (uint32_t)gone)), SL_RAFT_PRECANDIDATE);

    sim_cluster_heal(c);
    cluster_run_ms(c, 3000);
    assert_int_equal(sim_cluster_leader(c), leader);
    assert_int_equal(sl_raft_term(lr), term);
    assert_int_equal(sl_raft_term(sim_cluster_raft(c, (uint32_t)gone)), term);
    assert_int_equal(sim_cluster_propose(c, (uint32_t)leader, 5, NULL, NULL), SL_OK);
    assert_true(cluster_step_until_acked(c, 5, 1000));
    cluster_free(c);
}

static void test_member_that_learns_its_removal_stops_campaigning(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 3);
    struct sl_raft_config c = config_voters(3);
    fx_boot_new(&f, &o, &c);
    struct sl_raft_config without_3 = config_voters(2);
    fx_recv(&f, append_config(1, 3, 1, 0, 0, &without_3));
    fx_settle(&f);
    fx_clear_sent(&f);
    fx_tick(&f, 10 * o.election_ticks);
    fx_settle(&f);
    assert_int_equal(sl_raft_role(f.r), SL_RAFT_FOLLOWER);
    assert_int_equal(f.n_sent, 0);
    fx_free(&f);
}

/* ---- the rules of sl_raft_change ----------------------------------------------------------- */

static void test_second_change_is_busy_until_the_first_commits(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    struct sl_raft_config c = config_voters(3);
    boot_ready_leader(&f, &o, &c);
    assert_int_equal(change(&f, SL_RAFT_ADD_LEARNER, 4), SL_OK);
    assert_int_equal(change(&f, SL_RAFT_ADD_LEARNER, 5), SL_EBUSY);
    assert_int_equal(change(&f, SL_RAFT_REMOVE, 3), SL_EBUSY);
    assert_int_equal(sl_raft_last_index(f.r), 2);
    fx_ack(&f, 2, 2);
    assert_int_equal(change(&f, SL_RAFT_ADD_LEARNER, 5), SL_OK);
    fx_free(&f);
}

static void test_change_is_busy_before_the_leader_commits_its_noop(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    struct sl_raft_config c = config_voters(3);
    fx_boot_new(&f, &o, &c);
    fx_elect(&f);
    assert_int_equal(change(&f, SL_RAFT_ADD_LEARNER, 4), SL_EBUSY);
    assert_int_equal(sl_raft_last_index(f.r), 1);
    fx_ack(&f, 2, 1);
    assert_int_equal(change(&f, SL_RAFT_ADD_LEARNER, 4), SL_OK);
    fx_free(&f);
}

static void test_change_on_a_follower_returns_not_leader(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    struct sl_raft_config c = config_voters(3);
    fx_boot_new(&f, &o, &c);
    assert_int_equal(change(&f, SL_RAFT_ADD_LEARNER, 4), SL_ENOTLEADER);
    fx_free(&f);
}

static void test_removing_the_leader_is_invalid(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    struct sl_raft_config c = config_voters(3);
    boot_ready_leader(&f, &o, &c);
    assert_int_equal(change(&f, SL_RAFT_REMOVE, 1), SL_EINVAL);
    assert_int_equal(sl_raft_last_index(f.r), 1);
    assert_non_null(member(f.r, 1));
    fx_free(&f);
}

static void test_change_of_an_unknown_or_present_member_is_invalid(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    struct sl_raft_config c = config_voters(3);
    boot_ready_leader(&f, &o, &c);
    assert_int_equal(change(&f, SL_RAFT_ADD_LEARNER, 2), SL_EINVAL); /* already a member */
    assert_int_equal(change(&f, SL_RAFT_ADD_LEARNER, 0), SL_EINVAL); /* ids are never 0 */
    assert_int_equal(change(&f, SL_RAFT_PROMOTE, 2), SL_EINVAL);     /* already a voter */
    assert_int_equal(change(&f, SL_RAFT_PROMOTE, 9), SL_EINVAL);     /* unknown */
    assert_int_equal(change(&f, SL_RAFT_REMOVE, 9), SL_EINVAL);      /* unknown */
    assert_int_equal(sl_raft_last_index(f.r), 1);
    fx_free(&f);
}

static void test_adding_past_members_max_is_refused_with_elimit(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    struct sl_raft_config c = config_voters(1);
    for (uint64_t id = 2; id <= SL_RAFT_MEMBERS_MAX; id++) {
        config_add(&c, id, SL_RAFT_LEARNER);
    }
    boot_ready_leader(&f, &o, &c); /* the only voter: its NOOP commits alone */
    assert_int_equal(change(&f, SL_RAFT_ADD_LEARNER, 100), SL_ELIMIT);
    assert_int_equal(sl_raft_last_index(f.r), 1);
    assert_int_equal(change(&f, SL_RAFT_REMOVE, 2), SL_OK); /* room again once one leaves */
    assert_int_equal(change(&f, SL_RAFT_ADD_LEARNER, 100), SL_OK);
    assert_int_equal(sl_raft_config(f.r)->n, SL_RAFT_MEMBERS_MAX);
    fx_free(&f);
}

/* ---- when a configuration is in force ------------------------------------------------------ */

static void test_leader_uses_a_new_configuration_as_soon_as_it_is_appended(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    struct sl_raft_config c = config_voters(3);
    boot_ready_leader(&f, &o, &c);
    uint64_t index = 0;
    assert_int_equal(sl_raft_change(f.r, SL_RAFT_ADD_LEARNER, 4, &index), SL_OK);
    assert_int_equal(sl_raft_commit(f.r), 1); /* not committed */
    assert_int_equal(sl_raft_config_index(f.r), index);
    assert_non_null(member(f.r, 4));
    fx_settle(&f);
    assert_non_null(fx_find_sent(&f, SL_RAFT_MSG_APPEND, 4)); /* replicating to it already */
    fx_free(&f);
}

static void test_follower_uses_a_configuration_as_soon_as_it_is_appended(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    struct sl_raft_config c = config_voters(3);
    fx_boot_new(&f, &o, &c);
    struct sl_raft_config with_4 = config_voters(3);
    config_add(&with_4, 4, SL_RAFT_LEARNER);
    fx_recv(&f, append_config(2, 1, 1, 0, 0, &with_4));
    assert_int_equal(sl_raft_commit(f.r), 0);
    assert_int_equal(sl_raft_config_index(f.r), 1);
    assert_int_equal(sl_raft_config(f.r)->n, 4);
    assert_non_null(member(f.r, 4));
    fx_free(&f);
}

static void test_configuration_is_undone_when_its_entry_is_truncated(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    struct sl_raft_config c = config_voters(3);
    fx_boot_new(&f, &o, &c);
    struct sl_raft_config with_4 = config_voters(3);
    config_add(&with_4, 4, SL_RAFT_LEARNER);
    fx_recv(&f, append_config(2, 1, 1, 0, 0, &with_4));
    fx_settle(&f);
    assert_int_equal(sl_raft_config(f.r)->n, 4);

    /* A leader of term 2 never had that entry: index 1 is replaced. */
    fx_recv(&f, msg_append(3, 1, 2, 0, 0, 0, (uint64_t[]){2}, 1));
    assert_int_equal(sl_raft_term_at(f.r, 1), 2);
    assert_int_equal(sl_raft_config_index(f.r), 0);
    assert_int_equal(sl_raft_config(f.r)->n, 3);
    assert_null(member(f.r, 4));
    fx_settle(&f);
    fx_free(&f);
}

static void test_promote_refuses_a_learner_that_never_answered(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    struct sl_raft_config c = config_voters(1);
    boot_ready_leader(&f, &o, &c);
    assert_int_equal(change(&f, SL_RAFT_ADD_LEARNER, 2), SL_OK); /* committed by 1 alone */
    assert_int_equal(sl_raft_commit(f.r), sl_raft_config_index(f.r));
    /* Well within promote_lag_entries_max, but it never said a word: as a voter it would make
     * the quorum 2 of 2 and could stall the group for good. */
    assert_int_equal(change(&f, SL_RAFT_PROMOTE, 2), SL_ENOTCAUGHTUP);
    fx_ack(&f, 2, sl_raft_last_index(f.r));
    assert_int_equal(change(&f, SL_RAFT_PROMOTE, 2), SL_OK);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_added_learner_receives_the_log),
        cmocka_unit_test(test_promote_refuses_a_learner_that_never_answered),
        cmocka_unit_test(test_learner_does_not_count_toward_the_commit_quorum),
        cmocka_unit_test(test_learner_is_not_asked_to_vote),
        cmocka_unit_test(test_vote_from_a_learner_is_not_counted),
        cmocka_unit_test(test_learner_never_campaigns),
        cmocka_unit_test(test_promote_is_refused_while_the_learner_lags),
        cmocka_unit_test(test_promote_succeeds_once_the_learner_is_caught_up),
        cmocka_unit_test(test_promoted_learner_becomes_a_voter_on_every_member),
        cmocka_unit_test(test_removing_a_voter_shrinks_the_quorum),
        cmocka_unit_test(test_removed_node_does_not_disrupt_the_cluster),
        cmocka_unit_test(test_member_that_learns_its_removal_stops_campaigning),
        cmocka_unit_test(test_second_change_is_busy_until_the_first_commits),
        cmocka_unit_test(test_change_is_busy_before_the_leader_commits_its_noop),
        cmocka_unit_test(test_change_on_a_follower_returns_not_leader),
        cmocka_unit_test(test_removing_the_leader_is_invalid),
        cmocka_unit_test(test_change_of_an_unknown_or_present_member_is_invalid),
        cmocka_unit_test(test_adding_past_members_max_is_refused_with_elimit),
        cmocka_unit_test(test_leader_uses_a_new_configuration_as_soon_as_it_is_appended),
        cmocka_unit_test(test_follower_uses_a_configuration_as_soon_as_it_is_appended),
        cmocka_unit_test(test_configuration_is_undone_when_its_entry_is_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
