/*
 * production.c - `xwdeploy prod ...`: step 2, object versions deployed to
 * the source workspace's production, where they wait as "nodes to deploy".
 */
#include <string.h>

#include "cli.h"

static const struct cli_col node_cols[] = {
    { "OBJECT", "id|object_id", FMT_TEXT, 64 },
    { "NAME", "name|object_name", FMT_TEXT, 40 },
    { "KIND", "kind", FMT_TEXT, 0 },
    { "VERSION", "version", FMT_TEXT, 0 },
    { "COMPUTE", "compute_resource", FMT_TEXT, 32 },
    { "OWNER", "owner", FMT_TEXT, 24 },
    { "MODE", "generation_mode", FMT_TEXT, 0 },
    { "SCHEDULED", "scheduled_time", FMT_TEXT, 0 },
    { "SUBMITTED", "submitted_at|deployed_at|updated_at", FMT_TIME, 0 },
};

int cli_prod_deploy(struct cli *c, const struct cli_args *a)
{
    json_t *doc, *base = NULL, *objects = NULL;
    char what[160], path[160];
    int rc;

    if (!(doc = cli_read_json(a->pos[1], &rc)))
        goto out;
    /* Accept the API body {"objects":[...]}, a bare array of objects, or
     * one object: whatever an exporter most naturally writes. Other keys
     * of the API body go along with every chunk. */
    rc = CLI_INVALID;
    if (json_is_array(doc)) {
        objects = json_incref(doc);
    } else if (json_is_array(json_object_get(doc, "objects"))) {
        objects = json_incref(json_object_get(doc, "objects"));
        if (!(base = json_copy(doc)) || json_object_del(base, "objects"))
            goto oom;
    } else if (json_is_object(doc) && json_object_get(doc, "id")) {
        if (!(objects = json_pack("[O]", doc)))
            goto oom;
    } else {
        cli_err("the file needs {\"objects\":[...]}, an array of objects "
                "or one object with an \"id\"");
        goto out;
    }
    if (!json_array_size(objects)) {
        cli_err("no objects to deploy");
        goto out;
    }
    if (!base && !(base = json_object()))
        goto oom;
    snprintf(what, sizeof what, "deployed to %s production", a->pos[0]);
    snprintf(path, sizeof path, "/v1/workspaces/%s/production", a->pos[0]);
    rc = cli_write_chunked(c, path, base, "objects", objects,
                           CLI_MAX_CHUNK_BYTES, what);
    goto out;
oom:
    cli_err("out of memory");
    rc = CLI_UNAVAILABLE;
out:
    json_decref(objects);
    json_decref(base);
    json_decref(doc);
    return rc;
}

int cli_prod_terminate(struct cli *c, const struct cli_args *a)
{
    char what[200];

    snprintf(what, sizeof what, "%s terminated: no longer to deploy from %s",
             a->pos[1], a->pos[0]);
    return cli_send(c, "DELETE", NULL, what,
                    "/v1/workspaces/%s/production/%s", a->pos[0], a->pos[1]);
}

int cli_prod_list(struct cli *c, const struct cli_args *a)
{
    static const struct cli_view v = { "items", node_cols,
                                       CLI_NELEM(node_cols), NULL };

    return cli_show(c, &v, a, "/v1/workspaces/%s/nodes-to-deploy",
                    a->pos[0]);
}
