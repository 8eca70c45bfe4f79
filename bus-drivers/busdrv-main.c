/* SPDX-License-Identifier: MIT */
/*
 * The main() of every bus driver program: ipmi-busdrv-<medium> is this file
 * built with BUSDRV_MEDIUM naming the medium's description, on the real
 * device syscalls.
 */
#include "busdrv.h"

extern const struct busdrv_medium BUSDRV_MEDIUM;

int
main(int argc, char *argv[])
{
	return busdrv_main(argc, argv, &BUSDRV_MEDIUM, &busdrv_sys_ops);
}
