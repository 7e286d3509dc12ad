#!/usr/bin/env bash
# System test: the static binary runs in an otherwise empty root (SPEC section 1, issue 3
# part 1). The chroot holds nothing but /alp, a copy of examples/repo at /repo and the
# example public key at /etc/alp/keys: no libc, no loader, no shell, no /dev, /proc or /tmp.
# In it alp prints its version, installs `hello` (with its dependency) from /repo, and
# lists and checks what it installed. Then, for that step only, a static busybox goes in at
# /bin/sh so the installed `hello` (a #!/bin/sh script) can run.
#
#   bash tests/system/chroot.sh        (from the repo root, as root)
#
# Builds target/x86_64-unknown-linux-musl/release/alp when it is missing. Prints PASS/FAIL
# per case, "N passed, N failed, N skipped", and exits non-zero when anything failed.

set -u -o pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$REPO/tests/system/lib.sh"

BIN=$REPO/target/x86_64-unknown-linux-musl/release/alp
KEY=$REPO/examples/keys/example.pub

[ "$(id -u)" = 0 ] || die "run as root: chroot needs it"
if [ ! -x "$BIN" ]; then
    printf 'chroot.sh: building %s\n' "$BIN"
    (cd "$REPO" && cargo build --release --locked --target x86_64-unknown-linux-musl) ||
        die "the static build failed"
fi
need busybox busybox-static
need file file
BUSYBOX=$(command -v busybox)
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
    die "$BUSYBOX is not static; install Debian's busybox-static"

T=$(mktemp -d /tmp/alp-chroot.XXXXXX)
trap 'rm -rf "$T"' EXIT
ROOT=$T/root
OUT=$T/out

# Only the binary, the repository and (when the example is signed) its key.
mkdir -p "$ROOT"
cp "$BIN" "$ROOT/alp"
cp -r "$REPO/examples/repo" "$ROOT/repo"
TRUST=()
if [ -f "$KEY" ]; then
    mkdir -p "$ROOT/etc/alp/keys"
    cp "$KEY" "$ROOT/etc/alp/keys/"
else
    TRUST=(--allow-untrusted)
fi

# in_root CMD...: run CMD inside the chroot, output in $OUT.
in_root() { chroot "$ROOT" "$@" >"$OUT" 2>&1; }
show() { sed 's/^/    /' "$OUT"; }

# ---------------------------------------------------------------------------- cases

if file "$BIN" | grep -Eq 'static(-pie)? linked|statically linked' && ! file "$BIN" | grep -q interpreter; then
    pass "binary is static ($(stat -c %s "$BIN") bytes)"
else
    fail "binary is static" "$(file "$BIN")"
fi

if [ -z "$(find "$ROOT" -mindepth 1 -maxdepth 1 ! -name alp ! -name repo ! -name etc)" ] && [ ! -e "$ROOT/bin" ]; then
    pass "the root holds only /alp, /repo and /etc/alp/keys"
else
    fail "the root holds only /alp, /repo and /etc/alp/keys" "$(ls -A "$ROOT")"
fi

if in_root /alp --version && grep -q '^alp ' "$OUT"; then
    pass "alp --version in an empty root: $(head -n1 "$OUT")"
else
    fail "alp --version in an empty root" "$(cat "$OUT")"
fi

if in_root /alp --root / --repo /repo "${TRUST[@]}" install hello; then
    pass "alp install hello in an empty root"
else
    fail "alp install hello in an empty root" "exit $?"
    show
fi

if [ -x "$ROOT/usr/local/bin/hello" ] && [ -f "$ROOT/usr/local/lib/libgreet/greet.sh" ] &&
    [ -f "$ROOT/var/lib/alp/installed.json" ] && grep -qx hello "$ROOT/etc/alp/world"; then
    pass "hello, its dependency libgreet, the database and the world file are in place"
else
    fail "installed files" "$(cd "$ROOT" && find . -path ./repo -prune -o -print | sort | tr '\n' ' ')"
fi

if in_root /alp --root / --json installed && grep -q '"hello"' "$OUT" && grep -q '"libgreet"' "$OUT"; then
    pass "alp installed lists hello and libgreet"
else
    fail "alp installed lists hello and libgreet" "$(cat "$OUT")"
fi

if in_root /alp --root / doctor; then
    pass "alp doctor finds nothing wrong"
else
    fail "alp doctor finds nothing wrong" "$(cat "$OUT")"
fi

# Running hello needs a shell: a static busybox at /bin/sh, for this step only.
mkdir -p "$ROOT/bin"
cp "$BUSYBOX" "$ROOT/bin/sh"
if in_root /usr/local/bin/hello chroot && grep -qx 'Hello, chroot! (libgreet 1.0.0)' "$OUT"; then
    pass "the installed hello runs: $(cat "$OUT")"
else
    fail "the installed hello runs" "$(cat "$OUT")"
fi
rm -rf "${ROOT:?}/bin"

finish
