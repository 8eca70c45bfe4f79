/* SPDX-License-Identifier: MIT */
/*
 * wire-hot: protobuf-c's bytes for the per-request messages, written
 * directly (see wire-hot.c). Each takes an envelope whose body is the
 * message named and packs it into buf (WIRE_MSG_MAX bytes); the length,
 * or 0 when it does not fit. Messages too big for the quick bound go
 * through protobuf-c.
 */
#ifndef WIRE_HOT_H
#define WIRE_HOT_H

#include "bus.pb-c.h"
#include "handler.pb-c.h"
#include "wire.h"

size_t	wire_pack_hnd_request(const Hnd__Envelope *env, uint8_t *buf);
size_t	wire_pack_hnd_response(const Hnd__Envelope *env, uint8_t *buf);
size_t	wire_pack_bus_request(const Bus__Envelope *env, uint8_t *buf);
size_t	wire_pack_bus_response(const Bus__Envelope *env, uint8_t *buf);
/* Any envelope of that protocol. */
size_t	wire_pack_hnd(const Hnd__Envelope *env, uint8_t *buf);
size_t	wire_pack_bus(const Bus__Envelope *env, uint8_t *buf);

/*
 * Unpack with a one-pass decoder for canonical messages of simple types,
 * protobuf-c for everything else; the result is what protobuf-c's would be
 * (bytes fields point into buf, so buf must outlive the message). The
 * allocator is an arena's: nothing here is freed message by message.
 * wire_unpack_fast() is the quick path alone (NULL: not canonical), for
 * the fuzz target that compares it with protobuf-c.
 */
ProtobufCMessage *wire_unpack(const ProtobufCMessageDescriptor *d,
	    ProtobufCAllocator *a, const uint8_t *buf, size_t len);
ProtobufCMessage *wire_unpack_fast(const ProtobufCMessageDescriptor *d,
	    ProtobufCAllocator *a, const uint8_t *buf, size_t len);

#endif /* WIRE_HOT_H */
