/* doc.h — a Kinesis request or answer as a tree of values, independent of its encoding.
 *
 * The Kinesis front end speaks JSON (application/x-amz-json-1.1) and CBOR
 * (application/x-amz-cbor-1.1). Both decoders (json.h, cbor.h) build the same tree, so the
 * mapping from Kinesis members to sluice requests is written once; both encoders sit behind one
 * writer (struct sl_enc below), so answers are written once.
 *
 * Decoding: every value of a tree lives in one arena owned by a struct sl_doc; strings and byte
 * strings are copied into it (strings NUL-terminated, UTF-8 checked). A tree is read-only once
 * built; sl_doc_close frees all of it. Decoders bound the nesting depth and the number of
 * values (struct sl_doc_limits), so a hostile body cannot exhaust the stack or memory beyond a
 * small multiple of its own size.
 *
 * Encoding: calls are made in document order. Maps and arrays announce their member count up
 * front (CBOR writes definite lengths, which every AWS SDK reads) and are closed with
 * sl_enc_end. A failed allocation makes the writer sticky-failed: later calls do nothing and
 * sl_enc_finish reports SL_ENOMEM, so callers check once at the end.
 *
 * Not thread-safe; a tree may be read by any number of threads once built.
 */
#ifndef SL_DOC_H
#define SL_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sl_doc_type {
    SL_DOC_NULL,
    SL_DOC_BOOL,
    SL_DOC_NUMBER,
    SL_DOC_STRING, /* UTF-8 text */
    SL_DOC_BYTES,  /* CBOR byte string (JSON has none: blobs are base64 strings) */
    SL_DOC_ARRAY,
    SL_DOC_MAP,
};

struct sl_doc_member;

struct sl_doc_value {
    enum sl_doc_type type;
    /* NUMBER: `d` always holds it; `is_int` when it is integral and fits int64 (then `i` holds
     * it exactly). JSON 3 and 3.0 are both integral. */
    bool is_int;
    /* CBOR tag 1 (epoch-based date/time) preceded the value. The AWS SDKs send timestamps as
     * tag 1 + integer epoch MILLISECONDS (KINESIS.md §2); sl_doc_time_ms interprets it. */
    bool time_tag;
    bool b;    /* BOOL */
    int64_t i; /* NUMBER, when is_int */
    double d;  /* NUMBER */
    /* STRING: `len` bytes at `s`, NUL-terminated (a string holding U+0000 has len > strlen);
     * BYTES: `len` bytes at `s` (also followed by a NUL, not counted). */
    const char *s;
    size_t len;
    /* ARRAY: `n` values at `items`; MAP: `n` members at `members`, in document order. */
    size_t n;
    const struct sl_doc_value *items;
    const struct sl_doc_member *members;
};

struct sl_doc_member {
    const char *key; /* NUL-terminated UTF-8 */
    size_t key_len;
    struct sl_doc_value value;
};

/* Bounds a decoder enforces; a document beyond them is refused like a malformed one. A field
 * left 0 takes its default below, so `{.depth_max = 4}` bounds only the depth. The decoders
 * keep open maps and arrays on a heap stack, not the C stack, so even a large depth_max cannot
 * overflow the stack. */
struct sl_doc_limits {
    unsigned depth_max; /* maps and arrays nested deeper than this (the root is depth 1) */
    size_t values_max;  /* values in the whole document, members' values included (not keys) */
};

/* Sensible bounds for Kinesis requests: PutRecords of 500 records with a few members each fits
 * many times over. */
#define SL_DOC_DEPTH_MAX  32
#define SL_DOC_VALUES_MAX 100000

struct sl_doc_chunk;

/* The arena a decoded tree lives in. Zero-initialise (or sl_doc_init), decode into it, read the
 * tree, sl_doc_close. A failed decode may leave values in the arena; sl_doc_close frees them. */
struct sl_doc {
    struct sl_doc_chunk *chunks;
    size_t bytes; /* allocated so far, for tests */
};

void sl_doc_init(struct sl_doc *d);
/* Frees every value decoded into `d`; `d` may be decoded into again after sl_doc_init. */
void sl_doc_close(struct sl_doc *d);

/* `size` bytes from the arena (8-byte aligned), or NULL when out of memory. For decoders. */
void *sl_doc_alloc(struct sl_doc *d, size_t size);

/* For decoders: `lim` with NULL or 0 fields replaced by the defaults. */
struct sl_doc_limits sl_doc_limits_resolve(const struct sl_doc_limits *lim);

/* For decoders, which collect the members of an open map or array on a stack of their own and
 * call this when it closes: makes `*v` a MAP holding copies of the `n` members at `m`, or
 * (`type` SL_DOC_ARRAY) an ARRAY holding copies of their values, the keys being ignored. The
 * copies live in the arena. Returns SL_OK or SL_ENOMEM. */
int sl_doc_set_container(struct sl_doc *d, struct sl_doc_value *v, enum sl_doc_type type,
                         const struct sl_doc_member *m, size_t n);

/* The value of member `key` of `map`; NULL when `map` is NULL, not a MAP, or has no such
 * member. When a key repeats, the last one counts (as Kinesis' JSON reader does). */
const struct sl_doc_value *sl_doc_get(const struct sl_doc_value *map, const char *key);

/* A timestamp member as epoch milliseconds: a CBOR tag-1 value is milliseconds already (the
 * AWS convention, KINESIS.md §2); any other number is epoch seconds, possibly fractional
 * (JSON's 1459799926.480), rounded to the nearest millisecond. Returns false when `v` is not a
 * number or is out of the int64 millisecond range. */
bool sl_doc_time_ms(const struct sl_doc_value *v, int64_t *ms);

/* ---- writing ---- */

enum sl_enc_kind { SL_ENC_JSON, SL_ENC_CBOR };

#define SL_ENC_DEPTH_MAX 32

/* One open map or array. The announced count is checked in both encodings, so that a wrong
 * count is caught by the JSON tests too rather than only by a CBOR client. */
struct sl_enc_level {
    size_t left; /* members (map) or items (array) still to write */
    bool map;
    bool started; /* JSON: a member was written, so the next one needs a comma */
};

struct sl_enc {
    enum sl_enc_kind kind;
    unsigned char *buf;
    size_t len, cap; /* cap > len once anything was written: one spare byte (see sl_enc_reserve) */
    bool failed;
    unsigned depth;
    struct sl_enc_level open[SL_ENC_DEPTH_MAX];
    bool after_key; /* in a map, a key was written: its value comes next */
    bool done;      /* the top-level value was begun */
};

void sl_enc_init(struct sl_enc *e, enum sl_enc_kind kind);
/* Frees the buffer unless it was taken by sl_enc_finish. */
void sl_enc_close(struct sl_enc *e);

/* Values are written where the document expects one: at the top (once), as an array item, or
 * after a key in a map. Writing more members than announced, a value where a key is due, or
 * closing early is a bug (asserted), even after an allocation failed. */
void sl_enc_map(struct sl_enc *e, size_t members); /* `members` key/value pairs follow */
void sl_enc_array(struct sl_enc *e, size_t items);
void sl_enc_end(struct sl_enc *e); /* closes the innermost map or array */
void sl_enc_key(struct sl_enc *e, const char *key);
/* `s` is UTF-8 (not checked: it comes from decoded or validated requests). JSON escapes '"',
 * '\\' and control characters and keeps the rest as is. */
void sl_enc_str(struct sl_enc *e, const char *s, size_t len);
void sl_enc_cstr(struct sl_enc *e, const char *s);
/* A blob: JSON writes padded base64 text, CBOR a byte string. */
void sl_enc_bytes(struct sl_enc *e, const void *p, size_t len);
void sl_enc_int(struct sl_enc *e, int64_t v);
/* A finite number (asserted). JSON writes an integral `v` within int64 with all its digits,
 * any other with the fewest of 15, 16 or 17 significant digits that read back as `v`; CBOR
 * writes the shortest of half, single and double precision that holds `v` exactly. */
void sl_enc_double(struct sl_enc *e, double v);
void sl_enc_bool(struct sl_enc *e, bool v);
void sl_enc_null(struct sl_enc *e);
/* A timestamp: JSON writes epoch seconds with three decimals (1459799926.480); CBOR writes
 * tag 1 + integer epoch milliseconds (what the AWS SDKs for Java read). */
void sl_enc_time_ms(struct sl_enc *e, int64_t ms);

/* Writes the decoded value `v` (and everything under it) as the next value, so that decoding
 * the output gives the same tree. Where an encoding cannot say it, the meaning is kept: in
 * JSON BYTES become base64 strings and a tag-1 number a timestamp in seconds (sl_enc_time_ms);
 * numbers that are not is_int are written as their double, so integers beyond int64 read back
 * as doubles and a non-integer whose double is integral (2^60 + 0.5) as an integer. `v` must
 * not nest deeper than SL_ENC_DEPTH_MAX levels below the current one (asserted). For echoing
 * documents and for round-trip tests. */
void sl_enc_value(struct sl_enc *e, const struct sl_doc_value *v);

/* Ends writing: on success `*out` (malloc'd through core/alloc.h, the caller frees it with
 * sl_free) holds `*len` bytes and the writer no longer owns them. SL_ENOMEM if any write
 * failed (nothing is handed over). Calls must have been balanced (asserted). */
int sl_enc_finish(struct sl_enc *e, unsigned char **out, size_t *len);

/* For the JSON and CBOR halves of the writer (json.c, cbor.c): room for `n` more bytes of
 * output, which the caller must fill, plus one spare byte after them that it may scribble on
 * (base64 writes its NUL there); NULL once the writer has failed. */
unsigned char *sl_enc_reserve(struct sl_enc *e, size_t n);
/* Appends `n` bytes. */
void sl_enc_put(struct sl_enc *e, const void *p, size_t n);

#endif
