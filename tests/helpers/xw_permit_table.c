/*
 * Prints the rule module's permission decisions as JSON lines, one per
 * (operation, role in the source, role in the destination) cell:
 *   {"op":"package_deploy","source":"om","destination":"none","allow":true}
 * The API authorization test compares the live service with this table,
 * so the service is checked against the one table in code.
 */
#include <stdio.h>

#include "xw_rules.h"

int main(void)
{
    static const char *const names[] = { "none", "admin", "development",
                                         "om", "deploy", "visitor" };
    static const unsigned bits[] = { 0, XW_ROLE_ADMIN, XW_ROLE_DEVELOPMENT,
                                     XW_ROLE_OM, XW_ROLE_DEPLOY,
                                     XW_ROLE_VISITOR };

    for (int op = 0; op < XW_OP_COUNT; op++)
        for (int s = 0; s < 6; s++)
            for (int d = 0; d < 6; d++)
                printf("{\"op\":\"%s\",\"source\":\"%s\",\"destination\":"
                       "\"%s\",\"allow\":%s}\n",
                       xw_rules_op_name((enum xw_op)op), names[s], names[d],
                       xw_rules_permit((enum xw_op)op, bits[s], bits[d], NULL)
                               == 0 ? "true" : "false");
    return 0;
}
