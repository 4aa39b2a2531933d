/* edomailctl packet export: «Сохранить пакет» for the administrator — the
 * whole packet of one EDO message of a box served here as a ZIP file
 * (mailbox-packet.h; doc/admin.md). */
#include "ctl/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <edomail/core.h>

#include "lib/util.h"
#include "mailbox/mailbox.h"
#include "mailbox/mailbox-packet.h"

/* The whole buffer into path, created 0600 (it may hold decrypted
 * documents with --decrypt: only the file the administrator names). */
static int ctl_packet_write(const char *path, const unsigned char *d,
			    size_t len)
{
	size_t off = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return ctl_error("%s: %s", path, strerror(errno)), -1;
	while (off < len) {
		n = write(fd, d + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ctl_error("%s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0)
		return ctl_error("%s: %s", path, strerror(errno)), -1;
	return 0;
}

static int ctl_packet_parse(int argc, char **argv, const char **out_r,
			    unsigned *flags_r)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "decrypt", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	*out_r = NULL;
	*flags_r = 0;
	while ((ch = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		if (ch == 'o')
			*out_r = optarg;
		else if (ch == 'd')
			*flags_r |= MAILBOX_PACKET_CLEAR;
		else
			return -1;
	}
	if (argc - optind != 2 || *out_r == NULL || **out_r == '\0')
		return -1;
	return 0;
}

int ctl_cmd_packet_export(struct ctl *ctl, int argc, char **argv)
{
	struct mailbox_error merr = { 0 };
	struct mailbox_env *env = NULL;
	struct mailbox_packet p;
	struct store_org o;
	struct core *core;
	const char *out;
	unsigned flags;
	int ret = CTL_EXIT_ERROR;

	if (ctl_packet_parse(argc, argv, &out, &flags) < 0)
		return ctl_usage("packet export");
	if (ctl_find_org(ctl, argv[optind], &o) < 0)
		return CTL_EXIT_ERROR;
	if (ctl_core(ctl, &core) < 0) {
		store_org_clear(&o);
		return CTL_EXIT_ERROR;
	}
	memset(&p, 0, sizeof(p));
	if (mailbox_env_new(&ctl->set, ctl->store, core, &env, &merr) < 0) {
		ctl_error("%s", merr.msg);
	} else if (mailbox_packet_export(env, o.box_id, 0, argv[optind + 1],
					 flags, &p, &merr) < 0) {
		ctl_error("%s", merr.msg);
	} else if (ctl_packet_write(out, p.zip, p.len) == 0) {
		printf("Пакет сохранён / packet saved: %s (%zu bytes; "
		       "documents %zu, signatures %zu, receipts %zu)\n", out,
		       p.len, p.n_documents, p.n_signatures, p.n_receipts);
		if (p.encrypted && !(flags & MAILBOX_PACKET_CLEAR))
			printf("Документы зашифрованы и лежат в пакете "
			       "конвертами .p7m; --decrypt кладёт их "
			       "расшифрованными / the documents are encrypted "
			       "and kept as .p7m envelopes; --decrypt puts "
			       "them in clear\n");
		ret = CTL_EXIT_OK;
	}
	mailbox_packet_clear(&p);
	mailbox_env_free(&env);
	store_org_clear(&o);
	return ret;
}
