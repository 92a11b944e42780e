/*
 * xw_redis_race - drives common/xw_redis against a real redis-server for
 * tests/integration/redis_lock.sh.
 *
 *   selftest URL                    in-process checks; "N passed, N failed"
 *   race URL KEY TTL_MS GOFILE      wait for GOFILE, try the lock once:
 *                                   "won FENCE TOKEN" | "lost"
 *   acquire URL KEY TTL_MS          "1 FENCE TOKEN" | "0"
 *   release URL KEY TOKEN           "1" | "0"
 *   fenced URL FENCEKEY FENCE PREFIX ONCE FIELD VALUE
 *                                   one fenced exactly-once write: record
 *                                   ONCE in PREFIX:written, HSET PREFIX:val
 *                                   FIELD VALUE, count ONCE in
 *                                   PREFIX:writes: "written" | "duplicate"
 *                                   | "stale"
 *   batch URL FENCEKEY FENCE PREFIX N DISTINCT up|down [GOFILE]
 *                                   N exactly-once writes, write i on object
 *                                   o = i % DISTINCT (record o, HSET
 *                                   PREFIX:val o i, count o: the hashes of
 *                                   "fenced"), in that order or reversed,
 *                                   as batch calls of <= 100 writes, two
 *                                   calls per round trip:
 *                                   "written W duplicate D" | "stale"
 *   handle URL EVENT_ID COUNTER [GOFILE]
 *                                   handle an event once (mark, INCR):
 *                                   "handled" | "skipped"
 *   pipeline URL N                  N commands, one round trip: "N replies"
 *   survive URL READYFILE GOFILE    connect, touch READYFILE, wait for
 *                                   GOFILE (the test kills the connection or
 *                                   restarts redis), then use the same
 *                                   handle: "ok reconnects=N"
 *   outage URL READY GO1 GO2        after GO1 (redis is down) a command must
 *                                   fail within the reconnect budget
 *                                   ("down-failed MS"); after GO2 (redis is
 *                                   back) it must work ("up-ok")
 *   ping URL                        connect + PING: "pong DESCRIPTION" or
 *                                   "error MESSAGE" (exit 1)
 *   loading -                       against a stand-in server that answers
 *                                   its first connection "-LOADING" (a
 *                                   restarted Redis reading its AOF) and
 *                                   PONG afterwards: connect + PING must
 *                                   succeed: "ok connections=N"
 * Exit status 0 unless something unexpected happened.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xw_buf.h"
#include "xw_log.h"
#include "xw_metrics.h"
#include "xw_redis.h"
#include "xw_test.h"

static const char *url;
static char prefix[64];      /* per-run key prefix */

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void wait_file(const char *path)
{
    struct stat st;

    while (stat(path, &st) != 0)
        sleep_ms(1);
}

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");

    if (f)
        fclose(f);
}

static xw_redis *conn(const xw_redis_opts *opts)
{
    char err[256];
    xw_redis *r = xw_redis_connect(url, opts, err, sizeof err);

    if (!r) {
        fprintf(stderr, "connect: %s\n", err);
        exit(2);
    }
    return r;
}

static const char *k(const char *name)
{
    static char buf[16][160];
    static int i;

    i = (i + 1) % 16;
    snprintf(buf[i], sizeof buf[i], "%s:%s", prefix, name);
    return buf[i];
}

static long long get_int(xw_redis *r, const char *key)
{
    redisReply *rep = xw_redis_command(r, "GET %s", key);

    if (!rep || rep->type != REDIS_REPLY_STRING)
        return -1;
    return atoll(rep->str);
}

/* ---- selftest --------------------------------------------------------- */

static xw_redis *R;          /* the selftest's connection */

static void test_command_binary_and_replies(void)
{
    static const char bin[] = { 'a', 0, 'b', '\n', (char)0xff };
    redisReply *rep, *owned;

    rep = xw_redis_command(R, "SET %s %b", k("bin"), bin, sizeof bin);
    ASSERT(rep != NULL);
    ASSERT_EQ(rep->type, REDIS_REPLY_STATUS);
    rep = xw_redis_command(R, "GET %s", k("bin"));
    ASSERT(rep != NULL);
    ASSERT_EQ(rep->len, sizeof bin);
    ASSERT(memcmp(rep->str, bin, sizeof bin) == 0);
    /* taking the borrowed reply makes it ours; the next call must not
     * free it (ASan would catch a double free) */
    owned = xw_redis_reply_take(R);
    ASSERT(owned == rep);
    ASSERT(xw_redis_reply_take(R) == NULL);
    rep = xw_redis_command(R, "PING");
    ASSERT(rep != NULL);
    ASSERT_STR_EQ(rep->str, "PONG");
    ASSERT_EQ(owned->len, sizeof bin);
    freeReplyObject(owned);

    /* argv form, binary-safe */
    {
        const char *argv[3] = { "SET", k("bin2"), bin };
        size_t lens[3] = { 3, strlen(argv[1]), sizeof bin };

        rep = xw_redis_command_argv(R, 3, argv, lens, 1);
        ASSERT(rep != NULL);
        rep = xw_redis_command(R, "STRLEN %s", k("bin2"));
        ASSERT(rep != NULL);
        ASSERT_EQ(rep->integer, (long long)sizeof bin);
    }

    /* argv commands are put in the protocol by xw_redis itself: an empty
     * argument, lengths of 1 to 7 digits (a value larger than the buffer
     * it keeps between round trips), then a small command again */
    {
        enum { BIG = 5 << 20 };
        char *big = malloc(BIG);
        const char *argv[3] = { "SET", k("big"), big };
        size_t lens[3] = { 3, strlen(argv[1]), BIG };

        ASSERT(big != NULL);
        for (size_t i = 0; i < BIG; i++)
            big[i] = (char)(i * 7 + (i >> 12));
        ASSERT(xw_redis_command_argv(R, 3, argv, lens, 1) != NULL);
        argv[0] = "GET";
        rep = xw_redis_command_argv(R, 2, argv, lens, 1);
        ASSERT(rep != NULL && rep->type == REDIS_REPLY_STRING);
        ASSERT_EQ(rep->len, (size_t)BIG);
        ASSERT(memcmp(rep->str, big, BIG) == 0);
        free(big);
        argv[0] = "SET";
        lens[2] = 0;
        argv[2] = "";
        ASSERT(xw_redis_command_argv(R, 3, argv, lens, 1) != NULL);
        rep = xw_redis_command(R, "STRLEN %s", k("big"));
        ASSERT(rep != NULL);
        ASSERT_EQ(rep->integer, 0);
    }
}

static void test_error_reply(void)
{
    redisReply *rep;

    ASSERT(xw_redis_command(R, "SET %s x", k("str")) != NULL);
    rep = xw_redis_command(R, "LPUSH %s y", k("str"));
    ASSERT(rep == NULL);
    ASSERT_EQ(R->err, XW_REDIS_EREPLY);
    ASSERT(strstr(R->errstr, "WRONGTYPE") != NULL);
    rep = xw_redis_command(R, "PING");
    ASSERT(rep != NULL);
    ASSERT_EQ(R->err, XW_REDIS_OK);
    ASSERT_STR_EQ(R->errstr, "");
}

static void test_pipeline_1000(void)
{
    enum { N = 1000 };
    static char keys[N][96], vals[N][16];
    static const char *argv[N][3];
    static xw_redis_cmd cmds[N];
    static redisReply *replies[N];
    size_t i;
    int ok = 1;

    for (i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "%s:p:%zu", prefix, i);
        snprintf(vals[i], sizeof vals[i], "v%zu", i);
        argv[i][0] = "SET";
        argv[i][1] = keys[i];
        argv[i][2] = vals[i];
        cmds[i].argc = 3;
        cmds[i].argv = argv[i];
        cmds[i].argvlen = NULL;
    }
    ASSERT_EQ(xw_redis_pipeline(R, cmds, N, NULL, XW_REDIS_IDEMPOTENT), 0);
    for (i = 0; i < N; i++) {
        argv[i][0] = "GET";
        cmds[i].argc = 2;
    }
    ASSERT_EQ(xw_redis_pipeline(R, cmds, N, replies, 0), 0);
    for (i = 0; i < N; i++)
        ok &= replies[i] && replies[i]->type == REDIS_REPLY_STRING &&
              strcmp(replies[i]->str, vals[i]) == 0;
    xw_redis_replies_free(replies, N);
    ASSERT(ok);
    ASSERT(replies[0] == NULL && replies[N - 1] == NULL);
}

/* An error reply in the middle: -1, every slot NULL, errstr names the
 * command, and the other commands did run (not a transaction). */
static void test_pipeline_error_in_middle(void)
{
    const char *a0[3] = { "SET", k("pm0"), "1" };
    const char *a1[3] = { "LPUSH", k("str"), "x" };   /* WRONGTYPE */
    const char *a2[3] = { "SET", k("pm2"), "1" };
    xw_redis_cmd cmds[3] = { { 3, a0, NULL }, { 3, a1, NULL },
                             { 3, a2, NULL } };
    redisReply *replies[3] = { (void *)1, (void *)1, (void *)1 };

    ASSERT(xw_redis_command(R, "SET %s x", k("str")) != NULL);
    ASSERT_EQ(xw_redis_pipeline(R, cmds, 3, replies, 0), -1);
    ASSERT_EQ(R->err, XW_REDIS_EREPLY);
    ASSERT(strstr(R->errstr, "command 2 of 3") != NULL);
    ASSERT(replies[0] == NULL && replies[1] == NULL && replies[2] == NULL);
    ASSERT_EQ(get_int(R, k("pm2")), 1);
}

static void test_pipeline_builder(void)
{
    enum { N = 1000 };
    static redisReply *replies[N];
    int i;

    for (i = 0; i < N; i++)
        ASSERT_EQ(xw_redis_append(R, "INCR %s", k("ctr")), 0);
    /* a command while a batch is queued is refused, the batch survives */
    ASSERT(xw_redis_command(R, "PING") == NULL);
    ASSERT_EQ(R->err, XW_REDIS_EARG);
    ASSERT_EQ(xw_redis_pipeline_exec(R, replies, N), 0);
    ASSERT_EQ(replies[N - 1]->integer, N);
    xw_redis_replies_free(replies, N);

    /* wrong count: batch discarded, handle usable again */
    ASSERT_EQ(xw_redis_append(R, "INCR %s", k("ctr")), 0);
    ASSERT_EQ(xw_redis_pipeline_exec(R, NULL, 2), -1);
    ASSERT_EQ(R->err, XW_REDIS_EARG);
    ASSERT_EQ(get_int(R, k("ctr")), N);
    ASSERT_EQ(xw_redis_pipeline_exec(R, NULL, 0), 0);
}

static void test_mark_once(void)
{
    redisReply *rep;

    ASSERT_EQ(xw_redis_mark_once(R, k("evt:1"), 60), 1);
    ASSERT_EQ(xw_redis_mark_once(R, k("evt:1"), 60), 0);
    ASSERT_EQ(xw_redis_mark_once(R, k("evt:2"), 60), 1);
    rep = xw_redis_command(R, "TTL %s", k("evt:1"));
    ASSERT(rep != NULL);
    ASSERT(rep->integer > 0 && rep->integer <= 60);
    ASSERT_EQ(xw_redis_unmark(R, k("evt:1")), 0);
    ASSERT_EQ(xw_redis_mark_once(R, k("evt:1"), 60), 1);
    ASSERT_EQ(xw_redis_mark_once(R, k("evt:3"), 0), -1);
    ASSERT_EQ(R->err, XW_REDIS_EARG);
}

static void test_lock_basics(void)
{
    xw_redis_lock a, b, wrong;
    redisReply *rep;
    long long pttl;

    ASSERT_EQ(xw_redis_lock_acquire(R, k("lock"), 10000, &a), 1);
    ASSERT_EQ(strlen(a.token), 32);
    ASSERT(a.fence >= 1);
    ASSERT_EQ(xw_redis_lock_acquire(R, k("lock"), 10000, &b), 0);
    ASSERT_EQ(b.fence, 0);
    ASSERT_STR_EQ(b.token, "");

    wrong = a;
    memcpy(wrong.token, "00000000000000000000000000000000", 32);
    ASSERT_EQ(xw_redis_lock_release(R, &wrong), 0);
    ASSERT_EQ(xw_redis_lock_extend(R, &wrong, 50000), 0);
    rep = xw_redis_command(R, "GET %s", k("lock"));
    ASSERT(rep && rep->type == REDIS_REPLY_STRING);
    ASSERT_STR_EQ(rep->str, a.token);

    ASSERT_EQ(xw_redis_lock_extend(R, &a, 50000), 1);
    rep = xw_redis_command(R, "PTTL %s", k("lock"));
    ASSERT(rep != NULL);
    pttl = rep->integer;
    ASSERT(pttl > 10000 && pttl <= 50000);

    ASSERT_EQ(xw_redis_lock_release(R, &a), 1);
    ASSERT_EQ(xw_redis_lock_release(R, &a), 0);
    rep = xw_redis_command(R, "EXISTS %s", k("lock"));
    ASSERT(rep != NULL);
    ASSERT_EQ(rep->integer, 0);

    ASSERT_EQ(xw_redis_lock_acquire(R, k("lock"), 10000, &b), 1);
    ASSERT_GT(b.fence, a.fence);
    ASSERT(strcmp(a.token, b.token) != 0);
    ASSERT_EQ(xw_redis_lock_release(R, &b), 1);
}

static void test_lock_expiry(void)
{
    xw_redis_lock a, b;

    ASSERT_EQ(xw_redis_lock_acquire(R, k("exp"), 100, &a), 1);
    ASSERT_EQ(xw_redis_lock_acquire(R, k("exp"), 100, &b), 0);
    sleep_ms(250);
    ASSERT_EQ(xw_redis_lock_acquire(R, k("exp"), 10000, &b), 1);
    ASSERT_EQ(b.fence, a.fence + 1);
    ASSERT_EQ(xw_redis_lock_extend(R, &a, 10000), 0);   /* lost it */
    ASSERT_EQ(xw_redis_lock_release(R, &a), 0);         /* b's stays */
    ASSERT_EQ(xw_redis_lock_release(R, &b), 1);
}

static void test_lock_bad_args(void)
{
    xw_redis_lock a;
    char longkey[XW_REDIS_KEY_MAX + 2];

    memset(longkey, 'x', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    ASSERT_EQ(xw_redis_lock_acquire(R, longkey, 1000, &a), -1);
    ASSERT_EQ(R->err, XW_REDIS_EARG);
    ASSERT_EQ(xw_redis_lock_acquire(R, k("l"), 0, &a), -1);
    ASSERT_EQ(xw_redis_lock_acquire(R, "", 1000, &a), -1);
}

/* The hashes of fenced writes: PREFIX:written (the exactly-once
 * records), PREFIX:val (the values), PREFIX:writes (the counts). */
struct fh {
    char written[160], val[160], writes[160];
};

static void fh_init(struct fh *h, const char *pfx)
{
    snprintf(h->written, sizeof h->written, "%s:written", pfx);
    snprintf(h->val, sizeof h->val, "%s:val", pfx);
    snprintf(h->writes, sizeof h->writes, "%s:writes", pfx);
}

static xw_redis_fenced_call fh_call(const struct fh *h, const char *fence_key,
                                    long long fence,
                                    const xw_redis_once_write *w, size_t n,
                                    int *written)
{
    return (xw_redis_fenced_call){ fence_key, fence, h->written, h->val,
                                   h->writes, w, n, written, 0 };
}

/* One write in one call: record `once`, HSET val field value. 1 written,
 * 0 already written, 2 stale, -1 error (r->err). */
static int fenced1(xw_redis *r, const char *fence_key, long long fence,
                   const struct fh *h, const char *once, const char *field,
                   const char *value)
{
    xw_redis_once_write w = { once, field, value, strlen(value), NULL, NULL,
                              0 };
    int written = 0;
    xw_redis_fenced_call call = fh_call(h, fence_key, fence, &w, 1, &written);

    if (xw_redis_fenced_write_batch(r, &call, 1) < 0)
        return -1;
    return call.stale ? 2 : written;
}

/* HGET key field as a number; -1 when missing. */
static long long hget_int(const char *key, const char *field)
{
    redisReply *rep = xw_redis_command(R, "HGET %s %s", key, field);

    if (!rep || rep->type != REDIS_REPLY_STRING)
        return -1;
    return atoll(rep->str);
}

static long long int_reply(const char *fmt, const char *key)
{
    redisReply *rep = xw_redis_command(R, fmt, key);

    return rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
}

/* Fencing with the lock's own counter: an expired holder is refused as
 * soon as someone else holds a newer fence. */
static void test_fenced_write_with_lock_counter(void)
{
    xw_redis_lock a, b;
    struct fh h;
    redisReply *rep;

    fh_init(&h, k("lc"));
    ASSERT_EQ(xw_redis_lock_acquire(R, k("pkg"), 100, &a), 1);
    ASSERT_EQ(fenced1(R, a.fence_key, a.fence, &h, "o:1", "o", "from-a"), 1);
    sleep_ms(250);                      /* a's lock expires */
    ASSERT_EQ(xw_redis_lock_acquire(R, k("pkg"), 10000, &b), 1);
    ASSERT_GT(b.fence, a.fence);
    /* a still thinks it holds the lock: its write is refused */
    ASSERT_EQ(fenced1(R, a.fence_key, a.fence, &h, "o:2", "o", "from-a2"), 2);
    rep = xw_redis_command(R, "HGET %s o", h.val);
    ASSERT(rep && rep->type == REDIS_REPLY_STRING);
    ASSERT_STR_EQ(rep->str, "from-a");
    ASSERT_EQ(hget_int(h.written, "o:2"), -1);
    ASSERT_EQ(fenced1(R, b.fence_key, b.fence, &h, "o:2", "o", "from-b"), 1);
    rep = xw_redis_command(R, "HGET %s o", h.val);
    ASSERT(rep != NULL);
    ASSERT_STR_EQ(rep->str, "from-b");
    ASSERT_EQ(hget_int(h.writes, "o:1"), 1);
    ASSERT_EQ(hget_int(h.writes, "o:2"), 1);
    ASSERT_EQ(hget_int(h.written, "o:2"), b.fence);  /* who wrote it */
    ASSERT_EQ(xw_redis_lock_release(R, &b), 1);
}

/* The same write twice happens once; the record has no expiry. */
static void test_fenced_write_once(void)
{
    xw_redis_lock a;
    struct fh h;

    fh_init(&h, k("once"));
    ASSERT_EQ(xw_redis_lock_acquire(R, k("pkg2"), 10000, &a), 1);
    ASSERT_EQ(fenced1(R, a.fence_key, a.fence, &h, "obj1:1", "obj1", "x"), 1);
    ASSERT_EQ(fenced1(R, a.fence_key, a.fence, &h, "obj1:1", "obj1", "y"), 0);
    ASSERT_EQ(hget_int(h.writes, "obj1:1"), 1);
    ASSERT_EQ(int_reply("TTL %s", h.written), -1);
    ASSERT_EQ(xw_redis_lock_release(R, &a), 1);
}

/* Per-resource high-water mark: equal or newer accepted, older refused. */
static void test_fenced_write_high_water(void)
{
    struct fh h;

    fh_init(&h, k("hw"));
    ASSERT_EQ(fenced1(R, k("hw"), 5, &h, "a", "v", "x"), 1);
    ASSERT_EQ(get_int(R, k("hw")), 5);
    ASSERT_EQ(fenced1(R, k("hw"), 3, &h, "b", "v", "x"), 2);
    ASSERT_EQ(fenced1(R, k("hw"), 5, &h, "c", "v", "x"), 1);
    ASSERT_EQ(fenced1(R, k("hw"), 7, &h, "d", "v", "x"), 1);
    ASSERT_EQ(get_int(R, k("hw")), 7);
    ASSERT_EQ(fenced1(R, k("hw"), 6, &h, "e", "v", "x"), 2);
    ASSERT_EQ(fenced1(R, k("hw"), 0, &h, "f", "v", "x"), -1);
    ASSERT_EQ(R->err, XW_REDIS_EARG);
    ASSERT_EQ(int_reply("HLEN %s", h.written), 3);
}

/* A write for the batch tests: record obj, HSET val obj i (and LPUSH
 * push_key i when set). */
struct bw {
    char obj[120], num[24];
};

static void bw_init(struct bw *b, xw_redis_once_write *w, const char *obj,
                    long i, const char *push_key)
{
    snprintf(b->obj, sizeof b->obj, "%s", obj);
    snprintf(b->num, sizeof b->num, "%ld", i);
    *w = (xw_redis_once_write){ b->obj, b->obj, b->num, strlen(b->num),
                                push_key, b->num, strlen(b->num) };
}

static void bw_fill(struct bw *b, xw_redis_once_write *w,
                    const char *const *objs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        bw_init(&b[i], &w[i], objs[i], (long)i, NULL);
}

/* Everything a failed call must not have left: no record, value, count
 * of obj, and the pushed list at its length before. */
static void assert_untouched(const struct fh *h, const char *obj,
                             const char *list, long long len)
{
    ASSERT_EQ(hget_int(h->written, obj), -1);
    ASSERT_EQ(hget_int(h->val, obj), -1);
    ASSERT_EQ(hget_int(h->writes, obj), -1);
    ASSERT_EQ(int_reply("LLEN %s", list), len);
}

/* A call that meets a key of the wrong type, or a count that is not a
 * number, fails with EREPLY and leaves nothing: the pushes before the
 * failure are taken back, no record is taken, so the call can be
 * repeated once fixed. */
static void test_fenced_write_failing_call(void)
{
    static const char *const objs[] = { "fa", "fb", "fc" };
    struct bw b[3];
    xw_redis_once_write w[3];
    int written[3];
    struct fh h, hv;
    xw_redis_fenced_call call;
    char list[128], str[128];

    fh_init(&h, k("fail"));
    snprintf(list, sizeof list, "%s", k("fail:list"));
    snprintf(str, sizeof str, "%s", k("fail:str"));
    ASSERT(xw_redis_command(R, "RPUSH %s old", list) != NULL);
    ASSERT(xw_redis_command(R, "SET %s x", str) != NULL);
    bw_fill(b, w, objs, 3);
    call = fh_call(&h, k("fail:fence"), 1, w, 3, written);

    /* the second push meets a string: the first is taken back */
    w[0].push_key = list;
    w[1].push_key = str;
    ASSERT_EQ(xw_redis_fenced_write_batch(R, &call, 1), -1);
    ASSERT_EQ(R->err, XW_REDIS_EREPLY);
    ASSERT(strstr(R->errstr, "WRONGTYPE") != NULL);
    assert_untouched(&h, "fa", list, 1);
    assert_untouched(&h, "fb", list, 1);
    ASSERT_EQ(get_int(R, k("fail:fence")), -1);

    /* the values' hash is a string: the pushes are taken back */
    w[1].push_key = list;
    fh_init(&hv, k("fail"));
    snprintf(hv.val, sizeof hv.val, "%s", str);
    call = fh_call(&hv, k("fail:fence"), 1, w, 3, written);
    ASSERT_EQ(xw_redis_fenced_write_batch(R, &call, 1), -1);
    ASSERT_EQ(R->err, XW_REDIS_EREPLY);
    assert_untouched(&h, "fa", list, 1);

    /* a count that is not a number */
    call = fh_call(&h, k("fail:fence"), 1, w, 3, written);
    ASSERT(xw_redis_command(R, "HSET %s fc notanumber", h.writes) != NULL);
    ASSERT_EQ(xw_redis_fenced_write_batch(R, &call, 1), -1);
    ASSERT_EQ(R->err, XW_REDIS_EREPLY);
    ASSERT(strstr(R->errstr, "not a number") != NULL);
    assert_untouched(&h, "fa", list, 1);

    /* the records' hash is a string */
    snprintf(hv.val, sizeof hv.val, "%s", h.val);
    snprintf(hv.written, sizeof hv.written, "%s", str);
    call = fh_call(&hv, k("fail:fence"), 1, w, 3, written);
    ASSERT_EQ(xw_redis_fenced_write_batch(R, &call, 1), -1);
    ASSERT_EQ(R->err, XW_REDIS_EREPLY);
    assert_untouched(&h, "fa", list, 1);

    /* fixed: the repeat writes all of it, once */
    ASSERT(xw_redis_command(R, "HDEL %s fc", h.writes) != NULL);
    call = fh_call(&h, k("fail:fence"), 1, w, 3, written);
    ASSERT_EQ(xw_redis_fenced_write_batch(R, &call, 1), 0);
    ASSERT(written[0] == 1 && written[1] == 1 && written[2] == 1);
    ASSERT_EQ(int_reply("LLEN %s", list), 3);
    ASSERT_EQ(hget_int(h.writes, "fb"), 1);
    ASSERT_EQ(hget_int(h.val, "fc"), 2);
    ASSERT_EQ(get_int(R, k("fail:fence")), 1);
    ASSERT_EQ(xw_redis_fenced_write_batch(R, &call, 1), 0);
    ASSERT(written[0] == 0 && written[1] == 0 && written[2] == 0);
    ASSERT_EQ(int_reply("LLEN %s", list), 3);
}

/* xw_redis_round_trips_total of this process, from the metrics text. */
static long long round_trips(void)
{
    static const char name[] = "\nxw_redis_round_trips_total ";
    xw_buf b;
    const char *p;
    long long v = -1;

    xw_buf_init(&b, 0);
    if (xw_metrics_render(&b) == 0 && xw_buf_add(&b, "", 1) == 0
        && (p = strstr(b.data, name)) != NULL)
        v = atoll(p + strlen(name));
    xw_buf_release(&b);
    return v;
}

/* One call, results per write: a record repeated inside the call is
 * written once (the first write's value); a repeat of the call writes
 * nothing. */
static void test_fenced_batch_once_per_write(void)
{
    static const char *const objs[] = { "ba", "bb", "ba", "bc" };
    struct bw b[4];
    xw_redis_once_write w[4];
    int written[4] = { 7, 7, 7, 7 };
    struct fh h;
    xw_redis_fenced_call call;

    fh_init(&h, k("bo"));
    bw_fill(b, w, objs, 4);
    call = fh_call(&h, k("bfence"), 3, w, 4, written);
    call.stale = 1;
    ASSERT_EQ(xw_redis_fenced_write_batch(R, &call, 1), 0);
    ASSERT_EQ(call.stale, 0);
    ASSERT(written[0] == 1 && written[1] == 1 && written[2] == 0
           && written[3] == 1);
    ASSERT_EQ(hget_int(h.writes, "ba"), 1);
    ASSERT_EQ(hget_int(h.val, "ba"), 0);          /* the first one's */
    ASSERT_EQ(hget_int(h.written, "bc"), 3);      /* the fence */
    ASSERT_EQ(get_int(R, k("bfence")), 3);        /* high-water mark */

    ASSERT_EQ(xw_redis_fenced_write_batch(R, &call, 1), 0);
    ASSERT(written[0] == 0 && written[1] == 0 && written[2] == 0
           && written[3] == 0);
    ASSERT_EQ(hget_int(h.writes, "ba"), 1);
    ASSERT_EQ(int_reply("HLEN %s", h.writes), 3);
}

/* A call mixing new writes, a record written before and a repeat inside
 * the call, some with pushes: each push goes with its own write (value
 * and list), and only the new writes push; a count already there (a
 * record written but its count kept, e.g. by a migration) is counted on,
 * not reset. The script lays a call out by column (flags, records,
 * values, then the pushes of the writes that have one), so this checks
 * the pairing. */
static void test_fenced_batch_mixed_pushes(void)
{
    static const char *const objs[] = { "ma", "mb", "mc", "ma", "md" };
    struct bw b[5];
    xw_redis_once_write w[5];
    int written[5];
    struct fh h;
    xw_redis_fenced_call call;
    char l[5][64];

    fh_init(&h, k("mix"));
    for (int i = 0; i < 5; i++) {
        snprintf(l[i], sizeof l[i], "%s:%d", k("mix:list"), i);
        bw_init(&b[i], &w[i], objs[i], 10 + i, i == 2 ? NULL : l[i]);
    }
    ASSERT(xw_redis_command(R, "HSET %s mb 9", h.written) != NULL);
    ASSERT(xw_redis_command(R, "HSET %s md 4", h.writes) != NULL);
    call = fh_call(&h, k("mix:fence"), 2, w, 5, written);
    ASSERT_EQ(xw_redis_fenced_write_batch(R, &call, 1), 0);
    ASSERT(written[0] == 1 && written[1] == 0 && written[2] == 1
           && written[3] == 0 && written[4] == 1);
    ASSERT_EQ(int_reply("LLEN %s", l[0]), 1);
    ASSERT_EQ(int_reply("LLEN %s", l[1]), 0);
    ASSERT_EQ(int_reply("LLEN %s", l[3]), 0);
    ASSERT_EQ(int_reply("LLEN %s", l[4]), 1);
    {
        redisReply *rep = xw_redis_command(R, "LINDEX %s 0", l[4]);

        ASSERT(rep && rep->type == REDIS_REPLY_STRING);
        ASSERT_STR_EQ(rep->str, "14");
    }
    ASSERT_EQ(hget_int(h.val, "ma"), 10);
    ASSERT_EQ(hget_int(h.val, "mb"), -1);
    ASSERT_EQ(hget_int(h.val, "mc"), 12);
    ASSERT_EQ(hget_int(h.val, "md"), 14);
    ASSERT_EQ(hget_int(h.written, "mb"), 9);
    ASSERT_EQ(hget_int(h.written, "md"), 2);
    ASSERT_EQ(hget_int(h.writes, "ma"), 1);
    ASSERT_EQ(hget_int(h.writes, "mb"), -1);
    ASSERT_EQ(hget_int(h.writes, "md"), 5);
}

/* Two calls in one round trip: the one with a stale fence is refused as a
 * whole (nothing of it written), the other one is written. */
static void test_fenced_batch_stale_call(void)
{
    static const char *const old_objs[] = { "so1", "so2", "so3" };
    static const char *const new_objs[] = { "sn1", "sn2" };
    struct bw bo[3], bn[2];
    xw_redis_once_write wo[3], wn[2];
    int wro[3], wrn[2];
    struct fh h;
    xw_redis_fenced_call calls[2];
    long long rt;

    fh_init(&h, k("st"));
    bw_fill(bo, wo, old_objs, 3);
    bw_fill(bn, wn, new_objs, 2);
    calls[0] = fh_call(&h, k("sfence"), 4, wo, 3, wro);
    calls[1] = fh_call(&h, k("sfence2"), 1, wn, 2, wrn);
    ASSERT(xw_redis_command(R, "SET %s 5", k("sfence")) != NULL);
    rt = round_trips();
    ASSERT_EQ(xw_redis_fenced_write_batch(R, calls, 2), 0);
    ASSERT_EQ(round_trips() - rt, 1);
    ASSERT_EQ(calls[0].stale, 1);
    ASSERT(wro[0] == 0 && wro[1] == 0 && wro[2] == 0);
    ASSERT_EQ(calls[1].stale, 0);
    ASSERT(wrn[0] == 1 && wrn[1] == 1);
    ASSERT_EQ(hget_int(h.writes, "so1"), -1);
    ASSERT_EQ(hget_int(h.written, "so3"), -1);
    ASSERT_EQ(hget_int(h.writes, "sn2"), 1);
    ASSERT_EQ(get_int(R, k("sfence")), 5);
}

/* After SCRIPT FLUSH (a restarted Redis) every call of the round trip is
 * answered NOSCRIPT and sent again with EVAL, once. */
static void test_fenced_batch_noscript(void)
{
    static const char *const o1[] = { "ns1" }, *const o2[] = { "ns2" };
    struct bw b1[1], b2[1];
    xw_redis_once_write w1[1], w2[1];
    int wr1[1], wr2[1];
    struct fh h;
    xw_redis_fenced_call calls[2];

    fh_init(&h, k("ns"));
    bw_fill(b1, w1, o1, 1);
    bw_fill(b2, w2, o2, 1);
    calls[0] = fh_call(&h, k("nsfence"), 1, w1, 1, wr1);
    calls[1] = fh_call(&h, k("nsfence"), 1, w2, 1, wr2);
    ASSERT(xw_redis_command(R, "SCRIPT FLUSH") != NULL);
    ASSERT_EQ(xw_redis_fenced_write_batch(R, calls, 2), 0);
    ASSERT(wr1[0] == 1 && wr2[0] == 1);
    ASSERT_EQ(hget_int(h.writes, "ns1"), 1);
    ASSERT_EQ(hget_int(h.writes, "ns2"), 1);
}

/* Commands Redis ran so far (INFO commandstats: calls of every command,
 * those run by scripts included). */
static long long commands_run(void)
{
    redisReply *rep = xw_redis_command(R, "INFO commandstats");
    long long n = 0;
    const char *p;

    if (!rep || rep->type != REDIS_REPLY_STRING)
        return -1;
    for (p = rep->str; (p = strstr(p, ":calls=")) != NULL; p += 7)
        n += atoll(p + 7);
    return n;
}

/* A call of the most writes runs a few commands, not a few per write:
 * GET the fence, HMGET records and counts, HSET values, records and
 * counts (two each: 500 pairs per command), SET the fence; plus one LPUSH
 * per write that pushes. Every write is done. */
static void test_fenced_batch_commands(void)
{
    enum { N = XW_REDIS_FENCED_MAX_WRITES, PUSHES = 10 };
    static struct bw b[N];
    static xw_redis_once_write w[N];
    static int written[N];
    struct fh h;
    xw_redis_fenced_call call;
    char obj[32];
    long long before, ran;

    fh_init(&h, k("cmds"));
    for (long i = 0; i < N; i++) {
        snprintf(obj, sizeof obj, "o%ld:1", i);
        bw_init(&b[i], &w[i], obj, i, i < PUSHES ? k("cmds:hist") : NULL);
    }
    call = fh_call(&h, k("cmds:fence"), 1, w, 1, written);
    ASSERT_EQ(xw_redis_fenced_write_batch(R, &call, 1), 0); /* script loaded */
    call.n = N;
    before = commands_run();
    ASSERT_EQ(xw_redis_fenced_write_batch(R, &call, 1), 0);
    ran = commands_run() - before - 2;  /* INFO, EVALSHA */
    if (ran > 8 + PUSHES)
        fprintf(stderr, "  %lld commands for %d writes\n", ran, N);
    ASSERT(ran <= 8 + PUSHES);
    ASSERT(written[0] == 0 && written[1] == 1 && written[N - 1] == 1);
    ASSERT_EQ(int_reply("HLEN %s", h.written), N);
    ASSERT_EQ(int_reply("HLEN %s", h.val), N);
    ASSERT_EQ(int_reply("HLEN %s", h.writes), N);
    ASSERT_EQ(hget_int(h.val, "o999:1"), 999);
    ASSERT_EQ(int_reply("LLEN %s", k("cmds:hist")), PUSHES);
}

static void test_fenced_batch_bad_args(void)
{
    static xw_redis_once_write w[XW_REDIS_FENCED_MAX_WRITES + 1];
    int written[1];
    struct fh h;
    xw_redis_fenced_call call;

    fh_init(&h, k("bad"));
    call = fh_call(&h, k("bad"), 1, w, XW_REDIS_FENCED_MAX_WRITES + 1, NULL);
    ASSERT_EQ(xw_redis_fenced_write_batch(R, &call, 1), -1);
    ASSERT_EQ(R->err, XW_REDIS_EARG);
    call.n = 1;
    ASSERT_EQ(xw_redis_fenced_write_batch(R, &call, 1), -1);
    ASSERT_EQ(R->err, XW_REDIS_EARG);            /* no room for results */
    call.written = written;
    ASSERT_EQ(xw_redis_fenced_write_batch(R, &call, 1), -1);
    ASSERT_EQ(R->err, XW_REDIS_EARG);            /* no once_field */
    w[0] = (xw_redis_once_write){ "f", "f", "v", 1, "", "x", 1 };
    ASSERT_EQ(xw_redis_fenced_write_batch(R, &call, 1), -1);
    ASSERT_EQ(R->err, XW_REDIS_EARG);            /* an empty push key */
    w[0].push_key = NULL;
    call.fence = 0;
    ASSERT_EQ(xw_redis_fenced_write_batch(R, &call, 1), -1);
    ASSERT_EQ(R->err, XW_REDIS_EARG);
    call.fence = 1;
    call.hash = NULL;
    ASSERT_EQ(xw_redis_fenced_write_batch(R, &call, 1), -1);
    ASSERT_EQ(R->err, XW_REDIS_EARG);
    call.n = 0;                                  /* nothing to send */
    ASSERT_EQ(xw_redis_fenced_write_batch(R, &call, 1), 0);
}

/* After SCRIPT FLUSH the EVALSHA fails with NOSCRIPT and EVAL takes over. */
static void test_noscript_fallback(void)
{
    xw_redis_lock a;

    ASSERT(xw_redis_command(R, "SCRIPT FLUSH") != NULL);
    ASSERT_EQ(xw_redis_lock_acquire(R, k("ns"), 10000, &a), 1);
    ASSERT(xw_redis_command(R, "SCRIPT FLUSH") != NULL);
    ASSERT_EQ(xw_redis_lock_release(R, &a), 1);
}

static void test_url_errors(void)
{
    static const char *const bad[] = {
        "http://127.0.0.1:6379", "rediss://127.0.0.1:6379",
        "redis://", "redis://127.0.0.1:0", "redis://127.0.0.1:70000",
        "redis://127.0.0.1:x", "redis://127.0.0.1:6379/db",
        "redis://127.0.0.1:6379/0/1", "redis://s3cret@127.0.0.1:6379",
        "redis://:@127.0.0.1:6379", "redis://:%zz@127.0.0.1:6379",
        "unix://relative.sock", "unix:///", "unix:///tmp/r.sock?x=1",
        "redis://[::1", NULL,
    };
    xw_redis_opts o = XW_REDIS_OPTS_INIT;
    char err[256];
    size_t i;

    o.reconnect_attempts = 1;
    for (i = 0; bad[i]; i++) {
        xw_redis *r = xw_redis_connect(bad[i], &o, err, sizeof err);

        if (r) {
            fprintf(stderr, "  accepted bad URL %s\n", bad[i]);
            xw_redis_free(r);
            ASSERT(0);
        }
        ASSERT(strstr(err, "redis URL") != NULL);
        ASSERT(strstr(err, "s3cret") == NULL);
    }
    ASSERT(xw_redis_connect(NULL, &o, err, sizeof err) == NULL);
}

/* Nothing listens on port 1: refused, after the bounded attempts, and the
 * message names the server but not the password. */
static void test_connect_refused_no_password_in_error(void)
{
    xw_redis_opts o = XW_REDIS_OPTS_INIT;
    char err[256];
    long long t0 = now_ms();
    xw_redis *r;

    o.reconnect_attempts = 3;
    o.reconnect_min_ms = 20;
    o.reconnect_max_ms = 40;
    r = xw_redis_connect("redis://:s3cr%40t@127.0.0.1:1/3", &o, err,
                         sizeof err);
    ASSERT(r == NULL);
    ASSERT(strstr(err, "127.0.0.1:1/3") != NULL);
    ASSERT(strstr(err, "s3cr") == NULL);
    ASSERT(now_ms() - t0 < 2000);
}

/* A reply slower than the command timeout is an I/O error; the handle
 * reconnects on the next call. */
static void test_command_timeout(void)
{
    xw_redis_opts o = XW_REDIS_OPTS_INIT;
    xw_redis *r;
    redisReply *rep;
    long long t0;

    o.command_timeout_ms = 200;
    r = conn(&o);
    t0 = now_ms();
    rep = xw_redis_command(r, "BLPOP %s 2", k("never"));
    ASSERT(rep == NULL);
    ASSERT_EQ(r->err, XW_REDIS_EIO);
    ASSERT(strstr(r->errstr, "no reply within 200 ms") != NULL);
    ASSERT(now_ms() - t0 < 1500);
    rep = xw_redis_command(r, "PING");
    ASSERT(rep != NULL);
    ASSERT_EQ(r->reconnects, 1);
    xw_redis_free(r);
}

static long long client_id(xw_redis *r)
{
    redisReply *rep = xw_redis_command(r, "CLIENT ID");

    return rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
}

/* Kill connection `id` from another connection after `delay_ms`, in a
 * child process. Returns the child's pid. */
static pid_t kill_later(long long id, long delay_ms)
{
    pid_t pid = fork();

    if (pid == 0) {
        xw_redis *killer;
        char err[256];

        sleep_ms(delay_ms);
        killer = xw_redis_connect(url, NULL, err, sizeof err);
        if (killer)
            (void)xw_redis_command(killer, "CLIENT KILL ID %lld", id);
        xw_redis_free(killer);
        _exit(killer ? 0 : 1);
    }
    return pid;
}

/* The server closed an idle connection: noticed before writing, so even a
 * non-idempotent command is sent once, on a new connection. */
static void test_reconnect_idle_killed(void)
{
    xw_redis *r = conn(NULL), *killer = conn(NULL);
    long long id = client_id(r);

    ASSERT(id > 0);
    ASSERT(xw_redis_command(killer, "CLIENT KILL ID %lld", id) != NULL);
    ASSERT_EQ(killer->err, XW_REDIS_OK);
    sleep_ms(50);
    ASSERT(xw_redis_command(r, "INCR %s", k("idle:ctr")) != NULL);
    ASSERT_EQ(r->reconnects, 1);
    ASSERT_EQ(get_int(r, k("idle:ctr")), 1);
    ASSERT(client_id(r) != id);
    xw_redis_free(r);
    xw_redis_free(killer);
}

/* The connection dies while a command is in flight: a plain command is not
 * re-sent (-1, EIO); an idempotent one is re-sent once and succeeds. */
static void test_reconnect_in_flight(void)
{
    xw_redis *r = conn(NULL);
    redisReply *rep;
    pid_t child;
    int st;

    child = kill_later(client_id(r), 200);
    rep = xw_redis_command(r, "BLPOP %s 3", k("inflight"));
    ASSERT(rep == NULL);
    ASSERT_EQ(r->err, XW_REDIS_EIO);
    waitpid(child, &st, 0);
    ASSERT_EQ(r->reconnects, 0);        /* nothing re-sent */

    child = kill_later(client_id(r), 200);
    ASSERT_EQ(r->reconnects, 1);        /* CLIENT ID reconnected */
    rep = xw_redis_command_idem(r, "BLPOP %s 1", k("inflight"));
    waitpid(child, &st, 0);
    ASSERT(rep != NULL);
    ASSERT_EQ(rep->type, REDIS_REPLY_NIL);
    ASSERT_EQ(r->reconnects, 2);
    xw_redis_free(r);
}

static int selftest(void)
{
    xw_log_init("xw_redis_race", XW_ERROR);
    R = conn(NULL);
    XW_RUN(test_command_binary_and_replies);
    XW_RUN(test_error_reply);
    XW_RUN(test_pipeline_1000);
    XW_RUN(test_pipeline_error_in_middle);
    XW_RUN(test_pipeline_builder);
    XW_RUN(test_mark_once);
    XW_RUN(test_lock_basics);
    XW_RUN(test_lock_expiry);
    XW_RUN(test_lock_bad_args);
    XW_RUN(test_fenced_write_with_lock_counter);
    XW_RUN(test_fenced_write_once);
    XW_RUN(test_fenced_write_high_water);
    XW_RUN(test_fenced_write_failing_call);
    XW_RUN(test_fenced_batch_once_per_write);
    XW_RUN(test_fenced_batch_mixed_pushes);
    XW_RUN(test_fenced_batch_stale_call);
    XW_RUN(test_fenced_batch_noscript);
    XW_RUN(test_fenced_batch_commands);
    XW_RUN(test_fenced_batch_bad_args);
    XW_RUN(test_noscript_fallback);
    XW_RUN(test_url_errors);
    XW_RUN(test_connect_refused_no_password_in_error);
    XW_RUN(test_command_timeout);
    XW_RUN(test_reconnect_idle_killed);
    XW_RUN(test_reconnect_in_flight);
    xw_redis_free(R);
    return XW_REPORT();
}

/* ---- multi-process subcommands ---------------------------------------- */

static int cmd_race(const char *key, int ttl, const char *gofile)
{
    xw_redis *r = conn(NULL);
    xw_redis_lock lk;
    int rc;

    wait_file(gofile);
    rc = xw_redis_lock_acquire(r, key, ttl, &lk);
    if (rc == 1)
        printf("won %lld %s\n", lk.fence, lk.token);
    else if (rc == 0)
        printf("lost\n");
    else
        fprintf(stderr, "acquire: %s\n", r->errstr);
    xw_redis_free(r);
    return rc < 0;
}

static int cmd_acquire(const char *key, int ttl)
{
    xw_redis *r = conn(NULL);
    xw_redis_lock lk;
    int rc = xw_redis_lock_acquire(r, key, ttl, &lk);

    if (rc == 1)
        printf("1 %lld %s\n", lk.fence, lk.token);
    else if (rc == 0)
        printf("0\n");
    else
        fprintf(stderr, "acquire: %s\n", r->errstr);
    xw_redis_free(r);
    return rc < 0;
}

static int cmd_release(const char *key, const char *token)
{
    xw_redis *r = conn(NULL);
    xw_redis_lock lk;
    int rc;

    memset(&lk, 0, sizeof lk);
    snprintf(lk.key, sizeof lk.key, "%s", key);
    snprintf(lk.token, sizeof lk.token, "%s", token);
    rc = xw_redis_lock_release(r, &lk);
    if (rc >= 0)
        printf("%d\n", rc);
    else
        fprintf(stderr, "release: %s\n", r->errstr);
    xw_redis_free(r);
    return rc < 0;
}

static int cmd_fenced(const char *fence_key, long long fence,
                      const char *pfx, const char *once, const char *field,
                      const char *value)
{
    xw_redis *r = conn(NULL);
    struct fh h;
    int rc;

    fh_init(&h, pfx);
    rc = fenced1(r, fence_key, fence, &h, once, field, value);
    if (rc == 1)
        printf("written\n");
    else if (rc == 0)
        printf("duplicate\n");
    else if (rc == 2)
        printf("stale\n");
    else
        fprintf(stderr, "fenced: %s\n", r->errstr);
    xw_redis_free(r);
    return rc < 0;
}

#define BATCH_CALL 100   /* writes per call of cmd_batch */

static int cmd_batch(const char *fence_key, long long fence,
                     const char *pfx, long n, long distinct, int down,
                     const char *gofile)
{
    xw_redis *r = conn(NULL);
    struct bw *b = calloc((size_t)n, sizeof *b);
    xw_redis_once_write *w = calloc((size_t)n, sizeof *w);
    int *written = calloc((size_t)n, sizeof *written);
    struct fh h;
    long i, done = 0, dup = 0, stale = 0;
    int rc = 1;

    if (!b || !w || !written || n <= 0 || distinct <= 0)
        goto out;
    fh_init(&h, pfx);
    for (i = 0; i < n; i++) {
        char obj[32];

        snprintf(obj, sizeof obj, "%ld", (down ? n - 1 - i : i) % distinct);
        bw_init(&b[i], &w[i], obj, i, NULL);
    }
    if (gofile)
        wait_file(gofile);
    /* Two calls per round trip, so that two racing processes interleave. */
    for (i = 0; i < n; i += 2 * BATCH_CALL) {
        xw_redis_fenced_call calls[2];
        size_t nc = 0;

        for (long s = i; s < n && s < i + 2 * BATCH_CALL; s += BATCH_CALL)
            calls[nc++] = fh_call(&h, fence_key, fence, &w[s],
                                  (size_t)(n - s < BATCH_CALL ? n - s
                                                              : BATCH_CALL),
                                  &written[s]);
        if (xw_redis_fenced_write_batch(r, calls, nc) < 0) {
            fprintf(stderr, "batch: %s\n", r->errstr);
            goto out;
        }
        for (size_t c = 0; c < nc; c++) {
            stale += calls[c].stale;
            for (size_t j = 0; j < calls[c].n; j++) {
                done += calls[c].written[j] == 1;
                dup += !calls[c].stale && calls[c].written[j] == 0;
            }
        }
    }
    if (stale)
        printf("stale\n");
    else
        printf("written %ld duplicate %ld\n", done, dup);
    rc = 0;
out:
    free(b);
    free(w);
    free(written);
    xw_redis_free(r);
    return rc;
}

/* The shape of every consumer: dedupe by event id, then apply. */
static int cmd_handle(const char *event_id, const char *counter,
                      const char *gofile)
{
    xw_redis *r = conn(NULL);
    char mark[300];
    int rc;

    if (gofile)
        wait_file(gofile);
    snprintf(mark, sizeof mark, "xw:seen:%s", event_id);
    rc = xw_redis_mark_once(r, mark, 3600);
    if (rc == 1) {
        if (!xw_redis_command(r, "INCR %s", counter))
            rc = -1;
        else
            printf("handled\n");
    } else if (rc == 0) {
        printf("skipped\n");
    }
    if (rc < 0)
        fprintf(stderr, "handle: %s\n", r->errstr);
    xw_redis_free(r);
    return rc < 0;
}

static int cmd_pipeline(size_t n)
{
    xw_redis *r = conn(NULL);
    redisReply **replies = calloc(n, sizeof *replies);
    const char **argv = calloc(n * 3, sizeof *argv);
    char (*keys)[32] = calloc(n, sizeof *keys);
    xw_redis_cmd *cmds = calloc(n, sizeof *cmds);
    size_t i, got = 0;
    int rc = 1;

    if (!replies || !argv || !keys || !cmds)
        goto out;
    for (i = 0; i < n; i++) {
        snprintf(keys[i], sizeof keys[i], "xw:pipe:%zu", i);
        argv[3 * i] = "SET";
        argv[3 * i + 1] = keys[i];
        argv[3 * i + 2] = keys[i];
        cmds[i].argc = 3;
        cmds[i].argv = &argv[3 * i];
    }
    if (xw_redis_pipeline(r, cmds, n, replies, 0) < 0) {
        fprintf(stderr, "pipeline: %s\n", r->errstr);
        goto out;
    }
    for (i = 0; i < n; i++)
        got += replies[i] && replies[i]->type == REDIS_REPLY_STATUS;
    xw_redis_replies_free(replies, n);
    printf("%zu replies\n", got);
    rc = 0;
out:
    free(replies);
    free(argv);
    free(keys);
    free(cmds);
    xw_redis_free(r);
    return rc;
}

static int cmd_survive(const char *ready, const char *go)
{
    xw_redis *r = conn(NULL);
    int ok;

    ok = xw_redis_command(r, "SET xw:survive before") != NULL;
    touch(ready);
    wait_file(go);
    /* non-idempotent first: the dead connection is noticed before sending */
    ok = ok && xw_redis_command(r, "INCR xw:survive:ctr") != NULL;
    ok = ok && xw_redis_command(r, "GET xw:survive") != NULL;
    if (ok)
        printf("ok reconnects=%lu\n", r->reconnects);
    else
        printf("error %s\n", r->errstr);
    xw_redis_free(r);
    return !ok;
}

static int cmd_outage(const char *ready, const char *go1, const char *go2)
{
    xw_redis_opts o = XW_REDIS_OPTS_INIT;
    xw_redis *r;
    long long t0;
    int ok = 1;

    o.reconnect_attempts = 4;
    o.reconnect_min_ms = 50;
    o.reconnect_max_ms = 200;
    o.connect_timeout_ms = 500;
    r = conn(&o);
    touch(ready);
    wait_file(go1);
    t0 = now_ms();
    if (xw_redis_command(r, "PING") != NULL) {
        printf("error command worked while redis was down\n");
        ok = 0;
    } else {
        printf("down-failed %lld\n", now_ms() - t0);
    }
    wait_file(go2);
    if (xw_redis_command(r, "PING") != NULL) {
        printf("up-ok\n");
    } else {
        printf("error %s\n", r->errstr);
        ok = 0;
    }
    xw_redis_free(r);
    return !ok;
}

static int cmd_ping(void)
{
    xw_redis_opts o = XW_REDIS_OPTS_INIT;
    char err[256];
    xw_redis *r;
    redisReply *rep;

    o.reconnect_attempts = 1;
    r = xw_redis_connect(url, &o, err, sizeof err);
    if (!r) {
        printf("error %s\n", err);
        return 1;
    }
    rep = xw_redis_command(r, "PING");
    if (rep)
        printf("pong %s\n", xw_redis_describe(r));
    else
        printf("error %s\n", r->errstr);
    xw_redis_free(r);
    return rep == NULL;
}

/* The stand-in server of cmd_loading, in a child process: connection 1
 * is answered -LOADING and closed, later ones +PONG to every read. Writes
 * the number of connections it accepted to fd `report` when the client
 * closes the last one. */
static void loading_server(int lfd, int report)
{
    char buf[512];
    int n = 0;

    for (;;) {
        int c = accept(lfd, NULL, NULL);
        ssize_t got;

        if (c < 0)
            _exit(1);
        n++;
        while ((got = read(c, buf, sizeof buf)) > 0) {
            const char *ans = n == 1
                ? "-LOADING Redis is loading the dataset in memory\r\n"
                : "+PONG\r\n";

            if (write(c, ans, strlen(ans)) < 0 || n == 1)
                break;
        }
        close(c);
        if (n > 1 && write(report, &n, sizeof n) == (ssize_t)sizeof n)
            _exit(0);
    }
}

static int cmd_loading(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t alen = sizeof a;
    xw_redis_opts o = XW_REDIS_OPTS_INIT;
    char u[64], err[256];
    int lfd, pfd[2], n = 0, st;
    pid_t pid;
    xw_redis *r;
    redisReply *rep = NULL;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0
        || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0
        || listen(lfd, 4) < 0
        || getsockname(lfd, (struct sockaddr *)&a, &alen) < 0
        || pipe(pfd) < 0 || (pid = fork()) < 0) {
        printf("error setup: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0)
        loading_server(lfd, pfd[1]);
    close(lfd);
    snprintf(u, sizeof u, "redis://127.0.0.1:%d", ntohs(a.sin_port));
    o.reconnect_attempts = 3;
    o.reconnect_min_ms = 20;
    o.reconnect_max_ms = 50;
    r = xw_redis_connect(u, &o, err, sizeof err);
    if (r)
        rep = xw_redis_command(r, "PING");
    if (!r || !rep)
        printf("error %s\n", r ? r->errstr : err);
    xw_redis_free(r);
    if (rep && read(pfd[0], &n, sizeof n) == (ssize_t)sizeof n)
        printf("ok connections=%d\n", n);
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return !rep;
}

static int usage(void)
{
    fprintf(stderr, "usage: xw_redis_race selftest|race|acquire|release|"
            "fenced|batch|handle|pipeline|survive|outage|ping|loading URL ...\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *cmd;

    if (argc < 3)
        return usage();
    setvbuf(stdout, NULL, _IOLBF, 0);
    xw_log_init("xw_redis_race", XW_WARN);
    cmd = argv[1];
    url = argv[2];
    snprintf(prefix, sizeof prefix, "xw:test:%ld:%lld", (long)getpid(),
             now_ms());
    if (strcmp(cmd, "selftest") == 0)
        return selftest();
    if (strcmp(cmd, "race") == 0 && argc == 6)
        return cmd_race(argv[3], atoi(argv[4]), argv[5]);
    if (strcmp(cmd, "acquire") == 0 && argc == 5)
        return cmd_acquire(argv[3], atoi(argv[4]));
    if (strcmp(cmd, "release") == 0 && argc == 5)
        return cmd_release(argv[3], argv[4]);
    if (strcmp(cmd, "fenced") == 0 && argc == 9)
        return cmd_fenced(argv[3], atoll(argv[4]), argv[5], argv[6], argv[7],
                          argv[8]);
    if (strcmp(cmd, "batch") == 0 && (argc == 9 || argc == 10))
        return cmd_batch(argv[3], atoll(argv[4]), argv[5], atol(argv[6]),
                         atol(argv[7]), strcmp(argv[8], "down") == 0,
                         argc == 10 ? argv[9] : NULL);
    if (strcmp(cmd, "handle") == 0 && (argc == 5 || argc == 6))
        return cmd_handle(argv[3], argv[4], argc == 6 ? argv[5] : NULL);
    if (strcmp(cmd, "pipeline") == 0 && argc == 4)
        return cmd_pipeline((size_t)atol(argv[3]));
    if (strcmp(cmd, "survive") == 0 && argc == 5)
        return cmd_survive(argv[3], argv[4]);
    if (strcmp(cmd, "outage") == 0 && argc == 6)
        return cmd_outage(argv[3], argv[4], argv[5]);
    if (strcmp(cmd, "ping") == 0)
        return cmd_ping();
    if (strcmp(cmd, "loading") == 0)
        return cmd_loading();
    return usage();
}
