/*
 * timing - when a deployed object takes effect, in the destination's time
 * zone at the deploy instant recorded in the event (DESIGN.md); the rule
 * itself is xw_timing_effective().
 *
 * The destination's zone is the "timezone" of its workspace document
 * (xw:ws:{dest}). Zones are cached per destination for a while (a
 * workspace's zone almost never changes, and a batch of 500 objects
 * usually has one destination); misses are read in one pipeline.
 */
#ifndef DP_TIMING_H
#define DP_TIMING_H

#include "deployer.h"

/* ttl_ms: how long a destination's zone is trusted. NULL when out of
 * memory. */
dp_zones *dp_zones_new(int64_t ttl_ms);
void dp_zones_free(dp_zones *z);

/* Sets items[i].zone for every item; a destination without a registered
 * workspace or zone leaves zone "" (the item then fails in
 * dp_timing_compute). 0, or -1 with err when Redis could not be read. */
int dp_zones_resolve(dp_zones *z, xw_redis *r, struct dp_item *items,
                     size_t n, char *err, size_t errlen);

/* Fills it->effective_* and timing_rule from deploy_at, it->zone, the
 * generation mode and the scheduled time (the same inputs as the item
 * before in the batch: its answer again, not recomputed). 0, or -1 with
 * the item failed (workspace_missing or the timing error code). */
int dp_timing_compute(dp_zones *z, struct dp_item *it);

#endif
