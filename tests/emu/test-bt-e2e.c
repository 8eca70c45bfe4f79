/* SPDX-License-Identifier: MIT */
/*
 * BT end to end: the test plays the host on an emulated bt-bmc device,
 * and everything else is real. The daemon's config has a [bus bt0] whose
 * device is the emulator's socket and whose driver is the test build of
 * the shipped BT driver (ipmi-busdrv-bt-emu); the supervisor connects to
 * the emulator, starts the driver on that fd, and the broker routes its
 * requests to the real App handler (or a raw handler the test holds).
 * Frames in and out are the bytes /dev/ipmi-bt-host carries.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "ipmi/ipmiclient.h"
#include "itest.h"

#define BUS	"bt0"

static struct itest_env	env;
static struct emu	*e;
static char		path[100];
static pid_t		app = -1;

/* Get Device ID as the App handler answers it with conf/app-handler.conf. */
static const uint8_t	devid[] = { 0x20, 0x01, 0x01, 0x02, 0x02, 0x00,
    0xd9, 0x7e, 0x00, 0x01, 0x00 };

static void
host_send(uint8_t netfn, uint8_t seq, uint8_t cmd, const void *data,
    size_t len)
{
	uint8_t	f[256];

	f[0] = (uint8_t)(3 + len);
	f[1] = (uint8_t)(netfn << 2);
	f[2] = seq;
	f[3] = cmd;
	if (len > 0)
		memcpy(f + 4, data, len);
	cr_assert_eq(emu_host_request(e, f, 4 + len), 0);
}

/* The next response the host reads, asserting its framing. */
static size_t
host_recv(uint8_t *f, int timeout_ms)
{
	size_t	n;

	n = emu_host_response(e, f, 256, timeout_ms);
	cr_assert(n >= 5, "no response from the driver (log %s)", env.log);
	cr_assert_eq(f[0], n - 1, "length byte %u for %zu bytes", f[0], n);
	return n;
}

static void
expect_devid(const uint8_t *f, size_t n, uint8_t seq)
{
	cr_assert_eq(n, 5 + sizeof(devid), "%zu bytes", n);
	cr_assert_eq(f[1], 0x07 << 2, "netfn/lun 0x%02x", f[1]);
	cr_assert_eq(f[2], seq, "seq 0x%02x, expected 0x%02x", f[2], seq);
	cr_assert_eq(f[3], 0x01);
	cr_assert_eq(f[4], 0x00, "cc 0x%02x", f[4]);
	cr_assert_eq(memcmp(f + 5, devid, sizeof(devid)), 0);
}

/* Ask Get Device ID until the App handler answers it (it registers
 * after connecting; until then the broker answers 0xC1). */
static void
wait_app(void)
{
	uint8_t	f[256];
	int64_t	end = itest_now_ms() + 10000;
	size_t	n;

	for (;;) {
		host_send(0x06, 0x01, 0x01, NULL, 0);
		n = host_recv(f, 5000);
		if (f[4] == 0x00) {
			expect_devid(f, n, 0x01);
			return;
		}
		cr_assert_eq(f[4], 0xc1, "cc 0x%02x", f[4]);
		cr_assert(itest_now_ms() < end, "the App handler never "
		    "answered (log %s)", env.log);
		itest_pause_ms(20);
	}
}

static void
setup(void)
{
	const char	*drv = itest_bin("IPMI_BUSDRV_BT_EMU");

	cr_assert_not_null(drv, "IPMI_BUSDRV_BT_EMU is not set");
	cr_assert_eq(itest_env_init(&env), 0);
	snprintf(path, sizeof(path), "%s/bt.sock", env.dir);
	cr_assert_not_null(e = emu_start(EMU_BT, path));
	cr_assert_eq(itest_write_config(&env, "[bus " BUS "]\n"
	    "driver = bt\ndevice = %s\nchannel = 1\ndriver_path = %s\n",
	    path, drv), 0);
	cr_assert_eq(itest_daemon_start(&env, 5000), 0, "log %s", env.log);
	cr_assert(emu_wait_sessions(e, 1, 5000), "no driver session");
	cr_assert(emu_connected(e));
	cr_assert_eq(itest_wait_file(env.log, "bus " BUS ": broker deadline",
	    5000), 0, "the driver was not welcomed (log %s)", env.log);
	app = itest_handler_start(&env, "IPMI_HANDLER_APP",
	    "app-handler.conf", "app");
	cr_assert(app > 0);
	wait_app();
}

static void
teardown(void)
{
	if (app > 0)
		itest_stop_pid(app, 3000);
	app = -1;
	if (env.pid > 0)
		itest_daemon_stop(&env, 5000);
	emu_stop(e);
	e = NULL;
	/* EMU_KEEP=1 keeps the directory and its logs for a post-mortem. */
	if (getenv("EMU_KEEP") == NULL)
		itest_env_cleanup(&env);
}

TestSuite(bt_e2e, .init = setup, .fini = teardown, .timeout = 60);

Test(bt_e2e, get_device_id_comes_back_from_the_app_handler_with_its_seq)
{
	uint8_t	f[256];
	size_t	n;

	host_send(0x06, 0x42, 0x01, NULL, 0);
	n = host_recv(f, 5000);
	cr_assert_eq(f[0], 15);
	cr_assert_eq(f[1], 0x1c);
	expect_devid(f, n, 0x42);
}

Test(bt_e2e, outstanding_requests_are_answered_with_matching_seqs)
{
	uint8_t	f[256];
	bool	seen[4] = { false };
	size_t	n;
	int	i;

	for (i = 0; i < 4; i++)
		host_send(0x06, (uint8_t)(0x50 + i), 0x01, NULL, 0);
	for (i = 0; i < 4; i++) {
		n = host_recv(f, 5000);
		cr_assert(f[2] >= 0x50 && f[2] < 0x54, "seq 0x%02x", f[2]);
		cr_assert_not(seen[f[2] - 0x50], "seq 0x%02x twice", f[2]);
		seen[f[2] - 0x50] = true;
		expect_devid(f, n, f[2]);
	}
}

Test(bt_e2e, a_holding_host_queues_responses_and_never_blocks_the_driver)
{
	struct rawh	h;
	struct rawh_req	rq;
	uint8_t		f[256];
	unsigned	writes;
	size_t		n;

	cr_assert_eq(rawh_connect(&h, env.hsock, "oem", 3000), 0);
	cr_assert_eq(rawh_reg(&h, 0x30, 0x11), HND__STATUS__OK);
	writes = emu_write_count(e);
	emu_host_hold(e, true);
	host_send(0x06, 0x60, 0x01, NULL, 0);
	/* The driver keeps reading: the next request reaches a handler. */
	host_send(0x30, 0x61, 0x11, "\x07", 1);
	cr_assert_eq(rawh_wait_request(&h, &rq, 5000), RAWH_MSG,
	    "the second request never reached the broker (log %s)", env.log);
	cr_assert_eq(rq.len, 1);
	cr_assert_eq(rq.data[0], 0x07);
	cr_assert_eq(rq.channel, 1);
	cr_assert_eq(rawh_respond(&h, rq.id, 0x00, "\xab\xcd", 2), 0);
	cr_assert_eq(emu_host_response(e, f, sizeof(f), 300), 0);
	cr_assert_eq(emu_write_count(e), writes,
	    "the driver wrote while the host held (a blocking write)");
	emu_host_hold(e, false);
	/* Both come out; BT matches them by seq, in whatever order the
	 * handlers answered (the App handler may be the slower one). */
	for (int i = 0, seen = 0; i < 2; i++) {
		n = host_recv(f, 5000);
		cr_assert(f[2] == 0x60 || f[2] == 0x61, "seq 0x%02x", f[2]);
		cr_assert_not(seen & (1 << (f[2] - 0x60)), "seq 0x%02x twice",
		    f[2]);
		seen |= 1 << (f[2] - 0x60);
		if (f[2] == 0x60) {
			expect_devid(f, n, 0x60);
			continue;
		}
		cr_assert_eq(n, 7);
		cr_assert_eq(memcmp(f, "\x06\xc4\x61\x11\x00\xab\xcd", 7), 0);
	}
	rawh_close(&h);
}

Test(bt_e2e, an_unregistered_command_is_answered_c1)
{
	uint8_t	f[256];
	size_t	n;

	host_send(0x30, 0x70, 0x55, NULL, 0);
	n = host_recv(f, 5000);
	cr_assert_eq(n, 5);
	cr_assert_eq(memcmp(f, "\x04\xc4\x70\x55\xc1", 5), 0,
	    "got %02x %02x %02x %02x %02x", f[0], f[1], f[2], f[3], f[4]);
}

Test(bt_e2e, a_bad_length_byte_is_answered_c7_by_the_driver)
{
	static const uint8_t	bad[] = { 20, 0x06 << 2, 0x44, 0x01 };
	uint8_t			f[256];
	size_t			n;

	cr_assert_eq(emu_host_request(e, bad, sizeof(bad)), 0);
	n = host_recv(f, 5000);
	cr_assert_eq(n, 5);
	/* The App handler answers Get Device ID 0x00: this never got there. */
	cr_assert_eq(memcmp(f, "\x04\x1c\x44\x01\xc7", 5), 0,
	    "got %02x %02x %02x %02x %02x", f[0], f[1], f[2], f[3], f[4]);
	cr_assert_eq(itest_wait_file(env.log, "length byte disagrees", 3000),
	    0);
}

Test(bt_e2e, a_short_or_response_frame_is_dropped_and_the_next_served)
{
	static const uint8_t	shortf[] = { 2, 0x06 << 2, 0x45 };
	static const uint8_t	rspf[] = { 4, 0x07 << 2, 0x46, 0x01, 0x00 };
	uint8_t			f[256];
	size_t			n;

	cr_assert_eq(emu_host_request(e, shortf, sizeof(shortf)), 0);
	cr_assert_eq(emu_host_request(e, rspf, sizeof(rspf)), 0);
	host_send(0x06, 0x47, 0x01, NULL, 0);
	n = host_recv(f, 5000);
	expect_devid(f, n, 0x47);
}

static struct ipmic *
attention_client(void)
{
	struct ipmic	*c;

	cr_assert_not_null(c = ipmic_new("attention"));
	cr_assert_eq(ipmic_set_socket(c, env.hsock), 0);
	cr_assert_eq(ipmic_connect(c, 3000), 0);
	return c;
}

Test(bt_e2e, a_handler_raises_attention_with_ioctl_b100)
{
	struct ipmic_error	err;
	struct ipmic		*c = attention_client();

	cr_assert_not(emu_attention(e));
	memset(&err, 0, sizeof(err));
	cr_assert_eq(ipmic_attention(c, BUS, true, &err), 0, "%s",
	    err.message);
	cr_assert(emu_attention(e));
	cr_assert_eq(emu_ioctl_count(e, 0xb100), 1);
	ipmic_free(c);
}

Test(bt_e2e, clearing_attention_is_refused_with_a_reason)
{
	struct ipmic_error	err;
	struct ipmic		*c = attention_client();
	int			r;

	cr_assert_eq(ipmic_attention(c, BUS, true, &err), 0);
	memset(&err, 0, sizeof(err));
	r = ipmic_attention(c, BUS, false, &err);
	cr_assert_eq(r, IPMIC_E_UNSUPPORTED, "got %d (%s)", r, err.message);
	cr_assert_not_null(strstr(err.message, "cannot clear attention"),
	    "message: %s", err.message);
	cr_assert(emu_attention(e), "attention was cleared anyway");
	cr_assert_eq(emu_ioctl_count(e, 0xb100), 1);
	cr_assert_eq(emu_ioctl_count(e, 0xb101), 0, "an ioctl was tried");
	ipmic_free(c);
}

/* The pid in the first "bus bt0: driver[PID] started" line of the log. */
static pid_t
driver_pid(void)
{
	const char	*needle = "bus " BUS ": driver[";
	char		*log, *p;
	pid_t		 pid = -1;

	cr_assert_not_null(log = itest_read_file(env.log));
	for (p = log; (p = strstr(p, needle)) != NULL; p++)
		if (strstr(p, "] started") == strchr(p, ']')) {
			pid = (pid_t)strtol(p + strlen(needle), NULL, 10);
			break;
		}
	free(log);
	cr_assert(pid > 0, "no driver start in %s", env.log);
	return pid;
}

Test(bt_e2e, a_restarted_driver_serves_what_the_host_sent_meanwhile)
{
	struct ipmic	*c = attention_client();
	uint8_t		 f[256];
	size_t		 n;

	cr_assert_eq(ipmic_attention(c, BUS, true, NULL), 0);
	ipmic_free(c);
	cr_assert_eq(emu_sessions(e), 1);
	cr_assert_eq(kill(driver_pid(), SIGKILL), 0);
	cr_assert_eq(itest_wait_file(env.log, "killed by signal 9", 5000), 0,
	    "log %s", env.log);
	host_send(0x06, 0x77, 0x01, NULL, 0);
	cr_assert(emu_wait_sessions(e, 2, 5000), "no new driver session");
	n = host_recv(f, 5000);
	expect_devid(f, n, 0x77);
	cr_assert(emu_attention(e), "device state did not survive");
}
