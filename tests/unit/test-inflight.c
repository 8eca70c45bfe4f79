/* SPDX-License-Identifier: MIT */
/*
 * inflight: ids strictly increase per connection, an answer finds its
 * request in O(1), late and forged ids are told apart, and deadlines come
 * out in expiry order.
 */
#include <criterion/criterion.h>

#include "inflight.h"

static struct inflight_pool pool;
static int h1, h2;	/* two "connections": only their addresses matter */

static void
setup(void)
{
	cr_assert_eq(inflight_pool_init(&pool), 0);
}

static void
teardown(void)
{
	inflight_pool_deinit(&pool);
}

TestSuite(inflight, .init = setup, .fini = teardown, .timeout = 10);

static struct inflight *
start(void *h, uint64_t *seq, uint64_t deadline)
{
	struct inflight	*f = inflight_start(&pool, seq, 0, deadline);

	cr_assert_not_null(f);
	f->handler = h;
	return f;
}

Test(inflight, ids_on_one_connection_strictly_increase)
{
	uint64_t	seq = 1, prev = 0;
	int		i;

	for (i = 0; i < 100; i++) {
		struct inflight *f = start(&h1, &seq, 100);

		cr_assert_gt(f->id, prev);
		prev = f->id;
		if (i % 3 == 0)
			inflight_finish(&pool, f);	/* slots get reused */
	}
}

Test(inflight, answer_finds_its_request)
{
	uint64_t	 seq = 1;
	struct inflight	*a = start(&h1, &seq, 100);
	struct inflight	*b = start(&h1, &seq, 100);
	int		 verdict;

	cr_assert_eq(inflight_lookup(&pool, &h1, seq, b->id, &verdict), b);
	cr_assert_eq(verdict, 0);
	cr_assert_eq(inflight_lookup(&pool, &h1, seq, a->id, &verdict), a);
}

Test(inflight, finished_request_is_late)
{
	uint64_t	 seq = 1, id;
	struct inflight	*a = start(&h1, &seq, 100);
	int		 verdict;

	id = a->id;
	inflight_finish(&pool, a);
	cr_assert_null(inflight_lookup(&pool, &h1, seq, id, &verdict));
	cr_assert_eq(verdict, INFLIGHT_E_LATE);
}

Test(inflight, reused_slot_does_not_accept_the_old_id)
{
	uint64_t	 seq = 1, old;
	struct inflight	*a = start(&h1, &seq, 100), *b;
	int		 verdict;

	old = a->id;
	inflight_finish(&pool, a);
	b = start(&h1, &seq, 100);
	cr_assert_eq(b->slot, a->slot);
	cr_assert_null(inflight_lookup(&pool, &h1, seq, old, &verdict));
	cr_assert_eq(verdict, INFLIGHT_E_LATE);
	cr_assert_eq(inflight_lookup(&pool, &h1, seq, b->id, &verdict), b);
}

Test(inflight, id_never_issued_is_forged)
{
	uint64_t	 seq = 1;
	int		 verdict;

	start(&h1, &seq, 100);
	cr_assert_null(inflight_lookup(&pool, &h1, seq,
	    (uint64_t)1 << 40, &verdict));
	cr_assert_eq(verdict, INFLIGHT_E_FORGED);
}

Test(inflight, another_connections_id_is_not_accepted)
{
	uint64_t	 seq1 = 1, seq2 = 1;
	struct inflight	*a = start(&h1, &seq1, 100);
	int		 verdict;

	start(&h2, &seq2, 100);
	cr_assert_null(inflight_lookup(&pool, &h2, seq2, a->id, &verdict));
	cr_assert_neq(verdict, 0);
}

Test(inflight, deadlines_expire_in_order_whatever_the_arrival_order)
{
	uint64_t	 seq = 1;
	struct inflight	*late = start(&h1, &seq, 300);
	struct inflight	*early = start(&h1, &seq, 100);
	struct inflight	*mid = start(&h1, &seq, 200);

	cr_assert_eq(inflight_next_deadline(&pool), 100);
	cr_assert_null(inflight_expired(&pool, 99));
	cr_assert_eq(inflight_expired(&pool, 250), early);
	inflight_finish(&pool, early);
	cr_assert_eq(inflight_expired(&pool, 250), mid);
	inflight_finish(&pool, mid);
	cr_assert_null(inflight_expired(&pool, 250));
	cr_assert_eq(inflight_expired(&pool, 300), late);
}

Test(inflight, pool_counts_what_is_in_flight)
{
	uint64_t	 seq = 1;
	struct inflight	*a = start(&h1, &seq, 100);

	start(&h1, &seq, 100);
	cr_assert_eq(pool.used, 2);
	inflight_finish(&pool, a);
	cr_assert_eq(pool.used, 1);
	cr_assert_eq(inflight_next_deadline(&pool), 100);
}

Test(inflight, every_slot_can_be_taken_then_the_pool_says_full)
{
	uint64_t	seq = 1;
	uint32_t	i;

	for (i = 0; i < INFLIGHT_SLOTS; i++)
		cr_assert_not_null(inflight_start(&pool, &seq, 0, i));
	cr_assert_null(inflight_start(&pool, &seq, 0, 1));
}
