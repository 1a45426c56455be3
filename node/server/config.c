/* config.c — flags and config file (see config.h). */
#include "server/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum key_type { STR, U64 };

struct key {
    const char *name;
    enum key_type type;
    const char *def;
    const char *help;
    size_t offset;
};

static const struct key keys[] = {
#define SL_CONFIG_ROW(field, name, type, def, help)                                                \
    {name, type, def, help, offsetof(struct sl_config, field)},
    SL_CONFIG_KEYS(SL_CONFIG_ROW)
#undef SL_CONFIG_ROW
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static const struct key *find_key(const char *name, size_t len)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strlen(keys[i].name) == len && memcmp(keys[i].name, name, len) == 0) {
            return &keys[i];
        }
    }
    return NULL;
}

static int set_value(struct sl_config *c, const struct key *k, const char *value, const char *where,
                     char *err, size_t err_len)
{
    char *field = (char *)c + k->offset;
    if (k->type == STR) {
        if (strlen(value) >= SL_CONFIG_STR_MAX) {
            snprintf(err, err_len, "%s: value of %s is longer than %d characters", where, k->name,
                     SL_CONFIG_STR_MAX - 1);
            return -1;
        }
        strcpy(field, value);
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(value, &end, 10);
    /* Digits only: strtoull would also take leading blanks and a sign. */
    if (errno != 0 || value[0] < '0' || value[0] > '9' || *end != '\0') {
        snprintf(err, err_len, "%s: %s must be a non-negative integer, not '%s'", where, k->name,
                 value);
        return -1;
    }
    memcpy(field, &(uint64_t){v}, sizeof(uint64_t));
    return 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r')) {
        s[--n] = '\0';
    }
    return s;
}

/* Lines are `key = value` or `key value`; '#' starts a comment; blank lines are skipped. */
static int load_file(struct sl_config *c, const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_len, "cannot read config file %s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    int rv = 0;
    while (rv == 0 && getline(&line, &cap, f) != -1) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) {
            *hash = '\0';
        }
        char *s = trim(line);
        if (*s == '\0') {
            continue;
        }
        size_t name_len = strcspn(s, " \t=");
        char *value = s + name_len;
        value += strspn(value, " \t");
        if (*value == '=') {
            value = trim(value + 1);
        }
        char where[SL_CONFIG_STR_MAX + 32];
        snprintf(where, sizeof(where), "%s:%d", path, lineno);
        const struct key *k = find_key(s, name_len);
        if (!k || strcmp(k->name, "config") == 0) {
            snprintf(err, err_len, "%s: unknown key '%.*s' (sluiced --help lists them)", where,
                     (int)name_len, s);
            rv = -1;
        } else if (*value == '\0') {
            snprintf(err, err_len, "%s: key '%s' has no value", where, k->name);
            rv = -1;
        } else {
            rv = set_value(c, k, value, where, err, err_len);
        }
    }
    free(line);
    fclose(f);
    return rv;
}

void sl_config_usage(void *out, const char *prog)
{
    FILE *f = out;
    fprintf(f,
            "usage: %s [--config FILE] [--KEY VALUE | --KEY=VALUE]...\n\n"
            "sluiced: a sluice node. It stores streams in a RocksDB directory and serves the\n"
            "sluice protobuf API over NNG. A config file holds the same keys, one per line as\n"
            "`key = value`; flags given on the command line override it.\n\n"
            "  --config FILE\n      read settings from FILE\n",
            prog);
    for (size_t i = 0; i < N_KEYS; i++) {
        fprintf(f, "  --%s %s\n      %s (default: %s)\n", keys[i].name,
                keys[i].type == STR ? "TEXT" : "N", keys[i].help, keys[i].def);
    }
    fprintf(f, "  --help\n      print this text\n");
}

int sl_config_load(struct sl_config *c, int argc, char **argv, char *err, size_t err_len)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < N_KEYS; i++) {
        if (set_value(c, &keys[i], keys[i].def, "default", err, err_len) != 0) {
            return -1;
        }
    }
    /* Two passes: the config file first, so that flags override it wherever they appear. */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 1; i < argc; i++) {
            const char *arg = argv[i];
            if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
                sl_config_usage(stdout, argv[0]);
                return 1;
            }
            if (strncmp(arg, "--", 2) != 0) {
                snprintf(err, err_len, "unexpected argument '%s' (sluiced --help)", arg);
                return -1;
            }
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
            const char *value = eq ? eq + 1 : NULL;
            if (!value) {
                if (i + 1 >= argc) {
                    snprintf(err, err_len, "flag --%s needs a value", name);
                    return -1;
                }
                value = argv[++i];
            }
            bool is_config = name_len == 6 && memcmp(name, "config", 6) == 0;
            if (is_config) {
                if (pass == 0 && load_file(c, value, err, err_len) != 0) {
                    return -1;
                }
                continue;
            }
            const struct key *k = find_key(name, name_len);
            if (!k) {
                snprintf(err, err_len, "unknown flag --%.*s (sluiced --help lists them)",
                         (int)name_len, name);
                return -1;
            }
            if (pass == 1) {
                char where[80];
                snprintf(where, sizeof(where), "flag --%s", k->name);
                if (set_value(c, k, value, where, err, err_len) != 0) {
                    return -1;
                }
            }
        }
    }
    if (c->id == 0) {
        snprintf(err, err_len, "id must be a positive integer");
        return -1;
    }
    if (c->contexts == 0 || c->workers == 0 || c->tick_ms == 0 || c->retention_hour_ms == 0 ||
        c->retention_check_ms == 0 || c->iterator_ttl_ms == 0) {
        snprintf(err, err_len,
                 "contexts, workers, tick-ms, retention-hour-ms, retention-check-ms and "
                 "iterator-ttl-ms must be positive");
        return -1;
    }
    if (c->retention_hour_ms > 3600000) {
        snprintf(err, err_len,
                 "retention-hour-ms may only shorten an hour (at most 3600000), not %llu",
                 (unsigned long long)c->retention_hour_ms);
        return -1;
    }
    if (c->shard_limit > UINT32_MAX || c->contexts > 65536 || c->workers > 1024) {
        snprintf(err, err_len,
                 "shard-limit must be at most %u, contexts at most 65536, workers at most 1024",
                 UINT32_MAX);
        return -1;
    }
    if (strlen(c->account) != 12 || strspn(c->account, "0123456789") != 12) {
        snprintf(err, err_len, "account must be 12 digits, not '%s'", c->account);
        return -1;
    }
    if (strlen(c->az) == 0 || strlen(c->az) > 63) {
        snprintf(err, err_len, "az must be 1 to 63 characters, not '%s'", c->az);
        return -1;
    }
    if (strncmp(c->listen, "tcp://", 6) != 0) {
        snprintf(err, err_len, "listen must be a tcp:// address, not '%s'", c->listen);
        return -1;
    }
    return 0;
}
