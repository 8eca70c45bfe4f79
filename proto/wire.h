/* SPDX-License-Identifier: MIT */
/*
 * wire: one protobuf-c envelope per SOCK_SEQPACKET datagram.
 *
 * Every process uses these helpers for every socket it speaks our protocols
 * on. A datagram is at most WIRE_MSG_MAX bytes; receiving uses a buffer one
 * byte larger so an oversize datagram shows as MSG_TRUNC instead of passing
 * silently. Unpacking on hot paths uses a per-connection arena so no malloc
 * happens per message; the arena is reset after each message is handled.
 */
#ifndef WIRE_H
#define WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <protobuf-c/protobuf-c.h>

#define WIRE_MSG_MAX	4096
#define WIRE_FDS_MAX	8

/* Expected failures of wire_recv() (positive). */
#define WIRE_E_TRUNC	1	/* datagram or its fds did not fit */

struct wire_arena {
	uint8_t			*buf;
	size_t			 size;
	size_t			 used;
	void			*spill;	/* malloc'd blocks past the buffer */
	ProtobufCAllocator	 alloc;
};

void	wire_arena_init(struct wire_arena *a, void *buf, size_t size);
void	wire_arena_reset(struct wire_arena *a);
void	wire_arena_deinit(struct wire_arena *a);

/*
 * Receive one datagram into buf (WIRE_MSG_MAX + 1 bytes). fds may be NULL;
 * otherwise *nfds is its size on entry and the count received on return
 * (received fds are CLOEXEC). Returns the length, 0 when the peer is gone,
 * -errno (-EAGAIN when nothing is waiting), or -EMSGSIZE for a datagram or
 * fd set that was cut short (the fds that did arrive are closed).
 */
ssize_t	wire_recv(int fd, uint8_t *buf, int *fds, size_t *nfds);

/* Pack m into buf (WIRE_MSG_MAX bytes). Returns the length, or 0 if m is
 * too big or would pack to nothing (an envelope with no oneof set). */
size_t	wire_pack(const ProtobufCMessage *m, uint8_t *buf);

/* Send one packed datagram with optional fds. Returns 0 or -errno
 * (-EAGAIN when the socket is full). Never raises SIGPIPE. */
int	wire_send_raw(int fd, const uint8_t *buf, size_t len, const int *fds,
	    size_t nfds);

/* Pack and send. Returns 0, -EMSGSIZE (too big), or wire_send_raw()'s. */
int	wire_send(int fd, const ProtobufCMessage *m, const int *fds,
	    size_t nfds);

/*
 * A bounded queue of packed datagrams waiting for a full socket to drain.
 * Used only when send() said EAGAIN, so its allocation is off the hot path.
 */
struct wire_queue_item;
struct wire_queue {
	struct wire_queue_item	*head;
	struct wire_queue_item	*tail;
	size_t			 count;
	size_t			 limit;
};

void	wire_queue_init(struct wire_queue *q, size_t limit);
void	wire_queue_deinit(struct wire_queue *q);
/* Returns 0, -ENOBUFS when the queue is full, -ENOMEM. */
int	wire_queue_push(struct wire_queue *q, const uint8_t *buf, size_t len);
/* Send queued datagrams until EAGAIN or empty. Returns 0 or -errno (not
 * -EAGAIN: a still-full socket leaves items queued and returns 0). */
int	wire_queue_flush(struct wire_queue *q, int fd);

/* Send a packed datagram now, or queue it on EAGAIN (and whenever the
 * queue is not empty, to keep order). Returns 0, -ENOBUFS (queue full) or
 * -errno. */
int	wire_queue_send(struct wire_queue *q, int fd, const uint8_t *buf,
	    size_t len);

/* Pack m and wire_queue_send() it; -EMSGSIZE when it does not pack. */
int	wire_send_queued(struct wire_queue *q, int fd,
	    const ProtobufCMessage *m);

int	wire_set_nonblock(int fd);

/*
 * One datagram without fds, by recv(): cheaper than recvmsg() and
 * recvmmsg(), which copy a msghdr in per datagram. Returns the length, 0
 * when the peer is gone, -EMSGSIZE for a datagram over WIRE_MSG_MAX, or
 * -errno (-EAGAIN: nothing waiting). For level-triggered loops that come
 * back while more is waiting; senders batch, so one datagram usually
 * holds all a peer had to say.
 */
ssize_t	wire_recv_dgram(int fd, uint8_t *buf);

/*
 * Several datagrams per receive: one recvmmsg() takes what is waiting (up
 * to WIRE_RECV_MANY), and a count below that means the socket is drained,
 * so no second call is needed to find EAGAIN. No fds. Returns the count,
 * or -errno (-EAGAIN: nothing waiting). len[i] is 0 when the peer is gone
 * (it and every slot after it; the count then says nothing about what
 * is left) and -EMSGSIZE for a datagram cut short.
 */
#define WIRE_RECV_MANY	8
struct wire_rbufs {
	unsigned int	n;		/* buffers allocated */
	ssize_t		len[WIRE_RECV_MANY];
	uint8_t		buf[][WIRE_MSG_MAX + 1];
};
/* n buffers (2..WIRE_RECV_MANY; 2 is enough to know the socket drained). */
struct wire_rbufs *wire_rbufs_new(unsigned int n);
int	wire_recv_many(int fd, struct wire_rbufs *rb);

/*
 * Batches: one datagram carrying several envelopes, so one send, one
 * receive and one wake-up serve what a busy moment produced. On the wire a
 * batch is an envelope whose body is field WIRE_BATCH_FIELD, a message
 * Batch { repeated bytes envelope = 1; } (the same in every protocol that
 * has one), written as the datagram's only field:
 *
 *	0x7a len(varint)  { 0x0a len(varint) envelope-bytes }...
 *
 * Each element is a packed envelope that is not itself a batch. A batch of
 * one is sent as the bare envelope, so a quiet link looks as before.
 */
#define WIRE_BATCH_FIELD	15
#define WIRE_BATCH_KEY		((WIRE_BATCH_FIELD << 3) | 2)
#define WIRE_BATCH_MAX		64	/* elements a sender puts in one */
#define WIRE_BATCH_HDR		3	/* key + 2-byte length */

struct wire_batch {
	struct wire_batch	*next;		/* for its owner's lists */
	size_t			 len;		/* element bytes in buf */
	size_t			 count;
	size_t			 first_len;	/* the first envelope's */
	uint8_t			 buf[WIRE_BATCH_HDR + 3 + WIRE_MSG_MAX];
};

static inline void
wire_batch_reset(struct wire_batch *b)
{
	b->len = b->count = b->first_len = 0;
}
/* Append one packed envelope (1 to WIRE_MSG_MAX bytes). Returns 0, 1
 * when it does not fit (send the batch, reset it, add again), or -EMSGSIZE
 * for an envelope no batch can hold. */
int	wire_batch_add(struct wire_batch *b, const uint8_t *env, size_t len);
/* The datagram to send: the one envelope as it is, or the batch; NULL
 * (and *len 0) for an empty batch, which is never sent. */
const uint8_t *wire_batch_datagram(struct wire_batch *b, size_t *len);

/*
 * Walk a received datagram: each call yields the next envelope (the whole
 * datagram when it is not a batch). Returns 1 with *env and *len set, 0 at
 * the end, -1 when the batch is malformed (*why says how; what came before
 * stays handled). An empty batch and a batch inside a batch are malformed.
 */
struct wire_walk {
	const uint8_t	*p;
	const uint8_t	*end;
	int		 state;		/* 0 first, 1 in a batch, 2 done */
};
void	wire_walk_init(struct wire_walk *w, const uint8_t *buf, size_t len);
int	wire_walk_next(struct wire_walk *w, const uint8_t **env, size_t *len,
	    const char **why);

#endif /* WIRE_H */
