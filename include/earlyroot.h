/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"

/* One GPT holds at most 128 entries in its default layout; larger tables are rare and rejected. */
#define MAX_PARTS	128
/* Machines with more disks than this boot with root= instead of DPS. */
#define MAX_DISKS	32
#define SPEC_MAX	256
#define GUID_LEN	36
/* dm-verity root hashes: SHA-256 (systemd-repart's) up to SHA-512, as hex */
#define VERITY_HASH_MAX 64
#define VERITY_HEX_MAX	(2 * VERITY_HASH_MAX)

/* systemd.image_policy= texts are a few rules of a few flags each */
#define POLICY_MAX 1024
struct policy_option {
	char text[POLICY_MAX];
	bool given;
};

enum emergency_action { EMERGENCY_HALT, EMERGENCY_REBOOT, EMERGENCY_POWEROFF };
enum ro_mode { RO_DEFAULT, RO_FORCE, RW_FORCE };

struct config {
	char root[SPEC_MAX]; /* "" = DPS */
	char rootfstype[SPEC_MAX];
	char rootflags[SPEC_MAX];
	enum ro_mode ro;
	char init[SPEC_MAX];
	char usr[SPEC_MAX];
	char usrfstype[SPEC_MAX];
	char usrflags[SPEC_MAX];
	bool gpt_auto;
	enum emergency_action emergency;
	int quiet;	/* a flag: 0 or 1 */
	bool force_gpt; /* the kernel's "gpt": it then reads a backup GPT whose primary header is damaged */
	int loglevel;	/* kmsg lines above this level are not written */
	unsigned timeout_sec;
	bool luks;		     /* rd.luks=0 leaves LUKS volumes locked */
	bool tpm2_seed;		     /* rd.earlyroot.tpm2_seed=: seed the kernel's pool from the TPM */
	char luks_options[SPEC_MAX]; /* rd.luks.options= */
	char luks_name[SPEC_MAX];    /* rd.luks.name=UUID=NAME */
	char luks_uuid[SPEC_MAX];    /* rd.luks.uuid=UUID */
	bool verity;		     /* (rd.)systemd.verity=0 sets up no dm-verity volume */
	char roothash[VERITY_HEX_MAX + 1], usrhash[VERITY_HEX_MAX + 1]; /* roothash=, usrhash= */
	bool verity_bad; /* one of them could not be taken: the boot stops rather than run unverified */
	struct policy_option image_policy, rd_image_policy; /* the rd. one wins */
	bool image_policy_bad;				    /* one was given but could not be taken: the boot stops */
};

struct luks_opts {
	uint32_t flags; /* CRYPT_ACTIVATE_* */
	bool headless;
	unsigned tries;
	char tpm2_device[64]; /* "" or "auto": /dev/tpmrm0 */
	int measure_pcr;      /* tpm2-measure-pcr=: where the volume key goes (-1: nowhere) */
};

struct part {
	char node[64]; /* /dev/… ; empty for image files */
	int partno;
	char type[GUID_LEN + 1]; /* lower case */
	char uuid[GUID_LEN + 1]; /* lower case */
	char label[72 * 3 + 1];	 /* UTF-8 of up to 36 UTF-16 units */
	uint64_t flags;
	uint64_t start, size; /* in 512-byte sectors */
	const char *rejected; /* why DPS did not take it; NULL if taken or not a candidate */
};

struct disk {
	char node[64];
	char pttype[8]; /* "gpt", "dos", "" */
	uint64_t size;
	bool removable;	 /* removable media, or behind USB: never a DPS candidate without the boot disk hint */
	bool gpt_backup; /* the primary GPT header is damaged: libblkid and the kernel read the backup */
	char note[320];	 /* what the report says about the table (damaged, MBR, none); "" for an intact GPT */
	int nparts;
	struct part parts[MAX_PARTS];
};

struct dps_result {
	struct part *root, *usr;
	struct disk *root_disk;
	char error[320]; /* why no root was chosen; "" when one was */
	bool final;	 /* and waiting for more disks cannot mend it */
};

enum volume_id { VOLUME_ROOT, VOLUME_USR, VOLUME_MAX };
enum unlock_method { UNLOCK_NONE, UNLOCK_TPM2, UNLOCK_PASSPHRASE };
/* where a volume's dm-verity root hash comes from: none (no verity), the command line, a signature partition */
enum verity_source { VERITY_NONE, VERITY_CMDLINE, VERITY_SIGNATURE };

/* Root or /usr, from discovery (what was asked, what was found) through unlock and the policy check to mount. */
struct volume {
	const char *name;	/* "root", "usr": also the image policy's designator */
	const char *mountpoint; /* "/sysroot", "/sysroot/usr" */
	const char *fstype;	/* rootfstype=, mount.usrfstype=: "" = probe */
	const char *options;	/* rootflags=, mount.usrflags= */
	char spec[SPEC_MAX];	/* root=, mount.usr= (a /dev/mapper/NAME root as its LUKS UUID=); "" = DPS */
	char device[SPEC_MAX];	/* the partition or disk found; "" = none */
	bool gpt;		/* device is a GPT partition, with these: */
	char partuuid[GUID_LEN + 1];
	uint64_t gpt_flags;
	char probed[32];       /* the file system type libblkid found on device ("crypto_LUKS", "ext4", …) */
	char luks_name[64];    /* the device-mapper name when it is LUKS */
	char mapped[SPEC_MAX]; /* /dev/mapper/NAME once unlocked */
	enum unlock_method unlocked;
	char tpm2_device[64]; /* the TPM that unsealed it, or measured its key */
	bool read_only;	      /* mount read-only: "ro", no "rw", or the partition's flag */
	/* dm-verity (verity.c): the hash partition and the root hash that device must be opened with */
	enum verity_source verity;
	char verity_hash_dev[SPEC_MAX];
	char verity_hash_partuuid[GUID_LEN + 1];
	char verity_sig_dev[SPEC_MAX]; /* the signature partition, for VERITY_SIGNATURE */
	char roothash[VERITY_HEX_MAX + 1];
};
/* what to mount: the unlocked mapping, else the device */
static inline const char *volume_node(const struct volume *v)
{
	return v->mapped[0] ? v->mapped : v->device;
}
static inline bool volume_encrypted(const struct volume *v)
{
	return strcmp(v->probed, "crypto_LUKS") == 0;
}
/* encrypted, or integrity-protected by dm-verity */
static inline bool volume_protected(const struct volume *v)
{
	return volume_encrypted(v) || v->verity != VERITY_NONE;
}

/* the stage timeline: when /init started and when each part of the boot ended */
enum timeline {
	TIMELINE_START,
	TIMELINE_EARLY,
	TIMELINE_MODULES,
	TIMELINE_DISCOVER,
	TIMELINE_UNLOCK,
	TIMELINE_MOUNT,
	TIMELINE_MAX
};

struct kmod_ctx;

struct ctx {
	struct config cfg;
	char **argv; /* ours, passed on to the real init */
	int kmsg_fd;
	int console_fd;
	int uevent_fd;
	struct kmod_ctx *kmod;		  /* NULL: this initramfs carries no modules */
	char moddir[300];		  /* /lib/modules/KVER */
	char *moddep;			  /* its modules.dep, for unpacking NAME.ko.lz4 files; NULL without */
	char profile[64];		  /* the modules-list/ profile the modules came from */
	char boot_partuuid[GUID_LEN + 1]; /* from LoaderDevicePartUUID, lower case; "" when absent */
	struct disk *disks;
	int ndisks;
	struct volume vol[VOLUME_MAX];
	bool volume_key_measured;     /* PCR 15 holds a volume key's measurement from this boot */
	uint64_t marks[TIMELINE_MAX]; /* now_ms() at /init's start and at the end of each stage */
	uint64_t cpu_at_start;	      /* cpu_ms() then: PID 1 was the kernel's init thread before it ran /init */
	unsigned storage_loads;	      /* how many loads of disk drivers succeeded so far */
	unsigned entropy_loads;	      /* and of drivers that only feed the random pool */
	uint64_t newest_disk_ms;      /* now_ms() time the newest disk of the last scan appeared */
	char devkmsg[16];	      /* printk_devkmsg as the kernel had it, while /init lifts its rate limit */
};

/* log.c */
enum { LOG_ERR_ = 3, LOG_WARN_ = 4, LOG_NOTICE_ = 5, LOG_INFO_ = 6, LOG_DEBUG_ = 7 };
void log_open(struct ctx *c);
/* The kernel's rate limit on /dev/kmsg (10 lines in 5 s) lifted while /init runs, and put back before the real init. */
void log_unlimit(struct ctx *c);
void log_restore(const struct ctx *c);
__attribute__((format(printf, 3, 4))) void log_at(const struct ctx *c, int level, const char *fmt, ...);
/* The error convention: log where the decision is made, with %m standing for r's text, and return r
 * (a negative errno): "return log_error_errno(c, r, "cannot open %s: %m", dev);" */
__attribute__((format(printf, 4, 5))) int log_errno(const struct ctx *c, int level, int r, const char *fmt, ...);
__attribute__((format(printf, 2, 3))) void console_printf(const struct ctx *c, const char *fmt, ...);
#define log_error(c, ...)	   log_at(c, LOG_ERR_, __VA_ARGS__)
#define log_warn(c, ...)	   log_at(c, LOG_WARN_, __VA_ARGS__)
#define log_info(c, ...)	   log_at(c, LOG_INFO_, __VA_ARGS__)
#define log_debug(c, ...)	   log_at(c, LOG_DEBUG_, __VA_ARGS__)
#define log_error_errno(c, r, ...) log_errno(c, LOG_ERR_, r, __VA_ARGS__)
#define log_warn_errno(c, r, ...)  log_errno(c, LOG_WARN_, r, __VA_ARGS__)
#define log_info_errno(c, r, ...)  log_errno(c, LOG_INFO_, r, __VA_ARGS__)

/* cmdline.c: pure parser; report() gets one line per malformed option, the default is kept */
typedef void (*cmdline_report_fn)(void *userdata, const char *msg);
void config_defaults(struct config *cfg);
int parse_boolean(const char *value);
/* a cmdline_report_fn for a struct ctx: the kernel log and the console */
void report_bad_option(void *userdata, const char *msg);
void cmdline_parse(struct config *cfg, const char *line, cmdline_report_fn report, void *userdata);

/* dps.c: pure functions over probed disks */
extern const char DPS_ROOT_NATIVE[], DPS_USR_NATIVE[];
/* the verity and signature partition types of this architecture, by volume (enum volume_id) */
extern const char *const DPS_VERITY_NATIVE[], *const DPS_VERITY_SIG_NATIVE[];
#define GPT_FLAG_NO_AUTO   (UINT64_C(1) << 63)
#define GPT_FLAG_READ_ONLY (UINT64_C(1) << 60)
#define GPT_FLAG_GROW_FS   (UINT64_C(1) << 59)
const char *dps_type_name(const char *guid);
struct dps_result dps_select(struct disk *disks, int ndisks, const char *boot_partuuid);
/* The partition of type on d that DPS takes (not no-auto, not "_empty", the newest label), or NULL. */
struct part *dps_pick(struct disk *d, const char *type);
/* The partition with this PARTUUID on any of the disks, or NULL; *disk is its disk. */
struct part *dps_find_partuuid(struct disk *disks, int ndisks, const char *uuid, struct disk **disk);
int probe_disk(const char *path, struct disk *d);
/* For the report: what a disk without a partition table holds (probe_disk leaves that note out). */
void disk_contents_note(struct disk *d, const char *path);
struct fsinfo {
	char type[32], uuid[64], label[256];
};
int probe_fs(const char *node, struct fsinfo *fi);

/* policy.c: systemd's image policy for root and /usr, checked after discovery, before unlock */
enum policy_designator {
	POLICY_ROOT,
	POLICY_USR,
	POLICY_HOME,
	POLICY_SRV,
	POLICY_ESP,
	POLICY_XBOOTLDR,
	POLICY_SWAP,
	POLICY_ROOT_VERITY,
	POLICY_ROOT_VERITY_SIG,
	POLICY_USR_VERITY,
	POLICY_USR_VERITY_SIG,
	POLICY_TMP,
	POLICY_VAR,
	POLICY_DESIGNATORS
};
enum {
	PF_UNPROTECTED = 1 << 0,
	PF_VERITY = 1 << 1,
	PF_SIGNED = 1 << 2,
	PF_ENCRYPTED = 1 << 3,
	PF_UNUSED = 1 << 4,
	PF_ABSENT = 1 << 5,
	PF_USE_MASK = (1 << 6) - 1,
	PF_READ_ONLY_ON = 1 << 6,
	PF_READ_ONLY_OFF = 1 << 7,
	PF_GROWFS_ON = 1 << 8,
	PF_GROWFS_OFF = 1 << 9,
};
struct image_policy {
	bool given;   /* false: the default */
	unsigned set; /* designators with a rule of their own */
	unsigned flags[POLICY_DESIGNATORS];
	unsigned dflt; /* for the others */
};
/* Pure: parses systemd's syntax; -EINVAL with *why set for one line. */
int image_policy_parse(const char *s, struct image_policy *p, const char **why);
/* The flags for d, normalised as systemd does; root_protected (encrypted or verity) matters for the default. */
unsigned image_policy_get(const struct image_policy *p, enum policy_designator d, bool root_protected);
enum policy_verdict { POLICY_OK, POLICY_UNUSED, POLICY_REFUSED };
enum policy_verdict image_policy_check(unsigned flags, const struct volume *v);
/* "encrypted+verity+absent": the use flags and a restricting read-only flag */
int image_policy_text(unsigned flags, char *buf, size_t size);
int stage_policy(struct ctx *c);

/* shutdown.c: /init leaves itself as /run/initramfs/shutdown when it opened a LUKS volume; systemd runs it
 * as PID 1 at power-off (argv[0] "/shutdown", argv[1] the verb) to close what the root needed */
int shutdown_prepare(struct ctx *c);
__attribute__((noreturn)) void shutdown_main(int argc, char **argv);

/* stages, in boot order (main.c); those that return 0 or -errno stop the boot on failure, after logging */
int stage_early(struct ctx *c);
void stage_cmdline(struct ctx *c);
int stage_discover(struct ctx *c);
int stage_mount(struct ctx *c);
int stage_switch(struct ctx *c);
/* emergency.c: the report says what was found and what to do; emergency() never returns */
void emergency_report(struct ctx *c, const char *why, const char *advice);
__attribute__((noreturn)) void emergency(struct ctx *c);

/* unlock.c (the stage, the console), luks-tpm2.c (unlock by systemd-tpm2 token), luks.c (what both use),
 * cmdline.c (rd.luks.options=), measure.c (PCR 11 phases) */
/* the direct device: /init is the TPM's only user in the initrd (tpm2_open falls back to /dev/tpmrm0) */
#define TPM2_DEVICE	    "/dev/tpm0"
/* systemd-stub puts the UKI's .pcrsig here */
#define TPM2_SIGNATURE_PATH "/.extra/tpm2-pcr-signature.json"
int luks_options_parse(const char *s, const char *uuid, struct luks_opts *o, cmdline_report_fn report, void *ud);
const char *luks_tpm2_device(const struct luks_opts *o);
struct crypt_device;
struct tpm2;
/* Activates the volume as name through its volume key, found with passphrase pass for keyslot (or
 * CRYPT_ANY_SLOT), then measures the key into PCR o->measure_pcr as systemd-cryptsetup does; t is the
 * open TPM to measure with, or NULL to open o's. name NULL only checks the passphrase. Returns the
 * keyslot or -errno (-EPERM: wrong passphrase). A failed measurement is an error when required. */
int luks_activate(struct ctx *c, struct crypt_device *cd, const char *name, int keyslot, const char *pass, size_t len,
		  const struct luks_opts *o, struct tpm2 *t, bool required);
int stage_unlock(struct ctx *c);
/* libcryptsetup's errors and warnings into the log (userdata: the struct ctx) */
void cryptsetup_log(int level, const char *msg, void *userdata);
/* Whether keyslot's key derivation (Argon2's memory cost) fits into the memory available now; says why not. */
bool luks_keyslot_fits(struct ctx *c, struct crypt_device *cd, int slot, const char *dev);
/* Logs why a prompt (what: "passphrase", "TPM2 PIN") for dev got no answer (r from ask_secret), and returns r. */
int console_gone(const struct ctx *c, int r, const char *what, const char *dev);
/* 0 if a token unlocked the volume; -ENODEV no TPM, -ENOKEY no token worked, -EOPNOTSUPP unsupported */
int tpm2_unlock(struct ctx *c, struct crypt_device *cd, const char *name, const struct luks_opts *o);
/* tpm2_unlock() and the PCR 11 measurement on an open TPM (the host tests pass a swtpm socket). */
int tpm2_unlock_with(struct ctx *c, struct tpm2 *t, struct crypt_device *cd, const char *name,
		     const struct luks_opts *o, const char *signature_path);
int tpm2_measure_with(struct ctx *c, struct tpm2 *t, const char *word);
#define PCR_PHASE      11 /* the boot phase words */
#define PCR_VOLUME_KEY 15 /* the volume keys, as systemd-cryptsetup's tpm2-measure-pcr=yes */
/* Extends pcr, in the banks systemd would pick, with the digest of data (its HMAC keyed with key when
 * key_len > 0). tpm2_extend opens device: -ENODEV when there is no TPM. Both log their errors. */
int tpm2_extend_with(const struct ctx *c, struct tpm2 *t, unsigned pcr, const char *data, const uint8_t *key,
		     size_t key_len);
int tpm2_extend(const struct ctx *c, const char *device, unsigned pcr, const char *data, const uint8_t *key,
		size_t key_len);
void stage_enter_initrd(struct ctx *c);
/* entropy.c: the kernel's random pool ready before the unlock path needs it */
void stage_entropy(struct ctx *c);
/* whether the kernel's random pool is initialised (getrandom would not block) */
bool random_pool_ready(void);
/* PCR 15 (when no volume key went there) and "leave-initrd" into PCR 11; fails when a TPM-unlocked root
 * could still unseal its key, or PCR 15 would stay at its reset value. */
int stage_leave_initrd(struct ctx *c);
/* Reads one line from the console without echo (for passphrases and TPM2 PINs). Returns its length or -errno;
 * -EMSGSIZE for a line too long for buf, which is dropped whole; -ENODATA at end of file (Ctrl-D at the start
 * of a line, or input that is gone). */
ssize_t ask_secret(const struct ctx *c, const char *prompt, char *buf, size_t size);

/* verity.c: dm-verity volumes from DPS verity and signature partitions, roothash= and usrhash= */
/* One verity signature partition's JSON (the DPS: rootHash, signature, certificateFingerprint). */
#define VERITY_SIG_MAX 8192 /* a PKCS#7 signature with its certificate chain is a few KiB */
struct verity_sig {
	char root_hash[VERITY_HEX_MAX + 1]; /* lower case */
	uint8_t signature[VERITY_SIG_MAX];  /* PKCS#7 DER */
	size_t signature_len;
	char fingerprint[65]; /* SHA-256 of the signing certificate, hex; "" when absent */
};
/* Pure: the partition's bytes (JSON, then NUL padding). -EINVAL with *why set for one line. */
int verity_sig_parse(const char *buf, size_t len, struct verity_sig *s, const char **why);
/* Pure: a root hash (hex, at least 256 bits) to the PARTUUIDs of its data partition (first 128 bits) and
 * hash partition (last 128 bits). -EINVAL when hex is not such a hash. */
int verity_partuuids(const char *hex, char data[GUID_LEN + 1], char hash[GUID_LEN + 1]);
/* The root hash (hex) of the hash tree on the verity hash device dev, computed from its superblock and top
 * hash block. -EOPNOTSUPP for a hash algorithm earlyroot cannot compute, or -errno. */
int verity_root_hash(const char *dev, char hex[VERITY_HEX_MAX + 1]);
/* Where v's root hash came from, for messages: "roothash=", "usrhash=", "from the signature partition" */
const char *verity_hash_origin(const struct volume *v);
/* Reads the signature partition dev into s; logs nothing. */
int verity_sig_read(const char *dev, struct verity_sig *s, const char **why);
/* After unlock: opens each verity volume read-only as /dev/mapper/root or /dev/mapper/usr. */
int stage_verity(struct ctx *c);

/* modules.c: stage_modules opens the archive's modules and loads what the present devices need; later
 * devices come as uevents (modules_uevent), or again by modules_coldplug when uevents were lost */
void stage_modules(struct ctx *c);
void modules_coldplug(struct ctx *c);
int modules_load(struct ctx *c, const char *alias);
void modules_uevent(void *userdata, const char *msg, size_t len);
void modules_report_unclaimed(struct ctx *c);
/* The line of modules.dep text dep for module name ('-' and '_' alike), and its length; NULL if none. */
const char *moddep_find(const char *dep, const char *name, size_t *len);

/* lz4.c: the legacy LZ4 frame (magic, then blocks of a 4-byte size and the data), each block independent */
#define LZ4_LEGACY_BLOCK_MAX (8 << 20) /* what one block decodes to at most */
/* One LZ4 block into dst: the bytes written, or -EINVAL for a malformed block or one that does not fit. */
ssize_t lz4_block_decode(const uint8_t *src, size_t n, uint8_t *dst, size_t cap);
typedef int (*lz4_write_fn)(void *userdata, const uint8_t *buf, size_t len);
/* A whole legacy frame, each block decoded into block[LZ4_LEGACY_BLOCK_MAX] and handed to out. */
int lz4_legacy_decode(const uint8_t *src, size_t n, uint8_t *block, lz4_write_fn out, void *userdata);
/* Makes path from path.lz4 (which is then removed) when path is missing; 0 when path is there. */
int lz4_unpack_file(const char *path);

/* uevent.c */
typedef void (*uevent_fn)(void *userdata, const char *msg, size_t len);
int uevent_open(void);
#define UEVENT_LOST 2
int uevent_wait(int fd, int timeout_ms, uevent_fn fn, void *userdata);

/* mount.c */
bool mount_options(const char *opts, unsigned long *flags, char *data, size_t size);

/* util.c */
/* Reads a file (sysfs, procfs, efivarfs) into buf, at most size bytes: the length, or -errno. */
ssize_t read_file(const char *path, void *buf, size_t size);
/* Reads a small text file into buf as a string, without the trailing newline. */
int read_text(const char *path, char *buf, size_t size);
uint64_t now_ms(void);
/* CPU time (user and system) this process has used, in ms */
uint64_t cpu_ms(void);
/* Notes when part t of the boot ended (TIMELINE_START: when /init began, and its CPU time then). */
void timeline_mark(struct ctx *c, enum timeline t);
/* One info line: each stage's duration up to now (the switch's is until now) and /init's CPU time. */
void timeline_log(const struct ctx *c);
/* s with control bytes, '\\', anything beyond ASCII and the bytes in also as \xNN (systemd's xescape):
 * text read from a disk (a GPT label) cannot steer the terminal, and fields joined by a separator cannot
 * run into each other. Returns buf, which needs 4 bytes for each of s's. */
const char *escape_text(const char *s, const char *also, char *buf, size_t size);
/* s as the inside of a JSON string: the same bytes, and '"', as \u00XX. buf needs 6 bytes for each of s's. */
const char *json_text(const char *s, char *buf, size_t size);
