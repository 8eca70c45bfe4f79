/* SPDX-License-Identifier: MIT */
/*
 * The RPC between a driver built with emu_dev_ops (emu-ops.c) and the
 * emulator core (emu.c), over the SOCK_SEQPACKET socket the driver holds
 * as its device fd. One datagram is one struct emu_msg: a fixed header,
 * then dlen payload bytes (only WRITE and RET carry any). Both ends are
 * test code built from the same tree, so the header is sent in host byte
 * order and versioned only by this file.
 *
 *   client                          emulator
 *   OPEN{nonce}                 ->  drops the connection's pending call
 *                                   and watch, counts a session
 *                               <-  OPENED{nonce}
 *   READ{arg = buffer size}     ->  (pending while the kind blocks)
 *   WRITE{data}                 ->
 *   IOCTL{arg = request}        ->
 *                               <-  RET{ret, err, data (READ)}
 *   WATCH{id, arg = events}     ->  replaces the connection's watch
 *                               <-  READY{id, arg = revents now} at once
 *                                   (0: the watch is armed)
 *                               <-  READY{id, arg = revents} later, once
 *                                   the device's events meet an armed
 *                                   watch
 *
 * At most one call and one watch are outstanding per connection; the
 * client tags watches so a READY for a superseded watch is ignored. A
 * client opening a session discards everything until its OPENED, which
 * the emulator sends after all it sent before, so nothing a killed
 * predecessor provoked can reach the new driver.
 */
#ifndef EMU_PROTO_H
#define EMU_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "emu-kind.h"

enum emu_msg_type {
	EMU_MSG_OPEN = 1,
	EMU_MSG_OPENED,
	EMU_MSG_READ,
	EMU_MSG_WRITE,
	EMU_MSG_IOCTL,
	EMU_MSG_RET,
	EMU_MSG_WATCH,
	EMU_MSG_READY,
};

struct emu_msg {
	uint32_t	type;		/* enum emu_msg_type */
	uint32_t	dlen;		/* payload bytes after it */
	uint64_t	id;		/* OPEN(ED) nonce, WATCH/READY id */
	uint64_t	arg;		/* READ len, IOCTL req, events */
	int64_t		ret;		/* RET: as the syscall */
	int32_t		err;		/* RET: errno if ret < 0 */
	uint32_t	pad;
	uint8_t		data[EMU_DATA_MAX];
};

#define EMU_MSG_HDR	offsetof(struct emu_msg, data)
#define EMU_MSG_SIZE	sizeof(struct emu_msg)

#endif /* EMU_PROTO_H */
