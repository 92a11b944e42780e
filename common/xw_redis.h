/*
 * xw_redis - one blocking Redis connection with timeouts, reconnect,
 * pipelining, an idempotency marker and a fenced lock (hiredis 0.14 API).
 *
 * Connection
 *   xw_redis_connect() takes a URL:
 *     redis://[[user]:password@]host[:port][/db]     default port 6379, db 0
 *     unix://[[user]:password@]/path/to/redis.sock[?db=N]
 *   user and password may be percent-encoded (%40 for '@'). rediss:// (TLS)
 *   is refused: this hiredis has no TLS. The password is kept only to
 *   re-authenticate after a reconnect; it never appears in errstr, in
 *   xw_redis_describe() or in a log line, and is wiped on xw_redis_free().
 *
 *   Every new connection gets the connect timeout, the command timeout
 *   (SO_RCVTIMEO/SO_SNDTIMEO: a reply slower than that is an I/O error and
 *   drops the connection), TCP keep-alive, AUTH and SELECT.
 *
 *   Connection-level failures (refused, reset, EOF, timeout) make the
 *   connection "broken". The next call reconnects first, trying up to
 *   `reconnect_attempts` times with exponential backoff and jitter between
 *   `reconnect_min_ms` and `reconnect_max_ms` (so one call blocks at most
 *   about attempts x (connect timeout + max backoff)). Before sending on an
 *   idle connection the socket is polled (no wait): a connection the server
 *   closed meanwhile (CLIENT KILL, restart, idle timeout) is noticed and
 *   replaced before anything is written, which is safe for every command.
 *
 * Retries (what is re-sent after a failure *after* the command was written,
 * when Redis may or may not have executed it) - at most once, after a
 * reconnect:
 *   retried:     xw_redis_command_idem(), xw_redis_command_argv() with
 *                idempotent=1, xw_redis_pipeline() with XW_REDIS_IDEMPOTENT,
 *                xw_redis_mark_once(), xw_redis_unmark(), all lock calls
 *                (acquire/extend/release are written to be safe to repeat:
 *                a repeated acquire with the same token returns the same
 *                fence), xw_redis_fenced_write_batch() (a repeat
 *                writes nothing twice);
 *   not retried: xw_redis_command(), xw_redis_command_argv() with
 *                idempotent=0, xw_redis_pipeline() without the flag,
 *                xw_redis_append()/xw_redis_append_argv()/
 *                xw_redis_pipeline_flush()/xw_redis_pipeline_exec().
 *   A call that is not retried returns -1 / NULL with err XW_REDIS_EIO; the
 *   caller must assume the command may have run.
 *
 * Errors
 *   Functions return 0 / a non-negative result on success and -1 (or NULL)
 *   on failure, with r->err set to an XW_REDIS_E* code and r->errstr to a
 *   one-line message, like hiredis' c->err / c->errstr. Both are valid until
 *   the next call on r. A Redis error reply ("-ERR ...", "-WRONGTYPE ...")
 *   is a failure with err XW_REDIS_EREPLY and the server's text in errstr.
 *
 * Replies
 *   xw_redis_command*() return a BORROWED reply: r owns it and frees it at
 *   the next call on r (or xw_redis_free()). To keep it longer, take it with
 *   xw_redis_reply_take() and freeReplyObject() it yourself.
 *   Pipelines fill a caller array with OWNED replies (see there).
 *
 * Threads: an xw_redis is not thread-safe; use one per thread.
 * Signals: hiredis writes with write(2), so a write to a connection the
 * server just closed raises SIGPIPE. xw_redis_connect() sets SIGPIPE to
 * SIG_IGN if it is still SIG_DFL; a program that handles SIGPIPE itself
 * must not let it terminate the process.
 * Redis: standalone (not Cluster). The fence counters rely on Redis
 * persistence (AOF); a Redis that loses writes can hand out a fence twice.
 */
#ifndef XW_REDIS_H
#define XW_REDIS_H

#include <stddef.h>
#include <hiredis/hiredis.h>

enum xw_redis_errcode {
    XW_REDIS_OK = 0,
    XW_REDIS_EIO,      /* connect/read/write failure or timeout */
    XW_REDIS_EREPLY,   /* Redis answered with an error reply */
    XW_REDIS_EPROTO,   /* a reply of an unexpected type */
    XW_REDIS_EARG,     /* bad argument (URL, key too long, misuse) */
    XW_REDIS_ENOMEM,
};

typedef struct xw_redis_opts {
    int connect_timeout_ms;   /* default 2000 */
    int command_timeout_ms;   /* default 5000; blocking commands (BLPOP...)
                                 must use a shorter server-side timeout */
    int reconnect_attempts;   /* per reconnect episode, default 5 */
    int reconnect_min_ms;     /* first backoff, default 50 */
    int reconnect_max_ms;     /* backoff cap, default 1000 */
    int uncounted;            /* 1: left out of xw_redis_round_trips_total
                                 and xw_redis_commands_total, which count
                                 the work of requests and events; for a
                                 background connection's liveness checks */
} xw_redis_opts;

#define XW_REDIS_OPTS_INIT { 2000, 5000, 5, 50, 1000, 0 }

#define XW_REDIS_KEY_MAX 256  /* lock keys (without the ":fence" suffix) */

typedef struct xw_redis {
    /* public, read-only */
    int err;                  /* enum xw_redis_errcode of the last failure */
    char errstr[256];         /* its message; never contains the password */
    unsigned long reconnects; /* successful reconnects after the first
                                 connect (for tests and metrics) */

    /* private */
    redisContext *c;          /* NULL while disconnected */
    redisReply *last;         /* the borrowed reply of the last command */
    size_t pending;           /* commands appended, replies not yet read */
    xw_redis_opts opts;
    int is_unix;
    int port;
    int db;
    char host[256];
    char path[108];
    char user[128];
    char pass[256];
    char desc[400];           /* redacted URL for messages */
    char mark_prefix[17];     /* random per connection: marker values */
    unsigned long long mark_seq;
    char *fmt;                /* argv commands in the Redis protocol, kept
                                 for the next round trip (append_cmds) */
    size_t fmt_cap;
} xw_redis;

/* Connects (with the bounded retry above) and returns a new handle, or NULL
 * with the reason in errbuf (may be NULL). opts may be NULL for defaults;
 * zero fields take defaults too. Free with xw_redis_free(). */
xw_redis *xw_redis_connect(const char *url, const xw_redis_opts *opts,
                           char *errbuf, size_t errlen);
/* Closes the connection, frees the last reply, wipes the password.
 * NULL is fine. */
void xw_redis_free(xw_redis *r);
/* The URL without password, e.g. "redis://127.0.0.1:6379/0" (borrowed,
 * lives as long as r). */
const char *xw_redis_describe(const xw_redis *r);

/* Subscribers. After SUBSCRIBE (through xw_redis_command) the server only
 * pushes messages: poll xw_redis_fd() for input, then xw_redis_read_push()
 * reads what arrived and calls fn once per complete message (the reply is
 * borrowed for the call). 0, or -1 with err XW_REDIS_EIO when the
 * connection failed; it is never reconnected here (a subscriber must
 * connect and subscribe again). xw_redis_fd() is -1 while disconnected. */
int xw_redis_fd(const xw_redis *r);
int xw_redis_read_push(xw_redis *r, void (*fn)(void *ctx, redisReply *m),
                       void *ctx);

/* One command, printf-style as hiredis: %s for C strings, %b for binary
 * (pointer, size_t length), no quoting - each %s/%b is one argument.
 * Returns a BORROWED reply (never an error reply) or NULL with r->err set.
 * Not re-sent after a failure once written. */
redisReply *xw_redis_command(xw_redis *r, const char *fmt, ...);
/* Same, but the caller declares the command idempotent (GET, HSET with
 * fixed values, DEL, SADD, EXPIRE, ...): after a connection failure it is
 * re-sent once on a new connection. */
redisReply *xw_redis_command_idem(xw_redis *r, const char *fmt, ...);
/* argv form of xw_redis_command (binary-safe; argvlen NULL = strlen). */
redisReply *xw_redis_command_argv(xw_redis *r, int argc, const char **argv,
                                  const size_t *argvlen, int idempotent);
/* Hands the last borrowed reply to the caller (who must freeReplyObject()
 * it); NULL if there is none. */
redisReply *xw_redis_reply_take(xw_redis *r);

/*
 * Pipelining: N commands written together, N replies read back, one round
 * trip. Nothing is allocated per command beyond hiredis' own output buffer
 * and reply objects.
 *
 * replies: NULL to discard the replies (they are still checked for errors)
 * or a caller array of n slots. On 0 every slot holds an OWNED reply; free
 * them with xw_redis_replies_free(). On -1 every slot is NULL (nothing is
 * left behind) and errstr names the first failing command: an error reply
 * (err XW_REDIS_EREPLY; the other commands did run - a pipeline is not a
 * transaction, wrap it in MULTI/EXEC for that) or an I/O error (err
 * XW_REDIS_EIO; any prefix of the commands may have run).
 */
typedef struct xw_redis_cmd {
    int argc;
    const char **argv;
    const size_t *argvlen;    /* NULL = strlen() of each argv */
} xw_redis_cmd;

#define XW_REDIS_IDEMPOTENT 1 /* flag: re-send the whole batch once after a
                                 connection failure */

int xw_redis_pipeline(xw_redis *r, const xw_redis_cmd *cmds, size_t n,
                      redisReply **replies, int flags);
/* Builder form: queue commands printf-style, then read them all with
 * xw_redis_pipeline_exec(r, replies, n) where n must equal the number
 * queued. An append that fails discards the whole batch (and the
 * connection, reconnected on next use); so does xw_redis_pipeline_discard().
 * While a batch is queued, other calls on r fail with XW_REDIS_EARG. */
int xw_redis_append(xw_redis *r, const char *fmt, ...);
int xw_redis_pipeline_exec(xw_redis *r, redisReply **replies, size_t n);
void xw_redis_pipeline_discard(xw_redis *r);
/* argv form of xw_redis_append (binary-safe; argvlen NULL = strlen): one
 * command of argc arguments, formatted straight into hiredis' output
 * buffer (no printf parsing, one allocation for the command). The
 * pointers are read during the call only. 0, or -1 with the batch
 * discarded as for xw_redis_append. */
int xw_redis_append_argv(xw_redis *r, int argc, const char **argv,
                         const size_t *argvlen);
/* Writes the commands queued so far to the connection now, without
 * reading replies: the batch stays open (append more, then
 * xw_redis_pipeline_exec() reads every reply) and hiredis' output buffer
 * is emptied, so a batch of many MB is never held at once. Safe for a
 * MULTI ... EXEC batch: Redis runs nothing before EXEC, and discards the
 * transaction when the connection drops. 0 (also when nothing is
 * queued), or -1 with err XW_REDIS_EIO and the batch discarded (the
 * connection is dropped; nothing queued after MULTI has run). */
int xw_redis_pipeline_flush(xw_redis *r);
/* Frees replies[0..n) and sets them to NULL. */
void xw_redis_replies_free(redisReply **replies, size_t n);

/*
 * Idempotency marker: SET key <unique value> NX EX ttl_s.
 * 1 = first time (the caller now owns the work), 0 = already marked,
 * -1 = error. Safe across a lost reply: the value is unique to this call,
 * so a retry that finds the key holding its own value still returns 1.
 * A marker taken before the work is a claim: if the work then fails, call
 * xw_redis_unmark() so a redelivery runs again. Where a crash between claim
 * and effects must not lose the work, put the SET NX into the same
 * MULTI/EXEC (or fenced write, see once_key) as the effects instead.
 */
int xw_redis_mark_once(xw_redis *r, const char *key, int ttl_s);
/* DEL key. 0 / -1. */
int xw_redis_unmark(xw_redis *r, const char *key);

/*
 * Lock with a random token, an expiry and a fencing counter.
 *
 * acquire: SET key token NX PX ttl_ms and, in the same Lua script,
 *          INCR "<key>:fence"; the new value is the fence, strictly greater
 *          than every fence handed out for this key before (the counter has
 *          no expiry). Returns 1 acquired (lk filled), 0 held by someone
 *          else, -1 error. token: 16 bytes from getrandom(2), hex.
 * extend:  PEXPIRE only if the key still holds lk->token. 1 extended,
 *          0 not ours any more (expired or taken), -1 error.
 * release: DEL only if the key still holds lk->token. 1 released, 0 not
 *          ours (a wrong or expired token leaves the lock as it is),
 *          -1 error. After a retried release, 0 may also mean "released by
 *          the first attempt"; either way the caller no longer holds it.
 * Scripts are sent by EVALSHA (SHA-1 computed locally once) and fall back
 * to EVAL on NOSCRIPT, which loads them into the server's cache.
 *
 * xw_redis_lock is a plain value owned by the caller (no resources); a
 * failed acquire leaves it zeroed.
 */
typedef struct xw_redis_lock {
    char key[XW_REDIS_KEY_MAX + 1];
    char fence_key[XW_REDIS_KEY_MAX + 8];  /* "<key>:fence" */
    char token[33];                        /* 32 hex chars */
    long long fence;
    int ttl_ms;
} xw_redis_lock;

int xw_redis_lock_acquire(xw_redis *r, const char *key, int ttl_ms,
                          xw_redis_lock *lk);
int xw_redis_lock_extend(xw_redis *r, const xw_redis_lock *lk, int ttl_ms);
int xw_redis_lock_release(xw_redis *r, const xw_redis_lock *lk);

/*
 * Fenced exactly-once writes: records written to one hash, each at most
 * once, only while `fence` is not older than the highest fence stored at
 * fence_key.
 *
 * Use lk->fence_key as fence_key: fence <= counter always, so only the
 * newest holder of the lock can write, and a holder whose lock expired is
 * refused as soon as anyone else has acquired it, even before the new
 * holder writes. Any other key works as a classic per-resource high-water
 * mark (the storage remembers the highest fence it has seen); fences are
 * comparable only when they come from the same lock.
 *
 * A write is: its exactly-once record (field once_field of once_hash,
 * value the fence), HSET hash field value, optionally LPUSH push_key
 * push_value (e.g. the entry it replaces), and optionally its count of
 * real writes (field once_field of count_hash: a check that must stay 1).
 * One call carries many writes of the same three hashes under one fence
 * check, with a number of commands that does not grow with the writes
 * (Redis' cost is per command: dispatch, statistics, one AOF entry each)
 * but for the pushes, one per write that has one:
 *
 *   stored = GET fence_key (missing = 0)
 *   fence <  stored  -> the whole call is refused: call->stale = 1,
 *                       nothing written, written[] all 0
 *   HMGET once_hash of every once_field (one per 1000 fields): a write is
 *   new when its field is missing and no earlier write of the call has
 *   the same one:
 *   written[i] = 1; otherwise written[i] = 0 (a redelivery, a retry after
 *   a lost reply, a replay, or a repeat inside the call)
 *   HMGET count_hash of the new ones' fields, when count_hash is set
 *   then for the new writes, in call order:
 *     LPUSH push_key push_value            per write that has a push_key
 *     HSET hash field value ...            one per 500 writes
 *     HSET once_hash once_field fence ...  one per 500 writes
 *     HSET count_hash once_field n+1 ...   one per 500 writes
 *   fence >  stored  -> SET fence_key fence
 *
 * A call is applied wholly or not at all. What can fail is a key of the
 * wrong type, or a count that is not a number: the reads fail before
 * anything is written; a failing LPUSH or HSET of `hash` takes back the
 * pushes before it (LPOP: a script runs alone) and ends the call with
 * its error (XW_REDIS_EREPLY); the rest cannot fail once those are done.
 * So a failed call can be repeated as it is, and a repeat of a call that
 * was applied answers 0 for every write: every call is re-sent once after
 * a connection failure.
 *
 * Calls of one round trip run in the order given, but another client may
 * run between them (e.g. a SCRIPT FLUSH, after which the NOSCRIPT ones are
 * sent again with EVAL): calls whose effects depend on each other's
 * outcome must not share a round trip.
 *
 * push_key is passed as a script argument, not in KEYS (fine on a
 * standalone Redis). Limits: XW_REDIS_FENCED_MAX_WRITES writes per call.
 * Nothing is retained: every pointer is borrowed for the duration of the
 * call.
 */
#define XW_REDIS_FENCED_MAX_WRITES 1000

typedef struct xw_redis_once_write {
    const char *once_field;       /* its record in once_hash (count_hash) */
    const char *field;            /* HSET hash field value */
    const char *value;
    size_t value_len;
    const char *push_key;         /* LPUSH push_key push_value, or NULL */
    const char *push_value;
    size_t push_len;
} xw_redis_once_write;

typedef struct xw_redis_fenced_call {
    const char *fence_key;        /* in */
    long long fence;              /* in, > 0 */
    const char *once_hash;        /* in: once_field -> fence that wrote it */
    const char *hash;             /* in: field -> value */
    const char *count_hash;       /* in: once_field -> real writes, or NULL */
    const xw_redis_once_write *writes; /* in, n of them */
    size_t n;
    int *written;                 /* out, n slots (caller's): 1 / 0 */
    int stale;                    /* out: 1 = refused, fence is stale */
} xw_redis_fenced_call;

/* Runs calls[0..ncalls), one script call each, in one round trip
 * (EVALSHA, EVAL on NOSCRIPT). 0 when every call was answered (read each
 * call's stale and written[]), -1 with r->err otherwise: XW_REDIS_EARG,
 * XW_REDIS_EREPLY (a call failed and left nothing, see above; the calls
 * before it were applied), XW_REDIS_EIO (any prefix of the calls may have
 * been applied). After -1 the outputs mean nothing. */
int xw_redis_fenced_write_batch(xw_redis *r, xw_redis_fenced_call *calls,
                                size_t ncalls);

#endif
