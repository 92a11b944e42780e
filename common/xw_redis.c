#include "xw_redis.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "xw_log.h"
#include "xw_metrics.h"

#define TAG "REDIS"

/* Cost counters for the benchmark (process-wide, every connection). */
XW_COUNTER(m_round_trips, "xw_redis_round_trips_total",
           "Redis round trips (commands written together, replies read)");
XW_COUNTER(m_commands, "xw_redis_commands_total",
           "Redis commands sent (each command of a pipeline counted)");

/* ---- Lua scripts ------------------------------------------------------ */

enum { SCRIPT_ACQUIRE, SCRIPT_EXTEND, SCRIPT_RELEASE, SCRIPT_FENCED,
       SCRIPT_N };

/* KEYS[1] lock, KEYS[2] fence counter; ARGV[1] token, ARGV[2] ttl ms.
 * Re-running with the same token (a retry after a lost reply) returns the
 * fence already handed out instead of taking a new one. */
static const char script_acquire[] =
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then\n"
    "  return redis.call('INCR', KEYS[2])\n"
    "end\n"
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "  local f = redis.call('GET', KEYS[2])\n"
    "  if not f then return redis.call('INCR', KEYS[2]) end\n"
    "  return tonumber(f)\n"
    "end\n"
    "return 0\n";

/* KEYS[1] lock; ARGV[1] token, ARGV[2] ttl ms. */
static const char script_extend[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "end\n"
    "return 0\n";

/* KEYS[1] lock; ARGV[1] token. */
static const char script_release[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('DEL', KEYS[1])\n"
    "end\n"
    "return 0\n";

/* KEYS[1] fence key, KEYS[2] once hash, KEYS[3] hash, KEYS[4] count hash
 * (optional); ARGV[1] fence, ARGV[2] one '1' (has a push) / '0' per write
 * (so n = its length), then the n once fields, then the n field, value
 * pairs, then a push key, push value pair per write that has one, in
 * write order. Returns a string of one '1' (written) / '0' (already
 * written) per write: one reply object instead of one per write. See
 * xw_redis.h for the order of the commands and why nothing is left half
 * done: everything that can fail (a key of the wrong type, a count that
 * is not a number) is read or tried before the first write that cannot be
 * taken back.
 *
 * Laid out by column so that the common case, every write new, hands
 * slices of ARGV to HMGET and HSET as they are (unpack(ARGV, i, j))
 * instead of copying them into tables first: the Lua side was about half
 * of the script's time (docs/performance.md, session 6). A first count
 * is the string '1', not the number 1: Redis turns a Lua number into an
 * argument with snprintf("%.17g"), ~10% of the script's instructions
 * (the same text, "1"). Bulk commands
 * take CHUNK values at a time (even: HSET takes pairs): Lua's unpack()
 * fails beyond ~8000 (its C stack); n <= XW_REDIS_FENCED_MAX_WRITES. */
static const char script_fenced[] =
    "local fence = tonumber(ARGV[1])\n"
    "local raw = redis.call('GET', KEYS[1]) or '0'\n"
    "local cur = tonumber(raw)\n"
    "if not fence or not cur then\n"
    "  return redis.error_reply('ERR fence or fence key is not a number')\n"
    "end\n"
    "if fence < cur then\n"
    "  return redis.error_reply('STALEFENCE fence ' .. ARGV[1] ..\n"
    "    ' is older than ' .. raw)\n"
    "end\n"
    "local CHUNK = 1000\n"
    "local function hset(key, t, i, j)\n"
    "  for k = i, j, CHUNK do\n"
    "    local r = redis.pcall('HSET', key,\n"
    "      unpack(t, k, math.min(k + CHUNK - 1, j)))\n"
    "    if type(r) == 'table' and r.err then return r end\n"
    "  end\n"
    "end\n"
    "local has = ARGV[2]\n"
    "local n = #has\n"
    "local F, KV = 2, n + 2\n"
    "local seen = redis.call('HMGET', KEYS[2], unpack(ARGV, F + 1, F + n))\n"
    "local taken, new, out, all = {}, {}, {}, true\n"
    "for w = 1, n do\n"
    "  local f = ARGV[F + w]\n"
    "  if seen[w] or taken[f] then\n"
    "    out[w], all = '0', false\n"
    "  else\n"
    "    out[w] = '1'\n"
    "    taken[f] = true\n"
    "    new[#new + 1] = w\n"
    "  end\n"
    "end\n"
    "local m = #new\n"
    "if m > 0 then\n"
    "  local fields, kv, once, counts, pushed = ARGV, ARGV, {}, {}, {}\n"
    "  local f1, fm, kv1 = F + 1, F + n, KV + 1\n"
    "  if not all then\n"
    "    fields, kv, f1, fm, kv1 = {}, {}, 1, m, 1\n"
    "    for i, w in ipairs(new) do\n"
    "      fields[i] = ARGV[F + w]\n"
    "      kv[2 * i - 1], kv[2 * i] = ARGV[KV + 2 * w - 1], ARGV[KV + 2 * w]\n"
    "    end\n"
    "  end\n"
    "  if KEYS[4] then\n"
    "    local got = redis.call('HMGET', KEYS[4], unpack(fields, f1, fm))\n"
    "    for i = 1, m do\n"
    "      local c = '1'\n"
    "      if got[i] then\n"
    "        c = tonumber(got[i])\n"
    "        if not c then\n"
    "          return redis.error_reply('ERR count of ' .. fields[f1 + i - 1]\n"
    "            .. ' is not a number')\n"
    "        end\n"
    "        c = c + 1\n"
    "      end\n"
    "      counts[2 * i - 1], counts[2 * i] = fields[f1 + i - 1], c\n"
    "    end\n"
    "  end\n"
    "  local function undo(err)\n"
    "    for j = #pushed, 1, -1 do redis.call('LPOP', pushed[j]) end\n"
    "    return err\n"
    "  end\n"
    "  local p = KV + 2 * n\n"
    "  for w = 1, n do\n"
    "    if string.byte(has, w) == 49 then\n"
    "      if out[w] == '1' then\n"
    "        local r = redis.pcall('LPUSH', ARGV[p + 1], ARGV[p + 2])\n"
    "        if type(r) == 'table' and r.err then return undo(r) end\n"
    "        pushed[#pushed + 1] = ARGV[p + 1]\n"
    "      end\n"
    "      p = p + 2\n"
    "    end\n"
    "  end\n"
    "  local err = hset(KEYS[3], kv, kv1, kv1 + 2 * m - 1)\n"
    "  if err then return undo(err) end\n"
    "  for i = 1, m do\n"
    "    once[2 * i - 1], once[2 * i] = fields[f1 + i - 1], ARGV[1]\n"
    "  end\n"
    "  err = hset(KEYS[2], once, 1, 2 * m)\n"
    "    or (KEYS[4] and hset(KEYS[4], counts, 1, 2 * m))\n"
    "  if err then return err end\n"
    "end\n"
    "if fence > cur then redis.call('SET', KEYS[1], ARGV[1]) end\n"
    "if all then return string.rep('1', n) end\n"
    "return table.concat(out)\n";

static const char *const script_src[SCRIPT_N] = {
    script_acquire, script_extend, script_release, script_fenced,
};
static char script_sha[SCRIPT_N][41];
static pthread_once_t script_once = PTHREAD_ONCE_INIT;

static void hex_encode(char *out, const unsigned char *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* SHA-1 of each script, as EVALSHA wants it. If the digest is unavailable
 * (a FIPS-only provider) the sha stays empty and EVAL is used directly. */
static void script_init(void)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen;
    int i;

    for (i = 0; i < SCRIPT_N; i++) {
        mdlen = 0;
        if (EVP_Digest(script_src[i], strlen(script_src[i]), md, &mdlen,
                       EVP_sha1(), NULL) == 1 && mdlen == 20)
            hex_encode(script_sha[i], md, 20);
        else
            script_sha[i][0] = '\0';
    }
}

/* ---- errors ----------------------------------------------------------- */

static void set_err(xw_redis *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(xw_redis *r, int code, const char *fmt, ...)
{
    va_list ap;

    r->err = code;
    va_start(ap, fmt);
    vsnprintf(r->errstr, sizeof r->errstr, fmt, ap);
    va_end(ap);
}

static void clear_err(xw_redis *r)
{
    r->err = XW_REDIS_OK;
    r->errstr[0] = '\0';
}

static void drop_conn(xw_redis *r)
{
    if (r->c)
        redisFree(r->c);
    r->c = NULL;
    r->pending = 0;
}

/* Records a connection-level failure of r->c and drops the connection.
 * Call right after the failing hiredis call (errno is read). */
static void io_failed(xw_redis *r)
{
    int saved = errno;

    if (r->c && r->c->err == REDIS_ERR_OOM)
        set_err(r, XW_REDIS_ENOMEM, "%s: out of memory", r->desc);
    else if (r->c && r->c->err == REDIS_ERR_IO &&
             (saved == EAGAIN || saved == EWOULDBLOCK))
        set_err(r, XW_REDIS_EIO, "%s: no reply within %d ms", r->desc,
                r->opts.command_timeout_ms);
    else
        set_err(r, XW_REDIS_EIO, "%s: %s", r->desc,
                r->c && r->c->errstr[0] ? r->c->errstr : "connection lost");
    drop_conn(r);
}

/* ---- URL -------------------------------------------------------------- */

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Percent-decodes src[0..n) into dst (NUL-terminated). -1 on a bad escape,
 * an encoded NUL or when it does not fit. */
static int pct_decode(char *dst, size_t dstlen, const char *src, size_t n)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        int ch = (unsigned char)src[i];

        if (ch == '%') {
            int hi, lo;

            if (i + 2 >= n)
                return -1;
            hi = hexval((unsigned char)src[i + 1]);
            lo = hexval((unsigned char)src[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            ch = hi * 16 + lo;
            i += 2;
        }
        if (o + 1 >= dstlen)
            return -1;
        dst[o++] = (char)ch;
    }
    dst[o] = '\0';
    return 0;
}

static int parse_uint(const char *s, size_t n, long max, long *out)
{
    long v = 0;
    size_t i;

    if (n == 0 || n > 10)
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

/* Fills the connection fields of r from url. Messages never quote the URL
 * (it may hold a password). */
static int parse_url(xw_redis *r, const char *url, char *err, size_t errlen)
{
    const char *p, *slash, *at, *host, *host_end, *port_s = NULL;
    size_t alen;
    long v;
    int rc = -1;

    if (strncmp(url, "redis://", 8) == 0) {
        p = url + 8;
        r->is_unix = 0;
    } else if (strncmp(url, "unix://", 7) == 0) {
        p = url + 7;
        r->is_unix = 1;
    } else if (strncmp(url, "rediss://", 9) == 0) {
        snprintf(err, errlen, "redis URL: TLS (rediss://) is not supported "
                 "by this build");
        goto out;
    } else {
        snprintf(err, errlen, "redis URL: want redis://host:port/db or "
                 "unix:///path");
        goto out;
    }

    /* Credentials: before the last '@' ahead of the first '/'. */
    slash = strchr(p, '/');
    alen = slash ? (size_t)(slash - p) : strlen(p);
    at = NULL;
    for (host = p; host < p + alen; host++)
        if (*host == '@')
            at = host;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));

        if (!colon) {
            snprintf(err, errlen, "redis URL: credentials must be "
                     "user:password@ or :password@");
            goto out;
        }
        if (pct_decode(r->user, sizeof r->user, p, (size_t)(colon - p)) < 0 ||
            pct_decode(r->pass, sizeof r->pass, colon + 1,
                       (size_t)(at - colon - 1)) < 0) {
            snprintf(err, errlen, "redis URL: bad or too long credentials");
            goto out;
        }
        if (!r->pass[0]) {
            snprintf(err, errlen, "redis URL: empty password");
            goto out;
        }
        p = at + 1;
        alen = slash ? (size_t)(slash - p) : strlen(p);
    }

    if (r->is_unix) {
        const char *q;
        size_t plen;

        if (alen != 0 || !slash) {
            snprintf(err, errlen, "redis URL: unix:// needs an absolute "
                     "path (unix:///path)");
            goto out;
        }
        q = strchr(slash, '?');
        plen = q ? (size_t)(q - slash) : strlen(slash);
        if (plen < 2 || plen >= sizeof r->path) {
            snprintf(err, errlen, "redis URL: socket path empty or longer "
                     "than %zu bytes", sizeof r->path - 1);
            goto out;
        }
        memcpy(r->path, slash, plen);
        r->path[plen] = '\0';
        if (q) {
            if (strncmp(q, "?db=", 4) != 0 ||
                parse_uint(q + 4, strlen(q + 4), INT_MAX, &v) < 0) {
                snprintf(err, errlen, "redis URL: the only query "
                         "parameter is ?db=N");
                goto out;
            }
            r->db = (int)v;
        }
    } else {
        host = p;
        if (*host == '[') {
            host_end = memchr(host, ']', alen);
            if (!host_end) {
                snprintf(err, errlen, "redis URL: unterminated [IPv6]");
                goto out;
            }
            host++;
            if (host_end + 1 < p + alen) {
                if (host_end[1] != ':') {
                    snprintf(err, errlen, "redis URL: junk after [IPv6]");
                    goto out;
                }
                port_s = host_end + 2;
            }
        } else {
            host_end = memchr(host, ':', alen);
            if (host_end)
                port_s = host_end + 1;
            else
                host_end = p + alen;
        }
        if (host_end == host || (size_t)(host_end - host) >= sizeof r->host) {
            snprintf(err, errlen, "redis URL: host empty or too long");
            goto out;
        }
        memcpy(r->host, host, (size_t)(host_end - host));
        r->host[host_end - host] = '\0';
        r->port = 6379;
        if (port_s) {
            if (parse_uint(port_s, (size_t)(p + alen - port_s), 65535, &v) < 0
                || v == 0) {
                snprintf(err, errlen, "redis URL: port must be 1..65535");
                goto out;
            }
            r->port = (int)v;
        }
        if (slash && slash[1]) {
            if (parse_uint(slash + 1, strlen(slash + 1), INT_MAX, &v) < 0) {
                snprintf(err, errlen, "redis URL: the path must be a "
                         "database number");
                goto out;
            }
            r->db = (int)v;
        }
    }

    if (r->is_unix)
        snprintf(r->desc, sizeof r->desc, "unix://%s%s%s?db=%d", r->user,
                 r->user[0] ? "@" : "", r->path, r->db);
    else
        snprintf(r->desc, sizeof r->desc, "redis://%s%s%s%s%s:%d/%d",
                 r->user, r->user[0] ? "@" : "",
                 strchr(r->host, ':') ? "[" : "", r->host,
                 strchr(r->host, ':') ? "]" : "", r->port, r->db);
    rc = 0;
out:
    return rc;
}

/* ---- connecting ------------------------------------------------------- */

static struct timeval ms_tv(int ms)
{
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

static void sleep_ms(long ms)
{
    struct timespec ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int fill_random(void *buf, size_t n)
{
    unsigned char *p = buf;

    while (n) {
        ssize_t got = getrandom(p, n, 0);

        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

/* One connection attempt: connect, timeouts, keep-alive, AUTH, SELECT (or
 * PING). On success r->c is the new context. */
static int connect_once(xw_redis *r)
{
    redisContext *c;
    redisReply *rep = NULL;
    int rc = -1;

    c = r->is_unix
        ? redisConnectUnixWithTimeout(r->path, ms_tv(r->opts.connect_timeout_ms))
        : redisConnectWithTimeout(r->host, r->port,
                                  ms_tv(r->opts.connect_timeout_ms));
    if (!c) {
        set_err(r, XW_REDIS_ENOMEM, "%s: out of memory", r->desc);
        goto out;
    }
    if (c->err) {
        set_err(r, XW_REDIS_EIO, "connect %s: %s", r->desc, c->errstr);
        goto out;
    }
    if (redisSetTimeout(c, ms_tv(r->opts.command_timeout_ms)) != REDIS_OK) {
        set_err(r, XW_REDIS_EIO, "%s: cannot set timeout: %s", r->desc,
                c->errstr);
        goto out;
    }
    if (!r->is_unix)
        (void)redisEnableKeepAlive(c);

    if (r->pass[0]) {
        rep = r->user[0] ? redisCommand(c, "AUTH %s %s", r->user, r->pass)
                         : redisCommand(c, "AUTH %s", r->pass);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            set_err(r, rep ? XW_REDIS_EREPLY : XW_REDIS_EIO,
                    "%s: AUTH failed: %s", r->desc,
                    rep ? rep->str : c->errstr);
            goto out;
        }
        freeReplyObject(rep);
        rep = NULL;
    }
    rep = r->db ? redisCommand(c, "SELECT %d", r->db)
                : redisCommand(c, "PING");
    if (!rep || rep->type == REDIS_REPLY_ERROR) {
        /* A restarted Redis answers LOADING until its AOF is read back
         * (seconds for a large one): not ready yet, try again. */
        int loading = rep && strncmp(rep->str, "LOADING", 7) == 0;

        set_err(r, rep && !loading ? XW_REDIS_EREPLY : XW_REDIS_EIO,
                "%s: %s %s", r->desc,
                r->db ? "SELECT failed:" : "PING failed:",
                rep ? rep->str : c->errstr);
        goto out;
    }
    r->c = c;
    c = NULL;
    rc = 0;
out:
    if (rep)
        freeReplyObject(rep);
    if (c)
        redisFree(c);
    return rc;
}

/* A reconnect episode: up to reconnect_attempts tries with exponential
 * backoff (each sleep uniform in [d/2, d], d doubling up to the cap). */
static int reconnect(xw_redis *r)
{
    long delay = r->opts.reconnect_min_ms;
    int attempt;

    drop_conn(r);
    for (attempt = 1;; attempt++) {
        uint32_t rnd = 0;
        long sleep_for;

        if (connect_once(r) == 0)
            return 0;
        /* Authentication and SELECT errors will not fix themselves. */
        if (r->err == XW_REDIS_EREPLY || attempt >= r->opts.reconnect_attempts)
            break;
        xw_debug(TAG, "connect attempt %d/%d: %s", attempt,
                 r->opts.reconnect_attempts, r->errstr);
        (void)fill_random(&rnd, sizeof rnd);
        sleep_for = delay / 2 + (long)(rnd % (uint32_t)(delay / 2 + 1));
        sleep_ms(sleep_for);
        delay = delay * 2 > r->opts.reconnect_max_ms
                ? r->opts.reconnect_max_ms : delay * 2;
    }
    return -1;
}

/* Is the idle connection still usable? A readable socket with no reply
 * outstanding means EOF, reset or garbage: replace it before writing. */
static int conn_idle_ok(xw_redis *r)
{
    struct pollfd pfd;

    pfd.fd = r->c->fd;
    pfd.events = POLLIN | POLLRDHUP;
    pfd.revents = 0;
    if (poll(&pfd, 1, 0) < 0)
        return errno == EINTR;
    return pfd.revents == 0;
}

static int ensure_conn(xw_redis *r)
{
    int was_connected = r->c != NULL;

    if (r->c && !r->c->err && conn_idle_ok(r))
        return 0;
    if (was_connected)
        xw_warn(TAG, "%s: connection lost, reconnecting", r->desc);
    if (reconnect(r) < 0) {
        xw_warn(TAG, "%s", r->errstr);
        return -1;
    }
    r->reconnects++;
    xw_info(TAG, "%s: connected again", r->desc);
    return 0;
}

static void default_opts(xw_redis_opts *o, const xw_redis_opts *in)
{
    static const xw_redis_opts def = XW_REDIS_OPTS_INIT;

    *o = def;
    if (!in)
        return;
    if (in->connect_timeout_ms > 0)
        o->connect_timeout_ms = in->connect_timeout_ms;
    if (in->command_timeout_ms > 0)
        o->command_timeout_ms = in->command_timeout_ms;
    if (in->reconnect_attempts > 0)
        o->reconnect_attempts = in->reconnect_attempts;
    if (in->reconnect_min_ms > 0)
        o->reconnect_min_ms = in->reconnect_min_ms;
    if (in->reconnect_max_ms > 0)
        o->reconnect_max_ms = in->reconnect_max_ms;
    if (o->reconnect_max_ms < o->reconnect_min_ms)
        o->reconnect_max_ms = o->reconnect_min_ms;
    o->uncounted = in->uncounted;
}

xw_redis *xw_redis_connect(const char *url, const xw_redis_opts *opts,
                           char *errbuf, size_t errlen)
{
    xw_redis *r = NULL, *ret = NULL;
    unsigned char rnd[8];
    struct sigaction sa;
    char dummy[1];

    if (!errbuf) {
        errbuf = dummy;
        errlen = sizeof dummy;
    }
    if (errlen)
        errbuf[0] = '\0';
    if (!url) {
        snprintf(errbuf, errlen, "redis URL: missing");
        goto out;
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(errbuf, errlen, "redis: out of memory");
        goto out;
    }
    default_opts(&r->opts, opts);
    if (parse_url(r, url, errbuf, errlen) < 0)
        goto out;
    if (fill_random(rnd, sizeof rnd) < 0) {
        snprintf(errbuf, errlen, "redis: getrandom: %s", strerror(errno));
        goto out;
    }
    hex_encode(r->mark_prefix, rnd, sizeof rnd);
    (void)pthread_once(&script_once, script_init);
    xw_metrics_register(&m_round_trips);
    xw_metrics_register(&m_commands);

    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
        sa.sa_handler = SIG_IGN;
        sa.sa_flags = 0;
        sigemptyset(&sa.sa_mask);
        (void)sigaction(SIGPIPE, &sa, NULL);
    }

    if (reconnect(r) < 0) {
        snprintf(errbuf, errlen, "%s", r->errstr);
        goto out;
    }
    ret = r;
    r = NULL;
out:
    xw_redis_free(r);
    return ret;
}

void xw_redis_free(xw_redis *r)
{
    if (!r)
        return;
    drop_conn(r);
    if (r->last)
        freeReplyObject(r->last);
    OPENSSL_cleanse(r->pass, sizeof r->pass);
    free(r->fmt);
    free(r);
}

const char *xw_redis_describe(const xw_redis *r)
{
    return r->desc;
}

int xw_redis_fd(const xw_redis *r)
{
    return r->c ? r->c->fd : -1;
}

int xw_redis_read_push(xw_redis *r, void (*fn)(void *ctx, redisReply *m),
                       void *ctx)
{
    void *reply = NULL;

    if (!r->c || redisBufferRead(r->c) != REDIS_OK)
        goto fail;
    for (;;) {
        if (redisGetReplyFromReader(r->c, &reply) != REDIS_OK)
            goto fail;
        if (!reply)
            return 0;
        fn(ctx, reply);
        freeReplyObject(reply);
    }
fail:
    set_err(r, XW_REDIS_EIO, "%s: subscriber connection: %s", r->desc,
            r->c && r->c->errstr[0] ? r->c->errstr : "closed");
    return -1;
}

/* ---- sending ---------------------------------------------------------- */

/* Start of every public call: clear the error, free the last borrowed
 * reply, refuse while a builder batch is queued. */
static int begin(xw_redis *r)
{
    clear_err(r);
    if (r->last) {
        freeReplyObject(r->last);
        r->last = NULL;
    }
    if (r->pending) {
        set_err(r, XW_REDIS_EARG, "a pipeline batch is queued: exec or "
                "discard it first");
        return -1;
    }
    return 0;
}

/* Reads n replies. out may be NULL (replies are checked, then freed). An
 * error reply is kept in out but recorded (first one only) as EREPLY; an
 * I/O failure frees everything read, drops the connection and returns -1. */
static int read_replies(xw_redis *r, size_t n, redisReply **out)
{
    size_t i, j;
    int seen_err = 0;

    if (n && !r->opts.uncounted) {
        xw_metrics_add(&m_round_trips, 1);
        xw_metrics_add(&m_commands, n);
    }
    for (i = 0; i < n; i++) {
        void *p = NULL;
        redisReply *rep;

        if (redisGetReply(r->c, &p) != REDIS_OK || !p) {
            io_failed(r);
            for (j = 0; out && j < i; j++) {
                freeReplyObject(out[j]);
                out[j] = NULL;
            }
            return -1;
        }
        rep = p;
        if (rep->type == REDIS_REPLY_ERROR && !seen_err) {
            seen_err = 1;
            if (n == 1)
                set_err(r, XW_REDIS_EREPLY, "%s", rep->str);
            else
                set_err(r, XW_REDIS_EREPLY, "command %zu of %zu: %s", i + 1,
                        n, rep->str);
        }
        if (out)
            out[i] = rep;
        else
            freeReplyObject(rep);
    }
    r->pending = 0;
    return 0;
}

/* The protocol buffer kept between round trips is given back when a
 * batch needed more than this (a rare large one). */
#define FMT_KEEP (4u << 20)

static size_t dec_len(size_t v)
{
    size_t n = 1;

    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* Writes "<c><v>\r\n"; returns the end. */
static char *put_head(char *p, char c, size_t v)
{
    size_t n = dec_len(v);
    char *d = p + 1 + n;

    *p = c;
    do {
        *--d = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    p += 1 + n;
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

static size_t arg_len(const xw_redis_cmd *cmd, int i)
{
    return cmd->argvlen ? cmd->argvlen[i] : strlen(cmd->argv[i]);
}

/* Appends cmds[0..n) to the connection's output: REDIS_OK or REDIS_ERR
 * (c->err), as redisAppendCommandArgv() for each. Formatted here into
 * r->fmt, kept for the next call, and handed over in one piece: hiredis'
 * own redisFormatSdsCommandArgv() builds a new sds string per command and
 * formats each argument's length with sdscatfmt(), which showed at 8% of
 * the deployer's CPU (docs/performance.md, session 6). Out of memory
 * here, it leaves the work to hiredis. */
static int append_cmds(xw_redis *r, const xw_redis_cmd *cmds, size_t n)
{
    size_t total = 0, i;
    char *p;
    int j, rc = REDIS_OK;

    for (i = 0; i < n; i++) {
        total += 3 + dec_len((size_t)cmds[i].argc);
        for (j = 0; j < cmds[i].argc; j++) {
            size_t len = arg_len(&cmds[i], j);

            total += 3 + dec_len(len) + len + 2;
        }
    }
    if (total > r->fmt_cap) {
        char *f = realloc(r->fmt, total);

        if (!f) {
            for (i = 0; i < n && rc == REDIS_OK; i++)
                rc = redisAppendCommandArgv(r->c, cmds[i].argc, cmds[i].argv,
                                            cmds[i].argvlen);
            return rc;
        }
        r->fmt = f;
        r->fmt_cap = total;
    }
    p = r->fmt;
    for (i = 0; i < n; i++) {
        p = put_head(p, '*', (size_t)cmds[i].argc);
        for (j = 0; j < cmds[i].argc; j++) {
            size_t len = arg_len(&cmds[i], j);

            p = put_head(p, '$', len);
            if (len)
                memcpy(p, cmds[i].argv[j], len);
            p += len;
            *p++ = '\r';
            *p++ = '\n';
        }
    }
    rc = redisAppendFormattedCommand(r->c, r->fmt, total);
    if (r->fmt_cap > FMT_KEEP) {
        free(r->fmt);
        r->fmt = NULL;
        r->fmt_cap = 0;
    }
    return rc;
}

/* Writes the commands (either cmds[0..n) or one preformatted command) and
 * reads their n replies: one round trip. If `idem` and the connection
 * failed, does it once more on a new connection. 0 = replies read (some may
 * be error replies, see r->err), -1 = failure (out all NULL). */
static int roundtrip(xw_redis *r, const xw_redis_cmd *cmds, size_t n,
                     const char *fcmd, size_t flen, redisReply **out,
                     int idem)
{
    int attempt;

    for (attempt = 0; attempt < 2; attempt++) {
        int appended = 0;

        if (attempt)
            xw_warn(TAG, "%s; re-sending %zu idempotent command(s)",
                    r->errstr, n);
        clear_err(r);
        if (ensure_conn(r) < 0)
            return -1;
        if (fcmd) {
            appended = redisAppendFormattedCommand(r->c, fcmd, flen)
                       == REDIS_OK;
        } else {
            appended = append_cmds(r, cmds, n) == REDIS_OK;
        }
        if (!appended)
            io_failed(r);
        else if (read_replies(r, n, out) == 0)
            return 0;
        if (r->err != XW_REDIS_EIO || !idem)
            break;
    }
    return -1;
}

/* One argv command; returns an OWNED reply, error replies included (r->err
 * is EREPLY then), or NULL. */
static redisReply *cmd_argv_raw(xw_redis *r, int argc, const char **argv,
                                const size_t *argvlen, int idem)
{
    xw_redis_cmd one;
    redisReply *rep = NULL;

    one.argc = argc;
    one.argv = argv;
    one.argvlen = argvlen;
    if (roundtrip(r, &one, 1, NULL, 0, &rep, idem) < 0)
        return NULL;
    return rep;
}

/* Same, error replies turned into NULL. */
static redisReply *cmd_argv(xw_redis *r, int argc, const char **argv,
                            const size_t *argvlen, int idem)
{
    redisReply *rep = cmd_argv_raw(r, argc, argv, argvlen, idem);

    if (rep && rep->type == REDIS_REPLY_ERROR) {
        freeReplyObject(rep);
        rep = NULL;
    }
    return rep;
}

static redisReply *vcommand(xw_redis *r, int idem, const char *fmt,
                            va_list ap)
{
    char *cmd = NULL;
    redisReply *rep = NULL;
    int len;

    if (begin(r) < 0)
        goto out;
    len = redisvFormatCommand(&cmd, fmt, ap);
    if (len < 0) {
        cmd = NULL;
        set_err(r, len == -2 ? XW_REDIS_EARG : XW_REDIS_ENOMEM,
                len == -2 ? "invalid command format" : "out of memory");
        goto out;
    }
    if (roundtrip(r, NULL, 1, cmd, (size_t)len, &rep, idem) < 0)
        goto out;
    if (rep->type == REDIS_REPLY_ERROR) {
        freeReplyObject(rep);
        rep = NULL;
    }
out:
    if (cmd)
        redisFreeCommand(cmd);
    r->last = rep;
    return rep;
}

redisReply *xw_redis_command(xw_redis *r, const char *fmt, ...)
{
    redisReply *rep;
    va_list ap;

    va_start(ap, fmt);
    rep = vcommand(r, 0, fmt, ap);
    va_end(ap);
    return rep;
}

redisReply *xw_redis_command_idem(xw_redis *r, const char *fmt, ...)
{
    redisReply *rep;
    va_list ap;

    va_start(ap, fmt);
    rep = vcommand(r, 1, fmt, ap);
    va_end(ap);
    return rep;
}

redisReply *xw_redis_command_argv(xw_redis *r, int argc, const char **argv,
                                  const size_t *argvlen, int idempotent)
{
    if (begin(r) < 0)
        return NULL;
    if (argc <= 0 || !argv) {
        set_err(r, XW_REDIS_EARG, "empty command");
        return NULL;
    }
    r->last = cmd_argv(r, argc, argv, argvlen, idempotent);
    return r->last;
}

redisReply *xw_redis_reply_take(xw_redis *r)
{
    redisReply *rep = r->last;

    r->last = NULL;
    return rep;
}

/* ---- pipelines -------------------------------------------------------- */

void xw_redis_replies_free(redisReply **replies, size_t n)
{
    size_t i;

    for (i = 0; replies && i < n; i++) {
        if (replies[i])
            freeReplyObject(replies[i]);
        replies[i] = NULL;
    }
}

/* After read_replies() returned 0: turn an error reply into failure. */
static int finish_pipeline(xw_redis *r, redisReply **replies, size_t n)
{
    if (r->err == XW_REDIS_OK)
        return 0;
    xw_redis_replies_free(replies, n);
    return -1;
}

int xw_redis_pipeline(xw_redis *r, const xw_redis_cmd *cmds, size_t n,
                      redisReply **replies, int flags)
{
    size_t i;

    for (i = 0; replies && i < n; i++)
        replies[i] = NULL;
    if (begin(r) < 0)
        return -1;
    for (i = 0; i < n; i++) {
        if (cmds[i].argc <= 0 || !cmds[i].argv) {
            set_err(r, XW_REDIS_EARG, "command %zu of %zu is empty", i + 1,
                    n);
            return -1;
        }
    }
    if (n == 0)
        return 0;
    if (roundtrip(r, cmds, n, NULL, 0, replies,
                  (flags & XW_REDIS_IDEMPOTENT) != 0) < 0)
        return -1;
    return finish_pipeline(r, replies, n);
}

/* The two halves around a hiredis append: the batch begins with its
 * first command; a failed append discards the whole batch. */
static int append_begin(xw_redis *r)
{
    if (r->pending == 0 && (begin(r) < 0 || ensure_conn(r) < 0))
        return -1;
    return 0;
}

static int append_end(xw_redis *r, int rc)
{
    if (rc != REDIS_OK) {
        set_err(r, r->c->err == REDIS_ERR_OOM ? XW_REDIS_ENOMEM
                                              : XW_REDIS_EARG,
                "append: %s; batch discarded", r->c->errstr);
        drop_conn(r);
        return -1;
    }
    r->pending++;
    return 0;
}

int xw_redis_append(xw_redis *r, const char *fmt, ...)
{
    va_list ap;
    int rc;

    if (append_begin(r) < 0)
        return -1;
    va_start(ap, fmt);
    rc = redisvAppendCommand(r->c, fmt, ap);
    va_end(ap);
    return append_end(r, rc);
}

int xw_redis_append_argv(xw_redis *r, int argc, const char **argv,
                         const size_t *argvlen)
{
    xw_redis_cmd one;

    if (append_begin(r) < 0)
        return -1;
    if (argc <= 0 || !argv) {
        set_err(r, XW_REDIS_EARG, "append: empty command; batch discarded");
        xw_redis_pipeline_discard(r);
        return -1;
    }
    one = (xw_redis_cmd){ argc, argv, argvlen };
    return append_end(r, append_cmds(r, &one, 1));
}

int xw_redis_pipeline_flush(xw_redis *r)
{
    int done = 0;

    if (r->pending == 0)
        return 0;
    while (!done) {
        if (redisBufferWrite(r->c, &done) != REDIS_OK) {
            io_failed(r);           /* drops the connection and the batch */
            return -1;
        }
    }
    return 0;
}

void xw_redis_pipeline_discard(xw_redis *r)
{
    /* hiredis cannot unqueue written-to-buffer commands: drop the
     * connection; the next call reconnects. */
    if (r->pending)
        drop_conn(r);
}

int xw_redis_pipeline_exec(xw_redis *r, redisReply **replies, size_t n)
{
    size_t i;

    for (i = 0; replies && i < n; i++)
        replies[i] = NULL;
    clear_err(r);
    if (n != r->pending) {
        set_err(r, XW_REDIS_EARG, "exec of %zu replies but %zu commands "
                "queued; batch discarded", n, r->pending);
        xw_redis_pipeline_discard(r);
        return -1;
    }
    if (n == 0)
        return 0;
    if (read_replies(r, n, replies) < 0)
        return -1;
    return finish_pipeline(r, replies, n);
}

/* ---- marker ----------------------------------------------------------- */

int xw_redis_mark_once(xw_redis *r, const char *key, int ttl_s)
{
    char val[64], ttl[24];
    const char *argv[6] = { "SET", key, val, "NX", "EX", ttl };
    const char *get[2] = { "GET", key };
    redisReply *rep = NULL;
    int rc = -1, attempt;

    if (begin(r) < 0)
        goto out;
    if (!key || ttl_s <= 0) {
        set_err(r, XW_REDIS_EARG, "mark_once: key and ttl > 0 required");
        goto out;
    }
    snprintf(val, sizeof val, "%s-%llu", r->mark_prefix, ++r->mark_seq);
    snprintf(ttl, sizeof ttl, "%d", ttl_s);
    for (attempt = 0; attempt < 2; attempt++) {
        rep = cmd_argv(r, 6, argv, NULL, 0);
        if (rep || r->err != XW_REDIS_EIO)
            break;
    }
    if (!rep)
        goto out;
    if (rep->type == REDIS_REPLY_STATUS) {
        rc = 1;
    } else if (rep->type == REDIS_REPLY_NIL && attempt == 0) {
        rc = 0;
    } else if (rep->type == REDIS_REPLY_NIL) {
        /* The first SET may have landed before its reply was lost. */
        freeReplyObject(rep);
        rep = cmd_argv(r, 2, get, NULL, 1);
        if (!rep)
            goto out;
        rc = rep->type == REDIS_REPLY_STRING && strcmp(rep->str, val) == 0;
    } else {
        set_err(r, XW_REDIS_EPROTO, "mark_once: unexpected reply type %d",
                rep->type);
    }
out:
    if (rep)
        freeReplyObject(rep);
    return rc;
}

int xw_redis_unmark(xw_redis *r, const char *key)
{
    const char *argv[2] = { "DEL", key };
    redisReply *rep;

    if (begin(r) < 0)
        return -1;
    rep = cmd_argv(r, 2, argv, NULL, 1);
    if (!rep)
        return -1;
    freeReplyObject(rep);
    return 0;
}

/* ---- scripts, locks, fences ------------------------------------------ */

/* One script call being built; argv[0] and argv[1] (EVALSHA sha / EVAL
 * source) are filled by run_scripts(), argv[2..argc) are numkeys, keys...,
 * args... */
struct script_call {
    int argc;
    const char **argv;
    size_t *lens;
};

static void script_use(struct script_call *sc, xw_redis_cmd *cmd, int id,
                       int eval)
{
    sc->argv[0] = eval ? "EVAL" : "EVALSHA";
    sc->lens[0] = eval ? 4 : 7;
    sc->argv[1] = eval ? script_src[id] : script_sha[id];
    sc->lens[1] = eval ? strlen(script_src[id]) : 40;
    *cmd = (xw_redis_cmd){ sc->argc, sc->argv, sc->lens };
}

/* Runs script `id` once per call, all in one round trip: EVALSHA first,
 * then EVAL (which loads the script into the server's cache) for the
 * calls answered NOSCRIPT (a restarted or flushed Redis). 0 with an OWNED
 * reply per call in replies[0..n), error replies included (r->err is left
 * clear: they are the caller's to judge), or -1 with r->err and every slot
 * NULL. */
static int run_scripts(xw_redis *r, int id, struct script_call *calls,
                       size_t n, redisReply **replies, int idem)
{
    int eval = !script_sha[id][0];
    xw_redis_cmd *cmds = calloc(n, sizeof *cmds);
    redisReply **again = malloc(n * sizeof *again);
    size_t *idx = malloc(n * sizeof *idx);
    size_t i, m = 0;
    int rc = -1;

    for (i = 0; i < n; i++)
        replies[i] = NULL;
    if (!cmds || !again || !idx) {
        set_err(r, XW_REDIS_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++)
        script_use(&calls[i], &cmds[i], id, eval);
    if (roundtrip(r, cmds, n, NULL, 0, replies, idem) < 0)
        goto out;
    for (i = 0; i < n && !eval; i++) {
        if (replies[i]->type != REDIS_REPLY_ERROR
            || strncmp(replies[i]->str, "NOSCRIPT", 8) != 0)
            continue;
        freeReplyObject(replies[i]);
        replies[i] = NULL;
        script_use(&calls[i], &cmds[m], id, 1);
        idx[m++] = i;
    }
    clear_err(r);
    if (m) {
        if (roundtrip(r, cmds, m, NULL, 0, again, idem) < 0) {
            xw_redis_replies_free(replies, n);
            goto out;
        }
        clear_err(r);
        for (i = 0; i < m; i++)
            replies[idx[i]] = again[i];
    }
    rc = 0;
out:
    free(cmds);
    free(again);
    free(idx);
    return rc;
}

/* One call of script `id`: an OWNED non-error reply, or NULL with r->err
 * (an error reply is XW_REDIS_EREPLY). */
static redisReply *run_script(xw_redis *r, int id, int argc,
                              const char **argv, size_t *lens, int idem)
{
    struct script_call one = { argc, argv, lens };
    redisReply *rep;

    if (run_scripts(r, id, &one, 1, &rep, idem) < 0)
        return NULL;
    if (rep->type == REDIS_REPLY_ERROR) {
        set_err(r, XW_REDIS_EREPLY, "%s", rep->str);
        freeReplyObject(rep);
        rep = NULL;
    }
    return rep;
}

static int lock_key_ok(xw_redis *r, const char *key)
{
    if (!key || !key[0] || strlen(key) > XW_REDIS_KEY_MAX) {
        set_err(r, XW_REDIS_EARG, "lock key empty or longer than %d bytes",
                XW_REDIS_KEY_MAX);
        return 0;
    }
    return 1;
}

int xw_redis_lock_acquire(xw_redis *r, const char *key, int ttl_ms,
                          xw_redis_lock *lk)
{
    xw_redis_lock tmp;
    unsigned char rnd[16];
    char ttl[24];
    const char *argv[7];
    size_t lens[7];
    redisReply *rep = NULL;
    int rc = -1;

    memset(lk, 0, sizeof *lk);
    memset(&tmp, 0, sizeof tmp);
    if (begin(r) < 0 || !lock_key_ok(r, key))
        goto out;
    if (ttl_ms <= 0) {
        set_err(r, XW_REDIS_EARG, "lock ttl must be > 0 ms");
        goto out;
    }
    if (fill_random(rnd, sizeof rnd) < 0) {
        set_err(r, XW_REDIS_EIO, "getrandom: %s", strerror(errno));
        goto out;
    }
    hex_encode(tmp.token, rnd, sizeof rnd);
    snprintf(tmp.key, sizeof tmp.key, "%s", key);
    snprintf(tmp.fence_key, sizeof tmp.fence_key, "%s:fence", key);
    tmp.ttl_ms = ttl_ms;
    snprintf(ttl, sizeof ttl, "%d", ttl_ms);

    argv[2] = "2";
    argv[3] = tmp.key;
    argv[4] = tmp.fence_key;
    argv[5] = tmp.token;
    argv[6] = ttl;
    for (int i = 2; i < 7; i++)
        lens[i] = strlen(argv[i]);
    rep = run_script(r, SCRIPT_ACQUIRE, 7, argv, lens, 1);
    if (!rep)
        goto out;
    if (rep->type != REDIS_REPLY_INTEGER || rep->integer < 0) {
        set_err(r, XW_REDIS_EPROTO, "lock acquire: unexpected reply");
        goto out;
    }
    if (rep->integer == 0) {
        rc = 0;
        goto out;
    }
    tmp.fence = rep->integer;
    *lk = tmp;
    rc = 1;
out:
    if (rep)
        freeReplyObject(rep);
    OPENSSL_cleanse(&tmp, sizeof tmp);
    return rc;
}

/* extend (ttl_ms > 0) or release (ttl_ms == 0) */
static int lock_compare(xw_redis *r, const xw_redis_lock *lk, int ttl_ms,
                        int script)
{
    char ttl[24];
    const char *argv[6];
    size_t lens[6];
    redisReply *rep = NULL;
    int argc = 5, rc = -1;

    if (begin(r) < 0 || !lock_key_ok(r, lk->key))
        goto out;
    argv[2] = "1";
    argv[3] = lk->key;
    argv[4] = lk->token;
    if (script == SCRIPT_EXTEND) {
        if (ttl_ms <= 0) {
            set_err(r, XW_REDIS_EARG, "lock ttl must be > 0 ms");
            goto out;
        }
        snprintf(ttl, sizeof ttl, "%d", ttl_ms);
        argv[argc++] = ttl;
    }
    for (int i = 2; i < argc; i++)
        lens[i] = strlen(argv[i]);
    rep = run_script(r, script, argc, argv, lens, 1);
    if (!rep)
        goto out;
    if (rep->type != REDIS_REPLY_INTEGER) {
        set_err(r, XW_REDIS_EPROTO, "lock: unexpected reply");
        goto out;
    }
    rc = rep->integer > 0;
out:
    if (rep)
        freeReplyObject(rep);
    return rc;
}

int xw_redis_lock_extend(xw_redis *r, const xw_redis_lock *lk, int ttl_ms)
{
    return lock_compare(r, lk, ttl_ms, SCRIPT_EXTEND);
}

int xw_redis_lock_release(xw_redis *r, const xw_redis_lock *lk)
{
    return lock_compare(r, lk, 0, SCRIPT_RELEASE);
}

/* The arguments of one call: EVALSHA sha numkeys, the 3 or 4 keys, the
 * fence, the push flags, 3 per write, 2 per push (script_fenced). */
static size_t fenced_argc(const xw_redis_fenced_call *call)
{
    size_t w, argc = 3 + (call->count_hash ? 4 : 3) + 2 + 3 * call->n;

    for (w = 0; w < call->n; w++)
        argc += call->writes[w].push_key ? 2 : 0;
    return argc;
}

static int nonempty(const char *s)
{
    return s && s[0];
}

/* Checks the calls; counts the script arguments of those sent (n > 0).
 * 0, or -1 with EARG. */
static int fenced_check(xw_redis *r, const xw_redis_fenced_call *calls,
                        size_t ncalls, size_t *nargs)
{
    size_t i, w;

    *nargs = 0;
    for (i = 0; i < ncalls; i++) {
        const xw_redis_fenced_call *call = &calls[i];

        if (call->n == 0)
            continue;
        if (!nonempty(call->fence_key) || call->fence <= 0
            || !nonempty(call->once_hash) || !nonempty(call->hash)
            || (call->count_hash && !call->count_hash[0])
            || call->n > XW_REDIS_FENCED_MAX_WRITES || !call->writes
            || !call->written) {
            set_err(r, XW_REDIS_EARG, "fenced write %zu: need fence_key, "
                    "fence > 0, once_hash, hash, 1..%d writes and room for "
                    "the results", i + 1, XW_REDIS_FENCED_MAX_WRITES);
            return -1;
        }
        for (w = 0; w < call->n; w++) {
            const xw_redis_once_write *wr = &call->writes[w];

            /* an empty push_key is refused: NULL says "no push" */
            if (!nonempty(wr->once_field) || !wr->field
                || (!wr->value && wr->value_len)
                || (wr->push_key && (!wr->push_key[0]
                                     || (!wr->push_value && wr->push_len)))) {
                set_err(r, XW_REDIS_EARG, "fenced write %zu.%zu: need "
                        "once_field, field, value, a non-empty push_key",
                        i + 1, w + 1);
                return -1;
            }
        }
        *nargs += fenced_argc(call);
    }
    return 0;
}

/* Reads one call's reply into it. 0, or -1 with err. */
static int fenced_answer(xw_redis *r, xw_redis_fenced_call *call,
                         const redisReply *rep)
{
    size_t w;

    if (rep->type == REDIS_REPLY_ERROR) {
        if (strncmp(rep->str, "STALEFENCE", 10) == 0) {
            call->stale = 1;
            return 0;
        }
        set_err(r, XW_REDIS_EREPLY, "fenced write: %s", rep->str);
        return -1;
    }
    if (rep->type != REDIS_REPLY_STRING || rep->len != call->n) {
        set_err(r, XW_REDIS_EPROTO, "fenced write: unexpected reply");
        return -1;
    }
    for (w = 0; w < call->n; w++) {
        if (rep->str[w] != '0' && rep->str[w] != '1') {
            set_err(r, XW_REDIS_EPROTO, "fenced write: unexpected reply");
            return -1;
        }
        call->written[w] = rep->str[w] == '1';
    }
    return 0;
}

int xw_redis_fenced_write_batch(xw_redis *r, xw_redis_fenced_call *calls,
                                size_t ncalls)
{
    struct script_call *sc = NULL;
    redisReply **rep = NULL;
    const char **argv = NULL;
    size_t *lens = NULL;
    char (*fence)[24] = NULL;
    char *has = NULL;
    size_t nargs, nsend = 0, nwrites = 0, a = 0, h = 0, i, j, w;
    int rc = -1;

    if (begin(r) < 0 || fenced_check(r, calls, ncalls, &nargs) < 0)
        goto out;
    for (i = 0; i < ncalls; i++) {
        calls[i].stale = 0;
        for (w = 0; w < calls[i].n; w++)
            calls[i].written[w] = 0;
        nsend += calls[i].n > 0;
        nwrites += calls[i].n;
    }
    if (nsend == 0) {
        rc = 0;
        goto out;
    }
    sc = malloc(nsend * sizeof *sc);
    rep = calloc(nsend, sizeof *rep);
    argv = malloc(nargs * sizeof *argv);
    lens = malloc(nargs * sizeof *lens);
    fence = malloc(nsend * sizeof *fence);
    has = malloc(nwrites);
    if (!sc || !rep || !argv || !lens || !fence || !has) {
        set_err(r, XW_REDIS_ENOMEM, "out of memory");
        goto out;
    }

#define PUSH(s, l) (argv[a] = (s), lens[a] = (l), a++)
#define PUSHSTR(s) PUSH((s), strlen(s))
    for (i = 0, j = 0; i < ncalls; i++) {
        const xw_redis_fenced_call *call = &calls[i];

        if (call->n == 0)
            continue;
        sc[j].argv = &argv[a];
        sc[j].lens = &lens[a];
        sc[j].argc = (int)fenced_argc(call);
        a += 2;                 /* EVALSHA sha, by run_scripts() */
        PUSHSTR(call->count_hash ? "4" : "3");
        PUSHSTR(call->fence_key);
        PUSHSTR(call->once_hash);
        PUSHSTR(call->hash);
        if (call->count_hash)
            PUSHSTR(call->count_hash);
        snprintf(fence[j], sizeof fence[j], "%lld", call->fence);
        PUSHSTR(fence[j]);
        for (w = 0; w < call->n; w++)
            has[h + w] = call->writes[w].push_key ? '1' : '0';
        PUSH(&has[h], call->n);
        h += call->n;
        for (w = 0; w < call->n; w++)
            PUSHSTR(call->writes[w].once_field);
        for (w = 0; w < call->n; w++) {
            const xw_redis_once_write *wr = &call->writes[w];

            PUSHSTR(wr->field);
            PUSH(wr->value ? wr->value : "", wr->value_len);
        }
        for (w = 0; w < call->n; w++) {
            const xw_redis_once_write *wr = &call->writes[w];

            if (!wr->push_key)
                continue;
            PUSHSTR(wr->push_key);
            PUSH(wr->push_value ? wr->push_value : "", wr->push_len);
        }
        j++;
    }
#undef PUSHSTR
#undef PUSH

    if (run_scripts(r, SCRIPT_FENCED, sc, nsend, rep, 1) < 0)
        goto out;
    for (i = 0, j = 0; i < ncalls; i++) {
        if (calls[i].n && fenced_answer(r, &calls[i], rep[j++]) < 0)
            goto out;
    }
    rc = 0;
out:
    if (rep)
        xw_redis_replies_free(rep, nsend);
    free(sc);
    free(rep);
    free(argv);
    free(lens);
    free(fence);
    free(has);
    return rc;
}
