/*
 * xw_param.c - scheduling-parameter templates. See xw_param.h.
 *
 * One parser serves both entry points: with a context it also writes the
 * resolved value, without one it only validates. Positions in error
 * messages are byte offsets into the whole value.
 */
#include "xw_param.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Offset bounds: 100 years in each unit. */
#define MAX_DAYS 36525LL
#define MAX_MONTHS 1200LL
#define MAX_YEARS 100LL
#define MAX_NUM_DIGITS 6

enum pkind { BIZ, CYC };

/* Fields of a format pattern. */
enum ftok { F_NONE, F_Y4, F_Y2, F_MON, F_DAY, F_HOUR, F_MIN, F_SEC };

enum unit { U_DAY, U_MONTH, U_YEAR, U_HOUR, U_MINUTE };

struct pstate {
    const char *v;
    size_t len;
    const struct xw_param_context *ctx; /* NULL: validate only */
    char *out;
    size_t out_size;
    size_t out_len;
    struct xw_param_error *err;
    int n_expr;
};

__attribute__((format(printf, 4, 5)))
static int fail(struct pstate *st, const char *code, size_t off,
                const char *fmt, ...)
{
    if (st->err) {
        va_list ap;
        st->err->code = code;
        st->err->offset = off;
        va_start(ap, fmt);
        vsnprintf(st->err->message, sizeof st->err->message, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int emit(struct pstate *st, const char *s, size_t n, size_t at)
{
    if (!st->ctx)
        return 0;
    if (st->out_len + n + 1 > st->out_size)
        return fail(st, XW_PARAM_RESULT_TOO_LONG, at,
                    "the resolved value does not fit in %zu bytes",
                    st->out_size ? st->out_size - 1 : 0);
    memcpy(st->out + st->out_len, s, n);
    st->out_len += n;
    st->out[st->out_len] = '\0';
    return 0;
}

static int is_lower(char c) { return c >= 'a' && c <= 'z'; }
static int is_alpha(char c) { return is_lower(c) || (c >= 'A' && c <= 'Z'); }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_sep(char c)
{
    return c == '-' || c == '/' || c == '_' || c == ':' || c == '.';
}

/* Printable rendering of one byte for messages. */
static const char *show(char c, char buf[8])
{
    if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
        snprintf(buf, 8, "\\x%02x", (unsigned char)c);
    else
        snprintf(buf, 8, "%c", c);
    return buf;
}

/* Recognise a field at b[i] (n bytes left). Returns its length, or 0. */
static size_t match_field(const char *b, size_t n, enum ftok *tok)
{
    if (n >= 4 && memcmp(b, "yyyy", 4) == 0) { *tok = F_Y4; return 4; }
    if (n >= 2 && memcmp(b, "yy", 2) == 0) { *tok = F_Y2; return 2; }
    if (n >= 2 && memcmp(b, "mm", 2) == 0) { *tok = F_MON; return 2; }
    if (n >= 2 && memcmp(b, "dd", 2) == 0) { *tok = F_DAY; return 2; }
    if (n >= 4 && memcmp(b, "hh24", 4) == 0) { *tok = F_HOUR; return 4; }
    if (n >= 2 && memcmp(b, "mi", 2) == 0) { *tok = F_MIN; return 2; }
    if (n >= 2 && memcmp(b, "ss", 2) == 0) { *tok = F_SEC; return 2; }
    *tok = F_NONE;
    return 0;
}

static const char *field_name(enum ftok t)
{
    switch (t) {
    case F_Y4: return "yyyy";
    case F_Y2: return "yy";
    case F_MON: return "mm";
    case F_DAY: return "dd";
    case F_HOUR: return "hh24";
    case F_MIN: return "mi";
    case F_SEC: return "ss";
    default: return "?";
    }
}

/*
 * Scan a format starting at v[pos], ending at `end` or at the start of an
 * offset ("-<digit>" / "+<digit>") or at `stop` (',' for add_months).
 * On success *fend is where the format stops and *finest is the unit an
 * offset would use (BIZ only).
 */
static int scan_format(struct pstate *st, size_t pos, size_t end, enum pkind k,
                       char stop, size_t *fend, enum unit *finest)
{
    const char *v = st->v;
    int has_y = 0, has_m = 0, has_d = 0, n_fields = 0;
    size_t i = pos;
    char sb[8];

    while (i < end) {
        char c = v[i];
        enum ftok tok;
        size_t fl;

        if (c == stop)
            break;
        if (stop == ',' && c == ')')
            return fail(st, XW_PARAM_BAD_FUNCTION, i,
                        "add_months needs two arguments, as in "
                        "add_months(yyyymmdd,-1); ')' at offset %zu comes "
                        "too early", i);
        if ((c == '-' || c == '+') && i + 1 < end && is_digit(v[i + 1]))
            break; /* offset */
        fl = match_field(v + i, end - i, &tok);
        if (fl) {
            if (k == BIZ && (tok == F_HOUR || tok == F_MIN || tok == F_SEC))
                return fail(st, XW_PARAM_TOKEN_NOT_ALLOWED, i,
                            "'%s' at offset %zu is a time field; ${...} is "
                            "the business date (day precision), use $[...] "
                            "for the scheduled time", field_name(tok), i);
            has_y |= tok == F_Y4 || tok == F_Y2;
            has_m |= tok == F_MON;
            has_d |= tok == F_DAY;
            n_fields++;
            i += fl;
            continue;
        }
        if (c == 'h' && i + 1 < end && v[i + 1] == 'h')
            return fail(st, XW_PARAM_BAD_TOKEN, i,
                        "'hh' at offset %zu: write hours as hh24", i);
        if (c == '-') {
            /* A separator only when a field follows. */
            enum ftok t2;
            if (i + 1 < end && match_field(v + i + 1, end - i - 1, &t2)) {
                i++;
                continue;
            }
            return fail(st, XW_PARAM_BAD_OFFSET, i,
                        "'-' at offset %zu must be followed by a number "
                        "(an offset) or a date field", i);
        }
        if (c == '+')
            return fail(st, XW_PARAM_BAD_OFFSET, i,
                        "'+' at offset %zu must be followed by a number", i);
        if (is_sep(c)) {
            i++;
            continue;
        }
        if (is_digit(c))
            return fail(st, XW_PARAM_BAD_TOKEN, i,
                        "unexpected digit '%c' at offset %zu; an offset "
                        "needs a sign, as in yyyymmdd-1", c, i);
        return fail(st, XW_PARAM_BAD_TOKEN, i,
                    "'%s' at offset %zu is not a date field (%s) or "
                    "separator (- / _ : .)", show(c, sb), i,
                    k == BIZ ? "yyyy yy mm dd"
                             : "yyyy yy mm dd hh24 mi ss");
    }
    if (n_fields == 0)
        return fail(st, XW_PARAM_EMPTY_PATTERN, pos,
                    "the pattern at offset %zu has no date field "
                    "(yyyy, mm, dd ...)", pos);
    *fend = i;
    *finest = has_d ? U_DAY : has_m ? U_MONTH : U_YEAR;
    (void)has_y;
    return 0;
}

/* Parse digits at v[*i] (1..MAX_NUM_DIGITS). */
static int scan_number(struct pstate *st, size_t *i, size_t end, long long *out)
{
    const char *v = st->v;
    size_t start = *i, nd = 0;
    long long n = 0;

    while (*i < end && is_digit(v[*i])) {
        if (++nd > MAX_NUM_DIGITS)
            return fail(st, XW_PARAM_OFFSET_RANGE, start,
                        "the number at offset %zu has more than %d digits",
                        start, MAX_NUM_DIGITS);
        n = n * 10 + (v[*i] - '0');
        (*i)++;
    }
    if (nd == 0)
        return fail(st, XW_PARAM_BAD_OFFSET, start,
                    "a number is expected at offset %zu", start);
    *out = n;
    return 0;
}

/* N or N*M at v[*i]. */
static int scan_product(struct pstate *st, size_t *i, size_t end,
                        long long *out)
{
    long long a = 0, b = 0; /* set before use; -O3 cannot tell */
    if (scan_number(st, i, end, &a) < 0)
        return -1;
    if (*i < end && st->v[*i] == '*') {
        (*i)++;
        if (scan_number(st, i, end, &b) < 0)
            return -1;
        a *= b; /* both < 10^6: no overflow */
    }
    *out = a;
    return 0;
}

static int check_range(struct pstate *st, size_t at, long long n, enum unit u)
{
    long long lim = u == U_DAY ? MAX_DAYS
                  : u == U_MONTH ? MAX_MONTHS
                  : u == U_YEAR ? MAX_YEARS
                  : u == U_HOUR ? MAX_DAYS * 24
                  : MAX_DAYS * 24 * 60;
    if (n > lim || n < -lim)
        return fail(st, XW_PARAM_OFFSET_RANGE, at,
                    "the offset at offset %zu is more than 100 years", at);
    return 0;
}

int xw_param_add_months(struct xw_tz_civil *c, int months)
{
    long long m0 = (long long)c->year * 12 + (c->month - 1) + months;
    long long y = m0 >= 0 ? m0 / 12 : (m0 - 11) / 12;
    int mon = (int)(m0 - y * 12) + 1;
    int dim;

    if (y < 1 || y > 9999)
        return -1;
    c->year = (int)y;
    c->month = mon;
    dim = xw_tz_days_in_month(c->year, c->month);
    if (c->day > dim)
        c->day = dim;
    return 0;
}

static int add_seconds(struct xw_tz_civil *c, long long secs)
{
    int64_t s = xw_tz_civil_to_seconds(c) + secs;
    xw_tz_seconds_to_civil(s, c);
    return (c->year < 1 || c->year > 9999) ? -1 : 0;
}

static int put_num(struct pstate *st, int val, int width, size_t at)
{
    char buf[16];
    int n = snprintf(buf, sizeof buf, "%0*d", width, val);
    return emit(st, buf, (size_t)n, at);
}

/* Write v[pos..fend) with fields replaced by values from *t. */
static int render(struct pstate *st, size_t pos, size_t fend,
                  const struct xw_tz_civil *t)
{
    size_t i = pos;
    while (i < fend) {
        enum ftok tok;
        size_t fl = match_field(st->v + i, fend - i, &tok);
        int rc = 0;
        if (!fl) {
            if (emit(st, st->v + i, 1, i) < 0)
                return -1;
            i++;
            continue;
        }
        switch (tok) {
        case F_Y4: rc = put_num(st, t->year, 4, i); break;
        case F_Y2: rc = put_num(st, t->year % 100, 2, i); break;
        case F_MON: rc = put_num(st, t->month, 2, i); break;
        case F_DAY: rc = put_num(st, t->day, 2, i); break;
        case F_HOUR: rc = put_num(st, t->hour, 2, i); break;
        case F_MIN: rc = put_num(st, t->minute, 2, i); break;
        case F_SEC: rc = put_num(st, t->second, 2, i); break;
        default: break;
        }
        if (rc < 0)
            return -1;
        i += fl;
    }
    return 0;
}

static int out_of_range(struct pstate *st, size_t at)
{
    return fail(st, XW_PARAM_OUT_OF_RANGE, at,
                "the expression at offset %zu leaves the years 1..9999", at);
}

/* $[add_months(fmt,N)]: body is v[b..e), name already checked. */
static int parse_add_months(struct pstate *st, size_t b, size_t e)
{
    size_t i = b + strlen("add_months("), fstart = i, fend;
    enum unit finest;
    long long n = 0;
    int sign = 1;

    if (scan_format(st, i, e, CYC, ',', &fend, &finest) < 0)
        return -1;
    i = fend;
    if (i < e && (st->v[i] == '-' || st->v[i] == '+'))
        return fail(st, XW_PARAM_BAD_FUNCTION, i,
                    "an offset inside add_months(...) at offset %zu is not "
                    "supported; add_months moves by months only", i);
    if (i >= e || st->v[i] != ',')
        return fail(st, XW_PARAM_BAD_FUNCTION, i,
                    "add_months at offset %zu needs two arguments, as in "
                    "add_months(yyyymmdd,-1)", b);
    i++;
    if (i < e && (st->v[i] == '-' || st->v[i] == '+')) {
        sign = st->v[i] == '-' ? -1 : 1;
        i++;
    }
    if (scan_product(st, &i, e, &n) < 0)
        return -1;
    if (i >= e || st->v[i] != ')')
        return fail(st, XW_PARAM_BAD_FUNCTION, i,
                    "add_months at offset %zu: ')' expected at offset %zu",
                    b, i);
    if (i + 1 != e)
        return fail(st, XW_PARAM_BAD_FUNCTION, i + 1,
                    "unexpected text after add_months(...) at offset %zu",
                    i + 1);
    n *= sign;
    if (check_range(st, b, n, U_MONTH) < 0)
        return -1;
    if (st->ctx) {
        struct xw_tz_civil t = st->ctx->cyctime;
        if (xw_param_add_months(&t, (int)n) < 0)
            return out_of_range(st, b);
        return render(st, fstart, fend, &t);
    }
    return 0;
}

/* ${...} or $[...] starting at v[pos] == '$'. *next receives the index
 * after the closing bracket. */
static int parse_bracket(struct pstate *st, size_t pos, size_t *next)
{
    enum pkind k = st->v[pos + 1] == '{' ? BIZ : CYC;
    char close = k == BIZ ? '}' : ']';
    size_t b = pos + 2, e = b, i, fend;
    enum unit unit;
    long long n = 0;
    int sign = 0;

    while (e < st->len && st->v[e] != close)
        e++;
    if (e >= st->len)
        return fail(st, XW_PARAM_UNTERMINATED, pos,
                    "'%.2s' at offset %zu is not closed by '%c'",
                    st->v + pos, pos, close);
    *next = e + 1;
    st->n_expr++;
    if (e == b)
        return fail(st, XW_PARAM_EMPTY_PATTERN, pos,
                    "'%.2s%c' at offset %zu is empty", st->v + pos, close,
                    pos);

    /* A function call: letters followed by '('. */
    i = b;
    while (i < e && (is_lower(st->v[i]) || st->v[i] == '_'))
        i++;
    if (i < e && st->v[i] == '(') {
        if (i - b == strlen("add_months") &&
            memcmp(st->v + b, "add_months", i - b) == 0) {
            if (k == BIZ)
                return fail(st, XW_PARAM_BAD_FUNCTION, b,
                            "add_months at offset %zu is only available in "
                            "$[...] (scheduled time)", b);
            return parse_add_months(st, b, e);
        }
        return fail(st, XW_PARAM_BAD_FUNCTION, b,
                    "unknown function '%.*s' at offset %zu; the only "
                    "function is add_months(fmt,N)", (int)(i - b),
                    st->v + b, b);
    }

    if (scan_format(st, b, e, k, '\0', &fend, &unit) < 0)
        return -1;
    i = fend;
    if (i < e) {
        size_t at = i;
        sign = st->v[i] == '-' ? -1 : 1;
        i++;
        if (scan_product(st, &i, e, &n) < 0)
            return -1;
        if (k == CYC)
            unit = U_DAY;
        if (i < e && st->v[i] == '/') {
            long long d = 0;
            size_t dat = i;
            if (k == BIZ)
                return fail(st, XW_PARAM_BAD_OFFSET, i,
                            "hour and minute offsets (/24) at offset %zu are "
                            "only available in $[...]", i);
            i++;
            if (scan_number(st, &i, e, &d) < 0)
                return -1;
            if (d != 24)
                return fail(st, XW_PARAM_BAD_OFFSET, dat,
                            "only /24 (hours) and /24/60 (minutes) are "
                            "supported at offset %zu", dat);
            unit = U_HOUR;
            if (i < e && st->v[i] == '/') {
                dat = i;
                i++;
                if (scan_number(st, &i, e, &d) < 0)
                    return -1;
                if (d != 60)
                    return fail(st, XW_PARAM_BAD_OFFSET, dat,
                                "only /24 (hours) and /24/60 (minutes) are "
                                "supported at offset %zu", dat);
                unit = U_MINUTE;
            }
        }
        if (i < e) {
            char sb[8];
            return fail(st, XW_PARAM_BAD_OFFSET, i,
                        "unexpected '%s' at offset %zu after the offset",
                        show(st->v[i], sb), i);
        }
        n *= sign;
        if (check_range(st, at, n, unit) < 0)
            return -1;
    }

    if (!st->ctx)
        return 0;
    {
        struct xw_tz_civil t;
        int rc = 0;
        if (k == BIZ) {
            t = st->ctx->bizdate;
            t.hour = t.minute = t.second = 0;
        } else {
            t = st->ctx->cyctime;
        }
        if (n != 0) {
            switch (unit) {
            case U_DAY: rc = add_seconds(&t, n * 86400); break;
            case U_HOUR: rc = add_seconds(&t, n * 3600); break;
            case U_MINUTE: rc = add_seconds(&t, n * 60); break;
            case U_MONTH: rc = xw_param_add_months(&t, (int)n); break;
            case U_YEAR: rc = xw_param_add_months(&t, (int)n * 12); break;
            }
        }
        if (rc < 0)
            return out_of_range(st, pos);
        return render(st, b, fend, &t);
    }
}

static const char *const sysnames[] = {
    "bizdate", "cyctime", "gmtdate", "bizmonth", "jobid", "nodeid", "taskid"
};

static int put_date(struct pstate *st, const struct xw_tz_civil *t, int with_day,
                    int with_time, size_t at)
{
    if (put_num(st, t->year, 4, at) < 0 || put_num(st, t->month, 2, at) < 0)
        return -1;
    if (with_day && put_num(st, t->day, 2, at) < 0)
        return -1;
    if (with_time && (put_num(st, t->hour, 2, at) < 0 ||
                      put_num(st, t->minute, 2, at) < 0 ||
                      put_num(st, t->second, 2, at) < 0))
        return -1;
    return 0;
}

static int put_id(struct pstate *st, const char *id, const char *name,
                  size_t at)
{
    size_t n;
    if (!id)
        return fail(st, XW_PARAM_RUNTIME_ONLY, at,
                    "$%s at offset %zu is only known when the instance runs",
                    name, at);
    n = strnlen(id, XW_PARAM_ID_MAX + 1);
    if (n > XW_PARAM_ID_MAX)
        return fail(st, XW_PARAM_BAD_CONTEXT, at,
                    "the %s given for $%s is longer than %d bytes", name,
                    name, XW_PARAM_ID_MAX);
    return emit(st, id, n, at);
}

/* $name at v[pos]. */
static int parse_system(struct pstate *st, size_t pos, size_t *next)
{
    size_t i = pos + 1, n;
    int which = -1;

    while (i < st->len && is_alpha(st->v[i]))
        i++;
    n = i - pos - 1;
    *next = i;
    st->n_expr++;
    for (size_t k = 0; k < sizeof sysnames / sizeof sysnames[0]; k++) {
        if (strlen(sysnames[k]) == n && memcmp(sysnames[k], st->v + pos + 1,
                                               n) == 0) {
            which = (int)k;
            break;
        }
    }
    if (which < 0)
        return fail(st, XW_PARAM_UNKNOWN_SYSTEM, pos,
                    "'$%.*s' at offset %zu is not a system parameter "
                    "(known: $bizdate $cyctime $gmtdate $bizmonth $jobid "
                    "$nodeid $taskid)", (int)(n > 32 ? 32 : n),
                    st->v + pos + 1, pos);
    if (!st->ctx)
        return 0;
    const struct xw_param_context *c = st->ctx;
    switch (which) {
    case 0: return put_date(st, &c->bizdate, 1, 0, pos);
    case 1: return put_date(st, &c->cyctime, 1, 1, pos);
    case 2: return put_date(st, &c->cyctime, 1, 0, pos);
    case 3: {
        struct xw_tz_civil m = c->bizdate;
        m.day = 1;
        if (m.year == c->cyctime.year && m.month == c->cyctime.month &&
            xw_param_add_months(&m, -1) < 0)
            return out_of_range(st, pos);
        return put_date(st, &m, 0, 0, pos);
    }
    case 4: return put_id(st, c->jobid, "jobid", pos);
    case 5: return put_id(st, c->nodeid, "nodeid", pos);
    default: return put_id(st, c->taskid, "taskid", pos);
    }
}

static int run(struct pstate *st)
{
    const char *v = st->v;
    size_t pos = 0;
    char sb[8];

    if (!v)
        return fail(st, XW_PARAM_EMPTY, 0, "the value is missing");
    st->len = strnlen(v, XW_PARAM_VALUE_MAX + 1);
    if (st->len == 0)
        return fail(st, XW_PARAM_EMPTY, 0, "the value is empty");
    if (st->len > XW_PARAM_VALUE_MAX)
        return fail(st, XW_PARAM_TOO_LONG, XW_PARAM_VALUE_MAX,
                    "the value is longer than %d bytes", XW_PARAM_VALUE_MAX);
    for (size_t i = 0; i < st->len; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c <= 0x20 || c == 0x7f || c == '=')
            return fail(st, XW_PARAM_FORBIDDEN_CHAR, i,
                        "%s at offset %zu is not allowed in a parameter "
                        "value (no spaces, '=' or control characters)",
                        c == ' ' ? "a space" : c == '=' ? "'='"
                                 : show((char)c, sb), i);
    }
    while (pos < st->len) {
        size_t next = pos;
        if (v[pos] == '$' && pos + 1 < st->len &&
            (v[pos + 1] == '{' || v[pos + 1] == '[')) {
            if (parse_bracket(st, pos, &next) < 0)
                return -1;
            pos = next;
        } else if (v[pos] == '$' && pos + 1 < st->len && is_alpha(v[pos + 1])) {
            if (parse_system(st, pos, &next) < 0)
                return -1;
            pos = next;
        } else {
            if (emit(st, v + pos, 1, pos) < 0)
                return -1;
            pos++;
        }
    }
    return 0;
}

int xw_param_validate(const char *value, int *is_constant,
                      struct xw_param_error *err)
{
    struct pstate st = { .v = value, .err = err };
    int rc;

    if (err) {
        err->code = NULL;
        err->offset = 0;
        err->message[0] = '\0';
    }
    rc = run(&st);
    if (is_constant)
        *is_constant = rc == 0 && st.n_expr == 0;
    return rc;
}

int xw_param_resolve(const char *value, const struct xw_param_context *ctx,
                     char *out, size_t out_size, struct xw_param_error *err)
{
    struct pstate st = { .v = value, .ctx = ctx, .out = out,
                         .out_size = out_size, .err = err };
    struct xw_tz_civil bd;
    int rc = -1;

    if (err) {
        err->code = NULL;
        err->offset = 0;
        err->message[0] = '\0';
    }
    if (!out || out_size == 0) {
        fail(&st, XW_PARAM_RESULT_TOO_LONG, 0, "no room for the result");
        goto out;
    }
    out[0] = '\0';
    if (!ctx) {
        fail(&st, XW_PARAM_BAD_CONTEXT, 0, "no business date or scheduled "
             "time given");
        goto out;
    }
    bd = ctx->bizdate;
    bd.hour = bd.minute = bd.second = 0;
    if (!xw_tz_civil_valid(&bd) || !xw_tz_civil_valid(&ctx->cyctime)) {
        fail(&st, XW_PARAM_BAD_CONTEXT, 0, "the business date or scheduled "
             "time is not a valid calendar date/time");
        goto out;
    }
    rc = run(&st);
out:
    if (rc < 0 && out && out_size > 0)
        out[0] = '\0';
    return rc;
}
