/*
 * watch.c - sees packages become final, for all the packages of a phase
 * at once.
 *
 * Why not poll GET /v1/packages/{id} per package: that answer lists every
 * object with its outcome (the API has no summary-only form), so each
 * call costs the submit-listener O(objects) JSON work - about 4 ms of CPU
 * for a 100-object package on the benchmark machine. Polling 20 packages
 * in flight every 20 ms would need more CPU than the machine has, and the
 * observer would become the bottleneck. The package list of a workspace
 * (GET /v1/workspaces/{ws}/packages?since=) returns the summaries (status
 * and counts) of every package created since a time, so one call every
 * poll_ms serves all the packages in flight; each package is then read
 * once in full (step 5) by its worker.
 *
 * Threads: one watcher thread; workers call lg_watch_wait(). The in-flight
 * table is guarded by one mutex; each waiting worker has a condition
 * variable of its own, signalled when its package is seen final. (One
 * shared condition broadcast after every call woke all the workers 100
 * times a second to find most packages still running: 21% of the load
 * generator's CPU at 24 packages in flight, much of it on the mutex.)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loadgen.h"
#include "xw_id.h"

#define LIST_LIMIT 1000
/* The list's `since` is on the server's clock (created_at), ours is
 * created_wall_ms. A package seen once has its created_at; one not seen
 * yet is looked for from its own time shifted by the smallest difference
 * seen so far between the two clocks (server minus ours: the request's
 * latency plus any skew), less SKEW_SLACK_MS. Without such a difference,
 * or for a package that UNSEEN_CALLS_MAX calls did not show (a clock
 * stepped back), SINCE_MARGIN_MS is used. Why: with a fixed 2 s margin
 * every call listed every package of the last 2 s (~200 at 100 packages
 * per second, 8 times the packages in flight), and the observer's cost
 * grew with the throughput it measured. */
#define SINCE_MARGIN_MS 2000
#define SKEW_SLACK_MS 100
#define UNSEEN_CALLS_MAX 20

struct waiter {
    struct lg_pkg *p;              /* borrowed */
    pthread_cond_t *cv;            /* the waiting worker's (borrowed) */
};

struct lg_watch {
    const struct lg_config *cfg;   /* borrowed */
    long poll_ms;
    pthread_t thread;
    pthread_mutex_t mu;
    struct waiter *wait;           /* packages waited for */
    size_t n, cap;
    int stop;
    int skew_known;
    int64_t skew_ms;               /* min(server created_at - ours) seen */
    unsigned long calls;
    double items;
};

/* Where the list must start to show p (server clock, ms). */
static int64_t since_of(const struct lg_watch *w, const struct lg_pkg *p)
{
    if (p->server_created_ms)
        return p->server_created_ms;
    if (w->skew_known && p->unseen_calls < UNSEEN_CALLS_MAX)
        return p->created_wall_ms + w->skew_ms - SKEW_SLACK_MS;
    return p->created_wall_ms - SINCE_MARGIN_MS;
}

/* The index of the waited package with this id, or -1. */
static long waited(const struct lg_watch *w, const char *id)
{
    for (size_t k = 0; k < w->n; k++)
        if (strcmp(w->wait[k].p->id, id) == 0)
            return (long)k;
    return -1;
}

/* One list call (all pages) and the final packages it shows. */
static void watch_once(struct lg_watch *w, struct lg_client *c,
                       int64_t since_ms)
{
    char path[256];
    long offset = 0;

    for (;;) {
        json_t *ans = NULL, *it;
        long st;
        size_t i, total;
        int64_t seen;

        snprintf(path, sizeof path, "/v1/workspaces/%s/packages?since=%lld"
                 "&limit=%d&offset=%ld", w->cfg->src_ws, (long long)since_ms,
                 LIST_LIMIT, offset);
        st = lg_call(c, "vic", "GET", path, NULL, 0, &ans);
        seen = lg_now_ns();
        if (st != 200 || !ans) {
            json_decref(ans);
            return;
        }
        total = (size_t)json_integer_value(json_object_get(ans, "total"));
        pthread_mutex_lock(&w->mu);
        w->calls++;
        w->items += (double)json_array_size(json_object_get(ans, "items"));
        json_array_foreach(json_object_get(ans, "items"), i, it) {
            const char *id = json_string_value(json_object_get(it,
                                                               "package_id"));
            const char *status = json_string_value(json_object_get(it,
                                                                   "status"));
            int64_t created = (int64_t)json_integer_value(
                json_object_get(it, "created_at"));
            long k = id ? waited(w, id) : -1;
            struct lg_pkg *p = k >= 0 ? w->wait[k].p : NULL;

            if (!p)
                continue;
            if (created > 0 && !p->server_created_ms) {
                p->server_created_ms = created;
                if (!w->skew_known || created - p->created_wall_ms
                                          < w->skew_ms)
                    w->skew_ms = created - p->created_wall_ms;
                w->skew_known = 1;
            }
            if (!status || (strcmp(status, "succeeded") != 0
                            && strcmp(status, "failed") != 0))
                continue;
            p->t_final = seen;
            p->done = 1;
            snprintf(p->status, sizeof p->status, "%s", status);
            p->deployed = (long)json_integer_value(json_object_get(it,
                                                             "deployed"));
            p->failed = (long)json_integer_value(json_object_get(it,
                                                           "failed"));
            pthread_cond_signal(w->wait[k].cv);
            w->wait[k] = w->wait[--w->n];
        }
        pthread_mutex_unlock(&w->mu);
        json_decref(ans);
        offset += LIST_LIMIT;
        if ((size_t)offset >= total)
            return;
    }
}

static void *watch_main(void *arg)
{
    struct lg_watch *w = arg;
    struct lg_client c;

    if (lg_client_init(&c, w->cfg) < 0)
        return NULL;
    for (;;) {
        int64_t since = INT64_MAX;

        lg_sleep_ns(w->poll_ms * 1000000LL);
        pthread_mutex_lock(&w->mu);
        if (w->stop) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        for (size_t k = 0; k < w->n; k++) {
            struct lg_pkg *p = w->wait[k].p;

            if (since_of(w, p) < since)
                since = since_of(w, p);
            if (!p->server_created_ms)
                p->unseen_calls++;
        }
        pthread_mutex_unlock(&w->mu);
        if (since != INT64_MAX)
            watch_once(w, &c, since);
    }
    lg_client_release(&c);
    return NULL;
}

struct lg_watch *lg_watch_start(const struct lg_config *cfg, long poll_ms)
{
    struct lg_watch *w = calloc(1, sizeof *w);

    if (!w) {
        fprintf(stderr, "xw-loadgen: out of memory\n");
        return NULL;
    }
    w->cfg = cfg;
    w->poll_ms = poll_ms;
    pthread_mutex_init(&w->mu, NULL);
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        fprintf(stderr, "xw-loadgen: cannot start the watcher\n");
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    return w;
}

void lg_watch_stop(struct lg_watch *w, unsigned long *calls,
                   double *mean_items)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    if (calls)
        *calls = w->calls;
    if (mean_items)
        *mean_items = w->calls ? w->items / (double)w->calls : 0;
    pthread_mutex_destroy(&w->mu);
    free(w->wait);
    free(w);
}

int lg_watch_wait(struct lg_watch *w, struct lg_pkg *p, int64_t deadline)
{
    pthread_condattr_t a;
    pthread_cond_t cv;
    struct timespec ts = { (time_t)(deadline / 1000000000LL),
                           (long)(deadline % 1000000000LL) };
    int rc = -1;

    /* The deadline is CLOCK_MONOTONIC (lg_now_ns): so is the condition. */
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&cv, &a);
    pthread_condattr_destroy(&a);
    pthread_mutex_lock(&w->mu);
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        struct waiter *v = realloc(w->wait, cap * sizeof *v);

        if (!v)
            goto out;
        w->wait = v;
        w->cap = cap;
    }
    w->wait[w->n++] = (struct waiter){ p, &cv };
    while (!p->done && pthread_cond_timedwait(&cv, &w->mu, &ts) == 0)
        ;
    if (p->done) {
        rc = 0;
    } else {
        for (size_t k = 0; k < w->n; k++)
            if (w->wait[k].p == p) {
                w->wait[k] = w->wait[--w->n];
                break;
            }
    }
out:
    pthread_mutex_unlock(&w->mu);
    pthread_cond_destroy(&cv);
    return rc;
}
