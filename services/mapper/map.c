#include "map.h"

#include <stdio.h>
#include <string.h>

#include "xw_id.h"
#include "xw_log.h"
#include "xw_metrics.h"

XW_COUNTER(m_chunks, "xw_mapper_chunks_total", "DeployStarted chunks mapped");
XW_COUNTER(m_mapped, "xw_mapper_objects_mapped_total",
           "objects mapped (ObjectMapped emitted)");
XW_COUNTER(m_excluded, "xw_mapper_objects_excluded_total",
           "objects excluded (compute resource ignored)");
XW_COUNTER(m_failed, "xw_mapper_objects_failed_total",
           "objects that could not be mapped (ObjectResult failed emitted)");

void mp_mapper_register_metrics(void)
{
    xw_metrics_register(&m_chunks);
    xw_metrics_register(&m_mapped);
    xw_metrics_register(&m_excluded);
    xw_metrics_register(&m_failed);
    mp_cache_register_metrics();
}

/* The DeployStarted fields every event of the chunk carries; all borrowed
 * from the decoded event (valid while the handler runs). */
struct chunk {
    const char *event_id;
    const char *correlation_id;
    const char *package_id;
    const char *source_ws;
    const char *dest_ws;
    const char *environment;
    size_t environment_len;
    const char *creator;
    const char *executor;
    const char *rg_override;   /* NULL: none */
    int32_t attempt;
    int32_t total;
    int64_t deploy_at;
    int64_t now;               /* occurred_at of what we emit */
};

int mp_mapper_init(struct mp_mapper *m, struct xw_service *svc, xw_redis *r,
                   size_t cache_size)
{
    const xw_avro_type *ds = xw_avro_type_find(svc->avro, "DeployStarted");
    const xw_avro_type *om = xw_avro_type_find(svc->avro, "ObjectMapped");
    const xw_avro_type *res = xw_avro_type_find(svc->avro, "ObjectResult");

    memset(m, 0, sizeof *m);
    m->svc = svc;
    m->redis = r;
    xw_buf_init(&m->out, 0);
    if (!ds || !om || !res) {
        xw_error("INIT", "schemas DeployStarted, ObjectMapped, ObjectResult "
                 "must be registered");
        return -1;
    }
    m->cache = mp_cache_new(cache_size);
    if (!m->cache || xw_avro_value_init(&m->in, ds) < 0
        || xw_avro_value_init(&m->mapped, om) < 0
        || xw_avro_value_init(&m->result, res) < 0) {
        xw_error("INIT", "out of memory");
        mp_mapper_release(m);
        return -1;
    }
    return 0;
}

void mp_mapper_release(struct mp_mapper *m)
{
    mp_cache_free(m->cache);
    m->cache = NULL;
    xw_avro_value_release(&m->in);
    xw_avro_value_release(&m->mapped);
    xw_avro_value_release(&m->result);
    xw_buf_release(&m->out);
}

/* Building an event failed: out of memory passes (retry); anything else
 * is an event this input cannot produce (dead letter, replayable). */
static enum xw_handle_result build_failed(int rc, const char *what,
                                          struct xw_handle_error *err)
{
    if (rc == XW_AVRO_ENOMEM) {
        return xw_handle_fail(err, XW_HANDLE_RETRY, "out_of_memory",
                              "building %s", what);
    }
    return xw_handle_fail(err, XW_HANDLE_POISON, "event_build",
                          "building %s: %s", what, xw_avro_strerror(rc));
}

/* A string field that must hold a usable id (it becomes part of keys and
 * of derived ids downstream). */
static int get_id(const avro_value_t *v, const char *field, const char **out,
                  struct xw_handle_error *err)
{
    size_t len;

    if (xw_avro_get_string(v, field, out, &len) != 0
        || !xw_id_valid(*out, len, XW_ID_MAX)) {
        xw_handle_fail(err, XW_HANDLE_POISON, "invalid_id",
                       "DeployStarted.%s is not a valid id", field);
        return -1;
    }
    return 0;
}

static int read_chunk(const avro_value_t *v, struct chunk *c,
                      struct xw_handle_error *err)
{
    size_t len;
    int rc;

    memset(c, 0, sizeof *c);
    if (get_id(v, "event_id", &c->event_id, err) < 0
        || get_id(v, "package_id", &c->package_id, err) < 0
        || get_id(v, "source_workspace", &c->source_ws, err) < 0
        || get_id(v, "destination_workspace", &c->dest_ws, err) < 0)
        return -1;
    if (xw_avro_get_string(v, "correlation_id", &c->correlation_id, NULL) < 0
        || xw_avro_get_string(v, "environment", &c->environment, &len) < 0
        || xw_avro_get_string(v, "creator", &c->creator, NULL) < 0
        || xw_avro_get_string(v, "executor", &c->executor, NULL) < 0
        || xw_avro_get_int(v, "attempt", &c->attempt) < 0
        || xw_avro_get_int(v, "total", &c->total) < 0
        || xw_avro_get_long(v, "deploy_at", &c->deploy_at) < 0
        || (rc = xw_avro_get_string(v, "resource_group_override",
                                    &c->rg_override, NULL)) < 0) {
        xw_handle_fail(err, XW_HANDLE_POISON, "bad_event",
                       "DeployStarted is missing a field");
        return -1;
    }
    c->environment_len = len;
    if (len == 0 || len > XW_NAME_MAX) {
        xw_handle_fail(err, XW_HANDLE_POISON, "bad_event",
                       "DeployStarted.environment must be 1..%d bytes",
                       XW_NAME_MAX);
        return -1;
    }
    if (rc == XW_AVRO_ABSENT)
        c->rg_override = NULL;
    c->now = xw_now_ms();
    return 0;
}

/* The envelope and package fields ObjectMapped and ObjectResult share. */
static int set_common(avro_value_t *ev, const struct chunk *c, const char *id)
{
    int rc;

    if ((rc = xw_avro_set_string(ev, "event_id", id)) < 0
        || (rc = xw_avro_set_long(ev, "occurred_at", c->now)) < 0
        || (rc = xw_avro_set_string(ev, "actor", c->executor)) < 0
        || (rc = xw_avro_set_string(ev, "correlation_id",
                                    c->correlation_id)) < 0
        || (rc = xw_avro_set_string(ev, "package_id", c->package_id)) < 0
        || (rc = xw_avro_set_int(ev, "attempt", c->attempt)) < 0
        || (rc = xw_avro_set_string(ev, "source_workspace", c->source_ws)) < 0
        || (rc = xw_avro_set_string(ev, "destination_workspace",
                                    c->dest_ws)) < 0
        || (rc = xw_avro_set_int(ev, "total", c->total)) < 0)
        return rc;
    return 0;
}

/* Encodes ev into m->out and queues it (the producer copies it). */
static enum xw_handle_result emit(struct mp_mapper *m, xw_avro_value *ev,
                                  enum xw_topic topic, const struct chunk *c,
                                  struct xw_handle_error *err)
{
    xw_avro_err ae;

    if (xw_avro_encode(&ev->value, &m->out, &ae) < 0)
        return build_failed(ae.code, ev->type->short_name, err);
    if (xw_kafka_produce(m->svc->producer, topic, c->package_id,
                         strlen(c->package_id), m->out.data, m->out.len,
                         err->reason, sizeof err->reason) < 0) {
        snprintf(err->code, sizeof err->code, "produce");
        return XW_HANDLE_RETRY;
    }
    return XW_HANDLE_OK;
}

static enum xw_handle_result emit_mapped(struct mp_mapper *m,
                                         const struct chunk *c, const char *id,
                                         const struct xw_mapped *mo,
                                         struct xw_handle_error *err)
{
    avro_value_t *ev = &m->mapped.value, obj;
    int rc;

    xw_avro_value_reset(&m->mapped);
    if ((rc = set_common(ev, c, id)) < 0
        || (rc = xw_avro_set_long(ev, "deploy_at", c->deploy_at)) < 0
        || (rc = xw_avro_set_record(ev, "object", &obj)) < 0
        || (rc = xw_model_mapped_to_avro(mo, &obj)) < 0)
        return build_failed(rc, "ObjectMapped", err);
    return emit(m, &m->mapped, XW_TOPIC_MAPPED, c, err);
}

/* An excluded or failed object: its identity comes from the ObjectSpec as
 * it was frozen (the rules may not have got far enough to copy it). */
static enum xw_handle_result emit_result(struct mp_mapper *m,
                                         const struct chunk *c, const char *id,
                                         const avro_value_t *spec,
                                         const char *outcome, const char *code,
                                         const char *reason,
                                         struct xw_handle_error *err)
{
    avro_value_t *ev = &m->result.value;
    const char *obj_id, *name, *kind;
    int64_t version;
    int rc;

    xw_avro_value_reset(&m->result);
    if ((rc = xw_avro_get_string(spec, "id", &obj_id, NULL)) < 0
        || (rc = xw_avro_get_string(spec, "name", &name, NULL)) < 0
        || (rc = xw_avro_get_enum(spec, "kind", &kind)) < 0
        || (rc = xw_avro_get_long(spec, "version", &version)) < 0
        || (rc = set_common(ev, c, id)) < 0
        || (rc = xw_avro_set_string(ev, "object_id", obj_id)) < 0
        || (rc = xw_avro_set_string(ev, "object_name", name)) < 0
        || (rc = xw_avro_set_enum(ev, "kind", kind)) < 0
        || (rc = xw_avro_set_long(ev, "version", version)) < 0
        || (rc = xw_avro_set_enum(ev, "outcome", outcome)) < 0
        || (rc = xw_avro_set_string(ev, "reason_code", code)) < 0
        || (rc = xw_avro_set_string(ev, "reason", reason)) < 0)
        return build_failed(rc, "ObjectResult", err);
    return emit(m, &m->result, XW_TOPIC_RESULTS, c, err);
}

/* Maps one object and emits its event. The outcome's counter moves once
 * the event is queued (a rewound batch counts its objects again: counters
 * count work done; the results topic is what counts objects). */
static enum xw_handle_result map_one(struct mp_mapper *m,
                                     const struct chunk *c,
                                     const struct mp_context *cx,
                                     const avro_value_t *spec, const char *id,
                                     struct xw_handle_error *err)
{
    struct xw_map_request req = { c->creator, c->executor, c->rg_override };
    struct xw_model_obj obj;
    struct xw_mapped mo;
    struct xw_metric *counter = &m_failed;
    xw_json_err je;
    char reason[XW_FINDING_MSG_MAX];
    enum xw_handle_result r;

    if (cx->fail_code) {
        r = emit_result(m, c, id, spec, "failed", cx->fail_code,
                        cx->fail_reason, err);
        goto out;
    }
    if (xw_model_obj_from_avro(&obj, spec, &je) < 0) {
        if (je.http_status >= 500) {
            return xw_handle_fail(err, XW_HANDLE_RETRY, "out_of_memory", "%s",
                                  je.message);
        }
        snprintf(reason, sizeof reason, "the object is invalid: %.100s: %.240s",
                 je.field, je.message);
        r = emit_result(m, c, id, spec, "failed", XW_R_OBJECT_INVALID, reason,
                        err);
        goto out;
    }
    switch (xw_rules_map_object(&cx->env.env, &cx->src.ws, &cx->dst.ws,
                                &obj.obj, &req, &mo, NULL)) {
    case XW_MAP_MAPPED:
        counter = &m_mapped;
        r = emit_mapped(m, c, id, &mo, err);
        break;
    case XW_MAP_EXCLUDED:
        counter = &m_excluded;
        r = emit_result(m, c, id, spec, "excluded", mo.code, mo.reason, err);
        break;
    default:
        r = emit_result(m, c, id, spec, "failed",
                        mo.code ? mo.code : XW_R_OBJECT_INVALID, mo.reason,
                        err);
        break;
    }
    xw_rules_mapped_release(&mo);
    xw_model_obj_release(&obj);
out:
    if (r == XW_HANDLE_OK)
        xw_metrics_add(counter, 1);
    return r;
}

enum xw_handle_result mp_mapper_handle(void *ctx, const rd_kafka_message_t *msg,
                                       struct xw_handle_error *err)
{
    struct mp_mapper *m = ctx;
    const avro_value_t *ev = &m->in.value;
    const struct mp_context *cx;
    struct chunk c;
    struct mp_key k;
    char id[XW_UUID_LEN + 1];
    xw_avro_err ae;
    size_t n;

    if (xw_avro_decode_into(m->svc->avro, &m->in, msg->payload, msg->len,
                            &ae) < 0)
        return xw_handle_fail(err, XW_HANDLE_POISON,
                              ae.code == XW_AVRO_ETYPE ? "wrong_type"
                                                       : "undecodable",
                              "not a DeployStarted: %s", ae.msg);
    if (read_chunk(ev, &c, err) < 0)
        return XW_HANDLE_POISON;
    if (xw_avro_array_size(ev, "objects", &n) < 0)
        return xw_handle_fail(err, XW_HANDLE_POISON, "bad_event",
                              "DeployStarted has no objects");
    k = (struct mp_key){ c.package_id, c.attempt, c.source_ws, c.dest_ws,
                         c.environment, c.environment_len };
    if (mp_cache_get(m->cache, m->redis, &k, &cx, err) < 0)
        return XW_HANDLE_RETRY;
    if (cx->fail_code)
        xw_warn("MAP", "package %s attempt %d: every object fails: %s: %s",
                c.package_id, (int)c.attempt, cx->fail_code, cx->fail_reason);
    for (size_t i = 0; i < n; i++) {
        avro_value_t spec;
        enum xw_handle_result r;

        if (xw_avro_array_get(ev, "objects", i, &spec) < 0)
            return xw_handle_fail(err, XW_HANDLE_POISON, "bad_event",
                                  "objects[%zu] unreadable", i);
        xw_uuid_derive("mapper", c.event_id, (long)i, id);
        r = map_one(m, &c, cx, &spec, id, err);
        if (r != XW_HANDLE_OK)
            return r;
    }
    xw_metrics_add(&m_chunks, 1);
    xw_debug("MAP", "package %s attempt %d: %zu object(s) mapped",
             c.package_id, (int)c.attempt, n);
    return XW_HANDLE_OK;
}
