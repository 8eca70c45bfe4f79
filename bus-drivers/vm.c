/* SPDX-License-Identifier: MIT */
/*
 * VM: the BMC side of QEMU's ipmi-bmc-extern device, the "VM" protocol of
 * OpenIPMI's ipmi_sim (reference: qemu-vm-protocol.md). QEMU emulates the
 * KCS or BT hardware the guest's driver talks to, and forwards each whole
 * request over a stream socket it connects to ours (the supervisor listens
 * and passes the listening socket as --fd; stream.c accepts, and a new
 * connection replaces the old one, as after a QEMU restart).
 *
 * The stream carries frames, each ended by 0xA0 (a message) or 0xA1 (a
 * control); 0xA0, 0xA1 and 0xAA inside a frame travel as 0xAA and the byte
 * with bit 4 set. A message body is [seq][netfn<<2|lun][cmd][data...][csum]
 * where seq is QEMU's opaque tag, echoed in the answer, and the checksum
 * makes the whole body, seq included, sum to 0 mod 256. busdrv.c sees the
 * unescaped bodies: vm_parse() and vm_format() are the medium's pure codec,
 * vm_feed() and vm_wrap() the framing stream.c calls.
 *
 * Controls are an opcode and maybe one parameter. QEMU sends VERSION and
 * CAPABILITIES on connect and RESET when the VM was reset; we send VERSION
 * and the attention state on connect (as ipmi_sim does), ATTN_IRQ/NOATTN
 * for SMS attention, and the machine controls busdrv.c asks for through
 * pseudo ioctls (VM_IOCTL(op)).
 *
 * QEMU keeps one request outstanding and answers the guest 0xC3 by itself
 * 4 s after sending one, 0xD2 while the link is down, 0xC6 for a request
 * too long for its 300-byte buffer. So a new request means QEMU gave up on
 * the last one (one_outstanding), and the broker's deadline stays below
 * 4 s. Input is hostile: every length is checked before a byte is read.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "busdrv.h"
#include "log.h"
#include "stream.h"

#define VM_MSG_END		0xa0
#define VM_CTL_END		0xa1
#define VM_ESCAPE		0xaa
#define VM_ESCAPE_BIT		0x10

#define VM_OP_NOATTN		0x00
#define VM_OP_ATTN		0x01
#define VM_OP_ATTN_IRQ		0x02
#define VM_OP_POWEROFF		0x03
#define VM_OP_RESET		0x04
#define VM_OP_ENABLE_IRQ	0x05
#define VM_OP_DISABLE_IRQ	0x06
#define VM_OP_SEND_NMI		0x07
#define VM_OP_CAPABILITIES	0x08
#define VM_OP_GRACEFUL_SHUTDOWN	0x09
#define VM_OP_VERSION		0xff

#define VM_PROTOCOL_VERSION	1

/* CAPABILITIES bits (QEMU -> us). */
#define VM_CAP_POWER		0x01
#define VM_CAP_RESET		0x02
#define VM_CAP_IRQ		0x04
#define VM_CAP_NMI		0x08
#define VM_CAP_ATTN		0x10
#define VM_CAP_GRACEFUL		0x20

/* busdrv.c's ioctl requests on this medium: "send control op". */
#define VM_IOCTL_BASE		0x564d00ul	/* 'V' 'M' */
#define VM_IOCTL(op)		(VM_IOCTL_BASE | (op))

/*
 * Limits. QEMU's buffers hold MAX_IPMI_MSG_SIZE = 300 bytes of
 * netfn/cmd/data each way. Requests: its KCS model forwards up to 300
 * (298 data bytes), its BT model 296 (the length and seq bytes share the
 * buffer): 298 covers both. Responses: QEMU takes a body of 302 bytes
 * (seq + 300 + checksum) and its BT model passes at most 295 data bytes
 * after the CC to the guest (KCS 297); the stock Linux guest driver reads
 * at most IPMI_MAX_MSG_LENGTH = 272 bytes including netfn, cmd and cc, and
 * turns more into an error. We announce 269, as kcs.c does, so a larger
 * handler answer becomes 0xCA from the broker, which the guest understands.
 */
#define VM_MAX_REQUEST		298
#define VM_MAX_RESPONSE		269
#define VM_REQUEST_MIN		4	/* seq, netfn, cmd, csum */
#define VM_RESPONSE_MIN		5	/* seq, netfn, cmd, cc, csum */
#define VM_BODY_MAX		(VM_REQUEST_MIN + VM_MAX_REQUEST)
#define VM_HOST_TIMEOUT_MS	4000
#define VM_CC_TOO_LONG		0xc8

_Static_assert(VM_BODY_MAX <= STREAM_FRAME_MAX, "body fits the queue");
_Static_assert(VM_RESPONSE_MIN + VM_MAX_RESPONSE <= BUSDRV_FRAME_MAX,
    "response fits busdrv's frame");
_Static_assert(VM_RESPONSE_MIN + 3 <= 64, "error frames fit busdrv's");

/* Receive state: the frame being collected. */
#define VM_RX_ESCAPE		0x1	/* 0xAA seen, its byte not yet */
#define VM_RX_OVERFLOW		0x2	/* longer than VM_BODY_MAX */
#define VM_RX_BADESC		0x4	/* 0xAA before a byte never escaped */

struct vm_rx {
	unsigned	state;
	size_t		len;
	uint8_t		buf[VM_BODY_MAX];
};

int	vm_parse(const uint8_t *frame, size_t len, struct busdrv_req *req,
	    uint8_t *errframe, size_t *errlen);
size_t	vm_format(const struct busdrv_req *req, uint8_t cc,
	    const uint8_t *data, size_t len, uint8_t *frame, size_t max);
void	*vm_rx_new(void);
void	vm_rx_free(void *rx);
void	vm_rx_reset(void *rx);
size_t	vm_feed(void *rx, const uint8_t *in, size_t n,
	    struct stream_frame *f);
size_t	vm_wrap(const uint8_t *body, size_t len, int kind, uint8_t *out,
	    size_t max);
int	vm_classify(const uint8_t *body, size_t len);
uint32_t vm_caps_controls(uint8_t caps);

/*
 * The attention state we last set: a new connection gets it (QEMU forgets
 * it with the connection). And what the peer said it can do, -1 until its
 * CAPABILITIES. One driver process serves one link.
 */
static bool	vm_attention;
static int	vm_caps = -1;

static uint8_t
vm_checksum(const uint8_t *p, size_t n)
{
	uint8_t	sum = 0;

	while (n-- > 0)
		sum += *p++;
	return sum;
}

/* Bytes echoed after the CC for group (0x2C) and OEM (0x2E) requests. */
static size_t
vm_echo_len(uint8_t netfn, size_t have)
{
	size_t	want = 0;

	if (netfn == 0x2c)
		want = 1;
	else if (netfn == 0x2e)
		want = 3;
	return want <= have ? want : 0;
}

/* Parse [seq][netfn<<2|lun][cmd][data...][csum]; see busdrv_medium. */
int
vm_parse(const uint8_t *frame, size_t len, struct busdrv_req *req,
    uint8_t *errframe, size_t *errlen)
{
	uint8_t	netfn;
	size_t	dlen;

	*errlen = 0;
	if (len < VM_REQUEST_MIN)
		return BUSDRV_E_SHORT;
	if (vm_checksum(frame, len) != 0)
		return BUSDRV_E_CHECKSUM;
	netfn = frame[1] >> 2;
	if (netfn & 1)
		return BUSDRV_E_RESPONSE;	/* QEMU never sends one */
	req->netfn = netfn;
	req->lun = frame[1] & 0x03;
	req->cmd = frame[2];
	req->seq = frame[0];
	req->rq_addr = 0;
	req->rs_addr = 0;
	req->rq_lun = 0;
	dlen = len - VM_REQUEST_MIN;
	if (dlen > VM_MAX_REQUEST || dlen > BUSDRV_DATA_MAX) {
		/* QEMU waits for an answer: tell it why. */
		req->len = 0;
		*errlen = vm_format(req, VM_CC_TOO_LONG, frame + 3,
		    vm_echo_len(netfn, dlen), errframe, 64);
		return BUSDRV_E_OVERSIZE;
	}
	req->len = (uint16_t)dlen;
	memcpy(req->data, frame + 3, dlen);
	return 0;
}

/* Format [seq][(netfn+1)<<2|lun][cmd][cc][data...][csum]. */
size_t
vm_format(const struct busdrv_req *req, uint8_t cc, const uint8_t *data,
    size_t len, uint8_t *frame, size_t max)
{
	size_t	total;

	if (len > VM_MAX_RESPONSE || (len > 0 && data == NULL))
		return 0;
	total = VM_RESPONSE_MIN + len;
	if (total > max)
		return 0;
	frame[0] = req->seq;
	frame[1] = (uint8_t)(((req->netfn | 1) & 0x3f) << 2 |
	    (req->lun & 0x03));
	frame[2] = req->cmd;
	frame[3] = cc;
	if (len > 0)
		memcpy(frame + 4, data, len);
	frame[total - 1] = (uint8_t)-vm_checksum(frame, total - 1);
	return total;
}

/* ---- framing, for stream.c ---- */

void *
vm_rx_new(void)
{
	return calloc(1, sizeof(struct vm_rx));
}

void
vm_rx_free(void *rx)
{
	free(rx);
}

void
vm_rx_reset(void *rx)
{
	struct vm_rx	*r = rx;

	r->state = 0;
	r->len = 0;
}

/* A terminator: what the collected frame is. */
static int
vm_end_kind(const struct vm_rx *r, uint8_t c)
{
	if (r->state & VM_RX_ESCAPE)
		return STREAM_BAD_ESCAPE;
	if (r->state & VM_RX_OVERFLOW)
		return STREAM_BAD_OVERFLOW;
	if (r->state & VM_RX_BADESC)
		return STREAM_BAD_FRAMING;
	if (r->len == 0)
		return STREAM_BAD_EMPTY;
	return c == VM_MSG_END ? STREAM_MSG : STREAM_CTL;
}

/* See stream_codec.feed: up to and including the first terminator. */
size_t
vm_feed(void *rx, const uint8_t *in, size_t n, struct stream_frame *f)
{
	struct vm_rx	*r = rx;
	size_t		 i;
	uint8_t		 c;

	f->kind = STREAM_NONE;
	for (i = 0; i < n; i++) {
		c = in[i];
		if (c == VM_MSG_END || c == VM_CTL_END) {
			f->kind = vm_end_kind(r, c);
			f->body = r->buf;
			f->len = r->len;
			r->state = 0;
			r->len = 0;	/* buf stays valid until more bytes */
			return i + 1;
		}
		if (c == VM_ESCAPE) {
			if (r->state & VM_RX_ESCAPE)
				r->state |= VM_RX_BADESC;
			r->state |= VM_RX_ESCAPE;
			continue;
		}
		if (r->state & VM_RX_ESCAPE) {
			r->state &= ~VM_RX_ESCAPE;
			/* Only 0xB0, 0xB1 and 0xBA are ever escaped. */
			if (c != (VM_MSG_END | VM_ESCAPE_BIT) &&
			    c != (VM_CTL_END | VM_ESCAPE_BIT) &&
			    c != (VM_ESCAPE | VM_ESCAPE_BIT))
				r->state |= VM_RX_BADESC;
			c &= (uint8_t)~VM_ESCAPE_BIT;
		}
		if (r->len >= sizeof(r->buf)) {
			r->state |= VM_RX_OVERFLOW;
			continue;
		}
		r->buf[r->len++] = c;
	}
	return n;
}

/* Escape body and end it as kind (STREAM_MSG or STREAM_CTL). */
size_t
vm_wrap(const uint8_t *body, size_t len, int kind, uint8_t *out, size_t max)
{
	size_t	i, n = 0;
	uint8_t	c;

	if (kind != STREAM_MSG && kind != STREAM_CTL)
		return 0;
	for (i = 0; i < len; i++) {
		c = body[i];
		if (c == VM_MSG_END || c == VM_CTL_END || c == VM_ESCAPE) {
			if (n + 2 > max)
				return 0;
			out[n++] = VM_ESCAPE;
			c |= VM_ESCAPE_BIT;
		} else if (n + 1 > max)
			return 0;
		out[n++] = c;
	}
	if (n + 1 > max)
		return 0;
	out[n++] = kind == STREAM_MSG ? VM_MSG_END : VM_CTL_END;
	return n;
}

/* Requests count; anything parse would drop is garbage from QEMU. */
int
vm_classify(const uint8_t *body, size_t len)
{
	if (len < VM_REQUEST_MIN || vm_checksum(body, len) != 0 ||
	    ((body[1] >> 2) & 1))
		return STREAM_GARBAGE;
	return STREAM_REQUEST;
}

/* QEMU's CAPABILITIES bits as bus.ControlOp bits. */
uint32_t
vm_caps_controls(uint8_t caps)
{
	uint32_t	c = 0;

	if (caps & VM_CAP_POWER)
		c |= 1u << 0;			/* POWER_OFF */
	if (caps & VM_CAP_RESET)
		c |= 1u << 1;			/* RESET */
	if (caps & VM_CAP_NMI)
		c |= 1u << 2;			/* NMI */
	if (caps & VM_CAP_GRACEFUL)
		c |= 1u << 3;			/* GRACEFUL_SHUTDOWN */
	if (caps & VM_CAP_IRQ)
		c |= 1u << 4 | 1u << 5;		/* IRQ_ENABLE, _DISABLE */
	return c;
}

static int
vm_send_op(struct stream *s, uint8_t op)
{
	return stream_send(s, STREAM_CTL, &op, 1);
}

/* A new connection: VERSION 1, then the attention state we hold. */
static void
vm_connected(struct stream *s)
{
	const uint8_t	version[] = { VM_OP_VERSION, VM_PROTOCOL_VERSION };

	vm_caps = -1;
	(void)stream_send(s, STREAM_CTL, version, sizeof(version));
	(void)vm_send_op(s, vm_attention ? VM_OP_ATTN_IRQ : VM_OP_NOATTN);
}

static void
vm_control(struct stream *s, const uint8_t *body, size_t len, int kind)
{
	if (kind != STREAM_CTL || len == 0) {
		busdrv_count_garbage();
		stream_garbage(s, "unknown frame");
		return;
	}
	switch (body[0]) {
	case VM_OP_VERSION:
		if (len >= 2)
			log_info("bus %s: QEMU speaks VM protocol version %u",
			    busdrv_bus_name(), body[1]);
		break;
	case VM_OP_CAPABILITIES:
		if (len < 2) {
			busdrv_count_garbage();
			stream_garbage(s, "CAPABILITIES without its byte");
			break;
		}
		vm_caps = body[1];
		busdrv_peer_up(vm_caps_controls(body[1]));
		break;
	case VM_OP_RESET:
		stream_host_reset(s);
		break;
	default:
		busdrv_count_garbage();
		stream_garbage(s, "unknown control from QEMU");
		break;
	}
}

/* busdrv.c's ioctl: send one control. Attention is remembered even
 * without a peer, for the next one. */
static int
vm_ioctl(struct stream *s, unsigned long req)
{
	uint8_t	op;

	if ((req & ~0xfful) != VM_IOCTL_BASE) {
		errno = EINVAL;
		return -1;
	}
	op = (uint8_t)(req & 0xff);
	switch (op) {
	case VM_OP_NOATTN:
	case VM_OP_ATTN:
	case VM_OP_ATTN_IRQ:
		if (vm_caps >= 0 && !(vm_caps & VM_CAP_ATTN)) {
			errno = EOPNOTSUPP;
			return -1;
		}
		vm_attention = op != VM_OP_NOATTN;
		if (!stream_connected(s))
			return 0;
		break;
	case VM_OP_POWEROFF:
	case VM_OP_RESET:
	case VM_OP_ENABLE_IRQ:
	case VM_OP_DISABLE_IRQ:
	case VM_OP_SEND_NMI:
	case VM_OP_GRACEFUL_SHUTDOWN:
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	return vm_send_op(s, op);
}

static const struct stream_codec vm_codec = {
	.name = "QEMU",
	.peer_timeout_ms = VM_HOST_TIMEOUT_MS,
	.rx_new = vm_rx_new,
	.rx_free = vm_rx_free,
	.rx_reset = vm_rx_reset,
	.feed = vm_feed,
	.wrap = vm_wrap,
	.classify = vm_classify,
	.connected = vm_connected,
	.control = vm_control,
	.ioctl = vm_ioctl,
};

static void *
vm_open(int fd)
{
	return stream_open(fd, &vm_codec);
}

static const struct busdrv_dev_ops vm_dev_ops = {
	.read = stream_read,
	.write = stream_write,
	.ioctl = stream_ioctl,
	.wait = stream_wait,
	.open = vm_open,
	.close = stream_close,
};

const struct busdrv_medium busdrv_vm = {
	.driver = "vm",
	.medium = 12,			/* system interface */
	/*
	 * The guest sees KCS or BT and QEMU does not say which; the wire
	 * is the same. KCS: QEMU's default and ipmi_sim's first choice.
	 */
	.protocol = 5,
	.max_request = VM_MAX_REQUEST,
	.max_response = VM_MAX_RESPONSE,
	.max_outstanding = 1,
	.host_timeout_ms = VM_HOST_TIMEOUT_MS,
	.read_size = BUSDRV_FRAME_MAX,
	/* ATTN_IRQ, as ipmi_sim: the guest driver is interrupted and asks
	 * Get Message Flags; a bare ATTN would wait for its next poll. */
	.can_set_attention = true,
	.can_clear_attention = true,
	.ioctl_set_attention = VM_IOCTL(VM_OP_ATTN_IRQ),
	.ioctl_clear_attention = VM_IOCTL(VM_OP_NOATTN),
	.write_waits_pollout = false,	/* buffered by stream.c */
	.einval_means_gone = false,
	.one_outstanding = true,	/* QEMU sends the next one after 4 s */
	.read_blocks = false,
	.backlog_newest_first = false,
	.stream = true,
	.controls = 0x3f,
	.ioctl_control = {
		VM_IOCTL(VM_OP_POWEROFF),		/* POWER_OFF */
		VM_IOCTL(VM_OP_RESET),			/* RESET */
		VM_IOCTL(VM_OP_SEND_NMI),		/* NMI */
		VM_IOCTL(VM_OP_GRACEFUL_SHUTDOWN),	/* GRACEFUL_SHUTDOWN */
		VM_IOCTL(VM_OP_ENABLE_IRQ),		/* IRQ_ENABLE */
		VM_IOCTL(VM_OP_DISABLE_IRQ),		/* IRQ_DISABLE */
	},
	.dev_ops = &vm_dev_ops,
	.parse = vm_parse,
	.format = vm_format,
};
