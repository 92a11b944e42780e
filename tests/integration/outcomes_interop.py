"""Checks what kcat read from xw.outcomes, decoded by another Avro
implementation: examples/outcomes_decode.py on the distribution's
python3-avro (run this with /usr/bin/python3).

    outcomes_interop.py SCHEMA_DIR KCAT_DUMP EXPECT_JSON

KCAT_DUMP is `kcat -C -e -f '%k %S\\n%s'` output; EXPECT_JSON what the API
says about the package (GET /v1/packages/{id}). Every message must carry
the single-object marker and the fingerprint of one of schemas/*.avsc
(Parsing Canonical Form by the Avro specification), decode with the
schema file alone, be keyed by its package, and agree with the API.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "examples"))
import outcomes_decode as od  # noqa: E402


def main():
    schema_dir, dump, expect_path = sys.argv[1:4]
    checks = 0

    def check(cond, what):
        nonlocal checks
        if not cond:
            raise AssertionError(what)
        checks += 1

    # The specification's test vectors (share/test/data/schema-tests.txt).
    check(od.crc64(b'"int"') == 0x7275D51A3F395C8F, "CRC-64-AVRO")
    check(od.pcf({"type": "long", "logicalType": "timestamp-millis"})
          == '"long"', "PRIMITIVES strips logical types")
    schemas = od.load_schemas(schema_dir)
    for fp, (name, schema, _) in sorted(schemas.items(), key=lambda x: x[1]):
        if name in ("PackageFinished", "ObjectResult"):
            theirs = od.crc64(schema.canonical_form.encode())
            print("%s: fingerprint %016x; python3-avro's canonical form gives "
                  "%016x%s" % (name, fp, theirs, "" if theirs == fp
                               else " (differs: logical types)"))

    import json
    with open(expect_path) as f:
        pkg = json.load(f)
    finished, results, n = [], {}, 0
    with open(dump, "rb") as f:
        for key, payload in od.read_kcat(f):
            n += 1
            name, rec = od.decode(schemas, payload)   # raises if unknown
            check(rec["package_id"] == key, "keyed by package id")
            if rec["package_id"] != pkg["package_id"]:
                continue
            if name == "PackageFinished":
                finished.append(rec)
            elif name == "ObjectResult":
                results[rec["event_id"]] = rec
            else:
                check(False, "unexpected %s on xw.outcomes" % name)
    check(n > 0, "nothing on xw.outcomes")

    # The package's outcome, as python3-avro read it, equals the API's.
    attempts = {r["attempt"] for r in finished}
    check(len(finished) == len(attempts) and pkg["attempt"] in attempts,
          "one PackageFinished per attempt: %s" % finished)
    last = next(r for r in finished if r["attempt"] == pkg["attempt"])
    for f in ("status", "deployed", "failed", "source_workspace",
              "destination_workspace", "environment", "creator", "executor"):
        check(last[f] == pkg[f], "%s: %s vs API %s" % (f, last[f], pkg[f]))
    check(last["duration_ms"] >= 0 and last["started_at"].year >= 2020,
          "timestamp-millis decodes as a time")
    api = {o["id"]: o for o in pkg["objects"]}
    latest = {r["object_id"]: r for r in results.values()
              if r["attempt"] == pkg["attempt"]}
    check(set(latest) == {i for i, o in api.items()
                          if o.get("attempt") == pkg["attempt"]},
          "one ObjectResult per object of the attempt")
    for oid, r in latest.items():
        check(r["outcome"] == api[oid]["outcome"]
              and r.get("reason_code") == api[oid].get("reason_code")
              and r.get("effective_date") == api[oid].get("effective_date"),
              "%s: %s vs API %s" % (oid, r, api[oid]))
    print("decoded %d messages with python3-avro: %d PackageFinished, %d "
          "ObjectResult; %d checks" % (n, len(finished), len(results),
                                      checks))


if __name__ == "__main__":
    main()
