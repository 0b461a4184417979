/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel's random pool, ready before anything asks it for randomness: the unlock path salts TPM
 * sessions and makes ECDH keys, and a pool that is not initialised would stall it for seconds on machines
 * without RDRAND or a hypervisor's RNG. When a TPM2 is present, its generator seeds the pool, credited: the
 * TPM is already trusted with the volume key (rd.earlyroot.tpm2_seed=0 turns this off). */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/random.h>

#include <linux/random.h>

#include "earlyroot.h"
#include "tpm2/client.h"

/* two SHA-256 digests' worth from the TPM, credited as what the kernel needs to initialise its pool */
#define SEED_BYTES	 64
#define SEED_CREDIT_BITS 256

bool random_pool_ready(void)
{
	uint8_t b;
	return getrandom(&b, 1, GRND_NONBLOCK) == 1;
}

static int seed_from_tpm(const struct ctx *c)
{
	/* struct rand_pool_info ends in a flexible array: the seed follows it */
	union {
		struct rand_pool_info info;
		uint8_t bytes[sizeof(struct rand_pool_info) + SEED_BYTES];
	} seed = {.info = {.entropy_count = SEED_CREDIT_BITS, .buf_size = SEED_BYTES}};
	uint8_t *buf = seed.bytes + sizeof(struct rand_pool_info);
	struct tpm2 t;
	int r = tpm2_open(&t, TPM2_DEVICE);
	if (r < 0)
		return r;
	for (size_t off = 0; r == 0 && off < SEED_BYTES; off += 32)
		r = tpm2_get_random(&t, buf + off, 32);
	tpm2_close(&t);
	_cleanup_close_ int fd = r == 0 ? open("/dev/urandom", O_WRONLY | O_CLOEXEC) : -1;
	if (r == 0 && (fd < 0 || ioctl(fd, RNDADDENTROPY, &seed) < 0))
		r = -errno;
	explicit_bzero(&seed, sizeof(seed));
	if (r == 0)
		log_info(c, "seeded the kernel's random pool from the TPM (%d bits credited)", SEED_CREDIT_BITS);
	else if (r < 0)
		log_warn_errno(c, r, "cannot seed the kernel's random pool from the TPM: %m");
	else
		log_warn(c, "cannot seed the kernel's random pool from the TPM: TPM2_GetRandom failed (0x%x)",
			 (unsigned)r);
	return r;
}

void stage_entropy(struct ctx *c)
{
	if (random_pool_ready())
		return;
	if (c->cfg.tpm2_seed && seed_from_tpm(c) == 0 && random_pool_ready())
		return;
	if (c->entropy_loads) {
		log_info(c, "the kernel's random pool is not ready yet; the hardware RNG loaded at coldplug fills it");
		return;
	}
	log_warn(c,
		 "the kernel's random pool is not ready yet: unlocking with a TPM2 waits for it (no RDRAND, no "
		 "hypervisor RNG%s)",
		 c->cfg.tpm2_seed ? ", no TPM to seed it" : ", and rd.earlyroot.tpm2_seed=0");
}
