/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the VM (QEMU ipmi-bmc-extern) codec in bus-drivers/vm.c,
 * on the bytes QEMU controls. Bit 0 of the first byte picks the property:
 *
 * - clear: the rest is a stream, fed to vm_feed() in chunks whose size
 *   comes from the first byte; every frame must be within the 302-byte
 *   body limit and of a known kind; every message goes through
 *   vm_classify() and vm_parse(), which must agree, and each parsed
 *   request gets a response (data from the input) that must carry the seq
 *   and a valid checksum and survive vm_wrap() + vm_feed() unchanged.
 * - set: the rest (cut to 302 bytes) is a body; vm_wrap() of it as a
 *   message or control (bit 1) fed back byte-wise or whole must give
 *   exactly that body and kind, consuming every wrapped byte.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "busdrv.h"
#include "stream.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
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

#define FUZZ_VM_BODY_MAX	302
#define FUZZ_VM_RSP_MAX		269

static void	*fuzz_rx;

static uint8_t
fuzz_vm_sum(const uint8_t *p, size_t n)
{
	uint8_t	s = 0;

	while (n-- > 0)
		s += *p++;
	return s;
}

/* body through vm_wrap and vm_feed (whole or byte-wise) comes back. */
static void
fuzz_vm_round_trip(const uint8_t *body, size_t len, int kind, int bytewise)
{
	static uint8_t		wire[2 * FUZZ_VM_BODY_MAX + 2];
	struct stream_frame	f;
	size_t			n, off = 0, used;

	n = vm_wrap(body, len, kind, wire, sizeof(wire));
	if (n < len + 1)
		abort();		/* always fits this buffer */
	vm_rx_reset(fuzz_rx);
	for (;;) {
		used = vm_feed(fuzz_rx, wire + off, bytewise ? 1 : n - off,
		    &f);
		off += used;
		if (f.kind != STREAM_NONE || off >= n)
			break;
	}
	if (off != n)
		abort();		/* the terminator is the last byte */
	if (len == 0) {
		if (f.kind != STREAM_BAD_EMPTY)
			abort();
		return;
	}
	if (f.kind != kind || f.len != len || memcmp(f.body, body, len) != 0)
		abort();
}

static void
fuzz_vm_message(const uint8_t *body, size_t len, const uint8_t *data,
    size_t size)
{
	static uint8_t		rsp[BUSDRV_FRAME_MAX];
	struct busdrv_req	req;
	uint8_t			err[64];
	size_t			errlen = 999, dlen, n;
	int			r, c;

	memset(&req, 0, sizeof(req));
	r = vm_parse(body, len, &req, err, &errlen);
	c = vm_classify(body, len);
	if ((r == 0 || r == BUSDRV_E_OVERSIZE) != (c == STREAM_REQUEST))
		abort();
	if (r != 0) {
		if (r != BUSDRV_E_SHORT && r != BUSDRV_E_CHECKSUM &&
		    r != BUSDRV_E_RESPONSE && r != BUSDRV_E_OVERSIZE)
			abort();
		if ((r == BUSDRV_E_OVERSIZE) != (errlen > 0) || errlen > 64)
			abort();
		return;
	}
	if (errlen != 0 || req.len != len - 4 || req.seq != body[0] ||
	    (req.netfn & 1) || fuzz_vm_sum(body, len) != 0)
		abort();
	dlen = size % (FUZZ_VM_RSP_MAX + 1);
	n = vm_format(&req, data[size - 1], dlen > 0 ? data : NULL,
	    dlen > 0 ? dlen : 0, rsp, sizeof(rsp));
	if (dlen > 0 && n == 0)
		abort();
	if (dlen == 0 && n != 5)
		abort();
	if (n != 5 + dlen || rsp[0] != req.seq ||
	    rsp[1] >> 2 != (req.netfn | 1) || rsp[2] != req.cmd ||
	    fuzz_vm_sum(rsp, n) != 0)
		abort();
	fuzz_vm_round_trip(rsp, n, STREAM_MSG, 0);
}

static void
fuzz_vm_stream(const uint8_t *data, size_t size)
{
	static uint8_t		body[FUZZ_VM_BODY_MAX];
	struct stream_frame	f;
	size_t			off = 1, step, chunk, used, len;

	step = (size_t)(data[0] >> 1) + 1;
	vm_rx_reset(fuzz_rx);
	while (off < size) {
		chunk = size - off < step ? size - off : step;
		used = vm_feed(fuzz_rx, data + off, chunk, &f);
		if (used == 0 || used > chunk)
			abort();
		off += used;
		if (f.kind == STREAM_NONE) {
			if (used != chunk)
				abort();
			continue;
		}
		if (f.len > FUZZ_VM_BODY_MAX)
			abort();
		if (f.kind != STREAM_MSG && f.kind != STREAM_CTL &&
		    f.kind != STREAM_BAD_ESCAPE &&
		    f.kind != STREAM_BAD_OVERFLOW &&
		    f.kind != STREAM_BAD_EMPTY &&
		    f.kind != STREAM_BAD_FRAMING)
			abort();
		if (f.kind != STREAM_MSG)
			continue;
		/* The body lives in the rx state: copy it before more feeds
		 * (the round trip below reuses the same state). */
		len = f.len;
		memcpy(body, f.body, len);
		fuzz_vm_message(body, len, data, size);
		vm_rx_reset(fuzz_rx);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t	len;

	if (size < 1)
		return 0;
	if (fuzz_rx == NULL && (fuzz_rx = vm_rx_new()) == NULL)
		abort();
	if (data[0] & 1) {
		len = size - 1 > FUZZ_VM_BODY_MAX ? FUZZ_VM_BODY_MAX :
		    size - 1;
		fuzz_vm_round_trip(data + 1, len,
		    (data[0] & 2) ? STREAM_CTL : STREAM_MSG, data[0] & 4);
	} else
		fuzz_vm_stream(data, size);
	return 0;
}
