/* The batch queue: strings in one arena (offsets, since it grows), command
 * lists that become pipelines, and small per-batch sets. Everything is
 * reused from batch to batch: after warm-up a batch allocates nothing here
 * beyond what hiredis does. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reporter.h"
#include "xw_avro_json.h"
#include "xw_id.h"
#include "xw_log.h"

/* ---- arena and command lists ------------------------------------------- */

int rep_str_add(struct reporter *r, const char *s, size_t len,
                struct rep_str *out)
{
    out->off = r->arena.len;
    out->len = len;
    if (xw_buf_add(&r->arena, s, len) < 0 || xw_buf_addch(&r->arena, '\0') < 0)
        return -1;
    return 0;
}

int rep_str_addf(struct reporter *r, struct rep_str *out, const char *fmt,
                 ...)
{
    va_list ap;
    int rc;

    out->off = r->arena.len;
    va_start(ap, fmt);
    rc = xw_buf_vaddf(&r->arena, fmt, ap);
    va_end(ap);
    if (rc < 0)
        return -1;
    out->len = r->arena.len - out->off;
    return xw_buf_addch(&r->arena, '\0');
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    size_t n = *cap ? *cap : 64;
    void *q;

    if (need <= *cap)
        return 0;
    while (n < need)
        n *= 2;
    q = realloc(*p, n * size);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static int push_arg(struct rep_cmds *l, struct rep_str s)
{
    size_t cap = l->args_cap;

    if (grow((void **)&l->args, &cap, l->nargs + 1, sizeof *l->args) < 0)
        return -1;
    if (cap != l->args_cap) {
        const char **a = realloc(l->argv, cap * sizeof *a);
        size_t *b;

        if (!a)
            return -1;
        l->argv = a;
        b = realloc(l->argvlen, cap * sizeof *b);
        if (!b)
            return -1;
        l->argvlen = b;
        l->args_cap = cap;
    }
    l->args[l->nargs++] = s;
    l->ops[l->n - 1].nargs++;
    return 0;
}

int rep_arg(struct reporter *r, struct rep_cmds *l, const char *s, size_t len)
{
    struct rep_str t;

    return rep_str_add(r, s, len, &t) < 0 ? -1 : push_arg(l, t);
}

int rep_argf(struct reporter *r, struct rep_cmds *l, const char *fmt, ...)
{
    struct rep_str t;
    va_list ap;
    int rc;

    t.off = r->arena.len;
    va_start(ap, fmt);
    rc = xw_buf_vaddf(&r->arena, fmt, ap);
    va_end(ap);
    if (rc < 0)
        return -1;
    t.len = r->arena.len - t.off;
    if (xw_buf_addch(&r->arena, '\0') < 0)
        return -1;
    return push_arg(l, t);
}

int rep_arg_str(struct rep_cmds *l, struct rep_str s)
{
    return push_arg(l, s);
}

int rep_str_avro(struct reporter *r, const avro_value_t *v,
                 struct rep_str *out)
{
    out->off = r->arena.len;
    if (xw_avro_json_write(v, &r->arena) < 0)
        return -1;
    out->len = r->arena.len - out->off;
    return xw_buf_addch(&r->arena, '\0');
}

int rep_arg_avro(struct reporter *r, struct rep_cmds *l, const avro_value_t *v)
{
    struct rep_str t;

    return rep_str_avro(r, v, &t) < 0 ? -1 : push_arg(l, t);
}

static int begin(struct rep_cmds *l, enum rep_op_kind kind)
{
    size_t cap = l->cap;

    if (grow((void **)&l->ops, &cap, l->n + 1, sizeof *l->ops) < 0)
        return -1;
    if (cap != l->cap) {
        xw_redis_cmd *c = realloc(l->cmds, cap * sizeof *c);
        redisReply **rp;

        if (!c)
            return -1;
        l->cmds = c;
        rp = realloc(l->replies, cap * sizeof *rp);
        if (!rp)
            return -1;
        memset(rp + l->cap, 0, (cap - l->cap) * sizeof *rp);
        l->replies = rp;
        l->cap = cap;
    }
    memset(&l->ops[l->n], 0, sizeof l->ops[l->n]);
    l->ops[l->n].kind = kind;
    l->ops[l->n].arg0 = l->nargs;
    l->n++;
    return 0;
}

int rep_cmd_begin(struct rep_cmds *l, enum rep_op_kind kind)
{
    return begin(l, kind);
}

int rep_cmd_script(struct reporter *r, struct rep_cmds *l,
                   enum rep_op_kind kind, enum rep_script s, int nkeys)
{
    if (begin(l, kind) < 0 || rep_arg(r, l, "EVALSHA", 7) < 0
        || rep_arg(r, l, r->sha[s], 40) < 0 || rep_argf(r, l, "%d", nkeys) < 0)
        return -1;
    return 0;
}

int rep_cmd_plain(struct reporter *r, struct rep_cmds *l,
                  enum rep_op_kind kind, const char *name)
{
    if (begin(l, kind) < 0 || rep_arg(r, l, name, strlen(name)) < 0)
        return -1;
    return 0;
}

struct rep_op *rep_cmd_last(struct rep_cmds *l)
{
    return l->n ? &l->ops[l->n - 1] : NULL;
}

void rep_cmds_reset(struct rep_cmds *l)
{
    xw_redis_replies_free(l->replies, l->nreplies);
    l->nreplies = 0;
    l->n = 0;
    l->nargs = 0;
}

void rep_cmds_free(struct rep_cmds *l)
{
    rep_cmds_reset(l);
    free(l->ops);
    free(l->args);
    free(l->cmds);
    free(l->argv);
    free(l->argvlen);
    free(l->replies);
    memset(l, 0, sizeof *l);
}

/* ---- per-batch sets ---------------------------------------------------- */

/* 0 marks an empty slot. */
static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = xw_fnv1a(s, n, XW_FNV1A_INIT);

    return h ? h : 1;
}

static int set_resize(struct rep_set *s, size_t cap)
{
    struct rep_set t = { 0 };

    t.keys = malloc(cap * sizeof *t.keys);
    t.hashes = calloc(cap, sizeof *t.hashes);
    t.vals = malloc(cap * sizeof *t.vals);
    if (!t.keys || !t.hashes || !t.vals) {
        free(t.keys);
        free(t.hashes);
        free(t.vals);
        return -1;
    }
    t.cap = cap;
    for (size_t i = 0; i < s->cap; i++) {
        size_t j;

        if (!s->hashes[i])
            continue;
        for (j = s->hashes[i] & (cap - 1); t.hashes[j]; j = (j + 1) & (cap - 1))
            ;
        t.hashes[j] = s->hashes[i];
        t.keys[j] = s->keys[i];
        t.vals[j] = s->vals[i];
        t.n++;
    }
    free(s->keys);
    free(s->hashes);
    free(s->vals);
    *s = t;
    return 0;
}

int rep_set_add(struct reporter *r, struct rep_set *s, struct rep_str key,
                size_t val, size_t *old)
{
    const char *k = rep_s(r, key);
    uint64_t h = hash(k, key.len);
    size_t j;

    if ((s->n + 1) * 2 > s->cap && set_resize(s, s->cap ? s->cap * 2 : 64) < 0)
        return -1;
    for (j = h & (s->cap - 1); s->hashes[j]; j = (j + 1) & (s->cap - 1))
        if (s->hashes[j] == h && s->keys[j].len == key.len
            && memcmp(rep_s(r, s->keys[j]), k, key.len) == 0) {
            if (old)
                *old = s->vals[j];
            return 0;
        }
    s->hashes[j] = h;
    s->keys[j] = key;
    s->vals[j] = val;
    s->n++;
    return 1;
}

void rep_set_update(struct rep_set *s, const struct reporter *r,
                    struct rep_str key, size_t val)
{
    const char *k = rep_s(r, key);
    uint64_t h = hash(k, key.len);

    for (size_t j = h & (s->cap - 1); s->cap && s->hashes[j];
         j = (j + 1) & (s->cap - 1))
        if (s->hashes[j] == h && s->keys[j].len == key.len
            && memcmp(rep_s(r, s->keys[j]), k, key.len) == 0) {
            s->vals[j] = val;
            return;
        }
}

void rep_set_clear(struct rep_set *s)
{
    if (s->n && s->hashes)
        memset(s->hashes, 0, s->cap * sizeof *s->hashes);
    s->n = 0;
}

void rep_set_free(struct rep_set *s)
{
    free(s->keys);
    free(s->hashes);
    free(s->vals);
    memset(s, 0, sizeof *s);
}

/* ---- pipelines ---------------------------------------------------------- */

int rep_exec(struct reporter *r, struct rep_cmds *l)
{
    int attempt;

    xw_redis_replies_free(l->replies, l->nreplies);
    l->nreplies = 0;
    if (!l->n)
        return 0;
    /* The arena is complete now: turn offsets into pointers. */
    for (size_t i = 0; i < l->nargs; i++) {
        l->argv[i] = rep_s(r, l->args[i]);
        l->argvlen[i] = l->args[i].len;
    }
    for (size_t i = 0; i < l->n; i++) {
        l->cmds[i].argc = (int)l->ops[i].nargs;
        l->cmds[i].argv = l->argv + l->ops[i].arg0;
        l->cmds[i].argvlen = l->argvlen + l->ops[i].arg0;
    }
    for (attempt = 0; attempt < 2; attempt++) {
        /* Every command is idempotent: after a lost connection the whole
         * pipeline may be sent again. */
        if (xw_redis_pipeline(r->redis, l->cmds, l->n, l->replies,
                              XW_REDIS_IDEMPOTENT) == 0) {
            l->nreplies = l->n;
            return 0;
        }
        /* A restarted Redis has an empty script cache: load and resend
         * (the scripts are idempotent, so what ran is not changed). */
        if (attempt || r->redis->err != XW_REDIS_EREPLY
            || !strstr(r->redis->errstr, "NOSCRIPT"))
            break;
        xw_info("REDIS", "script cache empty (Redis restarted?): reloading");
        if (rep_scripts_load(r) < 0)
            break;
    }
    return -1;
}
