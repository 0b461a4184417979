#!/usr/bin/env bash
# earlyroot's TPM2 client against swtpm, on tokens made by the real systemd-cryptenroll:
# systemd 252 (the host's) and 257 (a cached Debian 13 tree, tests/fixtures/trixie-enroll-root).
#
#   run.sh TPM2-SWTPM-CLIENT
#
# Each case formats a small LUKS2 file, enrolls tokens on a loop device of it (no device-mapper), and
# has tpm2-swtpm-client (earlyroot's tpm2_unlock_with() over swtpm's TCP socket) unseal them and check
# the passphrase with crypt_activate_by_passphrase(cd, NULL, …). PCR 11 measurements are checked
# against tpm2_pcrread and openssl. Every case also checks that no handle is left in the TPM.
# Needs root. A missing tool is a failure, never a skip.
set -euo pipefail
export LC_ALL=C

die() {
	echo "tpm2/run.sh: $*" >&2
	exit 1
}

[ $# -eq 1 ] || die "usage: $0 TPM2-SWTPM-CLIENT"
client=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || die "must run as root (losetup, chroot)"
for tool in swtpm swtpm_ioctl systemd-cryptenroll cryptsetup losetup unshare chroot openssl base64 xxd cmp \
	tpm2_pcrextend tpm2_pcrread tpm2_getcap tpm2_flushcontext tpm2_dictionarylockout tpm2_createprimary \
	tpm2_createpolicy tpm2_create tpm2_evictcontrol tpm2_loadexternal tpm2_readpublic tpm2_startauthsession \
	tpm2_policyauthorize; do
	command -v "$tool" >/dev/null || die "$tool not found (tools/setup-host installs it)"
done
measure=/lib/systemd/systemd-measure
[ -x "$measure" ] || die "$measure not found (package systemd)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/earlyroot-tpm2.XXXXXX")
state=$tmp/tpmstate
swtpm_pid='' port='' loop='' loops=()
failures=0 cases=0
cleanup() {
	[ -z "$swtpm_pid" ] || kill "$swtpm_pid" 2>/dev/null || true
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
	echo "FAIL: $tc: $*" >&2
	failures=$((failures + 1))
}

# --- swtpm --------------------------------------------------------------------------------------
start_swtpm() { # on a free port; the same state directory keeps the SRK and the DA settings
	mkdir -p "$state"
	for _ in $(seq 20); do
		[ -n "$port" ] || port=$((30000 + (RANDOM % 10000) * 2))
		swtpm socket --tpm2 --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
			--ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" --flags not-need-init,startup-clear \
			--tpmstate "dir=$state" 2>>"$tmp/swtpm.err" &
		swtpm_pid=$!
		export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$port"
		for _ in $(seq 50); do
			kill -0 "$swtpm_pid" 2>/dev/null || break
			if tpm2_getcap properties-fixed >/dev/null 2>&1; then
				return 0
			fi
			sleep 0.1
		done
		kill "$swtpm_pid" 2>/dev/null || true
		wait "$swtpm_pid" 2>/dev/null || true
		swtpm_pid='' port=''
	done
	die "cannot start swtpm: $(tail -n 3 "$tmp/swtpm.err")"
}

restart_swtpm() { # a reboot: PCRs back to zero, persistent keys and DA state kept
	swtpm_ioctl --tcp "127.0.0.1:$((port + 1))" -s >/dev/null 2>&1 || kill "$swtpm_pid"
	wait "$swtpm_pid" 2>/dev/null || true
	swtpm_pid=''
	start_swtpm
}

no_leaks() {
	local left
	left=$(tpm2_getcap handles-transient; tpm2_getcap handles-loaded-session)
	[ -z "$left" ] || fail "handles left in the TPM: ${left//$'\n'/ }"
	tpm2_flushcontext -t >/dev/null 2>&1 || true
	tpm2_flushcontext -l >/dev/null 2>&1 || true
}

da() { # tpm2_dictionarylockout: max tries, recovery time, lockout recovery time
	tpm2_dictionarylockout -Q -c || die "tpm2_dictionarylockout --clear-lockout failed"
	tpm2_dictionarylockout -Q -s -n "$1" -t "$2" -l "$3" || die "tpm2_dictionarylockout --setup-parameters failed"
}

# --- LUKS files and enrollment ------------------------------------------------------------------
pass=earlyroot-test-passphrase
new_image() {
	truncate -s 20M "$tmp/$1.img"
	printf '%s' "$pass" | cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
		--key-file=- "$tmp/$1.img" || die "luksFormat failed"
}

loop_of() { # sets $loop (not in a subshell: the cleanup must know it)
	loop=$(losetup -f --show "$tmp/$1.img") || die "losetup failed"
	loops+=("$loop")
}

unloop() {
	losetup -d "$1"
	loops=("${loops[@]/$1/}")
}

enroll252() { # enroll252 IMAGE ARGS…
	local img=$1
	shift
	loop_of "$img"
	PASSWORD=$pass systemd-cryptenroll --tpm2-device="swtpm:host=127.0.0.1,port=$port" "$@" "$loop" \
		>>"$tmp/enroll.log" 2>&1 || die "systemd-cryptenroll $* failed: $(tail -n 3 "$tmp/enroll.log")"
	unloop "$loop"
	# systemd 252 leaves its sessions behind, harmless under a resource manager but not on a bare swtpm
	tpm2_flushcontext -l >/dev/null 2>&1 || true
	tpm2_flushcontext -t >/dev/null 2>&1 || true
}

trixie=''
in_trixie() { # in_trixie COMMAND…: in the Debian 13 tree, with /dev, /proc, /sys and $tmp at /mnt
	[ -n "$trixie" ] || trixie=$(bash "$here/../fixtures/trixie-enroll-root") || die "no Debian 13 tree"
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m --propagation private -- sh -c '
		root=$1 tmp=$2; shift 2
		mount --rbind /dev "$root/dev" && mount -t proc proc "$root/proc" && mount --rbind /sys "$root/sys" &&
		mount --bind "$tmp" "$root/mnt" && exec chroot "$root" "$@"' sh "$trixie" "$tmp" "$@"
}

enroll257() { # enroll257 IMAGE ARGS…
	local img=$1
	shift
	in_trixie systemd-cryptenroll --version | head -n 1 | grep -q '^systemd 257 ' || die "the Debian 13 tree has no systemd 257"
	loop_of "$img"
	in_trixie env PASSWORD="$pass" NEWPIN="${NEWPIN:-}" SYSTEMD_TPM2_DEVICE="swtpm:host=127.0.0.1,port=$port" \
		systemd-cryptenroll "$@" "$loop" >>"$tmp/enroll.log" 2>&1 \
		|| die "systemd 257 systemd-cryptenroll $* failed: $(tail -n 3 "$tmp/enroll.log")"
	unloop "$loop"
}

# --- checks -------------------------------------------------------------------------------------
unlock() { # unlock IMAGE WANT [client options]: WANT is the result, 0 or -errno
	local img=$1 want=$2 got
	shift 2
	cases=$((cases + 1))
	rm -f "$cmdlog"
	"$client" "$port" unlock "$tmp/$img.img" "$@" >"$tmp/out" 2>&1 || true
	got=$(sed -n 's/^result: //p' "$tmp/out")
	[ "$got" = "$want" ] || fail "result ${got:-none}, expected $want; output: $(cat "$tmp/out")"
	no_leaks
}

says() {
	grep -qF -- "$1" "$tmp/out" || fail "expected \"$1\" in the output: $(cat "$tmp/out")"
}

# The command log of the last unlock (tpm2-swtpm-client --log): what an observer on the bus saw.
cmdlog=$tmp/commands.log
salted_only_to() { # salted_only_to HANDLE: every session is salted to HANDLE, and Unseal ran
	local bad
	grep -q '^StartAuthSession ' "$cmdlog" || fail "no StartAuthSession in the command log: $(cat "$cmdlog")"
	grep -q '^Unseal ' "$cmdlog" || fail "no Unseal in the command log: $(cat "$cmdlog")"
	bad=$(grep '^StartAuthSession ' "$cmdlog" | grep -v " tpmKey=$1\$" || true)
	[ -z "$bad" ] || fail "sessions salted to another key than $1: ${bad//$'\n'/; }"
}
salted_to_srk() { # no key made in the TPM at all: the sessions are salted to the verified SRK
	if grep -q '^CreatePrimary ' "$cmdlog"; then
		fail "CreatePrimary on the SRK path: $(grep '^CreatePrimary ' "$cmdlog")"
	fi
	salted_only_to 0x81000001
}
salted_to_primary() { # one CreatePrimary (systemd's legacy primary), and the sessions salted to it
	local made
	made=$(sed -n 's/^CreatePrimary .* handle=\(0x[0-9a-f]*\)$/\1/p' "$cmdlog")
	if [ "$(grep -c '^CreatePrimary ' "$cmdlog")" != 1 ] || [ -z "$made" ]; then
		fail "expected one CreatePrimary in the command log: $(grep '^CreatePrimary ' "$cmdlog" || true)"
	fi
	salted_only_to "$made"
}

pcr() { # pcr BANK:N: its value in hex
	tpm2_pcrread -Q "$1" -o "$tmp/pcr.bin" || die "tpm2_pcrread $1 failed"
	xxd -p -c 64 "$tmp/pcr.bin"
}

token_json() { cryptsetup token export --token-id "$2" "$tmp/$1.img"; }

import_token() { # import_token IMAGE JSON
	printf '%s' "$2" >"$tmp/token.json"
	cryptsetup token import --disable-external-tokens --json-file "$tmp/token.json" "$tmp/$1.img" || die "$tc: cryptsetup token import failed for $2"
}

# seal_token IMAGE ecc|rsa POLICY-FILE JSON-FIELDS: what systemd-cryptenroll would make, with tpm2-tools:
# a secret sealed under systemd's legacy primary to POLICY, its base64 in key slot 1, the token imported
seal_token() {
	local img=$1 alg=$2 policy=$3 fields=$4 galg=ecc256:null:aes128cfb
	[ "$alg" = ecc ] || galg=rsa2048:null:aes128cfb
	tpm2_createprimary -Q -C o -g sha256 -G "$galg" \
		-a 'restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth' -c "$tmp/primary.ctx"
	head -c 32 /dev/urandom >"$tmp/secret"
	tpm2_create -Q -C "$tmp/primary.ctx" -g sha256 -a 'fixedtpm|fixedparent' -L "$policy" -i "$tmp/secret" \
		-r "$tmp/sealed.priv" -u "$tmp/sealed.pub"
	tpm2_flushcontext -t >/dev/null 2>&1 || true
	tpm2_flushcontext -l >/dev/null 2>&1 || true
	base64 -w0 "$tmp/secret" >"$tmp/secret.b64"
	printf '%s' "$pass" | cryptsetup luksAddKey -q --key-file=- --key-slot 1 --pbkdf pbkdf2 \
		--pbkdf-force-iterations 1000 "$tmp/$img.img" "$tmp/secret.b64"
	import_token "$img" "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"1\"],\"tpm2-blob\":\"$(cat "$tmp/sealed.priv" "$tmp/sealed.pub" | base64 -w0)\",\"tpm2-primary-alg\":\"$alg\",\"tpm2-policy-hash\":\"$(xxd -p -c 64 "$policy")\",$fields}"
}

ENOKEY=-126 EOPNOTSUPP=-95
# SeaBIOS's separator event in PCR 7 (docs/tpm2.md, "PCR 7 on the test machines"): makes PCR 7 "good", as on a real boot
pcr7_separator=ad95131bc0b799c0b1af477fb14fcf26a6a9f76079e48bf090acb7e8367bfd0e

start_swtpm
da 32 1 1

# --- PCR 11 phases: one extend per good bank, checked with openssl --------------------------------
tc="measure enter-initrd (all banks, PCR 11 zero)"
banks=$(tpm2_getcap pcrs | sed -n 's/^  - \(sha[0-9]*\): \[ .*23 \]$/\1/p')
[ -n "$banks" ] || die "swtpm reports no complete PCR bank"
for word in enter-initrd leave-initrd; do
	for b in $banks; do tpm2_pcrread -Q "$b:11" -o "$tmp/before.$b" || die "tpm2_pcrread failed"; done
	cases=$((cases + 1))
	"$client" "$port" measure "$word" >"$tmp/out" 2>&1 || fail "tpm2_measure_with failed: $(cat "$tmp/out")"
	for b in $banks; do
		tpm2_pcrread -Q "$b:11" -o "$tmp/after.$b"
		printf '%s' "$word" | openssl dgst "-$b" -binary | cat "$tmp/before.$b" - | openssl dgst "-$b" -binary \
			>"$tmp/want.$b"
		cmp -s "$tmp/want.$b" "$tmp/after.$b" || fail "PCR 11 in $b is $(xxd -p -c 64 "$tmp/after.$b"), expected $(xxd -p -c 64 "$tmp/want.$b")"
	done
	no_leaks
	tc="measure leave-initrd (all banks good)"
done

# --- signed PCR policy (systemd-measure), sealed to the initrd phase only ------------------------
restart_swtpm
tc="signed PCR 11 policy, enter-initrd"
openssl genrsa -out "$tmp/pcr.key" 2048 2>/dev/null
openssl rsa -in "$tmp/pcr.key" -pubout -out "$tmp/pcr.pub" 2>/dev/null
printf 'a kernel image' >"$tmp/linux"
printf 'ID=earlyroot-test\n' >"$tmp/osrel"
uki=(--linux="$tmp/linux" --osrel="$tmp/osrel" --bank=sha256)
"$measure" sign --tpm2-device="swtpm:host=127.0.0.1,port=$port" "${uki[@]}" --private-key="$tmp/pcr.key" \
	--public-key="$tmp/pcr.pub" --phase=enter-initrd >"$tmp/sig.json" 2>>"$tmp/enroll.log" || die "systemd-measure sign failed"
tpm2_flushcontext -l >/dev/null 2>&1 || true
want11=$("$measure" calculate "${uki[@]}" --phase=enter-initrd 2>/dev/null | sed -n 's/^11:sha256=//p')
new_image signed
enroll252 signed --tpm2-public-key="$tmp/pcr.pub" --tpm2-public-key-pcrs=11 --tpm2-pcrs=
# systemd-stub's measurements of the UKI sections: each name with its NUL, then its contents
for s in linux osrel; do
	tpm2_pcrextend "11:sha256=$(printf '.%s\0' "$s" | openssl dgst -sha256 -r | cut -c1-64)"
	tpm2_pcrextend "11:sha256=$(openssl dgst -sha256 -r <"$tmp/$s" | cut -c1-64)"
done
"$client" "$port" measure enter-initrd >/dev/null 2>&1 || fail "measure enter-initrd failed"
got11=$(pcr sha256:11)
[ "$got11" = "$want11" ] || fail "PCR 11 is $got11, systemd-measure predicts $want11"
unlock signed 0 --signature="$tmp/sig.json"
says "unlocked with TPM2 token 0"
tc="257 signed PCR 11 policy (tpm2_pubkey, tpm2_srk), enter-initrd"
new_image signed257
cp "$tmp/pcr.pub" "$tmp/pcr257.pub"
enroll257 signed257 --tpm2-device="swtpm:host=127.0.0.1,port=$port" --tpm2-public-key=/mnt/pcr257.pub \
	--tpm2-public-key-pcrs=11 --tpm2-pcrs=
grep -q '"tpm2_pubkey_pcrs":\[11\]' <(token_json signed257 0) || fail "no signed policy in the 257 token"
unlock signed257 0 --signature="$tmp/sig.json"
says "unlocked with TPM2 token 0"
tc="signed PCR 11 policy whose key was hashed with exponent 0 (systemd 257's retry)"
# the key as LoadExternal'ed with its exponent written as 0 instead of 65537
tpm2_loadexternal -Q -C o -G rsa -u "$tmp/pcr.pub" -c "$tmp/ext.ctx"
tpm2_readpublic -Q -c "$tmp/ext.ctx" -o "$tmp/ext.pub"
tpm2_flushcontext -t >/dev/null 2>&1 || true
[ "$(od -An -tx1 -j 18 -N 4 "$tmp/ext.pub" | tr -d ' ')" = 00010001 ] || die "unexpected TPM2B_PUBLIC from tpm2_readpublic"
{ head -c 18 "$tmp/ext.pub"; printf '\0\0\0\0'; tail -c +23 "$tmp/ext.pub"; } >"$tmp/ext0.pub"
tpm2_loadexternal -Q -C o -u "$tmp/ext0.pub" -c "$tmp/ext0.ctx" -n "$tmp/ext0.name"
tpm2_flushcontext -t >/dev/null 2>&1 || true
head -c 32 /dev/zero >"$tmp/zero.digest"
tpm2_startauthsession -S "$tmp/trial.ctx"
tpm2_policyauthorize -Q -S "$tmp/trial.ctx" -L "$tmp/exp0.policy" -i "$tmp/zero.digest" -n "$tmp/ext0.name"
tpm2_flushcontext "$tmp/trial.ctx"
new_image exp0
seal_token exp0 ecc "$tmp/exp0.policy" "\"tpm2-pcrs\":[],\"tpm2-pcr-bank\":\"sha256\",\"tpm2_pubkey_pcrs\":[11],\"tpm2_pubkey\":\"$(base64 -w0 "$tmp/pcr.pub")\""
unlock exp0 0 --signature="$tmp/sig.json"
says "unlocked with TPM2 token 0 (keyslot 1)"
tc="signed PCR 11 policy, no signature file"
unlock signed "$ENOKEY"
says "there is no signature file /nonexistent/tpm2-pcr-signature.json"
tc="signed PCR 11 policy, after leave-initrd"
"$client" "$port" measure leave-initrd >/dev/null 2>&1 || fail "measure leave-initrd failed"
unlock signed "$ENOKEY" --signature="$tmp/sig.json"
says "has no signature by this token's key for the current values of PCRs 11 (sha256)"
tc="257 signed PCR 11 policy, after leave-initrd"
unlock signed257 "$ENOKEY" --signature="$tmp/sig.json"
says "has no signature by this token's key for the current values of PCRs 11 (sha256)"

# --- systemd 252 tokens ---------------------------------------------------------------------------
tpm2_pcrextend "7:sha256=$pcr7_separator"

tc="252 --tpm2-pcrs=7"
new_image pcr7
enroll252 pcr7 --tpm2-pcrs=7
token_json pcr7 0 >"$tmp/pcr7.json"
grep -q '"tpm2-pcr-bank":"sha256"' "$tmp/pcr7.json" || fail "unexpected 252 token: $(cat "$tmp/pcr7.json")"
unlock pcr7 0
says "unlocked with TPM2 token 0 (keyslot 1)"

tc="252 --tpm2-pcrs=7 without tpm2-pcr-bank (bank chosen from the TPM)"
new_image nobank
enroll252 nobank --tpm2-pcrs=7
import_token nobank "$(token_json nobank 0 | sed 's/"tpm2-pcr-bank":"sha256",//')"
cryptsetup token remove --token-id 0 "$tmp/nobank.img"
unlock nobank 0
says "unlocked with TPM2 token 1"

tc="252 --tpm2-pcrs= (no PCRs)"
new_image nopcr
enroll252 nopcr --tpm2-pcrs=
unlock nopcr 0

tc="252 PIN, right PIN"
new_image pin
NEWPIN=4711 enroll252 pin --tpm2-pcrs=7 --tpm2-with-pin=yes
unlock pin 0 --pins=4711
says "Please enter the TPM2 PIN for"
tc="252 PIN, wrong then right"
unlock pin 0 --pins=0000,4711
says "wrong TPM2 PIN (try 1 of 3)"
tc="252 PIN, three wrong PINs"
unlock pin "$ENOKEY" --pins=1,2,3
says "giving up after 3 wrong PINs"
says "dictionary-attack protection"
tc="252 PIN, headless"
unlock pin "$EOPNOTSUPP" --headless
says "it needs a PIN, and headless forbids asking for one"
tc="252 PIN, the TPM in lockout"
da 2 600 600
unlock pin "$ENOKEY" --pins=1,2,3
says "the TPM is in dictionary-attack lockout"
da 32 1 1

tc="legacy RSA primary (tpm2-primary-alg rsa; made with tpm2-tools: 252 picks ECC when it can)"
new_image rsa
tpm2_createpolicy -Q --policy-pcr -l sha256:7 -L "$tmp/rsa.policy"
seal_token rsa rsa "$tmp/rsa.policy" '"tpm2-pcrs":[7],"tpm2-pcr-bank":"sha256"'
unlock rsa 0 --log="$cmdlog"
says "unlocked with TPM2 token 0 (keyslot 1)"
salted_to_primary

tc="unsupported and malformed tokens are skipped, the next one works"
new_image skip
import_token skip '{"type":"systemd-tpm2","keyslots":["0"],"tpm2-blob":"AAEAAAEA","tpm2-pcrs":[],"tpm2-policy-hash":"0000000000000000000000000000000000000000000000000000000000000000","tpm2_pcrlock":true}'
import_token skip '{"type":"systemd-tpm2","keyslots":["0"],"tpm2-blob":"not base64!","tpm2-pcrs":[7],"tpm2-policy-hash":"00"}'
import_token skip '{"type":"systemd-fido2","keyslots":["0"]}'
enroll252 skip --tpm2-pcrs=7
unlock skip 0
says "skipping TPM2 token 0: it uses a systemd-pcrlock policy (tpm2_pcrlock)"
says "skipping TPM2 token 1: malformed: \"tpm2-blob\" is not base64 text"
says "unlocked with TPM2 token 3"

tc="252 --tpm2-pcrs=7, PCR 7 changed after enrollment"
new_image mismatch
enroll252 mismatch --tpm2-pcrs=7
tpm2_pcrextend "7:sha256=$pcr7_separator"
unlock mismatch "$ENOKEY"
says "the PCR policy does not match the current PCR values (PCRs 7 in sha256): the firmware or boot chain changed since enrollment"

# --- systemd 257 tokens: persistent SRK (tpm2_srk), salted PIN (tpm2_salt), offline sealing ------
tc="257 --tpm2-pcrs=7 (tpm2_srk)"
new_image s257
enroll257 s257 --tpm2-device="swtpm:host=127.0.0.1,port=$port" --tpm2-pcrs=7
token_json s257 0 >"$tmp/s257.json"
grep -q '"tpm2_srk":' "$tmp/s257.json" || fail "no tpm2_srk in the 257 token: $(cat "$tmp/s257.json")"
unlock s257 0 --log="$cmdlog"
salted_to_srk

tc="257 PIN (tpm2_salt), wrong then right"
new_image pin257
NEWPIN=13579 enroll257 pin257 --tpm2-device="swtpm:host=127.0.0.1,port=$port" --tpm2-pcrs=7 --tpm2-with-pin=yes
grep -q '"tpm2_salt":' <(token_json pin257 0) || fail "no tpm2_salt in the 257 PIN token"
unlock pin257 0 --pins=97531,13579
says "wrong TPM2 PIN (try 1 of 3)"

tc="257 offline sealing to the SRK (--tpm2-device-key: TPM2_Import of a seed)"
new_image offline
in_trixie env SYSTEMD_TPM2_DEVICE="swtpm:host=127.0.0.1,port=$port" systemd-analyze srk >"$tmp/srk.tpm2b_public" \
	2>>"$tmp/enroll.log" || die "systemd-analyze srk failed"
pcr7=$(pcr sha256:7)
enroll257 offline --tpm2-device-key=/mnt/srk.tpm2b_public --tpm2-pcrs="7:sha256=$pcr7"
unlock offline 0

tc="257 token, SRK removed"
tpm2_evictcontrol -Q -C o -c 0x81000001
unlock s257 "$ENOKEY"
says "the TPM has no key at 0x81000001, the SRK this token was sealed under"
tc="257 token, a different key at the SRK handle"
tpm2_createprimary -Q -C o -g sha256 -G rsa2048:null:aes128cfb \
	-a 'restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda' -c "$tmp/other.ctx"
tpm2_evictcontrol -Q -C o -c "$tmp/other.ctx" 0x81000001
tpm2_flushcontext -t >/dev/null 2>&1 || true
unlock s257 "$ENOKEY"
says "is not the SRK this token was sealed under"

# --- an RSA SRK at 0x81000001 provisioned first, as Windows does; systemd ≥ 254 reuses it ---------
tc="RSA SRK provisioned before enrollment"
tpm2_evictcontrol -Q -C o -c 0x81000001
tpm2_createprimary -Q -C o -g sha256 -G rsa2048:null:aes128cfb \
	-a 'restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda' -c "$tmp/rsasrk.ctx"
tpm2_evictcontrol -Q -C o -c "$tmp/rsasrk.ctx" 0x81000001
tpm2_flushcontext -t >/dev/null 2>&1 || true
tpm2_readpublic -Q -c 0x81000001 -o "$tmp/rsasrk.pub"
[ "$(od -An -tx1 -j 2 -N 2 "$tmp/rsasrk.pub" | tr -d ' ')" = 0001 ] || die "the key at 0x81000001 is not RSA"

tc="252 --tpm2-pcrs=7 on a TPM with an RSA SRK (252 makes its legacy ECC primary)"
new_image rsasrk252
enroll252 rsasrk252 --tpm2-pcrs=7
unlock rsasrk252 0 --log="$cmdlog"
says "unlocked with TPM2 token 0 (keyslot 1)"
salted_to_primary

tc="257 --tpm2-pcrs=7 sealed under the RSA SRK: sessions salted to it by RSA-OAEP"
new_image rsasrk257
enroll257 rsasrk257 --tpm2-device="swtpm:host=127.0.0.1,port=$port" --tpm2-pcrs=7
# tpm2_srk: handle (4) ‖ TPM2B_NAME (2 + 34) ‖ u32 type ‖ TPM2B_PUBLIC, whose TPMT_PUBLIC starts with its type
token_json rsasrk257 0 | sed -n 's/.*"tpm2_srk":"\([^"]*\)".*/\1/p' | base64 -d >"$tmp/rsasrk.srk"
[ "$(od -An -tx1 -j 46 -N 2 "$tmp/rsasrk.srk" | tr -d ' ')" = 0001 ] || fail "the 257 token's tpm2_srk is not the RSA SRK"
cmp -s <(tail -c +45 "$tmp/rsasrk.srk") "$tmp/rsasrk.pub" || fail "the 257 token's tpm2_srk is not the key at 0x81000001"
unlock rsasrk257 0 --log="$cmdlog"
says "unlocked with TPM2 token 0 (keyslot 1)"
salted_to_srk
echo "tpm2/run.sh: commands sent for the 257 token on the RSA SRK:"
sed 's/^/  /' "$cmdlog"

tc="257 PIN (tpm2_salt) under the RSA SRK, wrong then right"
new_image rsasrkpin
NEWPIN=2468 enroll257 rsasrkpin --tpm2-device="swtpm:host=127.0.0.1,port=$port" --tpm2-pcrs=7 --tpm2-with-pin=yes
unlock rsasrkpin 0 --pins=8642,2468 --log="$cmdlog"
says "wrong TPM2 PIN (try 1 of 3)"
salted_to_srk

echo "tpm2/run.sh: $cases cases, $failures failures"
[ "$failures" = 0 ]
