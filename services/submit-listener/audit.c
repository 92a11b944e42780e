/* The audit trail: every write the API answers — accepted or refused — as
 * an AuditRecorded event on xw.audit (the result-reporter projects it into
 * xw:audit and xw:audit:{ws}), and GET /v1/audit to read it back.
 *
 * Produced without waiting: the answer is not held up by the audit, and a
 * delivery failure is logged by the producer's delivery callback. An
 * accepted request's audit id is derived from its request id, so a client
 * retrying with the same Idempotency-Key leaves one record per answer. */
#include <stdio.h>
#include <string.h>

#include "access.h"
#include "emit.h"
#include "routes.h"
#include "xw_id.h"
#include "xw_log.h"

void sl_audit(struct sl_request *r)
{
    const xw_avro_type *t;
    char id[XW_UUID_LEN + 1], err[256];
    const char *ws = NULL, *outcome;
    xw_avro_value *v;
    xw_avro_err ae;
    int i;

    if (!r->user || strcmp(r->method, "GET") == 0
        || (!r->w && !sl_worker_get(r)))
        return;
    t = xw_avro_type_find(r->svc->avro, "AuditRecorded");
    for (i = 0; t && i < SL_EVENT_TYPES; i++)
        if (xw_avro_registry_type(r->svc->avro, (size_t)i) == t)
            break;
    if (!t || i == SL_EVENT_TYPES)
        return;
    v = &r->w->values[i];
    if (!v->type ? xw_avro_value_init(v, t) < 0 : (xw_avro_value_reset(v), 0))
        return;
    if (r->request_id[0] && r->status == 202)
        xw_uuid_derive("audit", r->request_id, 0, id);
    else if (xw_uuid_v4(id) < 0)
        return;
    if (strncmp(r->path, "/v1/workspaces/", 15) == 0 && r->params[0][0])
        ws = r->params[0];
    outcome = r->status < 300 ? "accepted"
              : r->status == 401 || r->status == 403 ? "refused"
              : r->status < 500 ? "invalid" : "failed";
    if (xw_avro_set_string(&v->value, "event_id", id) < 0
        || xw_avro_set_long(&v->value, "occurred_at", xw_now_ms()) < 0
        || xw_avro_set_string(&v->value, "actor", r->user) < 0
        || xw_avro_set_string(&v->value, "correlation_id",
                              r->request_id[0] ? r->request_id : id) < 0
        || xw_avro_set_string(&v->value, "request_id", r->request_id) < 0
        || xw_avro_set_string(&v->value, "method", r->method) < 0
        || xw_avro_set_string(&v->value, "path", r->path) < 0
        || xw_avro_set_string(&v->value, "workspace", ws) < 0
        || xw_avro_set_int(&v->value, "status", (int32_t)r->status) < 0
        || xw_avro_set_string(&v->value, "outcome", outcome) < 0
        || xw_avro_encode(&v->value, &r->w->scratch, &ae) < 0) {
        xw_warn("AUDT", "audit record of %s %s not built", r->method, r->path);
        return;
    }
    if (xw_kafka_produce(r->svc->producer, XW_TOPIC_AUDIT, ws ? ws : "-",
                         ws ? strlen(ws) : 1, r->w->scratch.data,
                         r->w->scratch.len, err, sizeof err) < 0)
        xw_warn("AUDT", "audit record not queued: %s", err);
}

/* GET /v1/audit[?workspace=WS]: a system administrator reads everything;
 * a workspace's administrators read their workspace's trail. */
void h_audit_list(struct sl_request *r)
{
    const char *ws = sl_query(r, "workspace");
    char key[96];
    long offset, limit;
    redisReply *reps[2] = { NULL, NULL };
    json_t *items;

    if (sl_paging(r, &offset, &limit) < 0 || !sl_worker_get(r))
        return;
    if (ws && !xw_id_valid(ws, strlen(ws), SL_ID_MAX)) {
        sl_reply_error(r, 400, "workspace", "id", "not a workspace id");
        return;
    }
    if (!r->is_system_admin) {
        unsigned roles = 0;
        int rc;

        if (!ws) {
            sl_reply_error(r, 403, "workspace", "permission",
                           "name a workspace you administer, or use a system "
                           "administrator token for the whole trail");
            return;
        }
        if ((rc = sl_roles(r, ws, &roles)) < 0)
            return;
        if (!(roles & XW_ROLE_ADMIN)) {
            sl_reply_error(r, 403, "workspace", "permission",
                           "the audit trail of '%s' is for its Workspace "
                           "Administrators", ws);
            return;
        }
    }
    snprintf(key, sizeof key, ws ? "xw:audit:%s" : "xw:audit", ws);
    if (xw_redis_append(r->w->redis, "LLEN %s", key) < 0
        || xw_redis_append(r->w->redis, "LRANGE %s %ld %ld", key, offset,
                           offset + limit - 1) < 0
        || xw_redis_pipeline_exec(r->w->redis, reps, 2) < 0) {
        sl_reply_unavailable(r, "state store");
        return;
    }
    items = json_array();
    for (size_t i = 0; i < reps[1]->elements; i++) {
        json_error_t je;
        json_t *j = json_loadb(reps[1]->element[i]->str,
                               reps[1]->element[i]->len, 0, &je);
        if (j)
            json_array_append_new(items, j);
    }
    sl_reply(r, 200, json_pack("{s:o, s:I, s:i, s:i}", "items", items, "total",
                               (json_int_t)reps[0]->integer, "offset",
                               (int)offset, "limit", (int)limit));
    xw_redis_replies_free(reps, 2);
}
