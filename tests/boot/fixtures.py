"""The disks of a scenario as plain image files, and the minimal initramfs of --init.

File system images are made by mkfs from a directory, the GPT by sfdisk, the images copied to the
partition offsets with dd. LUKS2 volumes are encrypted offline (cryptsetup reencrypt on the image
file: the test host has no device-mapper); TPM2 tokens and recovery keys are enrolled by the real
systemd-cryptenroll (252, or 257 from a cached Debian 13 tree) through tests/fixtures/luks-enroll,
which attaches the partition image to a loop device and runs a swtpm whose state (TPM_STATE under
the work directory) the boot's TPM then uses. A verity= partition's file system image becomes a data,
hash and (signed) signature partition through systemd-repart 257 (tests/fixtures/verity-disk), whose
PARTUUIDs and bytes are then placed on the scenario's disk as the next partitions.
"""

import hashlib
import hmac
import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys

from scenario import GPT_TYPES, LUKS_HEADER_MIB, Failure

LUKS_ENROLL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "luks-enroll")
VERITY_DISK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "verity-disk")
VERITY_TEST_KEY = [os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "verity-test", name)
                   for name in ("key.pem", "cert.pem")]  # fmt: skip
MAKE_UKI = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "archive", "make-uki")
TPM_STATE = "tpm"  # the swtpm state directory, shared by the enrolments and the boot
CHILD_GRACE_S = 10  # how long a tool stopped by a signal gets to clean up (luks-enroll's loop device)


def run_tool(argv, input=None, **kwargs):
    """subprocess.run, but a child interrupted by our own signal gets SIGTERM and time to clean up."""
    if input is not None:
        kwargs["stdin"] = subprocess.PIPE
    with subprocess.Popen(argv, **kwargs) as proc:
        try:
            out, err = proc.communicate(input)
        except BaseException:
            stop(proc, signal.SIGTERM, CHILD_GRACE_S)
            raise
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def stop(proc, sig=signal.SIGKILL, grace=None):
    """Ends a child and reaps it; SIGKILL if it outlives grace seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def need(tool, package):
    if not shutil.which(tool):
        raise Failure(f"{tool} not found (tools/setup-host installs {package})")


def sized_file(path, mib):
    with open(path, "ab") as f:
        f.truncate(mib << 20)


def install(src, dst):
    shutil.copyfile(src, dst)
    os.chmod(dst, 0o755)


def write(path, text, mode=None):
    with open(path, "w") as f:
        f.write(text)
    if mode is not None:
        os.chmod(path, mode)


def dirs(root, *names):
    for name in names:
        os.makedirs(os.path.join(root, name), exist_ok=True)


ROOT_DIRS = ("dev", "proc", "sys", "run", "usr", "sbin", "bin", "etc")


def tree_marker(d, inputs):
    dirs(d, *ROOT_DIRS)
    install(inputs.marker, f"{d}/sbin/init")
    install(inputs.marker, f"{d}/bin/earlyroot-marker")  # for init=
    write(f"{d}/etc/earlyroot-test", "earlyroot boot test root\n")


def tree_badinit(d, inputs):
    """/sbin/init cannot run (not a program); /bin/init is the marker."""
    dirs(d, *ROOT_DIRS)
    write(f"{d}/sbin/init", "not a program\n", 0o755)
    install(inputs.marker, f"{d}/bin/init")


def tree_noinit(d, inputs):
    """A root file system that is not bootable."""
    dirs(d, "dev", "proc", "sys", "run", "usr", "etc")
    write(f"{d}/etc/earlyroot-test", "earlyroot boot test root without init\n")


def tree_badinterp(d, inputs):
    """No /sbin/init; /bin/script-init is a script whose interpreter is missing (init= names it)."""
    dirs(d, *ROOT_DIRS)
    write(f"{d}/bin/script-init", "#!/bin/no-such-shell\necho never\n", 0o755)


def tree_usr(d, inputs):
    dirs(d, "bin", "lib")
    write(f"{d}/lib/earlyroot-test", "earlyroot boot test /usr\n")


def tree_tpm_check(d, inputs):
    dirs(d, *ROOT_DIRS)
    install(inputs.tpm_check_init, f"{d}/sbin/init")
    install(inputs.marker, f"{d}/bin/earlyroot-marker")
    if inputs.try_unseal:
        install(inputs.try_unseal, f"{d}/bin/tpm2_try_unseal")
    write(f"{d}/etc/earlyroot-test", "earlyroot boot test root with a TPM check\n")
    # a machine of its own: every such root gets another machine ID (the fleet test's machines differ in
    # it as in their disks' UUIDs, and still end with the same PCRs)
    write(f"{d}/etc/machine-id", os.urandom(16).hex() + "\n")


SYSTEMD_BOOT = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"


def tree_esp(d, inputs):
    """systemd-boot as the removable-media loader, and the UKI it finds by itself (a type #2 entry)."""
    if not os.access(SYSTEMD_BOOT, os.R_OK):
        raise Failure(f"{SYSTEMD_BOOT} not found (tools/setup-host installs systemd-boot-efi)")
    with open(inputs.kernel, "rb") as f:
        if f.read(2) != b"MZ":
            raise Failure(f"content=esp needs a UKI as --kernel, and {inputs.kernel} is no PE image")
    dirs(d, "EFI/BOOT", "EFI/Linux", "loader")
    install(SYSTEMD_BOOT, f"{d}/EFI/BOOT/BOOTX64.EFI")
    install(inputs.kernel, f"{d}/EFI/Linux/earlyroot.efi")
    write(f"{d}/loader/loader.conf", "timeout 0\n")


def tree_esp_uki(d, inputs):
    """The UKI itself as the removable-media loader: the firmware starts it with no boot menu."""
    with open(inputs.kernel, "rb") as f:
        if f.read(2) != b"MZ":
            raise Failure(f"content=esp-uki needs a UKI as --kernel, and {inputs.kernel} is no PE image")
    dirs(d, "EFI/BOOT")
    install(inputs.kernel, f"{d}/EFI/BOOT/BOOTX64.EFI")


# tests/kernel/boot predicts PCR 9 from this exact text and the initrd path below (systemd-boot hands the kernel
# "initrd=\EFI\earlyroot\initrd console=ttyS0")
ENTRY_OPTIONS = "console=ttyS0"


def tree_esp_entry(d, inputs):
    """systemd-boot and a type #1 boot entry: the --kernel image, the --initrd archive when there is one,
    and the options ENTRY_OPTIONS (systemd-boot hands them to the kernel as its LoadOptions)."""
    if not os.access(SYSTEMD_BOOT, os.R_OK):
        raise Failure(f"{SYSTEMD_BOOT} not found (tools/setup-host installs systemd-boot-efi)")
    dirs(d, "EFI/BOOT", "EFI/earlyroot", "loader/entries")
    install(SYSTEMD_BOOT, f"{d}/EFI/BOOT/BOOTX64.EFI")
    install(inputs.kernel, f"{d}/EFI/earlyroot/linux")
    entry = "title earlyroot\nlinux /EFI/earlyroot/linux\n"
    if inputs.initrd and not inputs.no_initrd:
        install(inputs.initrd, f"{d}/EFI/earlyroot/initrd")
        entry += "initrd /EFI/earlyroot/initrd\n"
    write(f"{d}/loader/entries/earlyroot.conf", entry + f"options {ENTRY_OPTIONS}\n")
    write(f"{d}/loader/loader.conf", "timeout 0\n")


TREES = {
    "marker": tree_marker,
    "badinit": tree_badinit,
    "badinterp": tree_badinterp,
    "noinit": tree_noinit,
    "usr": tree_usr,
    "tpm-check": tree_tpm_check,
    "esp": tree_esp,
    "esp-uki": tree_esp_uki,
    "esp-entry": tree_esp_entry,
    "empty": lambda d, inputs: None,
}


def xfs_proto(d):
    """Prototype file lines for the contents of d: mkfs.xfs 6.1 cannot copy a directory."""
    out = []
    for name in sorted(n for n in os.listdir(d) if not n.startswith(".")):
        path = os.path.join(d, name)
        mode = format(os.stat(path).st_mode & 0o7777, "o")
        if os.path.isdir(path):
            out += [f"{name} d--{mode} 0 0", *xfs_proto(path), "$"]
        else:
            out.append(f"{name} ---{mode} 0 0 {path}")
    return out


def label_args(part):
    return ["-L", part.label] if part.label else []


def mkfs_ext4(part, d, img, work):
    # a dm-verity device has the verity data block size (4 KiB) as its sector size: a smaller ext4 block
    # would not mount on it
    blocks = ["-b", "4096"] if part.verity else []
    return ["mkfs.ext4", "-q", "-F", "-d", d, "-U", part.fsuuid, *blocks, *label_args(part), img]


def mkfs_btrfs(part, d, img, work):
    need("mkfs.btrfs", "btrfs-progs")
    return ["mkfs.btrfs", "-q", "-f", "--rootdir", d, "-U", part.fsuuid, *label_args(part), img]


def mkfs_xfs(part, d, img, work):
    need("mkfs.xfs", "xfsprogs")
    proto = os.path.join(work, "proto")
    write(proto, "\n".join(["/dummy", "0 0", "d--755 0 0", *xfs_proto(d), "$"]) + "\n")
    return ["mkfs.xfs", "-q", "-f", "-p", proto, "-m", f"uuid={part.fsuuid}", *label_args(part), img]


def mkfs_vfat(part, d, img, work):
    """mkfs.vfat, then the tree copied in with mtools (no mount here)."""
    need("mcopy", "mtools")
    argv = ["mkfs.vfat", "-n", (part.label or "ESP")[:11], img]
    if run_tool(argv, stdout=subprocess.DEVNULL).returncode != 0:
        raise Failure("mkfs.vfat failed")
    entries = [os.path.join(d, e) for e in sorted(os.listdir(d))]
    return ["mcopy", "-s", "-i", img, *entries, "::"] if entries else ["true"]


MKFS = {"ext4": mkfs_ext4, "btrfs": mkfs_btrfs, "xfs": mkfs_xfs, "vfat": mkfs_vfat}


def pcr15_value(event, key=None):
    """PCR 15 (SHA-256) after one extend from zero: with the event's HMAC keyed with the volume key, as
    systemd-cryptsetup's tpm2-measure-pcr=yes does, or its plain digest."""
    digest = hmac.new(key, event, hashlib.sha256).digest() if key else hashlib.sha256(event).digest()
    return hashlib.sha256(bytes(32) + digest).hexdigest()


def volume_key(part, img):
    """The LUKS2 volume key of img, as cryptsetup dumps it with the passphrase."""
    argv = ["cryptsetup", "luksDump", "--dump-volume-key", "--batch-mode", "--key-file=-", img]
    r = run_tool(argv, input=part.luks.encode(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    text = r.stdout.decode(errors="replace")
    m = re.search(r"(?:MK|Volume key) dump:\s*((?:[0-9a-f]{2}\s+)+)", text)
    if r.returncode != 0 or not m:
        raise Failure("cryptsetup luksDump --dump-volume-key failed")
    return bytes.fromhex("".join(m.group(1).split()))


def overwrite(img, offset, data):
    with open(img, "r+b") as f:
        f.seek(offset)
        f.write(data)


def file_offset(img, path):
    """Where the first byte of path's data is in the ext4 image img (debugfs: its first block)."""
    r = run_tool(["debugfs", "-R", f"bmap {path} 0", img], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    h = run_tool(["dumpe2fs", "-h", img], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    m = re.search(rb"Block size:\s*([0-9]+)", h.stdout)
    if r.returncode != 0 or not r.stdout.strip().isdigit() or not m:
        raise Failure(f"debugfs found no data block of {path}")
    return int(r.stdout) * int(m.group(1))


def damage_part(kind, img, seed):
    """Damages a partition's image in place (scenario.py, damage)."""
    if kind == "byte":  # one byte of the /usr test file's data, as a disk's bit rot or an attacker would
        offset = file_offset(img, "/lib/earlyroot-test")
        with open(img, "rb") as f:
            f.seek(offset)
            old = f.read(1)
        overwrite(img, offset, bytes([old[0] ^ 0x20]))
    elif kind == "superblock":  # ext4's primary superblock: 1 KiB at 1 KiB
        overwrite(img, 1024, bytes(1024))
    elif kind == "random":
        rng = random.Random(seed)
        size = os.path.getsize(img)
        overwrite(img, 0, rng.randbytes(size))
    else:  # LUKS2: the binary header (4 KiB) at 0, its copy at hdr_size (big-endian u64 at byte 8)
        with open(img, "rb") as f:
            head = f.read(16)
        if head[:6] != b"LUKS\xba\xbe":
            raise Failure("damage luks-…: no LUKS2 header to damage")
        overwrite(img, 0, bytes(4096))
        if kind == "luks-both":
            overwrite(img, int.from_bytes(head[8:16], "big"), bytes(4096))


def damage_disk(kind, img):
    """Zeros the primary GPT header (LBA 1), and for gpt-both the backup (the last LBA) too."""
    overwrite(img, 512, bytes(512))
    if kind == "gpt-both":
        overwrite(img, os.path.getsize(img) - 512, bytes(512))


def luks_metadata(img):
    r = run_tool(["cryptsetup", "luksDump", "--dump-json-metadata", img], stdout=subprocess.PIPE)
    if r.returncode != 0:
        raise Failure(f"cryptsetup luksDump --dump-json-metadata {img} failed")
    return json.loads(r.stdout)


def edit_token(kind, img):
    """The last systemd-tpm2 token changed (scenario.py, token), or a token of an unknown type added; without
    the host's token plugins, which would refuse a malformed systemd-tpm2 token."""
    if kind == "unknown-type":
        token, tid = {"type": "x-earlyroot-test", "keyslots": []}, None
    else:
        tokens = {int(k): v for k, v in luks_metadata(img)["tokens"].items() if v["type"] == "systemd-tpm2"}
        if not tokens:
            raise Failure(f"token {kind}: no systemd-tpm2 token to change")
        tid = max(tokens)
        token = tokens[tid]
        if kind == "malformed":
            token["tpm2-blob"] = "this is not base64!"
        elif kind == "bad-keyslot":
            token["keyslots"] = ["0"]
        else:
            token["tpm2-pcr-bank"] = kind.removeprefix("bank=")
        if run_tool(["cryptsetup", "token", "remove", "--disable-external-tokens", "--token-id", str(tid), img]).returncode != 0:
            raise Failure(f"cryptsetup token remove {tid} failed")
    argv = ["cryptsetup", "token", "import", "--disable-external-tokens", img] + (["--token-id", str(tid)] if tid is not None else [])
    if run_tool(argv, input=json.dumps(token).encode()).returncode != 0:
        raise Failure(f"cryptsetup token import ({kind}) failed")


class Fixtures:
    """Builds the scenario's disks in work (an absolute directory, removed by the caller)."""

    def __init__(self, sc, inputs, work):
        self.sc, self.inputs, self.work = sc, inputs, work
        self.secrets = []  # (secret, what it is) learnt at enrolment
        self.recovery = ""  # the last enrolled recovery key
        self.images = []  # one raw image per disk
        self.pcr15 = {"none": pcr15_value(b"earlyroot:no-volume-key")}  # {pcr15:ID} -> hex
        self.verity = {}  # "{roothash:ID}", "{partuuid:ID}", "{hashuuid:ID}" of verity= partitions -> text

    def tree(self, content, clone=""):
        d = os.path.join(self.work, f"tree-{content}" + (f"-clone-{clone}" if clone else ""))
        if not os.path.isdir(d):
            os.makedirs(d)
            if content.startswith("esp"):
                self.make_uki()
            TREES[content](d, self.inputs)
            if clone and os.path.exists(self.header(clone)):  # the real volume's header, tokens and all
                shutil.copyfile(self.header(clone), f"{d}/luks-header.img")
        return d

    def header(self, id):
        return os.path.join(self.work, f"luks-header-{id}.img")

    def make_fs(self, part, img):
        d = self.tree(part.content, part.clone)
        sized_file(img, part.mib - (LUKS_HEADER_MIB if part.luks else 0))
        argv = MKFS[part.fs](part, d, img, self.work)
        if run_tool(argv, stdout=subprocess.DEVNULL).returncode != 0:
            raise Failure(f"{argv[0]} failed")

    def encrypt(self, part, img):
        """The file system image becomes a LUKS2 volume in place (the header room shifts it)."""
        need("cryptsetup", "cryptsetup-bin")
        sized_file(img, part.mib)
        argv = ["cryptsetup", "reencrypt", "--encrypt", "--type", "luks2", "--reduce-device-size",
                f"{LUKS_HEADER_MIB}M", "--force-offline-reencrypt", "--uuid", part.luksuuid,
                "--pbkdf", "argon2id", "--pbkdf-memory", "65536", "--iter-time", "100",
                "--key-file=-", "-q", img]  # fmt: skip
        r = run_tool(argv, input=part.luks.encode(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise Failure(f"cryptsetup reencrypt --encrypt failed: {r.stdout.decode(errors='replace').rstrip()}")
        if part.id:
            key = volume_key(part, img)
            self.secrets.append((key.hex(), f"the volume key of partition {part.id}"))
            event = f"cryptsetup:root:{part.luksuuid}".encode()
            self.pcr15[part.id] = pcr15_value(event, key)

    def add_keyslot(self, part, img, passphrase, memory_kib):
        key = os.path.join(self.work, "new-key")
        write(key, passphrase)
        argv = ["cryptsetup", "luksAddKey", "--pbkdf", "argon2id", "--pbkdf-memory", str(memory_kib),
                "--pbkdf-force-iterations", "4", "--pbkdf-parallel", "1", "--key-file=-", "-q", img, key]  # fmt: skip
        r = run_tool(argv, input=part.luks.encode(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        os.remove(key)
        if r.returncode != 0:
            raise Failure(f"cryptsetup luksAddKey failed: {r.stdout.decode(errors='replace').rstrip()}")

    def enroll(self, index, part, img):
        """The enroll lines of partition index, in order."""
        for j, e in enumerate(self.sc.enrolments):
            if e.part == index:
                self.enroll_one(j, e, part, img)

    def enroll_one(self, j, e, part, img):
        log = os.path.join(self.work, "enroll.log")
        env = dict(os.environ, PASSWORD=part.luks, NEWPIN=e.pin)
        argv = ["bash", LUKS_ENROLL, img, os.path.join(self.work, TPM_STATE), e.kind, *e.options]
        with open(log, "ab") as err:
            r = run_tool(argv, env=env, stdout=subprocess.PIPE, stderr=err)
        if r.returncode != 0:
            with open(log, errors="replace") as f:
                print("".join(f"  | {line}" for line in f), end="", file=sys.stderr)
            raise Failure(f"enrolment {j + 1} ({e.kind} {' '.join(e.options)}) failed")
        out = r.stdout.decode(errors="surrogateescape").rstrip("\n")
        if e.kind == "tpm2":
            self.secrets.append((out, f"the passphrase TPM2 token {j + 1} unseals to"))
        else:
            self.recovery = out
            self.secrets.append((out, f"the recovery key of enrolment {j + 1}"))

    def signing_key(self):
        """A key and certificate made for this test: no kernel trusts them."""
        key, cert = os.path.join(self.work, "verity-key.pem"), os.path.join(self.work, "verity-cert.pem")
        if not os.path.exists(cert):
            argv = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-subj", "/CN=earlyroot untrusted test key", "-days", "3650"]  # fmt: skip
            if run_tool(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
                raise Failure("openssl req failed")
        return [key, cert]

    def make_verity(self, index, part):
        """systemd-repart's data, hash (and signature) partitions for part: [(sfdisk line, image file)]."""
        fs, out = os.path.join(self.work, f"fs{index}.img"), os.path.join(self.work, f"verity{index}.img")
        self.make_fs(part, fs)
        role = "root" if part.type == GPT_TYPES["root-x86-64"] else "usr"
        keys = {"signed": self.signing_key, "trusted": lambda: VERITY_TEST_KEY}.get(part.verity, list)()
        argv = ["bash", VERITY_DISK, out, fs, role] + keys
        r = run_tool(argv, stdout=subprocess.PIPE)
        if r.returncode != 0:
            raise Failure(f"verity-disk failed for partition {index + 1}")
        roothash = json.loads(r.stdout)[0]["roothash"]
        t = run_tool(["sfdisk", "--json", out], stdout=subprocess.PIPE)
        if t.returncode != 0:
            raise Failure("sfdisk --json failed on the verity image")
        pieces = []
        with open(out, "rb") as f:
            for i, p in enumerate(json.loads(t.stdout)["partitiontable"]["partitions"]):
                piece = os.path.join(self.work, f"verity{index}-{i}.img")
                f.seek(p["start"] * 512)
                with open(piece, "wb") as dst:
                    dst.write(f.read(p["size"] * 512))
                line = f'size={p["size"]}, type={p["type"]}, uuid={p["uuid"]}, name="{p["name"]}"'
                line += f', attrs="{p["attrs"]}"' if p.get("attrs") else ""
                pieces.append((line, piece))
        for kind in part.damage:  # after the hash tree was made: what dm-verity must catch
            damage_part(kind, pieces[0][1], index)
        uuids = [line.split("uuid=")[1].split(",")[0].lower() for line, _ in pieces]
        if part.id:
            self.verity.update({f"{{roothash:{part.id}}}": roothash, f"{{partuuid:{part.id}}}": uuids[0],
                                f"{{hashuuid:{part.id}}}": uuids[1]})  # fmt: skip
        os.remove(fs)
        os.remove(out)
        return pieces

    def make_uki(self):
        """--uki-from: the UKI, now that what its command line names is made; it becomes the kernel."""
        if not self.inputs.uki_from or self.inputs.kernel.startswith(self.work):
            return
        uki = os.path.join(self.work, "uki.efi")
        cmdline = f"console=ttyS0 {self.verity_values(self.sc.cmdline)}".strip()
        if run_tool(["bash", MAKE_UKI, uki, *self.inputs.uki_from, cmdline], stdout=subprocess.DEVNULL).returncode != 0:
            raise Failure("make-uki failed")
        self.inputs.kernel = uki

    def verity_values(self, text):
        """{roothash:ID}, {partuuid:ID} and {hashuuid:ID} of verity= partitions, now that they are made."""
        for key, value in self.verity.items():
            text = text.replace(key, value)
        return text

    def partition(self, k, img, verity):
        """The partition table of disk k (verity: a verity= partition's index -> its pieces); returns the
        start of each of its partitions in bytes."""
        table = self.sc.disks[k].table
        if table == "none":
            return [0]
        script = "label: gpt\n" if table == "gpt" else "label: dos\n"
        for index, part in ((i, p) for i, p in enumerate(self.sc.parts) if p.disk == k):
            if index in verity:
                script += "".join(line + "\n" for line, _ in verity[index])
                continue
            script += f"size={part.mib}MiB, type={part.type}"
            script += f", uuid={part.partuuid}" if table == "gpt" else ""
            script += f', name="{part.name}"' if part.name else ""
            script += f', attrs="GUID:{part.attrs}"' if part.attrs else ""
            script += "\n"
        argv = ["sfdisk", "-q", "--no-reread", "--no-tell-kernel", img]
        if run_tool(argv, input=script.encode(), stdout=subprocess.DEVNULL).returncode != 0:
            raise Failure(f"sfdisk failed on disk {k}:\n{script}")
        r = run_tool(["sfdisk", "--json", img], stdout=subprocess.PIPE)
        if r.returncode != 0:
            raise Failure(f"sfdisk --json failed on disk {k}")
        table = json.loads(r.stdout)["partitiontable"]
        return [p["start"] * table.get("sectorsize", 512) for p in table["partitions"]]

    def fill(self, index, part, img, offset):
        fs = os.path.join(self.work, f"fs{index}.img")
        self.make_fs(part, fs)
        if part.luks:
            self.encrypt(part, fs)
            self.enroll(index, part, fs)
            for passphrase, memory_kib in part.keyslots:
                self.add_keyslot(part, fs, passphrase, memory_kib)
            for kind in part.tokens:
                edit_token(kind, fs)
            if part.id:
                with open(fs, "rb") as src, open(self.header(part.id), "wb") as dst:
                    dst.write(src.read(LUKS_HEADER_MIB << 20))
        for kind in part.damage:  # last: any cryptsetup run on the image would repair a LUKS header
            damage_part(kind, fs, index)
        argv = ["dd", f"if={fs}", f"of={img}", "bs=1M", f"seek={offset}", "oflag=seek_bytes",
                "conv=notrunc,sparse", "status=none"]  # fmt: skip
        if run_tool(argv).returncode != 0:
            raise Failure("dd failed")
        os.remove(fs)

    def make_disk(self, k, disk):
        img = os.path.join(self.work, f"disk{k}.img")
        sized_file(img, disk.mib)
        parts = [(i, p) for i, p in enumerate(self.sc.parts) if p.disk == k]
        verity = {i: self.make_verity(i, p) for i, p in parts if p.verity}
        starts = iter(self.partition(k, img, verity))
        for index, part in parts:
            if index in verity:
                for (_, piece), offset in zip(verity[index], starts):
                    with open(piece, "rb") as src:
                        overwrite(img, offset, src.read())
                    os.remove(piece)
                continue
            offset = next(starts)
            if part.fs != "none":
                self.fill(index, part, img, offset)
            elif part.damage:  # random bytes where no file system was made
                raw = os.path.join(self.work, f"fs{index}.img")
                sized_file(raw, part.mib)
                for kind in part.damage:
                    damage_part(kind, raw, index)
                with open(raw, "rb") as src:
                    overwrite(img, offset, src.read())
                os.remove(raw)
        for kind in disk.damage:
            damage_disk(kind, img)
        if not disk.offline:
            self.images.append(img)

    def build(self):
        if self.sc.enrolments and not os.access(LUKS_ENROLL, os.R_OK):
            raise Failure(f"{LUKS_ENROLL} not found")
        for k, disk in enumerate(self.sc.disks):
            self.make_disk(k, disk)
        return self


def pack_initramfs(init, work):
    """A minimal initramfs around a bare /init: init, dev/console, proc, sys, run, sysroot."""
    root = os.path.join(work, "initramfs")
    dirs(root, "dev", "proc", "sys", "run", "sysroot")
    install(init, f"{root}/init")
    os.mknod(f"{root}/dev/console", 0o600 | stat.S_IFCHR, os.makedev(5, 1))
    os.chmod(f"{root}/dev/console", 0o600)
    names = sorted(find(root))
    out = os.path.join(work, "initramfs.cpio")
    with open(out, "wb") as f:
        argv = ["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"]
        if run_tool(argv, cwd=root, input="".join(n + "\n" for n in names).encode(), stdout=f).returncode != 0:
            raise Failure("cpio failed")
    return out


def find(root):
    """What find(1) run in root prints: ".", "./dev", …"""
    yield "."
    for d, subdirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        for name in subdirs + files:
            yield os.path.join(".", rel, name) if rel != "." else f"./{name}"
