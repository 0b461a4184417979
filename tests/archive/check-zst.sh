#!/usr/bin/env bash
# initramfs.cpio.zst decompresses to initramfs.cpio, as one zstd frame whose window the kernel's
# decompressor (lib/decompress_unzstd.c, 6.1: at most 128 MiB) accepts.
#
# usage: check-zst.sh INITRAMFS-ZST INITRAMFS-CPIO
set -euo pipefail

zst=$1 cpio=$2
die() {
	echo "FAIL: $*" >&2
	exit 1
}
command -v zstd >/dev/null || die "zstd not found; run tools/setup-host"

zstd -q -d -c "$zst" | cmp - "$cpio" || die "$zst does not decompress to $cpio"
info=$(zstd -l -v "$zst")
frames=$(sed -n 's/^# Zstandard Frames: *\([0-9]*\).*/\1/p' <<<"$info")
window=$(sed -n 's/^Window Size:.*(\([0-9]*\) B).*/\1/p' <<<"$info")
[ "$frames" = 1 ] || die "$zst: $frames zstd frames, want 1"$'\n'"$info"
[ -n "$window" ] && [ "$window" -le $((128 << 20)) ] || die "$zst: window '$window' bytes, the kernel takes up to 128 MiB"$'\n'"$info"
echo "$zst: 1 frame, window $window bytes, $(stat -c %s "$zst") of $(stat -c %s "$cpio") bytes"
