#!/bin/sh
# Install what building, running and testing ipmi-broker needs on Debian 12,
# by package name from Debian's archive. Installs only what is missing.
# The e2e suite adds QEMU (with its BIOS), cpio, binutils (readelf), xz and
# zstd (kernel modules) and openipmi (ipmi_sim, the baseline BMC); its guest
# comes from `apt-get download` (tests/e2e/build-guest.sh), so the package
# lists are refreshed below whenever anything was missing.
# The serial tests (tests/emu/test-serial-e2e.c) run stock ipmitool.
# ipmi-bench's D-Bus peer needs sd-bus (libsystemd-dev) and dbus-daemon.
set -eu

PKGS="build-essential meson ninja-build pkg-config libevent-dev
libprotobuf-c-dev protobuf-c-compiler libcap-ng-dev libcriterion-dev
libinih-dev clang-14 libclang-rt-14-dev valgrind tshark
qemu-system-x86 seabios cpio binutils xz-utils zstd openipmi ipmitool strace
libsystemd-dev dbus-daemon"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "deps: installing$missing"
# tshark (tests of ipmi-ctl trace -w) asks whether non-root users may
# capture; answer no in advance so the install never waits for a reply.
echo "wireshark-common wireshark-common/install-setuid boolean false" |
	$SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	--no-install-recommends $missing
