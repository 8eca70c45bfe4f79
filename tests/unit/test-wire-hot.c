/* SPDX-License-Identifier: MIT */
/*
 * wire-hot's writers against protobuf-c: for field values at every varint
 * width boundary, data of several sizes and facts present or not, the
 * bytes must be exactly what protobuf_c_message_pack() writes, and they
 * must unpack to the same values.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "wire-hot.h"

static const uint64_t	 widths[] = { 0, 1, 0x7f, 0x80, 0x3fff, 0x4000,
			    0xffffffffu, 0x100000000ull, UINT64_MAX };
static const size_t	 dlens[] = { 0, 1, 3, 127, 128, 300, 1000, 3500 };

static uint8_t		 data[4096];

/* Returns the bytes compared (0: too big for a datagram, as expected). */
static size_t
same_as_protobuf_c(const ProtobufCMessage *env, size_t got,
    const uint8_t *buf, const char *what)
{
	uint8_t	want[WIRE_MSG_MAX * 2];
	size_t	wlen;

	wlen = protobuf_c_message_get_packed_size(env);
	cr_assert_leq(wlen, sizeof(want));
	cr_assert_eq(protobuf_c_message_pack(env, want), wlen);
	if (wlen > WIRE_MSG_MAX) {
		cr_assert_eq(got, 0, "%s: %zu bytes packed into %d", what,
		    wlen, WIRE_MSG_MAX);
		return 0;
	}
	cr_assert_eq(got, wlen, "%s: %zu bytes, protobuf-c %zu", what, got,
	    wlen);
	cr_assert_eq(memcmp(buf, want, wlen), 0, "%s: bytes differ", what);
	return wlen;
}

Test(wire_hot, handler_request_matches_protobuf_c)
{
	Hnd__Envelope	 env = HND__ENVELOPE__INIT, *back;
	Hnd__Request	 rq = HND__REQUEST__INIT;
	Hnd__BusFacts	 f = HND__BUS_FACTS__INIT;
	uint8_t		 buf[WIRE_MSG_MAX];
	size_t		 i, j, n, k = 0;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	env.body_case = HND__ENVELOPE__BODY_REQUEST;
	env.request = &rq;
	for (i = 0; i < sizeof(widths) / sizeof(widths[0]); i++)
		for (j = 0; j < sizeof(dlens) / sizeof(dlens[0]); j++, k++) {
			uint32_t w32 = (uint32_t)widths[(i + j) %
			    (sizeof(widths) / sizeof(widths[0]))];

			rq.id = widths[i];
			rq.netfn = w32 & 0x3f;
			rq.lun = (uint32_t)j & 3;
			rq.cmd = w32;
			rq.data.data = data;
			rq.data.len = dlens[j];
			rq.channel = (uint32_t)widths[i];
			rq.deadline_ms = w32;
			rq.origin_pid = (uint32_t)(k * 977);
			/* Facts: absent, empty, full. */
			rq.facts = k % 3 == 0 ? NULL : &f;
			f.bus = k % 3 == 2 ? "bt0" : NULL;
			f.medium = k % 3 == 2 ? 2 : 0;
			f.protocol = k % 3 == 2 ? 5 : 0;
			f.max_request = k % 3 == 2 ? 1000 : 0;
			f.max_response = k % 3 == 2 ? (uint32_t)widths[i] : 0;
			f.deadline_ms = k % 3 == 2 ? 438 : 0;
			f.max_outstanding = k % 3 == 2 ? 64 : 0;
			n = wire_pack_hnd(&env, buf);
			same_as_protobuf_c(&env.base, n, buf, "Hnd.Request");
			if (n == 0)
				continue;
			back = hnd__envelope__unpack(NULL, n, buf);
			cr_assert_not_null(back);
			cr_assert_eq(back->request->id, rq.id);
			cr_assert_eq(back->request->data.len, rq.data.len);
			cr_assert_eq(back->request->facts != NULL,
			    rq.facts != NULL);
			hnd__envelope__free_unpacked(back, NULL);
		}
}

Test(wire_hot, handler_response_matches_protobuf_c)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__Response	rs = HND__RESPONSE__INIT;
	uint8_t		buf[WIRE_MSG_MAX];
	size_t		i, j;

	env.body_case = HND__ENVELOPE__BODY_RESPONSE;
	env.response = &rs;
	for (i = 0; i < sizeof(widths) / sizeof(widths[0]); i++)
		for (j = 0; j < sizeof(dlens) / sizeof(dlens[0]); j++) {
			rs.id = widths[i];
			rs.cc = (uint32_t)(i * 37) & 0xff;
			rs.data.data = data;
			rs.data.len = dlens[j];
			cr_assert_gt(same_as_protobuf_c(&env.base,
			    wire_pack_hnd(&env, buf), buf, "Hnd.Response"), 0,
			    "a response of %zu bytes did not pack", dlens[j]);
		}
}

Test(wire_hot, bus_request_and_response_match_protobuf_c)
{
	Bus__Envelope	env = BUS__ENVELOPE__INIT;
	Bus__Request	rq = BUS__REQUEST__INIT;
	Bus__Response	rs = BUS__RESPONSE__INIT;
	uint8_t		buf[WIRE_MSG_MAX];
	size_t		i, j;

	for (i = 0; i < sizeof(widths) / sizeof(widths[0]); i++)
		for (j = 0; j < sizeof(dlens) / sizeof(dlens[0]); j++) {
			rq.token = widths[i];
			rq.netfn = (uint32_t)(i * 2) & 0x3e;
			rq.lun = (uint32_t)i & 3;
			rq.cmd = (uint32_t)widths[(i + 3) % 9];
			rq.data.data = data;
			rq.data.len = dlens[j];
			rq.seq = (uint32_t)j;
			rq.rq_addr = (uint32_t)widths[(i + j) % 9];
			rq.rs_addr = 0x20;
			env.body_case = BUS__ENVELOPE__BODY_REQUEST;
			env.request = &rq;
			cr_assert_gt(same_as_protobuf_c(&env.base,
			    wire_pack_bus(&env, buf), buf, "Bus.Request"), 0,
			    "a request of %zu bytes did not pack", dlens[j]);
			rs.token = widths[i];
			rs.netfn = rq.netfn;
			rs.lun = rq.lun;
			rs.cmd = rq.cmd;
			rs.cc = (uint32_t)widths[j];
			rs.data.data = data;
			rs.data.len = dlens[j];
			env.body_case = BUS__ENVELOPE__BODY_RESPONSE;
			env.response = &rs;
			cr_assert_gt(same_as_protobuf_c(&env.base,
			    wire_pack_bus(&env, buf), buf, "Bus.Response"), 0,
			    "a response of %zu bytes did not pack", dlens[j]);
		}
}

Test(wire_hot, other_envelopes_go_through_protobuf_c)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__Goodbye	bye = HND__GOODBYE__INIT;
	uint8_t		buf[WIRE_MSG_MAX];

	bye.reason = "test";
	env.body_case = HND__ENVELOPE__BODY_GOODBYE;
	env.goodbye = &bye;
	same_as_protobuf_c(&env.base, wire_pack_hnd(&env, buf), buf,
	    "Hnd.Goodbye");
}

/* The quick decoder's result and protobuf-c's pack back to the same bytes. */
/* Returns whether the quick decoder took it. */
static int
same_decoding(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
    size_t len, int want_quick, const char *what)
{
	static uint8_t		 arena_buf[16384], a1[8192], a2[8192];
	struct wire_arena	 a;
	ProtobufCMessage	*q, *r;
	size_t			 l1, l2;

	wire_arena_init(&a, arena_buf, sizeof(arena_buf));
	q = wire_unpack_fast(d, &a.alloc, buf, len);
	cr_assert_eq(q != NULL, want_quick, "%s: quick decoder %s", what,
	    want_quick ? "gave up" : "took it");
	if (q == NULL)
		q = wire_unpack(d, &a.alloc, buf, len);
	r = protobuf_c_message_unpack(d, NULL, len, buf);
	cr_assert_not_null(r, "%s: protobuf-c refuses it", what);
	cr_assert_not_null(q, "%s: wire_unpack refuses it", what);
	l1 = protobuf_c_message_pack(q, a1);
	l2 = protobuf_c_message_pack(r, a2);
	cr_assert(l1 == l2 && memcmp(a1, a2, l1) == 0,
	    "%s: decoded differently", what);
	protobuf_c_message_free_unpacked(r, NULL);
	wire_arena_deinit(&a);
	return want_quick;
}

Test(wire_hot, quick_decoder_takes_what_the_writers_write)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__Request	rq = HND__REQUEST__INIT;
	Hnd__BusFacts	f = HND__BUS_FACTS__INIT;
	Bus__Envelope	benv = BUS__ENVELOPE__INIT;
	Bus__Response	brs = BUS__RESPONSE__INIT;
	uint8_t		buf[WIRE_MSG_MAX];
	size_t		n;

	rq.id = 0x123456789aull;
	rq.netfn = 6;
	rq.cmd = 1;
	rq.data.data = (uint8_t *)"\x01\x02\x03";
	rq.data.len = 3;
	rq.channel = 15;
	rq.deadline_ms = 4000;
	f.bus = "bt0";
	f.medium = 2;
	f.max_response = 200;
	rq.facts = &f;
	env.body_case = HND__ENVELOPE__BODY_REQUEST;
	env.request = &rq;
	n = wire_pack_hnd(&env, buf);
	cr_assert(same_decoding(&hnd__envelope__descriptor, buf, n, 1,
	    "Hnd.Request"));

	brs.token = 77;
	brs.netfn = 6;
	brs.cmd = 1;
	brs.cc = 0xc1;
	benv.body_case = BUS__ENVELOPE__BODY_RESPONSE;
	benv.response = &brs;
	n = wire_pack_bus(&benv, buf);
	cr_assert(same_decoding(&bus__envelope__descriptor, buf, n, 1,
	    "Bus.Response"));
}

Test(wire_hot, quick_decoder_leaves_the_rest_to_protobuf_c)
{
	/* Hnd.Response (envelope field 7) with id 1, cc 2 ... */
	static const uint8_t	out_of_order[] = { 0x3a, 0x04, 0x10, 0x02,
				    0x08, 0x01 };
	static const uint8_t	repeated[] = { 0x3a, 0x04, 0x08, 0x01,
				    0x08, 0x02 };
	static const uint8_t	unknown[] = { 0x3a, 0x04, 0x08, 0x01,
				    0x78, 0x05 };
	static const uint8_t	wide_cc[] = { 0x3a, 0x06, 0x10, 0xff, 0xff,
				    0xff, 0xff, 0x7f };
	/* Two members of the envelope's oneof: the last one wins. */
	static const uint8_t	two_bodies[] = { 0x32, 0x00, 0x3a, 0x02,
				    0x08, 0x05 };
	static const uint8_t	plain[] = { 0x3a, 0x04, 0x08, 0x01, 0x10,
				    0x02 };

	cr_assert_not(same_decoding(&hnd__envelope__descriptor, out_of_order,
	    sizeof(out_of_order), 0, "fields out of order"));
	cr_assert_not(same_decoding(&hnd__envelope__descriptor, repeated,
	    sizeof(repeated), 0, "a field twice"));
	cr_assert_not(same_decoding(&hnd__envelope__descriptor, unknown,
	    sizeof(unknown), 0, "an unknown field"));
	cr_assert_not(same_decoding(&hnd__envelope__descriptor, wide_cc,
	    sizeof(wide_cc), 0, "a uint32 wider than 32 bits"));
	cr_assert_not(same_decoding(&hnd__envelope__descriptor, two_bodies,
	    sizeof(two_bodies), 0, "two oneof members"));
	cr_assert(same_decoding(&hnd__envelope__descriptor, plain,
	    sizeof(plain), 1, "the canonical form"));
}
