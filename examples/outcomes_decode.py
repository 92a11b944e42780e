#!/usr/bin/python3
"""Decodes xwdeploy's result events with python3-avro (not Avro C).

    kcat -b "$XW_KAFKA_BROKERS" -C -t xw.outcomes -e -q -f '%k %S\\n%s' \\
        | /usr/bin/python3 examples/outcomes_decode.py schemas/

kcat's format prints, per message, a line "<key> <payload size>" and then
exactly that many payload bytes (binary-safe). Each payload is an Avro
single-object encoding:

    C3 01 | 8-byte little-endian CRC-64-AVRO fingerprint | Avro binary body

The fingerprint is that of the writer schema's Parsing Canonical Form as
the Avro specification defines it, computed here (pcf() and crc64()) from
the .avsc files. Do not use python3-avro 1.11.1's own canonical_form for
this: it keeps {"type":"long"} for a timestamp-millis where the
specification's PRIMITIVES rule says "long", so its fingerprints differ for
every schema with a logical type. The body is then read with the schema
file by python3-avro's DatumReader (timestamp-millis come out as datetime).

Prints one JSON object per message: {"key", "schema", "event"}.
Needs /usr/bin/python3 with the Debian package python3-avro.
"""
import io
import json
import os
import sys

EMPTY = 0xC15D213AA4D7A795   # CRC-64-AVRO of nothing
_TABLE = []
for _i in range(256):
    _fp = _i
    for _ in range(8):
        _fp = (_fp >> 1) ^ (EMPTY if _fp & 1 else 0)
    _TABLE.append(_fp)

PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes",
              "string"}


def crc64(data):
    """CRC-64-AVRO (the Rabin fingerprint of the Avro specification)."""
    fp = EMPTY
    for b in data:
        fp = (fp >> 8) ^ _TABLE[(fp ^ b) & 0xFF]
    return fp


def pcf(s, ns=None, seen=None):
    """Parsing Canonical Form of a parsed .avsc (PRIMITIVES, FULLNAMES,
    STRIP, ORDER, STRINGS, INTEGERS, WHITESPACE)."""
    seen = set() if seen is None else seen

    def q(x):
        return json.dumps(x, ensure_ascii=False)

    if isinstance(s, str):
        if s in PRIMITIVES:
            return q(s)
        return q(s if "." in s or not ns else ns + "." + s)
    if isinstance(s, list):
        return "[" + ",".join(pcf(x, ns, seen) for x in s) + "]"
    t = s["type"]
    if t in ("record", "error", "enum", "fixed"):
        name = s["name"]
        if "." in name:
            full, ns = name, name.rsplit(".", 1)[0]
        else:
            ns = s.get("namespace", ns)
            full = ns + "." + name if ns else name
        if full in seen:
            return q(full)
        seen.add(full)
        out = ['"name":' + q(full), '"type":' + q(t)]
        if t in ("record", "error"):
            out.append('"fields":[' + ",".join(
                '{"name":%s,"type":%s}' % (q(f["name"]),
                                           pcf(f["type"], ns, seen))
                for f in s["fields"]) + "]")
        elif t == "enum":
            out.append('"symbols":[' + ",".join(q(x) for x in s["symbols"])
                       + "]")
        else:
            out.append('"size":%d' % int(s["size"]))
        return "{" + ",".join(out) + "}"
    if t == "array":
        return '{"type":"array","items":%s}' % pcf(s["items"], ns, seen)
    if t == "map":
        return '{"type":"map","values":%s}' % pcf(s["values"], ns, seen)
    return pcf(t, ns, seen)      # {"type": "long", "logicalType": ...}


def load_schemas(schema_dir):
    """{fingerprint: (name, python3-avro schema, schema text)}."""
    import avro.schema
    out = {}
    for name in sorted(os.listdir(schema_dir)):
        if name.endswith(".avsc"):
            with open(os.path.join(schema_dir, name)) as f:
                text = f.read()
            out[crc64(pcf(json.loads(text)).encode())] = (
                name[:-5], avro.schema.parse(text), text)
    return out


def read_kcat(stream):
    """(key, payload) pairs of kcat -f '%k %S\\n%s' output."""
    while True:
        line = stream.readline()
        if not line:
            return
        key, size = line.rstrip(b"\n").decode().rsplit(" ", 1)
        yield key, stream.read(int(size))


def decode(schemas, payload):
    """(schema name, record) of one single-object encoded message."""
    import avro.io
    if payload[:2] != b"\xc3\x01":
        raise ValueError("not an Avro single-object encoding")
    fp = int.from_bytes(payload[2:10], "little")
    if fp not in schemas:
        raise ValueError("unknown schema fingerprint %016x" % fp)
    name, schema, _ = schemas[fp]
    reader = avro.io.DatumReader(schema)
    return name, reader.read(avro.io.BinaryDecoder(io.BytesIO(payload[10:])))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: kcat ... -f '%k %S\\n%s' | outcomes_decode.py "
                 "SCHEMA_DIR")
    schemas = load_schemas(sys.argv[1])
    for key, payload in read_kcat(sys.stdin.buffer):
        name, rec = decode(schemas, payload)
        print(json.dumps({"key": key, "schema": name, "event": rec},
                         default=str))


if __name__ == "__main__":
    main()
