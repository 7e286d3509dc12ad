#!/usr/bin/env bash
# Cross-builds the static arm64 binary (aarch64-unknown-linux-musl) on an x86_64 Debian host,
# as SPEC section 12 says: rustup's target, Debian's gcc-aarch64-linux-gnu as the C compiler
# for ring (the TLS crypto crate has C and assembly), rust-lld as the linker (set in
# .cargo/config.toml). Installs what is missing when run as root.
#
#   scripts/build-arm64.sh            # prints the binary's path on the last line
#
# CARGO_TARGET_DIR defaults to /tmp/alp-arm64-target so a cross build never fights the
# native builds over target/ (or invalidates their cached build scripts).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=aarch64-unknown-linux-musl
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/alp-arm64-target}

say() { printf 'build-arm64: %s\n' "$*" >&2; }
die() {
    printf 'build-arm64: error: %s\n' "$*" >&2
    exit 1
}

# The C cross compiler: ring's build script compiles its C and assembly with it. glibc's
# gcc is fine for a musl target: ring uses no libc headers beyond freestanding ones.
if ! command -v aarch64-linux-gnu-gcc >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        die "aarch64-linux-gnu-gcc is missing; install Debian's gcc-aarch64-linux-gnu"
    fi
    say "installing gcc-aarch64-linux-gnu"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-aarch64-linux-gnu >/dev/null ||
        die "apt-get install gcc-aarch64-linux-gnu failed"
fi

if ! rustup target list --installed | grep -qx "$TARGET"; then
    say "adding the Rust target $TARGET"
    rustup target add "$TARGET" >&2 || die "rustup target add $TARGET failed (no network to the Rust dist server?)"
fi

export CC_aarch64_unknown_linux_musl=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_musl=aarch64-linux-gnu-ar

say "cargo build --release --locked --target $TARGET (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
cargo build --release --locked --target "$TARGET" >&2

bin=$CARGO_TARGET_DIR/$TARGET/release/alp
[ -x "$bin" ] || die "the build finished but $bin is missing"
say "$(stat -c %s "$bin") bytes: $bin"
printf '%s\n' "$bin"
