/* SPDX-License-Identifier: MIT */
/*
 * IPMB end to end: the real daemon starts the real IPMB driver
 * (ipmi-busdrv-ipmb-emu: bus-drivers/ipmb.c + busdrv.c on emu_dev_ops)
 * on an emulated /dev/ipmb-N, and requests the test puts on the emulated
 * bus travel driver -> broker -> a real handler (the App handler, or a
 * raw one) and back as IPMB frames the test checks byte by byte: the
 * requester's address, its rqSeq, both checksums.
 */
#include <criterion/criterion.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "itest.h"

#define IPMB_CHANNEL	6
#define OUR_SA		0x20
#define HOST_SA		0x81

static struct itest_env	 env;
static struct emu	*dev;
static pid_t		 app = -1;

static void
setup(void)
{
	char	path[160];

	cr_assert_eq(itest_env_init(&env), 0);
	snprintf(path, sizeof(path), "%s/ipmb.sock", env.dir);
	cr_assert_not_null(dev = emu_start(EMU_IPMB, path));
	cr_assert_not_null(getenv("IPMI_BUSDRV_IPMB_EMU"));
	cr_assert_eq(itest_write_config(&env, "\n[bus ipmb0]\n"
	    "driver = ipmb\ndevice = %s\nchannel = %d\ndriver_path = %s\n",
	    path, IPMB_CHANNEL, getenv("IPMI_BUSDRV_IPMB_EMU")), 0);
}

static void
teardown(void)
{
	if (app > 0)
		itest_stop_pid(app, 3000);
	app = -1;
	itest_daemon_stop(&env, 5000);
	emu_stop(dev);
	dev = NULL;
	itest_env_cleanup(&env);
}

TestSuite(ipmb_e2e, .init = setup, .fini = teardown, .timeout = 60);

static uint8_t
sum(const uint8_t *p, size_t n)
{
	uint8_t	s = 0;

	while (n-- > 0)
		s += *p++;
	return s;
}

/* A request from HOST_SA as the device reads it; returns its length. */
static size_t
mkreq(uint8_t *f, uint8_t netfn, uint8_t seq, uint8_t cmd,
    const uint8_t *data, size_t dlen)
{
	size_t	n = 8 + dlen;

	f[0] = (uint8_t)(n - 1);
	f[1] = OUR_SA;
	f[2] = (uint8_t)(netfn << 2);
	f[3] = (uint8_t)-sum(f + 1, 2);
	f[4] = HOST_SA;
	f[5] = (uint8_t)(seq << 2);
	f[6] = cmd;
	if (dlen > 0)
		memcpy(f + 7, data, dlen);
	f[n - 1] = (uint8_t)-sum(f + 4, n - 5);
	return n;
}

static void
host_send(const uint8_t *f, size_t n)
{
	cr_assert_eq(emu_host_request(dev, f, n), 0);
}

/* The next response on the bus, checked as a valid IPMB response to a
 * request from HOST_SA with this netfn/seq/cmd; returns its length. */
static size_t
host_response(uint8_t *f, size_t max, uint8_t netfn, uint8_t seq,
    uint8_t cmd)
{
	size_t	n;

	n = emu_host_response(dev, f, max, 5000);
	cr_assert_geq(n, 9, "no response for seq %u (log %s)", seq, env.log);
	cr_assert_eq(f[0], n - 1, "len byte");
	cr_assert_eq(f[1], HOST_SA, "addressed to 0x%02x", f[1]);
	cr_assert_eq(f[2], (netfn | 1) << 2, "netfn/lun 0x%02x", f[2]);
	cr_assert_eq(sum(f + 1, 3), 0, "checksum 1");
	cr_assert_eq(f[4], OUR_SA, "from 0x%02x", f[4]);
	cr_assert_eq(f[5] >> 2, seq, "seq %u, want %u", f[5] >> 2, seq);
	cr_assert_eq(f[6], cmd);
	cr_assert_eq(sum(f + 4, n - 4), 0, "checksum 2");
	return n;
}

static void
start(void)
{
	cr_assert_eq(itest_daemon_start(&env, 5000), 0, "log %s", env.log);
	cr_assert(emu_wait_sessions(dev, 1, 5000), "the driver never opened "
	    "its device (log %s)", env.log);
	/* The bus is up: the broker welcomed the driver. */
	cr_assert_eq(itest_wait_file(env.log, "bus ipmb0: broker deadline",
	    5000), 0, "the broker never welcomed the driver (log %s)",
	    env.log);
}

static void
start_app(void)
{
	int	got;

	app = itest_handler_start(&env, "IPMI_HANDLER_APP",
	    "app-handler.conf", "app");
	cr_assert(app > 0);
	cr_assert_eq(itest_wait_regs(&env, "app", ITEST_APP_NCMDS, 5000, &got), 0,
	    "app registrations: %d", got);
}

/* The next Request, skipping events (bus up...); RAWH_TIMEOUT if none. */
static int
wait_request(struct rawh *h, struct rawh_req *rq, int timeout_ms)
{
	int64_t	end = itest_now_ms() + timeout_ms, left;
	int	r;

	do {
		left = end - itest_now_ms();
		r = rawh_wait_request(h, rq, left > 0 ? (int)left : 0);
	} while (r == RAWH_OTHER);
	return r;
}

/* A raw handler for netfn 0x30 cmd 0x01. */
static void
raw_handler(struct rawh *h)
{
	cr_assert_eq(rawh_connect(h, env.hsock, "ipmb-raw", 3000), 0);
	cr_assert_eq(rawh_reg(h, 0x30, 0x01), HND__STATUS__OK);
}

Test(ipmb_e2e, get_device_id_from_0x81_seq_5_comes_back_to_0x81_with_seq_5)
{
	uint8_t	f[64], rsp[256];
	size_t	n;

	start();
	start_app();
	host_send(f, mkreq(f, 0x06, 5, 0x01, NULL, 0));
	n = host_response(rsp, sizeof(rsp), 0x06, 5, 0x01);
	cr_assert_eq(rsp[7], 0x00, "cc 0x%02x", rsp[7]);
	cr_assert_eq(n, 9 + 11, "Get Device ID: 11 data bytes");
	cr_assert_eq(rsp[8], 0x20, "device id");
}

Test(ipmb_e2e, a_bad_checksum_2_never_reaches_a_handler_and_the_next_frame_does)
{
	struct rawh	h;
	struct rawh_req	rq;
	uint8_t		f[64], rsp[256];
	size_t		n;

	start();
	raw_handler(&h);
	n = mkreq(f, 0x30, 1, 0x01, (const uint8_t *)"\x11", 1);
	f[n - 1] ^= 0x40;
	host_send(f, n);
	cr_assert_eq(wait_request(&h, &rq, 700), RAWH_TIMEOUT,
	    "a frame with a bad checksum 2 was routed");
	cr_assert_eq(emu_host_response(dev, rsp, sizeof(rsp), 100), 0,
	    "a frame with a bad checksum 2 was answered");
	cr_assert_eq(itest_wait_file(env.log, "bad checksum", 3000), 0,
	    "the driver did not say why it dropped the frame (log %s)",
	    env.log);

	host_send(f, mkreq(f, 0x30, 2, 0x01, (const uint8_t *)"\x22", 1));
	cr_assert_eq(wait_request(&h, &rq, 3000), RAWH_MSG);
	cr_assert_eq(rq.netfn, 0x30);
	cr_assert_eq(rq.cmd, 0x01);
	cr_assert_eq(rq.channel, IPMB_CHANNEL);
	cr_assert_eq(rq.len, 1);
	cr_assert_eq(rq.data[0], 0x22);
	cr_assert_eq(rawh_respond(&h, rq.id, 0x00, "\x99", 1), 0);
	n = host_response(rsp, sizeof(rsp), 0x30, 2, 0x01);
	cr_assert_eq(n, 10);
	cr_assert_eq(rsp[7], 0x00);
	cr_assert_eq(rsp[8], 0x99);
	rawh_close(&h);
}

Test(ipmb_e2e, a_response_frame_on_the_bus_is_not_routed_as_a_request)
{
	struct rawh	h;
	struct rawh_req	rq;
	uint8_t		f[64], rsp[256];

	start();
	raw_handler(&h);
	/* Netfn 0x31: a response to a request with netfn 0x30. */
	host_send(f, mkreq(f, 0x31, 3, 0x01, (const uint8_t *)"\x00", 1));
	cr_assert_eq(wait_request(&h, &rq, 700), RAWH_TIMEOUT);
	cr_assert_eq(emu_host_response(dev, rsp, sizeof(rsp), 100), 0);
	host_send(f, mkreq(f, 0x30, 4, 0x01, NULL, 0));
	cr_assert_eq(wait_request(&h, &rq, 3000), RAWH_MSG);
	cr_assert_eq(rawh_respond(&h, rq.id, 0x00, NULL, 0), 0);
	host_response(rsp, sizeof(rsp), 0x30, 4, 0x01);
	rawh_close(&h);
}

Test(ipmb_e2e, an_answer_longer_than_an_ipmb_message_becomes_ca)
{
	struct rawh	h;
	struct rawh_req	rq;
	uint8_t		f[64], rsp[256], big[25];
	size_t		n;

	memset(big, 0x42, sizeof(big));
	start();
	raw_handler(&h);
	host_send(f, mkreq(f, 0x30, 7, 0x01, NULL, 0));
	cr_assert_eq(wait_request(&h, &rq, 3000), RAWH_MSG);
	cr_assert_eq(rawh_respond(&h, rq.id, 0x00, big, sizeof(big)), 0);
	n = host_response(rsp, sizeof(rsp), 0x30, 7, 0x01);
	cr_assert_eq(rsp[7], 0xca, "cc 0x%02x", rsp[7]);
	cr_assert_eq(n, 9);

	host_send(f, mkreq(f, 0x30, 8, 0x01, NULL, 0));
	cr_assert_eq(wait_request(&h, &rq, 3000), RAWH_MSG);
	cr_assert_eq(rawh_respond(&h, rq.id, 0x00, big, 24), 0);
	n = host_response(rsp, sizeof(rsp), 0x30, 8, 0x01);
	cr_assert_eq(rsp[7], 0x00, "24 bytes fit: cc 0x%02x", rsp[7]);
	cr_assert_eq(n, 33, "a 32-byte IPMB message");
	rawh_close(&h);
}

/*
 * The kernel hands a backlog over newest first; the driver must route it
 * oldest first. The frames wait in the device before the driver starts
 * (which reads nothing until the broker welcomed it), so its first read
 * finds all three. Nobody serves netfn 0x30 cmd 0x55, so the broker
 * answers each 0xC1 at once, in the order it got them.
 */
Test(ipmb_e2e, a_backlog_of_three_frames_is_served_oldest_first)
{
	uint8_t	f[64], rsp[256];
	int	seq;

	for (seq = 1; seq <= 3; seq++)
		host_send(f, mkreq(f, 0x30, (uint8_t)seq, 0x55, NULL, 0));
	start();
	for (seq = 1; seq <= 3; seq++) {
		host_response(rsp, sizeof(rsp), 0x30, (uint8_t)seq, 0x55);
		cr_assert_eq(rsp[7], 0xc1, "cc 0x%02x", rsp[7]);
	}
}

/*
 * Three frames put on the bus at once while the driver runs reach a
 * handler in the order they were sent, however the driver's reads split
 * them (each read drains the kernel's stack, so every batch is reversed
 * whole).
 */
/*
 * Frames arriving while the driver drains the queue are not ordered: the
 * kernel pushes each new frame at the head it reads from, so a frame that
 * lands mid-drain is read before the older ones still queued. (A backlog
 * present before the drain comes out oldest first: the test above.) What
 * must hold for a burst is that every request arrives exactly once and
 * every answer goes back to its own rqSeq.
 */
Test(ipmb_e2e, a_burst_of_three_frames_reaches_the_handler_each_once)
{
	struct rawh	h;
	struct rawh_req	rq[3];
	uint8_t		f[64], rsp[256], i, j, seen = 0;
	int		r;

	start();
	raw_handler(&h);
	for (i = 1; i <= 3; i++)
		host_send(f, mkreq(f, 0x30, i, 0x01, &i, 1));
	for (i = 0; i < 3; i++) {
		r = wait_request(&h, &rq[i], 3000);
		cr_assert_eq(r, RAWH_MSG, "request %u: %d (log %s)", i + 1, r,
		    env.log);
		cr_assert_eq(rq[i].len, 1);
		cr_assert(rq[i].data[0] >= 1 && rq[i].data[0] <= 3,
		    "request data %u", rq[i].data[0]);
		cr_assert_not(seen & (1u << rq[i].data[0]), "request %u came "
		    "twice", rq[i].data[0]);
		seen |= (uint8_t)(1u << rq[i].data[0]);
	}
	/* Answer in seq order, so the answers come back in seq order. */
	for (i = 1; i <= 3; i++) {
		for (j = 0; j < 3 && rq[j].data[0] != i; j++)
			;
		cr_assert_eq(rawh_respond(&h, rq[j].id, 0x00, NULL, 0), 0);
		host_response(rsp, sizeof(rsp), 0x30, i, 0x01);
	}
	rawh_close(&h);
}
