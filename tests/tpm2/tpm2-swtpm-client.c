/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Drives earlyroot's TPM2 code against swtpm's TCP data channel, for tests/tpm2/run.sh:
 *   tpm2-swtpm-client PORT unlock LUKS-FILE [--pins=A,B,…] [--signature=FILE] [--headless]
 *       tpm2_unlock_with() on the file, verify only (no device-mapper); PINs are "typed" on a fake console.
 *       Prints the console transcript and "result: N" (0 or -errno); exits 0 only when unlocked.
 *   tpm2-swtpm-client PORT measure WORD
 *       tpm2_measure_with(): extends PCR 11 with WORD.
 * PORT may instead be a TPM device path (/dev/tpmrm0). Built static as tpm2_try_unseal for the boot
 * tests' real root, where "tpm2_try_unseal LUKS-DEVICE" means "/dev/tpmrm0 unlock LUKS-DEVICE --headless". */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

#include <libcryptsetup.h>

#include "earlyroot.h"
#include "tpm2/unseal.h"

static int connect_swtpm(const char *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("connect to swtpm");
		exit(2);
	}
	return fd;
}

static int unlock(struct ctx *c, struct tpm2 *t, int argc, char **argv)
{
	struct luks_opts o = {.tries = 3};
	const char *pins = "", *sig = "/nonexistent/tpm2-pcr-signature.json";
	struct crypt_device *cd;
	int sv[2];

	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--pins=", 7) == 0)
			pins = argv[i] + 7;
		else if (strncmp(argv[i], "--signature=", 12) == 0)
			sig = argv[i] + 12;
		else if (strcmp(argv[i], "--headless") == 0)
			o.headless = true;
		else {
			fprintf(stderr, "unknown option %s\n", argv[i]);
			return 2;
		}
	}
	/* the console: PINs go in one end, prompts come out of it */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return perror("socketpair"), 2;
	for (const char *p = pins; *p; p++)
		if (write(sv[1], *p == ',' ? "\n" : p, 1) != 1)
			return perror("write"), 2;
	if (*pins && write(sv[1], "\n", 1) != 1)
		return perror("write"), 2;
	shutdown(sv[1], SHUT_WR);
	c->console_fd = sv[0];

	if (crypt_init(&cd, argv[0]) < 0 || crypt_load(cd, CRYPT_LUKS2, NULL) < 0) {
		fprintf(stderr, "%s: not a LUKS2 file\n", argv[0]);
		return 2;
	}
	int r = tpm2_unlock_with(c, t, cd, NULL, &o, sig);
	crypt_free(cd);

	shutdown(sv[0], SHUT_WR);
	char buf[4096];
	ssize_t n;
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	while ((n = read(sv[1], buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	printf("\nresult: %d\n", r);
	return r == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct ctx c;
	struct tpm2 t;
	static char dev[] = "/dev/tpmrm0", cmd[] = "unlock", headless[] = "--headless";
	static char *args[6];
	if (argc == 2) { /* tpm2_try_unseal LUKS-DEVICE */
		char *a[] = {argv[0], dev, cmd, argv[1], headless, NULL};
		memcpy(args, a, sizeof(a));
		argv = args;
		argc = 5;
	}
	if (argc < 4) {
		fprintf(stderr, "usage: %s PORT|TPM-DEVICE unlock LUKS-FILE [options] | PORT measure WORD\n", argv[0]);
		return 2;
	}
	memset(&c, 0, sizeof(c));
	config_defaults(&c.cfg);
	c.cfg.loglevel = LOG_DEBUG_;
	c.kmsg_fd = -1;
	c.console_fd = -1;
	if (argv[1][0] == '/') {
		if (tpm2_open(&t, argv[1]) < 0) {
			fprintf(stderr, "cannot open %s: %m\n", argv[1]);
			return 2;
		}
	} else
		tpm2_init_fd(&t, connect_swtpm(argv[1]));
	int r;
	if (strcmp(argv[2], "unlock") == 0)
		r = unlock(&c, &t, argc - 3, argv + 3);
	else if (strcmp(argv[2], "measure") == 0)
		r = tpm2_measure_with(&c, &t, argv[3]) == 0 ? 0 : 1;
	else
		r = 2;
	tpm2_close(&t);
	return r;
}
