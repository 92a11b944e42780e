/* Step 2: deploy objects to the source's production, terminate, and the
 * "nodes to deploy" list. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "emit.h"
#include "routes.h"
#include "stored.h"
#include "xw_id.h"
#include "xw_spec.h"

#define MAX_OBJECTS 10000

/* The ids of one request, to refuse an id given twice: open addressing
 * over offsets into one buffer holding the ids, so an id costs its bytes
 * and a 4-byte slot, and no allocation of its own (a jansson object as set
 * cost a malloc'd pair per id). */
struct id_set {
    xw_buf names;           /* the ids, each followed by its NUL */
    uint32_t *slots;        /* 1 + offset of an id in names; 0 = free */
    size_t nslots, count;   /* nslots: a power of two, or 0 */
};

#define ID_SET_INIT { XW_BUF_INIT, NULL, 0, 0 }

/* The slot holding id, or the free one where it belongs. */
static uint32_t *id_slot(uint32_t *slots, size_t nslots, const char *names,
                         const char *id, size_t len)
{
    size_t i = (size_t)xw_fnv1a(id, len, XW_FNV1A_INIT) & (nslots - 1);

    /* strncmp stops at a shorter stored id's NUL: never reads past it. */
    while (slots[i] && (strncmp(names + slots[i] - 1, id, len) != 0
                        || names[slots[i] - 1 + len] != '\0'))
        i = (i + 1) & (nslots - 1);
    return &slots[i];
}

static int id_set_grow(struct id_set *set)
{
    size_t n = set->nslots ? 2 * set->nslots : 64;
    uint32_t *slots = calloc(n, sizeof *slots);

    if (!slots)
        return -1;
    for (size_t i = 0; i < set->nslots; i++) {
        const char *id;

        if (!set->slots[i])
            continue;
        id = set->names.data + set->slots[i] - 1;
        *id_slot(slots, n, set->names.data, id, strlen(id)) = set->slots[i];
    }
    free(set->slots);
    set->slots = slots;
    set->nslots = n;
    return 0;
}

/* 1 added, 0 already there, -1 out of memory. id[len] is its NUL. */
static int id_set_add(struct id_set *set, const char *id, size_t len)
{
    uint32_t *slot;

    if (2 * (set->count + 1) > set->nslots && id_set_grow(set) < 0)
        return -1;
    slot = id_slot(set->slots, set->nslots, set->names.data, id, len);
    if (*slot)
        return 0;
    if (set->names.len >= UINT32_MAX - len - 1
        || xw_buf_add(&set->names, id, len + 1) < 0)
        return -1;
    *slot = (uint32_t)(set->names.len - len);   /* 1 + its offset */
    set->count++;
    return 1;
}

static void id_set_release(struct id_set *set)
{
    xw_buf_release(&set->names);
    free(set->slots);
    set->slots = NULL;
    set->nslots = set->count = 0;
}

/* Checks object i (filled) for what the schema cannot: an id usable in
 * URLs and keys, no id twice in one request, a well-formed scheduled
 * time. -1 with the answer set (400, or 503 out of memory). */
static int check_object(struct sl_request *r, const avro_value_t *spec,
                        size_t i, struct id_set *ids)
{
    const char *id, *t;
    size_t len;
    char field[64];
    int h, m, s, rc;

    if (xw_avro_get_string(spec, "id", &id, &len) != 0
        || !xw_id_valid(id, len, SL_ID_MAX)) {
        snprintf(field, sizeof field, "objects[%zu].id", i);
        sl_reply_error(r, 400, field, "id", "an object id is 1..%d "
                       "characters of [A-Za-z0-9._:@-]", SL_ID_MAX);
        return -1;
    }
    if ((rc = id_set_add(ids, id, len)) <= 0) {
        snprintf(field, sizeof field, "objects[%zu].id", i);
        if (rc < 0)
            sl_reply_unavailable(r, "memory");
        else
            sl_reply_error(r, 400, field, "unique",
                           "object '%s' appears twice in this request", id);
        return -1;
    }
    if (xw_avro_get_string(spec, "scheduled_time", &t, NULL) == 0
        && xw_model_parse_hms(t, &h, &m, &s) < 0) {
        snprintf(field, sizeof field, "objects[%zu].scheduled_time", i);
        sl_reply_error(r, 400, field, "format",
                       "'%s' is not HH:MM or HH:MM:SS (00:00..23:59:59)", t);
        return -1;
    }
    return 0;
}

/* The next object of the body, filled into spec unless `fill` is 0 (after
 * a schema error only the body's syntax still matters): from its text when
 * it is a plain valid object (sl_fill_item_text: no jansson tree, most of
 * a step 2 POST's cost), else parsed by jansson and filled by sl_fill_item,
 * which decides every error. 1 with *filled 0 or -1 (answered), 0 when the
 * body is done, -1 when it is refused (*je). */
static int next_object(struct sl_request *r, xw_json_items *it,
                       avro_value_t *spec, size_t n, int fill, int *filled,
                       xw_json_err *je)
{
    const char *text;
    size_t len, used;
    json_t *item;
    int rc;

    *filled = 0;
    if (fill && xw_json_items_peek(it, &text, &len)
        && sl_fill_item_text(spec, text, len, &used)) {
        xw_json_items_skip(it, used);
        return 1;
    }
    if ((rc = xw_json_items_next(it, &item, je)) != 1)
        return rc;
    if (fill)
        *filled = sl_fill_item(r, spec, "objects", n, item);
    json_decref(item);
    return 1;
}

/* The body is streamed: its objects are read one at a time
 * (xw_json_items), each is filled into the one ObjectSpec of the event's
 * array, checked, and its Avro body appended to the worker's scratch
 * buffer; the event is then encoded around them (xw_avro_encode_items).
 * Neither a JSON tree of the request nor an Avro value of all its objects
 * is ever built (a 10,000-object request used to peak at 65 MB for them).
 *
 * The first error answered is the one the whole-tree path gave: errors of
 * the body's structure (xw_json_items, found anywhere up to its end), then
 * the schema's (sl_fill_item) for the first object that has one, then
 * check_object's for the first object that has one. So after an error the
 * body is still read to its end, the schema still checked after a
 * check_object error, and an answer set earlier is replaced by a
 * weightier one. */
void h_prod_deploy(struct sl_request *r)
{
    enum { GOOD, CHECK_FAILED, FILL_FAILED } failed = GOOD;
    const char *ws = r->params[0];
    struct id_set ids = ID_SET_INIT;
    xw_buf *items;
    xw_json_items it;
    xw_json_err je;
    xw_avro_err ae;
    avro_value_t *ev, spec;
    size_t n = 0;
    int rc, filled;

    xw_json_items_init(&it, r->body.data, r->body.len, "objects", 1,
                       MAX_OBJECTS, r->svc->max_body);
    /* The event carries the request id: known before it is built. */
    if (sl_permit(r, XW_OP_SOURCE_DEPLOY, ws, NULL) < 0
        || sl_request_id(r) < 0)
        goto out;
    if (!(ev = sl_event(r, "ObjectsSubmitted"))
        || xw_avro_set_string(ev, "workspace_id", ws) < 0)
        goto out;
    /* sl_event reset the array: this is its only element, reused. */
    if (xw_avro_array_append(ev, "objects", &spec) < 0) {
        sl_reply_unavailable(r, "memory");
        goto out;
    }
    items = &r->w->scratch;
    xw_buf_reset(items);
    while ((rc = next_object(r, &it, &spec, n, failed != FILL_FAILED,
                             &filled, &je)) == 1) {
        if (filled < 0)
            failed = FILL_FAILED;
        else if (failed == GOOD && check_object(r, &spec, n, &ids) < 0)
            failed = CHECK_FAILED;
        else if (failed == GOOD
                 && xw_avro_encode_body(&spec, items, &ae) < 0) {
            sl_encode_failed(r, &ae);
            goto out;
        }
        n++;
    }
    if (rc < 0) {
        sl_reply_json_err(r, &je);
        goto out;
    }
    if (failed != GOOD)
        goto out;
    xw_json_items_release(&it);
    sl_body_drop(r);               /* read to its end: the objects are items */
    if (xw_avro_encode_items(ev, "objects", n, items->data, items->len,
                             &r->w->enc, &ae) < 0) {
        sl_encode_failed(r, &ae);
        goto out;
    }
    /* Only the body could refuse it, and it did not: the Idempotency-Key's
     * answer and the pending mark in the request's one round trip. A
     * retry of an accepted request is checked as the first was (the same
     * body gets the same verdict) before it gets the stored answer. */
    if (sl_request_begin_marked(r) != 0)
        goto out;
    sl_accept_encoded(r, r->w->enc.data, r->w->enc.len, XW_TOPIC_COMMANDS, ws,
                      json_pack("{s:I}", "objects", (json_int_t)n));
out:
    xw_json_items_release(&it);
    id_set_release(&ids);
}

void h_prod_terminate(struct sl_request *r)
{
    const char *ws = r->params[0], *obj = r->params[1];
    char key[96];
    const char *argv[3] = { "HEXISTS", key, obj };
    const xw_redis_cmd cmd = { 3, argv, NULL };
    redisReply *rep = NULL;
    avro_value_t *ev;

    snprintf(key, sizeof key, XW_SPEC_NTD ":%s", ws);
    if (sl_permit(r, XW_OP_SOURCE_TERMINATE, ws, NULL) < 0
        || sl_request_prefetch(r, &cmd, 1, &rep) < 0
        || sl_request_begin(r) != 0)
        goto out;
    if (rep->type != REDIS_REPLY_INTEGER || rep->integer != 1) {
        sl_reply_error(r, 404, "object", "not_found",
                       "object '%s' is not in the nodes-to-deploy list", obj);
        goto out;
    }
    if (!(ev = sl_event(r, "ObjectTerminated")))
        goto out;
    if (xw_avro_set_string(ev, "workspace_id", ws) < 0
        || xw_avro_set_string(ev, "object_id", obj) < 0)
        goto out;
    sl_accept(r, ev, XW_TOPIC_COMMANDS, ws, NULL);
out:
    xw_redis_replies_free(&rep, 1);
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

/* Answers the page [offset, offset + limit) of the objects all[0..n)
 * (NEW references, taken; `all` itself stays the caller's), sorted by id,
 * with their total. */
static void reply_page(struct sl_request *r, json_t **all, size_t n,
                       long offset, long limit)
{
    json_t *items = json_array();

    if (n)
        qsort(all, n, sizeof *all, sl_cmp_json_id);
    for (size_t i = 0; i < n; i++) {
        if ((long)i >= offset && (long)i < offset + limit)
            json_array_append(items, all[i]);
        json_decref(all[i]);
    }
    sl_reply(r, 200, json_pack("{s:o, s:I, s:i, s:i}", "items", items, "total",
                               (json_int_t)n, "offset", (int)offset, "limit",
                               (int)limit));
}

/* Keeps text if it parses as JSON and matches the filters: into all[*n]. */
static void keep_match(json_t **all, size_t *n, const char *text, size_t len,
                       const char *kind, const char *owner, const char *q)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, 0, &je);

    if (j && matches(j, kind, owner, q))
        all[(*n)++] = j;
    else
        json_decref(j);
}

void sl_list_hash(struct sl_request *r, const char *key, const char *kind,
                  const char *owner, const char *q)
{
    struct sl_stored st = SL_STORED_INIT;
    long offset, limit;
    redisReply *rep;
    json_t **all = NULL;
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
            const char *text = rep->element[i]->str;
            size_t len = rep->element[i]->len;

            if (sl_stored_catalog(r, &st, &text, &len) < 0)
                goto out;
            keep_match(all, &n, text, len, kind, owner, q);
        }
    }
    reply_page(r, all, n, offset, limit);
    n = 0;
out:
    for (size_t i = 0; i < n; i++)
        json_decref(all[i]);
    free(all);
    sl_stored_release(&st);
}

/* The nodes to deploy: each spec (Avro) written as its JSON entry with its
 * submission (common/xw_spec.h), the bytes the packager stored as JSON
 * before, then filtered and paged as any listed hash. Two reads: the
 * specs with their ids, then the submissions of those ids. */
void h_ntd_list(struct sl_request *r)
{
    const char *ws = r->params[0], *kind = sl_query(r, "kind");
    const char *owner = sl_query(r, "owner"), *q = sl_query(r, "q");
    struct sl_stored st = SL_STORED_INIT;
    redisReply *specs = NULL, *subs = NULL;
    const char **argv = NULL;
    json_t **all = NULL;
    char key[96];
    size_t n = 0, m = 0;
    long offset, limit;

    if (sl_permit(r, XW_OP_ENV_VIEW, ws, NULL) < 0
        || sl_paging(r, &offset, &limit) < 0)
        return;
    if (!xw_redis_command_idem(r->w->redis, "HGETALL " XW_SPEC_NTD ":%s", ws))
        goto unavailable;
    specs = xw_redis_reply_take(r->w->redis);
    if (specs->type == REDIS_REPLY_ARRAY)
        m = specs->elements / 2;
    if (m) {
        argv = calloc(m + 2, sizeof *argv);
        all = calloc(m, sizeof *all);
        if (!argv || !all) {
            sl_reply_unavailable(r, "memory");
            goto out;
        }
        snprintf(key, sizeof key, XW_SPEC_NTD_BY ":%s", ws);
        argv[0] = "HMGET";
        argv[1] = key;
        for (size_t i = 0; i < m; i++)
            argv[i + 2] = specs->element[2 * i]->str;
        if (!xw_redis_command_argv(r->w->redis, (int)m + 2, argv, NULL, 1))
            goto unavailable;
        subs = xw_redis_reply_take(r->w->redis);
    }
    for (size_t i = 0; i < m; i++) {
        const redisReply *a = specs->element[2 * i + 1];
        const char *sub, *text;
        size_t sublen, len;
        int got;

        sub = sl_hm_text(subs, i, &sublen);
        got = sl_stored_spec(r, &st, a->type == REDIS_REPLY_STRING ? a->str
                             : NULL, a->len, sub, sublen, &text, &len);
        if (got < 0)
            goto out;
        if (got)
            keep_match(all, &n, text, len, kind, owner, q);
    }
    reply_page(r, all, n, offset, limit);
    n = 0;
    goto out;
unavailable:
    sl_reply_unavailable(r, "state store");
out:
    for (size_t i = 0; i < n; i++)
        json_decref(all[i]);
    free(all);
    free(argv);
    if (specs)
        freeReplyObject(specs);
    if (subs)
        freeReplyObject(subs);
    sl_stored_release(&st);
}
