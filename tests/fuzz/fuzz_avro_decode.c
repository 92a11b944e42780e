/* libFuzzer target: Avro single-object decoding of any bytes must end in
 * a decoded event or a clear error, never a crash, a leak or a read out of
 * bounds; a decoded event must survive JSON and re-encoding. */
#include <stdint.h>
#include <stdlib.h>

#include "xw_avro.h"
#include "xw_avro_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static xw_avro_registry *reg;
    static xw_avro_decoder *dec;
    static xw_buf out = XW_BUF_INIT;
    const xw_avro_type *type;
    avro_value_t *v;
    xw_avro_err err;
    char errbuf[256];

    if (!reg && (xw_avro_registry_open(&reg, errbuf, sizeof errbuf) < 0
                 || xw_avro_decoder_new(&dec, reg) < 0))
        abort();
    if (xw_avro_decode(dec, data, size, &type, &v, &err) == 0) {
        json_t *j = xw_avro_to_json(v);

        json_decref(j);
        if (xw_avro_encode(v, &out, &err) < 0)
            abort(); /* whatever decodes must encode again */
    }
    return 0;
}
