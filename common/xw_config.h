/*
 * xw_config - settings in one table, read from the environment, checked
 * at start (Redis config.c's static_configs[] habit).
 *
 * Each service declares a table of xw_config_def (name, type, default,
 * bounds, flags, help) and calls xw_config_load() once in main(). A value
 * that is missing where required, not a number, or out of bounds fails the
 * load with a message naming the variable and the rule; the service then
 * exits before touching Kafka or Redis.
 *
 * Secret settings (XW_CFG_SECRET) are never printed: xw_config_describe()
 * shows them as "(set)" / "(unset)".
 *
 * librdkafka properties pass through: every environment variable
 * XW_RDKAFKA_<NAME> becomes property <name> with '_' -> '.' and '__' -> '_'
 * (XW_RDKAFKA_SECURITY_PROTOCOL=SASL_SSL -> security.protocol=SASL_SSL),
 * see xw_config_rdkafka_props().
 */
#ifndef XW_CONFIG_H
#define XW_CONFIG_H

#include <stddef.h>

enum xw_config_type { XW_CFG_STR, XW_CFG_INT, XW_CFG_BOOL };

enum {
    XW_CFG_REQUIRED = 1 << 0,
    XW_CFG_SECRET = 1 << 1,
};

struct xw_config_def {
    const char *name;       /* environment variable */
    enum xw_config_type type;
    const char *def;        /* default as text; NULL = none */
    long long min, max;     /* bounds for XW_CFG_INT (and string length) */
    unsigned flags;
    const char *help;
};

#define XW_CONFIG_MAX 64

struct xw_config {
    const struct xw_config_def *defs[XW_CONFIG_MAX];
    const char *str[XW_CONFIG_MAX];   /* borrowed from environ or defaults */
    long long num[XW_CONFIG_MAX];
    size_t n;
};

/* Loads tables in order (typically the common table, then the service's);
 * `getenv_fn` is getenv in production and a fake in tests. Returns 0, or
 * -1 with a message in err. */
int xw_config_load(struct xw_config *cfg,
                   const struct xw_config_def *const *tables,
                   const size_t *counts, size_t ntables,
                   const char *(*getenv_fn)(const char *name),
                   char *err, size_t errlen);

/* Getters abort() on an unknown name: that is a programming error, caught
 * by the first run of any test. Returned strings are borrowed. */
const char *xw_config_str(const struct xw_config *cfg, const char *name);
long long xw_config_int(const struct xw_config *cfg, const char *name);
int xw_config_bool(const struct xw_config *cfg, const char *name);

/* One line per setting, secrets redacted, for the start-up log. */
void xw_config_log(const struct xw_config *cfg);

/* Calls fn(key, value, secret, ctx) for each XW_RDKAFKA_* variable found in
 * `env` (environ-style). Keys are written into a caller-supplied scratch
 * buffer; fn must copy what it keeps. Stops at and returns fn's first
 * non-zero result. */
int xw_config_rdkafka_props(char *const *env,
                            int (*fn)(const char *key, const char *value,
                                      int secret, void *ctx),
                            void *ctx);

/* The settings every service shares (XW_KAFKA_BROKERS, XW_REDIS_URL, ...). */
extern const struct xw_config_def xw_config_common[];
extern const size_t xw_config_common_count;

#endif
