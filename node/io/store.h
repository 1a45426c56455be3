/* store.h — the node's one RocksDB: shard and controller logs, hard state, snapshots, identity.
 *
 * Layout (DESIGN §4; docs/storage.md is the full format). Column families, keys big-endian so
 * that iteration order is log order:
 *
 *   family  key                           value (integers big-endian)
 *   ------  ----------------------------  ---------------------------------------------------
 *   log     group u64 . index u64         entry: version u8, type u8, term u64, crc32c u32 of
 *                                         the 10 bytes before it followed by the payload,
 *                                         payload
 *   hard    group u64                     hard state: version u8, term u64, vote u64,
 *                                         commit u64, crc32c u32 of the bytes before it
 *   meta    "identity"                    node identity (struct sl_store_identity), its last
 *                                         4 bytes a crc32c of the bytes before them
 *   meta    "snap" . group u64            snapshot: version u8, index u64, term u64,
 *                                         config length u32, config (membership.h codec),
 *                                         data, crc32c u32 of the bytes before it
 *
 * A group exists in the store once it has a hard state. Writes are applied in batches: one
 * RocksDB WriteBatch, written with sync=true when the caller asks for durability. Reads go to
 * RocksDB directly and may run on any thread at the same time as writes.
 *
 * Format version SL_STORE_FORMAT_VERSION covers every layout above; bump it when any of them
 * changes (an old directory is then refused with a message naming both versions).
 *
 * Data directory: the RocksDB database lives in `dir/db`; `dir/sluiced.lock` is held with
 * flock() while a store is open; a creation is built in `dir/db.creating` and renamed to
 * `dir/db` once its identity is durable, so `dir/db/CURRENT` always means a complete store.
 *
 * Threading: every function may be called from any thread concurrently, except that a struct
 * sl_store_batch is used by one thread at a time, and sl_store_close runs alone.
 */
#ifndef SL_IO_STORE_H
#define SL_IO_STORE_H

#include "core/raft/raft.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_STORE_FORMAT_VERSION 1

/* What a data directory belongs to. Written once when the directory is created. */
struct sl_store_identity {
    uint64_t node_id;
    char az[64]; /* NUL-terminated availability zone label */
    uint8_t cluster_id[16];
    uint8_t secret[32]; /* the key that signs shard iterators */
};

struct sl_store;

/* Opens the store in directory `dir`, creating it when `dir` does not exist (mkdir -p, mode
 * 0750) or is empty (or holds only our lock file and an unfinished creation): then `identity`
 * (node_id, never 0, and az set by the caller; cluster_id and secret filled with random bytes
 * here) is written. When `dir` already holds a store (`dir/db/CURRENT`), its identity is read
 * into `*identity` after checking that its node id equals identity->node_id. Refuses, with an
 * explanation in `err` (a full sentence naming the directory; `err` may be NULL): a non-empty
 * directory that is not a sluice store, a store without our column families or without a
 * valid identity, a store of another format version or another node id, a store RocksDB
 * reports as corrupt. Never rewrites anything it refuses (an existing store is checked through
 * a read-only open first). Returns 0, SL_EINVAL (refused), SL_EINUSE (another process, or
 * another open store in this one, holds `dir`), SL_EIO, or SL_ENOMEM. */
int sl_store_open(struct sl_store **out, const char *dir, struct sl_store_identity *identity,
                  char *err, size_t err_len);

/* Closes the store (flushing nothing extra: synced writes are already durable). NULL is fine. */
void sl_store_close(struct sl_store *s);

/* ---- writes ------------------------------------------------------------------------------ */

/* A set of writes applied atomically. A batch belongs to no store: it records its operations
 * (payloads as sl_buf references) and sl_store_write turns them into one RocksDB WriteBatch. */
struct sl_store_batch;

/* NULL when out of memory. */
struct sl_store_batch *sl_store_batch_new(void);
/* NULL is fine. */
void sl_store_batch_free(struct sl_store_batch *b);
/* Empties `b` for reuse. */
void sl_store_batch_clear(struct sl_store_batch *b);
/* Bytes queued in `b` so far: the size of the RocksDB WriteBatch it becomes (header, and per
 * operation a tag, family id, lengths, key and value), 0 when empty. */
size_t sl_store_batch_bytes(const struct sl_store_batch *b);

/* Adds the write part of a raft update of group `group` (sl_raft_update steps 1: snapshot and
 * the log prefix it covers dropped, truncation from truncate_from, entries appended, hard state
 * stored), in that order. Only u->write_id != 0 updates carry a write. Copies what it needs;
 * `u` stays the caller's. Returns 0 or SL_ENOMEM. */
int sl_store_batch_add_update(struct sl_store_batch *b, uint64_t group,
                              const struct sl_raft_update *u);

/* Adds the removal of everything stored for `group` (log, hard state, snapshot). Returns 0 or
 * SL_ENOMEM (then `b` is unchanged, as for the other batch_add functions). */
int sl_store_batch_drop_group(struct sl_store_batch *b, uint64_t group);

/* Applies `b` atomically; with `sync`, returns only once it is durable (fsync). Returns 0 or
 * SL_EIO. `b` is left as it was (clear it to reuse). An empty batch writes nothing. */
int sl_store_write(struct sl_store *s, struct sl_store_batch *b, bool sync);

/* ---- reads ------------------------------------------------------------------------------- */

/* Ids of every group with a hard state, ascending. `*ids` is allocated with sl_malloc and
 * belongs to the caller (sl_free); NULL when `*n` is 0. Returns 0, SL_ECORRUPT, SL_EIO or
 * SL_ENOMEM. */
int sl_store_groups(struct sl_store *s, uint64_t **ids, size_t *n);

/* Fills `boot` with what group `group` restarts from: hard state, snapshot (data reference owned
 * by the caller: release boot->snapshot.data with sl_buf_unref), last_index (the highest log
 * index, or the snapshot index when the log is empty) and applied = snapshot.index. Returns 0,
 * SL_ENOTFOUND (no hard state), SL_ECORRUPT (a value fails its checksum or layout), SL_EIO,
 * SL_ENOMEM. */
int sl_store_load_group(struct sl_store *s, uint64_t group, struct sl_raft_boot *boot);

/* Reads entries lo..hi (inclusive) of `group` in order with the semantics of
 * sl_raft_storage.read (raft.h): stops after out_max entries or before the payloads would pass
 * bytes_max, the first entry always returned. Each entry's data is a new sl_buf (NULL for an
 * empty payload) owned by the caller. A missing index inside lo..hi ends the read early (the
 * caller sees fewer entries); SL_ECORRUPT for a value that fails its checksum. This function
 * has exactly the signature of sl_raft_storage.read, with `ctx` the struct sl_store. Also
 * SL_EIO, SL_ENOMEM; on any error no entry is handed out. */
int sl_store_read(void *ctx, uint64_t group, uint64_t lo, uint64_t hi, size_t bytes_max,
                  struct sl_raft_entry *out, size_t out_max, size_t *n_out);

/* The lowest and highest log index of `group` present in the store; both 0 when its log is
 * empty. Returns 0, SL_ECORRUPT or SL_EIO. */
int sl_store_log_bounds(struct sl_store *s, uint64_t group, uint64_t *first, uint64_t *last);

#endif
