/*
 * cli.h - what the parts of the `xwdeploy` command-line client share.
 *
 * Layout: main.c parses global options, reads the configuration and
 * dispatches through one command table; each command group lives in its
 * own file (workspace.c, environment.c, production.c, basket.c, package.c,
 * result.c, request.c, ops.c); client.c talks to the API through xw_http;
 * output.c renders tables, records, errors and progress.
 *
 * Conventions used throughout:
 *  - Every command handler returns an exit code (enum cli_exit) and has
 *    already printed whatever explains a failure; nothing else prints it
 *    again.
 *  - JSON values handed out are NEW references unless a comment says
 *    BORROWED; an xw_buf handed in is never freed by the callee.
 *  - The token lives in struct cli only. It goes into the Authorization
 *    header and nowhere else: not into messages, logs or the URL.
 */
#ifndef XW_CLI_H
#define XW_CLI_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "xw_buf.h"
#include "xw_http.h"

/* Exit codes scripts can trust (documented in docs/cli.md and --help). */
enum cli_exit {
    CLI_OK = 0,          /* success; with --wait: package succeeded */
    CLI_FAILED = 1,      /* package finished failed / request rejected */
    CLI_USAGE = 2,       /* bad command line, unreadable input file */
    CLI_AUTH = 3,        /* 401 / 403 */
    CLI_NOTFOUND = 4,    /* 404 */
    CLI_INVALID = 5,     /* 400 / 409 / 422 (and 405, 413, 415) */
    CLI_UNAVAILABLE = 6, /* 5xx, network, timeout, garbage from the server */
    CLI_TIMEOUT = 7,     /* --wait gave up after --timeout */
    CLI_INTERRUPTED = 130,
};

/* Every option, global or per command, in one enumeration; main.c's option
 * table gives each its spelling, argument and bounds. */
enum cli_opt {
    /* global */
    OPT_URL, OPT_TOKEN, OPT_JSON, OPT_WAIT, OPT_TIMEOUT, OPT_IDEM_KEY,
    OPT_QUIET, OPT_HELP, OPT_VERSION,
    /* per command (a command's usage string says which it takes) */
    OPT_DRY_RUN, OPT_KIND, OPT_OWNER, OPT_SEARCH, OPT_ALL, OPT_ENV,
    OPT_DEPLOY_NOW, OPT_RG_OVERRIDE, OPT_STATUS, OPT_CREATOR, OPT_EXECUTOR,
    OPT_SINCE, OPT_UNTIL, OPT_OFFSET, OPT_LIMIT, OPT_BIZDATE, OPT_CYCTIME,
    OPT_WORKSPACE,
    OPT_SECRET_FILE, OPT_SOURCE, OPT_DESTINATION, OPT_EVENTS,
    OPT_HOOK_URL,                /* a webhook command's --url (main.c) */
    OPT_COUNT
};

/* The parsed command line. Strings are BORROWED from argv. */
struct cli_args {
    const char **pos;            /* positionals after the command words */
    size_t npos;
    const char *val[OPT_COUNT];  /* NULL = not given; flags get "1" */
};

#define CLI_NELEM(a) (sizeof (a) / sizeof (a)[0])

/* Caps on what comes from outside (STYLE.md 5). */
#define CLI_MAX_RESPONSE (64u * 1024u * 1024u) /* one API answer */
#define CLI_MAX_INPUT    (64u * 1024u * 1024u) /* one FILE or stdin */
#define CLI_MAX_ITEMS    10000u   /* API limit on one array in a body */
#define CLI_MAX_CHUNK_BYTES (4u * 1024u * 1024u) /* under the 8 MiB body cap */
#define CLI_MAX_ALL      1000000u /* ids gathered by `basket add --all` */
#define CLI_PAGE_MAX     1000     /* API's largest page */
#define CLI_IDEM_MAX     128      /* API: Idempotency-Key is 1..128 chars */

/* Process-wide state of one invocation. */
struct cli {
    char *url;                   /* base URL, no trailing '/' (owned) */
    char *token;                 /* owned; NULL = none (expect a 401) */
    int json, wait, quiet;
    long timeout_s;              /* bound on --wait */
    int64_t deadline_ms;         /* xw_mono_ms() when --wait gives up */
    char idem_key[CLI_IDEM_MAX + 1]; /* this invocation's key */
    const char *key_override;    /* a chunk's derived key, else NULL */
    xw_http_client *http;
};

/* Set by SIGINT / SIGTERM; long waits and retries stop on it. */
extern volatile sig_atomic_t cli_stop;

/* A command handler. */
typedef int (*cli_run_fn)(struct cli *c, const struct cli_args *a);

/* Handlers, one per table row of main.c. */
int cli_workspace_put(struct cli *c, const struct cli_args *a);
int cli_workspace_get(struct cli *c, const struct cli_args *a);
int cli_workspace_info(struct cli *c, const struct cli_args *a);
int cli_env_create(struct cli *c, const struct cli_args *a);
int cli_env_list(struct cli *c, const struct cli_args *a);
int cli_env_get(struct cli *c, const struct cli_args *a);
int cli_env_update(struct cli *c, const struct cli_args *a);
int cli_env_delete(struct cli *c, const struct cli_args *a);
int cli_prod_deploy(struct cli *c, const struct cli_args *a);
int cli_prod_terminate(struct cli *c, const struct cli_args *a);
int cli_prod_list(struct cli *c, const struct cli_args *a);
int cli_basket_show(struct cli *c, const struct cli_args *a);
int cli_basket_add(struct cli *c, const struct cli_args *a);
int cli_basket_remove(struct cli *c, const struct cli_args *a);
int cli_basket_clear(struct cli *c, const struct cli_args *a);
int cli_package_create(struct cli *c, const struct cli_args *a);
int cli_package_deploy(struct cli *c, const struct cli_args *a);
int cli_package_replay(struct cli *c, const struct cli_args *a);
int cli_package_list(struct cli *c, const struct cli_args *a);
int cli_package_show(struct cli *c, const struct cli_args *a);
int cli_objects(struct cli *c, const struct cli_args *a);
int cli_request(struct cli *c, const struct cli_args *a);
int cli_param_resolve(struct cli *c, const struct cli_args *a);
int cli_health(struct cli *c, const struct cli_args *a);
int cli_audit(struct cli *c, const struct cli_args *a);
int cli_dlq_list(struct cli *c, const struct cli_args *a);
int cli_dlq_replay(struct cli *c, const struct cli_args *a);
int cli_webhook_create(struct cli *c, const struct cli_args *a);
int cli_webhook_list(struct cli *c, const struct cli_args *a);
int cli_webhook_show(struct cli *c, const struct cli_args *a);
int cli_webhook_update(struct cli *c, const struct cli_args *a);
int cli_webhook_pause(struct cli *c, const struct cli_args *a);
int cli_webhook_resume(struct cli *c, const struct cli_args *a);
int cli_webhook_delete(struct cli *c, const struct cli_args *a);
int cli_webhook_deliveries(struct cli *c, const struct cli_args *a);
int cli_webhook_redeliver(struct cli *c, const struct cli_args *a);

/* ---- client.c: the API on xw_http ------------------------------------ */

/* One API answer: the raw body as the server sent it (for --json) and
 * its decoded form. Initialise with CLI_ANSWER_INIT. */
struct cli_answer {
    xw_http_resp resp;
    json_t *json;                /* decoded 2xx body; NULL otherwise */
};
#define CLI_ANSWER_INIT { XW_HTTP_RESP_INIT, NULL }
void cli_answer_release(struct cli_answer *ans);

enum {
    CLI_CALL_SILENT = 1 << 0,    /* print nothing on failure */
};

/*
 * One API call with retries (xw_http_request_retry: 5xx, 408, 429,
 * connection and timeout failures). Every request other than GET carries
 * the invocation's Idempotency-Key (or c->key_override), identical on
 * every retry, so a retried POST is applied once. `path` starts with
 * "/v1/" or "/health" and may carry a query string. `body` may be NULL.
 * timeout_ms 0 = the default per-attempt timeout.
 *
 * Returns CLI_OK with ans->json set (a JSON object or array) or the exit
 * code of the failure, after printing it (unless CLI_CALL_SILENT); with
 * --json a JSON error body is also copied to stdout.
 */
int cli_call(struct cli *c, const char *method, const char *path,
             const xw_buf *body, long timeout_ms, unsigned flags,
             struct cli_answer *ans);

/* A write (POST/PUT/DELETE that answers 202). With --wait, after the
 * answer, polls the request until it is done or rejected and leaves its
 * final status in `status` (may be NULL when not waiting). Returns CLI_OK,
 * CLI_FAILED (rejected, error printed), CLI_TIMEOUT, or a call error.
 * Prints nothing on success: see cli_report_write(). */
int cli_write(struct cli *c, const char *method, const char *path,
              const xw_buf *body, struct cli_answer *accepted,
              struct cli_answer *status);
/* The usual report of a successful write: --json: the raw answer (the
 * final request status when waited); -q: the package id if one was
 * created, else the request id; otherwise one or two readable lines.
 * `what` says what was asked ("environment to-prod created"). */
void cli_report_write(struct cli *c, const struct cli_answer *accepted,
                      const struct cli_answer *status, const char *what);

/* Polls GET /v1/requests/{rid}?wait_ms= until done (CLI_OK) or rejected
 * (CLI_FAILED, error printed), or --timeout passes (CLI_TIMEOUT). */
int cli_wait_request(struct cli *c, const char *rid, struct cli_answer *st);

/* How a read is shown: a custom renderer, or (render NULL) the list
 * printer with items_key and columns. */
struct cli_view {
    const char *items_key;
    const struct cli_col *cols;
    size_t ncols;
    int (*render)(struct cli *c, const json_t *answer);
};

/* GET the path formatted from fmt (ids in it are checked by main.c) plus
 * the list filters of `a` (may be NULL), then print: --json the raw
 * answer, else the view. Returns the exit code. */
int cli_show(struct cli *c, const struct cli_view *view,
             const struct cli_args *a, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A whole write: serialise body (may be NULL), cli_write() to the path
 * formatted from fmt, cli_report_write() with `what`. */
int cli_send(struct cli *c, const char *method, const json_t *body,
             const char *what, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Polls GET /v1/packages/{id} until its status is final (succeeded or
 * failed), showing progress on stderr unless -q. `before` is the package
 * as read just before the POST that started this attempt (NULL: none):
 * if it was already final, that same final state is stale and not the
 * answer; only a later attempt, or a final state after a running one, is.
 * Without `before` a 404 in the first seconds counts as "not created yet".
 * Returns CLI_OK (succeeded), CLI_FAILED, CLI_TIMEOUT or a call error;
 * `final` gets the last answer. */
int cli_follow_package(struct cli *c, const char *id, const json_t *before,
                       struct cli_answer *final);

/* The package as it is now (NEW reference), NULL if it cannot be read;
 * prints nothing. */
json_t *cli_package_peek(struct cli *c, const char *id);

/* Appends "?name=value" or "&name=value", percent-encoding value; a NULL
 * value appends nothing. 0 or -1 (memory). */
int cli_query_add(xw_buf *url, const char *name, const char *value);
/* Appends the paging and filter options a list command was given. */
int cli_query_filters(xw_buf *url, const struct cli_args *a);

/* Reads FILE ("-" = stdin), at most CLI_MAX_INPUT bytes, and parses it as
 * JSON. NULL after printing why: *rc = CLI_USAGE (cannot read) or
 * CLI_INVALID (not JSON). */
json_t *cli_read_json(const char *file, int *rc);

/*
 * Sends `items` in chunks under the API's array limit: each chunk is the
 * object `base` (BORROWED, copied per chunk) plus key -> a slice of items,
 * POSTed to path as a write. The first chunk uses the invocation's
 * Idempotency-Key, chunk i > 0 a key derived from it and i, so running
 * the same invocation again with the same key repeats nothing. Reports
 * each chunk as "N objects <what>" or "objects 1-10000 of N <what>" (see
 * cli_report_write; with --json one line per chunk when there is more
 * than one).
 */
int cli_write_chunked(struct cli *c, const char *path, const json_t *base,
                      const char *key, const json_t *items,
                      size_t max_bytes, const char *what);

/* ---- output.c: rendering -------------------------------------------- */

enum cli_fmt {
    FMT_TEXT,    /* strings as is, numbers as numbers, arrays joined */
    FMT_TIME,    /* epoch milliseconds -> ISO-8601 UTC; strings as is */
    FMT_COUNT,   /* an array's length */
    FMT_BOOL,    /* yes / no */
};

/* A column (or a record line). `path` picks the value out of an item:
 * dotted keys ("counts.total"), alternatives separated by '|' tried in
 * order ("object_id|id"), "." for the item itself. Because the shapes of
 * some answers may still move, every renderer goes through these paths and
 * shows "-" for anything missing rather than failing. */
struct cli_col {
    const char *header;
    const char *path;
    enum cli_fmt fmt;
    int maxw;            /* cap in characters; longer cells end in "…" */
};

/* BORROWED value at `path` in j, or NULL. */
const json_t *cli_json_at(const json_t *j, const char *path);
/* String at path or NULL (BORROWED). */
const char *cli_str_at(const json_t *j, const char *path);
/* Integer at path, or def when absent / not an integer. */
long long cli_int_at(const json_t *j, const char *path, long long def);

/* Renders the value at col->path of item into out (sanitised: control
 * characters become '?', capped to maxw characters with "…"). */
void cli_cell(const json_t *item, const struct cli_col *col, char *out,
              size_t outlen);

/* An aligned table of items (array of objects or of strings) to stdout.
 * quiet: only the first column, no header. */
void cli_table(const json_t *items, const struct cli_col *cols,
               size_t ncols, int quiet);
/* The one printer for every list answer: accepts a paged object
 * {"items":[…],"total":…} (items_key names the array) or a bare array,
 * prints the table and, unless quiet, a paging note on stderr. Returns
 * CLI_OK, or CLI_UNAVAILABLE when the answer holds no such list. */
int cli_print_list(struct cli *c, const json_t *answer,
                    const char *items_key, const struct cli_col *cols,
                    size_t ncols);
/* "label:  value" lines, labels aligned; lines whose value is missing
 * are left out. */
void cli_record(const json_t *obj, const struct cli_col *fields,
                size_t nfields);
/* A titled sub-table ("\nMEMBERS (3)"), "(none)" when empty. */
void cli_section(const char *title, const json_t *items,
                 const struct cli_col *cols, size_t ncols);

/* A titled sub-table per entry: obj[key] rendered with cols. */
struct cli_sect {
    const char *title, *key;
    const struct cli_col *cols;
    size_t ncols;
};
void cli_sections(const json_t *obj, const struct cli_sect *s, size_t n);

/* Writes the raw body of an answer to stdout with a final newline. */
void cli_print_raw(const xw_buf *body);

/* The API's error JSON as one line
 *   error: 422 objects[3].compute_resource: <message> (rule)
 * plus "  <severity> <code> <field>: <message>" per finding. Anything that
 * is not the documented shape is shown as status plus a sanitised excerpt. */
void cli_print_api_error(long status, const xw_buf *body);

/* Findings (validation results) one per line:
 *   "  <severity> <code> <field>: <message>"
 * A lone finding whose message is `skip` (the headline; may be NULL) is
 * not repeated. */
void cli_print_findings(FILE *f, const json_t *findings, const char *skip);

/* Package progress "package p-1: deploying, deployed 40/100, failed 2" on
 * stderr: rewritten in place on a terminal, one line per change
 * otherwise. final ends the line. */
void cli_progress(const char *id, const json_t *pkg, int final);

/* Prints to stderr "xwdeploy: <msg>", sanitised. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Copies s into out replacing control characters, capped (for echoing
 * user or server input in messages). */
void cli_sanitize(const char *s, char *out, size_t outlen);

/* Milliseconds since the epoch -> "2026-11-26T10:00:00Z". */
void cli_iso8601(long long ms, char *out, size_t outlen);
/* The other way: epoch milliseconds as digits, or ISO-8601 "2026-11-26",
 * "2026-11-26T10:00[:00[.123]]" with "Z" or "+08:00" (none: UTC).
 * 0, or -1 if s is none of these. */
int cli_parse_time(const char *s, long long *ms);

#endif
