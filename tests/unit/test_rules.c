/*
 * test_rules.c - rules 1, 3, 5 and 7 of xw_rules: combinations and scope,
 * environment validation, mapping one object, package status and replay.
 * (Rule 2, permissions, is in test_permissions.c; rule 4 in test_param.c;
 * rule 6 in test_timing.c.)
 *
 * One fixture: a basic/new source "ws_dev" and a standard/new destination
 * "ws_prod" in the same account and region, and an environment "to_prod"
 * that is valid with exactly one warning (the Data Integration group).
 * Each test changes one thing and checks the finding code and path.
 */
#include "xw_rules.h"
#include "xw_test.h"

#include <stdlib.h>

struct fx {
    struct xw_workspace src, dst;
    struct xw_member smem[5], dmem[3];
    struct xw_compute scomp[3], dcomp[2];
    struct xw_rgroup srg[4], drg[3];
    struct xw_datasource sds[2], dds[2];
    struct xw_project sproj[2], dproj[2];
    struct xw_env env;
    struct xw_mapping cm[3], rm[4], pm[2], dm[2];
    struct xw_param_mapping par[3];
    struct xw_findings f;
};

/* `x` must be zeroed before the first call (struct fx x = { 0 }); later
 * calls reset it, keeping no memory from before. */
static void fx_init(struct fx *x)
{
    xw_findings_release(&x->f);
    memset(x, 0, sizeof *x);
    xw_findings_init(&x->f);

    strcpy(x->src.id, "ws_dev");
    strcpy(x->src.account, "acc1");
    strcpy(x->src.region, "cn-hangzhou");
    strcpy(x->src.tz, "Asia/Shanghai");
    x->src.mode = XW_MODE_BASIC;
    x->src.studio = XW_STUDIO_NEW;
    x->smem[0] = (struct xw_member){ "alice", XW_ROLE_ADMIN };
    x->smem[1] = (struct xw_member){ "bob", XW_ROLE_DEVELOPMENT };
    x->smem[2] = (struct xw_member){ "carol", XW_ROLE_OM };
    x->smem[3] = (struct xw_member){ "dave", XW_ROLE_DEPLOY };
    x->smem[4] = (struct xw_member){ "erin", XW_ROLE_VISITOR };
    x->src.members = x->smem;
    x->src.n_members = 5;
    x->scomp[0] = (struct xw_compute){ "mc_dev", "maxcompute" };
    x->scomp[1] = (struct xw_compute){ "holo_dev", "hologres" };
    x->scomp[2] = (struct xw_compute){ "emr_dev", "emr" };
    x->src.computes = x->scomp;
    x->src.n_computes = 3;
    x->srg[0] = (struct xw_rgroup){ "rg_default", "scheduling", true, false };
    x->srg[1] = (struct xw_rgroup){ "rg_shared", "scheduling", false, true };
    x->srg[2] = (struct xw_rgroup){ "rg_sched", "scheduling", false, false };
    x->srg[3] = (struct xw_rgroup){ "rg_di", "data_integration", false,
                                    false };
    x->src.rgroups = x->srg;
    x->src.n_rgroups = 4;
    x->sds[0] = (struct xw_datasource){ "mysql_dev", "mysql" };
    x->sds[1] = (struct xw_datasource){ "pg_dev", "postgresql" };
    x->src.datasources = x->sds;
    x->src.n_datasources = 2;
    x->sproj[0] = (struct xw_project){ "upstream_a", "maxcompute" };
    x->sproj[1] = (struct xw_project){ "upstream_b", "maxcompute" };
    x->src.projects = x->sproj;
    x->src.n_projects = 2;

    strcpy(x->dst.id, "ws_prod");
    strcpy(x->dst.account, "acc1");
    strcpy(x->dst.region, "cn-hangzhou");
    strcpy(x->dst.tz, "Asia/Shanghai");
    x->dst.mode = XW_MODE_STANDARD;
    x->dst.studio = XW_STUDIO_NEW;
    x->dmem[0] = (struct xw_member){ "alice", XW_ROLE_ADMIN };
    x->dmem[1] = (struct xw_member){ "carol", XW_ROLE_OM };
    x->dmem[2] = (struct xw_member){ "frank", XW_ROLE_DEPLOY };
    x->dst.members = x->dmem;
    x->dst.n_members = 3;
    x->dcomp[0] = (struct xw_compute){ "mc_prod", "maxcompute" };
    x->dcomp[1] = (struct xw_compute){ "holo_prod", "hologres" };
    x->dst.computes = x->dcomp;
    x->dst.n_computes = 2;
    x->drg[0] = (struct xw_rgroup){ "rg_prod_default", "scheduling", true,
                                    false };
    x->drg[1] = (struct xw_rgroup){ "rg_prod", "scheduling", false, false };
    x->drg[2] = (struct xw_rgroup){ "rg_prod_di", "data_integration", false,
                                    false };
    x->dst.rgroups = x->drg;
    x->dst.n_rgroups = 3;
    x->dds[0] = (struct xw_datasource){ "mysql_prod", "mysql" };
    x->dds[1] = (struct xw_datasource){ "pg_prod", "postgresql" };
    x->dst.datasources = x->dds;
    x->dst.n_datasources = 2;
    x->dproj[0] = (struct xw_project){ "upstream_a_prod", "maxcompute" };
    x->dproj[1] = (struct xw_project){ "upstream_b_prod", "hologres" };
    x->dst.projects = x->dproj;
    x->dst.n_projects = 2;

    strcpy(x->env.name, "to_prod");
    strcpy(x->env.type, "cross_workspace");
    strcpy(x->env.source_ws, "ws_dev");
    strcpy(x->env.dest_ws, "ws_prod");
    x->env.owner_policy = XW_OWNER_DEFAULT;
    x->cm[0] = (struct xw_mapping){ "mc_dev", "mc_prod", false };
    x->cm[1] = (struct xw_mapping){ "holo_dev", "holo_prod", false };
    x->cm[2] = (struct xw_mapping){ "emr_dev", "", true };
    x->env.compute = x->cm;
    x->env.n_compute = 3;
    x->rm[0] = (struct xw_mapping){ "rg_default", "rg_prod_default", false };
    x->rm[1] = (struct xw_mapping){ "rg_shared", "rg_prod", false };
    x->rm[2] = (struct xw_mapping){ "rg_sched", "", true };
    x->rm[3] = (struct xw_mapping){ "rg_di", "rg_prod_di", false };
    x->env.rgroups = x->rm;
    x->env.n_rgroups = 4;
    x->pm[0] = (struct xw_mapping){ "upstream_a", "upstream_a_prod", false };
    x->pm[1] = (struct xw_mapping){ "upstream_b", "", true };
    x->env.deps = x->pm;
    x->env.n_deps = 2;
    x->dm[0] = (struct xw_mapping){ "mysql_dev", "mysql_prod", false };
    x->dm[1] = (struct xw_mapping){ "pg_dev", "", true };
    x->env.datasources = x->dm;
    x->env.n_datasources = 2;
    x->par[0] = (struct xw_param_mapping){ "", "region", "cn" };
    x->par[1] = (struct xw_param_mapping){ "n1", "dt", "${yyyymmdd-1}" };
    x->par[2] = (struct xw_param_mapping){ "", "dt", "$bizdate" };
    x->env.params = x->par;
    x->env.n_params = 3;
}

static void fx_release(struct fx *x)
{
    xw_findings_release(&x->f);
}

static int validate(struct fx *x)
{
    xw_findings_reset(&x->f);
    return xw_rules_validate_env(&x->env, &x->src, &x->dst, NULL, 0, &x->f);
}

/* Assert a finding with code at path (path NULL = any) and severity. */
#define ASSERT_FINDING(F, CODE, PATH, SEV)                                  \
    do {                                                                    \
        const struct xw_finding *fd_ = xw_findings_find((F), (CODE), (PATH)); \
        if (!fd_)                                                           \
            XW_FAIL_("no finding %s at %s (have %zu findings%s%s)", (CODE), \
                     (PATH) ? (PATH) : "*", (F)->count,                     \
                     (F)->count ? ", first: " : "",                         \
                     (F)->count ? (F)->items[0].code : "");                 \
        if (fd_->severity != (SEV))                                         \
            XW_FAIL_("finding %s has severity %d", (CODE), fd_->severity);  \
        if (!fd_->message[0])                                               \
            XW_FAIL_("finding %s has no message", (CODE));                  \
    } while (0)

/* ================================================================ */
/* Rule 1: combinations (the document's table, row by row)          */

static const struct {
    enum xw_ws_mode smode;
    enum xw_studio sver;
    enum xw_ws_mode dmode;
    enum xw_studio dver;
    int supported;
    const char *code; /* the refusal, when not supported */
} combo_rows[] = {
    /* the document's 8 rows */
    { XW_MODE_BASIC, XW_STUDIO_NEW, XW_MODE_BASIC, XW_STUDIO_NEW, 1, NULL },
    { XW_MODE_BASIC, XW_STUDIO_NEW, XW_MODE_BASIC, XW_STUDIO_LEGACY, 0,
      "studio_version_mismatch" },
    { XW_MODE_BASIC, XW_STUDIO_NEW, XW_MODE_STANDARD, XW_STUDIO_NEW, 1, NULL },
    { XW_MODE_BASIC, XW_STUDIO_NEW, XW_MODE_STANDARD, XW_STUDIO_LEGACY, 0,
      "studio_version_mismatch" },
    { XW_MODE_BASIC, XW_STUDIO_LEGACY, XW_MODE_BASIC, XW_STUDIO_LEGACY, 1,
      NULL },
    { XW_MODE_BASIC, XW_STUDIO_LEGACY, XW_MODE_STANDARD, XW_STUDIO_LEGACY, 1,
      NULL },
    { XW_MODE_BASIC, XW_STUDIO_LEGACY, XW_MODE_BASIC, XW_STUDIO_NEW, 0,
      "studio_version_mismatch" },
    { XW_MODE_BASIC, XW_STUDIO_LEGACY, XW_MODE_STANDARD, XW_STUDIO_NEW, 0,
      "studio_version_mismatch" },
    /* "Standard-mode source workspaces are not supported." */
    { XW_MODE_STANDARD, XW_STUDIO_NEW, XW_MODE_BASIC, XW_STUDIO_NEW, 0,
      "source_not_basic" },
    { XW_MODE_STANDARD, XW_STUDIO_NEW, XW_MODE_STANDARD, XW_STUDIO_NEW, 0,
      "source_not_basic" },
    { XW_MODE_STANDARD, XW_STUDIO_LEGACY, XW_MODE_BASIC, XW_STUDIO_LEGACY, 0,
      "source_not_basic" },
    { XW_MODE_STANDARD, XW_STUDIO_LEGACY, XW_MODE_STANDARD, XW_STUDIO_LEGACY,
      0, "source_not_basic" },
    /* unset values are refused, never assumed */
    { XW_MODE_UNSET, XW_STUDIO_NEW, XW_MODE_BASIC, XW_STUDIO_NEW, 0,
      "source_not_basic" },
    { XW_MODE_BASIC, XW_STUDIO_NEW, XW_MODE_UNSET, XW_STUDIO_NEW, 0,
      "destination_mode_invalid" },
    { XW_MODE_BASIC, XW_STUDIO_UNSET, XW_MODE_BASIC, XW_STUDIO_NEW, 0,
      "studio_version_invalid" },
    { XW_MODE_BASIC, XW_STUDIO_NEW, XW_MODE_BASIC, XW_STUDIO_UNSET, 0,
      "studio_version_invalid" },
};

static void test_combination_table(void)
{
    struct fx x = { 0 };
    fx_init(&x);
    for (size_t i = 0; i < sizeof combo_rows / sizeof combo_rows[0]; i++) {
        int rc;
        x.src.mode = combo_rows[i].smode;
        x.src.studio = combo_rows[i].sver;
        x.dst.mode = combo_rows[i].dmode;
        x.dst.studio = combo_rows[i].dver;
        xw_findings_reset(&x.f);
        rc = xw_rules_check_combination(&x.src, &x.dst, &x.f);
        if (combo_rows[i].supported) {
            if (rc != 0 || x.f.count != 0)
                XW_FAIL_("row %zu: refused (%s)", i,
                         x.f.count ? x.f.items[0].code : "no finding");
        } else {
            if (rc != -1 || x.f.count != 1 ||
                strcmp(x.f.items[0].code, combo_rows[i].code) != 0)
                XW_FAIL_("row %zu: rc %d, %zu findings (first %s), expected "
                         "one %s", i, rc, x.f.count,
                         x.f.count ? x.f.items[0].code : "-",
                         combo_rows[i].code);
        }
    }
    fx_release(&x);
}

static void test_combination_messages(void)
{
    struct fx x = { 0 };
    fx_init(&x);
    x.src.mode = XW_MODE_STANDARD;
    ASSERT_EQ(xw_rules_check_combination(&x.src, &x.dst, &x.f), -1);
    ASSERT_FINDING(&x.f, "source_not_basic", "source_workspace.mode",
                   XW_SEV_ERROR);
    ASSERT(strstr(x.f.items[0].message, "basic-mode source") != NULL);
    fx_init(&x);
    x.dst.studio = XW_STUDIO_LEGACY;
    ASSERT_EQ(xw_rules_check_combination(&x.src, &x.dst, &x.f), -1);
    ASSERT_FINDING(&x.f, "studio_version_mismatch",
                   "destination_workspace.studio_version", XW_SEV_ERROR);
    ASSERT(strstr(x.f.items[0].message, "legacy") != NULL);
    fx_release(&x);
}

static void test_scope_account_region(void)
{
    struct fx x = { 0 };
    fx_init(&x);
    strcpy(x.dst.account, "acc2");
    ASSERT_EQ(xw_rules_check_combination(&x.src, &x.dst, &x.f), -1);
    ASSERT_EQ(x.f.count, 1);
    ASSERT_FINDING(&x.f, "cross_account", "destination_workspace.account",
                   XW_SEV_ERROR);

    fx_init(&x);
    strcpy(x.dst.region, "cn-shanghai");
    ASSERT_EQ(xw_rules_check_combination(&x.src, &x.dst, &x.f), -1);
    ASSERT_EQ(x.f.count, 1);
    ASSERT_FINDING(&x.f, "cross_region", "destination_workspace.region",
                   XW_SEV_ERROR);
    ASSERT(strstr(x.f.items[0].message, "not supported") != NULL);
    ASSERT(strstr(x.f.items[0].message, "Deploy Center") != NULL);
    ASSERT(strstr(x.f.items[0].message, "cn-shanghai") != NULL);

    /* both at once, plus a standard source: all three reported */
    fx_init(&x);
    strcpy(x.dst.region, "cn-shanghai");
    strcpy(x.dst.account, "acc2");
    x.src.mode = XW_MODE_STANDARD;
    ASSERT_EQ(xw_rules_check_combination(&x.src, &x.dst, &x.f), -1);
    ASSERT_EQ(x.f.count, 3);
    ASSERT_FINDING(&x.f, "cross_region", NULL, XW_SEV_ERROR);
    ASSERT_FINDING(&x.f, "cross_account", NULL, XW_SEV_ERROR);
    ASSERT_FINDING(&x.f, "source_not_basic", NULL, XW_SEV_ERROR);

    /* same workspace */
    fx_init(&x);
    ASSERT_EQ(xw_rules_check_combination(&x.src, &x.src, &x.f), -1);
    ASSERT_FINDING(&x.f, "same_workspace", "destination_workspace",
                   XW_SEV_ERROR);

    /* missing argument, findings may be NULL */
    ASSERT_EQ(xw_rules_check_combination(&x.src, NULL, NULL), -1);
    ASSERT_EQ(xw_rules_check_combination(&x.src, &x.dst, NULL), 0);
    fx_release(&x);
}

/* ================================================================ */
/* Rule 3: environment validation                                   */

static void test_env_fixture_is_valid(void)
{
    struct fx x = { 0 };
    fx_init(&x);
    ASSERT_EQ(validate(&x), 0);
    ASSERT_EQ(x.f.n_errors, 0);
    ASSERT_EQ(x.f.n_warnings, 1);
    ASSERT_FINDING(&x.f, "rg_data_integration",
                   "resource_group_mappings[3].target", XW_SEV_WARNING);
    ASSERT(strstr(x.f.items[0].message, "whitelist") != NULL);
    fx_release(&x);
}

static void test_env_name(void)
{
    struct fx x = { 0 };
    const char *others[] = { "nightly", "to_prod" };
    const char *others_ok[] = { "nightly", NULL };

    fx_init(&x);
    x.env.name[0] = '\0';
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "env_name_missing", "name", XW_SEV_ERROR);

    fx_init(&x);
    ASSERT_EQ(xw_rules_validate_env(&x.env, &x.src, &x.dst, others, 2, &x.f),
              -1);
    ASSERT_FINDING(&x.f, "env_name_duplicate", "name", XW_SEV_ERROR);
    xw_findings_reset(&x.f);
    ASSERT_EQ(xw_rules_validate_env(&x.env, &x.src, &x.dst, others_ok, 2,
                                    &x.f), 0);
    ASSERT_EQ(xw_findings_count_code(&x.f, "env_name_duplicate"), 0);

    /* a name that fills its whole array is refused, nothing read past */
    fx_init(&x);
    memset(x.env.name, 'a', sizeof x.env.name);
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "field_too_long", "name", XW_SEV_ERROR);
    fx_release(&x);
}

static void test_env_type_policy_source(void)
{
    struct fx x = { 0 };
    fx_init(&x);
    strcpy(x.env.type, "cross_region");
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "env_type_unsupported", "type", XW_SEV_ERROR);

    fx_init(&x);
    x.env.owner_policy = (enum xw_owner_policy)9;
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "env_owner_policy_invalid", "owner_policy",
                   XW_SEV_ERROR);

    fx_init(&x);
    x.env.owner_policy = XW_OWNER_PACKAGE_EXECUTOR;
    ASSERT_EQ(validate(&x), 0);

    fx_init(&x);
    strcpy(x.env.source_ws, "ws_other");
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "env_source_mismatch", "source_workspace",
                   XW_SEV_ERROR);

    ASSERT_EQ(xw_rules_validate_env(NULL, &x.src, &x.dst, NULL, 0, &x.f), -1);
    ASSERT_FINDING(&x.f, "invalid_argument", NULL, XW_SEV_ERROR);
    fx_release(&x);
}

static void test_env_destination(void)
{
    struct fx x = { 0 };
    fx_init(&x);
    xw_findings_reset(&x.f);
    ASSERT_EQ(xw_rules_validate_env(&x.env, &x.src, NULL, NULL, 0, &x.f), -1);
    ASSERT_FINDING(&x.f, "destination_missing", "destination_workspace",
                   XW_SEV_ERROR);
    /* without a destination, targets are not judged */
    ASSERT_EQ(xw_findings_count_code(&x.f, "compute_target_unknown"), 0);
    ASSERT_EQ(x.f.n_errors, 1);

    fx_init(&x);
    strcpy(x.env.dest_ws, "ws_gone");
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "destination_missing", "destination_workspace",
                   XW_SEV_ERROR);
    ASSERT(strstr(x.f.items[0].message, "ws_gone") != NULL);

    /* the pair must pass rule 1 */
    fx_init(&x);
    x.dst.studio = XW_STUDIO_LEGACY;
    strcpy(x.dst.region, "eu-central-1");
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "studio_version_mismatch",
                   "destination_workspace.studio_version", XW_SEV_ERROR);
    ASSERT_FINDING(&x.f, "cross_region", "destination_workspace.region",
                   XW_SEV_ERROR);
    fx_release(&x);
}

static void test_env_compute(void)
{
    struct fx x = { 0 };

    /* all ignored: nothing mapped */
    fx_init(&x);
    x.cm[0].ignore = x.cm[1].ignore = true;
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "compute_none_mapped", "compute_mappings",
                   XW_SEV_ERROR);
    /* no rows at all: also three "unmapped" warnings */
    fx_init(&x);
    x.env.n_compute = 0;
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "compute_none_mapped", "compute_mappings",
                   XW_SEV_ERROR);
    ASSERT_EQ(xw_findings_count_code(&x.f, "compute_unmapped"), 3);
    /* one mapped is enough */
    fx_init(&x);
    x.cm[1].ignore = true;
    ASSERT_EQ(validate(&x), 0);

    fx_init(&x);
    strcpy(x.cm[0].source, "mc_nope");
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "compute_source_unknown",
                   "compute_mappings[0].source", XW_SEV_ERROR);
    /* mc_dev now has no row: warned */
    ASSERT_FINDING(&x.f, "compute_unmapped", "compute_mappings",
                   XW_SEV_WARNING);

    fx_init(&x);
    x.cm[0].source[0] = '\0';
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "compute_source_missing",
                   "compute_mappings[0].source", XW_SEV_ERROR);

    fx_init(&x);
    strcpy(x.cm[1].target, "holo_nope");
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "compute_target_unknown",
                   "compute_mappings[1].target", XW_SEV_ERROR);

    fx_init(&x);
    x.cm[1].target[0] = '\0';
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "compute_target_missing",
                   "compute_mappings[1].target", XW_SEV_ERROR);

    fx_init(&x);
    strcpy(x.cm[1].target, "mc_prod"); /* hologres -> maxcompute */
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "compute_type_mismatch",
                   "compute_mappings[1].target", XW_SEV_ERROR);
    ASSERT(strstr(xw_findings_find(&x.f, "compute_type_mismatch", NULL)
                      ->message, "hologres") != NULL);

    fx_init(&x);
    strcpy(x.cm[2].source, "mc_dev");
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "compute_duplicate", "compute_mappings[2].source",
                   XW_SEV_ERROR);

    /* a source resource with no row is a warning, not an error */
    fx_init(&x);
    x.env.n_compute = 2;
    ASSERT_EQ(validate(&x), 0);
    ASSERT_FINDING(&x.f, "compute_unmapped", "compute_mappings",
                   XW_SEV_WARNING);
    ASSERT(strstr(xw_findings_find(&x.f, "compute_unmapped", NULL)->message,
                  "emr_dev") != NULL);
    fx_release(&x);
}

static void test_env_resource_groups(void)
{
    struct fx x = { 0 };

    /* ignore refused for the default group */
    fx_init(&x);
    x.rm[0].ignore = true;
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "rg_ignore_default",
                   "resource_group_mappings[0].ignore", XW_SEV_ERROR);
    ASSERT(strstr(xw_findings_find(&x.f, "rg_ignore_default", NULL)->message,
                  "resource group 'rg_default' is the default group and "
                  "cannot be ignored") != NULL);

    /* ... and for a shared group */
    fx_init(&x);
    x.rm[1].ignore = true;
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "rg_ignore_shared",
                   "resource_group_mappings[1].ignore", XW_SEV_ERROR);
    ASSERT_EQ(xw_findings_count_code(&x.f, "rg_ignore_default"), 0);

    /* a group both default and shared gets both */
    fx_init(&x);
    x.srg[0].is_shared = true;
    x.rm[0].ignore = true;
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "rg_ignore_default", NULL, XW_SEV_ERROR);
    ASSERT_FINDING(&x.f, "rg_ignore_shared", NULL, XW_SEV_ERROR);

    /* ignoring an ordinary group is fine (fixture: rg_sched) */
    fx_init(&x);
    ASSERT_EQ(validate(&x), 0);
    ASSERT_EQ(xw_findings_count_code(&x.f, "rg_ignore_default") +
                  xw_findings_count_code(&x.f, "rg_ignore_shared"), 0);

    /* same type only */
    fx_init(&x);
    strcpy(x.rm[1].target, "rg_prod_di");
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "rg_type_mismatch",
                   "resource_group_mappings[1].target", XW_SEV_ERROR);

    /* a Data Integration group mapped to another type: the mismatch, and
     * no network warning for a mapping that cannot stand */
    fx_init(&x);
    strcpy(x.rm[3].target, "rg_prod");
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "rg_type_mismatch",
                   "resource_group_mappings[3].target", XW_SEV_ERROR);
    ASSERT_EQ(xw_findings_count_code(&x.f, "rg_data_integration"), 0);

    /* an ignored Data Integration group keeps its own network */
    fx_init(&x);
    x.rm[3].ignore = true;
    ASSERT_EQ(validate(&x), 0);
    ASSERT_EQ(x.f.n_warnings, 0);

    fx_init(&x);
    strcpy(x.rm[2].source, "rg_nope");
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "rg_source_unknown",
                   "resource_group_mappings[2].source", XW_SEV_ERROR);
    ASSERT_FINDING(&x.f, "rg_unmapped", "resource_group_mappings",
                   XW_SEV_WARNING);

    fx_init(&x);
    strcpy(x.rm[0].target, "rg_nope");
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "rg_target_unknown",
                   "resource_group_mappings[0].target", XW_SEV_ERROR);

    fx_init(&x);
    x.rm[0].target[0] = '\0';
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "rg_target_missing",
                   "resource_group_mappings[0].target", XW_SEV_ERROR);

    fx_init(&x);
    x.rm[3] = x.rm[2];
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "rg_duplicate", "resource_group_mappings[3].source",
                   XW_SEV_ERROR);
    ASSERT_FINDING(&x.f, "rg_unmapped", "resource_group_mappings",
                   XW_SEV_WARNING); /* rg_di lost its row */
    fx_release(&x);
}

static void test_env_datasources(void)
{
    struct fx x = { 0 };
    fx_init(&x);
    strcpy(x.dm[0].target, "pg_prod");
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "ds_type_mismatch", "data_source_mappings[0].target",
                   XW_SEV_ERROR);

    fx_init(&x);
    strcpy(x.dm[0].source, "oracle_dev");
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "ds_source_unknown", "data_source_mappings[0].source",
                   XW_SEV_ERROR);

    fx_init(&x);
    strcpy(x.dm[0].target, "mysql_gone");
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "ds_target_unknown", "data_source_mappings[0].target",
                   XW_SEV_ERROR);

    fx_init(&x);
    x.env.n_datasources = 1;
    ASSERT_EQ(validate(&x), 0);
    ASSERT_FINDING(&x.f, "ds_unmapped", "data_source_mappings",
                   XW_SEV_WARNING);

    fx_init(&x);
    x.dm[1] = x.dm[0];
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "ds_duplicate", "data_source_mappings[1].source",
                   XW_SEV_ERROR);
    fx_release(&x);
}

static void test_env_dependencies(void)
{
    struct fx x = { 0 };
    fx_init(&x);
    strcpy(x.pm[0].source, "stranger");
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "dependency_source_unknown",
                   "dependency_mappings[0].source", XW_SEV_ERROR);
    ASSERT_FINDING(&x.f, "dependency_unmapped", "dependency_mappings",
                   XW_SEV_WARNING);

    fx_init(&x);
    strcpy(x.pm[0].target, "nowhere");
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "dependency_target_unknown",
                   "dependency_mappings[0].target", XW_SEV_ERROR);

    fx_init(&x);
    x.pm[0].target[0] = '\0';
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "dependency_target_missing",
                   "dependency_mappings[0].target", XW_SEV_ERROR);

    /* projects carry no type rule: category may differ */
    fx_init(&x);
    x.pm[1] = (struct xw_mapping){ "upstream_b", "upstream_b_prod", false };
    ASSERT_EQ(validate(&x), 0);

    /* an upstream project with no row: warning (decision) */
    fx_init(&x);
    x.env.n_deps = 1;
    ASSERT_EQ(validate(&x), 0);
    ASSERT_FINDING(&x.f, "dependency_unmapped", "dependency_mappings",
                   XW_SEV_WARNING);
    ASSERT(strstr(xw_findings_find(&x.f, "dependency_unmapped", NULL)
                      ->message, "upstream_b") != NULL);

    fx_init(&x);
    x.pm[1] = x.pm[0];
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "dependency_duplicate",
                   "dependency_mappings[1].source", XW_SEV_ERROR);
    fx_release(&x);
}

static void test_env_parameters(void)
{
    struct fx x = { 0 };

    /* same name, same task: refused */
    fx_init(&x);
    x.par[2] = (struct xw_param_mapping){ "n1", "dt", "$bizdate" };
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "param_duplicate", "parameter_mappings[2].name",
                   XW_SEV_ERROR);
    ASSERT(strstr(xw_findings_find(&x.f, "param_duplicate", NULL)->message,
                  "n1") != NULL);
    /* same name for all tasks twice: refused */
    fx_init(&x);
    x.par[1] = (struct xw_param_mapping){ "", "region", "eu" };
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "param_duplicate", "parameter_mappings[1].name",
                   XW_SEV_ERROR);
    /* same name in different tasks (fixture: n1 and ""): fine */
    fx_init(&x);
    x.par[0] = (struct xw_param_mapping){ "n2", "dt", "${yyyymmdd}" };
    ASSERT_EQ(validate(&x), 0);

    fx_init(&x);
    x.par[0].name[0] = '\0';
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "param_name_missing", "parameter_mappings[0].name",
                   XW_SEV_ERROR);

    /* values: literal and expressions pass, malformed ones carry the
     * xw_param code at .value */
    fx_init(&x);
    strcpy(x.par[1].value, "$bizdat");
    strcpy(x.par[0].value, "${yyyymmdq}");
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "param_unknown_system",
                   "parameter_mappings[1].value", XW_SEV_ERROR);
    ASSERT_FINDING(&x.f, "param_bad_token", "parameter_mappings[0].value",
                   XW_SEV_ERROR);
    ASSERT(strstr(xw_findings_find(&x.f, "param_bad_token", NULL)->message,
                  "offset 8") != NULL);
    fx_init(&x);
    strcpy(x.par[0].value, "$[add_months(yyyymmdd,-1)]");
    ASSERT_EQ(validate(&x), 0);
    fx_release(&x);
}

static void test_env_reports_all_findings(void)
{
    struct fx x = { 0 };
    fx_init(&x);
    x.env.name[0] = '\0';
    strcpy(x.dst.region, "cn-shanghai");
    x.cm[0].ignore = x.cm[1].ignore = true;
    x.rm[0].ignore = true;
    strcpy(x.dm[0].target, "pg_prod");
    strcpy(x.pm[0].target, "nowhere");
    strcpy(x.par[0].value, "a b");
    ASSERT_EQ(validate(&x), -1);
    ASSERT_FINDING(&x.f, "env_name_missing", "name", XW_SEV_ERROR);
    ASSERT_FINDING(&x.f, "cross_region", NULL, XW_SEV_ERROR);
    ASSERT_FINDING(&x.f, "compute_none_mapped", NULL, XW_SEV_ERROR);
    ASSERT_FINDING(&x.f, "rg_ignore_default", NULL, XW_SEV_ERROR);
    ASSERT_FINDING(&x.f, "ds_type_mismatch", NULL, XW_SEV_ERROR);
    ASSERT_FINDING(&x.f, "dependency_target_unknown", NULL, XW_SEV_ERROR);
    ASSERT_FINDING(&x.f, "param_forbidden_char", NULL, XW_SEV_ERROR);
    ASSERT_EQ(x.f.n_errors, 7);
    fx_release(&x);
}

static void test_findings_list(void)
{
    struct xw_findings f = XW_FINDINGS_INIT;
    for (int i = 0; i < XW_FINDINGS_MAX + 10; i++)
        xw_findings_add(&f, "c", i % 2 ? XW_SEV_WARNING : XW_SEV_ERROR, "p",
                        "n %d", i);
    ASSERT_EQ(f.count, XW_FINDINGS_MAX);
    ASSERT_EQ(f.dropped, 10);
    ASSERT_EQ(f.n_errors + f.n_warnings, XW_FINDINGS_MAX + 10);
    ASSERT_STR_EQ(f.items[3].message, "n 3");
    xw_findings_reset(&f);
    ASSERT_EQ(f.count, 0);
    ASSERT_EQ(f.n_errors, 0);
    xw_findings_release(&f);
    ASSERT(f.items == NULL);
    ASSERT_EQ(xw_findings_add(NULL, "c", XW_SEV_ERROR, "p", "x"), 0);
}

/* ================================================================ */
/* Rule 5: mapping one object                                       */

struct ofx {
    struct xw_object o;
    struct xw_ref ds[2];
    struct xw_dep deps[3];
    struct xw_obj_param params[3];
    struct xw_map_request req;
    struct xw_mapped out;
};

/* Same contract as fx_init. */
static void ofx_init(struct ofx *y)
{
    xw_rules_mapped_release(&y->out);
    memset(y, 0, sizeof *y);
    y->o.kind = XW_OBJ_NODE;
    strcpy(y->o.id, "n1");
    strcpy(y->o.name, "daily_orders");
    y->o.version = 7;
    strcpy(y->o.compute, "mc_dev");
    strcpy(y->o.rgroup, "rg_default");
    strcpy(y->ds[0].name, "mysql_dev");
    strcpy(y->ds[1].name, "pg_dev");
    y->o.datasources = y->ds;
    y->o.n_datasources = 2;
    y->deps[0] = (struct xw_dep){ "upstream_a", "a_orders" };
    y->deps[1] = (struct xw_dep){ "upstream_b", "b_users" };
    y->deps[2] = (struct xw_dep){ "ws_dev", "local_clean" };
    y->o.deps = y->deps;
    y->o.n_deps = 3;
    y->params[0] = (struct xw_obj_param){ "region", "us" };
    y->params[1] = (struct xw_obj_param){ "dt", "${yyyymmdd}" };
    y->params[2] = (struct xw_obj_param){ "keep", "42" };
    y->o.params = y->params;
    y->o.n_params = 3;
    strcpy(y->o.owner, "carol");
    y->o.gen_mode = XW_GEN_IMMEDIATE;
    y->o.sched_hour = 2;
    y->o.sched_minute = 30;
    y->req.creator = "bob";
    y->req.executor = "frank";
    y->req.rg_override = NULL;
}

static enum xw_map_outcome map(struct fx *x, struct ofx *y)
{
    xw_findings_reset(&x->f);
    xw_rules_mapped_release(&y->out);
    return xw_rules_map_object(&x->env, &x->src, &x->dst, &y->o, &y->req,
                               &y->out, &x->f);
}

static void test_map_happy_path(void)
{
    struct fx x = { 0 };
    struct ofx y = { 0 };
    fx_init(&x);
    ofx_init(&y);
    ASSERT_EQ(map(&x, &y), XW_MAP_MAPPED);
    ASSERT_EQ(y.out.outcome, XW_MAP_MAPPED);
    ASSERT(y.out.code == NULL);
    ASSERT_EQ(x.f.count, 0);
    ASSERT_EQ(y.out.kind, XW_OBJ_NODE);
    ASSERT_STR_EQ(y.out.id, "n1");
    ASSERT_STR_EQ(y.out.name, "daily_orders");
    ASSERT_EQ(y.out.version, 7);
    ASSERT_STR_EQ(y.out.compute, "mc_prod");
    ASSERT_STR_EQ(y.out.rgroup, "rg_prod_default");
    ASSERT_STR_EQ(y.out.rgroup_by, "mapping");
    /* data sources: mapped, and ignored = the source one */
    ASSERT_EQ(y.out.n_datasources, 2);
    ASSERT_STR_EQ(y.out.datasources[0].name, "mysql_prod");
    ASSERT_STR_EQ(y.out.datasources[1].name, "pg_dev");
    /* dependencies project by project: mapped, ignored kept, own moved */
    ASSERT_EQ(y.out.n_deps, 3);
    ASSERT_STR_EQ(y.out.deps[0].project, "upstream_a_prod");
    ASSERT_STR_EQ(y.out.deps[0].node, "a_orders");
    ASSERT_STR_EQ(y.out.deps[1].project, "upstream_b");
    ASSERT_STR_EQ(y.out.deps[1].node, "b_users");
    ASSERT_STR_EQ(y.out.deps[2].project, "ws_prod");
    ASSERT_STR_EQ(y.out.deps[2].node, "local_clean");
    /* parameters: general row, task-specific row beats general, unmapped
     * kept */
    ASSERT_EQ(y.out.n_params, 3);
    ASSERT_STR_EQ(y.out.params[0].name, "region");
    ASSERT_STR_EQ(y.out.params[0].value, "cn");
    ASSERT_STR_EQ(y.out.params[1].value, "${yyyymmdd-1}");
    ASSERT_STR_EQ(y.out.params[2].value, "42");
    ASSERT_STR_EQ(y.out.owner, "carol");
    ASSERT_STR_EQ(y.out.owner_by, "source_owner");
    ASSERT_EQ(y.out.gen_mode, XW_GEN_IMMEDIATE);
    ASSERT_EQ(y.out.sched_hour, 2);
    ASSERT_EQ(y.out.sched_minute, 30);

    /* another task gets the general "dt" value */
    strcpy(y.o.id, "n2");
    ASSERT_EQ(map(&x, &y), XW_MAP_MAPPED);
    ASSERT_STR_EQ(y.out.params[1].value, "$bizdate");
    xw_rules_mapped_release(&y.out);
    ASSERT(y.out.deps == NULL);
    xw_rules_mapped_release(&y.out);
    fx_release(&x);
}

static void test_map_compute(void)
{
    struct fx x = { 0 };
    struct ofx y = { 0 };
    fx_init(&x);
    ofx_init(&y);

    /* ignored -> excluded, nothing else judged (pg_dev row removed) */
    strcpy(y.o.compute, "emr_dev");
    x.env.n_datasources = 1;
    ASSERT_EQ(map(&x, &y), XW_MAP_EXCLUDED);
    ASSERT_STR_EQ(y.out.code, "compute_ignored");
    ASSERT(strstr(y.out.reason, "emr_dev") != NULL);
    ASSERT_EQ(x.f.n_errors, 0);
    ASSERT_FINDING(&x.f, "compute_ignored", "object.compute_resource",
                   XW_SEV_WARNING);
    ASSERT(y.out.datasources == NULL);

    /* neither mapped nor ignored -> failed */
    fx_init(&x);
    ofx_init(&y);
    x.env.n_compute = 2;
    strcpy(y.o.compute, "emr_dev");
    ASSERT_EQ(map(&x, &y), XW_MAP_FAILED);
    ASSERT_STR_EQ(y.out.code, "compute_unmapped");
    ASSERT(strstr(y.out.reason, "neither mapped nor ignored") != NULL);
    ASSERT_FINDING(&x.f, "compute_unmapped", "object.compute_resource", XW_SEV_ERROR);
    ASSERT(y.out.params == NULL);

    /* mapped to a resource the destination no longer has */
    fx_init(&x);
    ofx_init(&y);
    x.dst.n_computes = 1; /* holo_prod gone */
    strcpy(y.o.compute, "holo_dev");
    ASSERT_EQ(map(&x, &y), XW_MAP_FAILED);
    ASSERT_STR_EQ(y.out.code, "compute_target_unknown");

    /* no compute resource at all */
    fx_init(&x);
    ofx_init(&y);
    y.o.compute[0] = '\0';
    ASSERT_EQ(map(&x, &y), XW_MAP_FAILED);
    ASSERT_STR_EQ(y.out.code, "object_invalid");
    xw_rules_mapped_release(&y.out);
    fx_release(&x);
}

static void test_map_resource_group(void)
{
    struct fx x = { 0 };
    struct ofx y = { 0 };

    /* ignored -> the source group is used */
    fx_init(&x);
    ofx_init(&y);
    strcpy(y.o.rgroup, "rg_sched");
    ASSERT_EQ(map(&x, &y), XW_MAP_MAPPED);
    ASSERT_STR_EQ(y.out.rgroup, "rg_sched");
    ASSERT_STR_EQ(y.out.rgroup_by, "ignored_source_group");

    /* no row -> failed (decision) */
    fx_init(&x);
    ofx_init(&y);
    x.env.n_rgroups = 3; /* rg_di row gone */
    strcpy(y.o.rgroup, "rg_di");
    ASSERT_EQ(map(&x, &y), XW_MAP_FAILED);
    ASSERT_STR_EQ(y.out.code, "rg_unmapped");
    ASSERT_FINDING(&x.f, "rg_unmapped", "object.resource_group",
                   XW_SEV_ERROR);

    /* mapped target gone from the destination */
    fx_init(&x);
    ofx_init(&y);
    x.dst.n_rgroups = 1;
    strcpy(y.o.rgroup, "rg_shared");
    ASSERT_EQ(map(&x, &y), XW_MAP_FAILED);
    ASSERT_STR_EQ(y.out.code, "rg_target_unknown");

    /* objects without a group need none */
    fx_init(&x);
    ofx_init(&y);
    y.o.kind = XW_OBJ_RESOURCE;
    y.o.rgroup[0] = '\0';
    ASSERT_EQ(map(&x, &y), XW_MAP_MAPPED);
    ASSERT_STR_EQ(y.out.rgroup, "");
    ASSERT_STR_EQ(y.out.rgroup_by, "none");
    xw_rules_mapped_release(&y.out);
    fx_release(&x);
}

static void test_map_rg_override(void)
{
    struct fx x = { 0 };
    struct ofx y = { 0 };

    /* a valid override replaces the mapping */
    fx_init(&x);
    ofx_init(&y);
    y.req.rg_override = "rg_prod";
    ASSERT_EQ(map(&x, &y), XW_MAP_MAPPED);
    ASSERT_STR_EQ(y.out.rgroup, "rg_prod");
    ASSERT_STR_EQ(y.out.rgroup_by, "override");

    /* ... and replaces "ignored" too */
    strcpy(y.o.rgroup, "rg_sched");
    ASSERT_EQ(map(&x, &y), XW_MAP_MAPPED);
    ASSERT_STR_EQ(y.out.rgroup, "rg_prod");

    /* ... and stands in for a missing row */
    x.env.n_rgroups = 3;
    strcpy(y.o.rgroup, "rg_di");
    y.req.rg_override = "rg_prod_di";
    ASSERT_EQ(map(&x, &y), XW_MAP_MAPPED);
    ASSERT_STR_EQ(y.out.rgroup, "rg_prod_di");

    /* not in the destination */
    fx_init(&x);
    ofx_init(&y);
    y.req.rg_override = "rg_elsewhere";
    ASSERT_EQ(map(&x, &y), XW_MAP_FAILED);
    ASSERT_STR_EQ(y.out.code, "rg_override_unknown");
    ASSERT_FINDING(&x.f, "rg_override_unknown", "resource_group_override",
                   XW_SEV_ERROR);

    /* of another type than the source group */
    y.req.rg_override = "rg_prod_di";
    ASSERT_EQ(map(&x, &y), XW_MAP_FAILED);
    ASSERT_STR_EQ(y.out.code, "rg_override_type");
    ASSERT(strstr(y.out.reason, "data_integration") != NULL);

    /* the object's group is unknown in the source: type cannot be checked */
    strcpy(y.o.rgroup, "rg_phantom");
    y.req.rg_override = "rg_prod";
    ASSERT_EQ(map(&x, &y), XW_MAP_FAILED);
    ASSERT_STR_EQ(y.out.code, "rg_source_unknown");

    /* "" means no override */
    ofx_init(&y);
    y.req.rg_override = "";
    ASSERT_EQ(map(&x, &y), XW_MAP_MAPPED);
    ASSERT_STR_EQ(y.out.rgroup_by, "mapping");

    /* no group: the override does not apply */
    y.o.rgroup[0] = '\0';
    y.req.rg_override = "rg_prod";
    ASSERT_EQ(map(&x, &y), XW_MAP_MAPPED);
    ASSERT_STR_EQ(y.out.rgroup, "");
    xw_rules_mapped_release(&y.out);
    xw_rules_mapped_release(&y.out);
    fx_release(&x);
}

static void test_map_datasources_and_deps(void)
{
    struct fx x = { 0 };
    struct ofx y = { 0 };

    fx_init(&x);
    ofx_init(&y);
    x.env.n_datasources = 1; /* pg_dev row gone */
    ASSERT_EQ(map(&x, &y), XW_MAP_FAILED);
    ASSERT_STR_EQ(y.out.code, "ds_unmapped");
    ASSERT_FINDING(&x.f, "ds_unmapped", "object.data_sources[1]",
                   XW_SEV_ERROR);

    fx_init(&x);
    ofx_init(&y);
    x.dst.n_datasources = 1; /* only pg_prod left: mysql_prod gone */
    x.dds[0] = (struct xw_datasource){ "pg_prod", "postgresql" };
    ASSERT_EQ(map(&x, &y), XW_MAP_FAILED);
    ASSERT_STR_EQ(y.out.code, "ds_target_unknown");
    ASSERT_FINDING(&x.f, "ds_target_unknown", "object.data_sources[0]",
                   XW_SEV_ERROR);

    fx_init(&x);
    ofx_init(&y);
    x.env.n_deps = 1; /* upstream_b row gone */
    ASSERT_EQ(map(&x, &y), XW_MAP_FAILED);
    ASSERT_STR_EQ(y.out.code, "dependency_unmapped");
    ASSERT_FINDING(&x.f, "dependency_unmapped",
                   "object.dependencies[1].project", XW_SEV_ERROR);
    ASSERT(strstr(y.out.reason, "upstream_b") != NULL);

    fx_init(&x);
    ofx_init(&y);
    x.dst.n_projects = 0;
    ASSERT_EQ(map(&x, &y), XW_MAP_FAILED);
    ASSERT_STR_EQ(y.out.code, "dependency_target_unknown");

    fx_init(&x);
    ofx_init(&y);
    y.deps[1].project[0] = '\0';
    ASSERT_EQ(map(&x, &y), XW_MAP_FAILED);
    ASSERT_FINDING(&x.f, "object_invalid", "object.dependencies[1].project",
                   XW_SEV_ERROR);
    xw_rules_mapped_release(&y.out);
    fx_release(&x);
}

static void test_map_reports_all_reasons(void)
{
    struct fx x = { 0 };
    struct ofx y = { 0 };
    fx_init(&x);
    ofx_init(&y);
    x.env.n_compute = 2;
    strcpy(y.o.compute, "emr_dev");     /* compute_unmapped */
    x.env.n_datasources = 1;            /* ds_unmapped (pg_dev) */
    x.env.n_deps = 1;                   /* dependency_unmapped */
    y.req.rg_override = "rg_elsewhere"; /* rg_override_unknown */
    y.o.sched_hour = 25;                /* object_invalid */
    ASSERT_EQ(map(&x, &y), XW_MAP_FAILED);
    ASSERT_EQ(x.f.n_errors, 5);
    ASSERT_STR_EQ(y.out.code, "compute_unmapped"); /* the first */
    ASSERT_FINDING(&x.f, "ds_unmapped", NULL, XW_SEV_ERROR);
    ASSERT_FINDING(&x.f, "dependency_unmapped", NULL, XW_SEV_ERROR);
    ASSERT_FINDING(&x.f, "rg_override_unknown", NULL, XW_SEV_ERROR);
    ASSERT_FINDING(&x.f, "object_invalid", "object.scheduled_time",
                   XW_SEV_ERROR);
    ASSERT(y.out.deps == NULL && y.out.params == NULL);

    /* findings are optional */
    xw_rules_mapped_release(&y.out);
    ASSERT_EQ(xw_rules_map_object(&x.env, &x.src, &x.dst, &y.o, &y.req,
                                  &y.out, NULL), XW_MAP_FAILED);
    ASSERT_STR_EQ(y.out.code, "compute_unmapped");
    ASSERT_EQ(xw_rules_map_object(&x.env, &x.src, &x.dst, NULL, &y.req,
                                  &y.out, NULL), XW_MAP_FAILED);
    ASSERT_STR_EQ(y.out.code, "invalid_argument");
    xw_rules_mapped_release(&y.out);
    fx_release(&x);
}

static void test_map_object_checks(void)
{
    struct fx x = { 0 };
    struct ofx y = { 0 };
    fx_init(&x);
    ofx_init(&y);
    y.o.kind = (enum xw_obj_kind)0;
    ASSERT_EQ(map(&x, &y), XW_MAP_FAILED);
    ASSERT_FINDING(&x.f, "object_invalid", "object.kind", XW_SEV_ERROR);
    ofx_init(&y);
    y.o.gen_mode = (enum xw_gen_mode)5;
    ASSERT_EQ(map(&x, &y), XW_MAP_FAILED);
    ASSERT_FINDING(&x.f, "object_invalid", "object.generation_mode",
                   XW_SEV_ERROR);
    ofx_init(&y);
    memset(y.params[2].value, 'v', sizeof y.params[2].value);
    ASSERT_EQ(map(&x, &y), XW_MAP_FAILED);
    ASSERT_FINDING(&x.f, "field_too_long", "object.parameters[2].value",
                   XW_SEV_ERROR);
    ofx_init(&y);
    char big[XW_ID_MAX + 2];
    memset(big, 'u', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    y.req.executor = big;
    ASSERT_EQ(map(&x, &y), XW_MAP_FAILED);
    ASSERT_FINDING(&x.f, "field_too_long", "package.executor", XW_SEV_ERROR);
    /* every kind maps the same way */
    for (int k = XW_OBJ_NODE; k <= XW_OBJ_COMPONENT; k++) {
        ofx_init(&y);
        y.o.kind = (enum xw_obj_kind)k;
        ASSERT_EQ(map(&x, &y), XW_MAP_MAPPED);
        ASSERT_EQ(y.out.kind, k);
        ASSERT_STR_EQ(y.out.compute, "mc_prod");
    }
    xw_rules_mapped_release(&y.out);
    xw_rules_mapped_release(&y.out);
    fx_release(&x);
}

static void test_map_owner_policies(void)
{
    struct fx x = { 0 };
    struct ofx y = { 0 };
    fx_init(&x);
    ofx_init(&y);

    /* default, owner is a member of the destination */
    ASSERT_EQ(map(&x, &y), XW_MAP_MAPPED);
    ASSERT_STR_EQ(y.out.owner, "carol");
    ASSERT_STR_EQ(y.out.owner_by, "source_owner");
    /* default, owner not a member -> the executor */
    strcpy(y.o.owner, "bob");
    ASSERT_EQ(map(&x, &y), XW_MAP_MAPPED);
    ASSERT_STR_EQ(y.out.owner, "frank");
    ASSERT_STR_EQ(y.out.owner_by, "executor_fallback");
    /* default, no owner recorded -> the executor */
    y.o.owner[0] = '\0';
    ASSERT_EQ(map(&x, &y), XW_MAP_MAPPED);
    ASSERT_STR_EQ(y.out.owner, "frank");
    /* default, non-member and no executor -> failed */
    strcpy(y.o.owner, "bob");
    y.req.executor = NULL;
    ASSERT_EQ(map(&x, &y), XW_MAP_FAILED);
    ASSERT_STR_EQ(y.out.code, "owner_missing");

    /* package_creator: member or not, the creator */
    ofx_init(&y);
    x.env.owner_policy = XW_OWNER_PACKAGE_CREATOR;
    ASSERT_EQ(map(&x, &y), XW_MAP_MAPPED);
    ASSERT_STR_EQ(y.out.owner, "bob");
    ASSERT_STR_EQ(y.out.owner_by, "package_creator");
    strcpy(y.o.owner, "erin");
    ASSERT_EQ(map(&x, &y), XW_MAP_MAPPED);
    ASSERT_STR_EQ(y.out.owner, "bob");
    y.req.creator = "";
    ASSERT_EQ(map(&x, &y), XW_MAP_FAILED);
    ASSERT_STR_EQ(y.out.code, "owner_missing");

    /* package_executor: member or not, the executor */
    ofx_init(&y);
    x.env.owner_policy = XW_OWNER_PACKAGE_EXECUTOR;
    ASSERT_EQ(map(&x, &y), XW_MAP_MAPPED);
    ASSERT_STR_EQ(y.out.owner, "frank");
    ASSERT_STR_EQ(y.out.owner_by, "package_executor");
    strcpy(y.o.owner, "erin");
    ASSERT_EQ(map(&x, &y), XW_MAP_MAPPED);
    ASSERT_STR_EQ(y.out.owner, "frank");
    xw_rules_mapped_release(&y.out);
    xw_rules_mapped_release(&y.out);
    fx_release(&x);
}

static void test_roles_of(void)
{
    struct fx x = { 0 };
    struct xw_member extra[2] = { { "zed", XW_ROLE_OM },
                                  { "zed", XW_ROLE_DEPLOY } };
    unsigned r;
    fx_init(&x);
    ASSERT_EQ(xw_rules_roles_of(&x.src, "alice"), XW_ROLE_ADMIN);
    ASSERT_EQ(xw_rules_roles_of(&x.dst, "bob"), 0);
    ASSERT_EQ(xw_rules_roles_of(&x.dst, ""), 0);
    ASSERT_EQ(xw_rules_roles_of(&x.dst, NULL), 0);
    x.src.members = extra;
    x.src.n_members = 2;
    ASSERT_EQ(xw_rules_roles_of(&x.src, "zed"), XW_ROLE_OM | XW_ROLE_DEPLOY);
    ASSERT_EQ(xw_rules_role_parse("om", &r), 0);
    ASSERT_EQ(r, XW_ROLE_OM);
    ASSERT_EQ(xw_rules_role_parse("root", &r), -1);
    ASSERT_STR_EQ(xw_rules_role_name(XW_ROLE_DEVELOPMENT), "development");
    ASSERT_STR_EQ(xw_rules_role_title(XW_ROLE_ADMIN),
                  "Workspace Administrator");
    fx_release(&x);
}

/* ================================================================ */
/* Rule 7: package status and replay                                */

#define P XW_OBJ_PENDING
#define OK XW_OBJ_DEPLOYED
#define F XW_OBJ_FAILED
#define EX XW_OBJ_EXCLUDED

static const struct {
    enum xw_obj_state s[4];
    size_t n;
    enum xw_pkg_status want;
    size_t pending, deployed, failed, excluded;
} status_rows[] = {
    { { P, P, P }, 3, XW_PKG_PENDING, 3, 0, 0, 0 },
    { { P, OK, P }, 3, XW_PKG_DEPLOYING, 2, 1, 0, 0 },
    { { P, F, OK }, 3, XW_PKG_DEPLOYING, 1, 1, 1, 0 },
    { { EX, P }, 2, XW_PKG_DEPLOYING, 1, 0, 0, 1 },
    { { OK, OK, OK }, 3, XW_PKG_SUCCEEDED, 0, 3, 0, 0 },
    { { OK, EX, OK }, 3, XW_PKG_SUCCEEDED, 0, 2, 0, 1 },
    { { EX, EX }, 2, XW_PKG_SUCCEEDED, 0, 0, 0, 2 },
    { { OK, F, OK, EX }, 4, XW_PKG_FAILED, 0, 2, 1, 1 },
    { { F, F }, 2, XW_PKG_FAILED, 0, 0, 2, 0 },
    { { 0 }, 0, XW_PKG_SUCCEEDED, 0, 0, 0, 0 },
};

static void test_package_status(void)
{
    for (size_t i = 0; i < sizeof status_rows / sizeof status_rows[0]; i++) {
        struct xw_pkg_summary s;
        ASSERT_EQ(xw_rules_package_status(status_rows[i].s, status_rows[i].n,
                                          &s, NULL), 0);
        if (s.status != status_rows[i].want)
            XW_FAIL_("row %zu: status %s, expected %s", i,
                     xw_rules_pkg_status_name(s.status),
                     xw_rules_pkg_status_name(status_rows[i].want));
        ASSERT_EQ(s.total, status_rows[i].n);
        ASSERT_EQ(s.pending, status_rows[i].pending);
        ASSERT_EQ(s.deployed, status_rows[i].deployed);
        ASSERT_EQ(s.failed, status_rows[i].failed);
        ASSERT_EQ(s.excluded, status_rows[i].excluded);
    }
}

static void test_package_status_invalid(void)
{
    struct xw_findings f = XW_FINDINGS_INIT;
    enum xw_obj_state s[3] = { OK, (enum xw_obj_state)9, OK };
    struct xw_pkg_summary sum;
    ASSERT_EQ(xw_rules_package_status(s, 3, &sum, &f), -1);
    ASSERT_FINDING(&f, "object_state_invalid", "objects[1]", XW_SEV_ERROR);
    ASSERT_EQ(sum.total, 0);
    ASSERT_STR_EQ(xw_rules_obj_state_name(XW_OBJ_EXCLUDED), "excluded");
    ASSERT_STR_EQ(xw_rules_pkg_status_name(XW_PKG_DEPLOYING), "deploying");
    xw_findings_release(&f);
}

static void test_replay_selection(void)
{
    struct xw_findings f = XW_FINDINGS_INIT;
    enum xw_obj_state s[6] = { OK, F, EX, F, OK, F };
    size_t idx[6], n = 99;
    struct xw_pkg_summary sum;

    ASSERT_EQ(xw_rules_replay_select(s, 6, idx, 6, &n, &f), 0);
    ASSERT_EQ(n, 3);
    ASSERT_EQ(idx[0], 1);
    ASSERT_EQ(idx[1], 3);
    ASSERT_EQ(idx[2], 5);

    /* too little room: says how much is needed */
    ASSERT_EQ(xw_rules_replay_select(s, 6, idx, 2, &n, &f), -1);
    ASSERT_FINDING(&f, "replay_capacity", NULL, XW_SEV_ERROR);
    ASSERT_EQ(n, 3);

    /* after the replay the failed ones deployed: succeeded, no replay */
    s[1] = s[3] = s[5] = OK;
    ASSERT_EQ(xw_rules_package_status(s, 6, &sum, NULL), 0);
    ASSERT_EQ(sum.status, XW_PKG_SUCCEEDED);
    xw_findings_reset(&f);
    ASSERT_EQ(xw_rules_replay_select(s, 6, idx, 6, &n, &f), -1);
    ASSERT_FINDING(&f, "replay_not_failed", "status", XW_SEV_ERROR);
    ASSERT(strstr(f.items[0].message, "succeeded") != NULL);
    ASSERT_EQ(n, 0);

    /* still deploying: wait for the end */
    s[0] = P;
    s[1] = F;
    xw_findings_reset(&f);
    ASSERT_EQ(xw_rules_replay_select(s, 6, idx, 6, &n, &f), -1);
    ASSERT_FINDING(&f, "replay_not_failed", NULL, XW_SEV_ERROR);
    ASSERT(strstr(f.items[0].message, "deploying") != NULL);
    xw_findings_release(&f);
}

int main(void)
{
    XW_RUN(test_combination_table);
    XW_RUN(test_combination_messages);
    XW_RUN(test_scope_account_region);
    XW_RUN(test_env_fixture_is_valid);
    XW_RUN(test_env_name);
    XW_RUN(test_env_type_policy_source);
    XW_RUN(test_env_destination);
    XW_RUN(test_env_compute);
    XW_RUN(test_env_resource_groups);
    XW_RUN(test_env_datasources);
    XW_RUN(test_env_dependencies);
    XW_RUN(test_env_parameters);
    XW_RUN(test_env_reports_all_findings);
    XW_RUN(test_findings_list);
    XW_RUN(test_map_happy_path);
    XW_RUN(test_map_compute);
    XW_RUN(test_map_resource_group);
    XW_RUN(test_map_rg_override);
    XW_RUN(test_map_datasources_and_deps);
    XW_RUN(test_map_reports_all_reasons);
    XW_RUN(test_map_object_checks);
    XW_RUN(test_map_owner_policies);
    XW_RUN(test_roles_of);
    XW_RUN(test_package_status);
    XW_RUN(test_package_status_invalid);
    XW_RUN(test_replay_selection);
    return XW_REPORT();
}
