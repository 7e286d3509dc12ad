#!/usr/bin/env bash
# OCI registry vs static files (issue 14): one ~100 MB package and ten small ones, installed
# on a fresh root with an empty cache from
#   - nginx serving the repository directory on loopback,
#   - Debian's docker-registry (filesystem storage) holding the same repository, published
#     with `alp publish`;
# then a pull-through mirror (a second registry in proxy mode) in front of the first: the
# first host behind it (cold mirror), the second host (warm mirror), and how many blob
# requests reached the upstream for each. Target: registry within 1.2x of nginx.
#
#   bench/registry.sh [RUNS]        (default 5 runs each; median reported; as root)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
# shellcheck source=../tests/system/lib.sh
. tests/system/lib.sh
bin=${ALP_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/x86_64-unknown-linux-musl/release/alp}
[ -x "$bin" ] || cargo build --release --locked --target x86_64-unknown-linux-musl -q
need docker-registry docker-registry

work=$(mktemp -d /tmp/alp-registry-bench.XXXXXX)
pids=()
cleanup() {
    local p
    stop_nginx
    for p in "${pids[@]}"; do stop_registry "$p"; done
    rm -rf "$work"
}
trap cleanup EXIT

# The repository: big (100 MiB of random bytes) and s0 … s9 (16 KiB each).
mkdir -p "$work/src" "$work/repo"
mk() {
    local name=$1 kib=$2
    mkdir -p "$work/src/$name/.ALP" "$work/src/$name/usr/share/bench"
    printf '{"name":"%s","version":"1.0","description":"bench"}\n' "$name" >"$work/src/$name/.ALP/package.json"
    head -c "$((kib * 1024))" /dev/urandom >"$work/src/$name/usr/share/bench/$name.bin"
    "$bin" --quiet build "$work/src/$name" -o "$work/repo" >/dev/null
}
mk big 102400
for i in 0 1 2 3 4 5 6 7 8 9; do mk "s$i" 16; done
"$bin" --quiet index "$work/repo" --sign examples/keys/example.key >/dev/null
read -ra pkgs <<<"${ALP_BENCH_PKGS:-big s0 s1 s2 s3 s4 s5 s6 s7 s8 s9}"

start_nginx "$work/repo" "$work/nginx"
start_registry "$work/upstream"
pids+=("$REG_PID")
up_port=$REG_PORT
"$bin" --quiet publish "$work/repo" "oci+http://127.0.0.1:$up_port/bench/repo" >/dev/null

# once REPO: one install of every package on a fresh root and cache; prints milliseconds.
once() {
    local r t0 t1
    r=$(mktemp -d "$work/root.XXXXXX")
    mkdir -p "$r/etc/alp/keys"
    cp examples/keys/example.pub "$r/etc/alp/keys/"
    sync
    t0=$(date +%s%N)
    ALP_CACHE_DIR=$r/cache "$bin" --quiet --root "$r" --repo "$1" install "${pkgs[@]}" >/dev/null
    t1=$(date +%s%N)
    rm -rf "$r"
    echo $(((t1 - t0) / 1000000))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
measure() {
    local i
    for i in $(seq "$runs"); do once "$1"; done | median
}

nginx_ms=$(measure "$NGINX_URL")
reg_ms=$(measure "oci+http://127.0.0.1:$up_port/bench/repo")
printf 'install big (100 MiB) + 10 small, fresh root and cache, median of %s:\n' "$runs"
printf '  nginx (static files)  %6d ms\n' "$nginx_ms"
printf '  docker-registry (OCI) %6d ms  (%.2fx nginx; target <= 1.20x)\n' "$reg_ms" "$(echo "$reg_ms / $nginx_ms" | bc -l)"

start_registry "$work/mirror" "proxy:
  remoteurl: http://127.0.0.1:$up_port"
pids+=("$REG_PID")
mirror=oci+http://127.0.0.1:$REG_PORT/bench/repo
b0=$(registry_blob_gets "$work/upstream/log" bench/repo)
first_ms=$(once "$mirror")
# The mirror stores what it streamed in the background; a blob it has not finished storing
# is not yet one it holds.
sleep 2
b1=$(registry_blob_gets "$work/upstream/log" bench/repo)
second_ms=$(once "$mirror")
b2=$(registry_blob_gets "$work/upstream/log" bench/repo)
printf 'pull-through mirror (registry in proxy mode) in front of the registry:\n'
printf '  first host (cold mirror)   %6d ms, %d blob requests upstream\n' "$first_ms" "$((b1 - b0))"
printf '  second host (warm mirror)  %6d ms, %d blob requests upstream\n' "$second_ms" "$((b2 - b1))"
