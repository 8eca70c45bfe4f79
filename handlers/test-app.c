/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the App handler's command functions and config parser.
 *
 * app.c is included so that its static functions are reachable; its main()
 * is renamed out of criterion's way. Requests are built by hand as the
 * library would hand them over; no broker is involved.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

int	app_main(int, char **);
#define main app_main
#include "app.c"
#undef main

static struct app_state st;
static uint8_t rsp[APP_RSP_MAX];
static size_t rsp_len;

/* A request on the system interface (channel 0x0F) of a BT-like bus. */
static struct ipmic_request
request(uint8_t cmd, const uint8_t *data, size_t len)
{
	struct ipmic_request r;

	memset(&r, 0, sizeof(r));
	r.netfn = APP_NETFN;
	r.cmd = cmd;
	r.channel = 0x0f;
	r.data = data;
	r.len = len;
	snprintf(r.facts.bus, sizeof(r.facts.bus), "bt0");
	r.facts.medium = 12;
	r.facts.protocol = 8;
	r.facts.max_request = 60;
	r.facts.max_response = 59;
	r.facts.deadline_ms = 4500;
	r.facts.max_outstanding = 1;
	return r;
}

/* Parse an in-memory config; returns app_config_read()'s result. */
static int
config(const char *text, struct app_device *dev, char *err, size_t errlen)
{
	FILE	*f;
	int	 rv;

	f = fmemopen((void *)text, strlen(text), "r");
	cr_assert_not_null(f);
	rv = app_config_read(f, "t.conf", dev, err, errlen);
	fclose(f);
	return rv;
}

static void
setup(void)
{
	static const char text[] =
	    "[device]\n"
	    "device_id = 0x20\n"
	    "device_revision = 1\n"
	    "firmware = 1.02\n"
	    "manufacturer_id = 32473\n"
	    "product_id = 0x0102\n"
	    "additional_support = 0x00\n";
	char	err[256];

	memset(&st, 0, sizeof(st));
	memset(rsp, 0xee, sizeof(rsp));
	rsp_len = 99;
	cr_assert_eq(config(text, &st.dev, err, sizeof(err)), 0, "%s", err);
}

TestSuite(app, .init = setup, .timeout = 5);

Test(app, device_id_has_eleven_bytes_in_spec_layout)
{
	static const uint8_t want[] = { 0x20, 0x01, 0x01, 0x02, 0x02, 0x00,
	    0xd9, 0x7e, 0x00, 0x02, 0x01 };
	struct ipmic_request r = request(APP_GET_DEVICE_ID, NULL, 0);

	cr_assert_eq(app_handle(&st, &r, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp_len, sizeof(want), "got %zu bytes", rsp_len);
	cr_assert_arr_eq(rsp, want, sizeof(want));
}

Test(app, device_id_with_aux_firmware_has_fifteen_bytes)
{
	static const uint8_t aux[] = { 0x01, 0x23, 0xab, 0xcd };
	struct ipmic_request r = request(APP_GET_DEVICE_ID, NULL, 0);

	cr_assert_null(app_config_key(&st.dev, "aux_firmware", "0123abCD"));
	cr_assert_eq(app_handle(&st, &r, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 15, "got %zu bytes", rsp_len);
	cr_assert_arr_eq(rsp + 11, aux, sizeof(aux));
}

Test(app, device_id_with_request_data_is_a_length_error)
{
	static const uint8_t data[] = { 0x00 };
	struct ipmic_request r = request(APP_GET_DEVICE_ID, data, 1);

	cr_assert_eq(app_handle(&st, &r, rsp, &rsp_len), IPMI_CC_BAD_LENGTH);
	cr_assert_eq(rsp_len, 0);
}

Test(app, every_command_refuses_one_byte_too_many)
{
	static const uint8_t data[8];
	struct ipmic_request r;
	size_t i;

	for (i = 0; i < APP_NCMDS; i++) {
		r = request(app_cmds[i].cmd, data, app_cmds[i].max_len + 1);
		cr_expect_eq(app_handle(&st, &r, rsp, &rsp_len),
		    IPMI_CC_BAD_LENGTH, "cmd 0x%02x", app_cmds[i].cmd);
	}
}

Test(app, set_global_enables_without_its_byte_is_a_length_error)
{
	struct ipmic_request r = request(APP_SET_GLOBAL_ENABLES, NULL, 0);

	cr_assert_eq(app_handle(&st, &r, rsp, &rsp_len), IPMI_CC_BAD_LENGTH);
}

Test(app, unknown_command_is_invalid_command)
{
	struct ipmic_request r = request(0x99, NULL, 0);

	cr_assert_eq(app_handle(&st, &r, rsp, &rsp_len), IPMI_CC_INVALID_CMD);
}

Test(app, self_test_passed)
{
	static const uint8_t want[] = { 0x55, 0x00 };
	struct ipmic_request r = request(APP_GET_SELF_TEST, NULL, 0);

	cr_assert_eq(app_handle(&st, &r, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 2);
	cr_assert_arr_eq(rsp, want, sizeof(want));
}

Test(app, global_enables_read_back_what_the_host_set)
{
	static const uint8_t set[] = { 0x0d };
	struct ipmic_request r = request(APP_GET_GLOBAL_ENABLES, NULL, 0);
	struct ipmic_request w = request(APP_SET_GLOBAL_ENABLES, set, 1);

	cr_assert_eq(app_handle(&st, &r, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp[0], 0x00, "enables start at 0, got 0x%02x", rsp[0]);
	cr_assert_eq(app_handle(&st, &w, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 0);
	cr_assert_eq(app_handle(&st, &r, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 1);
	cr_assert_eq(rsp[0], 0x0d, "got 0x%02x", rsp[0]);
}

Test(app, global_enables_reserved_bit_is_an_invalid_field)
{
	static const uint8_t set[] = { 0x10 };
	struct ipmic_request w = request(APP_SET_GLOBAL_ENABLES, set, 1);

	cr_assert_eq(app_handle(&st, &w, rsp, &rsp_len),
	    IPMI_CC_INVALID_FIELD);
	cr_assert_eq(st.global_enables, 0);
}

Test(app, clear_message_flags_clears_only_the_masked_bits)
{
	static const uint8_t mask[] = { 0x02 };
	struct ipmic_request c = request(APP_CLEAR_MSG_FLAGS, mask, 1);
	struct ipmic_request g = request(APP_GET_MSG_FLAGS, NULL, 0);

	st.msg_flags = 0x03;
	cr_assert_eq(app_handle(&st, &c, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(app_handle(&st, &g, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 1);
	cr_assert_eq(rsp[0], 0x01, "got 0x%02x", rsp[0]);
}

Test(app, get_message_and_event_buffer_are_empty)
{
	struct ipmic_request m = request(APP_GET_MESSAGE, NULL, 0);
	struct ipmic_request e = request(APP_READ_EVENT_BUFFER, NULL, 0);

	cr_assert_eq(app_handle(&st, &m, rsp, &rsp_len), IPMI_CC_EMPTY);
	cr_assert_eq(rsp_len, 0);
	cr_assert_eq(app_handle(&st, &e, rsp, &rsp_len), IPMI_CC_EMPTY);
	cr_assert_eq(rsp_len, 0);
}

Test(app, channel_info_for_this_channel_describes_the_bus)
{
	static const uint8_t data[] = { 0x0e };
	static const uint8_t want[] = { 0x0f, 12, 8, 0x00, 0xf2, 0x1b, 0x00,
	    0x00, 0x00 };
	struct ipmic_request r = request(APP_GET_CHANNEL_INFO, data, 1);

	cr_assert_eq(app_handle(&st, &r, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp_len, sizeof(want), "got %zu bytes", rsp_len);
	cr_assert_arr_eq(rsp, want, sizeof(want));
}

Test(app, channel_info_for_the_own_channel_number_is_answered)
{
	static const uint8_t data[] = { 0x0f };
	struct ipmic_request r = request(APP_GET_CHANNEL_INFO, data, 1);

	cr_assert_eq(app_handle(&st, &r, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp[0], 0x0f);
}

Test(app, channel_info_without_a_medium_says_system_interface)
{
	static const uint8_t data[] = { 0x0e };
	struct ipmic_request r = request(APP_GET_CHANNEL_INFO, data, 1);

	r.facts.medium = 0;
	cr_assert_eq(app_handle(&st, &r, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp[1], 12, "got %u", rsp[1]);
}

Test(app, channel_info_for_another_channel_is_not_present)
{
	static const uint8_t data[] = { 0x01 };
	struct ipmic_request r = request(APP_GET_CHANNEL_INFO, data, 1);

	cr_assert_eq(app_handle(&st, &r, rsp, &rsp_len), IPMI_CC_NOT_PRESENT);
	cr_assert_eq(rsp_len, 0);
}

Test(app, bt_capabilities_follow_the_bus_facts)
{
	static const uint8_t want[] = { 1, 64, 64, 5, 2 };
	struct ipmic_request r = request(APP_GET_BT_CAPS, NULL, 0);

	cr_assert_eq(app_handle(&st, &r, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp_len, sizeof(want));
	cr_assert_arr_eq(rsp, want, sizeof(want));
}

Test(app, bt_capabilities_clamp_to_one_byte_and_one_second)
{
	static const uint8_t want[] = { 255, 255, 255, 1, 2 };
	struct ipmic_request r = request(APP_GET_BT_CAPS, NULL, 0);

	r.facts.max_request = 1000;
	r.facts.max_response = 1000;
	r.facts.max_outstanding = 300;
	r.facts.deadline_ms = 0;
	cr_assert_eq(app_handle(&st, &r, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_arr_eq(rsp, want, sizeof(want));
}

Test(app, guid_is_sent_reversed_from_its_text_form)
{
	static const uint8_t want[] = { 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa,
	    0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00 };
	struct ipmic_request d = request(APP_GET_DEVICE_GUID, NULL, 0);
	struct ipmic_request s = request(APP_GET_SYSTEM_GUID, NULL, 0);

	cr_assert_null(app_config_key(&st.dev, "guid",
	    "00112233-4455-6677-8899-aabbccddeeff"));
	cr_assert_eq(app_handle(&st, &d, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 16);
	cr_assert_arr_eq(rsp, want, sizeof(want));
	memset(rsp, 0, sizeof(rsp));
	cr_assert_eq(app_handle(&st, &s, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_arr_eq(rsp, want, sizeof(want));
}

Test(app, firmware_minor_must_have_two_digits)
{
	cr_assert_not_null(app_config_key(&st.dev, "firmware", "1.2"));
	cr_assert_not_null(app_config_key(&st.dev, "firmware", "128.00"));
	cr_assert_null(app_config_key(&st.dev, "firmware", "127.99"));
	cr_assert_eq(st.dev.fw_major, 127);
	cr_assert_eq(st.dev.fw_minor, 0x99);
}

Test(app, config_error_names_file_and_line)
{
	static const char text[] =
	    "[device]\n"
	    "device_id = 1\n"
	    "device_revision = 16\n";
	struct app_device dev;
	char err[256];

	cr_assert_eq(config(text, &dev, err, sizeof(err)), -1);
	cr_assert_str_eq(err,
	    "t.conf:3: device_revision: expected a number from 0 to 15");
}

Test(app, config_unknown_key_is_an_error)
{
	static const char text[] = "[device]\nserial = 5\n";
	struct app_device dev;
	char err[256];

	cr_assert_eq(config(text, &dev, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "t.conf:2: unknown key in [device]");
}

Test(app, config_numbers_take_no_sign_or_octal)
{
	cr_assert_not_null(app_config_key(&st.dev, "device_id", "-1"));
	cr_assert_not_null(app_config_key(&st.dev, "device_id", "0x100"));
	cr_assert_null(app_config_key(&st.dev, "device_id", "010"));
	cr_assert_eq(st.dev.device_id, 10);
}
