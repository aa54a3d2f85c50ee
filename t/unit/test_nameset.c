/*
 * Check tests of statsd_nameset: the limit, the groups' fair shares, the
 * set in caller-provided memory, and the limit held across processes
 * that share that memory (fork, as httpd's children do).
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "statsd_nameset.h"
#include "unit_util.h"

static int admit_n(statsd_nameset *s, unsigned group, const char *stem,
                   unsigned from, unsigned n)
{
    char name[64];
    unsigned i;
    int admitted = 0;

    for (i = from; i < from + n; i++) {
        int len = snprintf(name, sizeof(name), "%s%u", stem, i);
        admitted += statsd_nameset_admit_group(s, group, name, (size_t)len);
    }
    return admitted;
}

/* A set of 50 names in groups groups, in heap memory *mem (the caller
 * frees it). */
static statsd_nameset *heap_set(unsigned groups, uint64_t **mem)
{
    size_t need = statsd_nameset_size(50, groups);
    statsd_nameset *s;

    *mem = malloc(need);
    ck_assert_ptr_nonnull(*mem);
    s = statsd_nameset_init(*mem, need, 50, groups);
    ck_assert_ptr_nonnull(s);
    return s;
}

/* Names that differ in one byte, at any place and for every length up to
 * past two words (the hash reads the last bytes of a name by loads that
 * overlap), are distinct names; the same bytes again are not new. */
START_TEST(names_differing_in_one_byte_are_distinct)
{
    statsd_nameset *s;
    char name[24];
    size_t len, at, names = 0;

    ck_assert_int_eq(statsd_nameset_create(&s, 2000), 0);
    for (len = 1; len <= sizeof(name); len++) {
        for (at = 0; at < len; at++) {
            memset(name, 'a', len);
            name[at] = 'b';
            ck_assert_int_eq(statsd_nameset_admit(s, name, len), 1);
            names++;
            ck_assert_uint_eq(statsd_nameset_count(s), names);
        }
        memset(name, 'a', len);
        ck_assert_int_eq(statsd_nameset_admit(s, name, len), 1);
        ck_assert_int_eq(statsd_nameset_admit(s, name, len), 1);
        ck_assert_uint_eq(statsd_nameset_count(s), ++names);
    }
    statsd_nameset_destroy(s);
}
END_TEST

START_TEST(size_rejects_out_of_range)
{
    ck_assert_uint_eq(statsd_nameset_size(0, 1), 0);
    ck_assert_uint_eq(statsd_nameset_size(STATSD_MAX_NAMES_LIMIT + 1, 1), 0);
    ck_assert_uint_eq(statsd_nameset_size(10, 0), 0);
    ck_assert_uint_eq(statsd_nameset_size(10, STATSD_NAMESET_MAX_GROUPS + 1),
                      0);
    ck_assert_uint_gt(statsd_nameset_size(10, 1), 0);
    /* more groups, more bytes; the table itself does not grow */
    ck_assert_uint_eq(statsd_nameset_size(10, 3) - statsd_nameset_size(10, 1),
                      2 * sizeof(uint64_t));
}
END_TEST

START_TEST(init_checks_its_memory)
{
    size_t need = statsd_nameset_size(50, 2);
    uint64_t *mem = malloc(need);

    ck_assert_ptr_null(statsd_nameset_init(NULL, need, 50, 2));
    ck_assert_ptr_null(statsd_nameset_init(mem, need - 1, 50, 2));
    ck_assert_ptr_null(statsd_nameset_init((char *)mem + 4, need - 4, 50, 2));
    ck_assert_ptr_nonnull(statsd_nameset_init(mem, need, 50, 2));
    free(mem);
}
END_TEST

START_TEST(limit_then_other)
{
    uint64_t *mem;
    statsd_nameset *s = heap_set(1, &mem);

    ck_assert_int_eq(admit_n(s, 0, "/p/", 0, 3000), 50);
    ck_assert_uint_eq(statsd_nameset_count(s), 50);
    /* names already in stay in */
    ck_assert_int_eq(admit_n(s, 0, "/p/", 0, 50), 50);
    ck_assert_int_eq(admit_n(s, 0, "/p/", 50, 10), 0);
    ck_assert_uint_eq(statsd_nameset_count(s), 50);
    free(mem);
}
END_TEST

START_TEST(groups_get_a_fair_share)
{
    uint64_t *mem;
    statsd_nameset *s = heap_set(3, &mem);

    ck_assert_uint_eq(statsd_nameset_group_cap(s), 17);
    /* a scanner under group 0 takes its share only */
    ck_assert_int_eq(admit_n(s, 0, "/scan/", 0, 3000), 17);
    ck_assert_int_eq(admit_n(s, 1, "/app/", 0, 5), 5);
    /* the same name in another group is another name */
    ck_assert_int_eq(admit_n(s, 2, "/scan/", 0, 17), 17);
    ck_assert_uint_eq(statsd_nameset_group_count(s, 0), 17);
    ck_assert_uint_eq(statsd_nameset_group_count(s, 1), 5);
    ck_assert_uint_eq(statsd_nameset_group_count(s, 2), 17);
    ck_assert_uint_eq(statsd_nameset_count(s), 39);
    /* group 1 may still reach its share, then the total holds */
    ck_assert_int_eq(admit_n(s, 1, "/app/", 5, 100), 11);
    ck_assert_uint_eq(statsd_nameset_count(s), 50);
    ck_assert_int_eq(statsd_nameset_admit_group(s, 3, "x", 1), 0);
    ck_assert_uint_eq(statsd_nameset_group_count(s, 3), 0);
    free(mem);
}
END_TEST

START_TEST(create_is_one_group)
{
    statsd_nameset *s = NULL;

    ck_assert_int_eq(statsd_nameset_create(&s, 0), -22);
    ck_assert_int_eq(statsd_nameset_create(&s, 10), 0);
    ck_assert_uint_eq(statsd_nameset_group_cap(s), 10);
    ck_assert_int_eq(statsd_nameset_admit(s, "a", 1), 1);
    ck_assert_int_eq(statsd_nameset_admit_group(s, 0, "a", 1), 1);
    ck_assert_int_eq(statsd_nameset_admit_group(s, 1, "b", 1), 0);
    ck_assert_uint_eq(statsd_nameset_count(s), 1);
    statsd_nameset_destroy(s);
}
END_TEST

/* Four processes share one set in MAP_SHARED memory, each offering the
 * same 3000 names: the set holds exactly 50, every process sees them. */
START_TEST(processes_share_one_limit)
{
    size_t need = statsd_nameset_size(50, 1);
    void *mem = mmap(NULL, need, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    statsd_nameset *s;
    pid_t kids[4];
    int i, st;

    ck_assert_ptr_ne(mem, MAP_FAILED);
    s = statsd_nameset_init(mem, need, 50, 1);
    ck_assert_ptr_nonnull(s);
    for (i = 0; i < 4; i++) {
        kids[i] = fork();
        ck_assert_int_ge(kids[i], 0);
        if (kids[i] == 0)
            _exit(admit_n(s, 0, "/n/", (unsigned)i * 100, 3000) <= 50 ? 0 : 1);
    }
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(waitpid(kids[i], &st, 0), kids[i]);
        ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    /* processes racing for the last slots may each add one */
    ck_assert_uint_ge(statsd_nameset_count(s), 50);
    ck_assert_uint_le(statsd_nameset_count(s), 50 + 3);
    munmap(mem, need);
}
END_TEST

UNIT_MAIN("statsd_nameset", "nameset", NULL, NULL, 0,
          UNIT_TEST(size_rejects_out_of_range),
          UNIT_TEST(names_differing_in_one_byte_are_distinct),
          UNIT_TEST(init_checks_its_memory),
          UNIT_TEST(limit_then_other),
          UNIT_TEST(groups_get_a_fair_share),
          UNIT_TEST(create_is_one_group),
          UNIT_TEST(processes_share_one_limit))
