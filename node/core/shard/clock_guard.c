/* clock_guard.c — see clock_guard.h. */
#include "core/shard/clock_guard.h"

void sl_clock_guard_init(struct sl_clock_guard *g, uint64_t wall_ms, uint64_t mono_ms,
                         uint64_t slack_ms)
{
    g->wall_ms = wall_ms;
    g->mono_ms = mono_ms;
    g->slack_ms = slack_ms;
}

uint64_t sl_clock_guard_now(struct sl_clock_guard *g, uint64_t wall_ms, uint64_t mono_ms)
{
    uint64_t elapsed = mono_ms > g->mono_ms ? mono_ms - g->mono_ms : 0;
    uint64_t bound = g->wall_ms + elapsed + g->slack_ms;
    uint64_t now = wall_ms < bound ? wall_ms : bound;
    g->wall_ms = now;
    g->mono_ms = mono_ms;
    return now;
}
