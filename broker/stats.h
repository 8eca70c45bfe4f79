/* SPDX-License-Identifier: MIT */
/*
 * stats: per-command request counts and latency histograms, plus the
 * broker's named counters. Free of libevent.
 *
 * Latencies go into log-linear buckets (4 per power of two, from 1 us to
 * 16 s; longer ones share the last), so a percentile is exact to within
 * 19 %. Buckets are 16-bit and all halve together when one would
 * overflow, which keeps the shape (and so the percentiles) while a
 * histogram stays at 192 bytes: with 10,000 OEM keys served that is the
 * difference between 2 and 5 MB. Counts and the maximum stay exact.
 */
#ifndef STATS_H
#define STATS_H

#include <stddef.h>
#include <stdint.h>

#define STATS_BUCKETS	96

struct stats_cmd {
	uint8_t			 netfn;
	uint8_t			 cmd;
	uint32_t		 key;	/* IANA (0x2E) / body (0x2C) */
	uint64_t		 count;
	uint64_t		 fallbacks;
	uint32_t		 max_us;
	uint16_t		 hist[STATS_BUCKETS];
	struct stats_cmd	*next;
};

enum stats_counter {
	STATS_REQUESTS,
	STATS_FB_NO_HANDLER,
	STATS_FB_TIMEOUT,
	STATS_FB_DISCONNECTED,
	STATS_FB_BUSY,
	STATS_FB_SHORT_OEM,
	STATS_FB_TOO_LARGE,
	STATS_FB_OVERSIZE,
	STATS_LATE,
	STATS_FORGED,
	STATS_ORPHANED,
	STATS_CANCELLED,
	STATS_DROPPED_HANDLERS,
	STATS_DROPPED_CONTROLS,
	STATS_DROPPED_BUSES,
	STATS_BROKER_ANSWERED,
	STATS_NCOUNTERS
};

struct stats {
	struct stats_cmd	**table;
	size_t			  size;
	size_t			  count;
	uint64_t		  counters[STATS_NCOUNTERS];
};

int	stats_init(struct stats *s);
void	stats_deinit(struct stats *s);
const char *stats_counter_name(enum stats_counter c);

/* Count one answered request; fallback is true when the broker made up
 * the answer. Returns -ENOMEM only when a new command cannot be tracked. */
int	stats_record(struct stats *s, uint8_t netfn, uint8_t cmd, uint32_t key,
	    uint32_t latency_us, int fallback);

/* The latency below which pct percent of the command's requests fell. */
uint32_t stats_percentile(const struct stats_cmd *c, unsigned pct);

void	stats_walk(const struct stats *s,
	    void (*fn)(const struct stats_cmd *c, void *arg), void *arg);

#endif /* STATS_H */
