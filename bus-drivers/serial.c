/* SPDX-License-Identifier: MIT */
/*
 * Serial: IPMI over an RS-232 line (or a pty), in the two modes a host
 * such as ipmitool -I serial-basic / -I serial-terminal speaks, told
 * apart per message by its first byte and answered in the same mode.
 *
 * Basic mode: 0xA0, an IPMB-format message (rsSA, netFn/rsLUN, chk1,
 * rqSA, rqSeq/rqLUN, cmd, data, chk2) with its special bytes escaped,
 * 0xA5. The escape byte 0xAA is followed by the special byte with 0x10
 * added (0xA0 -> B0, A5 -> B5, A6 -> B6, AA -> BA), and ASCII ESC 0x1B by
 * 0x3B. 0xA6 is the handshake: a receiver skips it wherever it shows up.
 * The answer is an IPMB response addressed back to the requester (rqSA,
 * netFn+1/rqLUN, chk1, rsSA, rqSeq/rsLUN, cmd, cc, data, chk2), framed
 * and escaped the same way, after a handshake (we are ready for the next
 * message; stream.c's feed gives one frame per call, so the handshake
 * rides with the answer rather than following the request's stop byte).
 * Frames with a bad checksum are dropped and counted, unanswered; the
 * host retries after its timeout.
 *
 * Terminal mode: a printable line "[" hex-ASCII pairs "]" and a newline
 * (CR or LF): netFn/rsLUN, rqSeq/bridge, cmd, data. Digits are case
 * insensitive, pairs may be separated by spaces or tabs, "\" before a
 * newline continues the message on the next line, BS/DEL delete the last
 * character and ESC the whole message; any other control byte discards
 * it. The answer is one line "[" netFn+1/rsLUN, rqSeq/bridge (as
 * received), cmd, cc, data "]" CR LF, upper-case pairs separated by a
 * space. Nothing is echoed. Text commands ("SYS ...") are not supported:
 * dropped and counted.
 *
 * What ipmitool (src/plugins/serial) needs, checked in its source: it
 * writes a whole request at once and waits 5 s for the answer (5 tries,
 * a new rqSeq each, the line flushed before each try); it never waits for
 * the handshake and skips it; it matches a basic answer on both addresses,
 * netFn+1 with the LUNs swapped, rqSeq and cmd, and a terminal answer on
 * netFn/LUN | 4, rqSeq (bridge bits ignored) and cmd, reading lines until
 * one ends in "]" and CR or LF. It takes at most 47 message bytes in basic
 * mode (our 32-byte data limit fits), and a "[ERR ..." line makes it
 * sleep and resend, so we never send one.
 *
 * The byte stream is stream.c's (stream.h): our codec turns the bytes the
 * line delivers, in any split, into message frames [0xA0] + the unescaped
 * IPMB message or ["["] + the decoded bytes of a terminal line, and a
 * response frame of the same shape back into wire bytes. serial_parse()
 * and serial_format() are the medium's pure parser and formatter on those
 * frames. busdrv_req has no field for the mode: the terminal flag and the
 * bridge bits ride in rq_lun, which only basic mode needs otherwise and
 * busdrv.c never reads.
 *
 * The line itself: at open the tty is put in raw mode (no echo, no CR/LF
 * mapping, 8 bits, no flow control) at the configured speed (--baud; 0
 * leaves the speed as it is). The supervisor opened it O_NONBLOCK and
 * O_NOCTTY, and holds it across driver restarts.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "busdrv.h"
#include "log.h"
#include "stream.h"

#define SERIAL_START		0xa0
#define SERIAL_STOP		0xa5
#define SERIAL_HANDSHAKE	0xa6
#define SERIAL_ESCAPE		0xaa
#define SERIAL_ESC		0x1b	/* ASCII ESC, escaped too */

/* Message frame tags (the first byte of every frame we pass around). */
#define SERIAL_TAG_BASIC	SERIAL_START
#define SERIAL_TAG_TERM		'['

/* rq_lun: bit 7 marks a terminal-mode request, bits 0-1 its bridge. */
#define SERIAL_REQ_TERM		0x80

#define SERIAL_BASIC_REQ_OVERHEAD	7	/* header + chk2 */
#define SERIAL_BASIC_RSP_OVERHEAD	8	/* header + cc + chk2 */
#define SERIAL_TERM_REQ_OVERHEAD	3	/* netFn, seq, cmd */
#define SERIAL_TERM_RSP_OVERHEAD	4	/* netFn, seq, cmd, cc */

/*
 * Responses: the IPMI specification requires serial interfaces to carry
 * 40-byte messages, which ipmitool reads as 32 data bytes after the CC in
 * basic mode (SERIAL_BM_MAX_RS_SIZE, 40 - 8; its receive buffer holds 47
 * message bytes) and 36 in terminal mode. One limit for both modes: 32.
 * A larger handler answer becomes 0xCA in the broker.
 */
#define SERIAL_MAX_RESPONSE	32

/*
 * Requests: ipmitool sends at most 33 (basic) or 37 (terminal) data
 * bytes; other hosts may send more, so we take up to 248 and answer 0xC8
 * beyond. The receive buffers hold more than that, so an oversized
 * request is still read whole and answered; a message overflowing even
 * them is dropped and counted.
 */
#define SERIAL_MAX_REQUEST	248
#define SERIAL_RX_BASIC_MAX	320	/* unescaped message bytes */
#define SERIAL_RX_LINE_MAX	1024	/* characters between the brackets */
#define SERIAL_RX_FRAME_MAX	(1 + SERIAL_RX_LINE_MAX / 2)
#define SERIAL_READ_SIZE	SERIAL_RX_FRAME_MAX

/*
 * How long the host waits for an answer: ipmitool's serial plugins poll
 * 5 s (SERIAL_BM_TIMEOUT, IPMI_SERIAL_TIMEOUT), then resend with a new
 * rqSeq, 5 tries in all. The broker's deadline sits below this.
 */
#define SERIAL_HOST_TIMEOUT_MS	5000

/* Error frames parse builds go into busdrv.c's 64-byte buffer. */
#define SERIAL_ERRFRAME_MAX	64

_Static_assert(1 + SERIAL_BASIC_RSP_OVERHEAD + SERIAL_MAX_RESPONSE <=
    STREAM_FRAME_MAX, "response frame");
_Static_assert(3 + 2 * (SERIAL_BASIC_RSP_OVERHEAD + SERIAL_MAX_RESPONSE) <=
    STREAM_WIRE_MAX, "basic frame");
_Static_assert(3 * (SERIAL_TERM_RSP_OVERHEAD + SERIAL_MAX_RESPONSE) + 3 <=
    STREAM_WIRE_MAX, "terminal line");
_Static_assert(1 + SERIAL_BASIC_RSP_OVERHEAD + 3 <= SERIAL_ERRFRAME_MAX,
    "error frames");
_Static_assert(SERIAL_MAX_REQUEST <= BUSDRV_DATA_MAX, "request data");
_Static_assert(SERIAL_RX_BASIC_MAX < SERIAL_RX_FRAME_MAX, "rx frame");
_Static_assert(SERIAL_READ_SIZE <= BUSDRV_FRAME_MAX, "read size");

enum serial_rx_state {
	SERIAL_RX_IDLE,		/* between messages: skip to 0xA0 or '[' */
	SERIAL_RX_BASIC,	/* inside a basic-mode frame */
	SERIAL_RX_TERM,		/* inside a terminal-mode message */
	SERIAL_RX_TERM_END,	/* saw ']': waiting for the newline */
};

/* Terminal line continuation: '\' seen, then its newline(s). */
#define SERIAL_CONT_NONE	0
#define SERIAL_CONT_SLASH	1
#define SERIAL_CONT_NEWLINE	2

/* The receive side of one line: its partial message. */
struct serial_rx {
	enum serial_rx_state	state;
	bool			escape;		/* basic: after 0xAA */
	bool			over;		/* message overflowed */
	int			cont;		/* terminal: SERIAL_CONT_* */
	size_t			len;		/* frame or line bytes */
	uint8_t			frame[SERIAL_RX_FRAME_MAX];
	uint8_t			line[SERIAL_RX_LINE_MAX];
};

void	*serial_rx_new(void);
void	serial_rx_free(void *rx);
void	serial_rx_reset(void *rx);
size_t	serial_feed(void *rx, const uint8_t *in, size_t n,
	    struct stream_frame *f);
size_t	serial_wrap(const uint8_t *body, size_t len, int kind, uint8_t *out,
	    size_t max);
int	serial_parse(const uint8_t *frame, size_t len, struct busdrv_req *req,
	    uint8_t *errframe, size_t *errlen);
size_t	serial_format(const struct busdrv_req *req, uint8_t cc,
	    const uint8_t *data, size_t len, uint8_t *frame, size_t max);
uint8_t	serial_checksum(const uint8_t *p, size_t n);

/* The escape table: special byte and the code that follows 0xAA. */
static const uint8_t serial_specials[][2] = {
	{ SERIAL_START, 0xb0 },
	{ SERIAL_STOP, 0xb5 },
	{ SERIAL_HANDSHAKE, 0xb6 },
	{ SERIAL_ESCAPE, 0xba },
	{ SERIAL_ESC, 0x3b },
};
#define SERIAL_NSPECIALS	(sizeof(serial_specials) / \
				    sizeof(serial_specials[0]))

static const char serial_hex[] = "0123456789ABCDEF";

/* The two's complement of the byte sum: covered bytes + it == 0 mod 256. */
uint8_t
serial_checksum(const uint8_t *p, size_t n)
{
	uint8_t	sum = 0;
	size_t	i;

	for (i = 0; i < n; i++)
		sum += p[i];
	return (uint8_t)-sum;
}

/* ---- receiving: bytes to message frames ---- */

void *
serial_rx_new(void)
{
	struct serial_rx	*rx;

	if ((rx = calloc(1, sizeof(*rx))) != NULL)
		serial_rx_reset(rx);
	return rx;
}

void
serial_rx_free(void *rx)
{
	free(rx);
}

void
serial_rx_reset(void *arg)
{
	struct serial_rx	*rx = arg;

	rx->state = SERIAL_RX_IDLE;
	rx->escape = rx->over = false;
	rx->cont = SERIAL_CONT_NONE;
	rx->len = 0;
}

static void
serial_rx_start(struct serial_rx *rx, enum serial_rx_state state)
{
	serial_rx_reset(rx);
	rx->state = state;
	if (state == SERIAL_RX_BASIC) {
		rx->frame[0] = SERIAL_TAG_BASIC;
		rx->len = 1;
	}
}

/* A message the codec discards reaches stream.c as a garbage kind. */
static void
serial_rx_bad(struct serial_rx *rx, int kind, struct stream_frame *f)
{
	serial_rx_reset(rx);
	f->body = NULL;
	f->len = 0;
	f->kind = kind;
}

static void
serial_rx_msg(struct serial_rx *rx, size_t len, struct stream_frame *f)
{
	f->body = rx->frame;
	f->len = len;
	f->kind = STREAM_MSG;
	serial_rx_reset(rx);
}

/* A byte between messages: only a start byte means anything. */
static void
serial_rx_idle(struct serial_rx *rx, uint8_t c)
{
	if (c == SERIAL_START)
		serial_rx_start(rx, SERIAL_RX_BASIC);
	else if (c == '[')
		serial_rx_start(rx, SERIAL_RX_TERM);
}

/*
 * The message in progress is garbage, and c, which showed it, is looked
 * at again as a byte between messages (a start byte begins the next).
 * The verdict has no body, so the next message may start at once: every
 * byte is consumed, as stream.c wants.
 */
static void
serial_rx_bad_at(struct serial_rx *rx, int kind, uint8_t c,
    struct stream_frame *f)
{
	serial_rx_bad(rx, kind, f);
	serial_rx_idle(rx, c);
}

/* One byte inside a basic frame. */
static void
serial_rx_basic(struct serial_rx *rx, uint8_t c, struct stream_frame *f)
{
	size_t	i;

	switch (c) {
	case SERIAL_START:
		/* A new frame inside a frame: the partial one is lost. */
		serial_rx_bad_at(rx, STREAM_BAD_FRAMING, c, f);
		return;
	case SERIAL_STOP:
		if (rx->escape)
			serial_rx_bad(rx, STREAM_BAD_ESCAPE, f);
		else if (rx->over)
			serial_rx_bad(rx, STREAM_BAD_OVERFLOW, f);
		else
			serial_rx_msg(rx, rx->len, f);
		return;
	case SERIAL_HANDSHAKE:
		return;
	case SERIAL_ESCAPE:
		if (rx->escape)
			serial_rx_bad(rx, STREAM_BAD_FRAMING, f);
		else
			rx->escape = true;
		return;
	}
	if (rx->escape) {
		for (i = 0; i < SERIAL_NSPECIALS; i++)
			if (serial_specials[i][1] == c)
				break;
		if (i == SERIAL_NSPECIALS) {
			/* Not an escape code: skip to the next frame. */
			serial_rx_bad(rx, STREAM_BAD_FRAMING, f);
			return;
		}
		c = serial_specials[i][0];
		rx->escape = false;
	}
	if (rx->len - 1 < SERIAL_RX_BASIC_MAX)
		rx->frame[rx->len++] = c;
	else
		rx->over = true;
}

static int
serial_hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The line's hex pairs, optionally separated by blanks, as a frame. */
static void
serial_rx_unhex(struct serial_rx *rx, struct stream_frame *f)
{
	size_t	i = 0, out = 1;
	int	hi, lo;

	if (rx->over) {
		serial_rx_bad(rx, STREAM_BAD_OVERFLOW, f);
		return;
	}
	rx->frame[0] = SERIAL_TAG_TERM;
	while (i < rx->len) {
		if (rx->line[i] == ' ' || rx->line[i] == '\t') {
			i++;
			continue;
		}
		/* Text commands fail here too. */
		if (i + 1 >= rx->len || (hi = serial_hexval(rx->line[i])) < 0 ||
		    (lo = serial_hexval(rx->line[i + 1])) < 0) {
			serial_rx_bad(rx, STREAM_BAD_FRAMING, f);
			return;
		}
		rx->frame[out++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	serial_rx_msg(rx, out, f);
}

/* One byte inside a terminal message, before its ']'. */
static void
serial_rx_term(struct serial_rx *rx, uint8_t c, struct stream_frame *f)
{
	if (c == '\r' || c == '\n') {
		if (rx->cont == SERIAL_CONT_NONE)	/* before ']' */
			serial_rx_bad(rx, STREAM_BAD_FRAMING, f);
		else				/* a continued line */
			rx->cont = SERIAL_CONT_NEWLINE;
		return;
	}
	if (rx->cont == SERIAL_CONT_SLASH) {
		/* '\' continues a line only right before its newline. */
		serial_rx_bad_at(rx, STREAM_BAD_FRAMING, c, f);
		return;
	}
	rx->cont = SERIAL_CONT_NONE;
	if (c == '[') {
		/* The start character: begin again. */
		serial_rx_start(rx, SERIAL_RX_TERM);
	} else if (c == SERIAL_ESC) {
		serial_rx_reset(rx);	/* the user deleted it */
	} else if (c == 0x08 || c == 0x7f) {
		if (rx->len > 0 && !rx->over)
			rx->len--;
	} else if (c == '\\') {
		rx->cont = SERIAL_CONT_SLASH;
	} else if (c == ']') {
		rx->state = SERIAL_RX_TERM_END;
	} else if (c == '\t' || (c >= 0x20 && c < 0x7f)) {
		if (rx->len < SERIAL_RX_LINE_MAX)
			rx->line[rx->len++] = c;
		else
			rx->over = true;
	} else {
		/* An illegal character ends the message (0xA0 then starts
		 * a basic frame). */
		serial_rx_bad_at(rx, STREAM_BAD_FRAMING, c, f);
	}
}

/*
 * The codec's feed (stream.h): consume bytes of in up to and including
 * the one that completes a frame, which goes to *f (kind STREAM_NONE if
 * none). Returns the bytes consumed, n when no frame completed, and at
 * least 1 when n > 0. Bytes between messages (a host's stray CR or LF,
 * line noise) are skipped without a verdict.
 */
size_t
serial_feed(void *arg, const uint8_t *in, size_t n, struct stream_frame *f)
{
	struct serial_rx	*rx = arg;
	size_t			 i = 0;
	uint8_t			 c;

	f->body = NULL;
	f->len = 0;
	f->kind = STREAM_NONE;
	while (i < n && f->kind == STREAM_NONE) {
		c = in[i++];
		switch (rx->state) {
		case SERIAL_RX_IDLE:
			serial_rx_idle(rx, c);
			break;
		case SERIAL_RX_BASIC:
			serial_rx_basic(rx, c, f);
			break;
		case SERIAL_RX_TERM:
			serial_rx_term(rx, c, f);
			break;
		case SERIAL_RX_TERM_END:
			if (c == '\r' || c == '\n')
				serial_rx_unhex(rx, f);
			else if (c != ' ' && c != '\t')
				serial_rx_bad_at(rx, STREAM_BAD_FRAMING, c,
				    f);
			break;
		}
	}
	return i;
}

/* ---- sending: frames to bytes ---- */

static size_t
serial_wrap_basic(const uint8_t *msg, size_t n, uint8_t *out, size_t max)
{
	size_t	i, j, o = 0;

	if (max < 3)
		return 0;
	out[o++] = SERIAL_HANDSHAKE;
	out[o++] = SERIAL_START;
	for (i = 0; i < n; i++) {
		for (j = 0; j < SERIAL_NSPECIALS; j++)
			if (serial_specials[j][0] == msg[i])
				break;
		if (o + (j < SERIAL_NSPECIALS ? 2 : 1) + 1 > max)
			return 0;
		if (j < SERIAL_NSPECIALS) {
			out[o++] = SERIAL_ESCAPE;
			out[o++] = serial_specials[j][1];
		} else
			out[o++] = msg[i];
	}
	out[o++] = SERIAL_STOP;
	return o;
}

static size_t
serial_wrap_term(const uint8_t *msg, size_t n, uint8_t *out, size_t max)
{
	size_t	i, o = 0;

	/* '[' + n pairs + (n - 1) blanks + ']' CR LF */
	if (n == 0 || 3 * n + 3 > max)
		return 0;
	out[o++] = '[';
	for (i = 0; i < n; i++) {
		if (i > 0)
			out[o++] = ' ';
		out[o++] = (uint8_t)serial_hex[msg[i] >> 4];
		out[o++] = (uint8_t)serial_hex[msg[i] & 0x0f];
	}
	out[o++] = ']';
	out[o++] = '\r';
	out[o++] = '\n';
	return o;
}

/*
 * The codec's wrap: a message frame (its tag says the mode) as wire
 * bytes, a basic one after the handshake. 0 if it does not fit or is not
 * ours.
 */
size_t
serial_wrap(const uint8_t *body, size_t len, int kind, uint8_t *out,
    size_t max)
{
	if (kind != STREAM_MSG || len < 1)
		return 0;
	if (body[0] == SERIAL_TAG_BASIC)
		return serial_wrap_basic(body + 1, len - 1, out, max);
	if (body[0] == SERIAL_TAG_TERM)
		return serial_wrap_term(body + 1, len - 1, out, max);
	return 0;
}

/* ---- parsing ---- */

/* The IANA (0x2E) or body code (0x2C) an error answer repeats. */
static size_t
serial_echo(uint8_t netfn, size_t avail)
{
	size_t	echo = 0;

	if (netfn == 0x2c)
		echo = 1;
	else if (netfn == 0x2e)
		echo = 3;
	return avail >= echo ? echo : 0;
}

static int
serial_parse_basic(const uint8_t *msg, size_t n, struct busdrv_req *req)
{
	if (n < SERIAL_BASIC_REQ_OVERHEAD)
		return BUSDRV_E_SHORT;
	if (serial_checksum(msg, 2) != msg[2] ||
	    serial_checksum(msg + 3, n - 4) != msg[n - 1])
		return BUSDRV_E_CHECKSUM;
	req->rs_addr = msg[0];
	req->netfn = msg[1] >> 2;
	req->lun = msg[1] & 0x03;
	req->rq_addr = msg[3];
	req->seq = msg[4] >> 2;
	req->rq_lun = msg[4] & 0x03;
	req->cmd = msg[5];
	return 0;
}

static int
serial_parse_term(const uint8_t *msg, size_t n, struct busdrv_req *req)
{
	if (n < SERIAL_TERM_REQ_OVERHEAD)
		return BUSDRV_E_SHORT;
	req->netfn = msg[0] >> 2;
	req->lun = msg[0] & 0x03;
	req->seq = msg[1] >> 2;
	req->rq_lun = SERIAL_REQ_TERM | (msg[1] & 0x03);
	req->cmd = msg[2];
	req->rq_addr = req->rs_addr = 0;	/* no addresses here */
	return 0;
}

/*
 * One message frame from serial_feed(). errframe must hold
 * SERIAL_ERRFRAME_MAX bytes; it gets a 0xC8 answer in the request's mode
 * for a request carrying more than SERIAL_MAX_REQUEST data bytes.
 */
int
serial_parse(const uint8_t *frame, size_t len, struct busdrv_req *req,
    uint8_t *errframe, size_t *errlen)
{
	const uint8_t	*data;
	size_t		 dlen;
	int		 r;

	*errlen = 0;
	if (len < 1)
		return BUSDRV_E_SHORT;
	if (frame[0] == SERIAL_TAG_BASIC) {
		if ((r = serial_parse_basic(frame + 1, len - 1, req)) != 0)
			return r;
		data = frame + 1 + 6;
		dlen = len - 1 - SERIAL_BASIC_REQ_OVERHEAD;
	} else if (frame[0] == SERIAL_TAG_TERM) {
		if ((r = serial_parse_term(frame + 1, len - 1, req)) != 0)
			return r;
		data = frame + 1 + SERIAL_TERM_REQ_OVERHEAD;
		dlen = len - 1 - SERIAL_TERM_REQ_OVERHEAD;
	} else
		return BUSDRV_E_MALFORMED;
	if (req->netfn & 1)
		return BUSDRV_E_RESPONSE;
	if (dlen > SERIAL_MAX_REQUEST) {
		*errlen = serial_format(req, 0xc8, data,
		    serial_echo(req->netfn, dlen), errframe,
		    SERIAL_ERRFRAME_MAX);
		return BUSDRV_E_OVERSIZE;
	}
	memcpy(req->data, data, dlen);
	req->len = (uint16_t)dlen;
	return 0;
}

/* ---- formatting ---- */

/*
 * The response frame to req, in the mode the request came in (wrap puts
 * it on the wire): [0xA0] + an IPMB response addressed back to the
 * requester with both checksums, or ["["] + netFn/LUN, rqSeq/bridge, cmd,
 * cc, data. 0 if more than SERIAL_MAX_RESPONSE data bytes or over max.
 */
size_t
serial_format(const struct busdrv_req *req, uint8_t cc, const uint8_t *data,
    size_t len, uint8_t *frame, size_t max)
{
	uint8_t	*m = frame + 1;
	size_t	 n;

	if (len > SERIAL_MAX_RESPONSE)
		return 0;
	if (req->rq_lun & SERIAL_REQ_TERM) {
		n = 1 + SERIAL_TERM_RSP_OVERHEAD + len;
		if (n > max)
			return 0;
		frame[0] = SERIAL_TAG_TERM;
		m[0] = (uint8_t)(((req->netfn | 1) << 2) | (req->lun & 0x03));
		m[1] = (uint8_t)(((req->seq & 0x3f) << 2) |
		    (req->rq_lun & 0x03));
		m[2] = req->cmd;
		m[3] = cc;
		if (len > 0)
			memcpy(m + 4, data, len);
		return n;
	}
	n = 1 + SERIAL_BASIC_RSP_OVERHEAD + len;
	if (n > max)
		return 0;
	frame[0] = SERIAL_TAG_BASIC;
	m[0] = req->rq_addr;
	m[1] = (uint8_t)(((req->netfn | 1) << 2) | (req->rq_lun & 0x03));
	m[2] = serial_checksum(m, 2);
	m[3] = req->rs_addr;
	m[4] = (uint8_t)(((req->seq & 0x3f) << 2) | (req->lun & 0x03));
	m[5] = req->cmd;
	m[6] = cc;
	if (len > 0)
		memcpy(m + 7, data, len);
	m[7 + len] = serial_checksum(m + 3, 4 + len);
	return n;
}

/* ---- the line ---- */

static const struct {
	uint32_t	baud;
	speed_t		speed;
} serial_speeds[] = {
	{ 1200, B1200 }, { 2400, B2400 }, { 4800, B4800 },
	{ 9600, B9600 }, { 19200, B19200 }, { 38400, B38400 },
	{ 57600, B57600 }, { 115200, B115200 }, { 230400, B230400 },
	{ 460800, B460800 }, { 921600, B921600 },
};

/* Raw mode at the configured speed; a non-tty (a test's socket) as is. */
static void
serial_line_setup(int fd)
{
	struct termios	t;
	size_t		i;

	if (!isatty(fd))
		return;
	if (tcgetattr(fd, &t) < 0) {
		log_warn("bus %s: tcgetattr", busdrv_bus_name());
		return;
	}
	cfmakeraw(&t);
	t.c_cflag |= CLOCAL | CREAD;
	t.c_cflag &= ~(tcflag_t)CRTSCTS;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (busdrv_baud != 0) {
		for (i = 0; i < sizeof(serial_speeds) /
		    sizeof(serial_speeds[0]); i++)
			if (serial_speeds[i].baud == busdrv_baud)
				break;
		if (i == sizeof(serial_speeds) / sizeof(serial_speeds[0]))
			log_warnx("bus %s: baud %u not supported; speed left "
			    "as it is", busdrv_bus_name(), busdrv_baud);
		else if (cfsetspeed(&t, serial_speeds[i].speed) < 0)
			log_warn("bus %s: baud %u", busdrv_bus_name(),
			    busdrv_baud);
	}
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		log_warn("bus %s: tcsetattr", busdrv_bus_name());
}

static const struct stream_codec serial_codec = {
	.name = "serial",
	/* ipmitool resends after its own timeout; a person typing in
	 * terminal mode may send quickly. No early-resend rule. */
	.peer_timeout_ms = 0,
	.rx_new = serial_rx_new,
	.rx_free = serial_rx_free,
	.rx_reset = serial_rx_reset,
	.feed = serial_feed,
	.wrap = serial_wrap,
	.classify = NULL,
	.connected = NULL,
	.control = NULL,		/* no out-of-band frames */
	.ioctl = NULL,
};

static void *
serial_open(int fd)
{
	serial_line_setup(fd);
	return stream_open(fd, &serial_codec);
}

static const struct busdrv_dev_ops serial_dev_ops = {
	.read = stream_read,
	.write = stream_write,
	.ioctl = stream_ioctl,
	.wait = stream_wait,
	.open = serial_open,
	.close = stream_close,
};

const struct busdrv_medium busdrv_serial = {
	.driver = "serial",
	.medium = 5,			/* asynchronous serial/modem */
	/* One protocol per channel: IPMB-1.0, the format basic mode
	 * carries (terminal mode, TMode = 9, is served alongside). */
	.protocol = 1,
	.max_request = SERIAL_MAX_REQUEST,
	.max_response = SERIAL_MAX_RESPONSE,
	.max_outstanding = 1,
	.host_timeout_ms = SERIAL_HOST_TIMEOUT_MS,
	.read_size = SERIAL_READ_SIZE,
	.can_set_attention = false,
	.can_clear_attention = false,
	.write_waits_pollout = true,	/* stream.c buffers */
	.einval_means_gone = false,
	/* ipmitool resends after its timeout: the new request is the one
	 * it waits for, the old answer would only be skipped. */
	.one_outstanding = true,
	.read_blocks = false,
	.backlog_newest_first = false,
	.stream = true,
	.controls = 0,
	.dev_ops = &serial_dev_ops,
	.parse = serial_parse,
	.format = serial_format,
};
