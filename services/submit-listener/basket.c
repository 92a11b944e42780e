/* Step 3, first half: the caller's basket of objects to package. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "emit.h"
#include "routes.h"
#include "xw_id.h"

#define MAX_IDS 10000

int sl_check_object_ids(struct sl_request *r, const char *ws, json_t *ids,
                        const char *field)
{
    size_t n = json_array_size(ids), i;
    const char **argv = calloc(n + 2, sizeof *argv);
    char key[96], path[96];
    redisReply *rep;
    json_t *v;
    int rc = -1;

    if (!argv) {
        sl_reply_unavailable(r, "memory");
        return -1;
    }
    snprintf(key, sizeof key, "xw:ntd:%s", ws);
    argv[0] = "HMGET";
    argv[1] = key;
    json_array_foreach(ids, i, v) {
        const char *id = json_string_value(v);

        if (!id || !xw_id_valid(id, strlen(id), SL_ID_MAX)) {
            snprintf(path, sizeof path, "%s[%zu]", field, i);
            sl_reply_error(r, 400, path, "id", "an object id is 1..%d "
                           "characters of [A-Za-z0-9._:@-]", SL_ID_MAX);
            goto out;
        }
        argv[i + 2] = id;
    }
    rep = xw_redis_command_argv(r->w->redis, (int)n + 2, argv, NULL, 1);
    if (!rep) {
        sl_reply_unavailable(r, "state store");
        goto out;
    }
    for (i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
        if (rep->element[i]->type != REDIS_REPLY_STRING) {
            snprintf(path, sizeof path, "%s[%zu]", field, i);
            sl_reply_error(r, 422, path, "not_deployable",
                           "object '%s' is not in the nodes-to-deploy list of "
                           "'%s' (deploy it to production first)", argv[i + 2],
                           ws);
            goto out;
        }
    }
    rc = 0;
out:
    free(argv);
    return rc;
}

static void change(struct sl_request *r, const char *op, json_t *ids)
{
    const char *ws = r->params[0];
    avro_value_t *ev;
    size_t i;
    json_t *v;

    if (!(ev = sl_event(r, "BasketChanged")))
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
    sl_accept(r, ev, XW_TOPIC_COMMANDS, ws,
              json_pack("{s:I}", "objects", (json_int_t)json_array_size(ids)));
}

void h_basket_add(struct sl_request *r)
{
    static const char *const allowed[] = { "object_ids", NULL };
    json_t *body, *ids;
    xw_json_err e;

    /* The Idempotency-Key answer comes before any state check: a retry of
     * an applied request gets the same answer, not a new verdict. */
    if (sl_permit(r, XW_OP_BASKET_EDIT, r->params[0], NULL) < 0
        || sl_request_begin(r) != 0)
        return;
    if (!(body = sl_body_object(r)))
        return;
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
    if (sl_check_object_ids(r, r->params[0], ids, "object_ids") < 0)
        goto out;
    change(r, "add", ids);
out:
    json_decref(body);
}

void h_basket_remove(struct sl_request *r)
{
    json_t *ids;

    if (sl_permit(r, XW_OP_BASKET_EDIT, r->params[0], NULL) < 0
        || sl_request_begin(r) != 0)
        return;
    ids = json_pack("[s]", r->params[1]);
    change(r, "remove", ids);
    json_decref(ids);
}

void h_basket_clear(struct sl_request *r)
{
    json_t *ids = json_array();

    if (sl_permit(r, XW_OP_BASKET_EDIT, r->params[0], NULL) == 0
        && sl_request_begin(r) == 0)
        change(r, "clear", ids);
    json_decref(ids);
}

void h_basket_get(struct sl_request *r)
{
    const char *ws = r->params[0];
    redisReply *rep;
    json_t *items, *ids;
    size_t n;

    if (sl_permit(r, XW_OP_BASKET_EDIT, ws, NULL) < 0)
        return;
    rep = xw_redis_command_idem(r->w->redis, "ZRANGE xw:basket:%s:%s 0 -1",
                                ws, r->user);
    if (!rep) {
        sl_reply_unavailable(r, "state store");
        return;
    }
    ids = json_array();
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++)
        json_array_append_new(ids, json_stringn(rep->element[i]->str,
                                                rep->element[i]->len));
    n = json_array_size(ids);
    items = json_array();
    if (n) {
        const char **argv = calloc(n + 2, sizeof *argv);
        char key[96];

        if (!argv) {
            json_decref(ids);
            json_decref(items);
            sl_reply_unavailable(r, "memory");
            return;
        }
        snprintf(key, sizeof key, "xw:ntd:%s", ws);
        argv[0] = "HMGET";
        argv[1] = key;
        for (size_t i = 0; i < n; i++)
            argv[i + 2] = json_string_value(json_array_get(ids, i));
        rep = xw_redis_command_argv(r->w->redis, (int)n + 2, argv, NULL, 1);
        for (size_t i = 0; rep && i < rep->elements; i++) {
            json_error_t je;
            json_t *o = rep->element[i]->type == REDIS_REPLY_STRING
                ? json_loadb(rep->element[i]->str, rep->element[i]->len, 0, &je)
                : NULL;

            /* An object terminated after it was added shows as such. */
            json_array_append_new(items, o ? o : json_pack("{s:O, s:b}", "id",
                                  json_array_get(ids, i), "terminated", 1));
        }
        free(argv);
        if (!rep) {
            json_decref(ids);
            json_decref(items);
            sl_reply_unavailable(r, "state store");
            return;
        }
    }
    json_decref(ids);
    sl_reply(r, 200, json_pack("{s:s, s:s, s:o, s:I}", "workspace", ws, "user",
                               r->user, "items", items, "total",
                               (json_int_t)n));
}
