/*
 * package.c - `xwdeploy package ...` (and `replay`): step 3's package
 * creation, step 4's deploy and replay, step 5's list and show.
 *
 * --wait on a deploy follows the package, not only the request: the
 * request is "done" as soon as the deploy command is accepted by the
 * pipeline, the package is done when every object has an outcome.
 */
#include <string.h>

#include "cli.h"
#include "xw_json.h"

static const struct cli_col list_cols[] = {
    { "PACKAGE", "id|package_id", FMT_TEXT, 64 },
    { "ENV", "environment", FMT_TEXT, 32 },
    { "DESTINATION", "destination_workspace", FMT_TEXT, 24 },
    { "STATUS", "status", FMT_TEXT, 0 },
    { "TOTAL", "total|counts.total", FMT_TEXT, 0 },
    { "DEPLOYED", "deployed|counts.deployed", FMT_TEXT, 0 },
    { "FAILED", "failed|counts.failed", FMT_TEXT, 0 },
    { "EXCLUDED", "excluded|counts.excluded", FMT_TEXT, 0 },
    { "CREATOR", "creator", FMT_TEXT, 24 },
    { "EXECUTOR", "executor", FMT_TEXT, 24 },
    { "CREATED", "created_at", FMT_TIME, 0 },
};

static const struct cli_col header_fields[] = {
    { "package", "id", FMT_TEXT, 0 },
    { "environment", "environment", FMT_TEXT, 0 },
    { "route", "route", FMT_TEXT, 0 },
    { "status", "status", FMT_TEXT, 0 },
    { "objects", "counts", FMT_TEXT, 0 },
    { "creator", "creator", FMT_TEXT, 0 },
    { "executor", "executor", FMT_TEXT, 0 },
    { "attempt", "attempt", FMT_TEXT, 0 },
    { "rg override", "rg", FMT_TEXT, 0 },
    { "created", "created", FMT_TIME, 0 },
    { "started", "started", FMT_TIME, 0 },
    { "finished", "finished", FMT_TIME, 0 },
};

static const struct cli_col object_cols[] = {
    { "OBJECT", "object_id|id", FMT_TEXT, 40 },
    { "KIND", "kind", FMT_TEXT, 0 },
    { "OUTCOME", "outcome|status", FMT_TEXT, 0 },
    { "REASON", "reason|reason_code", FMT_TEXT, 60 },
    { "COMPUTE", "compute_resource|destination.compute_resource", FMT_TEXT,
      28 },
    { "RESOURCE GROUP", "resource_group|destination.resource_group",
      FMT_TEXT, 28 },
    { "OWNER", "owner|destination.owner", FMT_TEXT, 20 },
    { "EFFECTIVE", "effective_at|effective_date|effective", FMT_TIME, 0 },
};

/* The header fields of a package, some of them composed ("dev → prod",
 * the counts in one line), as a small object for cli_record(). */
static json_t *header_of(const json_t *pkg)
{
    char route[300], counts[200];
    const char *src = cli_str_at(pkg, "source_workspace|source");
    const char *dst = cli_str_at(pkg, "destination_workspace|destination");
    long long pending = cli_int_at(pkg, "pending|counts.pending", 0);
    int n;
    /* Copied as they are; cli_record leaves out what is missing. */
    static const char *const copy[][2] = {
        { "id", "id|package_id" }, { "environment", "environment" },
        { "status", "status" }, { "creator", "creator" },
        { "executor", "executor" }, { "attempt", "attempt|current_attempt" },
        { "rg", "resource_group_override" }, { "created", "created_at" },
        { "started", "started_at" }, { "finished", "finished_at" },
    };
    json_t *h;

    snprintf(route, sizeof route, "%s \xe2\x86\x92 %s", src ? src : "?",
             dst ? dst : "?");
    n = snprintf(counts, sizeof counts,
                 "%lld total, %lld deployed, %lld failed, %lld excluded",
                 cli_int_at(pkg, "total|counts.total", 0),
                 cli_int_at(pkg, "deployed|counts.deployed", 0),
                 cli_int_at(pkg, "failed|counts.failed", 0),
                 cli_int_at(pkg, "excluded|counts.excluded", 0));
    if (pending > 0 && n > 0 && (size_t)n < sizeof counts)
        snprintf(counts + n, sizeof counts - (size_t)n, ", %lld pending",
                 pending);
    h = json_pack("{ss ss}", "route", route, "counts", counts);
    for (size_t i = 0; h && i < CLI_NELEM(copy); i++) {
        const json_t *v = cli_json_at(pkg, copy[i][1]);

        if (v)
            json_object_set(h, copy[i][0], (json_t *)v);
    }
    return h;
}

static int render_package(struct cli *c, const json_t *pkg)
{
    json_t *h = header_of(pkg);
    const json_t *objects = cli_json_at(pkg, "objects|items|results");

    if (!h) {
        cli_err("out of memory");
        return CLI_UNAVAILABLE;
    }
    cli_record(h, header_fields, CLI_NELEM(header_fields));
    json_decref(h);
    if (json_array_size(objects)) {
        putchar('\n');
        cli_table(objects, object_cols, CLI_NELEM(object_cols), c->quiet);
    }
    return CLI_OK;
}

/* After --wait: the final package as the command's output. The follower
 * reads the summary only (the full answer costs the server per object);
 * what is printed with the objects is read once, at the end. */
static int follow_and_print(struct cli *c, const char *id,
                            const json_t *before)
{
    struct cli_answer fin = CLI_ANSWER_INIT;
    char path[128];
    int rc = cli_follow_package(c, id, before, &fin), full;

    if (rc != CLI_OK && rc != CLI_FAILED)
        goto out;
    if (c->json || !c->quiet) {
        snprintf(path, sizeof path, "/v1/packages/%s", id);
        cli_answer_release(&fin);
        if ((full = cli_call(c, "GET", path, NULL, 0, 0, &fin)) != CLI_OK) {
            rc = full;
            goto out;
        }
    }
    if (c->json)
        cli_print_raw(&fin.resp.body);
    else if (c->quiet)
        puts(id);
    else
        render_package(c, fin.json);
out:
    cli_answer_release(&fin);
    return rc;
}

int cli_package_create(struct cli *c, const struct cli_args *a)
{
    struct cli_answer acc = CLI_ANSWER_INIT, st = CLI_ANSWER_INIT;
    json_t *body = NULL, *ids = NULL;
    xw_buf path = XW_BUF_INIT, data = XW_BUF_INIT;
    const char *pkg;
    int rc = CLI_USAGE, now = a->val[OPT_DEPLOY_NOW] != NULL;
    char what[200];

    if (a->val[OPT_RG_OVERRIDE] && !now) {
        cli_err("--rg-override applies when deploying: add --deploy-now, or "
                "give it to package deploy");
        goto out;
    }
    rc = CLI_UNAVAILABLE;
    if (!(body = json_pack("{ss}", "environment", a->val[OPT_ENV])))
        goto oom;
    /* No OBJ: the API takes the caller's basket. */
    if (a->npos > 1) {
        if (!(ids = json_array()))
            goto oom;
        for (size_t i = 1; i < a->npos; i++)
            if (json_array_append_new(ids, json_string(a->pos[i])) < 0)
                goto oom;
        if (json_object_set(body, "object_ids", ids) < 0)
            goto oom;
    }
    if (now && json_object_set_new(body, "deploy_now", json_true()) < 0)
        goto oom;
    if (a->val[OPT_RG_OVERRIDE] &&
        json_object_set_new(body, "resource_group_override",
                            json_string(a->val[OPT_RG_OVERRIDE])) < 0)
        goto oom;
    if (xw_buf_addf(&path, "/v1/workspaces/%s/packages", a->pos[0]) < 0 ||
        xw_json_dump(body, &data) < 0)
        goto oom;
    if ((rc = cli_write(c, "POST", path.data, &data, &acc, &st)))
        goto out;
    snprintf(what, sizeof what, "package created from %s",
             a->npos > 1 ? "the objects given" : "your basket");
    pkg = cli_str_at(acc.json, "package_id");
    if (!pkg && st.json)
        pkg = cli_str_at(st.json, "result.package_id");
    if (!(now && c->wait)) {
        cli_report_write(c, &acc, &st, what);
        goto out;
    }
    if (!pkg) {
        cli_err("the server did not say which package it created");
        rc = CLI_UNAVAILABLE;
        goto out;
    }
    rc = follow_and_print(c, pkg, NULL);
    goto out;
oom:
    cli_err("out of memory");
    rc = CLI_UNAVAILABLE;
out:
    cli_answer_release(&acc);
    cli_answer_release(&st);
    xw_buf_release(&path);
    xw_buf_release(&data);
    json_decref(ids);
    json_decref(body);
    return rc;
}

/* deploy and replay: a POST to /v1/packages/{id}/{verb}, then with --wait
 * the package until the attempt this POST started is over. */
static int start_attempt(struct cli *c, const char *id, const char *verb,
                         const json_t *body)
{
    struct cli_answer acc = CLI_ANSWER_INIT, st = CLI_ANSWER_INIT;
    xw_buf path = XW_BUF_INIT, data = XW_BUF_INIT;
    json_t *before = NULL;
    char what[200];
    int rc = CLI_UNAVAILABLE;

    if (xw_buf_addf(&path, "/v1/packages/%s/%s", id, verb) < 0 ||
        (body && xw_json_dump(body, &data) < 0)) {
        cli_err("out of memory");
        goto out;
    }
    /* The package as it is now tells a stale final state from ours. */
    if (c->wait)
        before = cli_package_peek(c, id);
    if ((rc = cli_write(c, "POST", path.data, body ? &data : NULL, &acc,
                        &st)))
        goto out;
    if (!c->wait) {
        snprintf(what, sizeof what, "package %s: %s started", id, verb);
        cli_report_write(c, &acc, &st, what);
        goto out;
    }
    rc = follow_and_print(c, id, before);
out:
    json_decref(before);
    cli_answer_release(&acc);
    cli_answer_release(&st);
    xw_buf_release(&path);
    xw_buf_release(&data);
    return rc;
}

int cli_package_deploy(struct cli *c, const struct cli_args *a)
{
    json_t *body = json_object();
    int rc;

    if (!body || (a->val[OPT_RG_OVERRIDE] &&
                  json_object_set_new(body, "resource_group_override",
                                      json_string(a->val[OPT_RG_OVERRIDE]))
                      < 0)) {
        cli_err("out of memory");
        rc = CLI_UNAVAILABLE;
        goto out;
    }
    rc = start_attempt(c, a->pos[0], "deploy", body);
out:
    json_decref(body);
    return rc;
}

int cli_package_replay(struct cli *c, const struct cli_args *a)
{
    return start_attempt(c, a->pos[0], "replay", NULL);
}

int cli_package_list(struct cli *c, const struct cli_args *a)
{
    static const struct cli_view v = { "items", list_cols,
                                       CLI_NELEM(list_cols), NULL };

    return cli_show(c, &v, a, "/v1/workspaces/%s/packages", a->pos[0]);
}

int cli_package_show(struct cli *c, const struct cli_args *a)
{
    static const struct cli_view v = { .render = render_package };
    struct cli_answer probe = CLI_ANSWER_INIT;
    char path[128];
    int rc;

    if (!c->wait)
        return cli_show(c, &v, NULL, "/v1/packages/%s", a->pos[0]);
    /* A package that does not exist should fail now, not after the grace
     * the follower grants a package being created. */
    snprintf(path, sizeof path, "/v1/packages/%s?objects=false", a->pos[0]);
    if ((rc = cli_call(c, "GET", path, NULL, 0, 0, &probe)) == CLI_OK)
        rc = follow_and_print(c, a->pos[0], NULL);
    cli_answer_release(&probe);
    return rc;
}
