/*
 * basket.c - `xwdeploy basket ...`: step 3, the caller's basket of objects
 * to package (show, add one or many or --all, remove, clear).
 */
#include <string.h>

#include "cli.h"

static const struct cli_col basket_cols[] = {
    { "OBJECT", "object_id|id|.", FMT_TEXT, 64 },
    { "NAME", "name|object_name", FMT_TEXT, 40 },
    { "KIND", "kind", FMT_TEXT, 0 },
    { "VERSION", "version", FMT_TEXT, 0 },
    { "COMPUTE", "compute_resource", FMT_TEXT, 32 },
    { "OWNER", "owner", FMT_TEXT, 24 },
    { "ADDED", "added_at", FMT_TIME, 0 },
};

int cli_basket_show(struct cli *c, const struct cli_args *a)
{
    static const struct cli_view v = { "items|objects|object_ids",
                                       basket_cols, CLI_NELEM(basket_cols),
                                       NULL };

    return cli_show(c, &v, NULL, "/v1/workspaces/%s/basket", a->pos[0]);
}

/* Every node to deploy matching the --kind/--owner/--q filters, paged
 * through at the API's largest page. The list can change while we page
 * (offsets shift): adding an id twice is harmless, and what was submitted
 * after we started is not ours to add anyway. */
static int gather_all(struct cli *c, const struct cli_args *a,
                      json_t *ids)
{
    struct cli_answer ans = CLI_ANSWER_INIT;
    xw_buf path = XW_BUF_INIT;
    long long offset = 0, total;
    char num[32];
    int rc = CLI_OK;

    for (;;) {
        const json_t *items, *it;
        size_t i;

        xw_buf_reset(&path);
        snprintf(num, sizeof num, "%lld", offset);
        if (xw_buf_addf(&path, "/v1/workspaces/%s/nodes-to-deploy",
                        a->pos[0]) < 0 || cli_query_filters(&path, a) < 0 ||
            cli_query_add(&path, "offset", num) < 0 ||
            cli_query_add(&path, "limit", "1000") < 0) {
            cli_err("out of memory");
            rc = CLI_UNAVAILABLE;
            goto out;
        }
        if ((rc = cli_call(c, "GET", path.data, NULL, 0, 0, &ans)))
            goto out;
        items = json_is_array(ans.json) ? ans.json
                                        : cli_json_at(ans.json, "items");
        if (!json_is_array(items)) {
            cli_err("the server's answer has no 'items' list");
            rc = CLI_UNAVAILABLE;
            goto out;
        }
        json_array_foreach(items, i, it) {
            const char *id = cli_str_at(it, "id|object_id");

            if (!id)
                continue;
            if (json_array_size(ids) >= CLI_MAX_ALL) {
                cli_err("more than %u nodes to deploy; narrow --all with "
                        "--kind, --owner or --q", CLI_MAX_ALL);
                rc = CLI_INVALID;
                goto out;
            }
            if (json_array_append_new(ids, json_string(id)) < 0) {
                cli_err("out of memory");
                rc = CLI_UNAVAILABLE;
                goto out;
            }
        }
        total = cli_int_at(ans.json, "total", -1);
        offset += (long long)json_array_size(items);
        /* An empty page ends it even if "total" says otherwise. */
        if (!json_array_size(items) || total < 0 || offset >= total)
            break;
    }
out:
    cli_answer_release(&ans);
    xw_buf_release(&path);
    return rc;
}

int cli_basket_add(struct cli *c, const struct cli_args *a)
{
    json_t *ids = json_array(), *base = json_object();
    char what[160], path[160];
    int rc = CLI_USAGE;

    if (!ids || !base) {
        cli_err("out of memory");
        rc = CLI_UNAVAILABLE;
        goto out;
    }
    if (a->val[OPT_ALL] ? a->npos > 1 : a->npos < 2) {
        cli_err("basket add takes objects (OBJ...) or --all, one of the two");
        goto out;
    }
    if (!a->val[OPT_ALL] &&
        (a->val[OPT_KIND] || a->val[OPT_OWNER] || a->val[OPT_SEARCH])) {
        cli_err("--kind, --owner and --q choose what --all adds");
        goto out;
    }
    if (a->val[OPT_ALL]) {
        if ((rc = gather_all(c, a, ids)))
            goto out;
        if (!json_array_size(ids)) {
            if (!c->quiet)
                fprintf(stderr, "no nodes to deploy match; nothing added\n");
            rc = CLI_OK;
            goto out;
        }
    } else {
        for (size_t i = 1; i < a->npos; i++)
            if (json_array_append_new(ids, json_string(a->pos[i])) < 0) {
                cli_err("out of memory");
                rc = CLI_UNAVAILABLE;
                goto out;
            }
    }
    snprintf(what, sizeof what, "added to your basket in %s", a->pos[0]);
    snprintf(path, sizeof path, "/v1/workspaces/%s/basket", a->pos[0]);
    rc = cli_write_chunked(c, path, base, "object_ids", ids,
                           CLI_MAX_CHUNK_BYTES, what);
out:
    json_decref(ids);
    json_decref(base);
    return rc;
}

int cli_basket_remove(struct cli *c, const struct cli_args *a)
{
    char what[200];

    snprintf(what, sizeof what, "%s removed from your basket in %s",
             a->pos[1], a->pos[0]);
    return cli_send(c, "DELETE", NULL, what, "/v1/workspaces/%s/basket/%s",
                    a->pos[0], a->pos[1]);
}

int cli_basket_clear(struct cli *c, const struct cli_args *a)
{
    char what[160];

    snprintf(what, sizeof what, "your basket in %s cleared", a->pos[0]);
    return cli_send(c, "DELETE", NULL, what, "/v1/workspaces/%s/basket",
                    a->pos[0]);
}
