/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the SEL handler's command functions, its config parser and
 * its storage layer (sel-store.c).
 *
 * sel.c is included so that its static functions are reachable; its main()
 * is renamed out of criterion's way. Requests are built by hand as the
 * library would hand them over; no broker is involved. Each test gets its
 * own directory for the log file, and a clock that stands still.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

int	sel_main(int, char **);
#define main sel_main
#include "sel.c"
#undef main

#define T_NOW		1700000000	/* the fake clock */
#define T_CAPACITY	8

static struct sel_state st;
static uint8_t rsp[SEL_RSP_MAX];
static size_t rsp_len;
static char dir[64], logpath[128];
static time_t fake_now = T_NOW;

static time_t
fake_clock(void)
{
	return fake_now;
}

static struct ipmic_request
request_on(uint8_t netfn, uint8_t cmd, const uint8_t *data, size_t len,
    uint8_t channel)
{
	struct ipmic_request r;

	memset(&r, 0, sizeof(r));
	r.netfn = netfn;
	r.cmd = cmd;
	r.channel = channel;
	r.data = data;
	r.len = len;
	snprintf(r.facts.bus, sizeof(r.facts.bus), "ctl");
	return r;
}

/* Run a Storage command from the system interface; returns the cc. */
static uint8_t
run(uint8_t cmd, const uint8_t *data, size_t len)
{
	struct ipmic_request r = request_on(IPMI_NETFN_STORAGE, cmd, data,
	    len, IPMI_CHANNEL_SYSTEM_IF);

	memset(rsp, 0xee, sizeof(rsp));
	return sel_handle(&st, &r, rsp, &rsp_len);
}

static uint16_t
reserve(void)
{
	cr_assert_eq(run(SEL_RESERVE, NULL, 0), IPMI_CC_OK);
	return sel_get16(rsp);
}

/* Add a system event record with sensor number n; returns its id. */
static uint16_t
add(uint8_t n)
{
	uint8_t	rec[16] = { 0xaa, 0xbb, 0x02, 0, 0, 0, 0, 0x41, 0x00, 0x04,
	    0x01, 0, 0x01, 0x57, 0x00, 0x00 };

	rec[11] = n;
	cr_assert_eq(run(SEL_ADD_ENTRY, rec, sizeof(rec)), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 2);
	return sel_get16(rsp);
}

/* Get SEL Entry; returns the cc. */
static uint8_t
get(uint16_t resv, uint16_t id, uint8_t offset, uint8_t count)
{
	uint8_t	d[6];

	sel_put16(d, resv);
	sel_put16(d + 2, id);
	d[4] = offset;
	d[5] = count;
	return run(SEL_GET_ENTRY, d, sizeof(d));
}

static uint8_t
delete(uint16_t resv, uint16_t id)
{
	uint8_t	d[4];

	sel_put16(d, resv);
	sel_put16(d + 2, id);
	return run(SEL_DELETE_ENTRY, d, sizeof(d));
}

static uint8_t
clear(uint16_t resv, uint8_t op)
{
	uint8_t	d[6] = { 0, 0, 'C', 'L', 'R', 0 };

	sel_put16(d, resv);
	d[5] = op;
	return run(SEL_CLEAR, d, sizeof(d));
}

/* Parse an in-memory config; returns sel_config_read()'s result. */
static int
config(const char *text, struct sel_config *cfg, char *err, size_t errlen)
{
	FILE	*f;
	int	 rv;

	f = fmemopen((void *)text, strlen(text), "r");
	cr_assert_not_null(f);
	rv = sel_config_read(f, "t.conf", cfg, err, errlen);
	fclose(f);
	return rv;
}

static int
reopen(struct sel_recovery *rep)
{
	sel_store_close(&st.store);
	return sel_store_open(&st.store, logpath, st.cfg.capacity,
	    st.cfg.slack, rep);
}

static off_t
file_size(const char *path)
{
	struct stat	sb;

	cr_assert_eq(stat(path, &sb), 0, "stat %s", path);
	return sb.st_size;
}

static int
write_file(const char *path, const char *text)
{
	FILE	*f;
	int	 rv;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	rv = fputs(text, f) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rv = -1;
	return rv;
}

/* Overwrite one byte of the log at offset. */
static void
poke(off_t offset, uint8_t v)
{
	int	fd = open(logpath, O_WRONLY);

	cr_assert(fd >= 0);
	cr_assert_eq(pwrite(fd, &v, 1, offset), 1);
	close(fd);
}

static void
setup(void)
{
	struct sel_recovery	rep;
	char			text[256], err[256];

	snprintf(dir, sizeof(dir), "/tmp/test-sel.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(logpath, sizeof(logpath), "%s/sel.log", dir);
	snprintf(text, sizeof(text), "[sel]\npath = %s\ncapacity = %d\n"
	    "compact_slack = 1000\n", logpath, T_CAPACITY);
	memset(&st, 0, sizeof(st));
	cr_assert_eq(config(text, &st.cfg, err, sizeof(err)), 0, "%s", err);
	fake_now = T_NOW;
	st.clock = fake_clock;
	cr_assert_eq(sel_store_open(&st.store, logpath, st.cfg.capacity,
	    st.cfg.slack, &rep), 0);
	cr_assert(rep.created);
}

static void
teardown(void)
{
	char	cmd[128];

	sel_store_close(&st.store);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

TestSuite(sel, .init = setup, .fini = teardown, .timeout = 10);

/* ---- command parsing ---- */

Test(sel, every_command_refuses_one_byte_too_many_and_too_few)
{
	static const uint8_t data[32];
	struct ipmic_request r;
	size_t i;

	for (i = 0; i < SEL_NCMDS; i++) {
		r = request_on(sel_cmds[i].netfn, sel_cmds[i].cmd, data,
		    sel_cmds[i].max_len + 1, 0x0f);
		cr_expect_eq(sel_handle(&st, &r, rsp, &rsp_len),
		    IPMI_CC_BAD_LENGTH, "cmd 0x%02x", sel_cmds[i].cmd);
		cr_expect_eq(rsp_len, 0);
		if (sel_cmds[i].min_len == 0)
			continue;
		r.len = sel_cmds[i].min_len - 1;
		cr_expect_eq(sel_handle(&st, &r, rsp, &rsp_len),
		    IPMI_CC_BAD_LENGTH, "cmd 0x%02x short", sel_cmds[i].cmd);
	}
}

Test(sel, an_unknown_command_is_invalid_command)
{
	cr_assert_eq(run(0x45, NULL, 0), IPMI_CC_INVALID_CMD);
	cr_assert_eq(rsp_len, 0);
}

Test(sel, get_sel_info_of_an_empty_sel)
{
	static const uint8_t want[] = { 0x51, 0x00, 0x00, 0x80, 0x00,
	    0, 0, 0, 0, 0, 0, 0, 0, 0x0b };

	cr_assert_eq(run(SEL_GET_INFO, NULL, 0), IPMI_CC_OK);
	cr_assert_eq(rsp_len, sizeof(want));
	cr_assert_arr_eq(rsp, want, sizeof(want));
}

Test(sel, get_sel_info_counts_entries_free_bytes_and_times)
{
	uint16_t r;

	add(1);
	add(2);
	fake_now = T_NOW + 10;
	r = reserve();
	cr_assert_eq(delete(r, 1), IPMI_CC_OK);
	cr_assert_eq(run(SEL_GET_INFO, NULL, 0), IPMI_CC_OK);
	cr_assert_eq(sel_get16(rsp + 1), 1);
	cr_assert_eq(sel_get16(rsp + 3), (T_CAPACITY - 1) * 16);
	cr_assert_eq(sel_get32(rsp + 5), T_NOW);
	cr_assert_eq(sel_get32(rsp + 9), T_NOW + 10);
}

Test(sel, get_allocation_info_counts_16_byte_units)
{
	static const uint8_t want[] = { 8, 0, 16, 0, 7, 0, 7, 0, 1 };

	add(1);
	cr_assert_eq(run(SEL_GET_ALLOC_INFO, NULL, 0), IPMI_CC_OK);
	cr_assert_eq(rsp_len, sizeof(want));
	cr_assert_arr_eq(rsp, want, sizeof(want));
}

/* ---- add, ids, timestamps ---- */

Test(sel, add_assigns_increasing_ids_from_1_ignoring_the_requests_id)
{
	cr_assert_eq(add(1), 1);
	cr_assert_eq(add(2), 2);
	cr_assert_eq(add(3), 3);
}

Test(sel, ids_are_not_reused_after_a_delete)
{
	uint16_t r;

	add(1);
	add(2);
	cr_assert_eq(add(3), 3);
	r = reserve();
	cr_assert_eq(delete(r, 3), IPMI_CC_OK);
	cr_assert_eq(add(4), 4);
}

Test(sel, ids_wrap_past_ffff_and_0_and_skip_ids_in_use)
{
	cr_assert_eq(add(1), 1);
	cr_assert_eq(add(2), 2);
	st.store.next_id = 0xfffe;
	cr_assert_eq(add(3), 0xfffe);
	cr_assert_eq(add(4), 3, "0xffff, 0, 1 and 2 are skipped");
}

Test(sel, add_stamps_the_sel_time_below_type_e0_only)
{
	uint8_t	rec[16];
	size_t	i;

	for (i = 0; i < sizeof(rec); i++)
		rec[i] = 0x10 + i;
	rec[2] = 0xc1;				/* OEM timestamped */
	cr_assert_eq(run(SEL_ADD_ENTRY, rec, 16), IPMI_CC_OK);
	rec[2] = 0xe0;				/* OEM, no timestamp */
	cr_assert_eq(run(SEL_ADD_ENTRY, rec, 16), IPMI_CC_OK);

	cr_assert_eq(get(0, 1, 0, 0xff), IPMI_CC_OK);
	cr_assert_eq(sel_get32(rsp + 2 + 3), T_NOW);
	cr_assert_arr_eq(rsp + 2 + 7, rec + 7, 9);
	cr_assert_eq(get(0, 2, 0, 0xff), IPMI_CC_OK);
	cr_assert_arr_eq(rsp + 2 + 2, rec + 2, 14, "kept as sent");
	cr_assert_eq(sel_get16(rsp + 2), 2, "id bytes are the assigned id");
}

Test(sel, a_full_sel_answers_c4_and_sets_the_overflow_flag)
{
	uint8_t	rec[16] = { 0, 0, 0x02 };
	int	i;

	for (i = 0; i < T_CAPACITY; i++)
		add(i);
	cr_assert_eq(run(SEL_ADD_ENTRY, rec, 16), IPMI_CC_OUT_OF_SPACE);
	cr_assert_eq(rsp_len, 0);
	cr_assert_eq(run(SEL_GET_INFO, NULL, 0), IPMI_CC_OK);
	cr_assert_eq(rsp[13] & 0x80, 0x80);
	cr_assert_eq(sel_get16(rsp + 3), 0);
}

Test(sel, a_delete_clears_the_overflow_flag)
{
	uint8_t	rec[16] = { 0, 0, 0x02 };
	int	i;

	for (i = 0; i < T_CAPACITY; i++)
		add(i);
	cr_assert_eq(run(SEL_ADD_ENTRY, rec, 16), IPMI_CC_OUT_OF_SPACE);
	cr_assert_eq(delete(reserve(), 0), IPMI_CC_OK);
	cr_assert_eq(run(SEL_GET_INFO, NULL, 0), IPMI_CC_OK);
	cr_assert_eq(rsp[13] & 0x80, 0);
}

/* ---- get entry ---- */

Test(sel, get_entry_walks_from_0000_to_ffff)
{
	add(1);
	add(2);
	add(3);
	cr_assert_eq(get(0, 0x0000, 0, 0xff), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 18);
	cr_assert_eq(sel_get16(rsp), 2, "next");
	cr_assert_eq(sel_get16(rsp + 2), 1, "first");
	cr_assert_eq(get(0, 2, 0, 0xff), IPMI_CC_OK);
	cr_assert_eq(sel_get16(rsp), 3);
	cr_assert_eq(get(0, 3, 0, 0xff), IPMI_CC_OK);
	cr_assert_eq(sel_get16(rsp), 0xffff, "no more");
	cr_assert_eq(get(0, 0xffff, 0, 0xff), IPMI_CC_OK);
	cr_assert_eq(sel_get16(rsp + 2), 3, "last");
	cr_assert_eq(rsp[2 + 11], 3, "sensor number");
}

Test(sel, get_entry_of_a_missing_record_is_cb)
{
	cr_assert_eq(get(0, 0, 0, 0xff), IPMI_CC_NOT_PRESENT, "empty SEL");
	cr_assert_eq(get(0, 0xffff, 0, 0xff), IPMI_CC_NOT_PRESENT);
	add(1);
	cr_assert_eq(get(0, 7, 0, 0xff), IPMI_CC_NOT_PRESENT);
	cr_assert_eq(rsp_len, 0);
}

Test(sel, get_entry_accepts_reservation_0_and_the_current_one_only)
{
	uint16_t r1, r2;

	add(1);
	r1 = reserve();
	r2 = reserve();
	cr_assert_neq(r1, r2);
	cr_assert_eq(get(0, 1, 0, 0xff), IPMI_CC_OK);
	cr_assert_eq(get(r2, 1, 0, 0xff), IPMI_CC_OK);
	cr_assert_eq(get(r1, 1, 0, 0xff), IPMI_CC_RESERVATION);
}

Test(sel, a_partial_read_inside_a_record_needs_the_reservation)
{
	uint16_t r;

	add(0x42);
	cr_assert_eq(get(0, 1, 7, 5), IPMI_CC_RESERVATION);
	r = reserve();
	cr_assert_eq(get(r, 1, 7, 5), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 2 + 5);
	cr_assert_eq(rsp[2 + 2], 0x04, "byte 9: EvM rev");
	cr_assert_eq(rsp[2 + 4], 0x42, "byte 11: sensor number");
	reserve();
	cr_assert_eq(get(r, 1, 7, 5), IPMI_CC_RESERVATION, "stale");
}

Test(sel, a_partial_read_from_offset_0_needs_no_reservation)
{
	add(1);
	cr_assert_eq(get(0, 1, 0, 3), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 2 + 3);
	cr_assert_eq(rsp[2 + 2], 0x02, "record type");
}

Test(sel, a_read_past_the_record_end_is_cut_and_past_it_is_c9)
{
	uint16_t r;

	add(1);
	r = reserve();
	cr_assert_eq(get(r, 1, 12, 10), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 2 + 4);
	cr_assert_eq(get(r, 1, 15, 0xff), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 2 + 1);
	cr_assert_eq(get(r, 1, 16, 1), IPMI_CC_OUT_OF_RANGE);
	cr_assert_eq(get(r, 1, 0xff, 0xff), IPMI_CC_OUT_OF_RANGE);
}

/* ---- reserve, delete, clear ---- */

Test(sel, reservations_are_never_0)
{
	st.reservation = 0xfffe;
	cr_assert_eq(reserve(), 0xffff);
	cr_assert_eq(reserve(), 0x0001);
}

Test(sel, delete_needs_the_current_reservation)
{
	uint16_t r;

	add(1);
	cr_assert_eq(delete(0, 1), IPMI_CC_RESERVATION, "none given");
	r = reserve();
	reserve();
	cr_assert_eq(delete(r, 1), IPMI_CC_RESERVATION, "stale");
	cr_assert_eq(st.store.count, 1);
}

Test(sel, delete_answers_the_deleted_id_and_keeps_the_reservation)
{
	uint16_t r;

	add(1);
	add(2);
	add(3);
	r = reserve();
	cr_assert_eq(delete(r, 2), IPMI_CC_OK);
	cr_assert_eq(sel_get16(rsp), 2);
	cr_assert_eq(delete(r, 0xffff), IPMI_CC_OK, "ipmitool deletes "
	    "several ids with one reservation");
	cr_assert_eq(sel_get16(rsp), 3);
	cr_assert_eq(get(0, 1, 0, 0xff), IPMI_CC_OK);
	cr_assert_eq(sel_get16(rsp), 0xffff);
}

Test(sel, delete_of_a_missing_record_is_cb)
{
	uint16_t r = reserve();

	cr_assert_eq(delete(r, 1), IPMI_CC_NOT_PRESENT);
	add(1);
	cr_assert_eq(delete(r, 9), IPMI_CC_NOT_PRESENT);
}

Test(sel, clear_with_a_bad_signature_or_operation_is_cc)
{
	uint8_t	 d[6] = { 0, 0, 'C', 'L', 'X', 0xaa };
	uint16_t r;

	add(1);
	r = reserve();
	sel_put16(d, r);
	cr_assert_eq(run(SEL_CLEAR, d, 6), IPMI_CC_INVALID_FIELD);
	cr_assert_eq(clear(r, 0x55), IPMI_CC_INVALID_FIELD);
	cr_assert_eq(st.store.count, 1);
}

Test(sel, clear_with_a_stale_reservation_is_c5)
{
	uint16_t r;

	add(1);
	r = reserve();
	reserve();
	cr_assert_eq(clear(r, 0xaa), IPMI_CC_RESERVATION);
	cr_assert_eq(clear(0, 0xaa), IPMI_CC_RESERVATION);
	cr_assert_eq(st.store.count, 1);
}

Test(sel, clear_erases_everything_and_reports_completion)
{
	uint16_t r;

	add(1);
	add(2);
	r = reserve();
	cr_assert_eq(clear(r, 0x00), IPMI_CC_OK);
	cr_assert_eq(rsp[0], 0x01);
	cr_assert_eq(st.store.count, 2, "0x00 only asks");
	fake_now = T_NOW + 5;
	cr_assert_eq(clear(r, 0xaa), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 1);
	cr_assert_eq(rsp[0], 0x01);
	cr_assert_eq(run(SEL_GET_INFO, NULL, 0), IPMI_CC_OK);
	cr_assert_eq(sel_get16(rsp + 1), 0);
	cr_assert_eq(sel_get32(rsp + 9), T_NOW + 5);
	cr_assert_eq(add(3), 3, "ids go on after a clear");
}

/* ---- time ---- */

Test(sel, set_sel_time_moves_the_sel_clock_and_outlives_a_restart)
{
	uint8_t			t[4];
	struct sel_recovery	rep;

	sel_put32(t, 0x12345678);
	cr_assert_eq(run(SEL_SET_TIME, t, 4), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 0);
	fake_now += 3;
	cr_assert_eq(run(SEL_GET_TIME, NULL, 0), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 4);
	cr_assert_eq(sel_get32(rsp), 0x12345678 + 3);
	cr_assert_eq(add(1), 1);
	cr_assert_eq(get(0, 1, 0, 0xff), IPMI_CC_OK);
	cr_assert_eq(sel_get32(rsp + 2 + 3), 0x12345678 + 3, "stamped");
	cr_assert_eq(reopen(&rep), 0);
	cr_assert_eq(run(SEL_GET_TIME, NULL, 0), IPMI_CC_OK);
	cr_assert_eq(sel_get32(rsp), 0x12345678 + 3);
}

Test(sel, utc_offset_is_unspecified_unless_configured)
{
	cr_assert_eq(run(SEL_GET_UTC_OFFSET, NULL, 0), IPMI_CC_OK);
	cr_assert_eq(sel_get16(rsp), 0x07ff);
	cr_assert_null(sel_config_key(&st.cfg, "utc_offset", "-60"));
	cr_assert_eq(run(SEL_GET_UTC_OFFSET, NULL, 0), IPMI_CC_OK);
	cr_assert_eq(sel_get16(rsp), 0xffc4);
	cr_assert_not_null(sel_config_key(&st.cfg, "utc_offset", "1441"));
}

/* ---- platform event ---- */

Test(sel, a_platform_event_becomes_a_system_event_record_and_goes_on)
{
	static const uint8_t ev[] = { 0x41, 0x04, 0x01, 0x30, 0x01, 0x57,
	    0x10, 0x20 };
	static const uint8_t want[] = { 0x01, 0x00, 0x02, 0x00, 0xf1, 0x53,
	    0x65, 0x41, 0x00, 0x04, 0x01, 0x30, 0x01, 0x57, 0x10, 0x20 };
	struct ipmic_request r = request_on(IPMI_NETFN_SENSOR,
	    SEL_PLATFORM_EVENT, ev, sizeof(ev), 0x0f);

	cr_assert_eq(sel_handle(&st, &r, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 0);
	cr_assert(st.forward);
	cr_assert_arr_eq(st.event, ev, sizeof(ev));
	cr_assert_eq(get(0, 0, 0, 0xff), IPMI_CC_OK);
	cr_assert_arr_eq(rsp + 2, want, sizeof(want));
}

Test(sel, an_ipmb_platform_event_records_the_channel_in_the_generator)
{
	static const uint8_t ev[] = { 0x04, 0x02, 0x07, 0x81, 0x02, 0xff,
	    0xff };
	struct ipmic_request r = request_on(IPMI_NETFN_SENSOR,
	    SEL_PLATFORM_EVENT, ev, sizeof(ev), 0x01);

	cr_assert_eq(sel_handle(&st, &r, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(st.event[0], 0x00);
	cr_assert_arr_eq(st.event + 1, ev, sizeof(ev));
	cr_assert_eq(get(0, 0, 0, 0xff), IPMI_CC_OK);
	cr_assert_eq(rsp[2 + 7], 0x00);
	cr_assert_eq(rsp[2 + 8], 0x10, "channel 1 in bits 7:4");
	cr_assert_arr_eq(rsp + 2 + 9, ev, sizeof(ev));
}

Test(sel, a_platform_event_on_a_full_sel_sets_overflow_and_still_goes_on)
{
	static const uint8_t ev[8] = { 0x41, 0x04 };
	struct ipmic_request r = request_on(IPMI_NETFN_SENSOR,
	    SEL_PLATFORM_EVENT, ev, sizeof(ev), 0x0f);
	int i;

	for (i = 0; i < T_CAPACITY; i++)
		add(i);
	cr_assert_eq(sel_handle(&st, &r, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert(st.forward);
	cr_assert(st.store.overflow);
	cr_assert_eq(st.store.count, T_CAPACITY);
}

/* ---- config ---- */

Test(sel, config_without_a_path_is_refused)
{
	struct sel_config	cfg;
	char			err[256];

	cr_assert_eq(config("[sel]\ncapacity = 10\n", &cfg, err, sizeof(err)),
	    -1);
	cr_assert_str_eq(err, "t.conf: [sel] path is required");
}

Test(sel, config_errors_name_file_and_line)
{
	struct sel_config	cfg;
	char			err[256];

	cr_assert_eq(config("[sel]\npath = /x\ncapacity = 4096\n", &cfg, err,
	    sizeof(err)), -1);
	cr_assert(strncmp(err, "t.conf:3: capacity:", 19) == 0, "%s", err);
	cr_assert_eq(config("[sel]\npath = rel\n", &cfg, err, sizeof(err)),
	    -1);
	cr_assert(strncmp(err, "t.conf:2: path:", 15) == 0, "%s", err);
	cr_assert_eq(config("[sel]\npath = /x\ninternal_channel = 16\n", &cfg,
	    err, sizeof(err)), -1);
	cr_assert_eq(config("[other]\nx = 1\n", &cfg, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "t.conf:2: unknown section [other]");
}

Test(sel, shipped_config_is_valid)
{
	struct sel_config	cfg;
	char			err[256];
	FILE			*f;

	f = fopen(SRCDIR "/conf/sel-handler.conf", "r");
	cr_assert_not_null(f);
	cr_assert_eq(sel_config_read(f, "sel-handler.conf", &cfg, err,
	    sizeof(err)), 0, "%s", err);
	fclose(f);
	cr_assert_eq(cfg.internal_channel, 0x0d);
	cr_assert_eq(cfg.capacity, 512);
}

/* ---- storage layer ---- */

Test(sel, crc32_matches_the_ieee_check_value)
{
	cr_assert_eq(sel_crc32(0, "123456789", 9), 0xcbf43926);
	cr_assert_eq(sel_crc32(sel_crc32(0, "1234", 4), "56789", 5),
	    0xcbf43926);
}

Test(sel, a_reopened_log_serves_the_same_entries_ids_and_times)
{
	struct sel_recovery	rep;
	uint8_t			before[3][16];
	uint16_t		r;
	int			i;

	for (i = 0; i < 4; i++)
		add(i);
	r = reserve();
	cr_assert_eq(delete(r, 2), IPMI_CC_OK);
	fake_now = T_NOW + 7;
	for (i = 0; i < 3; i++)
		memcpy(before[i], sel_store_entry(&st.store, i), 16);
	cr_assert_eq(reopen(&rep), 0);
	cr_assert_eq(rep.records, 5);
	cr_assert_eq(rep.torn_bytes, 0);
	cr_assert_eq(rep.corrupt, 0);
	cr_assert_eq(st.store.count, 3);
	for (i = 0; i < 3; i++)
		cr_assert_arr_eq(sel_store_entry(&st.store, i), before[i], 16);
	cr_assert_eq(st.store.last_add, T_NOW);
	cr_assert_eq(st.store.last_erase, T_NOW);
	cr_assert_eq(add(9), 5, "ids go on from the log");
}

Test(sel, a_cleared_log_reopens_empty)
{
	struct sel_recovery	rep;

	add(1);
	add(2);
	cr_assert_eq(clear(reserve(), 0xaa), IPMI_CC_OK);
	cr_assert_eq(reopen(&rep), 0);
	cr_assert_eq(st.store.count, 0);
	cr_assert_eq(add(3), 3);
}

Test(sel, every_record_is_on_disk_when_add_returns)
{
	add(1);
	add(2);
	cr_assert_eq(file_size(logpath), SEL_FILE_HEADER + 2 * SEL_FILE_RECORD);
}

Test(sel, a_cut_last_record_is_a_torn_tail_and_is_truncated)
{
	struct sel_recovery	rep;
	off_t			full;

	add(1);
	add(2);
	add(3);
	full = file_size(logpath);
	cr_assert_eq(truncate(logpath, full - 5), 0);
	cr_assert_eq(reopen(&rep), 0);
	cr_assert_eq(rep.torn_bytes, SEL_FILE_RECORD - 5);
	cr_assert_eq(rep.torn_offset, full - SEL_FILE_RECORD);
	cr_assert_eq(rep.corrupt, 0);
	cr_assert_eq(rep.records, 2);
	cr_assert_eq(st.store.count, 2);
	cr_assert_eq(file_size(logpath), full - SEL_FILE_RECORD);
	cr_assert_eq(add(4), 3, "id 3 was never acknowledged");
}

Test(sel, a_last_record_with_a_bad_crc_is_a_torn_tail)
{
	struct sel_recovery	rep;
	off_t			full;

	add(1);
	add(2);
	full = file_size(logpath);
	poke(full - 10, 0x5a);
	cr_assert_eq(reopen(&rep), 0);
	cr_assert_eq(rep.torn_bytes, SEL_FILE_RECORD);
	cr_assert_eq(rep.corrupt, 0);
	cr_assert_eq(st.store.count, 1);
}

Test(sel, a_bad_record_in_the_middle_is_corruption_and_the_rest_is_kept)
{
	struct sel_recovery	rep;
	char			saved[160];
	int			i;

	for (i = 0; i < 5; i++)
		add(i);
	poke(SEL_FILE_HEADER + SEL_FILE_RECORD + 20, 0xff);	/* id 2 */
	cr_assert_eq(reopen(&rep), 0);
	cr_assert_eq(rep.corrupt, 1);
	cr_assert_eq(rep.corrupt_offset, SEL_FILE_HEADER + SEL_FILE_RECORD);
	cr_assert_eq(rep.torn_bytes, 0);
	cr_assert_eq(st.store.count, 4);
	cr_assert_eq(sel_store_find(&st.store, 2), -1);
	cr_assert_eq(sel_store_find(&st.store, 5), 3);
	snprintf(saved, sizeof(saved), "%s.corrupt", logpath);
	cr_assert_str_eq(rep.saved, saved);
	cr_assert_eq(file_size(saved), SEL_FILE_HEADER + 5 * SEL_FILE_RECORD);
	cr_assert_eq(reopen(&rep), 0);
	cr_assert_eq(rep.corrupt, 0, "the rewritten log is clean");
	cr_assert_eq(st.store.count, 4);
}

Test(sel, a_damaged_tail_longer_than_one_record_is_corruption)
{
	struct sel_recovery	rep;
	uint8_t			junk[80];
	int			fd;

	add(1);
	memset(junk, 0x33, sizeof(junk));
	fd = open(logpath, O_WRONLY | O_APPEND);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	cr_assert_eq(reopen(&rep), 0);
	cr_assert_eq(rep.corrupt, 3);
	cr_assert_eq(rep.torn_bytes, 0);
	cr_assert_eq(st.store.count, 1);
	cr_assert_eq(file_size(logpath), SEL_FILE_HEADER + 2 * SEL_FILE_RECORD,
	    "rewritten: the entry and a state record");
}

Test(sel, a_file_that_is_not_a_sel_log_is_refused)
{
	struct sel_recovery	rep;

	sel_store_close(&st.store);
	cr_assert_eq(write_file(logpath, "hello, this is not a SEL log\n"),
	    0);
	cr_assert_eq(sel_store_open(&st.store, logpath, 8, 8, &rep),
	    SEL_STORE_E_FORMAT);
}

Test(sel, a_file_cut_inside_its_header_starts_afresh)
{
	struct sel_recovery	rep;

	sel_store_close(&st.store);
	cr_assert_eq(truncate(logpath, 7), 0);
	cr_assert_eq(sel_store_open(&st.store, logpath, 8, 8, &rep), 0);
	cr_assert(rep.created);
	cr_assert_eq(file_size(logpath), SEL_FILE_HEADER);
}

Test(sel, a_second_open_of_the_same_log_is_refused)
{
	struct sel_store	other;
	struct sel_recovery	rep;

	cr_assert_eq(sel_store_open(&other, logpath, 8, 8, &rep),
	    SEL_STORE_E_LOCKED);
}

Test(sel, a_leftover_rewrite_is_removed)
{
	struct sel_recovery	rep;
	char			tmp[160];

	add(1);
	snprintf(tmp, sizeof(tmp), "%s.tmp", logpath);
	cr_assert_eq(write_file(tmp, "half a rewrite"), 0);
	cr_assert_eq(reopen(&rep), 0);
	cr_assert(rep.stale_tmp);
	cr_assert_eq(access(tmp, F_OK), -1);
	cr_assert_eq(st.store.count, 1);
}

Test(sel, the_log_is_rewritten_when_dead_records_pass_the_slack)
{
	struct sel_recovery	rep;
	uint16_t		r;
	int			i;

	st.store.slack = 4;
	for (i = 0; i < 8; i++)
		add(i);
	r = reserve();
	for (i = 1; i <= 6; i++)
		cr_assert_eq(delete(r, i), IPMI_CC_OK);
	cr_assert(file_size(logpath) < SEL_FILE_HEADER + 14 * SEL_FILE_RECORD,
	    "rewritten");
	cr_assert_eq(reopen(&rep), 0);
	cr_assert_eq(st.store.count, 2);
	cr_assert_eq(sel_store_find(&st.store, 7), 0);
	cr_assert_eq(sel_store_find(&st.store, 8), 1);
	cr_assert_eq(st.store.last_erase, T_NOW);
	cr_assert_eq(add(9), 9, "ids go on after a rewrite");
}

Test(sel, a_log_with_more_entries_than_the_capacity_keeps_them_all)
{
	struct sel_recovery	rep;
	uint8_t			rec[16] = { 0, 0, 0x02 };
	int			i;

	for (i = 0; i < 6; i++)
		add(i);
	st.cfg.capacity = 4;
	cr_assert_eq(reopen(&rep), 0);
	cr_assert_eq(st.store.count, 6);
	cr_assert_eq(run(SEL_ADD_ENTRY, rec, 16), IPMI_CC_OUT_OF_SPACE);
	cr_assert_eq(run(SEL_GET_INFO, NULL, 0), IPMI_CC_OK);
	cr_assert_eq(sel_get16(rsp + 3), 0);
}
