#!/bin/busybox sh
# SPDX-License-Identifier: MIT
#
# /init of the e2e guest (see build-guest.sh). It mounts the kernel file
# systems, loads the stock IPMI modules (ipmi_si finds QEMU's BT or KCS
# device through ACPI/SMBIOS by itself), waits for /dev/ipmi0 (bounded),
# runs /e2e/checks.sh and powers off.
#
# Everything the host reads comes on the console between the lines
# "E2E-BEGIN" and "E2E-END", one result per line:
#     E2E <name> <exit status> <elapsed ms> <output, hex>
# so kernel messages or a truncated run can never pass for a result.
# Kernel command-line words NAME=value without a dot reach this script as
# environment variables: e2e_rate (requests in the rate runs, default
# 2000), e2e_mode (which checks run) and e2e_fru (an image for fru
# write) are read by checks.sh.

/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

# Milliseconds since boot (/proc/uptime has centiseconds).
e2e_ms() {
	read -r up _ </proc/uptime
	echo $(( ${up%.*} * 1000 + 1${up#*.} * 10 - 1000 ))
}

# Print one result line: name, status, ms, and the hex of file $4.
e2e_line() {
	echo "E2E $1 $2 $3 $(od -An -v -tx1 "$4" | tr -d ' \n')"
}

# e2e_run NAME CMD...: run CMD, report its status, time and output.
e2e_run() {
	_n=$1
	shift
	_t0=$(e2e_ms)
	"$@" >/tmp/e2e.out 2>&1
	_rc=$?
	_t1=$(e2e_ms)
	e2e_line "$_n" "$_rc" $((_t1 - _t0)) /tmp/e2e.out
}

# e2e_quiet NAME CMD...: likewise, but report only the output's line count
# and its last line (for runs that print thousands of lines).
e2e_quiet() {
	_n=$1
	shift
	_t0=$(e2e_ms)
	"$@" >/tmp/e2e.big 2>&1
	_rc=$?
	_t1=$(e2e_ms)
	{ wc -l </tmp/e2e.big; tail -n 1 /tmp/e2e.big; } >/tmp/e2e.out
	e2e_line "$_n" "$_rc" $((_t1 - _t0)) /tmp/e2e.out
}

echo "E2E-BEGIN"
echo "E2E-INIT $(e2e_ms) $(cat /e2e/kernel)"
for m in ipmi_msghandler ipmi_devintf ipmi_si; do
	insmod /lib/modules/$m.ko >/tmp/e2e.out 2>&1 ||
		e2e_line "insmod-$m" $? 0 /tmp/e2e.out
done
t0=$(e2e_ms)
i=0
while [ ! -c /dev/ipmi0 ] && [ $i -lt 200 ]; do
	usleep 50000
	i=$((i + 1))
done
echo "E2E-IPMI0 $(e2e_ms) $(($(e2e_ms) - t0))"
if [ -c /dev/ipmi0 ]; then
	. /e2e/checks.sh
else
	dmesg >/tmp/e2e.out
	e2e_line dmesg 1 0 /tmp/e2e.out
fi
echo "E2E-END $(e2e_ms)"
sync
poweroff -f
