/*
 * xw_catalog - the destination catalog's entries as the deployer keeps
 * them in Redis, and the JSON the API shows of them.
 *
 * Keys ({ws} destination, {obj} object id; services/deployer/write.h):
 *   xw:dest:{ws}:objects          hash  obj -> its entry
 *   xw:dest:{ws}:history:{obj}    list  the entries it replaced
 *
 * An entry is a CatalogEntry (schemas/state/CatalogEntry.avsc) stored as
 * the record alone (xw_avro_encode_record: C3 01, the record's
 * fingerprint, the Avro body): about a third of the bytes of the JSON
 * text the deployer stored before (197 against 589 for big_package.py's
 * objects; Redis MEMORY USAGE of the hash 275 against 691 bytes per
 * entry); the AOF and every AOF rewrite shrink with it.
 *
 * The record is flat: the DestinationObject's fields (ObjectMapped.avsc,
 * copied verbatim, in order), then the deployment's: package_id, attempt,
 * source_workspace, destination_workspace, effective_at, effective_date,
 * timing_rule, replaced_version (null: nothing replaced), deployed_at.
 * Flat rather than {object, deployment...}, for two reasons:
 *   - its xw_avro_json_write is, byte for byte, the JSON the deployer
 *     stored before (the object's members, then the deployment's, in that
 *     order), so a reader decodes and writes, nothing more;
 *   - the Avro body is the same either way (a record's body is its
 *     fields' bodies one after the other), so the deployer writes an
 *     entry from the mapped object's encoded body and the deployment's
 *     fields (xw_avro_encode_record_head with XW_CATALOG_OBJECT_FIELDS),
 *     without decoding or copying the object.
 * CatalogEntry is not an event (no envelope, no topic): it is compiled in
 * from schemas/state/, into a registry of its own, not the events'.
 *
 * Older deployers stored entries (and so history entries) as JSON text,
 * which never starts with C3 01: readers tell the two apart by the
 * decoder's marker check (XW_AVRO_EMARKER: JSON, taken as it is;
 * xw_avro_json_stored() writes either as JSON).
 */
#ifndef XW_CATALOG_H
#define XW_CATALOG_H

#include <stddef.h>

#include <avro.h>

#include "xw_avro.h"
#include "xw_buf.h"

/* The record's short name, for xw_avro_type_find(). */
#define XW_CATALOG_ENTRY "CatalogEntry"

/* How many leading fields of a CatalogEntry are a DestinationObject's. */
#define XW_CATALOG_OBJECT_FIELDS 12

/* Adds the state schemas compiled in from schemas/state/ (CatalogEntry)
 * to reg: an empty registry (xw_avro_registry_new) for a service, or a
 * tool's registry of events, which then decodes entries too. Read-only
 * afterwards, a registry may be shared by threads. 0, or an XW_AVRO_E*
 * code with errbuf set and reg unchanged but for the schemas added
 * before the one that failed. */
int xw_catalog_register(xw_avro_registry *reg, char *errbuf, size_t errlen);

/* A registry of the state schemas alone, for a service: *out, or NULL
 * with errbuf set (an XW_AVRO_E* code) and nothing left allocated.
 * xw_avro_registry_free() it. */
int xw_catalog_registry_open(xw_avro_registry **out, char *errbuf,
                             size_t errlen);

#endif
