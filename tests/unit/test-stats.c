/* SPDX-License-Identifier: MIT */
/*
 * stats: per-command counts and latency percentiles within the histogram's
 * resolution (a quarter of a power of two), and counters by name.
 */
#include <criterion/criterion.h>

#include "stats.h"

static struct stats s;

static void
setup(void)
{
	cr_assert_eq(stats_init(&s), 0);
}

static void
teardown(void)
{
	stats_deinit(&s);
}

TestSuite(stats, .init = setup, .fini = teardown, .timeout = 10);

static const struct stats_cmd *found;

static void
find_cmd(const struct stats_cmd *c, void *arg)
{
	const uint8_t	*want = arg;

	if (c->netfn == want[0] && c->cmd == want[1])
		found = c;
}

static const struct stats_cmd *
lookup(uint8_t netfn, uint8_t cmd)
{
	uint8_t	want[2] = { netfn, cmd };

	found = NULL;
	stats_walk(&s, find_cmd, want);
	return found;
}

Test(stats, counts_answers_and_fallbacks_per_command)
{
	const struct stats_cmd	*c;

	stats_record(&s, 0x06, 0x01, 0, 10, 0);
	stats_record(&s, 0x06, 0x01, 0, 20, 1);
	stats_record(&s, 0x0a, 0x40, 0, 30, 0);
	c = lookup(0x06, 0x01);
	cr_assert_not_null(c);
	cr_assert_eq(c->count, 2);
	cr_assert_eq(c->fallbacks, 1);
	cr_assert_eq(c->max_us, 20);
	cr_assert_eq(lookup(0x0a, 0x40)->count, 1);
}

Test(stats, percentiles_are_within_a_quarter_power_of_two)
{
	const struct stats_cmd	*c;
	uint32_t		 p50, p99;
	int			 i;

	for (i = 1; i <= 1000; i++)
		stats_record(&s, 0x06, 0x01, 0, (uint32_t)i * 10, 0);
	c = lookup(0x06, 0x01);
	p50 = stats_percentile(c, 50);
	p99 = stats_percentile(c, 99);
	cr_assert(p50 >= 5000 && p50 <= 5000 * 5 / 4, "p50 %u", p50);
	cr_assert(p99 >= 9900 && p99 <= 10000, "p99 %u", p99);
	cr_assert_eq(stats_percentile(c, 100), 10000);
}

Test(stats, many_commands_grow_the_table_and_stay_distinct)
{
	int	i;

	for (i = 0; i < 256; i++)
		stats_record(&s, 0x30, (uint8_t)i, 0, 1, 0);
	for (i = 0; i < 256; i++)
		cr_assert_eq(lookup(0x30, (uint8_t)i)->count, 1);
	cr_assert_eq(s.count, 256);
}

Test(stats, oem_keys_are_counted_apart)
{
	stats_record(&s, 0x2e, 0x01, 7154, 1, 0);
	stats_record(&s, 0x2e, 0x01, 32473, 1, 0);
	cr_assert_eq(s.count, 2);
}

Test(stats, every_counter_has_a_name)
{
	int	i;

	for (i = 0; i < STATS_NCOUNTERS; i++)
		cr_assert_str_neq(stats_counter_name(i), "?");
}

Test(stats, full_buckets_halve_and_keep_percentiles_and_exact_counts)
{
	const struct stats_cmd	*c;
	int			 i;

	/* 3 in 4 fast, 1 in 4 slow, far past a 16-bit bucket. */
	for (i = 0; i < 200000; i++)
		stats_record(&s, 0x06, 0x01, 0, (i % 4 == 3) ? 1000 : 10, 0);
	c = lookup(0x06, 0x01);
	cr_assert_eq(c->count, 200000);
	cr_assert_eq(c->max_us, 1000);
	cr_assert_leq(stats_percentile(c, 50), 12, "p50 %u",
	    stats_percentile(c, 50));
	cr_assert_geq(stats_percentile(c, 90), 896, "p90 %u",
	    stats_percentile(c, 90));
}
