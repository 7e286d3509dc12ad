# shellcheck shell=bash
# Shared by the system tests in this directory: PASS/FAIL bookkeeping, a throwaway nginx
# on a free loopback port, and installing the Debian packages a test needs.
# Sourced, never run; the tests run as root (CI and developer machines are root).

PASSED=0
FAILED=0
SKIPPED=0
NGINX_PID=''
export NGINX_URL NGINX_PORT NGINX_LOG

pass() { PASSED=$((PASSED + 1)); printf 'PASS %s\n' "$1"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL %s: %s\n' "$1" "$2"; }
skip() { SKIPPED=$((SKIPPED + 1)); printf 'SKIP %s: %s\n' "$1" "$2"; }

# The closing line CI reads, then the exit status: non-zero when anything failed.
finish() {
    printf '%d passed, %d failed, %d skipped\n' "$PASSED" "$FAILED" "$SKIPPED"
    [ "$FAILED" -eq 0 ]
}

die() {
    printf '%s: error: %s\n' "${0##*/}" "$*" >&2
    exit 1
}

# apt_install PACKAGE: install a Debian package unless dpkg has it already.
APT_UPDATED=''
apt_install() {
    dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed' && return 0
    printf '%s: installing %s\n' "${0##*/}" "$1"
    if [ -z "$APT_UPDATED" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || die "apt-get update failed"
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null ||
        die "apt-get install $1 failed"
}

# need COMMAND PACKAGE: install the Debian package when COMMAND is missing.
need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    apt_install "$2"
    command -v "$1" >/dev/null 2>&1 || die "$2 installed but $1 is still not on PATH"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_nginx DOCROOT WORKDIR [PORT]: serve DOCROOT on 127.0.0.1 (on PORT when given, e.g.
# to bring a stopped server back); sets NGINX_PORT, NGINX_URL, NGINX_PID and NGINX_LOG (the
# access log, one line a request, written unbuffered). NGINX_EXTRA, when set, is added to the
# server block. Workers run as root so any DOCROOT is readable; everything else lives in WORKDIR.
start_nginx() {
    local docroot=$1 work=$2 fixed=${3:-} try
    command -v nginx >/dev/null 2>&1 || need nginx nginx-light
    mkdir -p "$work"
    NGINX_LOG=$work/access.log
    for try in 1 2 3; do
        NGINX_PORT=${fixed:-$(free_port)} || die "python3 could not find a free port"
        cat >"$work/nginx.conf" <<EOF
user root root;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 4096; }
http {
    log_format alp '\$remote_addr - \$remote_user [\$time_local] "\$request" \$status \$body_bytes_sent "\$http_referer" "\$http_user_agent" conn=\$connection';
    access_log $NGINX_LOG alp;
    default_type application/octet-stream;
    client_body_temp_path $work/body;
    proxy_temp_path $work/proxy;
    fastcgi_temp_path $work/fastcgi;
    uwsgi_temp_path $work/uwsgi;
    scgi_temp_path $work/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $docroot;
        autoindex off;
        ${NGINX_EXTRA:-}
    }
}
EOF
        nginx -p "$work" -c "$work/nginx.conf" -e "$work/error.log" -g 'daemon off;' \
            >>"$work/nginx.out" 2>&1 &
        NGINX_PID=$!
        NGINX_URL=http://127.0.0.1:$NGINX_PORT
        local _
        for _ in $(seq 50); do
            if ! kill -0 "$NGINX_PID" 2>/dev/null; then
                break # exited: most likely the port was taken meanwhile; try another
            fi
            if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
                "$NGINX_PORT" 2>/dev/null; then
                [ -n "$fixed" ] || : >"$NGINX_LOG"
                return 0
            fi
            sleep 0.1
        done
        stop_nginx
        printf 'nginx try %s failed:\n' "$try" >&2
        cat "$work/error.log" "$work/nginx.out" >&2 2>/dev/null
    done
    die "nginx did not start (see above)"
}

stop_nginx() {
    if [ -n "$NGINX_PID" ]; then
        kill "$NGINX_PID" 2>/dev/null
        wait "$NGINX_PID" 2>/dev/null
        NGINX_PID=''
    fi
}

requests_served() {
    if [ -f "$NGINX_LOG" ]; then wc -l <"$NGINX_LOG"; else echo 0; fi
}

# make_fleet_repo BIN DIR KB: a signed repository in DIR/repo of ten packages, p0 … p9, each
# one file of KB KiB of random bytes (incompressible: the archive is as big as the payload),
# p0 depending on p1 … p9 (so `p0` installs all ten), signed with the example key. A copy of
# each payload goes to DIR/payload/pN.bin, to check installed files against.
# Shared by tests/system/fleet.sh and bench/fleet.sh.
make_fleet_repo() {
    local bin=$1 dir=$2 kb=$3 i src deps
    local key
    key=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/examples/keys/example.key
    src=$(mktemp -d /tmp/alp-fleet-src.XXXXXX)
    mkdir -p "$dir/repo" "$dir/payload"
    for i in 0 1 2 3 4 5 6 7 8 9; do
        mkdir -p "$src/p$i/.ALP" "$src/p$i/usr/share/fleet"
        deps=''
        [ "$i" = 0 ] && deps='"p1","p2","p3","p4","p5","p6","p7","p8","p9"'
        printf '{"name":"p%s","version":"1.0","description":"fleet package %s","depends":[%s]}\n' \
            "$i" "$i" "$deps" >"$src/p$i/.ALP/package.json"
        head -c "$((kb * 1024))" /dev/urandom >"$src/p$i/usr/share/fleet/p$i.bin"
        "$bin" --quiet build "$src/p$i" -o "$dir/repo" >/dev/null || die "alp build p$i failed"
        cp "$src/p$i/usr/share/fleet/p$i.bin" "$dir/payload/"
    done
    rm -rf "$src"
    "$bin" --quiet index "$dir/repo" --sign "$key" >/dev/null || die "alp index --sign failed"
}

# fleet_root DIR: an empty root that trusts the example key.
fleet_root() {
    mkdir -p "$1/etc/alp/keys"
    cp "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/examples/keys/example.pub" "$1/etc/alp/keys/"
}

# start_registry DIR [EXTRA_YAML]: a Debian docker-registry (distribution 2.8) on a free
# loopback port, filesystem storage in DIR/data, its log (access log included) in DIR/log;
# EXTRA_YAML (top-level keys: auth, proxy) is appended to its config. Sets REG_PORT, REG_PID.
# Several may run at once: the caller keeps each REG_PID to stop it (stop_registry PID).
start_registry() {
    local dir=$1 extra=${2:-} try _ code
    command -v docker-registry >/dev/null 2>&1 || need docker-registry docker-registry
    mkdir -p "$dir/data"
    for try in 1 2 3; do
        REG_PORT=$(free_port) || die "python3 could not find a free port"
        cat >"$dir/config.yml" <<EOF2
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REG_PORT
$extra
EOF2
        docker-registry serve "$dir/config.yml" >>"$dir/log" 2>&1 &
        REG_PID=$!
        for _ in $(seq 100); do
            kill -0 "$REG_PID" 2>/dev/null || break
            code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$REG_PORT/v2/" 2>/dev/null) || true
            case "$code" in 200 | 401) return 0 ;; esac
            sleep 0.1
        done
        stop_registry "$REG_PID"
        printf 'docker-registry try %s failed:\n' "$try" >&2
        tail -5 "$dir/log" >&2
    done
    die "docker-registry did not start (see above)"
}

stop_registry() {
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

# registry_blob_gets LOG NAME: GETs of NAME's blobs a registry's access log shows.
registry_blob_gets() {
    grep -cE "\"GET /v2/$2/blobs/sha256:[0-9a-f]+ HTTP" "$1"
}

# static_alp REPO: sets BIN to the static release binary ($ALP_BIN, else under
# $CARGO_TARGET_DIR or REPO/target), building it when it is missing.
static_alp() {
    BIN=${ALP_BIN:-${CARGO_TARGET_DIR:-$1/target}/x86_64-unknown-linux-musl/release/alp}
    if [ ! -x "$BIN" ]; then
        (cd "$1" && cargo build --release --locked --target x86_64-unknown-linux-musl) || die "the static build failed"
    fi
}
