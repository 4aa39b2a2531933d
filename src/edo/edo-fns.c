/* FNS XML of the EDO docflow, built with libxml2 and validated against the
 * official schemas before anyone sees it:
 *   DP_PDOTPR 1.03 (КНД 1115111) — the operator's confirmation of the date
 *     a document was sent;
 *   DP_IZVPOL 1.03 (КНД 1115110) — the recipient's receipt notice (ИоП);
 *   DP_UVUTOCH 1.03 (КНД 1115113) — the recipient's refusal to sign
 *     (Уведомление об уточнении) with its reason.
 * Files are windows-1251 like every FNS exchange file.  Dates and times are
 * Moscow time (UTC+3, no daylight saving since 2014): the legal time of the
 * Russian EDO operators.  File names: R_T_A_O_GGGGMMDD_N, see
 * doc/operator.md.  Shared by the operator (ПДОтпр) and the core (ИоП). */
#include "edo/edo-fns.h"
#include "edo/edo.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#include "lib/log.h"
#include "lib/util.h"

#define EDO_FNS_VERSION "1.03"
#define EDO_FNS_PROGRAM "edomail " EDOMAIL_VERSION
#define EDO_FNS_ENCODING "windows-1251"
#define EDO_FNS_MAX_DOC (16 * 1024 * 1024)	/* bytes of a document we parse */
#define EDO_FNS_MSK_OFFSET (3 * 3600)
#define EDO_FNS_MAX_FIO 60			/* characters of ФИО parts */
/* 1900-01-01 00:00 and 2099-12-31 23:59:59 Moscow time, as UTC seconds. */
#define EDO_FNS_TS_MIN (-2208988800LL - EDO_FNS_MSK_OFFSET)
#define EDO_FNS_TS_MAX (4102444799LL - EDO_FNS_MSK_OFFSET)

static const char *const edo_fns_files[] = {
	[EDO_FNS_IZVPOL] = "DP_IZVPOL_1_982_00_01_03_01.xsd",
	[EDO_FNS_PDOTPR] = "DP_PDOTPR_1_983_00_01_03_01.xsd",
	[EDO_FNS_PDPOL] = "DP_PDPOL_1_984_00_01_03_01.xsd",
	[EDO_FNS_UVUTOCH] = "DP_UVUTOCH_1_985_00_01_03_01.xsd",
};
#define EDO_FNS_N (sizeof(edo_fns_files) / sizeof(edo_fns_files[0]))

/* Parsed once, shared read-only by every thread (libxml2 allows that for
 * a parsed schema; validation contexts are per call). */
static pthread_mutex_t edo_fns_lock = PTHREAD_MUTEX_INITIALIZER;
static xmlSchemaPtr edo_fns_schemas[EDO_FNS_N];
static pthread_once_t edo_fns_once = PTHREAD_ONCE_INIT;

static void edo_fns_init(void)
{
	xmlInitParser();
}

/* The first libxml2 error of an operation, for the user and the log. */
struct edo_fns_errors {
	char first[256];
	int count;
};

static void edo_fns_error_cb(void *ctx, xmlErrorPtr e)
{
	struct edo_fns_errors *errs = ctx;
	size_t len;

	if (errs->count++ > 0 || e == NULL || e->message == NULL)
		return;
	snprintf(errs->first, sizeof(errs->first), "line %d: %s", e->line,
		 e->message);
	len = strlen(errs->first);
	while (len > 0 && (errs->first[len - 1] == '\n' ||
			   errs->first[len - 1] == ' '))
		errs->first[--len] = '\0';
}

/* Where the XSDs are: $EDOMAIL_FORMATS_DIR, else the source tree. */
static char *edo_fns_schema_path(enum edo_fns_format fmt)
{
	const char *dir = getenv("EDOMAIL_FORMATS_DIR");
	struct stat st;
	char *path;

	if (dir != NULL && *dir != '\0') {
		path = xasprintf("%s/%s", dir, edo_fns_files[fmt]);
		if (stat(path, &st) == 0)
			return path;
		free(path);
	}
	return xasprintf("%s/data/formats/%s", EDOMAIL_SOURCE_ROOT,
			 edo_fns_files[fmt]);
}

static xmlSchemaPtr edo_fns_schema_load(enum edo_fns_format fmt,
				       struct core_error *err)
{
	struct edo_fns_errors errs = { .count = 0 };
	xmlSchemaParserCtxtPtr pctx;
	xmlSchemaPtr schema;
	char *path = edo_fns_schema_path(fmt);

	pctx = xmlSchemaNewParserCtxt(path);
	if (pctx == NULL) {
		edo_error(err, CORE_ERR_TEMP,
			"Схема ФНС недоступна / FNS schema unavailable");
		log_error("fns: cannot read schema %s", path);
		free(path);
		return NULL;
	}
	xmlSchemaSetParserStructuredErrors(pctx, edo_fns_error_cb, &errs);
	schema = xmlSchemaParse(pctx);
	xmlSchemaFreeParserCtxt(pctx);
	if (schema == NULL) {
		edo_error(err, CORE_ERR_TEMP,
			"Схема ФНС недоступна / FNS schema unavailable");
		log_error("fns: cannot parse schema %s: %s", path,
			  errs.first);
	}
	free(path);
	return schema;
}

static xmlSchemaPtr edo_fns_schema(enum edo_fns_format fmt,
				  struct core_error *err)
{
	xmlSchemaPtr schema;

	pthread_once(&edo_fns_once, edo_fns_init);
	pthread_mutex_lock(&edo_fns_lock);
	if (edo_fns_schemas[fmt] == NULL)
		edo_fns_schemas[fmt] = edo_fns_schema_load(fmt, err);
	schema = edo_fns_schemas[fmt];
	pthread_mutex_unlock(&edo_fns_lock);
	return schema;
}

void edo_fns_cleanup(void)
{
	size_t i;

	pthread_mutex_lock(&edo_fns_lock);
	for (i = 0; i < EDO_FNS_N; i++) {
		if (edo_fns_schemas[i] != NULL)
			xmlSchemaFree(edo_fns_schemas[i]);
		edo_fns_schemas[i] = NULL;
	}
	pthread_mutex_unlock(&edo_fns_lock);
}

static int edo_fns_validate_doc(enum edo_fns_format fmt, xmlDocPtr doc,
				struct core_error *err)
{
	struct edo_fns_errors errs = { .count = 0 };
	xmlSchemaValidCtxtPtr vctx;
	xmlSchemaPtr schema;
	int rc;

	if ((schema = edo_fns_schema(fmt, err)) == NULL)
		return -1;
	vctx = xmlSchemaNewValidCtxt(schema);
	if (vctx == NULL)
		return edo_error(err, CORE_ERR_TEMP,
			"Нет памяти для проверки XML / out of memory validating XML");
	xmlSchemaSetValidStructuredErrors(vctx, edo_fns_error_cb, &errs);
	rc = xmlSchemaValidateDoc(vctx, doc);
	xmlSchemaFreeValidCtxt(vctx);
	if (rc != 0)
		return edo_error(err, CORE_ERR_INVALID,
			"Документ не соответствует формату ФНС %s / document "
			"does not match the FNS format %s: %s",
			edo_fns_files[fmt], edo_fns_files[fmt],
			errs.first[0] != '\0' ? errs.first : "?");
	return 0;
}

int edo_fns_validate(enum edo_fns_format fmt,
		     const unsigned char *xml, size_t len,
		     struct core_error *err)
{
	xmlParserCtxtPtr pctx;
	xmlErrorPtr perr;
	xmlDocPtr doc;
	int ret;

	if ((size_t)fmt >= EDO_FNS_N)
		return edo_error(err, CORE_ERR_INVALID,
			"Неизвестный формат / unknown format");
	if (xml == NULL || len == 0 || len > EDO_FNS_MAX_DOC)
		return edo_error(err, CORE_ERR_INVALID,
			"XML пуст или больше %d байт / XML is empty or larger "
			"than %d bytes", EDO_FNS_MAX_DOC, EDO_FNS_MAX_DOC);
	pthread_once(&edo_fns_once, edo_fns_init);
	pctx = xmlNewParserCtxt();
	if (pctx == NULL)
		return edo_error(err, CORE_ERR_TEMP,
			"Нет памяти для разбора XML / out of memory parsing XML");
	/* No network, no entity substitution, no DTD loading: the input
	 * comes from other parties.  Errors stay in the context. */
	doc = xmlCtxtReadMemory(pctx, (const char *)xml, (int)len, "fns.xml",
				NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
				XML_PARSE_NOWARNING);
	if (doc == NULL) {
		struct edo_fns_errors errs = { .count = 0 };
		if ((perr = xmlCtxtGetLastError(pctx)) != NULL)
			edo_fns_error_cb(&errs, perr);
		edo_error(err, CORE_ERR_INVALID,
			"Неверный XML / malformed XML: %s",
			errs.first[0] != '\0' ? errs.first : "?");
		xmlFreeParserCtxt(pctx);
		return -1;
	}
	xmlFreeParserCtxt(pctx);
	if (doc->intSubset != NULL) {
		xmlFreeDoc(doc);
		return edo_error(err, CORE_ERR_INVALID,
			"XML с DTD не принимается / XML with a DTD is refused");
	}
	ret = edo_fns_validate_doc(fmt, doc, err);
	xmlFreeDoc(doc);
	return ret;
}

/* ---- building ---- */

static void edo_fns_moscow(int64_t ts, struct tm *tm_r)
{
	time_t t = (time_t)(ts + EDO_FNS_MSK_OFFSET);

	gmtime_r(&t, tm_r);
}

/* ДД.ММ.ГГГГ, ЧЧ.ММ.СС and ГГГГММДД of ts in Moscow time (ts within
 * edo_fns_ts_valid's range). */
static void edo_fns_dates(int64_t ts, char date[11], char time_[9],
			  char ymd[9])
{
	struct tm tm;

	edo_fns_moscow(ts, &tm);
	if (strftime(date, 11, "%d.%m.%Y", &tm) == 0)
		date[0] = '\0';
	if (strftime(time_, 9, "%H.%M.%S", &tm) == 0)
		time_[0] = '\0';
	if (strftime(ymd, 9, "%Y%m%d", &tm) == 0)
		ymd[0] = '\0';
}

/* ДатаТип allows 01.01.1900 - 31.12.2099 (Moscow time). */
static int edo_fns_ts_valid(int64_t ts, struct core_error *err)
{
	if (ts < EDO_FNS_TS_MIN || ts > EDO_FNS_TS_MAX)
		return edo_error(err, CORE_ERR_INVALID,
			"Дата вне 1900-2099 годов / date outside 1900-2099");
	return 0;
}

/* A copy of s with at most max characters and no control characters
 * (they cannot stand in an XML attribute); bytes of broken UTF-8 become
 * '?' so that the serializer never sees them. */
static char *edo_fns_clean(const char *s, size_t max)
{
	size_t len = strlen(s), i, n = 0, chars = 0;
	int utf8 = util_utf8_valid((const unsigned char *)s, len);
	char *out = xmalloc(len + 1);

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!utf8 && c >= 0x80)
			c = '?';
		if ((c & 0xc0) != 0x80) {
			if (chars == max)
				break;
			chars++;
		}
		out[n++] = c < 0x20 || c == 0x7f ? '_' : (char)c;
	}
	out[n] = '\0';
	return out;
}

/* The same for a text element: line breaks and tabs stay. */
static char *edo_fns_clean_text(const char *s, size_t max)
{
	char *out = edo_fns_clean(s, max);
	size_t i, j = 0;

	/* edo_fns_clean turned every control character into '_'; put the
	 * line breaks back from the source (same positions: one byte each,
	 * and the copy is a prefix of s unless broken UTF-8 was replaced,
	 * which keeps lengths too). */
	for (i = 0; out[i] != '\0' && s[j] != '\0'; i++, j++)
		if (s[j] == '\n' || s[j] == '\t' || s[j] == '\r')
			out[i] = s[j];
	for (i = j = 0; out[i] != '\0'; i++)
		if (out[i] != '\r')
			out[j++] = out[i];
	out[j] = '\0';
	return out;
}

static void edo_fns_prop(xmlNodePtr node, const char *name, const char *value,
			 size_t max)
{
	char *clean = edo_fns_clean(value, max);

	xmlNewProp(node, BAD_CAST name, BAD_CAST clean);
	free(clean);
}

int edo_fns_split_name(const char *s, char **surname_r, char **given_r,
		       char **patronymic_r)
{
	static const char *const prefixes[] = {
		"ИП ", "Индивидуальный предприниматель ",
		"индивидуальный предприниматель ",
	};
	char *parts[3] = { NULL, NULL, NULL };
	const char *p = s, *start;
	size_t i, k = 0;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (strncmp(p, prefixes[i], strlen(prefixes[i])) == 0) {
			p += strlen(prefixes[i]);
			break;
		}
	}
	while (*p != '\0' && k < 3) {
		while (*p == ' ' || *p == '\t')
			p++;
		start = p;
		/* The last part takes the rest ("Оглы" and such). */
		while (*p != '\0' && (k == 2 || (*p != ' ' && *p != '\t')))
			p++;
		if (p > start)
			parts[k++] = xstrndup(start, (size_t)(p - start));
	}
	if (parts[0] == NULL)
		return -1;
	*surname_r = parts[0];
	*given_r = parts[1] != NULL ? parts[1] : xstrdup("");
	*patronymic_r = parts[2] != NULL ? parts[2] : xstrdup("");
	return 0;
}

/* <ФИО Фамилия Имя [Отчество]>; a missing required part becomes "-" so
 * that an odd name still gives a valid document. */
static void edo_fns_fio(xmlNodePtr parent, const char *surname,
			const char *given, const char *patronymic)
{
	xmlNodePtr fio = xmlNewChild(parent, NULL, BAD_CAST "ФИО", NULL);

	edo_fns_prop(fio, "Фамилия", surname != NULL && *surname != '\0' ?
		    surname : "-", EDO_FNS_MAX_FIO);
	edo_fns_prop(fio, "Имя", given != NULL && *given != '\0' ? given : "-",
		    EDO_FNS_MAX_FIO);
	if (patronymic != NULL && *patronymic != '\0')
		edo_fns_prop(fio, "Отчество", patronymic, EDO_FNS_MAX_FIO);
}

/* ЮЛ for an organization, ИП (with ФИО from the name) for 12 digits. */
static void edo_fns_party(xmlNodePtr parent,
			  const struct edo_fns_party *p)
{
	char *sur, *given, *patr;
	xmlNodePtr node;

	if (strlen(p->inn) == 10) {
		node = xmlNewChild(parent, NULL, BAD_CAST "ЮЛ", NULL);
		edo_fns_prop(node, "НаимОрг", p->name, EDO_MAX_NAME);
		edo_fns_prop(node, "ИННЮЛ", p->inn, 10);
		edo_fns_prop(node, "КПП", p->kpp != NULL ? p->kpp : "", 9);
		return;
	}
	node = xmlNewChild(parent, NULL, BAD_CAST "ИП", NULL);
	edo_fns_prop(node, "ИННФЛ", p->inn, 12);
	if (edo_fns_split_name(p->name, &sur, &given, &patr) < 0) {
		edo_fns_fio(node, NULL, NULL, NULL);
		return;
	}
	edo_fns_fio(node, sur, given, patr);
	free(sur);
	free(given);
	free(patr);
}

/* The file element (СведОтпрФайл / СведПолФайл) with base64 signatures. */
static void edo_fns_file(xmlNodePtr parent, const char *elem,
			 const char *name_attr, const char *sig_elem,
			 const struct edo_fns_file *f)
{
	xmlNodePtr node = xmlNewChild(parent, NULL, BAD_CAST elem, NULL);
	size_t i;

	edo_fns_prop(node, name_attr, f->name, EDO_MAX_FILE_NAME);
	for (i = 0; i < f->n_sigs; i++) {
		char *b64 = edo_base64(f->sigs[i], f->sig_lens[i]);
		xmlNewTextChild(node, NULL, BAD_CAST sig_elem, BAD_CAST b64);
		free(b64);
	}
}

static xmlNodePtr edo_fns_root(xmlDocPtr doc, const char *file_id,
			       const char *knd)
{
	xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "Файл"), d;

	xmlDocSetRootElement(doc, root);
	xmlNewProp(root, BAD_CAST "ИдФайл", BAD_CAST file_id);
	xmlNewProp(root, BAD_CAST "ВерсПрог", BAD_CAST EDO_FNS_PROGRAM);
	xmlNewProp(root, BAD_CAST "ВерсФорм", BAD_CAST EDO_FNS_VERSION);
	d = xmlNewChild(root, NULL, BAD_CAST "Документ", NULL);
	xmlNewProp(d, BAD_CAST "КНД", BAD_CAST knd);
	return d;
}

/* Serializes, then parses the bytes back and validates them: what is
 * checked is exactly what will be signed and stored. */
static int edo_fns_finish(enum edo_fns_format fmt, xmlDocPtr doc,
			  const char *file_id, int unchecked,
			  unsigned char **xml_r, size_t *len_r,
			  char **file_name_r, struct core_error *err)
{
	xmlChar *mem = NULL;
	int size = 0;

	xmlDocDumpFormatMemoryEnc(doc, &mem, &size, EDO_FNS_ENCODING, 0);
	xmlFreeDoc(doc);
	if (mem == NULL || size <= 0) {
		xmlFree(mem);
		return edo_error(err, CORE_ERR_TEMP,
			"Не удалось сформировать XML / cannot write XML");
	}
	if (!unchecked && edo_fns_validate(fmt, mem, (size_t)size, err) < 0) {
		log_warnx("fns: generated %s is invalid: %s", file_id,
			  err != NULL ? err->msg : "?");
		xmlFree(mem);
		return -1;
	}
	/* One byte more, NUL: callers may treat the document as a string. */
	*xml_r = xmalloc((size_t)size + 1);
	memcpy(*xml_r, mem, (size_t)size);
	((char *)*xml_r)[size] = '\0';
	*len_r = (size_t)size;
	xmlFree(mem);
	*file_name_r = xasprintf("%s.xml", file_id);
	return 0;
}

static int edo_fns_check_file(const struct edo_fns_file *f,
			      struct core_error *err)
{
	if (f->name == NULL || *f->name == '\0' || f->n_sigs == 0)
		return edo_error(err, CORE_ERR_INVALID,
			"Нет подписанного файла для подтверждения / no signed "
			"file to confirm");
	return 0;
}

/* Ids go into the file name as they are, so they are checked first
 * (ИдУчастЭДО: 4-46, ИдОперЭДО: 3 characters [A-Za-z0-9@.-]). */
static int edo_fns_check_id(const char *id, size_t min, struct core_error *err)
{
	if (!edo_id_valid(id, min, min == 3 ? 3 : 46))
		return edo_error(err, CORE_ERR_INVALID,
			"Неверный идентификатор участника ЭДО / invalid EDO "
			"participant id");
	return 0;
}

static char *edo_fns_file_id(const char *prefix, const char *to_id,
			    const char *from_id, int64_t ts)
{
	char date[11], time_[9], ymd[9], uuid[37];

	edo_fns_dates(ts, date, time_, ymd);
	util_uuid(uuid);
	return xasprintf("%s_%s_%s_%s_%s", prefix, to_id, from_id, ymd, uuid);
}

/* ПДОтпр and ПДПол differ only in names (the XSDs are the same shape):
 * which file, element and attributes, and whom the file is addressed to. */
struct edo_fns_conf_names {
	enum edo_fns_format fmt;
	const char *prefix, *knd, *date, *time_, *file, *file_name, *file_sig;
};

static const struct edo_fns_conf_names edo_fns_pdotpr_names = {
	EDO_FNS_PDOTPR, "DP_PDOTPR", "1115111", "ДатаОтпр", "ВремяОтпр",
	"СведОтпрФайл", "ИмяОтпрФайла", "ЭПОтпрФайл",
};

static const struct edo_fns_conf_names edo_fns_pdpol_names = {
	EDO_FNS_PDPOL, "DP_PDPOL", "1115112", "ДатаПол", "ВремяПол",
	"СведПолФайл", "ИмяПолФайла", "ЭППолФайл",
};

static int edo_fns_confirmation(const struct edo_fns_conf_names *nm,
				const struct edo_fns_pdotpr *p,
				const char *addressee,
				unsigned char **xml_r, size_t *len_r,
				char **file_name_r, struct core_error *err)
{
	char date[11], time_[9], ymd[9], *file_id;
	xmlNodePtr d, n, conf;
	xmlDocPtr doc;
	int ret;

	if (edo_fns_check_file(&p->file, err) < 0 ||
	    edo_fns_ts_valid(p->sent, err) < 0 ||
	    edo_fns_check_id(p->sender.id, 4, err) < 0 ||
	    edo_fns_check_id(p->recipient.id, 4, err) < 0 ||
	    edo_fns_check_id(p->oper_id, 3, err) < 0)
		return -1;
	pthread_once(&edo_fns_once, edo_fns_init);
	/* A = the participant the operator sends it to, O = the operator. */
	file_id = edo_fns_file_id(nm->prefix, addressee, p->oper_id, p->sent);
	edo_fns_dates(p->sent, date, time_, ymd);
	doc = xmlNewDoc(BAD_CAST "1.0");
	d = edo_fns_root(doc, file_id, nm->knd);
	n = xmlNewChild(d, NULL, BAD_CAST "ОперЭДО", NULL);
	edo_fns_prop(n, "НаимОрг", p->oper_name, EDO_MAX_NAME);
	edo_fns_prop(n, "ИННЮЛ", p->oper_inn, 10);
	edo_fns_prop(n, "ИдОперЭДО", p->oper_id, 3);
	conf = xmlNewChild(d, NULL, BAD_CAST "СведПодтв", NULL);
	xmlNewProp(conf, BAD_CAST nm->date, BAD_CAST date);
	xmlNewProp(conf, BAD_CAST nm->time_, BAD_CAST time_);
	edo_fns_file(conf, nm->file, nm->file_name, nm->file_sig, &p->file);
	n = xmlNewChild(d, NULL, BAD_CAST "СвОтпрДок", NULL);
	edo_fns_prop(n, "ИдУчастЭДО", p->sender.id, 46);
	edo_fns_party(n, &p->sender);
	n = xmlNewChild(d, NULL, BAD_CAST "СвПолДок", NULL);
	edo_fns_prop(n, "ИдУчастЭДО", p->recipient.id, 46);
	edo_fns_party(n, &p->recipient);
	ret = edo_fns_finish(nm->fmt, doc, file_id, 0, xml_r, len_r,
			     file_name_r, err);
	free(file_id);
	return ret;
}

int edo_fns_pdotpr(const struct edo_fns_pdotpr *p,
		   unsigned char **xml_r, size_t *len_r,
		   char **file_name_r, struct core_error *err)
{
	return edo_fns_confirmation(&edo_fns_pdotpr_names, p, p->sender.id,
				    xml_r, len_r, file_name_r, err);
}

int edo_fns_pdpol(const struct edo_fns_pdotpr *p,
		  unsigned char **xml_r, size_t *len_r,
		  char **file_name_r, struct core_error *err)
{
	/* p->sent is the time of receipt here (ДатаПол/ВремяПол). */
	return edo_fns_confirmation(&edo_fns_pdpol_names, p, p->recipient.id,
				    xml_r, len_r, file_name_r, err);
}

/* What the recipient side's notices (ИоП, Уведомление об уточнении)
 * share: the recipient (УчастЭДО), the body element with the date of
 * receipt and the file received with its signatures; then the document's
 * sender (ОтпрДок) and the signer (Подписант).  A = the document's sender,
 * O = the side that answers.  notice_begin returns the body element, or
 * NULL with *err set. */
struct edo_fns_notice {
	const struct edo_fns_party *receiver, *sender;
	const struct edo_fns_file *file;
	const struct edo_fns_person *signer;
	int64_t received;
	int unchecked;
	xmlDocPtr doc;
	xmlNodePtr root;
	char *file_id;
};

static xmlNodePtr edo_fns_notice_begin(struct edo_fns_notice *nt,
				       const char *prefix, const char *knd,
				       const char *body, struct core_error *err)
{
	char date[11], time_[9], ymd[9];
	xmlNodePtr n;

	if (edo_fns_check_file(nt->file, err) < 0 ||
	    edo_fns_ts_valid(nt->received, err) < 0 ||
	    edo_fns_check_id(nt->sender->id, 4, err) < 0 ||
	    edo_fns_check_id(nt->receiver->id, 4, err) < 0)
		return NULL;
	pthread_once(&edo_fns_once, edo_fns_init);
	nt->file_id = edo_fns_file_id(prefix, nt->sender->id, nt->receiver->id,
				      nt->received);
	edo_fns_dates(nt->received, date, time_, ymd);
	nt->doc = xmlNewDoc(BAD_CAST "1.0");
	nt->root = edo_fns_root(nt->doc, nt->file_id, knd);
	n = xmlNewChild(nt->root, NULL, BAD_CAST "УчастЭДО", NULL);
	edo_fns_prop(n, "ИдУчастЭДО", nt->receiver->id, 46);
	edo_fns_party(n, nt->receiver);
	n = xmlNewChild(nt->root, NULL, BAD_CAST body, NULL);
	xmlNewProp(n, BAD_CAST "ДатаПол", BAD_CAST date);
	xmlNewProp(n, BAD_CAST "ВремяПол", BAD_CAST time_);
	edo_fns_file(n, "СведПолФайл", "ИмяПолФайла", "ЭППолФайл", nt->file);
	return n;
}

static int edo_fns_notice_end(struct edo_fns_notice *nt,
			      enum edo_fns_format fmt, unsigned char **xml_r,
			      size_t *len_r, char **file_name_r,
			      struct core_error *err)
{
	const struct edo_fns_person *s = nt->signer;
	xmlNodePtr n;
	int ret;

	n = xmlNewChild(nt->root, NULL, BAD_CAST "ОтпрДок", NULL);
	edo_fns_prop(n, "ИдУчастЭДО", nt->sender->id, 46);
	edo_fns_party(n, nt->sender);
	n = xmlNewChild(nt->root, NULL, BAD_CAST "Подписант", NULL);
	if (s->position != NULL && *s->position != '\0')
		edo_fns_prop(n, "Должн", s->position, 255);
	edo_fns_fio(n, s->surname, s->given_name, s->patronymic);
	ret = edo_fns_finish(fmt, nt->doc, nt->file_id, nt->unchecked, xml_r,
			     len_r, file_name_r, err);
	free(nt->file_id);
	return ret;
}

int edo_fns_izvpol(const struct edo_fns_izvpol *p,
		   unsigned char **xml_r, size_t *len_r,
		   char **file_name_r, struct core_error *err)
{
	struct edo_fns_notice nt = { &p->receiver, &p->sender, &p->file,
				     &p->signer, p->received, p->unchecked,
				     NULL, NULL, NULL };

	if (edo_fns_notice_begin(&nt, "DP_IZVPOL", "1115110", "СвИзвПолуч",
				 err) == NULL)
		return -1;
	return edo_fns_notice_end(&nt, EDO_FNS_IZVPOL, xml_r, len_r,
				  file_name_r, err);
}

/* The reason: required by the format's meaning (a refusal says why);
 * ТекстУведУточ itself has no length limit, ours is the text limit of a
 * letter. */
#define EDO_FNS_MAX_REASON 4000

int edo_fns_uvutoch(const struct edo_fns_uvutoch *p,
		    unsigned char **xml_r, size_t *len_r,
		    char **file_name_r, struct core_error *err)
{
	struct edo_fns_notice nt = { &p->receiver, &p->sender, &p->file,
				     &p->signer, p->received, 0, NULL, NULL,
				     NULL };
	xmlNodePtr n;
	char *reason;

	if (p->reason == NULL || *p->reason == '\0')
		return edo_error(err, CORE_ERR_INVALID,
			"Отказ в подписи требует причины / a refusal to sign "
			"needs a reason");
	n = edo_fns_notice_begin(&nt, "DP_UVUTOCH", "1115113", "СвУведУточ",
				 err);
	if (n == NULL)
		return -1;
	/* Line breaks of the reason are kept: a text element, not an
	 * attribute, so only other control characters are replaced. */
	reason = edo_fns_clean_text(p->reason, EDO_FNS_MAX_REASON);
	xmlNewTextChild(n, NULL, BAD_CAST "ТекстУведУточ", BAD_CAST reason);
	free(reason);
	return edo_fns_notice_end(&nt, EDO_FNS_UVUTOCH, xml_r, len_r,
				  file_name_r, err);
}

int edo_fns_is_pdpol(const char *file_name)
{
	return file_name != NULL && strncmp(file_name, "DP_PDPOL_", 9) == 0;
}
