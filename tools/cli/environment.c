/*
 * environment.c - `xwdeploy env ...`: step 1, deployment environments of a
 * source workspace (create with --dry-run, list, get, update, delete).
 */
#include <string.h>

#include "cli.h"
#include "xw_json.h"

static const struct cli_col env_list_cols[] = {
    { "NAME", "name", FMT_TEXT, 48 },
    { "DESTINATION", "destination_workspace", FMT_TEXT, 32 },
    { "OWNER POLICY", "owner_policy", FMT_TEXT, 0 },
    { "COMPUTE", "compute_mappings", FMT_COUNT, 0 },
    { "RES GROUPS", "resource_group_mappings", FMT_COUNT, 0 },
    { "DEPS", "dependency_mappings", FMT_COUNT, 0 },
    { "DATA SOURCES", "data_source_mappings", FMT_COUNT, 0 },
    { "PARAMS", "parameter_mappings", FMT_COUNT, 0 },
    { "UPDATED", "updated_at|created_at", FMT_TIME, 0 },
};

static const struct cli_col env_fields[] = {
    { "environment", "name", FMT_TEXT, 0 },
    { "type", "type", FMT_TEXT, 0 },
    { "source", "source_workspace|workspace", FMT_TEXT, 0 },
    { "destination", "destination_workspace", FMT_TEXT, 0 },
    { "owner policy", "owner_policy", FMT_TEXT, 0 },
    { "created", "created_at", FMT_TIME, 0 },
    { "updated", "updated_at", FMT_TIME, 0 },
};

static const struct cli_col mapping_cols[] = {
    { "SOURCE", "source|project", FMT_TEXT, 48 },
    { "TARGET", "target|destination", FMT_TEXT, 48 },
    { "IGNORE", "ignore", FMT_BOOL, 0 },
    { "NOTE", "warning|note", FMT_TEXT, 60 },
};

static const struct cli_col param_cols[] = {
    { "TASK", "task", FMT_TEXT, 48 },
    { "NAME", "name", FMT_TEXT, 48 },
    { "VALUE", "value", FMT_TEXT, 80 },
};

static const struct cli_col finding_cols[] = {
    { "SEVERITY", "severity", FMT_TEXT, 0 },
    { "CODE", "code", FMT_TEXT, 40 },
    { "FIELD", "field", FMT_TEXT, 48 },
    { "MESSAGE", "message", FMT_TEXT, 0 },   /* the point: never cut */
};

static const struct cli_sect env_sections[] = {
    { "COMPUTE MAPPINGS", "compute_mappings", mapping_cols,
      CLI_NELEM(mapping_cols) },
    { "RESOURCE GROUP MAPPINGS", "resource_group_mappings", mapping_cols,
      CLI_NELEM(mapping_cols) },
    { "DEPENDENCY MAPPINGS", "dependency_mappings", mapping_cols,
      CLI_NELEM(mapping_cols) },
    { "DATA SOURCE MAPPINGS", "data_source_mappings", mapping_cols,
      CLI_NELEM(mapping_cols) },
    { "PARAMETER MAPPINGS", "parameter_mappings", param_cols,
      CLI_NELEM(param_cols) },
};

static int render_env(struct cli *c, const json_t *env)
{
    const json_t *findings = cli_json_at(env, "findings|warnings");

    cli_record(env, env_fields, CLI_NELEM(env_fields));
    cli_sections(env, env_sections, CLI_NELEM(env_sections));
    if (json_array_size(findings))
        cli_section("FINDINGS", findings, finding_cols,
                    CLI_NELEM(finding_cols));
    return CLI_OK;
}

/* A dry run answers at once with the validation result: an invalid
 * environment is a 422 (printed by the client); a valid one may still
 * carry warnings (Data Integration network settings, say). */
static int dry_run(struct cli *c, const char *ws, const json_t *env)
{
    struct cli_answer ans = CLI_ANSWER_INIT;
    xw_buf path = XW_BUF_INIT, body = XW_BUF_INIT;
    const json_t *findings;
    char name[160];
    int rc = CLI_UNAVAILABLE;

    if (xw_buf_addf(&path, "/v1/workspaces/%s/environments?dry_run=true",
                    ws) < 0 || xw_json_dump(env, &body) < 0) {
        cli_err("out of memory");
        goto out;
    }
    if ((rc = cli_call(c, "POST", path.data, &body, 0, 0, &ans)))
        goto out;
    if (c->json) {
        cli_print_raw(&ans.resp.body);
        goto out;
    }
    cli_sanitize(cli_str_at(env, "name") ? cli_str_at(env, "name") : "?",
                 name, sizeof name);
    printf("environment %s is valid for %s\n", name, ws);
    findings = cli_json_at(ans.json, "findings|warnings|error.findings");
    if (json_array_size(findings) && !c->quiet)
        cli_section("FINDINGS", findings, finding_cols,
                    CLI_NELEM(finding_cols));
out:
    cli_answer_release(&ans);
    xw_buf_release(&path);
    xw_buf_release(&body);
    return rc;
}

int cli_env_create(struct cli *c, const struct cli_args *a)
{
    char what[200], name[129];
    json_t *env;
    int rc;

    if (!(env = cli_read_json(a->pos[1], &rc)))
        goto out;
    if (a->val[OPT_DRY_RUN]) {
        rc = dry_run(c, a->pos[0], env);
        goto out;
    }
    cli_sanitize(cli_str_at(env, "name") ? cli_str_at(env, "name") : "?",
                 name, sizeof name);
    snprintf(what, sizeof what, "environment %s created in %s", name,
             a->pos[0]);
    rc = cli_send(c, "POST", env, what, "/v1/workspaces/%s/environments",
                  a->pos[0]);
out:
    json_decref(env);
    return rc;
}

int cli_env_list(struct cli *c, const struct cli_args *a)
{
    static const struct cli_view v = { "items", env_list_cols,
                                       CLI_NELEM(env_list_cols), NULL };

    return cli_show(c, &v, a, "/v1/workspaces/%s/environments", a->pos[0]);
}

int cli_env_get(struct cli *c, const struct cli_args *a)
{
    static const struct cli_view v = { .render = render_env };

    return cli_show(c, &v, NULL, "/v1/workspaces/%s/environments/%s",
                    a->pos[0], a->pos[1]);
}

int cli_env_update(struct cli *c, const struct cli_args *a)
{
    char what[200];
    json_t *env;
    int rc;

    if (!(env = cli_read_json(a->pos[2], &rc)))
        goto out;
    snprintf(what, sizeof what, "environment %s of %s updated", a->pos[1],
             a->pos[0]);
    rc = cli_send(c, "PUT", env, what, "/v1/workspaces/%s/environments/%s",
                  a->pos[0], a->pos[1]);
out:
    json_decref(env);
    return rc;
}

int cli_env_delete(struct cli *c, const struct cli_args *a)
{
    char what[200];

    snprintf(what, sizeof what, "environment %s of %s deleted", a->pos[1],
             a->pos[0]);
    return cli_send(c, "DELETE", NULL, what,
                    "/v1/workspaces/%s/environments/%s", a->pos[0],
                    a->pos[1]);
}
