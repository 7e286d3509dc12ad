#!/usr/bin/env bash
# System test of install.sh against a real nginx serving a fake release on 127.0.0.1.
#
#   bash tests/system/install_sh.sh        (from the repo root, as root)
#
# The "binary" is the real static alp when target/x86_64-unknown-linux-musl/release/alp
# exists, else a small shell script; install.sh only moves bytes, so either proves it.
# Every case prints PASS/FAIL; the last line is "N passed, N failed, N skipped" and the
# exit status is non-zero when any case failed.

set -u -o pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$REPO/tests/system/lib.sh"

X86=x86_64-unknown-linux-musl
ARM=aarch64-unknown-linux-musl
unset ALP_INSTALL_DIR ALP_VERSION ALP_DOWNLOAD_URL

cleanup() {
    stop_nginx
    [ -n "${T:-}" ] && rm -rf "$T"
}

# ---------------------------------------------------------------------------- fixtures

fake_binary() { # fake_binary FILE VERSION-TEXT
    printf '#!/bin/sh\necho "alp %s"\n' "$2" >"$1"
    chmod 755 "$1"
}

# release DIR BIN-X86 BIN-ARM: lay out one release directory with its SHA256SUMS.
release() {
    mkdir -p "$1"
    cp "$2" "$1/alp-$X86"
    cp "$3" "$1/alp-$ARM"
    (cd "$1" && sha256sum "alp-$X86" "alp-$ARM" >SHA256SUMS)
}

setup() {
    T=$(mktemp -d /tmp/alp-install-test.XXXXXX)
    chmod 755 "$T" # the non-root case reads the script and the fixtures as nobody
    cp "$REPO/install.sh" "$T/install.sh"
    chmod 644 "$T/install.sh"
    SCRIPT=$T/install.sh

    local real=$REPO/target/$X86/release/alp
    BIN_LATEST=$T/payload/alp-latest
    BIN_PINNED=$T/payload/alp-0.1.0
    BIN_ARM=$T/payload/alp-arm
    mkdir -p "$T/payload"
    if [ -x "$real" ]; then
        cp "$real" "$BIN_LATEST"
        printf 'note: serving the real binary %s as "latest"\n' "$real"
    else
        fake_binary "$BIN_LATEST" "latest-test"
    fi
    fake_binary "$BIN_PINNED" "0.1.0-pinned"
    fake_binary "$BIN_ARM" "arm64-test"

    local www=$T/www
    release "$www/good/latest/download" "$BIN_LATEST" "$BIN_ARM"
    release "$www/good/download/v0.1.0" "$BIN_PINNED" "$BIN_ARM"
    # Right file, wrong hash in SHA256SUMS.
    release "$www/badsum/latest/download" "$BIN_LATEST" "$BIN_ARM"
    printf '%064d  alp-%s\n' 0 "$X86" >"$www/badsum/latest/download/SHA256SUMS"
    # SHA256SUMS without an entry for x86_64.
    release "$www/noentry/latest/download" "$BIN_LATEST" "$BIN_ARM"
    grep -v "alp-$X86" "$www/good/latest/download/SHA256SUMS" \
        >"$www/noentry/latest/download/SHA256SUMS"
    # SHA256SUMS present, binary missing: the 404 is on the binary.
    mkdir -p "$www/nobinary/latest/download"
    cp "$www/good/latest/download/SHA256SUMS" "$www/nobinary/latest/download/"
    mkdir -p "$www/empty"

    start_nginx "$www" "$T/nginx"
    GOOD=$NGINX_URL/good

    # A uname that reports $FAKE_ARCH for -m.
    mkdir -p "$T/fakeuname"
    cat >"$T/fakeuname/uname" <<'EOF'
#!/bin/sh
case "$1" in
    -m) echo "$FAKE_ARCH" ;;
    -s) echo Linux ;;
    *) exec /bin/uname "$@" ;;
esac
EOF
    chmod 755 "$T/fakeuname/uname"
}

# tools_path NAME EXCLUDED...: a PATH directory of symlinks to what install.sh may use,
# minus EXCLUDED; prints the directory.
tools_path() {
    local dir=$T/path-$1 tool src
    shift
    mkdir -p "$dir"
    for tool in sh uname id mkdir mktemp chmod mv rm awk sed cat curl wget \
        sha256sum shasum openssl perl; do
        case " $* " in *" $tool "*) continue ;; esac
        src=$(command -v "$tool") && ln -sf "$src" "$dir/$tool"
    done
    printf '%s\n' "$dir"
}

# ------------------------------------------------------------------------- assertions
# Each sets WHY and returns 1 on failure, so a case reads as a chain of expectations.

run() { # run COMMAND...: capture stdout, stderr and status in OUT, ERR, RC
    "$@" >"$T/out" 2>"$T/err" </dev/null
    RC=$?
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
}

expect_ok() { [ "$RC" -eq 0 ] || { WHY="exit $RC, expected 0"; return 1; }; }
expect_failed() { [ "$RC" -ne 0 ] || { WHY="exit 0, expected failure"; return 1; }; }
expect_in() { # expect_in TEXT NEEDLE
    case $1 in *"$2"*) return 0 ;; esac
    WHY="output lacks '$2'"
    return 1
}
expect_error_line() { # stderr is exactly one line: "alp-install: error: ..." holding NEEDLE
    [ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ] || { WHY="stderr is not one line"; return 1; }
    expect_in "$ERR" "alp-install: error: $1"
}
expect_installed() { # expect_installed FILE PAYLOAD
    [ -f "$1" ] || { WHY="$1 not installed"; return 1; }
    cmp -s "$1" "$2" || { WHY="$1 differs from $2"; return 1; }
    [ "$(stat -c %a "$1")" = 755 ] || { WHY="$1 mode $(stat -c %a "$1"), expected 755"; return 1; }
    expect_no_temp_files "$(dirname "$1")"
}
expect_empty() { # expect_empty TEXT WHAT
    [ -z "$1" ] || { WHY="$2 is not empty"; return 1; }
}
expect_absent() {
    [ ! -e "$1" ] || { WHY="$1 exists but nothing should have been installed"; return 1; }
}
expect_no_temp_files() {
    local left
    left=$(find "$1" -maxdepth 1 -name '.alp-install*' 2>/dev/null)
    [ -z "$left" ] || { WHY="temp files left behind: $left"; return 1; }
}
expect_no_requests() {
    [ "$(requests_served)" -eq "$REQUESTS_BEFORE" ] ||
        { WHY="install.sh reached the network ($(($(requests_served) - REQUESTS_BEFORE)) requests)"; return 1; }
}

# t NAME: run case_NAME with a fresh install directory $D and report it.
t() {
    local name=$1
    D=$T/case-$name/bin
    WHY='' OUT='' ERR='' RC=''
    REQUESTS_BEFORE=$(requests_served)
    if "case_$name"; then
        pass "$name"
    elif [ "$WHY" = SKIP ]; then
        skip "$name" "$SKIP_WHY"
    else
        fail "$name" "$WHY"
        printf '  exit: %s\n  stdout: %s\n  stderr: %s\n' "$RC" "$OUT" "$ERR" | sed 's/^/  /'
    fi
}

# ------------------------------------------------------------------------------ cases

case_help_prints_usage_and_touches_nothing() {
    run sh "$SCRIPT" -h
    expect_ok && expect_in "$OUT" usage: && expect_in "$OUT" ALP_INSTALL_DIR &&
        expect_in "$OUT" ALP_VERSION && expect_in "$OUT" ALP_DOWNLOAD_URL && expect_no_requests
}

case_unknown_flag_is_one_error_line() {
    run sh "$SCRIPT" -x
    expect_failed && expect_error_line "unknown option: -x"
}

case_installs_latest_into_ALP_INSTALL_DIR() {
    run env ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$GOOD" sh "$SCRIPT"
    expect_ok && expect_installed "$D/alp" "$BIN_LATEST" && expect_in "$OUT" "installed $D/alp" &&
        expect_empty "$ERR" stderr
}

case_replaces_an_existing_binary() {
    mkdir -p "$D" && fake_binary "$D/alp" old
    run env ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$GOOD/" sh "$SCRIPT" -q
    expect_ok && expect_installed "$D/alp" "$BIN_LATEST"
}

case_root_default_is_usr_local_bin() {
    # A private mount namespace with a tmpfs over /usr/local/bin: the real default path,
    # without touching the host's.
    if ! unshare --mount true 2>/dev/null; then
        WHY=SKIP SKIP_WHY="unshare --mount not permitted here"
        return 1
    fi
    # shellcheck disable=SC2016 # expanded by the inner sh
    run unshare --mount sh -c '
        mount -t tmpfs tmpfs /usr/local/bin || exit 99
        ALP_DOWNLOAD_URL=$1 sh "$2" || exit $?
        cmp /usr/local/bin/alp "$3" || exit 98
        [ "$(stat -c %a /usr/local/bin/alp)" = 755 ] || exit 97
    ' sh "$GOOD" "$SCRIPT" "$BIN_LATEST"
    expect_ok && expect_in "$OUT" "installed /usr/local/bin/alp"
}

case_nonroot_default_is_home_local_bin() {
    local home=$T/home-nobody
    mkdir -p "$home" && chown nobody:nogroup "$home"
    run env -i HOME="$home" PATH=/usr/bin:/bin ALP_DOWNLOAD_URL="$GOOD" \
        setpriv --reuid=nobody --regid=nogroup --clear-groups sh "$SCRIPT"
    expect_ok && expect_installed "$home/.local/bin/alp" "$BIN_LATEST" &&
        expect_in "$OUT" "not on PATH" || return 1
    [ "$(stat -c %U "$home/.local/bin/alp")" = nobody ] || { WHY="alp not owned by nobody"; return 1; }
}

case_nonroot_unwritable_dir_is_one_error_line() {
    run env -i HOME=/nonexistent PATH=/usr/bin:/bin ALP_INSTALL_DIR=/usr/lib ALP_DOWNLOAD_URL="$GOOD" \
        setpriv --reuid=nobody --regid=nogroup --clear-groups sh "$SCRIPT"
    expect_failed && expect_error_line "cannot write to /usr/lib" && expect_absent /usr/lib/alp
}

case_pinned_version_gets_v_prefix() {
    run env ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$GOOD" ALP_VERSION=0.1.0 sh "$SCRIPT"
    expect_ok && expect_installed "$D/alp" "$BIN_PINNED" && expect_in "$OUT" v0.1.0
}

case_pinned_version_tag() {
    run env ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$GOOD" ALP_VERSION=v0.1.0 sh "$SCRIPT" -q
    expect_ok && expect_installed "$D/alp" "$BIN_PINNED"
}

case_bad_version_is_refused() {
    run env ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$GOOD" ALP_VERSION='../../x' sh "$SCRIPT"
    expect_failed && expect_error_line "invalid ALP_VERSION" && expect_no_requests
}

arch_case() { # arch_case UNAME-M PAYLOAD
    run env PATH="$T/fakeuname:$PATH" FAKE_ARCH="$1" ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$GOOD" sh "$SCRIPT" -q
    expect_ok && expect_installed "$D/alp" "$2"
}
case_arch_arm64_maps_to_aarch64() { arch_case arm64 "$BIN_ARM"; }
case_arch_aarch64() { arch_case aarch64 "$BIN_ARM"; }
case_arch_amd64_maps_to_x86_64() { arch_case amd64 "$BIN_LATEST"; }

case_unsupported_arch_is_one_clear_line() {
    run env PATH="$T/fakeuname:$PATH" FAKE_ARCH=mips64 ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$GOOD" sh "$SCRIPT"
    expect_failed && expect_error_line "unsupported architecture: mips64" &&
        expect_absent "$D/alp" && expect_no_requests
}

case_checksum_mismatch_installs_nothing() {
    mkdir -p "$D" && fake_binary "$D/alp" old && cp "$D/alp" "$T/old-alp"
    run env ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$NGINX_URL/badsum" sh "$SCRIPT"
    expect_failed && expect_error_line "checksum mismatch" && expect_no_temp_files "$D" || return 1
    cmp -s "$D/alp" "$T/old-alp" || { WHY="the old binary was changed"; return 1; }
}

case_missing_sums_entry_installs_nothing() {
    run env ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$NGINX_URL/noentry" sh "$SCRIPT"
    expect_failed && expect_error_line "$NGINX_URL/noentry/latest/download/SHA256SUMS has no valid entry for alp-$X86" && expect_absent "$D/alp" &&
        expect_no_temp_files "$D"
}

case_no_sha256_tool_fails_closed() {
    local p
    p=$(tools_path nohash sha256sum shasum openssl)
    run env PATH="$p" ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$GOOD" /bin/sh "$SCRIPT"
    expect_failed && expect_error_line "no SHA-256 tool found" && expect_absent "$D/alp" &&
        expect_no_requests
}

case_shasum_when_no_sha256sum() {
    local p
    p=$(tools_path shasum sha256sum)
    run env PATH="$p" ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$GOOD" /bin/sh "$SCRIPT" -v
    expect_ok && expect_installed "$D/alp" "$BIN_LATEST" && expect_in "$ERR" "sha256 tool: shasum"
}

case_openssl_when_no_sha256sum_or_shasum() {
    local p
    p=$(tools_path openssl sha256sum shasum)
    run env PATH="$p" ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$GOOD" /bin/sh "$SCRIPT" -v
    expect_ok && expect_installed "$D/alp" "$BIN_LATEST" && expect_in "$ERR" "sha256 tool: openssl"
}

case_openssl_catches_a_mismatch_too() {
    local p
    p=$(tools_path openssl sha256sum shasum)
    run env PATH="$p" ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$NGINX_URL/badsum" /bin/sh "$SCRIPT"
    expect_failed && expect_error_line "checksum mismatch" && expect_absent "$D/alp"
}

case_404_is_a_clear_message() {
    run env ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$NGINX_URL/empty" sh "$SCRIPT"
    expect_failed && expect_error_line "cannot download $NGINX_URL/empty/latest/download/SHA256SUMS" &&
        expect_in "$ERR" 404 && expect_absent "$D/alp" && expect_no_temp_files "$D"
}

case_404_on_the_binary_names_it() {
    run env ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$NGINX_URL/nobinary" sh "$SCRIPT"
    expect_failed && expect_error_line "cannot download $NGINX_URL/nobinary/latest/download/alp-$X86" &&
        expect_in "$ERR" 404 && expect_absent "$D/alp" && expect_no_temp_files "$D"
}

case_wget_when_no_curl() {
    local p before
    need wget wget
    p=$(tools_path nocurl curl)
    before=$(requests_served)
    run env PATH="$p" ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$GOOD" /bin/sh "$SCRIPT"
    expect_ok && expect_installed "$D/alp" "$BIN_LATEST" || return 1
    tail -n +"$((before + 1))" "$NGINX_LOG" | grep -q Wget || { WHY="nginx saw no Wget request"; return 1; }
}

case_wget_404_is_a_clear_message() {
    local p
    p=$(tools_path nocurl curl)
    run env PATH="$p" ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$NGINX_URL/empty" /bin/sh "$SCRIPT"
    expect_failed && expect_error_line "cannot download" && expect_in "$ERR" 404 && expect_absent "$D/alp"
}

case_wget_checksum_mismatch_installs_nothing() {
    local p
    p=$(tools_path nocurl curl)
    run env PATH="$p" ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$NGINX_URL/badsum" /bin/sh "$SCRIPT"
    expect_failed && expect_error_line "checksum mismatch" && expect_absent "$D/alp"
}

case_no_curl_no_wget_is_a_clear_error() {
    local p
    p=$(tools_path nodl curl wget)
    run env PATH="$p" ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$GOOD" /bin/sh "$SCRIPT"
    expect_failed && expect_error_line "neither curl nor wget found" && expect_absent "$D/alp" &&
        expect_no_requests
}

case_plain_http_refused_unless_loopback() {
    local url
    for url in http://example.com/releases http://127.0.0.1@example.com http://127.0.0.1:80x \
        ftp://127.0.0.1/x file:///tmp; do
        run env ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$url" sh "$SCRIPT"
        expect_failed && expect_error_line "refusing ALP_DOWNLOAD_URL=$url" || return 1
    done
    expect_absent "$D/alp" && expect_no_requests
}

case_https_only_for_curl() {
    # The loopback exception is for the base URL given; curl itself is told https only
    # otherwise. A https URL to a closed port fails as a download error, not a refusal.
    run env ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="https://127.0.0.1:1/x" sh "$SCRIPT"
    expect_failed && expect_error_line "cannot download https://127.0.0.1:1/x/latest/download/SHA256SUMS"
}

case_truncated_script_runs_nothing() {
    # What `curl | sh` does with a cut-short download: the first half, and every shorter
    # whole-line prefix, fed to sh on stdin. Nothing may be installed or fetched.
    local size lines n
    size=$(wc -c <"$SCRIPT")
    lines=$(wc -l <"$SCRIPT")
    export ALP_INSTALL_DIR=$D ALP_DOWNLOAD_URL=$GOOD
    head -c "$((size / 2))" "$SCRIPT" | sh >"$T/trunc.out" 2>&1
    for n in $(seq 1 "$((lines - 1))"); do
        head -n "$n" "$SCRIPT" | sh >>"$T/trunc.out" 2>&1
    done
    unset ALP_INSTALL_DIR ALP_DOWNLOAD_URL
    OUT=$(grep -v 'Syntax error' "$T/trunc.out" | head -5)
    expect_absent "$D" && expect_no_requests && expect_empty "$OUT" "output of the truncated script"
}

case_last_line_is_the_only_call() {
    [ "$(tail -n 1 "$SCRIPT")" = 'main "$@"' ] || { WHY="last line is not: main \"\$@\""; return 1; }
}

case_quiet_prints_nothing() {
    run env ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$GOOD" sh "$SCRIPT" -q
    expect_ok && expect_installed "$D/alp" "$BIN_LATEST" && expect_empty "$OUT$ERR" "output of -q"
}

case_verbose_shows_urls_and_hashes() {
    run env ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$GOOD" sh "$SCRIPT" -v
    expect_ok && expect_in "$ERR" "GET $GOOD/latest/download/alp-$X86" && expect_in "$ERR" "sha256 actual"
}

case_runs_under_busybox_sh() {
    command -v busybox >/dev/null || need busybox busybox-static
    run env ALP_INSTALL_DIR="$D" ALP_DOWNLOAD_URL="$GOOD" busybox sh "$SCRIPT"
    expect_ok && expect_installed "$D/alp" "$BIN_LATEST"
}

case_shellcheck_clean() {
    need shellcheck shellcheck
    run shellcheck -s sh "$SCRIPT"
    expect_ok
}

# ------------------------------------------------------------------------------- main

main() {
    [ "$(id -u)" = 0 ] || die "run as root (starts nginx, uses setpriv and unshare)"
    need curl curl
    need python3 python3
    need setpriv util-linux
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    setup
    local c
    for c in $(declare -F | awk '$3 ~ /^case_/ { sub(/^case_/, "", $3); print $3 }'); do
        t "$c"
    done
    finish
}

main "$@"
