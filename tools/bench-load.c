/* SPDX-License-Identifier: MIT */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

/*
 * The host: the load generator on the emulated BT device, the same code
 * for every topology. It keeps `inflight` requests outstanding, each with
 * its own BT seq (8 bits, so up to 64 at once is far from wrapping), sends
 * the next as soon as an answer comes, and times each round trip on
 * CLOCK_MONOTONIC from just before its send to just after its answer was
 * read. The fd is blocking with a receive timeout, so the host costs one
 * send and one recv per request whatever sits behind the device.
 *
 * The first `warmup` answers are not measured; throughput is the measured
 * answers over the time from the last warm-up answer to the last answer.
 */

uint64_t
bench_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Key i of a scale run: even i below 4096 are plain netfn keys (0x30..0x3E
 * x 256 cmds), every other one an OEM 0x2E key, 256 cmds per IANA number
 * from BENCH_IANA_BASE on; so 10,000 keys hold 7,952 OEM ones.
 */
void
bench_key_of(uint32_t i, struct bench_key *k)
{
	uint32_t	q;

	if (i < 4096 && i % 2 == 0) {
		k->netfn = (uint8_t)(BENCH_NETFN + 2 * (i / 2 / 256));
		k->cmd = (uint8_t)(i / 2 % 256);
		k->iana = 0;
		return;
	}
	q = i < 4096 ? i / 2 : i - 2048;
	k->netfn = BENCH_NETFN_OEM;
	k->cmd = (uint8_t)(q % 256);
	k->iana = BENCH_IANA_BASE + q / 256;
}

size_t
bench_frame(uint8_t *frame, const struct bench_key *k, uint8_t seq,
    size_t req_len)
{
	size_t	i, off = 4;

	frame[1] = (uint8_t)(k->netfn << 2);
	frame[2] = seq;
	frame[3] = k->cmd;
	if (k->netfn == BENCH_NETFN_OEM) {
		frame[4] = k->iana & 0xff;
		frame[5] = (k->iana >> 8) & 0xff;
		frame[6] = (k->iana >> 16) & 0xff;
		off = 7;
		req_len = req_len > 3 ? req_len - 3 : 0;
	}
	for (i = 0; i < req_len; i++)
		frame[off + i] = (uint8_t)(0xa0 + i);
	frame[0] = (uint8_t)(off + req_len - 1);
	return off + req_len;
}

struct bench_run {
	const struct bench_load	*l;
	uint64_t		 sent_ns[256];
	uint16_t		 key_of[256];	/* index into keys */
	bool			 busy[256];
	uint8_t			 next_seq;
	uint32_t		 next_key;
	uint32_t		*lat;		/* ns, measured answers */
	uint32_t		 nlat;
	struct bench_sample	*s;
};

static const struct bench_key bench_default_key = { BENCH_NETFN, BENCH_CMD,
    0 };

static const struct bench_key *
bench_run_key(struct bench_run *r, uint16_t *idx)
{
	const struct bench_load	*l = r->l;

	if (l->keys == NULL || l->nkeys == 0) {
		*idx = 0;
		return &bench_default_key;
	}
	/* A prime stride walks every key in a scattered order. */
	*idx = (uint16_t)((uint64_t)r->next_key * 7919 % l->nkeys);
	r->next_key++;
	return &l->keys[*idx];
}

static int
bench_run_send(struct bench_run *r)
{
	const struct bench_key	*k;
	uint8_t			 frame[BENCH_FRAME_MAX];
	uint16_t		 idx;
	size_t			 len;
	uint8_t			 seq;

	while (r->busy[r->next_seq])
		r->next_seq++;
	seq = r->next_seq++;
	k = bench_run_key(r, &idx);
	len = bench_frame(frame, k, seq, r->l->req_len);
	r->busy[seq] = true;
	r->key_of[seq] = idx;
	r->sent_ns[seq] = bench_now_ns();
	if (send(r->l->fd, frame, len, MSG_NOSIGNAL) != (ssize_t)len)
		return -errno;
	return 0;
}

/* Whether an answer is the right one for the request with its seq. */
static bool
bench_run_check(struct bench_run *r, const uint8_t *f, size_t n)
{
	const struct bench_load	*l = r->l;
	const struct bench_key	*k = &bench_default_key;

	if (!l->strict)
		return true;
	if (l->keys != NULL && l->nkeys > 0)
		k = &l->keys[r->key_of[f[2]]];
	if (n < 5 || f[0] != n - 1 || f[1] >> 2 != (k->netfn | 1) ||
	    f[3] != k->cmd || f[4] != 0) {
		r->s->last_bad_cc = n >= 5 ? f[4] : 0xff;
		return false;
	}
	if (n - 5 != l->rsp_len) {
		r->s->last_bad_cc = 0xfe;
		return false;
	}
	return true;
}

static int
bench_run_loop(struct bench_run *r)
{
	const struct bench_load	*l = r->l;
	uint8_t			 f[BENCH_FRAME_MAX + 1];
	uint64_t		 now = 0, start = 0, total, sent = 0, done = 0;
	ssize_t			 n;
	int			 e;

	total = (uint64_t)l->warmup + l->count;
	while (sent < total && sent < l->inflight) {
		if ((e = bench_run_send(r)) < 0)
			return e;
		sent++;
	}
	if (l->warmup == 0)
		start = bench_now_ns();
	while (done < total) {
		n = recv(l->fd, f, sizeof(f), 0);
		now = bench_now_ns();
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n < 3 || !r->busy[f[2]])
			return -EPROTO;
		r->busy[f[2]] = false;
		if (!bench_run_check(r, f, (size_t)n))
			r->s->errors++;
		if (done >= l->warmup)
			r->lat[r->nlat++] = (uint32_t)(now - r->sent_ns[f[2]]);
		done++;
		if (done == l->warmup)
			start = now;
		if (sent < total) {
			if ((e = bench_run_send(r)) < 0)
				return e;
			sent++;
		}
	}
	r->s->rps = (double)l->count * 1e9 / (double)(now - start);
	return 0;
}

static int
bench_u32_cmp(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double
bench_pct(const uint32_t *v, size_t n, double p)
{
	size_t	i = (size_t)((double)(n - 1) * p + 0.5);

	return (double)v[i < n ? i : n - 1] / 1000.0;
}

int
bench_load_run(const struct bench_load *l, struct bench_sample *s)
{
	struct bench_run	*r;
	struct timeval		 tv = { BENCH_TIMEOUT_MS / 1000, 0 };
	uint64_t		 cpu, before[8], after[8];
	size_t			 i, np = l->npids > 8 ? 8 : l->npids;
	int			 e;

	memset(s, 0, sizeof(*s));
	if (l->inflight < 1 || l->inflight > BENCH_MAX_INFLIGHT ||
	    l->count == 0)
		return -EINVAL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -ENOMEM;
	r->l = l;
	r->s = s;
	if ((r->lat = calloc(l->count, sizeof(*r->lat))) == NULL) {
		free(r);
		return -ENOMEM;
	}
	(void)setsockopt(l->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cpu = bench_cpu_ns(l->pids, np, before);
	if ((e = bench_run_loop(r)) == 0) {
		cpu = bench_cpu_ns(l->pids, np, after) - cpu;
		s->cpu_us = (double)cpu / 1000.0 /
		    (double)(l->warmup + l->count);
		for (i = 0; i < np; i++)
			s->cpu_each_us[i] = (double)(after[i] - before[i]) /
			    1000.0 / (double)(l->warmup + l->count);
		qsort(r->lat, r->nlat, sizeof(*r->lat), bench_u32_cmp);
		s->p50_us = bench_pct(r->lat, r->nlat, 0.5);
		s->p99_us = bench_pct(r->lat, r->nlat, 0.99);
		s->p999_us = bench_pct(r->lat, r->nlat, 0.999);
	}
	free(r->lat);
	free(r);
	return e;
}

/* Throw away whatever answers are still on their way (after a timeout). */
static void
bench_drain(int fd, int ms)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	uint8_t		f[BENCH_FRAME_MAX + 1];

	while (poll(&pfd, 1, ms) > 0 && (pfd.revents & POLLIN))
		if (recv(fd, f, sizeof(f), MSG_DONTWAIT) <= 0)
			break;
}

int
bench_probe(int fd, const struct bench_key *k, size_t req_len,
    size_t rsp_len, bool strict, int timeout_ms)
{
	struct bench_load	l;
	struct bench_sample	s;
	uint64_t		end;
	int			e;

	memset(&l, 0, sizeof(l));
	l.fd = fd;
	l.inflight = 1;
	l.count = 1;
	l.req_len = req_len;
	l.rsp_len = rsp_len;
	l.strict = strict;
	l.keys = k;
	l.nkeys = 1;
	end = bench_now_ns() + (uint64_t)timeout_ms * 1000000;
	for (;;) {
		e = bench_load_run(&l, &s);
		if (e == 0 && s.errors == 0)
			return 0;
		if (bench_now_ns() >= end)
			return e < 0 ? e : -EPROTO;
		bench_drain(fd, 20);
	}
}

static int
bench_dbl_cmp(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
bench_stat_of(struct bench_stat *st, double *v, size_t n)
{
	qsort(v, n, sizeof(*v), bench_dbl_cmp);
	st->min = v[0];
	st->max = v[n - 1];
	st->med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void
bench_figure_from(struct bench_figure *f, const struct bench_sample *s,
    size_t n)
{
	double	v[64];
	size_t	i, k;

	memset(f, 0, sizeof(*f));
	if (n == 0 || n > 64)
		return;
	f->valid = true;
	f->reps = (uint32_t)n;
	for (i = 0; i < n; i++) {
		v[i] = s[i].p50_us;
		f->errors += s[i].errors;
		if (s[i].errors)
			f->bad_cc = s[i].last_bad_cc;
	}
	bench_stat_of(&f->p50, v, n);
	for (i = 0; i < n; i++)
		v[i] = s[i].p99_us;
	bench_stat_of(&f->p99, v, n);
	for (i = 0; i < n; i++)
		v[i] = s[i].p999_us;
	bench_stat_of(&f->p999, v, n);
	for (i = 0; i < n; i++)
		v[i] = s[i].rps;
	bench_stat_of(&f->rps, v, n);
	for (i = 0; i < n; i++)
		v[i] = s[i].cpu_us;
	bench_stat_of(&f->cpu, v, n);
	for (k = 0; k < 8; k++) {
		struct bench_stat	st;

		for (i = 0; i < n; i++)
			v[i] = s[i].cpu_each_us[k];
		bench_stat_of(&st, v, n);
		f->cpu_each_us[k] = st.med;
	}
}

int
bench_measure(const struct bench_opts *o, struct bench_load *l,
    struct bench_figure *f)
{
	struct bench_sample	s[64];
	uint32_t		i, reps = o->reps > 64 ? 64 : o->reps;
	int			e;

	memset(f, 0, sizeof(*f));
	l->warmup = o->warmup;
	l->count = o->requests;
	for (i = 0; i < reps; i++) {
		if ((e = bench_load_run(l, &s[i])) < 0) {
			bench_drain(l->fd, 100);
			return e;
		}
	}
	bench_figure_from(f, s, reps);
	return 0;
}
