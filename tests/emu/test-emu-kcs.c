/* SPDX-License-Identifier: MIT */
/*
 * The KCS emulation (emu-kcs.c) against the kernel driver it stands for
 * (reference §1.2; kcs_bmc_cdev_ipmi.c): each test drives the kind's
 * functions directly, as the emulator core does for a driver's call,
 * and plays the host through the host_* functions.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <poll.h>
#include <string.h>

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
