/*
 * target - where deployed objects go: one small interface, two kinds.
 *
 *   catalog  (XW_DEPLOY_TARGET=catalog, the default) the destination's
 *            production objects kept in Redis. Delivery is the catalog
 *            record itself (write.c), so deliver() has nothing to add.
 *   http     (XW_DEPLOY_TARGET=http) POSTs the object's JSON to a real
 *            scheduler at XW_DEPLOY_HTTP_URL, with an Idempotency-Key of
 *            {dest}:{obj}:{version}, retries with exponential backoff and
 *            jitter (xw_http), then the catalog record is written too, so
 *            the Operation Center view and the write counts work for
 *            both kinds.
 *
 * Either way the exactly-once guarantee is the catalog's fenced write:
 * deliver() may run more than once for one object (a crash between the
 * delivery and the record), which is why the HTTP target sends the
 * idempotency key: the peer collapses repeats.
 */
#ifndef DP_TARGET_H
#define DP_TARGET_H

#include "deployer.h"

enum dp_delivery {
    DP_DELIVERED = 0,  /* the destination has it: record it */
    DP_REFUSED = 1,    /* it cannot be deployed: it->reason_code/reason set */
    DP_UNDECIDED = -1, /* cannot tell now (shutting down, out of memory):
                          retry the batch */
};

struct dp_target {
    const char *name;
    /* Delivers one object; body/len is its JSON (the mapped object plus
     * package_id, attempt, workspaces and effective time) when
     * takes_body, else empty. */
    enum dp_delivery (*deliver)(dp_target *t, struct dp_item *it,
                                const char *body, size_t len);
    void (*free)(dp_target *t);
    int takes_body;  /* deliver() reads body: the deployer writes it only
                        then (the catalog's delivery is the entry) */
};

/* The built-in catalog. Never NULL. */
dp_target *dp_target_catalog_new(void);

/* The HTTP target from XW_DEPLOY_HTTP_* settings; NULL with err set when
 * the URL is missing or libcurl cannot be set up. */
dp_target *dp_target_http_new(const struct xw_config *cfg, char *err,
                              size_t errlen);

/* NULL is fine. */
static inline void dp_target_free(dp_target *t)
{
    if (t)
        t->free(t);
}

void dp_target_register_metrics(void);

#endif
