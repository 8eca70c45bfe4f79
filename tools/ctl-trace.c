/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "pcap.h"

/*
 * ctl-trace: what `ipmi-ctl trace` prints for each event, and the pcap
 * record it writes.
 *
 * Unlike listings, a trace is printed as it comes: one line per event,
 * text or one JSON object per line, so it can be followed live and piped
 * into grep or jq. The text line reads
 *
 *   TIME BUS chN -> NETFN/CMD NAME HANDLER #ID [data]
 *   TIME BUS chN <- NETFN/CMD NAME cc CC LATENCY HANDLER #ID [data]
 *
 * with the response's own (odd) netfn. JSON keeps the request's netfn in
 * both, as the broker sends it, with "response" telling them apart. The
 * bus and handler names come from the broker and are cleaned like every
 * other string before they reach a terminal.
 */

static const struct ctl_cmd_name {
	uint8_t		 netfn;
	uint8_t		 cmd;
	const char	*name;
} ctl_cmd_names[] = {
	{ 0x00, 0x00, "Get Chassis Capabilities" },
	{ 0x00, 0x01, "Get Chassis Status" },
	{ 0x00, 0x02, "Chassis Control" },
	{ 0x00, 0x04, "Chassis Identify" },
	{ 0x00, 0x08, "Set System Boot Options" },
	{ 0x00, 0x09, "Get System Boot Options" },
	{ 0x04, 0x02, "Platform Event" },
	{ 0x04, 0x20, "Get Device SDR Info" },
	{ 0x04, 0x21, "Get Device SDR" },
	{ 0x04, 0x2d, "Get Sensor Reading" },
	{ 0x06, 0x01, "Get Device ID" },
	{ 0x06, 0x02, "Cold Reset" },
	{ 0x06, 0x03, "Warm Reset" },
	{ 0x06, 0x04, "Get Self Test Results" },
	{ 0x06, 0x08, "Get Device GUID" },
	{ 0x06, 0x09, "Get NetFn Support" },
	{ 0x06, 0x0a, "Get Command Support" },
	{ 0x06, 0x0c, "Get Configurable Commands" },
	{ 0x06, 0x22, "Reset Watchdog Timer" },
	{ 0x06, 0x24, "Set Watchdog Timer" },
	{ 0x06, 0x25, "Get Watchdog Timer" },
	{ 0x06, 0x2e, "Set BMC Global Enables" },
	{ 0x06, 0x2f, "Get BMC Global Enables" },
	{ 0x06, 0x30, "Clear Message Flags" },
	{ 0x06, 0x31, "Get Message Flags" },
	{ 0x06, 0x33, "Get Message" },
	{ 0x06, 0x34, "Send Message" },
	{ 0x06, 0x35, "Read Event Message Buffer" },
	{ 0x06, 0x37, "Get System GUID" },
	{ 0x06, 0x38, "Get Channel Auth Capabilities" },
	{ 0x06, 0x42, "Get Channel Info" },
	{ 0x06, 0x61, "Get Command Enables" },
	{ 0x0a, 0x10, "Get FRU Inventory Area Info" },
	{ 0x0a, 0x11, "Read FRU Data" },
	{ 0x0a, 0x12, "Write FRU Data" },
	{ 0x0a, 0x20, "Get SDR Repository Info" },
	{ 0x0a, 0x22, "Reserve SDR Repository" },
	{ 0x0a, 0x23, "Get SDR" },
	{ 0x0a, 0x40, "Get SEL Info" },
	{ 0x0a, 0x42, "Reserve SEL" },
	{ 0x0a, 0x43, "Get SEL Entry" },
	{ 0x0a, 0x44, "Add SEL Entry" },
	{ 0x0a, 0x46, "Delete SEL Entry" },
	{ 0x0a, 0x47, "Clear SEL" },
	{ 0x0a, 0x48, "Get SEL Time" },
	{ 0x0a, 0x49, "Set SEL Time" },
	{ 0x0c, 0x01, "Set LAN Config Parameters" },
	{ 0x0c, 0x02, "Get LAN Config Parameters" },
};

/* A short name for common commands (any netfn, odd or even), or NULL. */
const char *
ctl_cmd_name(unsigned int netfn, unsigned int cmd)
{
	size_t	i;

	netfn &= 0x3e;
	for (i = 0; i < sizeof(ctl_cmd_names) / sizeof(ctl_cmd_names[0]); i++)
		if (ctl_cmd_names[i].netfn == netfn &&
		    ctl_cmd_names[i].cmd == cmd)
			return ctl_cmd_names[i].name;
	return NULL;
}

/* 15:04:05.123456, local time. */
static void
ctl_trace_time(uint64_t us, char *buf, size_t len)
{
	struct tm	tm;
	time_t		t = (time_t)(us / 1000000);

	if (localtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "%" PRIu64, us);
		return;
	}
	snprintf(buf, len, "%02d:%02d:%02d.%06u", tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (unsigned int)(us % 1000000));
}

static void
ctl_trace_text(FILE *f, const Ctl__TraceEvent *ev)
{
	const char	*name = ctl_cmd_name(ev->netfn, ev->cmd);
	char		 t[32], bus[64], who[64], lat[32];
	size_t		 i;

	ctl_trace_time(ev->time_us, t, sizeof(t));
	ctl_clean(bus, sizeof(bus), ev->bus);
	ctl_clean(who, sizeof(who), ev->handler);
	fprintf(f, "%s %-8s ch%-2u %s 0x%02x/0x%02x", t, bus, ev->channel,
	    ev->response ? "<-" : "->", (ev->netfn & 0x3e) |
	    (ev->response ? 1 : 0), ev->cmd);
	if (ev->lun != 0)
		fprintf(f, " lun %u", ev->lun);
	fprintf(f, " %-24s", name != NULL ? name : "-");
	if (ev->response) {
		ctl_fmt_usec(ev->latency_us, lat, sizeof(lat));
		fprintf(f, " cc 0x%02x %6s", ev->cc, lat);
	}
	fprintf(f, " %s%s #%" PRIu64, who, ev->fallback ? " (fallback)" : "",
	    ev->id);
	if (ev->data.len > 0)
		fputc(':', f);
	for (i = 0; i < ev->data.len; i++)
		fprintf(f, " %02x", ev->data.data[i]);
	if (ev->truncated)
		fputs(" ...", f);
	fputc('\n', f);
}

static void
ctl_trace_json(FILE *f, const Ctl__TraceEvent *ev)
{
	const char	*name = ctl_cmd_name(ev->netfn, ev->cmd);
	size_t		 i;

	fprintf(f, "{\"time_us\":%" PRIu64 ",\"bus\":", ev->time_us);
	ctl_json_string(f, ev->bus);
	fprintf(f, ",\"channel\":%u,\"direction\":\"%s\",\"response\":%s,"
	    "\"netfn\":%u,\"lun\":%u,\"cmd\":%u,\"name\":", ev->channel,
	    ev->response ? "response" : "request",
	    ev->response ? "true" : "false", ev->netfn, ev->lun, ev->cmd);
	if (name != NULL)
		ctl_json_string(f, name);
	else
		fputs("null", f);
	if (ev->response)
		fprintf(f, ",\"cc\":%u,\"latency_us\":%u,\"fallback\":%s",
		    ev->cc, ev->latency_us, ev->fallback ? "true" : "false");
	fputs(",\"handler\":", f);
	ctl_json_string(f, ev->handler);
	fprintf(f, ",\"id\":%" PRIu64 ",\"truncated\":%s,\"data\":[", ev->id,
	    ev->truncated ? "true" : "false");
	for (i = 0; i < ev->data.len; i++)
		fprintf(f, "%s%u", i > 0 ? "," : "", ev->data.data[i]);
	fputs("]}\n", f);
}

void
ctl_trace_event(FILE *f, const Ctl__TraceEvent *ev, int json)
{
	if (json)
		ctl_trace_json(f, ev);
	else
		ctl_trace_text(f, ev);
}

void
ctl_trace_dropped(FILE *f, uint64_t count, int json)
{
	if (json)
		fprintf(f, "{\"dropped\":%" PRIu64 "}\n", count);
	else
		fprintf(f, "--- %" PRIu64 " events dropped: the trace did not "
		    "keep up ---\n", count);
}

/* The pcap record of a trace event. */
void
ctl_trace_pcap_msg(const Ctl__TraceEvent *ev, struct pcap_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->time_us = ev->time_us;
	m->channel = (uint8_t)ev->channel;
	m->response = ev->response;
	m->netfn = (uint8_t)ev->netfn;
	m->lun = (uint8_t)ev->lun;
	m->cmd = (uint8_t)ev->cmd;
	m->cc = (uint8_t)ev->cc;
	m->data = ev->data.data;
	m->len = ev->data.len;
}
