/*
 * ops.c - operator commands: `xwdeploy health`, `xwdeploy audit` (the
 * trail of every write the API answered) and `xwdeploy dlq list|replay`
 * (events a service could not handle; system administrators).
 */
#include <string.h>

#include "cli.h"

static const struct cli_col audit_cols[] = {
    { "TIME", "occurred_at", FMT_TIME, 0 },
    { "ACTOR", "actor", FMT_TEXT, 24 },
    { "METHOD", "method", FMT_TEXT, 0 },
    { "PATH", "path", FMT_TEXT, 56 },
    { "STATUS", "status", FMT_TEXT, 0 },
    { "OUTCOME", "outcome", FMT_TEXT, 0 },
    { "WORKSPACE", "workspace", FMT_TEXT, 24 },
    { "REQUEST", "request_id", FMT_TEXT, 36 },
};

static const struct cli_col dlq_cols[] = {
    { "EVENT", "event_id", FMT_TEXT, 36 },
    { "TIME", "occurred_at", FMT_TIME, 0 },
    { "SERVICE", "service", FMT_TEXT, 20 },
    { "TOPIC", "source_topic", FMT_TEXT, 32 },
    { "PARTITION", "partition", FMT_TEXT, 0 },
    { "OFFSET", "offset", FMT_TEXT, 0 },
    { "ERROR", "error_code", FMT_TEXT, 32 },
    { "REASON", "reason", FMT_TEXT, 60 },
    { "REPLAYED", "replayed", FMT_BOOL, 0 },
};

static const struct cli_col health_fields[] = {
    { "service", "service", FMT_TEXT, 0 },
    { "status", "status", FMT_TEXT, 0 },
};

static int render_health(struct cli *c, const json_t *h)
{
    if (c->quiet)
        puts(cli_str_at(h, "status") ? cli_str_at(h, "status") : "-");
    else
        cli_record(h, health_fields, CLI_NELEM(health_fields));
    return CLI_OK;
}

int cli_health(struct cli *c, const struct cli_args *a)
{
    static const struct cli_view v = { .render = render_health };

    return cli_show(c, &v, NULL, "/health");
}

int cli_audit(struct cli *c, const struct cli_args *a)
{
    static const struct cli_view v = { "items", audit_cols,
                                       CLI_NELEM(audit_cols), NULL };

    return cli_show(c, &v, a, "/v1/audit");
}

int cli_dlq_list(struct cli *c, const struct cli_args *a)
{
    static const struct cli_view v = { "items", dlq_cols,
                                       CLI_NELEM(dlq_cols), NULL };

    return cli_show(c, &v, a, "/v1/dlq");
}

/* Synchronous on the server (200): the original bytes go back to their
 * topic; consumers dedupe by event id, so a second replay is harmless. */
int cli_dlq_replay(struct cli *c, const struct cli_args *a)
{
    struct cli_answer ans = CLI_ANSWER_INIT;
    char path[160], topic[128];
    int rc;

    snprintf(path, sizeof path, "/v1/dlq/%s/replay", a->pos[0]);
    if ((rc = cli_call(c, "POST", path, NULL, 0, 0, &ans)))
        goto out;
    if (c->json) {
        cli_print_raw(&ans.resp.body);
    } else if (c->quiet) {
        puts(a->pos[0]);
    } else {
        cli_sanitize(cli_str_at(ans.json, "topic") ? cli_str_at(ans.json,
                     "topic") : "?", topic, sizeof topic);
        printf("dead letter %s sent back to %s (%lld bytes)\n", a->pos[0],
               topic, cli_int_at(ans.json, "bytes", 0));
    }
out:
    cli_answer_release(&ans);
    return rc;
}
