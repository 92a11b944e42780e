/*
 * locks - the deployer's package locks (xw:lock:pkg:{pkg}, fenced).
 *
 * Why per package and kept: events of a package are keyed by package id,
 * so one deployer works on it at a time; the lock makes that explicit to
 * Redis, and its fence (strictly growing per package) lets the fenced
 * catalog write refuse a deployer whose lock has since been taken over
 * (a paused process, a rebalance). Acquiring once and extending while the
 * package is being worked on keeps the cost at about one script call per
 * package per TTL/3, not one per object.
 *
 * A lock held by someone else makes the batch wait and retry (the loop's
 * backoff): the other holder is either finishing (it releases when idle)
 * or dead (the lock expires after its TTL).
 */
#ifndef DP_LOCKS_H
#define DP_LOCKS_H

#include "deployer.h"

/* ttl_ms: lock lifetime without an extension; idle_ms: a lock unused for
 * that long is released. NULL when out of memory. */
dp_locks *dp_locks_new(int ttl_ms, int idle_ms);
/* Frees the table (does not release: see dp_locks_release_all). */
void dp_locks_free(dp_locks *l);

/* Holds the lock of every item's package and sets items[i].lock. Returns
 * 0, or -1 with err set when Redis failed or a package is locked by
 * another owner (retry the batch later). */
int dp_locks_hold(dp_locks *l, xw_redis *r, struct dp_item *items, size_t n,
                  char *err, size_t errlen);

/* The lock of an item (borrowed until the next hold/release call), or
 * NULL when it was found stale in this batch. */
const xw_redis_lock *dp_locks_get(dp_locks *l, size_t idx);

/* Extends lock idx if a third of its TTL has passed since it was last
 * extended (long batches: slow HTTP targets). 0, or -1 when Redis failed;
 * a lock found lost is marked stale (dp_locks_get then returns NULL). */
int dp_locks_refresh(dp_locks *l, xw_redis *r, size_t idx);

/* Marks lock idx stale: a fenced write was refused, a newer holder owns
 * the package. It is forgotten at the next dp_locks_release_idle(). */
void dp_locks_mark_stale(dp_locks *l, size_t idx);

/* Releases (in Redis) and forgets the locks unused for idle_ms, and
 * forgets stale ones. Failures are logged; the lock then expires. */
void dp_locks_release_idle(dp_locks *l, xw_redis *r);
/* Releases every lock (shutdown). */
void dp_locks_release_all(dp_locks *l, xw_redis *r);

/* Number of locks held (for the gauge). */
size_t dp_locks_count(const dp_locks *l);

#endif
