/*
 * entry - a deployed object's texts: the HTTP target's JSON body, and the
 * catalog entry (Avro: common/xw_catalog.h), written once from the mapped
 * Avro value; entries read back without a jansson tree.
 *
 * The body. The HTTP target receives the JSON object
 *
 *   object  the DestinationObject, xw_avro_json_write() of the event's
 *           `object` (members in schema order)
 *   body    object + package_id, attempt, source_workspace,
 *           destination_workspace, effective_at, effective_date,
 *           timing_rule
 *
 * byte for byte what the deployer sent when it built a jansson tree of
 * the object, set those members on it and dumped it (compact, insertion
 * order; tests/unit/test_deployer_entry.c compares both renderings). It
 * carries no per-delivery member, so every repeat of a delivery sends the
 * same bytes; it is the object's text without its closing brace plus
 * members: one copy and a few appends. The catalog target sends nothing,
 * and the deployer does not write it then.
 *
 * The entry. A CatalogEntry: the object's Avro body (xw_avro_encode_body
 * of the event's `object`) followed by the deployment's fields - the
 * body's members plus replaced_version (null when nothing was replaced)
 * and deployed_at. Its JSON (xw_avro_json_stored) is the text the deployer
 * stored before: the body with those two members appended.
 *
 * Reading. dp_entry_members() reads members of a stored entry (its
 * version, effective time, ...): an Avro entry by decoding it, a JSON one
 * (an older deployer's) by dp_json_members(). Entries come from Redis,
 * i.e. from anyone who could write there, so the JSON reader is strict:
 * the text is checked whole, and the answer is always the one
 * json_loadb() + json_object_get() would give. Text in the writer's form
 * (canonical as common/xw_jcanon.h defines it, with no escape in a string
 * member read) is read in one pass without allocating; anything else
 * (spaces, reals, other escapes, depth, or text that is not valid JSON)
 * is handed to jansson, which decides.
 */
#ifndef DP_ENTRY_H
#define DP_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "deployer.h"
#include "xw_buf.h"

/* Appends the body of item it: the object's JSON obj[0..len) (an object
 * with at least one member, as the writer makes it) with the item's
 * package and timing members. 0, or -1 with out unchanged (memory, cap,
 * obj not an object). */
int dp_entry_body(xw_buf *out, const char *obj, size_t len,
                  const struct dp_item *it);

/* Replaces out's contents with the catalog entry of item it: the
 * object's Avro body obj[0..len) (xw_avro_encode_body of a
 * DestinationObject) with the item's package and timing fields,
 * replaced_version (it->has_replaced / it->replaced_version) and
 * deployed_at, set on entry (a CatalogEntry value: its object fields are
 * ignored, the others overwritten). 0, or -1 with out empty (memory,
 * cap). */
int dp_entry_encode(xw_buf *out, avro_value_t *entry, const void *obj,
                    size_t len, const struct dp_item *it, int64_t deployed_at);

enum dp_json_type {
    DP_JSON_NONE = 0,  /* absent, or neither an integer nor a string */
    DP_JSON_INT,       /* an integer (no fraction, no exponent) */
    DP_JSON_STR,       /* a string */
};

/* A top-level member to read, and what it holds. */
struct dp_json_member {
    const char *name;       /* in: the key */
    enum dp_json_type type; /* out */
    int64_t integer;        /* out, DP_JSON_INT */
    const char *str;        /* out, DP_JSON_STR: borrowed (from the text
                               or from *tree), len bytes, no NUL inside,
                               not NUL-terminated */
    size_t len;
};

/* Fills m[0..n) from the top-level members of the JSON object
 * text[0..len): for a key given twice, the last one (as jansson); all
 * DP_JSON_NONE when the text is not a valid JSON object. *tree is NULL,
 * or jansson's parse that the strings point into: json_decref() it when
 * done with them. */
void dp_json_members(const char *text, size_t len, struct dp_json_member *m,
                     size_t n, json_t **tree);

/* dp_json_members() of a stored catalog entry data[0..len), Avro or JSON:
 * an Avro entry is decoded into entry (a CatalogEntry value, reused) and
 * its strings borrowed from it, valid until it is decoded into again
 * (*tree is then NULL); an entry that does not decode has no members. */
void dp_entry_members(avro_value_t *entry, const char *data, size_t len,
                      struct dp_json_member *m, size_t n, json_t **tree);

#endif
