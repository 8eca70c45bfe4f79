/* SPDX-License-Identifier: MIT */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
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
#include "handler-signal.h"

/*
 * ipmi-handler-app: the Application netfn (0x06) of a minimal BMC.
 *
 * It answers what a host driver and ipmitool ask first: Get Device ID, the
 * self test, the GUIDs, global enables and message flags, Get Channel Info
 * and Get BT Interface Capabilities. The device identity comes from a small
 * ini file read once at start.
 *
 * It also owns the two queues a host reads when the BMC raises attention
 * (SMS_ATN) on its system interface: the event message buffer (one event,
 * read with Read Event Message Buffer) and the receive message queue (read
 * with Get Message). Other handlers fill them by sending requests through
 * the broker, which reach this handler on the broker's internal channel
 * only: the SEL handler forwards each Platform Event (Sensor/Event 0x02)
 * it logged, and any handler can queue a message for the host with Send
 * Message (App 0x34) to the system interface channel. Message flags bit 1
 * and bit 0 say what is there; attention is raised on the buses the host
 * talks through (learned from its requests, or named in the config) while
 * a flag is set, and cleared once none is. A host reset empties both and
 * clears the global enables, as a freshly booted host expects.
 *
 * Get Device ID's "additional device support" bits tell which other
 * handlers are running, because ipmitool picks its SDR, SEL and FRU
 * commands from them: they come from the broker's live registration table
 * (Get Command Support), refreshed in the background, never waited for.
 * The GUID can be generated once and kept in a file.
 *
 * The only peer is the broker, through libipmiclient. The broker has checked
 * the frame, but the request data is the host's (or another handler's) and
 * is not trusted: each command's length is checked against the table below
 * before its function runs. The command functions take bytes and return
 * bytes (a completion code plus response data) and never call the library,
 * so the unit tests run them without a broker.
 *
 * To add a command: write one app_<command>() function and add a row to
 * app_cmds[]; registration and length checks follow from the row.
 */

#define APP_NETFN		0x06
#define SE_NETFN		0x04	/* Sensor/Event */
#define STORAGE_NETFN		0x0a
#define CHASSIS_NETFN		0x00
#define APP_DEFAULT_CONFIG	"/etc/ipmi-broker/app-handler.conf"
#define APP_MSG_MAX		63	/* a queued message's bytes */
#define APP_RSP_MAX		(1 + APP_MSG_MAX)	/* Get Message */
#define APP_RECV_QUEUE_MAX	16
#define APP_EVENT_LEN		16	/* one SEL-format record */
#define APP_BUSES_MAX		8
#define APP_BUS_NAME_MAX	32
#define APP_SUPPORT_REFRESH_MS	1000
#define APP_INTERNAL_CHANNEL	0x0d	/* the broker's default */

/* Application commands (IPMI 2.0, table G-1). */
#define APP_GET_DEVICE_ID	0x01
#define APP_GET_SELF_TEST	0x04
#define APP_GET_DEVICE_GUID	0x08
#define APP_SET_GLOBAL_ENABLES	0x2e
#define APP_GET_GLOBAL_ENABLES	0x2f
#define APP_CLEAR_MSG_FLAGS	0x30
#define APP_GET_MSG_FLAGS	0x31
#define APP_GET_MESSAGE		0x33
#define APP_SEND_MESSAGE	0x34
#define APP_READ_EVENT_BUFFER	0x35
#define APP_GET_BT_CAPS		0x36
#define APP_GET_SYSTEM_GUID	0x37
#define APP_GET_CHANNEL_INFO	0x42
#define APP_GET_COMMAND_SUPPORT	0x0a	/* answered by the broker */
#define SE_PLATFORM_EVENT	0x02

/* Completion codes used here. */
#define IPMI_CC_OK		0x00
#define IPMI_CC_EMPTY		0x80	/* command-specific: nothing queued */
#define IPMI_CC_INVALID_CMD	0xc1
#define IPMI_CC_OUT_OF_SPACE	0xc4
#define IPMI_CC_BAD_LENGTH	0xc7
#define IPMI_CC_NOT_PRESENT	0xcb
#define IPMI_CC_INVALID_FIELD	0xcc

#define IPMI_VERSION_2_0	0x02	/* BCD, minor in the high nibble */
#define IPMI_CHANNEL_THIS	0x0e
#define IPMI_CHANNEL_SYSTEM_IF	0x0f
#define IPMI_MEDIUM_SYSTEM_IF	12
#define IPMI_IANA_IPMI_FORUM	7154	/* protocol vendor in Channel Info */
#define IPMI_SELF_TEST_PASSED	0x55

/* Set BMC Global Enables: bit 4 is reserved, the others may be set. */
#define APP_ENABLES_RESERVED	0x10
#define APP_ENABLES_EVENT_BUF	0x04	/* event message buffer enabled */
#define APP_ENABLES_RECV_IRQ	0x01	/* receive message queue interrupt */

/* Message flags (Get/Clear Message Flags). */
#define APP_FLAG_RECEIVE	0x01	/* receive message available */
#define APP_FLAG_EVENT		0x02	/* event message buffer full */
#define APP_FLAGS_ATTENTION	(APP_FLAG_RECEIVE | APP_FLAG_EVENT)

#define IPMI_SEL_SYSTEM_EVENT	0x02	/* SEL record type */

/* Additional device support bits (Get Device ID byte 6). */
#define APP_SUPPORT_SENSOR	0x01
#define APP_SUPPORT_SDR		0x02
#define APP_SUPPORT_SEL		0x04
#define APP_SUPPORT_FRU		0x08
#define APP_SUPPORT_CHASSIS	0x80

/* What the config file says about this device (Get Device ID, GUIDs). */
struct app_device {
	uint8_t		device_id;
	uint8_t		device_revision;	/* 0..15 */
	uint8_t		fw_major;		/* binary, 0..127 */
	uint8_t		fw_minor;		/* BCD, 0x00..0x99 */
	bool		auto_support;		/* from the broker */
	uint8_t		additional_support;	/* when not auto */
	uint32_t	manufacturer_id;	/* 20-bit IANA number */
	uint16_t	product_id;
	bool		has_aux;
	uint8_t		aux[4];			/* in wire order */
	bool		has_guid;
	uint8_t		guid[16];		/* in wire order */
	char		guid_file[PATH_MAX];	/* "" none */
	uint8_t		internal_channel;
	char		buses[APP_BUSES_MAX][APP_BUS_NAME_MAX];
	size_t		nbuses;			/* attention buses given */
};

/* A message queued for the host (Get Message). */
struct app_msg {
	uint8_t		channel;		/* where it came from */
	uint8_t		len;
	uint8_t		data[APP_MSG_MAX];
};

/* A bus the host talks through, and whether we raised attention there. */
struct app_bus {
	char		name[APP_BUS_NAME_MAX];
	bool		raised;
	bool		irq_on;		/* told the bus to interrupt */
};

struct app_state {
	struct app_device dev;
	uint8_t		global_enables;
	uint8_t		msg_flags;		/* flags no queue stands for */

	struct app_msg	recv_q[APP_RECV_QUEUE_MAX];
	size_t		recv_head;
	size_t		recv_count;
	uint8_t		event[APP_EVENT_LEN];
	bool		event_full;

	struct app_bus	buses[APP_BUSES_MAX];
	size_t		nbuses;

	/* Additional device support, from Get Command Support answers. */
	uint8_t		support;
	uint8_t		support_next;		/* being collected */
	int		support_pending;	/* answers still to come */
	int64_t		support_ms;		/* when last asked */
	uint8_t		support_channel;
	struct app_support_query {
		struct app_state *st;
		uint8_t		 netfn;
	}		support_q[3];

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
static app_cmd_fn app_get_message;
static app_cmd_fn app_send_message;
static app_cmd_fn app_read_event_buffer;
static app_cmd_fn app_get_bt_caps;
static app_cmd_fn app_get_channel_info;
static app_cmd_fn app_platform_event;

/*
 * The commands served, with the request data lengths each accepts. Rows
 * marked internal are registered on the broker's internal channel only:
 * they are how other handlers feed the queues, never the host.
 */
static const struct app_cmd {
	uint8_t		 netfn;
	uint8_t		 cmd;
	uint8_t		 min_len;
	uint8_t		 max_len;
	bool		 internal;
	app_cmd_fn	*fn;
	const char	*name;
} app_cmds[] = {
	{ APP_NETFN, APP_GET_DEVICE_ID,      0, 0, false, app_get_device_id,
	  "device id" },
	{ APP_NETFN, APP_GET_SELF_TEST,      0, 0, false, app_get_self_test,
	  "self test" },
	{ APP_NETFN, APP_GET_DEVICE_GUID,    0, 0, false, app_get_guid,
	  "device guid" },
	{ APP_NETFN, APP_SET_GLOBAL_ENABLES, 1, 1, false,
	  app_set_global_enables, "set enables" },
	{ APP_NETFN, APP_GET_GLOBAL_ENABLES, 0, 0, false,
	  app_get_global_enables, "get enables" },
	{ APP_NETFN, APP_CLEAR_MSG_FLAGS,    1, 1, false, app_clear_msg_flags,
	  "clear flags" },
	{ APP_NETFN, APP_GET_MSG_FLAGS,      0, 0, false, app_get_msg_flags,
	  "get flags" },
	{ APP_NETFN, APP_GET_MESSAGE,        0, 0, false, app_get_message,
	  "get message" },
	{ APP_NETFN, APP_READ_EVENT_BUFFER,  0, 0, false,
	  app_read_event_buffer, "read event" },
	{ APP_NETFN, APP_GET_BT_CAPS,        0, 0, false, app_get_bt_caps,
	  "bt caps" },
	{ APP_NETFN, APP_GET_SYSTEM_GUID,    0, 0, false, app_get_guid,
	  "system guid" },
	{ APP_NETFN, APP_GET_CHANNEL_INFO,   1, 1, false, app_get_channel_info,
	  "channel" },
	{ APP_NETFN, APP_SEND_MESSAGE,       3, 1 + APP_MSG_MAX, true,
	  app_send_message, "send message" },
	{ SE_NETFN, SE_PLATFORM_EVENT,       8, APP_EVENT_LEN, true,
	  app_platform_event, "platform event" },
};
#define APP_NCMDS	(sizeof(app_cmds) / sizeof(app_cmds[0]))

static struct app_state app;
static volatile sig_atomic_t app_quit;

static void	app_usage(void) __attribute__((noreturn));
static void	app_log(int, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	app_log_lib(enum ipmic_log_level, const char *, void *);
static int	app_config_load(const char *, struct app_device *);
static void	app_init(struct app_state *);
static int	app_connect(struct app_state *, const char *);
static int	app_loop(struct app_state *);
static int	app_register_all(struct app_state *);
static void	app_request(struct ipmic *, struct ipmic_request *, void *);
static void	app_event(struct ipmic *, enum ipmic_event,
		    const struct ipmic_key *, void *);
static void	app_bus_event(struct ipmic *, enum ipmic_bus_event,
		    const char *, void *);
static void	app_learn_bus(struct app_state *, const struct ipmic_request *);
static void	app_irq_sync(struct app_state *, const char *);
static void	app_attention_sync(struct app_state *);
static void	app_host_reset(struct app_state *);
static uint8_t	app_flags(const struct app_state *);
static void	app_support_refresh(struct app_state *);
static int	app_guid_load(struct app_device *, const char *);
static int	app_guid_write(const char *, const char *);
static const struct app_cmd *app_cmd_find(uint8_t, uint8_t);
static uint8_t	app_handle(struct app_state *, const struct ipmic_request *,
		    uint8_t *, size_t *);
static int	app_config_read(FILE *, const char *, struct app_device *,
		    char *, size_t);
static int	app_config_set(void *, const char *, const char *,
		    const char *);
static const char *app_config_key(struct app_device *, const char *,
		    const char *);
static const char *app_config_events(struct app_device *, const char *,
		    const char *);
static int	app_parse_number(const char *, unsigned long,
		    unsigned long *);
static int	app_parse_firmware(const char *, uint8_t *, uint8_t *);
static int	app_hex_digit(char);
static int	app_parse_hex(const char *, uint8_t *, size_t);
static int	app_parse_guid(const char *, uint8_t *);
static void	app_format_guid(const uint8_t *, char *);

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
	app_init(&app);
	if (handler_signals(&app_quit, &app.client) == -1) {
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
	va_list	ap;

	va_start(ap, fmt);
	handler_vlog("ipmi-handler-app", app.verbose, level, fmt, ap);
	va_end(ap);
}

static void
app_log_lib(enum ipmic_log_level level, const char *msg, void *arg)
{
	app_log(level, "%s", msg);
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
	if (!dev->has_guid && dev->guid_file[0] != '\0')
		return app_guid_load(dev, dev->guid_file);
	if (!dev->has_guid)
		app_log(IPMIC_LOG_WARN, "%s: no guid or guid_file; answering "
		    "an all-zero GUID", path);
	return 0;
}

/* The state at start: the configured attention buses, nothing queued. */
static void
app_init(struct app_state *st)
{
	size_t	i;

	for (i = 0; i < st->dev.nbuses; i++)
		snprintf(st->buses[i].name, sizeof(st->buses[i].name), "%s",
		    st->dev.buses[i]);
	st->nbuses = st->dev.nbuses;
	st->support_channel = 0x0f;		/* system interface */
}

/*
 * The GUID file: its text form is read if it exists; otherwise a version
 * 4 GUID (RFC 4122) is made from /dev/urandom and written there (to a
 * temporary file first, renamed, so a crash never leaves half a GUID). A
 * relative path is taken in $STATE_DIRECTORY (systemd's StateDirectory=);
 * without one, nothing is kept and the GUID is all zero. A file that
 * exists but does not hold a GUID stops the handler: replacing a machine's
 * identity silently would be worse. Returns 0 or -1.
 */
static int
app_guid_load(struct app_device *dev, const char *name)
{
	const char	*dir = getenv("STATE_DIRECTORY");
	char		 path[PATH_MAX], text[40];
	uint8_t		 rfc[16];
	size_t		 i, n;
	FILE		*f;
	int		 fd, ok;

	if (name[0] != '/' && (dir == NULL || dir[0] == '\0')) {
		app_log(IPMIC_LOG_WARN, "guid_file %s is relative and "
		    "STATE_DIRECTORY is not set; answering an all-zero GUID",
		    name);
		return 0;
	}
	/* systemd may list several directories, ':'-separated: the first. */
	n = name[0] == '/' ? 0 : strcspn(dir, ":");
	if ((size_t)snprintf(path, sizeof(path), "%.*s%s%s", (int)n,
	    n > 0 ? dir : "", n > 0 ? "/" : "", name) >= sizeof(path)) {
		app_log(IPMIC_LOG_ERR, "guid_file %s: path too long", name);
		return -1;
	}
	if ((f = fopen(path, "r")) != NULL) {
		ok = fgets(text, sizeof(text), f) != NULL;
		fclose(f);
		text[strcspn(text, "\n")] = '\0';
		if (!ok || app_parse_guid(text, dev->guid) != 0) {
			app_log(IPMIC_LOG_ERR, "%s: not a GUID; remove it to "
			    "make a new one", path);
			return -1;
		}
		dev->has_guid = true;
		return 0;
	}
	if (errno != ENOENT) {
		app_log(IPMIC_LOG_ERR, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) == -1 ||
	    read(fd, rfc, sizeof(rfc)) != sizeof(rfc)) {
		app_log(IPMIC_LOG_ERR, "/dev/urandom: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	rfc[6] = (rfc[6] & 0x0f) | 0x40;	/* version 4 */
	rfc[8] = (rfc[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	for (i = 0; i < sizeof(rfc); i++)
		dev->guid[i] = rfc[sizeof(rfc) - 1 - i];
	dev->has_guid = true;
	app_format_guid(dev->guid, text);
	if (app_guid_write(path, text) != 0) {
		app_log(IPMIC_LOG_WARN, "%s: %s; GUID %s is not kept for the "
		    "next start", path, strerror(errno), text);
		return 0;
	}
	app_log(IPMIC_LOG_INFO, "%s: new GUID %s", path, text);
	return 0;
}

/* Write text and a newline to path through path.tmp; 0 or -1 (errno). */
static int
app_guid_write(const char *path, const char *text)
{
	char	tmp[PATH_MAX + 8];
	int	fd, len, saved;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		return -1;
	len = (int)strlen(text);
	if (write(fd, text, len) != len || write(fd, "\n", 1) != 1 ||
	    fsync(fd) != 0) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
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
	ipmic_set_event(st->client, app_event, st);
	ipmic_set_bus_event(st->client, app_bus_event, st);
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

/*
 * Register every row of app_cmds[] on LUN 0 of every channel, or of the
 * internal channel only; then start learning the support bits.
 */
static int
app_register_all(struct app_state *st)
{
	struct ipmic_key	key;
	struct ipmic_error	err;
	size_t			i;
	int			rv;

	for (i = 0; i < APP_NCMDS; i++) {
		memset(&key, 0, sizeof(key));
		key.netfn = app_cmds[i].netfn;
		key.cmd = app_cmds[i].cmd;
		key.lun_mask = 1 << 0;
		if (app_cmds[i].internal)
			key.channel_mask = 1 << st->dev.internal_channel;
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
	app_support_refresh(st);
	return 0;
}

/*
 * The library's request callback: run the command and answer at once;
 * then raise or clear attention if the flags changed, and refresh the
 * support bits in the background when Get Device ID was asked.
 */
static void
app_request(struct ipmic *c, struct ipmic_request *req, void *arg)
{
	struct app_state	*st = arg;
	uint8_t			 rsp[APP_RSP_MAX];
	char			 bus[APP_BUS_NAME_MAX];
	size_t			 len;
	uint8_t			 netfn = req->netfn, cmd = req->cmd, cc;
	int			 rv;

	app_learn_bus(st, req);
	if (netfn == APP_NETFN && cmd == APP_GET_DEVICE_ID &&
	    req->channel != st->dev.internal_channel)
		st->support_channel = req->channel;
	cc = app_handle(st, req, rsp, &len);
	app_log(IPMIC_LOG_DEBUG, "0x%02x/0x%02x on %s channel %u, %zu bytes: "
	    "cc 0x%02x, %zu bytes", netfn, cmd, req->facts.bus, req->channel,
	    req->len, cc, len);
	snprintf(bus, sizeof(bus), "%s", req->facts.bus);
	if ((rv = ipmic_reply(req, cc, rsp, len)) < 0)
		app_log(IPMIC_LOG_WARN, "0x%02x/0x%02x: reply: %s", netfn, cmd,
		    ipmic_strerror(rv));
	/* After the answer: the interface acts on what the host just set. */
	if (netfn == APP_NETFN && cmd == APP_SET_GLOBAL_ENABLES && cc == 0)
		app_irq_sync(st, bus);
	app_attention_sync(st);
	if (netfn == APP_NETFN && cmd == APP_GET_DEVICE_ID)
		app_support_refresh(st);
}

/* Reconnected to a (new) broker: what is registered may have changed. */
static void
app_event(struct ipmic *c, enum ipmic_event ev, const struct ipmic_key *key,
    void *arg)
{
	struct app_state	*st = arg;

	if (ev == IPMIC_EV_REGISTERED_AGAIN) {
		st->support_ms = 0;
		st->support_pending = 0;	/* those answers are lost */
		app_support_refresh(st);
	}
}

/*
 * A host reset forgets what the old host had been sent, and a bus driver
 * that comes back starts with attention clear: raise it again if needed.
 */
static void
app_bus_event(struct ipmic *c, enum ipmic_bus_event ev, const char *bus,
    void *arg)
{
	struct app_state	*st = arg;
	size_t			 i;
	bool			 ours = st->nbuses == 0;

	for (i = 0; i < st->nbuses; i++)
		if (strcmp(st->buses[i].name, bus) == 0) {
			st->buses[i].raised = false;
			/* A reset interface interrupts nobody until the
			 * new host enables it again. */
			if (ev == IPMIC_BUS_HOST_RESET)
				st->buses[i].irq_on = false;
			ours = true;
		}
	if (ev == IPMIC_BUS_HOST_RESET && ours) {
		app_log(IPMIC_LOG_INFO, "host reset on %s: queues emptied, "
		    "global enables cleared", bus);
		app_host_reset(st);
	}
	if (ev != IPMIC_BUS_DOWN)
		app_attention_sync(st);
}

/* What a freshly reset host expects: nothing queued, enables at 0. */
static void
app_host_reset(struct app_state *st)
{
	st->recv_head = st->recv_count = 0;
	st->event_full = false;
	st->msg_flags = 0;
	st->global_enables = 0;
}

/*
 * Remember the system-interface buses the host's requests come on: that
 * is where attention goes. The broker's "ctl" and "internal" pseudo-buses
 * have no host.
 */
static void
app_learn_bus(struct app_state *st, const struct ipmic_request *req)
{
	const char	*bus = req->facts.bus;
	size_t		 i;

	if (req->facts.medium != IPMI_MEDIUM_SYSTEM_IF || bus[0] == '\0' ||
	    strcmp(bus, "ctl") == 0 || strcmp(bus, "internal") == 0)
		return;
	for (i = 0; i < st->nbuses; i++)
		if (strcmp(st->buses[i].name, bus) == 0)
			return;
	if (st->nbuses == APP_BUSES_MAX)
		return;
	snprintf(st->buses[st->nbuses].name, APP_BUS_NAME_MAX, "%s", bus);
	st->buses[st->nbuses++].raised = false;
	app_log(IPMIC_LOG_INFO, "host on bus %s", bus);
}

/*
 * The receive-message-queue interrupt bit of the global enables is the
 * host asking its interface to interrupt it. A real KCS/BT interface
 * does that in hardware; QEMU's model interrupts only once the BMC sends
 * ENABLE_IRQ (as OpenIPMI's simulator does), and a guest left without
 * interrupts falls back to polling, some ten times slower. Buses that
 * cannot (IPMIC_E_UNSUPPORTED) are not asked again.
 */
static void
app_irq_sync(struct app_state *st, const char *busname)
{
	struct ipmic_error	 err;
	struct app_bus		*b = NULL;
	bool			 want;
	size_t			 i;
	int			 rv;

	for (i = 0; i < st->nbuses; i++)
		if (strcmp(st->buses[i].name, busname) == 0)
			b = &st->buses[i];
	want = (st->global_enables & APP_ENABLES_RECV_IRQ) != 0;
	if (b == NULL || b->irq_on == want)
		return;
	rv = ipmic_bus_control(st->client, b->name, want ?
	    IPMIC_CONTROL_IRQ_ENABLE : IPMIC_CONTROL_IRQ_DISABLE, &err);
	if (rv == 0 || rv == IPMIC_E_UNSUPPORTED)
		b->irq_on = want;	/* done, or nothing to do there */
	if (rv != 0 && rv != IPMIC_E_UNSUPPORTED)
		app_log(IPMIC_LOG_WARN, "bus %s: interrupt %s: %s", b->name,
		    want ? "enable" : "disable", rv > 0 ? err.message :
		    ipmic_strerror(rv));
}

/*
 * Make attention on every host bus follow the flags: raised while a queue
 * holds something. BT cannot clear it (its host does): that refusal is
 * expected and not logged. A bus that is down is tried again on the next
 * change.
 */
static void
app_attention_sync(struct app_state *st)
{
	struct ipmic_error	 err;
	struct app_bus		*b;
	bool			 want;
	size_t			 i;
	int			 rv;

	if (st->client == NULL)
		return;
	want = (app_flags(st) & APP_FLAGS_ATTENTION) != 0;
	for (i = 0; i < st->nbuses; i++) {
		b = &st->buses[i];
		if (b->raised == want)
			continue;
		rv = ipmic_attention(st->client, b->name, want, &err);
		if (rv == 0 || (!want && rv == IPMIC_E_UNSUPPORTED)) {
			b->raised = want;
			continue;
		}
		app_log(IPMIC_LOG_WARN, "%s attention on %s: %s%s%s",
		    want ? "raise" : "clear", b->name, ipmic_strerror(rv),
		    rv > 0 && err.message[0] != '\0' ? ": " : "",
		    rv > 0 ? err.message : "");
	}
}

/* Which Get Command Support answer sets which support bit. */
static const struct app_support_bit {
	uint8_t		netfn;
	uint8_t		cmd;
	uint8_t		bit;
} app_support_bits[] = {
	{ SE_NETFN,      0x2d, APP_SUPPORT_SENSOR },	/* Get Sensor Reading */
	{ STORAGE_NETFN, 0x23, APP_SUPPORT_SDR },	/* Get SDR */
	{ STORAGE_NETFN, 0x43, APP_SUPPORT_SEL },	/* Get SEL Entry */
	{ STORAGE_NETFN, 0x11, APP_SUPPORT_FRU },	/* Read FRU Data */
	{ CHASSIS_NETFN, 0x01, APP_SUPPORT_CHASSIS },	/* Get Chassis Status */
};
#define APP_NSUPPORT_BITS \
	(sizeof(app_support_bits) / sizeof(app_support_bits[0]))
static const uint8_t app_support_netfns[3] = { CHASSIS_NETFN, SE_NETFN,
    STORAGE_NETFN };

/*
 * The support bits one Get Command Support answer (commands 0x00-0x7f of
 * netfn, a set bit meaning "not supported") proves.
 */
static uint8_t
app_support_decode(uint8_t netfn, const uint8_t *bits, size_t len)
{
	const struct app_support_bit	*b;
	uint8_t				 support = 0;
	size_t				 i;

	for (i = 0; i < APP_NSUPPORT_BITS; i++) {
		b = &app_support_bits[i];
		if (b->netfn == netfn && b->cmd / 8 < len &&
		    !(bits[b->cmd / 8] & 1 << (b->cmd % 8)))
			support |= b->bit;
	}
	return support;
}

static void
app_support_answer(struct ipmic *c, int status, uint8_t cc,
    const uint8_t *data, size_t len, void *arg)
{
	struct app_support_query	*q = arg;
	struct app_state		*st = q->st;

	if (st->support_pending == 0)	/* from before a reconnect */
		return;
	if (status == 0 && cc == IPMI_CC_OK)
		st->support_next |= app_support_decode(q->netfn, data, len);
	else
		app_log(IPMIC_LOG_DEBUG, "command support of netfn 0x%02x: "
		    "%s cc 0x%02x", q->netfn, ipmic_strerror(status), cc);
	if (--st->support_pending == 0) {
		if (st->support != st->support_next)
			app_log(IPMIC_LOG_INFO, "additional device support "
			    "now 0x%02x", st->support_next);
		st->support = st->support_next;
	}
}

/*
 * Ask the broker which of the commands behind the support bits someone
 * serves, at most once a second and never while answers are due. Get
 * Device ID answers from the last complete set meanwhile.
 */
static void
app_support_refresh(struct app_state *st)
{
	struct timespec	ts;
	uint8_t		q[3];
	int64_t		now;
	size_t		i;

	if (!st->dev.auto_support || st->client == NULL ||
	    st->support_pending > 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (st->support_ms != 0 && now - st->support_ms <
	    APP_SUPPORT_REFRESH_MS)
		return;
	st->support_ms = now;
	st->support_next = 0;
	for (i = 0; i < sizeof(app_support_netfns); i++) {
		st->support_q[i].st = st;
		st->support_q[i].netfn = app_support_netfns[i];
		q[0] = st->support_channel;
		q[1] = app_support_netfns[i];	/* operation 0: 0x00-0x7f */
		q[2] = 0;			/* LUN 0 */
		if (ipmic_send(st->client, APP_NETFN, 0,
		    APP_GET_COMMAND_SUPPORT, q, sizeof(q), app_support_answer,
		    &st->support_q[i]) == 0)
			st->support_pending++;
	}
	if (st->support_pending != (int)sizeof(app_support_netfns))
		st->support_pending = 0;	/* a partial set proves less */
}

static const struct app_cmd *
app_cmd_find(uint8_t netfn, uint8_t cmd)
{
	size_t	i;

	for (i = 0; i < APP_NCMDS; i++)
		if (app_cmds[i].netfn == netfn && app_cmds[i].cmd == cmd)
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
	if ((cmd = app_cmd_find(req->netfn, req->cmd)) == NULL)
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
 * Byte 6, the additional device support, is the config's, or with
 * "auto" what the broker last said is served (app_support_refresh()).
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
	*p++ = dev->auto_support ? st->support : dev->additional_support;
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

/* The message flags: the queues' bits and any others kept. */
static uint8_t
app_flags(const struct app_state *st)
{
	return (st->msg_flags & ~APP_FLAGS_ATTENTION) |
	    (st->recv_count > 0 ? APP_FLAG_RECEIVE : 0) |
	    (st->event_full ? APP_FLAG_EVENT : 0);
}

/*
 * Clear Message Flags: bit 0 empties the receive message queue, bit 1 the
 * event message buffer, as the specification says; other bits just clear.
 */
static uint8_t
app_clear_msg_flags(struct app_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	if (req->data[0] & APP_FLAG_RECEIVE)
		st->recv_head = st->recv_count = 0;
	if (req->data[0] & APP_FLAG_EVENT)
		st->event_full = false;
	st->msg_flags &= ~req->data[0];
	return IPMI_CC_OK;
}

static uint8_t
app_get_msg_flags(struct app_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	rsp[0] = app_flags(st);
	*rsp_len = 1;
	return IPMI_CC_OK;
}

/*
 * Get Message: the oldest queued message, after a byte holding the
 * channel it came from (bits 3:0; the privilege in bits 7:4 is 0). 0x80
 * when the queue is empty.
 */
static uint8_t
app_get_message(struct app_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	const struct app_msg	*m;

	if (st->recv_count == 0)
		return IPMI_CC_EMPTY;
	m = &st->recv_q[st->recv_head];
	rsp[0] = m->channel & 0x0f;
	memcpy(rsp + 1, m->data, m->len);
	*rsp_len = 1 + m->len;
	st->recv_head = (st->recv_head + 1) % APP_RECV_QUEUE_MAX;
	st->recv_count--;
	return IPMI_CC_OK;
}

/*
 * Send Message, internal channel only: [channel byte] [message]. The one
 * destination served is the system interface (channel 0x0F, no tracking,
 * no authentication or encryption bits): the message is queued for the
 * host's Get Message. Everything else is 0xCC; a full queue is 0xC4.
 */
static uint8_t
app_send_message(struct app_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	struct app_msg	*m;

	if (req->data[0] != IPMI_CHANNEL_SYSTEM_IF)
		return IPMI_CC_INVALID_FIELD;
	if (st->recv_count == APP_RECV_QUEUE_MAX)
		return IPMI_CC_OUT_OF_SPACE;
	m = &st->recv_q[(st->recv_head + st->recv_count) % APP_RECV_QUEUE_MAX];
	m->channel = req->channel;
	m->len = req->len - 1;
	memcpy(m->data, req->data + 1, m->len);
	st->recv_count++;
	return IPMI_CC_OK;
}

/* Read Event Message Buffer: the event, once; 0x80 when empty. */
static uint8_t
app_read_event_buffer(struct app_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	if (!st->event_full)
		return IPMI_CC_EMPTY;
	memcpy(rsp, st->event, APP_EVENT_LEN);
	*rsp_len = APP_EVENT_LEN;
	st->event_full = false;
	return IPMI_CC_OK;
}

/*
 * Platform Event Message, internal channel only: what the SEL handler
 * forwards after logging it. Either the 8 bytes a system interface sends
 * (generator ID, event message revision, sensor type, sensor number,
 * direction and type, event data 1-3), which become a system event record
 * stamped now (record ID 0, generator on channel 0 LUN 0), or a whole
 * 16-byte SEL record, kept as it is. It goes into the event message buffer
 * when the host enabled that (global enables bit 2) and the buffer is
 * empty; otherwise it is dropped, as the specification has it: the SEL
 * keeps it either way, so the answer is 0x00 both times.
 */
static uint8_t
app_platform_event(struct app_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	uint32_t	now = (uint32_t)time(NULL);
	uint8_t		*e = st->event;

	if (req->len != 8 && req->len != APP_EVENT_LEN)
		return IPMI_CC_BAD_LENGTH;
	if (!(st->global_enables & APP_ENABLES_EVENT_BUF) || st->event_full)
		return IPMI_CC_OK;
	if (req->len == APP_EVENT_LEN)
		memcpy(e, req->data, APP_EVENT_LEN);
	else {
		e[0] = e[1] = 0x00;		/* record ID */
		e[2] = IPMI_SEL_SYSTEM_EVENT;
		e[3] = now & 0xff;
		e[4] = (now >> 8) & 0xff;
		e[5] = (now >> 16) & 0xff;
		e[6] = now >> 24;
		e[7] = req->data[0];		/* generator ID */
		e[8] = 0x00;			/* channel 0, LUN 0 */
		memcpy(e + 9, req->data + 1, 7);
	}
	st->event_full = true;
	return IPMI_CC_OK;
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
 * in err. Keys not given keep the defaults (all zero, no aux, no guid,
 * fixed support bits, internal channel 0x0D).
 */
static int
app_config_read(FILE *f, const char *path, struct app_device *dev,
    char *err, size_t errlen)
{
	struct app_config_ctx	ctx;
	int			line;

	memset(dev, 0, sizeof(*dev));
	dev->internal_channel = APP_INTERNAL_CHANNEL;
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

	if (strcmp(section, "device") == 0)
		error = app_config_key(ctx->dev, name, value);
	else if (strcmp(section, "events") == 0)
		error = app_config_events(ctx->dev, name, value);
	else {
		snprintf(ctx->section_error, sizeof(ctx->section_error),
		    "unknown section [%.64s]", section);
		error = ctx->section_error;
	}
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
		dev->auto_support = strcmp(value, "auto") == 0;
		if (dev->auto_support)
			return NULL;
		if (app_parse_number(value, 0xff, &n) != 0)
			return "additional_support: expected auto or a number "
			    "from 0 to 0xff";
		dev->additional_support = n;
	} else if (strcmp(name, "guid") == 0) {
		if (app_parse_guid(value, dev->guid) != 0)
			return "guid: expected the form "
			    "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
		dev->has_guid = true;
	} else if (strcmp(name, "guid_file") == 0) {
		if (value[0] == '\0' ||
		    strlen(value) >= sizeof(dev->guid_file))
			return "guid_file: expected a path";
		snprintf(dev->guid_file, sizeof(dev->guid_file), "%s", value);
	} else
		return "unknown key in [device]";
	return NULL;
}

/* Set one [events] key. Returns NULL, or what is wrong with it. */
static const char *
app_config_events(struct app_device *dev, const char *name,
    const char *value)
{
	unsigned long	n;

	if (strcmp(name, "attention_bus") == 0) {
		if (value[0] == '\0' || strlen(value) >= APP_BUS_NAME_MAX)
			return "attention_bus: a bus name of 1 to 31 "
			    "characters";
		if (dev->nbuses == APP_BUSES_MAX)
			return "attention_bus: 8 at most";
		snprintf(dev->buses[dev->nbuses++], APP_BUS_NAME_MAX, "%s",
		    value);
	} else if (strcmp(name, "internal_channel") == 0) {
		if (app_parse_number(value, 0x0f, &n) != 0)
			return "internal_channel: expected a channel from 0 "
			    "to 0x0f";
		dev->internal_channel = n;
	} else
		return "unknown key in [events]";
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

/* The 16 IPMI bytes of a GUID as RFC 4122 text (37 bytes with the NUL). */
static void
app_format_guid(const uint8_t *guid, char *text)
{
	size_t	i, n = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			text[n++] = '-';
		snprintf(text + n, 3, "%02x", guid[15 - i]);
		n += 2;
	}
	text[n] = '\0';
}
