#include "access.h"

#include <stdio.h>
#include <string.h>

int sl_roles(struct sl_request *r, const char *ws, unsigned *roles)
{
    char key[128];
    redisReply *rep;

    *roles = 0;
    if (!r->w && !sl_worker_get(r))
        return -1;
    snprintf(key, sizeof key, "xw:ws:%s:roles", ws);
    /* One round trip: does the workspace exist, and the caller's roles. */
    if (xw_redis_append(r->w->redis, "EXISTS xw:ws:%s", ws) < 0
        || xw_redis_append(r->w->redis, "HGET %s %s", key, r->user) < 0) {
        sl_reply_unavailable(r, "state store");
        return -1;
    }
    {
        redisReply *reps[2] = { NULL, NULL };
        int exists;

        if (xw_redis_pipeline_exec(r->w->redis, reps, 2) < 0) {
            sl_reply_unavailable(r, "state store");
            return -1;
        }
        exists = reps[0]->type == REDIS_REPLY_INTEGER && reps[0]->integer == 1;
        rep = reps[1];
        if (rep->type == REDIS_REPLY_STRING) {
            char buf[128];
            char *save = NULL;

            snprintf(buf, sizeof buf, "%.*s", (int)rep->len, rep->str);
            for (char *t = strtok_r(buf, ",", &save); t;
                 t = strtok_r(NULL, ",", &save)) {
                unsigned bit;

                if (xw_rules_role_parse(t, &bit) == 0)
                    *roles |= bit;
            }
        }
        xw_redis_replies_free(reps, 2);
        return exists;
    }
}

int sl_permit(struct sl_request *r, enum xw_op op, const char *src,
              const char *dst)
{
    struct xw_findings why = XW_FINDINGS_INIT;
    unsigned rs = 0, rd = 0;
    int rc;

    rc = sl_roles(r, src, &rs);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        sl_reply_error(r, 404, "workspace", "not_found",
                       "workspace '%s' is not registered", src);
        return -1;
    }
    if (dst) {
        rc = sl_roles(r, dst, &rd);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            sl_reply_error(r, 404, "destination_workspace", "not_found",
                           "destination workspace '%s' is not registered",
                           dst);
            return -1;
        }
    }
    if (xw_rules_permit(op, rs, rd, &why) == 0) {
        xw_findings_release(&why);
        return 0;
    }
    sl_reply_forbidden(r, &why);
    xw_findings_release(&why);
    return -1;
}

static json_t *parse_reply(struct sl_request *r, redisReply *rep,
                           const char *what)
{
    json_error_t je;
    json_t *j;

    if (!rep) {
        sl_reply_unavailable(r, "state store");
        return NULL;
    }
    if (rep->type != REDIS_REPLY_STRING) {
        sl_reply_error(r, 404, "", "not_found", "%s not found", what);
        return NULL;
    }
    j = json_loadb(rep->str, rep->len, 0, &je);
    if (!j)
        sl_reply_error(r, 500, "", "internal", "stored %s is not JSON", what);
    return j;
}

json_t *sl_load_workspace(struct sl_request *r, const char *ws)
{
    char what[96];

    if (!r->w && !sl_worker_get(r))
        return NULL;
    snprintf(what, sizeof what, "workspace '%s'", ws);
    return parse_reply(r, xw_redis_command_idem(r->w->redis, "GET xw:ws:%s",
                                                ws), what);
}

json_t *sl_load_hash_json(struct sl_request *r, const char *key,
                          const char *field, const char *what)
{
    if (!r->w && !sl_worker_get(r))
        return NULL;
    return parse_reply(r, xw_redis_command_idem(r->w->redis, "HGET %s %s",
                                                key, field), what);
}
