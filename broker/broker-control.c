/* SPDX-License-Identifier: MIT */
/*
 * Control connections (ipmi-ctl). Who may connect is decided by the
 * control socket's mode and owner; what a client sends is validated like
 * anything else, and a client that sends garbage or stops reading is
 * dropped. Listings are packed into a snapshot when asked for, so the
 * records reflect one moment, then streamed one record per datagram as
 * the socket drains, ending with ListEnd.
 *
 * A client that sends Trace becomes a trace client: it may send nothing
 * more, and gets a Result, then one TraceEvent per routed request and
 * response its filter keeps. Routing must never wait for it, so events go
 * out with a non-blocking send, then into the connection's bounded queue;
 * when that is full too the event is dropped and counted, and the count
 * goes out as TraceDropped as soon as there is room again, ahead of the
 * next event. A slow tracer loses events; it is not disconnected.
 */
#include <sys/socket.h>

#include <event2/event.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "control.pb-c.h"
#include "log.h"
#include "validate.h"

#define CONTROL_VERSION		1
#define CONTROL_TRACE_QUEUE	1024	/* datagrams queued per tracer */

struct ctl_snapshot {
	uint8_t		*buf;
	size_t		 len;
	size_t		 cap;
	size_t		 off;
};

static void	control_dispatch(int fd, short ev, void *arg);
static void	control_dispatch_one(struct cconn *c, int fd);
static void	control_writable(int fd, short ev, void *arg);
static void	control_free(struct cconn *c);
static void	control_hello(struct cconn *c, const Ctl__Hello *m);
static void	control_list_registrations(struct cconn *c);
static void	control_list_handlers(struct cconn *c);
static void	control_list_buses(struct cconn *c);
static void	control_get_stats(struct cconn *c);
static void	control_get_status(struct cconn *c);
static void	control_send(struct cconn *c, const Ctl__Send *m);
static void	control_trace_start(struct cconn *c, const Ctl__Trace *m);
static int	control_trace_marker(struct cconn *c);

void
control_accept(int lfd, short ev, void *arg)
{
	struct cconn	*c;
	struct ucred	 cred;
	socklen_t	 clen = sizeof(cred);
	int		 fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
		broker_accept_failed(broker.ev_clisten, "control");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
	    broker.ncontrols >= broker.cfg.max_controls ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		log_warnx("control client refused (%u connected)",
		    broker.ncontrols);
		close(fd);
		return;
	}
	c->fd = fd;
	c->uid = cred.uid;
	TAILQ_INIT(&c->sent);
	wire_queue_init(&c->outq, 64);
	c->ev_read = event_new(broker.base, fd, EV_READ | EV_PERSIST,
	    control_dispatch, c);
	c->ev_write = event_new(broker.base, fd, EV_WRITE, control_writable,
	    c);
	if (c->ev_read == NULL || c->ev_write == NULL ||
	    event_add(c->ev_read, NULL) < 0) {
		if (c->ev_read)
			event_free(c->ev_read);
		if (c->ev_write)
			event_free(c->ev_write);
		close(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&broker.controls, c, entry);
	broker.ncontrols++;
}

static void
control_free(struct cconn *c)
{
	if (c->dead)
		return;
	route_origin_gone(&c->sent);
	if (c->tracing) {
		LIST_REMOVE(c, trace_entry);
		broker.ntracers--;
	}
	TAILQ_REMOVE(&broker.controls, c, entry);
	broker.ncontrols--;
	event_free(c->ev_read);
	event_free(c->ev_write);
	wire_queue_deinit(&c->outq);
	if (c->snap != NULL) {
		free(c->snap->buf);
		free(c->snap);
		c->snap = NULL;
	}
	close(c->fd);
	c->fd = -1;
	c->dead = true;
	if (!c->in_dispatch)
		free(c);
}

static void
control_drop(struct cconn *c, const char *why)
{
	log_warnx("control client uid %u: dropped: %s", (unsigned)c->uid,
	    why);
	broker.stats.counters[STATS_DROPPED_CONTROLS]++;
	control_free(c);
}

/* Returns 0, or -1 after dropping c. */
static int
control_send_env(struct cconn *c, const Ctl__Envelope *env)
{
	int	r;

	if (c->dead)
		return -1;
	r = wire_send_queued(&c->outq, c->fd, &env->base);
	if (r == 0) {
		if (c->outq.head != NULL)
			event_add(c->ev_write, NULL);
		return 0;
	}
	control_drop(c, r == -ENOBUFS ? "not reading its answers" :
	    strerror(-r));
	return -1;
}

static void
control_result(struct cconn *c, Ctl__Code code, const char *msg)
{
	Ctl__Envelope	env = CTL__ENVELOPE__INIT;
	Ctl__Result	res = CTL__RESULT__INIT;

	res.code = code;
	res.message = (char *)msg;
	env.body_case = CTL__ENVELOPE__BODY_RESULT;
	env.result = &res;
	control_send_env(c, &env);
}

static void
control_dispatch(int fd, short ev, void *arg)
{
	struct cconn	*c = arg;

	c->in_dispatch = true;
	control_dispatch_one(c, fd);
	c->in_dispatch = false;
	if (c->dead)
		free(c);
}

/* Handle what the client sent: one request at a time. */
static void
control_dispatch_one(struct cconn *c, int fd)
{
	Ctl__Envelope	*env;
	char		 why[256];
	ssize_t		 n;

	while (!c->dead) {
		n = wire_recv(fd, broker.rbuf, NULL, NULL);
		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			if (n == -EMSGSIZE)
				control_drop(c, "datagram too large");
			else
				control_free(c);
			return;
		}
		env = ctl__envelope__unpack(&broker.arena.alloc, n,
		    broker.rbuf);
		why[0] = '\0';
		if (env == NULL)
			snprintf(why, sizeof(why), "message does not decode");
		else if (validate_from_control(env, why, sizeof(why)) == 0) {
			if (c->tracing)
				snprintf(why, sizeof(why), "message after "
				    "trace");
			else if (!c->welcomed &&
			    env->body_case != CTL__ENVELOPE__BODY_HELLO)
				snprintf(why, sizeof(why), "no hello first");
			else if (c->welcomed &&
			    env->body_case == CTL__ENVELOPE__BODY_HELLO)
				snprintf(why, sizeof(why), "second hello");
		}
		if (why[0] != '\0') {
			wire_arena_reset(&broker.arena);
			control_drop(c, why);
			return;
		}
		if (c->snap != NULL || !TAILQ_EMPTY(&c->sent)) {
			wire_arena_reset(&broker.arena);
			control_result(c, CTL__CODE__BUSY,
			    "the previous request is not finished");
			continue;
		}
		switch (env->body_case) {
		case CTL__ENVELOPE__BODY_HELLO:
			control_hello(c, env->hello);
			break;
		case CTL__ENVELOPE__BODY_LIST_REGISTRATIONS:
			control_list_registrations(c);
			break;
		case CTL__ENVELOPE__BODY_LIST_HANDLERS:
			control_list_handlers(c);
			break;
		case CTL__ENVELOPE__BODY_LIST_BUSES:
			control_list_buses(c);
			break;
		case CTL__ENVELOPE__BODY_GET_STATS:
			control_get_stats(c);
			break;
		case CTL__ENVELOPE__BODY_GET_STATUS:
			control_get_status(c);
			break;
		case CTL__ENVELOPE__BODY_SEND:
			control_send(c, env->send);
			break;
		case CTL__ENVELOPE__BODY_TRACE:
			control_trace_start(c, env->trace);
			break;
		default:
			break;
		}
		wire_arena_reset(&broker.arena);
		/* One request at a time; the rest waits in the socket. */
		return;
	}
}

static void
control_snap_flush(struct cconn *c)
{
	struct ctl_snapshot	*s = c->snap;
	uint16_t		 len;
	int			 r;

	while (s->off < s->len) {
		memcpy(&len, s->buf + s->off, sizeof(len));
		r = wire_send_raw(c->fd, s->buf + s->off + 2, len, NULL, 0);
		if (r == -EAGAIN) {
			event_add(c->ev_write, NULL);
			return;
		}
		if (r < 0) {
			control_free(c);
			return;
		}
		s->off += 2 + len;
	}
	free(s->buf);
	free(s);
	c->snap = NULL;
}

static void
control_writable(int fd, short ev, void *arg)
{
	struct cconn	*c = arg;
	int		 r;

	if ((r = wire_queue_flush(&c->outq, fd)) < 0) {
		control_free(c);
		return;
	}
	if (c->outq.head != NULL) {
		event_add(c->ev_write, NULL);
		return;
	}
	if (c->snap != NULL)
		control_snap_flush(c);
	else if (c->tracing && c->trace_drops > 0)
		control_trace_marker(c);
}

/* Pack one record of a listing into the snapshot. */
static int
control_snap_add(struct ctl_snapshot *s, const Ctl__Envelope *env)
{
	uint8_t		buf[WIRE_MSG_MAX];
	size_t		len;
	uint16_t	l16;
	void		*p;

	if ((len = wire_pack(&env->base, buf)) == 0)
		return -EMSGSIZE;
	if (s->len + 2 + len > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 8192;

		while (ncap < s->len + 2 + len)
			ncap *= 2;
		if ((p = realloc(s->buf, ncap)) == NULL)
			return -ENOMEM;
		s->buf = p;
		s->cap = ncap;
	}
	l16 = (uint16_t)len;
	memcpy(s->buf + s->len, &l16, 2);
	memcpy(s->buf + s->len + 2, buf, len);
	s->len += 2 + len;
	return 0;
}

static struct ctl_snapshot *
control_snap_new(void)
{
	return calloc(1, sizeof(struct ctl_snapshot));
}

/* Close a listing with ListEnd and start streaming it. */
static void
control_snap_start(struct cconn *c, struct ctl_snapshot *s)
{
	Ctl__Envelope	env = CTL__ENVELOPE__INIT;
	Ctl__ListEnd	end = CTL__LIST_END__INIT;

	env.body_case = CTL__ENVELOPE__BODY_LIST_END;
	env.list_end = &end;
	if (control_snap_add(s, &env) < 0) {
		free(s->buf);
		free(s);
		control_result(c, CTL__CODE__BUSY, "out of memory");
		return;
	}
	c->snap = s;
	control_snap_flush(c);
}

static void
control_hello(struct cconn *c, const Ctl__Hello *m)
{
	Ctl__Envelope	env = CTL__ENVELOPE__INIT;
	Ctl__Welcome	w = CTL__WELCOME__INIT;
	char		msg[96];

	if (m->version != CONTROL_VERSION) {
		snprintf(msg, sizeof(msg), "control protocol version %u not "
		    "supported (this broker speaks %d)", m->version,
		    CONTROL_VERSION);
		control_result(c, CTL__CODE__UNSUPPORTED, msg);
		return;
	}
	c->welcomed = true;
	w.version = CONTROL_VERSION;
	w.broker_pid = (uint32_t)getpid();
	env.body_case = CTL__ENVELOPE__BODY_WELCOME;
	env.welcome = &w;
	control_send_env(c, &env);
}

struct control_walk {
	struct ctl_snapshot	*snap;
	int			 error;
};

static void
control_registration(const struct reg_entry *e, void *arg)
{
	struct control_walk	*w = arg;
	const struct hconn	*h = e->owner;
	Ctl__Envelope		 env = CTL__ENVELOPE__INIT;
	Ctl__Registration	 r = CTL__REGISTRATION__INIT;

	r.netfn = e->key.netfn;
	r.any_cmd = e->key.any_cmd;
	r.cmd = e->key.cmd;
	if (e->key.netfn == NETFN_OEM)
		r.iana = e->key.key;
	else if (e->key.netfn == NETFN_GROUP)
		r.body = e->key.key;
	r.lun_mask = e->key.lun_mask;
	r.channel_mask = e->key.channel_mask;
	r.handler = (char *)h->name;
	r.pid = (uint32_t)h->pid;
	r.uid = h->uid;
	r.gid = h->gid;
	r.served = e->served;
	r.fallbacks = e->fallbacks;
	r.deadline_ms = e->deadline_ms;
	env.body_case = CTL__ENVELOPE__BODY_REGISTRATION;
	env.registration = &r;
	if (control_snap_add(w->snap, &env) < 0)
		w->error = 1;
}

static void
control_list_registrations(struct cconn *c)
{
	struct control_walk	 w = { control_snap_new(), 0 };
	Ctl__Envelope		 env = CTL__ENVELOPE__INIT;
	Ctl__Registration	 r = CTL__REGISTRATION__INIT;
	struct hconn		*h = broker.default_handler;

	if (w.snap == NULL) {
		control_result(c, CTL__CODE__BUSY, "out of memory");
		return;
	}
	registry_walk(broker.reg, control_registration, &w);
	if (h != NULL) {
		r.is_default = true;
		r.lun_mask = REGISTRY_LUN_ALL;
		r.channel_mask = REGISTRY_CHANNEL_ALL;
		r.any_cmd = true;
		r.handler = h->name;
		r.pid = (uint32_t)h->pid;
		r.uid = h->uid;
		r.gid = h->gid;
		r.served = h->served;
		env.body_case = CTL__ENVELOPE__BODY_REGISTRATION;
		env.registration = &r;
		if (control_snap_add(w.snap, &env) < 0)
			w.error = 1;
	}
	if (w.error) {
		free(w.snap->buf);
		free(w.snap);
		control_result(c, CTL__CODE__BUSY, "out of memory");
		return;
	}
	control_snap_start(c, w.snap);
}

static void
control_list_handlers(struct cconn *c)
{
	struct ctl_snapshot	*s = control_snap_new();
	Ctl__Envelope		 env = CTL__ENVELOPE__INIT;
	Ctl__HandlerInfo	 hi;
	struct hconn		*h;
	uint64_t		 now = broker_now_ns();

	if (s == NULL) {
		control_result(c, CTL__CODE__BUSY, "out of memory");
		return;
	}
	env.body_case = CTL__ENVELOPE__BODY_HANDLER_INFO;
	env.handler_info = &hi;
	TAILQ_FOREACH(h, &broker.handlers, entry) {
		if (!h->welcomed)
			continue;
		ctl__handler_info__init(&hi);
		hi.name = h->name;
		hi.pid = (uint32_t)h->pid;
		hi.uid = h->uid;
		hi.gid = h->gid;
		hi.registrations = h->nregs;
		hi.inflight = h->inflight;
		hi.served = h->served;
		hi.fallbacks = h->fallbacks;
		hi.late = h->late;
		hi.connected_ms = (now - h->connected_ns) / 1000000;
		hi.is_default = h->is_default;
		hi.sent = h->nsent;
		if (control_snap_add(s, &env) < 0)
			break;
	}
	control_snap_start(c, s);
}

static void
control_bus_info(struct ctl_snapshot *s, const char *name,
    const struct config_bus *cb, const struct blink *b)
{
	const struct bus_proc	*p = bus_proc_find(name);
	Ctl__Envelope		 env = CTL__ENVELOPE__INIT;
	Ctl__BusInfo		 bi = CTL__BUS_INFO__INIT;

	bi.name = (char *)name;
	bi.driver = cb != NULL ? (char *)cb->driver : (char *)"link";
	bi.device = cb != NULL ? (char *)cb->device : (char *)"";
	bi.channel = cb != NULL ? cb->channel : 0;
	bi.last_exit = "";
	bi.state = b != NULL && b->welcomed ? "up" : "down";
	if (p != NULL) {
		bi.restarts = p->restarts;
		bi.last_exit = (char *)p->last_exit;
		bi.pid = p->pid;
		if (b == NULL || !b->welcomed)
			bi.state = (char *)p->state;
	}
	if (b != NULL) {
		if (b->driver[0] != '\0')
			bi.driver = (char *)b->driver;
		bi.channel = b->facts.channel;
		bi.inflight = b->inflight;
		bi.requests = b->requests;
		bi.drops = b->drops + b->stats.stale + b->stats.malformed +
		    b->stats.bad_checksum;
		bi.queue_depth = b->stats.queue_depth;
		bi.deadline_ms = b->facts.deadline_ms;
		bi.max_response = b->facts.max_response;
		bi.malformed = b->stats.malformed;
		bi.bad_checksum = b->stats.bad_checksum;
		bi.stale = b->stats.stale;
		bi.cancelled = b->stats.cancelled;
		bi.frames_in = b->stats.frames_in;
		bi.frames_out = b->stats.frames_out;
	}
	env.body_case = CTL__ENVELOPE__BODY_BUS_INFO;
	env.bus_info = &bi;
	control_snap_add(s, &env);
}

static void
control_list_buses(struct cconn *c)
{
	struct ctl_snapshot	*s = control_snap_new();
	Ctl__Envelope		 env = CTL__ENVELOPE__INIT;
	Ctl__BusInfo		 bi = CTL__BUS_INFO__INIT;
	const struct config_bus	*cb;
	struct blink		*b;
	size_t			 i;

	if (s == NULL) {
		control_result(c, CTL__CODE__BUSY, "out of memory");
		return;
	}
	bi.name = "ctl";
	bi.driver = "ctl";
	bi.device = "";
	bi.channel = broker.ctl_facts.channel;
	bi.state = "up";
	bi.last_exit = "";
	bi.inflight = broker.ctl_inflight;
	bi.deadline_ms = broker.ctl_facts.deadline_ms;
	bi.max_response = broker.ctl_facts.max_response;
	env.body_case = CTL__ENVELOPE__BODY_BUS_INFO;
	env.bus_info = &bi;
	control_snap_add(s, &env);
	/* Configured buses first, up or not; then links the config does
	 * not name (tests playing the supervisor). */
	for (i = 0; i < broker.cfg.n_bus; i++) {
		cb = &broker.cfg.bus[i];
		control_bus_info(s, cb->name, cb, bus_find(cb->name));
	}
	TAILQ_FOREACH(b, &broker.buses, entry) {
		for (i = 0; i < broker.cfg.n_bus; i++)
			if (strcmp(broker.cfg.bus[i].name, b->facts.name) == 0)
				break;
		if (i == broker.cfg.n_bus)
			control_bus_info(s, b->facts.name, NULL, b);
	}
	control_snap_start(c, s);
}

static void
control_command_stat(const struct stats_cmd *sc, void *arg)
{
	struct ctl_snapshot	*s = arg;
	Ctl__Envelope		 env = CTL__ENVELOPE__INIT;
	Ctl__CommandStat	 cs = CTL__COMMAND_STAT__INIT;

	cs.netfn = sc->netfn;
	cs.cmd = sc->cmd;
	if (sc->netfn == NETFN_OEM)
		cs.iana = sc->key;
	else if (sc->netfn == NETFN_GROUP)
		cs.body = sc->key;
	cs.count = sc->count;
	cs.fallbacks = sc->fallbacks;
	cs.p50_us = stats_percentile(sc, 50);
	cs.p90_us = stats_percentile(sc, 90);
	cs.p99_us = stats_percentile(sc, 99);
	cs.max_us = sc->max_us;
	env.body_case = CTL__ENVELOPE__BODY_COMMAND_STAT;
	env.command_stat = &cs;
	control_snap_add(s, &env);
}

static void
control_get_stats(struct cconn *c)
{
	struct ctl_snapshot	*s = control_snap_new();
	Ctl__Envelope		 env = CTL__ENVELOPE__INIT;
	Ctl__Counter		 ct = CTL__COUNTER__INIT;
	int			 i;

	if (s == NULL) {
		control_result(c, CTL__CODE__BUSY, "out of memory");
		return;
	}
	stats_walk(&broker.stats, control_command_stat, s);
	env.body_case = CTL__ENVELOPE__BODY_COUNTER;
	env.counter = &ct;
	for (i = 0; i < STATS_NCOUNTERS; i++) {
		ct.name = (char *)stats_counter_name(i);
		ct.value = broker.stats.counters[i];
		control_snap_add(s, &env);
	}
	control_snap_start(c, s);
}

static void
control_get_status(struct cconn *c)
{
	Ctl__Envelope	env = CTL__ENVELOPE__INIT;
	Ctl__Status	st = CTL__STATUS__INIT;
	char		route[128];

	st.broker_pid = (uint32_t)getpid();
	st.uptime_ms = (broker_now_ns() - broker.start_ns) / 1000000;
	st.config_generation = broker.cfg.generation;
	st.config_path = broker.cfg.path;
	st.handlers = broker.nhandlers;
	st.registrations = (uint32_t)registry_count(broker.reg);
	st.inflight = broker.pool.used;
	st.version = IPMI_BROKER_VERSION;
	st.requests = broker.stats.counters[STATS_REQUESTS];
	if (broker.default_handler != NULL)
		snprintf(route, sizeof(route), "handler %s[%d]",
		    broker.default_handler->name,
		    (int)broker.default_handler->pid);
	else if (broker.cfg.default_route.handler[0] != '\0')
		snprintf(route, sizeof(route), "handler %s (not connected: "
		    "0x%02x)", broker.cfg.default_route.handler,
		    broker.cfg.fallback.no_handler);
	else
		snprintf(route, sizeof(route), "completion code 0x%02x",
		    broker.cfg.default_route.code);
	st.default_route = route;
	env.body_case = CTL__ENVELOPE__BODY_STATUS;
	env.status = &st;
	control_send_env(c, &env);
}

static void
control_send(struct cconn *c, const Ctl__Send *m)
{
	struct route_req	 rq = { 0 };
	struct blink		*b = NULL;
	char			 msg[96];

	if (m->bus != NULL && m->bus[0] != '\0' &&
	    strcmp(m->bus, "ctl") != 0 &&
	    (b = bus_find(m->bus)) == NULL) {
		snprintf(msg, sizeof(msg), "no bus '%.40s' is up", m->bus);
		control_result(c, CTL__CODE__INVALID, msg);
		return;
	}
	rq.kind = INFLIGHT_FROM_CTL;
	rq.origin = c;
	rq.origin_list = &c->sent;
	rq.origin_count = &broker.ctl_inflight;
	rq.origin_limit = broker.cfg.inflight_per_bus;
	rq.netfn = (uint8_t)m->netfn;
	rq.lun = (uint8_t)m->lun;
	rq.cmd = (uint8_t)m->cmd;
	rq.channel = m->has_channel ? (uint8_t)m->channel :
	    b != NULL ? b->facts.channel : broker.cfg.ctl_channel;
	rq.data = m->data.data;
	rq.len = m->data.len;
	/* As if it came in on that bus: the handler sees its facts. */
	rq.facts = b != NULL ? &b->facts : &broker.ctl_facts;
	snprintf(c->send_bus, sizeof(c->send_bus), "%s", rq.facts->name);
	route_request(&rq);
}

void
control_send_result(struct cconn *c, uint8_t cc, const uint8_t *data,
    size_t len, const char *who, uint32_t latency_us)
{
	Ctl__Envelope	env = CTL__ENVELOPE__INIT;
	Ctl__SendResult	sr = CTL__SEND_RESULT__INIT;

	sr.cc = cc;
	sr.data.data = (uint8_t *)data;
	sr.data.len = len;
	sr.handler = (char *)who;
	sr.latency_us = latency_us;
	env.body_case = CTL__ENVELOPE__BODY_SEND_RESULT;
	env.send_result = &sr;
	control_send_env(c, &env);
}

void
control_close_all(void)
{
	struct cconn	*c;

	while ((c = TAILQ_FIRST(&broker.controls)) != NULL)
		control_free(c);
}

static void
control_trace_start(struct cconn *c, const Ctl__Trace *m)
{
	char	why[128];

	if (trace_filter_init(&c->trace, m, why, sizeof(why)) < 0) {
		control_result(c, CTL__CODE__INVALID, why);
		return;
	}
	c->tracing = true;
	c->outq.limit = CONTROL_TRACE_QUEUE;
	LIST_INSERT_HEAD(&broker.tracers, c, trace_entry);
	broker.ntracers++;
	log_debug("control client uid %u: tracing", (unsigned)c->uid);
	control_result(c, CTL__CODE__OK, "tracing");
}

/*
 * Send one packed datagram to a tracer now, or queue it. Returns 0, or -1
 * when it has to be dropped (queue full, or the socket failed: the read
 * event then sees the client go).
 */
static int
control_trace_put(struct cconn *c, const uint8_t *buf, size_t len)
{
	int	r;

	if (c->outq.head == NULL) {
		r = wire_send_raw(c->fd, buf, len, NULL, 0);
		if (r == 0)
			return 0;
		if (r != -EAGAIN)
			return -1;
	}
	if (wire_queue_push(&c->outq, buf, len) < 0)
		return -1;
	event_add(c->ev_write, NULL);
	return 0;
}

/* Report the events dropped so far. Returns 0, or -1 if no room yet. */
static int
control_trace_marker(struct cconn *c)
{
	uint8_t	buf[WIRE_MSG_MAX];
	size_t	len;

	len = trace_pack_dropped(c->trace_drops, buf);
	if (control_trace_put(c, buf, len) < 0)
		return -1;
	log_debug("control client uid %u: trace: %llu events dropped",
	    (unsigned)c->uid, (unsigned long long)c->trace_drops);
	c->trace_drops = 0;
	return 0;
}

void
control_trace(const struct trace_event *ev)
{
	struct cconn	*c;
	uint8_t		 buf[WIRE_MSG_MAX];
	size_t		 len = 0;

	LIST_FOREACH(c, &broker.tracers, trace_entry) {
		if (!trace_match(&c->trace, ev))
			continue;
		if (len == 0 && (len = trace_pack(ev, buf)) == 0)
			return;
		if (c->trace_drops > 0 && control_trace_marker(c) < 0) {
			c->trace_drops++;
			continue;
		}
		if (control_trace_put(c, buf, len) < 0)
			c->trace_drops++;
	}
}
