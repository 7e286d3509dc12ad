#!/usr/bin/env bash
# System test: fleet starts (SPEC section 13, issue 11). Many `alp init` at once, each PID 1
# of its own PID namespace (`unshare --pid --fork --mount-proc`, as in a container), all
# sharing one cache directory, against a real nginx on loopback whose access log counts what
# reached the mirror:
#   - a cold burst: no failures, every root complete, each archive downloaded once, one index
#     request, every cache entry hashes to its name, no temp file left;
#   - a warm burst: no request at all (within update_interval);
#   - damaged cache entries (short, long, flipped) are repaired in the same run;
#   - a tampered shared index is refused and fetched again;
#   - with the mirror down (refused, 503) or --offline, starts whose packages are cached
#     succeed with a warning; with nothing cached, one error line and exit 4;
#   - a downloader SIGKILLed mid-download does not wedge the processes waiting for it.
#
#   bash tests/system/fleet.sh        (from the repo root, as root; ALP_FLEET_N=64 for more)

set -u -o pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$REPO/tests/system/lib.sh"

N=${ALP_FLEET_N:-16}

[ "$(id -u)" = 0 ] || die "run as root: PID namespaces need it"
static_alp "$REPO"
need unshare util-linux

T=$(mktemp -d /tmp/alp-fleet.XXXXXX)
cleanup() {
    stop_nginx
    [ -n "${ALP_FLEET_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/out" "$T/roots"
CACHE=$T/cache

make_fleet_repo "$BIN" "$T" 256
start_nginx "$T/repo" "$T/nginx"
PORT=$NGINX_PORT

# container ROOT ARGS...: alp as PID 1 of a new PID namespace, on the shared cache.
container() {
    local root=$1
    shift
    fleet_root "$root"
    ALP_CACHE_DIR=${FLEET_CACHE:-$CACHE} unshare --pid --fork --mount-proc \
        "$BIN" --root "$root" --repo "$NGINX_URL" "$@"
}

# burst NAME COUNT: COUNT containers at once, each `init --packages p0 -- true`; sets FAILS.
burst() {
    local name=$1 count=$2 i pids=()
    for i in $(seq 1 "$count"); do
        container "$T/roots/$name-$i" init --packages p0 -- true >"$T/out/$name-$i" 2>&1 &
        pids+=($!)
    done
    FAILS=0
    for i in "${pids[@]}"; do
        wait "$i" || FAILS=$((FAILS + 1))
    done
}

# complete ROOT: every payload file installed byte for byte.
complete() {
    local i
    for i in 0 1 2 3 4 5 6 7 8 9; do
        cmp -s "$T/payload/p$i.bin" "$1/usr/share/fleet/p$i.bin" || return 1
    done
}

# gets PATTERN: requests so far whose path matches PATTERN (an extended regex).
gets() { grep -cE "\"GET /($1) " "$NGINX_LOG"; }
archive_gets() { gets 'p[0-9]-1\.0\.tar\.[a-z]+'; }
index_gets() { gets 'index\.json(\.minisig)?'; }

# cache_sound: every archive in the cache hashes to its name, and tmp/ is empty.
cache_sound() {
    local f
    for f in "$CACHE"/sha256/*; do
        [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || return 1
    done
    [ -z "$(ls -A "$CACHE/tmp" 2>/dev/null)" ]
}

# ------------------------------------------------------------------------- cold burst
burst cold "$N"
incomplete=0
for i in $(seq 1 "$N"); do complete "$T/roots/cold-$i" || incomplete=$((incomplete + 1)); done
if [ "$FAILS" = 0 ] && [ "$incomplete" = 0 ]; then
    pass "cold burst: $N starts as PID 1 on one cache, 0 failed, every root complete"
else
    fail "cold burst" "$FAILS failed, $incomplete incomplete"
    sed 's/^/    /' "$T"/out/cold-* | sort | uniq -c | head -20
fi
dups=$(grep -oE '"GET /p[0-9]-1\.0\.tar\.[a-z]+' "$NGINX_LOG" | sort | uniq -d)
if [ "$(archive_gets)" = 10 ] && [ -z "$dups" ]; then
    pass "cold burst: each of the 10 archives downloaded exactly once"
else
    fail "cold burst downloads" "$(archive_gets) archive requests; repeated: $dups"
fi
if [ "$(gets 'index\.json')" -le 1 ]; then
    pass "cold burst: $(gets 'index\.json') index request for $N fresh roots"
else
    fail "cold burst index requests" "$(gets 'index\.json') requests for index.json"
fi
if cache_sound; then
    pass "cold burst: every cache entry hashes to its name, no temp file left"
else
    fail "cache after the cold burst" "$(ls -la "$CACHE/sha256" "$CACHE/tmp" 2>&1)"
fi

# ------------------------------------------------------------------------- warm burst
before=$(wc -l <"$NGINX_LOG")
burst warm "$N"
incomplete=0
for i in $(seq 1 "$N"); do complete "$T/roots/warm-$i" || incomplete=$((incomplete + 1)); done
if [ "$FAILS" = 0 ] && [ "$incomplete" = 0 ] && [ "$(wc -l <"$NGINX_LOG")" = "$before" ]; then
    pass "warm burst: $N fresh roots started with no request to the mirror"
else
    fail "warm burst" "$FAILS failed, $incomplete incomplete, $(($(wc -l <"$NGINX_LOG") - before)) requests"
fi

# ------------------------------------------- stale shared index: one conditional request
# The shared index made old (fetched in 2001): the first start asks (with its ETag, answered
# 304), the others take that answer.
sed -i -E 's/"fetched":[0-9]+/"fetched":1000000000/' "$CACHE"/indexes/*/meta.json
before=$(wc -l <"$NGINX_LOG")
burst stale 8
asked=$(tail -n +"$((before + 1))" "$NGINX_LOG")
if [ "$FAILS" = 0 ] && [ "$(printf '%s\n' "$asked" | grep -c '"GET /index\.json ')" = 1 ] &&
    printf '%s\n' "$asked" | grep '"GET /index\.json ' | grep -q '" 304 ' &&
    ! printf '%s\n' "$asked" | grep -q 'minisig\|tar\.'; then
    pass "stale shared index: 8 starts make one conditional request (304) and nothing else"
else
    fail "stale shared index" "$FAILS failed; requests: $asked"
fi

# ------------------------------------------------------------ damaged cache entries
# damage HOW PKG: damage PKG's cache entry, start one root, expect it repaired in that run.
damage() {
    local how=$1 pkg=$2 entry sha size gets_before out
    sha=$(sha256sum "$T/repo/$pkg-1.0.tar."* | cut -d' ' -f1)
    entry=$CACHE/sha256/$sha
    size=$(stat -c %s "$entry")
    case "$how" in
        short) truncate -s $((size / 2)) "$entry" ;;
        long) head -c 4096 /dev/urandom >>"$entry" ;;
        flipped) dd if=/dev/urandom of="$entry" bs=4096 seek=8 count=1 conv=notrunc status=none ;;
    esac
    gets_before=$(gets "$pkg-1\.0\.tar\.[a-z]+")
    out=$T/out/damage-$how
    if container "$T/roots/damage-$how" init --packages p0 -- true >"$out" 2>&1 &&
        complete "$T/roots/damage-$how" && grep -q "was damaged" "$out" && ! grep -q "connection closed" "$out" &&
        [ "$(sha256sum "$entry" | cut -d' ' -f1)" = "$sha" ] &&
        [ "$(gets "$pkg-1\.0\.tar\.[a-z]+")" = $((gets_before + 1)) ]; then
        pass "a $how cache entry is detected, removed and fetched again in the same run"
    else
        fail "$how cache entry" "$(cat "$out")"
    fi
}
damage short p3
damage long p4
damage flipped p6

# ------------------------------------------------------------- tampered shared index
idx=$(ls -d "$CACHE"/indexes/*)
sed -i 's/fleet package 1/fleet package X/' "$idx/index.json"
newsha=$(sha256sum "$idx/index.json" | cut -d' ' -f1)
sed -i -E "s/\"index_sha256\":\"[0-9a-f]+\"/\"index_sha256\":\"$newsha\"/" "$idx/meta.json"
before=$(gets 'index\.json')
out=$T/out/tampered
if container "$T/roots/tampered" init --packages p0 -- true >"$out" 2>&1 && grep -q "refused" "$out" &&
    [ "$(gets 'index\.json')" = $((before + 1)) ] && ! grep -q "fleet package X" "$idx/index.json"; then
    pass "a tampered index in the shared cache is refused and fetched again"
else
    fail "tampered shared index" "$(cat "$out")"
fi

# ------------------------------------------------------------------ kept connections
# One start with its own empty cache: the index, its signature and ten archives go over
# HTTP/1.1 keep-alive, so over no more connections than alp has download threads (4).
before=$(wc -l <"$NGINX_LOG")
out=$T/out/keepalive
FLEET_CACHE=$T/keepalive-cache container "$T/roots/keepalive" init --packages p0 -- true >"$out" 2>&1
asked=$(tail -n +"$((before + 1))" "$NGINX_LOG")
requests=$(printf '%s\n' "$asked" | grep -c '"GET ')
connections=$(printf '%s\n' "$asked" | grep -o 'conn=[0-9]*' | sort -u | wc -l)
if complete "$T/roots/keepalive" && [ "$requests" -ge 12 ] && [ "$connections" -le 4 ]; then
    pass "one start: $requests requests over $connections connections (keep-alive)"
else
    fail "keep-alive" "$requests requests over $connections connections: $(cat "$out")"
fi

# While the container's command runs, alp (its PID 1) holds no connection open.
FLEET_CACHE=$T/keepalive-cache2 container "$T/roots/sockets" init --packages p0 -- sleep 3 >"$T/out/sockets" 2>&1 &
holder=$!
for _ in $(seq 100); do
    complete "$T/roots/sockets" && break
    sleep 0.05
done
sleep 0.5
alp_pid=''
for p in $(pgrep -f -- "--root $T/roots/sockets "); do
    [ "$(ps -o comm= -p "$p")" = alp ] && alp_pid=$p
done
sockets=$(find "/proc/$alp_pid/fd" -lname 'socket:*' 2>/dev/null | wc -l)
if [ -n "$alp_pid" ] && [ "$sockets" = 0 ]; then
    pass "alp as PID 1 keeps no connection open while the command runs"
else
    fail "sockets of PID 1" "pid '$alp_pid', $sockets sockets open: $(ls -l "/proc/$alp_pid/fd" 2>&1)"
fi
wait "$holder"

# -------------------------------------------------------------------------- outage
# The shared index made old, so each start asks the mirror first.
sed -i -E 's/"fetched":[0-9]+/"fetched":1000000000/' "$CACHE"/indexes/*/meta.json
stop_nginx
out=$T/out/outage
if ALP_RETRIES=1 container "$T/roots/outage" init --packages p0 -- true >"$out" 2>&1 &&
    complete "$T/roots/outage" && grep -q "using its last verified index" "$out"; then
    pass "mirror refusing connections: a fresh root starts from the shared cache, with a warning"
else
    fail "outage (connection refused)" "$(cat "$out")"
fi
out=$T/out/offline
if ALP_OFFLINE=1 container "$T/roots/offline" init --packages p0 -- true >"$out" 2>&1 && complete "$T/roots/offline"; then
    pass "ALP_OFFLINE=1: a fresh root starts from the shared cache without the network"
else
    fail "offline start" "$(cat "$out")"
fi
out=$T/out/empty
FLEET_CACHE=$T/empty-cache ALP_RETRIES=0 container "$T/roots/empty" init --packages p0 -- true >"$out" 2>&1
code=$?
if [ "$code" = 4 ] && [ "$(grep -c '^alp: error:' "$out")" = 1 ]; then
    pass "mirror down and nothing cached: one error line, exit 4"
else
    fail "outage with an empty cache" "exit $code: $(cat "$out")"
fi
NGINX_EXTRA='return 503;' start_nginx "$T/repo" "$T/nginx" "$PORT"
out=$T/out/outage503
if ALP_RETRIES=1 container "$T/roots/outage503" init --packages p0 -- true >"$out" 2>&1 &&
    complete "$T/roots/outage503" && grep -q "503" "$out"; then
    pass "mirror answering 503: a fresh root starts from the shared cache, with a warning"
else
    fail "outage (503)" "$(cat "$out")"
fi
stop_nginx

# ------------------------------------------------------------ killed downloader
# A slow mirror (64 KiB/s): the first start takes p5's turn and is killed mid-download; the
# ones waiting for it must take over and finish.
NGINX_EXTRA='limit_rate 64k;' start_nginx "$T/repo" "$T/nginx" "$PORT"
export FLEET_CACHE=$T/kill-cache
container "$T/roots/kill-0" init --packages p5 -- true >"$T/out/kill-0" 2>&1 &
for _ in $(seq 100); do
    [ -n "$(ls -A "$FLEET_CACHE/tmp" 2>/dev/null)" ] && break
    sleep 0.05
done
pids=()
for i in 1 2 3 4; do
    container "$T/roots/kill-$i" init --packages p5 -- true >"$T/out/kill-$i" 2>&1 &
    pids+=($!)
done
sleep 0.5
pkill -KILL -f -- "--root $T/roots/kill-0 "
FAILS=0
for p in "${pids[@]}"; do wait "$p" || FAILS=$((FAILS + 1)); done
ok_roots=0
for i in 1 2 3 4; do
    cmp -s "$T/payload/p5.bin" "$T/roots/kill-$i/usr/share/fleet/p5.bin" && ok_roots=$((ok_roots + 1))
done
if [ "$FAILS" = 0 ] && [ "$ok_roots" = 4 ]; then
    pass "a downloader killed with SIGKILL mid-download: the 4 waiting starts finish"
else
    fail "killed downloader" "$FAILS failed, $ok_roots complete: $(cat "$T"/out/kill-*)"
fi
unset FLEET_CACHE
stop_nginx

finish
