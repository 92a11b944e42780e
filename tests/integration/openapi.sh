#!/usr/bin/env bash
# docs/openapi.json against the code: it is OpenAPI 3.0.3, every $ref
# resolves, and its (method, path) pairs are exactly the routing table of
# services/submit-listener/routes.c plus GET /health, so the document
# cannot drift from the code. Needs python3 (standard library only) and
# no services.
. "$(dirname "$0")/../lib/harness.sh"

doc=$XW_SRC_DIR/docs/openapi.json
routes=$XW_SRC_DIR/services/submit-listener/routes.c

# spec CHECK : runs one check in python; prints "OK" or what is wrong.
spec() {
    python3 - "$1" "$doc" "$routes" <<'PY'
import json, re, sys

check, doc_path, routes_path = sys.argv[1:4]
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
problems = []

with open(doc_path, encoding="utf-8") as f:
    doc = json.load(f)


def resolve(ref):
    """The object a local $ref points at, or None."""
    if not ref.startswith("#/"):
        return None
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def deref(x):
    seen = 0
    while isinstance(x, dict) and "$ref" in x and seen < 20:
        x = resolve(x["$ref"])
        seen += 1
    return x


def operations():
    for path, item in doc.get("paths", {}).items():
        for m in METHODS:
            if m in item:
                yield path, m, item, item[m]


def code_routes():
    """(METHOD, pattern) of routes.c's table; every line in it must parse."""
    src = open(routes_path, encoding="utf-8").read()
    m = re.search(r"static const struct route routes\[\]\s*=\s*\{(.*?)\n\};",
                  src, re.S)
    if not m:
        problems.append("routes[] table not found in routes.c")
        return []
    out = []
    for line in m.group(1).splitlines():
        line = line.strip()
        if not line or line.startswith(("/*", "*", "//")):
            continue
        r = re.fullmatch(r'\{\s*"([A-Z]+)",\s*"(/v1/[^"]*)",\s*(\w+)\s*\},?',
                         line)
        if not r:
            problems.append("unparsed line in routes[]: " + line)
            continue
        out.append((r.group(1), r.group(2)))
    return out


def template(path):
    """'/v1/a/{x}/b/{y}' -> ('/v1/a/{}/b/{}', ['x', 'y'])."""
    names = re.findall(r"\{([^{}]+)\}", path)
    return re.sub(r"\{[^{}]+\}", "{}", path), names


if check == "version":
    print(doc.get("openapi"))
    sys.exit(0)

if check == "refs":
    def walk(x, where):
        if isinstance(x, dict):
            r = x.get("$ref")
            if isinstance(r, str) and resolve(r) is None:
                problems.append("%s: unresolved $ref %s" % (where, r))
            for k, v in x.items():
                walk(v, where + "/" + k)
        elif isinstance(x, list):
            for i, v in enumerate(x):
                walk(v, "%s[%d]" % (where, i))
    walk(doc, "#")

elif check == "table":
    if not code_routes() and not problems:
        problems.append("no routes found in routes.c's routes[] table")

elif check == "routes":
    want = {(m, p) for m, p in code_routes()} | {("GET", "/health")}
    have = {}
    for path, m, _, _ in operations():
        key = (m.upper(), template(path)[0])
        if key in have:
            problems.append("%s %s and %s %s are the same route"
                            % (m.upper(), path, m.upper(), have[key]))
        have[key] = path
    for m, p in sorted(want - set(have)):
        problems.append("in routes.c, not in openapi.json: %s %s" % (m, p))
    for m, p in sorted(set(have) - want):
        problems.append("in openapi.json, not in routes.c: %s %s"
                        % (m, have[(m, p)]))

elif check == "path-params":
    # Each {name} of a path, by position, is a required path parameter of
    # every operation on it, and no other path parameter is declared.
    for path, m, item, o in operations():
        names = template(path)[1]
        if len(set(names)) != len(names):
            problems.append("%s: a parameter name appears twice" % path)
        declared = {}
        for p in item.get("parameters", []) + o.get("parameters", []):
            p = deref(p) or {}
            declared[(p.get("in"), p.get("name"))] = p
        got = sorted(n for (loc, n) in declared if loc == "path")
        if got != sorted(names):
            problems.append("%s %s: path parameters %s, template has %s"
                            % (m.upper(), path, got, names))
        for n in names:
            p = declared.get(("path", n))
            if p and p.get("required") is not True:
                problems.append("%s %s: {%s} is not required"
                                % (m.upper(), path, n))

elif check == "security":
    schemes = doc.get("components", {}).get("securitySchemes", {})
    bearer = [k for k, v in schemes.items()
              if v.get("type") == "http" and v.get("scheme") == "bearer"]
    if not bearer:
        problems.append("no bearer security scheme")
    elif {k for r in doc.get("security", []) for k in r} != set(bearer[:1]):
        problems.append("the bearer scheme is not applied globally")
    for path, m, _, o in operations():
        public = (m, path) == ("get", "/health")
        if public and o.get("security") != []:
            problems.append("GET /health must have security: []")
        if not public:
            if o.get("security") == []:
                problems.append("%s %s has no security" % (m.upper(), path))
            if "401" not in o.get("responses", {}):
                problems.append("%s %s: no 401 answer" % (m.upper(), path))

elif check == "answers":
    # Writes (202) take Idempotency-Key and X-Correlation-Id; every error
    # answer is the Error schema; every operation says who may call it.
    error = doc.get("components", {}).get("schemas", {}).get("Error")
    if not error:
        problems.append("no Error schema")
    for path, m, item, o in operations():
        where = "%s %s" % (m.upper(), path)
        if not o.get("description"):
            problems.append(where + ": no description")
        resp = o.get("responses", {})
        headers = {(deref(p) or {}).get("name")
                   for p in item.get("parameters", []) + o.get("parameters", [])
                   if (deref(p) or {}).get("in") == "header"}
        if "202" in resp:
            body = deref(resp["202"]).get("content", {}).get(
                "application/json", {}).get("schema", {})
            if "status_url" not in (deref(body) or {}).get("required", []):
                problems.append(where + ": 202 is not the Accepted schema")
            for h in ("Idempotency-Key", "X-Correlation-Id"):
                if h not in headers:
                    problems.append("%s: no %s header" % (where, h))
        for code, r in resp.items():
            if code.startswith(("4", "5")):
                s = deref(r).get("content", {}).get(
                    "application/json", {}).get("schema")
                if deref(s) is not error:
                    problems.append("%s: %s is not an Error" % (where, code))

print("OK" if not problems else "\n".join(problems))
PY
}

xw_check "python3 is installed" python3 -c ""
xw_check "docs/openapi.json is JSON" python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$doc"
xw_expect_eq "openapi version" "$(spec version)" "3.0.3"
xw_expect_eq "every \$ref resolves" "$(spec refs)" "OK"
xw_expect_eq "routes.c's routes[] table parses" "$(spec table)" "OK"
xw_expect_eq "operations = routes.c + GET /health" "$(spec routes)" "OK"
xw_expect_eq "path parameters match the templates" "$(spec path-params)" "OK"
xw_expect_eq "bearer auth everywhere but GET /health" "$(spec security)" "OK"
xw_expect_eq "writes, errors and descriptions" "$(spec answers)" "OK"
xw_pass
