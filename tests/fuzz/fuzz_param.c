/* libFuzzer target: the scheduling-parameter parser and resolver. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xw_param.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char value[2048], out[XW_PARAM_VALUE_MAX + 1];
    struct xw_param_context ctx = {
        { 2024, 2, 29, 0, 0, 0 }, { 2024, 3, 1, 0, 30, 0 }, "j1", "n1", "t1"
    };
    struct xw_param_error err;
    int is_constant;

    if (size >= sizeof value)
        size = sizeof value - 1;
    memcpy(value, data, size);
    value[size] = '\0';
    if (xw_param_validate(value, &is_constant, &err) == 0) {
        if (xw_param_resolve(value, &ctx, out, sizeof out, &err) == 0
            && strlen(out) >= sizeof out)
            abort();
    } else if (!err.code) {
        abort(); /* a refusal always says why */
    }
    return 0;
}
