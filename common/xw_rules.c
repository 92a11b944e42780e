/*
 * xw_rules.c - the deployment rules. See xw_rules.h (the rule book) and
 * docs/rules.md.
 */
#include "xw_rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ================================================================== */
/* Findings                                                            */

void xw_findings_init(struct xw_findings *f)
{
    memset(f, 0, sizeof *f);
}

void xw_findings_release(struct xw_findings *f)
{
    if (!f)
        return;
    free(f->items);
    memset(f, 0, sizeof *f);
}

void xw_findings_reset(struct xw_findings *f)
{
    if (!f)
        return;
    f->count = 0;
    f->n_errors = f->n_warnings = f->dropped = 0;
}

static int findings_vadd(struct xw_findings *f, const char *code,
                         enum xw_severity sev, const char *path,
                         const char *fmt, va_list ap)
{
    struct xw_finding *it;

    if (!f)
        return 0;
    if (sev == XW_SEV_ERROR)
        f->n_errors++;
    else
        f->n_warnings++;
    if (f->count == f->alloc) {
        size_t na = f->alloc ? f->alloc * 2 : 8;
        struct xw_finding *nv;
        if (na > XW_FINDINGS_MAX)
            na = XW_FINDINGS_MAX;
        if (na <= f->alloc) {
            f->dropped++;
            return -1;
        }
        nv = realloc(f->items, na * sizeof *nv);
        if (!nv) {
            f->dropped++;
            return -1;
        }
        f->items = nv;
        f->alloc = na;
    }
    it = &f->items[f->count++];
    it->code = code;
    it->severity = sev;
    snprintf(it->path, sizeof it->path, "%s", path ? path : "");
    vsnprintf(it->message, sizeof it->message, fmt, ap);
    return 0;
}

int xw_findings_add(struct xw_findings *f, const char *code,
                    enum xw_severity sev, const char *path, const char *fmt,
                    ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = findings_vadd(f, code, sev, path, fmt, ap);
    va_end(ap);
    return rc;
}

const struct xw_finding *xw_findings_find(const struct xw_findings *f,
                                          const char *code, const char *path)
{
    if (!f || !code)
        return NULL;
    for (size_t i = 0; i < f->count; i++) {
        if (strcmp(f->items[i].code, code) != 0)
            continue;
        if (path && strcmp(f->items[i].path, path) != 0)
            continue;
        return &f->items[i];
    }
    return NULL;
}

size_t xw_findings_count_code(const struct xw_findings *f, const char *code)
{
    size_t n = 0;
    if (!f || !code)
        return 0;
    for (size_t i = 0; i < f->count; i++)
        if (strcmp(f->items[i].code, code) == 0)
            n++;
    return n;
}

/*
 * Accumulator used by every rule: forwards to the caller's findings (which
 * may be NULL), counts errors itself, and remembers the first error.
 */
struct acc {
    struct xw_findings *f;
    size_t nerr;
    const char *first_code;
    char first_msg[XW_FINDING_MSG_MAX];
};

__attribute__((format(printf, 5, 6)))
static void note(struct acc *a, const char *code, enum xw_severity sev,
                 const char *path, const char *fmt, ...)
{
    va_list ap;
    if (sev == XW_SEV_ERROR) {
        if (a->nerr == 0) {
            a->first_code = code;
            va_start(ap, fmt);
            vsnprintf(a->first_msg, sizeof a->first_msg, fmt, ap);
            va_end(ap);
        }
        a->nerr++;
    }
    va_start(ap, fmt);
    findings_vadd(a->f, code, sev, path, fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 3, 4)))
static const char *pathf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return buf;
}
#define PATH(...) pathf(pbuf, sizeof pbuf, __VA_ARGS__)

/* A fixed string field must hold its NUL. */
#define CHECK_STR(A, BUF, ...)                                              \
    do {                                                                    \
        if (!memchr((BUF), '\0', sizeof(BUF))) {                            \
            char cp_[XW_FINDING_PATH_MAX];                                  \
            snprintf(cp_, sizeof cp_, __VA_ARGS__);                         \
            note((A), XW_R_FIELD_TOO_LONG, XW_SEV_ERROR, cp_,               \
                 "this field is longer than %zu bytes", sizeof(BUF) - 1);   \
        }                                                                   \
    } while (0)

static void check_ws_strings(struct acc *a, const struct xw_workspace *ws,
                             const char *label)
{
    CHECK_STR(a, ws->id, "%s.id", label);
    CHECK_STR(a, ws->account, "%s.account", label);
    CHECK_STR(a, ws->region, "%s.region", label);
    CHECK_STR(a, ws->tz, "%s.tz", label);
    for (size_t i = 0; i < ws->n_members; i++)
        CHECK_STR(a, ws->members[i].user, "%s.members[%zu].user", label, i);
    for (size_t i = 0; i < ws->n_computes; i++) {
        CHECK_STR(a, ws->computes[i].name, "%s.computes[%zu].name", label, i);
        CHECK_STR(a, ws->computes[i].type, "%s.computes[%zu].type", label, i);
    }
    for (size_t i = 0; i < ws->n_rgroups; i++) {
        CHECK_STR(a, ws->rgroups[i].name, "%s.resource_groups[%zu].name",
                  label, i);
        CHECK_STR(a, ws->rgroups[i].type, "%s.resource_groups[%zu].type",
                  label, i);
    }
    for (size_t i = 0; i < ws->n_datasources; i++) {
        CHECK_STR(a, ws->datasources[i].name, "%s.datasources[%zu].name",
                  label, i);
        CHECK_STR(a, ws->datasources[i].type, "%s.datasources[%zu].type",
                  label, i);
    }
    for (size_t i = 0; i < ws->n_projects; i++) {
        CHECK_STR(a, ws->projects[i].name, "%s.projects[%zu].name", label, i);
        CHECK_STR(a, ws->projects[i].category, "%s.projects[%zu].category",
                  label, i);
    }
}

static void check_rows_strings(struct acc *a, const struct xw_mapping *rows,
                               size_t n, const char *field)
{
    for (size_t i = 0; i < n; i++) {
        CHECK_STR(a, rows[i].source, "%s[%zu].source", field, i);
        CHECK_STR(a, rows[i].target, "%s[%zu].target", field, i);
    }
}

static void check_env_strings(struct acc *a, const struct xw_env *env)
{
    CHECK_STR(a, env->name, "name");
    CHECK_STR(a, env->type, "type");
    CHECK_STR(a, env->source_ws, "source_workspace");
    CHECK_STR(a, env->dest_ws, "destination_workspace");
    check_rows_strings(a, env->compute, env->n_compute, "compute_mappings");
    check_rows_strings(a, env->rgroups, env->n_rgroups,
                       "resource_group_mappings");
    check_rows_strings(a, env->deps, env->n_deps, "dependency_mappings");
    check_rows_strings(a, env->datasources, env->n_datasources,
                       "data_source_mappings");
    for (size_t i = 0; i < env->n_params; i++) {
        CHECK_STR(a, env->params[i].task, "parameter_mappings[%zu].task", i);
        CHECK_STR(a, env->params[i].name, "parameter_mappings[%zu].name", i);
        CHECK_STR(a, env->params[i].value, "parameter_mappings[%zu].value", i);
    }
}

/* ================================================================== */
/* Names                                                               */

static const struct {
    unsigned bit;
    const char *name;
    const char *title;
} role_tab[XW_ROLE_COUNT] = {
    { XW_ROLE_ADMIN, "admin", "Workspace Administrator" },
    { XW_ROLE_DEVELOPMENT, "development", "Development" },
    { XW_ROLE_OM, "om", "O&M" },
    { XW_ROLE_DEPLOY, "deploy", "Deploy" },
    { XW_ROLE_VISITOR, "visitor", "Visitor" },
};

const char *xw_rules_role_title(unsigned role)
{
    for (size_t i = 0; i < XW_ROLE_COUNT; i++)
        if (role_tab[i].bit == role)
            return role_tab[i].title;
    return "";
}

const char *xw_rules_role_name(unsigned role)
{
    for (size_t i = 0; i < XW_ROLE_COUNT; i++)
        if (role_tab[i].bit == role)
            return role_tab[i].name;
    return "";
}

int xw_rules_role_parse(const char *name, unsigned *role)
{
    if (!name || !role)
        return -1;
    for (size_t i = 0; i < XW_ROLE_COUNT; i++) {
        if (strncmp(name, role_tab[i].name, 16) == 0) {
            *role = role_tab[i].bit;
            return 0;
        }
    }
    return -1;
}

unsigned xw_rules_roles_of(const struct xw_workspace *ws, const char *user)
{
    unsigned r = 0;
    if (!ws || !user || !user[0])
        return 0;
    for (size_t i = 0; i < ws->n_members; i++)
        if (strncmp(ws->members[i].user, user, XW_ID_MAX + 1) == 0)
            r |= ws->members[i].roles & XW_ROLE_ALL;
    return r;
}

/* "O&M, Deploy or Workspace Administrator" (joiner "or"/"and"). Roles are
 * listed in the order users read them in the document. */
static const char *roles_text(unsigned mask, const char *joiner, char *buf,
                              size_t size)
{
    static const unsigned order[XW_ROLE_COUNT] = {
        XW_ROLE_OM, XW_ROLE_DEPLOY, XW_ROLE_ADMIN, XW_ROLE_DEVELOPMENT,
        XW_ROLE_VISITOR
    };
    size_t n = 0, k = 0, len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < XW_ROLE_COUNT; i++)
        if (mask & order[i])
            n++;
    if (n == 0) {
        snprintf(buf, size, "none");
        return buf;
    }
    for (size_t i = 0; i < XW_ROLE_COUNT && len < size; i++) {
        if (!(mask & order[i]))
            continue;
        k++;
        len += (size_t)snprintf(buf + len, size - len, "%s%s",
                                k == 1 ? "" : k == n ? (joiner[0] == 'o' ?
                                " or " : " and ") : ", ",
                                xw_rules_role_title(order[i]));
    }
    return buf;
}

/* ================================================================== */
/* Rule 1: combinations and scope                                      */

static const char *mode_name(enum xw_ws_mode m)
{
    return m == XW_MODE_BASIC ? "basic" : m == XW_MODE_STANDARD ? "standard"
                                                                 : "unset";
}

static const char *studio_name(enum xw_studio s)
{
    return s == XW_STUDIO_NEW ? "DataStudio (new version)"
         : s == XW_STUDIO_LEGACY ? "DataStudio (legacy version)"
                                 : "an unset DataStudio version";
}

static void combination(struct acc *a, const struct xw_workspace *src,
                        const struct xw_workspace *dst)
{
    if (src->mode != XW_MODE_BASIC)
        note(a, XW_R_SOURCE_NOT_BASIC, XW_SEV_ERROR, "source_workspace.mode",
             "the source workspace '%s' is in %s mode; cross-workspace "
             "deployment supports basic-mode source workspaces only",
             src->id, mode_name(src->mode));
    if (dst->mode != XW_MODE_BASIC && dst->mode != XW_MODE_STANDARD)
        note(a, XW_R_DESTINATION_MODE_INVALID, XW_SEV_ERROR,
             "destination_workspace.mode",
             "the destination workspace '%s' has no valid mode; it must be "
             "basic or standard", dst->id);
    if (src->studio != XW_STUDIO_NEW && src->studio != XW_STUDIO_LEGACY)
        note(a, XW_R_STUDIO_VERSION_INVALID, XW_SEV_ERROR,
             "source_workspace.studio_version",
             "the source workspace '%s' has no valid DataStudio version "
             "(new or legacy)", src->id);
    if (dst->studio != XW_STUDIO_NEW && dst->studio != XW_STUDIO_LEGACY)
        note(a, XW_R_STUDIO_VERSION_INVALID, XW_SEV_ERROR,
             "destination_workspace.studio_version",
             "the destination workspace '%s' has no valid DataStudio "
             "version (new or legacy)", dst->id);
    else if ((src->studio == XW_STUDIO_NEW || src->studio == XW_STUDIO_LEGACY)
             && src->studio != dst->studio)
        note(a, XW_R_STUDIO_VERSION_MISMATCH, XW_SEV_ERROR,
             "destination_workspace.studio_version",
             "the destination workspace '%s' uses %s but the source '%s' "
             "uses %s; both must use the same DataStudio version",
             dst->id, studio_name(dst->studio), src->id,
             studio_name(src->studio));
    if (strcmp(src->account, dst->account) != 0)
        note(a, XW_R_CROSS_ACCOUNT, XW_SEV_ERROR,
             "destination_workspace.account",
             "the destination workspace '%s' belongs to account '%s', the "
             "source '%s' to account '%s'; cross-workspace deployment is "
             "limited to workspaces of the same Alibaba Cloud account",
             dst->id, dst->account, src->id, src->account);
    if (strcmp(src->region, dst->region) != 0)
        note(a, XW_R_CROSS_REGION, XW_SEV_ERROR,
             "destination_workspace.region",
             "cross-region deployment is not supported here: the source "
             "'%s' is in region '%s', the destination '%s' in '%s'; use "
             "Deploy Center for cross-region deployment",
             src->id, src->region, dst->id, dst->region);
    if (strcmp(src->id, dst->id) == 0)
        note(a, XW_R_SAME_WORKSPACE, XW_SEV_ERROR, "destination_workspace",
             "the destination workspace '%s' is the source workspace itself; "
             "choose another workspace", dst->id);
}

int xw_rules_check_combination(const struct xw_workspace *src,
                               const struct xw_workspace *dst,
                               struct xw_findings *f)
{
    struct acc a = { .f = f };
    if (!src || !dst) {
        note(&a, XW_R_INVALID_ARGUMENT, XW_SEV_ERROR,
             src ? "destination_workspace" : "source_workspace",
             "the %s workspace is missing", src ? "destination" : "source");
        return -1;
    }
    check_ws_strings(&a, src, "source_workspace");
    check_ws_strings(&a, dst, "destination_workspace");
    if (a.nerr)
        return -1;
    combination(&a, src, dst);
    return a.nerr ? -1 : 0;
}

/* ================================================================== */
/* Rule 2: permissions                                                 */

#define R_DEPLOYERS (XW_ROLE_OM | XW_ROLE_DEPLOY | XW_ROLE_ADMIN)

/* THE permission table. Keep in the order of enum xw_op. */
static const struct xw_permission perm_tab[XW_OP_COUNT] = {
    { XW_OP_ENV_CREATE, "env_create", "creating a deployment environment",
      XW_ROLE_ADMIN, 0, XW_JOIN_SOURCE },
    { XW_OP_ENV_EDIT, "env_edit", "editing a deployment environment",
      XW_ROLE_ADMIN, 0, XW_JOIN_SOURCE },
    { XW_OP_ENV_DELETE, "env_delete", "deleting a deployment environment",
      XW_ROLE_ADMIN, 0, XW_JOIN_SOURCE },
    { XW_OP_ENV_VIEW, "env_view", "viewing deployment environments",
      XW_ROLE_ALL, 0, XW_JOIN_SOURCE },
    { XW_OP_SOURCE_DEPLOY, "source_deploy",
      "deploying tasks to the source production environment",
      R_DEPLOYERS, 0, XW_JOIN_SOURCE },
    { XW_OP_SOURCE_TERMINATE, "source_terminate",
      "terminating a deployment to the source production environment",
      R_DEPLOYERS, 0, XW_JOIN_SOURCE },
    { XW_OP_BASKET_EDIT, "basket_edit", "editing the deployment basket",
      XW_ROLE_DEVELOPMENT | XW_ROLE_ADMIN, 0, XW_JOIN_SOURCE },
    { XW_OP_PACKAGE_CREATE, "package_create", "creating a deployment package",
      XW_ROLE_DEVELOPMENT | XW_ROLE_ADMIN, 0, XW_JOIN_SOURCE },
    { XW_OP_DEPLOY_ALL, "deploy_all",
      "\"deploy all\" (create and deploy a package in one step)",
      XW_ROLE_ADMIN, R_DEPLOYERS, XW_JOIN_BOTH },
    { XW_OP_PACKAGE_DEPLOY, "package_deploy", "deploying a package",
      R_DEPLOYERS, R_DEPLOYERS, XW_JOIN_BOTH },
    { XW_OP_RG_OVERRIDE, "rg_override",
      "changing the resource group at deploy time",
      R_DEPLOYERS, R_DEPLOYERS, XW_JOIN_BOTH },
    { XW_OP_RESULT_VIEW, "result_view", "viewing deployment results",
      XW_ROLE_ALL, XW_ROLE_ALL, XW_JOIN_EITHER },
    { XW_OP_REPLAY, "replay", "replaying a failed deployment",
      R_DEPLOYERS, R_DEPLOYERS, XW_JOIN_BOTH },
};

const struct xw_permission *xw_rules_permission(enum xw_op op)
{
    if ((int)op < 0 || op >= XW_OP_COUNT)
        return NULL;
    return &perm_tab[op];
}

const char *xw_rules_op_name(enum xw_op op)
{
    const struct xw_permission *p = xw_rules_permission(op);
    return p ? p->name : "";
}

int xw_rules_op_parse(const char *name, enum xw_op *op)
{
    if (!name || !op)
        return -1;
    for (int i = 0; i < XW_OP_COUNT; i++) {
        if (strncmp(name, perm_tab[i].name, 32) == 0) {
            *op = (enum xw_op)i;
            return 0;
        }
    }
    return -1;
}

static void deny_side(struct acc *a, const struct xw_permission *p,
                      const char *side, const char *code, const char *path,
                      unsigned need, unsigned have)
{
    char nb[128], hb[128];
    if (need == XW_ROLE_ALL)
        note(a, code, XW_SEV_ERROR, path,
             "%s requires membership in the %s workspace; you are not a "
             "member", p->action, side);
    else
        note(a, code, XW_SEV_ERROR, path,
             "%s requires the %s role in the %s workspace; you have: %s",
             p->action, roles_text(need, "or", nb, sizeof nb), side,
             roles_text(have, "and", hb, sizeof hb));
}

int xw_rules_permit(enum xw_op op, unsigned roles_src, unsigned roles_dst,
                    struct xw_findings *why)
{
    struct acc a = { .f = why };
    const struct xw_permission *p = xw_rules_permission(op);
    bool s_ok, d_ok;

    if (!p) {
        note(&a, XW_R_PERMISSION_UNKNOWN_OP, XW_SEV_ERROR, "operation",
             "operation %d is not a known operation", (int)op);
        return -1;
    }
    roles_src &= XW_ROLE_ALL;
    roles_dst &= XW_ROLE_ALL;
    s_ok = (roles_src & p->source_roles) != 0;
    d_ok = (roles_dst & p->dest_roles) != 0;
    switch (p->join) {
    case XW_JOIN_SOURCE:
        if (s_ok)
            return 0;
        deny_side(&a, p, "source", XW_R_PERMISSION_SOURCE_ROLE,
                  "roles.source", p->source_roles, roles_src);
        return -1;
    case XW_JOIN_BOTH:
        if (s_ok && d_ok)
            return 0;
        if (!s_ok)
            deny_side(&a, p, "source", XW_R_PERMISSION_SOURCE_ROLE,
                      "roles.source", p->source_roles, roles_src);
        if (!d_ok)
            deny_side(&a, p, "destination", XW_R_PERMISSION_DESTINATION_ROLE,
                      "roles.destination", p->dest_roles, roles_dst);
        return -1;
    case XW_JOIN_EITHER:
        if (s_ok || d_ok)
            return 0;
        note(&a, XW_R_PERMISSION_NOT_MEMBER, XW_SEV_ERROR, "roles",
             "%s requires membership in the source or the destination "
             "workspace; you are a member of neither", p->action);
        return -1;
    }
    return -1;
}

/* ================================================================== */
/* Mapping kinds                                                       */

enum mkind { MK_COMPUTE, MK_RG, MK_DS, MK_DEP, MK_COUNT };

static const struct mdesc {
    const char *field;   /* path of the rows */
    const char *what;    /* for sentences */
    const char *source_missing, *source_unknown, *duplicate, *target_missing,
        *target_unknown, *type_mismatch, *unmapped;
} mdesc[MK_COUNT] = {
    { "compute_mappings", "compute resource", XW_R_COMPUTE_SOURCE_MISSING,
      XW_R_COMPUTE_SOURCE_UNKNOWN, XW_R_COMPUTE_DUPLICATE,
      XW_R_COMPUTE_TARGET_MISSING, XW_R_COMPUTE_TARGET_UNKNOWN,
      XW_R_COMPUTE_TYPE_MISMATCH, XW_R_COMPUTE_UNMAPPED },
    { "resource_group_mappings", "resource group", XW_R_RG_SOURCE_MISSING,
      XW_R_RG_SOURCE_UNKNOWN, XW_R_RG_DUPLICATE, XW_R_RG_TARGET_MISSING,
      XW_R_RG_TARGET_UNKNOWN, XW_R_RG_TYPE_MISMATCH, XW_R_RG_UNMAPPED },
    { "data_source_mappings", "data source", XW_R_DS_SOURCE_MISSING,
      XW_R_DS_SOURCE_UNKNOWN, XW_R_DS_DUPLICATE, XW_R_DS_TARGET_MISSING,
      XW_R_DS_TARGET_UNKNOWN, XW_R_DS_TYPE_MISMATCH, XW_R_DS_UNMAPPED },
    { "dependency_mappings", "project", XW_R_DEPENDENCY_SOURCE_MISSING,
      XW_R_DEPENDENCY_SOURCE_UNKNOWN, XW_R_DEPENDENCY_DUPLICATE,
      XW_R_DEPENDENCY_TARGET_MISSING, XW_R_DEPENDENCY_TARGET_UNKNOWN, NULL,
      XW_R_DEPENDENCY_UNMAPPED },
};

/* A uniform view of one workspace resource. */
struct res {
    const char *name;
    const char *type;
    bool is_default, is_shared;
};

static size_t ws_count(const struct xw_workspace *ws, enum mkind k)
{
    switch (k) {
    case MK_COMPUTE: return ws->n_computes;
    case MK_RG: return ws->n_rgroups;
    case MK_DS: return ws->n_datasources;
    default: return ws->n_projects;
    }
}

static void ws_at(const struct xw_workspace *ws, enum mkind k, size_t i,
                  struct res *r)
{
    memset(r, 0, sizeof *r);
    switch (k) {
    case MK_COMPUTE:
        r->name = ws->computes[i].name;
        r->type = ws->computes[i].type;
        break;
    case MK_RG:
        r->name = ws->rgroups[i].name;
        r->type = ws->rgroups[i].type;
        r->is_default = ws->rgroups[i].is_default;
        r->is_shared = ws->rgroups[i].is_shared;
        break;
    case MK_DS:
        r->name = ws->datasources[i].name;
        r->type = ws->datasources[i].type;
        break;
    default:
        r->name = ws->projects[i].name;
        r->type = ws->projects[i].category;
        break;
    }
}

static bool ws_find(const struct xw_workspace *ws, enum mkind k,
                    const char *name, struct res *r)
{
    size_t n = ws_count(ws, k);
    for (size_t i = 0; i < n; i++) {
        ws_at(ws, k, i, r);
        if (strcmp(r->name, name) == 0)
            return true;
    }
    return false;
}

static const struct xw_mapping *env_rows(const struct xw_env *env,
                                         enum mkind k, size_t *n)
{
    switch (k) {
    case MK_COMPUTE: *n = env->n_compute; return env->compute;
    case MK_RG: *n = env->n_rgroups; return env->rgroups;
    case MK_DS: *n = env->n_datasources; return env->datasources;
    default: *n = env->n_deps; return env->deps;
    }
}

static const struct xw_mapping *find_row(const struct xw_env *env,
                                         enum mkind k, const char *source)
{
    size_t n;
    const struct xw_mapping *rows = env_rows(env, k, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].source, source) == 0)
            return &rows[i];
    return NULL;
}

/* ================================================================== */
/* Rule 3: environment validation                                      */

static void validate_kind(struct acc *a, const struct xw_env *env,
                          const struct xw_workspace *src,
                          const struct xw_workspace *dst, enum mkind k,
                          size_t *n_mapped)
{
    const struct mdesc *d = &mdesc[k];
    char pbuf[XW_FINDING_PATH_MAX];
    size_t n;
    const struct xw_mapping *rows = env_rows(env, k, &n);

    *n_mapped = 0;
    for (size_t i = 0; i < n; i++) {
        const struct xw_mapping *m = &rows[i];
        struct res s, t;
        bool have_s;
        bool dup = false;

        if (!m->source[0]) {
            note(a, d->source_missing, XW_SEV_ERROR,
                 PATH("%s[%zu].source", d->field, i),
                 "mapping %zu names no source %s", i, d->what);
            continue;
        }
        have_s = ws_find(src, k, m->source, &s);
        if (!have_s)
            note(a, d->source_unknown, XW_SEV_ERROR,
                 PATH("%s[%zu].source", d->field, i),
                 "%s '%s' is not a %s of the source workspace '%s'",
                 d->what, m->source, d->what, src->id);
        for (size_t j = 0; j < i && !dup; j++)
            dup = strcmp(rows[j].source, m->source) == 0;
        if (dup)
            note(a, d->duplicate, XW_SEV_ERROR,
                 PATH("%s[%zu].source", d->field, i),
                 "%s '%s' is mapped more than once", d->what, m->source);
        if (m->ignore) {
            if (k == MK_RG && have_s && s.is_default)
                note(a, XW_R_RG_IGNORE_DEFAULT, XW_SEV_ERROR,
                     PATH("%s[%zu].ignore", d->field, i),
                     "resource group '%s' is the default group and cannot "
                     "be ignored; map it to a destination resource group",
                     m->source);
            if (k == MK_RG && have_s && s.is_shared)
                note(a, XW_R_RG_IGNORE_SHARED, XW_SEV_ERROR,
                     PATH("%s[%zu].ignore", d->field, i),
                     "resource group '%s' is a shared group and cannot be "
                     "ignored; map it to a destination resource group",
                     m->source);
            continue;
        }
        (*n_mapped)++;
        if (!m->target[0]) {
            note(a, d->target_missing, XW_SEV_ERROR,
                 PATH("%s[%zu].target", d->field, i),
                 "%s '%s' is neither mapped to a destination %s nor ignored",
                 d->what, m->source, d->what);
            continue;
        }
        if (!dst)
            continue; /* destination_missing already said it */
        if (!ws_find(dst, k, m->target, &t)) {
            note(a, d->target_unknown, XW_SEV_ERROR,
                 PATH("%s[%zu].target", d->field, i),
                 "%s '%s' is not a %s of the destination workspace '%s'",
                 d->what, m->target, d->what, dst->id);
            continue;
        }
        if (d->type_mismatch && have_s && strcmp(s.type, t.type) != 0)
            note(a, d->type_mismatch, XW_SEV_ERROR,
                 PATH("%s[%zu].target", d->field, i),
                 "%s '%s' is of type '%s' but '%s' is of type '%s'; only "
                 "%ss of the same type can be mapped", d->what, m->source,
                 s.type, m->target, t.type, d->what);
        else if (k == MK_RG && have_s &&
                 strcmp(s.type, XW_RG_TYPE_DATA_INTEGRATION) == 0)
            note(a, XW_R_RG_DATA_INTEGRATION, XW_SEV_WARNING,
                 PATH("%s[%zu].target", d->field, i),
                 "'%s' and '%s' are Data Integration resource groups: make "
                 "sure the destination group's whitelist and network "
                 "connectivity settings match those of the source",
                 m->source, m->target);
    }

    /* Coverage: every source resource should have a row. */
    n = ws_count(src, k);
    for (size_t i = 0; i < n; i++) {
        struct res s;
        ws_at(src, k, i, &s);
        if (find_row(env, k, s.name))
            continue;
        note(a, d->unmapped, XW_SEV_WARNING, d->field,
             "%s '%s' of the source workspace is neither mapped nor "
             "ignored; objects that use it will fail to deploy", d->what,
             s.name);
    }
}

static void validate_params(struct acc *a, const struct xw_env *env)
{
    char pbuf[XW_FINDING_PATH_MAX];

    for (size_t i = 0; i < env->n_params; i++) {
        const struct xw_param_mapping *p = &env->params[i];
        struct xw_param_error pe;

        if (!p->name[0]) {
            note(a, XW_R_PARAM_NAME_MISSING, XW_SEV_ERROR,
                 PATH("parameter_mappings[%zu].name", i),
                 "parameter mapping %zu has no parameter name", i);
        } else {
            for (size_t j = 0; j < i; j++) {
                if (strcmp(env->params[j].task, p->task) == 0 &&
                    strcmp(env->params[j].name, p->name) == 0) {
                    if (p->task[0])
                        note(a, XW_R_PARAM_DUPLICATE, XW_SEV_ERROR,
                             PATH("parameter_mappings[%zu].name", i),
                             "parameter '%s' is given twice for task '%s'; "
                             "parameter names must be unique within each "
                             "task", p->name, p->task);
                    else
                        note(a, XW_R_PARAM_DUPLICATE, XW_SEV_ERROR,
                             PATH("parameter_mappings[%zu].name", i),
                             "parameter '%s' is given twice for all tasks; "
                             "parameter names must be unique within each "
                             "task", p->name);
                    break;
                }
            }
        }
        if (xw_param_validate(p->value, NULL, &pe) < 0)
            note(a, pe.code, XW_SEV_ERROR,
                 PATH("parameter_mappings[%zu].value", i),
                 "parameter '%s': %s", p->name, pe.message);
    }
}

int xw_rules_validate_env(const struct xw_env *env,
                          const struct xw_workspace *src,
                          const struct xw_workspace *dst,
                          const char *const *existing_names,
                          size_t n_existing, struct xw_findings *f)
{
    struct acc a = { .f = f };
    size_t n_mapped;

    if (!env || !src) {
        note(&a, XW_R_INVALID_ARGUMENT, XW_SEV_ERROR, env ? "source_workspace"
                                                          : "",
             "the %s is missing", env ? "source workspace" : "environment");
        return -1;
    }
    check_env_strings(&a, env);
    check_ws_strings(&a, src, "source_workspace");
    if (dst)
        check_ws_strings(&a, dst, "destination_workspace");
    if (a.nerr)
        return -1; /* nothing below may read an unterminated string */

    if (!env->name[0]) {
        note(&a, XW_R_ENV_NAME_MISSING, XW_SEV_ERROR, "name",
             "the environment needs a name");
    } else {
        for (size_t i = 0; i < n_existing; i++) {
            const char *e = existing_names ? existing_names[i] : NULL;
            if (e && strnlen(e, XW_NAME_MAX + 1) <= XW_NAME_MAX &&
                strcmp(e, env->name) == 0) {
                note(&a, XW_R_ENV_NAME_DUPLICATE, XW_SEV_ERROR, "name",
                     "the source workspace already has an environment "
                     "named '%s'", env->name);
                break;
            }
        }
    }
    if (strcmp(env->type, XW_ENV_TYPE_CROSS_WORKSPACE) != 0)
        note(&a, XW_R_ENV_TYPE_UNSUPPORTED, XW_SEV_ERROR, "type",
             "deployment type '%s' is not supported; the type must be "
             "cross_workspace", env->type);
    if (env->owner_policy != XW_OWNER_DEFAULT &&
        env->owner_policy != XW_OWNER_PACKAGE_CREATOR &&
        env->owner_policy != XW_OWNER_PACKAGE_EXECUTOR)
        note(&a, XW_R_ENV_OWNER_POLICY_INVALID, XW_SEV_ERROR, "owner_policy",
             "the deployment object owner must be default, package_creator "
             "or package_executor");
    if (strcmp(env->source_ws, src->id) != 0)
        note(&a, XW_R_ENV_SOURCE_MISMATCH, XW_SEV_ERROR, "source_workspace",
             "the environment belongs to workspace '%s', not to '%s'",
             env->source_ws, src->id);
    if (!dst || !env->dest_ws[0] || strcmp(env->dest_ws, dst->id) != 0) {
        if (env->dest_ws[0])
            note(&a, XW_R_DESTINATION_MISSING, XW_SEV_ERROR,
                 "destination_workspace",
                 "the destination workspace '%s' does not exist",
                 env->dest_ws);
        else
            note(&a, XW_R_DESTINATION_MISSING, XW_SEV_ERROR,
                 "destination_workspace", "select a destination workspace");
        dst = NULL;
    } else {
        combination(&a, src, dst);
    }

    validate_kind(&a, env, src, dst, MK_COMPUTE, &n_mapped);
    if (n_mapped == 0)
        note(&a, XW_R_COMPUTE_NONE_MAPPED, XW_SEV_ERROR, "compute_mappings",
             "at least one compute resource of the source workspace must be "
             "mapped to a compute resource of the destination workspace");
    validate_kind(&a, env, src, dst, MK_RG, &n_mapped);
    validate_kind(&a, env, src, dst, MK_DEP, &n_mapped);
    validate_kind(&a, env, src, dst, MK_DS, &n_mapped);
    validate_params(&a, env);
    return a.nerr ? -1 : 0;
}

/* ================================================================== */
/* Rule 5: mapping one object                                          */

void xw_rules_mapped_release(struct xw_mapped *m)
{
    if (!m)
        return;
    free(m->datasources);
    free(m->deps);
    free(m->params);
    m->datasources = NULL;
    m->deps = NULL;
    m->params = NULL;
    m->n_datasources = m->n_deps = m->n_params = 0;
}

static void check_object_strings(struct acc *a, const struct xw_object *o)
{
    CHECK_STR(a, o->id, "object.id");
    CHECK_STR(a, o->name, "object.name");
    CHECK_STR(a, o->compute, "object.compute_resource");
    CHECK_STR(a, o->rgroup, "object.resource_group");
    CHECK_STR(a, o->owner, "object.owner");
    for (size_t i = 0; i < o->n_datasources; i++)
        CHECK_STR(a, o->datasources[i].name, "object.data_sources[%zu]", i);
    for (size_t i = 0; i < o->n_deps; i++) {
        CHECK_STR(a, o->deps[i].project, "object.dependencies[%zu].project",
                  i);
        CHECK_STR(a, o->deps[i].node, "object.dependencies[%zu].node", i);
    }
    for (size_t i = 0; i < o->n_params; i++) {
        CHECK_STR(a, o->params[i].name, "object.parameters[%zu].name", i);
        CHECK_STR(a, o->params[i].value, "object.parameters[%zu].value", i);
    }
}

static void check_req_string(struct acc *a, const char *s, size_t max,
                             const char *path)
{
    if (s && strnlen(s, max + 1) > max)
        note(a, XW_R_FIELD_TOO_LONG, XW_SEV_ERROR, path,
             "this field is longer than %zu bytes", max);
}

static void copy_str(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

static void map_rgroup(struct acc *a, const struct xw_env *env,
                       const struct xw_workspace *src,
                       const struct xw_workspace *dst,
                       const struct xw_object *o, const char *ovr,
                       struct xw_mapped *out)
{
    struct res s, t;
    bool have_s;
    const struct xw_mapping *row;

    if (!o->rgroup[0]) {
        out->rgroup_by = XW_RG_BY_NONE; /* an override does not apply */
        return;
    }
    have_s = ws_find(src, MK_RG, o->rgroup, &s);
    if (ovr && ovr[0]) {
        if (!have_s) {
            note(a, XW_R_RG_SOURCE_UNKNOWN, XW_SEV_ERROR,
                 "object.resource_group",
                 "resource group '%s' of the object is not a resource group "
                 "of the source workspace '%s', so the override '%s' cannot "
                 "be checked against its type", o->rgroup, src->id, ovr);
            return;
        }
        if (!ws_find(dst, MK_RG, ovr, &t)) {
            note(a, XW_R_RG_OVERRIDE_UNKNOWN, XW_SEV_ERROR,
                 "resource_group_override",
                 "the resource group '%s' chosen for this deployment is not "
                 "a resource group of the destination workspace '%s'", ovr,
                 dst->id);
            return;
        }
        if (strcmp(s.type, t.type) != 0) {
            note(a, XW_R_RG_OVERRIDE_TYPE, XW_SEV_ERROR,
                 "resource_group_override",
                 "the resource group '%s' chosen for this deployment is of "
                 "type '%s' but the object's group '%s' is of type '%s'; "
                 "choose a group of the same type", ovr, t.type, o->rgroup,
                 s.type);
            return;
        }
        copy_str(out->rgroup, sizeof out->rgroup, ovr);
        out->rgroup_by = XW_RG_BY_OVERRIDE;
        return;
    }
    row = find_row(env, MK_RG, o->rgroup);
    if (!row) {
        note(a, XW_R_RG_UNMAPPED, XW_SEV_ERROR, "object.resource_group",
             "resource group '%s' is neither mapped nor ignored in "
             "environment '%s'; map it, or choose a resource group when "
             "deploying", o->rgroup, env->name);
        return;
    }
    if (row->ignore) {
        copy_str(out->rgroup, sizeof out->rgroup, o->rgroup);
        out->rgroup_by = XW_RG_BY_IGNORE;
        return;
    }
    if (!ws_find(dst, MK_RG, row->target, &t)) {
        note(a, XW_R_RG_TARGET_UNKNOWN, XW_SEV_ERROR, "object.resource_group",
             "resource group '%s' is mapped to '%s', which is not a resource "
             "group of the destination workspace '%s'", o->rgroup,
             row->target, dst->id);
        return;
    }
    copy_str(out->rgroup, sizeof out->rgroup, row->target);
    out->rgroup_by = XW_RG_BY_MAPPING;
}

static void map_datasources(struct acc *a, const struct xw_env *env,
                            const struct xw_workspace *dst,
                            const struct xw_object *o, struct xw_mapped *out)
{
    char pbuf[XW_FINDING_PATH_MAX];
    struct res t;

    for (size_t i = 0; i < o->n_datasources; i++) {
        const char *name = o->datasources[i].name;
        const struct xw_mapping *row = find_row(env, MK_DS, name);
        if (!row) {
            note(a, XW_R_DS_UNMAPPED, XW_SEV_ERROR,
                 PATH("object.data_sources[%zu]", i),
                 "data source '%s' is neither mapped nor ignored in "
                 "environment '%s'", name, env->name);
            continue;
        }
        if (row->ignore) {
            copy_str(out->datasources[i].name, sizeof out->datasources[i].name,
                     name);
            continue;
        }
        if (!ws_find(dst, MK_DS, row->target, &t)) {
            note(a, XW_R_DS_TARGET_UNKNOWN, XW_SEV_ERROR,
                 PATH("object.data_sources[%zu]", i),
                 "data source '%s' is mapped to '%s', which is not a data "
                 "source of the destination workspace '%s'", name,
                 row->target, dst->id);
            continue;
        }
        copy_str(out->datasources[i].name, sizeof out->datasources[i].name,
                 row->target);
    }
}

static void map_deps(struct acc *a, const struct xw_env *env,
                     const struct xw_workspace *src,
                     const struct xw_workspace *dst,
                     const struct xw_object *o, struct xw_mapped *out)
{
    char pbuf[XW_FINDING_PATH_MAX];
    struct res t;

    for (size_t i = 0; i < o->n_deps; i++) {
        const struct xw_dep *d = &o->deps[i];
        const struct xw_mapping *row;

        copy_str(out->deps[i].node, sizeof out->deps[i].node, d->node);
        if (!d->project[0]) {
            note(a, XW_R_OBJECT_INVALID, XW_SEV_ERROR,
                 PATH("object.dependencies[%zu].project", i),
                 "dependency %zu names no project", i);
            continue;
        }
        if (strcmp(d->project, src->id) == 0) {
            /* Inside the source workspace: follows the object over. */
            copy_str(out->deps[i].project, sizeof out->deps[i].project,
                     dst->id);
            continue;
        }
        row = find_row(env, MK_DEP, d->project);
        if (!row) {
            note(a, XW_R_DEPENDENCY_UNMAPPED, XW_SEV_ERROR,
                 PATH("object.dependencies[%zu].project", i),
                 "upstream project '%s' (node '%s') is neither mapped nor "
                 "ignored in environment '%s'", d->project, d->node,
                 env->name);
            continue;
        }
        if (row->ignore) {
            copy_str(out->deps[i].project, sizeof out->deps[i].project,
                     d->project);
            continue;
        }
        if (!ws_find(dst, MK_DEP, row->target, &t)) {
            note(a, XW_R_DEPENDENCY_TARGET_UNKNOWN, XW_SEV_ERROR,
                 PATH("object.dependencies[%zu].project", i),
                 "upstream project '%s' is mapped to '%s', which is not a "
                 "project of the destination workspace '%s'", d->project,
                 row->target, dst->id);
            continue;
        }
        copy_str(out->deps[i].project, sizeof out->deps[i].project,
                 row->target);
    }
}

static void map_params(const struct xw_env *env, const struct xw_object *o,
                       struct xw_mapped *out)
{
    for (size_t i = 0; i < o->n_params; i++) {
        const struct xw_obj_param *p = &o->params[i];
        const char *value = p->value;
        const struct xw_param_mapping *general = NULL, *specific = NULL;

        for (size_t j = 0; j < env->n_params; j++) {
            const struct xw_param_mapping *m = &env->params[j];
            if (strcmp(m->name, p->name) != 0)
                continue;
            if (!m->task[0] && !general)
                general = m;
            else if (m->task[0] && strcmp(m->task, o->id) == 0 && !specific)
                specific = m;
        }
        if (specific)
            value = specific->value;
        else if (general)
            value = general->value;
        copy_str(out->params[i].name, sizeof out->params[i].name, p->name);
        copy_str(out->params[i].value, sizeof out->params[i].value, value);
    }
}

static void map_owner(struct acc *a, const struct xw_env *env,
                      const struct xw_workspace *dst,
                      const struct xw_object *o,
                      const struct xw_map_request *req, struct xw_mapped *out)
{
    const char *who = NULL;

    switch (env->owner_policy) {
    case XW_OWNER_DEFAULT:
        if (o->owner[0] && xw_rules_roles_of(dst, o->owner) != 0) {
            who = o->owner;
            out->owner_by = XW_OWNER_BY_SOURCE;
        } else {
            who = req->executor;
            out->owner_by = XW_OWNER_BY_EXECUTOR_FALLBACK;
        }
        break;
    case XW_OWNER_PACKAGE_CREATOR:
        who = req->creator;
        out->owner_by = XW_OWNER_BY_CREATOR;
        break;
    case XW_OWNER_PACKAGE_EXECUTOR:
        who = req->executor;
        out->owner_by = XW_OWNER_BY_EXECUTOR;
        break;
    default:
        note(a, XW_R_ENV_OWNER_POLICY_INVALID, XW_SEV_ERROR, "owner_policy",
             "environment '%s' has no valid owner policy", env->name);
        return;
    }
    if (!who || !who[0]) {
        note(a, XW_R_OWNER_MISSING, XW_SEV_ERROR, "object.owner",
             "no owner can be assigned: the %s is unknown",
             env->owner_policy == XW_OWNER_PACKAGE_CREATOR
                 ? "package creator" : "deployment executor");
        out->owner_by = NULL;
        return;
    }
    copy_str(out->owner, sizeof out->owner, who);
}

static enum xw_map_outcome finish(struct acc *a, struct xw_mapped *out)
{
    if (a->nerr == 0) {
        out->outcome = XW_MAP_MAPPED;
        out->code = NULL;
        out->reason[0] = '\0';
        return XW_MAP_MAPPED;
    }
    xw_rules_mapped_release(out);
    out->outcome = XW_MAP_FAILED;
    out->code = a->first_code;
    copy_str(out->reason, sizeof out->reason, a->first_msg);
    return XW_MAP_FAILED;
}

enum xw_map_outcome xw_rules_map_object(const struct xw_env *env,
                                        const struct xw_workspace *src,
                                        const struct xw_workspace *dst,
                                        const struct xw_object *o,
                                        const struct xw_map_request *req,
                                        struct xw_mapped *out,
                                        struct xw_findings *f)
{
    struct acc a = { .f = f };
    const struct xw_mapping *row;
    struct res t;

    if (!out)
        return XW_MAP_FAILED;
    memset(out, 0, sizeof *out);
    if (!env || !src || !dst || !o || !req) {
        note(&a, XW_R_INVALID_ARGUMENT, XW_SEV_ERROR, "",
             "the environment, workspaces, object and request are required");
        return finish(&a, out);
    }
    check_env_strings(&a, env);
    check_ws_strings(&a, src, "source_workspace");
    check_ws_strings(&a, dst, "destination_workspace");
    check_object_strings(&a, o);
    check_req_string(&a, req->creator, XW_ID_MAX, "package.creator");
    check_req_string(&a, req->executor, XW_ID_MAX, "package.executor");
    check_req_string(&a, req->rg_override, XW_NAME_MAX,
                     "resource_group_override");
    if (a.nerr)
        return finish(&a, out);

    out->kind = o->kind;
    copy_str(out->id, sizeof out->id, o->id);
    copy_str(out->name, sizeof out->name, o->name);
    out->version = o->version;
    out->gen_mode = o->gen_mode;
    out->sched_hour = o->sched_hour;
    out->sched_minute = o->sched_minute;
    out->sched_second = o->sched_second;

    /* Compute resource first: an ignored one leaves the object out. */
    if (!o->compute[0]) {
        note(&a, XW_R_OBJECT_INVALID, XW_SEV_ERROR, "object.compute_resource",
             "object '%s' names no compute resource", o->id);
    } else if (!(row = find_row(env, MK_COMPUTE, o->compute))) {
        note(&a, XW_R_COMPUTE_UNMAPPED, XW_SEV_ERROR, "object.compute_resource",
             "compute resource '%s' is neither mapped nor ignored in "
             "environment '%s'; map or ignore it", o->compute, env->name);
    } else if (row->ignore) {
        out->outcome = XW_MAP_EXCLUDED;
        out->code = XW_R_COMPUTE_IGNORED;
        snprintf(out->reason, sizeof out->reason,
                 "compute resource '%s' is ignored in environment '%s'; "
                 "objects on it are left out of the package", o->compute,
                 env->name);
        xw_findings_add(f, XW_R_COMPUTE_IGNORED, XW_SEV_WARNING,
                        "object.compute_resource", "%s", out->reason);
        return XW_MAP_EXCLUDED;
    } else if (!ws_find(dst, MK_COMPUTE, row->target, &t)) {
        note(&a, XW_R_COMPUTE_TARGET_UNKNOWN, XW_SEV_ERROR, "object.compute_resource",
             "compute resource '%s' is mapped to '%s', which is not a "
             "compute resource of the destination workspace '%s'",
             o->compute, row->target, dst->id);
    } else {
        copy_str(out->compute, sizeof out->compute, row->target);
    }

    if (o->kind < XW_OBJ_NODE || o->kind > XW_OBJ_COMPONENT)
        note(&a, XW_R_OBJECT_INVALID, XW_SEV_ERROR, "object.kind",
             "object '%s' is not a node, function, resource or component",
             o->id);
    if (!o->id[0])
        note(&a, XW_R_OBJECT_INVALID, XW_SEV_ERROR, "object.id",
             "the object has no id");
    if (o->gen_mode != XW_GEN_NEXT_DAY && o->gen_mode != XW_GEN_IMMEDIATE)
        note(&a, XW_R_OBJECT_INVALID, XW_SEV_ERROR, "object.generation_mode",
             "object '%s' has no valid instance generation mode (next_day "
             "or immediate)", o->id);
    if (o->sched_hour < 0 || o->sched_hour > 23 || o->sched_minute < 0 ||
        o->sched_minute > 59 || o->sched_second < 0 || o->sched_second > 59)
        note(&a, XW_R_OBJECT_INVALID, XW_SEV_ERROR, "object.scheduled_time",
             "object '%s' has a scheduled time outside 00:00:00..23:59:59",
             o->id);

    map_rgroup(&a, env, src, dst, o, req->rg_override, out);

    if (o->n_datasources) {
        out->datasources = calloc(o->n_datasources, sizeof *out->datasources);
        out->n_datasources = o->n_datasources;
    }
    if (o->n_deps) {
        out->deps = calloc(o->n_deps, sizeof *out->deps);
        out->n_deps = o->n_deps;
    }
    if (o->n_params) {
        out->params = calloc(o->n_params, sizeof *out->params);
        out->n_params = o->n_params;
    }
    if ((o->n_datasources && !out->datasources) || (o->n_deps && !out->deps) ||
        (o->n_params && !out->params)) {
        note(&a, XW_R_OUT_OF_MEMORY, XW_SEV_ERROR, "",
             "out of memory while mapping object '%s'", o->id);
        return finish(&a, out);
    }
    map_datasources(&a, env, dst, o, out);
    map_deps(&a, env, src, dst, o, out);
    map_params(env, o, out);
    map_owner(&a, env, dst, o, req, out);
    return finish(&a, out);
}

/* ================================================================== */
/* Rule 7: package status and replay                                   */

const char *xw_rules_pkg_status_name(enum xw_pkg_status s)
{
    switch (s) {
    case XW_PKG_PENDING: return "pending";
    case XW_PKG_DEPLOYING: return "deploying";
    case XW_PKG_SUCCEEDED: return "succeeded";
    case XW_PKG_FAILED: return "failed";
    }
    return "";
}

const char *xw_rules_obj_state_name(enum xw_obj_state s)
{
    switch (s) {
    case XW_OBJ_PENDING: return "pending";
    case XW_OBJ_DEPLOYED: return "deployed";
    case XW_OBJ_FAILED: return "failed";
    case XW_OBJ_EXCLUDED: return "excluded";
    }
    return "";
}

int xw_rules_package_status(const enum xw_obj_state *states, size_t n,
                            struct xw_pkg_summary *out, struct xw_findings *f)
{
    struct acc a = { .f = f };
    char pbuf[XW_FINDING_PATH_MAX];
    struct xw_pkg_summary s = { 0 };

    if (!out || (n && !states)) {
        note(&a, XW_R_INVALID_ARGUMENT, XW_SEV_ERROR, "objects",
             "no object states given");
        if (out)
            memset(out, 0, sizeof *out);
        return -1;
    }
    s.total = n;
    for (size_t i = 0; i < n; i++) {
        switch (states[i]) {
        case XW_OBJ_PENDING: s.pending++; break;
        case XW_OBJ_DEPLOYED: s.deployed++; break;
        case XW_OBJ_FAILED: s.failed++; break;
        case XW_OBJ_EXCLUDED: s.excluded++; break;
        default:
            note(&a, XW_R_STATE_INVALID, XW_SEV_ERROR,
                 PATH("objects[%zu]", i),
                 "object %zu has an unknown state %d", i, (int)states[i]);
        }
    }
    if (a.nerr) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    if (s.pending == n && n > 0)
        s.status = XW_PKG_PENDING;
    else if (s.pending > 0)
        s.status = XW_PKG_DEPLOYING;
    else if (s.failed > 0)
        s.status = XW_PKG_FAILED;
    else
        s.status = XW_PKG_SUCCEEDED;
    *out = s;
    return 0;
}

int xw_rules_replay_select(const enum xw_obj_state *states, size_t n,
                           size_t *idx, size_t cap, size_t *n_out,
                           struct xw_findings *f)
{
    struct acc a = { .f = f };
    struct xw_pkg_summary s;
    size_t k = 0;

    if (n_out)
        *n_out = 0;
    if (!n_out || (cap && !idx)) {
        note(&a, XW_R_INVALID_ARGUMENT, XW_SEV_ERROR, "",
             "no room for the replay selection");
        return -1;
    }
    if (xw_rules_package_status(states, n, &s, f) < 0)
        return -1;
    if (s.status != XW_PKG_FAILED) {
        note(&a, XW_R_REPLAY_NOT_FAILED, XW_SEV_ERROR, "status",
             "only a failed package can be replayed; this package is %s",
             xw_rules_pkg_status_name(s.status));
        return -1;
    }
    *n_out = s.failed;
    if (s.failed > cap) {
        note(&a, XW_R_REPLAY_CAPACITY, XW_SEV_ERROR, "",
             "%zu failed objects do not fit in %zu slots", s.failed, cap);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (states[i] == XW_OBJ_FAILED)
            idx[k++] = i;
    return 0;
}
