/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the SDR/FRU handler: record compilation from the config
 * (exact bytes against hand-computed records), every command's parsing
 * and errors, the reservation rules, partial SDR reads the way ipmitool
 * does them, FRU read/write bounds and persistence, and the sensor cache
 * fed by files and by real commands through the handler's own machinery.
 *
 * sdr-fru.c is included so that its static functions are reachable; its
 * main() is renamed out of criterion's way. Requests are built by hand as
 * the library would hand them over; no broker is involved. Each test gets
 * a private directory for the config's data files.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

int	sf_main(int, char **);
#define main sf_main
#include "sdr-fru.c"
#undef main

static struct sf_state	st;
static uint8_t		rsp[SF_RSP_MAX];
static size_t		rsp_len;
static char		dir[64];
static char		cpath[128];

/* A request on the system interface of a bus that carries 64 bytes. */
static struct ipmic_request
request(uint8_t netfn, uint8_t cmd, const uint8_t *data, size_t len)
{
	struct ipmic_request r;

	memset(&r, 0, sizeof(r));
	r.netfn = netfn;
	r.cmd = cmd;
	r.channel = 0x0f;
	r.data = data;
	r.len = len;
	snprintf(r.facts.bus, sizeof(r.facts.bus), "kcs0");
	r.facts.max_request = 64;
	r.facts.max_response = 64;
	return r;
}

static uint8_t
run(uint8_t netfn, uint8_t cmd, const uint8_t *data, size_t len)
{
	struct ipmic_request r = request(netfn, cmd, data, len);

	memset(rsp, 0xee, sizeof(rsp));
	return sf_handle(&st, &r, rsp, &rsp_len);
}

static void
put(const char *name, const void *data, size_t len)
{
	char	 path[192];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cr_assert_not_null(f = fopen(path, "w"), "%s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* Parse an in-memory config as if it were dir/t.conf. */
static int
config(const char *text, char *err, size_t errlen)
{
	FILE	*f;
	int	 rv;

	sf_state_free(&st);
	memset(&st, 0, sizeof(st));
	st.timer_fd = st.signal_fd = -1;
	f = fmemopen((void *)text, strlen(text), "r");
	cr_assert_not_null(f);
	rv = sf_config_read(f, cpath, &st, err, errlen);
	fclose(f);
	return rv;
}

/* Parse, compile and open: what main() does before connecting. */
static void
load(const char *text)
{
	char	err[320];

	cr_assert_eq(config(text, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(sf_records_build(&st), 0);
	cr_assert_eq(sf_frus_open(&st), 0);
}

/* The config most tests use: a controller, two sensors, two FRUs. */
static const char base_conf[] =
    "[mc]\n"
    "name = BMC\n"
    "device_support = 0x0b\n"
    "[sensor CPU Temp]\n"
    "number = 1\n"
    "type = temperature\n"
    "entity = 3.1\n"
    "units = degrees C\n"
    "file = cpu\n"
    "scale = 0.001\n"
    "unc = 80\n"
    "ucr = 90\n"
    "unr = 100\n"
    "lnc = 5\n"
    "hysteresis = 2\n"
    "[sensor 12V]\n"
    "number = 2\n"
    "type = voltage\n"
    "entity = 7.1\n"
    "units = volts\n"
    "r_exp = -1\n"
    "file = /nonexistent/p12v\n"
    "nominal = 12\n"
    "lcr = 10.8\n"
    "ucr = 13.2\n"
    "[fru 0]\n"
    "file = fru0.bin\n"
    "[fru 3]\n"
    "name = PSU FRU\n"
    "entity = 10.1\n"
    "file = fru3.bin\n"
    "writable = yes\n";

static void
setup(void)
{
	uint8_t	image[64];
	size_t	i;

	snprintf(dir, sizeof(dir), "/tmp/test-sdr-fru.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(cpath, sizeof(cpath), "%s/t.conf", dir);
	for (i = 0; i < sizeof(image); i++)
		image[i] = i;
	put("fru0.bin", image, 16);
	put("fru3.bin", image, sizeof(image));
	put("cpu", "45000\n", 6);
	memset(&st, 0, sizeof(st));
	st.timer_fd = st.signal_fd = -1;
	load(base_conf);
}

static void
teardown(void)
{
	char	cmd[128];

	sf_state_free(&st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

TestSuite(sdr_fru, .init = setup, .fini = teardown, .timeout = 10);

/* ---- records from the config ---- */

Test(sdr_fru, full_sensor_record_matches_the_hand_computed_bytes)
{
	static const uint8_t want[] = {
		0x02, 0x00, 0x51, 0x01, 43 + 8,	/* id 2, v1.5, full, len */
		0x20, 0x00, 0x01,		/* owner BMC, LUN 0, sensor 1 */
		0x03, 0x01,			/* processor 1 */
		0x59,		/* init: scanning, thresholds, hysteresis,
				 * scanning enabled */
		0x57,		/* auto re-arm, hysteresis and thresholds
				 * readable, no events */
		0x01, 0x01,			/* temperature, threshold */
		0x00, 0x10,			/* no events; lnc returned */
		0x00, 0x70,			/* unc ucr unr returned */
		0x39, 0x00,			/* readable lnc unc ucr unr */
		0x00, 0x01, 0x00,		/* unsigned, degrees C */
		0x00,				/* linear */
		0x01, 0x00,			/* M = 1, tolerance 0 */
		0x00, 0x00,			/* B = 0, accuracy 0 */
		0x00,				/* accuracy, direction */
		0x00,				/* Rexp 0, Bexp 0 */
		0x00, 0x00, 0x00, 0x00,		/* no nominal/normal */
		0xff, 0x00,			/* range unspecified */
		100, 90, 80,			/* unr ucr unc */
		0, 0, 5,			/* lnr lcr lnc */
		2, 2,				/* hysteresis +/- */
		0x00, 0x00, 0x00,		/* reserved, OEM */
		0xc8, 'C', 'P', 'U', ' ', 'T', 'e', 'm', 'p',
	};

	cr_assert_eq(st.records[1].len, sizeof(want), "len %u",
	    st.records[1].len);
	cr_assert_arr_eq(st.records[1].data, want, sizeof(want));
}

Test(sdr_fru, scaled_sensor_record_carries_exponent_and_nominal)
{
	const uint8_t *r = st.records[2].data;

	cr_assert_eq(r[29], 0xf0, "Rexp -1: 0x%02x", r[29]);
	cr_assert_eq(r[30], 0x01, "nominal given");
	cr_assert_eq(r[31], 120, "nominal 12 V: %u", r[31]);
	cr_assert_eq(r[36], 0, "unr unset");
	cr_assert_eq(r[37], 132, "ucr 13.2 V: %u", r[37]);
	cr_assert_eq(r[40], 108, "lcr 10.8 V: %u", r[40]);
	cr_assert_eq(r[18], 0x12, "readable lcr ucr: 0x%02x", r[18]);
}

Test(sdr_fru, signed_sensor_converts_below_zero_and_marks_its_range)
{
	struct sdr_sensor	s;
	uint8_t			raw, rec[SDR_RECORD_MAX];

	memset(&s, 0, sizeof(s));
	s.m = 1;
	s.is_signed = true;
	snprintf(s.name, sizeof(s.name), "Inlet");
	cr_assert(!sdr_to_raw(&s, -5, &raw));
	cr_assert_eq(raw, 0xfb);
	cr_assert_float_eq(sdr_from_raw(&s, 0xfb), -5.0, 1e-9);
	cr_assert(sdr_to_raw(&s, -300, &raw), "clamped");
	cr_assert_eq(raw, 0x80);
	sdr_build_full(&s, 7, rec);
	cr_assert_eq(rec[20], 0x80, "2's complement format");
	cr_assert_eq(rec[34], 0x7f);
	cr_assert_eq(rec[35], 0x80);
}

Test(sdr_fru, conversion_rounds_to_the_nearest_count_and_clamps)
{
	struct sdr_sensor	s;
	uint8_t			raw;

	memset(&s, 0, sizeof(s));
	s.m = 1;
	s.r_exp = -1;
	sdr_to_raw(&s, 12.06, &raw);
	cr_assert_eq(raw, 121);
	sdr_to_raw(&s, 12.04, &raw);
	cr_assert_eq(raw, 120);
	cr_assert(sdr_to_raw(&s, 99, &raw));
	cr_assert_eq(raw, 255);
	s.m = 100;
	s.r_exp = 0;
	sdr_to_raw(&s, 4200, &raw);
	cr_assert_eq(raw, 42);
	s.m = 2;
	s.b = 10;
	s.b_exp = 1;			/* y = 2x + 100 */
	sdr_to_raw(&s, 150, &raw);
	cr_assert_eq(raw, 25);
	cr_assert_float_eq(sdr_from_raw(&s, 25), 150.0, 1e-9);
}

Test(sdr_fru, mc_locator_record_matches_the_hand_computed_bytes)
{
	static const uint8_t want[] = {
		0x01, 0x00, 0x51, 0x12, 11 + 3,
		0x20, 0x00,			/* address, channel 0 */
		0x20,				/* static controller */
		0x0b,				/* sensor, SDR, FRU */
		0x00, 0x00, 0x00,
		0x06, 0x01,			/* management module 1 */
		0x00,				/* OEM */
		0xc3, 'B', 'M', 'C',
	};

	cr_assert_eq(st.records[0].len, sizeof(want));
	cr_assert_arr_eq(st.records[0].data, want, sizeof(want));
}

Test(sdr_fru, fru_locator_exists_for_devices_other_than_0)
{
	static const uint8_t want[] = {
		0x04, 0x00, 0x51, 0x11, 11 + 7,
		0x20, 0x03,			/* BMC, device 3 */
		0x80, 0x00, 0x00,		/* logical, LUN 0, channel 0 */
		0x10, 0x00,			/* FRU inventory behind MC */
		0x0a, 0x01,			/* power supply 1 */
		0x00,
		0xc7, 'P', 'S', 'U', ' ', 'F', 'R', 'U',
	};

	cr_assert_eq(st.nrecords, 4, "mc, 2 sensors, 1 locator");
	cr_assert_eq(st.records[3].len, sizeof(want));
	cr_assert_arr_eq(st.records[3].data, want, sizeof(want));
}

Test(sdr_fru, relative_paths_are_relative_to_the_config_file)
{
	char	want[192];

	snprintf(want, sizeof(want), "%s/cpu", dir);
	cr_assert_str_eq(st.sensors[0].file, want);
	cr_assert_str_eq(st.sensors[1].file, "/nonexistent/p12v");
}

/* ---- config errors ---- */

static void
config_error(const char *text, const char *want)
{
	char	err[320];

	cr_assert_eq(config(text, err, sizeof(err)), -1, "accepted: %s",
	    text);
	cr_assert(strstr(err, want) != NULL, "want \"%s\" in \"%s\"", want,
	    err);
}

Test(sdr_fru, config_errors_name_the_line_or_the_section)
{
	config_error("[sensor A]\nnumber = 1\nfile = x\ncolour = red\n",
	    "t.conf:4: unknown key in [sensor NAME]");
	config_error("[sensors]\nnumber = 1\n", "t.conf:2: unknown section");
	config_error("[sensor A]\nnumber = 255\n", "t.conf:2: number");
	config_error("[sensor A]\nfile = x\n", "[sensor A]: no number");
	config_error("[sensor A]\nnumber = 1\n", "no file or command");
	config_error("[sensor A]\nnumber = 1\nfile = x\n"
	    "[sensor B]\nnumber = 1\nfile = y\n", "[sensor B]: its number");
	config_error("[sensor A]\nnumber = 1\nfile = x\ncommand = y\n",
	    "t.conf:4: command: the sensor already has a source");
	config_error("[sensor A]\nm = 0\n", "t.conf:2: m:");
	config_error("[sensor 12345678901234567]\nnumber = 1\n",
	    "t.conf:2: [sensor NAME]");
	config_error("[fru 1]\nname = x\n", "[fru 1]: no file");
	config_error("[fru 255]\nfile = x\n", "[fru ID]");
	config_error("[sensor A]\nnumber = 1\nentity = 3\n", "entity");
	config_error("[mc]\nname = BMC\n", "nothing to serve");
}

Test(sdr_fru, missing_fru_image_stops_the_start)
{
	char	err[320];

	cr_assert_eq(config("[fru 2]\nfile = nothing.bin\n", err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(sf_frus_open(&st), -1);
}

/* ---- lengths ---- */

Test(sdr_fru, every_command_refuses_one_byte_too_many_and_too_few)
{
	static const uint8_t data[300];
	size_t i;

	for (i = 0; i < SF_NCMDS; i++) {
		cr_expect_eq(run(sf_cmds[i].netfn, sf_cmds[i].cmd, data,
		    sf_cmds[i].max_len + 1), IPMI_CC_BAD_LENGTH, "0x%02x",
		    sf_cmds[i].cmd);
		if (sf_cmds[i].min_len > 0)
			cr_expect_eq(run(sf_cmds[i].netfn, sf_cmds[i].cmd,
			    data, sf_cmds[i].min_len - 1), IPMI_CC_BAD_LENGTH,
			    "0x%02x", sf_cmds[i].cmd);
		cr_expect_eq(rsp_len, 0);
	}
}

Test(sdr_fru, unknown_command_is_invalid_command)
{
	cr_assert_eq(run(SF_NETFN_STORAGE, 0x40, NULL, 0),
	    IPMI_CC_INVALID_CMD);
	cr_assert_eq(run(SF_NETFN_SENSOR, SF_GET_SDR, NULL, 0),
	    IPMI_CC_INVALID_CMD, "Get SDR is a Storage command");
}

/* ---- SDR repository ---- */

Test(sdr_fru, repository_info_counts_records_and_supports_reserve)
{
	cr_assert_eq(run(SF_NETFN_STORAGE, SF_GET_SDR_INFO, NULL, 0),
	    IPMI_CC_OK);
	cr_assert_eq(rsp_len, 14);
	cr_assert_eq(rsp[0], 0x51);
	cr_assert_eq(rsp[1] | rsp[2] << 8, 4);
	cr_assert_eq(rsp[3] | rsp[4] << 8, 0, "read-only: full");
	cr_assert_eq(rsp[13], 0x03);
}

Test(sdr_fru, allocation_info_has_one_unit_per_record)
{
	static const uint8_t want[] = { 4, 0, 64, 0, 0, 0, 0, 0, 1 };

	cr_assert_eq(run(SF_NETFN_STORAGE, SF_GET_SDR_ALLOC, NULL, 0),
	    IPMI_CC_OK);
	cr_assert_eq(rsp_len, sizeof(want));
	cr_assert_arr_eq(rsp, want, sizeof(want));
}

static uint16_t
reserve(void)
{
	cr_assert_eq(run(SF_NETFN_STORAGE, SF_RESERVE_SDR, NULL, 0),
	    IPMI_CC_OK);
	cr_assert_eq(rsp_len, 2);
	return rsp[0] | rsp[1] << 8;
}

static uint8_t
get_sdr(uint16_t resv, uint16_t id, uint8_t off, uint8_t count)
{
	uint8_t	d[6] = { resv & 0xff, resv >> 8, id & 0xff, id >> 8, off,
		    count };

	return run(SF_NETFN_STORAGE, SF_GET_SDR, d, sizeof(d));
}

Test(sdr_fru, reserve_gives_a_new_nonzero_id_each_time)
{
	uint16_t	a = reserve(), b = reserve();

	cr_assert_neq(a, 0);
	cr_assert_neq(b, 0);
	cr_assert_neq(a, b);
	st.reservation = 0xffff;
	cr_assert_eq(reserve(), 1, "wraps past 0");
}

Test(sdr_fru, a_cancelled_reservation_gets_c5)
{
	uint16_t	old = reserve();

	reserve();
	cr_assert_eq(get_sdr(old, 1, 5, 4), IPMI_CC_RESERVATION);
	cr_assert_eq(get_sdr(old, 1, 0, 5), IPMI_CC_RESERVATION);
	cr_assert_eq(rsp_len, 0);
}

Test(sdr_fru, reservation_0_reads_from_offset_0_only)
{
	cr_assert_eq(get_sdr(0, 0, 0, 0xff), IPMI_CC_OK);
	cr_assert_eq(get_sdr(0, 1, 5, 4), IPMI_CC_RESERVATION);
}

Test(sdr_fru, record_0_is_the_first_and_ffff_the_last)
{
	cr_assert_eq(get_sdr(0, 0, 0, 0xff), IPMI_CC_OK);
	cr_assert_eq(rsp[0] | rsp[1] << 8, 2, "next after the first");
	cr_assert_eq(rsp_len, 2 + st.records[0].len);
	cr_assert_arr_eq(rsp + 2, st.records[0].data, st.records[0].len);
	cr_assert_eq(get_sdr(0, 0xffff, 0, 0xff), IPMI_CC_OK);
	cr_assert_eq(rsp[0] | rsp[1] << 8, 0xffff, "no next");
	cr_assert_eq(rsp[2] | rsp[3] << 8, 4, "the last record's id");
}

Test(sdr_fru, a_missing_record_gets_cb)
{
	cr_assert_eq(get_sdr(0, 5, 0, 5), IPMI_CC_NOT_PRESENT);
	cr_assert_eq(get_sdr(0, 0xfffe, 0, 5), IPMI_CC_NOT_PRESENT);
}

Test(sdr_fru, an_offset_past_the_record_gets_c9)
{
	uint16_t	r = reserve();

	cr_assert_eq(get_sdr(r, 1, st.records[0].len, 1),
	    IPMI_CC_OUT_OF_RANGE);
	cr_assert_eq(get_sdr(r, 1, st.records[0].len - 1, 1), IPMI_CC_OK);
}

Test(sdr_fru, a_count_past_the_end_is_cut_short)
{
	uint16_t	r = reserve();
	size_t		len = st.records[1].len;

	cr_assert_eq(get_sdr(r, 2, len - 3, 20), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 2 + 3);
	cr_assert_arr_eq(rsp + 2, st.records[1].data + len - 3, 3);
}

Test(sdr_fru, more_than_the_bus_carries_gets_ca)
{
	struct ipmic_request	r;
	uint8_t			d[6] = { 0, 0, 2, 0, 0, 0xff };

	r = request(SF_NETFN_STORAGE, SF_GET_SDR, d, sizeof(d));
	r.facts.max_response = 20;
	cr_assert_eq(sf_handle(&st, &r, rsp, &rsp_len),
	    IPMI_CC_TOO_MANY_BYTES);
	d[5] = 18;
	r = request(SF_NETFN_STORAGE, SF_GET_SDR, d, sizeof(d));
	r.facts.max_response = 20;
	cr_assert_eq(sf_handle(&st, &r, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 20);
}

/*
 * As ipmitool does: reserve, read each record's 5-byte header, then its
 * body in chunks of what the bus carries, following next ids to 0xFFFF.
 * The chunks of 7 do not divide the bodies, so each record ends with a
 * short one.
 */
Test(sdr_fru, a_chunked_walk_reads_every_record_byte_for_byte)
{
	uint8_t		rec[SDR_RECORD_MAX];
	uint16_t	resv = reserve(), id = 0, next;
	size_t		n = 0, off, len, chunk;

	do {
		cr_assert_eq(get_sdr(resv, id, 0, SDR_HEADER_LEN), IPMI_CC_OK,
		    "header of %u", id);
		next = rsp[0] | rsp[1] << 8;
		memcpy(rec, rsp + 2, SDR_HEADER_LEN);
		len = SDR_HEADER_LEN + rec[4];
		for (off = SDR_HEADER_LEN; off < len; off += chunk) {
			chunk = len - off < 7 ? len - off : 7;
			cr_assert_eq(get_sdr(resv, rec[0] | rec[1] << 8, off,
			    chunk), IPMI_CC_OK, "record %u at %zu", id, off);
			cr_assert_eq(rsp_len, 2 + chunk);
			memcpy(rec + off, rsp + 2, chunk);
		}
		cr_assert_lt(n, st.nrecords);
		cr_assert_eq(len, st.records[n].len);
		cr_assert_arr_eq(rec, st.records[n].data, len);
		n++;
		id = next;
	} while (id != 0xffff);
	cr_assert_eq(n, st.nrecords);
}

/* ---- sensors ---- */

static uint8_t
sensor_cmd(uint8_t cmd, uint8_t number)
{
	uint8_t	d[2] = { number, 0xff };

	return run(SF_NETFN_SENSOR, cmd, d,
	    cmd == SF_GET_HYSTERESIS ? 2 : 1);
}

Test(sdr_fru, a_file_reading_is_scaled_to_the_raw_byte)
{
	static const uint8_t want[] = { 45, 0x40, 0x00 };

	sf_sensor_read_file(&st.sensors[0]);
	cr_assert_eq(sensor_cmd(SF_GET_READING, 1), IPMI_CC_OK);
	cr_assert_eq(rsp_len, sizeof(want));
	cr_assert_arr_eq(rsp, want, sizeof(want));
}

Test(sdr_fru, a_reading_at_thresholds_sets_their_comparison_bits)
{
	struct sf_sensor	*s = &st.sensors[0];

	cr_assert(sf_sensor_update(s, "90000"));
	s->valid = true;
	cr_assert_eq(sensor_cmd(SF_GET_READING, 1), IPMI_CC_OK);
	cr_assert_eq(rsp[2], 0x18, "unc and ucr: 0x%02x", rsp[2]);
	cr_assert(sf_sensor_update(s, "5000"));
	cr_assert_eq(sensor_cmd(SF_GET_READING, 1), IPMI_CC_OK);
	cr_assert_eq(rsp[2], 0x01, "lnc: 0x%02x", rsp[2]);
	cr_assert_eq(sensor_cmd(SF_GET_EVENT_STATUS, 1), IPMI_CC_OK);
	cr_assert_eq(rsp[1], 0x01, "lnc going low asserted");
}

Test(sdr_fru, a_missing_file_makes_the_reading_unavailable)
{
	sf_sensor_read_file(&st.sensors[1]);
	cr_assert_eq(sensor_cmd(SF_GET_READING, 2), IPMI_CC_OK);
	cr_assert_eq(rsp[1], 0x60, "scanning, unavailable: 0x%02x",
	    rsp[1]);
	cr_assert_eq(rsp[2], 0x00);
}

Test(sdr_fru, a_file_without_a_number_makes_the_reading_unavailable)
{
	sf_sensor_read_file(&st.sensors[0]);
	cr_assert(st.sensors[0].valid);
	put("cpu", "hot\n", 4);
	sf_sensor_read_file(&st.sensors[0]);
	cr_assert(!st.sensors[0].valid);
	put("cpu", "", 0);
	sf_sensor_read_file(&st.sensors[0]);
	cr_assert(!st.sensors[0].valid);
}

Test(sdr_fru, a_raw_source_gives_the_byte_itself)
{
	struct sf_sensor	*s = &st.sensors[0];

	s->raw_source = true;
	cr_assert(sf_sensor_update(s, " 200 \n"));
	cr_assert_eq(s->raw, 200);
	cr_assert(!sf_sensor_update(s, "256"));
	cr_assert(!sf_sensor_update(s, "1.5"));
	cr_assert(!sf_sensor_update(s, "-1"));
}

Test(sdr_fru, an_unknown_sensor_gets_cb_from_every_sensor_command)
{
	static const uint8_t cmds[] = { SF_GET_READING, SF_GET_THRESHOLDS,
	    SF_GET_HYSTERESIS, SF_GET_EVENT_ENABLE, SF_GET_EVENT_STATUS };
	size_t i;

	for (i = 0; i < sizeof(cmds); i++)
		cr_expect_eq(sensor_cmd(cmds[i], 9), IPMI_CC_NOT_PRESENT,
		    "0x%02x", cmds[i]);
}

Test(sdr_fru, thresholds_come_back_raw_with_the_readable_mask)
{
	static const uint8_t want[] = { 0x39, 5, 0, 0, 80, 90, 100 };

	cr_assert_eq(sensor_cmd(SF_GET_THRESHOLDS, 1), IPMI_CC_OK);
	cr_assert_eq(rsp_len, sizeof(want));
	cr_assert_arr_eq(rsp, want, sizeof(want));
}

Test(sdr_fru, hysteresis_and_event_enable_answer_fixed_layouts)
{
	static const uint8_t hyst[] = { 2, 2 };
	static const uint8_t enable[] = { 0x40, 0, 0, 0, 0 };

	cr_assert_eq(sensor_cmd(SF_GET_HYSTERESIS, 1), IPMI_CC_OK);
	cr_assert_eq(rsp_len, sizeof(hyst));
	cr_assert_arr_eq(rsp, hyst, sizeof(hyst));
	cr_assert_eq(sensor_cmd(SF_GET_EVENT_ENABLE, 1), IPMI_CC_OK);
	cr_assert_eq(rsp_len, sizeof(enable));
	cr_assert_arr_eq(rsp, enable, sizeof(enable));
}

/*
 * Run the handler's own refresh machinery (timer, signalfd for SIGCHLD,
 * the command's pipe) until the sensor's command is done, bounded.
 */
static void
settle(struct sf_sensor *s, int bound_ms)
{
	struct pollfd	pfd[3];
	int64_t		end = sf_now_ms() + bound_ms;
	uint64_t	ticks;
	int		n;

	while (s->pid != -1 && sf_now_ms() < end) {
		pfd[0].fd = st.signal_fd;
		pfd[1].fd = st.timer_fd;
		pfd[2].fd = s->out_fd;
		pfd[0].events = pfd[1].events = pfd[2].events = POLLIN;
		n = s->out_fd != -1 ? 3 : 2;
		if (poll(pfd, n, 100) <= 0)
			continue;
		if (pfd[0].revents & POLLIN)
			sf_signalled(&st);
		if (n == 3 && pfd[2].revents)
			sf_sensor_output(s);
		if (pfd[1].revents & POLLIN) {
			if (read(st.timer_fd, &ticks, sizeof(ticks)) < 0)
				continue;
			sf_sensors_refresh(&st);
		}
	}
	cr_assert_eq(s->pid, -1, "the command is still running");
}

static struct sf_sensor *
command_sensor(const char *command, const char *timeout)
{
	char	text[512];

	snprintf(text, sizeof(text), "[sensor FAN1]\nnumber = 3\n"
	    "units = rpm\nm = 100\ncommand = %s\ntimeout = %s\n"
	    "interval = 60000\n", command, timeout);
	load(text);
	cr_assert_eq(sf_open_fds(&st), 0);
	sf_sensors_refresh(&st);
	cr_assert_neq(st.sensors[0].pid, -1, "started");
	return &st.sensors[0];
}

Test(sdr_fru, a_command_reading_arrives_in_the_background)
{
	struct sf_sensor	*s = command_sensor("echo 4200", "2000");

	cr_assert(!s->valid, "nothing before it ran");
	settle(s, 5000);
	cr_assert(s->valid);
	cr_assert_eq(s->raw, 42);
}

Test(sdr_fru, a_command_runs_in_the_config_directory)
{
	struct sf_sensor	*s;

	put("fan", "3100\n", 5);
	s = command_sensor("cat fan", "2000");
	settle(s, 5000);
	cr_assert(s->valid);
	cr_assert_eq(s->raw, 31);
}

Test(sdr_fru, a_command_past_its_timeout_is_killed_and_reads_unavailable)
{
	struct sf_sensor	*s = command_sensor("sleep 5; echo 100", "50");
	int64_t			 t0 = sf_now_ms();

	s->valid = true;
	settle(s, 3000);
	cr_assert_lt(sf_now_ms() - t0, 2000, "killed, not waited for");
	cr_assert(!s->valid);
	cr_assert_eq(s->out_fd, -1);
}

Test(sdr_fru, a_failing_command_reads_unavailable)
{
	struct sf_sensor	*s;

	s = command_sensor("echo 4200; exit 3", "2000");
	s->valid = true;
	settle(s, 5000);
	cr_assert(!s->valid);
}

/* ---- FRU devices ---- */

static uint8_t
read_fru(uint8_t id, uint16_t off, uint8_t count)
{
	uint8_t	d[4] = { id, off & 0xff, off >> 8, count };

	return run(SF_NETFN_STORAGE, SF_READ_FRU, d, sizeof(d));
}

Test(sdr_fru, fru_info_gives_the_image_size_and_byte_access)
{
	static const uint8_t want[] = { 64, 0, 0 };
	uint8_t id = 3;

	cr_assert_eq(run(SF_NETFN_STORAGE, SF_GET_FRU_INFO, &id, 1),
	    IPMI_CC_OK);
	cr_assert_eq(rsp_len, sizeof(want));
	cr_assert_arr_eq(rsp, want, sizeof(want));
	id = 2;
	cr_assert_eq(run(SF_NETFN_STORAGE, SF_GET_FRU_INFO, &id, 1),
	    IPMI_CC_NOT_PRESENT);
}

Test(sdr_fru, read_fru_returns_the_count_then_the_bytes)
{
	cr_assert_eq(read_fru(3, 10, 4), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 5);
	cr_assert_eq(rsp[0], 4);
	cr_assert_eq(rsp[1], 10);
	cr_assert_eq(rsp[4], 13);
}

Test(sdr_fru, read_fru_past_the_end_is_cut_short_or_c9)
{
	cr_assert_eq(read_fru(0, 12, 10), IPMI_CC_OK);
	cr_assert_eq(rsp[0], 4, "16-byte image");
	cr_assert_eq(rsp_len, 5);
	cr_assert_eq(read_fru(0, 16, 1), IPMI_CC_OUT_OF_RANGE);
	cr_assert_eq(read_fru(0, 0xffff, 1), IPMI_CC_OUT_OF_RANGE);
	cr_assert_eq(read_fru(7, 0, 1), IPMI_CC_NOT_PRESENT);
}

Test(sdr_fru, read_fru_larger_than_the_bus_carries_gets_ca)
{
	struct ipmic_request	r;
	uint8_t			d[4] = { 3, 0, 0, 40 };

	r = request(SF_NETFN_STORAGE, SF_READ_FRU, d, sizeof(d));
	r.facts.max_response = 40;
	cr_assert_eq(sf_handle(&st, &r, rsp, &rsp_len),
	    IPMI_CC_TOO_MANY_BYTES);
	d[3] = 39;
	r = request(SF_NETFN_STORAGE, SF_READ_FRU, d, sizeof(d));
	r.facts.max_response = 40;
	cr_assert_eq(sf_handle(&st, &r, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 40);
}

Test(sdr_fru, write_fru_reaches_the_file_and_later_reads)
{
	static const uint8_t d[] = { 3, 60, 0, 0xaa, 0xbb, 0xcc, 0xdd };
	char		 path[192];
	uint8_t		 back[64];
	FILE		*f;

	cr_assert_eq(run(SF_NETFN_STORAGE, SF_WRITE_FRU, d, sizeof(d)),
	    IPMI_CC_OK);
	cr_assert_eq(rsp_len, 1);
	cr_assert_eq(rsp[0], 4);
	cr_assert_eq(read_fru(3, 59, 5), IPMI_CC_OK);
	cr_assert_eq(rsp[1], 59);
	cr_assert_arr_eq(rsp + 2, d + 3, 4);
	snprintf(path, sizeof(path), "%s/fru3.bin", dir);
	cr_assert_not_null(f = fopen(path, "r"));
	cr_assert_eq(fread(back, 1, sizeof(back), f), 64);
	fclose(f);
	cr_assert_arr_eq(back + 60, d + 3, 4);
	cr_assert_eq(back[59], 59);
}

Test(sdr_fru, write_fru_outside_the_image_gets_c9_and_changes_nothing)
{
	static const uint8_t past[] = { 3, 62, 0, 1, 2, 3 };
	static const uint8_t far[] = { 3, 64, 0, 1 };

	cr_assert_eq(run(SF_NETFN_STORAGE, SF_WRITE_FRU, past, sizeof(past)),
	    IPMI_CC_OUT_OF_RANGE);
	cr_assert_eq(run(SF_NETFN_STORAGE, SF_WRITE_FRU, far, sizeof(far)),
	    IPMI_CC_OUT_OF_RANGE);
	cr_assert_eq(read_fru(3, 62, 2), IPMI_CC_OK);
	cr_assert_eq(rsp[1], 62);
	cr_assert_eq(rsp[2], 63);
}

Test(sdr_fru, write_fru_on_a_read_only_device_gets_80)
{
	static const uint8_t d[] = { 0, 0, 0, 9 };

	cr_assert_eq(run(SF_NETFN_STORAGE, SF_WRITE_FRU, d, sizeof(d)),
	    IPMI_CC_WRITE_PROTECTED);
	cr_assert_eq(read_fru(0, 0, 1), IPMI_CC_OK);
	cr_assert_eq(rsp[1], 0);
}

Test(sdr_fru, write_fru_on_a_missing_device_gets_cb)
{
	static const uint8_t d[] = { 4, 0, 0, 9 };

	cr_assert_eq(run(SF_NETFN_STORAGE, SF_WRITE_FRU, d, sizeof(d)),
	    IPMI_CC_NOT_PRESENT);
}
