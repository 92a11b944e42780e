#include "xw_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies a bounded JSON string field into a fixed array. `flags` as in
 * xw_json (XW_JSON_REQUIRED). Returns 1 present, 0 absent, -1 invalid. */
static int get_str(const json_t *obj, const char *field, char *dst,
                   size_t cap, unsigned flags, xw_json_err *e)
{
    const char *s;
    size_t len;
    int rc = xw_json_get_string(obj, field, flags ? 1 : 0, cap - 1, flags, &s,
                                &len, e);

    if (rc == 1)
        memcpy(dst, s, len + 1);
    return rc;
}

static int get_array(const json_t *obj, const char *field, json_t **arr,
                     size_t max, xw_json_err *e)
{
    int rc = xw_json_get_array(obj, field, max, 0, arr, e);

    if (rc == 0)
        *arr = NULL;
    return rc < 0 ? -1 : 0;
}

/* Allocates n elements of size sz (NULL for n == 0). */
static void *alloc_n(size_t n, size_t sz, xw_json_err *e, const char *field)
{
    void *p;

    if (n == 0)
        return NULL;
    p = calloc(n, sz);
    if (!p)
        xw_json_err_set(e, 500, field, "memory", "out of memory");
    return p;
}

static int elem_err(xw_json_err *e, const char *field, size_t i)
{
    char prefix[96];

    snprintf(prefix, sizeof prefix, "%s[%zu]", field, i);
    xw_json_err_prefix(e, prefix);
    return -1;
}

static int parse_enum(const char *s, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && strcmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

#define MAX_ITEMS 10000

/* ---- workspace --------------------------------------------------------- */

static int named_typed(const json_t *it, char *name, size_t ncap, char *type,
                       size_t tcap, xw_json_err *e)
{
    if (!json_is_object(it)) {
        xw_json_err_set(e, 400, "", "type", "must be an object");
        return -1;
    }
    if (get_str(it, "name", name, ncap, XW_JSON_REQUIRED, e) < 0
        || get_str(it, "type", type, tcap, XW_JSON_REQUIRED, e) < 0)
        return -1;
    return 0;
}

int xw_model_ws_from_json(struct xw_model_ws *m, const json_t *j,
                          xw_json_err *e)
{
    static const char *const modes[] = { NULL, "basic", "standard" };
    static const char *const studios[] = { NULL, "new", "legacy" };
    struct xw_workspace *ws = &m->ws;
    json_t *arr, *it;
    char mode[16] = "", studio[16] = "";
    size_t i;

    memset(m, 0, sizeof *m);
    if (!json_is_object(j)) {
        xw_json_err_set(e, 400, "", "type", "workspace must be an object");
        return -1;
    }
    if (get_str(j, "id", ws->id, sizeof ws->id, XW_JSON_REQUIRED, e) < 0
        || get_str(j, "account", ws->account, sizeof ws->account,
                   XW_JSON_REQUIRED, e) < 0
        || get_str(j, "region", ws->region, sizeof ws->region,
                   XW_JSON_REQUIRED, e) < 0
        || get_str(j, "timezone", ws->tz, sizeof ws->tz, XW_JSON_REQUIRED, e)
               < 0
        || get_str(j, "mode", mode, sizeof mode, XW_JSON_REQUIRED, e) < 0
        || get_str(j, "datastudio", studio, sizeof studio, XW_JSON_REQUIRED,
                   e) < 0)
        goto fail;
    if (parse_enum(mode, modes, 3) <= 0) {
        xw_json_err_set(e, 400, "mode", "enum", "must be basic or standard");
        goto fail;
    }
    ws->mode = (enum xw_ws_mode)parse_enum(mode, modes, 3);
    if (parse_enum(studio, studios, 3) <= 0) {
        xw_json_err_set(e, 400, "datastudio", "enum", "must be new or legacy");
        goto fail;
    }
    ws->studio = (enum xw_studio)parse_enum(studio, studios, 3);

    if (get_array(j, "members", &arr, MAX_ITEMS, e) < 0)
        goto fail;
    if (arr) {
        struct xw_member *mem = alloc_n(json_array_size(arr), sizeof *mem, e,
                                        "members");
        if (!mem && json_array_size(arr))
            goto fail;
        ws->members = mem;
        json_array_foreach(arr, i, it) {
            json_t *roles, *r;
            size_t k;

            if (!json_is_object(it)) {
                xw_json_err_set(e, 400, "", "type", "must be an object");
                elem_err(e, "members", i);
                goto fail;
            }
            if (get_str(it, "user", mem[i].user, sizeof mem[i].user,
                        XW_JSON_REQUIRED, e) < 0
                || xw_json_get_array(it, "roles", 8, XW_JSON_REQUIRED, &roles,
                                     e) < 0) {
                elem_err(e, "members", i);
                goto fail;
            }
            json_array_foreach(roles, k, r) {
                unsigned bit;

                if (!json_is_string(r)
                    || xw_rules_role_parse(json_string_value(r), &bit) < 0) {
                    char f[64];

                    snprintf(f, sizeof f, "members[%zu].roles[%zu]", i, k);
                    xw_json_err_set(e, 400, f, "enum",
                                    "must be one of admin, development, om, "
                                    "deploy, visitor");
                    goto fail;
                }
                mem[i].roles |= bit;
            }
            ws->n_members++;
        }
    }

    if (get_array(j, "compute_resources", &arr, MAX_ITEMS, e) < 0)
        goto fail;
    if (arr) {
        struct xw_compute *c = alloc_n(json_array_size(arr), sizeof *c, e,
                                       "compute_resources");
        if (!c && json_array_size(arr))
            goto fail;
        ws->computes = c;
        json_array_foreach(arr, i, it) {
            if (named_typed(it, c[i].name, sizeof c[i].name, c[i].type,
                            sizeof c[i].type, e) < 0) {
                elem_err(e, "compute_resources", i);
                goto fail;
            }
            ws->n_computes++;
        }
    }

    if (get_array(j, "resource_groups", &arr, MAX_ITEMS, e) < 0)
        goto fail;
    if (arr) {
        struct xw_rgroup *g = alloc_n(json_array_size(arr), sizeof *g, e,
                                      "resource_groups");
        if (!g && json_array_size(arr))
            goto fail;
        ws->rgroups = g;
        json_array_foreach(arr, i, it) {
            int b;

            if (named_typed(it, g[i].name, sizeof g[i].name, g[i].type,
                            sizeof g[i].type, e) < 0) {
                elem_err(e, "resource_groups", i);
                goto fail;
            }
            b = 0;
            if (xw_json_get_bool(it, "is_default", 0, &b, e) < 0) {
                elem_err(e, "resource_groups", i);
                goto fail;
            }
            g[i].is_default = b;
            b = 0;
            if (xw_json_get_bool(it, "is_shared", 0, &b, e) < 0) {
                elem_err(e, "resource_groups", i);
                goto fail;
            }
            g[i].is_shared = b;
            ws->n_rgroups++;
        }
    }

    if (get_array(j, "data_sources", &arr, MAX_ITEMS, e) < 0)
        goto fail;
    if (arr) {
        struct xw_datasource *d = alloc_n(json_array_size(arr), sizeof *d, e,
                                          "data_sources");
        if (!d && json_array_size(arr))
            goto fail;
        ws->datasources = d;
        json_array_foreach(arr, i, it) {
            if (named_typed(it, d[i].name, sizeof d[i].name, d[i].type,
                            sizeof d[i].type, e) < 0) {
                elem_err(e, "data_sources", i);
                goto fail;
            }
            ws->n_datasources++;
        }
    }

    if (get_array(j, "projects", &arr, MAX_ITEMS, e) < 0)
        goto fail;
    if (arr) {
        struct xw_project *p = alloc_n(json_array_size(arr), sizeof *p, e,
                                       "projects");
        if (!p && json_array_size(arr))
            goto fail;
        ws->projects = p;
        json_array_foreach(arr, i, it) {
            if (!json_is_object(it)
                || get_str(it, "name", p[i].name, sizeof p[i].name,
                           XW_JSON_REQUIRED, e) < 0
                || get_str(it, "category", p[i].category,
                           sizeof p[i].category, 0, e) < 0) {
                if (!json_is_object(it))
                    xw_json_err_set(e, 400, "", "type", "must be an object");
                elem_err(e, "projects", i);
                goto fail;
            }
            ws->n_projects++;
        }
    }
    return 0;
fail:
    xw_model_ws_release(m);
    return -1;
}

void xw_model_ws_release(struct xw_model_ws *m)
{
    free((void *)m->ws.members);
    free((void *)m->ws.computes);
    free((void *)m->ws.rgroups);
    free((void *)m->ws.datasources);
    free((void *)m->ws.projects);
    memset(m, 0, sizeof *m);
}

/* ---- environment ------------------------------------------------------- */

static int mappings_from_json(const json_t *j, const char *field,
                              const struct xw_mapping **out, size_t *n,
                              xw_json_err *e)
{
    json_t *arr, *it;
    struct xw_mapping *mp;
    size_t i;

    *out = NULL;
    *n = 0;
    if (get_array(j, field, &arr, MAX_ITEMS, e) < 0)
        return -1;
    if (!arr || json_array_size(arr) == 0)
        return 0;
    mp = alloc_n(json_array_size(arr), sizeof *mp, e, field);
    if (!mp)
        return -1;
    *out = mp;
    json_array_foreach(arr, i, it) {
        int ignore = 0;

        if (!json_is_object(it)) {
            xw_json_err_set(e, 400, "", "type", "must be an object");
            return elem_err(e, field, i);
        }
        if (get_str(it, "source", mp[i].source, sizeof mp[i].source,
                    XW_JSON_REQUIRED, e) < 0
            || get_str(it, "target", mp[i].target, sizeof mp[i].target, 0, e)
                   < 0
            || xw_json_get_bool(it, "ignore", 0, &ignore, e) < 0)
            return elem_err(e, field, i);
        mp[i].ignore = ignore;
        (*n)++;
    }
    return 0;
}

int xw_model_env_from_json(struct xw_model_env *m, const json_t *j,
                           const char *source_ws, xw_json_err *e)
{
    static const char *const policies[] = { "default", "package_creator",
                                            "package_executor" };
    struct xw_env *env = &m->env;
    char policy[32] = "default";
    json_t *arr, *it;
    json_int_t version = 0;
    size_t i;

    memset(m, 0, sizeof *m);
    if (!json_is_object(j)) {
        xw_json_err_set(e, 400, "", "type", "environment must be an object");
        return -1;
    }
    snprintf(env->source_ws, sizeof env->source_ws, "%s", source_ws);
    snprintf(env->type, sizeof env->type, "%s", XW_ENV_TYPE_CROSS_WORKSPACE);
    if (get_str(j, "name", env->name, sizeof env->name, XW_JSON_REQUIRED, e)
            < 0
        || get_str(j, "type", env->type, sizeof env->type, 0, e) < 0
        || get_str(j, "destination_workspace", env->dest_ws,
                   sizeof env->dest_ws, XW_JSON_REQUIRED, e) < 0
        || get_str(j, "owner_policy", policy, sizeof policy, 0, e) < 0
        || xw_json_get_int(j, "version", 0, INT64_MAX, 0, &version, e) < 0)
        goto fail;
    m->version = version;
    if (parse_enum(policy, policies, 3) < 0) {
        xw_json_err_set(e, 400, "owner_policy", "enum",
                        "must be default, package_creator or package_executor");
        goto fail;
    }
    env->owner_policy = (enum xw_owner_policy)parse_enum(policy, policies, 3);
    if (mappings_from_json(j, "compute_mappings", &env->compute,
                           &env->n_compute, e) < 0
        || mappings_from_json(j, "resource_group_mappings", &env->rgroups,
                              &env->n_rgroups, e) < 0
        || mappings_from_json(j, "dependency_mappings", &env->deps,
                              &env->n_deps, e) < 0
        || mappings_from_json(j, "data_source_mappings", &env->datasources,
                              &env->n_datasources, e) < 0)
        goto fail;
    if (get_array(j, "parameter_mappings", &arr, MAX_ITEMS, e) < 0)
        goto fail;
    if (arr && json_array_size(arr)) {
        struct xw_param_mapping *p = alloc_n(json_array_size(arr), sizeof *p,
                                             e, "parameter_mappings");
        if (!p)
            goto fail;
        env->params = p;
        json_array_foreach(arr, i, it) {
            if (!json_is_object(it)) {
                xw_json_err_set(e, 400, "", "type", "must be an object");
                elem_err(e, "parameter_mappings", i);
                goto fail;
            }
            if (get_str(it, "task", p[i].task, sizeof p[i].task, 0, e) < 0
                || get_str(it, "name", p[i].name, sizeof p[i].name,
                           XW_JSON_REQUIRED, e) < 0
                || get_str(it, "value", p[i].value, sizeof p[i].value,
                           XW_JSON_REQUIRED, e) < 0) {
                elem_err(e, "parameter_mappings", i);
                goto fail;
            }
            env->n_params++;
        }
    }
    return 0;
fail:
    xw_model_env_release(m);
    return -1;
}

void xw_model_env_release(struct xw_model_env *m)
{
    free((void *)m->env.compute);
    free((void *)m->env.rgroups);
    free((void *)m->env.deps);
    free((void *)m->env.datasources);
    free((void *)m->env.params);
    memset(m, 0, sizeof *m);
}

/* ---- objects ----------------------------------------------------------- */

static const char *const kind_names[] = { NULL, "node", "function",
                                          "resource", "component" };

const char *xw_model_kind_name(enum xw_obj_kind k)
{
    return (unsigned)k < 5 && kind_names[k] ? kind_names[k] : "?";
}

int xw_model_kind_parse(const char *s, enum xw_obj_kind *k)
{
    int i = parse_enum(s, kind_names, 5);

    if (i <= 0)
        return -1;
    *k = (enum xw_obj_kind)i;
    return 0;
}

int xw_model_parse_hms(const char *s, int *h, int *mi, int *sec)
{
    int n = 0, hh, mm, ss = 0;
    size_t len = strlen(s);

    if (len == 5 && sscanf(s, "%2d:%2d%n", &hh, &mm, &n) == 2 && n == 5)
        ;
    else if (len == 8 && sscanf(s, "%2d:%2d:%2d%n", &hh, &mm, &ss, &n) == 3
             && n == 8)
        ;
    else
        return -1;
    if (s[0] < '0' || s[0] > '9' || hh < 0 || hh > 23 || mm < 0 || mm > 59
        || ss < 0 || ss > 59)
        return -1;
    *h = hh;
    *mi = mm;
    *sec = ss;
    return 0;
}

/* Copies an Avro string field into a fixed array; -1 if too long. */
static int avro_str(const avro_value_t *rec, const char *field, char *dst,
                    size_t cap, xw_json_err *e)
{
    const char *s;
    size_t len;
    int rc = xw_avro_get_string(rec, field, &s, &len);

    if (rc == XW_AVRO_ABSENT) {
        dst[0] = '\0';
        return 0;
    }
    if (rc < 0) {
        xw_json_err_set(e, 400, field, "type", "%s", xw_avro_strerror(rc));
        return -1;
    }
    if (len >= cap) {
        xw_json_err_set(e, 400, field, "max_length",
                        "longer than %zu bytes", cap - 1);
        return -1;
    }
    memcpy(dst, s, len + 1);
    return 0;
}

int xw_model_obj_from_avro(struct xw_model_obj *m, const avro_value_t *spec,
                           xw_json_err *e)
{
    struct xw_object *o = &m->obj;
    const char *sym, *sched;
    size_t n, i;
    int64_t version;
    int rc;

    memset(m, 0, sizeof *m);
    if (xw_avro_get_enum(spec, "kind", &sym) < 0
        || xw_model_kind_parse(sym, &o->kind) < 0) {
        xw_json_err_set(e, 400, "kind", "enum", "unknown object kind");
        goto fail;
    }
    if (avro_str(spec, "id", o->id, sizeof o->id, e) < 0
        || avro_str(spec, "name", o->name, sizeof o->name, e) < 0
        || avro_str(spec, "compute_resource", o->compute, sizeof o->compute, e)
               < 0
        || avro_str(spec, "resource_group", o->rgroup, sizeof o->rgroup, e)
               < 0
        || avro_str(spec, "owner", o->owner, sizeof o->owner, e) < 0)
        goto fail;
    if (xw_avro_get_long(spec, "version", &version) < 0) {
        xw_json_err_set(e, 400, "version", "type", "missing version");
        goto fail;
    }
    o->version = version;
    if (xw_avro_get_enum(spec, "generation_mode", &sym) < 0) {
        xw_json_err_set(e, 400, "generation_mode", "enum", "missing");
        goto fail;
    }
    o->gen_mode = strcmp(sym, "immediate") == 0 ? XW_GEN_IMMEDIATE
                                                : XW_GEN_NEXT_DAY;
    rc = xw_avro_get_string(spec, "scheduled_time", &sched, NULL);
    if (rc == 0) {
        if (xw_model_parse_hms(sched, &o->sched_hour, &o->sched_minute,
                               &o->sched_second) < 0) {
            xw_json_err_set(e, 400, "scheduled_time", "format",
                            "'%s' is not HH:MM or HH:MM:SS", sched);
            goto fail;
        }
    }

    if (xw_avro_array_size(spec, "data_sources", &n) < 0)
        goto bad_array;
    if (n) {
        struct xw_ref *r = alloc_n(n, sizeof *r, e, "data_sources");

        if (!r)
            goto fail;
        o->datasources = r;
        for (i = 0; i < n; i++) {
            const char *s;
            size_t len;

            if (xw_avro_array_get_string(spec, "data_sources", i, &s, &len) < 0
                || len >= sizeof r[i].name) {
                xw_json_err_set(e, 400, "", "max_length", "name too long");
                elem_err(e, "data_sources", i);
                goto fail;
            }
            memcpy(r[i].name, s, len + 1);
            o->n_datasources++;
        }
    }
    if (xw_avro_array_size(spec, "dependencies", &n) < 0)
        goto bad_array;
    if (n) {
        struct xw_dep *d = alloc_n(n, sizeof *d, e, "dependencies");

        if (!d)
            goto fail;
        o->deps = d;
        for (i = 0; i < n; i++) {
            avro_value_t el;

            if (xw_avro_array_get(spec, "dependencies", i, &el) < 0
                || avro_str(&el, "project", d[i].project, sizeof d[i].project,
                            e) < 0
                || avro_str(&el, "node", d[i].node, sizeof d[i].node, e) < 0) {
                elem_err(e, "dependencies", i);
                goto fail;
            }
            o->n_deps++;
        }
    }
    if (xw_avro_array_size(spec, "parameters", &n) < 0)
        goto bad_array;
    if (n) {
        struct xw_obj_param *p = alloc_n(n, sizeof *p, e, "parameters");

        if (!p)
            goto fail;
        o->params = p;
        for (i = 0; i < n; i++) {
            avro_value_t el;

            if (xw_avro_array_get(spec, "parameters", i, &el) < 0
                || avro_str(&el, "name", p[i].name, sizeof p[i].name, e) < 0
                || avro_str(&el, "value", p[i].value, sizeof p[i].value, e)
                       < 0) {
                elem_err(e, "parameters", i);
                goto fail;
            }
            o->n_params++;
        }
    }
    return 0;
bad_array:
    xw_json_err_set(e, 400, "", "type", "ObjectSpec arrays missing");
fail:
    xw_model_obj_release(m);
    return -1;
}

void xw_model_obj_release(struct xw_model_obj *m)
{
    free((void *)m->obj.datasources);
    free((void *)m->obj.deps);
    free((void *)m->obj.params);
    memset(m, 0, sizeof *m);
}

int xw_model_mapped_to_avro(const struct xw_mapped *m, avro_value_t *dst)
{
    char sched[16];
    int rc;

    snprintf(sched, sizeof sched, "%02d:%02d:%02d", m->sched_hour,
             m->sched_minute, m->sched_second);
    if ((rc = xw_avro_set_string(dst, "id", m->id)) < 0
        || (rc = xw_avro_set_string(dst, "name", m->name)) < 0
        || (rc = xw_avro_set_enum(dst, "kind", xw_model_kind_name(m->kind))) < 0
        || (rc = xw_avro_set_long(dst, "version", m->version)) < 0
        || (rc = xw_avro_set_string(dst, "compute_resource", m->compute)) < 0
        || (rc = xw_avro_set_string(dst, "resource_group", m->rgroup)) < 0
        || (rc = xw_avro_set_string(dst, "owner", m->owner)) < 0
        || (rc = xw_avro_set_enum(dst, "generation_mode",
                                  m->gen_mode == XW_GEN_IMMEDIATE
                                      ? "immediate" : "next_day")) < 0
        || (rc = xw_avro_set_string(dst, "scheduled_time", sched)) < 0
        || (rc = xw_avro_array_clear(dst, "data_sources")) < 0
        || (rc = xw_avro_array_clear(dst, "dependencies")) < 0
        || (rc = xw_avro_array_clear(dst, "parameters")) < 0)
        return rc;
    for (size_t i = 0; i < m->n_datasources; i++)
        if ((rc = xw_avro_array_append_string(dst, "data_sources",
                                               m->datasources[i].name)) < 0)
            return rc;
    for (size_t i = 0; i < m->n_deps; i++) {
        avro_value_t el;

        if ((rc = xw_avro_array_append(dst, "dependencies", &el)) < 0
            || (rc = xw_avro_set_string(&el, "project", m->deps[i].project)) < 0
            || (rc = xw_avro_set_string(&el, "node", m->deps[i].node)) < 0)
            return rc;
    }
    for (size_t i = 0; i < m->n_params; i++) {
        avro_value_t el;

        if ((rc = xw_avro_array_append(dst, "parameters", &el)) < 0
            || (rc = xw_avro_set_string(&el, "name", m->params[i].name)) < 0
            || (rc = xw_avro_set_string(&el, "value", m->params[i].value)) < 0)
            return rc;
    }
    return 0;
}

json_t *xw_model_findings_json(const struct xw_findings *f)
{
    json_t *arr = json_array();

    if (!arr)
        return NULL;
    for (size_t i = 0; i < f->count; i++) {
        const struct xw_finding *x = &f->items[i];

        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:s, s:s}", "code", x->code, "severity",
                           x->severity == XW_SEV_ERROR ? "error" : "warning",
                           "field", x->path, "message", x->message));
    }
    return arr;
}

int xw_model_validate_env(const json_t *env, const char *source_ws,
                          const json_t *src_ws, const json_t *dst_ws,
                          const char *const *names, size_t n_names,
                          struct xw_findings *f, xw_json_err *e)
{
    struct xw_model_env me = { 0 };
    struct xw_model_ws src = { 0 }, dst = { 0 };
    int have_dst = 0, rc = -2;

    if (xw_model_env_from_json(&me, env, source_ws, e) < 0)
        goto out;
    if (!src_ws || xw_model_ws_from_json(&src, src_ws, e) < 0) {
        if (!src_ws)
            xw_json_err_set(e, 404, "source_workspace", "not_found",
                            "workspace '%s' is not registered", source_ws);
        goto out;
    }
    if (dst_ws && xw_model_ws_from_json(&dst, dst_ws, e) == 0)
        have_dst = 1;
    rc = xw_rules_validate_env(&me.env, &src.ws, have_dst ? &dst.ws : NULL,
                               names, n_names, f) < 0 ? -1 : 0;
out:
    xw_model_env_release(&me);
    xw_model_ws_release(&src);
    xw_model_ws_release(&dst);
    return rc;
}
