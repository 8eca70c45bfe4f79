/* SPDX-License-Identifier: MIT */
/*
 * SSIF: the BMC side of the SMBus system interface, /dev/ipmi-ssif-host
 * (Linux ssif_bmc). The kernel does the SMBus part (single- and multi-part
 * transfers, PEC) and hands userspace whole messages as struct
 * ipmi_ssif_msg: a native-endian u32 length, then that many bytes of
 * NetFn/LUN, Cmd, Data (at most 254 in all). Responses go back the same
 * way with the CC after Cmd.
 *
 * The device keeps one request and one response: a new host request drops
 * any response the host has not read out, and once a request has waited
 * 500 ms (RESPONSE_TIMEOUT, started when the request arrived) the kernel
 * refuses the write with EINVAL. So this medium has one outstanding
 * request, EINVAL means the host stopped waiting, and the broker's deadline
 * is clamped below 500 ms. read() and write() honour O_NONBLOCK; poll()
 * reports POLLIN only, never POLLOUT: write() says EAGAIN only while the
 * previous response is still being clocked out, and busdrv retries it on a
 * short timer. The alert line is not exposed: no attention ioctls.
 *
 * Everything the host sends is hostile: ssif_parse() checks the header
 * against the bytes read before trusting either.
 */
#include <stdint.h>
#include <string.h>

#include "busdrv.h"

#define SSIF_HDR		4	/* the u32 len of ipmi_ssif_msg */
#define SSIF_PAYLOAD_MAX	254	/* IPMI_SSIF_PAYLOAD_MAX */
#define SSIF_MSG_SIZE		(SSIF_HDR + SSIF_PAYLOAD_MAX)	/* 258 */
#define SSIF_TIMEOUT_MS		500	/* the kernel's RESPONSE_TIMEOUT */

int	ssif_parse(const uint8_t *, size_t, struct busdrv_req *, uint8_t *,
	    size_t *);
size_t	ssif_format(const struct busdrv_req *, uint8_t, const uint8_t *,
	    size_t, uint8_t *, size_t);

/* The kernel's u32 is native-endian: copy it, never assemble bytes. */
static uint32_t
ssif_get_len(const uint8_t *p)
{
	uint32_t	v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void
ssif_put_len(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* An error answer (0xC7, 0xC8) to a frame whose netfn and cmd we read. */
static void
ssif_errframe(const uint8_t *payload, uint8_t cc, uint8_t *errframe,
    size_t *errlen)
{
	if (errframe == NULL || errlen == NULL)
		return;
	ssif_put_len(errframe, 3);
	errframe[SSIF_HDR] = (uint8_t)(((payload[0] >> 2) + 1) << 2 |
	    (payload[0] & 3));
	errframe[SSIF_HDR + 1] = payload[1];
	errframe[SSIF_HDR + 2] = cc;
	*errlen = SSIF_HDR + 3;
}

/*
 * [u32 len][netfn<<2|lun][cmd][data...], len counting the bytes after
 * itself. The kernel may hand over len 0 or 1 (an SMBus write that short
 * passes its checks), so those are SHORT, not impossible.
 */
int
ssif_parse(const uint8_t *frame, size_t len, struct busdrv_req *req,
    uint8_t *errframe, size_t *errlen)
{
	const uint8_t	*p = frame + SSIF_HDR;
	uint32_t	 hlen;
	size_t		 plen;

	if (errlen != NULL)
		*errlen = 0;
	if (len < SSIF_HDR + 2)
		return BUSDRV_E_SHORT;
	hlen = ssif_get_len(frame);
	plen = len - SSIF_HDR;
	if (hlen < 2)
		return BUSDRV_E_SHORT;
	if (p[0] & 0x04)
		return BUSDRV_E_RESPONSE;
	if (hlen != plen) {
		ssif_errframe(p, 0xc7, errframe, errlen);
		return BUSDRV_E_LENGTH;
	}
	if (plen > SSIF_PAYLOAD_MAX || plen - 2 > BUSDRV_DATA_MAX) {
		ssif_errframe(p, 0xc8, errframe, errlen);
		return BUSDRV_E_OVERSIZE;
	}
	req->netfn = p[0] >> 2;
	req->lun = p[0] & 3;
	req->cmd = p[1];
	req->len = (uint16_t)(plen - 2);
	memcpy(req->data, p + 2, req->len);
	return 0;
}

/* [u32 len][(netfn+1)<<2|lun][cmd][cc][data...]; 0 past 254 bytes. */
size_t
ssif_format(const struct busdrv_req *req, uint8_t cc, const uint8_t *data,
    size_t len, uint8_t *frame, size_t max)
{
	size_t	plen = 3 + len;

	if (plen > SSIF_PAYLOAD_MAX || SSIF_HDR + plen > max)
		return 0;
	ssif_put_len(frame, (uint32_t)plen);
	frame[SSIF_HDR] = (uint8_t)(((req->netfn + 1) & 0x3f) << 2 |
	    (req->lun & 3));
	frame[SSIF_HDR + 1] = req->cmd;
	frame[SSIF_HDR + 2] = cc;
	if (len > 0)
		memcpy(frame + SSIF_HDR + 3, data, len);
	return SSIF_HDR + plen;
}

const struct busdrv_medium busdrv_ssif = {
	.driver = "ssif",
	.medium = 12,			/* system interface */
	.protocol = 4,			/* IPMI-SMBus (SSIF) */
	.max_request = SSIF_PAYLOAD_MAX - 2,
	.max_response = SSIF_PAYLOAD_MAX - 3,
	.max_outstanding = 1,
	.host_timeout_ms = SSIF_TIMEOUT_MS,
	.read_size = SSIF_MSG_SIZE,
	.can_set_attention = false,
	.can_clear_attention = false,
	.write_waits_pollout = false,
	.einval_means_gone = true,
	.one_outstanding = true,
	.read_blocks = false,
	.backlog_newest_first = false,
	.parse = ssif_parse,
	.format = ssif_format,
};
