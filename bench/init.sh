#!/bin/sh
# bench/init.sh: what `alp init` costs a container start.
#
#  1. The fast path: `alp init -- true` with everything installed, against plain `true`
#     (bench/interleave.c: every command once per round, rounds rotated, so the machine's
#     drift hits all alike; medians and the difference). Target: <= 0.5 ms added.
#     Beside it the floor, a static C program that only spawns and waits (spawn-floor.c):
#     what one more process costs here before alp does anything, and tini for reference.
#  2. A start that installs 10 small packages from a loopback nginx (parallel downloads on),
#     against installing the same 10 with ten separate `alp install` runs (wall time, medians).
#
# Usage: bench/init.sh            (env: ALP_BIN=path/to/alp, RUNS=3000, INSTALL_RUNS=10)
# Needs hyperfine and nginx (installed with apt-get when missing and we are root).
set -eu

cd "$(dirname "$0")/.."
ALP=${ALP_BIN:-target/x86_64-unknown-linux-musl/release/alp}
# A container's usual PATH, so looking up `true` costs the same in every run and on every host.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
RUNS=${RUNS:-3000}
INSTALL_RUNS=${INSTALL_RUNS:-10}
PKGS=10
PKG_KIB=64

say() { printf '%s\n' "$*" >&2; }

need_tools() {
    missing=
    command -v hyperfine >/dev/null 2>&1 || missing="$missing hyperfine"
    command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$missing nginx-light"
    [ -z "$missing" ] && return 0
    [ "$(id -u)" = 0 ] || { say "bench: missing:$missing (apt-get install -y$missing)"; exit 1; }
    say "bench: installing$missing"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
}

need_binary() {
    if [ ! -x "$ALP" ]; then
        say "bench: building $ALP"
        cargo build --release --target x86_64-unknown-linux-musl >&2
    fi
    ALP=$(cd "$(dirname "$ALP")" && pwd)/$(basename "$ALP")
}

# Ten small packages (PKG_KIB of incompressible data each) and their index in $TMP/repo.
make_packages() {
    mkdir -p "$TMP/repo" "$TMP/src"
    i=0
    while [ $i -lt $PKGS ]; do
        d="$TMP/src/bench$i"
        mkdir -p "$d/.ALP" "$d/usr/share/bench$i"
        printf '{"name":"bench%s","version":"1.0.%s","description":"benchmark package"}\n' $i $i >"$d/.ALP/package.json"
        head -c $((PKG_KIB * 1024)) /dev/urandom >"$d/usr/share/bench$i/data"
        "$ALP" --quiet build "$d" -o "$TMP/repo" >/dev/null
        i=$((i + 1))
    done
    "$ALP" --quiet index "$TMP/repo" >/dev/null
    NAMES=$(i=0; while [ $i -lt $PKGS ]; do printf 'bench%s ' $i; i=$((i + 1)); done)
    # And one package of 2,000 small files, for a database the size real images have.
    d="$TMP/src/many"
    mkdir -p "$d/.ALP"
    printf '{"name":"many","version":"1.0"}\n' >"$d/.ALP/package.json"
    for a in $(seq 1 40); do
        mkdir -p "$d/usr/lib/many/d$a"
        for b in $(seq 1 50); do echo "$a $b" >"$d/usr/lib/many/d$a/f$b.py"; done
    done
    "$ALP" --quiet build "$d" -o "$TMP/repo" >/dev/null
    "$ALP" --quiet index "$TMP/repo" >/dev/null
}

# nginx with a private config on 127.0.0.1 and a free port (tries random ports until one binds).
start_nginx() {
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
    chmod 755 "$TMP"
    tries=0
    while :; do
        PORT=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000 + 20000 ))
        cat >"$TMP/nginx.conf" <<EOF
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log;
events { worker_connections 256; }
http {
    access_log off;
    sendfile on;
    keepalive_timeout 30;
    client_body_temp_path $TMP/nginx-tmp;
    proxy_temp_path $TMP/nginx-tmp;
    fastcgi_temp_path $TMP/nginx-tmp;
    uwsgi_temp_path $TMP/nginx-tmp;
    scgi_temp_path $TMP/nginx-tmp;
    server {
        listen 127.0.0.1:$PORT;
        root $TMP/repo;
    }
}
EOF
        if "$NGINX" -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" 2>/dev/null; then break; fi
        tries=$((tries + 1))
        [ $tries -lt 20 ] || { say "bench: nginx would not start:"; cat "$TMP/nginx-error.log" >&2; exit 1; }
    done
    URL="http://127.0.0.1:$PORT"
    n=0
    until [ -s "$TMP/nginx.pid" ] || [ $n -ge 100 ]; do sleep 0.05; n=$((n + 1)); done
}

cleanup() {
    [ -s "${TMP:-/nonexistent}/nginx.pid" ] && kill "$(cat "$TMP/nginx.pid")" 2>/dev/null || true
    [ -n "${TMP:-}" ] && rm -rf "$TMP"
}

# median wall time (seconds) of command number $2 (1-based) in hyperfine's CSV $1.
median() { awk -F, -v row="$2" 'NR == row + 1 { print $4 }' "$1"; }
# the same from interleave's output (milliseconds there): median wall, mean CPU.
fast_wall() { awk -v row="$1" 'NR == row { print $1 / 1000 }' "$TMP/fast.txt"; }
fast_cpu() { awk -v row="$1" 'NR == row { print $2 / 1000 }' "$TMP/fast.txt"; }
ms() { awk -v s="$1" 'BEGIN { printf "%9.3f ms", s * 1000 }'; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { print a - b }'; }

main() {
    need_tools
    need_binary
    TMP=$(mktemp -d)
    trap cleanup EXIT INT TERM
    make_packages
    start_nginx

    # 1. Fast path: roots where the world file's packages are all installed (the image's
    #    ENTRYPOINT is `alp init --`): ten small packages; and one of 2,000 files.
    FAST="$TMP/fast"
    BIG="$TMP/big"
    "$ALP" --root "$FAST" --repo "$URL" --allow-untrusted --quiet init --packages "$NAMES" 2>/dev/null
    "$ALP" --root "$BIG" --repo "$URL" --allow-untrusted --quiet init --packages many 2>/dev/null
    TINI=$(command -v tini-static || command -v tini || true)
    # The floor: a static C program that only spawns and waits (bench/spawn-floor.c).
    FLOOR=
    if command -v musl-gcc >/dev/null 2>&1 && musl-gcc -static -O2 -o "$TMP/spawn-floor" bench/spawn-floor.c; then
        FLOOR=$TMP/spawn-floor
    fi
    cc -O2 -o "$TMP/interleave" bench/interleave.c
    TRUE=/bin/true
    [ -x "$TRUE" ] || TRUE=/usr/bin/true
    say "bench: fast path, $RUNS rounds"
    set -- "$TRUE" \
        :: "$ALP" --root "$FAST" init -- true \
        :: "$ALP" --root "$BIG" init -- true \
        :: "${FLOOR:-$TRUE}" true
    [ -n "$TINI" ] && set -- "$@" :: "$TINI" -s -- true
    "$TMP/interleave" "$RUNS" "$@" >"$TMP/fast.txt"

    # 2. Installing 10 packages at start vs one by one, each run from an empty root and cache.
    say "bench: installing $PKGS packages, $INSTALL_RUNS runs each"
    one_by_one=""
    for p in $NAMES; do
        one_by_one="$one_by_one $ALP --root $TMP/r2 --repo $URL --allow-untrusted --quiet install $p &&"
    done
    hyperfine --warmup 1 --runs "$INSTALL_RUNS" --style none --export-csv "$TMP/install.csv" \
        --prepare "rm -rf $TMP/r1 $TMP/r2" \
        -n 'alp init --packages (10)' \
        "$ALP --root $TMP/r1 --repo $URL --allow-untrusted --quiet init --packages '$NAMES'" \
        -n '10 x alp install' "${one_by_one% &&}" >/dev/null

    t_true=$(fast_wall 1)
    t_par=$(median "$TMP/install.csv" 1)
    t_seq=$(median "$TMP/install.csv" 2)
    parallel=$("$ALP" --root "$FAST" config get parallel_downloads 2>/dev/null || echo 4)
    echo
    echo "alp init benchmark  ($("$ALP" --version))"
    echo "binary: $ALP"
    echo
    printf '%-50s %12s %12s %12s\n' "fast path ($RUNS rounds, interleaved)" "wall median" "added" "CPU mean"
    row() { # label, command number
        w=$(fast_wall "$2")
        [ -n "$w" ] || return 0
        printf '  %-48s %s %s %s\n' "$1" "$(ms "$w")" "$(ms "$(minus "$w" "$t_true")")" "$(ms "$(fast_cpu "$2")")"
    }
    row "true" 1
    row "alp init -- true  ($PKGS packages installed)" 2
    row "alp init -- true  (one package of 2,000 files)" 3
    [ -n "$FLOOR" ] && row "floor: static C posix_spawn + waitpid" 4
    [ -n "$TINI" ] && row "reference: $(basename "$TINI") -s -- true" 5
    echo "  target: alp init adds <= 0.500 ms over true"
    if [ -n "$FLOOR" ]; then
        over=$(minus "$(fast_wall 2)" "$(fast_wall 4)")
        echo "  alp's own cost (alp init minus the floor): $(ms "$over")"
    fi
    echo
    printf '%-52s %s\n' "install $PKGS x $PKG_KIB KiB from loopback nginx (median of $INSTALL_RUNS)" ""
    printf '  %-50s %s\n' "alp init --packages ... (parallel_downloads=$parallel)" "$(ms "$t_par")"
    printf '  %-50s %s\n' "$PKGS separate alp install runs" "$(ms "$t_seq")"
    printf '  %-50s %s\n' "speed-up" "$(awk -v a="$t_seq" -v b="$t_par" 'BEGIN { printf "%8.2fx", a / b }')"
}

main "$@"
