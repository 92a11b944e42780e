/*
 * Unit tests of common/xw_webhook: the subscription filter (parsing, its
 * canonical JSON, matching every event type against every kind of
 * filter), URL and secret checks, the delivery id and the backoff bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "xw_webhook.h"
#include "xw_test.h"

/* Parses JSON text as a filter; returns the xw_wh_filter_from_json code
 * and leaves the error's field in e. */
static int parse(const char *text, struct xw_wh_filter *f, xw_json_err *e)
{
    json_error_t je;
    json_t *j = text ? json_loads(text, 0, &je) : NULL;
    int rc;

    xw_json_err_clear(e);
    rc = xw_wh_filter_from_json(f, j, e);
    json_decref(j);
    return rc;
}

static void test_filter_empty_matches_everything(void)
{
    struct xw_wh_filter f;
    xw_json_err e;
    struct xw_wh_match pf = { XW_WH_PACKAGE_FINISHED, "dev", "prod",
                              "failed" };
    struct xw_wh_match ox = { XW_WH_OBJECT_RESULT, "dev", "prod",
                              "excluded" };

    ASSERT_EQ(parse(NULL, &f, &e), 0);
    ASSERT_EQ(f.events, XW_WH_EVENTS_ALL);
    ASSERT_EQ(parse("{}", &f, &e), 0);
    ASSERT_EQ(parse("null", &f, &e), 0);
    ASSERT_EQ(xw_wh_filter_match(&f, &pf), 1);
    ASSERT_EQ(xw_wh_filter_match(&f, &ox), 1);
}

static void test_filter_round_trip(void)
{
    struct xw_wh_filter f;
    xw_json_err e;
    json_t *j;
    char *s;

    ASSERT_EQ(parse("{\"event_types\":[\"object_result\",\"package_finished\"],"
                    "\"status\":\"failed\",\"destination_workspace\":\"prod\","
                    "\"source_workspace\":\"dev\"}", &f, &e), 0);
    ASSERT_STR_EQ(f.source, "dev");
    ASSERT_STR_EQ(f.destination, "prod");
    ASSERT_EQ(f.status, XW_WH_FAILED);
    j = xw_wh_filter_to_json(&f);
    ASSERT(j != NULL);
    s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    /* Canonical: fixed member order, event types in enum order. */
    ASSERT_STR_EQ(s, "{\"source_workspace\":\"dev\",\"destination_workspace\":"
                  "\"prod\",\"status\":\"failed\",\"event_types\":"
                  "[\"package_finished\",\"object_result\"]}");
    free(s);
    ASSERT_EQ(parse("{}", &f, &e), 0);
    j = xw_wh_filter_to_json(&f);
    s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    ASSERT_STR_EQ(s, "{\"event_types\":[\"package_finished\","
                  "\"object_result\"]}");
    free(s);
}

static void test_filter_refusals_name_the_field(void)
{
    static const struct {
        const char *json, *field, *rule;
    } bad[] = {
        { "[]", "filter", "type" },
        { "{\"src\":\"dev\"}", "filter.src", "unknown" },
        { "{\"source_workspace\":\"a b\"}", "filter.source_workspace", "id" },
        { "{\"source_workspace\":7}", "filter.source_workspace", "type" },
        { "{\"destination_workspace\":\"..\"}",
          "filter.destination_workspace", "id" },
        { "{\"status\":\"deployed\"}", "filter.status", "enum" },
        { "{\"event_types\":[]}", "filter.event_types", "min_items" },
        { "{\"event_types\":[\"package_finished\",\"package_finished\"]}",
          "filter.event_types", "unique" },
        { "{\"event_types\":[\"audit\"]}", "filter.event_types", "enum" },
        { "{\"event_types\":[1]}", "filter.event_types", "enum" },
        { "{\"event_types\":\"object_result\"}", "filter.event_types",
          "type" },
        { "{\"event_types\":[\"object_result\",\"package_finished\","
          "\"object_result\"]}", "filter.event_types", "max_items" },
    };
    struct xw_wh_filter f;
    xw_json_err e;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_EQ(parse(bad[i].json, &f, &e), -1);
        ASSERT_EQ(e.http_status, 400);
        ASSERT_STR_EQ(e.field, bad[i].field);
        ASSERT_STR_EQ(e.rule, bad[i].rule);
    }
}

static void test_filter_matching_table(void)
{
    static const struct {
        const char *filter;
        enum xw_wh_event type;
        const char *src, *dst, *status;
        int want;
    } cases[] = {
        { "{\"source_workspace\":\"dev\"}", XW_WH_PACKAGE_FINISHED, "dev",
          "prod", "succeeded", 1 },
        { "{\"source_workspace\":\"dev\"}", XW_WH_PACKAGE_FINISHED, "qa",
          "prod", "succeeded", 0 },
        { "{\"destination_workspace\":\"prod\"}", XW_WH_OBJECT_RESULT, "dev",
          "prod", "deployed", 1 },
        { "{\"destination_workspace\":\"prod\"}", XW_WH_OBJECT_RESULT, "dev",
          "prod2", "deployed", 0 },
        { "{\"status\":\"succeeded\"}", XW_WH_PACKAGE_FINISHED, "dev", "prod",
          "succeeded", 1 },
        { "{\"status\":\"succeeded\"}", XW_WH_PACKAGE_FINISHED, "dev", "prod",
          "failed", 0 },
        { "{\"status\":\"failed\"}", XW_WH_PACKAGE_FINISHED, "dev", "prod",
          "failed", 1 },
        /* objects: succeeded = deployed, failed = failed, excluded never */
        { "{\"status\":\"succeeded\"}", XW_WH_OBJECT_RESULT, "dev", "prod",
          "deployed", 1 },
        { "{\"status\":\"succeeded\"}", XW_WH_OBJECT_RESULT, "dev", "prod",
          "succeeded", 0 },
        { "{\"status\":\"failed\"}", XW_WH_OBJECT_RESULT, "dev", "prod",
          "failed", 1 },
        { "{\"status\":\"failed\"}", XW_WH_OBJECT_RESULT, "dev", "prod",
          "excluded", 0 },
        { "{\"status\":\"succeeded\"}", XW_WH_OBJECT_RESULT, "dev", "prod",
          "excluded", 0 },
        { "{}", XW_WH_OBJECT_RESULT, "dev", "prod", "excluded", 1 },
        { "{\"event_types\":[\"package_finished\"]}", XW_WH_OBJECT_RESULT,
          "dev", "prod", "deployed", 0 },
        { "{\"event_types\":[\"object_result\"]}", XW_WH_OBJECT_RESULT,
          "dev", "prod", "deployed", 1 },
        { "{\"source_workspace\":\"dev\",\"destination_workspace\":\"prod\","
          "\"status\":\"failed\",\"event_types\":[\"package_finished\"]}",
          XW_WH_PACKAGE_FINISHED, "dev", "prod", "failed", 1 },
        { "{\"source_workspace\":\"dev\"}", XW_WH_PACKAGE_FINISHED, NULL,
          NULL, NULL, 0 },
    };
    struct xw_wh_filter f;
    xw_json_err e;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct xw_wh_match ev = { cases[i].type, cases[i].src, cases[i].dst,
                                  cases[i].status };

        ASSERT_EQ(parse(cases[i].filter, &f, &e), 0);
        if (xw_wh_filter_match(&f, &ev) != cases[i].want)
            XW_FAIL_("case %zu: %s on %s %s->%s %s: want %d", i,
                     cases[i].filter, xw_wh_event_name(cases[i].type),
                     cases[i].src ? cases[i].src : "-",
                     cases[i].dst ? cases[i].dst : "-",
                     cases[i].status ? cases[i].status : "-", cases[i].want);
    }
}

static void test_event_names(void)
{
    ASSERT_STR_EQ(xw_wh_event_name(XW_WH_PACKAGE_FINISHED), "package_finished");
    ASSERT_STR_EQ(xw_wh_event_name(XW_WH_OBJECT_RESULT), "object_result");
    ASSERT(xw_wh_event_name(0) == NULL);
    ASSERT_EQ(xw_wh_event_of_schema("PackageFinished"), XW_WH_PACKAGE_FINISHED);
    ASSERT_EQ(xw_wh_event_of_schema("ObjectResult"), XW_WH_OBJECT_RESULT);
    ASSERT_EQ(xw_wh_event_of_schema("DeployStarted"), 0);
    ASSERT_EQ(xw_wh_event_of_schema(NULL), 0);
}

static void test_url_check(void)
{
    static const char *const good[] = {
        "http://127.0.0.1:9000/hook", "https://hooks.example.com/x?y=1",
        "http://[::1]:8080/", "HTTP://EXAMPLE.COM/",
    };
    static const char *const bad[] = {
        "", "ftp://example.com/", "example.com/hook", "http://",
        "http:///path", "http://exa mple.com/", "http://example.com/\n",
        "http://example.com/#frag", "file:///etc/passwd", "javascript:x",
    };
    char why[128], *longurl;

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (xw_wh_url_check(good[i], why, sizeof why))
            XW_FAIL_("%s refused: %s", good[i], why);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (xw_wh_url_check(bad[i], why, sizeof why) == 0)
            XW_FAIL_("'%s' accepted", bad[i]);
    longurl = malloc(XW_WH_URL_MAX + 2);
    ASSERT(longurl != NULL);
    memset(longurl, 'a', XW_WH_URL_MAX + 1);
    memcpy(longurl, "http://x/", 9);
    longurl[XW_WH_URL_MAX + 1] = '\0';
    ASSERT_EQ(xw_wh_url_check(longurl, why, sizeof why), -1);
    longurl[XW_WH_URL_MAX] = '\0';
    ASSERT_EQ(xw_wh_url_check(longurl, why, sizeof why), 0);
    free(longurl);
}

static void test_secret_check(void)
{
    char why[128], big[XW_WH_SECRET_MAX + 2];
    const char *s = "0123456789abcdef";

    ASSERT_EQ(xw_wh_secret_check(s, 16, why, sizeof why), 0);
    ASSERT_EQ(xw_wh_secret_check(s, 15, why, sizeof why), -1);
    ASSERT_EQ(xw_wh_secret_check("0123456789 abcdef", 17, why, sizeof why),
              -1);
    ASSERT(strstr(why, "abcdef") == NULL);   /* never quotes the secret */
    ASSERT_EQ(xw_wh_secret_check("0123456789abcde\x01", 16, why, sizeof why),
              -1);
    ASSERT_EQ(xw_wh_secret_check("0123456789abcd\xc3\xa9", 16, why,
                                 sizeof why), -1);
    memset(big, 'x', sizeof big);
    ASSERT_EQ(xw_wh_secret_check(big, XW_WH_SECRET_MAX, why, sizeof why), 0);
    ASSERT_EQ(xw_wh_secret_check(big, XW_WH_SECRET_MAX + 1, why, sizeof why),
              -1);
    ASSERT_EQ(xw_wh_secret_check(NULL, 0, why, sizeof why), -1);
}

static void test_delivery_id_is_stable(void)
{
    char a[XW_UUID_LEN + 1], b[XW_UUID_LEN + 1], c[XW_UUID_LEN + 1];

    xw_wh_delivery_id("wh-1", "e-1", a);
    xw_wh_delivery_id("wh-1", "e-1", b);
    ASSERT_STR_EQ(a, b);
    ASSERT_EQ(strlen(a), XW_UUID_LEN);
    xw_wh_delivery_id("wh-2", "e-1", c);
    ASSERT(strcmp(a, c) != 0);
    xw_wh_delivery_id("wh-1", "e-2", c);
    ASSERT(strcmp(a, c) != 0);
}

static void test_backoff_bounds(void)
{
    const long long min = 10000, max = 3600000;

    /* rnd = 0 is the bottom of the jitter range */
    ASSERT_EQ(xw_wh_backoff_ms(1, min, max, 0), 0);
    /* the top of the range doubles from min up to max */
    ASSERT_EQ(xw_wh_backoff_ms(1, min, max, (uint64_t)min), min);
    ASSERT_EQ(xw_wh_backoff_ms(2, min, max, (uint64_t)2 * min), 2 * min);
    ASSERT_EQ(xw_wh_backoff_ms(3, min, max, (uint64_t)4 * min), 4 * min);
    ASSERT_EQ(xw_wh_backoff_ms(9, min, max, UINT64_MAX),
              (long long)(UINT64_MAX % (256 * min + 1)));
    ASSERT_EQ(xw_wh_backoff_ms(10, min, max, (uint64_t)max), max);
    ASSERT_EQ(xw_wh_backoff_ms(1000000, min, max, (uint64_t)max), max);
    for (int n = 1; n < 80; n++) {
        long long v = xw_wh_backoff_ms(n, min, max, UINT64_MAX);

        ASSERT_GE(v, 0);
        ASSERT_LE(v, max);
    }
    /* degenerate settings stay sane */
    ASSERT_LE(xw_wh_backoff_ms(5, 0, 0, UINT64_MAX), 1);
    ASSERT_LE(xw_wh_backoff_ms(5, 100, 50, UINT64_MAX), 100);
}

int main(void)
{
    XW_RUN(test_filter_empty_matches_everything);
    XW_RUN(test_filter_round_trip);
    XW_RUN(test_filter_refusals_name_the_field);
    XW_RUN(test_filter_matching_table);
    XW_RUN(test_event_names);
    XW_RUN(test_url_check);
    XW_RUN(test_secret_check);
    XW_RUN(test_delivery_id_is_stable);
    XW_RUN(test_backoff_bounds);
    return XW_REPORT();
}
