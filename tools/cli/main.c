/*
 * xwdeploy - the command-line client of the xwdeploy HTTP API
 * (docs/api.md; reference and examples in docs/cli.md).
 *
 * This file holds the two tables everything else hangs on:
 *
 *  - options[]: every option, global or per command, with its spelling,
 *    argument and bounds;
 *  - commands[]: every command with a usage string such as
 *      "WS --env NAME [OBJ...] [--deploy-now] [--rg-override RG]".
 *    The usage string is not only help text: it is parsed to decide which
 *    options the command accepts, which are required, how many positionals
 *    it takes and how each is checked (WS is a workspace id, FILE|- a file,
 *    ...). So the help can never disagree with what the parser accepts.
 *
 * Then it resolves the URL and token (flag, environment, config file,
 * default) and calls the command's handler, whose return value is the exit
 * code.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "xw_id.h"
#include "xw_log.h"

#define CLI_VERSION "0.1.0"
#define DEFAULT_URL "http://127.0.0.1:8080"
#define DEFAULT_WAIT_S 600L
#define MAX_CONFIG_BYTES (64 * 1024)
#define MAX_URL_LEN 2048
#define MAX_TOKEN_LEN 4096
#define MAX_TEXT_LEN 1024     /* free text values: expressions, searches */

volatile sig_atomic_t cli_stop;

/* How a positional or option value is checked before any request. Ids
 * end up in URL paths, so they must pass the API's id rule here rather
 * than be mangled by the URL parser (".." would even be resolved away). */
enum check { CHK_NONE, CHK_ID, CHK_NAME, CHK_INT, CHK_TEXT, CHK_TIME };

struct optdef {
    const char *name;      /* --name */
    char shortc;           /* -c, or 0 */
    const char *metavar;   /* NULL: a flag */
    enum check check;
    long long min, max;    /* CHK_INT bounds */
    int global;
    const char *help;
};

static const struct optdef options[OPT_COUNT] = {
    [OPT_URL] = { "url", 0, "URL", CHK_TEXT, 0, 0, 1,
        "API base URL (else $XW_API_URL, config file, " DEFAULT_URL ")" },
    [OPT_TOKEN] = { "token", 0, "TOKEN", CHK_NONE, 0, 0, 1,
        "bearer token (else $XW_TOKEN, config file); prefer those: "
        "arguments are visible to other local users" },
    [OPT_JSON] = { "json", 0, NULL, CHK_NONE, 0, 0, 1,
        "print the API's JSON answer as is (for scripts)" },
    [OPT_WAIT] = { "wait", 0, NULL, CHK_NONE, 0, 0, 1,
        "writes: wait until the request is applied; package deploys: "
        "until the package succeeded or failed" },
    [OPT_TIMEOUT] = { "timeout", 0, "SECONDS", CHK_INT, 1, 86400, 1,
        "give up waiting after SECONDS (default 600), exit 7" },
    [OPT_IDEM_KEY] = { "idempotency-key", 0, "K", CHK_TEXT, 0, 0, 1,
        "Idempotency-Key of this write (default: a new random UUID); "
        "repeat a write with the same K and it is applied once" },
    [OPT_QUIET] = { "quiet", 'q', NULL, CHK_NONE, 0, 0, 1,
        "no progress or notes; lists print ids only; writes print the "
        "package or request id" },
    [OPT_HELP] = { "help", 'h', NULL, CHK_NONE, 0, 0, 1,
        "this help, or a command's (xwdeploy package --help)" },
    [OPT_VERSION] = { "version", 0, NULL, CHK_NONE, 0, 0, 1,
        "print the version" },
    [OPT_DRY_RUN] = { "dry-run", 0, NULL, CHK_NONE, 0, 0, 0, NULL },
    [OPT_KIND] = { "kind", 0, "K", CHK_TEXT, 0, 0, 0, NULL },
    [OPT_OWNER] = { "owner", 0, "U", CHK_ID, 0, 0, 0, NULL },
    [OPT_SEARCH] = { "q", 0, "S", CHK_TEXT, 0, 0, 0, NULL },
    [OPT_ALL] = { "all", 0, NULL, CHK_NONE, 0, 0, 0, NULL },
    [OPT_ENV] = { "env", 0, "NAME", CHK_ID, 0, 0, 0, NULL },
    [OPT_DEPLOY_NOW] = { "deploy-now", 0, NULL, CHK_NONE, 0, 0, 0, NULL },
    [OPT_RG_OVERRIDE] = { "rg-override", 0, "RG", CHK_NAME, 0, 0, 0, NULL },
    [OPT_STATUS] = { "status", 0, "S", CHK_TEXT, 0, 0, 0, NULL },
    [OPT_CREATOR] = { "creator", 0, "U", CHK_ID, 0, 0, 0, NULL },
    [OPT_EXECUTOR] = { "executor", 0, "U", CHK_ID, 0, 0, 0, NULL },
    [OPT_SINCE] = { "since", 0, "T", CHK_TIME, 0, 0, 0, NULL },
    [OPT_UNTIL] = { "until", 0, "T", CHK_TIME, 0, 0, 0, NULL },
    [OPT_OFFSET] = { "offset", 0, "N", CHK_INT, 0, 100000000, 0, NULL },
    [OPT_LIMIT] = { "limit", 0, "N", CHK_INT, 1, CLI_PAGE_MAX, 0, NULL },
    [OPT_BIZDATE] = { "bizdate", 0, "D", CHK_TEXT, 0, 0, 0, NULL },
    [OPT_CYCTIME] = { "cyctime", 0, "T", CHK_TEXT, 0, 0, 0, NULL },
    [OPT_WORKSPACE] = { "workspace", 0, "WS", CHK_ID, 0, 0, 0, NULL },
    [OPT_SECRET_FILE] = { "secret-file", 0, "F", CHK_TEXT, 0, 0, 0, NULL },
    [OPT_SOURCE] = { "source", 0, "WS", CHK_ID, 0, 0, 0, NULL },
    [OPT_DESTINATION] = { "destination", 0, "WS", CHK_ID, 0, 0, 0, NULL },
    [OPT_EVENTS] = { "events", 0, "E,...", CHK_TEXT, 0, 0, 0, NULL },
    [OPT_HOOK_URL] = { "webhook-url", 0, "U", CHK_TEXT, 0, 0, 0, NULL },
};

/* Positional metavariables of the usage strings and how each is checked. */
static const struct {
    const char *metavar;
    enum check check;
    const char *what;
} metavars[] = {
    { "WS", CHK_ID, "workspace id" },
    { "NAME", CHK_ID, "environment name" },
    { "OBJ", CHK_ID, "object id" },
    { "OBJECT", CHK_ID, "object id" },
    { "ID", CHK_ID, "id" },
    { "FILE|-", CHK_NONE, "file" },
    { "EXPR", CHK_TEXT, "expression" },
    { "EVENT", CHK_ID, "event id" },
    { "DELIVERY", CHK_ID, "delivery id" },
};

enum {
    CMD_KEYED = 1 << 0,  /* not a GET: takes --idempotency-key */
    CMD_WAIT = 1 << 1,   /* takes --wait / --timeout */
    CMD_WRITE = CMD_KEYED | CMD_WAIT,
    CMD_OWN_URL = 1 << 2, /* --url is the command's (a webhook's address) */
};

struct cmd {
    const char *group;
    const char *verb;    /* NULL: a one-word command */
    const char *usage;
    unsigned flags;
    cli_run_fn run;
    const char *help;
};

static const struct cmd commands[] = {
    { "workspace", "put", "FILE|-", CMD_WRITE, cli_workspace_put,
      "register or update the workspace FILE describes (its \"id\"); "
      "system admin" },
    { "workspace", "get", "WS", 0, cli_workspace_get,
      "a workspace: account, region, mode, members and resources" },
    { "workspace", "info", "WS", 0, cli_workspace_info,
      "environment information: compute resources, resource groups, data "
      "sources, projects" },
    { "env", "create", "WS FILE|- [--dry-run]", CMD_WRITE, cli_env_create,
      "step 1: create a deployment environment of source WS; --dry-run "
      "only validates and prints the findings" },
    { "env", "list", "WS [--offset N] [--limit N]", 0, cli_env_list,
      "the deployment environments of WS" },
    { "env", "get", "WS NAME", 0, cli_env_get,
      "one environment with all its mappings" },
    { "env", "update", "WS NAME FILE|-", CMD_WRITE, cli_env_update,
      "replace an environment" },
    { "env", "delete", "WS NAME", CMD_WRITE, cli_env_delete,
      "delete an environment" },
    { "prod", "deploy", "WS FILE|-", CMD_WRITE, cli_prod_deploy,
      "step 2: deploy object versions to WS's production (nodes to "
      "deploy); FILE holds {\"objects\":[...]}, an array or one object" },
    { "prod", "terminate", "WS OBJECT", CMD_WRITE, cli_prod_terminate,
      "take an object off the nodes to deploy" },
    { "prod", "list", "WS [--kind K] [--owner U] [--q S] [--offset N] "
      "[--limit N]", 0, cli_prod_list, "the nodes to deploy of WS" },
    { "basket", "show", "WS", 0, cli_basket_show,
      "step 3: your basket in WS" },
    { "basket", "add", "WS [OBJ...] [--all] [--kind K] [--owner U] [--q S]",
      CMD_WRITE, cli_basket_add,
      "add objects to your basket; --all adds every node to deploy (or "
      "those matching --kind/--owner/--q)" },
    { "basket", "remove", "WS OBJ", CMD_WRITE, cli_basket_remove,
      "remove one object from your basket" },
    { "basket", "clear", "WS", CMD_WRITE, cli_basket_clear,
      "empty your basket" },
    { "package", "create", "WS --env NAME [OBJ...] [--deploy-now] "
      "[--rg-override RG]", CMD_WRITE, cli_package_create,
      "freeze a package of OBJ... (default: your basket) against "
      "environment NAME; --deploy-now (admin) deploys it at once" },
    { "package", "deploy", "ID [--rg-override RG]", CMD_WRITE,
      cli_package_deploy,
      "step 4: deploy a package, optionally into resource group RG" },
    { "package", "replay", "ID", CMD_WRITE, cli_package_replay,
      "deploy again only the objects that failed in the latest attempt" },
    { "package", "list", "WS [--status S] [--creator U] [--executor U] "
      "[--env NAME] [--since T] [--until T] [--offset N] [--limit N]", 0,
      cli_package_list, "step 5: packages of WS, newest first" },
    { "package", "show", "ID", CMD_WAIT, cli_package_show,
      "a package and every object's outcome; --wait follows it to the end" },
    { "replay", NULL, "ID", CMD_WRITE, cli_package_replay,
      "same as package replay" },
    { "objects", NULL, "WS [--kind K] [--owner U] [--q S] [--offset N] "
      "[--limit N]", 0, cli_objects,
      "what destination WS now runs (the Operation Center view)" },
    { "request", NULL, "ID", CMD_WAIT, cli_request,
      "status of an accepted write; --wait until it is done or rejected" },
    { "param", "resolve", "EXPR --bizdate D --cyctime T", CMD_KEYED,
      cli_param_resolve,
      "resolve a scheduling parameter expression, e.g. '$[yyyymmdd-1]' "
      "--bizdate 2026-11-25 --cyctime 2026-11-26T02:00:00" },
    { "audit", NULL, "[--workspace WS] [--offset N] [--limit N]", 0,
      cli_audit, "every write the API answered, newest first (system "
      "admins; a workspace's admins with --workspace)" },
    { "dlq", "list", "[--offset N] [--limit N]", 0, cli_dlq_list,
      "dead letters: events a service could not handle (system admins)" },
    { "dlq", "replay", "EVENT", CMD_KEYED, cli_dlq_replay,
      "send a dead letter's original bytes back to its topic once the "
      "cause is fixed (system admins)" },
    { "health", NULL, "", 0, cli_health,
      "is the API up (no token needed)" },
    { "webhook", "create", "--url U --secret-file F [--source WS] "
      "[--destination WS] [--status S] [--events E,...]",
      CMD_KEYED | CMD_OWN_URL, cli_webhook_create,
      "subscribe URL to deploy results: signed POSTs of package_finished "
      "and object_result events, filtered by source or destination "
      "workspace, status (succeeded|failed) and event types; the API URL "
      "then comes from $XW_API_URL or the config file" },
    { "webhook", "list", "[--owner U] [--offset N] [--limit N]", 0,
      cli_webhook_list,
      "your webhook subscriptions (system admins: everybody's)" },
    { "webhook", "show", "ID", 0, cli_webhook_show,
      "one subscription: URL, filter, paused, deliveries pending" },
    { "webhook", "update", "ID [--url U] [--secret-file F] [--source WS] "
      "[--destination WS] [--status S] [--events E,...]",
      CMD_KEYED | CMD_OWN_URL, cli_webhook_update,
      "change the URL, rotate the secret, or replace the filter (any "
      "filter option replaces the whole filter)" },
    { "webhook", "pause", "ID", CMD_KEYED, cli_webhook_pause,
      "stop sending; deliveries queue up meanwhile (within the retry "
      "window)" },
    { "webhook", "resume", "ID", CMD_KEYED, cli_webhook_resume,
      "send again, starting with what queued meanwhile" },
    { "webhook", "delete", "ID", CMD_KEYED, cli_webhook_delete,
      "delete a subscription with its queue and delivery log" },
    { "webhook", "deliveries", "ID [--status S] [--offset N] [--limit N]", 0,
      cli_webhook_deliveries,
      "the delivery log, newest first: attempts, HTTP status, latency, "
      "last error (--status pending|delivered|failed)" },
    { "webhook", "redeliver", "ID DELIVERY", CMD_KEYED,
      cli_webhook_redeliver,
      "send a delivery again, with the same delivery id" },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const char exit_codes_help[] =
    "Exit codes:\n"
    "  0  success (with --wait: the request was applied, the package "
    "succeeded)\n"
    "  1  the package finished failed, or the request was rejected\n"
    "  2  usage error (bad command line, unreadable FILE)\n"
    "  3  authentication or permission (401, 403)\n"
    "  4  not found (404)\n"
    "  5  validation (400, 409, 422; also 405, 413, 415, a FILE that is "
    "not JSON)\n"
    "  6  server or network unavailable (5xx, connection refused, "
    "timeout,\n     a malformed answer)\n"
    "  7  --wait timed out (the work goes on; see xwdeploy request ID)\n";

/* ---- usage strings as specifications ---------------------------------- */

#define MAX_POS_SPECS 8

struct spec {
    uint64_t allowed, required;   /* bits of enum cli_opt */
    struct {
        char metavar[16];
        enum check check;
        const char *what;
        int optional, variadic;
    } pos[MAX_POS_SPECS];
    size_t npos;
    size_t min_pos, max_pos;      /* max SIZE_MAX: variadic */
};

static int opt_by_name(const char *name, size_t len)
{
    for (int i = 0; i < OPT_COUNT; i++)
        if (strlen(options[i].name) == len &&
            strncmp(options[i].name, name, len) == 0)
            return i;
    return -1;
}

/* Parses a usage string of the table. The table is ours, so a malformed
 * one is a programming error: abort() makes the first test run catch it. */
static void spec_parse(const struct cmd *cmd, struct spec *s)
{
    const char *p = cmd->usage;

    memset(s, 0, sizeof *s);
    for (int i = 0; i < OPT_COUNT; i++)
        if (options[i].global)
            s->allowed |= 1ull << i;
    if (!(cmd->flags & CMD_KEYED))
        s->allowed &= ~(1ull << OPT_IDEM_KEY);
    if (!(cmd->flags & CMD_WAIT))
        s->allowed &= ~((1ull << OPT_WAIT) | (1ull << OPT_TIMEOUT));

    while (*p) {
        const char *start;
        size_t len;
        int optional = 0;

        while (*p == ' ')
            p++;
        if (!*p)
            break;
        if (*p == '[') {
            optional = 1;
            p++;
        }
        start = p;
        while (*p && *p != ' ' && *p != ']')
            p++;
        len = (size_t)(p - start);
        if (len > 2 && start[0] == '-' && start[1] == '-') {
            int id = opt_by_name(start + 2, len - 2);

            if (id < 0)
                abort();
            s->allowed |= 1ull << id;
            if (!optional)
                s->required |= 1ull << id;
            if (options[id].metavar) {   /* skip "NAME" after "--env" */
                while (*p == ' ')
                    p++;
                while (*p && *p != ' ' && *p != ']')
                    p++;
            }
        } else {
            size_t k, n = len;
            int variadic = 0;

            if (n > 3 && strncmp(start + n - 3, "...", 3) == 0) {
                variadic = 1;
                n -= 3;
            }
            if (s->npos == MAX_POS_SPECS || n >= sizeof s->pos[0].metavar)
                abort();
            for (k = 0; k < sizeof metavars / sizeof metavars[0]; k++)
                if (strlen(metavars[k].metavar) == n &&
                    strncmp(metavars[k].metavar, start, n) == 0)
                    break;
            if (k == sizeof metavars / sizeof metavars[0])
                abort();
            memcpy(s->pos[s->npos].metavar, start, n);
            s->pos[s->npos].metavar[n] = '\0';
            s->pos[s->npos].check = metavars[k].check;
            s->pos[s->npos].what = metavars[k].what;
            s->pos[s->npos].optional = optional;
            s->pos[s->npos].variadic = variadic;
            s->npos++;
        }
        if (*p == ']')
            p++;
    }
    s->min_pos = 0;
    s->max_pos = s->npos;
    for (size_t i = 0; i < s->npos; i++) {
        if (!s->pos[i].optional)
            s->min_pos = i + 1;
        if (s->pos[i].variadic)
            s->max_pos = SIZE_MAX;
    }
}

/* ---- checks ----------------------------------------------------------- */

static int check_value(enum check chk, const char *what, const char *v,
                       const struct optdef *o)
{
    char shown[80];
    char *end;
    long long n;
    size_t len = strlen(v);

    cli_sanitize(v, shown, sizeof shown);
    switch (chk) {
    case CHK_ID:
    case CHK_NAME:
        if (!xw_id_valid(v, len, chk == CHK_ID ? 64 : 128)) {
            cli_err("invalid %s '%s': use 1..%d characters of "
                    "A-Z a-z 0-9 . _ : @ -", what, shown,
                    chk == CHK_ID ? 64 : 128);
            return -1;
        }
        return 0;
    case CHK_INT:
        errno = 0;
        n = strtoll(v, &end, 10);
        if (end == v || *end || errno || n < o->min || n > o->max) {
            cli_err("%s '%s' is not a whole number in %lld..%lld", what,
                    shown, o->min, o->max);
            return -1;
        }
        return 0;
    case CHK_TEXT:
        if (len == 0 || len > MAX_TEXT_LEN) {
            cli_err("%s must be 1..%d bytes", what, MAX_TEXT_LEN);
            return -1;
        }
        for (const char *q = v; *q; q++)
            if ((unsigned char)*q < 0x20 || *q == 0x7f) {
                cli_err("%s contains a control character", what);
                return -1;
            }
        return 0;
    case CHK_TIME:
        if (cli_parse_time(v, &n) < 0) {
            cli_err("%s '%s' is not a time: use 2026-11-26, "
                    "2026-11-26T10:00:00Z, 2026-11-26T18:00+08:00 or epoch "
                    "milliseconds", what, shown);
            return -1;
        }
        return 0;
    case CHK_NONE:
        return 0;
    }
    return 0;
}

/* ---- help ------------------------------------------------------------- */

/* Prints text wrapped at word boundaries before HELP_WIDTH; the cursor is
 * at column `at`, continuation lines start at column `indent`. */
#define HELP_WIDTH 79
static void print_wrapped(FILE *f, size_t at, size_t indent, const char *text)
{
    const char *p = text;
    int first = 1;

    while (*p) {
        size_t word = strcspn(p, " ");

        if (!first && at + 1 + word > HELP_WIDTH) {
            fprintf(f, "\n%*s", (int)indent, "");
            at = indent;
        } else if (!first) {
            fputc(' ', f);
            at++;
        }
        fwrite(p, 1, word, f);
        at += word;
        p += word;
        p += strspn(p, " ");
        first = 0;
    }
    fputc('\n', f);
}

static void print_command(FILE *f, const struct cmd *cmd)
{
    char head[64];

    snprintf(head, sizeof head, "  %s%s%s", cmd->group,
             cmd->verb ? " " : "", cmd->verb ? cmd->verb : "");
    fputs(head, f);
    if (*cmd->usage) {
        fputc(' ', f);
        print_wrapped(f, strlen(head) + 1, 8, cmd->usage);
    } else {
        fputc('\n', f);
    }
    fputs("      ", f);
    print_wrapped(f, 6, 6, cmd->help);
}

static void print_help(FILE *f, const char *group)
{
    int any = 0;

    fprintf(f, "usage: xwdeploy [global options] COMMAND [ARGS] [options]\n"
               "\nCommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!group || strcmp(group, commands[i].group) == 0) {
            print_command(f, &commands[i]);
            any = 1;
        }
    if (!any)
        for (size_t i = 0; i < NCOMMANDS; i++)
            print_command(f, &commands[i]);
    fprintf(f, "\nGlobal options (anywhere on the line):\n");
    for (int i = 0; i < OPT_COUNT; i++) {
        char spell[48];

        if (!options[i].global)
            continue;
        snprintf(spell, sizeof spell, "%s%c%s--%s%s%s",
                 options[i].shortc ? "-" : "",
                 options[i].shortc ? options[i].shortc : ' ',
                 options[i].shortc ? ", " : "", options[i].name,
                 options[i].metavar ? " " : "",
                 options[i].metavar ? options[i].metavar : "");
        fprintf(f, "  %-22s ", options[i].shortc ? spell : spell + 1);
        print_wrapped(f, 25, 25, options[i].help);
    }
    fprintf(f, "  %-22s ", "--offset N --limit N");
    print_wrapped(f, 25, 25, "paging of lists (limit 1..1000, default 50)");
    fprintf(f, "  %-22s ", "--since T --until T");
    print_wrapped(f, 25, 25, "times: 2026-11-26, 2026-11-26T10:00:00Z, "
                  "2026-11-26T18:00+08:00 or epoch milliseconds (no offset: "
                  "UTC); shown in UTC");
    fprintf(f, "\nConfiguration: $XDG_CONFIG_HOME/xwdeploy/config or "
               "~/.config/xwdeploy/config,\nlines \"url = ...\" and "
               "\"token = ...\"; a token there is ignored unless the "
               "file\nis readable by its owner only (chmod 600).\n\n%s",
            exit_codes_help);
}

/* ---- configuration ---------------------------------------------------- */

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
                     e[-1] == '\n'))
        *--e = '\0';
    if (e - s >= 2 && ((*s == '"' && e[-1] == '"') ||
                       (*s == '\'' && e[-1] == '\''))) {
        e[-1] = '\0';
        s++;
    }
    return s;
}

/* Reads url and token from the config file, if there is one. Sets *url /
 * *token (owned) only where they are NULL. Problems with the file are
 * warnings, never fatal: the flags and the environment still work. */
static void config_read(char **url, char **token)
{
    char path[PATH_MAX], shown[PATH_MAX];
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    char *data = NULL, *line, *save = NULL;
    struct stat st;
    ssize_t got;
    size_t len = 0;
    int fd = -1, lineno = 0;

    if (xdg && xdg[0] == '/')
        snprintf(path, sizeof path, "%s/xwdeploy/config", xdg);
    else if (home && home[0])
        snprintf(path, sizeof path, "%s/.config/xwdeploy/config", home);
    else
        goto out;
    cli_sanitize(path, shown, sizeof shown);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        if (errno != ENOENT)
            cli_err("warning: cannot read %s: %s", shown, strerror(errno));
        goto out;
    }
    /* fstat on the open file: what we check is what we read. */
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        st.st_size > MAX_CONFIG_BYTES) {
        cli_err("warning: ignoring %s: not a regular file of at most %d "
                "bytes", shown, MAX_CONFIG_BYTES);
        goto out;
    }
    if (!(data = malloc((size_t)st.st_size + 1)))
        goto out;
    while (len < (size_t)st.st_size &&
           (got = read(fd, data + len, (size_t)st.st_size - len)) > 0)
        len += (size_t)got;
    data[len] = '\0';

    for (line = strtok_r(data, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *eq, *key, *val;

        lineno++;
        key = trim(line);
        if (!*key || *key == '#')
            continue;
        if (!(eq = strchr(key, '='))) {
            cli_err("warning: %s:%d: expected \"key = value\"", shown,
                    lineno);
            continue;
        }
        *eq = '\0';
        val = trim(eq + 1);
        key = trim(key);
        if (strcmp(key, "url") == 0) {
            if (!*url)
                *url = strdup(val);
        } else if (strcmp(key, "token") == 0) {
            if (*token)
                continue;
            /* A token another user can read is a leaked token; refuse to
             * use it rather than spread the habit. */
            if (st.st_mode & (S_IRGRP | S_IROTH)) {
                cli_err("warning: ignoring the token in %s: the file is "
                        "readable by group or others (chmod 600 %s)",
                        shown, shown);
                continue;
            }
            *token = strdup(val);
        } else {
            char k[40];

            cli_sanitize(key, k, sizeof k);
            cli_err("warning: %s:%d: unknown setting '%s' (url, token)",
                    shown, lineno, k);
        }
    }
out:
    if (data) {
        /* The token may be in there. */
        memset(data, 0, len);
        free(data);
    }
    if (fd >= 0)
        close(fd);
}

/* http(s)://..., printable, no query or fragment; trailing '/' dropped. */
static int url_check(char *url)
{
    size_t len = strlen(url);

    if (len > MAX_URL_LEN ||
        (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
        goto bad;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '?' ||
            *p == '#')
            goto bad;
    while (len > 8 && url[len - 1] == '/')
        url[--len] = '\0';
    return 0;
bad:
    cli_err("the API URL must be http://HOST[:PORT][/PATH] or https://..., "
            "without spaces, query or fragment");
    return -1;
}

/* Visible ASCII only: anything else could split the header. */
static int printable_header_value(const char *s, size_t max)
{
    size_t n = 0;

    for (; *s; s++, n++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
            return 0;
    return n >= 1 && n <= max;
}

static int setup(struct cli *c, const struct cli_args *a)
{
    const char *url = a->val[OPT_URL], *token = a->val[OPT_TOKEN];
    char errbuf[256];
    int rc = CLI_USAGE;

    /* Flag, then environment, then config file, then the default. */
    if (!url && (url = getenv("XW_API_URL")) && !*url)
        url = NULL;
    if (!token && (token = getenv("XW_TOKEN")) && !*token)
        token = NULL;
    if ((url && !(c->url = strdup(url))) ||
        (token && !(c->token = strdup(token))))
        goto oom;
    if (!c->url || !c->token)
        config_read(&c->url, &c->token);
    if (!c->url && !(c->url = strdup(DEFAULT_URL)))
        goto oom;
    if (url_check(c->url) < 0)
        goto out;
    if (c->token && !printable_header_value(c->token, MAX_TOKEN_LEN)) {
        cli_err("the token must be 1..%d visible ASCII characters",
                MAX_TOKEN_LEN);
        goto out;
    }
    if (a->val[OPT_IDEM_KEY]) {
        if (!printable_header_value(a->val[OPT_IDEM_KEY], CLI_IDEM_MAX)) {
            cli_err("--idempotency-key must be 1..%d visible ASCII "
                    "characters", CLI_IDEM_MAX);
            goto out;
        }
        snprintf(c->idem_key, sizeof c->idem_key, "%s", a->val[OPT_IDEM_KEY]);
    } else if (xw_uuid_v4(c->idem_key) < 0) {
        cli_err("no randomness for an Idempotency-Key");
        rc = CLI_UNAVAILABLE;
        goto out;
    }
    c->json = a->val[OPT_JSON] != NULL;
    c->wait = a->val[OPT_WAIT] != NULL;
    c->quiet = a->val[OPT_QUIET] != NULL;
    if (a->val[OPT_TIMEOUT] && !c->wait) {
        cli_err("--timeout bounds --wait; give both");
        goto out;
    }
    /* main.c checked the bounds (options[]), so atol cannot overflow. */
    c->timeout_s = a->val[OPT_TIMEOUT] ? atol(a->val[OPT_TIMEOUT])
                                       : DEFAULT_WAIT_S;
    c->deadline_ms = xw_mono_ms() + (int64_t)c->timeout_s * 1000;
    if (!(c->http = xw_http_client_new(errbuf, sizeof errbuf))) {
        cli_err("%s", errbuf);
        rc = CLI_UNAVAILABLE;
        goto out;
    }
    rc = CLI_OK;
    goto out;
oom:
    cli_err("out of memory");
    rc = CLI_UNAVAILABLE;
out:
    return rc;
}

/* ---- command line ----------------------------------------------------- */

/* The first Ctrl-C asks the waits and retries to stop (they check
 * cli_stop between steps); a request in flight can still take until its
 * own timeout, so a second Ctrl-C ends the process at once. */
static void on_signal(int sig)
{
    if (cli_stop) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    cli_stop = 1;
}

static const struct cmd *find_command(const char **words, size_t nwords,
                                      size_t *used)
{
    if (nwords == 0)
        return NULL;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const struct cmd *cmd = &commands[i];

        if (strcmp(cmd->group, words[0]) != 0)
            continue;
        if (!cmd->verb) {
            *used = 1;
            return cmd;
        }
        if (nwords > 1 && strcmp(cmd->verb, words[1]) == 0) {
            *used = 2;
            return cmd;
        }
    }
    return NULL;
}

static int is_group(const char *w)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].group, w) == 0)
            return 1;
    return 0;
}

/* Splits argv into option values and words; options may come anywhere
 * ("--" ends them). Returns 0 or CLI_USAGE after a message. */
static int parse_argv(int argc, char **argv, struct cli_args *a,
                      const char **words, size_t *nwords)
{
    int only_words = 0;

    *nwords = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = NULL;
        char shown[80];
        int id = -1;

        if (only_words || arg[0] != '-' || arg[1] == '\0') {
            words[(*nwords)++] = arg;     /* "-" is stdin: a word */
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_words = 1;
            continue;
        }
        if (arg[1] == '-') {
            const char *name = arg + 2, *eq = strchr(name, '=');

            id = opt_by_name(name, eq ? (size_t)(eq - name) : strlen(name));
            if (eq)
                val = eq + 1;
        } else if (arg[2] == '\0') {
            for (int k = 0; k < OPT_COUNT; k++)
                if (options[k].shortc == arg[1])
                    id = k;
        }
        cli_sanitize(arg, shown, sizeof shown);
        if (id < 0) {
            cli_err("unknown option '%s' (see xwdeploy --help)", shown);
            return CLI_USAGE;
        }
        if (!options[id].metavar) {
            if (val) {
                cli_err("option --%s takes no value", options[id].name);
                return CLI_USAGE;
            }
            val = "1";
        } else if (!val) {
            if (i + 1 >= argc) {
                cli_err("option --%s needs a value (%s)", options[id].name,
                        options[id].metavar);
                return CLI_USAGE;
            }
            val = argv[++i];
        }
        a->val[id] = val;
    }
    return CLI_OK;
}

/* Checks options and positionals against the command's usage string. */
static int check_args(const struct cmd *cmd, const struct cli_args *a)
{
    struct spec s;
    char name[64];

    spec_parse(cmd, &s);
    snprintf(name, sizeof name, "%s%s%s", cmd->group, cmd->verb ? " " : "",
             cmd->verb ? cmd->verb : "");
    for (int i = 0; i < OPT_COUNT; i++) {
        if (!a->val[i]) {
            if (s.required & (1ull << i)) {
                cli_err("%s needs --%s %s", name, options[i].name,
                        options[i].metavar);
                goto usage;
            }
            continue;
        }
        if (!(s.allowed & (1ull << i))) {
            cli_err("option --%s does not apply to '%s'", options[i].name,
                    name);
            goto usage;
        }
        if (options[i].metavar) {
            char what[48];

            snprintf(what, sizeof what, "--%s", options[i].name);
            if (check_value(options[i].check, what, a->val[i], &options[i]))
                goto usage;
        }
    }
    if (a->npos < s.min_pos || a->npos > s.max_pos) {
        cli_err("'%s' takes %s (%zu argument%s given)", name, cmd->usage,
                a->npos, a->npos == 1 ? "" : "s");
        goto usage;
    }
    for (size_t i = 0; i < a->npos; i++) {
        size_t k = i < s.npos ? i : s.npos - 1;   /* variadic: the last */

        if (check_value(s.pos[k].check, s.pos[k].what, a->pos[i], NULL))
            goto usage;
    }
    return CLI_OK;
usage:
    fprintf(stderr, "usage: xwdeploy %s %s\n", name, cmd->usage);
    return CLI_USAGE;
}

int main(int argc, char **argv)
{
    struct cli c;
    struct cli_args a;
    const struct cmd *cmd = NULL;
    const char **words = NULL;
    size_t nwords = 0, used = 0;
    int rc;

    memset(&c, 0, sizeof c);
    memset(&a, 0, sizeof a);
    /* xw_http reports its retries as WARN lines; the CLI shows those and
     * nothing chattier. -q silences them below. */
    xw_log_init("xwdeploy", XW_WARN);
    {
        struct sigaction sa;

        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;      /* no SA_RESTART: sleeps end */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sa.sa_handler = SIG_IGN;        /* a closed pipe is EPIPE */
        sigaction(SIGPIPE, &sa, NULL);
    }

    if (!(words = calloc((size_t)argc + 1, sizeof *words))) {
        cli_err("out of memory");
        rc = CLI_UNAVAILABLE;
        goto out;
    }
    if ((rc = parse_argv(argc, argv, &a, words, &nwords)) != CLI_OK)
        goto out;
    cmd = find_command(words, nwords, &used);
    if (a.val[OPT_VERSION]) {
        printf("xwdeploy %s\n", CLI_VERSION);
        goto out;
    }
    if (a.val[OPT_HELP]) {
        if (cmd) {
            printf("usage:\n");
            print_command(stdout, cmd);
            printf("\n%s", exit_codes_help);
        } else {
            print_help(stdout, nwords ? words[0] : NULL);
        }
        goto out;
    }
    if (!cmd) {
        char shown[80];

        if (nwords == 0) {
            fprintf(stderr, "usage: xwdeploy [global options] COMMAND "
                    "[ARGS] [options]\n(xwdeploy --help lists the "
                    "commands)\n");
        } else if (is_group(words[0])) {
            cli_sanitize(nwords > 1 ? words[1] : "", shown, sizeof shown);
            cli_err("'%s' needs one of these commands%s%s:", words[0],
                    nwords > 1 ? ", not " : "", nwords > 1 ? shown : "");
            for (size_t i = 0; i < NCOMMANDS; i++)
                if (strcmp(commands[i].group, words[0]) == 0)
                    print_command(stderr, &commands[i]);
        } else {
            cli_sanitize(words[0], shown, sizeof shown);
            cli_err("unknown command '%s' (see xwdeploy --help)", shown);
        }
        rc = CLI_USAGE;
        goto out;
    }
    a.pos = words + used;
    a.npos = nwords - used;
    if ((rc = check_args(cmd, &a)) != CLI_OK)
        goto out;
    if (a.val[OPT_QUIET])
        xw_log_min_level = XW_ERROR;
    if (cmd->flags & CMD_OWN_URL) {
        a.val[OPT_HOOK_URL] = a.val[OPT_URL];
        a.val[OPT_URL] = NULL;
    }
    if ((rc = setup(&c, &a)) != CLI_OK)
        goto out;
    rc = cmd->run(&c, &a);
out:
    if (rc == CLI_INTERRUPTED)
        cli_err("interrupted; a write the server accepted goes on there "
                "(see xwdeploy request ID)");
    /* A reader that went away (| head) is not an error of ours. */
    if (fflush(stdout) != 0 && errno != EPIPE && rc == CLI_OK) {
        cli_err("cannot write the output: %s", strerror(errno));
        rc = CLI_UNAVAILABLE;
    }
    xw_http_client_free(c.http);
    if (c.token) {
        memset(c.token, 0, strlen(c.token));
        free(c.token);
    }
    free(c.url);
    free(words);
    return rc;
}
