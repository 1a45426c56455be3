/* replay.c — runs a fuzz target's LLVMFuzzerTestOneInput over files, so that compilers without
 * libFuzzer (gcc) still exercise the targets on the seed corpus in ctest.
 *
 * Usage: replay PATH...   (each PATH a file or a directory of files, in name order) */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs the target on one file; returns 0, or -1 when the file cannot be read. */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 4096, len = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            fprintf(stderr, "%s: out of memory\n", path);
            return -1;
        }
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap) {
            break;
        }
        cap *= 2;
        unsigned char *bigger = realloc(buf, cap);
        if (!bigger) {
            free(buf);
        }
        buf = bigger;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "%s: read error\n", path);
        free(buf);
        return -1;
    }
    /* An exact-size copy, so that AddressSanitizer sees any read past the input. */
    unsigned char *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int skip_dots(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

int main(int argc, char **argv)
{
    size_t files = 0;
    int rc = 0;
    for (int a = 1; a < argc; a++) {
        struct stat st;
        if (stat(argv[a], &st) != 0) {
            perror(argv[a]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            rc |= run_file(argv[a]);
            files++;
            continue;
        }
        struct dirent **names;
        int n = scandir(argv[a], &names, skip_dots, alphasort);
        if (n < 0) {
            perror(argv[a]);
            return 1;
        }
        for (int k = 0; k < n; k++) {
            size_t len = strlen(argv[a]) + strlen(names[k]->d_name) + 2;
            char *path = malloc(len);
            if (!path) {
                return 1;
            }
            snprintf(path, len, "%s/%s", argv[a], names[k]->d_name);
            rc |= run_file(path);
            files++;
            free(path);
            free(names[k]);
        }
        free(names);
    }
    printf("replayed %zu inputs\n", files);
    return rc == 0 && files > 0 ? 0 : 1;
}
