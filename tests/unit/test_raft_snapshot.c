/* test_raft_snapshot.c — compaction and snapshots (core/raft/replication.c, raft.c):
 * sl_raft_compact and its errors; a follower receiving a SNAPSHOT restores it only once durable,
 * or just commits when it already holds the entries; a lagging member catching up through a
 * snapshot and then APPENDs; restarting from a compacted disk; entries evicted from the cache
 * read back through storage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "raft_fixture.h"

#include "core/errors.h"

#include <string.h>

/* ---- helpers ------------------------------------------------------------------------------- */

/* The only voter of its group, leader of term 1, with 5 entries after its NOOP (2..6), all
 * committed and applied. */
static void boot_single_leader_with_entries(struct fx *f, const struct sl_raft_options *o)
{
    struct sl_raft_config c = config_voters(1);
    fx_boot_new(f, o, &c);
    fx_elect(f);
    assert_int_equal(fx_propose(f, 5, 16, 2), SL_OK);
    fx_settle(f);
    assert_int_equal(sl_raft_applied(f->r), 6);
}

static int compact(struct fx *f, uint64_t index)
{
    struct sl_buf *data = payload(index, 16);
    int rc = sl_raft_compact(f->r, index, data);
    sl_buf_unref(data);
    return rc;
}

/* ---- sl_raft_compact ----------------------------------------------------------------------- */

static void test_compact_drops_the_prefix_and_writes_a_snapshot(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    boot_single_leader_with_entries(&f, &o);
    assert_int_equal(compact(&f, 4), SL_OK);
    assert_int_equal(sl_raft_first_index(f.r), 5);
    assert_int_equal(sl_raft_last_index(f.r), 6);
    assert_int_equal(sl_raft_term_at(f.r, 3), 0);
    assert_int_equal(sl_raft_term_at(f.r, 4), 1);
    struct sl_raft_update u;
    fx_take(&f, &u);
    assert_true(u.has_snapshot);
    assert_int_equal(u.snapshot.index, 4);
    assert_int_equal(u.snapshot.term, 1);
    assert_int_equal(u.snapshot.config.n, 1);
    assert_int_equal(payload_tag(u.snapshot.data), 4);
    fx_persist(&f, &u);
    fx_absorb(&f, &u);
    assert_int_equal(f.disk.snap.index, 4);
    assert_int_equal(sim_disk_last(&f.disk), 6);
    assert_int_equal(f.disk.n, 2);
    fx_free(&f);
}

static void test_compact_refuses_an_index_beyond_applied(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    boot_single_leader_with_entries(&f, &o);
    assert_int_equal(compact(&f, 7), SL_EINVAL);
    assert_int_equal(fx_propose(&f, 1, 16, 7), SL_OK); /* 7 exists, not yet applied */
    assert_int_equal(compact(&f, 7), SL_EINVAL);
    assert_int_equal(sl_raft_first_index(f.r), 1);
    fx_settle(&f);
    assert_int_equal(compact(&f, 7), SL_OK);
    fx_free(&f);
}

static void test_compact_refuses_an_index_at_or_below_the_snapshot(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    boot_single_leader_with_entries(&f, &o);
    assert_int_equal(compact(&f, 4), SL_OK);
    assert_int_equal(compact(&f, 4), SL_ESTALE);
    assert_int_equal(compact(&f, 2), SL_ESTALE);
    assert_int_equal(sl_raft_first_index(f.r), 5);
    assert_int_equal(compact(&f, 5), SL_OK);
    fx_free(&f);
}

/* ---- receiving a snapshot ------------------------------------------------------------------ */

static void test_follower_restores_a_received_snapshot_only_once_it_is_durable(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    struct sl_raft_config c = config_voters(3);
    fx_boot_new(&f, &o, &c);
    fx_recv(&f, msg_snapshot(2, 1, 3, 10, 2, &c));
    assert_int_equal(sl_raft_first_index(f.r), 11);
    assert_int_equal(sl_raft_commit(f.r), 10);

    struct sl_raft_update u;
    fx_take(&f, &u);
    assert_true(u.has_snapshot);
    assert_int_equal(u.snapshot.index, 10);
    assert_false(u.restore); /* not before the snapshot is on disk */
    assert_int_equal(update_count_msgs(&u, SL_RAFT_MSG_APPEND_RESP, 2), 0);
    fx_persist(&f, &u);
    fx_absorb(&f, &u);

    fx_take(&f, &u);
    assert_true(u.restore);
    assert_int_equal(u.restore_snapshot.index, 10);
    assert_int_equal(payload_tag(u.restore_snapshot.data), 10);
    assert_int_equal(update_count_msgs(&u, SL_RAFT_MSG_APPEND_RESP, 2), 1);
    fx_absorb(&f, &u);
    assert_int_equal(f.restored, 10);
    assert_int_equal(fx_find_sent(&f, SL_RAFT_MSG_APPEND_RESP, 2)->index, 10);

    /* Then the log continues after the snapshot by APPEND. */
    fx_recv(&f, msg_append(2, 1, 3, 10, 2, 11, (uint64_t[]){3}, 1));
    fx_settle(&f);
    assert_int_equal(sl_raft_last_index(f.r), 11);
    assert_int_equal(f.applied, 11);
    fx_free(&f);
}

static void test_follower_holding_the_snapshots_entries_just_commits(void **state)
{
    (void)state;
    struct fx f;
    fx_disk_of(&f, 3, 5, 1);
    struct sl_raft_config c = config_voters(3);
    struct sl_raft_options o;
    fx_options(&o, 1);
    fx_boot_disk(&f, &o);

    fx_recv(&f, msg_snapshot(2, 1, 1, 4, 1, &c));
    fx_settle(&f);
    assert_int_equal(f.n_restores, 0);
    assert_int_equal(f.disk.snap.index, 0); /* nothing installed */
    assert_int_equal(sl_raft_first_index(f.r), 1);
    assert_int_equal(sl_raft_last_index(f.r), 5);
    assert_int_equal(sl_raft_commit(f.r), 4);
    assert_int_equal(f.applied, 4); /* applied from its own log */
    assert_int_equal(fx_find_sent(&f, SL_RAFT_MSG_APPEND_RESP, 2)->index, 4);
    fx_free(&f);
}

static void test_lagging_follower_installs_a_snapshot_then_catches_up_by_append(void **state)
{
    (void)state;
    struct sim_cluster_options o;
    cluster_options(&o, 3, 3, 41);
    struct sim_cluster *c = cluster_new(&o);
    int leader = cluster_step_until_ready_leader(c, 2000);
    assert_true(leader >= 0);
    int down = cluster_follower(c, -1), other = cluster_follower(c, down);
    cluster_run_ms(c, 100);
    sim_cluster_crash(c, (uint32_t)down);

    uint64_t first = 0;
    assert_int_equal(sim_cluster_propose(c, (uint32_t)leader, 20, &first, NULL), SL_OK);
    uint64_t snap = first + 19;
    assert_true(cluster_step_until_all_applied(c, snap, 1000));
    assert_int_equal(sim_cluster_compact(c, (uint32_t)leader, snap), SL_OK);
    assert_int_equal(sim_cluster_compact(c, (uint32_t)other, snap), SL_OK);
    uint64_t tail = 0;
    assert_int_equal(sim_cluster_propose(c, (uint32_t)leader, 5, &tail, NULL), SL_OK);
    assert_true(cluster_step_until_acked(c, 25, 1000));

    sim_cluster_restart(c, (uint32_t)down);
    assert_true(cluster_step_until_applied(c, (uint32_t)down, tail + 4, 3000));
    struct sl_raft *r = sim_cluster_raft(c, (uint32_t)down);
    assert_int_equal(sim_cluster_stats(c)->snapshots_installed, 1);
    assert_int_equal(sl_raft_first_index(r), snap + 1); /* its log starts after the snapshot */
    assert_int_equal(sl_raft_last_index(r),
                     sl_raft_last_index(sim_cluster_raft(c, (uint32_t)leader)));
    cluster_free(c);
}

/* ---- restarting and reading back ----------------------------------------------------------- */

static void test_member_restarts_from_its_disk_after_compaction(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    boot_single_leader_with_entries(&f, &o);
    assert_int_equal(compact(&f, 4), SL_OK);
    fx_settle(&f);
    fx_crash(&f);

    fx_boot_disk(&f, &o); /* applied = the snapshot: 5 and 6 come again */
    unsigned reads = f.disk.reads;
    assert_int_equal(sl_raft_first_index(f.r), 5);
    assert_int_equal(sl_raft_last_index(f.r), 6);
    assert_int_equal(sl_raft_term_at(f.r, 6), 1);
    assert_int_equal(sl_raft_commit(f.r), 6);
    assert_int_equal(f.applied, 4);
    fx_settle(&f);
    assert_int_equal(f.applied, 6);
    assert_true(f.disk.reads > reads); /* 5 and 6 were read back through storage */

    fx_elect(&f);
    assert_int_equal(sl_raft_term(f.r), 2);
    assert_int_equal(sl_raft_last_index(f.r), 7); /* its NOOP follows the retained log */
    assert_int_equal(fx_propose(&f, 1, 16, 8), SL_OK);
    fx_settle(&f);
    assert_int_equal(f.applied, 8);
    fx_free(&f);
}

static void test_evicted_entries_are_read_back_through_storage(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    o.cache_bytes_max = 2 * (16 + SL_RAFT_CACHE_ENTRY_BYTES); /* two 16-byte entries */
    struct sl_raft_config c = config_voters(3);
    fx_boot_new(&f, &o, &c);
    fx_elect(&f);
    fx_ack(&f, 2, 1);
    assert_int_equal(fx_propose(&f, 10, 16, 100), SL_OK); /* 2..11 */
    fx_settle(&f);
    fx_ack(&f, 2, 11); /* committed and applied: the cache may now shrink */
    assert_int_equal(f.applied, 11);
    fx_clear_sent(&f);

    unsigned reads = f.disk.reads;
    fx_ack(&f, 3, 1); /* member 3 was only probed: it needs 2..11 */
    assert_true(f.disk.reads > reads);
    const struct sl_raft_msg *m = fx_find_sent(&f, SL_RAFT_MSG_APPEND, 3);
    assert_non_null(m);
    assert_int_equal(m->index, 1);
    assert_int_equal(m->n_entries, 10);
    for (uint32_t k = 0; k < m->n_entries; k++) {
        assert_int_equal(m->entries[k].index, 2 + k);
        assert_int_equal(payload_tag(m->entries[k].data), 100 + k);
    }
    fx_free(&f);
}

static void test_cluster_catches_up_a_follower_through_storage_with_a_small_cache(void **state)
{
    (void)state;
    struct sim_cluster_options o;
    cluster_options(&o, 3, 3, 43);
    o.raft.cache_bytes_max = 64;
    struct sim_cluster *c = cluster_new(&o);
    int leader = cluster_step_until_ready_leader(c, 2000);
    assert_true(leader >= 0);
    int down = cluster_follower(c, -1);
    sim_cluster_crash(c, (uint32_t)down);
    uint64_t first = 0;
    assert_int_equal(sim_cluster_propose(c, (uint32_t)leader, 50, &first, NULL), SL_OK);
    assert_true(cluster_step_until_acked(c, 50, 1000));
    sim_cluster_restart(c, (uint32_t)down);
    assert_true(cluster_step_until_applied(c, (uint32_t)down, first + 49, 3000));
    assert_int_equal(sim_cluster_stats(c)->snapshots_installed, 0);
    cluster_free(c); /* the checkers compared every entry it applied */
}

static void test_storage_error_while_applying_leaves_the_update_to_take_again(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    boot_single_leader_with_entries(&f, &o);
    fx_crash(&f);
    fx_boot_disk(&f, &o); /* 1..6 committed, on disk only: applying reads storage */
    f.disk.fail = SL_EIO;
    struct sl_raft_update u;
    assert_true(sl_raft_has_update(f.r));
    assert_int_equal(sl_raft_update_take(f.r, &u), SL_EIO); /* the storage's error comes back */
    assert_int_equal(sl_raft_applied(f.r), 0);              /* nothing was taken */
    f.disk.fail = 0;
    fx_settle(&f);
    assert_int_equal(f.applied, 6);
    fx_free(&f);
}

static void test_boot_refuses_a_disk_returning_wrong_entries(void **state)
{
    (void)state;
    struct fx f;
    fx_disk_of(&f, 3, 2, 1);
    f.disk.corrupt = true;
    struct sl_raft_options o;
    fx_options(&o, 1);
    o.storage = sim_disk_storage(&f.disk);
    struct sl_raft_boot b = sim_disk_boot(&f.disk);
    struct sl_raft *r = NULL;
    assert_int_equal(sl_raft_new(&r, &o, &b), SL_ECORRUPT);
    assert_null(r);
    f.disk.corrupt = false;
    /* An entry of a term later than the hard state's is corrupt too. */
    b.hard_state.term = 0;
    assert_int_equal(sl_raft_new(&r, &o, &b), SL_ECORRUPT);
    fx_free(&f);
}

/* ---- restart --------------------------------------------------------------------------- */

/* Member 1 of voters {1, 2, 3} over a disk of entries 1..10 (term 1) with a stale commit hint
 * of 5, booted with a state machine that applied up to 8. */
static void boot_ahead_of_commit_hint(struct fx *f)
{
    fx_disk_of(f, 3, 10, 1);
    f->disk.hs.commit = 5;
    struct sl_raft_options o;
    fx_options(&o, 1);
    fx_boot_applied(f, &o, 8);
}

static void test_restart_never_hands_out_what_the_state_machine_applied(void **state)
{
    (void)state;
    struct fx f;
    boot_ahead_of_commit_hint(&f);
    /* Everything applied was committed, whatever the commit hint on disk says. */
    assert_int_equal(sl_raft_commit(f.r), 8);
    assert_int_equal(sl_raft_applied(f.r), 8);
    fx_recv(&f, msg_heartbeat(2, 1, 1, 10));
    fx_settle(&f); /* fx_absorb asserts that entries come in order, from 9 */
    assert_int_equal(f.applied, 10);
    assert_int_equal(f.n_applied, 2);
    fx_free(&f);
}

static void test_restart_behind_the_snapshot_restores_it_first(void **state)
{
    (void)state;
    struct fx f;
    fx_disk_of(&f, 3, 0, 1);
    f.disk.snap.index = 5;
    f.disk.snap.term = 1;
    f.disk.snap.data = payload(5, 16);
    for (int k = 0; k < 3; k++) {
        disk_put(&f.disk, 1); /* 6..8 */
    }
    f.disk.hs.term = 1;
    f.disk.hs.commit = 8;
    struct sl_raft_options o;
    fx_options(&o, 1);
    fx_boot_applied(&f, &o, 2); /* crashed before restoring the snapshot it had received */
    struct sl_raft_update u;
    fx_take(&f, &u);
    assert_true(u.restore);
    assert_int_equal(u.restore_snapshot.index, 5);
    assert_int_equal(payload_tag(u.restore_snapshot.data), 5);
    assert_int_equal(u.n_committed, 3);
    assert_int_equal(u.committed[0].index, 6);
    fx_absorb(&f, &u);
    assert_int_equal(f.restored, 5);
    assert_int_equal(f.applied, 8);
    fx_free(&f);
}

static void test_durable_stays_below_an_installed_snapshot_until_it_is_written(void **state)
{
    (void)state;
    struct fx f;
    fx_disk_of(&f, 3, 15, 1); /* 1..15 of term 1, none committed */
    f.disk.hs.term = 2;
    struct sl_raft_options o;
    fx_options(&o, 1);
    fx_boot_disk(&f, &o);
    assert_int_equal(sl_raft_durable(f.r), 15);
    struct sl_raft_config c = config_voters(3);
    fx_recv(&f, msg_snapshot(2, 1, 2, 15, 2, &c)); /* entry 15 differs: the log is reset */
    /* The disk still holds the old entries up to 15 until the install is durable. */
    assert_int_equal(sl_raft_durable(f.r), 0);
    fx_settle(&f);
    assert_int_equal(sl_raft_durable(f.r), 15);
    assert_int_equal(f.restored, 15);
    assert_int_equal(sim_disk_last(&f.disk), 15);
    assert_int_equal(f.disk.snap.term, 2);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compact_drops_the_prefix_and_writes_a_snapshot),
        cmocka_unit_test(test_restart_never_hands_out_what_the_state_machine_applied),
        cmocka_unit_test(test_restart_behind_the_snapshot_restores_it_first),
        cmocka_unit_test(test_durable_stays_below_an_installed_snapshot_until_it_is_written),
        cmocka_unit_test(test_compact_refuses_an_index_beyond_applied),
        cmocka_unit_test(test_compact_refuses_an_index_at_or_below_the_snapshot),
        cmocka_unit_test(test_follower_restores_a_received_snapshot_only_once_it_is_durable),
        cmocka_unit_test(test_follower_holding_the_snapshots_entries_just_commits),
        cmocka_unit_test(test_lagging_follower_installs_a_snapshot_then_catches_up_by_append),
        cmocka_unit_test(test_member_restarts_from_its_disk_after_compaction),
        cmocka_unit_test(test_evicted_entries_are_read_back_through_storage),
        cmocka_unit_test(test_cluster_catches_up_a_follower_through_storage_with_a_small_cache),
        cmocka_unit_test(test_storage_error_while_applying_leaves_the_update_to_take_again),
        cmocka_unit_test(test_boot_refuses_a_disk_returning_wrong_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
