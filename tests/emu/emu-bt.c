/* SPDX-License-Identifier: MIT */
/*
 * emu_kind_bt: the Linux bt-bmc device (/dev/ipmi-bt-host) as the BMC
 * side sees it (reference/ipmi-bmc-interfaces.md, section 1.1), for tests.
 *
 * The host's requests wait in a queue (H2B_ATN while it is not empty).
 * read() blocks until one is there and returns 1 + min(L, count - 1)
 * bytes with byte 0 the original L, so a short buffer cuts the message
 * silently. write() needs count >= 5 (else EINVAL) and blocks while the
 * host is busy (H_BUSY, emu_host_hold) or has not drained the previous
 * response (B2H_ATN, until emu_host_response takes it); no timeout.
 * POLLIN iff a request waits, POLLOUT iff neither H_BUSY nor B2H_ATN.
 * O_NONBLOCK is ignored: nothing here ever returns EAGAIN. ioctl 0xB100
 * sets SMS_ATN, anything else is EINVAL; only the host clears SMS_ATN.
 *
 * One choice the reference leaves open: when the host wrote fewer bytes
 * than its length byte claims, the hardware hands over whatever the FIFO
 * holds past them; the emulation hands over only the bytes the host
 * wrote (byte 0 still the claimed L), so the driver's length check sees
 * the disagreement.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "emu-kind.h"

#define EMU_BT_BUF		256	/* BT_BMC_BUFFER_SIZE */
#define EMU_BT_QUEUE		32
#define EMU_BT_IOCTL_SMS_ATN	0xb100ul

struct emu_bt {
	uint8_t		req[EMU_BT_QUEUE][EMU_BT_BUF];
	size_t		reqlen[EMU_BT_QUEUE];
	size_t		head, count;
	bool		h_busy;			/* the host holds */
	bool		b2h_atn;		/* a response not drained */
	uint8_t		rsp[EMU_DATA_MAX];
	size_t		rsplen;
	bool		sms_atn;
};

static void *
emu_bt_create(void)
{
	return calloc(1, sizeof(struct emu_bt));
}

static void
emu_bt_destroy(void *st)
{
	free(st);
}

static bool
emu_bt_read(struct emu_bt *bt, struct emu_call *c)
{
	const uint8_t	*f;
	size_t		 flen, n;

	if (c->len < 1) {
		c->ret = -1;
		c->err = EINVAL;
		return true;
	}
	if (bt->count == 0)
		return false;			/* until H2B_ATN */
	f = bt->req[bt->head];
	flen = bt->reqlen[bt->head];
	n = 1 + ((size_t)f[0] < c->len - 1 ? (size_t)f[0] : c->len - 1);
	if (n > flen)
		n = flen;
	memcpy(c->out, f, n);
	c->outlen = n;
	c->ret = (ssize_t)n;
	bt->head = (bt->head + 1) % EMU_BT_QUEUE;
	bt->count--;
	return true;
}

static bool
emu_bt_write(struct emu_bt *bt, struct emu_call *c)
{
	if (c->dlen < 5) {
		c->ret = -1;
		c->err = EINVAL;
		return true;
	}
	if (bt->h_busy || bt->b2h_atn)
		return false;			/* no timeout */
	memcpy(bt->rsp, c->data, c->dlen);
	bt->rsplen = c->dlen;
	bt->b2h_atn = true;
	c->ret = (ssize_t)c->dlen;
	return true;
}

static bool
emu_bt_call(void *st, struct emu_call *c)
{
	struct emu_bt	*bt = st;

	switch (c->op) {
	case EMU_OP_READ:
		return emu_bt_read(bt, c);
	case EMU_OP_WRITE:
		return emu_bt_write(bt, c);
	case EMU_OP_IOCTL:
		if (c->req == EMU_BT_IOCTL_SMS_ATN) {
			bt->sms_atn = true;
			c->ret = 0;
		} else {
			c->ret = -1;
			c->err = EINVAL;
		}
		return true;
	}
	c->ret = -1;
	c->err = EINVAL;
	return true;
}

static short
emu_bt_revents(void *st)
{
	struct emu_bt	*bt = st;
	short		 ev = 0;

	if (bt->count > 0)
		ev |= POLLIN;
	if (!bt->h_busy && !bt->b2h_atn)
		ev |= POLLOUT;
	return ev;
}

static int
emu_bt_host_request(void *st, const uint8_t *f, size_t len)
{
	struct emu_bt	*bt = st;
	size_t		 i;

	if (len < 1 || len > EMU_BT_BUF || bt->count == EMU_BT_QUEUE)
		return -1;
	i = (bt->head + bt->count) % EMU_BT_QUEUE;
	memcpy(bt->req[i], f, len);
	bt->reqlen[i] = len;
	bt->count++;
	return 0;
}

/* The host reads the response out, which clears B2H_ATN. */
static size_t
emu_bt_host_take(void *st, uint8_t *f, size_t max)
{
	struct emu_bt	*bt = st;
	size_t		 n;

	if (!bt->b2h_atn || bt->h_busy)
		return 0;
	n = bt->rsplen < max ? bt->rsplen : max;
	memcpy(f, bt->rsp, n);
	bt->b2h_atn = false;
	return n;
}

static void
emu_bt_host_hold(void *st, bool hold)
{
	((struct emu_bt *)st)->h_busy = hold;
}

static bool
emu_bt_attention(void *st)
{
	return ((struct emu_bt *)st)->sms_atn;
}

static void
emu_bt_clear_attention(void *st)
{
	((struct emu_bt *)st)->sms_atn = false;
}

const struct emu_kind emu_kind_bt = {
	.name = "bt",
	.create = emu_bt_create,
	.destroy = emu_bt_destroy,
	.call = emu_bt_call,
	.revents = emu_bt_revents,
	.host_request = emu_bt_host_request,
	.host_take = emu_bt_host_take,
	.host_hold = emu_bt_host_hold,
	.attention = emu_bt_attention,
	.clear_attention = emu_bt_clear_attention,
};
