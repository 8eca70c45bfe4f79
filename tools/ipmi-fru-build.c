/* SPDX-License-Identifier: MIT */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <ini.h>

/*
 * ipmi-fru-build: a FRU inventory image from a readable description.
 *
 *   ipmi-fru-build [-s SIZE] DESCRIPTION.ini OUTPUT.bin
 *
 * The description is an ini file with up to three sections, [chassis],
 * [board] and [product], whose keys are the fields of the areas of the
 * IPMI Platform Management FRU Information Storage Definition v1.0: the
 * chassis type and part/serial numbers; the board's manufacturing date,
 * manufacturer, name, serial and part numbers; the product's
 * manufacturer, name, part number, version, serial number and asset tag;
 * and any number of `extra` (custom) fields. conf/sdr-fru/fru0.ini shows
 * them all.
 *
 * The image is the 8-byte common header, then the chassis, board and
 * product areas present, each a multiple of 8 bytes: format version 1,
 * its length in 8-byte units, the fixed bytes, each field as a type/length
 * byte (0xC0 | length: 8-bit ASCII) and its bytes, the 0xC1 end marker,
 * zero padding, and a checksum byte that makes the area sum to 0 (mod
 * 256). -s pads the image with zeros to SIZE bytes, room a writable FRU
 * device keeps for later writes. The ipmi-handler-sdr-fru handler serves
 * such a file as a FRU device.
 *
 * The description is the engineer's own file, but it is still checked:
 * every error names the file and line, and nothing is written then.
 */

#define FRUB_VERSION		0x01	/* format version of header, areas */
#define FRUB_END		0xc1	/* type/length: no more fields */
#define FRUB_ASCII8		0xc0	/* type/length: 8-bit ASCII + Latin 1 */
#define FRUB_FIELD_MAX		63	/* a 6-bit length */
#define FRUB_FIXED_MAX		7	/* the product area has 7 fields */
#define FRUB_EXTRA_MAX		16
#define FRUB_AREA_MAX		(255 * 8)
#define FRUB_IMAGE_MAX		65535
#define FRUB_HEADER_LEN		8

/* Minutes from the Unix epoch to 1996-01-01 00:00 UTC, the FRU epoch. */
#define FRUB_EPOCH_1996		(820454400 / 60)

enum frub_kind { FRUB_CHASSIS, FRUB_BOARD, FRUB_PRODUCT, FRUB_NKINDS };

/* One area as described: its fixed byte(s) and its fields. */
struct frub_area {
	bool		present;
	uint8_t		code;		/* chassis type, or language */
	uint32_t	mfg_minutes;	/* board only: since 1996 */
	char		fixed[FRUB_FIXED_MAX][FRUB_FIELD_MAX + 1];
	char		extra[FRUB_EXTRA_MAX][FRUB_FIELD_MAX + 1];
	size_t		nextra;
};

struct frub_desc {
	struct frub_area area[FRUB_NKINDS];
};

/* Each area's section name and fixed fields, in the order they are laid. */
static const struct frub_layout {
	const char	*section;
	const char	*fixed[FRUB_FIXED_MAX + 1];
} frub_layouts[FRUB_NKINDS] = {
	[FRUB_CHASSIS] = { "chassis",
	    { "part_number", "serial_number", NULL } },
	[FRUB_BOARD] = { "board",
	    { "manufacturer", "product_name", "serial_number", "part_number",
	    "fru_file_id", NULL } },
	[FRUB_PRODUCT] = { "product",
	    { "manufacturer", "product_name", "part_number", "version",
	    "serial_number", "asset_tag", "fru_file_id", NULL } },
};

/* SMBIOS chassis types (FRU spec: chassis type byte), common ones. */
static const struct frub_name {
	const char	*name;
	uint8_t		 value;
} frub_chassis_types[] = {
	{ "other", 0x01 }, { "unknown", 0x02 }, { "desktop", 0x03 },
	{ "tower", 0x07 }, { "main server chassis", 0x11 },
	{ "rack mount chassis", 0x17 }, { "blade", 0x1c },
	{ NULL, 0 }
};

static void	frub_usage(void) __attribute__((noreturn));
static int	frub_desc_read(FILE *, const char *, struct frub_desc *,
		    char *, size_t);
static int	frub_desc_set(void *, const char *, const char *,
		    const char *);
static const char *frub_area_key(struct frub_area *, enum frub_kind,
		    const char *, const char *);
static const char *frub_field(char *, const char *);
static int	frub_parse_number(const char *, unsigned long,
		    unsigned long *);
static int	frub_parse_date(const char *, uint32_t *);
static int	frub_build(const struct frub_desc *, size_t, uint8_t *,
		    size_t, size_t *, char *, size_t);
static size_t	frub_area(const struct frub_area *, enum frub_kind,
		    uint8_t *);
static uint8_t	frub_checksum(const uint8_t *, size_t);
static int	frub_write(const char *, const uint8_t *, size_t);

int
main(int argc, char **argv)
{
	static uint8_t		 image[FRUB_IMAGE_MAX];
	struct frub_desc	 desc;
	unsigned long		 size = 0;
	size_t			 len;
	char			 err[320];
	FILE			*f;
	int			 ch, rv;

	while ((ch = getopt(argc, argv, "s:h")) != -1) {
		switch (ch) {
		case 's':
			if (frub_parse_number(optarg, FRUB_IMAGE_MAX,
			    &size) != 0 || size < FRUB_HEADER_LEN) {
				fprintf(stderr, "ipmi-fru-build: -s: a size "
				    "from 8 to 65535 bytes\n");
				return 1;
			}
			break;
		default:
			frub_usage();
		}
	}
	if (argc - optind != 2)
		frub_usage();

	if ((f = fopen(argv[optind], "r")) == NULL) {
		fprintf(stderr, "%s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	rv = frub_desc_read(f, argv[optind], &desc, err, sizeof(err));
	fclose(f);
	if (rv == 0)
		rv = frub_build(&desc, size, image, sizeof(image), &len, err,
		    sizeof(err));
	if (rv != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (frub_write(argv[optind + 1], image, len) != 0)
		return 1;
	return 0;
}

static void
frub_usage(void)
{
	fprintf(stderr, "usage: ipmi-fru-build [-s size] description.ini "
	    "output.bin\n");
	exit(1);
}

/* The parser's state and the first error it met. */
struct frub_ctx {
	struct frub_desc	*desc;
	const char		*error;
};

/*
 * Read a description. Returns 0, or -1 with "path:line: what" in err.
 * An empty section still makes its area (with empty fields).
 */
static int
frub_desc_read(FILE *f, const char *path, struct frub_desc *desc, char *err,
    size_t errlen)
{
	struct frub_ctx	ctx;
	int		line;

	memset(desc, 0, sizeof(*desc));
	memset(&ctx, 0, sizeof(ctx));
	ctx.desc = desc;
	line = ini_parse_file(f, frub_desc_set, &ctx);
	if (line == 0)
		return 0;
	if (line < 0)
		snprintf(err, errlen, "%s: cannot read the file", path);
	else
		snprintf(err, errlen, "%s:%d: %s", path, line,
		    ctx.error != NULL ? ctx.error : "syntax error");
	return -1;
}

/* inih callback: returns 1 to go on, 0 for an error at this line. */
static int
frub_desc_set(void *arg, const char *section, const char *name,
    const char *value)
{
	struct frub_ctx	*ctx = arg;
	const char	*error = "unknown section: expected [chassis], [board] "
			    "or [product]";
	int		 k;

	for (k = 0; k < FRUB_NKINDS; k++) {
		if (strcmp(section, frub_layouts[k].section) != 0)
			continue;
		ctx->desc->area[k].present = true;
		error = frub_area_key(&ctx->desc->area[k], k, name, value);
		break;
	}
	if (error == NULL)
		return 1;
	if (ctx->error == NULL)
		ctx->error = error;
	return 0;
}

/* One key of an area. Returns NULL, or what is wrong with it. */
static const char *
frub_area_key(struct frub_area *a, enum frub_kind kind, const char *name,
    const char *value)
{
	const struct frub_name	*t;
	unsigned long		 n;
	size_t			 i;

	for (i = 0; frub_layouts[kind].fixed[i] != NULL; i++)
		if (strcmp(name, frub_layouts[kind].fixed[i]) == 0)
			return frub_field(a->fixed[i], value);
	if (strcmp(name, "extra") == 0) {
		if (a->nextra == FRUB_EXTRA_MAX)
			return "extra: at most 16 per area";
		return frub_field(a->extra[a->nextra++], value);
	}
	if (kind == FRUB_CHASSIS && strcmp(name, "type") == 0) {
		for (t = frub_chassis_types; t->name != NULL; t++) {
			if (strcasecmp(value, t->name) == 0) {
				a->code = t->value;
				return NULL;
			}
		}
		if (frub_parse_number(value, 0xff, &n) != 0)
			return "type: a chassis type (rack mount chassis, "
			    "tower, ...) or a number to 0xff";
		a->code = n;
		return NULL;
	}
	if (kind != FRUB_CHASSIS && strcmp(name, "language") == 0) {
		if (frub_parse_number(value, 0xff, &n) != 0)
			return "language: a language code, 0 for English";
		a->code = n;
		return NULL;
	}
	if (kind == FRUB_BOARD && strcmp(name, "mfg_date") == 0) {
		if (frub_parse_date(value, &a->mfg_minutes) != 0)
			return "mfg_date: YYYY-MM-DD HH:MM (UTC), from "
			    "1996-01-01 on";
		return NULL;
	}
	return "unknown key in this section";
}

/*
 * A field's text: 0 to 63 bytes. One byte cannot be written as 8-bit
 * ASCII: its type/length byte would be 0xC1, the end marker.
 */
static const char *
frub_field(char *out, const char *value)
{
	size_t	len = strlen(value);

	if (len > FRUB_FIELD_MAX)
		return "a field holds at most 63 bytes";
	if (len == 1)
		return "a one-character field reads as the end marker 0xC1: "
		    "write two characters";
	memcpy(out, value, len + 1);
	return NULL;
}

/* A decimal or 0x-hex number no larger than max. */
static int
frub_parse_number(const char *s, unsigned long max, unsigned long *out)
{
	char	*end;
	int	 base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		base = 16;
	}
	if (*s == '\0' || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	*out = strtoul(s, &end, base);
	if (errno != 0 || *end != '\0' || *out > max)
		return -1;
	return 0;
}

/* "YYYY-MM-DD" or "YYYY-MM-DD HH:MM", UTC, to minutes since 1996. */
static int
frub_parse_date(const char *s, uint32_t *minutes)
{
	struct tm	tm, check;
	time_t		t;
	char		tail;
	int		n;

	memset(&tm, 0, sizeof(tm));
	n = sscanf(s, "%4d-%2d-%2d %2d:%2d%c", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tail);
	if (n != 3 && n != 5)
		return -1;
	if (n == 3 && strlen(s) != 10)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	check = tm;
	if ((t = timegm(&tm)) == -1 || tm.tm_mday != check.tm_mday ||
	    tm.tm_mon != check.tm_mon || tm.tm_hour != check.tm_hour ||
	    tm.tm_min != check.tm_min)
		return -1;
	if (t / 60 < FRUB_EPOCH_1996 || t / 60 - FRUB_EPOCH_1996 > 0xffffff)
		return -1;
	*minutes = t / 60 - FRUB_EPOCH_1996;
	return 0;
}

/*
 * Lay out the image: header, then the chassis, board and product areas
 * present, then zeros up to size (0: no padding). Returns 0 with *len, or
 * -1 with the reason in err.
 */
static int
frub_build(const struct frub_desc *d, size_t size, uint8_t *out,
    size_t max, size_t *len, char *err, size_t errlen)
{
	uint8_t	area[FRUB_AREA_MAX + 64];
	size_t	off = FRUB_HEADER_LEN, n;
	int	k;

	memset(out, 0, FRUB_HEADER_LEN);
	out[0] = FRUB_VERSION;
	for (k = 0; k < FRUB_NKINDS; k++) {
		if (!d->area[k].present)
			continue;
		n = frub_area(&d->area[k], k, area);
		if (n > FRUB_AREA_MAX) {
			snprintf(err, errlen, "[%s]: the area would be %zu "
			    "bytes, more than %d", frub_layouts[k].section,
			    n, FRUB_AREA_MAX);
			return -1;
		}
		out[2 + k] = off / 8;	/* chassis, board, product offsets */
		memcpy(out + off, area, n);
		off += n;
	}
	out[FRUB_HEADER_LEN - 1] = frub_checksum(out, FRUB_HEADER_LEN - 1);
	if (size != 0 && off > size) {
		snprintf(err, errlen, "the image is %zu bytes, more than the "
		    "%zu asked for", off, size);
		return -1;
	}
	if (size > max) {
		snprintf(err, errlen, "size %zu is more than %zu", size, max);
		return -1;
	}
	if (size > off) {
		memset(out + off, 0, size - off);
		off = size;
	}
	*len = off;
	return 0;
}

/* One area into out; returns its length, a multiple of 8. */
static size_t
frub_area(const struct frub_area *a, enum frub_kind kind, uint8_t *out)
{
	const char	*text;
	size_t		 len = 0, i, n;

	out[len++] = FRUB_VERSION;
	out[len++] = 0;			/* the length, once known */
	out[len++] = a->code;		/* chassis type, or language */
	if (kind == FRUB_BOARD) {
		out[len++] = a->mfg_minutes & 0xff;
		out[len++] = (a->mfg_minutes >> 8) & 0xff;
		out[len++] = (a->mfg_minutes >> 16) & 0xff;
	}
	for (i = 0; frub_layouts[kind].fixed[i] != NULL; i++) {
		text = a->fixed[i];
		n = strlen(text);
		out[len++] = FRUB_ASCII8 | n;
		memcpy(out + len, text, n);
		len += n;
	}
	for (i = 0; i < a->nextra; i++) {
		text = a->extra[i];
		n = strlen(text);
		out[len++] = FRUB_ASCII8 | n;
		memcpy(out + len, text, n);
		len += n;
	}
	out[len++] = FRUB_END;
	while ((len + 1) % 8 != 0)
		out[len++] = 0x00;
	out[1] = (len + 1) / 8;
	out[len] = frub_checksum(out, len);
	return len + 1;
}

/* The byte that makes the n bytes and itself sum to 0 (mod 256). */
static uint8_t
frub_checksum(const uint8_t *p, size_t n)
{
	uint8_t	sum = 0;

	while (n-- > 0)
		sum += *p++;
	return (uint8_t)-sum;
}

/* Write the image, replacing path only once it is complete. */
static int
frub_write(const char *path, const uint8_t *image, size_t len)
{
	char	tmp[4096];
	FILE	*f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		fprintf(stderr, "%s: path too long\n", path);
		return -1;
	}
	if ((f = fopen(tmp, "wb")) == NULL) {
		fprintf(stderr, "%s: %s\n", tmp, strerror(errno));
		return -1;
	}
	if (fwrite(image, 1, len, f) != len || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0) {
		fprintf(stderr, "%s: %s\n", tmp, strerror(errno));
		fclose(f);
		unlink(tmp);
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
