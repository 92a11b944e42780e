/*
 * xw_jcanon - see xw_jcanon.h. One pass over the text, no recursion: a
 * nested value is walked with a stack of one bit per open container
 * (object or array), which XW_JCANON_DEPTH keeps within a word.
 *
 * Every scan_* takes the text at p (p < end unless said) and returns the
 * byte after what it read, or NULL when that is not canonical.
 */
#include "xw_jcanon.h"

#include <string.h>

#include "xw_avro.h"

enum { ST_FIRST, ST_MORE, ST_END, ST_BAD };

static int is_upper_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

static int hex_value(char c)
{
    return c <= '9' ? c - '0' : c - 'A' + 10;
}

/* q[0..4) of a \u escape as jansson writes one: a control character
 * without a short escape, and not NUL. */
static int control_escape(const char *q)
{
    int c;

    if (q[0] != '0' || q[1] != '0' || (q[2] != '0' && q[2] != '1')
        || !is_upper_hex(q[3]))
        return 0;
    c = (q[2] - '0') * 16 + hex_value(q[3]);
    return c != 0 && c != '\b' && c != '\f' && c != '\n' && c != '\r'
        && c != '\t';
}

/* Eight bytes of the text, the first in the low byte (one load where
 * the machine is little-endian). */
static uint64_t load8(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;

    return (uint64_t)u[0] | (uint64_t)u[1] << 8 | (uint64_t)u[2] << 16
        | (uint64_t)u[3] << 24 | (uint64_t)u[4] << 32 | (uint64_t)u[5] << 40
        | (uint64_t)u[6] << 48 | (uint64_t)u[7] << 56;
}

/* The bytes of x that end a run of plain string bytes - '"', '\\' and
 * those below 0x20 - as the high bits of their bytes. The lowest bit set
 * is exact; bits above it may be set by borrows, and are not used. Bytes
 * from 0x80 are plain here: UTF-8 is checked apart. */
static uint64_t specials(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101u, highs = ones * 0x80;

    return ((x - ones * 0x20) | ((x ^ ones * '"') - ones)
            | ((x ^ ones * '\\') - ones)) & ~x & highs;
}

/* A string, p at its opening quote. Plain bytes, nearly all, are passed
 * eight at a time: a stored text's strings are names, ids and dates. */
static const char *scan_string(const char *p, const char *end)
{
    const char *start = ++p;
    uint64_t high = 0;

    for (;;) {
        unsigned char c;

        while (end - p >= 8) {
            uint64_t x = load8(p), m = specials(x);

            if (m) {
                high |= x & ((m & (0 - m)) - 1);
                p += __builtin_ctzll(m) / 8;
                break;
            }
            high |= x;
            p += 8;
        }
        if (p == end)
            return NULL;
        c = (unsigned char)*p;
        if (c == '"')
            break;
        if (c < 0x20)
            return NULL;
        if (c != '\\') {
            high |= c;
            p++;
            continue;
        }
        if (end - p < 2)
            return NULL;
        switch (p[1]) {
        case '"': case '\\': case 'b': case 'f': case 'n': case 'r': case 't':
            p += 2;
            break;
        case 'u':
            if (end - p < 6 || !control_escape(p + 2))
                return NULL;
            p += 6;
            break;
        default:
            return NULL;
        }
    }
    /* Escapes are ASCII, so the text is checked as it stands, and only
     * when it has a byte that is not. */
    if ((high & 0x8080808080808080u)
        && !xw_avro_utf8_valid(start, (size_t)(p - start)))
        return NULL;
    return p + 1;
}

/* A key and its colon (p may be end): the byte after the colon. */
static const char *scan_key(const char *p, const char *end)
{
    if (p == end || *p != '"' || !(p = scan_string(p, end)) || p == end
        || *p != ':')
        return NULL;
    return p + 1;
}

/* An integer. A fraction or an exponent is refused by the caller, which
 * wants a comma or a bracket next. */
static const char *scan_int(const char *p, const char *end)
{
    /* The magnitudes of INT64_MAX and INT64_MIN. */
    static const char max[] = "9223372036854775807",
                      min[] = "9223372036854775808";
    int neg = *p == '-';
    const char *digits = p += neg;
    size_t n;

    while (p < end && *p >= '0' && *p <= '9')
        p++;
    n = (size_t)(p - digits);
    if (n == 0 || (*digits == '0' && (n > 1 || neg)))
        return NULL;
    if (n >= sizeof max - 1
        && (n > sizeof max - 1 || memcmp(digits, neg ? min : max, n) > 0))
        return NULL;
    return p;
}

static const char *scan_word(const char *p, const char *end, const char *w,
                             size_t n)
{
    return (size_t)(end - p) >= n && memcmp(p, w, n) == 0 ? p + n : NULL;
}

static enum xw_jcanon_kind kind_of(char c)
{
    switch (c) {
    case '"': return XW_JCANON_STRING;
    case '{': return XW_JCANON_OBJECT;
    case '[': return XW_JCANON_ARRAY;
    case 't': return XW_JCANON_TRUE;
    case 'f': return XW_JCANON_FALSE;
    case 'n': return XW_JCANON_NULL;
    default: return XW_JCANON_INT;
    }
}

/* A string, number, true, false or null. */
static const char *scan_scalar(const char *p, const char *end)
{
    switch (*p) {
    case '"':
        return scan_string(p, end);
    case 't':
        return scan_word(p, end, "true", 4);
    case 'f':
        return scan_word(p, end, "false", 5);
    case 'n':
        return scan_word(p, end, "null", 4);
    default:
        return scan_int(p, end);
    }
}

static int is_open(char c)
{
    return c == '{' || c == '[';
}

/* An object or array, p at its opening bracket, holding at most `room`
 * containers more. */
static const char *scan_container(const char *p, const char *end, int room)
{
    uint32_t objects = 0;   /* bit 0: the innermost open one is an object */
    int depth = 0;

    for (;;) {
        /* A value at p. */
        if (p == end)
            return NULL;
        if (is_open(*p)) {
            if (depth > room)
                return NULL;
            objects = objects << 1 | (*p == '{');
            depth++;
            if (++p < end && *p == (objects & 1 ? '}' : ']')) {
                p++;
                objects >>= 1;
                depth--;
            } else {
                /* Its first member or element. */
                if ((objects & 1) && !(p = scan_key(p, end)))
                    return NULL;
                continue;
            }
        } else if (!(p = scan_scalar(p, end))) {
            return NULL;
        }
        /* After a value: the containers that end here, then the next
         * member or element. */
        for (;;) {
            if (depth == 0)
                return p;
            if (p == end)
                return NULL;
            if (*p == ',')
                break;
            if (*p != (objects & 1 ? '}' : ']'))
                return NULL;
            p++;
            objects >>= 1;
            depth--;
        }
        p++;
        if ((objects & 1) && !(p = scan_key(p, end)))
            return NULL;
    }
}

void xw_jcanon_open(xw_jcanon *it, const char *text, size_t len)
{
    it->p = text;
    it->end = text + len;
    it->state = ST_BAD;
    if (len && *text == '{') {
        it->p++;
        it->state = ST_FIRST;
    }
}

int xw_jcanon_next(xw_jcanon *it, xw_jcanon_member *m)
{
    const char *p = it->p, *end = it->end, *key, *val;

    if (it->state == ST_END)
        return 0;
    if (it->state == ST_BAD)
        return -1;
    if (p == end)
        goto bad;
    if (*p == '}') {
        if (p + 1 != end)
            goto bad;
        it->state = ST_END;
        return 0;
    }
    if (it->state == ST_MORE && *p++ != ',')
        goto bad;
    key = p;
    if (!(val = scan_key(p, end)) || val == end)
        goto bad;
    /* Scalars, nearly all members, straight; the top level is one of the
     * XW_JCANON_DEPTH containers. */
    p = is_open(*val) ? scan_container(val, end, XW_JCANON_DEPTH - 2)
        : scan_scalar(val, end);
    if (!p)
        goto bad;
    m->key = (xw_jcanon_span){ key, (size_t)(val - 1 - key) };
    m->val = (xw_jcanon_span){ val, (size_t)(p - val) };
    m->kind = kind_of(*val);
    it->p = p;
    it->state = ST_MORE;
    return 1;
bad:
    it->state = ST_BAD;
    return -1;
}

/* The byte a canonical escape stands for, *p just past its backslash
 * (moved past the escape): each stands for one byte, never NUL. */
static unsigned char unescape(const char **p)
{
    const char *q = *p;

    *p = q + 1;
    switch (*q) {
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'u':
        *p = q + 5;     /* u00XX */
        return (unsigned char)((q[3] - '0') * 16 + hex_value(q[4]));
    default:            /* " and \ */
        return (unsigned char)*q;
    }
}

int xw_jcanon_str_eq(xw_jcanon_span str, const char *s)
{
    const char *p = str.p + 1, *end = str.p + str.len - 1;

    /* Most calls look for a key among others: refused at the first byte,
     * before the loop. */
    if (p < end && *p != *s && *p != '\\')
        return 0;
    /* c is never NUL, so a mismatch is found at s's end: nothing past it
     * is read. */
    while (p < end) {
        unsigned char c = (unsigned char)*p++;

        if (c == '\\')
            c = unescape(&p);
        if (c != (unsigned char)*s++)
            return 0;
    }
    return *s == '\0';
}

int xw_jcanon_str_raw(xw_jcanon_span str, const char **s, size_t *len)
{
    if (memchr(str.p + 1, '\\', str.len - 2))
        return -1;
    *s = str.p + 1;
    *len = str.len - 2;
    return 0;
}

int64_t xw_jcanon_int(xw_jcanon_span v)
{
    const char *p = v.p, *end = v.p + v.len;
    int neg = *p == '-';
    uint64_t u = 0;

    for (p += neg; p < end; p++)
        u = u * 10 + (uint64_t)(*p - '0');
    /* -(u - 1) - 1: INT64_MIN's magnitude is no int64. */
    return neg ? -(int64_t)(u - 1) - 1 : (int64_t)u;
}
