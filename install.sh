#!/bin/sh
# install.sh: put the static alp binary on a bare Linux host, checksum verified.
#
#   curl -fsSL https://github.com/alp-pm/alp/releases/latest/download/install.sh | sh
#   curl -fsSL .../install.sh | sh -s -- -q          # flags after `sh -s --`
#
# Release asset layout (what ALP_DOWNLOAD_URL, or a mirror of it, must serve):
#   $ALP_DOWNLOAD_URL/download/$VERSION/alp-$TARGET   the static binary
#   $ALP_DOWNLOAD_URL/download/$VERSION/SHA256SUMS    sha256sum(1) lines: "<hex>  alp-$TARGET"
# and for ALP_VERSION=latest (GitHub's redirect to the newest release):
#   $ALP_DOWNLOAD_URL/latest/download/alp-$TARGET
#   $ALP_DOWNLOAD_URL/latest/download/SHA256SUMS
# TARGET is x86_64-unknown-linux-musl or aarch64-unknown-linux-musl. VERSION is the
# release tag (v0.1.0); a bare number (0.1.0) gets the "v".
#
# Why it is shaped like this:
# - The file is nothing but function definitions; the one call to main is the last line,
#   so a download cut short defines a few functions (or hits a syntax error) and runs nothing.
# - It never prompts: it runs unattended in Dockerfiles and provisioning scripts.
# - Verification fails closed: a checksum mismatch, a SHA256SUMS without our entry, or no
#   SHA-256 tool at all means nothing is installed and the exit code is non-zero.
# - The binary is written to a temp file inside the install directory and renamed over
#   the old one, so DIR/alp is always either the old binary or the complete new one.
# - Only https:// is fetched; plain http:// is allowed for a loopback mirror (tests).

ALP_DEFAULT_DOWNLOAD_URL=https://github.com/alp-pm/alp/releases

usage() {
    cat <<'EOF'
install.sh: install the alp binary (static, SHA-256 verified)

usage: sh install.sh [-q] [-v] [-h]
       curl -fsSL https://github.com/alp-pm/alp/releases/latest/download/install.sh | sh -s -- [-q] [-v]

options:
  -q, --quiet    print nothing but errors
  -v, --verbose  print each step (URLs, checksums, paths)
  -h, --help     print this help and exit

environment:
  ALP_INSTALL_DIR   directory for the alp binary
                    (default: /usr/local/bin as root, else ~/.local/bin)
  ALP_VERSION       release tag to install, e.g. v0.1.0 (default: latest)
  ALP_DOWNLOAD_URL  release base URL or mirror
                    (default: https://github.com/alp-pm/alp/releases)
EOF
}

say() {
    if [ "$QUIET" = 0 ]; then
        printf 'alp-install: %s\n' "$*"
    fi
}

debug() {
    if [ "$VERBOSE" = 1 ]; then
        printf 'alp-install: %s\n' "$*" >&2
    fi
}

die() {
    printf 'alp-install: error: %s\n' "$*" >&2
    exit 1
}

have() {
    command -v "$1" >/dev/null 2>&1
}

last_line() {
    printf '%s\n' "$1" | awk 'NF { line = $0 } END { print line }'
}

parse_args() {
    while [ $# -gt 0 ]; do
        case $1 in
            -h | --help) usage; exit 0 ;;
            -q | --quiet) QUIET=1 VERBOSE=0 ;;
            -v | --verbose) VERBOSE=1 QUIET=0 ;;
            --) shift; break ;;
            -[qvh]?*)
                # Combined short options (-qv): take the first letter, put the rest back.
                rest=${1#-?}
                first=${1%"$rest"}
                shift
                set -- "$first" "-$rest" "$@"
                continue
                ;;
            -*) die "unknown option: $1 (try -h)" ;;
            *) break ;;
        esac
        shift
    done
    if [ $# -gt 0 ]; then
        die "unexpected argument: $1 (settings come from the environment; try -h)"
    fi
}

# Sets TARGET from uname; the release ships Linux musl binaries only.
detect_target() {
    os=$(uname -s)
    arch=$(uname -m)
    case $os in
        Linux) ;;
        *) die "unsupported operating system: $os (alp ships Linux binaries only)" ;;
    esac
    case $arch in
        x86_64 | amd64) TARGET=x86_64-unknown-linux-musl ;;
        aarch64 | arm64) TARGET=aarch64-unknown-linux-musl ;;
        *) die "unsupported architecture: $arch" ;;
    esac
    debug "target: $TARGET"
}

# True when URL is http:// to 127.0.0.1, localhost or [::1], with at most a numeric port.
is_loopback_http() {
    case $1 in
        http://*) ;;
        *) return 1 ;;
    esac
    authority=${1#http://}
    authority=${authority%%/*}
    case $authority in
        '[::1]' | 127.0.0.1 | localhost) return 0 ;;
        '[::1]:'* | 127.0.0.1:* | localhost:*) port=${authority##*:} ;;
        *) return 1 ;;
    esac
    case $port in
        '' | *[!0-9]*) return 1 ;;
    esac
    return 0
}

# Sets BASE_URL (no trailing slash) and refuses anything but https or a loopback mirror.
choose_base_url() {
    BASE_URL=${ALP_DOWNLOAD_URL:-$ALP_DEFAULT_DOWNLOAD_URL}
    while [ "${BASE_URL%/}" != "$BASE_URL" ]; do
        BASE_URL=${BASE_URL%/}
    done
    case $BASE_URL in
        https://?*) ;;
        *)
            is_loopback_http "$BASE_URL" ||
                die "refusing ALP_DOWNLOAD_URL=$BASE_URL: it must be https:// (plain http:// only for 127.0.0.1 or localhost)"
            ;;
    esac
    debug "download base: $BASE_URL"
}

# Sets VERSION and RELEASE_URL (the directory holding alp-$TARGET and SHA256SUMS).
choose_release() {
    VERSION=${ALP_VERSION:-latest}
    case $VERSION in
        '' | *[!A-Za-z0-9._+-]*) die "invalid ALP_VERSION: '$VERSION' (use a release tag such as v0.1.0, or latest)" ;;
        latest) RELEASE_URL=$BASE_URL/latest/download ;;
        *)
            case $VERSION in [0-9]*) VERSION=v$VERSION ;; esac
            RELEASE_URL=$BASE_URL/download/$VERSION
            ;;
    esac
    debug "release: $RELEASE_URL"
}

# Sets INSTALL_DIR and makes sure it exists and is writable.
choose_install_dir() {
    if [ -n "${ALP_INSTALL_DIR:-}" ]; then
        INSTALL_DIR=$ALP_INSTALL_DIR
    elif [ "$(id -u)" = 0 ]; then
        INSTALL_DIR=/usr/local/bin
    elif [ -n "${HOME:-}" ]; then
        INSTALL_DIR=$HOME/.local/bin
    else
        die "HOME is not set; set ALP_INSTALL_DIR to choose where alp goes"
    fi
    mkdir -p "$INSTALL_DIR" 2>/dev/null ||
        die "cannot create $INSTALL_DIR (run as root, or set ALP_INSTALL_DIR to a directory you own)"
    [ -w "$INSTALL_DIR" ] ||
        die "cannot write to $INSTALL_DIR (run as root, or set ALP_INSTALL_DIR to a directory you own)"
    debug "install dir: $INSTALL_DIR"
}

# Sets SHA256_TOOL; with none of the three there is no way to verify, so nothing installs.
choose_sha256_tool() {
    for tool in sha256sum shasum openssl; do
        if have "$tool"; then
            SHA256_TOOL=$tool
            debug "sha256 tool: $tool"
            return 0
        fi
    done
    die "no SHA-256 tool found (sha256sum, shasum or openssl); refusing to install an unverified binary"
}

# Sets DOWNLOADER to curl or wget.
choose_downloader() {
    if have curl; then
        DOWNLOADER=curl
    elif have wget; then
        case $(wget --version 2>/dev/null) in
            *'GNU Wget'*) DOWNLOADER=wget ;;
            *) DOWNLOADER=busybox-wget ;;
        esac
    else
        die "neither curl nor wget found; install one of them and run this again"
    fi
    debug "downloader: $DOWNLOADER"
}

# download URL DEST: fetch URL into the file DEST, or exit with one line saying why.
download() {
    debug "GET $1"
    proto='=https'
    if is_loopback_http "$1"; then
        proto='=http,https'
    fi
    case $DOWNLOADER in
        curl)
            output=$(curl --proto "$proto" --tlsv1.2 -fsSL --connect-timeout 10 --max-time 300 \
                --retry 3 -o "$2" "$1" 2>&1) && return 0
            ;;
        wget)
            output=$(wget -nv --secure-protocol=TLSv1_2 --dns-timeout=10 --connect-timeout=10 \
                --read-timeout=60 --tries=3 -O "$2" "$1" 2>&1) && return 0
            ;;
        busybox-wget)
            output=$(wget -q -T 60 -O "$2" "$1" 2>&1) && return 0
            ;;
    esac
    die "cannot download $1: $(last_line "${output:-$DOWNLOADER failed}" | sed 's/^.*ERROR/ERROR/')"
}

# sha256_of FILE: print the lowercase hex SHA-256 of FILE (read on stdin, so odd names are safe).
sha256_of() {
    case $SHA256_TOOL in
        sha256sum) sha256sum <"$1" | awk '{ print tolower($1) }' ;;
        shasum) shasum -a 256 <"$1" | awk '{ print tolower($1) }' ;;
        openssl) openssl dgst -sha256 <"$1" | awk '{ print tolower($NF) }' ;;
    esac
}

# expected_sha256 SUMS NAME: print the well-formed hash SUMS lists for NAME, or nothing.
expected_sha256() {
    awk -v name="$2" '
        { sub(/\r$/, "") }
        $2 == name || $2 == "*" name {
            h = tolower($1)
            if (length(h) == 64 && h !~ /[^0-9a-f]/) { print h; exit }
        }' "$1"
}

cleanup() {
    if [ -n "${TMP_BIN:-}" ]; then
        rm -f "$TMP_BIN"
    fi
    if [ -n "${TMP_SUMS:-}" ]; then
        rm -f "$TMP_SUMS"
    fi
}

# Both temp files live in INSTALL_DIR so the final mv is a rename on one filesystem.
make_temp_files() {
    trap cleanup EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
    TMP_BIN=$(mktemp "$INSTALL_DIR/.alp-install.XXXXXX") ||
        die "cannot create a temp file in $INSTALL_DIR"
    TMP_SUMS=$(mktemp "$INSTALL_DIR/.alp-install-sums.XXXXXX") ||
        die "cannot create a temp file in $INSTALL_DIR"
}

verify() {
    expected=$(expected_sha256 "$TMP_SUMS" "alp-$TARGET")
    [ -n "$expected" ] ||
        die "$RELEASE_URL/SHA256SUMS has no valid entry for alp-$TARGET; nothing installed"
    actual=$(sha256_of "$TMP_BIN")
    [ "${#actual}" = 64 ] ||
        die "$SHA256_TOOL could not hash the download; nothing installed"
    debug "sha256 expected $expected"
    debug "sha256 actual   $actual"
    [ "$actual" = "$expected" ] ||
        die "checksum mismatch for $RELEASE_URL/alp-$TARGET (expected $expected, got $actual); nothing installed"
}

put_in_place() {
    chmod 755 "$TMP_BIN" || die "cannot chmod $TMP_BIN"
    mv -f "$TMP_BIN" "$INSTALL_DIR/alp" || die "cannot move the new binary to $INSTALL_DIR/alp"
    TMP_BIN=
}

path_hint() {
    case :${PATH:-}: in
        *:"$INSTALL_DIR":*) ;;
        *) say "note: $INSTALL_DIR is not on PATH; add it with: export PATH=\"$INSTALL_DIR:\$PATH\"" ;;
    esac
}

main() {
    set -u
    QUIET=0 VERBOSE=0 TMP_BIN='' TMP_SUMS=''
    parse_args "$@"
    detect_target
    choose_base_url
    choose_release
    choose_sha256_tool
    choose_downloader
    choose_install_dir
    make_temp_files
    say "downloading alp $VERSION for $TARGET"
    download "$RELEASE_URL/SHA256SUMS" "$TMP_SUMS"
    download "$RELEASE_URL/alp-$TARGET" "$TMP_BIN"
    verify
    put_in_place
    say "installed $INSTALL_DIR/alp ($VERSION, sha256 verified)"
    path_hint
}

main "$@"
