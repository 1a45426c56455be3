/* test_it_tags.c — stream tags through a real sluiced with libsluice and raw protobuf calls:
 * set, overwrite, remove and list; the 50-tag limit refuses without changing anything; shape
 * errors name the field; tags are controller state, so they survive kill -9 both from the log
 * and from a controller snapshot; CreateStream carries tags. */
#include "harness.h"

#include "sluice/sluice.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* node/server/node.c takes a controller snapshot every this many applied commands. */
#define CONTROL_SNAPSHOT_EVERY 1024

static struct sluice_client *client_for(const struct th_node *n)
{
    struct sluice_options o;
    sluice_options_init(&o);
    o.request_timeout_ms = 10000;
    o.max_retries = 20;
    struct sluice_client *c;
    assert_int_equal(sluice_client_new(n->url, &o, &c), 0);
    return c;
}

static void make_stream(struct sluice_client *c, const char *name)
{
    if (sluice_create_stream(c, name, 1, SLUICE_PROVISIONED) != 0) {
        fail_msg("create-stream %s: %s", name, sluice_errmsg());
    }
    assert_int_equal(sluice_wait_active(c, name, 20000), 0);
}

static void add(struct sluice_client *c, const char *stream, const struct sluice_tag *tags,
                size_t n)
{
    if (sluice_add_tags(c, stream, tags, n) != 0) {
        fail_msg("add-tags %s: %s", stream, sluice_errmsg());
    }
}

/* Asserts the stream's tags are exactly `want` (key, value pairs in key order). */
static void assert_tags(struct sluice_client *c, const char *stream, const struct sluice_tag *want,
                        size_t n)
{
    struct sluice_tag_list *l = NULL;
    if (sluice_list_tags(c, stream, &l) != 0) {
        fail_msg("list-tags %s: %s", stream, sluice_errmsg());
    }
    if (l->n_tags != n) {
        fail_msg("%s: %zu tags, want %zu", stream, l->n_tags, n);
    }
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(l->tags[i].key, want[i].key);
        assert_string_equal(l->tags[i].value, want[i].value);
    }
    sluice_tag_list_free(l);
}

static void test_tags_are_set_overwritten_removed_and_listed_in_key_order(void **state)
{
    (void)state;
    struct th_node node;
    th_node_init(&node);
    th_node_start(&node);
    struct sluice_client *c = client_for(&node);
    make_stream(c, "tagged");
    assert_tags(c, "tagged", NULL, 0);

    const struct sluice_tag first[] = {{"team", "data"}, {"env", "dev"}, {"cost center", "42"}};
    add(c, "tagged", first, 3);
    const struct sluice_tag sorted[] = {{"cost center", "42"}, {"env", "dev"}, {"team", "data"}};
    assert_tags(c, "tagged", sorted, 3);

    /* A key it has gets the new value; an empty value is a value; a prefix sorts first. */
    const struct sluice_tag second[] = {{"env", "prod"}, {"en", ""}, {"owner", "ops@example"}};
    add(c, "tagged", second, 3);
    const struct sluice_tag after[] = {{"cost center", "42"},
                                       {"en", ""},
                                       {"env", "prod"},
                                       {"owner", "ops@example"},
                                       {"team", "data"}};
    assert_tags(c, "tagged", after, 5);

    /* Removing keys it lacks is fine. */
    const char *gone[] = {"en", "team", "never-set"};
    assert_int_equal(sluice_remove_tags(c, "tagged", gone, 3), 0);
    const struct sluice_tag left[] = {
        {"cost center", "42"}, {"env", "prod"}, {"owner", "ops@example"}};
    assert_tags(c, "tagged", left, 3);

    /* Another stream's tags are its own. */
    make_stream(c, "plain");
    assert_tags(c, "plain", NULL, 0);
    sluice_client_free(c);
    th_node_stop(&node);
    th_node_cleanup(&node);
}

/* 50 tags "k00".."k49" with values "v00".. */
static void fifty(struct sluice_tag *tags, char (*keys)[8], char (*values)[8])
{
    for (int i = 0; i < 50; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%02d", i);
        snprintf(values[i], sizeof(values[i]), "v%02d", i);
        tags[i] = (struct sluice_tag){keys[i], values[i]};
    }
}

static void test_fifty_first_tag_is_refused_and_changes_nothing(void **state)
{
    (void)state;
    struct th_node node;
    th_node_init(&node);
    th_node_start(&node);
    struct sluice_client *c = client_for(&node);
    make_stream(c, "full");
    struct sluice_tag tags[50];
    char keys[50][8], values[50][8];
    fifty(tags, keys, values);
    add(c, "full", tags, 50);
    assert_tags(c, "full", tags, 50);

    /* One new key more, even with an overwrite beside it: refused as a whole. */
    const struct sluice_tag more[] = {{"k00", "changed"}, {"k50", "v50"}};
    assert_int_equal(sluice_add_tags(c, "full", more, 2), SLUICE_EINVAL);
    assert_non_null(strstr(sluice_errmsg(), "cannot have more than 50 tags"));
    assert_tags(c, "full", tags, 50);

    /* Overwriting keys it has is no new tag. */
    const struct sluice_tag same[] = {{"k49", "w49"}};
    add(c, "full", same, 1);
    snprintf(values[49], sizeof(values[49]), "w49");
    assert_tags(c, "full", tags, 50);
    sluice_client_free(c);
    th_node_stop(&node);
    th_node_cleanup(&node);
}

static void test_bad_tags_get_kinesis_errors_naming_what_is_wrong(void **state)
{
    (void)state;
    struct th_node node;
    th_node_init(&node);
    th_node_start(&node);
    struct sluice_client *c = client_for(&node);
    make_stream(c, "strict");
    char long_key[130], long_value[258];
    memset(long_key, 'k', 129);
    long_key[129] = '\0';
    memset(long_value, 'v', 257);
    long_value[257] = '\0';

    const struct sluice_tag key129[] = {{long_key, "x"}};
    assert_int_equal(sluice_add_tags(c, "strict", key129, 1), SLUICE_EVALIDATION);
    assert_non_null(strstr(sluice_errmsg(), "at 'tags.1.member.key'"));
    assert_non_null(strstr(sluice_errmsg(), "less than or equal to 128"));

    const struct sluice_tag value257[] = {{"ok", "x"}, {"k", long_value}};
    assert_int_equal(sluice_add_tags(c, "strict", value257, 2), SLUICE_EVALIDATION);
    assert_non_null(strstr(sluice_errmsg(), "at 'tags.2.member.value'"));

    assert_int_equal(sluice_add_tags(c, "strict", NULL, 0), SLUICE_EVALIDATION);
    assert_non_null(strstr(sluice_errmsg(), "at 'tags'"));

    const struct sluice_tag reserved[] = {{"AWS:cost", "1"}};
    assert_int_equal(sluice_add_tags(c, "strict", reserved, 1), SLUICE_EINVAL);
    assert_non_null(strstr(sluice_errmsg(), "aws:"));

    const struct sluice_tag odd[] = {{"ok", "semi;colon"}};
    assert_int_equal(sluice_add_tags(c, "strict", odd, 1), SLUICE_EINVAL);
    assert_non_null(strstr(sluice_errmsg(), "illegal characters"));

    /* Unicode letters are letters. */
    const struct sluice_tag unicode[] = {{"équipe", "données"}};
    add(c, "strict", unicode, 1);
    assert_tags(c, "strict", unicode, 1);

    const char *no_keys[] = {"x"};
    assert_int_equal(sluice_remove_tags(c, "strict", no_keys, 0), SLUICE_EVALIDATION);
    const struct sluice_tag one[] = {{"a", "b"}};
    assert_int_equal(sluice_add_tags(c, "missing", one, 1), SLUICE_ENOTFOUND);
    struct sluice_tag_list *l = NULL;
    assert_int_equal(sluice_list_tags(c, "missing", &l), SLUICE_ENOTFOUND);
    assert_null(l);

    /* ListTagsForStream's Limit is 1..50 (libsluice never sends another; a raw call does). */
    Sluice__ListTagsForStreamRequest op = SLUICE__LIST_TAGS_FOR_STREAM_REQUEST__INIT;
    op.stream_name = "strict";
    op.has_limit = 1;
    op.limit = 51;
    Sluice__Request rq = SLUICE__REQUEST__INIT;
    rq.op_case = SLUICE__REQUEST__OP_LIST_TAGS_FOR_STREAM;
    rq.list_tags_for_stream = &op;
    Sluice__Response *r = th_call(node.url, &rq);
    assert_non_null(r);
    assert_int_equal(r->error, SLUICE__ERROR_CODE__VALIDATION);
    assert_non_null(strstr(r->error_message, "at 'limit'"));
    sluice__response__free_unpacked(r, NULL);

    /* A deleting stream takes no new tags. */
    assert_int_equal(sluice_delete_stream(c, "strict", 0), 0);
    int rv = sluice_add_tags(c, "strict", one, 1);
    assert_true(rv == SLUICE_EINUSE || rv == SLUICE_ENOTFOUND);
    sluice_client_free(c);
    th_node_stop(&node);
    th_node_cleanup(&node);
}

/* A page of ListTagsForStream through a raw call. */
static Sluice__Response *list_page(const char *url, const char *stream, const char *after,
                                   uint32_t limit)
{
    Sluice__ListTagsForStreamRequest op = SLUICE__LIST_TAGS_FOR_STREAM_REQUEST__INIT;
    op.stream_name = (char *)stream;
    op.exclusive_start_tag_key = (char *)after;
    op.has_limit = 1;
    op.limit = limit;
    Sluice__Request rq = SLUICE__REQUEST__INIT;
    rq.op_case = SLUICE__REQUEST__OP_LIST_TAGS_FOR_STREAM;
    rq.list_tags_for_stream = &op;
    Sluice__Response *r = th_call(url, &rq);
    assert_non_null(r);
    assert_int_equal(r->result_case, SLUICE__RESPONSE__RESULT_LIST_TAGS_FOR_STREAM);
    return r;
}

static void test_list_tags_pages_by_exclusive_start_key(void **state)
{
    (void)state;
    struct th_node node;
    th_node_init(&node);
    th_node_start(&node);
    struct sluice_client *c = client_for(&node);
    make_stream(c, "paged");
    struct sluice_tag tags[50];
    char keys[50][8], values[50][8];
    fifty(tags, keys, values);
    add(c, "paged", tags, 23);
    const char *after = NULL;
    size_t seen = 0;
    Sluice__Response *prev = NULL;
    for (int page = 0; page < 10; page++) {
        Sluice__Response *r = list_page(node.url, "paged", after, 5);
        const Sluice__ListTagsForStreamResult *l = r->list_tags_for_stream;
        for (size_t i = 0; i < l->n_tags; i++) {
            assert_string_equal(l->tags[i]->key, keys[seen]);
            assert_string_equal(l->tags[i]->value, values[seen]);
            seen++;
        }
        assert_int_equal(l->has_more_tags, seen < 23);
        bool more = l->has_more_tags;
        after = l->n_tags ? l->tags[l->n_tags - 1]->key : after;
        if (prev) {
            sluice__response__free_unpacked(prev, NULL);
        }
        prev = r; /* `after` points into it */
        if (!more) {
            break;
        }
    }
    sluice__response__free_unpacked(prev, NULL);
    assert_int_equal(seen, 23);
    /* A start key past every tag: an empty last page. */
    Sluice__Response *r = list_page(node.url, "paged", "zzz", 5);
    assert_int_equal(r->list_tags_for_stream->n_tags, 0);
    assert_false(r->list_tags_for_stream->has_more_tags);
    sluice__response__free_unpacked(r, NULL);
    sluice_client_free(c);
    th_node_stop(&node);
    th_node_cleanup(&node);
}

static void test_tags_survive_kill9_from_the_log_and_from_a_snapshot(void **state)
{
    (void)state;
    struct th_node node;
    th_node_init(&node);
    th_node_start(&node);
    struct sluice_client *c = client_for(&node);
    make_stream(c, "durable");
    const struct sluice_tag tags[] = {{"a", "1"}, {"b", "2"}};
    add(c, "durable", tags, 2);

    /* Acknowledged: in the controller's log on disk. */
    th_node_kill9(&node);
    th_node_start(&node);
    assert_tags(c, "durable", tags, 2);

    /* Enough controller commands that the node snapshots its table at least once, then more
     * after it, so that a restart restores the snapshot and replays a tail. */
    const struct sluice_tag churn[] = {{"churn", "x"}};
    const char *churn_key[] = {"churn"};
    for (int i = 0; i < CONTROL_SNAPSHOT_EVERY / 2 + 8; i++) {
        add(c, "durable", churn, 1);
        assert_int_equal(sluice_remove_tags(c, "durable", churn_key, 1), 0);
    }
    const struct sluice_tag last[] = {{"c", "3"}};
    add(c, "durable", last, 1);
    th_node_kill9(&node);
    th_node_start(&node);
    const struct sluice_tag want[] = {{"a", "1"}, {"b", "2"}, {"c", "3"}};
    assert_tags(c, "durable", want, 3);
    sluice_client_free(c);
    th_node_stop(&node);
    th_node_cleanup(&node);
}

static void test_create_stream_carries_tags(void **state)
{
    (void)state;
    struct th_node node;
    th_node_init(&node);
    th_node_start(&node);
    Sluice__Tag t1 = SLUICE__TAG__INIT, t2 = SLUICE__TAG__INIT, t3 = SLUICE__TAG__INIT;
    t1.key = "team";
    t1.value = "a";
    t2.key = "env";
    t2.value = "dev";
    t3.key = "team"; /* a key given twice: the last value counts */
    t3.value = "b";
    Sluice__Tag *tags[] = {&t1, &t2, &t3};
    Sluice__CreateStreamRequest op = SLUICE__CREATE_STREAM_REQUEST__INIT;
    op.stream_name = "born-tagged";
    op.has_shard_count = 1;
    op.shard_count = 1;
    op.n_tags = 3;
    op.tags = tags;
    Sluice__Request rq = SLUICE__REQUEST__INIT;
    rq.op_case = SLUICE__REQUEST__OP_CREATE_STREAM;
    rq.create_stream = &op;
    Sluice__Response *r = th_call(node.url, &rq);
    assert_non_null(r);
    assert_int_equal(r->error, SLUICE__ERROR_CODE__OK);
    sluice__response__free_unpacked(r, NULL);
    struct sluice_client *c = client_for(&node);
    assert_int_equal(sluice_wait_active(c, "born-tagged", 20000), 0);
    const struct sluice_tag want[] = {{"env", "dev"}, {"team", "b"}};
    assert_tags(c, "born-tagged", want, 2);

    /* A bad tag refuses the whole CreateStream: no stream appears. */
    t2.key = "aws:reserved";
    op.stream_name = "never-born";
    r = th_call(node.url, &rq);
    assert_non_null(r);
    assert_int_equal(r->error, SLUICE__ERROR_CODE__INVALID_ARGUMENT);
    sluice__response__free_unpacked(r, NULL);
    struct sluice_stream_description *d = NULL;
    assert_int_equal(sluice_describe_stream_summary(c, "never-born", &d), SLUICE_ENOTFOUND);
    sluice_client_free(c);
    th_node_stop(&node);
    th_node_cleanup(&node);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tags_are_set_overwritten_removed_and_listed_in_key_order),
        cmocka_unit_test(test_fifty_first_tag_is_refused_and_changes_nothing),
        cmocka_unit_test(test_bad_tags_get_kinesis_errors_naming_what_is_wrong),
        cmocka_unit_test(test_list_tags_pages_by_exclusive_start_key),
        cmocka_unit_test(test_tags_survive_kill9_from_the_log_and_from_a_snapshot),
        cmocka_unit_test(test_create_stream_carries_tags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
