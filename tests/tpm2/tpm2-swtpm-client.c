/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Drives earlyroot's TPM2 code against swtpm's TCP data channel, for tests/tpm2/run.sh:
 *   tpm2-swtpm-client PORT unlock LUKS-FILE [--pins=A,B,…] [--signature=FILE] [--headless]
 *       tpm2_unlock_with() on the file, verify only (no device-mapper); PINs are "typed" on a fake console.
 *       Prints the console transcript and "result: N" (0 or -errno); exits 0 only when unlocked.
 *   tpm2-swtpm-client PORT measure WORD
 *       tpm2_measure_with(): extends PCR 11 with WORD.
 *   --log=FILE (with either): every command on its way to the TPM, one line each, as an observer on the bus
 *       sees it: name and code, StartAuthSession's tpmKey, the handle CreatePrimary returns.
 * PORT may instead be a TPM device path (/dev/tpmrm0). Built static as tpm2_try_unseal for the boot
 * tests' real root, where "tpm2_try_unseal LUKS-DEVICE" means "/dev/tpmrm0 unlock LUKS-DEVICE --headless". */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <libcryptsetup.h>

#include "earlyroot.h"
#include "io.h"
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

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One whole command or response: its header's size field says how long it is. */
static ssize_t read_message(int fd, uint8_t *buf, size_t cap)
{
	if (read_full(fd, buf, 10) != 10)
		return -1;
	size_t n = be32_at(buf + 2);
	if (n < 10 || n > cap || read_full(fd, buf + 10, n - 10) != (ssize_t)(n - 10))
		return -1;
	return (ssize_t)n;
}

static void relay(int client, int tpm, FILE *log)
{
	uint8_t buf[TPM2_MAX_BUF];
	for (;;) {
		ssize_t n = read_message(client, buf, sizeof(buf));
		if (n < 0)
			return;
		uint32_t cc = be32_at(buf + 6);
		fprintf(log, "%s 0x%x", tpm2_cc_name(cc), cc);
		if (cc == TPM2_CC_START_AUTH_SESSION && n >= 14)
			fprintf(log, " tpmKey=0x%08x", be32_at(buf + 10));
		if (write_full(tpm, buf, (size_t)n) < 0 || (n = read_message(tpm, buf, sizeof(buf))) < 0)
			return;
		if (cc == TPM2_CC_CREATE_PRIMARY && n >= 14 && be32_at(buf + 6) == 0)
			fprintf(log, " handle=0x%08x", be32_at(buf + 10));
		fprintf(log, "\n");
		fflush(log);
		if (write_full(client, buf, (size_t)n) < 0)
			return;
	}
}

/* The client's end of a relay process that passes everything on to swtpm and logs the commands. */
static int connect_logged(const char *port, const char *path, pid_t *pid)
{
	int sv[2], tpm = connect_swtpm(port);
	FILE *log = fopen(path, "w");
	if (!log || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || (*pid = fork()) < 0) {
		perror("command log");
		exit(2);
	}
	if (*pid == 0) {
		close(sv[0]);
		relay(sv[1], tpm, log);
		fclose(log);
		_exit(0);
	}
	close(sv[1]);
	close(tpm);
	fclose(log);
	return sv[0];
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
	const char *log = NULL;
	pid_t relay_pid = 0;
	int kept = 0;
	for (int i = 0; i < argc; i++)
		if (strncmp(argv[i], "--log=", 6) == 0)
			log = argv[i] + 6;
		else
			argv[kept++] = argv[i];
	argc = kept;
	argv[argc] = NULL;
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
		tpm2_init_fd(&t, log ? connect_logged(argv[1], log, &relay_pid) : connect_swtpm(argv[1]));
	int r;
	if (strcmp(argv[2], "unlock") == 0)
		r = unlock(&c, &t, argc - 3, argv + 3);
	else if (strcmp(argv[2], "measure") == 0)
		r = tpm2_measure_with(&c, &t, argv[3]) == 0 ? 0 : 1;
	else
		r = 2;
	tpm2_close(&t);
	if (relay_pid > 0) /* the log is complete once the relay saw the end */
		waitpid(relay_pid, NULL, 0);
	return r;
}
