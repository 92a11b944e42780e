/*
 * reporter_inject - feeds the result-reporter and reads what it publishes
 * (tests/integration/reporter.sh). Every event is produced TWICE with the
 * same event id (a redelivery), the second round in reverse order.
 *
 *   reporter_inject created PKG SRC DST       PackageCreated in 2 chunks:
 *                                             objects o1..o3 + exclusion x1,
 *                                             objects o4..o5 + exclusion x2
 *   reporter_inject started PKG ATT AT OBJ... DeployStarted of attempt ATT,
 *                                             deploy_at AT, total = #OBJ,
 *                                             chunks of 2 objects
 *   reporter_inject results PKG ATT TOTAL OBJ=OUTCOME@AT...
 *                                             ObjectResults (outcome
 *                                             deployed|failed|excluded,
 *                                             occurred_at AT)
 *   reporter_inject audit N WS                N AuditRecorded, the even ones
 *                                             for workspace WS
 *   reporter_inject poison                    undecodable bytes to xw.results
 *   reporter_inject bulk PKG N                a throughput load, each event
 *                                             ONCE: DeployStarted of N
 *                                             objects (chunks of 500), then
 *                                             N results (deployed)
 *   reporter_inject dump TOPIC                every event of xw.TOPIC from the
 *                                             start to the high watermarks,
 *                                             one line each (see print_event)
 *
 * Settings from the environment (XW_KAFKA_BROKERS, XW_TOPIC_PREFIX...).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xw_avro.h"
#include "xw_config.h"
#include "xw_id.h"
#include "xw_kafka.h"
#include "xw_log.h"

#define BASE_AT 1764115200000LL   /* 2025-11-26T00:00:00Z */
#define MAX_EVENTS 256

static const char *env_get(const char *name) { return getenv(name); }

static struct xw_config cfg;
static xw_avro_registry *reg;
static xw_kafka_producer *prod;

/* Encoded events of one command, produced twice. */
static struct {
    enum xw_topic topic;
    char key[128];
    xw_buf buf;
} evs[MAX_EVENTS];
static int nevs;

static void die(const char *what)
{
    fprintf(stderr, "reporter_inject: %s\n", what);
    exit(1);
}

static avro_value_t *event(xw_avro_value *ev, const char *type,
                           const char *id_name, long idx)
{
    const xw_avro_type *t = xw_avro_type_find(reg, type);
    char id[XW_UUID_LEN + 1];

    if (!t || xw_avro_value_init(ev, t) < 0)
        die("avro type");
    xw_uuid_derive("reporter-test", id_name, idx, id);
    if (xw_avro_set_string(&ev->value, "event_id", id) < 0
        || xw_avro_set_string(&ev->value, "actor", "test") < 0
        || xw_avro_set_string(&ev->value, "correlation_id", "test") < 0)
        die("envelope");
    return &ev->value;
}

static void queue(xw_avro_value *ev, enum xw_topic topic, const char *key)
{
    xw_avro_err ae;

    if (nevs == MAX_EVENTS)
        die("too many events");
    xw_buf_init(&evs[nevs].buf, 0);
    if (xw_avro_encode(&ev->value, &evs[nevs].buf, &ae) < 0) {
        fprintf(stderr, "encode: %s\n", ae.msg);
        exit(1);
    }
    evs[nevs].topic = topic;
    snprintf(evs[nevs].key, sizeof evs[nevs].key, "%s", key);
    nevs++;
    xw_avro_value_release(ev);
}

static void produce_all(void)
{
    char err[512];

    for (int round = 0; round < 2; round++)
        for (int k = 0; k < nevs; k++) {
            int i = round ? nevs - 1 - k : k;

            if (xw_kafka_produce(prod, evs[i].topic, evs[i].key,
                                 strlen(evs[i].key), evs[i].buf.data,
                                 evs[i].buf.len, err, sizeof err) < 0)
                die(err);
        }
    if (xw_kafka_flush(prod, 30000, err, sizeof err) < 0)
        die(err);
    printf("produced %d\n", 2 * nevs);
}

static void spec(avro_value_t *rec, const char *id)
{
    if (xw_avro_set_string(rec, "id", id) < 0
        || xw_avro_set_string(rec, "name", id) < 0
        || xw_avro_set_long(rec, "version", 1) < 0
        || xw_avro_set_string(rec, "compute_resource", "mc_dev") < 0
        || xw_avro_set_string(rec, "owner", "alice") < 0)
        die("spec");
}

static void cmd_created(const char *pkg, const char *src, const char *dst)
{
    static const char *const objs[2][3] = { { "o1", "o2", "o3" },
                                            { "o4", "o5", NULL } };
    char name[160];

    snprintf(name, sizeof name, "created/%s", pkg);
    for (int c = 0; c < 2; c++) {
        xw_avro_value ev;
        avro_value_t *v = event(&ev, "PackageCreated", name, c), el;
        char x[8];

        if (xw_avro_set_long(v, "occurred_at", BASE_AT + c) < 0
            || xw_avro_set_string(v, "package_id", pkg) < 0
            || xw_avro_set_string(v, "source_workspace", src) < 0
            || xw_avro_set_string(v, "destination_workspace", dst) < 0
            || xw_avro_set_string(v, "environment", "to-prod") < 0
            || xw_avro_set_string(v, "creator", "dave") < 0
            || xw_avro_set_int(v, "chunk", c) < 0
            || xw_avro_set_int(v, "chunks", 2) < 0)
            die("PackageCreated");
        for (int i = 0; i < 3 && objs[c][i]; i++) {
            if (xw_avro_array_append(v, "objects", &el) < 0)
                die("objects");
            spec(&el, objs[c][i]);
        }
        snprintf(x, sizeof x, "x%d", c + 1);
        if (xw_avro_array_append(v, "excluded", &el) < 0
            || xw_avro_set_string(&el, "object_id", x) < 0
            || xw_avro_set_string(&el, "reason_code", "compute_ignored") < 0
            || xw_avro_set_string(&el, "reason", "on an ignored compute "
                                  "resource") < 0)
            die("excluded");
        queue(&ev, XW_TOPIC_PACKAGES, pkg);
    }
}

static void cmd_started(const char *pkg, int att, long long at, int nobj,
                        char **objs)
{
    int chunks = nobj ? (nobj + 1) / 2 : 1;
    char name[160];

    snprintf(name, sizeof name, "started/%s/%d", pkg, att);
    for (int c = 0; c < chunks; c++) {
        xw_avro_value ev;
        avro_value_t *v = event(&ev, "DeployStarted", name, c), el;

        if (xw_avro_set_long(v, "occurred_at", at - 1000 + c) < 0
            || xw_avro_set_string(v, "package_id", pkg) < 0
            || xw_avro_set_int(v, "attempt", att) < 0
            || xw_avro_set_string(v, "source_workspace", "dev") < 0
            || xw_avro_set_string(v, "destination_workspace", "prod") < 0
            || xw_avro_set_string(v, "environment", "to-prod") < 0
            || xw_avro_set_string(v, "creator", "dave") < 0
            || xw_avro_set_string(v, "executor", att == 1 ? "olga" : "oscar")
               < 0
            || xw_avro_set_long(v, "deploy_at", at) < 0
            || xw_avro_set_int(v, "chunk", c) < 0
            || xw_avro_set_int(v, "chunks", chunks) < 0
            || xw_avro_set_int(v, "total", nobj) < 0)
            die("DeployStarted");
        for (int i = 2 * c; i < nobj && i < 2 * c + 2; i++) {
            if (xw_avro_array_append(v, "objects", &el) < 0)
                die("objects");
            spec(&el, objs[i]);
        }
        queue(&ev, XW_TOPIC_DEPLOY, pkg);
    }
}

static void cmd_results(const char *pkg, int att, int total, int n,
                        char **specs)
{
    for (int i = 0; i < n; i++) {
        char obj[64], outcome[16], name[200];
        long long at;
        xw_avro_value ev;
        avro_value_t *v;

        if (sscanf(specs[i], "%63[^=]=%15[^@]@%lld", obj, outcome, &at) != 3)
            die("result spec: OBJ=OUTCOME@AT");
        snprintf(name, sizeof name, "result/%s/%d/%s", pkg, att, obj);
        v = event(&ev, "ObjectResult", name, 0);
        if (xw_avro_set_long(v, "occurred_at", at) < 0
            || xw_avro_set_string(v, "package_id", pkg) < 0
            || xw_avro_set_int(v, "attempt", att) < 0
            || xw_avro_set_string(v, "source_workspace", "dev") < 0
            || xw_avro_set_string(v, "destination_workspace", "prod") < 0
            || xw_avro_set_int(v, "total", total) < 0
            || xw_avro_set_string(v, "object_id", obj) < 0
            || xw_avro_set_string(v, "object_name", obj) < 0
            || xw_avro_set_long(v, "version", 1) < 0
            || xw_avro_set_enum(v, "outcome", outcome) < 0)
            die("ObjectResult");
        if (strcmp(outcome, "failed") == 0
            && (xw_avro_set_string(v, "reason_code", "datasource_unmapped") < 0
                || xw_avro_set_string(v, "reason", "data source mysql_x is "
                                      "not mapped") < 0))
            die("reason");
        if (strcmp(outcome, "deployed") == 0
            && (xw_avro_set_long(v, "effective_at", at + 86400000LL) < 0
                || xw_avro_set_string(v, "effective_date", "2025-11-27") < 0
                || xw_avro_set_string(v, "timing_rule", "next_day") < 0))
            die("effective");
        queue(&ev, XW_TOPIC_RESULTS, pkg);
    }
}

static void cmd_audit(int n, const char *ws)
{
    for (int i = 0; i < n; i++) {
        xw_avro_value ev;
        avro_value_t *v = event(&ev, "AuditRecorded", "audit", i);
        char req[32];

        snprintf(req, sizeof req, "req-%d", i);
        if (xw_avro_set_long(v, "occurred_at", BASE_AT + i) < 0
            || xw_avro_set_string(v, "request_id", req) < 0
            || xw_avro_set_string(v, "method", "POST") < 0
            || xw_avro_set_string(v, "path", "/v1/packages/p/deploy") < 0
            || xw_avro_set_string(v, "workspace", i % 2 == 0 ? ws : NULL) < 0
            || xw_avro_set_int(v, "status", 202) < 0
            || xw_avro_set_string(v, "outcome", "accepted") < 0)
            die("AuditRecorded");
        queue(&ev, XW_TOPIC_AUDIT, i % 2 == 0 ? ws : "-");
    }
}

/* Produces one event now (bulk mode: no queue, no second round). */
static void produce_now(xw_avro_value *ev, enum xw_topic topic,
                        const char *key, xw_buf *buf)
{
    char err[512];
    xw_avro_err ae;

    if (xw_avro_encode(&ev->value, buf, &ae) < 0)
        die(ae.msg);
    if (xw_kafka_produce(prod, topic, key, strlen(key), buf->data, buf->len,
                         err, sizeof err) < 0)
        die(err);
}

static void cmd_bulk(const char *pkg, int n)
{
    xw_buf buf = XW_BUF_INIT;
    xw_avro_value ev;
    avro_value_t *v, el;
    char name[160], obj[32], err[512];
    int chunks = n ? (n + 499) / 500 : 1;

    snprintf(name, sizeof name, "bulk-started/%s", pkg);
    for (int c = 0; c < chunks; c++) {
        v = event(&ev, "DeployStarted", name, c);
        if (xw_avro_set_long(v, "occurred_at", BASE_AT) < 0
            || xw_avro_set_string(v, "package_id", pkg) < 0
            || xw_avro_set_int(v, "attempt", 1) < 0
            || xw_avro_set_string(v, "source_workspace", "dev") < 0
            || xw_avro_set_string(v, "destination_workspace", "prod") < 0
            || xw_avro_set_string(v, "environment", "to-prod") < 0
            || xw_avro_set_string(v, "creator", "dave") < 0
            || xw_avro_set_string(v, "executor", "olga") < 0
            || xw_avro_set_long(v, "deploy_at", BASE_AT) < 0
            || xw_avro_set_int(v, "chunk", c) < 0
            || xw_avro_set_int(v, "chunks", chunks) < 0
            || xw_avro_set_int(v, "total", n) < 0)
            die("DeployStarted");
        for (int i = c * 500; i < n && i < (c + 1) * 500; i++) {
            snprintf(obj, sizeof obj, "n-%d", i);
            if (xw_avro_array_append(v, "objects", &el) < 0)
                die("objects");
            spec(&el, obj);
        }
        produce_now(&ev, XW_TOPIC_DEPLOY, pkg, &buf);
        xw_avro_value_release(&ev);
    }
    snprintf(name, sizeof name, "bulk-result/%s", pkg);
    v = event(&ev, "ObjectResult", name, 0);
    for (int i = 0; i < n; i++) {
        char id[XW_UUID_LEN + 1];

        snprintf(obj, sizeof obj, "n-%d", i);
        xw_uuid_derive("reporter-test", name, i, id);
        if (xw_avro_set_string(v, "event_id", id) < 0
            || xw_avro_set_long(v, "occurred_at", BASE_AT + 1000 + i) < 0
            || xw_avro_set_string(v, "package_id", pkg) < 0
            || xw_avro_set_int(v, "attempt", 1) < 0
            || xw_avro_set_string(v, "source_workspace", "dev") < 0
            || xw_avro_set_string(v, "destination_workspace", "prod") < 0
            || xw_avro_set_int(v, "total", n) < 0
            || xw_avro_set_string(v, "object_id", obj) < 0
            || xw_avro_set_string(v, "object_name", obj) < 0
            || xw_avro_set_long(v, "version", 1) < 0
            || xw_avro_set_enum(v, "outcome", "deployed") < 0
            || xw_avro_set_long(v, "effective_at", BASE_AT + 86400000LL) < 0
            || xw_avro_set_string(v, "effective_date", "2025-11-27") < 0
            || xw_avro_set_string(v, "timing_rule", "next_day") < 0)
            die("ObjectResult");
        produce_now(&ev, XW_TOPIC_RESULTS, pkg, &buf);
    }
    xw_avro_value_release(&ev);
    if (xw_kafka_flush(prod, 60000, err, sizeof err) < 0)
        die(err);
    xw_buf_release(&buf);
    printf("produced %d\n", n + chunks);
}

/* ---- dump -------------------------------------------------------------- */

static const char *str(const avro_value_t *v, const char *f)
{
    const char *s = NULL;

    return xw_avro_get_string(v, f, &s, NULL) == 0 ? s : "-";
}

static long long lng(const avro_value_t *v, const char *f)
{
    int64_t x = 0;
    int32_t y = 0;

    if (xw_avro_get_long(v, f, &x) == 0)
        return x;
    if (xw_avro_get_int(v, f, &y) == 0)
        return y;
    return -1;
}

static void print_event(const xw_avro_type *t, const avro_value_t *v)
{
    const char *e = NULL;

    if (strcmp(t->short_name, "PackageFinished") == 0) {
        xw_avro_get_enum(v, "status", &e);
        printf("PackageFinished %s %lld %s total=%lld deployed=%lld "
               "failed=%lld excluded=%lld src=%s dst=%s env=%s creator=%s "
               "executor=%s started=%lld finished=%lld duration=%lld id=%s\n",
               str(v, "package_id"), lng(v, "attempt"), e,
               lng(v, "total"), lng(v, "deployed"), lng(v, "failed"),
               lng(v, "excluded"), str(v, "source_workspace"),
               str(v, "destination_workspace"), str(v, "environment"),
               str(v, "creator"), str(v, "executor"), lng(v, "started_at"),
               lng(v, "finished_at"), lng(v, "duration_ms"),
               str(v, "event_id"));
    } else if (strcmp(t->short_name, "ObjectResult") == 0) {
        xw_avro_get_enum(v, "outcome", &e);
        printf("ObjectResult %s %lld %s %s id=%s\n", str(v, "package_id"),
               lng(v, "attempt"), str(v, "object_id"), e, str(v, "event_id"));
    } else if (strcmp(t->short_name, "DeadLetter") == 0) {
        printf("DeadLetter %s %s %s\n", str(v, "service"),
               str(v, "source_topic"), str(v, "error_code"));
    } else {
        printf("%s\n", t->short_name);
    }
}

static int cmd_dump(const char *suffix)
{
    const char *prefix = xw_config_str(&cfg, "XW_TOPIC_PREFIX");
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_partition_list_t *parts;
    xw_avro_decoder *dec;
    int64_t his[64] = { 0 }, deadline = xw_mono_ms() + 15000;
    char topic[128], err[512], gid[64], id[XW_UUID_LEN + 1];
    int left = 0;

    snprintf(topic, sizeof topic, "%s%s", prefix, suffix);
    xw_uuid_v4(id);
    snprintf(gid, sizeof gid, "dump-%s", id);
    conf = xw_kafka_conf_new(&cfg, err, sizeof err);
    if (!conf || xw_kafka_conf_set(conf, "group.id", gid, err, sizeof err)
        || xw_kafka_conf_set(conf, "enable.auto.commit", "false", err,
                             sizeof err))
        die(err);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk)
        die(err);
    if (rd_kafka_metadata(rk, 1, NULL, &md, 10000))
        die("metadata");
    parts = rd_kafka_topic_partition_list_new(8);
    for (int i = 0; i < md->topic_cnt; i++) {
        if (strcmp(md->topics[i].topic, topic) != 0)
            continue;
        for (int p = 0; p < md->topics[i].partition_cnt && p < 64; p++) {
            int32_t pid = md->topics[i].partitions[p].id;
            int64_t lo, hi;

            if (pid < 0 || pid >= 64
                || rd_kafka_query_watermark_offsets(rk, topic, pid, &lo, &hi,
                                                    10000))
                die("watermarks");
            his[pid] = hi;
            if (hi > lo) {
                rd_kafka_topic_partition_list_add(parts, topic, pid)->offset =
                    lo;
                left++;
            }
        }
    }
    rd_kafka_metadata_destroy(md);
    if (xw_avro_decoder_new(&dec, reg) < 0)
        die("decoder");
    if (left && rd_kafka_assign(rk, parts))
        die("assign");
    while (left > 0 && xw_mono_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        const xw_avro_type *t;
        avro_value_t *v;
        xw_avro_err ae;

        if (!m)
            continue;
        if (!m->err) {
            if (xw_avro_decode(dec, m->payload, m->len, &t, &v, &ae) == 0)
                print_event(t, v);
            else
                printf("undecodable\n");
            if (m->offset + 1 == his[m->partition])
                left--;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    xw_avro_decoder_free(dec);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (left)
        die("dump: timed out before the high watermarks");
    return 0;
}

int main(int argc, char **argv)
{
    const struct xw_config_def *tables[] = { xw_config_common };
    size_t counts[] = { xw_config_common_count };
    char err[512];

    xw_log_init("reporter_inject", XW_WARN);
    if (argc < 2 || xw_config_load(&cfg, tables, counts, 1, env_get, err,
                                   sizeof err) < 0) {
        fprintf(stderr, "usage: see the top of reporter_inject.c\n");
        return 2;
    }
    if (xw_avro_registry_open(&reg, err, sizeof err) < 0)
        die(err);
    if (strcmp(argv[1], "dump") == 0 && argc == 3)
        return cmd_dump(argv[2]);
    prod = xw_kafka_producer_new(&cfg, "reporter_inject", err, sizeof err);
    if (!prod)
        die(err);
    if (strcmp(argv[1], "created") == 0 && argc == 5) {
        cmd_created(argv[2], argv[3], argv[4]);
    } else if (strcmp(argv[1], "started") == 0 && argc >= 5) {
        cmd_started(argv[2], atoi(argv[3]), atoll(argv[4]), argc - 5,
                    argv + 5);
    } else if (strcmp(argv[1], "results") == 0 && argc >= 6) {
        cmd_results(argv[2], atoi(argv[3]), atoi(argv[4]), argc - 5,
                    argv + 5);
    } else if (strcmp(argv[1], "audit") == 0 && argc == 4) {
        cmd_audit(atoi(argv[2]), argv[3]);
    } else if (strcmp(argv[1], "bulk") == 0 && argc == 4) {
        cmd_bulk(argv[2], atoi(argv[3]));
        goto out;
    } else if (strcmp(argv[1], "poison") == 0 && argc == 2) {
        static const char junk[] = "\xC3\x01not avro at all";

        if (xw_kafka_produce(prod, XW_TOPIC_RESULTS, "p", 1, junk,
                             sizeof junk - 1, err, sizeof err) < 0
            || xw_kafka_flush(prod, 30000, err, sizeof err) < 0)
            die(err);
        printf("produced 1\n");
        goto out;
    } else {
        fprintf(stderr, "usage: see the top of reporter_inject.c\n");
        return 2;
    }
    produce_all();
out:
    xw_kafka_producer_free(prod);
    for (int i = 0; i < nevs; i++)
        xw_buf_release(&evs[i].buf);
    xw_avro_registry_free(reg);
    return 0;
}
