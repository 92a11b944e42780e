/* The API's routing table (docs/api.md) and its handlers. */
#ifndef SL_ROUTES_H
#define SL_ROUTES_H

#include "api.h"
#include "notify.h"

/* Finds the route for r->method and r->path, validates the path
 * parameters into r->params, and runs the handler; answers 404 / 405 /
 * 400 (bad id in the path) itself. */
void sl_route(struct sl_request *r);

/* Handlers, by step (files named alike). */
void h_ws_put(struct sl_request *r);
void h_ws_get(struct sl_request *r);
void h_ws_info(struct sl_request *r);
void h_env_create(struct sl_request *r);
void h_env_list(struct sl_request *r);
void h_env_get(struct sl_request *r);
void h_env_update(struct sl_request *r);
void h_env_delete(struct sl_request *r);
void h_prod_deploy(struct sl_request *r);
void h_prod_terminate(struct sl_request *r);
void h_ntd_list(struct sl_request *r);
void h_basket_get(struct sl_request *r);
void h_basket_add(struct sl_request *r);
void h_basket_remove(struct sl_request *r);
void h_basket_clear(struct sl_request *r);
void h_pkg_create(struct sl_request *r);
void h_pkg_deploy(struct sl_request *r);
void h_pkg_replay(struct sl_request *r);
void h_pkg_list(struct sl_request *r);
void h_pkg_get(struct sl_request *r);
void h_deployed_list(struct sl_request *r);
void h_req_get(struct sl_request *r);
void h_param_resolve(struct sl_request *r);
void h_dlq_list(struct sl_request *r);
void h_audit_list(struct sl_request *r);
void h_dlq_replay(struct sl_request *r);
void h_wh_create(struct sl_request *r);
void h_wh_list(struct sl_request *r);
void h_wh_get(struct sl_request *r);
void h_wh_update(struct sl_request *r);
void h_wh_delete(struct sl_request *r);
void h_wh_pause(struct sl_request *r);
void h_wh_resume(struct sl_request *r);
void h_wh_deliveries(struct sl_request *r);
void h_wh_redeliver(struct sl_request *r);

/* Answers a paged list of the values of hash `key` - catalog entries,
 * Avro or JSON (sl_stored_catalog), shown as JSON - filtered by kind /
 * owner / substring of id or name (each may be NULL), by id. */
void sl_list_hash(struct sl_request *r, const char *key, const char *kind,
                  const char *owner, const char *q);

/* Every id of the JSON array `ids` must be a valid id and in the source's
 * nodes-to-deploy list: one HMGET, prepared here so that it can join the
 * request's round trip (sl_request_prefetch), then judged. */
struct sl_ids_check {
    const char **argv;          /* HMGET key id...: OWNED array */
    char key[96];
    size_t n;                   /* ids */
    long bad;                   /* the first id that is not an id, or -1 */
};

#define SL_IDS_CHECK_INIT { NULL, "", 0, -1 }

/* Prepares the read of ids (BORROWED, must outlive c) in *cmd, unless an
 * id is not a valid id (c->bad >= 0: nothing to read, the verdict is
 * known). 0, or -1 with 503 answered (memory). */
int sl_ids_prepare(struct sl_request *r, struct sl_ids_check *c,
                   const char *ws, const json_t *ids, xw_redis_cmd *cmd);
/* The verdict from the HMGET's reply (NULL when c->bad >= 0): 0, or -1
 * with 400 (not an id) or 422 (not deployable) answered naming
 * field[i]. */
int sl_ids_verify(struct sl_request *r, const struct sl_ids_check *c,
                  const char *ws, const redisReply *rep, const char *field);
void sl_ids_release(struct sl_ids_check *c);

/* qsort comparator of json_t * objects by their "id" member. */
int sl_cmp_json_id(const void *a, const void *b);

/* Paging from ?offset=&limit= (defaults 0 / 50, limit <= 1000); -1 with
 * a 400 answered. */
int sl_paging(struct sl_request *r, long *offset, long *limit);

/* Query parameter `name` as an integer min..max (absent or empty: def);
 * -1 with a 400 answered naming the parameter and the range. */
int sl_query_long(struct sl_request *r, const char *name, long def,
                  long min, long max, long *out);
/* Query parameter `name` as a boolean: true/1, false/0 (absent or empty:
 * def); -1 with a 400 answered. */
int sl_query_bool(struct sl_request *r, const char *name, int def, int *out);

/* Long-polls (?wait_ms=): the most a caller may ask for. */
#define SL_WAIT_MAX_MS 30000

/* A long-poll's deadline (xw_mono_ms() clock): now + wait_ms on the
 * request's first run, the same on the runs after a wake-up. */
int64_t sl_wait_deadline(struct sl_request *r, long wait_ms);

/* The rest of a long-poll whose first read the caller made, with w
 * initialised on the watched key and armed (sl_notify_arm) just before
 * that read, which was not yet what it waits for. Returns 1 (check said
 * it is what the caller waits for), -1 (check failed and answered, or
 * the request is parked: the caller returns without answering, and the
 * whole request is handled again when the key may have changed), or 0
 * when deadline_ms has passed (the last read is the answer). check(r,
 * arg) reads again, leaving what it read in arg (replacing the previous
 * read); it runs when a change arrived between the read and the park.
 * A wait costs the caller's read and one per change, and no thread. */
int sl_wait_for(struct sl_request *r, struct sl_notify_wait *w,
                int64_t deadline_ms,
                int (*check)(struct sl_request *r, void *arg), void *arg);

#endif
