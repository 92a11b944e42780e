/* The audit trail: AuditRecorded into the capped lists xw:audit and
 * xw:audit:{ws} (newest first), once per event id (the AUDIT script's
 * xw:seen:reporter:{event_id} marker, set in the same script). */
#include <stdio.h>
#include <string.h>

#include "reporter.h"
#include "xw_avro_json.h"
#include "xw_id.h"

enum xw_handle_result rep_audit_queue(struct reporter *r,
                                      const avro_value_t *v,
                                      struct xw_handle_error *err)
{
    struct rep_cmds *l = &r->main;
    const char *eid, *ws = NULL;
    size_t eid_len, ws_len = 0;
    json_t *j;
    int rc;

    if (rep_get_id(v, "event_id", &eid, &eid_len, err) < 0)
        return XW_HANDLE_POISON;
    rc = xw_avro_get_string(v, "workspace", &ws, &ws_len);
    if (rc < 0)
        return rep_poison(err, "invalid_event", "workspace: %s",
                          xw_avro_strerror(rc));
    if (rc == XW_AVRO_ABSENT || ws_len == 0)
        ws = NULL;
    else if (!xw_id_valid(ws, ws_len, REP_ID_MAX))
        return rep_poison(err, "invalid_id", "workspace is not an id");
    if (!(j = xw_avro_to_json(v)))
        return XW_HANDLE_RETRY;
    rc = rep_cmd_script(r, l, REP_OP_AUDIT, REP_LUA_AUDIT, ws ? 3 : 2) < 0
         || rep_argf(r, l, "xw:seen:reporter:%s", eid) < 0
         || rep_arg(r, l, "xw:audit", 8) < 0
         || (ws && rep_argf(r, l, "xw:audit:%s", ws) < 0)
         || rep_argf(r, l, "%lld", r->dedupe_ttl_s) < 0
         || rep_arg_json(r, l, j) < 0
         || rep_argf(r, l, "%lld", r->audit_max) < 0;
    json_decref(j);
    return rc ? XW_HANDLE_RETRY : XW_HANDLE_OK;
}
