/* SPDX-License-Identifier: MIT */
/*
 * The SEL handler as a user sees it: the real daemon and the real
 * ipmi-handler-sel, driven by `ipmi-ctl send`. Each test starts its own
 * daemon and handler in its own directory, with the SEL log file there,
 * and stops both at the end, checking they exit 0 and that no sanitizer
 * spoke. The platform-event test plays the event buffer's owner with a raw
 * handler registered on the broker's internal channel only.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "itest.h"

#define SEL_NCMDS	11	/* registrations of ipmi-handler-sel */
#define SEL_CAPACITY	6
#define INTERNAL_CH	0x0d

static struct itest_env	env;
static pid_t		sel_pid = -1;
static char		sel_conf[160], sel_log[160], sel_path[160];

/* Start ipmi-handler-sel on env's socket and wait for its registrations. */
static void
sel_start(void)
{
	static char	envbuf[256];
	char		*argv[] = { (char *)itest_bin("IPMI_HANDLER_SEL"), "-v",
			    "-c", sel_conf, NULL };
	char		*envp[] = { envbuf, NULL };
	int		 got;

	cr_assert_not_null(argv[0], "IPMI_HANDLER_SEL is not set");
	snprintf(envbuf, sizeof(envbuf), "IPMI_BROKER_SOCKET=%s", env.hsock);
	sel_pid = itest_spawn(sel_log, argv, envp);
	cr_assert(sel_pid > 0, "could not start the SEL handler");
	cr_assert_eq(itest_wait_regs(&env, "sel", SEL_NCMDS, 5000, &got), 0,
	    "sel handler registrations: expected %d, got %d (log %s)",
	    SEL_NCMDS, got, sel_log);
}

/* SIGTERM the handler, expect exit 0, and wait for its keys to go. */
static void
sel_stop(void)
{
	int	got;

	cr_assert_eq(itest_stop_pid(sel_pid, 3000), 0,
	    "ipmi-handler-sel did not exit 0 on SIGTERM (log %s)", sel_log);
	sel_pid = -1;
	cr_assert_eq(itest_wait_regs(&env, "sel", 0, 5000, &got), 0,
	    "registrations left: %d", got);
}

static void
setup(void)
{
	cr_assert_eq(itest_env_init(&env), 0, "temp dir");
	cr_assert_eq(itest_write_config(&env, NULL), 0);
	snprintf(sel_conf, sizeof(sel_conf), "%s/sel.conf", env.dir);
	snprintf(sel_log, sizeof(sel_log), "%s/sel.log", env.dir);
	snprintf(sel_path, sizeof(sel_path), "%s/sel.db", env.dir);
	{
		char	text[512];

		snprintf(text, sizeof(text), "[sel]\npath = %s\n"
		    "capacity = %d\ninternal_channel = 0x%02x\n", sel_path,
		    SEL_CAPACITY, INTERNAL_CH);
		cr_assert_eq(itest_write_file(sel_conf, text), 0);
	}
	cr_assert_eq(itest_daemon_start(&env, 5000), 0,
	    "daemon did not answer on %s (log %s)", env.csock, env.log);
	sel_start();
}

static void
done(void)
{
	sel_stop();
	cr_assert_eq(itest_daemon_stop(&env, 5000), 0,
	    "the daemon did not exit 0 on SIGTERM (log %s)", env.log);
	ITEST_ASSERT_LOGS_CLEAN(&env);
}

static void
teardown(void)
{
	if (sel_pid > 0)
		itest_stop_pid(sel_pid, 3000);
	sel_pid = -1;
	itest_env_cleanup(&env);
}

TestSuite(sel, .fini = teardown, .timeout = 60);

/*
 * `ipmi-ctl --json send [-c channel] netfn cmd bytes...`; returns the cc
 * and fills data/len. channel < 0: the ctl bus's own.
 */
static unsigned int
send_on(int channel, uint8_t netfn, uint8_t cmd, const uint8_t *bytes,
    size_t n, uint8_t *data, size_t *len)
{
	struct itest_run	r;
	char			args[24][8];
	const char		*a[26];
	unsigned int		cc = 0x100;
	size_t			i, k = 0;

	cr_assert(n <= 20);
	memset(a, 0, sizeof(a));
	if (channel >= 0) {
		a[k++] = "-c";
		snprintf(args[23], sizeof(args[23]), "%d", channel);
		a[k++] = args[23];
	}
	snprintf(args[0], sizeof(args[0]), "0x%02x", netfn);
	snprintf(args[1], sizeof(args[1]), "0x%02x", cmd);
	a[k++] = args[0];
	a[k++] = args[1];
	for (i = 0; i < n; i++) {
		snprintf(args[2 + i], sizeof(args[2 + i]), "0x%02x", bytes[i]);
		a[k++] = args[2 + i];
	}
	cr_assert_eq(itest_send_json(&env, &r, &cc, data, len, a[0], a[1],
	    a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11],
	    a[12], a[13], a[14], a[15], a[16], a[17], a[18], a[19], a[20],
	    a[21], a[22], a[23], a[24], NULL), 0,
	    "ipmi-ctl send: out %s err %s", r.out, r.err);
	return cc;
}

static unsigned int
sel_send(uint8_t cmd, const uint8_t *bytes, size_t n, uint8_t *data,
    size_t *len)
{
	return send_on(-1, 0x0a, cmd, bytes, n, data, len);
}

static uint16_t
le16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint32_t
sel_time(void)
{
	uint8_t	d[64];
	size_t	len;

	cr_assert_eq(sel_send(0x48, NULL, 0, d, &len), 0);
	cr_assert_eq(len, 4);
	return le32(d);
}

static uint16_t
add(const uint8_t *rec)
{
	uint8_t	d[64];
	size_t	len;

	cr_assert_eq(sel_send(0x44, rec, 16, d, &len), 0);
	cr_assert_eq(len, 2);
	return le16(d);
}

static uint16_t
reserve(void)
{
	uint8_t	d[64];
	size_t	len;

	cr_assert_eq(sel_send(0x42, NULL, 0, d, &len), 0);
	cr_assert_eq(len, 2);
	cr_assert_neq(le16(d), 0);
	return le16(d);
}

/* Get SEL Entry; returns the cc, data holds next id + bytes. */
static unsigned int
get(uint16_t resv, uint16_t id, uint8_t offset, uint8_t count,
    uint8_t *data, size_t *len)
{
	uint8_t	q[6] = { resv & 0xff, resv >> 8, id & 0xff, id >> 8, offset,
	    count };

	return sel_send(0x43, q, sizeof(q), data, len);
}

static const uint8_t event_rec[16] = { 0x00, 0x00, 0x02, 0x11, 0x22, 0x33,
    0x44, 0x41, 0x00, 0x04, 0x01, 0x30, 0x01, 0x57, 0x10, 0x20 };

Test(sel, an_added_entry_reads_back_field_by_field)
{
	uint8_t		d[64];
	size_t		len;
	uint32_t	before, after, ts;
	uint16_t	id;

	setup();
	before = sel_time();
	id = add(event_rec);
	after = sel_time();
	cr_assert_eq(id, 1);

	cr_assert_eq(get(0, id, 0, 0xff, d, &len), 0);
	cr_assert_eq(len, 18);
	cr_assert_eq(le16(d), 0xffff, "next id: none");
	cr_assert_eq(le16(d + 2), id, "record id");
	cr_assert_eq(d[2 + 2], 0x02, "record type");
	ts = le32(d + 2 + 3);
	cr_assert(ts >= before && ts <= after, "timestamp %u not in [%u, %u]",
	    ts, before, after);
	cr_assert_eq(d[2 + 7], 0x41, "generator id");
	cr_assert_eq(d[2 + 8], 0x00, "generator channel/lun");
	cr_assert_eq(d[2 + 9], 0x04, "evm rev");
	cr_assert_eq(d[2 + 10], 0x01, "sensor type");
	cr_assert_eq(d[2 + 11], 0x30, "sensor number");
	cr_assert_eq(d[2 + 12], 0x01, "event dir/type");
	cr_assert_arr_eq(d + 2 + 13, event_rec + 13, 3, "event data");
	done();
}

Test(sel, sel_info_counts_entries_free_space_and_the_last_add)
{
	uint8_t		d[64];
	size_t		len;
	uint32_t	before;

	setup();
	cr_assert_eq(sel_send(0x40, NULL, 0, d, &len), 0);
	cr_assert_eq(len, 14);
	cr_assert_eq(d[0], 0x51);
	cr_assert_eq(le16(d + 1), 0);
	cr_assert_eq(le16(d + 3), SEL_CAPACITY * 16);
	cr_assert_eq(d[13], 0x0b, "delete, reserve, allocation info");
	before = sel_time();
	add(event_rec);
	add(event_rec);
	add(event_rec);
	cr_assert_eq(sel_send(0x40, NULL, 0, d, &len), 0);
	cr_assert_eq(le16(d + 1), 3);
	cr_assert_eq(le16(d + 3), (SEL_CAPACITY - 3) * 16);
	cr_assert(le32(d + 5) >= before, "last add %u < %u", le32(d + 5),
	    before);
	done();
}

Test(sel, a_full_sel_answers_c4_and_shows_overflow)
{
	uint8_t	d[64];
	size_t	len;
	int	i;

	setup();
	for (i = 0; i < SEL_CAPACITY; i++)
		add(event_rec);
	cr_assert_eq(sel_send(0x44, event_rec, 16, d, &len), 0xc4);
	cr_assert_eq(sel_send(0x40, NULL, 0, d, &len), 0);
	cr_assert_eq(d[13] & 0x80, 0x80, "overflow flag");
	cr_assert_eq(le16(d + 3), 0);
	done();
}

Test(sel, entries_walk_from_0000_and_partial_reads_need_a_reservation)
{
	uint8_t		d[64];
	size_t		len;
	uint16_t	r;

	setup();
	add(event_rec);
	add(event_rec);
	cr_assert_eq(get(0, 0x0000, 0, 0xff, d, &len), 0);
	cr_assert_eq(le16(d), 2);
	cr_assert_eq(get(0, 0xffff, 0, 0xff, d, &len), 0);
	cr_assert_eq(le16(d + 2), 2);
	cr_assert_eq(get(0, 9, 0, 0xff, d, &len), 0xcb);
	cr_assert_eq(get(0, 1, 7, 3, d, &len), 0xc5);
	r = reserve();
	cr_assert_eq(get(r, 1, 7, 3, d, &len), 0);
	cr_assert_eq(len, 2 + 3);
	cr_assert_eq(d[2], 0x41);
	cr_assert_eq(get(r, 1, 16, 1, d, &len), 0xc9);
	done();
}

Test(sel, delete_with_a_stale_reservation_is_refused)
{
	uint8_t		d[64], q[4];
	size_t		len;
	uint16_t	r1, r2;

	setup();
	add(event_rec);
	add(event_rec);
	r1 = reserve();
	r2 = reserve();
	q[0] = r1 & 0xff;
	q[1] = r1 >> 8;
	q[2] = 1;
	q[3] = 0;
	cr_assert_eq(sel_send(0x46, q, 4, d, &len), 0xc5);
	q[0] = r2 & 0xff;
	q[1] = r2 >> 8;
	cr_assert_eq(sel_send(0x46, q, 4, d, &len), 0);
	cr_assert_eq(le16(d), 1);
	cr_assert_eq(get(0, 1, 0, 0xff, d, &len), 0xcb);
	cr_assert_eq(sel_send(0x46, q, 4, d, &len), 0xcb, "already gone");
	done();
}

Test(sel, clear_needs_its_reservation_and_signature)
{
	uint8_t		d[64], q[6] = { 0, 0, 'C', 'L', 'R', 0xaa };
	size_t		len;
	uint16_t	r1, r2;

	setup();
	add(event_rec);
	r1 = reserve();
	r2 = reserve();
	q[0] = r1 & 0xff;
	q[1] = r1 >> 8;
	cr_assert_eq(sel_send(0x47, q, 6, d, &len), 0xc5);
	q[0] = r2 & 0xff;
	q[1] = r2 >> 8;
	q[4] = 'X';
	cr_assert_eq(sel_send(0x47, q, 6, d, &len), 0xcc);
	q[4] = 'R';
	cr_assert_eq(sel_send(0x47, q, 6, d, &len), 0);
	cr_assert_eq(len, 1);
	cr_assert_eq(d[0], 0x01, "erase completed");
	cr_assert_eq(sel_send(0x40, NULL, 0, d, &len), 0);
	cr_assert_eq(le16(d + 1), 0);
	done();
}

Test(sel, set_sel_time_is_what_get_sel_time_answers_after_a_restart)
{
	static const uint8_t t[4] = { 0x00, 0x00, 0x00, 0x5f };
	uint8_t		d[64];
	size_t		len;
	uint32_t	now;

	setup();
	cr_assert_eq(sel_send(0x49, t, 4, d, &len), 0);
	cr_assert_eq(len, 0);
	now = sel_time();
	cr_assert(now >= 0x5f000000 && now <= 0x5f000000 + 5, "0x%08x", now);
	sel_stop();
	sel_start();
	now = sel_time();
	cr_assert(now >= 0x5f000000 && now <= 0x5f000000 + 10, "0x%08x", now);
	cr_assert_eq(sel_send(0x5c, NULL, 0, d, &len), 0);
	cr_assert_eq(le16(d), 0x07ff, "UTC offset unspecified");
	done();
}

Test(sel, a_platform_event_is_logged_and_passed_to_the_internal_channel)
{
	static const uint8_t	ev[] = { 0x41, 0x04, 0x01, 0x30, 0x01, 0x57,
	    0x10, 0x20 };
	struct rawh		h;
	struct rawh_result	res;
	struct rawh_req		rq;
	Hnd__Key		k = rawh_key(0x04, false, 0x02);
	uint8_t			d[64];
	size_t			len;

	setup();
	cr_assert_eq(rawh_connect(&h, env.hsock, "event-buffer", 2000), 0);
	k.channel_mask = 1 << INTERNAL_CH;
	cr_assert_eq(rawh_register(&h, 7, &k, 0, false, &res), 0,
	    "event buffer registration: %s", res.message);

	cr_assert_eq(send_on(-1, 0x04, 0x02, ev, sizeof(ev), d, &len), 0);
	cr_assert_eq(rawh_wait_request(&h, &rq, 3000), RAWH_MSG);
	cr_assert_eq(rq.channel, INTERNAL_CH);
	cr_assert_eq(rq.netfn, 0x04);
	cr_assert_eq(rq.cmd, 0x02);
	cr_assert_eq(rq.len, sizeof(ev));
	cr_assert_arr_eq(rq.data, ev, sizeof(ev));
	cr_assert_eq(rawh_respond(&h, rq.id, 0, NULL, 0), 0);

	cr_assert_eq(get(0, 0xffff, 0, 0xff, d, &len), 0);
	cr_assert_eq(d[2 + 2], 0x02, "system event record");
	cr_assert_eq(d[2 + 7], 0x41);
	cr_assert_eq(d[2 + 8], 0x00, "system interface: channel 0");
	cr_assert_arr_eq(d + 2 + 9, ev + 1, 7);

	/* The IPMB form has no generator ID; its channel is recorded. */
	cr_assert_eq(send_on(1, 0x04, 0x02, ev + 1, 7, d, &len), 0);
	cr_assert_eq(rawh_wait_request(&h, &rq, 3000), RAWH_MSG);
	cr_assert_eq(rq.len, 8);
	cr_assert_eq(rawh_respond(&h, rq.id, 0, NULL, 0), 0);
	cr_assert_eq(get(0, 0xffff, 0, 0xff, d, &len), 0);
	cr_assert_eq(d[2 + 8], 0x10, "channel 1");
	rawh_close(&h);
	done();
}

Test(sel, a_platform_event_nobody_buffers_is_still_logged)
{
	static const uint8_t	ev[] = { 0x41, 0x04, 0x01, 0x30, 0x01, 0x57,
	    0x10, 0x20 };
	uint8_t			d[64];
	size_t			len;

	setup();
	cr_assert_eq(send_on(-1, 0x04, 0x02, ev, sizeof(ev), d, &len), 0);
	cr_assert_eq(send_on(-1, 0x04, 0x02, ev, 6, d, &len), 0xc7);
	cr_assert_eq(sel_send(0x40, NULL, 0, d, &len), 0);
	cr_assert_eq(le16(d + 1), 1);
	done();
}

Test(sel, entries_outlive_a_restart_and_a_kill)
{
	uint8_t		d[64], rec[16];
	size_t		len;
	int		i;

	setup();
	memcpy(rec, event_rec, sizeof(rec));
	for (i = 0; i < 3; i++) {
		rec[11] = 0x30 + i;
		add(rec);
	}
	sel_stop();
	sel_start();
	cr_assert_eq(itest_wait_file(sel_log, "recovered 3 records", 1000),
	    0);
	kill(sel_pid, SIGKILL);
	cr_assert_eq(itest_wait_pid(sel_pid, 3000), 128 + SIGKILL);
	sel_pid = -1;
	cr_assert_eq(itest_wait_regs(&env, "sel", 0, 5000, NULL), 0);
	sel_start();
	for (i = 0; i < 3; i++) {
		cr_assert_eq(get(0, i + 1, 0, 0xff, d, &len), 0);
		cr_assert_eq(d[2 + 11], 0x30 + i);
		cr_assert_arr_eq(d + 2 + 7, event_rec + 7, 4);
	}
	cr_assert_eq(le16(d), 0xffff);
	done();
}
