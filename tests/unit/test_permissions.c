/*
 * test_permissions.c - rule 2: who may do what, in which workspace.
 *
 * Every cell (operation x role held in the source x role held in the
 * destination) is its own test case. The expectation is written out by
 * hand below, one 6x6 grid per operation, independent of the table in
 * xw_rules.c: rows are the role in the SOURCE, columns the role in the
 * DESTINATION, both in the order
 *
 *     admin  development  om  deploy  visitor  none(not a member)
 *
 * 'Y' = allowed, '.' = denied. The last column is "not a member of the
 * destination", the last row "not a member of the source".
 */
#include "xw_rules.h"
#include "xw_test.h"

static const unsigned role_of[6] = {
    XW_ROLE_ADMIN, XW_ROLE_DEVELOPMENT, XW_ROLE_OM, XW_ROLE_DEPLOY,
    XW_ROLE_VISITOR, 0
};
static const char *const role_label[6] = {
    "admin", "development", "om", "deploy", "visitor", "none"
};

static const struct {
    enum xw_op op;
    const char *grid[6];
} expect[] = {
    /* "Create a deployment environment: Workspace Administrator" */
    { XW_OP_ENV_CREATE, { "YYYYYY",
                          "......",
                          "......",
                          "......",
                          "......",
                          "......" } },
    { XW_OP_ENV_EDIT, { "YYYYYY",
                        "......",
                        "......",
                        "......",
                        "......",
                        "......" } },
    { XW_OP_ENV_DELETE, { "YYYYYY",
                          "......",
                          "......",
                          "......",
                          "......",
                          "......" } },
    /* any member of the source (decision) */
    { XW_OP_ENV_VIEW, { "YYYYYY",
                        "YYYYYY",
                        "YYYYYY",
                        "YYYYYY",
                        "YYYYYY",
                        "......" } },
    /* "O&M, Deploy, or Workspace Administrator" of the source */
    { XW_OP_SOURCE_DEPLOY, { "YYYYYY",
                             "......",
                             "YYYYYY",
                             "YYYYYY",
                             "......",
                             "......" } },
    { XW_OP_SOURCE_TERMINATE, { "YYYYYY",
                                "......",
                                "YYYYYY",
                                "YYYYYY",
                                "......",
                                "......" } },
    /* Development; an admin may too (decision) */
    { XW_OP_BASKET_EDIT, { "YYYYYY",
                           "YYYYYY",
                           "......",
                           "......",
                           "......",
                           "......" } },
    { XW_OP_PACKAGE_CREATE, { "YYYYYY",
                              "YYYYYY",
                              "......",
                              "......",
                              "......",
                              "......" } },
    /* source admin, and deploy roles in the destination (decision) */
    { XW_OP_DEPLOY_ALL, { "Y.YY..",
                          "......",
                          "......",
                          "......",
                          "......",
                          "......" } },
    /* "O&M, Deploy, or Workspace Administrator (in both source and
     *  destination workspaces)" */
    { XW_OP_PACKAGE_DEPLOY, { "Y.YY..",
                              "......",
                              "Y.YY..",
                              "Y.YY..",
                              "......",
                              "......" } },
    { XW_OP_RG_OVERRIDE, { "Y.YY..",
                           "......",
                           "Y.YY..",
                           "Y.YY..",
                           "......",
                           "......" } },
    { XW_OP_REPLAY, { "Y.YY..",
                      "......",
                      "Y.YY..",
                      "Y.YY..",
                      "......",
                      "......" } },
    /* "any member of either workspace" */
    { XW_OP_RESULT_VIEW, { "YYYYYY",
                           "YYYYYY",
                           "YYYYYY",
                           "YYYYYY",
                           "YYYYYY",
                           "YYYYY." } },
};

/* The cell under test (XW_RUN takes a function without arguments). */
static size_t cur_op, cur_s, cur_d;

static void test_cell(void)
{
    struct xw_findings why = XW_FINDINGS_INIT;
    enum xw_op op = expect[cur_op].op;
    int want = expect[cur_op].grid[cur_s][cur_d] == 'Y';
    int got = xw_rules_permit(op, role_of[cur_s], role_of[cur_d], &why) == 0;
    size_t nwhy = why.count;
    const char *code = nwhy ? why.items[0].code : "";
    char code_copy[64];

    snprintf(code_copy, sizeof code_copy, "%s", code);
    xw_findings_release(&why);
    if (got != want)
        XW_FAIL_("%s: source %s, destination %s: %s, expected %s",
                 xw_rules_op_name(op), role_label[cur_s], role_label[cur_d],
                 got ? "allowed" : "denied", want ? "allowed" : "denied");
    /* allowed: no finding; denied: at least one, naming the side */
    if (got && nwhy != 0)
        XW_FAIL_("%s: allowed but %zu findings", xw_rules_op_name(op), nwhy);
    if (!got && nwhy == 0)
        XW_FAIL_("%s: denied without a reason", xw_rules_op_name(op));
    if (!got && strncmp(code_copy, "permission_", 11) != 0)
        XW_FAIL_("%s: denied with code %s", xw_rules_op_name(op), code_copy);
}

static void test_grid_covers_every_operation(void)
{
    ASSERT_EQ(sizeof expect / sizeof expect[0], XW_OP_COUNT);
    for (int op = 0; op < XW_OP_COUNT; op++) {
        int seen = 0;
        for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
            seen += expect[i].op == (enum xw_op)op;
        if (seen != 1)
            XW_FAIL_("operation %d has %d grids", op, seen);
    }
}

/* Roles add up: any listed role among several is enough. */
static void test_multiple_roles(void)
{
    ASSERT_EQ(xw_rules_permit(XW_OP_PACKAGE_DEPLOY,
                              XW_ROLE_DEVELOPMENT | XW_ROLE_OM,
                              XW_ROLE_VISITOR | XW_ROLE_DEPLOY, NULL), 0);
    ASSERT_EQ(xw_rules_permit(XW_OP_PACKAGE_DEPLOY,
                              XW_ROLE_DEVELOPMENT | XW_ROLE_VISITOR,
                              XW_ROLE_ADMIN, NULL), -1);
    ASSERT_EQ(xw_rules_permit(XW_OP_PACKAGE_CREATE,
                              XW_ROLE_VISITOR | XW_ROLE_DEVELOPMENT, 0, NULL),
              0);
    ASSERT_EQ(xw_rules_permit(XW_OP_DEPLOY_ALL,
                              XW_ROLE_DEVELOPMENT | XW_ROLE_OM,
                              XW_ROLE_ADMIN, NULL), -1);
    /* bits outside the five roles grant nothing */
    ASSERT_EQ(xw_rules_permit(XW_OP_ENV_CREATE, 0x100u, 0, NULL), -1);
    ASSERT_EQ(xw_rules_permit(XW_OP_RESULT_VIEW, 0x100u, 0x200u, NULL), -1);
}

static void test_deny_reasons(void)
{
    struct xw_findings f = XW_FINDINGS_INIT;
    const struct xw_finding *fd;

    /* destination side missing only */
    ASSERT_EQ(xw_rules_permit(XW_OP_PACKAGE_DEPLOY, XW_ROLE_OM,
                              XW_ROLE_VISITOR, &f), -1);
    ASSERT_EQ(f.count, 1);
    fd = xw_findings_find(&f, "permission_destination_role",
                          "roles.destination");
    ASSERT(fd != NULL);
    ASSERT(strstr(fd->message, "deploying a package requires the O&M, "
                               "Deploy or Workspace Administrator role in "
                               "the destination workspace") != NULL);
    ASSERT(strstr(fd->message, "you have: Visitor") != NULL);

    /* both sides missing: two findings */
    xw_findings_reset(&f);
    ASSERT_EQ(xw_rules_permit(XW_OP_REPLAY, XW_ROLE_DEVELOPMENT, 0, &f), -1);
    ASSERT_EQ(f.count, 2);
    ASSERT(xw_findings_find(&f, "permission_source_role", "roles.source"));
    ASSERT(xw_findings_find(&f, "permission_destination_role",
                            "roles.destination"));
    ASSERT(strstr(f.items[1].message, "you have: none") != NULL);

    /* source-only rows never blame the destination */
    xw_findings_reset(&f);
    ASSERT_EQ(xw_rules_permit(XW_OP_ENV_CREATE, XW_ROLE_OM | XW_ROLE_DEPLOY,
                              XW_ROLE_ADMIN, &f), -1);
    ASSERT_EQ(f.count, 1);
    fd = xw_findings_find(&f, "permission_source_role", "roles.source");
    ASSERT(fd != NULL);
    ASSERT(strstr(fd->message, "Workspace Administrator role in the source")
           != NULL);
    ASSERT(strstr(fd->message, "you have: O&M and Deploy") != NULL);

    /* membership rows */
    xw_findings_reset(&f);
    ASSERT_EQ(xw_rules_permit(XW_OP_ENV_VIEW, 0, XW_ROLE_ADMIN, &f), -1);
    ASSERT(xw_findings_find(&f, "permission_source_role", "roles.source"));
    ASSERT(strstr(f.items[0].message, "membership in the source") != NULL);
    xw_findings_reset(&f);
    ASSERT_EQ(xw_rules_permit(XW_OP_RESULT_VIEW, 0, 0, &f), -1);
    ASSERT(xw_findings_find(&f, "permission_not_member", "roles"));

    /* unknown operation */
    xw_findings_reset(&f);
    ASSERT_EQ(xw_rules_permit((enum xw_op)XW_OP_COUNT, XW_ROLE_ALL,
                              XW_ROLE_ALL, &f), -1);
    ASSERT(xw_findings_find(&f, "permission_unknown_operation", NULL));
    ASSERT_EQ(xw_rules_permit((enum xw_op)-1, XW_ROLE_ALL, XW_ROLE_ALL, NULL),
              -1);
    xw_findings_release(&f);
}

static void test_table_and_names(void)
{
    enum xw_op op;
    for (int i = 0; i < XW_OP_COUNT; i++) {
        const struct xw_permission *p = xw_rules_permission((enum xw_op)i);
        ASSERT(p != NULL);
        ASSERT_EQ(p->op, i);
        ASSERT(p->name[0] != '\0');
        ASSERT(p->action[0] != '\0');
        ASSERT_EQ(xw_rules_op_parse(p->name, &op), 0);
        ASSERT_EQ(op, i);
    }
    ASSERT(xw_rules_permission(XW_OP_COUNT) == NULL);
    ASSERT_EQ(xw_rules_op_parse("sudo", &op), -1);
    ASSERT_STR_EQ(xw_rules_op_name(XW_OP_PACKAGE_DEPLOY), "package_deploy");
    ASSERT_STR_EQ(xw_rules_op_name(XW_OP_COUNT), "");
}

int main(void)
{
    XW_RUN(test_grid_covers_every_operation);
    for (cur_op = 0; cur_op < sizeof expect / sizeof expect[0]; cur_op++)
        for (cur_s = 0; cur_s < 6; cur_s++)
            for (cur_d = 0; cur_d < 6; cur_d++)
                XW_RUN(test_cell);
    XW_RUN(test_multiple_roles);
    XW_RUN(test_deny_reasons);
    XW_RUN(test_table_and_names);
    return XW_REPORT();
}
