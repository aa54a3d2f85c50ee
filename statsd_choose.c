/*
 * statsd_choose.c - a request's NAME from what it offers (see
 * statsd_choose.h).
 */
#include <string.h>

#include "statsd_choose.h"
#include "statsd_guard.h"

const char statsd_choose_other[] = STATSD_OTHER_NAME;

const char *statsd_choose_name(const statsd_choose_offer *o,
                               statsd_choose_scratch *s, char *path,
                               size_t path_cap, size_t *len)
{
    const char *v = o->note ? o->note : o->header;
    const char *name;
    size_t n;

    if (o->stat_len) {
        *len = o->stat_len;
        return o->stat;
    }
    if (v && (n = statsd_name_clean(s->clean, sizeof(s->clean), v,
                                    strlen(v))) != 0) {
        name = s->clean;
    } else {
        name = path;
        n = statsd_name_from_path(path, path_cap, o->uri, o->uri_len,
                                  o->max_len, o->exclude, o->exclude_baton);
    }
    if (o->collapse) {
        n = statsd_guard_collapse(s->collapsed, sizeof(s->collapsed), name,
                                  n);
        name = s->collapsed;
    }
    if (o->names && !statsd_nameset_admit_group(o->names, o->group, name, n)) {
        name = statsd_choose_other;
        n = sizeof(STATSD_OTHER_NAME) - 1;
    }
    *len = n;
    return name;
}
