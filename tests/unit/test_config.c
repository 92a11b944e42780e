/* Configuration table: defaults, parsing, bounds, required, secrets, and
 * librdkafka pass-through naming. */
#include <stdlib.h>

#include "xw_config.h"
#include "xw_test.h"

static const char *fake_env[16][2];

static const char *fake_getenv(const char *name)
{
    for (int i = 0; i < 16 && fake_env[i][0]; i++)
        if (strcmp(fake_env[i][0], name) == 0)
            return fake_env[i][1];
    return NULL;
}

static void set_env(int i, const char *k, const char *v)
{
    fake_env[i][0] = k;
    fake_env[i][1] = v;
    fake_env[i + 1][0] = NULL;
}

static const struct xw_config_def table[] = {
    { "T_PORT", XW_CFG_INT, "8080", 1, 65535, 0, "port" },
    { "T_NAME", XW_CFG_STR, "abc", 1, 8, 0, "name" },
    { "T_FLAG", XW_CFG_BOOL, "false", 0, 1, 0, "flag" },
    { "T_SECRET", XW_CFG_STR, NULL, 0, 64, XW_CFG_SECRET, "secret" },
    { "T_NEED", XW_CFG_STR, NULL, 1, 64, XW_CFG_REQUIRED, "needed" },
};

static int load(struct xw_config *cfg, char *err, size_t errlen)
{
    const struct xw_config_def *tables[] = { xw_config_common, table };
    size_t counts[] = { xw_config_common_count, sizeof table / sizeof table[0] };

    return xw_config_load(cfg, tables, counts, 2, fake_getenv, err, errlen);
}

static void test_defaults(void)
{
    struct xw_config cfg;
    char err[256] = "";

    set_env(0, "T_NEED", "x");
    ASSERT_EQ(load(&cfg, err, sizeof err), 0);
    ASSERT_EQ(xw_config_int(&cfg, "T_PORT"), 8080);
    ASSERT_STR_EQ(xw_config_str(&cfg, "T_NAME"), "abc");
    ASSERT_EQ(xw_config_bool(&cfg, "T_FLAG"), 0);
    ASSERT(xw_config_str(&cfg, "T_SECRET") == NULL);
    ASSERT_STR_EQ(xw_config_str(&cfg, "XW_TOPIC_PREFIX"), "xw.");
    ASSERT_EQ(xw_config_int(&cfg, "XW_BATCH_MAX"), 500);
}

static void test_values_and_bounds(void)
{
    struct xw_config cfg;
    char err[256] = "";

    set_env(0, "T_NEED", "x");
    set_env(1, "T_PORT", "65535");
    set_env(2, "T_FLAG", "yes");
    ASSERT_EQ(load(&cfg, err, sizeof err), 0);
    ASSERT_EQ(xw_config_int(&cfg, "T_PORT"), 65535);
    ASSERT_EQ(xw_config_bool(&cfg, "T_FLAG"), 1);

    set_env(1, "T_PORT", "65536");
    ASSERT_EQ(load(&cfg, err, sizeof err), -1);
    ASSERT(strstr(err, "T_PORT") && strstr(err, "out of bounds"));
    set_env(1, "T_PORT", "0");
    ASSERT_EQ(load(&cfg, err, sizeof err), -1);
    set_env(1, "T_PORT", "80x");
    ASSERT_EQ(load(&cfg, err, sizeof err), -1);
    ASSERT(strstr(err, "not an integer"));
    set_env(1, "T_PORT", "99999999999999999999999");
    ASSERT_EQ(load(&cfg, err, sizeof err), -1);
    set_env(1, "T_FLAG", "maybe");
    ASSERT_EQ(load(&cfg, err, sizeof err), -1);
    ASSERT(strstr(err, "T_FLAG"));
    set_env(1, "T_NAME", "waytoolongname");
    ASSERT_EQ(load(&cfg, err, sizeof err), -1);
    ASSERT(strstr(err, "T_NAME") && strstr(err, "length"));
}

static void test_required(void)
{
    struct xw_config cfg;
    char err[256] = "";

    fake_env[0][0] = NULL;
    ASSERT_EQ(load(&cfg, err, sizeof err), -1);
    ASSERT(strstr(err, "T_NEED") && strstr(err, "required"));
    set_env(0, "T_NEED", ""); /* empty counts as unset */
    ASSERT_EQ(load(&cfg, err, sizeof err), -1);
}

static void test_duplicate_declaration(void)
{
    const struct xw_config_def *tables[] = { table, table };
    size_t counts[] = { 1, 1 };
    struct xw_config cfg;
    char err[256] = "";

    ASSERT_EQ(xw_config_load(&cfg, tables, counts, 2, fake_getenv, err, sizeof err), -1);
    ASSERT(strstr(err, "declared twice"));
}

struct seen { char keys[8][64]; char vals[8][64]; int secret[8]; int n; };

static int collect(const char *k, const char *v, int secret, void *ctx)
{
    struct seen *s = ctx;

    snprintf(s->keys[s->n], 64, "%s", k);
    snprintf(s->vals[s->n], 64, "%s", v);
    s->secret[s->n++] = secret;
    return 0;
}

static void test_rdkafka_passthrough(void)
{
    char *env[] = { "PATH=/bin", "XW_RDKAFKA_SECURITY_PROTOCOL=SASL_SSL",
                    "XW_RDKAFKA_SASL_PASSWORD=hunter2",
                    "XW_RDKAFKA_SSL_ENDPOINT__IDENTIFICATION__ALGORITHM=none",
                    "XW_KAFKA_BROKERS=x", NULL };
    struct seen s = { 0 };

    ASSERT_EQ(xw_config_rdkafka_props(env, collect, &s), 0);
    ASSERT_EQ(s.n, 3);
    ASSERT_STR_EQ(s.keys[0], "security.protocol");
    ASSERT_STR_EQ(s.vals[0], "SASL_SSL");
    ASSERT_EQ(s.secret[0], 0);
    ASSERT_STR_EQ(s.keys[1], "sasl.password");
    ASSERT_EQ(s.secret[1], 1);
    ASSERT_STR_EQ(s.keys[2], "ssl.endpoint_identification_algorithm");
}

int main(void)
{
    XW_RUN(test_defaults);
    XW_RUN(test_values_and_bounds);
    XW_RUN(test_required);
    XW_RUN(test_duplicate_declaration);
    XW_RUN(test_rdkafka_passthrough);
    return XW_REPORT();
}
