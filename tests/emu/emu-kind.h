/* SPDX-License-Identifier: MIT */
/*
 * What one emulated device kind supplies to the emulator core (emu.c).
 *
 * The core owns the socket, the sessions and the RPC framing, and the one
 * driver call that can be outstanding at a time (the driver is single
 * threaded) plus its poll watch. A kind owns the device's state machine.
 * Every kind function runs with the emulator's lock held; after any host
 * action or driver call the core retries a pending call and re-checks the
 * watch, so "blocking" is simply a call the kind has not completed yet.
 */
#ifndef EMU_KIND_H
#define EMU_KIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "emu.h"

#define EMU_DATA_MAX	2048

enum emu_op { EMU_OP_READ = 1, EMU_OP_WRITE, EMU_OP_IOCTL };

/* A driver call: the request, and the result once the kind completes it. */
struct emu_call {
	enum emu_op	op;
	size_t		len;			/* READ: buffer size */
	uint8_t		data[EMU_DATA_MAX];	/* WRITE: the bytes */
	size_t		dlen;
	unsigned long	req;			/* IOCTL: request number */
	ssize_t		ret;			/* result: as the syscall */
	int		err;			/* errno when ret < 0 */
	uint8_t		out[EMU_DATA_MAX];	/* READ: the bytes */
	size_t		outlen;
};

struct emu_kind {
	const char	*name;
	void		*(*create)(void);
	void		 (*destroy)(void *st);
	/*
	 * Complete the call now (fill ret/err/out, return true) or leave it
	 * pending as the kernel would block (return false); a pending call
	 * is offered again after every change of state.
	 */
	bool		 (*call)(void *st, struct emu_call *c);
	/* poll(2) mask of the device now: POLLIN / POLLOUT. */
	short		 (*revents)(void *st);
	/* Host side; see emu.h for the semantics of each. */
	int		 (*host_request)(void *st, const uint8_t *f, size_t len);
	size_t		 (*host_take)(void *st, uint8_t *f, size_t max);
	void		 (*host_hold)(void *st, bool hold);
	void		 (*host_abort)(void *st);
	void		 (*signal_next_read)(void *st);
	bool		 (*attention)(void *st);
	void		 (*clear_attention)(void *st);
	/* Time passes (SSIF's 500 ms): called at least every 10 ms. */
	void		 (*tick)(void *st, uint64_t now_ns);
};

extern const struct emu_kind emu_kind_bt;
extern const struct emu_kind emu_kind_kcs;
extern const struct emu_kind emu_kind_ipmb;
extern const struct emu_kind emu_kind_ssif;

/* Monotonic time for kinds that keep timers. */
uint64_t	emu_now_ns(void);

#endif /* EMU_KIND_H */
