#ifndef EDO_EDO_UPD_H
#define EDO_EDO_UPD_H
/* The УПД (universal transfer document, КНД 1115131/1115132) in its two
 * FNS versions 5.01 and 5.02 (DESIGN.md section 6a):
 *   - detection of a seller's title among a letter's attachments;
 *   - validation against its XSD (formats/ON_NSCHFDOPPR_..., and
 *     ON_NSCHFDOPPOK_... for the buyer's title) with the failing element's
 *     path, plus the checks a schema cannot make (the file name is ИдФайл);
 *   - reading the parties, goods and totals (for the readable table in the
 *     letter and for the ИНН checks at submission);
 *   - builders of valid seller's titles (demo, tests, `edomailctl upd
 *     make`) and of the buyer's title that signing a УПД produces.
 * Files are windows-1251 like every FNS exchange file.  Plain strings in
 * and out: the caller takes the signer's ФИО and position from the
 * certificate (crypto/ is not a dependency of edo/).  doc/upd.md describes
 * what is filled and why. */
#include <stddef.h>
#include <stdint.h>
#include <edomail/core.h>

#include "edo/edo-fns.h"

enum edo_upd_version {
	EDO_UPD_501 = 0,	/* ON_NSCHFDOPPR_1_997_01_05_01_03 / ..._02_05_01_02 */
	EDO_UPD_502 = 1,	/* ON_NSCHFDOPPR_1_997_01_05_02_01 / ..._02_05_02_01 */
};

enum edo_upd_title {
	EDO_UPD_SELLER = 0,	/* ON_NSCHFDOPPR: информация продавца */
	EDO_UPD_BUYER = 1,	/* ON_NSCHFDOPPOK: информация покупателя */
};

struct edo_upd_info {
	enum edo_upd_version version;
	enum edo_upd_title title;
	int malformed;		/* named like a УПД, but not well-formed XML */
};

/* 1 when the file name is a УПД's (the first test of edo_upd_detect,
 * which reads no byte): a caller without the bytes knows it needs them. */
int edo_upd_name_is_upd(const char *name);
/* 1 when the attachment is a УПД of a supported version: its file name
 * starts with ON_NSCHFDOPPR_ (seller) or ON_NSCHFDOPPOK_ (buyer) and ends
 * in .xml, and its root is <Файл ВерсФорм="5.01|5.02">.  A file named so
 * that is not well-formed XML is a broken УПД: 1 with info->malformed set
 * (the validation then says why).  0 for anything else, a УПД of another
 * version (5.03) included: that one travels as a plain attachment. */
int edo_upd_detect(const char *name, const unsigned char *data, size_t len,
		   struct edo_upd_info *info_r);

/* Validates against the XSD of info's version and title, and checks that
 * the file name (without .xml) equals ИдФайл as the FNS rules require.
 * INVALID with a bilingual message carrying the schema's message, the
 * element's path (xmlGetNodePath) and the line. */
int edo_upd_validate(const char *name, const struct edo_upd_info *info,
		     const unsigned char *xml, size_t len,
		     struct core_error *err);

/* ---- reading ---- */

struct edo_upd_party {
	char *name;		/* НаимОрг, or "ИП Фамилия Имя Отчество" */
	char *inn;		/* "" when absent */
	char *kpp;		/* "" when absent */
};

/* Amounts as written in the document (decimal text), "" when absent. */
struct edo_upd_line {
	char *no;		/* НомСтр */
	char *name;
	char *unit;		/* НаимЕдИзм, else the ОКЕИ code */
	char *qty;
	char *price;
	char *net;		/* СтТовБезНДС */
	char *vat_rate;		/* НалСт */
	char *vat;		/* СумНал, or "без НДС" */
	char *gross;		/* СтТовУчНал */
};

struct edo_upd_doc {
	enum edo_upd_version version;
	char *file_id;			/* ИдФайл */
	char *function;			/* СЧФ, СЧФДОП, ДОП ... */
	char *number;			/* НомерСчФ / НомерДок */
	char *date;			/* ДатаСчФ / ДатаДок, ДД.ММ.ГГГГ */
	char *created_date, *created_time;	/* ДатаИнфПр, ВремИнфПр */
	char *currency;			/* КодОКВ */
	struct edo_upd_party seller, buyer;
	struct edo_upd_line *lines;
	size_t n_lines;
	char *total_net, *total_vat, *total_gross;
};

/* Reads a seller's title (well-formed; validate first for a valid one).
 * Strings are UTF-8, never NULL. */
int edo_upd_parse(const unsigned char *xml, size_t len,
		  struct edo_upd_doc *doc_r, struct core_error *err);
void edo_upd_doc_clear(struct edo_upd_doc *doc);

/* The readable table of a seller's title for the letter's text (aligned
 * for a monospace or plain-text reader): document, seller, buyer, goods
 * with quantity, price, amounts and VAT, totals.  en: English labels, else
 * Russian.  Caller frees. */
char *edo_upd_table(const struct edo_upd_doc *doc, int en);

/* ---- building ---- */

/* An organization as the УПД names it.  ЮЛ for a 10-digit ИНН, ИП for
 * 12 (ФИО from name, "ИП " dropped). */
struct edo_upd_org {
	const char *id;		/* ИдУчастЭДО (4-46 characters) */
	const char *name;
	const char *inn;
	const char *kpp;	/* "" / NULL for ИП */
	const char *address;	/* free text; NULL: "Российская Федерация" */
};

/* One line of goods.  qty and price are decimal text ("10", "1.5",
 * "250.00"); vat is "20%", "10%", "0%" (the % may be left out), "18%"
 * (5.01 only) or "без НДС" / "none".  Amounts are computed in kopecks:
 * net = qty * price, VAT = net * rate, both rounded half up. */
struct edo_upd_item {
	const char *name;
	const char *unit;	/* "шт", "кг", "усл. ед" ...; NULL: "шт" */
	const char *qty;
	const char *price;
	const char *vat;
};

struct edo_upd_seller_req {
	enum edo_upd_version version;
	struct edo_upd_org seller, buyer;
	const char *number;		/* НомерСчФ / НомерДок */
	int64_t date;			/* the document's date (and of transfer) */
	const struct edo_upd_item *items;
	size_t n_items;
	struct edo_fns_person signer;	/* seller's signer; parts may be NULL */
};

/* A seller's title (Функция СЧФДОП: invoice and transfer document),
 * validated against its XSD before it is returned, in windows-1251, with
 * the FNS file name "ON_NSCHFDOPPR_<buyer id>_<seller id>_<ГГГГММДД>_<uuid>.xml".
 * INVALID (bilingual) for bad input: an ИНН, a quantity, a VAT rate. */
int edo_upd_make_seller(const struct edo_upd_seller_req *req,
			unsigned char **xml_r, size_t *len_r,
			char **file_name_r, struct core_error *err);

/* The person signing the buyer's title, from the signer's certificate:
 * SN -> surname, GN -> given_name (a GN of "Имя Отчество" is split when
 * patronymic is NULL), title -> position (NULL or "" when the
 * certificate has none: "Представитель организации" is written, the
 * field being required in 5.01), the organization's ИНН (ИННЮЛ). */
struct edo_upd_signer {
	const char *surname;
	const char *given_name;
	const char *patronymic;
	const char *position;
	const char *inn;
};

/* The seller's signatures (DER CMS) of the seller's file: the buyer's
 * title must quote them (ИдИнфПрод/ЭП, base64; at least one). */
struct edo_upd_seller_sigs {
	const unsigned char *const *sigs;
	const size_t *sig_lens;
	size_t n_sigs;
};

/* The buyer's title (ON_NSCHFDOPPOK) of the same version as the seller's
 * title seller_xml (which must itself be a valid seller's title):
 *   ИдИнфПрод = the seller's ИдФайл, date and time, with its signatures;
 *   goods accepted without discrepancies (КодИтога 1) on `date`;
 *   Подписант = signer, a representative of `buyer`.
 * buyer.inn must be the seller's title's buyer ИНН, and signer->inn (when
 * given) the buyer's: a УПД is signed by the buyer it names (INVALID with
 * a bilingual message otherwise).  The result is validated against its
 * XSD before it is returned: windows-1251 bytes (NUL-terminated, len
 * without it) and the file name
 * "ON_NSCHFDOPPOK_<seller id>_<buyer id>_<ГГГГММДД>_<uuid>.xml"; the ids
 * are buyer.id and the seller's participant id from the seller's title
 * (5.01), else seller_id.  Self-contained: no store, no core, no crypto;
 * thread-safe. */
int edo_upd_make_buyer(const unsigned char *seller_xml, size_t seller_len,
		       const struct edo_upd_seller_sigs *seller_sigs,
		       const struct edo_upd_signer *signer,
		       const struct edo_upd_org *buyer, const char *seller_id,
		       int64_t date, unsigned char **xml_r, size_t *len_r,
		       char **file_name_r, struct core_error *err);

/* Frees the cached schemas (at exit; optional). */
void edo_upd_cleanup(void);

#endif
