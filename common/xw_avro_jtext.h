/*
 * xw_avro_jtext - filling an Avro record straight from the text of one
 * JSON object, without a jansson tree: the fast path of xw_avro_from_json
 * for the plain, valid objects that are nearly all of what clients send.
 *
 * It takes only text it can read exactly as json_loadb (flags
 * JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK) would and then
 * xw_avro_from_json would fill without error, and for that text it makes
 * the same value (so the same encoded bytes). Everything else is declined,
 * never judged: the caller then runs jansson and xw_avro_from_json on the
 * same text, which stay the reference for every answer and error.
 *
 * Taken: JSON whitespace between tokens; strings without any escape
 * (valid UTF-8, no byte below 0x20) for string and enum types; integers
 * of at most 18 digits for int and long (int in range); true/false; null;
 * records (each member once, known names, missing fields with a null
 * default); arrays; unions, by the first branch whose JSON type fits (as
 * xw_avro_from_json picks). Declined, among others: any escape, reals,
 * bytes/fixed/float/double/map values, unknown or repeated members,
 * missing required fields, enum strings that are not symbols, strings and
 * arrays over the limits, nesting deeper than XW_AVRO_JTEXT_DEPTH.
 */
#ifndef XW_AVRO_JTEXT_H
#define XW_AVRO_JTEXT_H

#include <stddef.h>

#include <avro.h>

#include "xw_avro_json.h"

/* Containers nested in the object, itself included, beyond which the
 * text is declined (bounds the recursion; events nest three deep). */
#define XW_AVRO_JTEXT_DEPTH 8

/* Fills record dst (an xw_avro value: field defaults come from its
 * schema) from the JSON object starting at text[0] - text may go on after
 * it; the object's bytes are text[0..*used). limits as for
 * xw_avro_from_json (NULL: defaults). text is borrowed, read only within
 * text[0..len) and needs no NUL terminator.
 *   1  dst holds what xw_avro_from_json(dst, tree of the object, limits)
 *      would fill; *used set.
 *   0  declined: dst is in an unspecified state (xw_avro_from_json resets
 *      it first); *used untouched. */
int xw_avro_jtext_fill(avro_value_t *dst, const char *text, size_t len,
                       const xw_avro_json_limits *limits, size_t *used);

#endif
