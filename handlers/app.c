/* SPDX-License-Identifier: MIT */
#include <sys/types.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include <ipmi/ipmiclient.h>

/*
 * ipmi-handler-app: the Application netfn (0x06) of a minimal BMC.
 *
 * It answers what a host driver and ipmitool ask first: Get Device ID, the
 * self test, the GUIDs, global enables and message flags, Get Channel Info
 * and Get BT Interface Capabilities. The device identity comes from a small
 * ini file read once at start; everything else is a few bytes of state.
 *
 * The only peer is the broker, through libipmiclient. The broker has checked
 * the frame, but the request data is the host's and is not trusted: each
 * command's length is checked against the table below before its function
 * runs. The command functions take bytes and return bytes (a completion code
 * plus response data) and never call the library, so the unit tests run them
 * without a broker.
 *
 * To add a command: write one app_<command>() function and add a row to
 * app_cmds[]; registration and length checks follow from the row.
 */

#define APP_NETFN		0x06
#define APP_DEFAULT_CONFIG	"/etc/ipmi-broker/app-handler.conf"
#define APP_RSP_MAX		32	/* the longest answer is 16 bytes */

/* Application commands (IPMI 2.0, table G-1). */
#define APP_GET_DEVICE_ID	0x01
#define APP_GET_SELF_TEST	0x04
#define APP_GET_DEVICE_GUID	0x08
#define APP_SET_GLOBAL_ENABLES	0x2e
#define APP_GET_GLOBAL_ENABLES	0x2f
#define APP_CLEAR_MSG_FLAGS	0x30
#define APP_GET_MSG_FLAGS	0x31
#define APP_GET_MESSAGE		0x33
#define APP_READ_EVENT_BUFFER	0x35
#define APP_GET_BT_CAPS		0x36
#define APP_GET_SYSTEM_GUID	0x37
#define APP_GET_CHANNEL_INFO	0x42

/* Completion codes used here. */
#define IPMI_CC_OK		0x00
#define IPMI_CC_EMPTY		0x80	/* command-specific: nothing queued */
#define IPMI_CC_INVALID_CMD	0xc1
#define IPMI_CC_BAD_LENGTH	0xc7
#define IPMI_CC_NOT_PRESENT	0xcb
#define IPMI_CC_INVALID_FIELD	0xcc

#define IPMI_VERSION_2_0	0x02	/* BCD, minor in the high nibble */
#define IPMI_CHANNEL_THIS	0x0e
#define IPMI_MEDIUM_SYSTEM_IF	12
#define IPMI_IANA_IPMI_FORUM	7154	/* protocol vendor in Channel Info */
#define IPMI_SELF_TEST_PASSED	0x55

/* Set BMC Global Enables: bit 4 is reserved, the others may be set. */
#define APP_ENABLES_RESERVED	0x10

/* What the config file says about this device (Get Device ID, GUIDs). */
struct app_device {
	uint8_t		device_id;
	uint8_t		device_revision;	/* 0..15 */
	uint8_t		fw_major;		/* binary, 0..127 */
	uint8_t		fw_minor;		/* BCD, 0x00..0x99 */
	uint8_t		additional_support;
	uint32_t	manufacturer_id;	/* 20-bit IANA number */
	uint16_t	product_id;
	bool		has_aux;
	uint8_t		aux[4];			/* in wire order */
	bool		has_guid;
	uint8_t		guid[16];		/* in wire order */
};

struct app_state {
	struct app_device dev;
	uint8_t		global_enables;
	uint8_t		msg_flags;
	struct ipmic	*client;
	int		verbose;
};

/*
 * A command: it reads the request and writes at most APP_RSP_MAX bytes of
 * response data to rsp, sets *rsp_len and returns the completion code. On
 * a non-zero code no data is sent.
 */
typedef uint8_t app_cmd_fn(struct app_state *, const struct ipmic_request *,
    uint8_t *rsp, size_t *rsp_len);

static app_cmd_fn app_get_device_id;
static app_cmd_fn app_get_self_test;
static app_cmd_fn app_get_guid;
static app_cmd_fn app_set_global_enables;
static app_cmd_fn app_get_global_enables;
static app_cmd_fn app_clear_msg_flags;
static app_cmd_fn app_get_msg_flags;
static app_cmd_fn app_queue_empty;
static app_cmd_fn app_get_bt_caps;
static app_cmd_fn app_get_channel_info;

/* The commands served, with the request data lengths each accepts. */
static const struct app_cmd {
	uint8_t		 cmd;
	uint8_t		 min_len;
	uint8_t		 max_len;
	app_cmd_fn	*fn;
	const char	*name;
} app_cmds[] = {
	{ APP_GET_DEVICE_ID,      0, 0, app_get_device_id,      "device id" },
	{ APP_GET_SELF_TEST,      0, 0, app_get_self_test,      "self test" },
	{ APP_GET_DEVICE_GUID,    0, 0, app_get_guid,           "device guid" },
	{ APP_SET_GLOBAL_ENABLES, 1, 1, app_set_global_enables, "set enables" },
	{ APP_GET_GLOBAL_ENABLES, 0, 0, app_get_global_enables, "get enables" },
	{ APP_CLEAR_MSG_FLAGS,    1, 1, app_clear_msg_flags,    "clear flags" },
	{ APP_GET_MSG_FLAGS,      0, 0, app_get_msg_flags,      "get flags" },
	{ APP_GET_MESSAGE,        0, 0, app_queue_empty,        "get message" },
	{ APP_READ_EVENT_BUFFER,  0, 0, app_queue_empty,        "read event" },
	{ APP_GET_BT_CAPS,        0, 0, app_get_bt_caps,        "bt caps" },
	{ APP_GET_SYSTEM_GUID,    0, 0, app_get_guid,           "system guid" },
	{ APP_GET_CHANNEL_INFO,   1, 1, app_get_channel_info,   "channel" },
};
#define APP_NCMDS	(sizeof(app_cmds) / sizeof(app_cmds[0]))

static struct app_state app;
static volatile sig_atomic_t app_quit;

static void	app_usage(void) __attribute__((noreturn));
static void	app_log(int, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	app_log_lib(enum ipmic_log_level, const char *, void *);
static void	app_on_signal(int);
static int	app_signals(void);
static int	app_config_load(const char *, struct app_device *);
static int	app_connect(struct app_state *, const char *);
static int	app_loop(struct app_state *);
static int	app_register_all(struct app_state *);
static void	app_request(struct ipmic *, struct ipmic_request *, void *);
static const struct app_cmd *app_cmd_find(uint8_t);
static uint8_t	app_handle(struct app_state *, const struct ipmic_request *,
		    uint8_t *, size_t *);
static int	app_config_read(FILE *, const char *, struct app_device *,
		    char *, size_t);
static int	app_config_set(void *, const char *, const char *,
		    const char *);
static const char *app_config_key(struct app_device *, const char *,
		    const char *);
static int	app_parse_number(const char *, unsigned long,
		    unsigned long *);
static int	app_parse_firmware(const char *, uint8_t *, uint8_t *);
static int	app_hex_digit(char);
static int	app_parse_hex(const char *, uint8_t *, size_t);
static int	app_parse_guid(const char *, uint8_t *);

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
	const char	*config = APP_DEFAULT_CONFIG, *socket = NULL;
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
			app.verbose = 1;
			break;
		default:
			app_usage();
		}
	}
	if (optind != argc)
		app_usage();

	if (app_config_load(config, &app.dev) != 0)
		return 1;
	if (app_signals() == -1) {
		app_log(IPMIC_LOG_ERR, "sigaction: %s", strerror(errno));
		return 1;
	}
	if (app_connect(&app, socket) != 0)
		status = app_quit ? 0 : 1;
	else if (app_register_all(&app) == 0 && app_loop(&app) == 0)
		status = 0;
	app.client = ipmic_free(app.client);
	return status;
}

static void
app_usage(void)
{
	fprintf(stderr, "usage: ipmi-handler-app [-v] [-c config] "
	    "[--socket path]\n");
	exit(1);
}

static void
app_log(int level, const char *fmt, ...)
{
	static const char *const prefix[] = {
		[IPMIC_LOG_ERR] = "error: ",
		[IPMIC_LOG_WARN] = "warning: ",
		[IPMIC_LOG_INFO] = "",
		[IPMIC_LOG_DEBUG] = "debug: ",
	};
	va_list	ap;

	if (level < IPMIC_LOG_ERR || level > IPMIC_LOG_DEBUG)
		level = IPMIC_LOG_INFO;
	if (level == IPMIC_LOG_DEBUG && !app.verbose)
		return;
	fprintf(stderr, "ipmi-handler-app: %s", prefix[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
app_log_lib(enum ipmic_log_level level, const char *msg, void *arg)
{
	app_log(level, "%s", msg);
}

static void
app_on_signal(int sig)
{
	app_quit = 1;
	if (app.client != NULL)
		ipmic_stop(app.client);
}

/* No SA_RESTART: a signal must interrupt the library's wait. */
static int
app_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = app_on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		return -1;
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

/* Read the config file, or say what is wrong with it. */
static int
app_config_load(const char *path, struct app_device *dev)
{
	char	 err[256];
	FILE	*f;
	int	 rv;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	rv = app_config_read(f, path, dev, err, sizeof(err));
	fclose(f);
	if (rv != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if (!dev->has_guid)
		app_log(IPMIC_LOG_WARN, "%s: no guid; answering an all-zero "
		    "GUID", path);
	return 0;
}

/*
 * Connect to the broker, retrying in short steps so that SIGTERM stops a
 * long wait. Returns 0, or -1 (also when a signal came first: app_quit).
 */
static int
app_connect(struct app_state *st, const char *socket)
{
	int	rv;

	if ((st->client = ipmic_new("app")) == NULL) {
		app_log(IPMIC_LOG_ERR, "ipmic_new: %s", strerror(errno));
		return -1;
	}
	ipmic_set_log(st->client, app_log_lib, NULL);
	if (socket != NULL &&
	    (rv = ipmic_set_socket(st->client, socket)) != 0) {
		app_log(IPMIC_LOG_ERR, "socket %s: %s", socket,
		    ipmic_strerror(rv));
		return -1;
	}
	do {
		rv = ipmic_connect(st->client, 1000);
	} while (rv == -ETIMEDOUT && !app_quit);
	if (app_quit) {
		app_log(IPMIC_LOG_INFO, "exiting on signal");
		return -1;
	}
	if (rv != 0) {
		app_log(IPMIC_LOG_ERR, "connect: %s", ipmic_strerror(rv));
		return -1;
	}
	return 0;
}

/*
 * Serve until SIGTERM or SIGINT. The signal handler calls ipmic_stop(),
 * which only sets a flag that ipmic_run() checks when its poll() returns,
 * here with EINTR. Returns 0 on a signal, -1 on a failure.
 */
static int
app_loop(struct app_state *st)
{
	int	rv;

	app_log(IPMIC_LOG_INFO, "serving %zu app commands", APP_NCMDS);
	while (!app_quit) {
		rv = ipmic_run(st->client);
		if (rv < 0 && rv != -EINTR) {
			app_log(IPMIC_LOG_ERR, "run: %s", ipmic_strerror(rv));
			return -1;
		}
	}
	app_log(IPMIC_LOG_INFO, "exiting on signal");
	return 0;
}

/* Register every row of app_cmds[] on LUN 0 of every channel. */
static int
app_register_all(struct app_state *st)
{
	struct ipmic_key	key;
	struct ipmic_error	err;
	size_t			i;
	int			rv;

	for (i = 0; i < APP_NCMDS; i++) {
		memset(&key, 0, sizeof(key));
		key.netfn = APP_NETFN;
		key.cmd = app_cmds[i].cmd;
		key.lun_mask = 1 << 0;
		memset(&err, 0, sizeof(err));
		rv = ipmic_register(st->client, &key, 0, app_request, st, &err);
		if (rv == IPMIC_E_CONFLICT) {
			app_log(IPMIC_LOG_ERR, "register 0x%02x/0x%02x (%s): "
			    "held by %s[%u]: %s", key.netfn, key.cmd,
			    app_cmds[i].name, err.holder_name, err.holder_pid,
			    err.message);
			return -1;
		}
		if (rv != 0) {
			app_log(IPMIC_LOG_ERR, "register 0x%02x/0x%02x (%s): "
			    "%s%s%s", key.netfn, key.cmd, app_cmds[i].name,
			    ipmic_strerror(rv), rv > 0 ? ": " : "",
			    rv > 0 ? err.message : "");
			return -1;
		}
	}
	return 0;
}

/* The library's request callback: run the command, answer at once. */
static void
app_request(struct ipmic *c, struct ipmic_request *req, void *arg)
{
	struct app_state	*st = arg;
	uint8_t			 rsp[APP_RSP_MAX];
	size_t			 len;
	uint8_t			 cmd = req->cmd, cc;
	int			 rv;

	cc = app_handle(st, req, rsp, &len);
	app_log(IPMIC_LOG_DEBUG, "cmd 0x%02x on channel %u, %zu bytes: "
	    "cc 0x%02x, %zu bytes", cmd, req->channel, req->len, cc, len);
	if ((rv = ipmic_reply(req, cc, rsp, len)) < 0)
		app_log(IPMIC_LOG_WARN, "cmd 0x%02x: reply: %s", cmd,
		    ipmic_strerror(rv));
}

static const struct app_cmd *
app_cmd_find(uint8_t cmd)
{
	size_t	i;

	for (i = 0; i < APP_NCMDS; i++)
		if (app_cmds[i].cmd == cmd)
			return &app_cmds[i];
	return NULL;
}

/*
 * Check the request against its table row and run the command. Returns
 * the completion code; rsp and *rsp_len hold the data after it.
 */
static uint8_t
app_handle(struct app_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	const struct app_cmd	*cmd;
	uint8_t			 cc;

	*rsp_len = 0;
	if ((cmd = app_cmd_find(req->cmd)) == NULL)
		return IPMI_CC_INVALID_CMD;
	if (req->len < cmd->min_len || req->len > cmd->max_len)
		return IPMI_CC_BAD_LENGTH;
	cc = cmd->fn(st, req, rsp, rsp_len);
	if (cc != IPMI_CC_OK)
		*rsp_len = 0;
	return cc;
}

/*
 * Get Device ID: 11 data bytes, 15 with the auxiliary firmware revision.
 * Byte 2 bit 7 (device SDRs) stays clear so that ipmitool uses the SDR
 * repository commands; byte 3 bit 7 clear says the device is available.
 */
static uint8_t
app_get_device_id(struct app_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	const struct app_device	*dev = &st->dev;
	uint8_t			*p = rsp;

	*p++ = dev->device_id;
	*p++ = dev->device_revision & 0x0f;
	*p++ = dev->fw_major & 0x7f;
	*p++ = dev->fw_minor;
	*p++ = IPMI_VERSION_2_0;
	*p++ = dev->additional_support;
	*p++ = dev->manufacturer_id & 0xff;
	*p++ = (dev->manufacturer_id >> 8) & 0xff;
	*p++ = (dev->manufacturer_id >> 16) & 0x0f;
	*p++ = dev->product_id & 0xff;
	*p++ = dev->product_id >> 8;
	if (dev->has_aux) {
		memcpy(p, dev->aux, sizeof(dev->aux));
		p += sizeof(dev->aux);
	}
	*rsp_len = p - rsp;
	return IPMI_CC_OK;
}

/* Nothing is tested yet, so nothing failed. */
static uint8_t
app_get_self_test(struct app_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	rsp[0] = IPMI_SELF_TEST_PASSED;
	rsp[1] = 0x00;
	*rsp_len = 2;
	return IPMI_CC_OK;
}

/* Get Device GUID and Get System GUID: one GUID serves both for now. */
static uint8_t
app_get_guid(struct app_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	memcpy(rsp, st->dev.guid, sizeof(st->dev.guid));
	*rsp_len = sizeof(st->dev.guid);
	return IPMI_CC_OK;
}

/*
 * The enables start at 0 and the host sets them. When the Linux ipmi_si
 * driver probes (drivers/char/ipmi/ipmi_si_intf.c), try_enable_event_buffer()
 * reads the enables and, if bit 2 (event message buffer) is clear, sets
 * it and reads them back: the bit sticking is how it learns the BMC has an
 * event buffer, after which it polls Read Event Message Buffer. With an
 * interrupt it also sets bit 0 (receive message interrupt) and bit 1; a
 * Set that fails makes it log "the BMC needs to be fixed". Later, from
 * its timer, it re-reads the enables and rewrites bits 0-2 if a BMC reset
 * lost them, keeping the other bits as read. So: store what is written.
 */
static uint8_t
app_set_global_enables(struct app_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	if (req->data[0] & APP_ENABLES_RESERVED)
		return IPMI_CC_INVALID_FIELD;
	st->global_enables = req->data[0];
	return IPMI_CC_OK;
}

static uint8_t
app_get_global_enables(struct app_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	rsp[0] = st->global_enables;
	*rsp_len = 1;
	return IPMI_CC_OK;
}

static uint8_t
app_clear_msg_flags(struct app_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	st->msg_flags &= ~req->data[0];
	return IPMI_CC_OK;
}

/* No receive queue or event buffer yet, so no flag is ever set. */
static uint8_t
app_get_msg_flags(struct app_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	rsp[0] = st->msg_flags;
	*rsp_len = 1;
	return IPMI_CC_OK;
}

/* Get Message and Read Event Message Buffer: always empty for now. */
static uint8_t
app_queue_empty(struct app_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	return IPMI_CC_EMPTY;
}

/*
 * Get BT Interface Capabilities, from the facts of the bus it came on.
 * BT buffer sizes count the whole BT message: a request is length, netfn,
 * seq and cmd (4 bytes) plus data; a response adds the completion code (5
 * bytes). The length byte limits either to 255. The timeout is the
 * broker's deadline rounded up to whole seconds: within it the host
 * always gets an answer, even if only a fallback completion code.
 */
static uint8_t
app_get_bt_caps(struct app_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	const struct ipmic_bus_facts	*f = &req->facts;
	unsigned long			 in, out, secs, outstanding;

	outstanding = f->max_outstanding < 1 ? 1 : f->max_outstanding;
	in = (unsigned long)f->max_request + 4;
	out = (unsigned long)f->max_response + 5;
	secs = (f->deadline_ms + 999) / 1000;
	if (secs < 1)
		secs = 1;

	rsp[0] = outstanding > 255 ? 255 : outstanding;
	rsp[1] = in > 255 ? 255 : in;
	rsp[2] = out > 255 ? 255 : out;
	rsp[3] = secs > 255 ? 255 : secs;
	rsp[4] = 2;			/* recommended retries */
	*rsp_len = 5;
	return IPMI_CC_OK;
}

/*
 * Get Channel Info, only for the channel the request came on (or 0x0E,
 * "this channel"): the handler knows no other. No sessions on it.
 */
static uint8_t
app_get_channel_info(struct app_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	uint8_t	channel = req->data[0] & 0x0f;	/* bits 7:4 reserved */

	if (channel != IPMI_CHANNEL_THIS && channel != req->channel)
		return IPMI_CC_NOT_PRESENT;

	rsp[0] = req->channel & 0x0f;
	rsp[1] = req->facts.medium != 0 ? req->facts.medium & 0x7f :
	    IPMI_MEDIUM_SYSTEM_IF;
	rsp[2] = req->facts.protocol & 0x1f;
	rsp[3] = 0x00;				/* sessionless */
	rsp[4] = IPMI_IANA_IPMI_FORUM & 0xff;
	rsp[5] = (IPMI_IANA_IPMI_FORUM >> 8) & 0xff;
	rsp[6] = (IPMI_IANA_IPMI_FORUM >> 16) & 0xff;
	rsp[7] = 0x00;				/* aux info */
	rsp[8] = 0x00;
	*rsp_len = 9;
	return IPMI_CC_OK;
}

/* The ini parser's state: the device and the first error seen. */
struct app_config_ctx {
	struct app_device	*dev;
	const char		*error;
	char			 section_error[96];
};

/*
 * Read the config from f into dev. Returns 0, or -1 with "path:line: what"
 * in err. Keys not given keep the defaults (all zero, no aux, no guid).
 */
static int
app_config_read(FILE *f, const char *path, struct app_device *dev,
    char *err, size_t errlen)
{
	struct app_config_ctx	ctx;
	int			line;

	memset(dev, 0, sizeof(*dev));
	memset(&ctx, 0, sizeof(ctx));
	ctx.dev = dev;
	line = ini_parse_file(f, app_config_set, &ctx);
	if (line == 0)
		return 0;
	if (line < 0)
		snprintf(err, errlen, "%s: cannot read the file", path);
	else
		snprintf(err, errlen, "%s:%d: %s", path, line,
		    ctx.error != NULL ? ctx.error : "syntax error");
	return -1;
}

/* inih callback: returns 1 to go on, 0 for an error at this line. */
static int
app_config_set(void *arg, const char *section, const char *name,
    const char *value)
{
	struct app_config_ctx	*ctx = arg;
	const char		*error;

	if (strcmp(section, "device") != 0) {
		snprintf(ctx->section_error, sizeof(ctx->section_error),
		    "unknown section [%.64s]", section);
		error = ctx->section_error;
	} else
		error = app_config_key(ctx->dev, name, value);
	if (error == NULL)
		return 1;
	if (ctx->error == NULL)		/* inih reports the first line */
		ctx->error = error;
	return 0;
}

/* Set one [device] key. Returns NULL, or what is wrong with it. */
static const char *
app_config_key(struct app_device *dev, const char *name, const char *value)
{
	unsigned long	n;

	if (strcmp(name, "device_id") == 0) {
		if (app_parse_number(value, 0xff, &n) != 0)
			return "device_id: expected a number from 0 to 255";
		dev->device_id = n;
	} else if (strcmp(name, "device_revision") == 0) {
		if (app_parse_number(value, 0x0f, &n) != 0)
			return "device_revision: expected a number from 0 "
			    "to 15";
		dev->device_revision = n;
	} else if (strcmp(name, "firmware") == 0) {
		if (app_parse_firmware(value, &dev->fw_major,
		    &dev->fw_minor) != 0)
			return "firmware: expected MAJOR.MINOR, major 0 to "
			    "127 and two minor digits, as 1.02";
	} else if (strcmp(name, "manufacturer_id") == 0) {
		if (app_parse_number(value, 0xfffff, &n) != 0)
			return "manufacturer_id: expected an IANA number "
			    "from 0 to 0xfffff";
		dev->manufacturer_id = n;
	} else if (strcmp(name, "product_id") == 0) {
		if (app_parse_number(value, 0xffff, &n) != 0)
			return "product_id: expected a number from 0 to "
			    "0xffff";
		dev->product_id = n;
	} else if (strcmp(name, "aux_firmware") == 0) {
		if (app_parse_hex(value, dev->aux, sizeof(dev->aux)) != 0)
			return "aux_firmware: expected 8 hex digits";
		dev->has_aux = true;
	} else if (strcmp(name, "additional_support") == 0) {
		if (app_parse_number(value, 0xff, &n) != 0)
			return "additional_support: expected a number from 0 "
			    "to 0xff";
		dev->additional_support = n;
	} else if (strcmp(name, "guid") == 0) {
		if (app_parse_guid(value, dev->guid) != 0)
			return "guid: expected the form "
			    "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
		dev->has_guid = true;
	} else
		return "unknown key in [device]";
	return NULL;
}

/* A decimal or 0x-prefixed hex number no larger than max. */
static int
app_parse_number(const char *s, unsigned long max, unsigned long *out)
{
	char	*end;
	int	 base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		base = 16;
	}
	if (app_hex_digit(*s) < 0)	/* no sign, no blank */
		return -1;
	errno = 0;
	*out = strtoul(s, &end, base);
	if (errno != 0 || *end != '\0' || *out > max)
		return -1;
	return 0;
}

/* "1.02": major 1 in binary, minor 02 as BCD 0x02 (ipmitool: %x). */
static int
app_parse_firmware(const char *s, uint8_t *major, uint8_t *minor)
{
	unsigned int	n = 0;
	size_t		i;

	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		n = n * 10 + (s[i] - '0');
		if (n > 127)
			return -1;
	}
	if (i == 0 || s[i] != '.' || strlen(s + i + 1) != 2)
		return -1;
	s += i + 1;
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	*major = n;
	*minor = (s[0] - '0') << 4 | (s[1] - '0');
	return 0;
}

static int
app_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 2 * len hex digits into len bytes, first digits first. */
static int
app_parse_hex(const char *s, uint8_t *out, size_t len)
{
	size_t	i;
	int	hi, lo;

	if (strlen(s) != 2 * len)
		return -1;
	for (i = 0; i < len; i++) {
		if ((hi = app_hex_digit(s[2 * i])) < 0 ||
		    (lo = app_hex_digit(s[2 * i + 1])) < 0)
			return -1;
		out[i] = hi << 4 | lo;
	}
	return 0;
}

/*
 * The text form of a GUID (RFC 4122) into the 16 bytes IPMI sends. IPMI
 * stores a GUID least significant byte first, fields in the reverse order
 * of RFC 4122 (node first, time_low last): the RFC's 16-byte big-endian
 * string reversed as a whole, as EDK2's IPMI headers describe it.
 */
static int
app_parse_guid(const char *s, uint8_t *out)
{
	static const size_t	 dash[] = { 8, 13, 18, 23 };
	uint8_t			 rfc[16];
	char			 hex[33];
	size_t			 i, j, n = 0;

	if (strlen(s) != 36)
		return -1;
	for (i = 0, j = 0; i < 36; i++) {
		if (j < 4 && i == dash[j]) {
			if (s[i] != '-')
				return -1;
			j++;
		} else
			hex[n++] = s[i];
	}
	hex[n] = '\0';
	if (app_parse_hex(hex, rfc, sizeof(rfc)) != 0)
		return -1;
	for (i = 0; i < sizeof(rfc); i++)
		out[i] = rfc[sizeof(rfc) - 1 - i];
	return 0;
}
