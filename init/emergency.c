/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Failure: say what was found and what to do, then halt, reboot or power off. PID 1 never exits. */
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>

#include "earlyroot.h"

static void flag_names(uint64_t flags, char *buf, size_t size)
{
	snprintf(buf, size, "0x%016llx%s%s%s", (unsigned long long)flags, flags & GPT_FLAG_NO_AUTO ? " no-auto" : "",
		 flags & GPT_FLAG_READ_ONLY ? " read-only" : "", flags & GPT_FLAG_GROW_FS ? " grow-fs" : "");
}

/* why: what failed; advice: what the user can do (NULL: how to make root findable) */
void emergency_report(struct ctx *c, const char *why, const char *advice)
{
	char flags[96], label[sizeof(((struct part *)0)->label) * 4];
	log_error(c, "cannot continue: %s", why);
	console_printf(c, "\nearlyroot: cannot continue: %s\n", why);
	console_printf(c, "earlyroot: command line: root=%s gpt-auto=%s; boot disk hint (LoaderDevicePartUUID): %s\n",
		       c->cfg.root[0] ? c->cfg.root : "(none)", c->cfg.gpt_auto ? "on" : "off",
		       c->boot_partuuid[0] ? c->boot_partuuid : "(none)");
	console_printf(c, "earlyroot: %d disk(s) seen:\n", c->ndisks);
	for (int k = 0; k < c->ndisks; k++) {
		struct disk *d = &c->disks[k];
		disk_contents_note(d, d->node);
		console_printf(c, "  %s: %s partition table, %llu MiB, %d partition(s)\n", d->node,
			       d->pttype[0] ? d->pttype : "no", (unsigned long long)(d->size >> 20), d->nparts);
		if (d->note[0])
			console_printf(c, "    %s\n", d->note);
		for (int i = 0; i < d->nparts; i++) {
			const struct part *p = &d->parts[i];
			flag_names(p->flags, flags, sizeof(flags));
			console_printf(c, "    %s #%d type %s (%s) uuid %s label \"%s\" flags %s size %llu MiB%s%s\n",
				       p->node[0] ? p->node : "?", p->partno, p->type, dps_type_name(p->type), p->uuid,
				       escape_text(p->label, "", label, sizeof(label)), flags,
				       (unsigned long long)(p->size >> 11), p->rejected ? ": not used, " : "",
				       p->rejected ? p->rejected : "");
		}
	}
	for (int i = 0; i < VOLUME_MAX; i++)
		if (c->vol[i].device[0])
			console_printf(c, "earlyroot: %s device: %s%s%s\n", c->vol[i].name, c->vol[i].device,
				       c->vol[i].mapped[0] ? ", unlocked as " : "", c->vol[i].mapped);
	modules_report_unclaimed(c);
	if (advice)
		console_printf(c, "earlyroot: %s\n", advice);
	else
		console_printf(c,
			       "earlyroot: to boot, give the root partition the type root-x86-64 (%s) without the "
			       "no-auto flag on the boot disk, or pass root=PARTUUID=… (or UUID=, LABEL=, /dev/…) on "
			       "the kernel command line; a missing disk may need a driver or more time "
			       "(rd.systemd.default_device_timeout_sec=).\n",
			       DPS_ROOT_NATIVE);
}

void emergency(struct ctx *c)
{
	static const struct {
		const char *what;
		int cmd;
	} actions[] = {
		[EMERGENCY_HALT] = {"halting: the console stays readable; rd.emergency=reboot or poweroff "
				    "changes this",
				    0},
		[EMERGENCY_REBOOT] = {"rebooting (rd.emergency=reboot)", RB_AUTOBOOT},
		[EMERGENCY_POWEROFF] = {"powering off (rd.emergency=poweroff)", RB_POWER_OFF},
	};
	const typeof(actions[0]) *a = &actions[c->cfg.emergency];
	console_printf(c, "earlyroot: %s\n", a->what);
	log_error(c, "%s", a->what);
	sync();
	if (a->cmd && reboot(a->cmd) < 0)
		log_error(c, "reboot() failed: %m; halting instead");
	for (;;)
		pause();
}
