/*
 * write - the destination catalog and its exactly-once record
 * (docs/design.md, "Exactly-once destination write").
 *
 * Keys ({ws} destination, {obj} object id, {v} version):
 *   xw:dest:{ws}:objects          hash  obj -> its catalog entry (Avro
 *                                       CatalogEntry: common/xw_catalog.h)
 *   xw:dest:{ws}:history:{obj}    list  the entries it replaced, newest
 *                                       first, as they were stored (JSON
 *                                       for those of older deployers)
 *   xw:written:{ws}               hash  {obj}:{v} -> the fence that wrote
 *                                       it: the exactly-once records, kept
 *                                       for good (a version deployed again
 *                                       years later is still not rewritten)
 *   xw:writes:{ws}                hash  {obj}:{v} -> real writes: must stay
 *                                       1 (the tests check it)
 * Deployers before these hashes kept one string key per record,
 * xw:write:{ws}:{obj}:{v} (with a TTL, XW_DEPLOY_ONCE_TTL_S) and
 * xw:writes:{ws}:{obj}:{v}; scripts/migrate-exactly-once folds them in
 * (README, "Upgrading").
 *
 * A record is one write of xw_redis_fenced_write_batch(): HSET the new
 * entry, LPUSH the previous one (when there was one), set its exactly-once
 * record and count it, only if the record is new, in a script that first
 * checks the package lock's fence. So a redelivery, a replay or a second
 * deployer writes nothing twice, and a deployer whose lock was taken over
 * writes nothing at all.
 *
 * Records are queued and written together (dp_write_flush): one round
 * trip per batch, one script call per package lock (and destination) in
 * it, and in each call a few bulk commands for all its records (HMGET of
 * the records, HSET of the entries, of the records, of the counts) plus
 * one LPUSH per entry replaced, instead of three or four commands per
 * object: Redis' cost is per command (docs/performance.md). The pre-read
 * is two HMGETs per destination, in one round trip. A record is prepared
 * only from facts Redis has acknowledged: when an item follows a queued
 * one on the same destination object (dp_write_follow), the queue is
 * written first, so no record in a round trip depends on another's
 * outcome (a refused or already-written predecessor is never pushed to
 * the history). That costs one more round trip, only when one object
 * comes twice in a batch.
 *
 * A catalog entry is the DestinationObject (id, name, kind, version,
 * compute_resource, resource_group, data_sources, dependencies,
 * parameters, owner, generation_mode, scheduled_time) plus package_id,
 * attempt, source_workspace, destination_workspace, effective_at,
 * effective_date, timing_rule, replaced_version and deployed_at: a
 * CatalogEntry record (schemas/state/CatalogEntry.avsc) encoded by
 * entry.c from the mapped object's Avro body, about a third of the bytes
 * of the JSON stored before (Redis memory, AOF, AOF rewrites). Entries are
 * read (pre-read, recall) by entry.c as Avro, or as JSON when an older
 * deployer wrote them; either is pushed to the history as it is.
 */
#ifndef DP_WRITE_H
#define DP_WRITE_H

#include "deployer.h"

/* The batch's write state; NULL when out of memory. */
dp_writes *dp_writes_new(void);
/* NULL is fine. */
void dp_writes_free(dp_writes *w);
/* Forgets the queued records (a batch that failed or was aborted). */
void dp_write_reset(struct dp_deployer *d);

/* One pipeline for the whole batch, two HMGETs per destination: every
 * item's current catalog entry (copied into the arena as its prev_*) and
 * whether its exactly-once record exists; starts the batch's follow index.
 * 0, or -1 with err when Redis could not be read (or out of memory). */
int dp_write_preread(struct dp_deployer *d, char *err, size_t errlen);

/* Item i as seen after the items before it in the same batch: the latest
 * earlier item written (or found written) on the same destination object
 * replaces what the pre-read saw (and makes it "already written" when it
 * has the same version). Writes the queue first if that item's record is
 * still queued. Linear in the batch overall (a hash index per batch, a
 * chain per object). 0, or -1 with err (Redis failed: retry the batch). */
int dp_write_follow(struct dp_deployer *d, size_t i, char *err,
                    size_t errlen);

/* The JSON the target receives (entry.h; no per-delivery fields such as
 * deployed_at, so every repeat sends the same bytes), into d->body, for a
 * target that takes_body (the item's JSON is in the arena only then).
 * 0, or -1 when out of memory. */
int dp_write_body(struct dp_deployer *d, struct dp_item *it);

/* Prepares the item's catalog record (replaced version, deployed_at, the
 * entry in the arena as its cur_*: entry.h) and queues it: status
 * DP_QUEUED. Writes
 * the queue first when it is full (XW_REDIS_FENCED_MAX_WRITES records).
 * 0, or -1 with err (out of memory, Redis failed). */
int dp_write_queue(struct dp_deployer *d, struct dp_item *it, char *err,
                   size_t errlen);

/* Writes the queued records with their locks' current fences: each item
 * becomes DP_WRITTEN, DP_ALREADY (its record existed: someone wrote it
 * since the pre-read; its entry is read again) or DP_STALE (its lock is
 * stale or the fence was refused: the lock is marked stale). 0 (queue
 * empty), or -1 with err when Redis failed: the batch is retried. Each
 * call was applied wholly or not at all (a script runs alone, and one
 * that meets a key of the wrong type takes back what it did: xw_redis.h),
 * and the exactly-once records make the retry safe. */
int dp_write_flush(struct dp_deployer *d, char *err, size_t errlen);

/* For an item written before: its result fields (compute resource,
 * resource group, owner, effective time, replaced version) from the
 * catalog entry, when that entry is still this version. */
void dp_write_recall(struct dp_deployer *d, struct dp_item *it);

#endif
