/* SPDX-License-Identifier: MIT */
/*
 * Routing: every request from a bus, from ipmi-ctl or from a handler comes
 * through route_request() and leaves through route_finish(), exactly once,
 * with the handler's answer or with a fallback completion code the broker
 * makes up itself. The origin may vanish meanwhile (a bus driver restarts,
 * ipmi-ctl exits, a handler disconnects): the answer is then counted and
 * dropped. The target may vanish too: the request is answered with the
 * "disconnected" code at once.
 *
 * The broker answers four App commands itself from its live registration
 * table, unless a handler registered exactly that command: Get NetFn
 * Support (0x09), Get Command Support (0x0A), Get Configurable Commands
 * (0x0C) and Get Command Enables (0x61). ipmitool's "firewall info" asks
 * all of them.
 *
 * Trace hooks (ipmi-ctl trace) sit where a request's fate is decided
 * (route_now() for the broker's own answers, just before the handoff to
 * a handler otherwise), so the request event names who answers it, and
 * where each response leaves toward its origin. Each costs one branch on
 * TRACE_ACTIVE() when nobody traces.
 */
#include <event2/event.h>

#include <stdio.h>
#include <string.h>

#include "broker.h"
#include "handler.pb-c.h"
#include "log.h"

#define NETFN_APP			0x06
#define CMD_GET_NETFN_SUPPORT		0x09
#define CMD_GET_COMMAND_SUPPORT		0x0a
#define CMD_GET_CONFIGURABLE_COMMANDS	0x0c
#define CMD_GET_COMMAND_ENABLES		0x61

#define CHANNEL_THIS			0x0e

static const uint8_t route_builtins[] = {
	CMD_GET_NETFN_SUPPORT, CMD_GET_COMMAND_SUPPORT,
	CMD_GET_CONFIGURABLE_COMMANDS, CMD_GET_COMMAND_ENABLES,
};

static void
route_deliver(enum inflight_origin kind, void *origin, uint64_t token,
    uint8_t netfn, uint8_t lun, uint8_t cmd, uint8_t cc, const uint8_t *data,
    size_t len, const char *who, uint32_t latency_us)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__SendResult	sr = HND__SEND_RESULT__INIT;

	switch (kind) {
	case INFLIGHT_FROM_BUS:
		bus_send_response(origin, token, netfn, lun, cmd, cc, data,
		    len);
		break;
	case INFLIGHT_FROM_CTL:
		control_send_result(origin, cc, data, len, who, latency_us);
		break;
	case INFLIGHT_FROM_HANDLER:
		sr.tag = (uint32_t)token;
		sr.cc = cc;
		sr.data.data = (uint8_t *)data;
		sr.data.len = len;
		env.body_case = HND__ENVELOPE__BODY_SEND_RESULT;
		env.send_result = &sr;
		handler_send(origin, &env.base);
		break;
	}
}

static void
route_trace_request(const struct route_req *rq, const char *who,
    uint64_t id)
{
	struct trace_event	ev = { 0 };

	ev.time_us = trace_now_us();
	ev.bus = rq->facts->name;
	ev.channel = rq->channel;
	ev.netfn = rq->netfn;
	ev.lun = rq->lun;
	ev.cmd = rq->cmd;
	ev.data = rq->data;
	ev.len = rq->len;
	ev.handler = who;
	ev.id = id;
	control_trace(&ev);
}

/* rq and the broker's own answer to it. */
static void
route_trace_now(const struct route_req *rq, uint8_t cc, const uint8_t *data,
    size_t len, bool fallback)
{
	struct trace_event	ev = { 0 };

	route_trace_request(rq, "broker", 0);
	ev.time_us = trace_now_us();
	ev.bus = rq->facts->name;
	ev.channel = rq->channel;
	ev.netfn = rq->netfn;
	ev.lun = rq->lun;
	ev.cmd = rq->cmd;
	ev.response = true;
	ev.fallback = fallback;
	ev.cc = cc;
	ev.data = data;
	ev.len = len;
	ev.handler = "broker";
	control_trace(&ev);
}

/* The answer to f on its way back to f's origin (still there). */
static void
route_trace_finish(const struct inflight *f, uint8_t cc,
    const uint8_t *data, size_t len, const char *who, uint32_t us,
    bool fallback)
{
	struct trace_event	ev = { 0 };

	ev.time_us = trace_now_us();
	switch (f->origin_kind) {
	case INFLIGHT_FROM_BUS:
		ev.bus = ((const struct blink *)f->origin)->facts.name;
		break;
	case INFLIGHT_FROM_CTL:
		ev.bus = ((const struct cconn *)f->origin)->send_bus;
		break;
	default:
		ev.bus = broker.internal_facts.name;
		break;
	}
	ev.channel = f->channel;
	ev.netfn = f->netfn;
	ev.lun = f->lun;
	ev.cmd = f->cmd;
	ev.response = true;
	ev.fallback = fallback;
	ev.cc = cc;
	ev.data = data;
	ev.len = len;
	ev.latency_us = us;
	ev.handler = who;
	ev.target = ((const struct hconn *)f->handler)->name;
	ev.id = f->id;
	control_trace(&ev);
}

/* The bytes a fallback repeats after its completion code. */
static size_t
route_echo(uint8_t netfn, const uint8_t *data, size_t len, uint8_t echo[3])
{
	size_t	n = 0;

	if (netfn == NETFN_GROUP && len >= 1)
		n = 1;
	else if (netfn == NETFN_OEM && len >= 3)
		n = 3;
	if (n > 0)
		memcpy(echo, data, n);
	return n;
}

/* Answer at once, without anything in flight. */
static void
route_now(const struct route_req *rq, uint8_t cc, const uint8_t *data,
    size_t len, enum stats_counter why)
{
	uint8_t		echo[3];

	if (why != STATS_NCOUNTERS) {
		broker.stats.counters[why]++;
		len = route_echo(rq->netfn, rq->data, rq->len, echo);
		data = echo;
	}
	broker.stats.counters[STATS_BROKER_ANSWERED]++;
	stats_record(&broker.stats, rq->netfn, rq->cmd, 0, 0,
	    why != STATS_NCOUNTERS);
	if (TRACE_ACTIVE())
		route_trace_now(rq, cc, data, len, why != STATS_NCOUNTERS);
	log_debug("request %s ch %u 0x%02x/0x%02x lun %u: broker cc 0x%02x",
	    rq->facts->name, rq->channel, rq->netfn, rq->cmd, rq->lun, cc);
	route_deliver(rq->kind, rq->origin, rq->token, rq->netfn, rq->lun,
	    rq->cmd, cc, data, len, "broker", 0);
}

/*
 * Hand the answer back to the origin and release everything. All the
 * bookkeeping happens before the delivery, which may drop a peer.
 */
static void
route_finish(struct inflight *f, uint8_t cc, const uint8_t *data,
    size_t len, enum stats_counter why)
{
	struct hconn		*h = f->handler;
	struct reg_entry	*e = f->reg;
	enum inflight_origin	 kind = f->origin_kind;
	void			*origin = f->origin;
	uint64_t		 token = f->token;
	uint8_t			 netfn = f->netfn, lun = f->lun, cmd = f->cmd;
	uint8_t			 echo[3];
	const char		*who;
	uint32_t		 us;
	int			 fallback = why != STATS_NCOUNTERS;

	us = (uint32_t)((broker_now_ns() - f->start_ns) / 1000);
	if (fallback) {
		/* A fallback nobody receives (the origin went away or the
		 * host cancelled) is counted as orphaned below, not here. */
		if (origin != NULL)
			broker.stats.counters[why]++;
		if (f->echo_len > 0)
			memcpy(echo, f->echo, f->echo_len);
		data = echo;
		len = f->echo_len;
	}
	stats_record(&broker.stats, netfn, cmd, f->key, us, fallback);
	if (e != NULL) {
		if (fallback)
			e->fallbacks++;
		else
			e->served++;
	}
	if (fallback)
		h->fallbacks++;
	else
		h->served++;
	log_debug("request %llu ch %u 0x%02x/0x%02x lun %u: %s[%d] cc 0x%02x"
	    "%s in %u us", (unsigned long long)f->id, f->channel, netfn, cmd,
	    lun, h->name, (int)h->pid, cc, fallback ? " (broker)" : "", us);
	/* h outlives the delivery (a handler is freed only after its own
	 * route_finish() calls), so its name needs no copy. */
	who = fallback ? "broker" : h->name;
	if (TRACE_ACTIVE() && origin != NULL)
		route_trace_finish(f, cc, data, len, who, us, fallback);
	if (origin != NULL) {
		TAILQ_REMOVE(f->olist, f, o_entry);
		if (f->ocount != NULL)
			(*f->ocount)--;
	} else
		broker.stats.counters[STATS_ORPHANED]++;
	TAILQ_REMOVE(&h->targets, f, h_entry);
	h->inflight--;
	inflight_finish(&broker.pool, f);
	if (origin != NULL)
		route_deliver(kind, origin, token, netfn, lun, cmd, cc, data,
		    len, who, us);
}

static int
route_channel(const struct route_req *rq, uint8_t byte, uint8_t *channel)
{
	byte &= 0x0f;
	*channel = byte == CHANNEL_THIS ? rq->channel : byte;
	return 0;
}

/* Get NetFn Support: LUN byte, then 4 bytes of netfn-pair bits per LUN. */
static void
route_netfn_support(const struct route_req *rq)
{
	uint8_t	rsp[17] = { 0 }, channel;
	int	lun, i;

	if (rq->len != 1) {
		route_now(rq, 0xc7, NULL, 0, STATS_NCOUNTERS);
		return;
	}
	route_channel(rq, rq->data[0], &channel);
	for (lun = 0; lun < 4; lun++) {
		registry_netfn_bits(broker.reg, lun, channel,
		    &rsp[1 + lun * 4]);
		if (lun == 0)
			rsp[1] |= 1 << (NETFN_APP >> 1);
		for (i = 0; i < 4; i++)
			if (rsp[1 + lun * 4 + i] != 0)
				rsp[0] |= 1 << (lun * 2);
	}
	route_now(rq, 0x00, rsp, sizeof(rsp), STATS_NCOUNTERS);
}

/*
 * Get Command Support, Get Configurable Commands, Get Command Enables:
 * [channel] [operation << 6 | netfn] [lun] (+ body code or IANA). The
 * answer covers commands 0x00-0x7f (operation 0) or 0x80-0xff (1). In Get
 * Command Support a set bit means "not supported"; in Get Command Enables
 * a set bit means "enabled". Nothing is configurable.
 */
static void
route_command_support(const struct route_req *rq)
{
	uint8_t		bits[32] = { 0 }, rsp[16], channel, netfn, lun, op;
	uint32_t	key = 0;
	size_t		i, want = 3;

	if (rq->len >= 2) {
		netfn = rq->data[1] & 0x3f;
		if (netfn == NETFN_GROUP && rq->len == 4)
			want = 4;
		else if (netfn == NETFN_OEM && rq->len == 6)
			want = 6;
	}
	if (rq->len != want) {
		route_now(rq, 0xc7, NULL, 0, STATS_NCOUNTERS);
		return;
	}
	route_channel(rq, rq->data[0], &channel);
	netfn = rq->data[1] & 0x3f;
	op = rq->data[1] >> 6;
	lun = rq->data[2];
	if (op > 1 || lun > 3 || (netfn & 1)) {
		route_now(rq, 0xcc, NULL, 0, STATS_NCOUNTERS);
		return;
	}
	if (want == 4)
		key = rq->data[3];
	else if (want == 6)
		key = rq->data[3] | rq->data[4] << 8 | rq->data[5] << 16;
	if ((netfn != NETFN_GROUP && netfn != NETFN_OEM) || want > 3)
		registry_cmd_bits(broker.reg, netfn, key, lun, channel, bits);
	if (netfn == NETFN_APP && lun == 0)
		for (i = 0; i < sizeof(route_builtins); i++)
			bits[route_builtins[i] / 8] |=
			    1 << (route_builtins[i] % 8);
	for (i = 0; i < 16; i++) {
		uint8_t b = bits[op * 16 + i];

		switch (rq->cmd) {
		case CMD_GET_COMMAND_SUPPORT:
			rsp[i] = (uint8_t)~b;
			break;
		case CMD_GET_CONFIGURABLE_COMMANDS:
			rsp[i] = 0;
			break;
		default:
			rsp[i] = b;
			break;
		}
	}
	route_now(rq, 0x00, rsp, sizeof(rsp), STATS_NCOUNTERS);
}

/* Returns 1 when the broker answered the request itself. */
static int
route_builtin(const struct route_req *rq)
{
	if (rq->netfn != NETFN_APP || rq->lun != 0)
		return 0;
	switch (rq->cmd) {
	case CMD_GET_NETFN_SUPPORT:
		route_netfn_support(rq);
		return 1;
	case CMD_GET_COMMAND_SUPPORT:
	case CMD_GET_CONFIGURABLE_COMMANDS:
	case CMD_GET_COMMAND_ENABLES:
		route_command_support(rq);
		return 1;
	default:
		return 0;
	}
}

static uint32_t
route_deadline(const struct route_req *rq, const struct reg_entry *e)
{
	uint32_t	d = rq->facts->deadline_ms;

	if (e != NULL && e->deadline_ms != 0) {
		d = e->deadline_ms;
		if (d > rq->facts->deadline_limit_ms)
			d = rq->facts->deadline_limit_ms;
	}
	return d;
}

void
route_request(const struct route_req *rq)
{
	const struct config	*cfg = &broker.cfg;
	struct reg_entry	*e;
	struct hconn		*h;
	struct inflight		*f;
	uint64_t		 now;
	uint32_t		 key = 0;

	broker.stats.counters[STATS_REQUESTS]++;
	if ((rq->netfn == NETFN_GROUP && rq->len < 1) ||
	    (rq->netfn == NETFN_OEM && rq->len < 3)) {
		route_now(rq, cfg->fallback.short_oem, NULL, 0,
		    STATS_FB_SHORT_OEM);
		return;
	}
	if (rq->len > cfg->max_payload) {
		route_now(rq, 0xc8, NULL, 0, STATS_FB_OVERSIZE);
		return;
	}
	if (rq->netfn == NETFN_GROUP)
		key = rq->data[0];
	else if (rq->netfn == NETFN_OEM)
		key = rq->data[0] | rq->data[1] << 8 | rq->data[2] << 16;

	e = registry_lookup(broker.reg, rq->netfn, rq->lun, rq->cmd,
	    rq->channel, key);
	if ((e == NULL || e->key.any_cmd) && route_builtin(rq))
		return;
	h = e != NULL ? e->owner : broker.default_handler;
	if (h == NULL) {
		if (cfg->default_route.handler[0] == '\0')
			route_now(rq, cfg->default_route.code, NULL, 0,
			    STATS_FB_NO_HANDLER);
		else
			route_now(rq, cfg->fallback.no_handler, NULL, 0,
			    STATS_FB_NO_HANDLER);
		return;
	}
	if (broker.pool.used >= cfg->inflight_total ||
	    h->inflight >= cfg->inflight_per_handler ||
	    (rq->origin_count != NULL &&
	    *rq->origin_count >= rq->origin_limit)) {
		route_now(rq, cfg->fallback.busy, NULL, 0, STATS_FB_BUSY);
		return;
	}
	now = broker_now_ns();
	f = inflight_start(&broker.pool, &h->seq, now,
	    now + (uint64_t)route_deadline(rq, e) * 1000000);
	if (f == NULL) {
		route_now(rq, cfg->fallback.busy, NULL, 0, STATS_FB_BUSY);
		return;
	}
	f->handler = h;
	f->reg = e;
	f->origin_kind = rq->kind;
	f->origin = rq->origin;
	f->olist = rq->origin_list;
	f->ocount = rq->origin_count;
	f->token = rq->token;
	f->netfn = rq->netfn;
	f->lun = rq->lun;
	f->cmd = rq->cmd;
	f->channel = rq->channel;
	f->key = key;
	f->max_response = rq->facts->max_response;
	f->echo_len = route_echo(rq->netfn, rq->data, rq->len, f->echo);
	TAILQ_INSERT_TAIL(&h->targets, f, h_entry);
	h->inflight++;
	TAILQ_INSERT_TAIL(rq->origin_list, f, o_entry);
	if (rq->origin_count != NULL)
		(*rq->origin_count)++;
	if (TRACE_ACTIVE())
		route_trace_request(rq, h->name, f->id);
	handler_send_request(h, f, rq->data, rq->len, rq->facts,
	    rq->origin_pid);
	broker_timer_update();
}

/* Called by handler_send_request() when the handler cannot take it. */
void
route_refused(struct inflight *f)
{
	route_finish(f, broker.cfg.fallback.busy, NULL, 0, STATS_FB_BUSY);
}

void
route_answer(struct hconn *h, uint64_t id, uint8_t cc, const uint8_t *data,
    size_t len)
{
	struct inflight	*f;
	int		 verdict;

	f = inflight_lookup(&broker.pool, h, h->seq, id, &verdict);
	if (f == NULL) {
		if (verdict == INFLIGHT_E_FORGED) {
			broker.stats.counters[STATS_FORGED]++;
			handler_drop(h, "answer with an id never issued");
			return;
		}
		broker.stats.counters[STATS_LATE]++;
		h->late++;
		log_debug("handler %s[%d]: late answer to request %llu dropped",
		    h->name, (int)h->pid, (unsigned long long)id);
		return;
	}
	if (len > f->max_response || len > broker.cfg.max_payload) {
		log_warnx("handler %s[%d]: answer to 0x%02x/0x%02x has %zu "
		    "bytes, the bus carries %u", h->name, (int)h->pid,
		    f->netfn, f->cmd, len, f->max_response);
		route_finish(f, broker.cfg.fallback.too_large, NULL, 0,
		    STATS_FB_TOO_LARGE);
		return;
	}
	route_finish(f, cc, data, len, STATS_NCOUNTERS);
}

void
route_expire(uint64_t now_ns)
{
	struct inflight	*f;
	struct hconn	*h;

	while ((f = inflight_expired(&broker.pool, now_ns)) != NULL) {
		h = f->handler;
		log_warnx("handler %s[%d]: request %llu 0x%02x/0x%02x missed "
		    "its deadline", h->name, (int)h->pid,
		    (unsigned long long)f->id, f->netfn, f->cmd);
		route_finish(f, broker.cfg.fallback.timeout, NULL, 0,
		    STATS_FB_TIMEOUT);
	}
}

void
route_handler_gone(struct hconn *h)
{
	struct inflight	*f;

	while ((f = TAILQ_FIRST(&h->targets)) != NULL)
		route_finish(f, broker.cfg.fallback.disconnected, NULL, 0,
		    STATS_FB_DISCONNECTED);
	route_origin_gone(&h->sent);
}

void
route_origin_gone(struct inflight_list *list)
{
	struct inflight	*f;

	while ((f = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, f, o_entry);
		if (f->ocount != NULL)
			(*f->ocount)--;
		f->origin = NULL;
		f->ocount = NULL;
		f->olist = NULL;
	}
}
