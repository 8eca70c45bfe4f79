/* SPDX-License-Identifier: MIT */
/*
 * registry: the registration table. Plain netfns (every even netfn but
 * 0x2C and 0x2E) use a direct table: per netfn an array of 256 chain heads
 * indexed by cmd, allocated when the netfn gets its first exact-cmd entry,
 * and one any-cmd chain head. Netfns 0x2C and 0x2E carry a key (body code,
 * IANA), so their entries live in one open hash keyed by (netfn, key, cmd
 * or any) that doubles when its load passes 1. All entries also sit on one
 * list in the order added, for registry_walk().
 *
 * Every chain is kept sorted by specificity: fewest LUN bits first, then
 * fewest channel bits. Entries of one chain that can match the same request
 * were checked to be ordered when added, and for an ordered pair the more
 * specific one has strictly fewer LUN bits, or equal LUNs and fewer channel
 * bits; so the first entry of a chain whose masks contain the request's LUN
 * and channel is the most specific match, and lookup stops there.
 *
 * Conflicts: an exact-cmd entry and an any-cmd entry are always ordered, so
 * a new key can only conflict with entries of the same kind, which share its
 * chain (the exact cmd's slot, or the any-cmd chain). registry_add() scans
 * that one chain and nothing else.
 */

#include <sys/queue.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

#define REGISTRY_NETFN_MAX	0x3e
#define REGISTRY_NETFNS		32	/* even netfns 0x00..0x3e */
#define REGISTRY_CMDS		256
#define REGISTRY_HASH_MIN	16
#define REGISTRY_CMD_ANY	REGISTRY_CMDS	/* hash key for any-cmd */

struct registry_netfn {
	struct reg_entry	**slots;	/* 256 heads, or NULL */
	struct reg_entry	 *any;		/* any-cmd chain */
	unsigned int		  n_exact;	/* entries in slots[] */
};

struct registry {
	struct registry_netfn	 nf[REGISTRY_NETFNS];
	struct reg_entry	**hash;		/* 0x2C/0x2E entries */
	size_t			  nbuckets;	/* 0 or a power of two */
	size_t			  nhashed;
	TAILQ_HEAD(, reg_entry)	  all;
	size_t			  count;
};

static bool	registry_keyed(uint8_t);
static size_t	registry_hash_index(const struct registry *, uint8_t,
		    uint32_t, unsigned int);
static unsigned int registry_rank(const struct reg_key *);
static bool	registry_key_equal(const struct reg_key *,
		    const struct reg_key *);
static struct reg_entry **registry_head(const struct registry *,
		    const struct reg_key *);
static struct reg_entry **registry_head_make(struct registry *,
		    const struct reg_key *);
static int	registry_hash_grow(struct registry *);
static void	registry_chain_insert(struct reg_entry **, struct reg_entry *);
static struct reg_entry *registry_first(struct reg_entry *, unsigned int,
		    unsigned int);
static struct reg_entry *registry_first_keyed(struct reg_entry *, uint8_t,
		    uint32_t, unsigned int, unsigned int, unsigned int);
static int	registry_why(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

struct registry *
registry_new(void)
{
	struct registry	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return (NULL);
	TAILQ_INIT(&r->all);
	return (r);
}

struct registry *
registry_free(struct registry *r)
{
	struct reg_entry	*e;
	size_t			 i;

	if (r == NULL)
		return (NULL);
	while ((e = TAILQ_FIRST(&r->all)) != NULL) {
		TAILQ_REMOVE(&r->all, e, all_entry);
		free(e);
	}
	for (i = 0; i < REGISTRY_NETFNS; i++)
		free(r->nf[i].slots);
	free(r->hash);
	free(r);
	return (NULL);
}

int
registry_key_check(struct reg_key *k, uint32_t netfn, bool any_cmd,
    uint32_t cmd, uint32_t iana, uint32_t body, uint32_t lun_mask,
    uint32_t channel_mask, char *why, size_t whylen)
{
	if (netfn > REGISTRY_NETFN_MAX)
		return (registry_why(why, whylen,
		    "netfn 0x%02x out of range (max 0x%02x)", netfn,
		    REGISTRY_NETFN_MAX));
	if (netfn & 1)
		return (registry_why(why, whylen,
		    "netfn 0x%02x is odd (a response netfn)", netfn));
	if (!any_cmd && cmd >= REGISTRY_CMDS)
		return (registry_why(why, whylen,
		    "cmd %u out of range (max 255)", cmd));
	if (iana > 0xffffff)
		return (registry_why(why, whylen,
		    "iana 0x%x exceeds 24 bits", iana));
	if (iana != 0 && netfn != NETFN_OEM)
		return (registry_why(why, whylen,
		    "iana set on netfn 0x%02x (only 0x%02x has one)", netfn,
		    NETFN_OEM));
	if (body > 0xff)
		return (registry_why(why, whylen,
		    "body 0x%x exceeds 8 bits", body));
	if (body != 0 && netfn != NETFN_GROUP)
		return (registry_why(why, whylen,
		    "body set on netfn 0x%02x (only 0x%02x has one)", netfn,
		    NETFN_GROUP));
	if (lun_mask > REGISTRY_LUN_ALL)
		return (registry_why(why, whylen,
		    "lun mask 0x%x out of range (max 0x%02x)", lun_mask,
		    REGISTRY_LUN_ALL));
	if (channel_mask > REGISTRY_CHANNEL_ALL)
		return (registry_why(why, whylen,
		    "channel mask 0x%x out of range (max 0x%04x)",
		    channel_mask, REGISTRY_CHANNEL_ALL));

	memset(k, 0, sizeof(*k));
	k->netfn = netfn;
	k->any_cmd = any_cmd;
	k->cmd = any_cmd ? 0 : cmd;
	k->key = netfn == NETFN_OEM ? iana : netfn == NETFN_GROUP ? body : 0;
	k->lun_mask = lun_mask == 0 ? REGISTRY_LUN_ALL : lun_mask;
	k->channel_mask = channel_mask == 0 ? REGISTRY_CHANNEL_ALL :
	    channel_mask;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	return (0);
}

bool
registry_overlap(const struct reg_key *a, const struct reg_key *b)
{
	return (a->netfn == b->netfn && a->key == b->key &&
	    (a->any_cmd || b->any_cmd || a->cmd == b->cmd) &&
	    (a->lun_mask & b->lun_mask) != 0 &&
	    (a->channel_mask & b->channel_mask) != 0);
}

/* Overlapping and not ordered by (cmd kind, LUN subset, channel subset). */
bool
registry_conflict(const struct reg_key *a, const struct reg_key *b)
{
	uint8_t		lun_and;
	uint16_t	ch_and;

	if (!registry_overlap(a, b))
		return (false);
	if (a->any_cmd != b->any_cmd)
		return (false);
	if (a->lun_mask != b->lun_mask) {
		/* Ordered only when one is a proper subset of the other. */
		lun_and = a->lun_mask & b->lun_mask;
		return (lun_and != a->lun_mask && lun_and != b->lun_mask);
	}
	if (a->channel_mask != b->channel_mask) {
		ch_and = a->channel_mask & b->channel_mask;
		return (ch_and != a->channel_mask && ch_and != b->channel_mask);
	}
	return (true);		/* identical */
}

int
registry_add(struct registry *r, const struct reg_key *k, void *owner,
    uint32_t deadline_ms, struct reg_entry **out,
    const struct reg_entry **conflict)
{
	struct reg_entry	**head, *e;

	if (out != NULL)
		*out = NULL;
	if (conflict != NULL)
		*conflict = NULL;
	if (k->netfn > REGISTRY_NETFN_MAX || (k->netfn & 1) ||
	    k->lun_mask == 0 || k->lun_mask > REGISTRY_LUN_ALL ||
	    k->channel_mask == 0 ||
	    k->key > (k->netfn == NETFN_OEM ? 0xffffffU :
	    k->netfn == NETFN_GROUP ? 0xffU : 0U))
		return (REGISTRY_E_INVALID);

	/* Only same-kind entries can conflict, and they share k's chain. */
	if ((head = registry_head(r, k)) != NULL) {
		for (e = *head; e != NULL; e = e->next) {
			if (registry_conflict(&e->key, k)) {
				if (conflict != NULL)
					*conflict = e;
				return (REGISTRY_E_CONFLICT);
			}
		}
	}

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return (-ENOMEM);
	if ((head = registry_head_make(r, k)) == NULL) {
		free(e);
		return (-ENOMEM);
	}
	e->key = *k;
	if (e->key.any_cmd)
		e->key.cmd = 0;
	e->owner = owner;
	e->deadline_ms = deadline_ms;
	registry_chain_insert(head, e);
	if (registry_keyed(k->netfn))
		r->nhashed++;
	else if (!k->any_cmd)
		r->nf[k->netfn >> 1].n_exact++;
	TAILQ_INSERT_TAIL(&r->all, e, all_entry);
	r->count++;
	if (out != NULL)
		*out = e;
	return (0);
}

struct reg_entry *
registry_find(struct registry *r, const struct reg_key *k, void *owner)
{
	struct reg_entry	**head, *e;

	if (k->netfn > REGISTRY_NETFN_MAX || (k->netfn & 1))
		return (NULL);
	if ((head = registry_head(r, k)) == NULL)
		return (NULL);
	for (e = *head; e != NULL; e = e->next)
		if (e->owner == owner && registry_key_equal(&e->key, k))
			return (e);
	return (NULL);
}

void
registry_remove(struct registry *r, struct reg_entry *e)
{
	struct registry_netfn	 *nf;
	struct reg_entry	**pp;

	if (e == NULL)
		return;
	if ((pp = registry_head(r, &e->key)) != NULL) {
		while (*pp != NULL && *pp != e)
			pp = &(*pp)->next;
		if (*pp == e)
			*pp = e->next;
	}
	if (registry_keyed(e->key.netfn))
		r->nhashed--;
	else if (!e->key.any_cmd) {
		/* Give the slot array back when its last entry goes. */
		nf = &r->nf[e->key.netfn >> 1];
		if (--nf->n_exact == 0) {
			free(nf->slots);
			nf->slots = NULL;
		}
	}
	TAILQ_REMOVE(&r->all, e, all_entry);
	r->count--;
	free(e);
}

/*
 * The hot path: no allocation. Exact-cmd entries are tried first, any-cmd
 * ones only when no exact one matches.
 */
struct reg_entry *
registry_lookup(const struct registry *r, uint8_t netfn, uint8_t lun,
    uint8_t cmd, uint8_t channel, uint32_t key)
{
	const struct registry_netfn	*nf;
	struct reg_entry		*e;
	unsigned int			 lb, cb;

	if (netfn > REGISTRY_NETFN_MAX || (netfn & 1) || lun > 3 ||
	    channel > 15)
		return (NULL);
	lb = 1U << lun;
	cb = 1U << channel;
	if (registry_keyed(netfn)) {
		if (r->nbuckets == 0)
			return (NULL);
		e = registry_first_keyed(r->hash[registry_hash_index(r, netfn,
		    key, cmd)], netfn, key, cmd, lb, cb);
		if (e != NULL)
			return (e);
		return (registry_first_keyed(r->hash[registry_hash_index(r,
		    netfn, key, REGISTRY_CMD_ANY)], netfn, key,
		    REGISTRY_CMD_ANY, lb, cb));
	}
	nf = &r->nf[netfn >> 1];
	if (nf->slots != NULL &&
	    (e = registry_first(nf->slots[cmd], lb, cb)) != NULL)
		return (e);
	return (registry_first(nf->any, lb, cb));
}

size_t
registry_count(const struct registry *r)
{
	return (r->count);
}

void
registry_walk(const struct registry *r,
    void (*fn)(const struct reg_entry *e, void *arg), void *arg)
{
	const struct reg_entry	*e;

	TAILQ_FOREACH(e, &r->all, all_entry)
		fn(e, arg);
}

/* Rare (a host's Get NetFn Support), so a walk of every entry is fine. */
void
registry_netfn_bits(const struct registry *r, uint8_t lun, uint8_t channel,
    uint8_t bits[4])
{
	const struct reg_entry	*e;
	unsigned int		 i;

	if (lun > 3 || channel > 15)
		return;
	TAILQ_FOREACH(e, &r->all, all_entry) {
		if ((e->key.lun_mask & (1U << lun)) == 0 ||
		    (e->key.channel_mask & (1U << channel)) == 0)
			continue;
		i = e->key.netfn >> 1;
		bits[i / 8] |= 1U << (i % 8);
	}
}

void
registry_cmd_bits(const struct registry *r, uint8_t netfn, uint32_t key,
    uint8_t lun, uint8_t channel, uint8_t bits[32])
{
	unsigned int	cmd;

	for (cmd = 0; cmd < REGISTRY_CMDS; cmd++)
		if (registry_lookup(r, netfn, lun, cmd, channel, key) != NULL)
			bits[cmd / 8] |= 1U << (cmd % 8);
}

void
registry_key_format(const struct reg_key *k, char *buf, size_t len)
{
	char	keybuf[32], cmdbuf[8];

	if (buf == NULL || len == 0)
		return;
	if (k->netfn == NETFN_OEM)
		snprintf(keybuf, sizeof(keybuf), " iana %u", k->key);
	else if (k->netfn == NETFN_GROUP)
		snprintf(keybuf, sizeof(keybuf), " body 0x%02x", k->key);
	else
		keybuf[0] = '\0';
	if (k->any_cmd)
		snprintf(cmdbuf, sizeof(cmdbuf), "any");
	else
		snprintf(cmdbuf, sizeof(cmdbuf), "0x%02x", k->cmd);
	snprintf(buf, len, "netfn 0x%02x%s cmd %s luns 0x%02x channels 0x%04x",
	    k->netfn, keybuf, cmdbuf, k->lun_mask, k->channel_mask);
}

/* Whether netfn's entries live in the hash (it carries a key). */
static bool
registry_keyed(uint8_t netfn)
{
	return (netfn == NETFN_GROUP || netfn == NETFN_OEM);
}

/* Bucket of (netfn, key, cmd or REGISTRY_CMD_ANY); nbuckets must be > 0. */
static size_t
registry_hash_index(const struct registry *r, uint8_t netfn, uint32_t key,
    unsigned int cmd)
{
	uint64_t	v;

	v = ((uint64_t)netfn << 40) | ((uint64_t)key << 9) | cmd;
	/* A 64-bit finaliser mix, so IANA/cmd bits reach the low bits. */
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdULL;
	v ^= v >> 33;
	v *= 0xc4ceb9fe1a85ec53ULL;
	v ^= v >> 33;
	return ((size_t)v & (r->nbuckets - 1));
}

/* Lower is more specific: LUN bits first, then channel bits. */
static unsigned int
registry_rank(const struct reg_key *k)
{
	return (__builtin_popcount(k->lun_mask) * 32 +
	    __builtin_popcount(k->channel_mask));
}

static bool
registry_key_equal(const struct reg_key *a, const struct reg_key *b)
{
	return (a->netfn == b->netfn && a->key == b->key &&
	    a->any_cmd == b->any_cmd && (a->any_cmd || a->cmd == b->cmd) &&
	    a->lun_mask == b->lun_mask && a->channel_mask == b->channel_mask);
}

/* The chain k belongs to, or NULL when its storage does not exist yet. */
static struct reg_entry **
registry_head(const struct registry *r, const struct reg_key *k)
{
	struct registry_netfn	*nf;

	if (registry_keyed(k->netfn)) {
		if (r->nbuckets == 0)
			return (NULL);
		return (&r->hash[registry_hash_index(r, k->netfn, k->key,
		    k->any_cmd ? REGISTRY_CMD_ANY : k->cmd)]);
	}
	/* Cast: the chain heads are not part of r's logical state. */
	nf = (struct registry_netfn *)&r->nf[k->netfn >> 1];
	if (k->any_cmd)
		return (&nf->any);
	if (nf->slots == NULL)
		return (NULL);
	return (&nf->slots[k->cmd]);
}

/* Like registry_head(), allocating slots or growing the hash; NULL: ENOMEM. */
static struct reg_entry **
registry_head_make(struct registry *r, const struct reg_key *k)
{
	struct registry_netfn	*nf;

	if (registry_keyed(k->netfn)) {
		if (r->nhashed + 1 > r->nbuckets &&
		    registry_hash_grow(r) == -1 && r->nbuckets == 0)
			return (NULL);
	} else if (!k->any_cmd) {
		nf = &r->nf[k->netfn >> 1];
		if (nf->slots == NULL &&
		    (nf->slots = calloc(REGISTRY_CMDS,
		    sizeof(*nf->slots))) == NULL)
			return (NULL);
	}
	return (registry_head(r, k));
}

/* Double the bucket array and rehash; on failure the old one stays. */
static int
registry_hash_grow(struct registry *r)
{
	struct reg_entry	**old, *e, *next;
	size_t			  oldn, i;

	oldn = r->nbuckets;
	old = r->hash;
	r->nbuckets = oldn == 0 ? REGISTRY_HASH_MIN : oldn * 2;
	if ((r->hash = calloc(r->nbuckets, sizeof(*r->hash))) == NULL) {
		r->hash = old;
		r->nbuckets = oldn;
		return (-1);
	}
	for (i = 0; i < oldn; i++) {
		for (e = old[i]; e != NULL; e = next) {
			next = e->next;
			registry_chain_insert(registry_head(r, &e->key), e);
		}
	}
	free(old);
	return (0);
}

/* Insert after every entry at least as specific (equal ranks: added order). */
static void
registry_chain_insert(struct reg_entry **pp, struct reg_entry *e)
{
	unsigned int	rank;

	rank = registry_rank(&e->key);
	while (*pp != NULL && registry_rank(&(*pp)->key) <= rank)
		pp = &(*pp)->next;
	e->next = *pp;
	*pp = e;
}

/* First (most specific) entry of a plain chain serving LUN lb, channel cb. */
static struct reg_entry *
registry_first(struct reg_entry *e, unsigned int lb, unsigned int cb)
{
	for (; e != NULL; e = e->next)
		if ((e->key.lun_mask & lb) && (e->key.channel_mask & cb))
			break;
	return (e);
}

/* The same for a bucket, which mixes keys; cmd may be REGISTRY_CMD_ANY. */
static struct reg_entry *
registry_first_keyed(struct reg_entry *e, uint8_t netfn, uint32_t key,
    unsigned int cmd, unsigned int lb, unsigned int cb)
{
	bool	any;

	any = cmd == REGISTRY_CMD_ANY;
	for (; e != NULL; e = e->next)
		if (e->key.netfn == netfn && e->key.key == key &&
		    e->key.any_cmd == any && (any || e->key.cmd == cmd) &&
		    (e->key.lun_mask & lb) && (e->key.channel_mask & cb))
			break;
	return (e);
}

/* Put a refusal reason in why; returns REGISTRY_E_INVALID. */
static int
registry_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list	ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return (REGISTRY_E_INVALID);
}
