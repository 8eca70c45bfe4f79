/* SPDX-License-Identifier: MIT */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wire.h"
#include "wire-varint.h"

/*
 * The arena hands out 16-byte aligned slices of the caller's buffer. When
 * a message needs more (rare: a 4 KiB datagram unpacks to well under the
 * usual 16 KiB arena), it spills to malloc; the blocks are chained through
 * their first word and freed on reset.
 */
#define ARENA_ALIGN	16

struct spill {
	struct spill	*next;
	max_align_t	 data[];
};

static void *
wire_arena_alloc(void *ctx, size_t size)
{
	struct wire_arena	*a = ctx;
	struct spill		*s;
	size_t			 need;

	need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (need >= size && a->size - a->used >= need) {
		void *p = a->buf + a->used;

		a->used += need;
		return p;
	}
	if ((s = malloc(sizeof(*s) + size)) == NULL)
		return NULL;
	s->next = a->spill;
	a->spill = s;
	return s->data;
}

static void
wire_arena_free(void *ctx, void *p)
{
	/* Everything goes at once in wire_arena_reset(). */
	(void)ctx;
	(void)p;
}

void
wire_arena_init(struct wire_arena *a, void *buf, size_t size)
{
	uintptr_t	off;

	off = (ARENA_ALIGN - ((uintptr_t)buf & (ARENA_ALIGN - 1))) &
	    (ARENA_ALIGN - 1);
	a->buf = (uint8_t *)buf + off;
	a->size = size > off ? size - off : 0;
	a->used = 0;
	a->spill = NULL;
	a->alloc.alloc = wire_arena_alloc;
	a->alloc.free = wire_arena_free;
	a->alloc.allocator_data = a;
}

void
wire_arena_reset(struct wire_arena *a)
{
	struct spill	*s, *next;

	for (s = a->spill; s != NULL; s = next) {
		next = s->next;
		free(s);
	}
	a->spill = NULL;
	a->used = 0;
}

void
wire_arena_deinit(struct wire_arena *a)
{
	wire_arena_reset(a);
}

ssize_t
wire_recv(int fd, uint8_t *buf, int *fds, size_t *nfds)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * WIRE_FDS_MAX)];
	} cbuf;
	struct iovec	 iov = { buf, WIRE_MSG_MAX + 1 };
	struct msghdr	 msg = { 0 };
	struct cmsghdr	*cmsg;
	size_t		 want = (fds != NULL && nfds != NULL) ? *nfds : 0;
	size_t		 got = 0, i, n;
	ssize_t		 r;
	int		 trunc;

	if (want > WIRE_FDS_MAX)
		want = WIRE_FDS_MAX;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof(cbuf.buf);
	do {
		r = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	trunc = (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int rfd;

			memcpy(&rfd, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(int));
			/* fds nobody asked for are closed, never leaked. */
			if (!trunc && got < want)
				fds[got++] = rfd;
			else {
				close(rfd);
				trunc = 1;
			}
		}
	}
	if (trunc || r > WIRE_MSG_MAX) {
		for (i = 0; i < got; i++)
			close(fds[i]);
		if (nfds != NULL)
			*nfds = 0;
		return -EMSGSIZE;
	}
	if (nfds != NULL)
		*nfds = got;
	return r;
}

size_t
wire_pack(const ProtobufCMessage *m, uint8_t *buf)
{
	size_t	len;

	len = protobuf_c_message_get_packed_size(m);
	if (len == 0 || len > WIRE_MSG_MAX)
		return 0;
	return protobuf_c_message_pack(m, buf);
}

int
wire_send_raw(int fd, const uint8_t *buf, size_t len, const int *fds,
    size_t nfds)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * WIRE_FDS_MAX)];
	} cbuf;
	struct iovec	 iov = { (void *)buf, len };
	struct msghdr	 msg = { 0 };
	struct cmsghdr	*cmsg;
	ssize_t		 r;

	if (nfds > WIRE_FDS_MAX)
		return -EINVAL;
	if (nfds == 0) {
		/* send(): no msghdr to copy in, as sendmsg() would. */
		do {
			r = send(fd, buf, len, MSG_NOSIGNAL);
		} while (r < 0 && errno == EINTR);
		return r < 0 ? -errno : 0;
	}
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	do {
		r = sendmsg(fd, &msg, MSG_NOSIGNAL);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return 0;
}

int
wire_send(int fd, const ProtobufCMessage *m, const int *fds, size_t nfds)
{
	uint8_t	buf[WIRE_MSG_MAX];
	size_t	len;

	if ((len = wire_pack(m, buf)) == 0)
		return -EMSGSIZE;
	return wire_send_raw(fd, buf, len, fds, nfds);
}

struct wire_queue_item {
	struct wire_queue_item	*next;
	size_t			 len;
	uint8_t			 buf[];
};

void
wire_queue_init(struct wire_queue *q, size_t limit)
{
	q->head = q->tail = NULL;
	q->count = 0;
	q->limit = limit;
}

void
wire_queue_deinit(struct wire_queue *q)
{
	struct wire_queue_item	*it, *next;

	for (it = q->head; it != NULL; it = next) {
		next = it->next;
		free(it);
	}
	q->head = q->tail = NULL;
	q->count = 0;
}

int
wire_queue_push(struct wire_queue *q, const uint8_t *buf, size_t len)
{
	struct wire_queue_item	*it;

	if (q->count >= q->limit)
		return -ENOBUFS;
	if ((it = malloc(sizeof(*it) + len)) == NULL)
		return -ENOMEM;
	it->next = NULL;
	it->len = len;
	memcpy(it->buf, buf, len);
	if (q->tail != NULL)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->count++;
	return 0;
}

int
wire_queue_flush(struct wire_queue *q, int fd)
{
	struct wire_queue_item	*it;
	int			 r;

	while ((it = q->head) != NULL) {
		r = wire_send_raw(fd, it->buf, it->len, NULL, 0);
		if (r == -EAGAIN)
			return 0;
		if (r < 0)
			return r;
		q->head = it->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->count--;
		free(it);
	}
	return 0;
}

int
wire_queue_send(struct wire_queue *q, int fd, const uint8_t *buf, size_t len)
{
	int	r;

	if (q->head == NULL) {
		r = wire_send_raw(fd, buf, len, NULL, 0);
		if (r != -EAGAIN)
			return r;
	}
	return wire_queue_push(q, buf, len);
}

int
wire_send_queued(struct wire_queue *q, int fd, const ProtobufCMessage *m)
{
	uint8_t	buf[WIRE_MSG_MAX];
	size_t	len;

	if ((len = wire_pack(m, buf)) == 0)
		return -EMSGSIZE;
	return wire_queue_send(q, fd, buf, len);
}

int
wire_set_nonblock(int fd)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFL)) < 0)
		return -errno;
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

ssize_t
wire_recv_dgram(int fd, uint8_t *buf)
{
	ssize_t	r;

	do {
		/* MSG_TRUNC: the datagram's real length, cut or not. */
		r = recv(fd, buf, WIRE_MSG_MAX + 1, MSG_DONTWAIT | MSG_TRUNC);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r > WIRE_MSG_MAX ? -EMSGSIZE : r;
}

struct wire_rbufs *
wire_rbufs_new(unsigned int n)
{
	struct wire_rbufs	*rb;

	if (n < 2)
		n = 2;
	if (n > WIRE_RECV_MANY)
		n = WIRE_RECV_MANY;
	if ((rb = malloc(sizeof(*rb) + n * sizeof(rb->buf[0]))) == NULL)
		return NULL;
	rb->n = n;
	return rb;
}

int
wire_recv_many(int fd, struct wire_rbufs *rb)
{
	struct mmsghdr	mm[WIRE_RECV_MANY];
	struct iovec	iov[WIRE_RECV_MANY];
	unsigned int	i, max = rb->n;
	int		n;

	memset(mm, 0, sizeof(mm[0]) * max);
	for (i = 0; i < max; i++) {
		iov[i].iov_base = rb->buf[i];
		iov[i].iov_len = WIRE_MSG_MAX + 1;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	do {
		n = recvmmsg(fd, mm, max, MSG_DONTWAIT, NULL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (i = 0; i < (unsigned int)n; i++) {
		if ((mm[i].msg_hdr.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
		    mm[i].msg_len > WIRE_MSG_MAX)
			rb->len[i] = -EMSGSIZE;
		else
			rb->len[i] = (ssize_t)mm[i].msg_len;
	}
	return n;
}

int
wire_batch_add(struct wire_batch *b, const uint8_t *env, size_t len)
{
	size_t	need = 1 + wire_varint_size(len) + len;
	uint8_t	*p;

	if (len == 0 || len > WIRE_MSG_MAX)
		return -EMSGSIZE;
	if (b->count > 0 && (b->count >= WIRE_BATCH_MAX ||
	    WIRE_BATCH_HDR + b->len + need > WIRE_MSG_MAX))
		return 1;
	p = b->buf + WIRE_BATCH_HDR + b->len;
	*p++ = 0x0a;		/* Batch.envelope: field 1, bytes */
	p = wire_varint_put(p, len);
	memcpy(p, env, len);
	if (b->count == 0)
		b->first_len = len;
	b->len += need;
	b->count++;
	return 0;
}

const uint8_t *
wire_batch_datagram(struct wire_batch *b, size_t *len)
{
	uint8_t	*start;

	if (b->count == 0) {
		*len = 0;
		return NULL;
	}
	if (b->count == 1) {
		*len = b->first_len;
		return b->buf + WIRE_BATCH_HDR + 1 +
		    wire_varint_size(b->first_len);
	}
	start = b->buf + WIRE_BATCH_HDR - 1 - wire_varint_size(b->len);
	start[0] = WIRE_BATCH_KEY;
	(void)wire_varint_put(start + 1, b->len);
	*len = b->len + (size_t)(b->buf + WIRE_BATCH_HDR - start);
	return start;
}

void
wire_walk_init(struct wire_walk *w, const uint8_t *buf, size_t len)
{
	w->p = buf;
	w->end = buf + len;
	w->state = 0;
}

int
wire_walk_next(struct wire_walk *w, const uint8_t **env, size_t *len,
    const char **why)
{
	uint64_t	n;

	if (w->state == 0) {
		if (w->p == w->end || w->p[0] != WIRE_BATCH_KEY) {
			/* A lone envelope: protobuf-c judges it. */
			*env = w->p;
			*len = (size_t)(w->end - w->p);
			w->state = 2;
			return 1;
		}
		w->p++;
		if (wire_varint_get(&w->p, w->end, 4, &n) < 0 ||
		    n != (size_t)(w->end - w->p)) {
			*why = "batch length does not match the datagram";
			goto bad;
		}
		if (n == 0) {
			*why = "empty batch";
			goto bad;
		}
		w->state = 1;
	}
	if (w->state == 2 || w->p == w->end)
		return 0;
	if (*w->p++ != 0x0a) {
		*why = "batch holds something other than envelopes";
		goto bad;
	}
	if (wire_varint_get(&w->p, w->end, 4, &n) < 0 ||
	    n > (size_t)(w->end - w->p)) {
		*why = "batch element runs past the datagram";
		goto bad;
	}
	if (n > 0 && w->p[0] == WIRE_BATCH_KEY) {
		*why = "batch inside a batch";
		goto bad;
	}
	*env = w->p;
	*len = n;
	w->p += n;
	return 1;
bad:
	w->state = 2;
	return -1;
}
