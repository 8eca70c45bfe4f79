/* SPDX-License-Identifier: MIT */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <ini.h>

#include <ipmi/ipmiclient.h>

#include "handler-log.h"

#include "sdr.h"

/*
 * ipmi-handler-sdr-fru: the sensors and the inventory of a BMC.
 *
 * It serves the SDR repository (Storage netfn 0x0A: Get SDR Repository
 * Info, Allocation Info, Reserve, Get SDR), the readings behind its full
 * sensor records (Sensor/Event netfn 0x04: Get Sensor Reading,
 * Thresholds, Hysteresis, Event Enable, Event Status) and FRU inventory
 * devices (Storage: Get FRU Inventory Area Info, Read and Write FRU Data).
 * That is what `ipmitool sdr list`, `sdr get`, `sdr info` and `fru print`
 * ask for.
 *
 * One ini file describes everything: the controller, each sensor in
 * engineering units (the handler compiles them into records at start),
 * and each FRU device as a binary image file (tools/ipmi-fru-build makes
 * one from a readable description). The repository is read-only: records
 * change only when the handler restarts with a new file.
 *
 * Readings come from a file (sysfs hwmon style: one number, scaled to
 * units) or from a command's stdout. They are refreshed in the
 * background, each sensor on its own interval, and answered from the
 * cache: a request never waits for a sensor. A command runs with a
 * timeout, is killed when it overstays, and its sensor then reads
 * "unavailable" until a refresh succeeds.
 *
 * The only peer is the broker. Request bytes are the host's: every
 * command's length is checked against the table before its function runs;
 * offsets and counts are checked against the record or image before any
 * copy. Config file, sensor files and commands are the administrator's.
 */

#define SF_DEFAULT_CONFIG	"/etc/ipmi-broker/sdr-fru-handler.conf"
#define SF_RSP_MAX		272	/* Read FRU Data: count + 255 */

#define SF_NETFN_SENSOR		0x04
#define SF_NETFN_STORAGE	0x0a

/* Storage commands (IPMI 2.0 table G-1). */
#define SF_GET_FRU_INFO		0x10
#define SF_READ_FRU		0x11
#define SF_WRITE_FRU		0x12
#define SF_GET_SDR_INFO		0x20
#define SF_GET_SDR_ALLOC	0x21
#define SF_RESERVE_SDR		0x22
#define SF_GET_SDR		0x23

/* Sensor/Event commands. */
#define SF_GET_HYSTERESIS	0x25
#define SF_GET_THRESHOLDS	0x27
#define SF_GET_EVENT_ENABLE	0x29
#define SF_GET_EVENT_STATUS	0x2b
#define SF_GET_READING		0x2d

/* Completion codes used here. */
#define IPMI_CC_OK		0x00
#define IPMI_CC_WRITE_PROTECTED	0x80	/* Write FRU Data: protected */
#define IPMI_CC_INVALID_CMD	0xc1
#define IPMI_CC_RESERVATION	0xc5
#define IPMI_CC_BAD_LENGTH	0xc7
#define IPMI_CC_OUT_OF_RANGE	0xc9
#define IPMI_CC_TOO_MANY_BYTES	0xca
#define IPMI_CC_NOT_PRESENT	0xcb
#define IPMI_CC_UNSPECIFIED	0xff

#define SF_SDR_READ_ALL		0xff	/* Get SDR: bytes to read = all */
#define SF_RECORD_FIRST		0x0000
#define SF_RECORD_LAST		0xffff
#define SF_SDR_SUPPORT		0x03	/* reserve, allocation info */

/* Get Sensor Reading byte 2. */
#define SF_SCANNING_ENABLED	0x40
#define SF_READING_UNAVAILABLE	0x20

#define SF_SENSORS_MAX		254	/* sensor numbers 1..254 */
#define SF_FRUS_MAX		64
#define SF_READ_MAX		64	/* bytes of a reading we look at */
#define SF_FRU_MIN		8	/* a common header */
#define SF_FRU_MAX		65535	/* Get FRU Inventory Area Info LE16 */
#define SF_WRITE_MAX		255	/* Write FRU Data: a count byte */

#define SF_DEFAULT_INTERVAL_MS	1000
#define SF_DEFAULT_TIMEOUT_MS	500
#define SF_MIN_INTERVAL_MS	50

/* A sensor, its reading source and its cached reading. */
struct sf_sensor {
	struct sdr_sensor sdr;
	char		*file;		/* absolute path, or NULL */
	char		*command;	/* /bin/sh -c, or NULL */
	bool		 raw_source;	/* the source prints the raw byte */
	double		 scale;		/* source number * scale = units */
	uint32_t	 interval_ms;
	uint32_t	 timeout_ms;
	/* The cache. */
	bool		 valid;
	uint8_t		 raw;
	int64_t		 next_ms;	/* next refresh, CLOCK_MONOTONIC */
	/* A running command. */
	pid_t		 pid;		/* -1 when none */
	int		 out_fd;	/* its stdout, -1 once at EOF */
	bool		 reaped;
	int		 status;	/* its wait status once reaped */
	int64_t		 deadline_ms;
	char		 out[SF_READ_MAX + 1];
	size_t		 outlen;
};

/* A FRU device: an image file, kept in memory, written through. */
struct sf_fru {
	uint8_t		 id;
	char		 name[SDR_ID_MAX + 1];
	uint8_t		 entity_id;
	uint8_t		 entity_instance;
	bool		 writable;
	char		*path;
	int		 fd;
	uint8_t		*data;
	size_t		 size;
};

/* A word a config value may use instead of a number. */
struct sf_name {
	const char	*name;
	long		 value;
};

/* One compiled record of the repository. */
struct sf_record {
	uint8_t		 len;
	uint8_t		 data[SDR_RECORD_MAX];
};

struct sf_state {
	struct ipmic		*client;
	int			 verbose;
	int			 timer_fd;
	int			 signal_fd;
	char			 confdir[PATH_MAX];
	bool			 has_mc;
	struct sdr_mc_locator	 mc;
	struct sf_sensor	*sensors;
	size_t			 nsensors;
	struct sf_fru		*frus;
	size_t			 nfrus;
	struct sf_record	*records;	/* record id = index + 1 */
	size_t			 nrecords;
	uint16_t		 reservation;	/* 0: none given yet */
	uint32_t		 add_time;	/* when the records were made */
};

/*
 * A command: it reads the request and writes at most SF_RSP_MAX bytes of
 * response data to rsp, sets *rsp_len and returns the completion code. On
 * a non-zero code no data is sent.
 */
typedef uint8_t sf_cmd_fn(struct sf_state *, const struct ipmic_request *,
    uint8_t *rsp, size_t *rsp_len);

static sf_cmd_fn sf_get_fru_info;
static sf_cmd_fn sf_read_fru;
static sf_cmd_fn sf_write_fru;
static sf_cmd_fn sf_get_sdr_info;
static sf_cmd_fn sf_get_sdr_alloc;
static sf_cmd_fn sf_reserve_sdr;
static sf_cmd_fn sf_get_sdr;
static sf_cmd_fn sf_get_hysteresis;
static sf_cmd_fn sf_get_thresholds;
static sf_cmd_fn sf_get_event_enable;
static sf_cmd_fn sf_get_event_status;
static sf_cmd_fn sf_get_reading;

/* The commands served, with the request data lengths each accepts. */
static const struct sf_cmd {
	uint8_t		 netfn;
	uint8_t		 cmd;
	uint16_t	 min_len;
	uint16_t	 max_len;
	sf_cmd_fn	*fn;
	const char	*name;
} sf_cmds[] = {
	{ SF_NETFN_STORAGE, SF_GET_FRU_INFO,  1, 1, sf_get_fru_info,
	    "fru info" },
	{ SF_NETFN_STORAGE, SF_READ_FRU,      4, 4, sf_read_fru,
	    "read fru" },
	{ SF_NETFN_STORAGE, SF_WRITE_FRU,     4, 3 + SF_WRITE_MAX,
	    sf_write_fru, "write fru" },
	{ SF_NETFN_STORAGE, SF_GET_SDR_INFO,  0, 0, sf_get_sdr_info,
	    "sdr info" },
	{ SF_NETFN_STORAGE, SF_GET_SDR_ALLOC, 0, 0, sf_get_sdr_alloc,
	    "sdr alloc" },
	{ SF_NETFN_STORAGE, SF_RESERVE_SDR,   0, 0, sf_reserve_sdr,
	    "reserve sdr" },
	{ SF_NETFN_STORAGE, SF_GET_SDR,       6, 6, sf_get_sdr,
	    "get sdr" },
	{ SF_NETFN_SENSOR, SF_GET_HYSTERESIS, 2, 2, sf_get_hysteresis,
	    "hysteresis" },
	{ SF_NETFN_SENSOR, SF_GET_THRESHOLDS, 1, 1, sf_get_thresholds,
	    "thresholds" },
	{ SF_NETFN_SENSOR, SF_GET_EVENT_ENABLE, 1, 1, sf_get_event_enable,
	    "event enable" },
	{ SF_NETFN_SENSOR, SF_GET_EVENT_STATUS, 1, 1, sf_get_event_status,
	    "event status" },
	{ SF_NETFN_SENSOR, SF_GET_READING,    1, 1, sf_get_reading,
	    "reading" },
};
#define SF_NCMDS	(sizeof(sf_cmds) / sizeof(sf_cmds[0]))

static struct sf_state sf = { .timer_fd = -1, .signal_fd = -1 };

static void	sf_usage(void) __attribute__((noreturn));
static void	sf_log(int, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	sf_log_lib(enum ipmic_log_level, const char *, void *);
static int	sf_open_fds(struct sf_state *);
static int	sf_connect(struct sf_state *, const char *);
static int	sf_signalled(struct sf_state *);
static int	sf_register_all(struct sf_state *);
static int	sf_loop(struct sf_state *);
static void	sf_request(struct ipmic *, struct ipmic_request *, void *);
static const struct sf_cmd *sf_cmd_find(uint8_t, uint8_t);
static uint8_t	sf_handle(struct sf_state *, const struct ipmic_request *,
		    uint8_t *, size_t *);
static struct sf_sensor *sf_sensor_find(struct sf_state *, uint8_t);
static struct sf_fru *sf_fru_find(struct sf_state *, uint8_t);
static int	sf_records_build(struct sf_state *);
static int	sf_frus_open(struct sf_state *);
static int	sf_fru_open(struct sf_fru *);
static int	sf_fru_store(struct sf_fru *, size_t, const uint8_t *, size_t);
static void	sf_state_free(struct sf_state *);
static int64_t	sf_now_ms(void);
static void	sf_sensors_refresh(struct sf_state *);
static void	sf_sensor_start(struct sf_state *, struct sf_sensor *);
static void	sf_sensor_read_file(struct sf_sensor *);
static void	sf_sensor_spawn(struct sf_state *, struct sf_sensor *);
static void	sf_sensor_output(struct sf_sensor *);
static void	sf_sensor_finish(struct sf_sensor *);
static void	sf_sensor_kill(struct sf_sensor *);
static bool	sf_sensor_update(struct sf_sensor *, const char *);
static void	sf_sensor_mark(struct sf_sensor *, bool, const char *);
static void	sf_reap(struct sf_state *);
static void	sf_timer_arm(struct sf_state *);
static int	sf_config_load(const char *, struct sf_state *);
static int	sf_config_read(FILE *, const char *, struct sf_state *,
		    char *, size_t);
static int	sf_config_set(void *, const char *, const char *,
		    const char *);
static const char *sf_config_section(struct sf_state *, const char *);
static const char *sf_config_mc(struct sf_state *, const char *,
		    const char *);
static const char *sf_config_sensor(struct sf_state *, struct sf_sensor *,
		    const char *, const char *);
static const char *sf_config_sensor_more(struct sf_state *,
		    struct sf_sensor *, const char *, const char *);
static const char *sf_config_fru(struct sf_state *, struct sf_fru *,
		    const char *, const char *);
static const char *sf_config_check(struct sf_state *, char *, size_t);
static char	*sf_path(const struct sf_state *, const char *);
static int	sf_parse_number(const char *, long, long, long *);
static int	sf_parse_double(const char *, double *);
static int	sf_parse_bool(const char *, bool *);
static int	sf_parse_entity(const char *, uint8_t *, uint8_t *);
static int	sf_parse_named(const char *, const struct sf_name *, long,
		    long *);
static int	sf_parse_name(const char *, char *);

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
	const char	*config = SF_DEFAULT_CONFIG, *socket = NULL;
	int		 ch, status = 1;

	while ((ch = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 's':
			socket = optarg;
			break;
		case 'v':
			sf.verbose = 1;
			break;
		default:
			sf_usage();
		}
	}
	if (optind != argc)
		sf_usage();

	if (sf_config_load(config, &sf) != 0 || sf_records_build(&sf) != 0 ||
	    sf_frus_open(&sf) != 0 || sf_open_fds(&sf) != 0)
		goto out;
	sf_sensors_refresh(&sf);	/* files now, commands started */
	if (sf_connect(&sf, socket) != 0) {
		status = sf.client != NULL && sf_signalled(&sf) ? 0 : 1;
		goto out;
	}
	if (sf_register_all(&sf) != 0)
		goto out;
	sf_log(IPMIC_LOG_INFO, "serving %zu records, %zu sensors, %zu FRU "
	    "devices", sf.nrecords, sf.nsensors, sf.nfrus);
	if (sf_loop(&sf) == 0)
		status = 0;
out:
	sf.client = ipmic_free(sf.client);
	sf_state_free(&sf);
	return status;
}

static void
sf_usage(void)
{
	fprintf(stderr, "usage: ipmi-handler-sdr-fru [-v] [-c config] "
	    "[--socket path]\n");
	exit(1);
}

static void
sf_log(int level, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	handler_vlog("ipmi-handler-sdr-fru", sf.verbose, level, fmt, ap);
	va_end(ap);
}

static void
sf_log_lib(enum ipmic_log_level level, const char *msg, void *arg)
{
	sf_log(level, "%s", msg);
}

/*
 * SIGTERM, SIGINT and SIGCHLD (a sensor command ended) arrive on a
 * signalfd; the refresh timer is a timerfd. Both join the poll() loop.
 */
static int
sf_open_fds(struct sf_state *st)
{
	sigset_t	mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1 ||
	    (st->signal_fd = signalfd(-1, &mask,
	    SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		sf_log(IPMIC_LOG_ERR, "signalfd: %s", strerror(errno));
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	st->timer_fd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC);
	if (st->timer_fd == -1) {
		sf_log(IPMIC_LOG_ERR, "timerfd: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Connect, retrying in short steps so that SIGTERM stops a long wait. */
static int
sf_connect(struct sf_state *st, const char *socket)
{
	int	rv;

	if ((st->client = ipmic_new("sdr-fru")) == NULL) {
		sf_log(IPMIC_LOG_ERR, "ipmic_new: %s", strerror(errno));
		return -1;
	}
	ipmic_set_log(st->client, sf_log_lib, NULL);
	if (socket != NULL && (rv = ipmic_set_socket(st->client,
	    socket)) != 0) {
		sf_log(IPMIC_LOG_ERR, "socket %s: %s", socket,
		    ipmic_strerror(rv));
		return -1;
	}
	do {
		rv = ipmic_connect(st->client, 1000);
		if (rv == -ETIMEDOUT && sf_signalled(st))
			return -1;
	} while (rv == -ETIMEDOUT);
	if (rv != 0) {
		sf_log(IPMIC_LOG_ERR, "connect: %s", ipmic_strerror(rv));
		return -1;
	}
	return 0;
}

/*
 * Drain the signalfd: reap ended commands, and say whether SIGTERM or
 * SIGINT came. Once seen, a termination signal stays seen.
 */
static int
sf_signalled(struct sf_state *st)
{
	static int		quit;
	struct signalfd_siginfo	si;

	while (read(st->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			sf_reap(st);
		else if (!quit) {
			sf_log(IPMIC_LOG_INFO, "exiting on signal %u",
			    si.ssi_signo);
			quit = 1;
		}
	}
	return quit;
}

/* Register every row of sf_cmds[] on LUN 0 of every channel. */
static int
sf_register_all(struct sf_state *st)
{
	struct ipmic_key	key;
	struct ipmic_error	err;
	size_t			i;
	int			rv;

	for (i = 0; i < SF_NCMDS; i++) {
		memset(&key, 0, sizeof(key));
		key.netfn = sf_cmds[i].netfn;
		key.cmd = sf_cmds[i].cmd;
		key.lun_mask = 1 << 0;
		memset(&err, 0, sizeof(err));
		rv = ipmic_register(st->client, &key, 0, sf_request, st, &err);
		if (rv == IPMIC_E_CONFLICT) {
			sf_log(IPMIC_LOG_ERR, "register 0x%02x/0x%02x (%s): "
			    "held by %s[%u]: %s", key.netfn, key.cmd,
			    sf_cmds[i].name, err.holder_name, err.holder_pid,
			    err.message);
			return -1;
		}
		if (rv != 0) {
			sf_log(IPMIC_LOG_ERR, "register 0x%02x/0x%02x (%s): "
			    "%s%s%s", key.netfn, key.cmd, sf_cmds[i].name,
			    ipmic_strerror(rv), rv > 0 ? ": " : "",
			    rv > 0 ? err.message : "");
			return -1;
		}
	}
	return 0;
}

/*
 * The event loop: the library's fd, the signals, the refresh timer and
 * the stdout of each running sensor command. Returns 0 on SIGTERM or
 * SIGINT, -1 on a failure.
 */
static int
sf_loop(struct sf_state *st)
{
	struct pollfd		*pfd;
	struct sf_sensor	*s;
	size_t			 i, n;
	uint64_t		 ticks;
	int			 rv, status = -1;

	if ((pfd = calloc(3 + st->nsensors, sizeof(*pfd))) == NULL) {
		sf_log(IPMIC_LOG_ERR, "calloc: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		pfd[0].fd = ipmic_fd(st->client);
		pfd[1].fd = st->signal_fd;
		pfd[2].fd = st->timer_fd;
		for (n = 3, i = 0; i < st->nsensors; i++)
			if (st->sensors[i].out_fd != -1)
				pfd[n++].fd = st->sensors[i].out_fd;
		for (i = 0; i < n; i++) {
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		if (poll(pfd, n, -1) == -1) {
			if (errno == EINTR)
				continue;
			sf_log(IPMIC_LOG_ERR, "poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents & POLLIN && sf_signalled(st)) {
			status = 0;
			break;
		}
		if (pfd[0].revents & POLLIN &&
		    (rv = ipmic_dispatch(st->client)) < 0) {
			sf_log(IPMIC_LOG_ERR, "dispatch: %s",
			    ipmic_strerror(rv));
			break;
		}
		for (i = 3; i < n; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			for (s = st->sensors; s < st->sensors +
			    st->nsensors; s++)
				if (s->out_fd == pfd[i].fd)
					sf_sensor_output(s);
		}
		if (pfd[2].revents & POLLIN) {
			if (read(st->timer_fd, &ticks, sizeof(ticks)) == -1 &&
			    errno != EAGAIN)
				sf_log(IPMIC_LOG_WARN, "timerfd: %s",
				    strerror(errno));
			sf_sensors_refresh(st);
		}
	}
	free(pfd);
	return status;
}

/* The library's request callback: run the command, answer at once. */
static void
sf_request(struct ipmic *c, struct ipmic_request *req, void *arg)
{
	struct sf_state	*st = arg;
	uint8_t		 rsp[SF_RSP_MAX];
	size_t		 len;
	uint8_t		 netfn = req->netfn, cmd = req->cmd, cc;
	int		 rv;

	cc = sf_handle(st, req, rsp, &len);
	sf_log(IPMIC_LOG_DEBUG, "0x%02x/0x%02x on channel %u, %zu bytes: "
	    "cc 0x%02x, %zu bytes", netfn, cmd, req->channel, req->len, cc,
	    len);
	if ((rv = ipmic_reply(req, cc, rsp, len)) < 0)
		sf_log(IPMIC_LOG_WARN, "0x%02x/0x%02x: reply: %s", netfn, cmd,
		    ipmic_strerror(rv));
}

static const struct sf_cmd *
sf_cmd_find(uint8_t netfn, uint8_t cmd)
{
	size_t	i;

	for (i = 0; i < SF_NCMDS; i++)
		if (sf_cmds[i].netfn == netfn && sf_cmds[i].cmd == cmd)
			return &sf_cmds[i];
	return NULL;
}

/*
 * Check the request against its table row and run the command. Returns
 * the completion code; rsp and *rsp_len hold the data after it.
 */
static uint8_t
sf_handle(struct sf_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	const struct sf_cmd	*cmd;
	uint8_t			 cc;

	*rsp_len = 0;
	if ((cmd = sf_cmd_find(req->netfn, req->cmd)) == NULL)
		return IPMI_CC_INVALID_CMD;
	if (req->len < cmd->min_len || req->len > cmd->max_len)
		return IPMI_CC_BAD_LENGTH;
	cc = cmd->fn(st, req, rsp, rsp_len);
	if (cc != IPMI_CC_OK)
		*rsp_len = 0;
	return cc;
}

/* The largest response data the bus carries after the CC. */
static size_t
sf_max_response(const struct ipmic_request *req)
{
	return req->facts.max_response != 0 ? req->facts.max_response :
	    SF_RSP_MAX;
}

/* ---- FRU inventory ---- */

static struct sf_fru *
sf_fru_find(struct sf_state *st, uint8_t id)
{
	size_t	i;

	for (i = 0; i < st->nfrus; i++)
		if (st->frus[i].id == id)
			return &st->frus[i];
	return NULL;
}

/* Get FRU Inventory Area Info: the image size; byte access. */
static uint8_t
sf_get_fru_info(struct sf_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	struct sf_fru	*f;

	if ((f = sf_fru_find(st, req->data[0])) == NULL)
		return IPMI_CC_NOT_PRESENT;
	rsp[0] = f->size & 0xff;
	rsp[1] = f->size >> 8;
	rsp[2] = 0x00;
	*rsp_len = 3;
	return IPMI_CC_OK;
}

/*
 * Read FRU Data: a count that runs past the end is cut short (the count
 * byte says how much came); an offset at or past the end is 0xC9, and more
 * than the bus carries is 0xCA, on which ipmitool asks for less.
 */
static uint8_t
sf_read_fru(struct sf_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	struct sf_fru	*f;
	size_t		 off = req->data[1] | req->data[2] << 8;
	size_t		 count = req->data[3];

	if ((f = sf_fru_find(st, req->data[0])) == NULL)
		return IPMI_CC_NOT_PRESENT;
	if (off >= f->size)
		return IPMI_CC_OUT_OF_RANGE;
	if (count > f->size - off)
		count = f->size - off;
	if (1 + count > sf_max_response(req))
		return IPMI_CC_TOO_MANY_BYTES;
	rsp[0] = count;
	memcpy(rsp + 1, f->data + off, count);
	*rsp_len = 1 + count;
	return IPMI_CC_OK;
}

/*
 * Write FRU Data: only on a device the config marks writable (else 0x80,
 * the specification's "write-protected offset"), wholly inside the image
 * (else 0xC9). The bytes reach the file, fsync()ed, before the answer.
 */
static uint8_t
sf_write_fru(struct sf_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	struct sf_fru	*f;
	size_t		 off = req->data[1] | req->data[2] << 8;
	size_t		 count = req->len - 3;
	int		 rv;

	if ((f = sf_fru_find(st, req->data[0])) == NULL)
		return IPMI_CC_NOT_PRESENT;
	if (!f->writable)
		return IPMI_CC_WRITE_PROTECTED;
	if (off >= f->size || count > f->size - off)
		return IPMI_CC_OUT_OF_RANGE;
	if ((rv = sf_fru_store(f, off, req->data + 3, count)) != 0) {
		sf_log(IPMIC_LOG_ERR, "fru %u: write %zu bytes at %zu to %s: "
		    "%s", f->id, count, off, f->path, strerror(-rv));
		return IPMI_CC_UNSPECIFIED;
	}
	rsp[0] = count;
	*rsp_len = 1;
	return IPMI_CC_OK;
}

/* Write through: the file first, then the copy answers are read from. */
static int
sf_fru_store(struct sf_fru *f, size_t off, const uint8_t *data, size_t len)
{
	ssize_t	n;
	size_t	done = 0;

	while (done < len) {
		n = pwrite(f->fd, data + done, len - done, off + done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -errno;
		done += n;
	}
	if (fsync(f->fd) == -1)
		return -errno;
	memcpy(f->data + off, data, len);
	return 0;
}

/* ---- SDR repository ---- */

/*
 * Get SDR Repository Info. The repository is read-only (no add, delete
 * or update mode), so free space is 0 ("full"); reserve and allocation
 * info are supported.
 */
static uint8_t
sf_get_sdr_info(struct sf_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	rsp[0] = SDR_VERSION;
	rsp[1] = st->nrecords & 0xff;
	rsp[2] = st->nrecords >> 8;
	rsp[3] = 0x00;				/* free space */
	rsp[4] = 0x00;
	rsp[5] = st->add_time & 0xff;		/* most recent addition */
	rsp[6] = (st->add_time >> 8) & 0xff;
	rsp[7] = (st->add_time >> 16) & 0xff;
	rsp[8] = st->add_time >> 24;
	rsp[9] = 0x00;				/* most recent erase */
	rsp[10] = 0x00;
	rsp[11] = 0x00;
	rsp[12] = 0x00;
	rsp[13] = SF_SDR_SUPPORT;
	*rsp_len = 14;
	return IPMI_CC_OK;
}

/* One allocation unit per record, SDR_RECORD_MAX bytes each, none free. */
static uint8_t
sf_get_sdr_alloc(struct sf_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	rsp[0] = st->nrecords & 0xff;		/* allocation units */
	rsp[1] = st->nrecords >> 8;
	rsp[2] = SDR_RECORD_MAX;		/* unit size */
	rsp[3] = 0x00;
	rsp[4] = 0x00;				/* free units */
	rsp[5] = 0x00;
	rsp[6] = 0x00;				/* largest free block */
	rsp[7] = 0x00;
	rsp[8] = 0x01;				/* largest record, units */
	*rsp_len = 9;
	return IPMI_CC_OK;
}

/* Each Reserve cancels the previous reservation; 0 is never given. */
static uint8_t
sf_reserve_sdr(struct sf_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	if (++st->reservation == 0)
		st->reservation = 1;
	rsp[0] = st->reservation & 0xff;
	rsp[1] = st->reservation >> 8;
	*rsp_len = 2;
	return IPMI_CC_OK;
}

/*
 * Get SDR. The reservation may be 0 only to read from offset 0 (IPMI 2.0
 * 33.12); otherwise it must be the current one (0xC5), as ipmitool, which
 * reads the 5-byte header and then the body in chunks, expects. Record 0
 * is the first, 0xFFFF the last; the answer's next id is 0xFFFF after the
 * last record. 0xFF bytes means "to the end"; a count past the end is cut
 * short; an offset past the end is 0xC9; more than the bus carries 0xCA.
 */
static uint8_t
sf_get_sdr(struct sf_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	const uint8_t		*d = req->data;
	const struct sf_record	*r;
	uint16_t		 resv = d[0] | d[1] << 8, id = d[2] | d[3] << 8;
	uint16_t		 next;
	size_t			 idx, off = d[4], count = d[5];

	if (resv != 0 ? resv != st->reservation : off != 0)
		return IPMI_CC_RESERVATION;
	if (st->nrecords == 0)
		return IPMI_CC_NOT_PRESENT;
	if (id == SF_RECORD_FIRST)
		idx = 0;
	else if (id == SF_RECORD_LAST)
		idx = st->nrecords - 1;
	else if (id <= st->nrecords)
		idx = id - 1;
	else
		return IPMI_CC_NOT_PRESENT;
	r = &st->records[idx];
	if (off >= r->len)
		return IPMI_CC_OUT_OF_RANGE;
	if (count == SF_SDR_READ_ALL || count > r->len - off)
		count = r->len - off;
	if (2 + count > sf_max_response(req))
		return IPMI_CC_TOO_MANY_BYTES;
	next = idx + 1 < st->nrecords ? idx + 2 : SF_RECORD_LAST;
	rsp[0] = next & 0xff;
	rsp[1] = next >> 8;
	memcpy(rsp + 2, r->data + off, count);
	*rsp_len = 2 + count;
	return IPMI_CC_OK;
}

/*
 * Compile the repository: the controller locator first, then the sensors
 * and the FRU device locators in the order of the config file. Device 0 is
 * the BMC's own FRU, which ipmitool reads without a locator.
 */
static int
sf_records_build(struct sf_state *st)
{
	struct sdr_fru_locator	 fl;
	struct sf_record	*r;
	size_t			 i, n = st->has_mc + st->nsensors + st->nfrus;

	if ((st->records = calloc(n ? n : 1, sizeof(*r))) == NULL) {
		sf_log(IPMIC_LOG_ERR, "calloc: %s", strerror(errno));
		return -1;
	}
	r = st->records;
	if (st->has_mc) {
		r->len = sdr_build_mc_locator(&st->mc, r - st->records + 1,
		    r->data);
		r++;
	}
	for (i = 0; i < st->nsensors; i++, r++)
		r->len = sdr_build_full(&st->sensors[i].sdr,
		    r - st->records + 1, r->data);
	for (i = 0; i < st->nfrus; i++) {
		if (st->frus[i].id == 0)
			continue;
		memset(&fl, 0, sizeof(fl));
		memcpy(fl.name, st->frus[i].name, sizeof(fl.name));
		fl.device_id = st->frus[i].id;
		fl.entity_id = st->frus[i].entity_id;
		fl.entity_instance = st->frus[i].entity_instance;
		r->len = sdr_build_fru_locator(&fl, r - st->records + 1,
		    r->data);
		r++;
	}
	st->nrecords = r - st->records;
	st->add_time = (uint32_t)time(NULL);
	/* A restarted handler must not honour the last one's reservation. */
	st->reservation = (uint16_t)(getpid() ^ st->add_time);
	return 0;
}

/* ---- sensors ---- */

static struct sf_sensor *
sf_sensor_find(struct sf_state *st, uint8_t number)
{
	size_t	i;

	for (i = 0; i < st->nsensors; i++)
		if (st->sensors[i].sdr.number == number)
			return &st->sensors[i];
	return NULL;
}

/*
 * Get Sensor Reading: the cached raw reading, "scanning enabled", and the
 * thresholds it is at or beyond. Without a fresh reading: "reading
 * unavailable" (ipmitool prints "no reading" / "ns").
 */
static uint8_t
sf_get_reading(struct sf_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	struct sf_sensor	*s;

	if ((s = sf_sensor_find(st, req->data[0])) == NULL)
		return IPMI_CC_NOT_PRESENT;
	rsp[0] = s->valid ? s->raw : 0x00;
	rsp[1] = SF_SCANNING_ENABLED |
	    (s->valid ? 0 : SF_READING_UNAVAILABLE);
	rsp[2] = s->valid ? sdr_threshold_status(&s->sdr, s->raw) : 0x00;
	*rsp_len = 3;
	return IPMI_CC_OK;
}

/* Get Sensor Thresholds: the readable mask, then lnc lcr lnr unc ucr unr. */
static uint8_t
sf_get_thresholds(struct sf_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	struct sf_sensor	*s;
	int			 i;

	if ((s = sf_sensor_find(st, req->data[0])) == NULL)
		return IPMI_CC_NOT_PRESENT;
	rsp[0] = s->sdr.threshold_set;
	for (i = 0; i < SDR_NTHRESHOLDS; i++) {
		rsp[1 + i] = 0x00;
		if (s->sdr.threshold_set & (1 << i))
			sdr_to_raw(&s->sdr, s->sdr.threshold[i], &rsp[1 + i]);
	}
	*rsp_len = 1 + SDR_NTHRESHOLDS;
	return IPMI_CC_OK;
}

/* Get Sensor Hysteresis: byte 1 of the request is a reserved mask. */
static uint8_t
sf_get_hysteresis(struct sf_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	struct sf_sensor	*s;

	if ((s = sf_sensor_find(st, req->data[0])) == NULL)
		return IPMI_CC_NOT_PRESENT;
	rsp[0] = rsp[1] = sdr_hysteresis_raw(&s->sdr);
	*rsp_len = 2;
	return IPMI_CC_OK;
}

/* Get Sensor Event Enable: scanning on, no event messages, none enabled. */
static uint8_t
sf_get_event_enable(struct sf_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	if (sf_sensor_find(st, req->data[0]) == NULL)
		return IPMI_CC_NOT_PRESENT;
	rsp[0] = SF_SCANNING_ENABLED;
	memset(rsp + 1, 0, 4);
	*rsp_len = 5;
	return IPMI_CC_OK;
}

/*
 * Get Sensor Event Status: the "going low" assertion of each lower
 * threshold the reading is at or below, "going high" of each upper one it
 * is at or above (bits as in the record's assertion mask, bytes 15-16).
 */
static uint8_t
sf_get_event_status(struct sf_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	struct sf_sensor	*s;
	uint8_t			 t;

	if ((s = sf_sensor_find(st, req->data[0])) == NULL)
		return IPMI_CC_NOT_PRESENT;
	t = s->valid ? sdr_threshold_status(&s->sdr, s->raw) : 0;
	rsp[0] = SF_SCANNING_ENABLED |
	    (s->valid ? 0 : SF_READING_UNAVAILABLE);
	rsp[1] = (t & (1 << SDR_LNC) ? 0x01 : 0) |	/* lnc going low */
	    (t & (1 << SDR_LCR) ? 0x04 : 0) |		/* lcr going low */
	    (t & (1 << SDR_LNR) ? 0x10 : 0) |		/* lnr going low */
	    (t & (1 << SDR_UNC) ? 0x80 : 0);		/* unc going high */
	rsp[2] = (t & (1 << SDR_UCR) ? 0x02 : 0) |	/* ucr going high */
	    (t & (1 << SDR_UNR) ? 0x08 : 0);		/* unr going high */
	rsp[3] = rsp[4] = 0x00;
	*rsp_len = 5;
	return IPMI_CC_OK;
}

static int64_t
sf_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The refresh timer: kill commands past their timeout, start the
 * refreshes that are due, and arm the timer for the next event.
 */
static void
sf_sensors_refresh(struct sf_state *st)
{
	struct sf_sensor	*s;
	int64_t			 now = sf_now_ms();
	size_t			 i;

	for (i = 0; i < st->nsensors; i++) {
		s = &st->sensors[i];
		if (s->pid != -1 && now >= s->deadline_ms)
			sf_sensor_kill(s);
		if (s->pid == -1 && now >= s->next_ms) {
			s->next_ms = now + s->interval_ms;
			sf_sensor_start(st, s);
		}
	}
	sf_timer_arm(st);
}

static void
sf_sensor_start(struct sf_state *st, struct sf_sensor *s)
{
	if (s->file != NULL)
		sf_sensor_read_file(s);
	else
		sf_sensor_spawn(st, s);
}

/*
 * A small read of a small file (sysfs attributes answer at once or fail),
 * so it is done in the loop. A missing file is not fatal: hwmon devices
 * come and go; the sensor reads "unavailable" meanwhile.
 */
static void
sf_sensor_read_file(struct sf_sensor *s)
{
	char	buf[SF_READ_MAX + 1];
	ssize_t	n;
	int	fd;

	if ((fd = open(s->file, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		sf_sensor_mark(s, false, strerror(errno));
		return;
	}
	do {
		n = read(fd, buf, SF_READ_MAX);
	} while (n == -1 && errno == EINTR);
	close(fd);
	if (n == -1) {
		sf_sensor_mark(s, false, strerror(errno));
		return;
	}
	buf[n] = '\0';
	sf_sensor_mark(s, sf_sensor_update(s, buf), "not a number");
}

/*
 * Run the sensor's command with /bin/sh in the config file's directory,
 * its stdout on a pipe we read without blocking, in its own process group
 * so that a timeout kills whatever it started.
 */
static void
sf_sensor_spawn(struct sf_state *st, struct sf_sensor *s)
{
	sigset_t	empty;
	int		p[2], devnull;
	pid_t		pid;

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1) {
		sf_sensor_mark(s, false, strerror(errno));
		return;
	}
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		sf_sensor_mark(s, false, strerror(errno));
		return;
	}
	if (pid == 0) {
		sigemptyset(&empty);
		sigprocmask(SIG_SETMASK, &empty, NULL);
		signal(SIGPIPE, SIG_DFL);
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		devnull = open("/dev/null", O_RDONLY);
		if (devnull == -1 || dup2(devnull, 0) == -1 ||
		    dup2(p[1], 1) == -1 || chdir(st->confdir) == -1)
			_exit(127);
		execl("/bin/sh", "sh", "-c", s->command, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	setpgid(pid, pid);	/* also here: no race with the kill */
	s->pid = pid;
	s->out_fd = p[0];
	s->reaped = false;
	s->outlen = 0;
	s->deadline_ms = sf_now_ms() + s->timeout_ms;
}

/* The command's stdout is readable: keep the first bytes, wait for EOF. */
static void
sf_sensor_output(struct sf_sensor *s)
{
	char	buf[256];
	ssize_t	n;
	size_t	room;

	for (;;) {
		n = read(s->out_fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;
		room = SF_READ_MAX - s->outlen;
		if ((size_t)n < room)
			room = n;
		memcpy(s->out + s->outlen, buf, room);
		s->outlen += room;
	}
	close(s->out_fd);
	s->out_fd = -1;
	if (s->reaped)
		sf_sensor_finish(s);
}

/* Output read to EOF and the process reaped: take the reading. */
static void
sf_sensor_finish(struct sf_sensor *s)
{
	char	why[64];

	s->pid = -1;
	s->out[s->outlen] = '\0';
	if (!WIFEXITED(s->status) || WEXITSTATUS(s->status) != 0) {
		if (WIFSIGNALED(s->status))
			snprintf(why, sizeof(why), "command killed by signal "
			    "%d", WTERMSIG(s->status));
		else
			snprintf(why, sizeof(why), "command exited %d",
			    WEXITSTATUS(s->status));
		sf_sensor_mark(s, false, why);
		return;
	}
	sf_sensor_mark(s, sf_sensor_update(s, s->out),
	    "command printed no number");
}

/* Past its timeout: kill the group; the reading is unavailable. */
static void
sf_sensor_kill(struct sf_sensor *s)
{
	char	why[64];

	kill(-s->pid, SIGKILL);
	if (s->out_fd != -1) {
		close(s->out_fd);
		s->out_fd = -1;
	}
	if (!s->reaped)		/* sf_reap() finds no owner for it later */
		waitpid(s->pid, NULL, 0);
	s->pid = -1;
	snprintf(why, sizeof(why), "command timed out after %u ms",
	    s->timeout_ms);
	sf_sensor_mark(s, false, why);
}

/* SIGCHLD: reap every ended child and hand its status to its sensor. */
static void
sf_reap(struct sf_state *st)
{
	struct sf_sensor	*s;
	pid_t			 pid;
	int			 status;
	size_t			 i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < st->nsensors; i++) {
			s = &st->sensors[i];
			if (s->pid != pid)
				continue;
			s->reaped = true;
			s->status = status;
			if (s->out_fd == -1)
				sf_sensor_finish(s);
		}
	}
}

/*
 * Parse what a file or command gave: one number, blanks around it. In
 * units it is multiplied by scale and converted with the record's formula;
 * a raw source gives the byte itself. Returns whether it was usable.
 */
static bool
sf_sensor_update(struct sf_sensor *s, const char *text)
{
	double	v;
	char	*end;

	while (*text == ' ' || *text == '\t' || *text == '\n')
		text++;
	errno = 0;
	v = strtod(text, &end);
	if (end == text || errno != 0 || !isfinite(v))
		return false;
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	if (*end != '\0')
		return false;
	if (s->raw_source) {
		if (v != floor(v) || v < (s->sdr.is_signed ? -128 : 0) ||
		    v > (s->sdr.is_signed ? 127 : 255))
			return false;
		s->raw = (uint8_t)((int)v & 0xff);
	} else
		sdr_to_raw(&s->sdr, v * s->scale, &s->raw);
	return true;
}

/* Set the cache's validity; log only when it changes. */
static void
sf_sensor_mark(struct sf_sensor *s, bool ok, const char *why)
{
	if (ok && !s->valid)
		sf_log(IPMIC_LOG_DEBUG, "sensor %s: reading", s->sdr.name);
	else if (!ok && s->valid)
		sf_log(IPMIC_LOG_WARN, "sensor %s: reading unavailable: %s",
		    s->sdr.name, why);
	s->valid = ok;
}

/* Arm the timer for the earliest refresh or command deadline. */
static void
sf_timer_arm(struct sf_state *st)
{
	struct itimerspec	its;
	struct sf_sensor	*s;
	int64_t			 due = INT64_MAX, now = sf_now_ms(), wait;
	size_t			 i;

	for (i = 0; i < st->nsensors; i++) {
		s = &st->sensors[i];
		if (s->pid != -1 && s->deadline_ms < due)
			due = s->deadline_ms;
		else if (s->pid == -1 && s->next_ms < due)
			due = s->next_ms;
	}
	if (due == INT64_MAX)
		return;
	memset(&its, 0, sizeof(its));
	wait = due > now ? due - now : 1;
	its.it_value.tv_sec = wait / 1000;
	its.it_value.tv_nsec = (wait % 1000) * 1000000L;
	if (timerfd_settime(st->timer_fd, 0, &its, NULL) == -1)
		sf_log(IPMIC_LOG_WARN, "timerfd_settime: %s", strerror(errno));
}

/* ---- FRU image files ---- */

static int
sf_frus_open(struct sf_state *st)
{
	size_t	i;

	for (i = 0; i < st->nfrus; i++)
		if (sf_fru_open(&st->frus[i]) != 0)
			return -1;
	return 0;
}

/* Open the image (read-write if writable) and keep a copy in memory. */
static int
sf_fru_open(struct sf_fru *f)
{
	struct stat	sb;
	ssize_t		n;
	size_t		done = 0;

	f->fd = open(f->path, (f->writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (f->fd == -1 || fstat(f->fd, &sb) == -1) {
		sf_log(IPMIC_LOG_ERR, "fru %u: %s: %s", f->id, f->path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size < SF_FRU_MIN ||
	    sb.st_size > SF_FRU_MAX) {
		sf_log(IPMIC_LOG_ERR, "fru %u: %s: expected a file of %d to "
		    "%d bytes", f->id, f->path, SF_FRU_MIN, SF_FRU_MAX);
		return -1;
	}
	f->size = sb.st_size;
	if ((f->data = malloc(f->size)) == NULL) {
		sf_log(IPMIC_LOG_ERR, "fru %u: %s", f->id, strerror(errno));
		return -1;
	}
	while (done < f->size) {
		n = pread(f->fd, f->data + done, f->size - done, done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			sf_log(IPMIC_LOG_ERR, "fru %u: read %s: %s", f->id,
			    f->path, n == 0 ? "short file" : strerror(errno));
			return -1;
		}
		done += n;
	}
	return 0;
}

static void
sf_state_free(struct sf_state *st)
{
	struct sf_sensor	*s;
	size_t			 i;

	for (i = 0; i < st->nsensors; i++) {
		s = &st->sensors[i];
		if (s->pid != -1) {
			kill(-s->pid, SIGKILL);
			waitpid(s->pid, NULL, 0);
		}
		if (s->out_fd != -1)
			close(s->out_fd);
		free(s->file);
		free(s->command);
	}
	for (i = 0; i < st->nfrus; i++) {
		if (st->frus[i].fd != -1)
			close(st->frus[i].fd);
		free(st->frus[i].data);
		free(st->frus[i].path);
	}
	free(st->sensors);
	free(st->frus);
	free(st->records);
	st->sensors = NULL;
	st->frus = NULL;
	st->records = NULL;
	st->nsensors = st->nfrus = st->nrecords = 0;
	if (st->timer_fd != -1)
		close(st->timer_fd);
	if (st->signal_fd != -1)
		close(st->signal_fd);
	st->timer_fd = st->signal_fd = -1;
}

/* ---- the config file ---- */

/* Sensor types (IPMI 2.0 table 42-3), the common ones. */
static const struct sf_name sf_types[] = {
	{ "temperature", 0x01 }, { "voltage", 0x02 }, { "current", 0x03 },
	{ "fan", 0x04 }, { "power supply", 0x08 }, { "other", 0x0b },
	{ NULL, 0 }
};

/* Base units (IPMI 2.0 table 43-15), the common ones. */
static const struct sf_name sf_units[] = {
	{ "unspecified", 0 }, { "degrees C", 1 }, { "degrees F", 2 },
	{ "degrees K", 3 }, { "volts", 4 }, { "amps", 5 }, { "watts", 6 },
	{ "joules", 7 }, { "rpm", 18 }, { "hz", 19 }, { "percent", 0 },
	{ NULL, 0 }
};

static const char *const sf_threshold_keys[SDR_NTHRESHOLDS] = {
	[SDR_LNC] = "lnc", [SDR_LCR] = "lcr", [SDR_LNR] = "lnr",
	[SDR_UNC] = "unc", [SDR_UCR] = "ucr", [SDR_UNR] = "unr",
};

/* The parser's state: where it is and the first error seen. */
struct sf_config_ctx {
	struct sf_state		*st;
	char			 section[128];
	struct sf_sensor	*sensor;	/* in a [sensor NAME] */
	struct sf_fru		*fru;		/* in a [fru N] */
	bool			 in_mc;
	const char		*error;
	char			 buf[160];
};

static int
sf_config_load(const char *path, struct sf_state *st)
{
	char	 err[320];
	FILE	*f;
	int	 rv;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	rv = sf_config_read(f, path, st, err, sizeof(err));
	fclose(f);
	if (rv != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

/*
 * Read the config from f into st; relative paths are relative to path's
 * directory. Returns 0, or -1 with "path:line: what" (or "path: [section]:
 * what" for what only the whole section shows) in err.
 */
static int
sf_config_read(FILE *f, const char *path, struct sf_state *st, char *err,
    size_t errlen)
{
	struct sf_config_ctx	 ctx;
	const char		*slash, *why;
	char			 where[200];
	int			 line;

	memset(&ctx, 0, sizeof(ctx));
	ctx.st = st;
	if ((slash = strrchr(path, '/')) == NULL)
		snprintf(st->confdir, sizeof(st->confdir), ".");
	else if (slash == path)
		snprintf(st->confdir, sizeof(st->confdir), "/");
	else
		snprintf(st->confdir, sizeof(st->confdir), "%.*s",
		    (int)(slash - path), path);
	line = ini_parse_file(f, sf_config_set, &ctx);
	if (line < 0) {
		snprintf(err, errlen, "%s: cannot read the file", path);
		return -1;
	}
	if (line > 0) {
		snprintf(err, errlen, "%s:%d: %s", path, line,
		    ctx.error != NULL ? ctx.error : "syntax error");
		return -1;
	}
	if ((why = sf_config_check(st, where, sizeof(where))) != NULL) {
		snprintf(err, errlen, "%s: %s%s", path, where, why);
		return -1;
	}
	return 0;
}

/* inih callback: returns 1 to go on, 0 for an error at this line. */
static int
sf_config_set(void *arg, const char *section, const char *name,
    const char *value)
{
	struct sf_config_ctx	*ctx = arg;
	const char		*error = NULL;
	size_t			 len;

	if (strcmp(section, ctx->section) != 0) {
		len = strlen(section);
		if (len >= sizeof(ctx->section))
			len = sizeof(ctx->section) - 1;
		memcpy(ctx->section, section, len);
		ctx->section[len] = '\0';
		error = sf_config_section(ctx->st, section);
		ctx->sensor = NULL;
		ctx->fru = NULL;
		ctx->in_mc = strcmp(section, "mc") == 0;
		if (error == NULL && strncmp(section, "sensor ", 7) == 0)
			ctx->sensor = &ctx->st->sensors[ctx->st->nsensors - 1];
		else if (error == NULL && strncmp(section, "fru ", 4) == 0)
			ctx->fru = &ctx->st->frus[ctx->st->nfrus - 1];
	}
	if (error == NULL) {
		if (ctx->sensor != NULL)
			error = sf_config_sensor(ctx->st, ctx->sensor, name,
			    value);
		else if (ctx->fru != NULL)
			error = sf_config_fru(ctx->st, ctx->fru, name, value);
		else if (ctx->in_mc)
			error = sf_config_mc(ctx->st, name, value);
	}
	if (error == NULL)
		return 1;
	if (ctx->error == NULL) {	/* inih reports the first line */
		snprintf(ctx->buf, sizeof(ctx->buf), "%s", error);
		ctx->error = ctx->buf;
	}
	return 0;
}

/* A new section: [mc], [sensor NAME] or [fru ID]. */
static const char *
sf_config_section(struct sf_state *st, const char *section)
{
	struct sf_sensor	*s;
	struct sf_fru		*f;
	char			 name[SDR_ID_MAX + 1];
	long			 id;
	size_t			 i;

	if (strcmp(section, "mc") == 0) {
		if (st->has_mc)
			return "[mc] given twice";
		st->has_mc = true;
		snprintf(st->mc.name, sizeof(st->mc.name), "BMC");
		st->mc.address = SDR_BMC_ADDRESS;
		st->mc.entity_id = 0x06;	/* management module */
		st->mc.entity_instance = 1;
		return NULL;
	}
	if (strncmp(section, "sensor ", 7) == 0) {
		if (sf_parse_name(section + 7, name) != 0)
			return "[sensor NAME]: a name of 1 to 16 characters";
		for (i = 0; i < st->nsensors; i++)
			if (strcmp(st->sensors[i].sdr.name, name) == 0)
				return "this [sensor NAME] is given twice";
		if (st->nsensors == SF_SENSORS_MAX)
			return "too many sensors";
		s = reallocarray(st->sensors, st->nsensors + 1, sizeof(*s));
		if (s == NULL)
			return "out of memory";
		st->sensors = s;
		s = &st->sensors[st->nsensors++];
		memset(s, 0, sizeof(*s));
		memcpy(s->sdr.name, name, sizeof(name));
		s->sdr.m = 1;
		s->sdr.entity_instance = 1;
		s->scale = 1.0;
		s->interval_ms = SF_DEFAULT_INTERVAL_MS;
		s->timeout_ms = SF_DEFAULT_TIMEOUT_MS;
		s->pid = -1;
		s->out_fd = -1;
		return NULL;
	}
	if (strncmp(section, "fru ", 4) == 0) {
		if (sf_parse_number(section + 4, 0, 254, &id) != 0)
			return "[fru ID]: an ID from 0 to 254";
		if (sf_fru_find(st, id) != NULL)
			return "this [fru ID] is given twice";
		if (st->nfrus == SF_FRUS_MAX)
			return "too many FRU devices";
		f = reallocarray(st->frus, st->nfrus + 1, sizeof(*f));
		if (f == NULL)
			return "out of memory";
		st->frus = f;
		f = &st->frus[st->nfrus++];
		memset(f, 0, sizeof(*f));
		f->id = id;
		f->fd = -1;
		snprintf(f->name, sizeof(f->name), "FRU %ld", id);
		f->entity_id = 0x07;		/* system board */
		f->entity_instance = 1;
		return NULL;
	}
	return "unknown section: expected [mc], [sensor NAME] or [fru ID]";
}

static const char *
sf_config_mc(struct sf_state *st, const char *name, const char *value)
{
	long	n;

	if (strcmp(name, "name") == 0) {
		if (sf_parse_name(value, st->mc.name) != 0)
			return "name: 1 to 16 characters";
	} else if (strcmp(name, "device_support") == 0) {
		if (sf_parse_number(value, 0, 0xff, &n) != 0)
			return "device_support: a number from 0 to 0xff";
		st->mc.device_support = n;
	} else if (strcmp(name, "entity") == 0) {
		if (sf_parse_entity(value, &st->mc.entity_id,
		    &st->mc.entity_instance) != 0)
			return "entity: ID.INSTANCE, as 6.1";
	} else
		return "unknown key in [mc]";
	return NULL;
}

/* The keys that describe the record; sf_config_sensor_more() the rest. */
static const char *
sf_config_sensor(struct sf_state *st, struct sf_sensor *s, const char *name,
    const char *value)
{
	struct sdr_sensor	*d = &s->sdr;
	long			 n;
	int			 i;

	for (i = 0; i < SDR_NTHRESHOLDS; i++) {
		if (strcmp(name, sf_threshold_keys[i]) != 0)
			continue;
		if (sf_parse_double(value, &d->threshold[i]) != 0)
			return "threshold: a number in the sensor's units";
		d->threshold_set |= 1 << i;
		return NULL;
	}
	if (strcmp(name, "number") == 0) {
		if (sf_parse_number(value, 1, 254, &n) != 0)
			return "number: from 1 to 254";
		d->number = n;
	} else if (strcmp(name, "type") == 0) {
		if (sf_parse_named(value, sf_types, 0xff, &n) != 0)
			return "type: temperature, voltage, current, fan, "
			    "power supply, other or a number to 0xff";
		d->type = n;
	} else if (strcmp(name, "units") == 0) {
		if (sf_parse_named(value, sf_units, 92, &n) != 0)
			return "units: degrees C, volts, amps, watts, rpm, "
			    "percent ... or a unit code to 92";
		d->units = n;
		d->percent = strcmp(value, "percent") == 0;
	} else if (strcmp(name, "entity") == 0) {
		if (sf_parse_entity(value, &d->entity_id,
		    &d->entity_instance) != 0)
			return "entity: ID.INSTANCE, as 3.1";
	} else if (strcmp(name, "signed") == 0) {
		if (sf_parse_bool(value, &d->is_signed) != 0)
			return "signed: yes or no";
	} else if (strcmp(name, "m") == 0) {
		if (sf_parse_number(value, -512, 511, &n) != 0 || n == 0)
			return "m: from -512 to 511, not 0";
		d->m = n;
	} else if (strcmp(name, "b") == 0) {
		if (sf_parse_number(value, -512, 511, &n) != 0)
			return "b: from -512 to 511";
		d->b = n;
	} else if (strcmp(name, "b_exp") == 0) {
		if (sf_parse_number(value, -8, 7, &n) != 0)
			return "b_exp: from -8 to 7";
		d->b_exp = n;
	} else if (strcmp(name, "r_exp") == 0) {
		if (sf_parse_number(value, -8, 7, &n) != 0)
			return "r_exp: from -8 to 7";
		d->r_exp = n;
	} else
		return sf_config_sensor_more(st, s, name, value);
	return NULL;
}

static const char *
sf_config_sensor_more(struct sf_state *st, struct sf_sensor *s,
    const char *name, const char *value)
{
	struct sdr_sensor	*d = &s->sdr;
	long			 n;

	if (strcmp(name, "hysteresis") == 0) {
		if (sf_parse_double(value, &d->hysteresis) != 0)
			return "hysteresis: a number in the sensor's units";
		d->has_hysteresis = true;
	} else if (strcmp(name, "nominal") == 0) {
		if (sf_parse_double(value, &d->nominal) != 0)
			return "nominal: a number in the sensor's units";
		d->has_nominal = true;
	} else if (strcmp(name, "min") == 0) {
		if (sf_parse_double(value, &d->min) != 0)
			return "min: a number in the sensor's units";
		d->has_min = true;
	} else if (strcmp(name, "max") == 0) {
		if (sf_parse_double(value, &d->max) != 0)
			return "max: a number in the sensor's units";
		d->has_max = true;
	} else if (strcmp(name, "file") == 0) {
		if (s->file != NULL || s->command != NULL)
			return "file: the sensor already has a source";
		if ((s->file = sf_path(st, value)) == NULL)
			return "file: a path";
	} else if (strcmp(name, "command") == 0) {
		if (s->file != NULL || s->command != NULL)
			return "command: the sensor already has a source";
		if (*value == '\0' || (s->command = strdup(value)) == NULL)
			return "command: a shell command line";
	} else if (strcmp(name, "scale") == 0) {
		if (sf_parse_double(value, &s->scale) != 0 || s->scale == 0)
			return "scale: a number other than 0, as 0.001";
	} else if (strcmp(name, "raw") == 0) {
		if (sf_parse_bool(value, &s->raw_source) != 0)
			return "raw: yes or no";
	} else if (strcmp(name, "interval") == 0) {
		if (sf_parse_number(value, SF_MIN_INTERVAL_MS, 3600000,
		    &n) != 0)
			return "interval: milliseconds, from 50 to 3600000";
		s->interval_ms = n;
	} else if (strcmp(name, "timeout") == 0) {
		if (sf_parse_number(value, 10, 60000, &n) != 0)
			return "timeout: milliseconds, from 10 to 60000";
		s->timeout_ms = n;
	} else
		return "unknown key in [sensor NAME]";
	return NULL;
}

static const char *
sf_config_fru(struct sf_state *st, struct sf_fru *f, const char *name,
    const char *value)
{
	if (strcmp(name, "name") == 0) {
		if (sf_parse_name(value, f->name) != 0)
			return "name: 1 to 16 characters";
	} else if (strcmp(name, "file") == 0) {
		free(f->path);
		if ((f->path = sf_path(st, value)) == NULL)
			return "file: a path";
	} else if (strcmp(name, "writable") == 0) {
		if (sf_parse_bool(value, &f->writable) != 0)
			return "writable: yes or no";
	} else if (strcmp(name, "entity") == 0) {
		if (sf_parse_entity(value, &f->entity_id,
		    &f->entity_instance) != 0)
			return "entity: ID.INSTANCE, as 7.1";
	} else
		return "unknown key in [fru ID]";
	return NULL;
}

/*
 * What only a whole section shows: a sensor without a number or a
 * source, two sensors with one number, a formula that cannot work, a FRU
 * device without a file. where gets "[section]: ".
 */
static const char *
sf_config_check(struct sf_state *st, char *where, size_t len)
{
	struct sf_sensor	*s;
	const char		*why;
	size_t			 i, j;

	*where = '\0';
	for (i = 0; i < st->nsensors; i++) {
		s = &st->sensors[i];
		snprintf(where, len, "[sensor %s]: ", s->sdr.name);
		if (s->sdr.number == 0)
			return "no number";
		if (s->file == NULL && s->command == NULL)
			return "no file or command to read";
		if ((why = sdr_sensor_check(&s->sdr)) != NULL)
			return why;
		for (j = 0; j < i; j++)
			if (st->sensors[j].sdr.number == s->sdr.number)
				return "its number is another sensor's";
	}
	for (i = 0; i < st->nfrus; i++) {
		snprintf(where, len, "[fru %u]: ", st->frus[i].id);
		if (st->frus[i].path == NULL)
			return "no file";
	}
	*where = '\0';
	if (st->nsensors == 0 && st->nfrus == 0)
		return "no [sensor NAME] and no [fru ID]: nothing to serve";
	return NULL;
}

/* A path as written, or relative to the config file's directory. */
static char *
sf_path(const struct sf_state *st, const char *value)
{
	char	*p;

	if (*value == '\0')
		return NULL;
	if (*value == '/')
		return strdup(value);
	if (asprintf(&p, "%s/%s", st->confdir, value) == -1)
		return NULL;
	return p;
}

/* A decimal or 0x-hex integer, optionally negative, from min to max. */
static int
sf_parse_number(const char *s, long min, long max, long *out)
{
	char	*end;
	bool	 neg = false;
	long	 n;
	int	 base = 10;

	if (*s == '-') {
		neg = true;
		s++;
	}
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		base = 16;
	}
	if (!((*s >= '0' && *s <= '9') || (base == 16 &&
	    ((*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))))
		return -1;
	errno = 0;
	n = strtol(s, &end, base);
	if (errno != 0 || *end != '\0')
		return -1;
	if (neg)
		n = -n;
	if (n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

static int
sf_parse_double(const char *s, double *out)
{
	char	*end;

	errno = 0;
	*out = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !isfinite(*out))
		return -1;
	return 0;
}

static int
sf_parse_bool(const char *s, bool *out)
{
	if (strcmp(s, "yes") == 0 || strcmp(s, "true") == 0 ||
	    strcmp(s, "1") == 0)
		*out = true;
	else if (strcmp(s, "no") == 0 || strcmp(s, "false") == 0 ||
	    strcmp(s, "0") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

/* "ID.INSTANCE", both decimal or 0x-hex: 0..255 and 0..127. */
static int
sf_parse_entity(const char *s, uint8_t *id, uint8_t *instance)
{
	const char	*dot = strchr(s, '.');
	char		 head[16];
	long		 a, b;

	if (dot == NULL || (size_t)(dot - s) >= sizeof(head))
		return -1;
	memcpy(head, s, dot - s);
	head[dot - s] = '\0';
	if (sf_parse_number(head, 0, 0xff, &a) != 0 ||
	    sf_parse_number(dot + 1, 0, 0x7f, &b) != 0)
		return -1;
	*id = a;
	*instance = b;
	return 0;
}

/* A name from the table (any case) or a number from 0 to max. */
static int
sf_parse_named(const char *s, const struct sf_name *names, long max,
    long *out)
{
	size_t	i;

	for (i = 0; names[i].name != NULL; i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*out = names[i].value;
			return 0;
		}
	}
	return sf_parse_number(s, 0, max, out);
}

/* An ID string: 1 to 16 printable ASCII characters. */
static int
sf_parse_name(const char *s, char *out)
{
	size_t	i, len = strlen(s);

	if (len == 0 || len > SDR_ID_MAX)
		return -1;
	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return -1;
	memcpy(out, s, len + 1);
	return 0;
}
