/* SPDX-License-Identifier: MIT */
/*
 * busdrv: what every bus driver shares. A bus driver is a small process
 * that alone does I/O on one host-facing device, which the supervisor
 * opened and passes as --fd N; it talks to the broker over the socketpair
 * passed as --link M (proto/bus.proto). It turns host frames into
 * BusRequests and BusResponses into host frames, and owns the medium's
 * rules; it never decides routing.
 *
 * A medium (bt.c, kcs.c, ipmb.c, ssif.c) supplies a struct busdrv_medium:
 * its limits, a pure parser and formatter for its frames, and its traps.
 * busdrv.c supplies the rest: the event loop, the broker link, bounded
 * response queues with expiry, cancellation, attention, statistics and
 * rate-limited logs.
 *
 * Device I/O goes through struct busdrv_dev_ops. Production uses
 * busdrv_sys_ops (the real syscalls on the inherited fd). Tests link the
 * same medium and framework code with an emulation of the kernel device
 * (tests/emu/), so the driver logic under test is the shipped code.
 */
#ifndef BUSDRV_H
#define BUSDRV_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BUSDRV_DATA_MAX		1024	/* request/response data bytes */
#define BUSDRV_CONTROL_N	6	/* bus.ControlOp values */
#define BUSDRV_FRAME_MAX	1100	/* a whole frame as the device sees it */

/* Verdicts of busdrv_medium.parse (positive). */
#define BUSDRV_E_SHORT		1	/* too short for netfn/cmd (dropped) */
#define BUSDRV_E_RESPONSE	2	/* odd netfn: a response (dropped) */
#define BUSDRV_E_CHECKSUM	3	/* bad checksum (dropped) */
#define BUSDRV_E_LENGTH		4	/* length disagrees: answer errframe */
#define BUSDRV_E_OVERSIZE	5	/* more data than we carry: answer */
#define BUSDRV_E_MALFORMED	6	/* anything else (dropped) */
#define BUSDRV_E_IGNORE		7	/* not for us, not an error */

/* The device, as the framework and the media touch it. */
struct busdrv_dev_ops {
	/* Like read(2)/write(2)/ioctl(fd, req, 0): -1 with errno. */
	ssize_t	(*read)(void *ctx, void *buf, size_t len);
	ssize_t	(*write)(void *ctx, const void *buf, size_t len);
	int	(*ioctl)(void *ctx, unsigned long req);
	/*
	 * Wait up to timeout_ms (-1: forever) until the device shows one of
	 * `want` (POLLIN, POLLOUT) or one of the extra fds is ready (their
	 * revents are filled in). *got receives the device's events (0 when
	 * it was only an extra fd or the timeout). Returns 0 or -1/errno.
	 */
	int	(*wait)(void *ctx, short want, short *got, struct pollfd *extra,
		    nfds_t nextra, int timeout_ms);
	/* Set up for the device fd inherited as --fd; returns ctx or NULL. */
	void	*(*open)(int fd);
	void	(*close)(void *ctx);
};

extern const struct busdrv_dev_ops busdrv_sys_ops;

/* One host request, as parsed from a frame. */
struct busdrv_req {
	uint8_t		netfn;		/* request netfn, even */
	uint8_t		lun;
	uint8_t		cmd;
	uint8_t		seq;		/* BT seq, IPMB rqSeq (6 bits) */
	uint8_t		rq_addr;	/* IPMB: requester SA (8-bit) */
	uint8_t		rs_addr;	/* IPMB: responder SA, ours */
	uint8_t		rq_lun;		/* IPMB: requester LUN */
	uint16_t	len;
	uint8_t		data[BUSDRV_DATA_MAX];
};

/* A medium: its facts, its frame codec and its traps. */
struct busdrv_medium {
	const char	*driver;		/* "bt" */
	uint8_t		 medium;		/* IPMI channel medium type */
	uint8_t		 protocol;		/* IPMI channel protocol type */
	uint16_t	 max_request;		/* data bytes after cmd */
	uint16_t	 max_response;		/* data bytes after the CC */
	uint16_t	 max_outstanding;	/* requests the host may have */
	uint32_t	 host_timeout_ms;	/* host gives up after this */
	size_t		 read_size;		/* read(2) buffer to use */
	bool		 can_set_attention;
	bool		 can_clear_attention;
	unsigned long	 ioctl_set_attention;
	unsigned long	 ioctl_clear_attention;
	/* Write only when the device polls POLLOUT (BT); otherwise write at
	 * once and treat EINVAL as "the host stopped waiting" (KCS, SSIF). */
	bool		 write_waits_pollout;
	bool		 einval_means_gone;
	/* A new request replaces the outstanding one (KCS, SSIF). */
	bool		 one_outstanding;
	/* read(2) blocks whatever O_NONBLOCK says (BT): read one frame per
	 * POLLIN. Otherwise read until EAGAIN. */
	bool		 read_blocks;
	/* The device hands a backlog over newest first (IPMB): read it all,
	 * then handle it oldest first. */
	bool		 backlog_newest_first;
	/* A byte stream to a peer that comes and goes (VM, serial): its
	 * device ops report the peer with busdrv_peer_up()/down(). */
	bool		 stream;
	/* Operations on the machine the medium can do at all (bit n =
	 * bus.ControlOp n), carried out as ioctl(ioctl_control[n]) on the
	 * device ops (stream ops turn these into control frames). */
	uint32_t	 controls;
	unsigned long	 ioctl_control[BUSDRV_CONTROL_N];
	/* The medium's own device ops (stream media: stream.h), used
	 * instead of the ones busdrv_main() is given; NULL for devices. */
	const struct busdrv_dev_ops *dev_ops;

	/*
	 * Parse one frame read from the device. Returns 0 with *req filled,
	 * or a BUSDRV_E_* verdict. For BUSDRV_E_LENGTH / BUSDRV_E_OVERSIZE
	 * the parser may put a ready-made error response frame (0xC7 /
	 * 0xC8) in errframe and its length in errlen (0 when none can be formed).
	 */
	int	(*parse)(const uint8_t *frame, size_t len, struct busdrv_req *req,
		    uint8_t *errframe, size_t *errlen);

	/*
	 * Format the response to req. Returns the frame length, or 0 when it
	 * cannot be formed (too long for the medium).
	 */
	size_t	(*format)(const struct busdrv_req *req, uint8_t cc,
		    const uint8_t *data, size_t len, uint8_t *frame,
		    size_t max);
};

/*
 * For the device ops of stream media: the far side connected (and allows
 * these controls, a subset of the medium's), went away (requests it had
 * outstanding are cancelled and counted), or reported a host reset
 * (outstanding requests dropped, attention cleared, handlers told).
 */
extern uint32_t	busdrv_baud;	/* serial: --baud from the config, or 0 */

void	busdrv_peer_up(uint32_t controls);
void	busdrv_peer_down(void);
void	busdrv_host_reset_seen(void);
/* Also for device ops: the bus name (for log lines), and one frame the
 * device ops dropped as garbage before parse saw it (counted malformed). */
const char *busdrv_bus_name(void);
void	busdrv_count_garbage(void);

/*
 * Run a driver: parse the command line (--fd N --link M --name NAME
 * --channel C [--device PATH] [--queue N] [-d]), speak hello to the
 * broker, and loop until the link closes (exit 0) or the device fails
 * (exit 1). Never returns on error paths that a restart can mend: it
 * exits with a logged reason and the supervisor starts a new driver.
 */
int	busdrv_main(int argc, char *argv[], const struct busdrv_medium *m,
	    const struct busdrv_dev_ops *ops);

#endif /* BUSDRV_H */
