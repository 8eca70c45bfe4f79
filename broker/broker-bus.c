/* SPDX-License-Identifier: MIT */
/*
 * Bus-driver links. Each bus driver talks to the broker over its own
 * socketpair, handed over by the supervisor. A driver is more trusted than
 * a handler (it runs our code) but it parses hostile host input, so its
 * messages are validated like anyone's and garbage drops the link; the
 * supervisor then starts a new driver. Requests in flight from a link that
 * goes away are kept until their handler answers, and the answer is
 * counted and dropped.
 */
#include <event2/event.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "bus.pb-c.h"
#include "handler.pb-c.h"
#include "log.h"
#include "validate.h"
#include "wire-hot.h"

#define BUS_VERSION	1

static void	bus_dispatch(int fd, short ev, void *arg);
static void	bus_out_fail(struct bout *o, int err);
static void	bus_drop(struct blink *b, const char *why);
static int	bus_send(struct blink *b, Bus__Envelope *env);
static void	bus_writable(int fd, short ev, void *arg);
static void	bus_hello(struct blink *b, const Bus__Hello *m);
static void	bus_request(struct blink *b, const Bus__Request *m);
static void	bus_cancel(struct blink *b, const Bus__Cancel *m);
static void	bus_attention_result(struct blink *b,
		    const Bus__AttentionResult *m);
static void	bus_host_reset(struct blink *b);
static void	bus_stats(struct blink *b, const Bus__Stats *m);
static void	bus_control_result(struct blink *b,
		    const Bus__ControlResult *m);
static void	bus_capabilities(struct blink *b,
		    const Bus__Capabilities *m);

/* Consumes fd. */
int
bus_link_add(int fd, const char *name, uint32_t max_inflight,
    uint32_t deadline_ms)
{
	struct blink	*b;

	if (wire_set_nonblock(fd) < 0 || (b = calloc(1, sizeof(*b))) == NULL) {
		close(fd);
		return -ENOMEM;
	}
	b->fd = fd;
	snprintf(b->facts.name, sizeof(b->facts.name), "%s", name);
	b->max_inflight = max_inflight ? max_inflight :
	    broker.cfg.inflight_per_bus;
	b->facts.deadline_ms = deadline_ms ? deadline_ms :
	    broker.cfg.deadline_ms;
	TAILQ_INIT(&b->sent);
	TAILQ_INIT(&b->attn);
	wire_queue_init(&b->outq, BROKER_OUTQ_LIMIT);
	b->ev_read = event_new(broker.base, fd, EV_READ | EV_PERSIST,
	    bus_dispatch, b);
	b->ev_write = event_new(broker.base, fd, EV_WRITE, bus_writable, b);
	if (b->ev_read == NULL || b->ev_write == NULL ||
	    event_add(b->ev_read, NULL) < 0) {
		if (b->ev_read)
			event_free(b->ev_read);
		if (b->ev_write)
			event_free(b->ev_write);
		close(fd);
		free(b);
		return -ENOMEM;
	}
	bout_init(&b->out, fd, &b->outq, b->ev_write, bus_out_fail);
	TAILQ_INSERT_TAIL(&broker.buses, b, entry);
	return 0;
}

/* A send at the end of a round failed. */
static void
bus_out_fail(struct bout *o, int err)
{
	struct blink	*b = (struct blink *)((char *)o -
	    offsetof(struct blink, out));

	b->drops++;
	if (err == -ENOBUFS)
		log_warnx("bus %s: driver not reading, responses dropped",
		    b->facts.name);
	else
		bus_drop(b, strerror(-err));
}

static void
bus_free(struct blink *b)
{
	struct attn_wait	*w;

	if (b->dead)
		return;

	while ((w = TAILQ_FIRST(&b->attn)) != NULL) {
		TAILQ_REMOVE(&b->attn, w, entry);
		handler_result_status(w->h, w->htag, HND__STATUS__NO_BUS,
		    "the bus went down before its driver answered");
		free(w);
	}
	if (b->welcomed)
		handler_broadcast_event(HND__EVENT_KIND__EVENT_BUS_DOWN,
		    b->facts.name);
	route_origin_gone(&b->sent);
	TAILQ_REMOVE(&broker.buses, b, entry);
	bout_release(&b->out);
	event_free(b->ev_read);
	event_free(b->ev_write);
	wire_queue_deinit(&b->outq);
	close(b->fd);
	b->fd = -1;
	b->dead = true;
	/* A send failing inside this link's own dispatch lands here: the
	 * dispatch loop frees b when it unwinds. */
	if (!b->in_dispatch)
		free(b);
}

static void
bus_drop(struct blink *b, const char *why)
{
	log_warnx("bus %s: link dropped: %s", b->facts.name, why);
	broker.stats.counters[STATS_DROPPED_BUSES]++;
	bus_free(b);
}

static void
bus_writable(int fd, short ev, void *arg)
{
	struct blink	*b = arg;
	int		 r;

	if ((r = wire_queue_flush(&b->outq, fd)) < 0) {
		bus_drop(b, strerror(-r));
		return;
	}
	if (b->outq.head != NULL)
		event_add(b->ev_write, NULL);
}

void
bus_send_response(struct blink *b, uint64_t token, uint8_t netfn,
    uint8_t lun, uint8_t cmd, uint8_t cc, const uint8_t *data, size_t len)
{
	Bus__Envelope	env = BUS__ENVELOPE__INIT;
	Bus__Response	rsp = BUS__RESPONSE__INIT;
	int		r;

	if (b->dead)
		return;
	rsp.token = token;
	rsp.netfn = netfn;
	rsp.lun = lun;
	rsp.cmd = cmd;
	rsp.cc = cc;
	rsp.data.data = (uint8_t *)data;
	rsp.data.len = len;
	env.body_case = BUS__ENVELOPE__BODY_RESPONSE;
	env.response = &rsp;
	if ((r = bout_put(&b->out, &env.base)) == 0)
		return;
	b->drops++;
	if (r == -ENOBUFS)
		log_warnx("bus %s: driver not reading, response dropped",
		    b->facts.name);
	else
		bus_drop(b, strerror(-r));
}

/* One envelope from the driver. Returns -1 when the link was dropped. */
static int
bus_envelope(struct blink *b, const uint8_t *buf, size_t len)
{
	Bus__Envelope	*env;
	char		 why[256];

	env = (Bus__Envelope *)wire_unpack(&bus__envelope__descriptor,
	    &broker.arena.alloc, buf, len);
	why[0] = '\0';
	if (env == NULL)
		snprintf(why, sizeof(why), "message does not decode");
	else if (validate_from_driver(env, why, sizeof(why)) == 0) {
		if (!b->welcomed &&
		    env->body_case != BUS__ENVELOPE__BODY_HELLO)
			snprintf(why, sizeof(why), "no hello first");
		else if (b->welcomed &&
		    env->body_case == BUS__ENVELOPE__BODY_HELLO)
			snprintf(why, sizeof(why), "second hello");
	}
	if (why[0] != '\0') {
		wire_arena_reset(&broker.arena);
		bus_drop(b, why);
		return -1;
	}
	switch (env->body_case) {
	case BUS__ENVELOPE__BODY_HELLO:
		bus_hello(b, env->hello);
		break;
	case BUS__ENVELOPE__BODY_REQUEST:
		bus_request(b, env->request);
		break;
	case BUS__ENVELOPE__BODY_CANCEL:
		bus_cancel(b, env->cancel);
		break;
	case BUS__ENVELOPE__BODY_ATTENTION_RESULT:
		bus_attention_result(b, env->attention_result);
		break;
	case BUS__ENVELOPE__BODY_HOST_RESET:
		bus_host_reset(b);
		break;
	case BUS__ENVELOPE__BODY_STATS:
		bus_stats(b, env->stats);
		break;
	case BUS__ENVELOPE__BODY_CONTROL_RESULT:
		bus_control_result(b, env->control_result);
		break;
	case BUS__ENVELOPE__BODY_CAPABILITIES:
		bus_capabilities(b, env->capabilities);
		break;
	default:
		break;
	}
	wire_arena_reset(&broker.arena);
	return b->dead ? -1 : 0;
}

/* One datagram per wake-up (see handler_dispatch()). */
static void
bus_dispatch(int fd, short ev, void *arg)
{
	struct blink		*b = arg;
	struct wire_walk	 w;
	const uint8_t		*e;
	const char		*why;
	char			 msg[96];
	size_t			 elen;
	ssize_t			 n;
	int			 r;

	b->in_dispatch = true;
	n = wire_recv_dgram(fd, broker.rbuf);
	if (n == 0) {
		log_info("bus %s: driver link closed", b->facts.name);
		bus_drop(b, "closed");
	} else if (n == -EMSGSIZE)
		bus_drop(b, "datagram larger than 4096 bytes");
	else if (n < 0 && n != -EAGAIN)
		bus_drop(b, strerror((int)-n));
	else if (n > 0) {
		wire_walk_init(&w, broker.rbuf, (size_t)n);
		while ((r = wire_walk_next(&w, &e, &elen, &why)) > 0)
			if (bus_envelope(b, e, elen) < 0)
				break;
		if (r < 0) {
			snprintf(msg, sizeof(msg), "malformed batch: %s", why);
			bus_drop(b, msg);
		}
	}
	b->in_dispatch = false;
	if (b->dead)
		free(b);
}

/*
 * The deadline must leave the answer time to reach the host before the
 * host side gives up: keep an eighth of the announced limit (at least
 * 50 ms) in hand.
 */
static uint32_t
bus_deadline(uint32_t want, uint32_t limit)
{
	uint32_t	margin;

	if (limit == 0)
		return want;
	margin = limit / 8 > 50 ? limit / 8 : 50;
	limit = limit > margin ? limit - margin : 1;
	return want < limit ? want : limit;
}

static void
bus_hello(struct blink *b, const Bus__Hello *m)
{
	Bus__Envelope	env = BUS__ENVELOPE__INIT;
	Bus__Welcome	w = BUS__WELCOME__INIT;
	struct bus_facts *f = &b->facts;

	if (m->version != BUS_VERSION) {
		bus_drop(b, "unsupported protocol version");
		return;
	}
	if (strcmp(f->name, m->name) != 0) {
		bus_drop(b, "hello names another bus than its link");
		return;
	}
	snprintf(b->driver, sizeof(b->driver), "%s",
	    m->driver != NULL ? m->driver : "");
	snprintf(b->device, sizeof(b->device), "%s",
	    m->device != NULL ? m->device : "");
	b->can_set_attention = m->can_set_attention;
	b->can_clear_attention = m->can_clear_attention;
	f->channel = (uint8_t)m->channel;
	f->medium = (uint8_t)m->medium;
	f->protocol = (uint8_t)m->protocol;
	f->max_request = (uint16_t)m->max_request;
	f->max_response = (uint16_t)m->max_response;
	f->max_outstanding = (uint16_t)(m->max_outstanding ?
	    m->max_outstanding : 1);
	f->deadline_ms = bus_deadline(f->deadline_ms, m->deadline_limit_ms);
	f->deadline_limit_ms = bus_deadline(broker.cfg.max_deadline_ms,
	    m->deadline_limit_ms);
	b->welcomed = true;
	w.version = BUS_VERSION;
	w.deadline_ms = f->deadline_ms;
	w.batches = true;
	env.body_case = BUS__ENVELOPE__BODY_WELCOME;
	env.welcome = &w;
	log_info("bus %s: %s channel %u, deadline %u ms, responses up to %u "
	    "bytes", f->name, b->driver, f->channel, f->deadline_ms,
	    f->max_response);
	b->out.batches = m->batches;
	(void)bus_send(b, &env);
	handler_broadcast_event(HND__EVENT_KIND__EVENT_BUS_UP, f->name);
}

static void
bus_request(struct blink *b, const Bus__Request *m)
{
	struct route_req	rq = { 0 };

	b->requests++;
	rq.kind = INFLIGHT_FROM_BUS;
	rq.origin = b;
	rq.origin_list = &b->sent;
	rq.origin_count = &b->inflight;
	rq.origin_limit = b->max_inflight;
	rq.token = m->token;
	rq.netfn = (uint8_t)m->netfn;
	rq.lun = (uint8_t)m->lun;
	rq.cmd = (uint8_t)m->cmd;
	rq.channel = b->facts.channel;
	rq.data = m->data.data;
	rq.len = m->data.len;
	rq.facts = &b->facts;
	route_request(&rq);
}

/* The host stopped waiting: a later answer is dropped, not sent. */
static void
bus_cancel(struct blink *b, const Bus__Cancel *m)
{
	struct inflight	*f;

	TAILQ_FOREACH(f, &b->sent, o_entry)
		if (f->token == m->token)
			break;
	if (f == NULL)
		return;
	TAILQ_REMOVE(&b->sent, f, o_entry);
	b->inflight--;
	f->origin = NULL;
	f->olist = NULL;
	f->ocount = NULL;
	broker.stats.counters[STATS_CANCELLED]++;
	log_debug("bus %s: request %llu cancelled (%d)", b->facts.name,
	    (unsigned long long)m->token, (int)m->reason);
}

struct blink *
bus_find(const char *name)
{
	struct blink	*b;

	TAILQ_FOREACH(b, &broker.buses, entry)
		if (b->welcomed && strcmp(b->facts.name, name) == 0)
			return b;
	return NULL;
}

static int
bus_send(struct blink *b, Bus__Envelope *env)
{
	int	r;

	if ((r = bout_put(&b->out, &env->base)) < 0 && r != -EMSGSIZE)
		bus_out_fail(&b->out, r);
	return r;
}

/* A handler asks to raise or clear attention on a bus. */
void
bus_attention(struct hconn *h, uint32_t tag, const char *bus, bool set)
{
	Bus__Envelope		 env = BUS__ENVELOPE__INIT;
	Bus__Attention		 at = BUS__ATTENTION__INIT;
	struct attn_wait	*w;
	struct blink		*b;
	char			 msg[160];

	if ((b = bus_find(bus)) == NULL) {
		snprintf(msg, sizeof(msg), "no bus '%s' is up", bus);
		handler_result_status(h, tag, HND__STATUS__NO_BUS, msg);
		return;
	}
	if (set ? !b->can_set_attention : !b->can_clear_attention) {
		snprintf(msg, sizeof(msg), "bus %s (%s) cannot %s attention%s",
		    bus, b->driver, set ? "raise" : "clear", set ? "" :
		    ": its host clears SMS_ATN itself");
		handler_result_status(h, tag, HND__STATUS__UNSUPPORTED, msg);
		return;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		handler_result_status(h, tag, HND__STATUS__LIMIT,
		    "out of memory");
		return;
	}
	w->tag = ++broker.attn_tag;
	w->h = h;
	w->htag = tag;
	at.tag = w->tag;
	at.set = set;
	env.body_case = BUS__ENVELOPE__BODY_ATTENTION;
	env.attention = &at;
	if (bus_send(b, &env) < 0) {
		free(w);
		handler_result_status(h, tag, HND__STATUS__NO_BUS,
		    "the bus driver is not reading");
		return;
	}
	TAILQ_INSERT_TAIL(&b->attn, w, entry);
}

/* The driver answered an attention or control request. */
static void
bus_op_result(struct blink *b, uint32_t tag, bool ok, const char *message)
{
	struct attn_wait	*w;

	TAILQ_FOREACH(w, &b->attn, entry)
		if (w->tag == tag)
			break;
	if (w == NULL)
		return;		/* its handler is gone */
	TAILQ_REMOVE(&b->attn, w, entry);
	handler_result_status(w->h, w->htag, ok ? HND__STATUS__OK :
	    HND__STATUS__UNSUPPORTED, ok ? "" : message);
	free(w);
}

static void
bus_attention_result(struct blink *b, const Bus__AttentionResult *m)
{
	bus_op_result(b, m->tag, m->ok, m->message);
}

static void
bus_control_result(struct blink *b, const Bus__ControlResult *m)
{
	bus_op_result(b, m->tag, m->ok, m->message);
}

static void
bus_capabilities(struct blink *b, const Bus__Capabilities *m)
{
	b->peer_connected = m->connected;
	b->controls = m->controls;
	log_info("bus %s: host %s, controls 0x%02x", b->facts.name,
	    m->connected ? "connected" : "not connected", m->controls);
}

static const char *bus_control_names[] = {
	"power off", "reset", "NMI", "graceful shutdown", "interrupt enable",
	"interrupt disable",
};

/* A handler asks the bus to act on the machine. The driver checks again:
 * the peer may have changed its mind since its last Capabilities. */
void
bus_control(struct hconn *h, uint32_t tag, const char *bus, int op)
{
	Bus__Envelope		 env = BUS__ENVELOPE__INIT;
	Bus__Control		 ctl = BUS__CONTROL__INIT;
	struct attn_wait	*w;
	struct blink		*b;
	char			 msg[192];

	if ((b = bus_find(bus)) == NULL) {
		snprintf(msg, sizeof(msg), "no bus '%s' is up", bus);
		handler_result_status(h, tag, HND__STATUS__NO_BUS, msg);
		return;
	}
	if (!(b->controls & (1u << op))) {
		if (!b->peer_connected && b->controls == 0 &&
		    strcmp(b->driver, "vm") == 0)
			snprintf(msg, sizeof(msg), "bus %s: no host is "
			    "connected", bus);
		else if (b->controls == 0)
			snprintf(msg, sizeof(msg), "bus %s (%s) cannot act on "
			    "the machine (no %s)", bus, b->driver,
			    bus_control_names[op]);
		else
			snprintf(msg, sizeof(msg), "bus %s: the host side "
			    "does not offer %s (offers 0x%02x)", bus,
			    bus_control_names[op], b->controls);
		handler_result_status(h, tag, HND__STATUS__UNSUPPORTED, msg);
		return;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		handler_result_status(h, tag, HND__STATUS__LIMIT,
		    "out of memory");
		return;
	}
	w->tag = ++broker.attn_tag;
	w->h = h;
	w->htag = tag;
	ctl.tag = w->tag;
	ctl.op = (Bus__ControlOp)op;
	env.body_case = BUS__ENVELOPE__BODY_CONTROL;
	env.control = &ctl;
	if (bus_send(b, &env) < 0) {
		free(w);
		handler_result_status(h, tag, HND__STATUS__NO_BUS,
		    "the bus driver is not reading");
		return;
	}
	log_info("bus %s: %s asked by handler %s[%d]", bus,
	    bus_control_names[op], h->name, (int)h->pid);
	TAILQ_INSERT_TAIL(&b->attn, w, entry);
}

/* A handler that disconnects waits for nothing any more. */
void
bus_forget_handler(struct hconn *h)
{
	struct attn_wait	*w, *next;
	struct blink		*b;

	TAILQ_FOREACH(b, &broker.buses, entry)
		for (w = TAILQ_FIRST(&b->attn); w != NULL; w = next) {
			next = TAILQ_NEXT(w, entry);
			if (w->h == h) {
				TAILQ_REMOVE(&b->attn, w, entry);
				free(w);
			}
		}
}

/* The medium saw the host reset: every handler hears of it. */
static void
bus_host_reset(struct blink *b)
{
	log_info("bus %s: host reset", b->facts.name);
	handler_broadcast_event(HND__EVENT_KIND__EVENT_HOST_RESET,
	    b->facts.name);
}

/* A handler saw the host reset: the driver drops what the host asked and
 * clears attention; every handler hears of it. */
void
bus_host_reset_from_handler(struct hconn *h, const char *bus)
{
	Bus__Envelope	env = BUS__ENVELOPE__INIT;
	Bus__HostReset	hr = BUS__HOST_RESET__INIT;
	struct blink	*b;

	if ((b = bus_find(bus)) == NULL)
		return;
	log_info("bus %s: host reset reported by handler %s[%d]", bus,
	    h->name, (int)h->pid);
	env.body_case = BUS__ENVELOPE__BODY_HOST_RESET;
	env.host_reset = &hr;
	(void)bus_send(b, &env);
	handler_broadcast_event(HND__EVENT_KIND__EVENT_HOST_RESET, bus);
}

static void
bus_stats(struct blink *b, const Bus__Stats *m)
{
	b->stats.frames_in = m->frames_in;
	b->stats.frames_out = m->frames_out;
	b->stats.malformed = m->malformed;
	b->stats.bad_checksum = m->bad_checksum;
	b->stats.oversize = m->oversize;
	b->stats.stale = m->stale;
	b->stats.write_errors = m->write_errors;
	b->stats.cancelled = m->cancelled;
	b->stats.queue_depth = m->queue_depth;
}

void
bus_proc_state(const char *name, const char *state, uint32_t pid,
    uint32_t restarts, const char *last_exit)
{
	struct bus_proc	*p = NULL;
	size_t		 i;

	for (i = 0; i < broker.nprocs; i++)
		if (strcmp(broker.procs[i].name, name) == 0)
			p = &broker.procs[i];
	if (p == NULL) {
		if (broker.nprocs == CONFIG_BUS_MAX)
			return;
		p = &broker.procs[broker.nprocs++];
		snprintf(p->name, sizeof(p->name), "%s", name);
	}
	snprintf(p->state, sizeof(p->state), "%s", state);
	p->pid = pid;
	p->restarts = restarts;
	snprintf(p->last_exit, sizeof(p->last_exit), "%s", last_exit);
}

const struct bus_proc *
bus_proc_find(const char *name)
{
	size_t	i;

	for (i = 0; i < broker.nprocs; i++)
		if (strcmp(broker.procs[i].name, name) == 0)
			return &broker.procs[i];
	return NULL;
}

void
bus_close_all(void)
{
	struct blink	*b;

	while ((b = TAILQ_FIRST(&broker.buses)) != NULL)
		bus_free(b);
}
