/*
 * rows - stored JSON (an object's frozen spec and latest result, a
 * package's summary) into answer text, copied instead of parsed and dumped
 * again. See rows.c for when the copy is taken and why it is exact.
 *
 * A stored value is passed as text + length; text NULL means absent (no
 * such field, or a Redis nil).
 */
#ifndef SL_ROWS_H
#define SL_ROWS_H

#include <stddef.h>

#include <avro.h>
#include <jansson.h>

#include "xw_buf.h"

/* Appends the row of object `id` of GET /v1/packages/{id}: the spec's id,
 * name, kind and version, then every field of the result (a field of the
 * same name keeps its place and takes the result's value), or outcome
 * "pending" without a result. An excluded object (`excluded`: its entry
 * in the package meta) shows its reason instead. Byte for byte the
 * sl_row_json() row. 0, or -1 with out unchanged (memory, out's cap, an
 * id that is not valid UTF-8). */
int sl_row_write(xw_buf *out, const char *id, const json_t *excluded,
                 const char *spec, size_t spec_len, const char *res,
                 size_t res_len);

/* The two ways sl_row_write() takes, for the tests. sl_row_text() copies
 * the stored text: 0 written, 1 not taken (a value not in the form it
 * copies; out unchanged), -1 memory or cap. sl_row_json() builds the row
 * with jansson from whatever is stored (the reference): 0 or -1. */
int sl_row_text(xw_buf *out, const char *id, const char *spec,
                size_t spec_len, const char *res, size_t res_len);
int sl_row_json(xw_buf *out, const char *id, const json_t *excluded,
                const char *spec, size_t spec_len, const char *res,
                size_t res_len);

/* Appends the part of a decoded spec (an ObjectSpec value) that a row
 * takes: {"id":..,"name":..,"kind":..,"version":..}, each value written
 * by xw_avro_json_write as in the whole spec's JSON, so sl_row_write()
 * with this text writes the same row as with the whole spec's (the rest
 * of the spec is neither shown nor looked at once it is known to be
 * canonical, which text written from a decoded value is). Fields the
 * value lacks are left out. 0, or -1 (memory, cap) with out unchanged. */
int sl_spec_head_write(const avro_value_t *spec, xw_buf *out);

/* A filter of the package list: the summary's string `field` must equal
 * `want`; want NULL matches anything. */
struct sl_match {
    const char *field;
    const char *want;
};

/* One stored package summary of the list, for filters m[0..n): 1 if it
 * matches (then, if out is not NULL, appended to out after `sep` unless
 * sep is '\0': byte for byte its jansson dump), 0 if it does not or is
 * not readable JSON (left out, as json_loadb failing), -1 memory or cap
 * with out unchanged. */
int sl_summary_item(xw_buf *out, char sep, const char *text, size_t len,
                    const struct sl_match *m, size_t n);

#endif
