#!/usr/bin/env bash
# alp install vs `curl | tee >(sha256sum) | tar xzf -` vs the old tool's Python way
# (urllib in 8 KiB chunks + hashlib + tarfile.extractall), side by side, from a real nginx
# on loopback. Also the `tar xf` floor for the many-files archive, peak RSS, binary size.
#
#   bench/install.sh [RUNS]        (default 7 runs each; needs root for apt-get)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
work=/tmp/alp-bench
repo=$work/repo
for tool in hyperfine nginx; do
    command -v $tool >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine nginx-light time >/dev/null; }
done
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
bin=$PWD/target/x86_64-unknown-linux-musl/release/alp
cargo build --release --locked --target x86_64-unknown-linux-musl -q
bench/data.sh "$repo" >/dev/null

# A private nginx on a free loopback port.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/nginx/logs"
cat > "$work/nginx/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 64; }
http {
    access_log off;
    sendfile on;
    server { listen 127.0.0.1:$port; root $repo; }
}
NGINX
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
trap 'kill $nginx_pid 2>/dev/null || true' EXIT
sleep 0.5
url=http://127.0.0.1:$port

cat > "$work/oldway.py" <<'PY'
# How the old Python tool installed an archive: download in 8 KiB chunks while hashing,
# then tarfile.extractall.
import hashlib, sys, tarfile, tempfile, urllib.request
url, dest = sys.argv[1], sys.argv[2]
h = hashlib.sha256()
with tempfile.TemporaryFile() as tmp:
    with urllib.request.urlopen(url) as r:
        while True:
            chunk = r.read(8192)
            if not chunk:
                break
            h.update(chunk)
            tmp.write(chunk)
    tmp.seek(0)
    with tarfile.open(fileobj=tmp, mode="r:gz") as t:
        t.extractall(dest)
PY

root=$work/root
cache=$work/cache
prep="bash -c 'rm -rf $root $cache && sync && mkdir -p $root'"
results=$work/results
mkdir -p "$results"

bench_one() { # name
    local name=$1 extra=()
    if [ "$name" = many ]; then
        extra=(--command-name "tar xf (floor)" "tar xf $repo/many.tar -C $root")
    fi
    hyperfine -N --runs "$runs" --warmup 1 --prepare "$prep" --export-json "$results/$name.json" \
        --command-name "alp install" "$bin --root $root --cache-dir $cache --repo $url --allow-untrusted -q install $name" \
        --command-name "curl|sha256sum|tar" "bash -c 'curl -s $url/$name-1.0.tar.gz | tee >(sha256sum >/dev/null) | tar xzf - -C $root'" \
        --command-name "python (old tool)" "python3 $work/oldway.py $url/$name-1.0.tar.gz $root" \
        "${extra[@]}"
}

rss() { # command... -> peak RSS in KiB
    rm -rf "$root" "$cache"; sync; mkdir -p "$root"
    /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident/ { gsub(/ /, "", $2); print $2 }'
}

bench_one big
bench_one many

echo
echo "== medians (s) and ratios"
python3 - "$results" <<'PY'
import json, statistics, sys, os
for name in ("big", "many"):
    data = json.load(open(os.path.join(sys.argv[1], f"{name}.json")))["results"]
    med = {r["command"]: statistics.median(r["times"]) for r in data}
    alp = med["alp install"]
    print(f"{name}:")
    for cmd, m in med.items():
        ratio = "" if cmd == "alp install" else (f"  alp is {m / alp:.2f}x faster" if "floor" not in cmd else f"  alp / floor = {alp / m:.2f}")
        print(f"  {cmd:<20} {m:7.3f}{ratio}")
PY

echo
echo "== peak RSS of alp install (KiB)"
for name in big many; do
    echo "  $name: $(rss "$bin" --root "$root" --cache-dir "$cache" --repo "$url" --allow-untrusted -q install $name)"
done
echo
echo "== static binary: $(stat -c %s "$bin") bytes (budget $((5 * 1024 * 1024 / 2)))"
