/* Thunderbird's autoconfig served by libevent's evhttp (issue 11 section
 * 4).  The document is contrib/autoconfig/config-v1.1.xml with the real
 * values: built once at start, the same bytes for every request. */
#include "daemon-autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "lib/log.h"
#include "lib/util.h"

struct daemon_autoconfig {
	struct evhttp *http;
	char *xml;
};

/* The two paths Thunderbird asks (autoconfig.<domain>/mail/... and
 * <domain>/.well-known/autoconfig/mail/...); a query string such as
 * ?emailaddress=... is ignored. */
static const char *const autoconfig_paths[] = {
	"/.well-known/autoconfig/mail/config-v1.1.xml",
	"/mail/config-v1.1.xml",
};

/* One incoming and one outgoing server per listener that is on, TLS
 * first: Thunderbird takes the first of each kind it can reach. */
static char *autoconfig_server(char *acc, const char *tag, const char *type,
			       const char *host, int port, const char *socket)
{
	char *next = xasprintf(
		"%s    <%s type=\"%s\">\n"
		"      <hostname>%s</hostname>\n"
		"      <port>%d</port>\n"
		"      <socketType>%s</socketType>\n"
		"      <authentication>password-cleartext</authentication>\n"
		"      <username>%%EMAILLOCALPART%%</username>\n"
		"    </%s>\n",
		acc, tag, type, host, port, socket, tag);
	free(acc);
	return next;
}

static int listen_on(const struct settings_listen *l)
{
	return l->address != NULL && l->port != 0;
}

char *daemon_autoconfig_xml(const struct settings *set)
{
	const char *host = set->autoconfig_host != NULL ? set->autoconfig_host :
			   set->hostname != NULL ? set->hostname : set->domain;
	char *servers = xstrdup(""), *xml;

	if (listen_on(&set->imaps))
		servers = autoconfig_server(servers, "incomingServer", "imap",
					    host, set->imaps.port, "SSL");
	if (listen_on(&set->imap))
		servers = autoconfig_server(servers, "incomingServer", "imap",
					    host, set->imap.port, "STARTTLS");
	if (listen_on(&set->submissions))
		servers = autoconfig_server(servers, "outgoingServer", "smtp",
					    host, set->submissions.port, "SSL");
	if (listen_on(&set->submission))
		servers = autoconfig_server(servers, "outgoingServer", "smtp",
					    host, set->submission.port,
					    "STARTTLS");
	/* domain and host passed settings_hostname_valid: letters, digits,
	 * dots and hyphens, nothing to escape in XML. */
	xml = xasprintf(
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<clientConfig version=\"1.1\">\n"
		"  <emailProvider id=\"%s\">\n"
		"    <domain>%s</domain>\n"
		"    <displayName>ЭДО edomail</displayName>\n"
		"    <displayShortName>ЭДО</displayShortName>\n"
		"%s"
		"  </emailProvider>\n"
		"</clientConfig>\n",
		set->domain, set->domain, servers);
	free(servers);
	return xml;
}

static void autoconfig_request(struct evhttp_request *req, void *arg)
{
	struct daemon_autoconfig *ac = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *body = evbuffer_new();
	size_t i;

	if (body == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	for (i = 0; path != NULL && i < sizeof(autoconfig_paths) /
			sizeof(autoconfig_paths[0]); i++) {
		if (strcmp(path, autoconfig_paths[i]) == 0)
			break;
	}
	if (path == NULL || i == sizeof(autoconfig_paths) /
			sizeof(autoconfig_paths[0])) {
		evhttp_add_header(out, "Content-Type", "text/plain; charset=utf-8");
		evbuffer_add_printf(body, "Не найдено / Not found\n");
		evhttp_send_reply(req, HTTP_NOTFOUND, "Not Found", body);
	} else {
		evhttp_add_header(out, "Content-Type",
				  "application/xml; charset=utf-8");
		evhttp_add_header(out, "Cache-Control", "no-cache");
		evbuffer_add(body, ac->xml, strlen(ac->xml));
		evhttp_send_reply(req, HTTP_OK, "OK", body);
	}
	evbuffer_free(body);
}

struct daemon_autoconfig *daemon_autoconfig_new(struct event_base *base,
						const struct settings *set,
						int *failed_r)
{
	struct daemon_autoconfig *ac;

	*failed_r = 0;
	if (!listen_on(&set->autoconfig))
		return NULL;
	ac = calloc(1, sizeof(*ac));
	if (ac == NULL || (ac->http = evhttp_new(base)) == NULL) {
		free(ac);
		*failed_r = 1;
		log_error("autoconfig: evhttp_new failed");
		return NULL;
	}
	/* Only GET and HEAD, no request body, small headers, and a client
	 * that stalls is dropped: the port may face the Internet. */
	evhttp_set_allowed_methods(ac->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_max_body_size(ac->http, 0);
	evhttp_set_max_headers_size(ac->http, 8192);
	evhttp_set_timeout(ac->http, 30);
	evhttp_set_gencb(ac->http, autoconfig_request, ac);
	if (evhttp_bind_socket(ac->http, set->autoconfig.address,
			       (ev_uint16_t)set->autoconfig.port) < 0) {
		log_error("autoconfig: не удалось открыть %s:%d — порт занят или нет прав / "
			  "cannot listen on %s:%d",
			  set->autoconfig.address, set->autoconfig.port,
			  set->autoconfig.address, set->autoconfig.port);
		evhttp_free(ac->http);
		free(ac);
		*failed_r = 1;
		return NULL;
	}
	ac->xml = daemon_autoconfig_xml(set);
	log_info("autoconfig (HTTP) listening on %s:%d", set->autoconfig.address,
		 set->autoconfig.port);
	return ac;
}

void daemon_autoconfig_free(struct daemon_autoconfig *ac)
{
	if (ac == NULL)
		return;
	evhttp_free(ac->http);
	free(ac->xml);
	free(ac);
}
