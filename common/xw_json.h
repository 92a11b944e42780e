/*
 * xw_json - small helpers on jansson for request decoding and responses.
 *
 * Request errors. Every check that fails fills an xw_json_err naming the
 * offending field, the rule it broke and a human message; the HTTP layer
 * renders it as
 *   {"error":{"status":400,"field":"name","rule":"max_length",
 *             "message":"longer than 64 bytes"}}
 * The struct is a plain value (no resources). Setters truncate to the
 * array sizes and replace bytes that are not valid UTF-8 with '?', so the
 * rendered body is always valid JSON whatever the caller put in.
 *
 * Rules used by the getters (stable strings, clients may switch on them):
 *   "json"        body is not valid JSON          (field "body")
 *   "required"    missing or null
 *   "type"        wrong JSON type
 *   "min_length"  string shorter than allowed
 *   "max_length"  string longer than allowed (bytes)
 *   "nul"         string contains U+0000
 *   "min" / "max" integer out of bounds
 *   "max_items"   array longer than allowed
 *   "unknown"     field not allowed in this object
 *
 * Getters. `obj` is a borrowed object; a field that is absent or JSON null
 * counts as absent. Return: 1 = present and valid (*out set), 0 = absent
 * and optional (*out untouched, so preset defaults survive), -1 = invalid
 * or absent and XW_JSON_REQUIRED (e filled, status 400, *out untouched).
 * Strings and containers handed out are BORROWED from obj: valid while obj
 * lives and is not modified.
 *
 * For nested objects, call the getters on the inner object and, on -1,
 * xw_json_err_prefix(e, "mappings.compute[2]") to make the field a path.
 */
#ifndef XW_JSON_H
#define XW_JSON_H

#include <stddef.h>
#include <jansson.h>

#include "xw_buf.h"

typedef struct xw_json_err {
    int http_status;
    char field[128];
    char rule[32];
    char message[256];
} xw_json_err;

#define XW_JSON_REQUIRED 1u

/* Sets all parts (field and rule may be NULL for ""). */
void xw_json_err_set(xw_json_err *e, int http_status, const char *field,
                     const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void xw_json_err_clear(xw_json_err *e);
/* Prepends "prefix." to e->field ("prefix" alone if field is empty; a
 * field that starts with '[' is joined without the dot). */
void xw_json_err_prefix(xw_json_err *e, const char *prefix);
/* The error as a NEW json_t {"error":{...}}, or NULL on out of memory. */
json_t *xw_json_err_to_json(const xw_json_err *e);
/* Appends the rendered body to out (compact). 0, or -1 with out unchanged
 * (out of memory or out's cap). */
int xw_json_err_render(const xw_json_err *e, xw_buf *out);

/* Parses a request body: an object or array at the top (flags
 * JSON_REJECT_DUPLICATES). Returns a NEW reference or NULL with e set
 * (400, field "body", rule "json", message with line and column). Bodies
 * longer than max_len are refused (413, rule "max_length"); 0 = no cap. */
json_t *xw_json_parse(const char *data, size_t len, size_t max_len,
                      xw_json_err *e);

/* Appends j (compact, keys in insertion order) to out, streaming through
 * json_dump_callback into the buffer: no intermediate string. Any JSON
 * value may be dumped. 0, or -1 with out unchanged (cap or memory). */
int xw_json_dump(const json_t *j, xw_buf *out);

/* *out is the string (NUL-terminated, no embedded NUL), *len its length in
 * bytes (len may be NULL). min_len/max_len in bytes; max_len 0 = no bound. */
int xw_json_get_string(const json_t *obj, const char *field, size_t min_len,
                       size_t max_len, unsigned flags, const char **out,
                       size_t *len, xw_json_err *e);
/* Integers only (1.0 is a type error). Inclusive bounds. */
int xw_json_get_int(const json_t *obj, const char *field, json_int_t min,
                    json_int_t max, unsigned flags, json_int_t *out,
                    xw_json_err *e);
int xw_json_get_bool(const json_t *obj, const char *field, unsigned flags,
                     int *out, xw_json_err *e);
/* Borrowed array of at most max_items (0 = no bound). */
int xw_json_get_array(const json_t *obj, const char *field, size_t max_items,
                      unsigned flags, json_t **out, xw_json_err *e);
/* Borrowed object. */
int xw_json_get_object(const json_t *obj, const char *field, unsigned flags,
                       json_t **out, xw_json_err *e);
/* 0 if every key of obj is in the NULL-terminated list `allowed`, else -1
 * with e naming the first unknown key (rule "unknown"). obj that is not an
 * object: -1, rule "type", field "". */
int xw_json_check_keys(const json_t *obj, const char *const *allowed,
                       xw_json_err *e);

#endif
