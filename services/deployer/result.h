/*
 * result - the deployer's ObjectResult per object (xw.results, key =
 * package id): deployed with the destination fields and the effective
 * time, or failed with reason_code / reason. Its id is
 * xw_uuid_derive("deployer", <ObjectMapped event_id>, 0), so a redelivered
 * object yields the same event and the result-reporter counts it once.
 */
#ifndef DP_RESULT_H
#define DP_RESULT_H

#include "deployer.h"

/* Builds the result of a DP_WRITTEN, DP_ALREADY or DP_FAILED item into the
 * deployer's reused value and buffer, occurred_at `now` (ms since the
 * epoch: one clock read for the batch's results, made together), and
 * queues it on the producer. 0, or -1 with err set (the batch is
 * retried). */
int dp_result_emit(struct dp_deployer *d, const struct dp_item *it,
                   int64_t now, char *err, size_t errlen);

#endif
