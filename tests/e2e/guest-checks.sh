# SPDX-License-Identifier: MIT
#
# The e2e guest's checks, sourced by /init once /dev/ipmi0 exists. Each
# reports one "E2E name status ms hex-output" line (e2e_run, e2e_quiet in
# guest-init.sh); the host test decides what each must show, since the
# same guest runs against ipmi-brokerd and against ipmi_sim. The order
# matters to the host: it watches its handlers while raw-stall and
# raw-killed are in flight.

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
# TODO(trace): a trace capture check joins here (ipmi-ctl trace on the
# host while the guest sends a known request).

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
