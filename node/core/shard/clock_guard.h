/* clock_guard.h — a wall clock that may not run ahead of the monotonic one, for deciding what
 * retention deletes.
 *
 * Record arrival times come from the wall clock, so retention must compare them with the wall
 * clock too. But a wall clock stepped forward by more than a stream's retention would make every
 * record look expired and retention would delete them all. The guarded clock follows the wall
 * clock, except that it never advances faster than the monotonic clock (plus `slack_ms` per
 * reading): a forward step is absorbed (records then live longer by the step, never shorter),
 * and a backward step is followed at once (deleting less is always safe).
 */
#ifndef SL_SHARD_CLOCK_GUARD_H
#define SL_SHARD_CLOCK_GUARD_H

#include <stdint.h>

struct sl_clock_guard {
    uint64_t wall_ms; /* the last guarded reading */
    uint64_t mono_ms; /* the monotonic time of that reading */
    uint64_t slack_ms;
};

/* Starts the guard at the current wall and monotonic times. */
void sl_clock_guard_init(struct sl_clock_guard *g, uint64_t wall_ms, uint64_t mono_ms,
                         uint64_t slack_ms);

/* The guarded wall time for a reading of both clocks: min(wall_ms, last guarded reading +
 * monotonic time elapsed since + slack_ms). */
uint64_t sl_clock_guard_now(struct sl_clock_guard *g, uint64_t wall_ms, uint64_t mono_ms);

#endif
