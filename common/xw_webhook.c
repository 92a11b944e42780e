#include "xw_webhook.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

static const struct {
    enum xw_wh_event e;
    const char *name, *schema;
} events[] = {
    { XW_WH_PACKAGE_FINISHED, "package_finished", "PackageFinished" },
    { XW_WH_OBJECT_RESULT, "object_result", "ObjectResult" },
};
#define NEVENTS (sizeof events / sizeof events[0])

const char *xw_wh_event_name(enum xw_wh_event e)
{
    for (size_t i = 0; i < NEVENTS; i++)
        if (events[i].e == e)
            return events[i].name;
    return NULL;
}

unsigned xw_wh_event_of_schema(const char *short_name)
{
    for (size_t i = 0; short_name && i < NEVENTS; i++)
        if (strcmp(events[i].schema, short_name) == 0)
            return events[i].e;
    return 0;
}

static const char *const status_names[] = { "", "succeeded", "failed" };

/* A workspace member of the filter: absent is "", else an API id. */
static int get_ws(const json_t *j, const char *field, char *out,
                  xw_json_err *e)
{
    const char *s = NULL;
    size_t len = 0;
    int rc = xw_json_get_string(j, field, 1, XW_WH_WS_MAX, 0, &s, &len, e);

    if (rc < 0)
        return -1;
    if (rc == 0)
        return 0;
    if (!xw_id_valid(s, len, XW_WH_WS_MAX)) {
        xw_json_err_set(e, 400, field, "id", "a workspace id is 1..%d "
                        "characters of [A-Za-z0-9._:@-]", XW_WH_WS_MAX);
        return -1;
    }
    memcpy(out, s, len + 1);
    return 0;
}

static int get_events(const json_t *j, unsigned *out, xw_json_err *e)
{
    json_t *arr = NULL, *v;
    size_t i;
    int rc = xw_json_get_array(j, "event_types", NEVENTS, 0, &arr, e);

    if (rc <= 0)
        return rc;
    if (json_array_size(arr) == 0) {
        xw_json_err_set(e, 400, "event_types", "min_items",
                        "omit event_types for every type, or name at least "
                        "one");
        return -1;
    }
    *out = 0;
    json_array_foreach(arr, i, v) {
        const char *s = json_string_value(v);
        size_t k;

        for (k = 0; s && k < NEVENTS; k++)
            if (strcmp(events[k].name, s) == 0)
                break;
        if (!s || k == NEVENTS || (*out & events[k].e)) {
            xw_json_err_set(e, 400, "event_types", s && k < NEVENTS
                            ? "unique" : "enum",
                            "event_types[%zu] must be a distinct one of "
                            "package_finished, object_result", i);
            return -1;
        }
        *out |= events[k].e;
    }
    return 0;
}

int xw_wh_filter_from_json(struct xw_wh_filter *f, const json_t *j,
                           xw_json_err *e)
{
    static const char *const allowed[] = { "source_workspace",
        "destination_workspace", "status", "event_types", NULL };
    const char *st = NULL;
    int rc = 0;

    memset(f, 0, sizeof *f);
    f->events = XW_WH_EVENTS_ALL;
    if (!j || json_is_null(j))
        return 0;
    if (!json_is_object(j)) {
        xw_json_err_set(e, 400, "filter", "type", "must be an object");
        return -1;
    }
    if (xw_json_check_keys(j, allowed, e) < 0
        || get_ws(j, "source_workspace", f->source, e) < 0
        || get_ws(j, "destination_workspace", f->destination, e) < 0
        || (rc = xw_json_get_string(j, "status", 1, 16, 0, &st, NULL, e)) < 0
        || get_events(j, &f->events, e) < 0)
        goto bad;
    if (rc == 1) {
        if (strcmp(st, "succeeded") == 0) {
            f->status = XW_WH_SUCCEEDED;
        } else if (strcmp(st, "failed") == 0) {
            f->status = XW_WH_FAILED;
        } else {
            xw_json_err_set(e, 400, "status", "enum",
                            "must be succeeded or failed");
            goto bad;
        }
    }
    return 0;
bad:
    xw_json_err_prefix(e, "filter");
    return -1;
}

json_t *xw_wh_filter_to_json(const struct xw_wh_filter *f)
{
    json_t *j = json_object(), *types = json_array();

    if (!j || !types)
        goto nomem;
    if ((f->source[0] && json_object_set_new(j, "source_workspace",
                                             json_string(f->source)) < 0)
        || (f->destination[0]
            && json_object_set_new(j, "destination_workspace",
                                   json_string(f->destination)) < 0)
        || (f->status != XW_WH_ANY
            && json_object_set_new(j, "status",
                                   json_string(status_names[f->status])) < 0))
        goto nomem;
    for (size_t i = 0; i < NEVENTS; i++)
        if ((f->events & events[i].e)
            && json_array_append_new(types, json_string(events[i].name)) < 0)
            goto nomem;
    if (json_object_set_new(j, "event_types", types) < 0) {
        types = NULL;    /* stolen even on failure */
        goto nomem;
    }
    return j;
nomem:
    json_decref(types);
    json_decref(j);
    return NULL;
}

int xw_wh_filter_match(const struct xw_wh_filter *f,
                       const struct xw_wh_match *ev)
{
    const char *st = ev->status ? ev->status : "";

    if (!(f->events & ev->type))
        return 0;
    if (f->source[0] && (!ev->source || strcmp(f->source, ev->source) != 0))
        return 0;
    if (f->destination[0]
        && (!ev->destination || strcmp(f->destination, ev->destination) != 0))
        return 0;
    switch (f->status) {
    case XW_WH_ANY:
        return 1;
    case XW_WH_SUCCEEDED:
        return strcmp(st, ev->type == XW_WH_OBJECT_RESULT ? "deployed"
                                                          : "succeeded") == 0;
    case XW_WH_FAILED:
        return strcmp(st, "failed") == 0;
    }
    return 0;
}

static int fail(char *why, size_t n, const char *msg)
{
    if (why && n)
        snprintf(why, n, "%s", msg);
    return -1;
}

int xw_wh_url_check(const char *url, char *why, size_t whylen)
{
    CURLU *u = NULL;
    char *host = NULL, *frag = NULL;
    size_t len = url ? strlen(url) : 0;
    int rc = -1;

    if (len == 0 || len > XW_WH_URL_MAX)
        return fail(why, whylen, "a URL is 1..1024 bytes");
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
            return fail(why, whylen, "a URL has no spaces or control "
                        "characters (percent-encode them)");
    if (strncasecmp(url, "http://", 7) != 0
        && strncasecmp(url, "https://", 8) != 0)
        return fail(why, whylen, "only http:// and https:// URLs");
    if (strstr(url, "://")[3] == '/')
        return fail(why, whylen, "not a URL with a host");
    if (!(u = curl_url())) {
        fail(why, whylen, "out of memory");
        goto out;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK
        || curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK
        || !host || !host[0]) {
        fail(why, whylen, "not a URL with a host");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK && frag) {
        fail(why, whylen, "a webhook URL has no #fragment");
        goto out;
    }
    rc = 0;
out:
    curl_free(host);
    curl_free(frag);
    curl_url_cleanup(u);
    return rc;
}

int xw_wh_secret_check(const char *s, size_t len, char *why, size_t whylen)
{
    if (!s || len < XW_WH_SECRET_MIN || len > XW_WH_SECRET_MAX)
        return fail(why, whylen, "a secret is 16..256 characters");
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return fail(why, whylen, "a secret is visible ASCII characters "
                        "only (no spaces, no control characters)");
    return 0;
}

void xw_wh_delivery_id(const char *sub, const char *event_id,
                       char out[XW_UUID_LEN + 1])
{
    xw_uuid_derive(sub, event_id, 0, out);
}

long long xw_wh_backoff_ms(int n, long long min_ms, long long max_ms,
                           uint64_t rnd)
{
    long long cap = min_ms > 0 ? min_ms : 1;

    if (max_ms < cap)
        max_ms = cap;
    for (int i = 1; i < n && cap < max_ms; i++)
        cap = cap > max_ms / 2 ? max_ms : cap * 2;
    if (cap > max_ms)
        cap = max_ms;
    return (long long)(rnd % ((uint64_t)cap + 1));
}
