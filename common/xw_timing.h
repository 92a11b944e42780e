/*
 * xw_timing - when a deployed object takes effect (rule 6).
 *
 * The seed ("Deployment timing"): "The time at which a deployment takes
 * effect depends on the node's instance generation mode."
 *
 *   mode       condition                                  takes effect
 *   next_day   deployed before 23:30                      the instance generated the next day
 *   next_day   deployed at or after 23:30                 the instance generated on the third day
 *   immediate  scheduling time at least 10 minutes        at the scheduled time as planned
 *              after deployment
 *   immediate  scheduling time within 10 minutes of       the instance generated on the third day
 *              deployment, or deployed at or after 23:30
 *
 * DESIGN.md: judged "in the destination's time zone at the deploy time
 * recorded in the event (never the wall clock of a later reader)". So the
 * inputs are the deploy instant (UTC milliseconds from the event) and the
 * destination's IANA zone; nothing here reads a clock.
 *
 * Precisely (D = the deploy instant's local date in the zone, S = the
 * object's scheduled time of day, "instance of day X" = the instance whose
 * scheduled time is X at S):
 *
 *   rule code                 when                                  effective
 *   next_day_before_cutoff    next_day, local time <  23:30:00.000  D+1 at S
 *   next_day_after_cutoff     next_day, local time >= 23:30:00.000  D+2 at S
 *   immediate_after_cutoff    immediate, local time >= 23:30:00.000 D+2 at S
 *                             (the 23:30 rule wins over everything)
 *   immediate_as_scheduled    immediate, instant(D,S) - deploy      D   at S
 *                             >= 10 min
 *   immediate_within_10min    immediate, 0 <= instant(D,S) - deploy D+2 at S
 *                             < 10 min
 *   immediate_time_passed     immediate, instant(D,S) < deploy      D+1 at S
 *     (the document is silent. Decision: today's instance is already past
 *     its time and cannot pick the change up; the next instance that can is
 *     tomorrow's, which is generated at 23:30 tonight - after this deploy -
 *     so it runs the new version at its scheduled time.)
 *
 * The 10-minute distance is measured between real instants (milliseconds
 * on the UTC time line), so on a DST day a deploy at 01:55 CET before a
 * 03:00 CEST schedule is 5 minutes away, not 65.
 *
 * Wall-clock times that do not exist or exist twice in the zone (DST) are
 * resolved as xw_tz_from_local() does: a scheduled time inside a gap is
 * shifted forward by the gap (Berlin 2026-03-29 02:30 -> 03:30 CEST), one
 * inside an overlap takes its first occurrence (Berlin 2026-10-25 02:30 ->
 * 02:30 CEST). `fold` in the result says which applied.
 *
 * Errors (return -1, result->error set, result->rule NULL):
 *   timing_unknown_zone     zone name well formed but no tzdata file
 *   timing_invalid_zone     zone name malformed, or file unusable
 *   timing_invalid_time     scheduled time outside 00:00:00..23:59:59
 *   timing_invalid_mode     mode is not next_day / immediate
 *   timing_out_of_range     deploy instant outside years 1..9999
 */
#ifndef XW_TIMING_H
#define XW_TIMING_H

#include <stdint.h>

#include "xw_tz.h"

enum xw_gen_mode {
    XW_GEN_NEXT_DAY = 0,  /* "Next Day" instance generation */
    XW_GEN_IMMEDIATE = 1  /* "Immediately after deployment" */
};

/* Rule codes (stable). */
#define XW_TIMING_NEXT_DAY_BEFORE_CUTOFF "next_day_before_cutoff"
#define XW_TIMING_NEXT_DAY_AFTER_CUTOFF "next_day_after_cutoff"
#define XW_TIMING_IMMEDIATE_AS_SCHEDULED "immediate_as_scheduled"
#define XW_TIMING_IMMEDIATE_WITHIN_10MIN "immediate_within_10min"
#define XW_TIMING_IMMEDIATE_AFTER_CUTOFF "immediate_after_cutoff"
#define XW_TIMING_IMMEDIATE_TIME_PASSED "immediate_time_passed"
/* Error codes (stable). */
#define XW_TIMING_UNKNOWN_ZONE "timing_unknown_zone"
#define XW_TIMING_INVALID_ZONE "timing_invalid_zone"
#define XW_TIMING_INVALID_TIME "timing_invalid_time"
#define XW_TIMING_INVALID_MODE "timing_invalid_mode"
#define XW_TIMING_OUT_OF_RANGE "timing_out_of_range"

#define XW_TIMING_CUTOFF_MS (((23 * 60) + 30) * 60 * 1000LL) /* 23:30 */
#define XW_TIMING_LEAD_MS (10 * 60 * 1000LL)                 /* 10 min */

struct xw_timing_input {
    int64_t deploy_utc_ms;  /* deploy instant from the event */
    const char *zone;       /* destination IANA zone, e.g. "Asia/Shanghai";
                             * only read by xw_timing_effective() */
    enum xw_gen_mode mode;
    int sched_hour;         /* scheduled time of day, destination wall */
    int sched_minute;       /* clock: 0..23, 0..59, 0..59 */
    int sched_second;
};

struct xw_timing_result {
    const char *rule;   /* XW_TIMING_* rule code, NULL on error */
    const char *error;  /* XW_TIMING_* error code, NULL on success */
    struct xw_tz_civil deploy_local; /* deploy instant on the zone's clock */
    int deploy_local_ms;             /* its millisecond part 0..999 */
    int day_offset;                  /* effective date - deploy date: 0..2 */
    struct xw_tz_civil effective_local; /* effective date at the scheduled
                                         * time, as requested (before any
                                         * gap shift) */
    int64_t effective_utc_ms;        /* the instant that instance runs */
    enum xw_tz_fold fold;            /* gap/overlap applied to it */
    char message[256];  /* a sentence for people, success or failure */
};

/* Effective time of a deployed object, `in->zone` loaded through the
 * shared zone cache (xw_tz_get). 0 on success, -1 on error (see top). */
int xw_timing_effective(const struct xw_timing_input *in,
                        struct xw_timing_result *out);

/* Same with a zone the caller holds (`in->zone` is not read). */
int xw_timing_effective_tz(const struct xw_tz *tz,
                           const struct xw_timing_input *in,
                           struct xw_timing_result *out);

#endif
