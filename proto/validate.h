/* SPDX-License-Identifier: MIT */
/*
 * validate: the one place where an unpacked envelope from a peer is checked
 * before any code uses it: the oneof is set and is a case this peer may
 * send, and every field is within its range. Returns 0, or -1 with the
 * reason in why (a lowercase phrase for the log line that drops the peer).
 * Checks that need live state (ids, tags, limits from the config) stay
 * with the code that owns that state.
 */
#ifndef VALIDATE_H
#define VALIDATE_H

#include <stddef.h>

#include "bus.pb-c.h"
#include "control.pb-c.h"
#include "handler.pb-c.h"
#include "supervisor.pb-c.h"

#define VALIDATE_NAME_MAX	63	/* hello names, bytes */

int	validate_from_handler(const Hnd__Envelope *e, char *why, size_t len);
int	validate_from_broker(const Hnd__Envelope *e, char *why, size_t len);
int	validate_from_control(const Ctl__Envelope *e, char *why, size_t len);
int	validate_from_driver(const Bus__Envelope *e, char *why, size_t len);
int	validate_from_supervisor(const Sup__Envelope *e, char *why,
	    size_t len);

#endif /* VALIDATE_H */
