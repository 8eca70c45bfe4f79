/* SPDX-License-Identifier: MIT */
/*
 * The IPMB frame codec (bus-drivers/ipmb.c): frames as /dev/ipmb-N reads
 * them ([len][rsSA][netfn/lun][chk1][rqSA][seq/lun][cmd][data][chk2]) and
 * responses as it writes them. Known vectors come from a published FreeIPMI
 * debug dump of Get Channel Authentication Capabilities (the IPMI message
 * inside is IPMB-formatted): request 20 18 C8 81 4C 38 0E 03 EA, response
 * header 81 1C 63 20 4C 38 00. Every refusal of the ARCHITECTURE table
 * that applies to IPMB is here: short, odd netfn, bad checksum (either),
 * length byte disagreeing, oversize (answered 0xC8).
 */
#include <criterion/criterion.h>

#include <string.h>

#include "busdrv.h"

int	ipmb_parse(const uint8_t *frame, size_t len, struct busdrv_req *req,
	    uint8_t *errframe, size_t *errlen);
size_t	ipmb_format(const struct busdrv_req *req, uint8_t cc,
	    const uint8_t *data, size_t len, uint8_t *frame, size_t max);
extern const struct busdrv_medium busdrv_ipmb;

#define MAX_REQUEST	231	/* 239 bytes read - 8 of framing */
#define MAX_RESPONSE	24	/* 32-byte IPMB message - 8 of framing */

static const uint8_t	vec_a[] = { 9, 0x20, 0x18, 0xc8, 0x81, 0x4c, 0x38,
			    0x0e, 0x03, 0xea };
static const uint8_t	vec_b[] = { 9, 0x20, 0x18, 0xc8, 0x81, 0x94, 0x38,
			    0x8e, 0x03, 0x22 };

static uint8_t
sum(const uint8_t *p, size_t n)
{
	uint8_t	s = 0;

	while (n-- > 0)
		s += *p++;
	return s;
}

/* A request as the device reads it, checksums computed; returns length. */
static size_t
mkreq(uint8_t *f, uint8_t rs_sa, uint8_t netfn, uint8_t lun, uint8_t rq_sa,
    uint8_t seq, uint8_t rq_lun, uint8_t cmd, const uint8_t *data,
    size_t dlen)
{
	size_t	n = 8 + dlen;

	f[0] = (uint8_t)(n - 1);
	f[1] = rs_sa;
	f[2] = (uint8_t)(netfn << 2 | lun);
	f[3] = (uint8_t)-sum(f + 1, 2);
	f[4] = rq_sa;
	f[5] = (uint8_t)(seq << 2 | rq_lun);
	f[6] = cmd;
	if (dlen > 0)
		memcpy(f + 7, data, dlen);
	f[n - 1] = (uint8_t)-sum(f + 4, n - 5);
	return n;
}

/* Both checksums of a written response hold and its len byte is right. */
static void
assert_response_sane(const uint8_t *f, size_t n)
{
	cr_assert_geq(n, 9);
	cr_assert_eq(f[0], n - 1, "len byte %u for %zu bytes", f[0], n);
	cr_assert_eq(sum(f + 1, 3), 0, "chk1 0x%02x", f[3]);
	cr_assert_eq(sum(f + 4, n - 4), 0, "chk2 0x%02x", f[n - 1]);
}

static int
parse(const uint8_t *f, size_t n, struct busdrv_req *req, uint8_t *err,
    size_t *errlen)
{
	memset(req, 0, sizeof(*req));
	memset(err, 0xee, 64);
	return ipmb_parse(f, n, req, err, errlen);
}

Test(ipmb_codec, the_published_request_parses_with_its_addresses_seq_and_data)
{
	struct busdrv_req	req;
	uint8_t			err[64];
	size_t			errlen;

	cr_assert_eq(parse(vec_a, sizeof(vec_a), &req, err, &errlen), 0);
	cr_assert_eq(req.rs_addr, 0x20);
	cr_assert_eq(req.netfn, 0x06);
	cr_assert_eq(req.lun, 0);
	cr_assert_eq(req.rq_addr, 0x81);
	cr_assert_eq(req.seq, 0x13);
	cr_assert_eq(req.rq_lun, 0);
	cr_assert_eq(req.cmd, 0x38);
	cr_assert_eq(req.len, 2);
	cr_assert_eq(req.data[0], 0x0e);
	cr_assert_eq(req.data[1], 0x03);
	cr_assert_eq(errlen, 0);
}

Test(ipmb_codec, the_second_published_request_carries_seq_0x25)
{
	struct busdrv_req	req;
	uint8_t			err[64];
	size_t			errlen;

	cr_assert_eq(parse(vec_b, sizeof(vec_b), &req, err, &errlen), 0);
	cr_assert_eq(req.seq, 0x25);
	cr_assert_eq(req.data[0], 0x8e);
}

Test(ipmb_codec, the_response_to_the_published_request_has_the_published_header)
{
	static const uint8_t	hdr[] = { 0x81, 0x1c, 0x63, 0x20, 0x4c, 0x38,
				    0x00 };
	static const uint8_t	data[] = { 0x02, 0x15, 0x04, 0x00, 0x00,
				    0x00, 0x00, 0x00 };
	struct busdrv_req	req;
	uint8_t			err[64], f[64];
	size_t			errlen, n;

	cr_assert_eq(parse(vec_a, sizeof(vec_a), &req, err, &errlen), 0);
	n = ipmb_format(&req, 0x00, data, sizeof(data), f, sizeof(f));
	cr_assert_eq(n, 9 + sizeof(data));
	cr_assert_arr_eq(f + 1, hdr, sizeof(hdr));
	cr_assert_arr_eq(f + 8, data, sizeof(data));
	assert_response_sane(f, n);
}

Test(ipmb_codec, get_device_id_from_0x81_seq_5_is_answered_to_0x81_with_seq_5)
{
	struct busdrv_req	req;
	uint8_t			f[64], err[64], rsp[64];
	size_t			n, errlen;

	n = mkreq(f, 0x20, 0x06, 0, 0x81, 5, 0, 0x01, NULL, 0);
	cr_assert_eq(f[7], 0x6a, "chk2 of 81 14 01 is 0x6a, built 0x%02x",
	    f[7]);
	cr_assert_eq(parse(f, n, &req, err, &errlen), 0);
	cr_assert_eq(req.len, 0);
	n = ipmb_format(&req, 0x00, (const uint8_t *)"\x20\x01", 2, rsp,
	    sizeof(rsp));
	cr_assert_eq(n, 11);
	cr_assert_eq(rsp[1], 0x81);
	cr_assert_eq(rsp[2], 0x07 << 2);
	cr_assert_eq(rsp[4], 0x20);
	cr_assert_eq(rsp[5] >> 2, 5);
	cr_assert_eq(rsp[6], 0x01);
	cr_assert_eq(rsp[7], 0x00);
	assert_response_sane(rsp, n);
}

Test(ipmb_codec, luns_swap_roles_in_the_response)
{
	struct busdrv_req	req;
	uint8_t			f[64], err[64], rsp[64];
	size_t			n, errlen;

	/* Request to our LUN 2 from the requester's LUN 1, seq 63. */
	n = mkreq(f, 0x20, 0x0a, 2, 0x40, 0x3f, 1, 0x40, NULL, 0);
	cr_assert_eq(parse(f, n, &req, err, &errlen), 0);
	cr_assert_eq(req.lun, 2);
	cr_assert_eq(req.rq_lun, 1);
	cr_assert_eq(req.seq, 0x3f);
	n = ipmb_format(&req, 0xc1, NULL, 0, rsp, sizeof(rsp));
	cr_assert_eq(n, 9);
	cr_assert_eq(rsp[2], 0x0b << 2 | 1, "netfn byte names rqLUN");
	cr_assert_eq(rsp[5], 0x3f << 2 | 2, "seq byte names rsLUN");
	cr_assert_eq(rsp[7], 0xc1);
	assert_response_sane(rsp, n);
}

Test(ipmb_codec, both_response_checksums_hold_for_every_data_length)
{
	struct busdrv_req	req = { .netfn = 0x2e, .cmd = 0x99,
				    .rq_addr = 0xb0, .rs_addr = 0x20,
				    .seq = 0x2a, .lun = 3, .rq_lun = 2 };
	uint8_t			data[MAX_RESPONSE], rsp[64];
	size_t			i, n;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(0xf0 + i * 37);
	for (i = 0; i <= MAX_RESPONSE; i++) {
		n = ipmb_format(&req, 0x00, data, i, rsp, sizeof(rsp));
		cr_assert_eq(n, 9 + i);
		assert_response_sane(rsp, n);
	}
}

Test(ipmb_codec, a_bad_checksum_1_is_refused)
{
	struct busdrv_req	req;
	uint8_t			f[16], err[64];
	size_t			errlen;

	memcpy(f, vec_a, sizeof(vec_a));
	f[3] ^= 0x01;
	cr_assert_eq(parse(f, sizeof(vec_a), &req, err, &errlen),
	    BUSDRV_E_CHECKSUM);
	cr_assert_eq(errlen, 0);
}

Test(ipmb_codec, a_bad_checksum_2_is_refused_though_the_kernel_passed_it)
{
	struct busdrv_req	req;
	uint8_t			f[16], err[64];
	size_t			errlen;

	memcpy(f, vec_a, sizeof(vec_a));
	f[9] ^= 0x80;
	cr_assert_eq(parse(f, sizeof(vec_a), &req, err, &errlen),
	    BUSDRV_E_CHECKSUM);
	cr_assert_eq(errlen, 0);
	memcpy(f, vec_a, sizeof(vec_a));
	f[7] = 0x0f;		/* a data byte changed on the wire */
	cr_assert_eq(parse(f, sizeof(vec_a), &req, err, &errlen),
	    BUSDRV_E_CHECKSUM);
	cr_assert_eq(errlen, 0);
}

Test(ipmb_codec, an_odd_netfn_is_a_response_and_is_dropped)
{
	struct busdrv_req	req;
	uint8_t			f[64], err[64];
	size_t			n, errlen;

	n = mkreq(f, 0x20, 0x07, 0, 0x40, 3, 0, 0x01, (const uint8_t *)"\0",
	    1);
	cr_assert_eq(parse(f, n, &req, err, &errlen), BUSDRV_E_RESPONSE);
	cr_assert_eq(errlen, 0);
}

Test(ipmb_codec, frames_shorter_than_a_request_header_are_short)
{
	struct busdrv_req	req;
	uint8_t			err[64];
	size_t			errlen, n;

	cr_assert_eq(parse(vec_a, 0, &req, err, &errlen), BUSDRV_E_SHORT);
	for (n = 1; n < 8; n++) {
		uint8_t	f[16];

		memcpy(f, vec_a, n);
		f[0] = (uint8_t)(n - 1);
		cr_assert_eq(parse(f, n, &req, err, &errlen), BUSDRV_E_SHORT,
		    "%zu bytes", n);
		cr_assert_eq(errlen, 0);
	}
}

Test(ipmb_codec, a_request_with_no_data_is_the_smallest_frame)
{
	struct busdrv_req	req;
	uint8_t			f[16], err[64];
	size_t			n, errlen;

	n = mkreq(f, 0x20, 0x06, 0, 0x81, 1, 0, 0x01, NULL, 0);
	cr_assert_eq(n, 8);
	cr_assert_eq(parse(f, n, &req, err, &errlen), 0);
	cr_assert_eq(req.len, 0);
}

Test(ipmb_codec, a_len_byte_smaller_than_the_bytes_read_is_a_length_error)
{
	struct busdrv_req	req;
	uint8_t			f[16], err[64];
	size_t			errlen;

	memcpy(f, vec_a, sizeof(vec_a));
	f[0] = 8;
	cr_assert_eq(parse(f, sizeof(vec_a), &req, err, &errlen),
	    BUSDRV_E_LENGTH);
	cr_assert_eq(errlen, 0, "the kernel never does this: no answer");
}

Test(ipmb_codec, a_frame_cut_by_the_read_buffer_is_answered_c8)
{
	struct busdrv_req	req;
	uint8_t			f[300], err[64], data[250];
	size_t			n, errlen;

	memset(data, 0x5a, sizeof(data));
	n = mkreq(f, 0x20, 0x06, 1, 0x82, 9, 2, 0x77, data, 240);
	cr_assert_eq(n, 248);
	f[0] = 254;		/* it was longer than the 248 bytes read */
	cr_assert_eq(parse(f, n, &req, err, &errlen), BUSDRV_E_OVERSIZE);
	cr_assert_eq(errlen, 9);
	cr_assert_eq(err[1], 0x82);
	cr_assert_eq(err[2], 0x07 << 2 | 2);
	cr_assert_eq(err[4], 0x20);
	cr_assert_eq(err[5], 9 << 2 | 1);
	cr_assert_eq(err[6], 0x77);
	cr_assert_eq(err[7], 0xc8);
	assert_response_sane(err, errlen);
}

Test(ipmb_codec, a_cut_frame_with_a_bad_checksum_1_gets_no_answer)
{
	struct busdrv_req	req;
	uint8_t			f[300], err[64], data[250];
	size_t			n, errlen;

	memset(data, 0x5a, sizeof(data));
	n = mkreq(f, 0x20, 0x06, 0, 0x82, 9, 0, 0x77, data, 240);
	f[0] = 254;
	f[3] ^= 0x10;
	cr_assert_eq(parse(f, n, &req, err, &errlen), BUSDRV_E_CHECKSUM);
	cr_assert_eq(errlen, 0);
}

Test(ipmb_codec, a_cut_response_frame_is_still_a_response)
{
	struct busdrv_req	req;
	uint8_t			f[300], err[64], data[250];
	size_t			n, errlen;

	memset(data, 0x5a, sizeof(data));
	n = mkreq(f, 0x20, 0x07, 0, 0x82, 9, 0, 0x77, data, 240);
	f[0] = 254;
	cr_assert_eq(parse(f, n, &req, err, &errlen), BUSDRV_E_RESPONSE);
	cr_assert_eq(errlen, 0);
}

Test(ipmb_codec, the_largest_request_the_kernel_hands_over_parses)
{
	struct busdrv_req	req;
	uint8_t			f[300], err[64], data[MAX_REQUEST];
	size_t			n, errlen;

	memset(data, 0xa5, sizeof(data));
	n = mkreq(f, 0x20, 0x30, 0, 0x82, 1, 0, 0x01, data, MAX_REQUEST);
	cr_assert_eq(n, 239, "the kernel's largest read");
	cr_assert_eq(parse(f, n, &req, err, &errlen), 0);
	cr_assert_eq(req.len, MAX_REQUEST);
	cr_assert_eq(busdrv_ipmb.max_request, MAX_REQUEST);
}

Test(ipmb_codec, a_whole_frame_above_the_request_limit_is_answered_c8)
{
	struct busdrv_req	req;
	uint8_t			f[300], err[64], data[MAX_REQUEST + 1];
	size_t			n, errlen;

	memset(data, 0xa5, sizeof(data));
	n = mkreq(f, 0x20, 0x30, 0, 0x82, 1, 0, 0x01, data, sizeof(data));
	cr_assert_eq(parse(f, n, &req, err, &errlen), BUSDRV_E_OVERSIZE);
	cr_assert_eq(errlen, 9);
	cr_assert_eq(err[7], 0xc8);
	assert_response_sane(err, errlen);
}

Test(ipmb_codec, an_oversize_oem_request_gets_c8_with_its_iana_echoed)
{
	struct busdrv_req	req;
	uint8_t			f[300], err[64], data[MAX_REQUEST + 1];
	size_t			n, errlen;

	memset(data, 0xa5, sizeof(data));
	data[0] = 0xf2;
	data[1] = 0x1b;
	data[2] = 0x00;
	n = mkreq(f, 0x20, 0x2e, 0, 0x82, 1, 0, 0x01, data, sizeof(data));
	cr_assert_eq(parse(f, n, &req, err, &errlen), BUSDRV_E_OVERSIZE);
	cr_assert_eq(errlen, 12);
	cr_assert_eq(err[2] >> 2, 0x2f);
	cr_assert_eq(err[7], 0xc8);
	cr_assert_eq(err[8], 0xf2);
	cr_assert_eq(err[9], 0x1b);
	cr_assert_eq(err[10], 0x00);
	assert_response_sane(err, errlen);
}

Test(ipmb_codec, a_response_above_the_ipmb_message_limit_cannot_be_formed)
{
	struct busdrv_req	req = { .netfn = 0x0a, .cmd = 0x23,
				    .rq_addr = 0x82, .rs_addr = 0x20 };
	uint8_t			data[64] = { 0 }, rsp[256];
	size_t			n;

	cr_assert_eq(busdrv_ipmb.max_response, MAX_RESPONSE);
	n = ipmb_format(&req, 0, data, MAX_RESPONSE, rsp, sizeof(rsp));
	cr_assert_eq(n, 33, "32 bytes plus the len byte");
	cr_assert_eq(ipmb_format(&req, 0, data, MAX_RESPONSE + 1, rsp,
	    sizeof(rsp)), 0);
}

Test(ipmb_codec, a_response_larger_than_the_callers_buffer_is_not_written)
{
	struct busdrv_req	req = { .netfn = 0x06, .cmd = 0x01 };
	uint8_t			rsp[16];

	memset(rsp, 0x77, sizeof(rsp));
	cr_assert_eq(ipmb_format(&req, 0, (const uint8_t *)"abc", 3, rsp,
	    11), 0);
	cr_assert_eq(rsp[0], 0x77);
	cr_assert_eq(ipmb_format(&req, 0, (const uint8_t *)"abc", 3, rsp,
	    12), 12);
}

Test(ipmb_codec, the_medium_describes_ipmb_dev_int)
{
	const struct busdrv_medium	*m = &busdrv_ipmb;

	cr_assert_str_eq(m->driver, "ipmb");
	cr_assert_eq(m->medium, 1);
	cr_assert_eq(m->protocol, 1);
	cr_assert_geq(m->read_size, 240, "the kernel cuts reads silently");
	cr_assert(m->backlog_newest_first, "the kernel queues at the head");
	cr_assert_not(m->read_blocks);
	cr_assert_not(m->write_waits_pollout, "POLLOUT is always set");
	cr_assert_not(m->einval_means_gone);
	cr_assert_not(m->one_outstanding);
	cr_assert_not(m->can_set_attention);
	cr_assert_not(m->can_clear_attention);
	cr_assert_gt(m->max_outstanding, 1);
	cr_assert_leq(m->host_timeout_ms, 250, "answer before the retry");
	cr_assert_eq(m->parse, ipmb_parse);
	cr_assert_eq(m->format, ipmb_format);
}
