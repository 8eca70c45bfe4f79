#!/bin/sh
# SPDX-License-Identifier: MIT
#
# build-guest.sh OUTDIR: the e2e tests' Linux guest, from Debian packages
# alone. Writes OUTDIR/vmlinuz and OUTDIR/initramfs.cpio.gz.
#
# The packages are fetched with `apt-get download` (nothing is installed on
# this machine): the kernel the linux-image-amd64 metapackage points to,
# busybox-static, ipmitool, freeipmi-tools, and the library packages their
# Depends name (followed recursively, lib* only). They are unpacked into a
# staging folder; the initramfs gets busybox, the IPMI clients with the
# DT_NEEDED closure of their ELF files (resolved inside the staging folder;
# a missing library stops the build, naming it), the three IPMI modules
# uncompressed (busybox insmod reads plain .ko only), and tests/e2e's
# guest-init.sh as /init and guest-checks.sh as /e2e/checks.sh.
#
# OUTDIR/stamp records the inputs: this script, the two guest scripts and
# the exact package versions. When it matches, nothing is done, so a second
# run costs one apt-cache query. A partial build never leaves a matching
# stamp behind.
set -eu

out=${1:?usage: build-guest.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

die() {
	echo "build-guest: $*" >&2
	exit 1
}

for t in apt-get apt-cache dpkg-deb readelf cpio gzip sha256sum; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found (tools/deps.sh)"
done

# Fast path: the same scripts and the same apt package lists as the last
# complete build mean the same package versions, without asking apt-cache
# (a second per call here: the images keep no apt binary cache).
lists=$(cd /var/lib/apt/lists 2>/dev/null &&
    ls -l --time-style=+%s . 2>/dev/null)
quick=$( {
	cat "$here/build-guest.sh" "$here/guest-init.sh" "$here/guest-checks.sh"
	echo "$lists"
} | sha256sum | cut -d' ' -f1)
if [ -f "$out/quick" ] && [ "$(cat "$out/quick")" = "$quick" ] &&
    [ -f "$out/stamp" ] && [ -s "$out/vmlinuz" ] &&
    [ -s "$out/initramfs.cpio.gz" ]; then
	exit 0
fi
rm -f "$out/quick"

# One line per package: "name version dep dep ...", the deps being the
# names in Depends and Pre-Depends (first of each set of alternatives, no
# version constraints). One apt-cache call for all: each costs a second.
info() {
	apt-cache show --no-all-versions "$@" 2>/dev/null | awk '
	function flush() {
		if (name != "")
			print name, version deps
		name = ""; version = ""; deps = ""
	}
	/^Package: / { flush(); name = $2 }
	/^Version: / { version = $2 }
	/^(Pre-)?Depends: / {
		sub(/^[^:]*: /, "")
		n = split($0, alt, ",")
		for (i = 1; i <= n; i++) {
			d = alt[i]
			sub(/\|.*/, "", d); sub(/\(.*/, "", d)
			sub(/:any/, "", d); gsub(/[ \t]/, "", d)
			if (d != "")
				deps = deps " " d
		}
	}
	END { flush() }'
}

meta=$(info linux-image-amd64)
if [ -z "$meta" ]; then
	[ "$(id -u)" -eq 0 ] ||
		die "apt has no package lists: run apt-get update"
	echo "build-guest: apt-get update" >&2
	apt-get update -qq
	meta=$(info linux-image-amd64)
fi

# The versioned kernel package the metapackage depends on.
kpkg=$(echo "$meta" | tr ' ' '\n' | grep '^linux-image-[0-9]' | head -n 1)
[ -n "$kpkg" ] || die "linux-image-amd64 names no linux-image-* package"

# Library packages the clients need, following Depends through lib* only,
# one apt-cache call per level. "versions" collects name=version.
todo="$kpkg busybox-static ipmitool freeipmi-tools"
seen=" $todo "
versions=""
while [ -n "$todo" ]; do
	lines=$(info $todo)
	for p in $todo; do
		echo "$lines" | grep -q "^$p " ||
			die "no candidate version for $p"
	done
	next=""
	while read -r p v deps; do
		case "$seen" in
		*" $p "*) ;;
		*) continue ;;
		esac
		case "$versions " in
		*" $p="*) continue ;;
		esac
		versions="$versions $p=$v"
		[ "$p" = "$kpkg" ] && continue
		for d in $deps; do
			case "$d" in
			lib*) ;;
			*) continue ;;
			esac
			case "$seen" in
			*" $d "*) ;;
			*) seen="$seen$d "; next="$next $d" ;;
			esac
		done
	done <<EOF2
$lines
EOF2
	todo=$next
done

stamp=$( {
	cat "$here/build-guest.sh" "$here/guest-init.sh" "$here/guest-checks.sh"
	echo "$versions"
} | sha256sum | cut -d' ' -f1)
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] &&
    [ -s "$out/vmlinuz" ] && [ -s "$out/initramfs.cpio.gz" ]; then
	echo "$quick" >"$out/quick"
	exit 0
fi
rm -f "$out/stamp"
start=$(date +%s)

# Download (kept across rebuilds: only a new version is fetched again).
debs="$out/debs"
mkdir -p "$debs"
# apt's unprivileged _apt user writes the files when it can enter the dir.
chmod 0777 "$debs" 2>/dev/null || true
want=""
for pv in $versions; do
	p=${pv%%=*}
	v=${pv#*=}
	f=$(ls "$debs/${p}_"*.deb 2>/dev/null | head -n 1 || true)
	if [ -n "$f" ] && [ "$(dpkg-deb -f "$f" Version)" = "$v" ]; then
		continue
	fi
	rm -f "$debs/${p}_"*.deb
	want="$want $pv"
done
if [ -n "$want" ]; then
	echo "build-guest: downloading$want" >&2
	# Stale package lists name versions the mirror no longer has: refresh
	# them once (as root) and start over with what they name now.
	if ! (cd "$debs" && apt-get download -q $want) >&2; then
		[ "$(id -u)" -eq 0 ] && [ -z "${E2E_GUEST_RETRY:-}" ] ||
			die "apt-get download failed"
		echo "build-guest: apt-get update, then again" >&2
		apt-get update -qq || die "apt-get update failed"
		E2E_GUEST_RETRY=1 exec sh "$here/build-guest.sh" "$out"
	fi
fi

stage="$out/stage"
root="$out/root"
rm -rf "$stage" "$root"
mkdir -p "$stage" "$root"
for pv in $versions; do
	f=$(ls "$debs/${pv%%=*}_"*.deb | head -n 1)
	dpkg-deb -x "$f" "$stage" || die "cannot unpack $f"
done

# Follow symlinks inside the staging folder (absolute ones too). Prints the
# staging path of the final file, or nothing.
resolve() {
	r=$1
	n=0
	while [ -L "$stage$r" ]; do
		n=$((n + 1))
		[ $n -le 16 ] || return 0
		l=$(readlink "$stage$r")
		case "$l" in
		/*) r=$l ;;
		*) r=$(dirname "$r")/$l ;;
		esac
	done
	[ -f "$stage$r" ] && echo "$stage$r"
	return 0
}

libdirs="/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib /usr/lib"
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" \
    "$root/lib/x86_64-linux-gnu" "$root/lib64" "$root/lib/modules" \
    "$root/e2e" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" \
    "$root/usr/share/misc" "$root/etc"

# Copy one ELF file and, recursively, what it needs ("local" is not
# POSIX, but dash, bash and busybox sh all have it).
copied=" "
add_elf() {
	local src dst interp needed so f d
	src=$1
	dst=$2
	[ -f "$root$dst" ] && return 0
	cp "$src" "$root$dst"
	interp=$(readelf -l "$src" 2>/dev/null |
	    sed -n 's/.*program interpreter: \(.*\)\]/\1/p')
	if [ -n "$interp" ] && [ ! -e "$root$interp" ]; then
		f=$(resolve "$interp")
		[ -n "$f" ] ||
			die "$dst: interpreter $interp not in the packages"
		cp "$f" "$root/lib/x86_64-linux-gnu/$(basename "$interp")"
		[ -e "$root$interp" ] || ln -s \
		    "/lib/x86_64-linux-gnu/$(basename "$interp")" "$root$interp"
	fi
	needed=$(readelf -d "$src" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
	for so in $needed; do
		case "$copied" in
		*" $so "*) continue ;;
		esac
		f=""
		for d in $libdirs; do
			f=$(resolve "$d/$so")
			[ -n "$f" ] && break
		done
		[ -n "$f" ] ||
			die "$dst needs $so, which no downloaded package has"
		copied="$copied$so "
		add_elf "$f" "/lib/x86_64-linux-gnu/$so"
	done
}

cp "$stage/bin/busybox" "$root/bin/busybox" ||
	die "busybox-static has no /bin/busybox"
readelf -d "$root/bin/busybox" 2>/dev/null | grep -q NEEDED &&
	die "busybox is not static"
add_elf "$stage/usr/bin/ipmitool" /usr/bin/ipmitool
for b in ipmi-raw bmc-info; do
	add_elf "$stage/usr/sbin/$b" "/usr/sbin/$b"
done
# ipmitool reads /usr/share/misc/enterprise-numbers.txt at every start
# (and complains without it): all 4.7 MB cost 0.5 s under TCG, and the
# guest times requests with whole ipmitool runs. Keep the header and the
# two manufacturers the tests meet: 32473 (RFC 5612, conf/app-handler.conf)
# and 4753 (MontaVista, ipmi_sim).
pen="$stage/usr/share/misc/enterprise-numbers.txt"
[ -f "$pen" ] || die "ipmitool has no enterprise-numbers.txt"
awk 'BEGIN { head = 1 }
/^[0-9]+$/ { head = 0; keep = ($1 == 32473 || $1 == 4753) }
head || keep' "$pen" >"$root/usr/share/misc/enterprise-numbers.txt"
[ -d "$stage/etc/freeipmi" ] && cp -r "$stage/etc/freeipmi" "$root/etc/"

vmlinuz=$(ls "$stage"/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$vmlinuz" ] || die "$kpkg has no /boot/vmlinuz-*"
kver=${vmlinuz##*/vmlinuz-}
mods="$stage/lib/modules/$kver/kernel/drivers/char/ipmi"
for m in ipmi_msghandler ipmi_devintf ipmi_si; do
	if [ -f "$mods/$m.ko" ]; then
		cp "$mods/$m.ko" "$root/lib/modules/$m.ko"
	elif [ -f "$mods/$m.ko.xz" ]; then
		xz -dc "$mods/$m.ko.xz" >"$root/lib/modules/$m.ko"
	elif [ -f "$mods/$m.ko.zst" ]; then
		zstd -qdc "$mods/$m.ko.zst" >"$root/lib/modules/$m.ko"
	else
		die "$kpkg has no $m module under $mods"
	fi
	dep=$(readelf -p .modinfo "$root/lib/modules/$m.ko" |
	    sed -n 's/.*depends=\(.*\)$/\1/p')
	for d in $(echo "$dep" | tr ',' ' '); do
		[ -f "$root/lib/modules/$d.ko" ] ||
			die "$m needs module $d, loaded after it or not at all"
	done
done

cp "$here/guest-init.sh" "$root/init"
cp "$here/guest-checks.sh" "$root/e2e/checks.sh"
chmod 0755 "$root/init" "$root/e2e/checks.sh"
echo "$kver" >"$root/e2e/kernel"

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -6 >"$out/initramfs.cpio.gz.tmp"
cp "$vmlinuz" "$out/vmlinuz.tmp"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
rm -rf "$stage" "$root"
echo "$stamp" >"$out/stamp"
echo "$quick" >"$out/quick"
echo "build-guest: kernel $kver, initramfs $(wc -c <"$out/initramfs.cpio.gz")" \
    "bytes, built in $(($(date +%s) - start)) s" >&2
