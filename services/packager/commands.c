/* Dispatch of xw.commands, and the simple commands: workspaces,
 * environments, nodes to deploy, terminate, basket. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packager.h"
#include "xw_avro_json.h"
#include "xw_json.h"
#include "xw_log.h"
#include "xw_metrics.h"
#include "xw_model.h"

XW_COUNTER(m_applied, "xw_packager_commands_applied_total",
           "commands applied to the workspace state");
XW_COUNTER(m_redelivered, "xw_packager_commands_redelivered_total",
           "commands seen before (effects not repeated, follow-ups re-sent)");

void pkg_register_metrics(void);
void pkg_register_metrics(void)
{
    xw_metrics_register(&m_applied);
    xw_metrics_register(&m_redelivered);
}

static const struct {
    const char *type;
    enum xw_handle_result (*apply)(struct packager *, struct command *,
                                   struct xw_handle_error *);
} appliers[] = {
    { "WorkspaceUpserted", apply_workspace },
    { "EnvironmentUpserted", apply_environment },
    { "EnvironmentDeleted", apply_environment_deleted },
    { "ObjectsSubmitted", apply_objects },
    { "ObjectTerminated", apply_terminate },
    { "BasketChanged", apply_basket },
    { "PackageRequested", apply_package },
    { "DeployRequested", apply_deploy },
};

enum xw_handle_result pkg_handle(void *ctx, const rd_kafka_message_t *m,
                                 struct xw_handle_error *err)
{
    struct packager *p = ctx;
    const xw_avro_type *type;
    avro_value_t *v;
    struct command c;
    xw_avro_err ae;
    int seen = 0;
    int64_t at = 0;

    if (xw_avro_decode(p->dec, m->payload, m->len, &type, &v, &ae) < 0) {
        return xw_handle_fail(err, XW_HANDLE_POISON, "undecodable", "%s",
                              ae.msg);
    }
    memset(&c, 0, sizeof c);
    c.v = v;
    c.event_id = pkg_str(v, "event_id");
    c.actor = pkg_str(v, "actor");
    c.correlation_id = pkg_str(v, "correlation_id");
    xw_avro_get_long(v, "occurred_at", &at);
    c.occurred_at = at;
    if (!*c.event_id) {
        return xw_handle_fail(err, XW_HANDLE_POISON, "no_event_id",
                              "%s without an event id", type->short_name);
    }
    if (pkg_seen(p, c.event_id, &seen) < 0)
        return RETRY(err, "redis: %s", p->redis->errstr);
    c.seen = seen;
    if (c.seen)
        xw_metrics_add(&m_redelivered, 1);
    for (size_t i = 0; i < sizeof appliers / sizeof appliers[0]; i++) {
        if (strcmp(appliers[i].type, type->short_name) == 0) {
            enum xw_handle_result r = appliers[i].apply(p, &c, err);

            if (r == XW_HANDLE_OK) {
                if (!c.seen)
                    xw_metrics_add(&m_applied, 1);
                pkg_seen_applied(p, c.event_id);
            }
            pkg_release_big(p, m->len);     /* c.v is not used after this */
            return r;
        }
    }
    return xw_handle_fail(err, XW_HANDLE_POISON, "unexpected_event",
                          "%s does not belong on the commands topic",
                          type->short_name);
}

enum xw_handle_result apply_workspace(struct packager *p, struct command *c,
                                      struct xw_handle_error *err)
{
    avro_value_t ws;
    json_t *j = NULL, *members, *mem;
    xw_buf json = XW_BUF_INIT, roles = XW_BUF_INIT;
    const char *id;
    size_t i;
    enum xw_handle_result r = XW_HANDLE_OK;

    if (c->seen)
        return XW_HANDLE_OK; /* no follow-up events */
    if (xw_avro_get_record(c->v, "workspace", &ws) < 0
        || !(j = xw_avro_to_json(&ws)) || xw_json_dump(j, &json) < 0) {
        r = RETRY(err, "workspace to JSON");
        goto out;
    }
    id = pkg_str(&ws, "id");
    if (tx_begin(p) < 0
        || TX(p, "SET xw:ws:%s %b", id, json.data, json.len) < 0
        || TX(p, "DEL xw:ws:%s:roles", id) < 0
        || TX(p, "SADD xw:wss %s", id) < 0)
        goto redis;
    members = json_object_get(j, "members");
    json_array_foreach(members, i, mem) {
        json_t *rl = json_object_get(mem, "roles"), *x;
        size_t k;

        xw_buf_reset(&roles);
        json_array_foreach(rl, k, x)
            xw_buf_addf(&roles, "%s%s", k ? "," : "", json_string_value(x));
        if (TX(p, "HSET xw:ws:%s:roles %s %s", id,
               json_string_value(json_object_get(mem, "user")), roles.data) < 0)
            goto redis;
    }
    if (tx_request_status(p, c, "done", json_pack("{s:s}", "workspace", id),
                          NULL) < 0
        || tx_commit_later(p, c) < 0)
        goto redis;
    xw_info("WS", "workspace %s registered by %s", id, c->actor);
    goto out;
redis:
    pkg_discard(p);
    r = RETRY(err, "redis: %s", p->redis->errstr);
out:
    xw_buf_release(&json);
    xw_buf_release(&roles);
    json_decref(j);
    return r;
}

enum xw_handle_result apply_environment(struct packager *p, struct command *c,
                                        struct xw_handle_error *err)
{
    struct xw_findings f = XW_FINDINGS_INIT;
    const char *ws = pkg_str(c->v, "source_workspace"), *name, *dest;
    json_t *env = NULL, *src = NULL, *dst = NULL, *old = NULL;
    xw_buf json = XW_BUF_INIT;
    avro_value_t ev;
    redisReply *rep[4] = { NULL }, *names;
    const char **list = NULL;
    size_t n = 0;
    int v;
    xw_json_err e;
    json_int_t version = 1;
    enum xw_handle_result r = XW_HANDLE_OK;

    if (c->seen)
        return XW_HANDLE_OK;
    if (xw_avro_get_record(c->v, "environment", &ev) < 0
        || !(env = xw_avro_to_json(&ev))) {
        r = RETRY(err, "environment to JSON");
        goto out;
    }
    json_object_del(env, "version");
    name = json_string_value(json_object_get(env, "name"));
    dest = json_string_value(json_object_get(env, "destination_workspace"));
    /* Everything the check reads, in one round trip. */
    if (xw_redis_append(p->redis, "GET xw:ws:%s", ws) < 0
        || xw_redis_append(p->redis, "GET xw:ws:%s", dest) < 0
        || xw_redis_append(p->redis, "HGET xw:env:%s %s", ws, name) < 0
        || xw_redis_append(p->redis, "HKEYS xw:env:%s", ws) < 0
        || pkg_exec(p, rep, 4) < 0)
        goto redis;
    src = pkg_json(rep[0]);
    dst = pkg_json(rep[1]);
    old = pkg_json(rep[2]);
    names = rep[3];
    list = calloc(names->elements + 1, sizeof *list);
    for (size_t i = 0; list && i < names->elements; i++)
        if (strcmp(names->element[i]->str, name) != 0)
            list[n++] = names->element[i]->str;
    /* The authoritative check: the submit-listener checked early, but
     * another command may have changed a workspace since. */
    v = xw_model_validate_env(env, ws, src, dst, list, n, &f, &e);
    free(list);
    if (v < 0) {
        json_t *error = v == -2
            ? json_pack("{s:i, s:s, s:s, s:s}", "status", e.http_status,
                        "field", e.field, "rule", e.rule, "message", e.message)
            : json_pack("{s:i, s:s, s:o}", "status", 422, "rule",
                        "validation", "findings", xw_model_findings_json(&f));

        if (tx_begin(p) < 0
            || tx_request_status(p, c, "rejected", NULL, error) < 0
            || tx_commit_later(p, c) < 0)
            goto redis;
        goto out;
    }
    if (old)
        version = json_integer_value(json_object_get(old, "version")) + 1;
    json_object_set_new(env, "version", json_integer(version));
    json_object_set_new(env, "source_workspace", json_string(ws));
    json_object_set_new(env, "updated_at", json_integer(c->occurred_at));
    json_object_set_new(env, "updated_by", json_string(c->actor));
    if (xw_json_dump(env, &json) < 0)
        goto redis;
    if (tx_begin(p) < 0
        || TX(p, "HSET xw:env:%s %s %b", ws, name, json.data, json.len) < 0
        || tx_request_status(p, c, "done",
                             json_pack("{s:s, s:I, s:o}", "environment", name,
                                       "version", version, "findings",
                                       xw_model_findings_json(&f)), NULL) < 0
        || tx_commit_later(p, c) < 0)
        goto redis;
    xw_info("ENV", "environment %s/%s v%lld saved by %s", ws, name,
            (long long)version, c->actor);
    goto out;
redis:
    pkg_discard(p);
    r = RETRY(err, "redis: %s", p->redis->errstr);
out:
    xw_redis_replies_free(rep, 4);
    xw_findings_release(&f);
    xw_buf_release(&json);
    json_decref(env);
    json_decref(src);
    json_decref(dst);
    json_decref(old);
    return r;
}

/* A command whose whole effect is removing one field of some hashes of a
 * workspace: its environment, or an object from its nodes to deploy.
 * hashes: key prefixes, NULL-terminated. */
static enum xw_handle_result remove_field(struct packager *p, struct command *c,
                                          const char *const *hashes,
                                          const char *ws, const char *field,
                                          struct xw_handle_error *err)
{
    if (c->seen)
        return XW_HANDLE_OK;
    if (tx_begin(p) < 0)
        goto redis;
    for (; *hashes; hashes++)
        if (TX(p, "HDEL %s:%s %s", *hashes, ws, field) < 0)
            goto redis;
    if (tx_request_status(p, c, "done", NULL, NULL) < 0
        || tx_commit_later(p, c) < 0)
        goto redis;
    return XW_HANDLE_OK;
redis:
    pkg_discard(p);
    return RETRY(err, "redis: %s", p->redis->errstr);
}

enum xw_handle_result apply_environment_deleted(struct packager *p,
                                                struct command *c,
                                                struct xw_handle_error *err)
{
    static const char *const hashes[] = { "xw:env", NULL };

    return remove_field(p, c, hashes, pkg_str(c->v, "source_workspace"),
                        pkg_str(c->v, "name"), err);
}

enum xw_handle_result apply_objects(struct packager *p, struct command *c,
                                    struct xw_handle_error *err)
{
    const char *ws = pkg_str(c->v, "workspace_id");
    struct pkg_batch ha, hb;   /* the specs (Avro) and their submissions */
    int bad;
    xw_buf sub = XW_BUF_INIT;
    xw_avro_err ae;
    size_t n = 0;
    enum xw_handle_result r = XW_HANDLE_OK;

    if (c->seen)
        return XW_HANDLE_OK;
    xw_avro_array_size(c->v, "objects", &n);
    bad = pkg_batch_init(&ha, "HSET", NULL, XW_SPEC_NTD ":%s", ws) < 0;
    bad |= pkg_batch_init(&hb, "HSET", NULL, XW_SPEC_NTD_BY ":%s", ws) < 0;
    /* Every object of the command was submitted then, by its actor. */
    bad |= xw_spec_submission_write(&sub, c->occurred_at, c->actor) < 0;
    if (bad || tx_begin(p) < 0)
        goto redis;
    for (size_t i = 0; i < n; i++) {
        avro_value_t o;
        const char *id;
        size_t idlen;

        if (xw_avro_array_get(c->v, "objects", i, &o) < 0
            || xw_avro_encode_record(&o, &p->spec, &ae) < 0)
            goto redis;
        id = pkg_str(&o, "id");
        idlen = strlen(id);
        if (pkg_batch_add(p, &ha, 2, (const char *[]){ id, p->spec.data },
                          (size_t[]){ idlen, p->spec.len }) < 0
            || pkg_batch_add(p, &hb, 2, (const char *[]){ id, sub.data },
                             (size_t[]){ idlen, sub.len }) < 0)
            goto redis;
    }
    if (pkg_batch_flush(p, &ha) < 0 || pkg_batch_flush(p, &hb) < 0
        || tx_request_status(p, c, "done", json_pack("{s:I}", "objects",
                                                     (json_int_t)n), NULL) < 0
        || tx_commit_later(p, c) < 0)
        goto redis;
    goto out;
redis:
    pkg_discard(p);
    r = RETRY(err, "redis: %s", p->redis->errstr);
out:
    pkg_batch_release(&ha);
    pkg_batch_release(&hb);
    xw_buf_release(&sub);
    return r;
}

enum xw_handle_result apply_terminate(struct packager *p, struct command *c,
                                      struct xw_handle_error *err)
{
    static const char *const hashes[] = { XW_SPEC_NTD, XW_SPEC_NTD_BY, NULL };

    return remove_field(p, c, hashes, pkg_str(c->v, "workspace_id"),
                        pkg_str(c->v, "object_id"), err);
}

enum xw_handle_result apply_basket(struct packager *p, struct command *c,
                                   struct xw_handle_error *err)
{
    const char *ws = pkg_str(c->v, "workspace_id"), *user = pkg_str(c->v, "user");
    const char *op = "add";
    struct pkg_batch b;
    char score[24];
    size_t n = 0;
    int add;
    enum xw_handle_result r = XW_HANDLE_OK;

    if (c->seen)
        return XW_HANDLE_OK;
    xw_avro_get_enum(c->v, "op", &op);
    xw_avro_array_size(c->v, "object_ids", &n);
    add = strcmp(op, "add") == 0;
    snprintf(score, sizeof score, "%lld", (long long)c->occurred_at);
    /* One ZADD NX / ZREM per PKG_BATCH_ITEMS ids (same effect as one per
     * id: the members are applied in order, NX keeps the first score). */
    if (pkg_batch_init(&b, add ? "ZADD" : "ZREM", add ? "NX" : NULL,
                       "xw:basket:%s:%s", ws, user) < 0
        || tx_begin(p) < 0)
        goto redis;
    if (strcmp(op, "clear") == 0) {
        if (TX(p, "DEL xw:basket:%s:%s", ws, user) < 0)
            goto redis;
    }
    for (size_t i = 0; strcmp(op, "clear") != 0 && i < n; i++) {
        const char *id;
        size_t idlen;

        if (xw_avro_array_get_string(c->v, "object_ids", i, &id, NULL) < 0)
            goto redis;
        idlen = strlen(id);
        if (add ? pkg_batch_add(p, &b, 2, (const char *[]){ score, id },
                                (size_t[]){ strlen(score), idlen }) < 0
                : pkg_batch_add(p, &b, 1, (const char *[]){ id },
                                (size_t[]){ idlen }) < 0)
            goto redis;
    }
    if (pkg_batch_flush(p, &b) < 0
        || tx_request_status(p, c, "done", json_pack("{s:s, s:I}", "op", op,
                                                     "objects", (json_int_t)n),
                             NULL) < 0
        || tx_commit_later(p, c) < 0)
        goto redis;
    goto out;
redis:
    pkg_discard(p);
    r = RETRY(err, "redis: %s", p->redis->errstr);
out:
    pkg_batch_release(&b);
    return r;
}
