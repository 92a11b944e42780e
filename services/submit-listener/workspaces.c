/* Workspaces: registration (system admins) and reads. */
#include <string.h>

#include "access.h"
#include "emit.h"
#include "routes.h"
#include "xw_tz.h"

void h_ws_put(struct sl_request *r)
{
    const char *ws = r->params[0];
    struct xw_model_ws m;
    const struct xw_tz *tz;
    xw_json_err e;
    json_t *body = NULL, *id;
    avro_value_t *ev;

    if (!r->is_system_admin) {
        sl_reply_error(r, 403, "", "permission",
                       "registering a workspace needs a system administrator "
                       "token (XW_SYSTEM_ADMINS)");
        return;
    }
    if (sl_request_id(r) < 0 || !(body = sl_body_object(r)))
        goto out;
    id = json_object_get(body, "id");
    if (!id)
        json_object_set_new(body, "id", json_string(ws));
    else if (!json_is_string(id) || strcmp(json_string_value(id), ws) != 0) {
        sl_reply_error(r, 400, "id", "mismatch",
                       "the body's id must equal the path's workspace id");
        goto out;
    }
    if (xw_model_ws_from_json(&m, body, &e) < 0) {
        sl_reply_json_err(r, &e);
        goto out;
    }
    if (xw_tz_get(m.ws.tz, &tz) != 0) {
        sl_reply_error(r, 400, "timezone", "timezone",
                       "'%s' is not a known IANA time zone", m.ws.tz);
        xw_model_ws_release(&m);
        goto out;
    }
    xw_model_ws_release(&m);
    /* Only the body could refuse it: the Idempotency-Key's answer and
     * the pending mark in one round trip. */
    if (!(ev = sl_event(r, "WorkspaceUpserted"))
        || sl_fill(r, ev, "workspace", body) < 0
        || sl_request_begin_marked(r) != 0)
        goto out;
    sl_accept(r, ev, XW_TOPIC_COMMANDS, ws, NULL);
out:
    json_decref(body);
}

/* A member of the workspace (or a system admin) may read it. */
static json_t *readable_workspace(struct sl_request *r)
{
    unsigned roles;
    int rc;

    if (!r->is_system_admin) {
        rc = sl_roles(r, r->params[0], &roles);
        if (rc < 0)
            return NULL;
        if (rc == 0 || roles == 0) {
            /* Unknown: 404; known but not yours: 403 (workspace ids are
             * not secret; their contents are). */
            sl_reply_error(r, rc == 0 ? 404 : 403, "workspace",
                           rc == 0 ? "not_found" : "permission",
                           rc == 0 ? "workspace '%s' is not registered"
                                   : "you are not a member of workspace '%s'",
                           r->params[0]);
            return NULL;
        }
    }
    return sl_load_workspace(r, r->params[0]);
}

void h_ws_get(struct sl_request *r)
{
    json_t *ws = readable_workspace(r);

    if (ws)
        sl_reply(r, 200, ws);
}

void h_ws_info(struct sl_request *r)
{
    static const char *const fields[] = { "id", "mode", "datastudio",
        "timezone", "compute_resources", "resource_groups", "data_sources",
        "projects" };
    json_t *ws = readable_workspace(r), *info;

    if (!ws)
        return;
    info = json_object();
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *v = json_object_get(ws, fields[i]);

        if (v)
            json_object_set(info, fields[i], v);
    }
    json_decref(ws);
    sl_reply(r, 200, info);
}
