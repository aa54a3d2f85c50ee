/*
 * Check tests of statsd_pack: timer values packed per key.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_pack.h"
#include "unit_util.h"

static statsd_pack *pk;
static char out[1 << 16];
static unsigned n_out;

static void setup(void)
{
    ck_assert_int_eq(statsd_pack_create(&pk, 1000), 0);
}

static void teardown(void)
{
    statsd_pack_destroy(pk);
}

static const char *pack(statsd_pack_style s, const char *lines,
                        size_t max_line)
{
    size_t len = strlen(lines);
    char *copy = dup_exact(lines, len);
    size_t o = statsd_pack_lines(pk, s, copy, len, max_line, out, &n_out);

    free(copy);
    ck_assert_uint_le(o, len);
    out[o] = '\0';
    return out;
}

#define MIX "a:1.5|ms\nb:2|ms\na:3|ms\nc:1|g\na:0.25|ms\nb:7|ms|@0.1\nb:8|ms"

START_TEST(etsy_packs_values_with_their_type)
{
    ck_assert_str_eq(pack(STATSD_PACK_ETSY, MIX, 1432),
                     "c:1|g\na:0.25|ms:1.5|ms:3|ms\nb:2|ms:8|ms\nb:7|ms|@0.1");
    ck_assert_uint_eq(n_out, 4);
}
END_TEST

START_TEST(dogstatsd_packs_values_before_the_type)
{
    ck_assert_str_eq(pack(STATSD_PACK_DOGSTATSD, MIX, 1432),
                     "c:1|g\na:0.25:1.5:3|ms\nb:2:8|ms\nb:7|ms|@0.1");
    ck_assert_str_eq(pack(STATSD_PACK_DOGSTATSD,
                          "t:1|ms|#env:prod\nt:2|ms|#env:prod\nt:3|h\nt:4|h", 1432),
                     "t:1:2|ms|#env:prod\nt:3:4|h");
}
END_TEST

/* Values go out in ascending numeric order, not text order: "10" after
 * "9", leading zeros and trailing fraction zeros weigh nothing; equal
 * values keep the order they came in. */
START_TEST(values_are_sorted_by_number)
{
    ck_assert_str_eq(pack(STATSD_PACK_ETSY,
                          "k:10|ms\nk:9|ms\nk:0.5|ms\nk:009.25|ms\nk:9.2|ms\n"
                          "k:.4|ms\nk:0|ms\nk:9.20|ms\nk:100.001|ms\nk:99.999|ms",
                          1432),
                     "k:0|ms:.4|ms:0.5|ms:9|ms:9.2|ms:9.20|ms:009.25|ms:10|ms:"
                     "99.999|ms:100.001|ms");
}
END_TEST

START_TEST(off_keeps_the_lines)
{
    ck_assert_str_eq(pack(STATSD_PACK_OFF, MIX, 1432), MIX);
    ck_assert_uint_eq(n_out, 7);
}
END_TEST

START_TEST(etsy_leaves_colons_in_tags_alone)
{
    ck_assert_str_eq(pack(STATSD_PACK_ETSY,
                          "t:1|ms|#env:prod\nt:2|ms|#env:prod\nu,env=p:1|ms\n"
                          "u,env=p:2|ms", 1432),
                     "t:1|ms|#env:prod\nt:2|ms|#env:prod\nu,env=p:1|ms:2|ms");
}
END_TEST

/* Etsy statsd takes "|#" and all after it off a line before it splits
 * the values: tags without ':' are left unpacked too. */
START_TEST(etsy_leaves_any_tags_alone)
{
    ck_assert_str_eq(pack(STATSD_PACK_ETSY,
                          "t:1|ms|#flag\nt:2|ms|#flag\nt:3|ms\nt:4|ms", 1432),
                     "t:1|ms|#flag\nt:2|ms|#flag\nt:3|ms:4|ms");
}
END_TEST

START_TEST(counters_and_odd_lines_pass)
{
    const char *in = "k:1|c\nk:1|c\nk:-1|ms\nk:1e3|ms\nk:|ms\nk:1|msx\nnocolon\n"
                     "k:1|c|@0.5";
    ck_assert_str_eq(pack(STATSD_PACK_ETSY, in, 1432), in);
}
END_TEST

START_TEST(a_packed_line_never_exceeds_the_packet)
{
    char in[8192], *p = in;
    const char *s, *nl;
    int i;

    for (i = 0; i < 300; i++)
        p += sprintf(p, "%skey.name:%d.%03d|ms", i ? "\n" : "", i, i);
    for (int style = 1; style <= 2; style++) {
        unsigned values = 0;
        pack((statsd_pack_style)style, in, 512);
        ck_assert_uint_gt(n_out, 1);
        for (s = out; s; s = nl ? nl + 1 : NULL) {
            size_t l;
            nl = strchr(s, '\n');
            l = nl ? (size_t)(nl - s) : strlen(s);
            ck_assert_uint_le(l, 512);
            ck_assert(strncmp(s, "key.name:", 9) == 0);
            for (size_t k = 0; k < l; k++)
                values += s[k] == ':';
        }
        ck_assert_uint_eq(values, 300);
    }
}
END_TEST

START_TEST(more_lines_than_the_index_are_copied)
{
    statsd_pack *small;
    size_t o;

    ck_assert_int_eq(statsd_pack_create(&small, 2), 0);
    o = statsd_pack_lines(small, STATSD_PACK_ETSY, "a:1|ms\na:2|ms\na:3|ms\nb:1|c",
                          27, 1432, out, &n_out);
    out[o] = '\0';
    ck_assert_str_eq(out, "a:1|ms:2|ms\na:3|ms\nb:1|c");
    ck_assert_uint_eq(n_out, 3);
    statsd_pack_destroy(small);
}
END_TEST

/* Per key (name and rest), the count and sum of the timer values a text
 * holds, packed or not (integer values only). */
#define QKEYS 6
static const char *const qnames[QKEYS] = {"a", "b.c", "a,x=y", "d", "e", "f"};
static const char *const qrests[QKEYS] = {"|ms", "|ms", "|ms|@0.5", "|h",
                                          "|d", "|ms"};

static void tally(const char *text, unsigned long long count[QKEYS],
                  unsigned long long sum[QKEYS], statsd_pack_style style)
{
    const char *p = text;

    memset(count, 0, QKEYS * sizeof(count[0]));
    memset(sum, 0, QKEYS * sizeof(sum[0]));
    while (*p) {
        const char *e = strchr(p, '\n'), *c = strchr(p, ':');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char line[2048], *q, *bar;
        int k;

        ck_assert_uint_lt(len, sizeof(line));
        memcpy(line, p, len);
        line[len] = '\0';
        p += len + (e ? 1 : 0);
        ck_assert_ptr_nonnull(c);
        *strchr(line, ':') = '\0';
        q = line + strlen(line) + 1;
        bar = strchr(q, '|');
        for (k = 0; k < QKEYS; k++) {
            /* the rest: etsy repeats it after each value, dogstatsd ends with it */
            if (strcmp(line, qnames[k]) || !bar
                || strncmp(bar, qrests[k], strlen(qrests[k])))
                continue;
            while (q && *q) {
                char *next = strchr(q, ':');
                count[k]++;
                sum[k] += strtoull(q, NULL, 10);
                q = next ? next + 1 : NULL;
            }
            break;
        }
        (void)style;
    }
}

START_TEST(random_timers_keep_every_value)
{
    static char in[1 << 15];
    unsigned long long x = 777 + (unsigned long long)_i, ci[QKEYS],
                       si[QKEYS], co[QKEYS], so[QKEYS];
    statsd_pack_style style = _i % 2 ? STATSD_PACK_DOGSTATSD : STATSD_PACK_ETSY;
    size_t inl = 0, max_line = 64 + (size_t)(_i * 37 % 400);
    const char *s2, *nl;
    int i;

    for (i = 0; i < 500; i++) {
        int k;
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        k = (int)((x >> 33) % QKEYS);
        inl += (size_t)sprintf(in + inl, "%s%s:%llu%s", inl ? "\n" : "",
                               qnames[k], (x >> 40) % 100000, qrests[k]);
    }
    in[inl] = '\0';
    tally(in, ci, si, style);
    pack(style, in, max_line);
    for (s2 = out; s2; s2 = nl ? nl + 1 : NULL) {
        nl = strchr(s2, '\n');
        ck_assert_uint_le(nl ? (size_t)(nl - s2) : strlen(s2), max_line);
    }
    tally(out, co, so, style);
    for (i = 0; i < QKEYS; i++) {
        ck_assert_uint_eq(ci[i], co[i]);
        ck_assert_uint_eq(si[i], so[i]);
    }
}
END_TEST

START_TEST(styles_parse)
{
    static const parse_case styles[] = {
        {"off", STATSD_PACK_OFF}, {"etsy", STATSD_PACK_ETSY},
        {"dogstatsd", STATSD_PACK_DOGSTATSD}, {"on", -1}, {NULL, -1},
    };

    ASSERT_PARSES(statsd_pack_parse, statsd_pack_style, styles);
}
END_TEST

UNIT_MAIN("statsd_pack", "core", setup, teardown, 0,
          UNIT_TEST(etsy_packs_values_with_their_type),
          UNIT_TEST(dogstatsd_packs_values_before_the_type),
          UNIT_TEST(values_are_sorted_by_number),
          UNIT_TEST(off_keeps_the_lines),
          UNIT_TEST(etsy_leaves_colons_in_tags_alone),
          UNIT_TEST(etsy_leaves_any_tags_alone),
          UNIT_TEST(counters_and_odd_lines_pass),
          UNIT_TEST(a_packed_line_never_exceeds_the_packet),
          UNIT_TEST(more_lines_than_the_index_are_copied),
          UNIT_TEST(styles_parse),
          UNIT_LOOP(random_timers_keep_every_value, 20))
