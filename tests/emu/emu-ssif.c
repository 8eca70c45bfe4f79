/* SPDX-License-Identifier: MIT */
/*
 * An emulation of /dev/ipmi-ssif-host (Linux ssif_bmc), for tests only:
 * the state the kernel keeps between the SMBus slave side and the
 * character device, as reference/ipmi-bmc-interfaces.md 1.4 describes it.
 * The SMBus framing itself (parts, PEC) is the kernel's business and is
 * not modelled: the host hands over and takes whole ipmi_ssif_msg frames,
 * [u32 len][payload], len native-endian.
 *
 * One request buffer and one response buffer. A complete host request
 * replaces the buffered request, drops a response the host has not read
 * out yet, and (re)starts the 500 ms response timer, as the kernel does
 * when the request's last part arrives (not when userspace reads it).
 * When the timer fires with no response in progress, the device stops
 * expecting one: the write gets EINVAL. A write accepted stops the timer,
 * so a second write for the same request gets EAGAIN while the first is
 * still being clocked out, then EINVAL.
 *
 * The supervisor opens the device O_NONBLOCK, so no call ever blocks
 * here: read with nothing buffered and write while a response is in
 * progress say EAGAIN. poll shows POLLIN only. There are no ioctls (the
 * VFS answers ENOTTY) and no attention.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "emu-kind.h"

#define SSIF_HDR		4
#define SSIF_PAYLOAD_MAX	254
#define SSIF_MSG_SIZE		(SSIF_HDR + SSIF_PAYLOAD_MAX)
#define SSIF_TIMEOUT_NS		(500ull * 1000000ull)

struct emu_ssif {
	/* The request buffer; avail is the kernel's request_available. */
	uint8_t		req[SSIF_PAYLOAD_MAX];
	uint32_t	req_len;
	bool		req_avail;
	/* response_timer_inited: a response is expected. */
	bool		timer_armed;
	uint64_t	timer_at;
	/* response_in_progress: written, not yet read out by the host. */
	bool		resp_busy;
	uint8_t		resp[SSIF_PAYLOAD_MAX];
	uint32_t	resp_len;
	/* The host's reads return nothing until its next request. */
	bool		aborting;
};

static uint32_t
emu_ssif_get_len(const uint8_t *p)
{
	uint32_t	v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void *
emu_ssif_create(void)
{
	return calloc(1, sizeof(struct emu_ssif));
}

static void
emu_ssif_destroy(void *st)
{
	free(st);
}

static void
emu_ssif_fail(struct emu_call *c, int err)
{
	c->ret = -1;
	c->err = err;
}

/* read(2): the whole buffered message, or EINVAL keeping it. */
static void
emu_ssif_read(struct emu_ssif *s, struct emu_call *c)
{
	size_t	n;

	if (!s->req_avail) {
		emu_ssif_fail(c, EAGAIN);
		return;
	}
	n = SSIF_HDR + (size_t)s->req_len;
	if (n > SSIF_MSG_SIZE)
		n = SSIF_MSG_SIZE;
	if (c->len < n) {
		emu_ssif_fail(c, EINVAL);
		return;
	}
	memcpy(c->out, &s->req_len, SSIF_HDR);
	memcpy(c->out + SSIF_HDR, s->req, n - SSIF_HDR);
	c->outlen = n;
	c->ret = (ssize_t)n;
	s->req_avail = false;
}

/* write(2): the checks in the kernel's order. */
static void
emu_ssif_write(struct emu_ssif *s, struct emu_call *c)
{
	uint32_t	len;

	if (c->dlen < SSIF_HDR || c->dlen > SSIF_MSG_SIZE) {
		emu_ssif_fail(c, EINVAL);
		return;
	}
	len = emu_ssif_get_len(c->data);
	if (len == 0 || len > SSIF_PAYLOAD_MAX || c->dlen < SSIF_HDR + len) {
		emu_ssif_fail(c, EINVAL);
		return;
	}
	if (s->resp_busy) {
		emu_ssif_fail(c, EAGAIN);
		return;
	}
	if (!s->timer_armed) {
		/* No request pending, or its 500 ms are over. */
		emu_ssif_fail(c, EINVAL);
		return;
	}
	s->timer_armed = false;
	memcpy(s->resp, c->data + SSIF_HDR, len);
	s->resp_len = len;
	s->resp_busy = true;
	/* The kernel wipes the request buffer, not request_available. */
	memset(s->req, 0, sizeof(s->req));
	s->req_len = 0;
	c->ret = (ssize_t)c->dlen;
}

static bool
emu_ssif_call(void *st, struct emu_call *c)
{
	struct emu_ssif	*s = st;

	switch (c->op) {
	case EMU_OP_READ:
		emu_ssif_read(s, c);
		break;
	case EMU_OP_WRITE:
		emu_ssif_write(s, c);
		break;
	case EMU_OP_IOCTL:
	default:
		/* ssif_bmc has no unlocked_ioctl: the VFS says ENOTTY. */
		emu_ssif_fail(c, ENOTTY);
		break;
	}
	return true;
}

static short
emu_ssif_revents(void *st)
{
	struct emu_ssif	*s = st;

	return s->req_avail ? POLLIN : 0;
}

/*
 * The host's request has fully arrived. The kernel takes 0..254 payload
 * bytes (a longer multi-part write aborts); len here is the whole
 * [u32][payload] frame and the payload length is what counts.
 */
static int
emu_ssif_host_request(void *st, const uint8_t *f, size_t len)
{
	struct emu_ssif	*s = st;
	size_t		 plen;

	if (len < SSIF_HDR || len - SSIF_HDR > SSIF_PAYLOAD_MAX)
		return -1;
	plen = len - SSIF_HDR;
	/* A new write start completes (drops) a response not yet sent. */
	s->resp_busy = false;
	s->resp_len = 0;
	s->aborting = false;
	memcpy(s->req, f + SSIF_HDR, plen);
	s->req_len = (uint32_t)plen;
	s->req_avail = true;
	s->timer_armed = true;
	s->timer_at = emu_now_ns() + SSIF_TIMEOUT_NS;
	return 0;
}

/* The host reads the response out; the device is free again. */
static size_t
emu_ssif_host_take(void *st, uint8_t *f, size_t max)
{
	struct emu_ssif	*s = st;
	size_t		 n;

	if (!s->resp_busy || s->aborting)
		return 0;
	n = SSIF_HDR + s->resp_len;
	if (n > max)
		return 0;
	memcpy(f, &s->resp_len, SSIF_HDR);
	memcpy(f + SSIF_HDR, s->resp, s->resp_len);
	s->resp_busy = false;
	s->resp_len = 0;
	return n;
}

static void
emu_ssif_expire(struct emu_ssif *s)
{
	/* The kernel leaves an in-progress response alone. */
	if (!s->timer_armed || s->resp_busy)
		return;
	s->timer_armed = false;
	s->aborting = true;
}

static void
emu_ssif_host_abort(void *st)
{
	emu_ssif_expire(st);
}

static void
emu_ssif_tick(void *st, uint64_t now_ns)
{
	struct emu_ssif	*s = st;

	if (s->timer_armed && now_ns >= s->timer_at)
		emu_ssif_expire(s);
}

static void
emu_ssif_host_hold(void *st, bool hold)
{
	/* SMBus has no host busy bit the BMC could wait on. */
}

static void
emu_ssif_signal_next_read(void *st)
{
	/* Non-blocking reads never sleep, so no signal can cut one short. */
}

static bool
emu_ssif_attention(void *st)
{
	return false;
}

static void
emu_ssif_clear_attention(void *st)
{
}

const struct emu_kind emu_kind_ssif = {
	.name = "ssif",
	.create = emu_ssif_create,
	.destroy = emu_ssif_destroy,
	.call = emu_ssif_call,
	.revents = emu_ssif_revents,
	.host_request = emu_ssif_host_request,
	.host_take = emu_ssif_host_take,
	.host_hold = emu_ssif_host_hold,
	.host_abort = emu_ssif_host_abort,
	.signal_next_read = emu_ssif_signal_next_read,
	.attention = emu_ssif_attention,
	.clear_attention = emu_ssif_clear_attention,
	.tick = emu_ssif_tick,
};
