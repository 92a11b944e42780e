/*
 * request.c - `xwdeploy request ID` (what became of an accepted write) and
 * `xwdeploy param resolve` (the server's scheduling-parameter resolver).
 */
#include <string.h>

#include "cli.h"
#include "xw_json.h"

static const struct cli_col request_fields[] = {
    { "request", "request_id|id", FMT_TEXT, 0 },
    { "status", "status", FMT_TEXT, 0 },
    { "kind", "kind|type", FMT_TEXT, 0 },
    { "package", "result.package_id|package_id", FMT_TEXT, 0 },
    { "created", "created_at", FMT_TIME, 0 },
    { "updated", "updated_at|finished_at", FMT_TIME, 0 },
    { "error", "error.message", FMT_TEXT, 0 },
    { "rule", "error.rule", FMT_TEXT, 0 },
};

int cli_request(struct cli *c, const struct cli_args *a)
{
    struct cli_answer st = CLI_ANSWER_INIT;
    xw_buf path = XW_BUF_INIT;
    const char *s;
    int rc;

    if (c->wait) {
        /* Rejected: the error is printed and the exit code is 1. */
        rc = cli_wait_request(c, a->pos[0], &st);
        if (rc != CLI_OK)
            goto out;
    } else {
        if (xw_buf_addf(&path, "/v1/requests/%s", a->pos[0]) < 0) {
            cli_err("out of memory");
            rc = CLI_UNAVAILABLE;
            goto out;
        }
        if ((rc = cli_call(c, "GET", path.data, NULL, 0, 0, &st)))
            goto out;
    }
    if (c->json)
        cli_print_raw(&st.resp.body);
    else if (c->quiet)
        puts((s = cli_str_at(st.json, "status")) ? s : "-");
    else
        cli_record(st.json, request_fields, CLI_NELEM(request_fields));
    /* Scripts read the exit code: a rejected request is a failure. */
    s = cli_str_at(st.json, "status");
    rc = s && strcmp(s, "rejected") == 0 ? CLI_FAILED : CLI_OK;
out:
    cli_answer_release(&st);
    xw_buf_release(&path);
    return rc;
}

int cli_param_resolve(struct cli *c, const struct cli_args *a)
{
    struct cli_answer ans = CLI_ANSWER_INIT;
    xw_buf body = XW_BUF_INIT;
    json_t *req;
    const char *v;
    int rc = CLI_UNAVAILABLE;

    req = json_pack("{ss ss ss}", "expression", a->pos[0], "bizdate",
                    a->val[OPT_BIZDATE], "cyctime", a->val[OPT_CYCTIME]);
    if (!req || xw_json_dump(req, &body) < 0) {
        cli_err("out of memory");
        goto out;
    }
    /* Synchronous: the answer is the value, no request to follow. */
    if ((rc = cli_call(c, "POST", "/v1/parameters/resolve", &body, 0, 0,
                       &ans)))
        goto out;
    if (c->json) {
        cli_print_raw(&ans.resp.body);
    } else if ((v = cli_str_at(ans.json, "value"))) {
        char shown[2048];

        cli_sanitize(v, shown, sizeof shown);
        puts(shown);
    } else {
        cli_err("the server's answer has no \"value\"");
        rc = CLI_UNAVAILABLE;
    }
out:
    cli_answer_release(&ans);
    xw_buf_release(&body);
    json_decref(req);
    return rc;
}
