/* SPDX-License-Identifier: MIT */
/*
 * BT (Block Transfer) on the BMC side: /dev/ipmi-bt-host, the Linux
 * bt-bmc driver (reference/ipmi-bmc-interfaces.md, section 1.1). The host
 * is untrusted; everything it sends goes through bt_parse().
 *
 * A read returns [L][netfn<<2|lun][seq][cmd][data...] with L counting the
 * bytes after itself; a write takes [L][(netfn+1)<<2|lun][seq][cmd][cc]
 * [data...]. read() and write() block whatever O_NONBLOCK says, and a
 * write blocks (forever, if the host never drains) until the host took
 * the previous response, so busdrv writes only after poll says POLLOUT
 * and reads one frame per POLLIN. Several requests may be outstanding;
 * the host matches answers by seq, which we echo. SMS_ATN can be raised
 * (ioctl 0xB100) but not cleared: the host clears it.
 *
 * Sizes. The kernel's buffer is 256 bytes and a read hands us at most
 * 1 + 255 bytes, so a request carries at most 255 - 3 = 252 data bytes.
 * Responses: the AST2400 FIFO is said to hold 64 bytes (unverified), and
 * write() does not check, so a longer response would be cut by the
 * hardware. We keep every response frame within 64 bytes: 5 header bytes
 * (len, netfn, seq, cmd, cc), so at most 59 data bytes after the CC; a
 * longer answer is replaced by 0xCA (cannot return that many bytes).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "busdrv.h"

#define BT_REQ_HDR		4	/* len, netfn/lun, seq, cmd */
#define BT_RSP_HDR		5	/* ... and the cc */
#define BT_FRAME_MAX		64	/* the response FIFO */
#define BT_READ_MAX		256	/* the kernel's buffer */
#define BT_MAX_REQUEST		(BT_READ_MAX - BT_REQ_HDR)
#define BT_MAX_RESPONSE		(BT_FRAME_MAX - BT_RSP_HDR)
#define BT_IOCTL_SMS_ATN	0xb100ul

int	bt_parse(const uint8_t *frame, size_t len, struct busdrv_req *req,
	    uint8_t *errframe, size_t *errlen);
size_t	bt_format(const struct busdrv_req *req, uint8_t cc,
	    const uint8_t *data, size_t len, uint8_t *frame, size_t max);

/*
 * An error answer of our own: the cc, after it the group or IANA bytes
 * of netfn 0x2C/0x2E when the request carried them (as the broker's own
 * fallbacks do).
 */
static size_t
bt_errframe(const struct busdrv_req *req, uint8_t cc, uint8_t *frame)
{
	size_t	echo = 0;

	if (req->netfn == 0x2c && req->len >= 1)
		echo = 1;
	else if (req->netfn == 0x2e && req->len >= 3)
		echo = 3;
	return bt_format(req, cc, req->data, echo, frame, BT_FRAME_MAX);
}

int
bt_parse(const uint8_t *frame, size_t len, struct busdrv_req *req,
    uint8_t *errframe, size_t *errlen)
{
	size_t	dlen;

	*errlen = 0;
	if (len < BT_REQ_HDR)
		return BUSDRV_E_SHORT;
	if ((frame[1] >> 2) & 1)
		return BUSDRV_E_RESPONSE;
	memset(req, 0, offsetof(struct busdrv_req, data));
	req->netfn = frame[1] >> 2;
	req->lun = frame[1] & 3;
	req->seq = frame[2];
	req->cmd = frame[3];
	dlen = len - BT_REQ_HDR;
	/* Keep what the errframes need even when the frame is refused. */
	req->len = (uint16_t)(dlen < BT_MAX_REQUEST ? dlen : BT_MAX_REQUEST);
	memcpy(req->data, frame + BT_REQ_HDR, req->len);
	/*
	 * bt-bmc returns 1 + min(L, count - 1) bytes: L beyond what we got
	 * means the frame was cut short; the seq is readable, so the host
	 * gets 0xC7 rather than a timeout.
	 */
	if ((size_t)frame[0] != len - 1) {
		*errlen = bt_errframe(req, 0xc7, errframe);
		return BUSDRV_E_LENGTH;
	}
	/* Cannot come from bt-bmc (L <= 255); kept should the limit shrink. */
	if (dlen > BT_MAX_REQUEST) {
		*errlen = bt_errframe(req, 0xc8, errframe);
		return BUSDRV_E_OVERSIZE;
	}
	return 0;
}

size_t
bt_format(const struct busdrv_req *req, uint8_t cc, const uint8_t *data,
    size_t len, uint8_t *frame, size_t max)
{
	size_t	total = BT_RSP_HDR + len;

	if (total > BT_FRAME_MAX || total > max || len > BT_MAX_RESPONSE)
		return 0;
	frame[0] = (uint8_t)(total - 1);
	frame[1] = (uint8_t)(((req->netfn | 1) << 2) | (req->lun & 3));
	frame[2] = req->seq;
	frame[3] = req->cmd;
	frame[4] = cc;
	if (len > 0)
		memcpy(frame + BT_RSP_HDR, data, len);
	return total;
}

const struct busdrv_medium busdrv_bt = {
	.driver = "bt",
	.medium = 12,			/* system interface */
	.protocol = 8,			/* BT-15 */
	.max_request = BT_MAX_REQUEST,
	.max_response = BT_MAX_RESPONSE,
	/*
	 * The Linux host keeps one; BT allows more, matched by the 8-bit
	 * seq. 64, as the broker's default inflight_per_bus: a host that
	 * pipelines is answered by handlers, not 0xC0 from here (the
	 * pending table costs 64 x 1 KiB).
	 */
	.max_outstanding = 64,
	/* Linux ipmi_bt_sm's default timeout. */
	.host_timeout_ms = 5000,
	.read_size = BT_READ_MAX,
	.can_set_attention = true,
	.can_clear_attention = false,
	.ioctl_set_attention = BT_IOCTL_SMS_ATN,
	.write_waits_pollout = true,
	.read_blocks = true,
	.parse = bt_parse,
	.format = bt_format,
};
