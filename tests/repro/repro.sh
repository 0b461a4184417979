#!/usr/bin/env bash
# Reproducibility: builds the committed source twice, in two checkouts whose paths differ in
# length, under different umask, TZ, locale, SOURCE_DATE_EPOCH (unset vs. set to the default the
# unset case falls back to) and parallelism, then compares /init and both archives byte for byte.
#
# It tests git HEAD of the source checkout (git clone), not uncommitted changes in its work tree.
# EARLYROOT_KEEP_REPRO=1 keeps the two trees for inspection; they are always kept on failure.
#
# usage: repro.sh SOURCE-ROOT DEPS-PREFIX DEFAULT-TIMESTAMP [KERNEL-VERSION]
# With a kernel version, the 'virt' module archive for that kernel is compared too.
set -euo pipefail

src=$1 deps=$2 default_ts=$3 kver=${4:-none}
outputs=(init/init archive/initramfs.cpio archive/initramfs.cpio.zst)
if [ "$kver" != none ]; then
	outputs+=("archive/initramfs-virt-$kver.cpio" "archive/initramfs-virt-$kver.cpio.lz4")
fi

die() {
	echo "FAIL: $*" >&2
	exit 1
}
for tool in git meson ninja sha256sum cmp; do
	command -v "$tool" >/dev/null || die "$tool not found; run tools/setup-host"
done
[ -n "$deps" ] && [ -d "$deps/lib" ] || die "deps prefix '$deps' has no lib/; configure with -Ddeps_prefix=\$(tools/build-deps)"

tmp=$(mktemp -d /tmp/earlyroot-repro.XXXXXX)
keep=${EARLYROOT_KEEP_REPRO:-0}
trap '[ "$keep" = 1 ] && echo "trees kept in $tmp" || rm -rf "$tmp"' EXIT

head=$(git -C "$src" rev-parse HEAD)
echo "testing commit $head of $src"
if [ -n "$(git -C "$src" status --porcelain --untracked-files=no)" ]; then
	echo "note: $src has uncommitted changes; they are not part of this test"
fi

a=$tmp/a
b=$tmp/second-checkout-with-a-much-longer-path/earlyroot

# build DIR UMASK JOBS VAR=VALUE... (the build's whole environment besides PATH and HOME)
build() {
	local dir=$1 mask=$2 jobs=$3 start
	shift 3
	start=$(date +%s)
	echo "building $dir: umask $mask, -j$jobs, $*"
	(
		umask "$mask"
		mkdir -p "$(dirname "$dir")"
		git clone -q --no-local "$src" "$dir"
		git -C "$dir" checkout -q --detach "$head"
		cd "$dir"
		env -i PATH="$PATH" HOME="$HOME" "$@" meson setup build -Ddeps_prefix="$deps" -Dkernel_version="$kver" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log" >&2; exit 1; }
		env -i PATH="$PATH" HOME="$HOME" "$@" meson compile -C build -j "$jobs" >"$dir.compile.log" 2>&1 ||
			{ tail -n 50 "$dir.compile.log" >&2; exit 1; }
	) || { keep=1; die "build in $dir failed"; }
	echo "built $dir in $(($(date +%s) - start)) s"
}
build "$a" 022 1 TZ=UTC0 LANG=C.UTF-8 LC_ALL=C.UTF-8
build "$b" 077 2 TZ=NPT-5:45 LANG=POSIX SOURCE_DATE_EPOCH="$default_ts"

failed=0
for f in "${outputs[@]}"; do
	sa=$(sha256sum <"$a/build/$f" | cut -d' ' -f1)
	sb=$(sha256sum <"$b/build/$f" | cut -d' ' -f1)
	if [ "$sa" = "$sb" ]; then
		echo "same      $sa  $f"
	else
		echo "DIFFERENT $sa  $f (first tree)"
		echo "          $sb  $f (second tree)"
		cmp -l "$a/build/$f" "$b/build/$f" 2>&1 | head -n 8 || true
		failed=1
	fi
done
if [ "$failed" = 1 ]; then
	keep=1
	die "the two builds differ"
fi
