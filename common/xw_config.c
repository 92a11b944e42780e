#include "xw_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xw_log.h"

const struct xw_config_def xw_config_common[] = {
    { "XW_KAFKA_BROKERS", XW_CFG_STR, "127.0.0.1:9092", 1, 4096, 0,
      "bootstrap.servers of the Kafka cluster" },
    { "XW_REDIS_URL", XW_CFG_STR, "redis://127.0.0.1:6379/0", 1, 1024,
      XW_CFG_SECRET, "redis://[:password@]host:port/db or unix:///path" },
    { "XW_TOPIC_PREFIX", XW_CFG_STR, "xw.", 0, 64, 0,
      "prefix of every topic name" },
    { "XW_GROUP_PREFIX", XW_CFG_STR, "xw-", 0, 64, 0,
      "prefix of every consumer group id" },
    { "XW_LOG_LEVEL", XW_CFG_STR, "info", 1, 16, 0,
      "debug | info | warn | error" },
    { "XW_ADMIN_PORT", XW_CFG_INT, "0", 0, 65535, 0,
      "health and metrics HTTP port on 127.0.0.1 (0: none)" },
    { "XW_BATCH_MAX", XW_CFG_INT, "500", 1, 100000, 0,
      "events handled per consumer batch before offsets are stored" },
    { "XW_DEDUPE_TTL_S", XW_CFG_INT, "1209600", 60, 31536000, 0,
      "how long an event id is remembered; longer than topic retention" },
};
const size_t xw_config_common_count =
    sizeof xw_config_common / sizeof xw_config_common[0];

static int find(const struct xw_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n; i++)
        if (strcmp(cfg->defs[i]->name, name) == 0)
            return (int)i;
    return -1;
}

static int parse_bool(const char *s, long long *out)
{
    if (!strcasecmp(s, "1") || !strcasecmp(s, "true") || !strcasecmp(s, "yes")
        || !strcasecmp(s, "on")) {
        *out = 1;
        return 0;
    }
    if (!strcasecmp(s, "0") || !strcasecmp(s, "false") || !strcasecmp(s, "no")
        || !strcasecmp(s, "off")) {
        *out = 0;
        return 0;
    }
    return -1;
}

static int load_one(struct xw_config *cfg, const struct xw_config_def *d,
                    const char *(*getenv_fn)(const char *), char *err,
                    size_t errlen)
{
    const char *v = getenv_fn(d->name);
    size_t i = cfg->n;
    char *end;

    if (v && !*v)
        v = NULL;
    if (!v)
        v = d->def;
    if (!v) {
        if (d->flags & XW_CFG_REQUIRED) {
            snprintf(err, errlen, "%s: required but not set (%s)", d->name,
                     d->help);
            return -1;
        }
    }
    cfg->defs[i] = d;
    cfg->str[i] = v;
    cfg->num[i] = 0;
    if (!v)
        goto done;
    switch (d->type) {
    case XW_CFG_STR:
        if ((long long)strlen(v) < d->min || (long long)strlen(v) > d->max) {
            snprintf(err, errlen, "%s: length must be %lld..%lld", d->name,
                     d->min, d->max);
            return -1;
        }
        break;
    case XW_CFG_INT:
        errno = 0;
        cfg->num[i] = strtoll(v, &end, 10);
        if (errno || end == v || *end) {
            snprintf(err, errlen, "%s: '%s' is not an integer", d->name, v);
            return -1;
        }
        if (cfg->num[i] < d->min || cfg->num[i] > d->max) {
            snprintf(err, errlen, "%s: %lld is out of bounds %lld..%lld",
                     d->name, cfg->num[i], d->min, d->max);
            return -1;
        }
        break;
    case XW_CFG_BOOL:
        if (parse_bool(v, &cfg->num[i]) < 0) {
            snprintf(err, errlen, "%s: '%s' is not a boolean (true/false)",
                     d->name, v);
            return -1;
        }
        break;
    }
done:
    cfg->n++;
    return 0;
}

int xw_config_load(struct xw_config *cfg,
                   const struct xw_config_def *const *tables,
                   const size_t *counts, size_t ntables,
                   const char *(*getenv_fn)(const char *name), char *err,
                   size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t t = 0; t < ntables; t++) {
        for (size_t k = 0; k < counts[t]; k++) {
            if (cfg->n == XW_CONFIG_MAX) {
                snprintf(err, errlen, "too many settings (max %d)",
                         XW_CONFIG_MAX);
                return -1;
            }
            if (find(cfg, tables[t][k].name) >= 0) {
                snprintf(err, errlen, "%s: declared twice",
                         tables[t][k].name);
                return -1;
            }
            if (load_one(cfg, &tables[t][k], getenv_fn, err, errlen) < 0)
                return -1;
        }
    }
    return 0;
}

static int must_find(const struct xw_config *cfg, const char *name)
{
    int i = find(cfg, name);

    if (i < 0) {
        fprintf(stderr, "xw_config: unknown setting %s\n", name);
        abort();
    }
    return i;
}

const char *xw_config_str(const struct xw_config *cfg, const char *name)
{
    return cfg->str[must_find(cfg, name)];
}

long long xw_config_int(const struct xw_config *cfg, const char *name)
{
    return cfg->num[must_find(cfg, name)];
}

int xw_config_bool(const struct xw_config *cfg, const char *name)
{
    return cfg->num[must_find(cfg, name)] != 0;
}

void xw_config_log(const struct xw_config *cfg)
{
    for (size_t i = 0; i < cfg->n; i++) {
        const char *v = cfg->str[i];

        if (cfg->defs[i]->flags & XW_CFG_SECRET)
            v = v ? "(set)" : "(unset)";
        xw_info("CONF", "%s=%s", cfg->defs[i]->name, v ? v : "(unset)");
    }
}

static int rdkafka_key_is_secret(const char *key)
{
    return strstr(key, "password") || strstr(key, "secret")
           || strstr(key, "sasl.oauthbearer.config") || strstr(key, ".pem");
}

int xw_config_rdkafka_props(char *const *env,
                            int (*fn)(const char *key, const char *value,
                                      int secret, void *ctx),
                            void *ctx)
{
    static const char prefix[] = "XW_RDKAFKA_";
    char key[256];

    for (; env && *env; env++) {
        const char *e = *env, *eq, *p;
        size_t k = 0;
        int rc;

        if (strncmp(e, prefix, sizeof prefix - 1) != 0)
            continue;
        eq = strchr(e, '=');
        if (!eq)
            continue;
        for (p = e + sizeof prefix - 1; p < eq && k + 1 < sizeof key; p++) {
            if (*p == '_' && p + 1 < eq && p[1] == '_') {
                key[k++] = '_';
                p++;
            } else if (*p == '_') {
                key[k++] = '.';
            } else {
                key[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
            }
        }
        key[k] = '\0';
        rc = fn(key, eq + 1, rdkafka_key_is_secret(key), ctx);
        if (rc)
            return rc;
    }
    return 0;
}
