/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of ipmi-fru-build: the description parser and the image
 * layout, checked byte by byte (header and area checksums, 8-byte area
 * lengths, type/length bytes, the 0xC1 end marker, the manufacturing
 * date), a decoder that walks the fields as ipmitool's fru print does,
 * and the committed example images against what the tool makes of the
 * committed descriptions (IPMI_SRCDIR).
 *
 * ipmi-fru-build.c is included so that its static functions are
 * reachable; its main() is renamed out of criterion's way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

int	frub_main(int, char **);
#define main frub_main
#include "ipmi-fru-build.c"
#undef main

static uint8_t	image[FRUB_IMAGE_MAX];
static size_t	image_len;

static int
describe(const char *text, struct frub_desc *d, char *err, size_t errlen)
{
	FILE	*f;
	int	 rv;

	f = fmemopen((void *)text, strlen(text), "r");
	cr_assert_not_null(f);
	rv = frub_desc_read(f, "d.ini", d, err, errlen);
	fclose(f);
	return rv;
}

/* Describe and build; the test fails on any error. */
static void
build(const char *text, size_t size)
{
	struct frub_desc	d;
	char			err[320];

	cr_assert_eq(describe(text, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(frub_build(&d, size, image, sizeof(image), &image_len,
	    err, sizeof(err)), 0, "%s", err);
}

static uint8_t
sum(const uint8_t *p, size_t n)
{
	uint8_t	s = 0;

	while (n-- > 0)
		s += *p++;
	return s;
}

/*
 * Walk an area's fields from byte first as ipmitool's get_fru_area_str()
 * does, into "a|b|c" up to the end marker. Returns the marker's offset.
 */
static size_t
fields(const uint8_t *area, size_t first, char *out, size_t len)
{
	size_t	i = first, n;

	*out = '\0';
	while (area[i] != FRUB_END) {
		cr_assert_eq(area[i] & 0xc0, 0xc0, "8-bit ASCII at %zu", i);
		n = area[i] & 0x3f;
		if (i != first)
			strncat(out, "|", len - strlen(out) - 1);
		strncat(out, (const char *)area + i + 1,
		    n < len - strlen(out) - 1 ? n : len - strlen(out) - 1);
		i += 1 + n;
	}
	return i;
}

TestSuite(fru_build, .timeout = 10);

Test(fru_build, header_points_at_the_areas_and_sums_to_zero)
{
	build("[chassis]\ntype = 0x17\npart_number = P1\n"
	    "[board]\nmanufacturer = ACME\n[product]\nproduct_name = Box\n",
	    0);
	cr_assert_eq(image[0], 0x01, "format version");
	cr_assert_eq(image[1], 0, "no internal use area");
	cr_assert_eq(image[2], 1, "chassis right after the header");
	cr_assert_gt(image[3], image[2]);
	cr_assert_gt(image[4], image[3]);
	cr_assert_eq(image[5], 0, "no multi-record area");
	cr_assert_eq(image[6], 0);
	cr_assert_eq(sum(image, 8), 0);
	cr_assert_eq(image_len, image[4] * 8 + image[image[4] * 8 + 1] * 8);
}

Test(fru_build, every_area_is_8_byte_multiple_ends_with_c1_and_sums_to_0)
{
	size_t	k, off, len, end;
	char	text[256];

	build("[chassis]\npart_number = P1\nserial_number = S1\n"
	    "[board]\nmanufacturer = ACME\nextra = x1\nextra = x2\n"
	    "[product]\nasset_tag = A-1\n", 0);
	for (k = 2; k <= 4; k++) {
		off = image[k] * 8;
		len = image[off + 1] * 8;
		cr_assert_eq(image[off], 0x01, "area version");
		cr_assert_gt(len, 0);
		cr_assert_leq(off + len, image_len);
		cr_assert_eq(sum(image + off, len), 0, "area %zu checksum", k);
		end = fields(image + off, k == 3 ? 6 : 3, text, sizeof(text));
		cr_assert_eq(image[off + end], 0xc1);
		while (++end < len - 1)
			cr_assert_eq(image[off + end], 0, "padding");
	}
}

Test(fru_build, board_area_matches_the_hand_computed_bytes)
{
	static const uint8_t want[] = {
		0x01, 0x03,		/* version, 3 x 8 bytes */
		0x00,			/* English */
		0x5a, 0x59, 0xe2,	/* 14834010 minutes after 1996 */
		0xc4, 'A', 'C', 'M', 'E',
		0xc2, 'B', '1',		/* product name */
		0xc0,			/* serial: empty */
		0xc0,			/* part number: empty */
		0xc0,			/* FRU file ID: empty */
		0xc1,			/* end */
		0x00, 0x00, 0x00, 0x00, 0x00,
		0x00,			/* checksum, set below */
	};
	uint8_t	w[sizeof(want)];

	/* 2024-03-15 09:30 UTC: 10301 days and 570 minutes after 1996. */
	build("[board]\nmfg_date = 2024-03-15 09:30\nmanufacturer = ACME\n"
	    "product_name = B1\n", 0);
	memcpy(w, want, sizeof(w));
	w[sizeof(w) - 1] = (uint8_t)-sum(w, sizeof(w) - 1);
	cr_assert_eq(image[3], 1);
	cr_assert_eq(image_len, 8 + sizeof(w));
	cr_assert_arr_eq(image + 8, w, sizeof(w));
}

Test(fru_build, product_fields_come_back_in_the_order_ipmitool_prints)
{
	char	text[512];

	build("[product]\nasset_tag = TAG\nmanufacturer = Maker\n"
	    "product_name = Name\npart_number = PN\nversion = V2\n"
	    "serial_number = SN\nfru_file_id = id\nextra = more\n", 0);
	fields(image + image[4] * 8, 3, text, sizeof(text));
	cr_assert_str_eq(text, "Maker|Name|PN|V2|SN|TAG|id|more");
}

Test(fru_build, chassis_type_names_and_numbers)
{
	build("[chassis]\ntype = Rack Mount Chassis\n", 0);
	cr_assert_eq(image[8 + 2], 0x17);
	build("[chassis]\ntype = 0x11\n", 0);
	cr_assert_eq(image[8 + 2], 0x11);
}

Test(fru_build, size_pads_with_zeros_and_refuses_too_small)
{
	struct frub_desc	d;
	char			err[320];
	size_t			i;

	build("[board]\nmanufacturer = ACME\n", 256);
	cr_assert_eq(image_len, 256);
	for (i = 8 + image[8 + 1] * 8; i < 256; i++)
		cr_assert_eq(image[i], 0);
	cr_assert_eq(describe("[board]\nmanufacturer = ACME\n", &d, err,
	    sizeof(err)), 0);
	cr_assert_eq(frub_build(&d, 16, image, sizeof(image), &image_len,
	    err, sizeof(err)), -1);
	cr_assert(strstr(err, "more than the 16") != NULL, "%s", err);
}

static void
refused(const char *text, const char *want)
{
	struct frub_desc	d;
	char			err[320];

	cr_assert_eq(describe(text, &d, err, sizeof(err)), -1, "%s", text);
	cr_assert(strstr(err, want) != NULL, "want \"%s\" in \"%s\"", want,
	    err);
}

Test(fru_build, description_errors_name_the_line)
{
	refused("[board]\nmanufacturer = A\n", "d.ini:2: a one-character");
	refused("[board]\nmanufacturer = "
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "\n", "d.ini:2: a field holds at most 63");
	refused("[board]\ncolour = red\n", "d.ini:2: unknown key");
	refused("[boards]\nmanufacturer = AB\n", "d.ini:2: unknown section");
	refused("[chassis]\nlanguage = 0\n", "d.ini:2: unknown key");
	refused("[board]\nmfg_date = 1995-12-31\n", "d.ini:2: mfg_date");
	refused("[board]\nmfg_date = 2024-02-30\n", "d.ini:2: mfg_date");
	refused("[chassis]\ntype = castle\n", "d.ini:2: type");
}

Test(fru_build, an_empty_description_is_a_bare_header)
{
	build("", 0);
	cr_assert_eq(image_len, 8);
	cr_assert_eq(image[0], 1);
	cr_assert_eq(image[7], 0xff, "-(1)");
}

/* The committed example images are what the tool makes. */
static void
example(const char *ini, const char *bin, size_t size)
{
	const char	*src = getenv("IPMI_SRCDIR");
	char		 path[512], text[4096];
	uint8_t		 want[1024];
	size_t		 n;
	FILE		*f;

	cr_assert_not_null(src, "IPMI_SRCDIR is not set");
	snprintf(path, sizeof(path), "%s/conf/sdr-fru/%s", src, ini);
	cr_assert_not_null(f = fopen(path, "r"), "%s", path);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	build(text, size);
	snprintf(path, sizeof(path), "%s/conf/sdr-fru/%s", src, bin);
	cr_assert_not_null(f = fopen(path, "r"), "%s", path);
	n = fread(want, 1, sizeof(want), f);
	fclose(f);
	cr_assert_eq(n, image_len, "%s: %zu bytes, built %zu", bin, n,
	    image_len);
	cr_assert_arr_eq(image, want, n, "%s differs: rebuild it", bin);
}

Test(fru_build, committed_example_images_match_their_descriptions)
{
	example("fru0.ini", "fru0.bin", 0);
	example("fru1.ini", "fru1.bin", 256);
}
