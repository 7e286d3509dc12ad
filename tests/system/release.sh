#!/usr/bin/env bash
# System test: the shipped (release, static) binary has no test hooks. Test builds abort at
# `ALP_TEST_FAILPOINT=<name>` (the `failpoints` feature, which only the tests turn on); the
# release binary must ignore the variable at every point and install normally.
#
#   bash tests/system/release.sh        (from the repo root)

set -u -o pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$REPO/tests/system/lib.sh"

static_alp "$REPO"
T=$(mktemp -d /tmp/alp-release.XXXXXX)
trap 'rm -rf "$T"' EXIT

for point in staging before-journal after-journal mid-commit after-commit; do
    root=$T/$point
    mkdir -p "$root/etc/alp/keys"
    cp "$REPO/examples/keys/example.pub" "$root/etc/alp/keys/"
    if ALP_TEST_FAILPOINT=$point "$BIN" --root "$root" --repo "$REPO/examples/repo" --quiet install hello >"$T/out" 2>&1 &&
        [ -x "$root/usr/local/bin/hello" ]; then
        pass "the release binary ignores ALP_TEST_FAILPOINT=$point"
    else
        fail "ALP_TEST_FAILPOINT=$point" "$(cat "$T/out")"
    fi
done
if grep -q "test failpoint" "$BIN"; then
    fail "failpoint code" "the release binary contains the failpoint message"
else
    pass "the release binary carries no failpoint code"
fi
finish
