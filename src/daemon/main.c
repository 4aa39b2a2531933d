/* edomaild: the daemon.  Wires the modules together on one libevent loop:
 * listeners for IMAP (STARTTLS and implicit TLS) and SMTP submission
 * (STARTTLS and implicit TLS), the store, the operator client core, the
 * mailbox layer and a worker pool for blocking work. */
#include "config/config.h"
#include "crypto/crypto.h"
#include "daemon/daemon.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* SQLite allocates and frees a statement journal of about 64 KB for
 * every write inside a transaction (a sync applies thousands).  With
 * glibc's defaults each free at the top of the heap gave the memory back
 * with brk() and the next write took it again: on a VM every brk() is a
 * TLB shootdown, and a first sync of 10,000 EDO events spent a third of
 * its time there.  Keep up to 32 MB of free heap instead; blocks of a
 * MB and more (message bodies) are still mapped and unmapped apart. */
static void tune_malloc(void)
{
#ifdef M_TRIM_THRESHOLD
	(void)mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
	(void)mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);
#endif
}

static void usage(void)
{
	fprintf(stderr,
		"использование / usage: edomaild [-f] [-t] [-d] [-c FILE]\n"
		"  -c FILE  файл конфигурации / configuration file (default "
		EDOMAIL_DEFAULT_CONF ")\n"
		"  -f       не уходить в фон, журнал в stderr / stay in the "
		"foreground, log to stderr\n"
		"  -t       проверить конфигурацию / check the configuration "
		"and exit\n"
		"  -d       отладочный журнал / debug logging\n"
		"  -h       эта справка / this help\n");
}

int main(int argc, char **argv)
{
	const char *conf_path = EDOMAIL_DEFAULT_CONF;
	int foreground = 0, check_only = 0, debug = 0, ch;

	while ((ch = getopt(argc, argv, "c:ftdh")) != -1) {
		switch (ch) {
		case 'c': conf_path = optarg; break;
		case 'f': foreground = 1; break;
		case 't': check_only = 1; break;
		case 'd': debug = 1; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (optind < argc) {
		usage();
		return 2;
	}
	log_init("edomaild", debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	/* Every file the daemon makes (store, WAL, keys, log) is its own:
	 * doc/robustness.md, "Files at rest". */
	umask(077);
	tune_malloc();

	struct settings set;
	char *error = NULL;
	if (settings_load(conf_path, &set, &error) < 0) {
		fprintf(stderr, "edomaild: %s\n", error);
		free(error);
		return 1;
	}
	if (check_only) {
		printf("edomaild: %s: конфигурация в порядке / configuration OK\n",
		       conf_path);
		settings_free(&set);
		return 0;
	}
	int rc = daemon_run(&set, foreground, debug);
	settings_free(&set);
	return rc == 0 ? 0 : 1;
}
