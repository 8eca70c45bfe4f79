/* SPDX-License-Identifier: MIT */
/*
 * The broker process: owns the registration table, the requests in flight
 * with their deadlines, and every fallback answer. It never touches
 * hardware and never opens files: the supervisor sends it the parsed config
 * and the listening sockets, and later bus links, over one socketpair.
 *
 * Peers and trust:
 *   supervisor  trusted; its messages are still validated, and losing it
 *               ends the broker (a new supervisor starts a new broker).
 *   bus driver  our code parsing hostile input: validated, dropped on
 *               garbage, restarted by the supervisor.
 *   handler     untrusted: validated, dropped alone on garbage.
 *   ipmi-ctl    untrusted beyond the control socket's permissions.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <event2/event.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "supervisor.pb-c.h"
#include "validate.h"
#include "wire-hot.h"

#define SUP_VERSION	1

struct broker broker;

static void	broker_dispatch_sup(int fd, short ev, void *arg);
static void	broker_config(const Sup__Config *m);
static void	broker_sockets(int *fds, size_t nfds);
static void	broker_bus_link(const Sup__BusLink *m, int *fds, size_t nfds);
static void	broker_deadline(int fd, short ev, void *arg);
static void	broker_signal(int sig, short ev, void *arg);
static void	broker_nofile_raise(void);
static void	broker_nofile_check(void);
static void	bout_pool_free(void);

uint64_t
broker_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
broker_main(int sup_fd)
{
	Sup__Envelope	 env = SUP__ENVELOPE__INIT;
	Sup__Hello	 hello = SUP__HELLO__INIT;
	struct event	*ev_term, *ev_int;

	log_setname("ipmi-broker");
	signal(SIGPIPE, SIG_IGN);
	broker_nofile_raise();
	memset(&broker, 0, sizeof(broker));
	broker.sup_fd = sup_fd;
	broker.hlisten = broker.clisten = -1;
	broker.start_ns = broker_now_ns();
	TAILQ_INIT(&broker.handlers);
	TAILQ_INIT(&broker.controls);
	TAILQ_INIT(&broker.buses);
	config_defaults(&broker.cfg);
	wire_arena_init(&broker.arena, broker.arena_buf,
	    sizeof(broker.arena_buf));
	if ((broker.reg = registry_new()) == NULL ||
	    inflight_pool_init(&broker.pool) < 0 ||
	    stats_init(&broker.stats) < 0)
		fatalx("out of memory");
	if (wire_set_nonblock(sup_fd) < 0)
		fatal("supervisor link");

	if ((broker.base = event_base_new()) == NULL)
		fatalx("cannot create an event base");
	broker.ev_sup = event_new(broker.base, sup_fd, EV_READ | EV_PERSIST,
	    broker_dispatch_sup, NULL);
	broker.ev_deadline = evtimer_new(broker.base, broker_deadline, NULL);
	ev_term = evsignal_new(broker.base, SIGTERM, broker_signal, NULL);
	ev_int = evsignal_new(broker.base, SIGINT, broker_signal, NULL);
	if (broker.ev_sup == NULL || broker.ev_deadline == NULL ||
	    ev_term == NULL || ev_int == NULL ||
	    event_add(broker.ev_sup, NULL) < 0 ||
	    event_add(ev_term, NULL) < 0 || event_add(ev_int, NULL) < 0)
		fatalx("cannot set up events");

	hello.version = SUP_VERSION;
	hello.pid = (uint32_t)getpid();
	env.body_case = SUP__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	if (wire_send(sup_fd, &env.base, NULL, 0) < 0)
		fatal("supervisor link: hello");

	/* One round: wait, run every callback that is ready, then send
	 * what the round produced for each peer as one datagram. */
	while (!broker.quit) {
		if (event_base_loop(broker.base, EVLOOP_ONCE) != 0)
			break;
		broker_flush();
	}
	broker_flush();

	/* Shutdown: answer nothing more, free everything (valgrind). */
	handler_close_all();
	control_close_all();
	bus_close_all();
	if (broker.ev_hlisten)
		event_free(broker.ev_hlisten);
	if (broker.ev_clisten)
		event_free(broker.ev_clisten);
	if (broker.hlisten >= 0)
		close(broker.hlisten);
	if (broker.clisten >= 0)
		close(broker.clisten);
	event_free(broker.ev_sup);
	event_free(broker.ev_deadline);
	event_free(ev_term);
	event_free(ev_int);
	event_base_free(broker.base);
	registry_free(broker.reg);
	inflight_pool_deinit(&broker.pool);
	stats_deinit(&broker.stats);
	wire_arena_deinit(&broker.arena);
	bout_pool_free();
	close(sup_fd);
	log_info("stopped");
	return 0;
}

/* ---- output to handlers and drivers ---- */

#define BOUT_POOL_KEEP	64

static TAILQ_HEAD(, bout) bout_dirty = TAILQ_HEAD_INITIALIZER(bout_dirty);
static struct wire_batch *bout_pool;
static size_t bout_pooled;

void
bout_init(struct bout *o, int fd, struct wire_queue *q,
    struct event *ev_write, void (*fail)(struct bout *, int))
{
	memset(o, 0, sizeof(*o));
	o->fd = fd;
	o->q = q;
	o->ev_write = ev_write;
	o->fail = fail;
}

static void
bout_pool_put(struct wire_batch *b)
{
	if (bout_pooled >= BOUT_POOL_KEEP) {
		free(b);
		return;
	}
	b->next = bout_pool;
	bout_pool = b;
	bout_pooled++;
}

static void
bout_pool_free(void)
{
	struct wire_batch	*b;

	while ((b = bout_pool) != NULL) {
		bout_pool = b->next;
		free(b);
	}
	bout_pooled = 0;
}

/* Send one packed datagram, or queue it behind what is already queued. */
static int
bout_send(struct bout *o, const uint8_t *buf, size_t len)
{
	int	r;

	if ((r = wire_queue_send(o->q, o->fd, buf, len)) < 0)
		return r;
	if (o->q->head != NULL && !event_pending(o->ev_write, EV_WRITE, NULL))
		event_add(o->ev_write, NULL);
	return 0;
}

static int
bout_send_batch(struct bout *o)
{
	const uint8_t	*d;
	size_t		 len;

	d = wire_batch_datagram(o->pend, &len);
	return bout_send(o, d, len);
}

/*
 * Send m to the peer, now or when this round ends. Returns 0, or -errno
 * (-EMSGSIZE: m is too big; others: the peer must be dropped).
 */
int
bout_put(struct bout *o, const ProtobufCMessage *m)
{
	uint8_t	buf[WIRE_MSG_MAX];
	size_t	len;
	int	r;

	if (m->descriptor == &hnd__envelope__descriptor)
		len = wire_pack_hnd((const Hnd__Envelope *)m, buf);
	else if (m->descriptor == &bus__envelope__descriptor)
		len = wire_pack_bus((const Bus__Envelope *)m, buf);
	else
		len = wire_pack(m, buf);
	if (len == 0)
		return -EMSGSIZE;
	if (!o->batches)
		return bout_send(o, buf, len);
	if (o->pend == NULL) {
		if ((o->pend = bout_pool) != NULL) {
			bout_pool = o->pend->next;
			bout_pooled--;
		} else if ((o->pend = malloc(sizeof(*o->pend))) == NULL)
			return -ENOMEM;
		wire_batch_reset(o->pend);
		TAILQ_INSERT_TAIL(&bout_dirty, o, dirty);
	}
	if ((r = wire_batch_add(o->pend, buf, len)) <= 0)
		return r;
	/* Full: what is in it goes now, m starts the next one. */
	if ((r = bout_send_batch(o)) < 0)
		return r;
	wire_batch_reset(o->pend);
	(void)wire_batch_add(o->pend, buf, len);
	return 0;
}

/* The peer goes: forget what waits for it. */
void
bout_release(struct bout *o)
{
	if (o->pend == NULL)
		return;
	TAILQ_REMOVE(&bout_dirty, o, dirty);
	bout_pool_put(o->pend);
	o->pend = NULL;
}

/* End of a round: every peer gets what collected for it. */
void
broker_flush(void)
{
	struct bout	*o;
	int		 r;

	while ((o = TAILQ_FIRST(&bout_dirty)) != NULL) {
		TAILQ_REMOVE(&bout_dirty, o, dirty);
		r = bout_send_batch(o);
		bout_pool_put(o->pend);
		o->pend = NULL;
		if (r < 0)
			o->fail(o, r);
	}
}

void
broker_stop(void)
{
	broker.quit = true;
	event_base_loopbreak(broker.base);
}

static void
broker_signal(int sig, short ev, void *arg)
{
	log_info("signal %d: stopping", sig);
	broker_stop();
}

static void
broker_dispatch_sup(int fd, short ev, void *arg)
{
	Sup__Envelope	*env;
	int		 fds[WIRE_FDS_MAX];
	size_t		 nfds, i;
	char		 why[256];
	ssize_t		 n;

	for (;;) {
		nfds = WIRE_FDS_MAX;
		n = wire_recv(fd, broker.rbuf, fds, &nfds);
		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			/* Without a supervisor nobody restarts anything. */
			log_warnx("supervisor link %s: exiting",
			    n == 0 ? "closed" : strerror((int)-n));
			broker_stop();
			return;
		}
		env = sup__envelope__unpack(NULL, n, broker.rbuf);
		if (env == NULL ||
		    validate_from_supervisor(env, why, sizeof(why)) < 0) {
			log_warnx("supervisor link: %s: exiting",
			    env == NULL ? "message does not decode" : why);
			for (i = 0; i < nfds; i++)
				close(fds[i]);
			if (env != NULL)
				sup__envelope__free_unpacked(env, NULL);
			broker_stop();
			return;
		}
		switch (env->body_case) {
		case SUP__ENVELOPE__BODY_CONFIG:
			broker_config(env->config);
			nfds = 0;
			break;
		case SUP__ENVELOPE__BODY_SOCKETS:
			broker_sockets(fds, nfds);
			nfds = 0;
			break;
		case SUP__ENVELOPE__BODY_BUS_LINK:
			broker_bus_link(env->bus_link, fds, nfds);
			nfds = 0;
			break;
		case SUP__ENVELOPE__BODY_BUS_STATE:
			bus_proc_state(env->bus_state->name,
			    env->bus_state->state, env->bus_state->pid,
			    env->bus_state->restarts,
			    env->bus_state->last_exit);
			break;
		default:
			break;
		}
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		sup__envelope__free_unpacked(env, NULL);
	}
}

static void
broker_facts(void)
{
	const struct config	*cfg = &broker.cfg;
	struct bus_facts	*f;

	f = &broker.ctl_facts;
	snprintf(f->name, sizeof(f->name), "ctl");
	f->channel = cfg->ctl_channel;
	f->medium = 12;			/* system interface */
	f->protocol = 0x1c;		/* OEM: our own virtual bus */
	f->max_request = (uint16_t)cfg->max_payload;
	f->max_response = cfg->ctl_max_response;
	f->deadline_ms = cfg->deadline_ms;
	f->deadline_limit_ms = cfg->max_deadline_ms;
	f->max_outstanding = (uint16_t)cfg->inflight_per_bus;

	f = &broker.internal_facts;
	snprintf(f->name, sizeof(f->name), "internal");
	f->channel = cfg->internal_channel;
	f->medium = 12;
	f->protocol = 0x1c;
	f->max_request = (uint16_t)cfg->max_payload;
	f->max_response = (uint16_t)cfg->max_payload;
	f->deadline_ms = cfg->deadline_ms;
	f->deadline_limit_ms = cfg->max_deadline_ms;
	f->max_outstanding = (uint16_t)cfg->inflight_per_handler;
}

static void
broker_config_result(uint64_t generation, bool ok, const char *msg)
{
	Sup__Envelope		env = SUP__ENVELOPE__INIT;
	Sup__ConfigResult	res = SUP__CONFIG_RESULT__INIT;

	res.generation = generation;
	res.ok = ok;
	res.message = (char *)msg;
	env.body_case = SUP__ENVELOPE__BODY_CONFIG_RESULT;
	env.config_result = &res;
	if (wire_send(broker.sup_fd, &env.base, NULL, 0) < 0)
		log_warnx("supervisor link: cannot report config result");
}

static void
broker_config(const Sup__Config *m)
{
	struct config	*cfg;
	char		 err[CONFIG_ERR_MAX];

	if ((cfg = malloc(sizeof(*cfg))) == NULL) {
		broker_config_result(m->generation, false, "out of memory");
		return;
	}
	if (config_from_proto(cfg, m, err, sizeof(err)) < 0) {
		log_warnx("config generation %llu refused: %s",
		    (unsigned long long)m->generation, err);
		broker_config_result(m->generation, false, err);
		free(cfg);
		return;
	}
	broker.cfg = *cfg;
	free(cfg);
	log_setlevel(broker.cfg.log_level);
	broker_facts();
	if (broker.configured)
		handler_config_changed();
	broker.configured = true;
	log_info("config generation %llu from %s in force",
	    (unsigned long long)broker.cfg.generation, broker.cfg.path);
	broker_nofile_check();
	broker_config_result(broker.cfg.generation, true, "");
}

static void
broker_sockets(int *fds, size_t nfds)
{
	size_t	i;

	if (nfds != 2 || broker.hlisten >= 0 || !broker.configured) {
		log_warnx("supervisor link: unexpected sockets message");
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		return;
	}
	broker.hlisten = fds[0];
	broker.clisten = fds[1];
	wire_set_nonblock(broker.hlisten);
	wire_set_nonblock(broker.clisten);
	broker.ev_hlisten = event_new(broker.base, broker.hlisten,
	    EV_READ | EV_PERSIST, handler_accept, NULL);
	broker.ev_clisten = event_new(broker.base, broker.clisten,
	    EV_READ | EV_PERSIST, control_accept, NULL);
	if (broker.ev_hlisten == NULL || broker.ev_clisten == NULL ||
	    event_add(broker.ev_hlisten, NULL) < 0 ||
	    event_add(broker.ev_clisten, NULL) < 0)
		fatalx("cannot listen");
	log_info("serving handlers and control clients");
}

static void
broker_bus_link(const Sup__BusLink *m, int *fds, size_t nfds)
{
	size_t	i;

	if (nfds != 1 || !broker.configured) {
		log_warnx("supervisor link: bus link %s without one fd",
		    m->name);
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		return;
	}
	if (bus_link_add(fds[0], m->name, m->max_inflight, m->deadline_ms) < 0)
		log_warnx("bus %s: cannot add link", m->name);
}

static void
broker_listen_resume(int fd, short ev, void *arg)
{
	event_add(arg, NULL);
}

/*
 * accept() failed for lack of fds (EMFILE/ENFILE): the listener stays
 * readable, so stop watching it for a second instead of spinning. Those
 * waiting stay in the backlog and are served when fds free up.
 */
void
broker_accept_failed(struct event *listener, const char *what)
{
	struct timeval	 tv = { 1, 0 };

	if (errno != EMFILE && errno != ENFILE) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("%s socket: accept", what);
		return;
	}
	log_warn("%s socket: accept (pausing it for a second)", what);
	event_del(listener);
	event_base_once(broker.base, -1, EV_TIMEOUT, broker_listen_resume,
	    listener, &tv);
}

/*
 * One timer serves every deadline. It is re-armed only when a request
 * needs an earlier expiry than the one set; when it fires early (the head
 * was answered meanwhile) it just sets itself for the new head.
 */
void
broker_timer_update(void)
{
	uint64_t	next = inflight_next_deadline(&broker.pool);
	uint64_t	now, d;
	struct timeval	tv;

	if (next == 0 || (broker.timer_at != 0 && broker.timer_at <= next))
		return;
	now = broker_now_ns();
	d = next > now ? next - now : 0;
	tv.tv_sec = (time_t)(d / 1000000000u);
	tv.tv_usec = (suseconds_t)((d % 1000000000u) / 1000) + 1;
	broker.timer_at = next;
	evtimer_add(broker.ev_deadline, &tv);
}

static void
broker_deadline(int fd, short ev, void *arg)
{
	broker.timer_at = 0;
	route_expire(broker_now_ns());
	broker_timer_update();
}

/*
 * Every handler and control connection is an fd: 1,000 handlers need more
 * than the usual soft limit of 1,024. Take the hard limit at start.
 */
static void
broker_nofile_raise(void)
{
	struct rlimit	rl;
	rlim_t		was;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warn("open files: cannot raise the limit from %llu",
		    (unsigned long long)was);
	else
		log_debug("open files: limit raised from %llu to %llu",
		    (unsigned long long)was, (unsigned long long)rl.rlim_cur);
}

/* Say so when the limit cannot hold what the config allows. */
static void
broker_nofile_check(void)
{
	const struct config	*cfg = &broker.cfg;
	struct rlimit		 rl;
	unsigned long long	 need;

	/* Connections, bus links, listeners and the supervisor, plus slack
	 * for libevent's own fds. */
	need = (unsigned long long)cfg->max_handlers + cfg->max_controls +
	    cfg->n_bus + 32;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warnx("open files: the limit is %llu, but max_handlers %u "
		    "and max_controls %u need about %llu; connections past "
		    "it are refused (raise LimitNOFILE)",
		    (unsigned long long)rl.rlim_cur, cfg->max_handlers,
		    cfg->max_controls, need);
}
