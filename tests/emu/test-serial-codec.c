/* SPDX-License-Identifier: MIT */
/*
 * The serial codec (bus-drivers/serial.c) on its own: bytes as a line
 * delivers them, in any split, to internal frames (serial_rx_feed), frames
 * to requests or verdicts (serial_parse), and answers to wire bytes
 * (serial_format), in basic and terminal mode. The byte sequences ipmitool
 * sends and expects are written out literally, from its serial plugins.
 */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "busdrv.h"
#include "stream.h"

void	*serial_rx_new(void);
void	serial_rx_free(void *rx);
size_t	serial_feed(void *rx, const uint8_t *in, size_t n,
	    struct stream_frame *f);
size_t	serial_wrap(const uint8_t *body, size_t len, int kind, uint8_t *out,
	    size_t max);
int	serial_parse(const uint8_t *frame, size_t len, struct busdrv_req *req,
	    uint8_t *errframe, size_t *errlen);
size_t	serial_format(const struct busdrv_req *req, uint8_t cc,
	    const uint8_t *data, size_t len, uint8_t *frame, size_t max);
#define MAXF		16
#define FRAME_MAX	1100

/* What feeding produced: message frames and garbage verdicts in order. */
struct frames {
	size_t	n;
	int	kind[MAXF];
	size_t	len[MAXF];
	uint8_t	buf[MAXF][FRAME_MAX];
};

static void	*rx;

static void
setup(void)
{
	cr_assert_not_null(rx = serial_rx_new());
}

static void
teardown(void)
{
	serial_rx_free(rx);
	rx = NULL;
}

TestSuite(serial_codec, .init = setup, .fini = teardown, .timeout = 10);

/* Feed in as one piece, collecting the frames it completes. */
static void
feed(struct frames *f, const void *in, size_t n)
{
	const uint8_t		*p = in;
	struct stream_frame	 sf;
	size_t			 used;

	while (n > 0) {
		used = serial_feed(rx, p, n, &sf);
		/* stream.c skips the rest of a read on 0 (a codec bug). */
		cr_assert_gt(used, 0, "feed consumed nothing");
		cr_assert_leq(used, n);
		cr_assert(sf.kind != STREAM_NONE || used == n,
		    "no frame, yet input left over");
		if (sf.kind != STREAM_NONE) {
			cr_assert_lt(f->n, MAXF, "too many frames");
			cr_assert(sf.kind == STREAM_MSG || sf.kind < 0,
			    "kind %d", sf.kind);
			cr_assert_leq(sf.len, FRAME_MAX);
			f->kind[f->n] = sf.kind;
			if (sf.len > 0)
				memcpy(f->buf[f->n], sf.body, sf.len);
			f->len[f->n++] = sf.len;
		}
		p += used;
		n -= used;
	}
}

/* The response to req on the wire: format, then wrap. */
static size_t
answer(const struct busdrv_req *req, uint8_t cc, const uint8_t *data,
    size_t len, uint8_t *wire, size_t max)
{
	uint8_t	frame[FRAME_MAX];
	size_t	n;

	n = serial_format(req, cc, data, len, frame, sizeof(frame));
	if (n == 0)
		return 0;
	return serial_wrap(frame, n, STREAM_MSG, wire, max);
}

static int
parse(const uint8_t *frame, size_t len, struct busdrv_req *req,
    uint8_t *err, size_t *errlen)
{
	memset(req, 0, sizeof(*req));
	return serial_parse(frame, len, req, err, errlen);
}

/* The one frame in bytes, parsed: its verdict. */
static int
parse_bytes(const void *in, size_t n, struct busdrv_req *req, uint8_t *err,
    size_t *errlen)
{
	struct frames	f = { 0 };

	feed(&f, in, n);
	cr_assert_eq(f.n, 1, "expected one frame, got %zu", f.n);
	cr_assert_eq(f.kind[0], STREAM_MSG, "dropped by the codec: %d",
	    f.kind[0]);
	return parse(f.buf[0], f.len[0], req, err, errlen);
}

static int
verdict(const void *in, size_t n)
{
	struct busdrv_req	req;
	uint8_t			err[64];
	size_t			errlen;
	int			r;

	r = parse_bytes(in, n, &req, err, &errlen);
	cr_assert_eq(errlen, 0, "unexpected error frame");
	return r;
}

/* The codec drops the one message in bytes: its garbage kind. */
static int
dropped(const void *in, size_t n)
{
	struct frames	f = { 0 };

	feed(&f, in, n);
	cr_assert_eq(f.n, 1, "expected one frame, got %zu", f.n);
	cr_assert_lt(f.kind[0], 0, "not dropped");
	return f.kind[0];
}

static void
assert_bytes(const uint8_t *got, size_t glen, const uint8_t *want,
    size_t wlen)
{
	size_t	i;

	cr_assert_eq(glen, wlen, "length %zu, expected %zu", glen, wlen);
	for (i = 0; i < wlen; i++)
		cr_assert_eq(got[i], want[i],
		    "byte %zu: got 0x%02x, expected 0x%02x", i, got[i],
		    want[i]);
}

static uint8_t
sum(const uint8_t *p, size_t n)
{
	uint8_t	s = 0;

	while (n-- > 0)
		s += *p++;
	return s;
}

/* A basic-mode request on the wire: header, data, checksums, escapes. */
static size_t
basic_request(uint8_t netfn, uint8_t lun, uint8_t seq, uint8_t rqlun,
    uint8_t cmd, const uint8_t *data, size_t len, uint8_t *wire)
{
	uint8_t	msg[400];
	size_t	n = 0, i, out = 0;

	msg[n++] = 0x20;
	msg[n++] = (uint8_t)(netfn << 2 | lun);
	msg[n] = (uint8_t)-sum(msg, 2);
	n++;
	msg[n++] = 0x81;
	msg[n++] = (uint8_t)(seq << 2 | rqlun);
	msg[n++] = cmd;
	if (len > 0)
		memcpy(msg + n, data, len);
	n += len;
	msg[n] = (uint8_t)-sum(msg + 3, n - 3);
	n++;
	wire[out++] = 0xa0;
	for (i = 0; i < n; i++) {
		switch (msg[i]) {
		case 0xa0: case 0xa5: case 0xa6: case 0xaa:
			wire[out++] = 0xaa;
			wire[out++] = (uint8_t)(msg[i] + 0x10);
			break;
		case 0x1b:
			wire[out++] = 0xaa;
			wire[out++] = 0x3b;
			break;
		default:
			wire[out++] = msg[i];
		}
	}
	wire[out++] = 0xa5;
	return out;
}

/* ---- basic mode ---- */

Test(serial_codec, ipmitools_basic_picmg_probe_parses_as_netfn_2c_cmd_0)
{
	static const uint8_t	probe[] = { 0xa0, 0x20, 0xb0, 0x30, 0x81,
				    0x04, 0x00, 0x00, 0x7b, 0xa5 };
	struct busdrv_req	req;
	uint8_t			err[64];
	size_t			errlen;

	cr_assert_eq(parse_bytes(probe, sizeof(probe), &req, err, &errlen),
	    0);
	cr_assert_eq(req.netfn, 0x2c);
	cr_assert_eq(req.lun, 0);
	cr_assert_eq(req.cmd, 0x00);
	cr_assert_eq(req.seq, 1);
	cr_assert_eq(req.rs_addr, 0x20);
	cr_assert_eq(req.rq_addr, 0x81);
	cr_assert_eq(req.rq_lun, 0);
	cr_assert_eq(req.len, 1);
	cr_assert_eq(req.data[0], 0x00);
}

Test(serial_codec, garbage_verdicts_consume_the_byte_that_shows_them)
{
	static const uint8_t	probe[] = { 0xa0, 0x20, 0xb0, 0x30, 0x81,
				    0x04, 0x00, 0x00, 0x7b, 0xa5 };
	struct stream_frame	sf;
	struct frames		f = { 0 };
	size_t			used;

	/* A read ending inside a line, the next starting a basic frame. */
	feed(&f, "[18 04", 6);
	cr_assert_eq(f.n, 0);
	used = serial_feed(rx, probe, sizeof(probe), &sf);
	cr_assert_eq(sf.kind, STREAM_BAD_FRAMING);
	cr_assert_eq(used, 1, "the start byte is consumed and starts a "
	    "frame");
	used += serial_feed(rx, probe + used, sizeof(probe) - used, &sf);
	cr_assert_eq(sf.kind, STREAM_MSG);
	cr_assert_eq(used, sizeof(probe));
	cr_assert_eq(sf.len, sizeof(probe) - 1);
	cr_assert_arr_eq(sf.body, probe, sizeof(probe) - 1);

	/* Inside a basic frame, a read starting with a new start byte. */
	feed(&f, "\xa0\x20\x18", 3);
	used = serial_feed(rx, probe, sizeof(probe), &sf);
	cr_assert_eq(sf.kind, STREAM_BAD_FRAMING);
	cr_assert_eq(used, 1);
	used += serial_feed(rx, probe + used, sizeof(probe) - used, &sf);
	cr_assert_eq(sf.kind, STREAM_MSG);
	cr_assert_eq(used, sizeof(probe));
}

Test(serial_codec, basic_answer_to_the_probe_is_what_ipmitool_matches)
{
	static const uint8_t	probe[] = { 0xa0, 0x20, 0xb0, 0x30, 0x81,
				    0x04, 0x00, 0x00, 0x7b, 0xa5 };
	/* The handshake, then rqSA, netFn 0x2D/rqLUN, chk1, rsSA, seq
	 * 1/rsLUN, cmd, C1, body, chk2 0x1B: escaped as AA 3B. */
	static const uint8_t	want[] = { 0xa6, 0xa0, 0x81, 0xb4, 0xcb,
				    0x20, 0x04, 0x00, 0xc1, 0x00, 0xaa, 0x3b,
				    0xa5 };
	struct busdrv_req	req;
	uint8_t			err[64], out[128], body = 0;
	size_t			errlen, n;

	cr_assert_eq(parse_bytes(probe, sizeof(probe), &req, err, &errlen),
	    0);
	n = answer(&req, 0xc1, &body, 1, out, sizeof(out));
	assert_bytes(out, n, want, sizeof(want));
}

Test(serial_codec, basic_answer_swaps_luns_and_echoes_seq)
{
	uint8_t			wire[64], out[128], err[64];
	struct busdrv_req	req;
	size_t			n, errlen;
	struct frames		f = { 0 };

	n = basic_request(0x06, 2, 0x3f, 1, 0x01, NULL, 0, wire);
	cr_assert_eq(parse_bytes(wire, n, &req, err, &errlen), 0);
	cr_assert_eq(req.lun, 2);
	cr_assert_eq(req.rq_lun, 1);
	cr_assert_eq(req.seq, 0x3f);
	n = answer(&req, 0x00, NULL, 0, out, sizeof(out));
	feed(&f, out, n);
	cr_assert_eq(f.n, 1);
	cr_assert_eq(f.len[0], 1 + 8);
	/* As ipmitool checks: netFn ((rq netFn | 4) & ~3) | rqLUN, rqSeq
	 * (seq << 2) | rsLUN, both addresses swapped. */
	cr_assert_eq(f.buf[0][1], 0x81);
	cr_assert_eq(f.buf[0][2], (0x07 << 2) | 1);
	cr_assert_eq(f.buf[0][4], 0x20);
	cr_assert_eq(f.buf[0][5], (0x3f << 2) | 2);
	cr_assert_eq(f.buf[0][6], 0x01);
	cr_assert_eq(sum(f.buf[0] + 1, 3), 0, "checksum 1");
	cr_assert_eq(sum(f.buf[0] + 4, 5), 0, "checksum 2");
}

Test(serial_codec, every_special_byte_is_unescaped_in_requests)
{
	static const uint8_t	data[] = { 0xa0, 0xa5, 0xa6, 0xaa, 0x1b,
				    0xb0, 0x3b, 0x5b };
	uint8_t			wire[64], err[64];
	struct busdrv_req	req;
	size_t			n, errlen;

	n = basic_request(0x30, 0, 5, 0, 0x10, data, sizeof(data), wire);
	cr_assert_geq(n, 9 + sizeof(data) + 5, "five escapes on the wire");
	cr_assert_eq(parse_bytes(wire, n, &req, err, &errlen), 0);
	cr_assert_eq(req.len, sizeof(data));
	cr_assert_arr_eq(req.data, data, sizeof(data));
}

Test(serial_codec, every_special_byte_is_escaped_in_answers)
{
	static const uint8_t	data[] = { 0xa0, 0xa5, 0xa6, 0xaa, 0x1b };
	static const uint8_t	want[] = { 0xaa, 0xb0, 0xaa, 0xb5, 0xaa,
				    0xb6, 0xaa, 0xba, 0xaa, 0x3b };
	uint8_t			wire[64], out[128], err[64];
	struct busdrv_req	req, back;
	size_t			n, errlen, i;
	struct frames		f = { 0 };

	n = basic_request(0x30, 0, 5, 0, 0x10, NULL, 0, wire);
	cr_assert_eq(parse_bytes(wire, n, &req, err, &errlen), 0);
	n = answer(&req, 0x00, data, sizeof(data), out, sizeof(out));
	cr_assert_geq(n, 9 + sizeof(want));
	cr_assert_eq(out[0], 0xa6, "the handshake first");
	cr_assert_eq(out[1], 0xa0);
	cr_assert_arr_eq(out + 9, want, sizeof(want));
	/* Seven plain header bytes, then each escape takes two. */
	for (i = 2; i + 1 < n; i++)
		cr_assert(out[i] != 0xa0 && out[i] != 0xa5 &&
		    out[i] != 0xa6 && out[i] != 0x1b &&
		    (out[i] != 0xaa || i % 2 == 1),
		    "unescaped special 0x%02x at %zu", out[i], i);
	feed(&f, out, n);
	cr_assert_eq(f.n, 1);
	cr_assert_eq(f.len[0], 1 + 8 + sizeof(data));
	cr_assert_arr_eq(f.buf[0] + 8, data, sizeof(data));
	cr_assert_eq(parse(f.buf[0], f.len[0], &back, err, &errlen),
	    BUSDRV_E_RESPONSE);
}

Test(serial_codec, bad_checksum_1_is_refused)
{
	uint8_t			wire[64];
	size_t			n;

	n = basic_request(0x06, 0, 1, 0, 0x01, NULL, 0, wire);
	wire[3] ^= 0x01;
	cr_assert_eq(verdict(wire, n), BUSDRV_E_CHECKSUM);
}

Test(serial_codec, bad_checksum_2_is_refused)
{
	static const uint8_t	data[] = { 1, 2, 3 };
	uint8_t			wire[64];
	size_t			n;

	n = basic_request(0x06, 0, 1, 0, 0x01, data, sizeof(data), wire);
	wire[n - 2] ^= 0x40;
	cr_assert_eq(verdict(wire, n), BUSDRV_E_CHECKSUM);
}

Test(serial_codec, basic_frame_shorter_than_a_header_is_short)
{
	static const uint8_t	wire[] = { 0xa0, 0x20, 0x18, 0xc8, 0x81,
				    0x04, 0xa5 };

	cr_assert_eq(verdict(wire, sizeof(wire)), BUSDRV_E_SHORT);
	cr_assert_eq(verdict("\xa0\xa5", 2), BUSDRV_E_SHORT);
}

Test(serial_codec, basic_frame_with_odd_netfn_is_a_response)
{
	uint8_t	wire[64];
	size_t	n;

	n = basic_request(0x07, 0, 1, 0, 0x01, NULL, 0, wire);
	cr_assert_eq(verdict(wire, n), BUSDRV_E_RESPONSE);
}

Test(serial_codec, unknown_escape_code_drops_the_frame_until_the_next)
{
	uint8_t			wire[128], err[64];
	struct frames		f = { 0 };
	struct busdrv_req	req;
	size_t			n, errlen;

	n = basic_request(0x06, 0, 1, 0, 0x01, NULL, 0, wire);
	memcpy(wire + n, "\xa0\x20\xaa\x00\x18\xa5", 6);
	n += 6;
	n += basic_request(0x06, 0, 2, 0, 0x01, NULL, 0, wire + n);
	feed(&f, wire, n);
	cr_assert_eq(f.n, 3);
	cr_assert_eq(parse(f.buf[0], f.len[0], &req, err, &errlen), 0);
	cr_assert_eq(f.kind[1], STREAM_BAD_FRAMING);
	cr_assert_eq(parse(f.buf[2], f.len[2], &req, err, &errlen), 0);
	cr_assert_eq(req.seq, 2);
}

Test(serial_codec, escape_before_stop_or_escape_is_malformed)
{
	cr_assert_eq(dropped("\xa0\x20\x18\xaa\xa5", 5), STREAM_BAD_ESCAPE);
	cr_assert_eq(dropped("\xa0\x20\xaa\xaa", 4), STREAM_BAD_FRAMING);
}

Test(serial_codec, start_inside_a_frame_drops_it_and_starts_anew)
{
	uint8_t			wire[64], err[64];
	struct frames		f = { 0 };
	struct busdrv_req	req;
	size_t			n, errlen;

	wire[0] = 0xa0;
	wire[1] = 0x20;
	n = 2 + basic_request(0x06, 0, 9, 0, 0x01, NULL, 0, wire + 2);
	feed(&f, wire, n);
	cr_assert_eq(f.n, 2);
	cr_assert_eq(f.kind[0], STREAM_BAD_FRAMING);
	cr_assert_eq(parse(f.buf[1], f.len[1], &req, err, &errlen), 0);
	cr_assert_eq(req.seq, 9);
}

Test(serial_codec, handshake_bytes_inside_and_between_frames_are_skipped)
{
	uint8_t			wire[64], with[80], err[64];
	struct busdrv_req	req;
	size_t			n, i, m = 0, errlen;

	n = basic_request(0x06, 0, 3, 0, 0x01, NULL, 0, wire);
	with[m++] = 0xa6;
	for (i = 0; i < n; i++) {
		with[m++] = wire[i];
		if (i > 0 && i + 1 < n)
			with[m++] = 0xa6;
	}
	with[m++] = 0xa6;
	cr_assert_eq(parse_bytes(with, m, &req, err, &errlen), 0);
	cr_assert_eq(req.seq, 3);
}

Test(serial_codec, oversized_basic_request_is_answered_c8_with_its_iana)
{
	uint8_t			data[249], wire[600], err[64];
	static const uint8_t	iana[] = { 0xd9, 0x7e, 0x00 };
	struct frames		f = { 0 };
	struct busdrv_req	req;
	size_t			n, errlen;

	memset(data, 0x11, sizeof(data));
	memcpy(data, iana, 3);
	n = basic_request(0x2e, 0, 4, 0, 0x01, data, sizeof(data), wire);
	cr_assert_eq(parse_bytes(wire, n, &req, err, &errlen),
	    BUSDRV_E_OVERSIZE);
	cr_assert_gt(errlen, 0, "no 0xC8 answer");
	n = serial_wrap(err, errlen, STREAM_MSG, wire, sizeof(wire));
	feed(&f, wire, n);
	cr_assert_eq(f.n, 1);
	cr_assert_eq(f.len[0], 1 + 8 + 3);
	cr_assert_eq(f.buf[0][2] >> 2, 0x2f);
	cr_assert_eq(f.buf[0][5] >> 2, 4);
	cr_assert_eq(f.buf[0][7], 0xc8);
	cr_assert_arr_eq(f.buf[0] + 8, iana, 3);
}

Test(serial_codec, largest_basic_request_is_accepted)
{
	uint8_t			data[248], wire[600], err[64];
	struct busdrv_req	req;
	size_t			n, errlen;

	memset(data, 0xa5, sizeof(data));
	n = basic_request(0x30, 0, 4, 0, 0x01, data, sizeof(data), wire);
	cr_assert_eq(parse_bytes(wire, n, &req, err, &errlen), 0);
	cr_assert_eq(req.len, sizeof(data));
	cr_assert_arr_eq(req.data, data, sizeof(data));
}

Test(serial_codec, basic_frame_overflowing_the_buffer_is_dropped)
{
	uint8_t		wire[1000];
	size_t		n = 0;

	wire[n++] = 0xa0;
	while (n < 400)
		wire[n++] = 0x11;
	wire[n++] = 0xa5;
	cr_assert_eq(dropped(wire, n), STREAM_BAD_OVERFLOW);
}

Test(serial_codec, answers_over_32_bytes_are_not_formed)
{
	uint8_t			wire[64], out[1100], err[64], data[33];
	struct busdrv_req	req;
	size_t			n, errlen;

	memset(data, 0, sizeof(data));
	n = basic_request(0x06, 0, 1, 0, 0x01, NULL, 0, wire);
	cr_assert_eq(parse_bytes(wire, n, &req, err, &errlen), 0);
	cr_assert_eq(serial_format(&req, 0, data, 33, out, sizeof(out)), 0);
	cr_assert_eq(serial_format(&req, 0, data, 32, out, sizeof(out)),
	    1 + 8 + 32);
	cr_assert_eq(answer(&req, 0, data, 32, out, sizeof(out)),
	    3 + 8 + 32);
	cr_assert_eq(serial_format(&req, 0, data, 32, out, 20), 0,
	    "a too small buffer is refused");
	cr_assert_eq(answer(&req, 0, data, 32, out, 20), 0,
	    "a too small wire buffer is refused");
	req.rq_lun = 0x80;
	cr_assert_eq(serial_format(&req, 0, data, 33, out, sizeof(out)), 0);
	cr_assert_eq(serial_format(&req, 0, data, 32, out, sizeof(out)),
	    1 + 4 + 32);
	cr_assert_eq(answer(&req, 0, data, 32, out, sizeof(out)),
	    3 * 36 + 3);
	cr_assert_eq(answer(&req, 0, data, 32, out, 3 * 36 + 2), 0);
}

/* ---- terminal mode ---- */

Test(serial_codec, ipmitools_terminal_probe_parses_as_netfn_2c_cmd_0)
{
	static const char	line[] = "[B0040000]\r\n";
	struct busdrv_req	req;
	uint8_t			err[64];
	size_t			errlen;

	cr_assert_eq(parse_bytes(line, strlen(line), &req, err, &errlen), 0);
	cr_assert_eq(req.netfn, 0x2c);
	cr_assert_eq(req.lun, 0);
	cr_assert_eq(req.seq, 1);
	cr_assert_eq(req.cmd, 0x00);
	cr_assert_eq(req.len, 1);
	cr_assert_eq(req.data[0], 0x00);
}

Test(serial_codec, terminal_answer_is_a_bracketed_hex_line)
{
	static const char	line[] = "[b0040000]\r\n";
	static const char	want[] = "[B4 04 00 C1 00]\r\n";
	struct busdrv_req	req;
	uint8_t			err[64], out[256], body = 0;
	size_t			errlen, n;

	cr_assert_eq(parse_bytes(line, strlen(line), &req, err, &errlen), 0);
	n = answer(&req, 0xc1, &body, 1, out, sizeof(out));
	assert_bytes(out, n, (const uint8_t *)want, strlen(want));
}

Test(serial_codec, terminal_answer_keeps_lun_and_bridge_bits)
{
	static const char	line[] = "[1a fF 01 aa]\n";
	static const char	want[] = "[1E FF 01 00 12]\r\n";
	struct busdrv_req	req;
	uint8_t			err[64], out[256], d = 0x12;
	size_t			errlen, n;

	cr_assert_eq(parse_bytes(line, strlen(line), &req, err, &errlen), 0);
	cr_assert_eq(req.netfn, 0x06);
	cr_assert_eq(req.lun, 2);
	cr_assert_eq(req.seq, 0x3f);
	cr_assert_eq(req.len, 1);
	cr_assert_eq(req.data[0], 0xaa);
	n = answer(&req, 0x00, &d, 1, out, sizeof(out));
	assert_bytes(out, n, (const uint8_t *)want, strlen(want));
}

Test(serial_codec, terminal_accepts_blanks_and_any_case)
{
	static const char	line[] = "[ 18\t04 01  aB Cd ]\r";
	struct busdrv_req	req;
	uint8_t			err[64];
	size_t			errlen;

	cr_assert_eq(parse_bytes(line, strlen(line), &req, err, &errlen), 0);
	cr_assert_eq(req.netfn, 0x06);
	cr_assert_eq(req.cmd, 0x01);
	cr_assert_eq(req.len, 2);
	cr_assert_eq(req.data[0], 0xab);
	cr_assert_eq(req.data[1], 0xcd);
}

Test(serial_codec, terminal_line_continuation_backspace_and_escape)
{
	static const char	cont[] = "[18 04\\\r\n 01 02]\r\n";
	static const char	bs[] = "[18 04 017\b 03]\n";
	static const char	esc[] = "[18 04 01\x1b[18 08 01]\r";
	struct busdrv_req	req;
	uint8_t			err[64];
	size_t			errlen;

	cr_assert_eq(parse_bytes(cont, strlen(cont), &req, err, &errlen), 0);
	cr_assert_eq(req.len, 1);
	cr_assert_eq(req.data[0], 0x02);
	cr_assert_eq(parse_bytes(bs, strlen(bs), &req, err, &errlen), 0);
	cr_assert_eq(req.len, 1);
	cr_assert_eq(req.data[0], 0x03);
	cr_assert_eq(parse_bytes(esc, strlen(esc), &req, err, &errlen), 0);
	cr_assert_eq(req.seq, 2, "the message after ESC is the one parsed");
}

Test(serial_codec, terminal_malformed_lines_are_refused)
{
	cr_assert_eq(dropped("[18 04 0g]\r", 11), STREAM_BAD_FRAMING);
	cr_assert_eq(dropped("[18 04 0]\r", 10), STREAM_BAD_FRAMING);
	cr_assert_eq(dropped("[18 0 401]\r", 11), STREAM_BAD_FRAMING);
	cr_assert_eq(dropped("[SYS PWD -N]\r", 13), STREAM_BAD_FRAMING);
	cr_assert_eq(dropped("[18 04\r", 7), STREAM_BAD_FRAMING);
	cr_assert_eq(dropped("[18 04 01]x", 11), STREAM_BAD_FRAMING);
	cr_assert_eq(dropped("[18 04\x01", 7), STREAM_BAD_FRAMING);
	cr_assert_eq(dropped("[18\\04 01]\r", 11), STREAM_BAD_FRAMING);
}

Test(serial_codec, terminal_short_and_response_lines_are_refused)
{
	cr_assert_eq(verdict("[1804]\r", 7), BUSDRV_E_SHORT);
	cr_assert_eq(verdict("[]\r", 3), BUSDRV_E_SHORT);
	cr_assert_eq(verdict("[1C 04 01 00]\r", 14), BUSDRV_E_RESPONSE);
}

Test(serial_codec, terminal_overlong_line_is_dropped_as_overflow)
{
	char	line[1200];

	line[0] = '[';
	memset(line + 1, 'A', 1100);
	memcpy(line + 1101, "]\r", 2);
	cr_assert_eq(dropped(line, 1103), STREAM_BAD_OVERFLOW);
}

Test(serial_codec, oversized_terminal_request_is_answered_c8_with_its_body)
{
	char			line[1024];
	struct busdrv_req	req;
	uint8_t			err[64];
	size_t			errlen, n = 0, i;
	static const char	want[] = "[B4 14 00 C8 03]\r\n";

	n += (size_t)sprintf(line, "[B0 14 00");
	for (i = 0; i < 249; i++)
		n += (size_t)sprintf(line + n, "03");
	n += (size_t)sprintf(line + n, "]\r\n");
	cr_assert_eq(parse_bytes(line, n, &req, err, &errlen),
	    BUSDRV_E_OVERSIZE);
	n = serial_wrap(err, errlen, STREAM_MSG, (uint8_t *)line,
	    sizeof(line));
	assert_bytes((uint8_t *)line, n, (const uint8_t *)want,
	    strlen(want));
}

/* ---- both modes on one line ---- */

Test(serial_codec, both_modes_and_junk_split_at_every_position)
{
	static const char	term[] = "junk\r\n[18 04 01]\r\n\n";
	uint8_t			all[128], err[64], d[] = { 0xaa, 0x1b };
	struct frames		whole = { 0 }, split;
	struct busdrv_req	req;
	size_t			n, cut, i, errlen;

	n = basic_request(0x06, 0, 7, 0, 0x01, d, sizeof(d), all);
	memcpy(all + n, term, strlen(term));
	n += strlen(term);
	n += basic_request(0x30, 1, 8, 2, 0x05, NULL, 0, all + n);
	feed(&whole, all, n);
	cr_assert_eq(whole.n, 3);
	for (i = 0; i < whole.n; i++)
		cr_assert_eq(parse(whole.buf[i], whole.len[i], &req, err,
		    &errlen), 0, "frame %zu", i);
	for (cut = 0; cut <= n; cut++) {
		memset(&split, 0, sizeof(split));
		feed(&split, all, cut);
		feed(&split, all + cut, n - cut);
		cr_assert_eq(split.n, whole.n, "split at %zu", cut);
		for (i = 0; i < whole.n; i++) {
			cr_assert_eq(split.len[i], whole.len[i]);
			cr_assert_arr_eq(split.buf[i], whole.buf[i],
			    whole.len[i], "frame %zu split at %zu", i, cut);
		}
	}
	memset(&split, 0, sizeof(split));
	for (i = 0; i < n; i++)
		feed(&split, all + i, 1);
	cr_assert_eq(split.n, whole.n, "byte by byte");
}

Test(serial_codec, a_basic_start_ends_a_terminal_message)
{
	uint8_t			all[64], err[64];
	struct frames		f = { 0 };
	struct busdrv_req	req;
	size_t			n, errlen;

	memcpy(all, "[18 04", 6);
	n = 6 + basic_request(0x06, 0, 3, 0, 0x01, NULL, 0, all + 6);
	feed(&f, all, n);
	cr_assert_eq(f.n, 2);
	cr_assert_eq(f.kind[0], STREAM_BAD_FRAMING);
	cr_assert_eq(parse(f.buf[1], f.len[1], &req, err, &errlen), 0);
	cr_assert_eq(req.seq, 3);
}

Test(serial_codec, junk_alone_makes_no_frame)
{
	static const uint8_t	junk[] = "hello\r\n]\xa5\xa6\xaa\x1b\x00";
	struct frames		f = { 0 };

	feed(&f, junk, sizeof(junk));
	cr_assert_eq(f.n, 0);
}

Test(serial_codec, unknown_frame_tags_are_malformed_and_not_wrapped)
{
	struct busdrv_req	req;
	uint8_t			err[64], out[64];
	size_t			errlen;

	cr_assert_eq(parse((const uint8_t *)"", 0, &req, err, &errlen),
	    BUSDRV_E_SHORT);
	cr_assert_eq(parse((const uint8_t *)"\x42\x00", 2, &req, err,
	    &errlen), BUSDRV_E_MALFORMED);
	cr_assert_eq(serial_wrap((const uint8_t *)"\x42\x00", 2,
	    STREAM_MSG, out, sizeof(out)), 0);
	cr_assert_eq(serial_wrap((const uint8_t *)"\xa0", 1, STREAM_CTL,
	    out, sizeof(out)), 0);
	cr_assert_eq(serial_wrap((const uint8_t *)"[", 1, STREAM_MSG,
	    out, sizeof(out)), 0, "an empty terminal answer");
}
