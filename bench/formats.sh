#!/usr/bin/env bash
# alp vs real package managers installing the same payload from local files (issue 13):
# `pacman -U` (.pkg.tar.zst, .pkg.tar.gz), `dpkg -i --force-unsafe-io` (.deb with zstd and
# gzip members), alp (.tar.zst and .tar.gz from `alp build`, installed with `--repo DIR`),
# and `tar xf` of the uncompressed tar as the floor; also `zstd -d` of alp's archive to
# /dev/null, what decoding alone costs on this machine. Each run installs into a fresh root
# on a fresh ext4 loop file system, in interleaved rounds (bench/rounds.py); then peak RSS.
#
#   bench/formats.sh [RUNS]        (default 5; needs root: apt-get, mount)
#
# Payloads as bench/data.sh picks them: `big` (~300 MB of real files from /usr/lib) and
# `many` (/usr/share/doc). Every zstd archive is level 19, every gzip one level 9.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
work=/tmp/alp-bench/formats
pkgs=$work/pkgs
mkdir -p "$work" "$pkgs"
need=""
command -v pacman >/dev/null || need="$need pacman-package-manager"
command -v zstd >/dev/null || need="$need zstd"
[ -x /usr/bin/time ] || need="$need time"
if [ -n "$need" ]; then
    apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
target=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release --locked --target x86_64-unknown-linux-musl -q
bin=$target/x86_64-unknown-linux-musl/release/alp

# The payloads, once: the uncompressed tar (the floor's input) and the tree it holds.
payload() { # name
    local name=$1 tree=$work/tree/$1
    [ -f "$pkgs/$name.tar" ] && [ -d "$tree" ] && return
    case $name in
        big)
            find /usr/lib/x86_64-linux-gnu /usr/lib/llvm-14 /usr/lib/gcc /usr/lib/git-core -type f \
                ! -name '*.jar' ! -name '*.gz' ! -name '*.xz' ! -name '*.zip' ! -name '*.zst' -size +8k \
                -printf '%s %p\n' 2>/dev/null | sort -k2 > "$work/big.all" || true
            awk '{ t += $1; print $2; if (t > 300000000) exit }' "$work/big.all" | sed 's|^/||' > "$work/big.list"
            tar -C / -cf "$pkgs/big.tar" -T "$work/big.list"
            ;;
        many) tar -C / -cf "$pkgs/many.tar" usr/share/doc 2>/dev/null || true ;;
    esac
    rm -rf "$tree" && mkdir -p "$tree" && tar -xf "$pkgs/$name.tar" -C "$tree"
}

# One package of each kind from the tree; each tool's metadata beside a hard-linked copy.
packages() { # name
    local name=$1 tree=$work/tree/$1 d
    local size
    size=$(du -sb "$tree" | cut -f1)
    if [ ! -f "$pkgs/alp-zst/$name-1.0.tar.zst" ] || [ ! -f "$pkgs/alp-gz/$name-1.0.tar.gz" ]; then
        d=$work/src-alp-$name
        rm -rf "$d" && cp -al "$tree" "$d" && mkdir -p "$d/.ALP"
        printf '{"name":"%s","version":"1.0","description":"benchmark %s"}\n' "$name" "$name" > "$d/.ALP/package.json"
        for f in zst gz; do
            "$bin" -q build "$d" -o "$pkgs/alp-$f" --format "$f"
        done
        rm -rf "$d"
    fi
    if [ ! -f "$pkgs/$name-zst.deb" ] || [ ! -f "$pkgs/$name-gz.deb" ]; then
        d=$work/src-deb-$name
        rm -rf "$d" && cp -al "$tree" "$d" && mkdir -p "$d/DEBIAN"
        printf 'Package: bench-%s\nVersion: 1.0\nArchitecture: all\nMaintainer: bench <bench@localhost>\nDescription: benchmark %s\n' \
            "$name" "$name" > "$d/DEBIAN/control"
        dpkg-deb --root-owner-group -Zzstd -z19 -b "$d" "$pkgs/$name-zst.deb" >/dev/null
        dpkg-deb --root-owner-group -Zgzip -z9 -b "$d" "$pkgs/$name-gz.deb" >/dev/null
        rm -rf "$d"
    fi
    if [ ! -f "$pkgs/$name-1.0-1-any.pkg.tar.zst" ] || [ ! -f "$pkgs/$name-1.0-1-any.pkg.tar.gz" ]; then
        d=$work/src-pac-$name
        rm -rf "$d" && cp -al "$tree" "$d"
        printf 'pkgname = bench-%s\npkgbase = bench-%s\npkgver = 1.0-1\npkgdesc = benchmark %s\narch = any\nsize = %s\n' \
            "$name" "$name" "$name" "$size" > "$d/.PKGINFO"
        (cd "$d" && tar --owner=0 --group=0 -cf - .PKGINFO usr) > "$work/pac.tar"
        zstd -q -19 -T0 -f "$work/pac.tar" -o "$pkgs/$name-1.0-1-any.pkg.tar.zst"
        gzip -9 -c "$work/pac.tar" > "$pkgs/$name-1.0-1-any.pkg.tar.gz"
        rm -rf "$d" "$work/pac.tar"
    fi
}

for name in big many; do
    payload "$name"
    packages "$name"
done
for f in zst gz; do
    "$bin" -q index "$pkgs/alp-$f"
done

# pacman as a package manager for another root, with no hooks, space check or sandbox.
cat > "$work/pacman.conf" <<CONF
[options]
Architecture = auto
SigLevel = Never
LocalFileSigLevel = Never
CONF
mkdir -p "$work/hooks"

# A fresh ext4 (with a journal: mkfs defaults) on a loop file, made for this run.
mnt=$work/mnt
mkdir -p "$mnt"
mountpoint -q "$mnt" && umount "$mnt"
truncate -s 4G "$work/fs.img"
mkfs.ext4 -q -F "$work/fs.img"
mount -o loop "$work/fs.img" "$mnt"
trap 'umount "$mnt" 2>/dev/null || true; rm -f "$work/fs.img"' EXIT
root=$mnt/root
cache=$mnt/cache
# Every tool's database starts empty: pacman's local/, dpkg's status.
prep="rm -rf $root $cache && sync && mkdir -p $root/var/lib/pacman/local $root/var/cache/pacman $root/var/lib/dpkg/info $root/var/lib/dpkg/updates $root/var/lib/dpkg/triggers && touch $root/var/lib/dpkg/status $root/var/lib/dpkg/available"

alp_cmd() { # format name
    echo "$bin --root $root --cache-dir $cache --repo $pkgs/alp-$1 --allow-untrusted -q install $2"
}
pacman_cmd() { # ext name
    echo "pacman -U --noconfirm --nodeps --noscriptlet --config $work/pacman.conf --hookdir $work/hooks --root $root --dbpath $root/var/lib/pacman --cachedir $root/var/cache/pacman --logfile $root/pacman.log $pkgs/$2-1.0-1-any.pkg.tar.$1"
}
dpkg_cmd() { # format name
    echo "dpkg --root=$root --admindir=$root/var/lib/dpkg --force-unsafe-io --force-not-root --no-triggers -i $pkgs/$2-$1.deb"
}

echo "== wall time (s), fresh ext4 with a journal on a loop file; $(nproc) cores, $(uname -r)"
for name in big many; do
    echo "$name ($(du -sh "$work/tree/$name" | cut -f1), $(find "$work/tree/$name" | wc -l) entries): medians of $runs interleaved rounds [min .. max]"
    python3 bench/rounds.py "$runs" "$prep" \
        "alp .tar.zst=$(alp_cmd zst "$name")" \
        "alp .tar.gz=$(alp_cmd gz "$name")" \
        "pacman -U .pkg.tar.zst=$(pacman_cmd zst "$name")" \
        "pacman -U .pkg.tar.gz=$(pacman_cmd gz "$name")" \
        "dpkg -i .deb (zstd)=$(dpkg_cmd zst "$name")" \
        "dpkg -i .deb (gzip)=$(dpkg_cmd gz "$name")" \
        "tar xf .tar (floor)=tar xf $pkgs/$name.tar -C $root" \
        "zstd -d of alp's .tar.zst alone, nothing written=zstd -qdc $pkgs/alp-zst/$name-1.0.tar.zst >/dev/null"
done

rss() { # command... -> peak RSS in KiB
    eval "$prep"
    /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident/ { gsub(/ /, "", $2); print $2 }'
}
echo
echo "== peak RSS (KiB)"
for name in big many; do
    # shellcheck disable=SC2046
    printf '  %-5s alp zst %s, alp gz %s, pacman zst %s, pacman gz %s, dpkg zstd %s, dpkg gzip %s, tar xf %s\n' "$name" \
        "$(rss $(alp_cmd zst "$name"))" "$(rss $(alp_cmd gz "$name"))" \
        "$(rss $(pacman_cmd zst "$name"))" "$(rss $(pacman_cmd gz "$name"))" \
        "$(rss $(dpkg_cmd zst "$name"))" "$(rss $(dpkg_cmd gz "$name"))" \
        "$(rss tar xf "$pkgs/$name.tar" -C "$root")"
done
echo
echo "== package sizes (bytes)"
for name in big many; do
    printf '  %-5s .tar %s; alp zst %s gz %s; pacman zst %s gz %s; deb zstd %s gzip %s\n' "$name" \
        "$(stat -c %s "$pkgs/$name.tar")" \
        "$(stat -c %s "$pkgs/alp-zst/$name-1.0.tar.zst")" "$(stat -c %s "$pkgs/alp-gz/$name-1.0.tar.gz")" \
        "$(stat -c %s "$pkgs/$name-1.0-1-any.pkg.tar.zst")" "$(stat -c %s "$pkgs/$name-1.0-1-any.pkg.tar.gz")" \
        "$(stat -c %s "$pkgs/$name-zst.deb")" "$(stat -c %s "$pkgs/$name-gz.deb")"
done
