/* SPDX-License-Identifier: MIT */
/*
 * registry: who serves which requests. Free of libevent and of sockets, so
 * unit tests link it directly.
 *
 * A registration is (netfn, key, cmd or any-cmd, LUN set, channel set). The
 * key is the IANA number for netfn 0x2E, the defining-body code for 0x2C,
 * and 0 otherwise. Specificity, compared in this order: an exact cmd beats
 * any-cmd; then a LUN set that is a proper subset beats its superset; then
 * the same for the channel set. Two registrations that can match one
 * request (same netfn and key, overlapping cmds, intersecting LUN sets and
 * intersecting channel sets) and are not ordered by that rule conflict, and
 * the second is refused naming the first. Nothing is silently shadowed.
 *
 * Lookup is a direct table for plain netfns (netfn/cmd index) and a hash
 * for 0x2C/0x2E keys.
 */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <sys/queue.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REGISTRY_LUN_ALL	0x0f
#define REGISTRY_CHANNEL_ALL	0xffff

#define NETFN_GROUP	0x2c
#define NETFN_OEM	0x2e

/* Expected failures (positive). */
#define REGISTRY_E_CONFLICT	1
#define REGISTRY_E_NOT_FOUND	2
#define REGISTRY_E_INVALID	3

struct reg_key {
	uint8_t		netfn;
	bool		any_cmd;
	uint8_t		cmd;		/* 0 when any_cmd */
	uint32_t	key;		/* IANA (0x2E), body (0x2C), else 0 */
	uint8_t		lun_mask;	/* effective: 1..0x0f */
	uint16_t	channel_mask;	/* effective: 1..0xffff */
};

struct reg_entry {
	struct reg_key		 key;
	void			*owner;		/* the broker's handler */
	uint32_t		 deadline_ms;	/* 0: the bus's deadline */
	uint64_t		 served;
	uint64_t		 fallbacks;
	TAILQ_ENTRY(reg_entry)	 owner_entry;	/* for the owner's use */
	/* registry-private links follow */
	struct reg_entry	*next;		/* same slot */
	TAILQ_ENTRY(reg_entry)	 all_entry;	/* every entry, added order */
};

struct registry;

struct registry	*registry_new(void);
struct registry	*registry_free(struct registry *r);

/*
 * Check a key from a peer and make it effective: a lun_mask of 0 becomes
 * all LUNs and a channel_mask of 0 all channels; cmd is zeroed (and not
 * checked) when any_cmd. Returns 0, or REGISTRY_E_INVALID with the reason
 * in why (odd netfn, netfn > 0x3E, cmd > 0xFF, IANA > 0xFFFFFF, body >
 * 0xFF, IANA or body set on a netfn that has none, LUN mask > 0x0F,
 * channel mask > 0xFFFF); k is written only on success. why may be NULL.
 */
int	registry_key_check(struct reg_key *k, uint32_t netfn, bool any_cmd,
	    uint32_t cmd, uint32_t iana, uint32_t body, uint32_t lun_mask,
	    uint32_t channel_mask, char *why, size_t whylen);

/*
 * Add a registration (k must have passed registry_key_check(); a key that
 * would not is REGISTRY_E_INVALID). Returns 0 and the new entry in *out,
 * REGISTRY_E_CONFLICT with the holder's entry in *conflict, or -ENOMEM.
 * An identical key held by the same owner is a conflict too. out and
 * conflict may be NULL.
 */
int	registry_add(struct registry *r, const struct reg_key *k, void *owner,
	    uint32_t deadline_ms, struct reg_entry **out,
	    const struct reg_entry **conflict);

/* Find owner's registration with exactly this key; NULL if none. */
struct reg_entry *registry_find(struct registry *r, const struct reg_key *k,
	    void *owner);

/*
 * Remove and free one entry (the owner unlinks owner_entry first).
 * registry_free() frees every entry left without touching owner lists.
 */
void	registry_remove(struct registry *r, struct reg_entry *e);

/*
 * The most specific registration serving a request; NULL if none (also for
 * an odd netfn, netfn > 0x3E, lun > 3 or channel > 15). key is the
 * request's IANA (netfn 0x2E) or body code (0x2C), else ignored. No
 * allocation; O(1) for plain netfns, one hash probe for 0x2C/0x2E.
 */
struct reg_entry *registry_lookup(const struct registry *r, uint8_t netfn,
	    uint8_t lun, uint8_t cmd, uint8_t channel, uint32_t key);

/* Whether a and b can match one same request, and whether they conflict. */
bool	registry_overlap(const struct reg_key *a, const struct reg_key *b);
bool	registry_conflict(const struct reg_key *a, const struct reg_key *b);

size_t	registry_count(const struct registry *r);

/* Every entry in the order added. */
void	registry_walk(const struct registry *r,
	    void (*fn)(const struct reg_entry *e, void *arg), void *arg);

/*
 * For Get NetFn Support: sets bit (netfn / 2) in bits[] (4 bytes: 32 even
 * netfns, bit n of byte n/8) when some registration serves that netfn on
 * this LUN and channel. Bits are ORed in: the caller clears bits[] first
 * (and may add the broker's own netfns). Set bit = served.
 */
void	registry_netfn_bits(const struct registry *r, uint8_t lun,
	    uint8_t channel, uint8_t bits[4]);

/*
 * For Get Command Support: sets bit cmd in bits[] (32 bytes, bit n of
 * byte n/8 = cmd n) for each cmd a registration of (netfn, key) serves on
 * this LUN and channel; an any-cmd registration sets every bit. Bits are
 * ORed in, set = served; the caller clears bits[] first and inverts them
 * where the spec wants set = unsupported.
 */
void	registry_cmd_bits(const struct registry *r, uint8_t netfn,
	    uint32_t key, uint8_t lun, uint8_t channel, uint8_t bits[32]);

/*
 * Short text for logs and errors: "netfn 0x06 cmd 0x01 luns 0x0f channels
 * 0xffff", "netfn 0x2e iana 7154 cmd any luns 0x01 channels 0x8000",
 * "netfn 0x2c body 0x00 cmd 0x00 luns 0x0f channels 0xffff". 64 bytes
 * always suffice.
 */
void	registry_key_format(const struct reg_key *k, char *buf, size_t len);

#endif /* REGISTRY_H */
