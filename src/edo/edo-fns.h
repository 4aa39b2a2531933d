#ifndef EDO_EDO_FNS_H
#define EDO_EDO_FNS_H
/* FNS XML of the EDO docflow, built with libxml2 and validated against the
 * official schemas (formats/, or $EDOMAIL_FORMATS_DIR) before anyone sees
 * it.  The embedded operator builds its date confirmations (ПДОтпр) here,
 * the core its receipts (ИоП); the УПД buyer's title and the refusal
 * notice (УОУ, DP_UVUTOCH) of issue 13 belong here too: one builder and
 * one struct per document, the parties and signers shared below.
 * doc/operator.md describes the files. */
#include <stddef.h>
#include <stdint.h>
#include <edomail/core.h>


enum edo_fns_format {
	EDO_FNS_IZVPOL = 0,	/* ИоП, КНД 1115110 */
	EDO_FNS_PDOTPR,		/* ПДОтпр, КНД 1115111 */
	EDO_FNS_PDPOL,		/* ПДПол, КНД 1115112 */
	EDO_FNS_UVUTOCH,	/* Уведомление об уточнении, КНД 1115113 */
};

/* A participant as FNS XML describes it (ЮЛ for 10-digit ИНН, ИП for 12). */
struct edo_fns_party {
	const char *id;			/* ИдУчастЭДО */
	const char *name;		/* НаимОрг, or "ИП Фамилия Имя Отчество" */
	const char *inn;
	const char *kpp;		/* "" / NULL for ИП */
};

struct edo_fns_person {
	const char *surname;
	const char *given_name;
	const char *patronymic;		/* may be NULL */
	const char *position;		/* may be NULL */
};

/* One sent/received file and the signatures under it (DER CMS). */
struct edo_fns_file {
	const char *name;
	const unsigned char *const *sigs;
	const size_t *sig_lens;
	size_t n_sigs;
};

/* The operator's date confirmation of sending (ПДОтпр). */
struct edo_fns_pdotpr {
	const char *oper_name, *oper_inn, *oper_id;	/* ОперЭДО */
	struct edo_fns_party sender, recipient;
	struct edo_fns_file file;
	int64_t sent;			/* operator time of sending */
};

/* The recipient's receipt notice (ИоП). */
struct edo_fns_izvpol {
	struct edo_fns_party receiver;	/* УчастЭДО: who confirms */
	struct edo_fns_party sender;	/* ОтпрДок */
	struct edo_fns_file file;
	struct edo_fns_person signer;	/* Подписант */
	int64_t received;
	/* 1: not validated here, because the one it is given to validates
	 * it (operator_post_entities does for every ИоП it accepts, a remote
	 * operator too): the schema check is ~1/3 of building an ИоП, and a
	 * receipt was checked twice (issue 10).  A bad document is still
	 * refused, by the operator, with CORE_ERR_INVALID. */
	int unchecked;
};

/* The recipient's refusal to sign (Уведомление об уточнении, DP_UVUTOCH
 * 1.03): the document refused with its signatures, and the reason. */
struct edo_fns_uvutoch {
	struct edo_fns_party receiver;	/* УчастЭДО: who refuses */
	struct edo_fns_party sender;	/* ОтпрДок: the document's sender */
	struct edo_fns_file file;
	const char *reason;		/* ТекстУведУточ, non-empty */
	struct edo_fns_person signer;	/* Подписант */
	int64_t received;
};

/* Build the XML (windows-1251, as FNS files are), validate it against the
 * schema and return it with its file name "<ИдФайл>.xml" (caller frees
 * both).  INVALID when the data cannot make a valid document. */
int edo_fns_pdotpr(const struct edo_fns_pdotpr *p,
		   unsigned char **xml_r, size_t *len_r,
		   char **file_name_r, struct core_error *err);
/* The operator's date confirmation of receipt (ПДПол) for the recipient:
 * the same data, p->sent being the time the file reached the recipient's
 * box.  The file name starts with "DP_PDPOL_" (edo_fns_is_pdpol). */
int edo_fns_pdpol(const struct edo_fns_pdotpr *p,
		  unsigned char **xml_r, size_t *len_r,
		  char **file_name_r, struct core_error *err);
/* 1 when a confirmation's file name is a ПДПол's (the recipient's), 0 for
 * a ПДОтпр (the sender's). */
int edo_fns_is_pdpol(const char *file_name);
int edo_fns_izvpol(const struct edo_fns_izvpol *p,
		   unsigned char **xml_r, size_t *len_r,
		   char **file_name_r, struct core_error *err);
int edo_fns_uvutoch(const struct edo_fns_uvutoch *p,
		    unsigned char **xml_r, size_t *len_r,
		    char **file_name_r, struct core_error *err);
/* Validates a document against the format's XSD (parsed once, cached). */
int edo_fns_validate(enum edo_fns_format fmt,
		     const unsigned char *xml, size_t len,
		     struct core_error *err);
/* Frees the cached schemas (at exit; optional). */
void edo_fns_cleanup(void);
/* Splits "Фамилия Имя Отчество" (a leading "ИП " is dropped) into the
 * three parts; missing ones are "".  Returns 0, or -1 if s has no word. */
int edo_fns_split_name(const char *s, char **surname_r,
		       char **given_r, char **patronymic_r);

#endif
