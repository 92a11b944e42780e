/*
 * xw-kafkabench - the Kafka ceiling of the benchmark: raw produce -> consume
 * of messages the size of an ObjectMapped event, through the same broker
 * and the same code the services use (xw_kafka's idempotent producer with
 * its linger, and xw_kafka's consumer loop with offset storage per batch),
 * with a handler that does nothing but count.
 *
 *   xw-kafkabench [--count N] [--size BYTES] [--rate MSGS_PER_S]
 *                 [--repeat R] [--prefix P] [--json]
 *   xw-kafkabench --acked THREADS [--count N] [--size BYTES] [--json]
 *
 * Settings come from the environment like a service's (XW_KAFKA_BROKERS,
 * XW_RDKAFKA_*, XW_BATCH_MAX), except the topic prefix: the messages go to
 * "<prefix>mapped" (default prefix "xwbench."), which must exist (the
 * local broker: `create_topic xwbench.mapped 4` on its control port), so
 * no service ever sees them. The default size is that of a real
 * ObjectMapped event of the benchmark's object, encoded with xw_avro; each
 * payload starts with its send time, so the consumer also measures the
 * produce -> consume latency.
 *
 * A run: one producer thread sends N messages (as fast as the producer
 * takes them, or paced at --rate), then flushes; the main thread consumes
 * them with the consumer loop until it has seen N (or 60 s pass). The
 * consumer joins its group first, so the clock starts with both sides
 * ready. --repeat runs R times on the same consumer and reports the median
 * run by throughput. Keep N x size under the local broker's per-partition
 * log (~5 MB x 4 partitions), or a slow consumer loses the oldest messages
 * (reported as "lost"). Paced at a low rate, the latency is that of one
 * pipeline hop: with the local broker it is dominated by fetch.wait.max.ms
 * (librdkafka default 500 ms), because the mock broker answers a Fetch
 * that finds no data only after the full wait, even if data arrives
 * meanwhile (rdkafka_mock_handlers.c).
 *
 * --acked: the synchronous write of the submit-listener instead. THREADS
 * threads send N messages in all, each with xw_kafka_produce_wait (one at
 * a time per thread, waiting for the broker's acknowledgement), while the
 * main thread polls the producer as the listener's does; no consumer.
 * Prints {"acked_threads","count","size","acked_s","acked_msgs_per_s",
 * "ack_p50_ms","ack_p99_ms"}.
 *
 * Prints one line of results, or with --json one JSON object:
 *   {"count","size","rate","repeat","produce_s","produce_msgs_per_s",
 *    "e2e_s","e2e_msgs_per_s","e2e_msgs_per_s_min","e2e_msgs_per_s_max",
 *    "lat_p50_ms","lat_p99_ms","received","lost"}
 * Exit status 0, 1 on a setup failure or when messages were lost, 2 on
 * bad usage.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "xw_avro.h"
#include "xw_avro_json.h"
#include "xw_config.h"
#include "xw_id.h"
#include "xw_kafka.h"
#include "xw_log.h"

#define MAX_COUNT 1000000
#define MAX_SIZE (1 << 20)
#define MIN_SIZE 8 /* the send time */
#define MAX_REPEAT 9
#define RECV_TIMEOUT_MS 60000

static const char *opt_prefix = "xwbench.";

/* The environment, with the topic and group prefixes overridden. */
static const char *bench_getenv(const char *name)
{
    if (strcmp(name, "XW_TOPIC_PREFIX") == 0)
        return opt_prefix;
    if (strcmp(name, "XW_GROUP_PREFIX") == 0)
        return "xwbench-";
    return getenv(name);
}

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The size of an ObjectMapped event as the mapper makes it for the
 * benchmark's object (scripts/demo-data's first object, mapped by the
 * sample environment). 0 on failure. */
static size_t object_mapped_size(void)
{
    xw_avro_registry *reg = NULL;
    xw_avro_value ev = { 0 };
    xw_avro_json_error je;
    xw_avro_err ae;
    xw_buf out = XW_BUF_INIT;
    char err[256], id[XW_UUID_LEN + 1], corr[XW_UUID_LEN + 1];
    char pkg[XW_UUID_LEN + 8];
    json_t *j = NULL;
    size_t size = 0;

    if (xw_avro_registry_open(&reg, err, sizeof err) < 0
        || xw_avro_value_init(&ev, xw_avro_type_find(reg, "ObjectMapped")) < 0
        || xw_uuid_v4(id) < 0 || xw_uuid_v4(corr) < 0)
        goto out;
    snprintf(pkg, sizeof pkg, "pkg-%s", corr);
    j = json_pack("{s:s, s:I, s:s, s:s, s:s, s:i, s:s, s:s, s:I, s:i, s:{"
                  "s:s, s:s, s:s, s:I, s:s, s:s, s:[], s:[], s:[{s:s, s:s}, "
                  "{s:s, s:s}], s:s, s:s, s:s}}",
                  "event_id", id, "occurred_at", (json_int_t)xw_now_ms(),
                  "actor", "mapper", "correlation_id", corr, "package_id", pkg,
                  "attempt", 1, "source_workspace", "dev",
                  "destination_workspace", "prod",
                  "deploy_at", (json_int_t)xw_now_ms(), "total", 100,
                  "object", "id", "b1-00042-00042", "name", "node_00042",
                  "kind", "node", "version", (json_int_t)1764151200,
                  "compute_resource", "mc_prod", "resource_group",
                  "rg_sched_prod", "data_sources", "dependencies",
                  "parameters", "name", "bizdate", "value", "$bizdate",
                  "name", "env", "value", "prod", "owner", "dave",
                  "generation_mode", "next_day", "scheduled_time", "02:00");
    if (!j || xw_avro_from_json(&ev.value, j, NULL, &je) < 0
        || xw_avro_encode(&ev.value, &out, &ae) < 0)
        goto out;
    size = out.len;
out:
    json_decref(j);
    xw_buf_release(&out);
    xw_avro_value_release(&ev);
    xw_avro_registry_free(reg);
    return size;
}

struct bench {
    xw_kafka_producer *producer;
    size_t count, size;
    long rate;                    /* msgs/s; 0 = as fast as possible */
    int64_t t_start, t_produced;  /* ns: before the first produce, flushed */
    int produce_failed;
    /* consumer side */
    size_t received;
    int64_t t_last;               /* ns: last message consumed */
    double *lat_ms;               /* count slots, owned */
};

/* One run's figures. */
struct result {
    double produce_s, e2e_s, produce_rate, e2e_rate, p50, p99;
    size_t received, lost;
};

static void sleep_until_ns(int64_t t)
{
    int64_t d = t - now_ns();

    if (d > 0) {
        struct timespec ts = { (time_t)(d / 1000000000LL),
                               (long)(d % 1000000000LL) };

        nanosleep(&ts, NULL);
    }
}

static void *produce_thread(void *arg)
{
    struct bench *b = arg;
    unsigned char *payload = calloc(1, b->size);
    char err[512], key[32];

    if (!payload) {
        b->produce_failed = 1;
        return NULL;
    }
    memset(payload, 'x', b->size);
    for (size_t i = 0; i < b->count; i++) {
        int64_t t;
        /* Keys like package ids: spread over the partitions. */
        int klen = snprintf(key, sizeof key, "pkg-%zu", i % 64);

        if (b->rate > 0)
            sleep_until_ns(b->t_start
                           + (int64_t)i * 1000000000LL / b->rate);
        t = now_ns();
        memcpy(payload, &t, sizeof t);
        if (xw_kafka_produce(b->producer, XW_TOPIC_MAPPED, key, (size_t)klen,
                             payload, b->size, err, sizeof err) < 0) {
            fprintf(stderr, "xw-kafkabench: %s\n", err);
            b->produce_failed = 1;
            break;
        }
        if ((i & 1023) == 0 || b->rate > 0)
            xw_kafka_poll(b->producer);
    }
    if (xw_kafka_flush(b->producer, 30000, err, sizeof err) < 0) {
        fprintf(stderr, "xw-kafkabench: flush: %s\n", err);
        b->produce_failed = 1;
    }
    b->t_produced = now_ns();
    free(payload);
    return NULL;
}

static enum xw_handle_result on_message(void *ctx, const rd_kafka_message_t *m,
                                        struct xw_handle_error *e)
{
    struct bench *b = ctx;
    int64_t sent, t = now_ns();

    (void)e;
    if (m->len < sizeof sent)
        return XW_HANDLE_OK;
    memcpy(&sent, m->payload, sizeof sent);
    if (sent < b->t_start)
        return XW_HANDLE_OK; /* left over from an earlier run */
    if (b->received < b->count)
        b->lat_ms[b->received] = (double)(t - sent) / 1e6;
    b->received++;
    b->t_last = t;
    return XW_HANDLE_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double pct(const double *v, size_t n, double p)
{
    size_t i;

    if (n == 0)
        return 0;
    i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

/* Waits until the consumer has partitions assigned (the group formed). */
static int wait_assigned(xw_kafka_consumer *c, const struct xw_kafka_handler *h)
{
    int64_t deadline = xw_mono_ms() + 20000;

    while (xw_mono_ms() < deadline) {
        rd_kafka_topic_partition_list_t *parts = NULL;
        int n = 0;

        if (xw_kafka_consumer_run_once(c, h, 100) < 0)
            return -1;
        if (rd_kafka_assignment(xw_kafka_consumer_handle(c), &parts) == 0) {
            n = parts->cnt;
            rd_kafka_topic_partition_list_destroy(parts);
        }
        if (n > 0)
            return 0;
    }
    return -1;
}

static int cmp_result(const void *a, const void *b)
{
    double x = ((const struct result *)a)->e2e_rate;
    double y = ((const struct result *)b)->e2e_rate;

    return (x > y) - (x < y);
}

/* One run: the producer thread sends b->count messages while this thread
 * consumes them. 0 (figures in *out) or -1 (setup failure, said why). */
static int run(xw_kafka_consumer *c, const struct xw_kafka_handler *h,
               struct bench *b, struct result *out)
{
    pthread_t th;
    int64_t deadline;
    size_t n;

    memset(out, 0, sizeof *out);
    b->received = 0;
    b->t_last = 0;
    b->produce_failed = 0;
    b->t_start = now_ns(); /* before the thread: the handler reads it */
    if (pthread_create(&th, NULL, produce_thread, b) != 0) {
        fprintf(stderr, "xw-kafkabench: cannot start the producer thread\n");
        return -1;
    }
    deadline = xw_mono_ms() + RECV_TIMEOUT_MS;
    while (b->received < b->count && xw_mono_ms() < deadline)
        if (xw_kafka_consumer_run_once(c, h, 100) < 0)
            break;
    pthread_join(th, NULL);
    if (b->produce_failed)
        return -1;
    n = b->received < b->count ? b->received : b->count;
    qsort(b->lat_ms, n, sizeof *b->lat_ms, cmp_double);
    out->produce_s = (double)(b->t_produced - b->t_start) / 1e9;
    out->e2e_s = (double)(b->t_last - b->t_start) / 1e9;
    out->produce_rate = out->produce_s > 0
        ? (double)b->count / out->produce_s : 0;
    out->e2e_rate = out->e2e_s > 0 ? (double)n / out->e2e_s : 0;
    out->p50 = pct(b->lat_ms, n, 50);
    out->p99 = pct(b->lat_ms, n, 99);
    out->received = b->received;
    out->lost = b->count - n;
    return 0;
}

/* ---- --acked ---------------------------------------------------------- */

struct acked {
    struct bench *b;
    size_t first, n;              /* this thread's slots of b->lat_ms */
    int failed;
    int64_t t_end;                /* ns: its last acknowledgement */
    atomic_int *finished;         /* threads that are through */
};

static void *acked_thread(void *arg)
{
    struct acked *a = arg;
    unsigned char *payload = calloc(1, a->b->size);
    char err[512], key[32];

    if (!payload) {
        a->failed = 1;
        return NULL;
    }
    memset(payload, 'x', a->b->size);
    for (size_t i = a->first; i < a->first + a->n; i++) {
        int klen = snprintf(key, sizeof key, "pkg-%zu", i % 64);
        int64_t t = now_ns();

        if (xw_kafka_produce_wait(a->b->producer, XW_TOPIC_MAPPED, key,
                                  (size_t)klen, payload, a->b->size, err,
                                  sizeof err) < 0) {
            fprintf(stderr, "xw-kafkabench: %s\n", err);
            a->failed = 1;
            break;
        }
        a->b->lat_ms[i] = (double)(now_ns() - t) / 1e6;
    }
    free(payload);
    a->t_end = now_ns();
    atomic_fetch_add(a->finished, 1);
    return NULL;
}

/* The threads of --acked, and the polling main thread. 0 or -1. */
static int run_acked(struct bench *b, int threads, int json)
{
    pthread_t th[64];
    struct acked a[64];
    int started = 0, failed = 0;
    atomic_int finished = 0;
    int64_t t0 = now_ns(), t1;
    size_t per = b->count / (size_t)threads;

    for (; started < threads; started++) {
        a[started] = (struct acked){ b, (size_t)started * per,
                                     started == threads - 1
                                         ? b->count - (size_t)started * per
                                         : per, 0, 0, &finished };
        if (pthread_create(&th[started], NULL, acked_thread, &a[started]))
            break;
    }
    /* Like the listener's main thread: delivery reports are served here
     * as well as by the waiting threads. */
    while (atomic_load(&finished) < started)
        rd_kafka_poll(xw_kafka_producer_handle(b->producer), 200);
    t1 = t0;
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        failed |= a[i].failed;
        if (a[i].t_end > t1)
            t1 = a[i].t_end;
    }
    if (failed || started < threads)
        return -1;
    qsort(b->lat_ms, b->count, sizeof *b->lat_ms, cmp_double);
    if (json)
        printf("{\"acked_threads\":%d,\"count\":%zu,\"size\":%zu,"
               "\"acked_s\":%.3f,\"acked_msgs_per_s\":%.0f,"
               "\"ack_p50_ms\":%.3f,\"ack_p99_ms\":%.3f}\n", threads,
               b->count, b->size, (double)(t1 - t0) / 1e9,
               (double)b->count / ((double)(t1 - t0) / 1e9),
               pct(b->lat_ms, b->count, 50), pct(b->lat_ms, b->count, 99));
    else
        printf("acked: %d threads, %zu x %zu B in %.3f s: %.0f msgs/s, "
               "ack p50 %.3f ms, p99 %.3f ms\n", threads, b->count, b->size,
               (double)(t1 - t0) / 1e9,
               (double)b->count / ((double)(t1 - t0) / 1e9),
               pct(b->lat_ms, b->count, 50), pct(b->lat_ms, b->count, 99));
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: xw-kafkabench [--count N] [--size BYTES] "
            "[--rate MSGS_PER_S] [--repeat R] [--prefix P] [--json]\n"
            "       xw-kafkabench --acked THREADS [--count N] [--size BYTES] "
            "[--json]\n");
}

int main(int argc, char **argv)
{
    const struct xw_config_def *tables[] = { xw_config_common };
    size_t counts[] = { xw_config_common_count };
    static const enum xw_topic topics[] = { XW_TOPIC_MAPPED };
    struct xw_config cfg;
    struct bench b;
    struct xw_kafka_handler h;
    xw_kafka_consumer *consumer = NULL;
    struct result res[MAX_REPEAT], *best;
    int json = 0, rc = 1, repeat = 3, acked = 0;
    long count = 60000, size = 0, rate = 0;
    char err[512];

    memset(&b, 0, sizeof b);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
            count = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
            size = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc)
            rate = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc)
            opt_prefix = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--acked") == 0 && i + 1 < argc)
            acked = atoi(argv[++i]);
        else {
            usage();
            return 2;
        }
    }
    if (count < 1 || count > MAX_COUNT || (size != 0 && size < MIN_SIZE)
        || size > MAX_SIZE || rate < 0 || rate > 10000000 || repeat < 1
        || repeat > MAX_REPEAT || acked < 0 || acked > 64
        || (acked && count < acked)) {
        usage();
        return 2;
    }
    xw_log_init("kafkabench", XW_WARN);
    if (xw_config_load(&cfg, tables, counts, 1, bench_getenv, err,
                       sizeof err) < 0) {
        fprintf(stderr, "xw-kafkabench: configuration: %s\n", err);
        return 1;
    }
    if (size == 0 && (size = (long)object_mapped_size()) == 0) {
        fprintf(stderr, "xw-kafkabench: could not encode an ObjectMapped\n");
        return 1;
    }
    b.count = (size_t)count;
    b.size = (size_t)size;
    b.rate = rate;
    b.lat_ms = calloc(b.count, sizeof *b.lat_ms);
    if (!b.lat_ms) {
        fprintf(stderr, "xw-kafkabench: out of memory\n");
        return 1;
    }
    b.producer = xw_kafka_producer_new(&cfg, "xw-kafkabench", err, sizeof err);
    if (!b.producer) {
        fprintf(stderr, "xw-kafkabench: producer: %s\n", err);
        goto out;
    }
    if (acked) {
        rc = run_acked(&b, acked, json) < 0;
        goto out;
    }
    consumer = xw_kafka_consumer_new(&cfg, "kafkabench", topics, 1, NULL, err,
                                     sizeof err);
    if (!consumer) {
        fprintf(stderr, "xw-kafkabench: consumer: %s\n", err);
        goto out;
    }
    memset(&h, 0, sizeof h);
    h.handle = on_message;
    h.ctx = &b;
    if (wait_assigned(consumer, &h) < 0) {
        fprintf(stderr, "xw-kafkabench: no partitions assigned (does topic "
                "%smapped exist?)\n", opt_prefix);
        goto out;
    }
    for (int r = 0; r < repeat; r++) {
        if (run(consumer, &h, &b, &res[r]) < 0)
            goto out;
        if (res[r].lost)
            fprintf(stderr, "xw-kafkabench: run %d lost %zu message(s)\n",
                    r + 1, res[r].lost);
    }
    /* The median run by end-to-end rate. */
    qsort(res, (size_t)repeat, sizeof res[0], cmp_result);
    best = &res[repeat / 2];
    if (json)
        printf("{\"count\":%zu,\"size\":%zu,\"rate\":%ld,\"repeat\":%d,"
               "\"produce_s\":%.3f,\"produce_msgs_per_s\":%.0f,"
               "\"e2e_s\":%.3f,\"e2e_msgs_per_s\":%.0f,"
               "\"e2e_msgs_per_s_min\":%.0f,\"e2e_msgs_per_s_max\":%.0f,"
               "\"lat_p50_ms\":%.2f,\"lat_p99_ms\":%.2f,\"received\":%zu,"
               "\"lost\":%zu}\n",
               b.count, b.size, b.rate, repeat, best->produce_s,
               best->produce_rate, best->e2e_s, best->e2e_rate,
               res[0].e2e_rate, res[repeat - 1].e2e_rate, best->p50,
               best->p99, best->received, best->lost);
    else
        printf("kafka: %zu x %zu B%s: produce %.0f msgs/s, produce->consume "
               "%.0f msgs/s (median of %d, %.0f..%.0f), latency p50 %.1f ms "
               "p99 %.1f ms, lost %zu\n", b.count, b.size,
               b.rate ? " (paced)" : "", best->produce_rate, best->e2e_rate,
               repeat, res[0].e2e_rate, res[repeat - 1].e2e_rate, best->p50,
               best->p99, best->lost);
    rc = 0;
    for (int r = 0; r < repeat; r++)
        if (res[r].lost)
            rc = 1;
out:
    xw_kafka_consumer_free(consumer);
    xw_kafka_producer_free(b.producer);
    free(b.lat_ms);
    return rc;
}
