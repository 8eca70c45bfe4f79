/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inflight.h"

int
inflight_pool_init(struct inflight_pool *p)
{
	memset(p, 0, sizeof(*p));
	/* Large but lazily touched: pages appear as slots are first used. */
	p->slots = calloc(INFLIGHT_SLOTS, sizeof(*p->slots));
	p->free = calloc(INFLIGHT_SLOTS, sizeof(*p->free));
	if (p->slots == NULL || p->free == NULL) {
		free(p->slots);
		free(p->free);
		return -ENOMEM;
	}
	TAILQ_INIT(&p->deadlines);
	return 0;
}

void
inflight_pool_deinit(struct inflight_pool *p)
{
	uint32_t	i;

	if (p->slots == NULL)
		return;
	for (i = 0; i < p->fresh; i++)
		free(p->slots[i]);
	free(p->slots);
	free(p->free);
	p->slots = NULL;
	p->free = NULL;
}

static void
inflight_deadline_insert(struct inflight_pool *p, struct inflight *f)
{
	struct inflight	*at;

	/* From the tail: equal deadlines keep arrival order. */
	TAILQ_FOREACH_REVERSE(at, &p->deadlines, inflight_list, d_entry)
		if (at->deadline_ns <= f->deadline_ns)
			break;
	if (at == NULL)
		TAILQ_INSERT_HEAD(&p->deadlines, f, d_entry);
	else
		TAILQ_INSERT_AFTER(&p->deadlines, at, f, d_entry);
}

struct inflight *
inflight_start(struct inflight_pool *p, uint64_t *seq, uint64_t now_ns,
    uint64_t deadline_ns)
{
	struct inflight	*f;
	uint32_t	 slot;

	if (p->nfree > 0)
		slot = p->free[--p->nfree];
	else if (p->fresh < INFLIGHT_SLOTS) {
		if ((f = calloc(1, sizeof(*f))) == NULL)
			return NULL;
		slot = p->fresh++;
		p->slots[slot] = f;
	} else
		return NULL;
	f = p->slots[slot];
	memset(f, 0, sizeof(*f));
	f->slot = slot;
	f->in_use = true;
	f->id = (*seq << INFLIGHT_SLOT_BITS) | slot;
	(*seq)++;
	f->start_ns = now_ns;
	f->deadline_ns = deadline_ns;
	inflight_deadline_insert(p, f);
	p->used++;
	return f;
}

struct inflight *
inflight_lookup(struct inflight_pool *p, const void *handler, uint64_t seq,
    uint64_t id, int *verdict)
{
	struct inflight	*f;
	uint32_t	 slot = id & (INFLIGHT_SLOTS - 1);

	if ((id >> INFLIGHT_SLOT_BITS) >= seq) {
		*verdict = INFLIGHT_E_FORGED;
		return NULL;
	}
	f = slot < p->fresh ? p->slots[slot] : NULL;
	if (f == NULL || !f->in_use || f->id != id || f->handler != handler) {
		/*
		 * Issued on this connection (the sequence number says so)
		 * but no longer in flight. A slot can only be empty if it
		 * was never used, which an issued id rules out, so this is
		 * late whatever the slot holds now.
		 */
		*verdict = INFLIGHT_E_LATE;
		return NULL;
	}
	*verdict = 0;
	return f;
}

void
inflight_finish(struct inflight_pool *p, struct inflight *f)
{
	TAILQ_REMOVE(&p->deadlines, f, d_entry);
	f->in_use = false;
	f->handler = NULL;
	f->origin = NULL;
	f->reg = NULL;
	p->free[p->nfree++] = (uint16_t)f->slot;
	p->used--;
}

struct inflight *
inflight_expired(struct inflight_pool *p, uint64_t now_ns)
{
	struct inflight	*f = TAILQ_FIRST(&p->deadlines);

	if (f != NULL && f->deadline_ns <= now_ns)
		return f;
	return NULL;
}

uint64_t
inflight_next_deadline(const struct inflight_pool *p)
{
	const struct inflight	*f = TAILQ_FIRST(&p->deadlines);

	return f != NULL ? f->deadline_ns : 0;
}
