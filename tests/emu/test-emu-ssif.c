/* SPDX-License-Identifier: MIT */
/*
 * The SSIF emulation (emu-ssif.c) against reference/ipmi-bmc-interfaces.md
 * 1.4 (and ssif_bmc.c as read there): read/write sizes and errnos, the one
 * request buffer, the 500 ms response timer started when the request
 * arrives, a new request dropping an unsent response, EAGAIN while a
 * response is being clocked out, POLLIN only, no ioctls.
 *
 * Most tests drive the kind's functions directly, with time moved by
 * calling tick() with a chosen clock; the last ones go through the
 * emulator core and emu_dev_ops, the path a driver under test takes.
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
#include "emu-kind.h"

#define MS		1000000ull
#define SSIF_MSG	258

static const struct emu_kind	*k = &emu_kind_ssif;
static void			*st;

static void
setup(void)
{
	st = k->create();
	cr_assert_not_null(st);
}

static void
teardown(void)
{
	k->destroy(st);
}

TestSuite(emu_ssif, .init = setup, .fini = teardown, .timeout = 10);

/* [u32 len][payload], len native-endian as the kernel's struct. */
static size_t
frame(uint8_t *f, const uint8_t *payload, uint32_t len)
{
	memcpy(f, &len, 4);
	memcpy(f + 4, payload, len);
	return 4 + (size_t)len;
}

static void
host_sends(const uint8_t *payload, uint32_t len)
{
	uint8_t	f[SSIF_MSG];

	cr_assert_eq(k->host_request(st, f, frame(f, payload, len)), 0);
}

static void
host_get_device_id(void)
{
	static const uint8_t	p[] = { 0x06 << 2, 0x01 };

	host_sends(p, sizeof(p));
}

static struct emu_call *
call_read(size_t len)
{
	static struct emu_call	c;

	memset(&c, 0, sizeof(c));
	c.op = EMU_OP_READ;
	c.len = len;
	cr_assert(k->call(st, &c), "SSIF calls never block (O_NONBLOCK)");
	return &c;
}

static struct emu_call *
call_write(const uint8_t *buf, size_t len)
{
	static struct emu_call	c;

	memset(&c, 0, sizeof(c));
	c.op = EMU_OP_WRITE;
	memcpy(c.data, buf, len);
	c.dlen = len;
	cr_assert(k->call(st, &c), "SSIF calls never block (O_NONBLOCK)");
	return &c;
}

/* A well-formed Get Device ID response with CC 0. */
static struct emu_call *
write_response(void)
{
	static const uint8_t	p[] = { 0x07 << 2, 0x01, 0x00, 0x20 };
	uint8_t			f[SSIF_MSG];

	return call_write(f, frame(f, p, sizeof(p)));
}

static void
assert_errno(const struct emu_call *c, int err)
{
	cr_assert_eq(c->ret, -1, "expected -1, got %zd", c->ret);
	cr_assert_eq(c->err, err, "expected errno %d (%s), got %d (%s)", err,
	    strerror(err), c->err, strerror(c->err));
}

Test(emu_ssif, read_with_nothing_buffered_says_eagain)
{
	assert_errno(call_read(SSIF_MSG), EAGAIN);
}

Test(emu_ssif, read_returns_the_u32_length_and_the_payload)
{
	static const uint8_t	p[] = { 0x06 << 2 | 2, 0x01, 0xaa, 0xbb };
	struct emu_call		*c;
	uint32_t		 len;

	host_sends(p, sizeof(p));
	c = call_read(SSIF_MSG);
	cr_assert_eq(c->ret, 8);
	memcpy(&len, c->out, 4);
	cr_assert_eq(len, 4);
	cr_assert_arr_eq(c->out + 4, p, sizeof(p));
}

Test(emu_ssif, a_read_takes_the_request_so_the_next_says_eagain)
{
	host_get_device_id();
	cr_assert_eq(call_read(SSIF_MSG)->ret, 6);
	assert_errno(call_read(SSIF_MSG), EAGAIN);
}

Test(emu_ssif, read_with_a_buffer_short_of_the_message_says_einval_and_keeps_it)
{
	static const uint8_t	p[] = { 0x06 << 2, 0x01, 1, 2, 3, 4 };

	host_sends(p, sizeof(p));
	assert_errno(call_read(9), EINVAL);
	cr_assert_eq(k->revents(st), POLLIN, "the request stays available");
	cr_assert_eq(call_read(10)->ret, 10);
}

Test(emu_ssif, a_258_byte_buffer_reads_the_largest_request)
{
	uint8_t		p[254];
	struct emu_call	*c;

	memset(p, 0x5a, sizeof(p));
	p[0] = 0x06 << 2;
	host_sends(p, sizeof(p));
	c = call_read(SSIF_MSG);
	cr_assert_eq(c->ret, SSIF_MSG);
	cr_assert_arr_eq(c->out + 4, p, sizeof(p));
}

Test(emu_ssif, the_device_buffers_one_request_and_a_new_one_replaces_it)
{
	static const uint8_t	a[] = { 0x06 << 2, 0x01 };
	static const uint8_t	b[] = { 0x0a << 2, 0x40 };
	struct emu_call		*c;

	host_sends(a, sizeof(a));
	host_sends(b, sizeof(b));
	c = call_read(SSIF_MSG);
	cr_assert_eq(c->ret, 6);
	cr_assert_arr_eq(c->out + 4, b, sizeof(b));
	assert_errno(call_read(SSIF_MSG), EAGAIN);
}

Test(emu_ssif, the_host_cannot_send_more_than_254_payload_bytes)
{
	uint8_t	f[4 + 255] = { 0 };

	cr_assert_eq(k->host_request(st, f, sizeof(f)), -1);
	cr_assert_eq(k->revents(st), 0);
}

Test(emu_ssif, poll_shows_pollin_only_while_a_request_is_buffered)
{
	cr_assert_eq(k->revents(st), 0);
	host_get_device_id();
	cr_assert_eq(k->revents(st), POLLIN);
	(void)call_read(SSIF_MSG);
	cr_assert_eq(k->revents(st), 0);
	cr_assert_eq(write_response()->ret, 8);
	cr_assert_eq(k->revents(st), 0, "no POLLOUT, ever");
}

Test(emu_ssif, write_shorter_than_the_header_or_longer_than_258_says_einval)
{
	uint8_t	f[300] = { 0 };

	host_get_device_id();
	(void)call_read(SSIF_MSG);
	assert_errno(call_write(f, 3), EINVAL);
	f[0] = 3;
	assert_errno(call_write(f, 259), EINVAL);
}

Test(emu_ssif, write_with_len_zero_past_254_or_past_the_count_says_einval)
{
	uint8_t		f[SSIF_MSG] = { 0 };
	uint32_t	len;

	host_get_device_id();
	(void)call_read(SSIF_MSG);
	len = 0;
	memcpy(f, &len, 4);
	assert_errno(call_write(f, 8), EINVAL);
	len = 255;
	memcpy(f, &len, 4);
	assert_errno(call_write(f, SSIF_MSG), EINVAL);
	len = 5;
	memcpy(f, &len, 4);
	assert_errno(call_write(f, 8), EINVAL);
	cr_assert_eq(write_response()->ret, 8,
	    "refused writes leave the request answerable");
}

Test(emu_ssif, a_count_beyond_4_plus_len_is_accepted_and_len_counts)
{
	static const uint8_t	p[] = { 0x07 << 2, 0x01, 0x00 };
	uint8_t			f[SSIF_MSG] = { 0 }, got[SSIF_MSG];

	host_get_device_id();
	(void)call_read(SSIF_MSG);
	(void)frame(f, p, sizeof(p));
	cr_assert_eq(call_write(f, 20)->ret, 20);
	cr_assert_eq(k->host_take(st, got, sizeof(got)), 7);
	cr_assert_arr_eq(got + 4, p, sizeof(p));
}

Test(emu_ssif, write_with_no_request_ever_sent_says_einval)
{
	assert_errno(write_response(), EINVAL);
}

Test(emu_ssif, the_host_reads_out_the_written_response)
{
	uint8_t		got[SSIF_MSG];
	uint32_t	len;

	host_get_device_id();
	(void)call_read(SSIF_MSG);
	cr_assert_eq(write_response()->ret, 8);
	cr_assert_eq(k->host_take(st, got, sizeof(got)), 8);
	memcpy(&len, got, 4);
	cr_assert_eq(len, 4);
	cr_assert_eq(got[4], 0x07 << 2);
	cr_assert_eq(k->host_take(st, got, sizeof(got)), 0, "taken once");
}

Test(emu_ssif, a_second_write_says_eagain_while_the_first_is_clocked_out)
{
	uint8_t	got[SSIF_MSG];

	host_get_device_id();
	(void)call_read(SSIF_MSG);
	cr_assert_eq(write_response()->ret, 8);
	assert_errno(write_response(), EAGAIN);
	cr_assert_gt(k->host_take(st, got, sizeof(got)), 0);
	assert_errno(write_response(), EINVAL);
}

Test(emu_ssif, write_after_the_500_ms_timer_fired_says_einval)
{
	uint64_t	t0 = emu_now_ns();

	host_get_device_id();
	(void)call_read(SSIF_MSG);
	k->tick(st, t0 + 501 * MS);
	assert_errno(write_response(), EINVAL);
}

Test(emu_ssif, the_timer_does_not_fire_before_500_ms)
{
	host_get_device_id();
	(void)call_read(SSIF_MSG);
	k->tick(st, emu_now_ns() + 450 * MS);
	cr_assert_eq(write_response()->ret, 8);
}

Test(emu_ssif, the_timer_starts_when_the_request_arrives_not_when_read)
{
	uint64_t	t0 = emu_now_ns();

	host_get_device_id();
	k->tick(st, t0 + 501 * MS);
	cr_assert_eq(call_read(SSIF_MSG)->ret, 6,
	    "the kernel leaves request_available set when the timer fires");
	assert_errno(write_response(), EINVAL);
}

Test(emu_ssif, the_timer_leaves_a_response_in_progress_alone)
{
	uint8_t	got[SSIF_MSG];

	host_get_device_id();
	(void)call_read(SSIF_MSG);
	cr_assert_eq(write_response()->ret, 8);
	k->tick(st, emu_now_ns() + 600 * MS);
	cr_assert_eq(k->host_take(st, got, sizeof(got)), 8);
}

Test(emu_ssif, a_host_abort_makes_the_write_say_einval)
{
	host_get_device_id();
	(void)call_read(SSIF_MSG);
	k->host_abort(st);
	assert_errno(write_response(), EINVAL);
}

Test(emu_ssif, a_new_request_restarts_the_timer)
{
	uint64_t	t0 = emu_now_ns();

	host_get_device_id();
	k->tick(st, t0 + 501 * MS);
	host_get_device_id();
	k->tick(st, emu_now_ns() + 450 * MS);
	(void)call_read(SSIF_MSG);
	cr_assert_eq(write_response()->ret, 8);
}

Test(emu_ssif, a_new_request_drops_a_response_not_yet_read_out)
{
	uint8_t	got[SSIF_MSG];

	host_get_device_id();
	(void)call_read(SSIF_MSG);
	cr_assert_eq(write_response()->ret, 8);
	host_get_device_id();
	cr_assert_eq(k->host_take(st, got, sizeof(got)), 0);
	(void)call_read(SSIF_MSG);
	cr_assert_eq(write_response()->ret, 8, "no EAGAIN: the old is gone");
	cr_assert_eq(k->host_take(st, got, sizeof(got)), 8);
}

Test(emu_ssif, ioctls_say_enotty_and_there_is_no_attention)
{
	struct emu_call	c = { .op = EMU_OP_IOCTL, .req = 0xb100 };

	cr_assert(k->call(st, &c));
	assert_errno(&c, ENOTTY);
	cr_assert_not(k->attention(st));
}

/* ---- through the emulator core, as a driver under test sees it ---- */

static struct emu	*core;
static void		*dev;
static char		 core_path[64];

static void
core_open(void)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	snprintf(core_path, sizeof(core_path), "/tmp/emu-ssif-%d.sock",
	    (int)getpid());
	unlink(core_path);
	cr_assert_not_null(core = emu_start(EMU_SSIF, core_path));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", core_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cr_assert_not_null(dev = emu_dev_ops.open(fd));
}

static void
core_close(void)
{
	emu_dev_ops.close(dev);
	emu_stop(core);
	unlink(core_path);
}

static size_t
core_get_device_id(uint8_t *f)
{
	static const uint8_t	p[] = { 0x06 << 2, 0x01 };

	return frame(f, p, sizeof(p));
}

Test(emu_ssif, the_core_serves_the_ssif_device_over_its_socket)
{
	static const uint8_t	rp[] = { 0x07 << 2, 0x01, 0x00, 0x20 };
	uint8_t			f[SSIF_MSG], got[SSIF_MSG], rf[SSIF_MSG];
	short			ev = 0;
	size_t			n, rn;

	core_open();
	n = core_get_device_id(f);
	cr_assert_eq(emu_host_request(core, f, n), 0);
	cr_assert_eq(emu_dev_ops.wait(dev, POLLIN | POLLOUT, &ev, NULL, 0,
	    2000), 0);
	cr_assert_eq(ev, POLLIN, "POLLIN only, got 0x%x", ev);
	cr_assert_eq(emu_dev_ops.read(dev, got, SSIF_MSG), (ssize_t)n);
	cr_assert_arr_eq(got, f, n);
	errno = 0;
	cr_assert_eq(emu_dev_ops.read(dev, got, SSIF_MSG), -1);
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(emu_dev_ops.ioctl(dev, 0xb100), -1);
	cr_assert_eq(errno, ENOTTY);
	rn = frame(rf, rp, sizeof(rp));
	cr_assert_eq(emu_dev_ops.write(dev, rf, rn), (ssize_t)rn);
	cr_assert_eq(emu_host_response(core, got, sizeof(got), 2000), rn);
	cr_assert_arr_eq(got, rf, rn);
	cr_assert_eq(emu_write_count(core), 1);
	cr_assert_eq(emu_refused_count(core), 0);
	core_close();
}

Test(emu_ssif, the_core_lets_the_500_ms_timer_fire_in_real_time)
{
	static const uint8_t	rp[] = { 0x07 << 2, 0x01, 0x00 };
	uint8_t			f[SSIF_MSG], got[SSIF_MSG], rf[SSIF_MSG];
	uint64_t		t0;
	short			ev = 0;
	size_t			rn;

	core_open();
	t0 = emu_now_ns();
	cr_assert_eq(emu_host_request(core, f, core_get_device_id(f)), 0);
	cr_assert_gt(emu_dev_ops.read(dev, got, SSIF_MSG), 0);
	/* POLLOUT never comes: this is a bounded wait past the timer. */
	cr_assert_eq(emu_dev_ops.wait(dev, POLLOUT, &ev, NULL, 0, 560), 0);
	cr_assert_eq(ev, 0);
	cr_assert_geq(emu_now_ns() - t0, 500 * MS);
	rn = frame(rf, rp, sizeof(rp));
	errno = 0;
	cr_assert_eq(emu_dev_ops.write(dev, rf, rn), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(emu_refused_count(core), 1);
	cr_assert_eq(emu_host_response(core, got, sizeof(got), 50), 0);
	core_close();
}
