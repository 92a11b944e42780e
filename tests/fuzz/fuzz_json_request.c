/* libFuzzer target: decoding of HTTP request bodies the way the
 * submit-listener does it — parse with limits, fill events by schema, and
 * convert workspaces and environments for the rule module; and step 2's
 * streaming path (xw_json_items, one reused ObjectSpec, the event encoded
 * item by item, with the fast fill from an item's text where it takes
 * the item), which must answer and encode exactly as the whole tree; and
 * the input as one item's text, where the fast fill (xw_avro_jtext) must
 * agree with jansson + xw_avro_from_json whenever it takes it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xw_avro.h"
#include "xw_avro_json.h"
#include "xw_json.h"
#include "xw_model.h"
#include "xw_test_jtext.h"
#include "xw_test_whole_tree.h"

#define MAX_ITEMS 64
#define MAX_LEN (1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Streams the body as h_prod_deploy does and compares with the whole
 * tree: same answer, same items, and - when every item fills an
 * ObjectSpec - the same event bytes. Aborts on any difference. */
static void streamed(xw_avro_value *whole, xw_avro_value *ev,
                     const char *d, size_t n)
{
    const xw_avro_json_limits lim = { 1024, 10000 };
    static xw_buf items, a, b;
    xw_avro_json_error aerr;
    xw_json_err we, se;
    xw_json_items it;
    xw_avro_err err;
    avro_value_t spec, el;
    json_t *body, *objs = NULL, *item;
    size_t i = 0;
    int wrc, src, filled = 1;

    wrc = xw_test_whole_tree(d, n, MAX_ITEMS, MAX_LEN, &body, &objs, &we);
    xw_avro_value_reset(ev);
    xw_avro_value_reset(whole);
    if (xw_avro_set_envelope(&ev->value, "e-1", 1764151200127, "olga", "c-1")
        || xw_avro_set_envelope(&whole->value, "e-1", 1764151200127, "olga",
                                "c-1")
        || xw_avro_set_string(&ev->value, "workspace_id", "dev")
        || xw_avro_set_string(&whole->value, "workspace_id", "dev")
        || xw_avro_array_append(&ev->value, "objects", &spec) < 0)
        abort();
    xw_buf_reset(&items);
    xw_json_items_init(&it, d, n, "objects", 1, MAX_ITEMS, MAX_LEN);
    for (;;) {
        const char *text;
        size_t len, used;

        /* as h_prod_deploy: the fast fill while every item filled */
        if (filled && xw_json_items_peek(&it, &text, &len)
            && xw_avro_jtext_fill(&spec, text, len, &lim, &used)) {
            xw_json_items_skip(&it, used);
            if (xw_avro_encode_body(&spec, &items, &err) < 0)
                abort();
            i++;
            continue;
        }
        if ((src = xw_json_items_next(&it, &item, &se)) != 1)
            break;
        if (wrc == 0 && !json_equal(item, json_array_get(objs, i)))
            abort();
        if (filled && (!json_is_object(item)
                       || xw_avro_from_json(&spec, item, &lim, &aerr) < 0))
            filled = 0;
        if (filled && xw_avro_encode_body(&spec, &items, &err) < 0)
            abort();
        json_decref(item);
        i++;
    }
    xw_json_items_release(&it);
    if (src != wrc)
        abort();
    if (wrc < 0) {
        if (we.http_status != se.http_status || strcmp(we.field, se.field)
            || strcmp(we.rule, se.rule))
            abort();
        goto out;
    }
    if (i != json_array_size(objs) || !filled)
        goto out;
    json_array_foreach(objs, i, item)
        if (xw_avro_array_append(&whole->value, "objects", &el) < 0
            || xw_avro_from_json(&el, item, &lim, &aerr) < 0)
            abort();
    if (xw_avro_encode(&whole->value, &a, &err) < 0
        || xw_avro_encode_items(&ev->value, "objects", json_array_size(objs),
                                items.data, items.len, &b, &err) < 0
        || a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
        abort();
out:
    json_decref(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static xw_avro_registry *reg;
    static xw_avro_value ev[6];
    static avro_value_t fast, slow;
    static const char *const types[6] = { "WorkspaceUpserted",
                                          "EnvironmentUpserted",
                                          "ObjectsSubmitted",
                                          "ObjectsSubmitted",
                                          "ObjectsSubmitted",
                                          "ObjectsSubmitted" };
    const xw_avro_json_limits lim = { 1024, 10000 };
    struct xw_findings f = XW_FINDINGS_INIT;
    struct xw_model_ws ws;
    struct xw_model_env env;
    xw_avro_json_error aerr;
    xw_json_err err;
    char errbuf[256];
    avro_value_t sub;
    json_t *j;

    if (!reg) {
        if (xw_avro_registry_open(&reg, errbuf, sizeof errbuf) < 0)
            abort();
        for (int i = 0; i < 6; i++)
            if (xw_avro_value_init(&ev[i], xw_avro_type_find(reg, types[i])) < 0)
                abort();
        if (xw_avro_array_append(&ev[4].value, "objects", &fast) < 0
            || xw_avro_array_append(&ev[5].value, "objects", &slow) < 0)
            abort();
    }
    if (xw_test_jtext_compare(&fast, &slow, (const char *)data, size, &lim) < 0)
        abort();
    streamed(&ev[2], &ev[3], (const char *)data, size);
    j = xw_json_parse((const char *)data, size, 1 << 20, &err);
    if (!j)
        return 0;
    if (xw_avro_set_record(&ev[0].value, "workspace", &sub) == 0)
        xw_avro_from_json(&sub, j, &lim, &aerr);
    if (xw_avro_set_record(&ev[1].value, "environment", &sub) == 0)
        xw_avro_from_json(&sub, j, &lim, &aerr);
    xw_avro_array_clear(&ev[2].value, "objects");
    if (xw_avro_array_append(&ev[2].value, "objects", &sub) == 0)
        xw_avro_from_json(&sub, j, &lim, &aerr);
    if (xw_model_ws_from_json(&ws, j, &err) == 0) {
        if (xw_model_env_from_json(&env, j, "src", &err) == 0) {
            xw_rules_validate_env(&env.env, &ws.ws, &ws.ws, NULL, 0, &f);
            xw_model_env_release(&env);
        }
        xw_model_ws_release(&ws);
    }
    xw_model_validate_env(j, "src", j, j, NULL, 0, &f, &err);
    xw_findings_release(&f);
    json_decref(j);
    return 0;
}
