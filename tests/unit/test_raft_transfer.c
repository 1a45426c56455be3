/* test_raft_transfer.c — leadership transfer (sl_raft_transfer, TIMEOUT_NOW, election.c): the
 * target takes over at a higher term; the leader refuses proposals meanwhile; a lagging target is
 * caught up before it is told to campaign; invalid targets; a transfer that cannot finish is
 * abandoned after an election timeout; the target campaigns at once, past the lease. */
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

/* Member 1, leader of voters {1, 2, 3} with its NOOP committed by member 2; member 3 has not
 * answered its first probe yet. */
static void boot_ready_leader(struct fx *f)
{
    struct sl_raft_options o;
    fx_options(&o, 1);
    struct sl_raft_config c = config_voters(3);
    fx_boot_new(f, &o, &c);
    fx_elect(f);
    fx_ack(f, 2, 1);
    assert_int_equal(sl_raft_commit(f->r), 1);
    fx_clear_sent(f);
}

/* Index in the outbox of the first message of `type` to `to`, or SIZE_MAX. */
static size_t sent_at(const struct fx *f, uint8_t type, uint64_t to)
{
    for (size_t k = 0; k < f->n_sent; k++) {
        if (f->sent[k].type == type && f->sent[k].to == to) {
            return k;
        }
    }
    return SIZE_MAX;
}

/* ---- transfers that finish ----------------------------------------------------------------- */

static void test_transfer_to_an_up_to_date_voter_makes_it_leader_at_a_higher_term(void **state)
{
    (void)state;
    struct sim_cluster_options o;
    cluster_options(&o, 3, 3, 61);
    struct sim_cluster *c = cluster_new(&o);
    int leader = cluster_step_until_ready_leader(c, 2000);
    assert_true(leader >= 0);
    assert_int_equal(sim_cluster_propose(c, (uint32_t)leader, 5, NULL, NULL), SL_OK);
    assert_true(cluster_step_until_acked(c, 5, 1000));
    int target = cluster_follower(c, -1);
    uint64_t target_id = sim_cluster_id(c, (uint32_t)target);
    struct sl_raft *lr = sim_cluster_raft(c, (uint32_t)leader);
    assert_true(
        cluster_step_until_matched(c, (uint32_t)leader, target_id, sl_raft_last_index(lr), 1000));
    uint64_t term = sl_raft_term(lr);

    assert_int_equal(sl_raft_transfer(lr, target_id), SL_OK);
    sim_cluster_drain(c, (uint32_t)leader);
    assert_true(cluster_step_until_role(c, (uint32_t)target, SL_RAFT_LEADER, 1000));
    assert_true(sl_raft_term(sim_cluster_raft(c, (uint32_t)target)) > term);
    assert_int_equal(sim_cluster_leader(c), target);
    cluster_run_ms(c, 100);
    assert_int_equal(sl_raft_role(lr), SL_RAFT_FOLLOWER);
    assert_int_equal(sl_raft_leader(lr), target_id);
    cluster_free(c);
}

static void test_leader_refuses_proposals_while_transferring(void **state)
{
    (void)state;
    struct fx f;
    boot_ready_leader(&f);
    assert_int_equal(sl_raft_transfer(f.r, 3), SL_OK);
    assert_int_equal(fx_propose(&f, 1, 16, 100), SL_EBUSY);
    assert_int_equal(sl_raft_change(f.r, SL_RAFT_ADD_LEARNER, 4, NULL), SL_EBUSY);
    assert_int_equal(sl_raft_transfer(f.r, 2), SL_EBUSY); /* one transfer at a time */
    assert_int_equal(sl_raft_last_index(f.r), 1);
    fx_free(&f);
}

static void test_transfer_to_a_lagging_voter_catches_it_up_first(void **state)
{
    (void)state;
    struct fx f;
    boot_ready_leader(&f);
    assert_int_equal(fx_propose(&f, 3, 16, 100), SL_OK); /* 2..4 */
    fx_settle(&f);
    fx_ack(&f, 2, 4);
    fx_clear_sent(&f);

    assert_int_equal(sl_raft_transfer(f.r, 3), SL_OK);
    fx_settle(&f);
    assert_int_equal(fx_count_sent(&f, SL_RAFT_MSG_TIMEOUT_NOW, 3), 0); /* 3 holds nothing */

    fx_ack(&f, 3, 1); /* the answer to its probe: the leader sends it 2..4 */
    assert_int_equal(fx_count_sent(&f, SL_RAFT_MSG_TIMEOUT_NOW, 3), 0);
    const struct sl_raft_msg *m = fx_find_sent(&f, SL_RAFT_MSG_APPEND, 3);
    assert_non_null(m);
    assert_int_equal(m->index, 1);
    assert_int_equal(m->n_entries, 3);

    fx_ack(&f, 3, 4); /* caught up: now it may campaign */
    assert_int_equal(fx_count_sent(&f, SL_RAFT_MSG_TIMEOUT_NOW, 3), 1);
    assert_true(sent_at(&f, SL_RAFT_MSG_APPEND, 3) < sent_at(&f, SL_RAFT_MSG_TIMEOUT_NOW, 3));
    fx_free(&f);
}

static void test_transfer_to_a_restarted_lagging_voter_completes(void **state)
{
    (void)state;
    struct sim_cluster_options o;
    cluster_options(&o, 3, 3, 63);
    struct sim_cluster *c = cluster_new(&o);
    int leader = cluster_step_until_ready_leader(c, 2000);
    assert_true(leader >= 0);
    int target = cluster_follower(c, -1);
    sim_cluster_crash(c, (uint32_t)target);
    uint64_t first = 0;
    assert_int_equal(sim_cluster_propose(c, (uint32_t)leader, 20, &first, NULL), SL_OK);
    assert_true(cluster_step_until_acked(c, 20, 1000));
    sim_cluster_restart(c, (uint32_t)target);

    struct sl_raft *lr = sim_cluster_raft(c, (uint32_t)leader);
    assert_int_equal(sl_raft_transfer(lr, sim_cluster_id(c, (uint32_t)target)), SL_OK);
    sim_cluster_drain(c, (uint32_t)leader);
    assert_true(cluster_step_until_role(c, (uint32_t)target, SL_RAFT_LEADER, 1000));
    assert_true(sl_raft_last_index(sim_cluster_raft(c, (uint32_t)target)) > first + 19);
    cluster_free(c); /* leader completeness is checked on every new leader */
}

/* ---- transfers that cannot start or finish ------------------------------------------------- */

static void test_transfer_to_a_non_voter_or_self_is_invalid(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    struct sl_raft_config c = config_voters(2);
    config_add(&c, 3, SL_RAFT_LEARNER);
    fx_boot_new(&f, &o, &c);
    fx_elect(&f);
    assert_int_equal(sl_raft_transfer(f.r, 3), SL_EINVAL); /* a learner */
    assert_int_equal(sl_raft_transfer(f.r, 9), SL_EINVAL); /* not a member */
    assert_int_equal(sl_raft_transfer(f.r, 1), SL_EINVAL); /* itself */
    assert_int_equal(fx_propose(&f, 1, 16, 100), SL_OK);   /* no transfer was started */
    fx_free(&f);
}

static void test_transfer_on_a_follower_returns_not_leader(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    struct sl_raft_config c = config_voters(3);
    fx_boot_new(&f, &o, &c);
    assert_int_equal(sl_raft_transfer(f.r, 2), SL_ENOTLEADER);
    fx_free(&f);
}

static void test_transfer_that_cannot_finish_is_abandoned_after_an_election_timeout(void **state)
{
    (void)state;
    struct fx f;
    boot_ready_leader(&f);
    assert_int_equal(sl_raft_transfer(f.r, 3), SL_OK); /* member 3 never answers */
    for (unsigned t = 1; t < f.opt.election_ticks; t++) {
        fx_tick(&f, 1);
        fx_recv(&f, msg_heartbeat_resp(2, 1, sl_raft_term(f.r))); /* the quorum holds */
        fx_settle(&f);
        assert_int_equal(fx_propose(&f, 1, 16, 100), SL_EBUSY);
    }
    fx_tick(&f, 1);
    assert_int_equal(sl_raft_role(f.r), SL_RAFT_LEADER);
    assert_int_equal(fx_propose(&f, 1, 16, 100), SL_OK);
    assert_int_equal(sl_raft_transfer(f.r, 2), SL_OK); /* and a new transfer may start */
    fx_free(&f);
}

/* ---- the target's side --------------------------------------------------------------------- */

static void test_timeout_now_from_the_leader_starts_an_election_at_once(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 2);
    struct sl_raft_config c = config_voters(3);
    fx_boot_new(&f, &o, &c);
    fx_recv(&f, msg_heartbeat(1, 2, 1, 0)); /* following 1, within the lease */
    fx_settle(&f);
    fx_clear_sent(&f);
    fx_recv(&f, msg(SL_RAFT_MSG_TIMEOUT_NOW, 1, 2, 1));
    assert_int_equal(sl_raft_role(f.r), SL_RAFT_CANDIDATE); /* no pre-vote round */
    assert_int_equal(sl_raft_term(f.r), 2);
    fx_settle(&f);
    for (uint64_t to = 1; to <= 3; to += 2) {
        const struct sl_raft_msg *m = fx_find_sent(&f, SL_RAFT_MSG_VOTE, to);
        assert_non_null(m);
        assert_true(m->flags & SL_RAFT_FLAG_TRANSFER); /* so voters in their lease answer */
    }
    fx_free(&f);
}

static void test_timeout_now_from_another_than_the_leader_is_ignored(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 2);
    struct sl_raft_config c = config_voters(3);
    fx_boot_new(&f, &o, &c);
    fx_recv(&f, msg_heartbeat(1, 2, 1, 0));
    fx_settle(&f);
    fx_recv(&f, msg(SL_RAFT_MSG_TIMEOUT_NOW, 3, 2, 1));
    assert_int_equal(sl_raft_role(f.r), SL_RAFT_FOLLOWER);
    assert_int_equal(sl_raft_term(f.r), 1);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transfer_to_an_up_to_date_voter_makes_it_leader_at_a_higher_term),
        cmocka_unit_test(test_leader_refuses_proposals_while_transferring),
        cmocka_unit_test(test_transfer_to_a_lagging_voter_catches_it_up_first),
        cmocka_unit_test(test_transfer_to_a_restarted_lagging_voter_completes),
        cmocka_unit_test(test_transfer_to_a_non_voter_or_self_is_invalid),
        cmocka_unit_test(test_transfer_on_a_follower_returns_not_leader),
        cmocka_unit_test(test_transfer_that_cannot_finish_is_abandoned_after_an_election_timeout),
        cmocka_unit_test(test_timeout_now_from_the_leader_starts_an_election_at_once),
        cmocka_unit_test(test_timeout_now_from_another_than_the_leader_is_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
