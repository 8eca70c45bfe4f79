/* SPDX-License-Identifier: MIT */
/*
 * The shared body of every bus driver (see busdrv.h). It owns one device,
 * already open, and one link to the broker, and trusts neither the host
 * nor, beyond validation, the broker: host frames go through the medium's
 * pure parser, broker messages through validate-style checks, and nothing
 * either sends can make it block on the device or grow without bound.
 *
 * Requests the host sent wait in a small table until the broker answers
 * (or the host's own timeout passes: then they are dropped and the broker
 * told). Answers wait in a bounded queue until the device takes them:
 * BT only when it polls POLLOUT, since its write blocks until the host
 * drained the previous response; KCS and SSIF at once, where EINVAL means
 * the host stopped waiting.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus.pb-c.h"
#include "busdrv.h"
#include "log.h"
#include "wire.h"
#include "wire-hot.h"

#define BUSDRV_VERSION		1
#define BUSDRV_QUEUE_DEFAULT	16
#define BUSDRV_LINKQ_LIMIT	1024
#define BUSDRV_STATS_MS		1000
#define BUSDRV_LOG_EVERY_MS	1000
#define BUSDRV_EXPIRE_MS	100	/* how often to look for expiry */

struct busdrv_pending {
	bool			used;
	uint64_t		token;
	uint64_t		arrived_ns;
	struct busdrv_req	req;
};

struct busdrv_out {
	uint64_t	token;
	uint64_t	arrived_ns;	/* of the request it answers */
	size_t		len;
	uint8_t		frame[BUSDRV_FRAME_MAX];
};

enum busdrv_reason { BR_SHORT, BR_RESPONSE, BR_CHECKSUM, BR_LENGTH,
    BR_OVERSIZE, BR_MALFORMED, BR_STALE, BR_WRITE, BR_BUSY, BR_N };

static struct busdrv_state {
	const struct busdrv_medium	*m;
	const struct busdrv_dev_ops	*ops;
	void				*dev;
	int				 link;
	char				 name[64];
	char				 device[256];
	uint8_t				 channel;
	uint32_t			 deadline_ms;
	bool				 welcomed;
	bool				 connected;	/* stream peer */
	uint32_t			 controls;	/* allowed now */
	uint64_t			 next_token;
	struct busdrv_pending		*pend;
	size_t				 npend;		/* slots */
	size_t				 inuse;
	struct busdrv_out		*outq;
	size_t				 out_head;
	size_t				 out_count;
	size_t				 out_max;
	struct wire_queue		 linkq;
	bool				 batches;	/* the broker takes them */
	struct wire_batch		 lbatch;	/* to the broker, this round */
	Bus__Stats			 stats;
	bool				 stats_dirty;
	uint64_t			 stats_at;
	uint64_t			 expire_at;
	uint64_t			 log_at[BR_N];
	uint64_t			 log_quiet[BR_N];
	struct wire_arena		 arena;	/* broker messages */
	uint8_t				 arena_buf[8192];
	uint8_t				 rbuf[WIRE_MSG_MAX + 1];
	uint8_t				 frame[BUSDRV_FRAME_MAX + 16];
} bd;

uint32_t	busdrv_baud;	/* serial: --baud, 0 when not given */

static const char *busdrv_reason_text[BR_N] = {
	[BR_SHORT] = "frame too short for netfn and cmd",
	[BR_RESPONSE] = "response netfn in a request",
	[BR_CHECKSUM] = "bad checksum",
	[BR_LENGTH] = "length byte disagrees with the frame",
	[BR_OVERSIZE] = "request larger than the broker carries",
	[BR_MALFORMED] = "malformed frame",
	[BR_STALE] = "response dropped: the host is no longer waiting",
	[BR_WRITE] = "device write failed",
	[BR_BUSY] = "more requests than the medium allows at once",
};

static uint64_t
busdrv_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Host input is hostile: at most one log line a second per reason. */
static void
busdrv_complain(enum busdrv_reason r, const char *detail)
{
	uint64_t	now = busdrv_now();

	if (bd.log_at[r] != 0 &&
	    now - bd.log_at[r] < BUSDRV_LOG_EVERY_MS * 1000000ull) {
		bd.log_quiet[r]++;
		return;
	}
	if (bd.log_quiet[r] > 0)
		log_warnx("bus %s: %s%s%s (and %llu more)", bd.name,
		    busdrv_reason_text[r], detail ? ": " : "",
		    detail ? detail : "",
		    (unsigned long long)bd.log_quiet[r]);
	else
		log_warnx("bus %s: %s%s%s", bd.name, busdrv_reason_text[r],
		    detail ? ": " : "", detail ? detail : "");
	bd.log_at[r] = now;
	bd.log_quiet[r] = 0;
}

/* Send the round's batch to the broker (or queue it behind a full link). */
static void
busdrv_link_flush(void)
{
	const uint8_t	*d;
	size_t		 len;
	int		 r;

	if (bd.lbatch.count == 0)
		return;
	d = wire_batch_datagram(&bd.lbatch, &len);
	r = wire_queue_send(&bd.linkq, bd.link, d, len);
	wire_batch_reset(&bd.lbatch);
	if (r == -ENOBUFS)
		log_warnx("bus %s: broker not reading; messages dropped",
		    bd.name);
	else if (r < 0)
		fatalx("bus %s: broker link: %s", bd.name, strerror(-r));
}

/* To the broker: at once, or with the rest of this round once it takes
 * batches (busdrv_link_flush() before the driver waits again). */
static void
busdrv_link_send(Bus__Envelope *env)
{
	uint8_t	buf[WIRE_MSG_MAX];
	size_t	len;
	int	r;

	if (bd.batches) {
		if ((len = wire_pack_bus(env, buf)) == 0)
			fatalx("bus %s: message too large", bd.name);
		if ((r = wire_batch_add(&bd.lbatch, buf, len)) < 0)
			fatalx("bus %s: message too large", bd.name);
		if (r == 0)
			return;
		busdrv_link_flush();
		(void)wire_batch_add(&bd.lbatch, buf, len);
		return;
	}
	r = wire_send_queued(&bd.linkq, bd.link, &env->base);
	if (r == -ENOBUFS)
		log_warnx("bus %s: broker not reading; message dropped",
		    bd.name);
	else if (r < 0 && r != -EAGAIN)
		fatalx("bus %s: broker link: %s", bd.name, strerror(-r));
}

static void
busdrv_cancel(uint64_t token, Bus__CancelReason why)
{
	Bus__Envelope	env = BUS__ENVELOPE__INIT;
	Bus__Cancel	c = BUS__CANCEL__INIT;

	c.token = token;
	c.reason = why;
	env.body_case = BUS__ENVELOPE__BODY_CANCEL;
	env.cancel = &c;
	busdrv_link_send(&env);
	bd.stats.cancelled++;
	bd.stats_dirty = true;
}

static struct busdrv_pending *
busdrv_pending_find(uint64_t token)
{
	size_t	i;

	for (i = 0; i < bd.npend; i++)
		if (bd.pend[i].used && bd.pend[i].token == token)
			return &bd.pend[i];
	return NULL;
}

static void
busdrv_pending_drop(struct busdrv_pending *p)
{
	p->used = false;
	bd.inuse--;
}

/* ---- responses toward the device ---- */

static void
busdrv_out_pop(void)
{
	bd.out_head = (bd.out_head + 1) % bd.out_max;
	bd.out_count--;
	bd.stats.queue_depth = (uint32_t)bd.out_count;
	bd.stats_dirty = true;
}

/* Write one frame. Returns 0 when done with it (written or dropped),
 * -1 when it should wait for the device. */
static int
busdrv_write(const uint8_t *frame, size_t len)
{
	ssize_t	n;

	n = bd.ops->write(bd.dev, frame, len);
	if (n == (ssize_t)len) {
		bd.stats.frames_out++;
		bd.stats_dirty = true;
		return 0;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -1;
	if (n < 0 && errno == EINVAL && bd.m->einval_means_gone) {
		/* KCS, SSIF: the host gave up or started a new request. */
		bd.stats.stale++;
		bd.stats_dirty = true;
		busdrv_complain(BR_STALE, "device refused the write");
		return 0;
	}
	bd.stats.write_errors++;
	bd.stats_dirty = true;
	busdrv_complain(BR_WRITE, n < 0 ? strerror(errno) : "short write");
	return 0;
}

static void
busdrv_out_push(uint64_t token, uint64_t arrived_ns, const uint8_t *frame,
    size_t len)
{
	struct busdrv_out	*o;

	if (!bd.m->write_waits_pollout && bd.out_count == 0) {
		if (busdrv_write(frame, len) == 0)
			return;
	}
	if (bd.out_count == bd.out_max) {
		bd.stats.stale++;
		bd.stats_dirty = true;
		busdrv_complain(BR_STALE, "response queue full");
		return;
	}
	o = &bd.outq[(bd.out_head + bd.out_count) % bd.out_max];
	o->token = token;
	o->arrived_ns = arrived_ns;
	o->len = len;
	memcpy(o->frame, frame, len);
	bd.out_count++;
	bd.stats.queue_depth = (uint32_t)bd.out_count;
	bd.stats_dirty = true;
}

/* The device can take a frame: write the oldest still worth sending. */
static void
busdrv_out_flush(void)
{
	struct busdrv_out	*o;

	while (bd.out_count > 0) {
		o = &bd.outq[bd.out_head];
		if (busdrv_write(o->frame, o->len) < 0)
			return;
		busdrv_out_pop();
		/* BT: one write per POLLOUT; the next must wait for it. */
		if (bd.m->write_waits_pollout)
			return;
	}
}

/* The body code (0x2C) or IANA (0x2E) an error answer repeats. */
static size_t
busdrv_echo(const struct busdrv_req *req)
{
	if (req->netfn == 0x2c && req->len >= 1)
		return 1;
	if (req->netfn == 0x2e && req->len >= 3)
		return 3;
	return 0;
}

/* Answer a request ourselves, without the broker (busy, too large). */
static void
busdrv_answer_local(const struct busdrv_req *req, uint8_t cc)
{
	size_t	len;

	len = bd.m->format(req, cc, req->data, busdrv_echo(req), bd.frame,
	    sizeof(bd.frame));
	if (len > 0)
		busdrv_out_push(0, busdrv_now(), bd.frame, len);
}

/* ---- requests from the device ---- */

static void
busdrv_request(const struct busdrv_req *req)
{
	Bus__Envelope		 env = BUS__ENVELOPE__INIT;
	Bus__Request		 rq = BUS__REQUEST__INIT;
	struct busdrv_pending	*p = NULL;
	size_t			 i;

	if (bd.m->one_outstanding) {
		/* KCS, SSIF: a new request means the host gave up on the
		 * last one; its answer must not be written. */
		for (i = 0; i < bd.npend; i++)
			if (bd.pend[i].used) {
				busdrv_cancel(bd.pend[i].token,
				    BUS__CANCEL_REASON__HOST_NEW_REQUEST);
				busdrv_pending_drop(&bd.pend[i]);
			}
		bd.out_count = 0;
	}
	for (i = 0; i < bd.npend; i++)
		if (!bd.pend[i].used) {
			p = &bd.pend[i];
			break;
		}
	if (p == NULL || !bd.welcomed) {
		busdrv_complain(BR_BUSY, NULL);
		busdrv_answer_local(req, 0xc0);
		return;
	}
	p->used = true;
	p->token = ++bd.next_token;
	p->arrived_ns = busdrv_now();
	p->req = *req;
	bd.inuse++;

	rq.token = p->token;
	rq.netfn = req->netfn;
	rq.lun = req->lun;
	rq.cmd = req->cmd;
	rq.data.data = (uint8_t *)req->data;
	rq.data.len = req->len;
	rq.seq = req->seq;
	rq.rq_addr = req->rq_addr;
	rq.rs_addr = req->rs_addr;
	env.body_case = BUS__ENVELOPE__BODY_REQUEST;
	env.request = &rq;
	busdrv_link_send(&env);
}

static void
busdrv_frame(const uint8_t *frame, size_t len)
{
	static const enum busdrv_reason reason[] = {
		[BUSDRV_E_SHORT] = BR_SHORT, [BUSDRV_E_RESPONSE] = BR_RESPONSE,
		[BUSDRV_E_CHECKSUM] = BR_CHECKSUM, [BUSDRV_E_LENGTH] = BR_LENGTH,
		[BUSDRV_E_OVERSIZE] = BR_OVERSIZE,
		[BUSDRV_E_MALFORMED] = BR_MALFORMED,
	};
	struct busdrv_req	req;
	uint8_t			err[64];
	size_t			errlen = 0;
	int			r;

	bd.stats.frames_in++;
	bd.stats_dirty = true;
	memset(&req, 0, sizeof(req));
	r = bd.m->parse(frame, len, &req, err, &errlen);
	if (r == 0) {
		busdrv_request(&req);
		return;
	}
	if (r == BUSDRV_E_IGNORE)
		return;
	if (r == BUSDRV_E_CHECKSUM)
		bd.stats.bad_checksum++;
	else if (r == BUSDRV_E_OVERSIZE)
		bd.stats.oversize++;
	else
		bd.stats.malformed++;
	if (r > 0 && r < BUSDRV_E_IGNORE)
		busdrv_complain(reason[r], NULL);
	if (errlen > 0 && errlen <= sizeof(err))
		busdrv_out_push(0, busdrv_now(), err, errlen);
}

/* The kernel's IPMB queue holds 256 frames: a backlog is read whole. */
#define BUSDRV_BACKLOG	256
/* Rounds a batch for the broker may wait for more while the device keeps
 * waking the driver (a device always ready must not hold it back). */
#define BUSDRV_PEEKS_MAX	16

static void
busdrv_read(void)
{
	static uint8_t	*backlog;
	static size_t	 backlen[BUSDRV_BACKLOG];
	size_t		 nback = 0, want = bd.m->read_size;
	ssize_t		 n;

	if (want > BUSDRV_FRAME_MAX)
		want = BUSDRV_FRAME_MAX;
	if (bd.m->backlog_newest_first && backlog == NULL &&
	    (backlog = malloc(BUSDRV_BACKLOG * want)) == NULL)
		fatalx("out of memory");
	for (;;) {
		n = bd.ops->read(bd.dev, bd.frame, want);
		if (n < 0) {
			/* KCS: a signal shows up as EAGAIN, not EINTR. */
			if (errno == EAGAIN || errno == EINTR)
				break;
			fatal("bus %s: device read", bd.name);
		}
		/* No kernel device reads 0 bytes: the device is gone (a
		 * socket standing in for it closed). Exit, don't spin; the
		 * supervisor decides what comes next. */
		if (n == 0 && !bd.m->stream)
			fatalx("bus %s: device closed", bd.name);
		if (n == 0)
			break;
		if (bd.m->backlog_newest_first) {
			memcpy(backlog + nback * want, bd.frame, (size_t)n);
			backlen[nback++] = (size_t)n;
			if (nback == BUSDRV_BACKLOG)
				break;
			continue;
		}
		busdrv_frame(bd.frame, (size_t)n);
		/* BT's read blocks: read again only when it polls ready. */
		if (bd.m->read_blocks)
			break;
	}
	/* IPMB queues at the head: the last read is the oldest frame. */
	while (nback > 0) {
		nback--;
		busdrv_frame(backlog + nback * want, backlen[nback]);
	}
}

/* ---- messages from the broker ---- */

static void
busdrv_response(const Bus__Response *m)
{
	struct busdrv_pending	*p;
	size_t			 len;

	if ((p = busdrv_pending_find(m->token)) == NULL) {
		/* Cancelled or expired meanwhile: the host moved on. */
		bd.stats.stale++;
		bd.stats_dirty = true;
		return;
	}
	if (m->cc > 0xff || m->data.len > BUSDRV_DATA_MAX)
		fatalx("bus %s: broker sent an impossible response", bd.name);
	len = bd.m->format(&p->req, (uint8_t)m->cc, m->data.data,
	    m->data.len, bd.frame, sizeof(bd.frame));
	if (len == 0)
		len = bd.m->format(&p->req, 0xca, p->req.data,
		    busdrv_echo(&p->req), bd.frame, sizeof(bd.frame));
	if (len > 0)
		busdrv_out_push(p->token, p->arrived_ns, bd.frame, len);
	busdrv_pending_drop(p);
}

static void
busdrv_attention(const Bus__Attention *m)
{
	Bus__Envelope		env = BUS__ENVELOPE__INIT;
	Bus__AttentionResult	ar = BUS__ATTENTION_RESULT__INIT;
	char			msg[160];

	ar.tag = m->tag;
	ar.message = "";
	if (m->set ? !bd.m->can_set_attention : !bd.m->can_clear_attention) {
		snprintf(msg, sizeof(msg), "%s cannot %s attention%s",
		    bd.m->driver, m->set ? "raise" : "clear",
		    m->set ? "" : " (its host clears SMS_ATN itself)");
		ar.message = msg;
	} else if (bd.ops->ioctl(bd.dev, m->set ?
	    bd.m->ioctl_set_attention : bd.m->ioctl_clear_attention) < 0) {
		snprintf(msg, sizeof(msg), "ioctl: %s", strerror(errno));
		ar.message = msg;
	} else
		ar.ok = true;
	env.body_case = BUS__ENVELOPE__BODY_ATTENTION_RESULT;
	env.attention_result = &ar;
	busdrv_link_send(&env);
}

/* The host was reset: nothing it asked for is awaited any more. */
static void
busdrv_host_reset(void)
{
	size_t	i;

	for (i = 0; i < bd.npend; i++)
		if (bd.pend[i].used) {
			busdrv_cancel(bd.pend[i].token,
			    BUS__CANCEL_REASON__HOST_RESET);
			busdrv_pending_drop(&bd.pend[i]);
		}
	bd.out_count = 0;
	if (bd.m->can_clear_attention)
		(void)bd.ops->ioctl(bd.dev, bd.m->ioctl_clear_attention);
}

static const char *busdrv_control_names[BUSDRV_CONTROL_N] = {
	"power off", "reset", "NMI", "graceful shutdown", "interrupt enable",
	"interrupt disable",
};

static void
busdrv_control(const Bus__Control *m)
{
	Bus__Envelope		env = BUS__ENVELOPE__INIT;
	Bus__ControlResult	cr = BUS__CONTROL_RESULT__INIT;
	char			msg[160];
	unsigned		op = (unsigned)m->op;

	cr.tag = m->tag;
	cr.message = "";
	if (op >= BUSDRV_CONTROL_N || !(bd.m->controls & (1u << op))) {
		snprintf(msg, sizeof(msg), "%s cannot do %s", bd.m->driver,
		    op < BUSDRV_CONTROL_N ? busdrv_control_names[op] :
		    "that");
		cr.message = msg;
	} else if (!bd.connected) {
		snprintf(msg, sizeof(msg), "no host is connected");
		cr.message = msg;
	} else if (!(bd.controls & (1u << op))) {
		snprintf(msg, sizeof(msg), "the host side does not offer %s",
		    busdrv_control_names[op]);
		cr.message = msg;
	} else if (bd.ops->ioctl(bd.dev, bd.m->ioctl_control[op]) < 0) {
		snprintf(msg, sizeof(msg), "%s: %s", busdrv_control_names[op],
		    strerror(errno));
		cr.message = msg;
	} else {
		cr.ok = true;
		log_info("bus %s: %s", bd.name, busdrv_control_names[op]);
	}
	env.body_case = BUS__ENVELOPE__BODY_CONTROL_RESULT;
	env.control_result = &cr;
	busdrv_link_send(&env);
}

static void
busdrv_capabilities(void)
{
	Bus__Envelope		env = BUS__ENVELOPE__INIT;
	Bus__Capabilities	c = BUS__CAPABILITIES__INIT;

	c.connected = bd.connected;
	c.controls = bd.connected ? bd.controls : 0;
	env.body_case = BUS__ENVELOPE__BODY_CAPABILITIES;
	env.capabilities = &c;
	busdrv_link_send(&env);
}

void
busdrv_peer_up(uint32_t controls)
{
	bd.connected = true;
	bd.controls = controls & bd.m->controls;
	log_info("bus %s: host connected, controls 0x%02x", bd.name,
	    bd.controls);
	busdrv_capabilities();	/* Hooks run inside a stream medium's wait, which may not return
	 * soon: what they tell the broker goes now. */
	busdrv_link_flush();
}

void
busdrv_peer_down(void)
{
	size_t	i;

	for (i = 0; i < bd.npend; i++)
		if (bd.pend[i].used) {
			busdrv_cancel(bd.pend[i].token,
			    BUS__CANCEL_REASON__HOST_GAVE_UP);
			busdrv_pending_drop(&bd.pend[i]);
		}
	if (bd.out_count > 0) {
		bd.stats.stale += bd.out_count;
		bd.stats_dirty = true;
		bd.out_count = 0;
	}
	bd.connected = false;
	bd.controls = 0;
	log_info("bus %s: host disconnected", bd.name);
	busdrv_capabilities();	busdrv_link_flush();
}

const char *
busdrv_bus_name(void)
{
	return bd.name;
}

void
busdrv_count_garbage(void)
{
	bd.stats.frames_in++;
	bd.stats.malformed++;
	bd.stats_dirty = true;
}

void
busdrv_host_reset_seen(void)
{
	Bus__Envelope	env = BUS__ENVELOPE__INIT;
	Bus__HostReset	hr = BUS__HOST_RESET__INIT;

	log_info("bus %s: the host was reset", bd.name);
	busdrv_host_reset();
	env.body_case = BUS__ENVELOPE__BODY_HOST_RESET;
	env.host_reset = &hr;
	busdrv_link_send(&env);	busdrv_link_flush();
}

static void
busdrv_link_envelope(const uint8_t *buf, size_t len)
{
	Bus__Envelope	*env;

	env = (Bus__Envelope *)wire_unpack(&bus__envelope__descriptor,
	    &bd.arena.alloc, buf, len);
	if (env == NULL)
		fatalx("bus %s: broker sent garbage", bd.name);
	switch (env->body_case) {
	case BUS__ENVELOPE__BODY_WELCOME:
		bd.welcomed = true;
		bd.batches = env->welcome->batches;
		bd.deadline_ms = env->welcome->deadline_ms;
		log_info("bus %s: broker deadline %u ms", bd.name,
		    bd.deadline_ms);
		break;
	case BUS__ENVELOPE__BODY_RESPONSE:
		busdrv_response(env->response);
		break;
	case BUS__ENVELOPE__BODY_ATTENTION:
		busdrv_attention(env->attention);
		break;
	case BUS__ENVELOPE__BODY_HOST_RESET:
		busdrv_host_reset();
		break;
	case BUS__ENVELOPE__BODY_CONTROL:
		busdrv_control(env->control);
		break;
	default:
		fatalx("bus %s: broker sent message %d", bd.name,
		    (int)env->body_case);
	}
	wire_arena_reset(&bd.arena);
}

/* One datagram per wake-up: poll() comes back while more waits. */
static void
busdrv_dispatch_link(void)
{
	struct wire_walk	 w;
	const uint8_t		*e;
	const char		*why;
	size_t			 elen;
	ssize_t			 n;
	int			 r;

	n = wire_recv_dgram(bd.link, bd.rbuf);
	if (n == -EAGAIN)
		return;
	if (n == 0) {
		log_info("bus %s: broker link closed", bd.name);
		exit(0);
	}
	if (n < 0)
		fatalx("bus %s: broker link: %s", bd.name, strerror((int)-n));
	wire_walk_init(&w, bd.rbuf, (size_t)n);
	while ((r = wire_walk_next(&w, &e, &elen, &why)) > 0)
		busdrv_link_envelope(e, elen);
	if (r < 0)
		fatalx("bus %s: broker sent a malformed batch: %s", bd.name,
		    why);
}

/* ---- time ---- */

/* Drop what the host has stopped waiting for; returns ms to next check. */
static int
busdrv_expire(uint64_t now)
{
	uint64_t	limit = (uint64_t)bd.m->host_timeout_ms * 1000000ull;
	size_t		i;

	for (i = 0; i < bd.npend; i++)
		if (bd.pend[i].used && now - bd.pend[i].arrived_ns > limit) {
			busdrv_cancel(bd.pend[i].token,
			    BUS__CANCEL_REASON__EXPIRED);
			busdrv_pending_drop(&bd.pend[i]);
		}
	while (bd.out_count > 0 &&
	    now - bd.outq[bd.out_head].arrived_ns > limit) {
		bd.stats.stale++;
		busdrv_complain(BR_STALE, "older than the host's timeout");
		busdrv_out_pop();
	}
	return 100;
}

static void
busdrv_stats(uint64_t now)
{
	Bus__Envelope	env = BUS__ENVELOPE__INIT;

	if (!bd.stats_dirty ||
	    now - bd.stats_at < BUSDRV_STATS_MS * 1000000ull)
		return;
	env.body_case = BUS__ENVELOPE__BODY_STATS;
	env.stats = &bd.stats;
	busdrv_link_send(&env);
	bd.stats_dirty = false;
	bd.stats_at = now;
}

static void
busdrv_hello(void)
{
	Bus__Envelope	env = BUS__ENVELOPE__INIT;
	Bus__Hello	h = BUS__HELLO__INIT;

	h.version = BUSDRV_VERSION;
	h.name = bd.name;
	h.channel = bd.channel;
	h.medium = bd.m->medium;
	h.protocol = bd.m->protocol;
	h.max_request = bd.m->max_request;
	h.max_response = bd.m->max_response;
	h.deadline_limit_ms = bd.m->host_timeout_ms;
	h.max_outstanding = bd.m->max_outstanding;
	h.driver = (char *)bd.m->driver;
	h.device = bd.device;
	h.can_set_attention = bd.m->can_set_attention;
	h.can_clear_attention = bd.m->can_clear_attention;
	h.batches = true;
	env.body_case = BUS__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	if (wire_send(bd.link, &env.base, NULL, 0) < 0)
		fatal("bus %s: hello", bd.name);
}

static long
busdrv_number(const char *opt, const char *s, long lo, long hi)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		fatalx("%s: '%s' is not a number in %ld..%ld", opt, s, lo, hi);
	return v;
}

static void
busdrv_args(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "fd", required_argument, NULL, 'f' },
		{ "link", required_argument, NULL, 'l' },
		{ "name", required_argument, NULL, 'n' },
		{ "channel", required_argument, NULL, 'c' },
		{ "device", required_argument, NULL, 'D' },
		{ "queue", required_argument, NULL, 'q' },
		{ "baud", required_argument, NULL, 'b' },
		{ "debug", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch, fd = -1;

	bd.link = -1;
	bd.out_max = BUSDRV_QUEUE_DEFAULT;
	while ((ch = getopt_long(argc, argv, "d", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			fd = (int)busdrv_number("--fd", optarg, 0, 65535);
			break;
		case 'l':
			bd.link = (int)busdrv_number("--link", optarg, 0,
			    65535);
			break;
		case 'n':
			snprintf(bd.name, sizeof(bd.name), "%s", optarg);
			break;
		case 'c':
			bd.channel = (uint8_t)busdrv_number("--channel",
			    optarg, 0, 15);
			break;
		case 'D':
			snprintf(bd.device, sizeof(bd.device), "%s", optarg);
			break;
		case 'q':
			bd.out_max = (size_t)busdrv_number("--queue", optarg,
			    1, 4096);
			break;
		case 'b':
			busdrv_baud = (uint32_t)busdrv_number("--baud", optarg,
			    0, 4000000);
			break;
		case 'd':
			log_setlevel(LOG_LVL_DEBUG);
			break;
		default:
			fatalx("usage: %s --fd N --link M --name NAME "
			    "--channel C [--device PATH] [--queue N] "
			    "[--baud B] [-d]", argv[0]);
		}
	}
	if (fd < 0 || bd.link < 0 || bd.name[0] == '\0')
		fatalx("--fd, --link and --name are required");
	if ((bd.dev = bd.ops->open(fd)) == NULL)
		fatal("bus %s: device fd %d", bd.name, fd);
}

int
busdrv_main(int argc, char *argv[], const struct busdrv_medium *m,
    const struct busdrv_dev_ops *ops)
{
	struct pollfd	link;
	short		want, got;
	uint64_t	now;
	char		procname[80];
	int		timeout;
	bool		retry, peek, peeked = false;
	int		peeks = 0;

	signal(SIGPIPE, SIG_IGN);
	memset(&bd, 0, sizeof(bd));
	/* A zeroed protobuf-c message has no descriptor: packing crashes. */
	bd.stats = (Bus__Stats)BUS__STATS__INIT;
	bd.m = m;
	bd.ops = m->dev_ops != NULL ? m->dev_ops : ops;
	snprintf(procname, sizeof(procname), "ipmi-busdrv-%s", m->driver);
	log_init(strdup(procname), LOG_LVL_INFO);
	busdrv_args(argc, argv);
	if (wire_set_nonblock(bd.link) < 0)
		fatal("bus %s: broker link", bd.name);
	bd.npend = m->max_outstanding > 0 ? m->max_outstanding : 1;
	bd.pend = calloc(bd.npend, sizeof(*bd.pend));
	bd.outq = calloc(bd.out_max, sizeof(*bd.outq));
	if (bd.pend == NULL || bd.outq == NULL)
		fatalx("out of memory");
	wire_queue_init(&bd.linkq, BUSDRV_LINKQ_LIMIT);
	wire_arena_init(&bd.arena, bd.arena_buf, sizeof(bd.arena_buf));
	busdrv_hello();
	if (!m->stream) {
		/* A device is always "connected"; a stream peer says so. */
		bd.connected = true;
		bd.controls = m->controls;
		busdrv_capabilities();
	}
	log_info("bus %s: %s on %s, channel %u", bd.name, m->driver,
	    bd.device[0] ? bd.device : "inherited fd", bd.channel);

	for (;;) {
		/*
		 * What the driver produced for the broker goes in one datagram
		 * before it waits. While the host has more requests out than
		 * the batch holds it is likely to have sent another already:
		 * look without waiting, and keep collecting if so. One request
		 * at a time goes at once, costing no extra call.
		 */
		peek = bd.lbatch.count > 0 && !peeked &&
		    bd.inuse > bd.lbatch.count && peeks < BUSDRV_PEEKS_MAX;
		if (!peek) {
			busdrv_link_flush();
			peeks = 0;
		} else
			peeks++;
		peeked = false;
		/* Until the broker welcomes us, host requests wait in the
		 * device rather than being answered busy (a restart). */
		want = bd.welcomed ? POLLIN : 0;
		if (bd.out_count > 0)
			want |= POLLOUT;
		link.fd = bd.link;
		link.events = POLLIN | (bd.linkq.head != NULL ? POLLOUT : 0);
		link.revents = 0;
		timeout = (bd.inuse > 0 || bd.out_count > 0 || bd.stats_dirty) ?
		    100 : -1;
		/* No POLLOUT ever comes from KCS or SSIF: retry a write that
		 * said EAGAIN (SSIF: a response still clocked out) soon. */
		retry = bd.out_count > 0 && !bd.m->write_waits_pollout;
		if (retry)
			timeout = 10;
		if (peek)
			timeout = 0;
		got = 0;
		if (bd.ops->wait(bd.dev, want, &got, &link, 1, timeout) < 0) {
			if (errno == EINTR)
				continue;
			fatal("bus %s: wait", bd.name);
		}
		if (peek && got == 0 && link.revents == 0) {
			peeked = true;	/* nothing more: flush, then wait */
			continue;
		}
		if (got & (POLLERR | POLLNVAL))
			fatalx("bus %s: device error", bd.name);
		if ((got & POLLHUP) && !(got & POLLIN) && !bd.m->stream)
			fatalx("bus %s: device hung up", bd.name);
		if (got & POLLIN)
			busdrv_read();
		if ((got & POLLOUT) || retry)
			busdrv_out_flush();
		if (link.revents & POLLOUT)
			(void)wire_queue_flush(&bd.linkq, bd.link);
		if (link.revents & (POLLIN | POLLHUP | POLLERR))
			busdrv_dispatch_link();
		/* Expiry is a scan of every slot: not on every wake-up. */
		now = busdrv_now();
		if (now >= bd.expire_at) {
			busdrv_expire(now);
			bd.expire_at = now + BUSDRV_EXPIRE_MS * 1000000ull;
		}
		busdrv_stats(now);
	}
}

/* ---- the real device ---- */

static void *
busdrv_sys_open(int fd)
{
	return (void *)(intptr_t)(fd + 1);	/* never NULL */
}

static void
busdrv_sys_close(void *ctx)
{
	close((int)(intptr_t)ctx - 1);
}

static ssize_t
busdrv_sys_read(void *ctx, void *buf, size_t len)
{
	return read((int)(intptr_t)ctx - 1, buf, len);
}

static ssize_t
busdrv_sys_write(void *ctx, const void *buf, size_t len)
{
	return write((int)(intptr_t)ctx - 1, buf, len);
}

static int
busdrv_sys_ioctl(void *ctx, unsigned long req)
{
	return ioctl((int)(intptr_t)ctx - 1, req, 0);
}

static int
busdrv_sys_wait(void *ctx, short want, short *got, struct pollfd *extra,
    nfds_t nextra, int timeout_ms)
{
	struct pollfd	pfd[8];
	nfds_t		i;
	int		n;

	if (nextra > 7) {
		errno = EINVAL;
		return -1;
	}
	pfd[0].fd = (int)(intptr_t)ctx - 1;
	pfd[0].events = want;
	for (i = 0; i < nextra; i++)
		pfd[i + 1] = extra[i];
	if ((n = poll(pfd, nextra + 1, timeout_ms)) < 0)
		return -1;
	*got = pfd[0].revents;
	for (i = 0; i < nextra; i++)
		extra[i].revents = pfd[i + 1].revents;
	return 0;
}

const struct busdrv_dev_ops busdrv_sys_ops = {
	.read = busdrv_sys_read,
	.write = busdrv_sys_write,
	.ioctl = busdrv_sys_ioctl,
	.wait = busdrv_sys_wait,
	.open = busdrv_sys_open,
	.close = busdrv_sys_close,
};
