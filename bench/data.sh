#!/usr/bin/env bash
# Builds the benchmark repository in $1 (default /tmp/alp-bench/repo) once:
#   big   : ~300 MB of real files from /usr/lib (several hundred files), ~100 MB as tar.gz
#   many  : /usr/share/doc (several thousand small files)
# plus `many.tar` (the uncompressed tar, for the `tar xf` floor) and index.json.
set -euo pipefail
repo=${1:-/tmp/alp-bench/repo}
mkdir -p "$repo"
[ -f "$repo/index.json" ] && [ -f "$repo/many.tar" ] && exit 0

list=$(mktemp)
# Shared objects and other binaries compress about 3x: the mix a real package has.
find /usr/lib/x86_64-linux-gnu /usr/lib/llvm-14 /usr/lib/gcc /usr/lib/git-core -type f \
    ! -name '*.jar' ! -name '*.gz' ! -name '*.xz' ! -name '*.zip' ! -name '*.zst' -size +8k -printf '%s %p\n' 2>/dev/null |
    sort -k2 > "$list.all" || true
awk '{ t += $1; print $2; if (t > 300000000) exit }' "$list.all" | sed 's|^/||' > "$list"
rm -f "$list.all"
echo "big: $(wc -l < "$list") files, $(cd / && cat "$list" | tr '\n' '\0' | du -ch --files0-from=- | tail -1)"
tar -C / -czf "$repo/big-1.0.tar.gz" -T "$list"
tar -C / -cf "$repo/many.tar" usr/share/doc 2>/dev/null || true
gzip -6 -c "$repo/many.tar" > "$repo/many-1.0.tar.gz"
echo "many: $(tar tf "$repo/many.tar" | wc -l) entries, $(du -h "$repo/many.tar" | cut -f1) tar"
rm -f "$list"
python3 - "$repo" <<'PY'
import hashlib, json, os, sys
repo = sys.argv[1]
pkgs = []
for name in ("big", "many"):
    f = f"{name}-1.0.tar.gz"
    data = open(os.path.join(repo, f), "rb").read()
    pkgs.append({"name": name, "version": "1.0", "description": f"benchmark {name}", "file": f,
                 "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "depends": []})
json.dump({"format": "alp-index-1", "name": "bench", "serial": 1, "generated": "2026-01-01T00:00:00Z",
           "expires": None, "packages": pkgs}, open(os.path.join(repo, "index.json"), "w"))
PY
ls -la "$repo"
