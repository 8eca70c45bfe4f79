/* SPDX-License-Identifier: MIT */
/*
 * Emulation of Linux's kcs_bmc_cdev_ipmi (/dev/ipmi-kcs<N>), test code
 * only. It keeps what the kernel keeps: one request buffer, one response
 * buffer and a phase, and it answers the driver's calls as the kernel's
 * read/write/ioctl/poll do (reference §1.2, checked against the kernel
 * source):
 *
 *   IDLE --host request--> REQUEST (POLLIN) --read--> WAIT_READ
 *   WAIT_READ --write--> DRAIN (the host clocks the response out)
 *   DRAIN --host takes it--> IDLE
 *   any --host request--> REQUEST (a new WRITE_START resets the phase and
 *                         drops the request or response in hand)
 *   any --host abort--> IDLE (GET_STATUS/ABORT, then the error bytes)
 *   any --force abort (EOVERFLOW read, ioctl 0xB102)--> ERROR
 *
 * Nothing here ever blocks: a read with nothing ready gives EAGAIN, as
 * the kernel's read does on an O_NONBLOCK fd or after a signal; writes are
 * immediate; POLLOUT is never reported.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "emu-kind.h"

#define EMU_KCS_BUFSIZ		1000	/* KCS_MSG_BUFSIZ */
#define EMU_KCS_WRITE_MIN	3	/* netfn, cmd, cc */

#define EMU_KCS_SET_SMS_ATN	0xB100
#define EMU_KCS_CLEAR_SMS_ATN	0xB101
#define EMU_KCS_FORCE_ABORT	0xB102

/* Status register bits the host reads (IPMI 2.0 table 9-1). */
#define EMU_KCS_ST_IDLE		(0 << 6)
#define EMU_KCS_ST_READ		(1 << 6)
#define EMU_KCS_ST_ERROR	(3 << 6)
#define EMU_KCS_ST_SMS_ATN	0x04
#define EMU_KCS_ST_OBF		0x01

/* KCS error codes the host reads during its abort sequence. */
#define EMU_KCS_ERR_NONE	0x00
#define EMU_KCS_ERR_ABORTED	0x01
#define EMU_KCS_ERR_LENGTH	0x06

enum emu_kcs_phase {
	EMU_KCS_IDLE,		/* nothing in hand */
	EMU_KCS_REQUEST,	/* a whole request waits for read(2) */
	EMU_KCS_WAIT_READ,	/* read; the host waits for our response */
	EMU_KCS_DRAIN,		/* response written, the host reads it out */
	EMU_KCS_ERROR,		/* force-aborted; the host must recover */
};

struct emu_kcs {
	enum emu_kcs_phase	phase;
	uint8_t			req[EMU_KCS_BUFSIZ];
	size_t			reqlen;
	uint8_t			rsp[EMU_KCS_BUFSIZ];
	size_t			rsplen;
	uint8_t			error;		/* host-visible KCS error */
	bool			sms_atn;
	bool			signal_next;	/* next read: EAGAIN */
};

/* For tests of this kind: the status register and error code the host
 * would read now. */
uint8_t	emu_kcs_status(void *st);
uint8_t	emu_kcs_error(void *st);

static void *
emu_kcs_create(void)
{
	return calloc(1, sizeof(struct emu_kcs));
}

static void
emu_kcs_destroy(void *st)
{
	free(st);
}

/* kcs_bmc_ipmi_force_abort(): ERROR state, partial request dropped. */
static void
emu_kcs_force_abort(struct emu_kcs *k)
{
	k->phase = EMU_KCS_ERROR;
	k->reqlen = 0;
	k->rsplen = 0;
}

static void
emu_kcs_fail(struct emu_call *c, int err)
{
	c->ret = -1;
	c->err = err;
}

static void
emu_kcs_read(struct emu_kcs *k, struct emu_call *c)
{
	if (k->signal_next) {
		/* The kernel ignores the interrupted wait's result: EAGAIN,
		 * and the request (if any) stays for the next read. */
		k->signal_next = false;
		emu_kcs_fail(c, EAGAIN);
		return;
	}
	if (k->phase != EMU_KCS_REQUEST) {
		emu_kcs_fail(c, EAGAIN);
		return;
	}
	if (c->len < k->reqlen) {
		/* Too small a buffer costs the whole transaction. */
		emu_kcs_force_abort(k);
		emu_kcs_fail(c, EOVERFLOW);
		return;
	}
	memcpy(c->out, k->req, k->reqlen);
	c->outlen = k->reqlen;
	c->ret = (ssize_t)k->reqlen;
	k->reqlen = 0;
	k->phase = EMU_KCS_WAIT_READ;
}

static void
emu_kcs_write(struct emu_kcs *k, struct emu_call *c)
{
	if (c->dlen < EMU_KCS_WRITE_MIN || c->dlen > EMU_KCS_BUFSIZ) {
		emu_kcs_fail(c, EINVAL);
		return;
	}
	/* Only a response the host is waiting for: not unsolicited, not
	 * after an abort or a new request, not while one still drains. */
	if (k->phase != EMU_KCS_WAIT_READ) {
		emu_kcs_fail(c, EINVAL);
		return;
	}
	memcpy(k->rsp, c->data, c->dlen);
	k->rsplen = c->dlen;
	k->phase = EMU_KCS_DRAIN;
	c->ret = (ssize_t)c->dlen;
}

static void
emu_kcs_ioctl(struct emu_kcs *k, struct emu_call *c)
{
	c->ret = 0;
	switch (c->req) {
	case EMU_KCS_SET_SMS_ATN:
		k->sms_atn = true;
		break;
	case EMU_KCS_CLEAR_SMS_ATN:
		k->sms_atn = false;
		break;
	case EMU_KCS_FORCE_ABORT:
		emu_kcs_force_abort(k);
		break;
	default:
		emu_kcs_fail(c, EINVAL);	/* not ENOTTY */
		break;
	}
}

/* Every call completes at once: nothing in this device blocks. */
static bool
emu_kcs_call(void *st, struct emu_call *c)
{
	struct emu_kcs	*k = st;

	c->ret = -1;
	c->err = 0;
	c->outlen = 0;
	switch (c->op) {
	case EMU_OP_READ:
		emu_kcs_read(k, c);
		break;
	case EMU_OP_WRITE:
		emu_kcs_write(k, c);
		break;
	case EMU_OP_IOCTL:
		emu_kcs_ioctl(k, c);
		break;
	default:
		emu_kcs_fail(c, EINVAL);
		break;
	}
	return true;
}

static short
emu_kcs_revents(void *st)
{
	struct emu_kcs	*k = st;

	/* POLLIN for a whole request; never POLLOUT. */
	return k->phase == EMU_KCS_REQUEST ? POLLIN : 0;
}

/*
 * The host writes a request: WRITE_START resets whatever was in hand
 * (request, response being drained, error). The kernel gathers at most
 * 1000 bytes and needs at least 2 (WRITE_END is refused right after
 * WRITE_START); otherwise it force-aborts with a length error.
 */
static int
emu_kcs_host_request(void *st, const uint8_t *f, size_t len)
{
	struct emu_kcs	*k = st;

	k->reqlen = 0;
	k->rsplen = 0;
	k->error = EMU_KCS_ERR_NONE;
	if (len < 2 || len > EMU_KCS_BUFSIZ) {
		emu_kcs_force_abort(k);
		k->error = EMU_KCS_ERR_LENGTH;
		return -1;
	}
	memcpy(k->req, f, len);
	k->reqlen = len;
	k->phase = EMU_KCS_REQUEST;
	return 0;
}

/* The host reads the response out, READ byte by READ byte, to IDLE. */
static size_t
emu_kcs_host_take(void *st, uint8_t *f, size_t max)
{
	struct emu_kcs	*k = st;
	size_t		 n;

	if (k->phase != EMU_KCS_DRAIN)
		return 0;
	n = k->rsplen < max ? k->rsplen : max;
	memcpy(f, k->rsp, n);
	k->rsplen = 0;
	k->phase = EMU_KCS_IDLE;
	return n;
}

/* KCS has no host busy bit: the host simply does not read. */
static void
emu_kcs_host_hold(void *st, bool hold)
{
}

/* GET_STATUS/ABORT and the two error-phase bytes: back to IDLE, with
 * nothing in hand, so a late response is refused. */
static void
emu_kcs_host_abort(void *st)
{
	struct emu_kcs	*k = st;

	if (k->error == EMU_KCS_ERR_NONE)
		k->error = EMU_KCS_ERR_ABORTED;
	k->reqlen = 0;
	k->rsplen = 0;
	k->phase = EMU_KCS_IDLE;
}

static void
emu_kcs_signal_next_read(void *st)
{
	struct emu_kcs	*k = st;

	k->signal_next = true;
}

static bool
emu_kcs_attention(void *st)
{
	struct emu_kcs	*k = st;

	return k->sms_atn;
}

/* Only the BMC clears SMS_ATN on KCS (ioctl 0xB101); the host cannot. */
static void
emu_kcs_clear_attention(void *st)
{
}

static void
emu_kcs_tick(void *st, uint64_t now_ns)
{
}

uint8_t
emu_kcs_status(void *st)
{
	struct emu_kcs	*k = st;
	uint8_t		 s = 0;

	switch (k->phase) {
	case EMU_KCS_IDLE:
		s = EMU_KCS_ST_IDLE;
		break;
	case EMU_KCS_REQUEST:
	case EMU_KCS_WAIT_READ:
		s = EMU_KCS_ST_READ;	/* the host waits for OBF */
		break;
	case EMU_KCS_DRAIN:
		s = EMU_KCS_ST_READ | EMU_KCS_ST_OBF;
		break;
	case EMU_KCS_ERROR:
		s = EMU_KCS_ST_ERROR;
		break;
	}
	if (k->sms_atn)
		s |= EMU_KCS_ST_SMS_ATN;
	return s;
}

uint8_t
emu_kcs_error(void *st)
{
	struct emu_kcs	*k = st;

	return k->error;
}

const struct emu_kind emu_kind_kcs = {
	.name = "kcs",
	.create = emu_kcs_create,
	.destroy = emu_kcs_destroy,
	.call = emu_kcs_call,
	.revents = emu_kcs_revents,
	.host_request = emu_kcs_host_request,
	.host_take = emu_kcs_host_take,
	.host_hold = emu_kcs_host_hold,
	.host_abort = emu_kcs_host_abort,
	.signal_next_read = emu_kcs_signal_next_read,
	.attention = emu_kcs_attention,
	.clear_attention = emu_kcs_clear_attention,
	.tick = emu_kcs_tick,
};
