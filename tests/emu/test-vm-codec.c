/* SPDX-License-Identifier: MIT */
/*
 * The VM (QEMU ipmi-bmc-extern) codec in bus-drivers/vm.c: framing and
 * escaping (vm_feed, vm_wrap) on the bytes captured between QEMU 7.2 and
 * ipmi_sim (reference qemu-vm-protocol.md), and the message codec
 * (vm_parse, vm_format): checksums over seq, the echoed seq, the limits,
 * and every refusal of the ARCHITECTURE table that VM can meet.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "busdrv.h"
#include "stream.h"

extern const struct busdrv_medium busdrv_vm;
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
uint32_t vm_caps_controls(uint8_t caps);

static struct busdrv_req	 req;
static uint8_t			 err[64];
static size_t			 errlen;
static void			*rx;

/* Decoded frames of one feed run. */
struct got {
	int	kind;
	size_t	len;
	uint8_t	body[400];
};
static struct got	got[8];
static size_t		ngot;

static void
setup(void)
{
	memset(&req, 0, sizeof(req));
	memset(err, 0xee, sizeof(err));
	errlen = 99;
	cr_assert_not_null(rx = vm_rx_new());
	ngot = 0;
}

static void
teardown(void)
{
	vm_rx_free(rx);
}

TestSuite(vm_codec, .init = setup, .fini = teardown, .timeout = 5);

/* Feed in chunks of step bytes (0: all at once), collecting frames. */
static void
feed(const uint8_t *in, size_t n, size_t step)
{
	struct stream_frame	f;
	size_t			off = 0, chunk, used;

	while (off < n) {
		chunk = step == 0 || n - off < step ? n - off : step;
		used = vm_feed(rx, in + off, chunk, &f);
		cr_assert(used > 0 && used <= chunk, "feed used %zu of %zu",
		    used, chunk);
		off += used;
		if (f.kind == STREAM_NONE) {
			cr_assert_eq(used, chunk, "no frame but bytes left");
			continue;
		}
		cr_assert_lt(ngot, 8);
		cr_assert_leq(f.len, sizeof(got[0].body));
		got[ngot].kind = f.kind;
		got[ngot].len = f.len;
		memcpy(got[ngot].body, f.body, f.len);
		ngot++;
	}
}

static void
expect(size_t i, int kind, const uint8_t *body, size_t len)
{
	cr_assert_lt(i, ngot, "only %zu frames", ngot);
	cr_assert_eq(got[i].kind, kind, "frame %zu kind %d, expected %d", i,
	    got[i].kind, kind);
	cr_assert_eq(got[i].len, len, "frame %zu of %zu bytes, expected %zu",
	    i, got[i].len, len);
	if (len > 0)
		cr_assert_arr_eq(got[i].body, body, len);
}

Test(vm_codec, captured_request_with_checksum_aa_is_unescaped)
{
	const uint8_t	wire[] = { 0x06, 0x18, 0x30, 0x08, 0xaa, 0xba, 0xa0 };
	const uint8_t	body[] = { 0x06, 0x18, 0x30, 0x08, 0xaa };

	feed(wire, sizeof(wire), 0);
	cr_assert_eq(ngot, 1);
	expect(0, STREAM_MSG, body, sizeof(body));
	cr_assert_eq(vm_parse(body, sizeof(body), &req, err, &errlen), 0);
	cr_assert_eq(req.seq, 0x06);
	cr_assert_eq(req.netfn, 0x06);
	cr_assert_eq(req.cmd, 0x30);
	cr_assert_eq(req.len, 1);
	cr_assert_eq(req.data[0], 0x08);
}

Test(vm_codec, captured_response_with_checksum_a1_is_formatted_and_escaped)
{
	const uint8_t	wire[] = { 0x05, 0x1c, 0x2f, 0x00, 0x0f, 0xaa, 0xb1,
			    0xa0 };
	const uint8_t	data[] = { 0x0f };
	uint8_t		body[64], out[128];
	size_t		n, w;

	req.seq = 0x05;
	req.netfn = 0x06;
	req.cmd = 0x2f;
	n = vm_format(&req, 0x00, data, sizeof(data), body, sizeof(body));
	cr_assert_eq(n, 6);
	cr_assert_eq(body[5], 0xa1, "checksum %02x", body[5]);
	w = vm_wrap(body, n, STREAM_MSG, out, sizeof(out));
	cr_assert_eq(w, sizeof(wire));
	cr_assert_arr_eq(out, wire, sizeof(wire));
}

Test(vm_codec, captured_response_with_checksum_a0_is_escaped)
{
	const uint8_t	wire[] = { 0x08, 0x1c, 0x2f, 0x00, 0x0d, 0xaa, 0xb0,
			    0xa0 };
	const uint8_t	data[] = { 0x0d };
	uint8_t		body[64], out[128];
	size_t		n;

	req.seq = 0x08;
	req.netfn = 0x06;
	req.cmd = 0x2f;
	n = vm_format(&req, 0x00, data, sizeof(data), body, sizeof(body));
	cr_assert_eq(vm_wrap(body, n, STREAM_MSG, out, sizeof(out)),
	    sizeof(wire));
	cr_assert_arr_eq(out, wire, sizeof(wire));
}

Test(vm_codec, captured_get_device_id_exchange_round_trips)
{
	const uint8_t	q[] = { 0x00, 0x18, 0x01, 0xe7, 0xa0 };
	const uint8_t	b[] = { 0x00, 0x1c, 0x01, 0x00, 0x01, 0x01, 0x02,
			    0x15, 0x02, 0x9f, 0x00, 0x00, 0x00, 0x42, 0x00,
			    0x00, 0x00, 0x00, 0x00, 0xe7, 0xa0 };
	uint8_t		body[64], out[128];
	size_t		n;

	feed(q, sizeof(q), 0);
	expect(0, STREAM_MSG, q, 4);
	cr_assert_eq(vm_parse(got[0].body, got[0].len, &req, err, &errlen),
	    0);
	cr_assert_eq(req.seq, 0);
	cr_assert_eq(req.netfn, 0x06);
	cr_assert_eq(req.cmd, 0x01);
	cr_assert_eq(req.len, 0);
	cr_assert_eq(errlen, 0);
	n = vm_format(&req, 0x00, b + 4, 15, body, sizeof(body));
	cr_assert_eq(n, 20);
	cr_assert_eq(vm_wrap(body, n, STREAM_MSG, out, sizeof(out)),
	    sizeof(b));
	cr_assert_arr_eq(out, b, sizeof(b));
}

Test(vm_codec, control_in_front_of_a_response_in_one_buffer_is_two_frames)
{
	const uint8_t	wire[] = { 0x06, 0xa1, 0x02, 0x1c, 0x2e, 0x00, 0xb4,
			    0xa0 };
	const uint8_t	ctl[] = { 0x06 };
	const uint8_t	msg[] = { 0x02, 0x1c, 0x2e, 0x00, 0xb4 };

	feed(wire, sizeof(wire), 0);
	cr_assert_eq(ngot, 2);
	expect(0, STREAM_CTL, ctl, 1);
	expect(1, STREAM_MSG, msg, sizeof(msg));
}

Test(vm_codec, handshake_splits_into_version_and_capabilities)
{
	const uint8_t	wire[] = { 0xff, 0x01, 0xa1, 0x08, 0x3f, 0xa1 };
	const uint8_t	v[] = { 0xff, 0x01 }, c[] = { 0x08, 0x3f };

	feed(wire, sizeof(wire), 0);
	cr_assert_eq(ngot, 2);
	expect(0, STREAM_CTL, v, 2);
	expect(1, STREAM_CTL, c, 2);
}

Test(vm_codec, frames_split_across_reads_byte_by_byte_decode_the_same)
{
	const uint8_t	wire[] = { 0xff, 0x01, 0xa1, 0x06, 0x18, 0x30, 0x08,
			    0xaa, 0xba, 0xa0 };
	const uint8_t	v[] = { 0xff, 0x01 };
	const uint8_t	m[] = { 0x06, 0x18, 0x30, 0x08, 0xaa };

	feed(wire, sizeof(wire), 1);
	cr_assert_eq(ngot, 2);
	expect(0, STREAM_CTL, v, 2);
	expect(1, STREAM_MSG, m, sizeof(m));
}

Test(vm_codec, terminator_while_an_escape_is_pending_drops_the_frame)
{
	const uint8_t	wire[] = { 0x00, 0x18, 0x01, 0xaa, 0xa0,
			    0x00, 0x18, 0x01, 0xe7, 0xa0 };
	const uint8_t	m[] = { 0x00, 0x18, 0x01, 0xe7 };

	feed(wire, sizeof(wire), 0);
	cr_assert_eq(ngot, 2);
	cr_assert_eq(got[0].kind, STREAM_BAD_ESCAPE);
	expect(1, STREAM_MSG, m, sizeof(m));
}

Test(vm_codec, empty_frames_are_reported_as_garbage)
{
	const uint8_t	wire[] = { 0xa0, 0xa1 };

	feed(wire, sizeof(wire), 0);
	cr_assert_eq(ngot, 2);
	cr_assert_eq(got[0].kind, STREAM_BAD_EMPTY);
	cr_assert_eq(got[1].kind, STREAM_BAD_EMPTY);
}

Test(vm_codec, escape_of_an_ordinary_byte_is_bad_framing)
{
	const uint8_t	wire[] = { 0x00, 0xaa, 0x41, 0x01, 0xa0 };

	feed(wire, sizeof(wire), 0);
	cr_assert_eq(ngot, 1);
	cr_assert_eq(got[0].kind, STREAM_BAD_FRAMING);
}

Test(vm_codec, body_of_302_bytes_passes_and_303_overflows)
{
	static uint8_t	wire[700];
	size_t		i;

	for (i = 0; i < 302; i++)
		wire[i] = 0x11;
	wire[302] = 0xa0;
	feed(wire, 303, 0);
	cr_assert_eq(ngot, 1);
	cr_assert_eq(got[0].kind, STREAM_MSG);
	cr_assert_eq(got[0].len, 302);

	for (i = 0; i < 303; i++)
		wire[i] = 0x11;
	wire[303] = 0xa0;
	wire[304] = 0x00;
	wire[305] = 0x18;
	wire[306] = 0x01;
	wire[307] = 0xe7;
	wire[308] = 0xa0;
	feed(wire, 309, 0);
	cr_assert_eq(ngot, 3);
	cr_assert_eq(got[1].kind, STREAM_BAD_OVERFLOW);
	cr_assert_eq(got[2].kind, STREAM_MSG, "the next frame is intact");
	cr_assert_eq(got[2].len, 4);
}

Test(vm_codec, reset_forgets_a_partial_frame)
{
	const uint8_t	part[] = { 0x01, 0x02, 0xaa };
	const uint8_t	m[] = { 0x00, 0x18, 0x01, 0xe7, 0xa0 };

	feed(part, sizeof(part), 0);
	vm_rx_reset(rx);
	feed(m, sizeof(m), 0);
	cr_assert_eq(ngot, 1);
	expect(0, STREAM_MSG, m, 4);
}

Test(vm_codec, wrap_escapes_every_special_byte_and_feed_restores_it)
{
	const uint8_t	body[] = { 0xa0, 0xa1, 0xaa, 0xb0, 0xa5, 0x00 };
	const uint8_t	want[] = { 0xaa, 0xb0, 0xaa, 0xb1, 0xaa, 0xba, 0xb0,
			    0xa5, 0x00, 0xa1 };
	uint8_t		out[64];
	size_t		n;

	n = vm_wrap(body, sizeof(body), STREAM_CTL, out, sizeof(out));
	cr_assert_eq(n, sizeof(want));
	cr_assert_arr_eq(out, want, sizeof(want));
	feed(out, n, 0);
	expect(0, STREAM_CTL, body, sizeof(body));
}

Test(vm_codec, wrap_refuses_a_buffer_too_small_and_unknown_kinds)
{
	const uint8_t	body[] = { 0x00, 0xa0 };
	uint8_t		out[8];

	cr_assert_eq(vm_wrap(body, sizeof(body), STREAM_MSG, out, 3), 0);
	cr_assert_eq(vm_wrap(body, sizeof(body), STREAM_MSG, out, 4), 4);
	cr_assert_eq(vm_wrap(body, sizeof(body), 7, out, sizeof(out)), 0);
}

Test(vm_codec, bad_checksum_is_refused)
{
	const uint8_t	f[] = { 0x00, 0x18, 0x01, 0xe8 };

	cr_assert_eq(vm_parse(f, sizeof(f), &req, err, &errlen),
	    BUSDRV_E_CHECKSUM);
	cr_assert_eq(errlen, 0);
	cr_assert_eq(vm_classify(f, sizeof(f)), STREAM_GARBAGE);
}

Test(vm_codec, checksum_covers_seq)
{
	/* Correct for seq 0; with seq 1 the same bytes no longer sum to 0. */
	const uint8_t	f[] = { 0x01, 0x18, 0x01, 0xe7 };

	cr_assert_eq(vm_parse(f, sizeof(f), &req, err, &errlen),
	    BUSDRV_E_CHECKSUM);
}

Test(vm_codec, body_shorter_than_seq_netfn_cmd_checksum_is_short)
{
	const uint8_t	f[] = { 0x00, 0x18, 0xe8 };

	cr_assert_eq(vm_parse(f, sizeof(f), &req, err, &errlen),
	    BUSDRV_E_SHORT);
	cr_assert_eq(vm_parse(f, 0, &req, err, &errlen), BUSDRV_E_SHORT);
	cr_assert_eq(errlen, 0);
	cr_assert_eq(vm_classify(f, sizeof(f)), STREAM_GARBAGE);
}

Test(vm_codec, response_netfn_is_refused)
{
	const uint8_t	f[] = { 0x00, 0x1c, 0x01, 0x00, 0xe3 };

	cr_assert_eq(vm_parse(f, sizeof(f), &req, err, &errlen),
	    BUSDRV_E_RESPONSE);
	cr_assert_eq(errlen, 0);
	cr_assert_eq(vm_classify(f, sizeof(f)), STREAM_GARBAGE);
}

Test(vm_codec, seq_is_echoed_even_when_it_needs_escaping)
{
	uint8_t	f[] = { 0xa1, 0x30 << 2 | 2, 0x07, 0x55, 0x00 };
	uint8_t	body[64], out[128];
	size_t	n, w;

	f[4] = (uint8_t)-(f[0] + f[1] + f[2] + f[3]);
	cr_assert_eq(vm_parse(f, sizeof(f), &req, err, &errlen), 0);
	cr_assert_eq(req.seq, 0xa1);
	cr_assert_eq(req.lun, 2);
	cr_assert_eq(vm_classify(f, sizeof(f)), STREAM_REQUEST);
	n = vm_format(&req, 0xc1, NULL, 0, body, sizeof(body));
	cr_assert_eq(n, 5);
	cr_assert_eq(body[0], 0xa1);
	cr_assert_eq(body[1], 0x31 << 2 | 2);
	cr_assert_eq(body[2], 0x07);
	cr_assert_eq(body[3], 0xc1);
	cr_assert_eq((uint8_t)(body[0] + body[1] + body[2] + body[3] +
	    body[4]), 0);
	w = vm_wrap(body, n, STREAM_MSG, out, sizeof(out));
	cr_assert_eq(out[0], 0xaa);
	cr_assert_eq(out[1], 0xb1);
	cr_assert_eq(out[w - 1], 0xa0);
}

Test(vm_codec, request_data_over_298_bytes_is_answered_c8_with_seq)
{
	static uint8_t	f[4 + 299];
	uint8_t		sum = 0;
	size_t		i;

	f[0] = 0x42;
	f[1] = 0x2c << 2;
	f[2] = 0x00;
	f[3] = 0x03;			/* VITA body code, echoed */
	for (i = 4; i < sizeof(f) - 1; i++)
		f[i] = (uint8_t)i;
	for (i = 0; i < sizeof(f) - 1; i++)
		sum += f[i];
	f[sizeof(f) - 1] = (uint8_t)-sum;
	cr_assert_eq(vm_parse(f, sizeof(f), &req, err, &errlen),
	    BUSDRV_E_OVERSIZE);
	cr_assert_eq(errlen, 6);
	cr_assert_eq(err[0], 0x42);
	cr_assert_eq(err[1], 0x2d << 2);
	cr_assert_eq(err[3], 0xc8);
	cr_assert_eq(err[4], 0x03);
	cr_assert_eq((uint8_t)(err[0] + err[1] + err[2] + err[3] + err[4] +
	    err[5]), 0);

	/* 298 data bytes are fine. */
	f[sizeof(f) - 2] = (uint8_t)(f[sizeof(f) - 2] + f[sizeof(f) - 1]);
	cr_assert_eq(vm_parse(f, sizeof(f) - 1, &req, err, &errlen), 0);
	cr_assert_eq(req.len, 298);
}

Test(vm_codec, response_data_up_to_269_bytes_is_formatted_and_no_more)
{
	static uint8_t	data[270], body[400];

	req.netfn = 0x30;
	cr_assert_eq(vm_format(&req, 0, data, 269, body, sizeof(body)), 274);
	cr_assert_eq(vm_format(&req, 0, data, 270, body, sizeof(body)), 0);
	cr_assert_eq(vm_format(&req, 0, data, 10, body, 14), 0);
	cr_assert_eq(vm_format(&req, 0, data, 10, body, 15), 15);
}

Test(vm_codec, capabilities_map_to_control_ops)
{
	cr_assert_eq(vm_caps_controls(0x3f), 0x3f);
	cr_assert_eq(vm_caps_controls(0x01), 0x01);	/* power off */
	cr_assert_eq(vm_caps_controls(0x02), 0x02);	/* reset */
	cr_assert_eq(vm_caps_controls(0x08), 0x04);	/* NMI */
	cr_assert_eq(vm_caps_controls(0x20), 0x08);	/* graceful */
	cr_assert_eq(vm_caps_controls(0x04), 0x30);	/* both IRQ ops */
	cr_assert_eq(vm_caps_controls(0x10), 0x00);	/* attention only */
}

Test(vm_codec, medium_facts_describe_qemus_link)
{
	size_t	i, j;

	cr_assert_str_eq(busdrv_vm.driver, "vm");
	cr_assert_eq(busdrv_vm.medium, 12);
	cr_assert_eq(busdrv_vm.protocol, 5);
	cr_assert_eq(busdrv_vm.max_request, 298);
	cr_assert_eq(busdrv_vm.max_response, 269);
	cr_assert_eq(busdrv_vm.max_outstanding, 1);
	cr_assert_eq(busdrv_vm.host_timeout_ms, 4000);
	cr_assert(busdrv_vm.stream);
	cr_assert(busdrv_vm.one_outstanding);
	cr_assert_not(busdrv_vm.write_waits_pollout);
	cr_assert(busdrv_vm.can_set_attention);
	cr_assert(busdrv_vm.can_clear_attention);
	cr_assert_neq(busdrv_vm.ioctl_set_attention,
	    busdrv_vm.ioctl_clear_attention);
	cr_assert_eq(busdrv_vm.controls, 0x3f);
	cr_assert_not_null(busdrv_vm.dev_ops);
	cr_assert_geq(busdrv_vm.read_size, 302);
	for (i = 0; i < BUSDRV_CONTROL_N; i++)
		for (j = i + 1; j < BUSDRV_CONTROL_N; j++)
			cr_assert_neq(busdrv_vm.ioctl_control[i],
			    busdrv_vm.ioctl_control[j]);
}
