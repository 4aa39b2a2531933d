/* The settings loader fed arbitrary files: the input is written to a
 * temporary file, loaded with settings_load and freed.  Checked besides
 * the sanitizers: a failure gives a "<file>:<line>: ..." or "<file>: ..."
 * message naming the file; a success gives settings within the ranges the
 * rest of the program relies on.
 *
 * Inputs with "@include" are skipped: libconfig would read whatever file
 * they name on this machine, which makes results depend on the host (the
 * configuration file is the administrator's, so this is not an attack
 * surface, only noise). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config/config.h"
#include "lib/util.h"

#include "fuzz-common.h"

/* libconfig reads files; a 1 MiB config is already absurd. */
#define FUZZ_CONFIG_MAX (1024 * 1024)

static char fuzz_config_dir[] = "/tmp/edomail-fuzz-config-XXXXXX";
static char *fuzz_config_path;

static void fuzz_config_cleanup(void)
{
	if (fuzz_config_path != NULL) {
		(void)unlink(fuzz_config_path);
		free(fuzz_config_path);
		fuzz_config_path = NULL;
		(void)rmdir(fuzz_config_dir);
	}
}

/* One scratch folder per process (libFuzzer -fork and -jobs run several). */
static const char *fuzz_config_file(void)
{
	if (fuzz_config_path == NULL) {
		if (mkdtemp(fuzz_config_dir) == NULL) {
			perror("fuzz-config: mkdtemp");
			abort();
		}
		fuzz_config_path = xasprintf("%s/edomail.conf", fuzz_config_dir);
		atexit(fuzz_config_cleanup);
	}
	return fuzz_config_path;
}

/* No fsync (util_write_file does one): the file is scratch, and the
 * fuzzer must run thousands of inputs a second. */
static void fuzz_config_write(const char *path, const uint8_t *data,
			      size_t size)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || (size > 0 && fwrite(data, 1, size, f) != size) ||
	    fclose(f) != 0) {
		perror("fuzz-config: write");
		abort();
	}
}

static int fuzz_config_has_include(const uint8_t *data, size_t size)
{
	static const char word[] = "include";

	for (size_t i = 0; i < size; i++) {
		if (data[i] != '@')
			continue;
		size_t j = i + 1;
		while (j < size && (data[j] == ' ' || data[j] == '\t'))
			j++;
		if (size - j >= sizeof(word) - 1 &&
		    strncasecmp((const char *)data + j, word,
				sizeof(word) - 1) == 0)
			return 1;
	}
	return 0;
}

static void fuzz_config_check(const struct settings *set)
{
	FUZZ_CHECK(set->config_path != NULL && set->config_dir != NULL);
	FUZZ_CHECK(set->domain != NULL && set->hostname != NULL);
	FUZZ_CHECK(set->store_path != NULL);
	FUZZ_CHECK(set->operator_driver != NULL);
	FUZZ_CHECK(set->operator_prefix != NULL &&
		   strlen(set->operator_prefix) == 3);
	FUZZ_CHECK(set->folders_language != NULL);
	FUZZ_CHECK(strcmp(set->folders_language, "ru") == 0 ||
		   strcmp(set->folders_language, "en") == 0);
	FUZZ_CHECK(set->log_level != NULL);
	FUZZ_CHECK(set->imap.port >= 0 && set->imap.port <= 65535);
	FUZZ_CHECK(set->imaps.port >= 0 && set->imaps.port <= 65535);
	FUZZ_CHECK(set->submission.port >= 0 && set->submission.port <= 65535);
	FUZZ_CHECK(set->submissions.port >= 0 &&
		   set->submissions.port <= 65535);
	FUZZ_CHECK(set->workers > 0);
	FUZZ_CHECK(set->max_line > 0 && set->max_message > 0);
	FUZZ_CHECK(set->max_mime_depth > 0 && set->max_mime_parts > 0);
	FUZZ_CHECK(set->idle_timeout > 0 && set->command_timeout > 0);
	/* relative paths are resolved against the file's folder */
	if (set->store_path[0] != '\0')
		FUZZ_CHECK(set->store_path[0] == '/');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct settings set;
	const char *path;
	char *error = NULL;

	if (size > FUZZ_CONFIG_MAX || fuzz_config_has_include(data, size))
		return -1;	/* not added to the corpus */
	path = fuzz_config_file();
	fuzz_config_write(path, data, size);
	memset(&set, 0, sizeof(set));
	if (settings_load(path, &set, &error) == 0) {
		FUZZ_CHECK(error == NULL);
		fuzz_config_check(&set);
		settings_free(&set);
		FUZZ_CHECK(set.domain == NULL);
	} else {
		FUZZ_CHECK(error != NULL);
		if (fuzz_debug())
			fprintf(stderr, "config: %s\n", error);
		/* the administrator must see which file is wrong */
		FUZZ_CHECK(strncmp(error, path, strlen(path)) == 0);
		free(error);
	}
	return 0;
}
