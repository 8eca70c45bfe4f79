/* SPDX-License-Identifier: MIT */
/*
 * ipmi-bench: what its files share. ipmi-bench.c runs the passes and
 * prints; bench-load.c is the host (the load generator on the emulated BT
 * device) and the statistics; bench-proc.c starts and stops processes;
 * bench-product.c runs the real daemon, BT driver and libipmiclient
 * handlers; bench-relay.c the floor of blind relays; bench-dbus.c the
 * OpenBMC-shaped D-Bus bridge and service.
 *
 * Every topology hands the load generator one fd: the host's end of a
 * SOCK_SEQPACKET "device" on which one datagram is one BT frame,
 * [len][netfn<<2|lun][seq][cmd][data] in, the same with the CC after cmd
 * out.
 */
#ifndef BENCH_H
#define BENCH_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_FRAME_MAX		260	/* a BT frame: 1 + 255 bytes */
#define BENCH_BT_REQ_MAX	252	/* request data bytes */
#define BENCH_BT_RSP_MAX	59	/* response data bytes after the CC */
#define BENCH_NETFN		0x30
#define BENCH_CMD		0x00
#define BENCH_NETFN_OEM		0x2e
#define BENCH_IANA_BASE		0x00a000
#define BENCH_MAX_INFLIGHT	64
#define BENCH_TIMEOUT_MS	10000

struct bench_opts {
	bool		 quick;
	bool		 json;
	int		 cpu;		/* CPU of the pinned pass */
	bool		 pinned;	/* run a pinned pass */
	bool		 unpinned;	/* run an unpinned pass */
	uint32_t	 requests;	/* measured per repetition */
	uint32_t	 warmup;	/* unmeasured, before each one */
	uint32_t	 reps;
	uint32_t	 inflight[4];
	size_t		 ninflight;
	size_t		 req_len;	/* request data bytes after cmd */
	size_t		 rsp_len;	/* response data bytes after the CC */
	uint32_t	 nregs;		/* scale: registrations in all */
	uint32_t	 handlers[8];	/* scale: connection counts */
	size_t		 nhandlers;
	bool		 do_product, do_floor, do_dbus, do_scale;
	char		 brokerd[4096];
	const char	*wrapper;	/* command to run ipmi-brokerd under */
	const char	*keep;		/* keep the temp directory */
	int		 verbose;
};

/* A request the host sends: netfn/cmd, and the IANA for netfn 0x2E. */
struct bench_key {
	uint8_t		netfn;
	uint8_t		cmd;
	uint32_t	iana;
};

/* One repetition's outcome. */
struct bench_sample {
	double		p50_us;
	double		p99_us;
	double		p999_us;
	double		rps;
	double		cpu_us;		/* CPU of the topology per request */
	double		cpu_each_us[8];	/* the same, process by process */
	uint64_t	errors;		/* wrong answers (a CC, a size) */
	uint8_t		last_bad_cc;
};

/* Median and spread over repetitions. */
struct bench_stat {
	double		med;
	double		min;
	double		max;
};

struct bench_figure {
	bool		 valid;
	struct bench_stat p50, p99, p999, rps, cpu;
	double		 cpu_each_us[8];	/* medians */
	uint64_t	 errors;
	uint8_t		 bad_cc;
	uint32_t	 reps;
};

/* The load generator's job. */
struct bench_load {
	int			 fd;		/* host end of the device */
	uint32_t		 inflight;	/* 1..BENCH_MAX_INFLIGHT */
	uint32_t		 warmup;
	uint32_t		 count;		/* measured requests */
	size_t			 req_len;
	size_t			 rsp_len;
	bool			 strict;	/* check netfn, cmd, cc, size */
	const struct bench_key	*keys;		/* NULL: BENCH_NETFN/CMD */
	size_t			 nkeys;
	const pid_t		*pids;		/* whose CPU time to count */
	size_t			 npids;
};

/* bench-load.c */
uint64_t bench_now_ns(void);
/* Returns 0, or -errno (-ETIMEDOUT when answers stopped coming). */
int	bench_load_run(const struct bench_load *l, struct bench_sample *s);
/* A few requests until one is answered with CC 0, within timeout_ms. */
int	bench_probe(int fd, const struct bench_key *k, size_t req_len,
	    size_t rsp_len, bool strict, int timeout_ms);
/* Median/min/max over n samples into f. */
void	bench_figure_from(struct bench_figure *f, const struct bench_sample *s,
	    size_t n);
/* Run reps repetitions of l into f; -errno when one failed. */
int	bench_measure(const struct bench_opts *o, struct bench_load *l,
	    struct bench_figure *f);
/* The frame that key k's request i is, and the answer data to it. */
size_t	bench_frame(uint8_t *frame, const struct bench_key *k, uint8_t seq,
	    size_t req_len);
void	bench_key_of(uint32_t i, struct bench_key *k);

/* bench-proc.c */
extern char bench_dir[];	/* the run's temporary directory */
int	bench_dir_make(void);
void	bench_dir_remove(void);
/* Fork; the child runs fn(arg) and exits with its return. It dies with us
 * and keeps only the fds in keep[] (and 0-2). */
pid_t	bench_fork(int (*fn)(void *), void *arg, const int *keep,
	    size_t nkeep);
/* Fork and exec argv with stdout/stderr to logpath, in its own process
 * group, dying with us; keep[] fds stay open (at their numbers). */
pid_t	bench_spawn(char *const argv[], const char *logpath, const int *keep,
	    size_t nkeep);
/* SIGTERM, wait up to ms, then SIGKILL (the group too). -1 accepted. */
void	bench_stop(pid_t pid, int ms);
/* Whether pid exited; its status in *status. */
bool	bench_exited(pid_t pid, int *status);
/* The child of parent whose command line contains what; -1 if none. */
pid_t	bench_find_child(pid_t parent, const char *what);
/* A line "Key:  N kB" of /proc/pid/status, in KiB; -1 if unreadable. */
long	bench_proc_kib(pid_t pid, const char *key);
/* Sum of the CPU time (ns, /proc/PID/schedstat) of pids; each[] (may
 * be NULL) gets every pid's own. */
uint64_t bench_cpu_ns(const pid_t *pids, size_t n, uint64_t *each);
/* Read a line from fd (a pipe) within ms; 0 or -1. */
int	bench_read_line(int fd, char *buf, size_t size, int ms);
void	bench_raise_nofile(void);
void	bench_log(const struct bench_opts *o, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* bench-product.c: the real daemon, BT driver and handlers. */
struct bench_product;
/* Sizes of the product's datagrams on each hop, from its own protobuf
 * code with the values one measured request carries. */
struct bench_sizes {
	size_t	host_req;	/* BT frame host -> driver */
	size_t	bus_req;	/* bus.Request driver -> broker */
	size_t	hnd_req;	/* hnd.Request broker -> handler */
	size_t	hnd_rsp;	/* hnd.Response handler -> broker */
	size_t	bus_rsp;	/* bus.Response broker -> driver */
	size_t	host_rsp;	/* BT frame driver -> host */
};
void	bench_product_sizes(const struct bench_opts *o,
	    struct bench_sizes *sz);
/* Start the daemon and nconn handler connections holding nregs keys
 * (bench_key_of(0..nregs-1)). Returns NULL with the reason logged. */
struct bench_product *bench_product_start(const struct bench_opts *o,
	    uint32_t nconn, uint32_t nregs);
int	bench_product_fd(const struct bench_product *p);
/* Its processes (supervisor, broker, driver, handlers); returns count.
 * The names of the processes of each topology, in pids order. */
size_t	bench_product_pids(const struct bench_product *p, pid_t *pids);
extern const char *bench_product_procs[], *bench_floor_procs[],
	    *bench_dbus_procs[];
pid_t	bench_product_broker(const struct bench_product *p);
long	bench_product_base_kib(const struct bench_product *p);
/* The broker's VmRSS with every handler connected and registered. */
long	bench_product_reg_kib(const struct bench_product *p);
void	bench_product_stop(struct bench_product *p);

/* bench-relay.c: the floor. */
struct bench_floor;
struct bench_floor *bench_floor_start(const struct bench_opts *o,
	    const struct bench_sizes *sz, bool drain);
int	bench_floor_fd(const struct bench_floor *f);
size_t	bench_floor_pids(const struct bench_floor *f, pid_t *pids);
void	bench_floor_stop(struct bench_floor *f);

/* bench-dbus.c: OpenBMC's topology (NULL when built without sd-bus or
 * without dbus-daemon; *why says which). */
struct bench_dbus;
struct bench_dbus *bench_dbus_start(const struct bench_opts *o,
	    const char **why);
int	bench_dbus_fd(const struct bench_dbus *d);
size_t	bench_dbus_pids(const struct bench_dbus *d, pid_t *pids);
void	bench_dbus_stop(struct bench_dbus *d);

#endif /* BENCH_H */
