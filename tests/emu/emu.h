/* SPDX-License-Identifier: MIT */
/*
 * emu: emulations of the Linux BMC-side IPMI devices, for tests only.
 *
 * There is no BMC hardware here, so a test plays both the kernel device and
 * the host. The driver under test is the shipped medium and framework code
 * (bus-drivers/<kind>.c + busdrv.c) linked with emu_dev_ops instead of
 * busdrv_sys_ops: every read, write, ioctl and poll the driver makes on its
 * device fd becomes a small RPC over a SOCK_SEQPACKET socket to the test
 * process, where struct emu runs the device's documented state machine
 * (../shared/reference/ipmi-bmc-interfaces.md): BT writes that block until
 * the host drained the previous response and POLLOUT that says so, KCS and
 * SSIF EINVAL once the host gave up, SSIF's 500 ms expiry, KCS EOVERFLOW on
 * a short buffer and EAGAIN after a signal, the SMS_ATN ioctls by number,
 * IPMB's checksum and newest-first quirks.
 *
 * The supervisor gets the device as a Unix socket path in the [bus]
 * section: it connects instead of open()ing, and hands the fd to the
 * driver like a device fd. So the daemon, the broker and the driver are
 * the real processes; only the device is emulated.
 *
 * Calls that would block in the kernel are answered later: the emulator
 * keeps them pending and retries them whenever its state changes.
 */
#ifndef EMU_H
#define EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "busdrv.h"

enum emu_device { EMU_BT, EMU_KCS, EMU_IPMB, EMU_SSIF };

struct emu;

/*
 * Start an emulated device of this kind listening on a SEQPACKET Unix
 * socket at path, served by its own thread. The supervisor connects once
 * (its "open") and keeps that fd for its life, handing it to each driver
 * process it starts. Each driver process opens a session on it (emu_dev_ops
 * .open sends a fresh nonce and discards everything until the emulator
 * echoes it), which drops whatever a killed predecessor left pending, as
 * the kernel aborts a killed process's blocked call. Device state (queued
 * requests, attention, a response not yet drained) survives, as it does
 * in a kernel device held open by the supervisor.
 */
struct emu	*emu_start(enum emu_device kind, const char *path);
void		 emu_stop(struct emu *e);

/*
 * Host side. Frames are in the device's own read/write formats (what the
 * BMC-side driver reads for a request and writes for a response), e.g.
 * BT [len][netfn/lun][seq][cmd][data...] in, [len][netfn/lun][seq][cmd]
 * [cc][data...] out; SSIF with its u32 length header; IPMB with the len
 * byte and the own-address byte the kernel prepends.
 *
 * emu_host_request() queues a request as the host would send it (KCS and
 * SSIF: replacing any outstanding one, as a new host WRITE_START does).
 * Returns 0, or -1 when the device would refuse it (queue full).
 */
int	emu_host_request(struct emu *e, const uint8_t *frame, size_t len);

/*
 * Wait up to timeout_ms for the next response the driver wrote and take
 * it, as the host reading it out (BT: this drains B2H_ATN, so a blocked
 * write proceeds). Returns its length, 0 on timeout.
 */
size_t	emu_host_response(struct emu *e, uint8_t *frame, size_t max,
	    int timeout_ms);

/* BT: the host stops draining responses (H_BUSY set) or resumes. */
void	emu_host_hold(struct emu *e, bool hold);

/* KCS: the host aborts (GET_STATUS/ABORT); SSIF: its 500 ms timer is
 * forced to expire. Either way a later response write gets EINVAL. */
void	emu_host_abort(struct emu *e);

/* KCS: the next read returns EAGAIN, as when a signal interrupted it. */
void	emu_signal_next_read(struct emu *e);

/* Attention as the host sees it (BT SMS_ATN bit, KCS status bit 2). */
bool	emu_attention(struct emu *e);
/* BT: the host clears SMS_ATN, as the host driver does. */
void	emu_host_clear_attention(struct emu *e);

/* How many times the driver called ioctl(req) / wrote, for asserts. */
unsigned emu_ioctl_count(struct emu *e, unsigned long req);
unsigned emu_write_count(struct emu *e);
/* Writes the device refused (EINVAL/EOVERFLOW...), for asserts. */
unsigned emu_refused_count(struct emu *e);
/* Whether the device fd is connected (held open), and how many driver
 * sessions (driver process starts) it has seen. */
bool	emu_connected(struct emu *e);
unsigned emu_sessions(struct emu *e);
/* Wait up to timeout_ms until at least n sessions were seen. */
bool	emu_wait_sessions(struct emu *e, unsigned n, int timeout_ms);

/* The device ops a test build of a driver links instead of the syscalls:
 * ctx is the connected socket inherited as --fd. */
extern const struct busdrv_dev_ops emu_dev_ops;

#endif /* EMU_H */
