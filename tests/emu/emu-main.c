/* SPDX-License-Identifier: MIT */
/*
 * The main() of the test builds of the bus drivers: ipmi-busdrv-<m>-emu is
 * the shipped medium and framework code built with BUSDRV_MEDIUM naming
 * the medium, doing its device I/O through emu_dev_ops (RPCs to an
 * emulated device) instead of the syscalls.
 */
#include "busdrv.h"
#include "emu.h"

extern const struct busdrv_medium BUSDRV_MEDIUM;

int
main(int argc, char *argv[])
{
	return busdrv_main(argc, argv, &BUSDRV_MEDIUM, &emu_dev_ops);
}
