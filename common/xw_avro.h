/*
 * xw_avro - xwdeploy's events in Avro: schema registry, single-object
 * encoding, bounded decoding, and field access by name.
 *
 * Wire format (Avro "single-object encoding"):
 *
 *   C3 01 | fingerprint (8 bytes, little-endian) | Avro binary body
 *
 * where the fingerprint is the CRC-64-AVRO (Rabin) fingerprint of the
 * writer schema's Parsing Canonical Form. Any Avro implementation can read
 * these messages given the .avsc files in schemas/.
 *
 * Pieces and who owns what:
 *
 *   xw_avro_registry  every event schema, indexed by full name and by
 *                     fingerprint. Built once at start (the schemas are
 *                     compiled into the library), read-only afterwards, so
 *                     one registry may be shared by every thread. It owns
 *                     the xw_avro_type records; a `const xw_avro_type *` is
 *                     borrowed and lives until xw_avro_registry_free().
 *   xw_avro_value     one event being built (producer side). Holds a value
 *                     of the type's record; reuse it for every event of that
 *                     type: xw_avro_value_reset() keeps all memory (strings,
 *                     array slots), so after the first few events encoding
 *                     allocates nothing. One thread at a time.
 *   xw_avro_decoder   the consumer side: one cached value per type, filled
 *                     in place by xw_avro_decode(). Also allocation-free
 *                     once warm. One thread at a time.
 *
 * Values are Avro C `avro_value_t` handles (iface + self) backed by
 * xw_avro's own value classes, so Avro C functions that only read through
 * the value interface (avro_value_sizeof, avro_value_write, avro_value_equal)
 * work on them. Why not Avro C's generic values: their reset frees every
 * array element and union branch, so each event would cost allocations per
 * element. Here resetting keeps array elements and union branches for
 * reuse; a value therefore keeps the capacity of the largest event it held
 * until it is released. Map schemas and recursive schemas are not supported
 * (no event needs them); the registry refuses them. The instance methods
 * incref/decref are absent: values are owned by their xw_avro_value or
 * decoder, never reference counted.
 *
 * Avro types as C types: string -> const char * + length (UTF-8, checked),
 * long (also timestamp-millis: ms since the epoch) -> int64_t, int ->
 * int32_t, boolean -> bool, enum -> its symbol, bytes -> pointer + length,
 * ["null", T] -> T or XW_AVRO_ABSENT.
 *
 * Handles: an `avro_value_t` obtained for a field, array element or nested
 * record is a borrowed view into its event. It stays valid until the event
 * is reset, released, decoded into again, or - for an array element - until
 * the next append to the same array (appending may move the elements).
 *
 * Errors: every function returns 0 on success and a negative XW_AVRO_E*
 * code on failure; the functions that can say more also fill an
 * xw_avro_err (code + message naming the field or byte offset) or an
 * errbuf. Getters return XW_AVRO_ABSENT (positive) when an optional field
 * (a ["null", T] union) holds null. A failed call leaves nothing allocated
 * behind and no half-made objects for the caller to free.
 */
#ifndef XW_AVRO_H
#define XW_AVRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <avro.h>
#include <jansson.h>

#include "xw_buf.h"

/* Result codes. 0 is success; everything below zero is an error. */
enum xw_avro_code {
    XW_AVRO_OK = 0,
    XW_AVRO_ABSENT = 1,        /* getter: optional field holds null */
    XW_AVRO_ENOMEM = -1,       /* out of memory */
    XW_AVRO_ESHORT = -2,       /* decode: shorter than the 10-byte header */
    XW_AVRO_EMARKER = -3,      /* decode: does not start with C3 01 */
    XW_AVRO_EUNKNOWN = -4,     /* decode: fingerprint not in the registry */
    XW_AVRO_ETRUNCATED = -5,   /* decode: body ends inside the value */
    XW_AVRO_EGARBLED = -6,     /* decode: body is not a valid encoding */
    XW_AVRO_ETRAILING = -7,    /* decode: bytes left after the value */
    XW_AVRO_ENOFIELD = -8,     /* record has no field of that name */
    XW_AVRO_ETYPE = -9,        /* field or value is of another type */
    XW_AVRO_ESYMBOL = -10,     /* enum has no such symbol */
    XW_AVRO_ERANGE = -11,      /* array index out of range */
    XW_AVRO_EVALUE = -12,      /* bad value: invalid UTF-8, wrong size */
    XW_AVRO_EUNSET = -13,      /* encode: a union without a branch */
    XW_AVRO_ESCHEMA = -14,     /* schema invalid or unsupported */
    XW_AVRO_EDUP = -15,        /* schema already in the registry */
    XW_AVRO_ELIMIT = -16,      /* output buffer cap exceeded */
    XW_AVRO_EIO = -17          /* reading a schema file failed */
};

/* Short constant description of a code ("truncated body"). */
const char *xw_avro_strerror(int code);

/* 1 if s[0..n) is valid UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF), else 0. NUL bytes are valid. */
int xw_avro_utf8_valid(const void *s, size_t n);

/* Detail of a failed encode/decode/fingerprint call. */
typedef struct xw_avro_err {
    int code;        /* an enum xw_avro_code */
    char msg[256];   /* one line, names the field and/or byte offset */
} xw_avro_err;

/* The single-object marker and header size. */
#define XW_AVRO_MARKER0 0xC3
#define XW_AVRO_MARKER1 0x01
#define XW_AVRO_HEADER_LEN 10

/* ---------------------------------------------------------------------
 * Fingerprints
 */

/* CRC-64-AVRO of `len` bytes (the empty input gives 0xc15d213aa4d7a795). */
uint64_t xw_avro_crc64(const void *data, size_t len);

/* Computes the Parsing Canonical Form of a schema given as JSON text
 * (PRIMITIVES, FULLNAMES, STRIP, ORDER, STRINGS, INTEGERS, WHITESPACE of
 * the Avro specification) and its CRC-64-AVRO fingerprint. If pcf_out is
 * not NULL the canonical form replaces its contents (on failure it is left
 * empty). Names and symbols are validated; references must name a type
 * defined earlier in the same schema. */
int xw_avro_fingerprint(const char *schema_json, uint64_t *fp,
                        xw_buf *pcf_out, xw_avro_err *err);

/* ---------------------------------------------------------------------
 * Registry
 */

typedef struct xw_avro_registry xw_avro_registry;

/* One registered schema. Everything here is owned by the registry. */
typedef struct xw_avro_type {
    const char *name;        /* full name: "xwdeploy.events.ObjectResult" */
    const char *short_name;  /* "ObjectResult" (points into name) */
    uint64_t fingerprint;    /* CRC-64-AVRO of pcf */
    const char *pcf;         /* Parsing Canonical Form, NUL-terminated */
    size_t pcf_len;
    const char *json;        /* the schema text as loaded */
    avro_schema_t schema;    /* Avro C's parse of it */
    avro_value_iface_t *iface; /* xw_avro value class of the record */
} xw_avro_type;

/* A schema compiled into the library: file stem and JSON text. */
typedef struct xw_avro_schema_text {
    const char *name;   /* "ObjectResult" (from schemas/ObjectResult.avsc) */
    const char *json;
    size_t len;
} xw_avro_schema_text;

/* Generated at build time from schemas/ *.avsc, sorted by name. */
extern const xw_avro_schema_text xw_avro_embedded_schemas[];
extern const size_t xw_avro_embedded_schemas_count;

/* Creates a registry holding every embedded schema. On failure *out is
 * NULL, nothing is left allocated and errbuf says which schema failed and
 * why. */
int xw_avro_registry_open(xw_avro_registry **out, char *errbuf,
                          size_t errlen);

/* Same, but reads every *.avsc file of `dir` (in name order) instead of the
 * embedded copies: an override for operators and a check for tests. */
int xw_avro_registry_open_dir(xw_avro_registry **out, const char *dir,
                              char *errbuf, size_t errlen);

/* An empty registry, for xw_avro_registry_add(). */
int xw_avro_registry_new(xw_avro_registry **out);

/* Adds one schema (JSON text of `len` bytes). The top level must be a
 * record. If expect_name is not NULL the record's (short) name must equal
 * it (file name = record name). A second schema with a full name already
 * present is allowed (an older or newer version of an event: decodable by
 * its fingerprint) but xw_avro_type_find() keeps returning the first one.
 * The same fingerprint twice is XW_AVRO_EDUP. Not thread-safe: add
 * everything before sharing the registry. On failure the registry is
 * unchanged. `type_out` may be NULL. */
int xw_avro_registry_add(xw_avro_registry *reg, const char *json, size_t len,
                         const char *expect_name,
                         const xw_avro_type **type_out,
                         char *errbuf, size_t errlen);

/* Frees the registry and every type, class and schema it owns. Values and
 * decoders made from it must be released first. NULL is fine. */
void xw_avro_registry_free(xw_avro_registry *reg);

size_t xw_avro_registry_count(const xw_avro_registry *reg);
/* Types in the order they were added; NULL past the end. */
const xw_avro_type *xw_avro_registry_type(const xw_avro_registry *reg,
                                          size_t i);

/* Finds a type by full name or by short name ("ObjectResult"). Borrowed;
 * NULL if not registered. */
const xw_avro_type *xw_avro_type_find(const xw_avro_registry *reg,
                                      const char *name);
const xw_avro_type *xw_avro_type_by_fingerprint(const xw_avro_registry *reg,
                                                uint64_t fp);

/* Reads only the header of a message and returns its type: for routing
 * without decoding. Codes: ESHORT, EMARKER, EUNKNOWN. */
int xw_avro_peek_type(const xw_avro_registry *reg, const void *data,
                      size_t len, const xw_avro_type **type,
                      xw_avro_err *err);

/* The first field of a message's body read as a string, without
 * decoding: *s (inside data, not terminated) and *slen. For reading ahead
 * a field every type of a topic starts with (our events' event_id); the
 * caller knows the type starts with a string. Codes: ESHORT, EMARKER,
 * ETRUNCATED, EGARBLED. */
int xw_avro_peek_string(const void *data, size_t len, const char **s,
                        size_t *slen, xw_avro_err *err);

/* ---------------------------------------------------------------------
 * Values (producer side)
 */

typedef struct xw_avro_value {
    const xw_avro_type *type;   /* borrowed from the registry */
    avro_value_t value;         /* the event record: pass &v.value around */
} xw_avro_value;

/* Allocates an empty event of `type`: strings "", numbers 0, booleans
 * false, enums their first symbol, arrays empty and every optional field
 * null. On failure *v is zeroed: XW_AVRO_ENOMEM, or XW_AVRO_ETYPE when type
 * is NULL (so xw_avro_value_init(&v, xw_avro_type_find(reg, "X")) is safe). */
int xw_avro_value_init(xw_avro_value *v, const xw_avro_type *type);
/* Back to the state after init, keeping every allocation for reuse. */
void xw_avro_value_reset(xw_avro_value *v);
/* Frees everything; *v is zeroed and may be init'ed again. Safe on a
 * zeroed value. */
void xw_avro_value_release(xw_avro_value *v);

/* The type of an event value (one from xw_avro_value_init or
 * xw_avro_decode), NULL for a nested record or a foreign value. */
const xw_avro_type *xw_avro_value_type(const avro_value_t *v);

/* 1 if v is an xw_avro value (an event, or a handle on a field, element or
 * branch of one), 0 for any other avro_value_t (e.g. Avro C's generic
 * values). Its strings are valid UTF-8 - every setter, xw_avro_copy and
 * the decoder check before storing - and its field names and enum symbols
 * are Avro names ([A-Za-z_][A-Za-z0-9_]*), so a writer need not check them
 * again. */
int xw_avro_is_ours(const avro_value_t *v);

/* Encodes an event as single-object encoding, replacing the contents of
 * `out` (a reused buffer: no allocation once it is big enough). On failure
 * out is left empty; XW_AVRO_EUNSET names a union with no branch selected,
 * XW_AVRO_ELIMIT means out's cap is too small. */
int xw_avro_encode(const avro_value_t *event, xw_buf *out, xw_avro_err *err);

/* An event too large to hold as one value (step 2's ObjectsSubmitted of
 * 10,000 ObjectSpecs) is encoded item by item when the array is its last
 * field: fill one reused item value (e.g. the only element of that array),
 * append each item's body to a buffer with xw_avro_encode_body, then
 * xw_avro_encode_items. The bytes are xw_avro_encode's for the event
 * holding those items (one block: count, items, 0). */

/* Appends the Avro binary body of v (no header) to out: any xw_avro value,
 * e.g. an array element. On failure out is as it was: XW_AVRO_ETYPE (not
 * an xw_avro value), XW_AVRO_EUNSET, XW_AVRO_ELIMIT, XW_AVRO_ENOMEM. */
int xw_avro_encode_body(const avro_value_t *v, xw_buf *out, xw_avro_err *err);

/* xw_avro_encode of `event`, except that its last field, the array
 * `field`, is `count` items whose bodies are items[0..len) (concatenated
 * xw_avro_encode_body output), whatever the value's own array holds.
 * Replaces the contents of out; on failure out is left empty.
 * XW_AVRO_ENOFIELD if `field` is not the event's last field (a field after
 * it would have to come after the items), XW_AVRO_ETYPE if it is not an
 * array or event is not an event value, XW_AVRO_EVALUE for bytes without
 * a count. */
int xw_avro_encode_items(const avro_value_t *event, const char *field,
                         size_t count, const void *items, size_t len,
                         xw_buf *out, xw_avro_err *err);

/* A nested record on its own (e.g. one ObjectSpec of an event), for state
 * a service keeps for itself: the same shape as the single-object
 * encoding - C3 01, the CRC-64-AVRO fingerprint of the record's own
 * Parsing Canonical Form (as if it were a top-level schema, with the
 * namespace it has where it is defined), the Avro binary body - so a value
 * stored by another version of the record is refused, not misread.
 * Replaces the contents of `out`; on failure out is left empty:
 * XW_AVRO_ETYPE if rec is not an xw_avro record, XW_AVRO_ESCHEMA if the
 * record refers to a named type defined outside it (it then has no
 * fingerprint of its own). */
int xw_avro_encode_record(const avro_value_t *rec, xw_buf *out,
                          xw_avro_err *err);
/* xw_avro_encode_record of rec, except that its first n fields are given
 * already encoded: head[0..len), the concatenated bodies of those fields,
 * whatever rec's own first fields hold. A record's body is its fields'
 * bodies one after the other, so the xw_avro_encode_body of a record
 * whose fields have the same structure as rec's first n (names aside)
 * can stand for them: a service can store a record that extends a value
 * it encoded before without decoding that value again
 * (common/xw_catalog.h). The head is not checked: bytes that are not
 * such a body make a value that does not decode (or decodes wrong).
 * Replaces the contents of out; on failure out is left empty: the codes
 * of xw_avro_encode_record, and XW_AVRO_ERANGE when n exceeds the
 * record's fields (or len without n). */
int xw_avro_encode_record_head(const avro_value_t *rec, size_t n,
                               const void *head, size_t len, xw_buf *out,
                               xw_avro_err *err);
/* Reads bytes made by xw_avro_encode_record into rec (an xw_avro record of
 * the same schema, anywhere: a field, an array element), replacing its
 * contents and reusing its memory. Bounded like xw_avro_decode. Codes:
 * ESHORT, EMARKER, ETYPE (another record's fingerprint), ETRUNCATED,
 * EGARBLED, ETRAILING, ENOMEM; on failure rec is reset. */
int xw_avro_decode_record(avro_value_t *rec, const void *data, size_t len,
                          xw_avro_err *err);

/* Copies src into dst. Both must be xw_avro values of the same structure
 * (same kinds, field names and order, enum symbols, union branches) - e.g.
 * an ObjectSpec decoded from PackageCreated into a DeployStarted being
 * built - else XW_AVRO_ETYPE and dst is reset. dst's memory is reused. */
int xw_avro_copy(avro_value_t *dst, const avro_value_t *src);

/* ---------------------------------------------------------------------
 * Field access by name. `rec` is an event or a nested record.
 *
 * Setters on an optional field (["null", T]) select the T branch; passing
 * a NULL string to xw_avro_set_string sets null. Strings must be valid
 * UTF-8 (XW_AVRO_EVALUE otherwise). Codes: ENOFIELD, ETYPE, ESYMBOL,
 * EVALUE, ENOMEM.
 */
int xw_avro_set_string(avro_value_t *rec, const char *field, const char *s);
int xw_avro_set_string_len(avro_value_t *rec, const char *field,
                           const char *s, size_t len);
int xw_avro_set_bytes(avro_value_t *rec, const char *field, const void *p,
                      size_t len);
int xw_avro_set_long(avro_value_t *rec, const char *field, int64_t v);
int xw_avro_set_int(avro_value_t *rec, const char *field, int32_t v);
int xw_avro_set_bool(avro_value_t *rec, const char *field, bool v);
int xw_avro_set_enum(avro_value_t *rec, const char *field, const char *symbol);
/* Sets an optional field to null (ETYPE if the field is not optional). */
int xw_avro_set_null(avro_value_t *rec, const char *field);
/* A handle on a nested record field, for its own setters. */
int xw_avro_set_record(avro_value_t *rec, const char *field,
                       avro_value_t *out);

/* The envelope every event starts with: event_id (a UUID), occurred_at
 * (milliseconds since the epoch), actor, correlation_id. actor and
 * correlation_id may be NULL to leave them alone (DeadLetter has neither). */
int xw_avro_set_envelope(avro_value_t *event, const char *event_id,
                         int64_t occurred_at_ms, const char *actor,
                         const char *correlation_id);

/* Arrays: empty one, or append an element. xw_avro_array_append returns a
 * handle on the new (reset) element, whatever its type: use it with the
 * record setters, or with avro_value_set_* for scalars. */
int xw_avro_array_clear(avro_value_t *rec, const char *field);
int xw_avro_array_append(avro_value_t *rec, const char *field,
                         avro_value_t *elem);
/* Keeps the first n elements (XW_AVRO_ERANGE if there are fewer): e.g. to
 * drop the element just appended when it turned out not to belong. The
 * memory of the dropped ones is kept for the next appends. */
int xw_avro_array_truncate(avro_value_t *rec, const char *field, size_t n);
int xw_avro_array_append_string(avro_value_t *rec, const char *field,
                                const char *s);
int xw_avro_array_append_enum(avro_value_t *rec, const char *field,
                              const char *symbol);

/* Getters. Strings and bytes are borrowed from the value: valid until it
 * is reset, changed or decoded into again. Strings are NUL-terminated;
 * len (may be NULL) excludes the NUL. Enum symbols are borrowed from the
 * registry. On XW_AVRO_ABSENT the outputs are NULL / 0 / false. */
int xw_avro_get_string(const avro_value_t *rec, const char *field,
                       const char **s, size_t *len);
int xw_avro_get_bytes(const avro_value_t *rec, const char *field,
                      const void **p, size_t *len);
int xw_avro_get_long(const avro_value_t *rec, const char *field, int64_t *v);
int xw_avro_get_int(const avro_value_t *rec, const char *field, int32_t *v);
int xw_avro_get_bool(const avro_value_t *rec, const char *field, bool *v);
int xw_avro_get_enum(const avro_value_t *rec, const char *field,
                     const char **symbol);
/* 1 if the field is an optional holding null, 0 if not, < 0 on error. */
int xw_avro_is_null(const avro_value_t *rec, const char *field);
int xw_avro_get_record(const avro_value_t *rec, const char *field,
                       avro_value_t *out);

int xw_avro_array_size(const avro_value_t *rec, const char *field,
                       size_t *n);
/* Handle on element i (XW_AVRO_ERANGE past the end). */
int xw_avro_array_get(const avro_value_t *rec, const char *field, size_t i,
                      avro_value_t *elem);
int xw_avro_array_get_string(const avro_value_t *rec, const char *field,
                             size_t i, const char **s, size_t *len);
int xw_avro_array_get_enum(const avro_value_t *rec, const char *field,
                           size_t i, const char **symbol);

/* The schema default of field `index` of record `rec` (borrowed from the
 * registry), or NULL if the field has none or rec is not an xw_avro
 * record. Used by the JSON bridge. */
const json_t *xw_avro_field_default(const avro_value_t *rec, size_t index);

/* ---------------------------------------------------------------------
 * Decoding (consumer side)
 */

typedef struct xw_avro_decoder xw_avro_decoder;

/* A decoder reading messages of any type in `reg` (borrowed: the registry
 * must outlive the decoder). XW_AVRO_ENOMEM on failure, *out NULL. */
int xw_avro_decoder_new(xw_avro_decoder **out, const xw_avro_registry *reg);
/* Frees the decoder and every value it cached. NULL is fine. */
void xw_avro_decoder_free(xw_avro_decoder *dec);

/* Decodes one message. On success *type is the writer's type and *value
 * the decoded event, owned by the decoder and valid until the next
 * xw_avro_decode on it; the caller may modify it (e.g. append a hop to a
 * Probe) and encode it again. Never reads outside [data, data+len) and
 * never allocates more than a bounded multiple of len, whatever the input.
 * Errors: ESHORT, EMARKER, EUNKNOWN, ETRUNCATED, EGARBLED (bad varint,
 * union or enum index out of range, boolean not 0/1, negative length,
 * invalid UTF-8), ETRAILING, ENOMEM; err->msg names the byte offset and
 * the field. On failure *type and *value are NULL. */
int xw_avro_decode(xw_avro_decoder *dec, const void *data, size_t len,
                   const xw_avro_type **type, avro_value_t **value,
                   xw_avro_err *err);

/* A cached value keeps the capacity of the largest strings and arrays it
 * held, slot by slot; once it has grown by more than `bytes` (default
 * 16 MiB) it is freed and made afresh on the next decode of its type, so
 * hostile messages cannot make a decoder hoard memory. */
void xw_avro_decoder_set_retain_max(xw_avro_decoder *dec, size_t bytes);
/* Heap bytes the decoder's cached values have grown by since they were
 * made (an estimate, for metrics and tests). */
size_t xw_avro_decoder_retained(const xw_avro_decoder *dec);

/* Decodes a message that must be of v->type into v (XW_AVRO_ETYPE if the
 * fingerprint is another registered type's, XW_AVRO_EUNKNOWN if no
 * registered type has it). On failure v is reset. v keeps the capacity
 * it grows to (no 16 MiB trim as in the decoder): for untrusted input use
 * a decoder. */
int xw_avro_decode_into(const xw_avro_registry *reg, xw_avro_value *v,
                        const void *data, size_t len, xw_avro_err *err);

#endif
