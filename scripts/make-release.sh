#!/usr/bin/env bash
# Lays out a release's assets the way install.sh and `alp self-update` read them, under
# DIST (default ./dist), which is what ALP_DOWNLOAD_URL points at:
#
#   DIST/download/vVERSION/alp-TARGET            each static binary
#   DIST/download/vVERSION/SHA256SUMS            "<hex>  alp-TARGET" lines (and install.sh)
#   DIST/download/vVERSION/release.json          {"format":"alp-release-1","version":…,"targets":{TARGET:{url,sha256,size}}}
#   DIST/download/vVERSION/release.json.minisig  minisign signature of release.json
#   DIST/download/vVERSION/install.sh
#   DIST/latest/download -> ../download/vVERSION (what GitHub's "latest" redirect gives)
#
# usage: scripts/make-release.sh -k SECRET_KEY [-o DIST] [-V VERSION] [-u BASE_URL] [BINARY | TARGET=BINARY]...
#
#   -k KEY   minisign secret key that signs release.json (`alp key generate` or `minisign -G`);
#            an encrypted key reads its password from ALP_KEY_PASSWORD or the terminal
#   -o DIST  output base (default ./dist)
#   -V VER   release version (default: Cargo.toml's); the directory gets a "v" in front
#   -u URL   absolute base for the binaries' URLs in release.json (default: relative names,
#            resolved against release.json's own URL, so a mirror needs no re-signing)
#   BINARY   a static alp; its target comes from the ELF header (x86-64 or aarch64, musl
#            assumed); TARGET=BINARY names the triple explicitly. Default: the x86_64 build
#            in target/ and the arm64 one from scripts/build-arm64.sh, where they exist.
#
# Signing uses `alp sign` (ALP_BIN, else the x86_64 binary being released, else alp on
# PATH) or, with none of those runnable, the stock `minisign`. The signature is checked
# against KEY's .pub beside it when there is one.
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
    printf 'make-release: error: %s\n' "$*" >&2
    exit 1
}
say() { printf 'make-release: %s\n' "$*" >&2; }

key='' dist=dist version='' base_url=''
while getopts 'k:o:V:u:h' opt; do
    case $opt in
        k) key=$OPTARG ;;
        o) dist=$OPTARG ;;
        V) version=${OPTARG#v} ;;
        u) base_url=${OPTARG%/} ;;
        h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' && exit 0 ;;
        *) die "unknown option; see -h" ;;
    esac
done
shift $((OPTIND - 1))
[ -n "$key" ] || die "-k SECRET_KEY is required (make one with 'alp key generate' or 'minisign -G')"
[ -f "$key" ] || die "secret key $key does not exist"
if [ -z "$version" ]; then
    version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
    [ -n "$version" ] || die "cannot read the version from Cargo.toml; pass -V"
fi

# The target triple of a static alp, from the ELF header's e_machine field (offset 18).
elf_target() {
    local magic machine
    magic=$(od -An -tx1 -N4 "$1" | tr -d ' \n')
    [ "$magic" = 7f454c46 ] || die "$1 is not an ELF executable"
    machine=$(od -An -tu2 -j18 -N2 "$1" | tr -d ' ')
    case $machine in
        62) echo x86_64-unknown-linux-musl ;;
        183) echo aarch64-unknown-linux-musl ;;
        *) die "$1: unsupported ELF machine $machine (expected x86-64 or aarch64); name it as TARGET=$1" ;;
    esac
}

if [ $# -eq 0 ]; then
    for b in target/x86_64-unknown-linux-musl/release/alp \
        "${ARM64_TARGET_DIR:-/tmp/alp-arm64-target}/aarch64-unknown-linux-musl/release/alp"; do
        [ -f "$b" ] && set -- "$@" "$b"
    done
    [ $# -gt 0 ] || die "no binaries given and none built; run cargo build --release --target x86_64-unknown-linux-musl"
fi

out=$dist/download/v$version
rm -rf "$out"
mkdir -p "$out"
targets=() signer=${ALP_BIN:-}
for arg in "$@"; do
    case $arg in
        *=*) triple=${arg%%=*} path=${arg#*=} ;;
        *) path=$arg triple=$(elf_target "$arg") ;;
    esac
    [ -f "$path" ] || die "binary $path does not exist"
    case " ${targets[*]-} " in *" $triple "*) die "two binaries for $triple" ;; esac
    targets+=("$triple")
    install -m 0755 "$path" "$out/alp-$triple"
    if [ -z "$signer" ] && [ "$triple" = x86_64-unknown-linux-musl ] && [ "$(uname -m)" = x86_64 ]; then
        signer=$out/alp-$triple
    fi
    say "alp-$triple: $(stat -c %s "$path") bytes"
done
cp install.sh "$out/install.sh"

# SHA256SUMS: the binaries and install.sh, in sha256sum's own format.
(cd "$out" && sha256sum -- alp-* install.sh >SHA256SUMS)

# release.json, one line, the targets in the order given.
{
    printf '{"format":"alp-release-1","version":"%s","targets":{' "$version"
    sep=''
    for triple in "${targets[@]}"; do
        file=alp-$triple
        url=$file
        [ -z "$base_url" ] || url=$base_url/$file
        printf '%s"%s":{"url":"%s","sha256":"%s","size":%s}' "$sep" "$triple" "$url" \
            "$(sha256sum "$out/$file" | cut -d' ' -f1)" "$(stat -c %s "$out/$file")"
        sep=,
    done
    printf '}}\n'
} >"$out/release.json"

if [ -z "$signer" ] && command -v alp >/dev/null 2>&1; then signer=alp; fi
if [ -n "$signer" ] && "$signer" --version >/dev/null 2>&1; then
    "$signer" sign -s "$key" "$out/release.json" >&2 || die "'alp sign' failed"
elif command -v minisign >/dev/null 2>&1; then
    minisign -S -s "$key" -m "$out/release.json" -t "alp release $version" >&2 || die "minisign -S failed"
else
    die "nothing to sign with: build alp, set ALP_BIN, or install minisign"
fi

pub=${key%.key}.pub
if [ -f "$pub" ]; then
    if [ -n "$signer" ] && "$signer" --version >/dev/null 2>&1; then
        "$signer" verify -p "$pub" "$out/release.json" >/dev/null || die "release.json does not verify against $pub"
    elif command -v minisign >/dev/null 2>&1; then
        minisign -V -q -p "$pub" -m "$out/release.json" || die "release.json does not verify against $pub"
    fi
    say "release.json verified against $pub"
fi

mkdir -p "$dist/latest"
ln -sfn "../download/v$version" "$dist/latest/download"
say "release v$version in $out (latest: $dist/latest/download)"
printf '%s\n' "$out"
