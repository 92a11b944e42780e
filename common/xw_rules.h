/*
 * xw_rules - the cross-workspace deployment rules as pure functions.
 *
 * This header is the rule book. Each rule quotes the sentence of the seed
 * document (seed/cross-workspace-deployment.txt, "the document") or of
 * DESIGN.md it implements; docs/rules.md lists every rule with its finding
 * codes, the decisions taken where the document is silent, and the unit
 * test that proves it. Services call these functions; no rule is to be
 * re-implemented elsewhere.
 *
 * Purity: no I/O, no clock, no globals except immutable tables. The only
 * allocation is in the findings list and in a mapped object's arrays, both
 * with an explicit release function.
 *
 * Inputs are plain structs. Strings are fixed char arrays that must be
 * NUL-terminated inside their array (a string that fills its whole array is
 * refused with `field_too_long`); the caps:
 *   XW_ID_MAX     64   user ids, workspace ids, object ids
 *   XW_NAME_MAX  128   names: environment, compute resource, resource
 *                      group, data source, project, node, parameter, task
 *   XW_TYPE_MAX   64   resource types, environment type
 *   XW_PARAM_VALUE_MAX 1024  parameter values (xw_param.h)
 * Arrays are pointer + count, borrowed from the caller for the duration of
 * the call (never kept, never freed here); a NULL pointer with count 0 is
 * an empty array.
 *
 * Outputs: a status, plus findings. A finding has a stable machine-readable
 * code (the XW_R_* strings below), a severity (error or warning), the
 * field it concerns as a JSON-pointer-like path ("compute_mappings[2].target")
 * and a sentence a user understands ("resource group 'rg_default' is the
 * default group and cannot be ignored"). Validation reports ALL findings,
 * not only the first.
 *
 * The JSON names used in paths are the canonical field names of the HTTP
 * and event payloads: name, type, source_workspace, destination_workspace,
 * owner_policy, compute_mappings, resource_group_mappings,
 * dependency_mappings, data_source_mappings, parameter_mappings (each
 * mapping: source, target, ignore; parameter mapping: task, name, value),
 * and for objects: object.kind, object.compute_resource, object.resource_group,
 * object.data_sources[i], object.dependencies[i].project,
 * object.parameters[i], object.owner, resource_group_override.
 */
#ifndef XW_RULES_H
#define XW_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xw_param.h"
#include "xw_timing.h"

#define XW_ID_MAX 64
#define XW_NAME_MAX 128
#define XW_TYPE_MAX 64
#define XW_FINDING_PATH_MAX 128
#define XW_FINDING_MSG_MAX 384
#define XW_FINDINGS_MAX 4096  /* findings kept per list; more are counted */

/* ================================================================== */
/* Findings                                                            */

enum xw_severity { XW_SEV_ERROR = 0, XW_SEV_WARNING = 1 };

struct xw_finding {
    const char *code;   /* XW_R_* or XW_PARAM_* code, static storage */
    enum xw_severity severity;
    char path[XW_FINDING_PATH_MAX];
    char message[XW_FINDING_MSG_MAX];
};

/* A growable list. Initialise with XW_FINDINGS_INIT (or
 * xw_findings_init), release with xw_findings_release(). It owns `items`.
 * n_errors / n_warnings count every finding added, including those that
 * could not be stored (memory exhausted or XW_FINDINGS_MAX reached; those
 * are counted in `dropped`), so "has errors" is never lost. */
struct xw_findings {
    struct xw_finding *items;
    size_t count;
    size_t alloc;
    size_t n_errors;
    size_t n_warnings;
    size_t dropped;
};
#define XW_FINDINGS_INIT { NULL, 0, 0, 0, 0, 0 }

void xw_findings_init(struct xw_findings *f);
void xw_findings_release(struct xw_findings *f);
/* Forget all findings, keep the memory. */
void xw_findings_reset(struct xw_findings *f);
/* Append one finding (message printf-style). Returns 0, or -1 when it was
 * counted but not stored. `f` may be NULL (then nothing happens). */
int xw_findings_add(struct xw_findings *f, const char *code,
                    enum xw_severity sev, const char *path, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));
/* First finding with `code` (and `path`, when not NULL), or NULL. The
 * pointer is borrowed: valid until the list is changed. */
const struct xw_finding *xw_findings_find(const struct xw_findings *f,
                                          const char *code, const char *path);
size_t xw_findings_count_code(const struct xw_findings *f, const char *code);

/* ================================================================== */
/* Finding codes                                                       */

/* Input shape */
#define XW_R_FIELD_TOO_LONG "field_too_long"      /* string fills its array */
#define XW_R_INVALID_ARGUMENT "invalid_argument"  /* NULL where required */
#define XW_R_OUT_OF_MEMORY "out_of_memory"

/* Rule 1: combinations and scope */
#define XW_R_SOURCE_NOT_BASIC "source_not_basic"
#define XW_R_DESTINATION_MODE_INVALID "destination_mode_invalid"
#define XW_R_STUDIO_VERSION_INVALID "studio_version_invalid"
#define XW_R_STUDIO_VERSION_MISMATCH "studio_version_mismatch"
#define XW_R_CROSS_ACCOUNT "cross_account"
#define XW_R_CROSS_REGION "cross_region"
#define XW_R_SAME_WORKSPACE "same_workspace"

/* Rule 2: permissions */
#define XW_R_PERMISSION_SOURCE_ROLE "permission_source_role"
#define XW_R_PERMISSION_DESTINATION_ROLE "permission_destination_role"
#define XW_R_PERMISSION_NOT_MEMBER "permission_not_member"
#define XW_R_PERMISSION_UNKNOWN_OP "permission_unknown_operation"

/* Rule 3: environment validation */
#define XW_R_ENV_NAME_MISSING "env_name_missing"
#define XW_R_ENV_NAME_DUPLICATE "env_name_duplicate"
#define XW_R_ENV_TYPE_UNSUPPORTED "env_type_unsupported"
#define XW_R_ENV_OWNER_POLICY_INVALID "env_owner_policy_invalid"
#define XW_R_ENV_SOURCE_MISMATCH "env_source_mismatch"
#define XW_R_DESTINATION_MISSING "destination_missing"
#define XW_R_COMPUTE_NONE_MAPPED "compute_none_mapped"
/* Per mapping kind K in compute, rg, ds, dependency:
 *   K_source_missing   K_source_unknown   K_duplicate
 *   K_target_missing   K_target_unknown   K_type_mismatch (not dependency)
 *   K_unmapped  (warning in validation, error when mapping an object) */
#define XW_R_COMPUTE_SOURCE_MISSING "compute_source_missing"
#define XW_R_COMPUTE_SOURCE_UNKNOWN "compute_source_unknown"
#define XW_R_COMPUTE_DUPLICATE "compute_duplicate"
#define XW_R_COMPUTE_TARGET_MISSING "compute_target_missing"
#define XW_R_COMPUTE_TARGET_UNKNOWN "compute_target_unknown"
#define XW_R_COMPUTE_TYPE_MISMATCH "compute_type_mismatch"
#define XW_R_COMPUTE_UNMAPPED "compute_unmapped"
#define XW_R_RG_SOURCE_MISSING "rg_source_missing"
#define XW_R_RG_SOURCE_UNKNOWN "rg_source_unknown"
#define XW_R_RG_DUPLICATE "rg_duplicate"
#define XW_R_RG_TARGET_MISSING "rg_target_missing"
#define XW_R_RG_TARGET_UNKNOWN "rg_target_unknown"
#define XW_R_RG_TYPE_MISMATCH "rg_type_mismatch"
#define XW_R_RG_UNMAPPED "rg_unmapped"
#define XW_R_RG_IGNORE_DEFAULT "rg_ignore_default"
#define XW_R_RG_IGNORE_SHARED "rg_ignore_shared"
#define XW_R_RG_DATA_INTEGRATION "rg_data_integration"  /* warning */
#define XW_R_DS_SOURCE_MISSING "ds_source_missing"
#define XW_R_DS_SOURCE_UNKNOWN "ds_source_unknown"
#define XW_R_DS_DUPLICATE "ds_duplicate"
#define XW_R_DS_TARGET_MISSING "ds_target_missing"
#define XW_R_DS_TARGET_UNKNOWN "ds_target_unknown"
#define XW_R_DS_TYPE_MISMATCH "ds_type_mismatch"
#define XW_R_DS_UNMAPPED "ds_unmapped"
#define XW_R_DEPENDENCY_SOURCE_MISSING "dependency_source_missing"
#define XW_R_DEPENDENCY_SOURCE_UNKNOWN "dependency_source_unknown"
#define XW_R_DEPENDENCY_DUPLICATE "dependency_duplicate"
#define XW_R_DEPENDENCY_TARGET_MISSING "dependency_target_missing"
#define XW_R_DEPENDENCY_TARGET_UNKNOWN "dependency_target_unknown"
#define XW_R_DEPENDENCY_UNMAPPED "dependency_unmapped"
#define XW_R_PARAM_NAME_MISSING "param_name_missing"
#define XW_R_PARAM_DUPLICATE "param_duplicate"
/* An invalid parameter value carries the xw_param code (param_bad_token,
 * param_unknown_system, ... see xw_param.h) at parameter_mappings[i].value. */

/* Rule 5: mapping one object (besides the K_* codes above) */
#define XW_R_COMPUTE_IGNORED "compute_ignored"  /* the EXCLUDED reason */
#define XW_R_OBJECT_INVALID "object_invalid"
#define XW_R_RG_OVERRIDE_UNKNOWN "rg_override_unknown"
#define XW_R_RG_OVERRIDE_TYPE "rg_override_type"
#define XW_R_OWNER_MISSING "owner_missing"

/* Rule 7: package status and replay */
#define XW_R_STATE_INVALID "object_state_invalid"
#define XW_R_REPLAY_NOT_FAILED "replay_not_failed"
#define XW_R_REPLAY_CAPACITY "replay_capacity"

/* ================================================================== */
/* Domain types                                                        */

/* Roles are bits; a member holds one or more. 0 means "not a member". */
enum xw_role {
    XW_ROLE_ADMIN = 1u << 0,       /* Workspace Administrator */
    XW_ROLE_DEVELOPMENT = 1u << 1, /* Development */
    XW_ROLE_OM = 1u << 2,          /* O&M */
    XW_ROLE_DEPLOY = 1u << 3,      /* Deploy */
    XW_ROLE_VISITOR = 1u << 4      /* Visitor */
};
#define XW_ROLE_ALL 0x1fu
#define XW_ROLE_COUNT 5

enum xw_ws_mode { XW_MODE_UNSET = 0, XW_MODE_BASIC = 1, XW_MODE_STANDARD = 2 };
enum xw_studio { XW_STUDIO_UNSET = 0, XW_STUDIO_NEW = 1, XW_STUDIO_LEGACY = 2 };

struct xw_member {
    char user[XW_ID_MAX + 1];
    unsigned roles;               /* enum xw_role bits */
};

struct xw_compute {               /* a compute resource (engine instance) */
    char name[XW_NAME_MAX + 1];
    char type[XW_TYPE_MAX + 1];   /* e.g. "maxcompute", "hologres" */
};

/* Resource group type of Data Integration groups (gets the network
 * warning). */
#define XW_RG_TYPE_DATA_INTEGRATION "data_integration"

struct xw_rgroup {
    char name[XW_NAME_MAX + 1];
    char type[XW_TYPE_MAX + 1];   /* e.g. "scheduling", "data_integration" */
    bool is_default;
    bool is_shared;
};

struct xw_datasource {
    char name[XW_NAME_MAX + 1];
    char type[XW_TYPE_MAX + 1];   /* e.g. "mysql" */
};

/* Projects for cross-project dependencies. In the SOURCE these are "the
 * upstream projects for all cross-project dependencies in the source
 * workspace"; in the DESTINATION the projects a dependency may be mapped
 * to. */
struct xw_project {
    char name[XW_NAME_MAX + 1];
    char category[XW_TYPE_MAX + 1];
};

struct xw_workspace {
    char id[XW_ID_MAX + 1];       /* also its project name for dependencies */
    char account[XW_ID_MAX + 1];
    char region[XW_ID_MAX + 1];
    char tz[XW_TZ_NAME_MAX + 1];  /* IANA zone, e.g. "Asia/Shanghai" */
    enum xw_ws_mode mode;
    enum xw_studio studio;        /* DataStudio version */
    const struct xw_member *members;
    size_t n_members;
    const struct xw_compute *computes;
    size_t n_computes;
    const struct xw_rgroup *rgroups;
    size_t n_rgroups;
    const struct xw_datasource *datasources;
    size_t n_datasources;
    const struct xw_project *projects;
    size_t n_projects;
};

/* "Deployment object owner: Determines the node owner in the destination
 * workspace after deployment." */
enum xw_owner_policy {
    /* "Default: DataWorks assigns the source node owner. If that user is
     * not a member of the destination workspace, the deployment executor
     * is assigned instead." */
    XW_OWNER_DEFAULT = 0,
    /* "Deployment package creator: Assigns the user who created the
     * deployment package." */
    XW_OWNER_PACKAGE_CREATOR = 1,
    /* "Deployment package executor: Assigns the user who executed the
     * deployment." */
    XW_OWNER_PACKAGE_EXECUTOR = 2
};

/* One mapping row: compute resource, resource group, dependency project or
 * data source, source -> target, or ignore (then target is not read). */
struct xw_mapping {
    char source[XW_NAME_MAX + 1];
    char target[XW_NAME_MAX + 1];
    bool ignore;
};

/* A parameter value for the destination. `task` is the id of the object
 * (task) it applies to; "" applies to every object that has a parameter of
 * that name, and a task-specific row wins over a "" row. "Parameter names
 * must be unique within each deployment task." */
struct xw_param_mapping {
    char task[XW_ID_MAX + 1];
    char name[XW_NAME_MAX + 1];
    char value[XW_PARAM_VALUE_MAX + 1];
};

#define XW_ENV_TYPE_CROSS_WORKSPACE "cross_workspace"

struct xw_env {
    char name[XW_NAME_MAX + 1];
    char type[XW_TYPE_MAX + 1];           /* "cross_workspace" */
    char source_ws[XW_ID_MAX + 1];
    char dest_ws[XW_ID_MAX + 1];
    enum xw_owner_policy owner_policy;
    const struct xw_mapping *compute;     /* compute_mappings */
    size_t n_compute;
    const struct xw_mapping *rgroups;     /* resource_group_mappings */
    size_t n_rgroups;
    const struct xw_mapping *deps;        /* dependency_mappings */
    size_t n_deps;
    const struct xw_mapping *datasources; /* data_source_mappings */
    size_t n_datasources;
    const struct xw_param_mapping *params; /* parameter_mappings */
    size_t n_params;
};

enum xw_obj_kind {
    XW_OBJ_NODE = 1,
    XW_OBJ_FUNCTION = 2,
    XW_OBJ_RESOURCE = 3,
    XW_OBJ_COMPONENT = 4
};

struct xw_dep {                 /* an upstream dependency */
    char project[XW_NAME_MAX + 1];
    char node[XW_NAME_MAX + 1];
};

struct xw_obj_param {
    char name[XW_NAME_MAX + 1];
    char value[XW_PARAM_VALUE_MAX + 1];
};

struct xw_ref {                 /* a reference by name (data source) */
    char name[XW_NAME_MAX + 1];
};

/* An object version from the source's "nodes to deploy" list. */
struct xw_object {
    enum xw_obj_kind kind;
    char id[XW_ID_MAX + 1];
    char name[XW_NAME_MAX + 1];
    int64_t version;
    char compute[XW_NAME_MAX + 1];   /* required */
    char rgroup[XW_NAME_MAX + 1];    /* "" = none (e.g. a resource file) */
    const struct xw_ref *datasources;
    size_t n_datasources;
    const struct xw_dep *deps;
    size_t n_deps;
    const struct xw_obj_param *params;
    size_t n_params;
    char owner[XW_ID_MAX + 1];
    enum xw_gen_mode gen_mode;       /* next_day | immediate */
    int sched_hour;                  /* scheduled time, local HH:MM:SS */
    int sched_minute;
    int sched_second;
};

/* ================================================================== */
/* Names                                                               */

/* Display name of ONE role bit ("Workspace Administrator", "O&M", ...). */
const char *xw_rules_role_title(unsigned role);
/* Wire name of one role bit ("admin", "development", "om", "deploy",
 * "visitor"); "" for anything else. */
const char *xw_rules_role_name(unsigned role);
/* Parse a wire name into its bit; 0 on success, -1 unknown. */
int xw_rules_role_parse(const char *name, unsigned *role);
/* Roles of `user` in `ws` (OR of all member rows for the user); 0 when not
 * a member. */
unsigned xw_rules_roles_of(const struct xw_workspace *ws, const char *user);

/* ================================================================== */
/* Rule 1: combinations and scope                                      */
/*
 * "Cross-workspace deployment supports basic-mode source workspaces only.
 *  Standard-mode source workspaces are not supported."
 * The document's table: a basic source with DataStudio (new version) may
 * go to basic or standard destinations with the new version; a basic
 * source with the legacy version to basic or standard destinations with the
 * legacy ("old") version; every other row is "No". That is: destination
 * mode basic or standard, destination DataStudio version == source's.
 * "Cross-workspace deployment is limited to workspaces within the same
 *  Alibaba Cloud account and region. Cross-region deployment is not
 *  supported. For cross-region scenarios, use Deploy Center."
 * Decision: a workspace cannot be its own destination (same_workspace).
 *
 * Returns 0 when supported, -1 when refused; every reason is a finding
 * (paths source_workspace.mode, destination_workspace.mode,
 * .studio_version, .account, .region, destination_workspace).
 */
int xw_rules_check_combination(const struct xw_workspace *src,
                               const struct xw_workspace *dst,
                               struct xw_findings *f);

/* ================================================================== */
/* Rule 2: permissions                                                 */
/*
 * Document, "Permissions summary" and the steps:
 *   Create a deployment environment ........ Workspace Administrator
 *   Deploy tasks to the source production .. O&M, Deploy, or Workspace
 *                                            Administrator
 *   Create a deployment package ............ Development ("If you have the
 *     Workspace Administrator role, the system automatically generates a
 *     package after you select objects - click Deploy all")
 *   Deploy a package ....................... O&M, Deploy, or Workspace
 *     Administrator (in both source and destination workspaces)
 *   "During deployment, members with the O&M, Deploy, or Workspace
 *    Administrator role can edit the resource group"
 *   DESIGN.md step 5: view the result: "any member of either workspace"
 *
 * The one table (xw_rules_permission(op) exposes each row):
 *   operation          source roles             destination roles  join
 *   env_create/edit/delete  admin               -                  source
 *   env_view           any member               -                  source
 *   source_deploy      om, deploy, admin        -                  source
 *   source_terminate   om, deploy, admin        -                  source
 *   basket_edit        development, admin       -                  source
 *   package_create     development, admin       -                  source
 *   deploy_all         admin                    om, deploy, admin  both
 *   package_deploy     om, deploy, admin        om, deploy, admin  both
 *   rg_override        om, deploy, admin        om, deploy, admin  both
 *   result_view        any member               any member         either
 *   replay             om, deploy, admin        om, deploy, admin  both
 * Decisions (docs/rules.md): edit/delete follow create; env_view is for
 * members of the source (the environment lives there and exposes the
 * source's resources); an admin may use the basket and create packages
 * (the document has admins select objects); deploy_all creates AND deploys,
 * so it also needs the deploy roles in the destination; terminate follows
 * deploy-to-production; replay is a deploy. A visitor is a member.
 */
enum xw_op {
    XW_OP_ENV_CREATE = 0,
    XW_OP_ENV_EDIT,
    XW_OP_ENV_DELETE,
    XW_OP_ENV_VIEW,
    XW_OP_SOURCE_DEPLOY,
    XW_OP_SOURCE_TERMINATE,
    XW_OP_BASKET_EDIT,
    XW_OP_PACKAGE_CREATE,
    XW_OP_DEPLOY_ALL,
    XW_OP_PACKAGE_DEPLOY,
    XW_OP_RG_OVERRIDE,
    XW_OP_RESULT_VIEW,
    XW_OP_REPLAY,
    XW_OP_COUNT
};

enum xw_perm_join {
    XW_JOIN_SOURCE = 0, /* a source role suffices; destination not consulted */
    XW_JOIN_BOTH = 1,   /* a listed role in the source AND the destination */
    XW_JOIN_EITHER = 2  /* a listed role in the source OR the destination */
};

struct xw_permission {
    enum xw_op op;
    const char *name;       /* wire name, e.g. "package_deploy" */
    const char *action;     /* for sentences: "deploying a package" */
    unsigned source_roles;  /* enum xw_role bits */
    unsigned dest_roles;    /* 0 when the destination is not consulted */
    enum xw_perm_join join;
};

/* The table row for `op`, or NULL when op is out of range. Static storage. */
const struct xw_permission *xw_rules_permission(enum xw_op op);
const char *xw_rules_op_name(enum xw_op op);
int xw_rules_op_parse(const char *name, enum xw_op *op);

/* May a user holding `roles_src` in the source and `roles_dst` in the
 * destination (enum xw_role bits; 0 = not a member) perform `op`?
 * Returns 0 = allow, -1 = deny. On deny, `why` (may be NULL) receives one
 * finding per workspace that lacks a role, naming the roles needed and
 * the roles held: permission_source_role (path roles.source),
 * permission_destination_role (roles.destination), permission_not_member
 * (roles, for "either" rows), permission_unknown_operation. */
int xw_rules_permit(enum xw_op op, unsigned roles_src, unsigned roles_dst,
                    struct xw_findings *why);

/* ================================================================== */
/* Rule 3: environment validation                                      */
/*
 * Checks, all reported at once (path in brackets):
 *  - name present [name] and unique among `existing_names` (the source's
 *    other environments; when editing, leave the edited one out)
 *    [env_name_missing, env_name_duplicate];
 *  - type is "cross_workspace" [type, env_type_unsupported]; owner policy
 *    valid [owner_policy];
 *  - `src` is the environment's source [source_workspace,
 *    env_source_mismatch]; the destination exists: `dst` not NULL and its
 *    id is env->dest_ws [destination_workspace, destination_missing]; and
 *    the pair passes rule 1;
 *  - "At least one computing resource in the source workspace must be
 *    mapped to a computing resource in the destination workspace."
 *    [compute_mappings, compute_none_mapped];
 *  - every mapping row: source given and present in the source workspace
 *    (compute resources / resource groups / data sources / dependency
 *    projects), no source mapped twice, target given and present in the
 *    destination unless ignored [K_mappings[i].source / .target];
 *  - "Only mappings between resource groups of the same type are
 *    supported"; likewise compute resources and data sources
 *    [K_type_mismatch at .target];
 *  - "The Ignore mapping option is not available for default resource
 *    groups and shared resource groups." [rg_ignore_default,
 *    rg_ignore_shared at resource_group_mappings[i].ignore];
 *  - "For Data Integration resource groups, make sure the destination
 *    resource group's whitelist and network connectivity settings match
 *    those of the source." -> WARNING rg_data_integration for each mapped
 *    group of type "data_integration";
 *  - coverage, as WARNINGS: a source compute resource, resource group,
 *    data source or upstream project with no row at all
 *    [K_unmapped at K_mappings]; objects that use it fail at deploy time
 *    with the same code as an error (decision: the environment outlives
 *    today's objects, so refusing it would block unrelated deploys);
 *  - "Parameter names must be unique within each deployment task."
 *    [param_duplicate at parameter_mappings[i].name]; a name is required;
 *    values are literals or valid scheduling-parameter expressions
 *    (xw_param_validate; its code at parameter_mappings[i].value).
 *
 * Returns 0 when there is no error (warnings allowed), -1 otherwise.
 * `existing_names` entries are read up to XW_NAME_MAX + 1 bytes.
 */
int xw_rules_validate_env(const struct xw_env *env,
                          const struct xw_workspace *src,
                          const struct xw_workspace *dst,
                          const char *const *existing_names,
                          size_t n_existing, struct xw_findings *f);

/* ================================================================== */
/* Rule 5: mapping one object                                          */
/*
 * "The system deploys nodes, resources, functions, and components to the
 *  mapped destination computing resource."
 *
 *  compute:  mapped -> the target; ignored -> EXCLUDED, code
 *            compute_ignored ("nodes, resources, functions, and components
 *            under that computing resource are excluded from the deployment
 *            package"); no row -> FAILED compute_unmapped.
 *  resource group (only when the object has one):
 *            a deploy-time override ("members with the O&M, Deploy, or
 *            Workspace Administrator role can edit the resource group")
 *            wins; it must exist in the destination (rg_override_unknown)
 *            and have the source group's type (rg_override_type);
 *            otherwise mapped -> the target; ignored -> the source group
 *            ("the source resource group is used"); no row -> FAILED
 *            rg_unmapped (decision: never guess a group to run on).
 *  dependencies, "project by project": an upstream in the source
 *            workspace's own project (project == source id) moves to the
 *            destination workspace's project; a mapped project is
 *            rewritten; an ignored one is kept ("the system keeps the
 *            original dependencies"); no row -> FAILED dependency_unmapped.
 *  data sources: mapped -> target; ignored -> the source data source ("the
 *            source data source is used directly"); no row -> FAILED
 *            ds_unmapped.
 *  parameters: a parameter with a mapping row (task-specific first, then
 *            task "") takes the mapped value, others keep theirs.
 *  owner:    by env->owner_policy (enum xw_owner_policy); an empty result
 *            -> FAILED owner_missing.
 * A target that has disappeared from the destination since the environment
 * was validated fails with K_target_unknown.
 * Every failure reason is reported (findings), the first one also in
 * out->code / out->reason. An excluded object gets no other check.
 */
enum xw_map_outcome {
    XW_MAP_MAPPED = 0,
    XW_MAP_EXCLUDED = 1,
    XW_MAP_FAILED = 2
};

struct xw_map_request {
    const char *creator;     /* user who created the package */
    const char *executor;    /* user who executes the deployment */
    const char *rg_override; /* NULL or "" = no deploy-time override */
};

/* Rule codes telling how the group and the owner were chosen. */
#define XW_RG_BY_MAPPING "mapping"
#define XW_RG_BY_IGNORE "ignored_source_group"
#define XW_RG_BY_OVERRIDE "override"
#define XW_RG_BY_NONE "none"
#define XW_OWNER_BY_SOURCE "source_owner"
#define XW_OWNER_BY_EXECUTOR_FALLBACK "executor_fallback"
#define XW_OWNER_BY_CREATOR "package_creator"
#define XW_OWNER_BY_EXECUTOR "package_executor"

struct xw_mapped {
    enum xw_map_outcome outcome;
    const char *code;        /* NULL when MAPPED; compute_ignored when
                              * EXCLUDED; the first error code when FAILED */
    char reason[XW_FINDING_MSG_MAX]; /* sentence for code, "" when MAPPED */
    /* The destination object (filled when MAPPED). */
    enum xw_obj_kind kind;
    char id[XW_ID_MAX + 1];
    char name[XW_NAME_MAX + 1];
    int64_t version;
    char compute[XW_NAME_MAX + 1];
    char rgroup[XW_NAME_MAX + 1];
    const char *rgroup_by;   /* XW_RG_BY_* */
    struct xw_ref *datasources;   /* owned, n_datasources entries */
    size_t n_datasources;
    struct xw_dep *deps;          /* owned */
    size_t n_deps;
    struct xw_obj_param *params;  /* owned */
    size_t n_params;
    char owner[XW_ID_MAX + 1];
    const char *owner_by;    /* XW_OWNER_BY_* */
    enum xw_gen_mode gen_mode;
    int sched_hour, sched_minute, sched_second;
};

/* Map `obj` (from `src`) into `dst` under `env`. Always fills *out (release
 * it with xw_rules_mapped_release, whatever the outcome; arrays are only
 * allocated when MAPPED). Findings (may be NULL) get every reason. */
enum xw_map_outcome xw_rules_map_object(const struct xw_env *env,
                                        const struct xw_workspace *src,
                                        const struct xw_workspace *dst,
                                        const struct xw_object *obj,
                                        const struct xw_map_request *req,
                                        struct xw_mapped *out,
                                        struct xw_findings *f);
void xw_rules_mapped_release(struct xw_mapped *m);

/* ================================================================== */
/* Rule 7: package status and replay                                   */
/*
 * Per-object outcome: pending (not yet written), deployed, failed,
 * excluded (compute resource ignored). Package status:
 *   pending    every object pending (or nothing done yet)
 *   deploying  some object done, some still pending
 *   succeeded  none pending, none failed (excluded ones do not count
 *              against it; an empty package is succeeded)
 *   failed     none pending and at least one failed (decision: "failed"
 *              is final, so it waits for the last object; until then the
 *              package is deploying and the failure shows in the counts)
 * DESIGN.md: "A failed deployment can be replayed: only its failed objects
 * run again." Replay is refused unless the package is failed.
 */
enum xw_obj_state {
    XW_OBJ_PENDING = 0,
    XW_OBJ_DEPLOYED = 1,
    XW_OBJ_FAILED = 2,
    XW_OBJ_EXCLUDED = 3
};

enum xw_pkg_status {
    XW_PKG_PENDING = 0,
    XW_PKG_DEPLOYING = 1,
    XW_PKG_SUCCEEDED = 2,
    XW_PKG_FAILED = 3
};

struct xw_pkg_summary {
    enum xw_pkg_status status;
    size_t total, pending, deployed, failed, excluded;
};

const char *xw_rules_pkg_status_name(enum xw_pkg_status s);
const char *xw_rules_obj_state_name(enum xw_obj_state s);

/* Fold per-object states. 0, or -1 when a state is out of range (finding
 * object_state_invalid at objects[i]; *out then is zeroed). */
int xw_rules_package_status(const enum xw_obj_state *states, size_t n,
                            struct xw_pkg_summary *out, struct xw_findings *f);

/* Which objects a replay runs: the indexes of the failed ones, ascending,
 * into idx[0..cap). *n_out gets their number. -1 when the package is not
 * failed (replay_not_failed), a state is invalid, or cap is too small
 * (replay_capacity; *n_out then says how many are needed). */
int xw_rules_replay_select(const enum xw_obj_state *states, size_t n,
                           size_t *idx, size_t cap, size_t *n_out,
                           struct xw_findings *f);

#endif
