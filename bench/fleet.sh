#!/usr/bin/env bash
# Fleet starts (issue 11, SPEC section 13): COUNT simultaneous `alp init -- true`, each PID 1
# of its own PID namespace (`unshare --pid --fork --mount-proc`), one shared cache, ten
# packages of a few MB with dependencies (p0 needs p1 … p9), nginx on loopback with an access
# log. Then a second burst of fresh roots on the warm cache, then the same COUNT starts one
# after another on a cold cache. Roots and cache live on a fresh ext4 loop file (the root file
# system here punishes recently freed inodes).
#
# Prints, per run: failures, per-start p50/p95/max, wall time, the requests nginx saw, and
# what 10,000 hosts x COUNT starts would send to the mirror.
#
#   bench/fleet.sh [COUNT] [KB]        (default 64 starts, 3072 KiB per package; as root)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-64}
kb=${2:-3072}
# shellcheck source=tests/system/lib.sh disable=SC1091
. tests/system/lib.sh
bin=$PWD/target/x86_64-unknown-linux-musl/release/alp
cargo build --release --locked --target x86_64-unknown-linux-musl -q
need unshare util-linux

work=$(mktemp -d /tmp/alp-fleet-bench.XXXXXX)
fs=$work/fs
mkdir -p "$fs"
truncate -s 8G "$work/fs.img" && mkfs.ext4 -q -F "$work/fs.img" && mount -o loop "$work/fs.img" "$fs"
cleanup() {
    stop_nginx
    umount "$fs" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

make_fleet_repo "$bin" "$work" "$kb"
start_nginx "$work/repo" "$work/nginx"

# start NAME CACHE: one container start, timed; writes "MICROSECONDS EXIT" to $fs/t/NAME.
start() {
    local name=$1 cache=$2 t0 code=0
    fleet_root "$fs/roots/$name"
    t0=$(date +%s%N)
    ALP_CACHE_DIR=$cache unshare --pid --fork --mount-proc "$bin" --root "$fs/roots/$name" --quiet \
        --repo "$NGINX_URL" init --packages p0 -- true >"$fs/out/$name" 2>&1 || code=$?
    echo "$((($(date +%s%N) - t0) / 1000)) $code" >"$fs/t/$name"
}

# report LABEL PREFIX WALL_US: failures, p50/p95/max of the starts, requests since the mark.
report() {
    local label=$1 prefix=$2 wall=$3
    local fails archives indexes sigs
    fails=$(cat "$fs"/t/"$prefix"-* | awk '$2 != 0' | wc -l)
    archives=$(tail -n +"$((mark + 1))" "$NGINX_LOG" | grep -cE '"GET /p[0-9]-1\.0\.tar' || true)
    indexes=$(tail -n +"$((mark + 1))" "$NGINX_LOG" | grep -cE '"GET /index\.json ' || true)
    sigs=$(tail -n +"$((mark + 1))" "$NGINX_LOG" | grep -cE '"GET /index\.json\.minisig ' || true)
    cat "$fs"/t/"$prefix"-* | sort -n | awk -v label="$label" -v wall="$wall" -v fails="$fails" \
        -v a="$archives" -v i="$indexes" -v s="$sigs" -v n="$count" '
        { t[NR] = $1 / 1000 }
        END {
            printf "%-26s failures %d  start p50 %7.1f ms  p95 %7.1f ms  max %7.1f ms  wall %8.1f ms\n",
                label, fails, t[int(NR * 0.5 + 0.5)], t[int(NR * 0.95 + 0.5)], t[NR], wall / 1000
            printf "%-26s mirror saw %d archive, %d index and %d signature requests; 10,000 hosts x %d starts: %d requests\n",
                "", a, i, s, n, (a + i + s) * 10000
        }'
    mark=$(wc -l <"$NGINX_LOG")
}

mkdir -p "$fs/t" "$fs/out" "$fs/roots"
echo "fleet: $count starts, 10 packages of $kb KiB, $(nproc) cores"
mark=0

# burst NAME: COUNT starts at once on the shared cache; sets BURST_US to its wall time.
burst() {
    local t0 i pids=()
    t0=$(date +%s%N)
    for i in $(seq 1 "$count"); do start "$1-$i" "$fs/cache" & pids+=($!); done
    wait "${pids[@]}"
    BURST_US=$((($(date +%s%N) - t0) / 1000))
    report "$1 burst (parallel)" "$1" "$BURST_US"
    # Each phase starts with the previous one's writes on disk, not queued in front of its own.
    sync
}

burst cold
cold=$BURST_US
burst warm

t0=$(date +%s%N)
for i in $(seq 1 "$count"); do start "serial-$i" "$fs/serial-cache"; done
serial=$((($(date +%s%N) - t0) / 1000))
report "same starts one by one" serial "$serial"

awk -v c="$cold" -v s="$serial" 'BEGIN { printf "cold burst wall / serial total: %.2fx (target <= 0.8x)\n", c / s }'
