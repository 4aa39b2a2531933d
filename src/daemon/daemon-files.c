/* Private files at rest (doc/robustness.md, "Files at rest"): the store and
 * its WAL hold documents, renderings and password hashes; the node key
 * decrypts every user's private key; the operator's key signs the
 * operator's confirmations; the TLS key is the server's identity.  A start
 * with any of them readable by others is refused: fixing the mode is one
 * chmod, whereas a copy taken by another local user cannot be taken back.
 *
 * Group: the TLS key may be group-readable (0640), the Debian convention
 * for keys shared through the ssl-cert group (/etc/ssl/private); every
 * file edomail makes itself must be 0600 — nothing else needs to read
 * them. */
#include "daemon/daemon.h"

#include "config/config.h"
#include "lib/log.h"
#include "lib/util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Returns 0 when path is missing or private enough; -1 (logged) when
 * bits in forbidden are set. */
static int daemon_file_check(const char *path, mode_t forbidden,
			     const char *fix)
{
	struct stat st;

	/* Missing: made 0600 later; unreadable: opening it reports why. */
	if (stat(path, &st) < 0)
		return 0;
	if ((st.st_mode & forbidden) == 0)
		return 0;
	log_error("%s: файл доступен %s (права %04o), запуск отменён; "
		  "выполните chmod %s %s / the file is readable by %s "
		  "(mode %04o), refusing to start; run chmod %s %s",
		  path, (forbidden & 070) ? "группе или другим пользователям" :
		  "другим пользователям", (unsigned)(st.st_mode & 07777), fix,
		  path, (forbidden & 070) ? "group or others" : "others",
		  (unsigned)(st.st_mode & 07777), fix, path);
	return -1;
}

/* Every "*.key" in the operator's folder: the operator's key and whatever
 * a later version keeps there. */
static int daemon_dir_keys_check(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		if (n < 4 || strcmp(e->d_name + n - 4, ".key") != 0)
			continue;
		char *path = xasprintf("%s/%s", dir, e->d_name);

		if (daemon_file_check(path, 077, "600") < 0)
			rc = -1;
		free(path);
	}
	closedir(d);
	return rc;
}

int daemon_files_check(const struct settings *set)
{
	static const char *const store_suffixes[] = { "", "-wal", "-shm" };
	int rc = 0;

	for (size_t i = 0; i < 3; i++) {
		char *path = xasprintf("%s%s", set->store_path,
				       store_suffixes[i]);

		if (daemon_file_check(path, 077, "600") < 0)
			rc = -1;
		free(path);
	}
	if (daemon_file_check(set->node_key_path, 077, "600") < 0)
		rc = -1;
	if (set->tls_key != NULL &&
	    daemon_file_check(set->tls_key, 007, "640") < 0)
		rc = -1;
	if (set->operator_dir != NULL &&
	    daemon_dir_keys_check(set->operator_dir) < 0)
		rc = -1;
	return rc;
}
