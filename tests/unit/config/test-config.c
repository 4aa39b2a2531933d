/* Settings: defaults, the example file, and every kind of bad input giving
 * "<file>:<line>: message".  TAP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "lib/util.h"

static int test_n, test_failed;
static char test_dir[] = "/tmp/edoconfig-XXXXXX";

static void ok(int cond, const char *what)
{
	test_n++;
	if (!cond)
		test_failed++;
	printf("%s %d - %s\n", cond ? "ok" : "not ok", test_n, what);
}

static char *write_conf(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", test_dir, name);

	if (util_write_file(path, text, strlen(text), 0644) < 0) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
	return path;
}

/* Loads text; on failure returns the error (caller frees), else NULL. */
static char *load_error(const char *text)
{
	struct settings set;
	char *path = write_conf("t.conf", text), *error = NULL;

	if (settings_load(path, &set, &error) == 0)
		settings_free(&set);
	free(path);
	return error;
}

/* The error must name the file and the line, and mention what. */
static void expect_error(const char *text, int line, const char *what,
			 const char *name)
{
	char *error = load_error(text);
	char *want = xasprintf("%s/t.conf:%d: ", test_dir, line);
	int good = error != NULL && strncmp(error, want, strlen(want)) == 0 &&
		strstr(error, what) != NULL;

	if (!good)
		printf("# got: %s\n# want: %s...%s\n", error ? error : "(none)",
		       want, what);
	ok(good, name);
	free(want);
	free(error);
}

static void test_defaults(void)
{
	struct settings set;

	settings_defaults(&set);
	ok(set.imap.port == 1143 && set.imaps.port == 1993 &&
	   set.submission.port == 1587 && set.submissions.port == 1465 &&
	   strcmp(set.imap.address, "127.0.0.1") == 0, "default ports");
	ok(strcmp(set.domain, "edo.local") == 0 &&
	   strcmp(set.folders_language, "ru") == 0 &&
	   strcmp(set.operator_prefix, "2ED") == 0, "default domain, language, prefix");
	ok(set.max_line == 65536 && set.max_literal == 64u << 20 &&
	   set.max_message == 64u << 20 && set.max_mime_depth == 20 &&
	   set.max_mime_parts == 500 && set.max_commands_per_second == 200 &&
	   set.idle_timeout == 1800 && set.command_timeout == 300 &&
	   set.auth_fail_limit == 5 && set.auth_fail_window == 300 &&
	   set.invitation_max_text == 2000, "default limits");
	ok(set.operator_poll_interval == 250 && set.operator_timeout == 30,
	   "default operator poll interval and timeout");
	settings_free(&set);
	ok(set.domain == NULL, "free clears");
	settings_free(&set);
}

static void test_example(void)
{
	struct settings set;
	char *error = NULL;
	const char *path = EDOMAIL_SOURCE_ROOT "/conf/edomail.conf";
	int r = settings_load(path, &set, &error);

	ok(r == 0, "conf/edomail.conf loads");
	if (r < 0) {
		printf("# %s\n", error);
		free(error);
		return;
	}
	ok(strcmp(set.store_path, EDOMAIL_SOURCE_ROOT "/conf/edomail.db") == 0,
	   "store path resolved against the conf folder");
	ok(strcmp(set.hostname, "edo.local") == 0, "hostname defaults to domain");
	ok(set.max_literal == 64u << 20, "size with unit \"64M\"");
	ok(set.log_file == NULL, "empty log file is stderr");
	ok(strcmp(set.config_dir, EDOMAIL_SOURCE_ROOT "/conf") == 0, "config_dir");
	settings_free(&set);
}

static void test_good(void)
{
	struct settings set;
	char *error = NULL, *path, *want;

	free(write_conf("inc.conf", "folders = { language = \"en\"; };\n"));
	path = write_conf("good.conf",
		"server = {\n"
		"  domain = \"edo.example\";\n"
		"  imap = { address = \"\"; port = 143; };\n"
		"  imaps = { port = 0; };\n"
		"  submission = { address = \"::1\"; port = 2587; };\n"
		"  allow_plaintext_loopback = true;\n"
		"};\n"
		"store = { path = \"data/x.db\"; node_key = \"/etc/edomail/node.key\"; };\n"
		"tls = { cert = \"../tls/c.pem\"; };\n"
		"limits = { max_line = \"8K\"; idle_timeout = 60; };\n"
		"log = { file = \"log/edomail.log\"; level = \"debug\"; };\n"
		"@include \"inc.conf\"\n");
	ok(settings_load(path, &set, &error) == 0, "a good file loads");
	if (error != NULL) {
		printf("# %s\n", error);
		free(error);
		free(path);
		return;
	}
	ok(strcmp(set.domain, "edo.example") == 0, "domain read");
	ok(set.imap.address == NULL && set.imaps.port == 0 &&
	   strcmp(set.submission.address, "::1") == 0 &&
	   set.submission.port == 2587 && set.submissions.port == 1465,
	   "listeners read, switched off, defaults kept");
	ok(set.allow_plaintext_loopback == 1, "bool read");
	want = xasprintf("%s/data/x.db", test_dir);
	ok(strcmp(set.store_path, want) == 0, "relative path resolved");
	free(want);
	ok(strcmp(set.node_key_path, "/etc/edomail/node.key") == 0,
	   "absolute path kept");
	want = xasprintf("%s/../tls/c.pem", test_dir);
	ok(strcmp(set.tls_cert, want) == 0, "parent-relative path resolved");
	free(want);
	want = xasprintf("%s/tls.key", test_dir);
	ok(strcmp(set.tls_key, want) == 0, "default path resolved too");
	free(want);
	want = xasprintf("%s/log/edomail.log", test_dir);
	ok(strcmp(set.log_file, want) == 0 && strcmp(set.log_level, "debug") == 0,
	   "log settings");
	free(want);
	ok(set.max_line == 8192 && set.idle_timeout == 60, "limits read");
	ok(strcmp(set.folders_language, "en") == 0, "@include relative to the file");
	settings_free(&set);
	free(path);
}

static void test_relative_config_path(void)
{
	struct settings set;
	char *error = NULL, *want, cwd[4096];

	if (getcwd(cwd, sizeof(cwd)) == NULL || chdir(test_dir) < 0) {
		ok(0, "chdir");
		return;
	}
	free(write_conf("rel.conf", "store = { path = \"r.db\"; };\n"));
	ok(settings_load("rel.conf", &set, &error) == 0, "relative config path");
	want = xasprintf("%s/r.db", test_dir);
	ok(error == NULL && strcmp(set.store_path, want) == 0,
	   "paths become absolute");
	free(want);
	free(error);
	if (error == NULL)
		settings_free(&set);
	if (chdir(cwd) < 0)
		ok(0, "chdir back");
}

static void test_errors(void)
{
	struct settings set;
	char *error = NULL, *path;

	expect_error("server = {\n  domain = \"x\";\n  workers == 1;\n};\n", 3,
		     "syntax error", "syntax error with its line");
	expect_error("server = {\n  domian = \"x\";\n};\n", 2,
		     "unknown setting server.domian", "unknown key");
	expect_error("\n\nsmtp = { };\n", 3, "unknown group smtp", "unknown group");
	expect_error("operator = {\n poll_interval = 5;\n};\n", 2,
		     "out of range", "operator.poll_interval below 10 ms");
	expect_error("server = {\n imap = { port = 70000; };\n};\n", 2,
		     "out of range", "port above 65535");
	expect_error("server = {\n imap = { port = -1; };\n};\n", 2,
		     "out of range", "negative port");
	expect_error("server = {\n imap = { port = \"143\"; };\n};\n", 2,
		     "expected an integer", "port as a string");
	expect_error("server = {\n imap = { host = \"x\"; };\n};\n", 2,
		     "unknown setting server.imap.host", "unknown listener key");
	expect_error("server = {\n imap = 143;\n};\n", 2,
		     "expected a group", "listener not a group");
	expect_error("operator = {\n\n prefix = \"2E\";\n};\n", 3,
		     "exactly 3 characters", "prefix too short");
	expect_error("operator = {\n prefix = \"2E-\";\n};\n", 2,
		     "exactly 3 characters", "prefix with a bad character");
	expect_error("operator = {\n prefix = \"2EDD\";\n};\n", 2,
		     "exactly 3 characters", "prefix too long");
	expect_error("folders = {\n language = \"de\";\n};\n", 2,
		     "\"ru\" or \"en\"", "bad language");
	expect_error("log = {\n level = \"loud\";\n};\n", 2,
		     "debug, info, warn or error", "bad log level");
	expect_error("limits = {\n max_literal = \"64X\";\n};\n", 2,
		     "bad size", "bad size unit");
	expect_error("limits = {\n max_mime_depth = 0;\n};\n", 2,
		     "out of range", "limit below its minimum");
	expect_error("server = {\n allow_plaintext_loopback = 1;\n};\n", 2,
		     "true or false", "bool given as a number");
	expect_error("server = {\n domain = \"bad domain\";\n};\n", 2,
		     "bad domain name", "bad domain");
	expect_error("operator = {\n inn = \"12345\";\n};\n", 2,
		     "10 or 12 digits", "bad operator ИНН");
	expect_error("server = \"x\";\n", 1, "expected a group", "group not a group");

	path = xasprintf("%s/missing.conf", test_dir);
	ok(settings_load(path, &set, &error) == -1 && error != NULL &&
	   strstr(error, "missing.conf: ") != NULL &&
	   strstr(error, "cannot read") != NULL, "missing file");
	ok(set.domain == NULL, "settings empty after a failure");
	free(error);
	free(path);
}

/* autoconfig (issue 11 section 4): off unless both address and port are
 * set; the host is checked like server.hostname. */
static void test_autoconfig(void)
{
	struct settings set;
	char *path, *error = NULL;

	settings_defaults(&set);
	ok(set.autoconfig.address == NULL && set.autoconfig.port == 0 &&
	   set.autoconfig_host == NULL, "autoconfig off by default");
	settings_free(&set);
	path = write_conf("ac.conf",
		"autoconfig: { listen = { address = \"0.0.0.0\"; port = 80; };\n"
		"  host = \"mail.edo.example.ru\"; };\n");
	ok(settings_load(path, &set, &error) == 0 &&
	   strcmp(set.autoconfig.address, "0.0.0.0") == 0 &&
	   set.autoconfig.port == 80 &&
	   strcmp(set.autoconfig_host, "mail.edo.example.ru") == 0,
	   "autoconfig listen and host read");
	settings_free(&set);
	free(error);
	free(path);
	expect_error("autoconfig: { host = \"bad host\"; };\n", 1,
		     "autoconfig.host", "bad autoconfig host");
	expect_error("autoconfig: { listen = { port = 70000; }; };\n", 1,
		     "autoconfig.listen.port", "autoconfig port out of range");
}

/* operator.roaming's lookup_timeout (doc/roaming.md): 5 s unless set,
 * 1..300. */
static void test_roaming_lookup_timeout(void)
{
	struct settings set;
	char *path, *error = NULL;

	path = write_conf("roam.conf",
		"operator: { roaming = (\n"
		"  { prefix = \"2BK\"; url = \"https://bk.example\";\n"
		"    token_file = \"bk.token\"; },\n"
		"  { prefix = \"2AL\"; url = \"https://al.example\";\n"
		"    token_file = \"al.token\"; lookup_timeout = 2; } ); };\n");
	ok(settings_load(path, &set, &error) == 0 &&
	   set.n_operator_roaming == 2 &&
	   set.operator_roaming[0].lookup_timeout == 5 &&
	   set.operator_roaming[1].lookup_timeout == 2,
	   "roaming lookup_timeout: default 5, or as set");
	if (error == NULL)
		settings_free(&set);
	free(error);
	free(path);
	expect_error("operator: { roaming = ( { prefix = \"2BK\";\n"
		     "  url = \"https://bk.example\"; token_file = \"t\";\n"
		     "  lookup_timeout = 0; } ); };\n", 3,
		     "lookup_timeout", "roaming lookup_timeout out of range");
}

int main(void)
{
	char *cmd;

	if (mkdtemp(test_dir) == NULL)
		return 1;
	test_defaults();
	test_example();
	test_good();
	test_relative_config_path();
	test_errors();
	test_autoconfig();
	test_roaming_lookup_timeout();
	cmd = xasprintf("rm -rf '%s'", test_dir);
	if (system(cmd) != 0)
		ok(0, "cleanup");
	free(cmd);
	printf("1..%d\n", test_n);
	return test_failed == 0 ? 0 : 1;
}
