#!/usr/bin/env bash
# System test: the SBOMs alp keeps and prints (issue 17) are valid documents for the tools
# scanners use: CycloneDX 1.5 JSON checked against its schema by cyclonedx-python-lib, SPDX 2.3
# JSON parsed and validated by spdx-tools (both from PyPI, in a throwaway venv). Also their
# content: every installed package with its version, archive sha256 and purl, the dependency
# edges, removed packages gone, and the kept var/lib/alp/sbom.cdx.json rewritten by install,
# upgrade and remove.
#
#   bash tests/system/sbom.sh        (from the repo root)

set -u -o pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$REPO/tests/system/lib.sh"

static_alp "$REPO"
T=$(mktemp -d /tmp/alp-sbom.XXXXXX)
trap 'rm -rf "$T"' EXIT

VENV=${ALP_SBOM_VENV:-/tmp/alp-sbom-venv}
if [ ! -x "$VENV/bin/pyspdxtools" ]; then
    python3 -m venv "$VENV" || die "python3 -m venv failed"
    "$VENV/bin/pip" install -q 'cyclonedx-python-lib[json-validation]' spdx-tools >"$T/pip.log" 2>&1 ||
        { cat "$T/pip.log"; die "pip install of the SBOM validators failed"; }
fi
PY=$VENV/bin/python

# A signed repository: tool 1.0 and 2.0 depending on libz, which carries its own purl and cpe.
KEY=$REPO/examples/keys/example.key
mkdir -p "$T/repo"
mkpkg() { # NAME VERSION DEPENDS-JSON EXTRA-JSON
    local d=$T/src/$1-$2
    mkdir -p "$d/.ALP" "$d/usr/share/$1"
    printf '{"name":"%s","version":"%s","description":"%s for the SBOM test","author":"Example Org","license":"%s","depends":%s%s}\n' \
        "$1" "$2" "$1" "${5:-MIT}" "$3" "$4" >"$d/.ALP/package.json"
    echo "$1 $2" >"$d/usr/share/$1/VERSION"
    "$BIN" --quiet build "$d" -o "$T/repo" >/dev/null || die "building $1 $2"
}
mkpkg libz 1.3 '[]' ',"purl":"pkg:github/madler/zlib@v1.3","cpe":"cpe:2.3:a:zlib:zlib:1.3:*:*:*:*:*:*:*"' Zlib
mkpkg tool 1.0 '["libz>=1.2"]' ''
mkpkg tool 2.0 '["libz>=1.2"]' '' 'Some Custom License'
mkpkg extra 1.0 '[]' ''
"$BIN" --quiet index "$T/repo" --sign "$KEY" >/dev/null || die "alp index failed"

ROOT=$T/root
mkdir -p "$ROOT/etc/alp/keys"
cp "$REPO/examples/keys/example.pub" "$ROOT/etc/alp/keys/"
alp_() { "$BIN" --root "$ROOT" --repo "$T/repo" --quiet "$@"; }

# check_cdx FILE EXPECT: the CycloneDX document validates against the 1.5 schema and holds
# exactly the packages EXPECT names ("name@version ..."), with sha256 and purl of each, and the
# dependency edge tool -> libz when tool is there.
check_cdx() {
    "$PY" - "$1" "$2" "$T/repo/index.json" <<'PY'
import json, sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
text = open(sys.argv[1]).read()
err = JsonStrictValidator(SchemaVersion.V1_5).validate_str(text)
if err:
    sys.exit(f"schema: {err}")
doc = json.loads(text)
index = {(p["name"], p["version"]): p for p in json.load(open(sys.argv[3]))["packages"]}
want = set(sys.argv[2].split())
got = {f'{c["name"]}@{c["version"]}' for c in doc["components"]}
if got != want:
    sys.exit(f"components {got}, expected {want}")
for c in doc["components"]:
    p = index[(c["name"], c["version"])]
    if c["hashes"][0]["content"] != p["sha256"]:
        sys.exit(f"{c['name']}: sha256 {c['hashes']} vs {p['sha256']}")
    purl = p.get("purl") or f"pkg:generic/{c['name']}@{c['version']}?download_url="
    if not c["purl"].startswith(purl):
        sys.exit(f"{c['name']}: purl {c['purl']}, expected {purl}")
deps = {d["ref"]: d["dependsOn"] for d in doc["dependencies"]}
for ref, on in deps.items():
    if ref.startswith("alp:tool@") and not any(o.startswith("alp:libz@") for o in on):
        sys.exit(f"tool does not depend on libz: {deps}")
if doc["metadata"]["tools"]["components"][0]["name"] != "alp":
    sys.exit("the tool is not named")
PY
}

alp_ install tool=1.0 extra >/dev/null 2>&1 || die "install failed"
if check_cdx "$ROOT/var/lib/alp/sbom.cdx.json" "tool@1.0 libz@1.3 extra@1.0" 2>"$T/err"; then
    pass "install keeps a schema-valid CycloneDX 1.5 SBOM with every package, its sha256, purl and dependencies"
else
    fail "kept SBOM after install" "$(cat "$T/err")"
fi
alp_ sbom >"$T/out.cdx.json"
if check_cdx "$T/out.cdx.json" "tool@1.0 libz@1.3 extra@1.0" 2>"$T/err"; then
    pass "alp sbom prints the same valid CycloneDX document"
else
    fail "alp sbom" "$(cat "$T/err")"
fi
alp_ sbom --format spdx -o "$T/out.spdx.json" >/dev/null
if "$VENV/bin/pyspdxtools" -i "$T/out.spdx.json" >"$T/err" 2>&1 &&
    "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
names = {p["name"] for p in d["packages"]}
assert names == {"tool", "libz", "extra"}, names
assert any(r["relationshipType"] == "DEPENDS_ON" for r in d["relationships"]), d["relationships"]
z = [p for p in d["packages"] if p["name"] == "libz"][0]
assert any(r["referenceLocator"].startswith("pkg:github/madler/zlib") for r in z["externalRefs"]), z
assert any(r["referenceType"] == "cpe23Type" for r in z["externalRefs"]), z
' "$T/out.spdx.json" >>"$T/err" 2>&1; then
    pass "alp sbom --format spdx writes a valid SPDX 2.3 document (spdx-tools) with purl, cpe and dependencies"
else
    fail "SPDX document" "$(cat "$T/err")"
fi
alp_ install 'tool>=2' >/dev/null 2>&1 || die "upgrade failed"
if check_cdx "$ROOT/var/lib/alp/sbom.cdx.json" "tool@2.0 libz@1.3 extra@1.0" 2>"$T/err"; then
    pass "upgrade rewrites the kept SBOM (a custom license is carried as text)"
else
    fail "kept SBOM after upgrade" "$(cat "$T/err")"
fi
alp_ sbom --format spdx -o "$T/up.spdx.json" >/dev/null
if "$VENV/bin/pyspdxtools" -i "$T/up.spdx.json" >"$T/err" 2>&1; then
    pass "an SPDX document with a license that is not an SPDX id still validates (LicenseRef)"
else
    fail "SPDX with a custom license" "$(cat "$T/err")"
fi
alp_ remove extra >/dev/null 2>&1 || die "remove failed"
if check_cdx "$ROOT/var/lib/alp/sbom.cdx.json" "tool@2.0 libz@1.3" 2>"$T/err"; then
    pass "remove takes the package out of the kept SBOM"
else
    fail "kept SBOM after remove" "$(cat "$T/err")"
fi
# Same state, same document (but for its timestamp).
a=$(alp_ sbom | sed 's/"timestamp":"[^"]*"//')
b=$(alp_ sbom | sed 's/"timestamp":"[^"]*"//')
if [ -n "$a" ] && [ "$a" = "$b" ] && alp_ doctor >/dev/null 2>&1; then
    pass "the document is stable for a state, and doctor agrees with the kept one"
else
    fail "stable document" "differs, or doctor complains"
fi
finish
