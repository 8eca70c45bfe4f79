/* SPDX-License-Identifier: MIT */
/*
 * ssif_parse() on arbitrary bytes as read from /dev/ipmi-ssif-host. Half
 * the inputs get a length header that agrees with them, so the parser's
 * accepting paths are reached as often as its refusals. Every request it
 * accepts is answered through ssif_format() at several data sizes, and
 * each formatted response must be a frame the device's write() accepts
 * whose header netfn is the request's plus one; every error frame the
 * parser builds must be one too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "busdrv.h"

int	ssif_parse(const uint8_t *, size_t, struct busdrv_req *, uint8_t *,
	    size_t *);
size_t	ssif_format(const struct busdrv_req *, uint8_t, const uint8_t *,
	    size_t, uint8_t *, size_t);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SSIF_MSG	258

/* What ssif_bmc's write() would take, and netfn odd. */
static void
fuzz_ssif_check(const uint8_t *f, size_t n)
{
	uint32_t	len;

	if (n < 7 || n > SSIF_MSG)
		abort();
	memcpy(&len, f, 4);
	if (len < 3 || len > 254 || n != 4 + (size_t)len)
		abort();
	if (((f[4] >> 2) & 1) == 0)
		abort();
}

static void
fuzz_ssif_answer(const struct busdrv_req *req)
{
	static const size_t	sizes[] = { 0, 1, 28, 29, 250, 251, 252, 1024 };
	uint8_t			out[BUSDRV_FRAME_MAX], data[BUSDRV_DATA_MAX];
	size_t			i, n;

	memset(data, 0xa5, sizeof(data));
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		n = ssif_format(req, 0xc1, data, sizes[i], out, sizeof(out));
		if (sizes[i] > 251) {
			if (n != 0)
				abort();
			continue;
		}
		fuzz_ssif_check(out, n);
		if (out[4] >> 2 != req->netfn + 1 || (out[4] & 3) != req->lun ||
		    out[5] != req->cmd || out[6] != 0xc1)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t		frame[BUSDRV_FRAME_MAX + 8];
	struct busdrv_req	req;
	uint8_t			err[64];
	size_t			errlen;
	uint32_t		len;
	int			r;

	if (size > sizeof(frame) - 1)
		size = sizeof(frame) - 1;
	/* Byte 0 chooses: take the bytes as they are, or fix the header. */
	if (size > 0 && (data[0] & 1) && size - 1 >= 4) {
		memcpy(frame, data + 1, size - 1);
		size--;
		len = (uint32_t)(size - 4);
		memcpy(frame, &len, 4);
	} else
		memcpy(frame, data, size);

	memset(&req, 0, sizeof(req));
	errlen = 0;
	r = ssif_parse(frame, size, &req, err, &errlen);
	if (r == 0) {
		if (req.netfn & 1 || req.netfn > 0x3f || req.lun > 3 ||
		    req.len > 252 || size != 6 + (size_t)req.len ||
		    memcmp(req.data, frame + 6, req.len) != 0)
			abort();
		fuzz_ssif_answer(&req);
	} else if (r != BUSDRV_E_SHORT && r != BUSDRV_E_RESPONSE &&
	    r != BUSDRV_E_LENGTH && r != BUSDRV_E_OVERSIZE)
		abort();
	if (errlen > 0) {
		if (r != BUSDRV_E_LENGTH && r != BUSDRV_E_OVERSIZE)
			abort();
		fuzz_ssif_check(err, errlen);
	}
	return 0;
}
