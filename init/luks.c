/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What both ways of opening a LUKS volume use (the TPM2 token in luks-tpm2.c, the console in unlock.c): the
 * TPM a volume's options name, activation through the volume key with its PCR 15 measurement, the memory a
 * key slot's derivation needs, and the report of a console that went away. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libcryptsetup.h>

#include "earlyroot.h"

/* LUKS2 volume keys are 64 bytes for AES-XTS-256; 512 leaves room for any cipher */
#define VOLUME_KEY_MAX	512
/* what a key derivation leaves free for the rest of the boot: dm-crypt, the mount, PID 1 itself */
#define KDF_HEADROOM_KB (32 * 1024)

const char *luks_tpm2_device(const struct luks_opts *o)
{
	return o->tpm2_device[0] && strcmp(o->tpm2_device, "auto") != 0 ? o->tpm2_device : TPM2_DEVICE;
}

/* systemd-cryptsetup's event: "cryptsetup:" NAME ":" UUID, the name escaped so the fields cannot run into
 * each other */
static void volume_key_event(struct crypt_device *cd, const char *name, char *buf, size_t size)
{
	char escaped[64 * 4 + 1];
	const char *uuid = crypt_get_uuid(cd);
	snprintf(buf, size, "cryptsetup:%s:%s", escape_text(name, ":", escaped, sizeof(escaped)), uuid ? uuid : "");
}

static int measure_volume_key(struct ctx *c, struct crypt_device *cd, const char *name, const uint8_t *vk,
			      size_t vk_len, const struct luks_opts *o, struct tpm2 *t)
{
	char event[SPEC_MAX + 128];
	volume_key_event(cd, name, event, sizeof(event));
	int r = t ? tpm2_extend_with(c, t, (unsigned)o->measure_pcr, event, vk, vk_len)
		  : tpm2_extend(c, luks_tpm2_device(o), (unsigned)o->measure_pcr, event, vk, vk_len);
	if (r == 0 && o->measure_pcr == PCR_VOLUME_KEY)
		c->volume_key_measured = true;
	return r;
}

/* libcryptsetup says "Operation not supported" when the kernel lacks the cipher (or dm-crypt): say which */
static int no_cipher(const struct ctx *c, struct crypt_device *cd, int r)
{
	if (r == -EOPNOTSUPP)
		log_error(c,
			  "the kernel cannot run the cipher %s-%s of %s: dm-crypt or the cipher is neither built in "
			  "nor a module in this initramfs (the module-free archive carries none: use the 'virt' "
			  "one with a distribution kernel)",
			  crypt_get_cipher(cd), crypt_get_cipher_mode(cd), crypt_get_device_name(cd));
	return r;
}

int luks_activate(struct ctx *c, struct crypt_device *cd, const char *name, int keyslot, const char *pass, size_t len,
		  const struct luks_opts *o, struct tpm2 *t, bool required)
{
	uint8_t vk[VOLUME_KEY_MAX];
	size_t vk_len = sizeof(vk);
	if (!name || o->measure_pcr < 0)
		return no_cipher(c, cd, crypt_activate_by_passphrase(cd, name, keyslot, pass, len, o->flags));
	int slot = no_cipher(c, cd, crypt_volume_key_get(cd, keyslot, (char *)vk, &vk_len, pass, len));
	int r = slot < 0 ? slot : crypt_activate_by_volume_key(cd, name, (const char *)vk, vk_len, o->flags);
	if (r >= 0) {
		r = measure_volume_key(c, cd, name, vk, vk_len, o, t);
		if (r == -ENODEV && !required)
			log_info(c, "no TPM2: the volume key of %s is not measured", name);
		else if (r < 0 && required)
			log_error(c,
				  "the TPM2 token of %s binds PCR %d, which could not be measured: not booting with "
				  "it open",
				  name, o->measure_pcr);
		if (r < 0 && required)
			crypt_deactivate(cd, name);
		r = r < 0 && required ? -EIO : slot;
	}
	explicit_bzero(vk, sizeof(vk));
	return r;
}

int console_gone(const struct ctx *c, int r, const char *what, const char *dev)
{
	if (r == -ENODATA)
		return log_error_errno(c, r,
				       "the console's input ended (end of file) at the %s prompt for %s: nothing more "
				       "can be typed there",
				       what, dev);
	return log_error_errno(c, r, "cannot read a %s for %s from the console: %m", what, dev);
}

/* MemAvailable from /proc/meminfo, in KiB; 0 when it cannot be told */
static uint64_t mem_available_kb(void)
{
	char buf[4096];
	ssize_t n = read_file("/proc/meminfo", buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	const char *p = strstr(buf, "MemAvailable:");
	return p ? strtoull(p + strlen("MemAvailable:"), NULL, 10) : 0;
}

bool luks_keyslot_fits(struct ctx *c, struct crypt_device *cd, int slot, const char *dev)
{
	struct crypt_pbkdf_type pbkdf;
	uint64_t avail = mem_available_kb();
	if (crypt_keyslot_get_pbkdf(cd, slot, &pbkdf) < 0 || !pbkdf.max_memory_kb || !avail ||
	    pbkdf.max_memory_kb + KDF_HEADROOM_KB <= avail)
		return true;
	log_warn(c,
		 "%s: skipping keyslot %d: its %s key derivation needs %u KiB of memory, and %llu KiB are available "
		 "(%d KiB stay for the rest of the boot); trying it would exhaust the memory",
		 dev, slot, pbkdf.type ? pbkdf.type : "?", pbkdf.max_memory_kb, (unsigned long long)avail,
		 KDF_HEADROOM_KB);
	return false;
}
