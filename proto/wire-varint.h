/* SPDX-License-Identifier: MIT */
/*
 * wire-varint: protobuf base-128 varints, for the few places that write or
 * read protobuf bytes by hand (batches in wire.c, the per-request writers
 * and the quick decoder in wire-hot.c). Private to libwire.
 */
#ifndef WIRE_VARINT_H
#define WIRE_VARINT_H

#include <stddef.h>
#include <stdint.h>

static inline size_t
wire_varint_size(uint64_t v)
{
	size_t	n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline uint8_t *
wire_varint_put(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* A varint of at most max bytes (max <= 9) that ends before end. Returns
 * 0 and advances *pp, or -1. */
static inline int
wire_varint_get(const uint8_t **pp, const uint8_t *end, unsigned int max,
    uint64_t *v)
{
	const uint8_t	*p = *pp;
	uint64_t	 x = 0;
	unsigned int	 i;

	for (i = 0; i < max && p < end; i++) {
		x |= (uint64_t)(*p & 0x7f) << (7 * i);
		if ((*p++ & 0x80) == 0) {
			*pp = p;
			*v = x;
			return 0;
		}
	}
	return -1;
}

#endif /* WIRE_VARINT_H */
