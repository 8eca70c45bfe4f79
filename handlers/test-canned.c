/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the canned handler's table: config parsing, its errors
 * with file:line, hex bytes, prefix matching and registration keys.
 * canned.c is included with its main() renamed; no broker is involved.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

int	canned_main(int, char **);
#define main canned_main
#include "canned.c"
#undef main

static struct canned_table t;

static int
config(const char *text, char *err, size_t len)
{
	FILE	*f;
	int	 rv;

	f = fmemopen((void *)text, strlen(text), "r");
	cr_assert_not_null(f);
	rv = canned_config_read(f, "t.conf", &t, err, len);
	fclose(f);
	return rv;
}

static void
teardown(void)
{
	canned_table_free(&t);
}

TestSuite(canned, .fini = teardown, .timeout = 5);

static const char table[] =
    "[canned]\n"
    "default_cc = 0xc0\n"
    "[entry any]\n"
    "netfn = 0x04\n"
    "cmd = 0x2d\n"
    "cc = 0xcb\n"
    "[entry one]\n"
    "netfn = 4\n"
    "cmd = 0x2d\n"
    "request = 01\n"
    "response = 2a c0\n"
    "[entry one-more]\n"
    "netfn = 4\n"
    "cmd = 0x2d\n"
    "request = 0x01 0x05\n"
    "response = 2b\n"
    "[entry oem]\n"
    "netfn = 0x2e\n"
    "cmd = 0x10\n"
    "request = a20200\n"
    "response = 01 02\n";

Test(canned, table_parses_with_defaults_and_hex_forms)
{
	char err[256];

	cr_assert_eq(config(table, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t.count, 4);
	cr_assert_eq(t.default_cc, 0xc0);
	cr_assert_not(t.default_route);
	cr_assert_eq(t.entries[1].prefix_len, 1);
	cr_assert_eq(t.entries[2].prefix_len, 2);
	cr_assert_eq(t.entries[2].prefix[1], 0x05);
	cr_assert_eq(t.entries[3].prefix_len, 3);
	cr_assert_eq(t.entries[0].cc, 0xcb);
	cr_assert_eq(t.entries[1].cc, 0x00, "cc defaults to 0");
}

Test(canned, longest_matching_prefix_wins)
{
	static const uint8_t one[] = { 0x01 }, onefive[] = { 0x01, 0x05, 9 },
	    two[] = { 0x02 };
	const struct canned_entry *e;
	char err[256];

	cr_assert_eq(config(table, err, sizeof(err)), 0, "%s", err);
	e = canned_match(&t, 0x04, 0x2d, one, 1);
	cr_assert_str_eq(e->name, "one");
	e = canned_match(&t, 0x04, 0x2d, onefive, 3);
	cr_assert_str_eq(e->name, "one-more");
	e = canned_match(&t, 0x04, 0x2d, two, 1);
	cr_assert_str_eq(e->name, "any");
	e = canned_match(&t, 0x04, 0x2d, NULL, 0);
	cr_assert_str_eq(e->name, "any");
	cr_assert_null(canned_match(&t, 0x04, 0x2e, one, 1));
}

Test(canned, no_entry_without_fallback_row_matches_nothing)
{
	static const uint8_t other[] = { 0xa2, 0x02, 0x01 };
	char err[256];

	cr_assert_eq(config(table, err, sizeof(err)), 0, "%s", err);
	cr_assert_null(canned_match(&t, 0x2e, 0x10, other, 3));
	cr_assert_null(canned_match(&t, 0x2e, 0x10, other, 2),
	    "a prefix longer than the data never matches");
}

Test(canned, oem_entry_is_keyed_by_iana_and_entries_share_keys)
{
	struct ipmic_key key;
	char err[256];

	cr_assert_eq(config(table, err, sizeof(err)), 0, "%s", err);
	canned_key(&t.entries[3], &key);
	cr_assert_eq(key.netfn, 0x2e);
	cr_assert_eq(key.iana, 0x0002a2, "iana 0x%06x", key.iana);
	cr_assert_eq(key.cmd, 0x10);
	cr_assert_not(canned_key_seen(&t, 0));
	cr_assert(canned_key_seen(&t, 1), "one shares any's key");
	cr_assert(canned_key_seen(&t, 2));
	cr_assert_not(canned_key_seen(&t, 3));
}

Test(canned, oem_entry_without_iana_is_an_error)
{
	char err[256];

	cr_assert_eq(config("[entry x]\nnetfn = 0x2e\ncmd = 1\n"
	    "request = a2 02\n", err, sizeof(err)), -1);
	cr_assert(strstr(err, "entry x: netfn 0x2e needs the 3 IANA") !=
	    NULL, "%s", err);
	cr_assert(strncmp(err, "t.conf: at the end: ", 20) == 0, "%s", err);
}

Test(canned, entry_without_cmd_is_reported_at_the_next_section)
{
	char err[256];

	cr_assert_eq(config("[entry x]\nnetfn = 6\n[entry y]\nnetfn = 6\n"
	    "cmd = 1\n", err, sizeof(err)), -1);
	cr_assert_str_eq(err, "t.conf:4: entry x: needs netfn and cmd");
}

Test(canned, config_errors_name_file_and_line)
{
	char err[256];

	cr_assert_eq(config("[entry x]\nnetfn = 7\n", err, sizeof(err)), -1);
	cr_assert_str_eq(err,
	    "t.conf:2: netfn: expected an even number from 0 to 0x3e");
	cr_assert_eq(config("[entry x]\nresponse = 0g\n", err, sizeof(err)),
	    -1);
	cr_assert_str_eq(err,
	    "t.conf:2: response: expected hex bytes, as 01 0a ff");
	cr_assert_eq(config("[entry x]\nnetfn = 6\ncmd = 1\n[entry x]\n"
	    "netfn = 6\n", err, sizeof(err)), -1);
	cr_assert(strncmp(err, "t.conf:5: key given twice", 25) == 0, "%s",
	    err);
	cr_assert_eq(config("[entry x]\nnetfn = 6\ncmd = 1\n[entry y]\n"
	    "netfn = 6\ncmd = 2\n[entry x]\nnetfn = 6\n", err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "t.conf:8: entry name used twice");
	cr_assert_eq(config("[tables]\na = 1\n", err, sizeof(err)), -1);
	cr_assert(strncmp(err, "t.conf:2: unknown section [tables]", 34) ==
	    0, "%s", err);
	cr_assert_eq(config("[canned]\ndefault_route = maybe\n", err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "t.conf:2: default_route: expected yes or no");
	cr_assert_eq(config("[entry x]\ncolour = red\n", err, sizeof(err)),
	    -1);
	cr_assert(strncmp(err, "t.conf:2: unknown key in [entry]", 32) == 0,
	    "%s", err);
}

Test(canned, hex_parser_accepts_groups_and_refuses_odd_or_long)
{
	uint8_t b[4];

	cr_assert_eq(canned_parse_hex("0a 0B0c", b, 4), 3);
	cr_assert_eq(b[1], 0x0b);
	cr_assert_eq(canned_parse_hex("0x5", b, 4), 1);
	cr_assert_eq(b[0], 0x05);
	cr_assert_eq(canned_parse_hex("", b, 4), 0);
	cr_assert_eq(canned_parse_hex("abc", b, 4), -1);
	cr_assert_eq(canned_parse_hex("0102030405", b, 4), -1);
	cr_assert_eq(canned_parse_hex("01-02", b, 4), -1);
}

Test(canned, default_route_and_cc_are_read)
{
	char err[256];

	cr_assert_eq(config("[canned]\ndefault_route = yes\n", err,
	    sizeof(err)), 0, "%s", err);
	cr_assert(t.default_route);
	cr_assert_eq(t.default_cc, 0xc1, "default stays 0xc1");
	cr_assert_eq(t.count, 0);
}

Test(canned, shipped_config_is_valid)
{
	char path[512], err[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/conf/canned-handler.conf",
	    SRCDIR);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(canned_config_read(f, path, &t, err, sizeof(err)), 0,
	    "%s", err);
	fclose(f);
	cr_assert_gt(t.count, 0);
}
