/* SPDX-License-Identifier: MIT */
/*
 * Handler connections. A handler is any local process that connects to
 * the handler socket; it is trusted with nothing: its credentials come
 * from SO_PEERCRED, its name is a label, every datagram is validated, and
 * garbage, a forged answer id or a full output queue drops it alone. Its
 * registrations die with its connection; the requests it had in flight are
 * answered with the "disconnected" code at once.
 */
#include <sys/socket.h>

#include <event2/event.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "handler.pb-c.h"
#include "log.h"
#include "validate.h"
#include "wire-hot.h"

#define HANDLER_VERSION		1

static void	handler_dispatch(int fd, short ev, void *arg);
static void	handler_writable(int fd, short ev, void *arg);
static void	handler_hello(struct hconn *h, const Hnd__Hello *m);
static void	handler_register(struct hconn *h, const Hnd__Register *m);
static void	handler_unregister(struct hconn *h, const Hnd__Unregister *m);
static void	handler_response(struct hconn *h, const Hnd__Response *m);
static void	handler_send_msg(struct hconn *h, const Hnd__Send *m);
static void	handler_free(struct hconn *h);
static void	handler_out_fail(struct bout *o, int err);
static void	handler_send_failed(struct hconn *h, int r);

void
handler_accept(int lfd, short ev, void *arg)
{
	struct hconn	*h;
	struct ucred	 cred;
	socklen_t	 clen = sizeof(cred);
	int		 fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
		broker_accept_failed(broker.ev_hlisten, "handler");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
		log_warn("handler socket: SO_PEERCRED");
		close(fd);
		return;
	}
	if (broker.nhandlers >= broker.cfg.max_handlers) {
		log_warnx("handler pid %d: refused, %u handlers connected",
		    (int)cred.pid, broker.nhandlers);
		close(fd);
		return;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		log_warn("handler pid %d: refused", (int)cred.pid);
		close(fd);
		return;
	}
	h->fd = fd;
	h->pid = cred.pid;
	h->uid = cred.uid;
	h->gid = cred.gid;
	h->seq = 1;
	snprintf(h->name, sizeof(h->name), "pid%d", (int)cred.pid);
	h->connected_ns = broker_now_ns();
	TAILQ_INIT(&h->targets);
	TAILQ_INIT(&h->sent);
	TAILQ_INIT(&h->regs);
	wire_queue_init(&h->outq, BROKER_OUTQ_LIMIT);
	h->ev_read = event_new(broker.base, fd, EV_READ | EV_PERSIST,
	    handler_dispatch, h);
	h->ev_write = event_new(broker.base, fd, EV_WRITE, handler_writable,
	    h);
	if (h->ev_read == NULL || h->ev_write == NULL ||
	    event_add(h->ev_read, NULL) < 0) {
		log_warnx("handler pid %d: no memory for events", (int)h->pid);
		if (h->ev_read)
			event_free(h->ev_read);
		if (h->ev_write)
			event_free(h->ev_write);
		close(fd);
		free(h);
		return;
	}
	bout_init(&h->out, fd, &h->outq, h->ev_write, handler_out_fail);
	TAILQ_INSERT_TAIL(&broker.handlers, h, entry);
	broker.nhandlers++;
}

/* A send at the end of a round failed. */
static void
handler_out_fail(struct bout *o, int err)
{
	struct hconn	*h = (struct hconn *)((char *)o -
	    offsetof(struct hconn, out));

	handler_send_failed(h, err);
}

static void
handler_free(struct hconn *h)
{
	struct reg_entry	*e;

	if (h->dead)
		return;

	route_handler_gone(h);
	bus_forget_handler(h);
	while ((e = TAILQ_FIRST(&h->regs)) != NULL) {
		TAILQ_REMOVE(&h->regs, e, owner_entry);
		registry_remove(broker.reg, e);
	}
	if (broker.default_handler == h)
		broker.default_handler = NULL;
	TAILQ_REMOVE(&broker.handlers, h, entry);
	broker.nhandlers--;
	bout_release(&h->out);
	event_free(h->ev_read);
	event_free(h->ev_write);
	wire_queue_deinit(&h->outq);
	close(h->fd);
	h->fd = -1;
	h->dead = true;
	if (!h->in_dispatch)
		free(h);
}

/* Drop a handler that broke the protocol; say why to it and to the log. */
void
handler_drop(struct hconn *h, const char *why)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__Goodbye	bye = HND__GOODBYE__INIT;

	log_warnx("handler %s[%d] uid %u: dropped: %s", h->name, (int)h->pid,
	    (unsigned)h->uid, why);
	broker.stats.counters[STATS_DROPPED_HANDLERS]++;
	bye.reason = (char *)why;
	env.body_case = HND__ENVELOPE__BODY_GOODBYE;
	env.goodbye = &bye;
	/* What waited for it goes first; its requests are answered 0xCE. */
	if (h->out.pend != NULL) {
		size_t		 len;
		const uint8_t	*d = wire_batch_datagram(h->out.pend, &len);

		(void)wire_send_raw(h->fd, d, len, NULL, 0);
		bout_release(&h->out);
	}
	(void)wire_send(h->fd, &env.base, NULL, 0);
	handler_free(h);
}

/*
 * Send to a handler, queueing when its socket is full. Returns 0, or -1
 * when the handler was dropped because it stopped reading.
 */
int
handler_send(struct hconn *h, const ProtobufCMessage *m)
{
	int	r;

	if (h->dead)
		return -1;
	if ((r = bout_put(&h->out, m)) == 0)
		return 0;
	if (r == -EMSGSIZE) {
		log_warnx("handler %s[%d]: message too large, not sent",
		    h->name, (int)h->pid);
		return 0;
	}
	handler_send_failed(h, r);
	return -1;
}

/* Sending to h failed with -err: it goes (its requests get 0xCE). */
static void
handler_send_failed(struct hconn *h, int r)
{
	if (r == -ENOBUFS)
		log_warnx("handler %s[%d]: not reading, %zu messages queued",
		    h->name, (int)h->pid, h->outq.count);
	else if (r != -EPIPE && r != -ECONNRESET)
		log_warnx("handler %s[%d]: send: %s", h->name, (int)h->pid,
		    strerror(-r));
	handler_free(h);
}

static void
handler_writable(int fd, short ev, void *arg)
{
	struct hconn	*h = arg;
	int		 r;

	if ((r = wire_queue_flush(&h->outq, fd)) < 0) {
		log_warnx("handler %s[%d]: send: %s", h->name, (int)h->pid,
		    strerror(-r));
		handler_free(h);
		return;
	}
	if (h->outq.head != NULL)
		event_add(h->ev_write, NULL);
}

void
handler_send_request(struct hconn *h, struct inflight *f,
    const uint8_t *data, size_t len, const struct bus_facts *facts,
    uint32_t origin_pid)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__Request	req = HND__REQUEST__INIT;
	Hnd__BusFacts	bf = HND__BUS_FACTS__INIT;
	int		r;

	bf.bus = (char *)facts->name;
	bf.medium = facts->medium;
	bf.protocol = facts->protocol;
	bf.max_request = facts->max_request;
	bf.max_response = facts->max_response;
	bf.deadline_ms = facts->deadline_ms;
	bf.max_outstanding = facts->max_outstanding;
	req.id = f->id;
	req.netfn = f->netfn;
	req.lun = f->lun;
	req.cmd = f->cmd;
	req.data.data = (uint8_t *)data;
	req.data.len = len;
	req.channel = f->channel;
	req.deadline_ms = (uint32_t)((f->deadline_ns - f->start_ns) /
	    1000000);
	req.facts = &bf;
	req.origin_pid = origin_pid;
	env.body_case = HND__ENVELOPE__BODY_REQUEST;
	env.request = &req;

	if ((r = bout_put(&h->out, &env.base)) == 0)
		return;
	/* The request is in h->targets: dropping h answers it 0xCE. */
	log_warnx("handler %s[%d]: cannot take request: %s", h->name,
	    (int)h->pid, r == -ENOBUFS ? "not reading" : strerror(-r));
	handler_free(h);
}

/* One envelope from h: unpack, check, act. Returns -1 when h was dropped. */
static int
handler_envelope(struct hconn *h, const uint8_t *buf, size_t len)
{
	Hnd__Envelope	*env;
	char		 why[256];

	env = (Hnd__Envelope *)wire_unpack(&hnd__envelope__descriptor,
	    &broker.arena.alloc, buf, len);
	if (env == NULL) {
		wire_arena_reset(&broker.arena);
		handler_drop(h, "message does not decode");
		return -1;
	}
	if (validate_from_handler(env, why, sizeof(why)) == 0) {
		if (!h->welcomed &&
		    env->body_case != HND__ENVELOPE__BODY_HELLO)
			snprintf(why, sizeof(why), "no hello first");
		else if (h->welcomed &&
		    env->body_case == HND__ENVELOPE__BODY_HELLO)
			snprintf(why, sizeof(why), "second hello");
		else
			why[0] = '\0';
	}
	if (why[0] != '\0') {
		wire_arena_reset(&broker.arena);
		handler_drop(h, why);
		return -1;
	}
	switch (env->body_case) {
	case HND__ENVELOPE__BODY_HELLO:
		handler_hello(h, env->hello);
		break;
	case HND__ENVELOPE__BODY_REGISTER:
		handler_register(h, env->register_);
		break;
	case HND__ENVELOPE__BODY_UNREGISTER:
		handler_unregister(h, env->unregister);
		break;
	case HND__ENVELOPE__BODY_RESPONSE:
		handler_response(h, env->response);
		break;
	case HND__ENVELOPE__BODY_SEND:
		handler_send_msg(h, env->send);
		break;
	case HND__ENVELOPE__BODY_ATTENTION:
		bus_attention(h, env->attention->tag,
		    env->attention->bus, env->attention->set);
		break;
	case HND__ENVELOPE__BODY_HOST_RESET:
		bus_host_reset_from_handler(h, env->host_reset->bus);
		break;
	case HND__ENVELOPE__BODY_CONTROL:
		bus_control(h, env->control->tag, env->control->bus,
		    (int)env->control->op);
		break;
	default:
		break;
	}
	wire_arena_reset(&broker.arena);
	return h->dead ? -1 : 0;
}

/* A datagram from h: one envelope or a batch of them. */
static void
handler_datagram(struct hconn *h, const uint8_t *buf, size_t len)
{
	struct wire_walk	 w;
	const uint8_t		*e;
	const char		*why;
	char			 msg[96];
	size_t			 elen;
	int			 r;

	wire_walk_init(&w, buf, len);
	while ((r = wire_walk_next(&w, &e, &elen, &why)) > 0)
		if (handler_envelope(h, e, elen) < 0)
			return;
	if (r < 0) {
		snprintf(msg, sizeof(msg), "malformed batch: %s", why);
		handler_drop(h, msg);
	}
}

/*
 * One datagram per wake-up: the loop is level-triggered and comes back
 * while more waits, every handler gets its turn, and a handler's library
 * sends what one of its rounds produced in one datagram anyway.
 */
static void
handler_dispatch(int fd, short ev, void *arg)
{
	struct hconn	*h = arg;
	ssize_t		 n;

	/* Callees may drop h: handler_free() then only marks it dead. */
	h->in_dispatch = true;
	n = wire_recv_dgram(fd, broker.rbuf);
	if (n == 0) {
		if (h->welcomed)
			log_info("handler %s[%d]: disconnected", h->name,
			    (int)h->pid);
		handler_free(h);
	} else if (n == -EMSGSIZE)
		handler_drop(h, "datagram larger than 4096 bytes");
	else if (n < 0 && n != -EAGAIN) {
		log_warnx("handler %s[%d]: receive: %s", h->name, (int)h->pid,
		    strerror((int)-n));
		handler_free(h);
	} else if (n > 0)
		handler_datagram(h, broker.rbuf, (size_t)n);
	h->in_dispatch = false;
	if (h->dead)
		free(h);
}

static void
handler_result(struct hconn *h, uint32_t tag, Hnd__Status status,
    const char *msg, const struct reg_entry *holder)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__Result	res = HND__RESULT__INIT;
	Hnd__Key	key = HND__KEY__INIT;
	struct hconn	*o;

	res.tag = tag;
	res.status = status;
	res.message = (char *)msg;
	if (holder != NULL) {
		o = holder->owner;
		res.holder_name = o->name;
		res.holder_pid = (uint32_t)o->pid;
		key.netfn = holder->key.netfn;
		key.any_cmd = holder->key.any_cmd;
		key.cmd = holder->key.cmd;
		if (holder->key.netfn == NETFN_OEM)
			key.iana = holder->key.key;
		else if (holder->key.netfn == NETFN_GROUP)
			key.body = holder->key.key;
		key.lun_mask = holder->key.lun_mask;
		key.channel_mask = holder->key.channel_mask;
		res.overlap = &key;
	}
	env.body_case = HND__ENVELOPE__BODY_RESULT;
	env.result = &res;
	handler_send(h, &env.base);
}

static void
handler_hello(struct hconn *h, const Hnd__Hello *m)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__Welcome	w = HND__WELCOME__INIT;
	char		why[128];

	snprintf(h->name, sizeof(h->name), "%s", m->name);
	if (m->version != HANDLER_VERSION) {
		snprintf(why, sizeof(why), "protocol version %u not supported "
		    "(this broker speaks %d)", m->version, HANDLER_VERSION);
		handler_drop(h, why);
		return;
	}
	h->welcomed = true;
	h->out.batches = m->batches;
	w.version = HANDLER_VERSION;
	w.batches = true;
	w.max_payload = broker.cfg.max_payload;
	w.default_deadline_ms = broker.cfg.deadline_ms;
	w.internal_channel = broker.cfg.internal_channel;
	w.broker_pid = (uint32_t)getpid();
	env.body_case = HND__ENVELOPE__BODY_WELCOME;
	env.welcome = &w;
	log_info("handler %s[%d] uid %u gid %u: connected", h->name,
	    (int)h->pid, (unsigned)h->uid, (unsigned)h->gid);
	handler_send(h, &env.base);
}

/* Whether the config names h as the default-route handler. */
static bool
handler_may_default(const struct hconn *h)
{
	const struct config	*cfg = &broker.cfg;

	if (cfg->default_route.handler[0] == '\0' ||
	    strcmp(cfg->default_route.handler, h->name) != 0)
		return false;
	if (!cfg->default_route.any_uid && cfg->default_route.uid != h->uid)
		return false;
	if (!cfg->default_route.any_gid && cfg->default_route.gid != h->gid)
		return false;
	return true;
}

static void
handler_register_default(struct hconn *h, uint32_t tag)
{
	const struct config	*cfg = &broker.cfg;
	char			 msg[256];

	if (!handler_may_default(h)) {
		if (cfg->default_route.handler[0] == '\0')
			snprintf(msg, sizeof(msg), "the config names no "
			    "default handler (unmatched requests get 0x%02x)",
			    cfg->default_route.code);
		else
			snprintf(msg, sizeof(msg), "the default route belongs "
			    "to handler '%s' with the uid/gid in the config; "
			    "this is '%s' uid %u gid %u",
			    cfg->default_route.handler, h->name,
			    (unsigned)h->uid, (unsigned)h->gid);
		log_warnx("handler %s[%d]: default route refused: %s",
		    h->name, (int)h->pid, msg);
		handler_result(h, tag, HND__STATUS__DENIED, msg, NULL);
		return;
	}
	if (broker.default_handler != NULL && broker.default_handler != h) {
		snprintf(msg, sizeof(msg), "the default route is held by "
		    "%s[%d]", broker.default_handler->name,
		    (int)broker.default_handler->pid);
		handler_result(h, tag, HND__STATUS__CONFLICT, msg, NULL);
		return;
	}
	broker.default_handler = h;
	h->is_default = true;
	log_info("handler %s[%d]: holds the default route", h->name,
	    (int)h->pid);
	handler_result(h, tag, HND__STATUS__OK, "default route", NULL);
}

static void
handler_register(struct hconn *h, const Hnd__Register *m)
{
	const struct config	*cfg = &broker.cfg;
	const struct reg_entry	*holder;
	struct reg_entry	*e;
	struct reg_key		 k;
	const Hnd__Key		*mk = m->key;
	char			 why[512], ks[128], hs[128];
	uint32_t		 deadline = m->deadline_ms;
	int			 r;

	if (m->default_route) {
		handler_register_default(h, m->tag);
		return;
	}
	if (registry_key_check(&k, mk->netfn, mk->any_cmd, mk->cmd, mk->iana,
	    mk->body, mk->lun_mask, mk->channel_mask, why, sizeof(why)) != 0) {
		handler_result(h, m->tag, HND__STATUS__INVALID, why, NULL);
		return;
	}
	registry_key_format(&k, ks, sizeof(ks));
	if (!config_acl_allows(cfg, h->uid, h->gid, k.netfn, k.key)) {
		snprintf(why, sizeof(why), "uid %u gid %u may not register %s "
		    "(no [acl] rule in %.128s allows it)", (unsigned)h->uid,
		    (unsigned)h->gid, ks, cfg->path);
		log_warnx("handler %s[%d]: %s", h->name, (int)h->pid, why);
		handler_result(h, m->tag, HND__STATUS__DENIED, why, NULL);
		return;
	}
	if (h->nregs >= cfg->max_registrations) {
		snprintf(why, sizeof(why), "%u registrations is the limit per "
		    "handler", cfg->max_registrations);
		handler_result(h, m->tag, HND__STATUS__LIMIT, why, NULL);
		return;
	}
	if (deadline > cfg->max_deadline_ms)
		deadline = cfg->max_deadline_ms;
	r = registry_add(broker.reg, &k, h, deadline, &e, &holder);
	if (r == REGISTRY_E_CONFLICT) {
		struct hconn *o = holder->owner;

		registry_key_format(&holder->key, hs, sizeof(hs));
		snprintf(why, sizeof(why), "%s conflicts with %s held by "
		    "%s[%d]", ks, hs, o->name, (int)o->pid);
		log_info("handler %s[%d]: register refused: %s", h->name,
		    (int)h->pid, why);
		handler_result(h, m->tag, HND__STATUS__CONFLICT, why, holder);
		return;
	}
	if (r != 0) {
		handler_result(h, m->tag, HND__STATUS__LIMIT, "out of memory",
		    NULL);
		return;
	}
	TAILQ_INSERT_TAIL(&h->regs, e, owner_entry);
	h->nregs++;
	log_debug("handler %s[%d]: registered %s", h->name, (int)h->pid, ks);
	handler_result(h, m->tag, HND__STATUS__OK, ks, NULL);
}

static void
handler_unregister(struct hconn *h, const Hnd__Unregister *m)
{
	const Hnd__Key		*mk = m->key;
	struct reg_entry	*e;
	struct inflight		*f;
	struct reg_key		 k;
	char			 why[256];

	if (m->default_route) {
		if (broker.default_handler != h) {
			handler_result(h, m->tag, HND__STATUS__NOT_FOUND,
			    "not holding the default route", NULL);
			return;
		}
		broker.default_handler = NULL;
		h->is_default = false;
		handler_result(h, m->tag, HND__STATUS__OK, "", NULL);
		return;
	}
	if (registry_key_check(&k, mk->netfn, mk->any_cmd, mk->cmd, mk->iana,
	    mk->body, mk->lun_mask, mk->channel_mask, why, sizeof(why)) != 0) {
		handler_result(h, m->tag, HND__STATUS__INVALID, why, NULL);
		return;
	}
	if ((e = registry_find(broker.reg, &k, h)) == NULL) {
		registry_key_format(&k, why, sizeof(why));
		strncat(why, ": not registered by this handler",
		    sizeof(why) - strlen(why) - 1);
		handler_result(h, m->tag, HND__STATUS__NOT_FOUND, why, NULL);
		return;
	}
	/* Requests already routed stay in flight; they lose the entry. */
	TAILQ_FOREACH(f, &h->targets, h_entry)
		if (f->reg == e)
			f->reg = NULL;
	TAILQ_REMOVE(&h->regs, e, owner_entry);
	h->nregs--;
	registry_remove(broker.reg, e);
	handler_result(h, m->tag, HND__STATUS__OK, "", NULL);
}

static void
handler_response(struct hconn *h, const Hnd__Response *m)
{
	route_answer(h, m->id, (uint8_t)m->cc, m->data.data, m->data.len);
}

static void
handler_send_msg(struct hconn *h, const Hnd__Send *m)
{
	struct route_req	rq = { 0 };

	h->nsent++;
	rq.kind = INFLIGHT_FROM_HANDLER;
	rq.origin = h;
	rq.origin_list = &h->sent;
	rq.origin_count = &h->sending;
	rq.origin_limit = broker.cfg.inflight_per_handler;
	rq.token = m->tag;
	rq.netfn = (uint8_t)m->netfn;
	rq.lun = (uint8_t)m->lun;
	rq.cmd = (uint8_t)m->cmd;
	rq.channel = broker.cfg.internal_channel;
	rq.data = m->data.data;
	rq.len = m->data.len;
	rq.facts = &broker.internal_facts;
	rq.origin_pid = (uint32_t)h->pid;
	route_request(&rq);
}

/* After a reload: the default route may have changed hands. */
void
handler_config_changed(void)
{
	struct hconn	*h = broker.default_handler;

	if (h != NULL && !handler_may_default(h)) {
		log_info("handler %s[%d]: loses the default route (config "
		    "changed)", h->name, (int)h->pid);
		h->is_default = false;
		broker.default_handler = NULL;
	}
}

void
handler_close_all(void)
{
	struct hconn	*h;

	while ((h = TAILQ_FIRST(&broker.handlers)) != NULL)
		handler_free(h);
}

void
handler_result_status(struct hconn *h, uint32_t tag, int status,
    const char *msg)
{
	handler_result(h, tag, (Hnd__Status)status, msg, NULL);
}

/* Tell every handler; one that cannot take it is dropped by
 * handler_send(), so walk with a saved next. */
void
handler_broadcast_event(int kind, const char *bus)
{
	Hnd__Envelope	 env = HND__ENVELOPE__INIT;
	Hnd__Event	 ev = HND__EVENT__INIT;
	struct hconn	*h, *next;

	ev.kind = (Hnd__EventKind)kind;
	ev.bus = (char *)bus;
	env.body_case = HND__ENVELOPE__BODY_EVENT;
	env.event = &ev;
	for (h = TAILQ_FIRST(&broker.handlers); h != NULL; h = next) {
		next = TAILQ_NEXT(h, entry);
		if (h->welcomed && !h->dead)
			handler_send(h, &env.base);
	}
}
