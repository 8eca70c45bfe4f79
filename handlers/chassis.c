/* SPDX-License-Identifier: MIT */
#include <sys/types.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ini.h>

#include <ipmi/ipmiclient.h>

#include "handler-log.h"

/*
 * ipmi-handler-chassis: the Chassis netfn (0x00) of a BMC that manages one
 * machine.
 *
 * It keeps the chassis state a host or ipmitool asks about (power, restore
 * policy, last power event, identify, the system boot options that
 * `ipmitool chassis bootdev` writes) and carries out Chassis Control. Each
 * control runs the action the config gives it: a shell command (run with
 * /bin/sh -c in its own process group, killed when it overruns its
 * timeout), or, without one, the control of the machine's bus (a QEMU VM
 * bus offers power off, reset, NMI and the ACPI power button; it has no
 * power on). A control with no action is refused with 0xCC, which is what
 * the specification says of an unsupported control option.
 *
 * The host's request is answered FIRST and the action runs after: the
 * broker keeps the order of what one handler sends, so the answer reaches
 * the host before its machine resets. The action then can only be
 * logged if it fails, and sets the "power control fault" bit of Get Chassis
 * Status. Commands run asynchronously: a child process watched through a
 * signalfd and a timerfd in the same poll() loop as the library's fd, so
 * the handler keeps answering while one runs. One action at a time: a
 * control arriving while one runs gets 0xC0 (busy).
 *
 * The only peer is the broker. Request bytes are the host's and checked
 * against the command table; the config is trusted (it names commands to
 * run). The command functions take bytes and return bytes and never call
 * the library, so the unit tests run them without a broker.
 */

#define CHASSIS_NETFN		0x00
#define CHASSIS_DEFAULT_CONFIG	"/etc/ipmi-broker/chassis-handler.conf"
#define CHASSIS_RSP_MAX		32
#define CHASSIS_BUS_MAX		32
#define CHASSIS_TIMEOUT_DEFAULT	30	/* seconds a command may run */
#define CHASSIS_TIMEOUT_MAX	3600
#define CHASSIS_IDENTIFY_DEFAULT 15	/* seconds, when no interval given */

/* Chassis commands (IPMI 2.0, table G-1). */
#define CHASSIS_GET_CAPABILITIES	0x00
#define CHASSIS_GET_STATUS		0x01
#define CHASSIS_CONTROL			0x02
#define CHASSIS_IDENTIFY		0x04
#define CHASSIS_SET_POLICY		0x06
#define CHASSIS_GET_RESTART_CAUSE	0x07
#define CHASSIS_SET_BOOT_OPTIONS	0x08
#define CHASSIS_GET_BOOT_OPTIONS	0x09
#define CHASSIS_GET_POH			0x0f

/* Completion codes used here. */
#define IPMI_CC_OK		0x00
#define IPMI_CC_BOOT_UNSUPPORTED 0x80	/* boot options: no such parameter */
#define IPMI_CC_BOOT_IN_PROGRESS 0x81	/* set in progress already */
#define IPMI_CC_BUSY		0xc0
#define IPMI_CC_INVALID_CMD	0xc1
#define IPMI_CC_BAD_LENGTH	0xc7
#define IPMI_CC_INVALID_FIELD	0xcc

#define IPMI_BMC_ADDRESS	0x20

/* Chassis Control operations, request byte 0 bits 3:0. */
enum chassis_op {
	CHASSIS_POWER_DOWN,
	CHASSIS_POWER_UP,
	CHASSIS_POWER_CYCLE,
	CHASSIS_HARD_RESET,
	CHASSIS_DIAG_INTERRUPT,
	CHASSIS_SOFT_SHUTDOWN,
	CHASSIS_NOPS
};

/* Config key, environment value and bus control of each operation. */
static const struct chassis_op_info {
	const char	*name;
	int		 bus_op;	/* enum ipmic_control, -1 none */
	int		 power_after;	/* 1 on, 0 off, -1 unchanged */
} chassis_ops[CHASSIS_NOPS] = {
	[CHASSIS_POWER_DOWN] =	   { "power_down", IPMIC_CONTROL_POWER_OFF, 0 },
	[CHASSIS_POWER_UP] =	   { "power_up", -1, 1 },
	/* A VM has no power on: a cycle is a reset there. */
	[CHASSIS_POWER_CYCLE] =	   { "power_cycle", IPMIC_CONTROL_RESET, 1 },
	[CHASSIS_HARD_RESET] =	   { "hard_reset", IPMIC_CONTROL_RESET, 1 },
	[CHASSIS_DIAG_INTERRUPT] = { "diag_interrupt", IPMIC_CONTROL_NMI, -1 },
	[CHASSIS_SOFT_SHUTDOWN] =  { "soft_shutdown",
				     IPMIC_CONTROL_SOFT_SHUTDOWN, 0 },
};

/* Power restore policy, Get Chassis Status byte 1 bits 6:5. */
#define CHASSIS_POLICY_ALWAYS_OFF	0
#define CHASSIS_POLICY_PREVIOUS		1
#define CHASSIS_POLICY_ALWAYS_ON	2
#define CHASSIS_POLICY_UNKNOWN		3
#define CHASSIS_POLICY_SUPPORTED	0x07	/* all three */

/* Get Chassis Status bits. */
#define CHASSIS_ST_POWER_ON		0x01
#define CHASSIS_ST_CONTROL_FAULT	0x10
#define CHASSIS_EV_BY_COMMAND		0x10	/* last power event byte */
#define CHASSIS_IDENTIFY_SUPPORTED	0x40	/* misc byte bit 6 */
#define CHASSIS_IDENTIFY_OFF		0
#define CHASSIS_IDENTIFY_TIMED		1
#define CHASSIS_IDENTIFY_FORCED		2

/* System restart causes (Get System Restart Cause). */
#define CHASSIS_CAUSE_UNKNOWN		0
#define CHASSIS_CAUSE_COMMAND		1

/*
 * System boot options: the parameters kept, each with its length. 0 is
 * "set in progress", 3 the valid-bit clearing mask, 4 the boot info
 * acknowledge (a write mask and data), 5 the boot flags that `ipmitool
 * chassis bootdev` sets. Parameter 7 (the boot initiator mailbox) is not
 * kept and answers 0x80, as the specification allows.
 */
#define BOOT_PARAM_VERSION	0x01
#define BOOT_PARAM_INVALID	0x80	/* request and answer byte, bit 7 */
#define BOOT_PARAM_MASK		0x7f
#define BOOT_IN_PROGRESS	0
#define BOOT_INFO_ACK		4
#define BOOT_FLAGS		5
#define BOOT_NPARAMS		7
#define BOOT_DATA_MAX		9
#define BOOT_SET_COMPLETE	0
#define BOOT_SET_IN_PROGRESS	1
#define BOOT_COMMIT_WRITE	2

static const uint8_t chassis_boot_len[BOOT_NPARAMS] = {
	[0] = 1, [1] = 1, [2] = 1, [3] = 1, [4] = 2, [5] = 5, [6] = 9,
};

struct chassis_boot_param {
	uint8_t		data[BOOT_DATA_MAX];
	bool		invalid;	/* "mark parameter invalid/locked" */
};

struct chassis_config {
	char		*command[CHASSIS_NOPS];	/* NULL: none */
	unsigned int	 timeout_s;
	bool		 bus_control;
	char		 machine_bus[CHASSIS_BUS_MAX];	/* "": the request's */
	char		 reset_bus[CHASSIS_BUS_MAX];	/* "": none */
	bool		 power_on;
	uint8_t		 policy;
};

/* An action to run once the request is answered. */
enum chassis_plan { CHASSIS_PLAN_NONE, CHASSIS_PLAN_COMMAND,
    CHASSIS_PLAN_BUS };

struct chassis_state {
	struct chassis_config	 cfg;
	bool			 power_on;
	uint8_t			 policy;
	uint8_t			 last_event;
	bool			 control_fault;
	uint8_t			 restart_cause;
	uint8_t			 restart_channel;
	bool			 identify_forced;
	int64_t			 identify_until_ms;
	int64_t			 on_since_ms;	/* while power is on */
	uint64_t		 on_total_ms;	/* before on_since_ms */
	struct chassis_boot_param boot[BOOT_NPARAMS];

	/* What the last Chassis Control asked to do after the answer. */
	enum chassis_plan	 plan;
	enum chassis_op		 plan_op;
	char			 plan_bus[CHASSIS_BUS_MAX];
	/* The bus control waiting for CHASSIS_BUS_DELAY_MS to pass. */
	enum chassis_op		 act_op;
	char			 act_bus[CHASSIS_BUS_MAX];

	/* The running command or bus control, if any. */
	bool			 bus_busy;
	pid_t			 child;
	enum chassis_op		 child_op;
	int64_t			 child_deadline_ms;
	bool			 child_killed;

	struct ipmic		*client;
	int			 timer_fd;
	int			 delay_fd;	/* bus control after the answer */
	int			 signal_fd;
	int			 verbose;
};

typedef uint8_t chassis_cmd_fn(struct chassis_state *,
    const struct ipmic_request *, uint8_t *rsp, size_t *rsp_len);

static chassis_cmd_fn chassis_get_capabilities;
static chassis_cmd_fn chassis_get_status;
static chassis_cmd_fn chassis_control;
static chassis_cmd_fn chassis_identify;
static chassis_cmd_fn chassis_set_policy;
static chassis_cmd_fn chassis_get_restart_cause;
static chassis_cmd_fn chassis_set_boot_options;
static chassis_cmd_fn chassis_get_boot_options;
static chassis_cmd_fn chassis_get_poh;

/* The commands served, with the request data lengths each accepts. */
static const struct chassis_cmd {
	uint8_t		 cmd;
	uint8_t		 min_len;
	uint8_t		 max_len;
	chassis_cmd_fn	*fn;
	const char	*name;
} chassis_cmds[] = {
	{ CHASSIS_GET_CAPABILITIES,  0, 0, chassis_get_capabilities,
	  "capabilities" },
	{ CHASSIS_GET_STATUS,        0, 0, chassis_get_status, "status" },
	{ CHASSIS_CONTROL,           1, 1, chassis_control, "control" },
	{ CHASSIS_IDENTIFY,          0, 2, chassis_identify, "identify" },
	{ CHASSIS_SET_POLICY,        1, 1, chassis_set_policy, "policy" },
	{ CHASSIS_GET_RESTART_CAUSE, 0, 0, chassis_get_restart_cause,
	  "restart cause" },
	{ CHASSIS_SET_BOOT_OPTIONS,  1, 1 + BOOT_DATA_MAX,
	  chassis_set_boot_options, "set boot options" },
	{ CHASSIS_GET_BOOT_OPTIONS,  3, 3, chassis_get_boot_options,
	  "get boot options" },
	{ CHASSIS_GET_POH,           0, 0, chassis_get_poh, "poh" },
};
#define CHASSIS_NCMDS	(sizeof(chassis_cmds) / sizeof(chassis_cmds[0]))

static struct chassis_state chassis = { .timer_fd = -1, .signal_fd = -1,
    .delay_fd = -1, .child = -1 };

/*
 * How long a bus control waits after the answer. The broker sends the
 * answer first, but QEMU stops or resets the VM the moment the control
 * arrives, before the guest's driver has read the answer out of its
 * interface: without a pause ipmitool never sees "Chassis Power Control:
 * Down/Off". Half a second is ample for any host driver and still reads
 * as "at once" to a person.
 */
#define CHASSIS_BUS_DELAY_MS	500

static void	chassis_usage(void) __attribute__((noreturn));
static void	chassis_log(int, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	chassis_log_lib(enum ipmic_log_level, const char *, void *);
static int64_t	chassis_now_ms(void);
static void	chassis_init(struct chassis_state *);
static int	chassis_config_load(const char *, struct chassis_config *);
static int	chassis_config_read(FILE *, const char *,
		    struct chassis_config *, char *, size_t);
static void	chassis_config_free(struct chassis_config *);
static int	chassis_open_fds(struct chassis_state *);
static int	chassis_signalled(struct chassis_state *, bool *);
static int	chassis_connect(struct chassis_state *, const char *);
static int	chassis_register_all(struct chassis_state *);
static int	chassis_loop(struct chassis_state *);
static void	chassis_request(struct ipmic *, struct ipmic_request *,
		    void *);
static void	chassis_bus_event(struct ipmic *, enum ipmic_bus_event,
		    const char *, void *);
static uint8_t	chassis_handle(struct chassis_state *,
		    const struct ipmic_request *, uint8_t *, size_t *);
static void	chassis_act(struct chassis_state *);
static void	chassis_bus_act(struct chassis_state *);
static int	chassis_spawn(struct chassis_state *, enum chassis_op);
static void	chassis_reap(struct chassis_state *);
static void	chassis_timer(struct chassis_state *);
static void	chassis_done(struct chassis_state *, enum chassis_op, bool);
static void	chassis_set_power(struct chassis_state *, bool);

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "socket",	required_argument,	NULL, 's' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	const char	*config = CHASSIS_DEFAULT_CONFIG, *socket = NULL;
	int		 ch, rv, status = 1;

	while ((ch = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 's':
			socket = optarg;
			break;
		case 'v':
			chassis.verbose = 1;
			break;
		default:
			chassis_usage();
		}
	}
	if (optind != argc)
		chassis_usage();

	if (chassis_config_load(config, &chassis.cfg) != 0)
		return 1;
	chassis_init(&chassis);
	if (chassis_open_fds(&chassis) != 0)
		goto out;
	if ((rv = chassis_connect(&chassis, socket)) != 0) {
		if (rv == 1)		/* a signal came first */
			status = 0;
		goto out;
	}
	if (chassis_register_all(&chassis) != 0)
		goto out;
	if (chassis_loop(&chassis) == 0)
		status = 0;
out:
	chassis.client = ipmic_free(chassis.client);
	if (chassis.child > 0) {
		/* Don't leave a half-done power action behind unwatched. */
		kill(-chassis.child, SIGKILL);
		waitpid(chassis.child, NULL, 0);
	}
	if (chassis.timer_fd != -1)
		close(chassis.timer_fd);
	if (chassis.delay_fd != -1)
		close(chassis.delay_fd);
	if (chassis.signal_fd != -1)
		close(chassis.signal_fd);
	chassis_config_free(&chassis.cfg);
	return status;
}

static void
chassis_usage(void)
{
	fprintf(stderr, "usage: ipmi-handler-chassis [-v] [-c config] "
	    "[--socket path]\n");
	exit(1);
}

static void
chassis_log(int level, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	handler_vlog("ipmi-handler-chassis", chassis.verbose, level, fmt, ap);
	va_end(ap);
}

static void
chassis_log_lib(enum ipmic_log_level level, const char *msg, void *arg)
{
	chassis_log(level, "%s", msg);
}

static int64_t
chassis_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The state at start, from the config. */
static void
chassis_init(struct chassis_state *st)
{
	st->policy = st->cfg.policy;
	st->power_on = false;
	chassis_set_power(st, st->cfg.power_on);
	st->last_event = 0;
	st->restart_cause = CHASSIS_CAUSE_UNKNOWN;
	/* Boot info acknowledge: nobody has handled the boot info yet. */
	st->boot[BOOT_INFO_ACK].data[1] = 0x1f;
}

/* Track power-on time for Get POH Counter. */
static void
chassis_set_power(struct chassis_state *st, bool on)
{
	int64_t	now = chassis_now_ms();

	if (st->power_on && !on)
		st->on_total_ms += now - st->on_since_ms;
	if (!st->power_on && on)
		st->on_since_ms = now;
	st->power_on = on;
}

/* SIGTERM, SIGINT and SIGCHLD arrive on a signalfd, so poll() sees them. */
static int
chassis_open_fds(struct chassis_state *st)
{
	sigset_t	mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1 ||
	    (st->signal_fd = signalfd(-1, &mask,
	    SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		chassis_log(IPMIC_LOG_ERR, "signalfd: %s", strerror(errno));
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	st->timer_fd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC);
	if (st->timer_fd == -1) {
		chassis_log(IPMIC_LOG_ERR, "timerfd: %s", strerror(errno));
		return -1;
	}
	st->delay_fd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC);
	if (st->delay_fd == -1) {
		chassis_log(IPMIC_LOG_ERR, "timerfd: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Read what the signalfd holds: returns 1 when SIGTERM or SIGINT came
 * (and says so), 0 otherwise. A SIGCHLD sets *child.
 */
static int
chassis_signalled(struct chassis_state *st, bool *child)
{
	struct signalfd_siginfo	si;
	int			quit = 0;

	while (read(st->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			if (child != NULL)
				*child = true;
			continue;
		}
		chassis_log(IPMIC_LOG_INFO, "exiting on signal %u",
		    si.ssi_signo);
		quit = 1;
	}
	return quit;
}

/*
 * Connect, retrying in short steps so that SIGTERM stops a long wait.
 * Returns 0, 1 when a signal came first, or -1.
 */
static int
chassis_connect(struct chassis_state *st, const char *socket)
{
	int	rv, quit = 0;

	if ((st->client = ipmic_new("chassis")) == NULL) {
		chassis_log(IPMIC_LOG_ERR, "ipmic_new: %s", strerror(errno));
		return -1;
	}
	ipmic_set_log(st->client, chassis_log_lib, NULL);
	ipmic_set_bus_event(st->client, chassis_bus_event, st);
	if (socket != NULL &&
	    (rv = ipmic_set_socket(st->client, socket)) != 0) {
		chassis_log(IPMIC_LOG_ERR, "socket %s: %s", socket,
		    ipmic_strerror(rv));
		return -1;
	}
	do {
		rv = ipmic_connect(st->client, 1000);
	} while (rv == -ETIMEDOUT && !(quit = chassis_signalled(st, NULL)));
	if (quit)
		return 1;
	if (rv != 0)
		chassis_log(IPMIC_LOG_ERR, "connect: %s", ipmic_strerror(rv));
	return rv == 0 ? 0 : -1;
}

/* Register every row of chassis_cmds[] on LUN 0 of every channel. */
static int
chassis_register_all(struct chassis_state *st)
{
	struct ipmic_key	key;
	struct ipmic_error	err;
	size_t			i;
	int			rv;

	for (i = 0; i < CHASSIS_NCMDS; i++) {
		memset(&key, 0, sizeof(key));
		key.netfn = CHASSIS_NETFN;
		key.cmd = chassis_cmds[i].cmd;
		key.lun_mask = 1 << 0;
		memset(&err, 0, sizeof(err));
		rv = ipmic_register(st->client, &key, 0, chassis_request, st,
		    &err);
		if (rv == IPMIC_E_CONFLICT) {
			chassis_log(IPMIC_LOG_ERR, "register 0x%02x/0x%02x "
			    "(%s): held by %s[%u]: %s", key.netfn, key.cmd,
			    chassis_cmds[i].name, err.holder_name,
			    err.holder_pid, err.message);
			return -1;
		}
		if (rv != 0) {
			chassis_log(IPMIC_LOG_ERR, "register 0x%02x/0x%02x "
			    "(%s): %s%s%s", key.netfn, key.cmd,
			    chassis_cmds[i].name, ipmic_strerror(rv),
			    rv > 0 ? ": " : "", rv > 0 ? err.message : "");
			return -1;
		}
	}
	return 0;
}

/*
 * The event loop: the library's fd (stable across reconnects), the
 * command timeout timer and the signals. Returns 0 on SIGTERM/SIGINT.
 */
static int
chassis_loop(struct chassis_state *st)
{
	struct pollfd	pfd[4];
	bool		child;
	int		rv;

	chassis_log(IPMIC_LOG_INFO, "serving %zu chassis commands, power %s",
	    CHASSIS_NCMDS, st->power_on ? "on" : "off");
	pfd[0].fd = ipmic_fd(st->client);
	pfd[1].fd = st->timer_fd;
	pfd[2].fd = st->signal_fd;
	pfd[3].fd = st->delay_fd;
	pfd[0].events = pfd[1].events = pfd[2].events = pfd[3].events =
	    POLLIN;
	for (;;) {
		if (poll(pfd, 4, -1) == -1) {
			if (errno == EINTR)
				continue;
			chassis_log(IPMIC_LOG_ERR, "poll: %s", strerror(errno));
			return -1;
		}
		child = false;
		if (pfd[2].revents & POLLIN && chassis_signalled(st, &child))
			return 0;
		if (child)
			chassis_reap(st);
		if (pfd[1].revents & POLLIN)
			chassis_timer(st);
		if (pfd[3].revents & POLLIN)
			chassis_bus_act(st);
		if (pfd[0].revents & POLLIN &&
		    (rv = ipmic_dispatch(st->client)) < 0) {
			chassis_log(IPMIC_LOG_ERR, "dispatch: %s",
			    ipmic_strerror(rv));
			return -1;
		}
	}
}

/* The library's request callback: answer first, then act. */
static void
chassis_request(struct ipmic *c, struct ipmic_request *req, void *arg)
{
	struct chassis_state	*st = arg;
	uint8_t			 rsp[CHASSIS_RSP_MAX];
	size_t			 len;
	uint8_t			 cmd = req->cmd, cc;
	int			 rv;

	st->plan = CHASSIS_PLAN_NONE;
	cc = chassis_handle(st, req, rsp, &len);
	chassis_log(IPMIC_LOG_DEBUG, "cmd 0x%02x on %s channel %u, %zu "
	    "bytes: cc 0x%02x, %zu bytes", cmd, req->facts.bus, req->channel,
	    req->len, cc, len);
	if ((rv = ipmic_reply(req, cc, rsp, len)) < 0)
		chassis_log(IPMIC_LOG_WARN, "cmd 0x%02x: reply: %s", cmd,
		    ipmic_strerror(rv));
	/* req is gone; the plan holds what the action needs. */
	if (st->plan != CHASSIS_PLAN_NONE)
		chassis_act(st);
}

/* A host reset seen by a bus: the machine is running. */
static void
chassis_bus_event(struct ipmic *c, enum ipmic_bus_event ev, const char *bus,
    void *arg)
{
	struct chassis_state	*st = arg;

	if (ev != IPMIC_BUS_HOST_RESET)
		return;
	chassis_log(IPMIC_LOG_DEBUG, "host reset on %s", bus);
	if (!st->power_on)
		chassis_set_power(st, true);
}

static const struct chassis_cmd *
chassis_cmd_find(uint8_t cmd)
{
	size_t	i;

	for (i = 0; i < CHASSIS_NCMDS; i++)
		if (chassis_cmds[i].cmd == cmd)
			return &chassis_cmds[i];
	return NULL;
}

/* Check the request against its table row and run the command. */
static uint8_t
chassis_handle(struct chassis_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	const struct chassis_cmd	*cmd;
	uint8_t				 cc;

	*rsp_len = 0;
	if ((cmd = chassis_cmd_find(req->cmd)) == NULL)
		return IPMI_CC_INVALID_CMD;
	if (req->len < cmd->min_len || req->len > cmd->max_len)
		return IPMI_CC_BAD_LENGTH;
	cc = cmd->fn(st, req, rsp, rsp_len);
	if (cc != IPMI_CC_OK) {
		*rsp_len = 0;
		st->plan = CHASSIS_PLAN_NONE;
	}
	return cc;
}

/*
 * Get Chassis Capabilities: no intrusion sensor, lockout, diagnostic
 * interrupt or interlock flags; the BMC itself holds FRU, SDR, SEL and
 * system management.
 */
static uint8_t
chassis_get_capabilities(struct chassis_state *st,
    const struct ipmic_request *req, uint8_t *rsp, size_t *rsp_len)
{
	rsp[0] = 0x00;
	rsp[1] = IPMI_BMC_ADDRESS;	/* FRU info device */
	rsp[2] = IPMI_BMC_ADDRESS;	/* SDR device */
	rsp[3] = IPMI_BMC_ADDRESS;	/* SEL device */
	rsp[4] = IPMI_BMC_ADDRESS;	/* system management device */
	*rsp_len = 5;
	return IPMI_CC_OK;
}

static uint8_t
chassis_identify_state(const struct chassis_state *st)
{
	if (st->identify_forced)
		return CHASSIS_IDENTIFY_FORCED;
	if (st->identify_until_ms > chassis_now_ms())
		return CHASSIS_IDENTIFY_TIMED;
	return CHASSIS_IDENTIFY_OFF;
}

/*
 * Get Chassis Status: power state, fault and policy; the last power event
 * (bit 4: turned on by a command); misc state with the identify state in
 * bits 5:4 and bit 6 saying it is reported; no front panel buttons.
 */
static uint8_t
chassis_get_status(struct chassis_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	rsp[0] = (st->power_on ? CHASSIS_ST_POWER_ON : 0) |
	    (st->control_fault ? CHASSIS_ST_CONTROL_FAULT : 0) |
	    (st->policy & 0x03) << 5;
	rsp[1] = st->last_event;
	rsp[2] = CHASSIS_IDENTIFY_SUPPORTED | chassis_identify_state(st) << 4;
	rsp[3] = 0x00;
	*rsp_len = 4;
	return IPMI_CC_OK;
}

/*
 * Chassis Control: decide now whether the operation can be carried out,
 * so that the answer tells the truth; chassis_act() does it after the
 * answer has gone. A command from the config wins; else the control of
 * the machine's bus, which is config's machine_bus or the bus the request
 * came on (never the "ctl" and "internal" pseudo-buses, which have no
 * machine). Whether a bus really offers a control shows only when it is
 * tried, so that failure is logged after the answer.
 */
static uint8_t
chassis_control(struct chassis_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	const char	*bus = st->cfg.machine_bus;
	uint8_t		 op = req->data[0] & 0x0f;

	if ((req->data[0] & 0xf0) != 0 || op >= CHASSIS_NOPS)
		return IPMI_CC_INVALID_FIELD;
	if (st->child > 0 || st->bus_busy)
		return IPMI_CC_BUSY;
	if (bus[0] == '\0' && strcmp(req->facts.bus, "ctl") != 0 &&
	    strcmp(req->facts.bus, "internal") != 0)
		bus = req->facts.bus;
	st->plan_op = op;
	if (st->cfg.command[op] != NULL)
		st->plan = CHASSIS_PLAN_COMMAND;
	else if (st->cfg.bus_control && chassis_ops[op].bus_op >= 0 &&
	    bus[0] != '\0') {
		st->plan = CHASSIS_PLAN_BUS;
		snprintf(st->plan_bus, sizeof(st->plan_bus), "%s", bus);
	} else
		return IPMI_CC_INVALID_FIELD;
	st->restart_channel = req->channel;
	return IPMI_CC_OK;
}

/*
 * Chassis Identify: [interval seconds, default 15; 0 turns it off]
 * [bit 0: force on until told otherwise]. The state shows in Get Chassis
 * Status; light an LED from here if the board has one.
 */
static uint8_t
chassis_identify(struct chassis_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	unsigned int	secs = CHASSIS_IDENTIFY_DEFAULT;

	if (req->len == 2 && (req->data[1] & 0xfe) != 0)
		return IPMI_CC_INVALID_FIELD;
	if (req->len >= 1)
		secs = req->data[0];
	st->identify_forced = req->len == 2 && (req->data[1] & 0x01);
	st->identify_until_ms = secs == 0 ? 0 :
	    chassis_now_ms() + (int64_t)secs * 1000;
	return IPMI_CC_OK;
}

/*
 * Set Power Restore Policy: 0 always off, 1 previous, 2 always on, 3 no
 * change; the answer lists the policies supported. The policy is only
 * kept and reported: applying it when power returns is the board's job.
 */
static uint8_t
chassis_set_policy(struct chassis_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	uint8_t	policy = req->data[0];

	if (policy > CHASSIS_POLICY_UNKNOWN)
		return IPMI_CC_INVALID_FIELD;
	if (policy != CHASSIS_POLICY_UNKNOWN)	/* 3: just ask */
		st->policy = policy;
	rsp[0] = CHASSIS_POLICY_SUPPORTED;
	*rsp_len = 1;
	return IPMI_CC_OK;
}

static uint8_t
chassis_get_restart_cause(struct chassis_state *st,
    const struct ipmic_request *req, uint8_t *rsp, size_t *rsp_len)
{
	rsp[0] = st->restart_cause;
	rsp[1] = st->restart_cause == CHASSIS_CAUSE_COMMAND ?
	    st->restart_channel & 0x0f : 0;
	*rsp_len = 2;
	return IPMI_CC_OK;
}

/* Parameter 0: complete, in progress (not twice: 0x81), commit write. */
static uint8_t
chassis_boot_progress(struct chassis_state *st, uint8_t value)
{
	uint8_t	*state = &st->boot[BOOT_IN_PROGRESS].data[0];

	switch (value & 0x03) {
	case BOOT_SET_COMPLETE:
		*state = BOOT_SET_COMPLETE;
		return IPMI_CC_OK;
	case BOOT_SET_IN_PROGRESS:
		if (*state == BOOT_SET_IN_PROGRESS)
			return IPMI_CC_BOOT_IN_PROGRESS;
		*state = BOOT_SET_IN_PROGRESS;
		return IPMI_CC_OK;
	case BOOT_COMMIT_WRITE:
		/* Writes take effect at once: nothing to roll back. */
		*state = BOOT_SET_COMPLETE;
		return IPMI_CC_OK;
	default:
		return IPMI_CC_INVALID_FIELD;
	}
}

/*
 * Set System Boot Options: [bit 7 mark invalid | parameter] [data]. Each
 * kept parameter takes exactly its length. Boot info acknowledge writes
 * only the data bits its mask (first byte) selects.
 */
static uint8_t
chassis_set_boot_options(struct chassis_state *st,
    const struct ipmic_request *req, uint8_t *rsp, size_t *rsp_len)
{
	struct chassis_boot_param	*p;
	uint8_t				 param = req->data[0] & BOOT_PARAM_MASK;
	size_t				 len = req->len - 1;
	const uint8_t			*d = req->data + 1;

	if (param >= BOOT_NPARAMS)
		return IPMI_CC_BOOT_UNSUPPORTED;
	if (len != chassis_boot_len[param])
		return IPMI_CC_BAD_LENGTH;
	p = &st->boot[param];
	if (param == BOOT_IN_PROGRESS)
		return chassis_boot_progress(st, d[0]);
	if (param == BOOT_INFO_ACK)
		p->data[1] = (p->data[1] & ~d[0]) | (d[1] & d[0]);
	else
		memcpy(p->data, d, len);
	p->invalid = (req->data[0] & BOOT_PARAM_INVALID) != 0;
	return IPMI_CC_OK;
}

/*
 * Get System Boot Options: [parameter] [set selector] [block selector].
 * The answer is [version 1] [bit 7 invalid | parameter] [data]; the boot
 * info acknowledge's write mask reads as 0.
 */
static uint8_t
chassis_get_boot_options(struct chassis_state *st,
    const struct ipmic_request *req, uint8_t *rsp, size_t *rsp_len)
{
	const struct chassis_boot_param	*p;
	uint8_t				 param = req->data[0] & BOOT_PARAM_MASK;
	size_t				 len;

	if (req->data[0] & BOOT_PARAM_INVALID)	/* reserved in a Get */
		return IPMI_CC_INVALID_FIELD;
	if (param >= BOOT_NPARAMS)
		return IPMI_CC_BOOT_UNSUPPORTED;
	p = &st->boot[param];
	len = chassis_boot_len[param];
	rsp[0] = BOOT_PARAM_VERSION;
	rsp[1] = param | (p->invalid ? BOOT_PARAM_INVALID : 0);
	memcpy(rsp + 2, p->data, len);
	if (param == BOOT_INFO_ACK)
		rsp[2] = 0x00;
	*rsp_len = 2 + len;
	return IPMI_CC_OK;
}

/*
 * Get POH Counter: one count per minute of power on, counted while this
 * handler runs (a board with a real counter would read it here).
 */
static uint8_t
chassis_get_poh(struct chassis_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	uint64_t	ms = st->on_total_ms;
	uint32_t	minutes;

	if (st->power_on)
		ms += chassis_now_ms() - st->on_since_ms;
	minutes = ms / 60000 > UINT32_MAX ? UINT32_MAX : ms / 60000;
	rsp[0] = 1;			/* minutes per count */
	rsp[1] = minutes & 0xff;
	rsp[2] = (minutes >> 8) & 0xff;
	rsp[3] = (minutes >> 16) & 0xff;
	rsp[4] = minutes >> 24;
	*rsp_len = 5;
	return IPMI_CC_OK;
}

/* Carry out the plan of the Chassis Control just answered. */
static void
chassis_act(struct chassis_state *st)
{
	struct itimerspec	its;
	enum chassis_plan	plan = st->plan;

	st->plan = CHASSIS_PLAN_NONE;
	if (plan == CHASSIS_PLAN_COMMAND) {
		if (chassis_spawn(st, st->plan_op) != 0)
			chassis_done(st, st->plan_op, false);
		return;
	}
	if (plan != CHASSIS_PLAN_BUS)
		return;
	/* Busy from now on: another Chassis Control meanwhile gets 0xC0
	 * and cannot change the operation or its bus. */
	st->bus_busy = true;
	snprintf(st->act_bus, sizeof(st->act_bus), "%s", st->plan_bus);
	st->act_op = st->plan_op;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_nsec = CHASSIS_BUS_DELAY_MS * 1000000L;
	if (timerfd_settime(st->delay_fd, 0, &its, NULL) == -1) {
		chassis_log(IPMIC_LOG_WARN, "timerfd: %s", strerror(errno));
		chassis_bus_act(st);
	}
}

/* The pause after the answer is over: act on the machine. */
static void
chassis_bus_act(struct chassis_state *st)
{
	struct ipmic_error	err;
	enum chassis_op		op = st->act_op;
	uint64_t		n;
	int			rv;

	while (read(st->delay_fd, &n, sizeof(n)) == sizeof(n))
		;
	if (!st->bus_busy)
		return;
	memset(&err, 0, sizeof(err));
	rv = ipmic_bus_control(st->client, st->act_bus,
	    (enum ipmic_control)chassis_ops[op].bus_op, &err);
	st->bus_busy = false;
	if (rv != 0)
		chassis_log(IPMIC_LOG_WARN, "%s on bus %s: %s%s%s",
		    chassis_ops[op].name, st->act_bus, ipmic_strerror(rv),
		    rv > 0 && err.message[0] != '\0' ? ": " : "",
		    rv > 0 ? err.message : "");
	else
		chassis_log(IPMIC_LOG_INFO, "%s on bus %s",
		    chassis_ops[op].name, st->act_bus);
	/*
	 * QEMU does not report a reset it was asked for, so tell every
	 * handler ourselves: the new host starts with no attention, queues
	 * or enables.
	 */
	if (rv == 0 && (int)chassis_ops[op].bus_op == IPMIC_CONTROL_RESET)
		(void)ipmic_host_reset(st->client, st->act_bus);
	chassis_done(st, op, rv == 0);
}

/*
 * Start the operation's command: /bin/sh -c COMMAND in its own process
 * group, stdin from /dev/null, IPMI_CHASSIS_CONTROL naming the operation,
 * with the signals we block unblocked again. The timerfd bounds it.
 */
static int
chassis_spawn(struct chassis_state *st, enum chassis_op op)
{
	struct itimerspec	its;
	sigset_t		none;
	pid_t			pid;
	int			fd;

	if ((pid = fork()) == -1) {
		chassis_log(IPMIC_LOG_ERR, "%s: fork: %s",
		    chassis_ops[op].name, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		setpgid(0, 0);
		if ((fd = open("/dev/null", O_RDONLY)) != -1) {
			dup2(fd, STDIN_FILENO);
			if (fd != STDIN_FILENO)
				close(fd);
		}
		setenv("IPMI_CHASSIS_CONTROL", chassis_ops[op].name, 1);
		execl("/bin/sh", "sh", "-c", st->cfg.command[op],
		    (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);	/* both sides, so kill(-pid) works at once */
	st->child = pid;
	st->child_op = op;
	st->child_killed = false;
	st->child_deadline_ms = chassis_now_ms() +
	    (int64_t)st->cfg.timeout_s * 1000;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = st->cfg.timeout_s;
	if (timerfd_settime(st->timer_fd, 0, &its, NULL) == -1)
		chassis_log(IPMIC_LOG_WARN, "timerfd: %s", strerror(errno));
	chassis_log(IPMIC_LOG_INFO, "%s: running command (pid %d)",
	    chassis_ops[op].name, (int)pid);
	return 0;
}

/* SIGCHLD: collect the command, if it is done. */
static void
chassis_reap(struct chassis_state *st)
{
	struct itimerspec	its;
	enum chassis_op		op = st->child_op;
	int			status;
	pid_t			pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != st->child)
			continue;
		st->child = -1;
		memset(&its, 0, sizeof(its));
		timerfd_settime(st->timer_fd, 0, &its, NULL);
		if (st->child_killed)
			chassis_log(IPMIC_LOG_WARN, "%s: command timed out "
			    "after %u s; killed", chassis_ops[op].name,
			    st->cfg.timeout_s);
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			chassis_log(IPMIC_LOG_WARN, "%s: command exited %d",
			    chassis_ops[op].name, WEXITSTATUS(status));
		else if (WIFSIGNALED(status))
			chassis_log(IPMIC_LOG_WARN, "%s: command killed by "
			    "signal %d", chassis_ops[op].name,
			    WTERMSIG(status));
		else
			chassis_log(IPMIC_LOG_INFO, "%s: done",
			    chassis_ops[op].name);
		chassis_done(st, op, !st->child_killed &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
}

/* The command's time is up: kill its whole process group. */
static void
chassis_timer(struct chassis_state *st)
{
	uint64_t	n;

	while (read(st->timer_fd, &n, sizeof(n)) == sizeof(n))
		;
	if (st->child <= 0 || st->child_killed ||
	    chassis_now_ms() < st->child_deadline_ms)
		return;
	st->child_killed = true;
	kill(-st->child, SIGKILL);
}

/*
 * An action ended: on success the power state follows the operation (a
 * power up or cycle by command is the last power event); on failure the
 * "power control fault" bit is set until an action succeeds.
 */
static void
chassis_done(struct chassis_state *st, enum chassis_op op, bool ok)
{
	int	after = chassis_ops[op].power_after;
	int	rv;

	st->control_fault = !ok;
	if (!ok)
		return;
	if (after >= 0)
		chassis_set_power(st, after == 1);
	if (op == CHASSIS_POWER_UP || op == CHASSIS_POWER_CYCLE)
		st->last_event |= CHASSIS_EV_BY_COMMAND;
	if (op == CHASSIS_POWER_UP || op == CHASSIS_POWER_CYCLE ||
	    op == CHASSIS_HARD_RESET)
		st->restart_cause = CHASSIS_CAUSE_COMMAND;
	/* A command reset the host: tell the handlers of its bus. */
	if (st->cfg.reset_bus[0] != '\0' && st->client != NULL &&
	    (op == CHASSIS_POWER_CYCLE || op == CHASSIS_HARD_RESET) &&
	    st->cfg.command[op] != NULL &&
	    (rv = ipmic_host_reset(st->client, st->cfg.reset_bus)) != 0)
		chassis_log(IPMIC_LOG_WARN, "host reset on %s: %s",
		    st->cfg.reset_bus, ipmic_strerror(rv));
}

/* ---- config ---- */

struct chassis_config_ctx {
	struct chassis_config	*cfg;
	const char		*error;
	char			 buf[96];
};

static int
chassis_config_load(const char *path, struct chassis_config *cfg)
{
	char	 err[256];
	FILE	*f;
	int	 rv;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	rv = chassis_config_read(f, path, cfg, err, sizeof(err));
	fclose(f);
	if (rv != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static void
chassis_config_free(struct chassis_config *cfg)
{
	size_t	i;

	for (i = 0; i < CHASSIS_NOPS; i++) {
		free(cfg->command[i]);
		cfg->command[i] = NULL;
	}
}

static int
chassis_parse_bool(const char *s, bool *out)
{
	if (strcmp(s, "yes") == 0 || strcmp(s, "on") == 0 ||
	    strcmp(s, "true") == 0)
		*out = true;
	else if (strcmp(s, "no") == 0 || strcmp(s, "off") == 0 ||
	    strcmp(s, "false") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

/* A [chassis] key. Returns NULL, or what is wrong. */
static const char *
chassis_config_chassis(struct chassis_config *cfg, const char *name,
    const char *value)
{
	static const char *const policies[] = { "always-off", "previous",
	    "always-on" };
	unsigned long	n;
	char		*end;
	size_t		i;

	if (strcmp(name, "power") == 0) {
		if (chassis_parse_bool(value, &cfg->power_on) != 0)
			return "power: expected on or off";
	} else if (strcmp(name, "restore_policy") == 0) {
		for (i = 0; i < 3; i++)
			if (strcmp(value, policies[i]) == 0)
				break;
		if (i == 3)
			return "restore_policy: expected always-off, "
			    "previous or always-on";
		cfg->policy = i;
	} else if (strcmp(name, "command_timeout") == 0) {
		errno = 0;
		n = strtoul(value, &end, 10);
		if (value[0] < '0' || value[0] > '9' || *end != '\0' ||
		    errno != 0 || n < 1 || n > CHASSIS_TIMEOUT_MAX)
			return "command_timeout: expected seconds from 1 "
			    "to 3600";
		cfg->timeout_s = n;
	} else if (strcmp(name, "bus_control") == 0) {
		if (chassis_parse_bool(value, &cfg->bus_control) != 0)
			return "bus_control: expected yes or no";
	} else if (strcmp(name, "machine_bus") == 0 ||
	    strcmp(name, "reset_bus") == 0) {
		if (value[0] == '\0' || strlen(value) >= CHASSIS_BUS_MAX)
			return "bus name: 1 to 31 characters";
		snprintf(name[0] == 'm' ? cfg->machine_bus : cfg->reset_bus,
		    CHASSIS_BUS_MAX, "%s", value);
	} else
		return "unknown key in [chassis]";
	return NULL;
}

/* A [commands] key: an operation name and a shell command. */
static const char *
chassis_config_command(struct chassis_config *cfg, const char *name,
    const char *value)
{
	size_t	i;

	for (i = 0; i < CHASSIS_NOPS; i++)
		if (strcmp(name, chassis_ops[i].name) == 0)
			break;
	if (i == CHASSIS_NOPS)
		return "unknown operation in [commands]: expected "
		    "power_down, power_up, power_cycle, hard_reset, "
		    "diag_interrupt or soft_shutdown";
	if (value[0] == '\0')
		return "empty command";
	free(cfg->command[i]);
	if ((cfg->command[i] = strdup(value)) == NULL)
		return "out of memory";
	return NULL;
}

/* inih callback: returns 1 to go on, 0 for an error at this line. */
static int
chassis_config_set(void *arg, const char *section, const char *name,
    const char *value)
{
	struct chassis_config_ctx	*ctx = arg;
	const char			*error;

	if (strcmp(section, "chassis") == 0)
		error = chassis_config_chassis(ctx->cfg, name, value);
	else if (strcmp(section, "commands") == 0)
		error = chassis_config_command(ctx->cfg, name, value);
	else {
		snprintf(ctx->buf, sizeof(ctx->buf),
		    "unknown section [%.64s]", section);
		error = ctx->buf;
	}
	if (error == NULL)
		return 1;
	if (ctx->error == NULL)
		ctx->error = error;
	return 0;
}

/*
 * Read the config from f. Returns 0, or -1 with "path:line: what" in err.
 * Defaults: power on, policy always-off, 30 s, bus control on, no
 * commands.
 */
static int
chassis_config_read(FILE *f, const char *path, struct chassis_config *cfg,
    char *err, size_t errlen)
{
	struct chassis_config_ctx	ctx;
	int				line;

	chassis_config_free(cfg);
	memset(cfg, 0, sizeof(*cfg));
	cfg->timeout_s = CHASSIS_TIMEOUT_DEFAULT;
	cfg->bus_control = true;
	cfg->power_on = true;
	cfg->policy = CHASSIS_POLICY_ALWAYS_OFF;
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = cfg;
	line = ini_parse_file(f, chassis_config_set, &ctx);
	if (line == 0)
		return 0;
	if (line < 0)
		snprintf(err, errlen, "%s: cannot read the file", path);
	else
		snprintf(err, errlen, "%s:%d: %s", path, line,
		    ctx.error != NULL ? ctx.error : "syntax error");
	chassis_config_free(cfg);
	return -1;
}
