/* SPDX-License-Identifier: MIT */
/*
 * itest: helpers for integration tests that run the real daemon.
 *
 * A test gets a private directory under /tmp with the config, the runtime
 * directory (sockets) and one log file per process it starts. Processes are
 * started with fork/exec in their own process group, with stdout and stderr
 * in a log file, and die with the test process (PR_SET_PDEATHSIG), so a
 * test killed by its timeout leaves nothing behind. Every wait is bounded:
 * sockets are retried until a deadline, files are watched with inotify,
 * and nothing ever sleeps for a fixed time.
 *
 * Binary paths come from the environment meson sets: IPMI_BROKERD,
 * IPMI_CTL, IPMI_HANDLER_APP, IPMI_HANDLER_OEM and IPMI_SRCDIR.
 *
 * The raw clients (rawh_*, rawc_*) speak the handler and control protocols
 * with proto/wire.h directly, for tests that need what libipmiclient and
 * ipmi-ctl never do: forged ids, garbage, late answers, stalling.
 */
#ifndef ITEST_H
#define ITEST_H

#include <sys/types.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handler.pb-c.h"
#include "control.pb-c.h"

#define ITEST_OUT_MAX	65536

/* Registrations ipmi-handler-app makes with conf/app-handler.conf: 12
 * App commands for the host, plus Platform Event and Send Message on the
 * internal channel. */
#define ITEST_APP_NCMDS	14

/* One daemon (supervisor + broker) and its private directory. */
struct itest_env {
	char	dir[64];		/* private temp directory */
	char	rundir[96];		/* runtime_dir: sockets */
	char	conf[96];		/* the config file */
	char	log[96];		/* the daemon's stderr */
	char	hsock[128];		/* handler socket */
	char	csock[128];		/* control socket */
	pid_t	pid;			/* supervisor, -1 when not running */
};

/* A finished (or abandoned) child's outcome and its captured output. */
struct itest_run {
	pid_t	pid;
	int	outfd;
	int	errfd;
	int	status;			/* exit code, 128+sig, -1 timed out */
	long	elapsed_ms;
	int64_t	start_ms;
	char	out[ITEST_OUT_MAX];
	size_t	outlen;
	char	err[ITEST_OUT_MAX];
	size_t	errlen;
};

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t	itest_now_ms(void);
/* Wait up to ms without doing anything else (poll() on nothing). */
void	itest_pause_ms(int ms);
/* Path of a binary from its environment variable; NULL if unset. */
const char *itest_bin(const char *var);

/* Make env->dir (mode 0755, so other uids reach the sockets) and paths. */
int	itest_env_init(struct itest_env *e);
/* Stop what is still running and remove the directory. Accepts NULL. */
void	itest_env_cleanup(struct itest_env *e);

/* Write text to path (replacing it). */
int	itest_write_file(const char *path, const char *text);
/* Read a whole file into a malloc'd NUL-terminated string (NULL on error). */
char	*itest_read_file(const char *path);
/*
 * Write the config: "[broker]" with runtime_dir and log_level = debug,
 * then extra (printf-style; more [broker] keys first, then sections).
 */
int	itest_write_config(struct itest_env *e, const char *extra, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Start argv[0] with stdout and stderr appended to logpath, in its own
 * process group, dying with us. envp_extra: "NAME=value" strings to set,
 * NULL-terminated, may be NULL. Returns the pid or -1.
 */
pid_t	itest_spawn(const char *logpath, char *const argv[],
	    char *const envp_extra[]);
/* Wait for pid up to timeout_ms; returns the exit code, 128+signal, or -1
 * on timeout (the child is left running). */
int	itest_wait_pid(pid_t pid, int timeout_ms);
/* SIGTERM, wait up to timeout_ms, then SIGKILL its process group. Returns
 * what itest_wait_pid() returned for the SIGTERM wait. */
int	itest_stop_pid(pid_t pid, int timeout_ms);

/* Start the daemon with env->conf and wait until the control socket
 * answers a Hello. Returns 0 or -1 (the log says why). */
int	itest_daemon_start(struct itest_env *e, int timeout_ms);
/* SIGTERM the supervisor, wait; SIGKILL its group if it hangs. Returns its
 * exit code (0 expected), 128+signal, or -1 if it had to be killed. */
int	itest_daemon_stop(struct itest_env *e, int timeout_ms);
/* Whether a control client gets a Welcome within timeout_ms. */
int	itest_ctl_ready(const char *csock, int timeout_ms);

/* Start a handler binary (IPMI_HANDLER_APP...) on env's handler socket
 * with "-c IPMI_SRCDIR/conf/<conf>"; log in env->dir/<tag>.log. */
pid_t	itest_handler_start(struct itest_env *e, const char *binvar,
	    const char *conf, const char *tag);

/*
 * Run ipmi-ctl -s csock ARGS... (NULL-terminated), capturing stdout and
 * stderr, bounded by timeout_ms. itest_ctl() waits for it; _start/_finish
 * split it for requests that must be in flight while the test acts.
 */
int	itest_ctl(struct itest_env *e, struct itest_run *r, int timeout_ms,
	    ...) __attribute__((sentinel));
int	itest_ctl_start(struct itest_env *e, struct itest_run *r, ...)
	    __attribute__((sentinel));
int	itest_run_finish(struct itest_run *r, int timeout_ms);

/*
 * Wait until path contains needle (plain substring), up to timeout_ms,
 * woken by inotify. Returns 0 when found, -1 when the time ran out.
 */
int	itest_wait_file(const char *path, const char *needle, int timeout_ms);
/* Likewise, until needle occurs at least n times. */
int	itest_wait_count(const char *path, const char *needle, int n,
	    int timeout_ms);
/*
 * Whether every *.log in env->dir (daemon, handlers) is free of sanitizer
 * reports ("Sanitizer", "runtime error:"), which do not always change an
 * exit status. Returns 0 if clean, else -1 with the file and the
 * offending line in what.
 */
int	itest_logs_clean(const struct itest_env *e, char *what, size_t len);
/* For criterion tests: fail naming the report. */
#define ITEST_ASSERT_LOGS_CLEAN(e) do {					\
	char	what_[640];						\
									\
	cr_assert_eq(itest_logs_clean((e), what_, sizeof(what_)), 0,	\
	    "sanitizer report in %s: %s", (e)->dir, what_);		\
} while (0)
/* Count non-overlapping occurrences of needle in the file (0 if absent). */
int	itest_file_count(const char *path, const char *needle);

/* Tiny JSON readers for ipmi-ctl --json (flat records, numbers, arrays). */
int	itest_json_u64(const char *js, const char *key, uint64_t *v);
int	itest_json_bytes(const char *js, const char *key, uint8_t *buf,
	    size_t max, size_t *len);
int	itest_count(const char *s, const char *needle);
/* Copy the line of s holding both a and b (b may be NULL); -1 if none. */
int	itest_line_with(const char *s, const char *a, const char *b,
	    char *line, size_t len);

/* ipmi-ctl --json send: cc and data; returns 0 if both parsed. */
int	itest_send_json(struct itest_env *e, struct itest_run *r,
	    unsigned int *cc, uint8_t *data, size_t *len, ...)
	    __attribute__((sentinel));
/* A counter from ipmi-ctl --json stats; returns 0 if found. */
int	itest_counter(struct itest_env *e, const char *name, uint64_t *v);
/* A field of ipmi-ctl --json status; returns 0 if found. */
int	itest_status(struct itest_env *e, const char *key, uint64_t *v);
/* Wait until ipmi-ctl --json list shows handler name n times (n may be 0).
 * Returns 0, or -1 with the last count in *got (may be NULL). */
int	itest_wait_regs(struct itest_env *e, const char *name, int n,
	    int timeout_ms, int *got);

/* ---- raw handler client ---- */

struct rawh {
	int		fd;
	char		name[64];
	uint32_t	version;
	uint32_t	max_payload;
	uint32_t	default_deadline_ms;
	uint32_t	internal_channel;
	uint32_t	broker_pid;
	bool		broker_batches;	/* Welcome said it takes batches */
};

struct rawh_result {
	int		status;		/* Hnd__Status, or -1 no answer */
	uint32_t	tag;
	char		message[512];
	char		holder_name[64];
	uint32_t	holder_pid;
	bool		has_overlap;
	Hnd__Key	overlap;	/* copy; no pointers inside */
};

struct rawh_req {
	uint64_t	id;
	uint32_t	netfn;
	uint32_t	lun;
	uint32_t	cmd;
	uint32_t	channel;
	uint32_t	deadline_ms;
	uint32_t	origin_pid;
	uint8_t		data[4096];
	size_t		len;
	char		bus[64];
};

/* Return values of rawh_recv() and friends. */
#define RAWH_MSG	1	/* got a message */
#define RAWH_TIMEOUT	0	/* nothing in time */
#define RAWH_EOF	(-1)	/* the broker closed the connection */
#define RAWH_ERROR	(-2)	/* socket error or undecodable datagram */
#define RAWH_OTHER	(-3)	/* another message than the one waited for */

/* A key: every LUN and channel unless the masks say otherwise. */
Hnd__Key rawh_key(uint32_t netfn, bool any_cmd, uint32_t cmd);

/* Connect, Hello{1, name}, wait for Welcome. 0 or -1. */
int	rawh_connect(struct rawh *h, const char *sock, const char *name,
	    int timeout_ms);
/* The same, saying in Hello that this client takes batch envelopes. */
int	rawh_connect_batches(struct rawh *h, const char *sock,
	    const char *name, int timeout_ms);
void	rawh_close(struct rawh *h);
/* The next datagram as bytes (buf: WIRE_MSG_MAX + 1): its length, or
 * RAWH_TIMEOUT / RAWH_EOF / RAWH_ERROR. */
ssize_t	rawh_recv_datagram(struct rawh *h, uint8_t *buf, int timeout_ms);
/* Receive one envelope; free it with hnd__envelope__free_unpacked(). */
int	rawh_recv(struct rawh *h, Hnd__Envelope **env, int timeout_ms);
/* Register (or, with default_route, take the default route) and wait for
 * the Result with our tag. Returns the status, or -1. */
int	rawh_register(struct rawh *h, uint32_t tag, const Hnd__Key *k,
	    uint32_t deadline_ms, bool default_route, struct rawh_result *res);
/* Shortcut: netfn/cmd on every LUN and channel; returns the status. */
int	rawh_reg(struct rawh *h, uint32_t netfn, uint32_t cmd);
/* Wait for a Request; RAWH_MSG with *rq filled, or the other codes. */
int	rawh_wait_request(struct rawh *h, struct rawh_req *rq, int timeout_ms);
int	rawh_respond(struct rawh *h, uint64_t id, uint32_t cc,
	    const void *data, size_t len);
int	rawh_send(struct rawh *h, uint32_t tag, uint32_t netfn, uint32_t lun,
	    uint32_t cmd, const void *data, size_t len);
int	rawh_send_raw(struct rawh *h, const void *buf, size_t len);
/*
 * Wait until the broker closes the connection (EOF), remembering a Goodbye
 * reason if one came first. Returns 0 on EOF in time, -1 otherwise.
 */
int	rawh_wait_closed(struct rawh *h, int timeout_ms, char *reason,
	    size_t len);

/*
 * A raw handler in a child process: connects, registers keys (stops at
 * the first refusal), writes "ok\n" or "refused N\n" to the returned pipe,
 * then reports each Request as "req ID\n" and answers it with cc and data
 * unless stall is set. It exits when the test closes *ctl (or dies).
 */
struct rawh_child {
	pid_t	pid;
	int	rfd;		/* reports from the child */
	int	wfd;		/* close to make it exit */
};
int	rawh_child_start(struct rawh_child *c, const char *sock,
	    const char *name, const Hnd__Key *keys, size_t nkeys, bool stall,
	    uint32_t cc, const void *data, size_t len);
/* Read one report line from the child, bounded. 0 or -1. */
int	rawh_child_line(struct rawh_child *c, char *line, size_t len,
	    int timeout_ms);
/* Close the pipes and reap (SIGKILL if it does not go within 2 s). */
void	rawh_child_stop(struct rawh_child *c);

/* ---- raw control client ---- */

struct rawc {
	int	fd;
};

int	rawc_connect(struct rawc *c, const char *sock, int timeout_ms);
void	rawc_close(struct rawc *c);
int	rawc_send(struct rawc *c, uint32_t netfn, uint32_t lun, uint32_t cmd,
	    const void *data, size_t len);
/* Wait for the SendResult; RAWH_MSG with cc/data, or the other codes. */
int	rawc_wait_result(struct rawc *c, int timeout_ms, uint32_t *cc,
	    uint8_t *data, size_t *len);

#endif /* ITEST_H */
