/*
 * Stored values into answer text: object specs, results and catalog
 * entries that the packager, the reporter and the deployer keep in Redis
 * as Avro, written as the JSON the API has always shown
 * (xw_avro_json_write: the same bytes as the JSON the services used to
 * store). One reader per request; the Avro values it decodes into are
 * the thread's (sl_value) or, for catalog entries (not an event), its
 * own; the texts its own.
 *
 *   struct sl_stored st = SL_STORED_INIT;
 *   per value: sl_stored_spec(r, &st, ...) / sl_stored_result(r, &st, ...)
 *              / sl_stored_catalog(r, &st, ...)
 *   sl_stored_release(&st);
 *
 * A text made by one call lives until the next call of the same kind
 * (spec, result or catalog entry) or the release: texts of different
 * kinds can be held side by side.
 */
#ifndef SL_STORED_H
#define SL_STORED_H

#include <stddef.h>

#include "api.h"

struct sl_stored {
    xw_avro_value *result;   /* the thread's ObjectResult value, or NULL */
    avro_value_t spec;       /* objects[0] of the thread's ObjectsSubmitted
                                value, once have_spec */
    int have_spec;
    xw_buf result_text, spec_text;
    xw_avro_value catalog;   /* a CatalogEntry, once used (owned) */
    xw_buf catalog_text;
};

#define SL_STORED_INIT { NULL, { NULL, NULL }, 0, XW_BUF_INIT, XW_BUF_INIT, \
                         { NULL, { NULL, NULL } }, XW_BUF_INIT }

void sl_stored_release(struct sl_stored *st);

/* Element k of an HMGET reply: its text, or NULL when the field is absent
 * (nil) or the reply is short (*len 0). */
const char *sl_hm_text(const redisReply *rep, size_t k, size_t *len);

/* Spec bytes as stored (data NULL: none) as the JSON the API shows: the
 * spec's JSON, or with a submission text (sub, from xw:ntdby) the
 * nodes-to-deploy entry (common/xw_spec.h). 1 with the text in *text /
 * *len; 0 with *text NULL when there is no spec or it does not decode
 * (shown as a spec that is not there, as unreadable JSON was); -1 with 503
 * answered (memory). */
int sl_stored_spec(struct sl_request *r, struct sl_stored *st,
                   const char *data, size_t len, const char *sub,
                   size_t sublen, const char **text, size_t *tlen);

/* Like sl_stored_spec without a submission text, for the rows of GET
 * /v1/packages/{id}: the spec decoded whole, but only what a row takes
 * from it written (sl_spec_head_write, rows.h), which gives the row the
 * whole spec's text would give without writing and scanning the rest. */
int sl_stored_spec_head(struct sl_request *r, struct sl_stored *st,
                        const char *data, size_t len, const char **text,
                        size_t *tlen);

/* A stored result as JSON text, in place in *text / *len. The reporter
 * stores an ObjectResult as it came off the log (Avro single-object
 * encoding, C3 01 ...), older versions its JSON, which is taken as it is.
 * A value that does not decode is passed on as it is, and the row code
 * treats it as any unreadable text; an absent one (*text NULL) stays
 * absent. 0, or -1 with 503 answered (memory). */
int sl_stored_result(struct sl_request *r, struct sl_stored *st,
                     const char **text, size_t *len);

/* A stored catalog entry (xw:dest:{ws}:objects, common/xw_catalog.h) as
 * JSON text, in place in *text / *len, like sl_stored_result: the
 * deployer stores a CatalogEntry (Avro), older versions its JSON, which is
 * taken as it is; a value that does not decode is passed on as it is. 0,
 * or -1 with 503 answered (memory). */
int sl_stored_catalog(struct sl_request *r, struct sl_stored *st,
                      const char **text, size_t *len);

#endif
