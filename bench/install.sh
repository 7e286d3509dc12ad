#!/usr/bin/env bash
# alp install vs `curl | tee >(sha256sum) | tar xzf -` vs the old tool's Python way
# (urllib in 8 KiB chunks + hashlib + tarfile.extractall), side by side, from a real nginx
# on loopback, in interleaved rounds (bench/rounds.py) on two file systems. Also the `tar xf`
# floor for the many-files archive, peak RSS, binary size.
#
#   bench/install.sh [RUNS]        (default 7 runs each; needs root for apt-get)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
work=/tmp/alp-bench
repo=$work/repo
command -v nginx >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light time >/dev/null; }
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

# Where the files land. Two file systems, because file creation costs very different
# amounts on them: "fresh" is a new ext4 with a journal (mkfs defaults, on a loop file),
# what a typical host or container volume has; "churned" is this machine's own root, ext4
# without a journal, where each run creates its files right after the previous run's were
# deleted (the issue's setting: a create then costs ~0.6-1 ms of kernel time).
fresh=$work/mnt
mkdir -p "$fresh"
if ! mountpoint -q "$fresh"; then
    truncate -s 12G "$work/fs.img" && mkfs.ext4 -q -F "$work/fs.img" && mount -o loop "$work/fs.img" "$fresh" ||
        echo "bench: cannot mount a loop file system; measuring the churned root only" >&2
fi

bench_fs() { # label dir
    local label=$1 dir=$2 name
    local root=$dir/root cache=$dir/cache
    local prep="rm -rf $root $cache && sync && mkdir -p $root"
    for name in big many; do
        local extra=()
        [ "$name" = many ] && extra=("tar xf (floor)=tar xf $repo/many.tar -C $root")
        echo "$label / $name: medians of $runs interleaved rounds [min .. max]"
        python3 bench/rounds.py "$runs" "$prep" \
            "alp install=$bin --root $root --cache-dir $cache --repo $url --allow-untrusted -q install $name" \
            "curl|sha256sum|tar=bash -c 'curl -s $url/$name-1.0.tar.gz | tee >(sha256sum >/dev/null) | tar xzf - -C $root'" \
            "python (old tool)=python3 $work/oldway.py $url/$name-1.0.tar.gz $root" \
            "${extra[@]}"
    done
}

rss() { # command... -> peak RSS in KiB
    rm -rf "$root" "$cache"; sync; mkdir -p "$root"
    /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident/ { gsub(/ /, "", $2); print $2 }'
}

echo "== wall time (s)"
mountpoint -q "$fresh" && bench_fs "fresh ext4 (journal)" "$fresh"
bench_fs "churned root ext4 (no journal)" "$work"
root=$work/root
cache=$work/cache

echo
echo "== peak RSS of alp install (KiB)"
for name in big many; do
    echo "  $name: $(rss "$bin" --root "$root" --cache-dir "$cache" --repo "$url" --allow-untrusted -q install $name)"
done
echo
echo "== static binary: $(stat -c %s "$bin") bytes (budget $((3 * 1024 * 1024)))"
