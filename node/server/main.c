/* main.c — sluiced: reads its settings, starts the node, stops it cleanly on SIGTERM/SIGINT. */
#include "server/config.h"
#include "io/sigv4.h"
#include "server/node.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    struct sl_config cfg;
    char err[1024];
    int rv = sl_config_load(&cfg, argc, argv, err, sizeof(err));
    if (rv == 1) {
        return 0;
    }
    if (rv != 0) {
        fprintf(stderr, "sluiced: %s\n", err);
        return 2;
    }
    /* Signals are taken synchronously by this thread; every other thread blocks them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct node *n;
    if (sl_node_start(&n, &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "sluiced: %s\n", err);
        return 1;
    }
    if (strcmp(n->identity.az, cfg.az) != 0) {
        fprintf(stderr,
                "sluiced: warning: --az %s ignored: the data directory belongs to az %s (a node "
                "keeps the zone it was created in)\n",
                cfg.az, n->identity.az);
    }
    printf("sluiced: node %llu (az %s) serving %s, data in %s\n", (unsigned long long)cfg.id,
           n->identity.az, cfg.listen, cfg.data_dir);
    if (cfg.http_listen[0]) {
        printf("sluiced: Kinesis API on http://%s, %s\n", cfg.http_listen,
               n->creds ? "SigV4 required" : "authentication off");
        if (n->creds) {
            printf("sluiced: %zu key(s) from %s\n", sl_sigv4_creds_count(n->creds),
                   cfg.credentials_file);
        }
    }
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    printf("sluiced: %s received, stopping\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    fflush(stdout);
    sl_node_stop(n);
    printf("sluiced: stopped\n");
    return 0;
}
