/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the App handler's command functions and config parser.
 *
 * app.c is included so that its static functions are reachable; its main()
 * is renamed out of criterion's way. Requests are built by hand as the
 * library would hand them over; no broker is involved.
 */
#include <stdio.h>
#include <stdlib.h>
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

/* A request another handler sent through the broker (internal channel). */
static struct ipmic_request
internal(uint8_t netfn, uint8_t cmd, const uint8_t *data, size_t len)
{
	struct ipmic_request r;

	memset(&r, 0, sizeof(r));
	r.netfn = netfn;
	r.cmd = cmd;
	r.channel = 0x0d;
	r.data = data;
	r.len = len;
	snprintf(r.facts.bus, sizeof(r.facts.bus), "internal");
	r.facts.medium = 12;
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
	static const uint8_t data[256];
	struct ipmic_request r;
	size_t i;

	for (i = 0; i < APP_NCMDS; i++) {
		r = request(app_cmds[i].cmd, data, app_cmds[i].max_len + 1);
		r.netfn = app_cmds[i].netfn;
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
	static const uint8_t mask[] = { 0x08 };
	struct ipmic_request c = request(APP_CLEAR_MSG_FLAGS, mask, 1);
	struct ipmic_request g = request(APP_GET_MSG_FLAGS, NULL, 0);

	st.msg_flags = 0x28;		/* watchdog pre-timeout, OEM 0 */
	cr_assert_eq(app_handle(&st, &c, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(app_handle(&st, &g, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 1);
	cr_assert_eq(rsp[0], 0x20, "got 0x%02x", rsp[0]);
}

Test(app, get_message_and_event_buffer_start_empty)
{
	struct ipmic_request m = request(APP_GET_MESSAGE, NULL, 0);
	struct ipmic_request e = request(APP_READ_EVENT_BUFFER, NULL, 0);

	cr_assert_eq(app_handle(&st, &m, rsp, &rsp_len), IPMI_CC_EMPTY);
	cr_assert_eq(rsp_len, 0);
	cr_assert_eq(app_handle(&st, &e, rsp, &rsp_len), IPMI_CC_EMPTY);
	cr_assert_eq(rsp_len, 0);
}

static uint8_t
flags(void)
{
	struct ipmic_request g = request(APP_GET_MSG_FLAGS, NULL, 0);

	cr_assert_eq(app_handle(&st, &g, rsp, &rsp_len), IPMI_CC_OK);
	return rsp[0];
}

static void
enable_event_buffer(void)
{
	static const uint8_t set[] = { 0x04 };
	struct ipmic_request w = request(APP_SET_GLOBAL_ENABLES, set, 1);

	cr_assert_eq(app_handle(&st, &w, rsp, &rsp_len), IPMI_CC_OK);
}

static const uint8_t event8[] = { 0x41, 0x04, 0x01, 0x30, 0x01, 0x57, 0xff,
    0xff };

Test(app, platform_event_fills_the_buffer_and_read_empties_it)
{
	struct ipmic_request p = internal(SE_NETFN, SE_PLATFORM_EVENT, event8,
	    sizeof(event8));
	struct ipmic_request e = request(APP_READ_EVENT_BUFFER, NULL, 0);
	uint32_t t0 = (uint32_t)time(NULL), ts;

	enable_event_buffer();
	cr_assert_eq(app_handle(&st, &p, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 0);
	cr_assert_eq(flags(), APP_FLAG_EVENT);
	cr_assert_eq(app_handle(&st, &e, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 16);
	cr_assert_eq(rsp[2], 0x02, "system event record");
	ts = rsp[3] | rsp[4] << 8 | rsp[5] << 16 | (uint32_t)rsp[6] << 24;
	cr_assert(ts >= t0 && ts <= t0 + 5, "timestamp %u, now %u", ts, t0);
	cr_assert_eq(rsp[7], 0x41, "generator id");
	cr_assert_arr_eq(rsp + 9, event8 + 1, 7);
	cr_assert_eq(flags(), 0x00);
	cr_assert_eq(app_handle(&st, &e, rsp, &rsp_len), IPMI_CC_EMPTY);
}

Test(app, platform_event_is_dropped_while_the_buffer_is_off_or_full)
{
	static const uint8_t other[] = { 0x43, 0x04, 0x02, 0x01, 0x01, 0x00,
	    0x00, 0x00 };
	struct ipmic_request p = internal(SE_NETFN, SE_PLATFORM_EVENT, event8,
	    sizeof(event8));
	struct ipmic_request q = internal(SE_NETFN, SE_PLATFORM_EVENT, other,
	    sizeof(other));
	struct ipmic_request e = request(APP_READ_EVENT_BUFFER, NULL, 0);

	cr_assert_eq(app_handle(&st, &p, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(flags(), 0x00, "buffer not enabled: nothing kept");
	enable_event_buffer();
	cr_assert_eq(app_handle(&st, &p, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(app_handle(&st, &q, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(app_handle(&st, &e, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp[7], 0x41, "the first event stays");
}

Test(app, platform_event_as_a_sel_record_is_kept_as_it_is)
{
	uint8_t rec[16] = { 0 };
	struct ipmic_request p = internal(SE_NETFN, SE_PLATFORM_EVENT, rec,
	    sizeof(rec));
	struct ipmic_request e = request(APP_READ_EVENT_BUFFER, NULL, 0);
	size_t i;

	for (i = 0; i < sizeof(rec); i++)
		rec[i] = i + 1;
	enable_event_buffer();
	cr_assert_eq(app_handle(&st, &p, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(app_handle(&st, &e, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_arr_eq(rsp, rec, sizeof(rec));
}

Test(app, platform_event_of_another_length_is_a_length_error)
{
	struct ipmic_request p = internal(SE_NETFN, SE_PLATFORM_EVENT, event8,
	    7);
	struct ipmic_request q = internal(SE_NETFN, SE_PLATFORM_EVENT, event8,
	    8);

	q.len = 9;
	cr_assert_eq(app_handle(&st, &p, rsp, &rsp_len), IPMI_CC_BAD_LENGTH);
	cr_assert_eq(app_handle(&st, &q, rsp, &rsp_len), IPMI_CC_BAD_LENGTH);
}

Test(app, send_message_queues_for_get_message_in_order)
{
	static const uint8_t m1[] = { 0x0f, 0x18, 0x01, 0xaa },
	    m2[] = { 0x0f, 0x1c, 0x02 };
	static const uint8_t want1[] = { 0x0d, 0x18, 0x01, 0xaa };
	struct ipmic_request s1 = internal(APP_NETFN, APP_SEND_MESSAGE, m1,
	    sizeof(m1));
	struct ipmic_request s2 = internal(APP_NETFN, APP_SEND_MESSAGE, m2,
	    sizeof(m2));
	struct ipmic_request g = request(APP_GET_MESSAGE, NULL, 0);

	cr_assert_eq(app_handle(&st, &s1, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(app_handle(&st, &s2, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(flags(), APP_FLAG_RECEIVE);
	cr_assert_eq(app_handle(&st, &g, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp_len, sizeof(want1));
	cr_assert_arr_eq(rsp, want1, sizeof(want1));
	cr_assert_eq(app_handle(&st, &g, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 3);
	cr_assert_eq(rsp[1], 0x1c);
	cr_assert_eq(flags(), 0x00);
	cr_assert_eq(app_handle(&st, &g, rsp, &rsp_len), IPMI_CC_EMPTY);
}

Test(app, send_message_elsewhere_is_invalid_and_a_full_queue_is_c4)
{
	static const uint8_t ipmb[] = { 0x00, 0x18, 0x01 },
	    track[] = { 0x4f, 0x18, 0x01 }, m[] = { 0x0f, 0x18, 0x01 };
	struct ipmic_request a = internal(APP_NETFN, APP_SEND_MESSAGE, ipmb,
	    3);
	struct ipmic_request b = internal(APP_NETFN, APP_SEND_MESSAGE, track,
	    3);
	struct ipmic_request c = internal(APP_NETFN, APP_SEND_MESSAGE, m, 3);
	size_t i;

	cr_assert_eq(app_handle(&st, &a, rsp, &rsp_len),
	    IPMI_CC_INVALID_FIELD);
	cr_assert_eq(app_handle(&st, &b, rsp, &rsp_len),
	    IPMI_CC_INVALID_FIELD);
	for (i = 0; i < APP_RECV_QUEUE_MAX; i++)
		cr_assert_eq(app_handle(&st, &c, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(app_handle(&st, &c, rsp, &rsp_len),
	    IPMI_CC_OUT_OF_SPACE);
}

Test(app, clear_message_flags_empties_the_queues_it_names)
{
	static const uint8_t m[] = { 0x0f, 0x18, 0x01 }, clr[] = { 0x03 };
	struct ipmic_request s = internal(APP_NETFN, APP_SEND_MESSAGE, m, 3);
	struct ipmic_request p = internal(SE_NETFN, SE_PLATFORM_EVENT, event8,
	    sizeof(event8));
	struct ipmic_request c = request(APP_CLEAR_MSG_FLAGS, clr, 1);
	struct ipmic_request g = request(APP_GET_MESSAGE, NULL, 0);

	enable_event_buffer();
	cr_assert_eq(app_handle(&st, &s, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(app_handle(&st, &p, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(flags(), 0x03);
	cr_assert_eq(app_handle(&st, &c, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(flags(), 0x00);
	cr_assert_eq(app_handle(&st, &g, rsp, &rsp_len), IPMI_CC_EMPTY);
}

Test(app, host_reset_empties_the_queues_and_clears_the_enables)
{
	static const uint8_t m[] = { 0x0f, 0x18, 0x01 };
	struct ipmic_request s = internal(APP_NETFN, APP_SEND_MESSAGE, m, 3);
	struct ipmic_request p = internal(SE_NETFN, SE_PLATFORM_EVENT, event8,
	    sizeof(event8));

	enable_event_buffer();
	cr_assert_eq(app_handle(&st, &s, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(app_handle(&st, &p, rsp, &rsp_len), IPMI_CC_OK);
	app_bus_event(NULL, IPMIC_BUS_HOST_RESET, "bt0", &st);
	cr_assert_eq(flags(), 0x00);
	cr_assert_eq(st.global_enables, 0x00);
}

Test(app, host_buses_are_learned_from_system_interface_requests)
{
	struct ipmic_request bt = request(APP_GET_DEVICE_ID, NULL, 0);
	struct ipmic_request ctl = request(APP_GET_DEVICE_ID, NULL, 0);
	struct ipmic_request ipmb = request(APP_GET_DEVICE_ID, NULL, 0);

	snprintf(ctl.facts.bus, sizeof(ctl.facts.bus), "ctl");
	snprintf(ipmb.facts.bus, sizeof(ipmb.facts.bus), "ipmb0");
	ipmb.facts.medium = 1;
	app_learn_bus(&st, &bt);
	app_learn_bus(&st, &bt);
	app_learn_bus(&st, &ctl);
	app_learn_bus(&st, &ipmb);
	cr_assert_eq(st.nbuses, 1);
	cr_assert_str_eq(st.buses[0].name, "bt0");
}

Test(app, support_bits_follow_the_command_support_answers)
{
	uint8_t bits[16];

	memset(bits, 0xff, sizeof(bits));
	cr_assert_eq(app_support_decode(STORAGE_NETFN, bits, 16), 0x00);
	bits[0x43 / 8] &= ~(1 << (0x43 % 8));
	cr_assert_eq(app_support_decode(STORAGE_NETFN, bits, 16),
	    APP_SUPPORT_SEL);
	bits[0x23 / 8] &= ~(1 << (0x23 % 8));
	bits[0x11 / 8] &= ~(1 << (0x11 % 8));
	cr_assert_eq(app_support_decode(STORAGE_NETFN, bits, 16),
	    APP_SUPPORT_SEL | APP_SUPPORT_SDR | APP_SUPPORT_FRU);
	memset(bits, 0xff, sizeof(bits));
	bits[0] &= ~0x02;
	cr_assert_eq(app_support_decode(CHASSIS_NETFN, bits, 16),
	    APP_SUPPORT_CHASSIS);
	cr_assert_eq(app_support_decode(CHASSIS_NETFN, bits, 0), 0x00,
	    "a short answer proves nothing");
}

Test(app, device_id_with_auto_support_answers_the_learned_bits)
{
	struct ipmic_request r = request(APP_GET_DEVICE_ID, NULL, 0);

	cr_assert_null(app_config_key(&st.dev, "additional_support", "auto"));
	st.support = 0x8e;
	cr_assert_eq(app_handle(&st, &r, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp[5], 0x8e, "got 0x%02x", rsp[5]);
	cr_assert_null(app_config_key(&st.dev, "additional_support", "0x02"));
	cr_assert_eq(app_handle(&st, &r, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp[5], 0x02);
}

Test(app, events_section_keys_and_errors)
{
	static const char text[] =
	    "[events]\n"
	    "attention_bus = bt0\n"
	    "attention_bus = kcs0\n"
	    "internal_channel = 0x0c\n";
	struct app_device dev;
	char err[256];

	cr_assert_eq(config(text, &dev, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(dev.nbuses, 2);
	cr_assert_str_eq(dev.buses[1], "kcs0");
	cr_assert_eq(dev.internal_channel, 0x0c);
	cr_assert_eq(config("[events]\ninternal_channel = 16\n", &dev, err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "t.conf:2: internal_channel: expected a "
	    "channel from 0 to 0x0f");
	cr_assert_eq(config("[events]\nqueue = 3\n", &dev, err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "t.conf:2: unknown key in [events]");
}

Test(app, guid_file_is_made_once_as_version_4_and_read_back)
{
	char dir[] = "/tmp/test-app-guid.XXXXXX", path[128], text[40];
	struct app_device a, b;
	char *saved;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/guid", dir);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	cr_assert_eq(app_guid_load(&a, path), 0);
	cr_assert(a.has_guid);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(text, sizeof(text), f));
	fclose(f);
	cr_assert_eq(strlen(text), 37, "text %s", text);
	cr_assert_eq(text[14], '4', "version 4: %s", text);
	cr_assert(strchr("89ab", text[19]) != NULL, "variant: %s", text);
	cr_assert_eq(app_guid_load(&b, path), 0);
	cr_assert_arr_eq(a.guid, b.guid, 16);
	saved = getenv("STATE_DIRECTORY");
	setenv("STATE_DIRECTORY", dir, 1);
	memset(&b, 0, sizeof(b));
	cr_assert_eq(app_guid_load(&b, "guid"), 0);
	cr_assert_arr_eq(a.guid, b.guid, 16, "relative to STATE_DIRECTORY");
	if (saved == NULL)
		unsetenv("STATE_DIRECTORY");
	unlink(path);
	rmdir(dir);
}

Test(app, guid_file_without_a_guid_stops_the_handler)
{
	char dir[] = "/tmp/test-app-guid.XXXXXX", path[128];
	struct app_device a;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/guid", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("not a guid\n", f);
	fclose(f);
	memset(&a, 0, sizeof(a));
	cr_assert_eq(app_guid_load(&a, path), -1);
	unlink(path);
	rmdir(dir);
}

Test(app, relative_guid_file_without_state_directory_is_all_zero)
{
	static const uint8_t zero[16];
	struct app_device a;

	unsetenv("STATE_DIRECTORY");
	memset(&a, 0, sizeof(a));
	cr_assert_eq(app_guid_load(&a, "app-guid"), 0);
	cr_assert_not(a.has_guid);
	cr_assert_arr_eq(a.guid, zero, 16);
}

Test(app, guid_text_round_trips)
{
	uint8_t g[16];
	char text[40];

	cr_assert_eq(app_parse_guid("00112233-4455-6677-8899-aabbccddeeff",
	    g), 0);
	app_format_guid(g, text);
	cr_assert_str_eq(text, "00112233-4455-6677-8899-aabbccddeeff");
}

Test(app, shipped_config_is_valid)
{
	char path[512], err[256];
	struct app_device dev;
	FILE *f;

	snprintf(path, sizeof(path), "%s/conf/app-handler.conf", SRCDIR);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(app_config_read(f, path, &dev, err, sizeof(err)), 0,
	    "%s", err);
	fclose(f);
	cr_assert(dev.auto_support);
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
