/* SPDX-License-Identifier: MIT */
/*
 * The byte-stream transport under stream media (see stream.h). It owns
 * the inherited fd: a listening socket, on which it accepts one peer at a
 * time (a new connection replaces the current one: a restarted QEMU
 * reconnects while we may not have seen the old connection close), or a
 * plain stream such as a tty, which is the peer itself.
 *
 * The peer is untrusted. Its bytes go through the codec one frame at a
 * time, since a control frame may sit in front of a response in one
 * segment; message frames wait in a small queue for busdrv.c's read(),
 * and while it is full we stop reading, so the peer is held back by the
 * kernel's socket buffer rather than by our memory. What we send goes
 * through a bounded output buffer drained as the peer reads; a peer that
 * never reads only fills it, and then write() says EAGAIN. Garbage
 * (framing errors, frames the codec classifies as garbage, a second
 * request while one is outstanding) is counted; STREAM_STRIKES of it
 * within STREAM_STRIKE_MS drops the peer (closes the connection; a plain
 * fd is ignored for a second) and we go on listening.
 *
 * Everything happens inside wait(), which busdrv.c calls with its own
 * fds (the broker link) to poll alongside ours; it returns when busdrv.c
 * has something to do, never for our internal events alone.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "busdrv.h"
#include "log.h"
#include "stream.h"

#define STREAM_QUEUE		4	/* message frames waiting for read() */
#define STREAM_OUT_MAX		16384	/* output buffer */
#define STREAM_IN_MAX		4096	/* one read(2) */
#define STREAM_READS		16	/* read(2)s per wait round */
#define STREAM_POLL_MAX		8
#define STREAM_HUP_RETRY_MS	250	/* plain fd hung up: look again */
#define STREAM_QUIET_MS		1000	/* plain fd dropped: ignore it */
#define STREAM_LOG_EVERY_MS	1000

struct stream_qmsg {
	size_t		len;
	uint8_t		body[STREAM_FRAME_MAX];
};

struct stream {
	const struct stream_codec	*codec;
	int				 lfd;	/* listening socket or -1 */
	int				 fd;	/* the peer or -1 */
	bool				 plain;	/* fd is the stream itself */
	bool				 started;
	bool				 up;	/* busdrv_peer_up() said */
	uint64_t			 resume_at; /* plain: poll again */
	unsigned			 gen;	/* bumped per peer change */
	void				*rx;
	uint8_t				 in[STREAM_IN_MAX];
	size_t				 inoff, inlen;
	struct stream_qmsg		 q[STREAM_QUEUE];
	size_t				 qhead, qcount;
	uint8_t				 out[STREAM_OUT_MAX];
	size_t				 outoff, outlen;
	bool				 outstanding;
	uint64_t			 outstanding_at;
	unsigned			 strikes;
	uint64_t			 strike_at;
	uint64_t			 log_at;
	unsigned			 log_quiet;
	uint8_t				 wire[STREAM_WIRE_MAX];
};

static void	stream_drop(struct stream *s, const char *why, bool garbage);

static uint64_t
stream_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *
stream_bad_text(int kind)
{
	switch (kind) {
	case STREAM_BAD_ESCAPE:
		return "frame ended inside an escape";
	case STREAM_BAD_OVERFLOW:
		return "frame longer than the medium takes";
	case STREAM_BAD_EMPTY:
		return "empty frame";
	default:
		return "bad framing";
	}
}

/* The peer's bytes are hostile: at most one log line a second. */
static void
stream_complain(struct stream *s, const char *why)
{
	uint64_t	now = stream_now();

	if (s->log_at != 0 && now - s->log_at < STREAM_LOG_EVERY_MS) {
		s->log_quiet++;
		return;
	}
	if (s->log_quiet > 0)
		log_warnx("bus %s: %s peer: %s (and %u more)",
		    busdrv_bus_name(), s->codec->name, why, s->log_quiet);
	else
		log_warnx("bus %s: %s peer: %s", busdrv_bus_name(),
		    s->codec->name, why);
	s->log_at = now;
	s->log_quiet = 0;
}

void *
stream_open(int fd, const struct stream_codec *codec)
{
	struct stream	*s;
	int		 listening = 0, fl;
	socklen_t	 sl = sizeof(listening);

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->rx = codec->rx_new()) == NULL) {
		free(s);
		return NULL;
	}
	s->codec = codec;
	s->lfd = s->fd = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &sl) < 0)
		listening = 0;		/* ENOTSOCK: a tty, a pipe */
	/* Never sleep in accept(2) or read(2): a peer can vanish between
	 * poll(2) and the call. */
	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		codec->rx_free(s->rx);
		free(s);
		return NULL;
	}
	if (listening)
		s->lfd = fd;
	else {
		s->fd = fd;
		s->plain = true;
	}
	return s;
}

void
stream_close(void *ctx)
{
	struct stream	*s = ctx;

	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->lfd >= 0)
		close(s->lfd);
	s->codec->rx_free(s->rx);
	free(s);
}

bool
stream_connected(const struct stream *s)
{
	return s->up;
}

/* Forget everything of the current peer's session. */
static void
stream_forget(struct stream *s)
{
	s->gen++;
	s->codec->rx_reset(s->rx);
	s->inoff = s->inlen = 0;
	s->qhead = s->qcount = 0;
	s->outoff = s->outlen = 0;
	s->outstanding = false;
	s->strikes = 0;
}

static void
stream_peer_up(struct stream *s)
{
	stream_forget(s);
	s->up = true;
	busdrv_peer_up(0);
	if (s->codec->connected != NULL)
		s->codec->connected(s);
}

static void
stream_drop(struct stream *s, const char *why, bool garbage)
{
	/* A hung-up tty is looked at again and again: say it once. */
	if (why != NULL && (s->up || !s->plain))
		log_info("bus %s: %s peer dropped: %s", busdrv_bus_name(),
		    s->codec->name, why);
	if (s->plain)
		s->resume_at = stream_now() + (garbage ? STREAM_QUIET_MS :
		    STREAM_HUP_RETRY_MS);
	else if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	stream_forget(s);
	if (s->up) {
		s->up = false;
		busdrv_peer_down();
	}
}

void
stream_garbage(struct stream *s, const char *why)
{
	uint64_t	now = stream_now();
	char		msg[96];

	if (why != NULL)
		stream_complain(s, why);
	if (s->strikes == 0 || now - s->strike_at > STREAM_STRIKE_MS) {
		s->strikes = 0;
		s->strike_at = now;
	}
	if (++s->strikes >= STREAM_STRIKES) {
		snprintf(msg, sizeof(msg), "%u garbage frames within %u ms",
		    s->strikes, STREAM_STRIKE_MS);
		stream_drop(s, msg, true);
	}
}

void
stream_host_reset(struct stream *s)
{
	s->qhead = s->qcount = 0;
	s->outstanding = false;
	busdrv_host_reset_seen();
}

/* ---- output ---- */

/* Write what the peer takes now. */
static void
stream_flush(struct stream *s)
{
	ssize_t	n;

	while (s->fd >= 0 && s->outoff < s->outlen) {
		n = write(s->fd, s->out + s->outoff, s->outlen - s->outoff);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			stream_drop(s, n < 0 ? strerror(errno) :
			    "write returned 0", false);
			return;
		}
		s->outoff += (size_t)n;
	}
	s->outoff = s->outlen = 0;
}

int
stream_send(struct stream *s, int kind, const uint8_t *body, size_t len)
{
	size_t	n;

	if (!s->up || s->fd < 0) {
		errno = ENOTCONN;
		return -1;
	}
	if (s->outoff > 0) {
		memmove(s->out, s->out + s->outoff, s->outlen - s->outoff);
		s->outlen -= s->outoff;
		s->outoff = 0;
	}
	n = s->codec->wrap(body, len, kind, s->wire, sizeof(s->wire));
	if (n == 0) {
		errno = EINVAL;
		return -1;
	}
	if (n > sizeof(s->out) - s->outlen) {
		errno = ENOBUFS;
		return -1;
	}
	memcpy(s->out + s->outlen, s->wire, n);
	s->outlen += n;
	stream_flush(s);
	return 0;
}

ssize_t
stream_write(void *ctx, const void *buf, size_t len)
{
	struct stream	*s = ctx;

	if (s->up && s->outlen - s->outoff + STREAM_WIRE_MAX >
	    sizeof(s->out)) {
		errno = EAGAIN;
		return -1;
	}
	if (stream_send(s, STREAM_MSG, buf, len) < 0)
		return -1;
	s->outstanding = false;
	return (ssize_t)len;
}

int
stream_ioctl(void *ctx, unsigned long req)
{
	struct stream	*s = ctx;

	if (s->codec->ioctl == NULL) {
		errno = EINVAL;
		return -1;
	}
	return s->codec->ioctl(s, req);
}

/* ---- input ---- */

ssize_t
stream_read(void *ctx, void *buf, size_t len)
{
	struct stream		*s = ctx;
	struct stream_qmsg	*m;
	size_t			 n;

	if (s->qcount == 0) {
		errno = EAGAIN;
		return -1;
	}
	m = &s->q[s->qhead];
	n = m->len < len ? m->len : len;
	memcpy(buf, m->body, n);
	s->qhead = (s->qhead + 1) % STREAM_QUEUE;
	s->qcount--;
	return (ssize_t)n;
}

/* A message frame: check it, then queue it for read(). */
static void
stream_message(struct stream *s, const uint8_t *body, size_t len)
{
	const struct stream_codec	*c = s->codec;
	struct stream_qmsg		*m;
	unsigned			 gen = s->gen;
	uint64_t			 now;
	int				 v;

	v = c->classify != NULL ? c->classify(body, len) : STREAM_REQUEST;
	if (v == STREAM_GARBAGE)
		stream_garbage(s, NULL);	/* parse logs and counts */
	else if (v == STREAM_REQUEST) {
		now = stream_now();
		if (s->outstanding && c->peer_timeout_ms > 0 &&
		    now - s->outstanding_at < c->peer_timeout_ms / 2)
			stream_garbage(s, "a second request while one is "
			    "outstanding");
		s->outstanding = true;
		s->outstanding_at = now;
	}
	if (s->gen != gen)
		return;			/* dropped */
	m = &s->q[(s->qhead + s->qcount) % STREAM_QUEUE];
	m->len = len;
	memcpy(m->body, body, len);
	s->qcount++;
}

static void
stream_frame(struct stream *s, const struct stream_frame *f)
{
	if (f->kind < 0) {
		busdrv_count_garbage();
		stream_garbage(s, stream_bad_text(f->kind));
	} else if (f->len > STREAM_FRAME_MAX) {
		busdrv_count_garbage();
		stream_garbage(s, stream_bad_text(STREAM_BAD_OVERFLOW));
	} else if (f->kind == STREAM_MSG)
		stream_message(s, f->body, f->len);
	else if (s->codec->control != NULL)
		s->codec->control(s, f->body, f->len, f->kind);
	else {
		busdrv_count_garbage();
		stream_garbage(s, "unexpected frame kind");
	}
}

/* Feed what was read to the codec while the queue has room. */
static void
stream_feed(struct stream *s)
{
	struct stream_frame	f;
	unsigned		gen = s->gen;
	size_t			used;

	while (s->inoff < s->inlen && s->qcount < STREAM_QUEUE) {
		f.body = NULL;
		f.len = 0;
		f.kind = STREAM_NONE;
		used = s->codec->feed(s->rx, s->in + s->inoff,
		    s->inlen - s->inoff, &f);
		if (used == 0 || used > s->inlen - s->inoff)
			used = s->inlen - s->inoff;	/* a codec bug */
		s->inoff += used;
		if (f.kind != STREAM_NONE)
			stream_frame(s, &f);
		if (s->gen != gen)
			return;		/* the peer was dropped */
	}
}

/* Read from the peer, a bounded number of times per round. */
static void
stream_input(struct stream *s)
{
	ssize_t	n;
	int	i;

	for (i = 0; i < STREAM_READS && s->fd >= 0; i++) {
		stream_feed(s);
		if (s->fd < 0 || s->resume_at != 0 || s->inoff < s->inlen)
			return;		/* dropped, or the queue is full */
		n = read(s->fd, s->in, sizeof(s->in));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* A pty master reads EIO once the slave is shut. */
			stream_drop(s, n < 0 ? strerror(errno) :
			    "end of stream", false);
			return;
		}
		if (s->plain && !s->up)
			stream_peer_up(s);	/* a tty speaks again */
		s->inoff = 0;
		s->inlen = (size_t)n;
	}
}

/* A new connection on the listening socket replaces the current one. */
static void
stream_accept(struct stream *s)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	socklen_t		 sl = sizeof(ss);
	char			 peer[64] = "a local socket";
	int			 fd, one = 1;

	fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("bus %s: accept", busdrv_bus_name());
		return;
	}
	if (ss.ss_family == AF_INET) {
		/* Small frames, one at a time: Nagle only adds delay. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		snprintf(peer, sizeof(peer), "%s:%u",
		    inet_ntoa(sin->sin_addr), ntohs(sin->sin_port));
	}
	if (s->fd >= 0)
		stream_drop(s, "a new connection replaces it", false);
	log_info("bus %s: %s peer connected from %s", busdrv_bus_name(),
	    s->codec->name, peer);
	s->fd = fd;
	stream_peer_up(s);
}

/* ---- waiting ---- */

static short
stream_ready(struct stream *s, short want)
{
	short	r = 0;

	if ((want & POLLIN) && s->qcount > 0)
		r |= POLLIN;
	if ((want & POLLOUT) &&
	    s->outlen - s->outoff + STREAM_WIRE_MAX <= sizeof(s->out))
		r |= POLLOUT;
	return r;
}

/* Our own fds for this round of poll(2); returns how many. */
static nfds_t
stream_pollfds(struct stream *s, struct pollfd *p, int *lidx, int *fidx,
    uint64_t now)
{
	nfds_t	n = 0;

	*lidx = *fidx = -1;
	if (s->lfd >= 0) {
		p[n].fd = s->lfd;
		p[n].events = POLLIN;
		*lidx = (int)n++;
	}
	if (s->plain && s->resume_at != 0 && now >= s->resume_at) {
		s->resume_at = 0;
		if (isatty(s->fd))
			(void)tcflush(s->fd, TCIFLUSH);
	}
	if (s->fd >= 0 && s->resume_at == 0) {
		p[n].fd = s->fd;
		p[n].events = (s->qcount < STREAM_QUEUE ? POLLIN : 0) |
		    (s->outoff < s->outlen ? POLLOUT : 0);
		*fidx = (int)n++;
	}
	return n;
}

int
stream_wait(void *ctx, short want, short *got, struct pollfd *extra,
    nfds_t nextra, int timeout_ms)
{
	struct stream	*s = ctx;
	struct pollfd	 p[STREAM_POLL_MAX];
	uint64_t	 start = stream_now(), now;
	nfds_t		 i, n;
	short		 ready;
	int		 lidx, fidx, t;
	bool		 woke;

	if (nextra > STREAM_POLL_MAX - 2) {
		errno = EINVAL;
		return -1;
	}
	if (s->plain && !s->started) {
		/* Not in open(): busdrv.c has not said hello yet. */
		s->started = true;
		stream_peer_up(s);
	}
	for (;;) {
		stream_feed(s);		/* what waited for room in the queue */
		ready = stream_ready(s, want);
		now = stream_now();
		t = timeout_ms;
		if (timeout_ms >= 0)
			t = now - start >= (uint64_t)timeout_ms ? 0 :
			    timeout_ms - (int)(now - start);
		if (ready)
			t = 0;
		if (s->plain && s->resume_at > now &&
		    (t < 0 || (uint64_t)t > s->resume_at - now))
			t = (int)(s->resume_at - now);
		for (i = 0; i < nextra; i++)
			p[i] = extra[i];
		n = stream_pollfds(s, p + nextra, &lidx, &fidx, now);
		if (poll(p, nextra + n, t) < 0)
			return -1;
		woke = false;
		for (i = 0; i < nextra; i++) {
			extra[i].revents = p[i].revents;
			woke |= p[i].revents != 0;
		}
		if (fidx >= 0 && p[nextra + fidx].fd == s->fd) {
			if (p[nextra + fidx].revents & POLLOUT)
				stream_flush(s);
			if (p[nextra + fidx].revents & (POLLIN | POLLHUP |
			    POLLERR))
				stream_input(s);
		}
		if (lidx >= 0 && (p[nextra + lidx].revents & POLLIN))
			stream_accept(s);
		ready = stream_ready(s, want);
		now = stream_now();
		if (ready || woke || (timeout_ms >= 0 &&
		    now - start >= (uint64_t)timeout_ms)) {
			*got = ready;
			return 0;
		}
	}
}
