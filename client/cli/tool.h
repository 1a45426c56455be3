/* tool.h — small helpers the `sluice` CLI and `sluice-bench` share: command-line parsing,
 * numbers and times, JSON and base64 output, latency histograms. Pure functions (no I/O
 * except where a FILE is passed), so tests/unit/test_client.c checks them directly.
 */
#ifndef SLUICE_TOOL_H
#define SLUICE_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- command-line parsing ----
 *
 * Options are long ("--name value", "--name=value"); "-h" means "--help"; "--" ends the
 * options; anything else is a positional argument, "-" included. */

struct tool_opt {
    const char *name; /* without the dashes; NULL ends a table */
    bool has_arg;
    int id;
};

#define TOOL_ARGS_MAX 64

struct tool_args {
    int n_pos;
    const char *pos[TOOL_ARGS_MAX];
    int n_opts;
    int opt_id[TOOL_ARGS_MAX];
    const char *opt_val[TOOL_ARGS_MAX]; /* NULL for flags */
    char err[256];
};

/* Parses argv[0..argc) against the tables `a` and `b` (either may be NULL). Returns 0, or -1
 * with a message in `out->err` for an unknown option, a missing value, a value given to a
 * flag, or too many arguments. */
int tool_args_parse(int argc, char *const argv[], const struct tool_opt *a,
                    const struct tool_opt *b, struct tool_args *out);

/* The table entry for option text `arg` ("--name" or "--name=value"), or NULL. */
const struct tool_opt *tool_opt_find(const char *arg, const struct tool_opt *a,
                                     const struct tool_opt *b);

/* Parses a decimal integer in [min, max] (no sign, no spaces). Returns 0 or -1. */
int tool_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Parses a time: milliseconds since the epoch (digits only), or ISO 8601
 * "YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|+HH:MM|-HH:MM]" (no zone means UTC; ' ' may replace 'T').
 * Returns 0 or -1. */
int tool_parse_time_ms(const char *s, int64_t *out);

/* Writes `ms` since the epoch as "YYYY-MM-DDTHH:MM:SS.fffZ". */
void tool_format_time(int64_t ms, char out[32]);

/* ---- text ---- */

/* A growable string. All appends keep it NUL-terminated; out of memory aborts the tool. */
struct tool_buf {
    char *p;
    size_t len, cap;
};

void tool_buf_free(struct tool_buf *b);
void tool_buf_add(struct tool_buf *b, const void *s, size_t len);
void tool_buf_str(struct tool_buf *b, const char *s);
void tool_buf_printf(struct tool_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends `len` bytes as a JSON string with its quotes: escapes '"', '\\' and control
 * characters; bytes that are not valid UTF-8 become U+FFFD. NULL appends null. */
void tool_buf_json_str(struct tool_buf *b, const char *s, size_t len);

/* Appends `len` bytes in padded standard base64. */
void tool_buf_base64(struct tool_buf *b, const void *data, size_t len);

/* True when `len` bytes are valid UTF-8 with no control characters but tab (so that a record
 * prints on one line as text). */
bool tool_printable_utf8(const void *data, size_t len);

/* ---- latency ----
 *
 * A log-linear histogram of microsecond values: 32 sub-buckets per power of two, so a
 * reported percentile is within ~3% of the true value. Fixed size; merging is adding. */

#define TOOL_HIST_SUB     32
#define TOOL_HIST_BUCKETS (64 * TOOL_HIST_SUB)

struct tool_hist {
    uint64_t count;
    uint64_t max;
    uint64_t n[TOOL_HIST_BUCKETS];
};

void tool_hist_add(struct tool_hist *h, uint64_t us);
void tool_hist_merge(struct tool_hist *into, const struct tool_hist *from);

/* The value at quantile q (0..1): the upper bound of its bucket, capped at the maximum seen;
 * 0 when empty. */
uint64_t tool_hist_quantile(const struct tool_hist *h, double q);

#endif
