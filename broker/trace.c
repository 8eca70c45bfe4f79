/* SPDX-License-Identifier: MIT */
/*
 * trace: filters and TraceEvent packing for live traces (see trace.h).
 *
 * A filter's netfn is a request netfn: an odd one given by the client
 * means its request, so `--netfn 7` shows Application requests and their
 * responses just as `--netfn 6` does. Names are compared exactly.
 * only_errors keeps responses whose completion code is not 0x00 and drops
 * every request, whose outcome is not known yet when it is traced. A
 * handler filter also keeps the fallbacks the broker answers for that
 * handler (a missed deadline, a disconnect), which name "broker".
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "trace.h"
#include "wire.h"

static int
trace_fail(char *why, size_t len, const char *msg)
{
	snprintf(why, len, "trace: %s", msg);
	return -1;
}

/* Empty, or 1-63 printable bytes without spaces, like every name. */
static int
trace_name(char *dst, const char *src)
{
	size_t	i, n;

	dst[0] = '\0';
	if (src == NULL)
		return 0;
	if ((n = strlen(src)) >= CONFIG_NAME_MAX)
		return -1;
	for (i = 0; i < n; i++)
		if (src[i] < 0x21 || src[i] > 0x7e)
			return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

int
trace_filter_init(struct trace_filter *f, const Ctl__Trace *m, char *why,
    size_t len)
{
	memset(f, 0, sizeof(*f));
	if (trace_name(f->bus, m->bus) < 0)
		return trace_fail(why, len, "bad bus name");
	if (trace_name(f->handler, m->handler) < 0)
		return trace_fail(why, len, "bad handler name");
	if (m->has_netfn && m->netfn > 0x3f)
		return trace_fail(why, len, "netfn out of range");
	if (m->has_cmd && m->cmd > 0xff)
		return trace_fail(why, len, "cmd out of range");
	f->has_netfn = m->has_netfn;
	f->netfn = (uint8_t)(m->netfn & 0x3e);
	f->has_cmd = m->has_cmd;
	f->cmd = (uint8_t)m->cmd;
	f->only_errors = m->only_errors;
	return 0;
}

bool
trace_match(const struct trace_filter *f, const struct trace_event *ev)
{
	if (f->only_errors && (!ev->response || ev->cc == 0x00))
		return false;
	if (f->has_netfn && f->netfn != (ev->netfn & 0x3e))
		return false;
	if (f->has_cmd && f->cmd != ev->cmd)
		return false;
	if (f->bus[0] != '\0' && strcmp(f->bus, ev->bus) != 0)
		return false;
	if (f->handler[0] != '\0' && strcmp(f->handler, ev->handler) != 0 &&
	    (ev->target == NULL || strcmp(f->handler, ev->target) != 0))
		return false;
	return true;
}

size_t
trace_pack(const struct trace_event *ev, uint8_t *buf)
{
	Ctl__Envelope	env = CTL__ENVELOPE__INIT;
	Ctl__TraceEvent	te = CTL__TRACE_EVENT__INIT;

	te.time_us = ev->time_us;
	te.bus = (char *)ev->bus;
	te.channel = ev->channel;
	te.netfn = ev->netfn;
	te.lun = ev->lun;
	te.cmd = ev->cmd;
	te.response = ev->response;
	te.cc = ev->cc;
	te.data.data = (uint8_t *)ev->data;
	te.data.len = ev->len;
	if (te.data.len > TRACE_DATA_MAX) {
		te.data.len = TRACE_DATA_MAX;
		te.truncated = true;
	}
	te.latency_us = ev->latency_us;
	te.handler = (char *)ev->handler;
	te.id = ev->id;
	te.fallback = ev->fallback;
	env.body_case = CTL__ENVELOPE__BODY_TRACE_EVENT;
	env.trace_event = &te;
	return wire_pack(&env.base, buf);
}

size_t
trace_pack_dropped(uint64_t count, uint8_t *buf)
{
	Ctl__Envelope		env = CTL__ENVELOPE__INIT;
	Ctl__TraceDropped	td = CTL__TRACE_DROPPED__INIT;

	td.count = count;
	env.body_case = CTL__ENVELOPE__BODY_TRACE_DROPPED;
	env.trace_dropped = &td;
	return wire_pack(&env.base, buf);
}

uint64_t
trace_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}
