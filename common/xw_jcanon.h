/*
 * xw_jcanon - reading stored JSON objects that are in canonical form,
 * without a jansson tree and without allocating.
 *
 * What is stored in Redis as JSON (catalog entries, frozen specs, results,
 * summaries) is written by xw_avro_json_write or jansson's compact dump,
 * so it is nearly always in the one form those print. A reader that needs
 * a few members, or wants to copy values into an answer, can then take
 * them from the text as it stands: that is what this module is for. It
 * decides nothing about other text: a caller gives anything that is not
 * canonical to jansson (json_loadb), which stays the reference.
 *
 * Canonical, exactly: the text is one JSON object and
 *   - there is no whitespace between tokens, nothing before the opening
 *     brace and nothing after the closing one;
 *   - strings (keys too) are valid UTF-8 (no overlong form, surrogate or
 *     code point past U+10FFFF), hold no raw byte below 0x20, and use only
 *     the escapes jansson writes: \" \\ \b \f \n \r \t, and \u00XX with
 *     upper-case hex for the other control characters U+0001..U+001F;
 *     never \u0000 (json_loadb refuses it), \/ or any other \u;
 *   - numbers are integers: an optional '-' and digits, no leading zero,
 *     no "-0", within int64 (jansson's json_int_t); no fraction, no
 *     exponent (jansson may print a real otherwise than it was stored);
 *   - true, false and null are as they are;
 *   - containers nest at most XW_JCANON_DEPTH deep, the top-level object
 *     counting as one.
 * Members may repeat a key: that is the caller's to judge (json_loadb
 * keeps the last; a caller that copies members may have to refuse it).
 *
 * What a caller may rely on for canonical text:
 *   - json_loadb() accepts it, and each scalar's text is byte for byte
 *     what jansson's compact dump prints for the value it reads; a
 *     container's text is its dump too when it repeats no key;
 *   - every value has one spelling, so two strings (or keys, or scalars)
 *     are the same value exactly when their texts are the same bytes.
 *
 * Ownership and bounds: the text is borrowed, and must stay unchanged
 * while spans into it are used; spans point into it (nothing is copied or
 * NUL-terminated). The scan is one pass, reads no byte outside
 * text[0..len) whatever the bytes are (no NUL terminator is needed or
 * looked for), and recurses nowhere: deep nesting costs nothing.
 *
 * Use:
 *
 *   xw_jcanon it;
 *   xw_jcanon_member m;
 *   int rc;
 *
 *   xw_jcanon_open(&it, text, len);
 *   while ((rc = xw_jcanon_next(&it, &m)) == 1)
 *       note(&m);                   (provisional, see xw_jcanon_next)
 *   if (rc < 0)
 *       ... not canonical: ask jansson
 */
#ifndef XW_JCANON_H
#define XW_JCANON_H

#include <stddef.h>
#include <stdint.h>

/* Nesting a canonical text may have, its top-level object included.
 * Stored texts have three levels at most; deeper text goes to jansson. */
#define XW_JCANON_DEPTH 16

/* A piece of the text: p[0..len). */
typedef struct xw_jcanon_span {
    const char *p;
    size_t len;
} xw_jcanon_span;

/* What a value is, from its first byte. */
enum xw_jcanon_kind {
    XW_JCANON_STRING,
    XW_JCANON_INT,
    XW_JCANON_TRUE,
    XW_JCANON_FALSE,
    XW_JCANON_NULL,
    XW_JCANON_OBJECT,
    XW_JCANON_ARRAY,
};

/* One top-level member. key is the key's JSON text, quotes included (so
 * it can be copied into an answer as it is); val is the value's JSON text
 * (quotes included for a string, brackets for a container). */
typedef struct xw_jcanon_member {
    xw_jcanon_span key;
    xw_jcanon_span val;
    enum xw_jcanon_kind kind;
} xw_jcanon_member;

/* The iterator: a plain value, owns nothing, needs no release. */
typedef struct xw_jcanon {
    /* private */
    const char *p, *end;
    int state;
} xw_jcanon;

/* Starts on text[0..len). Never fails: text that is not canonical is
 * reported by xw_jcanon_next(). */
void xw_jcanon_open(xw_jcanon *it, const char *text, size_t len);

/* The next top-level member, in text order.
 *   1  *m is the member; its key and its whole value (nested containers
 *      included) were checked.
 *   0  the object ended at the text's last byte: the whole text is
 *      canonical. *m is untouched.
 *  -1  the text is not canonical. *m is untouched.
 * The text is checked as it is read, so members handed out before the
 * end are provisional: only a final 0 says the text is canonical, and a
 * caller must not act on what it noted (copy it out, answer with it)
 * before that. Members handed out stay valid spans of the text after a
 * -1 but mean nothing. Once 0 or -1 has been returned, every further call
 * returns the same. */
int xw_jcanon_next(xw_jcanon *it, xw_jcanon_member *m);

/* Whether string str (the text of a canonical key or string value) is the
 * NUL-terminated string s, escapes decoded: strcmp() of the value with s
 * == 0, as json_object_get() or json_string_value() + strcmp would
 * compare. 1 or 0. */
int xw_jcanon_str_eq(xw_jcanon_span str, const char *s);

/* The value of string str when its text is its value (it holds no
 * escape): *s borrowed from the text, *len bytes, no NUL inside, not
 * NUL-terminated. 0, or -1 when it holds an escape (*s and *len
 * untouched): the caller decodes it some other way. */
int xw_jcanon_str_raw(xw_jcanon_span str, const char **s, size_t *len);

/* The value of integer v (the text of a canonical integer: in range, so
 * nothing can fail). */
int64_t xw_jcanon_int(xw_jcanon_span v);

#endif
