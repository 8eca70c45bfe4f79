/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: KCS frames as the host controls them (bus-drivers/kcs.c).
 * The first byte picks the shape: bit 0 set stretches the rest, repeated,
 * to 990..1117 bytes so the oversize path around the kernel's 1000-byte
 * buffer is reached. Every parsed request gets a response formatted with
 * data taken from the input, which must parse back as that request's
 * response; every refusal must leave a sane error frame or none.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "busdrv.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	kcs_parse(const uint8_t *frame, size_t len, struct busdrv_req *req,
	    uint8_t *errframe, size_t *errlen);
size_t	kcs_format(const struct busdrv_req *req, uint8_t cc,
	    const uint8_t *data, size_t len, uint8_t *frame, size_t max);

#define FUZZ_KCS_MAX	1200

static void
fuzz_kcs_response(const struct busdrv_req *req, const uint8_t *data,
    size_t size)
{
	static uint8_t		 frame[BUSDRV_FRAME_MAX], err[64];
	struct busdrv_req	 back;
	size_t			 len, n, errlen;
	uint8_t			 cc;

	cc = size > 0 ? data[size - 1] : 0;
	len = req->len;		/* echo the request data as the answer */
	n = kcs_format(req, cc, req->data, len, frame, sizeof(frame));
	if (n == 0) {
		if (len <= 269)
			abort();	/* a legal response refused */
		return;
	}
	if (n != 3 + len || frame[0] >> 2 != (req->netfn | 1) ||
	    (frame[0] & 3) != req->lun || frame[1] != req->cmd ||
	    frame[2] != cc || memcmp(frame + 3, req->data, len) != 0)
		abort();
	if (kcs_parse(frame, n, &back, err, &errlen) != BUSDRV_E_RESPONSE ||
	    errlen != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t		 frame[FUZZ_KCS_MAX];
	struct busdrv_req	 req;
	uint8_t			 err[64];
	size_t			 len, i, errlen;
	int			 r;

	if (size < 1)
		return 0;
	if ((data[0] & 1) && size > 1) {
		len = 990 + (data[0] >> 1);
		for (i = 0; i < len; i++)
			frame[i] = data[1 + i % (size - 1)];
	} else {
		len = size - 1 < sizeof(frame) ? size - 1 : sizeof(frame);
		memcpy(frame, data + 1, len);
	}
	memset(&req, 0, sizeof(req));
	errlen = 12345;
	r = kcs_parse(frame, len, &req, err, &errlen);
	switch (r) {
	case 0:
		if (errlen != 0 || len < 2 || req.len != len - 2 ||
		    (req.netfn & 1) || req.lun > 3)
			abort();
		fuzz_kcs_response(&req, data, size);
		break;
	case BUSDRV_E_OVERSIZE:
		if (len <= 1000 || errlen < 3 || errlen > 6 ||
		    err[2] != 0xc8 || err[1] != frame[1] ||
		    err[0] != (uint8_t)((frame[0] | 4)))
			abort();
		break;
	case BUSDRV_E_SHORT:
	case BUSDRV_E_RESPONSE:
		if (errlen != 0)
			abort();
		break;
	default:
		abort();	/* KCS has no other verdicts */
	}
	return 0;
}
