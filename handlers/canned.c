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

#include "handler-log.h"
#include "handler-signal.h"

/*
 * ipmi-handler-canned: answers requests from a table in its config file.
 *
 * Each [entry NAME] section is one row: a netfn and cmd, an optional
 * prefix of request data, and the completion code and response data to
 * answer. A request is answered by the row of its netfn/cmd whose prefix
 * is the longest one the request data starts with; a row without a prefix
 * matches every request of its command, so it is the command's fallback.
 * Every netfn/cmd in the table is registered with the broker; for the OEM
 * netfn 0x2E the first three prefix bytes are the IANA number the
 * registration is keyed by (LS byte first, as on the wire), for the group
 * netfn 0x2C the first prefix byte is the defining body. Their responses
 * start with those bytes again, as the specification wants: the handler
 * adds them, the config's response does not repeat them.
 *
 * With `default_route = yes` the handler also takes the broker's default
 * route (the broker's config must name this handler for it) and answers
 * every request nobody registered with default_cc, 0xC1 unless told. It
 * is a way to stand in for a BMC's missing parts while developing, or to
 * replay what a real BMC answered.
 *
 * The only peer is the broker. The config is trusted, the request data is
 * not: it is only compared with the table.
 */

#define CANNED_DEFAULT_CONFIG	"/etc/ipmi-broker/canned-handler.conf"
#define CANNED_DATA_MAX		255	/* prefix and response bytes */
#define CANNED_ENTRIES_MAX	1024
#define CANNED_NAME_MAX		64
#define CANNED_NETFN_GROUP	0x2c
#define CANNED_NETFN_OEM	0x2e

/* The keys of an entry, each allowed once. */
#define CANNED_K_NETFN		0x01
#define CANNED_K_CMD		0x02
#define CANNED_K_CC		0x04
#define CANNED_K_REQUEST	0x08
#define CANNED_K_RESPONSE	0x10

#define IPMI_CC_OK		0x00
#define IPMI_CC_INVALID_CMD	0xc1

/* One row of the table. */
struct canned_entry {
	char		name[CANNED_NAME_MAX];
	uint8_t		netfn;
	uint8_t		cmd;
	unsigned int	keys;		/* CANNED_K_* seen */
	uint8_t		cc;
	uint8_t		prefix[CANNED_DATA_MAX];
	size_t		prefix_len;
	uint8_t		response[CANNED_DATA_MAX];
	size_t		response_len;
};

struct canned_table {
	struct canned_entry	*entries;
	size_t			 count;
	bool			 default_route;
	uint8_t			 default_cc;
};

struct canned_state {
	struct canned_table	 table;
	struct ipmic		*client;
	int			 verbose;
};

static struct canned_state canned;
static volatile sig_atomic_t canned_quit;

static void	canned_usage(void) __attribute__((noreturn));
static void	canned_log(int, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	canned_log_lib(enum ipmic_log_level, const char *, void *);
static int	canned_config_load(const char *, struct canned_table *);
static int	canned_config_read(FILE *, const char *,
		    struct canned_table *, char *, size_t);
static void	canned_table_free(struct canned_table *);
static int	canned_connect(struct canned_state *, const char *);
static int	canned_register_all(struct canned_state *);
static int	canned_loop(struct canned_state *);
static void	canned_request(struct ipmic *, struct ipmic_request *,
		    void *);
static const struct canned_entry *canned_match(const struct canned_table *,
		    uint8_t, uint8_t, const uint8_t *, size_t);
static size_t	canned_key_len(uint8_t);

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
	const char	*config = CANNED_DEFAULT_CONFIG, *socket = NULL;
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
			canned.verbose = 1;
			break;
		default:
			canned_usage();
		}
	}
	if (optind != argc)
		canned_usage();

	if (canned_config_load(config, &canned.table) != 0)
		return 1;
	if (handler_signals(&canned_quit, &canned.client) == -1) {
		canned_log(IPMIC_LOG_ERR, "sigaction: %s", strerror(errno));
		goto out;
	}
	if (canned_connect(&canned, socket) != 0)
		status = canned_quit ? 0 : 1;
	else if (canned_register_all(&canned) == 0 &&
	    canned_loop(&canned) == 0)
		status = 0;
out:
	canned.client = ipmic_free(canned.client);
	canned_table_free(&canned.table);
	return status;
}

static void
canned_usage(void)
{
	fprintf(stderr, "usage: ipmi-handler-canned [-v] [-c config] "
	    "[--socket path]\n");
	exit(1);
}

static void
canned_log(int level, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	handler_vlog("ipmi-handler-canned", canned.verbose, level, fmt, ap);
	va_end(ap);
}

static void
canned_log_lib(enum ipmic_log_level level, const char *msg, void *arg)
{
	canned_log(level, "%s", msg);
}

static int
canned_connect(struct canned_state *st, const char *socket)
{
	int	rv;

	if ((st->client = ipmic_new("canned")) == NULL) {
		canned_log(IPMIC_LOG_ERR, "ipmic_new: %s", strerror(errno));
		return -1;
	}
	ipmic_set_log(st->client, canned_log_lib, NULL);
	if (socket != NULL &&
	    (rv = ipmic_set_socket(st->client, socket)) != 0) {
		canned_log(IPMIC_LOG_ERR, "socket %s: %s", socket,
		    ipmic_strerror(rv));
		return -1;
	}
	do {
		rv = ipmic_connect(st->client, 1000);
	} while (rv == -ETIMEDOUT && !canned_quit);
	if (canned_quit) {
		canned_log(IPMIC_LOG_INFO, "exiting on signal");
		return -1;
	}
	if (rv != 0) {
		canned_log(IPMIC_LOG_ERR, "connect: %s", ipmic_strerror(rv));
		return -1;
	}
	return 0;
}

static int
canned_loop(struct canned_state *st)
{
	int	rv;

	canned_log(IPMIC_LOG_INFO, "serving %zu table entries%s",
	    st->table.count, st->table.default_route ?
	    " and the default route" : "");
	while (!canned_quit) {
		rv = ipmic_run(st->client);
		if (rv < 0 && rv != -EINTR) {
			canned_log(IPMIC_LOG_ERR, "run: %s",
			    ipmic_strerror(rv));
			return -1;
		}
	}
	canned_log(IPMIC_LOG_INFO, "exiting on signal");
	return 0;
}

/* Bytes of the prefix that key a registration: IANA 3, body 1, else 0. */
static size_t
canned_key_len(uint8_t netfn)
{
	if (netfn == CANNED_NETFN_OEM)
		return 3;
	if (netfn == CANNED_NETFN_GROUP)
		return 1;
	return 0;
}

/* The registration key of entry e. */
static void
canned_key(const struct canned_entry *e, struct ipmic_key *key)
{
	memset(key, 0, sizeof(*key));
	key->netfn = e->netfn;
	key->cmd = e->cmd;
	key->lun_mask = 1 << 0;
	if (e->netfn == CANNED_NETFN_OEM)
		key->iana = e->prefix[0] | e->prefix[1] << 8 |
		    (uint32_t)e->prefix[2] << 16;
	else if (e->netfn == CANNED_NETFN_GROUP)
		key->body = e->prefix[0];
}

/* Whether an earlier entry already has e's registration key. */
static bool
canned_key_seen(const struct canned_table *t, size_t i)
{
	const struct canned_entry	*e = &t->entries[i], *o;
	size_t				 j, k = canned_key_len(e->netfn);

	for (j = 0; j < i; j++) {
		o = &t->entries[j];
		if (o->netfn == e->netfn && o->cmd == e->cmd &&
		    memcmp(o->prefix, e->prefix, k) == 0)
			return true;
	}
	return false;
}

/* Register each distinct key once, then maybe the default route. */
static int
canned_register_all(struct canned_state *st)
{
	const struct canned_table	*t = &st->table;
	struct ipmic_key		 key;
	struct ipmic_error		 err;
	size_t				 i;
	int				 rv;

	for (i = 0; i < t->count; i++) {
		if (canned_key_seen(t, i))
			continue;
		canned_key(&t->entries[i], &key);
		memset(&err, 0, sizeof(err));
		rv = ipmic_register(st->client, &key, 0, canned_request, st,
		    &err);
		if (rv == IPMIC_E_CONFLICT)
			canned_log(IPMIC_LOG_ERR, "entry %s: register "
			    "0x%02x/0x%02x: held by %s[%u]: %s",
			    t->entries[i].name, key.netfn, key.cmd,
			    err.holder_name, err.holder_pid, err.message);
		else if (rv != 0)
			canned_log(IPMIC_LOG_ERR, "entry %s: register "
			    "0x%02x/0x%02x: %s%s%s", t->entries[i].name,
			    key.netfn, key.cmd, ipmic_strerror(rv),
			    rv > 0 ? ": " : "", rv > 0 ? err.message : "");
		if (rv != 0)
			return -1;
	}
	if (!t->default_route)
		return 0;
	memset(&err, 0, sizeof(err));
	if ((rv = ipmic_register_default(st->client, canned_request, st,
	    &err)) != 0) {
		canned_log(IPMIC_LOG_ERR, "default route: %s%s%s",
		    ipmic_strerror(rv), rv > 0 ? ": " : "",
		    rv > 0 ? err.message : "");
		return -1;
	}
	return 0;
}

/*
 * The entry for a request: same netfn and cmd, and the longest prefix
 * the data starts with (the first such entry on a tie). NULL if none.
 */
static const struct canned_entry *
canned_match(const struct canned_table *t, uint8_t netfn, uint8_t cmd,
    const uint8_t *data, size_t len)
{
	const struct canned_entry	*e, *best = NULL;
	size_t				 i;

	for (i = 0; i < t->count; i++) {
		e = &t->entries[i];
		if (e->netfn != netfn || e->cmd != cmd ||
		    e->prefix_len > len ||
		    (e->prefix_len > 0 &&
		    memcmp(e->prefix, data, e->prefix_len) != 0))
			continue;
		if (best == NULL || e->prefix_len > best->prefix_len)
			best = e;
	}
	return best;
}

/*
 * Answer from the table, or with default_cc. For 0x2E/0x2C the IANA or
 * body bytes of the request go first in the answer.
 */
static void
canned_request(struct ipmic *c, struct ipmic_request *req, void *arg)
{
	struct canned_state		*st = arg;
	const struct canned_entry	*e;
	uint8_t				 rsp[CANNED_DATA_MAX + 3];
	size_t				 k = canned_key_len(req->netfn);
	uint8_t				 netfn = req->netfn, cmd = req->cmd;
	int				 rv;

	e = canned_match(&st->table, req->netfn, req->cmd, req->data,
	    req->len);
	canned_log(IPMIC_LOG_DEBUG, "0x%02x/0x%02x, %zu bytes: %s%s",
	    netfn, cmd, req->len, e != NULL ? "entry " : "no entry",
	    e != NULL ? e->name : "");
	if (e == NULL)
		rv = ipmic_reply_cc(req, st->table.default_cc);
	else if (e->response_len == 0)
		rv = ipmic_reply_cc(req, e->cc);
	else if (req->len < k)	/* the broker checks this; so do we */
		rv = ipmic_reply_cc(req, e->cc);
	else {
		memcpy(rsp, req->data, k);
		memcpy(rsp + k, e->response, e->response_len);
		rv = ipmic_reply(req, e->cc, rsp, k + e->response_len);
	}
	if (rv < 0)
		canned_log(IPMIC_LOG_WARN, "0x%02x/0x%02x: reply: %s", netfn,
		    cmd, ipmic_strerror(rv));
}

/* ---- config ---- */

struct canned_config_ctx {
	struct canned_table	*table;
	struct canned_entry	*cur;	/* the [entry] being read */
	char			 section[CANNED_NAME_MAX + 8];
	const char		*error;
	char			 buf[160];
};

static int
canned_config_load(const char *path, struct canned_table *t)
{
	char	 err[256];
	FILE	*f;
	int	 rv;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	rv = canned_config_read(f, path, t, err, sizeof(err));
	fclose(f);
	if (rv != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static void
canned_table_free(struct canned_table *t)
{
	free(t->entries);
	t->entries = NULL;
	t->count = 0;
}

static int
canned_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Hex bytes: blank-separated groups of pairs of digits, each group may
 * start with 0x: "51 00 0a", "51000a" and "0x51 0x00 0x0a" are the same.
 * A one-digit group is one byte ("0x5"). Returns the count, or -1.
 */
static int
canned_parse_hex(const char *s, uint8_t *out, size_t max)
{
	size_t	n = 0, digits;
	int	hi, lo;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == ':' || *s == ',')
			s++;
		if (*s == '\0')
			return (int)n;
		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
			s += 2;
		for (digits = 0; canned_hex_digit(s[digits]) >= 0; digits++)
			;
		if (digits == 0 || (digits > 1 && digits % 2 != 0))
			return -1;
		if (s[digits] != '\0' && s[digits] != ' ' &&
		    s[digits] != '\t' && s[digits] != ':' && s[digits] != ',')
			return -1;
		if (digits == 1) {
			if (n == max)
				return -1;
			out[n++] = canned_hex_digit(*s++);
			continue;
		}
		for (; digits > 0; digits -= 2, s += 2) {
			if (n == max)
				return -1;
			hi = canned_hex_digit(s[0]);
			lo = canned_hex_digit(s[1]);
			out[n++] = hi << 4 | lo;
		}
	}
}

/* A decimal or 0x-hex byte. */
static int
canned_parse_byte(const char *s, uint8_t *out)
{
	unsigned long	 n;
	char		*end;
	int		 base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		base = 16;
	}
	if (canned_hex_digit(*s) < 0)
		return -1;
	errno = 0;
	n = strtoul(s, &end, base);
	if (errno != 0 || *end != '\0' || n > 0xff)
		return -1;
	*out = n;
	return 0;
}

static int
canned_parse_bool(const char *s, bool *out)
{
	if (strcmp(s, "yes") == 0 || strcmp(s, "true") == 0)
		*out = true;
	else if (strcmp(s, "no") == 0 || strcmp(s, "false") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

/* A [canned] key. */
static const char *
canned_config_global(struct canned_table *t, const char *name,
    const char *value)
{
	if (strcmp(name, "default_route") == 0) {
		if (canned_parse_bool(value, &t->default_route) != 0)
			return "default_route: expected yes or no";
	} else if (strcmp(name, "default_cc") == 0) {
		if (canned_parse_byte(value, &t->default_cc) != 0)
			return "default_cc: expected a number from 0 to 0xff";
	} else
		return "unknown key in [canned]";
	return NULL;
}

/*
 * A key of the current [entry NAME]. A key given twice is an error: inih
 * joins two sections of the same name when they follow each other, so
 * this is also how a repeated entry name shows.
 */
static const char *
canned_config_entry(struct canned_entry *e, const char *name,
    const char *value)
{
	static const char *const names[] = { "netfn", "cmd", "cc", "request",
	    "response" };
	unsigned int	k;
	int		n;

	for (k = 0; k < 5; k++)
		if (strcmp(name, names[k]) == 0)
			break;
	if (k == 5)
		return "unknown key in [entry]: expected netfn, cmd, "
		    "request, cc or response";
	if (e->keys & 1U << k)
		return "key given twice in this entry (or the entry name "
		    "used twice)";
	e->keys |= 1U << k;
	switch (1U << k) {
	case CANNED_K_NETFN:
		if (canned_parse_byte(value, &e->netfn) != 0 ||
		    (e->netfn & 1) || e->netfn > 0x3e)
			return "netfn: expected an even number from 0 to 0x3e";
		break;
	case CANNED_K_CMD:
		if (canned_parse_byte(value, &e->cmd) != 0)
			return "cmd: expected a number from 0 to 0xff";
		break;
	case CANNED_K_CC:
		if (canned_parse_byte(value, &e->cc) != 0)
			return "cc: expected a number from 0 to 0xff";
		break;
	case CANNED_K_REQUEST:
		if ((n = canned_parse_hex(value, e->prefix,
		    sizeof(e->prefix))) < 0)
			return "request: expected hex bytes, as 01 0a ff";
		e->prefix_len = n;
		break;
	default:
		if ((n = canned_parse_hex(value, e->response,
		    sizeof(e->response))) < 0)
			return "response: expected hex bytes, as 01 0a ff";
		e->response_len = n;
		break;
	}
	return NULL;
}

/* The entry just finished: complete? Returns NULL, or what is wrong. */
static const char *
canned_entry_check(struct canned_config_ctx *ctx)
{
	struct canned_entry	*e = ctx->cur;

	if (e == NULL)
		return NULL;
	ctx->cur = NULL;
	snprintf(ctx->buf, sizeof(ctx->buf), "entry %.64s: ", e->name);
	if ((e->keys & (CANNED_K_NETFN | CANNED_K_CMD)) !=
	    (CANNED_K_NETFN | CANNED_K_CMD))
		strncat(ctx->buf, "needs netfn and cmd",
		    sizeof(ctx->buf) - strlen(ctx->buf) - 1);
	else if (e->prefix_len < canned_key_len(e->netfn))
		strncat(ctx->buf, e->netfn == CANNED_NETFN_OEM ?
		    "netfn 0x2e needs the 3 IANA bytes (LS first) to start "
		    "its request" : "netfn 0x2c needs the defining body "
		    "byte to start its request",
		    sizeof(ctx->buf) - strlen(ctx->buf) - 1);
	else
		return NULL;
	return ctx->buf;
}

/* Start a new [entry NAME] section. */
static const char *
canned_entry_new(struct canned_config_ctx *ctx, const char *section)
{
	struct canned_table	*t = ctx->table;
	struct canned_entry	*e;
	const char		*name = section + strlen("entry ");
	size_t			 i;

	while (*name == ' ')
		name++;
	if (*name == '\0' || strlen(name) >= CANNED_NAME_MAX)
		return "[entry NAME]: a name of 1 to 63 characters";
	for (i = 0; i < t->count; i++)
		if (strcmp(t->entries[i].name, name) == 0)
			return "entry name used twice";
	if (t->count == CANNED_ENTRIES_MAX)
		return "too many entries (1024 at most)";
	e = realloc(t->entries, (t->count + 1) * sizeof(*e));
	if (e == NULL)
		return "out of memory";
	t->entries = e;
	e = &t->entries[t->count++];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	ctx->cur = e;
	return NULL;
}

/*
 * inih callback: returns 1 to go on, 0 for an error at this line. inih
 * reports a section only through its keys, so a change of section is seen
 * at the new section's first key; an entry is checked then, and once more
 * after the last line.
 */
static int
canned_config_set(void *arg, const char *section, const char *name,
    const char *value)
{
	struct canned_config_ctx	*ctx = arg;
	const char			*error = NULL;

	if (strcmp(section, ctx->section) != 0) {
		error = canned_entry_check(ctx);
		snprintf(ctx->section, sizeof(ctx->section), "%s", section);
		if (error == NULL && strncmp(section, "entry ", 6) == 0)
			error = canned_entry_new(ctx, section);
		else if (error == NULL && strcmp(section, "canned") != 0) {
			snprintf(ctx->buf, sizeof(ctx->buf),
			    "unknown section [%.64s]: expected [canned] or "
			    "[entry NAME]", section);
			error = ctx->buf;
		}
	}
	if (error == NULL)
		error = ctx->cur != NULL ?
		    canned_config_entry(ctx->cur, name, value) :
		    canned_config_global(ctx->table, name, value);
	if (error == NULL)
		return 1;
	if (ctx->error == NULL)
		ctx->error = error;
	return 0;
}

/*
 * Read the table from f. Returns 0, or -1 with "path:line: what" in err
 * (an incomplete last entry is reported at the end of the file).
 */
static int
canned_config_read(FILE *f, const char *path, struct canned_table *t,
    char *err, size_t errlen)
{
	struct canned_config_ctx	ctx;
	const char			*error;
	int				 line;

	memset(t, 0, sizeof(*t));
	t->default_cc = IPMI_CC_INVALID_CMD;
	memset(&ctx, 0, sizeof(ctx));
	ctx.table = t;
	line = ini_parse_file(f, canned_config_set, &ctx);
	if (line == 0) {
		if ((error = canned_entry_check(&ctx)) == NULL)
			return 0;
		snprintf(err, errlen, "%s: at the end: %s", path, error);
	} else if (line < 0)
		snprintf(err, errlen, "%s: cannot read the file", path);
	else
		snprintf(err, errlen, "%s:%d: %s", path, line,
		    ctx.error != NULL ? ctx.error : "syntax error");
	canned_table_free(t);
	return -1;
}
