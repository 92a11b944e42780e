/* The API's routing table (docs/api.md) and its handlers. */
#ifndef SL_ROUTES_H
#define SL_ROUTES_H

#include "api.h"

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
 * nodes-to-deploy list (one HMGET); -1 with 400/422/503 answered naming
 * field[i]. */
int sl_check_object_ids(struct sl_request *r, const char *ws, json_t *ids,
                        const char *field);

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

/* Calls check(r, arg) until it returns 1 (what the caller waits for),
 * -1 (failed, answered), or wait_ms have passed (returns 0: the last read
 * is the answer). Between reads it sleeps until `key` changes (notify.h).
 * check must leave what it read in arg, replacing the previous read. */
int sl_wait_for(struct sl_request *r, const char *key, long wait_ms,
                int (*check)(struct sl_request *r, void *arg), void *arg);

#endif
