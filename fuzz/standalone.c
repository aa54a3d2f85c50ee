/*
 * standalone.c - run a libFuzzer target without libFuzzer: each file
 * named on the command line (a directory: each regular file in it, in
 * name order) is read whole and passed to LLVMFuzzerTestOneInput once.
 * With no argument, one input is read from standard input.
 *
 * For regression runs with any compiler (mk/fuzz.mk builds it with gcc
 * and AddressSanitizer). Each input runs in a child process, so one that
 * aborts (a failed check, a sanitizer report) is named and the others
 * still run; the exit status is 1 if any failed. STANDALONE_NOFORK=1 runs
 * them in this process instead (stops at the first failure; handy under
 * a debugger).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long ran, failed;
static int nofork;

/* Read a whole stream into an exact-size heap block (so an overrun of the
 * input is caught as it would be under libFuzzer). */
static int run_stream(FILE *fp, const char *label)
{
    size_t cap = 1 << 16, len = 0, got;
    char *buf = malloc(cap), *exact;

    if (buf == NULL)
        return -1;
    while ((got = fread(buf + len, 1, cap - len, fp)) > 0) {
        len += got;
        if (len == cap) {
            char *more = realloc(buf, cap * 2);
            if (more == NULL) {
                free(buf);
                return -1;
            }
            buf = more;
            cap *= 2;
        }
    }
    if (ferror(fp)) {
        fprintf(stderr, "standalone: cannot read %s\n", label);
        free(buf);
        return -1;
    }
    exact = malloc(len ? len : 1);
    if (exact == NULL) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    fprintf(stderr, "standalone: %s (%zu bytes)\n", label, len);
    ran++;
    if (nofork) {
        LLVMFuzzerTestOneInput((const uint8_t *)exact, len);
    } else {
        int status = 0;
        pid_t pid;
        fflush(NULL);
        pid = fork();
        if (pid < 0) {
            perror("fork");
            free(exact);
            return -1;
        }
        if (pid == 0) {
            LLVMFuzzerTestOneInput((const uint8_t *)exact, len);
            exit(0);   /* not _exit: LeakSanitizer runs at exit */
        }
        while (waitpid(pid, &status, 0) < 0)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            failed++;
            if (WIFSIGNALED(status))
                fprintf(stderr, "standalone: FAILED %s (signal %d)\n", label,
                        WTERMSIG(status));
            else
                fprintf(stderr, "standalone: FAILED %s (exit %d)\n", label,
                        WEXITSTATUS(status));
        }
    }
    free(exact);
    return 0;
}

static int run_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    int rc;

    if (fp == NULL) {
        perror(path);
        return -1;
    }
    rc = run_stream(fp, path);
    fclose(fp);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    int rc = 0;

    if (d == NULL) {
        perror(dir);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **more;
            cap = cap ? cap * 2 : 64;
            more = realloc(names, cap * sizeof(*names));
            if (more == NULL) {
                rc = -1;
                break;
            }
            names = more;
        }
        names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
        if (names[n] == NULL) {
            rc = -1;
            break;
        }
        sprintf(names[n], "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), by_name);
    for (i = 0; i < n; i++) {
        struct stat st;
        if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
            rc = run_file(names[i]);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    const char *nf = getenv("STANDALONE_NOFORK");
    int i;

    nofork = nf != NULL && *nf != '\0' && *nf != '0';
    if (argc < 2) {
        if (run_stream(stdin, "<stdin>") != 0)
            return 2;
    }
    for (i = 1; i < argc; i++) {
        struct stat st;
        int rc;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return 2;
        }
        rc = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]);
        if (rc != 0)
            return 2;
    }
    if (failed) {
        printf("standalone: %lu of %lu input(s) FAILED\n", failed, ran);
        return 1;
    }
    printf("standalone: %lu input(s) passed\n", ran);
    return 0;
}
