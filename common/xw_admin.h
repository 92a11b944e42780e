/*
 * xw_admin - the health and metrics endpoint every service serves on
 * 127.0.0.1:XW_ADMIN_PORT (libmicrohttpd, its own thread):
 *
 *   GET /health   200 {"service":..,"status":"ok"} or 503 with the reason
 *   GET /metrics  Prometheus text (xw_metrics)
 *
 * Health and metrics carry no secrets, so they need no token; they are
 * bound to loopback only.
 */
#ifndef XW_ADMIN_H
#define XW_ADMIN_H

#include <stddef.h>

typedef struct xw_admin xw_admin;

/* Returns 0 when healthy, else -1 with a short reason in buf. Called from
 * the admin thread: must only read atomics. */
typedef int (*xw_admin_health_fn)(void *ctx, char *reason, size_t len);

/* Starts serving; port 0 means "do not serve" and returns a no-op handle.
 * `service` is borrowed for the handle's life. NULL with err on failure. */
xw_admin *xw_admin_start(const char *service, int port, xw_admin_health_fn fn,
                         void *ctx, char *err, size_t errlen);
void xw_admin_stop(xw_admin *a);

#endif
