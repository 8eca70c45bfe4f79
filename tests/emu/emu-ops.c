/* SPDX-License-Identifier: MIT */
/*
 * emu_dev_ops: the device calls of a test build of a driver, as RPCs to
 * the emulator (emu-proto.h) over the socket inherited as --fd. The
 * driver is single threaded, so at most one call is outstanding: read,
 * write and ioctl send their request and block until the RET, exactly as
 * the syscall would block in the kernel (a shipped driver that makes a
 * call that never completes hangs here too, which is what tests catch).
 *
 * wait() keeps one watch outstanding in the emulator and re-sends it only
 * when the wanted events change or the last one was answered. A READY
 * that arrives while a call waits for its RET is remembered for the next
 * wait(); a READY for a superseded watch is ignored.
 */
#include <sys/random.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "emu.h"
#include "emu-proto.h"

struct emu_ops_ctx {
	int		fd;
	uint64_t	watch_id;	/* of the current watch */
	bool		watching;	/* sent and not answered */
	short		watch_events;
	bool		ready;		/* a READY not yet returned */
	short		ready_events;
	struct emu_msg	msg;
};

static int
emu_ops_send(struct emu_ops_ctx *x, struct emu_msg *m)
{
	ssize_t	n;

	do
		n = send(x->fd, m, EMU_MSG_HDR + m->dlen, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	return 0;
}

/*
 * Receive one message, waiting at most timeout_ms (-1: forever). Returns
 * 1 with x->msg filled, 0 on timeout, -1 when the emulator is gone.
 */
static int
emu_ops_recv(struct emu_ops_ctx *x, int timeout_ms)
{
	struct pollfd	pfd = { .fd = x->fd, .events = POLLIN };
	ssize_t		n;
	int		r;

	for (;;) {
		n = recv(x->fd, &x->msg, sizeof(x->msg), MSG_DONTWAIT);
		if (n > 0) {
			if ((size_t)n < EMU_MSG_HDR ||
			    (size_t)n != EMU_MSG_HDR + x->msg.dlen) {
				errno = EPROTO;
				return -1;
			}
			return 1;
		}
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		if (errno == EINTR)
			continue;
		r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r == 0)
			return 0;
	}
}

/* Keep a READY for the current watch; anything else is stale. */
static void
emu_ops_note(struct emu_ops_ctx *x)
{
	if (x->msg.type == EMU_MSG_READY && x->watching &&
	    x->msg.id == x->watch_id && x->msg.arg != 0) {
		x->watching = false;
		x->ready = true;
		x->ready_events = (short)x->msg.arg;
	}
}

/* Send a call and block until its RET (in x->msg). */
static ssize_t
emu_ops_call(struct emu_ops_ctx *x, struct emu_msg *m)
{
	if (emu_ops_send(x, m) < 0)
		return -1;
	for (;;) {
		if (emu_ops_recv(x, -1) < 0)
			return -1;
		if (x->msg.type == EMU_MSG_RET)
			break;
		emu_ops_note(x);
	}
	if (x->msg.ret < 0) {
		errno = x->msg.err;
		return -1;
	}
	return (ssize_t)x->msg.ret;
}

static ssize_t
emu_ops_read(void *ctx, void *buf, size_t len)
{
	struct emu_ops_ctx	*x = ctx;
	struct emu_msg		 m;
	ssize_t			 n;

	memset(&m, 0, EMU_MSG_HDR);
	m.type = EMU_MSG_READ;
	m.arg = len;
	if ((n = emu_ops_call(x, &m)) <= 0)
		return n;
	if ((size_t)n > len || x->msg.dlen != (size_t)n) {
		errno = EPROTO;
		return -1;
	}
	memcpy(buf, x->msg.data, (size_t)n);
	return n;
}

static ssize_t
emu_ops_write(void *ctx, const void *buf, size_t len)
{
	struct emu_ops_ctx	*x = ctx;
	struct emu_msg		 m;

	if (len > EMU_DATA_MAX) {
		errno = EFBIG;
		return -1;
	}
	memset(&m, 0, EMU_MSG_HDR);
	m.type = EMU_MSG_WRITE;
	m.dlen = (uint32_t)len;
	memcpy(m.data, buf, len);
	return emu_ops_call(x, &m);
}

static int
emu_ops_ioctl(void *ctx, unsigned long req)
{
	struct emu_ops_ctx	*x = ctx;
	struct emu_msg		 m;

	memset(&m, 0, EMU_MSG_HDR);
	m.type = EMU_MSG_IOCTL;
	m.arg = req;
	return emu_ops_call(x, &m) < 0 ? -1 : 0;
}

/*
 * Arm a watch for want unless one is armed or a READY meeting it is
 * kept. The emulator answers a WATCH at once with the events already
 * there (like poll(2) with a zero timeout), so this is a round trip.
 */
static int
emu_ops_watch(struct emu_ops_ctx *x, short want)
{
	struct emu_msg	m;
	int		r;

	if (x->ready && (x->ready_events & want) != 0)
		return 0;
	x->ready = false;
	if (x->watching && x->watch_events == want)
		return 0;
	memset(&m, 0, EMU_MSG_HDR);
	m.type = EMU_MSG_WATCH;
	m.id = ++x->watch_id;
	m.arg = (uint64_t)(unsigned short)want;
	if (emu_ops_send(x, &m) < 0)
		return -1;
	x->watching = false;
	do {
		if ((r = emu_ops_recv(x, -1)) < 0)
			return -1;
	} while (x->msg.type != EMU_MSG_READY || x->msg.id != x->watch_id);
	if (x->msg.arg != 0) {
		x->ready = true;
		x->ready_events = (short)x->msg.arg;
	} else {
		x->watching = true;
		x->watch_events = want;
	}
	return 0;
}

static int
emu_ops_wait(void *ctx, short want, short *got, struct pollfd *extra,
    nfds_t nextra, int timeout_ms)
{
	struct emu_ops_ctx	*x = ctx;
	struct pollfd		 pfd[8];
	nfds_t			 i;
	int			 r;

	*got = 0;
	if (nextra > 7) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < nextra; i++)
		extra[i].revents = 0;
	if (emu_ops_watch(x, want) < 0) {
		*got = POLLERR;
		return 0;
	}
	if (x->ready) {
		x->ready = false;
		*got = x->ready_events & want;
		return 0;
	}
	pfd[0].fd = x->fd;
	pfd[0].events = POLLIN;
	for (i = 0; i < nextra; i++)
		pfd[i + 1] = extra[i];
	if (poll(pfd, nextra + 1, timeout_ms) < 0)
		return -1;
	for (i = 0; i < nextra; i++)
		extra[i].revents = pfd[i + 1].revents;
	if (pfd[0].revents == 0)
		return 0;
	while ((r = emu_ops_recv(x, 0)) == 1)
		emu_ops_note(x);
	if (r < 0) {
		*got = POLLERR | POLLHUP;	/* the device is gone */
		return 0;
	}
	if (x->ready) {
		x->ready = false;
		*got = x->ready_events & want;
	}
	return 0;
}

static uint64_t
emu_ops_nonce(void)
{
	uint64_t	v;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
	return v | 1;
}

/* Start a session: discard all until the emulator echoes our nonce. */
static void *
emu_ops_open(int fd)
{
	struct emu_ops_ctx	*x;
	struct emu_msg		 m;
	uint64_t		 nonce = emu_ops_nonce();

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->fd = fd;
	memset(&m, 0, EMU_MSG_HDR);
	m.type = EMU_MSG_OPEN;
	m.id = nonce;
	if (emu_ops_send(x, &m) < 0)
		goto fail;
	for (;;) {
		if (emu_ops_recv(x, 5000) <= 0)
			goto fail;
		if (x->msg.type == EMU_MSG_OPENED && x->msg.id == nonce)
			return x;
	}
fail:
	free(x);
	return NULL;
}

static void
emu_ops_close(void *ctx)
{
	struct emu_ops_ctx	*x = ctx;

	if (x == NULL)
		return;
	close(x->fd);
	free(x);
}

const struct busdrv_dev_ops emu_dev_ops = {
	.read = emu_ops_read,
	.write = emu_ops_write,
	.ioctl = emu_ops_ioctl,
	.wait = emu_ops_wait,
	.open = emu_ops_open,
	.close = emu_ops_close,
};
