/* SPDX-License-Identifier: MIT */
/*
 * emu_kind_bt against the reference (bt-bmc, section 1.1), driven through
 * the RPC a driver uses: emu_dev_ops for calls that complete, and raw
 * emu-proto.h messages for calls that must stay blocked (the test then
 * sees no RET until the host acts).
 */
#include <criterion/criterion.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu.h"
#include "emu-proto.h"

static char		dir[64];
static char		path[100];
static struct emu	*e;
static int		fd = -1;
static void		*dev;

static const uint8_t	getdevid[] = { 3, 0x06 << 2, 0x42, 0x01 };
static const uint8_t	rsp1[] = { 4, 0x07 << 2, 0x42, 0x01, 0x00 };
static const uint8_t	rsp2[] = { 5, 0x07 << 2, 0x43, 0x01, 0x00, 0x20 };

static void
setup(void)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };

	snprintf(dir, sizeof(dir), "/tmp/emu-bt-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bt.sock", dir);
	cr_assert_not_null(e = emu_start(EMU_BT, path));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cr_assert_not_null(dev = emu_dev_ops.open(dup(fd)));
}

static void
teardown(void)
{
	if (dev != NULL)
		emu_dev_ops.close(dev);
	if (fd >= 0)
		close(fd);
	emu_stop(e);
	rmdir(dir);
	dev = NULL;
	fd = -1;
}

TestSuite(emu_bt, .init = setup, .fini = teardown, .timeout = 10);

/* Send a call as raw RPC, without waiting for its RET. */
static void
raw_call(uint32_t type, uint64_t arg, const void *data, size_t len)
{
	struct emu_msg	m;

	memset(&m, 0, EMU_MSG_HDR);
	m.type = type;
	m.arg = arg;
	m.dlen = (uint32_t)len;
	if (len > 0)
		memcpy(m.data, data, len);
	cr_assert_eq(send(fd, &m, EMU_MSG_HDR + len, 0),
	    (ssize_t)(EMU_MSG_HDR + len));
}

/* The RET of a raw call, or false when none came within timeout_ms. */
static bool
raw_ret(struct emu_msg *m, int timeout_ms)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	ssize_t		n;

	for (;;) {
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return false;
		n = recv(fd, m, sizeof(*m), 0);
		cr_assert(n >= (ssize_t)EMU_MSG_HDR);
		if (m->type == EMU_MSG_RET)
			return true;
	}
}

static short
device_events(short want, int timeout_ms)
{
	short	got = 0;

	cr_assert_eq(emu_dev_ops.wait(dev, want, &got, NULL, 0, timeout_ms),
	    0);
	return got;
}

Test(emu_bt, read_blocks_until_the_host_sends_a_request)
{
	struct emu_msg	m;

	raw_call(EMU_MSG_READ, 256, NULL, 0);
	cr_assert_not(raw_ret(&m, 100), "read returned with no request");
	cr_assert_eq(emu_host_request(e, getdevid, sizeof(getdevid)), 0);
	cr_assert(raw_ret(&m, 2000), "read still blocked");
	cr_assert_eq(m.ret, 4);
	cr_assert_eq(memcmp(m.data, getdevid, 4), 0);
}

Test(emu_bt, read_returns_the_length_byte_and_the_whole_message)
{
	static const uint8_t	f[] = { 6, 0x0a << 2, 9, 0x43, 1, 2, 3 };
	uint8_t			buf[256];

	cr_assert_eq(emu_host_request(e, f, sizeof(f)), 0);
	cr_assert_eq(emu_dev_ops.read(dev, buf, sizeof(buf)), 7);
	cr_assert_eq(memcmp(buf, f, 7), 0);
}

Test(emu_bt, a_short_buffer_cuts_the_message_but_keeps_the_original_length)
{
	static const uint8_t	f[] = { 6, 0x0a << 2, 9, 0x43, 1, 2, 3 };
	uint8_t			buf[256];

	cr_assert_eq(emu_host_request(e, f, sizeof(f)), 0);
	cr_assert_eq(emu_dev_ops.read(dev, buf, 4), 4,
	    "1 + min(L, count - 1) bytes");
	cr_assert_eq(buf[0], 6, "byte 0 is the original L");
	cr_assert_eq(memcmp(buf + 1, f + 1, 3), 0);
	cr_assert_eq(device_events(POLLIN, 0), 0, "the rest is gone");
}

Test(emu_bt, queued_requests_are_read_one_per_call_in_order)
{
	uint8_t	f[4], buf[256];
	int	i;

	memcpy(f, getdevid, sizeof(f));
	for (i = 0; i < 3; i++) {
		f[2] = (uint8_t)(0x10 + i);
		cr_assert_eq(emu_host_request(e, f, sizeof(f)), 0);
	}
	for (i = 0; i < 3; i++) {
		cr_assert_eq(emu_dev_ops.read(dev, buf, sizeof(buf)), 4);
		cr_assert_eq(buf[2], 0x10 + i);
	}
}

Test(emu_bt, pollin_means_a_request_is_waiting)
{
	uint8_t	buf[256];

	cr_assert_eq(device_events(POLLIN, 0), 0);
	cr_assert_eq(emu_host_request(e, getdevid, sizeof(getdevid)), 0);
	cr_assert_eq(device_events(POLLIN, 1000), POLLIN);
	cr_assert_eq(emu_dev_ops.read(dev, buf, sizeof(buf)), 4);
	cr_assert_eq(device_events(POLLIN, 0), 0);
}

Test(emu_bt, a_write_shorter_than_five_bytes_is_einval)
{
	errno = 0;
	cr_assert_eq(emu_dev_ops.write(dev, rsp1, 4), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(emu_write_count(e), 1);
	cr_assert_eq(emu_refused_count(e), 1);
	cr_assert_eq(device_events(POLLOUT, 0), POLLOUT,
	    "a refused write leaves no response behind");
}

Test(emu_bt, a_write_sets_b2h_atn_and_clears_pollout_until_drained)
{
	uint8_t	buf[64];

	cr_assert_eq(device_events(POLLOUT, 0), POLLOUT);
	cr_assert_eq(emu_dev_ops.write(dev, rsp1, sizeof(rsp1)), 5);
	cr_assert_eq(device_events(POLLOUT, 0), 0);
	cr_assert_eq(emu_host_response(e, buf, sizeof(buf), 1000), 5);
	cr_assert_eq(memcmp(buf, rsp1, 5), 0);
	cr_assert_eq(device_events(POLLOUT, 1000), POLLOUT);
	cr_assert_eq(emu_write_count(e), 1);
	cr_assert_eq(emu_refused_count(e), 0);
}

Test(emu_bt, a_second_write_blocks_until_the_host_drains_the_first)
{
	struct emu_msg	m;
	uint8_t		buf[64];

	cr_assert_eq(emu_dev_ops.write(dev, rsp1, sizeof(rsp1)), 5);
	raw_call(EMU_MSG_WRITE, 0, rsp2, sizeof(rsp2));
	cr_assert_not(raw_ret(&m, 100), "write did not block on B2H_ATN");
	cr_assert_eq(emu_host_response(e, buf, sizeof(buf), 1000), 5);
	cr_assert_eq(memcmp(buf, rsp1, 5), 0);
	cr_assert(raw_ret(&m, 2000), "write still blocked after the drain");
	cr_assert_eq(m.ret, 6);
	cr_assert_eq(emu_host_response(e, buf, sizeof(buf), 1000), 6);
	cr_assert_eq(memcmp(buf, rsp2, 6), 0);
}

Test(emu_bt, a_write_blocks_while_the_host_holds_h_busy)
{
	struct emu_msg	m;
	uint8_t		buf[64];

	emu_host_hold(e, true);
	cr_assert_eq(device_events(POLLOUT, 0), 0, "POLLOUT while H_BUSY");
	raw_call(EMU_MSG_WRITE, 0, rsp1, sizeof(rsp1));
	cr_assert_not(raw_ret(&m, 100), "write did not block on H_BUSY");
	emu_host_hold(e, false);
	cr_assert(raw_ret(&m, 2000), "write still blocked after release");
	cr_assert_eq(m.ret, 5);
	cr_assert_eq(emu_host_response(e, buf, sizeof(buf), 1000), 5);
}

Test(emu_bt, a_holding_host_does_not_take_the_response)
{
	uint8_t	buf[64];

	cr_assert_eq(emu_dev_ops.write(dev, rsp1, sizeof(rsp1)), 5);
	emu_host_hold(e, true);
	cr_assert_eq(emu_host_response(e, buf, sizeof(buf), 50), 0);
	emu_host_hold(e, false);
	cr_assert_eq(emu_host_response(e, buf, sizeof(buf), 1000), 5);
}

Test(emu_bt, nothing_blocks_with_eagain_whatever_o_nonblock_says)
{
	struct emu_msg	m;

	/* The device has no O_NONBLOCK: an empty read blocks, never EAGAIN. */
	raw_call(EMU_MSG_READ, 256, NULL, 0);
	cr_assert_not(raw_ret(&m, 50));
	cr_assert_eq(emu_host_request(e, getdevid, sizeof(getdevid)), 0);
	cr_assert(raw_ret(&m, 2000));
	cr_assert_eq(m.ret, 4);
}

Test(emu_bt, ioctl_b100_sets_sms_atn_and_only_the_host_clears_it)
{
	cr_assert_not(emu_attention(e));
	cr_assert_eq(emu_dev_ops.ioctl(dev, 0xb100), 0);
	cr_assert(emu_attention(e));
	cr_assert_eq(emu_ioctl_count(e, 0xb100), 1);
	cr_assert_eq(emu_dev_ops.ioctl(dev, 0xb101), -1,
	    "bt-bmc has no clear ioctl");
	cr_assert_eq(errno, EINVAL);
	cr_assert(emu_attention(e));
	emu_host_clear_attention(e);
	cr_assert_not(emu_attention(e));
}

Test(emu_bt, any_other_ioctl_is_einval_not_enotty)
{
	static const unsigned long	reqs[] = { 0, 0xb101, 0xb102,
	    0x5401 };
	size_t				i;

	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		errno = 0;
		cr_assert_eq(emu_dev_ops.ioctl(dev, reqs[i]), -1);
		cr_assert_eq(errno, EINVAL, "ioctl 0x%lx", reqs[i]);
		cr_assert_eq(emu_ioctl_count(e, reqs[i]), 1);
	}
	cr_assert_not(emu_attention(e));
}

Test(emu_bt, a_host_frame_shorter_than_its_length_byte_reads_as_written)
{
	static const uint8_t	f[] = { 20, 0x06 << 2, 0x33, 0x01 };
	uint8_t			buf[256];

	cr_assert_eq(emu_host_request(e, f, sizeof(f)), 0);
	cr_assert_eq(emu_dev_ops.read(dev, buf, sizeof(buf)), 4);
	cr_assert_eq(buf[0], 20);
}

Test(emu_bt, the_host_cannot_send_more_than_the_256_byte_buffer)
{
	uint8_t	f[257];

	memset(f, 0, sizeof(f));
	f[0] = 255;
	cr_assert_eq(emu_host_request(e, f, 257), -1);
	cr_assert_eq(emu_host_request(e, f, 256), 0);
}
