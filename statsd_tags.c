/*
 * statsd_tags.c - metric tags: checking, sanitising and merging the
 * configured ones, writing them in each dialect once per section, and the
 * request tags of tag mode (copies only: this part runs per request).
 */
#include <string.h>
#include <strings.h>

#include "statsd_bytes.h"
#include "statsd_name.h"
#include "statsd_tags.h"

/* The one byte set every dialect accepts inside a key or value: a name
 * segment's and '.'. */
static const unsigned char tag_ok[256] = { STATSD_SEGMENT_BYTES, ['.'] = 1 };

const char *statsd_tags_error_text(statsd_tag_error err)
{
    switch (err) {
    case STATSD_TAG_OK:          return "ok";
    case STATSD_TAG_EMPTY_KEY:   return "empty tag key";
    case STATSD_TAG_KEY_START:   return "a tag key starts with a letter";
    case STATSD_TAG_KEY_LONG:    return "tag key longer than 64 bytes";
    case STATSD_TAG_RESERVED:    return "route, method and status are the "
                                        "request tags of StatsdTagMode";
    case STATSD_TAG_EMPTY_VALUE: return "empty tag value";
    case STATSD_TAG_VALUE_LONG:  return "tag value longer than 128 bytes";
    case STATSD_TAG_TOO_MANY:    return "more than 16 tags";
    case STATSD_TAG_TOO_LONG:    return "the tags together are longer than "
                                        "512 bytes";
    }
    return "bad tag";
}

int statsd_tags_parse_format(const char *s, statsd_tag_format *out)
{
    static const char *const names[STATSD_TAG_FORMATS] = {
        "none", "dogstatsd", "influx", "graphite"
    };
    int i;

    for (i = 0; i < STATSD_TAG_FORMATS; i++)
        if (!strcasecmp(s, names[i])) {
            *out = (statsd_tag_format)i;
            return 0;
        }
    return -1;
}

size_t statsd_tags_clean(char *dst, const char *src, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = tag_ok[c] ? (char)c : '_';
    }
    return len;
}

static int is_letter(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Separators of each dialect: before the first tag, between tags, and
 * between key and value. */
static const char *const first_sep[STATSD_TAG_FORMATS] = {"", "|#", ",", ";"};
static const char between[STATSD_TAG_FORMATS] = {0, ',', ',', ';'};
static const char key_value[STATSD_TAG_FORMATS] = {0, ':', '=', '='};

/* The text of set in every dialect (put_tag checked that it fits). */
static void render(statsd_tagset *set)
{
    int f;
    unsigned i;

    for (f = 0; f < STATSD_TAG_FORMATS; f++)
        set->text_len[f] = 0;
    for (f = STATSD_TAGS_DOGSTATSD; f < STATSD_TAG_FORMATS; f++) {
        char *t = set->text[f];
        size_t n = 0;
        for (i = 0; i < set->n; i++) {
            const statsd_tag *tg = &set->tag[i];
            size_t sep = i == 0 ? strlen(first_sep[f]) : 1;
            if (i == 0)
                memcpy(t + n, first_sep[f], sep);
            else
                t[n] = between[f];
            n += sep;
            memcpy(t + n, tg->key, tg->key_len);
            n += tg->key_len;
            t[n++] = key_value[f];
            memcpy(t + n, tg->value, tg->value_len);
            n += tg->value_len;
        }
        set->text_len[f] = n;
    }
}

static int reserved(const char *k, size_t n)
{
    return (n == 5 && !memcmp(k, "route", 5))
        || (n == 6 && !memcmp(k, "method", 6))
        || (n == 6 && !memcmp(k, "status", 6));
}

/* The longest text of set (dogstatsd's: "|#" then "k:v" joined by ","),
 * were tag i to hold a key and value of key_len + value_len bytes. */
static size_t text_len_with(const statsd_tagset *set, unsigned i,
                            size_t key_len, size_t value_len)
{
    size_t n = 1;
    unsigned j;

    for (j = 0; j < set->n; j++)
        if (j != i)
            n += set->tag[j].key_len + set->tag[j].value_len + 2;
    return n + key_len + value_len + 2;
}

/* key=value (clean) into set, replacing by key; the set is unchanged
 * unless it fits. */
static statsd_tag_error put_tag(statsd_tagset *set, const char *key,
                                size_t key_len, const char *value,
                                size_t value_len)
{
    unsigned i;

    for (i = 0; i < set->n; i++)
        if (set->tag[i].key_len == key_len
            && !memcmp(set->tag[i].key, key, key_len))
            break;
    if (i == STATSD_TAGS_MAX)
        return STATSD_TAG_TOO_MANY;
    if (text_len_with(set, i, key_len, value_len) > STATSD_TAGS_TEXT_MAX)
        return STATSD_TAG_TOO_LONG;
    memcpy(set->tag[i].key, key, key_len);
    set->tag[i].key_len = key_len;
    memcpy(set->tag[i].value, value, value_len);
    set->tag[i].value_len = value_len;
    if (i == set->n)
        set->n++;
    render(set);
    return STATSD_TAG_OK;
}

statsd_tag_error statsd_tags_add(statsd_tagset *set, const char *key,
                                 size_t key_len, const char *value,
                                 size_t value_len)
{
    char k[STATSD_TAG_KEY_MAX], v[STATSD_TAG_VALUE_MAX];

    if (key_len == 0)
        return STATSD_TAG_EMPTY_KEY;
    if (!is_letter((unsigned char)key[0]))
        return STATSD_TAG_KEY_START;
    if (key_len > STATSD_TAG_KEY_MAX)
        return STATSD_TAG_KEY_LONG;
    if (value_len == 0)
        return STATSD_TAG_EMPTY_VALUE;
    if (value_len > STATSD_TAG_VALUE_MAX)
        return STATSD_TAG_VALUE_LONG;
    statsd_tags_clean(k, key, key_len);
    statsd_tags_clean(v, value, value_len);
    if (reserved(k, key_len))
        return STATSD_TAG_RESERVED;
    return put_tag(set, k, key_len, v, value_len);
}

unsigned statsd_tags_merge(statsd_tagset *out, const statsd_tagset *base,
                           const statsd_tagset *add)
{
    unsigned i, left_out = 0;

    memcpy(out, base, sizeof(*out));
    for (i = 0; i < add->n; i++)
        if (put_tag(out, add->tag[i].key, add->tag[i].key_len,
                    add->tag[i].value, add->tag[i].value_len)
            != STATSD_TAG_OK)
            left_out++;
    return left_out;
}

char *statsd_tags_put_extra(char *p, statsd_tag_format f,
                            const char *fixed, size_t fixed_len,
                            const char *key, size_t key_len,
                            const char *value, size_t value_len)
{
    p = statsd_put(p, fixed, fixed_len);
    if (fixed_len)
        *p++ = between[f];
    else
        p = statsd_put(p, first_sep[f], strlen(first_sep[f]));
    p = statsd_put(p, key, key_len);
    *p++ = key_value[f];
    return statsd_put(p, value, value_len);
}

#define PUT_LIT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), \
                         (p) + sizeof(lit) - 1)

const char statsd_tags_method_key[STATSD_TAG_FORMATS][8] = {
    "", {',','m','e','t','h','o','d',':'}, {',','m','e','t','h','o','d','='},
    {';','m','e','t','h','o','d','='}
};
const char statsd_tags_status_key[STATSD_TAG_FORMATS][8] = {
    "", {',','s','t','a','t','u','s',':'}, {',','s','t','a','t','u','s','='},
    {';','s','t','a','t','u','s','='}
};

char *statsd_tags_request_head(char *p, statsd_tag_format f,
                               const char *fixed, size_t fixed_len)
{
    if (fixed_len > STATSD_TAGS_TEXT_MAX)
        fixed_len = 0;   /* not a static text of this unit */
    p = statsd_put(p, fixed, fixed_len);
    switch (f) {
    case STATSD_TAGS_DOGSTATSD:
        return fixed_len ? PUT_LIT(p, ",route:") : PUT_LIT(p, "|#route:");
    case STATSD_TAGS_INFLUX:
        return PUT_LIT(p, ",route=");
    default:
        return PUT_LIT(p, ";route=");
    }
}

char *statsd_tags_request_values(char *p, statsd_tag_format f,
                                 const char *route, size_t route_len,
                                 const char *method, size_t method_len,
                                 int method_clean, int status)
{
    char *m;

    if (route_len > STATSD_TAG_VALUE_MAX)
        p += statsd_name_clean(p, STATSD_TAG_VALUE_MAX, route, route_len);
    else
        p = statsd_put(p, route, route_len);
    memcpy(p, statsd_tags_method_key[f], 8);
    p += 8;
    if (method_len > STATSD_METHOD_MAX)
        method_len = STATSD_METHOD_MAX;
    m = p;
    p = statsd_put(p, method, method_len);
    if (!method_clean)
        statsd_tags_clean(m, m, method_len);
    if (status >= 0) {
        memcpy(p, statsd_tags_status_key[f], 8);
        p += 8;
        p += statsd_put_uint3(p, status > 999 ? 999u : (unsigned)status);
    }
    return p;
}

size_t statsd_tags_request(char *dst, statsd_tag_format f,
                           const char *fixed, size_t fixed_len,
                           const char *route, size_t route_len,
                           const char *method, size_t method_len,
                           int method_clean, int status)
{
    char *p = statsd_tags_request_head(dst, f, fixed, fixed_len);

    p = statsd_tags_request_values(p, f, route, route_len, method,
                                   method_len, method_clean, status);
    return (size_t)(p - dst);
}
