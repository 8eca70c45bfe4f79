/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: IPMB frames as /dev/ipmb-N hands them over (bus-drivers/
 * ipmb.c). Random bytes rarely carry two right checksums, so the first
 * input byte picks repairs: bit 0 sets the length byte to the bytes
 * given, bit 1 fixes checksum 1, bit 2 checksum 2, bit 3 stretches the
 * rest, repeated, to 224..255 bytes (around the kernel's 239-byte frame
 * and our 256-byte read). Every parsed request gets a response with data
 * and CC from the input, which must carry the request's addresses, seq
 * and LUNs and parse back as a response; every refusal leaves a sane
 * error frame (0xC8 to the requester) or none.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "busdrv.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	ipmb_parse(const uint8_t *frame, size_t len, struct busdrv_req *req,
	    uint8_t *errframe, size_t *errlen);
size_t	ipmb_format(const struct busdrv_req *req, uint8_t cc,
	    const uint8_t *data, size_t len, uint8_t *frame, size_t max);

#define FUZZ_IPMB_MAX		300
#define FUZZ_IPMB_RESPONSE	24	/* the medium's max_response */

static uint8_t
fuzz_ipmb_sum(const uint8_t *p, size_t n)
{
	uint8_t	s = 0;

	while (n-- > 0)
		s += *p++;
	return s;
}

/* A written frame: len byte, both checksums. */
static void
fuzz_ipmb_sane(const uint8_t *f, size_t n)
{
	if (n < 9 || f[0] != n - 1 || fuzz_ipmb_sum(f + 1, 3) != 0 ||
	    fuzz_ipmb_sum(f + 4, n - 4) != 0)
		abort();
}

static void
fuzz_ipmb_response(const struct busdrv_req *req, const uint8_t *data,
    size_t size)
{
	static uint8_t		 frame[BUSDRV_FRAME_MAX];
	struct busdrv_req	 back;
	uint8_t			 err[64], cc;
	size_t			 len, n, errlen;

	cc = data[size - 1];
	len = data[size - 1] % 40;
	if (len > size)
		len = size;
	n = ipmb_format(req, cc, data, len, frame, sizeof(frame));
	if (len > FUZZ_IPMB_RESPONSE) {
		if (n != 0)
			abort();	/* over the IPMB message limit */
		return;
	}
	if (n != 9 + len)
		abort();
	fuzz_ipmb_sane(frame, n);
	if (frame[1] != req->rq_addr || frame[4] != req->rs_addr ||
	    frame[2] >> 2 != (req->netfn | 1) ||
	    (frame[2] & 3) != req->rq_lun || frame[5] >> 2 != req->seq ||
	    (frame[5] & 3) != req->lun || frame[6] != req->cmd ||
	    frame[7] != cc || memcmp(frame + 8, data, len) != 0)
		abort();
	memset(&back, 0, sizeof(back));
	if (ipmb_parse(frame, n, &back, err, &errlen) != BUSDRV_E_RESPONSE ||
	    errlen != 0)
		abort();
}

/* The input, repaired as its first byte asks; returns the length. */
static size_t
fuzz_ipmb_frame(const uint8_t *data, size_t size, uint8_t *frame)
{
	size_t	len, i;

	if ((data[0] & 8) && size > 1) {
		len = 224 + (data[0] >> 4) * 2;
		for (i = 0; i < len; i++)
			frame[i] = data[1 + i % (size - 1)];
	} else {
		len = size - 1 < FUZZ_IPMB_MAX ? size - 1 : FUZZ_IPMB_MAX;
		memcpy(frame, data + 1, len);
	}
	if ((data[0] & 1) && len > 0)
		frame[0] = (uint8_t)(len - 1);
	if ((data[0] & 2) && len >= 4)
		frame[3] = (uint8_t)-fuzz_ipmb_sum(frame + 1, 2);
	if ((data[0] & 4) && len >= 8)
		frame[len - 1] = (uint8_t)-fuzz_ipmb_sum(frame + 4, len - 5);
	return len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t		 frame[FUZZ_IPMB_MAX];
	struct busdrv_req	 req;
	uint8_t			 err[64];
	size_t			 len, errlen;
	int			 r;

	if (size < 1)
		return 0;
	len = fuzz_ipmb_frame(data, size, frame);
	memset(&req, 0, sizeof(req));
	errlen = 12345;
	r = ipmb_parse(frame, len, &req, err, &errlen);
	switch (r) {
	case 0:
		if (errlen != 0 || len < 8 || frame[0] != len - 1 ||
		    req.len != len - 8 || (req.netfn & 1) || req.lun > 3 ||
		    req.rq_lun > 3 || req.seq > 63 ||
		    req.rq_addr != frame[4] || req.rs_addr != frame[1] ||
		    fuzz_ipmb_sum(frame + 1, 3) != 0 ||
		    fuzz_ipmb_sum(frame + 4, len - 4) != 0 ||
		    memcmp(req.data, frame + 7, req.len) != 0)
			abort();
		fuzz_ipmb_response(&req, data, size);
		break;
	case BUSDRV_E_OVERSIZE:
		if (errlen != 9 && errlen != 10 && errlen != 12)
			abort();
		fuzz_ipmb_sane(err, errlen);
		if (len < 8 || err[7] != 0xc8 || err[1] != frame[4] ||
		    err[4] != frame[1] || err[6] != frame[6])
			abort();
		break;
	case BUSDRV_E_SHORT:
	case BUSDRV_E_LENGTH:
	case BUSDRV_E_CHECKSUM:
	case BUSDRV_E_RESPONSE:
		if (errlen != 0)
			abort();
		break;
	default:
		abort();	/* IPMB has no other verdicts */
	}
	return 0;
}
