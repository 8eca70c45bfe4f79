/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: arbitrary bytes as a frame read from /dev/ipmi-bt-host,
 * through bt_parse(). Every verdict must be one the framework knows; an
 * errframe must be a well-formed BT response to the same seq; and every
 * parsed request gets a response formatted (CC only, the longest data the
 * medium carries, one byte too many) that must frame correctly: length
 * byte = bytes after it, netfn + 1 with the LUN kept, seq and cmd echoed,
 * at most 64 bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "busdrv.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	bt_parse(const uint8_t *frame, size_t len, struct busdrv_req *req,
	    uint8_t *errframe, size_t *errlen);
size_t	bt_format(const struct busdrv_req *req, uint8_t cc,
	    const uint8_t *data, size_t len, uint8_t *frame, size_t max);
extern const struct busdrv_medium busdrv_bt;

static void
fuzz_check_response(const struct busdrv_req *req, const uint8_t *f,
    size_t n, uint8_t cc)
{
	if (n < 5 || n > 64 || f[0] != n - 1 ||
	    f[1] != (uint8_t)(((req->netfn + 1) << 2) | req->lun) ||
	    f[2] != req->seq || f[3] != req->cmd || f[4] != cc)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct busdrv_req	req;
	static uint8_t			err[64], out[BUSDRV_FRAME_MAX];
	static uint8_t			payload[BUSDRV_DATA_MAX];
	size_t				errlen = 0, n, max;
	int				r;

	if (size > BUSDRV_FRAME_MAX)
		size = BUSDRV_FRAME_MAX;
	memset(&req, 0, sizeof(req));
	r = bt_parse(data, size, &req, err, &errlen);
	if (r < 0 || r > BUSDRV_E_IGNORE || errlen > sizeof(err))
		abort();
	if (r == BUSDRV_E_LENGTH || r == BUSDRV_E_OVERSIZE) {
		if (errlen == 0)
			abort();
		fuzz_check_response(&req, err, errlen,
		    r == BUSDRV_E_LENGTH ? 0xc7 : 0xc8);
	} else if (errlen != 0)
		abort();
	if (r != 0)
		return 0;
	if (req.netfn & 1 || req.len > busdrv_bt.max_request ||
	    req.len != size - 4 || data[0] != size - 1)
		abort();
	n = bt_format(&req, 0xc1, NULL, 0, out, sizeof(out));
	fuzz_check_response(&req, out, n, 0xc1);
	max = busdrv_bt.max_response;
	memset(payload, size > 4 ? data[4] : 0, max + 1);
	n = bt_format(&req, 0x00, payload, max, out, sizeof(out));
	fuzz_check_response(&req, out, n, 0x00);
	if (memcmp(out + 5, payload, max) != 0)
		abort();
	if (bt_format(&req, 0x00, payload, max + 1, out, sizeof(out)) != 0)
		abort();
	return 0;
}
