/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * measure [--bank=BANK]... [--phase=PHASE]... [--json] UKI
 * measure [--bank=BANK]... [--phase=PHASE]... [--json] --linux=FILE [--osrel=FILE] [--cmdline=FILE] ...
 *
 * Predicts PCR 11 before the boot: what systemd-stub measures for a UKI's sections, then the boot
 * phase words /init (enter-initrd, leave-initrd) and the real root's systemd (sysinit, ready) add.
 * Each measured section is two events: SHA(name with its NUL byte), then SHA(content: VirtualSize
 * bytes), in the stub's fixed section order, not the file's; a phase word is SHA(word). Every event
 * extends the PCR (PCR = SHA(PCR || event)) from zero. With a UKI the sections are its own, and the
 * stub's version (its .sdmagic) says which names that stub measures; with --linux= and friends, the
 * files given, as systemd-measure takes them. --json prints systemd-measure's JSON, so tools that
 * read its output read this. Exit status: 0, or 2 when the input cannot be read or is no UKI.
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

#define PCR_KERNEL_IMAGE 11
#define DIGEST_MAX	 64
#define PHASES_MAX	 16

/* Every section name systemd-stub has measured, in the order it measures them; since is the first
 * stub version that knows the name (.pcrsig, the signature of these very values, is never measured).
 * The order is checked against systemd-measure 252 and 257 (tests/kernel/uki-measure). Not here:
 * .dtbauto and .hwids (257's devicetree selection), which systemd-measure 257 measures under each
 * other's names; a UKI carrying one is refused rather than guessed. */
static const struct section_kind {
	const char *name;
	unsigned since;
} sections[] = {
	{".linux", 0},	   {".osrel", 0},     {".cmdline", 0}, {".initrd", 0}, {".ucode", 256},
	{".splash", 0},	   {".dtb", 0},	      {".uname", 254}, {".sbat", 254}, {".pcrpkey", 0},
	{".profile", 257}, {".dtbauto", 257}, {".hwids", 257},
};

static const struct nettle_hash *const banks[] = {&nettle_sha1, &nettle_sha256, &nettle_sha384, &nettle_sha512};

struct pcr {
	const struct nettle_hash *h;
	uint8_t value[DIGEST_MAX];
};

static void digest(const struct nettle_hash *h, struct span s, uint8_t out[DIGEST_MAX])
{
	uint8_t ctx[512]; /* larger than every nettle hash context */
	h->init(ctx);
	h->update(ctx, s.len, s.p);
	h->digest(ctx, h->digest_size, out);
}

static void extend(struct pcr *p, const uint8_t *event)
{
	uint8_t both[2 * DIGEST_MAX];
	memcpy(both, p->value, p->h->digest_size);
	memcpy(both + p->h->digest_size, event, p->h->digest_size);
	digest(p->h, (struct span){both, 2 * p->h->digest_size}, p->value);
}

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* Measures one event into every bank; shows it unless json. */
static void event(struct pcr *pcrs, size_t n, struct span data, const char *what, bool json)
{
	for (size_t b = 0; b < n; b++) {
		uint8_t d[DIGEST_MAX];
		char text[2 * DIGEST_MAX + 1];
		digest(pcrs[b].h, data, d);
		extend(&pcrs[b], d);
		hex(d, pcrs[b].h->digest_size, text);
		if (!json)
			printf("  PCR %d %-6s %s  %s\n", PCR_KERNEL_IMAGE, pcrs[b].h->name, text, what);
	}
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
	     p && p < (const char *)uki.p + m->offset + m->size && *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (unsigned)(*p - '0');
	return v;
}

/* A UKI's sections as the stub measures them; -1 after saying why it cannot be predicted. */
static int measure_uki(const char *path, struct span uki, struct pcr *pcrs, size_t nb, bool json)
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
	if (!json)
		printf("%s: UKI, systemd-stub %u; PCR %d events in the order the stub measures them:\n", path, version,
		       PCR_KERNEL_IMAGE);
	for (size_t k = 0; k < ELEMENTSOF(sections); k++) {
		if (version && version < sections[k].since)
			continue;
		const struct pe_section *s = NULL;
		for (int i = 0; i < n; i++)
			if (strcmp(secs[i].name, sections[k].name) == 0) {
				if (s) {
					fprintf(stderr,
						"measure: %s has two %s sections: which one a stub measures is not "
						"predictable\n",
						path, sections[k].name);
					return -1;
				}
				s = &secs[i];
			}
		if (!s)
			continue;
		if (s->size == SIZE_MAX) {
			fprintf(stderr, "measure: %s: section %s extends beyond the file\n", path, s->name);
			return -1;
		}
		char what[64];
		snprintf(what, sizeof(what), "%s (name)", s->name);
		event(pcrs, nb, (struct span){(const uint8_t *)s->name, strlen(s->name) + 1}, what, json);
		snprintf(what, sizeof(what), "%s (%zu bytes)", s->name, s->size);
		event(pcrs, nb, (struct span){uki.p + s->offset, s->size}, what, json);
	}
	return 0;
}

/* Files given per section, measured in the stub's order, as systemd-measure does. */
static int measure_files(char *const files[], struct pcr *pcrs, size_t nb, bool json)
{
	if (!json)
		printf("sections given; PCR %d events in the order systemd-stub measures them:\n", PCR_KERNEL_IMAGE);
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
		event(pcrs, nb, (struct span){(const uint8_t *)sections[k].name, strlen(sections[k].name) + 1}, what,
		      json);
		snprintf(what, sizeof(what), "%s (%s, %zu bytes)", sections[k].name, files[k], b.len);
		event(pcrs, nb, span_of(&b), what, json);
	}
	return 0;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: measure [--bank=sha1|sha256|sha384|sha512]... [--phase=WORD[:WORD...]]... [--json] UKI\n"
		   "       measure [...] --linux=FILE [--osrel=FILE] [--cmdline=FILE] [--initrd=FILE] [--ucode=FILE]\n"
		   "               [--splash=FILE] [--dtb=FILE] [--uname=FILE] [--sbat=FILE] [--pcrpkey=FILE]\n"
		   "               [--profile=FILE]\n");
}

int main(int argc, char **argv)
{
	char *files[ELEMENTSOF(sections)] = {0};
	const char *phases[PHASES_MAX];
	size_t nphases = 0, nb = 0;
	struct pcr pcrs[ELEMENTSOF(banks)];
	bool json = false, any_file = false;
	enum { OPT_BANK = 0x100, OPT_PHASE, OPT_JSON, OPT_HELP, OPT_SECTION };
	struct option opts[ELEMENTSOF(sections) + 5] = {
		{"bank", required_argument, NULL, OPT_BANK},
		{"phase", required_argument, NULL, OPT_PHASE},
		{"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, OPT_HELP},
	};
	for (size_t k = 0; k < ELEMENTSOF(sections); k++)
		opts[4 + k] = (struct option){sections[k].name + 1, required_argument, NULL, OPT_SECTION + (int)k};

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
		if (c == OPT_BANK) {
			size_t b = 0;
			while (b < ELEMENTSOF(banks) && strcmp(banks[b]->name, optarg) != 0)
				b++;
			if (b == ELEMENTSOF(banks)) {
				fprintf(stderr, "measure: unknown bank '%s' (sha1, sha256, sha384 or sha512)\n",
					optarg);
				return 2;
			}
			bool dup = false;
			for (size_t i = 0; i < nb; i++)
				dup |= pcrs[i].h == banks[b];
			if (!dup)
				pcrs[nb++] = (struct pcr){.h = banks[b]};
		} else if (c == OPT_PHASE) {
			if (nphases == PHASES_MAX) {
				fprintf(stderr, "measure: at most %d phases\n", PHASES_MAX);
				return 2;
			}
			phases[nphases++] = optarg;
		} else if (c == OPT_JSON) {
			json = true;
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
	if (any_file ? optind != argc || !files[0] : optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	/* systemd-measure's default: every bank */
	if (nb == 0) {
		for (size_t b = 0; b < ELEMENTSOF(banks); b++)
			pcrs[b] = (struct pcr){.h = banks[b]};
		nb = ELEMENTSOF(banks);
	}
	/* systemd-measure's banks come out in this order whatever the order asked */
	for (size_t i = 1; i < nb; i++)
		for (size_t j = i; j > 0 && pcrs[j].h->digest_size < pcrs[j - 1].h->digest_size; j--) {
			struct pcr t = pcrs[j];
			pcrs[j] = pcrs[j - 1];
			pcrs[j - 1] = t;
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

	if (any_file) {
		if (measure_files(files, pcrs, nb, json) < 0)
			return 2;
	} else {
		_cleanup_buf_ struct buf uki = {0};
		int r = read_path(argv[optind], &uki);
		if (r < 0) {
			fprintf(stderr, "measure: cannot read %s: %s\n", argv[optind], strerror(-r));
			return 2;
		}
		if (measure_uki(argv[optind], span_of(&uki), pcrs, nb, json) < 0)
			return 2;
	}

	/* each phase path from the sections' value: its words, one event each */
	char values[PHASES_MAX][ELEMENTSOF(banks)][2 * DIGEST_MAX + 1];
	for (size_t p = 0; p < nphases; p++) {
		struct pcr at[ELEMENTSOF(banks)];
		memcpy(at, pcrs, sizeof(at));
		for (const char *w = phases[p]; *w;) {
			size_t len = strcspn(w, ":");
			if (len)
				event(at, nb, (struct span){(const uint8_t *)w, len}, "", true);
			w += len + (w[len] == ':');
		}
		for (size_t b = 0; b < nb; b++)
			hex(at[b].value, at[b].h->digest_size, values[p][b]);
	}
	if (json) {
		printf("{");
		for (size_t b = 0; b < nb; b++) {
			printf("%s\"%s\":[", b ? "," : "", pcrs[b].h->name);
			for (size_t p = 0; p < nphases; p++)
				printf("%s{%s%s%s\"pcr\":%d,\"hash\":\"%s\"}", p ? "," : "",
				       *phases[p] ? "\"phase\":\"" : "", phases[p], *phases[p] ? "\"," : "",
				       PCR_KERNEL_IMAGE, values[p][b]);
			printf("]");
		}
		printf("}\n");
		return 0;
	}
	printf("PCR %d after each phase's words (each word is one event: SHA(word)):\n", PCR_KERNEL_IMAGE);
	for (size_t p = 0; p < nphases; p++)
		for (size_t b = 0; b < nb; b++)
			printf("  %-6s %s  %s\n", pcrs[b].h->name, values[p][b],
			       *phases[p] ? phases[p] : "(no phase word yet)");
	return 0;
}
