#!/usr/bin/env bash
# Module closure and index generation on a fixture modules tree cut from a real Debian kernel.
#   test-modules.sh MODCLOSURE MKCPIO MODULES-STAGE
set -euo pipefail
export LC_ALL=C
modclosure=$1 mkcpio=$2 stage=$3
fail() { echo "FAIL: $*" >&2; exit 1; }

kver=$(cd /lib/modules && ls -d *-cloud-amd64 2>/dev/null | sort -V | tail -n 1)
[ -n "$kver" ] || fail "no /lib/modules/*-cloud-amd64 (tools/setup-host installs linux-image-cloud-amd64)"
command -v depmod >/dev/null || fail "depmod not found (package kmod)"
src=/lib/modules/$kver
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the fixture: a handful of real modules with real dependencies and a softdep (libcrc32c -> crc32c)
fixture=$tmp/fixture/lib/modules/$kver
for m in kernel/fs/xfs/xfs.ko kernel/lib/libcrc32c.ko kernel/arch/x86/crypto/crc32c-intel.ko \
	kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio_pci.ko \
	kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio_pci_legacy_dev.ko \
	kernel/drivers/block/virtio_blk.ko kernel/crypto/af_alg.ko kernel/crypto/algif_hash.ko; do
	[ -f "$src/$m" ] || fail "kernel $kver has no $m"
	mkdir -p "$fixture/$(dirname "$m")"
	cp "$src/$m" "$fixture/$m"
done
cp "$src/modules.builtin" "$src/modules.builtin.modinfo" "$src/modules.order" "$fixture/"
depmod -b "$tmp/fixture" -C /dev/null "$kver"

check_closure() { # PROFILE-TEXT EXPECTED-RC EXPECTED-OUTPUT
	printf '%s' "$1" >"$tmp/profile"
	local rc=0
	"$modclosure" "$fixture" "$tmp/profile" >"$tmp/out" 2>"$tmp/err" || rc=$?
	[ "$rc" = "$2" ] || fail "closure of [$1]: exit $rc, expected $2; stderr: $(cat "$tmp/err")"
	diff -u <(printf '%s' "$3") "$tmp/out" || fail "closure of [$1] differs"
}

# a module pulls its dependencies and softdeps; a directory pulls every module below it
check_closure $'# comment\nxfs\n?no_such_module\n' 0 'kernel/arch/x86/crypto/crc32c-intel.ko
kernel/fs/xfs/xfs.ko
kernel/lib/libcrc32c.ko
'
check_closure $'kernel/drivers/virtio/\n' 0 'kernel/drivers/virtio/virtio.ko
kernel/drivers/virtio/virtio_pci.ko
kernel/drivers/virtio/virtio_pci_legacy_dev.ko
kernel/drivers/virtio/virtio_pci_modern_dev.ko
kernel/drivers/virtio/virtio_ring.ko
'
check_closure $'virtio_blk\nalgif_hash\n' 0 'kernel/crypto/af_alg.ko
kernel/crypto/algif_hash.ko
kernel/drivers/block/virtio_blk.ko
kernel/drivers/virtio/virtio.ko
kernel/drivers/virtio/virtio_ring.ko
'
# built in: nothing to copy, not an error
check_closure $'ext4\nnvme\n' 0 ''
# a required module this kernel lacks is a build error naming the profile line
check_closure $'xfs\nno_such_module\n' 1 'kernel/arch/x86/crypto/crc32c-intel.ko
kernel/fs/xfs/xfs.ko
kernel/lib/libcrc32c.ko
'
grep -q "profile:2: module no_such_module: not in this kernel" "$tmp/err" || fail "error text: $(cat "$tmp/err")"
check_closure $'?kernel/no/such/dir/\n' 0 ''
check_closure $'kernel/no/such/dir/\n' 1 ''
check_closure $'bad name\n' 1 ''

# staging twice (different paths, umask, order of profiles' lines) gives the same indexes and archive
mkdir -p "$tmp/a/p" "$tmp/longer/path/b/p"
printf 'xfs\nvirtio_blk\nalgif_hash\n' >"$tmp/a/p/virt"
printf 'algif_hash\n# same set, other order\nvirtio_blk\nxfs\n' >"$tmp/longer/path/b/p/virt"
(umask 022 && "$stage" "$tmp/a" "$modclosure" "$fixture" "$kver" 1700000000 "$tmp/a/p/virt")
(umask 077 && "$stage" "$tmp/longer/path/b" "$modclosure" "$fixture" "$kver" 1700000000 "$tmp/longer/path/b/p/virt")
for d in a longer/path/b; do
	(cd "$tmp/$d/root" && find . -type f | sort | xargs sha256sum) >"$tmp/$(basename "$d").sums"
	sed "s#$tmp/$d/root##" "$tmp/$d/modules.list" >"$tmp/$(basename "$d").list"
done
diff -u "$tmp/a.sums" "$tmp/b.sums" || fail "staged files differ"
diff -u "$tmp/a.list" "$tmp/b.list" || fail "lists differ"
for f in modules.dep.bin modules.alias.bin modules.softdep modules.symbols.bin modules.builtin.bin; do
	[ -s "$tmp/a/root/lib/modules/$kver/$f" ] || fail "index $f missing or empty"
done
grep -q 'virtio_blk.ko: .*virtio_ring.ko' "$tmp/a/root/lib/modules/$kver/modules.dep" ||
	fail "the staged modules.dep lacks virtio_blk's dependencies"
# every module is there once, LZ4-compressed (legacy frame), and decompresses to the kernel's file
find "$tmp/a/root" -name '*.ko' | grep . && fail "uncompressed modules staged"
n=0
while read -r ko; do
	rel=${ko#"$tmp/a/root/lib/modules/$kver/"}
	[ "$(head -c 4 "$ko" | od -An -tx1 | tr -d ' ')" = 02214c18 ] || fail "$rel: not an LZ4 legacy frame"
	lz4 -dc "$ko" | cmp -s - "$fixture/${rel%.lz4}" || fail "$rel does not decompress to the kernel's module"
	n=$((n + 1))
done < <(find "$tmp/a/root" -name '*.ko.lz4')
[ "$n" = 8 ] || fail "$n modules staged, expected 8"
"$mkcpio" -t 1700000000 "$tmp/a/modules.list" "$tmp/a.cpio"
"$mkcpio" -t 1700000000 "$tmp/longer/path/b/modules.list" "$tmp/b.cpio"
cmp "$tmp/a.cpio" "$tmp/b.cpio" || fail "archives differ"
grep -qx virt "$tmp/a/root/lib/modules/$kver/earlyroot-profile" || fail "profile name not recorded"
echo "PASS: closure and staging on $kver's modules"
