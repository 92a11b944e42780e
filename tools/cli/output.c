/*
 * output.c - how xwdeploy shows things: aligned tables, "label: value"
 * records, the API's errors as one line, package progress.
 *
 * Everything printed from a server answer or a user argument goes through
 * cli_sanitize(): a hostile or broken server must not be able to move the
 * cursor or rewrite the terminal with escape sequences in an object name.
 * Missing fields show as "-", never as a failure, so a renderer survives
 * an answer whose shape has moved.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define CELL_MAX 1024          /* bytes of one rendered cell */
#define UNCAPPED 400           /* characters when a column has no cap */
#define MAX_FINDINGS 1000      /* findings printed under one error */
#define ERROR_EXCERPT 200      /* bytes of a non-JSON error body shown */

static const char ellipsis[] = "\xe2\x80\xa6";   /* U+2026 */

void cli_err(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "xwdeploy: %s\n", msg);
}

void cli_sanitize(const char *s, char *out, size_t outlen)
{
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s;

    if (!outlen)
        return;
    for (; *p && o + 1 < outlen; p++) {
        /* C0 controls, DEL, and C1 controls (U+0080..U+009F, UTF-8
         * C2 80..C2 9F) are what terminals act on. */
        if (*p < 0x20 || *p == 0x7f) {
            out[o++] = '?';
        } else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            out[o++] = '?';
            p++;
        } else {
            out[o++] = (char)*p;
        }
    }
    /* Cut short by outlen: never end inside a UTF-8 sequence. */
    if (*p) {
        size_t lead = o;
        unsigned char b;
        size_t need;

        while (lead > 0 && ((unsigned char)out[lead - 1] & 0xc0) == 0x80)
            lead--;
        if (lead > 0 && ((b = (unsigned char)out[lead - 1]) & 0xc0) == 0xc0) {
            need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
            if (o - (lead - 1) < need)
                o = lead - 1;
        }
    }
    out[o] = '\0';
}

/* Characters (code points) in a UTF-8 string. */
static size_t width(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

/* Cuts s to at most maxw characters, the last being "…". */
static void truncate_to(char *s, size_t size, size_t maxw)
{
    size_t chars = 0, i;

    if (maxw == 0 || width(s) <= maxw)
        return;
    for (i = 0; s[i]; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            if (chars == maxw - 1)
                break;
            chars++;
        }
    }
    if (i + sizeof ellipsis > size)
        i = size - sizeof ellipsis;
    while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
        i--;
    memcpy(s + i, ellipsis, sizeof ellipsis);
}

void cli_iso8601(long long ms, char *out, size_t outlen)
{
    struct tm tm;
    time_t t;

    /* The API speaks epoch milliseconds (Avro timestamp-millis). A value
     * too small to be milliseconds after 1973 is taken as seconds. */
    if (ms > -100000000000LL && ms < 100000000000LL)
        ms *= 1000;
    t = (time_t)(ms / 1000);
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, outlen, "%lld", ms);
        return;
    }
    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int cli_parse_time(const char *s, long long *ms)
{
    struct tm tm, back;
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0, oh = 0, om = 0, sign = 0;
    long long frac = 0;
    time_t t;
    const char *p;

    if (*s && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 16) {
        *ms = strtoll(s, NULL, 10);
        return 0;
    }
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
        return -1;
    p = s + n;
    if (*p == 'T' || *p == ' ') {
        n = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &n) != 2)
            return -1;
        p += 1 + n;
        if (*p == ':') {
            n = 0;
            if (sscanf(p + 1, "%2d%n", &sec, &n) != 1)
                return -1;
            p += 1 + n;
        }
        if (*p == '.') {            /* milliseconds; finer digits dropped */
            int digits = 0;

            for (p++; *p >= '0' && *p <= '9'; p++, digits++)
                if (digits < 3)
                    frac = frac * 10 + (*p - '0');
            for (; digits < 3; digits++)
                frac *= 10;
        }
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            sign = *p == '-' ? -1 : 1;
            n = 0;
            if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2 &&
                (n = 0, sscanf(p + 1, "%2d%2d%n", &oh, &om, &n) != 2))
                return -1;
            p += 1 + n;
        }
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        sec > 60 || oh > 23 || om > 59 || h < 0 || mi < 0 || sec < 0)
        return -1;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    /* Times without an offset are UTC, like the ones we print. */
    if ((t = timegm(&tm)) == (time_t)-1 || !gmtime_r(&t, &back) ||
        back.tm_mday != d)          /* 2026-02-30 */
        return -1;
    *ms = ((long long)t - (long long)sign * (oh * 3600 + om * 60)) * 1000 +
          frac;
    return 0;
}

/* ---- paths ------------------------------------------------------------ */

/* One alternative: dotted keys, or "." for j itself. */
static const json_t *walk(const json_t *j, const char *p, size_t len)
{
    char key[64];

    if (len == 1 && p[0] == '.')
        return j;
    while (j && len) {
        const char *dot = memchr(p, '.', len);
        size_t k = dot ? (size_t)(dot - p) : len;

        if (k >= sizeof key || !json_is_object(j))
            return NULL;
        memcpy(key, p, k);
        key[k] = '\0';
        j = json_object_get(j, key);
        p += k;
        len -= k;
        if (len) {          /* skip the dot */
            p++;
            len--;
        }
    }
    return j;
}

const json_t *cli_json_at(const json_t *j, const char *path)
{
    const char *p = path;

    while (j && p && *p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        const json_t *v = walk(j, p, len);

        if (v && !json_is_null(v))
            return v;
        p = bar ? bar + 1 : NULL;
    }
    return NULL;
}

const char *cli_str_at(const json_t *j, const char *path)
{
    return json_string_value(cli_json_at(j, path));
}

long long cli_int_at(const json_t *j, const char *path, long long def)
{
    const json_t *v = cli_json_at(j, path);

    return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

/* ---- cells ------------------------------------------------------------ */

static void scalar(const json_t *v, enum cli_fmt fmt, char *out, size_t n)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        snprintf(out, n, "%s", json_string_value(v));
        break;
    case JSON_INTEGER:
        if (fmt == FMT_TIME)
            cli_iso8601((long long)json_integer_value(v), out, n);
        else
            snprintf(out, n, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        if (fmt == FMT_TIME)
            cli_iso8601((long long)json_real_value(v), out, n);
        else
            snprintf(out, n, "%g", json_real_value(v));
        break;
    case JSON_TRUE:
        snprintf(out, n, "%s", fmt == FMT_BOOL ? "yes" : "true");
        break;
    case JSON_FALSE:
        snprintf(out, n, "%s", fmt == FMT_BOOL ? "no" : "false");
        break;
    case JSON_NULL:
        snprintf(out, n, "-");
        break;
    case JSON_OBJECT:
    case JSON_ARRAY:
        snprintf(out, n, "%s", json_is_object(v) ? "{…}" : "[…]");
        break;
    }
}

void cli_cell(const json_t *item, const struct cli_col *col, char *out,
              size_t outlen)
{
    char raw[CELL_MAX];
    const json_t *v = cli_json_at(item, col->path);
    size_t i, used = 0;
    json_t *e;

    raw[0] = '\0';
    if (!v) {
        snprintf(raw, sizeof raw, "-");
    } else if (col->fmt == FMT_COUNT) {
        if (json_is_array(v))
            snprintf(raw, sizeof raw, "%zu", json_array_size(v));
        else if (json_is_object(v))
            snprintf(raw, sizeof raw, "%zu", json_object_size(v));
        else
            scalar(v, col->fmt, raw, sizeof raw);
    } else if (json_is_array(v)) {
        /* Lists of scalars ("roles") read best joined. */
        json_array_foreach(v, i, e) {
            int n = snprintf(raw + used, sizeof raw - used, "%s",
                             i ? "," : "");

            if (n < 0 || (size_t)n >= sizeof raw - used)
                break;
            used += (size_t)n;
            scalar(e, col->fmt, raw + used, sizeof raw - used);
            used += strlen(raw + used);
        }
        if (!json_array_size(v))
            snprintf(raw, sizeof raw, "-");
    } else {
        scalar(v, col->fmt, raw, sizeof raw);
    }
    cli_sanitize(raw, out, outlen);
    truncate_to(out, outlen, col->maxw > 0 ? (size_t)col->maxw : UNCAPPED);
}

/* ---- tables ----------------------------------------------------------- */

static void pad(size_t n)
{
    while (n--)
        putchar(' ');
}

void cli_table(const json_t *items, const struct cli_col *cols,
               size_t ncols, int quiet)
{
    size_t w[16] = { 0 }, i, k;
    char cell[CELL_MAX];
    json_t *item;

    if (ncols > sizeof w / sizeof w[0])
        ncols = sizeof w / sizeof w[0];
    if (quiet) {
        /* Ids for pipes: uncapped first column, nothing else. */
        struct cli_col first = cols[0];

        first.maxw = UNCAPPED;
        json_array_foreach(items, i, item) {
            cli_cell(item, &first, cell, sizeof cell);
            puts(cell);
        }
        return;
    }
    /* Two passes over the same rendering instead of storing every cell:
     * a 10,000-object package costs CPU, not memory. */
    for (k = 0; k < ncols; k++)
        w[k] = width(cols[k].header);
    json_array_foreach(items, i, item)
        for (k = 0; k < ncols; k++) {
            cli_cell(item, &cols[k], cell, sizeof cell);
            if (width(cell) > w[k])
                w[k] = width(cell);
        }
    for (k = 0; k < ncols; k++) {
        fputs(cols[k].header, stdout);
        if (k + 1 < ncols)
            pad(w[k] - width(cols[k].header) + 2);
    }
    putchar('\n');
    json_array_foreach(items, i, item) {
        for (k = 0; k < ncols; k++) {
            cli_cell(item, &cols[k], cell, sizeof cell);
            fputs(cell, stdout);
            if (k + 1 < ncols)
                pad(w[k] - width(cell) + 2);
        }
        putchar('\n');
    }
}

int cli_print_list(struct cli *c, const json_t *answer,
                   const char *items_key, const struct cli_col *cols,
                   size_t ncols)
{
    const json_t *items = json_is_array(answer)
                              ? answer
                              : cli_json_at(answer, items_key);
    long long total, offset;
    size_t n;

    if (!json_is_array(items)) {
        cli_err("the server's answer has no '%s' list", items_key);
        return CLI_UNAVAILABLE;
    }
    n = json_array_size(items);
    total = cli_int_at(answer, "total", -1);
    offset = cli_int_at(answer, "offset", 0);
    if (n)
        cli_table(items, cols, ncols, c->quiet);
    if (c->quiet)
        return CLI_OK;
    /* Notes go to stderr so stdout stays a clean table. */
    if (!n && total <= 0)
        fprintf(stderr, "(none)\n");
    else if (total >= 0 && offset + (long long)n < total)
        fprintf(stderr, "%lld-%lld of %lld; next page: --offset %lld\n",
                offset + 1, offset + (long long)n, total,
                offset + (long long)n);
    else if (total >= 0 && offset > 0)
        fprintf(stderr, "%lld-%lld of %lld\n", offset + 1,
                offset + (long long)n, total);
    return CLI_OK;
}

void cli_record(const json_t *obj, const struct cli_col *fields,
                size_t nfields)
{
    char cell[CELL_MAX];
    size_t lw = 0, k;

    for (k = 0; k < nfields; k++)
        if (cli_json_at(obj, fields[k].path) && width(fields[k].header) > lw)
            lw = width(fields[k].header);
    for (k = 0; k < nfields; k++) {
        if (!cli_json_at(obj, fields[k].path))
            continue;
        cli_cell(obj, &fields[k], cell, sizeof cell);
        printf("%s:", fields[k].header);
        pad(lw - width(fields[k].header) + 2);
        printf("%s\n", cell);
    }
}

void cli_section(const char *title, const json_t *items,
                 const struct cli_col *cols, size_t ncols)
{
    size_t n = json_is_array(items) ? json_array_size(items) : 0;

    printf("\n%s (%zu)\n", title, n);
    if (n)
        cli_table(items, cols, ncols, 0);
}

void cli_sections(const json_t *obj, const struct cli_sect *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cli_section(s[i].title, cli_json_at(obj, s[i].key), s[i].cols,
                    s[i].ncols);
}

void cli_print_raw(const xw_buf *body)
{
    fwrite(body->data, 1, body->len, stdout);
    if (!body->len || body->data[body->len - 1] != '\n')
        putchar('\n');
}

/* ---- errors and progress ---------------------------------------------- */

void cli_print_findings(FILE *f, const json_t *findings, const char *skip)
{
    static const struct cli_col fcols[] = {
        { "", "severity", FMT_TEXT, 16 }, { "", "code", FMT_TEXT, 64 },
        { "", "field", FMT_TEXT, 200 }, { "", "message", FMT_TEXT, 0 },
    };
    char sev[64], code[128], field[256], msg[CELL_MAX];
    const json_t *x;
    size_t i;

    json_array_foreach(findings, i, x) {
        const char *m = cli_str_at(x, "message");

        /* A single finding usually is the headline: do not say it twice. */
        if (skip && m && json_array_size(findings) == 1 &&
            strcmp(m, skip) == 0)
            continue;
        if (i == MAX_FINDINGS) {
            fprintf(f, "  … and %zu more findings (see --json)\n",
                    json_array_size(findings) - i);
            break;
        }
        cli_cell(x, &fcols[0], sev, sizeof sev);
        cli_cell(x, &fcols[1], code, sizeof code);
        cli_cell(x, &fcols[2], field, sizeof field);
        cli_cell(x, &fcols[3], msg, sizeof msg);
        fprintf(f, "  %s %s %s: %s\n", sev, code, field, msg);
    }
}

void cli_print_api_error(long status, const xw_buf *body)
{
    json_t *root = json_loadb(body->data, body->len, 0, NULL);
    const json_t *err = cli_json_at(root, "error"), *findings;
    char field[256], msg[CELL_MAX], rule[128], excerpt[ERROR_EXCERPT + 1];
    const char *s;

    if (!json_is_object(err)) {
        /* Not our error shape (a proxy's HTML page, say). */
        size_t n = body->len < ERROR_EXCERPT ? body->len : ERROR_EXCERPT;

        memcpy(excerpt, body->data, n);
        excerpt[n] = '\0';
        cli_sanitize(excerpt, msg, sizeof msg);
        fprintf(stderr, "error: %ld%s%s\n", status, n ? " " : "", msg);
        goto out;
    }
    cli_sanitize((s = cli_str_at(err, "field")) ? s : "", field,
                 sizeof field);
    cli_sanitize((s = cli_str_at(err, "message")) ? s : "(no message)", msg,
                 sizeof msg);
    cli_sanitize((s = cli_str_at(err, "rule")) ? s : "", rule, sizeof rule);
    fprintf(stderr, "error: %lld %s%s%s%s%s%s\n",
            cli_int_at(err, "status", status), field, field[0] ? ": " : "",
            msg, rule[0] ? " (" : "", rule, rule[0] ? ")" : "");
    findings = cli_json_at(err, "findings");
    cli_print_findings(stderr,
                       findings ? findings : cli_json_at(root, "findings"),
                       cli_str_at(err, "message"));
out:
    json_decref(root);
}

void cli_progress(const char *id, const json_t *pkg, int final)
{
    static char last[512];
    static int tty = -1;
    char line[512], status[64], shown_id[80];
    const struct cli_col st = { "", "status", FMT_TEXT, 32 };
    long long excluded = cli_int_at(pkg, "excluded|counts.excluded", 0);
    int n;

    if (tty < 0)
        tty = isatty(STDERR_FILENO);
    cli_cell(pkg, &st, status, sizeof status);
    cli_sanitize(id, shown_id, sizeof shown_id);
    n = snprintf(line, sizeof line,
                 "package %s: %s, deployed %lld/%lld, failed %lld", shown_id,
                 status, cli_int_at(pkg, "deployed|counts.deployed", 0),
                 cli_int_at(pkg, "total|counts.total", 0),
                 cli_int_at(pkg, "failed|counts.failed", 0));
    if (excluded && n > 0 && (size_t)n < sizeof line)
        snprintf(line + n, sizeof line - (size_t)n, ", excluded %lld",
                 excluded);
    if (tty)    /* rewrite one line in place; end it when done */
        fprintf(stderr, "\r%s\033[K%s", line, final ? "\n" : "");
    else if (strcmp(line, last) != 0)
        fprintf(stderr, "%s\n", line);
    snprintf(last, sizeof last, "%s", line);
}
