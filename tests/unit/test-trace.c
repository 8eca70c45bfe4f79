/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of live tracing without sockets: the broker's trace filters
 * and TraceEvent packing (broker/trace.c), the pcap writer's byte layout
 * (tools/pcap.c: file header, record header, HPM.2 block), the options
 * of ipmi-ctl trace and the lines it prints (tools/ctl-trace.c).
 */
#include <criterion/criterion.h>

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "pcap.h"
#include "trace.h"
#include "wire.h"

/* 2023-11-14 22:13:20.123456 UTC */
#define T_US	1700000000123456ULL

static const uint8_t devid[] = { 0x20, 0x01, 0x01, 0x02, 0x02, 0xbf,
	0xd9, 0x7e, 0x00, 0x01, 0x00 };

static void
expect_bytes(const uint8_t *got, const uint8_t *want, size_t n,
    const char *what)
{
	size_t	i;

	for (i = 0; i < n; i++)
		cr_assert_eq(got[i], want[i], "%s: byte %zu is 0x%02x, "
		    "expected 0x%02x", what, i, got[i], want[i]);
}

TestSuite(pcap, .timeout = 5);

Test(pcap, file_header_is_classic_pcap_with_link_type_260)
{
	static const uint8_t want[] = {
		0xd4, 0xc3, 0xb2, 0xa1,		/* magic, microseconds */
		0x02, 0x00, 0x04, 0x00,		/* version 2.4 */
		0x00, 0x00, 0x00, 0x00,		/* GMT offset */
		0x00, 0x00, 0x00, 0x00,		/* accuracy */
		0xff, 0xff, 0x00, 0x00,		/* snaplen 65535 */
		0x04, 0x01, 0x00, 0x00,		/* LINKTYPE_IPMI_HPM_2 */
	};
	uint8_t	buf[PCAP_HEADER_LEN];

	cr_assert_eq(pcap_header(buf), sizeof(want));
	expect_bytes(buf, want, sizeof(want), "file header");
}

Test(pcap, request_is_a_kcs_block_toward_the_controller)
{
	static const uint8_t want[] = {
		0x00, 0xf1, 0x53, 0x65,		/* seconds 1700000000 */
		0x40, 0xe2, 0x01, 0x00,		/* microseconds 123456 */
		0x0d, 0x00, 0x00, 0x00,		/* captured 11 + 2 */
		0x0d, 0x00, 0x00, 0x00,		/* original */
		0x0f,				/* channel 15, packet data */
		0x00, 0xf1, 0x53, 0x65,		/* seconds */
		0x7b, 0x00,			/* 123 ms */
		0x05,				/* KCS */
		0x80, 0x00,			/* to the controller */
		0x02,				/* message length */
		0x18, 0x01,			/* App request, Get Device ID */
	};
	struct pcap_msg	m = { .time_us = T_US, .channel = 15, .netfn = 0x06,
			    .cmd = 0x01 };
	uint8_t		buf[PCAP_RECORD_MAX];

	cr_assert_eq(pcap_record(&m, buf), sizeof(want));
	expect_bytes(buf, want, sizeof(want), "request record");
}

Test(pcap, response_has_the_odd_netfn_cc_and_data_from_the_controller)
{
	uint8_t		buf[PCAP_RECORD_MAX];
	struct pcap_msg	m = { .time_us = T_US, .channel = 2, .response = true,
			    .netfn = 0x06, .lun = 2, .cmd = 0x01, .cc = 0x00,
			    .data = devid, .len = sizeof(devid) };
	static const uint8_t head[] = {
		0x02,				/* channel 2 */
		0x00, 0xf1, 0x53, 0x65, 0x7b, 0x00,
		0x05,
		0x00, 0x00,			/* from the controller */
		0x0e,				/* 2 + cc + 11 data bytes */
		0x1e, 0x01, 0x00,		/* 0x07 << 2 | LUN 2, cmd, cc */
	};
	size_t		n;

	n = pcap_record(&m, buf);
	cr_assert_eq(n, PCAP_RECORD_LEN + PCAP_BLOCK_LEN + 3 + sizeof(devid));
	cr_assert_eq(buf[8], PCAP_BLOCK_LEN + 14, "captured length %u",
	    buf[8]);
	expect_bytes(buf + PCAP_RECORD_LEN, head, sizeof(head),
	    "response block");
	expect_bytes(buf + PCAP_RECORD_LEN + sizeof(head), devid,
	    sizeof(devid), "response data");
}

Test(pcap, message_over_255_bytes_is_cut_and_keeps_its_original_length)
{
	uint8_t		data[300], buf[PCAP_RECORD_MAX];
	struct pcap_msg	m = { .time_us = T_US, .response = true,
			    .netfn = 0x0a, .cmd = 0x11, .data = data,
			    .len = sizeof(data) };
	uint32_t	incl, orig;

	memset(data, 0xa5, sizeof(data));
	cr_assert_eq(pcap_record(&m, buf), PCAP_RECORD_MAX);
	memcpy(&incl, buf + 8, 4);
	memcpy(&orig, buf + 12, 4);
	cr_assert_eq(le32toh(incl), PCAP_BLOCK_LEN + 255);
	cr_assert_eq(le32toh(orig), PCAP_BLOCK_LEN + 3 + 300);
	cr_assert_eq(buf[PCAP_RECORD_LEN + 10], 255);
	cr_assert_eq(buf[PCAP_RECORD_MAX - 1], 0xa5);
}

Test(pcap, written_file_is_header_then_records)
{
	struct pcap_msg	 m = { .time_us = T_US, .channel = 15, .netfn = 0x06,
			    .cmd = 0x01 };
	char		*mem = NULL;
	size_t		 len = 0;
	FILE		*f = open_memstream(&mem, &len);

	cr_assert_not_null(f);
	cr_assert_eq(pcap_write_header(f), 0);
	cr_assert_eq(pcap_write(f, &m), 0);
	m.response = true;
	cr_assert_eq(pcap_write(f, &m), 0);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(len, PCAP_HEADER_LEN + 2 * PCAP_RECORD_LEN +
	    2 * PCAP_BLOCK_LEN + 2 + 3, "file is %zu bytes", len);
	cr_assert_eq((uint8_t)mem[PCAP_HEADER_LEN + PCAP_RECORD_LEN + 11],
	    0x18);
	free(mem);
}

TestSuite(trace_filter, .timeout = 5);

static struct trace_event
event(bool response, uint8_t netfn, uint8_t cmd, uint8_t cc,
    const char *bus, const char *handler)
{
	struct trace_event	ev = { 0 };

	ev.time_us = T_US;
	ev.bus = bus;
	ev.channel = 15;
	ev.netfn = netfn;
	ev.cmd = cmd;
	ev.response = response;
	ev.cc = cc;
	ev.handler = handler;
	return ev;
}

static void
filter(struct trace_filter *f, Ctl__Trace *m)
{
	char	why[128];

	cr_assert_eq(trace_filter_init(f, m, why, sizeof(why)), 0, "%s",
	    why);
}

Test(trace_filter, empty_filter_keeps_everything)
{
	Ctl__Trace		m = CTL__TRACE__INIT;
	struct trace_filter	f;
	struct trace_event	req = event(false, 6, 1, 0, "ctl", "app");
	struct trace_event	rsp = event(true, 6, 1, 0xc1, "bt", "broker");

	filter(&f, &m);
	cr_assert(trace_match(&f, &req));
	cr_assert(trace_match(&f, &rsp));
}

Test(trace_filter, netfn_and_cmd_keep_requests_and_their_responses)
{
	Ctl__Trace		m = CTL__TRACE__INIT;
	struct trace_filter	f;
	struct trace_event	a = event(false, 6, 1, 0, "ctl", "app");
	struct trace_event	b = event(true, 6, 1, 0, "ctl", "app");
	struct trace_event	c = event(false, 6, 2, 0, "ctl", "app");
	struct trace_event	d = event(false, 0x0a, 1, 0, "ctl", "sel");

	m.has_netfn = true;
	m.netfn = 0x07;		/* a response netfn means its request's */
	m.has_cmd = true;
	m.cmd = 0x01;
	filter(&f, &m);
	cr_assert(trace_match(&f, &a));
	cr_assert(trace_match(&f, &b));
	cr_assert_not(trace_match(&f, &c), "other cmd kept");
	cr_assert_not(trace_match(&f, &d), "other netfn kept");
}

Test(trace_filter, bus_and_handler_compare_whole_names)
{
	Ctl__Trace		m = CTL__TRACE__INIT;
	struct trace_filter	f;
	struct trace_event	a = event(false, 6, 1, 0, "bt", "app");
	struct trace_event	b = event(false, 6, 1, 0, "bt0", "app");
	struct trace_event	c = event(false, 6, 1, 0, "bt", "app2");

	m.bus = "bt";
	m.handler = "app";
	filter(&f, &m);
	cr_assert(trace_match(&f, &a));
	cr_assert_not(trace_match(&f, &b));
	cr_assert_not(trace_match(&f, &c));
}

Test(trace_filter, handler_filter_keeps_the_fallbacks_for_that_handler)
{
	Ctl__Trace		m = CTL__TRACE__INIT;
	struct trace_filter	f;
	struct trace_event	timeout = event(true, 0x30, 1, 0xc3, "ctl",
				    "broker");
	struct trace_event	nobody = event(true, 0x30, 2, 0xc1, "ctl",
				    "broker");

	timeout.target = "slow";
	timeout.fallback = nobody.fallback = true;
	m.handler = "slow";
	filter(&f, &m);
	cr_assert(trace_match(&f, &timeout));
	cr_assert_not(trace_match(&f, &nobody));
	m.handler = "broker";
	filter(&f, &m);
	cr_assert(trace_match(&f, &nobody));
}

Test(trace_filter, only_errors_keeps_responses_with_a_nonzero_cc)
{
	Ctl__Trace		m = CTL__TRACE__INIT;
	struct trace_filter	f;
	struct trace_event	req = event(false, 6, 1, 0, "ctl", "app");
	struct trace_event	ok = event(true, 6, 1, 0x00, "ctl", "app");
	struct trace_event	bad = event(true, 6, 1, 0xcc, "ctl", "app");

	m.only_errors = true;
	filter(&f, &m);
	cr_assert_not(trace_match(&f, &req));
	cr_assert_not(trace_match(&f, &ok));
	cr_assert(trace_match(&f, &bad));
}

Test(trace_filter, out_of_range_fields_and_bad_names_are_refused)
{
	Ctl__Trace		m = CTL__TRACE__INIT;
	struct trace_filter	f;
	char			why[128], longname[80];

	m.has_netfn = true;
	m.netfn = 0x40;
	cr_assert_eq(trace_filter_init(&f, &m, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "trace: netfn out of range");
	m.netfn = 0;
	m.has_cmd = true;
	m.cmd = 0x100;
	cr_assert_eq(trace_filter_init(&f, &m, why, sizeof(why)), -1);
	m.cmd = 0;
	m.bus = "two words";
	cr_assert_eq(trace_filter_init(&f, &m, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "trace: bad bus name");
	m.bus = "";
	memset(longname, 'h', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	m.handler = longname;
	cr_assert_eq(trace_filter_init(&f, &m, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "trace: bad handler name");
}

TestSuite(trace_pack, .timeout = 5);

Test(trace_pack, event_packs_into_one_trace_event_envelope)
{
	struct trace_event	 ev = event(true, 6, 1, 0, "ctl", "app");
	uint8_t			 buf[WIRE_MSG_MAX];
	Ctl__Envelope		*env;
	Ctl__TraceEvent		*te;
	size_t			 n;

	ev.data = devid;
	ev.len = sizeof(devid);
	ev.latency_us = 85;
	ev.id = 65537;
	n = trace_pack(&ev, buf);
	cr_assert_gt(n, 0);
	env = ctl__envelope__unpack(NULL, n, buf);
	cr_assert_not_null(env);
	cr_assert_eq(env->body_case, CTL__ENVELOPE__BODY_TRACE_EVENT);
	te = env->trace_event;
	cr_assert_eq(te->time_us, T_US);
	cr_assert_str_eq(te->bus, "ctl");
	cr_assert_eq(te->channel, 15);
	cr_assert_eq(te->netfn, 6);
	cr_assert_eq(te->cmd, 1);
	cr_assert(te->response);
	cr_assert_eq(te->latency_us, 85);
	cr_assert_str_eq(te->handler, "app");
	cr_assert_eq(te->id, 65537);
	cr_assert_eq(te->data.len, sizeof(devid));
	cr_assert_eq(memcmp(te->data.data, devid, sizeof(devid)), 0);
	cr_assert_not(te->truncated);
	ctl__envelope__free_unpacked(env, NULL);
}

Test(trace_pack, data_too_large_for_a_datagram_is_cut_and_flagged)
{
	struct trace_event	 ev = event(false, 0x30, 1, 0, "ctl", "oem");
	static uint8_t		 data[4000];
	uint8_t			 buf[WIRE_MSG_MAX];
	Ctl__Envelope		*env;
	size_t			 n;

	ev.data = data;
	ev.len = sizeof(data);
	n = trace_pack(&ev, buf);
	cr_assert_gt(n, 0);
	env = ctl__envelope__unpack(NULL, n, buf);
	cr_assert_not_null(env);
	cr_assert_eq(env->trace_event->data.len, TRACE_DATA_MAX);
	cr_assert(env->trace_event->truncated);
	ctl__envelope__free_unpacked(env, NULL);
}

Test(trace_pack, dropped_marker_carries_the_count)
{
	uint8_t		 buf[WIRE_MSG_MAX];
	Ctl__Envelope	*env;
	size_t		 n;

	n = trace_pack_dropped(1234, buf);
	env = ctl__envelope__unpack(NULL, n, buf);
	cr_assert_not_null(env);
	cr_assert_eq(env->body_case, CTL__ENVELOPE__BODY_TRACE_DROPPED);
	cr_assert_eq(env->trace_dropped->count, 1234);
	ctl__envelope__free_unpacked(env, NULL);
}

TestSuite(trace_print, .timeout = 5);

static char *
print(const Ctl__TraceEvent *te, int json)
{
	char	*mem = NULL;
	size_t	 len = 0;
	FILE	*f = open_memstream(&mem, &len);

	cr_assert_not_null(f);
	ctl_trace_event(f, te, json);
	cr_assert_eq(fclose(f), 0);
	return mem;
}

Test(trace_print, text_line_shows_direction_name_cc_handler_and_data)
{
	Ctl__TraceEvent	 te = CTL__TRACE_EVENT__INIT;
	char		*s;

	te.time_us = T_US;
	te.bus = "ctl";
	te.channel = 15;
	te.netfn = 6;
	te.cmd = 1;
	te.handler = "app";
	te.id = 7;
	s = print(&te, 0);
	cr_assert(strstr(s, " ctl      ch15 -> 0x06/0x01 Get Device ID") !=
	    NULL, "%s", s);
	cr_assert(strstr(s, " app #7\n") != NULL, "%s", s);
	free(s);
	te.response = true;
	te.cc = 0xc1;
	te.latency_us = 1500;
	te.data.data = (uint8_t *)devid;
	te.data.len = 2;
	s = print(&te, 0);
	cr_assert(strstr(s, "<- 0x07/0x01 Get Device ID") != NULL, "%s", s);
	cr_assert(strstr(s, "cc 0xc1  1.5ms app #7: 20 01\n") != NULL, "%s",
	    s);
	free(s);
}

Test(trace_print, json_line_is_one_object_per_event)
{
	Ctl__TraceEvent	 te = CTL__TRACE_EVENT__INIT;
	char		*s;

	te.time_us = T_US;
	te.bus = "ctl";
	te.channel = 15;
	te.netfn = 6;
	te.cmd = 0x99;
	te.response = true;
	te.cc = 0xc1;
	te.fallback = true;
	te.handler = "broker";
	s = print(&te, 1);
	cr_assert_str_eq(s, "{\"time_us\":1700000000123456,\"bus\":\"ctl\","
	    "\"channel\":15,\"direction\":\"response\",\"response\":true,"
	    "\"netfn\":6,\"lun\":0,\"cmd\":153,\"name\":null,\"cc\":193,"
	    "\"latency_us\":0,\"fallback\":true,\"handler\":\"broker\","
	    "\"id\":0,\"truncated\":false,\"data\":[]}\n");
	free(s);
}

Test(trace_print, command_names_cover_both_directions)
{
	cr_assert_str_eq(ctl_cmd_name(0x06, 0x01), "Get Device ID");
	cr_assert_str_eq(ctl_cmd_name(0x07, 0x01), "Get Device ID");
	cr_assert_str_eq(ctl_cmd_name(0x0a, 0x48), "Get SEL Time");
	cr_assert_null(ctl_cmd_name(0x06, 0x99));
}

TestSuite(trace_parse, .timeout = 5);

Test(trace_parse, trace_takes_filters_count_and_a_pcap_file)
{
	struct ctl_params	 p;
	char			 err[128];
	char			*argv[] = { "ipmi-ctl", "trace", "--bus", "bt",
				    "--netfn", "0x06", "--cmd", "01",
				    "--handler", "app", "--errors", "--count",
				    "4", "-w", "x.pcap", "-q", NULL };

	cr_assert_eq(ctl_parse(16, argv, &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.action, CTL_TRACE);
	cr_assert_str_eq(p.bus, "bt");
	cr_assert(p.has_netfn && p.netfn == 0x06);
	cr_assert(p.has_cmd && p.cmd == 0x01);
	cr_assert_str_eq(p.handler, "app");
	cr_assert(p.errors);
	cr_assert_eq(p.count, 4);
	cr_assert_str_eq(p.wfile, "x.pcap");
	cr_assert(p.quiet);
}

Test(trace_parse, trace_options_are_refused_elsewhere_and_checked)
{
	struct ctl_params	 p;
	char			 err[128];
	char			*a[] = { "ipmi-ctl", "list", "--errors", NULL };
	char			*b[] = { "ipmi-ctl", "trace", "--netfn", "0x40",
				    NULL };
	char			*c[] = { "ipmi-ctl", "trace", "--count", "0",
				    NULL };
	char			*d[] = { "ipmi-ctl", "trace", "-q", NULL };
	char			*e[] = { "ipmi-ctl", "trace", "--lun", "1",
				    NULL };

	cr_assert_eq(ctl_parse(3, a, &p, err, sizeof(err)), CTL_E_INVALID);
	cr_assert(strstr(err, "apply only to trace") != NULL, "%s", err);
	cr_assert_eq(ctl_parse(4, b, &p, err, sizeof(err)), CTL_E_INVALID);
	cr_assert_eq(ctl_parse(4, c, &p, err, sizeof(err)), CTL_E_INVALID);
	cr_assert_eq(ctl_parse(3, d, &p, err, sizeof(err)), CTL_E_INVALID);
	cr_assert(strstr(err, "-q goes with -w") != NULL, "%s", err);
	cr_assert_eq(ctl_parse(4, e, &p, err, sizeof(err)), CTL_E_INVALID);
	cr_assert_str_eq(err, "--channel and --lun apply only to send");
}
