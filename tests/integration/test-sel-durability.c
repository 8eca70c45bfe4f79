/* SPDX-License-Identifier: MIT */
/*
 * The SEL handler loses no acknowledged entry. Three ways to catch it out:
 *
 * - ordering: the handler runs under strace while ipmi-ctl adds 50
 *   entries; every Add SEL Entry answer it sends to the broker must come
 *   after a write and an fdatasync (or fsync) of the SEL file since the
 *   answer before it.
 * - torn writes: a log of N records built with the storage layer is cut
 *   at every byte offset inside its last record (and that record is also
 *   garbled in place), as a crash in the middle of an append leaves it;
 *   recovery must keep the N-1 records before it, byte for byte, and serve
 *   nothing else. Once more through the real handler and ipmi-ctl.
 * - crashes: a test client adds thousands of entries through the broker
 *   (and deletes some, so the log is also rewritten) while the handler is
 *   SIGKILLed at random moments from a seeded PRNG and restarted; at the
 *   end every acknowledged entry is there with its bytes and id, every
 *   acknowledged delete stuck, and nothing else is served.
 *
 * The seed is printed; SEL_DURABILITY_SEED=N repeats a run.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"
#include "sel-store.h"

#define SEL_NCMDS	11

/* The crash run: adds, kills, and a delete after every DEL_EVERY adds. */
#define CRASH_ADDS	3000
#define CRASH_KILLS	20
#define DEL_EVERY	8
#define CRASH_TYPE	0xe5	/* OEM without timestamp: bytes are ours */

static struct itest_env	env;
static pid_t		sel_pid = -1;
static char		sel_conf[160], sel_log[160], sel_path[160];

static uint64_t		rng_state;

/* xorshift64*: small, seeded, good enough to pick moments and bytes. */
static uint32_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

static uint32_t
rng_seed(void)
{
	const char	*s = getenv("SEL_DURABILITY_SEED");
	uint32_t	 seed;

	seed = s != NULL ? (uint32_t)strtoul(s, NULL, 0) :
	    (uint32_t)time(NULL) ^ (uint32_t)getpid() << 16;
	rng_state = (uint64_t)seed * 0x9e3779b97f4a7c15ULL + 1;
	fprintf(stderr, "sel-durability: seed %u "
	    "(SEL_DURABILITY_SEED=%u repeats this run)\n", seed, seed);
	return seed;
}

static uint16_t
le16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static void
write_sel_conf(unsigned capacity, unsigned slack)
{
	char	text[512];

	snprintf(text, sizeof(text), "[sel]\npath = %s\ncapacity = %u\n"
	    "compact_slack = %u\n", sel_path, capacity, slack);
	cr_assert_eq(itest_write_file(sel_conf, text), 0);
}

static void
env_start(void)
{
	cr_assert_eq(itest_env_init(&env), 0, "temp dir");
	cr_assert_eq(itest_write_config(&env, NULL), 0);
	snprintf(sel_conf, sizeof(sel_conf), "%s/sel.conf", env.dir);
	snprintf(sel_log, sizeof(sel_log), "%s/sel.log", env.dir);
	snprintf(sel_path, sizeof(sel_path), "%s/sel.db", env.dir);
	cr_assert_eq(itest_daemon_start(&env, 5000), 0,
	    "daemon did not answer on %s (log %s)", env.csock, env.log);
}

/* Start the handler, under strace if trace is set; wait for its keys. */
static void
sel_start(const char *trace)
{
	static char	envbuf[256];
	char		*envp[] = { envbuf, NULL };
	char		*plain[] = { (char *)itest_bin("IPMI_HANDLER_SEL"),
			    "-c", sel_conf, NULL };
	char		*traced[] = { "/usr/bin/strace", "-f", "-xx", "-s",
			    "256", "-e", "trace=openat,fdatasync,fsync,"
			    "sendmsg,sendto,write", "-o", (char *)trace,
			    plain[0], "-c", sel_conf, NULL };
	int		 got;

	cr_assert_not_null(plain[0], "IPMI_HANDLER_SEL is not set");
	snprintf(envbuf, sizeof(envbuf), "IPMI_BROKER_SOCKET=%s", env.hsock);
	if (trace != NULL)
		cr_assert_eq(access(traced[0], X_OK), 0, "%s: %s (tools/deps.sh"
		    " installs strace)", traced[0], strerror(errno));
	sel_pid = itest_spawn(sel_log, trace != NULL ? traced : plain, envp);
	cr_assert(sel_pid > 0, "could not start the SEL handler");
	cr_assert_eq(itest_wait_regs(&env, "sel", SEL_NCMDS, 10000, &got), 0,
	    "sel handler registrations: expected %d, got %d (log %s)",
	    SEL_NCMDS, got, sel_log);
}

/* SIGKILL the handler and wait until the broker has let go of its keys. */
static void
sel_kill(void)
{
	int	got;

	kill(sel_pid, SIGKILL);
	cr_assert_eq(itest_wait_pid(sel_pid, 5000), 128 + SIGKILL);
	sel_pid = -1;
	cr_assert_eq(itest_wait_regs(&env, "sel", 0, 5000, &got), 0,
	    "registrations left: %d", got);
}

static void
done(void)
{
	if (sel_pid > 0)
		cr_assert_eq(itest_stop_pid(sel_pid, 3000), 0,
		    "ipmi-handler-sel did not exit 0 on SIGTERM (log %s)",
		    sel_log);
	sel_pid = -1;
	cr_assert_eq(itest_daemon_stop(&env, 5000), 0,
	    "the daemon did not exit 0 on SIGTERM (log %s)", env.log);
	ITEST_ASSERT_LOGS_CLEAN(&env);
}

static void
teardown(void)
{
	if (sel_pid > 0)
		itest_stop_pid(sel_pid, 3000);
	sel_pid = -1;
	itest_env_cleanup(&env);
}

TestSuite(sel_durability, .fini = teardown, .timeout = 120);

/* ---- (a) every answer after its fdatasync ---- */

/* "\x2f\x74..." as strace -xx prints a string. */
static void
hex_string(const char *s, char *out, size_t len)
{
	size_t	n = 0;

	for (; *s != '\0' && n + 5 < len; s++)
		n += snprintf(out + n, len - n, "\\x%02x", (unsigned char)*s);
	out[n] = '\0';
}

/* The first argument of "PID call(FD, ..." (-1 if none). */
static int
trace_fd(const char *call)
{
	const char	*p = strchr(call, '(');

	return p != NULL ? atoi(p + 1) : -1;
}

/* The return value at the end of the line ("= N"). */
static long
trace_ret(const char *line)
{
	const char	*p = strrchr(line, '=');

	return p != NULL ? strtol(p + 1, NULL, 10) : -1;
}

/* Decode the first "\x.." string of a line into buf; returns its length. */
static size_t
trace_bytes(const char *line, uint8_t *buf, size_t max)
{
	const char	*p = strchr(line, '"');
	size_t		 n = 0;

	if (p == NULL)
		return 0;
	for (p++; n < max && p[0] == '\\' && p[1] == 'x'; p += 4)
		buf[n++] = (uint8_t)strtoul((char[3]){ p[2], p[3], 0 }, NULL,
		    16);
	return n;
}

/*
 * A handler.proto Envelope carrying a Response (field 7, tag 0x3a) to an
 * Add: id (field 1), no cc field (0 is not packed), data (field 3) with
 * the 2-byte record id. Returns 1 for such an answer, 0 for another
 * message, -1 for a Response with a non-zero cc.
 */
static int
trace_add_answer(const uint8_t *b, size_t n)
{
	size_t	i = 2;

	if (n < 4 || b[0] != 0x3a)
		return 0;
	if (b[i++] != 0x08)
		return -1;
	while (i < n && (b[i] & 0x80))		/* the id varint */
		i++;
	i++;
	if (i >= n || b[i] == 0x10)
		return -1;
	return b[i] == 0x1a && i + 1 < n && b[i + 1] == 2 ? 1 : -1;
}

Test(sel_durability, every_add_is_answered_after_its_fdatasync)
{
	static const uint8_t	rec[16] = { 0, 0, 0x02, 0, 0, 0, 0, 0x41, 0,
	    0x04, 0x01, 0x30, 0x01, 0x57, 0x10, 0x20 };
	struct itest_run	r;
	char			trace[160], path_hex[700], *text, *line, *save;
	char			args[16][8];
	uint8_t			data[64], b[64];
	size_t			len, n;
	unsigned int		cc;
	int			i, fd, sel_fd = -1, answers = 0, kind;
	bool			wrote = false, synced = false;

	env_start();
	write_sel_conf(512, 256);
	snprintf(trace, sizeof(trace), "%s/strace.txt", env.dir);
	sel_start(trace);
	for (i = 0; i < 16; i++)
		snprintf(args[i], sizeof(args[i]), "0x%02x", rec[i]);
	for (i = 0; i < 50; i++) {
		cr_assert_eq(itest_send_json(&env, &r, &cc, data, &len, "0x0a",
		    "0x44", args[0], args[1], args[2], args[3], args[4],
		    args[5], args[6], args[7], args[8], args[9], args[10],
		    args[11], args[12], args[13], args[14], args[15], NULL), 0,
		    "%s %s", r.out, r.err);
		cr_assert_eq(cc, 0, "add %d: cc 0x%02x", i, cc);
	}
	/* strace writes its file as it goes; stop it before reading. */
	itest_stop_pid(sel_pid, 3000);
	sel_pid = -1;

	cr_assert_not_null(text = itest_read_file(trace));
	hex_string(sel_path, path_hex, sizeof(path_hex));
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		const char *call = strchr(line, ' ');

		if (call == NULL)
			continue;
		call += strspn(call, " ");
		fd = trace_fd(call);
		if (strncmp(call, "openat(", 7) == 0) {
			if (strstr(call, path_hex) != NULL &&
			    trace_ret(line) >= 0)
				sel_fd = (int)trace_ret(line);
		} else if (strncmp(call, "write(", 6) == 0 && fd == sel_fd &&
		    trace_ret(line) == 32) {
			wrote = true;
		} else if ((strncmp(call, "fdatasync(", 10) == 0 ||
		    strncmp(call, "fsync(", 6) == 0) && fd == sel_fd &&
		    trace_ret(line) == 0) {
			synced = wrote;
		} else if (strncmp(call, "sendmsg(", 8) == 0 ||
		    strncmp(call, "sendto(", 7) == 0 ||
		    strncmp(call, "write(", 6) == 0) {
			n = trace_bytes(call, b, sizeof(b));
			kind = trace_add_answer(b, n);
			cr_assert_neq(kind, -1, "an answer with an error: %s",
			    line);
			if (kind == 0)
				continue;
			cr_assert(synced, "answer %d sent before its entry was "
			    "written and synced: %s (trace %s)", answers + 1,
			    line, trace);
			answers++;
			wrote = synced = false;
		}
	}
	free(text);
	cr_assert_neq(sel_fd, -1, "the SEL file was never opened in %s",
	    trace);
	cr_assert_eq(answers, 50, "Add answers in the trace: %d", answers);
	done();
}

/* ---- (b) a torn last record ---- */

#define TORN_N	20

/* Build a log of TORN_N adds with the storage layer; keep its bytes. */
static void
torn_build(const char *path, uint8_t entries[TORN_N][16], uint8_t **file,
    size_t *file_len)
{
	struct sel_store	s;
	struct sel_recovery	rep;
	uint8_t			rec[16];
	uint16_t		id;
	int			i, k;

	cr_assert_eq(sel_store_open(&s, path, 64, 64, &rep), 0);
	for (i = 0; i < TORN_N; i++) {
		for (k = 0; k < 16; k++)
			rec[k] = rng();
		rec[2] = CRASH_TYPE;
		cr_assert_eq(sel_store_add(&s, rec, 1000 + i, &id), 0);
		cr_assert_eq(id, i + 1);
		memcpy(entries[i], rec, 16);
	}
	sel_store_close(&s);
	cr_assert_not_null(*file = (uint8_t *)itest_read_file(path));
	*file_len = SEL_FILE_HEADER + TORN_N * SEL_FILE_RECORD;
}

static void
put_file(const char *path, const uint8_t *buf, size_t len)
{
	int	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* Recover path and check it holds exactly the first TORN_N - 1 entries. */
static void
torn_check(const char *path, uint8_t entries[TORN_N][16], size_t cut,
    uint64_t want_torn)
{
	struct sel_store	s;
	struct sel_recovery	rep;
	struct stat		sb;
	uint64_t		last = SEL_FILE_HEADER +
				    (TORN_N - 1) * SEL_FILE_RECORD;
	int			i;

	cr_assert_eq(sel_store_open(&s, path, 64, 64, &rep), 0, "cut %zu",
	    cut);
	cr_assert_eq(rep.corrupt, 0, "cut %zu: called corruption", cut);
	cr_assert_eq(rep.torn_bytes, want_torn, "cut %zu: torn %llu", cut,
	    (unsigned long long)rep.torn_bytes);
	if (want_torn > 0)
		cr_assert_eq(rep.torn_offset, last);
	cr_assert_eq(s.count, TORN_N - 1, "cut %zu: %zu entries", cut,
	    s.count);
	for (i = 0; i < TORN_N - 1; i++) {
		cr_assert_eq(le16(sel_store_entry(&s, i)), i + 1);
		cr_assert_arr_eq(sel_store_entry(&s, i) + 2, entries[i] + 2,
		    14, "cut %zu: entry %d", cut, i + 1);
	}
	cr_assert_eq(sel_store_find(&s, TORN_N), -1);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq((uint64_t)sb.st_size, last, "cut %zu: not truncated",
	    cut);
	sel_store_close(&s);
}

Test(sel_durability, a_torn_last_record_is_dropped_and_the_rest_kept)
{
	uint8_t		entries[TORN_N][16], *file, *copy;
	size_t		len, cut, last, k;
	char		path[160];

	rng_seed();
	cr_assert_eq(itest_env_init(&env), 0);
	snprintf(path, sizeof(path), "%s/torn.db", env.dir);
	torn_build(path, entries, &file, &len);
	last = len - SEL_FILE_RECORD;
	cr_assert_not_null(copy = malloc(len));
	for (cut = last; cut < len; cut++) {
		/* The append stopped after cut bytes. */
		put_file(path, file, cut);
		torn_check(path, entries, cut, cut - last);
		/* The whole record reached the disk, from cut on garbled. */
		memcpy(copy, file, len);
		for (k = cut; k < len; k++)
			copy[k] = rng();
		if (cut == last)
			copy[last] ^= 0x01;	/* surely damaged */
		put_file(path, copy, len);
		torn_check(path, entries, cut, SEL_FILE_RECORD);
		/* ... or zeros, as a file system may show a cut extent. */
		memset(copy + cut, 0, len - cut);
		put_file(path, copy, len);
		torn_check(path, entries, cut, SEL_FILE_RECORD);
	}
	free(copy);
	free(file);
}

Test(sel_durability, the_handler_serves_only_the_records_before_a_torn_one)
{
	uint8_t			entries[TORN_N][16], *file, d[64], q[6];
	struct itest_run	r;
	char			a[6][8], want[128];
	size_t			len, dlen;
	unsigned int		cc;
	uint16_t		id = 0, next;
	int			i, k, seen = 0;

	rng_seed();
	env_start();
	torn_build(sel_path, entries, &file, &len);
	put_file(sel_path, file, len - SEL_FILE_RECORD + 13);
	free(file);
	write_sel_conf(64, 64);
	sel_start(NULL);
	snprintf(want, sizeof(want), "recovered %d records, dropped a torn "
	    "tail of 13 bytes at offset %d", TORN_N - 1,
	    SEL_FILE_HEADER + (TORN_N - 1) * SEL_FILE_RECORD);
	cr_assert_eq(itest_wait_file(sel_log, want, 2000), 0,
	    "no \"%s\" in %s", want, sel_log);

	for (;;) {
		q[0] = q[1] = 0;
		q[2] = id & 0xff;
		q[3] = id >> 8;
		q[4] = 0;
		q[5] = 0xff;
		for (k = 0; k < 6; k++)
			snprintf(a[k], sizeof(a[k]), "0x%02x", q[k]);
		cr_assert_eq(itest_send_json(&env, &r, &cc, d, &dlen, "0x0a",
		    "0x43", a[0], a[1], a[2], a[3], a[4], a[5], NULL), 0);
		cr_assert_eq(cc, 0, "get 0x%04x: cc 0x%02x", id, cc);
		cr_assert_eq(dlen, 18);
		i = le16(d + 2) - 1;
		cr_assert(i >= 0 && i < TORN_N - 1, "served id %d", i + 1);
		cr_assert_arr_eq(d + 4, entries[i] + 2, 14, "entry %d", i + 1);
		seen++;
		if ((next = le16(d)) == 0xffff)
			break;
		id = next;
	}
	cr_assert_eq(seen, TORN_N - 1);

	/* The log goes on from the cut: an add after it survives a kill. */
	cr_assert_eq(itest_send_json(&env, &r, &cc, d, &dlen, "0x0a", "0x44",
	    "0", "0", "0xe5", "1", "2", "3", "4", "5", "6", "7", "8", "9",
	    "10", "11", "12", "13", NULL), 0);
	cr_assert_eq(cc, 0);
	cr_assert_eq(le16(d), TORN_N, "the torn add's id is free again");
	sel_kill();
	sel_start(NULL);
	cr_assert_eq(itest_send_json(&env, &r, &cc, d, &dlen, "0x0a", "0x43",
	    "0", "0", "0xff", "0xff", "0", "0xff", NULL), 0);
	cr_assert_eq(cc, 0);
	cr_assert_eq(le16(d + 2), TORN_N);
	cr_assert_eq(d[2 + 15], 0x13);
	cr_assert_eq(itest_send_json(&env, &r, &cc, d, &dlen, "0x0a", "0x40",
	    NULL), 0);
	cr_assert_eq(le16(d + 1), TORN_N, "entries after the restart");
	done();
}

/* ---- (c) SIGKILL at random moments ---- */

enum crash_state {
	CRASH_UNKNOWN,		/* add not acknowledged: may exist */
	CRASH_PRESENT,		/* add acknowledged: must exist */
	CRASH_DELETED,		/* delete acknowledged: must not exist */
	CRASH_MAYBE_DELETED,	/* delete not acknowledged */
};

struct crash_add {
	uint8_t		rec[16];
	uint16_t	id;
	uint8_t		state;
	bool		seen;
};

struct crash_run {
	struct rawc		c;
	struct crash_add	adds[CRASH_ADDS];
	int			kill_at[CRASH_KILLS];
	int			nkill;
	int			ops;	/* adds and deletes sent so far */
	int			kills;
	int			lost;	/* requests in flight at a kill */
	bool			killed;	/* the last call saw a kill */
};

static struct crash_run	crash;

/* One request through the broker; kill the handler meanwhile if this is
 * a chosen moment. Returns the cc, or -1 if no answer came at all. */
static int
crash_call(uint8_t cmd, const uint8_t *data, size_t len, uint8_t *rsp,
    size_t *rsp_len)
{
	struct pollfd	pfd = { .fd = crash.c.fd, .events = POLLIN };
	uint32_t	cc;
	bool		kill_now = false;
	int		rv, i;

	for (i = 0; i < crash.nkill; i++)
		if (crash.kill_at[i] == crash.ops)
			kill_now = true;
	crash.ops++;
	crash.killed = kill_now;
	cr_assert_eq(rawc_send(&crash.c, 0x0a, 0, cmd, data, len), 0);
	if (kill_now) {
		/* 0-3 ms in: before, while or after the handler writes. */
		(void)poll(&pfd, 1, rng() % 4);
		sel_kill();
		crash.kills++;
	}
	do
		rv = rawc_wait_result(&crash.c, 10000, &cc, rsp, rsp_len);
	while (rv == RAWH_OTHER);
	cr_assert_eq(rv, RAWH_MSG, "no SendResult (%d)", rv);
	if (kill_now) {
		if (cc != 0)
			crash.lost++;
		sel_start(NULL);
	}
	return (int)cc;
}

static void
crash_add(int i)
{
	struct crash_add	*a = &crash.adds[i];
	uint8_t			 rsp[64];
	size_t			 len, k;
	int			 cc;

	for (k = 0; k < 16; k++)
		a->rec[k] = rng();
	a->rec[2] = CRASH_TYPE;
	a->rec[3] = i & 0xff;
	a->rec[4] = i >> 8;
	cc = crash_call(0x44, a->rec, 16, rsp, &len);
	if (cc == 0) {
		cr_assert_eq(len, 2);
		a->id = le16(rsp);
		a->state = CRASH_PRESENT;
	} else {
		cr_assert(crash.killed, "add %d: cc 0x%02x with no kill", i,
		    cc);
		a->state = CRASH_UNKNOWN;
	}
}

/* Delete a random acknowledged entry, with a fresh reservation. */
static void
crash_delete(int upto)
{
	struct crash_add	*a = NULL;
	uint8_t			 q[4], rsp[64];
	size_t			 len;
	int			 i, cc;

	for (i = 0; i < 16 && a == NULL; i++) {
		a = &crash.adds[rng() % upto];
		if (a->state != CRASH_PRESENT)
			a = NULL;
	}
	if (a == NULL)
		return;
	if (crash_call(0x42, NULL, 0, rsp, &len) != 0)
		return;
	q[0] = rsp[0];
	q[1] = rsp[1];
	q[2] = a->id & 0xff;
	q[3] = a->id >> 8;
	cc = crash_call(0x46, q, sizeof(q), rsp, &len);
	cr_assert_neq(cc, 0xcb, "acknowledged id %u is gone", a->id);
	if (cc == 0)
		a->state = CRASH_DELETED;
	else if (crash.killed)
		a->state = CRASH_MAYBE_DELETED;
	else		/* refused (a reservation lost to a kill): kept */
		cr_assert_eq(cc, 0xc5, "delete %u: cc 0x%02x", a->id, cc);
}

/* Walk the whole SEL: everything served must be an add of ours, intact. */
static void
crash_verify(void)
{
	uint8_t			 q[6] = { 0, 0, 0, 0, 0, 0xff }, rsp[64];
	struct crash_add	*a;
	size_t			 len;
	uint16_t		 id = 0;
	int			 i, cc, served = 0, unacked = 0;

	crash.nkill = 0;
	for (;;) {
		q[2] = id & 0xff;
		q[3] = id >> 8;
		cc = crash_call(0x43, q, sizeof(q), rsp, &len);
		if (cc == 0xcb && id == 0)
			break;				/* empty */
		cr_assert_eq(cc, 0, "get 0x%04x: cc 0x%02x", id, cc);
		cr_assert_eq(len, 18);
		cr_assert_eq(rsp[2 + 2], CRASH_TYPE, "id %u: type 0x%02x",
		    le16(rsp + 2), rsp[2 + 2]);
		i = rsp[2 + 3] | rsp[2 + 4] << 8;
		cr_assert(i < CRASH_ADDS, "id %u: add %d", le16(rsp + 2), i);
		a = &crash.adds[i];
		cr_assert_arr_eq(rsp + 2 + 2, a->rec + 2, 14,
		    "id %u: bytes of add %d differ", le16(rsp + 2), i);
		cr_assert(!a->seen, "add %d served twice", i);
		a->seen = true;
		cr_assert_neq(a->state, CRASH_DELETED, "add %d (id %u) was "
		    "deleted, and is back", i, a->id);
		if (a->state == CRASH_PRESENT)
			cr_assert_eq(le16(rsp + 2), a->id, "add %d: id", i);
		if (a->state == CRASH_UNKNOWN)
			unacked++;
		served++;
		if ((id = le16(rsp)) == 0xffff)
			break;
	}
	for (i = 0; i < CRASH_ADDS; i++)
		cr_assert(crash.adds[i].state != CRASH_PRESENT ||
		    crash.adds[i].seen, "acknowledged add %d (id %u) is lost",
		    i, crash.adds[i].id);
	cr_log_info("sel-durability: %d adds, %d kills (%d requests in "
	    "flight lost), %d entries served, %d of them never acknowledged",
	    CRASH_ADDS, crash.kills, crash.lost, served, unacked);
}

Test(sel_durability, no_acknowledged_entry_is_lost_to_sigkill)
{
	int	i, j, t;

	rng_seed();
	memset(&crash, 0, sizeof(crash));
	env_start();
	/* Small slack: the log is rewritten often, under the kills too. */
	write_sel_conf(SEL_CAPACITY_MAX, 16);
	sel_start(NULL);
	/* Distinct moments, spread over the adds and deletes. */
	for (i = 0; i < CRASH_KILLS; i++) {
		do {
			t = rng() % (CRASH_ADDS + CRASH_ADDS / DEL_EVERY);
			for (j = 0; j < i && crash.kill_at[j] != t; j++)
				;
		} while (j < i);
		crash.kill_at[i] = t;
	}
	crash.nkill = CRASH_KILLS;
	cr_assert_eq(rawc_connect(&crash.c, env.csock, 2000), 0);
	for (i = 0; i < CRASH_ADDS; i++) {
		crash_add(i);
		if (i % DEL_EVERY == DEL_EVERY - 1)
			crash_delete(i + 1);
	}
	cr_assert(crash.kills >= CRASH_KILLS / 2, "only %d kills",
	    crash.kills);
	crash_verify();
	rawc_close(&crash.c);
	done();
}
