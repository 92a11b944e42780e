/*
 * write - the destination catalog and its exactly-once record
 * (docs/design.md, "Exactly-once destination write").
 *
 * Keys ({ws} destination, {obj} object id, {v} version):
 *   xw:dest:{ws}:objects          hash  obj -> deployed object JSON
 *   xw:dest:{ws}:history:{obj}    list  the JSONs it replaced, newest first
 *   xw:write:{ws}:{obj}:{v}       the exactly-once key (fenced write)
 *   xw:writes:{ws}:{obj}:{v}      INCR per real write: must stay 1
 *
 * The record is one xw_redis_fenced_write(): HSET the new JSON, LPUSH the
 * previous one (when there was one), INCR the counter, all in one script
 * that first checks the package lock's fence and the exactly-once key. So
 * a redelivery, a replay or a second deployer writes nothing twice, and a
 * deployer whose lock was taken over writes nothing at all.
 *
 * The deployed object JSON is the DestinationObject (id, name, kind,
 * version, compute_resource, resource_group, data_sources, dependencies,
 * parameters, owner, generation_mode, scheduled_time) plus package_id,
 * attempt, source_workspace, destination_workspace, effective_at,
 * effective_date, timing_rule, replaced_version and deployed_at.
 */
#ifndef DP_WRITE_H
#define DP_WRITE_H

#include "deployer.h"

/* One pipeline for the whole batch: every item's current catalog entry
 * (copied into the arena as its prev_*) and whether its exactly-once key
 * exists. 0, or -1 with err when Redis could not be read. */
int dp_write_preread(struct dp_deployer *d, char *err, size_t errlen);

/* Item i as seen after the items before it in the same batch: an earlier
 * item on the same destination object replaces what the pre-read saw (and
 * makes it "already written" when it has the same version). */
void dp_write_follow(struct dp_deployer *d, size_t i);

/* The JSON the target receives (no per-delivery fields such as
 * deployed_at, so every repeat sends the same bytes), into d->body.
 * 0, or -1 when out of memory. */
int dp_write_body(struct dp_deployer *d, struct dp_item *it);

/* Records the item in the catalog with its lock's fence. Returns
 * DP_WRITTEN, DP_ALREADY or DP_STALE; -1 with err when Redis failed (the
 * batch is retried; nothing or everything of the record was applied). */
int dp_write_record(struct dp_deployer *d, struct dp_item *it,
                    const xw_redis_lock *lk, char *err, size_t errlen);

/* For an item written before: its result fields (compute resource,
 * resource group, owner, effective time, replaced version) from the
 * catalog entry, when that entry is still this version. */
void dp_write_recall(struct dp_deployer *d, struct dp_item *it);

#endif
