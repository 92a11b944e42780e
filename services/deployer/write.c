#include "write.h"

#include <stdio.h>
#include <string.h>

#include "xw_id.h"
#include "xw_json.h"
#include "xw_log.h"

#define KEY_MAX (XW_ID_MAX * 2 + 64)

int dp_write_preread(struct dp_deployer *d, char *err, size_t errlen)
{
    size_t n = d->n, i;
    int rc = -1;

    for (i = 0; i < n; i++) {
        const struct dp_item *it = &d->items[i];

        if (xw_redis_append(d->redis, "HGET xw:dest:%s:objects %s",
                            it->dest_ws, it->obj_id) < 0
            || xw_redis_append(d->redis, "EXISTS xw:write:%s:%s:%lld",
                               it->dest_ws, it->obj_id,
                               (long long)it->version) < 0) {
            snprintf(err, errlen, "redis: %s", d->redis->errstr);
            return -1;   /* a failed append discards the queued batch */
        }
    }
    if (xw_redis_pipeline_exec(d->redis, d->replies, 2 * n) < 0) {
        snprintf(err, errlen, "redis: %s", d->redis->errstr);
        return -1;       /* and a failed exec leaves no replies */
    }
    for (i = 0; i < n; i++) {
        struct dp_item *it = &d->items[i];
        const redisReply *cur = d->replies[2 * i];
        const redisReply *once = d->replies[2 * i + 1];

        it->prev_off = d->arena.len;
        it->prev_len = 0;
        if (cur->type == REDIS_REPLY_STRING) {
            if (xw_buf_add(&d->arena, cur->str, cur->len) < 0) {
                snprintf(err, errlen, "out of memory");
                goto out;
            }
            it->prev_len = cur->len;
        }
        it->once_exists = once->type == REDIS_REPLY_INTEGER
                          && once->integer == 1;
    }
    rc = 0;
out:
    xw_redis_replies_free(d->replies, 2 * n);
    return rc;
}

void dp_write_follow(struct dp_deployer *d, size_t i)
{
    struct dp_item *it = &d->items[i];

    for (size_t j = i; j-- > 0;) {
        const struct dp_item *e = &d->items[j];

        if ((e->status != DP_WRITTEN && e->status != DP_ALREADY)
            || strcmp(e->obj_id, it->obj_id) != 0
            || strcmp(e->dest_ws, it->dest_ws) != 0)
            continue;
        it->prev_off = e->cur_off;
        it->prev_len = e->cur_len;
        if (e->version == it->version)
            it->once_exists = 1;
        return;
    }
}

/* The "version" of a catalog entry; 0 when it has none or is unreadable. */
static int entry_version(const char *json, size_t len, int64_t *v)
{
    json_error_t je;
    json_t *j;
    int ok;

    if (len == 0)
        return 0;
    j = json_loadb(json, len, 0, &je);
    ok = json_is_integer(json_object_get(j, "version"));
    if (ok)
        *v = json_integer_value(json_object_get(j, "version"));
    json_decref(j);
    return ok;
}

static int set(json_t *o, const char *key, json_t *value)
{
    return value ? json_object_set_new(o, key, value) : -1;
}

int dp_write_body(struct dp_deployer *d, struct dp_item *it)
{
    json_t *o = it->object;

    xw_buf_reset(&d->body);
    if (set(o, "package_id", json_string(it->package_id)) < 0
        || set(o, "attempt", json_integer(it->attempt)) < 0
        || set(o, "source_workspace", json_string(it->source_ws)) < 0
        || set(o, "destination_workspace", json_string(it->dest_ws)) < 0
        || set(o, "effective_at", json_integer(it->effective_at)) < 0
        || set(o, "effective_date", json_string(it->effective_date)) < 0
        || set(o, "timing_rule", json_string(it->timing_rule)) < 0)
        return -1;
    return xw_json_dump(o, &d->body);
}

/* After the script said "already written" although the pre-read did not:
 * someone wrote it in between; read what the catalog holds now. */
static int reread(struct dp_deployer *d, struct dp_item *it, char *err,
                  size_t errlen)
{
    redisReply *rep = xw_redis_command_idem(d->redis,
                                            "HGET xw:dest:%s:objects %s",
                                            it->dest_ws, it->obj_id);

    if (!rep) {
        snprintf(err, errlen, "redis: %s", d->redis->errstr);
        return -1;
    }
    it->cur_off = d->arena.len;
    it->cur_len = 0;
    if (rep->type == REDIS_REPLY_STRING) {
        if (xw_buf_add(&d->arena, rep->str, rep->len) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        it->cur_len = rep->len;
    }
    return 0;
}

int dp_write_record(struct dp_deployer *d, struct dp_item *it,
                    const xw_redis_lock *lk, char *err, size_t errlen)
{
    char objects[KEY_MAX], history[KEY_MAX], writes[KEY_MAX], once[KEY_MAX];
    const char *hset[4], *lpush[3], *incr[2];
    size_t hset_len[4], lpush_len[3];
    xw_redis_cmd cmds[3];
    size_t ncmds = 0;
    int64_t replaced;
    int rc;

    it->has_replaced = entry_version(dp_arena_at(d, it->prev_off),
                                     it->prev_len, &replaced);
    it->replaced_version = it->has_replaced ? replaced : 0;
    if (set(it->object, "replaced_version",
            it->has_replaced ? json_integer(replaced) : json_null()) < 0
        || set(it->object, "deployed_at", json_integer(xw_now_ms())) < 0)
        goto nomem;
    it->cur_off = d->arena.len;
    if (xw_json_dump(it->object, &d->arena) < 0)
        goto nomem;
    it->cur_len = d->arena.len - it->cur_off;

    snprintf(objects, sizeof objects, "xw:dest:%s:objects", it->dest_ws);
    snprintf(history, sizeof history, "xw:dest:%s:history:%s", it->dest_ws,
             it->obj_id);
    snprintf(writes, sizeof writes, "xw:writes:%s:%s:%lld", it->dest_ws,
             it->obj_id, (long long)it->version);
    snprintf(once, sizeof once, "xw:write:%s:%s:%lld", it->dest_ws,
             it->obj_id, (long long)it->version);
    /* Pointers into the arena are taken only now: the dump above may have
     * moved it. */
    hset[0] = "HSET", hset[1] = objects, hset[2] = it->obj_id;
    hset[3] = dp_arena_at(d, it->cur_off);
    for (int k = 0; k < 3; k++)
        hset_len[k] = strlen(hset[k]);
    hset_len[3] = it->cur_len;
    cmds[ncmds++] = (xw_redis_cmd){ 4, hset, hset_len };
    if (it->prev_len) {
        lpush[0] = "LPUSH", lpush[1] = history;
        lpush[2] = dp_arena_at(d, it->prev_off);
        lpush_len[0] = 5, lpush_len[1] = strlen(history);
        lpush_len[2] = it->prev_len;
        cmds[ncmds++] = (xw_redis_cmd){ 3, lpush, lpush_len };
    }
    incr[0] = "INCR", incr[1] = writes;
    cmds[ncmds++] = (xw_redis_cmd){ 2, incr, NULL };

    rc = xw_redis_fenced_write(d->redis, lk->fence_key, lk->fence, once,
                               d->once_ttl_s, cmds, ncmds);
    if (rc == 1)
        return DP_WRITTEN;
    if (rc == 0) {
        if (reread(d, it, err, errlen) < 0)
            return -1;
        it->has_replaced = 0;
        dp_write_recall(d, it);
        return DP_ALREADY;
    }
    if (d->redis->err == XW_REDIS_ESTALE)
        return DP_STALE;
    snprintf(err, errlen, "redis: %s", d->redis->errstr);
    return -1;
nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static void copy_str(const json_t *o, const char *key, char *dst, size_t len)
{
    const char *s = json_string_value(json_object_get(o, key));

    if (s && strlen(s) < len)
        memcpy(dst, s, strlen(s) + 1);
}

void dp_write_recall(struct dp_deployer *d, struct dp_item *it)
{
    json_error_t je;
    json_t *o, *v;

    if (it->cur_len == 0)
        return;
    o = json_loadb(dp_arena_at(d, it->cur_off), it->cur_len, 0, &je);
    v = json_object_get(o, "version");
    /* The catalog moved on to another version since: the event's own
     * fields still say what was deployed; only replaced_version is lost. */
    if (!json_is_integer(v) || json_integer_value(v) != it->version) {
        json_decref(o);
        return;
    }
    copy_str(o, "compute_resource", it->compute, sizeof it->compute);
    copy_str(o, "resource_group", it->rgroup, sizeof it->rgroup);
    copy_str(o, "owner", it->owner, sizeof it->owner);
    copy_str(o, "effective_date", it->effective_date,
             sizeof it->effective_date);
    copy_str(o, "timing_rule", it->timing_rule, sizeof it->timing_rule);
    if (json_is_integer(v = json_object_get(o, "effective_at"))) {
        it->has_effective = 1;
        it->effective_at = json_integer_value(v);
    }
    if (json_is_integer(v = json_object_get(o, "replaced_version"))) {
        it->has_replaced = 1;
        it->replaced_version = json_integer_value(v);
    }
    json_decref(o);
}
