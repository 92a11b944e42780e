/*
 * xw_test_jtext.h - the check that holds xw_avro_jtext_fill (the fast
 * fill from JSON text) against its reference, json_loadb +
 * xw_avro_from_json on the same text. Header-only, shared by the unit
 * test and the fuzz target so both judge with the same rule.
 */
#ifndef XW_TEST_JTEXT_H
#define XW_TEST_JTEXT_H

#include <string.h>

#include "xw_avro.h"
#include "xw_avro_json.h"
#include "xw_avro_jtext.h"

/* Fills `fast` from the JSON object at text[0..len) (more may follow it,
 * as in a body) by xw_avro_jtext_fill, and - when that took it - `slow`
 * (a value of the same record type) by jansson and xw_avro_from_json.
 * 1: taken, and the slow path accepted exactly the same bytes and
 * encodes to the same Avro bytes. 0: declined. -1: any difference. */
static int xw_test_jtext_compare(avro_value_t *fast, avro_value_t *slow,
                                 const char *text, size_t len,
                                 const xw_avro_json_limits *lim)
{
    static xw_buf a = XW_BUF_INIT, b = XW_BUF_INIT;
    xw_avro_json_error e;
    xw_avro_err err;
    json_error_t je;
    json_t *j;
    size_t used = 0;
    int rc = -1;

    if (!xw_avro_jtext_fill(fast, text, len, lim, &used))
        return 0;
    j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK,
                   &je);
    xw_buf_reset(&a);
    xw_buf_reset(&b);
    if (j && json_is_object(j) && (size_t)je.position == used
        && xw_avro_from_json(slow, j, lim, &e) == 0
        && xw_avro_encode_body(fast, &a, &err) == 0
        && xw_avro_encode_body(slow, &b, &err) == 0
        && a.len == b.len && memcmp(a.data, b.data, a.len) == 0)
        rc = 1;
    json_decref(j);
    return rc;
}

#endif
