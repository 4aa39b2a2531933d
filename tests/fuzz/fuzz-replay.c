/* A main() for a libFuzzer harness without libFuzzer: feeds every file of
 * the folders (or single files) named on the command line to
 * LLVMFuzzerTestOneInput once, in name order.  It lets the normal test
 * suite (gcc, any sanitizer, valgrind) re-run the saved crash inputs and
 * the seed corpus.  A crash or sanitizer report ends the process, and the
 * last "# file" line printed says which input did it. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz-common.h"

/* Harnesses may define it (libFuzzer calls it once before the inputs). */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Inputs bigger than this are not fuzzer inputs; refuse rather than
 * spend the test's time on them. */
#define REPLAY_MAX_INPUT (16u * 1024 * 1024)

static int replay_read(const char *path, uint8_t **data_r, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		return -1;
	do {
		if (cap - len < 65536) {
			cap = cap == 0 ? 65536 : cap * 2;
			if (cap > REPLAY_MAX_INPUT + 65536) {
				errno = EFBIG;
				break;
			}
			data = realloc(data, cap);
			if (data == NULL)
				abort();
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f) || len > REPLAY_MAX_INPUT) {
		if (!ferror(f))
			errno = EFBIG;
		fclose(f);
		free(data);
		return -1;
	}
	fclose(f);
	*data_r = data;
	*len_r = len;
	return 0;
}

static int replay_file(const char *path)
{
	uint8_t *data;
	size_t len;

	if (replay_read(path, &data, &len) < 0) {
		fprintf(stderr, "fuzz-replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	printf("# %s (%zu bytes)\n", path, len);
	fflush(stdout);
	/* An exact-size copy, so that ASan sees a read past the end. */
	uint8_t *copy = malloc(len > 0 ? len : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, data, len);
	free(data);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
	return 0;
}

static int replay_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Dot files (.gitkeep) and README files are not inputs. */
static int replay_wanted(const char *name)
{
	return name[0] != '.' && strncmp(name, "README", 6) != 0;
}

static int replay_dir(const char *dir, unsigned *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int ret = 0;

	if (d == NULL) {
		/* a harness without saved inputs yet: nothing to do */
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "fuzz-replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!replay_wanted(de->d_name))
			continue;
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			names = realloc(names, cap * sizeof(*names));
			if (names == NULL)
				abort();
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), replay_name_cmp);
	for (size_t i = 0; i < n; i++) {
		size_t plen = strlen(dir) + strlen(names[i]) + 2;
		char *path = malloc(plen);
		struct stat st;

		if (path == NULL)
			abort();
		snprintf(path, plen, "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(path) < 0)
				ret = -1;
			else
				(*count)++;
		}
		free(path);
		free(names[i]);
	}
	free(names);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	int failed = 0;
	struct stat st;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(argv[i]) < 0)
				failed = 1;
			else
				count++;
		} else if (replay_dir(argv[i], &count) < 0) {
			failed = 1;
		}
	}
	printf("# replayed %u inputs\n", count);
	return failed ? 1 : 0;
}
