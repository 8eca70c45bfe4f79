/* SPDX-License-Identifier: MIT */
/*
 * The KCS emulation (emu-kcs.c) against the kernel driver it stands for
 * (reference §1.2; kcs_bmc_cdev_ipmi.c): each test drives the kind's
 * functions directly, as the emulator core does for a driver's call,
 * and plays the host through the host_* functions. A second suite runs
 * the same device behind the emulator core and its RPC.
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

uint8_t	emu_kcs_status(void *st);
uint8_t	emu_kcs_error(void *st);

static const struct emu_kind	*kind = &emu_kind_kcs;
static void			*st;
static struct emu_call		 call;

static const uint8_t	get_dev_id[] = { 0x18, 0x01 };
static const uint8_t	answer[] = { 0x1c, 0x01, 0x00, 0x20 };

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

TestSuite(emu_kcs, .init = setup, .fini = teardown, .timeout = 5);

/* One driver call; returns ret, errno in *err. */
static ssize_t
dev_read(size_t len)
{
	memset(&call, 0, sizeof(call));
	call.op = EMU_OP_READ;
	call.len = len;
	cr_assert(kind->call(st, &call), "a KCS read never blocks");
	return call.ret;
}

static ssize_t
dev_write(const uint8_t *buf, size_t len)
{
	memset(&call, 0, sizeof(call));
	call.op = EMU_OP_WRITE;
	memcpy(call.data, buf, len);
	call.dlen = len;
	cr_assert(kind->call(st, &call), "a KCS write never blocks");
	return call.ret;
}

static ssize_t
dev_ioctl(unsigned long req)
{
	memset(&call, 0, sizeof(call));
	call.op = EMU_OP_IOCTL;
	call.req = req;
	cr_assert(kind->call(st, &call), "a KCS ioctl never blocks");
	return call.ret;
}

/* Host sends Get Device ID and the driver reads it: WAIT_READ. */
static void
to_wait_read(void)
{
	cr_assert_eq(kind->host_request(st, get_dev_id, sizeof(get_dev_id)),
	    0);
	cr_assert_eq(dev_read(1024), 2);
}

Test(emu_kcs, idle_device_polls_nothing_and_read_gives_eagain)
{
	cr_assert_eq(kind->revents(st), 0);
	cr_assert_eq(dev_read(1024), -1);
	cr_assert_eq(call.err, EAGAIN);
}

Test(emu_kcs, whole_request_polls_pollin_and_never_pollout)
{
	cr_assert_eq(kind->host_request(st, get_dev_id, sizeof(get_dev_id)),
	    0);
	cr_assert_eq(kind->revents(st), POLLIN);
}

Test(emu_kcs, read_returns_the_raw_request_without_length_or_seq)
{
	const uint8_t	f[] = { 0x0a << 2 | 1, 0x43, 0x00, 0x00, 0xff, 0xff };

	cr_assert_eq(kind->host_request(st, f, sizeof(f)), 0);
	cr_assert_eq(dev_read(1024), (ssize_t)sizeof(f));
	cr_assert_eq(call.outlen, sizeof(f));
	cr_assert_arr_eq(call.out, f, sizeof(f));
}

Test(emu_kcs, successful_read_clears_pollin_and_a_second_read_gets_eagain)
{
	to_wait_read();
	cr_assert_eq(kind->revents(st), 0);
	cr_assert_eq(dev_read(1024), -1);
	cr_assert_eq(call.err, EAGAIN);
}

Test(emu_kcs, read_shorter_than_the_request_is_eoverflow_and_aborts)
{
	const uint8_t	f[] = { 0x18, 0x01, 1, 2, 3, 4, 5, 6 };

	cr_assert_eq(kind->host_request(st, f, sizeof(f)), 0);
	cr_assert_eq(dev_read(sizeof(f) - 1), -1);
	cr_assert_eq(call.err, EOVERFLOW);
	cr_assert_eq(kind->revents(st), 0, "the request is gone");
	cr_assert_eq(dev_read(1024), -1);
	cr_assert_eq(call.err, EAGAIN);
	cr_assert_eq(emu_kcs_status(st) & 0xc0, 0xc0, "host sees ERROR");
}

Test(emu_kcs, write_after_an_eoverflow_read_is_refused)
{
	const uint8_t	f[] = { 0x18, 0x01, 1, 2 };

	cr_assert_eq(kind->host_request(st, f, sizeof(f)), 0);
	cr_assert_eq(dev_read(2), -1);
	cr_assert_eq(dev_write(answer, sizeof(answer)), -1);
	cr_assert_eq(call.err, EINVAL);
}

Test(emu_kcs, read_of_exactly_the_request_length_succeeds)
{
	const uint8_t	f[] = { 0x18, 0x01, 1, 2 };

	cr_assert_eq(kind->host_request(st, f, sizeof(f)), 0);
	cr_assert_eq(dev_read(sizeof(f)), (ssize_t)sizeof(f));
}

Test(emu_kcs, signal_makes_the_next_read_eagain_and_keeps_the_request)
{
	cr_assert_eq(kind->host_request(st, get_dev_id, sizeof(get_dev_id)),
	    0);
	kind->signal_next_read(st);
	cr_assert_eq(dev_read(1024), -1);
	cr_assert_eq(call.err, EAGAIN, "a signal is EAGAIN, not EINTR");
	cr_assert_eq(kind->revents(st), POLLIN);
	cr_assert_eq(dev_read(1024), 2);
	cr_assert_arr_eq(call.out, get_dev_id, 2);
}

Test(emu_kcs, signal_hits_only_one_read)
{
	kind->signal_next_read(st);
	cr_assert_eq(dev_read(1024), -1);
	cr_assert_eq(kind->host_request(st, get_dev_id, sizeof(get_dev_id)),
	    0);
	cr_assert_eq(dev_read(1024), 2);
}

Test(emu_kcs, write_in_wait_read_is_taken_at_once_and_reaches_the_host)
{
	uint8_t	got[64];

	to_wait_read();
	cr_assert_eq(dev_write(answer, sizeof(answer)),
	    (ssize_t)sizeof(answer));
	cr_assert_eq(kind->revents(st) & POLLOUT, 0);
	cr_assert_eq(kind->host_take(st, got, sizeof(got)), sizeof(answer));
	cr_assert_arr_eq(got, answer, sizeof(answer));
	cr_assert_eq(emu_kcs_status(st) & 0xc0, 0, "host back to IDLE");
}

Test(emu_kcs, write_with_no_request_read_is_einval)
{
	cr_assert_eq(dev_write(answer, sizeof(answer)), -1);
	cr_assert_eq(call.err, EINVAL);
}

Test(emu_kcs, write_while_a_request_waits_unread_is_einval)
{
	cr_assert_eq(kind->host_request(st, get_dev_id, sizeof(get_dev_id)),
	    0);
	cr_assert_eq(dev_write(answer, sizeof(answer)), -1);
	cr_assert_eq(call.err, EINVAL);
}

Test(emu_kcs, write_shorter_than_three_bytes_is_einval)
{
	to_wait_read();
	cr_assert_eq(dev_write(answer, 2), -1);
	cr_assert_eq(call.err, EINVAL);
	cr_assert_eq(dev_write(answer, 3), 3, "the phase is untouched");
}

Test(emu_kcs, write_of_1000_bytes_is_taken_and_1001_is_einval)
{
	static uint8_t	big[1001];

	big[0] = 0x1c;
	to_wait_read();
	cr_assert_eq(dev_write(big, 1001), -1);
	cr_assert_eq(call.err, EINVAL);
	cr_assert_eq(dev_write(big, 1000), 1000);
}

Test(emu_kcs, second_write_while_the_first_drains_is_einval)
{
	to_wait_read();
	cr_assert_eq(dev_write(answer, sizeof(answer)),
	    (ssize_t)sizeof(answer));
	cr_assert_eq(dev_write(answer, sizeof(answer)), -1);
	cr_assert_eq(call.err, EINVAL);
}

Test(emu_kcs, write_after_the_host_drained_the_response_is_einval)
{
	uint8_t	got[64];

	to_wait_read();
	cr_assert_eq(dev_write(answer, sizeof(answer)),
	    (ssize_t)sizeof(answer));
	cr_assert_eq(kind->host_take(st, got, sizeof(got)), sizeof(answer));
	cr_assert_eq(dev_write(answer, sizeof(answer)), -1);
	cr_assert_eq(call.err, EINVAL, "an unsolicited response");
}

Test(emu_kcs, host_abort_in_wait_read_makes_the_late_write_einval)
{
	to_wait_read();
	kind->host_abort(st);
	cr_assert_eq(dev_write(answer, sizeof(answer)), -1);
	cr_assert_eq(call.err, EINVAL);
	cr_assert_eq(emu_kcs_error(st), 0x01, "aborted by command");
}

Test(emu_kcs, host_abort_drops_an_unread_request)
{
	cr_assert_eq(kind->host_request(st, get_dev_id, sizeof(get_dev_id)),
	    0);
	kind->host_abort(st);
	cr_assert_eq(kind->revents(st), 0);
	cr_assert_eq(dev_read(1024), -1);
	cr_assert_eq(call.err, EAGAIN);
}

Test(emu_kcs, new_host_request_in_wait_read_makes_the_late_write_einval)
{
	const uint8_t	next[] = { 0x00 << 2, 0x01 };

	to_wait_read();
	cr_assert_eq(kind->host_request(st, next, sizeof(next)), 0);
	cr_assert_eq(dev_write(answer, sizeof(answer)), -1);
	cr_assert_eq(call.err, EINVAL);
	cr_assert_eq(dev_read(1024), 2, "the new request is served");
	cr_assert_arr_eq(call.out, next, 2);
}

Test(emu_kcs, new_host_request_while_draining_drops_the_response)
{
	uint8_t	got[64];

	to_wait_read();
	cr_assert_eq(dev_write(answer, sizeof(answer)),
	    (ssize_t)sizeof(answer));
	cr_assert_eq(kind->host_request(st, get_dev_id, sizeof(get_dev_id)),
	    0);
	cr_assert_eq(kind->host_take(st, got, sizeof(got)), 0);
	cr_assert_eq(dev_read(1024), 2);
	cr_assert_eq(dev_write(answer, sizeof(answer)),
	    (ssize_t)sizeof(answer), "the new request can be answered");
}

Test(emu_kcs, new_host_request_replaces_an_unread_one)
{
	const uint8_t	next[] = { 0x28, 0x40 };

	cr_assert_eq(kind->host_request(st, get_dev_id, sizeof(get_dev_id)),
	    0);
	cr_assert_eq(kind->host_request(st, next, sizeof(next)), 0);
	cr_assert_eq(dev_read(1024), 2);
	cr_assert_arr_eq(call.out, next, 2);
	cr_assert_eq(dev_read(1024), -1, "only one request is buffered");
}

Test(emu_kcs, host_request_past_1000_bytes_is_a_length_error)
{
	static uint8_t	big[1001];

	big[0] = 0x18;
	cr_assert_eq(kind->host_request(st, big, sizeof(big)), -1);
	cr_assert_eq(kind->revents(st), 0);
	cr_assert_eq(emu_kcs_status(st) & 0xc0, 0xc0);
	cr_assert_eq(emu_kcs_error(st), 0x06);
	cr_assert_eq(kind->host_request(st, big, 1000), 0);
	cr_assert_eq(dev_read(1024), 1000);
}

Test(emu_kcs, host_request_of_one_byte_cannot_be_sent)
{
	cr_assert_eq(kind->host_request(st, get_dev_id, 1), -1);
	cr_assert_eq(kind->revents(st), 0);
}

Test(emu_kcs, ioctl_b100_sets_and_b101_clears_sms_atn)
{
	cr_assert(!kind->attention(st));
	cr_assert_eq(dev_ioctl(0xB100), 0);
	cr_assert(kind->attention(st));
	cr_assert_eq(emu_kcs_status(st) & 0x04, 0x04, "status bit 2");
	cr_assert_eq(dev_ioctl(0xB101), 0);
	cr_assert(!kind->attention(st));
	cr_assert_eq(emu_kcs_status(st) & 0x04, 0);
}

Test(emu_kcs, host_cannot_clear_sms_atn_on_kcs)
{
	cr_assert_eq(dev_ioctl(0xB100), 0);
	kind->clear_attention(st);
	cr_assert(kind->attention(st));
}

Test(emu_kcs, ioctl_b102_force_aborts_into_error_and_drops_the_request)
{
	cr_assert_eq(kind->host_request(st, get_dev_id, sizeof(get_dev_id)),
	    0);
	cr_assert_eq(dev_ioctl(0xB102), 0);
	cr_assert_eq(emu_kcs_status(st) & 0xc0, 0xc0);
	cr_assert_eq(kind->revents(st), 0);
	cr_assert_eq(dev_read(1024), -1);
	cr_assert_eq(call.err, EAGAIN);
}

Test(emu_kcs, force_abort_in_wait_read_makes_the_write_einval)
{
	to_wait_read();
	cr_assert_eq(dev_ioctl(0xB102), 0);
	cr_assert_eq(dev_write(answer, sizeof(answer)), -1);
	cr_assert_eq(call.err, EINVAL);
}

Test(emu_kcs, host_recovers_from_error_with_a_new_request)
{
	cr_assert_eq(dev_ioctl(0xB102), 0);
	cr_assert_eq(kind->host_request(st, get_dev_id, sizeof(get_dev_id)),
	    0);
	cr_assert_eq(dev_read(1024), 2);
	cr_assert_eq(emu_kcs_error(st), 0x00);
}

Test(emu_kcs, other_ioctls_are_einval_not_enotty)
{
	const unsigned long	bad[] = { 0xB103, 0xB1FF, 0x0, 0x5401 };
	size_t			i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(dev_ioctl(bad[i]), -1, "ioctl 0x%lx", bad[i]);
		cr_assert_eq(call.err, EINVAL, "ioctl 0x%lx", bad[i]);
	}
	cr_assert(!kind->attention(st));
}

Test(emu_kcs, host_hold_and_tick_change_nothing)
{
	to_wait_read();
	kind->host_hold(st, true);
	kind->tick(st, 123456789);
	cr_assert_eq(dev_write(answer, sizeof(answer)),
	    (ssize_t)sizeof(answer), "KCS writes never block");
}

/*
 * The same device behind the emulator core, through the RPC the driver
 * uses (emu_dev_ops): the errnos, the poll mask and the counters the
 * end-to-end tests rely on arrive intact.
 */
static char		 rpc_dir[64];
static struct emu	*rpc_emu;
static void		*rpc_dev;

static void
rpc_setup(void)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	char			path[100];
	int			fd;

	snprintf(rpc_dir, sizeof(rpc_dir), "/tmp/emu-kcs-XXXXXX");
	cr_assert_not_null(mkdtemp(rpc_dir));
	snprintf(path, sizeof(path), "%s/kcs.sock", rpc_dir);
	cr_assert_not_null(rpc_emu = emu_start(EMU_KCS, path));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cr_assert_not_null(rpc_dev = emu_dev_ops.open(fd));
}

static void
rpc_teardown(void)
{
	if (rpc_dev != NULL)
		emu_dev_ops.close(rpc_dev);
	rpc_dev = NULL;
	emu_stop(rpc_emu);
	rpc_emu = NULL;
	rmdir(rpc_dir);
}

TestSuite(emu_kcs_rpc, .init = rpc_setup, .fini = rpc_teardown,
    .timeout = 10);

static short
rpc_events(int timeout_ms)
{
	short	got = 0;

	cr_assert_eq(emu_dev_ops.wait(rpc_dev, POLLIN | POLLOUT, &got, NULL, 0,
	    timeout_ms), 0);
	return got;
}

Test(emu_kcs_rpc, idle_device_shows_no_events_and_read_gives_eagain)
{
	uint8_t	buf[1024];

	cr_assert_eq(rpc_events(50), 0, "no POLLOUT, no POLLIN");
	cr_assert_eq(emu_dev_ops.read(rpc_dev, buf, sizeof(buf)), -1);
	cr_assert_eq(errno, EAGAIN);
}

Test(emu_kcs_rpc, host_request_wakes_a_wait_with_pollin_only)
{
	uint8_t	buf[1024];

	cr_assert_eq(emu_host_request(rpc_emu, get_dev_id,
	    sizeof(get_dev_id)), 0);
	cr_assert_eq(rpc_events(2000), POLLIN);
	cr_assert_eq(emu_dev_ops.read(rpc_dev, buf, sizeof(buf)), 2);
	cr_assert_arr_eq(buf, get_dev_id, 2);
}

Test(emu_kcs_rpc, eoverflow_and_einval_cross_the_rpc_and_are_counted)
{
	const uint8_t	f[] = { 0x18, 0x01, 1, 2, 3 };
	uint8_t		buf[4];

	cr_assert_eq(emu_host_request(rpc_emu, f, sizeof(f)), 0);
	cr_assert_eq(emu_dev_ops.read(rpc_dev, buf, sizeof(buf)), -1);
	cr_assert_eq(errno, EOVERFLOW);
	cr_assert_eq(emu_dev_ops.write(rpc_dev, answer, sizeof(answer)), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(emu_write_count(rpc_emu), 1);
	cr_assert_eq(emu_refused_count(rpc_emu), 1);
}

Test(emu_kcs_rpc, written_response_is_what_the_host_reads)
{
	uint8_t	buf[1024];

	cr_assert_eq(emu_host_request(rpc_emu, get_dev_id,
	    sizeof(get_dev_id)), 0);
	cr_assert_eq(emu_dev_ops.read(rpc_dev, buf, sizeof(buf)), 2);
	cr_assert_eq(emu_dev_ops.write(rpc_dev, answer, sizeof(answer)),
	    (ssize_t)sizeof(answer));
	cr_assert_eq(emu_host_response(rpc_emu, buf, sizeof(buf), 2000),
	    sizeof(answer));
	cr_assert_arr_eq(buf, answer, sizeof(answer));
	cr_assert_eq(emu_refused_count(rpc_emu), 0);
}

Test(emu_kcs_rpc, signal_gives_one_eagain_then_the_request)
{
	uint8_t	buf[1024];

	cr_assert_eq(emu_host_request(rpc_emu, get_dev_id,
	    sizeof(get_dev_id)), 0);
	emu_signal_next_read(rpc_emu);
	cr_assert_eq(emu_dev_ops.read(rpc_dev, buf, sizeof(buf)), -1);
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(rpc_events(2000), POLLIN, "the request is still there");
	cr_assert_eq(emu_dev_ops.read(rpc_dev, buf, sizeof(buf)), 2);
}

Test(emu_kcs_rpc, attention_ioctls_are_counted_and_seen_by_the_host)
{
	cr_assert_eq(emu_dev_ops.ioctl(rpc_dev, 0xB100), 0);
	cr_assert(emu_attention(rpc_emu));
	cr_assert_eq(emu_dev_ops.ioctl(rpc_dev, 0xB101), 0);
	cr_assert(!emu_attention(rpc_emu));
	cr_assert_eq(emu_dev_ops.ioctl(rpc_dev, 0xB1FE), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(emu_ioctl_count(rpc_emu, 0xB100), 1);
	cr_assert_eq(emu_ioctl_count(rpc_emu, 0xB101), 1);
	cr_assert_eq(emu_ioctl_count(rpc_emu, 0xB1FE), 1);
}
