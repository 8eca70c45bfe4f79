/* SPDX-License-Identifier: MIT */
/*
 * sel-store: the System Event Log's entries, kept in an append-only file.
 *
 * The file is a 16-byte header followed by fixed-size 32-byte records, one
 * per change: an entry added, an entry deleted, the log cleared, or a
 * snapshot of the log's scalars (clock offset, last add and erase times,
 * next record id, overflow flag). Each record carries a sequence number
 * and a CRC32; every change is written and fdatasync'ed before the call
 * returns, so a caller that answers only after a 0 return never
 * acknowledges an entry it could lose.
 *
 * Opening the file replays it. Only the last record can be torn by a
 * crash (a record is appended only after the one before it is on disk),
 * so the first damaged record with nothing valid after it is a torn tail:
 * it is cut off and reported. A damaged record followed by valid ones is
 * corruption of the medium, not a crash: every record that verifies is
 * kept, the original file is kept as PATH.corrupt, and a clean file
 * replaces it. When the log holds too many records that no longer matter
 * (deleted entries, old snapshots), it is rewritten into a new file that
 * replaces the old one by rename(), so a crash leaves one or the other.
 *
 * Nothing here knows IPMI commands, clocks or the broker: callers pass the
 * time, and unit tests drive it directly.
 */
#ifndef SEL_STORE_H
#define SEL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEL_RECORD_SIZE		16	/* one SEL entry, IPMI's size */
#define SEL_ID_FIRST		0x0000	/* Get/Delete: the first entry */
#define SEL_ID_LAST		0xffff	/* the last entry; "no next" */
#define SEL_CAPACITY_MAX	4095	/* free bytes must fit 16 bits */

/* On-disk layout. */
#define SEL_FILE_MAGIC		"ipmi-sel"
#define SEL_FILE_VERSION	1
#define SEL_FILE_HEADER		16
#define SEL_FILE_RECORD		32

/* Expected failures (positive); system errors are negative errno. */
#define SEL_STORE_E_FULL	1	/* no room for another entry */
#define SEL_STORE_E_NOT_FOUND	2	/* no entry with that id */
#define SEL_STORE_E_FORMAT	3	/* not a SEL file, or another version */
#define SEL_STORE_E_LOCKED	4	/* another process has the file open */
#define SEL_STORE_E_BROKEN	5	/* an earlier write failed: read-only */

/* What opening the file found; the caller logs it. */
struct sel_recovery {
	bool		created;	/* there was no file */
	size_t		records;	/* valid records replayed */
	size_t		entries;	/* live entries after replay */
	uint64_t	torn_offset;	/* where a torn tail began */
	uint64_t	torn_bytes;	/* bytes cut off there (0: none) */
	size_t		corrupt;	/* damaged records, not a torn write */
	uint64_t	corrupt_offset;	/* offset of the first of them */
	size_t		inconsistent;	/* valid records that did not apply */
	bool		stale_tmp;	/* a leftover PATH.tmp was removed */
	char		saved[4096 + 16]; /* where the damaged file was kept,
					   * "" if it could not be */
};

struct sel_store {
	int		fd;		/* the log, O_APPEND; -1 when closed */
	char		*path;
	uint8_t		(*entries)[SEL_RECORD_SIZE]; /* oldest first */
	size_t		count;
	size_t		alloc;
	size_t		capacity;	/* most entries Add accepts */
	size_t		slack;		/* dead records before a rewrite */
	uint64_t	file_records;	/* records in the file now */
	uint64_t	size;		/* bytes known good on disk */
	uint32_t	seq;		/* sequence number of the last record */
	uint16_t	next_id;
	int64_t		time_offset;	/* SEL clock minus the system clock */
	uint32_t	last_add;
	uint32_t	last_erase;
	bool		overflow;
	bool		broken;		/* a write failed and was not undone */
	uint8_t		used[65536 / 8]; /* record ids in use */
};

/*
 * sel_store_open() - open or create the log at path and replay it
 * @capacity: most entries (1..SEL_CAPACITY_MAX); a file holding more
 *            keeps them all, Add is refused until there is room
 * @slack: records the file may hold beyond the live entries before it is
 *         rewritten
 * @rep: filled in with what recovery found
 *
 * Returns 0, SEL_STORE_E_FORMAT, SEL_STORE_E_LOCKED or a negative errno.
 */
int	sel_store_open(struct sel_store *st, const char *path, size_t capacity,
	    size_t slack, struct sel_recovery *rep);
/* Close the file and free the entries. Safe on a closed store. */
void	sel_store_close(struct sel_store *st);

/*
 * sel_store_add() - append rec (16 bytes; its id bytes are replaced with
 * the assigned id, *id) durably. @now becomes the last-add time. Returns
 * 0, SEL_STORE_E_FULL (the overflow flag is then set), SEL_STORE_E_BROKEN
 * or a negative errno (nothing was added).
 */
int	sel_store_add(struct sel_store *st, uint8_t rec[SEL_RECORD_SIZE],
	    uint32_t now, uint16_t *id);
/* Delete one entry (SEL_ID_FIRST / SEL_ID_LAST allowed); *deleted gets
 * its id. 0, SEL_STORE_E_NOT_FOUND, SEL_STORE_E_BROKEN or -errno. */
int	sel_store_delete(struct sel_store *st, uint16_t id, uint32_t now,
	    uint16_t *deleted);
/* Delete every entry. 0, SEL_STORE_E_BROKEN or -errno. */
int	sel_store_clear(struct sel_store *st, uint32_t now);
/* Record the SEL clock's offset from the system clock. */
int	sel_store_set_offset(struct sel_store *st, int64_t offset);
/* Set the overflow flag (durably, once). */
int	sel_store_set_overflow(struct sel_store *st);

/*
 * sel_store_find() - index of the entry with record id @id (SEL_ID_FIRST,
 * SEL_ID_LAST allowed), or -1.
 */
long	sel_store_find(const struct sel_store *st, uint16_t id);
/* The entry at index i (0 <= i < count). */
const uint8_t *sel_store_entry(const struct sel_store *st, size_t i);
/* The id of the entry after index i, or SEL_ID_LAST at the end. */
uint16_t sel_store_next_id(const struct sel_store *st, size_t i);

/* CRC-32 (IEEE 802.3, reflected, as zlib), continued from crc (0 first). */
uint32_t sel_crc32(uint32_t crc, const void *buf, size_t len);

#endif /* SEL_STORE_H */
