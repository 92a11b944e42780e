/* Step 3 (packages), step 4 (deploy, replay) and step 5 (results). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "emit.h"
#include "rows.h"
#include "routes.h"
#include "stored.h"
#include "xw_id.h"
#include "xw_log.h"

#define MAX_IDS 10000

/* Optional test-only deploy instant: refused unless the service runs with
 * XW_ALLOW_FIXED_DEPLOY_TIME=true (never in production). */
static int get_deploy_at(struct sl_request *r, json_t *body, json_int_t *at)
{
    xw_json_err e;
    int rc = xw_json_get_int(body, "deploy_at", 0, INT64_MAX / 2, 0, at, &e);

    if (rc < 0) {
        sl_reply_json_err(r, &e);
        return -1;
    }
    if (rc == 1 && !r->svc->allow_fixed_deploy_time) {
        sl_reply_error(r, 400, "deploy_at", "forbidden",
                       "a fixed deploy instant is for tests only "
                       "(XW_ALLOW_FIXED_DEPLOY_TIME)");
        return -1;
    }
    return rc;
}

/* Fills DeployRequested and accepts the request with it. `second` says
 * the request already emitted its own event (PackageRequested of "deploy
 * all"): this one then gets an id derived from the request's, so the two
 * events never share an id and a retry re-emits the same ones. */
static int emit_deploy(struct sl_request *r, const char *src,
                       const char *pkg, const char *override, json_int_t at,
                       int have_at, int replay, int second)
{
    avro_value_t *ev = sl_event(r, "DeployRequested");
    char id[40];

    if (!ev)
        return -1;
    if (second) {
        /* Not the request's own event: an id derived from it, so a retry
         * with the same Idempotency-Key re-emits the same id. */
        xw_uuid_derive("deploy_now", r->request_id, 0, id);
        if (xw_avro_set_string(ev, "event_id", id) < 0)
            return -1;
    }
    if (xw_avro_set_string(ev, "workspace_id", src) < 0
        || xw_avro_set_string(ev, "package_id", pkg) < 0
        || xw_avro_set_int(ev, "attempt", 0) < 0
        || xw_avro_set_string(ev, "executor", r->user) < 0
        || xw_avro_set_string(ev, "resource_group_override", override) < 0
        || xw_avro_set_bool(ev, "replay", replay) < 0
        || (have_at && xw_avro_set_long(ev, "deploy_at", at) < 0)) {
        sl_reply_error(r, 500, "", "internal", "encoding DeployRequested");
        return -1;
    }
    return sl_accept(r, ev, XW_TOPIC_COMMANDS, src,
                     json_pack("{s:s}", "package_id", pkg));
}

/* The stored summary of a package (xw:pkgsum, written by the reporter;
 * absent until it has seen the package) from a reply: NEW reference or
 * NULL. */
static json_t *summary_of(const redisReply *rep)
{
    json_error_t je;

    return rep && rep->type == REDIS_REPLY_STRING
        ? json_loadb(rep->str, rep->len, 0, &je) : NULL;
}

/* Step 3. Round trips: the environment and the objects (or the basket)
 * are read with the Idempotency-Key's answer, then the mark (sl_accept). */
void h_pkg_create(struct sl_request *r)
{
    static const char *const allowed[] = { "environment", "object_ids",
        "deploy_now", "resource_group_override", "deploy_at", NULL };
    const char *ws = r->params[0], *env_name, *override = NULL, *dst;
    struct sl_ids_check idc = SL_IDS_CHECK_INIT;
    redisReply *reps[2] = { NULL, NULL };
    json_t *body = NULL, *ids = NULL, *env = NULL;
    json_int_t at = 0;
    int deploy_now = 0, have_at, listed;
    char env_key[96], basket_key[192], what[192], pkg[48];
    const char *env_argv[3] = { "HGET", env_key, NULL };
    const char *basket_argv[2] = { "ZCARD", basket_key };
    xw_redis_cmd cmds[2];
    size_t ncmds = 2;
    avro_value_t *ev;
    xw_json_err e;
    size_t i;

    if (sl_permit(r, XW_OP_PACKAGE_CREATE, ws, NULL) < 0
        || !(body = sl_body_object(r)))
        goto out;
    if (xw_json_check_keys(body, allowed, &e) < 0
        || xw_json_get_string(body, "environment", 1, SL_ID_MAX,
                              XW_JSON_REQUIRED, &env_name, NULL, &e) < 0
        || xw_json_get_array(body, "object_ids", MAX_IDS, 0, &ids, &e) < 0
        || xw_json_get_bool(body, "deploy_now", 0, &deploy_now, &e) < 0
        || xw_json_get_string(body, "resource_group_override", 1, 128, 0,
                              &override, NULL, &e) < 0) {
        sl_reply_json_err(r, &e);
        goto out;
    }
    if ((have_at = get_deploy_at(r, body, &at)) < 0)
        goto out;
    if ((override || have_at) && !deploy_now) {
        sl_reply_error(r, 400, override ? "resource_group_override"
                       : "deploy_at", "requires",
                       "only with deploy_now; otherwise give it when "
                       "deploying the package");
        goto out;
    }
    snprintf(env_key, sizeof env_key, "xw:env:%s", ws);
    env_argv[2] = env_name;
    cmds[0] = (xw_redis_cmd){ 3, env_argv, NULL };
    listed = ids && json_array_size(ids);
    if (listed) {
        if (sl_ids_prepare(r, &idc, ws, ids, &cmds[1]) < 0)
            goto out;
        ncmds = 1 + (idc.bad < 0);
    } else {
        snprintf(basket_key, sizeof basket_key, "xw:basket:%s:%s", ws,
                 r->user);
        cmds[1] = (xw_redis_cmd){ 2, basket_argv, NULL };
    }
    if (sl_request_prefetch(r, cmds, ncmds, reps) < 0
        || sl_request_begin(r) != 0)
        goto out;
    snprintf(what, sizeof what, "environment '%s'", env_name);
    if (!(env = sl_json_reply(r, reps[0], what)))
        goto out;
    dst = json_string_value(json_object_get(env, "destination_workspace"));
    if (!dst) {
        sl_reply_error(r, 500, "environment", "internal", "no destination");
        goto out;
    }
    if (deploy_now && sl_permit(r, XW_OP_DEPLOY_ALL, ws, dst) < 0)
        goto out;
    if (override && sl_permit(r, XW_OP_RG_OVERRIDE, ws, dst) < 0)
        goto out;
    if (listed) {
        if (sl_ids_verify(r, &idc, ws, reps[1], "object_ids") < 0)
            goto out;
    } else if (reps[1]->type != REDIS_REPLY_INTEGER || reps[1]->integer == 0) {
        sl_reply_error(r, 422, "object_ids", "empty",
                       "your basket is empty: add objects to it or list "
                       "object_ids");
        goto out;
    }
    snprintf(pkg, sizeof pkg, "pkg-%s", r->request_id);
    if (!(ev = sl_event(r, "PackageRequested")))
        goto out;
    if (xw_avro_set_string(ev, "workspace_id", ws) < 0
        || xw_avro_set_string(ev, "package_id", pkg) < 0
        || xw_avro_set_string(ev, "environment", env_name) < 0
        || xw_avro_set_string(ev, "creator", r->user) < 0
        || xw_avro_set_bool(ev, "deploy_now", deploy_now) < 0) {
        sl_reply_error(r, 500, "", "internal", "encoding PackageRequested");
        goto out;
    }
    for (i = 0; ids && i < json_array_size(ids); i++)
        if (xw_avro_array_append_string(ev, "object_ids",
                json_string_value(json_array_get(ids, i))) < 0) {
            sl_reply_error(r, 500, "", "internal", "encoding object_ids");
            goto out;
        }
    if (!deploy_now) {
        sl_accept(r, ev, XW_TOPIC_COMMANDS, ws,
                  json_pack("{s:s}", "package_id", pkg));
        goto out;
    }
    /* "Deploy all": the package and its deployment, in this order on the
     * workspace's partition. */
    if (sl_produce(r, ev, XW_TOPIC_COMMANDS, ws) < 0)
        goto out;
    emit_deploy(r, ws, pkg, override, at, have_at, 0, 1);
out:
    xw_redis_replies_free(reps, 2);
    sl_ids_release(&idc);
    json_decref(env);
    json_decref(body);
}

static const char *summary_status(json_t *summary)
{
    const char *s = summary
        ? json_string_value(json_object_get(summary, "status")) : NULL;

    return s ? s : "pending";
}

/* Step 4. Round trips: the package's meta and summary with the
 * Idempotency-Key's answer, then the mark (sl_accept). */
static void deploy_or_replay(struct sl_request *r, int replay)
{
    static const char *const allowed[] = { "resource_group_override",
                                           "deploy_at", NULL };
    const char *pkg = r->params[0], *src, *dst, *override = NULL, *status;
    char key[2][96], what[96];
    const char *argv[2][3] = { { "HGET", key[0], "meta" },
                               { "GET", key[1], NULL } };
    const xw_redis_cmd cmds[2] = { { 3, argv[0], NULL },
                                   { 2, argv[1], NULL } };
    redisReply *reps[2] = { NULL, NULL };
    json_t *body = NULL, *meta = NULL, *summary = NULL;
    json_int_t at = 0;
    xw_json_err e;
    int have_at = 0;

    snprintf(key[0], sizeof key[0], "xw:pkg:%s", pkg);
    snprintf(key[1], sizeof key[1], "xw:pkgsum:%s", pkg);
    snprintf(what, sizeof what, "package '%s'", pkg);
    if (sl_request_prefetch(r, cmds, 2, reps) < 0
        || !(meta = sl_json_reply(r, reps[0], what)))
        goto out;
    summary = summary_of(reps[1]);
    src = json_string_value(json_object_get(meta, "source_workspace"));
    dst = json_string_value(json_object_get(meta, "destination_workspace"));
    if (!src || !dst) {
        sl_reply_error(r, 500, "", "internal", "package meta incomplete");
        goto out;
    }
    if (sl_permit(r, replay ? XW_OP_REPLAY : XW_OP_PACKAGE_DEPLOY, src, dst)
        < 0)
        goto out;
    if (r->body.len) {
        if (!(body = sl_body_object(r)))
            goto out;
        if (xw_json_get_string(body, "resource_group_override", 1, 128, 0,
                               &override, NULL, &e) < 0) {
            sl_reply_json_err(r, &e);
            goto out;
        }
        if (override && sl_permit(r, XW_OP_RG_OVERRIDE, src, dst) < 0)
            goto out;
        if (xw_json_check_keys(body, allowed, &e) < 0) {
            sl_reply_json_err(r, &e);
            goto out;
        }
        if ((have_at = get_deploy_at(r, body, &at)) < 0)
            goto out;
    }
    if (sl_request_begin(r) != 0)
        goto out;
    status = summary_status(summary);
    if (strcmp(status, "deploying") == 0) {
        sl_reply_error(r, 409, "package", "state",
                       "package '%s' is being deployed; wait for it to finish",
                       pkg);
        goto out;
    }
    if (replay && strcmp(status, "failed") != 0) {
        sl_reply_error(r, 409, "package", "state",
                       "only a failed package can be replayed; '%s' is %s",
                       pkg, status);
        goto out;
    }
    emit_deploy(r, src, pkg, override, at, have_at, replay, 0);
out:
    xw_redis_replies_free(reps, 2);
    json_decref(body);
    json_decref(meta);
    json_decref(summary);
}

void h_pkg_deploy(struct sl_request *r)
{
    deploy_or_replay(r, 0);
}

void h_pkg_replay(struct sl_request *r)
{
    deploy_or_replay(r, 1);
}

/* ---- step 5: GET /v1/packages/{id} ------------------------------------ */

#define ROWS_CHUNK 500          /* objects read from Redis per round trip */

/* What the caller asked (docs/api.md, "Reading a package"). */
struct pkg_view {
    const char *pkg;
    int objects;                /* object rows wanted */
    int paged;                  /* offset or limit given */
    long offset, limit;
    long wait_ms;
    char from_status[16];       /* changed_from, "" = wait for final */
    long from_attempt;          /* -1: any attempt */
    json_t *summary;            /* NEW reference: the last read, or NULL */
};

/* One object row to render, in id order. */
struct pkg_row {
    const char *id;             /* BORROWED from the HKEYS reply or meta */
    const json_t *excluded;     /* BORROWED from meta; NULL: frozen object */
};

static int is_status(const char *s)
{
    return strcmp(s, "pending") == 0 || strcmp(s, "deploying") == 0
        || strcmp(s, "succeeded") == 0 || strcmp(s, "failed") == 0;
}

/* changed_from=STATUS or STATUS:ATTEMPT; -1 with a 400 answered. */
static int parse_changed_from(struct sl_request *r, struct pkg_view *v)
{
    const char *s = sl_query(r, "changed_from"), *colon;
    size_t n;
    char *end;

    v->from_status[0] = '\0';
    v->from_attempt = -1;
    if (!s || !*s)
        return 0;
    colon = strchr(s, ':');
    n = colon ? (size_t)(colon - s) : strlen(s);
    if (n < sizeof v->from_status) {
        memcpy(v->from_status, s, n);
        v->from_status[n] = '\0';
    }
    if (colon) {
        v->from_attempt = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end || v->from_attempt < 0
            || v->from_attempt > 1000000)
            v->from_status[0] = '\0';
    }
    if (!is_status(v->from_status)) {
        sl_reply_error(r, 400, "changed_from", "format",
                       "must be STATUS or STATUS:ATTEMPT with STATUS one of "
                       "pending, deploying, succeeded, failed");
        return -1;
    }
    return 0;
}

static int parse_view(struct sl_request *r, struct pkg_view *v)
{
    memset(v, 0, sizeof *v);
    v->pkg = r->params[0];
    v->paged = (sl_query(r, "offset") && *sl_query(r, "offset"))
        || (sl_query(r, "limit") && *sl_query(r, "limit"));
    if (sl_query_bool(r, "objects", 1, &v->objects) < 0
        || sl_query_long(r, "offset", 0, 0, MAX_IDS, &v->offset) < 0
        || sl_query_long(r, "limit", MAX_IDS, 1, MAX_IDS, &v->limit) < 0
        || sl_query_long(r, "wait_ms", 0, 0, SL_WAIT_MAX_MS, &v->wait_ms) < 0
        || parse_changed_from(r, v) < 0)
        return -1;
    if (v->paged && !v->objects) {
        sl_reply_error(r, 400, "objects", "conflict",
                       "offset and limit page the objects: not with "
                       "objects=false");
        return -1;
    }
    if (v->from_status[0] && !v->wait_ms) {
        sl_reply_error(r, 400, "changed_from", "requires",
                       "changed_from is a condition of wait_ms: give both");
        return -1;
    }
    return 0;
}

/* Reads the summary (xw:pkgsum, written by the reporter) into v->summary;
 * 0, or -1 with 503 answered. A package the reporter has not seen yet
 * has none. */
static int read_summary(struct sl_request *r, struct pkg_view *v)
{
    redisReply *rep = xw_redis_command_idem(r->w->redis, "GET xw:pkgsum:%s",
                                            v->pkg);

    json_decref(v->summary);
    v->summary = NULL;
    if (!rep) {
        sl_reply_unavailable(r, "state store");
        return -1;
    }
    v->summary = summary_of(rep);
    return 0;
}

/* Whether the long-poll is over: final, or changed from changed_from. */
static int view_ready(const struct pkg_view *v)
{
    const char *st = summary_status(v->summary);
    json_int_t att = json_integer_value(json_object_get(v->summary,
                                                        "attempt"));

    if (!v->from_status[0])
        return strcmp(st, "succeeded") == 0 || strcmp(st, "failed") == 0;
    return strcmp(st, v->from_status) != 0
        || (v->from_attempt >= 0 && att != v->from_attempt);
}

/* sl_wait_for's check. */
static int reread_summary(struct sl_request *r, void *arg)
{
    struct pkg_view *v = arg;

    return read_summary(r, v) < 0 ? -1 : view_ready(v);
}

static int cmp_row(const void *a, const void *b)
{
    return strcmp(((const struct pkg_row *)a)->id,
                  ((const struct pkg_row *)b)->id);
}

/* The rows of the package in id order: its frozen objects (the HKEYS
 * reply *keys, read into it if NULL; the caller frees it) and the objects
 * excluded when it was frozen. NEW array (free()) of *n rows; NULL with
 * 503 answered. */
static struct pkg_row *list_rows(struct sl_request *r, const char *pkg,
                                 const json_t *meta, redisReply **keys,
                                 size_t *n)
{
    const json_t *ex = json_object_get(meta, "excluded_objects"), *x;
    struct pkg_row *rows;
    size_t i, k = 0;

    *n = 0;
    if (!*keys) {
        if (!xw_redis_command_idem(r->w->redis, "HKEYS xw:pkg:%s:avro",
                                   pkg)) {
            sl_reply_unavailable(r, "state store");
            return NULL;
        }
        *keys = xw_redis_reply_take(r->w->redis);
    }
    rows = malloc(((*keys)->elements + json_array_size(ex) + 1) * sizeof *rows);
    if (!rows) {
        sl_reply_unavailable(r, "memory");
        return NULL;
    }
    for (i = 0; i < (*keys)->elements; i++)
        if ((*keys)->element[i]->type == REDIS_REPLY_STRING)
            rows[k++] = (struct pkg_row){ (*keys)->element[i]->str, NULL };
    json_array_foreach(ex, i, x) {
        const char *id = json_string_value(json_object_get(x, "object_id"));

        if (id)
            rows[k++] = (struct pkg_row){ id, x };
    }
    qsort(rows, k, sizeof *rows, cmp_row);
    *n = k;
    return rows;
}

/* Appends rows[0..n) to r->out, comma-separated (and after a comma when
 * `more`: rows were written before them), reading their specs and
 * results ROWS_CHUNK at a time (two HMGETs in one round trip), so that
 * only one chunk of replies is alive at once: a 10,000-object answer
 * costs its text plus one chunk. Each row is written from the stored
 * spec and result as JSON text (stored.h, rows.c). 0, or -1 with 503
 * answered. */
static int render_rows(struct sl_request *r, const char *pkg,
                       const struct pkg_row *rows, size_t n, int more)
{
    const char *argv[2][ROWS_CHUNK + 2];
    char key[2][96];
    redisReply *reps[2] = { NULL, NULL };
    struct sl_stored st = SL_STORED_INIT;
    int rc = -1;

    snprintf(key[0], sizeof key[0], "xw:pkg:%s:avro", pkg);
    snprintf(key[1], sizeof key[1], "xw:res:%s", pkg);
    for (size_t at = 0; at < n; at += ROWS_CHUNK) {
        size_t m = n - at < ROWS_CHUNK ? n - at : ROWS_CHUNK, k = 0;
        xw_redis_cmd cmds[2];

        for (int c = 0; c < 2; c++) {
            argv[c][0] = "HMGET";
            argv[c][1] = key[c];
        }
        for (size_t i = 0; i < m; i++)
            if (!rows[at + i].excluded) {
                argv[0][k + 2] = argv[1][k + 2] = rows[at + i].id;
                k++;
            }
        for (int c = 0; c < 2; c++)
            cmds[c] = (xw_redis_cmd){ (int)k + 2, argv[c], NULL };
        if (k && xw_redis_pipeline(r->w->redis, cmds, 2, reps,
                                   XW_REDIS_IDEMPOTENT) < 0) {
            sl_reply_unavailable(r, "state store");
            goto out;
        }
        k = 0;
        for (size_t i = 0; i < m; i++) {
            const struct pkg_row *row = &rows[at + i];
            const char *spec = NULL, *res = NULL;
            size_t spec_len = 0, res_len = 0;

            /* The result is read only for a frozen object with a spec
             * reply, as before. */
            if (!row->excluded && reps[0] && k < reps[0]->elements) {
                const char *avro = sl_hm_text(reps[0], k, &spec_len);

                res = sl_hm_text(reps[1], k, &res_len);
                if (sl_stored_spec_head(r, &st, avro, spec_len, &spec,
                                        &spec_len) < 0
                    || sl_stored_result(r, &st, &res, &res_len) < 0)
                    goto out;
            }
            k += !row->excluded;
            if (((more || at + i) && xw_buf_addch(&r->out, ',') < 0)
                || sl_row_write(&r->out, row->id, row->excluded, spec,
                                spec_len, res, res_len) < 0) {
                sl_reply_unavailable(r, "memory");
                goto out;
            }
        }
        xw_redis_replies_free(reps, 2);
    }
    rc = 0;
out:
    xw_redis_replies_free(reps, 2);
    sl_stored_release(&st);
    return rc;
}

/* A view of more than one chunk of rows is sent as it is read: its text
 * is never whole in memory (a 10,000-object answer is 6.6 MB, and each
 * concurrent reader of a large package held one). The head is rendered
 * by the handler; then each time MHD wants more, the next ROWS_CHUNK rows
 * are read and rendered into r->out, which stays the request's until
 * on_completed, and MHD always calls this before then. What the stream
 * reads it owns (the HKEYS reply, the meta, the rows). A failure once the
 * status is sent can only end the answer short (the connection is
 * closed, the text is not valid JSON). */
struct pkg_stream {
    struct sl_request *r;       /* BORROWED, see above */
    char pkg[SL_ID_MAX + 1];
    redisReply *keys;
    json_t *meta;
    struct pkg_row *rows;
    size_t at, to, from;        /* rows[at..to) not rendered yet */
    size_t sent;                /* bytes of r->out given to MHD */
    int ended;                  /* "]}" rendered */
};

static void stream_free(void *cls)
{
    struct pkg_stream *st = cls;

    freeReplyObject(st->keys);
    json_decref(st->meta);
    free(st->rows);
    free(st);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct pkg_stream *st = cls;
    struct sl_request *r = st->r;
    size_t n;

    (void)pos;
    while (st->sent == r->out.len) {
        if (st->ended)
            return MHD_CONTENT_READER_END_OF_STREAM;
        xw_buf_reset(&r->out);
        st->sent = 0;
        if (st->at < st->to) {
            n = st->to - st->at < ROWS_CHUNK ? st->to - st->at : ROWS_CHUNK;
            if (!sl_worker_get(r)
                || render_rows(r, st->pkg, st->rows + st->at, n,
                               st->at > st->from) < 0) {
                xw_warn("HTTP", "GET package %s: answer ended short after "
                        "%zu rows", st->pkg, st->at - st->from);
                return MHD_CONTENT_READER_END_WITH_ERROR;
            }
            st->at += n;
        } else {
            if (xw_buf_adds(&r->out, "]}\n") < 0)
                return MHD_CONTENT_READER_END_WITH_ERROR;
            st->ended = 1;
        }
    }
    n = r->out.len - st->sent < max ? r->out.len - st->sent : max;
    memcpy(buf, r->out.data + st->sent, n);
    st->sent += n;
    r->answer_len += n;
    return (ssize_t)n;
}

/* Hands rows[from..to) to a stream (taking rows, *keys and a reference to
 * meta), r->out holding the head. 0, or -1 with 503 answered (nothing
 * taken). */
static int stream_rows(struct sl_request *r, struct pkg_view *v,
                       json_t *meta, redisReply **keys,
                       struct pkg_row **rows, size_t from, size_t to)
{
    struct pkg_stream *st = calloc(1, sizeof *st);
    struct MHD_Response *resp;

    if (!st) {
        sl_reply_unavailable(r, "memory");
        return -1;
    }
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 << 10,
                                             stream_read, st, stream_free);
    if (!resp) {
        free(st);
        sl_reply_unavailable(r, "memory");
        return -1;
    }
    st->r = r;
    snprintf(st->pkg, sizeof st->pkg, "%s", v->pkg);
    st->keys = *keys;
    st->meta = json_incref(meta);
    st->rows = *rows;
    st->from = st->at = from;
    st->to = to;
    *keys = NULL;
    *rows = NULL;
    sl_reply_stream(r, 200, resp);
    return 0;
}

/* The full (or paged) view: the package's meta and summary, then
 * "objects" written row by row into r->out; the object ids from *keys
 * (read into it if NULL; the caller frees it). 0, or -1 answered. */
static int render_full(struct sl_request *r, struct pkg_view *v,
                       json_t *meta, redisReply **keys)
{
    struct pkg_row *rows = NULL;
    size_t n = 0, from, to;
    json_t *head = NULL;
    int rc = -1;

    if (!(rows = list_rows(r, v->pkg, meta, keys, &n)))
        goto out;
    from = (size_t)v->offset < n ? (size_t)v->offset : n;
    to = n - from < (size_t)v->limit ? n : from + (size_t)v->limit;
    if (!(head = json_deep_copy(meta)))
        goto nomem;
    if (v->summary)
        json_object_update(head, v->summary);
    else
        json_object_set_new(head, "status", json_string("pending"));
    /* The summary's count of objects gives way to the rows. */
    json_object_del(head, "objects");
    if (v->paged)
        json_object_set_new(head, "objects_page", json_pack(
            "{s:I, s:I, s:I}", "offset", (json_int_t)v->offset, "limit",
            (json_int_t)v->limit, "total", (json_int_t)n));
    /* head is a non-empty object: "{...}" becomes "{...,"objects":[" */
    xw_buf_reset(&r->out);
    if (xw_json_dump(head, &r->out) < 0 || r->out.len < 2)
        goto nomem;
    xw_buf_setlen(&r->out, r->out.len - 1);
    if (xw_buf_adds(&r->out, ",\"objects\":[") < 0)
        goto nomem;
    if (to - from > ROWS_CHUNK) {
        rc = stream_rows(r, v, meta, keys, &rows, from, to);
        goto out;
    }
    if (render_rows(r, v->pkg, rows + from, to - from, 0) < 0)
        goto out;
    if (xw_buf_adds(&r->out, "]}") < 0)
        goto nomem;
    sl_reply_rendered(r, 200);
    rc = 0;
    goto out;
nomem:
    sl_reply_unavailable(r, "memory");
out:
    json_decref(head);
    free(rows);
    return rc;
}

/* Step 5. Every form checks the caller first (a member of the source or
 * the destination), then waits if asked, then reads what it shows. One
 * round trip reads the summary (xw:pkgsum) and, when the objects are
 * shown, the meta and the object ids (not before a wait: a 10,000-id
 * reply would be held through it); the rows are the second (render_rows).
 * Without the objects, the meta is read only when there is no summary
 * yet. The roles come from the cache (access.c). */
void h_pkg_get(struct sl_request *r)
{
    struct pkg_view v;
    struct sl_notify_wait nw;
    char key[3][96], what[96];
    const char *argv[3][3] = { { "GET", key[0], NULL },
                               { "HGET", key[1], "meta" },
                               { "HKEYS", key[2], NULL } };
    const xw_redis_cmd cmds[3] = { { 2, argv[0], NULL },
                                   { 3, argv[1], NULL },
                                   { 2, argv[2], NULL } };
    redisReply *reps[3] = { NULL, NULL, NULL };
    json_t *meta = NULL, *src_of;
    const char *src, *dst;
    int64_t deadline;

    if (parse_view(r, &v) < 0 || !sl_worker_get(r))
        goto out;
    deadline = sl_wait_deadline(r, v.wait_ms);
    snprintf(key[0], sizeof key[0], "xw:pkgsum:%s", v.pkg);
    snprintf(key[1], sizeof key[1], "xw:pkg:%s", v.pkg);
    snprintf(key[2], sizeof key[2], "xw:pkg:%s:avro", v.pkg);
    snprintf(what, sizeof what, "package '%s'", v.pkg);
    /* Armed before the summary is read: a change after it wakes the
     * wait (sl_wait_for). */
    sl_notify_wait_init(&nw, key[0]);
    sl_notify_arm(&nw);
    if (xw_redis_pipeline(r->w->redis, cmds,
                          !v.objects ? 1 : v.wait_ms ? 2 : 3, reps,
                          XW_REDIS_IDEMPOTENT) < 0) {
        sl_reply_unavailable(r, "state store");
        goto out;
    }
    v.summary = summary_of(reps[0]);
    if (v.objects ? !(meta = sl_json_reply(r, reps[1], what))
        : !v.summary && !(meta = sl_load_hash_json(r, key[1], "meta", what)))
        goto out;
    src_of = v.summary ? v.summary : meta;
    src = json_string_value(json_object_get(src_of, "source_workspace"));
    dst = json_string_value(json_object_get(src_of, "destination_workspace"));
    if (!src || !dst || sl_permit(r, XW_OP_RESULT_VIEW, src, dst) < 0) {
        if (!r->reply)
            sl_reply_error(r, 500, "", "internal", "package meta incomplete");
        goto out;
    }
    if (v.wait_ms && !view_ready(&v)
        && sl_wait_for(r, &nw, deadline, reread_summary, &v) < 0)
        goto out;
    if (v.objects) {
        render_full(r, &v, meta, &reps[2]);
    } else if (v.summary) {
        sl_reply(r, 200, json_incref(v.summary));
    } else {
        json_t *s = json_deep_copy(meta);

        if (s) {
            json_object_del(s, "excluded_objects");
            json_object_set_new(s, "status", json_string("pending"));
        }
        sl_reply(r, 200, s);
    }
out:
    xw_redis_replies_free(reps, 3);
    json_decref(meta);
    json_decref(v.summary);
}

/* The list: the workspace's packages (newest first) whose summaries match
 * the filters, one page of them, each summary copied as stored when it is
 * in jansson's form (rows.c). Written into r->out as
 * {"items":[...],"total":N,"offset":O,"limit":L}. */
void h_pkg_list(struct sl_request *r)
{
    const char *ws = r->params[0];
    const char *since = sl_query(r, "since"), *until = sl_query(r, "until");
    const struct sl_match match[] = {
        { "status", sl_query(r, "status") },
        { "creator", sl_query(r, "creator") },
        { "executor", sl_query(r, "executor") },
        { "environment", sl_query(r, "environment") },
    };
    long offset, limit, n = 0;
    redisReply *ids = NULL, *sums;
    const char **argv = NULL;
    char (*keys)[64] = NULL;
    char lo[32], hi[32];

    if (sl_permit(r, XW_OP_RESULT_VIEW, ws, NULL) < 0
        || sl_paging(r, &offset, &limit) < 0)
        return;
    if ((since && strspn(since, "0123456789") != strlen(since))
        || (until && strspn(until, "0123456789") != strlen(until))
        || (since && strlen(since) > 16) || (until && strlen(until) > 16)) {
        sl_reply_error(r, 400, "since/until", "range",
                       "since/until are milliseconds since the epoch");
        return;
    }
    snprintf(hi, sizeof hi, "%s", until && *until ? until : "+inf");
    snprintf(lo, sizeof lo, "%s", since && *since ? since : "-inf");
    if (!xw_redis_command_idem(r->w->redis,
                               "ZREVRANGEBYSCORE xw:pkgs:%s %s %s", ws, hi,
                               lo)) {
        sl_reply_unavailable(r, "state store");
        return;
    }
    ids = xw_redis_reply_take(r->w->redis);
    xw_buf_reset(&r->out);
    if (xw_buf_adds(&r->out, "{\"items\":[") < 0)
        goto nomem;
    if (ids->type == REDIS_REPLY_ARRAY && ids->elements) {
        keys = calloc(ids->elements, sizeof *keys);
        argv = calloc(ids->elements + 1, sizeof *argv);
        if (!argv || !keys)
            goto nomem;
        argv[0] = "MGET";
        for (size_t i = 0; i < ids->elements; i++) {
            snprintf(keys[i], sizeof keys[i], "xw:pkgsum:%.*s",
                     (int)ids->element[i]->len, ids->element[i]->str);
            argv[i + 1] = keys[i];
        }
        sums = xw_redis_command_argv(r->w->redis, (int)ids->elements + 1, argv,
                                     NULL, 1);
        for (size_t i = 0; sums && i < sums->elements; i++) {
            const redisReply *e = sums->element[i];
            int page = n >= offset && n < offset + limit, rc;

            if (e->type != REDIS_REPLY_STRING)
                continue;
            rc = sl_summary_item(page ? &r->out : NULL, n > offset ? ',' : 0,
                                 e->str, e->len, match,
                                 sizeof match / sizeof match[0]);
            if (rc < 0)
                goto nomem;
            n += rc;
        }
    }
    if (xw_buf_addf(&r->out, "],\"total\":%ld,\"offset\":%d,\"limit\":%d}", n,
                    (int)offset, (int)limit) < 0)
        goto nomem;
    sl_reply_rendered(r, 200);
    goto out;
nomem:
    sl_reply_unavailable(r, "memory");
out:
    free(keys);
    free(argv);
    freeReplyObject(ids);
}

void h_deployed_list(struct sl_request *r)
{
    char key[96];

    if (sl_permit(r, XW_OP_RESULT_VIEW, r->params[0], NULL) < 0)
        return;
    snprintf(key, sizeof key, "xw:dest:%s:objects", r->params[0]);
    sl_list_hash(r, key, sl_query(r, "kind"), sl_query(r, "owner"),
                 sl_query(r, "q"));
}
