/*
 * test_timing.c - rule 6 (xw_timing) and the zone reader it stands on
 * (xw_tz).
 *
 * Expected instants are written independently of the code under test:
 * timegm() from libc turns a UTC wall time into seconds, and the zone
 * offsets are the known ones (Shanghai +8 all year; Berlin CET +1 / CEST
 * +2 with 2026 changes at 01:00 UTC on 29 March and 25 October; New York
 * EST -5 / EDT -4 with 2026 changes on 8 March and 1 November).
 */
#include "xw_test.h"
#include "xw_timing.h"
#include "xw_tz.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int64_t utc_ms(int y, int mo, int d, int h, int mi, int s, int ms)
{
    struct tm tm = { 0 };
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* Run the rule; returns 0/-1 and fills *r. */
static int eff(const char *zone, enum xw_gen_mode mode, int64_t deploy_ms,
               int sh, int sm, int ss, struct xw_timing_result *r)
{
    struct xw_timing_input in = { deploy_ms, zone, mode, sh, sm, ss };
    return xw_timing_effective(&in, r);
}

#define ASSERT_DATE(c, y, m, d)                                            \
    do {                                                                   \
        ASSERT_EQ((c).year, (y));                                          \
        ASSERT_EQ((c).month, (m));                                         \
        ASSERT_EQ((c).day, (d));                                           \
    } while (0)

/* ---------------------------------------------------------------- */
/* next_day around 23:30 (Asia/Shanghai, UTC+8, no DST)              */

static void test_next_day_before_cutoff_last_ms(void)
{
    struct xw_timing_result r;
    /* 2026-06-15 23:29:59.999 +08 = 15:29:59.999 UTC */
    ASSERT_EQ(eff("Asia/Shanghai", XW_GEN_NEXT_DAY,
                  utc_ms(2026, 6, 15, 15, 29, 59, 999), 2, 0, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "next_day_before_cutoff");
    ASSERT_EQ(r.day_offset, 1);
    ASSERT_DATE(r.effective_local, 2026, 6, 16);
    /* 2026-06-16 02:00 +08 */
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2026, 6, 15, 18, 0, 0, 0));
    ASSERT_EQ(r.deploy_local.hour, 23);
    ASSERT_EQ(r.deploy_local.minute, 29);
    ASSERT_EQ(r.deploy_local_ms, 999);
    ASSERT(r.error == NULL);
}

static void test_next_day_at_cutoff(void)
{
    struct xw_timing_result r;
    ASSERT_EQ(eff("Asia/Shanghai", XW_GEN_NEXT_DAY,
                  utc_ms(2026, 6, 15, 15, 30, 0, 0), 2, 0, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "next_day_after_cutoff");
    ASSERT_EQ(r.day_offset, 2);
    ASSERT_DATE(r.effective_local, 2026, 6, 17);
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2026, 6, 16, 18, 0, 0, 0));
}

static void test_next_day_early_morning(void)
{
    struct xw_timing_result r;
    /* 00:00:00.000 local is before the cutoff of the same day */
    ASSERT_EQ(eff("Asia/Shanghai", XW_GEN_NEXT_DAY,
                  utc_ms(2026, 6, 14, 16, 0, 0, 0), 0, 0, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "next_day_before_cutoff");
    ASSERT_DATE(r.deploy_local, 2026, 6, 15);
    ASSERT_DATE(r.effective_local, 2026, 6, 16);
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2026, 6, 15, 16, 0, 0, 0));
}

static void test_next_day_year_and_leap_boundaries(void)
{
    struct xw_timing_result r;
    /* 2026-12-31 23:30 +08 -> third day is 2027-01-02 */
    ASSERT_EQ(eff("Asia/Shanghai", XW_GEN_NEXT_DAY,
                  utc_ms(2026, 12, 31, 15, 30, 0, 0), 1, 0, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "next_day_after_cutoff");
    ASSERT_DATE(r.effective_local, 2027, 1, 2);
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2027, 1, 1, 17, 0, 0, 0));
    /* 2028-02-28 12:00 -> 2028-02-29 (leap year) */
    ASSERT_EQ(eff("Asia/Shanghai", XW_GEN_NEXT_DAY,
                  utc_ms(2028, 2, 28, 4, 0, 0, 0), 1, 0, 0, &r), 0);
    ASSERT_DATE(r.effective_local, 2028, 2, 29);
    /* 2028-02-28 23:45 -> 2028-03-01 */
    ASSERT_EQ(eff("Asia/Shanghai", XW_GEN_NEXT_DAY,
                  utc_ms(2028, 2, 28, 15, 45, 0, 0), 1, 0, 0, &r), 0);
    ASSERT_DATE(r.effective_local, 2028, 3, 1);
    /* 2027-02-28 23:45 -> 2027-03-02 (not a leap year) */
    ASSERT_EQ(eff("Asia/Shanghai", XW_GEN_NEXT_DAY,
                  utc_ms(2027, 2, 28, 15, 45, 0, 0), 1, 0, 0, &r), 0);
    ASSERT_DATE(r.effective_local, 2027, 3, 2);
}

/* The local date decides, not the UTC date. */
static void test_local_date_not_utc_date(void)
{
    struct xw_timing_result r;
    /* 2026-06-15 20:00 UTC = 2026-06-16 04:00 +08 */
    ASSERT_EQ(eff("Asia/Shanghai", XW_GEN_NEXT_DAY,
                  utc_ms(2026, 6, 15, 20, 0, 0, 0), 3, 0, 0, &r), 0);
    ASSERT_DATE(r.deploy_local, 2026, 6, 16);
    ASSERT_DATE(r.effective_local, 2026, 6, 17);
    /* ... and 15:29 UTC is 23:29 local: before the cutoff even though
     * 15:29 is nowhere near 23:30 in UTC; 15:30 UTC is at it. */
    ASSERT_EQ(eff("Asia/Shanghai", XW_GEN_NEXT_DAY,
                  utc_ms(2026, 6, 15, 15, 30, 0, 0), 3, 0, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "next_day_after_cutoff");
}

/* ---------------------------------------------------------------- */
/* immediate: the 10-minute lead (scheduled 14:00:00 Shanghai)       */

static void test_immediate_exactly_10_minutes(void)
{
    struct xw_timing_result r;
    /* deploy 13:50:00.000 local = 05:50 UTC */
    ASSERT_EQ(eff("Asia/Shanghai", XW_GEN_IMMEDIATE,
                  utc_ms(2026, 6, 15, 5, 50, 0, 0), 14, 0, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "immediate_as_scheduled");
    ASSERT_EQ(r.day_offset, 0);
    ASSERT_DATE(r.effective_local, 2026, 6, 15);
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2026, 6, 15, 6, 0, 0, 0));
}

static void test_immediate_9_59_999_before(void)
{
    struct xw_timing_result r;
    ASSERT_EQ(eff("Asia/Shanghai", XW_GEN_IMMEDIATE,
                  utc_ms(2026, 6, 15, 5, 50, 0, 1), 14, 0, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "immediate_within_10min");
    ASSERT_EQ(r.day_offset, 2);
    ASSERT_DATE(r.effective_local, 2026, 6, 17);
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2026, 6, 17, 6, 0, 0, 0));
}

static void test_immediate_10_00_001_before(void)
{
    struct xw_timing_result r;
    ASSERT_EQ(eff("Asia/Shanghai", XW_GEN_IMMEDIATE,
                  utc_ms(2026, 6, 15, 5, 49, 59, 999), 14, 0, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "immediate_as_scheduled");
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2026, 6, 15, 6, 0, 0, 0));
}

static void test_immediate_at_scheduled_instant(void)
{
    struct xw_timing_result r;
    /* lead 0 is "within 10 minutes" */
    ASSERT_EQ(eff("Asia/Shanghai", XW_GEN_IMMEDIATE,
                  utc_ms(2026, 6, 15, 6, 0, 0, 0), 14, 0, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "immediate_within_10min");
    ASSERT_DATE(r.effective_local, 2026, 6, 17);
}

/* The decision for the case the document leaves open. */
static void test_immediate_time_passed(void)
{
    struct xw_timing_result r;
    /* 1 ms after the scheduled time: next day's instance at 14:00 */
    ASSERT_EQ(eff("Asia/Shanghai", XW_GEN_IMMEDIATE,
                  utc_ms(2026, 6, 15, 6, 0, 0, 1), 14, 0, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "immediate_time_passed");
    ASSERT_EQ(r.day_offset, 1);
    ASSERT_DATE(r.effective_local, 2026, 6, 16);
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2026, 6, 16, 6, 0, 0, 0));
    /* long passed: 22:00 local, scheduled 01:00 */
    ASSERT_EQ(eff("Asia/Shanghai", XW_GEN_IMMEDIATE,
                  utc_ms(2026, 6, 15, 14, 0, 0, 0), 1, 0, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "immediate_time_passed");
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2026, 6, 15, 17, 0, 0, 0));
}

static void test_immediate_cutoff_wins(void)
{
    struct xw_timing_result r;
    /* 23:29:59.999 with 23:45 scheduled: 15 min lead, as scheduled */
    ASSERT_EQ(eff("Asia/Shanghai", XW_GEN_IMMEDIATE,
                  utc_ms(2026, 6, 15, 15, 29, 59, 999), 23, 45, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "immediate_as_scheduled");
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2026, 6, 15, 15, 45, 0, 0));
    /* 23:30:00.000 with 23:45 scheduled: the 23:30 rule wins */
    ASSERT_EQ(eff("Asia/Shanghai", XW_GEN_IMMEDIATE,
                  utc_ms(2026, 6, 15, 15, 30, 0, 0), 23, 45, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "immediate_after_cutoff");
    ASSERT_DATE(r.effective_local, 2026, 6, 17);
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2026, 6, 17, 15, 45, 0, 0));
    /* 23:40 with 10:00 scheduled (already passed): still the 23:30 rule */
    ASSERT_EQ(eff("Asia/Shanghai", XW_GEN_IMMEDIATE,
                  utc_ms(2026, 6, 15, 15, 40, 0, 0), 10, 0, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "immediate_after_cutoff");
    ASSERT_DATE(r.effective_local, 2026, 6, 17);
}

/* ---------------------------------------------------------------- */
/* Europe/Berlin across the 2026 changes                             */

static void test_berlin_spring_gap_next_day(void)
{
    struct xw_timing_result r;
    /* 2026-03-28 23:29:59.999 CET = 22:29:59.999 UTC; scheduled 02:30,
     * which does not exist on 29 March: shifted to 03:30 CEST. */
    ASSERT_EQ(eff("Europe/Berlin", XW_GEN_NEXT_DAY,
                  utc_ms(2026, 3, 28, 22, 29, 59, 999), 2, 30, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "next_day_before_cutoff");
    ASSERT_DATE(r.effective_local, 2026, 3, 29);
    ASSERT_EQ(r.effective_local.hour, 2);
    ASSERT_EQ(r.effective_local.minute, 30);
    ASSERT_EQ(r.fold, XW_TZ_GAP);
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2026, 3, 29, 1, 30, 0, 0));
    /* 23:30:00.000 CET: third day, 2026-03-30 02:30 CEST = 00:30 UTC */
    ASSERT_EQ(eff("Europe/Berlin", XW_GEN_NEXT_DAY,
                  utc_ms(2026, 3, 28, 22, 30, 0, 0), 2, 30, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "next_day_after_cutoff");
    ASSERT_DATE(r.effective_local, 2026, 3, 30);
    ASSERT_EQ(r.fold, XW_TZ_UNIQUE);
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2026, 3, 30, 0, 30, 0, 0));
}

static void test_berlin_spring_cutoff_in_summer_time(void)
{
    struct xw_timing_result r;
    /* 2026-03-29 23:29:59.999 CEST = 21:29:59.999 UTC (offset now +2) */
    ASSERT_EQ(eff("Europe/Berlin", XW_GEN_NEXT_DAY,
                  utc_ms(2026, 3, 29, 21, 29, 59, 999), 9, 0, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "next_day_before_cutoff");
    ASSERT_DATE(r.effective_local, 2026, 3, 30);
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2026, 3, 30, 7, 0, 0, 0));
    ASSERT_EQ(eff("Europe/Berlin", XW_GEN_NEXT_DAY,
                  utc_ms(2026, 3, 29, 21, 30, 0, 0), 9, 0, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "next_day_after_cutoff");
    ASSERT_DATE(r.effective_local, 2026, 3, 31);
}

static void test_berlin_spring_lead_is_real_time(void)
{
    struct xw_timing_result r;
    /* deploy 01:55 CET (00:55 UTC), scheduled 03:00 CEST (01:00 UTC):
     * 65 minutes on the wall clock but 5 real minutes. */
    ASSERT_EQ(eff("Europe/Berlin", XW_GEN_IMMEDIATE,
                  utc_ms(2026, 3, 29, 0, 55, 0, 0), 3, 0, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "immediate_within_10min");
    ASSERT_DATE(r.effective_local, 2026, 3, 31);
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2026, 3, 31, 1, 0, 0, 0));
    /* deploy 01:49:59.999 CET: 10:00.001 before 03:00 CEST */
    ASSERT_EQ(eff("Europe/Berlin", XW_GEN_IMMEDIATE,
                  utc_ms(2026, 3, 29, 0, 49, 59, 999), 3, 0, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "immediate_as_scheduled");
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2026, 3, 29, 1, 0, 0, 0));
}

static void test_berlin_autumn_overlap(void)
{
    struct xw_timing_result r;
    /* next_day from 2026-10-24 12:00 CEST; 02:30 on 25 October happens
     * twice: the first (CEST, 00:30 UTC) is taken. */
    ASSERT_EQ(eff("Europe/Berlin", XW_GEN_NEXT_DAY,
                  utc_ms(2026, 10, 24, 10, 0, 0, 0), 2, 30, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "next_day_before_cutoff");
    ASSERT_DATE(r.effective_local, 2026, 10, 25);
    ASSERT_EQ(r.fold, XW_TZ_OVERLAP);
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2026, 10, 25, 0, 30, 0, 0));
    /* immediate at 02:15 CEST (00:15 UTC) before 02:30: 15 min lead */
    ASSERT_EQ(eff("Europe/Berlin", XW_GEN_IMMEDIATE,
                  utc_ms(2026, 10, 25, 0, 15, 0, 0), 2, 30, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "immediate_as_scheduled");
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2026, 10, 25, 0, 30, 0, 0));
    /* immediate at 02:15 CET (second pass, 01:15 UTC): today's 02:30 is
     * the first one, already past -> next day 02:30 CET = 01:30 UTC */
    ASSERT_EQ(eff("Europe/Berlin", XW_GEN_IMMEDIATE,
                  utc_ms(2026, 10, 25, 1, 15, 0, 0), 2, 30, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "immediate_time_passed");
    ASSERT_DATE(r.effective_local, 2026, 10, 26);
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2026, 10, 26, 1, 30, 0, 0));
}

static void test_berlin_autumn_cutoff_in_winter_time(void)
{
    struct xw_timing_result r;
    /* 2026-10-25 23:29:59.999 CET = 22:29:59.999 UTC (offset now +1) */
    ASSERT_EQ(eff("Europe/Berlin", XW_GEN_NEXT_DAY,
                  utc_ms(2026, 10, 25, 22, 29, 59, 999), 9, 0, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "next_day_before_cutoff");
    ASSERT_DATE(r.effective_local, 2026, 10, 26);
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2026, 10, 26, 8, 0, 0, 0));
    /* the same UTC minute one day earlier was 23:29 CEST: +2 */
    ASSERT_EQ(eff("Europe/Berlin", XW_GEN_NEXT_DAY,
                  utc_ms(2026, 10, 24, 21, 30, 0, 0), 9, 0, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "next_day_after_cutoff");
    ASSERT_DATE(r.effective_local, 2026, 10, 26);
}

/* ---------------------------------------------------------------- */
/* America/New_York                                                  */

static void test_new_york(void)
{
    struct xw_timing_result r;
    /* 2026-03-07 23:45 EST = 2026-03-08 04:45 UTC: third day is 9 March,
     * 09:00 EDT = 13:00 UTC */
    ASSERT_EQ(eff("America/New_York", XW_GEN_NEXT_DAY,
                  utc_ms(2026, 3, 8, 4, 45, 0, 0), 9, 0, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "next_day_after_cutoff");
    ASSERT_DATE(r.deploy_local, 2026, 3, 7);
    ASSERT_DATE(r.effective_local, 2026, 3, 9);
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2026, 3, 9, 13, 0, 0, 0));
    /* 2026-03-07 23:00 EST: next day, 8 March 09:00 EDT = 13:00 UTC */
    ASSERT_EQ(eff("America/New_York", XW_GEN_NEXT_DAY,
                  utc_ms(2026, 3, 8, 4, 0, 0, 0), 9, 0, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "next_day_before_cutoff");
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2026, 3, 8, 13, 0, 0, 0));
    /* 2026-06-15 23:30:00.000 EDT = 2026-06-16 03:30 UTC */
    ASSERT_EQ(eff("America/New_York", XW_GEN_IMMEDIATE,
                  utc_ms(2026, 6, 16, 3, 30, 0, 0), 23, 50, 0, &r), 0);
    ASSERT_STR_EQ(r.rule, "immediate_after_cutoff");
    ASSERT_DATE(r.effective_local, 2026, 6, 17);
    /* 2026-11-01 01:30 happens twice in New York: first is EDT */
    ASSERT_EQ(eff("America/New_York", XW_GEN_NEXT_DAY,
                  utc_ms(2026, 10, 31, 16, 0, 0, 0), 1, 30, 0, &r), 0);
    ASSERT_EQ(r.fold, XW_TZ_OVERLAP);
    ASSERT_EQ(r.effective_utc_ms, utc_ms(2026, 11, 1, 5, 30, 0, 0));
}

/* ---------------------------------------------------------------- */
/* errors                                                            */

static void test_errors(void)
{
    struct xw_timing_result r;
    int64_t t = utc_ms(2026, 6, 15, 5, 0, 0, 0);

    ASSERT_EQ(eff("Mars/Olympus_Mons", XW_GEN_NEXT_DAY, t, 1, 0, 0, &r), -1);
    ASSERT_STR_EQ(r.error, "timing_unknown_zone");
    ASSERT(r.rule == NULL);
    ASSERT_EQ(eff("Europe", XW_GEN_NEXT_DAY, t, 1, 0, 0, &r), -1);
    ASSERT_STR_EQ(r.error, "timing_unknown_zone");
    ASSERT_EQ(eff("../etc/passwd", XW_GEN_NEXT_DAY, t, 1, 0, 0, &r), -1);
    ASSERT_STR_EQ(r.error, "timing_invalid_zone");
    ASSERT_EQ(eff("/etc/passwd", XW_GEN_NEXT_DAY, t, 1, 0, 0, &r), -1);
    ASSERT_STR_EQ(r.error, "timing_invalid_zone");
    ASSERT_EQ(eff("", XW_GEN_NEXT_DAY, t, 1, 0, 0, &r), -1);
    ASSERT_STR_EQ(r.error, "timing_invalid_zone");
    ASSERT_EQ(eff(NULL, XW_GEN_NEXT_DAY, t, 1, 0, 0, &r), -1);
    ASSERT_STR_EQ(r.error, "timing_invalid_zone");
    ASSERT_EQ(eff("Asia/Shanghai", XW_GEN_NEXT_DAY, t, 24, 0, 0, &r), -1);
    ASSERT_STR_EQ(r.error, "timing_invalid_time");
    ASSERT_EQ(eff("Asia/Shanghai", XW_GEN_NEXT_DAY, t, 1, 60, 0, &r), -1);
    ASSERT_STR_EQ(r.error, "timing_invalid_time");
    ASSERT_EQ(eff("Asia/Shanghai", XW_GEN_NEXT_DAY, t, -1, 0, 0, &r), -1);
    ASSERT_STR_EQ(r.error, "timing_invalid_time");
    ASSERT_EQ(eff("Asia/Shanghai", (enum xw_gen_mode)7, t, 1, 0, 0, &r), -1);
    ASSERT_STR_EQ(r.error, "timing_invalid_mode");
    ASSERT_EQ(eff("Asia/Shanghai", XW_GEN_NEXT_DAY, INT64_MAX / 2, 1, 0, 0,
                  &r), -1);
    ASSERT_STR_EQ(r.error, "timing_out_of_range");
}

static void test_message_names_rule_and_zone(void)
{
    struct xw_timing_result r;
    ASSERT_EQ(eff("Europe/Berlin", XW_GEN_NEXT_DAY,
                  utc_ms(2026, 3, 28, 22, 30, 0, 0), 2, 30, 0, &r), 0);
    ASSERT(strstr(r.message, "Europe/Berlin") != NULL);
    ASSERT(strstr(r.message, "23:30") != NULL);
    ASSERT(strstr(r.message, "2026-03-30 02:30:00") != NULL);
}

/* ---------------------------------------------------------------- */
/* xw_tz directly                                                    */

static void test_tz_calendar_against_libc(void)
{
    /* every day 1899-12-01 .. 2101-02-01 against timegm/gmtime_r */
    for (int64_t s = utc_ms(1899, 12, 1, 0, 0, 0, 0) / 1000;
         s < utc_ms(2101, 2, 1, 0, 0, 0, 0) / 1000; s += 86400 + 3661) {
        struct tm tm;
        time_t tt = (time_t)s;
        struct xw_tz_civil c;
        gmtime_r(&tt, &tm);
        xw_tz_seconds_to_civil(s, &c);
        ASSERT_EQ(c.year, tm.tm_year + 1900);
        ASSERT_EQ(c.month, tm.tm_mon + 1);
        ASSERT_EQ(c.day, tm.tm_mday);
        ASSERT_EQ(c.hour, tm.tm_hour);
        ASSERT_EQ(c.second, tm.tm_sec);
        ASSERT_EQ(xw_tz_weekday(xw_tz_days_from_civil(c.year, c.month,
                                                      c.day)), tm.tm_wday);
        ASSERT_EQ(xw_tz_civil_to_seconds(&c), s);
    }
    ASSERT_EQ(xw_tz_days_in_month(1900, 2), 28);
    ASSERT_EQ(xw_tz_days_in_month(2000, 2), 29);
    ASSERT_EQ(xw_tz_days_in_month(2024, 2), 29);
    ASSERT_EQ(xw_tz_days_in_month(2100, 2), 28);
    ASSERT_EQ(xw_tz_days_in_month(2026, 4), 30);
    ASSERT_EQ(xw_tz_days_in_month(2026, 13), 0);
}

static void test_tz_offsets_and_folds(void)
{
    struct xw_tz *tz = NULL;
    struct xw_tz_civil c = { 2026, 3, 29, 2, 30, 0 };
    enum xw_tz_fold fold;
    int32_t off;
    int dst;
    int64_t u;

    ASSERT_EQ(xw_tz_load("Europe/Berlin", &tz), XW_TZ_OK);
    ASSERT_STR_EQ(xw_tz_name(tz), "Europe/Berlin");
    /* 00:59:59 UTC CET, 01:00:00 UTC CEST */
    ASSERT_EQ(xw_tz_offset_at(tz, utc_ms(2026, 3, 29, 0, 59, 59, 0) / 1000,
                              &off, &dst), XW_TZ_OK);
    ASSERT_EQ(off, 3600);
    ASSERT_EQ(dst, 0);
    ASSERT_EQ(xw_tz_offset_at(tz, utc_ms(2026, 3, 29, 1, 0, 0, 0) / 1000,
                              &off, &dst), XW_TZ_OK);
    ASSERT_EQ(off, 7200);
    ASSERT_EQ(dst, 1);
    ASSERT_EQ(xw_tz_from_local(tz, &c, &u, &fold), XW_TZ_OK);
    ASSERT_EQ(fold, XW_TZ_GAP);
    ASSERT_EQ(u, utc_ms(2026, 3, 29, 1, 30, 0, 0) / 1000);
    c = (struct xw_tz_civil){ 2026, 3, 29, 1, 59, 59 };
    ASSERT_EQ(xw_tz_from_local(tz, &c, &u, &fold), XW_TZ_OK);
    ASSERT_EQ(fold, XW_TZ_UNIQUE);
    ASSERT_EQ(u, utc_ms(2026, 3, 29, 0, 59, 59, 0) / 1000);
    c = (struct xw_tz_civil){ 2026, 3, 29, 3, 0, 0 };
    ASSERT_EQ(xw_tz_from_local(tz, &c, &u, &fold), XW_TZ_OK);
    ASSERT_EQ(fold, XW_TZ_UNIQUE);
    ASSERT_EQ(u, utc_ms(2026, 3, 29, 1, 0, 0, 0) / 1000);
    c = (struct xw_tz_civil){ 2026, 10, 25, 2, 0, 0 };
    ASSERT_EQ(xw_tz_from_local(tz, &c, &u, &fold), XW_TZ_OK);
    ASSERT_EQ(fold, XW_TZ_OVERLAP);
    ASSERT_EQ(u, utc_ms(2026, 10, 25, 0, 0, 0, 0) / 1000);
    c = (struct xw_tz_civil){ 2026, 10, 25, 3, 0, 0 };
    ASSERT_EQ(xw_tz_from_local(tz, &c, &u, &fold), XW_TZ_OK);
    ASSERT_EQ(fold, XW_TZ_UNIQUE);
    ASSERT_EQ(u, utc_ms(2026, 10, 25, 2, 0, 0, 0) / 1000);
    c = (struct xw_tz_civil){ 2026, 2, 30, 3, 0, 0 };
    ASSERT_EQ(xw_tz_from_local(tz, &c, &u, &fold), XW_TZ_ERR_RANGE);
    xw_tz_free(tz);
}

/* Far future: past the transition table, the footer's POSIX rule. */
static void test_tz_footer_rule(void)
{
    const struct xw_tz *ny = NULL, *syd = NULL, *ber = NULL;
    int32_t off;

    ASSERT_EQ(xw_tz_get("America/New_York", &ny), XW_TZ_OK);
    ASSERT_EQ(xw_tz_get("Australia/Sydney", &syd), XW_TZ_OK);
    ASSERT_EQ(xw_tz_get("Europe/Berlin", &ber), XW_TZ_OK);
    /* US: second Sunday of March .. first Sunday of November. In 2100
     * that is 14 March and 7 November. */
    ASSERT_EQ(xw_tz_offset_at(ny, utc_ms(2100, 1, 15, 12, 0, 0, 0) / 1000,
                              &off, NULL), 0);
    ASSERT_EQ(off, -5 * 3600);
    ASSERT_EQ(xw_tz_offset_at(ny, utc_ms(2100, 3, 14, 6, 59, 59, 0) / 1000,
                              &off, NULL), 0);
    ASSERT_EQ(off, -5 * 3600);
    ASSERT_EQ(xw_tz_offset_at(ny, utc_ms(2100, 3, 14, 7, 0, 0, 0) / 1000,
                              &off, NULL), 0);
    ASSERT_EQ(off, -4 * 3600);
    ASSERT_EQ(xw_tz_offset_at(ny, utc_ms(2100, 11, 7, 5, 59, 59, 0) / 1000,
                              &off, NULL), 0);
    ASSERT_EQ(off, -4 * 3600);
    ASSERT_EQ(xw_tz_offset_at(ny, utc_ms(2100, 11, 7, 6, 0, 0, 0) / 1000,
                              &off, NULL), 0);
    ASSERT_EQ(off, -5 * 3600);
    /* Southern hemisphere: summer time across the new year */
    ASSERT_EQ(xw_tz_offset_at(syd, utc_ms(2090, 1, 1, 0, 0, 0, 0) / 1000,
                              &off, NULL), 0);
    ASSERT_EQ(off, 11 * 3600);
    ASSERT_EQ(xw_tz_offset_at(syd, utc_ms(2090, 7, 1, 0, 0, 0, 0) / 1000,
                              &off, NULL), 0);
    ASSERT_EQ(off, 10 * 3600);
    /* EU: last Sunday of March 01:00 UTC. 2100-03-28 is a Sunday. */
    ASSERT_EQ(xw_tz_offset_at(ber, utc_ms(2100, 3, 28, 0, 59, 59, 0) / 1000,
                              &off, NULL), 0);
    ASSERT_EQ(off, 3600);
    ASSERT_EQ(xw_tz_offset_at(ber, utc_ms(2100, 3, 28, 1, 0, 0, 0) / 1000,
                              &off, NULL), 0);
    ASSERT_EQ(off, 7200);
}

static void test_tz_names_and_files(void)
{
    struct xw_tz *tz = (struct xw_tz *)1;
    const struct xw_tz *a = NULL, *b = NULL;
    char dir[] = "/tmp/xw_tz_test_XXXXXX";
    char path[256];
    unsigned char buf[128];
    int fd, n;

    ASSERT_EQ(xw_tz_load("No/Such_Zone", &tz), XW_TZ_ERR_UNKNOWN);
    ASSERT(tz == NULL);
    ASSERT_EQ(xw_tz_load("Europe/../Europe/Berlin", &tz), XW_TZ_ERR_NAME);
    ASSERT_EQ(xw_tz_load("Europe//Berlin", &tz), XW_TZ_ERR_NAME);
    ASSERT_EQ(xw_tz_load("Europe/Berlin/", &tz), XW_TZ_ERR_NAME);
    ASSERT_EQ(xw_tz_load("Europe/Ber lin", &tz), XW_TZ_ERR_NAME);
    /* 65 bytes: one over the cap */
    ASSERT_EQ(xw_tz_load("Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                         "/B", &tz), XW_TZ_ERR_NAME);
    /* leap-second zones are refused */
    ASSERT_EQ(xw_tz_load("right/Europe/Berlin", &tz), XW_TZ_ERR_FORMAT);
    ASSERT(tz == NULL);
    /* the cache hands out the same immutable object */
    ASSERT_EQ(xw_tz_get("Asia/Shanghai", &a), XW_TZ_OK);
    ASSERT_EQ(xw_tz_get("Asia/Shanghai", &b), XW_TZ_OK);
    ASSERT(a == b);
    ASSERT_EQ(xw_tz_get("No/Such_Zone", &a), XW_TZ_ERR_UNKNOWN);
    ASSERT(a == NULL);

    /* a truncated file is not a zone */
    ASSERT(mkdtemp(dir) != NULL);
    fd = open("/usr/share/zoneinfo/Europe/Berlin", O_RDONLY);
    ASSERT(fd >= 0);
    n = (int)read(fd, buf, sizeof buf);
    close(fd);
    ASSERT_EQ(n, (int)sizeof buf);
    snprintf(path, sizeof path, "%s/Cut", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT(fd >= 0);
    ASSERT_EQ(write(fd, buf, sizeof buf), (ssize_t)sizeof buf);
    close(fd);
    ASSERT_EQ(xw_tz_load_dir(dir, "Cut", &tz), XW_TZ_ERR_FORMAT);
    ASSERT(tz == NULL);
    /* not TZif at all */
    snprintf(path, sizeof path, "%s/Text", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT(fd >= 0);
    memset(buf, 'x', sizeof buf);
    ASSERT_EQ(write(fd, buf, sizeof buf), (ssize_t)sizeof buf);
    close(fd);
    ASSERT_EQ(xw_tz_load_dir(dir, "Text", &tz), XW_TZ_ERR_FORMAT);
    unlink(path);
    snprintf(path, sizeof path, "%s/Cut", dir);
    unlink(path);
    rmdir(dir);
}

/* Many threads, one cache, no TZ juggling: every answer identical. */
struct thr_arg {
    int bad;
};

static void *thr_main(void *p)
{
    struct thr_arg *ta = p;
    static const char *zones[] = { "Europe/Berlin", "Asia/Shanghai",
                                   "America/New_York", "Australia/Sydney" };
    for (int i = 0; i < 200; i++) {
        struct xw_timing_result r;
        struct xw_timing_input in = {
            utc_ms(2026, 3, 28, 22, 29, 59, 999), zones[i % 4],
            XW_GEN_NEXT_DAY, 2, 30, 0
        };
        if (xw_timing_effective(&in, &r) != 0)
            ta->bad++;
        else if (i % 4 == 0 &&
                 r.effective_utc_ms != utc_ms(2026, 3, 29, 1, 30, 0, 0))
            ta->bad++;
    }
    return NULL;
}

static void test_threads(void)
{
    pthread_t th[4];
    struct thr_arg ta[4] = { { 0 } };
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(pthread_create(&th[i], NULL, thr_main, &ta[i]), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ASSERT_EQ(ta[i].bad, 0);
    }
}

int main(void)
{
    XW_RUN(test_next_day_before_cutoff_last_ms);
    XW_RUN(test_next_day_at_cutoff);
    XW_RUN(test_next_day_early_morning);
    XW_RUN(test_next_day_year_and_leap_boundaries);
    XW_RUN(test_local_date_not_utc_date);
    XW_RUN(test_immediate_exactly_10_minutes);
    XW_RUN(test_immediate_9_59_999_before);
    XW_RUN(test_immediate_10_00_001_before);
    XW_RUN(test_immediate_at_scheduled_instant);
    XW_RUN(test_immediate_time_passed);
    XW_RUN(test_immediate_cutoff_wins);
    XW_RUN(test_berlin_spring_gap_next_day);
    XW_RUN(test_berlin_spring_cutoff_in_summer_time);
    XW_RUN(test_berlin_spring_lead_is_real_time);
    XW_RUN(test_berlin_autumn_overlap);
    XW_RUN(test_berlin_autumn_cutoff_in_winter_time);
    XW_RUN(test_new_york);
    XW_RUN(test_errors);
    XW_RUN(test_message_names_rule_and_zone);
    XW_RUN(test_tz_calendar_against_libc);
    XW_RUN(test_tz_offsets_and_folds);
    XW_RUN(test_tz_footer_rule);
    XW_RUN(test_tz_names_and_files);
    XW_RUN(test_threads);
    xw_tz_cache_clear();
    return XW_REPORT();
}
