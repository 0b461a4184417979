#!/usr/bin/env bash
# Byte comparison of archive/mkcpio with the kernel's own usr/gen_init_cpio, built from Debian's
# linux-source-6.1 (the tree the kernel-linked mode builds), for tests/archive/all-types.list at
# several timestamps and for the generic initramfs list against the archive the build made.
# A missing package or tool is a failure, never a skip.
#
# usage: compare-gen-init-cpio.sh MKCPIO TEST-MKCPIO ALL-TYPES-LIST INITRAMFS-LIST INITRAMFS-CPIO TIMESTAMP
set -euo pipefail

mkcpio=$1 test_mkcpio=$2 all_types=$3 initramfs_list=$4 initramfs_cpio=$5 timestamp=$6
pkg=linux-source-6.1
tarball=/usr/src/$pkg.tar.xz

die() {
	echo "FAIL: $*" >&2
	exit 1
}

for tool in dpkg-query tar xz cc cmp sha256sum; do
	command -v "$tool" >/dev/null || die "$tool not found; run tools/setup-host"
done
version=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null) || die "$pkg is not installed; run tools/setup-host"
[ -f "$tarball" ] || die "$tarball missing although $pkg $version is installed; reinstall $pkg"

# The tool, cached by package version: extracting one file still decompresses most of the
# 130 MiB tarball (about 20 s here).
cache=${EARLYROOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/earlyroot}/gen_init_cpio-$version
gen_init_cpio=$cache/gen_init_cpio
if [ ! -x "$gen_init_cpio" ]; then
	mkdir -p "$(dirname "$cache")"
	rm -rf "$cache" # a copy without its tool is a leftover of an interrupted run
	staging=$(mktemp -d "$cache.tmp.XXXXXX")
	echo "extracting usr/gen_init_cpio.c from $tarball into $cache"
	tar -xJf "$tarball" -C "$staging" --strip-components=1 "$pkg/usr/gen_init_cpio.c" ||
		{ rm -rf "$staging"; die "usr/gen_init_cpio.c not found in $tarball"; }
	cc -O2 -o "$staging/gen_init_cpio" "$staging/usr/gen_init_cpio.c" ||
		{ rm -rf "$staging"; die "gen_init_cpio.c from $pkg $version does not compile"; }
	# Another run may have won the race; its copy is as good as ours.
	mv -T "$staging" "$cache" 2>/dev/null || rm -rf "$staging"
	[ -x "$gen_init_cpio" ] || die "no $gen_init_cpio after building it"
fi
echo "reference: $gen_init_cpio ($pkg $version)"

tmp=$(mktemp -d /tmp/compare-gen-init-cpio.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/fixtures"
"$test_mkcpio" make-fixtures "$tmp/fixtures" || die "test-mkcpio make-fixtures failed"
export ARCHIVE_FIXTURES=$tmp/fixtures

failed=0
# compare NAME KERNEL-OUTPUT OURS
compare() {
	if cmp -s "$2" "$3"; then
		echo "same: $1 ($(stat -c %s "$3") bytes, sha256 $(sha256sum <"$3" | cut -c1-16)…)"
	else
		echo "FAIL: $1: mkcpio differs from gen_init_cpio; first differing bytes (offset, octal):" >&2
		cmp -l "$2" "$3" 2>&1 | head -n 8 >&2 || true
		failed=1
	fi
}

for t in 0 1 1700000000 4294967295; do
	# gen_init_cpio warns about clipping big.bin's mtime; only its status matters here.
	"$gen_init_cpio" -t "$t" "$all_types" >"$tmp/kernel.cpio" 2>"$tmp/kernel.err" ||
		{ cat "$tmp/kernel.err" >&2; die "gen_init_cpio failed on $all_types"; }
	"$mkcpio" -t "$t" "$all_types" "$tmp/ours.cpio" || die "mkcpio failed on $all_types"
	compare "all-types.list -t $t" "$tmp/kernel.cpio" "$tmp/ours.cpio"
done

"$gen_init_cpio" -t "$timestamp" "$initramfs_list" >"$tmp/kernel.cpio" ||
	die "gen_init_cpio failed on $initramfs_list"
compare "initramfs.list -t $timestamp (the built initramfs.cpio)" "$tmp/kernel.cpio" "$initramfs_cpio"

exit "$failed"
