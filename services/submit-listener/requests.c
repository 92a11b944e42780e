/* Status of accepted writes, and the scheduling-parameter preview. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "emit.h"
#include "routes.h"
#include "xw_id.h"
#include "xw_param.h"

#define WAIT_MAX_MS 30000

static int is_final(redisReply *rep)
{
    for (size_t i = 0; i + 1 < rep->elements; i += 2)
        if (strcmp(rep->element[i]->str, "status") == 0)
            return strcmp(rep->element[i + 1]->str, "pending") != 0;
    return 0;
}

void h_req_get(struct sl_request *r)
{
    const char *w = sl_query(r, "wait_ms");
    char *end = NULL;
    long wait_ms = w ? strtol(w, &end, 10) : 0;
    int64_t deadline;
    redisReply *rep;
    json_t *out;
    const char *actor = NULL;

    if (wait_ms < 0 || wait_ms > WAIT_MAX_MS || (w && (end == w || *end))) {
        sl_reply_error(r, 400, "wait_ms", "range", "must be 0..%d",
                       WAIT_MAX_MS);
        return;
    }
    if (!sl_worker_get(r))
        return;
    deadline = xw_mono_ms() + wait_ms;
    for (;;) {
        rep = xw_redis_command_idem(r->w->redis, "HGETALL xw:req:%s",
                                    r->params[0]);
        if (!rep) {
            sl_reply_unavailable(r, "state store");
            return;
        }
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0
            || is_final(rep) || xw_mono_ms() >= deadline)
            break;
        nanosleep(&(struct timespec){ 0, 50 * 1000000L }, NULL);
    }
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
