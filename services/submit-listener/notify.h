/*
 * Change notification for the long-polls (GET /v1/requests/{id}?wait_ms=,
 * GET /v1/packages/{id}?wait_ms=): a waiter is parked until the Redis key
 * it watches is written, instead of re-reading it on a timer.
 *
 * How: one thread per process holds two Redis connections. The first
 * SUBSCRIBEs to __redis__:invalidate; the second turns on server-assisted
 * client-side caching in broadcast mode for the watched prefixes
 * (CLIENT TRACKING on REDIRECT <first> BCAST PREFIX xw:req: PREFIX
 * xw:pkgsum:). From then on Redis sends the first connection the name of
 * every key under those prefixes that any client writes, expires or
 * deletes. This needs Redis >= 6 and nothing else: no server setting
 * (unlike keyspace notifications, which need notify-keyspace-events) and
 * no change to the services that write the keys.
 *
 * A second such pair tracks SL_NOTIFY_CACHED_PREFIX alone (the workspaces
 * and their roles, checked on every request): its invalidations wake no
 * wait but move a generation number that the listener's caches of those
 * keys check (sl_notify_view below; access.c caches the roles). A pair of
 * its own, because its connection must be quiet for a view to be given
 * (see there), and the waits' prefixes get a message for nearly every
 * request.
 *
 * Keys are hashed into SL_NOTIFY_SLOTS slots, each with a sequence number
 * bumped on every change of one of its keys. A waiter takes the slot's
 * sequence BEFORE it reads the key and then waits for the sequence to
 * move: a change between the read and the wait is never missed. Slots are
 * shared, so a wake-up may be for another key (the waiter reads again).
 *
 * When the notifier is not running (Redis < 6, connection lost, not
 * started) waits fall back to a short backoff (SL_NOTIFY_BACKOFF_MIN_MS,
 * doubling to SL_NOTIFY_BACKOFF_MAX_MS); while it runs, a waiter still
 * re-reads every SL_NOTIFY_SAFETY_MS in case a message was lost.
 *
 * Threads: every function is thread-safe.
 */
#ifndef SL_NOTIFY_H
#define SL_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#define SL_NOTIFY_SLOTS 256
#define SL_NOTIFY_BACKOFF_MIN_MS 2
#define SL_NOTIFY_BACKOFF_MAX_MS 50
#define SL_NOTIFY_SAFETY_MS 1000

/* Starts the notifier thread on redis_url (copied). It connects (and
 * reconnects) on its own; until it is subscribed, waits use the backoff.
 * 0, or -1 with err set if the thread cannot be created. */
int sl_notify_start(const char *redis_url, char *err, size_t errlen);
/* Stops and joins the thread; waits fall back to the backoff. Safe to
 * call when not started. */
void sl_notify_stop(void);

/* A wait in progress: init once, then per round take the sequence before
 * reading, read, and park if the key is not yet what the caller wants. */
struct sl_notify_wait {
    const char *key;          /* BORROWED, must outlive the wait */
    unsigned slot;
    uint64_t seq;
    int backoff_ms;
};

void sl_notify_wait_init(struct sl_notify_wait *w, const char *key);
/* Records the slot's current sequence: call just before reading the key. */
void sl_notify_arm(struct sl_notify_wait *w);

/*
 * Parking: a wait holds no thread. Its owner (http.c: a suspended HTTP
 * connection) is parked here, and wake(p) is called once, from another
 * thread (the notifier or the park timer), when the key may have changed
 * since sl_notify_arm() or at the wait's next re-read time: every
 * SL_NOTIFY_SAFETY_MS while the notifier runs (a message could be lost),
 * the backoff while it does not, the deadline at the latest. The owner
 * then reads again and parks again or answers.
 */
struct sl_notify_parked {
    void (*wake)(struct sl_notify_parked *p);   /* set by the owner */
    /* private */
    struct sl_notify_parked *prev, *next;
    unsigned slot;
    int64_t wake_ms;
};

/* Whether w may park now: 1 yes, 0 no (the key changed since
 * sl_notify_arm(): read it again now), -1 no (parking is closed, by
 * sl_notify_park_close() or because its timer thread could not start:
 * answer with what was read). For the owner to decide before it
 * suspends. */
int sl_notify_park_ready(const struct sl_notify_wait *w);
/* Parks p for w until deadline_ms (xw_mono_ms() clock) at the latest.
 * 1: parked; p must stay valid until wake(p) has been called. 0 or -1
 * as sl_notify_park_ready (nothing parked, wake will not be called). */
int sl_notify_park(struct sl_notify_wait *w, struct sl_notify_parked *p,
                   int64_t deadline_ms);
/* Wakes every parked wait and refuses parking from now on (shutdown:
 * the owners answer with what they read). Joins the park timer. */
void sl_notify_park_close(void);

/* 1 while subscribed (for tests and the log), else 0. */
int sl_notify_active(void);

/*
 * Caches of keys under SL_NOTIFY_CACHED_PREFIX. A value read from Redis
 * may be kept with the generation of a view taken BEFORE it was read,
 * and used while a view taken at the time of use has the same
 * generation:
 *
 *   if (sl_notify_view(&v) && entry && entry->gen == v.gen) use entry;
 *   else read from Redis, and keep it with v.gen if the view was given.
 *
 * The generation moves on every invalidation of a key under the prefix
 * (any of them: workspaces change rarely, so one counter for all is
 * enough), on a flush, and whenever tracking starts or stops. So an entry
 * read across a change, or across a lost connection, is never trusted.
 *
 * A view is given (1) only while tracking is on and confirmed, and only
 * when every invalidation of the prefix that has reached the listener is
 * applied: not while the notifier is applying such messages, nor while
 * either connection of the prefix's pair has unread input (a message, or
 * the end of the connection). Redis writes the invalidation of a write to the
 * notifier's connection in the event-loop iteration that ran the write,
 * before it runs any command of a later iteration; so a request that
 * begins after its caller saw the write's effect through the API (e.g.
 * read its request's "done") finds the message unread or applied and
 * never trusts the old value. What is left is the message's transit in
 * the network stack: microseconds over loopback, none over a unix
 * socket, a network's delay when Redis is remote (the price of any
 * client-side cache). Cost: one poll(2) that does not wait.
 */
#define SL_NOTIFY_CACHED_PREFIX "xw:ws:"

struct sl_notify_view {
    uint64_t gen;             /* never 0 */
};

/* 1 with v->gen set if cached values may be used now (see above), else 0:
 * read from Redis and keep nothing. Thread-safe, never blocks. */
int sl_notify_view(struct sl_notify_view *v);

#endif
