#include "result.h"

#include <stdio.h>
#include <string.h>

#include "xw_id.h"

/* Optional string: "" (no resource group, e.g. a resource file) is null. */
static int set_opt(avro_value_t *ev, const char *field, const char *s)
{
    return xw_avro_set_string(ev, field, s && *s ? s : NULL);
}

int dp_result_emit(struct dp_deployer *d, const struct dp_item *it,
                   int64_t now, char *err, size_t errlen)
{
    avro_value_t *ev = &d->result.value;
    int deployed = it->status != DP_FAILED;
    char id[XW_UUID_LEN + 1];
    xw_avro_err ae;
    int rc;

    xw_uuid_derive("deployer", it->event_id, 0, id);
    xw_avro_value_reset(&d->result);
    if ((rc = xw_avro_set_string(ev, "event_id", id)) < 0
        || (rc = xw_avro_set_long(ev, "occurred_at", now)) < 0
        || (rc = xw_avro_set_string(ev, "actor", it->actor)) < 0
        || (rc = xw_avro_set_string(ev, "correlation_id",
                                    it->correlation_id)) < 0
        || (rc = xw_avro_set_string(ev, "package_id", it->package_id)) < 0
        || (rc = xw_avro_set_int(ev, "attempt", it->attempt)) < 0
        || (rc = xw_avro_set_string(ev, "source_workspace", it->source_ws)) < 0
        || (rc = xw_avro_set_string(ev, "destination_workspace",
                                    it->dest_ws)) < 0
        || (rc = xw_avro_set_int(ev, "total", it->total)) < 0
        || (rc = xw_avro_set_string(ev, "object_id", it->obj_id)) < 0
        || (rc = xw_avro_set_string(ev, "object_name", it->obj_name)) < 0
        || (rc = xw_avro_set_enum(ev, "kind", it->kind)) < 0
        || (rc = xw_avro_set_long(ev, "version", it->version)) < 0
        || (rc = xw_avro_set_enum(ev, "outcome",
                                  deployed ? "deployed" : "failed")) < 0)
        goto build_failed;
    if (!deployed) {
        if ((rc = xw_avro_set_string(ev, "reason_code", it->reason_code)) < 0
            || (rc = xw_avro_set_string(ev, "reason", it->reason)) < 0)
            goto build_failed;
    } else if ((rc = set_opt(ev, "compute_resource", it->compute)) < 0
               || (rc = set_opt(ev, "resource_group", it->rgroup)) < 0
               || (rc = set_opt(ev, "owner", it->owner)) < 0
               || (it->has_effective
                   && ((rc = xw_avro_set_long(ev, "effective_at",
                                              it->effective_at)) < 0
                       || (rc = set_opt(ev, "effective_date",
                                        it->effective_date)) < 0
                       || (rc = set_opt(ev, "timing_rule",
                                        it->timing_rule)) < 0))
               || (it->has_replaced
                   && (rc = xw_avro_set_long(ev, "replaced_version",
                                             it->replaced_version)) < 0)) {
        goto build_failed;
    }
    if (xw_avro_encode(ev, &d->out, &ae) < 0) {
        snprintf(err, errlen, "encode ObjectResult: %s", ae.msg);
        return -1;
    }
    return xw_kafka_produce(d->svc->producer, XW_TOPIC_RESULTS, it->package_id,
                            strlen(it->package_id), d->out.data, d->out.len,
                            err, errlen);
build_failed:
    snprintf(err, errlen, "build ObjectResult: %s", xw_avro_strerror(rc));
    return -1;
}
