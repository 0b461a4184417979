/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /sbin/init of the TPM boot tests' roots (content=tpm-check): reports the SHA-256 PCRs 7, 11 and 15 the real
 * root sees and, when the root holds /bin/tpm2_try_unseal, whether it can still unseal (run with the
 * arguments this init got, i.e. what follows "--" on the kernel command line), then execs the marker:
 *
 *   EARLYROOT-TPM pcr4=<hex> pcr9=<hex>                 (the boot path's images, the kernel's initrd)
 *   EARLYROOT-TPM machine-id=<hex>                      (the root's /etc/machine-id)
 *   EARLYROOT-TPM pcr7=<hex> pcr11=<hex> pcr15=<hex>    ("none" without /sys/class/tpm/tpm0)
 *   EARLYROOT-TPM left transient=<n> sessions=<n>     (what /init left loaded in the TPM, asked through
 *                                                      /dev/tpm0, which /init must have closed; or "left unknown: why")
 *   EARLYROOT-TPM unseal=failed (exit N) | unseal=ok | unseal=unavailable
 *
 * and the measurement log /init left in /run (systemd's CEL-JSON records, one line each, without the
 * record separator):
 *
 *   EARLYROOT-TPMLOG mode=<octal> records=<n>    (or "absent")
 *   EARLYROOT-TPMLOG <json>
 *
 * and, on an EFI machine (OVMF), the firmware's TCG event log
 * (securityfs' binary_bios_measurements) in base64, 76 characters a line, for the host to replay:
 *
 *   EARLYROOT-EVENTLOG begin <bytes>
 *   EARLYROOT-EVENTLOG <base64>
 *   EARLYROOT-EVENTLOG end
 */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void pcr(int n, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/sys/class/tpm/tpm0/pcr-sha256/%d", n);
	snprintf(buf, size, "none");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t r = read(fd, buf, size - 1);
	close(fd);
	buf[r > 0 ? r : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	for (char *p = buf; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
}

static void measure_log(int con)
{
	static char buf[16384];
	struct stat st;
	int fd = open("/run/log/systemd/tpm2-measure.log", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		dprintf(con, "EARLYROOT-TPMLOG absent\n");
		return;
	}
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	int records = 0;
	for (char *p = buf; *p; p++)
		records += *p == 0x1e;
	dprintf(con, "EARLYROOT-TPMLOG mode=%o records=%d\n", (unsigned)(st.st_mode & 07777), records);
	for (char *rec = strtok(buf, "\x1e\n"); rec; rec = strtok(NULL, "\x1e\n"))
		dprintf(con, "EARLYROOT-TPMLOG %s\n", rec);
}

static void event_log(int con)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static unsigned char log[1 << 20];
	ssize_t n;
	if (access("/sys/firmware/efi", F_OK) < 0)
		return;
	mkdir("/sys/kernel/security", 0755);
	mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL);
	int fd = open("/sys/kernel/security/tpm0/binary_bios_measurements", O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	while (fd >= 0 && len < sizeof(log) && (n = read(fd, log + len, sizeof(log) - len)) > 0)
		len += (size_t)n;
	if (fd < 0) {
		dprintf(con, "EARLYROOT-EVENTLOG absent: %m\n");
		return;
	}
	close(fd);
	dprintf(con, "EARLYROOT-EVENTLOG begin %zu\n", len);
	for (size_t i = 0; i < len; i += 57) {
		char line[80];
		size_t o = 0;
		for (size_t j = i; j < i + 57 && j < len; j += 3) {
			unsigned v = (unsigned)log[j] << 16 | (j + 1 < len ? (unsigned)log[j + 1] << 8 : 0) |
				     (j + 2 < len ? log[j + 2] : 0);
			line[o++] = b64[v >> 18 & 63];
			line[o++] = b64[v >> 12 & 63];
			line[o++] = j + 1 < len ? b64[v >> 6 & 63] : '=';
			line[o++] = j + 2 < len ? b64[v & 63] : '=';
		}
		dprintf(con, "EARLYROOT-EVENTLOG %.*s\n", (int)o, line);
	}
	dprintf(con, "EARLYROOT-EVENTLOG end\n");
}

/* How many handles of range first (TPM2_GetCapability, TPM_CAP_HANDLES) are loaded, or -1 */
static int handles(int fd, uint32_t first)
{
	uint8_t cmd[22] = {0x80, 0x01, 0, 0, 0, 22, 0, 0, 0x01, 0x7a, 0, 0, 0, 1}, rsp[512];
	for (int i = 0; i < 4; i++)
		cmd[14 + i] = (uint8_t)(first >> (24 - 8 * i));
	cmd[21] = 64;
	if (write(fd, cmd, sizeof(cmd)) != (ssize_t)sizeof(cmd))
		return -1;
	ssize_t n = read(fd, rsp, sizeof(rsp));
	if (n < 19 || rsp[6] || rsp[7] || rsp[8] || rsp[9])
		return -1;
	return rsp[15] << 24 | rsp[16] << 16 | rsp[17] << 8 | rsp[18];
}

static void left_loaded(int con)
{
	int fd = open("/dev/tpm0", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		dprintf(con, "EARLYROOT-TPM left unknown: /dev/tpm0: %m\n");
		return;
	}
	int objects = handles(fd, 0x80000000), hmac = handles(fd, 0x02000000), policy = handles(fd, 0x03000000);
	close(fd);
	if (objects < 0 || hmac < 0 || policy < 0)
		dprintf(con, "EARLYROOT-TPM left unknown: TPM2_GetCapability failed\n");
	else
		dprintf(con, "EARLYROOT-TPM left transient=%d sessions=%d\n", objects, hmac + policy);
}

int main(int argc, char **argv)
{
	static const char helper[] = "/bin/tpm2_try_unseal";
	char p4[80], p9[80], p7[80], p11[80], p15[80];
	(void)argc;
	int con = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (con < 0)
		con = STDOUT_FILENO;
	pcr(4, p4, sizeof(p4));
	pcr(9, p9, sizeof(p9));
	dprintf(con, "\nEARLYROOT-TPM pcr4=%s pcr9=%s\n", p4, p9);
	char id[40] = "none";
	int idfd = open("/etc/machine-id", O_RDONLY | O_CLOEXEC);
	if (idfd >= 0) {
		ssize_t n = read(idfd, id, sizeof(id) - 1);
		close(idfd);
		id[n > 0 ? n : 0] = 0;
		id[strcspn(id, "\n")] = 0;
	}
	dprintf(con, "EARLYROOT-TPM machine-id=%s\n", id);
	pcr(7, p7, sizeof(p7));
	pcr(11, p11, sizeof(p11));
	pcr(15, p15, sizeof(p15));
	dprintf(con, "\nEARLYROOT-TPM pcr7=%s pcr11=%s pcr15=%s\n", p7, p11, p15);
	if (access("/sys/class/tpm/tpm0", F_OK) == 0)
		left_loaded(con);
	measure_log(con);
	event_log(con);
	if (access(helper, X_OK) == 0) {
		pid_t pid = fork();
		if (pid == 0) {
			argv[0] = (char *)helper;
			execv(helper, argv);
			_exit(127);
		}
		int st = 0;
		while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			dprintf(con, "EARLYROOT-TPM unseal=ok\n");
		else if (pid > 0 && WIFEXITED(st))
			dprintf(con, "EARLYROOT-TPM unseal=failed (exit %d)\n", WEXITSTATUS(st));
		else
			dprintf(con, "EARLYROOT-TPM unseal=failed (%s)\n", pid < 0 ? "fork" : "signal");
	} else {
		dprintf(con, "EARLYROOT-TPM unseal=unavailable (no %s)\n", helper);
	}
	argv[0] = "/sbin/init";
	execv("/bin/earlyroot-marker", argv);
	dprintf(con, "EARLYROOT-TPM cannot exec /bin/earlyroot-marker: %m\n");
	for (;;)
		pause(); /* PID 1 must not exit */
}
