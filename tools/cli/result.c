/*
 * result.c - `xwdeploy objects WS`: step 5 seen from the destination, what
 * it now runs (the Operation Center view). Package results are in
 * package.c (`package list`, `package show`).
 */
#include "cli.h"

static const struct cli_col deployed_cols[] = {
    { "OBJECT", "object_id|id", FMT_TEXT, 40 },
    { "NAME", "name|object_name", FMT_TEXT, 32 },
    { "KIND", "kind", FMT_TEXT, 0 },
    { "VERSION", "version", FMT_TEXT, 0 },
    { "REPLACED", "replaced_version", FMT_TEXT, 0 },
    { "COMPUTE", "compute_resource", FMT_TEXT, 28 },
    { "RESOURCE GROUP", "resource_group", FMT_TEXT, 28 },
    { "OWNER", "owner", FMT_TEXT, 20 },
    { "PACKAGE", "package_id", FMT_TEXT, 40 },
    { "DEPLOYED", "deployed_at", FMT_TIME, 0 },
    { "EFFECTIVE", "effective_at|effective_date", FMT_TIME, 0 },
};

int cli_objects(struct cli *c, const struct cli_args *a)
{
    static const struct cli_view v = { "items", deployed_cols,
                                       CLI_NELEM(deployed_cols), NULL };

    return cli_show(c, &v, a, "/v1/workspaces/%s/deployed-objects",
                    a->pos[0]);
}
