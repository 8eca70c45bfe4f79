/* SPDX-License-Identifier: MIT */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/*
 * The floor: the product's topology and hops with nothing in them. Host
 * -> relay1 (in the driver's place) -> relay2 (the broker's) -> handler2
 * (the handler's) and back, over SOCK_SEQPACKET socketpairs as in the
 * product, each hop carrying a datagram of the size the product's
 * envelope on that hop has (bench_product_sizes()). A relay reads a
 * datagram and writes that many bytes of its buffer to the other side:
 * the first bytes are the ones it read, so the BT seq at offset 2 travels
 * back to the host, and nothing is parsed, routed or encoded.
 *
 * Two kinds. Blocking: poll() both sides, then one read and one write per
 * ready side and back to poll (handler2: read, write, read...). Drain: an
 * event loop (epoll, non-blocking sockets) that reads each ready side until
 * EAGAIN and writes every datagram as it is read, as the broker does.
 */

struct bench_floor {
	pid_t	relay1;
	pid_t	relay2;
	pid_t	handler;
	int	host;
};

struct bench_relay {
	int	fd[2];
	size_t	out[2];		/* bytes written for what fd[i] read */
	bool	drain;
};

static uint8_t	bench_buf[4097];

static int
bench_relay_send(int fd, size_t len)
{
	struct pollfd	pfd = { fd, POLLOUT, 0 };

	while (send(fd, bench_buf, len, MSG_NOSIGNAL) < 0) {
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		(void)poll(&pfd, 1, -1);
	}
	return 0;
}

static int
bench_relay_blocking(struct bench_relay *r)
{
	struct pollfd	pfd[2] = { { r->fd[0], POLLIN, 0 },
			    { r->fd[1], POLLIN, 0 } };
	ssize_t		n;
	int		i;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (i = 0; i < 2; i++) {
			if (pfd[i].revents == 0)
				continue;
			if ((n = recv(pfd[i].fd, bench_buf, sizeof(bench_buf),
			    0)) <= 0)
				return 0;
			if (bench_relay_send(r->fd[1 - i], r->out[i]) < 0)
				return 1;
		}
	}
}

static int
bench_relay_drain(struct bench_relay *r)
{
	struct epoll_event	ev, evs[2];
	ssize_t			n;
	int			ep, i, k, nev;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return 1;
	for (i = 0; i < 2; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, r->fd[i], &ev) < 0)
			return 1;
	}
	for (;;) {
		if ((nev = epoll_wait(ep, evs, 2, -1)) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (k = 0; k < nev; k++) {
			i = (int)evs[k].data.u32;
			for (;;) {
				n = recv(r->fd[i], bench_buf,
				    sizeof(bench_buf), MSG_DONTWAIT);
				if (n < 0 && errno == EAGAIN)
					break;
				if (n <= 0)
					return 0;
				if (bench_relay_send(r->fd[1 - i],
				    r->out[i]) < 0)
					return 1;
			}
		}
	}
}

static int
bench_relay_main(void *arg)
{
	struct bench_relay	*r = arg;

	return r->drain ? bench_relay_drain(r) : bench_relay_blocking(r);
}

/* handler2: answer each datagram with out[0] bytes. */
static int
bench_floor_handler_main(void *arg)
{
	struct bench_relay	*r = arg;
	ssize_t			 n;
	int			 flags = 0;

	for (;;) {
		n = recv(r->fd[0], bench_buf, sizeof(bench_buf), flags);
		if (n < 0 && errno == EAGAIN) {
			flags = 0;
			continue;
		}
		if (n <= 0)
			return 0;
		if (bench_relay_send(r->fd[0], r->out[0]) < 0)
			return 1;
		/* Drain: read on without sleeping until nothing is left. */
		if (r->drain)
			flags = MSG_DONTWAIT;
	}
}

struct bench_floor *
bench_floor_start(const struct bench_opts *o, const struct bench_sizes *sz,
    bool drain)
{
	struct bench_floor	*f;
	struct bench_relay	 r;
	int			 dev[2], l1[2], l2[2];

	(void)o;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->relay1 = f->relay2 = f->handler = -1;
	f->host = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, dev) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, l1) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, l2) < 0) {
		free(f);
		return NULL;
	}
	memset(&r, 0, sizeof(r));
	r.drain = drain;
	r.fd[0] = dev[1];
	r.fd[1] = l1[0];
	r.out[0] = sz->bus_req;
	r.out[1] = sz->host_rsp;
	f->relay1 = bench_fork(bench_relay_main, &r, r.fd, 2);
	r.fd[0] = l1[1];
	r.fd[1] = l2[0];
	r.out[0] = sz->hnd_req;
	r.out[1] = sz->bus_rsp;
	f->relay2 = bench_fork(bench_relay_main, &r, r.fd, 2);
	r.fd[0] = l2[1];
	r.fd[1] = -1;
	r.out[0] = sz->hnd_rsp;
	f->handler = bench_fork(bench_floor_handler_main, &r, r.fd, 1);
	close(dev[1]);
	close(l1[0]);
	close(l1[1]);
	close(l2[0]);
	close(l2[1]);
	f->host = dev[0];
	if (f->relay1 < 0 || f->relay2 < 0 || f->handler < 0) {
		bench_floor_stop(f);
		return NULL;
	}
	return f;
}

int
bench_floor_fd(const struct bench_floor *f)
{
	return f->host;
}

const char *bench_floor_procs[] = { "relay1", "relay2", "handler2",
    NULL };

size_t
bench_floor_pids(const struct bench_floor *f, pid_t *pids)
{
	pids[0] = f->relay1;
	pids[1] = f->relay2;
	pids[2] = f->handler;
	return 3;
}

void
bench_floor_stop(struct bench_floor *f)
{
	if (f == NULL)
		return;
	if (f->host >= 0)
		close(f->host);
	bench_stop(f->relay1, 2000);
	bench_stop(f->relay2, 2000);
	bench_stop(f->handler, 2000);
	free(f);
}
