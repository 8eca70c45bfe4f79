# SPDX-License-Identifier: MIT
#
# The e2e guest's checks, sourced by /init once /dev/ipmi0 exists. Each
# reports one "E2E name status ms hex-output" line (e2e_run, e2e_quiet in
# guest-init.sh); the host test decides what each must show, since the
# same guest runs against ipmi-brokerd and against ipmi_sim. The order
# matters to the host: it watches its handlers while raw-stall and
# raw-killed are in flight.
#
# What runs depends on e2e_mode (kernel command line):
#   sim          the driver, mc info, raw requests and the rates only
#   broker       all that, and every shipped handler's ipmitool commands
#                (mc, chassis, sel, sdr, fru); e2e_fru is the hex of the
#                FRU image `fru write 1` writes (the host built it)
#   power-off    `chassis power status`, then `chassis power off` with a
#                heartbeat line every 100 ms in the background
#   power-reset  `chassis power reset`, likewise
# The power modes never return: the BMC must stop (or reset) the machine.

# e2e_power NAME CMD...: with a heartbeat line every 100 ms in the
# background, run a Chassis Control and report it, then wait for the
# machine to stop. The host times the stop against the heartbeats, the
# report line and the BMC's log.
e2e_beat() {
	_i=0
	while :; do
		_i=$((_i + 1))
		echo "E2E-HB $_i $(e2e_ms)"
		usleep 100000
	done
}
e2e_power() {
	e2e_beat &
	e2e_run "$@"
	while :; do
		usleep 1000000
	done
}

case ${e2e_mode:-broker} in
power-off)
	e2e_run chassis-power-status ipmitool chassis power status
	e2e_power chassis-power-off ipmitool chassis power off
	;;
power-reset)
	e2e_power chassis-power-reset ipmitool chassis power reset
	;;
esac

e2e_run dev-ipmi0 ls -l /dev/ipmi0
# What the stock driver said while probing the BMC.
dmesg >/tmp/e2e.dmesg
e2e_run dmesg-ipmi grep -i ipmi /tmp/e2e.dmesg

e2e_run mc-info ipmitool mc info
e2e_run raw-get-device-id ipmitool raw 6 1
e2e_run raw-oem-echo ipmitool raw 0x2e 0x01 0xd9 0x7e 0x00 0xaa
e2e_run raw-unregistered ipmitool raw 0x30 0x01
# Timed as a whole ipmitool run: compare with raw-unregistered's.
e2e_run raw-stall ipmitool raw 0x30 0x02
e2e_run raw-killed ipmitool raw 0x30 0x03
e2e_run firewall-info ipmitool firewall info
e2e_run freeipmi-get-device-id ipmi-raw -D OPENIPMI 0 06 01

# ipmi_si's counters of this interface (sysfs) and its /proc/interrupts
# line, as "name value" lines.
si=$(find /sys/devices -name attentions 2>/dev/null | head -n 1)
si=${si%/attentions}
e2e_si() {
	for _f in interrupts attentions flag_fetches events; do
		echo "$_f $(cat "$si/$_f" 2>/dev/null)"
	done
	grep -i ipmi /proc/interrupts
}

# e2e_event NAME: ipmitool event 1 (a Platform Event Message: the SEL
# logs it and passes it to the event message buffer, which raises
# attention), then wait (bounded) until the driver has fetched an event.
e2e_event() {
	_ev0=$(cat "$si/events" 2>/dev/null || echo 0)
	e2e_run "$1" ipmitool event 1
	_i=0
	while [ "$(cat "$si/events" 2>/dev/null || echo 0)" -le "$_ev0" ] &&
	    [ $_i -lt 60 ]; do
		usleep 50000
		_i=$((_i + 1))
	done
}

if [ "${e2e_mode:-broker}" = broker ]; then
	# App handler.
	e2e_run mc-guid ipmitool mc guid
	e2e_run mc-selftest ipmitool mc selftest
	e2e_run mc-getenables ipmitool mc getenables

	# SEL, and one event through the event message buffer.
	e2e_run sel-info-empty ipmitool sel info
	e2e_run si-before e2e_si
	e2e_event event-1
	e2e_run si-after e2e_si
	e2e_run sel-list ipmitool sel list
	e2e_run sel-elist ipmitool sel elist
	e2e_run sel-get-1 ipmitool sel get 1
	# ipmitool parses the time with strptime("%x %X"): the C locale's
	# MM/DD/YY HH:MM:SS.
	e2e_run sel-time-set ipmitool sel time set "01/02/30 03:04:05"
	e2e_run sel-time-get ipmitool sel time get
	e2e_run sel-delete-1 ipmitool sel delete 1
	e2e_run sel-get-1-deleted ipmitool sel get 1
	e2e_event event-2
	e2e_run sel-info-one ipmitool sel info
	e2e_run sel-clear ipmitool sel clear
	e2e_run sel-info-cleared ipmitool sel info

	# The enables round trip, after the events (they need bit 2).
	e2e_run mc-setenables-on ipmitool mc setenables oem0 on
	e2e_run mc-getenables-on ipmitool mc getenables
	e2e_run mc-setenables-off ipmitool mc setenables oem0 off
	e2e_run mc-getenables-off ipmitool mc getenables

	# Chassis handler.
	e2e_run chassis-status ipmitool chassis status
	e2e_run chassis-power-status ipmitool chassis power status
	e2e_run chassis-identify ipmitool chassis identify
	e2e_run chassis-identify-force ipmitool chassis identify force
	e2e_run chassis-bootdev-pxe ipmitool chassis bootdev pxe
	e2e_run chassis-bootparam-5 ipmitool chassis bootparam get 5
	e2e_run chassis-power-on ipmitool chassis power on
	e2e_run chassis-policy-list ipmitool chassis policy list
	e2e_run chassis-poh ipmitool chassis poh
	e2e_run chassis-restart-cause ipmitool chassis restart_cause

	# SDR/FRU handler.
	e2e_run sdr-list ipmitool sdr list
	e2e_run sdr-elist ipmitool sdr elist
	e2e_run sdr-info ipmitool sdr info
	e2e_run sdr-get-cpu ipmitool sdr get "CPU Temp"
	e2e_run sdr-get-12v ipmitool sdr get 12V
	e2e_run fru-print ipmitool fru print
	e2e_run fru-read-1 ipmitool fru read 1 /tmp/fru1.bin
	e2e_run fru-read-1-bytes od -An -v -tx1 /tmp/fru1.bin
	echo "${e2e_fru:-}" | xxd -r -p >/tmp/fru1-new.bin
	e2e_run fru-write-1 ipmitool fru write 1 /tmp/fru1-new.bin
	e2e_run fru-print-1 ipmitool fru print 1
fi

# The host stops its capture (ipmi-ctl trace) before the rates: tracing
# takes CPU from the BMC side that the rates measure. It then registers
# 0x30 0x04, the gate this waits for (bounded), so the rates run untraced.
e2e_gate() {
	_i=0
	until ipmitool raw 0x30 0x04; do
		_i=$((_i + 1))
		[ $_i -lt 100 ] || return 1
		usleep 50000
	done
}
if [ "${e2e_mode:-broker}" = broker ]; then
	echo "E2E-RATES $(e2e_ms)"
	e2e_run rate-gate e2e_gate
fi

# Rates: one process, ${e2e_rate:-2000} Get Device ID requests each.
n=${e2e_rate:-2000}
seq "$n" | sed 's/.*/raw 6 1/' >/tmp/e2e.exec
e2e_quiet rate-ipmitool-exec ipmitool exec /tmp/e2e.exec
seq "$n" | sed 's/.*/0 06 01/' >/tmp/e2e.raw
e2e_quiet rate-freeipmi-raw ipmi-raw -D OPENIPMI --file /tmp/e2e.raw
# Whether the driver was interrupt-driven: QEMU raises the interface's
# IRQ only after the BMC sent ENABLE_IRQ; without it ipmi_si polls on a
# 10 ms timer.
e2e_run irq grep -i ipmi /proc/interrupts
# Once more, for anything the rate runs left in the kernel log.
dmesg >/tmp/e2e.dmesg
e2e_run dmesg-end grep -i ipmi /tmp/e2e.dmesg
