#include "xw_spec.h"

#include <stdio.h>
#include <string.h>

#include "xw_avro_json.h"

int xw_spec_submission_write(xw_buf *out, int64_t at, const char *by)
{
    xw_buf_reset(out);
    if (xw_buf_addf(out, "%lld %s", (long long)at, by) < 0) {
        xw_buf_reset(out);
        return -1;
    }
    return 0;
}

int xw_spec_submission_read(const char *text, size_t len, int64_t *at,
                            const char **by, size_t *bylen)
{
    int64_t v = 0;
    size_t i = 0;

    /* At most 18 digits: no overflow, and far beyond any date. */
    while (i < len && i < 18 && text[i] >= '0' && text[i] <= '9')
        v = v * 10 + (text[i++] - '0');
    if (i == 0 || i >= len || text[i] != ' '
        || !xw_avro_utf8_valid(text + i + 1, len - i - 1))
        return -1;
    *at = v;
    *by = text + i + 1;
    *bylen = len - i - 1;
    return 0;
}

int xw_spec_json_write(const avro_value_t *spec, const char *sub,
                       size_t sublen, xw_buf *out)
{
    size_t saved = out->len;
    const char *by;
    size_t bylen;
    int64_t at;

    if (xw_avro_json_write(spec, out) < 0)
        return -1;
    if (!sub || xw_spec_submission_read(sub, sublen, &at, &by, &bylen) < 0)
        return 0;
    if (out->len - saved < 2 || out->data[saved] != '{'
        || out->data[out->len - 1] != '}')
        goto fail;                          /* not a record */
    /* Reopen the object: what the packager appended when it stored the
     * entry as JSON (submitted_at after the spec's fields). */
    xw_buf_setlen(out, out->len - 1);
    if (xw_buf_addf(out, "%s\"submitted_at\":%lld,\"submitted_by\":",
                    out->len - saved == 1 ? "" : ",", (long long)at) < 0
        || xw_avro_json_write_string(out, by, bylen) < 0
        || xw_buf_addch(out, '}') < 0)
        goto fail;
    return 0;
fail:
    xw_buf_setlen(out, saved);
    return -1;
}

int xw_spec_decode_json(avro_value_t *spec, const void *data, size_t len,
                        const char *sub, size_t sublen, xw_buf *out,
                        xw_avro_err *err)
{
    if (xw_avro_decode_record(spec, data, len, err) < 0)
        return -1;
    if (xw_spec_json_write(spec, sub, sublen, out) < 0) {
        err->code = XW_AVRO_ENOMEM;
        snprintf(err->msg, sizeof err->msg, "writing the spec as JSON");
        return -1;
    }
    return 0;
}
