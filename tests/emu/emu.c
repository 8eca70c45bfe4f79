/* SPDX-License-Identifier: MIT */
/*
 * The emulator core: one listening SEQPACKET socket per emulated device
 * and one thread serving it. Each accepted connection is the device fd of
 * whoever holds it (the supervisor, and each driver process it hands the
 * fd to); all connections share the one device state, as every holder of
 * a kernel device fd does.
 *
 * The thread polls the listener, the connections and an eventfd (woken
 * by host-side API calls and emu_stop), and ticks the kind at least every
 * 10 ms. A driver call the kind cannot complete stays pending on its
 * connection; after every change of state (a message, a host action, a
 * tick) emu_settle() offers pending calls to the kind again and checks
 * every watch, sending RET and READY as they become due. All device
 * state, the kind included, is under one mutex; the host side calls the
 * kind and settles under it too, so a READY caused by a host action is on
 * the wire before the host call returns.
 */
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "emu-kind.h"
#include "emu-proto.h"

#define EMU_CONNS_MAX	8
#define EMU_IOCTLS_MAX	16
#define EMU_TICK_MS	10

struct emu_conn {
	int		fd;		/* -1: slot free */
	bool		calling;	/* a call is pending */
	struct emu_call	call;
	bool		watching;
	uint64_t	watch_id;
	short		watch_events;
};

struct emu_ioctl_count {
	unsigned long	req;
	unsigned	n;
};

struct emu {
	const struct emu_kind	*k;
	void			*st;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	pthread_t		 thr;
	bool			 running;
	bool			 stop;
	int			 lfd;
	int			 efd;
	char			 path[108];	/* sun_path */
	struct emu_conn		 conns[EMU_CONNS_MAX];
	struct emu_ioctl_count	 ioctls[EMU_IOCTLS_MAX];
	unsigned		 writes;
	unsigned		 refused;
	unsigned		 sessions;
	struct emu_msg		 in;	/* loop thread only */
	struct emu_msg		 out;	/* under mu */
};

uint64_t
emu_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
emu_wake(struct emu *e)
{
	uint64_t	one = 1;

	(void)write(e->efd, &one, sizeof(one));
}

static void
emu_conn_close(struct emu_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->calling = c->watching = false;
}

/* Send one message; a peer that is gone is noticed by the loop. */
static void
emu_send(struct emu_conn *c, const struct emu_msg *m)
{
	if (c->fd < 0)
		return;
	if (send(c->fd, m, EMU_MSG_HDR + m->dlen, MSG_NOSIGNAL) < 0 &&
	    errno != EPIPE && errno != ECONNRESET)
		fprintf(stderr, "emu: send: %s\n", strerror(errno));
}

static void
emu_count_ioctl(struct emu *e, unsigned long req)
{
	size_t	i;

	for (i = 0; i < EMU_IOCTLS_MAX; i++) {
		if (e->ioctls[i].n > 0 && e->ioctls[i].req == req) {
			e->ioctls[i].n++;
			return;
		}
		if (e->ioctls[i].n == 0) {
			e->ioctls[i].req = req;
			e->ioctls[i].n = 1;
			return;
		}
	}
}

static void
emu_reply(struct emu *e, struct emu_conn *c)
{
	struct emu_call	*call = &c->call;
	struct emu_msg	*m = &e->out;

	if (call->op == EMU_OP_WRITE) {
		e->writes++;
		if (call->ret < 0)
			e->refused++;
	} else if (call->op == EMU_OP_IOCTL)
		emu_count_ioctl(e, call->req);
	memset(m, 0, EMU_MSG_HDR);
	m->type = EMU_MSG_RET;
	m->ret = call->ret;
	m->err = call->ret < 0 ? call->err : 0;
	if (call->op == EMU_OP_READ && call->ret > 0) {
		m->dlen = (uint32_t)(call->outlen < EMU_DATA_MAX ?
		    call->outlen : EMU_DATA_MAX);
		memcpy(m->data, call->out, m->dlen);
	}
	c->calling = false;
	emu_send(c, m);
}

/* Offer pending calls until nothing changes, then answer due watches. */
static void
emu_settle(struct emu *e)
{
	struct emu_conn	*c;
	struct emu_msg	*m = &e->out;
	bool		 progress = true;
	short		 rev;
	size_t		 i;

	while (progress) {
		progress = false;
		for (i = 0; i < EMU_CONNS_MAX; i++) {
			c = &e->conns[i];
			if (c->fd < 0 || !c->calling)
				continue;
			if (e->k->call(e->st, &c->call)) {
				emu_reply(e, c);
				progress = true;
			}
		}
	}
	rev = e->k->revents(e->st);
	for (i = 0; i < EMU_CONNS_MAX; i++) {
		c = &e->conns[i];
		if (c->fd < 0 || !c->watching || !(rev & c->watch_events))
			continue;
		memset(m, 0, EMU_MSG_HDR);
		m->type = EMU_MSG_READY;
		m->id = c->watch_id;
		m->arg = (uint64_t)(unsigned short)(rev & c->watch_events);
		c->watching = false;
		emu_send(c, m);
	}
	pthread_cond_broadcast(&e->cv);
}

static int
emu_conn_call(struct emu_conn *c, const struct emu_msg *m)
{
	struct emu_call	*call = &c->call;

	if (c->calling)
		return -1;	/* the client is single threaded */
	call->len = call->dlen = call->outlen = 0;
	call->req = 0;
	call->ret = -1;
	call->err = EIO;
	switch (m->type) {
	case EMU_MSG_READ:
		call->op = EMU_OP_READ;
		call->len = m->arg < EMU_DATA_MAX ? m->arg : EMU_DATA_MAX;
		break;
	case EMU_MSG_WRITE:
		call->op = EMU_OP_WRITE;
		call->len = call->dlen = m->dlen;
		memcpy(call->data, m->data, m->dlen);
		break;
	default:
		call->op = EMU_OP_IOCTL;
		call->req = (unsigned long)m->arg;
		break;
	}
	c->calling = true;
	return 0;
}

/*
 * A new watch replaces the old one and is answered at once with the
 * events it already meets (0: armed; a READY follows when they appear),
 * so a wait with a zero timeout sees the device as poll(2) would.
 */
static void
emu_conn_watch(struct emu *e, struct emu_conn *c, const struct emu_msg *m)
{
	short	rev = e->k->revents(e->st) & (short)m->arg;

	c->watch_id = m->id;
	c->watch_events = (short)m->arg;
	c->watching = rev == 0;
	memset(&e->out, 0, EMU_MSG_HDR);
	e->out.type = EMU_MSG_READY;
	e->out.id = m->id;
	e->out.arg = (uint64_t)(unsigned short)rev;
	emu_send(c, &e->out);
}

/* One message from a connection. Returns -1 to drop it. */
static int
emu_conn_msg(struct emu *e, struct emu_conn *c, const struct emu_msg *m,
    ssize_t n)
{
	if ((size_t)n < EMU_MSG_HDR || m->dlen > EMU_DATA_MAX ||
	    (size_t)n != EMU_MSG_HDR + m->dlen)
		return -1;
	switch (m->type) {
	case EMU_MSG_OPEN:
		/* A new driver: a killed predecessor's call is void. */
		c->calling = c->watching = false;
		e->sessions++;
		memset(&e->out, 0, EMU_MSG_HDR);
		e->out.type = EMU_MSG_OPENED;
		e->out.id = m->id;
		emu_send(c, &e->out);
		return 0;
	case EMU_MSG_READ:
	case EMU_MSG_WRITE:
	case EMU_MSG_IOCTL:
		return emu_conn_call(c, m);
	case EMU_MSG_WATCH:
		emu_conn_watch(e, c, m);
		return 0;
	default:
		return -1;
	}
}

static void
emu_accept(struct emu *e)
{
	size_t	i;
	int	fd;

	if ((fd = accept4(e->lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return;
	for (i = 0; i < EMU_CONNS_MAX; i++)
		if (e->conns[i].fd < 0) {
			e->conns[i].fd = fd;
			return;
		}
	fprintf(stderr, "emu %s: too many connections\n", e->k->name);
	close(fd);
}

static void
emu_conn_read(struct emu *e, struct emu_conn *c)
{
	ssize_t	n;

	for (;;) {
		n = recv(c->fd, &e->in, sizeof(e->in), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0 || emu_conn_msg(e, c, &e->in, n) < 0) {
			emu_conn_close(c);
			return;
		}
		emu_settle(e);
	}
}

static void *
emu_loop(void *arg)
{
	struct emu	*e = arg;
	struct pollfd	 pfd[2 + EMU_CONNS_MAX];
	int		 map[2 + EMU_CONNS_MAX];
	uint64_t	 v;
	nfds_t		 n, i;

	pthread_mutex_lock(&e->mu);
	while (!e->stop) {
		n = 0;
		pfd[n].fd = e->efd;
		pfd[n++].events = POLLIN;
		pfd[n].fd = e->lfd;
		pfd[n++].events = POLLIN;
		for (i = 0; i < EMU_CONNS_MAX; i++)
			if (e->conns[i].fd >= 0) {
				map[n] = (int)i;
				pfd[n].fd = e->conns[i].fd;
				pfd[n++].events = POLLIN;
			}
		pthread_mutex_unlock(&e->mu);
		(void)poll(pfd, n, EMU_TICK_MS);
		pthread_mutex_lock(&e->mu);
		if (pfd[0].revents & POLLIN)
			(void)read(e->efd, &v, sizeof(v));
		if (e->k->tick != NULL)
			e->k->tick(e->st, emu_now_ns());
		emu_settle(e);
		if (pfd[1].revents & POLLIN)
			emu_accept(e);
		for (i = 2; i < n; i++)
			if (pfd[i].revents != 0 && e->conns[map[i]].fd ==
			    pfd[i].fd)
				emu_conn_read(e, &e->conns[map[i]]);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

static const struct emu_kind *
emu_kind_of(enum emu_device kind)
{
	switch (kind) {
#ifdef EMU_HAVE_BT
	case EMU_BT:
		return &emu_kind_bt;
#endif
#ifdef EMU_HAVE_KCS
	case EMU_KCS:
		return &emu_kind_kcs;
#endif
#ifdef EMU_HAVE_IPMB
	case EMU_IPMB:
		return &emu_kind_ipmb;
#endif
#ifdef EMU_HAVE_SSIF
	case EMU_SSIF:
		return &emu_kind_ssif;
#endif
	default:
		return NULL;
	}
}

static int
emu_listen(struct emu *e, const char *path)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	snprintf(e->path, sizeof(e->path), "%s", path);
	e->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (e->lfd < 0)
		return -1;
	(void)unlink(path);
	if (bind(e->lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(e->lfd, 8) < 0)
		return -1;
	return 0;
}

struct emu *
emu_start(enum emu_device kind, const char *path)
{
	struct emu		*e;
	pthread_condattr_t	 ca;
	size_t			 i;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->lfd = e->efd = -1;
	for (i = 0; i < EMU_CONNS_MAX; i++)
		e->conns[i].fd = -1;
	pthread_mutex_init(&e->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((e->k = emu_kind_of(kind)) == NULL ||
	    (e->st = e->k->create()) == NULL ||
	    (e->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    emu_listen(e, path) < 0 ||
	    pthread_create(&e->thr, NULL, emu_loop, e) != 0) {
		emu_stop(e);
		return NULL;
	}
	e->running = true;
	return e;
}

void
emu_stop(struct emu *e)
{
	size_t	i;

	if (e == NULL)
		return;
	if (e->running) {
		pthread_mutex_lock(&e->mu);
		e->stop = true;
		pthread_mutex_unlock(&e->mu);
		emu_wake(e);
		pthread_join(e->thr, NULL);
	}
	for (i = 0; i < EMU_CONNS_MAX; i++)
		emu_conn_close(&e->conns[i]);
	if (e->lfd >= 0) {
		close(e->lfd);
		(void)unlink(e->path);
	}
	if (e->efd >= 0)
		close(e->efd);
	if (e->st != NULL)
		e->k->destroy(e->st);
	pthread_cond_destroy(&e->cv);
	pthread_mutex_destroy(&e->mu);
	free(e);
}

/* ---- host side ---- */

static void
emu_lock(struct emu *e)
{
	pthread_mutex_lock(&e->mu);
}

/* The state changed: answer what became due, then let the loop look. */
static void
emu_unlock(struct emu *e)
{
	emu_settle(e);
	pthread_mutex_unlock(&e->mu);
	emu_wake(e);
}

int
emu_host_request(struct emu *e, const uint8_t *frame, size_t len)
{
	int	r;

	emu_lock(e);
	r = e->k->host_request(e->st, frame, len);
	emu_unlock(e);
	return r;
}

static void
emu_deadline(struct timespec *ts, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000l;
	if (ts->tv_nsec >= 1000000000l) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000l;
	}
}

size_t
emu_host_response(struct emu *e, uint8_t *frame, size_t max, int timeout_ms)
{
	struct timespec	dl;
	size_t		n;

	emu_deadline(&dl, timeout_ms);
	emu_lock(e);
	while ((n = e->k->host_take(e->st, frame, max)) == 0)
		if (pthread_cond_timedwait(&e->cv, &e->mu, &dl) == ETIMEDOUT)
			break;
	emu_unlock(e);
	return n;
}

void
emu_host_hold(struct emu *e, bool hold)
{
	emu_lock(e);
	if (e->k->host_hold != NULL)
		e->k->host_hold(e->st, hold);
	emu_unlock(e);
}

void
emu_host_abort(struct emu *e)
{
	emu_lock(e);
	if (e->k->host_abort != NULL)
		e->k->host_abort(e->st);
	emu_unlock(e);
}

void
emu_signal_next_read(struct emu *e)
{
	emu_lock(e);
	if (e->k->signal_next_read != NULL)
		e->k->signal_next_read(e->st);
	emu_unlock(e);
}

bool
emu_attention(struct emu *e)
{
	bool	v;

	emu_lock(e);
	v = e->k->attention != NULL && e->k->attention(e->st);
	pthread_mutex_unlock(&e->mu);
	return v;
}

void
emu_host_clear_attention(struct emu *e)
{
	emu_lock(e);
	if (e->k->clear_attention != NULL)
		e->k->clear_attention(e->st);
	emu_unlock(e);
}

unsigned
emu_ioctl_count(struct emu *e, unsigned long req)
{
	unsigned	n = 0;
	size_t		i;

	emu_lock(e);
	for (i = 0; i < EMU_IOCTLS_MAX; i++)
		if (e->ioctls[i].n > 0 && e->ioctls[i].req == req)
			n = e->ioctls[i].n;
	pthread_mutex_unlock(&e->mu);
	return n;
}

unsigned
emu_write_count(struct emu *e)
{
	unsigned	n;

	emu_lock(e);
	n = e->writes;
	pthread_mutex_unlock(&e->mu);
	return n;
}

unsigned
emu_refused_count(struct emu *e)
{
	unsigned	n;

	emu_lock(e);
	n = e->refused;
	pthread_mutex_unlock(&e->mu);
	return n;
}

bool
emu_connected(struct emu *e)
{
	bool	v = false;
	size_t	i;

	emu_lock(e);
	for (i = 0; i < EMU_CONNS_MAX; i++)
		if (e->conns[i].fd >= 0)
			v = true;
	pthread_mutex_unlock(&e->mu);
	return v;
}

unsigned
emu_sessions(struct emu *e)
{
	unsigned	n;

	emu_lock(e);
	n = e->sessions;
	pthread_mutex_unlock(&e->mu);
	return n;
}

bool
emu_wait_sessions(struct emu *e, unsigned n, int timeout_ms)
{
	struct timespec	dl;
	bool		ok;

	emu_deadline(&dl, timeout_ms);
	emu_lock(e);
	while (!(ok = e->sessions >= n))
		if (pthread_cond_timedwait(&e->cv, &e->mu, &dl) == ETIMEDOUT) {
			ok = e->sessions >= n;
			break;
		}
	pthread_mutex_unlock(&e->mu);
	return ok;
}
