/* sluice.c — the `sluice` command-line tool: administer streams, put and get records.
 *
 * Built on libsluice's public header only. One table of commands (name, synopsis, options,
 * handler) drives dispatch, usage messages and --help. Output is human-readable by default and
 * one JSON object per line with --json. Exit status: 0 success, 1 a failed operation
 * ("sluice: ErrorName: message" on stderr), 2 a usage error.
 */
#include "sluice/sluice.h"
#include "tool.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_NODES "tcp://127.0.0.1:4510"
#define EXIT_USAGE    2

enum {
    O_HELP = 'h',
    O_NODES = 1000,
    O_JSON,
    O_TIMEOUT,
    O_RETRIES,
    O_SHARDS,
    O_MODE,
    O_WAIT,
    O_WAIT_TIMEOUT,
    O_ENFORCE,
    O_KEY,
    O_KEY_FROM_LINE,
    O_SEPARATOR,
    O_EHK,
    O_SHARD,
    O_FROM,
    O_SEQ,
    O_TIMESTAMP,
    O_LIMIT,
    O_MAX_RECORDS,
    O_FOLLOW,
};

static const struct tool_opt global_opts[] = {
    {"nodes", true, O_NODES},     {"json", false, O_JSON}, {"timeout-ms", true, O_TIMEOUT},
    {"retries", true, O_RETRIES}, {NULL, false, 0},
};

struct cli {
    bool json;
    struct sluice_client *c;
    const struct command *cmd;
    const struct tool_args *args;
};

struct command {
    const char *name;
    const char *synopsis;
    const char *help;
    const struct tool_opt *opts;
    int min_pos, max_pos;
    int (*run)(struct cli *cli);
};

static const struct command *find_command(const char *name);

/* ---- output helpers ---- */

static void out_buf(struct tool_buf *b)
{
    if (b->len > 0) {
        fwrite(b->p, 1, b->len, stdout);
    }
    b->len = 0;
}

static int fail(int rc)
{
    fprintf(stderr, "sluice: %s: %s\n", sluice_errname(rc), sluice_errmsg());
    return 1;
}

static void print_usage(FILE *f, const struct command *cmd);

static int usage_error(const struct command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int usage_error(const struct command *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sluice: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    print_usage(stderr, cmd);
    if (cmd) {
        fprintf(stderr, "Try 'sluice %s --help' for more.\n", cmd->name);
    } else {
        fputs("Try 'sluice --help' for more.\n", stderr);
    }
    return EXIT_USAGE;
}

static const char *opt_get(const struct cli *cli, int id)
{
    const char *v = NULL;
    for (int i = 0; i < cli->args->n_opts; i++) {
        if (cli->args->opt_id[i] == id) {
            v = cli->args->opt_val[i] ? cli->args->opt_val[i] : "";
        }
    }
    return v;
}

static bool opt_has(const struct cli *cli, int id)
{
    return opt_get(cli, id) != NULL;
}

/* Parses option `id` as an integer in [min, max]; returns 0 (leaving *v if absent) or the
 * usage exit status. */
static int opt_u64(const struct cli *cli, int id, const char *name, uint64_t min, uint64_t max,
                   uint64_t *v)
{
    const char *s = opt_get(cli, id);
    if (s && tool_parse_u64(s, min, max, v) != 0) {
        return usage_error(cli->cmd, "--%s wants an integer from %llu to %llu, not '%s'", name,
                           (unsigned long long)min, (unsigned long long)max, s);
    }
    return 0;
}

/* Appends record data: as text when it is printable UTF-8, else "base64:" and base64. */
static void add_data_human(struct tool_buf *b, const void *data, size_t len)
{
    if (tool_printable_utf8(data, len)) {
        tool_buf_add(b, data, len);
    } else {
        tool_buf_str(b, "base64:");
        tool_buf_base64(b, data, len);
    }
}

static void add_shard_json(struct tool_buf *b, const struct sluice_shard *s)
{
    tool_buf_str(b, "{\"shard_id\":");
    tool_buf_json_str(b, s->shard_id, strlen(s->shard_id));
    tool_buf_str(b, ",\"parent_shard_id\":");
    tool_buf_json_str(b, s->parent_shard_id, s->parent_shard_id ? strlen(s->parent_shard_id) : 0);
    tool_buf_str(b, ",\"adjacent_parent_shard_id\":");
    tool_buf_json_str(b, s->adjacent_parent_shard_id,
                      s->adjacent_parent_shard_id ? strlen(s->adjacent_parent_shard_id) : 0);
    tool_buf_printf(b,
                    ",\"hash_key_range\":{\"starting_hash_key\":\"%s\",\"ending_hash_key\":"
                    "\"%s\"}",
                    s->starting_hash_key ? s->starting_hash_key : "",
                    s->ending_hash_key ? s->ending_hash_key : "");
    tool_buf_str(b, ",\"sequence_number_range\":{\"starting_sequence_number\":");
    tool_buf_json_str(b, s->starting_sequence_number,
                      s->starting_sequence_number ? strlen(s->starting_sequence_number) : 0);
    tool_buf_str(b, ",\"ending_sequence_number\":");
    tool_buf_json_str(b, s->ending_sequence_number,
                      s->ending_sequence_number ? strlen(s->ending_sequence_number) : 0);
    tool_buf_str(b, "}}");
}

static void add_shard_human(struct tool_buf *b, const struct sluice_shard *s)
{
    tool_buf_printf(b, "%s  %-6s  hash %s..%s  seq %s..%s", s->shard_id,
                    s->ending_sequence_number ? "CLOSED" : "OPEN",
                    s->starting_hash_key ? s->starting_hash_key : "?",
                    s->ending_hash_key ? s->ending_hash_key : "?",
                    s->starting_sequence_number ? s->starting_sequence_number : "?",
                    s->ending_sequence_number ? s->ending_sequence_number : "");
    if (s->parent_shard_id) {
        tool_buf_printf(b, "  parent %s", s->parent_shard_id);
    }
    if (s->adjacent_parent_shard_id) {
        tool_buf_printf(b, "  adjacent-parent %s", s->adjacent_parent_shard_id);
    }
}

/* ---- create-stream, delete-stream, retention, limits ---- */

static const struct tool_opt create_opts[] = {
    {"shards", true, O_SHARDS}, {"mode", true, O_MODE},
    {"wait", false, O_WAIT},    {"wait-timeout-s", true, O_WAIT_TIMEOUT},
    {NULL, false, 0},
};

static int cmd_create_stream(struct cli *cli)
{
    const char *stream = cli->args->pos[0];
    enum sluice_stream_mode mode = SLUICE_PROVISIONED;
    const char *m = opt_get(cli, O_MODE);
    if (m && strcmp(m, "ON_DEMAND") == 0) {
        mode = SLUICE_ON_DEMAND;
    } else if (m && strcmp(m, "PROVISIONED") != 0) {
        return usage_error(cli->cmd, "--mode is PROVISIONED or ON_DEMAND, not '%s'", m);
    }
    uint64_t shards = mode == SLUICE_PROVISIONED ? 1 : 0;
    uint64_t wait_s = 120;
    int rc = opt_u64(cli, O_SHARDS, "shards", 1, 100000, &shards);
    if (rc == 0) {
        rc = opt_u64(cli, O_WAIT_TIMEOUT, "wait-timeout-s", 1, 86400, &wait_s);
    }
    if (rc != 0) {
        return rc;
    }
    rc = sluice_create_stream(cli->c, stream, (uint32_t)shards, mode);
    if (rc != 0) {
        return fail(rc);
    }
    const char *status = "CREATING";
    if (opt_has(cli, O_WAIT)) {
        rc = sluice_wait_active(cli->c, stream, (uint32_t)(wait_s * 1000));
        if (rc != 0) {
            return fail(rc);
        }
        status = "ACTIVE";
    }
    struct tool_buf b = {0};
    if (cli->json) {
        tool_buf_str(&b, "{\"stream_name\":");
        tool_buf_json_str(&b, stream, strlen(stream));
        tool_buf_printf(&b, ",\"stream_status\":\"%s\"}\n", status);
    } else {
        tool_buf_printf(&b, "%s %s\n", stream, status);
    }
    out_buf(&b);
    tool_buf_free(&b);
    return 0;
}

static const struct tool_opt delete_opts[] = {
    {"enforce-consumer-deletion", false, O_ENFORCE},
    {"wait", false, O_WAIT},
    {"wait-timeout-s", true, O_WAIT_TIMEOUT},
    {NULL, false, 0},
};

static int cmd_delete_stream(struct cli *cli)
{
    uint64_t wait_s = 120;
    int rc = opt_u64(cli, O_WAIT_TIMEOUT, "wait-timeout-s", 1, 86400, &wait_s);
    if (rc != 0) {
        return rc;
    }
    rc = sluice_delete_stream(cli->c, cli->args->pos[0], opt_has(cli, O_ENFORCE));
    if (rc == 0 && opt_has(cli, O_WAIT)) {
        rc = sluice_wait_deleted(cli->c, cli->args->pos[0], (uint32_t)(wait_s * 1000));
    }
    return rc ? fail(rc) : 0;
}

static int cmd_retention(struct cli *cli)
{
    const char *stream = cli->args->pos[0];
    uint64_t hours;
    if (tool_parse_u64(cli->args->pos[1], 1, UINT32_MAX, &hours) != 0) {
        return usage_error(cli->cmd, "HOURS must be a positive integer, not '%s'",
                           cli->args->pos[1]);
    }
    struct sluice_stream_description *d = NULL;
    int rc = sluice_describe_stream_summary(cli->c, stream, &d);
    if (rc != 0) {
        return fail(rc);
    }
    uint32_t before = d->retention_period_hours;
    sluice_stream_description_free(d);
    if (hours > before) {
        rc = sluice_increase_retention(cli->c, stream, (uint32_t)hours);
    } else if (hours < before) {
        rc = sluice_decrease_retention(cli->c, stream, (uint32_t)hours);
    }
    if (rc != 0) {
        return fail(rc);
    }
    struct tool_buf b = {0};
    if (cli->json) {
        tool_buf_str(&b, "{\"stream_name\":");
        tool_buf_json_str(&b, stream, strlen(stream));
        tool_buf_printf(&b,
                        ",\"previous_retention_period_hours\":%u,"
                        "\"retention_period_hours\":%llu}\n",
                        before, (unsigned long long)hours);
    } else if (hours == before) {
        tool_buf_printf(&b, "%s: retention is already %u hours\n", stream, before);
    } else {
        tool_buf_printf(&b, "%s: retention %u -> %llu hours\n", stream, before,
                        (unsigned long long)hours);
    }
    out_buf(&b);
    tool_buf_free(&b);
    return 0;
}

static int cmd_limits(struct cli *cli)
{
    struct sluice_limits l;
    int rc = sluice_describe_limits(cli->c, &l);
    if (rc != 0) {
        return fail(rc);
    }
    if (cli->json) {
        printf("{\"shard_limit\":%u,\"open_shard_count\":%u,\"on_demand_stream_count\":%u,"
               "\"on_demand_stream_count_limit\":%u}\n",
               l.shard_limit, l.open_shard_count, l.on_demand_stream_count,
               l.on_demand_stream_count_limit);
    } else {
        printf("Shard limit:                   %u\nOpen shards:                   %u\n"
               "On-demand streams:             %u\nOn-demand stream limit:        %u\n",
               l.shard_limit, l.open_shard_count, l.on_demand_stream_count,
               l.on_demand_stream_count_limit);
    }
    return 0;
}

/* ---- tag-stream, untag-stream, list-tags ---- */

static int cmd_tag_stream(struct cli *cli)
{
    struct sluice_tag tags[SLUICE_TAGS_MAX] = {{0}};
    char *keys[SLUICE_TAGS_MAX] = {0};
    size_t n = (size_t)cli->args->n_pos - 1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *arg = cli->args->pos[i + 1];
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg) {
            rc = usage_error(cli->cmd, "each tag is KEY=VALUE with a non-empty KEY, not '%s'", arg);
        } else if (!(keys[i] = strndup(arg, (size_t)(eq - arg)))) {
            fputs("sluice: out of memory\n", stderr);
            rc = 1;
        }
        tags[i] = (struct sluice_tag){keys[i], eq ? eq + 1 : ""};
    }
    if (rc == 0) {
        rc = sluice_add_tags(cli->c, cli->args->pos[0], tags, n);
        rc = rc ? fail(rc) : 0;
    }
    for (size_t i = 0; i < n; i++) {
        free(keys[i]);
    }
    return rc;
}

static int cmd_untag_stream(struct cli *cli)
{
    int rc = sluice_remove_tags(cli->c, cli->args->pos[0], cli->args->pos + 1,
                                (size_t)cli->args->n_pos - 1);
    return rc ? fail(rc) : 0;
}

static int cmd_list_tags(struct cli *cli)
{
    const char *stream = cli->args->pos[0];
    struct sluice_tag_list *l = NULL;
    int rc = sluice_list_tags(cli->c, stream, &l);
    if (rc != 0) {
        return fail(rc);
    }
    struct tool_buf b = {0};
    if (cli->json) {
        tool_buf_str(&b, "{\"stream_name\":");
        tool_buf_json_str(&b, stream, strlen(stream));
        tool_buf_str(&b, ",\"tags\":{");
        for (size_t i = 0; i < l->n_tags; i++) {
            tool_buf_str(&b, i ? "," : "");
            tool_buf_json_str(&b, l->tags[i].key, strlen(l->tags[i].key));
            tool_buf_str(&b, ":");
            tool_buf_json_str(&b, l->tags[i].value, strlen(l->tags[i].value));
        }
        tool_buf_str(&b, "}}\n");
    } else {
        for (size_t i = 0; i < l->n_tags; i++) {
            tool_buf_printf(&b, "%s\t%s\n", l->tags[i].key, l->tags[i].value);
        }
    }
    out_buf(&b);
    tool_buf_free(&b);
    sluice_tag_list_free(l);
    return 0;
}

/* ---- list-streams, describe-stream, list-shards ---- */

static int cmd_list_streams(struct cli *cli)
{
    struct sluice_stream_list *l = NULL;
    int rc = sluice_list_streams(cli->c, &l);
    if (rc != 0) {
        return fail(rc);
    }
    struct tool_buf b = {0};
    for (size_t i = 0; i < l->n_streams; i++) {
        const struct sluice_stream_entry *e = &l->streams[i];
        if (cli->json) {
            tool_buf_str(&b, "{\"stream_name\":");
            tool_buf_json_str(&b, e->stream_name, strlen(e->stream_name));
            if (e->stream_arn) {
                tool_buf_str(&b, ",\"stream_arn\":");
                tool_buf_json_str(&b, e->stream_arn, strlen(e->stream_arn));
                tool_buf_printf(&b,
                                ",\"stream_status\":\"%s\",\"stream_mode\":\"%s\","
                                "\"stream_creation_timestamp_ms\":%lld",
                                sluice_stream_status_name((int)e->status),
                                sluice_stream_mode_name((int)e->mode),
                                (long long)e->creation_timestamp_ms);
            }
            tool_buf_str(&b, "}\n");
        } else if (e->stream_arn) {
            tool_buf_printf(&b, "%s\t%s\t%s\n", e->stream_name,
                            sluice_stream_status_name((int)e->status),
                            sluice_stream_mode_name((int)e->mode));
        } else {
            tool_buf_printf(&b, "%s\n", e->stream_name);
        }
    }
    out_buf(&b);
    tool_buf_free(&b);
    sluice_stream_list_free(l);
    return 0;
}

static int cmd_describe_stream(struct cli *cli)
{
    struct sluice_stream_description *d = NULL;
    int rc = sluice_describe_stream(cli->c, cli->args->pos[0], &d);
    if (rc != 0) {
        return fail(rc);
    }
    char created[32];
    tool_format_time(d->creation_timestamp_ms, created);
    struct tool_buf b = {0};
    if (cli->json) {
        tool_buf_str(&b, "{\"stream_name\":");
        tool_buf_json_str(&b, d->stream_name, strlen(d->stream_name));
        tool_buf_str(&b, ",\"stream_arn\":");
        tool_buf_json_str(&b, d->stream_arn, strlen(d->stream_arn));
        tool_buf_printf(&b,
                        ",\"stream_status\":\"%s\",\"stream_mode\":\"%s\","
                        "\"retention_period_hours\":%u,\"stream_creation_timestamp_ms\":%lld,"
                        "\"shards\":[",
                        sluice_stream_status_name((int)d->status),
                        sluice_stream_mode_name((int)d->mode), d->retention_period_hours,
                        (long long)d->creation_timestamp_ms);
        for (size_t i = 0; i < d->n_shards; i++) {
            if (i) {
                tool_buf_str(&b, ",");
            }
            add_shard_json(&b, &d->shards[i]);
        }
        tool_buf_str(&b, "]}\n");
    } else {
        size_t open = 0;
        for (size_t i = 0; i < d->n_shards; i++) {
            open += d->shards[i].ending_sequence_number == NULL;
        }
        tool_buf_printf(&b,
                        "Stream:     %s\nARN:        %s\nStatus:     %s\nMode:       %s\n"
                        "Retention:  %u hours\nCreated:    %s\nShards:     %zu (%zu open)\n",
                        d->stream_name, d->stream_arn, sluice_stream_status_name((int)d->status),
                        sluice_stream_mode_name((int)d->mode), d->retention_period_hours, created,
                        d->n_shards, open);
        for (size_t i = 0; i < d->n_shards; i++) {
            tool_buf_str(&b, "  ");
            add_shard_human(&b, &d->shards[i]);
            tool_buf_str(&b, "\n");
        }
    }
    out_buf(&b);
    tool_buf_free(&b);
    sluice_stream_description_free(d);
    return 0;
}

static int cmd_list_shards(struct cli *cli)
{
    struct sluice_shard_list *l = NULL;
    int rc = sluice_list_shards(cli->c, cli->args->pos[0], &l);
    if (rc != 0) {
        return fail(rc);
    }
    struct tool_buf b = {0};
    for (size_t i = 0; i < l->n_shards; i++) {
        if (cli->json) {
            add_shard_json(&b, &l->shards[i]);
        } else {
            add_shard_human(&b, &l->shards[i]);
        }
        tool_buf_str(&b, "\n");
    }
    out_buf(&b);
    tool_buf_free(&b);
    sluice_shard_list_free(l);
    return 0;
}

/* ---- put ---- */

static const struct tool_opt put_opts[] = {
    {"key", true, O_KEY},
    {"key-from-line", false, O_KEY_FROM_LINE},
    {"separator", true, O_SEPARATOR},
    {"explicit-hash-key", true, O_EHK},
    {NULL, false, 0},
};

struct put_tally {
    bool json;
    uint64_t ok, failed;
};

static void put_callback(void *arg, const struct sluice_producer_result *r)
{
    struct put_tally *t = arg;
    unsigned long long line = (unsigned long long)(uintptr_t)r->user_ctx;
    struct tool_buf b = {0};
    if (r->error == 0) {
        t->ok++;
        if (t->json) {
            tool_buf_printf(&b, "{\"line\":%llu,\"shard_id\":\"%s\",\"sequence_number\":\"%s\"}\n",
                            line, r->shard_id, r->sequence_number);
            out_buf(&b);
        }
    } else {
        t->failed++;
        if (t->json) {
            tool_buf_printf(&b, "{\"line\":%llu,\"error\":", line);
            tool_buf_json_str(&b, r->error_name, strlen(r->error_name));
            tool_buf_str(&b, ",\"message\":");
            tool_buf_json_str(&b, r->error_message, strlen(r->error_message));
            tool_buf_str(&b, "}\n");
            out_buf(&b);
        } else {
            fprintf(stderr, "sluice: line %llu: %s: %s\n", line, r->error_name, r->error_message);
        }
    }
    tool_buf_free(&b);
}

static int put_lines(struct cli *cli, const char *stream, const char *key, const char *ehk)
{
    bool key_from_line = opt_has(cli, O_KEY_FROM_LINE);
    const char *sep = opt_get(cli, O_SEPARATOR);
    if (sep == NULL) {
        sep = "\t";
    }
    if (strlen(sep) != 1) {
        return usage_error(cli->cmd, "--separator takes one character");
    }
    struct put_tally tally = {cli->json, 0, 0};
    struct sluice_producer_options po;
    sluice_producer_options_init(&po);
    po.put_block_ms = 600000;
    po.callback = put_callback;
    po.callback_arg = &tally;
    struct sluice_producer *p = NULL;
    int rc = sluice_producer_new(cli->c, &po, &p);
    if (rc != 0) {
        return fail(rc);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned long long lineno = 0, bad = 0;
    int status = 0;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
        if (len == 0) {
            continue;
        }
        struct sluice_record_in r = {key, ehk, line, (size_t)len};
        if (key_from_line) {
            char *s = memchr(line, sep[0], (size_t)len);
            if (s == NULL || s == line) {
                fprintf(stderr, "sluice: line %llu: no partition key before the separator\n",
                        lineno);
                bad++;
                continue;
            }
            *s = '\0';
            r.partition_key = line;
            r.data = s + 1;
            r.data_len = (size_t)(len - (s + 1 - line));
        }
        rc = sluice_producer_put(p, stream, &r, (void *)(uintptr_t)lineno);
        if (rc != 0) {
            fprintf(stderr, "sluice: line %llu: %s: %s\n", lineno, sluice_errname(rc),
                    sluice_errmsg());
            bad++;
        }
    }
    free(line);
    rc = sluice_producer_close(p);
    if (rc != 0) {
        status = fail(rc);
    }
    if (!cli->json) {
        fprintf(stderr, "sluice: %llu records put, %llu failed\n", (unsigned long long)tally.ok,
                (unsigned long long)(tally.failed + bad));
    }
    fflush(stdout);
    return status ? status : (tally.failed + bad ? 1 : 0);
}

static int cmd_put(struct cli *cli)
{
    const char *stream = cli->args->pos[0];
    const char *data = cli->args->n_pos > 1 ? cli->args->pos[1] : NULL;
    const char *key = opt_get(cli, O_KEY);
    const char *ehk = opt_get(cli, O_EHK);
    bool from_stdin = data == NULL || strcmp(data, "-") == 0;
    if (opt_has(cli, O_KEY_FROM_LINE) && (!from_stdin || key)) {
        return usage_error(cli->cmd, "--key-from-line reads standard input and excludes --key");
    }
    if (!opt_has(cli, O_KEY_FROM_LINE) && (key == NULL || key[0] == '\0')) {
        return usage_error(cli->cmd, "a partition key is required: --key KEY");
    }
    if (from_stdin) {
        return put_lines(cli, stream, key, ehk);
    }
    struct sluice_record_in r = {key, ehk, data, strlen(data)};
    struct sluice_put_record_result res;
    int rc = sluice_put_record(cli->c, stream, &r, NULL, &res);
    if (rc != 0) {
        return fail(rc);
    }
    if (cli->json) {
        printf("{\"shard_id\":\"%s\",\"sequence_number\":\"%s\"}\n", res.shard_id,
               res.sequence_number);
    } else {
        printf("%s\t%s\n", res.shard_id, res.sequence_number);
    }
    return 0;
}

/* ---- get ---- */

static const struct tool_opt get_opts[] = {
    {"shard", true, O_SHARD},    {"from", true, O_FROM},
    {"seq", true, O_SEQ},        {"timestamp", true, O_TIMESTAMP},
    {"limit", true, O_LIMIT},    {"max-records", true, O_MAX_RECORDS},
    {"follow", false, O_FOLLOW}, {NULL, false, 0},
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

enum shard_phase { WAITING, READING, FINISHED };

struct shard_state {
    char *id;
    char *parent;
    char *adjacent_parent;
    bool closed_at_start;
    enum shard_phase phase;
    struct sluice_reader *r;
};

struct get_run {
    struct cli *cli;
    const char *stream;
    struct sluice_position start;
    uint32_t limit;
    bool follow;
    uint64_t max_records;
    uint64_t printed;
    struct shard_state *shards;
    size_t n_shards, cap_shards;
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static struct shard_state *shard_find(struct get_run *g, const char *id)
{
    for (size_t i = 0; i < g->n_shards; i++) {
        if (strcmp(g->shards[i].id, id) == 0) {
            return &g->shards[i];
        }
    }
    return NULL;
}

static void shard_add(struct get_run *g, const char *id, const char *parent, const char *adj,
                      bool closed)
{
    if (g->n_shards == g->cap_shards) {
        g->cap_shards = g->cap_shards ? g->cap_shards * 2 : 16;
        g->shards = realloc(g->shards, g->cap_shards * sizeof(*g->shards));
        if (g->shards == NULL) {
            fputs("sluice: out of memory\n", stderr);
            abort();
        }
    }
    struct shard_state *s = &g->shards[g->n_shards++];
    memset(s, 0, sizeof(*s));
    s->id = strdup(id);
    s->parent = dup_or_null(parent);
    s->adjacent_parent = dup_or_null(adj);
    s->closed_at_start = closed;
    if (s->id == NULL || (parent && !s->parent) || (adj && !s->adjacent_parent)) {
        fputs("sluice: out of memory\n", stderr);
        abort();
    }
}

/* Adds the shards of the stream not seen yet. `initial`: the shards present when reading
 * starts, which get the requested start position; later ones are read from TRIM_HORIZON. */
static int shards_refresh(struct get_run *g, bool initial)
{
    struct sluice_shard_list *l = NULL;
    int rc = sluice_list_shards(g->cli->c, g->stream, &l);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < l->n_shards; i++) {
        const struct sluice_shard *s = &l->shards[i];
        if (shard_find(g, s->shard_id) == NULL) {
            shard_add(g, s->shard_id, s->parent_shard_id, s->adjacent_parent_shard_id,
                      initial && s->ending_sequence_number != NULL);
        }
    }
    sluice_shard_list_free(l);
    return 0;
}

static bool parent_pending(struct get_run *g, const struct shard_state *s)
{
    const char *parents[2] = {s->parent, s->adjacent_parent};
    for (int i = 0; i < 2; i++) {
        struct shard_state *p = parents[i] ? shard_find(g, parents[i]) : NULL;
        if (p && p->phase != FINISHED) {
            return true;
        }
    }
    return false;
}

static int shard_open(struct get_run *g, struct shard_state *s, bool at_start)
{
    struct sluice_reader_options ro = {g->stream, s->id, g->start, g->limit};
    if (!at_start && g->start.type != SLUICE_AT_TIMESTAMP) {
        /* A shard that appears (or becomes readable) later is read whole: its records all
         * came after the start position. */
        ro.start.type = SLUICE_TRIM_HORIZON;
    }
    if (at_start && g->start.type == SLUICE_LATEST && s->closed_at_start) {
        s->phase = FINISHED; /* nothing will ever be written after its end */
        return 0;
    }
    int rc = sluice_reader_open(g->cli->c, &ro, &s->r);
    if (rc == 0) {
        s->phase = READING;
    }
    return rc;
}

static void print_page(struct get_run *g, const char *shard, const struct sluice_records *page)
{
    struct tool_buf b = {0};
    for (size_t i = 0; i < page->n_records; i++) {
        if (g->max_records && g->printed >= g->max_records) {
            break;
        }
        const struct sluice_record *r = &page->records[i];
        if (g->cli->json) {
            tool_buf_str(&b, "{\"shard_id\":");
            tool_buf_json_str(&b, shard, strlen(shard));
            tool_buf_str(&b, ",\"sequence_number\":");
            tool_buf_json_str(&b, r->sequence_number, strlen(r->sequence_number));
            tool_buf_printf(&b, ",\"approximate_arrival_timestamp_ms\":%lld,\"partition_key\":",
                            (long long)r->arrival_timestamp_ms);
            tool_buf_json_str(&b, r->partition_key, strlen(r->partition_key));
            tool_buf_str(&b, ",\"data\":\"");
            tool_buf_base64(&b, r->data, r->data_len);
            tool_buf_str(&b, "\"}\n");
        } else {
            char when[32];
            tool_format_time(r->arrival_timestamp_ms, when);
            tool_buf_printf(&b, "%s\t%s\t%s\t", shard, r->sequence_number, when);
            add_data_human(&b, r->partition_key, strlen(r->partition_key));
            tool_buf_str(&b, "\t");
            add_data_human(&b, r->data, r->data_len);
            tool_buf_str(&b, "\n");
        }
        g->printed++;
    }
    out_buf(&b);
    fflush(stdout);
    tool_buf_free(&b);
}

static void pause_ms(uint32_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* a signal cuts it short, as wanted */
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Failures that pass with time (the client retried them already). */
static bool transient(int rc)
{
    return rc == SLUICE_ETIMEDOUT || rc == SLUICE_EUNAVAILABLE || rc == SLUICE_ETHROTTLED ||
           rc == SLUICE_EBUSY || rc == SLUICE_EIO || rc == SLUICE_ENOTLEADER ||
           rc == SLUICE_ENOTCAUGHTUP;
}

/* How often --follow looks for new shards, and how long a round that found nothing waits
 * (a shard serves 5 GetRecords calls per second). */
#define FOLLOW_REFRESH_MS 10000
#define IDLE_PAUSE_MS     200

static int get_loop(struct get_run *g)
{
    uint64_t refreshed = mono_ms();
    bool first_round = true;
    while (!stop_requested) {
        bool got = false;
        bool active = false;
        for (size_t i = 0; i < g->n_shards && !stop_requested; i++) {
            struct shard_state *s = &g->shards[i];
            if (s->phase == WAITING) {
                if (parent_pending(g, s)) {
                    active = true;
                    continue;
                }
                int rc = shard_open(g, s, first_round);
                if (rc != 0) {
                    return rc;
                }
                if (s->phase != READING) {
                    continue;
                }
            }
            if (s->phase != READING) {
                continue;
            }
            active = true;
            struct sluice_records *page = NULL;
            int rc = sluice_reader_next(s->r, &page);
            if (rc != 0 && g->follow && transient(rc)) {
                /* The client has retried already; a tail outlives an outage. */
                fprintf(stderr, "sluice: %s: %s: %s (still following)\n", s->id, sluice_errname(rc),
                        sluice_errmsg());
                pause_ms(1000);
                continue;
            }
            if (rc != 0) {
                return rc;
            }
            print_page(g, s->id, page);
            got = got || page->n_records > 0;
            bool caught_up = page->n_records == 0 && page->millis_behind_latest == 0;
            if (page->at_shard_end || (!g->follow && caught_up)) {
                s->phase = FINISHED;
                sluice_reader_close(s->r);
                s->r = NULL;
            }
            sluice_records_free(page);
            if (g->max_records && g->printed >= g->max_records) {
                return 0;
            }
        }
        first_round = false;
        if (!active && !g->follow) {
            return 0;
        }
        if (g->follow && mono_ms() - refreshed >= FOLLOW_REFRESH_MS) {
            refreshed = mono_ms();
            int rc = shards_refresh(g, false);
            if (rc != 0 && !transient(rc)) {
                return rc;
            }
        }
        if (!got) {
            pause_ms(IDLE_PAUSE_MS);
        }
    }
    return 0;
}

static int cmd_get(struct cli *cli)
{
    struct get_run g = {0};
    g.cli = cli;
    g.stream = cli->args->pos[0];
    g.follow = opt_has(cli, O_FOLLOW);
    const char *from = opt_get(cli, O_FROM);
    const char *seq = opt_get(cli, O_SEQ);
    const char *ts = opt_get(cli, O_TIMESTAMP);
    const char *shard = opt_get(cli, O_SHARD);
    g.start.type = seq ? SLUICE_AT_SEQUENCE_NUMBER : ts ? SLUICE_AT_TIMESTAMP : SLUICE_TRIM_HORIZON;
    if (from && sluice_iterator_type_parse(from, &g.start.type) != 0) {
        return usage_error(cli->cmd, "%s", sluice_errmsg());
    }
    bool by_seq =
        g.start.type == SLUICE_AT_SEQUENCE_NUMBER || g.start.type == SLUICE_AFTER_SEQUENCE_NUMBER;
    if (by_seq != (seq != NULL)) {
        return usage_error(cli->cmd, by_seq ? "--from %s needs --seq" : "--seq needs --from %s",
                           by_seq ? sluice_iterator_type_name((int)g.start.type)
                                  : "AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER");
    }
    if (by_seq && shard == NULL) {
        return usage_error(cli->cmd, "a sequence number belongs to one shard: give --shard");
    }
    g.start.sequence_number = seq;
    if ((g.start.type == SLUICE_AT_TIMESTAMP) != (ts != NULL)) {
        return usage_error(cli->cmd, "--timestamp goes with --from AT_TIMESTAMP");
    }
    if (ts && tool_parse_time_ms(ts, &g.start.timestamp_ms) != 0) {
        return usage_error(cli->cmd,
                           "--timestamp wants ISO 8601 (2024-05-01T12:00:00Z) or epoch "
                           "milliseconds, not '%s'",
                           ts);
    }
    uint64_t limit = 0, max = 0;
    int rc = opt_u64(cli, O_LIMIT, "limit", 1, SLUICE_GET_RECORDS_LIMIT_MAX, &limit);
    if (rc == 0) {
        rc = opt_u64(cli, O_MAX_RECORDS, "max-records", 1, UINT64_MAX, &max);
    }
    if (rc != 0) {
        return rc;
    }
    g.limit = (uint32_t)limit;
    g.max_records = max;

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (shard) {
        shard_add(&g, shard, NULL, NULL, false);
    } else {
        rc = shards_refresh(&g, true);
    }
    if (rc == 0) {
        rc = get_loop(&g);
    }
    for (size_t i = 0; i < g.n_shards; i++) {
        sluice_reader_close(g.shards[i].r);
        free(g.shards[i].id);
        free(g.shards[i].parent);
        free(g.shards[i].adjacent_parent);
    }
    free(g.shards);
    return rc ? fail(rc) : 0;
}

/* ---- the table ---- */

static int cmd_help(struct cli *cli);

static const struct command commands[] = {
    {"create-stream", "STREAM [--shards N] [--mode PROVISIONED|ON_DEMAND] [--wait]",
     "Creates a stream. PROVISIONED streams get --shards shards (default 1); ON_DEMAND ones\n"
     "size themselves. --wait waits (up to --wait-timeout-s, default 120) until it is ACTIVE.\n",
     create_opts, 1, 1, cmd_create_stream},
    {"delete-stream", "STREAM [--enforce-consumer-deletion] [--wait]",
     "Deletes a stream: DELETING, then gone. --wait waits (up to --wait-timeout-s, default\n"
     "120) until it is gone and its name may be used again.\n",
     delete_opts, 1, 1, cmd_delete_stream},
    {"list-streams", "", "Lists the streams (name, status, mode).\n", NULL, 0, 0, cmd_list_streams},
    {"describe-stream", "STREAM", "Describes a stream and lists its shards.\n", NULL, 1, 1,
     cmd_describe_stream},
    {"list-shards", "STREAM",
     "Lists every shard of a stream within retention: id, OPEN or CLOSED, hash key range,\n"
     "sequence number range, parents.\n",
     NULL, 1, 1, cmd_list_shards},
    {"put", "STREAM --key KEY [DATA | -]  |  put STREAM --key-from-line [--separator C]",
     "Writes records. With DATA, writes it as one record and prints its shard and sequence\n"
     "number. Without DATA (or with -), writes one record per line of standard input (empty\n"
     "lines are skipped), batched by the producer; --key-from-line takes each line's partition\n"
     "key from before the first separator (default TAB). --explicit-hash-key H routes by H.\n"
     "Human output reports failures and a count on stderr; --json prints one line per record.\n",
     put_opts, 1, 2, cmd_put},
    {"get",
     "STREAM [--shard ID] [--from TYPE] [--seq N] [--timestamp T] [--limit N] "
     "[--max-records N] [--follow]",
     "Prints records: \"SHARD SEQUENCE ARRIVAL KEY DATA\" (tab-separated; DATA as text when it\n"
     "is printable UTF-8, else base64:...), or JSON objects with base64 data. Reads one shard\n"
     "(--shard) or all of them, parents before children. TYPE is TRIM_HORIZON (default),\n"
     "LATEST, AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER (with --seq and --shard), or\n"
     "AT_TIMESTAMP (with --timestamp: ISO 8601 or epoch milliseconds; --seq and --timestamp\n"
     "imply their TYPE). --limit is the records per GetRecords call (1-10000). Without\n"
     "--follow it stops when every shard is caught up; with --follow it keeps tailing, picking\n"
     "up new shards, until SIGINT or SIGTERM. --max-records stops after N records.\n",
     get_opts, 1, 1, cmd_get},
    {"retention", "STREAM HOURS",
     "Sets the retention period, increasing or decreasing it as needed (24-8760 hours).\n", NULL, 2,
     2, cmd_retention},
    {"describe-limits", "", "Prints the cluster's shard limits and counts.\n", NULL, 0, 0,
     cmd_limits},
    {"tag-stream", "STREAM KEY=VALUE...",
     "Sets tags on a stream (1-50 per call, at most 50 per stream); a key it has gets the new\n"
     "value. Keys have 1-128 characters (no '=' here, not starting with aws:), values 0-256;\n"
     "letters, digits, spaces and _ . : / = + - @ only.\n",
     NULL, 2, 1 + SLUICE_TAGS_MAX, cmd_tag_stream},
    {"untag-stream", "STREAM KEY...",
     "Removes the tags with these keys (1-50); keys the stream lacks are ignored.\n", NULL, 2,
     1 + SLUICE_TAGS_MAX, cmd_untag_stream},
    {"list-tags", "STREAM", "Prints a stream's tags, \"KEY<TAB>VALUE\" per line, sorted by key.\n",
     NULL, 1, 1, cmd_list_tags},
    {"help", "[COMMAND]", "Shows help for the tool or for one command.\n", NULL, 0, 1, cmd_help},
};

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(commands[i].name, name) == 0) {
            return &commands[i];
        }
    }
    return NULL;
}

static void print_usage(FILE *f, const struct command *cmd)
{
    if (cmd) {
        fprintf(f, "usage: sluice [GLOBAL OPTIONS] %s %s\n", cmd->name, cmd->synopsis);
        return;
    }
    fputs("usage: sluice [GLOBAL OPTIONS] COMMAND [ARGS]\n", f);
}

static void print_globals(FILE *f)
{
    fputs("\nGlobal options (anywhere on the line):\n"
          "  --nodes ADDR[,ADDR...]  cluster nodes (default: $SLUICE_NODES, else " DEFAULT_NODES
          ")\n"
          "  --json                  one JSON object per line\n"
          "  --timeout-ms N          per-request timeout (default 10000)\n"
          "  --retries N             retries of retryable failures (default 8)\n"
          "  --help, -h              this help\n",
          f);
}

static void print_help(FILE *f, const struct command *cmd)
{
    print_usage(f, cmd);
    if (cmd) {
        fputs("\n", f);
        fputs(cmd->help, f);
    } else {
        fputs("\nA client for sluice, a self-hosted Kinesis-compatible streaming service.\n\n"
              "Commands:\n",
              f);
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
            fprintf(f, "  %-16s %s\n", commands[i].name, commands[i].synopsis);
        }
        fputs("\nRun 'sluice COMMAND --help' for a command's details.\n", f);
    }
    print_globals(f);
}

static int cmd_help(struct cli *cli)
{
    const struct command *cmd = NULL;
    if (cli->args->n_pos > 0 && (cmd = find_command(cli->args->pos[0])) == NULL) {
        return usage_error(NULL, "unknown command '%s'", cli->args->pos[0]);
    }
    print_help(stdout, cmd);
    return 0;
}

int main(int argc, char **argv)
{
    /* The command is the first word that is neither a global option nor its value. */
    int at = -1;
    bool help = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0') {
            at = i;
            break;
        }
        const struct tool_opt *o = tool_opt_find(a, global_opts, NULL);
        if (o == NULL) {
            return usage_error(NULL, "unknown option '%s'", a);
        }
        help = help || o->id == O_HELP;
        if (o->has_arg && strchr(a, '=') == NULL) {
            i++;
        }
    }
    if (at < 0) {
        if (help) {
            print_help(stdout, NULL);
            return 0;
        }
        return usage_error(NULL, "no command given");
    }
    const struct command *cmd = find_command(argv[at]);
    if (cmd == NULL) {
        return usage_error(NULL, "unknown command '%s'", argv[at]);
    }

    char **rest = calloc((size_t)argc, sizeof(*rest));
    if (rest == NULL) {
        return 1;
    }
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (i != at) {
            rest[n++] = argv[i];
        }
    }
    static struct tool_args args;
    int rc = tool_args_parse(n, rest, global_opts, cmd->opts, &args);
    free(rest);
    struct cli cli = {false, NULL, cmd, &args};
    if (rc != 0) {
        return usage_error(cmd, "%s", args.err);
    }
    if (opt_has(&cli, O_HELP)) {
        print_help(stdout, cmd);
        return 0;
    }
    if (cmd->run == cmd_help) {
        return cmd_help(&cli);
    }
    if (args.n_pos < cmd->min_pos) {
        return usage_error(cmd, "missing arguments");
    }
    if (args.n_pos > cmd->max_pos) {
        return usage_error(cmd, "unexpected argument '%s'", args.pos[cmd->max_pos]);
    }

    cli.json = opt_has(&cli, O_JSON);
    struct sluice_options so;
    sluice_options_init(&so);
    uint64_t v = so.request_timeout_ms;
    if ((rc = opt_u64(&cli, O_TIMEOUT, "timeout-ms", 1, UINT32_MAX, &v)) != 0) {
        return rc;
    }
    so.request_timeout_ms = (uint32_t)v;
    v = so.max_retries;
    if ((rc = opt_u64(&cli, O_RETRIES, "retries", 0, 1000, &v)) != 0) {
        return rc;
    }
    so.max_retries = (uint32_t)v;
    const char *nodes = opt_get(&cli, O_NODES);
    if (nodes == NULL || nodes[0] == '\0') {
        nodes = getenv("SLUICE_NODES");
    }
    if (nodes == NULL || nodes[0] == '\0') {
        nodes = DEFAULT_NODES;
    }
    rc = sluice_client_new(nodes, &so, &cli.c);
    if (rc != 0) {
        return fail(rc);
    }
    rc = cmd->run(&cli);
    sluice_client_free(cli.c);
    return rc;
}
