/*
 * probe.c - what the processes of the stack cost: CPU seconds and memory
 * from /proc, the services' counters from their /metrics, Redis' own
 * command statistics (INFO commandstats), taken as snapshots around each
 * phase.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "loadgen.h"
#include "xw_redis.h"

static const char *const services[] = {
    "submit-listener", "packager", "mapper", "deployer", "result-reporter",
};

/* Reads the first integer of a file; -1 when absent. */
static long read_long_file(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;

    if (!f)
        return -1;
    if (fscanf(f, "%ld", &v) != 1)
        v = -1;
    fclose(f);
    return v;
}

static void add_proc(struct lg_probe *pr, const char *name, const char *pidf,
                     const char *portf)
{
    struct lg_proc *p;
    long pid = read_long_file(pidf);

    if (pid <= 0 || pr->nprocs == LG_MAX_PROCS) {
        fprintf(stderr, "xw-loadgen: no pid for %s (%s)\n", name, pidf);
        return;
    }
    p = &pr->procs[pr->nprocs++];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->pid = (int)pid;
    p->admin_port = portf ? (int)read_long_file(portf) : 0;
    if (p->admin_port < 0)
        p->admin_port = 0;
}

int lg_probe_init(struct lg_probe *pr, const struct lg_config *cfg)
{
    char pidf[600], portf[600], err[256];

    memset(pr, 0, sizeof *pr);
    xw_http_resp_init(&pr->resp);
    for (size_t i = 0; i < sizeof services / sizeof services[0]; i++) {
        snprintf(pidf, sizeof pidf, "%s/%s.pid", cfg->run_dir, services[i]);
        snprintf(portf, sizeof portf, "%s/%s.admin-port", cfg->run_dir,
                 services[i]);
        add_proc(pr, services[i], pidf, portf);
    }
    snprintf(pidf, sizeof pidf, "%s/broker/broker.pid", cfg->run_dir);
    add_proc(pr, "broker", pidf, NULL);
    snprintf(pidf, sizeof pidf, "%s/redis/redis.pid", cfg->run_dir);
    add_proc(pr, "redis-server", pidf, NULL);
    pr->http = xw_http_client_new(err, sizeof err);
    if (!pr->http) {
        fprintf(stderr, "xw-loadgen: http client: %s\n", err);
        return -1;
    }
    pr->redis = xw_redis_connect(cfg->redis_url, NULL, err, sizeof err);
    if (!pr->redis) {
        fprintf(stderr, "xw-loadgen: redis: %s\n", err);
        return -1;
    }
    return 0;
}

void lg_probe_release(struct lg_probe *pr)
{
    xw_redis_free(pr->redis);
    pr->redis = NULL;
    xw_http_client_free(pr->http);
    pr->http = NULL;
    xw_http_resp_release(&pr->resp);
}

/* CPU seconds (user + system) of a process and of its children it has
 * waited for (redis-server's AOF rewrites run in a child); -1 when it is
 * gone. */
/* CPU seconds of process pid, its own plus that of its reaped children
 * (Redis' AOF rewrites); the children's part alone in *children_s. -1 if
 * the process is gone. */
static double proc_cpu_s(int pid, double *children_s)
{
    char path[64], buf[1024];
    unsigned long ut = 0, st = 0;
    long cut = 0, cst = 0;
    const char *p;
    size_t n;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if (!(f = fopen(path, "r")))
        return -1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* After "pid (comm) ": state is field 3, utime 14, stime 15, cutime
     * 16, cstime 17. */
    if (!(p = strrchr(buf, ')'))
        || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu "
                  "%ld %ld", &ut, &st, &cut, &cst) != 4)
        return -1;
    *children_s = (double)(cut + cst) / (double)sysconf(_SC_CLK_TCK);
    return (double)(ut + st + (unsigned long)(cut + cst))
           / (double)sysconf(_SC_CLK_TCK);
}

/* VmRSS and VmHWM in kB. */
static void proc_mem_kb(int pid, long *rss, long *hwm)
{
    char path[64], line[256];
    FILE *f;

    *rss = *hwm = -1;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    if (!(f = fopen(path, "r")))
        return;
    while (fgets(line, sizeof line, f)) {
        sscanf(line, "VmRSS: %ld kB", rss);
        sscanf(line, "VmHWM: %ld kB", hwm);
    }
    fclose(f);
}

/* The Prometheus text of a service as {name: value}. NEW reference or
 * NULL. */
static json_t *scrape(struct lg_probe *pr, int port)
{
    char url[64];
    xw_http_req req;
    json_t *m;
    char *line, *save = NULL;

    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
    memset(&req, 0, sizeof req);
    req.url = url;
    req.timeout_ms = 5000;
    if (xw_http_request(pr->http, &req, &pr->resp) < 0)
        return NULL;
    m = json_object();
    for (line = strtok_r(pr->resp.body.data, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char name[128];
        double v;

        if (line[0] == '#' || sscanf(line, "%127s %lf", name, &v) != 2)
            continue;
        json_object_set_new(m, name, json_real(v));
    }
    return m;
}

/* INFO <section> as {field: value-string}. NEW reference or NULL. */
static json_t *redis_info(struct lg_probe *pr, const char *section)
{
    redisReply *rep = xw_redis_command(pr->redis, "INFO %s", section);
    json_t *o;
    char *save = NULL, *copy, *line;

    if (!rep || rep->type != REDIS_REPLY_STRING)
        return NULL;
    copy = strndup(rep->str, rep->len);
    if (!copy)
        return NULL;
    o = json_object();
    for (line = strtok_r(copy, "\r\n", &save); line;
         line = strtok_r(NULL, "\r\n", &save)) {
        char *colon = strchr(line, ':');

        if (line[0] == '#' || !colon)
            continue;
        *colon = '\0';
        json_object_set_new(o, line, json_string(colon + 1));
    }
    free(copy);
    return o;
}

static json_t *redis_snapshot(struct lg_probe *pr)
{
    json_t *out = json_object(), *cmd = json_object();
    json_t *cs = redis_info(pr, "commandstats");
    json_t *st = redis_info(pr, "stats");
    json_t *mem = redis_info(pr, "memory");
    json_t *per = redis_info(pr, "persistence");
    const char *k;
    json_t *v;

    json_object_foreach(cs, k, v) {
        unsigned long long calls = 0, usec = 0;

        if (strncmp(k, "cmdstat_", 8) != 0
            || sscanf(json_string_value(v), "calls=%llu,usec=%llu", &calls,
                      &usec) != 2)
            continue;
        json_object_set_new(cmd, k + 8, json_pack("{s:f, s:f}", "calls",
                                                  (double)calls, "usec",
                                                  (double)usec));
    }
    json_object_set_new(out, "cmd", cmd);
    if (st && json_object_get(st, "total_commands_processed"))
        json_object_set_new(out, "total_commands", json_real(strtod(
            json_string_value(json_object_get(st, "total_commands_processed")),
            NULL)));
    if (mem && json_object_get(mem, "used_memory"))
        json_object_set_new(out, "used_memory", json_real(strtod(
            json_string_value(json_object_get(mem, "used_memory")), NULL)));
    if (per && json_object_get(per, "aof_rewrites"))
        json_object_set_new(out, "aof_rewrites", json_real(strtod(
            json_string_value(json_object_get(per, "aof_rewrites")), NULL)));
    json_decref(cs);
    json_decref(st);
    json_decref(mem);
    json_decref(per);
    return out;
}

void lg_probe_reset_peaks(struct lg_probe *pr)
{
    for (size_t i = 0; i < pr->nprocs; i++) {
        char path[64];
        FILE *f;

        snprintf(path, sizeof path, "/proc/%d/clear_refs", pr->procs[i].pid);
        if (!(f = fopen(path, "w")))
            continue; /* not ours to reset: peaks then span the run */
        fputs("5", f);
        fclose(f);
    }
}

json_t *lg_probe_snapshot(struct lg_probe *pr)
{
    json_t *snap = json_object(), *procs = json_object();
    struct rusage ru;
    double la[3] = { 0, 0, 0 };

    json_object_set_new(snap, "t", json_real((double)lg_now_ns() / 1e9));
    for (size_t i = 0; i < pr->nprocs; i++) {
        const struct lg_proc *p = &pr->procs[i];
        double children = 0, cpu = proc_cpu_s(p->pid, &children);
        long rss, hwm;
        json_t *o;

        if (cpu < 0)
            continue; /* gone */
        proc_mem_kb(p->pid, &rss, &hwm);
        o = json_pack("{s:f, s:f, s:I, s:I}", "cpu_s", cpu,
                      "children_cpu_s", children, "rss_kb", (json_int_t)rss,
                      "hwm_kb", (json_int_t)hwm);
        if (p->admin_port) {
            json_t *m = scrape(pr, p->admin_port);

            if (m)
                json_object_set_new(o, "metrics", m);
        }
        json_object_set_new(procs, p->name, o);
    }
    json_object_set_new(snap, "procs", procs);
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        json_object_set_new(snap, "loadgen", json_pack("{s:f, s:I}", "cpu_s",
            (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec
                + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
            "hwm_kb", (json_int_t)ru.ru_maxrss));
    json_object_set_new(snap, "redis", redis_snapshot(pr));
    if (getloadavg(la, 3) == 3)
        json_object_set_new(snap, "loadavg", json_pack("[f, f, f]", la[0],
                                                       la[1], la[2]));
    return snap;
}

static double num(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

json_t *lg_probe_delta(const json_t *before, const json_t *after)
{
    json_t *d = json_object(), *procs = json_object(), *r = json_object();
    json_t *cmds = json_object();
    const json_t *bp = json_object_get(before, "procs");
    const json_t *ap = json_object_get(after, "procs");
    const json_t *bc = json_object_get(json_object_get(before, "redis"), "cmd");
    const json_t *ac = json_object_get(json_object_get(after, "redis"), "cmd");
    const char *name;
    json_t *a;
    double calls = 0, usec = 0;

    json_object_set_new(d, "seconds", json_real(num(after, "t")
                                                 - num(before, "t")));
    json_object_foreach((json_t *)ap, name, a) {
        const json_t *b = json_object_get(bp, name);
        const json_t *am = json_object_get(a, "metrics");
        const json_t *bm = json_object_get(b, "metrics");
        json_t *o, *m = json_object();
        const char *k;
        json_t *v;

        if (!b)
            continue;
        json_object_foreach((json_t *)am, k, v) {
            if (strncmp(k, "process_", 8) == 0)
                continue;
            json_object_set_new(m, k, json_real(json_number_value(v)
                                - num(bm, k)));
        }
        o = json_pack("{s:f, s:f, s:O, s:O, s:o}", "cpu_s",
                      num(a, "cpu_s") - num(b, "cpu_s"), "children_cpu_s",
                      num(a, "children_cpu_s") - num(b, "children_cpu_s"),
                      "rss_kb",
                      json_object_get(a, "rss_kb"), "hwm_kb",
                      json_object_get(a, "hwm_kb"), "metrics", m);
        json_object_set_new(procs, name, o);
    }
    json_object_set_new(d, "procs", procs);
    a = json_object_get((json_t *)after, "loadgen");
    json_object_set_new(d, "loadgen", json_pack("{s:f, s:O}", "cpu_s",
        num(a, "cpu_s") - num(json_object_get(before, "loadgen"), "cpu_s"),
        "hwm_kb", json_object_get(a, "hwm_kb")));
    json_object_foreach((json_t *)ac, name, a) {
        const json_t *b = json_object_get(bc, name);
        double dc = num(a, "calls") - num(b, "calls");
        double du = num(a, "usec") - num(b, "usec");

        if (dc <= 0)
            continue;
        /* INFO itself is the probe's, not the pipeline's. */
        if (strcmp(name, "info") == 0)
            continue;
        calls += dc;
        usec += du;
        json_object_set_new(cmds, name, json_pack("{s:f, s:f}", "calls", dc,
                                                  "usec", du));
    }
    json_object_set_new(r, "calls", json_real(calls));
    json_object_set_new(r, "usec", json_real(usec));
    json_object_set_new(r, "cmd", cmds);
    json_object_set_new(r, "used_memory", json_real(num(json_object_get(
        after, "redis"), "used_memory")));
    json_object_set_new(r, "used_memory_before", json_real(num(
        json_object_get(before, "redis"), "used_memory")));
    json_object_set_new(r, "aof_rewrites", json_real(
        num(json_object_get(after, "redis"), "aof_rewrites")
        - num(json_object_get(before, "redis"), "aof_rewrites")));
    json_object_set_new(d, "redis", r);
    json_object_set(d, "loadavg_end", json_object_get(after, "loadavg"));
    return d;
}
