#include "xw_kafka.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xw_log.h"
#include "xw_metrics.h"

extern char **environ;

/* Cost counters for the benchmark (process-wide). */
XW_COUNTER(m_produced, "xw_kafka_produced_total",
           "messages queued to the producer");
XW_COUNTER(m_produced_bytes, "xw_kafka_produced_bytes_total",
           "value bytes of the messages queued to the producer");
XW_COUNTER(m_consumed, "xw_kafka_consumed_total",
           "messages handed to the consumer loop's handler");
XW_COUNTER(m_batches, "xw_kafka_consumer_batches_total",
           "consumer loop batches (each ends with a producer flush)");
/* Where the consumer loop's time goes between polls. A stage whose loop is
 * busy nearly all the time bounds the pipeline, whatever its CPU use: it
 * may be waiting for Redis or for the broker's acknowledgements. */
XW_COUNTER(m_loop_handle_us, "xw_kafka_loop_handle_us_total",
           "microseconds in the handler (batch begin and per message)");
XW_COUNTER(m_loop_end_us, "xw_kafka_loop_batch_end_us_total",
           "microseconds in the handler's batch end");
XW_COUNTER(m_loop_flush_us, "xw_kafka_loop_flush_us_total",
           "microseconds waiting for the producer flush that ends a batch");

volatile sig_atomic_t xw_kafka_stop;

static uint64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void on_signal(int sig)
{
    (void)sig;
    xw_kafka_stop = 1;
}

void xw_kafka_install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !xw_kafka_stop)
        ;
}

int xw_kafka_conf_set(rd_kafka_conf_t *conf, const char *key,
                      const char *value, char *err, size_t errlen)
{
    if (rd_kafka_conf_set(conf, key, value, err, errlen) != RD_KAFKA_CONF_OK)
        return -1;
    return 0;
}

struct passthrough {
    rd_kafka_conf_t *conf;
    char *err;
    size_t errlen;
};

static int set_passthrough(const char *key, const char *value, int secret,
                           void *ctx)
{
    struct passthrough *pt = ctx;

    if (xw_kafka_conf_set(pt->conf, key, value, pt->err, pt->errlen) < 0)
        return -1;
    xw_info("KAFK", "property %s=%s", key, secret ? "(secret)" : value);
    return 0;
}

rd_kafka_conf_t *xw_kafka_conf_new(const struct xw_config *cfg, char *err,
                                   size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    struct passthrough pt = { conf, err, errlen };

    if (xw_kafka_conf_set(conf, "bootstrap.servers",
                          xw_config_str(cfg, "XW_KAFKA_BROKERS"), err,
                          errlen) < 0)
        goto fail;
    if (xw_config_rdkafka_props(environ, set_passthrough, &pt) != 0)
        goto fail;
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* Sets a property unless the operator set it with XW_RDKAFKA_<KEY>. */
static int set_default(rd_kafka_conf_t *conf, const char *key,
                       const char *value, char *err, size_t errlen)
{
    char envname[128];
    size_t o = sizeof "XW_RDKAFKA_" - 1;

    memcpy(envname, "XW_RDKAFKA_", o);
    for (const char *k = key; *k && o + 2 < sizeof envname; k++) {
        if (*k == '_')
            envname[o++] = '_';  /* '__' stands for '_' */
        envname[o++] = *k == '.' ? '_' : (char)(*k >= 'a' && *k <= 'z'
                                                    ? *k - 32 : *k);
    }
    envname[o] = '\0';
    if (getenv(envname))
        return 0;
    return xw_kafka_conf_set(conf, key, value, err, errlen);
}

/* ---- producer ---------------------------------------------------------- */

struct xw_kafka_producer {
    rd_kafka_t *rk;
    rd_kafka_topic_t *topics[XW_TOPIC_COUNT];
    char prefix[64];
    _Atomic uint64_t produced;
    _Atomic uint64_t failures;
    uint64_t failures_at_flush;
    char last_error[256];
};

/* A synchronous produce waits on one of these (msg_opaque). The report
 * may be served by any thread that polls the producer (the listener's
 * main thread does, blocking): it signals cv, so the waiter wakes at once
 * instead of at the end of its own poll's timeout. */
struct delivery {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    rd_kafka_resp_err_t err;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque)
{
    xw_kafka_producer *p = opaque;
    struct delivery *d = m->_private;

    (void)rk;
    if (d) {
        pthread_mutex_lock(&d->mu);
        d->err = m->err;
        d->done = 1;
        pthread_cond_signal(&d->cv);
        pthread_mutex_unlock(&d->mu);
        return;
    }
    if (m->err) {
        atomic_fetch_add(&p->failures, 1);
        snprintf(p->last_error, sizeof p->last_error, "%s: %s",
                 rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
        xw_warn("KAFK", "delivery to %s failed: %s",
                rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
    }
}

static void on_error(rd_kafka_t *rk, int err, const char *reason,
                     void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[256];

        rd_kafka_fatal_error(rk, buf, sizeof buf);
        xw_error("KAFK", "fatal: %s", buf);
        return;
    }
    /* Transient: librdkafka retries by itself; say it once, briefly. */
    xw_debug("KAFK", "%s: %s", rd_kafka_err2name(err), reason);
}

xw_kafka_producer *xw_kafka_producer_new(const struct xw_config *cfg,
                                         const char *client_id, char *err,
                                         size_t errlen)
{
    xw_kafka_producer *p = calloc(1, sizeof *p);
    rd_kafka_conf_t *conf = NULL;
    static const char *const defaults[][2] = {
        { "enable.idempotence", "true" },
        { "linger.ms", "5" },
        { "message.max.bytes", "4000000" },
        { "message.timeout.ms", "30000" },
    };

    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(p->prefix, sizeof p->prefix, "%s",
             xw_config_str(cfg, "XW_TOPIC_PREFIX"));
    conf = xw_kafka_conf_new(cfg, err, errlen);
    if (!conf)
        goto fail;
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if (set_default(conf, defaults[i][0], defaults[i][1], err, errlen))
            goto fail;
    if (xw_kafka_conf_set(conf, "client.id", client_id, err, errlen))
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_opaque(conf, p);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
    if (!p->rk)
        goto fail;
    xw_metrics_register(&m_produced);
    xw_metrics_register(&m_produced_bytes);
    return p;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    free(p);
    return NULL;
}

rd_kafka_t *xw_kafka_producer_handle(xw_kafka_producer *p)
{
    return p->rk;
}

void xw_kafka_producer_free(xw_kafka_producer *p)
{
    if (!p)
        return;
    rd_kafka_flush(p->rk, 10000);
    if (rd_kafka_outq_len(p->rk) > 0)
        xw_error("KAFK", "%d message(s) were not delivered at shutdown",
                 rd_kafka_outq_len(p->rk));
    for (int i = 0; i < XW_TOPIC_COUNT; i++)
        if (p->topics[i])
            rd_kafka_topic_destroy(p->topics[i]);
    rd_kafka_destroy(p->rk);
    free(p);
}

static int produce_rkt(xw_kafka_producer *p, rd_kafka_topic_t *rkt,
                       const void *key, size_t keylen, const void *value,
                       size_t len, void *opaque, char *err, size_t errlen)
{
    /* A waited message (opaque: its delivery) is not copied: the caller's
     * value outlives it, as xw_kafka_produce_wait returns only after the
     * delivery report. A 10,000-object event is 3.5 MB. */
    int flags = opaque ? 0 : RD_KAFKA_MSG_F_COPY;

    for (;;) {
        rd_kafka_resp_err_t e;

        if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, flags,
                             (void *)value, len, key, keylen, opaque) == 0) {
            atomic_fetch_add(&p->produced, 1);
            xw_metrics_add(&m_produced, 1);
            xw_metrics_add(&m_produced_bytes, len);
            return 0;
        }
        e = rd_kafka_last_error();
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            snprintf(err, errlen, "produce to %s: %s",
                     rd_kafka_topic_name(rkt), rd_kafka_err2str(e));
            return -1;
        }
        /* Local queue full: serve delivery reports until there is room. */
        rd_kafka_poll(p->rk, 50);
    }
}

static pthread_mutex_t topics_lock = PTHREAD_MUTEX_INITIALIZER;

/* The cached handle of an xw topic (created once, shared by threads). */
static rd_kafka_topic_t *topic_handle(xw_kafka_producer *p,
                                      enum xw_topic topic, char *err,
                                      size_t errlen)
{
    rd_kafka_topic_t *rkt;

    if ((unsigned)topic >= XW_TOPIC_COUNT) {
        snprintf(err, errlen, "unknown topic %d", (int)topic);
        return NULL;
    }
    pthread_mutex_lock(&topics_lock);
    if (!p->topics[topic]) {
        char name[128];

        if (xw_topic_name(p->prefix, topic, name, sizeof name) < 0)
            snprintf(err, errlen, "topic name too long");
        else if (!(p->topics[topic] = rd_kafka_topic_new(p->rk, name, NULL)))
            snprintf(err, errlen, "topic %s: %s", name,
                     rd_kafka_err2str(rd_kafka_last_error()));
    }
    rkt = p->topics[topic];
    pthread_mutex_unlock(&topics_lock);
    return rkt;
}

int xw_kafka_produce(xw_kafka_producer *p, enum xw_topic topic,
                     const void *key, size_t keylen, const void *value,
                     size_t len, char *err, size_t errlen)
{
    rd_kafka_topic_t *rkt = topic_handle(p, topic, err, errlen);

    if (!rkt)
        return -1;
    return produce_rkt(p, rkt, key, keylen, value, len, NULL, err, errlen);
}

int xw_kafka_produce_wait(xw_kafka_producer *p, enum xw_topic topic,
                          const void *key, size_t keylen, const void *value,
                          size_t len, char *err, size_t errlen)
{
    rd_kafka_topic_t *rkt = topic_handle(p, topic, err, errlen);
    struct delivery d = { .done = 0, .err = RD_KAFKA_RESP_ERR_NO_ERROR };
    pthread_condattr_t a;
    int rc = -1;

    if (!rkt)
        return -1;
    pthread_mutex_init(&d.mu, NULL);
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&d.cv, &a);
    pthread_condattr_destroy(&a);
    if (produce_rkt(p, rkt, key, keylen, value, len, &d, err, errlen) < 0)
        goto out;
    /* librdkafka reports every message within message.timeout.ms, so this
     * loop ends. Serve what is queued (no other thread may be polling),
     * then sleep until our report is served, by us or another poller; the
     * 10 ms bound keeps a producer nobody else polls moving. */
    pthread_mutex_lock(&d.mu);
    while (!d.done) {
        struct timespec ts;

        pthread_mutex_unlock(&d.mu);
        rd_kafka_poll(p->rk, 0);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 10 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&d.mu);
        if (!d.done)
            pthread_cond_timedwait(&d.cv, &d.mu, &ts);
    }
    pthread_mutex_unlock(&d.mu);
    if (d.err) {
        snprintf(err, errlen, "not acknowledged: %s", rd_kafka_err2str(d.err));
        goto out;
    }
    rc = 0;
out:
    pthread_cond_destroy(&d.cv);
    pthread_mutex_destroy(&d.mu);
    return rc;
}

int xw_kafka_produce_to(xw_kafka_producer *p, const char *topic,
                        const void *key, size_t keylen, const void *value,
                        size_t len, char *err, size_t errlen)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(p->rk, topic, NULL);
    int rc;

    if (!rkt) {
        snprintf(err, errlen, "topic %s: %s", topic,
                 rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    rc = produce_rkt(p, rkt, key, keylen, value, len, NULL, err, errlen);
    rd_kafka_topic_destroy(rkt);
    return rc;
}

void xw_kafka_poll(xw_kafka_producer *p)
{
    rd_kafka_poll(p->rk, 0);
}

int xw_kafka_producer_fatal(xw_kafka_producer *p, char *err, size_t errlen)
{
    char fatal[256];

    if (!rd_kafka_fatal_error(p->rk, fatal, sizeof fatal))
        return 0;
    snprintf(err, errlen, "producer fatal error: %s", fatal);
    return 1;
}

int xw_kafka_flush(xw_kafka_producer *p, int timeout_ms, char *err,
                   size_t errlen)
{
    uint64_t failures;

    rd_kafka_flush(p->rk, timeout_ms);
    failures = atomic_load(&p->failures);
    if (xw_kafka_producer_fatal(p, err, errlen))
        return -1;
    if (failures != p->failures_at_flush) {
        snprintf(err, errlen, "%llu message(s) not delivered, last: %s",
                 (unsigned long long)(failures - p->failures_at_flush),
                 p->last_error);
        p->failures_at_flush = failures;
        return -1;
    }
    if (rd_kafka_outq_len(p->rk) > 0) {
        snprintf(err, errlen, "%d message(s) still queued after %d ms",
                 rd_kafka_outq_len(p->rk), timeout_ms);
        return -1;
    }
    return 0;
}

uint64_t xw_kafka_produced(const xw_kafka_producer *p)
{
    return atomic_load(&((xw_kafka_producer *)p)->produced);
}

uint64_t xw_kafka_delivery_failures(const xw_kafka_producer *p)
{
    return atomic_load(&((xw_kafka_producer *)p)->failures);
}

enum xw_handle_result xw_handle_fail(struct xw_handle_error *err,
                                     enum xw_handle_result r,
                                     const char *code, const char *fmt, ...)
{
    va_list ap;

    snprintf(err->code, sizeof err->code, "%s", code);
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof err->reason, fmt, ap);
    va_end(ap);
    return r;
}

/* ---- consumer ---------------------------------------------------------- */

struct xw_kafka_consumer {
    rd_kafka_t *rk;
    rd_kafka_queue_t *queue;
    xw_kafka_producer *producer;
    rd_kafka_message_t **batch;
    size_t batch_max;
    int backoff_ms;
};

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE")
                      == 0;
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t ret = RD_KAFKA_RESP_ERR_NO_ERROR;

    (void)opaque;
    switch (err) {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        xw_info("KAFK", "assigned %d partition(s)", parts->cnt);
        if (cooperative)
            error = rd_kafka_incremental_assign(rk, parts);
        else
            ret = rd_kafka_assign(rk, parts);
        break;
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        xw_info("KAFK", "revoked %d partition(s)", parts->cnt);
        if (cooperative)
            error = rd_kafka_incremental_unassign(rk, parts);
        else
            ret = rd_kafka_assign(rk, NULL);
        break;
    default:
        xw_warn("KAFK", "rebalance failed: %s", rd_kafka_err2str(err));
        rd_kafka_assign(rk, NULL);
        break;
    }
    if (error) {
        xw_error("KAFK", "assignment: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (ret) {
        xw_error("KAFK", "assignment: %s", rd_kafka_err2str(ret));
    }
}

xw_kafka_consumer *xw_kafka_consumer_new(const struct xw_config *cfg,
                                         const char *group,
                                         const enum xw_topic *topics,
                                         size_t ntopics,
                                         xw_kafka_producer *producer,
                                         char *err, size_t errlen)
{
    xw_kafka_consumer *c = calloc(1, sizeof *c);
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_topic_partition_list_t *subs = NULL;
    char gid[256], name[128];
    static const char *const defaults[][2] = {
        { "enable.auto.offset.store", "false" },
        { "enable.auto.commit", "true" },
        { "auto.commit.interval.ms", "500" },
        { "auto.offset.reset", "earliest" },
        /* A killed member is noticed in seconds, not the 45 s default. */
        { "session.timeout.ms", "6000" },
        { "heartbeat.interval.ms", "1000" },
    };
    rd_kafka_resp_err_t e;

    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->producer = producer;
    c->batch_max = (size_t)xw_config_int(cfg, "XW_BATCH_MAX");
    c->batch = calloc(c->batch_max, sizeof *c->batch);
    if (!c->batch) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    snprintf(gid, sizeof gid, "%s%s", xw_config_str(cfg, "XW_GROUP_PREFIX"),
             group);
    conf = xw_kafka_conf_new(cfg, err, errlen);
    if (!conf)
        goto fail;
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if (set_default(conf, defaults[i][0], defaults[i][1], err, errlen))
            goto fail;
    if (xw_kafka_conf_set(conf, "group.id", gid, err, errlen))
        goto fail;
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_error_cb(conf, on_error);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
    if (!c->rk)
        goto fail;
    conf = NULL; /* owned by c->rk now */
    rd_kafka_poll_set_consumer(c->rk);
    c->queue = rd_kafka_queue_get_consumer(c->rk);
    subs = rd_kafka_topic_partition_list_new((int)ntopics);
    for (size_t i = 0; i < ntopics; i++) {
        if (xw_topic_name(xw_config_str(cfg, "XW_TOPIC_PREFIX"), topics[i],
                          name, sizeof name) < 0) {
            snprintf(err, errlen, "topic name too long");
            goto fail;
        }
        rd_kafka_topic_partition_list_add(subs, name, RD_KAFKA_PARTITION_UA);
    }
    e = rd_kafka_subscribe(c->rk, subs);
    if (e) {
        snprintf(err, errlen, "subscribe: %s", rd_kafka_err2str(e));
        goto fail;
    }
    rd_kafka_topic_partition_list_destroy(subs);
    xw_metrics_register(&m_consumed);
    xw_metrics_register(&m_batches);
    xw_metrics_register(&m_loop_handle_us);
    xw_metrics_register(&m_loop_end_us);
    xw_metrics_register(&m_loop_flush_us);
    xw_info("KAFK", "consumer in group %s subscribed to %zu topic(s)", gid,
            ntopics);
    return c;
fail:
    if (subs)
        rd_kafka_topic_partition_list_destroy(subs);
    if (conf)
        rd_kafka_conf_destroy(conf);
    if (c->queue)
        rd_kafka_queue_destroy(c->queue);
    if (c->rk)
        rd_kafka_destroy(c->rk);
    free(c->batch);
    free(c);
    return NULL;
}

rd_kafka_t *xw_kafka_consumer_handle(xw_kafka_consumer *c)
{
    return c->rk;
}

void xw_kafka_consumer_free(xw_kafka_consumer *c)
{
    rd_kafka_resp_err_t e;

    if (!c)
        return;
    rd_kafka_queue_destroy(c->queue);
    e = rd_kafka_consumer_close(c->rk);
    if (e)
        xw_warn("KAFK", "consumer close: %s", rd_kafka_err2str(e));
    rd_kafka_destroy(c->rk);
    free(c->batch);
    free(c);
}

/* Per-partition first/last offsets of the messages in a batch. */
static rd_kafka_topic_partition_t *
batch_partition(rd_kafka_topic_partition_list_t *l, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    rd_kafka_topic_partition_t *tp;

    for (int i = 0; i < l->cnt; i++)
        if (l->elems[i].partition == m->partition
            && strcmp(l->elems[i].topic, topic) == 0)
            return &l->elems[i];
    tp = rd_kafka_topic_partition_list_add(l, topic, m->partition);
    tp->offset = m->offset;
    return tp;
}

static void rewind_batch(xw_kafka_consumer *c,
                         rd_kafka_topic_partition_list_t *first)
{
    rd_kafka_error_t *error;

    if (first->cnt == 0)
        return;
    error = rd_kafka_seek_partitions(c->rk, first, 5000);
    if (error) {
        xw_warn("KAFK", "rewind: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
}

static void backoff(xw_kafka_consumer *c)
{
    c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : 100;
    if (c->backoff_ms > 5000)
        c->backoff_ms = 5000;
    sleep_ms(c->backoff_ms);
}

int xw_kafka_consumer_run_once(xw_kafka_consumer *c,
                               const struct xw_kafka_handler *h,
                               int timeout_ms)
{
    rd_kafka_topic_partition_list_t *first = NULL, *next = NULL;
    struct xw_handle_error herr;
    char err[512];
    ssize_t n = 0;
    int handled = 0, failed = 0;
    char fatal[256];
    uint64_t t0, t1;

    /* Block for the first message only, then take what is already there:
     * low latency when idle, big batches under load. */
    c->batch[0] = rd_kafka_consumer_poll(c->rk, timeout_ms);
    if (!c->batch[0])
        return 0;
    n = 1;
    if (c->batch_max > 1) {
        ssize_t more = rd_kafka_consume_batch_queue(c->queue, 0, c->batch + 1,
                                                    c->batch_max - 1);
        if (more > 0)
            n += more;
    }
    xw_metrics_add(&m_batches, 1);
    first = rd_kafka_topic_partition_list_new(8);
    next = rd_kafka_topic_partition_list_new(8);
    /* Every partition of the batch, with its first offset, before anything
     * runs: a rewind must also cover the messages after a failure, which
     * were fetched but never handled. */
    for (ssize_t i = 0; i < n; i++)
        if (!c->batch[i]->err)
            batch_partition(first, c->batch[i]);
    t0 = mono_us();
    if (h->batch_begin && h->batch_begin(h->ctx, c->batch, (size_t)n) < 0) {
        xw_warn("KAFK", "retrying batch: batch begin failed");
        failed = 1;
    }
    for (ssize_t i = 0; i < n && !failed; i++) {
        rd_kafka_message_t *m = c->batch[i];
        enum xw_handle_result r;

        if (m->err) {
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
                continue;
            if (rd_kafka_fatal_error(c->rk, fatal, sizeof fatal)) {
                xw_error("KAFK", "consumer fatal error: %s", fatal);
                handled = -1;
                goto out;
            }
            xw_warn("KAFK", "consume: %s", rd_kafka_message_errstr(m));
            continue;
        }
        batch_partition(next, m)->offset = m->offset + 1;
        xw_metrics_add(&m_consumed, 1);
        memset(&herr, 0, sizeof herr);
        r = h->handle(h->ctx, m, &herr);
        if (r == XW_HANDLE_POISON) {
            xw_warn("DLQ", "%s [%d] @%lld: %s: %s", rd_kafka_topic_name(m->rkt),
                    (int)m->partition, (long long)m->offset, herr.code,
                    herr.reason);
            if (!h->dead_letter
                || h->dead_letter(h->dead_letter_ctx ? h->dead_letter_ctx
                                                     : h->ctx, m, &herr) < 0)
                r = XW_HANDLE_RETRY;
        }
        if (r == XW_HANDLE_RETRY) {
            xw_warn("KAFK", "retrying batch: %s%s%s", herr.code,
                    herr.reason[0] ? ": " : "", herr.reason);
            failed = 1;
        } else {
            handled++;
        }
    }
    t1 = mono_us();
    xw_metrics_add(&m_loop_handle_us, t1 - t0);
    if (!failed && h->batch_end && h->batch_end(h->ctx) < 0) {
        xw_warn("KAFK", "retrying batch: batch end failed");
        failed = 1;
    }
    t0 = mono_us();
    xw_metrics_add(&m_loop_end_us, t0 - t1);
    if (!failed && c->producer
        && xw_kafka_flush(c->producer, 30000, err, sizeof err) < 0) {
        xw_warn("KAFK", "retrying batch: %s", err);
        failed = 1;
    }
    xw_metrics_add(&m_loop_flush_us, mono_us() - t0);
    if (failed) {
        if (h->batch_abort)
            h->batch_abort(h->ctx);
        if (c->producer && xw_kafka_producer_fatal(c->producer, err,
                                                   sizeof err)) {
            /* Nothing of this batch is stored: a restart redoes it. */
            xw_error("KAFK", "%s: stopping", err);
            handled = -1;
            goto out;
        }
        rewind_batch(c, first);
        handled = 0;
        backoff(c);
        goto out;
    }
    c->backoff_ms = 0;
    if (next->cnt) {
        rd_kafka_resp_err_t e = rd_kafka_offsets_store(c->rk, next);

        /* A partition revoked meanwhile is redone by its new owner;
         * effects are idempotent, so that is safe. */
        if (e && e != RD_KAFKA_RESP_ERR__STATE)
            xw_warn("KAFK", "offset store: %s", rd_kafka_err2str(e));
    }
out:
    for (ssize_t i = 0; i < n; i++)
        rd_kafka_message_destroy(c->batch[i]);
    if (first)
        rd_kafka_topic_partition_list_destroy(first);
    if (next)
        rd_kafka_topic_partition_list_destroy(next);
    return handled;
}

int xw_kafka_consumer_run(xw_kafka_consumer *c,
                          const struct xw_kafka_handler *h)
{
    while (!xw_kafka_stop) {
        if (xw_kafka_consumer_run_once(c, h, 200) < 0)
            return -1;
        if (c->producer)
            xw_kafka_poll(c->producer);
    }
    return 0;
}
