/* Status of accepted writes, and the scheduling-parameter preview. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "emit.h"
#include "routes.h"
#include "xw_id.h"
#include "xw_param.h"

/* The value of field `name` in an HGETALL reply, or NULL. */
static const char *field_of(const redisReply *rep, const char *name)
{
    for (size_t i = 0; i + 1 < rep->elements; i += 2)
        if (strcmp(rep->element[i]->str, name) == 0)
            return rep->element[i + 1]->str;
    return NULL;
}

/* sl_wait_for's check: reads the request into *(redisReply **)arg (a
 * BORROWED reply, valid until the next command on the worker); 1 once it
 * is final, unknown, or somebody else's (answered 404 at once, not after
 * the wait). */
static int read_request(struct sl_request *r, void *arg)
{
    redisReply **rep = arg;
    const char *status, *actor;

    *rep = xw_redis_command_idem(r->w->redis, "HGETALL xw:req:%s",
                                 r->params[0]);
    if (!*rep) {
        sl_reply_unavailable(r, "state store");
        return -1;
    }
    if ((*rep)->type != REDIS_REPLY_ARRAY || (*rep)->elements == 0)
        return 1;
    status = field_of(*rep, "status");
    actor = field_of(*rep, "actor");
    return (status && strcmp(status, "pending") != 0) || !actor
        || (strcmp(actor, r->user) != 0 && !r->is_system_admin);
}

/* One read, and one more per change while waiting (sl_wait_for): a
 * write's request is read twice, before and after the packager applies
 * it. */
void h_req_get(struct sl_request *r)
{
    struct sl_notify_wait w;
    long wait_ms;
    redisReply *rep = NULL;
    json_t *out;
    const char *actor = NULL;
    char key[96];
    int64_t deadline;
    int rc;

    if (sl_query_long(r, "wait_ms", 0, 0, SL_WAIT_MAX_MS, &wait_ms) < 0
        || !sl_worker_get(r))
        return;
    deadline = sl_wait_deadline(r, wait_ms);
    snprintf(key, sizeof key, "xw:req:%s", r->params[0]);
    sl_notify_wait_init(&w, key);
    sl_notify_arm(&w);
    if ((rc = read_request(r, &rep)) < 0
        || (rc == 0 && sl_wait_for(r, &w, deadline, read_request, &rep) < 0))
        return;
    out = json_object();
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        const char *k = rep->element[i]->str;
        redisReply *v = rep->element[i + 1];
        json_error_t je;
        json_t *j = NULL;

        if (strcmp(k, "actor") == 0)
            actor = v->str;
        if (v->len == 0)
            continue; /* no result / no error */
        if (strcmp(k, "result") == 0 || strcmp(k, "error") == 0)
            j = json_loadb(v->str, v->len, 0, &je);
        else if (strcmp(k, "created_at") == 0 || strcmp(k, "updated_at") == 0)
            j = json_integer(strtoll(v->str, NULL, 10));
        json_object_set_new(out, k, j ? j : json_stringn(v->str, v->len));
    }
    /* Only the caller who made the request (or a system admin) sees it;
     * anyone else gets the same 404 as for an unknown id. */
    if (!actor || (strcmp(actor, r->user) != 0 && !r->is_system_admin)) {
        json_decref(out);
        sl_reply_error(r, 404, "request", "not_found", "no such request");
        return;
    }
    json_object_set_new(out, "request_id", json_string(r->params[0]));
    sl_reply(r, 200, out);
}

/* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS" (also with a space). */
static int parse_civil(const char *s, struct xw_tz_civil *c, int with_time)
{
    int n = 0;

    memset(c, 0, sizeof *c);
    if (with_time) {
        if (sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &c->year, &c->month,
                   &c->day, &c->hour, &c->minute, &c->second, &n) != 6
            || s[n])
            return -1;
    } else if (sscanf(s, "%4d-%2d-%2d%n", &c->year, &c->month, &c->day, &n)
                   != 3 || s[n]) {
        return -1;
    }
    return xw_tz_civil_valid(c) ? 0 : -1;
}

void h_param_resolve(struct sl_request *r)
{
    static const char *const allowed[] = { "expression", "bizdate", "cyctime",
                                           NULL };
    const char *expr, *biz, *cyc;
    struct xw_param_context ctx;
    struct xw_param_error pe;
    char value[XW_PARAM_VALUE_MAX + 1];
    int is_constant = 0;
    xw_json_err e;
    json_t *body;

    if (!(body = sl_body_object(r)))
        return;
    if (xw_json_check_keys(body, allowed, &e) < 0
        || xw_json_get_string(body, "expression", 1, XW_PARAM_VALUE_MAX,
                              XW_JSON_REQUIRED, &expr, NULL, &e) < 0
        || xw_json_get_string(body, "bizdate", 10, 10, XW_JSON_REQUIRED, &biz,
                              NULL, &e) < 0
        || xw_json_get_string(body, "cyctime", 19, 19, XW_JSON_REQUIRED, &cyc,
                              NULL, &e) < 0) {
        sl_reply_json_err(r, &e);
        goto out;
    }
    memset(&ctx, 0, sizeof ctx);
    if (parse_civil(biz, &ctx.bizdate, 0) < 0) {
        sl_reply_error(r, 400, "bizdate", "format", "expected YYYY-MM-DD");
        goto out;
    }
    if (parse_civil(cyc, &ctx.cyctime, 1) < 0) {
        sl_reply_error(r, 400, "cyctime", "format",
                       "expected YYYY-MM-DDTHH:MM:SS");
        goto out;
    }
    if (xw_param_validate(expr, &is_constant, &pe) < 0
        || xw_param_resolve(expr, &ctx, value, sizeof value, &pe) < 0) {
        sl_reply_error(r, 422, "expression", pe.code, "%s (at byte %zu)",
                       pe.message, pe.offset);
        goto out;
    }
    sl_reply(r, 200, json_pack("{s:s, s:s, s:b}", "expression", expr, "value",
                               value, "constant", is_constant));
out:
    json_decref(body);
}
