/*
 * Authentication: bearer tokens mapped to user names.
 *
 * Tokens come from XW_TOKENS ("alice:token1,bob:token2") and/or
 * XW_TOKENS_FILE (one "user token" per line, '#' comments). Only SHA-256
 * digests of the tokens are kept in memory; a presented token is hashed
 * and compared with every entry in constant time (CRYPTO_memcmp, no early
 * exit), so neither timing nor a memory dump gives a token away. Tokens
 * shorter than 16 bytes are refused at start. Users named in
 * XW_SYSTEM_ADMINS may register workspaces.
 */
#ifndef SL_AUTH_H
#define SL_AUTH_H

#include <stddef.h>

struct sl_auth;
struct sl_request;

/* Builds the table; NULL with err set (never containing a token). */
struct sl_auth *sl_auth_load(const char *tokens, const char *tokens_file,
                             const char *system_admins, char *err,
                             size_t errlen);
void sl_auth_free(struct sl_auth *a);
size_t sl_auth_count(const struct sl_auth *a);

/* Authenticates r from its Authorization header: 0 with r->user and
 * r->is_system_admin set, or -1 with a 401 answered. */
int sl_auth_check(const struct sl_auth *a, struct sl_request *r);

/* The user a token belongs to (borrowed), or NULL. For tests/tools. */
const char *sl_auth_user(const struct sl_auth *a, const char *token,
                         size_t len);

#endif
