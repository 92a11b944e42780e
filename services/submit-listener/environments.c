/* Step 1: deployment environments (source Workspace Administrator). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "emit.h"
#include "routes.h"
#include "xw_id.h"

/* Loads a workspace for validation: NULL (no answer set) if it does not
 * exist, so the rule module reports destination_missing itself. *failed
 * is set when Redis failed (503 answered). */
static json_t *load_optional_ws(struct sl_request *r, const char *id,
                                int *failed)
{
    redisReply *rep = xw_redis_command_idem(r->w->redis, "GET xw:ws:%s", id);
    json_error_t je;

    if (!rep) {
        *failed = 1;
        sl_reply_unavailable(r, "state store");
        return NULL;
    }
    if (rep->type != REDIS_REPLY_STRING)
        return NULL;
    return json_loadb(rep->str, rep->len, 0, &je);
}

/* Names of the source's environments except `skip`. Owned by *names
 * (free with free_names). -1 with 503 answered. */
static int existing_names(struct sl_request *r, const char *ws,
                          const char *skip, char ***names, size_t *n)
{
    redisReply *rep = xw_redis_command_idem(r->w->redis, "HKEYS xw:env:%s", ws);

    *names = NULL;
    *n = 0;
    if (!rep) {
        sl_reply_unavailable(r, "state store");
        return -1;
    }
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0)
        return 0;
    *names = calloc(rep->elements, sizeof **names);
    if (!*names) {
        sl_reply_unavailable(r, "memory");
        return -1;
    }
    for (size_t i = 0; i < rep->elements; i++) {
        if (skip && strcmp(rep->element[i]->str, skip) == 0)
            continue;
        (*names)[(*n)++] = strndup(rep->element[i]->str, rep->element[i]->len);
    }
    return 0;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Validates `body` as an environment of workspace ws with the rule module.
 * Returns 0 valid (warnings in *warnings, NEW array), -1 answered (400 for
 * shape, 422 with every finding for rules, 503). */
static int validate(struct sl_request *r, const char *ws, json_t *body,
                    const char *editing, json_t **warnings)
{
    struct xw_findings f = XW_FINDINGS_INIT;
    json_t *jsrc = NULL, *jdst = NULL;
    const char *dest, *name;
    char **names = NULL;
    size_t nnames = 0;
    xw_json_err e;
    int failed = 0, rc = -1, v;

    *warnings = NULL;
    name = json_string_value(json_object_get(body, "name"));
    if (name && !xw_id_valid(name, strlen(name), SL_ID_MAX)) {
        sl_reply_error(r, 400, "name", "id",
                       "an environment name is 1..%d characters of "
                       "[A-Za-z0-9._:@-] (it appears in URLs)", SL_ID_MAX);
        goto out;
    }
    jsrc = load_optional_ws(r, ws, &failed);
    if (failed)
        goto out;
    dest = json_string_value(json_object_get(body, "destination_workspace"));
    if (dest && xw_id_valid(dest, strlen(dest), SL_ID_MAX)) {
        jdst = load_optional_ws(r, dest, &failed);
        if (failed)
            goto out;
    }
    if (existing_names(r, ws, editing, &names, &nnames) < 0)
        goto out;
    v = xw_model_validate_env(body, ws, jsrc, jdst, (const char *const *)names,
                              nnames, &f, &e);
    if (v == -2) {
        sl_reply_json_err(r, &e);
        goto out;
    }
    if (v == -1) {
        sl_reply_findings(r, 422, "validation", &f);
        goto out;
    }
    *warnings = xw_model_findings_json(&f);
    rc = 0;
out:
    free_names(names, nnames);
    xw_findings_release(&f);
    json_decref(jsrc);
    json_decref(jdst);
    return rc;
}

static void upsert(struct sl_request *r, enum xw_op op, const char *editing)
{
    const char *ws = r->params[0];
    json_t *body = NULL, *warnings = NULL, *name;
    const char *dry = sl_query(r, "dry_run");
    avro_value_t *ev;

    int dry_run = dry && (strcmp(dry, "true") == 0 || strcmp(dry, "1") == 0
                          || strcmp(dry, "yes") == 0);

    if (sl_permit(r, op, ws, NULL) < 0 || !sl_worker_get(r))
        return;
    if (!dry_run && sl_request_begin(r) != 0)
        return;
    if (!(body = sl_body_object(r)))
        return;
    if (editing) {
        name = json_object_get(body, "name");
        if (!name)
            json_object_set_new(body, "name", json_string(editing));
        else if (!json_is_string(name)
                 || strcmp(json_string_value(name), editing) != 0) {
            sl_reply_error(r, 400, "name", "mismatch",
                           "renaming is not supported: the body's name must "
                           "equal the path's");
            goto out;
        }
        {
            redisReply *rep = xw_redis_command_idem(
                r->w->redis, "HEXISTS xw:env:%s %s", ws, editing);

            if (!rep) {
                sl_reply_unavailable(r, "state store");
                goto out;
            }
            if (rep->type != REDIS_REPLY_INTEGER || rep->integer != 1) {
                sl_reply_error(r, 404, "environment", "not_found",
                               "environment '%s' does not exist", editing);
                goto out;
            }
        }
    }
    /* What GET returns may be PUT back: drop the fields the service
     * manages itself. */
    json_object_del(body, "version");
    json_object_del(body, "source_workspace");
    json_object_del(body, "updated_at");
    json_object_del(body, "updated_by");
    if (json_object_get(body, "type") == NULL)
        json_object_set_new(body, "type", json_string("cross_workspace"));
    /* The schema first (the same check the write makes), then the rules:
     * a dry run that says valid is a write that will be accepted. */
    if (!(ev = sl_event(r, "EnvironmentUpserted"))
        || xw_avro_set_string(ev, "source_workspace", ws) < 0
        || sl_fill(r, ev, "environment", body) < 0)
        goto out;
    if (validate(r, ws, body, editing, &warnings) < 0)
        goto out;
    if (dry_run) {
        sl_reply(r, 200, json_pack("{s:b, s:o}", "valid", 1, "findings",
                                   warnings));
        warnings = NULL;
        goto out;
    }
    sl_accept(r, ev, XW_TOPIC_COMMANDS, ws,
              json_pack("{s:s, s:O}", "environment",
                        json_string_value(json_object_get(body, "name")),
                        "findings", warnings));
out:
    json_decref(warnings);
    json_decref(body);
}

void h_env_create(struct sl_request *r)
{
    upsert(r, XW_OP_ENV_CREATE, NULL);
}

void h_env_update(struct sl_request *r)
{
    upsert(r, XW_OP_ENV_EDIT, r->params[1]);
}

void h_env_delete(struct sl_request *r)
{
    const char *ws = r->params[0], *name = r->params[1];
    char key[96];
    const char *argv[3] = { "HEXISTS", key, name };
    const xw_redis_cmd cmd = { 3, argv, NULL };
    redisReply *rep = NULL;
    avro_value_t *ev;

    snprintf(key, sizeof key, "xw:env:%s", ws);
    if (sl_permit(r, XW_OP_ENV_DELETE, ws, NULL) < 0
        || sl_request_prefetch(r, &cmd, 1, &rep) < 0
        || sl_request_begin(r) != 0)
        goto out;
    if (rep->type != REDIS_REPLY_INTEGER || rep->integer != 1) {
        sl_reply_error(r, 404, "environment", "not_found",
                       "environment '%s' does not exist", name);
        goto out;
    }
    if (!(ev = sl_event(r, "EnvironmentDeleted")))
        goto out;
    if (xw_avro_set_string(ev, "source_workspace", ws) < 0
        || xw_avro_set_string(ev, "name", name) < 0)
        goto out;
    sl_accept(r, ev, XW_TOPIC_COMMANDS, ws, NULL);
out:
    xw_redis_replies_free(&rep, 1);
}

void h_env_list(struct sl_request *r)
{
    const char *ws = r->params[0];
    redisReply *rep;
    json_t *items;

    if (sl_permit(r, XW_OP_ENV_VIEW, ws, NULL) < 0)
        return;
    rep = xw_redis_command_idem(r->w->redis, "HVALS xw:env:%s", ws);
    if (!rep) {
        sl_reply_unavailable(r, "state store");
        return;
    }
    items = json_array();
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
        json_error_t je;
        json_t *j = json_loadb(rep->element[i]->str, rep->element[i]->len, 0,
                               &je);
        if (j)
            json_array_append_new(items, j);
    }
    sl_reply(r, 200, json_pack("{s:o, s:I}", "items", items, "total",
                               (json_int_t)json_array_size(items)));
}

void h_env_get(struct sl_request *r)
{
    char key[96], what[192];
    json_t *env;

    if (sl_permit(r, XW_OP_ENV_VIEW, r->params[0], NULL) < 0)
        return;
    snprintf(key, sizeof key, "xw:env:%s", r->params[0]);
    snprintf(what, sizeof what, "environment '%s'", r->params[1]);
    env = sl_load_hash_json(r, key, r->params[1], what);
    if (env)
        sl_reply(r, 200, env);
}
