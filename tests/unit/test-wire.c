/* SPDX-License-Identifier: MIT */
/*
 * wire: one envelope per SEQPACKET datagram; oversize datagrams and
 * unsolicited fds are refused, not truncated or leaked; the arena serves
 * unpacking and spills to the heap when it must. Batches are real protobuf
 * (protobuf-c reads our hand-made layout as Envelope.batch), stay within
 * one datagram, and a malformed one stops the walk with a reason after
 * the good envelopes before the fault. recvmmsg() takes what is waiting.
 */
#include <sys/socket.h>

#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
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

/*
 * Batches and the walk. Envelopes under test are real Hnd__Envelope
 * Responses, so protobuf-c can judge the layout.
 */
struct resp {
	Hnd__Envelope	env;
	Hnd__Response	r;
};

static uint8_t	resp_data[WIRE_MSG_MAX];

/* A Response envelope for id carrying dlen bytes of data. */
static Hnd__Envelope *
resp_init(struct resp *x, uint64_t id, size_t dlen)
{
	size_t	i;

	for (i = 0; i < dlen; i++)
		resp_data[i] = (uint8_t)(id * 31 + i);
	x->env = (Hnd__Envelope)HND__ENVELOPE__INIT;
	x->r = (Hnd__Response)HND__RESPONSE__INIT;
	x->r.id = id;
	x->r.data.data = resp_data;
	x->r.data.len = dlen;
	x->env.body_case = HND__ENVELOPE__BODY_RESPONSE;
	x->env.response = &x->r;
	return &x->env;
}

/* Pack a Response envelope for id with dlen bytes of data; 0 if too big. */
static size_t
resp_pack(uint64_t id, size_t dlen, uint8_t *buf)
{
	struct resp	x;

	return wire_pack(&resp_init(&x, id, dlen)->base, buf);
}

/* Pack a Response envelope of exactly size bytes; 0 if there is none. */
static size_t
resp_pack_sized(uint64_t id, size_t size, uint8_t *buf)
{
	struct resp	x;
	size_t		dlen;

	for (dlen = 0; dlen < size; dlen++)
		if (hnd__envelope__get_packed_size(resp_init(&x, id, dlen)) ==
		    size)
			return resp_pack(id, dlen, buf);
	return 0;
}

/* Walk buf, keeping up to max envelopes yielded; returns their count, and
 * the result that stopped the walk in *r. */
static size_t
walk_all(struct wire_walk *w, const uint8_t *buf, size_t len,
    const uint8_t **env, size_t *elen, size_t max, int *r, const char **why)
{
	const uint8_t	*e;
	size_t		 l, n = 0;

	wire_walk_init(w, buf, len);
	*why = NULL;
	while ((*r = wire_walk_next(w, &e, &l, why)) == 1) {
		if (n < max) {
			env[n] = e;
			elen[n] = l;
		}
		n++;
	}
	return n;
}

Test(wire, batch_of_one_is_the_bare_envelope)
{
	static struct wire_batch	 b;
	struct wire_walk		 w;
	uint8_t				 one[WIRE_MSG_MAX];
	const uint8_t			*d, *e;
	const char			*why = NULL;
	size_t				 n, len, elen;

	n = resp_pack(7, 10, one);
	cr_assert_gt(n, 0);
	cr_assert_neq(one[0], WIRE_BATCH_KEY);
	wire_batch_reset(&b);
	cr_assert_eq(wire_batch_add(&b, one, n), 0);
	cr_assert_eq(b.count, 1);
	d = wire_batch_datagram(&b, &len);
	cr_assert_eq(len, n, "datagram: expected %zu bytes, got %zu", n, len);
	cr_assert_arr_eq(d, one, n);
	wire_walk_init(&w, d, len);
	cr_assert_eq(wire_walk_next(&w, &e, &elen, &why), 1);
	cr_assert_eq(e, d);
	cr_assert_eq(elen, n);
	cr_assert_eq(wire_walk_next(&w, &e, &elen, &why), 0);
	cr_assert_eq(wire_walk_next(&w, &e, &elen, &why), 0);
}

/* Five responses, ids 1..5; the third carries 200 bytes of data, so its
 * element length (and the batch's) takes a 2-byte varint. */
#define FIVE		5
#define FIVE_BIG	2

static void
five_pack(uint8_t env[FIVE][WIRE_MSG_MAX], size_t *len)
{
	size_t	i;

	for (i = 0; i < FIVE; i++)
		len[i] = resp_pack(i + 1, i == FIVE_BIG ? 200 : i, env[i]);
}

Test(wire, batch_of_several_is_a_protobuf_batch_envelope)
{
	static struct wire_batch	 b;
	static uint8_t			 env[FIVE][WIRE_MSG_MAX];
	Hnd__Envelope			*got;
	const uint8_t			*d;
	size_t				 len[FIVE], dlen, i;

	five_pack(env, len);
	cr_assert_gt(len[FIVE_BIG], 127);
	wire_batch_reset(&b);
	for (i = 0; i < FIVE; i++) {
		cr_assert_gt(len[i], 0);
		cr_assert_eq(wire_batch_add(&b, env[i], len[i]), 0);
	}
	cr_assert_eq(b.count, FIVE);
	d = wire_batch_datagram(&b, &dlen);
	cr_assert_eq(d[0], 0x7a, "first byte: expected 0x7a, got 0x%02x",
	    d[0]);
	cr_assert_leq(dlen, WIRE_MSG_MAX);
	got = hnd__envelope__unpack(NULL, dlen, d);
	cr_assert_not_null(got, "protobuf-c cannot read the batch");
	cr_assert_eq(got->body_case, HND__ENVELOPE__BODY_BATCH,
	    "body: expected batch (15), got %d", (int)got->body_case);
	cr_assert_eq(got->batch->n_envelope, FIVE,
	    "elements: expected %d, got %zu", FIVE, got->batch->n_envelope);
	for (i = 0; i < FIVE; i++) {
		cr_assert_eq(got->batch->envelope[i].len, len[i],
		    "element %zu: expected %zu bytes, got %zu", i, len[i],
		    got->batch->envelope[i].len);
		cr_assert_arr_eq(got->batch->envelope[i].data, env[i], len[i]);
	}
	hnd__envelope__free_unpacked(got, NULL);
}

Test(wire, walk_yields_batch_elements_in_order)
{
	static struct wire_batch	 b;
	static uint8_t			 env[FIVE][WIRE_MSG_MAX];
	struct wire_walk		 w;
	Hnd__Envelope			*got;
	const uint8_t			*d, *e[FIVE + 1];
	const char			*why;
	size_t				 len[FIVE], el[FIVE + 1], dlen, n, i;
	int				 r;

	five_pack(env, len);
	wire_batch_reset(&b);
	for (i = 0; i < FIVE; i++)
		cr_assert_eq(wire_batch_add(&b, env[i], len[i]), 0);
	d = wire_batch_datagram(&b, &dlen);
	n = walk_all(&w, d, dlen, e, el, FIVE + 1, &r, &why);
	cr_assert_eq(r, 0, "walk: expected the end, got %d (%s)", r,
	    why != NULL ? why : "");
	cr_assert_eq(n, FIVE, "walk: expected %d envelopes, got %zu", FIVE, n);
	for (i = 0; i < FIVE; i++) {
		cr_assert_eq(el[i], len[i]);
		cr_assert_arr_eq(e[i], env[i], len[i]);
		got = hnd__envelope__unpack(NULL, el[i], e[i]);
		cr_assert_not_null(got);
		cr_assert_eq(got->body_case, HND__ENVELOPE__BODY_RESPONSE);
		cr_assert_eq(got->response->id, i + 1,
		    "element %zu: expected id %zu, got %llu", i, i + 1,
		    (unsigned long long)got->response->id);
		hnd__envelope__free_unpacked(got, NULL);
	}
}

Test(wire, batch_refuses_what_would_pass_4096_bytes)
{
	static struct wire_batch	 b;
	Hnd__Envelope			*got;
	uint8_t				 env[WIRE_MSG_MAX];
	const uint8_t			*d;
	size_t				 len, dlen, i;
	int				 r = 0;

	wire_batch_reset(&b);
	for (i = 0; i < WIRE_BATCH_MAX + 1; i++) {
		len = resp_pack(i + 1, 150, env);
		cr_assert_gt(len, 0);
		if ((r = wire_batch_add(&b, env, len)) != 0)
			break;
	}
	cr_assert_eq(r, 1, "batch never said full");
	cr_assert_eq(b.count, i);
	cr_assert_gt(b.count, 1);
	d = wire_batch_datagram(&b, &dlen);
	cr_assert_leq(dlen, WIRE_MSG_MAX, "datagram of %zu bytes", dlen);
	/* Refused only because it would not fit: key, 2-byte length, body. */
	cr_assert_gt(dlen + 1 + 2 + len, WIRE_MSG_MAX,
	    "refused with room left: %zu + %zu", dlen, 3 + len);
	got = hnd__envelope__unpack(NULL, dlen, d);
	cr_assert_not_null(got);
	cr_assert_eq(got->body_case, HND__ENVELOPE__BODY_BATCH);
	cr_assert_eq(got->batch->n_envelope, b.count);
	hnd__envelope__free_unpacked(got, NULL);
	/* The refused envelope starts the next batch. */
	wire_batch_reset(&b);
	cr_assert_eq(wire_batch_add(&b, env, len), 0);
}

Test(wire, batch_may_fill_exactly_4096_bytes)
{
	static struct wire_batch	 b;
	static uint8_t			 e1[WIRE_MSG_MAX], e2[WIRE_MSG_MAX];
	static uint8_t			 e3[WIRE_MSG_MAX];
	Hnd__Envelope			*got;
	const uint8_t			*d;
	size_t				 l1, l2, l3, dlen;

	/* 0x7a len(2) + (0x0a len(2) 2000) + (0x0a len(2) 2087) = 4096. */
	l1 = resp_pack_sized(1, 2000, e1);
	l2 = resp_pack_sized(2, 2088, e2);
	l3 = resp_pack_sized(3, 2087, e3);
	cr_assert(l1 == 2000 && l2 == 2088 && l3 == 2087);
	wire_batch_reset(&b);
	cr_assert_eq(wire_batch_add(&b, e1, l1), 0);
	cr_assert_eq(wire_batch_add(&b, e2, l2), 1,
	    "a 4097-byte batch was accepted");
	cr_assert_eq(b.count, 1);
	cr_assert_eq(wire_batch_add(&b, e3, l3), 0,
	    "a 4096-byte batch was refused");
	d = wire_batch_datagram(&b, &dlen);
	cr_assert_eq(dlen, WIRE_MSG_MAX, "expected 4096 bytes, got %zu", dlen);
	cr_assert_eq(d[0], 0x7a);
	got = hnd__envelope__unpack(NULL, dlen, d);
	cr_assert_not_null(got);
	cr_assert_eq(got->body_case, HND__ENVELOPE__BODY_BATCH);
	cr_assert_eq(got->batch->n_envelope, 2);
	cr_assert_eq(got->batch->envelope[1].len, l3);
	cr_assert_arr_eq(got->batch->envelope[1].data, e3, l3);
	hnd__envelope__free_unpacked(got, NULL);
}

Test(wire, batch_holds_at_most_64_envelopes)
{
	static struct wire_batch	 b;
	struct wire_walk		 w;
	uint8_t				 env[WIRE_MSG_MAX];
	const uint8_t			*d, *e[1];
	const char			*why;
	size_t				 len, el[1], dlen, i, n;
	int				 r = 0;

	wire_batch_reset(&b);
	for (i = 0; i < 1000; i++) {
		len = resp_pack(i % 100, 0, env);
		cr_assert_gt(len, 0);
		cr_assert_leq(len, 8);
		if ((r = wire_batch_add(&b, env, len)) != 0)
			break;
		cr_assert_leq(b.count, WIRE_BATCH_MAX);
	}
	cr_assert_eq(r, 1, "batch never said full");
	cr_assert_eq(b.count, WIRE_BATCH_MAX, "expected %d envelopes, got %zu",
	    WIRE_BATCH_MAX, b.count);
	d = wire_batch_datagram(&b, &dlen);
	cr_assert_leq(dlen, WIRE_MSG_MAX);
	n = walk_all(&w, d, dlen, e, el, 1, &r, &why);
	cr_assert_eq(r, 0);
	cr_assert_eq(n, WIRE_BATCH_MAX);
}

Test(wire, envelope_of_4096_bytes_travels_as_a_batch_of_one)
{
	static struct wire_batch	 b;
	static uint8_t			 big[WIRE_MSG_MAX];
	Hnd__Envelope			*got;
	struct wire_walk		 w;
	uint8_t				 tiny[16];
	const uint8_t			*d, *e[2];
	const char			*why;
	size_t				 len, tlen, dlen, el[2], n;
	int				 r;

	len = resp_pack_sized(9, WIRE_MSG_MAX, big);
	cr_assert_eq(len, WIRE_MSG_MAX);
	tlen = resp_pack(10, 0, tiny);
	wire_batch_reset(&b);
	cr_assert_eq(wire_batch_add(&b, big, len), 0);
	cr_assert_eq(wire_batch_add(&b, tiny, tlen), 1,
	    "nothing fits beside a 4096-byte envelope");
	cr_assert_eq(b.count, 1);
	d = wire_batch_datagram(&b, &dlen);
	cr_assert_eq(dlen, WIRE_MSG_MAX);
	cr_assert_arr_eq(d, big, WIRE_MSG_MAX);
	n = walk_all(&w, d, dlen, e, el, 2, &r, &why);
	cr_assert_eq(r, 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(el[0], WIRE_MSG_MAX);
	got = hnd__envelope__unpack(NULL, dlen, d);
	cr_assert_not_null(got);
	cr_assert_eq(got->body_case, HND__ENVELOPE__BODY_RESPONSE);
	cr_assert_eq(got->response->id, 9);
	hnd__envelope__free_unpacked(got, NULL);
}

/*
 * Malformed batches. E1 and E2 are Response envelopes (ids 1 and 2);
 * GOOD is E1 as a batch element.
 */
#define E1	0x3a, 0x02, 0x08, 0x01
#define E2	0x3a, 0x02, 0x08, 0x02
#define GOOD	0x0a, 0x04, E1

/* Walk d and assert it fails with a reason after ngood copies of E1. */
#define assert_malformed(d, ngood) do {					\
	static const uint8_t	 e1_[] = { E1 };			\
	struct wire_walk	 w_;					\
	const uint8_t		*e_[8], *x_;				\
	const char		*why_;					\
	size_t			 el_[8], n_, i_, xl_;			\
	int			 r_;					\
									\
	n_ = walk_all(&w_, (d), sizeof(d), e_, el_, 8, &r_, &why_);	\
	cr_assert_eq(r_, -1, "walk: expected -1, got %d", r_);		\
	cr_assert(why_ != NULL && why_[0] != '\0', "no reason given");	\
	cr_assert_eq(n_, (size_t)(ngood), "expected %d good envelopes "	\
	    "first, got %zu", (ngood), n_);				\
	for (i_ = 0; i_ < n_ && i_ < 8; i_++) {				\
		cr_assert_eq(el_[i_], sizeof(e1_));			\
		cr_assert_arr_eq(e_[i_], e1_, sizeof(e1_));		\
	}								\
	cr_assert_eq(wire_walk_next(&w_, &x_, &xl_, &why_), 0,		\
	    "walk goes on after a fault");				\
} while (0)

Test(wire, batch_length_past_the_datagram_is_malformed)
{
	static const uint8_t	d[] = { 0x7a, 0x07, GOOD };

	assert_malformed(d, 0);
}

Test(wire, batch_length_short_of_the_datagram_is_malformed)
{
	static const uint8_t	d[] = { 0x7a, 0x05, GOOD, 0x00 };
	static const uint8_t	d2[] = { 0x7a, 0x06, GOOD, GOOD };

	assert_malformed(d, 0);
	assert_malformed(d2, 0);
}

Test(wire, empty_batch_is_malformed)
{
	static const uint8_t	d[] = { 0x7a, 0x00 };

	assert_malformed(d, 0);
}

Test(wire, batch_element_with_another_key_is_malformed)
{
	static const uint8_t	d[] = { 0x7a, 0x0c, GOOD, 0x12, 0x04, E2 };

	assert_malformed(d, 1);
}

Test(wire, batch_element_running_past_the_end_is_malformed)
{
	static const uint8_t	d[] = { 0x7a, 0x12, GOOD, GOOD, 0x0a, 0x05,
	    E2 };

	assert_malformed(d, 2);
}

Test(wire, batch_inside_a_batch_is_malformed)
{
	static const uint8_t	d[] = { 0x7a, 0x10, GOOD, 0x0a, 0x08, 0x7a,
	    0x06, 0x0a, 0x04, E2 };

	assert_malformed(d, 1);
}

Test(wire, batch_with_a_cut_length_varint_is_malformed)
{
	static const uint8_t	d[] = { 0x7a, 0x80 };
	static const uint8_t	d2[] = { 0x7a, 0x08, GOOD, 0x0a, 0x80 };

	assert_malformed(d, 0);
	assert_malformed(d2, 1);
}

Test(wire, batch_length_varint_over_4_bytes_is_malformed)
{
	static const uint8_t	d[] = { 0x7a, 0x86, 0x80, 0x80, 0x80, 0x00,
	    GOOD };

	assert_malformed(d, 0);
}

/* recvmmsg: several datagrams per call. */
static const size_t	many_len[3] = { 1, 100, WIRE_MSG_MAX };

static void
many_send(int fd)
{
	static uint8_t	buf[WIRE_MSG_MAX];
	size_t		i, j;

	for (i = 0; i < 3; i++) {
		for (j = 0; j < many_len[i]; j++)
			buf[j] = (uint8_t)(i * 7 + j);
		cr_assert_eq(send(fd, buf, many_len[i], 0),
		    (ssize_t)many_len[i]);
	}
}

/* Datagram i of many_send() is in buffer slot. */
static int
many_match(const struct wire_rbufs *rb, unsigned int slot, size_t i)
{
	size_t	j;

	if (rb->len[slot] != (ssize_t)many_len[i])
		return 0;
	for (j = 0; j < many_len[i]; j++)
		if (rb->buf[slot][j] != (uint8_t)(i * 7 + j))
			return 0;
	return 1;
}

Test(wire, recv_many_takes_every_waiting_datagram)
{
	struct wire_rbufs	*rb;
	unsigned int		 i;
	int			 n;

	cr_assert_not_null(rb = wire_rbufs_new(8));
	cr_assert_eq(rb->n, 8);
	many_send(sv[0]);
	n = wire_recv_many(sv[1], rb);
	cr_assert_eq(n, 3, "expected 3 datagrams, got %d", n);
	for (i = 0; i < 3; i++)
		cr_assert(many_match(rb, i, i), "datagram %u: %zd bytes", i,
		    rb->len[i]);
	cr_assert_eq(wire_recv_many(sv[1], rb), -EAGAIN);
	free(rb);
}

Test(wire, recv_many_with_two_buffers_takes_two_then_one)
{
	struct wire_rbufs	*rb;
	int			 n;

	cr_assert_not_null(rb = wire_rbufs_new(2));
	cr_assert_eq(rb->n, 2);
	many_send(sv[0]);
	n = wire_recv_many(sv[1], rb);
	cr_assert_eq(n, 2, "first call: expected 2, got %d", n);
	cr_assert(many_match(rb, 0, 0));
	cr_assert(many_match(rb, 1, 1));
	n = wire_recv_many(sv[1], rb);
	cr_assert_eq(n, 1, "second call: expected 1, got %d", n);
	cr_assert(many_match(rb, 0, 2));
	free(rb);
}

Test(wire, recv_many_on_an_empty_socket_says_eagain)
{
	struct wire_rbufs	*rb;

	cr_assert_not_null(rb = wire_rbufs_new(4));
	cr_assert_eq(wire_recv_many(sv[1], rb), -EAGAIN);
	free(rb);
}

Test(wire, recv_many_marks_an_oversize_datagram)
{
	static uint8_t		 big[WIRE_MSG_MAX + 100];
	struct wire_rbufs	*rb;
	int			 n;

	cr_assert_not_null(rb = wire_rbufs_new(8));
	cr_assert_eq(send(sv[0], big, WIRE_MSG_MAX + 1, 0), WIRE_MSG_MAX + 1);
	cr_assert_eq(send(sv[0], big, sizeof(big), 0), (ssize_t)sizeof(big));
	cr_assert_eq(send(sv[0], "abc", 3, 0), 3);
	n = wire_recv_many(sv[1], rb);
	cr_assert_eq(n, 3, "expected 3 datagrams, got %d", n);
	cr_assert_eq(rb->len[0], -EMSGSIZE, "4097 bytes: got len %zd",
	    rb->len[0]);
	cr_assert_eq(rb->len[1], -EMSGSIZE, "4196 bytes: got len %zd",
	    rb->len[1]);
	cr_assert_eq(rb->len[2], 3);
	cr_assert_arr_eq(rb->buf[2], "abc", 3);
	free(rb);
}

Test(wire, recv_many_reads_a_closed_peer_as_length_zero)
{
	struct wire_rbufs	*rb;
	int			 n;

	cr_assert_not_null(rb = wire_rbufs_new(8));
	close(sv[0]);
	sv[0] = open("/dev/null", O_RDONLY);
	n = wire_recv_many(sv[1], rb);
	/* Linux fills every slot with the 0-byte read, so the count is not
	 * pinned here; len[0] alone says the peer is gone. */
	cr_assert_geq(n, 1, "expected at least 1, got %d", n);
	cr_assert_eq(rb->len[0], 0, "len[0]: expected 0, got %zd",
	    rb->len[0]);
	free(rb);
}

Test(wire, recv_many_reads_datagrams_before_the_close)
{
	struct wire_rbufs	*rb;
	int			 n;

	cr_assert_not_null(rb = wire_rbufs_new(8));
	cr_assert_eq(send(sv[0], "abc", 3, 0), 3);
	close(sv[0]);
	sv[0] = open("/dev/null", O_RDONLY);
	n = wire_recv_many(sv[1], rb);
	cr_assert_geq(n, 2, "expected at least 2, got %d", n);
	cr_assert_eq(rb->len[0], 3);
	cr_assert_arr_eq(rb->buf[0], "abc", 3);
	cr_assert_eq(rb->len[1], 0, "len[1]: expected 0, got %zd",
	    rb->len[1]);
	free(rb);
}

Test(wire, batch_refuses_empty_and_oversize_envelopes)
{
	static struct wire_batch	b;
	static uint8_t			big[WIRE_MSG_MAX + 1];
	size_t				len = 99;

	wire_batch_reset(&b);
	cr_assert_eq(wire_batch_add(&b, big, 0), -EMSGSIZE);
	cr_assert_eq(wire_batch_add(&b, big, WIRE_MSG_MAX + 1), -EMSGSIZE);
	cr_assert_eq(b.count, 0, "a refused envelope was counted");
	/* Nothing in it: no datagram to send. */
	cr_assert_null(wire_batch_datagram(&b, &len));
	cr_assert_eq(len, 0);
}
