/*
 * test_param.c - rule 4: scheduling-parameter values (xw_param).
 *
 * Three tables: valid values, invalid values (code + byte offset), and
 * resolutions (value, business date, scheduled time -> expected string).
 * Expected strings are written by hand from the calendar.
 */
#include "xw_param.h"
#include "xw_test.h"

#include <stdlib.h>

/* ---------------------------------------------------------------- */
/* valid                                                             */

static const struct {
    const char *value;
    int is_constant;
} valid_cases[] = {
    { "abc", 1 },
    { "123", 1 },
    { "'123'", 1 },
    { "$1", 1 },                      /* '$' + digit is literal */
    { "cost$", 1 },
    { "$bizdate", 0 },
    { "$cyctime", 0 },
    { "$gmtdate", 0 },
    { "$bizmonth", 0 },
    { "$jobid", 0 },
    { "$nodeid", 0 },
    { "$taskid", 0 },
    { "${yyyymmdd}", 0 },
    { "${yyyymmdd-7}", 0 },
    { "${yyyymmdd+7}", 0 },
    { "${yyyy-mm-dd}", 0 },
    { "${yyyy/mm/dd}", 0 },
    { "${yyyy_mm_dd}", 0 },
    { "${yyyy.mm.dd}", 0 },
    { "${yyyymm}", 0 },
    { "${yyyymm-1}", 0 },
    { "${yyyy}", 0 },
    { "${yyyy-1}", 0 },
    { "${yy}", 0 },
    { "${mm}", 0 },
    { "${dd}", 0 },
    { "${yyyy-mm-dd-1}", 0 },
    { "${yyyymmdd-7*2}", 0 },
    { "${yyyymmdd-36525}", 0 },       /* exactly 100 years of days */
    { "$[yyyymmddhh24miss]", 0 },
    { "$[yyyymmdd-1]", 0 },
    { "$[hh24miss-1/24]", 0 },
    { "$[hh24mi-30/24/60]", 0 },
    { "$[yyyy-mm-dd:hh24:mi:ss]", 0 },
    { "$[yyyymmddhh24+2/24]", 0 },
    { "$[add_months(yyyymmdd,-1)]", 0 },
    { "$[add_months(yyyymmdd,+1)]", 0 },
    { "$[add_months(yyyymmdd,1)]", 0 },
    { "$[add_months(yyyymmdd,-12*2)]", 0 },
    { "$[add_months(yyyy-mm,-1200)]", 0 },
    { "dt_${yyyymmdd}_$[hh24]", 0 },
    { "$bizdate$cyctime", 0 },
};

static void test_valid_values(void)
{
    for (size_t i = 0; i < sizeof valid_cases / sizeof valid_cases[0]; i++) {
        struct xw_param_error e;
        int k = -1;
        if (xw_param_validate(valid_cases[i].value, &k, &e) != 0)
            XW_FAIL_("'%s' refused: %s at %zu: %s", valid_cases[i].value,
                     e.code, e.offset, e.message);
        if (k != valid_cases[i].is_constant)
            XW_FAIL_("'%s': is_constant %d, expected %d",
                     valid_cases[i].value, k, valid_cases[i].is_constant);
    }
}

/* ---------------------------------------------------------------- */
/* invalid                                                           */

static const struct {
    const char *value;
    const char *code;
    size_t offset;
} invalid_cases[] = {
    { "", "param_empty", 0 },
    { "a b", "param_forbidden_char", 1 },
    { "x=1", "param_forbidden_char", 1 },
    { "a\tb", "param_forbidden_char", 1 },
    { "${yyyy mm}", "param_forbidden_char", 6 },
    { "ab\x7f", "param_forbidden_char", 2 },
    { "$bizdat", "param_unknown_system", 0 },
    { "x$cycTime", "param_unknown_system", 1 },
    { "$BIZDATE", "param_unknown_system", 0 },
    { "$bizdatex", "param_unknown_system", 0 },
    { "${yyyymmdd", "param_unterminated", 0 },
    { "ab$[hh24", "param_unterminated", 2 },
    { "${yyyymmdd]", "param_unterminated", 0 },
    { "${}", "param_empty_pattern", 0 },
    { "$[]", "param_empty_pattern", 0 },
    { "${-1}", "param_empty_pattern", 2 },
    { "${//}", "param_empty_pattern", 2 },
    { "${yyyymmdq}", "param_bad_token", 8 },
    { "${YYYYMMDD}", "param_bad_token", 2 },
    { "$[hh]", "param_bad_token", 2 },
    { "$[yyyymmddhh]", "param_bad_token", 10 },
    { "${yyyymmdd1}", "param_bad_token", 10 },
    { "${y}", "param_bad_token", 2 },
    { "${yyyy,mm}", "param_bad_token", 6 },
    { "${hh24}", "param_token_not_allowed", 2 },
    { "${yyyymmddhh24miss}", "param_token_not_allowed", 10 },
    { "${mi}", "param_token_not_allowed", 2 },
    { "${yyyymmdd-}", "param_bad_offset", 10 },
    { "${yyyymmdd+}", "param_bad_offset", 10 },
    { "${yyyymmdd+-1}", "param_bad_offset", 10 },
    { "${yyyymmdd-1x}", "param_bad_offset", 12 },
    { "${yyyymmdd-1-1}", "param_bad_offset", 12 },
    { "${yyyymmdd-1*}", "param_bad_offset", 13 },
    { "${yyyymmdd-1/24}", "param_bad_offset", 12 },
    { "$[hh24-1/25]", "param_bad_offset", 8 },
    { "$[hh24-1/24/61]", "param_bad_offset", 11 },
    { "$[hh24-1/]", "param_bad_offset", 9 },
    { "${yyyymmdd-1234567}", "param_offset_range", 11 },
    { "${yyyymmdd-36526}", "param_offset_range", 10 },
    { "${yyyymm-1201}", "param_offset_range", 8 },
    { "${yyyy+101}", "param_offset_range", 6 },
    { "$[hh24-876601/24]", "param_offset_range", 6 },
    { "$[add_months(yyyymmdd,-1201)]", "param_offset_range", 2 },
    { "$[last_day(yyyymmdd)]", "param_bad_function", 2 },
    { "${add_months(yyyymmdd,1)}", "param_bad_function", 2 },
    { "$[add_months(yyyymmdd)]", "param_bad_function", 21 },
    { "$[add_months(yyyymmdd,-1]", "param_bad_function", 24 },
    { "$[add_months(yyyymmdd,-1)x]", "param_bad_function", 25 },
    { "$[add_months(yyyymmdd-1,1)]", "param_bad_function", 21 },
    { "$[add_months(yyyymmdd,x)]", "param_bad_offset", 22 },
};

static void test_invalid_values(void)
{
    for (size_t i = 0; i < sizeof invalid_cases / sizeof invalid_cases[0];
         i++) {
        struct xw_param_error e;
        int k = 7;
        const char *v = invalid_cases[i].value;
        if (xw_param_validate(v, &k, &e) != -1)
            XW_FAIL_("'%s' accepted", v);
        if (!e.code || strcmp(e.code, invalid_cases[i].code) != 0)
            XW_FAIL_("'%s': code %s, expected %s (%s)", v,
                     e.code ? e.code : "(null)", invalid_cases[i].code,
                     e.message);
        if (e.offset != invalid_cases[i].offset)
            XW_FAIL_("'%s': offset %zu, expected %zu (%s)", v, e.offset,
                     invalid_cases[i].offset, e.message);
        if (k != 0)
            XW_FAIL_("'%s': is_constant %d for an invalid value", v, k);
        if (!e.message[0])
            XW_FAIL_("'%s': empty message", v);
    }
}

static void test_messages_say_what_and_where(void)
{
    struct xw_param_error e;
    ASSERT_EQ(xw_param_validate("${yyyymmdq}", NULL, &e), -1);
    ASSERT(strstr(e.message, "offset 8") != NULL);
    ASSERT(strstr(e.message, "not a date field") != NULL);
    ASSERT_EQ(xw_param_validate("$bizdat", NULL, &e), -1);
    ASSERT(strstr(e.message, "$bizdat") != NULL);
    ASSERT(strstr(e.message, "$bizdate") != NULL); /* lists the known ones */
    ASSERT_EQ(xw_param_validate("${hh24}", NULL, &e), -1);
    ASSERT(strstr(e.message, "$[...]") != NULL);
    ASSERT_EQ(xw_param_validate("a b", NULL, &e), -1);
    ASSERT(strstr(e.message, "space") != NULL);
    ASSERT_EQ(xw_param_validate(NULL, NULL, &e), -1);
    ASSERT_STR_EQ(e.code, "param_empty");
    /* err may be NULL */
    ASSERT_EQ(xw_param_validate("${", NULL, NULL), -1);
}

static void test_length_bound(void)
{
    char *v = malloc(XW_PARAM_VALUE_MAX + 2);
    struct xw_param_error e;
    ASSERT(v != NULL);
    memset(v, 'a', XW_PARAM_VALUE_MAX);
    v[XW_PARAM_VALUE_MAX] = '\0';
    if (xw_param_validate(v, NULL, &e) != 0) {
        free(v);
        XW_FAIL_("a value of exactly %d bytes is refused", XW_PARAM_VALUE_MAX);
    }
    v[XW_PARAM_VALUE_MAX] = 'a';
    v[XW_PARAM_VALUE_MAX + 1] = '\0';
    int rc = xw_param_validate(v, NULL, &e);
    free(v);
    ASSERT_EQ(rc, -1);
    ASSERT_STR_EQ(e.code, "param_too_long");
}

/* ---------------------------------------------------------------- */
/* resolve                                                           */

#define D(y, m, d) { y, m, d, 0, 0, 0 }
#define T(y, m, d, h, mi, s) { y, m, d, h, mi, s }

static const struct {
    const char *value;
    struct xw_tz_civil biz;
    struct xw_tz_civil cyc;
    const char *want;
} resolve_cases[] = {
    /* system parameters */
    { "$bizdate", D(2024, 2, 29), T(2024, 3, 1, 0, 5, 0), "20240229" },
    { "$cyctime", D(2024, 2, 29), T(2024, 3, 1, 0, 5, 0), "20240301000500" },
    { "$gmtdate", D(2024, 2, 29), T(2024, 3, 1, 0, 5, 0), "20240301" },
    /* $bizmonth: business month differs from the current month -> it */
    { "$bizmonth", D(2024, 2, 29), T(2024, 3, 1, 0, 5, 0), "202402" },
    /* same month -> the month before */
    { "$bizmonth", D(2024, 3, 14), T(2024, 3, 15, 1, 0, 0), "202402" },
    { "$bizmonth", D(2024, 1, 10), T(2024, 1, 11, 1, 0, 0), "202312" },
    /* ${...}: business date, day offsets */
    { "${yyyymmdd}", D(2025, 10, 31), T(2025, 11, 1, 0, 0, 0), "20251031" },
    { "${yyyymmdd-1}", D(2024, 3, 1), T(2024, 3, 2, 0, 0, 0), "20240229" },
    { "${yyyymmdd-1}", D(2023, 3, 1), T(2023, 3, 2, 0, 0, 0), "20230228" },
    { "${yyyymmdd-1}", D(2100, 3, 1), T(2100, 3, 2, 0, 0, 0), "21000228" },
    { "${yyyymmdd-1}", D(2000, 3, 1), T(2000, 3, 2, 0, 0, 0), "20000229" },
    { "${yyyymmdd+1}", D(2024, 12, 31), T(2025, 1, 1, 0, 0, 0), "20250101" },
    { "${yyyymmdd-7}", D(2025, 1, 3), T(2025, 1, 4, 0, 0, 0), "20241227" },
    { "${yyyymmdd-7*2}", D(2025, 1, 3), T(2025, 1, 4, 0, 0, 0), "20241220" },
    { "${yyyymmdd+365}", D(2024, 1, 1), T(2024, 1, 2, 0, 0, 0), "20241231" },
    { "${yyyy-mm-dd}", D(2024, 2, 29), T(2024, 3, 1, 0, 0, 0), "2024-02-29" },
    { "${yyyy/mm/dd-1}", D(2024, 1, 1), T(2024, 1, 2, 0, 0, 0), "2023/12/31" },
    { "${yymmdd}", D(2009, 1, 5), T(2009, 1, 6, 0, 0, 0), "090105" },
    { "${yy}", D(2000, 6, 1), T(2000, 6, 2, 0, 0, 0), "00" },
    { "${dd+1}", D(2024, 2, 28), T(2024, 2, 29, 0, 0, 0), "29" },
    /* ${...}: month offsets when the finest field is mm */
    { "${yyyymm}", D(2024, 2, 29), T(2024, 3, 1, 0, 0, 0), "202402" },
    { "${yyyymm-1}", D(2024, 3, 31), T(2024, 4, 1, 0, 0, 0), "202402" },
    { "${yyyymm-1}", D(2024, 1, 15), T(2024, 1, 16, 0, 0, 0), "202312" },
    { "${yyyy-mm+1}", D(2024, 12, 31), T(2025, 1, 1, 0, 0, 0), "2025-01" },
    { "${mm-1}", D(2024, 1, 15), T(2024, 1, 16, 0, 0, 0), "12" },
    { "${yyyymm-12}", D(2024, 2, 29), T(2024, 3, 1, 0, 0, 0), "202302" },
    /* ${...}: year offsets when only the year is shown */
    { "${yyyy-1}", D(2024, 2, 29), T(2024, 3, 1, 0, 0, 0), "2023" },
    { "${yyyy+1}", D(2024, 12, 31), T(2025, 1, 1, 0, 0, 0), "2025" },
    { "${yy-1}", D(2000, 1, 1), T(2000, 1, 2, 0, 0, 0), "99" },
    /* $[...]: scheduled time, day/hour/minute offsets */
    { "$[yyyymmdd]", D(2024, 2, 29), T(2024, 3, 1, 0, 5, 0), "20240301" },
    { "$[yyyymmddhh24miss]", D(2025, 10, 31), T(2025, 11, 1, 0, 0, 0),
      "20251101000000" },
    { "$[yyyymmdd-1]", D(2023, 12, 31), T(2024, 1, 1, 8, 0, 0), "20231231" },
    { "$[yyyymmdd-1]", D(2024, 2, 28), T(2024, 3, 1, 8, 0, 0), "20240229" },
    { "$[yyyymmdd+1]", D(2024, 2, 27), T(2024, 2, 28, 8, 0, 0), "20240229" },
    { "$[yyyymmddhh24miss-1/24]", D(2024, 2, 29), T(2024, 3, 1, 0, 5, 0),
      "20240229230500" },
    { "$[hh24miss-1/24]", D(2024, 2, 29), T(2024, 3, 1, 0, 5, 0), "230500" },
    { "$[yyyymmddhh24mi-30/24/60]", D(2023, 12, 31), T(2024, 1, 1, 0, 10, 0),
      "202312312340" },
    { "$[hh24mi+90/24/60]", D(2024, 5, 1), T(2024, 5, 2, 23, 0, 0), "0030" },
    { "$[yyyy-mm-dd:hh24:mi:ss]", D(2024, 5, 1), T(2024, 5, 2, 7, 8, 9),
      "2024-05-02:07:08:09" },
    { "$[yyyymmdd-7*1]", D(2024, 3, 6), T(2024, 3, 7, 0, 0, 0), "20240229" },
    /* add_months: day clamped to the month's length */
    { "$[add_months(yyyymmdd,-1)]", D(2024, 3, 30), T(2024, 3, 31, 0, 0, 0),
      "20240229" },
    { "$[add_months(yyyymmdd,-1)]", D(2023, 3, 30), T(2023, 3, 31, 0, 0, 0),
      "20230228" },
    { "$[add_months(yyyymmdd,1)]", D(2024, 1, 30), T(2024, 1, 31, 0, 0, 0),
      "20240229" },
    { "$[add_months(yyyymmdd,1)]", D(2024, 12, 14), T(2024, 12, 15, 0, 0, 0),
      "20250115" },
    { "$[add_months(yyyymmdd,-12)]", D(2024, 2, 28), T(2024, 2, 29, 0, 0, 0),
      "20230228" },
    { "$[add_months(yyyy-mm,-12*2)]", D(2024, 2, 28), T(2024, 2, 29, 0, 0, 0),
      "2022-02" },
    { "$[add_months(yyyymmddhh24mi,-1)]", D(2024, 5, 30),
      T(2024, 5, 31, 13, 45, 0), "202404301345" },
    /* templates and constants */
    { "dt_${yyyymmdd}_$[hh24]", D(2024, 2, 29), T(2024, 3, 1, 0, 5, 0),
      "dt_20240229_00" },
    { "abc", D(2024, 2, 29), T(2024, 3, 1, 0, 5, 0), "abc" },
    { "'123'", D(2024, 2, 29), T(2024, 3, 1, 0, 5, 0), "'123'" },
    { "$1", D(2024, 2, 29), T(2024, 3, 1, 0, 5, 0), "$1" },
};

static void test_resolve_table(void)
{
    for (size_t i = 0; i < sizeof resolve_cases / sizeof resolve_cases[0];
         i++) {
        struct xw_param_context ctx = { resolve_cases[i].biz,
                                        resolve_cases[i].cyc, NULL, NULL,
                                        NULL };
        struct xw_param_error e;
        char out[128];
        if (xw_param_resolve(resolve_cases[i].value, &ctx, out, sizeof out,
                             &e) != 0)
            XW_FAIL_("'%s' did not resolve: %s at %zu: %s",
                     resolve_cases[i].value, e.code, e.offset, e.message);
        if (strcmp(out, resolve_cases[i].want) != 0)
            XW_FAIL_("'%s' (case %zu) resolved to \"%s\", expected \"%s\"",
                     resolve_cases[i].value, i, out, resolve_cases[i].want);
    }
}

static void test_resolve_runtime_ids(void)
{
    struct xw_param_context ctx = { D(2024, 2, 29), T(2024, 3, 1, 0, 5, 0),
                                    "job-1", "node-7", "task-9" };
    struct xw_param_error e;
    char out[64];

    ASSERT_EQ(xw_param_resolve("$jobid/$nodeid/$taskid", &ctx, out,
                               sizeof out, &e), 0);
    ASSERT_STR_EQ(out, "job-1/node-7/task-9");
    ctx.nodeid = NULL;
    ASSERT_EQ(xw_param_resolve("$jobid/$nodeid", &ctx, out, sizeof out, &e),
              -1);
    ASSERT_STR_EQ(e.code, "param_runtime_only");
    ASSERT_EQ(e.offset, 7);
    ASSERT_STR_EQ(out, "");
}

static void test_resolve_errors(void)
{
    struct xw_param_context ctx = { D(2024, 2, 29), T(2024, 3, 1, 0, 5, 0),
                                    NULL, NULL, NULL };
    struct xw_param_error e;
    char out[64], tiny[5];

    /* malformed values fail the same way as in validation */
    ASSERT_EQ(xw_param_resolve("${yyyymmdq}", &ctx, out, sizeof out, &e), -1);
    ASSERT_STR_EQ(e.code, "param_bad_token");
    ASSERT_STR_EQ(out, "");
    /* leaving the years 1..9999 */
    ctx.cyctime = (struct xw_tz_civil)T(9999, 12, 31, 12, 0, 0);
    ASSERT_EQ(xw_param_resolve("$[yyyymmdd+1]", &ctx, out, sizeof out, &e),
              -1);
    ASSERT_STR_EQ(e.code, "param_out_of_range");
    ASSERT_EQ(xw_param_resolve("$[add_months(yyyymmdd,1)]", &ctx, out,
                               sizeof out, &e), -1);
    ASSERT_STR_EQ(e.code, "param_out_of_range");
    ctx.bizdate = (struct xw_tz_civil)D(1, 1, 1);
    ctx.cyctime = (struct xw_tz_civil)T(1, 1, 2, 0, 0, 0);
    ASSERT_EQ(xw_param_resolve("${yyyymmdd-1}", &ctx, out, sizeof out, &e),
              -1);
    ASSERT_STR_EQ(e.code, "param_out_of_range");
    /* invalid dates in the context */
    ctx.bizdate = (struct xw_tz_civil)D(2023, 2, 29);
    ctx.cyctime = (struct xw_tz_civil)T(2023, 3, 1, 0, 0, 0);
    ASSERT_EQ(xw_param_resolve("abc", &ctx, out, sizeof out, &e), -1);
    ASSERT_STR_EQ(e.code, "param_bad_context");
    ctx.bizdate = (struct xw_tz_civil)D(2023, 2, 28);
    ctx.cyctime = (struct xw_tz_civil)T(2023, 3, 1, 24, 0, 0);
    ASSERT_EQ(xw_param_resolve("abc", &ctx, out, sizeof out, &e), -1);
    ASSERT_STR_EQ(e.code, "param_bad_context");
    ASSERT_EQ(xw_param_resolve("abc", NULL, out, sizeof out, &e), -1);
    ASSERT_STR_EQ(e.code, "param_bad_context");
    /* output too small: nothing half-written */
    ctx.cyctime = (struct xw_tz_civil)T(2023, 3, 1, 0, 0, 0);
    ASSERT_EQ(xw_param_resolve("$bizdate", &ctx, tiny, sizeof tiny, &e), -1);
    ASSERT_STR_EQ(e.code, "param_result_too_long");
    ASSERT_STR_EQ(tiny, "");
    ASSERT_EQ(xw_param_resolve("abcd", &ctx, tiny, sizeof tiny, &e), 0);
    ASSERT_STR_EQ(tiny, "abcd");
}

static void test_add_months_helper(void)
{
    struct xw_tz_civil c = D(2024, 1, 31);
    ASSERT_EQ(xw_param_add_months(&c, 1), 0);
    ASSERT_EQ(c.month, 2);
    ASSERT_EQ(c.day, 29);
    c = (struct xw_tz_civil)D(2024, 1, 31);
    ASSERT_EQ(xw_param_add_months(&c, -13), 0);
    ASSERT_EQ(c.year, 2022);
    ASSERT_EQ(c.month, 12);
    ASSERT_EQ(c.day, 31);
    c = (struct xw_tz_civil)D(2024, 5, 31);
    ASSERT_EQ(xw_param_add_months(&c, -3), 0);
    ASSERT_EQ(c.month, 2);
    ASSERT_EQ(c.day, 29);
    c = (struct xw_tz_civil)D(1, 1, 1);
    ASSERT_EQ(xw_param_add_months(&c, -1), -1);
}

int main(void)
{
    XW_RUN(test_valid_values);
    XW_RUN(test_invalid_values);
    XW_RUN(test_messages_say_what_and_where);
    XW_RUN(test_length_bound);
    XW_RUN(test_resolve_table);
    XW_RUN(test_resolve_runtime_ids);
    XW_RUN(test_resolve_errors);
    XW_RUN(test_add_months_helper);
    return XW_REPORT();
}
