/*
 * xw-loadgen - the load generator of `make bench` (scripts/bench).
 *
 *   xw-loadgen --run-dir DIR [--api URL] [--data DIR] [--commit C]
 *              [--ceilings FILE] [--out FILE] [--note TEXT]
 *              [--idle SECONDS] [--poll-ms N] [--poll-packages 0|1|2]
 *              [--poll-cost 0|1] [--version V]
 *              --phase NAME:sat:SIZE:PACKAGES:CONCURRENCY ...
 *              --phase NAME:rate:SIZE:OBJECTS_PER_S:SECONDS[:THREADS] ...
 *
 * Against a stack started by tests/lib/harness.sh (the run directory holds
 * the pid and admin-port files of the services, broker/ and redis/), with
 * the API at --api or XW_API_URL, tokens in XW_TOKENS ("user:token,...")
 * or XW_TOKENS_FILE ("user token" lines), Redis at XW_REDIS_URL (for INFO
 * only). It registers the sample workspaces and environment of --data
 * (default scripts/demo-data), then runs the phases in order:
 *
 *   sat   PACKAGES packages of SIZE objects, CONCURRENCY at a time, each
 *         through the five steps as fast as they go (saturation);
 *   rate  a fixed offered load: a package of SIZE objects is started every
 *         SIZE/OBJECTS_PER_S seconds for SECONDS, open loop (a package
 *         starts on time whether the earlier ones are done or not, on a
 *         pool of THREADS workers, default 64); latencies count from the
 *         scheduled start too, so a late start is not hidden.
 *
 * A package is final when a watcher thread sees it so in the package list
 * (GET /v1/workspaces/{ws}/packages?since=, one call every --poll-ms,
 * default 10 ms, for all packages in flight: see watch.c for why), or with
 * --poll-packages 1 by polling GET /v1/packages/{id} (the API's per-package
 * view, O(objects) per call), or with --poll-packages 2 by its summary
 * long-poll (GET /v1/packages/{id}?objects=false&wait_ms=30000: one cheap
 * call that answers when the package is final). Either way each package is then read once
 * in full with GET /v1/packages/{id} to check every object's outcome.
 * After each phase, the CPU one such GET and one list call cost is
 * measured with back-to-back calls (about 2 s; --poll-cost 0 skips it, e.g.
 * while profiling), to tell the observer's share of the cost apart.
 *
 * Each package has its own objects ("b<phase>-<package>-<i>") at this
 * run's version (--version, default the current Unix time), so every
 * object is really written to the destination. Phases whose name starts
 * with "lin" form the linearity check. Around every phase the processes
 * are measured (probe.c); at the end the table goes to stdout and the JSON
 * document to --out. Exit status 0 when every package succeeded, 1
 * otherwise (the report is written either way), 2 on bad usage.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "loadgen.h"

#define SETTLE_NS (500 * 1000000LL)   /* trailing work after a phase */
#define DEFAULT_RATE_THREADS 64
#define MAX_THREADS 256
#define MAX_PACKAGES 100000
#define MAX_SIZE 10000                /* the API's array limit */

/* ---- options -------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: xw-loadgen --run-dir DIR [--api URL] [--data DIR] "
            "[--commit C]\n"
            "                  [--ceilings FILE] [--out FILE] [--note TEXT] "
            "[--idle S]\n"
            "                  [--poll-ms N] [--poll-packages 0|1|2] "
            "[--poll-cost 0|1] [--version V]\n"
            "                  --phase NAME:sat:SIZE:PACKAGES:CONCURRENCY\n"
            "                  --phase NAME:rate:SIZE:OBJ_PER_S:SECONDS"
            "[:THREADS]\n");
}

static int parse_phase(const char *arg, struct lg_phase_spec *ph)
{
    char name[32], kind[8];
    double a = 0, b = 0, c = 0, d = 0;
    int n;

    memset(ph, 0, sizeof *ph);
    n = sscanf(arg, "%31[^:]:%7[^:]:%lf:%lf:%lf:%lf", name, kind, &a, &b, &c,
               &d);
    if (n < 5 || a < 1 || a > MAX_SIZE)
        return -1;
    snprintf(ph->name, sizeof ph->name, "%s", name);
    ph->size = (size_t)a;
    if (strcmp(kind, "sat") == 0) {
        if (n != 5 || b < 1 || b > MAX_PACKAGES || c < 1 || c > MAX_THREADS)
            return -1;
        ph->kind = LG_SATURATION;
        ph->count = (size_t)b;
        ph->threads = (size_t)c;
        return 0;
    }
    if (strcmp(kind, "rate") == 0) {
        if (b <= 0 || c <= 0 || (n == 6 && (d < 1 || d > MAX_THREADS)))
            return -1;
        ph->kind = LG_RATE;
        ph->rate = b;
        ph->seconds = c;
        ph->threads = n == 6 ? (size_t)d : DEFAULT_RATE_THREADS;
        ph->count = (size_t)(b * c / a + 0.5);
        if (ph->count < 1 || ph->count > MAX_PACKAGES)
            return -1;
        return 0;
    }
    return -1;
}

/* "user:token,user:token" */
static int parse_tokens(struct lg_config *cfg, const char *s)
{
    while (s && *s) {
        const char *colon = strchr(s, ':'), *end = strchr(s, ',');
        struct lg_user *u;

        if (!end)
            end = s + strlen(s);
        if (!colon || colon > end || cfg->nusers == LG_MAX_USERS)
            return -1;
        u = &cfg->users[cfg->nusers++];
        snprintf(u->name, sizeof u->name, "%.*s", (int)(colon - s), s);
        snprintf(u->token, sizeof u->token, "%.*s", (int)(end - colon - 1),
                 colon + 1);
        s = *end ? end + 1 : end;
    }
    return 0;
}

/* "user token" lines */
static int read_tokens_file(struct lg_config *cfg, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];

    if (!f)
        return -1;
    while (fgets(line, sizeof line, f) && cfg->nusers < LG_MAX_USERS) {
        struct lg_user *u = &cfg->users[cfg->nusers];

        if (sscanf(line, "%64s %255s", u->name, u->token) == 2)
            cfg->nusers++;
    }
    fclose(f);
    return 0;
}

static json_t *load_data(const struct lg_config *cfg, const char *file)
{
    char path[700];
    json_error_t je;
    json_t *j;

    snprintf(path, sizeof path, "%s/%s", cfg->data_dir, file);
    j = json_load_file(path, 0, &je);
    if (!j)
        fprintf(stderr, "xw-loadgen: %s: %s (line %d)\n", path, je.text,
                je.line);
    return j;
}

/* The object template: the first sample object without id, name, version,
 * data sources and dependencies (as tests/integration/big_package.py). */
static int make_template(struct lg_config *cfg)
{
    json_t *objs = load_data(cfg, "objects.json"), *t;
    char *dump = NULL;
    int rc = -1;

    t = json_deep_copy(json_array_get(json_object_get(objs, "objects"), 0));
    if (!t)
        goto out;
    json_object_del(t, "id");
    json_object_del(t, "name");
    json_object_del(t, "version");
    json_object_set_new(t, "data_sources", json_array());
    json_object_set_new(t, "dependencies", json_array());
    dump = json_dumps(t, JSON_COMPACT);
    if (!dump || strlen(dump) < 3)
        goto out;
    cfg->object_rest = strdup(dump + 1);  /* after "{" */
    rc = cfg->object_rest ? 0 : -1;
out:
    free(dump);
    json_decref(t);
    json_decref(objs);
    return rc;
}

/* ---- machine ---------------------------------------------------------------- */

static json_t *machine(void)
{
    char line[512], cpu[256] = "?";
    long mem_kb = 0;
    double la[3] = { 0, 0, 0 };
    struct utsname un;
    FILE *f;

    if ((f = fopen("/proc/cpuinfo", "r"))) {
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "model name : %255[^\n]", cpu) == 1)
                break;
        fclose(f);
    }
    if ((f = fopen("/proc/meminfo", "r"))) {
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemTotal: %ld kB", &mem_kb) == 1)
                break;
        fclose(f);
    }
    if (getloadavg(la, 3) != 3)
        la[0] = la[1] = la[2] = -1;
    if (uname(&un) < 0)
        snprintf(un.release, sizeof un.release, "?");
    return json_pack("{s:I, s:s, s:I, s:s, s:[f, f, f]}", "nproc",
                     (json_int_t)sysconf(_SC_NPROCESSORS_ONLN), "cpu", cpu,
                     "mem_kb", (json_int_t)mem_kb, "kernel", un.release,
                     "loadavg_start", la[0], la[1], la[2]);
}

/* ---- phases ------------------------------------------------------------------ */

struct phase_run {
    const struct lg_config *cfg;
    const struct lg_phase_spec *spec;
    size_t index;
    struct lg_pkg *pkgs;
    atomic_size_t next;
    int64_t t0, interval_ns;
    atomic_ulong requests, polls, gets;
    atomic_int failures;
    struct lg_watch *watch;
};

static void *worker(void *arg)
{
    struct phase_run *pr = arg;
    struct lg_client c;

    if (lg_client_init(&c, pr->cfg) < 0) {
        atomic_fetch_add(&pr->failures, 1);
        return NULL;
    }
    c.watch = pr->watch;
    for (;;) {
        size_t i = atomic_fetch_add(&pr->next, 1);
        struct lg_pkg *p;

        if (i >= pr->spec->count)
            break;
        p = &pr->pkgs[i];
        if (pr->interval_ns) {
            p->t_sched = pr->t0 + (int64_t)i * pr->interval_ns;
            lg_sleep_ns(p->t_sched - lg_now_ns());
        }
        if (lg_run_package(&c, pr->index, i, pr->spec->size, p) < 0
            || !p->ok)
            atomic_fetch_add(&pr->failures, 1);
    }
    atomic_fetch_add(&pr->requests, c.requests);
    atomic_fetch_add(&pr->polls, c.polls);
    atomic_fetch_add(&pr->gets, c.gets);
    lg_client_release(&c);
    return NULL;
}

#define POLL_COST_S 1.0
#define POLL_COST_MIN 3
#define POLL_COST_MAX 400

/* CPU per call of GET `path` for every process: back-to-back calls for
 * about a second (at least POLL_COST_MIN). NEW reference or NULL. */
static json_t *call_cost(const struct lg_config *cfg, struct lg_probe *probe,
                         const char *path)
{
    struct lg_client c;
    json_t *before, *after, *delta, *per = json_object(), *v, *out;
    const char *k;
    int64_t t0;
    long n = 0;

    if (lg_client_init(&c, cfg) < 0) {
        json_decref(per);
        return NULL;
    }
    lg_call(&c, "vic", "GET", path, NULL, 0, NULL); /* connection up */
    before = lg_probe_snapshot(probe);
    t0 = lg_now_ns();
    while (n < POLL_COST_MAX
           && (n < POLL_COST_MIN
               || lg_now_ns() - t0 < (int64_t)(POLL_COST_S * 1e9))
           && lg_call(&c, "vic", "GET", path, NULL, 0, NULL) == 200)
        n++;
    after = lg_probe_snapshot(probe);
    delta = lg_probe_delta(before, after);
    json_object_foreach(json_object_get(delta, "procs"), k, v)
        json_object_set_new(per, k, json_real(n ? json_number_value(
            json_object_get(v, "cpu_s")) * 1e6 / (double)n : 0));
    json_object_set_new(per, "loadgen", json_real(n ? json_number_value(
        json_object_get(json_object_get(delta, "loadgen"), "cpu_s")) * 1e6
        / (double)n : 0));
    out = json_pack("{s:I, s:f, s:I, s:o}", "calls", (json_int_t)n, "seconds",
                    (double)(lg_now_ns() - t0) / 1e9, "answer_bytes",
                    (json_int_t)c.resp.body.len, "cpu_us_per_call", per);
    json_decref(before);
    json_decref(after);
    json_decref(delta);
    lg_client_release(&c);
    return out;
}

/* What observing costs: one GET /v1/packages/{id} of a final package of
 * the phase (in full and its summary), and one list call showing `items`
 * packages. NEW reference. */
static json_t *poll_cost(const struct lg_config *cfg, struct lg_probe *probe,
                         const char *pkg, int64_t since_ms, double items)
{
    char path[256];
    json_t *out = json_object(), *list;

    snprintf(path, sizeof path, "/v1/packages/%s", pkg);
    json_object_set_new(out, "get_package", call_cost(cfg, probe, path));
    /* The summary form --poll-packages 2 uses (the list and the full GET
     * stay the figures the report prints). */
    snprintf(path, sizeof path, "/v1/packages/%s?objects=false", pkg);
    json_object_set_new(out, "get_summary", call_cost(cfg, probe, path));
    snprintf(path, sizeof path, "/v1/workspaces/%s/packages?since=%lld"
             "&limit=1000", cfg->src_ws, (long long)since_ms);
    list = call_cost(cfg, probe, path);
    if (list) {
        json_object_set_new(list, "items_listed", json_real(items));
        json_object_set_new(out, "list", list);
    }
    return out;
}

/* Runs one phase; its summary (NEW reference) or NULL. *failures gets the
 * number of packages that did not succeed. */
static json_t *run_phase(const struct lg_config *cfg, size_t index,
                         struct lg_probe *probe, int *failures)
{
    const struct lg_phase_spec *spec = &cfg->phases[index];
    struct phase_run pr;
    pthread_t th[MAX_THREADS];
    size_t nth = spec->threads < spec->count ? spec->threads : spec->count;
    size_t started = 0;
    json_t *before = NULL, *after = NULL, *delta = NULL, *sum = NULL;
    int64_t first = 0, last = 0, since = 0;
    unsigned long watch_calls = 0;
    double watch_items = 0;

    memset(&pr, 0, sizeof pr);
    pr.cfg = cfg;
    pr.spec = spec;
    pr.index = index + 1;
    pr.pkgs = calloc(spec->count, sizeof *pr.pkgs);
    if (!pr.pkgs)
        return NULL;
    if (spec->kind == LG_RATE)
        pr.interval_ns = (int64_t)((double)spec->size / spec->rate * 1e9);
    if (!cfg->poll_packages
        && !(pr.watch = lg_watch_start(cfg, cfg->poll_ms ? cfg->poll_ms
                                                         : 10))) {
        free(pr.pkgs);
        return NULL;
    }
    fprintf(stderr, "xw-loadgen: phase %s: %zu package(s) of %zu object(s), "
            "%s %g\n", spec->name, spec->count, spec->size,
            spec->kind == LG_RATE ? "offered objects/s" : "concurrency",
            spec->kind == LG_RATE ? spec->rate : (double)spec->threads);
    lg_sleep_ns(SETTLE_NS);
    lg_probe_reset_peaks(probe);
    before = lg_probe_snapshot(probe);
    pr.t0 = lg_now_ns();
    for (; started < nth; started++)
        if (pthread_create(&th[started], NULL, worker, &pr) != 0)
            break;
    if (started == 0)
        atomic_fetch_add(&pr.failures, 1);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    lg_watch_stop(pr.watch, &watch_calls, &watch_items);
    for (size_t i = 0; i < spec->count; i++) {
        const struct lg_pkg *p = &pr.pkgs[i];

        if (p->t_submit && (!first || p->t_submit < first))
            first = p->t_sched ? p->t_sched : p->t_submit;
        if (p->t_final > last)
            last = p->t_final;
        if (p->created_wall_ms && (!since || p->created_wall_ms < since))
            since = p->created_wall_ms;
    }
    lg_sleep_ns(SETTLE_NS);
    after = lg_probe_snapshot(probe);
    delta = lg_probe_delta(before, after);
    sum = lg_phase_summary(spec, pr.pkgs, spec->count, delta,
                           last > first ? (double)(last - first) / 1e9 : 0);
    if (sum) {
        const char *pkg = NULL;

        for (size_t i = 0; i < spec->count; i++)
            if (pr.pkgs[i].ok)
                pkg = pr.pkgs[i].id;
        json_object_set_new(sum, "http_requests", json_integer(
            (json_int_t)atomic_load(&pr.requests)));
        json_object_set_new(sum, "polls", json_integer(
            (json_int_t)atomic_load(&pr.polls)));
        json_object_set_new(sum, "poll_packages",
                            json_integer(cfg->poll_packages));
        json_object_set_new(sum, "result_gets", json_integer(
            (json_int_t)atomic_load(&pr.gets)));
        json_object_set_new(sum, "watch_calls", json_integer(
            (json_int_t)watch_calls));
        json_object_set_new(sum, "watch_mean_items", json_real(watch_items));
        if (pkg && !cfg->no_poll_cost) {
            json_t *pc = poll_cost(cfg, probe, pkg, since - 2000,
                                   (double)spec->count);

            if (pc) {
                lg_phase_add_poll_cost(sum, pc);
                json_decref(pc);
            }
        }
    }
    *failures = atomic_load(&pr.failures);
    fprintf(stderr, "xw-loadgen: phase %s: %.0f objects/s, deploy->final "
            "p99 %.0f ms, %d failure(s)\n", spec->name,
            json_number_value(json_object_get(sum, "objects_per_s")),
            json_number_value(json_object_get(json_object_get(sum,
                "deploy_to_final_ms"), "p99")), *failures);
    json_decref(before);
    json_decref(after);
    json_decref(delta);
    free(pr.pkgs);
    return sum;
}

/* CPU seconds per second of every process with nothing to do. */
static json_t *idle(struct lg_probe *probe, double seconds)
{
    json_t *before = lg_probe_snapshot(probe), *after, *delta, *out, *v;
    json_t *rate = json_object();
    const char *k;

    lg_sleep_ns((int64_t)(seconds * 1e9));
    after = lg_probe_snapshot(probe);
    delta = lg_probe_delta(before, after);
    json_object_foreach(json_object_get(delta, "procs"), k, v)
        json_object_set_new(rate, k, json_real(json_number_value(
            json_object_get(v, "cpu_s")) / seconds));
    out = json_pack("{s:f, s:o}", "seconds", seconds, "cpu_s_per_s", rate);
    json_decref(before);
    json_decref(after);
    json_decref(delta);
    return out;
}

int main(int argc, char **argv)
{
    static struct lg_config cfg;
    struct lg_probe probe;
    struct lg_client setup_client;
    json_t *doc = NULL, *phases = NULL, *ws_src = NULL, *ws_dst = NULL;
    json_t *env = NULL, *snap = NULL, *peak;
    const char *s, *note = NULL;
    char date[32];
    time_t now = time(NULL);
    int rc = 1, failures = 0, client_ok = 0;

    memset(&probe, 0, sizeof probe);
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s/scripts/demo-data",
             XW_SOURCE_DIR);
    snprintf(cfg.commit, sizeof cfg.commit, "unknown");
    cfg.idle_s = 3;
    cfg.version = (long long)now;
    if ((s = getenv("XW_API_URL")))
        snprintf(cfg.api, sizeof cfg.api, "%s", s);
    if ((s = getenv("XW_RUN_DIR")))
        snprintf(cfg.run_dir, sizeof cfg.run_dir, "%s", s);
    if ((s = getenv("XW_REDIS_URL")))
        snprintf(cfg.redis_url, sizeof cfg.redis_url, "%s", s);
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!v) {
            usage();
            return 2;
        }
        i++;
        if (strcmp(o, "--run-dir") == 0)
            snprintf(cfg.run_dir, sizeof cfg.run_dir, "%s", v);
        else if (strcmp(o, "--api") == 0)
            snprintf(cfg.api, sizeof cfg.api, "%s", v);
        else if (strcmp(o, "--data") == 0)
            snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", v);
        else if (strcmp(o, "--commit") == 0)
            snprintf(cfg.commit, sizeof cfg.commit, "%s", v);
        else if (strcmp(o, "--ceilings") == 0)
            snprintf(cfg.ceilings_path, sizeof cfg.ceilings_path, "%s", v);
        else if (strcmp(o, "--out") == 0)
            snprintf(cfg.out_path, sizeof cfg.out_path, "%s", v);
        else if (strcmp(o, "--note") == 0)
            note = v;
        else if (strcmp(o, "--idle") == 0)
            cfg.idle_s = strtod(v, NULL);
        else if (strcmp(o, "--poll-ms") == 0)
            cfg.poll_ms = strtol(v, NULL, 10);
        else if (strcmp(o, "--poll-packages") == 0)
            cfg.poll_packages = atoi(v);
        else if (strcmp(o, "--poll-cost") == 0)
            cfg.no_poll_cost = atoi(v) == 0;
        else if (strcmp(o, "--version") == 0)
            cfg.version = strtoll(v, NULL, 10);
        else if (strcmp(o, "--phase") == 0 && cfg.nphases < LG_MAX_PHASES) {
            if (parse_phase(v, &cfg.phases[cfg.nphases]) < 0) {
                fprintf(stderr, "xw-loadgen: bad phase '%s'\n", v);
                usage();
                return 2;
            }
            cfg.nphases++;
        } else {
            usage();
            return 2;
        }
    }
    if (!cfg.api[0] || !cfg.run_dir[0] || !cfg.redis_url[0]
        || cfg.nphases == 0 || cfg.idle_s < 0 || cfg.poll_ms < 0
        || cfg.version < 1) {
        fprintf(stderr, "xw-loadgen: need --api (or XW_API_URL), --run-dir, "
                "XW_REDIS_URL and at least one --phase\n");
        usage();
        return 2;
    }
    if (parse_tokens(&cfg, getenv("XW_TOKENS")) < 0
        || ((s = getenv("XW_TOKENS_FILE")) && read_tokens_file(&cfg, s) < 0)) {
        fprintf(stderr, "xw-loadgen: bad XW_TOKENS / XW_TOKENS_FILE\n");
        return 2;
    }
    if (xw_http_global_init() < 0)
        return 1;
    ws_src = load_data(&cfg, "ws-dev.json");
    ws_dst = load_data(&cfg, "ws-prod.json");
    env = load_data(&cfg, "env-to-prod.json");
    if (!ws_src || !ws_dst || !env || make_template(&cfg) < 0)
        goto out;
    snprintf(cfg.src_ws, sizeof cfg.src_ws, "%s",
             json_string_value(json_object_get(ws_src, "id")));
    snprintf(cfg.env, sizeof cfg.env, "%s",
             json_string_value(json_object_get(env, "name")));
    snprintf(cfg.dst_ws, sizeof cfg.dst_ws, "%s",
             json_string_value(json_object_get(env, "destination_workspace")));

    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    doc = json_pack("{s:s, s:s, s:o, s:{s:I, s:I, s:f, s:s, s:s, s:s}}",
                    "date", date, "commit", cfg.commit, "machine", machine(),
                    "settings", "version", (json_int_t)cfg.version, "poll_ms",
                    (json_int_t)cfg.poll_ms, "idle_s", cfg.idle_s,
                    "source_workspace", cfg.src_ws, "destination_workspace",
                    cfg.dst_ws, "environment", cfg.env);
    if (!doc)
        goto out;
    if (note)
        json_object_set_new(doc, "note", json_string(note));
    if (cfg.ceilings_path[0]) {
        json_error_t je;
        json_t *c = json_load_file(cfg.ceilings_path, 0, &je);

        if (c)
            json_object_set_new(doc, "ceilings", c);
        else
            fprintf(stderr, "xw-loadgen: ceilings %s: %s\n",
                    cfg.ceilings_path, je.text);
    }
    if (lg_client_init(&setup_client, &cfg) < 0)
        goto out;
    client_ok = 1;
    if (lg_probe_init(&probe, &cfg) < 0)
        goto out;
    if (lg_setup(&setup_client, ws_src, ws_dst, env) < 0)
        goto out;
    if (cfg.idle_s > 0)
        json_object_set_new(doc, "idle", idle(&probe, cfg.idle_s));
    phases = json_array();
    json_object_set(doc, "phases", phases);
    for (size_t i = 0; i < cfg.nphases; i++) {
        int f = 0;
        json_t *sum = run_phase(&cfg, i, &probe, &f);

        failures += f;
        if (sum)
            json_array_append_new(phases, sum);
    }
    /* Peak resident memory of each process over the phases (the peak is
     * reset at the start of each phase). */
    snap = lg_probe_snapshot(&probe);
    peak = json_object();
    {
        const json_t *ph;
        size_t i;

        json_array_foreach(phases, i, ph) {
            const char *k;
            json_t *v;

            json_object_foreach(json_object_get(json_object_get(ph, "delta"),
                                                "procs"), k, v) {
                double kb = json_number_value(json_object_get(v, "hwm_kb"));

                if (kb > json_number_value(json_object_get(peak, k)))
                    json_object_set_new(peak, k, json_real(kb));
            }
        }
    }
    json_object_set_new(doc, "peak_rss_kb", peak);
    json_object_set(json_object_get(doc, "machine"), "loadavg_end",
                    json_object_get(snap, "loadavg"));
    json_object_set_new(doc, "failures", json_integer(failures));
    lg_report(doc);
    rc = failures ? 1 : 0;
out:
    if (doc && cfg.out_path[0]
        && json_dump_file(doc, cfg.out_path, JSON_INDENT(1)) < 0) {
        fprintf(stderr, "xw-loadgen: cannot write %s\n", cfg.out_path);
        rc = 1;
    }
    if (client_ok)
        lg_client_release(&setup_client);
    lg_probe_release(&probe);
    json_decref(snap);
    json_decref(phases);
    json_decref(doc);
    json_decref(ws_src);
    json_decref(ws_dst);
    json_decref(env);
    free(cfg.object_rest);
    return rc;
}
