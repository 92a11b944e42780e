/*
 * xw_timing.c - effective time of a deployed object. See xw_timing.h.
 */
#include "xw_timing.h"

#include <stdio.h>
#include <string.h>

static int64_t floor_div_ms(int64_t a)
{
    int64_t q = a / 1000;
    if (a % 1000 != 0 && a < 0)
        q--;
    return q;
}

static void set_error(struct xw_timing_result *out, const char *code,
                      const char *msg)
{
    out->rule = NULL;
    out->error = code;
    snprintf(out->message, sizeof out->message, "%s", msg);
}

static const char *explain(const char *rule)
{
    if (strcmp(rule, XW_TIMING_NEXT_DAY_BEFORE_CUTOFF) == 0)
        return "next-day mode, deployed before 23:30: the instance generated "
               "the next day";
    if (strcmp(rule, XW_TIMING_NEXT_DAY_AFTER_CUTOFF) == 0)
        return "next-day mode, deployed at or after 23:30: the instance "
               "generated on the third day";
    if (strcmp(rule, XW_TIMING_IMMEDIATE_AFTER_CUTOFF) == 0)
        return "immediate mode, deployed at or after 23:30: the instance "
               "generated on the third day";
    if (strcmp(rule, XW_TIMING_IMMEDIATE_AS_SCHEDULED) == 0)
        return "immediate mode, scheduled time at least 10 minutes after "
               "deployment: today at the scheduled time";
    if (strcmp(rule, XW_TIMING_IMMEDIATE_WITHIN_10MIN) == 0)
        return "immediate mode, scheduled time within 10 minutes of "
               "deployment: the instance generated on the third day";
    return "immediate mode, scheduled time already passed today: the next "
           "day's instance";
}

int xw_timing_effective_tz(const struct xw_tz *tz,
                           const struct xw_timing_input *in,
                           struct xw_timing_result *out)
{
    struct xw_tz_civil eff;
    int64_t utc_s, tod_ms, today_s, eff_s, days;
    const char *rule;
    int k, rc = -1;

    memset(out, 0, sizeof *out);
    if (!tz || !in) {
        set_error(out, XW_TIMING_INVALID_ZONE, "no time zone given");
        goto out;
    }
    if (in->mode != XW_GEN_NEXT_DAY && in->mode != XW_GEN_IMMEDIATE) {
        set_error(out, XW_TIMING_INVALID_MODE, "the instance generation mode "
                  "must be next_day or immediate");
        goto out;
    }
    if (in->sched_hour < 0 || in->sched_hour > 23 || in->sched_minute < 0 ||
        in->sched_minute > 59 || in->sched_second < 0 ||
        in->sched_second > 59) {
        set_error(out, XW_TIMING_INVALID_TIME, "the scheduled time must lie "
                  "between 00:00:00 and 23:59:59");
        goto out;
    }
    utc_s = floor_div_ms(in->deploy_utc_ms);
    out->deploy_local_ms = (int)(in->deploy_utc_ms - utc_s * 1000);
    if (xw_tz_to_local(tz, utc_s, &out->deploy_local, NULL) != XW_TZ_OK ||
        out->deploy_local.year < 2 || out->deploy_local.year > 9998) {
        set_error(out, XW_TIMING_OUT_OF_RANGE, "the deploy time is out of "
                  "range");
        goto out;
    }
    tod_ms = ((int64_t)out->deploy_local.hour * 3600 +
              out->deploy_local.minute * 60 + out->deploy_local.second) *
                 1000 + out->deploy_local_ms;

    /* Today's scheduled instant, needed by the immediate rules. */
    eff = out->deploy_local;
    eff.hour = in->sched_hour;
    eff.minute = in->sched_minute;
    eff.second = in->sched_second;
    if (xw_tz_from_local(tz, &eff, &today_s, NULL) != XW_TZ_OK) {
        set_error(out, XW_TIMING_OUT_OF_RANGE, "the scheduled time is out of "
                  "range");
        goto out;
    }

    if (in->mode == XW_GEN_NEXT_DAY) {
        if (tod_ms < XW_TIMING_CUTOFF_MS) {
            rule = XW_TIMING_NEXT_DAY_BEFORE_CUTOFF;
            k = 1;
        } else {
            rule = XW_TIMING_NEXT_DAY_AFTER_CUTOFF;
            k = 2;
        }
    } else if (tod_ms >= XW_TIMING_CUTOFF_MS) {
        rule = XW_TIMING_IMMEDIATE_AFTER_CUTOFF;
        k = 2;
    } else {
        int64_t lead = today_s * 1000 - in->deploy_utc_ms;
        if (lead >= XW_TIMING_LEAD_MS) {
            rule = XW_TIMING_IMMEDIATE_AS_SCHEDULED;
            k = 0;
        } else if (lead >= 0) {
            rule = XW_TIMING_IMMEDIATE_WITHIN_10MIN;
            k = 2;
        } else {
            rule = XW_TIMING_IMMEDIATE_TIME_PASSED;
            k = 1;
        }
    }

    days = xw_tz_days_from_civil(out->deploy_local.year,
                                 out->deploy_local.month,
                                 out->deploy_local.day) + k;
    xw_tz_civil_from_days(days, &eff.year, &eff.month, &eff.day);
    if (xw_tz_from_local(tz, &eff, &eff_s, &out->fold) != XW_TZ_OK) {
        set_error(out, XW_TIMING_OUT_OF_RANGE, "the effective time is out of "
                  "range");
        goto out;
    }
    out->rule = rule;
    out->day_offset = k;
    out->effective_local = eff;
    out->effective_utc_ms = eff_s * 1000;
    snprintf(out->message, sizeof out->message,
             "deployed %04d-%02d-%02d %02d:%02d:%02d %s; %s: takes effect "
             "%04d-%02d-%02d %02d:%02d:%02d%s",
             out->deploy_local.year, out->deploy_local.month,
             out->deploy_local.day, out->deploy_local.hour,
             out->deploy_local.minute, out->deploy_local.second,
             xw_tz_name(tz), explain(rule), eff.year, eff.month, eff.day,
             eff.hour, eff.minute, eff.second,
             out->fold == XW_TZ_GAP ? " (skipped by the clock change, runs "
                                      "at the first moment after it)"
             : out->fold == XW_TZ_OVERLAP ? " (first of the two such times "
                                            "on that day)"
                                          : "");
    rc = 0;
out:
    return rc;
}

int xw_timing_effective(const struct xw_timing_input *in,
                        struct xw_timing_result *out)
{
    const struct xw_tz *tz = NULL;
    int st;

    if (!in) {
        memset(out, 0, sizeof *out);
        set_error(out, XW_TIMING_INVALID_ZONE, "no input given");
        return -1;
    }
    st = xw_tz_get(in->zone, &tz);
    if (st != XW_TZ_OK) {
        char msg[160];
        memset(out, 0, sizeof *out);
        snprintf(msg, sizeof msg, "time zone '%.*s': %s", XW_TZ_NAME_MAX,
                 in->zone ? in->zone : "", xw_tz_strerror(st));
        set_error(out, st == XW_TZ_ERR_UNKNOWN ? XW_TIMING_UNKNOWN_ZONE
                                               : XW_TIMING_INVALID_ZONE,
                  msg);
        return -1;
    }
    return xw_timing_effective_tz(tz, in, out);
}
