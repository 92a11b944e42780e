/*
 * xw-avrojson - prints one stored Avro event (single-object encoding:
 * C3 01, fingerprint, body) as the JSON the services write for it
 * (xw_avro_json_write, through the compiled-in schema registry, as the
 * services decode it). For values kept in Redis in that form, such as the
 * latest results of xw:res:{pkg}, and for the records of the state
 * schemas (schemas/state/) stored the same way, such as the catalog
 * entries of xw:dest:{ws}:objects and their history (common/xw_catalog.h):
 *
 *   redis-cli -p PORT HGET xw:res:PKG OBJ | xw-avrojson | jq .outcome
 *   redis-cli -p PORT HGET xw:dest:WS:objects OBJ | xw-avrojson
 *
 * Reads the value from standard input (at most 16 MiB) and writes its
 * JSON and a newline to standard output. One newline after a complete
 * Avro value is ignored (redis-cli prints one after every value; an Avro
 * value never has bytes after its body, so this cannot misread one).
 * Input that does not start with C3 01 (e.g. a result or a catalog entry
 * stored as JSON by an older service) is copied unchanged.
 *
 * Exit status: 0, 1 when the value does not decode (the reason on
 * standard error), 2 on bad usage.
 */
#include <stdio.h>
#include <string.h>

#include "xw_avro.h"
#include "xw_avro_json.h"
#include "xw_buf.h"
#include "xw_catalog.h"

#define INPUT_MAX (16u << 20)

static int read_all(FILE *f, xw_buf *in)
{
    char chunk[65536];
    size_t n;

    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (xw_buf_add(in, chunk, n) < 0) {
            fprintf(stderr, "xw-avrojson: input larger than %u bytes\n",
                    INPUT_MAX);
            return -1;
        }
    if (ferror(f)) {
        perror("xw-avrojson: reading standard input");
        return -1;
    }
    return 0;
}

/* Decodes in[0..len) and writes its JSON to out. 0, or -1 with ae set. */
static int convert(xw_avro_decoder *dec, const char *data, size_t len,
                   xw_buf *out, xw_avro_err *ae)
{
    const xw_avro_type *t;
    avro_value_t *v;

    if (xw_avro_decode(dec, data, len, &t, &v, ae) < 0)
        return -1;
    if (xw_avro_json_write(v, out) < 0) {
        ae->code = XW_AVRO_ENOMEM;
        snprintf(ae->msg, sizeof ae->msg, "out of memory writing JSON");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    xw_avro_registry *reg = NULL;
    xw_avro_decoder *dec = NULL;
    xw_buf in, out;
    xw_avro_err ae;
    char err[512];
    int rc = 1;

    if (argc != 1) {
        fprintf(stderr, "usage: xw-avrojson < VALUE\n"
                        "  prints a stored Avro event (C3 01 ...) as JSON\n");
        return 2;
    }
    xw_buf_init(&in, INPUT_MAX);
    xw_buf_init(&out, 0);
    if (read_all(stdin, &in) < 0)
        goto out;
    if (in.len < 2 || (unsigned char)in.data[0] != XW_AVRO_MARKER0
        || (unsigned char)in.data[1] != XW_AVRO_MARKER1) {
        rc = fwrite(in.data, 1, in.len, stdout) == in.len ? 0 : 1;
        goto out;
    }
    if (xw_avro_registry_open(&reg, err, sizeof err) < 0
        || xw_catalog_register(reg, err, sizeof err) < 0) {
        fprintf(stderr, "xw-avrojson: schemas: %s\n", err);
        goto out;
    }
    if (xw_avro_decoder_new(&dec, reg) < 0) {
        fprintf(stderr, "xw-avrojson: out of memory\n");
        goto out;
    }
    if (convert(dec, in.data, in.len, &out, &ae) < 0
        && !(ae.code == XW_AVRO_ETRAILING && in.data[in.len - 1] == '\n'
             && convert(dec, in.data, in.len - 1, &out, &ae) == 0)) {
        fprintf(stderr, "xw-avrojson: %s\n", ae.msg);
        goto out;
    }
    if (xw_buf_addch(&out, '\n') < 0
        || fwrite(out.data, 1, out.len, stdout) != out.len) {
        fprintf(stderr, "xw-avrojson: writing the output failed\n");
        goto out;
    }
    rc = 0;
out:
    xw_avro_decoder_free(dec);
    xw_avro_registry_free(reg);
    xw_buf_release(&in);
    xw_buf_release(&out);
    return rc;
}
