/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * measure [--pcr=4|9|11]... [--bank=BANK]... [--phase=PHASE]... [--loader=EFI]... [--json] UKI
 * measure [--pcr=...]... [...] --kernel=FILE [--initrd=FILE] [--options=TEXT]
 * measure [--bank=BANK]... [--phase=PHASE]... [--json] --linux=FILE [--osrel=FILE] [--cmdline=FILE] ...
 *
 * Predicts, before the boot, what the TPM's PCRs hold once the real root runs (docs/measurements.md):
 *  - PCR 11: what systemd-stub measures for a UKI's sections, then the boot phase words /init
 *    (enter-initrd, leave-initrd) and the real root's systemd (sysinit, ready) add. Each measured
 *    section is two events, SHA(name with its NUL byte) then SHA(content: VirtualSize bytes), in the
 *    stub's fixed section order, not the file's; a phase word is SHA(word). Without a stub (--kernel),
 *    only the phase words. With --linux= and friends: the files given, as systemd-measure takes them.
 *  - PCR 4: what the firmware measures for each EFI image started through LoadImage, after its
 *    "Calling EFI Application from Boot Option" action and the separator: the Authenticode digest of
 *    every --loader (systemd-boot), then of the UKI and of its .linux (systemd-stub starts the kernel
 *    through LoadImage too), or of --kernel.
 *  - PCR 9: what the kernel's EFI stub measures: the command line it was given as LOADED_IMAGE
 *    LoadOptions (UCS-2 with its NUL; the stub passes .cmdline that way, mangled as it does), then the
 *    initrd it loaded through the initrd media device path (.initrd, or --initrd).
 * Every event extends the PCR (PCR = SHA(PCR || digest)) from zero. --json prints systemd-measure's
 * JSON (only PCR 11 asked: byte for byte what `systemd-measure calculate` prints), with entries for
 * PCRs 4 and 9 ahead of PCR 11's when asked. Exit status: 0, or 2 when the input cannot be read or
 * cannot be predicted (and why).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/nettle-meta.h>

#include "image.h"
#include "macro.h"
#include "measure.h"

#define PHASES_MAX     16
#define LOADERS_MAX    4
#define PE_SECTION_LEN 40

static const int pcr_index[NPCRS] = {4, 9, 11, 15};

/* Every section name systemd-stub has measured, in the order it measures them; since is the first
 * stub version that knows the name (.pcrsig, the signature of these very values, is never measured).
 * The order is checked against systemd-measure 252 and 257 (tests/kernel/uki-measure). Not here:
 * .dtbauto and .hwids (257's devicetree selection), which systemd-measure 257 measures under each
 * other's names; a UKI carrying one is refused rather than guessed. */
static const struct section_kind {
	const char *name;
	unsigned since;
} sections[] = {
	{".linux", 0}, {".osrel", 0},	{".cmdline", 0}, {".initrd", 0},  {".ucode", 256},   {".splash", 0},
	{".dtb", 0},   {".uname", 254}, {".sbat", 254},	 {".pcrpkey", 0}, {".profile", 257},
};

const struct nettle_hash *const banks[NBANKS] = {&nettle_sha1, &nettle_sha256, &nettle_sha384, &nettle_sha512};

static void digest(const struct nettle_hash *h, struct span s, uint8_t out[DIGEST_MAX])
{
	uint8_t ctx[512]; /* larger than every nettle hash context */
	h->init(ctx);
	h->update(ctx, s.len, s.p);
	h->digest(ctx, h->digest_size, out);
}

void hex_string(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

void pcr_extend(const struct nettle_hash *h, uint8_t value[DIGEST_MAX], const uint8_t *d)
{
	uint8_t both[2 * DIGEST_MAX];
	memcpy(both, value, h->digest_size);
	memcpy(both + h->digest_size, d, h->digest_size);
	digest(h, (struct span){both, 2 * h->digest_size}, value);
}

/* Extends PCR p in bank b with the event digest d; shows it when that PCR is shown. */
static void extend(struct state *st, int p, size_t b, const uint8_t *d, const char *what)
{
	const struct nettle_hash *h = st->h[b];
	pcr_extend(h, st->value[p][b], d);
	if (st->show[p] && !st->json && what) {
		char text[2 * DIGEST_MAX + 1];
		hex_string(d, h->digest_size, text);
		printf("  PCR %-2d %-6s %s  %s\n", pcr_index[p], h->name, text, what);
	}
}

/* One event whose digest is SHA(data), in every bank. */
static struct predicted *record(struct state *st, int p, const char *what)
{
	if (st->nev == EVENTS_MAX) {
		fprintf(stderr, "measure: more than %d events: not a boot path this predicts\n", EVENTS_MAX);
		exit(2);
	}
	struct predicted *e = &st->ev[st->nev++];
	*e = (struct predicted){.p = p};
	snprintf(e->what, sizeof(e->what), "%s", what ? what : "");
	return e;
}

static void event(struct state *st, int p, struct span data, const char *what)
{
	struct predicted *e = record(st, p, what);
	for (size_t b = 0; b < st->nb; b++) {
		digest(st->h[b], data, e->digest[b]);
		extend(st, p, b, e->digest[b], what);
	}
}

/*
 * The Authenticode digest of a PE image, what the firmware measures for it (Microsoft's PE format
 * specification, "Calculating the PE Image Hash"): the headers without the optional header's CheckSum
 * and the Certificate Table entry, then every section with raw data in file order (SizeOfRawData
 * bytes), then whatever follows them in the file except the attribute certificates. -1 if s is no PE
 * image whose parts all lie within it.
 */
static int authenticode(const struct nettle_hash *h, struct span s, uint8_t out[DIGEST_MAX])
{
	uint32_t pe, soh, cert_off = 0, cert_size = 0, ndirs;
	uint16_t nsec, optsize, magic;
	if (!le32(s, 0x3c, &pe) || pe > s.len || s.len - pe < 24 || memcmp(s.p + pe, "PE\0\0", 4) != 0 ||
	    !le16(s, pe + 6, &nsec) || !le16(s, pe + 20, &optsize) || !le16(s, pe + 24, &magic))
		return -1;
	size_t opt = (size_t)pe + 24, dirs = opt + (magic == 0x20b ? 112 : 96);
	if ((magic != 0x20b && magic != 0x10b) || !le32(s, opt + 60, &soh) || !le32(s, dirs - 4, &ndirs) || ndirs < 5 ||
	    dirs + 5 * 8 > opt + optsize || !le32(s, dirs + 32, &cert_off) || !le32(s, dirs + 36, &cert_size) ||
	    soh > s.len || soh < dirs + 40)
		return -1;
	size_t table = opt + optsize;
	if (nsec > PE_SECTIONS_MAX || table > s.len || (s.len - table) / PE_SECTION_LEN < nsec)
		return -1;
	struct {
		uint32_t off, size;
	} raw[PE_SECTIONS_MAX];
	size_t n = 0;
	for (size_t i = 0; i < nsec; i++) {
		size_t at = table + i * PE_SECTION_LEN;
		le32(s, at + 16, &raw[n].size);
		le32(s, at + 20, &raw[n].off);
		if (raw[n].size == 0)
			continue;
		if (raw[n].off > s.len || s.len - raw[n].off < raw[n].size)
			return -1;
		/* in file order: insertion sort, a dozen sections */
		for (size_t j = n++; j > 0 && raw[j].off < raw[j - 1].off; j--) {
			__typeof__(raw[0]) t = raw[j];
			raw[j] = raw[j - 1], raw[j - 1] = t;
		}
	}
	uint8_t ctx[512];
	h->init(ctx);
	h->update(ctx, opt + 64, s.p);
	h->update(ctx, dirs + 32 - (opt + 68), s.p + opt + 68);
	h->update(ctx, soh - (dirs + 40), s.p + dirs + 40);
	size_t hashed = soh;
	for (size_t i = 0; i < n; i++) {
		h->update(ctx, raw[i].size, s.p + raw[i].off);
		hashed += raw[i].size;
	}
	size_t end = s.len;
	if (cert_size) {
		if (cert_off > s.len || s.len - cert_off < cert_size)
			return -1;
		end = cert_off;
	}
	if (end > hashed)
		h->update(ctx, end - hashed, s.p + hashed);
	h->digest(ctx, h->digest_size, out);
	return 0;
}

/* PCR 4: an EFI image the firmware (or a loader through it) starts with LoadImage. */
static int image_event(struct state *st, struct span image, const char *what)
{
	struct predicted *e = record(st, PCR4, what);
	e->image = true;
	for (size_t b = 0; b < st->nb; b++) {
		if (authenticode(st->h[b], image, e->digest[b]) < 0) {
			fprintf(stderr, "measure: %s is no PE image the firmware could start\n", what);
			return -1;
		}
		extend(st, PCR4, b, e->digest[b], what);
	}
	return 0;
}

/* PCR 4's events before the first image: the boot manager's action and the end of the pre-OS phase. */
static void firmware_events(struct state *st)
{
	static const char action[] = "Calling EFI Application from Boot Option";
	static const uint8_t separator[4] = {0};
	event(st, PCR4, (struct span){(const uint8_t *)action, sizeof(action) - 1}, "EV_EFI_ACTION: the boot option");
	event(st, PCR4, (struct span){separator, sizeof(separator)}, "EV_SEPARATOR");
}

/*
 * PCR 9's LoadOptions event: text as systemd-stub hands it to the kernel, UTF-8 turned into UCS-2 (code
 * points beyond it left out, as the stub does), control characters into spaces, trailing spaces cut,
 * with the NUL. -1 on bytes that are no UTF-8, whose fate this does not predict.
 */
static int options_event(struct state *st, struct span text, const char *what)
{
	static uint8_t ucs2[2 * 8192 + 2];
	size_t n = 0;
	for (size_t i = 0; i < text.len && text.p[i] && n + 2 < sizeof(ucs2);) {
		uint32_t c = text.p[i], len = c < 0x80 ? 1 : c >> 5 == 6 ? 2 : c >> 4 == 14 ? 3 : c >> 3 == 30 ? 4 : 0;
		if (!len || i + len > text.len)
			goto bad;
		c = len == 1 ? c : c & (0x7f >> len);
		for (size_t k = 1; k < len; k++) {
			if ((text.p[i + k] & 0xc0) != 0x80)
				goto bad;
			c = c << 6 | (text.p[i + k] & 0x3f);
		}
		i += len;
		if ((c >= 0xd800 && c <= 0xdfff) || c > 0xffff)
			continue;
		if (c <= 0x1f)
			c = ' ';
		ucs2[n++] = (uint8_t)c, ucs2[n++] = (uint8_t)(c >> 8);
	}
	while (n >= 2 && ucs2[n - 2] == ' ' && ucs2[n - 1] == 0)
		n -= 2;
	ucs2[n++] = 0, ucs2[n++] = 0;
	event(st, PCR9, (struct span){ucs2, n}, what);
	return 0;
bad:
	fprintf(stderr, "measure: %s is not UTF-8: how the stub converts it is not predicted\n", what);
	return -1;
}

/* The stub's version from its .sdmagic ("#### LoaderInfo: systemd-stub 252 ####"), 0 if unknown. */
static unsigned stub_version(struct span uki, const struct pe_section *secs, int n)
{
	const struct pe_section *m = pe_find(secs, n, ".sdmagic");
	static const char tag[] = "systemd-stub ";
	if (!m || m->size == SIZE_MAX)
		return 0;
	const char *p = memmem(uki.p + m->offset, m->size, tag, sizeof(tag) - 1);
	unsigned v = 0;
	for (p = p ? p + sizeof(tag) - 1 : NULL;
	     p && p < (const char *)uki.p + m->offset + m->size && *p >= '0' && *p <= '9' && v < 100000; p++)
		v = v * 10 + (unsigned)(*p - '0');
	return v;
}

/* A UKI: its sections into PCR 11, itself and its kernel into PCR 4, .cmdline and .initrd into PCR 9. */
static int measure_uki(struct state *st, const char *path, struct span uki)
{
	struct pe_section secs[PE_SECTIONS_MAX];
	int n = pe_sections(uki, secs, PE_SECTIONS_MAX);
	if (n <= 0 || !pe_find(secs, n, ".linux")) {
		fprintf(stderr, "measure: %s is no UKI (no PE image with a .linux section)\n", path);
		return -1;
	}
	unsigned version = stub_version(uki, secs, n);
	if (!version)
		fprintf(stderr,
			"measure: %s: no systemd-stub version in .sdmagic: measuring every section a current "
			"stub measures\n",
			path);
	static const char *const refused[] = {".profile", ".dtbauto", ".hwids"};
	for (size_t i = 0; i < ELEMENTSOF(refused); i++)
		if (pe_find(secs, n, refused[i])) {
			fprintf(stderr,
				"measure: %s has a %s section (profiles or devicetree selection): not predicted\n",
				path, refused[i]);
			return -1;
		}
	if (!st->json)
		printf("  (%s: UKI, systemd-stub %u)\n", path, version);
	if (image_event(st, uki, path) < 0)
		return -1;
	const struct pe_section *found[ELEMENTSOF(sections)] = {0};
	for (size_t k = 0; k < ELEMENTSOF(sections); k++) {
		if (version && version < sections[k].since)
			continue;
		for (int i = 0; i < n; i++)
			if (strcmp(secs[i].name, sections[k].name) == 0) {
				if (found[k]) {
					fprintf(stderr,
						"measure: %s has two %s sections: which one a stub measures is not "
						"predictable\n",
						path, sections[k].name);
					return -1;
				}
				found[k] = &secs[i];
			}
		const struct pe_section *s = found[k];
		if (!s)
			continue;
		if (s->size == SIZE_MAX) {
			fprintf(stderr, "measure: %s: section %s extends beyond the file\n", path, s->name);
			return -1;
		}
		char what[64];
		snprintf(what, sizeof(what), "%s (name)", s->name);
		event(st, PCR11, (struct span){(const uint8_t *)s->name, strlen(s->name) + 1}, what);
		snprintf(what, sizeof(what), "%s (%zu bytes)", s->name, s->size);
		event(st, PCR11, (struct span){uki.p + s->offset, s->size}, what);
	}
	/* then the stub starts .linux through LoadImage, with .cmdline as its LoadOptions and .initrd behind
	 * the initrd media device path; the kernel's EFI stub measures both into PCR 9 */
	const struct pe_section *kernel = found[0], *cmdline = found[2], *initrd = found[3];
	if (image_event(st, (struct span){uki.p + kernel->offset, kernel->size}, ".linux (started by the stub)") < 0)
		return -1;
	if (cmdline && cmdline->size &&
	    options_event(st, (struct span){uki.p + cmdline->offset, cmdline->size}, ".cmdline (LoadOptions)") < 0)
		return -1;
	/* Seen under OVMF: stub 252 hands the kernel .initrd as it is; stub 257 hands it other bytes, with no
	 * other file in it, which are not established here (docs/measurements.md) */
	if (version != 252)
		st->unknown[PCR9] =
			"the initrd systemd-stub other than 252 hands the kernel is not known byte for byte";
	else if (initrd && initrd->size)
		event(st, PCR9, (struct span){uki.p + initrd->offset, initrd->size}, ".initrd (Linux initrd)");
	return 0;
}

/* A kernel the firmware or a loader starts itself (a type #1 boot entry, a kernel-linked bzImage). */
static int measure_kernel(struct state *st, const char *kernel, const char *initrd, const char *options)
{
	_cleanup_buf_ struct buf k = {0};
	_cleanup_buf_ struct buf i = {0};
	int r = read_path(kernel, &k);
	if (r < 0) {
		fprintf(stderr, "measure: cannot read %s: %s\n", kernel, strerror(-r));
		return -1;
	}
	if (initrd && (r = read_path(initrd, &i)) < 0) {
		fprintf(stderr, "measure: cannot read %s: %s\n", initrd, strerror(-r));
		return -1;
	}
	if (!st->json)
		printf("  (%s: a kernel started as an EFI application)\n", kernel);
	if (image_event(st, span_of(&k), kernel) < 0)
		return -1;
	if (options && *options &&
	    options_event(st, (struct span){(const uint8_t *)options, strlen(options)}, "the options (LoadOptions)") <
		    0)
		return -1;
	if (initrd)
		event(st, PCR9, span_of(&i), "the initrd (Linux initrd)");
	return 0;
}

/* Files given per section, measured in the stub's order, as systemd-measure does. */
static int measure_files(struct state *st, char *const files[])
{
	if (!st->json)
		printf("sections given; PCR 11 events in the order systemd-stub measures them:\n");
	for (size_t k = 0; k < ELEMENTSOF(sections); k++) {
		if (!files[k])
			continue;
		_cleanup_buf_ struct buf b = {0};
		int r = read_path(files[k], &b);
		if (r < 0) {
			fprintf(stderr, "measure: cannot read %s: %s\n", files[k], strerror(-r));
			return -1;
		}
		char what[PATH_MAX + 64];
		snprintf(what, sizeof(what), "%s (name)", sections[k].name);
		event(st, PCR11, (struct span){(const uint8_t *)sections[k].name, strlen(sections[k].name) + 1}, what);
		snprintf(what, sizeof(what), "%s (%s, %zu bytes)", sections[k].name, files[k], b.len);
		event(st, PCR11, span_of(&b), what);
	}
	return 0;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: measure [--pcr=4|9|11]... [--bank=sha1|sha256|sha384|sha512]... [--phase=WORD[:WORD...]]...\n"
		"               [--loader=EFI-IMAGE]... [--json] UKI\n"
		"       measure [OPTIONS] --kernel=FILE [--initrd=FILE] [--options=TEXT]\n"
		"       measure [--bank=...]... [--phase=...]... [--json] --linux=FILE [--osrel=FILE] "
		"[--cmdline=FILE]\n"
		"               [--initrd=FILE] [--ucode=FILE] [--splash=FILE] [--dtb=FILE] [--uname=FILE] "
		"[--sbat=FILE]\n"
		"               [--pcrpkey=FILE] [--profile=FILE]\n");
}

int main(int argc, char **argv)
{
	static struct state st;
	char *files[ELEMENTSOF(sections)] = {0};
	const char *phases[PHASES_MAX], *loaders[LOADERS_MAX], *kernel = NULL, *options = NULL;
	size_t nphases = 0, nloaders = 0;
	bool any_file = false, pcr_asked = false, attesting = false;
	const char *eventlog = NULL, *cel = NULL, *pcrs = NULL;
	enum {
		OPT_BANK = 0x100,
		OPT_PHASE,
		OPT_JSON,
		OPT_HELP,
		OPT_PCR,
		OPT_LOADER,
		OPT_KERNEL,
		OPT_OPTIONS,
		OPT_ATTEST,
		OPT_EVENTLOG,
		OPT_CEL,
		OPT_PCRS,
		OPT_SECTION
	};
	struct option opts[ELEMENTSOF(sections) + 13] = {
		{"attest", no_argument, NULL, OPT_ATTEST},	 {"eventlog", required_argument, NULL, OPT_EVENTLOG},
		{"cel", required_argument, NULL, OPT_CEL},	 {"pcrs", required_argument, NULL, OPT_PCRS},
		{"bank", required_argument, NULL, OPT_BANK},	 {"phase", required_argument, NULL, OPT_PHASE},
		{"json", no_argument, NULL, OPT_JSON},		 {"help", no_argument, NULL, OPT_HELP},
		{"pcr", required_argument, NULL, OPT_PCR},	 {"loader", required_argument, NULL, OPT_LOADER},
		{"kernel", required_argument, NULL, OPT_KERNEL}, {"options", required_argument, NULL, OPT_OPTIONS},
	};
	for (size_t k = 0; k < ELEMENTSOF(sections); k++)
		opts[12 + k] = (struct option){sections[k].name + 1, required_argument, NULL, OPT_SECTION + (int)k};

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
		if (c == OPT_BANK) {
			size_t b = 0;
			while (b < NBANKS && strcmp(banks[b]->name, optarg) != 0)
				b++;
			if (b == NBANKS) {
				fprintf(stderr, "measure: unknown bank '%s' (sha1, sha256, sha384 or sha512)\n",
					optarg);
				return 2;
			}
			bool dup = false;
			for (size_t i = 0; i < st.nb; i++)
				dup |= st.h[i] == banks[b];
			if (!dup)
				st.h[st.nb++] = banks[b];
		} else if (c == OPT_PHASE || c == OPT_LOADER) {
			if (c == OPT_PHASE ? nphases == PHASES_MAX : nloaders == LOADERS_MAX) {
				fprintf(stderr, "measure: too many --%s\n", c == OPT_PHASE ? "phase" : "loader");
				return 2;
			}
			if (c == OPT_PHASE)
				phases[nphases++] = optarg;
			else
				loaders[nloaders++] = optarg;
		} else if (c == OPT_PCR) {
			int p = 0;
			while (p < NPCRS && atoi(optarg) != pcr_index[p])
				p++;
			if (p == NPCRS || strspn(optarg, "0123456789") != strlen(optarg)) {
				fprintf(stderr, "measure: PCR '%s' is not predicted (4, 9, 11 or 15)\n", optarg);
				return 2;
			}
			st.show[p] = pcr_asked = true;
		} else if (c == OPT_JSON) {
			st.json = true;
		} else if (c == OPT_ATTEST) {
			attesting = true;
		} else if (c == OPT_EVENTLOG) {
			eventlog = optarg;
		} else if (c == OPT_CEL) {
			cel = optarg;
		} else if (c == OPT_PCRS) {
			pcrs = optarg;
		} else if (c == OPT_KERNEL) {
			kernel = optarg;
		} else if (c == OPT_OPTIONS) {
			options = optarg;
		} else if (c == OPT_HELP || c == 'h') {
			usage(stdout);
			return 0;
		} else if (c >= OPT_SECTION && c < OPT_SECTION + (int)ELEMENTSOF(sections)) {
			files[c - OPT_SECTION] = optarg;
			any_file = true;
		} else {
			usage(stderr);
			return 2;
		}
	}
	/* --initrd= is a section file with --linux=, the kernel's initrd with --kernel= */
	const char *initrd = files[3];
	bool other_sections = false;
	for (size_t k = 0; k < ELEMENTSOF(sections); k++)
		other_sections |= files[k] && k != 3;
	bool sections_mode = any_file && !kernel;
	if (kernel	    ? optind != argc || other_sections
	    : sections_mode ? optind != argc || !files[0] || nloaders || options
			    : optind + 1 != argc || options) {
		usage(stderr);
		return 2;
	}
	if (attesting && (sections_mode || !eventlog || !cel || !pcrs || st.json)) {
		fprintf(stderr, "measure: --attest needs --eventlog=, --cel= and --pcrs=, and the UKI or --kernel=\n");
		return 2;
	}
	if (!pcr_asked)
		st.show[PCR11] = true;
	if (attesting)
		st.json = true; /* the prediction's events are not shown, attest's verdict is */
	if (sections_mode && (st.show[PCR4] || st.show[PCR9] || st.show[PCR15])) {
		fprintf(stderr, "measure: PCRs 4, 9 and 15 need the UKI or --kernel=, not its sections\n");
		return 2;
	}
	/* systemd-measure's default: every bank; and its order, whatever the order asked */
	if (st.nb == 0)
		for (size_t b = 0; b < NBANKS; b++)
			st.h[st.nb++] = banks[b];
	for (size_t i = 1; i < st.nb; i++)
		for (size_t j = i; j > 0 && st.h[j]->digest_size < st.h[j - 1]->digest_size; j--) {
			const struct nettle_hash *t = st.h[j];
			st.h[j] = st.h[j - 1], st.h[j - 1] = t;
		}
	if (nphases == 0) {
		static const char *const defaults[] = {"enter-initrd", "enter-initrd:leave-initrd",
						       "enter-initrd:leave-initrd:sysinit",
						       "enter-initrd:leave-initrd:sysinit:ready"};
		for (size_t i = 0; i < ELEMENTSOF(defaults); i++)
			phases[nphases++] = defaults[i];
	}
	/* sorted, each once, as systemd-measure lists them */
	qsort(phases, nphases, sizeof(phases[0]), compare_strings);
	size_t kept = 0;
	for (size_t p = 0; p < nphases; p++)
		if (kept == 0 || strcmp(phases[kept - 1], phases[p]) != 0)
			phases[kept++] = phases[p];
	nphases = kept;

	if (sections_mode) {
		if (measure_files(&st, files) < 0)
			return 2;
	} else {
		if (!st.json)
			printf("the events in the order they happen (PCR, bank, digest, what):\n");
		firmware_events(&st);
		for (size_t i = 0; i < nloaders; i++) {
			_cleanup_buf_ struct buf l = {0};
			int r = read_path(loaders[i], &l);
			if (r < 0) {
				fprintf(stderr, "measure: cannot read %s: %s\n", loaders[i], strerror(-r));
				return 2;
			}
			if (image_event(&st, span_of(&l), loaders[i]) < 0)
				return 2;
		}
		if (kernel) {
			if (measure_kernel(&st, kernel, initrd, options) < 0)
				return 2;
		} else {
			_cleanup_buf_ struct buf uki = {0};
			int r = read_path(argv[optind], &uki);
			if (r < 0) {
				fprintf(stderr, "measure: cannot read %s: %s\n", argv[optind], strerror(-r));
				return 2;
			}
			if (measure_uki(&st, argv[optind], span_of(&uki)) < 0)
				return 2;
		}
	}

	/* PCR 15 of a root that is not encrypted: /init's word for "no volume key" (docs/tpm2.md) */
	if (!sections_mode) {
		static const char word[] = "earlyroot:no-volume-key";
		event(&st, PCR15, (struct span){(const uint8_t *)word, sizeof(word) - 1},
		      "earlyroot:no-volume-key (a root that is not encrypted)");
	}
	if (attesting) {
		st.unknown[PCR15] =
			"an encrypted root's holds its volume key's measurement, and the real root adds its own";
		/* the boot path ends with earlyroot's two words; what the real root adds later is its own */
		static const char *const words[] = {"enter-initrd", "leave-initrd"};
		for (size_t i = 0; i < ELEMENTSOF(words); i++)
			event(&st, PCR11, (struct span){(const uint8_t *)words[i], strlen(words[i])}, words[i]);
		return attest(&st, eventlog, cel, pcrs);
	}

	/* each phase path from PCR 11's value so far: its words, one event each */
	char values[NPCRS + PHASES_MAX][NBANKS][2 * DIGEST_MAX + 1];
	for (size_t b = 0; b < st.nb; b++) {
		hex_string(st.value[PCR4][b], st.h[b]->digest_size, values[PCR4][b]);
		hex_string(st.value[PCR9][b], st.h[b]->digest_size, values[PCR9][b]);
		hex_string(st.value[PCR15][b], st.h[b]->digest_size, values[PCR15][b]);
	}
	for (size_t p = 0; p < nphases; p++) {
		/* each path from the same start: its words leave neither the value nor the events behind */
		uint8_t at[NBANKS][DIGEST_MAX];
		size_t nev = st.nev;
		memcpy(at, st.value[PCR11], sizeof(at));
		for (const char *w = phases[p]; *w;) {
			size_t len = strcspn(w, ":");
			if (len)
				event(&st, PCR11, (struct span){(const uint8_t *)w, len}, NULL);
			w += len + (w[len] == ':');
		}
		for (size_t b = 0; b < st.nb; b++)
			hex_string(st.value[PCR11][b], st.h[b]->digest_size, values[NPCRS + p][b]);
		memcpy(st.value[PCR11], at, sizeof(at));
		st.nev = nev;
	}
	for (int p = PCR4; p <= PCR9; p++)
		if (st.json && st.show[p] && st.unknown[p])
			fprintf(stderr, "measure: PCR %d not predicted: %s\n", pcr_index[p], st.unknown[p]);
	if (st.json) {
		printf("{");
		for (size_t b = 0; b < st.nb; b++) {
			const char *sep = "";
			printf("%s\"%s\":[", b ? "," : "", st.h[b]->name);
			for (int p = PCR4; p <= PCR9; p++)
				if (st.show[p] && !st.unknown[p]) {
					printf("%s{\"pcr\":%d,\"hash\":\"%s\"}", sep, pcr_index[p], values[p][b]);
					sep = ",";
				}
			for (size_t p = 0; st.show[PCR11] && p < nphases; p++) {
				printf("%s{%s%s%s\"pcr\":11,\"hash\":\"%s\"}", sep, *phases[p] ? "\"phase\":\"" : "",
				       phases[p], *phases[p] ? "\"," : "", values[NPCRS + p][b]);
				sep = ",";
			}
			if (st.show[PCR15])
				printf("%s{\"pcr\":15,\"hash\":\"%s\"}", sep, values[PCR15][b]);
			printf("]");
		}
		printf("}\n");
		return 0;
	}
	for (int p = PCR4; p <= PCR9; p++) {
		if (st.show[p] && st.unknown[p])
			printf("PCR %d: not predicted: %s\n", pcr_index[p], st.unknown[p]);
		for (size_t b = 0; st.show[p] && !st.unknown[p] && b < st.nb; b++)
			printf("PCR %d %-6s %s\n", pcr_index[p], st.h[b]->name, values[p][b]);
	}
	if (st.show[PCR11])
		printf("PCR 11 after each phase's words (each word is one event: SHA(word)):\n");
	for (size_t p = 0; st.show[PCR11] && p < nphases; p++)
		for (size_t b = 0; b < st.nb; b++)
			printf("  %-6s %s  %s\n", st.h[b]->name, values[NPCRS + p][b],
			       *phases[p] ? phases[p] : "(no phase word yet)");
	for (size_t b = 0; st.show[PCR15] && b < st.nb; b++)
		printf("PCR 15 %-6s %s  (a root that is not encrypted; an encrypted root's holds its volume key's "
		       "measurement instead)\n",
		       st.h[b]->name, values[PCR15][b]);
	return 0;
}
