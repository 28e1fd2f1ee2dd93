/* replay_main.c: runs a fuzz target's LLVMFuzzerTestOneInput over saved inputs, without libFuzzer.
 *
 * Usage: replay_TARGET PATH...   where each PATH is an input file or a folder of them (read
 * recursively, dot files skipped). Linked by the Makefile with gcc (ASan in VARIANT=asan), so
 * `make test` replays every corpus and every saved crash. Exits 1 if a path cannot be read
 * or holds no input at all; a failing input aborts inside the target. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (1u << 20)

struct replay {
    unsigned long inputs;
    unsigned long bytes;
    int errors;
};

/* Run one file: the input is copied into a buffer of exactly its size so that the
 * sanitizers catch any read past the end. */
static void replay_file(struct replay *r, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        r->errors++;
        return;
    }
    uint8_t *buf = malloc(REPLAY_MAX_INPUT);
    size_t n = buf != NULL ? fread(buf, 1, REPLAY_MAX_INPUT, f) : 0;
    int bad = buf == NULL || ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "replay: %s: read error\n", path);
        free(buf);
        r->errors++;
        return;
    }
    uint8_t *exact = malloc(n > 0 ? n : 1);
    if (exact == NULL) {
        free(buf);
        r->errors++;
        return;
    }
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    r->inputs++;
    r->bytes += n;
}

static void replay_path(struct replay *r, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        r->errors++;
        return;
    }
    if (!S_ISDIR(sb.st_mode)) {
        replay_file(r, path);
        return;
    }
    struct dirent **names;
    int count = scandir(path, &names, NULL, alphasort); /* sorted: same order every run */
    if (count < 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        r->errors++;
        return;
    }
    for (int i = 0; i < count; i++) {
        if (names[i]->d_name[0] != '.') {
            size_t len = strlen(path) + strlen(names[i]->d_name) + 2;
            char *child = malloc(len);
            if (child != NULL) {
                snprintf(child, len, "%s/%s", path, names[i]->d_name);
                replay_path(r, child);
                free(child);
            } else {
                r->errors++;
            }
        }
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    struct replay r = {0};
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_FOLDER...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        replay_path(&r, argv[i]);
    if (r.errors > 0 || r.inputs == 0) {
        fprintf(stderr, "replay: %d unreadable path(s), %lu inputs run\n", r.errors, r.inputs);
        return 1;
    }
    printf("replay: %lu inputs (%lu bytes) ran clean\n", r.inputs, r.bytes);
    return 0;
}
