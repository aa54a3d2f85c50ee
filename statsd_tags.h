/*
 * statsd_tags.h - metric tags: the configured (static) tags of a section,
 * checked, sanitised and merged, and their text in each line dialect;
 * the per-request tags (route, method, status) of tag mode.
 *
 * Dialects, for the tags env=prod and team=web:
 *   dogstatsd  name:1|c|#env:prod,team:web   (after the type and any rate)
 *   influx     name,env=prod,team=web:1|c    (after the name)
 *   graphite   name;env=prod;team=web:1|c    (after the name)
 * Keys and values keep only [A-Za-z0-9_.-] (every other byte becomes
 * '_'), so no separator of any dialect (| # , : ; = space newline) can
 * appear in a tag. No httpd types, no allocation, no printing.
 */
#ifndef STATSD_TAGS_H
#define STATSD_TAGS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    STATSD_TAGS_NONE = 0,
    STATSD_TAGS_DOGSTATSD = 1,
    STATSD_TAGS_INFLUX = 2,
    STATSD_TAGS_GRAPHITE = 3
} statsd_tag_format;
#define STATSD_TAG_FORMATS 4

#define STATSD_TAGS_MAX 16          /* static tags of a section */
#define STATSD_TAG_KEY_MAX 64       /* bytes of a key */
#define STATSD_TAG_VALUE_MAX 128    /* bytes of a value (route included) */
#define STATSD_TAGS_TEXT_MAX 512    /* the static tags as written, any dialect */

/* Longest request tags: the static ones, then route, method and status
 * with their keys and separators. */
#define STATSD_REQUEST_TAGS_MAX (STATSD_TAGS_TEXT_MAX + STATSD_TAG_VALUE_MAX \
                                 + 32 /* method */ + 3 /* status */ + 32)

/* What statsd_tags_add says about a tag. */
typedef enum {
    STATSD_TAG_OK = 0,
    STATSD_TAG_EMPTY_KEY,      /* "" */
    STATSD_TAG_KEY_START,      /* a key starts with a letter */
    STATSD_TAG_KEY_LONG,       /* > STATSD_TAG_KEY_MAX */
    STATSD_TAG_RESERVED,       /* route, method, status: tag mode's own */
    STATSD_TAG_EMPTY_VALUE,
    STATSD_TAG_VALUE_LONG,     /* > STATSD_TAG_VALUE_MAX */
    STATSD_TAG_TOO_MANY,       /* > STATSD_TAGS_MAX */
    STATSD_TAG_TOO_LONG        /* text > STATSD_TAGS_TEXT_MAX */
} statsd_tag_error;

/* A short sentence for a configtest message. */
const char *statsd_tags_error_text(statsd_tag_error err);

/* "none", "dogstatsd", "influx", "graphite" (any case) into *out; returns
 * 0, or -1 for anything else. */
int statsd_tags_parse_format(const char *s, statsd_tag_format *out);

/* Copy len bytes, turning every byte outside [A-Za-z0-9_.-] into '_'.
 * dst may equal src. Returns len. */
size_t statsd_tags_clean(char *dst, const char *src, size_t len);

typedef struct {
    char key[STATSD_TAG_KEY_MAX];      size_t key_len;
    char value[STATSD_TAG_VALUE_MAX];  size_t value_len;
} statsd_tag;

/* The static tags of a section, in the order first set, with their text in
 * every dialect (text[STATSD_TAGS_NONE] is empty). Zero-initialise, then
 * add. Plain data: copy it with memcpy. */
typedef struct {
    unsigned n;
    statsd_tag tag[STATSD_TAGS_MAX];
    char text[STATSD_TAG_FORMATS][STATSD_TAGS_TEXT_MAX];
    size_t text_len[STATSD_TAG_FORMATS];
} statsd_tagset;

/* Add key=value (sanitised; a key already there gets the new value).
 * The set is unchanged unless STATSD_TAG_OK is returned. */
statsd_tag_error statsd_tags_add(statsd_tagset *set, const char *key,
                                 size_t key_len, const char *value,
                                 size_t value_len);

/* *out = base, then every tag of add in turn (replacing by key). Tags
 * that do not fit (count or text) are left out; returns how many. out
 * may be neither base nor add. */
unsigned statsd_tags_merge(statsd_tagset *out, const statsd_tagset *base,
                           const statsd_tagset *add);

/* The static text of format for set (NULL set: none). */
static inline const char *statsd_tags_text(const statsd_tagset *set,
                                           statsd_tag_format f,
                                           size_t *len)
{
    if (!set) {
        *len = 0;
        return "";
    }
    *len = set->text_len[f];
    return set->text[f];
}

/* Where a dialect puts its tags: 1 at the end of the line (dogstatsd),
 * 0 right after the name (influx, graphite). */
static inline int statsd_tags_at_end(statsd_tag_format f)
{
    return f == STATSD_TAGS_DOGSTATSD;
}

/* The static text (already in format f, not STATSD_TAGS_NONE), then
 * one more tag key and value (both clean), with the dialect's separators:
 * "|#env:prod,backend:b1", or "|#backend:b1" with no static text. Writes
 * fixed_len + key_len + value_len + 3 bytes at most; returns the end. */
char *statsd_tags_put_extra(char *p, statsd_tag_format f,
                            const char *fixed, size_t fixed_len,
                            const char *key, size_t key_len,
                            const char *value, size_t value_len);

/* A request's tags in tag mode: the static text (already in format f),
 * then route (a clean NAME, cut to STATSD_TAG_VALUE_MAX at a segment
 * boundary), method (cut to 32 bytes, sanitised unless method_clean) and
 * status (left out when < 0), written into dst, which needs
 * STATSD_REQUEST_TAGS_MAX bytes. f must not be STATSD_TAGS_NONE. Returns
 * the length. */
size_t statsd_tags_request(char *dst, statsd_tag_format f,
                           const char *fixed, size_t fixed_len,
                           const char *route, size_t route_len,
                           const char *method, size_t method_len,
                           int method_clean, int status);

/* The keys of the method and status tags in each dialect (",method:"),
 * eight bytes each, so that each is one store. */
extern const char statsd_tags_method_key[STATSD_TAG_FORMATS][8];
extern const char statsd_tags_status_key[STATSD_TAG_FORMATS][8];

/* The two halves of statsd_tags_request, for writers that keep the first
 * one ready: the static text and the route's key ("|#env:prod,route:"),
 * then route, method and status. Each returns the end. */
char *statsd_tags_request_head(char *p, statsd_tag_format f,
                               const char *fixed, size_t fixed_len);
char *statsd_tags_request_values(char *p, statsd_tag_format f,
                                 const char *route, size_t route_len,
                                 const char *method, size_t method_len,
                                 int method_clean, int status);

#ifdef __cplusplus
}
#endif
#endif /* STATSD_TAGS_H */
