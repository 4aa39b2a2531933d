#ifndef EDO_EDO_H
#define EDO_EDO_H
/* The EDO vocabulary the core and the embedded operator share (neither
 * calls the other for it): freeing the data types of <edomail/core.h>,
 * ИНН/КПП/participant id checks, UTF-8 lengths as FNS counts them, and
 * the two entities of a signed XML document of the flow.  The FNS XML
 * builders are in edo/edo-fns.h.  Depends on lib/ and the public header
 * only. */
#include <stddef.h>
#include <stdint.h>
#include <edomail/core.h>

#define EDO_MAX_NAME 1000	/* characters, as НаимОрг in FNS XML */
#define EDO_MAX_FILE_NAME 255	/* characters, as ИмяОтпрФайла */

/* Sets *err (may be NULL) and returns -1. */
int edo_error(struct core_error *err, enum core_error_class cls,
	      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- validation (pure) ---- */

/* ИНН: 10 digits with the FNS check digit, or 12 (ИП) with two; never
 * starting with "00". */
int edo_inn_valid(const char *inn);
/* КПП: 4 digits, 2 digits or capital Latin letters, 3 digits. */
int edo_kpp_valid(const char *kpp);
/* Participant id or operator prefix characters: [A-Za-z0-9@.-]. */
int edo_id_valid(const char *id, size_t min_len, size_t max_len);
/* Number of UTF-8 characters, or -1 when s is not valid UTF-8. */
long edo_utf8_chars(const char *s);

/* ---- the data types of <edomail/core.h> ---- */

void edo_entity_clear(struct core_entity *ent);
/* core_ca_status_name and core_event_type_name. */
const char *edo_ca_status_name(enum core_ca_status st);
const char *edo_event_type_name(enum core_event_type t);
void edo_entities_free(struct core_entity *ents, size_t n);
void edo_message_free(struct core_message **msg);
void edo_counteragents_free(struct core_counteragent *cas, size_t n);
/* An XML document of the flow (ИоП, ПДОтпр) and its detached signature as
 * two entities, for the caller who has set data and len of both: new ids,
 * doc (kind) under parent_id named file_name (taken), sig (sig_kind)
 * under doc named "<file_name>.sig". */
void edo_entity_signed_xml(struct core_entity *doc, struct core_entity *sig,
			   enum core_entity_kind kind,
			   enum core_entity_kind sig_kind,
			   const char *parent_id, char *file_name,
			   int64_t created);
/* Appends a copy of *e (its buffers change owner) to *ents. */
void edo_entities_append(struct core_entity **ents, size_t *n,
			 const struct core_entity *e);

/* Base64 without line breaks (caller frees). */
char *edo_base64(const unsigned char *data, size_t len);

#endif
