/* Rebuild: the reporter's projections from the log.
 *
 *   1. delete the reporter's own keys (SCAN by pattern, UNLINK), nothing
 *      else: xw:pkgsum:*, xw:res:*, xw:cnt:*, xw:pkgs:*, xw:audit,
 *      xw:audit:*, xw:seen:reporter:*, xw:deploying;
 *   2. note the high watermark of every partition of the four topics;
 *   3. consume them from the start in a fresh group
 *      (XW_GROUP_PREFIX + "result-reporter-rebuild-<ms>"), with the same
 *      handler as the live service but publishing nothing (no copies, no
 *      PackageFinished, no dead letters: the live run did that, with the
 *      same event ids), until every partition is applied up to its
 *      watermark.
 *
 * The live reporter must be stopped meanwhile (it would write the keys
 * being deleted). When it starts again it goes on from its own committed
 * offsets; whatever it re-reads is idempotent. An attempt the rebuild
 * found finished is not marked published, so if the live group re-reads
 * one of its results it publishes PackageFinished again with the same id
 * (subscribers dedupe): a duplicate is possible there, a loss is not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reporter.h"
#include "xw_id.h"
#include "xw_log.h"

static const char *const patterns[] = {
    "xw:pkgsum:*", "xw:res:*", "xw:cnt:*", "xw:pkgs:*", "xw:audit",
    "xw:audit:*", "xw:dlq", "xw:seen:reporter:*", "xw:deploying",
};

static int delete_pattern(struct reporter *r, const char *pat,
                          long long *deleted)
{
    char cursor[32] = "0";
    const char **argv = NULL;
    size_t *lens = NULL, cap = 0;
    int rc = -1;

    if (!strchr(pat, '*')) {
        redisReply *rep = xw_redis_command_idem(r->redis, "DEL %s", pat);

        if (!rep)
            return -1;
        *deleted += rep->integer;
        return 0;
    }
    do {
        redisReply *rep = xw_redis_command_idem(r->redis,
                                                "SCAN %s MATCH %s COUNT 1000",
                                                cursor, pat);
        const redisReply *keys;

        if (!rep)
            goto out;
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2
            || rep->element[0]->type != REDIS_REPLY_STRING
            || rep->element[1]->type != REDIS_REPLY_ARRAY
            || rep->element[0]->len >= sizeof cursor) {
            snprintf(r->redis->errstr, sizeof r->redis->errstr,
                     "SCAN: unexpected reply");
            goto out;
        }
        rep = xw_redis_reply_take(r->redis);
        snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
        keys = rep->element[1];
        if (keys->elements) {
            if (keys->elements + 1 > cap) {
                cap = keys->elements + 1;
                free(argv);
                free(lens);
                argv = malloc(cap * sizeof *argv);
                lens = malloc(cap * sizeof *lens);
                if (!argv || !lens) {
                    freeReplyObject(rep);
                    snprintf(r->redis->errstr, sizeof r->redis->errstr,
                             "out of memory");
                    goto out;
                }
            }
            argv[0] = "UNLINK";
            lens[0] = 6;
            for (size_t i = 0; i < keys->elements; i++) {
                argv[i + 1] = keys->element[i]->str;
                lens[i + 1] = keys->element[i]->len;
            }
            if (!xw_redis_command_argv(r->redis, (int)keys->elements + 1,
                                       argv, lens, 1)) {
                freeReplyObject(rep);
                goto out;
            }
            *deleted += (long long)keys->elements;
        }
        freeReplyObject(rep);
    } while (strcmp(cursor, "0") != 0);
    rc = 0;
out:
    free(argv);
    free(lens);
    return rc;
}

/* One progress entry per non-empty partition of the topics. */
static int take_watermarks(struct reporter *r, rd_kafka_t *rk,
                           const enum xw_topic *topics, size_t ntopics,
                           int64_t *total)
{
    const struct rd_kafka_metadata *md = NULL;
    const char *prefix = xw_config_str(&r->svc->cfg, "XW_TOPIC_PREFIX");
    rd_kafka_resp_err_t e;
    size_t cap = 0;

    *total = 0;
    e = rd_kafka_metadata(rk, 1, NULL, &md, 10000);
    if (e) {
        xw_error("REBLD", "metadata: %s", rd_kafka_err2str(e));
        return -1;
    }
    for (size_t t = 0; t < ntopics; t++) {
        char name[128];

        if (xw_topic_name(prefix, topics[t], name, sizeof name) < 0)
            goto fail;
        for (int i = 0; i < md->topic_cnt; i++) {
            const rd_kafka_metadata_topic_t *mt = &md->topics[i];

            if (strcmp(mt->topic, name) != 0)
                continue;
            for (int p = 0; p < mt->partition_cnt; p++) {
                int64_t lo, hi;
                int32_t pid = mt->partitions[p].id;

                e = rd_kafka_query_watermark_offsets(rk, name, pid, &lo, &hi,
                                                     10000);
                if (e) {
                    xw_error("REBLD", "watermarks of %s [%d]: %s", name,
                             (int)pid, rd_kafka_err2str(e));
                    goto fail;
                }
                if (hi <= lo)
                    continue;
                if (r->nprogress == cap) {
                    struct rep_progress *q;

                    cap = cap ? cap * 2 : 32;
                    q = realloc(r->progress, cap * sizeof *q);
                    if (!q)
                        goto fail;
                    r->progress = q;
                }
                memset(&r->progress[r->nprogress], 0, sizeof *r->progress);
                snprintf(r->progress[r->nprogress].topic,
                         sizeof r->progress[0].topic, "%s", name);
                r->progress[r->nprogress].partition = pid;
                r->progress[r->nprogress].hi = hi;
                r->progress[r->nprogress].done = lo;
                r->progress[r->nprogress].pending = lo;
                r->nprogress++;
                *total += hi - lo;
            }
        }
    }
    rd_kafka_metadata_destroy(md);
    return 0;
fail:
    rd_kafka_metadata_destroy(md);
    return -1;
}

void rep_progress_note(struct reporter *r, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);

    for (size_t i = 0; i < r->nprogress; i++) {
        struct rep_progress *p = &r->progress[i];

        if (p->partition == m->partition && strcmp(p->topic, topic) == 0) {
            if (m->offset + 1 > p->pending)
                p->pending = m->offset + 1;
            return;
        }
    }
}

void rep_progress_commit(struct reporter *r, int ok)
{
    for (size_t i = 0; i < r->nprogress; i++) {
        struct rep_progress *p = &r->progress[i];

        if (ok)
            p->done = p->pending;
        else
            p->pending = p->done;
    }
}

/* Messages still to apply. */
static int64_t remaining(const struct reporter *r)
{
    int64_t n = 0;

    for (size_t i = 0; i < r->nprogress; i++)
        if (r->progress[i].done < r->progress[i].hi)
            n += r->progress[i].hi - r->progress[i].done;
    return n;
}

int rep_rebuild_run(struct reporter *r, const enum xw_topic *topics,
                    size_t ntopics)
{
    struct xw_kafka_handler h = { 0 };
    xw_kafka_consumer *c = NULL;
    long long deleted = 0;
    int64_t total, deadline, next_log;
    char group[96], err[512];
    int rc = -1;

    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++)
        if (delete_pattern(r, patterns[i], &deleted) < 0) {
            xw_error("REBLD", "deleting %s: %s", patterns[i],
                     r->redis->errstr);
            return -1;
        }
    xw_info("REBLD", "deleted %lld key(s) of the reporter", deleted);
    snprintf(group, sizeof group, "result-reporter-rebuild-%lld",
             (long long)xw_now_ms());
    c = xw_kafka_consumer_new(&r->svc->cfg, group, topics, ntopics, NULL, err,
                              sizeof err);
    if (!c) {
        xw_error("REBLD", "consumer: %s", err);
        return -1;
    }
    if (take_watermarks(r, xw_kafka_consumer_handle(c), topics, ntopics,
                        &total) < 0)
        goto out;
    xw_info("REBLD", "replaying %lld event(s) from %zu partition(s)",
            (long long)total, r->nprogress);
    h.handle = rep_handle;
    h.batch_end = rep_batch_end;
    h.batch_abort = rep_batch_abort;
    h.dead_letter = rep_dead_letter;
    h.ctx = r;
    deadline = xw_mono_ms()
               + xw_config_int(&r->svc->cfg, "XW_REBUILD_TIMEOUT_S") * 1000;
    next_log = xw_mono_ms() + 5000;
    while (remaining(r) > 0) {
        if (xw_kafka_stop) {
            xw_error("REBLD", "stopped before catching up");
            goto out;
        }
        if (xw_mono_ms() > deadline) {
            xw_error("REBLD", "not caught up after %lld s: %lld event(s) "
                     "left", xw_config_int(&r->svc->cfg,
                                           "XW_REBUILD_TIMEOUT_S"),
                     (long long)remaining(r));
            goto out;
        }
        if (xw_kafka_consumer_run_once(c, &h, 200) < 0)
            goto out;
        if (xw_mono_ms() > next_log) {
            xw_info("REBLD", "%lld of %lld event(s) applied",
                    (long long)(total - remaining(r)), (long long)total);
            next_log = xw_mono_ms() + 5000;
        }
    }
    xw_info("REBLD", "caught up: %lld event(s) applied", (long long)total);
    rc = 0;
out:
    xw_kafka_consumer_free(c);
    return rc;
}
