/* SPDX-License-Identifier: MIT */
/*
 * wire-hot: packing for the four messages every request crosses twice.
 *
 * protobuf-c packs by walking its descriptors, and sizes a message (and
 * every nested one, twice) before packing it: for the handler's Request
 * with its bus facts that is over 3,000 instructions, more than half of
 * the broker's work per request. These writers produce the same bytes
 * protobuf-c would (fields in number order, proto3 zeros left out, a
 * present submessage always written) for Hnd.Request, Hnd.Response,
 * Bus.Request and Bus.Response inside their envelopes, straight into the
 * buffer. tests/unit/test-wire.c holds them byte for byte to protobuf-c.
 * Decoding stays with protobuf-c: what arrives is checked by the one
 * validation point, not by code written for speed.
 */
#include <string.h>

#include "wire-hot.h"
#include "wire-varint.h"

/* Every key here has a field number below 16: one byte. */
#define KEY(f, t)	((uint8_t)(((f) << 3) | (t)))
#define VARINT		0
#define LEN		2

/* Room for the fixed fields of any message here, beyond data and name. */
#define HOT_FIXED	192

static uint8_t *
hot_uint(uint8_t *p, unsigned int field, uint64_t v)
{
	if (v == 0)
		return p;
	*p++ = KEY(field, VARINT);
	return wire_varint_put(p, v);
}

static uint8_t *
hot_bytes(uint8_t *p, unsigned int field, const void *d, size_t len)
{
	if (len == 0)
		return p;
	*p++ = KEY(field, LEN);
	p = wire_varint_put(p, len);
	memcpy(p, d, len);
	return p + len;
}

/*
 * The message was written at buf + 3; put the envelope's key and length
 * in front of it and move the whole to buf. Returns the envelope's size.
 */
static size_t
hot_envelope(uint8_t *buf, unsigned int field, const uint8_t *end)
{
	size_t	len = (size_t)(end - (buf + 3));
	uint8_t	hdr[3], *h;

	h = hdr;
	*h++ = KEY(field, LEN);
	h = wire_varint_put(h, len);
	if ((size_t)(h - hdr) + len > WIRE_MSG_MAX)
		return 0;
	memmove(buf + (h - hdr), buf + 3, len);
	memcpy(buf, hdr, (size_t)(h - hdr));
	return (size_t)(h - hdr) + len;
}

size_t
wire_pack_hnd_request(const Hnd__Envelope *env, uint8_t *buf)
{
	const Hnd__Request	*m = env->request;
	const Hnd__BusFacts	*f = m->facts;
	uint8_t			 fb[HOT_FIXED], *p, *q;
	size_t			 blen = 0;

	if (f != NULL && f->bus != NULL)
		blen = strlen(f->bus);
	if (m->data.len + blen > WIRE_MSG_MAX - 2 * HOT_FIXED)
		return wire_pack(&env->base, buf);
	p = buf + 3;
	p = hot_uint(p, 1, m->id);
	p = hot_uint(p, 2, m->netfn);
	p = hot_uint(p, 3, m->lun);
	p = hot_uint(p, 4, m->cmd);
	p = hot_bytes(p, 5, m->data.data, m->data.len);
	p = hot_uint(p, 6, m->channel);
	p = hot_uint(p, 7, m->deadline_ms);
	if (f != NULL) {
		if (blen > HOT_FIXED - 64)
			return wire_pack(&env->base, buf);
		q = hot_bytes(fb, 1, f->bus, blen);
		q = hot_uint(q, 2, f->medium);
		q = hot_uint(q, 3, f->protocol);
		q = hot_uint(q, 4, f->max_request);
		q = hot_uint(q, 5, f->max_response);
		q = hot_uint(q, 6, f->deadline_ms);
		q = hot_uint(q, 7, f->max_outstanding);
		/* A present submessage is written even when empty. */
		*p++ = KEY(8, LEN);
		p = wire_varint_put(p, (size_t)(q - fb));
		memcpy(p, fb, (size_t)(q - fb));
		p += q - fb;
	}
	p = hot_uint(p, 9, m->origin_pid);
	return hot_envelope(buf, HND__ENVELOPE__BODY_REQUEST, p);
}

size_t
wire_pack_hnd_response(const Hnd__Envelope *env, uint8_t *buf)
{
	const Hnd__Response	*m = env->response;
	uint8_t			*p;

	if (m->data.len > WIRE_MSG_MAX - HOT_FIXED)
		return wire_pack(&env->base, buf);
	p = buf + 3;
	p = hot_uint(p, 1, m->id);
	p = hot_uint(p, 2, m->cc);
	p = hot_bytes(p, 3, m->data.data, m->data.len);
	return hot_envelope(buf, HND__ENVELOPE__BODY_RESPONSE, p);
}

size_t
wire_pack_bus_request(const Bus__Envelope *env, uint8_t *buf)
{
	const Bus__Request	*m = env->request;
	uint8_t			*p;

	if (m->data.len > WIRE_MSG_MAX - HOT_FIXED)
		return wire_pack(&env->base, buf);
	p = buf + 3;
	p = hot_uint(p, 1, m->token);
	p = hot_uint(p, 2, m->netfn);
	p = hot_uint(p, 3, m->lun);
	p = hot_uint(p, 4, m->cmd);
	p = hot_bytes(p, 5, m->data.data, m->data.len);
	p = hot_uint(p, 6, m->seq);
	p = hot_uint(p, 7, m->rq_addr);
	p = hot_uint(p, 8, m->rs_addr);
	return hot_envelope(buf, BUS__ENVELOPE__BODY_REQUEST, p);
}

size_t
wire_pack_bus_response(const Bus__Envelope *env, uint8_t *buf)
{
	const Bus__Response	*m = env->response;
	uint8_t			*p;

	if (m->data.len > WIRE_MSG_MAX - HOT_FIXED)
		return wire_pack(&env->base, buf);
	p = buf + 3;
	p = hot_uint(p, 1, m->token);
	p = hot_uint(p, 2, m->netfn);
	p = hot_uint(p, 3, m->lun);
	p = hot_uint(p, 4, m->cmd);
	p = hot_uint(p, 5, m->cc);
	p = hot_bytes(p, 6, m->data.data, m->data.len);
	return hot_envelope(buf, BUS__ENVELOPE__BODY_RESPONSE, p);
}

/* Any envelope: the hot writers for their four, protobuf-c for the rest. */
size_t
wire_pack_hnd(const Hnd__Envelope *env, uint8_t *buf)
{
	if (env->body_case == HND__ENVELOPE__BODY_REQUEST)
		return wire_pack_hnd_request(env, buf);
	if (env->body_case == HND__ENVELOPE__BODY_RESPONSE)
		return wire_pack_hnd_response(env, buf);
	return wire_pack(&env->base, buf);
}

size_t
wire_pack_bus(const Bus__Envelope *env, uint8_t *buf)
{
	if (env->body_case == BUS__ENVELOPE__BODY_REQUEST)
		return wire_pack_bus_request(env, buf);
	if (env->body_case == BUS__ENVELOPE__BODY_RESPONSE)
		return wire_pack_bus_response(env, buf);
	return wire_pack(&env->base, buf);
}

/*
 * Decoding the common case quickly. protobuf-c unpacks in two passes,
 * zeroes and allocates every message and copies every bytes field. Most
 * datagrams here are small proto3 messages written the canonical way:
 * fields in increasing number, each once, all of simple types. For those
 * fast_message() fills the same structs in one pass, with bytes fields
 * pointing into the datagram (which outlives the message: both go when
 * the arena is reset). Anything else - a field out of order or repeated,
 * an unknown field, a value protobuf-c would truncate, a type not handled
 * here - makes it give up, and protobuf-c decodes the datagram as always.
 * fuzz-envelopes holds the two to the same result on every input.
 */

#define FAST_DEPTH	4

static void *
fast_alloc(ProtobufCAllocator *a, size_t size)
{
	return a->alloc(a->allocator_data, size);
}

static ProtobufCMessage *fast_message(const ProtobufCMessageDescriptor *,
    ProtobufCAllocator *, const uint8_t *, size_t, int);

/* One field's value into the message; -1 to give up. */
static int
fast_field(const ProtobufCFieldDescriptor *f, void *m, int wt,
    const uint8_t **pp, const uint8_t *end, ProtobufCAllocator *a,
    int depth)
{
	ProtobufCBinaryData	*bd;
	ProtobufCMessage	*sub;
	uint64_t		 v;
	char			*str;

	if (f->label != PROTOBUF_C_LABEL_NONE &&
	    f->label != PROTOBUF_C_LABEL_OPTIONAL)
		return -1;
	switch (f->type) {
	case PROTOBUF_C_TYPE_UINT32:
		/* Five bytes at most and no bits beyond 32: else protobuf-c
		 * truncates, and matching that is not worth it. */
		if (wt != 0 || wire_varint_get(pp, end, 5, &v) < 0 ||
		    v > UINT32_MAX)
			return -1;
		*(uint32_t *)((char *)m + f->offset) = (uint32_t)v;
		break;
	case PROTOBUF_C_TYPE_UINT64:
		if (wt != 0 || wire_varint_get(pp, end, 9, &v) < 0)
			return -1;
		*(uint64_t *)((char *)m + f->offset) = v;
		break;
	case PROTOBUF_C_TYPE_BYTES:
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		if (wt != 2 || wire_varint_get(pp, end, 4, &v) < 0 ||
		    v > (uint64_t)(end - *pp))
			return -1;
		if (f->type == PROTOBUF_C_TYPE_BYTES) {
			bd = (ProtobufCBinaryData *)((char *)m + f->offset);
			bd->data = v > 0 ? (uint8_t *)*pp : NULL;
			bd->len = (size_t)v;
		} else if (f->type == PROTOBUF_C_TYPE_STRING) {
			if ((str = fast_alloc(a, (size_t)v + 1)) == NULL)
				return -1;
			memcpy(str, *pp, (size_t)v);
			str[v] = '\0';
			*(char **)((char *)m + f->offset) = str;
		} else {
			if (depth >= FAST_DEPTH || (sub = fast_message(
			    f->descriptor, a, *pp, (size_t)v, depth + 1)) ==
			    NULL)
				return -1;
			*(ProtobufCMessage **)((char *)m + f->offset) = sub;
		}
		*pp += v;
		break;
	default:
		return -1;
	}
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		*(uint32_t *)((char *)m + f->quantifier_offset) = f->id;
	return 0;
}

static ProtobufCMessage *
fast_message(const ProtobufCMessageDescriptor *d, ProtobufCAllocator *a,
    const uint8_t *buf, size_t len, int depth)
{
	const ProtobufCFieldDescriptor	*f;
	const uint8_t			*p = buf, *end = buf + len;
	ProtobufCMessage		*m;
	uint64_t			 key;
	uint32_t			 id, last = 0;
	unsigned int			 i = 0;
	int				 oneofs = 0;

	if ((m = fast_alloc(a, d->sizeof_message)) == NULL)
		return NULL;
	d->message_init(m);
	while (p < end) {
		if (wire_varint_get(&p, end, 2, &key) < 0)
			return NULL;
		id = (uint32_t)(key >> 3);
		if (id <= last)
			return NULL;	/* out of order or repeated */
		last = id;
		/* Fields are sorted by number: walk on to this one. */
		while (i < d->n_fields && d->fields[i].id < id)
			i++;
		if (i == d->n_fields || d->fields[i].id != id)
			return NULL;	/* unknown to us */
		f = &d->fields[i];
		/* A second member of a oneof replaces the first in
		 * protobuf-c: leave that to it. */
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && oneofs++ > 0)
			return NULL;
		if (fast_field(f, m, (int)(key & 7), &p, end, a, depth) < 0)
			return NULL;
	}
	return m;
}

ProtobufCMessage *
wire_unpack_fast(const ProtobufCMessageDescriptor *d, ProtobufCAllocator *a,
    const uint8_t *buf, size_t len)
{
	return fast_message(d, a, buf, len, 0);
}

ProtobufCMessage *
wire_unpack(const ProtobufCMessageDescriptor *d, ProtobufCAllocator *a,
    const uint8_t *buf, size_t len)
{
	ProtobufCMessage	*m;

	if ((m = fast_message(d, a, buf, len, 0)) != NULL)
		return m;
	return protobuf_c_message_unpack(d, a, len, buf);
}
