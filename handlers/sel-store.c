/* SPDX-License-Identifier: MIT */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sel-store.h"

/*
 * The SEL's log file; the model is described in sel-store.h.
 *
 * Header (16 bytes): "ipmi-sel", version LE16, record size LE16, CRC32 of
 * the 12 bytes before it, LE32.
 *
 * Record (32 bytes, little-endian fields):
 *    0  seq     LE32  one more than the record before it in this file
 *    4  op            SEL_OP_*
 *    5  0
 *    6  id      LE16  ADD, DELETE: the record id
 *    8  time    LE32  ADD: last-add time; DELETE, CLEAR: last-erase time;
 *                     STATE: last-add time
 *   12  data    16    ADD: the SEL entry; STATE: clock offset (LE64),
 *                     last-erase time (LE32), next id (LE16), flags
 *                     (bit 0: overflow), 0
 *   28  crc     LE32  CRC32 of bytes 0..27
 *
 * Appends use O_APPEND and are followed by fdatasync() before the change
 * is applied in memory and the call returns. A failed write is undone by
 * cutting the file back to its last known good size; if even that fails,
 * the store turns read-only (broken) rather than acknowledge anything it
 * cannot vouch for.
 */

#define SEL_OP_ADD	1
#define SEL_OP_DELETE	2
#define SEL_OP_CLEAR	3
#define SEL_OP_STATE	4

#define SEL_FLAG_OVERFLOW	0x01

/* Larger than any file this code writes: refuse rather than read it. */
#define SEL_FILE_MAX	(64L * 1024 * 1024)

static uint32_t	sel_crc_table[256];

static void	sel_put16(uint8_t *, uint16_t);
static void	sel_put32(uint8_t *, uint32_t);
static uint16_t	sel_get16(const uint8_t *);
static uint32_t	sel_get32(const uint8_t *);
static void	sel_crc_init(void);
static void	sel_store_header(uint8_t *);
static void	sel_store_pack(uint8_t *, uint32_t, uint8_t, uint16_t,
		    uint32_t, const uint8_t *);
static void	sel_store_pack_state(const struct sel_store *, uint8_t *,
		    uint32_t);
static int	sel_store_append(struct sel_store *, uint8_t, uint16_t,
		    uint32_t, const uint8_t *);
static int	sel_store_append_state(struct sel_store *);
static int	sel_store_write_all(int, const void *, size_t);
static int	sel_store_sync_dir(const char *);
static int	sel_store_lock(struct sel_store *);
static int	sel_store_init_file(struct sel_store *);
static int	sel_store_replay(struct sel_store *, struct sel_recovery *);
static int	sel_store_rewrite_damaged(struct sel_store *,
		    struct sel_recovery *);
static int	sel_store_read(int, uint64_t, uint8_t **, size_t *);
static bool	sel_store_valid(const uint8_t *, bool, uint32_t);
static int	sel_store_apply(struct sel_store *, const uint8_t *);
static int	sel_store_push(struct sel_store *, const uint8_t *);
static int	sel_store_grow(struct sel_store *);
static void	sel_store_remove(struct sel_store *, size_t);
static int	sel_store_rewrite(struct sel_store *);
static int	sel_store_maybe_compact(struct sel_store *);
static char	*sel_store_path(const char *, const char *);

static void
sel_put16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void
sel_put32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

static uint16_t
sel_get16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t
sel_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* The table of the reflected polynomial 0xEDB88320, one entry per byte. */
static void
sel_crc_init(void)
{
	uint32_t	c;
	int		i, k;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320U ^ (c >> 1) : c >> 1;
		sel_crc_table[i] = c;
	}
}

uint32_t
sel_crc32(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t	*p = buf;

	if (sel_crc_table[1] == 0)
		sel_crc_init();
	crc = ~crc;
	while (len-- > 0)
		crc = sel_crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void
sel_store_header(uint8_t *h)
{
	memcpy(h, SEL_FILE_MAGIC, 8);
	sel_put16(h + 8, SEL_FILE_VERSION);
	sel_put16(h + 10, SEL_FILE_RECORD);
	sel_put32(h + 12, sel_crc32(0, h, 12));
}

static void
sel_store_pack(uint8_t *r, uint32_t seq, uint8_t op, uint16_t id,
    uint32_t time, const uint8_t *data)
{
	memset(r, 0, SEL_FILE_RECORD);
	sel_put32(r, seq);
	r[4] = op;
	sel_put16(r + 6, id);
	sel_put32(r + 8, time);
	if (data != NULL)
		memcpy(r + 12, data, SEL_RECORD_SIZE);
	sel_put32(r + 28, sel_crc32(0, r, 28));
}

static void
sel_store_pack_state(const struct sel_store *st, uint8_t *r, uint32_t seq)
{
	uint8_t		d[SEL_RECORD_SIZE];
	uint64_t	off = (uint64_t)st->time_offset;

	memset(d, 0, sizeof(d));
	sel_put32(d, off & 0xffffffffU);
	sel_put32(d + 4, off >> 32);
	sel_put32(d + 8, st->last_erase);
	sel_put16(d + 12, st->next_id);
	d[14] = st->overflow ? SEL_FLAG_OVERFLOW : 0;
	sel_store_pack(r, seq, SEL_OP_STATE, 0, st->last_add, d);
}

static int
sel_store_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * Append one record and make it durable. On failure the file is cut back
 * to its last good size; if that fails too the store is broken.
 */
static int
sel_store_append(struct sel_store *st, uint8_t op, uint16_t id,
    uint32_t time, const uint8_t *data)
{
	uint8_t	r[SEL_FILE_RECORD];
	int	rv;

	if (st->broken)
		return SEL_STORE_E_BROKEN;
	sel_store_pack(r, st->seq + 1, op, id, time, data);
	if ((rv = sel_store_write_all(st->fd, r, sizeof(r))) == 0 &&
	    fdatasync(st->fd) == 0) {
		st->seq++;
		st->size += SEL_FILE_RECORD;
		st->file_records++;
		return 0;
	}
	if (rv == 0)
		rv = -errno;
	/*
	 * After a failed fdatasync() the page cache cannot be trusted to
	 * hold what we wrote: cut the record off and make that durable.
	 */
	if (ftruncate(st->fd, (off_t)st->size) == -1 || fdatasync(st->fd) == -1)
		st->broken = true;
	return rv;
}

static int
sel_store_append_state(struct sel_store *st)
{
	uint8_t	r[SEL_FILE_RECORD];

	sel_store_pack_state(st, r, 0);
	return sel_store_append(st, SEL_OP_STATE, 0, st->last_add, r + 12);
}

/* fsync() the directory holding path, so a create or rename lasts. */
static int
sel_store_sync_dir(const char *path)
{
	char	*dir, *slash;
	int	 fd, rv = 0;

	if ((dir = strdup(path)) == NULL)
		return -ENOMEM;
	if ((slash = strrchr(dir, '/')) == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		rv = -errno;
	else {
		if (fsync(fd) == -1)
			rv = -errno;
		close(fd);
	}
	free(dir);
	return rv;
}

/* path + suffix, malloc'd. */
static char *
sel_store_path(const char *path, const char *suffix)
{
	size_t	 n = strlen(path) + strlen(suffix) + 1;
	char	*p;

	if ((p = malloc(n)) != NULL)
		snprintf(p, n, "%s%s", path, suffix);
	return p;
}

/*
 * Lock the open file against a second writer, and make sure it is still
 * the file at path (a rewrite by the previous holder replaces the inode).
 * Returns 0, 1 to open again, or an error.
 */
static int
sel_store_lock(struct sel_store *st)
{
	struct stat	a, b;

	if (flock(st->fd, LOCK_EX | LOCK_NB) == -1)
		return errno == EWOULDBLOCK ? SEL_STORE_E_LOCKED : -errno;
	if (fstat(st->fd, &a) == -1)
		return -errno;
	if (stat(st->path, &b) == -1)
		return errno == ENOENT ? 1 : -errno;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino ? 0 : 1;
}

/* A new (or empty, or header-torn) file: write the header durably. */
static int
sel_store_init_file(struct sel_store *st)
{
	uint8_t	h[SEL_FILE_HEADER];
	int	rv;

	sel_store_header(h);
	if (ftruncate(st->fd, 0) == -1)
		return -errno;
	if ((rv = sel_store_write_all(st->fd, h, sizeof(h))) != 0)
		return rv;
	if (fdatasync(st->fd) == -1)
		return -errno;
	st->size = SEL_FILE_HEADER;
	return sel_store_sync_dir(st->path);
}

int
sel_store_open(struct sel_store *st, const char *path, size_t capacity,
    size_t slack, struct sel_recovery *rep)
{
	char	*tmp;
	int	 rv, tries;

	memset(st, 0, sizeof(*st));
	memset(rep, 0, sizeof(*rep));
	st->fd = -1;
	st->capacity = capacity;
	st->slack = slack;
	st->next_id = 1;
	if ((st->path = strdup(path)) == NULL)
		return -ENOMEM;
	for (tries = 0; tries < 8; tries++) {
		st->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC,
		    0600);
		if (st->fd == -1) {
			rv = -errno;
			goto fail;
		}
		if ((rv = sel_store_lock(st)) <= 0)
			break;
		close(st->fd);
		st->fd = -1;
	}
	if (rv != 0)
		goto fail;
	/* Only a rewrite we never finished leaves this behind. */
	if ((tmp = sel_store_path(path, ".tmp")) == NULL) {
		rv = -ENOMEM;
		goto fail;
	}
	if (unlink(tmp) == 0)
		rep->stale_tmp = true;
	free(tmp);
	if ((rv = sel_store_replay(st, rep)) != 0)
		goto fail;
	rep->entries = st->count;
	/* A failed rewrite leaves the old file, complete, in use. */
	(void)sel_store_maybe_compact(st);
	return 0;
fail:
	sel_store_close(st);
	return rv;
}

void
sel_store_close(struct sel_store *st)
{
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
	free(st->path);
	st->path = NULL;
	free(st->entries);
	st->entries = NULL;
	st->count = st->alloc = 0;
}

/* Read len bytes of fd from offset into a malloc'd buffer. */
static int
sel_store_read(int fd, uint64_t offset, uint8_t **buf, size_t *len)
{
	struct stat	sb;
	size_t		n, got = 0;
	ssize_t		r;

	*buf = NULL;
	*len = 0;
	if (fstat(fd, &sb) == -1)
		return -errno;
	if (sb.st_size > SEL_FILE_MAX)
		return SEL_STORE_E_FORMAT;
	if ((uint64_t)sb.st_size <= offset)
		return 0;
	n = (size_t)((uint64_t)sb.st_size - offset);
	if ((*buf = malloc(n)) == NULL)
		return -ENOMEM;
	while (got < n) {
		r = pread(fd, *buf + got, n - got, (off_t)(offset + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += r;
	}
	*len = got;
	return 0;
}

/* A record counts if its CRC and op are right and its seq moves on. */
static bool
sel_store_valid(const uint8_t *r, bool any, uint32_t last_seq)
{
	if (sel_crc32(0, r, 28) != sel_get32(r + 28))
		return false;
	if (r[4] < SEL_OP_ADD || r[4] > SEL_OP_STATE)
		return false;
	return !any || sel_get32(r) > last_seq;
}

/*
 * Replay the file into memory. Finds the last valid record; what follows
 * it is a torn tail if it is at most one record long, else damage. Valid
 * records after a damaged one are kept, and the file is then rewritten
 * with the damaged original saved beside it.
 */
static int
sel_store_replay(struct sel_store *st, struct sel_recovery *rep)
{
	uint8_t		 h[SEL_FILE_HEADER], *buf = NULL;
	size_t		 len, n, i, last = 0, bad = 0;
	uint64_t	 tail, tail_off, bad_off = 0;
	bool		 any = false;
	int		 rv;

	if ((rv = sel_store_read(st->fd, 0, &buf, &len)) != 0)
		return rv;
	sel_store_header(h);
	if (len < SEL_FILE_HEADER) {
		/*
		 * The header is made durable before any record is written:
		 * a short file is one whose creation was cut, and holds
		 * nothing to lose. Anything else is not ours.
		 */
		rv = len == 0 || memcmp(buf, h, len) == 0 ? 0 :
		    SEL_STORE_E_FORMAT;
		free(buf);
		rep->created = true;
		return rv == 0 ? sel_store_init_file(st) : rv;
	}
	if (memcmp(buf, h, sizeof(h)) != 0) {
		free(buf);
		return SEL_STORE_E_FORMAT;
	}
	n = (len - SEL_FILE_HEADER) / SEL_FILE_RECORD;
	for (i = 0; i < n; i++) {
		const uint8_t *r = buf + SEL_FILE_HEADER + i * SEL_FILE_RECORD;

		if (!sel_store_valid(r, any, st->seq)) {
			if (bad++ == 0)
				bad_off = SEL_FILE_HEADER +
				    (uint64_t)i * SEL_FILE_RECORD;
			continue;
		}
		if (bad > 0) {			/* damage with valid after it */
			if (rep->corrupt == 0)
				rep->corrupt_offset = bad_off;
			rep->corrupt += bad;
			bad = 0;
		}
		st->seq = sel_get32(r);
		any = true;
		last = i + 1;
		rep->records++;
		if (sel_store_apply(st, r) != 0)
			rep->inconsistent++;
	}
	free(buf);
	tail_off = SEL_FILE_HEADER + (uint64_t)last * SEL_FILE_RECORD;
	tail = len - tail_off;
	st->size = tail_off;
	st->file_records = last;
	if (tail > SEL_FILE_RECORD) {
		/* More than one append's worth: not a crash but damage. */
		if (rep->corrupt == 0)
			rep->corrupt_offset = tail_off;
		rep->corrupt += (tail + SEL_FILE_RECORD - 1) / SEL_FILE_RECORD;
	} else if (tail > 0) {
		rep->torn_offset = tail_off;
		rep->torn_bytes = tail;
	}
	if (rep->corrupt > 0)
		return sel_store_rewrite_damaged(st, rep);
	if (tail > 0 && (ftruncate(st->fd, (off_t)tail_off) == -1 ||
	    fdatasync(st->fd) == -1))
		return -errno;
	return 0;
}

/* Keep the damaged file as PATH.corrupt and replace it with a clean one. */
static int
sel_store_rewrite_damaged(struct sel_store *st, struct sel_recovery *rep)
{
	char	*saved;

	if ((saved = sel_store_path(st->path, ".corrupt")) == NULL)
		return -ENOMEM;
	/* A second link to the damaged inode; the rename leaves it alone. */
	if (link(st->path, saved) == -1 && errno == EEXIST &&
	    unlink(saved) == 0)
		(void)link(st->path, saved);
	if (access(saved, F_OK) == 0)
		snprintf(rep->saved, sizeof(rep->saved), "%s", saved);
	free(saved);
	return sel_store_rewrite(st);
}

/* Apply one valid record to memory. Returns 0, or 1 if it did not fit. */
static int
sel_store_apply(struct sel_store *st, const uint8_t *r)
{
	const uint8_t	*d = r + 12;
	uint16_t	 id = sel_get16(r + 6);
	uint32_t	 time = sel_get32(r + 8);
	long		 i;
	uint8_t		 e[SEL_RECORD_SIZE];

	switch (r[4]) {
	case SEL_OP_ADD:
		if (id == SEL_ID_FIRST || id == SEL_ID_LAST ||
		    (st->used[id / 8] & (1 << id % 8)))
			return 1;
		memcpy(e, d, sizeof(e));
		sel_put16(e, id);
		if (sel_store_push(st, e) != 0)
			return 1;
		st->next_id = id + 1;
		st->last_add = time;
		return 0;
	case SEL_OP_DELETE:
		if ((i = sel_store_find(st, id)) < 0 || id == SEL_ID_FIRST ||
		    id == SEL_ID_LAST)
			return 1;
		sel_store_remove(st, (size_t)i);
		st->last_erase = time;
		st->overflow = false;
		return 0;
	case SEL_OP_CLEAR:
		while (st->count > 0)
			sel_store_remove(st, st->count - 1);
		st->last_erase = time;
		st->overflow = false;
		return 0;
	default:
		st->time_offset = (int64_t)((uint64_t)sel_get32(d) |
		    (uint64_t)sel_get32(d + 4) << 32);
		st->last_erase = sel_get32(d + 8);
		st->next_id = sel_get16(d + 12);
		st->overflow = (d[14] & SEL_FLAG_OVERFLOW) != 0;
		st->last_add = time;
		return 0;
	}
}

/* Append an entry in memory (its id in bytes 0..1). */
static int
sel_store_push(struct sel_store *st, const uint8_t *e)
{
	uint16_t	id = sel_get16(e);
	int		rv;

	if ((rv = sel_store_grow(st)) != 0)
		return rv;
	memcpy(st->entries[st->count++], e, SEL_RECORD_SIZE);
	st->used[id / 8] |= 1 << id % 8;
	return 0;
}

/* Make room for one more entry in memory. */
static int
sel_store_grow(struct sel_store *st)
{
	uint8_t	(*p)[SEL_RECORD_SIZE];
	size_t	  n;

	if (st->count < st->alloc)
		return 0;
	n = st->alloc < 64 ? 64 : st->alloc * 2;
	if ((p = realloc(st->entries, n * sizeof(*p))) == NULL)
		return -ENOMEM;
	st->entries = p;
	st->alloc = n;
	return 0;
}

static void
sel_store_remove(struct sel_store *st, size_t i)
{
	uint16_t	id = sel_get16(st->entries[i]);

	st->used[id / 8] &= ~(1 << id % 8);
	memmove(st->entries[i], st->entries[i + 1],
	    (st->count - i - 1) * SEL_RECORD_SIZE);
	st->count--;
}

/*
 * Write the live state to PATH.tmp (every entry, then one STATE record),
 * make it durable, rename it over the old file and sync the directory.
 * Until the rename the old file is untouched; after it the new one is
 * complete. A failure after the rename (the directory sync) could let a
 * crash bring the old file back, losing later appends, so the store turns
 * broken then.
 */
static int
sel_store_rewrite(struct sel_store *st)
{
	uint8_t		 r[SEL_FILE_RECORD], h[SEL_FILE_HEADER];
	char		*tmp;
	size_t		 i;
	int		 fd = -1, rv;

	if (st->broken)
		return SEL_STORE_E_BROKEN;
	if ((tmp = sel_store_path(st->path, ".tmp")) == NULL)
		return -ENOMEM;
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (fd == -1 || flock(fd, LOCK_EX | LOCK_NB) == -1) {
		rv = -errno;
		goto out;
	}
	sel_store_header(h);
	if ((rv = sel_store_write_all(fd, h, sizeof(h))) != 0)
		goto out;
	for (i = 0; i < st->count; i++) {
		sel_store_pack(r, i + 1, SEL_OP_ADD, sel_get16(st->entries[i]),
		    0, st->entries[i]);
		if ((rv = sel_store_write_all(fd, r, sizeof(r))) != 0)
			goto out;
	}
	sel_store_pack_state(st, r, st->count + 1);
	if ((rv = sel_store_write_all(fd, r, sizeof(r))) != 0)
		goto out;
	if (fsync(fd) == -1) {
		rv = -errno;
		goto out;
	}
	if (rename(tmp, st->path) == -1) {
		rv = -errno;
		goto out;
	}
	close(st->fd);
	st->fd = fd;
	fd = -1;
	st->seq = st->count + 1;
	st->file_records = st->count + 1;
	st->size = SEL_FILE_HEADER + st->file_records * SEL_FILE_RECORD;
	if ((rv = sel_store_sync_dir(st->path)) != 0)
		st->broken = true;
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	return rv;
}

/* Rewrite when the file holds more than slack records beyond the live
 * entries. A failed rewrite leaves the old file in use. */
static int
sel_store_maybe_compact(struct sel_store *st)
{
	if (st->file_records <= st->count + st->slack || st->broken)
		return 0;
	return sel_store_rewrite(st);
}

int
sel_store_add(struct sel_store *st, uint8_t rec[SEL_RECORD_SIZE],
    uint32_t now, uint16_t *id)
{
	uint16_t	n;
	int		rv;

	if (st->broken)
		return SEL_STORE_E_BROKEN;
	if (st->count >= st->capacity) {
		if ((rv = sel_store_set_overflow(st)) != 0)
			return rv;
		return SEL_STORE_E_FULL;
	}
	/* Increasing ids; at most count in use, so this ends. */
	for (n = st->next_id; n == SEL_ID_FIRST || n == SEL_ID_LAST ||
	    (st->used[n / 8] & (1 << n % 8)); n++)
		;
	sel_put16(rec, n);
	/* Room in memory first: once on disk, the entry must be served. */
	if ((rv = sel_store_grow(st)) != 0)
		return rv;
	if ((rv = sel_store_append(st, SEL_OP_ADD, n, now, rec)) != 0)
		return rv;
	(void)sel_store_push(st, rec);
	st->next_id = n + 1;
	st->last_add = now;
	*id = n;
	(void)sel_store_maybe_compact(st);
	return 0;
}

int
sel_store_delete(struct sel_store *st, uint16_t id, uint32_t now,
    uint16_t *deleted)
{
	long	i;
	int	rv;

	if (st->broken)
		return SEL_STORE_E_BROKEN;
	if ((i = sel_store_find(st, id)) < 0)
		return SEL_STORE_E_NOT_FOUND;
	id = sel_get16(st->entries[i]);
	if ((rv = sel_store_append(st, SEL_OP_DELETE, id, now, NULL)) != 0)
		return rv;
	sel_store_remove(st, (size_t)i);
	st->last_erase = now;
	st->overflow = false;
	*deleted = id;
	(void)sel_store_maybe_compact(st);
	return 0;
}

int
sel_store_clear(struct sel_store *st, uint32_t now)
{
	int	rv;

	if ((rv = sel_store_append(st, SEL_OP_CLEAR, 0, now, NULL)) != 0)
		return rv;
	while (st->count > 0)
		sel_store_remove(st, st->count - 1);
	st->last_erase = now;
	st->overflow = false;
	(void)sel_store_maybe_compact(st);
	return 0;
}

int
sel_store_set_offset(struct sel_store *st, int64_t offset)
{
	int64_t	old = st->time_offset;
	int	rv;

	st->time_offset = offset;
	if ((rv = sel_store_append_state(st)) != 0)
		st->time_offset = old;
	else
		(void)sel_store_maybe_compact(st);
	return rv;
}

int
sel_store_set_overflow(struct sel_store *st)
{
	int	rv;

	if (st->overflow)
		return 0;
	st->overflow = true;
	if ((rv = sel_store_append_state(st)) != 0)
		st->overflow = false;
	else
		(void)sel_store_maybe_compact(st);
	return rv;
}

long
sel_store_find(const struct sel_store *st, uint16_t id)
{
	size_t	i;

	if (st->count == 0)
		return -1;
	if (id == SEL_ID_FIRST)
		return 0;
	if (id == SEL_ID_LAST)
		return (long)st->count - 1;
	if (!(st->used[id / 8] & (1 << id % 8)))
		return -1;
	for (i = 0; i < st->count; i++)
		if (sel_get16(st->entries[i]) == id)
			return (long)i;
	return -1;
}

const uint8_t *
sel_store_entry(const struct sel_store *st, size_t i)
{
	return st->entries[i];
}

uint16_t
sel_store_next_id(const struct sel_store *st, size_t i)
{
	return i + 1 < st->count ? sel_get16(st->entries[i + 1]) : SEL_ID_LAST;
}
