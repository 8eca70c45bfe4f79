/* SPDX-License-Identifier: MIT */
/*
 * The KCS frame codec (bus-drivers/kcs.c): kcs_parse() on what read(2)
 * gives, kcs_format() for what write(2) takes, and the medium's facts.
 * Every refusal of the ARCHITECTURE "host frames the drivers refuse"
 * table that KCS can meet: too short, response netfn, oversize (0xC8).
 * KCS has no checksum, length byte or sequence number.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "busdrv.h"

extern const struct busdrv_medium busdrv_kcs;
int	kcs_parse(const uint8_t *frame, size_t len, struct busdrv_req *req,
	    uint8_t *errframe, size_t *errlen);
size_t	kcs_format(const struct busdrv_req *req, uint8_t cc,
	    const uint8_t *data, size_t len, uint8_t *frame, size_t max);

static struct busdrv_req	req;
static uint8_t			err[64];
static size_t			errlen;

static void
setup(void)
{
	memset(&req, 0, sizeof(req));
	memset(err, 0xee, sizeof(err));
	errlen = 99;
}

TestSuite(kcs_codec, .init = setup, .timeout = 5);

Test(kcs_codec, get_device_id_parses_to_app_netfn_cmd_and_no_data)
{
	const uint8_t	f[] = { 0x18, 0x01 };

	cr_assert_eq(kcs_parse(f, sizeof(f), &req, err, &errlen), 0);
	cr_assert_eq(req.netfn, 0x06);
	cr_assert_eq(req.lun, 0);
	cr_assert_eq(req.cmd, 0x01);
	cr_assert_eq(req.len, 0);
	cr_assert_eq(errlen, 0);
}

Test(kcs_codec, lun_comes_from_the_low_two_bits)
{
	const uint8_t	f[] = { 0x0a << 2 | 3, 0x43, 0x00, 0x00 };

	cr_assert_eq(kcs_parse(f, sizeof(f), &req, err, &errlen), 0);
	cr_assert_eq(req.netfn, 0x0a);
	cr_assert_eq(req.lun, 3);
	cr_assert_eq(req.cmd, 0x43);
}

Test(kcs_codec, data_after_cmd_is_copied_whole)
{
	const uint8_t	f[] = { 0x2e << 2, 0x10, 0xf2, 0x1b, 0x00, 0x42 };

	cr_assert_eq(kcs_parse(f, sizeof(f), &req, err, &errlen), 0);
	cr_assert_eq(req.len, 4);
	cr_assert_arr_eq(req.data, f + 2, 4);
}

Test(kcs_codec, medium_fields_without_meaning_on_kcs_are_zero)
{
	const uint8_t	f[] = { 0x18, 0x01 };

	memset(&req, 0xaa, sizeof(req));
	cr_assert_eq(kcs_parse(f, sizeof(f), &req, err, &errlen), 0);
	cr_assert_eq(req.seq, 0);
	cr_assert_eq(req.rq_addr, 0);
	cr_assert_eq(req.rs_addr, 0);
	cr_assert_eq(req.rq_lun, 0);
}

Test(kcs_codec, empty_frame_is_too_short_and_has_no_answer)
{
	cr_assert_eq(kcs_parse(NULL, 0, &req, err, &errlen), BUSDRV_E_SHORT);
	cr_assert_eq(errlen, 0);
}

Test(kcs_codec, one_byte_frame_is_too_short_and_has_no_answer)
{
	const uint8_t	f[] = { 0x18 };

	cr_assert_eq(kcs_parse(f, 1, &req, err, &errlen), BUSDRV_E_SHORT);
	cr_assert_eq(errlen, 0);
}

Test(kcs_codec, odd_netfn_is_a_response_and_is_dropped_silently)
{
	const uint8_t	f[] = { 0x07 << 2, 0x01, 0x00 };

	cr_assert_eq(kcs_parse(f, sizeof(f), &req, err, &errlen),
	    BUSDRV_E_RESPONSE);
	cr_assert_eq(errlen, 0);
}

Test(kcs_codec, every_odd_netfn_is_refused_and_every_even_one_accepted)
{
	uint8_t	f[2] = { 0, 0x01 };
	int	netfn, r;

	for (netfn = 0; netfn < 64; netfn++) {
		f[0] = (uint8_t)(netfn << 2 | 2);
		r = kcs_parse(f, sizeof(f), &req, err, &errlen);
		if (netfn & 1)
			cr_assert_eq(r, BUSDRV_E_RESPONSE, "netfn 0x%02x",
			    netfn);
		else
			cr_assert_eq(r, 0, "netfn 0x%02x", netfn);
	}
}

Test(kcs_codec, largest_request_the_kernel_buffers_is_accepted)
{
	static uint8_t	f[1000];

	f[0] = 0x0a << 2;
	f[1] = 0x44;
	cr_assert_eq(kcs_parse(f, sizeof(f), &req, err, &errlen), 0);
	cr_assert_eq(req.len, 998);
	cr_assert_eq(busdrv_kcs.max_request, 998);
}

Test(kcs_codec, request_past_max_request_is_answered_c8_with_its_lun)
{
	static uint8_t	f[1001];
	const uint8_t	want[] = { 0x0b << 2 | 2, 0x44, 0xc8 };

	f[0] = 0x0a << 2 | 2;
	f[1] = 0x44;
	cr_assert_eq(kcs_parse(f, sizeof(f), &req, err, &errlen),
	    BUSDRV_E_OVERSIZE);
	cr_assert_eq(errlen, sizeof(want));
	cr_assert_arr_eq(err, want, sizeof(want));
}

Test(kcs_codec, oversize_oem_request_answer_echoes_the_iana)
{
	static uint8_t	f[1100];
	const uint8_t	want[] = { 0x2f << 2, 0x05, 0xc8, 0xf2, 0x1b, 0x00 };

	f[0] = 0x2e << 2;
	f[1] = 0x05;
	f[2] = 0xf2;
	f[3] = 0x1b;
	f[4] = 0x00;
	cr_assert_eq(kcs_parse(f, sizeof(f), &req, err, &errlen),
	    BUSDRV_E_OVERSIZE);
	cr_assert_eq(errlen, sizeof(want));
	cr_assert_arr_eq(err, want, sizeof(want));
}

Test(kcs_codec, oversize_group_request_answer_echoes_the_body_code)
{
	static uint8_t	f[1024];
	const uint8_t	want[] = { 0x2d << 2 | 1, 0x00, 0xc8, 0xdc };

	f[0] = 0x2c << 2 | 1;
	f[1] = 0x00;
	f[2] = 0xdc;
	cr_assert_eq(kcs_parse(f, sizeof(f), &req, err, &errlen),
	    BUSDRV_E_OVERSIZE);
	cr_assert_eq(errlen, sizeof(want));
	cr_assert_arr_eq(err, want, sizeof(want));
}

Test(kcs_codec, oversize_response_netfn_is_dropped_not_answered)
{
	static uint8_t	f[1100];

	f[0] = 0x0b << 2;
	cr_assert_eq(kcs_parse(f, sizeof(f), &req, err, &errlen),
	    BUSDRV_E_RESPONSE);
	cr_assert_eq(errlen, 0);
}

Test(kcs_codec, response_is_netfn_plus_one_lun_cmd_cc_then_data)
{
	const uint8_t	data[] = { 0x20, 0x81 };
	const uint8_t	want[] = { 0x07 << 2 | 2, 0x01, 0x00, 0x20, 0x81 };
	uint8_t		f[32];

	req.netfn = 0x06;
	req.lun = 2;
	req.cmd = 0x01;
	cr_assert_eq(kcs_format(&req, 0x00, data, sizeof(data), f, sizeof(f)),
	    sizeof(want));
	cr_assert_arr_eq(f, want, sizeof(want));
}

Test(kcs_codec, cc_only_response_is_three_bytes_the_write_minimum)
{
	const uint8_t	want[] = { 0x01 << 2, 0x02, 0xc1 };
	uint8_t		f[8];

	req.netfn = 0x00;
	req.cmd = 0x02;
	cr_assert_eq(kcs_format(&req, 0xc1, NULL, 0, f, sizeof(f)), 3);
	cr_assert_arr_eq(f, want, sizeof(want));
}

Test(kcs_codec, response_up_to_max_response_is_formed)
{
	static uint8_t	data[269], f[1100];

	cr_assert_eq(busdrv_kcs.max_response, 269);
	req.netfn = 0x0a;
	req.cmd = 0x11;
	cr_assert_eq(kcs_format(&req, 0, data, sizeof(data), f, sizeof(f)),
	    272, "the Linux host reads at most 272 bytes");
}

Test(kcs_codec, response_past_max_response_is_not_formed)
{
	static uint8_t	data[270], f[1100];

	req.netfn = 0x0a;
	req.cmd = 0x11;
	cr_assert_eq(kcs_format(&req, 0, data, sizeof(data), f, sizeof(f)), 0);
}

Test(kcs_codec, response_larger_than_the_callers_buffer_is_not_formed)
{
	const uint8_t	data[4] = { 1, 2, 3, 4 };
	uint8_t		f[6];

	req.netfn = 0x06;
	cr_assert_eq(kcs_format(&req, 0, data, sizeof(data), f, sizeof(f)), 0);
	cr_assert_eq(kcs_format(&req, 0, data, 3, f, sizeof(f)), 6);
}

Test(kcs_codec, formatted_response_parses_back_as_a_response)
{
	uint8_t		f[8];
	size_t		n;

	req.netfn = 0x0a;
	req.lun = 1;
	req.cmd = 0x40;
	n = kcs_format(&req, 0, NULL, 0, f, sizeof(f));
	cr_assert_eq(kcs_parse(f, n, &req, err, &errlen), BUSDRV_E_RESPONSE);
}

Test(kcs_codec, medium_facts_match_the_kernel_driver)
{
	const struct busdrv_medium	*m = &busdrv_kcs;

	cr_assert_str_eq(m->driver, "kcs");
	cr_assert_eq(m->medium, 12, "system interface");
	cr_assert_eq(m->protocol, 5, "KCS");
	cr_assert_eq(m->max_outstanding, 1);
	cr_assert(m->one_outstanding);
	cr_assert_eq(m->host_timeout_ms, 5000);
	cr_assert_geq(m->read_size, 1000, "EOVERFLOW force-aborts");
	cr_assert_leq(m->read_size, BUSDRV_FRAME_MAX);
	cr_assert(!m->write_waits_pollout, "KCS never reports POLLOUT");
	cr_assert(m->einval_means_gone);
	cr_assert(m->can_set_attention);
	cr_assert(m->can_clear_attention);
	cr_assert_eq(m->ioctl_set_attention, 0xB100);
	cr_assert_eq(m->ioctl_clear_attention, 0xB101);
	cr_assert(!m->read_blocks, "read honours O_NONBLOCK");
	cr_assert(!m->backlog_newest_first);
	cr_assert_eq(m->parse, kcs_parse);
	cr_assert_eq(m->format, kcs_format);
}
