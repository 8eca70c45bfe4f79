/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

static const char *stats_names[STATS_NCOUNTERS] = {
	[STATS_REQUESTS] = "requests",
	[STATS_FB_NO_HANDLER] = "fallback.no_handler",
	[STATS_FB_TIMEOUT] = "fallback.timeout",
	[STATS_FB_DISCONNECTED] = "fallback.disconnected",
	[STATS_FB_BUSY] = "fallback.busy",
	[STATS_FB_SHORT_OEM] = "fallback.short_oem",
	[STATS_FB_TOO_LARGE] = "fallback.too_large",
	[STATS_FB_OVERSIZE] = "fallback.oversize_request",
	[STATS_LATE] = "answers.late",
	[STATS_FORGED] = "answers.forged",
	[STATS_ORPHANED] = "answers.orphaned",
	[STATS_CANCELLED] = "requests.cancelled",
	[STATS_DROPPED_HANDLERS] = "dropped.handlers",
	[STATS_DROPPED_CONTROLS] = "dropped.controls",
	[STATS_DROPPED_BUSES] = "dropped.buses",
	[STATS_BROKER_ANSWERED] = "broker.answered",
};

const char *
stats_counter_name(enum stats_counter c)
{
	return c < STATS_NCOUNTERS ? stats_names[c] : "?";
}

int
stats_init(struct stats *s)
{
	memset(s, 0, sizeof(*s));
	s->size = 64;
	if ((s->table = calloc(s->size, sizeof(*s->table))) == NULL)
		return -ENOMEM;
	return 0;
}

void
stats_deinit(struct stats *s)
{
	struct stats_cmd	*c, *next;
	size_t			 i;

	for (i = 0; i < s->size; i++)
		for (c = s->table[i]; c != NULL; c = next) {
			next = c->next;
			free(c);
		}
	free(s->table);
	s->table = NULL;
}

static size_t
stats_hash(uint8_t netfn, uint8_t cmd, uint32_t key, size_t size)
{
	uint32_t	h = ((uint32_t)netfn << 8 | cmd) ^ (key * 2654435761u);

	return (h ^ (h >> 15)) & (size - 1);
}

static int
stats_grow(struct stats *s)
{
	struct stats_cmd	**t, *c, *next;
	size_t			  i, n = s->size * 2, h;

	if ((t = calloc(n, sizeof(*t))) == NULL)
		return -ENOMEM;
	for (i = 0; i < s->size; i++)
		for (c = s->table[i]; c != NULL; c = next) {
			next = c->next;
			h = stats_hash(c->netfn, c->cmd, c->key, n);
			c->next = t[h];
			t[h] = c;
		}
	free(s->table);
	s->table = t;
	s->size = n;
	return 0;
}

/* Bucket b covers [2^(b/4) * (4 + b%4) / 4, next) microseconds. */
static unsigned
stats_bucket(uint32_t us)
{
	unsigned	e, b;

	if (us < 4)
		return us;
	e = 31 - __builtin_clz(us);		/* us in [2^e, 2^(e+1)) */
	b = e * 4 + ((us >> (e - 2)) & 3);
	return b < STATS_BUCKETS ? b : STATS_BUCKETS - 1;
}

static uint32_t
stats_bucket_top(unsigned b)
{
	unsigned	e = b / 4, m = b % 4;
	uint64_t	top;

	if (b < 4)
		return b;
	top = ((uint64_t)(4 + m + 1) << e) / 4 - 1;
	return top > UINT32_MAX ? UINT32_MAX : (uint32_t)top;
}

int
stats_record(struct stats *s, uint8_t netfn, uint8_t cmd, uint32_t key,
    uint32_t latency_us, int fallback)
{
	struct stats_cmd	*c;
	size_t			 h = stats_hash(netfn, cmd, key, s->size);
	unsigned		 b, i;

	for (c = s->table[h]; c != NULL; c = c->next)
		if (c->netfn == netfn && c->cmd == cmd && c->key == key)
			break;
	if (c == NULL) {
		if (s->count >= s->size && stats_grow(s) == 0)
			h = stats_hash(netfn, cmd, key, s->size);
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return -ENOMEM;
		c->netfn = netfn;
		c->cmd = cmd;
		c->key = key;
		c->next = s->table[h];
		s->table[h] = c;
		s->count++;
	}
	c->count++;
	if (fallback)
		c->fallbacks++;
	if (latency_us > c->max_us)
		c->max_us = latency_us;
	b = stats_bucket(latency_us);
	if (c->hist[b] == UINT16_MAX)
		for (i = 0; i < STATS_BUCKETS; i++)
			c->hist[i] = (uint16_t)((c->hist[i] + 1) / 2);
	c->hist[b]++;
	return 0;
}

uint32_t
stats_percentile(const struct stats_cmd *c, unsigned pct)
{
	uint64_t	want, seen = 0, total = 0;
	unsigned	b;

	for (b = 0; b < STATS_BUCKETS; b++)
		total += c->hist[b];
	if (total == 0)
		return 0;
	/* The buckets may have been halved: rank within what they hold. */
	want = (total * pct + 99) / 100;
	if (want == 0)
		want = 1;
	for (b = 0; b < STATS_BUCKETS; b++) {
		seen += c->hist[b];
		if (seen >= want) {
			uint32_t top = stats_bucket_top(b);

			return top < c->max_us ? top : c->max_us;
		}
	}
	return c->max_us;
}

void
stats_walk(const struct stats *s,
    void (*fn)(const struct stats_cmd *c, void *arg), void *arg)
{
	const struct stats_cmd	*c;
	size_t			 i;

	for (i = 0; i < s->size; i++)
		for (c = s->table[i]; c != NULL; c = c->next)
			fn(c, arg);
}
