/* Append-only trails, each event once (the AUDIT script's
 * xw:seen:reporter:{event_id} marker is set in the same script):
 *   - the audit trail: AuditRecorded into the capped lists xw:audit and
 *     xw:audit:{ws} (newest first);
 *   - the dead letters: DeadLetter into the capped list xw:dlq, which the
 *     API lists and replays from (xwdeploy dlq list / replay). */
#include <stdio.h>
#include <string.h>

#include "reporter.h"
#include "xw_avro_json.h"
#include "xw_id.h"

#define DLQ_MAX 10000

/* Queues "append the event's JSON to lists[0..n) once". */
static enum xw_handle_result append_once(struct reporter *r,
                                         const avro_value_t *v,
                                         const char *const *lists, int n,
                                         long long cap,
                                         struct xw_handle_error *err)
{
    struct rep_cmds *l = &r->main;
    const char *eid;
    size_t eid_len;
    int rc;

    if (rep_get_id(v, "event_id", &eid, &eid_len, err) < 0)
        return XW_HANDLE_POISON;
    rc = rep_cmd_script(r, l, REP_OP_AUDIT, REP_LUA_AUDIT, 1 + n) < 0
         || rep_argf(r, l, "xw:seen:reporter:%s", eid) < 0;
    for (int i = 0; !rc && i < n; i++)
        rc = rep_arg(r, l, lists[i], strlen(lists[i])) < 0;
    rc = rc || rep_argf(r, l, "%lld", r->dedupe_ttl_s) < 0
         || rep_arg_avro(r, l, v) < 0
         || rep_argf(r, l, "%lld", cap) < 0;
    return rc ? XW_HANDLE_RETRY : XW_HANDLE_OK;
}

enum xw_handle_result rep_audit_queue(struct reporter *r,
                                      const avro_value_t *v,
                                      struct xw_handle_error *err)
{
    const char *ws = NULL;
    size_t ws_len = 0;
    char wskey[96];
    const char *lists[2] = { "xw:audit", wskey };
    int rc = xw_avro_get_string(v, "workspace", &ws, &ws_len);

    if (rc < 0)
        return xw_handle_fail(err, XW_HANDLE_POISON, "invalid_event",
                              "workspace: %s", xw_avro_strerror(rc));
    if (rc == XW_AVRO_ABSENT || ws_len == 0)
        ws = NULL;
    else if (!xw_id_valid(ws, ws_len, REP_ID_MAX))
        return xw_handle_fail(err, XW_HANDLE_POISON, "invalid_id",
                              "workspace is not an id");
    if (ws)
        snprintf(wskey, sizeof wskey, "xw:audit:%.*s", (int)ws_len, ws);
    return append_once(r, v, lists, ws ? 2 : 1, r->audit_max, err);
}

enum xw_handle_result rep_dlq_queue(struct reporter *r, const avro_value_t *v,
                                    struct xw_handle_error *err)
{
    static const char *const lists[1] = { "xw:dlq" };

    return append_once(r, v, lists, 1, DLQ_MAX, err);
}
