/* SPDX-License-Identifier: MIT */
/*
 * wire: one envelope per SEQPACKET datagram; oversize datagrams and
 * unsolicited fds are refused, not truncated or leaked; the arena serves
 * unpacking and spills to the heap when it must.
 */
#include <sys/socket.h>

#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "handler.pb-c.h"
#include "wire.h"

static int sv[2];

static void
setup(void)
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    sv), 0);
}

static void
teardown(void)
{
	close(sv[0]);
	close(sv[1]);
}

TestSuite(wire, .init = setup, .fini = teardown, .timeout = 10);

Test(wire, envelope_round_trips_through_a_datagram)
{
	Hnd__Envelope	 env = HND__ENVELOPE__INIT, *got;
	Hnd__Hello	 h = HND__HELLO__INIT;
	uint8_t		 buf[WIRE_MSG_MAX + 1];
	ssize_t		 n;

	h.version = 1;
	h.name = "app";
	env.body_case = HND__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	cr_assert_eq(wire_send(sv[0], &env.base, NULL, 0), 0);
	n = wire_recv(sv[1], buf, NULL, NULL);
	cr_assert_gt(n, 0);
	got = hnd__envelope__unpack(NULL, (size_t)n, buf);
	cr_assert_not_null(got);
	cr_assert_eq(got->body_case, HND__ENVELOPE__BODY_HELLO);
	cr_assert_str_eq(got->hello->name, "app");
	hnd__envelope__free_unpacked(got, NULL);
}

Test(wire, envelope_without_body_is_not_sent)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;

	cr_assert_eq(wire_send(sv[0], &env.base, NULL, 0), -EMSGSIZE);
}

Test(wire, envelope_over_4096_bytes_is_not_sent)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__Response	r = HND__RESPONSE__INIT;
	static uint8_t	big[WIRE_MSG_MAX];

	r.data.data = big;
	r.data.len = sizeof(big);
	env.body_case = HND__ENVELOPE__BODY_RESPONSE;
	env.response = &r;
	cr_assert_eq(wire_send(sv[0], &env.base, NULL, 0), -EMSGSIZE);
}

Test(wire, oversize_datagram_is_refused_not_truncated)
{
	static uint8_t	big[WIRE_MSG_MAX + 100], buf[WIRE_MSG_MAX + 1];

	cr_assert_eq(send(sv[0], big, sizeof(big), 0), (ssize_t)sizeof(big));
	cr_assert_eq(wire_recv(sv[1], buf, NULL, NULL), -EMSGSIZE);
}

Test(wire, empty_socket_says_eagain)
{
	uint8_t	buf[WIRE_MSG_MAX + 1];

	cr_assert_eq(wire_recv(sv[1], buf, NULL, NULL), -EAGAIN);
}

Test(wire, closed_peer_reads_as_zero)
{
	uint8_t	buf[WIRE_MSG_MAX + 1];

	close(sv[0]);
	sv[0] = open("/dev/null", O_RDONLY);
	cr_assert_eq(wire_recv(sv[1], buf, NULL, NULL), 0);
}

Test(wire, fds_arrive_when_asked_for)
{
	uint8_t	buf[WIRE_MSG_MAX + 1], byte = 1;
	int	fds[2], pipefd[2];
	size_t	nfds = 2;

	cr_assert_eq(pipe(pipefd), 0);
	cr_assert_eq(wire_send_raw(sv[0], &byte, 1, pipefd, 2), 0);
	cr_assert_eq(wire_recv(sv[1], buf, fds, &nfds), 1);
	cr_assert_eq(nfds, 2);
	cr_assert(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
	close(fds[0]);
	close(fds[1]);
	close(pipefd[0]);
	close(pipefd[1]);
}

Test(wire, unsolicited_fds_are_closed_and_refused)
{
	uint8_t	buf[WIRE_MSG_MAX + 1], byte = 1;
	int	pipefd[2], before, after;

	cr_assert_eq(pipe(pipefd), 0);
	before = dup(0);
	close(before);
	cr_assert_eq(wire_send_raw(sv[0], &byte, 1, pipefd, 1), 0);
	cr_assert_eq(wire_recv(sv[1], buf, NULL, NULL), -EMSGSIZE);
	/* The passed fd was closed by wire_recv: the lowest free fd is
	 * the same as before the message came in. */
	after = dup(0);
	close(after);
	cr_assert_eq(after, before);
	close(pipefd[0]);
	close(pipefd[1]);
}

Test(wire, queue_keeps_order_and_limit)
{
	struct wire_queue	q;
	uint8_t			a = 'a', b = 'b', buf[WIRE_MSG_MAX + 1];

	wire_queue_init(&q, 1);
	cr_assert_eq(wire_queue_push(&q, &a, 1), 0);
	cr_assert_eq(wire_queue_push(&q, &b, 1), -ENOBUFS);
	cr_assert_eq(wire_queue_flush(&q, sv[0]), 0);
	cr_assert_eq(q.count, 0);
	cr_assert_eq(wire_recv(sv[1], buf, NULL, NULL), 1);
	cr_assert_eq(buf[0], 'a');
	wire_queue_deinit(&q);
}

Test(wire, arena_spills_to_heap_and_resets)
{
	struct wire_arena	 a;
	uint8_t			 mem[64];
	void			*p1, *p2;

	wire_arena_init(&a, mem, sizeof(mem));
	p1 = a.alloc.alloc(a.alloc.allocator_data, 16);
	cr_assert((uint8_t *)p1 >= mem && (uint8_t *)p1 < mem + sizeof(mem));
	p2 = a.alloc.alloc(a.alloc.allocator_data, 1000);
	cr_assert_not_null(p2);
	cr_assert((uint8_t *)p2 < mem || (uint8_t *)p2 >= mem + sizeof(mem));
	memset(p2, 0, 1000);
	wire_arena_reset(&a);
	cr_assert_eq(a.used, 0);
	cr_assert_null(a.spill);
	wire_arena_deinit(&a);
}
