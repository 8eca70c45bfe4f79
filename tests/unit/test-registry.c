/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for broker/registry.c: specificity, conflicts, keyed netfns
 * (0x2C body, 0x2E IANA), key checking, the Get NetFn/Command Support
 * bitmaps, walk order and a 10,000-entry load. The owners are fake
 * pointers; the registry never dereferences them.
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "registry.h"

static struct registry	*reg;
static int		 owners[1000];

#define OWNER_A	((void *)&owners[0])
#define OWNER_B	((void *)&owners[1])
#define OWNER_C	((void *)&owners[2])

static void
setup(void)
{
	reg = registry_new();
	cr_assert_not_null(reg);
}

static void
teardown(void)
{
	reg = registry_free(reg);
}

TestSuite(registry, .init = setup, .fini = teardown, .timeout = 10);

/* Build a checked key; cmd < 0 means any cmd. */
static struct reg_key
key(uint32_t netfn, int cmd, uint32_t keyval, uint32_t luns, uint32_t chans)
{
	struct reg_key	k;
	char		why[128];
	int		rc;

	rc = registry_key_check(&k, netfn, cmd < 0, cmd < 0 ? 0 : cmd,
	    netfn == NETFN_OEM ? keyval : 0, netfn == NETFN_GROUP ? keyval : 0,
	    luns, chans, why, sizeof(why));
	cr_assert_eq(rc, 0, "key_check netfn 0x%02x cmd %d: %s", netfn, cmd,
	    why);
	return (k);
}

static struct reg_entry *
add_ok(uint32_t netfn, int cmd, uint32_t keyval, uint32_t luns,
    uint32_t chans, void *owner)
{
	struct reg_key		 k;
	struct reg_entry	*e;
	const struct reg_entry	*c;
	char			 buf[64];
	int			 rc;

	k = key(netfn, cmd, keyval, luns, chans);
	rc = registry_add(reg, &k, owner, 0, &e, &c);
	registry_key_format(&k, buf, sizeof(buf));
	cr_assert_eq(rc, 0, "add %s: expected 0, got %d", buf, rc);
	cr_assert_not_null(e);
	cr_assert_null(c);
	return (e);
}

static const struct reg_entry *
add_conflict(uint32_t netfn, int cmd, uint32_t keyval, uint32_t luns,
    uint32_t chans, void *owner)
{
	struct reg_key		 k;
	struct reg_entry	*e;
	const struct reg_entry	*c;
	char			 buf[64];
	int			 rc;

	k = key(netfn, cmd, keyval, luns, chans);
	rc = registry_add(reg, &k, owner, 0, &e, &c);
	registry_key_format(&k, buf, sizeof(buf));
	cr_assert_eq(rc, REGISTRY_E_CONFLICT, "add %s: expected conflict, "
	    "got %d", buf, rc);
	cr_assert_null(e);
	cr_assert_not_null(c);
	return (c);
}

/* registry_key_check() refusal: returns the reason. */
static const char *
refuse(uint32_t netfn, bool any, uint32_t cmd, uint32_t iana, uint32_t body,
    uint32_t luns, uint32_t chans)
{
	static char	why[128];
	struct reg_key	k;
	int		rc;

	memset(why, 0, sizeof(why));
	rc = registry_key_check(&k, netfn, any, cmd, iana, body, luns, chans,
	    why, sizeof(why));
	cr_assert_eq(rc, REGISTRY_E_INVALID, "expected invalid, got %d", rc);
	return (why);
}

Test(registry, exact_cmd_beats_any_cmd)
{
	struct reg_entry	*any, *exact;

	any = add_ok(0x06, -1, 0, 0, 0, OWNER_A);
	exact = add_ok(0x06, 0x01, 0, 0, 0, OWNER_B);
	cr_assert_eq(registry_lookup(reg, 0x06, 0, 0x01, 1, 0), exact);
	cr_assert_eq(registry_lookup(reg, 0x06, 0, 0x02, 1, 0), any);
}

Test(registry, exact_cmd_added_after_any_cmd_with_same_masks_is_ordered)
{
	struct reg_entry	*any, *exact;

	exact = add_ok(0x0a, 0x10, 0, 0x01, 0x0001, OWNER_A);
	any = add_ok(0x0a, -1, 0, 0x01, 0x0001, OWNER_B);
	cr_assert_eq(registry_lookup(reg, 0x0a, 0, 0x10, 0, 0), exact);
	cr_assert_eq(registry_lookup(reg, 0x0a, 0, 0x11, 0, 0), any);
}

Test(registry, lun_subset_beats_superset)
{
	struct reg_entry	*wide, *narrow;

	wide = add_ok(0x04, 0x2d, 0, 0x0f, 0, OWNER_A);
	narrow = add_ok(0x04, 0x2d, 0, 0x02, 0, OWNER_B);
	cr_assert_eq(registry_lookup(reg, 0x04, 1, 0x2d, 0, 0), narrow);
	cr_assert_eq(registry_lookup(reg, 0x04, 0, 0x2d, 0, 0), wide);
}

Test(registry, channel_subset_beats_superset)
{
	struct reg_entry	*wide, *narrow;

	narrow = add_ok(0x06, 0x01, 0, 0, 0x8000, OWNER_A);
	wide = add_ok(0x06, 0x01, 0, 0, 0, OWNER_B);
	cr_assert_eq(registry_lookup(reg, 0x06, 0, 0x01, 15, 0), narrow);
	cr_assert_eq(registry_lookup(reg, 0x06, 0, 0x01, 1, 0), wide);
}

Test(registry, lun_order_wins_over_channel_order)
{
	struct reg_entry	*lun0, *chan1;

	/* lun0's LUNs are a subset; its channels a superset of chan1's. */
	lun0 = add_ok(0x06, 0x01, 0, 0x01, 0xffff, OWNER_A);
	chan1 = add_ok(0x06, 0x01, 0, 0x0f, 0x0002, OWNER_B);
	cr_assert_eq(registry_lookup(reg, 0x06, 0, 0x01, 1, 0), lun0);
	cr_assert_eq(registry_lookup(reg, 0x06, 2, 0x01, 1, 0), chan1);
	cr_assert_null(registry_lookup(reg, 0x06, 2, 0x01, 3, 0));
}

Test(registry, identical_key_conflicts_and_names_the_holder)
{
	struct reg_entry	*holder;
	const struct reg_entry	*c;

	holder = add_ok(0x06, 0x01, 0, 0, 0, OWNER_A);
	c = add_conflict(0x06, 0x01, 0, 0, 0, OWNER_B);
	cr_assert_eq(c, holder);
	cr_assert_eq(c->owner, OWNER_A);
	cr_assert_eq(registry_count(reg), 1);
}

Test(registry, identical_key_from_the_same_owner_conflicts)
{
	struct reg_entry	*holder;

	holder = add_ok(0x06, -1, 0, 0, 0, OWNER_A);
	cr_assert_eq(add_conflict(0x06, -1, 0, 0, 0, OWNER_A), holder);
}

Test(registry, incomparable_lun_sets_conflict)
{
	struct reg_entry	*holder;

	holder = add_ok(0x06, 0x01, 0, 0x03, 0, OWNER_A);
	cr_assert_eq(add_conflict(0x06, 0x01, 0, 0x06, 0, OWNER_B), holder);
}

Test(registry, incomparable_channel_sets_with_equal_luns_conflict)
{
	struct reg_entry	*holder;

	holder = add_ok(0x06, 0x01, 0, 0x01, 0x0003, OWNER_A);
	cr_assert_eq(add_conflict(0x06, 0x01, 0, 0x01, 0x0006, OWNER_B),
	    holder);
}

Test(registry, lun_subset_is_ordered_whatever_the_channel_sets)
{
	add_ok(0x06, 0x01, 0, 0x03, 0x0003, OWNER_A);
	add_ok(0x06, 0x01, 0, 0x01, 0x0006, OWNER_B);
	cr_assert_eq(registry_count(reg), 2);
}

Test(registry, disjoint_lun_sets_coexist)
{
	struct reg_entry	*a, *b;

	a = add_ok(0x06, 0x01, 0, 0x03, 0, OWNER_A);
	b = add_ok(0x06, 0x01, 0, 0x0c, 0, OWNER_B);
	cr_assert_eq(registry_lookup(reg, 0x06, 1, 0x01, 0, 0), a);
	cr_assert_eq(registry_lookup(reg, 0x06, 2, 0x01, 0, 0), b);
}

Test(registry, disjoint_channel_sets_with_incomparable_luns_coexist)
{
	add_ok(0x06, 0x01, 0, 0x03, 0x00ff, OWNER_A);
	add_ok(0x06, 0x01, 0, 0x06, 0xff00, OWNER_B);
	cr_assert_eq(registry_count(reg), 2);
}

Test(registry, conflict_names_the_entry_that_conflicts_not_an_ordered_one)
{
	struct reg_entry	*high;

	add_ok(0x06, 0x01, 0, 0x0f, 0, OWNER_A);
	high = add_ok(0x06, 0x01, 0, 0x0c, 0, OWNER_B);
	/* {1,2} is below {0-3} but incomparable with {2,3}. */
	cr_assert_eq(add_conflict(0x06, 0x01, 0, 0x06, 0, OWNER_C), high);
}

Test(registry, removal_falls_back_to_the_less_specific_entry_then_null)
{
	struct reg_entry	*wide, *narrow;

	wide = add_ok(0x06, -1, 0, 0, 0, OWNER_A);
	narrow = add_ok(0x06, 0x01, 0, 0x01, 0x0001, OWNER_B);
	cr_assert_eq(registry_lookup(reg, 0x06, 0, 0x01, 0, 0), narrow);
	registry_remove(reg, narrow);
	cr_assert_eq(registry_lookup(reg, 0x06, 0, 0x01, 0, 0), wide);
	registry_remove(reg, wide);
	cr_assert_null(registry_lookup(reg, 0x06, 0, 0x01, 0, 0));
	cr_assert_eq(registry_count(reg), 0);
}

Test(registry, removed_key_can_be_registered_again)
{
	struct reg_entry	*e;

	e = add_ok(0x06, 0x01, 0, 0, 0, OWNER_A);
	registry_remove(reg, e);
	e = add_ok(0x06, 0x01, 0, 0, 0, OWNER_B);
	cr_assert_eq(registry_lookup(reg, 0x06, 0, 0x01, 0, 0)->owner,
	    OWNER_B);
}

Test(registry, find_returns_the_owners_entry_with_exactly_that_key)
{
	struct reg_entry	*e;
	struct reg_key		 k;

	e = add_ok(0x2e, 0x05, 7154, 0x01, 0, OWNER_A);
	k = key(0x2e, 0x05, 7154, 0x01, 0);
	cr_assert_eq(registry_find(reg, &k, OWNER_A), e);
	cr_assert_null(registry_find(reg, &k, OWNER_B));
	k = key(0x2e, 0x05, 7154, 0x03, 0);
	cr_assert_null(registry_find(reg, &k, OWNER_A));
}

Test(registry, same_cmd_with_different_iana_coexists)
{
	struct reg_entry	*a, *b;

	a = add_ok(0x2e, 0x01, 7154, 0, 0, OWNER_A);
	b = add_ok(0x2e, 0x01, 343, 0, 0, OWNER_B);
	cr_assert_eq(registry_lookup(reg, 0x2e, 0, 0x01, 0, 7154), a);
	cr_assert_eq(registry_lookup(reg, 0x2e, 0, 0x01, 0, 343), b);
	cr_assert_null(registry_lookup(reg, 0x2e, 0, 0x01, 0, 674));
	cr_assert_null(registry_lookup(reg, 0x2e, 0, 0x02, 0, 7154));
}

Test(registry, same_iana_and_cmd_conflicts)
{
	struct reg_entry	*holder;

	holder = add_ok(0x2e, 0x01, 7154, 0, 0, OWNER_A);
	cr_assert_eq(add_conflict(0x2e, 0x01, 7154, 0, 0, OWNER_B), holder);
}

Test(registry, iana_any_cmd_serves_every_cmd_of_that_iana_only)
{
	struct reg_entry	*any, *exact;

	any = add_ok(0x2e, -1, 7154, 0, 0, OWNER_A);
	exact = add_ok(0x2e, 0x40, 7154, 0, 0, OWNER_B);
	cr_assert_eq(registry_lookup(reg, 0x2e, 0, 0x40, 0, 7154), exact);
	cr_assert_eq(registry_lookup(reg, 0x2e, 0, 0x41, 0, 7154), any);
	cr_assert_null(registry_lookup(reg, 0x2e, 0, 0x41, 0, 7155));
}

Test(registry, group_netfn_is_keyed_by_body_code)
{
	struct reg_entry	*picmg, *dmtf;

	picmg = add_ok(0x2c, 0x00, 0x00, 0, 0, OWNER_A);
	dmtf = add_ok(0x2c, 0x00, 0xdc, 0, 0, OWNER_B);
	cr_assert_eq(registry_lookup(reg, 0x2c, 0, 0x00, 0, 0x00), picmg);
	cr_assert_eq(registry_lookup(reg, 0x2c, 0, 0x00, 0, 0xdc), dmtf);
	cr_assert_null(registry_lookup(reg, 0x2c, 0, 0x00, 0, 0x03));
	cr_assert_eq(add_conflict(0x2c, 0x00, 0xdc, 0, 0, OWNER_C), dmtf);
}

Test(registry, group_and_oem_netfns_with_the_same_key_are_distinct)
{
	struct reg_entry	*grp, *oem;

	grp = add_ok(0x2c, 0x01, 0x03, 0, 0, OWNER_A);
	oem = add_ok(0x2e, 0x01, 0x03, 0, 0, OWNER_B);
	cr_assert_eq(registry_lookup(reg, 0x2c, 0, 0x01, 0, 0x03), grp);
	cr_assert_eq(registry_lookup(reg, 0x2e, 0, 0x01, 0, 0x03), oem);
}

Test(registry, netfns_0x30_to_0x3e_work_like_standard_ones)
{
	struct reg_entry	*e[8];
	unsigned int		 i;

	for (i = 0; i < 8; i++)
		e[i] = add_ok(0x30 + 2 * i, 0x01, 0, 0, 0, OWNER_A);
	for (i = 0; i < 8; i++)
		cr_assert_eq(registry_lookup(reg, 0x30 + 2 * i, 0, 0x01, 0,
		    12345), e[i], "netfn 0x%02x", 0x30 + 2 * i);
	cr_assert_eq(add_conflict(0x3e, 0x01, 0, 0, 0, OWNER_B), e[7]);
	cr_assert_null(registry_lookup(reg, 0x3e, 0, 0x02, 0, 0));
}

Test(registry, lookup_of_impossible_requests_finds_nothing)
{
	add_ok(0x06, -1, 0, 0, 0, OWNER_A);
	cr_assert_null(registry_lookup(reg, 0x07, 0, 0x01, 0, 0));
	cr_assert_null(registry_lookup(reg, 0x40, 0, 0x01, 0, 0));
	cr_assert_null(registry_lookup(reg, 0x06, 4, 0x01, 0, 0));
	cr_assert_null(registry_lookup(reg, 0x06, 0, 0x01, 16, 0));
	cr_assert_not_null(registry_lookup(reg, 0x06, 3, 0xff, 15, 0));
}

Test(registry, lookup_in_an_empty_registry_finds_nothing)
{
	cr_assert_null(registry_lookup(reg, 0x06, 0, 0x01, 0, 0));
	cr_assert_null(registry_lookup(reg, 0x2e, 0, 0x01, 0, 7154));
	cr_assert_null(registry_lookup(reg, 0x2c, 0, 0x00, 0, 0));
}

Test(registry, add_refuses_an_unchecked_key)
{
	struct reg_key		 k;
	struct reg_entry	*e;
	const struct reg_entry	*c;

	memset(&k, 0, sizeof(k));
	k.netfn = 0x07;
	k.lun_mask = 1;
	k.channel_mask = 1;
	cr_assert_eq(registry_add(reg, &k, OWNER_A, 0, &e, &c),
	    REGISTRY_E_INVALID);
	k.netfn = 0x06;
	k.lun_mask = 0;
	cr_assert_eq(registry_add(reg, &k, OWNER_A, 0, &e, &c),
	    REGISTRY_E_INVALID);
	k.lun_mask = 1;
	k.key = 5;
	cr_assert_eq(registry_add(reg, &k, OWNER_A, 0, &e, &c),
	    REGISTRY_E_INVALID);
	cr_assert_eq(registry_count(reg), 0);
}

Test(registry, key_check_fills_in_all_luns_all_channels_and_zero_cmd)
{
	struct reg_key	k;
	char		why[64];

	cr_assert_eq(registry_key_check(&k, 0x2e, true, 0x77, 7154, 0, 0, 0,
	    why, sizeof(why)), 0);
	cr_assert_eq(k.netfn, 0x2e);
	cr_assert(k.any_cmd);
	cr_assert_eq(k.cmd, 0);
	cr_assert_eq(k.key, 7154);
	cr_assert_eq(k.lun_mask, REGISTRY_LUN_ALL);
	cr_assert_eq(k.channel_mask, REGISTRY_CHANNEL_ALL);
}

Test(registry, key_check_keeps_given_masks_and_body)
{
	struct reg_key	k;

	cr_assert_eq(registry_key_check(&k, 0x2c, false, 0x01, 0, 0xdc, 0x05,
	    0x8001, NULL, 0), 0);
	cr_assert_eq(k.key, 0xdc);
	cr_assert_eq(k.cmd, 0x01);
	cr_assert_not(k.any_cmd);
	cr_assert_eq(k.lun_mask, 0x05);
	cr_assert_eq(k.channel_mask, 0x8001);
}

Test(registry, key_check_refuses_an_odd_netfn)
{
	cr_assert_str_eq(refuse(0x07, false, 1, 0, 0, 0, 0),
	    "netfn 0x07 is odd (a response netfn)");
}

Test(registry, key_check_refuses_a_netfn_above_0x3e)
{
	cr_assert_str_eq(refuse(0x40, false, 1, 0, 0, 0, 0),
	    "netfn 0x40 out of range (max 0x3e)");
}

Test(registry, key_check_refuses_a_cmd_above_255)
{
	cr_assert_str_eq(refuse(0x06, false, 256, 0, 0, 0, 0),
	    "cmd 256 out of range (max 255)");
}

Test(registry, key_check_refuses_an_iana_wider_than_24_bits)
{
	cr_assert_str_eq(refuse(0x2e, false, 1, 0x1000000, 0, 0, 0),
	    "iana 0x1000000 exceeds 24 bits");
}

Test(registry, key_check_refuses_an_iana_on_a_netfn_without_one)
{
	cr_assert_str_eq(refuse(0x06, false, 1, 7154, 0, 0, 0),
	    "iana set on netfn 0x06 (only 0x2e has one)");
}

Test(registry, key_check_refuses_a_body_wider_than_8_bits)
{
	cr_assert_str_eq(refuse(0x2c, false, 1, 0, 0x100, 0, 0),
	    "body 0x100 exceeds 8 bits");
}

Test(registry, key_check_refuses_a_body_on_a_netfn_without_one)
{
	cr_assert_str_eq(refuse(0x2e, false, 1, 0, 0xdc, 0, 0),
	    "body set on netfn 0x2e (only 0x2c has one)");
}

Test(registry, key_check_refuses_a_lun_mask_above_0x0f)
{
	cr_assert_str_eq(refuse(0x06, false, 1, 0, 0, 0x10, 0),
	    "lun mask 0x10 out of range (max 0x0f)");
}

Test(registry, key_check_refuses_a_channel_mask_above_0xffff)
{
	cr_assert_str_eq(refuse(0x06, false, 1, 0, 0, 0, 0x10000),
	    "channel mask 0x10000 out of range (max 0xffff)");
}

Test(registry, overlap_and_conflict_follow_the_routing_rules)
{
	struct reg_key	a, b;

	a = key(0x06, 0x01, 0, 0x03, 0);
	b = key(0x06, 0x02, 0, 0x03, 0);
	cr_assert_not(registry_overlap(&a, &b));
	b = key(0x06, -1, 0, 0x06, 0);
	cr_assert(registry_overlap(&a, &b));
	cr_assert_not(registry_conflict(&a, &b));
	b = key(0x06, 0x01, 0, 0x06, 0);
	cr_assert(registry_conflict(&a, &b));
	cr_assert(registry_conflict(&b, &a));
	b = key(0x06, 0x01, 0, 0x03, 0x0001);
	cr_assert_not(registry_conflict(&a, &b));
	b = key(0x06, 0x01, 0, 0x0c, 0);
	cr_assert_not(registry_overlap(&a, &b));
}

Test(registry, netfn_bits_mark_served_netfns_on_that_lun_and_channel)
{
	uint8_t	bits[4];

	add_ok(0x06, 0x01, 0, 0x01, 0, OWNER_A);
	add_ok(0x0a, -1, 0, 0x02, 0, OWNER_A);
	add_ok(0x2e, 0x01, 7154, 0x01, 0x0002, OWNER_A);
	add_ok(0x3e, 0x01, 0, 0x01, 0, OWNER_A);
	memset(bits, 0, sizeof(bits));
	registry_netfn_bits(reg, 0, 1, bits);
	/* 0x06 -> bit 3, 0x2e -> bit 23, 0x3e -> bit 31. */
	cr_assert_eq(bits[0], 0x08, "got 0x%02x", bits[0]);
	cr_assert_eq(bits[1], 0x00, "got 0x%02x", bits[1]);
	cr_assert_eq(bits[2], 0x80, "got 0x%02x", bits[2]);
	cr_assert_eq(bits[3], 0x80, "got 0x%02x", bits[3]);
	memset(bits, 0, sizeof(bits));
	registry_netfn_bits(reg, 1, 0, bits);
	/* 0x0a -> bit 5 only. */
	cr_assert_eq(bits[0], 0x20, "got 0x%02x", bits[0]);
	cr_assert_eq(bits[1] | bits[2] | bits[3], 0);
}

Test(registry, cmd_bits_mark_served_cmds_of_that_netfn_and_key)
{
	uint8_t	bits[32], want[32];

	add_ok(0x2e, 0x00, 7154, 0, 0, OWNER_A);
	add_ok(0x2e, 0x09, 7154, 0, 0, OWNER_A);
	add_ok(0x2e, 0xff, 7154, 0x02, 0, OWNER_A);
	add_ok(0x2e, 0x05, 343, 0, 0, OWNER_A);
	memset(bits, 0, sizeof(bits));
	memset(want, 0, sizeof(want));
	want[0] = 0x01;
	want[1] = 0x02;
	registry_cmd_bits(reg, 0x2e, 7154, 0, 0, bits);
	cr_assert_arr_eq(bits, want, sizeof(bits));
}

Test(registry, cmd_bits_of_an_any_cmd_registration_set_every_bit)
{
	uint8_t	bits[32], want[32];

	add_ok(0x30, -1, 0, 0, 0x0001, OWNER_A);
	memset(bits, 0, sizeof(bits));
	memset(want, 0xff, sizeof(want));
	registry_cmd_bits(reg, 0x30, 0, 0, 0, bits);
	cr_assert_arr_eq(bits, want, sizeof(bits));
	memset(bits, 0, sizeof(bits));
	memset(want, 0, sizeof(want));
	registry_cmd_bits(reg, 0x30, 0, 0, 1, bits);
	cr_assert_arr_eq(bits, want, sizeof(bits));
}

struct walk_log {
	const struct reg_entry	*seen[8];
	size_t			 n;
};

static void
walk_cb(const struct reg_entry *e, void *arg)
{
	struct walk_log	*w = arg;

	if (w->n < 8)
		w->seen[w->n] = e;
	w->n++;
}

Test(registry, walk_visits_entries_in_the_order_added)
{
	struct reg_entry	*e[4];
	struct walk_log		 w;

	e[0] = add_ok(0x2e, 0x01, 7154, 0, 0, OWNER_A);
	e[1] = add_ok(0x06, -1, 0, 0, 0, OWNER_B);
	e[2] = add_ok(0x06, 0x01, 0, 0x01, 0, OWNER_C);
	e[3] = add_ok(0x2c, 0x01, 0, 0, 0, OWNER_A);
	registry_remove(reg, e[1]);
	e[1] = add_ok(0x06, -1, 0, 0, 0, OWNER_B);
	memset(&w, 0, sizeof(w));
	registry_walk(reg, walk_cb, &w);
	cr_assert_eq(w.n, 4);
	cr_assert_eq(w.seen[0], e[0]);
	cr_assert_eq(w.seen[1], e[2]);
	cr_assert_eq(w.seen[2], e[3]);
	cr_assert_eq(w.seen[3], e[1]);
}

Test(registry, key_format_names_netfn_key_cmd_and_masks)
{
	struct reg_key	k;
	char		buf[64];

	k = key(0x06, 0x01, 0, 0, 0);
	registry_key_format(&k, buf, sizeof(buf));
	cr_assert_str_eq(buf, "netfn 0x06 cmd 0x01 luns 0x0f channels 0xffff");
	k = key(0x2e, -1, 7154, 0x01, 0x8000);
	registry_key_format(&k, buf, sizeof(buf));
	cr_assert_str_eq(buf,
	    "netfn 0x2e iana 7154 cmd any luns 0x01 channels 0x8000");
	k = key(0x2c, 0x00, 0x00, 0, 0);
	registry_key_format(&k, buf, sizeof(buf));
	cr_assert_str_eq(buf,
	    "netfn 0x2c body 0x00 cmd 0x00 luns 0x0f channels 0xffff");
	k = key(0x2e, 0xff, 0xffffff, 0, 0);
	registry_key_format(&k, buf, sizeof(buf));
	cr_assert_lt(strlen(buf), sizeof(buf) - 1, "%s", buf);
}

/* Even netfns other than 0x2C/0x2E: 30 of them. */
static uint8_t
plain_netfn(unsigned int i)
{
	uint8_t	n;

	n = (i % 30) * 2;
	return (n >= NETFN_GROUP ? n + 4 : n);
}

Test(registry, ten_thousand_entries_add_look_up_and_remove)
{
	static struct reg_entry	*e[10000];
	struct reg_key		 k;
	const struct reg_entry	*c;
	unsigned int		 i, j;
	uint8_t			 netfn, cmd;
	int			 rc;

	/* Even i: a plain netfn/cmd; odd i: an OEM cmd under IANA i. */
	for (i = 0; i < 10000; i++) {
		j = i / 2;
		if (i % 2 == 0)
			k = key(plain_netfn(j), (j / 30) % 256, 0, 0x01, 0);
		else
			k = key(0x2e, i % 256, i, 0, 0x0001);
		rc = registry_add(reg, &k, &owners[i % 1000], 0, &e[i], &c);
		cr_assert_eq(rc, 0, "entry %u: got %d", i, rc);
	}
	cr_assert_eq(registry_count(reg), 10000);
	for (i = 0; i < 10000; i++) {
		j = i / 2;
		netfn = i % 2 == 0 ? plain_netfn(j) : 0x2e;
		cmd = i % 2 == 0 ? (j / 30) % 256 : i % 256;
		cr_assert_eq(registry_lookup(reg, netfn, 0, cmd, 0, i), e[i],
		    "entry %u", i);
		cr_assert_eq(registry_find(reg, &e[i]->key, &owners[i % 1000]),
		    e[i], "entry %u", i);
	}
	for (i = 0; i < 10000; i += 2)
		registry_remove(reg, e[i + 1]);
	for (i = 0; i < 10000; i += 2) {
		cr_assert_null(registry_lookup(reg, 0x2e, 0, (i + 1) % 256, 0,
		    i + 1), "entry %u", i + 1);
		registry_remove(reg, e[i]);
	}
	cr_assert_eq(registry_count(reg), 0);
	cr_assert_null(registry_lookup(reg, 0x00, 0, 0, 0, 0));
}
