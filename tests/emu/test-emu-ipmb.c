/* SPDX-License-Identifier: MIT */
/*
 * The IPMB emulation (emu-ipmb.c) against the kernel driver it stands for
 * (reference 1.3; ipmb_dev_int.c at 908ae7e0): each test drives the
 * kind's functions directly, as the emulator core does for a driver's
 * call, and plays the host through the host_* functions. The last test
 * goes through the emulator core and emu_dev_ops, the path the test
 * build of the driver takes.
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

#include "emu-kind.h"

static const struct emu_kind	*kind = &emu_kind_ipmb;
static void			*st;
static struct emu_call		 call;

static void
setup(void)
{
	cr_assert_not_null(st = kind->create());
}

static void
teardown(void)
{
	kind->destroy(st);
}

TestSuite(emu_ipmb, .init = setup, .fini = teardown, .timeout = 5);

static uint8_t
sum(const uint8_t *p, size_t n)
{
	uint8_t	s = 0;

	while (n-- > 0)
		s += *p++;
	return s;
}

/* A request frame as the device reads it (len, our address first). */
static size_t
mkreq(uint8_t *f, uint8_t seq, uint8_t cmd, size_t dlen)
{
	size_t	n = 8 + dlen, i;

	f[0] = (uint8_t)(n - 1);
	f[1] = 0x20;
	f[2] = 0x06 << 2;
	f[3] = (uint8_t)-sum(f + 1, 2);
	f[4] = 0x81;
	f[5] = (uint8_t)(seq << 2);
	f[6] = cmd;
	for (i = 0; i < dlen; i++)
		f[7 + i] = (uint8_t)i;
	f[n - 1] = (uint8_t)-sum(f + 4, n - 5);
	return n;
}

static ssize_t
dev_read(size_t len)
{
	memset(&call, 0, sizeof(call));
	call.op = EMU_OP_READ;
	call.len = len;
	cr_assert(kind->call(st, &call), "an IPMB read never blocks");
	return call.ret;
}

static ssize_t
dev_write(const uint8_t *buf, size_t len)
{
	memset(&call, 0, sizeof(call));
	call.op = EMU_OP_WRITE;
	memcpy(call.data, buf, len);
	call.dlen = len;
	cr_assert(kind->call(st, &call), "an IPMB write never blocks");
	return call.ret;
}

static ssize_t
dev_ioctl(unsigned long req)
{
	memset(&call, 0, sizeof(call));
	call.op = EMU_OP_IOCTL;
	call.req = req;
	cr_assert(kind->call(st, &call), "an IPMB ioctl never blocks");
	return call.ret;
}

Test(emu_ipmb, an_empty_device_polls_out_only_and_a_read_gets_eagain)
{
	cr_assert_eq(kind->revents(st), POLLOUT);
	cr_assert_eq(dev_read(240), -1);
	cr_assert_eq(call.err, EAGAIN);
}

Test(emu_ipmb, a_frame_with_a_good_checksum_1_is_queued_and_polls_in)
{
	uint8_t	f[64];
	size_t	n = mkreq(f, 1, 0x01, 2);

	cr_assert_eq(kind->host_request(st, f, n), 0);
	cr_assert_eq(kind->revents(st), POLLIN | POLLOUT);
	cr_assert_eq(dev_read(240), (ssize_t)n);
	cr_assert_arr_eq(call.out, f, n);
	cr_assert_eq(kind->revents(st), POLLOUT);
}

Test(emu_ipmb, a_frame_with_a_bad_checksum_1_is_dropped_silently)
{
	uint8_t	f[64];
	size_t	n = mkreq(f, 1, 0x01, 0);

	f[3] ^= 0x01;
	cr_assert_eq(kind->host_request(st, f, n), 0, "the host cannot tell");
	cr_assert_eq(kind->revents(st), POLLOUT);
	cr_assert_eq(dev_read(240), -1);
	cr_assert_eq(call.err, EAGAIN);
}

Test(emu_ipmb, a_frame_with_a_bad_checksum_2_is_queued_as_the_kernel_does)
{
	uint8_t	f[64];
	size_t	n = mkreq(f, 1, 0x01, 0);

	f[n - 1] ^= 0x55;
	cr_assert_eq(kind->host_request(st, f, n), 0);
	cr_assert_eq(dev_read(240), (ssize_t)n);
	cr_assert_eq(call.out[n - 1], f[n - 1]);
}

Test(emu_ipmb, frames_under_seven_bytes_after_len_are_dropped)
{
	uint8_t	f[64];
	size_t	n;

	mkreq(f, 1, 0x01, 0);
	for (n = 1; n < 8; n++) {
		cr_assert_eq(kind->host_request(st, f, n), 0);
		cr_assert_eq(kind->revents(st), POLLOUT, "%zu bytes", n);
	}
	cr_assert_eq(kind->host_request(st, f, 8), 0);
	cr_assert_eq(kind->revents(st), POLLIN | POLLOUT, "7 bytes is enough");
}

Test(emu_ipmb, a_backlog_is_read_newest_first)
{
	uint8_t	f[64];
	size_t	n;
	int	seq;

	for (seq = 1; seq <= 3; seq++) {
		n = mkreq(f, (uint8_t)seq, 0x01, 0);
		cr_assert_eq(kind->host_request(st, f, n), 0);
	}
	for (seq = 3; seq >= 1; seq--) {
		cr_assert_eq(dev_read(240), (ssize_t)n);
		cr_assert_eq(call.out[5] >> 2, seq, "got seq %d, want %d",
		    call.out[5] >> 2, seq);
	}
	cr_assert_eq(dev_read(240), -1);
}

Test(emu_ipmb, a_short_read_is_cut_without_error_and_consumes_the_frame)
{
	uint8_t	f[64];
	size_t	n = mkreq(f, 1, 0x01, 10);

	cr_assert_eq(kind->host_request(st, f, n), 0);
	cr_assert_eq(dev_read(5), 5);
	cr_assert_arr_eq(call.out, f, 5);
	cr_assert_eq(call.out[0], n - 1, "byte 0 keeps the whole length");
	cr_assert_eq(dev_read(240), -1, "the rest is gone");
	cr_assert_eq(call.err, EAGAIN);
}

Test(emu_ipmb, a_zero_byte_read_consumes_the_frame)
{
	uint8_t	f[64];
	size_t	n = mkreq(f, 1, 0x01, 0);

	cr_assert_eq(kind->host_request(st, f, n), 0);
	cr_assert_eq(dev_read(0), 0);
	cr_assert_eq(kind->revents(st), POLLOUT);
}

Test(emu_ipmb, the_device_counts_the_length_byte_itself)
{
	uint8_t	f[64];
	size_t	n = mkreq(f, 1, 0x01, 3);

	f[0] = 0xff;
	cr_assert_eq(kind->host_request(st, f, n), 0);
	cr_assert_eq(dev_read(240), (ssize_t)n);
	cr_assert_eq(call.out[0], n - 1);
}

Test(emu_ipmb, bytes_past_the_kernel_buffer_are_dropped)
{
	uint8_t	f[300];
	size_t	n = mkreq(f, 1, 0x01, 260);

	cr_assert_eq(n, 268);
	cr_assert_eq(kind->host_request(st, f, n), 0);
	cr_assert_eq(dev_read(512), 239);
	cr_assert_eq(call.out[0], 238);
	cr_assert_arr_eq(call.out + 1, f + 1, 238);
}

Test(emu_ipmb, the_queue_holds_256_frames_and_drops_later_ones)
{
	uint8_t	f[64];
	size_t	n = mkreq(f, 1, 0x01, 0);
	int	i;

	for (i = 0; i < 256; i++)
		cr_assert_eq(kind->host_request(st, f, n), 0, "frame %d", i);
	cr_assert_eq(kind->host_request(st, f, n), -1);
	for (i = 0; i < 256; i++)
		cr_assert_eq(dev_read(240), (ssize_t)n);
	cr_assert_eq(dev_read(240), -1);
}

Test(emu_ipmb, a_write_over_240_bytes_is_einval)
{
	uint8_t	buf[241];

	memset(buf, 0, sizeof(buf));
	buf[0] = 240;
	cr_assert_eq(dev_write(buf, 241), -1);
	cr_assert_eq(call.err, EINVAL);
	buf[0] = 239;
	cr_assert_eq(dev_write(buf, 240), 240);
}

Test(emu_ipmb, a_write_shorter_than_its_len_byte_is_einval)
{
	uint8_t	buf[16] = { 10, 0x81 };

	cr_assert_eq(dev_write(buf, 9), -1);
	cr_assert_eq(call.err, EINVAL);
	cr_assert_eq(dev_write(buf, 0), -1);
	cr_assert_eq(call.err, EINVAL);
	cr_assert_eq(kind->host_take(st, buf, sizeof(buf)), 0);
}

Test(emu_ipmb, written_frames_reach_the_host_oldest_first_as_written)
{
	uint8_t	a[] = { 8, 0x81, 0x1c, 0x63, 0x20, 0x14, 0x01, 0x00, 0xcb };
	uint8_t	b[] = { 8, 0x81, 0x1c, 0x63, 0x20, 0x18, 0x01, 0x00, 0xc7 };
	uint8_t	got[64];

	cr_assert_eq(dev_write(a, sizeof(a)), (ssize_t)sizeof(a));
	cr_assert_eq(dev_write(b, sizeof(b)), (ssize_t)sizeof(b));
	cr_assert_eq(kind->host_take(st, got, sizeof(got)), sizeof(a));
	cr_assert_arr_eq(got, a, sizeof(a));
	cr_assert_eq(kind->host_take(st, got, sizeof(got)), sizeof(b));
	cr_assert_arr_eq(got, b, sizeof(b));
	cr_assert_eq(kind->host_take(st, got, sizeof(got)), 0);
}

Test(emu_ipmb, only_len_plus_one_bytes_go_on_the_wire)
{
	uint8_t	a[] = { 3, 0x81, 0x1c, 0x63, 0xaa, 0xbb };
	uint8_t	got[64];

	cr_assert_eq(dev_write(a, sizeof(a)), (ssize_t)sizeof(a),
	    "write returns count");
	cr_assert_eq(kind->host_take(st, got, sizeof(got)), 4);
	cr_assert_arr_eq(got, a, 4);
}

Test(emu_ipmb, pollout_stays_set_whatever_the_host_did)
{
	uint8_t	a[] = { 3, 0x81, 0x1c, 0x63 };
	int	i;

	for (i = 0; i < 300; i++)
		cr_assert_eq(dev_write(a, sizeof(a)), (ssize_t)sizeof(a));
	cr_assert(kind->revents(st) & POLLOUT);
}

Test(emu_ipmb, every_ioctl_is_enotty)
{
	cr_assert_eq(dev_ioctl(0xb100), -1);
	cr_assert_eq(call.err, ENOTTY);
	cr_assert_eq(dev_ioctl(0xb101), -1);
	cr_assert_eq(call.err, ENOTTY);
	cr_assert_not(kind->attention(st));
}

/* The same device through the emulator core, as the driver sees it. */
Test(emu_ipmb, the_core_serves_the_ipmb_device_over_its_socket)
{
	const struct busdrv_dev_ops	*ops = &emu_dev_ops;
	struct sockaddr_un		 sun = { .sun_family = AF_UNIX };
	struct emu			*e;
	uint8_t				 f[64], got[64];
	char				 path[64];
	void				*dev;
	short				 ev = 0;
	size_t				 n;
	int				 fd;

	snprintf(path, sizeof(path), "/tmp/emu-ipmb-%d.sock", (int)getpid());
	unlink(path);
	cr_assert_not_null(e = emu_start(EMU_IPMB, path));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cr_assert_not_null(dev = ops->open(fd));

	n = mkreq(f, 7, 0x01, 0);
	cr_assert_eq(emu_host_request(e, f, n), 0);
	cr_assert_eq(ops->wait(dev, POLLIN, &ev, NULL, 0, 2000), 0);
	cr_assert(ev & POLLIN);
	cr_assert_eq(ops->read(dev, got, 256), (ssize_t)n);
	cr_assert_arr_eq(got, f, n);
	errno = 0;
	cr_assert_eq(ops->read(dev, got, 256), -1);
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(ops->ioctl(dev, 0xb100), -1);
	cr_assert_eq(errno, ENOTTY);
	cr_assert_eq(ops->write(dev, f, n), (ssize_t)n);
	cr_assert_eq(emu_host_response(e, got, sizeof(got), 2000), n);
	cr_assert_arr_eq(got, f, n);
	ops->close(dev);
	emu_stop(e);
	unlink(path);
}
