/*
 * webhook.c - `xwdeploy webhook ...`: subscriptions to deploy results
 * (create, list, show, update, pause, resume, delete), their delivery log
 * and manual redelivery. The API answers these at once (200/201, no
 * request to wait for).
 *
 * --url here is the webhook's address (main.c hands it over as
 * OPT_HOOK_URL), so these commands take the API's URL from $XW_API_URL or
 * the config file. The secret is read from a file (never an argument:
 * arguments are visible to other local users) and wiped after sending.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "xw_json.h"

#define SECRET_FILE_MAX 4096

static const struct cli_col hook_cols[] = {
    { "ID", "id", FMT_TEXT, 40 },
    { "URL", "url", FMT_TEXT, 48 },
    { "OWNER", "owner", FMT_TEXT, 16 },
    { "EVENTS", "filter.event_types", FMT_TEXT, 32 },
    { "SOURCE", "filter.source_workspace", FMT_TEXT, 20 },
    { "DESTINATION", "filter.destination_workspace", FMT_TEXT, 20 },
    { "STATUS", "filter.status", FMT_TEXT, 0 },
    { "PAUSED", "paused", FMT_BOOL, 0 },
};

static const struct cli_col hook_fields[] = {
    { "webhook", "id", FMT_TEXT, 0 },
    { "url", "url", FMT_TEXT, 0 },
    { "owner", "owner", FMT_TEXT, 0 },
    { "events", "filter.event_types", FMT_TEXT, 0 },
    { "source", "filter.source_workspace", FMT_TEXT, 0 },
    { "destination", "filter.destination_workspace", FMT_TEXT, 0 },
    { "status", "filter.status", FMT_TEXT, 0 },
    { "paused", "paused", FMT_BOOL, 0 },
    { "pending", "pending", FMT_TEXT, 0 },
    { "held until", "held_until", FMT_TIME, 0 },
    { "created", "created_at", FMT_TIME, 0 },
    { "updated", "updated_at", FMT_TIME, 0 },
};

static const struct cli_col delivery_cols[] = {
    { "DELIVERY", "delivery_id", FMT_TEXT, 36 },
    { "EVENT", "type", FMT_TEXT, 0 },
    { "PACKAGE", "package_id", FMT_TEXT, 40 },
    { "STATUS", "status", FMT_TEXT, 0 },
    { "ATTEMPTS", "attempts", FMT_TEXT, 0 },
    { "HTTP", "last_status", FMT_TEXT, 0 },
    { "LATENCY MS", "last_latency_ms", FMT_TEXT, 0 },
    { "LAST ERROR", "last_error", FMT_TEXT, 48 },
    { "CREATED", "created_at", FMT_TIME, 0 },
    { "NEXT ATTEMPT", "next_attempt_at", FMT_TIME, 0 },
};

static int render_hook(struct cli *c, const json_t *hook)
{
    if (c->quiet)
        puts(cli_str_at(hook, "id") ? cli_str_at(hook, "id") : "-");
    else
        cli_record(hook, hook_fields, CLI_NELEM(hook_fields));
    return CLI_OK;
}

/* Reads the secret: the file's bytes without trailing blanks and line
 * ends. 0, or CLI_USAGE after a message (which never shows the secret). */
static int read_secret(const char *file, char *out, size_t outlen)
{
    char shown[160];
    ssize_t got;
    size_t len = 0;
    int fd, rc = CLI_USAGE;

    cli_sanitize(file, shown, sizeof shown);
    if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
        cli_err("cannot read %s: %s", shown, strerror(errno));
        return CLI_USAGE;
    }
    while (len + 1 < outlen
           && (got = read(fd, out + len, outlen - 1 - len)) > 0)
        len += (size_t)got;
    out[len] = '\0';
    while (len > 0 && strchr(" \t\r\n", out[len - 1]))
        out[--len] = '\0';
    if (len + 1 >= outlen)
        cli_err("%s is too big for a secret (16..256 characters)", shown);
    else if (len == 0)
        cli_err("%s is empty", shown);
    else
        rc = CLI_OK;
    close(fd);
    return rc;
}

/* The filter of the command line, or NULL when no filter option was
 * given. NEW reference. */
static json_t *filter_of(const struct cli_args *a)
{
    const char *ev = a->val[OPT_EVENTS];
    json_t *f;

    if (!a->val[OPT_SOURCE] && !a->val[OPT_DESTINATION] && !a->val[OPT_STATUS]
        && !ev)
        return NULL;
    f = json_object();
    if (a->val[OPT_SOURCE])
        json_object_set_new(f, "source_workspace",
                            json_string(a->val[OPT_SOURCE]));
    if (a->val[OPT_DESTINATION])
        json_object_set_new(f, "destination_workspace",
                            json_string(a->val[OPT_DESTINATION]));
    if (a->val[OPT_STATUS])
        json_object_set_new(f, "status", json_string(a->val[OPT_STATUS]));
    if (ev) {
        json_t *types = json_array();

        /* "package_finished,object_result": the server checks the names. */
        while (*ev) {
            size_t n = strcspn(ev, ",");

            if (n)
                json_array_append_new(types, json_stringn(ev, n));
            ev += n + (ev[n] == ',');
        }
        json_object_set_new(f, "event_types", types);
    }
    return f;
}

/* Sends body (may be NULL) and prints the answer: --json raw, -q the id,
 * else "webhook <id> <what>" and the subscription. The body buffer is
 * wiped (it may carry the secret). */
static int send_hook(struct cli *c, const char *method, const char *path,
                     const json_t *body, const char *what)
{
    struct cli_answer ans = CLI_ANSWER_INIT;
    xw_buf buf = XW_BUF_INIT;
    char id[80];
    int rc;

    if (body && xw_json_dump(body, &buf) < 0) {
        cli_err("out of memory");
        return CLI_UNAVAILABLE;
    }
    rc = cli_call(c, method, path, body ? &buf : NULL, 0, 0, &ans);
    if (buf.len)
        explicit_bzero(buf.data, buf.len);
    xw_buf_release(&buf);
    if (rc)
        goto out;
    if (c->json) {
        cli_print_raw(&ans.resp.body);
        goto out;
    }
    cli_sanitize(cli_str_at(ans.json, "id|delivery_id")
                 ? cli_str_at(ans.json, "id|delivery_id") : "?", id,
                 sizeof id);
    if (c->quiet) {
        puts(id);
        goto out;
    }
    printf("webhook %s %s\n", id, what);
    if (cli_json_at(ans.json, "url"))
        render_hook(c, ans.json);
out:
    cli_answer_release(&ans);
    return rc;
}

int cli_webhook_create(struct cli *c, const struct cli_args *a)
{
    char secret[SECRET_FILE_MAX];
    json_t *body = NULL, *f;
    int rc;

    if ((rc = read_secret(a->val[OPT_SECRET_FILE], secret, sizeof secret)))
        goto out;
    body = json_pack("{s:s, s:s}", "url", a->val[OPT_HOOK_URL], "secret",
                     secret);
    if ((f = filter_of(a)))
        json_object_set_new(body, "filter", f);
    rc = send_hook(c, "POST", "/v1/webhooks", body, "created");
out:
    explicit_bzero(secret, sizeof secret);
    json_decref(body);
    return rc;
}

int cli_webhook_list(struct cli *c, const struct cli_args *a)
{
    static const struct cli_view v = { "items", hook_cols,
                                       CLI_NELEM(hook_cols), NULL };

    return cli_show(c, &v, a, "/v1/webhooks");
}

int cli_webhook_show(struct cli *c, const struct cli_args *a)
{
    static const struct cli_view v = { .render = render_hook };

    return cli_show(c, &v, NULL, "/v1/webhooks/%s", a->pos[0]);
}

/* The subscription as it is, changed by the options given: a new URL, a
 * new secret (rotation), or a new filter (which replaces the old one). */
int cli_webhook_update(struct cli *c, const struct cli_args *a)
{
    struct cli_answer cur = CLI_ANSWER_INIT;
    char path[128], secret[SECRET_FILE_MAX] = "";
    json_t *body = NULL, *f;
    int rc;

    snprintf(path, sizeof path, "/v1/webhooks/%s", a->pos[0]);
    if (a->val[OPT_SECRET_FILE]
        && (rc = read_secret(a->val[OPT_SECRET_FILE], secret, sizeof secret)))
        goto out;
    if ((rc = cli_call(c, "GET", path, NULL, 0, 0, &cur)))
        goto out;
    body = json_pack("{s:O?, s:O?}", "url",
                     (json_t *)cli_json_at(cur.json, "url"), "filter",
                     (json_t *)cli_json_at(cur.json, "filter"));
    if (a->val[OPT_HOOK_URL])
        json_object_set_new(body, "url", json_string(a->val[OPT_HOOK_URL]));
    if ((f = filter_of(a)))
        json_object_set_new(body, "filter", f);
    if (secret[0])
        json_object_set_new(body, "secret", json_string(secret));
    rc = send_hook(c, "PUT", path, body, "updated");
out:
    explicit_bzero(secret, sizeof secret);
    json_decref(body);
    cli_answer_release(&cur);
    return rc;
}

static int hook_action(struct cli *c, const char *id, const char *action,
                       const char *method, const char *what)
{
    char path[160];

    snprintf(path, sizeof path, "/v1/webhooks/%s%s%s", id, action ? "/" : "",
             action ? action : "");
    return send_hook(c, method, path, NULL, what);
}

int cli_webhook_pause(struct cli *c, const struct cli_args *a)
{
    return hook_action(c, a->pos[0], "pause", "POST", "paused");
}

int cli_webhook_resume(struct cli *c, const struct cli_args *a)
{
    return hook_action(c, a->pos[0], "resume", "POST", "resumed");
}

int cli_webhook_delete(struct cli *c, const struct cli_args *a)
{
    return hook_action(c, a->pos[0], NULL, "DELETE", "deleted");
}

int cli_webhook_deliveries(struct cli *c, const struct cli_args *a)
{
    static const struct cli_view v = { "items", delivery_cols,
                                       CLI_NELEM(delivery_cols), NULL };

    return cli_show(c, &v, a, "/v1/webhooks/%s/deliveries", a->pos[0]);
}

int cli_webhook_redeliver(struct cli *c, const struct cli_args *a)
{
    struct cli_answer ans = CLI_ANSWER_INIT;
    char path[200];
    int rc;

    snprintf(path, sizeof path, "/v1/webhooks/%s/deliveries/%s/redeliver",
             a->pos[0], a->pos[1]);
    if ((rc = cli_call(c, "POST", path, NULL, 0, 0, &ans)))
        goto out;
    if (c->json)
        cli_print_raw(&ans.resp.body);
    else if (c->quiet)
        puts(a->pos[1]);
    else
        printf("delivery %s of webhook %s queued again (same delivery id)\n",
               a->pos[1], a->pos[0]);
out:
    cli_answer_release(&ans);
    return rc;
}
