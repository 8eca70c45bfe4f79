/* SPDX-License-Identifier: MIT */
/*
 * IPMB: requests from other controllers on an I2C bus, through the
 * Linux ipmb_dev_int device /dev/ipmb-<adapter> (reference 1.3, 2.2).
 *
 * The kernel collects every I2C write addressed to us, prepends a length
 * byte and our own 8-bit address, and queues the frame if it holds at
 * least 7 bytes and checksum 1 is right; it never checks checksum 2, so
 * this parser does, and a frame failing either never reaches the broker.
 * Its queue is a stack (insertion and removal at the head), so a backlog
 * reads newest first; busdrv.c reads it all and handles it oldest first.
 * Frames with an odd netfn are responses to requests some BMC process
 * sent; nothing here sends requests, so they are counted and dropped.
 *
 * A response is a whole IPMB frame addressed back to the requester: the
 * kernel computes no checksums and copies no addresses, so both are ours
 * to get right. Its write() is a synchronous I2C master transfer: it never
 * blocks on the host, POLLOUT is always set, and a failure is the
 * adapter's errno (a NAK, a lost arbitration), counted as a write error.
 * Requesters retry on their own after a timeout (they may resend the same
 * rqSeq); the device has no notion of a request being awaited, so there is
 * nothing to cancel and no EINVAL meaning "gone".
 */
#include <string.h>

#include "busdrv.h"

/*
 * ipmb_dev_int's buffer (MAX_MSG_LEN, 240 since the driver grew it from
 * 128): write() refuses more than this, and read() hands over at most
 * 239 bytes (the length byte and 238 frame bytes; the rest of a longer
 * I2C write is dropped). We read with 256 so a longer frame from a future
 * kernel shows up as a length mismatch rather than silently cut.
 */
#define IPMB_DEV_MSG_MAX	240
#define IPMB_DEV_FRAME_MAX	239
#define IPMB_READ_SIZE		256

/* [len][rsSA][netfn/rsLUN][chk1][rqSA][rqSeq/rqLUN][cmd] ... [chk2] */
#define IPMB_REQ_OVERHEAD	8
/* [len][rqSA][netfn/rqLUN][chk1][rsSA][rqSeq/rsLUN][cmd][cc] ... [chk2] */
#define IPMB_RSP_OVERHEAD	9

/* Requests: whatever the kernel can hand over (231 data bytes). */
#define IPMB_MAX_REQUEST	(IPMB_DEV_FRAME_MAX - IPMB_REQ_OVERHEAD)

/*
 * Responses: the IPMB message limit of 32 bytes. The IPMB specification
 * caps a message at 32 bytes (secondary sources; not checked against the
 * spec text); Linux's own IPMB requester (ipmi_ipmb.c) refuses to send
 * more than 32 bytes after the address byte, and the kernel's SMBus mode
 * silently cuts a block at 32. Small controllers size their buffers to
 * match, so we count the destination address too and send at most 32
 * bytes: 24 data bytes after the completion code. A larger handler answer
 * becomes 0xCA (cannot return that many bytes) in the broker, which is
 * what a requester expects on IPMB: it asks again for less. Buses known
 * to carry larger frames could raise this (up to the kernel's
 * IPMB_DEV_MSG_MAX - IPMB_RSP_OVERHEAD = 231); it is a constant, not a
 * guess made per request.
 */
#define IPMB_MSG_MAX		32
#define IPMB_MAX_RESPONSE	(IPMB_MSG_MAX - (IPMB_RSP_OVERHEAD - 1))

/* The error frames parse may build: a header, CC and an IANA echo.
 * busdrv.c hands parse a 64-byte errframe. */
#define IPMB_ERRFRAME_MAX	(IPMB_RSP_OVERHEAD + 3)

_Static_assert(IPMB_RSP_OVERHEAD + IPMB_MAX_RESPONSE <= IPMB_DEV_MSG_MAX,
    "a response must fit the kernel's write buffer");
_Static_assert(IPMB_MAX_REQUEST <= BUSDRV_DATA_MAX, "request data");

/*
 * How long a requester waits. Linux's IPMB requester (ipmi_ipmb.c)
 * resends after 250 ms (one retry by default), and OpenBMC's ipmbbridged
 * waits 250 ms per try (6 tries); either resends the same rqSeq. Answering
 * inside 250 ms, even with the broker's 0xC3, means the requester hears
 * back before its first resend, so a command is not executed twice. The
 * IPMI specification's own IPMB timings (60 ms-range response limits, a
 * 5 s sequence-number lifetime) are from secondary sources and unchecked.
 */
#define IPMB_HOST_TIMEOUT_MS	250

/*
 * Requests in flight at once. rqSeq has 6 bits per requester, but several
 * requesters share a bus and each usually keeps a few at most; 16 pending
 * in 250 ms is far above what an I2C bus at 100 kHz can deliver. The
 * driver answers 0xC0 (busy) beyond that.
 */
#define IPMB_MAX_OUTSTANDING	16

int	ipmb_parse(const uint8_t *frame, size_t len, struct busdrv_req *req,
	    uint8_t *errframe, size_t *errlen);
size_t	ipmb_format(const struct busdrv_req *req, uint8_t cc,
	    const uint8_t *data, size_t len, uint8_t *frame, size_t max);
uint8_t	ipmb_checksum(const uint8_t *p, size_t n);

/* The two's complement of the byte sum: covered bytes + it == 0 mod 256. */
uint8_t
ipmb_checksum(const uint8_t *p, size_t n)
{
	uint8_t	sum = 0;
	size_t	i;

	for (i = 0; i < n; i++)
		sum += p[i];
	return (uint8_t)-sum;
}

/* The header fields, once checksum 1 vouched for the first ones. */
static void
ipmb_parse_header(const uint8_t *frame, struct busdrv_req *req)
{
	req->rs_addr = frame[1];
	req->netfn = frame[2] >> 2;
	req->lun = frame[2] & 0x03;
	req->rq_addr = frame[4];
	req->seq = frame[5] >> 2;
	req->rq_lun = frame[5] & 0x03;
	req->cmd = frame[6];
}

/*
 * 0xC8 to a request larger than we carry. For the group and OEM netfns
 * the response echoes the body code or IANA after the CC, like every
 * other answer to them.
 */
static void
ipmb_parse_oversize(const uint8_t *frame, size_t avail,
    struct busdrv_req *req, uint8_t *errframe, size_t *errlen)
{
	size_t	echo = 0;

	if (req->netfn == 0x2c)
		echo = 1;
	else if (req->netfn == 0x2e)
		echo = 3;
	if (avail < 7 + echo)
		echo = 0;
	*errlen = ipmb_format(req, 0xc8, frame + 7, echo, errframe,
	    IPMB_ERRFRAME_MAX);
}

/*
 * One frame as read(2) returned it. errframe must hold IPMB_ERRFRAME_MAX
 * bytes. Checks, in order: the length byte against the bytes read, the
 * minimum size, checksum 1, then (for a whole frame) checksum 2, the
 * netfn parity and our size limit. A frame longer than our read buffer
 * (read(2) cuts it silently; byte 0 still says how long it was) cannot
 * have its checksum 2 checked: a request is answered 0xC8 on the strength
 * of checksum 1, as the header bytes it needs came first.
 */
int
ipmb_parse(const uint8_t *frame, size_t len, struct busdrv_req *req,
    uint8_t *errframe, size_t *errlen)
{
	size_t	want, dlen;

	*errlen = 0;
	if (len == 0)
		return BUSDRV_E_SHORT;
	want = (size_t)frame[0] + 1;
	if (want < len)
		return BUSDRV_E_LENGTH;	/* the kernel never does */
	if (len < IPMB_REQ_OVERHEAD)
		return BUSDRV_E_SHORT;
	if (ipmb_checksum(frame + 1, 2) != frame[3])
		return BUSDRV_E_CHECKSUM;
	ipmb_parse_header(frame, req);
	if (want > len) {
		if (req->netfn & 1)
			return BUSDRV_E_RESPONSE;
		ipmb_parse_oversize(frame, len, req, errframe, errlen);
		return BUSDRV_E_OVERSIZE;
	}
	if (ipmb_checksum(frame + 4, len - 5) != frame[len - 1])
		return BUSDRV_E_CHECKSUM;
	if (req->netfn & 1)
		return BUSDRV_E_RESPONSE;
	dlen = len - IPMB_REQ_OVERHEAD;
	if (dlen > IPMB_MAX_REQUEST || dlen > BUSDRV_DATA_MAX) {
		ipmb_parse_oversize(frame, len, req, errframe, errlen);
		return BUSDRV_E_OVERSIZE;
	}
	memcpy(req->data, frame + 7, dlen);
	req->len = (uint16_t)dlen;
	return 0;
}

/*
 * The response frame, as write(2) takes it: addressed to the requester
 * (rqSA, rqLUN), from the address and LUN the request was sent to, with
 * its rqSeq, both checksums computed. 0 if it does not fit.
 */
size_t
ipmb_format(const struct busdrv_req *req, uint8_t cc, const uint8_t *data,
    size_t len, uint8_t *frame, size_t max)
{
	size_t	total = IPMB_RSP_OVERHEAD + len;

	if (len > IPMB_MAX_RESPONSE || total > max)
		return 0;
	frame[0] = (uint8_t)(total - 1);
	frame[1] = req->rq_addr;
	frame[2] = (uint8_t)(((req->netfn | 1) << 2) | (req->rq_lun & 0x03));
	frame[3] = ipmb_checksum(frame + 1, 2);
	frame[4] = req->rs_addr;
	frame[5] = (uint8_t)(((req->seq & 0x3f) << 2) | (req->lun & 0x03));
	frame[6] = req->cmd;
	frame[7] = cc;
	if (len > 0)
		memcpy(frame + 8, data, len);
	frame[total - 1] = ipmb_checksum(frame + 4, total - 5);
	return total;
}

const struct busdrv_medium busdrv_ipmb = {
	.driver = "ipmb",
	.medium = 1,			/* IPMB (I2C) */
	.protocol = 1,			/* IPMB-1.0 */
	.max_request = IPMB_MAX_REQUEST,
	.max_response = IPMB_MAX_RESPONSE,
	.max_outstanding = IPMB_MAX_OUTSTANDING,
	.host_timeout_ms = IPMB_HOST_TIMEOUT_MS,
	.read_size = IPMB_READ_SIZE,
	.can_set_attention = false,	/* no SMS_ATN on IPMB */
	.can_clear_attention = false,
	.write_waits_pollout = false,	/* POLLOUT is always set */
	.einval_means_gone = false,	/* EINVAL is our bug, not the host */
	.one_outstanding = false,
	.read_blocks = false,		/* O_NONBLOCK is honoured */
	.backlog_newest_first = true,	/* the kernel queues at the head */
	.parse = ipmb_parse,
	.format = ipmb_format,
};
