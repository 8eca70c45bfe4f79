/* SPDX-License-Identifier: MIT */
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>

#include <errno.h>
#include <signal.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "handler.pb-c.h"
#include "wire.h"
#include "wire-hot.h"

/* Built with -fvisibility=hidden: only the public API is exported. */
#pragma GCC visibility push(default)
#include "ipmi/ipmiclient.h"
#pragma GCC visibility pop

/*
 * libipmiclient: one handler's connection to the broker.
 *
 * The application sees one epoll fd that lives as long as the struct
 * ipmic. Behind it sit the SOCK_SEQPACKET socket to the broker (replaced
 * on every reconnect) and a timerfd that drives reconnect backoff and the
 * deadlines of blocking calls. ipmic_dispatch() never blocks: it drains
 * the socket, flushes the output queue and handles the timer. Blocking
 * calls (connect, register, call) are loops of poll() on the epoll fd and
 * ipmic_dispatch(), so requests keep flowing while they wait.
 *
 * Connection states: DOWN (never connected, or given up), BACKOFF (socket
 * closed, timer armed for the next attempt), HELLO (connected, Hello sent,
 * waiting for Welcome; never waited for inside dispatch) and UP. Once
 * ipmic_connect() has succeeded, every loss goes through
 * ipmic_conn_drop(): pending sends fail, received requests turn stale,
 * and the timer retries at once, then after 20 ms doubling to 500 ms.
 * After each later Welcome every remembered key is registered again.
 *
 * The broker is trusted to route but not to be well formed: every message
 * is checked before use, and garbage drops the connection (and reconnects).
 * The broker does not say which registration a request matched, so the
 * library picks the most specific remembered key itself, by the same rule
 * the broker uses. Remembered keys are indexed by netfn, IANA/body and cmd,
 * so that costs two short hash chains however many keys a connection
 * holds (a handler may hold thousands).
 *
 * Unpacking uses an arena; a dispatch nested inside a callback (a blocking
 * call made from a request callback) unpacks into an arena of its own, so
 * the outer message stays intact.
 */

#define IPMIC_VERSION		1
#define IPMIC_BACKOFF_MIN_MS	20
#define IPMIC_BACKOFF_MAX_MS	500
#define IPMIC_QUEUE_LIMIT	1024
#define IPMIC_REQ_CACHE		32
#define IPMIC_ARENA_SIZE	16384
#define IPMIC_NESTED_ARENA	4096
/* Envelope overhead above the data of a Response or Send. */
#define IPMIC_PAYLOAD_DEFAULT	(WIRE_MSG_MAX - 64)
#define IPMIC_CC_UNSPEC		0xc1
#define IPMIC_CC_TOO_BIG	0xca

/* Routing index: any-cmd keys hash under this cmd value. */
#define IPMIC_ANY_CMD		256
#define IPMIC_RHASH_MIN		16

#define IPMIC_EP_SOCK		1
#define IPMIC_EP_TIMER		2
#define IPMIC_EP_STOP		3

enum ipmic_state {
	IPMIC_DOWN,
	IPMIC_BACKOFF,
	IPMIC_HELLO,
	IPMIC_UP,
};

/* A remembered registration. */
struct ipmic_reg {
	struct ipmic_key	 key;		/* normalized */
	uint32_t		 deadline_ms;
	ipmic_request_fn	*fn;
	void			*arg;
	int			 unregistering;
	int			 is_default;	/* the default route, no key */
	TAILQ_ENTRY(ipmic_reg)	 entry;
	struct ipmic_reg	*hnext;		/* routing index chain */
};
TAILQ_HEAD(ipmic_regs, ipmic_reg);

/* The caller of a blocking register/unregister, on its stack. */
struct ipmic_result_wait {
	int			 done;
	int			 status;
	struct ipmic_error	*err;
};

enum ipmic_op_kind {
	IPMIC_OP_REGISTER,
	IPMIC_OP_UNREGISTER,
	IPMIC_OP_REREGISTER,
	IPMIC_OP_SEND,
	IPMIC_OP_ATTENTION,
};

/* Something sent with a tag, waiting for its Result or SendResult. */
struct ipmic_op {
	enum ipmic_op_kind	 kind;
	uint32_t		 tag;
	struct ipmic_reg	*reg;
	struct ipmic_result_wait *wait;
	ipmic_answer_fn		*fn;		/* SEND; NULL: abandoned */
	void			*arg;
	TAILQ_ENTRY(ipmic_op)	 entry;
};
TAILQ_HEAD(ipmic_ops, ipmic_op);

/* A request handed to the application; pub is what it sees. */
struct ipmic_req {
	struct ipmic_request	 pub;
	struct ipmic		*c;
	uint64_t		 id;
	int			 stale;
	TAILQ_ENTRY(ipmic_req)	 entry;
	uint8_t			 buf[WIRE_MSG_MAX];
};
TAILQ_HEAD(ipmic_reqs, ipmic_req);

/* A blocking call's deadline, so the timerfd wakes its poll. */
struct ipmic_wait {
	int64_t			 deadline;	/* ns, monotonic; < 0: none */
	struct ipmic_wait	*next;
};

struct ipmic {
	char			 name[64];
	char			*path;
	int			 epfd;
	int			 sock;
	int			 tfd;
	enum ipmic_state	 state;
	int			 autoconnect;	/* ipmic_connect() succeeded */
	int			 connecting;	/* inside ipmic_connect() */
	int			 connect_err;
	int			 welcomed;	/* some broker welcomed us */
	volatile sig_atomic_t	 stop;
	int			 efd;		/* wakes ipmic_run() */
	int			 pollout;
	int64_t			 retry_at;
	uint32_t		 backoff_ms;
	uint32_t		 max_payload;
	uint64_t		 last_id;
	int			 have_last_id;
	uint32_t		 next_tag;
	size_t			 reregistering;
	struct ipmic_regs	 regs;
	struct ipmic_reg	**rhash;	/* regs by netfn, key, cmd */
	size_t			 rbuckets;	/* a power of two */
	size_t			 nindexed;
	struct ipmic_reg	*dflt;		/* the default route's */
	struct ipmic_ops	 ops;
	struct ipmic_reqs	 reqs;
	struct ipmic_reqs	 cache;
	size_t			 ncache;
	struct ipmic_wait	*waits;
	struct wire_queue	 outq;
	int			 arena_busy;
	struct wire_arena	 arena;
	ipmic_log_fn		*log_fn;
	void			*log_arg;
	ipmic_event_fn		*event_fn;
	void			*event_arg;
	ipmic_bus_event_fn	*bus_fn;
	void			*bus_arg;
	struct wire_rbufs	*rb;		/* the outermost read's */
	int			 reading;	/* ipmic_read() depth */
	int			 batches;	/* the broker takes them */
	struct wire_batch	 batch;		/* while reading: to send */
	uint8_t			 arena_buf[IPMIC_ARENA_SIZE];
};

static int	ipmic_result_done(struct ipmic *, void *);
static void	ipmic_log(struct ipmic *, enum ipmic_log_level, const char *,
		    ...) __attribute__((format(printf, 3, 4)));
static void	ipmic_conn_drop(struct ipmic *, int, const char *);
static int	ipmic_conn_start(struct ipmic *);
static void	ipmic_timer_arm(struct ipmic *);
static int	ipmic_send_env(struct ipmic *, Hnd__Envelope *);
static int	ipmic_flush(struct ipmic *);

/* ---- small helpers ---- */

static void
ipmic_log(struct ipmic *c, enum ipmic_log_level level, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	if (c->log_fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->log_fn(level, msg, c->log_arg);
}

static void
ipmic_emit(struct ipmic *c, enum ipmic_event ev, const struct ipmic_key *key)
{
	if (c->event_fn != NULL)
		c->event_fn(c, ev, key, c->event_arg);
}

static int64_t
ipmic_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Copy and cut src to size - 1 bytes (it runs per request: no printf). */
static void
ipmic_strcpy(char *dst, size_t size, const char *src)
{
	size_t	n;

	if (src == NULL)
		src = "";
	n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static uint32_t
ipmic_tag(struct ipmic *c)
{
	if (++c->next_tag == 0)
		c->next_tag = 1;
	return c->next_tag;
}

static void
ipmic_key_normalize(struct ipmic_key *k)
{
	if (k->lun_mask == 0)
		k->lun_mask = IPMIC_LUN_ALL;
	if (k->channel_mask == 0)
		k->channel_mask = IPMIC_CHANNEL_ALL;
	if (k->any_cmd)
		k->cmd = 0;
	if (k->netfn != IPMIC_NETFN_OEM)
		k->iana = 0;
	if (k->netfn != IPMIC_NETFN_GROUP)
		k->body = 0;
}

static int
ipmic_key_equal(const struct ipmic_key *a, const struct ipmic_key *b)
{
	return a->netfn == b->netfn && a->any_cmd == b->any_cmd &&
	    a->cmd == b->cmd && a->iana == b->iana && a->body == b->body &&
	    a->lun_mask == b->lun_mask && a->channel_mask == b->channel_mask;
}

static void
ipmic_key_to_wire(const struct ipmic_key *k, Hnd__Key *w)
{
	w->netfn = k->netfn;
	w->any_cmd = k->any_cmd;
	w->cmd = k->cmd;
	w->iana = k->iana;
	w->body = k->body;
	w->lun_mask = k->lun_mask;
	w->channel_mask = k->channel_mask;
}

/* Only for reporting the holder's key: out-of-range bits are cut off. */
static void
ipmic_key_from_wire(const Hnd__Key *w, struct ipmic_key *k)
{
	memset(k, 0, sizeof(*k));
	if (w == NULL)
		return;
	k->netfn = w->netfn & 0xff;
	k->any_cmd = w->any_cmd;
	k->cmd = w->cmd & 0xff;
	k->iana = w->iana & 0xffffff;
	k->body = w->body & 0xff;
	k->lun_mask = w->lun_mask & IPMIC_LUN_ALL;
	k->channel_mask = w->channel_mask & 0xffff;
}

/* ---- the routing index ---- */

static uint32_t
ipmic_key_value(const struct ipmic_key *k)
{
	if (k->netfn == IPMIC_NETFN_OEM)
		return k->iana;
	if (k->netfn == IPMIC_NETFN_GROUP)
		return k->body;
	return 0;
}

static size_t
ipmic_rhash_index(size_t nb, uint8_t netfn, uint32_t key, unsigned int cmd)
{
	uint32_t	h = ((uint32_t)netfn << 9 | cmd) ^ (key * 2654435761u);

	return (h ^ (h >> 16)) & (nb - 1);
}

/* Append reg to its chain (keeping the order keys were accepted in). */
static void
ipmic_rhash_put(struct ipmic_reg **t, size_t nb, struct ipmic_reg *reg)
{
	struct ipmic_reg	**pp;

	pp = &t[ipmic_rhash_index(nb, reg->key.netfn,
	    ipmic_key_value(&reg->key), reg->key.any_cmd ? IPMIC_ANY_CMD :
	    reg->key.cmd)];
	while (*pp != NULL)
		pp = &(*pp)->hnext;
	reg->hnext = NULL;
	*pp = reg;
}

/* Twice the buckets, filled again from c->regs; false when out of
 * memory (the chains just grow longer). */
static bool
ipmic_rhash_grow(struct ipmic *c)
{
	struct ipmic_reg	**t, *reg;
	size_t			  nb = c->rbuckets * 2;

	if ((t = calloc(nb, sizeof(*t))) == NULL)
		return false;
	TAILQ_FOREACH(reg, &c->regs, entry)
		if (!reg->is_default)
			ipmic_rhash_put(t, nb, reg);
	free(c->rhash);
	c->rhash = t;
	c->rbuckets = nb;
	return true;
}

/* The broker accepted reg: remember it. */
static void
ipmic_reg_link(struct ipmic *c, struct ipmic_reg *reg)
{
	TAILQ_INSERT_TAIL(&c->regs, reg, entry);
	if (reg->is_default) {
		c->dflt = reg;
		return;
	}
	/* Growing refills the index from c->regs, reg included. */
	if (++c->nindexed > c->rbuckets && ipmic_rhash_grow(c))
		return;
	ipmic_rhash_put(c->rhash, c->rbuckets, reg);
}

/* Forget reg (the caller frees it). */
static void
ipmic_reg_unlink(struct ipmic *c, struct ipmic_reg *reg)
{
	struct ipmic_reg	**pp, *r;

	TAILQ_REMOVE(&c->regs, reg, entry);
	if (reg->is_default) {
		if (c->dflt == reg) {
			c->dflt = NULL;
			TAILQ_FOREACH(r, &c->regs, entry)
				if (r->is_default)
					c->dflt = r;
		}
		return;
	}
	pp = &c->rhash[ipmic_rhash_index(c->rbuckets, reg->key.netfn,
	    ipmic_key_value(&reg->key), reg->key.any_cmd ? IPMIC_ANY_CMD :
	    reg->key.cmd)];
	for (; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == reg) {
			*pp = reg->hnext;
			c->nindexed--;
			break;
		}
}

/* ---- timer and waits ---- */

/* Arm the timerfd for the next backoff retry or blocking-call deadline. */
static void
ipmic_timer_arm(struct ipmic *c)
{
	struct itimerspec	 its;
	struct ipmic_wait	*w;
	int64_t			 when = -1;

	if (c->state == IPMIC_BACKOFF)
		when = c->retry_at;
	for (w = c->waits; w != NULL; w = w->next)
		if (w->deadline >= 0 && (when < 0 || w->deadline < when))
			when = w->deadline;
	memset(&its, 0, sizeof(its));
	if (when >= 0) {
		if (when == 0)
			when = 1;	/* 0 would disarm */
		its.it_value.tv_sec = when / 1000000000;
		its.it_value.tv_nsec = when % 1000000000;
	}
	if (timerfd_settime(c->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		ipmic_log(c, IPMIC_LOG_ERR, "timerfd_settime: %s",
		    strerror(errno));
}

static void
ipmic_retry_later(struct ipmic *c, uint32_t delay_ms)
{
	c->state = IPMIC_BACKOFF;
	c->retry_at = ipmic_now() + (int64_t)delay_ms * 1000000;
	ipmic_timer_arm(c);
}

/* Schedule the next attempt with the current backoff, then grow it. */
static void
ipmic_backoff(struct ipmic *c)
{
	uint32_t	delay = c->backoff_ms;

	c->backoff_ms = c->backoff_ms * 2 > IPMIC_BACKOFF_MAX_MS ?
	    IPMIC_BACKOFF_MAX_MS : c->backoff_ms * 2;
	ipmic_retry_later(c, delay);
}

static void
ipmic_timer_fire(struct ipmic *c)
{
	uint64_t	ticks;
	int		r;

	if (read(c->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		ipmic_log(c, IPMIC_LOG_ERR, "timerfd read: %s",
		    strerror(errno));
	if (c->state == IPMIC_BACKOFF && ipmic_now() >= c->retry_at) {
		if ((r = ipmic_conn_start(c)) < 0) {
			if (c->connecting && r != -ENOENT &&
			    r != -ECONNREFUSED && r != -EAGAIN) {
				c->connect_err = r;
				c->state = IPMIC_DOWN;
			} else
				ipmic_backoff(c);
		}
	}
	ipmic_timer_arm(c);
}

/*
 * Run poll + dispatch until done(c, arg) or timeout_ms (< 0: none).
 * Returns 0, -ETIMEDOUT or a negative errno from poll/dispatch.
 */
static int
ipmic_block(struct ipmic *c, int (*done)(struct ipmic *, void *), void *arg,
    int timeout_ms)
{
	struct ipmic_wait	w;
	struct pollfd		pfd;
	int64_t			left;
	int			r = 0, ms;

	/* Called from a callback inside a read, what we wait on may still
	 * sit in the batch. */
	(void)ipmic_flush(c);
	w.deadline = timeout_ms < 0 ? -1 :
	    ipmic_now() + (int64_t)timeout_ms * 1000000;
	w.next = c->waits;
	c->waits = &w;
	ipmic_timer_arm(c);
	while (!done(c, arg)) {
		ms = -1;
		if (w.deadline >= 0) {
			if ((left = w.deadline - ipmic_now()) <= 0) {
				r = -ETIMEDOUT;
				break;
			}
			ms = (int)((left + 999999) / 1000000);
		}
		pfd.fd = c->epfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, ms) < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		if ((r = ipmic_dispatch(c)) < 0)
			break;
	}
	c->waits = w.next;
	ipmic_timer_arm(c);
	return r;
}

/* ---- requests objects ---- */

static struct ipmic_req *
ipmic_req_get(struct ipmic *c)
{
	struct ipmic_req	*req;

	if ((req = TAILQ_FIRST(&c->cache)) != NULL) {
		TAILQ_REMOVE(&c->cache, req, entry);
		c->ncache--;
	} else if ((req = malloc(sizeof(*req))) == NULL)
		return NULL;
	memset(&req->pub, 0, sizeof(req->pub));
	req->c = c;
	req->stale = 0;
	TAILQ_INSERT_TAIL(&c->reqs, req, entry);
	return req;
}

static void
ipmic_req_put(struct ipmic *c, struct ipmic_req *req)
{
	TAILQ_REMOVE(&c->reqs, req, entry);
	if (c->ncache < IPMIC_REQ_CACHE) {
		TAILQ_INSERT_HEAD(&c->cache, req, entry);
		c->ncache++;
	} else
		free(req);
}

/* ---- connection ---- */

static void
ipmic_sock_close(struct ipmic *c)
{
	if (c->sock >= 0) {
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->sock, NULL);
		close(c->sock);
		c->sock = -1;
	}
	wire_queue_deinit(&c->outq);
	wire_queue_init(&c->outq, IPMIC_QUEUE_LIMIT);
	c->pollout = 0;
	c->batches = 0;
	wire_batch_reset(&c->batch);
}

/* Watch for EPOLLOUT exactly while the output queue holds something. */
static void
ipmic_pollout(struct ipmic *c)
{
	struct epoll_event	ev;
	int			want = c->outq.count > 0;

	if (c->sock < 0 || want == c->pollout)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (want ? EPOLLOUT : 0);
	ev.data.u32 = IPMIC_EP_SOCK;
	if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, c->sock, &ev) < 0)
		ipmic_log(c, IPMIC_LOG_ERR, "epoll_ctl: %s", strerror(errno));
	else
		c->pollout = want;
}

/* Send a packed datagram now, or queue it behind what waits. */
static int
ipmic_send_raw(struct ipmic *c, const uint8_t *buf, size_t len)
{
	int	r;

	r = wire_queue_send(&c->outq, c->sock, buf, len);
	ipmic_pollout(c);
	if (r == -EPIPE || r == -ECONNRESET)
		r = -ENOTCONN;
	return r;
}

/* Send what the callbacks of this read produced, as one datagram. */
static int
ipmic_flush(struct ipmic *c)
{
	const uint8_t	*d;
	size_t		 len;
	int		 r;

	if (c->batch.count == 0)
		return 0;
	d = wire_batch_datagram(&c->batch, &len);
	r = c->sock >= 0 ? ipmic_send_raw(c, d, len) : -ENOTCONN;
	wire_batch_reset(&c->batch);
	if (r < 0 && r != -ENOTCONN)
		ipmic_log(c, IPMIC_LOG_WARN, "send: %s", strerror(-r));
	return r;
}

/*
 * Inside a read (answers from callbacks, mostly) envelopes collect and go
 * out together when the read ends; otherwise each goes at once.
 */
static int
ipmic_send_env(struct ipmic *c, Hnd__Envelope *env)
{
	uint8_t	buf[WIRE_MSG_MAX];
	size_t	len;
	int	r;

	if (c->sock < 0)
		return -ENOTCONN;
	if ((len = wire_pack_hnd(env, buf)) == 0)
		return -EMSGSIZE;
	if (!c->batches || c->reading == 0)
		return ipmic_send_raw(c, buf, len);
	if ((r = wire_batch_add(&c->batch, buf, len)) <= 0)
		return r;
	if ((r = ipmic_flush(c)) < 0)
		return r;
	(void)wire_batch_add(&c->batch, buf, len);
	return 0;
}

/* One connect attempt; on success Hello is on its way. */
static int
ipmic_conn_start(struct ipmic *c)
{
	struct sockaddr_un	 sun;
	struct epoll_event	 ev;
	Hnd__Envelope		 env = HND__ENVELOPE__INIT;
	Hnd__Hello		 hello = HND__HELLO__INIT;
	int			 fd, r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(c->path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, c->path, strlen(c->path));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		r = -errno;
		close(fd);
		ipmic_log(c, IPMIC_LOG_DEBUG, "connect %s: %s", c->path,
		    strerror(-r));
		return r;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u32 = IPMIC_EP_SOCK;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	c->sock = fd;
	c->pollout = 0;
	c->state = IPMIC_HELLO;
	hello.version = IPMIC_VERSION;
	hello.name = c->name;
	hello.batches = 1;
	env.body_case = HND__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	if ((r = ipmic_send_env(c, &env)) < 0) {
		ipmic_sock_close(c);
		c->state = IPMIC_DOWN;
		return r;
	}
	ipmic_log(c, IPMIC_LOG_DEBUG, "connected to %s, hello sent", c->path);
	return 0;
}

/* Fail everything tied to the lost connection. Runs user callbacks. */
static void
ipmic_conn_fail_ops(struct ipmic *c)
{
	struct ipmic_op		*op;
	struct ipmic_req	*req;

	TAILQ_FOREACH(req, &c->reqs, entry)
		req->stale = 1;
	c->reregistering = 0;
	while ((op = TAILQ_FIRST(&c->ops)) != NULL) {
		TAILQ_REMOVE(&c->ops, op, entry);
		switch (op->kind) {
		case IPMIC_OP_REGISTER:
			free(op->reg);
			op->wait->status = -ECONNRESET;
			op->wait->done = 1;
			break;
		case IPMIC_OP_UNREGISTER:
			/* The broker forgot it anyway; never register again. */
			if (op->reg != NULL) {
				ipmic_reg_unlink(c, op->reg);
				free(op->reg);
			}
			op->wait->status = 0;
			op->wait->done = 1;
			break;
		case IPMIC_OP_REREGISTER:
			break;
		case IPMIC_OP_ATTENTION:
			op->wait->status = -ECONNRESET;
			op->wait->done = 1;
			break;
		case IPMIC_OP_SEND:
			if (op->fn != NULL)
				op->fn(c, -ECONNRESET, 0, NULL, 0, op->arg);
			break;
		}
		free(op);
	}
}

/*
 * The connection (or the attempt) ended. fatal is the error a running
 * ipmic_connect() returns; 0 means "retry".
 */
static void
ipmic_conn_drop(struct ipmic *c, int fatal, const char *why)
{
	int	was_up = c->state == IPMIC_UP;

	ipmic_log(c, was_up ? IPMIC_LOG_WARN : IPMIC_LOG_INFO,
	    "connection to broker %s %s: %s", c->path,
	    was_up ? "lost" : "failed", why);
	ipmic_sock_close(c);
	if (c->connecting && fatal != 0) {
		c->connect_err = fatal;
		c->state = IPMIC_DOWN;
		ipmic_timer_arm(c);
	} else if (!c->connecting && !c->autoconnect) {
		c->state = IPMIC_DOWN;
		ipmic_timer_arm(c);
	} else if (was_up) {
		c->backoff_ms = IPMIC_BACKOFF_MIN_MS;
		ipmic_retry_later(c, 0);
	} else
		ipmic_backoff(c);
	if (was_up) {
		ipmic_conn_fail_ops(c);
		ipmic_emit(c, IPMIC_EV_DISCONNECTED, NULL);
	}
}

/* ---- messages from the broker ---- */

static int
ipmic_send_register(struct ipmic *c, enum ipmic_op_kind kind,
    struct ipmic_reg *reg, const struct ipmic_key *key, uint32_t deadline_ms,
    struct ipmic_result_wait *wait)
{
	Hnd__Envelope	 env = HND__ENVELOPE__INIT;
	Hnd__Register	 rm = HND__REGISTER__INIT;
	Hnd__Unregister	 um = HND__UNREGISTER__INIT;
	Hnd__Key	 wk = HND__KEY__INIT;
	struct ipmic_op	*op;
	int		 r;

	if ((op = calloc(1, sizeof(*op))) == NULL)
		return -ENOMEM;
	op->kind = kind;
	op->tag = ipmic_tag(c);
	op->reg = reg;
	op->wait = wait;
	ipmic_key_to_wire(key, &wk);
	if (reg != NULL && reg->is_default) {
		um.default_route = rm.default_route = 1;
		um.key = rm.key = NULL;
	}
	if (kind == IPMIC_OP_UNREGISTER) {
		um.tag = op->tag;
		if (!um.default_route)
			um.key = &wk;
		env.body_case = HND__ENVELOPE__BODY_UNREGISTER;
		env.unregister = &um;
	} else {
		rm.tag = op->tag;
		if (!rm.default_route)
			rm.key = &wk;
		rm.deadline_ms = deadline_ms;
		env.body_case = HND__ENVELOPE__BODY_REGISTER;
		env.register_ = &rm;
	}
	if ((r = ipmic_send_env(c, &env)) < 0) {
		free(op);
		return r;
	}
	TAILQ_INSERT_TAIL(&c->ops, op, entry);
	return 0;
}

static void
ipmic_reregister(struct ipmic *c)
{
	struct ipmic_reg	*reg;
	int			 r;

	c->reregistering = 0;
	TAILQ_FOREACH(reg, &c->regs, entry) {
		if (reg->unregistering)
			continue;
		r = ipmic_send_register(c, IPMIC_OP_REREGISTER, reg, &reg->key,
		    reg->deadline_ms, NULL);
		if (r < 0) {
			ipmic_conn_drop(c, 0, "cannot send register again");
			return;
		}
		c->reregistering++;
	}
	if (c->reregistering == 0)
		ipmic_emit(c, IPMIC_EV_REGISTERED_AGAIN, NULL);
}

static const char *
ipmic_on_welcome(struct ipmic *c, const Hnd__Welcome *m, int *fatal)
{
	int	again;

	if (c->state != IPMIC_HELLO)
		return "welcome after welcome";
	if (m->version != IPMIC_VERSION) {
		*fatal = -EPROTO;
		ipmic_log(c, IPMIC_LOG_ERR, "broker speaks version %u, we %d",
		    m->version, IPMIC_VERSION);
		return "protocol version mismatch";
	}
	c->state = IPMIC_UP;
	c->batches = m->batches;
	c->backoff_ms = IPMIC_BACKOFF_MIN_MS;
	c->max_payload = m->max_payload;
	if (c->max_payload == 0 || c->max_payload > IPMIC_PAYLOAD_DEFAULT)
		c->max_payload = IPMIC_PAYLOAD_DEFAULT;
	c->have_last_id = 0;
	again = c->welcomed;
	c->welcomed = 1;
	ipmic_log(c, IPMIC_LOG_INFO, "welcomed by broker pid %u",
	    m->broker_pid);
	ipmic_emit(c, IPMIC_EV_CONNECTED, NULL);
	if (again && c->state == IPMIC_UP)
		ipmic_reregister(c);
	return NULL;
}

static void
ipmic_on_goodbye(struct ipmic *c, const Hnd__Goodbye *m)
{
	char	why[300];

	snprintf(why, sizeof(why), "goodbye from broker: %s",
	    m->reason != NULL ? m->reason : "");
	ipmic_conn_drop(c, c->state == IPMIC_HELLO ? -ECONNREFUSED : 0, why);
}

static struct ipmic_op *
ipmic_op_find(struct ipmic *c, uint32_t tag)
{
	struct ipmic_op	*op;

	TAILQ_FOREACH(op, &c->ops, entry)
		if (op->tag == tag)
			return op;
	return NULL;
}

static void
ipmic_result_error(const Hnd__Result *m, struct ipmic_error *err)
{
	if (err == NULL)
		return;
	memset(err, 0, sizeof(*err));
	err->code = m->status;
	ipmic_strcpy(err->message, sizeof(err->message), m->message);
	ipmic_strcpy(err->holder_name, sizeof(err->holder_name),
	    m->holder_name);
	err->holder_pid = m->holder_pid;
	ipmic_key_from_wire(m->overlap, &err->overlap);
}

static void
ipmic_on_rereg_result(struct ipmic *c, struct ipmic_op *op,
    const Hnd__Result *m)
{
	struct ipmic_key	key;

	if (op->reg != NULL && m->status != HND__STATUS__OK) {
		key = op->reg->key;
		ipmic_log(c, IPMIC_LOG_WARN,
		    "register 0x%02x/0x%02x again: refused: %s",
		    key.netfn, key.cmd, m->message);
		ipmic_reg_unlink(c, op->reg);
		free(op->reg);
		ipmic_emit(c, IPMIC_EV_REGISTRATION_LOST, &key);
	}
	if (c->reregistering > 0 && --c->reregistering == 0)
		ipmic_emit(c, IPMIC_EV_REGISTERED_AGAIN, NULL);
}

static const char *
ipmic_on_result(struct ipmic *c, const Hnd__Result *m)
{
	struct ipmic_op	*op;

	if (m->status < HND__STATUS__OK || m->status > HND__STATUS__NO_BUS)
		return "result status out of range";
	if ((op = ipmic_op_find(c, m->tag)) == NULL) {
		ipmic_log(c, IPMIC_LOG_WARN, "result for unknown tag %u",
		    m->tag);
		return NULL;
	}
	if (op->kind == IPMIC_OP_SEND)
		return "result for a send";
	TAILQ_REMOVE(&c->ops, op, entry);
	switch (op->kind) {
	case IPMIC_OP_ATTENTION:
		ipmic_result_error(m, op->wait->err);
		op->wait->status = m->status;
		op->wait->done = 1;
		break;
	case IPMIC_OP_REGISTER:
		if (m->status == HND__STATUS__OK)
			ipmic_reg_link(c, op->reg);
		else
			free(op->reg);
		ipmic_result_error(m, op->wait->err);
		op->wait->status = m->status;
		op->wait->done = 1;
		break;
	case IPMIC_OP_UNREGISTER:
		if (op->reg != NULL && (m->status == HND__STATUS__OK ||
		    m->status == HND__STATUS__NOT_FOUND)) {
			ipmic_reg_unlink(c, op->reg);
			free(op->reg);
		} else if (op->reg != NULL)
			op->reg->unregistering = 0;
		ipmic_result_error(m, op->wait->err);
		op->wait->status = m->status;
		op->wait->done = 1;
		break;
	case IPMIC_OP_REREGISTER:
		ipmic_on_rereg_result(c, op, m);
		break;
	case IPMIC_OP_SEND:
		break;
	}
	free(op);
	return NULL;
}

static const char *
ipmic_on_send_result(struct ipmic *c, const Hnd__SendResult *m)
{
	struct ipmic_op	*op;

	if (m->cc > 0xff)
		return "send result cc out of range";
	if (m->data.len > WIRE_MSG_MAX)
		return "send result data too long";
	if ((op = ipmic_op_find(c, m->tag)) == NULL) {
		ipmic_log(c, IPMIC_LOG_WARN, "send result for unknown tag %u",
		    m->tag);
		return NULL;
	}
	if (op->kind != IPMIC_OP_SEND)
		return "send result for a registration";
	TAILQ_REMOVE(&c->ops, op, entry);
	if (op->fn != NULL)
		op->fn(c, 0, m->cc, m->data.data, m->data.len, op->arg);
	free(op);
	return NULL;
}

static int
ipmic_popcount(unsigned int v)
{
	return __builtin_popcount(v);
}

/* Whether a is more specific than b (both match the request). */
static int
ipmic_key_better(const struct ipmic_key *a, const struct ipmic_key *b)
{
	if (a->any_cmd != b->any_cmd)
		return !a->any_cmd;
	if (a->lun_mask != b->lun_mask)
		return ipmic_popcount(a->lun_mask) <
		    ipmic_popcount(b->lun_mask);
	return ipmic_popcount(a->channel_mask) <
	    ipmic_popcount(b->channel_mask);
}

/* The most specific remembered registration serving this request: the
 * candidates are the keys of its exact cmd and the any-cmd keys, each in
 * one chain of the index. */
static struct ipmic_reg *
ipmic_route(struct ipmic *c, const struct ipmic_request *r)
{
	struct ipmic_reg	*reg, *best = NULL;
	const struct ipmic_key	*k;
	uint32_t		 key = 0;
	unsigned int		 cmd, pass;

	if (r->netfn == IPMIC_NETFN_OEM) {
		if (r->len < 3)
			return c->dflt;
		key = r->data[0] | r->data[1] << 8 |
		    (uint32_t)r->data[2] << 16;
	} else if (r->netfn == IPMIC_NETFN_GROUP) {
		if (r->len < 1)
			return c->dflt;
		key = r->data[0];
	}
	for (pass = 0; pass < 2; pass++) {
		cmd = pass == 0 ? r->cmd : IPMIC_ANY_CMD;
		reg = c->rhash[ipmic_rhash_index(c->rbuckets, r->netfn, key,
		    cmd)];
		for (; reg != NULL; reg = reg->hnext) {
			k = &reg->key;
			if (k->netfn != r->netfn || ipmic_key_value(k) != key ||
			    (pass == 0 ? k->any_cmd || k->cmd != r->cmd :
			    !k->any_cmd) ||
			    (k->lun_mask & (1u << r->lun)) == 0 ||
			    (k->channel_mask & (1u << r->channel)) == 0)
				continue;
			if (best == NULL || ipmic_key_better(k, &best->key))
				best = reg;
		}
	}
	return best != NULL ? best : c->dflt;
}

/* Bytes echoed after the CC of a fallback answer: IANA or body code. */
static size_t
ipmic_echo_len(const struct ipmic_request *r)
{
	if (r->netfn == IPMIC_NETFN_OEM && r->len >= 3)
		return 3;
	if (r->netfn == IPMIC_NETFN_GROUP && r->len >= 1)
		return 1;
	return 0;
}

static int
ipmic_send_response(struct ipmic *c, uint64_t id, uint8_t cc,
    const void *data, size_t len)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__Response	rsp = HND__RESPONSE__INIT;

	rsp.id = id;
	rsp.cc = cc;
	rsp.data.data = (uint8_t *)data;
	rsp.data.len = len;
	env.body_case = HND__ENVELOPE__BODY_RESPONSE;
	env.response = &rsp;
	return ipmic_send_env(c, &env);
}

static const char *
ipmic_request_check(struct ipmic *c, const Hnd__Request *m)
{
	if ((m->netfn & 1) != 0 || m->netfn > 0x3e)
		return "request netfn out of range";
	if (m->lun > 3)
		return "request lun out of range";
	if (m->cmd > 0xff)
		return "request cmd out of range";
	if (m->channel > 15)
		return "request channel out of range";
	if (m->data.len > WIRE_MSG_MAX)
		return "request data too long";
	if (m->facts != NULL && (m->facts->medium > 0xff ||
	    m->facts->protocol > 0xff))
		return "request bus facts out of range";
	if (c->have_last_id && m->id <= c->last_id)
		return "request id not increasing";
	return NULL;
}

static uint16_t
ipmic_u16(uint32_t v)
{
	return v > 0xffff ? 0xffff : v;
}

static void
ipmic_request_fill(struct ipmic_req *req, const Hnd__Request *m)
{
	struct ipmic_request	*r = &req->pub;
	const Hnd__BusFacts	*f = m->facts;

	req->id = m->id;
	if (m->data.len > 0)
		memcpy(req->buf, m->data.data, m->data.len);
	r->netfn = m->netfn;
	r->lun = m->lun;
	r->cmd = m->cmd;
	r->channel = m->channel;
	r->data = req->buf;
	r->len = m->data.len;
	r->deadline_ms = m->deadline_ms;
	r->origin_pid = m->origin_pid;
	if (f == NULL)
		return;
	ipmic_strcpy(r->facts.bus, sizeof(r->facts.bus), f->bus);
	r->facts.medium = f->medium;
	r->facts.protocol = f->protocol;
	r->facts.max_request = ipmic_u16(f->max_request);
	r->facts.max_response = ipmic_u16(f->max_response);
	r->facts.deadline_ms = f->deadline_ms;
	r->facts.max_outstanding = ipmic_u16(f->max_outstanding);
}

static const char *
ipmic_on_request(struct ipmic *c, const Hnd__Request *m)
{
	struct ipmic_req	*req;
	struct ipmic_reg	*reg;
	const char		*why;

	if ((why = ipmic_request_check(c, m)) != NULL)
		return why;
	c->last_id = m->id;
	c->have_last_id = 1;
	if ((req = ipmic_req_get(c)) == NULL) {
		ipmic_log(c, IPMIC_LOG_ERR, "request %llu: out of memory",
		    (unsigned long long)m->id);
		return NULL;	/* the broker answers on our deadline */
	}
	ipmic_request_fill(req, m);
	if ((reg = ipmic_route(c, &req->pub)) == NULL) {
		ipmic_log(c, IPMIC_LOG_WARN,
		    "request 0x%02x/0x%02x lun %u channel %u: no registration",
		    req->pub.netfn, req->pub.cmd, req->pub.lun,
		    req->pub.channel);
		ipmic_reply_cc(&req->pub, IPMIC_CC_UNSPEC);
		return NULL;
	}
	reg->fn(c, &req->pub, reg->arg);
	return NULL;
}

static void
ipmic_on_event(struct ipmic *c, const Hnd__Event *m)
{
	enum ipmic_bus_event	ev;

	switch (m->kind) {
	case HND__EVENT_KIND__EVENT_HOST_RESET:
		ev = IPMIC_BUS_HOST_RESET;
		break;
	case HND__EVENT_KIND__EVENT_BUS_UP:
		ev = IPMIC_BUS_UP;
		break;
	case HND__EVENT_KIND__EVENT_BUS_DOWN:
		ev = IPMIC_BUS_DOWN;
		break;
	default:
		return;		/* a newer broker's event: not for us */
	}
	if (c->bus_fn != NULL)
		c->bus_fn(c, ev, m->bus != NULL ? m->bus : "", c->bus_arg);
}

/* One datagram from the broker: unpack, check, dispatch. */
static void
ipmic_handle(struct ipmic *c, const uint8_t *buf, size_t len)
{
	uint8_t			 nbuf[IPMIC_NESTED_ARENA];
	struct wire_arena	 nested, *a = &c->arena;
	Hnd__Envelope		*env;
	const char		*why = NULL;
	int			 fatal = -EPROTO, nest = c->arena_busy;

	if (nest) {
		wire_arena_init(&nested, nbuf, sizeof(nbuf));
		a = &nested;
	}
	c->arena_busy = 1;
	if ((env = (Hnd__Envelope *)wire_unpack(&hnd__envelope__descriptor,
	    &a->alloc, buf, len)) == NULL)
		why = "undecodable message";
	else if (c->state == IPMIC_HELLO) {
		if (env->body_case == HND__ENVELOPE__BODY_WELCOME)
			why = ipmic_on_welcome(c, env->welcome, &fatal);
		else if (env->body_case == HND__ENVELOPE__BODY_GOODBYE)
			ipmic_on_goodbye(c, env->goodbye);
		else
			why = "message before welcome";
	} else {
		switch (env->body_case) {
		case HND__ENVELOPE__BODY_WELCOME:
			why = ipmic_on_welcome(c, env->welcome, &fatal);
			break;
		case HND__ENVELOPE__BODY_RESULT:
			why = ipmic_on_result(c, env->result);
			break;
		case HND__ENVELOPE__BODY_REQUEST:
			why = ipmic_on_request(c, env->request);
			break;
		case HND__ENVELOPE__BODY_SEND_RESULT:
			why = ipmic_on_send_result(c, env->send_result);
			break;
		case HND__ENVELOPE__BODY_GOODBYE:
			ipmic_on_goodbye(c, env->goodbye);
			break;
		case HND__ENVELOPE__BODY_EVENT:
			ipmic_on_event(c, env->event);
			break;
		default:
			why = "message a broker may not send";
			break;
		}
	}
	wire_arena_reset(a);
	c->arena_busy = nest;
	if (why != NULL) {
		ipmic_log(c, IPMIC_LOG_ERR, "garbage from broker: %s", why);
		ipmic_conn_drop(c, fatal, why);
	}
}

/* A datagram from the broker: one envelope or a batch of them. */
static void
ipmic_datagram(struct ipmic *c, const uint8_t *buf, size_t len)
{
	struct wire_walk	 w;
	const uint8_t		*e;
	const char		*why;
	char			 msg[96];
	size_t			 elen;
	int			 r, sock = c->sock;

	wire_walk_init(&w, buf, len);
	while ((r = wire_walk_next(&w, &e, &elen, &why)) > 0) {
		ipmic_handle(c, e, elen);
		if (c->sock != sock)
			return;		/* dropped, or reconnected meanwhile */
	}
	if (r < 0) {
		snprintf(msg, sizeof(msg), "malformed batch: %s", why);
		ipmic_log(c, IPMIC_LOG_ERR, "garbage from broker: %s", msg);
		ipmic_conn_drop(c, -EPROTO, msg);
	}
}

/*
 * Drain the socket (or until the connection goes); answers the callbacks
 * give meanwhile go out together at the end. A callback that blocks (a
 * nested ipmic_call()) reads with buffers of its own. Returns the number
 * of datagrams handled.
 */
static int
ipmic_read(struct ipmic *c)
{
	struct wire_rbufs	*rb = c->rb;
	ssize_t			 len;
	char			 why[128];
	int			 i, n, got = 0, sock = c->sock;

	if (c->reading > 0 && (rb = wire_rbufs_new(2)) == NULL) {
		ipmic_log(c, IPMIC_LOG_ERR, "out of memory");
		return 0;
	}
	c->reading++;
	while (c->sock >= 0 && c->sock == sock) {
		n = wire_recv_many(c->sock, rb);
		if (n < 0) {
			if (n != -EAGAIN && n != -EWOULDBLOCK) {
				snprintf(why, sizeof(why), "receive: %s",
				    strerror(-n));
				ipmic_conn_drop(c, 0, why);
			}
			break;
		}
		for (i = 0; i < n && c->sock == sock; i++) {
			got++;
			if ((len = rb->len[i]) == 0)
				ipmic_conn_drop(c, 0,
				    "broker closed the connection");
			else if (len < 0)
				ipmic_conn_drop(c, -EPROTO,
				    "receive: datagram too long");
			else
				ipmic_datagram(c, rb->buf[i], (size_t)len);
		}
		/* Fewer than asked for: the socket is empty. */
		if ((unsigned int)n < rb->n)
			break;
	}
	if (--c->reading == 0 || rb != c->rb)
		(void)ipmic_flush(c);
	if (rb != c->rb)
		free(rb);
	return got;
}

static void
ipmic_write(struct ipmic *c)
{
	char	why[128];
	int	r;

	if (c->sock < 0 || c->outq.count == 0)
		return;
	if ((r = wire_queue_flush(&c->outq, c->sock)) < 0) {
		snprintf(why, sizeof(why), "send: %s", strerror(-r));
		ipmic_conn_drop(c, 0, why);
		return;
	}
	ipmic_pollout(c);
}

/* ---- public API ---- */

/**
 * ipmic_new() - create a client
 * @name: a label for the broker's listings (cut to 63 bytes)
 *
 * Returns the client, or NULL (errno set) when memory or the epoll/timer
 * fds cannot be had.
 */
struct ipmic *
ipmic_new(const char *name)
{
	struct ipmic		*c;
	struct epoll_event	 ev;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	ipmic_strcpy(c->name, sizeof(c->name), name);
	c->sock = -1;
	c->tfd = -1;
	c->efd = -1;
	c->state = IPMIC_DOWN;
	c->backoff_ms = IPMIC_BACKOFF_MIN_MS;
	c->max_payload = IPMIC_PAYLOAD_DEFAULT;
	TAILQ_INIT(&c->regs);
	TAILQ_INIT(&c->ops);
	c->rbuckets = IPMIC_RHASH_MIN;
	if ((c->rhash = calloc(c->rbuckets, sizeof(*c->rhash))) == NULL) {
		free(c);
		return NULL;
	}
	TAILQ_INIT(&c->reqs);
	TAILQ_INIT(&c->cache);
	wire_queue_init(&c->outq, IPMIC_QUEUE_LIMIT);
	wire_arena_init(&c->arena, c->arena_buf, sizeof(c->arena_buf));
	if ((c->rb = wire_rbufs_new(2)) == NULL) {
		free(c->rhash);
		free(c);
		return NULL;
	}
	if ((c->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		goto fail;
	c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (c->tfd < 0)
		goto fail;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u32 = IPMIC_EP_TIMER;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->tfd, &ev) < 0)
		goto fail;
	/* ipmic_stop() writes here, so a stop from a signal handler wakes
	 * the poll in ipmic_run() even if it lands just before it. */
	if ((c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		goto fail;
	ev.data.u32 = IPMIC_EP_STOP;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->efd, &ev) < 0)
		goto fail;
	return c;
fail:
	ipmic_free(c);
	return NULL;
}

/**
 * ipmic_free() - close the connection and free everything, including
 * requests not answered yet. Not from inside a callback. Returns NULL.
 */
struct ipmic *
ipmic_free(struct ipmic *c)
{
	struct ipmic_reg	*reg;
	struct ipmic_op		*op;
	struct ipmic_req	*req;
	int			 saved = errno;

	if (c == NULL)
		return NULL;
	ipmic_sock_close(c);
	wire_queue_deinit(&c->outq);
	while ((reg = TAILQ_FIRST(&c->regs)) != NULL) {
		TAILQ_REMOVE(&c->regs, reg, entry);
		free(reg);
	}
	free(c->rhash);
	while ((op = TAILQ_FIRST(&c->ops)) != NULL) {
		TAILQ_REMOVE(&c->ops, op, entry);
		if (op->kind == IPMIC_OP_REGISTER)
			free(op->reg);
		free(op);
	}
	while ((req = TAILQ_FIRST(&c->reqs)) != NULL) {
		TAILQ_REMOVE(&c->reqs, req, entry);
		free(req);
	}
	while ((req = TAILQ_FIRST(&c->cache)) != NULL) {
		TAILQ_REMOVE(&c->cache, req, entry);
		free(req);
	}
	wire_arena_deinit(&c->arena);
	free(c->rb);
	if (c->tfd >= 0)
		close(c->tfd);
	if (c->efd >= 0)
		close(c->efd);
	if (c->epfd >= 0)
		close(c->epfd);
	free(c->path);
	free(c);
	errno = saved;
	return NULL;
}

/**
 * ipmic_set_socket() - connect to @path instead of the default
 *
 * Returns 0, -EINVAL, -ENAMETOOLONG or -ENOMEM. Takes effect on the next
 * connect attempt.
 */
int
ipmic_set_socket(struct ipmic *c, const char *path)
{
	struct sockaddr_un	 sun;
	char			*p;

	if (path == NULL || *path == '\0')
		return -EINVAL;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	if ((p = strdup(path)) == NULL)
		return -ENOMEM;
	free(c->path);
	c->path = p;
	return 0;
}

/** ipmic_set_log() - route the library's log messages to @fn. */
void
ipmic_set_log(struct ipmic *c, ipmic_log_fn *fn, void *arg)
{
	c->log_fn = fn;
	c->log_arg = arg;
}

void
ipmic_set_bus_event(struct ipmic *c, ipmic_bus_event_fn *fn, void *arg)
{
	c->bus_fn = fn;
	c->bus_arg = arg;
}

int
ipmic_attention(struct ipmic *c, const char *bus, bool set,
    struct ipmic_error *err)
{
	Hnd__Envelope			 env = HND__ENVELOPE__INIT;
	Hnd__Attention			 at = HND__ATTENTION__INIT;
	struct ipmic_result_wait	 w = { 0, 0, err };
	struct ipmic_op			*op;
	int				 r;

	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if (bus == NULL || bus[0] == '\0')
		return -EINVAL;
	if (c->state != IPMIC_UP)
		return -ENOTCONN;
	if ((op = calloc(1, sizeof(*op))) == NULL)
		return -ENOMEM;
	op->kind = IPMIC_OP_ATTENTION;
	op->tag = ipmic_tag(c);
	op->wait = &w;
	at.tag = op->tag;
	at.bus = (char *)bus;
	at.set = set;
	env.body_case = HND__ENVELOPE__BODY_ATTENTION;
	env.attention = &at;
	if ((r = ipmic_send_env(c, &env)) < 0) {
		free(op);
		return r;
	}
	TAILQ_INSERT_TAIL(&c->ops, op, entry);
	if ((r = ipmic_block(c, ipmic_result_done, &w, -1)) < 0)
		return r;
	return w.status;
}

int
ipmic_bus_control(struct ipmic *c, const char *bus, enum ipmic_control op,
    struct ipmic_error *err)
{
	Hnd__Envelope			 env = HND__ENVELOPE__INIT;
	Hnd__Control			 ctl = HND__CONTROL__INIT;
	struct ipmic_result_wait	 w = { 0, 0, err };
	struct ipmic_op			*o;
	int				 r;

	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if (bus == NULL || bus[0] == '\0' || (unsigned)op >
	    IPMIC_CONTROL_IRQ_DISABLE)
		return -EINVAL;
	if (c->state != IPMIC_UP)
		return -ENOTCONN;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return -ENOMEM;
	o->kind = IPMIC_OP_ATTENTION;	/* answered by a plain Result */
	o->tag = ipmic_tag(c);
	o->wait = &w;
	ctl.tag = o->tag;
	ctl.bus = (char *)bus;
	ctl.op = (Hnd__ControlOp)op;
	env.body_case = HND__ENVELOPE__BODY_CONTROL;
	env.control = &ctl;
	if ((r = ipmic_send_env(c, &env)) < 0) {
		free(o);
		return r;
	}
	TAILQ_INSERT_TAIL(&c->ops, o, entry);
	if ((r = ipmic_block(c, ipmic_result_done, &w, -1)) < 0)
		return r;
	return w.status;
}

int
ipmic_host_reset(struct ipmic *c, const char *bus)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__HostReset	hr = HND__HOST_RESET__INIT;

	if (bus == NULL || bus[0] == '\0')
		return -EINVAL;
	if (c->state != IPMIC_UP)
		return -ENOTCONN;
	hr.bus = (char *)bus;
	env.body_case = HND__ENVELOPE__BODY_HOST_RESET;
	env.host_reset = &hr;
	return ipmic_send_env(c, &env);
}

/** ipmic_set_event() - be told about connects, disconnects, lost keys. */
void
ipmic_set_event(struct ipmic *c, ipmic_event_fn *fn, void *arg)
{
	c->event_fn = fn;
	c->event_arg = arg;
}

static int
ipmic_connect_done(struct ipmic *c, void *arg)
{
	return c->state == IPMIC_UP || c->connect_err != 0;
}

/**
 * ipmic_connect() - connect and wait for the broker's Welcome
 * @timeout_ms: how long to keep trying; < 0 waits forever
 *
 * A missing or refusing socket is retried with backoff (20 ms doubling
 * to 500 ms). Returns 0, -ETIMEDOUT, -EPROTO (other protocol version),
 * -ECONNREFUSED (the broker said Goodbye), or connect()'s negative errno.
 */
int
ipmic_connect(struct ipmic *c, int timeout_ms)
{
	const char	*env;
	int		 r;

	if (c->state == IPMIC_UP)
		return 0;
	if (c->path == NULL) {
		env = getenv(IPMIC_SOCKET_ENV);
		if ((r = ipmic_set_socket(c, env != NULL && *env != '\0' ?
		    env : IPMIC_DEFAULT_SOCKET)) < 0)
			return r;
	}
	c->connecting++;
	c->connect_err = 0;
	if (c->state == IPMIC_DOWN) {
		c->backoff_ms = IPMIC_BACKOFF_MIN_MS;
		r = ipmic_conn_start(c);
		if (r == -ENOENT || r == -ECONNREFUSED || r == -EAGAIN)
			ipmic_backoff(c);
		else if (r < 0)
			c->connect_err = r;
	}
	r = ipmic_block(c, ipmic_connect_done, NULL, timeout_ms);
	c->connecting--;
	if (r == 0 && c->connect_err != 0)
		r = c->connect_err;
	if (r == 0) {
		c->autoconnect = 1;
		return 0;
	}
	if (!c->autoconnect) {
		ipmic_sock_close(c);
		c->state = IPMIC_DOWN;
		ipmic_timer_arm(c);
	} else if (c->state == IPMIC_DOWN)
		ipmic_backoff(c);	/* keep reconnecting by ourselves */
	return r;
}

/** ipmic_fd() - the fd to watch for readability; it never changes. */
int
ipmic_fd(const struct ipmic *c)
{
	return c->epfd;
}

/**
 * ipmic_dispatch() - do the work that is ready, without blocking
 *
 * Returns 0, or a negative errno when the epoll fd itself fails.
 */
int
ipmic_dispatch(struct ipmic *c)
{
	struct epoll_event	ev[4];
	int			i, n, sock = 0, timer = 0, out = 0;

	/*
	 * The socket is what is ready nearly every time: read it without
	 * asking epoll first. Only when it had nothing (a timer, a stop, room
	 * to write, or a hang-up) does epoll say what woke us.
	 */
	if (c->sock >= 0 && c->outq.count == 0 && ipmic_read(c) > 0)
		return 0;
	if ((n = epoll_wait(c->epfd, ev, 4, 0)) < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		if (ev[i].data.u32 == IPMIC_EP_TIMER)
			timer = 1;
		else if (ev[i].data.u32 == IPMIC_EP_STOP) {
			uint64_t v;

			(void)!read(c->efd, &v, sizeof(v));
		}
		else if (ev[i].data.u32 == IPMIC_EP_SOCK) {
			if (ev[i].events & EPOLLOUT)
				out = 1;
			if (ev[i].events & ~(uint32_t)EPOLLOUT)
				sock = 1;
		}
	}
	if (out)
		ipmic_write(c);
	if (sock)
		ipmic_read(c);
	if (timer)
		ipmic_timer_fire(c);
	return 0;
}

/**
 * ipmic_run() - poll and dispatch until ipmic_stop()
 *
 * Returns 0 after ipmic_stop(), or a negative errno.
 */
int
ipmic_run(struct ipmic *c)
{
	struct pollfd	pfd;
	int		r = 0;

	while (!c->stop) {
		pfd.fd = c->epfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if ((r = ipmic_dispatch(c)) < 0)
			break;
	}
	c->stop = 0;
	return r;
}

/** ipmic_stop() - make ipmic_run() return; safe from a callback. */
void
ipmic_stop(struct ipmic *c)
{
	uint64_t	one = 1;
	int		saved = errno;

	c->stop = 1;
	(void)!write(c->efd, &one, sizeof(one));
	errno = saved;
}

static int
ipmic_result_done(struct ipmic *c, void *arg)
{
	return ((struct ipmic_result_wait *)arg)->done;
}

/**
 * ipmic_register() - serve requests matching @key
 *
 * Blocks, dispatching other traffic, until the broker answers. Returns 0,
 * IPMIC_E_* (details in @err), -ENOTCONN, -ECONNRESET (connection lost
 * meanwhile) or another negative errno.
 */
static int
ipmic_register_reg(struct ipmic *c, const struct ipmic_key *key,
    int is_default, uint32_t deadline_ms, ipmic_request_fn *fn, void *arg,
    struct ipmic_error *err)
{
	struct ipmic_result_wait	 w = { 0, 0, err };
	struct ipmic_reg		*reg;
	int				 r;

	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if ((key == NULL && !is_default) || fn == NULL)
		return -EINVAL;
	if (c->state != IPMIC_UP)
		return -ENOTCONN;
	if ((reg = calloc(1, sizeof(*reg))) == NULL)
		return -ENOMEM;
	reg->is_default = is_default;
	if (key != NULL) {
		reg->key = *key;
		ipmic_key_normalize(&reg->key);
	}
	reg->deadline_ms = deadline_ms;
	reg->fn = fn;
	reg->arg = arg;
	r = ipmic_send_register(c, IPMIC_OP_REGISTER, reg, &reg->key,
	    deadline_ms, &w);
	if (r < 0) {
		free(reg);
		return r;
	}
	/* The op owns reg now: on OK it joins c->regs, else it is freed. */
	if ((r = ipmic_block(c, ipmic_result_done, &w, -1)) < 0)
		return r;
	return w.status;
}

int
ipmic_register(struct ipmic *c, const struct ipmic_key *key,
    uint32_t deadline_ms, ipmic_request_fn *fn, void *arg,
    struct ipmic_error *err)
{
	return ipmic_register_reg(c, key, 0, deadline_ms, fn, arg, err);
}

/**
 * ipmic_register_default() - take the default route
 *
 * Returns 0, IPMIC_E_DENIED unless the broker's config names this handler
 * (hello name and uid/gid), IPMIC_E_CONFLICT when another holds it.
 */
int
ipmic_register_default(struct ipmic *c, ipmic_request_fn *fn, void *arg,
    struct ipmic_error *err)
{
	return ipmic_register_reg(c, NULL, 1, 0, fn, arg, err);
}

/**
 * ipmic_unregister_default() - give the default route back
 */
int
ipmic_unregister_default(struct ipmic *c, struct ipmic_error *err)
{
	struct ipmic_result_wait	 w = { 0, 0, err };
	struct ipmic_reg		*reg;
	struct ipmic_key		 k = { 0 };
	int				 r;

	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if (c->state != IPMIC_UP)
		return -ENOTCONN;
	TAILQ_FOREACH(reg, &c->regs, entry)
		if (!reg->unregistering && reg->is_default)
			break;
	if (reg == NULL)
		return IPMIC_E_NOT_FOUND;
	r = ipmic_send_register(c, IPMIC_OP_UNREGISTER, reg, &k, 0, &w);
	if (r < 0)
		return r;
	reg->unregistering = 1;
	if ((r = ipmic_block(c, ipmic_result_done, &w, -1)) < 0)
		return r;
	return w.status;
}

/**
 * ipmic_unregister() - stop serving @key
 *
 * Same returns as ipmic_register(). A key lost with the connection counts
 * as unregistered.
 */
int
ipmic_unregister(struct ipmic *c, const struct ipmic_key *key,
    struct ipmic_error *err)
{
	struct ipmic_result_wait	 w = { 0, 0, err };
	struct ipmic_reg		*reg;
	struct ipmic_key		 k;
	int				 r;

	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if (key == NULL)
		return -EINVAL;
	if (c->state != IPMIC_UP)
		return -ENOTCONN;
	k = *key;
	ipmic_key_normalize(&k);
	TAILQ_FOREACH(reg, &c->regs, entry)
		if (!reg->unregistering && !reg->is_default &&
		    ipmic_key_equal(&reg->key, &k))
			break;
	r = ipmic_send_register(c, IPMIC_OP_UNREGISTER, reg, &k, 0, &w);
	if (r < 0)
		return r;
	if (reg != NULL)
		reg->unregistering = 1;
	if ((r = ipmic_block(c, ipmic_result_done, &w, -1)) < 0)
		return r;
	return w.status;
}

/**
 * ipmic_reply() - answer a request and free it
 *
 * Returns 0, -ENOTCONN (the connection it came on is gone), -EMSGSIZE
 * (answered 0xCA instead), -ENOBUFS (output queue full) or a negative
 * errno. @req is freed in every case.
 */
int
ipmic_reply(struct ipmic_request *pub, uint8_t cc, const void *data,
    size_t len)
{
	struct ipmic_req	*req;
	struct ipmic		*c;
	int			 r;

	if (pub == NULL)
		return -EINVAL;
	req = (struct ipmic_req *)((char *)pub -
	    offsetof(struct ipmic_req, pub));
	c = req->c;
	if (req->stale || c->state != IPMIC_UP)
		r = -ENOTCONN;
	else if (len > 0 && data == NULL) {
		r = ipmic_send_response(c, req->id, 0xff, pub->data,
		    ipmic_echo_len(pub));
		if (r == 0)
			r = -EINVAL;
	} else if (len > c->max_payload) {
		ipmic_log(c, IPMIC_LOG_WARN,
		    "answer to 0x%02x/0x%02x: %zu bytes, broker carries %u",
		    pub->netfn, pub->cmd, len, c->max_payload);
		r = ipmic_send_response(c, req->id, IPMIC_CC_TOO_BIG,
		    pub->data, ipmic_echo_len(pub));
		if (r == 0)
			r = -EMSGSIZE;
	} else
		r = ipmic_send_response(c, req->id, cc, data, len);
	if (r < 0 && r != -EMSGSIZE && r != -ENOTCONN && r != -EINVAL)
		ipmic_log(c, IPMIC_LOG_WARN, "answer to 0x%02x/0x%02x: %s",
		    pub->netfn, pub->cmd, strerror(-r));
	ipmic_req_put(c, req);
	return r;
}

/**
 * ipmic_reply_cc() - answer with a completion code only; the IANA (0x2E)
 * or body code (0x2C) of the request follows it. Returns as ipmic_reply().
 */
int
ipmic_reply_cc(struct ipmic_request *req, uint8_t cc)
{
	if (req == NULL)
		return -EINVAL;
	return ipmic_reply(req, cc, req->data, ipmic_echo_len(req));
}

/**
 * ipmic_send() - send a request into the broker; the answer goes to @fn
 *
 * @fn may be NULL to ignore the answer. Returns 0, -ENOTCONN, -EINVAL
 * (odd netfn, LUN > 3), -EMSGSIZE or a negative errno.
 */
int
ipmic_send(struct ipmic *c, uint8_t netfn, uint8_t lun, uint8_t cmd,
    const void *data, size_t len, ipmic_answer_fn *fn, void *arg)
{
	Hnd__Envelope	 env = HND__ENVELOPE__INIT;
	Hnd__Send	 sm = HND__SEND__INIT;
	struct ipmic_op	*op;
	int		 r;

	if ((netfn & 1) != 0 || netfn > 0x3e || lun > 3 ||
	    (len > 0 && data == NULL))
		return -EINVAL;
	if (c->state != IPMIC_UP)
		return -ENOTCONN;
	if (len > c->max_payload)
		return -EMSGSIZE;
	if ((op = calloc(1, sizeof(*op))) == NULL)
		return -ENOMEM;
	op->kind = IPMIC_OP_SEND;
	op->tag = ipmic_tag(c);
	op->fn = fn;
	op->arg = arg;
	sm.tag = op->tag;
	sm.netfn = netfn;
	sm.lun = lun;
	sm.cmd = cmd;
	sm.data.data = (uint8_t *)data;
	sm.data.len = len;
	env.body_case = HND__ENVELOPE__BODY_SEND;
	env.send = &sm;
	if ((r = ipmic_send_env(c, &env)) < 0) {
		free(op);
		return r;
	}
	TAILQ_INSERT_TAIL(&c->ops, op, entry);
	return 0;
}

struct ipmic_call_wait {
	int		 done;
	int		 status;
	uint8_t		 cc;
	uint8_t		*rsp;
	size_t		 size;
	size_t		 len;
};

static void
ipmic_call_answer(struct ipmic *c, int status, uint8_t cc,
    const uint8_t *data, size_t len, void *arg)
{
	struct ipmic_call_wait	*w = arg;

	w->done = 1;
	w->status = status;
	w->cc = cc;
	w->len = len;
	if (status != 0)
		return;
	if (len > w->size) {
		w->status = -ENOBUFS;
		len = w->size;
	}
	if (len > 0)
		memcpy(w->rsp, data, len);
}

static int
ipmic_call_done(struct ipmic *c, void *arg)
{
	return ((struct ipmic_call_wait *)arg)->done;
}

/**
 * ipmic_call() - send a request and wait for its answer
 *
 * Returns 0, -ETIMEDOUT, -ENOBUFS (@rsp and *@rsp_len hold the start),
 * -ECONNRESET, or a negative errno.
 */
int
ipmic_call(struct ipmic *c, uint8_t netfn, uint8_t lun, uint8_t cmd,
    const void *data, size_t len, uint8_t *cc, void *rsp, size_t *rsp_len,
    int timeout_ms)
{
	struct ipmic_call_wait	 w;
	struct ipmic_op		*op;
	uint32_t		 tag;
	int			 r;

	memset(&w, 0, sizeof(w));
	w.rsp = rsp;
	w.size = rsp_len != NULL && rsp != NULL ? *rsp_len : 0;
	r = ipmic_send(c, netfn, lun, cmd, data, len, ipmic_call_answer, &w);
	if (r < 0)
		return r;
	tag = c->next_tag;
	r = ipmic_block(c, ipmic_call_done, &w, timeout_ms);
	if (!w.done) {
		/* Forget our stack; a late answer is dropped quietly. */
		if ((op = ipmic_op_find(c, tag)) != NULL) {
			op->fn = NULL;
			op->arg = NULL;
		}
		return r < 0 ? r : -ETIMEDOUT;
	}
	if (cc != NULL)
		*cc = w.cc;
	if (rsp_len != NULL)
		*rsp_len = w.len > w.size ? w.size : w.len;
	return w.status;
}

/** ipmic_strerror() - text for an IPMIC_E_* code or a negative errno. */
const char *
ipmic_strerror(int code)
{
	switch (code) {
	case 0:
		return "success";
	case IPMIC_E_CONFLICT:
		return "overlaps another handler's registration";
	case IPMIC_E_DENIED:
		return "refused by the broker's access rules";
	case IPMIC_E_INVALID:
		return "a field is out of range";
	case IPMIC_E_NOT_FOUND:
		return "not registered";
	case IPMIC_E_LIMIT:
		return "too many registrations";
	case IPMIC_E_UNSUPPORTED:
		return "the bus cannot do that";
	case IPMIC_E_NO_BUS:
		return "no such bus, or it is down";
	}
	if (code < 0)
		return strerror(-code);
	return "unknown error";
}
