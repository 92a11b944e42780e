/*
 * test_cli_output - the CLI's rendering helpers (tools/cli/output.c):
 * value paths, cells (sanitising, truncation with "…", times), time
 * parsing. The file is included whole so that the test needs no second
 * copy of the CLI's build; it uses nothing but jansson and xw_buf.
 */
#include "xw_test.h"

#include "../../tools/cli/output.c"

static void test_paths(void)
{
    json_t *j = json_pack("{s:s, s:{s:i}, s:n, s:s}", "id", "p-1", "counts",
                          "total", 7, "package_id", "id", "pkg-2");

    ASSERT(j);
    ASSERT_STR_EQ(cli_str_at(j, "id"), "pkg-2");     /* last key wins */
    ASSERT_EQ(cli_int_at(j, "counts.total", -1), 7);
    ASSERT_EQ(cli_int_at(j, "total|counts.total", -1), 7);
    ASSERT_EQ(cli_int_at(j, "counts.missing", -1), -1);
    /* null counts as absent: the alternative is taken */
    ASSERT_STR_EQ(cli_str_at(j, "package_id|id"), "pkg-2");
    ASSERT(cli_json_at(j, ".") == j);
    ASSERT(cli_json_at(j, "id.deeper") == NULL);
    ASSERT(cli_json_at(NULL, "id") == NULL);
    json_decref(j);
}

static void test_cells(void)
{
    json_t *j = json_pack("{s:s, s:s, s:I, s:[s,s], s:b, s:[], s:s}",
                          "name", "abcdefghij", "evil", "a\x1b[2Jb\xc2\x9b",
                          "at", (json_int_t)1764288000000LL, "roles",
                          "admin", "om", "def", 1, "none", "arrow",
                          "x \xe2\x86\x92 y");
    struct cli_col name5 = { "", "name", FMT_TEXT, 5 };
    struct cli_col evil = { "", "evil", FMT_TEXT, 0 };
    struct cli_col at = { "", "at", FMT_TIME, 0 };
    struct cli_col roles = { "", "roles", FMT_TEXT, 0 };
    struct cli_col count = { "", "roles", FMT_COUNT, 0 };
    struct cli_col def = { "", "def", FMT_BOOL, 0 };
    struct cli_col none = { "", "none", FMT_TEXT, 0 };
    struct cli_col missing = { "", "nope", FMT_TEXT, 0 };
    struct cli_col arrow3 = { "", "arrow", FMT_TEXT, 3 };
    char out[256];

    ASSERT(j);
    cli_cell(j, &name5, out, sizeof out);
    ASSERT_STR_EQ(out, "abcd\xe2\x80\xa6");
    cli_cell(j, &evil, out, sizeof out);
    ASSERT_STR_EQ(out, "a?[2Jb?");
    cli_cell(j, &at, out, sizeof out);
    ASSERT_STR_EQ(out, "2025-11-28T00:00:00Z");
    cli_cell(j, &roles, out, sizeof out);
    ASSERT_STR_EQ(out, "admin,om");
    cli_cell(j, &count, out, sizeof out);
    ASSERT_STR_EQ(out, "2");
    cli_cell(j, &def, out, sizeof out);
    ASSERT_STR_EQ(out, "yes");
    cli_cell(j, &none, out, sizeof out);
    ASSERT_STR_EQ(out, "-");
    cli_cell(j, &missing, out, sizeof out);
    ASSERT_STR_EQ(out, "-");
    /* width counts characters, not bytes */
    cli_cell(j, &arrow3, out, sizeof out);
    ASSERT_STR_EQ(out, "x \xe2\x80\xa6");
    json_decref(j);
}

static void test_sanitize_cut(void)
{
    char out[6];

    /* "ab→x" needs 7 bytes; cut at 5 must not split the arrow */
    cli_sanitize("ab\xe2\x86\x92x", out, sizeof out);
    ASSERT_STR_EQ(out, "ab\xe2\x86\x92");
    cli_sanitize("abc\xe2\x86\x92", out, sizeof out);
    ASSERT_STR_EQ(out, "abc");
    cli_sanitize("caf\xc3\xa9", out, sizeof out);
    ASSERT_STR_EQ(out, "caf\xc3\xa9");
}

static void test_times(void)
{
    long long ms = 0;
    char out[32];

    ASSERT_EQ(cli_parse_time("1764288000123", &ms), 0);
    ASSERT_EQ(ms, 1764288000123LL);
    ASSERT_EQ(cli_parse_time("2025-11-28", &ms), 0);
    ASSERT_EQ(ms, 1764288000000LL);
    ASSERT_EQ(cli_parse_time("2025-11-28T08:00+08:00", &ms), 0);
    ASSERT_EQ(ms, 1764288000000LL);
    ASSERT_EQ(cli_parse_time("2025-11-27T19:00:00-0500", &ms), 0);
    ASSERT_EQ(ms, 1764288000000LL);
    ASSERT_EQ(cli_parse_time("2025-11-28T00:00:00.5Z", &ms), 0);
    ASSERT_EQ(ms, 1764288000500LL);
    ASSERT_EQ(cli_parse_time("2025-11-28 00:00:01", &ms), 0);
    ASSERT_EQ(ms, 1764288001000LL);
    ASSERT_EQ(cli_parse_time("2026-02-30", &ms), -1);
    ASSERT_EQ(cli_parse_time("2026-11-26T24:00", &ms), -1);
    ASSERT_EQ(cli_parse_time("2026-11-26Tnoon", &ms), -1);
    ASSERT_EQ(cli_parse_time("2026-11-26Z", &ms), -1);
    ASSERT_EQ(cli_parse_time("", &ms), -1);
    ASSERT_EQ(cli_parse_time("12345678901234567", &ms), -1);
    cli_iso8601(1764288000999LL, out, sizeof out);
    ASSERT_STR_EQ(out, "2025-11-28T00:00:00Z");
    cli_iso8601(1764288000LL, out, sizeof out);       /* seconds */
    ASSERT_STR_EQ(out, "2025-11-28T00:00:00Z");
}

int main(void)
{
    XW_RUN(test_paths);
    XW_RUN(test_cells);
    XW_RUN(test_sanitize_cut);
    XW_RUN(test_times);
    return XW_REPORT();
}
