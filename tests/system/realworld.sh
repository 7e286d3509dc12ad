#!/usr/bin/env bash
# System test (issue 13): real-world tarballs as their projects publish them (crates from
# crates.io, sdists from PyPI, npm packages, Debian orig tarballs in gzip and xz) install
# through alp's archive seam exactly as GNU tar extracts them: the same names, types, modes,
# contents and symlink targets. Each is added with `alp index --add` (as an upstream asset,
# under a prefix), installed from the signed-by-sha256 index into a fresh root, compared with
# `tar -xf` of the same file, then removed again without a trace.
#
#   bash tests/system/realworld.sh        (from the repo root; needs network to the package
#                                          registries, the files are kept in $ALP_REALWORLD)
#
# The files are pinned by sha256: a registry serving other bytes is a failure, not a skip.

set -u -o pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$REPO/tests/system/lib.sh"

static_alp "$REPO"
need curl curl
need xz xz-utils
CACHE=${ALP_REALWORLD:-/tmp/alp-realworld}
mkdir -p "$CACHE"
T=$(mktemp -d /tmp/alp-realworld-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
umask 022

# name|url|sha256
ARCHIVES='
cfg-if-1.0.0.crate|https://static.crates.io/crates/cfg-if/cfg-if-1.0.0.crate|baf1de4339761588bc0619e3cbc0120ee582ebb74b53b4efbf79117bd2da40fd
libc-0.2.155.crate|https://static.crates.io/crates/libc/libc-0.2.155.crate|97b3888a4aecf77e811145cadf6eef5901f4782c53886191b2f693f24761847c
serde-1.0.203.crate|https://static.crates.io/crates/serde/serde-1.0.203.crate|7253ab4de971e72fb7be983802300c30b5a7f0c2e56fab8abfc6a214307c0094
six-1.16.0.tar.gz|https://files.pythonhosted.org/packages/71/39/171f1c67cd00715f190ba0b100d606d440a28c93c7714febeca8b79af85e/six-1.16.0.tar.gz|1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926
simplejson-3.19.2.tar.gz|https://files.pythonhosted.org/packages/79/79/3ccb95bb4154952532f280f7a41979fbfb0fbbaee4d609810ecb01650afa/simplejson-3.19.2.tar.gz|9eb442a2442ce417801c912df68e1f6ccfcd41577ae7274953ab3ad24ef7d82c
docutils-0.20.1.tar.gz|https://files.pythonhosted.org/packages/1f/53/a5da4f2c5739cf66290fac1431ee52aff6851c7c8ffd8264f13affd7bcdd/docutils-0.20.1.tar.gz|f08a4e276c3a1583a86dce3e34aba3fe04d02bba2dd51ed16106244e8a923e3b
left-pad-1.3.0.tgz|https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz|870c0fe1096223a58d4f8832d08a7e651ea2fcadb8e6877b2fdc26b662d481dd
lodash-4.17.21.tgz|https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz|6a087ac9e5702a0c9d60fbcd48696012646ec8df1491dea472b150e79fcaf804
hello_2.10.orig.tar.gz|https://deb.debian.org/debian/pool/main/h/hello/hello_2.10.orig.tar.gz|31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b
dash_0.5.12.orig.tar.gz|https://deb.debian.org/debian/pool/main/d/dash/dash_0.5.12.orig.tar.gz|6a474ac46e8b0b32916c4c60df694c82058d3297d8b385b74508030ca4a8f28a
tree_2.1.0.orig.tar.gz|https://deb.debian.org/debian/pool/main/t/tree/tree_2.1.0.orig.tar.gz|0160c535bff2b0dc6a830b9944e981e3427380f63e748da96ced7071faebabf6
bash-completion_2.11.orig.tar.gz|https://deb.debian.org/debian/pool/main/b/bash-completion/bash-completion_2.11.orig.tar.gz|16adefabf43ec8ffb473704f5724d775c2f47e9f750d7d608f0251ec21fe8813
xz-utils_5.4.1.orig.tar.xz|https://deb.debian.org/debian/pool/main/x/xz-utils/xz-utils_5.4.1.orig.tar.xz|5d9827aa1875b21c288f78864bb26d2650b436ea8d2cad364e4921eb6266a5a5
'

# fetch NAME URL SHA256: the file in $CACHE, downloaded unless a copy with that hash is there.
fetch() {
    local f=$CACHE/$1 try
    if [ -f "$f" ] && echo "$3  $f" | sha256sum -c --quiet 2>/dev/null; then
        return 0
    fi
    rm -f "$f"
    for try in 1 2 3; do
        curl -fsSL --max-time 120 -o "$f.part" "$2" && mv "$f.part" "$f" && break
        sleep "$try"
    done
    [ -f "$f" ] || return 1
    echo "$3  $f" | sha256sum -c --quiet 2>/dev/null
}

# listing DIR: one line per entry (type, mode, name, content hash or link target), sorted;
# names as bytes, so nothing about them is lost in the comparison.
listing() {
    python3 - "$1" <<'PY'
import hashlib, os, stat, sys
top = os.fsencode(sys.argv[1])
out = []
for dp, dns, fns in os.walk(top):
    for n in dns + fns:
        p = os.path.join(dp, n)
        st = os.lstat(p)
        rel = os.path.relpath(p, top)
        mode = oct(stat.S_IMODE(st.st_mode))
        if stat.S_ISLNK(st.st_mode):
            out.append(b"l %s -> %s" % (rel, os.readlink(p)))
        elif stat.S_ISDIR(st.st_mode):
            out.append(b"d %s %s" % (mode.encode(), rel))
        elif stat.S_ISREG(st.st_mode):
            with open(p, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest().encode()
            out.append(b"f %s %s %s" % (mode.encode(), rel, digest))
        else:
            out.append(b"? %s" % rel)
sys.stdout.buffer.write(b"\n".join(sorted(out)) + b"\n")
PY
}

mkdir -p "$T/repo"
n=0
names=''
while IFS='|' read -r file url sha; do
    [ -n "$file" ] || continue
    if ! fetch "$file" "$url" "$sha"; then
        fail "$file" "could not download it with the pinned sha256 from $url"
        continue
    fi
    n=$((n + 1))
    name=rw$n
    names="$names $name"
    mkdir -p "$T/tar/$name"
    tar -xf "$CACHE/$file" -C "$T/tar/$name" --no-same-owner || { fail "$file" "GNU tar could not extract it"; continue; }
    if ! "$BIN" -q index "$T/repo" --add "$CACHE/$file" --name "$name" --version 1 --arch noarch \
        --prefix "opt/$name" >"$T/out" 2>&1; then
        fail "$file: alp index --add" "$(cat "$T/out")"
        continue
    fi
    root=$T/root-$name
    mkdir -p "$root"
    if ! "$BIN" --root "$root" --repo "$T/repo" --allow-untrusted -q install "$name" >"$T/out" 2>&1; then
        fail "$file: alp install" "$(cat "$T/out")"
        continue
    fi
    listing "$T/tar/$name" >"$T/want"
    listing "$root/opt/$name" >"$T/got"
    if cmp -s "$T/want" "$T/got"; then
        pass "$file: $(wc -l <"$T/want") entries as GNU tar extracts them"
    else
        fail "$file" "differs from GNU tar: $(diff "$T/want" "$T/got" | head -5 | tr '\n' ' ')"
    fi
    if "$BIN" --root "$root" -q remove "$name" >"$T/out" 2>&1 && [ ! -e "$root/opt/$name" ]; then
        pass "$file: removed without a trace"
    else
        fail "$file: alp remove" "$(cat "$T/out"; ls "$root/opt" 2>&1)"
    fi
done <<<"$ARCHIVES"
[ "$n" -ge 13 ] || fail "archives" "only $n of 13 could be fetched"
finish
