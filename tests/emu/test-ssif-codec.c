/* SPDX-License-Identifier: MIT */
/*
 * ssif_parse() and ssif_format() (bus-drivers/ssif.c), the pure codec of
 * the SSIF medium: the native-endian u32 length header, every refusal in
 * ARCHITECTURE.md's "Host frames the drivers refuse" table that SSIF can
 * meet (short, response netfn, length disagreeing, oversize), the 254-byte
 * payload limit (IPMI_SSIF_PAYLOAD_MAX), and the medium's facts.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "busdrv.h"

int	ssif_parse(const uint8_t *, size_t, struct busdrv_req *, uint8_t *,
	    size_t *);
size_t	ssif_format(const struct busdrv_req *, uint8_t, const uint8_t *,
	    size_t, uint8_t *, size_t);
extern const struct busdrv_medium busdrv_ssif;

TestSuite(ssif_codec, .timeout = 5);

static size_t
mk(uint8_t *f, uint32_t hlen, const uint8_t *payload, size_t plen)
{
	memcpy(f, &hlen, 4);
	memcpy(f + 4, payload, plen);
	return 4 + plen;
}

static uint32_t
get_len(const uint8_t *f)
{
	uint32_t	v;

	memcpy(&v, f, 4);
	return v;
}

Test(ssif_codec, a_get_device_id_request_parses)
{
	static const uint8_t	p[] = { 0x06 << 2 | 1, 0x01 };
	uint8_t			f[16];
	struct busdrv_req	r;
	size_t			elen = 99;

	memset(&r, 0xff, sizeof(r));
	cr_assert_eq(ssif_parse(f, mk(f, 2, p, 2), &r, NULL, &elen), 0);
	cr_assert_eq(r.netfn, 0x06);
	cr_assert_eq(r.lun, 1);
	cr_assert_eq(r.cmd, 0x01);
	cr_assert_eq(r.len, 0);
	cr_assert_eq(elen, 0);
}

Test(ssif_codec, request_data_follows_cmd)
{
	static const uint8_t	p[] = { 0x0a << 2, 0x43, 0, 0, 0xff, 0xff, 0,
				    0xff };
	uint8_t			f[16];
	struct busdrv_req	r;

	cr_assert_eq(ssif_parse(f, mk(f, sizeof(p), p, sizeof(p)), &r, NULL,
	    NULL), 0);
	cr_assert_eq(r.netfn, 0x0a);
	cr_assert_eq(r.cmd, 0x43);
	cr_assert_eq(r.len, 6);
	cr_assert_arr_eq(r.data, p + 2, 6);
}

Test(ssif_codec, the_length_header_is_native_endian)
{
	static const uint8_t	p[] = { 0x06 << 2, 0x01, 0x55 };
	uint8_t			f[16];
	struct busdrv_req	r;
	uint32_t		three = 3;

	(void)mk(f, 3, p, sizeof(p));
	cr_assert_arr_eq(f, &three, 4);
	cr_assert_eq(ssif_parse(f, 7, &r, NULL, NULL), 0);
	cr_assert_eq(r.len, 1);
}

Test(ssif_codec, the_largest_request_has_252_data_bytes)
{
	uint8_t			p[254], f[258];
	struct busdrv_req	r;

	memset(p, 0x11, sizeof(p));
	p[0] = 0x2e << 2;
	cr_assert_eq(ssif_parse(f, mk(f, 254, p, 254), &r, NULL, NULL), 0);
	cr_assert_eq(r.len, 252);
	cr_assert_eq(busdrv_ssif.max_request, 252);
}

Test(ssif_codec, frames_without_netfn_and_cmd_are_short)
{
	static const uint8_t	p[] = { 0x06 << 2, 0x01 };
	uint8_t			f[16] = { 0 }, err[64];
	struct busdrv_req	r;
	size_t			elen = 99;

	cr_assert_eq(ssif_parse(f, 0, &r, err, &elen), BUSDRV_E_SHORT);
	cr_assert_eq(ssif_parse(f, 3, &r, err, &elen), BUSDRV_E_SHORT);
	cr_assert_eq(ssif_parse(f, mk(f, 0, p, 0), &r, err, &elen),
	    BUSDRV_E_SHORT, "the kernel can hand over len 0");
	cr_assert_eq(ssif_parse(f, mk(f, 1, p, 1), &r, err, &elen),
	    BUSDRV_E_SHORT, "and len 1");
	cr_assert_eq(elen, 0, "nothing to answer: no netfn/cmd");
}

Test(ssif_codec, a_header_below_2_is_short_whatever_follows)
{
	static const uint8_t	p[] = { 0x06 << 2, 0x01, 0x00 };
	uint8_t			f[16], err[64];
	struct busdrv_req	r;
	size_t			elen = 99;

	cr_assert_eq(ssif_parse(f, mk(f, 1, p, 3), &r, err, &elen),
	    BUSDRV_E_SHORT);
	cr_assert_eq(elen, 0);
}

Test(ssif_codec, an_odd_netfn_is_a_response_and_dropped)
{
	static const uint8_t	p[] = { 0x07 << 2, 0x01, 0x00 };
	uint8_t			f[16], err[64];
	struct busdrv_req	r;
	size_t			elen = 99;

	cr_assert_eq(ssif_parse(f, mk(f, 3, p, 3), &r, err, &elen),
	    BUSDRV_E_RESPONSE);
	cr_assert_eq(elen, 0);
}

Test(ssif_codec, a_header_disagreeing_with_the_bytes_read_is_answered_c7)
{
	static const uint8_t	p[] = { 0x06 << 2 | 3, 0x24, 1, 2 };
	uint8_t			f[16], err[64];
	struct busdrv_req	r;
	size_t			elen = 0;

	cr_assert_eq(ssif_parse(f, mk(f, 9, p, sizeof(p)), &r, err, &elen),
	    BUSDRV_E_LENGTH);
	cr_assert_eq(elen, 7);
	cr_assert_eq(get_len(err), 3);
	cr_assert_eq(err[4], 0x07 << 2 | 3);
	cr_assert_eq(err[5], 0x24);
	cr_assert_eq(err[6], 0xc7);
	cr_assert_eq(ssif_parse(f, mk(f, 3, p, sizeof(p)), &r, err, &elen),
	    BUSDRV_E_LENGTH, "shorter header than bytes too");
}

Test(ssif_codec, a_payload_past_254_bytes_is_answered_c8)
{
	uint8_t			p[300], f[304], err[64];
	struct busdrv_req	r;
	size_t			elen = 0;

	memset(p, 0, sizeof(p));
	p[0] = 0x30 << 2;
	p[1] = 0x77;
	cr_assert_eq(ssif_parse(f, mk(f, 255, p, 255), &r, err, &elen),
	    BUSDRV_E_OVERSIZE);
	cr_assert_eq(elen, 7);
	cr_assert_eq(err[4], 0x31 << 2);
	cr_assert_eq(err[5], 0x77);
	cr_assert_eq(err[6], 0xc8);
}

Test(ssif_codec, a_refusal_without_an_errframe_buffer_is_still_reported)
{
	static const uint8_t	p[] = { 0x06 << 2, 0x01 };
	uint8_t			f[16];
	struct busdrv_req	r;

	cr_assert_eq(ssif_parse(f, mk(f, 5, p, 2), &r, NULL, NULL),
	    BUSDRV_E_LENGTH);
}

Test(ssif_codec, a_response_echoes_netfn_plus_one_lun_and_cmd)
{
	static const uint8_t	d[] = { 0x20, 0x01, 0x02 };
	struct busdrv_req	r = { .netfn = 0x06, .lun = 2, .cmd = 0x01 };
	uint8_t			f[300];

	cr_assert_eq(ssif_format(&r, 0x00, d, sizeof(d), f, sizeof(f)), 10);
	cr_assert_eq(get_len(f), 6);
	cr_assert_eq(f[4], 0x07 << 2 | 2);
	cr_assert_eq(f[5], 0x01);
	cr_assert_eq(f[6], 0x00);
	cr_assert_arr_eq(f + 7, d, sizeof(d));
}

Test(ssif_codec, a_cc_only_response_is_7_bytes)
{
	struct busdrv_req	r = { .netfn = 0x30, .cmd = 0x01 };
	uint8_t			f[300];

	cr_assert_eq(ssif_format(&r, 0xc3, NULL, 0, f, sizeof(f)), 7);
	cr_assert_eq(get_len(f), 3);
	cr_assert_eq(f[4], 0x31 << 2);
	cr_assert_eq(f[6], 0xc3);
}

Test(ssif_codec, responses_stop_at_251_data_bytes)
{
	static uint8_t		d[252];
	struct busdrv_req	r = { .netfn = 0x06, .cmd = 0x01 };
	uint8_t			f[300];

	cr_assert_eq(ssif_format(&r, 0, d, 251, f, sizeof(f)), 258);
	cr_assert_eq(get_len(f), 254);
	cr_assert_eq(ssif_format(&r, 0, d, 252, f, sizeof(f)), 0);
	cr_assert_eq(busdrv_ssif.max_response, 251);
}

Test(ssif_codec, format_refuses_a_buffer_too_small)
{
	struct busdrv_req	r = { .netfn = 0x06, .cmd = 0x01 };
	uint8_t			f[8];

	cr_assert_eq(ssif_format(&r, 0, NULL, 0, f, 6), 0);
	cr_assert_eq(ssif_format(&r, 0, NULL, 0, f, 7), 7);
}

Test(ssif_codec, a_formatted_response_has_what_the_device_write_accepts)
{
	static uint8_t		d[251];
	struct busdrv_req	r = { .netfn = 0x2c, .lun = 0, .cmd = 0x00 };
	uint8_t			f[300];
	size_t			n, i;

	for (i = 0; i <= sizeof(d); i += 25) {
		n = ssif_format(&r, 0, d, i, f, sizeof(f));
		cr_assert(n >= 4 && n <= 258);
		cr_assert(get_len(f) >= 1 && get_len(f) <= 254);
		cr_assert_eq(n, 4 + get_len(f));
	}
}

Test(ssif_codec, the_medium_facts_match_the_kernel_device)
{
	const struct busdrv_medium	*m = &busdrv_ssif;

	cr_assert_str_eq(m->driver, "ssif");
	cr_assert_eq(m->medium, 12, "system interface");
	cr_assert_eq(m->protocol, 4, "IPMI-SMBus (SSIF)");
	cr_assert_eq(m->max_outstanding, 1);
	cr_assert(m->one_outstanding);
	cr_assert_eq(m->host_timeout_ms, 500);
	cr_assert_eq(m->read_size, 258);
	cr_assert_not(m->read_blocks);
	cr_assert_not(m->write_waits_pollout);
	cr_assert(m->einval_means_gone);
	cr_assert_not(m->can_set_attention);
	cr_assert_not(m->can_clear_attention);
	cr_assert_not(m->backlog_newest_first);
}
