/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TPM2: unseal systemd-tpm2 tokens through /dev/tpmrm0. */
#include <errno.h>
#include <string.h>

#include <libcryptsetup.h>

#include "earlyroot.h"

int tpm2_unlock(struct ctx *c, struct crypt_device *cd, const char *name, const struct luks_opts *o)
{
	(void)cd, (void)name, (void)o;
	if (access("/dev/tpmrm0", F_OK) < 0) {
		log_info(c, "no TPM2 (/dev/tpmrm0): asking for the passphrase");
		return -ENODEV;
	}
	log_warn(c, "this build cannot unseal TPM2 tokens yet: asking for the passphrase");
	return -EOPNOTSUPP;
}
