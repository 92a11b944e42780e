/*
 * xw_model - conversions between the wire forms (JSON projections in
 * Redis, Avro events) and the rule module's plain structs.
 *
 * The rule module (xw_rules.h) takes borrowed arrays; the structs here own
 * them. Each *_from_* fills a zeroed struct and returns 0, or -1 with an
 * xw_json_err naming the field (e.g. "members[2].roles[0]", rule "enum")
 * and leaves nothing allocated. Release with the matching *_release(),
 * which is safe on a zeroed or released struct.
 *
 * Field names are the API's (docs/api.md): a workspace has members,
 * compute_resources, resource_groups, data_sources, projects; an
 * environment has compute_mappings, resource_group_mappings,
 * dependency_mappings, data_source_mappings, parameter_mappings; an object
 * has compute_resource, resource_group, data_sources, dependencies,
 * parameters, owner, generation_mode, scheduled_time.
 */
#ifndef XW_MODEL_H
#define XW_MODEL_H

#include <jansson.h>

#include "xw_avro.h"
#include "xw_json.h"
#include "xw_rules.h"

struct xw_model_ws {
    struct xw_workspace ws;
};

struct xw_model_env {
    struct xw_env env;
    int64_t version;
};

struct xw_model_obj {
    struct xw_object obj;
};

int xw_model_ws_from_json(struct xw_model_ws *m, const json_t *j,
                          xw_json_err *e);
void xw_model_ws_release(struct xw_model_ws *m);

/* source_ws is the workspace the environment belongs to (not in the JSON
 * body of an environment). */
int xw_model_env_from_json(struct xw_model_env *m, const json_t *j,
                           const char *source_ws, xw_json_err *e);
void xw_model_env_release(struct xw_model_env *m);

/* From an ObjectSpec record (Avro, e.g. an element of DeployStarted's
 * objects array). */
int xw_model_obj_from_avro(struct xw_model_obj *m, const avro_value_t *spec,
                           xw_json_err *e);
void xw_model_obj_release(struct xw_model_obj *m);

/* Parses "HH:MM" or "HH:MM:SS" (00:00:00..23:59:59). 0 or -1. */
int xw_model_parse_hms(const char *s, int *h, int *m, int *sec);

/* Fills a DestinationObject record from a MAPPED result. 0 or an
 * XW_AVRO_E* code. */
int xw_model_mapped_to_avro(const struct xw_mapped *m, avro_value_t *dst);

/* Validates an environment given as JSON against its source and
 * destination workspaces (JSON as stored; dst_ws may be NULL when the
 * destination is not registered) and the names of the source's other
 * environments: the shape first (-2, e set), then every rule of
 * xw_rules_validate_env (-1, findings in f). 0 when valid (warnings may be
 * in f). Both the submit-listener (early answer) and the packager (the
 * authoritative check) call this. */
int xw_model_validate_env(const json_t *env, const char *source_ws,
                          const json_t *src_ws, const json_t *dst_ws,
                          const char *const *names, size_t n_names,
                          struct xw_findings *f, xw_json_err *e);

/* Findings as a NEW JSON array [{"code","severity","field","message"}]. */
json_t *xw_model_findings_json(const struct xw_findings *f);

/* The enum names of the wire forms. */
const char *xw_model_kind_name(enum xw_obj_kind k);
int xw_model_kind_parse(const char *s, enum xw_obj_kind *k);

#endif
