/* Step 3: freezing a package — the chosen object versions, against one
 * environment, with objects on ignored compute resources left out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packager.h"
#include "xw_avro_json.h"
#include "xw_json.h"
#include "xw_log.h"
#include "xw_model.h"

/* Everything needed to decide inclusion, loaded once per package. */
struct freeze_ctx {
    json_t *env_json, *src_json, *dst_json;
    struct xw_model_env env;
    struct xw_model_ws src, dst;
};

static void freeze_ctx_release(struct freeze_ctx *f)
{
    xw_model_env_release(&f->env);
    xw_model_ws_release(&f->src);
    xw_model_ws_release(&f->dst);
    json_decref(f->env_json);
    json_decref(f->src_json);
    json_decref(f->dst_json);
}

/* Decides whether one stored spec goes into the package: 1 include, 0
 * exclude (reason filled), -1 error. The rule module decides: an object on
 * an ignored compute resource is EXCLUDED; every other outcome stays in
 * the package (a failure is reported when it is deployed). */
static int decide(struct packager *p, struct freeze_ctx *f, json_t *spec,
                  const char *creator, const char **code, char *reason,
                  size_t rlen)
{
    struct xw_mapped out;
    struct xw_model_obj obj;
    struct xw_map_request req = { creator, creator, NULL };
    xw_avro_json_error je;
    xw_json_err e;
    avro_value_t el;
    enum xw_map_outcome o;

    /* The ObjectSpec record of the DeployStarted value is scratch here. */
    if (xw_avro_array_clear(&p->started.value, "objects") < 0
        || xw_avro_array_append(&p->started.value, "objects", &el) < 0)
        return -1;
    if (xw_avro_from_json(&el, spec, NULL, &je) < 0) {
        *code = "spec_invalid";
        snprintf(reason, rlen, "stored spec is invalid: %s", je.message);
        return 0;
    }
    if (xw_model_obj_from_avro(&obj, &el, &e) < 0) {
        *code = "spec_invalid";
        snprintf(reason, rlen, "%s: %s", e.field, e.message);
        return 0;
    }
    o = xw_rules_map_object(&f->env.env, &f->src.ws, &f->dst.ws, &obj.obj,
                            &req, &out, NULL);
    if (o == XW_MAP_EXCLUDED) {
        *code = out.code;
        snprintf(reason, rlen, "%s", out.reason);
    }
    xw_rules_mapped_release(&out);
    xw_model_obj_release(&obj);
    return o == XW_MAP_EXCLUDED ? 0 : 1;
}

/* Emits the package's PackageCreated chunks from the stored state. */
static enum xw_handle_result emit_created(struct packager *p,
                                          struct command *c, const char *pkg,
                                          struct xw_handle_error *err)
{
    avro_value_t *v = &p->created.value;
    redisReply *objs = NULL;
    json_t *meta;
    size_t n, chunks;
    int failed;
    enum xw_handle_result r = XW_HANDLE_OK;

    meta = pkg_load_json(p, "HGET xw:pkg:%s meta", pkg, NULL, &failed);
    if (!meta)
        return failed ? RETRY(err, "redis: %s", p->redis->errstr)
                      : RETRY(err, "package %s has no meta", pkg);
    if (!xw_redis_command_idem(p->redis, "HVALS xw:pkg:%s:objects", pkg)) {
        r = RETRY(err, "redis: %s", p->redis->errstr);
        goto out;
    }
    objs = xw_redis_reply_take(p->redis);
    n = objs->type == REDIS_REPLY_ARRAY ? objs->elements : 0;
    chunks = n ? (n + PKG_CHUNK - 1) / PKG_CHUNK : 1;
    for (size_t k = 0; k < chunks && r == XW_HANDLE_OK; k++) {
        size_t from = k * PKG_CHUNK, cnt = n - from < PKG_CHUNK ? n - from
                                                                : PKG_CHUNK;
        json_t *ex = json_object_get(meta, "excluded_objects"), *x;
        size_t i;

        xw_avro_value_reset(&p->created);
        if (pkg_envelope(p, v, c, "packager.created", (long)k) < 0
            || xw_avro_set_string(v, "package_id", pkg) < 0
            || xw_avro_set_string(v, "source_workspace",
                json_string_value(json_object_get(meta, "source_workspace"))) < 0
            || xw_avro_set_string(v, "destination_workspace",
                json_string_value(json_object_get(meta,
                                                  "destination_workspace"))) < 0
            || xw_avro_set_string(v, "environment",
                json_string_value(json_object_get(meta, "environment"))) < 0
            || xw_avro_set_string(v, "creator",
                json_string_value(json_object_get(meta, "creator"))) < 0
            || xw_avro_set_int(v, "chunk", (int32_t)k) < 0
            || xw_avro_set_int(v, "chunks", (int32_t)chunks) < 0
            || pkg_fill_specs(v, "objects", objs->element + from, cnt, err) < 0) {
            r = RETRY(err, "building PackageCreated");
            break;
        }
        /* The exclusions travel once, with the first chunk. */
        json_array_foreach(k == 0 ? ex : NULL, i, x) {
            avro_value_t el;

            if (xw_avro_array_append(v, "excluded", &el) < 0
                || xw_avro_set_string(&el, "object_id", json_string_value(
                       json_object_get(x, "object_id"))) < 0
                || xw_avro_set_string(&el, "reason_code", json_string_value(
                       json_object_get(x, "reason_code"))) < 0
                || xw_avro_set_string(&el, "reason", json_string_value(
                       json_object_get(x, "reason"))) < 0) {
                r = RETRY(err, "building PackageCreated exclusions");
                break;
            }
        }
        if (r == XW_HANDLE_OK)
            r = pkg_emit(p, v, XW_TOPIC_PACKAGES, pkg, err);
    }
out:
    if (objs)
        freeReplyObject(objs);
    json_decref(meta);
    return r;
}

enum xw_handle_result apply_package(struct packager *p, struct command *c,
                                    struct xw_handle_error *err)
{
    const char *ws = pkg_str(c->v, "workspace_id"), *pkg = pkg_str(c->v, "package_id");
    const char *envname = pkg_str(c->v, "environment");
    const char *creator = pkg_str(c->v, "creator");
    struct freeze_ctx f;
    redisReply *ids = NULL, *specs = NULL;
    const char **argv = NULL;
    json_t *meta = NULL, *excluded = NULL;
    xw_buf buf = XW_BUF_INIT;
    char key[96];
    size_t n = 0, included = 0;
    int failed = 0, from_basket;
    xw_json_err e;
    enum xw_handle_result r = XW_HANDLE_OK;

    memset(&f, 0, sizeof f);
    if (c->seen)
        return emit_created(p, c, pkg, err);
    f.env_json = pkg_load_json(p, "HGET xw:env:%s %s", ws, envname, &failed);
    if (!failed)
        f.src_json = pkg_load_json(p, "GET xw:ws:%s", ws, NULL, &failed);
    if (failed)
        goto redis;
    if (!f.env_json || !f.src_json) {
        if (pkg_reject(p, c, 422, "environment", "environment_missing",
                       "environment '%s' of workspace '%s' does not exist",
                       envname, ws) < 0)
            goto redis;
        goto out;
    }
    f.dst_json = pkg_load_json(p, "GET xw:ws:%s", json_string_value(
                                   json_object_get(f.env_json,
                                                   "destination_workspace")),
                               NULL, &failed);
    if (failed)
        goto redis;
    if (!f.dst_json || xw_model_env_from_json(&f.env, f.env_json, ws, &e) < 0
        || xw_model_ws_from_json(&f.src, f.src_json, &e) < 0
        || xw_model_ws_from_json(&f.dst, f.dst_json, &e) < 0) {
        if (pkg_reject(p, c, 422, "environment", "environment_invalid",
                       "environment '%s' or one of its workspaces can no "
                       "longer be read", envname) < 0)
            goto redis;
        goto out;
    }
    /* The objects: listed in the command, or the creator's basket. */
    xw_avro_array_size(c->v, "object_ids", &n);
    from_basket = n == 0;
    if (from_basket) {
        if (!xw_redis_command_idem(p->redis, "ZRANGE xw:basket:%s:%s 0 -1", ws,
                                   creator))
            goto redis;
        ids = xw_redis_reply_take(p->redis);
        n = ids->elements;
    }
    if (n == 0) {
        if (pkg_reject(p, c, 422, "object_ids", "empty",
                       "nothing to package: the basket is empty") < 0)
            goto redis;
        goto out;
    }
    argv = calloc(n + 2, sizeof *argv);
    if (!argv)
        goto redis;
    argv[0] = "HMGET";
    snprintf(key, sizeof key, "xw:ntd:%s", ws);
    argv[1] = key;
    for (size_t i = 0; i < n; i++) {
        if (from_basket)
            argv[i + 2] = ids->element[i]->str;
        else
            xw_avro_array_get_string(c->v, "object_ids", i, &argv[i + 2], NULL);
    }
    if (!xw_redis_command_argv(p->redis, (int)n + 2, argv, NULL, 1))
        goto redis;
    specs = xw_redis_reply_take(p->redis);
    excluded = json_array();
    if (tx_begin(p) < 0)
        goto redis;
    for (size_t i = 0; i < n; i++) {
        const char *id = argv[i + 2], *code = NULL;
        char reason[400];
        json_error_t je;
        json_t *spec = NULL;
        int d;

        if (specs->element[i]->type != REDIS_REPLY_STRING) {
            json_array_append_new(excluded, json_pack(
                "{s:s, s:s, s:s}", "object_id", id, "reason_code",
                "not_in_nodes_to_deploy", "reason",
                "the object is no longer in the nodes-to-deploy list "
                "(terminated)"));
            continue;
        }
        spec = json_loadb(specs->element[i]->str, specs->element[i]->len, 0,
                          &je);
        if (!spec)
            continue;
        json_object_del(spec, "submitted_at");
        json_object_del(spec, "submitted_by");
        d = decide(p, &f, spec, creator, &code, reason, sizeof reason);
        if (d < 0) {
            json_decref(spec);
            xw_redis_pipeline_discard(p->redis);
            r = RETRY(err, "out of memory");
            goto out;
        }
        if (d == 0) {
            json_array_append_new(excluded, json_pack(
                "{s:s, s:s, s:s}", "object_id", id, "reason_code", code,
                "reason", reason));
        } else {
            xw_buf_reset(&buf);
            if (xw_json_dump(spec, &buf) < 0
                || TX(p, "HSET xw:pkg:%s:objects %s %b", pkg, id, buf.data,
                      buf.len) < 0) {
                json_decref(spec);
                goto redis;
            }
            included++;
        }
        json_decref(spec);
        if (from_basket && TX(p, "ZREM xw:basket:%s:%s %s", ws, creator, id) < 0)
            goto redis;
    }
    meta = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:O}",
                     "package_id", pkg, "source_workspace", ws,
                     "destination_workspace",
                     json_string_value(json_object_get(f.env_json,
                                                       "destination_workspace")),
                     "environment", envname, "creator", creator, "created_at",
                     (json_int_t)c->occurred_at, "request_id", c->event_id,
                     "object_count", (json_int_t)included, "excluded_objects", excluded);
    xw_buf_reset(&buf);
    if (!meta || xw_json_dump(meta, &buf) < 0
        || TX(p, "HSET xw:pkg:%s meta %b attempt 0", pkg, buf.data, buf.len) < 0
        || tx_request_status(p, c, "done",
                             json_pack("{s:s, s:I, s:I}", "package_id", pkg,
                                       "objects", (json_int_t)included,
                                       "excluded",
                                       (json_int_t)json_array_size(excluded)),
                             NULL) < 0
        || tx_commit(p, c) < 0)
        goto redis;
    xw_info("PKG", "package %s frozen: %zu object(s), %zu excluded", pkg,
            included, json_array_size(excluded));
    r = emit_created(p, c, pkg, err);
    goto out;
redis:
    xw_redis_pipeline_discard(p->redis);
    r = RETRY(err, "redis: %s", p->redis->errstr);
out:
    freeze_ctx_release(&f);
    xw_buf_release(&buf);
    free(argv);
    if (ids)
        freeReplyObject(ids);
    if (specs)
        freeReplyObject(specs);
    json_decref(meta);
    json_decref(excluded);
    return r;
}
