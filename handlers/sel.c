/* SPDX-License-Identifier: MIT */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
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

#include <ini.h>

#include <ipmi/ipmiclient.h>

#include "handler-log.h"
#include "handler-signal.h"

#include "sel-store.h"

/*
 * ipmi-handler-sel: the System Event Log (Storage netfn 0x0A, SEL
 * commands) and the event receiver (Sensor/Event netfn 0x04, Platform
 * Event Message).
 *
 * The entries live in sel-store's append-only file. An Add SEL Entry, a
 * Delete, a Clear or a Set SEL Time is answered only once the change is
 * written and fdatasync'ed, so no acknowledged entry is lost to a crash or
 * a power cut. Reads are served from memory.
 *
 * A Platform Event Message becomes a system event record (type 0x02), and
 * the same event goes on to whoever owns the event message buffer: this
 * handler sends it into the broker, which routes it on the internal
 * channel (the App handler serves 0x04/0x02 there). So that those sends do
 * not come back here, the registration leaves the internal channel out.
 *
 * The only peer is the broker, through libipmiclient. The request data is
 * the host's and is not trusted: each command's length is checked against
 * the table below before its function runs. The command functions take
 * bytes and return bytes and never call the library, so the unit tests
 * run them without a broker.
 */

#define SEL_DEFAULT_CONFIG	"/etc/ipmi-broker/sel-handler.conf"
#define SEL_RSP_MAX		32	/* the longest answer is 18 bytes */

#define IPMI_NETFN_SENSOR	0x04
#define IPMI_NETFN_STORAGE	0x0a

/* Sensor/Event and Storage commands (IPMI 2.0, table G-1). */
#define SEL_PLATFORM_EVENT	0x02	/* netfn 0x04 */
#define SEL_GET_INFO		0x40
#define SEL_GET_ALLOC_INFO	0x41
#define SEL_RESERVE		0x42
#define SEL_GET_ENTRY		0x43
#define SEL_ADD_ENTRY		0x44
#define SEL_DELETE_ENTRY	0x46
#define SEL_CLEAR		0x47
#define SEL_GET_TIME		0x48
#define SEL_SET_TIME		0x49
#define SEL_GET_UTC_OFFSET	0x5c

/* Completion codes used here. */
#define IPMI_CC_OK		0x00
#define IPMI_CC_INVALID_CMD	0xc1
#define IPMI_CC_OUT_OF_SPACE	0xc4
#define IPMI_CC_RESERVATION	0xc5
#define IPMI_CC_BAD_LENGTH	0xc7
#define IPMI_CC_OUT_OF_RANGE	0xc9
#define IPMI_CC_NOT_PRESENT	0xcb
#define IPMI_CC_INVALID_FIELD	0xcc
#define IPMI_CC_UNSPECIFIED	0xff

#define IPMI_CHANNEL_SYSTEM_IF	0x0f

/* Get SEL Info. */
#define SEL_VERSION		0x51	/* IPMI 1.5/2.0 */
#define SEL_INFO_OVERFLOW	0x80
#define SEL_INFO_DELETE		0x08
#define SEL_INFO_RESERVE	0x02
#define SEL_INFO_ALLOC		0x01	/* Partial Add (0x04) is not served */

/* SEL record types and layout (IPMI 2.0, section 32). */
#define SEL_TYPE_SYSTEM		0x02
#define SEL_TYPE_NO_TIMESTAMP	0xe0	/* 0xE0..0xFF: OEM, no timestamp */
#define SEL_ENTRY_TYPE		2
#define SEL_ENTRY_TIMESTAMP	3
#define SEL_ENTRY_GENERATOR	7

/* Clear SEL. */
#define SEL_CLEAR_START		0xaa
#define SEL_CLEAR_STATUS	0x00
#define SEL_CLEAR_DONE		0x01

#define SEL_READ_ALL		0xff	/* Get SEL Entry: the whole record */
#define SEL_UTC_UNSPECIFIED	0x07ff	/* Get SEL Time UTC Offset */
#define SEL_EVENT_LEN		8	/* with the generator ID */

#define SEL_DEFAULT_CAPACITY	512
#define SEL_DEFAULT_SLACK	256
#define SEL_SLACK_MAX		65536
#define SEL_DEFAULT_INTERNAL	0x0d	/* the broker's [internal] default */

struct sel_config {
	char		path[PATH_MAX];
	unsigned long	capacity;
	unsigned long	slack;
	uint8_t		internal_channel;
	bool		has_utc_offset;
	int16_t		utc_offset;		/* minutes */
};

struct sel_state {
	struct sel_config	cfg;
	struct sel_store	store;
	uint16_t		reservation;	/* 0: none given yet */
	time_t			(*clock)(void);
	bool			forward;	/* an event to pass on */
	uint8_t			event[SEL_EVENT_LEN];
	struct ipmic		*client;
	int			verbose;
};

/*
 * A command: it reads the request and writes at most SEL_RSP_MAX bytes of
 * response data to rsp, sets *rsp_len and returns the completion code. On
 * a non-zero code no data is sent.
 */
typedef uint8_t sel_cmd_fn(struct sel_state *, const struct ipmic_request *,
    uint8_t *rsp, size_t *rsp_len);

static sel_cmd_fn sel_get_info;
static sel_cmd_fn sel_get_alloc_info;
static sel_cmd_fn sel_reserve;
static sel_cmd_fn sel_get_entry;
static sel_cmd_fn sel_add_entry;
static sel_cmd_fn sel_delete_entry;
static sel_cmd_fn sel_clear;
static sel_cmd_fn sel_get_time;
static sel_cmd_fn sel_set_time;
static sel_cmd_fn sel_get_utc_offset;
static sel_cmd_fn sel_platform_event;

/* The commands served, with the request data lengths each accepts. */
static const struct sel_cmd {
	uint8_t		 netfn;
	uint8_t		 cmd;
	uint8_t		 min_len;
	uint8_t		 max_len;
	sel_cmd_fn	*fn;
	const char	*name;
} sel_cmds[] = {
	{ IPMI_NETFN_STORAGE, SEL_GET_INFO,       0,  0, sel_get_info,
	    "get sel info" },
	{ IPMI_NETFN_STORAGE, SEL_GET_ALLOC_INFO, 0,  0, sel_get_alloc_info,
	    "get allocation info" },
	{ IPMI_NETFN_STORAGE, SEL_RESERVE,        0,  0, sel_reserve,
	    "reserve sel" },
	{ IPMI_NETFN_STORAGE, SEL_GET_ENTRY,      6,  6, sel_get_entry,
	    "get sel entry" },
	{ IPMI_NETFN_STORAGE, SEL_ADD_ENTRY,     16, 16, sel_add_entry,
	    "add sel entry" },
	{ IPMI_NETFN_STORAGE, SEL_DELETE_ENTRY,   4,  4, sel_delete_entry,
	    "delete sel entry" },
	{ IPMI_NETFN_STORAGE, SEL_CLEAR,          6,  6, sel_clear,
	    "clear sel" },
	{ IPMI_NETFN_STORAGE, SEL_GET_TIME,       0,  0, sel_get_time,
	    "get sel time" },
	{ IPMI_NETFN_STORAGE, SEL_SET_TIME,       4,  4, sel_set_time,
	    "set sel time" },
	{ IPMI_NETFN_STORAGE, SEL_GET_UTC_OFFSET, 0,  0, sel_get_utc_offset,
	    "get utc offset" },
	{ IPMI_NETFN_SENSOR,  SEL_PLATFORM_EVENT, 7,  8, sel_platform_event,
	    "platform event" },
};
#define SEL_NCMDS	(sizeof(sel_cmds) / sizeof(sel_cmds[0]))

static struct sel_state sel;
static volatile sig_atomic_t sel_quit;

static void	sel_usage(void) __attribute__((noreturn));
static void	sel_log(int, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	sel_log_lib(enum ipmic_log_level, const char *, void *);
static time_t	sel_clock_system(void);
static int	sel_config_load(const char *, struct sel_config *);
static int	sel_open(struct sel_state *);
static void	sel_log_recovery(const struct sel_state *,
		    const struct sel_recovery *);
static int	sel_connect(struct sel_state *, const char *);
static int	sel_loop(struct sel_state *);
static int	sel_register_all(struct sel_state *);
static void	sel_request(struct ipmic *, struct ipmic_request *, void *);
static void	sel_forwarded(struct ipmic *, int, uint8_t, const uint8_t *,
		    size_t, void *);
static const struct sel_cmd *sel_cmd_find(uint8_t, uint8_t);
static uint8_t	sel_handle(struct sel_state *, const struct ipmic_request *,
		    uint8_t *, size_t *);
static uint32_t	sel_now(const struct sel_state *);
static uint8_t	sel_errcc(struct sel_state *, const char *, int);
static bool	sel_reservation_ok(const struct sel_state *, const uint8_t *);
static int	sel_config_read(FILE *, const char *, struct sel_config *,
		    char *, size_t);
static int	sel_config_set(void *, const char *, const char *,
		    const char *);
static const char *sel_config_key(struct sel_config *, const char *,
		    const char *);
static int	sel_parse_number(const char *, unsigned long,
		    unsigned long *);
static void	sel_put16(uint8_t *, uint16_t);
static void	sel_put32(uint8_t *, uint32_t);
static uint16_t	sel_get16(const uint8_t *);
static uint32_t	sel_get32(const uint8_t *);

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
	const char	*config = SEL_DEFAULT_CONFIG, *socket = NULL;
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
			sel.verbose = 1;
			break;
		default:
			sel_usage();
		}
	}
	if (optind != argc)
		sel_usage();

	sel.clock = sel_clock_system;
	if (sel_config_load(config, &sel.cfg) != 0)
		return 1;
	if (handler_signals(&sel_quit, &sel.client) == -1) {
		sel_log(IPMIC_LOG_ERR, "sigaction: %s", strerror(errno));
		return 1;
	}
	if (sel_open(&sel) != 0)
		return 1;
	if (sel_connect(&sel, socket) != 0)
		status = sel_quit ? 0 : 1;
	else if (sel_register_all(&sel) == 0 && sel_loop(&sel) == 0)
		status = 0;
	sel.client = ipmic_free(sel.client);
	sel_store_close(&sel.store);
	return status;
}

static void
sel_usage(void)
{
	fprintf(stderr, "usage: ipmi-handler-sel [-v] [-c config] "
	    "[--socket path]\n");
	exit(1);
}

static void
sel_log(int level, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	handler_vlog("ipmi-handler-sel", sel.verbose, level, fmt, ap);
	va_end(ap);
}

static void
sel_log_lib(enum ipmic_log_level level, const char *msg, void *arg)
{
	sel_log(level, "%s", msg);
}

static time_t
sel_clock_system(void)
{
	return time(NULL);
}

/* Read the config file, or say what is wrong with it. */
static int
sel_config_load(const char *path, struct sel_config *cfg)
{
	char	 err[256];
	FILE	*f;
	int	 rv;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	rv = sel_config_read(f, path, cfg, err, sizeof(err));
	fclose(f);
	if (rv != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

/* Open the log and replay it; say what recovery found. */
static int
sel_open(struct sel_state *st)
{
	struct sel_recovery	rep;
	const char		*path = st->cfg.path;
	int			rv;

	rv = sel_store_open(&st->store, path, st->cfg.capacity,
	    st->cfg.slack, &rep);
	if (rv == SEL_STORE_E_FORMAT) {
		sel_log(IPMIC_LOG_ERR, "sel: %s: not a SEL log of version %d "
		    "(or its header is damaged); move it away to start a new "
		    "one", path, SEL_FILE_VERSION);
		return -1;
	}
	if (rv == SEL_STORE_E_LOCKED) {
		sel_log(IPMIC_LOG_ERR, "sel: %s: in use by another process",
		    path);
		return -1;
	}
	if (rv != 0) {
		sel_log(IPMIC_LOG_ERR, "sel: %s: %s", path, strerror(-rv));
		return -1;
	}
	sel_log_recovery(st, &rep);
	return 0;
}

static void
sel_log_recovery(const struct sel_state *st, const struct sel_recovery *rep)
{
	const char	*path = st->cfg.path;

	if (rep->stale_tmp)
		sel_log(IPMIC_LOG_INFO, "sel: removed %s.tmp, a rewrite cut "
		    "short", path);
	if (rep->corrupt > 0) {
		sel_log(IPMIC_LOG_ERR, "sel: %s IS DAMAGED: %zu records from "
		    "offset %llu fail their checksum and are not a torn "
		    "write; kept every record that verifies", path,
		    rep->corrupt, (unsigned long long)rep->corrupt_offset);
		if (rep->saved[0] != '\0')
			sel_log(IPMIC_LOG_ERR, "sel: the damaged file is kept "
			    "as %s", rep->saved);
		else
			sel_log(IPMIC_LOG_ERR, "sel: could not keep a copy "
			    "of the damaged file");
	}
	if (rep->inconsistent > 0)
		sel_log(IPMIC_LOG_WARN, "sel: %s: %zu valid records did not "
		    "apply (duplicate or unknown ids) and were skipped", path,
		    rep->inconsistent);
	if (rep->created)
		sel_log(IPMIC_LOG_INFO, "sel: created %s", path);
	else if (rep->torn_bytes > 0)
		sel_log(IPMIC_LOG_WARN, "sel: recovered %zu records, dropped "
		    "a torn tail of %llu bytes at offset %llu (%s: %zu "
		    "entries)", rep->records,
		    (unsigned long long)rep->torn_bytes,
		    (unsigned long long)rep->torn_offset, path, rep->entries);
	else
		sel_log(IPMIC_LOG_INFO, "sel: recovered %zu records (%s: %zu "
		    "entries)", rep->records, path, rep->entries);
	if (st->store.broken)
		sel_log(IPMIC_LOG_ERR, "sel: %s: a rewrite failed half-way; "
		    "serving reads only", path);
}

/*
 * Connect to the broker, retrying in short steps so that SIGTERM stops a
 * long wait. Returns 0, or -1 (also when a signal came first: sel_quit).
 */
static int
sel_connect(struct sel_state *st, const char *socket)
{
	int	rv;

	if ((st->client = ipmic_new("sel")) == NULL) {
		sel_log(IPMIC_LOG_ERR, "ipmic_new: %s", strerror(errno));
		return -1;
	}
	ipmic_set_log(st->client, sel_log_lib, NULL);
	if (socket != NULL &&
	    (rv = ipmic_set_socket(st->client, socket)) != 0) {
		sel_log(IPMIC_LOG_ERR, "socket %s: %s", socket,
		    ipmic_strerror(rv));
		return -1;
	}
	do {
		rv = ipmic_connect(st->client, 1000);
	} while (rv == -ETIMEDOUT && !sel_quit);
	if (sel_quit) {
		sel_log(IPMIC_LOG_INFO, "exiting on signal");
		return -1;
	}
	if (rv != 0) {
		sel_log(IPMIC_LOG_ERR, "connect: %s", ipmic_strerror(rv));
		return -1;
	}
	return 0;
}

/* Serve until SIGTERM or SIGINT. Returns 0 on a signal, -1 on failure. */
static int
sel_loop(struct sel_state *st)
{
	int	rv;

	sel_log(IPMIC_LOG_INFO, "serving %zu commands, %zu of %lu entries",
	    SEL_NCMDS, st->store.count, st->cfg.capacity);
	while (!sel_quit) {
		rv = ipmic_run(st->client);
		if (rv < 0 && rv != -EINTR) {
			sel_log(IPMIC_LOG_ERR, "run: %s", ipmic_strerror(rv));
			return -1;
		}
	}
	sel_log(IPMIC_LOG_INFO, "exiting on signal");
	return 0;
}

/*
 * Register every row of sel_cmds[] on LUN 0. Platform Event Message is
 * taken on every channel but the internal one, where our own forwarded
 * events go to the event message buffer's owner.
 */
static int
sel_register_all(struct sel_state *st)
{
	struct ipmic_key	key;
	struct ipmic_error	err;
	size_t			i;
	int			rv;

	for (i = 0; i < SEL_NCMDS; i++) {
		memset(&key, 0, sizeof(key));
		key.netfn = sel_cmds[i].netfn;
		key.cmd = sel_cmds[i].cmd;
		key.lun_mask = 1 << 0;
		if (key.netfn == IPMI_NETFN_SENSOR)
			key.channel_mask = IPMIC_CHANNEL_ALL &
			    ~(1U << st->cfg.internal_channel);
		memset(&err, 0, sizeof(err));
		rv = ipmic_register(st->client, &key, 0, sel_request, st, &err);
		if (rv == IPMIC_E_CONFLICT) {
			sel_log(IPMIC_LOG_ERR, "register 0x%02x/0x%02x (%s): "
			    "held by %s[%u]: %s", key.netfn, key.cmd,
			    sel_cmds[i].name, err.holder_name, err.holder_pid,
			    err.message);
			return -1;
		}
		if (rv != 0) {
			sel_log(IPMIC_LOG_ERR, "register 0x%02x/0x%02x (%s): "
			    "%s%s%s", key.netfn, key.cmd, sel_cmds[i].name,
			    ipmic_strerror(rv), rv > 0 ? ": " : "",
			    rv > 0 ? err.message : "");
			return -1;
		}
	}
	return 0;
}

/*
 * The library's request callback: run the command and answer at once (a
 * change is already on disk when its command returns). Then pass a
 * logged platform event on to the event message buffer.
 */
static void
sel_request(struct ipmic *c, struct ipmic_request *req, void *arg)
{
	struct sel_state	*st = arg;
	uint8_t			 rsp[SEL_RSP_MAX];
	size_t			 len;
	uint8_t			 netfn = req->netfn, cmd = req->cmd, cc;
	int			 rv;

	st->forward = false;
	cc = sel_handle(st, req, rsp, &len);
	sel_log(IPMIC_LOG_DEBUG, "0x%02x/0x%02x on channel %u, %zu bytes: "
	    "cc 0x%02x, %zu bytes", netfn, cmd, req->channel, req->len, cc,
	    len);
	if ((rv = ipmic_reply(req, cc, rsp, len)) < 0)
		sel_log(IPMIC_LOG_WARN, "0x%02x/0x%02x: reply: %s", netfn, cmd,
		    ipmic_strerror(rv));
	if (st->forward) {
		st->forward = false;
		rv = ipmic_send(c, IPMI_NETFN_SENSOR, 0, SEL_PLATFORM_EVENT,
		    st->event, sizeof(st->event), sel_forwarded, st);
		if (rv < 0)
			sel_log(IPMIC_LOG_WARN, "forward event: %s",
			    ipmic_strerror(rv));
	}
}

/* Nobody owning the event buffer (0xC1) is normal; say anything else. */
static void
sel_forwarded(struct ipmic *c, int status, uint8_t cc, const uint8_t *data,
    size_t len, void *arg)
{
	if (status < 0)
		sel_log(IPMIC_LOG_WARN, "forward event: %s",
		    ipmic_strerror(status));
	else if (cc == IPMI_CC_INVALID_CMD)
		sel_log(IPMIC_LOG_DEBUG, "forward event: no event buffer");
	else if (cc != IPMI_CC_OK)
		sel_log(IPMIC_LOG_INFO, "forward event: cc 0x%02x", cc);
}

static const struct sel_cmd *
sel_cmd_find(uint8_t netfn, uint8_t cmd)
{
	size_t	i;

	for (i = 0; i < SEL_NCMDS; i++)
		if (sel_cmds[i].netfn == netfn && sel_cmds[i].cmd == cmd)
			return &sel_cmds[i];
	return NULL;
}

/*
 * Check the request against its table row and run the command. Returns
 * the completion code; rsp and *rsp_len hold the data after it.
 */
static uint8_t
sel_handle(struct sel_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	const struct sel_cmd	*cmd;
	uint8_t			 cc;

	*rsp_len = 0;
	if ((cmd = sel_cmd_find(req->netfn, req->cmd)) == NULL)
		return IPMI_CC_INVALID_CMD;
	if (req->len < cmd->min_len || req->len > cmd->max_len)
		return IPMI_CC_BAD_LENGTH;
	cc = cmd->fn(st, req, rsp, rsp_len);
	if (cc != IPMI_CC_OK)
		*rsp_len = 0;
	return cc;
}

/* The SEL clock: the system clock moved by Set SEL Time's offset. */
static uint32_t
sel_now(const struct sel_state *st)
{
	return (uint32_t)((int64_t)st->clock() + st->store.time_offset);
}

/* A store failure as a completion code; system errors are logged. */
static uint8_t
sel_errcc(struct sel_state *st, const char *what, int rv)
{
	switch (rv) {
	case 0:
		return IPMI_CC_OK;
	case SEL_STORE_E_FULL:
		return IPMI_CC_OUT_OF_SPACE;
	case SEL_STORE_E_NOT_FOUND:
		return IPMI_CC_NOT_PRESENT;
	case SEL_STORE_E_BROKEN:
		sel_log(IPMIC_LOG_ERR, "sel: %s: %s: an earlier write failed; "
		    "restart the handler to recover the log", what,
		    st->cfg.path);
		return IPMI_CC_UNSPECIFIED;
	default:
		sel_log(IPMIC_LOG_ERR, "sel: %s: %s: %s", what, st->cfg.path,
		    strerror(rv < 0 ? -rv : EIO));
		return IPMI_CC_UNSPECIFIED;
	}
}

/* Delete and Clear need the current reservation (never 0). */
static bool
sel_reservation_ok(const struct sel_state *st, const uint8_t *data)
{
	uint16_t	id = sel_get16(data);

	return id != 0 && id == st->reservation;
}

static uint8_t
sel_get_info(struct sel_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	const struct sel_store	*s = &st->store;
	unsigned long		 free_bytes = 0;

	if (s->count < s->capacity)
		free_bytes = (s->capacity - s->count) * SEL_RECORD_SIZE;
	rsp[0] = SEL_VERSION;
	sel_put16(rsp + 1, s->count > 0xffff ? 0xffff : s->count);
	sel_put16(rsp + 3, free_bytes > 0xffff ? 0xffff : free_bytes);
	sel_put32(rsp + 5, s->last_add);
	sel_put32(rsp + 9, s->last_erase);
	rsp[13] = (s->overflow ? SEL_INFO_OVERFLOW : 0) | SEL_INFO_DELETE |
	    SEL_INFO_RESERVE | SEL_INFO_ALLOC;
	*rsp_len = 14;
	return IPMI_CC_OK;
}

/* One allocation unit per 16-byte entry, so every free unit is usable. */
static uint8_t
sel_get_alloc_info(struct sel_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	const struct sel_store	*s = &st->store;
	size_t			 units = s->capacity, free_units = 0;

	if (s->count < s->capacity)
		free_units = s->capacity - s->count;
	sel_put16(rsp, units);
	sel_put16(rsp + 2, SEL_RECORD_SIZE);
	sel_put16(rsp + 4, free_units);
	sel_put16(rsp + 6, free_units);
	rsp[8] = 1;				/* largest record, in units */
	*rsp_len = 9;
	return IPMI_CC_OK;
}

/* Each reservation cancels the one before; ids are never 0. */
static uint8_t
sel_reserve(struct sel_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	if (++st->reservation == 0)
		st->reservation = 1;
	sel_put16(rsp, st->reservation);
	*rsp_len = 2;
	return IPMI_CC_OK;
}

/*
 * Get SEL Entry: reservation, record id (0 first, 0xFFFF last), offset,
 * count (0xFF: all). A reservation of 0 reads as OpenIPMI allows, but a
 * read from inside a record (offset > 0) continues an earlier one and
 * needs the current reservation, or the record may have changed between.
 */
static uint8_t
sel_get_entry(struct sel_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	uint16_t	resv = sel_get16(req->data);
	uint16_t	id = sel_get16(req->data + 2);
	size_t		offset = req->data[4], count = req->data[5];
	long		i;

	if (resv != 0 && resv != st->reservation)
		return IPMI_CC_RESERVATION;
	if (offset != 0 && (resv == 0 || resv != st->reservation))
		return IPMI_CC_RESERVATION;
	if (offset >= SEL_RECORD_SIZE)
		return IPMI_CC_OUT_OF_RANGE;
	if ((i = sel_store_find(&st->store, id)) < 0)
		return IPMI_CC_NOT_PRESENT;
	if (count == SEL_READ_ALL || offset + count > SEL_RECORD_SIZE)
		count = SEL_RECORD_SIZE - offset;
	sel_put16(rsp, sel_store_next_id(&st->store, (size_t)i));
	memcpy(rsp + 2, sel_store_entry(&st->store, (size_t)i) + offset,
	    count);
	*rsp_len = 2 + count;
	return IPMI_CC_OK;
}

/*
 * Add SEL Entry: the handler assigns the id and, for record types with a
 * timestamp (below 0xE0), stamps the SEL time, as OpenIPMI does. The entry
 * is on disk before the answer.
 */
static uint8_t
sel_add_entry(struct sel_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	uint8_t		rec[SEL_RECORD_SIZE];
	uint32_t	now = sel_now(st);
	uint16_t	id;
	uint8_t		cc;

	memcpy(rec, req->data, sizeof(rec));
	if (rec[SEL_ENTRY_TYPE] < SEL_TYPE_NO_TIMESTAMP)
		sel_put32(rec + SEL_ENTRY_TIMESTAMP, now);
	cc = sel_errcc(st, "add", sel_store_add(&st->store, rec, now, &id));
	if (cc != IPMI_CC_OK)
		return cc;
	sel_put16(rsp, id);
	*rsp_len = 2;
	return IPMI_CC_OK;
}

static uint8_t
sel_delete_entry(struct sel_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	uint16_t	id;
	uint8_t		cc;

	if (!sel_reservation_ok(st, req->data))
		return IPMI_CC_RESERVATION;
	cc = sel_errcc(st, "delete", sel_store_delete(&st->store,
	    sel_get16(req->data + 2), sel_now(st), &id));
	if (cc != IPMI_CC_OK)
		return cc;
	sel_put16(rsp, id);
	*rsp_len = 2;
	return IPMI_CC_OK;
}

/* Clear SEL: reservation, 'C' 'L' 'R', then 0xAA to erase (done at once,
 * durably) or 0x00 to ask how the erase goes (always complete). */
static uint8_t
sel_clear(struct sel_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	const uint8_t	*d = req->data;
	uint8_t		 cc;

	if (!sel_reservation_ok(st, d))
		return IPMI_CC_RESERVATION;
	if (d[2] != 'C' || d[3] != 'L' || d[4] != 'R')
		return IPMI_CC_INVALID_FIELD;
	if (d[5] != SEL_CLEAR_START && d[5] != SEL_CLEAR_STATUS)
		return IPMI_CC_INVALID_FIELD;
	if (d[5] == SEL_CLEAR_START) {
		cc = sel_errcc(st, "clear", sel_store_clear(&st->store,
		    sel_now(st)));
		if (cc != IPMI_CC_OK)
			return cc;
	}
	rsp[0] = SEL_CLEAR_DONE;
	*rsp_len = 1;
	return IPMI_CC_OK;
}

static uint8_t
sel_get_time(struct sel_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	sel_put32(rsp, sel_now(st));
	*rsp_len = 4;
	return IPMI_CC_OK;
}

/* Keep the difference to the system clock, on disk: it outlives us. */
static uint8_t
sel_set_time(struct sel_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	int64_t	offset = (int64_t)sel_get32(req->data) - (int64_t)st->clock();

	return sel_errcc(st, "set time", sel_store_set_offset(&st->store,
	    offset));
}

/* Minutes from UTC, signed, from the config; else "unspecified". */
static uint8_t
sel_get_utc_offset(struct sel_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	sel_put16(rsp, st->cfg.has_utc_offset ?
	    (uint16_t)st->cfg.utc_offset : SEL_UTC_UNSPECIFIED);
	*rsp_len = 2;
	return IPMI_CC_OK;
}

/*
 * Platform Event Message: generator ID (only from a system interface:
 * 8 bytes), EvM revision, sensor type, sensor number, event dir/type,
 * event data 1-3. The 7-byte form comes over IPMB, where the generator is
 * the requester's address, which the broker does not pass on: it is
 * logged as 0. The channel goes in generator byte 2 (0 for the system
 * interface). A full SEL sets its overflow flag; the event is still
 * accepted and passed on to the event message buffer.
 */
static uint8_t
sel_platform_event(struct sel_state *st, const struct ipmic_request *req,
    uint8_t *rsp, size_t *rsp_len)
{
	uint8_t		rec[SEL_RECORD_SIZE], *ev = st->event;
	uint32_t	now = sel_now(st);
	uint16_t	id;
	int		rv;

	memset(ev, 0, SEL_EVENT_LEN);
	memcpy(ev + SEL_EVENT_LEN - req->len, req->data, req->len);
	memset(rec, 0, sizeof(rec));
	rec[SEL_ENTRY_TYPE] = SEL_TYPE_SYSTEM;
	sel_put32(rec + SEL_ENTRY_TIMESTAMP, now);
	rec[SEL_ENTRY_GENERATOR] = ev[0];
	if (req->channel != IPMI_CHANNEL_SYSTEM_IF)
		rec[SEL_ENTRY_GENERATOR + 1] = (req->channel & 0x0f) << 4;
	memcpy(rec + SEL_ENTRY_GENERATOR + 2, ev + 1, SEL_EVENT_LEN - 1);
	rv = sel_store_add(&st->store, rec, now, &id);
	if (rv != 0 && rv != SEL_STORE_E_FULL)
		return sel_errcc(st, "platform event", rv);
	st->forward = true;
	return IPMI_CC_OK;
}

/* The ini parser's state: the config and the first error seen. */
struct sel_config_ctx {
	struct sel_config	*cfg;
	const char		*error;
	char			 section_error[96];
};

/*
 * Read the config from f into cfg. Returns 0, or -1 with "path:line: what"
 * in err. path is required; the other keys have defaults.
 */
static int
sel_config_read(FILE *f, const char *path, struct sel_config *cfg,
    char *err, size_t errlen)
{
	struct sel_config_ctx	ctx;
	int			line;

	memset(cfg, 0, sizeof(*cfg));
	cfg->capacity = SEL_DEFAULT_CAPACITY;
	cfg->slack = SEL_DEFAULT_SLACK;
	cfg->internal_channel = SEL_DEFAULT_INTERNAL;
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = cfg;
	line = ini_parse_file(f, sel_config_set, &ctx);
	if (line < 0)
		snprintf(err, errlen, "%s: cannot read the file", path);
	else if (line > 0)
		snprintf(err, errlen, "%s:%d: %s", path, line,
		    ctx.error != NULL ? ctx.error : "syntax error");
	else if (cfg->path[0] == '\0')
		snprintf(err, errlen, "%s: [sel] path is required", path);
	else
		return 0;
	return -1;
}

/* inih callback: returns 1 to go on, 0 for an error at this line. */
static int
sel_config_set(void *arg, const char *section, const char *name,
    const char *value)
{
	struct sel_config_ctx	*ctx = arg;
	const char		*error;

	if (strcmp(section, "sel") != 0) {
		snprintf(ctx->section_error, sizeof(ctx->section_error),
		    "unknown section [%.64s]", section);
		error = ctx->section_error;
	} else
		error = sel_config_key(ctx->cfg, name, value);
	if (error == NULL)
		return 1;
	if (ctx->error == NULL)		/* inih reports the first line */
		ctx->error = error;
	return 0;
}

/* Set one [sel] key. Returns NULL, or what is wrong with it. */
static const char *
sel_config_key(struct sel_config *cfg, const char *name, const char *value)
{
	unsigned long	n;

	if (strcmp(name, "path") == 0) {
		if (value[0] != '/' || strlen(value) >= sizeof(cfg->path))
			return "path: expected an absolute file name";
		snprintf(cfg->path, sizeof(cfg->path), "%s", value);
	} else if (strcmp(name, "capacity") == 0) {
		if (sel_parse_number(value, SEL_CAPACITY_MAX, &n) != 0 ||
		    n == 0)
			return "capacity: expected a number of entries from 1 "
			    "to 4095";
		cfg->capacity = n;
	} else if (strcmp(name, "compact_slack") == 0) {
		if (sel_parse_number(value, SEL_SLACK_MAX, &n) != 0)
			return "compact_slack: expected a number from 0 to "
			    "65536";
		cfg->slack = n;
	} else if (strcmp(name, "internal_channel") == 0) {
		if (sel_parse_number(value, 15, &n) != 0)
			return "internal_channel: expected a channel from 0 "
			    "to 15";
		cfg->internal_channel = n;
	} else if (strcmp(name, "utc_offset") == 0) {
		if (strcmp(value, "unspecified") == 0) {
			cfg->has_utc_offset = false;
			return NULL;
		}
		n = value[0] == '-' ? 1 : 0;
		if (sel_parse_number(value + n, 1440, &n) != 0)
			return "utc_offset: expected minutes from -1440 to "
			    "1440, or unspecified";
		cfg->utc_offset = value[0] == '-' ? -(int16_t)n : (int16_t)n;
		cfg->has_utc_offset = true;
	} else
		return "unknown key in [sel]";
	return NULL;
}

/* A decimal or 0x-prefixed hex number no larger than max. */
static int
sel_parse_number(const char *s, unsigned long max, unsigned long *out)
{
	char	*end;
	int	 base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		base = 16;
	}
	if (base == 16 ? !isxdigit((unsigned char)s[0]) :
	    !isdigit((unsigned char)s[0]))
		return -1;			/* no sign, no blank */
	errno = 0;
	*out = strtoul(s, &end, base);
	if (errno != 0 || *end != '\0' || *out > max)
		return -1;
	return 0;
}

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
