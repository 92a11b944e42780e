#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xw_id.h"

struct route {
    const char *method;
    const char *pattern;   /* "{}" matches one id segment */
    void (*handler)(struct sl_request *r);
};

static const struct route routes[] = {
    { "PUT",    "/v1/workspaces/{}", h_ws_put },
    { "GET",    "/v1/workspaces/{}", h_ws_get },
    { "GET",    "/v1/workspaces/{}/environment-info", h_ws_info },
    { "POST",   "/v1/workspaces/{}/environments", h_env_create },
    { "GET",    "/v1/workspaces/{}/environments", h_env_list },
    { "GET",    "/v1/workspaces/{}/environments/{}", h_env_get },
    { "PUT",    "/v1/workspaces/{}/environments/{}", h_env_update },
    { "DELETE", "/v1/workspaces/{}/environments/{}", h_env_delete },
    { "POST",   "/v1/workspaces/{}/production", h_prod_deploy },
    { "DELETE", "/v1/workspaces/{}/production/{}", h_prod_terminate },
    { "GET",    "/v1/workspaces/{}/nodes-to-deploy", h_ntd_list },
    { "GET",    "/v1/workspaces/{}/basket", h_basket_get },
    { "POST",   "/v1/workspaces/{}/basket", h_basket_add },
    { "DELETE", "/v1/workspaces/{}/basket", h_basket_clear },
    { "DELETE", "/v1/workspaces/{}/basket/{}", h_basket_remove },
    { "POST",   "/v1/workspaces/{}/packages", h_pkg_create },
    { "GET",    "/v1/workspaces/{}/packages", h_pkg_list },
    { "GET",    "/v1/workspaces/{}/deployed-objects", h_deployed_list },
    { "GET",    "/v1/packages/{}", h_pkg_get },
    { "POST",   "/v1/packages/{}/deploy", h_pkg_deploy },
    { "POST",   "/v1/packages/{}/replay", h_pkg_replay },
    { "GET",    "/v1/requests/{}", h_req_get },
    { "POST",   "/v1/parameters/resolve", h_param_resolve },
    { "GET",    "/v1/dlq", h_dlq_list },
    { "GET",    "/v1/audit", h_audit_list },
    { "POST",   "/v1/dlq/{}/replay", h_dlq_replay },
    { "POST",   "/v1/webhooks", h_wh_create },
    { "GET",    "/v1/webhooks", h_wh_list },
    { "GET",    "/v1/webhooks/{}", h_wh_get },
    { "PUT",    "/v1/webhooks/{}", h_wh_update },
    { "DELETE", "/v1/webhooks/{}", h_wh_delete },
    { "POST",   "/v1/webhooks/{}/pause", h_wh_pause },
    { "POST",   "/v1/webhooks/{}/resume", h_wh_resume },
    { "GET",    "/v1/webhooks/{}/deliveries", h_wh_deliveries },
    { "POST",   "/v1/webhooks/{}/deliveries/{}/redeliver", h_wh_redeliver },
};

/* Matches path against pattern; fills params. 1 match, 0 no match, -1
 * the shape matches but a parameter is not a valid id (bad). */
static int match(const char *pattern, const char *path,
                 char params[SL_MAX_PARAMS][SL_ID_MAX + 1], int *bad_index)
{
    int np = 0, bad = 0;

    while (*pattern && *path) {
        if (pattern[0] == '{' && pattern[1] == '}') {
            size_t len = strcspn(path, "/");

            if (np == SL_MAX_PARAMS)
                return 0;
            if (!xw_id_valid(path, len, SL_ID_MAX)) {
                if (!bad)
                    *bad_index = np;
                bad = 1;
            } else {
                memcpy(params[np], path, len);
                params[np][len] = '\0';
            }
            np++;
            path += len;
            pattern += 2;
            continue;
        }
        if (*pattern != *path)
            return 0;
        pattern++;
        path++;
    }
    if (*pattern || (*path && strcmp(path, "/") != 0))
        return 0;
    return bad ? -1 : 1;
}

void sl_route(struct sl_request *r)
{
    int path_known = 0;

    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        int bad = 0, m = match(routes[i].pattern, r->path, r->params, &bad);

        if (m == 0)
            continue;
        path_known = 1;
        if (strcmp(routes[i].method, r->method) != 0)
            continue;
        if (m < 0) {
            sl_reply_error(r, 400, "path", "id",
                           "path parameter %d must be 1..%d characters of "
                           "[A-Za-z0-9._:@-]", bad + 1, SL_ID_MAX);
            return;
        }
        routes[i].handler(r);
        return;
    }
    if (path_known)
        sl_reply_error(r, 405, "method", "method",
                       "%s is not allowed on this path", r->method);
    else
        sl_reply_error(r, 404, "path", "not_found", "no such endpoint");
}

int sl_query_long(struct sl_request *r, const char *name, long def,
                  long min, long max, long *out)
{
    const char *v = sl_query(r, name);
    char *end;
    long x;

    if (!v || !*v) {
        *out = def;
        return 0;
    }
    x = strtol(v, &end, 10);
    if (*end || x < min || x > max) {
        sl_reply_error(r, 400, name, "range", "must be an integer %ld..%ld",
                       min, max);
        return -1;
    }
    *out = x;
    return 0;
}

int sl_paging(struct sl_request *r, long *offset, long *limit)
{
    if (sl_query_long(r, "offset", 0, 0, 100000000, offset) < 0
        || sl_query_long(r, "limit", 50, 1, 1000, limit) < 0)
        return -1;
    return 0;
}

int sl_query_bool(struct sl_request *r, const char *name, int def, int *out)
{
    const char *v = sl_query(r, name);

    if (!v || !*v)
        *out = def;
    else if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
        *out = 1;
    else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        *out = 0;
    else {
        sl_reply_error(r, 400, name, "boolean", "must be true or false");
        return -1;
    }
    return 0;
}
