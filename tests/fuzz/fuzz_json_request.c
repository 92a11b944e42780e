/* libFuzzer target: decoding of HTTP request bodies the way the
 * submit-listener does it — parse with limits, fill events by schema, and
 * convert workspaces and environments for the rule module. */
#include <stdint.h>
#include <stdlib.h>

#include "xw_avro.h"
#include "xw_avro_json.h"
#include "xw_json.h"
#include "xw_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static xw_avro_registry *reg;
    static xw_avro_value ev[3];
    static const char *const types[3] = { "WorkspaceUpserted",
                                          "EnvironmentUpserted",
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
        for (int i = 0; i < 3; i++)
            if (xw_avro_value_init(&ev[i], xw_avro_type_find(reg, types[i])) < 0)
                abort();
    }
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
