/* Step 3, first half: the caller's basket of objects to package. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "emit.h"
#include "routes.h"
#include "stored.h"
#include "xw_id.h"
#include "xw_spec.h"

#define MAX_IDS 10000

int sl_ids_prepare(struct sl_request *r, struct sl_ids_check *c,
                   const char *ws, const json_t *ids, xw_redis_cmd *cmd)
{
    size_t i;
    json_t *v;

    c->n = json_array_size(ids);
    if (!(c->argv = calloc(c->n + 2, sizeof *c->argv))) {
        sl_reply_unavailable(r, "memory");
        return -1;
    }
    snprintf(c->key, sizeof c->key, XW_SPEC_NTD ":%s", ws);
    c->argv[0] = "HMGET";
    c->argv[1] = c->key;
    c->bad = -1;
    json_array_foreach(ids, i, v) {
        const char *id = json_string_value(v);

        if (!id || !xw_id_valid(id, strlen(id), SL_ID_MAX)) {
            c->bad = (long)i;
            break;
        }
        c->argv[i + 2] = id;
    }
    *cmd = (xw_redis_cmd){ (int)c->n + 2, c->argv, NULL };
    return 0;
}

int sl_ids_verify(struct sl_request *r, const struct sl_ids_check *c,
                  const char *ws, const redisReply *rep, const char *field)
{
    char path[96];

    if (c->bad >= 0) {
        snprintf(path, sizeof path, "%s[%ld]", field, c->bad);
        sl_reply_error(r, 400, path, "id", "an object id is 1..%d "
                       "characters of [A-Za-z0-9._:@-]", SL_ID_MAX);
        return -1;
    }
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements;
         i++) {
        if (rep->element[i]->type != REDIS_REPLY_STRING) {
            snprintf(path, sizeof path, "%s[%zu]", field, i);
            sl_reply_error(r, 422, path, "not_deployable",
                           "object '%s' is not in the nodes-to-deploy list of "
                           "'%s' (deploy it to production first)",
                           c->argv[i + 2], ws);
            return -1;
        }
    }
    return 0;
}

void sl_ids_release(struct sl_ids_check *c)
{
    free(c->argv);
    c->argv = NULL;
}

/* Builds the event and accepts it: every check is done, so the
 * Idempotency-Key's answer (unless read already) and the pending mark go
 * in one round trip. */
static void change(struct sl_request *r, const char *op, json_t *ids)
{
    const char *ws = r->params[0];
    avro_value_t *ev;
    size_t i;
    json_t *v;

    if (sl_request_id(r) < 0 || !(ev = sl_event(r, "BasketChanged")))
        return;
    if (xw_avro_set_string(ev, "workspace_id", ws) < 0
        || xw_avro_set_string(ev, "user", r->user) < 0
        || xw_avro_set_enum(ev, "op", op) < 0)
        return;
    json_array_foreach(ids, i, v)
        if (xw_avro_array_append_string(ev, "object_ids",
                                        json_string_value(v)) < 0) {
            sl_reply_error(r, 500, "object_ids", "internal", "encoding");
            return;
        }
    if (sl_request_begin_marked(r) != 0)
        return;
    sl_accept(r, ev, XW_TOPIC_COMMANDS, ws,
              json_pack("{s:I}", "objects", (json_int_t)json_array_size(ids)));
}

void h_basket_add(struct sl_request *r)
{
    static const char *const allowed[] = { "object_ids", NULL };
    struct sl_ids_check c = SL_IDS_CHECK_INIT;
    redisReply *rep = NULL;
    json_t *body = NULL, *ids;
    xw_redis_cmd cmd;
    xw_json_err e;

    if (sl_permit(r, XW_OP_BASKET_EDIT, r->params[0], NULL) < 0
        || !(body = sl_body_object(r)))
        goto out;
    if (xw_json_check_keys(body, allowed, &e) < 0
        || xw_json_get_array(body, "object_ids", MAX_IDS, XW_JSON_REQUIRED,
                             &ids, &e) < 0) {
        sl_reply_json_err(r, &e);
        goto out;
    }
    if (json_array_size(ids) == 0) {
        sl_reply_error(r, 400, "object_ids", "min_items",
                       "at least one object id is required");
        goto out;
    }
    /* The Idempotency-Key answer comes before any state check: a retry of
     * an applied request gets the same answer, not a new verdict. The
     * state is read in the same round trip all the same. */
    if (sl_ids_prepare(r, &c, r->params[0], ids, &cmd) < 0
        || sl_request_prefetch(r, &cmd, c.bad < 0, &rep) < 0
        || sl_request_begin(r) != 0
        || sl_ids_verify(r, &c, r->params[0], rep, "object_ids") < 0)
        goto out;
    change(r, "add", ids);
out:
    xw_redis_replies_free(&rep, 1);
    sl_ids_release(&c);
    json_decref(body);
}

void h_basket_remove(struct sl_request *r)
{
    json_t *ids;

    if (sl_permit(r, XW_OP_BASKET_EDIT, r->params[0], NULL) < 0)
        return;
    ids = json_pack("[s]", r->params[1]);
    change(r, "remove", ids);
    json_decref(ids);
}

void h_basket_clear(struct sl_request *r)
{
    json_t *ids = json_array();

    if (sl_permit(r, XW_OP_BASKET_EDIT, r->params[0], NULL) == 0)
        change(r, "clear", ids);
    json_decref(ids);
}

/* The basket's objects, each as its nodes-to-deploy entry (its spec and
 * submission, two HMGETs in one round trip), or as terminated. */
void h_basket_get(struct sl_request *r)
{
    const char *ws = r->params[0];
    struct sl_stored st = SL_STORED_INIT;
    redisReply *ids = NULL, *reps[2] = { NULL, NULL };
    const char **argv[2] = { NULL, NULL };
    json_t *items = NULL;
    char key[2][96];
    size_t n = 0;

    if (sl_permit(r, XW_OP_BASKET_EDIT, ws, NULL) < 0)
        return;
    if (!xw_redis_command_idem(r->w->redis, "ZRANGE xw:basket:%s:%s 0 -1",
                               ws, r->user))
        goto unavailable;
    ids = xw_redis_reply_take(r->w->redis);
    if (ids->type == REDIS_REPLY_ARRAY)
        n = ids->elements;
    if (!(items = json_array()))
        goto nomem;
    if (n) {
        xw_redis_cmd cmds[2];

        snprintf(key[0], sizeof key[0], XW_SPEC_NTD ":%s", ws);
        snprintf(key[1], sizeof key[1], XW_SPEC_NTD_BY ":%s", ws);
        for (int c = 0; c < 2; c++) {
            if (!(argv[c] = calloc(n + 2, sizeof *argv[c])))
                goto nomem;
            argv[c][0] = "HMGET";
            argv[c][1] = key[c];
            for (size_t i = 0; i < n; i++)
                argv[c][i + 2] = ids->element[i]->str;
            cmds[c] = (xw_redis_cmd){ (int)n + 2, argv[c], NULL };
        }
        if (xw_redis_pipeline(r->w->redis, cmds, 2, reps,
                              XW_REDIS_IDEMPOTENT) < 0)
            goto unavailable;
    }
    for (size_t i = 0; i < n; i++) {
        const char *avro, *sub, *text;
        size_t alen, sublen, len;
        json_error_t je;
        json_t *o = NULL;
        int got;

        avro = sl_hm_text(reps[0], i, &alen);
        sub = sl_hm_text(reps[1], i, &sublen);
        got = sl_stored_spec(r, &st, avro, alen, sub, sublen, &text, &len);
        if (got < 0)
            goto out;
        if (got)
            o = json_loadb(text, len, 0, &je);
        /* An object terminated after it was added shows as such. */
        if (!o)
            o = json_pack("{s:s%, s:b}", "id", ids->element[i]->str,
                          ids->element[i]->len, "terminated", 1);
        if (json_array_append_new(items, o) < 0)
            goto nomem;
    }
    sl_reply(r, 200, json_pack("{s:s, s:s, s:O, s:I}", "workspace", ws, "user",
                               r->user, "items", items, "total",
                               (json_int_t)n));
    goto out;
nomem:
    sl_reply_unavailable(r, "memory");
    goto out;
unavailable:
    sl_reply_unavailable(r, "state store");
out:
    json_decref(items);
    for (int c = 0; c < 2; c++)
        free(argv[c]);
    xw_redis_replies_free(reps, 2);
    if (ids)
        freeReplyObject(ids);
    sl_stored_release(&st);
}
