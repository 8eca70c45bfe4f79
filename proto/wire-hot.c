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

/* Every key here has a field number below 16: one byte. */
#define KEY(f, t)	((uint8_t)(((f) << 3) | (t)))
#define VARINT		0
#define LEN		2

/* Room for the fixed fields of any message here, beyond data and name. */
#define HOT_FIXED	192

static uint8_t *
hot_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static uint8_t *
hot_uint(uint8_t *p, unsigned int field, uint64_t v)
{
	if (v == 0)
		return p;
	*p++ = KEY(field, VARINT);
	return hot_varint(p, v);
}

static uint8_t *
hot_bytes(uint8_t *p, unsigned int field, const void *d, size_t len)
{
	if (len == 0)
		return p;
	*p++ = KEY(field, LEN);
	p = hot_varint(p, len);
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
	h = hot_varint(h, len);
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
		p = hot_varint(p, (size_t)(q - fb));
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
