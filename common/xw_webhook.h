/*
 * xw_webhook - what the submit-listener (subscriptions API) and the
 * result-reporter (enqueueing and delivery) share about webhooks: the
 * Redis keys, the limits, the filter and how an event matches it, the
 * delivery id and the retry schedule. docs/design.md, "Webhooks", is the
 * contract; this header is its code.
 *
 * Redis keys (all strings below are key names or key prefixes):
 *
 *   xw:wh:subs            set     subscription ids
 *   xw:wh:sub:{id}        hash    id, url, owner, scope (all | member),
 *                                 filter (JSON), paused (0/1),
 *                                 created_at, updated_at (ms)
 *   xw:wh:secret:{id}     string  the signing secret: written by the API,
 *                                 read only by the delivery workers
 *   xw:wh:owner:{user}    set     ids of that user's subscriptions
 *   xw:wh:version         counter INCR on every change (the reporter
 *                                 reloads its cache when it moves)
 *   xw:wh:q:{id}          zset    pending delivery ids, score = when due
 *   xw:wh:log:{id}        list    delivery ids, newest first, capped
 *   xw:wh:d:{delivery}    hash    one delivery (see design.md)
 *   xw:wh:due             zset    subscription id -> when a worker should
 *                                 serve it next
 *   xw:wh:held            hash    subscription id -> ms before which it is
 *                                 not served (backoff after a failure)
 *   xw:wh:lease:{id}      string  the worker serving it (token, PX lease)
 *
 * Everything here is a pure function or a constant: no Redis calls, no
 * allocation except where a function says it returns a NEW reference.
 */
#ifndef XW_WEBHOOK_H
#define XW_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "xw_id.h"
#include "xw_json.h"

#define XW_WH_URL_MAX 1024        /* bytes of a subscription URL */
#define XW_WH_SECRET_MIN 16       /* bytes of a secret */
#define XW_WH_SECRET_MAX 256
#define XW_WH_PER_OWNER_MAX 100   /* subscriptions one user may own */
#define XW_WH_WS_MAX 64           /* workspace ids in a filter (API ids) */
#define XW_WH_ID_PREFIX "wh-"     /* subscription ids: "wh-" + UUID */
#define XW_WH_ID_LEN (3 + XW_UUID_LEN)

#define XW_WH_K_SUBS "xw:wh:subs"
#define XW_WH_K_SUB "xw:wh:sub:"
#define XW_WH_K_SECRET "xw:wh:secret:"
#define XW_WH_K_OWNER "xw:wh:owner:"
#define XW_WH_K_VERSION "xw:wh:version"
#define XW_WH_K_QUEUE "xw:wh:q:"
#define XW_WH_K_LOG "xw:wh:log:"
#define XW_WH_K_DELIVERY "xw:wh:d:"
#define XW_WH_K_DUE "xw:wh:due"
#define XW_WH_K_HELD "xw:wh:held"
#define XW_WH_K_LEASE "xw:wh:lease:"

/* A Lua function for the scripts of both services: wh_due(id, at) makes
 * subscription id due at `at` unless it is already due earlier. */
#define XW_WH_LUA_DUE                                                       \
    "local function wh_due(id, at)\n"                                       \
    "  local cur = redis.call('ZSCORE', '" XW_WH_K_DUE "', id)\n"           \
    "  if not cur or tonumber(cur) > at then\n"                             \
    "    redis.call('ZADD', '" XW_WH_K_DUE "', at, id)\n"                   \
    "  end\n"                                                               \
    "end\n"

/* Event types (bits, so a filter can hold a set of them). */
enum xw_wh_event {
    XW_WH_PACKAGE_FINISHED = 1u << 0,
    XW_WH_OBJECT_RESULT = 1u << 1,
};
#define XW_WH_EVENTS_ALL (XW_WH_PACKAGE_FINISHED | XW_WH_OBJECT_RESULT)

/* "package_finished" / "object_result" (static), NULL for anything else. */
const char *xw_wh_event_name(enum xw_wh_event e);
/* The event type of an Avro event name ("PackageFinished" ->
 * XW_WH_PACKAGE_FINISHED); 0 if webhooks do not carry it. */
unsigned xw_wh_event_of_schema(const char *short_name);

enum xw_wh_status { XW_WH_ANY = 0, XW_WH_SUCCEEDED, XW_WH_FAILED };

/* A subscription's filter. Empty strings and XW_WH_ANY match anything;
 * `events` is a set of enum xw_wh_event bits (never 0). A plain value. */
struct xw_wh_filter {
    char source[XW_WH_WS_MAX + 1];
    char destination[XW_WH_WS_MAX + 1];
    enum xw_wh_status status;
    unsigned events;
};

/* Reads a filter object: {"source_workspace", "destination_workspace",
 * "status": "succeeded"|"failed", "event_types": [...]}, every member
 * optional; NULL or JSON null is the empty filter. Unknown members, ids
 * that are not API ids, unknown statuses or event types, an empty or
 * repeating event_types array are refused: -1 with e (400) naming
 * "filter.<member>". 0 on success. */
int xw_wh_filter_from_json(struct xw_wh_filter *f, const json_t *j,
                           xw_json_err *e);
/* The filter's canonical JSON (members in the order above, only those
 * set; event_types always present): a NEW reference, NULL on no memory. */
json_t *xw_wh_filter_to_json(const struct xw_wh_filter *f);

/* What an event offers to matching. `status` is the package status of a
 * package_finished ("succeeded" | "failed") or the outcome of an
 * object_result ("deployed" | "failed" | "excluded"); a status filter of
 * succeeded matches deployed objects, failed matches failed ones, and an
 * excluded object matches no status filter. Strings are borrowed. */
struct xw_wh_match {
    enum xw_wh_event type;
    const char *source, *destination, *status;
};
/* 1 if the event passes the filter, else 0. */
int xw_wh_filter_match(const struct xw_wh_filter *f,
                       const struct xw_wh_match *ev);

/* A subscription URL: http:// or https:// with a host, 1..XW_WH_URL_MAX
 * bytes, no spaces or control characters, no fragment. 0, or -1 with a
 * reason in why (may be NULL). */
int xw_wh_url_check(const char *url, char *why, size_t whylen);
/* A secret: XW_WH_SECRET_MIN..MAX visible ASCII characters (so it can live
 * in a file and be handed to openssl as is). 0 or -1 with a reason that
 * never quotes the secret. */
int xw_wh_secret_check(const char *s, size_t len, char *why, size_t whylen);

/* The delivery id of (subscription, event): xw_uuid_derive(sub, event, 0),
 * the same on every retry, redelivery and re-enqueue, so receivers can
 * dedupe on it. */
void xw_wh_delivery_id(const char *sub, const char *event_id,
                       char out[XW_UUID_LEN + 1]);

/* The wait before the next attempt after the n-th consecutive failure of
 * a delivery (n >= 1): exponential backoff with full jitter, a uniform
 * value in [0, min(max_ms, min_ms * 2^(n-1))] drawn from rnd (a uniform
 * 64-bit random number; tests pass fixed ones). Never overflows. */
long long xw_wh_backoff_ms(int n, long long min_ms, long long max_ms,
                           uint64_t rnd);

#endif
