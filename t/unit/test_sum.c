/*
 * Check tests of statsd_sum: counters summed per key over an interval.
 */
#include <check.h>
#include <stdio.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_sum.h"
#include "unit_util.h"

static statsd_sum *sum;
static char out[1 << 16];
static unsigned n_out;

static void setup(void)
{
    ck_assert_int_eq(statsd_sum_create(&sum, 8, 256), 0);
}

static void teardown(void)
{
    statsd_sum_destroy(sum);
}

/* Fold a NUL-terminated block (an exact-size heap copy); what was passed
 * through, NUL-terminated. */
static const char *fold(const char *lines)
{
    size_t len = strlen(lines);
    char *copy = dup_exact(lines, len);
    size_t o = statsd_sum_fold(sum, copy, len, out, &n_out);

    free(copy);
    out[o] = '\0';
    return out;
}

static const char *drain(void)
{
    size_t o = statsd_sum_drain(sum, out, &n_out);

    ck_assert_uint_le(o, statsd_sum_drain_size(sum));
    out[o] = '\0';
    return out;
}

START_TEST(counters_summed_timers_passed_in_order)
{
    ck_assert_str_eq(fold("p.a.GET.200:1.5|ms\np.a.GET.200:1|c\n"
                          "p.responses.good:1|c\np.responses.time:1.5|ms"),
                     "p.a.GET.200:1.5|ms\np.responses.time:1.5|ms");
    ck_assert_uint_eq(n_out, 2);
    ck_assert_str_eq(fold("p.a.GET.200:2|ms\np.a.GET.200:1|c\n"
                          "p.responses.good:1|c\np.responses.bad:1|c\n"
                          "p.responses.4xx:3|c"),
                     "p.a.GET.200:2|ms");
    ck_assert_uint_eq(statsd_sum_keys(sum), 4);
    ck_assert_str_eq(drain(), "p.a.GET.200:2|c\np.responses.good:2|c\n"
                              "p.responses.bad:1|c\np.responses.4xx:3|c");
    ck_assert_uint_eq(n_out, 4);
    /* drained: the next interval starts empty */
    ck_assert_uint_eq(statsd_sum_keys(sum), 0);
    ck_assert_str_eq(drain(), "");
    ck_assert_uint_eq(n_out, 0);
    ck_assert_str_eq(fold("x:5|c"), "");
    ck_assert_str_eq(drain(), "x:5|c");
}
END_TEST

START_TEST(rate_and_tags_are_part_of_the_key)
{
    ck_assert_str_eq(fold("k:1|c|@0.1\nk:1|c\nk:1|c|@0.1\nk:1|c|#a:b\n"
                          "k,a=b:1|c\nk;a=b:1|c\nk:1|c|@0.1|#a:b\nk:1|c|#a:b"),
                     "");
    ck_assert_str_eq(drain(), "k:2|c|@0.1\nk:1|c\nk:2|c|#a:b\nk,a=b:1|c\n"
                              "k;a=b:1|c\nk:1|c|@0.1|#a:b");
}
END_TEST

START_TEST(other_forms_pass_through)
{
    /* signed, decimal, empty, 20 digits, gauges, sets, a bare "|c" type
     * followed by more letters, no value, no name, no ':' */
    const char *in = "a:-1|c\na:1.5|c\na:|c\na:12345678901234567890|c\n"
                     "a:1|g\na:1|s\na:1|cx\na:1\n:1|c\nabc\na:b:1|c\nx|c";
    ck_assert_str_eq(fold(in), in);
    ck_assert_uint_eq(n_out, 12);
    ck_assert_uint_eq(statsd_sum_keys(sum), 0);
    /* empty lines are dropped */
    ck_assert_str_eq(fold("\n\na:1|ms\n\n"), "a:1|ms");
    ck_assert_uint_eq(n_out, 1);
}
END_TEST

START_TEST(largest_values_stay_exact)
{
    /* 19 digits is the widest summed value; a total that would pass
     * 2^64 - 1 leaves that line as it is */
    ck_assert_str_eq(fold("a:9999999999999999999|c\n"
                          "a:8446744073709551616|c\na:1|c"),
                     "a:1|c");
    ck_assert_str_eq(drain(), "a:18446744073709551615|c");
}
END_TEST

START_TEST(full_table_passes_lines_through)
{
    /* 8 keys at most */
    ck_assert_str_eq(fold("k0:1|c\nk1:1|c\nk2:1|c\nk3:1|c\nk4:1|c\nk5:1|c\n"
                          "k6:1|c\nk7:1|c\nk8:1|c\nk0:1|c\nk8:1|c"),
                     "k8:1|c\nk8:1|c");
    ck_assert_str_eq(drain(), "k0:2|c\nk1:1|c\nk2:1|c\nk3:1|c\nk4:1|c\n"
                              "k5:1|c\nk6:1|c\nk7:1|c");
}
END_TEST

START_TEST(full_arena_passes_lines_through)
{
    char line[300];

    /* 256 key bytes: a 200-byte key fits, a second one does not */
    memset(line, 'a', 200);
    strcpy(line + 200, ":1|c");
    ck_assert_str_eq(fold(line), "");
    line[0] = 'b';
    ck_assert_str_eq(fold(line), line);
    ck_assert_uint_eq(statsd_sum_keys(sum), 1);
}
END_TEST

START_TEST(many_keys_hash_apart)
{
    statsd_sum *big;
    char line[64];
    size_t i, o;
    unsigned n;

    ck_assert_int_eq(statsd_sum_create(&big, 4096, 1 << 16), 0);
    for (i = 0; i < 3 * 4096; i++) {
        int len = snprintf(line, sizeof(line), "key.%zu:%zu|c", i % 4096,
                           i / 4096 + 1);
        ck_assert_uint_eq(statsd_sum_fold(big, line, (size_t)len, out, &n),
                          0);
    }
    ck_assert_uint_eq(statsd_sum_keys(big), 4096);
    o = statsd_sum_drain(big, out, &n);
    out[o] = '\0';
    ck_assert_uint_eq(n, 4096);
    /* every key: 1 + 2 + 3 */
    ck_assert(strncmp(out, "key.0:6|c\nkey.1:6|c\n", 20) == 0);
    ck_assert_ptr_nonnull(strstr(out, "\nkey.4095:6|c"));
    statsd_sum_destroy(big);
}
END_TEST

/* Random blocks of counters (some with a rate or tags), timers, gauges
 * and odd lines, folded in random chunks and drained now and then: what
 * comes out adds up, key by key, to what went in. */
#define PKEYS 12
static const char *const pnames[PKEYS] = {
    "a:", "a:", "b.c:", "d:", "a,x=y:", "a;x=y:", "e:", "f:", "g:", "h:",
    "i:", "j:"};
static const char *const prests[4] = {"|c", "|c|@0.1", "|c|#t:v", "|ms"};

static unsigned long long lcg(unsigned long long *x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return *x >> 33;
}

/* the total of counter lines "<name><v><rest>" in text */
static unsigned long long total_of(const char *text, const char *name,
                                   const char *rest)
{
    unsigned long long t = 0;
    const char *p = text;
    size_t nl = strlen(name), rl = strlen(rest);

    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > nl + rl && !strncmp(p, name, nl)
            && !strncmp(p + len - rl, rest, rl)) {
            char *end;
            unsigned long long v = strtoull(p + nl, &end, 10);
            if (end == p + len - rl)
                t += v;
        }
        p += len + (e ? 1 : 0);
    }
    return t;
}

START_TEST(random_blocks_keep_every_total)
{
    static char in[1 << 15], outall[1 << 17], tmp[1 << 16];
    unsigned long long x = 12345 + (unsigned long long)_i;
    size_t inl = 0, outl = 0, pos = 0;
    statsd_sum *s;
    unsigned n, i, k, r;

    ck_assert_int_eq(statsd_sum_create(&s, 6, 64), 0);   /* fills up */
    for (i = 0; i < 600; i++) {
        k = (unsigned)(lcg(&x) % PKEYS);
        r = (unsigned)(lcg(&x) % 4);
        inl += (size_t)sprintf(in + inl, "%s%s%llu%s", inl ? "\n" : "",
                               pnames[k], lcg(&x) % 1000, prests[r]);
        if (lcg(&x) % 17 == 0)
            inl += (size_t)sprintf(in + inl, "\nodd:1|g\n:5|c\nx:-1|c");
    }
    in[inl] = '\0';
    while (pos < inl) {
        /* a chunk ends at a line end */
        size_t end = pos + (size_t)(lcg(&x) % 400) + 1, o;
        while (end < inl && in[end] != '\n')
            end++;
        if (end > inl)
            end = inl;
        o = statsd_sum_fold(s, in + pos, end - pos, tmp, &n);
        if (o) {
            memcpy(outall + outl, tmp, o);
            outl += o;
            outall[outl++] = '\n';
        }
        if (lcg(&x) % 5 == 0) {
            o = statsd_sum_drain(s, tmp, &n);
            memcpy(outall + outl, tmp, o);
            outl += o;
            outall[outl++] = '\n';
        }
        pos = end + 1;
    }
    outl += statsd_sum_drain(s, outall + outl, &n);
    outall[outl] = '\0';
    for (k = 0; k < PKEYS; k++)
        for (r = 0; r < 4; r++)
            ck_assert_msg(total_of(in, pnames[k], prests[r])
                          == total_of(outall, pnames[k], prests[r]),
                          "%s...%s", pnames[k], prests[r]);
    ck_assert_uint_eq(total_of(in, "odd:", "|g"), total_of(outall, "odd:", "|g"));
    statsd_sum_destroy(s);
}
END_TEST

START_TEST(create_rejects_bad_sizes)
{
    statsd_sum *s;

    ck_assert_int_eq(statsd_sum_create(NULL, 8, 8), -EINVAL);
    ck_assert_int_eq(statsd_sum_create(&s, 0, 8), -EINVAL);
    ck_assert_int_eq(statsd_sum_create(&s, 8, 0), -EINVAL);
    statsd_sum_destroy(NULL);
}
END_TEST

UNIT_MAIN("statsd_sum", "core", setup, teardown, 0,
          UNIT_TEST(counters_summed_timers_passed_in_order),
          UNIT_TEST(rate_and_tags_are_part_of_the_key),
          UNIT_TEST(other_forms_pass_through),
          UNIT_TEST(largest_values_stay_exact),
          UNIT_TEST(full_table_passes_lines_through),
          UNIT_TEST(full_arena_passes_lines_through),
          UNIT_TEST(many_keys_hash_apart),
          UNIT_LOOP(random_blocks_keep_every_total, 20),
          UNIT_TEST(create_rejects_bad_sizes))
