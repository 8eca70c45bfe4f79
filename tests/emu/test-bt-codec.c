/* SPDX-License-Identifier: MIT */
/*
 * bt_parse() and bt_format(), the pure BT codec of bus-drivers/bt.c:
 * every refusal of the ARCHITECTURE table that BT can meet, the seq
 * echo, netfn + 1 with the LUN kept, the 0xC7 errframe, and the limits
 * (252 request data bytes, 64-byte response frames).
 */
#include <criterion/criterion.h>

#include <string.h>

#include "busdrv.h"

int	bt_parse(const uint8_t *frame, size_t len, struct busdrv_req *req,
	    uint8_t *errframe, size_t *errlen);
size_t	bt_format(const struct busdrv_req *req, uint8_t cc,
	    const uint8_t *data, size_t len, uint8_t *frame, size_t max);
extern const struct busdrv_medium busdrv_bt;

static struct busdrv_req	req;
static uint8_t			err[64];
static size_t			errlen;

static int
parse(const uint8_t *f, size_t len)
{
	memset(&req, 0xaa, sizeof(req));
	memset(err, 0, sizeof(err));
	errlen = 99;
	return bt_parse(f, len, &req, err, &errlen);
}

TestSuite(bt_codec, .timeout = 10);

Test(bt_codec, a_get_device_id_request_parses_with_its_seq_and_lun)
{
	static const uint8_t	f[] = { 3, 0x06 << 2 | 2, 0x42, 0x01 };

	cr_assert_eq(parse(f, sizeof(f)), 0);
	cr_assert_eq(req.netfn, 0x06);
	cr_assert_eq(req.lun, 2);
	cr_assert_eq(req.seq, 0x42);
	cr_assert_eq(req.cmd, 0x01);
	cr_assert_eq(req.len, 0);
	cr_assert_eq(errlen, 0);
}

Test(bt_codec, request_data_follows_the_cmd)
{
	static const uint8_t	f[] = { 6, 0x0a << 2, 7, 0x43, 1, 2, 3 };

	cr_assert_eq(parse(f, sizeof(f)), 0);
	cr_assert_eq(req.netfn, 0x0a);
	cr_assert_eq(req.len, 3);
	cr_assert_eq(memcmp(req.data, f + 4, 3), 0);
}

Test(bt_codec, frames_shorter_than_len_netfn_seq_cmd_are_short)
{
	static const uint8_t	f[] = { 3, 0x18, 1, 1 };
	size_t			n;

	for (n = 0; n < 4; n++) {
		cr_assert_eq(parse(f, n), BUSDRV_E_SHORT, "len %zu", n);
		cr_assert_eq(errlen, 0);
	}
}

Test(bt_codec, an_odd_netfn_is_a_response_and_dropped)
{
	static const uint8_t	f[] = { 4, 0x07 << 2, 1, 1, 0 };

	cr_assert_eq(parse(f, sizeof(f)), BUSDRV_E_RESPONSE);
	cr_assert_eq(errlen, 0);
}

Test(bt_codec, a_length_byte_beyond_the_bytes_read_is_answered_c7)
{
	static const uint8_t	f[] = { 20, 0x06 << 2 | 1, 0x33, 0x01, 9 };

	cr_assert_eq(parse(f, sizeof(f)), BUSDRV_E_LENGTH);
	cr_assert_eq(errlen, 5);
	cr_assert_eq(err[0], 4);
	cr_assert_eq(err[1], 0x07 << 2 | 1);
	cr_assert_eq(err[2], 0x33);
	cr_assert_eq(err[3], 0x01);
	cr_assert_eq(err[4], 0xc7);
}

Test(bt_codec, a_length_byte_short_of_the_bytes_read_is_answered_c7)
{
	static const uint8_t	f[] = { 3, 0x06 << 2, 0x34, 0x01, 9, 9 };

	cr_assert_eq(parse(f, sizeof(f)), BUSDRV_E_LENGTH);
	cr_assert_eq(errlen, 5);
	cr_assert_eq(err[2], 0x34);
	cr_assert_eq(err[4], 0xc7);
}

Test(bt_codec, a_c7_for_an_oem_request_echoes_the_iana)
{
	static const uint8_t	f[] = { 40, 0x2e << 2, 5, 0x10, 0x57, 0x01,
	    0x00, 0xff };

	cr_assert_eq(parse(f, sizeof(f)), BUSDRV_E_LENGTH);
	cr_assert_eq(errlen, 8);
	cr_assert_eq(err[0], 7);
	cr_assert_eq(err[1], 0x2f << 2);
	cr_assert_eq(err[4], 0xc7);
	cr_assert_eq(memcmp(err + 5, "\x57\x01\x00", 3), 0);
}

Test(bt_codec, a_c7_for_a_group_request_echoes_the_body_code)
{
	static const uint8_t	f[] = { 40, 0x2c << 2, 5, 0x01, 0xdc };

	cr_assert_eq(parse(f, sizeof(f)), BUSDRV_E_LENGTH);
	cr_assert_eq(errlen, 6);
	cr_assert_eq(err[4], 0xc7);
	cr_assert_eq(err[5], 0xdc);
}

Test(bt_codec, the_largest_frame_bt_bmc_hands_over_carries_252_data_bytes)
{
	uint8_t	f[256];

	memset(f, 0x5a, sizeof(f));
	f[0] = 255;
	f[1] = 0x30 << 2;
	cr_assert_eq(parse(f, sizeof(f)), 0);
	cr_assert_eq(req.len, 252);
	cr_assert_eq(busdrv_bt.max_request, 252);
}

Test(bt_codec, a_frame_longer_than_bt_bmc_can_hand_over_is_answered_c7)
{
	uint8_t	f[300];

	memset(f, 0, sizeof(f));
	f[0] = 255;
	f[1] = 0x30 << 2;
	f[2] = 9;
	cr_assert_eq(parse(f, sizeof(f)), BUSDRV_E_LENGTH);
	cr_assert_eq(errlen, 5);
	cr_assert_eq(err[2], 9);
	cr_assert_eq(err[4], 0xc7);
}

Test(bt_codec, a_response_echoes_seq_cmd_and_lun_with_netfn_plus_one)
{
	static const uint8_t	f[] = { 3, 0x06 << 2 | 3, 0x42, 0x01 };
	uint8_t			out[64];

	cr_assert_eq(parse(f, sizeof(f)), 0);
	cr_assert_eq(bt_format(&req, 0x00, (const uint8_t *)"\x20\x01", 2,
	    out, sizeof(out)), 7);
	cr_assert_eq(memcmp(out, "\x06\x1f\x42\x01\x00\x20\x01", 7), 0);
}

Test(bt_codec, a_cc_only_response_is_five_bytes_with_length_four)
{
	static const uint8_t	f[] = { 3, 0x30 << 2, 0x07, 0x55 };
	uint8_t			out[64];

	cr_assert_eq(parse(f, sizeof(f)), 0);
	cr_assert_eq(bt_format(&req, 0xc1, NULL, 0, out, sizeof(out)), 5);
	cr_assert_eq(memcmp(out, "\x04\xc4\x07\x55\xc1", 5), 0);
}

Test(bt_codec, a_response_frame_fits_the_64_byte_fifo)
{
	static const uint8_t	f[] = { 3, 0x0a << 2, 1, 0x23 };
	uint8_t			data[64], out[256];

	memset(data, 1, sizeof(data));
	cr_assert_eq(parse(f, sizeof(f)), 0);
	cr_assert_eq(busdrv_bt.max_response, 59);
	cr_assert_eq(bt_format(&req, 0, data, 59, out, sizeof(out)), 64);
	cr_assert_eq(out[0], 63);
	cr_assert_eq(bt_format(&req, 0, data, 60, out, sizeof(out)), 0,
	    "a 65-byte frame must be refused (the driver answers 0xCA)");
}

Test(bt_codec, format_refuses_a_frame_larger_than_the_buffer)
{
	static const uint8_t	f[] = { 3, 0x06 << 2, 1, 0x01 };
	uint8_t			out[8];

	cr_assert_eq(parse(f, sizeof(f)), 0);
	cr_assert_eq(bt_format(&req, 0, (const uint8_t *)"abcd", 4, out, 8),
	    0);
	cr_assert_eq(bt_format(&req, 0, (const uint8_t *)"abc", 3, out, 8),
	    8);
}

Test(bt_codec, the_medium_announces_bt_facts)
{
	cr_assert_str_eq(busdrv_bt.driver, "bt");
	cr_assert_eq(busdrv_bt.medium, 12);
	cr_assert_eq(busdrv_bt.protocol, 8);
	cr_assert_eq(busdrv_bt.host_timeout_ms, 5000);
	cr_assert(busdrv_bt.read_size >= 256);
	cr_assert(busdrv_bt.read_blocks);
	cr_assert(busdrv_bt.write_waits_pollout);
	cr_assert(busdrv_bt.can_set_attention);
	cr_assert_not(busdrv_bt.can_clear_attention);
	cr_assert_eq(busdrv_bt.ioctl_set_attention, 0xb100);
	cr_assert(busdrv_bt.max_outstanding > 1);
}
