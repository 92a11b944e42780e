/* Dead letters: the events a service could not handle, as projected by
 * the result-reporter into the capped list xw:dlq (newest first), and
 * their replay once the cause is fixed. System administrators only: a dead
 * letter carries raw payloads of any workspace. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "emit.h"
#include "routes.h"
#include "xw_id.h"
#include "xw_log.h"
#include "xw_topics.h"

#define DLQ_SCAN_MAX 10000

static int admin_only(struct sl_request *r)
{
    if (r->is_system_admin)
        return 0;
    sl_reply_error(r, 403, "", "permission",
                   "dead letters are for system administrators "
                   "(XW_SYSTEM_ADMINS)");
    return -1;
}

void h_dlq_list(struct sl_request *r)
{
    long offset, limit;
    redisReply *reps[3] = { NULL, NULL, NULL };
    json_t *items;

    if (admin_only(r) < 0 || sl_paging(r, &offset, &limit) < 0
        || !sl_worker_get(r))
        return;
    if (xw_redis_append(r->w->redis, "LLEN xw:dlq") < 0
        || xw_redis_append(r->w->redis, "LRANGE xw:dlq %ld %ld", offset,
                           offset + limit - 1) < 0
        || xw_redis_append(r->w->redis, "SMEMBERS xw:dlq:replayed") < 0
        || xw_redis_pipeline_exec(r->w->redis, reps, 3) < 0) {
        sl_reply_unavailable(r, "state store");
        return;
    }
    items = json_array();
    for (size_t i = 0; i < reps[1]->elements; i++) {
        json_error_t je;
        json_t *j = json_loadb(reps[1]->element[i]->str,
                               reps[1]->element[i]->len, 0, &je);
        const char *id = json_string_value(json_object_get(j, "event_id"));
        int replayed = 0;

        if (!j)
            continue;
        for (size_t k = 0; id && k < reps[2]->elements; k++)
            if (strcmp(reps[2]->element[k]->str, id) == 0)
                replayed = 1;
        json_object_set_new(j, "replayed", json_boolean(replayed));
        json_array_append_new(items, j);
    }
    sl_reply(r, 200, json_pack("{s:o, s:I, s:i, s:i}", "items", items,
                               "total", (json_int_t)reps[0]->integer,
                               "offset", (int)offset, "limit", (int)limit));
    xw_redis_replies_free(reps, 3);
}

/* The dead letter with event id `id` (NEW reference), or NULL with
 * 404/503 answered. */
static json_t *find(struct sl_request *r, const char *id)
{
    redisReply *rep = xw_redis_command_idem(r->w->redis,
                                            "LRANGE xw:dlq 0 %d",
                                            DLQ_SCAN_MAX - 1);

    if (!rep) {
        sl_reply_unavailable(r, "state store");
        return NULL;
    }
    for (size_t i = 0; i < rep->elements; i++) {
        json_error_t je;
        const char *eid;
        json_t *j;

        if (!strstr(rep->element[i]->str, id))
            continue; /* cheap filter before parsing */
        j = json_loadb(rep->element[i]->str, rep->element[i]->len, 0, &je);
        eid = json_string_value(json_object_get(j, "event_id"));
        if (eid && strcmp(eid, id) == 0)
            return j;
        json_decref(j);
    }
    sl_reply_error(r, 404, "dead_letter", "not_found",
                   "no dead letter '%s' (the list keeps the newest %d)", id,
                   DLQ_SCAN_MAX);
    return NULL;
}

/* Decodes standard base64 into a NEW buffer; -1 if malformed. */
static int unbase64(const char *in, unsigned char **out, size_t *len)
{
    size_t n = strlen(in), pad = 0;
    int got;

    *out = NULL;
    *len = 0;
    if (n % 4)
        return -1;
    if (n == 0) {
        *out = malloc(1);
        return *out ? 0 : -1;
    }
    *out = malloc(n / 4 * 3 + 1);
    if (!*out)
        return -1;
    got = EVP_DecodeBlock(*out, (const unsigned char *)in, (int)n);
    if (got < 0) {
        free(*out);
        *out = NULL;
        return -1;
    }
    while (pad < 2 && n > pad && in[n - 1 - pad] == '=')
        pad++;
    *len = (size_t)got - pad;
    return 0;
}

void h_dlq_replay(struct sl_request *r)
{
    const char *id = r->params[0], *topic, *payload, *key;
    unsigned char *bytes = NULL, *kbytes = NULL;
    size_t len = 0, klen = 0;
    char err[256], name[128];
    int ours = 0;
    json_t *dl = NULL;

    if (admin_only(r) < 0 || !sl_worker_get(r) || !(dl = find(r, id)))
        goto out;
    topic = json_string_value(json_object_get(dl, "source_topic"));
    payload = json_string_value(json_object_get(dl, "payload"));
    key = json_string_value(json_object_get(dl, "key"));
    /* Only back into one of our own topics. */
    for (int t = 0; topic && t < XW_TOPIC_COUNT; t++)
        if (t != XW_TOPIC_DLQ
            && xw_topic_name(xw_config_str(&r->svc->cfg, "XW_TOPIC_PREFIX"),
                             (enum xw_topic)t, name, sizeof name) == 0
            && strcmp(name, topic) == 0)
            ours = 1;
    if (!ours || !payload || unbase64(payload, &bytes, &len) < 0
        || (key && unbase64(key, &kbytes, &klen) < 0)) {
        sl_reply_error(r, 422, "dead_letter", "not_replayable",
                       "dead letter '%s' has no payload or no topic of ours",
                       id);
        goto out;
    }
    if (xw_kafka_produce_to(r->svc->producer, topic, kbytes, klen, bytes, len,
                            err, sizeof err) < 0
        || xw_kafka_flush(r->svc->producer, 30000, err, sizeof err) < 0) {
        xw_warn("DLQ", "replay of %s: %s", id, err);
        sl_reply_unavailable(r, "the event log (Kafka)");
        goto out;
    }
    xw_redis_command(r->w->redis, "SADD xw:dlq:replayed %s", id);
    xw_info("DLQ", "dead letter %s replayed to %s by %s", id, topic, r->user);
    sl_reply(r, 200, json_pack("{s:s, s:s, s:I}", "dead_letter", id, "topic",
                               topic, "bytes", (json_int_t)len));
out:
    free(bytes);
    free(kbytes);
    json_decref(dl);
}
