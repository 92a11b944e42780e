/*
 * xw_tz.c - TZif reader and civil-time arithmetic. See xw_tz.h.
 */
#include "xw_tz.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Sanity bounds on what a zone may say (RFC 8536 allows -2^31+1..2^31-1;
 * real zones stay within +-26 hours). */
#define XW_TZ_UTOFF_LIMIT (26 * 3600)
/* Civil range 0001-01-01 .. 9999-12-31 in epoch seconds. */
#define XW_TZ_MIN_S (-62135596800LL)
#define XW_TZ_MAX_S (253402300799LL)

struct xw_tz_type {
    int32_t utoff;
    uint8_t isdst;
};

/* A POSIX TZ rule date: Jn, n or Mm.w.d, plus a time of day (seconds,
 * may be negative or beyond 24h as RFC 8536 allows). */
struct xw_tz_rdate {
    char kind; /* 'J', 'D' (zero-based day) or 'M' */
    int a, b, c; /* J: a=n; D: a=n; M: a=month b=week c=weekday */
    int32_t time;
};

struct xw_tz_rule {
    int present;   /* footer had a rule */
    int has_dst;
    int32_t std_off; /* seconds east of UTC */
    int32_t dst_off;
    struct xw_tz_rdate start, end;
};

struct xw_tz {
    char name[XW_TZ_NAME_MAX + 1];
    size_t timecnt;
    int64_t *trans;  /* ascending */
    uint8_t *idx;    /* type of each transition */
    size_t typecnt;
    struct xw_tz_type *types;
    struct xw_tz_rule rule;
};

/* ------------------------------------------------------------------ */
/* civil calendar                                                      */

int xw_tz_is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int xw_tz_days_in_month(int year, int month)
{
    static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (month < 1 || month > 12)
        return 0;
    if (month == 2 && xw_tz_is_leap(year))
        return 29;
    return dm[month - 1];
}

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t xw_tz_days_from_civil(int year, int month, int day)
{
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (month + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void xw_tz_civil_from_days(int64_t days, int *year, int *month, int *day)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *year = (int)(y + (m <= 2));
    *month = (int)m;
    *day = (int)d;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

int xw_tz_weekday(int64_t days)
{
    /* 1970-01-01 was a Thursday (4). */
    int64_t w = (days + 4) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

int xw_tz_civil_valid(const struct xw_tz_civil *c)
{
    if (!c || c->year < 1 || c->year > 9999 || c->month < 1 || c->month > 12)
        return 0;
    if (c->day < 1 || c->day > xw_tz_days_in_month(c->year, c->month))
        return 0;
    if (c->hour < 0 || c->hour > 23 || c->minute < 0 || c->minute > 59 ||
        c->second < 0 || c->second > 59)
        return 0;
    return 1;
}

int64_t xw_tz_civil_to_seconds(const struct xw_tz_civil *c)
{
    return xw_tz_days_from_civil(c->year, c->month, c->day) * 86400 +
           c->hour * 3600 + c->minute * 60 + c->second;
}

void xw_tz_seconds_to_civil(int64_t s, struct xw_tz_civil *out)
{
    int64_t days = floor_div(s, 86400);
    int64_t rem = s - days * 86400;
    xw_tz_civil_from_days(days, &out->year, &out->month, &out->day);
    out->hour = (int)(rem / 3600);
    out->minute = (int)(rem % 3600 / 60);
    out->second = (int)(rem % 60);
}

/* ------------------------------------------------------------------ */
/* POSIX TZ footer                                                     */

/* Parse [+-]hh[:mm[:ss]] with hours 0..max_h; *p advanced. */
static int parse_hms(const char **p, int max_h, int32_t *out)
{
    const char *s = *p;
    int sign = 1, h = 0, m = 0, sec = 0, nd = 0;

    if (*s == '+' || *s == '-') {
        sign = *s == '-' ? -1 : 1;
        s++;
    }
    while (*s >= '0' && *s <= '9' && nd < 3) {
        h = h * 10 + (*s++ - '0');
        nd++;
    }
    if (nd == 0 || h > max_h)
        return -1;
    if (*s == ':') {
        s++;
        if (!(s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9'))
            return -1;
        m = (s[0] - '0') * 10 + (s[1] - '0');
        s += 2;
        if (m > 59)
            return -1;
        if (*s == ':') {
            s++;
            if (!(s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9'))
                return -1;
            sec = (s[0] - '0') * 10 + (s[1] - '0');
            s += 2;
            if (sec > 59)
                return -1;
        }
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    *p = s;
    return 0;
}

static int parse_tzname(const char **p)
{
    const char *s = *p;
    size_t n = 0;
    if (*s == '<') {
        s++;
        while (*s && *s != '>') {
            s++;
            n++;
        }
        if (*s != '>' || n < 3)
            return -1;
        s++;
    } else {
        while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) {
            s++;
            n++;
        }
        if (n < 3)
            return -1;
    }
    *p = s;
    return 0;
}

static int parse_num(const char **p, int lo, int hi, int *out)
{
    const char *s = *p;
    int v = 0, nd = 0;
    while (*s >= '0' && *s <= '9' && nd < 4) {
        v = v * 10 + (*s++ - '0');
        nd++;
    }
    if (nd == 0 || v < lo || v > hi)
        return -1;
    *out = v;
    *p = s;
    return 0;
}

static int parse_rdate(const char **p, struct xw_tz_rdate *d)
{
    const char *s = *p;
    if (*s == 'J') {
        s++;
        d->kind = 'J';
        if (parse_num(&s, 1, 365, &d->a) < 0)
            return -1;
    } else if (*s == 'M') {
        s++;
        d->kind = 'M';
        if (parse_num(&s, 1, 12, &d->a) < 0 || *s++ != '.' ||
            parse_num(&s, 1, 5, &d->b) < 0 || *s++ != '.' ||
            parse_num(&s, 0, 6, &d->c) < 0)
            return -1;
    } else {
        d->kind = 'D';
        if (parse_num(&s, 0, 365, &d->a) < 0)
            return -1;
    }
    d->time = 7200; /* default 02:00:00 */
    if (*s == '/') {
        s++;
        /* RFC 8536 extension: hours -167..167 */
        if (parse_hms(&s, 167, &d->time) < 0)
            return -1;
    }
    *p = s;
    return 0;
}

static int parse_footer(const char *s, struct xw_tz_rule *r)
{
    int32_t off;

    memset(r, 0, sizeof *r);
    if (*s == '\0')
        return 0; /* empty footer: no rule */
    if (parse_tzname(&s) < 0 || parse_hms(&s, 24, &off) < 0)
        return -1;
    r->present = 1;
    r->std_off = -off; /* POSIX offsets are west-positive */
    if (*s == '\0')
        return 0;
    if (parse_tzname(&s) < 0)
        return -1;
    r->has_dst = 1;
    r->dst_off = r->std_off + 3600;
    if (*s && *s != ',') {
        if (parse_hms(&s, 24, &off) < 0)
            return -1;
        r->dst_off = -off;
    }
    if (*s == '\0') {
        /* No rule given: the tzcode default (US rules). */
        r->start = (struct xw_tz_rdate){ 'M', 3, 2, 0, 7200 };
        r->end = (struct xw_tz_rdate){ 'M', 11, 1, 0, 7200 };
        return 0;
    }
    if (*s++ != ',' || parse_rdate(&s, &r->start) < 0 || *s++ != ',' ||
        parse_rdate(&s, &r->end) < 0 || *s != '\0')
        return -1;
    return 0;
}

/* Days since the epoch of rule date `d` in `year`. */
static int64_t rdate_days(const struct xw_tz_rdate *d, int year)
{
    int64_t jan1 = xw_tz_days_from_civil(year, 1, 1);
    if (d->kind == 'J') {
        int64_t n = d->a - 1;
        if (xw_tz_is_leap(year) && d->a >= 60)
            n++;
        return jan1 + n;
    }
    if (d->kind == 'D')
        return jan1 + d->a;
    /* Mm.w.d: the w-th weekday d of month m, w == 5 meaning the last. */
    int64_t first = xw_tz_days_from_civil(year, d->a, 1);
    int dow = xw_tz_weekday(first);
    int64_t day = first + (d->c - dow + 7) % 7 + 7 * (d->b - 1);
    int64_t last = first + xw_tz_days_in_month(year, d->a) - 1;
    while (day > last)
        day -= 7;
    return day;
}

static void rule_offset(const struct xw_tz_rule *r, int64_t t, int32_t *utoff,
                        int *isdst)
{
    if (!r->has_dst) {
        *utoff = r->std_off;
        *isdst = 0;
        return;
    }
    struct xw_tz_civil c;
    xw_tz_seconds_to_civil(t + r->std_off, &c);
    int year = c.year;
    /* Check this year's and the neighbours' transitions: rule times may
     * push a transition across a year boundary. */
    int dst = 0;
    int64_t best = INT64_MIN;
    for (int y = year - 1; y <= year + 1; y++) {
        int64_t start = rdate_days(&r->start, y) * 86400 + r->start.time -
                        r->std_off;
        int64_t end = rdate_days(&r->end, y) * 86400 + r->end.time -
                      r->dst_off;
        /* The latest transition at or before t decides. */
        if (start <= t && start > best) {
            best = start;
            dst = 1;
        }
        if (end <= t && end > best) {
            best = end;
            dst = 0;
        }
    }
    *utoff = dst ? r->dst_off : r->std_off;
    *isdst = dst;
}

/* ------------------------------------------------------------------ */
/* TZif parsing                                                        */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_hdr {
    char version;
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static int read_hdr(const unsigned char *p, size_t len, struct tzif_hdr *h)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return -1;
    h->version = (char)p[4];
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    if (h->typecnt == 0 || h->typecnt > 256 || h->timecnt > 100000 ||
        h->charcnt > 100000 || h->leapcnt > 100000 ||
        (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
        (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
        return -1;
    return 0;
}

static size_t block_len(const struct tzif_hdr *h, size_t tsize)
{
    return h->timecnt * tsize + h->timecnt + h->typecnt * 6 + h->charcnt +
           h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

static int parse_tzif(const unsigned char *buf, size_t len, struct xw_tz *tz)
{
    struct tzif_hdr h;
    const unsigned char *p = buf;
    size_t tsize = 4;
    int rc = XW_TZ_ERR_FORMAT;

    if (read_hdr(p, len, &h) < 0)
        goto out;
    if (h.version >= '2') {
        size_t skip = 44 + block_len(&h, 4);
        if (skip > len)
            goto out;
        p += skip;
        len -= skip;
        if (read_hdr(p, len, &h) < 0)
            goto out;
        tsize = 8;
    }
    p += 44;
    len -= 44;
    if (block_len(&h, tsize) > len)
        goto out;
    if (h.leapcnt != 0)
        goto out; /* leap-second zones refused, see header */

    tz->timecnt = h.timecnt;
    tz->typecnt = h.typecnt;
    tz->trans = calloc(h.timecnt ? h.timecnt : 1, sizeof *tz->trans);
    tz->idx = calloc(h.timecnt ? h.timecnt : 1, 1);
    tz->types = calloc(h.typecnt, sizeof *tz->types);
    if (!tz->trans || !tz->idx || !tz->types) {
        rc = XW_TZ_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < h.timecnt; i++) {
        tz->trans[i] = tsize == 8 ? be64(p + i * 8) : (int32_t)be32(p + i * 4);
        if (i > 0 && tz->trans[i] <= tz->trans[i - 1])
            goto out;
    }
    p += h.timecnt * tsize;
    for (size_t i = 0; i < h.timecnt; i++) {
        tz->idx[i] = p[i];
        if (p[i] >= h.typecnt)
            goto out;
    }
    p += h.timecnt;
    for (size_t i = 0; i < h.typecnt; i++) {
        int32_t off = (int32_t)be32(p + i * 6);
        if (off < -XW_TZ_UTOFF_LIMIT || off > XW_TZ_UTOFF_LIMIT ||
            p[i * 6 + 4] > 1 || p[i * 6 + 5] >= (h.charcnt ? h.charcnt : 1))
            goto out;
        tz->types[i].utoff = off;
        tz->types[i].isdst = p[i * 6 + 4];
    }
    p += h.typecnt * 6 + h.charcnt + h.leapcnt * (tsize + 4) + h.isstdcnt +
         h.isutcnt;
    len -= block_len(&h, tsize);

    memset(&tz->rule, 0, sizeof tz->rule);
    if (tsize == 8) {
        /* Footer: "\n" POSIX-TZ "\n". */
        char footer[128];
        size_t n = 0;
        if (len < 2 || p[0] != '\n')
            goto out;
        while (1 + n < len && p[1 + n] != '\n' && n < sizeof footer - 1) {
            footer[n] = (char)p[1 + n];
            n++;
        }
        if (1 + n >= len || p[1 + n] != '\n')
            goto out;
        footer[n] = '\0';
        if (parse_footer(footer, &tz->rule) < 0)
            goto out;
        if (tz->rule.present &&
            (tz->rule.std_off < -XW_TZ_UTOFF_LIMIT ||
             tz->rule.std_off > XW_TZ_UTOFF_LIMIT ||
             tz->rule.dst_off < -XW_TZ_UTOFF_LIMIT ||
             tz->rule.dst_off > XW_TZ_UTOFF_LIMIT))
            goto out;
    }
    rc = XW_TZ_OK;
out:
    return rc;
}

static int valid_name(const char *name)
{
    size_t n, comp = 0;
    if (!name)
        return 0;
    n = strnlen(name, XW_TZ_NAME_MAX + 1);
    if (n == 0 || n > XW_TZ_NAME_MAX || name[0] == '/')
        return 0;
    for (size_t i = 0; i <= n; i++) {
        char ch = name[i];
        if (ch == '/' || ch == '\0') {
            if (comp == 0)
                return 0;
            if ((comp == 1 && name[i - 1] == '.') ||
                (comp == 2 && name[i - 1] == '.' && name[i - 2] == '.'))
                return 0;
            comp = 0;
            continue;
        }
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
              (ch >= '0' && ch <= '9') || ch == '_' || ch == '+' ||
              ch == '-' || ch == '.'))
            return 0;
        comp++;
    }
    return 1;
}

void xw_tz_free(struct xw_tz *tz)
{
    if (!tz)
        return;
    free(tz->trans);
    free(tz->idx);
    free(tz->types);
    free(tz);
}

int xw_tz_load_dir(const char *dir, const char *name, struct xw_tz **out)
{
    char path[4096];
    unsigned char *buf = NULL;
    struct xw_tz *tz = NULL;
    struct stat st;
    size_t got = 0;
    int fd = -1;
    int rc;

    if (out)
        *out = NULL;
    if (!out || !dir || !valid_name(name)) {
        rc = XW_TZ_ERR_NAME;
        goto out;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >=
        sizeof path) {
        rc = XW_TZ_ERR_NAME;
        goto out;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = (errno == ENOENT || errno == ENOTDIR) ? XW_TZ_ERR_UNKNOWN
                                                    : XW_TZ_ERR_IO;
        goto out;
    }
    if (fstat(fd, &st) < 0) {
        rc = XW_TZ_ERR_IO;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        /* A directory such as "Europe" is not a zone. */
        rc = XW_TZ_ERR_UNKNOWN;
        goto out;
    }
    if (st.st_size < 44 || st.st_size > XW_TZ_FILE_MAX) {
        rc = XW_TZ_ERR_FORMAT;
        goto out;
    }
    buf = malloc((size_t)st.st_size);
    tz = calloc(1, sizeof *tz);
    if (!buf || !tz) {
        rc = XW_TZ_ERR_NOMEM;
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = XW_TZ_ERR_IO;
            goto out;
        }
        got += (size_t)r;
    }
    memcpy(tz->name, name, strlen(name) + 1);
    rc = parse_tzif(buf, got, tz);
    if (rc == XW_TZ_OK) {
        *out = tz;
        tz = NULL;
    }
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    xw_tz_free(tz);
    return rc;
}

int xw_tz_load(const char *name, struct xw_tz **out)
{
    return xw_tz_load_dir(XW_TZ_DEFAULT_DIR, name, out);
}

/* ------------------------------------------------------------------ */
/* shared cache                                                        */

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xw_tz **cache_v;
static size_t cache_n, cache_alloc;

int xw_tz_get(const char *name, const struct xw_tz **out)
{
    struct xw_tz *tz = NULL;
    int rc;

    if (out)
        *out = NULL;
    if (!out || !valid_name(name))
        return XW_TZ_ERR_NAME;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < cache_n; i++) {
        if (strcmp(cache_v[i]->name, name) == 0) {
            *out = cache_v[i];
            rc = XW_TZ_OK;
            goto out;
        }
    }
    if (cache_n == XW_TZ_CACHE_MAX) {
        rc = XW_TZ_ERR_FULL;
        goto out;
    }
    if (cache_n == cache_alloc) {
        size_t na = cache_alloc ? cache_alloc * 2 : 16;
        struct xw_tz **nv = realloc(cache_v, na * sizeof *nv);
        if (!nv) {
            rc = XW_TZ_ERR_NOMEM;
            goto out;
        }
        cache_v = nv;
        cache_alloc = na;
    }
    rc = xw_tz_load(name, &tz);
    if (rc != XW_TZ_OK)
        goto out;
    cache_v[cache_n++] = tz;
    *out = tz;
out:
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

void xw_tz_cache_clear(void)
{
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < cache_n; i++)
        xw_tz_free(cache_v[i]);
    free(cache_v);
    cache_v = NULL;
    cache_n = cache_alloc = 0;
    pthread_mutex_unlock(&cache_lock);
}

/* ------------------------------------------------------------------ */
/* queries                                                             */

const char *xw_tz_name(const struct xw_tz *tz)
{
    return tz ? tz->name : "";
}

int xw_tz_offset_at(const struct xw_tz *tz, int64_t utc_s, int32_t *utoff,
                    int *is_dst)
{
    int32_t off;
    int dst;

    if (!tz || !utoff)
        return XW_TZ_ERR_RANGE;
    if (utc_s < XW_TZ_MIN_S - 2 * 86400 || utc_s > XW_TZ_MAX_S + 2 * 86400)
        return XW_TZ_ERR_RANGE;
    if (tz->timecnt == 0 || utc_s < tz->trans[0]) {
        if (tz->timecnt == 0 && tz->rule.present) {
            rule_offset(&tz->rule, utc_s, &off, &dst);
        } else {
            /* RFC 8536: before the first transition, time type 0. */
            off = tz->types[0].utoff;
            dst = tz->types[0].isdst;
        }
    } else if (utc_s > tz->trans[tz->timecnt - 1] && tz->rule.present) {
        rule_offset(&tz->rule, utc_s, &off, &dst);
    } else {
        size_t lo = 0, hi = tz->timecnt; /* largest i with trans[i] <= t */
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (tz->trans[mid] <= utc_s)
                lo = mid;
            else
                hi = mid;
        }
        off = tz->types[tz->idx[lo]].utoff;
        dst = tz->types[tz->idx[lo]].isdst;
    }
    *utoff = off;
    if (is_dst)
        *is_dst = dst;
    return XW_TZ_OK;
}

int xw_tz_to_local(const struct xw_tz *tz, int64_t utc_s,
                   struct xw_tz_civil *out, int32_t *utoff)
{
    int32_t off;
    int rc = xw_tz_offset_at(tz, utc_s, &off, NULL);
    if (rc != XW_TZ_OK)
        return rc;
    if (utc_s + off < XW_TZ_MIN_S || utc_s + off > XW_TZ_MAX_S)
        return XW_TZ_ERR_RANGE;
    xw_tz_seconds_to_civil(utc_s + off, out);
    if (utoff)
        *utoff = off;
    return XW_TZ_OK;
}

int xw_tz_from_local(const struct xw_tz *tz, const struct xw_tz_civil *local,
                     int64_t *utc_s, enum xw_tz_fold *fold)
{
    /* Candidate offsets: those in force within two days either side.
     * A wall-clock time L maps to instant L - o for each candidate o with
     * offset_at(L - o) == o. (Two transitions within one day would be
     * needed to fool this; tzdata has none in the supported range.) */
    static const int64_t probes[5] = { -172800, -86400, 0, 86400, 172800 };
    int32_t cand[5], o;
    int64_t L, best = 0;
    int nvalid = 0, rc;
    size_t nc = 0;

    if (!tz || !utc_s || !xw_tz_civil_valid(local))
        return XW_TZ_ERR_RANGE;
    L = xw_tz_civil_to_seconds(local);
    for (size_t i = 0; i < 5; i++) {
        rc = xw_tz_offset_at(tz, L + probes[i], &o, NULL);
        if (rc != XW_TZ_OK)
            return rc;
        size_t j;
        for (j = 0; j < nc && cand[j] != o; j++)
            ;
        if (j == nc)
            cand[nc++] = o;
    }
    for (size_t i = 0; i < nc; i++) {
        int64_t u = L - cand[i];
        rc = xw_tz_offset_at(tz, u, &o, NULL);
        if (rc != XW_TZ_OK)
            return rc;
        if (o != cand[i])
            continue;
        if (nvalid == 0 || u < best)
            best = u;
        nvalid++;
    }
    if (nvalid > 0) {
        *utc_s = best;
        if (fold)
            *fold = nvalid > 1 ? XW_TZ_OVERLAP : XW_TZ_UNIQUE;
        return XW_TZ_OK;
    }
    /* Gap: use the offset in force just before it, which lands the same
     * distance past the transition (shift forward). */
    int32_t omax = cand[0];
    for (size_t i = 1; i < nc; i++)
        if (cand[i] > omax)
            omax = cand[i];
    rc = xw_tz_offset_at(tz, L - omax, &o, NULL);
    if (rc != XW_TZ_OK)
        return rc;
    *utc_s = L - o;
    if (fold)
        *fold = XW_TZ_GAP;
    return XW_TZ_OK;
}

const char *xw_tz_strerror(int status)
{
    switch (status) {
    case XW_TZ_OK: return "ok";
    case XW_TZ_ERR_NAME: return "invalid time zone name";
    case XW_TZ_ERR_UNKNOWN: return "unknown time zone";
    case XW_TZ_ERR_FORMAT: return "time zone file is not a usable TZif file";
    case XW_TZ_ERR_NOMEM: return "out of memory";
    case XW_TZ_ERR_RANGE: return "time out of range";
    case XW_TZ_ERR_IO: return "time zone file could not be read";
    case XW_TZ_ERR_FULL: return "time zone cache is full";
    }
    return "unknown error";
}
