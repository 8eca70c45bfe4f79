/* SPDX-License-Identifier: MIT */
/*
 * stream: device ops (struct busdrv_dev_ops) for media that are a byte
 * stream to a peer that comes and goes: QEMU's external-BMC socket (vm.c)
 * and serial lines (serial.c). The medium supplies a codec: how bytes
 * become frames (feed), how frames become bytes (wrap), and what its
 * out-of-band frames mean (control, ioctl). stream.c supplies the rest:
 * accepting a peer on a listening socket (a new connection replaces the
 * old one, which is what a restarted QEMU needs) or using a plain fd such
 * as a tty as is, a bounded queue of received message frames for read(),
 * a bounded output buffer that write() and stream_send() fill and the
 * peer drains, and the peer's garbage count, past which it is dropped.
 *
 * What busdrv.c sees: read() gives one whole message frame as the codec
 * delivered it (unescaped; a frame longer than the read buffer is cut
 * short, so read_size must cover the codec's largest frame), or -1/EAGAIN;
 * write() takes one message frame, wraps it and buffers it (-1/EAGAIN when
 * the buffer is full, -1/ENOTCONN without a peer); wait() reports POLLIN
 * while a frame is queued and POLLOUT while a largest frame still fits;
 * ioctl() is the codec's (pseudo requests such as "send ATTN").
 *
 * A medium wires it up with a three-line open function:
 *
 *	static void *
 *	vm_open(int fd)
 *	{
 *		return stream_open(fd, &vm_codec);
 *	}
 *
 *	static const struct busdrv_dev_ops vm_dev_ops = {
 *		.read = stream_read, .write = stream_write,
 *		.ioctl = stream_ioctl, .wait = stream_wait,
 *		.open = vm_open, .close = stream_close,
 *	};
 *
 * and names vm_dev_ops in its busdrv_medium (.dev_ops), with .stream set.
 */
#ifndef STREAM_H
#define STREAM_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "busdrv.h"

#define STREAM_FRAME_MAX	BUSDRV_FRAME_MAX /* a decoded frame */
#define STREAM_WIRE_MAX		(2 * STREAM_FRAME_MAX + 2) /* wrapped */

/* Frame kinds. A codec may define more positive kinds of its own. */
#define STREAM_NONE		(-100)	/* feed: no frame completed yet */
#define STREAM_MSG		0	/* an IPMI message: goes to read() */
#define STREAM_CTL		1	/* out of band: codec->control() */
/* Garbage the codec recognised while framing (negative kinds). */
#define STREAM_BAD_ESCAPE	(-1)	/* terminator while an escape pends */
#define STREAM_BAD_OVERFLOW	(-2)	/* longer than the codec takes */
#define STREAM_BAD_EMPTY	(-3)	/* a terminator and nothing else */
#define STREAM_BAD_FRAMING	(-4)	/* anything else (bad escape ...) */

/* Verdicts of codec->classify on a message frame. */
#define STREAM_REQUEST		0	/* a request that will be answered */
#define STREAM_GARBAGE		1	/* counts toward dropping the peer */
#define STREAM_OTHER		2	/* neither */

/* Past this many garbage frames within STREAM_STRIKE_MS: drop the peer. */
#define STREAM_STRIKES		20
#define STREAM_STRIKE_MS	1000

struct stream;

/* One frame out of feed; body points into the codec's rx state and is
 * valid until the next feed or reset. */
struct stream_frame {
	const uint8_t	*body;
	size_t		 len;
	int		 kind;
};

struct stream_codec {
	const char	*name;
	/*
	 * The peer keeps one request outstanding and gives up on it after
	 * this long (QEMU: 4000). A new request while one is outstanding
	 * and younger than half of it is garbage. 0: no such rule.
	 */
	uint32_t	 peer_timeout_ms;

	/* Receive state: the partial frame between reads. */
	void	*(*rx_new)(void);
	void	 (*rx_free)(void *rx);
	void	 (*rx_reset)(void *rx);
	/*
	 * Consume bytes from in[0..n) up to and including the end of the
	 * first complete frame, which goes to *f (kind STREAM_NONE if
	 * none completed). Returns the bytes consumed (n when no frame
	 * completed), at least 1 whenever n > 0: 0 is taken as a codec
	 * bug and the rest of the read is dropped. Never reads past n.
	 */
	size_t	 (*feed)(void *rx, const uint8_t *in, size_t n,
		    struct stream_frame *f);
	/* Put body on the wire as kind into out; 0 if it does not fit. */
	size_t	 (*wrap)(const uint8_t *body, size_t len, int kind,
		    uint8_t *out, size_t max);
	/* A message frame: STREAM_REQUEST/GARBAGE/OTHER. NULL: request. */
	int	 (*classify)(const uint8_t *body, size_t len);
	/* A new peer is there (after busdrv_peer_up(0)): greet it. */
	void	 (*connected)(struct stream *s);
	/* A frame of another kind than STREAM_MSG. NULL: garbage. */
	void	 (*control)(struct stream *s, const uint8_t *body,
		    size_t len, int kind);
	/* busdrv's ioctl(req): send control frames. NULL: EINVAL. */
	int	 (*ioctl)(struct stream *s, unsigned long req);
};

/* The busdrv_dev_ops functions; open() is the medium's (see above). */
void	*stream_open(int fd, const struct stream_codec *codec);
void	 stream_close(void *ctx);
ssize_t	 stream_read(void *ctx, void *buf, size_t len);
ssize_t	 stream_write(void *ctx, const void *buf, size_t len);
int	 stream_ioctl(void *ctx, unsigned long req);
int	 stream_wait(void *ctx, short want, short *got, struct pollfd *extra,
	    nfds_t nextra, int timeout_ms);

/* For codecs. */
/* Wrap and buffer a frame; 0, or -1 with ENOTCONN / ENOBUFS / EINVAL. */
int	 stream_send(struct stream *s, int kind, const uint8_t *body,
	    size_t len);
/* Whether a peer is connected now. */
bool	 stream_connected(const struct stream *s);
/* Count one garbage frame (why: logged, rate-limited; NULL: not logged,
 * busdrv.c logs it); drops the peer past STREAM_STRIKES. */
void	 stream_garbage(struct stream *s, const char *why);
/* The host was reset: forget requests not yet handed to busdrv.c. */
void	 stream_host_reset(struct stream *s);

#endif /* STREAM_H */
