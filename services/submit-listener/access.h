/*
 * Who may do what: reads the workspace projections and asks the rule
 * module's permission table. Every handler calls sl_permit() before it
 * emits or reveals anything.
 */
#ifndef SL_ACCESS_H
#define SL_ACCESS_H

#include "api.h"

/* Registers the role cache's metrics (once, at start). */
void sl_access_register_metrics(void);

/* The caller's roles in workspace `ws` (enum xw_role bits, 0 = not a
 * member), from the role cache (access.c) or Redis. Returns 1 if the
 * workspace exists, 0 if not, -1 with a 503 answered on a Redis
 * failure. */
int sl_roles(struct sl_request *r, const char *ws, unsigned *roles);

/* Checks `op` for the caller with source `src` and destination `dst`
 * (dst may be NULL for source-only operations), both workspaces' roles
 * in at most one round trip (none from the cache). 0 = allowed; -1 = refused
 * or failed, with 404 (unknown workspace), 403 (findings from the rule
 * module) or 503 answered. */
int sl_permit(struct sl_request *r, enum xw_op op, const char *src,
              const char *dst);

/* The registered workspace as a NEW JSON object; NULL with 404/503
 * answered. */
json_t *sl_load_workspace(struct sl_request *r, const char *ws);

/* The stored JSON at a hash field (NEW reference), NULL with 404 (naming
 * `what`) or 503 answered. */
json_t *sl_load_hash_json(struct sl_request *r, const char *key,
                          const char *field, const char *what);

/* The same from a reply read by the caller (NULL: the read failed):
 * NEW reference, NULL with 404 (a nil reply), 500 (not JSON) or 503
 * answered. */
json_t *sl_json_reply(struct sl_request *r, const redisReply *rep,
                      const char *what);

#endif
