/*
 * xw_metrics - counters and gauges, rendered in the Prometheus text format.
 *
 * A metric is a static struct in the module that owns it, registered once
 * at start (xw_metrics_register) and updated with relaxed atomics from any
 * thread: no lock and no allocation on the per-event path. Names follow
 * Prometheus conventions (xw_<service>_<what>_total for counters).
 */
#ifndef XW_METRICS_H
#define XW_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "xw_buf.h"

struct xw_metric {
    const char *name;
    const char *help;
    int is_gauge;
    _Atomic uint64_t value;
    struct xw_metric *next;
};

#define XW_COUNTER(var, name, help) \
    static struct xw_metric var = { name, help, 0, 0, NULL }
#define XW_GAUGE(var, name, help) \
    static struct xw_metric var = { name, help, 1, 0, NULL }

/* Registers m (borrowed; must live until exit). Idempotent. */
void xw_metrics_register(struct xw_metric *m);

static inline void xw_metrics_add(struct xw_metric *m, uint64_t n)
{
    atomic_fetch_add_explicit(&m->value, n, memory_order_relaxed);
}
static inline void xw_metrics_set(struct xw_metric *m, uint64_t v)
{
    atomic_store_explicit(&m->value, v, memory_order_relaxed);
}
static inline uint64_t xw_metrics_get(struct xw_metric *m)
{
    return atomic_load_explicit(&m->value, memory_order_relaxed);
}

/* Appends every registered metric, plus process CPU seconds and resident
 * memory, to out. 0 or -1 (out of memory / cap). */
int xw_metrics_render(xw_buf *out);

#endif
