"""A boot scenario (tests/boot/scenarios/*.scenario) read into plain data.

One keyword a line; '#' starts a comment line.
  disk BUS SIZE         a new disk: nvme, virtio-blk, virtio-scsi, scsi-removable (removable
                        media on the virtio-scsi controller) or usb (a stick on an xHCI controller);
                        SIZE as 64M or 1G
  disk BUS SIZE offline a disk that is made (enrolled, cloned from) but never attached to the VM
  hotplug SECONDS       the last disk (nvme or virtio-blk) is attached that many seconds after QEMU
                        starts, by device_add on the QEMU monitor, in a PCIe root port of its own
  part TYPE SIZE [k=v…] a partition on the last disk, in order; TYPE a DPS name or a GUID;
                        fs=ext4 (default)|btrfs|xfs|none, content=empty (default)|marker (root with
                        /sbin/init = the marker)|noinit (root without init)|badinit (/sbin/init not
                        a program, /bin/init the marker)|usr (a /usr tree)|tpm-check (root whose
                        init reports PCRs 4, 9, 7, 11, 15 and the measurement log, and tries /bin/tpm2_try_unseal, see
                        tpm-check-init.c, then runs the marker)|badinterp (no /sbin/init; /bin/script-init
                        is a script whose #! interpreter /bin/no-such-shell is missing),
                        label= (file system), name= (GPT), attrs=60,63 (GPT attribute bits),
                        id= (names it for the placeholders below), luks=PASSPHRASE (the file
                        system, 16 MiB smaller, inside a LUKS2 volume with that passphrase in key
                        slot 0: argon2id with 64 MiB and 100 ms, cheap for the emulated guest),
                        clone=ID (an attacker's copy of partition id=ID: its type, PARTUUID and header
                        UUID, and for a luks= one a copy of its LUKS header, tokens and all, at
                        /luks-header.img on a content=tpm-check root); fs=vfat with content=esp: an
                        ESP with systemd-boot and the --kernel UKI in EFI/Linux; content=esp-uki: an
                        ESP whose EFI/BOOT/BOOTX64.EFI is the --kernel UKI itself; content=esp-entry:
                        systemd-boot with a type #1 entry for the --kernel image, the --initrd archive
                        (unless --no-initrd) and the options console=ttyS0; verity=hash|signed (a
                        root-x86-64 or usr-x86-64 part without luks=): its file system becomes a dm-verity
                        volume made by systemd-repart 257 (tests/fixtures/verity-disk): the data partition,
                        then its verity hash partition and, for signed, its signature partition signed
                        with a key made for the test that no kernel trusts (trusted: with
                        tests/fixtures/verity-test's key, which the kernel suite's kernel-linked kernel
                        trusts); the part's SIZE is then the file system's, and the PARTUUIDs are the
                        root hash's
  enroll tpm2 [k=v…]    a systemd-tpm2 token on the last (LUKS) partition: pcrs=7 (default; '+'
                        or ',' between several; empty for none), pin=PIN, systemd=252 (default,
                        the host's) or 257, replay-pcr7=yes (default: PCR 7 as SeaBIOS leaves it
                        in the guest)|no (zero: a PCR mismatch at boot), extend-pcr11=WORD[,WORD]
                        (PCR 11 extended with SHA-256 of each word first, e.g. enter-initrd), srk=rsa
                        (an RSA SRK provisioned at 0x81000001 first, which systemd 257 seals under),
                        banks=sha256[,…] (the swtpm allocates only these PCR banks, of sha1, sha256,
                        sha384, sha512, before enrolling; by default it has all four), lockout=yes (with
                        pin=: wrong PINs afterwards until the TPM is in dictionary-attack lockout)
  enroll recovery [systemd=252|257]  a recovery key on the last partition: {recovery} in send
  token KIND            changes the last LUKS partition's tokens after its enrolments: malformed (the last
                        systemd-tpm2 token's tpm2-blob is not base64), bad-keyslot (it names key slot 0,
                        which its secret does not open; LUKS2 refuses a token naming a slot that does
                        not exist), bank=sha384 (it names that PCR bank), unknown-type (a token of type
                        x-earlyroot-test is added)
  keyslot PASS pbkdf-memory=KIB  a key slot with passphrase PASS on the last LUKS partition, its Argon2id
                        memory cost KIB (4 iterations; a secret like luks=)
  table mbr|none        the last disk's partition table: mbr (an MBR; TYPE in its part lines is then
                        the type byte in hex, e.g. 83) or none (no table: the one part line allowed
                        fills the disk from its first byte); GPT by default
  damage WHAT           damages what was made before it: gpt-primary or gpt-both (the last disk's
                        primary GPT header, or both headers, overwritten with zeros), superblock (the
                        last partition's ext4 superblock zeroed), byte (one byte of /lib/earlyroot-test
                        of the last part, content=usr, flipped; for a verity= part after its hash tree
                        was made), random (the last partition filled
                        with pseudo-random bytes), luks-primary or luks-both (the last luks=
                        partition's LUKS2 binary header, or both copies, zeroed)
  tpm swtpm [crb|tis]   the VM gets a TPM2 (tpm-crb by default) on the enrolments' swtpm state
  tpm none              no TPM (default)
  send PROMPT => TEXT   each time PROMPT appears on the console in a prompt (a line ending with a
                        colon), type TEXT and Enter (after 1 s: /init flushes type-ahead when it
                        turns echo off); several lines with the same PROMPT answer its 1st, 2nd…
                        appearance, the last one every later one
                        TEXT {eof} types Ctrl-D alone: the guest's terminal reads end of file
  cmdline WORDS         appended to "console=ttyS0"
  qemu ARGS             extra QEMU arguments
  expect TEXT           the console must show it, after the previous expect
  reject TEXT           the console must never show it ("Kernel panic" always, and the kernel's note
                        that it dropped /init's log lines: "printk: init: " … "suppressed")
  end poweroff|stays    the VM must power off by itself (default), or still run (halt): then it
                        is stopped 2 s after the last expected line
  timeout SECONDS       for the whole boot (default 120)
  initramfs NAME        boot the --initramfs variant NAME instead of --initrd
  kernel generic        boot the runner's --generic-kernel (Debian's generic kernel: the cloud one
                        has no USB) instead of the cloud kernel; pair it with initramfs generic-baremetal
  rng none              no virtio-rng device (by default the VM has one)
  boot esp              the firmware (qemu -bios OVMF) boots the disks: systemd-boot from a content=esp
                        partition starts the --kernel UKI, no -kernel, -initrd or -append
{partuuid:ID}, {fsuuid:ID} and {luksuuid:ID} (the LUKS header's) in cmdline, expect, reject and
send stand for the UUIDs of partition id=ID; for a verity= partition {roothash:ID} is its root hash,
{partuuid:ID} and {hashuuid:ID} the PARTUUIDs of its data and hash partitions (known once made); {recovery} in send for the last enrolled recovery key;
{pcr15:ID} in expect for PCR 15 (SHA-256) after /init opened the LUKS partition id=ID as "root",
computed here from its volume key as systemd-cryptsetup measures it, and {pcr15:none} for PCR 15 when
no volume key was measured (docs/tpm2.md).
Secrets never appear on the console: every luks= passphrase, PIN, recovery key, TPM2 token secret
(the base64 passphrase the token unseals to, learnt at enrolment) and typed TEXT is rejected too.
"""

import dataclasses
import os
import re
import uuid


class Failure(Exception):
    """A reason the test fails: printed as "boot: FAIL: <reason>"."""


# DPS names (docs/architecture.md, DPS partition types; and the specification) for partition types.
GPT_TYPES = {
    "root-x86-64": "4f68bce3-e8cd-4db1-96e7-fbcaf984b709",
    "usr-x86-64": "8484680c-9521-48c6-9c11-b0720656f69e",
    "root-x86": "44479540-f297-41b2-9af7-d131d5f0458a",
    "usr-x86": "75250d76-8cc6-458e-bd66-bd47cc81a812",
    "root-arm64": "b921b045-1df0-41c3-af44-4c6f280d3fae",
    "usr-arm64": "b0e01050-ee5f-4390-949a-9101b17104e9",
    "esp": "c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
    "xbootldr": "bc13c2ff-59e6-4262-a352-b275fd6f7172",
    "swap": "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f",
    "home": "933ac7e1-2eb4-4f13-b844-0e14e2aef915",
    "srv": "3b8f8425-20e0-4f3b-907f-1a25a76f98e8",
    "var": "4d21b016-b534-45c2-a9fb-5c16e091fd2d",
    "tmp": "7ec6f557-3bc5-4aca-b293-16ef5df639d1",
    "linux-generic": "0fc63daf-8483-4772-8e79-3d69d8477de4",
}
GUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
BUSES = ("nvme", "virtio-blk", "virtio-scsi", "scsi-removable", "usb")
FILE_SYSTEMS = ("ext4", "btrfs", "xfs", "vfat", "none")
CONTENTS = ("marker", "noinit", "badinit", "badinterp", "usr", "tpm-check", "esp", "esp-uki", "esp-entry", "empty")
TABLES = ("gpt", "mbr", "none")
HOTPLUG_BUSES = ("nvme", "virtio-blk")  # PCIe devices: device_add into a root port
DISK_DAMAGE = ("gpt-primary", "gpt-both")
PART_DAMAGE = ("superblock", "random", "luks-primary", "luks-both", "byte")
VERITY = ("hash", "signed", "trusted")
TOKEN_KINDS = ("malformed", "bad-keyslot", "unknown-type", "bank=sha1", "bank=sha384", "bank=sha512")
EOF_TEXT = "{eof}"  # send: Ctrl-D alone
LUKS_HEADER_MIB = 16  # room for the LUKS2 header at the end of the volume
LUKS_MIN_MIB = 48  # header room plus a file system worth booting
TPMS = ("none", "swtpm", "swtpm crb", "swtpm tis")
PLACEHOLDERS = ("partuuid", "fsuuid", "luksuuid")
VERITY_PLACEHOLDERS = ("roothash", "partuuid", "hashuuid")  # of verity= parts, once made


@dataclasses.dataclass
class Disk:
    bus: str
    mib: int
    offline: bool = False  # built (for its enrolment, or to be cloned) but never attached
    table: str = "gpt"  # or mbr, none
    damage: list = dataclasses.field(default_factory=list)  # DISK_DAMAGE words, in order
    hotplug: int = 0  # seconds after QEMU starts at which the disk is added; 0: attached from the start


@dataclasses.dataclass
class Part:
    disk: int
    type: str
    mib: int
    fs: str = "ext4"
    content: str = "empty"
    label: str = ""
    name: str = ""
    id: str = ""
    attrs: str = ""
    luks: str = ""
    verity: str = ""  # VERITY: made by systemd-repart with its hash (and signature) partition
    partuuid: str = dataclasses.field(default_factory=lambda: str(uuid.uuid4()))
    fsuuid: str = dataclasses.field(default_factory=lambda: str(uuid.uuid4()))
    luksuuid: str = dataclasses.field(default_factory=lambda: str(uuid.uuid4()))
    clone: str = ""  # the id of the partition this one copies (clone_of)
    damage: list = dataclasses.field(default_factory=list)  # PART_DAMAGE words, in order
    tokens: list = dataclasses.field(default_factory=list)  # TOKEN_KINDS, after the enrolments
    keyslots: list = dataclasses.field(default_factory=list)  # (passphrase, Argon2 memory KiB)


@dataclasses.dataclass
class Enrolment:
    part: int
    kind: str  # tpm2 or recovery
    options: list  # for tests/fixtures/luks-enroll; a PIN shows as pin=yes
    pin: str = ""


@dataclasses.dataclass
class Send:
    prompt: str
    text: str


@dataclasses.dataclass
class Scenario:
    path: str
    disks: list = dataclasses.field(default_factory=list)
    parts: list = dataclasses.field(default_factory=list)
    enrolments: list = dataclasses.field(default_factory=list)
    sends: list = dataclasses.field(default_factory=list)
    cmdline: str = ""
    qemu: list = dataclasses.field(default_factory=list)
    expects: list = dataclasses.field(default_factory=list)
    rejects: list = dataclasses.field(
        default_factory=lambda: ["Kernel panic", "output lines suppressed due to ratelimiting"]
    )
    end: str = "poweroff"
    timeout: int = 120
    tpm: str = "none"
    boot: str = "kernel"  # or "esp": the firmware boots the disks
    kernel: str = "cloud"  # or "generic": Debian's generic kernel (USB)
    rng: bool = True  # the VM gets a virtio-rng device
    initramfs: str = ""  # an --initramfs variant's name, or the default archive

    @property
    def name(self):
        base = os.path.basename(self.path)
        return base.removesuffix(".scenario") or base


@dataclasses.dataclass
class Given:
    """What the runner's command line offers a scenario."""

    variants: list  # the --initramfs names
    tpm_check: bool  # whether --tpm-check-init was given


class LineError(Exception):
    """A malformed line; the parser adds file:line."""


def split_words(s):
    return [w for w in re.split(r"[ \t\n]+", s) if w]


def mib(size):
    """"64M" or "1G" -> MiB."""
    m = re.fullmatch(r"([0-9]+)([MG])", size)
    if not m:
        raise LineError(f"size {size}: expected <n>M or <n>G")
    return int(m.group(1)) * (1024 if m.group(2) == "G" else 1)


def parse_disk(sc, rest, given):
    words = split_words(rest)
    bus = words[0] if words else ""
    if bus not in BUSES:
        raise LineError(f"bus {bus}: expected {', '.join(BUSES)}")
    if len(words) not in (2, 3) or (len(words) == 3 and words[2] != "offline"):
        raise LineError("expected disk BUS SIZE [offline]")
    sc.disks.append(Disk(bus, mib(words[1]), offline=len(words) == 3))


PART_OPTIONS = ("fs", "content", "label", "name", "id", "attrs", "luks", "clone", "verity")


def part_options(part, words):
    for kv in words:
        key, eq, value = kv.partition("=")
        if not eq or key not in PART_OPTIONS or (key == "luks" and not value):
            raise LineError(f"unknown part option {kv}")
        setattr(part, key, value)


def check_part(part, size, given):
    if part.fs not in FILE_SYSTEMS:
        raise LineError(f"fs={part.fs}: expected {', '.join(FILE_SYSTEMS[:-1])} or none")
    if (part.content.startswith("esp")) != (part.fs == "vfat") and part.content != "empty":
        raise LineError("content=esp, esp-uki and esp-entry go with fs=vfat, and fs=vfat holds only those or empty")
    if part.content not in CONTENTS:
        raise LineError(f"content={part.content}: expected one of {', '.join(CONTENTS)}")
    if part.content == "tpm-check" and not given.tpm_check:
        raise LineError("content=tpm-check needs --tpm-check-init FILE")
    if part.fs == "none" and part.content != "empty":
        raise LineError(f"content={part.content} needs a file system")
    if part.fs == "none" and part.luks:
        raise LineError("luks= needs a file system")
    if part.luks and mib(size) < LUKS_MIN_MIB:
        raise LineError(f"a luks= partition needs {LUKS_MIN_MIB}M or more")
    if not re.fullmatch(r"([0-9]+(,[0-9]+)*)?", part.attrs):
        raise LineError(f"attrs={part.attrs}: expected bit numbers, e.g. 60,63")
    if part.verity and (part.verity not in VERITY or part.luks or part.fs != "ext4" or part.name or part.attrs):
        raise LineError(f"verity={part.verity}: expected hash, signed or trusted, on an ext4 part without luks=, name=, attrs=")


def part_type(name):
    if name in GPT_TYPES:
        return GPT_TYPES[name]
    if GUID.fullmatch(name):
        return name
    raise LineError(f"type {name}: expected a DPS name ({' '.join(GPT_TYPES)}) or a GUID")


def mbr_type(name):
    if not re.fullmatch(r"[0-9a-fA-F]{1,2}", name):
        raise LineError(f"type {name}: an MBR partition's type is a byte in hex, e.g. 83")
    return name


def parse_part(sc, rest, given):
    if not sc.disks:
        raise LineError("part before any disk")
    words = split_words(rest)
    if len(words) < 2:
        raise LineError("part TYPE SIZE [key=value…]")
    table = sc.disks[-1].table
    if table == "none" and any(p.disk == len(sc.disks) - 1 for p in sc.parts):
        raise LineError("a disk without a partition table holds one part at most")
    part = Part(disk=len(sc.disks) - 1, type=mbr_type(words[0]) if table == "mbr" else part_type(words[0]), mib=0)
    part_options(part, words[2:])
    check_part(part, words[1], given)
    part.mib = mib(words[1])
    if part.verity and part.type not in (GPT_TYPES["root-x86-64"], GPT_TYPES["usr-x86-64"]):
        raise LineError("verity= goes with a root-x86-64 or usr-x86-64 part")
    if part.clone:
        clone_of(sc, part)
    sc.parts.append(part)


def clone_of(sc, part):
    """An attacker's copy of partition clone=ID: its type, PARTUUID and the UUID its header shows (the file
    system's, or the LUKS header's); its root carries a copy of that partition's LUKS header."""
    orig = next((p for p in sc.parts if p.id and p.id == part.clone), None)
    if not orig:
        raise LineError(f"clone={part.clone}: no partition with that id before it")
    part.type, part.partuuid, part.luksuuid = orig.type, orig.partuuid, orig.luksuuid
    part.fsuuid = orig.luksuuid if orig.luks else orig.fsuuid


def enroll_option(kind, kv):
    """The option as luks-enroll takes it, and the PIN if it is one."""
    if kv in ("systemd=252", "systemd=257"):
        return kv, ""
    if kind == "tpm2" and (kv.startswith(("pcrs=", "extend-pcr11=", "banks=")) or kv in ("replay-pcr7=yes", "replay-pcr7=no", "srk=rsa", "lockout=yes")):
        return kv, ""
    if kind == "tpm2" and kv.startswith("pin=") and kv != "pin=":
        return "pin=yes", kv[len("pin=") :]
    raise LineError(f"unknown enroll {kind} option {kv}")


def parse_enroll(sc, rest, given):
    words = split_words(rest)
    if not sc.parts or not sc.parts[-1].luks:
        raise LineError("enroll needs a part with luks= before it")
    kind = words[0] if words else ""
    if kind not in ("tpm2", "recovery"):
        raise LineError("expected enroll tpm2|recovery [key=value…]")
    enrolment = Enrolment(part=len(sc.parts) - 1, kind=kind, options=[])
    for kv in words[1:]:
        option, pin = enroll_option(kind, kv)
        enrolment.options.append(option)
        enrolment.pin = pin or enrolment.pin
    sc.enrolments.append(enrolment)


def parse_table(sc, rest, given):
    if not sc.disks or any(p.disk == len(sc.disks) - 1 for p in sc.parts):
        raise LineError("table goes right after its disk line")
    if rest not in TABLES:
        raise LineError(f"table {rest}: expected {', '.join(TABLES)}")
    sc.disks[-1].table = rest


def parse_damage(sc, rest, given):
    if rest in DISK_DAMAGE:
        if not sc.disks or sc.disks[-1].table != "gpt":
            raise LineError(f"damage {rest} needs a disk with a GPT before it")
        sc.disks[-1].damage.append(rest)
        return
    if rest not in PART_DAMAGE:
        raise LineError(f"damage {rest}: expected {', '.join(DISK_DAMAGE + PART_DAMAGE)}")
    part = sc.parts[-1] if sc.parts else None
    if not part or (rest.startswith("luks-") and not part.luks):
        raise LineError(f"damage {rest} needs a {'luks= ' if rest.startswith('luks-') else ''}part before it")
    if rest == "superblock" and (part.fs != "ext4" or part.luks):
        raise LineError("damage superblock needs an ext4 part without luks=")
    if rest == "byte" and (part.fs != "ext4" or part.luks or part.content != "usr"):
        raise LineError("damage byte needs an ext4 part with content=usr, without luks=")
    part.damage.append(rest)


def parse_token(sc, rest, given):
    if rest not in TOKEN_KINDS:
        raise LineError(f"token {rest}: expected {', '.join(TOKEN_KINDS)}")
    if not sc.parts or not sc.parts[-1].luks:
        raise LineError("token needs a part with luks= before it")
    index = len(sc.parts) - 1
    if rest != "unknown-type" and not any(e.part == index and e.kind == "tpm2" for e in sc.enrolments):
        raise LineError(f"token {rest} changes a TPM2 token: it needs an enroll tpm2 line before it")
    sc.parts[-1].tokens.append(rest)


def parse_keyslot(sc, rest, given):
    words = split_words(rest)
    m = re.fullmatch(r"pbkdf-memory=([1-9][0-9]*)", words[1]) if len(words) == 2 else None
    if not m:
        raise LineError("expected keyslot PASSPHRASE pbkdf-memory=KIB")
    if not sc.parts or not sc.parts[-1].luks:
        raise LineError("keyslot needs a part with luks= before it")
    sc.parts[-1].keyslots.append((words[0], int(m.group(1))))


def parse_hotplug(sc, rest, given):
    if not re.fullmatch(r"[1-9][0-9]*", rest):
        raise LineError(f"hotplug {rest}: expected seconds")
    if not sc.disks or sc.disks[-1].bus not in HOTPLUG_BUSES or sc.disks[-1].offline:
        raise LineError(f"hotplug needs an attached {' or '.join(HOTPLUG_BUSES)} disk before it")
    sc.disks[-1].hotplug = int(rest)


def parse_tpm(sc, rest, given):
    if rest not in TPMS:
        raise LineError(f"tpm {rest}: expected swtpm [crb|tis] or none")
    sc.tpm = rest


def parse_send(sc, rest, given):
    if " =>" not in rest:
        raise LineError("expected send PROMPT => TEXT")
    prompt, _, text = rest.partition(" =>")
    if not prompt:
        raise LineError("send with an empty prompt")
    sc.sends.append(Send(prompt, text[1:] if text.startswith(" ") else text))


def parse_end(sc, rest, given):
    if rest not in ("poweroff", "stays"):
        raise LineError(f"end {rest}: expected poweroff or stays")
    sc.end = rest


def parse_timeout(sc, rest, given):
    if not re.fullmatch(r"[1-9][0-9]*", rest):
        raise LineError(f"timeout {rest}: expected seconds")
    sc.timeout = int(rest)


def parse_initramfs(sc, rest, given):
    if rest not in given.variants:
        raise LineError(f"no --initramfs {rest}=FILE given (variants: {' '.join(given.variants)})")
    sc.initramfs = rest


def parse_rng(sc, rest, given):
    if rest != "none":
        raise LineError("expected rng none")
    sc.rng = False


def parse_kernel(sc, rest, given):
    if rest != "generic":
        raise LineError("expected kernel generic")
    sc.kernel = rest


def parse_boot(sc, rest, given):
    if rest != "esp":
        raise LineError("expected boot esp")
    sc.boot = rest


KEYWORDS = {
    "disk": parse_disk,
    "part": parse_part,
    "enroll": parse_enroll,
    "tpm": parse_tpm,
    "table": parse_table,
    "hotplug": parse_hotplug,
    "damage": parse_damage,
    "token": parse_token,
    "keyslot": parse_keyslot,
    "send": parse_send,
    "cmdline": lambda sc, rest, given: setattr(sc, "cmdline", sc.cmdline + " " + rest),
    "qemu": lambda sc, rest, given: sc.qemu.extend(split_words(rest)),
    "expect": lambda sc, rest, given: sc.expects.append(rest),
    "reject": lambda sc, rest, given: sc.rejects.append(rest),
    "end": parse_end,
    "timeout": parse_timeout,
    "initramfs": parse_initramfs,
    "boot": parse_boot,
    "kernel": parse_kernel,
    "rng": parse_rng,
}


def lines(text):
    """(line number, line) for each line, as the shell's read would see them."""
    rows = text.split("\n")
    if rows[-1] == "":
        rows.pop()
    return enumerate(rows, start=1)


def parse_line(sc, line, given):
    key = re.split(r"\s", line, maxsplit=1)[0]
    rest = line[len(key) :].lstrip()
    if key not in KEYWORDS:
        raise LineError(f"unknown keyword {key}")
    KEYWORDS[key](sc, rest, given)


def parse(path, text, variants=(), tpm_check=False):
    """The scenario in text; variants are the --initramfs names, tpm_check whether
    --tpm-check-init was given. Raises Failure("PATH:LINE: …") on a malformed line."""
    sc = Scenario(path)
    given = Given(list(variants), tpm_check)
    for number, line in lines(text):
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        try:
            parse_line(sc, line, given)
        except LineError as e:
            raise Failure(f"{path}:{number}: {e}") from None
    if not sc.disks:
        raise Failure(f"{path}: no disk")
    if not sc.expects:
        raise Failure(f"{path}: nothing to expect")
    sc.cmdline = sc.cmdline[1:] if sc.cmdline.startswith(" ") else sc.cmdline
    resolve(sc)
    return sc


def load(path, variants=(), tpm_check=False):
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        return parse(path, f.read(), variants, tpm_check)


def substitute(sc, s):
    """{partuuid:ID}, {fsuuid:ID}, {luksuuid:ID} -> the UUIDs of partition id=ID; a verity= partition's
    VERITY_PLACEHOLDERS stay for the fixtures to fill in."""
    out = s
    for part in sc.parts:
        if part.id:
            for kind in PLACEHOLDERS:
                if not (part.verity and kind in VERITY_PLACEHOLDERS):
                    out = out.replace(f"{{{kind}:{part.id}}}", getattr(part, kind))
    verity_ids = {p.id for p in sc.parts if p.id and p.verity}
    for kind, id in re.findall(r"\{(" + "|".join(set(PLACEHOLDERS + VERITY_PLACEHOLDERS)) + r"):([^}]*)\}", out):
        if id not in verity_ids or kind not in VERITY_PLACEHOLDERS:
            raise Failure(f"{sc.path}: unknown id in: {s}")
    return out


def resolve(sc):
    """Placeholders replaced, except {recovery}: the key exists once the fixtures are made."""
    sc.cmdline = substitute(sc, sc.cmdline)
    sc.expects = [substitute(sc, e) for e in sc.expects]
    sc.rejects = [substitute(sc, r) for r in sc.rejects]
    for send in sc.sends:
        send.prompt = substitute(sc, send.prompt)
        send.text = substitute(sc, send.text)
        if "{recovery}" in send.text and not any(e.kind == "recovery" for e in sc.enrolments):
            raise Failure(f"{sc.path}: {{recovery}} in send, but no enroll recovery line")


def secrets(sc):
    """(secret, what it is) the scenario itself knows: passphrases and PINs."""
    found = [(p.luks, f"the luks= passphrase of partition {i + 1}") for i, p in enumerate(sc.parts)]
    found += [(e.pin, f"the PIN of enrolment {j + 1}") for j, e in enumerate(sc.enrolments)]
    found += [(k[0], f"a keyslot passphrase of partition {i + 1}") for i, p in enumerate(sc.parts) for k in p.keyslots]
    return [(s, what) for s, what in found if s]
