/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: every envelope a peer can send, through the same unpack
 * (with the broker's arena allocator) and validation the receivers use.
 * The first byte picks the protocol and direction; the rest is the
 * datagram.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "registry.h"
#include "validate.h"
#include "wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t			arena_buf[16 * 1024];

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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_arena	 a;
	char			 why[256];
	void			*m;

	if (size < 1 || size > WIRE_MSG_MAX + 1)
		return 0;
	wire_arena_init(&a, arena_buf, sizeof(arena_buf));
	switch (data[0] % 5) {
	case 0:
		if ((m = hnd__envelope__unpack(&a.alloc, size - 1, data + 1)) &&
		    validate_from_handler(m, why, sizeof(why)) == 0)
			fuzz_handler_key(m);
		break;
	case 1:
		if ((m = hnd__envelope__unpack(&a.alloc, size - 1, data + 1)))
			(void)validate_from_broker(m, why, sizeof(why));
		break;
	case 2:
		if ((m = ctl__envelope__unpack(&a.alloc, size - 1, data + 1)))
			(void)validate_from_control(m, why, sizeof(why));
		break;
	case 3:
		if ((m = bus__envelope__unpack(&a.alloc, size - 1, data + 1)))
			(void)validate_from_driver(m, why, sizeof(why));
		break;
	default:
		if ((m = sup__envelope__unpack(&a.alloc, size - 1, data + 1)))
			(void)validate_from_supervisor(m, why, sizeof(why));
		break;
	}
	wire_arena_deinit(&a);
	return 0;
}
