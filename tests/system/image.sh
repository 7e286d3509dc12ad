#!/usr/bin/env bash
# System test of the alp image and its three documented uses (SPEC sections 1, 9, 12):
#   a) the real Dockerfile builds FROM scratch from the prebuilt static binary, holds only
#      /alp and the CA bundle, fits 3 MiB, carries the OCI labels, never pulls rust;
#   b) another image takes alp with COPY --from (and RUN --mount=from) and installs `hello`
#      from a real nginx serving examples/repo on 127.0.0.1, then runs it;
#   c) `alp init --` as the entrypoint: installs ALP_PACKAGES at start, takes the fast path
#      when they are installed, passes the exit code, and as PID 1 (unshare --pid) reaps
#      orphans and forwards SIGTERM.
#
#   bash tests/system/image.sh        (from the repo root, as root)
#
# Needs target/x86_64-unknown-linux-musl/release/alp (cargo build --release --locked
# --target x86_64-unknown-linux-musl). buildah runs with chroot isolation and the vfs
# driver in a private store under a temp dir, so it touches no other image and needs no
# registry. Prints PASS/FAIL per case, "N passed, N failed, N skipped", and exits non-zero
# when anything failed.

# "A && B || fail" is meant: the failure branch runs when any link of the chain fails.
# shellcheck disable=SC2015
set -u -o pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$REPO/tests/system/lib.sh"

BIN=$REPO/target/x86_64-unknown-linux-musl/release/alp
# The binary's budget (3 MiB, scripts/test.sh) plus the CA bundle the image carries beside it.
BUDGET=$((3 * 1024 * 1024 + $(stat -c %s /etc/ssl/certs/ca-certificates.crt)))
ALP_IMAGE=localhost/alp-test:latest
APP_IMAGE=localhost/alp-test-app:latest
CONSUMER_IMAGE=localhost/alp-test-consumer:latest
MOUNT_FROM_IMAGE=localhost/alp-test-mount-from:latest
export BUILDAH_ISOLATION=chroot

# Every buildah call: the private store, the vfs driver. BUILDAH is set once T exists.
BUILDAH=()
b() { "${BUILDAH[@]}" "$@"; }

cleanup() {
    stop_nginx
    if [ -n "${T:-}" ] && [ -d "$T/storage" ]; then
        b umount -a >/dev/null 2>&1
        b rm -a >/dev/null 2>&1
        b rmi -a -f >/dev/null 2>&1
    fi
    [ -n "${DIST_BIN:-}" ] && rm -f "$DIST_BIN" "$DIST_CA"
    [ -n "${DIST_CREATED:-}" ] && rmdir "$REPO/dist" 2>/dev/null
    [ -n "${T:-}" ] && rm -rf "$T"
}

# ---------------------------------------------------------------------------- helpers

WHY=''
# t NAME: run case_NAME and report it; a case returns 1 with WHY set, or WHY=SKIP.
t() {
    WHY='' SKIP_WHY=''
    if "case_$1"; then
        pass "$1"
    elif [ "$WHY" = SKIP ]; then
        skip "$1" "$SKIP_WHY"
    else
        fail "$1" "$WHY"
    fi
}
needs() { # needs FLAG WHAT: skip the case when an earlier step did not produce WHAT
    [ -n "$1" ] && return 0
    WHY=SKIP SKIP_WHY="needs $2"
    return 1
}
show() { # show LOG: the tail of a log, indented, after a failure
    sed 's/^/    | /' "$1" | tail -n "${2:-25}"
}
# run_logged LOG COMMAND...: run with a 120 s cap, output to LOG; RC holds the status.
run_logged() {
    local log=$1
    shift
    timeout 120 "$@" >"$log" 2>&1 </dev/null
    RC=$?
}

# A repository to install from: examples/repo when the lead's examples exist, else one
# made here to the SPEC section 3 format (one package, `hello`, a sh script).
make_repo() {
    if [ -f "$REPO/examples/repo/index.json" ]; then
        REPO_DIR=$REPO/examples/repo
        return
    fi
    printf 'note: examples/repo/index.json does not exist yet; serving a fixture repo\n'
    REPO_DIR=$T/repo
    mkdir -p "$T/hello/usr/local/bin" "$REPO_DIR"
    printf '#!/bin/sh\necho "Hello from alp"\n' >"$T/hello/usr/local/bin/hello"
    chmod 755 "$T/hello/usr/local/bin/hello"
    tar -C "$T/hello" --owner=0 --group=0 --numeric-owner --sort=name -czf \
        "$REPO_DIR/hello-1.0.0.tar.gz" usr
    python3 - "$REPO_DIR" <<'EOF'
import datetime, hashlib, json, os, sys
repo = sys.argv[1]
name = "hello-1.0.0.tar.gz"
data = open(os.path.join(repo, name), "rb").read()
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
index = {
    "format": "alp-index-1", "name": "fixture", "serial": 1, "generated": now, "expires": None,
    "packages": [{
        "name": "hello", "version": "1.0.0", "description": "Prints a greeting",
        "author": "alp tests", "license": "MIT", "category": "misc",
        "depends": [], "conflicts": [], "provides": [], "file": name,
        "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "installed_size": 32,
    }],
}
json.dump(index, open(os.path.join(repo, "index.json"), "w"), indent=1)
EOF
}

setup() {
    [ "$(id -u)" = 0 ] || die "run as root (buildah, nginx, unshare)"
    if [ ! -x "$BIN" ]; then
        fail prebuilt_binary_present "$BIN is missing; build it first: cargo build --release --locked --target x86_64-unknown-linux-musl"
        finish
        exit 1
    fi
    need buildah buildah
    need python3 python3
    apt_install busybox-static
    BUSYBOX=/bin/busybox
    case $(ldd "$BUSYBOX" 2>&1) in
        *'not a dynamic'*) ;;
        *) die "$BUSYBOX is not static (install busybox-static)" ;;
    esac

    T=$(mktemp -d /tmp/alp-image-test.XXXXXX)
    chmod 755 "$T"
    BUILDAH=(buildah --root "$T/storage" --runroot "$T/run" --storage-driver vfs)
    VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$REPO/Cargo.toml" | head -n 1)
    make_repo
    start_nginx "$REPO_DIR" "$T/nginx"
    REPO_URL=$NGINX_URL
    printf 'note: repo %s served at %s; image store %s\n' "$REPO_DIR" "$REPO_URL" "$T/storage"
}

# ------------------------------------------------------------------------- a) the image

ALP_IMAGE_OK=''
case_alp_image_builds_from_prebuilt_binary_without_rust() {
    # Unique names under dist/ (let into the context by .dockerignore), removed on exit.
    [ -d "$REPO/dist" ] || { mkdir "$REPO/dist" && DIST_CREATED=1; }
    DIST_BIN=$REPO/dist/alp.image-test.$$
    DIST_CA=$REPO/dist/ca-certificates.image-test.$$.crt
    cp "$BIN" "$DIST_BIN" && cp /etc/ssl/certs/ca-certificates.crt "$DIST_CA" ||
        { WHY="cannot stage the binary and CA bundle in dist/"; return 1; }
    run_logged "$T/build-alp.log" "${BUILDAH[@]}" bud --isolation chroot --pull=never \
        --build-arg ALP_SOURCE=prebuilt \
        --build-arg ALP_BINARY="dist/${DIST_BIN##*/}" \
        --build-arg ALP_CA_BUNDLE="dist/${DIST_CA##*/}" \
        --build-arg ALP_VERSION="$VERSION" \
        -f "$REPO/Dockerfile" -t "$ALP_IMAGE" "$REPO"
    if [ "$RC" -ne 0 ]; then
        WHY="buildah bud of the Dockerfile failed (exit $RC)"
        show "$T/build-alp.log"
        return 1
    fi
    if b images --format '{{.Name}}' | grep -q rust; then
        WHY="the prebuilt build pulled a rust image"
        return 1
    fi
    ALP_IMAGE_OK=1
}

case_alp_image_holds_only_alp_and_ca_bundle() {
    needs "$ALP_IMAGE_OK" "the alp image" || return 1
    local ctr mnt files
    ctr=$(b from --pull=never "$ALP_IMAGE") && mnt=$(b mount "$ctr") || { WHY="cannot mount the image"; return 1; }
    files=$(cd "$mnt" && find . -mindepth 1 | sort | tr '\n' ' ')
    SIZE=$(du -sb "$mnt" | cut -f1)
    cmp -s "$mnt/alp" "$BIN" || WHY="/alp differs from $BIN"
    cmp -s "$mnt/etc/ssl/certs/ca-certificates.crt" /etc/ssl/certs/ca-certificates.crt ||
        WHY="the CA bundle differs from the one given"
    [ "$(stat -c %a "$mnt/alp")" = 755 ] || WHY="/alp mode is $(stat -c %a "$mnt/alp"), expected 755"
    b umount "$ctr" >/dev/null
    b rm "$ctr" >/dev/null
    [ -z "$WHY" ] || return 1
    [ "$files" = "./alp ./etc ./etc/ssl ./etc/ssl/certs ./etc/ssl/certs/ca-certificates.crt " ] ||
        { WHY="unexpected contents: $files"; return 1; }
}

case_alp_image_within_budget() {
    needs "${SIZE:-}" "the image contents measured" || return 1
    printf '  image contents: %d bytes (budget %d)\n' "$SIZE" "$BUDGET"
    [ "$SIZE" -le "$BUDGET" ] || { WHY="$SIZE bytes > $BUDGET"; return 1; }
}

case_alp_image_labels_and_entrypoint() {
    needs "$ALP_IMAGE_OK" "the alp image" || return 1
    local problems
    problems=$(b inspect --type image "$ALP_IMAGE" | python3 -c '
import json, sys
version = sys.argv[1]
config = json.load(sys.stdin)["OCIv1"]["config"]
labels = config.get("Labels") or {}
want = {
    "org.opencontainers.image.source": "https://github.com/alp-pm/alp",
    "org.opencontainers.image.version": version,
    "org.opencontainers.image.licenses": "MIT",
    "org.opencontainers.image.title": "alp",
}
for key, value in want.items():
    if labels.get(key) != value:
        print(f"label {key}={labels.get(key)!r}, expected {value!r}")
if not labels.get("org.opencontainers.image.description"):
    print("no org.opencontainers.image.description label")
if config.get("Entrypoint") != ["/alp"]:
    print("entrypoint %r, expected ['/alp']" % (config.get("Entrypoint"),))
' "$VERSION" 2>&1)
    [ -z "$problems" ] || { WHY=$(printf '%s' "$problems" | tr '\n' ';'); return 1; }
}

case_alp_image_runs_alp_version() {
    needs "$ALP_IMAGE_OK" "the alp image" || return 1
    local ctr
    ctr=$(b from --pull=never "$ALP_IMAGE") || { WHY="buildah from failed"; return 1; }
    run_logged "$T/version.log" "${BUILDAH[@]}" run --isolation chroot "$ctr" -- /alp --version
    b rm "$ctr" >/dev/null
    [ "$RC" -eq 0 ] && grep -q "$VERSION" "$T/version.log" ||
        { WHY="/alp --version (exit $RC) did not print $VERSION"; show "$T/version.log" 5; return 1; }
}

# ------------------------------------------------------------- b) images that use alp

# One Dockerfile, four stages: busybox (a static shell, nothing else), app (plus alp via
# COPY --from, entrypoint init), consumer (app plus `hello` installed at build time),
# mount-from (busybox, alp only borrowed for one RUN).
write_consumer_dockerfile() {
    mkdir -p "$T/consumer"
    cp "$BUSYBOX" "$T/consumer/busybox"
    cat >"$T/consumer/Dockerfile" <<EOF
FROM scratch AS busybox
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

FROM busybox AS app
COPY --from=$ALP_IMAGE /alp /usr/local/bin/alp
ENTRYPOINT ["/usr/local/bin/alp", "init", "--"]

FROM app AS consumer
RUN alp --repo $REPO_URL --allow-untrusted install hello
RUN hello

FROM busybox AS mount-from
RUN --mount=from=$ALP_IMAGE,source=/alp,target=/bin/alp alp --repo $REPO_URL --allow-untrusted install hello && hello
EOF
}

build_stage() { # build_stage STAGE TAG
    run_logged "$T/build-$1.log" "${BUILDAH[@]}" bud --isolation chroot --network host --pull=never \
        --target "$1" -t "$2" "$T/consumer"
}

APP_OK='' CONSUMER_OK=''
case_app_image_copy_from_alp() {
    needs "$ALP_IMAGE_OK" "the alp image" || return 1
    write_consumer_dockerfile
    build_stage app "$APP_IMAGE"
    [ "$RC" -eq 0 ] || { WHY="build of stage app failed (exit $RC)"; show "$T/build-app.log"; return 1; }
    APP_OK=1
}

case_consumer_image_installs_and_runs_hello() {
    needs "$APP_OK" "the app image" || return 1
    local before
    before=$(requests_served)
    build_stage consumer "$CONSUMER_IMAGE"
    if [ "$RC" -ne 0 ]; then
        WHY="RUN alp ... install hello / RUN hello failed (exit $RC)"
        show "$T/build-consumer.log"
        return 1
    fi
    [ "$(requests_served)" -gt "$before" ] || { WHY="nginx served nothing during the build"; return 1; }
    local ctr
    ctr=$(b from --pull=never "$CONSUMER_IMAGE") || { WHY="buildah from failed"; return 1; }
    HELLO_OUT=$(timeout 60 "${BUILDAH[@]}" run --isolation chroot "$ctr" -- hello 2>&1)
    b rm "$ctr" >/dev/null
    [ -n "$HELLO_OUT" ] || { WHY="hello printed nothing"; return 1; }
    printf '  hello says: %s\n' "$HELLO_OUT"
    CONSUMER_OK=1
}

case_run_mount_from_installs_hello() {
    needs "$APP_OK" "the app image" || return 1
    build_stage mount-from "$MOUNT_FROM_IMAGE"
    [ "$RC" -eq 0 ] || { WHY="RUN --mount=from=... alp install hello failed (exit $RC)"; show "$T/build-mount-from.log"; return 1; }
}

# ----------------------------------------------------------------- c) alp init -- CMD

# init_in IMAGE LOG [ENV=VALUE...] -- ARGS...: a new container of IMAGE with ENV set,
# running `alp --repo URL --allow-untrusted init ARGS` (chroot isolation: not PID 1,
# so init works as a child subreaper). RC is the container's status.
init_in() {
    local image=$1 log=$2 ctr
    shift 2
    ctr=$(b from --pull=never "$image") || { RC=125; return; }
    while [ "$1" != -- ]; do
        b config --env "$1" "$ctr"
        shift
    done
    shift
    run_logged "$log" "${BUILDAH[@]}" run --isolation chroot --network host "$ctr" -- \
        /usr/local/bin/alp --repo "$REPO_URL" --allow-untrusted init "$@"
    b rm "$ctr" >/dev/null
}

case_init_installs_ALP_PACKAGES_then_runs_command() {
    needs "$APP_OK" "the app image" || return 1
    needs "${HELLO_OUT:-}" "hello's output from the consumer image" || return 1
    init_in "$APP_IMAGE" "$T/init-install.log" ALP_PACKAGES=hello -- -- hello
    [ "$RC" -eq 0 ] && grep -qF "$HELLO_OUT" "$T/init-install.log" ||
        { WHY="init -- hello (exit $RC) did not print hello's output"; show "$T/init-install.log"; return 1; }
}

case_init_fast_path_touches_no_network() {
    needs "$CONSUMER_OK" "the consumer image" || return 1
    local before
    before=$(requests_served)
    init_in "$CONSUMER_IMAGE" "$T/init-fast.log" ALP_PACKAGES=hello -- -- hello
    [ "$RC" -eq 0 ] && grep -qF "$HELLO_OUT" "$T/init-fast.log" ||
        { WHY="init -- hello (exit $RC) did not print hello's output"; show "$T/init-fast.log"; return 1; }
    [ "$(requests_served)" -eq "$before" ] ||
        { WHY="init fetched from the repo although hello was installed"; return 1; }
}

case_init_passes_the_exit_code() {
    needs "$APP_OK" "the app image" || return 1
    init_in "$APP_IMAGE" "$T/init-exit.log" -- -- sh -c 'exit 7'
    [ "$RC" -eq 7 ] || { WHY="exit $RC, expected 7"; show "$T/init-exit.log"; return 1; }
}

case_init_missing_command_is_127() {
    needs "$APP_OK" "the app image" || return 1
    init_in "$APP_IMAGE" "$T/init-127.log" -- -- /no/such/command
    [ "$RC" -eq 127 ] && grep -q 'alp: error:' "$T/init-127.log" ||
        { WHY="exit $RC, expected 127 and an 'alp: error:' line"; show "$T/init-127.log"; return 1; }
}

# as_pid1 IMAGE LOG ARGS...: alp init ARGS as PID 1 of a new PID namespace, chrooted into
# a container of IMAGE, with its own /proc and the host's /dev; runs in the background,
# PID1_PID is the unshare process.
as_pid1() {
    local image=$1 log=$2
    shift 2
    PID1_CTR=$(b from --pull=never "$image") && PID1_MNT=$(b mount "$PID1_CTR") || return 1
    mkdir -p "$PID1_MNT/proc" "$PID1_MNT/dev"
    # shellcheck disable=SC2016 # expanded by the inner sh
    timeout 30 unshare --pid --fork --kill-child --mount sh -c '
        root=$1; shift
        mount -t proc proc "$root/proc" && mount --bind /dev "$root/dev" || exit 99
        exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            chroot "$root" /usr/local/bin/alp "$@"' sh "$PID1_MNT" \
        --repo "$REPO_URL" --allow-untrusted init "$@" >"$log" 2>&1 </dev/null &
    PID1_PID=$!
}
pid1_done() {
    b umount "$PID1_CTR" >/dev/null
    b rm "$PID1_CTR" >/dev/null
}

case_init_as_pid1_reaps_orphans() {
    needs "$CONSUMER_OK" "the consumer image" || return 1
    # The child leaves an orphan (sleep 0.3, reparented to PID 1), waits for it to die,
    # then counts zombies. Unreaped, the orphan would show as state Z.
    # shellcheck disable=SC2016 # expanded by busybox sh in the container
    as_pid1 "$CONSUMER_IMAGE" "$T/pid1.log" -- sh -c '
        echo "pid1=$(cat /proc/1/comm) self=$$"
        sh -c "sleep 0.3 &"
        sleep 1
        z=0
        for s in /proc/[0-9]*/status; do grep -q "^State:.*Z" "$s" 2>/dev/null && z=$((z + 1)); done
        echo "zombies=$z"' || { WHY="cannot mount the consumer container"; return 1; }
    wait "$PID1_PID"
    RC=$?
    pid1_done
    [ "$RC" -eq 0 ] && grep -q '^pid1=alp self=[0-9]' "$T/pid1.log" && grep -q '^zombies=0$' "$T/pid1.log" ||
        { WHY="exit $RC; expected pid1=alp and zombies=0"; show "$T/pid1.log"; return 1; }
}

case_init_as_pid1_forwards_sigterm() {
    needs "$CONSUMER_OK" "the consumer image" || return 1
    as_pid1 "$CONSUMER_IMAGE" "$T/sigterm.log" -- sh -c '
        trap "echo got-term; exit 42" TERM
        echo ready
        while :; do sleep 0.1; done' || { WHY="cannot mount the consumer container"; return 1; }
    local alp_pid='' _
    for _ in $(seq 100); do
        grep -q ready "$T/sigterm.log" 2>/dev/null && break
        sleep 0.1
    done
    # timeout -> unshare -> (sh exec'd into) alp
    alp_pid=$(pgrep -P "$(pgrep -P "$PID1_PID" | head -n 1)" | head -n 1)
    if [ -n "$alp_pid" ] && grep -q ready "$T/sigterm.log"; then
        kill -TERM "$alp_pid"
        for _ in $(seq 100); do
            kill -0 "$PID1_PID" 2>/dev/null || break
            sleep 0.1
        done
    fi
    if kill -0 "$PID1_PID" 2>/dev/null; then
        kill "$PID1_PID" # timeout -> unshare, whose --kill-child takes alp down with it
        wait "$PID1_PID"
        pid1_done
        WHY="alp init did not exit within 10 s of SIGTERM (pid ${alp_pid:-not found})"
        show "$T/sigterm.log"
        return 1
    fi
    wait "$PID1_PID"
    RC=$?
    pid1_done
    [ "$RC" -eq 42 ] && grep -q got-term "$T/sigterm.log" ||
        { WHY="exit $RC after SIGTERM to alp (pid ${alp_pid:-not found}); expected 42 and got-term"; show "$T/sigterm.log"; return 1; }
}

# ------------------------------------------------------------------------------- main

main() {
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    setup
    t alp_image_builds_from_prebuilt_binary_without_rust
    t alp_image_holds_only_alp_and_ca_bundle
    t alp_image_within_budget
    t alp_image_labels_and_entrypoint
    t alp_image_runs_alp_version
    t app_image_copy_from_alp
    t consumer_image_installs_and_runs_hello
    t run_mount_from_installs_hello
    t init_installs_ALP_PACKAGES_then_runs_command
    t init_fast_path_touches_no_network
    t init_passes_the_exit_code
    t init_missing_command_is_127
    t init_as_pid1_reaps_orphans
    t init_as_pid1_forwards_sigterm
    finish
}

main "$@"
