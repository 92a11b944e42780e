/*
 * Webhook subscriptions (docs/api.md "Webhooks"): register, read, update,
 * pause, resume and delete them, read their delivery log and redeliver.
 *
 * Subscriptions are configuration, not pipeline commands: each handler
 * writes Redis directly with one Lua script (atomic), answers 200/201
 * when done, and never emits an event (docs/design.md says why). The keys
 * are those of common/xw_webhook.h; the result-reporter reads them.
 *
 * Who: any authenticated user manages their own subscriptions; a filter on
 * a workspace needs membership of it; system administrators see and
 * manage all. Somebody else's subscription answers 404, like a missing
 * one, so ids reveal nothing.
 *
 * The secret is write-only: it goes to xw:wh:secret:{id} and nothing here
 * ever reads that key, so no answer and no log line can carry it.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "emit.h"
#include "routes.h"
#include "xw_id.h"
#include "xw_webhook.h"

#define LOG_READ_MAX 100000     /* bound on a delivery log read */

/* ---- scripts (ARGV only: every key is derived from the ids) ------------ */

/* id, url, owner, scope, filter, now, secret, per-owner cap
 * -> 1 created, 0 exists already (a retried create), -1 over the cap */
static const char lua_create[] =
    "local id, owner = ARGV[1], ARGV[3]\n"
    "if redis.call('SISMEMBER', '" XW_WH_K_SUBS "', id) == 1 then\n"
    "  return 0\n"
    "end\n"
    "if redis.call('SCARD', '" XW_WH_K_OWNER "' .. owner)\n"
    "    >= tonumber(ARGV[8]) then\n"
    "  return -1\n"
    "end\n"
    "redis.call('HSET', '" XW_WH_K_SUB "' .. id, 'id', id, 'url', ARGV[2],\n"
    "  'owner', owner, 'scope', ARGV[4], 'filter', ARGV[5], 'paused', '0',\n"
    "  'created_at', ARGV[6], 'updated_at', ARGV[6])\n"
    "redis.call('SET', '" XW_WH_K_SECRET "' .. id, ARGV[7])\n"
    "redis.call('SADD', '" XW_WH_K_SUBS "', id)\n"
    "redis.call('SADD', '" XW_WH_K_OWNER "' .. owner, id)\n"
    "redis.call('INCR', '" XW_WH_K_VERSION "')\n"
    "return 1\n";

/* id, url, filter, scope ('' keeps it), now, secret ('' keeps it)
 * -> 1 updated, 0 no such subscription */
static const char lua_update[] =
    "local k = '" XW_WH_K_SUB "' .. ARGV[1]\n"
    "if redis.call('EXISTS', k) == 0 then return 0 end\n"
    "redis.call('HSET', k, 'url', ARGV[2], 'filter', ARGV[3],\n"
    "  'updated_at', ARGV[5])\n"
    "if ARGV[4] ~= '' then redis.call('HSET', k, 'scope', ARGV[4]) end\n"
    "if ARGV[6] ~= '' then\n"
    "  redis.call('SET', '" XW_WH_K_SECRET "' .. ARGV[1], ARGV[6])\n"
    "end\n"
    "redis.call('INCR', '" XW_WH_K_VERSION "')\n"
    "return 1\n";

/* id, paused (0/1), now -> 1, or 0 no such subscription. Pausing takes the
 * subscription off the due set (its queue keeps filling); resuming makes
 * it due at once, backoff forgotten. */
static const char lua_pause[] = XW_WH_LUA_DUE
    "local id = ARGV[1]\n"
    "local k = '" XW_WH_K_SUB "' .. id\n"
    "if redis.call('EXISTS', k) == 0 then return 0 end\n"
    "redis.call('HSET', k, 'paused', ARGV[2], 'updated_at', ARGV[3])\n"
    "if ARGV[2] == '1' then\n"
    "  redis.call('ZREM', '" XW_WH_K_DUE "', id)\n"
    "elseif redis.call('ZCARD', '" XW_WH_K_QUEUE "' .. id) > 0 then\n"
    "  redis.call('HDEL', '" XW_WH_K_HELD "', id)\n"
    "  wh_due(id, tonumber(ARGV[3]))\n"
    "end\n"
    "redis.call('INCR', '" XW_WH_K_VERSION "')\n"
    "return 1\n";

/* id -> 1 deleted (with its queue, log and deliveries), 0 no such one */
static const char lua_delete[] =
    "local id = ARGV[1]\n"
    "local k = '" XW_WH_K_SUB "' .. id\n"
    "local owner = redis.call('HGET', k, 'owner')\n"
    "if not owner then return 0 end\n"
    "local q, l = '" XW_WH_K_QUEUE "' .. id, '" XW_WH_K_LOG "' .. id\n"
    "for _, d in ipairs(redis.call('ZRANGE', q, 0, -1)) do\n"
    "  redis.call('DEL', '" XW_WH_K_DELIVERY "' .. d)\n"
    "end\n"
    "for _, d in ipairs(redis.call('LRANGE', l, 0, -1)) do\n"
    "  redis.call('DEL', '" XW_WH_K_DELIVERY "' .. d)\n"
    "end\n"
    "redis.call('DEL', k, '" XW_WH_K_SECRET "' .. id, q, l,\n"
    "  '" XW_WH_K_LEASE "' .. id)\n"
    "redis.call('SREM', '" XW_WH_K_SUBS "', id)\n"
    "redis.call('SREM', '" XW_WH_K_OWNER "' .. owner, id)\n"
    "redis.call('ZREM', '" XW_WH_K_DUE "', id)\n"
    "redis.call('HDEL', '" XW_WH_K_HELD "', id)\n"
    "redis.call('INCR', '" XW_WH_K_VERSION "')\n"
    "return 1\n";

/* id, delivery, now -> 1 queued again, 0 no such delivery of that
 * subscription. The delivery keeps its id and body; its age for the
 * retry window starts again now (requeued_at). */
static const char lua_redeliver[] = XW_WH_LUA_DUE
    "local id, dk = ARGV[1], '" XW_WH_K_DELIVERY "' .. ARGV[2]\n"
    "if redis.call('HGET', dk, 'sub') ~= id then return 0 end\n"
    "redis.call('HSET', dk, 'status', 'pending', 'requeued_at', ARGV[3],\n"
    "  'next_attempt_at', ARGV[3])\n"
    "redis.call('PERSIST', dk)\n"
    "redis.call('ZADD', '" XW_WH_K_QUEUE "' .. id, ARGV[3], ARGV[2])\n"
    "redis.call('HDEL', '" XW_WH_K_HELD "', id)\n"
    "if redis.call('HGET', '" XW_WH_K_SUB "' .. id, 'paused') ~= '1' then\n"
    "  wh_due(id, tonumber(ARGV[3]))\n"
    "end\n"
    "return 1\n";

/* Runs a script with string arguments. The integer it returns, or
 * LLONG_MIN with 503 answered. Every script above is safe to repeat. */
static long long run_script(struct sl_request *r, const char *lua,
                            const char **args, int nargs)
{
    const char *argv[12];
    redisReply *rep;
    int argc = 0;

    argv[argc++] = "EVAL";
    argv[argc++] = lua;
    argv[argc++] = "0";
    for (int i = 0; i < nargs && argc < (int)(sizeof argv / sizeof argv[0]);
         i++)
        argv[argc++] = args[i];
    rep = xw_redis_command_argv(r->w->redis, argc, argv, NULL, 1);
    if (!rep || rep->type != REDIS_REPLY_INTEGER) {
        sl_reply_unavailable(r, "state store");
        return LLONG_MIN;
    }
    return rep->integer;
}

/* Now, in milliseconds, as the decimal string the scripts take. */
static const char *now_ms(char buf[24])
{
    snprintf(buf, 24, "%lld", (long long)xw_now_ms());
    return buf;
}

/* ---- reading ------------------------------------------------------------ */

static const char *const sub_fields[] = {
    "id", "url", "owner", "filter", "paused", "created_at", "updated_at",
};
#define NSUBF (sizeof sub_fields / sizeof sub_fields[0])

static json_t *num_or_null(const redisReply *v)
{
    if (!v || v->type != REDIS_REPLY_STRING || v->len == 0)
        return json_null();
    return json_integer(strtoll(v->str, NULL, 10));
}

static json_t *str_or_null(const redisReply *v)
{
    if (!v || v->type != REDIS_REPLY_STRING)
        return json_null();
    return json_stringn(v->str, v->len);
}

/* The public JSON of an HMGET of sub_fields (NEW reference), or NULL if
 * the subscription does not exist or `user` may not see it (user NULL:
 * anybody may). */
static json_t *sub_json(const redisReply *rep, const char *user)
{
    redisReply *const *e = rep->element;
    json_error_t je;
    json_t *filter;

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != NSUBF
        || e[0]->type != REDIS_REPLY_STRING
        || e[2]->type != REDIS_REPLY_STRING)
        return NULL;
    if (user && strcmp(e[2]->str, user) != 0)
        return NULL;
    filter = e[3]->type == REDIS_REPLY_STRING
             ? json_loadb(e[3]->str, e[3]->len, 0, &je) : NULL;
    return json_pack("{s:o, s:o, s:o, s:o, s:b, s:o, s:o}",
                     "id", str_or_null(e[0]), "url", str_or_null(e[1]),
                     "owner", str_or_null(e[2]),
                     "filter", filter ? filter : json_object(),
                     "paused", e[4]->type == REDIS_REPLY_STRING
                               && strcmp(e[4]->str, "1") == 0,
                     "created_at", num_or_null(e[5]),
                     "updated_at", num_or_null(e[6]));
}

static int append_hmget(struct sl_request *r, const char *id)
{
    return xw_redis_append(r->w->redis, "HMGET " XW_WH_K_SUB "%s %s %s %s %s "
                           "%s %s %s", id, sub_fields[0], sub_fields[1],
                           sub_fields[2], sub_fields[3], sub_fields[4],
                           sub_fields[5], sub_fields[6]);
}

/* Subscription {id} as the caller may see it, with "pending" (deliveries
 * queued) and "held_until" (backoff after a failure, or null). NEW
 * reference, or NULL with 404 / 503 answered. */
static json_t *sub_load(struct sl_request *r, const char *id)
{
    redisReply *reps[3] = { NULL, NULL, NULL };
    json_t *j = NULL;

    if (!r->w && !sl_worker_get(r))
        return NULL;
    if (append_hmget(r, id) < 0
        || xw_redis_append(r->w->redis, "ZCARD " XW_WH_K_QUEUE "%s", id) < 0
        || xw_redis_append(r->w->redis, "HGET " XW_WH_K_HELD " %s", id) < 0
        || xw_redis_pipeline_exec(r->w->redis, reps, 3) < 0) {
        sl_reply_unavailable(r, "state store");
        return NULL;
    }
    j = sub_json(reps[0], r->is_system_admin ? NULL : r->user);
    if (!j) {
        sl_reply_error(r, 404, "webhook", "not_found",
                       "no webhook subscription '%s'", id);
        goto out;
    }
    json_object_set_new(j, "pending", json_integer(reps[1]->integer));
    json_object_set_new(j, "held_until", num_or_null(reps[2]));
out:
    xw_redis_replies_free(reps, 3);
    return j;
}

/* ---- writing ------------------------------------------------------------ */

/* A create or update body, checked. Strings are borrowed from the body. */
struct wh_input {
    const char *url;
    const char *secret;          /* NULL: keep (update only) */
    struct xw_wh_filter filter;
    xw_buf filter_json;          /* canonical filter JSON */
};

/* Members a GET answer carries that a PUT may send back unchanged. */
static const char *const read_only[] = {
    "id", "owner", "paused", "created_at", "updated_at", "pending",
    "held_until",
};

static int read_input(struct sl_request *r, json_t *body, int creating,
                      struct wh_input *in)
{
    static const char *const allowed[] = { "url", "secret", "filter", NULL };
    char why[160];
    size_t slen = 0;
    xw_json_err e;
    json_t *f;
    int rc;

    if (!creating)
        for (size_t i = 0; i < sizeof read_only / sizeof read_only[0]; i++)
            json_object_del(body, read_only[i]);
    if (xw_json_check_keys(body, allowed, &e) < 0
        || xw_json_get_string(body, "url", 1, XW_WH_URL_MAX, XW_JSON_REQUIRED,
                              &in->url, NULL, &e) < 0
        || (rc = xw_json_get_string(body, "secret", 0, 0,
                                    creating ? XW_JSON_REQUIRED : 0,
                                    &in->secret, &slen, &e)) < 0
        || xw_wh_filter_from_json(&in->filter, json_object_get(body, "filter"),
                                  &e) < 0) {
        sl_reply_json_err(r, &e);
        return -1;
    }
    if (rc == 0)
        in->secret = NULL;
    if (xw_wh_url_check(in->url, why, sizeof why) < 0) {
        sl_reply_error(r, 400, "url", "url", "%s", why);
        return -1;
    }
    if (in->secret && xw_wh_secret_check(in->secret, slen, why,
                                         sizeof why) < 0) {
        sl_reply_error(r, 400, "secret", "secret", "%s", why);
        return -1;
    }
    if (!(f = xw_wh_filter_to_json(&in->filter))
        || xw_json_dump(f, &in->filter_json) < 0) {
        json_decref(f);
        sl_reply_unavailable(r, "memory");
        return -1;
    }
    json_decref(f);
    return 0;
}

/* A filter on a workspace needs it registered, and (but for system
 * administrators) the caller a member of it. 0, or -1 answered. */
static int check_filter_access(struct sl_request *r,
                               const struct xw_wh_filter *f)
{
    const char *ws[2] = { f->source, f->destination };
    const char *field[2] = { "filter.source_workspace",
                             "filter.destination_workspace" };

    for (int i = 0; i < 2; i++) {
        unsigned roles = 0;
        int rc;

        if (!ws[i][0])
            continue;
        if ((rc = sl_roles(r, ws[i], &roles)) < 0)
            return -1;
        if (rc == 0) {
            sl_reply_error(r, 422, field[i], "not_found",
                           "workspace '%s' is not registered", ws[i]);
            return -1;
        }
        if (!roles && !r->is_system_admin) {
            sl_reply_error(r, 403, field[i], "permission",
                           "a filter on workspace '%s' needs membership of "
                           "it", ws[i]);
            return -1;
        }
    }
    return 0;
}

/* Scope of a subscription the caller owns: system administrators' see
 * every workspace; anyone else's only events of workspaces (source or
 * destination) the owner is a member of when the event is enqueued. */
static const char *scope_of(const struct sl_request *r)
{
    return r->is_system_admin ? "all" : "member";
}

/* Answers with the subscription as it is now (after a write). */
static void answer_sub(struct sl_request *r, unsigned status, const char *id)
{
    json_t *j = sub_load(r, id);

    if (j)
        sl_reply_remembered(r, status, j);
}

void h_wh_create(struct sl_request *r)
{
    struct wh_input in = { .filter_json = XW_BUF_INIT };
    char id[XW_WH_ID_LEN + 1], now[24], cap[16];
    const char *args[8];
    json_t *body = NULL;
    long long rc;

    if (sl_request_begin(r) != 0 || !(body = sl_body_object(r))
        || read_input(r, body, 1, &in) < 0
        || check_filter_access(r, &in.filter) < 0)
        goto out;
    /* The request id is derived from (user, Idempotency-Key) when there
     * is one, so a retried create makes no second subscription. */
    snprintf(id, sizeof id, XW_WH_ID_PREFIX "%s", r->request_id);
    now_ms(now);
    snprintf(cap, sizeof cap, "%d", XW_WH_PER_OWNER_MAX);
    args[0] = id;
    args[1] = in.url;
    args[2] = r->user;
    args[3] = scope_of(r);
    args[4] = in.filter_json.data;
    args[5] = now;
    args[6] = in.secret;
    args[7] = cap;
    rc = run_script(r, lua_create, args, 8);
    if (rc == LLONG_MIN)
        goto out;
    if (rc < 0) {
        sl_reply_error(r, 422, "", "max_items", "a user may own at most %d "
                       "webhook subscriptions", XW_WH_PER_OWNER_MAX);
        goto out;
    }
    answer_sub(r, 201, id);
out:
    xw_buf_release(&in.filter_json);
    json_decref(body);
}

static int newest_first(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t tx = json_integer_value(json_object_get(x, "created_at"));
    json_int_t ty = json_integer_value(json_object_get(y, "created_at"));

    if (tx != ty)
        return tx > ty ? -1 : 1;
    return strcmp(json_string_value(json_object_get(x, "id")),
                  json_string_value(json_object_get(y, "id")));
}

void h_wh_list(struct sl_request *r)
{
    const char *owner = sl_query(r, "owner");
    redisReply *ids = NULL, **reps = NULL;
    long offset, limit;
    json_t *all = NULL, *items, **sorted = NULL;
    size_t n = 0;

    if (sl_paging(r, &offset, &limit) < 0 || !sl_worker_get(r))
        return;
    if (owner && !xw_id_valid(owner, strlen(owner), SL_ID_MAX)) {
        sl_reply_error(r, 400, "owner", "id", "not a user id");
        return;
    }
    /* Others see their own; system administrators all, or one owner's. */
    if (!r->is_system_admin)
        owner = r->user;
    ids = owner ? xw_redis_command_idem(r->w->redis, "SMEMBERS "
                                        XW_WH_K_OWNER "%s", owner)
                : xw_redis_command_idem(r->w->redis, "SMEMBERS "
                                        XW_WH_K_SUBS);
    if (!ids || !(ids = xw_redis_reply_take(r->w->redis))) {
        sl_reply_unavailable(r, "state store");
        return;
    }
    n = ids->type == REDIS_REPLY_ARRAY ? ids->elements : 0;
    all = json_array();
    if (n && !(reps = calloc(n, sizeof *reps))) {
        sl_reply_unavailable(r, "memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (append_hmget(r, ids->element[i]->str) < 0) {
            sl_reply_unavailable(r, "state store");
            goto out;
        }
    if (n && xw_redis_pipeline_exec(r->w->redis, reps, n) < 0) {
        sl_reply_unavailable(r, "state store");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *j = sub_json(reps[i], NULL);

        if (j)
            json_array_append_new(all, j);
    }
    /* Newest first, then by id (ties of the same millisecond). */
    if (json_array_size(all) > 1) {
        if (!(sorted = malloc(json_array_size(all) * sizeof *sorted))) {
            sl_reply_unavailable(r, "memory");
            goto out;
        }
        for (size_t i = 0; i < json_array_size(all); i++)
            sorted[i] = json_array_get(all, i);
        qsort(sorted, json_array_size(all), sizeof *sorted, newest_first);
    }
    items = json_array();
    for (size_t i = (size_t)offset; i < json_array_size(all)
         && json_array_size(items) < (size_t)limit; i++)
        json_array_append(items, sorted ? sorted[i] : json_array_get(all, i));
    sl_reply(r, 200, json_pack("{s:o, s:I, s:i, s:i}", "items", items,
                               "total", (json_int_t)json_array_size(all),
                               "offset", (int)offset, "limit", (int)limit));
out:
    if (reps)
        xw_redis_replies_free(reps, n);
    free(reps);
    free(sorted);
    freeReplyObject(ids);
    json_decref(all);
}

void h_wh_get(struct sl_request *r)
{
    json_t *j = sub_load(r, r->params[0]);

    if (j)
        sl_reply(r, 200, j);
}

void h_wh_update(struct sl_request *r)
{
    struct wh_input in = { .filter_json = XW_BUF_INIT };
    const char *id = r->params[0], *args[6];
    char now[24];
    json_t *body = NULL, *cur = NULL;
    const char *owner;
    long long rc;

    if (sl_request_begin(r) != 0 || !(cur = sub_load(r, id))
        || !(body = sl_body_object(r)) || read_input(r, body, 0, &in) < 0
        || check_filter_access(r, &in.filter) < 0)
        goto out;
    owner = json_string_value(json_object_get(cur, "owner"));
    now_ms(now);
    args[0] = id;
    args[1] = in.url;
    args[2] = in.filter_json.data;
    /* The scope follows its owner: kept when somebody else edits. */
    args[3] = owner && strcmp(owner, r->user) == 0 ? scope_of(r) : "";
    args[4] = now;
    args[5] = in.secret ? in.secret : "";
    rc = run_script(r, lua_update, args, 6);
    if (rc == LLONG_MIN)
        goto out;
    if (rc == 0) {
        sl_reply_error(r, 404, "webhook", "not_found",
                       "no webhook subscription '%s'", id);
        goto out;
    }
    answer_sub(r, 200, id);
out:
    xw_buf_release(&in.filter_json);
    json_decref(body);
    json_decref(cur);
}

/* Runs `lua` on subscription {id} after the visibility check; answers 404
 * when the script says it is gone. Returns the script's result (> 0 done)
 * or <= 0 answered. */
static long long sub_write(struct sl_request *r, const char *lua,
                           const char **args, int nargs)
{
    json_t *cur;
    long long rc;

    if (sl_request_begin(r) != 0 || !(cur = sub_load(r, r->params[0])))
        return 0;
    json_decref(cur);
    rc = run_script(r, lua, args, nargs);
    if (rc == 0)
        sl_reply_error(r, 404, "webhook", "not_found",
                       "no webhook subscription '%s'", r->params[0]);
    return rc == LLONG_MIN ? 0 : rc;
}

static void pause_resume(struct sl_request *r, const char *paused)
{
    char now[24];
    const char *args[3] = { r->params[0], paused, now };

    now_ms(now);
    if (sub_write(r, lua_pause, args, 3) > 0)
        answer_sub(r, 200, r->params[0]);
}

void h_wh_pause(struct sl_request *r)
{
    pause_resume(r, "1");
}

void h_wh_resume(struct sl_request *r)
{
    pause_resume(r, "0");
}

void h_wh_delete(struct sl_request *r)
{
    const char *args[1] = { r->params[0] };

    if (sub_write(r, lua_delete, args, 1) > 0)
        sl_reply_remembered(r, 200, json_pack("{s:s, s:b}", "id",
                                              r->params[0], "deleted", 1));
}

/* ---- deliveries --------------------------------------------------------- */

/* A delivery's fields as the reporter writes them (docs/design.md). */
#define DLV_FIELDS "id event_id type package_id status attempts last_status " \
    "last_latency_ms last_error created_at requeued_at last_attempt_at "      \
    "next_attempt_at delivered_at history"
static const char *const dlv_fields[] = {
    "id", "event_id", "type", "package_id", "status", "attempts",
    "last_status", "last_latency_ms", "last_error", "created_at",
    "requeued_at", "last_attempt_at", "next_attempt_at", "delivered_at",
    "history",
};
#define NDLVF (sizeof dlv_fields / sizeof dlv_fields[0])

static int append_delivery(struct sl_request *r, const char *id, size_t len)
{
    return xw_redis_append(r->w->redis, "HMGET " XW_WH_K_DELIVERY "%b " DLV_FIELDS,
                           id, len);
}

/* A delivery's JSON from its HMGET (NEW), or NULL if it has expired. */
static json_t *delivery_json(const redisReply *rep)
{
    redisReply *const *e = rep->element;
    json_t *j, *hist;

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != NDLVF
        || e[0]->type != REDIS_REPLY_STRING)
        return NULL;
    j = json_object();
    json_object_set_new(j, "delivery_id", str_or_null(e[0]));
    for (size_t i = 1; i < NDLVF - 1; i++) {
        const char *f = dlv_fields[i];
        int text = strcmp(f, "event_id") == 0 || strcmp(f, "type") == 0
                   || strcmp(f, "package_id") == 0
                   || strcmp(f, "status") == 0
                   || strcmp(f, "last_error") == 0;

        json_object_set_new(j, f, text ? str_or_null(e[i])
                                       : num_or_null(e[i]));
    }
    /* history: one JSON object per line, oldest first (reporter). */
    hist = json_array();
    if (e[NDLVF - 1]->type == REDIS_REPLY_STRING) {
        const char *p = e[NDLVF - 1]->str, *end = p + e[NDLVF - 1]->len;

        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            json_error_t je;
            json_t *a = json_loadb(p, len, 0, &je);

            if (a)
                json_array_append_new(hist, a);
            p += len + 1;
        }
    }
    json_object_set_new(j, "history", hist);
    return j;
}

void h_wh_deliveries(struct sl_request *r)
{
    const char *id = r->params[0], *status = sl_query(r, "status");
    redisReply *lst = NULL, *len = NULL, **reps = NULL;
    json_t *cur, *items = NULL;
    long offset, limit, first, last;
    size_t n = 0, total = 0;

    if (sl_paging(r, &offset, &limit) < 0 || !(cur = sub_load(r, id)))
        return;
    json_decref(cur);
    if (status && strcmp(status, "pending") != 0
        && strcmp(status, "delivered") != 0 && strcmp(status, "failed") != 0) {
        sl_reply_error(r, 400, "status", "enum",
                       "must be pending, delivered or failed");
        return;
    }
    /* Without a status filter only the page is read; with one, the whole
     * (capped) log, filtered here. */
    first = status ? 0 : offset;
    last = status ? LOG_READ_MAX - 1 : offset + limit - 1;
    if (!(len = xw_redis_command_idem(r->w->redis, "LLEN " XW_WH_K_LOG "%s",
                                      id))
        || !(len = xw_redis_reply_take(r->w->redis))
        || !xw_redis_command_idem(r->w->redis, "LRANGE " XW_WH_K_LOG
                                  "%s %ld %ld", id, first, last)
        || !(lst = xw_redis_reply_take(r->w->redis))) {
        sl_reply_unavailable(r, "state store");
        goto out;
    }
    n = lst->type == REDIS_REPLY_ARRAY ? lst->elements : 0;
    if (n && !(reps = calloc(n, sizeof *reps))) {
        sl_reply_unavailable(r, "memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (append_delivery(r, lst->element[i]->str,
                            lst->element[i]->len) < 0) {
            sl_reply_unavailable(r, "state store");
            goto out;
        }
    if (n && xw_redis_pipeline_exec(r->w->redis, reps, n) < 0) {
        sl_reply_unavailable(r, "state store");
        goto out;
    }
    items = json_array();
    total = status ? 0 : (size_t)len->integer;
    for (size_t i = 0; i < n; i++) {
        json_t *d = delivery_json(reps[i]);
        const char *st = json_string_value(json_object_get(d, "status"));

        if (!d)
            continue;
        if (status && (!st || strcmp(st, status) != 0)) {
            json_decref(d);
            continue;
        }
        if (status && (total++ < (size_t)offset
                       || json_array_size(items) >= (size_t)limit)) {
            json_decref(d);
            continue;
        }
        json_array_append_new(items, d);
    }
    sl_reply(r, 200, json_pack("{s:o, s:I, s:i, s:i}", "items", items,
                               "total", (json_int_t)total, "offset",
                               (int)offset, "limit", (int)limit));
    items = NULL;
out:
    if (reps)
        xw_redis_replies_free(reps, n);
    free(reps);
    freeReplyObject(lst);
    freeReplyObject(len);
    json_decref(items);
}

void h_wh_redeliver(struct sl_request *r)
{
    char now[24];
    const char *args[3] = { r->params[0], r->params[1], now };
    redisReply *rep;
    json_t *d;

    now_ms(now);
    if (sub_write(r, lua_redeliver, args, 3) <= 0)
        return;
    if (append_delivery(r, r->params[1], strlen(r->params[1])) < 0
        || xw_redis_pipeline_exec(r->w->redis, &rep, 1) < 0) {
        sl_reply_unavailable(r, "state store");
        return;
    }
    d = delivery_json(rep);
    xw_redis_replies_free(&rep, 1);
    if (d)
        sl_reply_remembered(r, 200, d);
    else
        sl_reply_error(r, 404, "delivery", "not_found", "no such delivery");
}
