/* Package history: PackageCreated and DeployStarted chunks into the
 * summary (xw:pkgsum), the per-attempt counters (xw:cnt) and the
 * workspaces' package lists (xw:pkgs). The work is done by the CREATED and
 * STARTED scripts (scripts.c); here the events are read and checked, and
 * the scripts queued. Nothing is queued before every field is checked, so
 * a poison event leaves the batch as it was. */
#include <stdio.h>
#include <string.h>

#include "reporter.h"

/* The fields both events carry about the package. */
struct pkg_fields {
    const char *pkg, *src, *dst, *env, *creator;
    size_t pkg_len, src_len, dst_len, env_len, creator_len;
    int64_t occurred_at;
};

static int read_pkg(const avro_value_t *v, struct pkg_fields *p,
                    struct xw_handle_error *err)
{
    int rc;

    if (rep_get_id(v, "package_id", &p->pkg, &p->pkg_len, err) < 0
        || rep_get_id(v, "source_workspace", &p->src, &p->src_len, err) < 0
        || rep_get_id(v, "destination_workspace", &p->dst, &p->dst_len, err)
           < 0
        || rep_get_id(v, "environment", &p->env, &p->env_len, err) < 0
        || rep_get_id(v, "creator", &p->creator, &p->creator_len, err) < 0)
        return -1;
    rc = xw_avro_get_long(v, "occurred_at", &p->occurred_at);
    if (rc != 0 || p->occurred_at < 0) {
        xw_handle_fail(err, XW_HANDLE_POISON, "invalid_event",
                       "occurred_at missing or negative");
        return -1;
    }
    return 0;
}

enum xw_handle_result rep_history_created(struct reporter *r,
                                          const avro_value_t *v,
                                          struct xw_handle_error *err)
{
    struct rep_cmds *l = &r->main;
    struct pkg_fields p;
    const char *eid;
    size_t eid_len, nobj = 0, nexcl = 0;
    struct rep_op *op;

    if (read_pkg(v, &p, err) < 0
        || rep_get_id(v, "event_id", &eid, &eid_len, err) < 0)
        return XW_HANDLE_POISON;
    if (xw_avro_array_size(v, "objects", &nobj) < 0
        || xw_avro_array_size(v, "excluded", &nexcl) < 0)
        return xw_handle_fail(err, XW_HANDLE_POISON, "invalid_event",
                              "objects/excluded missing");
    if (rep_cmd_script(r, l, REP_OP_CREATED, REP_LUA_CREATED, 4) < 0
        || rep_argf(r, l, "xw:seen:reporter:%s", eid) < 0
        || rep_argf(r, l, "xw:pkgsum:%s", p.pkg) < 0
        || rep_argf(r, l, "xw:pkgs:%s", p.src) < 0
        || rep_argf(r, l, "xw:pkgs:%s", p.dst) < 0
        || rep_argf(r, l, "%lld", r->dedupe_ttl_s) < 0
        || rep_arg(r, l, p.pkg, p.pkg_len) < 0
        || rep_arg(r, l, p.src, p.src_len) < 0
        || rep_arg(r, l, p.dst, p.dst_len) < 0
        || rep_arg(r, l, p.env, p.env_len) < 0
        || rep_arg(r, l, p.creator, p.creator_len) < 0
        || rep_argf(r, l, "%lld", (long long)p.occurred_at) < 0
        || rep_argf(r, l, "%zu", nobj) < 0
        || rep_argf(r, l, "%zu", nexcl) < 0)
        return XW_HANDLE_RETRY;
    op = rep_cmd_last(l);
    if (rep_str_add(r, p.pkg, p.pkg_len, &op->pkg) < 0)
        return XW_HANDLE_RETRY;
    return XW_HANDLE_OK;
}

enum xw_handle_result rep_history_started(struct reporter *r,
                                          const avro_value_t *v,
                                          struct xw_handle_error *err)
{
    struct rep_cmds *l = &r->main;
    struct pkg_fields p;
    const char *exec;
    size_t exec_len;
    int32_t att, total;
    int64_t deploy_at = 0, started_at;
    struct rep_op *op;

    if (read_pkg(v, &p, err) < 0
        || rep_get_id(v, "executor", &exec, &exec_len, err) < 0)
        return XW_HANDLE_POISON;
    if (xw_avro_get_int(v, "attempt", &att) != 0 || att < 1)
        return xw_handle_fail(err, XW_HANDLE_POISON, "invalid_event",
                              "attempt must be >= 1");
    if (xw_avro_get_int(v, "total", &total) != 0 || total < 0)
        return xw_handle_fail(err, XW_HANDLE_POISON, "invalid_event",
                              "total must be >= 0");
    /* started_at: the recorded deploy instant, else when it was asked. */
    if (xw_avro_get_long(v, "deploy_at", &deploy_at) != 0 || deploy_at <= 0)
        deploy_at = 0;
    started_at = deploy_at ? deploy_at : p.occurred_at;
    if (rep_cmd_script(r, l, REP_OP_STARTED, REP_LUA_STARTED, 3) < 0
        || rep_argf(r, l, "xw:cnt:%s:%d", p.pkg, (int)att) < 0
        || rep_argf(r, l, "xw:pkgsum:%s", p.pkg) < 0
        || rep_arg(r, l, "xw:deploying", 12) < 0
        || rep_arg(r, l, p.pkg, p.pkg_len) < 0
        || rep_argf(r, l, "%d", (int)att) < 0
        || rep_argf(r, l, "%d", (int)total) < 0
        || rep_arg(r, l, exec, exec_len) < 0
        || rep_argf(r, l, "%lld", (long long)started_at) < 0
        || rep_arg(r, l, p.src, p.src_len) < 0
        || rep_arg(r, l, p.dst, p.dst_len) < 0
        || rep_arg(r, l, p.env, p.env_len) < 0
        || rep_arg(r, l, p.creator, p.creator_len) < 0
        || rep_argf(r, l, "%lld", (long long)p.occurred_at) < 0)
        return XW_HANDLE_RETRY;
    op = rep_cmd_last(l);
    op->att = (int)att;
    if (rep_str_add(r, p.pkg, p.pkg_len, &op->pkg) < 0)
        return XW_HANDLE_RETRY;
    return XW_HANDLE_OK;
}
