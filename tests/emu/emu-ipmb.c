/* SPDX-License-Identifier: MIT */
/*
 * Emulation of ipmb_dev_int, /dev/ipmb-<adapter> (reference 1.3), as read
 * at torvalds/linux 908ae7e0, in its "i2c-protocol" mode (plain I2C
 * writes, which is standard IPMB on the wire).
 *
 * Host side. emu_host_request() takes a frame in the format the BMC side
 * reads, [len][rsSA][netfn/lun][chk1][rqSA][seq/lun][cmd][data...][chk2]:
 * bytes 1.. are what the kernel collected (our own address, then the I2C
 * payload). Byte 0 is ignored and recomputed, because the kernel counts
 * the bytes itself; so is everything past its buffer (238 frame bytes),
 * which it drops. Like the kernel, the emulation queues only frames of at
 * least 7 bytes after len whose checksum 1 is right, and never looks at
 * checksum 2; a dropped frame is invisible to the host (it was ACKed),
 * so that still returns 0. Only a full queue (256) returns -1. Whatever
 * rsSA the test gives is taken as our own address (a real host could not
 * reach us at another one).
 *
 * The queue is a stack: the kernel inserts at the list head and reads
 * from the head, so a backlog comes out newest first.
 *
 * Driver side. read() pops the newest frame and returns min(count, len+1)
 * bytes, cutting the rest silently (even count 0 consumes the frame);
 * with nothing queued it fails with EAGAIN, as the supervisor opens the
 * device O_NONBLOCK. poll() always shows POLLOUT, POLLIN while frames are
 * queued. write(): count > 240 or count < buf[0] is EINVAL (count 0 too:
 * the kernel then compares with an uninitialised byte); otherwise bytes
 * [1..buf[0]] go out as one I2C write to buf[1] >> 1 and write() returns
 * count. The kernel transmits buf[0] - 1 bytes from buf + 2 whatever
 * count says, so a count of exactly buf[0] sends one byte userspace never
 * gave (here 0x00). buf[0] == 0 would make the kernel ask the adapter for
 * a 65535-byte transfer: modelled as EIO (adapter-dependent, unverified).
 * No ioctls: ENOTTY. Nothing blocks and nothing expires.
 *
 * emu_host_response() takes the written frames, oldest first, as they
 * were written (with the len byte). Real I2C writes can fail (NAK,
 * arbitration); that is not modelled.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "emu-kind.h"

#define EMU_IPMB_MSG_MAX	240	/* MAX_MSG_LEN */
#define EMU_IPMB_FRAME_MAX	238	/* bytes after len the kernel keeps */
#define EMU_IPMB_MIN		7	/* IPMB_REQUEST_LEN_MIN */
#define EMU_IPMB_QUEUE_MAX	256	/* REQUEST_QUEUE_MAX_LEN */
#define EMU_IPMB_OUT_MAX	256	/* written, not yet taken by the host */

struct emu_ipmb_frame {
	size_t	len;
	uint8_t	b[EMU_IPMB_MSG_MAX + 1];	/* + 1: see write() */
};

struct emu_ipmb {
	struct emu_ipmb_frame	stack[EMU_IPMB_QUEUE_MAX];
	size_t			depth;
	struct emu_ipmb_frame	out[EMU_IPMB_OUT_MAX];
	size_t			out_head;
	size_t			out_count;
};

static void *
emu_ipmb_create(void)
{
	return calloc(1, sizeof(struct emu_ipmb));
}

static void
emu_ipmb_destroy(void *st)
{
	free(st);
}

static void
emu_ipmb_read(struct emu_ipmb *d, struct emu_call *c)
{
	struct emu_ipmb_frame	*f;
	size_t			 n;

	if (d->depth == 0) {
		c->ret = -1;
		c->err = EAGAIN;
		return;
	}
	f = &d->stack[--d->depth];
	n = c->len < f->len ? c->len : f->len;
	if (n > sizeof(c->out))
		n = sizeof(c->out);
	memcpy(c->out, f->b, n);
	c->outlen = n;
	c->ret = (ssize_t)n;
}

static void
emu_ipmb_write(struct emu_ipmb *d, struct emu_call *c)
{
	struct emu_ipmb_frame	*f;
	size_t			 n;

	if (c->dlen == 0 || c->dlen > EMU_IPMB_MSG_MAX ||
	    c->dlen < c->data[0]) {
		c->ret = -1;
		c->err = EINVAL;
		return;
	}
	if (c->data[0] == 0) {
		c->ret = -1;
		c->err = EIO;
		return;
	}
	c->ret = (ssize_t)c->dlen;
	if (d->out_count == EMU_IPMB_OUT_MAX)
		return;		/* on the wire; this host missed it */
	f = &d->out[(d->out_head + d->out_count++) % EMU_IPMB_OUT_MAX];
	n = (size_t)c->data[0] + 1;
	memset(f->b, 0, sizeof(f->b));
	memcpy(f->b, c->data, n < c->dlen ? n : c->dlen);
	f->len = n;
}

static bool
emu_ipmb_call(void *st, struct emu_call *c)
{
	struct emu_ipmb	*d = st;

	switch (c->op) {
	case EMU_OP_READ:
		emu_ipmb_read(d, c);
		break;
	case EMU_OP_WRITE:
		emu_ipmb_write(d, c);
		break;
	case EMU_OP_IOCTL:
	default:
		c->ret = -1;
		c->err = ENOTTY;
		break;
	}
	return true;
}

static short
emu_ipmb_revents(void *st)
{
	struct emu_ipmb	*d = st;

	return POLLOUT | (d->depth > 0 ? POLLIN : 0);
}

static int
emu_ipmb_host_request(void *st, const uint8_t *f, size_t len)
{
	struct emu_ipmb		*d = st;
	struct emu_ipmb_frame	*q;
	size_t			 got;

	if (len < 1)
		return 0;
	got = len - 1;
	if (got > EMU_IPMB_FRAME_MAX)
		got = EMU_IPMB_FRAME_MAX;
	/* The kernel keeps a frame of 7+ bytes whose checksum 1 holds. */
	if (got < EMU_IPMB_MIN || (uint8_t)(f[1] + f[2] + f[3]) != 0)
		return 0;
	if (d->depth == EMU_IPMB_QUEUE_MAX)
		return -1;
	q = &d->stack[d->depth++];
	q->b[0] = (uint8_t)got;
	memcpy(q->b + 1, f + 1, got);
	q->len = got + 1;
	return 0;
}

static size_t
emu_ipmb_host_take(void *st, uint8_t *f, size_t max)
{
	struct emu_ipmb		*d = st;
	struct emu_ipmb_frame	*o;
	size_t			 n;

	if (d->out_count == 0)
		return 0;
	o = &d->out[d->out_head];
	d->out_head = (d->out_head + 1) % EMU_IPMB_OUT_MAX;
	d->out_count--;
	n = o->len < max ? o->len : max;
	memcpy(f, o->b, n);
	return n;
}

/* IPMB has no host flow control, abort, signals quirk or attention. */
static void
emu_ipmb_host_hold(void *st, bool hold)
{
}

static void
emu_ipmb_nothing(void *st)
{
}

static bool
emu_ipmb_attention(void *st)
{
	return false;
}

static void
emu_ipmb_tick(void *st, uint64_t now_ns)
{
}

const struct emu_kind emu_kind_ipmb = {
	.name = "ipmb",
	.create = emu_ipmb_create,
	.destroy = emu_ipmb_destroy,
	.call = emu_ipmb_call,
	.revents = emu_ipmb_revents,
	.host_request = emu_ipmb_host_request,
	.host_take = emu_ipmb_host_take,
	.host_hold = emu_ipmb_host_hold,
	.host_abort = emu_ipmb_nothing,
	.signal_next_read = emu_ipmb_nothing,
	.attention = emu_ipmb_attention,
	.clear_attention = emu_ipmb_nothing,
	.tick = emu_ipmb_tick,
};
