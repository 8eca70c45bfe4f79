/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/*
 * ctl-output: what ipmi-ctl prints.
 *
 * As in bgpctl's output.c and output_json.c, each record type the broker
 * streams has one text printer and one JSON printer, reached through the
 * two struct ctl_output tables at the end of this file. Nothing goes to
 * stdout until the answer is complete: text rows are collected into tables
 * whose column widths come from the widest cell, JSON goes into a memory
 * stream, and ctl_out_finish() writes the result in one go.
 *
 * Strings come from the broker, which copies them from handlers and the
 * config: they are untrusted. Text output replaces control characters with
 * '?', so no handler name can drive the terminal; JSON output escapes them
 * and replaces bytes that are not UTF-8 with U+FFFD, so the document stays
 * valid whatever the broker sends.
 */

#define CTL_TABLE_COLS	13
#define CTL_SET_BUF	64

struct ctl_table {
	size_t		  ncols;
	const char	**head;		/* NULL: no heading row */
	char		**cells;	/* row-major, ncols per row */
	size_t		  ncells;
	size_t		  cap;
	int		  failed;
};

struct ctl_output {
	void	(*registration)(struct ctl_out *,
		    const Ctl__Registration *);
	void	(*handler)(struct ctl_out *, const Ctl__HandlerInfo *);
	void	(*bus)(struct ctl_out *, const Ctl__BusInfo *);
	void	(*command_stat)(struct ctl_out *, const Ctl__CommandStat *);
	void	(*counter)(struct ctl_out *, const Ctl__Counter *);
	void	(*status)(struct ctl_out *, const Ctl__Status *);
	void	(*send_result)(struct ctl_out *, const Ctl__SendResult *);
	int	(*finish)(struct ctl_out *, FILE *);
};

struct ctl_out {
	const struct ctl_output	*ops;
	enum ctl_action		 action;
	struct ctl_table	 table[2];	/* text; stats uses both */
	FILE			*mem[2];	/* json items; counters */
	char			*buf[2];
	size_t			 len[2];
	size_t			 count[2];
};

static const struct ctl_output	ctl_output_text, ctl_output_json;

static const char *ctl_head_list[] = { "NETFN", "CMD", "LUNS", "IANA/BODY",
	"CHANNELS", "HANDLER", "PID", "UID", "SERVED", "FALLBACKS",
	"DEADLINE", NULL };
static const char *ctl_head_handlers[] = { "NAME", "PID", "UID", "GID",
	"REGS", "INFLIGHT", "SERVED", "FALLBACKS", "LATE", "SENT",
	"CONNECTED", "DEFAULT", NULL };
static const char *ctl_head_buses[] = { "NAME", "DRIVER", "DEVICE",
	"CHANNEL", "STATE", "PID", "RESTARTS", "LAST-EXIT", "QUEUE", "DROPS",
	"INFLIGHT", "REQUESTS", "DEADLINE", NULL };
static const char *ctl_head_stats[] = { "NETFN", "CMD", "IANA/BODY",
	"COUNT", "FALLBACKS", "P50", "P90", "P99", "MAX", NULL };
static const char *ctl_head_counters[] = { "NAME", "VALUE", NULL };

static const struct {
	unsigned int	 cc;
	const char	*name;
} ctl_cc_names[] = {
	{ 0x00, "success" },
	{ 0xc0, "node busy" },
	{ 0xc1, "invalid command" },
	{ 0xc2, "invalid for LUN" },
	{ 0xc3, "timeout" },
	{ 0xc4, "out of space" },
	{ 0xc5, "reservation cancelled" },
	{ 0xc6, "request data truncated" },
	{ 0xc7, "request data length invalid" },
	{ 0xc8, "request data field length limit exceeded" },
	{ 0xc9, "parameter out of range" },
	{ 0xca, "cannot return requested number of bytes" },
	{ 0xcb, "requested sensor/data/record not present" },
	{ 0xcc, "invalid data field" },
	{ 0xcd, "command illegal for sensor/record type" },
	{ 0xce, "response could not be provided" },
	{ 0xcf, "duplicated request" },
	{ 0xd0, "SDR repository in update mode" },
	{ 0xd1, "firmware update mode" },
	{ 0xd2, "BMC initialization in progress" },
	{ 0xd3, "destination unavailable" },
	{ 0xd4, "insufficient privilege" },
	{ 0xd5, "not supported in present state" },
	{ 0xd6, "command disabled" },
	{ 0xff, "unspecified" },
};

const char *
ctl_cc_name(unsigned int cc)
{
	size_t	i;

	for (i = 0; i < sizeof(ctl_cc_names) / sizeof(ctl_cc_names[0]); i++)
		if (ctl_cc_names[i].cc == cc)
			return ctl_cc_names[i].name;
	if (cc >= 0x01 && cc <= 0x7e)
		return "device specific (OEM)";
	if (cc >= 0x80 && cc <= 0xbe)
		return "command specific";
	return "unknown";
}

/* A bit set as "0,2", "0-3" or "1,2,8-11"; runs of three or more bits
 * become ranges. */
void
ctl_fmt_set(uint32_t mask, unsigned int nbits, char *buf, size_t len)
{
	unsigned int	i, j;
	size_t		off = 0;
	int		r;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < nbits && off < len; i = j + 1) {
		if (!(mask & (1u << i))) {
			j = i;
			continue;
		}
		for (j = i; j + 1 < nbits && (mask & (1u << (j + 1))); j++)
			;
		if (j - i >= 2)
			r = snprintf(buf + off, len - off, "%s%u-%u",
			    off > 0 ? "," : "", i, j);
		else if (j > i)
			r = snprintf(buf + off, len - off, "%s%u,%u",
			    off > 0 ? "," : "", i, j);
		else
			r = snprintf(buf + off, len - off, "%s%u",
			    off > 0 ? "," : "", i);
		off += r > 0 ? (size_t)r : 0;
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "none");
}

void
ctl_fmt_luns(uint32_t mask, char *buf, size_t len)
{
	if ((mask & 0x0f) == 0x0f)
		snprintf(buf, len, "all");
	else
		ctl_fmt_set(mask, 4, buf, len);
}

void
ctl_fmt_channels(uint32_t mask, char *buf, size_t len)
{
	if ((mask & 0xffff) == 0xffff)
		snprintf(buf, len, "all");
	else
		ctl_fmt_set(mask, 16, buf, len);
}

/* 85us, 1.2ms, 350ms, 4.0s, 12s: two or three significant digits,
 * truncated rather than rounded. */
void
ctl_fmt_usec(uint64_t us, char *buf, size_t len)
{
	if (us < 1000)
		snprintf(buf, len, "%" PRIu64 "us", us);
	else if (us < 10000)
		snprintf(buf, len, "%" PRIu64 ".%" PRIu64 "ms", us / 1000,
		    us / 100 % 10);
	else if (us < 1000000)
		snprintf(buf, len, "%" PRIu64 "ms", us / 1000);
	else if (us < 10000000)
		snprintf(buf, len, "%" PRIu64 ".%" PRIu64 "s", us / 1000000,
		    us / 100000 % 10);
	else
		snprintf(buf, len, "%" PRIu64 "s", us / 1000000);
}

/* How long something has been up: 850ms, 42s, 4m12s, 2h05m, 3d04h. */
void
ctl_fmt_uptime(uint64_t ms, char *buf, size_t len)
{
	uint64_t	s = ms / 1000;

	if (ms < 1000)
		snprintf(buf, len, "%" PRIu64 "ms", ms);
	else if (s < 60)
		snprintf(buf, len, "%" PRIu64 "s", s);
	else if (s < 3600)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60,
		    s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600,
		    s / 60 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400,
		    s / 3600 % 24);
}

/* Length of the valid UTF-8 sequence at s, or 0 if there is none. */
static size_t
ctl_utf8_len(const unsigned char *s)
{
	size_t		n, i;
	uint32_t	cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

void
ctl_json_string(FILE *f, const char *str)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 n;

	fputc('"', f);
	while (*s != '\0') {
		if (*s == '"' || *s == '\\') {
			fprintf(f, "\\%c", *s);
			s++;
		} else if (*s == '\n') {
			fputs("\\n", f);
			s++;
		} else if (*s == '\t') {
			fputs("\\t", f);
			s++;
		} else if (*s < 0x20 || *s == 0x7f) {
			fprintf(f, "\\u%04x", *s);
			s++;
		} else if ((n = ctl_utf8_len(s)) == 0) {
			fputs("\\ufffd", f);
			s++;
		} else {
			fwrite(s, 1, n, f);
			s += n;
		}
	}
	fputc('"', f);
}

/*
 * Copies an untrusted string for a terminal: C0 and C1 control characters
 * and bytes that are not UTF-8 become '?', so nothing the broker relays
 * can start an escape sequence. Never longer than src.
 */
void
ctl_clean(char *dst, size_t len, const char *src)
{
	const unsigned char	*s = (const unsigned char *)src;
	size_t			 i = 0, n;

	if (len == 0)
		return;
	while (*s != '\0' && i + 1 < len) {
		n = ctl_utf8_len(s);
		if (n == 0 || *s < 0x20 || *s == 0x7f ||
		    (s[0] == 0xc2 && s[1] < 0xa0)) {
			dst[i++] = '?';
			s++;
			continue;
		}
		if (i + n >= len)
			break;
		memcpy(dst + i, s, n);
		i += n;
		s += n;
	}
	dst[i] = '\0';
}

static void
ctl_json_set(FILE *f, uint32_t mask, unsigned int nbits)
{
	unsigned int	i;
	int		first = 1;

	fputc('[', f);
	for (i = 0; i < nbits; i++) {
		if (!(mask & (1u << i)))
			continue;
		fprintf(f, "%s%u", first ? "" : ",", i);
		first = 0;
	}
	fputc(']', f);
}

/* The group-extension (0x2C) and OEM (0x2E) netfns carry a key. */
static int
ctl_is_body(uint32_t netfn)
{
	return (netfn & ~1u) == 0x2c;
}

static int
ctl_is_iana(uint32_t netfn)
{
	return (netfn & ~1u) == 0x2e;
}

static void
ctl_fmt_key(uint32_t netfn, uint32_t iana, uint32_t body, char *buf,
    size_t len)
{
	if (ctl_is_iana(netfn))
		snprintf(buf, len, "iana %u", iana);
	else if (ctl_is_body(netfn))
		snprintf(buf, len, "body 0x%02x", body);
	else
		snprintf(buf, len, "-");
}

static void
ctl_json_key(FILE *f, uint32_t netfn, uint32_t iana, uint32_t body)
{
	if (ctl_is_iana(netfn))
		fprintf(f, "\"iana\":%u,", iana);
	else
		fprintf(f, "\"iana\":null,");
	if (ctl_is_body(netfn))
		fprintf(f, "\"body\":%u", body);
	else
		fprintf(f, "\"body\":null");
}

static void
ctl_table_init(struct ctl_table *t, const char **head, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	t->head = head;
	t->ncols = ncols;
}

static void
ctl_table_deinit(struct ctl_table *t)
{
	size_t	i;

	for (i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

static void
ctl_table_put(struct ctl_table *t, char *cell)
{
	char	**n;
	size_t	  cap;

	if (cell == NULL)
		t->failed = 1;
	if (t->ncells == t->cap) {
		cap = t->cap == 0 ? 64 : t->cap * 2;
		if ((n = reallocarray(t->cells, cap, sizeof(*n))) == NULL) {
			free(cell);
			t->failed = 1;
			return;
		}
		t->cells = n;
		t->cap = cap;
	}
	t->cells[t->ncells++] = cell;
}

/* Appends one cell; a row is ncols cells. */
static void __attribute__((format(printf, 2, 3)))
ctl_table_add(struct ctl_table *t, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	ctl_table_put(t, s);
}

/* Appends an untrusted string, cleaned; "-" when empty. */
static void
ctl_table_str(struct ctl_table *t, const char *str)
{
	char	*s;
	size_t	 len;

	if (*str == '\0')
		str = "-";
	len = strlen(str) + 1;
	if ((s = malloc(len)) != NULL)
		ctl_clean(s, len, str);
	ctl_table_put(t, s);
}

static void
ctl_table_print(const struct ctl_table *t, FILE *f)
{
	size_t		 w[CTL_TABLE_COLS] = { 0 };
	size_t		 i, c, len;
	const char	*s;

	for (c = 0; t->head != NULL && c < t->ncols; c++)
		w[c] = strlen(t->head[c]);
	for (i = 0; i < t->ncells; i++) {
		len = t->cells[i] != NULL ? strlen(t->cells[i]) : 0;
		if (len > w[i % t->ncols])
			w[i % t->ncols] = len;
	}
	for (c = 0; t->head != NULL && c < t->ncols; c++) {
		if (c + 1 < t->ncols)
			fprintf(f, "%-*s  ", (int)w[c], t->head[c]);
		else
			fprintf(f, "%s\n", t->head[c]);
	}
	for (i = 0; i < t->ncells; i++) {
		s = t->cells[i] != NULL ? t->cells[i] : "";
		c = i % t->ncols;
		/* No padding after the last column: no trailing blanks. */
		if (c + 1 < t->ncols)
			fprintf(f, "%-*s  ", (int)w[c], s);
		else
			fprintf(f, "%s\n", s);
	}
}

static size_t
ctl_head_count(const char **head)
{
	size_t	n = 0;

	while (head[n] != NULL)
		n++;
	return n;
}

struct ctl_out *
ctl_out_new(enum ctl_action action, int json)
{
	struct ctl_out	*o;
	const char	**head = NULL;
	int		 i;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->action = action;
	o->ops = json ? &ctl_output_json : &ctl_output_text;
	for (i = 0; i < 2; i++)
		if ((o->mem[i] = open_memstream(&o->buf[i], &o->len[i])) ==
		    NULL)
			return ctl_out_free(o);
	switch (action) {
	case CTL_LIST:
		head = ctl_head_list;
		break;
	case CTL_HANDLERS:
		head = ctl_head_handlers;
		break;
	case CTL_BUSES:
		head = ctl_head_buses;
		break;
	case CTL_STATS:
		head = ctl_head_stats;
		ctl_table_init(&o->table[1], ctl_head_counters, 2);
		break;
	case CTL_STATUS:
		ctl_table_init(&o->table[0], NULL, 2);
		break;
	default:
		break;
	}
	if (head != NULL)
		ctl_table_init(&o->table[0], head, ctl_head_count(head));
	return o;
}

struct ctl_out *
ctl_out_free(struct ctl_out *o)
{
	int	i;

	if (o == NULL)
		return NULL;
	for (i = 0; i < 2; i++) {
		if (o->mem[i] != NULL)
			fclose(o->mem[i]);
		free(o->buf[i]);
		ctl_table_deinit(&o->table[i]);
	}
	free(o);
	return NULL;
}

void
ctl_out_registration(struct ctl_out *o, const Ctl__Registration *r)
{
	o->ops->registration(o, r);
	o->count[0]++;
}

void
ctl_out_handler(struct ctl_out *o, const Ctl__HandlerInfo *h)
{
	o->ops->handler(o, h);
	o->count[0]++;
}

void
ctl_out_bus(struct ctl_out *o, const Ctl__BusInfo *b)
{
	o->ops->bus(o, b);
	o->count[0]++;
}

void
ctl_out_command_stat(struct ctl_out *o, const Ctl__CommandStat *s)
{
	o->ops->command_stat(o, s);
	o->count[0]++;
}

void
ctl_out_counter(struct ctl_out *o, const Ctl__Counter *c)
{
	o->ops->counter(o, c);
	o->count[1]++;
}

void
ctl_out_status(struct ctl_out *o, const Ctl__Status *s)
{
	o->ops->status(o, s);
	o->count[0]++;
}

void
ctl_out_send_result(struct ctl_out *o, const Ctl__SendResult *r)
{
	o->ops->send_result(o, r);
	o->count[0]++;
}

/* Writes the collected answer to dst. Returns 0, -ENOMEM or -EIO. */
int
ctl_out_finish(struct ctl_out *o, FILE *dst)
{
	int	i;

	for (i = 0; i < 2; i++)
		if (fflush(o->mem[i]) != 0 || ferror(o->mem[i]) ||
		    o->table[i].failed)
			return -ENOMEM;
	if (o->ops->finish(o, dst) != 0 || fflush(dst) != 0 || ferror(dst))
		return -EIO;
	return 0;
}

/* Text printers. */

static void
ctl_text_registration(struct ctl_out *o, const Ctl__Registration *r)
{
	struct ctl_table	*t = &o->table[0];
	char			 buf[CTL_SET_BUF];

	if (r->is_default)
		ctl_table_add(t, "default");
	else
		ctl_table_add(t, "0x%02x", r->netfn);
	if (r->any_cmd)
		ctl_table_add(t, "any");
	else
		ctl_table_add(t, "0x%02x", r->cmd);
	ctl_fmt_luns(r->lun_mask, buf, sizeof(buf));
	ctl_table_add(t, "%s", buf);
	ctl_fmt_key(r->netfn, r->iana, r->body, buf, sizeof(buf));
	ctl_table_add(t, "%s", buf);
	ctl_fmt_channels(r->channel_mask, buf, sizeof(buf));
	ctl_table_add(t, "%s", buf);
	ctl_table_str(t, r->handler);
	ctl_table_add(t, "%u", r->pid);
	ctl_table_add(t, "%u", r->uid);
	ctl_table_add(t, "%" PRIu64, r->served);
	ctl_table_add(t, "%" PRIu64, r->fallbacks);
	if (r->deadline_ms == 0)
		ctl_table_add(t, "bus");
	else {
		ctl_fmt_usec((uint64_t)r->deadline_ms * 1000, buf,
		    sizeof(buf));
		ctl_table_add(t, "%s", buf);
	}
}

static void
ctl_text_handler(struct ctl_out *o, const Ctl__HandlerInfo *h)
{
	struct ctl_table	*t = &o->table[0];
	char			 buf[CTL_SET_BUF];

	ctl_table_str(t, h->name);
	ctl_table_add(t, "%u", h->pid);
	ctl_table_add(t, "%u", h->uid);
	ctl_table_add(t, "%u", h->gid);
	ctl_table_add(t, "%u", h->registrations);
	ctl_table_add(t, "%u", h->inflight);
	ctl_table_add(t, "%" PRIu64, h->served);
	ctl_table_add(t, "%" PRIu64, h->fallbacks);
	ctl_table_add(t, "%" PRIu64, h->late);
	ctl_table_add(t, "%" PRIu64, h->sent);
	ctl_fmt_uptime(h->connected_ms, buf, sizeof(buf));
	ctl_table_add(t, "%s", buf);
	ctl_table_add(t, "%s", h->is_default ? "yes" : "no");
}

static void
ctl_text_bus(struct ctl_out *o, const Ctl__BusInfo *b)
{
	struct ctl_table	*t = &o->table[0];
	char			 buf[CTL_SET_BUF];

	ctl_table_str(t, b->name);
	ctl_table_str(t, b->driver);
	ctl_table_str(t, b->device);
	ctl_table_add(t, "%u", b->channel);
	ctl_table_str(t, b->state);
	if (b->pid == 0)
		ctl_table_add(t, "-");
	else
		ctl_table_add(t, "%u", b->pid);
	ctl_table_add(t, "%u", b->restarts);
	ctl_table_str(t, b->last_exit);
	ctl_table_add(t, "%u", b->queue_depth);
	ctl_table_add(t, "%" PRIu64, b->drops);
	ctl_table_add(t, "%u", b->inflight);
	ctl_table_add(t, "%" PRIu64, b->requests);
	if (b->deadline_ms == 0)
		ctl_table_add(t, "-");
	else {
		ctl_fmt_usec((uint64_t)b->deadline_ms * 1000, buf,
		    sizeof(buf));
		ctl_table_add(t, "%s", buf);
	}
}

static void
ctl_text_command_stat(struct ctl_out *o, const Ctl__CommandStat *s)
{
	struct ctl_table	*t = &o->table[0];
	char			 buf[CTL_SET_BUF];
	uint32_t		 lat[4];
	int			 i;

	ctl_table_add(t, "0x%02x", s->netfn);
	ctl_table_add(t, "0x%02x", s->cmd);
	ctl_fmt_key(s->netfn, s->iana, s->body, buf, sizeof(buf));
	ctl_table_add(t, "%s", buf);
	ctl_table_add(t, "%" PRIu64, s->count);
	ctl_table_add(t, "%" PRIu64, s->fallbacks);
	lat[0] = s->p50_us;
	lat[1] = s->p90_us;
	lat[2] = s->p99_us;
	lat[3] = s->max_us;
	for (i = 0; i < 4; i++) {
		ctl_fmt_usec(lat[i], buf, sizeof(buf));
		ctl_table_add(t, "%s", buf);
	}
}

static void
ctl_text_counter(struct ctl_out *o, const Ctl__Counter *c)
{
	ctl_table_str(&o->table[1], c->name);
	ctl_table_add(&o->table[1], "%" PRIu64, c->value);
}

static void
ctl_text_status(struct ctl_out *o, const Ctl__Status *s)
{
	struct ctl_table	*t = &o->table[0];
	char			 buf[CTL_SET_BUF];

	ctl_fmt_uptime(s->uptime_ms, buf, sizeof(buf));
	ctl_table_add(t, "broker pid:");
	ctl_table_add(t, "%u", s->broker_pid);
	ctl_table_add(t, "version:");
	ctl_table_str(t, s->version);
	ctl_table_add(t, "uptime:");
	ctl_table_add(t, "%s", buf);
	ctl_table_add(t, "config generation:");
	ctl_table_add(t, "%" PRIu64, s->config_generation);
	ctl_table_add(t, "config path:");
	ctl_table_str(t, s->config_path);
	ctl_table_add(t, "handlers:");
	ctl_table_add(t, "%u", s->handlers);
	ctl_table_add(t, "registrations:");
	ctl_table_add(t, "%u", s->registrations);
	ctl_table_add(t, "in flight:");
	ctl_table_add(t, "%u", s->inflight);
	ctl_table_add(t, "requests:");
	ctl_table_add(t, "%" PRIu64, s->requests);
	ctl_table_add(t, "default route:");
	ctl_table_str(t, s->default_route);
}

/* As ipmitool raw: " %02x" per byte, a new line every 16 bytes; only the
 * data of a successful answer (the caller reports any other cc). */
static void
ctl_text_send_result(struct ctl_out *o, const Ctl__SendResult *r)
{
	size_t	i;

	if (r->cc != 0)
		return;
	for (i = 0; i < r->data.len; i++) {
		if (i > 0 && i % 16 == 0)
			fputc('\n', o->mem[0]);
		fprintf(o->mem[0], " %02x", r->data.data[i]);
	}
	fputc('\n', o->mem[0]);
}

static int
ctl_text_finish(struct ctl_out *o, FILE *dst)
{
	if (o->table[0].ncols > 0)
		ctl_table_print(&o->table[0], dst);
	if (o->table[1].ncols > 0) {
		fputc('\n', dst);
		ctl_table_print(&o->table[1], dst);
	}
	fwrite(o->buf[0], 1, o->len[0], dst);
	return 0;
}

/* JSON printers: array items go one per line into mem[0]. */

static FILE *
ctl_json_item(struct ctl_out *o)
{
	if (o->count[0] > 0)
		fputs(",\n", o->mem[0]);
	return o->mem[0];
}

static void
ctl_json_registration(struct ctl_out *o, const Ctl__Registration *r)
{
	FILE	*f = ctl_json_item(o);

	fprintf(f, "{\"netfn\":%u,", r->netfn);
	if (r->any_cmd)
		fprintf(f, "\"cmd\":null,");
	else
		fprintf(f, "\"cmd\":%u,", r->cmd);
	fprintf(f, "\"luns\":");
	ctl_json_set(f, r->lun_mask, 4);
	fprintf(f, ",");
	ctl_json_key(f, r->netfn, r->iana, r->body);
	fprintf(f, ",\"channels\":");
	ctl_json_set(f, r->channel_mask, 16);
	fprintf(f, ",\"handler\":");
	ctl_json_string(f, r->handler);
	fprintf(f, ",\"pid\":%u,\"uid\":%u,\"gid\":%u,\"served\":%" PRIu64
	    ",\"fallbacks\":%" PRIu64 ",\"deadline_ms\":%u,\"default\":%s}",
	    r->pid, r->uid, r->gid, r->served, r->fallbacks, r->deadline_ms,
	    r->is_default ? "true" : "false");
}

static void
ctl_json_handler(struct ctl_out *o, const Ctl__HandlerInfo *h)
{
	FILE	*f = ctl_json_item(o);

	fprintf(f, "{\"name\":");
	ctl_json_string(f, h->name);
	fprintf(f, ",\"pid\":%u,\"uid\":%u,\"gid\":%u,\"registrations\":%u,"
	    "\"inflight\":%u,\"served\":%" PRIu64 ",\"fallbacks\":%" PRIu64
	    ",\"late\":%" PRIu64 ",\"sent\":%" PRIu64 ",\"connected_ms\":%"
	    PRIu64 ",\"default\":%s}", h->pid, h->uid, h->gid,
	    h->registrations, h->inflight, h->served, h->fallbacks, h->late,
	    h->sent, h->connected_ms, h->is_default ? "true" : "false");
}

static void
ctl_json_bus(struct ctl_out *o, const Ctl__BusInfo *b)
{
	FILE	*f = ctl_json_item(o);

	fprintf(f, "{\"name\":");
	ctl_json_string(f, b->name);
	fprintf(f, ",\"driver\":");
	ctl_json_string(f, b->driver);
	fprintf(f, ",\"device\":");
	ctl_json_string(f, b->device);
	fprintf(f, ",\"channel\":%u,\"state\":", b->channel);
	ctl_json_string(f, b->state);
	fprintf(f, ",\"restarts\":%u,\"last_exit\":", b->restarts);
	ctl_json_string(f, b->last_exit);
	fprintf(f, ",\"queue_depth\":%u,\"drops\":%" PRIu64 ",\"inflight\":%u,"
	    "\"requests\":%" PRIu64 ",\"deadline_ms\":%u,\"max_response\":%u,"
	    "\"pid\":%u,\"frames_in\":%" PRIu64 ",\"frames_out\":%" PRIu64
	    ",\"malformed\":%" PRIu64 ",\"bad_checksum\":%" PRIu64
	    ",\"stale\":%" PRIu64 ",\"cancelled\":%" PRIu64 "}",
	    b->queue_depth, b->drops, b->inflight, b->requests,
	    b->deadline_ms, b->max_response, b->pid, b->frames_in,
	    b->frames_out, b->malformed, b->bad_checksum, b->stale,
	    b->cancelled);
}

static void
ctl_json_command_stat(struct ctl_out *o, const Ctl__CommandStat *s)
{
	FILE	*f = ctl_json_item(o);

	fprintf(f, "{\"netfn\":%u,\"cmd\":%u,", s->netfn, s->cmd);
	ctl_json_key(f, s->netfn, s->iana, s->body);
	fprintf(f, ",\"count\":%" PRIu64 ",\"fallbacks\":%" PRIu64
	    ",\"p50_us\":%u,\"p90_us\":%u,\"p99_us\":%u,\"max_us\":%u}",
	    s->count, s->fallbacks, s->p50_us, s->p90_us, s->p99_us,
	    s->max_us);
}

static void
ctl_json_counter(struct ctl_out *o, const Ctl__Counter *c)
{
	if (o->count[1] > 0)
		fputc(',', o->mem[1]);
	ctl_json_string(o->mem[1], c->name);
	fprintf(o->mem[1], ":%" PRIu64, c->value);
}

static void
ctl_json_status(struct ctl_out *o, const Ctl__Status *s)
{
	FILE	*f = o->mem[0];

	fprintf(f, "{\"broker_pid\":%u,\"version\":", s->broker_pid);
	ctl_json_string(f, s->version);
	fprintf(f, ",\"uptime_ms\":%" PRIu64 ",\"config_generation\":%" PRIu64
	    ",\"config_path\":", s->uptime_ms, s->config_generation);
	ctl_json_string(f, s->config_path);
	fprintf(f, ",\"handlers\":%u,\"registrations\":%u,\"inflight\":%u,"
	    "\"requests\":%" PRIu64 ",\"default_route\":", s->handlers,
	    s->registrations, s->inflight, s->requests);
	ctl_json_string(f, s->default_route);
	fputc('}', f);
}

static void
ctl_json_send_result(struct ctl_out *o, const Ctl__SendResult *r)
{
	FILE	*f = o->mem[0];
	size_t	 i;

	fprintf(f, "{\"cc\":%u,\"data\":[", r->cc);
	for (i = 0; i < r->data.len; i++)
		fprintf(f, "%s%u", i > 0 ? "," : "", r->data.data[i]);
	fprintf(f, "],\"handler\":");
	ctl_json_string(f, r->handler);
	fprintf(f, ",\"latency_us\":%u}", r->latency_us);
}

static int
ctl_json_finish(struct ctl_out *o, FILE *dst)
{
	switch (o->action) {
	case CTL_STATS:
		fprintf(dst, "{\"commands\":[%s", o->count[0] > 0 ? "\n" : "");
		fwrite(o->buf[0], 1, o->len[0], dst);
		fprintf(dst, "%s],\"counters\":{", o->count[0] > 0 ? "\n" : "");
		fwrite(o->buf[1], 1, o->len[1], dst);
		fputs("}}\n", dst);
		break;
	case CTL_STATUS:
	case CTL_SEND:
		fwrite(o->buf[0], 1, o->len[0], dst);
		fputc('\n', dst);
		break;
	default:
		fprintf(dst, "[%s", o->count[0] > 0 ? "\n" : "");
		fwrite(o->buf[0], 1, o->len[0], dst);
		fprintf(dst, "%s]\n", o->count[0] > 0 ? "\n" : "");
		break;
	}
	return 0;
}

static const struct ctl_output ctl_output_text = {
	.registration = ctl_text_registration,
	.handler = ctl_text_handler,
	.bus = ctl_text_bus,
	.command_stat = ctl_text_command_stat,
	.counter = ctl_text_counter,
	.status = ctl_text_status,
	.send_result = ctl_text_send_result,
	.finish = ctl_text_finish,
};

static const struct ctl_output ctl_output_json = {
	.registration = ctl_json_registration,
	.handler = ctl_json_handler,
	.bus = ctl_json_bus,
	.command_stat = ctl_json_command_stat,
	.counter = ctl_json_counter,
	.status = ctl_json_status,
	.send_result = ctl_json_send_result,
	.finish = ctl_json_finish,
};
