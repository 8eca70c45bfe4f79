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
#include "log.h"
#include "validate.h"

#define BUS_VERSION	1

static void	bus_dispatch(int fd, short ev, void *arg);
static void	bus_writable(int fd, short ev, void *arg);
static void	bus_hello(struct blink *b, const Bus__Hello *m);
static void	bus_request(struct blink *b, const Bus__Request *m);
static void	bus_cancel(struct blink *b, const Bus__Cancel *m);

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
	TAILQ_INSERT_TAIL(&broker.buses, b, entry);
	return 0;
}

static void
bus_free(struct blink *b)
{
	route_origin_gone(&b->sent);
	TAILQ_REMOVE(&broker.buses, b, entry);
	event_free(b->ev_read);
	event_free(b->ev_write);
	wire_queue_deinit(&b->outq);
	close(b->fd);
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

	rsp.token = token;
	rsp.netfn = netfn;
	rsp.lun = lun;
	rsp.cmd = cmd;
	rsp.cc = cc;
	rsp.data.data = (uint8_t *)data;
	rsp.data.len = len;
	env.body_case = BUS__ENVELOPE__BODY_RESPONSE;
	env.response = &rsp;
	r = wire_send_queued(&b->outq, b->fd, &env.base);
	if (r == 0) {
		if (b->outq.head != NULL)
			event_add(b->ev_write, NULL);
		return;
	}
	b->drops++;
	if (r == -ENOBUFS)
		log_warnx("bus %s: driver not reading, response dropped",
		    b->facts.name);
	else
		bus_drop(b, strerror(-r));
}

static void
bus_dispatch(int fd, short ev, void *arg)
{
	struct blink	*b = arg;
	Bus__Envelope	*env;
	char		 why[256];
	ssize_t		 n;

	for (;;) {
		n = wire_recv(fd, broker.rbuf, NULL, NULL);
		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			if (n == 0)
				log_info("bus %s: driver link closed",
				    b->facts.name);
			bus_drop(b, n == 0 ? "closed" : strerror((int)-n));
			return;
		}
		env = bus__envelope__unpack(&broker.arena.alloc, n,
		    broker.rbuf);
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
			return;
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
		default:
			break;
		}
		wire_arena_reset(&broker.arena);
	}
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
	snprintf(f->name, sizeof(f->name), "%s", m->name);
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
	env.body_case = BUS__ENVELOPE__BODY_WELCOME;
	env.welcome = &w;
	log_info("bus %s: channel %u, deadline %u ms, responses up to %u "
	    "bytes", f->name, f->channel, f->deadline_ms, f->max_response);
	if (wire_send_queued(&b->outq, b->fd, &env.base) == 0 &&
	    b->outq.head != NULL)
		event_add(b->ev_write, NULL);
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
}

void
bus_close_all(void)
{
	struct blink	*b;

	while ((b = TAILQ_FIRST(&broker.buses)) != NULL)
		bus_free(b);
}
