/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: a kernel uevent message ("ACTION@DEVPATH" and NUL-separated KEY=VALUE pairs, the
 * values from device firmware: a USB stick names its own modalias) as /init handles it. libkmod works on an
 * empty modules directory, so every lookup runs and nothing is ever loaded into the host's kernel. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libkmod.h>

#include "earlyroot.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
static struct ctx c = {.kmsg_fd = -1, .console_fd = -1, .uevent_fd = -1};
static char dir[] = "/tmp/earlyroot-fuzz-uevent.XXXXXX";

static void cleanup(void)
{
	kmod_unref(c.kmod);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	const char *const none[] = {"/dev/null", NULL};
	config_defaults(&c.cfg);
	if (!mkdtemp(dir) || !(c.kmod = kmod_new(dir, none)))
		abort();
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* as uevent_wait hands it over: the received bytes, NUL after them */
	char *msg = fuzz_text(data, size);
	if (!msg)
		return 0;
	modules_uevent(&c, msg, size);
	free(msg);
	return 0;
}
