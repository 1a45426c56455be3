/* test_raft_replication.c — AppendEntries (core/raft/replication.c): the follower's consistency
 * check and its rejection hint, the leader's fast back-off, truncation of a conflicting suffix,
 * duplicate and reordered APPENDs, pipelining and its window, batching of proposals, the
 * per-message bounds, recovery of a lost APPEND through heartbeats, and responses held until the
 * follower's write is durable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "raft_fixture.h"

#include "core/errors.h"

#include <string.h>

/* ---- helpers ------------------------------------------------------------------------------- */

/* Member 1 of voters {1, 2, 3} booting over a disk holding entries of `terms` (1..n), in the
 * term of its last entry. */
static void boot_over_log(struct fx *f, const struct sl_raft_options *o, const uint64_t *terms,
                          size_t n, uint64_t commit)
{
    fx_disk_of(f, 3, 0, 0);
    for (size_t k = 0; k < n; k++) {
        disk_put(&f->disk, terms[k]);
    }
    f->disk.hs.term = n ? terms[n - 1] : 0;
    f->disk.hs.commit = commit;
    fx_boot_disk(f, o);
}

static void boot_follower_over_log(struct fx *f, const uint64_t *terms, size_t n, uint64_t commit)
{
    struct sl_raft_options o;
    fx_options(&o, 1);
    boot_over_log(f, &o, terms, n, commit);
}

/* Member 1 of voters {1, 2, 3}, leader of term 1 with its NOOP (index 1) on every member: both
 * followers are past probing and take streamed APPENDs. The outbox is empty. */
static void boot_replicating_leader(struct fx *f, const struct sl_raft_options *o)
{
    struct sl_raft_config c = config_voters(3);
    fx_boot_new(f, o, &c);
    fx_elect(f);
    fx_ack(f, 2, 1);
    fx_ack(f, 3, 1);
    assert_int_equal(sl_raft_commit(f->r), 1);
    fx_clear_sent(f);
}

static const struct sl_raft_msg *the_response(const struct fx *f, uint64_t to)
{
    assert_int_equal(fx_count_sent(f, SL_RAFT_MSG_APPEND_RESP, to), 1);
    return fx_find_sent(f, SL_RAFT_MSG_APPEND_RESP, to);
}

static size_t payload_bytes(const struct sl_raft_msg *m)
{
    size_t bytes = 0;
    for (uint32_t k = 0; k < m->n_entries; k++) {
        bytes += sl_buf_len(m->entries[k].data);
    }
    return bytes;
}

/* ---- the consistency check and fast back-off ----------------------------------------------- */

static void
test_follower_rejects_mismatched_append_with_conflict_term_and_its_first_index(void **state)
{
    (void)state;
    struct fx f;
    boot_follower_over_log(&f, (uint64_t[]){1, 1, 2, 2, 2}, 5, 0);
    fx_recv(&f, msg_append(3, 1, 4, 5, 3, 0, NULL, 0)); /* leader thinks 5 has term 3 */
    fx_settle(&f);
    const struct sl_raft_msg *m = the_response(&f, 3);
    assert_true(m->flags & SL_RAFT_FLAG_REJECT);
    assert_int_equal(m->index, 5);    /* the previous entry it rejects */
    assert_int_equal(m->log_term, 2); /* its own term there */
    assert_int_equal(m->hint, 3);     /* the first index of that term */
    assert_int_equal(sl_raft_last_index(f.r), 5);
    fx_free(&f);
}

static void test_follower_rejects_append_beyond_its_log_with_its_next_index(void **state)
{
    (void)state;
    struct fx f;
    boot_follower_over_log(&f, (uint64_t[]){1, 1, 2, 2, 2}, 5, 0);
    fx_recv(&f, msg_append(3, 1, 4, 8, 3, 0, NULL, 0));
    fx_settle(&f);
    const struct sl_raft_msg *m = the_response(&f, 3);
    assert_true(m->flags & SL_RAFT_FLAG_REJECT);
    assert_int_equal(m->index, 8);
    assert_int_equal(m->log_term, 0);
    assert_int_equal(m->hint, 6);
    fx_free(&f);
}

static void test_follower_rejection_hint_never_points_into_its_committed_prefix(void **state)
{
    (void)state;
    struct fx f;
    boot_follower_over_log(&f, (uint64_t[]){1, 1, 2, 2, 2}, 5, 4); /* commit 4 */
    fx_recv(&f, msg_append(3, 1, 4, 5, 3, 4, NULL, 0));
    fx_settle(&f);
    const struct sl_raft_msg *m = the_response(&f, 3);
    assert_true(m->flags & SL_RAFT_FLAG_REJECT);
    assert_int_equal(m->hint, 5); /* not 3: entries up to 4 are committed */
    fx_free(&f);
}

static void test_leader_skips_a_whole_conflicting_term_it_does_not_hold(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    boot_over_log(&f, &o, (uint64_t[]){1, 1, 1, 3, 3, 3}, 6, 0);
    fx_elect(&f); /* term 4, NOOP at 7; the probe to 2 is after (6, term 3) */
    const struct sl_raft_msg *probe = fx_find_sent(&f, SL_RAFT_MSG_APPEND, 2);
    assert_non_null(probe);
    assert_int_equal(probe->index, 6);
    fx_clear_sent(&f);

    /* Member 2 holds term 2 from index 4 on: the leader has no entry of term 2, so everything
     * from 4 differs and the next probe goes straight after 3, not after 5. */
    fx_recv(&f, msg_append_reject(2, 1, 4, 6, 2, 4));
    fx_settle(&f);
    assert_int_equal(fx_count_sent(&f, SL_RAFT_MSG_APPEND, 2), 1);
    const struct sl_raft_msg *m = fx_find_sent(&f, SL_RAFT_MSG_APPEND, 2);
    assert_int_equal(m->index, 3);
    assert_int_equal(m->log_term, 1);
    assert_int_equal(m->n_entries, 4); /* 4..7 */
    fx_free(&f);
}

static void test_leader_skips_to_the_end_of_a_conflicting_term_it_holds(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    boot_over_log(&f, &o, (uint64_t[]){1, 1, 1, 3, 3, 3}, 6, 0);
    fx_elect(&f);
    fx_clear_sent(&f);

    /* Member 2 has term 1 at 6 (and from 1): the leader's term 1 ends at 3, so it probes there. */
    fx_recv(&f, msg_append_reject(2, 1, 4, 6, 1, 1));
    fx_settle(&f);
    const struct sl_raft_msg *m = fx_find_sent(&f, SL_RAFT_MSG_APPEND, 2);
    assert_non_null(m);
    assert_int_equal(m->index, 3);
    assert_int_equal(m->log_term, 1);
    fx_free(&f);
}

/* ---- applying APPENDs ---------------------------------------------------------------------- */

static void test_follower_truncates_conflicting_uncommitted_suffix_in_its_write(void **state)
{
    (void)state;
    struct fx f;
    boot_follower_over_log(&f, (uint64_t[]){1, 1, 2, 2}, 4, 2);
    fx_recv(&f, msg_append(3, 1, 3, 2, 1, 2, (uint64_t[]){3, 3, 3}, 3));
    assert_int_equal(sl_raft_last_index(f.r), 5);
    assert_int_equal(sl_raft_term_at(f.r, 3), 3);
    struct sl_raft_update u;
    fx_take(&f, &u);
    assert_int_equal(u.truncate_from, 3);
    assert_int_equal(u.n_entries, 3);
    assert_int_equal(u.entries[0].index, 3);
    assert_int_equal(u.entries[0].term, 3);
    fx_persist(&f, &u);
    fx_absorb(&f, &u);
    assert_int_equal(sim_disk_last(&f.disk), 5);
    assert_int_equal(sim_disk_entry(&f.disk, 2)->term, 1);
    assert_int_equal(sim_disk_entry(&f.disk, 4)->term, 3);
    fx_free(&f);
}

static void test_durable_index_excludes_a_suffix_being_replaced(void **state)
{
    (void)state;
    struct fx f;
    boot_follower_over_log(&f, NULL, 0, 0);
    fx_recv(&f, msg_append(2, 1, 1, 0, 0, 0, (uint64_t[]){1, 1, 1, 1}, 4));
    struct sl_raft_update first, second;
    fx_take(&f, &first); /* entries 1..4, not yet durable */
    fx_recv(&f, msg_append(3, 1, 2, 2, 1, 0, (uint64_t[]){2}, 1));
    fx_take(&f, &second); /* replaces 3.. with (3, term 2) */
    assert_int_equal(second.truncate_from, 3);
    fx_persist(&f, &first);
    /* 3 and 4 are on disk but about to be replaced: they do not count as durable. */
    assert_int_equal(sl_raft_durable(f.r), 2);
    fx_persist(&f, &second);
    assert_int_equal(sl_raft_durable(f.r), 3);
    fx_absorb(&f, &first);
    fx_absorb(&f, &second);
    fx_free(&f);
}

static void test_duplicate_append_is_harmless(void **state)
{
    (void)state;
    struct fx f;
    boot_follower_over_log(&f, NULL, 0, 0);
    fx_recv(&f, msg_append(2, 1, 1, 0, 0, 0, (uint64_t[]){1, 1}, 2));
    fx_settle(&f);
    unsigned writes = f.disk.writes;
    fx_clear_sent(&f);
    fx_recv(&f, msg_append(2, 1, 1, 0, 0, 0, (uint64_t[]){1, 1}, 2));
    fx_settle(&f);
    assert_int_equal(f.disk.writes, writes); /* nothing new to write */
    assert_int_equal(sl_raft_last_index(f.r), 2);
    const struct sl_raft_msg *m = the_response(&f, 2);
    assert_false(m->flags & SL_RAFT_FLAG_REJECT);
    assert_int_equal(m->index, 2);
    fx_free(&f);
}

static void test_reordered_appends_are_harmless(void **state)
{
    (void)state;
    struct fx f;
    boot_follower_over_log(&f, NULL, 0, 0);
    struct sl_raft_msg a = msg_append(2, 1, 1, 0, 0, 0, (uint64_t[]){1, 1}, 2);
    struct sl_raft_msg b = msg_append(2, 1, 1, 2, 1, 0, (uint64_t[]){1, 1}, 2);
    fx_recv_keep(&f, &b); /* overtook a: refused, changes nothing */
    fx_settle(&f);
    assert_int_equal(sl_raft_last_index(f.r), 0);
    fx_recv_keep(&f, &a);
    fx_recv_keep(&f, &b);
    fx_recv_keep(&f, &a); /* a late copy of a must not cut 3..4 off */
    fx_settle(&f);
    assert_int_equal(sl_raft_last_index(f.r), 4);
    assert_int_equal(sim_disk_last(&f.disk), 4);
    for (uint64_t i = 1; i <= 4; i++) {
        assert_int_equal(payload_tag(sim_disk_entry(&f.disk, i)->data), i);
    }
    assert_int_equal(fx_count_sent(&f, SL_RAFT_MSG_APPEND_RESP, 2), 4);
    assert_true(fx_nth_sent(&f, SL_RAFT_MSG_APPEND_RESP, 2, 0)->flags & SL_RAFT_FLAG_REJECT);
    assert_int_equal(fx_nth_sent(&f, SL_RAFT_MSG_APPEND_RESP, 2, 2)->index, 4);
    assert_int_equal(fx_nth_sent(&f, SL_RAFT_MSG_APPEND_RESP, 2, 3)->index, 2);
    assert_false(fx_nth_sent(&f, SL_RAFT_MSG_APPEND_RESP, 2, 3)->flags & SL_RAFT_FLAG_REJECT);
    sl_raft_msg_free(&a);
    sl_raft_msg_free(&b);
    fx_free(&f);
}

static void test_follower_append_response_is_held_until_its_write_is_durable(void **state)
{
    (void)state;
    struct fx f;
    boot_follower_over_log(&f, NULL, 0, 0);
    fx_recv(&f, msg_append(2, 1, 1, 0, 0, 0, (uint64_t[]){1, 1}, 2));
    struct sl_raft_update u;
    fx_take(&f, &u);
    assert_int_equal(u.n_entries, 2);
    assert_int_equal(update_count_msgs(&u, SL_RAFT_MSG_APPEND_RESP, 0), 0);
    fx_persist(&f, &u);
    fx_absorb(&f, &u);
    fx_take(&f, &u);
    assert_int_equal(update_count_msgs(&u, SL_RAFT_MSG_APPEND_RESP, 2), 1);
    fx_absorb(&f, &u);
    assert_int_equal(the_response(&f, 2)->index, 2);
    fx_free(&f);
}

/* ---- the leader's sending ------------------------------------------------------------------ */

static void test_leader_pipelines_appends_before_any_response(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    o.inflight_msgs_max = 4;
    o.append_entries_max = 1;
    boot_replicating_leader(&f, &o);
    for (uint64_t k = 0; k < 3; k++) {
        assert_int_equal(fx_propose(&f, 1, 16, 100 + k), SL_OK);
        fx_settle(&f);
    }
    /* Three APPENDs to member 2 and not one answer yet. */
    assert_int_equal(fx_count_sent(&f, SL_RAFT_MSG_APPEND, 2), 3);
    for (size_t k = 0; k < 3; k++) {
        const struct sl_raft_msg *m = fx_nth_sent(&f, SL_RAFT_MSG_APPEND, 2, k);
        assert_int_equal(m->index, 1 + k);
        assert_int_equal(m->n_entries, 1);
    }
    fx_free(&f);
}

static void test_pipeline_window_holds_back_appends_until_responses_arrive(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    o.inflight_msgs_max = 4;
    o.append_entries_max = 1;
    boot_replicating_leader(&f, &o);
    for (uint64_t k = 0; k < 6; k++) { /* indexes 2..7 */
        assert_int_equal(fx_propose(&f, 1, 16, 100 + k), SL_OK);
        fx_settle(&f);
    }
    assert_int_equal(fx_count_sent(&f, SL_RAFT_MSG_APPEND, 2), 4); /* 2..5: the window */
    fx_clear_sent(&f);
    fx_ack(&f, 2, 3); /* two of them answered: room for two more */
    assert_int_equal(fx_count_sent(&f, SL_RAFT_MSG_APPEND, 2), 2);
    assert_int_equal(fx_nth_sent(&f, SL_RAFT_MSG_APPEND, 2, 0)->index, 5);
    assert_int_equal(fx_nth_sent(&f, SL_RAFT_MSG_APPEND, 2, 1)->index, 6);
    fx_free(&f);
}

static void test_pipelined_appends_never_exceed_inflight_msgs_max(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    o.inflight_msgs_max = 2;
    o.append_entries_max = 4;
    o.append_bytes_max = 16; /* one 16-byte entry per APPEND */
    boot_replicating_leader(&f, &o);
    assert_int_equal(fx_propose(&f, 8, 16, 100), SL_OK);
    fx_settle(&f);
    /* raft.h: inflight_msgs_max is the number of "pipelined APPENDs outstanding per follower",
     * whatever bound (entries or bytes) cut the batches. */
    size_t sent = fx_count_sent(&f, SL_RAFT_MSG_APPEND, 2);
    fx_free(&f);
    if (sent == 0 || sent > o.inflight_msgs_max) {
        fail_msg("%zu APPENDs outstanding to one follower, inflight_msgs_max is %u", sent,
                 o.inflight_msgs_max);
    }
}

static void test_proposals_between_updates_go_out_in_one_append_per_follower(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    boot_replicating_leader(&f, &o);
    for (uint64_t k = 0; k < 3; k++) {
        assert_int_equal(fx_propose(&f, 1, 16, 100 + k), SL_OK);
    }
    struct sl_raft_update u;
    fx_take(&f, &u);
    assert_int_equal(u.n_entries, 3); /* one write */
    for (uint64_t to = 2; to <= 3; to++) {
        assert_int_equal(update_count_msgs(&u, SL_RAFT_MSG_APPEND, to), 1);
    }
    fx_persist(&f, &u);
    fx_absorb(&f, &u);
    for (uint64_t to = 2; to <= 3; to++) {
        const struct sl_raft_msg *m = fx_find_sent(&f, SL_RAFT_MSG_APPEND, to);
        assert_int_equal(m->index, 1);
        assert_int_equal(m->n_entries, 3);
    }
    fx_free(&f);
}

static void test_append_entries_max_bounds_entries_per_message(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    o.append_entries_max = 2;
    boot_replicating_leader(&f, &o);
    assert_int_equal(fx_propose(&f, 5, 16, 100), SL_OK);
    fx_settle(&f);
    assert_int_equal(fx_count_sent(&f, SL_RAFT_MSG_APPEND, 2), 3);
    assert_int_equal(fx_nth_sent(&f, SL_RAFT_MSG_APPEND, 2, 0)->n_entries, 2);
    assert_int_equal(fx_nth_sent(&f, SL_RAFT_MSG_APPEND, 2, 1)->n_entries, 2);
    assert_int_equal(fx_nth_sent(&f, SL_RAFT_MSG_APPEND, 2, 2)->n_entries, 1);
    fx_free(&f);
}

static void test_append_bytes_max_bounds_payload_per_message(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    o.append_bytes_max = 48; /* three 16-byte entries */
    boot_replicating_leader(&f, &o);
    assert_int_equal(fx_propose(&f, 7, 16, 100), SL_OK);
    fx_settle(&f);
    assert_int_equal(fx_count_sent(&f, SL_RAFT_MSG_APPEND, 2), 3);
    assert_int_equal(fx_nth_sent(&f, SL_RAFT_MSG_APPEND, 2, 0)->n_entries, 3);
    assert_int_equal(fx_nth_sent(&f, SL_RAFT_MSG_APPEND, 2, 1)->n_entries, 3);
    assert_int_equal(fx_nth_sent(&f, SL_RAFT_MSG_APPEND, 2, 2)->n_entries, 1);
    fx_free(&f);
}

static void test_append_payload_never_exceeds_append_bytes_max_past_one_entry(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    o.append_bytes_max = 40; /* room for two 16-byte entries, not three */
    boot_replicating_leader(&f, &o);
    assert_int_equal(fx_propose(&f, 6, 16, 100), SL_OK);
    fx_settle(&f);
    size_t n = fx_count_sent(&f, SL_RAFT_MSG_APPEND, 2), entries = 0, over_entries = 0,
           over_bytes = 0;
    for (size_t k = 0; k < n; k++) {
        const struct sl_raft_msg *m = fx_nth_sent(&f, SL_RAFT_MSG_APPEND, 2, k);
        entries += m->n_entries;
        if (m->n_entries > 1 && payload_bytes(m) > o.append_bytes_max) {
            over_entries = m->n_entries;
            over_bytes = payload_bytes(m);
        }
    }
    fx_free(&f);
    assert_int_equal(entries, 6);
    if (over_bytes) {
        fail_msg("an APPEND of %zu entries carries %zu payload bytes, append_bytes_max is %zu",
                 over_entries, over_bytes, o.append_bytes_max);
    }
}

static void test_append_carries_one_entry_larger_than_the_byte_budget(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    o.append_bytes_max = 8;
    boot_replicating_leader(&f, &o);
    assert_int_equal(fx_propose(&f, 2, 100, 100), SL_OK);
    fx_settle(&f);
    assert_int_equal(fx_count_sent(&f, SL_RAFT_MSG_APPEND, 2), 2);
    assert_int_equal(fx_nth_sent(&f, SL_RAFT_MSG_APPEND, 2, 0)->n_entries, 1);
    assert_int_equal(fx_nth_sent(&f, SL_RAFT_MSG_APPEND, 2, 1)->n_entries, 1);
    fx_free(&f);
}

/* ---- lost messages (cluster) --------------------------------------------------------------- */

static void test_lost_append_is_recovered_by_the_heartbeat_path(void **state)
{
    (void)state;
    struct sim_cluster_options o;
    cluster_options(&o, 3, 3, 21);
    struct sim_cluster *c = cluster_new(&o);
    int leader = cluster_step_until_ready_leader(c, 2000);
    assert_true(leader >= 0);
    cluster_run_ms(c, 200);
    int f = cluster_follower(c, -1);

    uint64_t dropped = sim_cluster_stats(c)->msgs_dropped, index = 0;
    sim_cluster_cut(c, (uint32_t)leader, (uint32_t)f, true);
    assert_int_equal(sim_cluster_propose(c, (uint32_t)leader, 1, &index, NULL), SL_OK);
    sim_cluster_cut(c, (uint32_t)leader, (uint32_t)f, false);
    assert_true(sim_cluster_stats(c)->msgs_dropped > dropped); /* the APPEND to f is gone */

    /* Nothing else is proposed: only the heartbeat exchange can reveal the gap. */
    assert_true(cluster_step_until_applied(c, (uint32_t)f, index, 1000));
    assert_int_equal(sl_raft_last_index(sim_cluster_raft(c, (uint32_t)f)), index);
    assert_int_equal(sim_cluster_leader(c), leader);
    cluster_free(c);
}

static void test_cluster_with_message_loss_applies_every_acknowledged_entry(void **state)
{
    (void)state;
    struct sim_cluster_options o;
    cluster_options(&o, 3, 3, 23);
    o.drop_ppm = 100000; /* 10% of messages lost */
    struct sim_cluster *c = cluster_new(&o);
    for (int round = 0; round < 400 && sim_cluster_acked(c) < 30; round++) {
        int leader = cluster_step_until_leader(c, 5000);
        assert_true(leader >= 0);
        sim_cluster_propose(c, (uint32_t)leader, 1, NULL, NULL);
        cluster_run_ms(c, 50);
    }
    assert_true(sim_cluster_acked(c) >= 30);
    assert_true(sim_cluster_stats(c)->msgs_dropped > 0);
    assert_true(cluster_step_until_all_applied(c, sim_cluster_acked_max(c), 5000));
    cluster_free(c);
}

/* ---- replies waiting for the disk ---------------------------------------------------------- */

static void test_identical_heartbeat_replies_waiting_for_one_write_go_out_once(void **state)
{
    (void)state;
    struct fx f;
    boot_follower_over_log(&f, (uint64_t[]){1}, 1, 0);
    fx_recv(&f, msg_append(2, 1, 1, 1, 1, 0, (uint64_t[]){1}, 1)); /* entry 2: a write */
    for (int k = 0; k < 5; k++) {
        fx_recv(&f, msg_heartbeat(2, 1, 1, 1)); /* while entry 2 is not durable */
    }
    fx_settle(&f);
    assert_int_equal(fx_count_sent(&f, SL_RAFT_MSG_HEARTBEAT_RESP, 2), 1);
    assert_int_equal(the_response(&f, 2)->index, 2);
    fx_free(&f);
}

static void test_replies_waiting_for_the_disk_are_capped(void **state)
{
    (void)state;
    struct fx f;
    struct sl_raft_options o;
    fx_options(&o, 1);
    o.held_msgs_max = 3;
    boot_over_log(&f, &o, (uint64_t[]){1}, 1, 0);
    struct sl_raft_msg m = msg_append(2, 1, 1, 1, 1, 0, (uint64_t[]){1}, 1);
    for (int k = 0; k < 10; k++) {
        fx_recv_keep(&f, &m); /* a duplicated APPEND: each copy is answered */
    }
    sl_raft_msg_free(&m);
    fx_settle(&f);
    /* The rest were dropped, as a lossy network would: the leader retries. */
    assert_int_equal(fx_count_sent(&f, SL_RAFT_MSG_APPEND_RESP, 2), 3);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical_heartbeat_replies_waiting_for_one_write_go_out_once),
        cmocka_unit_test(test_replies_waiting_for_the_disk_are_capped),
        cmocka_unit_test(
            test_follower_rejects_mismatched_append_with_conflict_term_and_its_first_index),
        cmocka_unit_test(test_follower_rejects_append_beyond_its_log_with_its_next_index),
        cmocka_unit_test(test_follower_rejection_hint_never_points_into_its_committed_prefix),
        cmocka_unit_test(test_leader_skips_a_whole_conflicting_term_it_does_not_hold),
        cmocka_unit_test(test_leader_skips_to_the_end_of_a_conflicting_term_it_holds),
        cmocka_unit_test(test_follower_truncates_conflicting_uncommitted_suffix_in_its_write),
        cmocka_unit_test(test_durable_index_excludes_a_suffix_being_replaced),
        cmocka_unit_test(test_duplicate_append_is_harmless),
        cmocka_unit_test(test_reordered_appends_are_harmless),
        cmocka_unit_test(test_follower_append_response_is_held_until_its_write_is_durable),
        cmocka_unit_test(test_leader_pipelines_appends_before_any_response),
        cmocka_unit_test(test_pipeline_window_holds_back_appends_until_responses_arrive),
        cmocka_unit_test(test_pipelined_appends_never_exceed_inflight_msgs_max),
        cmocka_unit_test(test_proposals_between_updates_go_out_in_one_append_per_follower),
        cmocka_unit_test(test_append_entries_max_bounds_entries_per_message),
        cmocka_unit_test(test_append_bytes_max_bounds_payload_per_message),
        cmocka_unit_test(test_append_payload_never_exceeds_append_bytes_max_past_one_entry),
        cmocka_unit_test(test_append_carries_one_entry_larger_than_the_byte_budget),
        cmocka_unit_test(test_lost_append_is_recovered_by_the_heartbeat_path),
        cmocka_unit_test(test_cluster_with_message_loss_applies_every_acknowledged_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
