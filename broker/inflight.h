/* SPDX-License-Identifier: MIT */
/*
 * inflight: requests the broker has routed and not yet answered, and their
 * deadlines. Free of libevent so unit tests link it directly.
 *
 * Every in-flight request lives in a pool slot. The id a handler sees
 * encodes the slot in its low 16 bits and a per-connection sequence number
 * above them, so ids on one connection strictly increase and an answer
 * finds its request in O(1): an id whose sequence number was never issued
 * on that connection is forged; one that was issued but whose slot no
 * longer holds it is late. Slots are reused, entries are never freed
 * before shutdown, so the hot path does not allocate.
 *
 * Deadlines sit on one list sorted by expiry. Most requests on a bus share
 * one deadline, so a new one almost always goes at the tail; the broker
 * arms a single timer for the head.
 */
#ifndef INFLIGHT_H
#define INFLIGHT_H

#include <sys/queue.h>
#include <stdbool.h>
#include <stdint.h>

#define INFLIGHT_SLOTS		65536
#define INFLIGHT_SLOT_BITS	16

/* Verdicts of inflight_lookup() (positive). */
#define INFLIGHT_E_LATE		1
#define INFLIGHT_E_FORGED	2

enum inflight_origin {
	INFLIGHT_FROM_BUS,	/* a bus driver's host request */
	INFLIGHT_FROM_CTL,	/* ipmi-ctl send */
	INFLIGHT_FROM_HANDLER,	/* a handler's own request */
};

struct inflight_list;

struct inflight {
	uint64_t		 id;
	uint32_t		 slot;
	bool			 in_use;
	void			*handler;	/* target connection */
	void			*reg;		/* struct reg_entry, or NULL */
	enum inflight_origin	 origin_kind;
	void			*origin;	/* NULL once the origin is gone */
	struct inflight_list	*olist;		/* the origin's list */
	uint32_t		*ocount;	/* the origin's in-flight count */
	uint64_t		 token;		/* origin's own id */
	uint8_t			 netfn;
	uint8_t			 lun;
	uint8_t			 cmd;
	uint8_t			 channel;
	uint8_t			 echo[3];	/* body code / IANA to echo */
	uint8_t			 echo_len;
	uint16_t		 max_response;
	uint32_t		 key;		/* IANA / body as a number */
	uint64_t		 start_ns;
	uint64_t		 deadline_ns;
	TAILQ_ENTRY(inflight)	 h_entry;	/* the target's list */
	TAILQ_ENTRY(inflight)	 o_entry;	/* the origin's list */
	TAILQ_ENTRY(inflight)	 d_entry;	/* deadline order */
};
TAILQ_HEAD(inflight_list, inflight);

struct inflight_pool {
	struct inflight		**slots;
	uint16_t		 *free;		/* stack of free slot numbers */
	uint32_t		  nfree;
	uint32_t		  fresh;	/* slots never used yet start here */
	uint32_t		  used;
	struct inflight_list	  deadlines;
};

int	inflight_pool_init(struct inflight_pool *p);
void	inflight_pool_deinit(struct inflight_pool *p);

/*
 * Take a slot for a request to a connection whose sequence counter is
 * *seq, expiring at deadline_ns. Returns NULL when every slot is taken or
 * memory is short. The caller fills in the rest and links h/o entries.
 */
struct inflight *inflight_start(struct inflight_pool *p, uint64_t *seq,
	    uint64_t now_ns, uint64_t deadline_ns);

/*
 * Find the request an answer from handler (whose next sequence number is
 * seq) refers to. Returns it, or NULL with *verdict INFLIGHT_E_LATE or
 * INFLIGHT_E_FORGED.
 */
struct inflight *inflight_lookup(struct inflight_pool *p, const void *handler,
	    uint64_t seq, uint64_t id, int *verdict);

/* Release the slot (the caller has unlinked h_entry and o_entry). */
void	inflight_finish(struct inflight_pool *p, struct inflight *f);

/* The earliest request whose deadline is <= now_ns, or NULL. */
struct inflight *inflight_expired(struct inflight_pool *p, uint64_t now_ns);

/* Expiry of the earliest deadline, 0 when nothing is in flight. */
uint64_t inflight_next_deadline(const struct inflight_pool *p);

#endif /* INFLIGHT_H */
