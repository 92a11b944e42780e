/*
 * xw_spec - object specs as the packager keeps them in Redis, and the
 * JSON the API shows of them.
 *
 * A spec is stored once, as Avro (xw_avro_encode_record of an
 * ObjectSpec): in xw:ntdavro:{ws} while it is a node to deploy, in
 * xw:pkg:{pkg}:avro once frozen in a package. When and by whom a node to
 * deploy was submitted is not part of the spec; it is kept next to it, in
 * xw:ntdby:{ws}, as a "submission" text: "{submitted_at} {submitted_by}"
 * (milliseconds since the epoch, one space, the user; e.g.
 * "1764151200000 olga"), a fraction of the bytes of a JSON object.
 *
 * The JSON the API answers with is written from those values by
 * xw_avro_json_write: the same bytes the packager stored when it kept a
 * JSON copy of each spec (docs/design.md).
 *
 * Pure functions: nothing here touches Redis. Every writer appends to (or
 * replaces, where said) a caller's xw_buf and leaves it as it was on
 * failure.
 */
#ifndef XW_SPEC_H
#define XW_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include <avro.h>

#include "xw_avro.h"
#include "xw_buf.h"

/* Key prefixes (":{ws}" follows): a workspace's nodes to deploy, and
 * their submissions. Frozen specs are in "xw:pkg:{pkg}:avro". */
#define XW_SPEC_NTD "xw:ntdavro"
#define XW_SPEC_NTD_BY "xw:ntdby"

/* The submission text of `at` and `by` (NUL-terminated), replacing out's
 * contents. 0, or -1 (memory, out's cap) with out empty. */
int xw_spec_submission_write(xw_buf *out, int64_t at, const char *by);

/* Reads a submission text: 0 with *at and *by / *bylen (pointing into
 * text; the user is everything after the first space, possibly empty),
 * or -1 if text is not "{1..18 digits} {user}" with a valid UTF-8 user. */
int xw_spec_submission_read(const char *text, size_t len, int64_t *at,
                            const char **by, size_t *bylen);

/* Appends the JSON of spec (an ObjectSpec record value): with sub NULL
 * the spec alone, as xw_avro_json_write writes it; with a submission
 * text, the nodes-to-deploy entry: the same object with
 * "submitted_at":N,"submitted_by":"user" appended. A submission that does
 * not read (xw_spec_submission_read) is left out rather than hiding the
 * object. 0, or -1 with out unchanged (memory, out's cap, a value that is
 * not a record). */
int xw_spec_json_write(const avro_value_t *spec, const char *sub,
                       size_t sublen, xw_buf *out);

/* Stored spec bytes (xw_avro_encode_record) decoded into spec (an
 * ObjectSpec record, reused) and appended to out as xw_spec_json_write
 * writes them. 0; -1 with err filled and out unchanged when the bytes do
 * not decode (err->code from xw_avro_decode_record) or on memory
 * (XW_AVRO_ENOMEM). */
int xw_spec_decode_json(avro_value_t *spec, const void *data, size_t len,
                        const char *sub, size_t sublen, xw_buf *out,
                        xw_avro_err *err);

#endif
