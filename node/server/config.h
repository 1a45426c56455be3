/* config.h — sluiced's settings: command-line flags and the same keys in a config file.
 *
 * Every setting is one row of SL_CONFIG_KEYS: its name (the flag is --name, the file key is
 * name), its type, its default and its help line. `sluiced --help` prints the table.
 */
#ifndef SL_SERVER_CONFIG_H
#define SL_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_CONFIG_STR_MAX 256

/* X(field, name, type, default, help); type STR or U64. */
#define SL_CONFIG_KEYS(X)                                                                          \
    X(id, "id", U64, "1", "this node's id (a positive integer, unique in the cluster)")            \
    X(az, "az", STR, "az1", "availability zone label of this node")                                \
    X(data_dir, "data-dir", STR, "./sluice-data", "directory of the node's RocksDB store")         \
    X(listen, "listen", STR, "tcp://127.0.0.1:4510", "client API address (NNG URL)")               \
    X(peer_listen, "peer-listen", STR, "tcp://127.0.0.1:4511",                                     \
      "address for other nodes (reserved: clusters come in a later release)")                      \
    X(http_listen, "http-listen", STR, "127.0.0.1:4567",                                           \
      "Kinesis HTTP API address, HTTP/1.1 and HTTP/2 (IPv4:port; empty: no HTTP API)")             \
    X(credentials_file, "credentials-file", STR, "",                                               \
      "AWS credentials file (INI, aws_access_key_id/aws_secret_access_key per profile); when "     \
      "set, Kinesis HTTP requests must be SigV4-signed with one of its keys (empty: not checked)") \
    X(region, "region", STR, "us-east-1", "region named in ARNs and error messages")               \
    X(account, "account", STR, "000000000000", "12-digit account id named in ARNs and errors")     \
    X(shard_limit, "shard-limit", U64, "500", "most shards all streams may have together")         \
    X(contexts, "contexts", U64, "1024", "client requests in flight at once")                      \
    X(workers, "workers", U64, "8", "request handler threads")                                     \
    X(tick_ms, "tick-ms", U64, "10", "consensus tick (election timeout is 10-20 ticks)")           \
    X(retention_hour_ms, "retention-hour-ms", U64, "3600000",                                      \
      "length of one retention hour in ms; shorten it only to test retention quickly")             \
    X(retention_check_ms, "retention-check-ms", U64, "10000",                                      \
      "how often expired records are trimmed")                                                     \
    X(iterator_ttl_ms, "iterator-ttl-ms", U64, "300000",                                           \
      "lifetime of a shard iterator and of a ListShards NextToken")

struct sl_config {
#define SL_CONFIG_FIELD_STR(field)                    char field[SL_CONFIG_STR_MAX];
#define SL_CONFIG_FIELD_U64(field)                    uint64_t field;
#define SL_CONFIG_FIELD(field, name, type, def, help) SL_CONFIG_FIELD_##type(field)
    SL_CONFIG_KEYS(SL_CONFIG_FIELD)
#undef SL_CONFIG_FIELD
};

/* Fills `c` from the defaults, then the file named by --config (if any), then the other flags
 * (flags win). Returns 0; 1 when --help was asked for (usage printed to stdout); or -1 with a
 * message naming the flag, key or value in `err`. */
int sl_config_load(struct sl_config *c, int argc, char **argv, char *err, size_t err_len);

/* Prints the usage text, with every key, to `out` (a FILE *). */
void sl_config_usage(void *out, const char *prog);

#endif
