/*
 * xw_avro_json - between API JSON and Avro values, by schema.
 *
 * This is the JSON an API user expects, not Avro's JSON encoding:
 *   record  -> object with one member per field (schema order)
 *   ["null", T] -> null or T's JSON (no {"string": ...} wrapper)
 *   enum    -> its symbol as a string
 *   int, long (incl. timestamp-millis) -> integer
 *   float, double -> number;  boolean -> true/false
 *   bytes, fixed  -> base64 string (RFC 4648, padded)
 *   array   -> array
 * Unions of several non-null types are written as the current branch's
 * JSON; when reading, the first branch whose JSON type fits is taken.
 *
 * Both functions go through the avro_value_t interface, so they work on
 * xw_avro values and on Avro C generic values alike. Field defaults come
 * from the schema JSON, which only xw_avro values carry: with a foreign
 * value every field is required.
 */
#ifndef XW_AVRO_JSON_H
#define XW_AVRO_JSON_H

#include <stddef.h>

#include <avro.h>
#include <jansson.h>

#include "xw_avro.h"
#include "xw_buf.h"

/* Bounds on input from outside (HTTP bodies). 0 means "no bound". */
typedef struct xw_avro_json_limits {
    size_t max_string;   /* bytes in one string / decoded bytes value */
    size_t max_items;    /* elements in one array */
} xw_avro_json_limits;

#define XW_AVRO_JSON_LIMITS_DEFAULT { 4096, 10000 }

/* Why from_json refused its input: the first problem found.
 *   field    path of the offending value relative to the object passed,
 *            e.g. "objects[3].compute_resource"; "" for the object itself
 *   rule     one of (static strings):
 *              "required"      a field without a default is missing
 *              "unknown_field" the object has a member the schema lacks
 *              "type"          wrong JSON type (or bad base64)
 *              "enum"          string is not one of the enum's symbols
 *              "max_length"    string (bytes) longer than max_string
 *              "max_items"     array longer than max_items
 *              "range"         integer does not fit an Avro int
 *              "utf8"          string not valid UTF-8 or contains NUL
 *              "internal"      out of memory or a schema problem
 *   message  one sentence for a human, naming the field and the rule */
typedef struct xw_avro_json_error {
    char field[256];
    const char *rule;
    char message[256];
} xw_avro_json_error;

/* Fills dst (a record value: an event or a nested record such as the
 * `environment` of an EnvironmentUpserted) from a JSON object, by dst's
 * schema. dst is reset first; fields missing from src take their schema
 * default, or fail with "required". limits may be NULL (defaults). Returns
 * 0, or -1 with *err filled and dst reset (nothing half-filled is left). */
int xw_avro_from_json(avro_value_t *dst, const json_t *src,
                      const xw_avro_json_limits *limits,
                      xw_avro_json_error *err);

/* The JSON of a value (any type, usually an event record): a new
 * reference, or NULL when out of memory or when a string is not valid
 * UTF-8 (only possible for values not made by xw_avro). */
json_t *xw_avro_to_json(const avro_value_t *value);

/* Appends the JSON of a value to out, byte for byte what
 * xw_json_dump(xw_avro_to_json(value)) appends (compact, members in schema
 * order, jansson's escapes and number formats), without building a
 * jansson tree: for projections written once per object, where the tree
 * was most of the cost. Stored JSON that other services read keeps its
 * exact bytes. 0, or -1 with out unchanged (memory, out's cap, a string
 * that is not valid UTF-8). */
int xw_avro_json_write(const avro_value_t *value, xw_buf *out);

/* Appends s[0..len) as a JSON string literal, escaped as jansson does
 * (for callers that add members to a written object). 0, or -1 (invalid
 * UTF-8, memory, cap) with out unchanged. */
int xw_avro_json_write_string(xw_buf *out, const char *s, size_t len);

/* Appends the JSON of a value as a service keeps it in Redis, data[0..len):
 * Avro (xw_avro_encode_record, or xw_avro_encode of an event, whose
 * header is the same) decoded into rec - a record value of that schema,
 * reused: its contents are replaced - and written by xw_avro_json_write;
 * JSON text, which never starts with C3 01 (what older versions stored),
 * appended as it is. 0; -1 with err filled and out unchanged when the
 * bytes are neither (err->code from xw_avro_decode_record) or on memory
 * (XW_AVRO_ENOMEM). */
int xw_avro_json_stored(avro_value_t *rec, const void *data, size_t len,
                        xw_buf *out, xw_avro_err *err);

#endif
