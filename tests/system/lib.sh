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

# start_nginx DOCROOT WORKDIR: serve DOCROOT on 127.0.0.1; sets NGINX_PORT, NGINX_URL,
# NGINX_PID and NGINX_LOG (the access log, one line a request, written unbuffered).
# Workers run as root so any DOCROOT is readable; everything else lives in WORKDIR.
start_nginx() {
    local docroot=$1 work=$2 try
    command -v nginx >/dev/null 2>&1 || need nginx nginx-light
    mkdir -p "$work"
    NGINX_LOG=$work/access.log
    for try in 1 2 3; do
        NGINX_PORT=$(free_port) || die "python3 could not find a free port"
        cat >"$work/nginx.conf" <<EOF
user root root;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 64; }
http {
    access_log $NGINX_LOG;
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
                : >"$NGINX_LOG"
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
