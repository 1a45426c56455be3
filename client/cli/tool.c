/* tool.c — helpers shared by the sluice CLI and sluice-bench (see tool.h). */
#include "tool.h"

#include "core/base64.h"
#include "core/utf8.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- command-line parsing ---- */

static const struct tool_opt *find_in(const struct tool_opt *t, const char *name, size_t len)
{
    for (; t && t->name; t++) {
        if (strlen(t->name) == len && memcmp(t->name, name, len) == 0) {
            return t;
        }
    }
    return NULL;
}

const struct tool_opt *tool_opt_find(const char *arg, const struct tool_opt *a,
                                     const struct tool_opt *b)
{
    static const struct tool_opt help = {"help", false, 'h'};
    if (strcmp(arg, "-h") == 0) {
        arg = "--help";
    }
    if (strncmp(arg, "--", 2) != 0) {
        return NULL;
    }
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const struct tool_opt *o = find_in(a, name, len);
    if (o == NULL) {
        o = find_in(b, name, len);
    }
    if (o == NULL && len == 4 && memcmp(name, "help", 4) == 0) {
        o = &help;
    }
    return o;
}

int tool_args_parse(int argc, char *const argv[], const struct tool_opt *a,
                    const struct tool_opt *b, struct tool_args *out)
{
    memset(out, 0, sizeof(*out));
    bool options_done = false;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        bool is_opt = !options_done && arg[0] == '-' && arg[1] != '\0';
        if (is_opt && strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (!is_opt) {
            if (out->n_pos >= TOOL_ARGS_MAX) {
                snprintf(out->err, sizeof(out->err), "too many arguments");
                return -1;
            }
            out->pos[out->n_pos++] = arg;
            continue;
        }
        const struct tool_opt *o = tool_opt_find(arg, a, b);
        if (o == NULL) {
            const char *eq = strchr(arg, '=');
            snprintf(out->err, sizeof(out->err), "unknown option '%.*s'",
                     eq ? (int)(eq - arg) : (int)strlen(arg), arg);
            return -1;
        }
        const char *eq = strchr(arg, '=');
        const char *val = NULL;
        if (o->has_arg) {
            if (eq) {
                val = eq + 1;
            } else if (i + 1 < argc) {
                val = argv[++i];
            } else {
                snprintf(out->err, sizeof(out->err), "option '--%s' needs a value", o->name);
                return -1;
            }
        } else if (eq) {
            snprintf(out->err, sizeof(out->err), "option '--%s' takes no value", o->name);
            return -1;
        }
        if (out->n_opts >= TOOL_ARGS_MAX) {
            snprintf(out->err, sizeof(out->err), "too many options");
            return -1;
        }
        out->opt_id[out->n_opts] = o->id;
        out->opt_val[out->n_opts] = val;
        out->n_opts++;
    }
    return 0;
}

int tool_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (s == NULL || *s == '\0') {
        return -1;
    }
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    if (v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- time ---- */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Reads exactly `n` digits at *p into *v and advances. */
static bool digits(const char **p, int n, unsigned *v)
{
    unsigned x = 0;
    for (int i = 0; i < n; i++) {
        char ch = (*p)[i];
        if (ch < '0' || ch > '9') {
            return false;
        }
        x = x * 10 + (unsigned)(ch - '0');
    }
    *p += n;
    *v = x;
    return true;
}

int tool_parse_time_ms(const char *s, int64_t *out)
{
    if (s == NULL || *s == '\0') {
        return -1;
    }
    if (strspn(s, "0123456789") == strlen(s)) {
        uint64_t v;
        if (tool_parse_u64(s, 0, (uint64_t)INT64_MAX, &v) != 0) {
            return -1;
        }
        *out = (int64_t)v;
        return 0;
    }
    const char *p = s;
    unsigned y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d)) {
        return -1;
    }
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi)) {
            return -1;
        }
        if (*p == ':') {
            p++;
            if (!digits(&p, 2, &sec)) {
                return -1;
            }
            if (*p == '.' || *p == ',') {
                p++;
                int n = 0;
                while (*p >= '0' && *p <= '9') {
                    if (n < 3) {
                        ms = ms * 10 + (unsigned)(*p - '0');
                    }
                    n++;
                    p++;
                }
                if (n == 0) {
                    return -1;
                }
                for (; n < 3; n++) {
                    ms *= 10;
                }
            }
        }
    }
    int64_t offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        unsigned oh, om = 0;
        if (!digits(&p, 2, &oh)) {
            return -1;
        }
        if (*p == ':') {
            p++;
        }
        if (*p && !digits(&p, 2, &om)) {
            return -1;
        }
        if (oh > 23 || om > 59) {
            return -1;
        }
        offset_min = sign * (int64_t)(oh * 60 + om);
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
        return -1;
    }
    unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] + (mo == 2 && leap)) {
        return -1;
    }
    int64_t days = days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    *out = secs * 1000 + ms;
    return 0;
}

void tool_format_time(int64_t ms, char out[32])
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t frac = ms - secs * 1000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rem = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    char tmp[128]; /* room for any value the compiler can imagine; real ones take 24 */
    snprintf(tmp, sizeof(tmp), "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long)y, m, d,
             (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60),
             (unsigned)frac);
    snprintf(out, 32, "%.31s", tmp);
}

/* ---- text ---- */

void tool_buf_free(struct tool_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void tool_buf_add(struct tool_buf *b, const void *s, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1) {
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            fputs("sluice: out of memory\n", stderr);
            abort();
        }
        b->p = p;
        b->cap = cap;
    }
    if (len) {
        memcpy(b->p + b->len, s, len);
    }
    b->len += len;
    b->p[b->len] = '\0';
}

void tool_buf_str(struct tool_buf *b, const char *s)
{
    tool_buf_add(b, s, strlen(s));
}

void tool_buf_printf(struct tool_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n < sizeof(small)) {
        tool_buf_add(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (big == NULL) {
        fputs("sluice: out of memory\n", stderr);
        abort();
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    tool_buf_add(b, big, (size_t)n);
    free(big);
}

void tool_buf_json_str(struct tool_buf *b, const char *s, size_t len)
{
    if (s == NULL) {
        tool_buf_str(b, "null");
        return;
    }
    const unsigned char *u = (const unsigned char *)s;
    tool_buf_add(b, "\"", 1);
    size_t run = 0; /* bytes at u[i - run .. i) to copy as they are */
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = sl_utf8_decode(u + i, len - i, &cp);
        const char *esc = NULL;
        char tmp[8];
        if (n == 0) {
            esc = "\\ufffd";
            n = 1;
        } else if (cp == '"') {
            esc = "\\\"";
        } else if (cp == '\\') {
            esc = "\\\\";
        } else if (cp == '\n') {
            esc = "\\n";
        } else if (cp == '\r') {
            esc = "\\r";
        } else if (cp == '\t') {
            esc = "\\t";
        } else if (cp < 0x20 || cp == 0x7f) {
            snprintf(tmp, sizeof(tmp), "\\u%04x", (unsigned)cp);
            esc = tmp;
        }
        if (esc) {
            tool_buf_add(b, u + i - run, run);
            run = 0;
            tool_buf_str(b, esc);
        } else {
            run += n;
        }
        i += n;
    }
    tool_buf_add(b, u + len - run, run);
    tool_buf_add(b, "\"", 1);
}

void tool_buf_base64(struct tool_buf *b, const void *data, size_t len)
{
    /* In chunks of a multiple of 3 bytes, so that only the last one is padded. */
    const unsigned char *s = data;
    char out[4 * 1024 + 1];
    for (size_t i = 0; i < len; i += 3 * 1024) {
        size_t n = len - i < 3 * 1024 ? len - i : 3 * 1024;
        tool_buf_add(b, out, sl_base64_encode(s + i, n, out));
    }
}

bool tool_printable_utf8(const void *data, size_t len)
{
    const unsigned char *u = data;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = sl_utf8_decode(u + i, len - i, &cp);
        if (n == 0 || (cp < 0x20 && cp != '\t') || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
            return false;
        }
        i += n;
    }
    return true;
}

/* ---- latency ---- */

static size_t hist_index(uint64_t v)
{
    if (v < TOOL_HIST_SUB) {
        return (size_t)v;
    }
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= 5 */
    uint64_t sub = (v >> (e - 5)) - TOOL_HIST_SUB;
    return (size_t)(e - 4) * TOOL_HIST_SUB + (size_t)sub;
}

static uint64_t hist_upper(size_t idx)
{
    if (idx < TOOL_HIST_SUB) {
        return idx;
    }
    unsigned e = (unsigned)(idx / TOOL_HIST_SUB) + 4;
    uint64_t sub = idx % TOOL_HIST_SUB;
    uint64_t lower = (TOOL_HIST_SUB + sub) << (e - 5);
    return lower + (((uint64_t)1 << (e - 5)) - 1);
}

void tool_hist_add(struct tool_hist *h, uint64_t us)
{
    h->n[hist_index(us)]++;
    h->count++;
    if (us > h->max) {
        h->max = us;
    }
}

void tool_hist_merge(struct tool_hist *into, const struct tool_hist *from)
{
    for (size_t i = 0; i < TOOL_HIST_BUCKETS; i++) {
        into->n[i] += from->n[i];
    }
    into->count += from->count;
    if (from->max > into->max) {
        into->max = from->max;
    }
}

uint64_t tool_hist_quantile(const struct tool_hist *h, double q)
{
    if (h->count == 0) {
        return 0;
    }
    if (q < 0) {
        q = 0;
    }
    if (q > 1) {
        q = 1;
    }
    /* The smallest value with at least ceil(q * count) values at or below it. */
    uint64_t rank = (uint64_t)(q * (double)h->count + 0.999999);
    if (rank == 0) {
        rank = 1;
    }
    uint64_t seen = 0;
    for (size_t i = 0; i < TOOL_HIST_BUCKETS; i++) {
        seen += h->n[i];
        if (seen >= rank) {
            uint64_t u = hist_upper(i);
            return u < h->max ? u : h->max;
        }
    }
    return h->max;
}
