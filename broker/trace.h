/* SPDX-License-Identifier: MIT */
/*
 * trace: what `ipmi-ctl trace` sees, free of libevent so unit tests link
 * it directly. The routing code describes each request as it enters
 * routing and each response as it leaves toward its origin in a struct
 * trace_event that points at the caller's memory; trace_match() applies a
 * client's filter and trace_pack() packs the TraceEvent envelope into the
 * caller's stack buffer, once for all the clients that want it. Nothing
 * here allocates, so a trace costs no malloc per event.
 */
#ifndef TRACE_H
#define TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "control.pb-c.h"

/* Data bytes a TraceEvent carries; longer data is cut (truncated set) so
 * the envelope, names included, always fits one datagram. */
#define TRACE_DATA_MAX	3600

struct trace_event {
	uint64_t	 time_us;	/* CLOCK_REALTIME */
	const char	*bus;
	uint8_t		 channel;
	uint8_t		 netfn;		/* the request's, even */
	uint8_t		 lun;
	uint8_t		 cmd;
	bool		 response;
	bool		 fallback;
	uint8_t		 cc;
	uint32_t	 latency_us;
	const uint8_t	*data;
	size_t		 len;
	const char	*handler;	/* "broker" when it answers itself */
	const char	*target;	/* routed to; NULL: same as handler */
	uint64_t	 id;
};

struct trace_filter {
	char		bus[CONFIG_NAME_MAX];		/* "": any */
	char		handler[CONFIG_NAME_MAX];	/* "": any */
	bool		has_netfn;
	uint8_t		netfn;				/* even */
	bool		has_cmd;
	uint8_t		cmd;
	bool		only_errors;
};

/* Check a client's Trace and copy it into f. Returns 0, or -1 with the
 * reason in why. */
int	trace_filter_init(struct trace_filter *f, const Ctl__Trace *m,
	    char *why, size_t len);
bool	trace_match(const struct trace_filter *f,
	    const struct trace_event *ev);
/* Pack the TraceEvent (or TraceDropped) envelope into buf (WIRE_MSG_MAX
 * bytes). Returns the length, 0 only if it cannot fit. */
size_t	trace_pack(const struct trace_event *ev, uint8_t *buf);
size_t	trace_pack_dropped(uint64_t count, uint8_t *buf);
/* Microseconds on CLOCK_REALTIME. */
uint64_t trace_now_us(void);

#endif /* TRACE_H */
