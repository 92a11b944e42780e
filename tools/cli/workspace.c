/*
 * workspace.c - `xwdeploy workspace put|get|info`: registering workspaces
 * (system admin) and the "View workspace environment information" view.
 */
#include <string.h>

#include "cli.h"
#include "xw_id.h"

static const struct cli_col ws_fields[] = {
    { "workspace", "id", FMT_TEXT, 0 },
    { "account", "account", FMT_TEXT, 0 },
    { "region", "region", FMT_TEXT, 0 },
    { "time zone", "timezone", FMT_TEXT, 0 },
    { "mode", "mode", FMT_TEXT, 0 },
    { "DataStudio", "datastudio", FMT_TEXT, 0 },
    { "updated", "updated_at", FMT_TIME, 0 },
};
static const struct cli_col member_cols[] = {
    { "USER", "user", FMT_TEXT, 64 }, { "ROLES", "roles", FMT_TEXT, 60 },
};
static const struct cli_col named_cols[] = {
    { "NAME", "name", FMT_TEXT, 64 }, { "TYPE", "type", FMT_TEXT, 32 },
};
static const struct cli_col rg_cols[] = {
    { "NAME", "name", FMT_TEXT, 64 }, { "TYPE", "type", FMT_TEXT, 32 },
    { "DEFAULT", "is_default", FMT_BOOL, 0 },
    { "SHARED", "is_shared", FMT_BOOL, 0 },
};
static const struct cli_col project_cols[] = {
    { "NAME", "name", FMT_TEXT, 64 },
    { "CATEGORY", "category", FMT_TEXT, 32 },
};

/* The resource lists a workspace carries; `workspace get` shows the
 * members first, `workspace info` only these. */
static const struct cli_sect sections[] = {
    { "COMPUTE RESOURCES", "compute_resources", named_cols,
      CLI_NELEM(named_cols) },
    { "RESOURCE GROUPS", "resource_groups", rg_cols, CLI_NELEM(rg_cols) },
    { "DATA SOURCES", "data_sources", named_cols, CLI_NELEM(named_cols) },
    { "PROJECTS", "projects", project_cols, CLI_NELEM(project_cols) },
};

static int render_workspace(struct cli *c, const json_t *ws)
{
    cli_record(ws, ws_fields, CLI_NELEM(ws_fields));
    cli_section("MEMBERS", cli_json_at(ws, "members"), member_cols,
                CLI_NELEM(member_cols));
    cli_sections(ws, sections, CLI_NELEM(sections));
    return CLI_OK;
}

static int render_info(struct cli *c, const json_t *info)
{
    cli_sections(info, sections, CLI_NELEM(sections));
    return CLI_OK;
}

int cli_workspace_put(struct cli *c, const struct cli_args *a)
{
    char what[160];
    const char *id;
    json_t *ws;
    int rc;

    if (!(ws = cli_read_json(a->pos[0], &rc)))
        goto out;
    /* The path needs the id, and the file is the one place it is in. */
    id = cli_str_at(ws, "id");
    if (!json_is_object(ws) || !id || !xw_id_valid(id, strlen(id), 64)) {
        cli_err("the workspace file needs an \"id\": 1..64 characters of "
                "A-Z a-z 0-9 . _ : @ -");
        rc = CLI_INVALID;
        goto out;
    }
    snprintf(what, sizeof what, "workspace %s registered", id);
    rc = cli_send(c, "PUT", ws, what, "/v1/workspaces/%s", id);
out:
    json_decref(ws);
    return rc;
}

int cli_workspace_get(struct cli *c, const struct cli_args *a)
{
    static const struct cli_view v = { .render = render_workspace };

    return cli_show(c, &v, NULL, "/v1/workspaces/%s", a->pos[0]);
}

int cli_workspace_info(struct cli *c, const struct cli_args *a)
{
    static const struct cli_view v = { .render = render_info };

    return cli_show(c, &v, NULL, "/v1/workspaces/%s/environment-info",
                    a->pos[0]);
}
