/*
 * entry - the JSON text of a deployed object: written once from the
 * mapped Avro value, read back without a jansson tree.
 *
 * Writing. The HTTP target's body and the catalog entry are the same JSON
 * object, the entry with two members more at the end:
 *
 *   object  the DestinationObject, xw_avro_json_write() of the event's
 *           `object` (members in schema order)
 *   body    object + package_id, attempt, source_workspace,
 *           destination_workspace, effective_at, effective_date,
 *           timing_rule
 *   entry   body + replaced_version (null when nothing was replaced),
 *           deployed_at
 *
 * byte for byte what the deployer wrote when it built a jansson tree of
 * the object, set those members on it and dumped it (compact, insertion
 * order): the API (GET .../deployed-objects) and the history read these
 * entries, and tests/unit/test_deployer_entry.c compares both renderings.
 * The body carries no per-delivery member, so every repeat of a delivery
 * sends the same bytes; each text is the previous one without its closing
 * brace plus members, so each is made by one copy and a few appends.
 *
 * Reading. dp_json_members() reads top-level members of a stored entry
 * (its version, effective time, ...). Entries come from Redis, i.e. from
 * anyone who could write there, so the reader is strict: the text is
 * checked whole, and the answer is always the one json_loadb() +
 * json_object_get() would give. Text in the writer's form (canonical as
 * common/xw_jcanon.h defines it, with no escape in a string member read)
 * is read in one pass without allocating; anything else (spaces, reals,
 * other escapes, depth, or text that is not valid JSON) is handed to
 * jansson, which decides.
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

/* Appends the catalog entry of item it from its body[0..len):
 * replaced_version (it->has_replaced / it->replaced_version) and
 * deployed_at. 0, or -1 with out unchanged. */
int dp_entry_record(xw_buf *out, const char *body, size_t len,
                    const struct dp_item *it, int64_t deployed_at);

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

#endif
