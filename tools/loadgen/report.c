/*
 * report.c - phase summaries, the derived figures (cost per object,
 * ratios to the ceilings, linearity, the targets of issue 7) and the
 * table printed at the end of a run. Everything printed is also in the
 * JSON document.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"

/* Targets of issue 7. */
#define TARGET_OBJECTS_PER_S 20000.0
#define TARGET_P99_MS 250.0
#define TARGET_RSS_KB (30.0 * 1024)

static const char *const services[] = {
    "submit-listener", "packager", "mapper", "deployer", "result-reporter",
};
#define NSERVICES (sizeof services / sizeof services[0])

static const char *const procs_all[] = {
    "submit-listener", "packager", "mapper", "deployer", "result-reporter",
    "broker", "redis-server",
};
#define NPROCS (sizeof procs_all / sizeof procs_all[0])

double lg_pct(const double *v, size_t n, double p)
{
    size_t i;

    if (n == 0)
        return 0;
    i = (size_t)ceil(p / 100.0 * (double)n);
    if (i > 0)
        i--;
    return v[i < n ? i : n - 1];
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* {"p50","p95","p99","max","mean","n"} of v[0..n) (sorted in place). */
static json_t *dist(double *v, size_t n)
{
    double sum = 0;

    for (size_t i = 0; i < n; i++)
        sum += v[i];
    qsort(v, n, sizeof *v, cmp_double);
    return json_pack("{s:f, s:f, s:f, s:f, s:f, s:I}", "p50", lg_pct(v, n, 50),
                     "p95", lg_pct(v, n, 95), "p99", lg_pct(v, n, 99), "max",
                     n ? v[n - 1] : 0.0, "mean", n ? sum / (double)n : 0.0,
                     "n", (json_int_t)n);
}

static int cmp_interval(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;

    return (x[0] > y[0]) - (x[0] < y[0]);
}

/* Seconds during which at least one package was between deploy and final
 * (the union of the intervals). */
static double deploy_busy_s(const struct lg_pkg *pkgs, size_t n)
{
    int64_t (*iv)[2] = calloc(n ? n : 1, sizeof *iv);
    int64_t total = 0, cur_s = 0, cur_e = 0;
    size_t m = 0;

    if (!iv)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (pkgs[i].done) {
            iv[m][0] = pkgs[i].t_deploy;
            iv[m][1] = pkgs[i].t_final;
            m++;
        }
    qsort(iv, m, sizeof *iv, cmp_interval);
    for (size_t i = 0; i < m; i++) {
        if (i == 0 || iv[i][0] > cur_e) {
            total += cur_e - cur_s;
            cur_s = iv[i][0];
            cur_e = iv[i][1];
        } else if (iv[i][1] > cur_e) {
            cur_e = iv[i][1];
        }
    }
    total += cur_e - cur_s;
    free(iv);
    return (double)total / 1e9;
}

static double num(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static double metric(const json_t *procs, const char *proc, const char *name)
{
    return num(json_object_get(json_object_get(procs, proc), "metrics"), name);
}

/* {svc: metric per object, ..., "total": sum}. */
static json_t *per_object(const json_t *procs, const char *name,
                          double objects)
{
    json_t *o = json_object();
    double total = 0;

    for (size_t i = 0; i < NSERVICES; i++) {
        double v = metric(procs, services[i], name) / objects;

        total += v;
        json_object_set_new(o, services[i], json_real(v));
    }
    json_object_set_new(o, "total", json_real(total));
    return o;
}

/* {svc: {handle, batch_end, flush, total}}: the share of the phase's
 * wall time each consumer loop spent in each part (xw_kafka's loop
 * counters). A loop near 1.0 is the pipeline's serial bottleneck even when
 * its CPU is low: the time may be waits for Redis or for acknowledgements. */
static json_t *loop_busy(const json_t *procs, double seconds)
{
    static const char *const parts[][2] = {
        { "handle", "xw_kafka_loop_handle_us_total" },
        { "batch_end", "xw_kafka_loop_batch_end_us_total" },
        { "flush", "xw_kafka_loop_flush_us_total" },
    };
    json_t *o = json_object();

    if (seconds <= 0)
        return o;
    for (size_t i = 0; i < NSERVICES; i++) {
        json_t *b = json_object();
        double total = 0;

        for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
            double v = metric(procs, services[i], parts[k][1]) / 1e6
                       / seconds;

            total += v;
            json_object_set_new(b, parts[k][0], json_real(v));
        }
        json_object_set_new(b, "total", json_real(total));
        json_object_set_new(o, services[i], b);
    }
    return o;
}

struct cmd_cost {
    const char *name;
    double calls, usec;
};

static int cmp_cmd(const void *a, const void *b)
{
    double x = ((const struct cmd_cost *)a)->usec;
    double y = ((const struct cmd_cost *)b)->usec;

    return (x < y) - (x > y);
}

static json_t *cost(const json_t *delta, double objects)
{
    const json_t *procs = json_object_get(delta, "procs");
    const json_t *redis = json_object_get(delta, "redis");
    const json_t *cmds = json_object_get(redis, "cmd");
    json_t *c = json_object(), *cpu = json_object(), *cpus = json_object();
    json_t *top = json_array();
    struct cmd_cost *cc;
    double total = 0;
    size_t ncmd = 0;
    const char *k;
    json_t *v;

    if (objects <= 0)
        objects = 1;
    for (size_t i = 0; i < NPROCS; i++) {
        double s = num(json_object_get(procs, procs_all[i]), "cpu_s");

        total += s;
        json_object_set_new(cpus, procs_all[i], json_real(s));
        json_object_set_new(cpu, procs_all[i], json_real(s * 1e6 / objects));
    }
    json_object_set_new(cpu, "total", json_real(total * 1e6 / objects));
    json_object_set_new(cpu, "loadgen", json_real(
        num(json_object_get(delta, "loadgen"), "cpu_s") * 1e6 / objects));
    json_object_set_new(c, "cpu_us_per_object", cpu);
    json_object_set_new(c, "cpu_s", cpus);
    json_object_set_new(c, "kafka_produced_per_object",
                        per_object(procs, "xw_kafka_produced_total", objects));
    json_object_set_new(c, "kafka_consumed_per_object",
                        per_object(procs, "xw_kafka_consumed_total", objects));
    json_object_set_new(c, "kafka_bytes_per_object",
                        per_object(procs, "xw_kafka_produced_bytes_total",
                                   objects));
    json_object_set_new(c, "kafka_batches_per_object",
                        per_object(procs, "xw_kafka_consumer_batches_total",
                                   objects));
    json_object_set_new(c, "redis_round_trips_per_object",
                        per_object(procs, "xw_redis_round_trips_total",
                                   objects));
    json_object_set_new(c, "redis_commands_per_object",
                        per_object(procs, "xw_redis_commands_total", objects));
    json_object_set_new(c, "redis_server_calls_per_object",
                        json_real(num(redis, "calls") / objects));
    json_object_set_new(c, "redis_server_usec_per_object",
                        json_real(num(redis, "usec") / objects));
    /* Where redis-server's CPU goes besides commands: its AOF rewrites
     * (forked children, counted once reaped) and what it keeps. */
    json_object_set_new(c, "redis_aof_rewrites",
                        json_real(num(redis, "aof_rewrites")));
    json_object_set_new(c, "redis_rewrite_cpu_us_per_object", json_real(
        num(json_object_get(procs, "redis-server"), "children_cpu_s") * 1e6
        / objects));
    json_object_set_new(c, "redis_memory_bytes_per_object", json_real(
        (num(redis, "used_memory") - num(redis, "used_memory_before"))
        / objects));
    cc = calloc(json_object_size(cmds) + 1, sizeof *cc);
    if (cc) {
        json_object_foreach((json_t *)cmds, k, v) {
            cc[ncmd].name = k;
            cc[ncmd].calls = num(v, "calls");
            cc[ncmd].usec = num(v, "usec");
            ncmd++;
        }
        qsort(cc, ncmd, sizeof *cc, cmp_cmd);
        for (size_t i = 0; i < ncmd && i < 10; i++)
            json_array_append_new(top, json_pack("{s:s, s:f, s:f}", "cmd",
                cc[i].name, "calls_per_object", cc[i].calls / objects,
                "usec_per_object", cc[i].usec / objects));
        free(cc);
    }
    json_object_set_new(c, "redis_top_commands", top);
    json_object_set_new(c, "loop_busy",
                        loop_busy(procs, num(delta, "seconds")));
    return c;
}

json_t *lg_phase_summary(const struct lg_phase_spec *spec,
                         const struct lg_pkg *pkgs, size_t n,
                         const json_t *delta, double wall_s)
{
    double *dep = calloc(n ? n : 1, sizeof *dep);
    double *e2e = calloc(n ? n : 1, sizeof *e2e);
    double *sch = calloc(n ? n : 1, sizeof *sch);
    size_t m = 0, ok = 0, failed = 0, errors = 0, late = 0;
    double objects = 0, busy;
    json_t *s;

    if (!dep || !e2e || !sch) {
        free(dep);
        free(e2e);
        free(sch);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const struct lg_pkg *p = &pkgs[i];

        if (!p->done) {
            errors++;
            continue;
        }
        if (p->ok) {
            ok++;
            objects += (double)spec->size;
        } else {
            failed++;
        }
        dep[m] = (double)(p->t_final - p->t_deploy) / 1e6;
        e2e[m] = (double)(p->t_final - p->t_submit) / 1e6;
        sch[m] = (double)(p->t_final - (p->t_sched ? p->t_sched
                                                   : p->t_submit)) / 1e6;
        if (p->t_sched && p->t_submit - p->t_sched > 10 * 1000000LL)
            late++;
        m++;
    }
    busy = deploy_busy_s(pkgs, n);
    s = json_pack("{s:s, s:s, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:f, s:f, "
                  "s:f, s:f}",
                  "name", spec->name,
                  "kind", spec->kind == LG_RATE ? "rate" : "saturation",
                  "size", (json_int_t)spec->size,
                  "packages", (json_int_t)n,
                  "threads", (json_int_t)spec->threads,
                  "objects", objects,
                  "packages_ok", (json_int_t)ok,
                  "packages_failed", (json_int_t)failed,
                  "packages_error", (json_int_t)errors,
                  "wall_s", wall_s,
                  "objects_per_s", wall_s > 0 ? objects / wall_s : 0.0,
                  "deploy_busy_s", busy,
                  "deploy_objects_per_s", busy > 0 ? objects / busy : 0.0);
    if (spec->kind == LG_RATE) {
        json_object_set_new(s, "offered_objects_per_s", json_real(spec->rate));
        json_object_set_new(s, "offered_seconds", json_real(spec->seconds));
        json_object_set_new(s, "late_starts", json_integer((json_int_t)late));
        json_object_set_new(s, "sched_to_final_ms", dist(sch, m));
    }
    json_object_set_new(s, "deploy_to_final_ms", dist(dep, m));
    json_object_set_new(s, "submit_to_final_ms", dist(e2e, m));
    json_object_set_new(s, "cost", cost(delta, (double)(n * spec->size)));
    json_object_set(s, "delta", (json_t *)delta);
    free(dep);
    free(e2e);
    free(sch);
    return s;
}

/* Sum over the stack's processes of a call_cost() result. */
static double call_us(const json_t *cc)
{
    const json_t *per = json_object_get(cc, "cpu_us_per_call");
    double us = 0;

    for (size_t i = 0; i < NPROCS; i++)
        us += num(per, procs_all[i]);
    return us;
}

void lg_phase_add_poll_cost(json_t *sum, const json_t *pc)
{
    json_t *c = json_object_get(sum, "cost");
    json_t *cpu = json_object_get(c, "cpu_us_per_object");
    const json_t *get = json_object_get(pc, "get_package");
    const json_t *list = json_object_get(pc, "list");
    double objects = num(sum, "packages") * num(sum, "size");
    double get_us = call_us(get), list_us = call_us(list), obs;
    double listed = num(list, "items_listed");
    /* --poll-packages 2 polls the summary form; the one result read per
     * package is the full answer either way. */
    double poll_us = num(sum, "poll_packages") == 2
        ? call_us(json_object_get(pc, "get_summary")) : get_us;

    if (objects <= 0)
        return;
    /* A list call costs about linearly in the packages it shows. */
    if (listed > 0)
        list_us = list_us * num(sum, "watch_mean_items") / listed;
    obs = (poll_us * num(sum, "polls") + get_us * num(sum, "result_gets")
           + list_us * num(sum, "watch_calls")) / objects;
    json_object_set(sum, "poll_cost", (json_t *)pc);
    json_object_set_new(c, "observer_cpu_us_per_object", json_real(obs));
    json_object_set_new(c, "cpu_us_per_object_without_observer",
                        json_real(num(cpu, "total") > obs
                                  ? num(cpu, "total") - obs : 0));
}

/* ---- derived figures -------------------------------------------------------- */

/* The ceiling of a redis-benchmark row: rps of (test, pipeline, clients). */
static double redis_ceiling(const json_t *ceil, const char *test, int pipe,
                            int clients)
{
    const json_t *r;
    size_t i;

    json_array_foreach(json_object_get(ceil, "redis"), i, r) {
        const char *t = json_string_value(json_object_get(r, "test"));

        if (t && strcmp(t, test) == 0 && num(r, "pipeline") == pipe
            && num(r, "clients") == clients)
            return num(r, "rps");
    }
    return 0;
}

/* The saturation phase of packages of at least min_size with the highest
 * throughput (borrowed) or NULL. */
static const json_t *best_phase(const json_t *phases, size_t min_size)
{
    const json_t *best = NULL, *p;
    size_t i;

    json_array_foreach(phases, i, p) {
        const char *kind = json_string_value(json_object_get(p, "kind"));

        if (strcmp(kind, "saturation") != 0
            || num(p, "size") < (double)min_size
            || num(p, "packages_ok") == 0)
            continue;
        if (!best || num(p, "objects_per_s") > num(best, "objects_per_s"))
            best = p;
    }
    return best;
}

static double cost_total(const json_t *phase, const char *what)
{
    return num(json_object_get(json_object_get(phase, "cost"), what), "total");
}

static json_t *ratios(const json_t *doc, const json_t *phase)
{
    const json_t *ceil = json_object_get(doc, "ceilings");
    const json_t *c = json_object_get(phase, "cost");
    double ops = num(phase, "objects_per_s");
    double kmsg = cost_total(phase, "kafka_produced_per_object");
    double rt = cost_total(phase, "redis_round_trips_per_object");
    double cmds = cost_total(phase, "redis_commands_per_object");
    double k_ceil = num(json_object_get(ceil, "kafka"), "e2e_msgs_per_s");
    double r_p1 = redis_ceiling(ceil, "GET", 1, 50);
    double r_p16 = redis_ceiling(ceil, "HSET", 16, 50);
    double r_c1 = redis_ceiling(ceil, "GET", 1, 1);
    json_t *o = json_object(), *svc = json_object();

    json_object_set_new(o, "phase", json_string(json_string_value(
        json_object_get(phase, "name"))));
    json_object_set_new(o, "objects_per_s", json_real(ops));
    json_object_set_new(o, "kafka_msgs_per_object", json_real(kmsg));
    json_object_set_new(o, "kafka_msgs_per_s", json_real(ops * kmsg));
    json_object_set_new(o, "kafka_ceiling_msgs_per_s", json_real(k_ceil));
    json_object_set_new(o, "kafka_ratio",
                        json_real(k_ceil > 0 ? ops * kmsg / k_ceil : 0));
    json_object_set_new(o, "objects_per_s_if_kafka_bound",
                        json_real(kmsg > 0 ? k_ceil / kmsg : 0));
    json_object_set_new(o, "redis_round_trips_per_object", json_real(rt));
    json_object_set_new(o, "redis_round_trips_per_s", json_real(ops * rt));
    json_object_set_new(o, "redis_ceiling_round_trips_per_s", json_real(r_p1));
    json_object_set_new(o, "redis_round_trip_ratio",
                        json_real(r_p1 > 0 ? ops * rt / r_p1 : 0));
    json_object_set_new(o, "redis_commands_per_object", json_real(cmds));
    json_object_set_new(o, "redis_ceiling_pipelined_cmds_per_s",
                        json_real(r_p16));
    json_object_set_new(o, "redis_command_ratio",
                        json_real(r_p16 > 0 ? ops * cmds / r_p16 : 0));
    json_object_set_new(o, "objects_per_s_if_redis_bound",
                        json_real(rt > 0 ? r_p1 / rt : 0));
    /* One blocking connection per service: its round trips per object
     * against one connection's round-trip rate. */
    for (size_t i = 0; i < NSERVICES; i++) {
        double srt = num(json_object_get(c, "redis_round_trips_per_object"),
                         services[i]);

        json_object_set_new(svc, services[i],
                            json_real(srt > 0 && r_c1 > 0 ? r_c1 / srt : 0));
    }
    json_object_set_new(o, "objects_per_s_if_one_connection_bound", svc);
    json_object_set_new(o, "redis_ceiling_one_connection_rps",
                        json_real(r_c1));
    return o;
}

static json_t *linearity(const json_t *phases)
{
    json_t *rows = json_array();
    const json_t *p;
    size_t i;

    json_array_foreach(phases, i, p) {
        const char *name = json_string_value(json_object_get(p, "name"));
        const json_t *cpu = json_object_get(json_object_get(p, "cost"),
                                            "cpu_us_per_object");

        if (strncmp(name, "lin", 3) != 0)
            continue;
        json_array_append_new(rows, json_pack(
            "{s:s, s:f, s:f, s:f, s:O}", "phase", name, "objects",
            num(p, "objects"), "objects_per_s", num(p, "objects_per_s"),
            "cpu_us_per_object_total", num(cpu, "total"),
            "cpu_us_per_object", cpu));
    }
    if (json_array_size(rows) > 1) {
        double first = num(json_array_get(rows, 0), "cpu_us_per_object_total");
        const json_t *r;

        json_array_foreach(rows, i, r)
            json_object_set_new((json_t *)r, "relative_to_first",
                json_real(first > 0 ? num(r, "cpu_us_per_object_total")
                                      / first : 0));
    }
    return rows;
}

static json_t *targets(const json_t *doc, const json_t *best)
{
    const json_t *phases = json_object_get(doc, "phases"), *p;
    const json_t *lat = NULL;
    const json_t *mem = json_object_get(doc, "peak_rss_kb");
    json_t *t = json_object(), *m = json_object();
    double worst = 0;
    size_t i;

    json_array_foreach(phases, i, p) {
        const char *kind = json_string_value(json_object_get(p, "kind"));

        if (strcmp(kind, "rate") == 0 && num(p, "size") == 100)
            lat = p;
    }
    json_object_set_new(t, "throughput", json_pack("{s:f, s:f, s:s?, s:b}",
        "target_objects_per_s", TARGET_OBJECTS_PER_S, "measured",
        best ? num(best, "objects_per_s") : 0.0, "phase",
        best ? json_string_value(json_object_get(best, "name")) : NULL,
        "met", best && num(best, "objects_per_s") >= TARGET_OBJECTS_PER_S));
    if (lat) {
        double p99 = num(json_object_get(lat, "deploy_to_final_ms"), "p99");

        json_object_set_new(t, "latency", json_pack(
            "{s:f, s:f, s:f, s:s, s:b}", "target_p99_ms", TARGET_P99_MS,
            "offered_objects_per_s", num(lat, "offered_objects_per_s"),
            "measured_p99_ms", p99, "phase",
            json_string_value(json_object_get(lat, "name")), "met",
            p99 < TARGET_P99_MS && num(lat, "packages_ok") > 0));
    }
    for (size_t k = 0; k < NSERVICES; k++) {
        double v = num(mem, services[k]);

        json_object_set_new(m, services[k], json_real(v));
        if (v > worst)
            worst = v;
    }
    json_object_set_new(t, "memory", json_pack("{s:f, s:f, s:o, s:b}",
        "target_kb", TARGET_RSS_KB, "worst_kb", worst, "peak_rss_kb", m,
        "met", worst > 0 && worst < TARGET_RSS_KB));
    return t;
}

/* ---- the table ----------------------------------------------------------------- */

static void line(void)
{
    printf("-----------------------------------------------------------------"
           "---------------------------------\n");
}

static void print_phases(const json_t *phases)
{
    const json_t *p;
    size_t i;

    printf("%-9s %-11s %-10s %7s %7s %7s %20s %7s %6s %6s %4s\n", "phase",
           "pkgs x size", "load", "objects", "obj/s", "deploy",
           "deploy->final ms", "e2e p99", "CPU", "RSS", "fail");
    printf("%-9s %-11s %-10s %7s %7s %7s %20s %7s %6s %6s %4s\n", "", "", "",
           "", "e2e", "obj/s", "p50 / p95 / p99", "ms", "us/obj", "MB", "");
    json_array_foreach(phases, i, p) {
        const json_t *d = json_object_get(p, "deploy_to_final_ms");
        const json_t *e = json_object_get(p, "submit_to_final_ms");
        char shape[32], load[32], lat[40];

        snprintf(shape, sizeof shape, "%.0f x %.0f", num(p, "packages"),
                 num(p, "size"));
        if (strcmp(json_string_value(json_object_get(p, "kind")), "rate") == 0)
            snprintf(load, sizeof load, "%.0f obj/s", num(p,
                     "offered_objects_per_s"));
        else
            snprintf(load, sizeof load, "%.0f conc", num(p, "threads"));
        const json_t *procs = json_object_get(json_object_get(p, "delta"),
                                              "procs");
        double rss = 0;

        for (size_t k = 0; k < NSERVICES; k++) {
            double kb = num(json_object_get(procs, services[k]), "hwm_kb");

            if (kb > rss)
                rss = kb;
        }
        snprintf(lat, sizeof lat, "%.0f / %.0f / %.0f", num(d, "p50"),
                 num(d, "p95"), num(d, "p99"));
        printf("%-9s %-11s %-10s %7.0f %7.0f %7.0f %20s %7.0f %6.0f %6.1f "
               "%4.0f\n",
               json_string_value(json_object_get(p, "name")), shape, load,
               num(p, "objects"), num(p, "objects_per_s"),
               num(p, "deploy_objects_per_s"), lat, num(e, "p99"),
               num(json_object_get(json_object_get(p, "cost"),
                                   "cpu_us_per_object"), "total"),
               rss / 1024,
               num(p, "packages_failed") + num(p, "packages_error"));
    }
}

static void print_cost(const json_t *phase)
{
    const json_t *c = json_object_get(phase, "cost");
    const json_t *cpu = json_object_get(c, "cpu_us_per_object");
    const json_t *kp = json_object_get(c, "kafka_produced_per_object");
    const json_t *kc = json_object_get(c, "kafka_consumed_per_object");
    const json_t *kb = json_object_get(c, "kafka_batches_per_object");
    const json_t *rt = json_object_get(c, "redis_round_trips_per_object");
    const json_t *rc = json_object_get(c, "redis_commands_per_object");
    const json_t *procs = json_object_get(json_object_get(phase, "delta"),
                                          "procs");
    const json_t *pc = json_object_get(phase, "poll_cost");
    const json_t *top = json_object_get(c, "redis_top_commands"), *t;
    size_t i;

    printf("cost per object in phase %s (%.0f objects):\n",
           json_string_value(json_object_get(phase, "name")),
           num(phase, "packages") * num(phase, "size"));
    printf("  %-16s %10s %9s %9s %9s %9s %9s %8s\n", "process",
           "CPU us/obj", "kafka out", "kafka in", "obj/batch", "redis RT",
           "redis cmd", "peak MB");
    for (size_t k = 0; k < NPROCS; k++) {
        const char *n = procs_all[k];

        printf("  %-16s %10.1f", n, num(cpu, n));
        if (k < NSERVICES) {
            printf(" %9.2f %9.2f", num(kp, n), num(kc, n));
            if (num(kb, n) > 0)
                printf(" %9.0f", 1 / num(kb, n));
            else
                printf(" %9s", "-");
            printf(" %9.2f %9.2f", num(rt, n), num(rc, n));
        } else {
            printf(" %9s %9s %9s %9s %9s", "", "", "", "", "");
        }
        printf(" %8.1f\n", num(json_object_get(procs, n), "hwm_kb") / 1024);
    }
    printf("  %-16s %10.1f %9.2f %9.2f %9s %9.2f %9.2f\n", "total",
           num(cpu, "total"), num(kp, "total"), num(kc, "total"), "",
           num(rt, "total"), num(rc, "total"));
    printf("  %-16s %10.1f   (not in the total)\n", "load generator",
           num(cpu, "loadgen"));
    if (pc) {
        const json_t *g = json_object_get(json_object_get(pc, "get_package"),
                                          "cpu_us_per_call");

        printf("  observing (%.0f list calls, %.0f GET /v1/packages/{id}; "
               "one GET of this package costs %.0f us: listener %.0f, redis "
               "%.0f): %.1f us/object of the total; without it %.1f "
               "us/object\n", num(phase, "watch_calls"),
               num(phase, "result_gets") + num(phase, "polls"),
               num(g, "submit-listener") + num(g, "redis-server"),
               num(g, "submit-listener"), num(g, "redis-server"),
               num(c, "observer_cpu_us_per_object"),
               num(c, "cpu_us_per_object_without_observer"));
    }
    printf("  redis-server: %.1f commands/object (script calls included), "
           "%.1f us/object in commands; by time:",
           num(c, "redis_server_calls_per_object"),
           num(c, "redis_server_usec_per_object"));
    json_array_foreach(top, i, t) {
        if (i == 5)
            break;
        printf(" %s %.2f (%.1f us)",
               json_string_value(json_object_get(t, "cmd")),
               num(t, "calls_per_object"), num(t, "usec_per_object"));
    }
    printf("\n");
    printf("  consumer loops busy, share of the phase (handle + batch end + "
           "flush):");
    for (size_t k = 0; k < NSERVICES; k++) {
        const json_t *b = json_object_get(json_object_get(c, "loop_busy"),
                                          services[k]);

        if (num(b, "total") <= 0)
            continue;
        printf(" %s %.0f%% (%.0f+%.0f+%.0f)", services[k],
               100 * num(b, "total"), 100 * num(b, "handle"),
               100 * num(b, "batch_end"), 100 * num(b, "flush"));
    }
    printf("\n");
    printf("  redis-server: %.0f AOF rewrite(s) in the phase, their CPU "
           "%.1f us/object (in its total above); memory grew by %.0f "
           "bytes/object\n", num(c, "redis_aof_rewrites"),
           num(c, "redis_rewrite_cpu_us_per_object"),
           num(c, "redis_memory_bytes_per_object"));
}

static void print_ceilings(const json_t *ceil)
{
    const json_t *k = json_object_get(ceil, "kafka");
    const json_t *kp = json_object_get(ceil, "kafka_paced");
    const json_t *ka = json_object_get(ceil, "kafka_acked");
    const json_t *r;
    size_t i;

    printf("ceilings on this machine, same broker and redis-server:\n");
    if (k)
        printf("  kafka produce->consume, %.0f B messages: %.0f msgs/s "
               "(median of %.0f runs, %.0f..%.0f); produce only %.0f msgs/s\n",
               num(k, "size"), num(k, "e2e_msgs_per_s"), num(k, "repeat"),
               num(k, "e2e_msgs_per_s_min"), num(k, "e2e_msgs_per_s_max"),
               num(k, "produce_msgs_per_s"));
    if (kp)
        printf("  kafka one hop at %.0f msgs/s: latency p50 %.1f ms, p99 "
               "%.1f ms\n", num(kp, "rate"), num(kp, "lat_p50_ms"),
               num(kp, "lat_p99_ms"));
    if (ka)
        printf("  kafka acknowledged writes (the listener's), %.0f threads: "
               "%.0f msgs/s, ack p50 %.2f ms, p99 %.2f ms\n",
               num(ka, "acked_threads"), num(ka, "acked_msgs_per_s"),
               num(ka, "ack_p50_ms"), num(ka, "ack_p99_ms"));
    printf("  redis-benchmark (requests/s):");
    json_array_foreach(json_object_get(ceil, "redis"), i, r) {
        if (i % 3 == 0)
            printf("\n   ");
        printf(" %-8s P%-2.0f c%-2.0f %9.0f |",
               json_string_value(json_object_get(r, "test")),
               num(r, "pipeline"), num(r, "clients"), num(r, "rps"));
    }
    printf("\n");
}

void lg_report(json_t *doc)
{
    const json_t *phases = json_object_get(doc, "phases");
    const json_t *best = best_phase(phases, 100);
    const json_t *m = json_object_get(doc, "machine");
    json_t *lin = linearity(phases), *tg, *ra = NULL;
    const json_t *r, *ceil = json_object_get(doc, "ceilings");
    size_t i;

    if (best && ceil)
        ra = ratios(doc, best);
    tg = targets(doc, best);
    json_object_set_new(doc, "linearity", lin);
    json_object_set_new(doc, "targets", tg);
    if (ra)
        json_object_set_new(doc, "ratios", ra);

    line();
    printf("xwdeploy benchmark %s, commit %s, %lld CPUs (%s), %.1f GB, "
           "load %.2f at start\n",
           json_string_value(json_object_get(doc, "date")),
           json_string_value(json_object_get(doc, "commit")),
           (long long)num(m, "nproc"),
           json_string_value(json_object_get(m, "cpu")),
           num(m, "mem_kb") / 1048576.0,
           json_number_value(json_array_get(json_object_get(m, "loadavg_start"),
                                            0)));
    line();
    print_phases(phases);
    printf("  e2e: submit to production -> package final, seen through the "
           "API; deploy: deploy request -> final;\n  CPU: all processes of "
           "the stack per object (not the load generator); RSS: the largest "
           "service peak in the phase\n");
    line();
    if (best)
        print_cost(best);
    line();
    if (ceil)
        print_ceilings(ceil);
    if (ra) {
        printf("ratios (phase %s, %.0f objects/s):\n",
               json_string_value(json_object_get(ra, "phase")),
               num(ra, "objects_per_s"));
        printf("  kafka: %.2f msgs/object -> %.0f msgs/s = %.1f%% of the "
               "ceiling (kafka alone would allow %.0f objects/s)\n",
               num(ra, "kafka_msgs_per_object"), num(ra, "kafka_msgs_per_s"),
               100 * num(ra, "kafka_ratio"),
               num(ra, "objects_per_s_if_kafka_bound"));
        printf("  redis: %.2f round trips/object -> %.0f/s = %.1f%% of "
               "GET P1 c50 (redis alone would allow %.0f objects/s); %.2f "
               "commands/object = %.1f%% of HSET P16\n",
               num(ra, "redis_round_trips_per_object"),
               num(ra, "redis_round_trips_per_s"),
               100 * num(ra, "redis_round_trip_ratio"),
               num(ra, "objects_per_s_if_redis_bound"),
               num(ra, "redis_commands_per_object"),
               100 * num(ra, "redis_command_ratio"));
        printf("  one blocking Redis connection (GET P1 c1 %.0f/s) allows, "
               "objects/s:",
               num(ra, "redis_ceiling_one_connection_rps"));
        for (size_t k = 0; k < NSERVICES; k++) {
            double v = num(json_object_get(ra,
                "objects_per_s_if_one_connection_bound"), services[k]);

            if (v > 0 && v < 1e6)
                printf(" %s %.0f", services[k], v);
        }
        printf(" (others: < 0.05 round trips/object)\n");
    }
    line();
    if (json_array_size(lin)) {
        printf("linearity (CPU us per object, all processes):");
        json_array_foreach(lin, i, r)
            printf("  %s %.0f obj: %.0f us (x%.2f)",
                   json_string_value(json_object_get(r, "phase")),
                   num(r, "objects"), num(r, "cpu_us_per_object_total"),
                   num(r, "relative_to_first") ? num(r, "relative_to_first")
                                               : 1.0);
        printf("\n");
        line();
    }
    {
        const json_t *t = json_object_get(tg, "throughput");
        const json_t *l = json_object_get(tg, "latency");
        const json_t *mm = json_object_get(tg, "memory");

        printf("targets (issue 7):\n");
        printf("  >= %.0f objects/s, packages of 100+: %.0f (%s) %s\n",
               TARGET_OBJECTS_PER_S, num(t, "measured"),
               json_string_value(json_object_get(t, "phase"))
                   ? json_string_value(json_object_get(t, "phase")) : "-",
               json_is_true(json_object_get(t, "met")) ? "MET" : "NOT MET");
        if (l)
            printf("  p99 < %.0f ms, 100-object packages at %.0f objects/s: "
                   "%.0f ms %s\n", TARGET_P99_MS,
                   num(l, "offered_objects_per_s"), num(l, "measured_p99_ms"),
                   json_is_true(json_object_get(l, "met")) ? "MET"
                                                           : "NOT MET");
        printf("  each service < %.0f MB RSS: worst %.1f MB %s (",
               TARGET_RSS_KB / 1024, num(mm, "worst_kb") / 1024,
               json_is_true(json_object_get(mm, "met")) ? "MET" : "NOT MET");
        for (size_t k = 0; k < NSERVICES; k++)
            printf("%s%s %.1f", k ? ", " : "", services[k],
                   num(json_object_get(mm, "peak_rss_kb"), services[k])
                       / 1024);
        printf(")\n");
    }
    line();
}
