/* test_config.c — sluiced's settings (node/server/config.h): defaults, flags in both forms, the
 * config file, precedence, and errors that name what is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "server/config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARGS_MAX 64

static char err[512];

/* Loads from a NULL-terminated list of arguments (the program name is added). */
static int load_args(struct sl_config *c, const char *const *args)
{
    char *argv[ARGS_MAX];
    int argc = 0;
    argv[argc++] = "sluiced";
    for (; *args; args++) {
        assert_true(argc < ARGS_MAX);
        argv[argc++] = (char *)*args;
    }
    err[0] = '\0';
    return sl_config_load(c, argc, argv, err, sizeof(err));
}

#define LOAD(c, ...) load_args((c), (const char *const[]){__VA_ARGS__, NULL})

/* True when `word` appears in `text` as a whole word (flag and key names hold '-'). */
static bool names(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = strstr(text, word); p; p = strstr(p + 1, word)) {
        bool start = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '-');
        bool end = !(isalnum((unsigned char)p[n]) || p[n] == '-');
        if (start && end) {
            return true;
        }
    }
    return false;
}

/* Asserts that loading failed with a message naming `word`. */
static void assert_error_names(int rv, const char *word)
{
    assert_int_equal(rv, -1);
    if (!names(err, word)) {
        fail_msg("error \"%s\" does not name '%s'", err, word);
    }
}

/* A temporary config file holding `text`; the caller unlinks `path`. */
static void write_file(char path[64], const char *text)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, 64, "%s/sluice-test-config-XXXXXX", dir && strlen(dir) < 30 ? dir : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void test_config_defaults_equal_the_key_table(void **state)
{
    (void)state;
    struct sl_config c;
    assert_int_equal(LOAD(&c, NULL), 0);
#define CHECK_STR(field, def)                       assert_string_equal(c.field, def)
#define CHECK_U64(field, def)                       assert_int_equal(c.field, strtoull(def, NULL, 10))
#define CHECK_DEFAULT(field, name, type, def, help) CHECK_##type(field, def);
    SL_CONFIG_KEYS(CHECK_DEFAULT)
#undef CHECK_DEFAULT
#undef CHECK_STR
#undef CHECK_U64
    /* And the table says what the documentation promises. */
    assert_int_equal(c.id, 1);
    assert_string_equal(c.listen, "tcp://127.0.0.1:4510");
    assert_int_equal(c.shard_limit, 500);
    assert_int_equal(c.iterator_ttl_ms, 300000);
}

static void test_config_flags_override_every_default(void **state)
{
    (void)state;
    /* Every key set by a flag, STR keys to "tcp://v-<name>" (the account, which must be 12
     * digits, to "123456789012"), U64 keys to 1000 + row. */
    char values[32][SL_CONFIG_STR_MAX];
    const char *args[ARGS_MAX];
    int n_args = 0, row = 0;
#define SET_STR(name)                                                                              \
    snprintf(values[row], SL_CONFIG_STR_MAX, "%s%s",                                               \
             strcmp(name, "account") == 0 ? "" : "tcp://v-",                                       \
             strcmp(name, "account") == 0 ? "123456789012" : name)
#define SET_U64(name) snprintf(values[row], SL_CONFIG_STR_MAX, "%d", 1000 + row)
#define SET_FLAG(field, name, type, def, help)                                                     \
    args[n_args++] = "--" name;                                                                    \
    SET_##type(name);                                                                              \
    args[n_args++] = values[row++];
    SL_CONFIG_KEYS(SET_FLAG)
#undef SET_FLAG
    args[n_args] = NULL;
    struct sl_config c;
    assert_int_equal(load_args(&c, args), 0);
    row = 0;
#define CHECK_STR(field, name) assert_string_equal(c.field, values[row])
#define CHECK_U64(field, name) assert_int_equal(c.field, 1000 + row)
#define CHECK_FLAG(field, name, type, def, help)                                                   \
    CHECK_##type(field, name);                                                                     \
    row++;
    SL_CONFIG_KEYS(CHECK_FLAG)
#undef CHECK_FLAG
#undef CHECK_STR
#undef CHECK_U64
#undef SET_STR
#undef SET_U64
}

static void test_config_flag_takes_value_after_equals_or_as_next_argument(void **state)
{
    (void)state;
    struct sl_config c;
    assert_int_equal(
        LOAD(&c, "--id=5", "--az", "zone-b", "--shard-limit", "20", "--data-dir=/var/lib/sluice"),
        0);
    assert_int_equal(c.id, 5);
    assert_string_equal(c.az, "zone-b");
    assert_int_equal(c.shard_limit, 20);
    assert_string_equal(c.data_dir, "/var/lib/sluice");
}

static void test_config_value_after_equals_may_itself_hold_equals(void **state)
{
    (void)state;
    struct sl_config c;
    assert_int_equal(LOAD(&c, "--data-dir=/tmp/a=b"), 0);
    assert_string_equal(c.data_dir, "/tmp/a=b");
}

static void test_config_later_flag_wins_over_earlier(void **state)
{
    (void)state;
    struct sl_config c;
    assert_int_equal(LOAD(&c, "--workers", "3", "--workers=4"), 0);
    assert_int_equal(c.workers, 4);
}

static const char file_text[] = "# a sluice node\n"
                                "\n"
                                "id = 3\n"
                                "   az=file-az   # trailing comment\n"
                                "\t\n"
                                "workers 6\n"
                                "data-dir = /srv/sluice data\n"
                                "   # an indented comment\n"
                                "shard-limit\t=\t77\r\n"
                                "region = eu-west-1";

static void test_config_file_sets_keys_around_comments_and_blank_lines(void **state)
{
    (void)state;
    char path[64];
    write_file(path, file_text);
    struct sl_config c;
    int rv = LOAD(&c, "--config", path);
    unlink(path);
    assert_int_equal(rv, 0);
    assert_int_equal(c.id, 3);
    assert_string_equal(c.az, "file-az");
    assert_int_equal(c.workers, 6);
    assert_string_equal(c.data_dir, "/srv/sluice data");
    assert_int_equal(c.shard_limit, 77);
    assert_string_equal(c.region, "eu-west-1"); /* the last line has no newline */
    assert_int_equal(c.contexts, 1024);         /* keys it does not set keep their default */
}

static void test_config_flags_override_file_before_or_after_config(void **state)
{
    (void)state;
    char path[64];
    write_file(path, file_text);
    struct sl_config before, after, joined;
    int rv_before = LOAD(&before, "--id", "9", "--workers=2", "--config", path);
    int rv_after = LOAD(&after, "--config", path, "--id", "9", "--workers=2");
    char config_eq[80];
    snprintf(config_eq, sizeof(config_eq), "--config=%s", path);
    int rv_joined = LOAD(&joined, "--id=9", config_eq, "--workers", "2");
    unlink(path);
    assert_int_equal(rv_before, 0);
    assert_int_equal(rv_after, 0);
    assert_int_equal(rv_joined, 0);
    const struct sl_config *all[] = {&before, &after, &joined};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(all[i]->id, 9);
        assert_int_equal(all[i]->workers, 2);
        assert_string_equal(all[i]->az,
                            "file-az"); /* what no flag sets still comes from the file */
        assert_int_equal(all[i]->shard_limit, 77);
    }
}

static void test_config_unknown_flag_is_named(void **state)
{
    (void)state;
    struct sl_config c;
    assert_error_names(LOAD(&c, "--no-such-flag", "1"), "--no-such-flag");
    assert_error_names(LOAD(&c, "--id=2", "--shard-limt=5"), "--shard-limt");
}

static void test_config_argument_without_dashes_is_named(void **state)
{
    (void)state;
    struct sl_config c;
    assert_error_names(LOAD(&c, "stray"), "stray");
    assert_error_names(LOAD(&c, "-id", "3"), "-id");
}

static void test_config_unknown_file_key_is_named_with_file_and_line(void **state)
{
    (void)state;
    char path[64];
    write_file(path, "id = 2\n# fine so far\nshard-limt = 5\n");
    struct sl_config c;
    int rv = LOAD(&c, "--config", path);
    unlink(path);
    assert_error_names(rv, "shard-limt");
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, ":3"));
}

static void test_config_file_may_not_name_another_config_file(void **state)
{
    (void)state;
    char path[64];
    write_file(path, "config = /etc/other.conf\n");
    struct sl_config c;
    int rv = LOAD(&c, "--config", path);
    unlink(path);
    assert_error_names(rv, "config");
}

static void test_config_missing_file_is_named(void **state)
{
    (void)state;
    struct sl_config c;
    assert_error_names(LOAD(&c, "--config", "/nonexistent/sluice.conf"),
                       "/nonexistent/sluice.conf");
}

static void test_config_non_numeric_value_is_named(void **state)
{
    (void)state;
    struct sl_config c;
    assert_error_names(LOAD(&c, "--workers", "many"), "workers");
    assert_error_names(LOAD(&c, "--workers=12abc"), "workers");
    assert_error_names(LOAD(&c, "--tick-ms=0x10"), "tick-ms");
    assert_error_names(LOAD(&c, "--shard-limit=1.5"), "shard-limit");
    assert_error_names(LOAD(&c, "--shard-limit="), "shard-limit");
    assert_error_names(LOAD(&c, "--id", "18446744073709551616"), "id"); /* 2^64 */
    char path[64];
    write_file(path, "contexts = lots\n");
    int rv = LOAD(&c, "--config", path);
    unlink(path);
    assert_error_names(rv, "contexts");
}

static void test_config_negative_number_is_named(void **state)
{
    (void)state;
    struct sl_config c;
    assert_error_names(LOAD(&c, "--shard-limit", "-1"), "shard-limit");
    assert_error_names(LOAD(&c, "--shard-limit=-500"), "shard-limit");
    char path[64];
    write_file(path, "workers = -2\n");
    int rv = LOAD(&c, "--config", path);
    unlink(path);
    assert_error_names(rv, "workers");
}

/* BUG: set_value (node/server/config.c) refuses a value whose first character is '-', but
 * strtoull skips leading white space and then accepts a sign, negating the value in unsigned
 * arithmetic: "--shard-limit= -1" (or `--shard-limit " -1"` from a quoting slip) is accepted as
 * 18446744073709551615, and " 7" / "+7" are accepted as 7. A number should be digits only. */
static void test_config_negative_number_after_white_space_is_named(void **state)
{
    (void)state;
    struct sl_config c;
    int rv = LOAD(&c, "--shard-limit", " -1");
    if (rv == 0) {
        fail_msg("\" -1\" accepted as shard-limit %llu", (unsigned long long)c.shard_limit);
    }
    assert_error_names(rv, "shard-limit");
    assert_error_names(LOAD(&c, "--retention-check-ms=\t-5"), "retention-check-ms");
}

static void test_config_flag_without_value_is_named(void **state)
{
    (void)state;
    struct sl_config c;
    assert_error_names(LOAD(&c, "--workers"), "--workers");
    assert_error_names(LOAD(&c, "--id", "2", "--az"), "--az");
    assert_error_names(LOAD(&c, "--config"), "--config");
}

static void test_config_file_key_without_value_is_named(void **state)
{
    (void)state;
    char path[64];
    struct sl_config c;
    write_file(path, "id = 2\nworkers\n");
    int rv = LOAD(&c, "--config", path);
    unlink(path);
    assert_error_names(rv, "workers");
    write_file(path, "az =   # nothing but a comment\n");
    rv = LOAD(&c, "--config", path);
    unlink(path);
    assert_error_names(rv, "az");
}

static void test_config_id_0_is_refused(void **state)
{
    (void)state;
    struct sl_config c;
    assert_error_names(LOAD(&c, "--id", "0"), "id");
    assert_error_names(LOAD(&c, "--id=0"), "id");
    char path[64];
    write_file(path, "id = 0\n");
    int rv = LOAD(&c, "--config", path);
    unlink(path);
    assert_error_names(rv, "id");
}

static void test_config_zero_interval_or_count_is_named(void **state)
{
    (void)state;
    struct sl_config c;
    assert_error_names(LOAD(&c, "--workers=0"), "workers");
    assert_error_names(LOAD(&c, "--contexts=0"), "contexts");
    assert_error_names(LOAD(&c, "--tick-ms=0"), "tick-ms");
    assert_error_names(LOAD(&c, "--iterator-ttl-ms=0"), "iterator-ttl-ms");
}

static void test_config_az_longer_than_63_characters_is_named(void **state)
{
    (void)state;
    struct sl_config c;
    char flag[400];
    snprintf(flag, sizeof(flag), "--az=%063d", 0);
    assert_int_equal(LOAD(&c, flag), 0);
    assert_int_equal(strlen(c.az), 63);
    snprintf(flag, sizeof(flag), "--az=%064d", 0);
    assert_error_names(LOAD(&c, flag), "az");
    snprintf(flag, sizeof(flag), "--az=%0300d", 0); /* past the field's 255 characters */
    assert_error_names(LOAD(&c, flag), "az");
    assert_error_names(LOAD(&c, "--az="), "az");
}

static void test_config_string_longer_than_field_is_named(void **state)
{
    (void)state;
    struct sl_config c;
    char flag[400];
    snprintf(flag, sizeof(flag), "--data-dir=/%0255d", 0);
    assert_error_names(LOAD(&c, flag), "data-dir");
    snprintf(flag, sizeof(flag), "--data-dir=/%0254d", 0);
    assert_int_equal(LOAD(&c, flag), 0);
    assert_int_equal(strlen(c.data_dir), SL_CONFIG_STR_MAX - 1);
}

static void test_config_listen_must_be_tcp(void **state)
{
    (void)state;
    struct sl_config c;
    assert_error_names(LOAD(&c, "--listen", "ipc:///tmp/sluice"), "listen");
}

/* BUG: load_file (node/server/config.c) reads lines with fgets into a 1024-byte buffer, so a
 * longer line arrives in pieces and each piece after the first is parsed as a line of its own:
 * the tail of a long comment becomes an "unknown key" (and later line numbers are off). */
static void test_config_file_comment_longer_than_1024_bytes_is_ignored(void **state)
{
    (void)state;
    char *text = malloc(4096);
    assert_non_null(text);
    strcpy(text, "id = 4\n# ");
    size_t n = strlen(text);
    memset(text + n, 'x', 2000);
    strcpy(text + n + 2000, " end of the comment\nworkers = 5\n");
    char path[64];
    write_file(path, text);
    free(text);
    struct sl_config c;
    int rv = LOAD(&c, "--config", path);
    unlink(path);
    if (rv != 0) {
        fail_msg("a long comment line was refused: %s", err);
    }
    assert_int_equal(c.id, 4);
    assert_int_equal(c.workers, 5);
}

static void test_config_account_must_be_12_digits(void **state)
{
    (void)state;
    const char *args[] = {"--account", "12345", NULL};
    struct sl_config c;
    assert_int_equal(load_args(&c, args), -1);
    assert_non_null(strstr(err, "account must be 12 digits"));
}

static void test_config_help_returns_1(void **state)
{
    (void)state;
    struct sl_config c;
    assert_int_equal(LOAD(&c, "--help"), 1);
    assert_int_equal(LOAD(&c, "-h"), 1);
    assert_int_equal(LOAD(&c, "--id", "3", "--help"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults_equal_the_key_table),
        cmocka_unit_test(test_config_flags_override_every_default),
        cmocka_unit_test(test_config_flag_takes_value_after_equals_or_as_next_argument),
        cmocka_unit_test(test_config_value_after_equals_may_itself_hold_equals),
        cmocka_unit_test(test_config_later_flag_wins_over_earlier),
        cmocka_unit_test(test_config_file_sets_keys_around_comments_and_blank_lines),
        cmocka_unit_test(test_config_flags_override_file_before_or_after_config),
        cmocka_unit_test(test_config_unknown_flag_is_named),
        cmocka_unit_test(test_config_argument_without_dashes_is_named),
        cmocka_unit_test(test_config_unknown_file_key_is_named_with_file_and_line),
        cmocka_unit_test(test_config_file_may_not_name_another_config_file),
        cmocka_unit_test(test_config_missing_file_is_named),
        cmocka_unit_test(test_config_non_numeric_value_is_named),
        cmocka_unit_test(test_config_negative_number_is_named),
        cmocka_unit_test(test_config_negative_number_after_white_space_is_named),
        cmocka_unit_test(test_config_flag_without_value_is_named),
        cmocka_unit_test(test_config_file_key_without_value_is_named),
        cmocka_unit_test(test_config_id_0_is_refused),
        cmocka_unit_test(test_config_zero_interval_or_count_is_named),
        cmocka_unit_test(test_config_az_longer_than_63_characters_is_named),
        cmocka_unit_test(test_config_string_longer_than_field_is_named),
        cmocka_unit_test(test_config_listen_must_be_tcp),
        cmocka_unit_test(test_config_file_comment_longer_than_1024_bytes_is_ignored),
        cmocka_unit_test(test_config_account_must_be_12_digits),
        cmocka_unit_test(test_config_help_returns_1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
