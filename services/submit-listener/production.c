/* Step 2: deploy objects to the source's production, terminate, and the
 * "nodes to deploy" list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "emit.h"
#include "routes.h"
#include "xw_id.h"

#define MAX_OBJECTS 10000

/* Checks what the schema cannot: ids usable in URLs and keys, no id twice
 * in one request, a well-formed scheduled time. -1 with 400 answered. */
static int check_objects(struct sl_request *r, json_t *objects)
{
    json_t *seen = json_object(), *o;
    size_t i;
    int rc = -1;

    json_array_foreach(objects, i, o) {
        const char *id = json_string_value(json_object_get(o, "id"));
        const char *t = json_string_value(json_object_get(o, "scheduled_time"));
        char field[64];
        int h, m, s;

        if (!json_is_object(o))
            continue; /* the schema check names it */
        if (!id || !xw_id_valid(id, strlen(id), SL_ID_MAX)) {
            snprintf(field, sizeof field, "objects[%zu].id", i);
            sl_reply_error(r, 400, field, "id", "an object id is 1..%d "
                           "characters of [A-Za-z0-9._:@-]", SL_ID_MAX);
            goto out;
        }
        if (json_object_get(seen, id)) {
            snprintf(field, sizeof field, "objects[%zu].id", i);
            sl_reply_error(r, 400, field, "unique",
                           "object '%s' appears twice in this request", id);
            goto out;
        }
        json_object_set_new(seen, id, json_true());
        if (t && xw_model_parse_hms(t, &h, &m, &s) < 0) {
            snprintf(field, sizeof field, "objects[%zu].scheduled_time", i);
            sl_reply_error(r, 400, field, "format",
                           "'%s' is not HH:MM or HH:MM:SS (00:00..23:59:59)",
                           t);
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(seen);
    return rc;
}

void h_prod_deploy(struct sl_request *r)
{
    const char *ws = r->params[0];
    json_t *body = NULL, *objects;
    xw_json_err e;
    avro_value_t *ev;

    if (sl_permit(r, XW_OP_SOURCE_DEPLOY, ws, NULL) < 0
        || sl_request_begin(r) != 0)
        return;
    if (!(body = sl_body_object(r)))
        goto out;
    if (xw_json_get_array(body, "objects", MAX_OBJECTS, XW_JSON_REQUIRED,
                          &objects, &e) < 0) {
        sl_reply_json_err(r, &e);
        goto out;
    }
    if (json_array_size(objects) == 0) {
        sl_reply_error(r, 400, "objects", "min_items",
                       "at least one object is required");
        goto out;
    }
    if (json_object_size(body) != 1) {
        static const char *const allowed[] = { "objects", NULL };

        if (xw_json_check_keys(body, allowed, &e) < 0) {
            sl_reply_json_err(r, &e);
            goto out;
        }
    }
    if (!(ev = sl_event(r, "ObjectsSubmitted"))
        || sl_fill(r, ev, "objects", objects) < 0
        || check_objects(r, objects) < 0
        || xw_avro_set_string(ev, "workspace_id", ws) < 0)
        goto out;
    sl_accept(r, ev, XW_TOPIC_COMMANDS, ws,
              json_pack("{s:I}", "objects", (json_int_t)json_array_size(objects)));
out:
    json_decref(body);
}

void h_prod_terminate(struct sl_request *r)
{
    const char *ws = r->params[0], *obj = r->params[1];
    redisReply *rep;
    avro_value_t *ev;

    if (sl_permit(r, XW_OP_SOURCE_TERMINATE, ws, NULL) < 0
        || sl_request_begin(r) != 0)
        return;
    rep = xw_redis_command_idem(r->w->redis, "HEXISTS xw:ntd:%s %s", ws, obj);
    if (!rep) {
        sl_reply_unavailable(r, "state store");
        return;
    }
    if (rep->type != REDIS_REPLY_INTEGER || rep->integer != 1) {
        sl_reply_error(r, 404, "object", "not_found",
                       "object '%s' is not in the nodes-to-deploy list", obj);
        return;
    }
    if (!(ev = sl_event(r, "ObjectTerminated")))
        return;
    if (xw_avro_set_string(ev, "workspace_id", ws) < 0
        || xw_avro_set_string(ev, "object_id", obj) < 0)
        return;
    sl_accept(r, ev, XW_TOPIC_COMMANDS, ws, NULL);
}

static int matches(json_t *o, const char *kind, const char *owner,
                   const char *q)
{
    const char *v;

    if (kind && (!(v = json_string_value(json_object_get(o, "kind")))
                 || strcmp(v, kind) != 0))
        return 0;
    if (owner && (!(v = json_string_value(json_object_get(o, "owner")))
                  || strcmp(v, owner) != 0))
        return 0;
    if (q) {
        const char *id = json_string_value(json_object_get(o, "id"));
        const char *name = json_string_value(json_object_get(o, "name"));

        if (!(id && strstr(id, q)) && !(name && strstr(name, q)))
            return 0;
    }
    return 1;
}

int sl_cmp_json_id(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "id"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "id"));

    return strcmp(x ? x : "", y ? y : "");
}

void sl_list_hash(struct sl_request *r, const char *key, const char *kind,
                  const char *owner, const char *q)
{
    long offset, limit;
    redisReply *rep;
    json_t **all = NULL, *items;
    size_t n = 0;

    if (sl_paging(r, &offset, &limit) < 0)
        return;
    rep = xw_redis_command_idem(r->w->redis, "HVALS %s", key);
    if (!rep) {
        sl_reply_unavailable(r, "state store");
        return;
    }
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements) {
        all = calloc(rep->elements, sizeof *all);
        if (!all) {
            sl_reply_unavailable(r, "memory");
            return;
        }
        for (size_t i = 0; i < rep->elements; i++) {
            json_error_t je;
            json_t *j = json_loadb(rep->element[i]->str, rep->element[i]->len,
                                   0, &je);
            if (j && matches(j, kind, owner, q))
                all[n++] = j;
            else
                json_decref(j);
        }
        qsort(all, n, sizeof *all, sl_cmp_json_id);
    }
    items = json_array();
    for (size_t i = 0; i < n; i++) {
        if ((long)i >= offset && (long)i < offset + limit)
            json_array_append(items, all[i]);
        json_decref(all[i]);
    }
    free(all);
    sl_reply(r, 200, json_pack("{s:o, s:I, s:i, s:i}", "items", items, "total",
                               (json_int_t)n, "offset", (int)offset, "limit",
                               (int)limit));
}

void h_ntd_list(struct sl_request *r)
{
    char key[96];

    if (sl_permit(r, XW_OP_ENV_VIEW, r->params[0], NULL) < 0)
        return;
    snprintf(key, sizeof key, "xw:ntd:%s", r->params[0]);
    sl_list_hash(r, key, sl_query(r, "kind"), sl_query(r, "owner"),
                 sl_query(r, "q"));
}
