/* Step 3 (packages), step 4 (deploy, replay) and step 5 (results). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "emit.h"
#include "routes.h"
#include "xw_id.h"

#define MAX_IDS 10000

/* Optional test-only deploy instant: refused unless the service runs with
 * XW_ALLOW_FIXED_DEPLOY_TIME=true (never in production). */
static int get_deploy_at(struct sl_request *r, json_t *body, json_int_t *at)
{
    xw_json_err e;
    int rc = xw_json_get_int(body, "deploy_at", 0, INT64_MAX / 2, 0, at, &e);

    if (rc < 0) {
        sl_reply_json_err(r, &e);
        return -1;
    }
    if (rc == 1 && !r->svc->allow_fixed_deploy_time) {
        sl_reply_error(r, 400, "deploy_at", "forbidden",
                       "a fixed deploy instant is for tests only "
                       "(XW_ALLOW_FIXED_DEPLOY_TIME)");
        return -1;
    }
    return rc;
}

/* Fills DeployRequested and accepts the request with it. `second` says
 * the request already emitted its own event (PackageRequested of "deploy
 * all"): this one then gets an id derived from the request's, so the two
 * events never share an id and a retry re-emits the same ones. */
static int emit_deploy(struct sl_request *r, const char *src,
                       const char *pkg, const char *override, json_int_t at,
                       int have_at, int replay, int second)
{
    avro_value_t *ev = sl_event(r, "DeployRequested");
    char id[40];

    if (!ev)
        return -1;
    if (second) {
        /* Not the request's own event: an id derived from it, so a retry
         * with the same Idempotency-Key re-emits the same id. */
        xw_uuid_derive("deploy_now", r->request_id, 0, id);
        if (xw_avro_set_string(ev, "event_id", id) < 0)
            return -1;
    }
    if (xw_avro_set_string(ev, "workspace_id", src) < 0
        || xw_avro_set_string(ev, "package_id", pkg) < 0
        || xw_avro_set_int(ev, "attempt", 0) < 0
        || xw_avro_set_string(ev, "executor", r->user) < 0
        || xw_avro_set_string(ev, "resource_group_override", override) < 0
        || xw_avro_set_bool(ev, "replay", replay) < 0
        || (have_at && xw_avro_set_long(ev, "deploy_at", at) < 0)) {
        sl_reply_error(r, 500, "", "internal", "encoding DeployRequested");
        return -1;
    }
    return sl_accept(r, ev, XW_TOPIC_COMMANDS, src,
                     json_pack("{s:s}", "package_id", pkg));
}

void h_pkg_create(struct sl_request *r)
{
    static const char *const allowed[] = { "environment", "object_ids",
        "deploy_now", "resource_group_override", "deploy_at", NULL };
    const char *ws = r->params[0], *env_name, *override = NULL, *dst;
    json_t *body = NULL, *ids = NULL, *env = NULL;
    json_int_t at = 0;
    int deploy_now = 0, have_at;
    char key[96], what[192], pkg[48];
    avro_value_t *ev;
    xw_json_err e;
    size_t i;

    if (sl_permit(r, XW_OP_PACKAGE_CREATE, ws, NULL) < 0
        || sl_request_begin(r) != 0 || !(body = sl_body_object(r)))
        goto out;
    if (xw_json_check_keys(body, allowed, &e) < 0
        || xw_json_get_string(body, "environment", 1, SL_ID_MAX,
                              XW_JSON_REQUIRED, &env_name, NULL, &e) < 0
        || xw_json_get_array(body, "object_ids", MAX_IDS, 0, &ids, &e) < 0
        || xw_json_get_bool(body, "deploy_now", 0, &deploy_now, &e) < 0
        || xw_json_get_string(body, "resource_group_override", 1, 128, 0,
                              &override, NULL, &e) < 0) {
        sl_reply_json_err(r, &e);
        goto out;
    }
    if ((have_at = get_deploy_at(r, body, &at)) < 0)
        goto out;
    if ((override || have_at) && !deploy_now) {
        sl_reply_error(r, 400, override ? "resource_group_override"
                       : "deploy_at", "requires",
                       "only with deploy_now; otherwise give it when "
                       "deploying the package");
        goto out;
    }
    snprintf(key, sizeof key, "xw:env:%s", ws);
    snprintf(what, sizeof what, "environment '%s'", env_name);
    if (!(env = sl_load_hash_json(r, key, env_name, what)))
        goto out;
    dst = json_string_value(json_object_get(env, "destination_workspace"));
    if (!dst) {
        sl_reply_error(r, 500, "environment", "internal", "no destination");
        goto out;
    }
    if (deploy_now && sl_permit(r, XW_OP_DEPLOY_ALL, ws, dst) < 0)
        goto out;
    if (override && sl_permit(r, XW_OP_RG_OVERRIDE, ws, dst) < 0)
        goto out;
    if (ids && json_array_size(ids)) {
        if (sl_check_object_ids(r, ws, ids, "object_ids") < 0)
            goto out;
    } else {
        redisReply *rep = xw_redis_command_idem(r->w->redis,
                                                "ZCARD xw:basket:%s:%s", ws,
                                                r->user);
        if (!rep) {
            sl_reply_unavailable(r, "state store");
            goto out;
        }
        if (rep->integer == 0) {
            sl_reply_error(r, 422, "object_ids", "empty",
                           "your basket is empty: add objects to it or list "
                           "object_ids");
            goto out;
        }
    }
    snprintf(pkg, sizeof pkg, "pkg-%s", r->request_id);
    if (!(ev = sl_event(r, "PackageRequested")))
        goto out;
    if (xw_avro_set_string(ev, "workspace_id", ws) < 0
        || xw_avro_set_string(ev, "package_id", pkg) < 0
        || xw_avro_set_string(ev, "environment", env_name) < 0
        || xw_avro_set_string(ev, "creator", r->user) < 0
        || xw_avro_set_bool(ev, "deploy_now", deploy_now) < 0) {
        sl_reply_error(r, 500, "", "internal", "encoding PackageRequested");
        goto out;
    }
    for (i = 0; ids && i < json_array_size(ids); i++)
        if (xw_avro_array_append_string(ev, "object_ids",
                json_string_value(json_array_get(ids, i))) < 0) {
            sl_reply_error(r, 500, "", "internal", "encoding object_ids");
            goto out;
        }
    if (!deploy_now) {
        sl_accept(r, ev, XW_TOPIC_COMMANDS, ws,
                  json_pack("{s:s}", "package_id", pkg));
        goto out;
    }
    /* "Deploy all": the package and its deployment, in this order on the
     * workspace's partition. */
    if (sl_produce(r, ev, XW_TOPIC_COMMANDS, ws) < 0)
        goto out;
    emit_deploy(r, ws, pkg, override, at, have_at, 0, 1);
out:
    json_decref(env);
    json_decref(body);
}

/* Sorts an array of objects by their "id" member, in place. */
static void sort_by_id(json_t *arr)
{
    size_t n = json_array_size(arr);
    json_t **v = n ? malloc(n * sizeof *v) : NULL;

    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(arr, i));
    qsort(v, n, sizeof *v, sl_cmp_json_id);
    json_array_clear(arr);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, v[i]);
    free(v);
}

/* The package's meta (as frozen by the packager) and its current summary
 * (as folded by the reporter; may be absent). NEW references; NULL with
 * 404/503 answered. */
static json_t *load_package(struct sl_request *r, const char *pkg,
                            json_t **summary)
{
    char key[96], what[96];
    redisReply *rep;
    json_t *meta;

    *summary = NULL;
    snprintf(key, sizeof key, "xw:pkg:%s", pkg);
    snprintf(what, sizeof what, "package '%s'", pkg);
    if (!(meta = sl_load_hash_json(r, key, "meta", what)))
        return NULL;
    rep = xw_redis_command_idem(r->w->redis, "GET xw:pkgsum:%s", pkg);
    if (rep && rep->type == REDIS_REPLY_STRING) {
        json_error_t je;

        *summary = json_loadb(rep->str, rep->len, 0, &je);
    }
    return meta;
}

static const char *summary_status(json_t *summary)
{
    const char *s = summary
        ? json_string_value(json_object_get(summary, "status")) : NULL;

    return s ? s : "pending";
}

static void deploy_or_replay(struct sl_request *r, int replay)
{
    static const char *const allowed[] = { "resource_group_override",
                                           "deploy_at", NULL };
    const char *pkg = r->params[0], *src, *dst, *override = NULL, *status;
    json_t *body = NULL, *meta = NULL, *summary = NULL;
    json_int_t at = 0;
    xw_json_err e;
    int have_at = 0;

    if (!sl_worker_get(r) || !(meta = load_package(r, pkg, &summary)))
        goto out;
    src = json_string_value(json_object_get(meta, "source_workspace"));
    dst = json_string_value(json_object_get(meta, "destination_workspace"));
    if (!src || !dst) {
        sl_reply_error(r, 500, "", "internal", "package meta incomplete");
        goto out;
    }
    if (sl_permit(r, replay ? XW_OP_REPLAY : XW_OP_PACKAGE_DEPLOY, src, dst)
        < 0)
        goto out;
    if (r->body.len) {
        if (!(body = sl_body_object(r)))
            goto out;
        if (xw_json_get_string(body, "resource_group_override", 1, 128, 0,
                               &override, NULL, &e) < 0) {
            sl_reply_json_err(r, &e);
            goto out;
        }
        if (override && sl_permit(r, XW_OP_RG_OVERRIDE, src, dst) < 0)
            goto out;
        if (xw_json_check_keys(body, allowed, &e) < 0) {
            sl_reply_json_err(r, &e);
            goto out;
        }
        if ((have_at = get_deploy_at(r, body, &at)) < 0)
            goto out;
    }
    if (sl_request_begin(r) != 0)
        goto out;
    status = summary_status(summary);
    if (strcmp(status, "deploying") == 0) {
        sl_reply_error(r, 409, "package", "state",
                       "package '%s' is being deployed; wait for it to finish",
                       pkg);
        goto out;
    }
    if (replay && strcmp(status, "failed") != 0) {
        sl_reply_error(r, 409, "package", "state",
                       "only a failed package can be replayed; '%s' is %s",
                       pkg, status);
        goto out;
    }
    emit_deploy(r, src, pkg, override, at, have_at, replay, 0);
out:
    json_decref(body);
    json_decref(meta);
    json_decref(summary);
}

void h_pkg_deploy(struct sl_request *r)
{
    deploy_or_replay(r, 0);
}

void h_pkg_replay(struct sl_request *r)
{
    deploy_or_replay(r, 1);
}

void h_pkg_get(struct sl_request *r)
{
    const char *pkg = r->params[0], *src, *dst;
    json_t *meta = NULL, *summary = NULL, *objects, *out, *index;
    redisReply *specs = NULL, *results = NULL;
    redisReply *reps[2] = { NULL, NULL };

    if (!sl_worker_get(r) || !(meta = load_package(r, pkg, &summary)))
        return;
    src = json_string_value(json_object_get(meta, "source_workspace"));
    dst = json_string_value(json_object_get(meta, "destination_workspace"));
    if (!src || !dst || sl_permit(r, XW_OP_RESULT_VIEW, src, dst) < 0) {
        if (!r->reply)
            sl_reply_error(r, 500, "", "internal", "package meta incomplete");
        goto out;
    }
    if (xw_redis_append(r->w->redis, "HGETALL xw:pkg:%s:objects", pkg) < 0
        || xw_redis_append(r->w->redis, "HGETALL xw:res:%s", pkg) < 0
        || xw_redis_pipeline_exec(r->w->redis, reps, 2) < 0) {
        sl_reply_unavailable(r, "state store");
        goto out;
    }
    specs = reps[0];
    results = reps[1];
    /* Index the latest results by object id, then one row per frozen
     * object: its latest result, or pending. */
    index = json_object();
    for (size_t k = 0; k + 1 < results->elements; k += 2) {
        json_error_t je;
        json_t *res = json_loadb(results->element[k + 1]->str,
                                 results->element[k + 1]->len, 0, &je);
        char id[SL_ID_MAX + 1];

        snprintf(id, sizeof id, "%.*s", (int)results->element[k]->len,
                 results->element[k]->str);
        if (res)
            json_object_set_new(index, id, res);
    }
    objects = json_array();
    for (size_t i = 0; i + 1 < specs->elements; i += 2) {
        json_error_t je;
        json_t *spec = json_loadb(specs->element[i + 1]->str,
                                  specs->element[i + 1]->len, 0, &je);
        json_t *row = json_object(), *res;
        char id[SL_ID_MAX + 1];

        snprintf(id, sizeof id, "%.*s", (int)specs->element[i]->len,
                 specs->element[i]->str);
        res = json_object_get(index, id);
        if (spec) {
            json_object_set(row, "id", json_object_get(spec, "id"));
            json_object_set(row, "name", json_object_get(spec, "name"));
            json_object_set(row, "kind", json_object_get(spec, "kind"));
            json_object_set(row, "version", json_object_get(spec, "version"));
        }
        if (res)
            json_object_update(row, res);
        else
            json_object_set_new(row, "outcome", json_string("pending"));
        json_array_append_new(objects, row);
        json_decref(spec);
    }
    json_decref(index);
    /* Objects left out when the package was frozen are part of the
     * answer too ("objects on an ignored compute resource are left out"). */
    {
        json_t *ex = json_object_get(meta, "excluded_objects"), *x;
        size_t i;

        json_array_foreach(ex, i, x)
            json_array_append_new(objects, json_pack(
                "{s:O, s:s, s:O, s:O}", "id", json_object_get(x, "object_id"),
                "outcome", "excluded", "reason_code",
                json_object_get(x, "reason_code"), "reason",
                json_object_get(x, "reason")));
    }
    sort_by_id(objects);
    out = json_deep_copy(meta);
    if (summary)
        json_object_update(out, summary);
    else
        json_object_set_new(out, "status", json_string("pending"));
    json_object_set_new(out, "objects", objects);
    sl_reply(r, 200, out);
out:
    xw_redis_replies_free(reps, 2);
    json_decref(meta);
    json_decref(summary);
}

static int keep(json_t *s, const char *field, const char *want)
{
    const char *v;

    if (!want)
        return 1;
    v = json_string_value(json_object_get(s, field));
    return v && strcmp(v, want) == 0;
}

void h_pkg_list(struct sl_request *r)
{
    const char *ws = r->params[0];
    const char *status = sl_query(r, "status"), *creator = sl_query(r, "creator");
    const char *executor = sl_query(r, "executor"), *env = sl_query(r, "environment");
    const char *since = sl_query(r, "since"), *until = sl_query(r, "until");
    long offset, limit, n = 0;
    redisReply *ids, *sums;
    json_t *items;
    const char **argv = NULL;
    char lo[32], hi[32];

    if (sl_permit(r, XW_OP_RESULT_VIEW, ws, NULL) < 0
        || sl_paging(r, &offset, &limit) < 0)
        return;
    if ((since && strspn(since, "0123456789") != strlen(since))
        || (until && strspn(until, "0123456789") != strlen(until))
        || (since && strlen(since) > 16) || (until && strlen(until) > 16)) {
        sl_reply_error(r, 400, "since/until", "range",
                       "since/until are milliseconds since the epoch");
        return;
    }
    snprintf(hi, sizeof hi, "%s", until && *until ? until : "+inf");
    snprintf(lo, sizeof lo, "%s", since && *since ? since : "-inf");
    ids = xw_redis_command_idem(r->w->redis,
                                "ZREVRANGEBYSCORE xw:pkgs:%s %s %s", ws, hi,
                                lo);
    if (!ids) {
        sl_reply_unavailable(r, "state store");
        return;
    }
    ids = xw_redis_reply_take(r->w->redis);
    items = json_array();
    if (ids->type == REDIS_REPLY_ARRAY && ids->elements) {
        char (*keys)[64] = calloc(ids->elements, sizeof *keys);

        argv = calloc(ids->elements + 1, sizeof *argv);
        if (!argv || !keys) {
            free(keys);
            goto nomem;
        }
        argv[0] = "MGET";
        for (size_t i = 0; i < ids->elements; i++) {
            snprintf(keys[i], sizeof keys[i], "xw:pkgsum:%.*s",
                     (int)ids->element[i]->len, ids->element[i]->str);
            argv[i + 1] = keys[i];
        }
        sums = xw_redis_command_argv(r->w->redis, (int)ids->elements + 1, argv,
                                     NULL, 1);
        free(keys);
        for (size_t i = 0; sums && i < sums->elements; i++) {
            json_error_t je;
            json_t *s = sums->element[i]->type == REDIS_REPLY_STRING
                ? json_loadb(sums->element[i]->str, sums->element[i]->len, 0,
                             &je) : NULL;

            if (s && keep(s, "status", status) && keep(s, "creator", creator)
                && keep(s, "executor", executor) && keep(s, "environment", env)) {
                if (n >= offset && n < offset + limit)
                    json_array_append(items, s);
                n++;
            }
            json_decref(s);
        }
    }
    free(argv);
    freeReplyObject(ids);
    sl_reply(r, 200, json_pack("{s:o, s:I, s:i, s:i}", "items", items, "total",
                               (json_int_t)n, "offset", (int)offset, "limit",
                               (int)limit));
    return;
nomem:
    free(argv);
    freeReplyObject(ids);
    json_decref(items);
    sl_reply_unavailable(r, "memory");
}

void h_deployed_list(struct sl_request *r)
{
    char key[96];

    if (sl_permit(r, XW_OP_RESULT_VIEW, r->params[0], NULL) < 0)
        return;
    snprintf(key, sizeof key, "xw:dest:%s:objects", r->params[0]);
    sl_list_hash(r, key, sl_query(r, "kind"), sl_query(r, "owner"),
                 sl_query(r, "q"));
}
