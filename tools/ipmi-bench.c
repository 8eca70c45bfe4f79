/* SPDX-License-Identifier: MIT */
#include <sys/utsname.h>

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/*
 * ipmi-bench: the cost of a request through the real stack, next to the
 * cost of the same hops with nothing in them, and next to OpenBMC's
 * D-Bus hop, all measured in one run on one machine.
 *
 * A run is one or two passes: pinned (every process on one CPU, the
 * headline: cross-CPU wake-ups on small VMs cost more than the work) and
 * unpinned. Pinning is sched_setaffinity() on ourselves before anything
 * starts, so every process we start (daemon, broker, driver, handlers,
 * relays, dbus-daemon) inherits it. Each pass measures, for 1, 8 and 64
 * requests in flight, the product, the blocking floor, the draining floor
 * and the D-Bus peer, then the product with 1 to 1,000 handler
 * connections sharing 10,000 registrations. Every figure is the median of
 * --reps repetitions (3 at least), with min and max kept.
 *
 * Our peers are our own children: nothing here is trusted with more than
 * a bounded wait, and everything we start dies with us.
 */

enum bench_topo { T_PRODUCT, T_FLOOR, T_FLOOR_DRAIN, T_DBUS, T_N };

static const char *bench_topo_name[T_N] = { "product", "floor_blocking",
    "floor_drain", "dbus" };
static const char *bench_topo_title[T_N] = { "product", "floor", "floor-ev",
    "D-Bus" };
static const char **bench_topo_procs[T_N] = { bench_product_procs,
    bench_floor_procs, bench_floor_procs, bench_dbus_procs };

struct bench_scale {
	bool			valid;
	uint32_t		handlers;
	uint32_t		nregs;
	struct bench_figure	lat;	/* 1 in flight */
	struct bench_figure	thr;	/* 64 in flight */
	long			base_kib;	/* broker VmHWM, no handlers */
	long			reg_kib;	/* VmRSS, all registered */
	long			hwm_kib;	/* broker VmHWM after the run */
};

struct bench_pass {
	bool			 pinned;
	int			 cpu;
	bool			 ran[T_N];
	const char		*skip[T_N];
	struct bench_figure	 fig[T_N][4];
	struct bench_scale	 scale[8];
	size_t			 nscale;
};

static struct bench_opts	 opts;
static struct bench_sizes	 sizes;
static struct bench_pass	 passes[2];
static size_t			 npasses;
static cpu_set_t		 bench_cpus;	/* as we were started */

/* ---- running ---- */

static int
bench_pin(const struct bench_pass *p)
{
	cpu_set_t	set;

	if (!p->pinned)
		return sched_setaffinity(0, sizeof(bench_cpus), &bench_cpus);
	CPU_ZERO(&set);
	CPU_SET(p->cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* The running topologies of a pass; NULL where one is not running. */
struct bench_live {
	struct bench_product	*prod;
	struct bench_floor	*floor[2];
	struct bench_dbus	*dbus;
	int			 fd[T_N];
	pid_t			 pids[T_N][8];
	size_t			 npids[T_N];
};

static void
bench_live_start(struct bench_pass *p, struct bench_live *lv)
{
	int	t;

	memset(lv, 0, sizeof(*lv));
	for (t = 0; t < T_N; t++)
		lv->fd[t] = -1;
	if (opts.do_product) {
		if ((lv->prod = bench_product_start(&opts, 1, 1)) != NULL) {
			lv->fd[T_PRODUCT] = bench_product_fd(lv->prod);
			lv->npids[T_PRODUCT] = bench_product_pids(lv->prod,
			    lv->pids[T_PRODUCT]);
		} else
			p->skip[T_PRODUCT] = "did not start";
	}
	for (t = T_FLOOR; opts.do_floor && t <= T_FLOOR_DRAIN; t++) {
		lv->floor[t - T_FLOOR] = bench_floor_start(&opts, &sizes,
		    t == T_FLOOR_DRAIN);
		if (lv->floor[t - T_FLOOR] != NULL) {
			lv->fd[t] = bench_floor_fd(lv->floor[t - T_FLOOR]);
			lv->npids[t] = bench_floor_pids(lv->floor[t - T_FLOOR],
			    lv->pids[t]);
		} else
			p->skip[t] = "did not start";
	}
	if (opts.do_dbus &&
	    (lv->dbus = bench_dbus_start(&opts, &p->skip[T_DBUS])) != NULL) {
		lv->fd[T_DBUS] = bench_dbus_fd(lv->dbus);
		lv->npids[T_DBUS] = bench_dbus_pids(lv->dbus,
		    lv->pids[T_DBUS]);
	}
	for (t = 0; t < T_N; t++) {
		p->ran[t] = lv->fd[t] >= 0;
		if (p->skip[t] != NULL)
			fprintf(stderr, "ipmi-bench: %s: %s\n",
			    bench_topo_name[t], p->skip[t]);
	}
}

static void
bench_live_stop(struct bench_live *lv)
{
	bench_product_stop(lv->prod);
	bench_floor_stop(lv->floor[0]);
	bench_floor_stop(lv->floor[1]);
	bench_dbus_stop(lv->dbus);
}

/*
 * Every topology stays up for the whole pass (an idle one sleeps in a
 * read), and the repetitions take turns: repetition 1 of each topology at
 * each depth, then repetition 2... So a burst of noise from elsewhere on
 * the machine lands on all columns alike rather than on one.
 */
static void
bench_topos_run(struct bench_pass *p)
{
	static struct bench_sample	 smp[T_N][4][64];
	struct bench_key		 k0;
	struct bench_live		 lv;
	struct bench_load		 l;
	bool				 bad[T_N][4];
	uint32_t			 rep;
	size_t				 i;
	int				 t, e;

	bench_live_start(p, &lv);
	bench_key_of(0, &k0);
	memset(bad, 0, sizeof(bad));
	for (rep = 0; rep < opts.reps; rep++)
		for (i = 0; i < opts.ninflight; i++)
			for (t = 0; t < T_N; t++) {
				if (!p->ran[t] || bad[t][i])
					continue;
				memset(&l, 0, sizeof(l));
				l.fd = lv.fd[t];
				l.req_len = opts.req_len;
				l.rsp_len = opts.rsp_len;
				l.strict = t == T_PRODUCT || t == T_DBUS;
				l.keys = &k0;
				l.nkeys = 1;
				l.pids = lv.pids[t];
				l.npids = lv.npids[t];
				l.inflight = opts.inflight[i];
				l.warmup = opts.warmup;
				l.count = opts.requests;
				bench_log(&opts, "%s pass: %s, %u in flight, "
				    "repetition %u", p->pinned ? "pinned" :
				    "unpinned", bench_topo_name[t], l.inflight,
				    rep + 1);
				if ((e = bench_load_run(&l, &smp[t][i][rep])) ==
				    0)
					continue;
				fprintf(stderr, "ipmi-bench: %s, %u in flight: "
				    "%s\n", bench_topo_name[t], l.inflight,
				    strerror(-e));
				bad[t][i] = true;
			}
	for (t = 0; t < T_N; t++)
		for (i = 0; i < opts.ninflight; i++)
			if (p->ran[t] && !bad[t][i])
				bench_figure_from(&p->fig[t][i], smp[t][i],
				    opts.reps);
	bench_live_stop(&lv);
}

static void
bench_scale_run(struct bench_pass *p, uint32_t nconn)
{
	struct bench_scale	*s = &p->scale[p->nscale++];
	struct bench_product	*prod;
	struct bench_key	*keys;
	struct bench_load	 l;
	pid_t			 pids[8];
	uint32_t		 i;
	int			 e;

	s->handlers = nconn;
	s->nregs = opts.nregs;
	if ((keys = calloc(opts.nregs, sizeof(*keys))) == NULL)
		return;
	for (i = 0; i < opts.nregs; i++)
		bench_key_of(i, &keys[i]);
	bench_log(&opts, "%s pass: scale, %u handlers",
	    p->pinned ? "pinned" : "unpinned", nconn);
	if ((prod = bench_product_start(&opts, nconn, opts.nregs)) == NULL) {
		free(keys);
		return;
	}
	memset(&l, 0, sizeof(l));
	l.fd = bench_product_fd(prod);
	l.req_len = opts.req_len;
	l.rsp_len = opts.rsp_len;
	l.strict = true;
	l.keys = keys;
	l.nkeys = opts.nregs;
	l.pids = pids;
	l.npids = bench_product_pids(prod, pids);
	l.inflight = 1;
	e = bench_measure(&opts, &l, &s->lat);
	if (e == 0) {
		l.inflight = BENCH_MAX_INFLIGHT;
		e = bench_measure(&opts, &l, &s->thr);
	}
	if (e < 0)
		fprintf(stderr, "ipmi-bench: scale, %u handlers: %s\n", nconn,
		    strerror(-e));
	s->valid = e == 0;
	s->base_kib = bench_product_base_kib(prod);
	s->reg_kib = bench_product_reg_kib(prod);
	s->hwm_kib = bench_proc_kib(bench_product_broker(prod), "VmHWM");
	bench_product_stop(prod);
	free(keys);
}

static void
bench_pass_run(struct bench_pass *p)
{
	size_t	i;

	if (bench_pin(p) < 0)
		fprintf(stderr, "ipmi-bench: cannot pin to CPU %d: %s\n",
		    p->cpu, strerror(errno));
	if (opts.do_product || opts.do_floor || opts.do_dbus)
		bench_topos_run(p);
	if (opts.do_scale)
		for (i = 0; i < opts.nhandlers; i++)
			bench_scale_run(p, opts.handlers[i]);
	(void)sched_setaffinity(0, sizeof(bench_cpus), &bench_cpus);
}

/* ---- targets ---- */

struct bench_target {
	const char	*name;
	const char	*rule;
	double		 value;
	double		 limit;
	bool		 upper;		/* value must be <= limit */
	bool		 known;
};

#define BENCH_NTARGETS	7

static double
bench_ratio(const struct bench_stat *a, const struct bench_stat *b)
{
	return b->med > 0 ? a->med / b->med : NAN;
}

static int
bench_inflight_index(uint32_t n)
{
	size_t	i;

	for (i = 0; i < opts.ninflight; i++)
		if (opts.inflight[i] == n)
			return (int)i;
	return -1;
}

static void
bench_scale_spread(const struct bench_pass *p, struct bench_target *lat,
    struct bench_target *thr)
{
	const struct bench_scale	*s0 = &p->scale[0], *s;
	double				 d;
	size_t				 i;

	for (i = 0; i < p->nscale; i++) {
		s = &p->scale[i];
		if (!s->valid || !s0->valid)
			continue;
		lat->known = thr->known = true;
		d = fabs(s->lat.p50.med / s0->lat.p50.med - 1);
		if (d > lat->value)
			lat->value = d;
		d = fabs(s->thr.rps.med / s0->thr.rps.med - 1);
		if (d > thr->value)
			thr->value = d;
	}
}

static void
bench_targets(const struct bench_pass *p, struct bench_target *t)
{
	const struct bench_figure	(*f)[4] = p->fig;
	int				 one = bench_inflight_index(1);
	int				 max = bench_inflight_index(64);

	memset(t, 0, sizeof(*t) * BENCH_NTARGETS);
	t[0] = (struct bench_target){ "p50_vs_floor_1", "product p50 / "
	    "blocking floor p50, 1 in flight", NAN, 1.2, true, false };
	t[1] = (struct bench_target){ "p99_vs_p50_1", "product p99 / product "
	    "p50, 1 in flight", NAN, 2.0, true, false };
	t[2] = (struct bench_target){ "rps_vs_floor_64", "product req/s / "
	    "blocking floor req/s, 64 in flight", NAN, 1.5, false, false };
	t[3] = (struct bench_target){ "p50_vs_dbus_1", "product p50 / D-Bus "
	    "p50, 1 in flight", NAN, 0.6, true, false };
	t[4] = (struct bench_target){ "rps_vs_dbus_64", "product req/s / "
	    "D-Bus req/s, 64 in flight", NAN, 3.0, false, false };
	t[5] = (struct bench_target){ "scale_p50_change", "largest p50 "
	    "change from 1 handler (1 in flight)", 0, 0.1, true, false };
	t[6] = (struct bench_target){ "scale_rps_change", "largest req/s "
	    "change from 1 handler (64 in flight)", 0, 0.1, true, false };
	if (one >= 0 && f[T_PRODUCT][one].valid) {
		t[1].value = bench_ratio(&f[T_PRODUCT][one].p99,
		    &f[T_PRODUCT][one].p50);
		t[1].known = true;
		if (f[T_FLOOR][one].valid) {
			t[0].value = bench_ratio(&f[T_PRODUCT][one].p50,
			    &f[T_FLOOR][one].p50);
			t[0].known = true;
		}
		if (f[T_DBUS][one].valid) {
			t[3].value = bench_ratio(&f[T_PRODUCT][one].p50,
			    &f[T_DBUS][one].p50);
			t[3].known = true;
		}
	}
	if (max >= 0 && f[T_PRODUCT][max].valid) {
		if (f[T_FLOOR][max].valid) {
			t[2].value = bench_ratio(&f[T_PRODUCT][max].rps,
			    &f[T_FLOOR][max].rps);
			t[2].known = true;
		}
		if (f[T_DBUS][max].valid) {
			t[4].value = bench_ratio(&f[T_PRODUCT][max].rps,
			    &f[T_DBUS][max].rps);
			t[4].known = true;
		}
	}
	bench_scale_spread(p, &t[5], &t[6]);
}

static bool
bench_target_met(const struct bench_target *t)
{
	return t->known && (t->upper ? t->value <= t->limit :
	    t->value >= t->limit);
}

/* The broker's peak RSS with 1,000 handlers, against 8 MiB. */
static bool
bench_rss_target(const struct bench_pass *p, double *mib)
{
	size_t	i;

	for (i = 0; i < p->nscale; i++)
		if (p->scale[i].valid && p->scale[i].handlers >= 1000 &&
		    p->scale[i].hwm_kib > 0) {
			*mib = (double)p->scale[i].hwm_kib / 1024.0;
			return true;
		}
	return false;
}

/* ---- text output ---- */

static void
bench_cell(char *buf, size_t size, const struct bench_figure *f,
    const struct bench_stat *st, bool rate)
{
	double	spread;

	if (!f->valid) {
		snprintf(buf, size, "-");
		return;
	}
	spread = st->med > 0 ? fmax(st->max - st->med, st->med - st->min) /
	    st->med * 100 : 0;
	if (rate)
		snprintf(buf, size, "%.0f±%.0f%%", st->med, spread);
	else
		snprintf(buf, size, "%.1f±%.0f%%", st->med, spread);
}

static void
bench_ratio_cell(char *buf, size_t size, const struct bench_figure *a,
    const struct bench_stat *sa, const struct bench_figure *b,
    const struct bench_stat *sb)
{
	if (!a->valid || !b->valid || sb->med <= 0)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.2f", sa->med / sb->med);
}

static const struct bench_stat *
bench_stat_pick(const struct bench_figure *f, int row)
{
	switch (row) {
	case 0:
		return &f->p50;
	case 1:
		return &f->p99;
	case 2:
		return &f->p999;
	case 3:
		return &f->rps;
	default:
		return &f->cpu;
	}
}

static void
bench_print_pass(const struct bench_pass *p)
{
	static const char *rows[5] = { "p50 us", "p99 us", "p999 us",
	    "req/s", "cpu us/req" };
	const struct bench_figure	*pf, *of;
	char				 c[T_N][32], r[T_N][16], label[40];
	size_t				 i;
	int				 row, t;

	if (p->pinned)
		printf("\npinned: every process on CPU %d (headline)\n",
		    p->cpu);
	else
		printf("\nunpinned: every process free to run on any CPU\n");
	printf("%-22s %13s", "figure", "product");
	for (t = 1; t < T_N; t++)
		printf(" %13s %6s", bench_topo_title[t], "ratio");
	printf("\n");
	for (i = 0; i < opts.ninflight; i++)
		for (row = 0; row < 5; row++) {
			pf = &p->fig[T_PRODUCT][i];
			for (t = 0; t < T_N; t++) {
				of = &p->fig[t][i];
				bench_cell(c[t], sizeof(c[t]), of,
				    bench_stat_pick(of, row), row == 3);
				bench_ratio_cell(r[t], sizeof(r[t]), pf,
				    bench_stat_pick(pf, row), of,
				    bench_stat_pick(of, row));
			}
			snprintf(label, sizeof(label), "%2u in flight %s",
			    opts.inflight[i], rows[row]);
			printf("%-22s %14s", label, c[0]);
			for (t = 1; t < T_N; t++)
				printf(" %14s %6s", c[t], r[t]);
			printf("\n");
		}
	printf("cpu us/req by process:\n");
	for (t = 0; t < T_N; t++) {
		if (!p->ran[t])
			continue;
		printf("  %-9s", bench_topo_title[t]);
		for (i = 0; i < opts.ninflight; i++) {
			printf(" %s%2u:", i ? " |" : "", opts.inflight[i]);
			for (row = 0; bench_topo_procs[t][row] != NULL; row++)
				printf(" %s %.1f", bench_topo_procs[t][row],
				    p->fig[t][i].cpu_each_us[row]);
		}
		printf("\n");
	}
	for (t = 0; t < T_N; t++) {
		uint64_t	errs = 0;
		uint8_t		cc = 0;

		for (i = 0; i < opts.ninflight; i++) {
			errs += p->fig[t][i].errors;
			if (p->fig[t][i].errors)
				cc = p->fig[t][i].bad_cc;
		}
		if (p->skip[t] != NULL)
			printf("%s: not measured: %s\n", bench_topo_title[t],
			    p->skip[t]);
		else if (errs > 0)
			printf("%s: %llu wrong answers (last CC 0x%02x)\n",
			    bench_topo_title[t], (unsigned long long)errs, cc);
	}
}

static void
bench_print_scale(const struct bench_pass *p)
{
	const struct bench_scale	*s, *s1 = &p->scale[0];
	char				 a[32], b[32], c[32], per[32];
	size_t				 i;

	if (p->nscale == 0)
		return;
	printf("\nscale (%s): handler connections (in one process) sharing "
	    "%u registrations, requests spread over all\n",
	    p->pinned ? "pinned" : "unpinned", opts.nregs);
	printf("%8s %13s %13s %7s %13s %7s | %s\n", "handlers", "p50 us @1",
	    "p99 us @1", "cpu @1", "req/s @64", "cpu @64",
	    "broker KiB: base, registered, peak; per handler");
	for (i = 0; i < p->nscale; i++) {
		s = &p->scale[i];
		bench_cell(a, sizeof(a), &s->lat, &s->lat.p50, false);
		bench_cell(b, sizeof(b), &s->lat, &s->lat.p99, false);
		bench_cell(c, sizeof(c), &s->thr, &s->thr.rps, true);
		/* A connection's own cost: registered RSS against 1 handler
		 * holding the same keys. */
		if (i > 0 && s->reg_kib > 0 && s1->reg_kib > 0 &&
		    s->handlers > s1->handlers)
			snprintf(per, sizeof(per), "%.1f",
			    (double)(s->reg_kib - s1->reg_kib) /
			    (double)(s->handlers - s1->handlers));
		else
			snprintf(per, sizeof(per), "-");
		printf("%8u %14s %14s %7.1f %14s %7.1f | %ld, %ld, %ld; %s\n",
		    s->handlers, a, b, s->lat.valid ? s->lat.cpu.med : NAN, c,
		    s->thr.valid ? s->thr.cpu.med : NAN, s->base_kib,
		    s->reg_kib, s->hwm_kib, per);
		if (s->lat.errors + s->thr.errors > 0)
			printf("%8s %llu wrong answers\n", "",
			    (unsigned long long)(s->lat.errors +
			    s->thr.errors));
	}
}

static void
bench_print_targets(const struct bench_pass *p)
{
	struct bench_target	t[BENCH_NTARGETS];
	double			mib;
	size_t			i;

	bench_targets(p, t);
	printf("\ntargets (%s pass)\n", p->pinned ? "pinned" : "unpinned");
	for (i = 0; i < BENCH_NTARGETS; i++) {
		if (!t[i].known)
			printf("  %-58s %8s   not measured\n", t[i].rule, "-");
		else
			printf("  %-58s %8.2f %s %.2f %s\n", t[i].rule,
			    t[i].value, t[i].upper ? "<=" : ">=", t[i].limit,
			    bench_target_met(&t[i]) ? "met" : "MISSED");
	}
	if (bench_rss_target(p, &mib))
		printf("  %-58s %8.2f <= 8.00 %s\n",
		    "broker peak RSS with 1,000 handlers, MiB", mib,
		    mib <= 8.0 ? "met" : "MISSED");
}

static void
bench_print_head(const struct utsname *u)
{
	printf("ipmi-bench: %ld CPUs, %s %s; %u requests x %u repetitions "
	    "(+%u warm-up each), request %zu B, answer %zu B%s\n",
	    sysconf(_SC_NPROCESSORS_ONLN), u->sysname, u->release,
	    opts.requests, opts.reps, opts.warmup, opts.req_len,
	    opts.rsp_len, opts.quick ? " (quick: not for measuring)" : "");
	printf("datagram bytes per hop: host->driver %zu, driver->broker %zu"
	    ", broker->handler %zu, handler->broker %zu, broker->driver %zu"
	    ", driver->host %zu\n", sizes.host_req, sizes.bus_req,
	    sizes.hnd_req, sizes.hnd_rsp, sizes.bus_rsp, sizes.host_rsp);
	printf("cells: median ± largest deviation of a repetition from it; "
	    "ratio = product / that column;\ncpu us/req: CPU time of the "
	    "topology's processes (not the host's) per request\n");
}

static void
bench_print(const struct utsname *u)
{
	size_t	i;

	bench_print_head(u);
	for (i = 0; i < npasses; i++) {
		if (passes[i].ran[T_PRODUCT] || passes[i].ran[T_FLOOR] ||
		    passes[i].ran[T_DBUS])
			bench_print_pass(&passes[i]);
		bench_print_scale(&passes[i]);
	}
	for (i = 0; i < npasses; i++)
		bench_print_targets(&passes[i]);
}

/* ---- JSON output ---- */

static void
bench_json_num(double v)
{
	if (isfinite(v))
		printf("%.3f", v);
	else
		printf("null");
}

static void
bench_json_stat(const char *name, const struct bench_stat *s, bool comma)
{
	printf("\"%s\": {\"median\": ", name);
	bench_json_num(s->med);
	printf(", \"min\": ");
	bench_json_num(s->min);
	printf(", \"max\": ");
	bench_json_num(s->max);
	printf("}%s", comma ? ", " : "");
}

static void
bench_json_figure(const struct bench_figure *f, const char **procs)
{
	size_t	i;

	if (!f->valid) {
		printf("null");
		return;
	}
	printf("{\"cpu_us_by_process\": {");
	for (i = 0; procs[i] != NULL; i++) {
		printf("%s\"%s\": ", i ? ", " : "", procs[i]);
		bench_json_num(f->cpu_each_us[i]);
	}
	printf("}, ");
	bench_json_stat("p50_us", &f->p50, true);
	bench_json_stat("p99_us", &f->p99, true);
	bench_json_stat("p999_us", &f->p999, true);
	bench_json_stat("rps", &f->rps, true);
	bench_json_stat("cpu_us_per_request", &f->cpu, true);
	printf("\"errors\": %llu, \"repetitions\": %u}",
	    (unsigned long long)f->errors, f->reps);
}

static void
bench_json_scale(const struct bench_pass *p)
{
	const struct bench_scale	*s;
	size_t				 i;

	printf("\"scale\": [");
	for (i = 0; i < p->nscale; i++) {
		s = &p->scale[i];
		printf("%s\n    {\"handlers\": %u, \"registrations\": %u, "
		    "\"valid\": %s, \"inflight_1\": ", i ? "," : "",
		    s->handlers, s->nregs, s->valid ? "true" : "false");
		bench_json_figure(&s->lat, bench_product_procs);
		printf(", \"inflight_64\": ");
		bench_json_figure(&s->thr, bench_product_procs);
		printf(", \"broker_base_kib\": %ld, "
		    "\"broker_registered_kib\": %ld, \"broker_hwm_kib\": %ld}",
		    s->base_kib, s->reg_kib, s->hwm_kib);
	}
	printf("]");
}

static void
bench_json_targets(const struct bench_pass *p)
{
	struct bench_target	t[BENCH_NTARGETS];
	double			mib = NAN;
	bool			rss;
	size_t			i;

	bench_targets(p, t);
	printf("\"targets\": [");
	for (i = 0; i < BENCH_NTARGETS; i++) {
		printf("%s\n    {\"name\": \"%s\", \"value\": ", i ? "," : "",
		    t[i].name);
		bench_json_num(t[i].known ? t[i].value : NAN);
		printf(", \"limit\": %.2f, \"kind\": \"%s\", \"met\": %s}",
		    t[i].limit, t[i].upper ? "max" : "min",
		    !t[i].known ? "null" : bench_target_met(&t[i]) ? "true" :
		    "false");
	}
	rss = bench_rss_target(p, &mib);
	printf(",\n    {\"name\": \"broker_rss_mib_1000\", \"value\": ");
	bench_json_num(rss ? mib : NAN);
	printf(", \"limit\": 8.00, \"kind\": \"max\", \"met\": %s}]",
	    !rss ? "null" : mib <= 8.0 ? "true" : "false");
}

static void
bench_json_pass(const struct bench_pass *p)
{
	size_t	i;
	int	t;

	printf("  {\"pinned\": %s, \"cpu\": %d,\n   \"topologies\": {",
	    p->pinned ? "true" : "false", p->pinned ? p->cpu : -1);
	for (t = 0; t < T_N; t++) {
		printf("%s\n    \"%s\": ", t ? "," : "", bench_topo_name[t]);
		if (!p->ran[t]) {
			printf("{\"skipped\": \"%s\"}", p->skip[t] ?
			    p->skip[t] : "not asked for");
			continue;
		}
		printf("{");
		for (i = 0; i < opts.ninflight; i++) {
			printf("%s\"inflight_%u\": ", i ? ", " : "",
			    opts.inflight[i]);
			bench_json_figure(&p->fig[t][i],
			    bench_topo_procs[t]);
		}
		printf("}");
	}
	printf("},\n   ");
	bench_json_scale(p);
	printf(",\n   ");
	bench_json_targets(p);
	printf("}");
}

static void
bench_json(const struct utsname *u)
{
	size_t	i;

	printf("{\"tool\": \"ipmi-bench\", \"schema\": 1,\n");
	printf(" \"machine\": {\"nproc\": %ld, \"kernel\": \"%s\", "
	    "\"machine\": \"%s\"},\n", sysconf(_SC_NPROCESSORS_ONLN),
	    u->release, u->machine);
	printf(" \"settings\": {\"quick\": %s, \"requests\": %u, "
	    "\"repetitions\": %u, \"warmup\": %u, \"request_bytes\": %zu, "
	    "\"response_bytes\": %zu, \"registrations\": %u, \"inflight\": [",
	    opts.quick ? "true" : "false", opts.requests, opts.reps,
	    opts.warmup, opts.req_len, opts.rsp_len, opts.nregs);
	for (i = 0; i < opts.ninflight; i++)
		printf("%s%u", i ? ", " : "", opts.inflight[i]);
	printf("], \"handlers\": [");
	for (i = 0; i < opts.nhandlers; i++)
		printf("%s%u", i ? ", " : "", opts.handlers[i]);
	printf("],\n   \"datagram_bytes\": {\"host_request\": %zu, "
	    "\"bus_request\": %zu, \"handler_request\": %zu, "
	    "\"handler_response\": %zu, \"bus_response\": %zu, "
	    "\"host_response\": %zu}},\n", sizes.host_req, sizes.bus_req,
	    sizes.hnd_req, sizes.hnd_rsp, sizes.bus_rsp, sizes.host_rsp);
	printf(" \"passes\": [\n");
	for (i = 0; i < npasses; i++) {
		bench_json_pass(&passes[i]);
		printf("%s\n", i + 1 < npasses ? "," : "");
	}
	printf(" ]}\n");
}

/* ---- options ---- */

static __attribute__((noreturn)) void
bench_usage(FILE *f, int code)
{
	fprintf(f,
	    "usage: ipmi-bench [-qjv] [--pin CPU] [--pinned | --unpinned]\n"
	    "           [-n REQUESTS] [-r REPS] [-w WARMUP] [--inflight LIST]\n"
	    "           [--req-bytes N] [--rsp-bytes N] [--handlers LIST]\n"
	    "           [--registrations N] [--only LIST] [--brokerd PATH]\n"
	    "           [--wrap COMMAND] [--keep]\n"
	    "  -q, --quick        a smoke run (seconds, not for measuring)\n"
	    "  -j, --json         JSON on stdout, the table on stderr\n"
	    "  --pin CPU          CPU of the pinned pass (default 0)\n"
	    "  --pinned           only the pinned pass (the headline)\n"
	    "  --unpinned         only the unpinned pass\n"
	    "  (default: a pinned pass, then an unpinned one)\n"
	    "  -n, --requests N   measured requests per repetition (100000)\n"
	    "  -r, --reps N       repetitions per figure, 3..64 (3)\n"
	    "  -w, --warmup N     unmeasured requests first (n/10)\n"
	    "  --inflight LIST    requests in flight (1,8,64)\n"
	    "  --req-bytes N      request data bytes, 3..252 (4)\n"
	    "  --rsp-bytes N      answer data bytes, 3..59 (16)\n"
	    "  --handlers LIST    scale: connections (1,10,100,1000)\n"
	    "  --registrations N  scale: keys in all (10000)\n"
	    "  --only LIST        product,floor,dbus,scale (all)\n"
	    "  --brokerd PATH     ipmi-brokerd (the one beside us)\n"
	    "  --wrap COMMAND     run the daemon under COMMAND (valgrind)\n"
	    "  --keep             keep the temporary directory\n"
	    "  -v                 say what runs\n");
	exit(code);
}

static uint32_t
bench_num(const char *opt, const char *s, uint32_t lo, uint32_t hi)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno != 0 || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "ipmi-bench: %s: '%s' is not in %u..%u\n", opt,
		    s, lo, hi);
		exit(64);
	}
	return (uint32_t)v;
}

static size_t
bench_list(const char *opt, const char *s, uint32_t *v, size_t max,
    uint32_t lo, uint32_t hi)
{
	char	*copy, *w, *save;
	size_t	 n = 0;

	if ((copy = strdup(s)) == NULL)
		exit(1);
	for (w = strtok_r(copy, ",", &save); w != NULL;
	    w = strtok_r(NULL, ",", &save)) {
		if (n == max) {
			fprintf(stderr, "ipmi-bench: %s: at most %zu values\n",
			    opt, max);
			exit(64);
		}
		v[n++] = bench_num(opt, w, lo, hi);
	}
	free(copy);
	if (n == 0)
		bench_usage(stderr, 64);
	return n;
}

static void
bench_only(const char *s)
{
	char	*copy, *w, *save;

	opts.do_product = opts.do_floor = opts.do_dbus = false;
	opts.do_scale = false;
	if ((copy = strdup(s)) == NULL)
		exit(1);
	for (w = strtok_r(copy, ",", &save); w != NULL;
	    w = strtok_r(NULL, ",", &save)) {
		if (strcmp(w, "product") == 0)
			opts.do_product = true;
		else if (strcmp(w, "floor") == 0)
			opts.do_floor = true;
		else if (strcmp(w, "dbus") == 0)
			opts.do_dbus = true;
		else if (strcmp(w, "scale") == 0)
			opts.do_scale = true;
		else {
			fprintf(stderr, "ipmi-bench: --only: no '%s'\n", w);
			exit(64);
		}
	}
	free(copy);
}

/* ipmi-brokerd: $IPMI_BROKERD, the build tree's, the installed one. */
static void
bench_find_brokerd(void)
{
	static const char *rel[] = { "../broker/ipmi-brokerd",
	    "../sbin/ipmi-brokerd", "ipmi-brokerd" };
	char	self[PATH_MAX], path[PATH_MAX], *dir;
	ssize_t	n;
	size_t	i;

	if (getenv("IPMI_BROKERD") != NULL) {
		snprintf(opts.brokerd, sizeof(opts.brokerd), "%s",
		    getenv("IPMI_BROKERD"));
		return;
	}
	snprintf(opts.brokerd, sizeof(opts.brokerd), "ipmi-brokerd");
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return;
	self[n] = '\0';
	dir = dirname(self);
	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, rel[i]);
		if (access(path, X_OK) == 0) {
			snprintf(opts.brokerd, sizeof(opts.brokerd), "%s",
			    path);
			return;
		}
	}
}

static void
bench_defaults(void)
{
	opts.cpu = 0;
	opts.pinned = opts.unpinned = true;
	opts.requests = 100000;
	opts.warmup = UINT32_MAX;
	opts.reps = 3;
	opts.inflight[0] = 1;
	opts.inflight[1] = 8;
	opts.inflight[2] = 64;
	opts.ninflight = 3;
	opts.req_len = 4;
	opts.rsp_len = 16;
	opts.nregs = 10000;
	opts.handlers[0] = 1;
	opts.handlers[1] = 10;
	opts.handlers[2] = 100;
	opts.handlers[3] = 1000;
	opts.nhandlers = 4;
	opts.do_product = opts.do_floor = opts.do_dbus = true;
	opts.do_scale = true;
	bench_find_brokerd();
}

enum { O_PIN = 256, O_PINNED, O_UNPINNED, O_INFLIGHT, O_REQB, O_RSPB,
    O_HANDLERS, O_REGS, O_ONLY, O_BROKERD, O_WRAP, O_KEEP };

static void
bench_args(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "pin", required_argument, NULL, O_PIN },
		{ "pinned", no_argument, NULL, O_PINNED },
		{ "unpinned", no_argument, NULL, O_UNPINNED },
		{ "requests", required_argument, NULL, 'n' },
		{ "reps", required_argument, NULL, 'r' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "inflight", required_argument, NULL, O_INFLIGHT },
		{ "req-bytes", required_argument, NULL, O_REQB },
		{ "rsp-bytes", required_argument, NULL, O_RSPB },
		{ "handlers", required_argument, NULL, O_HANDLERS },
		{ "registrations", required_argument, NULL, O_REGS },
		{ "only", required_argument, NULL, O_ONLY },
		{ "brokerd", required_argument, NULL, O_BROKERD },
		{ "wrap", required_argument, NULL, O_WRAP },
		{ "keep", no_argument, NULL, O_KEEP },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	bool	requests = false, regs = false, handlers = false;
	int	ch;

	bench_defaults();
	while ((ch = getopt_long(argc, argv, "qjn:r:w:vh", lo, NULL)) != -1) {
		switch (ch) {
		case 'q':
			opts.quick = true;
			break;
		case 'j':
			opts.json = true;
			break;
		case O_PIN:
			opts.cpu = (int)bench_num("--pin", optarg, 0,
			    CPU_SETSIZE - 1);
			break;
		case O_PINNED:
			opts.pinned = true;
			opts.unpinned = false;
			break;
		case O_UNPINNED:
			opts.unpinned = true;
			opts.pinned = false;
			break;
		case 'n':
			opts.requests = bench_num("-n", optarg, 1, 100000000);
			requests = true;
			break;
		case 'r':
			opts.reps = bench_num("-r", optarg, 3, 64);
			break;
		case 'w':
			opts.warmup = bench_num("-w", optarg, 0, 100000000);
			break;
		case O_INFLIGHT:
			opts.ninflight = bench_list("--inflight", optarg,
			    opts.inflight, 4, 1, BENCH_MAX_INFLIGHT);
			break;
		case O_REQB:
			opts.req_len = bench_num("--req-bytes", optarg, 3,
			    BENCH_BT_REQ_MAX);
			break;
		case O_RSPB:
			opts.rsp_len = bench_num("--rsp-bytes", optarg, 3,
			    BENCH_BT_RSP_MAX);
			break;
		case O_HANDLERS:
			opts.nhandlers = bench_list("--handlers", optarg,
			    opts.handlers, 8, 1, 4096);
			handlers = true;
			break;
		case O_REGS:
			opts.nregs = bench_num("--registrations", optarg, 1,
			    60000);
			regs = true;
			break;
		case O_ONLY:
			bench_only(optarg);
			break;
		case O_BROKERD:
			snprintf(opts.brokerd, sizeof(opts.brokerd), "%s",
			    optarg);
			break;
		case O_WRAP:
			opts.wrapper = optarg;
			break;
		case O_KEEP:
			opts.keep = "yes";
			break;
		case 'v':
			opts.verbose++;
			break;
		case 'h':
			bench_usage(stdout, 0);
		default:
			bench_usage(stderr, 64);
		}
	}
	if (optind != argc)
		bench_usage(stderr, 64);
	if (opts.quick) {
		if (!requests)
			opts.requests = 2000;
		if (!regs)
			opts.nregs = 2000;
		(void)handlers;
	}
	if (opts.warmup == UINT32_MAX)
		opts.warmup = opts.requests / 10 > 200 ? opts.requests / 10 :
		    200;
}

static void
bench_cleanup(void)
{
	if (opts.keep != NULL && bench_dir[0] != '\0')
		fprintf(stderr, "ipmi-bench: kept %s\n", bench_dir);
	else
		bench_dir_remove();
}

static void
bench_signal(int sig)
{
	(void)sig;
	/* Our children die with us (PR_SET_PDEATHSIG). */
	exit(130);
}

int
main(int argc, char *argv[])
{
	struct utsname	u;
	size_t		i;
	int		e;

	bench_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, bench_signal);
	signal(SIGTERM, bench_signal);
	bench_raise_nofile();
	if (sched_getaffinity(0, sizeof(bench_cpus), &bench_cpus) < 0)
		CPU_ZERO(&bench_cpus);
	if (opts.pinned && !CPU_ISSET(opts.cpu, &bench_cpus)) {
		fprintf(stderr, "ipmi-bench: CPU %d is not ours to use\n",
		    opts.cpu);
		return 64;
	}
	if ((e = bench_dir_make()) < 0) {
		fprintf(stderr, "ipmi-bench: temporary directory: %s\n",
		    strerror(-e));
		return 1;
	}
	atexit(bench_cleanup);
	bench_product_sizes(&opts, &sizes);
	if (opts.pinned) {
		passes[npasses].pinned = true;
		passes[npasses++].cpu = opts.cpu;
	}
	if (opts.unpinned)
		passes[npasses++].pinned = false;
	for (i = 0; i < npasses; i++)
		bench_pass_run(&passes[i]);
	uname(&u);
	if (opts.json) {
		/* The table goes to stderr: one run gives both. */
		fflush(stdout);
		if ((e = dup(1)) >= 0 && dup2(2, 1) >= 0) {
			bench_print(&u);
			fflush(stdout);
			(void)dup2(e, 1);
		}
		if (e >= 0)
			close(e);
		bench_json(&u);
	} else
		bench_print(&u);
	fflush(stdout);
	for (i = 0; i < npasses; i++)
		if (opts.do_product && !passes[i].ran[T_PRODUCT])
			return 1;
	return 0;
}
