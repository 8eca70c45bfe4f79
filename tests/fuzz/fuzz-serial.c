/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the serial codec in bus-drivers/serial.c (basic and
 * terminal mode on one line), on the bytes the host controls. Bit 0 of
 * the first byte picks the property:
 *
 * - clear: the rest is a line, fed to serial_feed() in chunks whose size
 *   comes from the first byte. Every call consumes at least one byte
 *   (stream.c would skip the rest of a read), and every frame is a
 *   message (tagged 0xA0 or '[', within the receive limit) or a garbage
 *   verdict. Basic messages get their checksums repaired when bit 1 is
 *   set, since random bytes rarely carry two right ones. Every message
 *   goes through serial_parse(); each request gets a response (CC and
 *   data from the input) that must be addressed back with its seq and
 *   LUNs, and which through serial_wrap() + serial_feed() must come back
 *   unchanged and parse as a response; each 0xC8 error frame likewise.
 * - set: the rest is a message body in the mode bit 1 picks; wrapped and
 *   fed back (byte-wise when bit 2 is set) it must come back unchanged,
 *   every wrapped byte consumed; then it is parsed (checksums repaired)
 *   and answered as above, which reaches the 0xC8 answer to requests
 *   over 248 data bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "busdrv.h"
#include "stream.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
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

#define FUZZ_SER_RX_MAX		513	/* tag + 512 decoded bytes */
#define FUZZ_SER_BASIC_MAX	320	/* unescaped basic message */
#define FUZZ_SER_TERM_MAX	341	/* pairs fitting 1024 characters */
#define FUZZ_SER_RSP_MAX	32

static void	*fuzz_rx, *fuzz_rx2;

static uint8_t
fuzz_ser_sum(const uint8_t *p, size_t n)
{
	uint8_t	s = 0;

	while (n-- > 0)
		s += *p++;
	return s;
}

/* body through serial_wrap and serial_feed comes back as one message. */
static void
fuzz_ser_round_trip(const uint8_t *body, size_t len, int bytewise)
{
	static uint8_t		wire[STREAM_WIRE_MAX];
	struct stream_frame	f;
	size_t			n, off = 0, used, msgs = 0;

	n = serial_wrap(body, len, STREAM_MSG, wire, sizeof(wire));
	if (n == 0)
		abort();
	serial_rx_reset(fuzz_rx2);
	while (off < n) {
		used = serial_feed(fuzz_rx2, wire + off,
		    bytewise ? 1 : n - off, &f);
		if (used == 0)
			abort();	/* stream.c would skip the read */
		off += used;
		if (f.kind == STREAM_NONE)
			continue;
		if (f.kind != STREAM_MSG || f.len != len ||
		    memcmp(f.body, body, len) != 0 || ++msgs > 1)
			abort();
	}
	if (msgs != 1 || off != n)
		abort();
}

/* A response frame to req as the host will see it. */
static void
fuzz_ser_check_response(const struct busdrv_req *req, const uint8_t *rsp,
    size_t n, uint8_t cc, const uint8_t *data, size_t len)
{
	struct busdrv_req	back;
	uint8_t			err[64];
	size_t			errlen;

	if (req->rq_lun & 0x80) {
		if (n != 5 + len || rsp[0] != '[' ||
		    rsp[1] != (((req->netfn | 1) << 2) | req->lun) ||
		    rsp[2] != ((req->seq << 2) | (req->rq_lun & 3)) ||
		    rsp[3] != req->cmd || rsp[4] != cc ||
		    memcmp(rsp + 5, data, len) != 0)
			abort();
	} else {
		if (n != 9 + len || rsp[0] != 0xa0 ||
		    rsp[1] != req->rq_addr || rsp[4] != req->rs_addr ||
		    rsp[2] != (((req->netfn | 1) << 2) | req->rq_lun) ||
		    rsp[5] != ((req->seq << 2) | req->lun) ||
		    rsp[6] != req->cmd || rsp[7] != cc ||
		    memcmp(rsp + 8, data, len) != 0 ||
		    fuzz_ser_sum(rsp + 1, 3) != 0 ||
		    fuzz_ser_sum(rsp + 4, n - 4) != 0)
			abort();
	}
	memset(&back, 0, sizeof(back));
	if (serial_parse(rsp, n, &back, err, &errlen) != BUSDRV_E_RESPONSE ||
	    errlen != 0)
		abort();
	fuzz_ser_round_trip(rsp, n, 0);
}

static void
fuzz_ser_request(const struct busdrv_req *req, const uint8_t *data,
    size_t size)
{
	static uint8_t	rsp[BUSDRV_FRAME_MAX];
	uint8_t		cc;
	size_t		len, n;

	cc = data[size - 1];
	len = data[size - 1] % 40;
	if (len > size)
		len = size;
	n = serial_format(req, cc, data, len, rsp, sizeof(rsp));
	if (len > FUZZ_SER_RSP_MAX) {
		if (n != 0)
			abort();
		return;
	}
	fuzz_ser_check_response(req, rsp, n, cc, data, len);
}

static void
fuzz_ser_message(const uint8_t *body, size_t len, int repair,
    const uint8_t *data, size_t size)
{
	static uint8_t		m[FUZZ_SER_RX_MAX];
	struct busdrv_req	req;
	uint8_t			err[64];
	size_t			errlen = 0, hdr, tail;
	int			r;

	if (len < 1 || len > FUZZ_SER_RX_MAX ||
	    (body[0] != 0xa0 && body[0] != '['))
		abort();
	if (body[0] == 0xa0 && len > 1 + FUZZ_SER_BASIC_MAX)
		abort();
	memcpy(m, body, len);
	if (repair && m[0] == 0xa0 && len >= 8) {
		m[3] = (uint8_t)-fuzz_ser_sum(m + 1, 2);
		m[len - 1] = (uint8_t)-fuzz_ser_sum(m + 4, len - 5);
	}
	memset(&req, 0, sizeof(req));
	r = serial_parse(m, len, &req, err, &errlen);
	if (r < 0 || r > BUSDRV_E_IGNORE || (errlen > 0 &&
	    r != BUSDRV_E_OVERSIZE) || errlen > sizeof(err))
		abort();
	if (r == 0) {
		if (req.netfn & 1 || req.len > 248)
			abort();
		fuzz_ser_request(&req, data, size);
	} else if (errlen > 0) {
		if (err[0] != m[0])
			abort();	/* answered in another mode */
		/* The echo sits after the CC (and before chk2). */
		hdr = m[0] == '[' ? 5 : 8;
		tail = m[0] == '[' ? 0 : 1;
		if (errlen < hdr + tail)
			abort();
		fuzz_ser_check_response(&req, err, errlen, 0xc8, err + hdr,
		    errlen - hdr - tail);
	}
}

static void
fuzz_ser_stream(const uint8_t *data, size_t size)
{
	struct stream_frame	f;
	size_t			off = 1, used, chunk;
	int			repair = data[0] & 2;

	chunk = 1 + (data[0] >> 2);
	serial_rx_reset(fuzz_rx);
	while (off < size) {
		used = serial_feed(fuzz_rx, data + off,
		    size - off < chunk ? size - off : chunk, &f);
		if (used == 0)
			abort();	/* stream.c would skip the read */
		off += used;
		if (f.kind == STREAM_NONE || f.kind == STREAM_BAD_ESCAPE ||
		    f.kind == STREAM_BAD_OVERFLOW ||
		    f.kind == STREAM_BAD_FRAMING)
			continue;
		if (f.kind != STREAM_MSG)
			abort();
		fuzz_ser_message(f.body, f.len, repair, data, size);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t	body[1 + FUZZ_SER_TERM_MAX];
	size_t		len;

	if (fuzz_rx == NULL &&
	    ((fuzz_rx = serial_rx_new()) == NULL ||
	    (fuzz_rx2 = serial_rx_new()) == NULL))
		abort();
	if (size < 2)
		return 0;
	if (!(data[0] & 1)) {
		fuzz_ser_stream(data, size);
		return 0;
	}
	len = size - 1;
	if (data[0] & 2) {
		body[0] = '[';
		if (len > FUZZ_SER_TERM_MAX)
			len = FUZZ_SER_TERM_MAX;
	} else {
		body[0] = 0xa0;
		if (len > FUZZ_SER_BASIC_MAX)
			len = FUZZ_SER_BASIC_MAX;
	}
	memcpy(body + 1, data + 1, len);
	fuzz_ser_round_trip(body, 1 + len, data[0] & 4);
	/* Long bodies reach the 0xC8 answer, rare in a random line. */
	fuzz_ser_message(body, 1 + len, 1, data, size);
	return 0;
}
