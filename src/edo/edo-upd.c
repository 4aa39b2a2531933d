/* The УПД (КНД 1115131 seller's title, 1115132 buyer's title), FNS
 * versions 5.01 and 5.02: detection, validation with the failing
 * element's path, reading, the readable table, and the builders of the
 * seller's and the buyer's titles.  DESIGN.md section 6a, doc/upd.md.
 *
 * The schemas are parsed once and shared (libxml2 allows concurrent
 * validation with one parsed schema, each call with its own context),
 * like the flow formats of edo-fns.c; kept apart from them because these
 * four are large and only a letter with a УПД needs them.  Dates and
 * times are Moscow time (the legal time of the operators), files
 * windows-1251. */
#include "edo/edo-upd.h"
#include "edo/edo.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#include "lib/log.h"
#include "lib/util.h"

#define EDO_UPD_PROGRAM "edomail " EDOMAIL_VERSION
#define EDO_UPD_ENCODING "windows-1251"
#define EDO_UPD_MAX_DOC (16 * 1024 * 1024)
#define EDO_UPD_MSK_OFFSET (3 * 3600)
#define EDO_UPD_MAX_ITEMS 10000
#define EDO_UPD_MAX_QTY_INT 10000000LL		/* units per line */
#define EDO_UPD_MAX_PRICE 100000000000LL	/* kopecks (10^9 roubles) */
#define EDO_UPD_MAX_SUM 10000000000000000LL	/* kopecks (10^14 roubles) */
#define EDO_UPD_TABLE_NAME 48			/* characters of a goods name shown */
#define EDO_UPD_DOC_NAME "Счет-фактура и документ об отгрузке товаров " \
	"(выполнении работ), передаче имущественных прав (документ об " \
	"оказании услуг)"
#define EDO_UPD_FACT_NAME "Документ об отгрузке товаров (выполнении " \
	"работ), передаче имущественных прав (документ об оказании услуг)"

/* [version][title] */
static const char *const edo_upd_xsd[2][2] = {
	{ "ON_NSCHFDOPPR_1_997_01_05_01_03.xsd",
	  "ON_NSCHFDOPPOK_1_997_02_05_01_02.xsd" },
	{ "ON_NSCHFDOPPR_1_997_01_05_02_01.xsd",
	  "ON_NSCHFDOPPOK_1_997_02_05_02_01.xsd" },
};
static const char *const edo_upd_vers[2] = { "5.01", "5.02" };

static pthread_mutex_t edo_upd_lock = PTHREAD_MUTEX_INITIALIZER;
static xmlSchemaPtr edo_upd_schemas[2][2];
static pthread_once_t edo_upd_once = PTHREAD_ONCE_INIT;

static void edo_upd_init(void)
{
	xmlInitParser();
}

/* ---- errors: the first one, with the element's path ---- */

struct edo_upd_errors {
	char msg[200];
	char path[160];
	int line;
	int count;
};

static void edo_upd_trim(char *s)
{
	size_t len = strlen(s);

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
		s[--len] = '\0';
}

static void edo_upd_error_cb(void *ctx, xmlErrorPtr e)
{
	struct edo_upd_errors *errs = ctx;
	xmlChar *path;

	if (errs->count++ > 0 || e == NULL || e->message == NULL)
		return;
	snprintf(errs->msg, sizeof(errs->msg), "%s", e->message);
	edo_upd_trim(errs->msg);
	errs->line = e->line;
	if (e->node != NULL &&
	    (path = xmlGetNodePath((xmlNodePtr)e->node)) != NULL) {
		snprintf(errs->path, sizeof(errs->path), "%s",
			 (const char *)path);
		xmlFree(path);
	}
}

/* ---- schemas ---- */

static char *edo_upd_schema_path(const char *file)
{
	const char *dir = getenv("EDOMAIL_FORMATS_DIR");
	struct stat st;
	char *path;

	if (dir != NULL && *dir != '\0') {
		path = xasprintf("%s/%s", dir, file);
		if (stat(path, &st) == 0)
			return path;
		free(path);
	}
	return xasprintf("%s/data/formats/%s", EDOMAIL_SOURCE_ROOT, file);
}

static xmlSchemaPtr edo_upd_schema_load(const char *file,
				       struct core_error *err)
{
	struct edo_upd_errors errs = { .count = 0 };
	xmlSchemaParserCtxtPtr pctx;
	xmlSchemaPtr schema = NULL;
	char *path = edo_upd_schema_path(file);

	pctx = xmlSchemaNewParserCtxt(path);
	if (pctx != NULL) {
		xmlSchemaSetParserStructuredErrors(pctx, edo_upd_error_cb,
						   &errs);
		schema = xmlSchemaParse(pctx);
		xmlSchemaFreeParserCtxt(pctx);
	}
	if (schema == NULL) {
		edo_error(err, CORE_ERR_TEMP,
			"Схема ФНС %s недоступна / FNS schema %s unavailable",
			file, file);
		log_error("upd: cannot load schema %s: %s", path, errs.msg);
	}
	free(path);
	return schema;
}

static xmlSchemaPtr edo_upd_schema(enum edo_upd_version v,
				  enum edo_upd_title t,
				  struct core_error *err)
{
	xmlSchemaPtr schema;

	pthread_once(&edo_upd_once, edo_upd_init);
	pthread_mutex_lock(&edo_upd_lock);
	if (edo_upd_schemas[v][t] == NULL)
		edo_upd_schemas[v][t] = edo_upd_schema_load(edo_upd_xsd[v][t],
							   err);
	schema = edo_upd_schemas[v][t];
	pthread_mutex_unlock(&edo_upd_lock);
	return schema;
}

void edo_upd_cleanup(void)
{
	pthread_mutex_lock(&edo_upd_lock);
	for (int v = 0; v < 2; v++)
		for (int t = 0; t < 2; t++) {
			if (edo_upd_schemas[v][t] != NULL)
				xmlSchemaFree(edo_upd_schemas[v][t]);
			edo_upd_schemas[v][t] = NULL;
		}
	pthread_mutex_unlock(&edo_upd_lock);
}

/* ---- reading XML from others ---- */

/* No network, no entities, no DTD: the bytes come from other parties. */
static xmlDocPtr edo_upd_read(const unsigned char *xml, size_t len,
			      struct edo_upd_errors *errs)
{
	xmlParserCtxtPtr pctx;
	xmlDocPtr doc;
	xmlErrorPtr perr;

	if (xml == NULL || len == 0 || len > EDO_UPD_MAX_DOC) {
		snprintf(errs->msg, sizeof(errs->msg),
			 "empty or larger than %d bytes", EDO_UPD_MAX_DOC);
		return NULL;
	}
	pthread_once(&edo_upd_once, edo_upd_init);
	if ((pctx = xmlNewParserCtxt()) == NULL) {
		snprintf(errs->msg, sizeof(errs->msg), "out of memory");
		return NULL;
	}
	doc = xmlCtxtReadMemory(pctx, (const char *)xml, (int)len, "upd.xml",
				NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
				XML_PARSE_NOWARNING);
	if (doc == NULL && (perr = xmlCtxtGetLastError(pctx)) != NULL)
		edo_upd_error_cb(errs, perr);
	xmlFreeParserCtxt(pctx);
	if (doc != NULL && doc->intSubset != NULL) {
		xmlFreeDoc(doc);
		snprintf(errs->msg, sizeof(errs->msg), "a DTD is not allowed");
		return NULL;
	}
	return doc;
}

static xmlNodePtr edo_upd_child(xmlNodePtr parent, const char *name)
{
	xmlNodePtr n;

	for (n = parent != NULL ? parent->children : NULL; n != NULL;
	     n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)n->name, name) == 0)
			return n;
	return NULL;
}

/* parent/a/b/... (NULL-terminated names) */
static xmlNodePtr edo_upd_path(xmlNodePtr n, const char *const *names)
{
	for (; n != NULL && *names != NULL; names++)
		n = edo_upd_child(n, *names);
	return n;
}

/* An attribute's value (UTF-8), "" when absent; caller frees. */
static char *edo_upd_attr(xmlNodePtr n, const char *name)
{
	xmlChar *v = n != NULL ? xmlGetProp(n, BAD_CAST name) : NULL;
	char *s = xstrdup(v != NULL ? (const char *)v : "");

	xmlFree(v);
	return s;
}

static char *edo_upd_text(xmlNodePtr n)
{
	xmlChar *v = n != NULL ? xmlNodeGetContent(n) : NULL;
	char *s = xstrdup(v != NULL ? (const char *)v : "");

	xmlFree(v);
	return s;
}

/* ---- detection and validation ---- */

static int edo_upd_name_title(const char *name, enum edo_upd_title *t_r)
{
	const char *base;
	size_t len;

	if (name == NULL)
		return 0;
	base = strrchr(name, '/');
	base = base != NULL ? base + 1 : name;
	len = strlen(base);
	if (len < 5 || strcasecmp(base + len - 4, ".xml") != 0)
		return 0;
	if (strncasecmp(base, "ON_NSCHFDOPPR_", 14) == 0)
		*t_r = EDO_UPD_SELLER;
	else if (strncasecmp(base, "ON_NSCHFDOPPOK_", 15) == 0)
		*t_r = EDO_UPD_BUYER;
	else
		return 0;
	return 1;
}

static int edo_upd_root_version(xmlDocPtr doc, enum edo_upd_version *v_r)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	char *vers;
	int ok = 1;

	if (root == NULL || strcmp((const char *)root->name, "Файл") != 0)
		return 0;
	vers = edo_upd_attr(root, "ВерсФорм");
	if (strcmp(vers, "5.01") == 0)
		*v_r = EDO_UPD_501;
	else if (strcmp(vers, "5.02") == 0)
		*v_r = EDO_UPD_502;
	else
		ok = 0;
	free(vers);
	return ok;
}

int edo_upd_detect(const char *name, const unsigned char *data, size_t len,
		   struct edo_upd_info *info_r)
{
	struct edo_upd_errors errs = { .count = 0 };
	struct edo_upd_info info = { .version = EDO_UPD_501 };
	xmlDocPtr doc;
	int ret;

	if (!edo_upd_name_title(name, &info.title))
		return 0;
	if ((doc = edo_upd_read(data, len, &errs)) == NULL) {
		info.malformed = 1;
		*info_r = info;
		return 1;
	}
	ret = edo_upd_root_version(doc, &info.version);
	xmlFreeDoc(doc);
	if (ret)
		*info_r = info;
	return ret;
}

int edo_upd_name_is_upd(const char *name)
{
	enum edo_upd_title t;

	return edo_upd_name_title(name, &t);
}

/* "ON_NSCHFDOPPR_....xml" without the directory and the extension. */
static char *edo_upd_stem(const char *name)
{
	const char *base = strrchr(name, '/');
	size_t len;

	base = base != NULL ? base + 1 : name;
	len = strlen(base);
	if (len > 4 && strcasecmp(base + len - 4, ".xml") == 0)
		len -= 4;
	return xstrndup(base, len);
}

static int edo_upd_validate_doc(const char *name,
				const struct edo_upd_info *info,
				xmlDocPtr doc, struct core_error *err)
{
	struct edo_upd_errors errs = { .count = 0 };
	xmlSchemaValidCtxtPtr vctx;
	xmlSchemaPtr schema;
	char *file_id, *stem;
	int rc;

	if ((schema = edo_upd_schema(info->version, info->title, err)) == NULL)
		return -1;
	if ((vctx = xmlSchemaNewValidCtxt(schema)) == NULL)
		return edo_error(err, CORE_ERR_TEMP,
			"Нет памяти для проверки XML / out of memory validating XML");
	xmlSchemaSetValidStructuredErrors(vctx, edo_upd_error_cb, &errs);
	rc = xmlSchemaValidateDoc(vctx, doc);
	xmlSchemaFreeValidCtxt(vctx);
	if (rc != 0)
		return edo_error(err, CORE_ERR_INVALID,
			"УПД %s не соответствует схеме ФНС / does not match the "
			"FNS schema (%s %s): %s, строка / line %d: %s",
			name, info->title == EDO_UPD_SELLER ? "ON_NSCHFDOPPR" :
			"ON_NSCHFDOPPOK", edo_upd_vers[info->version], errs.path[0] != '\0' ? errs.path : "/",
			errs.line, errs.msg[0] != '\0' ? errs.msg : "?");
	/* The FNS rule the schema states in Schematron only. */
	file_id = edo_upd_attr(xmlDocGetRootElement(doc), "ИдФайл");
	stem = edo_upd_stem(name);
	rc = strcmp(file_id, stem) == 0 ? 0 :
		edo_error(err, CORE_ERR_INVALID,
			"Имя файла УПД %s не совпадает с ИдФайл (%.120s) / the "
			"УПД's file name must equal its ИдФайл (/Файл/@ИдФайл)",
			name, file_id);
	free(file_id);
	free(stem);
	return rc;
}

int edo_upd_validate(const char *name, const struct edo_upd_info *info,
		     const unsigned char *xml, size_t len,
		     struct core_error *err)
{
	struct edo_upd_errors errs = { .count = 0 };
	struct edo_upd_info real;
	xmlDocPtr doc;
	int ret;

	if (name == NULL || info == NULL)
		return edo_error(err, CORE_ERR_INVALID,
			"Нет имени файла УПД / no УПД file name");
	if ((doc = edo_upd_read(xml, len, &errs)) == NULL)
		return edo_error(err, CORE_ERR_INVALID,
			"УПД %s: неверный XML / malformed XML, строка / line "
			"%d: %s", name, errs.line, errs.msg[0] != '\0' ?
			errs.msg : "?");
	real = *info;
	if (!edo_upd_root_version(doc, &real.version)) {
		xmlFreeDoc(doc);
		return edo_error(err, CORE_ERR_INVALID,
			"УПД %s: корень должен быть <Файл ВерсФорм=\"5.01\"> "
			"или \"5.02\" / the root must be <Файл> of version 5.01 "
			"or 5.02 (/Файл/@ВерсФорм)", name);
	}
	ret = edo_upd_validate_doc(name, &real, doc, err);
	xmlFreeDoc(doc);
	return ret;
}

/* ---- reading a seller's title ---- */

static void edo_upd_party_clear(struct edo_upd_party *p)
{
	free(p->name);
	free(p->inn);
	free(p->kpp);
	memset(p, 0, sizeof(*p));
}

void edo_upd_doc_clear(struct edo_upd_doc *d)
{
	size_t i;

	free(d->file_id);
	free(d->function);
	free(d->number);
	free(d->date);
	free(d->created_date);
	free(d->created_time);
	free(d->currency);
	edo_upd_party_clear(&d->seller);
	edo_upd_party_clear(&d->buyer);
	for (i = 0; i < d->n_lines; i++) {
		struct edo_upd_line *l = &d->lines[i];
		free(l->no);
		free(l->name);
		free(l->unit);
		free(l->qty);
		free(l->price);
		free(l->net);
		free(l->vat_rate);
		free(l->vat);
		free(l->gross);
	}
	free(d->lines);
	free(d->total_net);
	free(d->total_vat);
	free(d->total_gross);
	memset(d, 0, sizeof(*d));
}

/* "ИП Фамилия Имя Отчество" from a ФИО element. */
static char *edo_upd_fio_name(xmlNodePtr fio, const char *prefix)
{
	char *s = edo_upd_attr(fio, "Фамилия"), *g = edo_upd_attr(fio, "Имя");
	char *p = edo_upd_attr(fio, "Отчество");
	char *name = xasprintf("%s%s%s%s%s%s", prefix, s, *g ? " " : "", g,
			       *p ? " " : "", p);

	free(s);
	free(g);
	free(p);
	return name;
}

/* СвПрод / СвПокуп (УчастникТип) */
static void edo_upd_read_party(xmlNodePtr part, struct edo_upd_party *p)
{
	xmlNodePtr id = edo_upd_child(part, "ИдСв"), n;

	if ((n = edo_upd_child(id, "СвЮЛУч")) != NULL) {
		p->name = edo_upd_attr(n, "НаимОрг");
		p->inn = edo_upd_attr(n, "ИННЮЛ");
		p->kpp = edo_upd_attr(n, "КПП");
	} else if ((n = edo_upd_child(id, "СвИП")) != NULL) {
		p->name = edo_upd_fio_name(edo_upd_child(n, "ФИО"), "ИП ");
		p->inn = edo_upd_attr(n, "ИННФЛ");
		p->kpp = xstrdup("");
	} else {
		n = id != NULL ? xmlFirstElementChild(id) : NULL;
		p->name = edo_upd_attr(n, "НаимОрг");
		if (*p->name == '\0') {
			free(p->name);
			p->name = edo_upd_attr(n, "Наим");
		}
		p->inn = edo_upd_attr(n, "ИННФЛ");
		p->kpp = xstrdup("");
	}
}

/* СумНал / СумНалВсего (СумНДСТип): the amount or "без НДС". */
static char *edo_upd_vat_sum(xmlNodePtr n)
{
	xmlNodePtr v;

	if ((v = edo_upd_child(n, "СумНал")) != NULL)
		return edo_upd_text(v);
	if ((v = edo_upd_child(n, "БезНДС")) != NULL)
		return edo_upd_text(v);
	return xstrdup(edo_upd_child(n, "ДефНДС") != NULL ? "-" : "");
}

static void edo_upd_read_line(xmlNodePtr n, int v502, struct edo_upd_line *l)
{
	l->no = edo_upd_attr(n, "НомСтр");
	l->name = edo_upd_attr(n, "НаимТов");
	l->unit = v502 ? edo_upd_attr(n, "НаимЕдИзм") :
		edo_upd_attr(edo_upd_child(n, "ДопСведТов"), "НаимЕдИзм");
	if (*l->unit == '\0') {
		free(l->unit);
		l->unit = edo_upd_attr(n, "ОКЕИ_Тов");
	}
	l->qty = edo_upd_attr(n, "КолТов");
	l->price = edo_upd_attr(n, "ЦенаТов");
	l->net = edo_upd_attr(n, "СтТовБезНДС");
	l->vat_rate = edo_upd_attr(n, "НалСт");
	l->vat = edo_upd_vat_sum(edo_upd_child(n, "СумНал"));
	l->gross = edo_upd_attr(n, "СтТовУчНал");
}

static void edo_upd_read_table(xmlNodePtr table, int v502,
			       struct edo_upd_doc *d)
{
	xmlNodePtr n, total;
	size_t cap = 0;

	for (n = table != NULL ? table->children : NULL; n != NULL;
	     n = n->next) {
		if (n->type != XML_ELEMENT_NODE ||
		    strcmp((const char *)n->name, "СведТов") != 0)
			continue;
		if (d->n_lines == cap) {
			cap = cap != 0 ? cap * 2 : 8;
			d->lines = xrealloc(d->lines, cap * sizeof(*d->lines));
		}
		memset(&d->lines[d->n_lines], 0, sizeof(*d->lines));
		edo_upd_read_line(n, v502, &d->lines[d->n_lines++]);
	}
	total = edo_upd_child(table, "ВсегоОпл");
	d->total_net = edo_upd_attr(total, "СтТовБезНДСВсего");
	d->total_vat = edo_upd_vat_sum(edo_upd_child(total, "СумНалВсего"));
	d->total_gross = edo_upd_attr(total, "СтТовУчНалВсего");
}

int edo_upd_parse(const unsigned char *xml, size_t len,
		  struct edo_upd_doc *d, struct core_error *err)
{
	static const char *const p_doc[] = { "Документ", NULL };
	struct edo_upd_errors errs = { .count = 0 };
	xmlNodePtr root, docn, sv;
	xmlDocPtr doc;
	int v502;

	memset(d, 0, sizeof(*d));
	if ((doc = edo_upd_read(xml, len, &errs)) == NULL)
		return edo_error(err, CORE_ERR_INVALID,
			"Неверный XML / malformed XML: %s", errs.msg);
	if (!edo_upd_root_version(doc, &d->version)) {
		xmlFreeDoc(doc);
		return edo_error(err, CORE_ERR_INVALID,
			"Это не УПД 5.01/5.02 / not a УПД of version 5.01/5.02");
	}
	v502 = d->version == EDO_UPD_502;
	root = xmlDocGetRootElement(doc);
	docn = edo_upd_path(root, p_doc);
	sv = edo_upd_child(docn, "СвСчФакт");
	d->file_id = edo_upd_attr(root, "ИдФайл");
	d->function = edo_upd_attr(docn, "Функция");
	d->created_date = edo_upd_attr(docn, "ДатаИнфПр");
	d->created_time = edo_upd_attr(docn, "ВремИнфПр");
	d->number = edo_upd_attr(sv, v502 ? "НомерДок" : "НомерСчФ");
	d->date = edo_upd_attr(sv, v502 ? "ДатаДок" : "ДатаСчФ");
	d->currency = v502 ? edo_upd_attr(edo_upd_child(sv, "ДенИзм"), "КодОКВ") :
		edo_upd_attr(sv, "КодОКВ");
	edo_upd_read_party(edo_upd_child(sv, "СвПрод"), &d->seller);
	edo_upd_read_party(edo_upd_child(sv, "СвПокуп"), &d->buyer);
	edo_upd_read_table(edo_upd_child(docn, "ТаблСчФакт"), v502, d);
	xmlFreeDoc(doc);
	return 0;
}

/* ---- the readable table ---- */

static size_t edo_upd_width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* s cut to max characters, "…" marking the cut. */
static char *edo_upd_cut(const char *s, size_t max)
{
	size_t n = 0, i;

	if (edo_upd_width(s) <= max)
		return xstrdup(s);
	for (i = 0; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && n++ == max - 1)
			break;
	}
	return xasprintf("%.*s…", (int)i, s);
}

static void edo_upd_cell(struct buf *b, const char *s, size_t width,
			 int right)
{
	size_t w = edo_upd_width(s), pad = width > w ? width - w : 0;

	if (right)
		buf_printf(b, "%*s", (int)pad, "");
	buf_append_str(b, s);
	if (!right)
		buf_printf(b, "%*s", (int)pad, "");
}

#define EDO_UPD_COLS 9

static void edo_upd_row(struct buf *b, char *const *cells,
			const size_t *widths)
{
	/* number, name, unit: left; the amounts: right */
	static const int right[EDO_UPD_COLS] = { 1, 0, 0, 1, 1, 1, 1, 1, 1 };
	size_t end = b->len;

	for (int c = 0; c < EDO_UPD_COLS; c++) {
		if (c > 0)
			buf_append_str(b, "  ");
		edo_upd_cell(b, cells[c], widths[c], right[c]);
		if (cells[c][0] != '\0')
			end = b->len;
	}
	/* no trailing blanks */
	b->len = end;
	b->data[b->len] = '\0';
	buf_append_str(b, "\n");
}

static void edo_upd_party_line(struct buf *b, const char *label,
			       const struct edo_upd_party *p, int en)
{
	buf_printf(b, "%s %s, %s %s", label, p->name, en ? "INN" : "ИНН",
		   p->inn);
	if (p->kpp[0] != '\0')
		buf_printf(b, ", %s %s", en ? "KPP" : "КПП", p->kpp);
	buf_append_str(b, "\n");
}

char *edo_upd_table(const struct edo_upd_doc *d, int en)
{
	static const char *const head_ru[EDO_UPD_COLS] = {
		"№", "Товар (работа, услуга)", "Ед.", "Кол-во", "Цена",
		"Без НДС", "Ставка", "НДС", "С НДС" };
	static const char *const head_en[EDO_UPD_COLS] = {
		"No", "Goods (work, service)", "Unit", "Qty", "Price",
		"Net", "VAT rate", "VAT", "Total" };
	size_t n_rows = d->n_lines + 2, widths[EDO_UPD_COLS] = { 0 };
	char *(*rows)[EDO_UPD_COLS] = xcalloc(n_rows, sizeof(*rows));
	struct buf b;
	size_t r, total_w = 0;

	for (int c = 0; c < EDO_UPD_COLS; c++)
		rows[0][c] = xstrdup(en ? head_en[c] : head_ru[c]);
	for (r = 0; r < d->n_lines; r++) {
		const struct edo_upd_line *l = &d->lines[r];
		char *const src[EDO_UPD_COLS] = { l->no, l->name, l->unit,
			l->qty, l->price, l->net, l->vat_rate, l->vat,
			l->gross };
		for (int c = 0; c < EDO_UPD_COLS; c++)
			rows[r + 1][c] = c == 1 ?
				edo_upd_cut(src[c], EDO_UPD_TABLE_NAME) :
				xstrdup(src[c]);
	}
	{
		char **t = rows[n_rows - 1];
		for (int c = 0; c < EDO_UPD_COLS; c++)
			t[c] = xstrdup("");
		free(t[1]);
		t[1] = xstrdup(en ? "Total to pay" : "Всего к оплате");
		free(t[5]);
		t[5] = xstrdup(d->total_net);
		free(t[7]);
		t[7] = xstrdup(d->total_vat);
		free(t[8]);
		t[8] = xstrdup(d->total_gross);
	}
	for (r = 0; r < n_rows; r++)
		for (int c = 0; c < EDO_UPD_COLS; c++)
			if (edo_upd_width(rows[r][c]) > widths[c])
				widths[c] = edo_upd_width(rows[r][c]);
	for (int c = 0; c < EDO_UPD_COLS; c++)
		total_w += widths[c] + (c > 0 ? 2 : 0);

	buf_init(&b);
	buf_printf(&b, en ? "УПД (universal transfer document) No %s of %s, "
		   "format %s, function %s\n" :
		   "УПД № %s от %s (формат %s, функция %s)\n", d->number,
		   d->date, edo_upd_vers[d->version], d->function);
	edo_upd_party_line(&b, en ? "Seller:" : "Продавец:  ", &d->seller, en);
	edo_upd_party_line(&b, en ? "Buyer: " : "Покупатель:", &d->buyer, en);
	buf_printf(&b, en ? "Currency: %s%s\n\n" : "Валюта: %s%s\n\n",
		   d->currency, strcmp(d->currency, "643") == 0 ?
		   (en ? " (rouble)" : " (российский рубль)") : "");
	for (r = 0; r < n_rows; r++) {
		if (r == 1 || r == n_rows - 1) {
			for (size_t i = 0; i < total_w; i++)
				buf_append_str(&b, "-");
			buf_append_str(&b, "\n");
		}
		edo_upd_row(&b, rows[r], widths);
		for (int c = 0; c < EDO_UPD_COLS; c++)
			free(rows[r][c]);
	}
	free(rows);
	buf_printf(&b, en ? "\nTotal: net %s, VAT %s, to pay %s\n" :
		   "\nИтого: без НДС %s, НДС %s, всего к оплате %s\n",
		   d->total_net, d->total_vat, d->total_gross);
	return (char *)buf_steal(&b, NULL);
}

/* ---- building: values ---- */

static void edo_upd_dates(int64_t ts, char date[11], char time_[9],
			  char ymd[9])
{
	time_t t = (time_t)(ts + EDO_UPD_MSK_OFFSET);
	struct tm tm;

	gmtime_r(&t, &tm);
	if (strftime(date, 11, "%d.%m.%Y", &tm) == 0)
		date[0] = '\0';
	if (strftime(time_, 9, "%H.%M.%S", &tm) == 0)
		time_[0] = '\0';
	if (strftime(ymd, 9, "%Y%m%d", &tm) == 0)
		ymd[0] = '\0';
}

/* 1900-01-01 .. 2099-12-31 Moscow time, as ДатаТип allows. */
static int edo_upd_ts_valid(int64_t ts, struct core_error *err)
{
	if (ts < -2208988800LL - EDO_UPD_MSK_OFFSET ||
	    ts > 4102444799LL - EDO_UPD_MSK_OFFSET)
		return edo_error(err, CORE_ERR_INVALID,
			"Дата вне 1900-2099 годов / date outside 1900-2099");
	return 0;
}

/* A non-negative decimal with at most `frac` fraction digits as an
 * integer scaled by 10^frac ("1.5", frac 3 -> 1500); "," is accepted
 * for ".".  -1 when s is not such a number or exceeds max. */
static int64_t edo_upd_decimal(const char *s, int frac, int64_t max)
{
	int64_t v = 0;
	int digits = 0, seen_point = 0, fd = 0;

	if (s == NULL)
		return -1;
	while (*s == ' ')
		s++;
	for (; *s != '\0' && *s != ' '; s++) {
		if ((*s == '.' || *s == ',') && !seen_point && digits > 0) {
			seen_point = 1;
			continue;
		}
		if (!isdigit((unsigned char)*s) || (seen_point && fd == frac))
			return -1;
		if (v > max)
			return -1;
		v = v * 10 + (*s - '0');
		digits++;
		fd += seen_point;
	}
	while (*s == ' ')
		s++;
	if (digits == 0 || *s != '\0' || (seen_point && fd == 0))
		return -1;
	for (; fd < frac; fd++) {
		if (v > max)
			return -1;
		v *= 10;
	}
	return v > max ? -1 : v;
}

static char *edo_upd_money(int64_t kop)
{
	return xasprintf("%lld.%02lld", (long long)(kop / 100),
			 (long long)(kop % 100));
}

/* thousandths -> "10", "1.5", "0.125" */
static char *edo_upd_qty_text(int64_t milli)
{
	char *s = xasprintf("%lld.%03lld", (long long)(milli / 1000),
			    (long long)(milli % 1000));
	size_t len = strlen(s);

	while (s[len - 1] == '0')
		s[--len] = '\0';
	if (s[len - 1] == '.')
		s[--len] = '\0';
	return s;
}

/* The VAT rate as the format writes it and its percentage (-1: без НДС). */
static int edo_upd_rate(const char *vat, enum edo_upd_version v,
			const char **text_r)
{
	static const struct { const char *in, *text; int pct; } rates[] = {
		{ "20", "20%", 20 }, { "20%", "20%", 20 },
		{ "10", "10%", 10 }, { "10%", "10%", 10 },
		{ "0", "0%", 0 }, { "0%", "0%", 0 },
		{ "18", "18%", 18 }, { "18%", "18%", 18 },
		{ "без НДС", "без НДС", -1 }, { "none", "без НДС", -1 },
		{ "без ндс", "без НДС", -1 }, { "Без НДС", "без НДС", -1 },
	};

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		if (strcasecmp(vat != NULL ? vat : "20%", rates[i].in) != 0)
			continue;
		if (rates[i].pct == 18 && v != EDO_UPD_501)
			return -2;	/* gone since 2019; 5.02 has no 18% */
		*text_r = rates[i].text;
		return rates[i].pct;
	}
	return -2;
}

/* ОКЕИ of the common units (the code is optional when unknown). */
static const char *edo_upd_okei(const char *unit)
{
	static const struct { const char *unit, *code; } okei[] = {
		{ "шт", "796" }, { "шт.", "796" }, { "кг", "166" },
		{ "т", "168" }, { "м", "006" }, { "м2", "055" },
		{ "м3", "113" }, { "л", "112" }, { "ч", "356" },
		{ "усл. ед", "876" }, { "усл. ед.", "876" },
		{ "компл", "839" }, { "упак", "778" }, { "мес", "362" },
	};

	for (size_t i = 0; i < sizeof(okei) / sizeof(okei[0]); i++)
		if (strcmp(unit, okei[i].unit) == 0)
			return okei[i].code;
	return NULL;
}

/* One line computed: net = qty * price, VAT = net * rate (half up). */
struct edo_upd_calc {
	int64_t qty_milli, price_kop, net, vat, gross;
	int pct;		/* -1: без НДС */
	const char *rate;
};

static int edo_upd_calc_item(const struct edo_upd_item *it,
			     enum edo_upd_version v, size_t no,
			     struct edo_upd_calc *c, struct core_error *err)
{
	if (it->name == NULL || *it->name == '\0')
		return edo_error(err, CORE_ERR_INVALID,
			"Строка %zu: нет наименования товара / line %zu: no "
			"goods name", no, no);
	c->qty_milli = edo_upd_decimal(it->qty, 3,
				       EDO_UPD_MAX_QTY_INT * 1000);
	if (c->qty_milli <= 0)
		return edo_error(err, CORE_ERR_INVALID,
			"Строка %zu: количество «%s» должно быть числом больше "
			"0 (до 3 знаков после точки) / line %zu: the quantity "
			"must be a number above 0 (3 decimals at most)", no,
			it->qty != NULL ? it->qty : "", no);
	c->price_kop = edo_upd_decimal(it->price, 2, EDO_UPD_MAX_PRICE);
	if (c->price_kop <= 0)
		return edo_error(err, CORE_ERR_INVALID,
			"Строка %zu: цена «%s» должна быть числом больше 0 (до "
			"копеек) / line %zu: the price must be a number above 0 "
			"(2 decimals at most)", no,
			it->price != NULL ? it->price : "", no);
	c->pct = edo_upd_rate(it->vat, v, &c->rate);
	if (c->pct == -2)
		return edo_error(err, CORE_ERR_INVALID,
			"Строка %zu: ставка НДС «%s» не из формата %s (20%%, "
			"10%%, 0%%, без НДС) / line %zu: the VAT rate is not one "
			"of format %s", no, it->vat != NULL ? it->vat : "",
			edo_upd_vers[v], no, edo_upd_vers[v]);
	/* split so that nothing overflows: qty < 10^10 thousandths,
	 * price < 10^11 kopecks */
	c->net = (c->qty_milli / 1000) * c->price_kop +
		 ((c->qty_milli % 1000) * c->price_kop + 500) / 1000;
	if (c->net > EDO_UPD_MAX_SUM)
		return edo_error(err, CORE_ERR_INVALID,
			"Строка %zu: сумма слишком велика / line %zu: the amount "
			"is too large", no, no);
	c->vat = c->pct > 0 ? (c->net * c->pct + 50) / 100 : 0;
	c->gross = c->net + c->vat;
	return 0;
}

static int edo_upd_check_org(const struct edo_upd_org *o, const char *ru,
			     const char *en, struct core_error *err)
{
	if (o->name == NULL || *o->name == '\0' || o->inn == NULL ||
	    !edo_inn_valid(o->inn))
		return edo_error(err, CORE_ERR_INVALID,
			"%s: нужны наименование и верный ИНН (%s) / the %s needs "
			"a name and a valid ИНН", ru, o->inn != NULL ? o->inn : "",
			en);
	if (strlen(o->inn) == 10 && o->kpp != NULL && *o->kpp != '\0' &&
	    !edo_kpp_valid(o->kpp))
		return edo_error(err, CORE_ERR_INVALID,
			"%s: неверный КПП / the %s's КПП is invalid", ru, en);
	if (o->id == NULL || !edo_id_valid(o->id, 4, 46))
		return edo_error(err, CORE_ERR_INVALID,
			"%s: неверный идентификатор участника ЭДО / the %s's "
			"EDO participant id is invalid", ru, en);
	return 0;
}

/* ---- building: XML ---- */

/* An attribute with at most max characters and no control characters
 * (bytes of broken UTF-8 become '?'). */
static void edo_upd_prop(xmlNodePtr n, const char *name, const char *value,
			 size_t max)
{
	const char *s = value != NULL ? value : "";
	size_t len = strlen(s), i, k = 0, chars = 0;
	int utf8 = util_utf8_valid((const unsigned char *)s, len);
	char *out = xmalloc(len + 1);

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!utf8 && c >= 0x80)
			c = '?';
		if ((c & 0xc0) != 0x80 && chars++ == max)
			break;
		out[k++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	out[k] = '\0';
	xmlNewProp(n, BAD_CAST name, BAD_CAST out);
	free(out);
}

static xmlNodePtr edo_upd_el(xmlNodePtr parent, const char *name,
			     const char *text)
{
	return xmlNewTextChild(parent, NULL, BAD_CAST name,
			       text != NULL ? BAD_CAST text : NULL);
}

/* <ФИО>: a missing required part is "-" so that an odd name still makes
 * a valid document. */
static void edo_upd_fio(xmlNodePtr parent, const char *surname,
			const char *given, const char *patronymic)
{
	xmlNodePtr fio = edo_upd_el(parent, "ФИО", NULL);

	edo_upd_prop(fio, "Фамилия", surname != NULL && *surname ? surname :
		     "-", 60);
	edo_upd_prop(fio, "Имя", given != NULL && *given ? given : "-", 60);
	if (patronymic != NULL && *patronymic != '\0')
		edo_upd_prop(fio, "Отчество", patronymic, 60);
}

static void edo_upd_fio_of(xmlNodePtr parent, const char *name)
{
	char *s, *g, *p;

	if (edo_fns_split_name(name, &s, &g, &p) < 0) {
		edo_upd_fio(parent, NULL, NULL, NULL);
		return;
	}
	edo_upd_fio(parent, s, g, p);
	free(s);
	free(g);
	free(p);
}

/* СвПрод / СвПокуп: identification and the address (АдрИнф). */
static void edo_upd_party_xml(xmlNodePtr parent, const char *elem,
			      const struct edo_upd_org *o,
			      enum edo_upd_version v)
{
	xmlNodePtr p = edo_upd_el(parent, elem, NULL);
	xmlNodePtr id = edo_upd_el(p, "ИдСв", NULL), n, a;

	if (strlen(o->inn) == 10) {
		n = edo_upd_el(id, "СвЮЛУч", NULL);
		edo_upd_prop(n, "НаимОрг", o->name, 1000);
		edo_upd_prop(n, "ИННЮЛ", o->inn, 10);
		if (o->kpp != NULL && *o->kpp != '\0')
			edo_upd_prop(n, "КПП", o->kpp, 9);
	} else {
		n = edo_upd_el(id, "СвИП", NULL);
		edo_upd_prop(n, "ИННФЛ", o->inn, 12);
		edo_upd_fio_of(n, o->name);
	}
	a = edo_upd_el(edo_upd_el(p, "Адрес", NULL), "АдрИнф", NULL);
	edo_upd_prop(a, "КодСтр", "643", 3);
	if (v == EDO_UPD_502)
		edo_upd_prop(a, "НаимСтран", "Российская Федерация", 255);
	edo_upd_prop(a, "АдрТекст", o->address != NULL && *o->address ?
		     o->address : "Российская Федерация", 1000);
}

static void edo_upd_item_xml(xmlNodePtr table, const struct edo_upd_item *it,
			     const struct edo_upd_calc *c, size_t no,
			     enum edo_upd_version v)
{
	const char *unit = it->unit != NULL && *it->unit ? it->unit : "шт";
	const char *okei = edo_upd_okei(unit);
	xmlNodePtr n = edo_upd_el(table, "СведТов", NULL), s;
	char *q = edo_upd_qty_text(c->qty_milli), *p = edo_upd_money(c->price_kop);
	char *net = edo_upd_money(c->net), *vat = edo_upd_money(c->vat);
	char *gross = edo_upd_money(c->gross), nos[24];

	snprintf(nos, sizeof(nos), "%zu", no);
	edo_upd_prop(n, "НомСтр", nos, 6);
	edo_upd_prop(n, "НаимТов", it->name, 1000);
	if (okei != NULL)
		edo_upd_prop(n, "ОКЕИ_Тов", okei, 4);
	if (v == EDO_UPD_502)
		edo_upd_prop(n, "НаимЕдИзм", unit, 255);
	edo_upd_prop(n, "КолТов", q, 30);
	edo_upd_prop(n, "ЦенаТов", p, 30);
	edo_upd_prop(n, "СтТовБезНДС", net, 30);
	edo_upd_prop(n, "НалСт", c->rate, 35);
	edo_upd_prop(n, "СтТовУчНал", gross, 30);
	/* 5.01: Акциз, СумНал, ДопСведТов; 5.02: (Акциз), СумНал */
	edo_upd_el(edo_upd_el(n, "Акциз", NULL), "БезАкциз", "без акциза");
	s = edo_upd_el(n, "СумНал", NULL);
	edo_upd_el(s, c->pct < 0 ? "БезНДС" : "СумНал",
		   c->pct < 0 ? "без НДС" : vat);
	if (v == EDO_UPD_501)
		edo_upd_prop(edo_upd_el(n, "ДопСведТов", NULL), "НаимЕдИзм",
			     unit, 255);
	free(q);
	free(p);
	free(net);
	free(vat);
	free(gross);
}

static int edo_upd_table_xml(xmlNodePtr docn,
			     const struct edo_upd_seller_req *req,
			     struct core_error *err)
{
	xmlNodePtr table = edo_upd_el(docn, "ТаблСчФакт", NULL), tot, s;
	int64_t net = 0, vat = 0, gross = 0;
	int all_free = 1;
	char *t;

	for (size_t i = 0; i < req->n_items; i++) {
		struct edo_upd_calc c = { 0 };
		if (edo_upd_calc_item(&req->items[i], req->version, i + 1, &c,
				      err) < 0)
			return -1;
		net += c.net;
		vat += c.vat;
		gross += c.gross;
		all_free &= c.pct < 0;
		if (gross > EDO_UPD_MAX_SUM)
			return edo_error(err, CORE_ERR_INVALID,
				"Сумма документа слишком велика / the "
				"document's total is too large");
		edo_upd_item_xml(table, &req->items[i], &c, i + 1,
				 req->version);
	}
	tot = edo_upd_el(table, "ВсегоОпл", NULL);
	edo_upd_prop(tot, "СтТовБезНДСВсего", t = edo_upd_money(net), 30);
	free(t);
	edo_upd_prop(tot, "СтТовУчНалВсего", t = edo_upd_money(gross), 30);
	free(t);
	s = edo_upd_el(tot, "СумНалВсего", NULL);
	t = edo_upd_money(vat);
	edo_upd_el(s, all_free ? "БезНДС" : "СумНал", all_free ? "без НДС" : t);
	free(t);
	return 0;
}

/* Serializes in windows-1251, parses the bytes back and validates them:
 * what is checked is exactly what will be signed. */
static int edo_upd_finish(xmlDocPtr doc, const char *file_id,
			  const struct edo_upd_info *info,
			  unsigned char **xml_r, size_t *len_r,
			  char **file_name_r, struct core_error *err)
{
	xmlChar *mem = NULL;
	int size = 0;
	char *name = xasprintf("%s.xml", file_id);

	xmlDocDumpFormatMemoryEnc(doc, &mem, &size, EDO_UPD_ENCODING, 1);
	xmlFreeDoc(doc);
	if (mem == NULL || size <= 0) {
		xmlFree(mem);
		free(name);
		return edo_error(err, CORE_ERR_TEMP,
			"Не удалось сформировать XML / cannot write XML");
	}
	if (edo_upd_validate(name, info, mem, (size_t)size, err) < 0) {
		log_warnx("upd: generated %s is invalid: %s", file_id,
			  err != NULL ? err->msg : "?");
		xmlFree(mem);
		free(name);
		return -1;
	}
	*xml_r = xmalloc((size_t)size + 1);
	memcpy(*xml_r, mem, (size_t)size);
	(*xml_r)[size] = '\0';
	*len_r = (size_t)size;
	xmlFree(mem);
	*file_name_r = name;
	return 0;
}

/* <Файл ИдФайл ВерсФорм ВерсПрог> */
static xmlNodePtr edo_upd_root(xmlDocPtr doc, const char *file_id,
			       enum edo_upd_version v)
{
	xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "Файл");

	xmlDocSetRootElement(doc, root);
	xmlNewProp(root, BAD_CAST "ИдФайл", BAD_CAST file_id);
	xmlNewProp(root, BAD_CAST "ВерсФорм", BAD_CAST edo_upd_vers[v]);
	xmlNewProp(root, BAD_CAST "ВерсПрог", BAD_CAST EDO_UPD_PROGRAM);
	return root;
}

static char *edo_upd_file_id(const char *prefix, const char *to_id,
			     const char *from_id, int64_t ts)
{
	char date[11], time_[9], ymd[9], uuid[37];

	edo_upd_dates(ts, date, time_, ymd);
	util_uuid(uuid);
	return xasprintf("%s_%s_%s_%s_%s", prefix, to_id, from_id, ymd, uuid);
}

/* "ООО Ромашка, ИНН 7701000005" (НаимЭконСубСост) */
static void edo_upd_composer(xmlNodePtr n, const struct edo_upd_org *o)
{
	char *s = xasprintf("%s, ИНН %s", o->name, o->inn);

	edo_upd_prop(n, "НаимЭконСубСост", s, 1000);
	free(s);
}

static void edo_upd_seller_signer(xmlNodePtr docn,
				  const struct edo_upd_seller_req *req)
{
	const struct edo_fns_person *s = &req->signer;
	const char *pos = s->position != NULL && *s->position ?
		s->position : "Уполномоченное лицо";
	xmlNodePtr p = edo_upd_el(docn, "Подписант", NULL), n;

	if (req->version == EDO_UPD_502) {
		edo_upd_prop(p, "Должн", pos, 255);
		edo_upd_prop(p, "ТипПодпис", "1", 1);
		/* 1: authority from the qualified signature itself */
		edo_upd_prop(p, "СпосПодтПолном", "1", 1);
		edo_upd_fio(p, s->surname, s->given_name, s->patronymic);
		return;
	}
	/* 5.01: 6 = responsible for the event's paperwork and for signing
	 * invoices; status 1 = an employee of the seller */
	edo_upd_prop(p, "ОблПолн", "6", 2);
	edo_upd_prop(p, "Статус", "1", 2);
	edo_upd_prop(p, "ОснПолн", "Должностные обязанности", 255);
	if (strlen(req->seller.inn) == 10) {
		n = edo_upd_el(p, "ЮЛ", NULL);
		edo_upd_prop(n, "ИННЮЛ", req->seller.inn, 10);
		edo_upd_prop(n, "Должн", pos, 128);
	} else {
		n = edo_upd_el(p, "ИП", NULL);
		edo_upd_prop(n, "ИННФЛ", req->seller.inn, 12);
	}
	edo_upd_fio(n, s->surname, s->given_name, s->patronymic);
}

int edo_upd_make_seller(const struct edo_upd_seller_req *req,
			unsigned char **xml_r, size_t *len_r,
			char **file_name_r, struct core_error *err)
{
	struct edo_upd_info info = { .title = EDO_UPD_SELLER };
	char date[11], time_[9], ymd[9], *file_id;
	xmlNodePtr root, docn, sv, n;
	xmlDocPtr doc;
	int v502, ret;

	if (req == NULL || (req->version != EDO_UPD_501 &&
			    req->version != EDO_UPD_502))
		return edo_error(err, CORE_ERR_INVALID,
			"Версия УПД: 5.01 или 5.02 / УПД version: 5.01 or 5.02");
	if (edo_upd_check_org(&req->seller, "Продавец", "seller", err) < 0 ||
	    edo_upd_check_org(&req->buyer, "Покупатель", "buyer", err) < 0 ||
	    edo_upd_ts_valid(req->date, err) < 0)
		return -1;
	if (req->number == NULL || *req->number == '\0')
		return edo_error(err, CORE_ERR_INVALID,
			"Нет номера документа / no document number");
	if (req->n_items == 0 || req->n_items > EDO_UPD_MAX_ITEMS)
		return edo_error(err, CORE_ERR_INVALID,
			"Нужна хотя бы одна строка товаров (не больше %d) / at "
			"least one line of goods is needed (%d at most)",
			EDO_UPD_MAX_ITEMS, EDO_UPD_MAX_ITEMS);
	pthread_once(&edo_upd_once, edo_upd_init);
	info.version = req->version;
	v502 = req->version == EDO_UPD_502;
	edo_upd_dates(req->date, date, time_, ymd);
	/* R_T_A_O: A = the recipient (buyer), O = the sender (seller) */
	file_id = edo_upd_file_id("ON_NSCHFDOPPR", req->buyer.id,
				  req->seller.id, req->date);
	doc = xmlNewDoc(BAD_CAST "1.0");
	root = edo_upd_root(doc, file_id, req->version);
	if (!v502) {
		n = edo_upd_el(root, "СвУчДокОбор", NULL);
		edo_upd_prop(n, "ИдОтпр", req->seller.id, 46);
		edo_upd_prop(n, "ИдПол", req->buyer.id, 46);
	}
	docn = edo_upd_el(root, "Документ", NULL);
	edo_upd_prop(docn, "КНД", "1115131", 7);
	edo_upd_prop(docn, "Функция", "СЧФДОП", 6);
	edo_upd_prop(docn, "ПоФактХЖ", EDO_UPD_FACT_NAME, 255);
	edo_upd_prop(docn, "НаимДокОпр", EDO_UPD_DOC_NAME, 255);
	edo_upd_prop(docn, "ДатаИнфПр", date, 10);
	edo_upd_prop(docn, "ВремИнфПр", time_, 8);
	edo_upd_composer(docn, &req->seller);
	sv = edo_upd_el(docn, "СвСчФакт", NULL);
	edo_upd_prop(sv, v502 ? "НомерДок" : "НомерСчФ", req->number, 1000);
	edo_upd_prop(sv, v502 ? "ДатаДок" : "ДатаСчФ", date, 10);
	if (!v502)
		edo_upd_prop(sv, "КодОКВ", "643", 3);
	edo_upd_party_xml(sv, "СвПрод", &req->seller, req->version);
	if (v502) {
		n = edo_upd_el(sv, "ДокПодтвОтгрНом", NULL);
		edo_upd_prop(n, "РеквНаимДок", "Универсальный передаточный "
			     "документ", 255);
		edo_upd_prop(n, "РеквНомерДок", req->number, 255);
		edo_upd_prop(n, "РеквДатаДок", date, 10);
	}
	edo_upd_party_xml(sv, "СвПокуп", &req->buyer, req->version);
	if (v502) {
		n = edo_upd_el(sv, "ДенИзм", NULL);
		edo_upd_prop(n, "КодОКВ", "643", 3);
		edo_upd_prop(n, "НаимОКВ", "Российский рубль", 100);
	}
	if (edo_upd_table_xml(docn, req, err) < 0) {
		xmlFreeDoc(doc);
		free(file_id);
		return -1;
	}
	n = edo_upd_el(edo_upd_el(docn, "СвПродПер", NULL), "СвПер", NULL);
	edo_upd_prop(n, "СодОпер", "Товары переданы", 255);
	edo_upd_prop(n, "ДатаПер", date, 10);
	if (v502)
		edo_upd_el(n, "БезДокОснПер", "1");
	else
		edo_upd_prop(edo_upd_el(n, "ОснПер", NULL), "НаимОсн",
			     "Без документа-основания", 255);
	edo_upd_seller_signer(docn, req);
	ret = edo_upd_finish(doc, file_id, &info, xml_r, len_r, file_name_r,
			     err);
	free(file_id);
	return ret;
}

/* ---- the buyer's title ---- */

/* What the buyer's title quotes from the seller's. */
struct edo_upd_seller_facts {
	enum edo_upd_version version;
	char *file_id, *date, *time_, *function, *doc_name, *number, *doc_date;
	char *seller_id;		/* 5.01 СвУчДокОбор/@ИдОтпр */
	char *buyer_inn;
};

static void edo_upd_facts_clear(struct edo_upd_seller_facts *f)
{
	free(f->file_id);
	free(f->date);
	free(f->time_);
	free(f->function);
	free(f->doc_name);
	free(f->number);
	free(f->doc_date);
	free(f->seller_id);
	free(f->buyer_inn);
}

static int edo_upd_seller_facts(const unsigned char *xml, size_t len,
				struct edo_upd_seller_facts *f,
				struct core_error *err)
{
	struct edo_upd_errors errs = { .count = 0 };
	struct edo_upd_info info = { .title = EDO_UPD_SELLER };
	struct edo_upd_party buyer = { 0 };
	xmlNodePtr root, docn, sv;
	xmlDocPtr doc;
	char *name;
	int v502, ret;

	memset(f, 0, sizeof(*f));
	if ((doc = edo_upd_read(xml, len, &errs)) == NULL)
		return edo_error(err, CORE_ERR_INVALID,
			"Информация продавца: неверный XML / the seller's "
			"title is malformed XML: %s", errs.msg);
	if (!edo_upd_root_version(doc, &info.version)) {
		xmlFreeDoc(doc);
		return edo_error(err, CORE_ERR_INVALID,
			"Это не УПД 5.01/5.02 / not a УПД of version 5.01/5.02");
	}
	root = xmlDocGetRootElement(doc);
	f->file_id = edo_upd_attr(root, "ИдФайл");
	name = xasprintf("%s.xml", f->file_id);
	ret = edo_upd_validate_doc(name, &info, doc, err);
	free(name);
	if (ret < 0) {
		xmlFreeDoc(doc);
		return -1;
	}
	v502 = info.version == EDO_UPD_502;
	f->version = info.version;
	docn = edo_upd_child(root, "Документ");
	sv = edo_upd_child(docn, "СвСчФакт");
	f->date = edo_upd_attr(docn, "ДатаИнфПр");
	f->time_ = edo_upd_attr(docn, "ВремИнфПр");
	f->function = edo_upd_attr(docn, "Функция");
	f->doc_name = edo_upd_attr(docn, "НаимДокОпр");
	f->number = edo_upd_attr(sv, v502 ? "НомерДок" : "НомерСчФ");
	f->doc_date = edo_upd_attr(sv, v502 ? "ДатаДок" : "ДатаСчФ");
	f->seller_id = edo_upd_attr(edo_upd_child(root, "СвУчДокОбор"),
				    "ИдОтпр");
	edo_upd_read_party(edo_upd_child(sv, "СвПокуп"), &buyer);
	f->buyer_inn = buyer.inn;
	buyer.inn = NULL;
	edo_upd_party_clear(&buyer);
	xmlFreeDoc(doc);
	return 0;
}

static void edo_upd_buyer_signer(xmlNodePtr docn, enum edo_upd_version v,
				 const struct edo_upd_signer *s,
				 const struct edo_upd_org *buyer,
				 const char *date)
{
	const char *pos = s->position != NULL && *s->position ? s->position :
		"Представитель организации";
	xmlNodePtr p = edo_upd_el(docn, "Подписант", NULL), n;
	char *given = NULL, *patr = NULL;
	const char *sp;

	/* GN of a Russian qualified certificate is "Имя Отчество" */
	if ((s->patronymic == NULL || *s->patronymic == '\0') &&
	    s->given_name != NULL && (sp = strchr(s->given_name, ' ')) != NULL) {
		given = xstrndup(s->given_name, (size_t)(sp - s->given_name));
		patr = xstrdup(sp + 1);
	}
	if (v == EDO_UPD_502) {
		edo_upd_prop(p, "Должн", pos, 255);
		edo_upd_prop(p, "ТипПодпис", "1", 1);
		edo_upd_prop(p, "ДатаПодДок", date, 10);
		edo_upd_prop(p, "СпосПодтПолном", "1", 1);
		n = p;
	} else {
		/* 5.01: 2 = made the operation and is responsible for its
		 * paperwork; status 3 = an employee of the buyer */
		edo_upd_prop(p, "ОблПолн", "2", 1);
		edo_upd_prop(p, "Статус", "3", 1);
		edo_upd_prop(p, "ОснПолн", "Должностные обязанности", 255);
		if (strlen(buyer->inn) == 10) {
			n = edo_upd_el(p, "ЮЛ", NULL);
			edo_upd_prop(n, "ИННЮЛ", buyer->inn, 10);
			edo_upd_prop(n, "Должн", pos, 128);
		} else {
			n = edo_upd_el(p, "ИП", NULL);
			edo_upd_prop(n, "ИННФЛ", buyer->inn, 12);
		}
	}
	edo_upd_fio(n, s->surname, given != NULL ? given : s->given_name,
		    patr != NULL ? patr : s->patronymic);
	free(given);
	free(patr);
}

static int edo_upd_buyer_check(const struct edo_upd_seller_facts *f,
			       const struct edo_upd_seller_sigs *sigs,
			       const struct edo_upd_signer *signer,
			       const struct edo_upd_org *buyer,
			       const char *seller_id, struct core_error *err)
{
	if (sigs == NULL || sigs->n_sigs == 0)
		return edo_error(err, CORE_ERR_INVALID,
			"Нет подписи продавца: титул покупателя ссылается на "
			"неё / no seller's signature, which the buyer's title "
			"must quote");
	if (strcmp(f->buyer_inn, buyer->inn) != 0)
		return edo_error(err, CORE_ERR_INVALID,
			"УПД выставлен покупателю с ИНН %s, а подписывает "
			"организация с ИНН %s / the УПД names the buyer with "
			"ИНН %s, but the signing organization's ИНН is %s",
			f->buyer_inn, buyer->inn, f->buyer_inn, buyer->inn);
	if (signer->inn != NULL && *signer->inn != '\0' &&
	    strcmp(signer->inn, buyer->inn) != 0)
		return edo_error(err, CORE_ERR_INVALID,
			"Сертификат подписанта выдан ИНН %s, а не покупателю "
			"(ИНН %s) / the signer's certificate belongs to ИНН %s, "
			"not to the buyer (%s)", signer->inn, buyer->inn,
			signer->inn, buyer->inn);
	if ((f->seller_id[0] == '\0' || !edo_id_valid(f->seller_id, 4, 46)) &&
	    (seller_id == NULL || !edo_id_valid(seller_id, 4, 46)))
		return edo_error(err, CORE_ERR_INVALID,
			"Неизвестен идентификатор продавца / the seller's "
			"participant id is unknown");
	return 0;
}

int edo_upd_make_buyer(const unsigned char *seller_xml, size_t seller_len,
		       const struct edo_upd_seller_sigs *sigs,
		       const struct edo_upd_signer *signer,
		       const struct edo_upd_org *buyer, const char *seller_id,
		       int64_t date, unsigned char **xml_r, size_t *len_r,
		       char **file_name_r, struct core_error *err)
{
	struct edo_upd_info info = { .title = EDO_UPD_BUYER };
	struct edo_upd_seller_facts f;
	char d[11], t[9], ymd[9], *file_id;
	const char *sid;
	xmlNodePtr root, docn, n, fhj;
	xmlDocPtr doc;
	int v502, ret;

	if (signer == NULL || buyer == NULL)
		return edo_error(err, CORE_ERR_INVALID,
			"Нет подписанта или покупателя / no signer or buyer");
	if (edo_upd_check_org(buyer, "Покупатель", "buyer", err) < 0 ||
	    edo_upd_ts_valid(date, err) < 0)
		return -1;
	if (edo_upd_seller_facts(seller_xml, seller_len, &f, err) < 0)
		return -1;
	if (edo_upd_buyer_check(&f, sigs, signer, buyer, seller_id, err) < 0) {
		edo_upd_facts_clear(&f);
		return -1;
	}
	sid = f.seller_id[0] != '\0' && edo_id_valid(f.seller_id, 4, 46) ?
		f.seller_id : seller_id;
	info.version = f.version;
	v502 = f.version == EDO_UPD_502;
	edo_upd_dates(date, d, t, ymd);
	/* R_T_A_O: A = the recipient (seller), O = the sender (buyer) */
	file_id = edo_upd_file_id("ON_NSCHFDOPPOK", sid, buyer->id, date);
	doc = xmlNewDoc(BAD_CAST "1.0");
	root = edo_upd_root(doc, file_id, f.version);
	if (!v502) {
		n = edo_upd_el(root, "СвУчДокОбор", NULL);
		edo_upd_prop(n, "ИдОтпр", buyer->id, 46);
		edo_upd_prop(n, "ИдПол", sid, 46);
	}
	docn = edo_upd_el(root, v502 ? "Документ" : "ИнфПок", NULL);
	edo_upd_prop(docn, "КНД", "1115132", 7);
	edo_upd_prop(docn, "ДатаИнфПок", d, 10);
	edo_upd_prop(docn, "ВремИнфПок", t, 8);
	edo_upd_composer(docn, buyer);
	n = edo_upd_el(docn, "ИдИнфПрод", NULL);
	edo_upd_prop(n, "ИдФайлИнфПр", f.file_id, 255);
	edo_upd_prop(n, "ДатаФайлИнфПр", f.date, 10);
	edo_upd_prop(n, "ВремФайлИнфПр", f.time_, 8);
	for (size_t i = 0; i < sigs->n_sigs; i++) {
		char *b64 = edo_base64(sigs->sigs[i], sigs->sig_lens[i]);
		edo_upd_el(n, "ЭП", b64);
		free(b64);
	}
	fhj = edo_upd_el(docn, "СодФХЖ4", NULL);
	edo_upd_prop(fhj, "НаимДокОпрПр", f.doc_name[0] != '\0' ? f.doc_name :
		     EDO_UPD_DOC_NAME, 255);
	edo_upd_prop(fhj, "Функция", f.function, 6);
	edo_upd_prop(fhj, v502 ? "ПорНомДокИнфПр" : "НомСчФИнфПр", f.number,
		     1000);
	edo_upd_prop(fhj, v502 ? "ДатаДокИнфПр" : "ДатаСчФИнфПр", f.doc_date,
		     10);
	n = edo_upd_el(fhj, "СвПрин", NULL);
	edo_upd_prop(n, "СодОпер", "Товары (работы, услуги, права) приняты "
		     "без расхождений (претензий)", 255);
	edo_upd_prop(n, "ДатаПрин", d, 10);
	/* 1: accepted without discrepancies */
	edo_upd_prop(edo_upd_el(n, "КодСодОпер", NULL), "КодИтога", "1", 1);
	edo_upd_buyer_signer(docn, f.version, signer, buyer, d);
	edo_upd_facts_clear(&f);
	ret = edo_upd_finish(doc, file_id, &info, xml_r, len_r, file_name_r,
			     err);
	free(file_id);
	return ret;
}
