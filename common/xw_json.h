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

/*
 * Streaming the items of a body's one array member. A request body
 *   {"objects": [item, item, ...]}
 * is walked without ever being one tree: the top level is read here and
 * each item (each other value too) is parsed alone by jansson (json_loadb
 * with JSON_DISABLE_EOF_CHECK stops after one value and says how many
 * bytes it read). A caller that converts each item and drops it holds one
 * item at a time, whatever their number.
 *
 *   xw_json_items it;
 *   json_t *item;
 *   int rc;
 *
 *   xw_json_items_init(&it, data, len, "objects", 1, 10000, max_body);
 *   while ((rc = xw_json_items_next(&it, &item, &e)) == 1) {
 *       convert(item);
 *       json_decref(item);
 *   }
 *   xw_json_items_release(&it);
 *   (rc 0: the body is good and every item was handed out; -1: e says why
 *   the body is refused)
 *
 * The answers are the whole-tree path's: xw_json_parse(data, len,
 * max_len), then "the body must be a JSON object" (field "body", rule
 * "type"; an empty body: rule "required"), then xw_json_get_array(body,
 * member, max_items, XW_JSON_REQUIRED), then at least min_items (rule
 * "min_items"), then xw_json_check_keys(body, {member, NULL}): the same
 * status, field and rule, with the same precedence whatever the order in
 * which the body shows its problems (a syntax error after the array wins
 * over an unknown member before it). JSON syntax errors inside a value
 * read as xw_json_parse's ("line L column C: ..." of the body, jansson's
 * words); those between the values say where, in words that may differ.
 *
 * Items are handed out before the rest of the body is read, so they are
 * provisional: the body is good only once next() has returned 0. A caller
 * that finds an item bad should keep calling next() to the end (dropping
 * the items) and answer next()'s -1 rather than its own: that is what the
 * whole-tree path answers. Items past max_items are read (for syntax) but
 * not handed out. An item may be any JSON value: the caller checks it.
 * Values of other members, and a member that is not an array, are parsed
 * whole and dropped (the body is refused anyway).
 *
 * Ownership: data is borrowed and must stay unchanged until the last
 * next(); each item handed out is a NEW reference for the caller; the
 * iterator owns only the set of top-level keys it has seen (duplicates
 * are JSON errors), freed by xw_json_items_release - safe after any
 * return, and twice. Once next() has returned 0 or -1 it keeps returning
 * that (with the same e); a failure leaves nothing else behind.
 */
typedef struct xw_json_items {
    /* private: the scanner's state */
    const char *data;
    size_t len, pos;
    const char *member;
    size_t min_items, max_items, max_len;
    size_t count;           /* items of the member read so far */
    int state;
    int member_kind;        /* absent or null, an array, anything else */
    int unknown;            /* err holds the first unknown member's error */
    json_t *keys;           /* top-level keys seen, made on first use */
    xw_json_err err;
} xw_json_items;

/* Starts an iteration over the items of array `member` (borrowed) of the
 * JSON object body data[0..len). max_items and max_len 0 = no bound;
 * bodies over INT_MAX bytes are refused as too long (jansson counts read
 * bytes in an int). Allocates nothing. */
void xw_json_items_init(xw_json_items *it, const char *data, size_t len,
                        const char *member, size_t min_items,
                        size_t max_items, size_t max_len);
/* 1: *item is the next item (NEW reference). 0: the whole body was read
 * and is good (*item NULL). -1: the body is refused, e filled as
 * xw_json_parse and the getters fill it (*item NULL). */
int xw_json_items_next(xw_json_items *it, json_t **item, xw_json_err *e);
void xw_json_items_release(xw_json_items *it);

/* For a caller that can read some items from their text without jansson
 * (xw_avro_jtext): peek() reads the body up to the next item that next()
 * would hand out and whose text starts with '{', and gives the body's
 * text from that item's first byte to the end (*text borrowed from data,
 * *len bytes). 1, or 0 when there is no such item (the body ended, was
 * refused, the next item is not an object or is past max_items): next()
 * then goes on as if peek() had not been called.
 * After peek() returned 1, either call next() (which parses that item as
 * usual) or skip(used) when the caller read the item itself as the first
 * `used` bytes of the text: it must then be exactly the one JSON object
 * json_loadb would read there, and valid (nothing else is checked). skip
 * moves past it and counts it, as next() handing it out would have. */
int xw_json_items_peek(xw_json_items *it, const char **text, size_t *len);
void xw_json_items_skip(xw_json_items *it, size_t used);

#endif
