/* SPDX-License-Identifier: MIT */
/*
 * KCS: the BMC side of a Keyboard Controller Style system interface, as
 * Linux's kcs_bmc_cdev_ipmi presents it on /dev/ipmi-kcs<N>. The kernel
 * runs the byte-level KCS handshake with the host; we see whole messages:
 * read(2) gives [netfn<<2|lun][cmd][data...], write(2) takes
 * [(netfn+1)<<2|lun][cmd][cc][data...]. There is no length byte, no
 * sequence number and one request at a time: a new host request (or the
 * host's abort) ends the outstanding one, after which the kernel refuses
 * our late response with EINVAL, which busdrv.c counts as stale.
 *
 * Traps, all from the kernel source (reference §1.2):
 * - read(2) with a buffer shorter than the request fails with EOVERFLOW
 *   and force-aborts the transaction, so read_size is always 1024 (more
 *   than KCS_MSG_BUFSIZ, 1000).
 * - a signal during a blocking read gives EAGAIN, not EINTR; busdrv.c
 *   treats both as "nothing now".
 * - poll(2) never reports POLLOUT; write(2) never blocks, so responses
 *   are written at once.
 * - IPMI_BMC_IOCTL_FORCE_ABORT (0xB102) puts the interface into the ERROR
 *   state and drops any partial request. We never issue it: the host's
 *   own GET_STATUS/ABORT recovers a confused transaction, and closing the
 *   fd (which also force-aborts) only happens when the supervisor exits.
 *   It would be the tool for a driver that wants the host to retry at
 *   once instead of waiting out its 5 s timer (not needed today).
 *
 * Input is host controlled and hostile: kcs_parse() checks every length
 * before touching a byte and never reads past len.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "busdrv.h"

#define KCS_MSG_BUFSIZ		1000	/* kernel buffer, each direction */
#define KCS_HOST_MSG_MAX	272	/* Linux host IPMI_MAX_MSG_LENGTH */
#define KCS_RESPONSE_MIN	3	/* netfn/lun, cmd, cc */
#define KCS_READ_SIZE		1024

#define KCS_IOCTL_SET_SMS_ATN	0xB100
#define KCS_IOCTL_CLEAR_SMS_ATN	0xB101
#define KCS_IOCTL_FORCE_ABORT	0xB102	/* documented above; unused */

/*
 * Request data: whatever fits the kernel's 1000-byte buffer after netfn
 * and cmd. Response data: the Linux host driver (ipmi_kcs_sm.c) reads at
 * most IPMI_MAX_MSG_LENGTH = 272 bytes including netfn, cmd and cc, and
 * turns anything longer into a truncated-message error (0xC6) on the
 * host. Announcing 269 makes the broker answer 0xCA (cannot return that
 * many bytes) instead, which a host understands. The kernel itself would
 * take 997; other hosts (firmware) may read more, but a response that
 * fits the most common host is worth the smaller limit.
 */
#define KCS_MAX_REQUEST		(KCS_MSG_BUFSIZ - 2)
#define KCS_MAX_RESPONSE	(KCS_HOST_MSG_MAX - KCS_RESPONSE_MIN)

#define KCS_CC_TOO_LONG		0xc8	/* request field length exceeded */

int	kcs_parse(const uint8_t *frame, size_t len, struct busdrv_req *req,
	    uint8_t *errframe, size_t *errlen);
size_t	kcs_format(const struct busdrv_req *req, uint8_t cc,
	    const uint8_t *data, size_t len, uint8_t *frame, size_t max);

/*
 * Bytes echoed after the CC for group (0x2C: defining body) and OEM
 * (0x2E: IANA) requests, so even our own error answers carry them.
 */
static size_t
kcs_echo_len(uint8_t netfn, size_t have)
{
	size_t	want = 0;

	if (netfn == 0x2c)
		want = 1;
	else if (netfn == 0x2e)
		want = 3;
	return want <= have ? want : 0;
}

/* Parse [netfn<<2|lun][cmd][data...]; see busdrv_medium.parse. */
int
kcs_parse(const uint8_t *frame, size_t len, struct busdrv_req *req,
    uint8_t *errframe, size_t *errlen)
{
	uint8_t	netfn, lun;
	size_t	dlen, echo;

	*errlen = 0;
	if (len < 2)
		return BUSDRV_E_SHORT;
	netfn = frame[0] >> 2;
	lun = frame[0] & 0x03;
	if (netfn & 1)
		return BUSDRV_E_RESPONSE;
	dlen = len - 2;
	if (dlen > KCS_MAX_REQUEST || dlen > BUSDRV_DATA_MAX) {
		/* The host is waiting: tell it why rather than stay mute. */
		echo = kcs_echo_len(netfn, dlen);
		errframe[0] = (uint8_t)((netfn + 1) << 2 | lun);
		errframe[1] = frame[1];
		errframe[2] = KCS_CC_TOO_LONG;
		memcpy(errframe + 3, frame + 2, echo);
		*errlen = KCS_RESPONSE_MIN + echo;
		return BUSDRV_E_OVERSIZE;
	}
	req->netfn = netfn;
	req->lun = lun;
	req->cmd = frame[1];
	req->seq = 0;
	req->rq_addr = 0;
	req->rs_addr = 0;
	req->rq_lun = 0;
	req->len = (uint16_t)dlen;
	memcpy(req->data, frame + 2, dlen);
	return 0;
}

/* Format [(netfn+1)<<2|lun][cmd][cc][data...]; 0 if it cannot be sent. */
size_t
kcs_format(const struct busdrv_req *req, uint8_t cc, const uint8_t *data,
    size_t len, uint8_t *frame, size_t max)
{
	size_t	total;

	if (len > KCS_MAX_RESPONSE || (len > 0 && data == NULL))
		return 0;
	total = KCS_RESPONSE_MIN + len;
	if (total > max || total > KCS_MSG_BUFSIZ)
		return 0;
	frame[0] = (uint8_t)(((req->netfn | 1) & 0x3f) << 2 |
	    (req->lun & 0x03));
	frame[1] = req->cmd;
	frame[2] = cc;
	if (len > 0)
		memcpy(frame + 3, data, len);
	return total;
}

const struct busdrv_medium busdrv_kcs = {
	.driver = "kcs",
	.medium = 12,			/* system interface */
	.protocol = 5,			/* KCS */
	.max_request = KCS_MAX_REQUEST,
	.max_response = KCS_MAX_RESPONSE,
	.max_outstanding = 1,
	/* The Linux host's ipmi_kcs_sm waits at most 5 s for OBF. */
	.host_timeout_ms = 5000,
	.read_size = KCS_READ_SIZE,
	.can_set_attention = true,
	.can_clear_attention = true,
	.ioctl_set_attention = KCS_IOCTL_SET_SMS_ATN,
	.ioctl_clear_attention = KCS_IOCTL_CLEAR_SMS_ATN,
	.write_waits_pollout = false,	/* never POLLOUT, never blocks */
	.einval_means_gone = true,
	.one_outstanding = true,
	/*
	 * read(2) honours O_NONBLOCK, which the supervisor sets when it opens
	 * the device, so busdrv.c reads until EAGAIN. (On a blocking fd the
	 * second read would wait for the host's next request.)
	 */
	.read_blocks = false,
	.backlog_newest_first = false,
	.parse = kcs_parse,
	.format = kcs_format,
};
