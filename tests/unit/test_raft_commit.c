/* test_raft_commit.c — the commit rule and applying (core/raft/replication.c, raft.c): a majority
 * of voters, the leader's own copy counted once durable, only entries of the leader's term
 * committed by counting (Figure 8 of the Raft paper), older entries committed with the new
 * leader's NOOP; committed entries handed out in order, once, up to min(commit, durable); the
 * proposal errors; and a cluster acknowledging and applying proposals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "raft_fixture.h"

#include "core/errors.h"

#include <string.h>

/* ---- helpers ------------------------------------------------------------------------------- */

static void boot_leader_of(struct fx *f, const struct sl_raft_options *o, uint32_t voters)
{
    struct sl_raft_config c = config_voters(voters);
    fx_boot_new(f, o, &c);
    fx_elect(f);
}

static void boot_follower(struct fx *f, const struct sl_raft_options *o)
{
    struct sl_raft_config c = config_voters(3);
    fx_boot_new(f, o, &c);
}

/* ---- the commit rule ----------------------------------------------------------------------- */

static void test_leader_commits_only_with_a_majority_of_voters(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    boot_leader_of(&f, &o, 5); /* NOOP at 1, durable on the leader */
    assert_int_equal(sl_raft_durable(f.r), 1);
    assert_int_equal(sl_raft_commit(f.r), 0);
    fx_ack(&f, 2, 1);
    assert_int_equal(sl_raft_commit(f.r), 0); /* 2 of 5 */
    fx_ack(&f, 3, 1);
    assert_int_equal(sl_raft_commit(f.r), 1); /* 3 of 5 */
    fx_free(&f);
}

static void test_leader_counts_its_own_entry_only_once_durable(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    boot_leader_of(&f, &o, 3);
    fx_ack(&f, 2, 1);
    assert_int_equal(sl_raft_commit(f.r), 1);

    assert_int_equal(fx_propose(&f, 1, 16, 100), SL_OK); /* index 2 */
    struct sl_raft_update u;
    fx_take(&f, &u); /* the leader's write of 2, not durable yet */
    fx_recv(&f, msg_append_resp(2, 1, sl_raft_term(f.r), 2));
    assert_int_equal(sl_raft_commit(f.r), 1); /* member 2 alone is not a majority */
    fx_persist(&f, &u);
    assert_int_equal(sl_raft_commit(f.r), 2);
    fx_absorb(&f, &u);
    fx_free(&f);
}

/* Member 1 of {1, 2, 3} restarting with (1, term 1) committed and (2, term 2) not, in term 3,
 * then elected leader of term 4: its NOOP is (3, term 4). */
static void boot_leader_over_old_entry(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    sim_disk_init(&f->disk);
    f->disk.snap.config = config_voters(3);
    disk_put(&f->disk, 1);
    disk_put(&f->disk, 2);
    f->disk.hs.term = 3;
    f->disk.hs.commit = 1;
    struct sl_raft_options o;
    fx_options(&o, 1);
    fx_boot_disk(f, &o);
    fx_elect(f);
    assert_int_equal(sl_raft_term(f->r), 4);
    assert_int_equal(sl_raft_last_index(f->r), 3);
    assert_int_equal(sl_raft_durable(f->r), 3);
    assert_int_equal(sl_raft_commit(f->r), 1);
}

static void test_leader_does_not_commit_an_older_term_entry_by_counting_replicas(void **state)
{
    (void)state;
    struct fx f;
    boot_leader_over_old_entry(&f);
    /* Every member holds (2, term 2): in Figure 8 such an entry can still be overwritten by a
     * leader of term 3 that never saw it, so counting replicas must not commit it. */
    fx_ack(&f, 2, 2);
    fx_ack(&f, 3, 2);
    assert_int_equal(sl_raft_match(f.r, 2), 2);
    assert_int_equal(sl_raft_match(f.r, 3), 2);
    assert_int_equal(sl_raft_commit(f.r), 1);
    assert_int_equal(f.applied, 1);
    fx_free(&f);
}

static void test_older_term_entry_commits_together_with_the_new_leaders_noop(void **state)
{
    (void)state;
    struct fx f;
    boot_leader_over_old_entry(&f);
    fx_ack(&f, 2, 2);
    fx_recv(&f, msg_append_resp(2, 1, 4, 3)); /* the NOOP reaches a majority */
    assert_int_equal(sl_raft_commit(f.r), 3);
    struct sl_raft_update u;
    fx_take(&f, &u);
    assert_int_equal(u.n_committed, 2);
    assert_int_equal(u.committed[0].index, 2);
    assert_int_equal(u.committed[0].term, 2);
    assert_int_equal(u.committed[1].index, 3);
    assert_int_equal(u.committed[1].term, 4);
    assert_int_equal(u.committed[1].type, SL_RAFT_ENTRY_NOOP);
    fx_persist(&f, &u);
    fx_absorb(&f, &u);
    fx_free(&f);
}

/* ---- handing out committed entries --------------------------------------------------------- */

static void test_committed_entries_are_handed_out_in_order_once(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    boot_follower(&f, &o);
    fx_recv(&f, msg_append(2, 1, 1, 0, 0, 3, (uint64_t[]){1, 1, 1, 1, 1}, 5));
    fx_settle(&f); /* fx_absorb checks: index order, no repeats */
    assert_int_equal(f.applied, 3);
    assert_int_equal(f.n_applied, 3);
    fx_recv(&f, msg_heartbeat(2, 1, 1, 5));
    fx_settle(&f);
    assert_int_equal(f.applied, 5);
    assert_int_equal(f.n_applied, 5);
    fx_recv(&f, msg_heartbeat(2, 1, 1, 5)); /* nothing new */
    fx_recv(&f, msg_append(2, 1, 1, 0, 0, 5, (uint64_t[]){1, 1, 1, 1, 1}, 5));
    fx_settle(&f);
    assert_int_equal(f.n_applied, 5);
    assert_int_equal(sl_raft_applied(f.r), 5);
    fx_free(&f);
}

static void test_entries_are_applied_only_up_to_the_durable_index(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    boot_follower(&f, &o);
    fx_recv(&f, msg_append(2, 1, 1, 0, 0, 3, (uint64_t[]){1, 1, 1}, 3));
    assert_int_equal(sl_raft_commit(f.r), 3);
    struct sl_raft_update u;
    fx_take(&f, &u);
    assert_int_equal(u.n_entries, 3);
    assert_int_equal(u.n_committed, 0); /* committed, but not yet on this member's disk */
    fx_persist(&f, &u);
    fx_absorb(&f, &u);
    fx_take(&f, &u);
    assert_int_equal(u.n_committed, 3);
    fx_absorb(&f, &u);
    assert_int_equal(f.applied, 3);
    fx_free(&f);
}

static void test_leader_applies_only_entries_it_holds_durably(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    boot_leader_of(&f, &o, 3);
    fx_ack(&f, 2, 1);
    assert_int_equal(f.applied, 1);
    assert_int_equal(fx_propose(&f, 1, 16, 100), SL_OK); /* index 2 */
    struct sl_raft_update first;
    fx_take(&f, &first);
    fx_recv(&f, msg_append_resp(2, 1, sl_raft_term(f.r), 2));
    fx_recv(&f, msg_append_resp(3, 1, sl_raft_term(f.r), 2));
    assert_int_equal(sl_raft_commit(f.r), 2); /* the followers alone are a majority */
    struct sl_raft_update u;
    fx_take(&f, &u);
    assert_int_equal(u.n_committed, 0); /* but the leader's own copy is not durable yet */
    fx_persist(&f, &first);
    fx_persist(&f, &u);
    fx_absorb(&f, &first);
    fx_absorb(&f, &u);
    fx_settle(&f);
    assert_int_equal(f.applied, 2);
    fx_free(&f);
}

static void test_apply_batches_are_bounded_by_apply_entries_max(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    o.apply_entries_max = 2;
    boot_follower(&f, &o);
    fx_recv(&f, msg_append(2, 1, 1, 0, 0, 5, (uint64_t[]){1, 1, 1, 1, 1}, 5));
    struct sl_raft_update u;
    fx_take(&f, &u);
    fx_persist(&f, &u);
    fx_absorb(&f, &u);
    size_t batches[3];
    for (int k = 0; k < 3; k++) {
        fx_take(&f, &u);
        batches[k] = u.n_committed;
        fx_absorb(&f, &u);
    }
    assert_int_equal(batches[0], 2);
    assert_int_equal(batches[1], 2);
    assert_int_equal(batches[2], 1);
    assert_false(sl_raft_has_update(f.r));
    fx_free(&f);
}

/* ---- proposals ----------------------------------------------------------------------------- */

static void test_propose_on_a_follower_returns_not_leader(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    boot_follower(&f, &o);
    fx_recv(&f, msg_heartbeat(2, 1, 1, 0));
    fx_settle(&f);
    assert_int_equal(fx_propose(&f, 1, 16, 100), SL_ENOTLEADER);
    assert_int_equal(sl_raft_last_index(f.r), 0);
    assert_int_equal(sl_raft_leader(f.r), 2); /* the hint for the client */
    fx_free(&f);
}

static void test_propose_past_uncommitted_entries_max_returns_busy(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    o.uncommitted_entries_max = 3;
    boot_leader_of(&f, &o, 3); /* its NOOP is the first uncommitted entry */
    assert_int_equal(fx_propose(&f, 2, 16, 100), SL_OK);
    fx_settle(&f);
    assert_int_equal(fx_propose(&f, 1, 16, 200), SL_EBUSY);
    assert_int_equal(sl_raft_last_index(f.r), 3); /* nothing appended */
    fx_ack(&f, 2, 3);
    assert_int_equal(sl_raft_commit(f.r), 3);
    assert_int_equal(fx_propose(&f, 1, 16, 200), SL_OK); /* the window reopened */
    fx_free(&f);
}

static void test_propose_past_uncommitted_bytes_max_returns_busy(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    o.uncommitted_bytes_max = 64;
    boot_leader_of(&f, &o, 3);
    assert_int_equal(fx_propose(&f, 4, 16, 100), SL_OK); /* 64 bytes */
    fx_settle(&f);
    assert_int_equal(fx_propose(&f, 1, 16, 200), SL_EBUSY);
    assert_int_equal(sl_raft_last_index(f.r), 5);
    fx_ack(&f, 2, 5);
    assert_int_equal(fx_propose(&f, 1, 16, 200), SL_OK);
    fx_free(&f);
}

static void test_propose_refuses_empty_or_non_normal_entries(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    boot_leader_of(&f, &o, 1);
    struct sl_buf *b = payload(1, 16);
    uint64_t first, term;
    assert_int_equal(sl_raft_propose(f.r, SL_RAFT_ENTRY_NORMAL, &b, 0, &first, &term), SL_EINVAL);
    assert_int_equal(sl_raft_propose(f.r, SL_RAFT_ENTRY_CONFIG, &b, 1, &first, &term), SL_EINVAL);
    assert_int_equal(sl_raft_propose(f.r, SL_RAFT_ENTRY_NOOP, &b, 1, &first, &term), SL_EINVAL);
    assert_int_equal(sl_raft_last_index(f.r), 1);
    assert_int_equal(sl_raft_propose(f.r, SL_RAFT_ENTRY_NORMAL, &b, 1, &first, &term), SL_OK);
    assert_int_equal(first, 2);
    assert_int_equal(term, sl_raft_term(f.r));
    sl_buf_unref(b);
    fx_free(&f);
}

/* ---- reporting writes durable -------------------------------------------------------------- */

static void test_persisted_refuses_a_write_id_never_issued(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    boot_leader_of(&f, &o, 3);
    assert_int_equal(fx_propose(&f, 1, 16, 100), SL_OK);
    struct sl_raft_update u;
    fx_take(&f, &u);
    assert_int_equal(sl_raft_persisted(f.r, u.write_id + 1), SL_EINVAL);
    assert_int_equal(sl_raft_durable(f.r), 1); /* changed nothing */
    fx_persist(&f, &u);
    assert_int_equal(sl_raft_durable(f.r), 2);
    assert_int_equal(sl_raft_persisted(f.r, u.write_id), SL_OK);     /* repeated: ignored */
    assert_int_equal(sl_raft_persisted(f.r, u.write_id - 1), SL_OK); /* lower: ignored */
    assert_int_equal(sl_raft_durable(f.r), 2);
    fx_absorb(&f, &u);
    fx_free(&f);
}

/* ---- a cluster ----------------------------------------------------------------------------- */

static void test_cluster_acknowledges_proposals_and_every_node_applies_them(void **state)
{
    (void)state;
    struct sim_cluster_options o;
    cluster_options(&o, 3, 3, 31);
    struct sim_cluster *c = cluster_new(&o);
    int leader = cluster_step_until_ready_leader(c, 2000);
    assert_true(leader >= 0);
    uint64_t first = 0;
    assert_int_equal(sim_cluster_propose(c, (uint32_t)leader, 10, &first, NULL), SL_OK);
    assert_true(cluster_step_until_acked(c, 10, 1000));
    assert_int_equal(sim_cluster_acked_max(c), first + 9);
    assert_true(cluster_step_until_all_applied(c, first + 9, 1000));
    for (uint32_t s = 0; s < 3; s++) {
        assert_true(sl_raft_commit(sim_cluster_raft(c, s)) >= first + 9);
    }
    cluster_free(c);
}

static void test_a_batch_larger_than_the_whole_window_is_refused_for_good(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    o.uncommitted_entries_max = 4;
    boot_leader_of(&f, &o, 1);
    fx_settle(&f);
    assert_int_equal(fx_propose(&f, 5, 16, 100), SL_ELIMIT); /* retrying cannot help */
    assert_int_equal(fx_propose(&f, 4, 16, 100), SL_OK);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leader_commits_only_with_a_majority_of_voters),
        cmocka_unit_test(test_a_batch_larger_than_the_whole_window_is_refused_for_good),
        cmocka_unit_test(test_leader_counts_its_own_entry_only_once_durable),
        cmocka_unit_test(test_leader_does_not_commit_an_older_term_entry_by_counting_replicas),
        cmocka_unit_test(test_older_term_entry_commits_together_with_the_new_leaders_noop),
        cmocka_unit_test(test_committed_entries_are_handed_out_in_order_once),
        cmocka_unit_test(test_entries_are_applied_only_up_to_the_durable_index),
        cmocka_unit_test(test_leader_applies_only_entries_it_holds_durably),
        cmocka_unit_test(test_apply_batches_are_bounded_by_apply_entries_max),
        cmocka_unit_test(test_propose_on_a_follower_returns_not_leader),
        cmocka_unit_test(test_propose_past_uncommitted_entries_max_returns_busy),
        cmocka_unit_test(test_propose_past_uncommitted_bytes_max_returns_busy),
        cmocka_unit_test(test_propose_refuses_empty_or_non_normal_entries),
        cmocka_unit_test(test_persisted_refuses_a_write_id_never_issued),
        cmocka_unit_test(test_cluster_acknowledges_proposals_and_every_node_applies_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
