"""One boot of a scenario in QEMU, and the judging of its serial console.

The console is the QEMU's stdio: its output is the log, its input a pipe held open here (so QEMU
never sees its end) that the "send" lines type into.
"""

import dataclasses
import os
import shutil
import socket
import subprocess
import time

from fixtures import TPM_STATE, stop
from scenario import EOF_TEXT, Failure

POLL_S = 0.25  # how often the console is read
TYPE_DELAY_MS = 1000  # /init flushes type-ahead when it turns echo off: type as a person would
STAYS_GRACE_MS = 2000  # a halting scenario: time for late trouble to show after the last expect
SWTPM_TRIES, SWTPM_TRY_S = 100, 0.05  # up to 5 s for swtpm's socket to appear


def now_ms():
    return time.monotonic_ns() // 1_000_000


# QEMU's device for a disk k on each bus
DEVICES = {
    "nvme": "nvme,drive=d{k},serial=earlyroot{k}",
    "virtio-blk": "virtio-blk-pci,drive=d{k},serial=earlyroot{k}",
    "virtio-scsi": "scsi-hd,drive=d{k},bus=scsi0.0,serial=earlyroot{k}",
    # a disk the kernel sees as removable media (the SCSI removable bit), as a card reader's
    "scsi-removable": "scsi-hd,drive=d{k},bus=scsi0.0,serial=earlyroot{k},removable=on",
    "usb": "usb-storage,drive=d{k},bus=xhci.0,serial=earlyroot{k}",
}


def drive_args(buses, images, hotplug=None, boot_first=False):
    """QEMU's -drive and -device arguments: one disk per image, on its bus; and the disks to add later, as
    (seconds after start, device_add argument), for those with hotplug[k] > 0: each gets a PCIe root port
    of its own at start, and its device in it when the time comes. With boot_first, the first disk is the
    firmware's first boot option (bootindex=0): OVMF then never tries the machine's empty DVD drive first,
    which would add a failed attempt's events to PCR 4."""
    args, later = [], []
    for k, (bus, img) in enumerate(zip(buses, images)):
        args += ["-drive", f"file={img},if=none,id=d{k},format=raw"]
        if hotplug and hotplug[k]:
            args += ["-device", f"pcie-root-port,id=hp{k},chassis={k + 1},slot={k + 1}"]
            later.append((hotplug[k], DEVICES[bus].format(k=k) + f",bus=hp{k},id=disk{k}"))
            continue
        # the SCSI disks share one virtio-scsi controller
        if "bus=scsi0.0" in DEVICES[bus] and "virtio-scsi-pci,id=scsi0" not in args:
            args += ["-device", "virtio-scsi-pci,id=scsi0"]
        if "bus=xhci.0" in DEVICES[bus] and "qemu-xhci,id=xhci" not in args:
            args += ["-device", "qemu-xhci,id=xhci"]
        args += ["-device", DEVICES[bus].format(k=k) + (",bootindex=0" if boot_first and k == 0 else "")]
    return args, later


class Machine:
    """The swtpm and the QEMU of one boot, in work; stop() ends both, whatever happened."""

    def __init__(self, work):
        self.work = work
        self.log = os.path.join(work, "console.log")
        self.swtpm = self.qemu = None
        self.monitor = None

    def start_swtpm(self, model):
        """Starts a swtpm on the enrolments' state; returns QEMU's TPM arguments."""
        if not shutil.which("swtpm"):
            raise Failure("swtpm not found (tools/setup-host installs swtpm)")
        state, sock = os.path.join(self.work, TPM_STATE), os.path.join(self.work, "swtpm.sock")
        log = os.path.join(self.work, "swtpm.log")
        os.makedirs(state, exist_ok=True)
        # no startup flag: SeaBIOS sends TPM2_Startup and measures into PCRs 0-7 itself
        argv = ["swtpm", "socket", "--tpm2", "--tpmstate", f"dir={state}", "--ctrl",
                f"type=unixio,path={sock}", "--terminate", "--log", f"file={log}"]  # fmt: skip
        with open(log, "ab") as err:
            self.swtpm = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=err)
        for _ in range(SWTPM_TRIES):
            if os.path.exists(sock) or self.swtpm.poll() is not None:
                break
            time.sleep(SWTPM_TRY_S)
        if not os.path.exists(sock):
            raise Failure(f"swtpm did not start: {tail(log, 5)}")
        return ["-chardev", f"socket,id=chrtpm,path={sock}", "-tpmdev", "emulator,id=tpm0,chardev=chrtpm",
                "-device", f"tpm-{model or 'crb'},tpmdev=tpm0"]  # fmt: skip

    def monitor_args(self):
        """A QEMU monitor on a socket, for device_add (the serial console stays on stdio)."""
        self.monitor = os.path.join(self.work, "monitor.sock")
        return ["-monitor", f"unix:{self.monitor},server=on,wait=off"]

    def device_add(self, device):
        """Adds a device through the monitor; QEMU's answer, for the log."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.monitor)
            s.sendall(f"device_add {device}\n".encode())
            time.sleep(0.5)
            try:
                return s.recv(4096).decode(errors="replace")
            except OSError:
                return ""

    def start(self, argv):
        with open(self.log, "ab") as out:
            self.qemu = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT)

    def type(self, text):
        """text and Enter; EOF_TEXT is Ctrl-D alone, which the guest's terminal reads as end of file."""
        raw = b"\x04" if text == EOF_TEXT else text.encode(errors="surrogateescape") + b"\r"
        try:
            self.qemu.stdin.write(raw)
            self.qemu.stdin.flush()
        except BrokenPipeError:
            pass  # QEMU has ended; the next look at it says so

    def console(self):
        with open(self.log, "rb") as f:
            raw = f.read().replace(b"\r", b"").replace(b"\0", b"")
        return raw.decode(errors="surrogateescape").rstrip("\n")

    def status(self):
        """QEMU's exit status as a shell reports it, or None while it runs."""
        rc = self.qemu.poll()
        return rc if rc is None or rc >= 0 else 128 - rc

    def stop(self):
        for proc in (self.qemu, self.swtpm):
            if proc:
                stop(proc)
                if proc.stdin:
                    proc.stdin.close()


def tail(path, n):
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-n:]).rstrip("\n")


def prompts_shown(text, prompt):
    """How often prompt shows as a prompt: on a line that ends with a colon (and spaces), whatever
    kernel message ("[ …") interrupts it. Log lines merely mentioning its words do not count."""
    n, pos = 0, 0
    while (i := text.find(prompt, pos)) >= 0:
        pos = i + len(prompt)
        rest = text[pos:].split("\n", 1)[0].split("[", 1)[0]
        n += (prompt + rest).rstrip().endswith(":")
    return n


class Typist:
    """The "send" lines: the n-th appearance of a prompt gets the n-th line for it (the last one
    repeats), typed TYPE_DELAY_MS after it appeared."""

    def __init__(self, sends, machine):
        self.sends, self.machine = sends, machine
        self.answered, self.pending = {}, {}
        self.typed = []  # what was typed when, for the log

    def answer(self, text):
        for prompt in dict.fromkeys(s.prompt for s in self.sends):
            if prompts_shown(text, prompt) > self.answered.get(prompt, 0) and self.due(prompt):
                self.type(prompt)

    def due(self, prompt):
        if prompt not in self.pending:
            self.pending[prompt] = now_ms()
        return now_ms() - self.pending[prompt] >= TYPE_DELAY_MS

    def type(self, prompt):
        lines = [j for j, s in enumerate(self.sends) if s.prompt == prompt]
        n = self.answered.get(prompt, 0)
        pick = lines[min(n, len(lines) - 1)]
        self.machine.type(self.sends[pick].text)
        self.answered[prompt] = n + 1
        del self.pending[prompt]
        self.typed.append(f'boot: typed line {pick + 1} of the send lines at appearance {n + 1} of "{prompt}"')


def first_missing(text, expects):
    """The first expected string the console lacks, each looked for after the one before."""
    pos = 0
    for e in expects:
        i = text.find(e, pos)
        if i < 0:
            return e
        pos = i + len(e)
    return None


def forbidden_shown(text, rejects, secrets):
    """Why the console fails the boot whatever else it shows, or None."""
    for r in rejects:
        if r in text:
            return f'console shows "{r}"'
    for secret, what in secrets:
        if secret in text:
            return f"console shows a secret: {what}"
    return None


def ended(rc, missing, end):
    if missing is not None:
        return f'QEMU ended (status {rc}) before the console showed "{missing}"'
    if end == "stays":
        return f"QEMU ended (status {rc}), but this scenario must stay up (halt)"
    return f"QEMU exited with status {rc}" if rc != 0 else None


def timed_out(missing, timeout):
    if missing is not None:
        return f'no "{missing}" on the console within {timeout} s'
    return f"the VM did not power off within {timeout} s"


@dataclasses.dataclass
class Outcome:
    verdict: str  # None: the boot passed
    text: str  # the whole console
    elapsed_ms: int
    seen_all_ms: int  # when the last expected line showed, or None
    typed: list  # what the send lines typed when


def plug(machine, later, elapsed, typed):
    """device_add for the disks whose time has come; they leave later."""
    for when, device in [p for p in later if elapsed >= p[0] * 1000]:
        later.remove((when, device))
        answer = machine.device_add(device) if machine.status() is None else "(QEMU has ended)"
        typed.append(f"boot: device_add {device} at {secs(elapsed)} s: {answer.strip() or 'done'}")


def secs(ms):
    return f"{ms // 1000}.{ms % 1000 // 100}"


def watch(sc, machine, typist, secrets, later):
    """Reads the console until the scenario's verdict is clear; the verdict, or None on a pass."""
    started, seen_all = now_ms(), None
    while True:
        plug(machine, later, now_ms() - started, typist.typed)
        rc = machine.status()
        text = machine.console()
        elapsed = now_ms() - started
        verdict = forbidden_shown(text, sc.rejects, secrets)
        if verdict:
            return verdict, elapsed, seen_all
        typist.answer(text)
        missing = first_missing(text, sc.expects)
        if missing is None and seen_all is None:
            seen_all = elapsed
        if rc is not None:
            return ended(rc, missing, sc.end), elapsed, seen_all
        if sc.end == "stays" and seen_all is not None and elapsed - seen_all >= STAYS_GRACE_MS:
            return None, elapsed, seen_all
        if elapsed >= sc.timeout * 1000:
            return timed_out(missing, sc.timeout), elapsed, seen_all
        time.sleep(POLL_S)


def boot(sc, machine, argv, secrets, later=()):
    """Boots argv (QEMU's command line) and judges the console; stops QEMU before returning. later: the
    disks to add while it runs (drive_args)."""
    typist = Typist(sc.sends, machine)
    machine.start(argv)
    verdict, elapsed, seen_all = watch(sc, machine, typist, secrets, list(later))
    machine.stop()
    text = machine.console()
    verdict = verdict or forbidden_shown(text, sc.rejects, secrets) or no_timeline(text)
    return Outcome(verdict, text, elapsed, seen_all, typist.typed)


def no_timeline(text):
    """Every boot that reaches the real init shows /init's stage timeline first."""
    marker = text.find("EARLYROOT-MARKER")
    if marker >= 0 and "earlyroot: timeline: early " not in text[:marker]:
        return "the real init ran, but the console showed no stage timeline from /init before it"
    return None
