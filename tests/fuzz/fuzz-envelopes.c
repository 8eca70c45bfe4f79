/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: every envelope a peer can send, through the same unpack
 * (with the broker's arena allocator) and validation the receivers use.
 * The first byte picks the protocol and direction; the rest is the
 * datagram.
 *
 * The datagram is also walked as the receivers walk it (wire_walk), and
 * each envelope it yields is unpacked and validated on its own, so batches,
 * their elements and malformed batches are all exercised; so are the same
 * bytes framed as a batch. Then the bytes, cut into pieces, are batched
 * with wire_batch_add() and walked back. What must hold aborts when it
 * does not: a walk stays inside the datagram, gives a reason when it fails
 * and nothing after; a batch the walk accepts is one protobuf-c reads as
 * Envelope.batch with the same elements; a batch we build fits a datagram,
 * is refused only when full, and walks back unchanged (up to an element
 * that looks like a batch).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "validate.h"
#include "wire.h"
#include "wire-hot.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t			arena_buf[16 * 1024];
static uint8_t			elem_buf[16 * 1024];
static struct wire_batch	fuzz_batch;
static const uint8_t		*fuzz_elem[WIRE_BATCH_MAX];
static size_t			 fuzz_elen[WIRE_BATCH_MAX];

static void
fuzz_check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz-envelopes: %s\n", what);
		abort();
	}
}

static void
fuzz_handler_key(const Hnd__Envelope *e)
{
	const Hnd__Key	*k;
	struct reg_key	 rk;
	char		 why[128];

	if (e->body_case != HND__ENVELOPE__BODY_REGISTER ||
	    e->register_->key == NULL)
		return;
	k = e->register_->key;
	(void)registry_key_check(&rk, k->netfn, k->any_cmd, k->cmd, k->iana,
	    k->body, k->lun_mask, k->channel_mask, why, sizeof(why));
}

/* Unpack and validate one envelope of protocol proto; returns it. */
static void *
fuzz_envelope(int proto, struct wire_arena *a, const uint8_t *buf,
    size_t len)
{
	char	 why[256];
	void	*m;

	switch (proto) {
	case 0:
		if ((m = wire_unpack(&hnd__envelope__descriptor, &a->alloc,
		    buf, len)) && validate_from_handler(m, why, sizeof(why)) == 0)
			fuzz_handler_key(m);
		break;
	case 1:
		if ((m = wire_unpack(&hnd__envelope__descriptor, &a->alloc,
		    buf, len)))
			(void)validate_from_broker(m, why, sizeof(why));
		break;
	case 2:
		if ((m = ctl__envelope__unpack(&a->alloc, len, buf)))
			(void)validate_from_control(m, why, sizeof(why));
		break;
	case 3:
		if ((m = wire_unpack(&bus__envelope__descriptor, &a->alloc,
		    buf, len)))
			(void)validate_from_driver(m, why, sizeof(why));
		break;
	default:
		if ((m = sup__envelope__unpack(&a->alloc, len, buf)))
			(void)validate_from_supervisor(m, why, sizeof(why));
		break;
	}
	return m;
}

/*
 * Walk buf as a receiver does, handling each envelope on its own with the
 * arena reset after each. Returns the count yielded; *r is how it ended.
 */
static size_t
fuzz_walk(int proto, const uint8_t *buf, size_t len, int *r)
{
	struct wire_arena	 a;
	struct wire_walk	 w;
	const uint8_t		*e;
	const char		*why = NULL;
	size_t			 elen, n = 0;
	int			 batch;

	batch = len > 0 && buf[0] == WIRE_BATCH_KEY;
	wire_arena_init(&a, elem_buf, sizeof(elem_buf));
	wire_walk_init(&w, buf, len);
	while ((*r = wire_walk_next(&w, &e, &elen, &why)) == 1) {
		fuzz_check(e >= buf && elen <= len &&
		    (size_t)(e - buf) <= len - elen,
		    "element outside the datagram");
		if (batch)
			fuzz_check(elen == 0 || e[0] != WIRE_BATCH_KEY,
			    "batch inside a batch yielded");
		else
			fuzz_check(e == buf && elen == len,
			    "lone envelope not yielded whole");
		n++;
		(void)fuzz_envelope(proto, &a, e, elen);
		wire_arena_reset(&a);
	}
	fuzz_check(*r == 0 || *r == -1, "walk returned neither 0 nor -1");
	fuzz_check(*r == 0 || (batch && why != NULL && why[0] != '\0'),
	    "walk failed without a reason, or on a lone envelope");
	fuzz_check(batch || n == 1, "lone envelope not yielded once");
	fuzz_check(wire_walk_next(&w, &e, &elen, &why) == 0,
	    "walk goes on after its end");
	wire_arena_deinit(&a);
	return n;
}

/* The elements of m's batch in *pb and *n; 0 when m has no batch. */
static int
fuzz_batch_of(int proto, const void *m, const ProtobufCBinaryData **pb,
    size_t *n)
{
	const Hnd__Envelope	*h = m;
	const Bus__Envelope	*b = m;

	if ((proto == 0 || proto == 1) &&
	    h->body_case == HND__ENVELOPE__BODY_BATCH) {
		*n = h->batch->n_envelope;
		*pb = h->batch->envelope;
		return 1;
	}
	if (proto == 3 && b->body_case == BUS__ENVELOPE__BODY_BATCH) {
		*n = b->batch->n_envelope;
		*pb = b->batch->envelope;
		return 1;
	}
	return 0;
}

/* A batch the walk took whole must be what protobuf-c reads in it. */
static void
fuzz_agree(int proto, const void *m, const uint8_t *buf, size_t len,
    size_t count)
{
	const ProtobufCBinaryData	*pb;
	struct wire_walk		 w;
	const uint8_t			*e;
	const char			*why;
	size_t				 elen, n, i = 0;

	if (proto == 2 || proto == 4)
		return;		/* these protocols have no batches */
	fuzz_check(m != NULL, "protobuf-c refused a batch the walk took");
	fuzz_check(fuzz_batch_of(proto, m, &pb, &n),
	    "protobuf-c read no batch where the walk did");
	fuzz_check(n == count, "protobuf-c counts other elements");
	wire_walk_init(&w, buf, len);
	while (wire_walk_next(&w, &e, &elen, &why) == 1) {
		fuzz_check(pb[i].len == elen &&
		    (elen == 0 || memcmp(pb[i].data, e, elen) == 0),
		    "protobuf-c reads another element");
		i++;
	}
}

/* One received datagram: as one envelope, then walked. */
static void
fuzz_datagram(int proto, const uint8_t *buf, size_t len)
{
	struct wire_arena	 a;
	void			*m;
	size_t			 n;
	int			 r;

	wire_arena_init(&a, arena_buf, sizeof(arena_buf));
	m = fuzz_envelope(proto, &a, buf, len);
	n = fuzz_walk(proto, buf, len, &r);
	if (r == 0 && len > 0 && buf[0] == WIRE_BATCH_KEY)
		fuzz_agree(proto, m, buf, len, n);
	wire_arena_deinit(&a);
}

/* Bytes of a length varint for v. */
static size_t
fuzz_varint_len(size_t v)
{
	size_t	n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/*
 * Send what fuzz_batch holds: it fits, and walks back to what went in, or,
 * when an element looks like a batch, to the elements before it and then
 * a fault. A batch of one is that element as it is.
 */
static void
fuzz_batch_flush(int proto, size_t nested)
{
	struct wire_walk	 w;
	const uint8_t		*d, *e;
	const char		*why;
	size_t			 len, elen, i = 0;
	int			 r;

	fuzz_check(fuzz_batch.count >= 1 &&
	    fuzz_batch.count <= WIRE_BATCH_MAX, "batch count out of range");
	d = wire_batch_datagram(&fuzz_batch, &len);
	fuzz_check(len <= WIRE_MSG_MAX, "batch over WIRE_MSG_MAX");
	fuzz_datagram(proto, d, len);
	if (fuzz_batch.count == 1) {
		fuzz_check(len == fuzz_elen[0] &&
		    (len == 0 || memcmp(d, fuzz_elem[0], len) == 0),
		    "batch of one is not the bare envelope");
		if (nested == 0)
			return;	/* it looks like a batch itself */
	}
	wire_walk_init(&w, d, len);
	while ((r = wire_walk_next(&w, &e, &elen, &why)) == 1) {
		fuzz_check(i < nested, "batch walks past a nested batch");
		fuzz_check(elen == fuzz_elen[i] &&
		    (elen == 0 || memcmp(e, fuzz_elem[i], elen) == 0),
		    "batch walks to other bytes");
		i++;
	}
	if (nested < fuzz_batch.count)
		fuzz_check(r == -1 && i == nested,
		    "nested batch not refused in order");
	else
		fuzz_check(r == 0 && i == fuzz_batch.count,
		    "batch we built does not walk back");
}

/* Add one envelope to fuzz_batch, sending the batch first when full. */
static void
fuzz_batch_put(int proto, const uint8_t *p, size_t n, size_t *nested)
{
	size_t	blen;
	int	r;

	/* An empty envelope is never a batch element. */
	if (n == 0) {
		fuzz_check(wire_batch_add(&fuzz_batch, p, n) == -EMSGSIZE,
		    "batch took an empty envelope");
		return;
	}
	if ((r = wire_batch_add(&fuzz_batch, p, n)) != 0) {
		fuzz_check(r == 1, "batch refused an envelope it could hold");
		/* Refused: 64 held already, or more than one datagram. */
		blen = fuzz_batch.len + 1 + fuzz_varint_len(n) + n;
		fuzz_check(fuzz_batch.count == WIRE_BATCH_MAX ||
		    1 + fuzz_varint_len(blen) + blen > WIRE_MSG_MAX,
		    "batch refused an envelope that fits");
		fuzz_batch_flush(proto, *nested);
		wire_batch_reset(&fuzz_batch);
		*nested = WIRE_BATCH_MAX;
		fuzz_check(wire_batch_add(&fuzz_batch, p, n) == 0,
		    "empty batch refused an envelope");
	}
	fuzz_check(fuzz_batch.count <= WIRE_BATCH_MAX,
	    "batch over WIRE_BATCH_MAX");
	fuzz_elem[fuzz_batch.count - 1] = p;
	fuzz_elen[fuzz_batch.count - 1] = n;
	if (*nested == WIRE_BATCH_MAX && n > 0 && p[0] == WIRE_BATCH_KEY)
		*nested = fuzz_batch.count - 1;
}

/*
 * Cut buf into envelopes and batch them. Each piece is a length byte and
 * that many bytes; 0xfe: the length is 254 + 16 * the next byte; 0xff: the
 * previous piece again, so a short input can fill a batch.
 */
static void
fuzz_batched(int proto, const uint8_t *buf, size_t len)
{
	const uint8_t	*p = buf, *end = buf + len, *prev = NULL;
	size_t		 n, prevn = 0, nested = WIRE_BATCH_MAX;

	wire_batch_reset(&fuzz_batch);
	while (p < end) {
		n = *p++;
		if (n == 0xff && prev != NULL) {
			fuzz_batch_put(proto, prev, prevn, &nested);
			continue;
		}
		if (n >= 0xfe && p < end)
			n = 254 + (size_t)*p++ * 16;
		if (n > (size_t)(end - p))
			n = (size_t)(end - p);
		fuzz_batch_put(proto, p, n, &nested);
		prev = p;
		prevn = n;
		p += n;
	}
	if (fuzz_batch.count > 0)
		fuzz_batch_flush(proto, nested);
}

/*
 * buf as the body of a batch with the right length, so the elements are
 * parsed even when the input's own length would not have matched. The
 * copy is exactly as long as the datagram, so ASan sees any overread.
 */
static void
fuzz_framed(int proto, const uint8_t *buf, size_t len)
{
	uint8_t	*d;
	size_t	 hdr;

	if (len > WIRE_MSG_MAX - 3)
		len = WIRE_MSG_MAX - 3;
	hdr = 1 + fuzz_varint_len(len);
	if ((d = malloc(hdr + len)) == NULL)
		return;
	d[0] = WIRE_BATCH_KEY;
	if (len < 0x80)
		d[1] = (uint8_t)len;
	else {
		d[1] = (uint8_t)(len | 0x80);
		d[2] = (uint8_t)(len >> 7);
	}
	if (len > 0)
		memcpy(d + hdr, buf, len);
	fuzz_datagram(proto, d, hdr + len);
	free(d);
}

/*
 * wire_unpack()'s quick decoder must agree with protobuf-c: whatever it
 * takes, protobuf-c takes too, and both pack back to the same bytes.
 */
static void
fuzz_quick(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
    size_t len)
{
	static uint8_t		 qa[16 * 1024];
	static uint8_t		 pq[2 * WIRE_MSG_MAX + 64];
	static uint8_t		 pr[2 * WIRE_MSG_MAX + 64];
	struct wire_arena	 a;
	ProtobufCMessage	*q, *r;
	size_t			 lq, lr;

	wire_arena_init(&a, qa, sizeof(qa));
	if ((q = wire_unpack_fast(d, &a.alloc, buf, len)) != NULL) {
		r = protobuf_c_message_unpack(d, NULL, len, buf);
		fuzz_check(r != NULL,
		    "quick decoder took what protobuf-c refuses");
		lq = protobuf_c_message_get_packed_size(q);
		lr = protobuf_c_message_get_packed_size(r);
		fuzz_check(lq == lr && lq <= sizeof(pq),
		    "quick decoder and protobuf-c disagree on the size");
		fuzz_check(protobuf_c_message_pack(q, pq) == lq &&
		    protobuf_c_message_pack(r, pr) == lr &&
		    memcmp(pq, pr, lq) == 0,
		    "quick decoder and protobuf-c disagree");
		protobuf_c_message_free_unpacked(r, NULL);
	}
	wire_arena_deinit(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > WIRE_MSG_MAX + 1)
		return 0;
	fuzz_quick(data[0] & 0x40 ? &bus__envelope__descriptor :
	    &hnd__envelope__descriptor, data + 1, size - 1);
	fuzz_datagram(data[0] % 5, data + 1, size - 1);
	fuzz_framed(data[0] % 5, data + 1, size - 1);
	fuzz_batched(data[0] % 5, data + 1, size - 1);
	return 0;
}
