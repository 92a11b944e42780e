/*
 * xw_param - scheduling-parameter values: validate and resolve.
 *
 * Rule (DESIGN.md, "parameter mappings"): values for workflow and
 * scheduling parameters are "literals or expressions in the supported
 * scheduling-parameter formats ($bizdate, $cyctime, $[yyyymmdd-1],
 * ${yyyy-mm-dd} and the like; reject malformed ones)". The seed refers to
 * DataWorks' "Supported formats for scheduling parameters"; this module
 * follows that page, with the decisions below written down in
 * docs/rules.md ("Scheduling parameters").
 *
 * A value is a template: literal text with expressions embedded.
 *
 *   $bizdate   business date, yyyymmdd            (= ${yyyymmdd})
 *   $cyctime   scheduled time, yyyymmddhh24miss    (= $[yyyymmddhh24miss])
 *   $gmtdate   date of the scheduled time, yyyymmdd
 *   $bizmonth  yyyymm: the business date's month, or the month before it
 *              when the business date lies in the scheduled time's month
 *   $jobid $nodeid $taskid   ids known only when the instance runs
 *   ${fmt[+-off]}   business date (day precision). fmt is made of
 *              yyyy yy mm dd and the separators - / _ : .
 *              The offset unit is the finest field of fmt: days when fmt
 *              has dd, months when it has mm but no dd, years when it has
 *              only yyyy/yy. off is N or N*M (weeks: 7*N).
 *              ${yyyymmdd-7}  ${yyyy-mm-dd}  ${yyyymm-1}  ${yyyy+1}
 *   $[fmt[+-off]]   scheduled time. fmt also takes hh24 mi ss.
 *              off is in days: N, N*M, N/24 (hours), N/24/60 (minutes).
 *              $[yyyymmdd-1]  $[hh24miss-1/24]  $[hh24mi-30/24/60]
 *   $[add_months(fmt,[+-]N)]  scheduled time moved by N months (N*M
 *              allowed: add_months(yyyymmdd,-12*1) is a year back). The day
 *              is clamped to the target month's length (Jan 31 + 1 month
 *              = Feb 28/29). No other function is supported.
 *   anything else is a literal (a constant such as 123 or abc). A '$'
 *   followed by a letter must name a system parameter ($bizdat is an
 *   error, not a literal); a '$' followed by anything other than a
 *   letter, '{' or '[' is literal.
 *
 * Refused anywhere in a value: whitespace, '=' and control characters
 * (DataWorks: "Spaces and = are not supported in parameter expressions";
 * its parameter string is space-separated name=value pairs, so such a
 * value would be split at the destination). Values are 1..XW_PARAM_VALUE_MAX
 * bytes. Offsets are bounded to 100 years in whatever unit.
 *
 * Errors: a malformed value yields ONE error (parsing stops at the first
 * problem), with a stable code, the byte offset where the problem starts
 * and a sentence, e.g.
 *   param_bad_token at 10: "'q' at offset 10 is not a date field ..."
 *
 * No allocation, no globals, no clock: resolution takes the business date
 * and scheduled time from the caller.
 */
#ifndef XW_PARAM_H
#define XW_PARAM_H

#include <stddef.h>

#include "xw_tz.h"

#define XW_PARAM_VALUE_MAX 1024  /* bytes, excluding the NUL */
#define XW_PARAM_ID_MAX 64       /* $jobid/$nodeid/$taskid values */
#define XW_PARAM_MSG_MAX 256

/* Error codes (stable, machine-readable). */
#define XW_PARAM_EMPTY "param_empty"                 /* value is "" */
#define XW_PARAM_TOO_LONG "param_too_long"           /* > XW_PARAM_VALUE_MAX */
#define XW_PARAM_FORBIDDEN_CHAR "param_forbidden_char" /* space, '=', control */
#define XW_PARAM_UNKNOWN_SYSTEM "param_unknown_system" /* $bizdat */
#define XW_PARAM_UNTERMINATED "param_unterminated"   /* ${yyyymmdd */
#define XW_PARAM_EMPTY_PATTERN "param_empty_pattern" /* ${} or ${-1} */
#define XW_PARAM_BAD_TOKEN "param_bad_token"         /* ${yyyymmdq} */
#define XW_PARAM_TOKEN_NOT_ALLOWED "param_token_not_allowed" /* ${hh24} */
#define XW_PARAM_BAD_OFFSET "param_bad_offset"       /* ${yyyymmdd-} */
#define XW_PARAM_OFFSET_RANGE "param_offset_range"   /* > 100 years */
#define XW_PARAM_BAD_FUNCTION "param_bad_function"   /* $[last_day(..)] */
/* Resolution only: */
#define XW_PARAM_RUNTIME_ONLY "param_runtime_only"   /* $jobid without id */
#define XW_PARAM_OUT_OF_RANGE "param_out_of_range"   /* year leaves 1..9999 */
#define XW_PARAM_RESULT_TOO_LONG "param_result_too_long" /* out too small */
#define XW_PARAM_BAD_CONTEXT "param_bad_context"     /* invalid dates given */

struct xw_param_error {
    const char *code;  /* one of the XW_PARAM_* codes; static storage */
    size_t offset;     /* byte offset in the value where the problem is */
    char message[XW_PARAM_MSG_MAX];
};

/* What xw_param_resolve() needs. Borrowed for the duration of the call. */
struct xw_param_context {
    /* Business date; only year, month, day are read. */
    struct xw_tz_civil bizdate;
    /* Scheduled time of the instance (civil, destination wall clock). */
    struct xw_tz_civil cyctime;
    /* Runtime ids; NULL when not known (e.g. a preview before the run):
     * a value using them then fails with param_runtime_only. */
    const char *jobid;
    const char *nodeid;
    const char *taskid;
};

/* Validate `value`. Returns 0 when it is a valid literal or template, -1
 * otherwise with *err filled (err may be NULL). *is_constant (may be NULL)
 * is set to 1 when the value contains no expression at all. */
int xw_param_validate(const char *value, int *is_constant,
                      struct xw_param_error *err);

/* Resolve `value` against `ctx` into out[0..out_size) (always
 * NUL-terminated when out_size > 0). Returns 0, or -1 with *err filled;
 * on failure out holds "" (nothing half-written). Date arithmetic is civil
 * (calendar) arithmetic: month ends, leap years and year boundaries roll
 * as on a calendar, and no time zone or DST is involved. */
int xw_param_resolve(const char *value, const struct xw_param_context *ctx,
                     char *out, size_t out_size, struct xw_param_error *err);

/* Civil helpers used by the resolver (exposed for tests and callers).
 * Add `months` to a date, clamping the day to the target month's length.
 * Returns -1 when the result leaves years 1..9999. */
int xw_param_add_months(struct xw_tz_civil *c, int months);

#endif
