#!/usr/bin/env bash
# System test of the arm64 build (SPEC section 12, issue 3 part 1): cross-compile
# aarch64-unknown-linux-musl on this x86_64 host with scripts/build-arm64.sh (rustup's
# target, Debian's gcc-aarch64-linux-gnu for ring's C and assembly, rust-lld), then run
# the result under Debian's qemu-user-static:
#   - it is a static aarch64 ELF within the 3 MiB budget (scripts/test.sh says why), and
#     `--version` runs;
#   - a file:// install of examples/repo (signature checked) puts a working `hello` in place;
#   - an https:// install from a local TLS server (a throwaway CA via SSL_CERT_FILE), which
#     runs ring's cross-compiled aarch64 code for the handshake;
#   - `self-update` from a release laid out by scripts/make-release.sh (signed by the arm64
#     alp itself) finds its aarch64 entry and replaces a copy of itself.
#
#   bash tests/system/arm64.sh        (from the repo root, as root)
#
# Installs what it needs from Debian (gcc-aarch64-linux-gnu, qemu-user-static, openssl,
# file) and the Rust target. The build goes to CARGO_TARGET_DIR=/tmp/alp-arm64-target (a
# first build takes about 6 minutes on 2 cores; later ones reuse it). Prints PASS/FAIL per
# case, "N passed, N failed, N skipped", and exits non-zero when anything failed.

set -u -o pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$REPO/tests/system/lib.sh"

TRIPLE=aarch64-unknown-linux-musl
export CARGO_TARGET_DIR=${ARM64_TARGET_DIR:-/tmp/alp-arm64-target}
BIN=$CARGO_TARGET_DIR/$TRIPLE/release/alp
BUDGET=$((3 * 1024 * 1024))
KEY=$REPO/examples/keys/example.pub

need qemu-aarch64-static qemu-user-static
need openssl openssl
need file file
need python3 python3

T=$(mktemp -d /tmp/alp-arm64.XXXXXX)
TLS_PID=''
cleanup() {
    [ -n "$TLS_PID" ] && kill "$TLS_PID" 2>/dev/null && wait "$TLS_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
OUT=$T/out

# arm CMD...: the arm64 alp under qemu, output in $OUT.
arm() { qemu-aarch64-static "$BIN" "$@" >"$OUT" 2>&1; }

# new_root DIR: an install root that trusts the example key.
new_root() {
    mkdir -p "$1/etc/alp/keys"
    [ -f "$KEY" ] && cp "$KEY" "$1/etc/alp/keys/"
}
trust_flags() { [ -f "$KEY" ] || printf '%s\n' --allow-untrusted; }

# ---------------------------------------------------------------------------- build

if "$REPO/scripts/build-arm64.sh" >"$T/build.log" 2>&1; then
    pass "cross build for $TRIPLE"
else
    fail "cross build for $TRIPLE" "scripts/build-arm64.sh failed; its last lines:"
    tail -n 25 "$T/build.log" | sed 's/^/    /'
    finish
    exit 1
fi

desc=$(file "$BIN")
if [[ $desc == *"ARM aarch64"* && $desc == *"statically linked"* && $desc != *interpreter* ]]; then
    pass "static aarch64 ELF"
else
    fail "static aarch64 ELF" "$desc"
fi

size=$(stat -c %s "$BIN")
if [ "$size" -le "$BUDGET" ]; then
    pass "arm64 binary: $size bytes (budget $BUDGET)"
else
    fail "arm64 binary size" "$size bytes is over the $BUDGET budget"
fi

if arm --version && grep -q "^alp .*$TRIPLE" "$OUT"; then
    pass "qemu-aarch64-static alp --version: $(cat "$OUT")"
else
    fail "qemu-aarch64-static alp --version" "$(cat "$OUT")"
fi

# ---------------------------------------------------------------------------- file://

ROOT=$T/root-file
new_root "$ROOT"
# shellcheck disable=SC2046 # trust_flags prints zero or one word
if arm --root "$ROOT" --repo "file://$REPO/examples/repo" $(trust_flags) install hello &&
    [ "$("$ROOT/usr/local/bin/hello" arm64)" = 'Hello, arm64! (libgreet 1.0.0)' ]; then
    pass "file:// install of examples/repo under qemu; hello runs"
else
    fail "file:// install of examples/repo under qemu" "$(cat "$OUT")"
fi

# ---------------------------------------------------------------------------- https://

# A throwaway CA and a certificate for 127.0.0.1 signed by it (rustls refuses a CA
# certificate used as the server's own, so a self-signed one would not do).
make_certs() {
    local d=$T/tls
    mkdir -p "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=alp-test-ca -keyout "$d/ca.key" -out "$d/ca.pem" &&
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -subj /CN=127.0.0.1 -keyout "$d/srv.key" -out "$d/srv.csr" &&
        printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/ext" &&
        openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
            -days 2 -extfile "$d/ext" -out "$d/srv.pem"
} >"$T/openssl.log" 2>&1

# start_tls DOCROOT: an HTTPS file server on a free loopback port; sets TLS_PORT.
start_tls() {
    python3 - "$T/tls/port" "$1" "$T/tls/srv.pem" "$T/tls/srv.key" >"$T/tls/server.log" 2>&1 <<'EOF' &
import functools, http.server, ssl, sys
port_file, docroot, cert, key = sys.argv[1:5]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=docroot)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os; os.rename(port_file + ".tmp", port_file)
server.serve_forever()
EOF
    TLS_PID=$!
    local _
    for _ in $(seq 50); do
        [ -s "$T/tls/port" ] && TLS_PORT=$(cat "$T/tls/port") && return 0
        sleep 0.1
    done
    return 1
}

ROOT=$T/root-https
new_root "$ROOT"
if ! make_certs; then
    fail "https:// install under qemu" "could not make test certificates: $(tail -n 3 "$T/openssl.log")"
elif ! start_tls "$REPO/examples/repo"; then
    fail "https:// install under qemu" "the TLS server did not start: $(cat "$T/tls/server.log")"
else
    # shellcheck disable=SC2046
    if SSL_CERT_FILE=$T/tls/ca.pem arm --root "$ROOT" --repo "https://127.0.0.1:$TLS_PORT" $(trust_flags) \
        install hello && [ -x "$ROOT/usr/local/bin/hello" ]; then
        pass "https:// install under qemu (TLS by ring's aarch64 code)"
    else
        fail "https:// install under qemu" "$(cat "$OUT")"
    fi
    # Without the test CA the same server must be refused.
    # shellcheck disable=SC2046
    if SSL_CERT_FILE=/dev/null ALP_RETRIES=0 arm --root "$T/root-untrusted-ca" --repo "https://127.0.0.1:$TLS_PORT" \
        $(trust_flags) install hello; then
        fail "unknown CA refused under qemu" "an install over TLS with an untrusted certificate succeeded"
    else
        pass "unknown CA refused under qemu: $(grep -m1 'alp: error:' "$OUT")"
    fi
fi

# ---------------------------------------------------------------------------- self-update

# The arm64 alp makes the key and signs its own release, through a one-line wrapper.
printf '#!/bin/sh\nexec qemu-aarch64-static %q "$@"\n' "$BIN" >"$T/alp-arm"
chmod +x "$T/alp-arm"
ROOT=$T/root-update
mkdir -p "$ROOT/etc/alp/keys" "$T/install"
cp "$BIN" "$T/install/alp"
if ! "$T/alp-arm" --quiet key generate --unencrypted -s "$T/release.key" -p "$T/release.pub" >"$OUT" 2>&1; then
    fail "self-update under qemu" "key generate failed: $(cat "$OUT")"
elif ! ALP_BIN=$T/alp-arm "$REPO/scripts/make-release.sh" -k "$T/release.key" -o "$T/dist" -V 99.0.0 \
    "$BIN" >"$OUT" 2>&1; then
    fail "self-update under qemu" "make-release.sh failed: $(cat "$OUT")"
else
    cp "$T/release.pub" "$ROOT/etc/alp/keys/"
    if ALP_SELF_PATH=$T/install/alp arm --root "$ROOT" self-update \
        --url "file://$T/dist/latest/download/release.json" &&
        [ -f "$T/install/alp.old" ] && cmp -s "$T/install/alp" "$T/dist/download/v99.0.0/alp-$TRIPLE" &&
        qemu-aarch64-static "$T/install/alp" --version >/dev/null 2>&1; then
        pass "self-update under qemu from a make-release.sh release (aarch64 entry, backup kept)"
    else
        fail "self-update under qemu" "$(cat "$OUT")"
    fi
fi

finish
