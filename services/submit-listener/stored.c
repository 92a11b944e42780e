/* Stored specs, results and catalog entries into answer text (stored.h). */
#include "stored.h"

#include "emit.h"
#include "rows.h"
#include "xw_avro_json.h"
#include "xw_catalog.h"
#include "xw_spec.h"

void sl_stored_release(struct sl_stored *st)
{
    xw_buf_release(&st->result_text);
    xw_buf_release(&st->spec_text);
    xw_avro_value_release(&st->catalog);
    xw_buf_release(&st->catalog_text);
    st->result = NULL;
    st->have_spec = 0;
}

const char *sl_hm_text(const redisReply *rep, size_t k, size_t *len)
{
    const redisReply *e = rep && k < rep->elements ? rep->element[k] : NULL;

    *len = e && e->type == REDIS_REPLY_STRING ? e->len : 0;
    return e && e->type == REDIS_REPLY_STRING ? e->str : NULL;
}

/* The thread's ObjectSpec value in st->spec, made on first use. 0, or
 * -1 with 503 answered. */
static int spec_value(struct sl_request *r, struct sl_stored *st)
{
    xw_avro_value *v;

    if (st->have_spec)
        return 0;
    /* ObjectSpec is not an event: the thread's ObjectsSubmitted value
     * holds one, as its only object. */
    if (!(v = sl_value(r, "ObjectsSubmitted")))
        return -1;
    if (xw_avro_array_append(&v->value, "objects", &st->spec) < 0) {
        sl_reply_unavailable(r, "memory");
        return -1;
    }
    st->have_spec = 1;
    return 0;
}

int sl_stored_spec(struct sl_request *r, struct sl_stored *st,
                   const char *data, size_t len, const char *sub,
                   size_t sublen, const char **text, size_t *tlen)
{
    xw_avro_err ae;

    *text = NULL;
    *tlen = 0;
    if (!data)
        return 0;
    if (spec_value(r, st) < 0)
        return -1;
    xw_buf_reset(&st->spec_text);
    if (xw_spec_decode_json(&st->spec, data, len, sub, sublen,
                            &st->spec_text, &ae) < 0) {
        if (ae.code != XW_AVRO_ENOMEM)
            return 0;
        sl_reply_unavailable(r, "memory");
        return -1;
    }
    *text = st->spec_text.data;
    *tlen = st->spec_text.len;
    return 1;
}

int sl_stored_spec_head(struct sl_request *r, struct sl_stored *st,
                        const char *data, size_t len, const char **text,
                        size_t *tlen)
{
    xw_avro_err ae;

    *text = NULL;
    *tlen = 0;
    if (!data)
        return 0;
    if (spec_value(r, st) < 0)
        return -1;
    /* Decoded whole, as sl_stored_spec does: a spec that does not decode
     * is shown as absent either way. */
    if (xw_avro_decode_record(&st->spec, data, len, &ae) < 0) {
        if (ae.code != XW_AVRO_ENOMEM)
            return 0;
        sl_reply_unavailable(r, "memory");
        return -1;
    }
    xw_buf_reset(&st->spec_text);
    if (sl_spec_head_write(&st->spec, &st->spec_text) < 0) {
        sl_reply_unavailable(r, "memory");
        return -1;
    }
    *text = st->spec_text.data;
    *tlen = st->spec_text.len;
    return 1;
}

/* A stored value (Avro, or the JSON of an older version) as JSON text in
 * buf, decoded into v; *text / *len then point at it. A value that is
 * neither stays as it is: the caller treats it as any unreadable text. 0,
 * or -1 with 503 answered (memory). */
static int stored_json(struct sl_request *r, avro_value_t *v, xw_buf *buf,
                       const char **text, size_t *len)
{
    xw_avro_err ae;

    xw_buf_reset(buf);
    if (xw_avro_json_stored(v, *text, *len, buf, &ae) < 0) {
        if (ae.code != XW_AVRO_ENOMEM)
            return 0;
        sl_reply_unavailable(r, "memory");
        return -1;
    }
    *text = buf->data;
    *len = buf->len;
    return 0;
}

/* Written as the JSON it was stored as before (xw_avro_json_write), so
 * the row is the same bytes either way. */
int sl_stored_result(struct sl_request *r, struct sl_stored *st,
                     const char **text, size_t *len)
{
    if (!*text)
        return 0;
    if (!st->result && !(st->result = sl_value(r, "ObjectResult")))
        return -1;
    return stored_json(r, &st->result->value, &st->result_text, text, len);
}

int sl_stored_catalog(struct sl_request *r, struct sl_stored *st,
                      const char **text, size_t *len)
{
    if (!st->catalog.type
        && xw_avro_value_init(&st->catalog,
                              xw_avro_type_find(r->svc->state,
                                                XW_CATALOG_ENTRY)) < 0) {
        sl_reply_unavailable(r, "memory");
        return -1;
    }
    return stored_json(r, &st->catalog.value, &st->catalog_text, text, len);
}
