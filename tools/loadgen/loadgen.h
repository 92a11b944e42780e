/*
 * xw-loadgen - the benchmark's load generator (see main.c for the usage).
 *
 * It drives the public HTTP API only, like a CI job would: per package it
 * submits the objects to the source's production, creates a package from
 * their ids, deploys it and polls GET /v1/packages/{id} until the package
 * is final. Around every phase it takes a snapshot of what the processes
 * cost (CPU, memory, the services' /metrics counters, Redis INFO) and
 * reports the difference per object.
 *
 * Modules:
 *   api.c     API calls and the five steps of one package (one lg_client
 *             per thread);
 *   watch.c   one watcher per phase that sees packages become final
 *             through the package list (one call for all of them);
 *   probe.c   snapshots of the processes of a run directory and of Redis;
 *   report.c  the table and the JSON document;
 *   main.c    options, setup, phases.
 *
 * Ownership: structures below own what they point to unless a comment says
 * "borrowed". json_t members are NEW references owned by the struct.
 */
#ifndef XW_LOADGEN_H
#define XW_LOADGEN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "xw_http.h"

#define LG_MAX_PHASES 16
#define LG_MAX_USERS 16
#define LG_MAX_PROCS 8
#define LG_ID_MAX 64

/* ---- configuration (read-only once the phases run) ---------------------- */

struct lg_user {
    char name[LG_ID_MAX + 1];
    char token[256];
};

enum lg_kind { LG_SATURATION, LG_RATE };

struct lg_phase_spec {
    char name[32];
    enum lg_kind kind;
    size_t size;        /* objects per package */
    size_t count;       /* packages */
    size_t threads;     /* concurrent packages (saturation) or worker pool */
    double rate;        /* offered objects/s (LG_RATE) */
    double seconds;     /* duration (LG_RATE) */
};

struct lg_config {
    char api[256];              /* base URL, no trailing slash */
    char run_dir[512];
    char data_dir[512];
    char commit[64];
    char ceilings_path[512];
    char out_path[512];
    char redis_url[1024];
    struct lg_user users[LG_MAX_USERS];
    size_t nusers;
    struct lg_phase_spec phases[LG_MAX_PHASES];
    size_t nphases;
    long poll_ms;               /* watcher interval; per-package polls: 0 =
                                   by package size */
    int poll_packages;          /* 1: poll each package in full, 2: its
                                   summary long-poll; 0: the watcher */
    int no_poll_cost;           /* skip measuring what observing costs */
    double idle_s;              /* idle measurement before the phases */
    long long version;          /* object version of this run */
    char src_ws[LG_ID_MAX + 1], dst_ws[LG_ID_MAX + 1], env[LG_ID_MAX + 1];
    char *object_rest;          /* the template object's JSON after its
                                   "{", without id, name, version (owned) */
};

/* ---- API client (api.c) -------------------------------------------------- */

struct lg_watch;

struct lg_client {
    const struct lg_config *cfg;  /* borrowed */
    struct lg_watch *watch;       /* borrowed; NULL: poll the package */
    xw_http_client *http;
    xw_http_resp resp;
    xw_buf body;                  /* request body, reused */
    unsigned long requests, polls, gets;
};

/* 0 or -1 (message on stderr). Release with lg_client_release(). */
int lg_client_init(struct lg_client *c, const struct lg_config *cfg);
void lg_client_release(struct lg_client *c);

/* One call as `user`; body may be NULL. Returns the HTTP status (0 when no
 * answer arrived). *out (may be NULL) gets the decoded JSON answer, a NEW
 * reference, or NULL. */
long lg_call(struct lg_client *c, const char *user, const char *method,
             const char *path, const char *body, size_t body_len,
             json_t **out);

/* An accepted write (202 with request_id in `accepted`, borrowed) until it
 * is applied. 0 when "done", -1 otherwise (why on stderr). */
int lg_wait_request(struct lg_client *c, const char *user,
                    const json_t *accepted, const char *what);

/* The registration steps, each waited until applied: both workspaces
 * (PUT, as the system admin) and the environment (POST, or PUT when it
 * exists already). Arguments borrowed. 0 / -1. */
int lg_setup(struct lg_client *c, const json_t *ws_src, const json_t *ws_dst,
             const json_t *env);

/* What happened to one package; times are CLOCK_MONOTONIC ns. */
struct lg_pkg {
    int64_t t_sched;      /* when it should start (rate mode) */
    int64_t t_submit;     /* step 2 sent */
    int64_t t_created;    /* step 3 applied */
    int64_t t_deploy;     /* step 4 sent */
    int64_t t_final;      /* final status first seen through the API */
    int64_t created_wall_ms;  /* wall clock when step 3 was sent */
    int64_t server_created_ms;  /* its created_at as the watcher saw it
                                   (the server's clock); 0 not yet seen */
    unsigned unseen_calls;      /* list calls that did not show it yet */
    int ok;               /* succeeded with every object deployed */
    int done;             /* reached a final status (ok or failed) */
    long deployed, failed;
    char status[16];      /* as the watcher saw it */
    char id[96];
};

/* Runs the five steps for package number `index` of phase `phase` (ids
 * "b<phase>-<index>-<i>"), filling *p: submit the objects, create the
 * package, deploy it, wait until it is final (through c->watch, or by
 * polling GET /v1/packages/{id} without one), then GET /v1/packages/{id}
 * once to check every object's outcome. 0 when final (ok or not), -1 on
 * an API failure (said on stderr). */
int lg_run_package(struct lg_client *c, size_t phase, size_t index,
                   size_t size, struct lg_pkg *p);

/* ---- watcher (watch.c) ------------------------------------------------------ */

/* Polls GET /v1/workspaces/{src}/packages?since=... every poll_ms (the
 * packages created since the oldest one it waits for) and marks the
 * packages it waits for final as soon as the list shows them so. Returns
 * NULL (said why) on failure. */
struct lg_watch *lg_watch_start(const struct lg_config *cfg, long poll_ms);
/* Stops the thread and frees the watcher; its call count in *calls and
 * the mean number of listed packages per call in *mean_items (either may
 * be NULL). NULL is fine. */
void lg_watch_stop(struct lg_watch *w, unsigned long *calls,
                   double *mean_items);
/* Waits until p (borrowed; its id and created_wall_ms set) is final or
 * until deadline (monotonic ns). 0 when final (p->t_final, status and
 * counts filled), -1 on timeout. */
int lg_watch_wait(struct lg_watch *w, struct lg_pkg *p, int64_t deadline);

/* ---- probes (probe.c) ------------------------------------------------------ */

struct lg_proc {
    char name[32];
    int pid;
    int admin_port;       /* 0: no /metrics */
};

struct lg_probe {
    struct lg_proc procs[LG_MAX_PROCS];
    size_t nprocs;
    void *redis;          /* xw_redis *, owned */
    xw_http_client *http;
    xw_http_resp resp;
};

/* Finds the services, the broker and redis-server of a harness run
 * directory and connects to Redis. 0 / -1. */
int lg_probe_init(struct lg_probe *pr, const struct lg_config *cfg);
void lg_probe_release(struct lg_probe *pr);

/* Resets the peak resident memory (VmHWM) of every process
 * (/proc/PID/clear_refs "5"), so that the next snapshot's hwm_kb is the
 * peak since now. Silently leaves processes it may not write alone. */
void lg_probe_reset_peaks(struct lg_probe *pr);

/* A snapshot: NEW reference
 *   {"t": mono s, "procs": {name: {"cpu_s","rss_kb","hwm_kb",
 *    "metrics": {name: value}}}, "loadgen": {"cpu_s","hwm_kb"},
 *    "redis": {"cmd": {name: {"calls","usec"}}, "total_commands",
 *    "used_memory"}, "loadavg": [1, 5, 15]}
 * Missing pieces are left out (a dead process has no entry). */
json_t *lg_probe_snapshot(struct lg_probe *pr);

/* after - before, per process and for Redis, as NEW reference
 *   {"seconds", "procs": {name: {"cpu_s", "hwm_kb", "rss_kb",
 *    "metrics": {name: delta}}}, "loadgen": {...},
 *    "redis": {"calls", "usec", "cmd": {name: calls}}} */
json_t *lg_probe_delta(const json_t *before, const json_t *after);

/* ---- report (report.c) ------------------------------------------------------ */

/* Summary of one phase from its package records: NEW reference. */
json_t *lg_phase_summary(const struct lg_phase_spec *spec,
                         const struct lg_pkg *pkgs, size_t n,
                         const json_t *delta, double wall_s);

/* Adds to a phase summary what observing costs: `pc` (borrowed) is the
 * CPU of GET /v1/packages/{id} per call (from main.c), multiplied by the
 * phase's polls it gives the observer's share of the cost per object. */
void lg_phase_add_poll_cost(json_t *summary, const json_t *pc);

/* Adds the derived figures (ratios, linearity, targets) to the document
 * and prints the table on stdout. */
void lg_report(json_t *doc);

/* ---- helpers ----------------------------------------------------------------- */

int64_t lg_now_ns(void);
void lg_sleep_ns(int64_t ns);
const char *lg_token(const struct lg_config *cfg, const char *user);
/* Percentile (0..100) of a sorted array; 0 when n == 0. */
double lg_pct(const double *sorted, size_t n, double p);

#endif
