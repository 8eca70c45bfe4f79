/* SPDX-License-Identifier: MIT */
/*
 * Range checks shared by every receiver. A netfn on the wire is the 6-bit
 * request netfn (even), a LUN 2 bits, a cmd 8 bits, a channel 4 bits; data
 * fits in one datagram. Names are short printable labels, so a log line
 * quoting one cannot be forged into two.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "wire.h"
#include "validate.h"

static int	validate_fail(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
validate_fail(char *why, size_t len, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

static bool
validate_name(const char *s)
{
	size_t	i, n;

	if (s == NULL)
		return false;
	n = strlen(s);
	if (n == 0 || n > VALIDATE_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

/* netfn, lun and cmd of a request as carried by every protocol. */
static int
validate_msg(const char *what, uint32_t netfn, uint32_t lun, uint32_t cmd,
    size_t dlen, char *why, size_t len)
{
	if (netfn > 0x3e || (netfn & 1))
		return validate_fail(why, len,
		    "%s: netfn 0x%x is not a request netfn", what, netfn);
	if (lun > 3)
		return validate_fail(why, len, "%s: lun %u out of range",
		    what, lun);
	if (cmd > 0xff)
		return validate_fail(why, len, "%s: cmd 0x%x out of range",
		    what, cmd);
	if (dlen > WIRE_MSG_MAX)
		return validate_fail(why, len, "%s: %zu data bytes", what,
		    dlen);
	return 0;
}

/*
 * A key's ranges (odd netfn, masks, IANA size) are not a protocol error:
 * the broker answers them with Result INVALID and a reason
 * (registry_key_check()) and the handler stays connected.
 */
static int
validate_key(const char *what, const Hnd__Key *k, char *why, size_t len)
{
	if (k == NULL)
		return validate_fail(why, len, "%s without a key", what);
	return 0;
}

int
validate_from_handler(const Hnd__Envelope *e, char *why, size_t len)
{
	switch (e->body_case) {
	case HND__ENVELOPE__BODY_HELLO:
		if (!validate_name(e->hello->name))
			return validate_fail(why, len, "hello: name missing, "
			    "longer than %d bytes or not printable",
			    VALIDATE_NAME_MAX);
		return 0;
	case HND__ENVELOPE__BODY_REGISTER:
		if (e->register_->default_route)
			return 0;
		if (e->register_->deadline_ms > 600000)
			return validate_fail(why, len, "register: deadline "
			    "%u ms out of range", e->register_->deadline_ms);
		return validate_key("register", e->register_->key, why, len);
	case HND__ENVELOPE__BODY_UNREGISTER:
		if (e->unregister->default_route)
			return 0;
		return validate_key("unregister", e->unregister->key, why,
		    len);
	case HND__ENVELOPE__BODY_RESPONSE:
		if (e->response->cc > 0xff)
			return validate_fail(why, len, "response: cc 0x%x out "
			    "of range", e->response->cc);
		return 0;
	case HND__ENVELOPE__BODY_SEND:
		return validate_msg("send", e->send->netfn, e->send->lun,
		    e->send->cmd, e->send->data.len, why, len);
	case HND__ENVELOPE__BODY_ATTENTION:
		if (!validate_name(e->attention->bus))
			return validate_fail(why, len, "attention: bad bus "
			    "name");
		return 0;
	case HND__ENVELOPE__BODY_CONTROL:
		if (!validate_name(e->control->bus))
			return validate_fail(why, len, "control: bad bus name");
		if ((unsigned)e->control->op > HND__CONTROL_OP__CONTROL_IRQ_DISABLE)
			return validate_fail(why, len, "control: op %d "
			    "unknown", (int)e->control->op);
		return 0;
	case HND__ENVELOPE__BODY_HOST_RESET:
		if (!validate_name(e->host_reset->bus))
			return validate_fail(why, len, "host reset: bad bus "
			    "name");
		return 0;
	case HND__ENVELOPE__BODY__NOT_SET:
		return validate_fail(why, len, "envelope with no body");
	case HND__ENVELOPE__BODY_BATCH:
		/* Receivers walk batches before unpacking (wire_walk);
		 * one that protobuf-c finds here was hidden behind other
		 * bytes or nested in a batch. */
		return validate_fail(why, len, "batch envelope where one "
		    "message belongs");
	default:
		return validate_fail(why, len, "message %d not allowed from "
		    "a handler", (int)e->body_case);
	}
}

int
validate_from_broker(const Hnd__Envelope *e, char *why, size_t len)
{
	const Hnd__Request	*r;

	switch (e->body_case) {
	case HND__ENVELOPE__BODY_WELCOME:
	case HND__ENVELOPE__BODY_GOODBYE:
	case HND__ENVELOPE__BODY_RESULT:
	case HND__ENVELOPE__BODY_EVENT:
		return 0;
	case HND__ENVELOPE__BODY_REQUEST:
		r = e->request;
		if (r->channel > 0x0f)
			return validate_fail(why, len, "request: channel %u "
			    "out of range", r->channel);
		return validate_msg("request", r->netfn, r->lun, r->cmd,
		    r->data.len, why, len);
	case HND__ENVELOPE__BODY_SEND_RESULT:
		if (e->send_result->cc > 0xff)
			return validate_fail(why, len, "send result: cc 0x%x "
			    "out of range", e->send_result->cc);
		return 0;
	case HND__ENVELOPE__BODY__NOT_SET:
		return validate_fail(why, len, "envelope with no body");
	case HND__ENVELOPE__BODY_BATCH:
		/* Receivers walk batches before unpacking (wire_walk);
		 * one that protobuf-c finds here was hidden behind other
		 * bytes or nested in a batch. */
		return validate_fail(why, len, "batch envelope where one "
		    "message belongs");
	default:
		return validate_fail(why, len, "message %d not allowed from "
		    "the broker", (int)e->body_case);
	}
}

int
validate_from_control(const Ctl__Envelope *e, char *why, size_t len)
{
	const Ctl__Send	*s;

	switch (e->body_case) {
	case CTL__ENVELOPE__BODY_HELLO:
	case CTL__ENVELOPE__BODY_LIST_REGISTRATIONS:
	case CTL__ENVELOPE__BODY_LIST_HANDLERS:
	case CTL__ENVELOPE__BODY_LIST_BUSES:
	case CTL__ENVELOPE__BODY_GET_STATS:
	case CTL__ENVELOPE__BODY_GET_STATUS:
		return 0;
	case CTL__ENVELOPE__BODY_TRACE:
		if ((e->trace->bus != NULL && e->trace->bus[0] != '\0' &&
		    !validate_name(e->trace->bus)) ||
		    (e->trace->handler != NULL &&
		    e->trace->handler[0] != '\0' &&
		    !validate_name(e->trace->handler)))
			return validate_fail(why, len, "trace: bad bus or "
			    "handler name");
		if ((e->trace->has_netfn && e->trace->netfn > 0x3f) ||
		    (e->trace->has_cmd && e->trace->cmd > 0xff))
			return validate_fail(why, len, "trace: netfn or cmd "
			    "out of range");
		return 0;
	case CTL__ENVELOPE__BODY_SEND:
		s = e->send;
		if (s->has_channel && s->channel > 0x0f)
			return validate_fail(why, len, "send: channel %u out "
			    "of range", s->channel);
		if (s->bus != NULL && s->bus[0] != '\0' &&
		    !validate_name(s->bus))
			return validate_fail(why, len, "send: bad bus name");
		return validate_msg("send", s->netfn, s->lun, s->cmd,
		    s->data.len, why, len);
	case CTL__ENVELOPE__BODY__NOT_SET:
		return validate_fail(why, len, "envelope with no body");
	default:
		return validate_fail(why, len, "message %d not allowed from "
		    "a control client", (int)e->body_case);
	}
}

int
validate_from_driver(const Bus__Envelope *e, char *why, size_t len)
{
	const Bus__Hello	*h;

	switch (e->body_case) {
	case BUS__ENVELOPE__BODY_HELLO:
		h = e->hello;
		if (!validate_name(h->name))
			return validate_fail(why, len, "hello: bad bus name");
		if (h->channel > 0x0f)
			return validate_fail(why, len, "hello: channel %u out "
			    "of range", h->channel);
		if (h->max_request > WIRE_MSG_MAX ||
		    h->max_response > WIRE_MSG_MAX)
			return validate_fail(why, len, "hello: message sizes "
			    "out of range");
		if (h->deadline_limit_ms > 600000)
			return validate_fail(why, len, "hello: deadline limit "
			    "%u ms out of range", h->deadline_limit_ms);
		return 0;
	case BUS__ENVELOPE__BODY_REQUEST:
		return validate_msg("request", e->request->netfn,
		    e->request->lun, e->request->cmd, e->request->data.len,
		    why, len);
	case BUS__ENVELOPE__BODY_CANCEL:
	case BUS__ENVELOPE__BODY_ATTENTION_RESULT:
	case BUS__ENVELOPE__BODY_CONTROL_RESULT:
	case BUS__ENVELOPE__BODY_HOST_RESET:
	case BUS__ENVELOPE__BODY_STATS:
		return 0;
	case BUS__ENVELOPE__BODY_CAPABILITIES:
		if (e->capabilities->controls > 0x3f)
			return validate_fail(why, len, "capabilities: controls "
			    "0x%x out of range", e->capabilities->controls);
		return 0;
	case BUS__ENVELOPE__BODY__NOT_SET:
		return validate_fail(why, len, "envelope with no body");
	case BUS__ENVELOPE__BODY_BATCH:
		/* Receivers walk batches before unpacking (wire_walk);
		 * one that protobuf-c finds here was hidden behind other
		 * bytes or nested in a batch. */
		return validate_fail(why, len, "batch envelope where one "
		    "message belongs");
	default:
		return validate_fail(why, len, "message %d not allowed from "
		    "a bus driver", (int)e->body_case);
	}
}

int
validate_from_supervisor(const Sup__Envelope *e, char *why, size_t len)
{
	switch (e->body_case) {
	case SUP__ENVELOPE__BODY_CONFIG:
	case SUP__ENVELOPE__BODY_SOCKETS:
	case SUP__ENVELOPE__BODY_BUS_LINK:
	case SUP__ENVELOPE__BODY_BUS_STATE:
		return 0;
	case SUP__ENVELOPE__BODY__NOT_SET:
		return validate_fail(why, len, "envelope with no body");
	default:
		return validate_fail(why, len, "message %d not allowed from "
		    "the supervisor", (int)e->body_case);
	}
}
