#include "timing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "xw_id.h"
#include "xw_log.h"

#define ZONES_MAX 128   /* destinations remembered; more are re-read */

struct zone_entry {
    char dest[XW_ID_MAX + 1];
    char zone[XW_TZ_NAME_MAX + 1];
    int64_t loaded_ms;              /* monotonic; 0 = empty slot */
};

/* The last effective time computed in the batch: a package's objects
 * share the deploy instant and the zone, and mostly the generation mode
 * and scheduled time, so most objects repeat the one before. */
struct timing_memo {
    int valid;
    char zone[XW_TZ_NAME_MAX + 1];
    int64_t deploy_at;
    enum xw_gen_mode mode;
    int hour, minute, second;
    int64_t effective_at;
    char effective_date[sizeof ((struct dp_item *)0)->effective_date];
    char timing_rule[sizeof ((struct dp_item *)0)->timing_rule];
};

struct dp_zones {
    struct zone_entry e[ZONES_MAX];
    int64_t ttl_ms;
    struct timing_memo last;
};

dp_zones *dp_zones_new(int64_t ttl_ms)
{
    dp_zones *z = calloc(1, sizeof *z);

    if (z)
        z->ttl_ms = ttl_ms;
    return z;
}

void dp_zones_free(dp_zones *z)
{
    free(z);
}

static struct zone_entry *lookup(dp_zones *z, const char *dest, int64_t now)
{
    for (size_t i = 0; i < ZONES_MAX; i++)
        if (z->e[i].loaded_ms && now - z->e[i].loaded_ms < z->ttl_ms
            && strcmp(z->e[i].dest, dest) == 0)
            return &z->e[i];
    return NULL;
}

/* The slot to (re)fill for dest: its own, an empty one, or the oldest. */
static struct zone_entry *slot_for(dp_zones *z, const char *dest)
{
    struct zone_entry *oldest = &z->e[0];

    for (size_t i = 0; i < ZONES_MAX; i++) {
        if (!z->e[i].loaded_ms || strcmp(z->e[i].dest, dest) == 0)
            return &z->e[i];
        if (z->e[i].loaded_ms < oldest->loaded_ms)
            oldest = &z->e[i];
    }
    return oldest;
}

/* The "timezone" of a stored workspace document, "" if there is none. */
static void zone_of(const redisReply *rep, char *out, size_t len)
{
    json_error_t je;
    json_t *ws;
    const char *tz;

    out[0] = '\0';
    if (rep->type != REDIS_REPLY_STRING)
        return;
    ws = json_loadb(rep->str, rep->len, 0, &je);
    tz = json_string_value(json_object_get(ws, "timezone"));
    if (tz && strlen(tz) < len)
        memcpy(out, tz, strlen(tz) + 1);
    json_decref(ws);
}

/* Gives every unresolved item of destination `dest` the zone `zone`. */
static void settle(struct dp_item *items, size_t n, const char *dest,
                   const char *zone)
{
    for (size_t i = 0; i < n; i++)
        if (!items[i].zone_known && strcmp(items[i].dest_ws, dest) == 0) {
            snprintf(items[i].zone, sizeof items[i].zone, "%s", zone);
            items[i].zone_known = 1;
        }
}

int dp_zones_resolve(dp_zones *z, xw_redis *r, struct dp_item *items,
                     size_t n, char *err, size_t errlen)
{
    const char *miss[ZONES_MAX];
    redisReply *rep[ZONES_MAX];
    char zone[XW_TZ_NAME_MAX + 1];
    int64_t now = xw_mono_ms();
    size_t m, i, j;

    z->last.valid = 0;   /* remembered for one batch at most */
    for (i = 0; i < n; i++)
        items[i].zone_known = 0;
    /* settle() resolves every item of a destination at once: only the
     * first item of each looks in the cache. */
    for (i = 0; i < n; i++) {
        const struct zone_entry *e;

        if (!items[i].zone_known && (e = lookup(z, items[i].dest_ws, now)))
            settle(items, n, e->dest, e->zone);
    }
    /* The rest in rounds of at most ZONES_MAX destinations, one pipeline
     * each; every round settles at least one, so this ends. */
    for (;;) {
        for (i = 0, m = 0; i < n && m < ZONES_MAX; i++) {
            if (items[i].zone_known)
                continue;
            for (j = 0; j < m && strcmp(miss[j], items[i].dest_ws) != 0; j++)
                ;
            if (j == m)
                miss[m++] = items[i].dest_ws;
        }
        if (m == 0)
            return 0;
        for (i = 0; i < m; i++)
            if (xw_redis_append(r, "GET xw:ws:%s", miss[i]) < 0)
                goto redis_failed;
        if (xw_redis_pipeline_exec(r, rep, m) < 0)
            goto redis_failed;
        for (i = 0; i < m; i++) {
            zone_of(rep[i], zone, sizeof zone);
            /* Only found zones are cached: a workspace registered a moment
             * later must not stay "missing" for the whole TTL. */
            if (zone[0]) {
                struct zone_entry *s = slot_for(z, miss[i]);

                snprintf(s->dest, sizeof s->dest, "%s", miss[i]);
                snprintf(s->zone, sizeof s->zone, "%s", zone);
                s->loaded_ms = now;
            } else {
                xw_warn("TIME", "destination workspace %s has no time zone "
                        "(not registered?)", miss[i]);
            }
            settle(items, n, miss[i], zone);
        }
        xw_redis_replies_free(rep, m);
    }
redis_failed:
    snprintf(err, errlen, "redis: %s", r->errstr);
    return -1;
}

static int memo_hit(const struct timing_memo *m, const struct dp_item *it)
{
    return m->valid && m->deploy_at == it->deploy_at && m->mode == it->mode
           && m->hour == it->sched_hour && m->minute == it->sched_minute
           && m->second == it->sched_second && strcmp(m->zone, it->zone) == 0;
}

int dp_timing_compute(dp_zones *z, struct dp_item *it)
{
    struct xw_timing_input in = {
        .deploy_utc_ms = it->deploy_at,
        .zone = it->zone,
        .mode = it->mode,
        .sched_hour = it->sched_hour,
        .sched_minute = it->sched_minute,
        .sched_second = it->sched_second,
    };
    struct xw_timing_result res;
    const struct xw_tz_civil *d = &res.effective_local;
    struct timing_memo *m = &z->last;

    if (!it->zone[0]) {
        dp_item_fail(it, "workspace_missing", "the destination workspace "
                     "'%s' is not registered or has no time zone, so when "
                     "the object takes effect cannot be decided",
                     it->dest_ws);
        return -1;
    }
    if (!memo_hit(m, it)) {
        m->valid = 0;
        if (xw_timing_effective(&in, &res) < 0) {
            dp_item_fail(it, res.error, "%s", res.message);
            return -1;
        }
        snprintf(m->zone, sizeof m->zone, "%s", it->zone);
        m->deploy_at = it->deploy_at;
        m->mode = it->mode;
        m->hour = it->sched_hour;
        m->minute = it->sched_minute;
        m->second = it->sched_second;
        m->effective_at = res.effective_utc_ms;
        snprintf(m->timing_rule, sizeof m->timing_rule, "%s", res.rule);
        snprintf(m->effective_date, sizeof m->effective_date,
                 "%04d-%02d-%02d", d->year % 10000, d->month % 100,
                 d->day % 100);
        m->valid = 1;
    }
    it->has_effective = 1;
    it->effective_at = m->effective_at;
    memcpy(it->timing_rule, m->timing_rule, sizeof m->timing_rule);
    memcpy(it->effective_date, m->effective_date, sizeof m->effective_date);
    return 0;
}
