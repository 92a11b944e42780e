/* The packager's Redis side: transactions with the applied-marker,
 * request status, and small shared helpers. */
#include <malloc.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packager.h"
#include "xw_id.h"
#include "xw_json.h"
#include "xw_log.h"

#define REQ_TTL_S (7 * 86400)
#define SEEN_PREFIX "xw:seen:packager:"    /* + event id: the marker */

const char *pkg_script_cmd(struct pkg_script *s)
{
    if (!s->sha[0] && s->cached >= 0) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        static const char hex[] = "0123456789abcdef";

        if (EVP_Digest(s->body, strlen(s->body), md, &mdlen, EVP_sha1(), NULL)
                != 1 || mdlen != 20) {
            s->cached = -1;     /* no digest (FIPS-only provider): EVAL */
            return "EVAL";
        }
        for (unsigned int i = 0; i < 20; i++) {
            s->sha[2 * i] = hex[md[i] >> 4];
            s->sha[2 * i + 1] = hex[md[i] & 15];
        }
        s->sha[40] = '\0';
    }
    return s->cached > 0 ? "EVALSHA" : "EVAL";
}

const char *pkg_script_arg(const struct pkg_script *s)
{
    return s->cached > 0 ? s->sha : s->body;
}

void pkg_script_answered(struct pkg_script *s, int rc, const xw_redis *r)
{
    if (s->cached < 0 || !s->sha[0])
        return;
    if (rc == 0)
        s->cached = 1;
    else if (strstr(r->errstr, "NOSCRIPT"))
        s->cached = 0;
}

int tx_begin(struct packager *p)
{
    p->ntx = 0;
    return TX(p, "MULTI");
}

/* Queues the marker and EXEC of the open transaction. 0 or -1 (the whole
 * batch of queued commands discarded). */
static int tx_end(struct packager *p, const struct command *c)
{
    if (TX(p, "SET " SEEN_PREFIX "%s 1 EX %lld", c->event_id,
           p->dedupe_ttl_s) < 0
        || TX(p, "EXEC") < 0)
        return -1;
    return 0;
}

int tx_commit(struct packager *p, const struct command *c)
{
    redisReply **replies = NULL;
    size_t n;
    int rc = -1;

    if (tx_end(p, c) < 0)
        goto out;
    n = (size_t)p->ntx;
    replies = calloc(n, sizeof *replies);
    if (!replies) {
        pkg_discard(p);
        goto out;
    }
    if (pkg_exec(p, replies, n) < 0) {
        xw_warn("TX", "event %s: %s", c->event_id, p->redis->errstr);
        goto out;
    }
    /* EXEC answers nil when the transaction was aborted. */
    rc = replies[n - 1]->type == REDIS_REPLY_ARRAY ? 0 : -1;
out:
    if (replies)
        xw_redis_replies_free(replies, n);
    free(replies);
    p->ntx = 0;
    return rc;
}

int tx_commit_later(struct packager *p, const struct command *c)
{
    int rc = -1;

    if (tx_end(p, c) < 0)
        goto out;
    p->unread += (size_t)p->ntx;
    /* Out now: Redis runs it while the next command is decoded. */
    rc = xw_redis_pipeline_flush(p->redis);
out:
    if (rc < 0)
        p->unread = 0;  /* discarded with the connection */
    p->ntx = 0;
    return rc;
}

int pkg_exec(struct packager *p, redisReply **rep, size_t n)
{
    size_t k = p->unread, total = k + n;
    redisReply **all;
    int rc = -1;

    p->unread = 0;
    if (k == 0)
        return xw_redis_pipeline_exec(p->redis, rep, n);
    for (size_t i = 0; rep && i < n; i++)
        rep[i] = NULL;
    if (!(all = calloc(total, sizeof *all))) {
        xw_redis_pipeline_discard(p->redis);
        snprintf(p->redis->errstr, sizeof p->redis->errstr, "out of memory");
        return -1;
    }
    if (xw_redis_pipeline_exec(p->redis, all, total) < 0)
        goto out;
    /* The transactions' replies: OK, QUEUED..., and EXEC's array, or nil
     * when it was aborted (an error reply already failed the exec). */
    for (size_t i = 0; i < k; i++) {
        if (all[i]->type == REDIS_REPLY_NIL) {
            snprintf(p->redis->errstr, sizeof p->redis->errstr,
                     "a transaction sent before was aborted");
            goto out;
        }
    }
    for (size_t i = 0; rep && i < n; i++) {
        rep[i] = all[k + i];
        all[k + i] = NULL;
    }
    rc = 0;
out:
    xw_redis_replies_free(all, total);
    free(all);
    return rc;
}

void pkg_discard(struct packager *p)
{
    xw_redis_pipeline_discard(p->redis);
    p->unread = 0;
}

int pkg_settle(void *ctx)
{
    struct packager *p = ctx;

    if (pkg_exec(p, NULL, 0) < 0) {
        xw_warn("TX", "end of batch: %s", p->redis->errstr);
        return -1;
    }
    return 0;
}

void pkg_abort(void *ctx)
{
    struct packager *p = ctx;

    /* The batch is redone: its writes must have landed (or failed) before
     * the retry reads the markers again. */
    if (pkg_exec(p, NULL, 0) < 0)
        pkg_discard(p);
    json_object_clear(p->seen);
}

/* The longest event id read ahead (ours are UUIDs, 36 characters). */
#define PEEK_ID_MAX 64

/* The event id of an encoded command, without decoding it: its first
 * field (xw_avro_peek_string). 0 with *id (in data) and *idlen set when
 * it looks like an id (letters, digits, '-'), -1 otherwise. */
static int peek_event_id(const void *data, size_t len, const char **id,
                         size_t *idlen)
{
    if (xw_avro_peek_string(data, len, id, idlen, NULL) < 0
        || *idlen == 0 || *idlen > PEEK_ID_MAX)
        return -1;
    for (size_t i = 0; i < *idlen; i++) {
        unsigned char ch = (unsigned char)(*id)[i];

        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z')
              || (ch >= 'A' && ch <= 'Z') || ch == '-'))
            return -1;
    }
    return 0;
}

int pkg_seen_prefetch(void *ctx, rd_kafka_message_t *const *msgs, size_t n)
{
    struct packager *p = ctx;
    const size_t plen = sizeof SEEN_PREFIX - 1;
    xw_buf keys = XW_BUF_INIT;  /* the MGET's keys, back to back */
    const char **argv = NULL;
    size_t *lens = NULL, k = 0, off = 0;
    redisReply *rep = NULL;
    int rc = -1;

    json_object_clear(p->seen);
    argv = calloc(n + 1, sizeof *argv);
    lens = calloc(n + 1, sizeof *lens);
    if (!argv || !lens)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        const char *id;
        size_t idlen;

        if (msgs[i]->err || peek_event_id(msgs[i]->payload, msgs[i]->len, &id,
                                          &idlen) < 0)
            continue;       /* handle() asks Redis itself */
        if (xw_buf_add(&keys, SEEN_PREFIX, plen) < 0
            || xw_buf_add(&keys, id, idlen) < 0)
            goto nomem;
        lens[++k] = plen + idlen;
    }
    if (k == 0) {
        rc = 0;
        goto out;
    }
    argv[0] = "MGET";
    lens[0] = 4;
    for (size_t j = 1; j <= k; j++) {   /* the buffer no longer moves */
        argv[j] = keys.data + off;
        off += lens[j];
    }
    if (xw_redis_append_argv(p->redis, (int)k + 1, argv, lens) < 0
        || pkg_exec(p, &rep, 1) < 0) {
        xw_warn("SEEN", "reading %zu marker(s): %s", k, p->redis->errstr);
        pkg_discard(p);
        goto out;
    }
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != k) {
        xw_warn("SEEN", "reading %zu marker(s): unexpected reply", k);
        goto out;
    }
    for (size_t j = 0; j < k; j++)
        if (json_object_setn_new(p->seen, argv[j + 1] + plen,
                                 lens[j + 1] - plen,
                                 json_boolean(rep->element[j]->type
                                              != REDIS_REPLY_NIL)) < 0)
            goto nomem;
    rc = 0;
    goto out;
nomem:
    xw_warn("SEEN", "reading the batch's markers: out of memory");
    json_object_clear(p->seen);
out:
    if (rep)
        freeReplyObject(rep);
    free(argv);
    free(lens);
    xw_buf_release(&keys);
    return rc;
}

int pkg_seen(struct packager *p, const char *event_id, int *seen)
{
    json_t *known = json_object_get(p->seen, event_id);
    redisReply *rep;

    if (known) {
        *seen = json_is_true(known);
        return 0;
    }
    if (xw_redis_append(p->redis, "EXISTS " SEEN_PREFIX "%s", event_id) < 0
        || pkg_exec(p, &rep, 1) < 0) {
        pkg_discard(p);
        return -1;
    }
    *seen = rep->integer == 1;
    freeReplyObject(rep);
    return 0;
}

void pkg_seen_applied(struct packager *p, const char *event_id)
{
    /* Failing (out of memory) only costs a later copy its EXISTS: the
     * stale false must go then. */
    if (json_object_set_new(p->seen, event_id, json_true()) < 0)
        json_object_del(p->seen, event_id);
}

int tx_request_status(struct packager *p, const struct command *c,
                      const char *status, json_t *result, json_t *error)
{
    xw_buf r = XW_BUF_INIT, e = XW_BUF_INIT;
    int rc;

    if (result)
        xw_json_dump(result, &r);
    if (error)
        xw_json_dump(error, &e);
    rc = TX(p, "HSET xw:req:%s status %s result %b error %b updated_at %lld",
            c->event_id, status, r.data, r.len, e.data, e.len,
            (long long)xw_now_ms());
    if (rc == 0)
        rc = TX(p, "EXPIRE xw:req:%s %d", c->event_id, REQ_TTL_S);
    xw_buf_release(&r);
    xw_buf_release(&e);
    json_decref(result);
    json_decref(error);
    return rc;
}

/* Replaces v by an empty value of the same type: reset keeps every
 * element's memory for reuse, which after 10,000 specs is several MB. */
static void value_shrink(xw_avro_value *v)
{
    const xw_avro_type *t = v->type;

    if (!t)
        return;
    xw_avro_value_release(v);
    if (xw_avro_value_init(v, t) < 0)
        xw_warn("MEM", "cannot re-create a %s value", t->short_name);
}

void pkg_release_big(struct packager *p, size_t msg_len)
{
    size_t n = 0;
    xw_avro_decoder *dec;

    xw_avro_array_size(&p->specs.value, "objects", &n);
    if (msg_len < PKG_BIG_BYTES && n < PKG_BIG)
        return;
    /* The decoder keeps each message type's last value (up to 16 MB) for
     * the next one of that type: a new decoder keeps nothing. */
    if (msg_len >= PKG_BIG_BYTES && xw_avro_decoder_new(&dec, p->svc->avro) == 0) {
        xw_avro_decoder_free(p->dec);
        p->dec = dec;
    }
    value_shrink(&p->specs);
    value_shrink(&p->created);
    value_shrink(&p->started);
    xw_buf_release(&p->enc);
    xw_buf_release(&p->spec);
    malloc_trim(0);
}

int pkg_batch_init(struct pkg_batch *b, const char *cmd, const char *opt,
                   const char *keyfmt, ...)
{
    va_list ap;
    int n;

    memset(b, 0, sizeof *b);
    b->cmd = cmd;
    b->opt = opt;
    xw_buf_init(&b->data, 0);
    va_start(ap, keyfmt);
    n = vsnprintf(b->key, sizeof b->key, keyfmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= sizeof b->key ? -1 : 0;
}

void pkg_batch_release(struct pkg_batch *b)
{
    xw_buf_release(&b->data);
    free(b->len);
    free(b->argv);
    free(b->argvlen);
    b->len = b->argvlen = NULL;
    b->argv = NULL;
    b->nargs = b->cap = b->items = 0;
}

/* Queues the collected items as one command (counted in p->ntx). */
static int batch_queue(struct packager *p, struct pkg_batch *b)
{
    size_t h = 0, off = 0;

    b->argv[h] = b->cmd;
    b->argvlen[h++] = strlen(b->cmd);
    b->argv[h] = b->key;
    b->argvlen[h++] = strlen(b->key);
    if (b->opt) {
        b->argv[h] = b->opt;
        b->argvlen[h++] = strlen(b->opt);
    }
    for (size_t i = 0; i < b->nargs; i++) {
        b->argv[h + i] = b->data.data + off;
        b->argvlen[h + i] = b->len[i];
        off += b->len[i];
    }
    p->ntx++;
    if (xw_redis_append_argv(p->redis, (int)(h + b->nargs), b->argv,
                             b->argvlen) < 0)
        return -1;
    /* The batch keeps its capacity (one command's worth) for the next
     * items. */
    xw_buf_reset(&b->data);
    b->nargs = b->items = 0;
    return 0;
}

int pkg_batch_flush(struct packager *p, struct pkg_batch *b)
{
    /* Not written out here: the rest is less than one full command, and
     * goes out with the transaction's end (one write(2) instead of one
     * per batch and one for the end). */
    return b->items == 0 ? 0 : batch_queue(p, b);
}

int pkg_batch_add(struct packager *p, struct pkg_batch *b, size_t nargs,
                  const char *const *args, const size_t *lens)
{
    if (b->nargs + nargs > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        size_t *len, *argvlen;
        const char **argv;

        while (cap < b->nargs + nargs)
            cap *= 2;
        if (!(len = realloc(b->len, cap * sizeof *len)))
            goto nomem;
        b->len = len;
        if (!(argvlen = realloc(b->argvlen, (cap + 3) * sizeof *argvlen)))
            goto nomem;
        b->argvlen = argvlen;
        if (!(argv = realloc(b->argv, (cap + 3) * sizeof *argv)))
            goto nomem;
        b->argv = argv;
        b->cap = cap;
    }
    for (size_t i = 0; i < nargs; i++) {
        if (xw_buf_add(&b->data, args[i], lens[i]) < 0)
            goto nomem;
        b->len[b->nargs++] = lens[i];
    }
    /* A full command goes out now: hiredis' buffer never holds more than
     * one full command and the batches' partial rests. */
    if (++b->items >= PKG_BATCH_ITEMS || b->data.len >= PKG_BATCH_BYTES)
        return batch_queue(p, b) < 0 ? -1
                                     : xw_redis_pipeline_flush(p->redis);
    return 0;
nomem:
    return -1;                  /* the caller discards the transaction */
}

int pkg_reject(struct packager *p, const struct command *c, int http_status,
               const char *field, const char *code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    xw_info("CMD", "rejected %s: %s", c->event_id, msg);
    if (tx_begin(p) < 0
        || tx_request_status(p, c, "rejected", NULL,
                             json_pack("{s:i, s:s, s:s, s:s}", "status",
                                       http_status, "field", field, "rule",
                                       code, "message", msg)) < 0
        || tx_commit_later(p, c) < 0)
        return -1;
    return 0;
}

json_t *pkg_json(const redisReply *r)
{
    json_error_t je;

    if (!r || r->type != REDIS_REPLY_STRING)
        return NULL;
    return json_loadb(r->str, r->len, 0, &je);
}

const char **pkg_reply_strings(const redisReply *a)
{
    const char **argv = calloc(a->elements + 1, sizeof *argv);

    for (size_t i = 0; argv && i < a->elements; i++)
        argv[i] = a->element[i]->str;
    return argv;
}

const char **pkg_argv(const char *const *head, size_t nhead,
                      const char *const *ids, size_t n)
{
    const char **argv = calloc(nhead + n + 1, sizeof *argv);

    if (!argv)
        return NULL;
    memcpy(argv, head, nhead * sizeof *argv);
    if (n)
        memcpy(argv + nhead, ids, n * sizeof *ids);
    return argv;
}

const char *pkg_str(const avro_value_t *v, const char *field)
{
    const char *s = NULL;

    if (xw_avro_get_string(v, field, &s, NULL) != 0 || !s)
        return "";
    return s;
}

int pkg_envelope(struct packager *p, avro_value_t *v, const struct command *c,
                 const char *scope, long index)
{
    char id[XW_UUID_LEN + 1];

    (void)p;
    xw_uuid_derive(scope, c->event_id, index, id);
    if (xw_avro_set_string(v, "event_id", id) < 0
        || xw_avro_set_long(v, "occurred_at", xw_now_ms()) < 0
        || xw_avro_set_string(v, "actor", c->actor) < 0
        || xw_avro_set_string(v, "correlation_id", c->correlation_id) < 0)
        return -1;
    return 0;
}

int pkg_specs_fetch(struct packager *p, const char *key, const char **ids,
                    size_t n, redisReply **avro)
{
    const char **argv = pkg_argv((const char *[]){ "HMGET", key }, 2, ids, n);
    int rc = -1;

    *avro = NULL;
    if (!argv) {
        snprintf(p->redis->errstr, sizeof p->redis->errstr, "out of memory");
        return -1;
    }
    if (xw_redis_append_argv(p->redis, (int)n + 2, argv, NULL) < 0
        || pkg_exec(p, avro, 1) < 0) {
        pkg_discard(p);
        goto out;
    }
    rc = 0;
out:
    free(argv);
    return rc;
}

/* No fallback to the JSON hashes of older versions (xw:ntd:{ws},
 * xw:pkg:{pkg}:objects): every spec stored since e6e4d54 has its Avro
 * copy, and a package frozen before that lists no ids anyway (they are
 * read from its Avro hash since bcf7cae), so the fallback could only ever
 * serve nodes to deploy submitted before e6e4d54, which are submitted
 * again instead (docs/design.md). */
int pkg_spec_read(avro_value_t *el, const redisReply *avro, size_t i,
                  struct xw_handle_error *err)
{
    const redisReply *a = i < avro->elements ? avro->element[i] : NULL;
    xw_avro_err ae;

    if (!a || a->type != REDIS_REPLY_STRING)
        return 0;
    if (xw_avro_decode_record(el, a->str, a->len, &ae) == 0)
        return 1;
    snprintf(err->code, sizeof err->code, "stored_spec_invalid");
    snprintf(err->reason, sizeof err->reason, "%s", ae.msg);
    return -1;
}

/* pkg_load_frozen from avro, the HMGET already read (NULL when n is 0). */
static enum xw_handle_result fill_frozen(struct packager *p, const char *pkg,
                                         const char **ids, size_t n,
                                         const redisReply *avro,
                                         struct xw_handle_error *err)
{
    avro_value_t *v = &p->specs.value, el;
    enum xw_handle_result r = XW_HANDLE_OK;

    xw_avro_value_reset(&p->specs);
    for (size_t i = 0; i < n && r == XW_HANDLE_OK; i++) {
        int got;

        if (xw_avro_array_append(v, "objects", &el) < 0) {
            r = RETRY(err, "out of memory");
            break;
        }
        got = pkg_spec_read(&el, avro, i, err);
        if (got < 0) {
            /* A frozen spec that no longer reads cannot be deployed; a
             * retry will not fix it, but neither may it be dropped. */
            snprintf(err->reason + strlen(err->reason),
                     sizeof err->reason - strlen(err->reason),
                     " (package %s, object %s)", pkg, ids[i]);
            r = XW_HANDLE_RETRY;
        } else if (got == 0) {
            /* The list names an object that was never frozen: skipped,
             * as before. The slot is reused by the next one. */
            size_t k = 0;

            xw_avro_array_size(v, "objects", &k);
            if (xw_avro_array_truncate(v, "objects", k - 1) < 0)
                r = RETRY(err, "out of memory");
        }
    }
    return r;
}

enum xw_handle_result pkg_load_frozen(struct packager *p, const char *pkg,
                                      const char **ids, size_t n,
                                      struct xw_handle_error *err)
{
    char key[96];
    redisReply *avro = NULL;
    enum xw_handle_result r;

    snprintf(key, sizeof key, "xw:pkg:%s:avro", pkg);
    if (n && pkg_specs_fetch(p, key, ids, n, &avro) < 0)
        return RETRY(err, "redis: %s", p->redis->errstr);
    r = fill_frozen(p, pkg, ids, n, avro, err);
    if (avro)
        freeReplyObject(avro);
    return r;
}

int pkg_copy_specs(struct packager *p, avro_value_t *v, size_t from, size_t n)
{
    avro_value_t src, dst;

    if (xw_avro_array_clear(v, "objects") < 0)
        return -1;
    for (size_t i = from; i < from + n; i++)
        if (xw_avro_array_get(&p->specs.value, "objects", i, &src) < 0
            || xw_avro_array_append(v, "objects", &dst) < 0
            || xw_avro_copy(&dst, &src) < 0)
            return -1;
    return 0;
}

/* Queues p->enc (an encoded event) to topic, keyed by key. */
static enum xw_handle_result produce(struct packager *p, enum xw_topic topic,
                                     const char *key,
                                     struct xw_handle_error *err)
{
    if (xw_kafka_produce(p->svc->producer, topic, key, strlen(key),
                         p->enc.data, p->enc.len, err->reason,
                         sizeof err->reason) < 0) {
        snprintf(err->code, sizeof err->code, "produce");
        return XW_HANDLE_RETRY;
    }
    return XW_HANDLE_OK;
}

enum xw_handle_result pkg_emit(struct packager *p, avro_value_t *v,
                               enum xw_topic topic, const char *key,
                               struct xw_handle_error *err)
{
    xw_avro_err ae;

    if (xw_avro_encode(v, &p->enc, &ae) < 0) {
        return xw_handle_fail(err, XW_HANDLE_RETRY, "encode", "%s", ae.msg);
    }
    return produce(p, topic, key, err);
}

enum xw_handle_result pkg_emit_items(struct packager *p, avro_value_t *v,
                                     const char *field, size_t count,
                                     const void *items, size_t len,
                                     enum xw_topic topic, const char *key,
                                     struct xw_handle_error *err)
{
    xw_avro_err ae;

    if (xw_avro_encode_items(v, field, count, items, len, &p->enc, &ae) < 0)
        return xw_handle_fail(err, XW_HANDLE_RETRY, "encode", "%s", ae.msg);
    return produce(p, topic, key, err);
}
