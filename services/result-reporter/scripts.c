/*
 * The reporter's Lua scripts. Each one is atomic (Redis runs a script
 * alone) and idempotent (running it twice with the same arguments leaves
 * the same state), so a batch that runs again changes nothing twice.
 *
 * Keys (docs/design.md, "Written by the result-reporter"):
 *   xw:pkgsum:{pkg}      summary JSON, written by CREATED/STARTED/FOLD/
 *                        FINALIZE through enc() below: fixed field order
 *                        and integers printed as integers, so the same
 *                        state always gives the same bytes (the rebuild
 *                        test compares them).
 *   xw:cnt:{pkg}:{att}   total, deployed, failed, excluded, started_at,
 *                        executor (contract) and, internal to the
 *                        reporter: last_at (latest occurred_at among the
 *                        attempt's results), status and finished_at (set
 *                        when final), published (PackageFinished was
 *                        delivered; never set by a rebuild).
 *
 * Order independence: the four topics are read in any interleaving (a
 * rebuild reads them differently from the live run), so every value is a
 * function of the set of events, not of their order: created_at and
 * started_at are minima over chunks, finished_at is the latest result of
 * the attempt, and the summary follows the highest started attempt.
 */
#include <stdio.h>
#include <string.h>

#include "reporter.h"
#include "webhooks.h"
#include "xw_log.h"

/* Helpers shared by the scripts that write the summary. They run at
 * every call (a script's body is its chunk), so they are kept cheap: enc()
 * is one concatenation, not a table of fields joined, and js() quotes a
 * string with nothing to escape itself (what cjson.encode gives for it:
 * plain ASCII without control characters, '"', '\\' or '/'; anything
 * else still goes through cjson.encode, byte for byte as before). */
#define PRELUDE                                                              \
    "local function nz(x)\n"                                                 \
    "  if x == nil or x == false or x == cjson.null then return nil end\n"  \
    "  return x\n"                                                           \
    "end\n"                                                                  \
    "local function num(x) return tonumber(nz(x)) end\n"                     \
    "local find, fmt = string.find, string.format\n"                         \
    "local function js(x)\n"                                                 \
    "  x = nz(x)\n"                                                          \
    "  if x == nil then return 'null' end\n"                                 \
    "  x = tostring(x)\n"                                                    \
    "  if not find(x, '[%c\"\\\\/\\128-\\255]') then\n"                      \
    "    return '\"' .. x .. '\"'\n"                                         \
    "  end\n"                                                                \
    "  return cjson.encode(x)\n"                                             \
    "end\n"                                                                  \
    "local function jn(x)\n"                                                 \
    "  x = num(x)\n"                                                         \
    "  if x == nil then return 'null' end\n"                                 \
    "  return fmt('%d', x)\n"                                                \
    "end\n"                                                                  \
    /* Field order fixed: see the key list above. */                        \
    "local function enc(s)\n"                                                \
    "  return '{\"package_id\":' .. js(s.package_id)\n"                      \
    "    .. ',\"source_workspace\":' .. js(s.source_workspace)\n"            \
    "    .. ',\"destination_workspace\":' .. js(s.destination_workspace)\n"  \
    "    .. ',\"environment\":' .. js(s.environment)\n"                      \
    "    .. ',\"creator\":' .. js(s.creator)\n"                              \
    "    .. ',\"executor\":' .. js(s.executor)\n"                            \
    "    .. ',\"status\":' .. js(s.status)\n"                                \
    "    .. ',\"attempt\":' .. jn(s.attempt)\n"                              \
    "    .. ',\"objects\":' .. jn(s.objects)\n"                              \
    "    .. ',\"total\":' .. jn(s.total)\n"                                  \
    "    .. ',\"deployed\":' .. jn(s.deployed)\n"                            \
    "    .. ',\"failed\":' .. jn(s.failed)\n"                                \
    "    .. ',\"excluded\":' .. jn(s.excluded)\n"                            \
    "    .. ',\"pending\":' .. jn(s.pending)\n"                              \
    "    .. ',\"created_at\":' .. jn(s.created_at)\n"                        \
    "    .. ',\"started_at\":' .. jn(s.started_at)\n"                        \
    "    .. ',\"finished_at\":' .. jn(s.finished_at)\n"                      \
    "    .. ',\"duration_ms\":' .. jn(s.duration_ms) .. '}'\n"               \
    "end\n"                                                                  \
    "local function getj(k)\n"                                               \
    "  local raw = redis.call('GET', k)\n"                                   \
    "  if raw then return cjson.decode(raw), raw end\n"                      \
    "  return nil, nil\n"                                                    \
    "end\n"                                                                  \
    "local CF = {'total', 'deployed', 'failed', 'excluded', 'started_at',\n" \
    "  'last_at', 'executor', 'status', 'finished_at', 'published'}\n"       \
    /* The counters' fields CF of ck, in that order. */                     \
    "local function counters(ck)\n"                                          \
    "  return redis.call('HMGET', ck, unpack(CF))\n"                         \
    "end\n"                                                                  \
    /* Counters of (pkg, att) -> summary, if the summary follows att.      \
     * Returns {'finished', total, deployed, failed, excluded, started_at, \
     * last_at, executor, summary} when every object of the attempt has a  \
     * result and PackageFinished was not delivered yet; {'open'} or      \
     * {'early'} (DeployStarted not seen) otherwise. A caller that has    \
     * the counters (c, as counters() gives them, current) or the summary \
     * (s decoded, raw its stored bytes or nil) passes them: each is read \
     * and decoded once per call. */                                       \
    "local function sync(ck, sk, att, c, s, raw)\n"                          \
    "  c = c or counters(ck)\n"                                              \
    "  if not c[1] then return {'early'} end\n"                              \
    "  local total = tonumber(c[1])\n"                                       \
    "  local d, f, e = tonumber(c[2]) or 0, tonumber(c[3]) or 0,\n"          \
    "    tonumber(c[4]) or 0\n"                                              \
    "  local pend = total - d - f - e\n"                                     \
    "  if pend < 0 then pend = 0 end\n"                                      \
    "  if not s then s, raw = getj(sk) end\n"                                \
    "  if s and num(s.attempt) == att then\n"                                \
    "    s.total, s.deployed, s.failed, s.excluded, s.pending =\n"           \
    "      total, d, f, e, pend\n"                                           \
    "    if c[8] then\n"                                                     \
    "      local fin = tonumber(c[9]) or 0\n"                                \
    "      local dur = fin - (tonumber(c[5]) or fin)\n"                      \
    "      if dur < 0 then dur = 0 end\n"                                    \
    "      s.status, s.finished_at, s.duration_ms = c[8], fin, dur\n"        \
    "    else\n"                                                             \
    "      s.status, s.finished_at, s.duration_ms = 'deploying', nil, nil\n" \
    "    end\n"                                                              \
    "    local out = enc(s)\n"                                               \
    "    if out ~= raw then redis.call('SET', sk, out); raw = out end\n"     \
    "  end\n"                                                                \
    "  if pend == 0 and not c[10] then\n"                                    \
    "    return {'finished', c[1], tostring(d), tostring(f), tostring(e),\n" \
    "      c[5] or '', c[6] or '', c[7] or '', raw or ''}\n"                 \
    "  end\n"                                                                \
    "  return {'open'}\n"                                                    \
    "end\n"

/* KEYS: xw:seen:reporter:{event}, xw:pkgsum:{pkg}, xw:pkgs:{src},
 *       xw:pkgs:{dst}
 * ARGV: ttl, pkg, src, dst, environment, creator, occurred_at, objects in
 *       this chunk, exclusions in this chunk
 * The chunk's counts are added once (per-chunk marker). While no attempt
 * has started the summary is pending, total = pending = objects and
 * excluded = the exclusions; afterwards those belong to the attempt. */
static const char lua_created[] = PRELUDE
    "local first = redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1])\n"
    "local s = getj(KEYS[2]) or {}\n"
    "s.package_id = ARGV[2]\n"
    "s.source_workspace, s.destination_workspace = ARGV[3], ARGV[4]\n"
    "s.environment, s.creator = ARGV[5], ARGV[6]\n"
    "local at = tonumber(ARGV[7])\n"
    "if num(s.created_at) == nil or at < num(s.created_at) then\n"
    "  s.created_at = at\n"
    "end\n"
    "if nz(s.status) == nil then\n"
    "  s.status, s.attempt = 'pending', 0\n"
    "  s.deployed, s.failed, s.excluded = 0, 0, 0\n"
    "end\n"
    "if first then\n"
    "  s.objects = (num(s.objects) or 0) + tonumber(ARGV[8])\n"
    "  if s.status == 'pending' then\n"
    "    s.excluded = (num(s.excluded) or 0) + tonumber(ARGV[9])\n"
    "  end\n"
    "end\n"
    "if s.status == 'pending' then\n"
    "  s.total = num(s.objects) or 0\n"
    "  s.pending = s.total\n"
    "end\n"
    "redis.call('SET', KEYS[2], enc(s))\n"
    "redis.call('ZADD', KEYS[3], jn(s.created_at), ARGV[2])\n"
    "redis.call('ZADD', KEYS[4], jn(s.created_at), ARGV[2])\n"
    "if first then return 1 end\n"
    "return 0\n";

/* KEYS: xw:cnt:{pkg}:{att}, xw:pkgsum:{pkg}, xw:deploying
 * ARGV: pkg, att, total, executor, started_at, src, dst, environment,
 *       creator, occurred_at
 * Records the attempt; the summary follows it unless a later attempt has
 * started. Counts come from the counters (results may have come first),
 * so this also finds an attempt that is already complete. An attempt not
 * final yet is kept in xw:deploying for the timeout sweep (timeout.c),
 * scored with the latest occurred_at of its chunks. */
static const char lua_started[] = PRELUDE
    "local att = tonumber(ARGV[2])\n"
    "local st = tonumber(ARGV[5])\n"
    "local c = counters(KEYS[1])\n"
    "local cur = tonumber(c[5])\n"
    "if cur and cur < st then st = cur end\n"
    "c[1], c[5], c[7] = ARGV[3], jn(st), ARGV[4]\n"
    "redis.call('HSET', KEYS[1], 'total', c[1], 'executor', c[7],\n"
    "  'started_at', c[5])\n"
    "if not c[8] then\n"
    "  local m, at = ARGV[1] .. ' ' .. ARGV[2], tonumber(ARGV[10])\n"
    "  local sc = tonumber(redis.call('ZSCORE', KEYS[3], m))\n"
    "  if not sc or at > sc then redis.call('ZADD', KEYS[3], at, m) end\n"
    "end\n"
    "local s, raw = getj(KEYS[2])\n"
    "s = s or {}\n"
    /* sync() writes it (its status and counts come from the counters). */
    "if att >= (num(s.attempt) or 0) then\n"
    "  s.package_id = ARGV[1]\n"
    "  s.source_workspace, s.destination_workspace = ARGV[6], ARGV[7]\n"
    "  s.environment, s.creator = ARGV[8], ARGV[9]\n"
    "  s.attempt, s.executor, s.started_at = att, ARGV[4], st\n"
    "end\n"
    "return sync(KEYS[1], KEYS[2], att, c, s, raw)\n";

/* KEYS: xw:res:{pkg}:{att}, xw:res:{pkg}, xw:cnt:{pkg}:{att},
 *       xw:cnt:{pkg}:{att+1}, xw:pkgsum:{pkg}
 *       (and the later attempts' xw:cnt / xw:res keys, by name, below)
 * ARGV: att, then per result: object, result (the ObjectResult message's
 *       bytes, Avro single-object encoding; see fold.c), outcome,
 *       occurred_at
 * For each result, in order, exactly what "HSETNX the attempt's hash, and
 * count it if it was new" does: a result is new if its object has no
 * result in this attempt yet (in the hash or earlier in ARGV). New results
 * are marked in the attempt's hash by their outcome only (the hash is the
 * attempt's dedup record and the timeout sweep's list; the whole result
 * is kept once, in the latest hash, and always on the results topic),
 * become the latest result of their object (unless a later attempt
 * already has one), and are counted; last_at is the latest occurred_at
 * among them. Then the summary follows the counters.
 * Returns {state of the attempt (see sync), {1 new | 0 duplicate, ...}}. */
static const char lua_fold[] = PRELUDE
    "local att = tonumber(ARGV[1])\n"
    "local n = (#ARGV - 1) / 4\n"
    "local objs = {}\n"
    "for i = 1, n do objs[i] = ARGV[4 * i - 2] end\n"
    "local have = redis.call('HMGET', KEYS[1], unpack(objs))\n"
    "local new, mark, flags, cnt, seen, last = {}, {}, {}, {}, {}, nil\n"
    "for i = 1, n do\n"
    "  local o = objs[i]\n"
    "  if have[i] or seen[o] then\n"
    "    flags[i] = 0\n"
    "  else\n"
    "    seen[o] = true\n"
    "    flags[i] = 1\n"
    "    new[#new + 1] = o\n"
    "    new[#new + 1] = ARGV[4 * i - 1]\n"
    "    local oc, at = ARGV[4 * i], tonumber(ARGV[4 * i + 1])\n"
    "    mark[#mark + 1] = o\n"
    "    mark[#mark + 1] = oc\n"
    "    cnt[oc] = (cnt[oc] or 0) + 1\n"
    "    if not last or at > last then last = at end\n"
    "  end\n"
    "end\n"
    "local c = counters(KEYS[3])\n"
    /* HINCRBY refused a counter that is not an integer; so does this,
     * before anything is written. */
    "for i = 2, 4 do\n"
    "  if c[i] and not tonumber(c[i]) then\n"
    "    return redis.error_reply('ERR counter ' .. KEYS[3] ..\n"
    "      ' is not an integer')\n"
    "  end\n"
    "end\n"
    "if #new > 0 then\n"
    "  redis.call('HSET', KEYS[1], unpack(mark))\n"
    "  if redis.call('EXISTS', KEYS[4]) == 0 then\n"
    "    redis.call('HSET', KEYS[2], unpack(new))\n"
    "  else\n"
    /* Rare (a new result of an attempt while a later one exists: e.g. a
     * rebuild that read xw.deploy ahead of xw.results): object by object,
     * keep a later attempt's result as the latest. The stored value does
     * not say its attempt without decoding it; instead, an object has a
     * later attempt's result exactly when a later attempt's hash marks it.
     * Attempts are numbered 1, 2, ... and each one has its counters from
     * its DeployStarted or its first result on, so the later attempts are
     * att+1, att+2, ... up to the first without counters. */
    "    local later, cp = {}, string.match(KEYS[3], '^(.*:)%d+$')\n"
    "    local a = att + 1\n"
    "    while redis.call('EXISTS', cp .. a) == 1 do\n"
    "      later[#later + 1] = KEYS[2] .. ':' .. a\n"
    "      a = a + 1\n"
    "    end\n"
    "    for k = 1, #new, 2 do\n"
    "      local keep = false\n"
    "      for _, lk in ipairs(later) do\n"
    "        if redis.call('HEXISTS', lk, new[k]) == 1 then\n"
    "          keep = true\n"
    "          break\n"
    "        end\n"
    "      end\n"
    "      if not keep then\n"
    "        redis.call('HSET', KEYS[2], new[k], new[k + 1])\n"
    "      end\n"
    "    end\n"
    "  end\n"
    /* The counters are read once, updated here (what HINCRBY of each
     * outcome and "last_at = max" give) and written with one HSET; sync()
     * goes on from the same values. */
    "  local up = {}\n"
    "  for i, oc in ipairs({'deployed', 'failed', 'excluded'}) do\n"
    "    if cnt[oc] then\n"
    "      c[i + 1] = fmt('%d', (tonumber(c[i + 1]) or 0) + cnt[oc])\n"
    "      up[#up + 1] = oc\n"
    "      up[#up + 1] = c[i + 1]\n"
    "    end\n"
    "  end\n"
    "  local cur = tonumber(c[6])\n"
    "  if not cur or last > cur then\n"
    "    c[6] = jn(last)\n"
    "    up[#up + 1] = 'last_at'\n"
    "    up[#up + 1] = c[6]\n"
    "  end\n"
    "  if #up > 0 then redis.call('HSET', KEYS[3], unpack(up)) end\n"
    "end\n"
    "return {sync(KEYS[3], KEYS[5], att, c), flags}\n";

/* KEYS: xw:cnt:{pkg}:{att}, xw:pkgsum:{pkg} (and xw:deploying, by name)
 * ARGV: att, status (from the rule module), finished_at, published 0/1 */
static const char lua_finalize[] = PRELUDE
    "if ARGV[4] == '1' then\n"
    "  redis.call('HSET', KEYS[1], 'status', ARGV[2], 'finished_at', ARGV[3],\n"
    "    'published', '1')\n"
    "else\n"
    "  redis.call('HSET', KEYS[1], 'status', ARGV[2], 'finished_at', ARGV[3])\n"
    "end\n"
    /* No longer deploying: out of the timeout sweep's set (see STARTED;
     * its member is "{pkg} {att}", read back from the counters' key). */
    "local p, a = string.match(KEYS[1], '^xw:cnt:(.+):(%d+)$')\n"
    "if p then redis.call('ZREM', 'xw:deploying', p .. ' ' .. a) end\n"
    "sync(KEYS[1], KEYS[2], tonumber(ARGV[1]))\n"
    "return 1\n";

/* KEYS: xw:seen:reporter:{event}, xw:audit [, xw:audit:{ws}]
 * ARGV: ttl, record JSON, cap. Returns 1 recorded, 0 duplicate. */
static const char lua_audit[] =
    "if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then\n"
    "  return 0\n"
    "end\n"
    "local cap = tonumber(ARGV[3]) - 1\n"
    "for i = 2, #KEYS do\n"
    "  redis.call('LPUSH', KEYS[i], ARGV[2])\n"
    "  redis.call('LTRIM', KEYS[i], 0, cap)\n"
    "end\n"
    "return 1\n";

static const char *const script_src[REP_LUA_COUNT] = {
    [REP_LUA_CREATED] = lua_created,   [REP_LUA_STARTED] = lua_started,
    [REP_LUA_FOLD] = lua_fold,         [REP_LUA_FINALIZE] = lua_finalize,
    [REP_LUA_AUDIT] = lua_audit,       [REP_LUA_WH_ENQUEUE] = rep_lua_wh_enqueue,
};

int rep_scripts_load(struct reporter *r)
{
    for (int i = 0; i < REP_LUA_COUNT; i++) {
        redisReply *rep = xw_redis_command_idem(r->redis, "SCRIPT LOAD %s",
                                                script_src[i]);

        if (!rep)
            return -1;
        if (rep->type != REDIS_REPLY_STRING || rep->len != 40) {
            snprintf(r->redis->errstr, sizeof r->redis->errstr,
                     "SCRIPT LOAD: unexpected reply");
            return -1;
        }
        memcpy(r->sha[i], rep->str, 40);
        r->sha[i][40] = '\0';
    }
    return 0;
}
