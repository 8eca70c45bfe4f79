/* SPDX-License-Identifier: MIT */
/*
 * config: the INI file, the struct the daemon runs on, and sup.Config.
 *
 * libinih splits the file into (section, key, value) triples; everything
 * line-shaped is ours. Our reader wraps fgets(): it counts lines (so every
 * error names PATH:LINE), strips leading blanks (so indented keys are keys,
 * not inih's continuation lines), refuses over-long lines instead of letting
 * inih split them, checks each line's shape and reads section headers
 * itself, so an empty or unknown section is caught where it stands. inih
 * then calls config_ini_handler() once per key, and the key table below
 * (section, name, type, where it lives, allowed range) does the rest.
 * Parsing stops at the first error.
 *
 * After the last line come the checks that involve more than one key
 * (config_validate()); they name the line of the key at fault, which is why
 * the parser keeps a line per key. config_from_proto() runs the same table
 * ranges and the same config_validate() on what the broker receives, so a
 * value the loader refuses cannot enter through the socket either.
 *
 * Both config_load() and config_from_proto() build the new config aside and
 * copy it over cfg only when it is valid: a bad reload changes nothing.
 */

#include <sys/socket.h>
#include <sys/un.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "log.h"
#include "wire.h"

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define CONFIG_NKEYS		64	/* bits in config_parse.seen */
#define CONFIG_WHY_MAX		256
#define CONFIG_DEADLINE_MAX	60000
#define CONFIG_COUNT_MAX	1048576
#define CONFIG_PAYLOAD_MIN	32
#define CONFIG_PAYLOAD_MAX	3800
#define CONFIG_CHANNEL_MAX	15
#define CONFIG_NETFN_MAX	0x3e
#define CONFIG_IANA_MAX		0xffffff
#define CONFIG_BODY_MAX		0xff
#define CONFIG_SUN_PATH_MAX	(sizeof(((struct sockaddr_un *)0)->sun_path))

enum config_sect {
	CONFIG_S_NONE,
	CONFIG_S_BROKER,
	CONFIG_S_LIMITS,
	CONFIG_S_FALLBACK,
	CONFIG_S_ROUTE,
	CONFIG_S_ACL,
	CONFIG_S_CTL,
	CONFIG_S_INTERNAL,
	CONFIG_S_BUS,
	CONFIG_S_COUNT
};

static const char *config_sect_names[CONFIG_S_COUNT] = {
	"", "broker", "limits", "fallback", "default_route", "acl", "ctl",
	"internal", "bus"
};

enum config_type {
	CONFIG_T_NUM,		/* decimal or 0x hex, min..max */
	CONFIG_T_CODE,		/* completion code 0x00..0xff */
	CONFIG_T_MODE,		/* octal file mode */
	CONFIG_T_LEVEL,		/* log level name */
	CONFIG_T_STR,		/* any text that fits */
	CONFIG_T_DIR,		/* absolute path */
	CONFIG_T_SOCK,		/* socket path, relative to runtime_dir */
	CONFIG_T_BUSER,		/* [broker] user */
	CONFIG_T_BGROUP,	/* [broker] group */
	CONFIG_T_UID,		/* empty: any; else a user; off2: the uid */
	CONFIG_T_GID,		/* empty: any; else a group; off2: the gid */
	CONFIG_T_NAMEDUSER,	/* a user name kept as text */
	CONFIG_T_NETFNS,	/* netfn ranges; off2: the count */
	CONFIG_T_RANGES,	/* IANA or body ranges; off2: the count */
	CONFIG_T_DRIVER		/* bus driver name */
};

struct config_key {
	enum config_sect	 sect;
	const char		*name;
	enum config_type	 type;
	size_t			 off;	/* in config/config_acl/config_bus */
	size_t			 size;
	size_t			 off2;
	uint32_t		 min;
	uint32_t		 max;
};

#define C_(f)	offsetof(struct config, f), sizeof(((struct config *)0)->f)
#define A_(f)	offsetof(struct config_acl, f), \
		sizeof(((struct config_acl *)0)->f)
#define B_(f)	offsetof(struct config_bus, f), \
		sizeof(((struct config_bus *)0)->f)

static const struct config_key config_keys[] = {
	{ CONFIG_S_BROKER, "runtime_dir", CONFIG_T_DIR, C_(runtime_dir),
	    0, 0, 0 },
	{ CONFIG_S_BROKER, "handler_socket", CONFIG_T_SOCK,
	    C_(handler_socket), 0, 0, 0 },
	{ CONFIG_S_BROKER, "handler_socket_mode", CONFIG_T_MODE,
	    C_(handler_socket_mode), 0, 0, 0777 },
	{ CONFIG_S_BROKER, "control_socket", CONFIG_T_SOCK,
	    C_(control_socket), 0, 0, 0 },
	{ CONFIG_S_BROKER, "control_socket_mode", CONFIG_T_MODE,
	    C_(control_socket_mode), 0, 0, 0777 },
	{ CONFIG_S_BROKER, "user", CONFIG_T_BUSER, C_(user), 0, 0, 0 },
	{ CONFIG_S_BROKER, "group", CONFIG_T_BGROUP, C_(group), 0, 0, 0 },
	{ CONFIG_S_BROKER, "log_level", CONFIG_T_LEVEL, C_(log_level),
	    0, LOG_LVL_ERR, LOG_LVL_DEBUG },
	{ CONFIG_S_BROKER, "max_handlers", CONFIG_T_NUM, C_(max_handlers),
	    0, 1, 65536 },
	{ CONFIG_S_BROKER, "max_controls", CONFIG_T_NUM, C_(max_controls),
	    0, 1, 4096 },

	{ CONFIG_S_LIMITS, "deadline_ms", CONFIG_T_NUM, C_(deadline_ms),
	    0, 1, CONFIG_DEADLINE_MAX },
	{ CONFIG_S_LIMITS, "max_deadline_ms", CONFIG_T_NUM,
	    C_(max_deadline_ms), 0, 1, CONFIG_DEADLINE_MAX },
	{ CONFIG_S_LIMITS, "inflight_total", CONFIG_T_NUM,
	    C_(inflight_total), 0, 1, CONFIG_COUNT_MAX },
	{ CONFIG_S_LIMITS, "inflight_per_handler", CONFIG_T_NUM,
	    C_(inflight_per_handler), 0, 1, CONFIG_COUNT_MAX },
	{ CONFIG_S_LIMITS, "inflight_per_bus", CONFIG_T_NUM,
	    C_(inflight_per_bus), 0, 1, CONFIG_COUNT_MAX },
	{ CONFIG_S_LIMITS, "registrations_per_handler", CONFIG_T_NUM,
	    C_(max_registrations), 0, 1, CONFIG_COUNT_MAX },
	{ CONFIG_S_LIMITS, "max_payload", CONFIG_T_NUM, C_(max_payload),
	    0, CONFIG_PAYLOAD_MIN, CONFIG_PAYLOAD_MAX },

	{ CONFIG_S_FALLBACK, "no_handler", CONFIG_T_CODE,
	    C_(fallback.no_handler), 0, 0, 0xff },
	{ CONFIG_S_FALLBACK, "timeout", CONFIG_T_CODE,
	    C_(fallback.timeout), 0, 0, 0xff },
	{ CONFIG_S_FALLBACK, "disconnected", CONFIG_T_CODE,
	    C_(fallback.disconnected), 0, 0, 0xff },
	{ CONFIG_S_FALLBACK, "busy", CONFIG_T_CODE, C_(fallback.busy),
	    0, 0, 0xff },
	{ CONFIG_S_FALLBACK, "short_oem", CONFIG_T_CODE,
	    C_(fallback.short_oem), 0, 0, 0xff },
	{ CONFIG_S_FALLBACK, "too_large", CONFIG_T_CODE,
	    C_(fallback.too_large), 0, 0, 0xff },

	{ CONFIG_S_ROUTE, "handler", CONFIG_T_STR, C_(default_route.handler),
	    0, 0, 0 },
	{ CONFIG_S_ROUTE, "user", CONFIG_T_UID, C_(default_route.any_uid),
	    offsetof(struct config, default_route.uid), 0, 0 },
	{ CONFIG_S_ROUTE, "group", CONFIG_T_GID, C_(default_route.any_gid),
	    offsetof(struct config, default_route.gid), 0, 0 },
	{ CONFIG_S_ROUTE, "code", CONFIG_T_CODE, C_(default_route.code),
	    0, 0, 0xff },

	{ CONFIG_S_ACL, "user", CONFIG_T_UID, A_(any_uid),
	    offsetof(struct config_acl, uid), 0, 0 },
	{ CONFIG_S_ACL, "group", CONFIG_T_GID, A_(any_gid),
	    offsetof(struct config_acl, gid), 0, 0 },
	{ CONFIG_S_ACL, "netfn", CONFIG_T_NETFNS, A_(netfn),
	    offsetof(struct config_acl, n_netfn), 0, CONFIG_NETFN_MAX },
	{ CONFIG_S_ACL, "iana", CONFIG_T_RANGES, A_(iana),
	    offsetof(struct config_acl, n_iana), 0, CONFIG_IANA_MAX },
	{ CONFIG_S_ACL, "body", CONFIG_T_RANGES, A_(body),
	    offsetof(struct config_acl, n_body), 0, CONFIG_BODY_MAX },

	{ CONFIG_S_CTL, "channel", CONFIG_T_NUM, C_(ctl_channel),
	    0, 0, CONFIG_CHANNEL_MAX },
	{ CONFIG_S_CTL, "max_response", CONFIG_T_NUM, C_(ctl_max_response),
	    0, 1, CONFIG_PAYLOAD_MAX },

	{ CONFIG_S_INTERNAL, "channel", CONFIG_T_NUM, C_(internal_channel),
	    0, 0, CONFIG_CHANNEL_MAX },

	{ CONFIG_S_BUS, "driver", CONFIG_T_DRIVER, B_(driver), 0, 0, 0 },
	{ CONFIG_S_BUS, "device", CONFIG_T_STR, B_(device), 0, 0, 0 },
	{ CONFIG_S_BUS, "channel", CONFIG_T_NUM, B_(channel),
	    0, 0, CONFIG_CHANNEL_MAX },
	{ CONFIG_S_BUS, "deadline_ms", CONFIG_T_NUM, B_(deadline_ms),
	    0, 0, CONFIG_DEADLINE_MAX },
	{ CONFIG_S_BUS, "max_inflight", CONFIG_T_NUM, B_(max_inflight),
	    0, 0, CONFIG_COUNT_MAX },
	{ CONFIG_S_BUS, "queue", CONFIG_T_NUM, B_(queue), 0, 1, 4096 },
	{ CONFIG_S_BUS, "baud", CONFIG_T_NUM, B_(baud), 0, 0, 4000000 },
	{ CONFIG_S_BUS, "user", CONFIG_T_NAMEDUSER, B_(user), 0, 0, 0 },
	{ CONFIG_S_BUS, "driver_path", CONFIG_T_STR, B_(driver_path),
	    0, 0, 0 },
};

_Static_assert(nitems(config_keys) <= CONFIG_NKEYS, "too many config keys");

static const char *config_drivers[] = {
	"bt", "kcs", "ipmb", "ssif", "serial", "vm"
};

/* Bus names the broker uses for its own virtual buses. */
static const char *config_reserved_buses[] = { "ctl", "internal" };

/* State of one config_load(). */
struct config_parse {
	struct config		*cfg;
	const char		*path;
	FILE			*fp;
	int			 lineno;
	enum config_sect	 sect;
	void			*base;	/* what the current section fills */
	char			 label[CONFIG_NAME_MAX + 16];
	uint64_t		 seen;	/* keys set in this [acl]/[bus] */
	int			 sect_line[CONFIG_S_COUNT];
	int			 key_line[CONFIG_NKEYS];
	int			 acl_line[CONFIG_ACL_MAX];
	int			 bus_line[CONFIG_BUS_MAX];
	bool			 user_has_gid;
	gid_t			 user_gid;	/* [broker] user's group */
	bool			 failed;
	char			*err;
	size_t			 errlen;
};

static size_t	 config_strlcpy(char *, const char *, size_t);

/* Parsing. */
static char	*config_read_line(char *, int, void *);
static int	 config_check_line(struct config_parse *, char *);
static int	 config_section(struct config_parse *, const char *);
static int	 config_section_open(struct config_parse *, enum config_sect,
		    const char *);
static int	 config_section_acl(struct config_parse *, const char *);
static int	 config_section_bus(struct config_parse *, const char *);
static int	 config_ini_handler(void *, const char *, const char *,
		    const char *);
static int	 config_set(struct config_parse *, const struct config_key *,
		    const char *, char *, size_t);
static int	 config_set_num(const struct config_key *, void *,
		    const char *, char *, size_t);
static int	 config_set_id(const struct config_key *, void *,
		    const char *, char *, size_t);
static int	 config_set_text(struct config_parse *,
		    const struct config_key *, const char *, char *, size_t);
static int	 config_set_ranges(const struct config_key *, void *,
		    const char *, char *, size_t);
static int	 config_finish(struct config_parse *);
static int	 config_join_socket(struct config_parse *, char *,
		    const char *);
static void	 config_fail(struct config_parse *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Shared by the loader and config_from_proto(). */
static const struct config_key *config_key_find(enum config_sect,
		    const char *);
static int	 config_num_parse(const char *, bool, uint64_t *);
static int	 config_num_check(const struct config_key *, uint64_t,
		    const char *, char *, size_t);
static void	 config_num_store(const struct config_key *, void *,
		    uint32_t);
static int	 config_range_check(const struct config_key *, uint32_t,
		    uint32_t, char *, size_t);
static int	 config_name_check(const char *, char *, size_t);
static bool	 config_driver_known(const char *);
static bool	 config_bus_reserved(const char *);
static int	 config_user_resolve(const char *, uid_t *, bool *, gid_t *,
		    char *, size_t);
static int	 config_group_resolve(const char *, gid_t *, char *, size_t);
static int	 config_validate(const struct config *,
		    const struct config_parse *, int *, char *, size_t);
static int	 config_validate_limits(const struct config *,
		    const struct config_parse *, int *, char *, size_t);
static int	 config_line_of(const struct config_parse *, enum config_sect,
		    const char *);
static int	 config_line_either(const struct config_parse *,
		    enum config_sect, const char *, enum config_sect,
		    const char *);
static bool	 config_ranges_have(const struct config_range *, size_t,
		    uint32_t);

/* sup.Config. */
static void	 config_to_proto_lists(const struct config *,
		    struct config_proto *);
static void	 config_proto_set_ranges(Sup__Range *, Sup__Range **,
		    const struct config_range *, size_t, Sup__Range ***,
		    size_t *);
static int	 config_proto_nums(struct config *, const Sup__Config *,
		    char *, size_t);
static int	 config_proto_route(struct config *,
		    const Sup__DefaultRoute *, char *, size_t);
static int	 config_proto_acl(struct config *, const Sup__Config *, char *,
		    size_t);
static int	 config_proto_ranges(const struct config_key *,
		    struct config_range *, size_t *, Sup__Range **, size_t,
		    const char *, char *, size_t);
static int	 config_proto_bus(struct config *, const Sup__Config *, char *,
		    size_t);

/* strlcpy(3): glibc 2.36 has none. */
static size_t
config_strlcpy(char *dst, const char *src, size_t size)
{
	size_t	len = strlen(src);

	if (size > 0) {
		if (len < size)
			memcpy(dst, src, len + 1);
		else {
			memcpy(dst, src, size - 1);
			dst[size - 1] = '\0';
		}
	}
	return len;
}

void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	config_strlcpy(cfg->runtime_dir, "/run/ipmi-broker",
	    sizeof(cfg->runtime_dir));
	config_strlcpy(cfg->handler_socket, "/run/ipmi-broker/handler.sock",
	    sizeof(cfg->handler_socket));
	config_strlcpy(cfg->control_socket, "/run/ipmi-broker/control.sock",
	    sizeof(cfg->control_socket));
	cfg->handler_socket_mode = 0666;
	cfg->control_socket_mode = 0660;
	cfg->broker_uid = getuid();
	cfg->broker_gid = getgid();
	cfg->log_level = LOG_LVL_INFO;
	cfg->max_handlers = 1024;
	cfg->max_controls = 64;

	cfg->deadline_ms = 3000;
	cfg->max_deadline_ms = 4000;
	cfg->inflight_total = 4096;
	cfg->inflight_per_handler = 1024;
	cfg->inflight_per_bus = 64;
	cfg->max_registrations = 16384;
	cfg->max_payload = 1024;

	cfg->fallback.no_handler = 0xc1;
	cfg->fallback.timeout = 0xc3;
	cfg->fallback.disconnected = 0xce;
	cfg->fallback.busy = 0xc0;
	cfg->fallback.short_oem = 0xc7;
	cfg->fallback.too_large = 0xca;

	cfg->default_route.any_uid = true;
	cfg->default_route.any_gid = true;
	cfg->default_route.code = 0xc1;

	cfg->ctl_channel = 0x0f;
	cfg->ctl_max_response = 1000;
	cfg->internal_channel = 0x0d;
}

int
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct config_parse	 p;
	struct config		*n;
	int			 rc = -1, r;

	memset(&p, 0, sizeof(p));
	p.path = path;
	p.err = err;
	p.errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	if ((n = malloc(sizeof(*n))) == NULL) {
		config_fail(&p, 0, "%s", strerror(errno));
		return -1;
	}
	config_defaults(n);
	p.cfg = n;
	if (config_strlcpy(n->path, path, sizeof(n->path)) >= sizeof(n->path)) {
		config_fail(&p, 0, "path is too long");
		goto out;
	}
	/* Until the file says otherwise, sockets are under runtime_dir. */
	config_strlcpy(n->handler_socket, "handler.sock",
	    sizeof(n->handler_socket));
	config_strlcpy(n->control_socket, "control.sock",
	    sizeof(n->control_socket));
	if ((p.fp = fopen(path, "re")) == NULL) {
		config_fail(&p, 0, "cannot open: %s", strerror(errno));
		goto out;
	}
	r = ini_parse_stream(config_read_line, &p, config_ini_handler, &p);
	if (!p.failed && r != 0)
		config_fail(&p, r > 0 ? r : 0, "cannot parse (inih error %d)",
		    r);
	if (p.failed || config_finish(&p) == -1)
		goto out;
	memcpy(cfg, n, sizeof(*cfg));
	rc = 0;
 out:
	if (p.fp != NULL)
		fclose(p.fp);
	free(n);
	return rc;
}

/* Record the first error as "path:line: message". */
static void
config_fail(struct config_parse *p, int line, const char *fmt, ...)
{
	char	msg[CONFIG_ERR_MAX];
	va_list	ap;

	if (p->failed)
		return;
	p->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->errlen > 0)
		snprintf(p->err, p->errlen, "%s:%d: %s", p->path, line, msg);
}

/*
 * The ini_reader: one line per call, counted. Returning NULL ends the
 * parse, which is how an error stops it.
 */
static char *
config_read_line(char *buf, int size, void *arg)
{
	struct config_parse	*p = arg;
	size_t			 len, skip, bom;
	int			 c;

	if (p->failed)
		return NULL;
	if (fgets(buf, size, p->fp) == NULL) {
		if (ferror(p->fp))
			config_fail(p, p->lineno + 1, "read error: %s",
			    strerror(errno));
		return NULL;
	}
	p->lineno++;
	len = strlen(buf);
	if (len > 0 && buf[len - 1] != '\n') {
		/* inih would parse the rest as a line of its own. */
		if ((c = getc(p->fp)) != EOF && c != '\n') {
			config_fail(p, p->lineno, "line is longer than %d "
			    "characters", size - 1);
			return NULL;
		}
	}
	/* A UTF-8 byte order mark may open the file. */
	bom = p->lineno == 1 && len >= 3 &&
	    memcmp(buf, "\xef\xbb\xbf", 3) == 0;
	/* A line starting with a blank would be a continuation to inih. */
	skip = bom * 3 + strspn(buf + bom * 3, " \t\r\f\v");
	memmove(buf, buf + skip, len - skip + 1);
	if (config_check_line(p, buf) == -1)
		return NULL;
	return buf;
}

/* Comment, section header, or key = value; headers are handled here. */
static int
config_check_line(struct config_parse *p, char *line)
{
	const char	*s;

	if (*line == '\0' || *line == '\n' || *line == ';' || *line == '#')
		return 0;
	if (*line == '[')
		return config_section(p, line);
	for (s = line; *s != '\0'; s++) {
		if (*s == '=' || *s == ':')
			break;
		/* inih's inline comment: ';' after a blank. */
		if (*s == ';' && s > line && isspace((unsigned char)s[-1]))
			break;
	}
	if (*s != '=' && *s != ':') {
		config_fail(p, p->lineno, "expected 'key = value', "
		    "'[section]' or a comment");
		return -1;
	}
	if (s == line) {
		config_fail(p, p->lineno, "missing key before '%c'", *s);
		return -1;
	}
	if (p->sect == CONFIG_S_NONE) {
		config_fail(p, p->lineno, "key outside any section");
		return -1;
	}
	return 0;
}

/* "[kind]" or "[kind NAME]" for the repeatable kinds. */
static int
config_section(struct config_parse *p, const char *line)
{
	char		 hdr[256], *name;
	const char	*end, *rest;
	size_t		 len;
	int		 i;

	if ((end = strchr(line, ']')) == NULL) {
		config_fail(p, p->lineno, "section header without ']'");
		return -1;
	}
	rest = end + 1 + strspn(end + 1, " \t\r\n");
	if (*rest != '\0' && *rest != ';' && *rest != '#') {
		config_fail(p, p->lineno, "text after section header");
		return -1;
	}
	line++;
	line += strspn(line, " \t");
	len = end - line;
	while (len > 0 && isspace((unsigned char)line[len - 1]))
		len--;
	if (len >= sizeof(hdr))
		len = sizeof(hdr) - 1;
	memcpy(hdr, line, len);
	hdr[len] = '\0';
	name = hdr + strcspn(hdr, " \t");
	if (*name != '\0') {
		*name++ = '\0';
		name += strspn(name, " \t");
	}
	for (i = CONFIG_S_NONE + 1; i < CONFIG_S_COUNT; i++)
		if (strcmp(hdr, config_sect_names[i]) == 0)
			break;
	if (i == CONFIG_S_COUNT ||
	    (*name != '\0' && i != CONFIG_S_ACL && i != CONFIG_S_BUS)) {
		config_fail(p, p->lineno, "unknown section [%.*s]", (int)len,
		    line);
		return -1;
	}
	return config_section_open(p, i, name);
}

static int
config_section_open(struct config_parse *p, enum config_sect s,
    const char *name)
{
	char	why[CONFIG_WHY_MAX];

	p->sect = s;
	p->seen = 0;
	if (s != CONFIG_S_ACL && s != CONFIG_S_BUS) {
		if (p->sect_line[s] != 0) {
			config_fail(p, p->lineno, "duplicate section [%s] "
			    "(first at line %d)", config_sect_names[s],
			    p->sect_line[s]);
			return -1;
		}
		p->sect_line[s] = p->lineno;
		p->base = p->cfg;
		config_strlcpy(p->label, config_sect_names[s],
		    sizeof(p->label));
		return 0;
	}
	if (*name == '\0') {
		config_fail(p, p->lineno, "section [%s] needs a name: "
		    "[%s NAME]", config_sect_names[s], config_sect_names[s]);
		return -1;
	}
	if (config_name_check(name, why, sizeof(why)) == -1) {
		config_fail(p, p->lineno, "[%s %s]: %s", config_sect_names[s],
		    name, why);
		return -1;
	}
	snprintf(p->label, sizeof(p->label), "%s %s", config_sect_names[s],
	    name);
	if (s == CONFIG_S_ACL)
		return config_section_acl(p, name);
	return config_section_bus(p, name);
}

/* A new [acl NAME]: unique name, room left; empty user/group mean any. */
static int
config_section_acl(struct config_parse *p, const char *name)
{
	struct config		*cfg = p->cfg;
	struct config_acl	*a;
	size_t			 i;

	for (i = 0; i < cfg->n_acl; i++)
		if (strcmp(cfg->acl[i].name, name) == 0) {
			config_fail(p, p->lineno, "duplicate [%s] "
			    "(first at line %d)", p->label, p->acl_line[i]);
			return -1;
		}
	if (cfg->n_acl == CONFIG_ACL_MAX) {
		config_fail(p, p->lineno, "more than %d [acl] sections",
		    CONFIG_ACL_MAX);
		return -1;
	}
	p->acl_line[cfg->n_acl] = p->lineno;
	a = &cfg->acl[cfg->n_acl++];
	memset(a, 0, sizeof(*a));
	config_strlcpy(a->name, name, sizeof(a->name));
	a->any_uid = a->any_gid = true;
	p->base = a;
	return 0;
}

static int
config_section_bus(struct config_parse *p, const char *name)
{
	struct config		*cfg = p->cfg;
	struct config_bus	*b;
	size_t			 i;

	for (i = 0; i < cfg->n_bus; i++)
		if (strcmp(cfg->bus[i].name, name) == 0) {
			config_fail(p, p->lineno, "duplicate [%s] "
			    "(first at line %d)", p->label, p->bus_line[i]);
			return -1;
		}
	if (config_bus_reserved(name)) {
		config_fail(p, p->lineno, "[%s]: the name '%s' is reserved",
		    p->label, name);
		return -1;
	}
	if (cfg->n_bus == CONFIG_BUS_MAX) {
		config_fail(p, p->lineno, "more than %d [bus] sections",
		    CONFIG_BUS_MAX);
		return -1;
	}
	p->bus_line[cfg->n_bus] = p->lineno;
	b = &cfg->bus[cfg->n_bus++];
	memset(b, 0, sizeof(*b));
	config_strlcpy(b->name, name, sizeof(b->name));
	b->queue = 16;
	p->base = b;
	return 0;
}

/* inih calls this per key; the section is ours (config_section()). */
static int
config_ini_handler(void *arg, const char *section, const char *name,
    const char *value)
{
	struct config_parse	*p = arg;
	const struct config_key	*k;
	char			 why[CONFIG_WHY_MAX];
	size_t			 i;

	if (p->failed)
		return 0;
	if ((k = config_key_find(p->sect, name)) == NULL) {
		config_fail(p, p->lineno, "unknown key '%s' in [%s]", name,
		    p->label);
		return 0;
	}
	i = k - config_keys;
	if (p->sect == CONFIG_S_ACL || p->sect == CONFIG_S_BUS) {
		if (p->seen & (1ULL << i)) {
			config_fail(p, p->lineno, "[%s] %s: duplicate key",
			    p->label, name);
			return 0;
		}
		p->seen |= 1ULL << i;
	} else {
		if (p->key_line[i] != 0) {
			config_fail(p, p->lineno, "[%s] %s: duplicate key "
			    "(first at line %d)", p->label, name,
			    p->key_line[i]);
			return 0;
		}
		p->key_line[i] = p->lineno;
	}
	if (config_set(p, k, value, why, sizeof(why)) == -1) {
		config_fail(p, p->lineno, "[%s] %s: %s", p->label, name, why);
		return 0;
	}
	return 1;
}

/* Parse value as k says and store it; on failure say why. */
static int
config_set(struct config_parse *p, const struct config_key *k,
    const char *value, char *why, size_t wlen)
{
	switch (k->type) {
	case CONFIG_T_NUM:
	case CONFIG_T_CODE:
	case CONFIG_T_MODE:
	case CONFIG_T_LEVEL:
		return config_set_num(k, p->base, value, why, wlen);
	case CONFIG_T_RANGES:
	case CONFIG_T_NETFNS:
		return config_set_ranges(k, p->base, value, why, wlen);
	case CONFIG_T_UID:
	case CONFIG_T_GID:
		return config_set_id(k, p->base, value, why, wlen);
	default:
		return config_set_text(p, k, value, why, wlen);
	}
}

static int
config_set_num(const struct config_key *k, void *base, const char *value,
    char *why, size_t wlen)
{
	uint64_t	v;
	int		lvl;

	if (k->type == CONFIG_T_LEVEL) {
		if ((lvl = log_level_parse(value)) == -1) {
			snprintf(why, wlen, "'%s' is not a log level (error, "
			    "warning, info, debug)", value);
			return -1;
		}
		v = lvl;
	} else if (config_num_parse(value, k->type == CONFIG_T_MODE,
	    &v) == -1) {
		if (k->type == CONFIG_T_MODE)
			snprintf(why, wlen, "'%s' is not an octal mode such "
			    "as 0660", value);
		else
			snprintf(why, wlen, "'%s' is not a number", value);
		return -1;
	}
	if (config_num_check(k, v, value, why, wlen) == -1)
		return -1;
	config_num_store(k, base, v);
	return 0;
}

/* [acl]/[default_route] user or group: empty means any. */
static int
config_set_id(const struct config_key *k, void *base, const char *value,
    char *why, size_t wlen)
{
	bool	*any = (void *)((char *)base + k->off);
	uid_t	 uid;
	gid_t	 gid;

	*any = value[0] == '\0';
	if (*any)
		return 0;
	if (k->type == CONFIG_T_UID) {
		if (config_user_resolve(value, &uid, NULL, NULL, why,
		    wlen) == -1)
			return -1;
		memcpy((char *)base + k->off2, &uid, sizeof(uid));
	} else {
		if (config_group_resolve(value, &gid, why, wlen) == -1)
			return -1;
		memcpy((char *)base + k->off2, &gid, sizeof(gid));
	}
	return 0;
}

static int
config_set_text(struct config_parse *p, const struct config_key *k,
    const char *value, char *why, size_t wlen)
{
	uid_t	uid;
	gid_t	gid;

	if (strlen(value) >= k->size) {
		snprintf(why, wlen, "value is too long (max %zu characters)",
		    k->size - 1);
		return -1;
	}
	if (k->type == CONFIG_T_DIR && value[0] != '/') {
		snprintf(why, wlen, "'%s' is not an absolute path", value);
		return -1;
	}
	if (k->type == CONFIG_T_SOCK && value[0] == '\0') {
		snprintf(why, wlen, "empty path");
		return -1;
	}
	if (k->type == CONFIG_T_DRIVER && !config_driver_known(value)) {
		snprintf(why, wlen, "unknown driver '%s' (bt, kcs, ipmb, "
		    "ssif, serial, vm)", value);
		return -1;
	}
	if (value[0] != '\0') {
		if (k->type == CONFIG_T_BUSER) {
			if (config_user_resolve(value, &uid,
			    &p->user_has_gid, &p->user_gid, why, wlen) == -1)
				return -1;
			p->cfg->broker_uid = uid;
		} else if (k->type == CONFIG_T_BGROUP) {
			if (config_group_resolve(value, &gid, why, wlen) == -1)
				return -1;
			p->cfg->broker_gid = gid;
		} else if (k->type == CONFIG_T_NAMEDUSER &&
		    config_user_resolve(value, &uid, NULL, NULL, why,
		    wlen) == -1)
			return -1;
	}
	config_strlcpy((char *)p->base + k->off, value, k->size);
	return 0;
}

/* "lo-hi, n, ..." into the ranges k names. */
static int
config_set_ranges(const struct config_key *k, void *base, const char *value,
    char *why, size_t wlen)
{
	struct config_range	*r = (void *)((char *)base + k->off);
	size_t			*n = (void *)((char *)base + k->off2);
	char			 buf[256], *item, *save, *dash, *lo, *hi;
	uint64_t		 vlo, vhi;
	size_t			 len;

	*n = 0;
	config_strlcpy(buf, value, sizeof(buf));
	if (buf[0] == '\0')
		return 0;
	save = buf;
	while ((item = strsep(&save, ",")) != NULL) {
		lo = item + strspn(item, " \t");
		len = strlen(lo);
		while (len > 0 && isspace((unsigned char)lo[len - 1]))
			lo[--len] = '\0';
		hi = lo;
		if ((dash = strchr(lo, '-')) != NULL) {
			hi = dash + 1 + strspn(dash + 1, " \t");
			while (dash > lo && isspace((unsigned char)dash[-1]))
				dash--;
			*dash = '\0';
		}
		if (config_num_parse(lo, false, &vlo) == -1 ||
		    config_num_parse(hi, false, &vhi) == -1) {
			snprintf(why, wlen, "'%s' is not a number or a "
			    "range lo-hi", item + strspn(item, " \t"));
			return -1;
		}
		if (*n == CONFIG_RANGES_MAX) {
			snprintf(why, wlen, "more than %d values or ranges",
			    CONFIG_RANGES_MAX);
			return -1;
		}
		if (vlo > UINT32_MAX)
			vlo = UINT32_MAX;
		if (vhi > UINT32_MAX)
			vhi = UINT32_MAX;
		if (config_range_check(k, vlo, vhi, why, wlen) == -1)
			return -1;
		r[*n].lo = vlo;
		r[*n].hi = vhi;
		(*n)++;
	}
	if (*n == 0) {
		snprintf(why, wlen, "'%s' has no values", value);
		return -1;
	}
	return 0;
}

/* Defaults that depend on other keys, socket paths, cross-key checks. */
static int
config_finish(struct config_parse *p)
{
	struct config		*cfg = p->cfg;
	Sup__Envelope		 env = SUP__ENVELOPE__INIT;
	struct config_proto	*store;
	char			 why[CONFIG_ERR_MAX];
	size_t			 size;
	int			 line;

	if (cfg->user[0] != '\0' && cfg->group[0] == '\0') {
		if (!p->user_has_gid) {
			config_fail(p, config_line_of(p, CONFIG_S_BROKER,
			    "user"), "[broker] user: '%s' has no passwd "
			    "entry to take a group from; set group",
			    cfg->user);
			return -1;
		}
		cfg->broker_gid = p->user_gid;
	}
	if (config_join_socket(p, cfg->handler_socket, "handler_socket") ==
	    -1 || config_join_socket(p, cfg->control_socket,
	    "control_socket") == -1)
		return -1;
	if (config_validate(cfg, p, &line, why, sizeof(why)) == -1) {
		config_fail(p, line, "%s", why);
		return -1;
	}

	/* The broker gets all of it in one datagram. */
	env.body_case = SUP__ENVELOPE__BODY_CONFIG;
	if ((env.config = config_to_proto(cfg, &store)) == NULL) {
		config_fail(p, 0, "%s", strerror(errno));
		return -1;
	}
	size = sup__envelope__get_packed_size(&env);
	config_proto_free(store);
	if (size > WIRE_MSG_MAX) {
		config_fail(p, 0, "too big to send to the broker (%zu bytes "
		    "packed, max %d): fewer [acl] or [bus] sections or ranges",
		    size, WIRE_MSG_MAX);
		return -1;
	}
	return 0;
}

/* Put a relative socket path under runtime_dir; check it fits sun_path. */
static int
config_join_socket(struct config_parse *p, char *path, const char *key)
{
	struct config	*cfg = p->cfg;
	char		 buf[PATH_MAX];
	int		 line, n;

	line = config_line_of(p, CONFIG_S_BROKER, key);
	if (path[0] != '/') {
		if (line == 0)
			line = config_line_of(p, CONFIG_S_BROKER,
			    "runtime_dir");
		n = snprintf(buf, sizeof(buf), "%s/%s", cfg->runtime_dir,
		    path);
		if (n < 0 || (size_t)n >= sizeof(buf)) {
			config_fail(p, line, "[broker] %s: path is too long",
			    key);
			return -1;
		}
		config_strlcpy(path, buf, PATH_MAX);
	}
	if (strlen(path) >= CONFIG_SUN_PATH_MAX) {
		config_fail(p, line, "[broker] %s: '%s' is longer than a "
		    "socket path may be (%zu)", key, path,
		    CONFIG_SUN_PATH_MAX - 1);
		return -1;
	}
	return 0;
}

static const struct config_key *
config_key_find(enum config_sect s, const char *name)
{
	size_t	i;

	for (i = 0; i < nitems(config_keys); i++)
		if (config_keys[i].sect == s &&
		    strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

/* The line of a singleton section's key, 0 if unset or not loading. */
static int
config_line_of(const struct config_parse *p, enum config_sect s,
    const char *name)
{
	const struct config_key	*k;

	if (p == NULL || (k = config_key_find(s, name)) == NULL)
		return 0;
	return p->key_line[k - config_keys];
}

/*
 * Decimal or 0x hex; with octal, a leading-0 octal number instead of
 * decimal. No sign, blank or trailing text. Values past UINT32_MAX come
 * back as UINT32_MAX + 1 so the range check reports them.
 */
static int
config_num_parse(const char *s, bool octal, uint64_t *out)
{
	uint64_t	v = 0;
	unsigned int	base = 10;
	int		d;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	} else if (octal) {
		if (s[0] != '0')
			return -1;
		base = 8;
	} else if (s[0] == '0' && s[1] != '\0')
		return -1;	/* 010: octal or decimal? neither */
	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -1;
		if ((unsigned int)d >= base)
			return -1;
		if (v <= UINT32_MAX)
			v = v * base + d;
	}
	if (v > UINT32_MAX)
		v = (uint64_t)UINT32_MAX + 1;
	*out = v;
	return 0;
}

/* Whether v (written as shown) is in k's range. */
static int
config_num_check(const struct config_key *k, uint64_t v, const char *shown,
    char *why, size_t wlen)
{
	if (v >= k->min && v <= k->max)
		return 0;
	if (k->type == CONFIG_T_CODE)
		snprintf(why, wlen, "%s is not a completion code (0x00-0xff)",
		    shown);
	else if (k->type == CONFIG_T_MODE)
		snprintf(why, wlen, "%s is out of range (0-0%o)", shown,
		    k->max);
	else
		snprintf(why, wlen, "%s is out of range (%u-%u)", shown,
		    k->min, k->max);
	return -1;
}

static void
config_num_store(const struct config_key *k, void *base, uint32_t v)
{
	char		*dst = (char *)base + k->off;
	uint8_t		 u8 = v;
	uint16_t	 u16 = v;

	switch (k->size) {
	case 1:
		memcpy(dst, &u8, 1);
		break;
	case 2:
		memcpy(dst, &u16, 2);
		break;
	default:
		memcpy(dst, &v, 4);	/* uint32_t, mode_t, int */
		break;
	}
}

static int
config_range_check(const struct config_key *k, uint32_t lo, uint32_t hi,
    char *why, size_t wlen)
{
	uint32_t	bad;

	if (lo > k->max || hi > k->max) {
		bad = lo > k->max ? lo : hi;
		if (k->type == CONFIG_T_NETFNS)
			snprintf(why, wlen, "0x%x is not a request netfn "
			    "(even, 0x00-0x%02x)", bad, k->max);
		else
			snprintf(why, wlen, "0x%x is out of range (0-0x%x)",
			    bad, k->max);
		return -1;
	}
	if (lo > hi) {
		snprintf(why, wlen, "range 0x%x-0x%x is backwards (lo > hi)",
		    lo, hi);
		return -1;
	}
	if (k->type == CONFIG_T_NETFNS && ((lo & 1) || (hi & 1))) {
		snprintf(why, wlen, "netfn 0x%02x is odd (requests use even "
		    "netfns)", (lo & 1) ? lo : hi);
		return -1;
	}
	return 0;
}

static int
config_name_check(const char *name, char *why, size_t wlen)
{
	const char	*s;

	if (name[0] == '\0') {
		snprintf(why, wlen, "empty name");
		return -1;
	}
	if (strlen(name) >= CONFIG_NAME_MAX) {
		snprintf(why, wlen, "name is longer than %d characters",
		    CONFIG_NAME_MAX - 1);
		return -1;
	}
	for (s = name; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' &&
		    *s != '.') {
			snprintf(why, wlen, "names use letters, digits, "
			    "'-', '_' and '.'");
			return -1;
		}
	return 0;
}

static bool
config_driver_known(const char *name)
{
	size_t	i;

	for (i = 0; i < nitems(config_drivers); i++)
		if (strcmp(name, config_drivers[i]) == 0)
			return true;
	return false;
}

static bool
config_bus_reserved(const char *name)
{
	size_t	i;

	for (i = 0; i < nitems(config_reserved_buses); i++)
		if (strcmp(name, config_reserved_buses[i]) == 0)
			return true;
	return false;
}

/* A user name or decimal uid; *gid is its primary group if it has one. */
static int
config_user_resolve(const char *s, uid_t *uid, bool *has_gid, gid_t *gid,
    char *why, size_t wlen)
{
	struct passwd	*pw;
	uint64_t	 v;

	if (isdigit((unsigned char)s[0])) {
		if (config_num_parse(s, false, &v) == -1 || s[1] == 'x' ||
		    v >= (uid_t)-1) {
			snprintf(why, wlen, "'%s' is not a uid", s);
			return -1;
		}
		*uid = v;
		pw = getpwuid(*uid);
	} else {
		if ((pw = getpwnam(s)) == NULL) {
			snprintf(why, wlen, "unknown user '%s'", s);
			return -1;
		}
		*uid = pw->pw_uid;
	}
	if (has_gid != NULL) {
		*has_gid = pw != NULL;
		if (pw != NULL)
			*gid = pw->pw_gid;
	}
	return 0;
}

static int
config_group_resolve(const char *s, gid_t *gid, char *why, size_t wlen)
{
	struct group	*gr;
	uint64_t	 v;

	if (isdigit((unsigned char)s[0])) {
		if (config_num_parse(s, false, &v) == -1 || s[1] == 'x' ||
		    v >= (gid_t)-1) {
			snprintf(why, wlen, "'%s' is not a gid", s);
			return -1;
		}
		*gid = v;
		return 0;
	}
	if ((gr = getgrnam(s)) == NULL) {
		snprintf(why, wlen, "unknown group '%s'", s);
		return -1;
	}
	*gid = gr->gr_gid;
	return 0;
}

/*
 * Checks across keys, for the loader (p set: lines come from it) and for
 * config_from_proto() (p NULL, line 0).
 */
static int
config_validate(const struct config *cfg, const struct config_parse *p,
    int *line, char *why, size_t wlen)
{
	const struct config_acl	*a;
	size_t			 i;

	if (config_validate_limits(cfg, p, line, why, wlen) == -1)
		return -1;
	if (cfg->default_route.handler[0] != '\0' &&
	    cfg->default_route.any_uid && cfg->default_route.any_gid) {
		*line = config_line_of(p, CONFIG_S_ROUTE, "handler");
		snprintf(why, wlen, "default route handler '%s' needs user "
		    "or group (names are labels, not identities)",
		    cfg->default_route.handler);
		return -1;
	}
	for (i = 0; i < cfg->n_acl; i++) {
		a = &cfg->acl[i];
		*line = p != NULL ? p->acl_line[i] : 0;
		if (a->any_uid && a->any_gid) {
			snprintf(why, wlen, "[acl %s] needs user or group",
			    a->name);
			return -1;
		}
		if (a->n_netfn + a->n_iana + a->n_body == 0) {
			snprintf(why, wlen, "[acl %s] grants nothing: set "
			    "netfn, iana or body", a->name);
			return -1;
		}
	}
	for (i = 0; i < cfg->n_bus; i++) {
		*line = p != NULL ? p->bus_line[i] : 0;
		if (cfg->bus[i].driver[0] == '\0') {
			snprintf(why, wlen, "[bus %s] needs a driver",
			    cfg->bus[i].name);
			return -1;
		}
		if (cfg->bus[i].device[0] == '\0') {
			snprintf(why, wlen, "[bus %s] needs a device",
			    cfg->bus[i].name);
			return -1;
		}
	}
	*line = 0;
	return 0;
}

/* The line of key a, or of b when a was left at its default. */
static int
config_line_either(const struct config_parse *p, enum config_sect sa,
    const char *a, enum config_sect sb, const char *b)
{
	int	line;

	if ((line = config_line_of(p, sa, a)) == 0)
		line = config_line_of(p, sb, b);
	return line;
}

static int
config_validate_limits(const struct config *cfg,
    const struct config_parse *p, int *line, char *why, size_t wlen)
{
	*line = 0;
	if (cfg->max_deadline_ms < cfg->deadline_ms) {
		*line = config_line_either(p, CONFIG_S_LIMITS,
		    "max_deadline_ms", CONFIG_S_LIMITS, "deadline_ms");
		snprintf(why, wlen, "[limits] max_deadline_ms %u is less "
		    "than deadline_ms %u", cfg->max_deadline_ms,
		    cfg->deadline_ms);
		return -1;
	}
	if (cfg->inflight_per_handler > cfg->inflight_total) {
		*line = config_line_either(p, CONFIG_S_LIMITS,
		    "inflight_per_handler", CONFIG_S_LIMITS, "inflight_total");
		snprintf(why, wlen, "[limits] inflight_per_handler %u is more "
		    "than inflight_total %u", cfg->inflight_per_handler,
		    cfg->inflight_total);
		return -1;
	}
	if (cfg->inflight_per_bus > cfg->inflight_total) {
		*line = config_line_either(p, CONFIG_S_LIMITS,
		    "inflight_per_bus", CONFIG_S_LIMITS, "inflight_total");
		snprintf(why, wlen, "[limits] inflight_per_bus %u is more "
		    "than inflight_total %u", cfg->inflight_per_bus,
		    cfg->inflight_total);
		return -1;
	}
	if (cfg->ctl_max_response > cfg->max_payload) {
		*line = config_line_either(p, CONFIG_S_CTL, "max_response",
		    CONFIG_S_LIMITS, "max_payload");
		snprintf(why, wlen, "[ctl] max_response %u is more than "
		    "[limits] max_payload %u", cfg->ctl_max_response,
		    cfg->max_payload);
		return -1;
	}
	return 0;
}

bool
config_acl_allows(const struct config *cfg, uid_t uid, gid_t gid,
    uint8_t netfn, uint32_t key)
{
	const struct config_acl	*a;
	size_t			 i;

	if (uid == 0 || uid == cfg->broker_uid)
		return true;
	for (i = 0; i < cfg->n_acl; i++) {
		a = &cfg->acl[i];
		if ((!a->any_uid && a->uid != uid) ||
		    (!a->any_gid && a->gid != gid))
			continue;
		if (config_ranges_have(a->netfn, a->n_netfn, netfn))
			return true;
		if (netfn == 0x2e && config_ranges_have(a->iana, a->n_iana,
		    key))
			return true;
		if (netfn == 0x2c && config_ranges_have(a->body, a->n_body,
		    key))
			return true;
	}
	return false;
}

static bool
config_ranges_have(const struct config_range *r, size_t n, uint32_t v)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (v >= r[i].lo && v <= r[i].hi)
			return true;
	return false;
}

/* Everything config_to_proto() points to besides cfg, in one block. */
struct config_proto {
	Sup__Config		 msg;
	Sup__Fallbacks		 fallback;
	Sup__DefaultRoute	 route;
	Sup__Acl		 acl[CONFIG_ACL_MAX];
	Sup__Acl		*aclp[CONFIG_ACL_MAX];
	Sup__Range		 range[CONFIG_ACL_MAX][3][CONFIG_RANGES_MAX];
	Sup__Range		*rangep[CONFIG_ACL_MAX][3][CONFIG_RANGES_MAX];
	Sup__Bus		 bus[CONFIG_BUS_MAX];
	Sup__Bus		*busp[CONFIG_BUS_MAX];
};

/* Point m's repeated ranges at n entries of r, made from cr. */
static void
config_proto_set_ranges(Sup__Range *r, Sup__Range **rp,
    const struct config_range *cr, size_t n, Sup__Range ***out,
    size_t *nout)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		sup__range__init(&r[i]);
		r[i].lo = cr[i].lo;
		r[i].hi = cr[i].hi;
		rp[i] = &r[i];
	}
	*out = n > 0 ? rp : NULL;
	*nout = n;
}

Sup__Config *
config_to_proto(const struct config *cfg, struct config_proto **store)
{
	struct config_proto	*s;
	Sup__Config		*m;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		*store = NULL;
		return NULL;
	}
	*store = s;
	m = &s->msg;
	sup__config__init(m);
	m->generation = cfg->generation;
	m->path = (char *)cfg->path;
	m->log_level = cfg->log_level;
	m->deadline_ms = cfg->deadline_ms;
	m->max_deadline_ms = cfg->max_deadline_ms;
	m->inflight_total = cfg->inflight_total;
	m->inflight_per_handler = cfg->inflight_per_handler;
	m->inflight_per_bus = cfg->inflight_per_bus;
	m->max_handlers = cfg->max_handlers;
	m->max_registrations = cfg->max_registrations;
	m->max_payload = cfg->max_payload;
	m->ctl_channel = cfg->ctl_channel;
	m->internal_channel = cfg->internal_channel;
	m->ctl_max_response = cfg->ctl_max_response;
	m->broker_uid = cfg->broker_uid;
	m->max_controls = cfg->max_controls;

	sup__fallbacks__init(&s->fallback);
	s->fallback.no_handler = cfg->fallback.no_handler;
	s->fallback.timeout = cfg->fallback.timeout;
	s->fallback.disconnected = cfg->fallback.disconnected;
	s->fallback.busy = cfg->fallback.busy;
	s->fallback.short_oem = cfg->fallback.short_oem;
	s->fallback.too_large = cfg->fallback.too_large;
	m->fallback = &s->fallback;

	sup__default_route__init(&s->route);
	s->route.handler = (char *)cfg->default_route.handler;
	s->route.any_uid = cfg->default_route.any_uid;
	s->route.uid = cfg->default_route.uid;
	s->route.any_gid = cfg->default_route.any_gid;
	s->route.gid = cfg->default_route.gid;
	s->route.code = cfg->default_route.code;
	m->default_route = &s->route;

	config_to_proto_lists(cfg, s);
	return m;
}

/* The repeated parts: [acl NAME] and [bus NAME]. */
static void
config_to_proto_lists(const struct config *cfg, struct config_proto *s)
{
	const struct config_acl	*a;
	const struct config_bus	*b;
	Sup__Acl		*pa;
	Sup__Bus		*pb;
	size_t			 i;

	for (i = 0; i < cfg->n_acl && i < CONFIG_ACL_MAX; i++) {
		a = &cfg->acl[i];
		pa = &s->acl[i];
		sup__acl__init(pa);
		pa->name = (char *)a->name;
		pa->any_uid = a->any_uid;
		pa->uid = a->uid;
		pa->any_gid = a->any_gid;
		pa->gid = a->gid;
		config_proto_set_ranges(s->range[i][0], s->rangep[i][0],
		    a->netfn, a->n_netfn, &pa->netfn, &pa->n_netfn);
		config_proto_set_ranges(s->range[i][1], s->rangep[i][1],
		    a->iana, a->n_iana, &pa->iana, &pa->n_iana);
		config_proto_set_ranges(s->range[i][2], s->rangep[i][2],
		    a->body, a->n_body, &pa->body, &pa->n_body);
		s->aclp[i] = pa;
	}
	s->msg.n_acl = i;
	s->msg.acl = i > 0 ? s->aclp : NULL;

	for (i = 0; i < cfg->n_bus && i < CONFIG_BUS_MAX; i++) {
		b = &cfg->bus[i];
		pb = &s->bus[i];
		sup__bus__init(pb);
		pb->name = (char *)b->name;
		pb->driver = (char *)b->driver;
		pb->device = (char *)b->device;
		pb->channel = b->channel;
		pb->deadline_ms = b->deadline_ms;
		pb->max_inflight = b->max_inflight;
		s->busp[i] = pb;
	}
	s->msg.n_bus = i;
	s->msg.bus = i > 0 ? s->busp : NULL;
}

void
config_proto_free(struct config_proto *store)
{
	free(store);
}

int
config_from_proto(struct config *cfg, const Sup__Config *m, char *err,
    size_t errlen)
{
	struct config	*n;
	char		 why[CONFIG_ERR_MAX];
	int		 line, rc = -1;

	if ((n = malloc(sizeof(*n))) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	config_defaults(n);
	n->generation = m->generation;
	if (m->path != NULL && config_strlcpy(n->path, m->path,
	    sizeof(n->path)) >= sizeof(n->path)) {
		snprintf(err, errlen, "path is too long");
		goto out;
	}
	if (m->fallback == NULL || m->default_route == NULL) {
		snprintf(err, errlen, "fallback or default_route is missing");
		goto out;
	}
	if (m->broker_uid == UINT32_MAX) {
		snprintf(err, errlen, "broker_uid %u is not a uid",
		    m->broker_uid);
		goto out;
	}
	n->broker_uid = m->broker_uid;
	if (config_proto_nums(n, m, err, errlen) == -1 ||
	    config_proto_acl(n, m, err, errlen) == -1 ||
	    config_proto_bus(n, m, err, errlen) == -1)
		goto out;
	if (config_validate(n, NULL, &line, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s", why);
		goto out;
	}
	memcpy(cfg, n, sizeof(*cfg));
	rc = 0;
 out:
	free(n);
	return rc;
}

/* The numbers of sup.Config, against the same table as the file. */
static int
config_proto_nums(struct config *cfg, const Sup__Config *m, char *err,
    size_t errlen)
{
	static const struct {
		enum config_sect	 sect;
		const char		*name;
		int			 msg;	/* 0 config, 1 fb, 2 route */
		size_t			 off;
	} nums[] = {
#define M_(f)	0, offsetof(Sup__Config, f)
		{ CONFIG_S_BROKER, "log_level", M_(log_level) },
		{ CONFIG_S_BROKER, "max_handlers", M_(max_handlers) },
		{ CONFIG_S_BROKER, "max_controls", M_(max_controls) },
		{ CONFIG_S_LIMITS, "deadline_ms", M_(deadline_ms) },
		{ CONFIG_S_LIMITS, "max_deadline_ms", M_(max_deadline_ms) },
		{ CONFIG_S_LIMITS, "inflight_total", M_(inflight_total) },
		{ CONFIG_S_LIMITS, "inflight_per_handler",
		    M_(inflight_per_handler) },
		{ CONFIG_S_LIMITS, "inflight_per_bus", M_(inflight_per_bus) },
		{ CONFIG_S_LIMITS, "registrations_per_handler",
		    M_(max_registrations) },
		{ CONFIG_S_LIMITS, "max_payload", M_(max_payload) },
		{ CONFIG_S_CTL, "channel", M_(ctl_channel) },
		{ CONFIG_S_CTL, "max_response", M_(ctl_max_response) },
		{ CONFIG_S_INTERNAL, "channel", M_(internal_channel) },
#undef M_
#define F_(f)	1, offsetof(Sup__Fallbacks, f)
		{ CONFIG_S_FALLBACK, "no_handler", F_(no_handler) },
		{ CONFIG_S_FALLBACK, "timeout", F_(timeout) },
		{ CONFIG_S_FALLBACK, "disconnected", F_(disconnected) },
		{ CONFIG_S_FALLBACK, "busy", F_(busy) },
		{ CONFIG_S_FALLBACK, "short_oem", F_(short_oem) },
		{ CONFIG_S_FALLBACK, "too_large", F_(too_large) },
#undef F_
		{ CONFIG_S_ROUTE, "code", 2,
		    offsetof(Sup__DefaultRoute, code) },
	};
	const struct config_key		*k;
	const Sup__DefaultRoute		*r = m->default_route;
	const void			*src[3];
	char				 shown[16], why[CONFIG_WHY_MAX];
	uint32_t			 v;
	size_t				 i;

	src[0] = m;
	src[1] = m->fallback;
	src[2] = r;
	for (i = 0; i < nitems(nums); i++) {
		k = config_key_find(nums[i].sect, nums[i].name);
		memcpy(&v, (const char *)src[nums[i].msg] + nums[i].off,
		    sizeof(v));
		snprintf(shown, sizeof(shown), k->type == CONFIG_T_CODE ?
		    "0x%x" : "%u", v);
		if (config_num_check(k, v, shown, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "[%s] %s: %s",
			    config_sect_names[k->sect], k->name, why);
			return -1;
		}
		config_num_store(k, cfg, v);
	}
	return config_proto_route(cfg, r, err, errlen);
}

static int
config_proto_route(struct config *cfg, const Sup__DefaultRoute *r,
    char *err, size_t errlen)
{
	if (r->handler != NULL && config_strlcpy(cfg->default_route.handler,
	    r->handler, CONFIG_NAME_MAX) >= CONFIG_NAME_MAX) {
		snprintf(err, errlen, "[default_route] handler: name is too "
		    "long");
		return -1;
	}
	if ((!r->any_uid && r->uid == UINT32_MAX) ||
	    (!r->any_gid && r->gid == UINT32_MAX)) {
		snprintf(err, errlen, "[default_route] user/group: -1 is not "
		    "an id");
		return -1;
	}
	cfg->default_route.any_uid = r->any_uid;
	cfg->default_route.uid = r->any_uid ? 0 : r->uid;
	cfg->default_route.any_gid = r->any_gid;
	cfg->default_route.gid = r->any_gid ? 0 : r->gid;
	return 0;
}

static int
config_proto_acl(struct config *cfg, const Sup__Config *m, char *err,
    size_t errlen)
{
	const Sup__Acl		*pa;
	struct config_acl	*a;
	char			 why[CONFIG_WHY_MAX];
	size_t			 i, j;

	if (m->n_acl > CONFIG_ACL_MAX) {
		snprintf(err, errlen, "more than %d acl rules", CONFIG_ACL_MAX);
		return -1;
	}
	for (i = 0; i < m->n_acl; i++) {
		pa = m->acl[i];
		a = &cfg->acl[i];
		if (config_name_check(pa->name != NULL ? pa->name : "", why,
		    sizeof(why)) == -1) {
			snprintf(err, errlen, "acl %zu: %s", i, why);
			return -1;
		}
		for (j = 0; j < i; j++)
			if (strcmp(cfg->acl[j].name, pa->name) == 0) {
				snprintf(err, errlen, "duplicate [acl %s]",
				    pa->name);
				return -1;
			}
		config_strlcpy(a->name, pa->name, sizeof(a->name));
		a->any_uid = pa->any_uid;
		a->uid = pa->any_uid ? 0 : pa->uid;
		a->any_gid = pa->any_gid;
		a->gid = pa->any_gid ? 0 : pa->gid;
		if (config_proto_ranges(config_key_find(CONFIG_S_ACL, "netfn"),
		    a->netfn, &a->n_netfn, pa->netfn, pa->n_netfn, a->name,
		    err, errlen) == -1 ||
		    config_proto_ranges(config_key_find(CONFIG_S_ACL, "iana"),
		    a->iana, &a->n_iana, pa->iana, pa->n_iana, a->name, err,
		    errlen) == -1 ||
		    config_proto_ranges(config_key_find(CONFIG_S_ACL, "body"),
		    a->body, &a->n_body, pa->body, pa->n_body, a->name, err,
		    errlen) == -1)
			return -1;
		cfg->n_acl = i + 1;
	}
	return 0;
}

static int
config_proto_ranges(const struct config_key *k, struct config_range *r,
    size_t *n, Sup__Range **pr, size_t npr, const char *acl, char *err,
    size_t errlen)
{
	char	why[CONFIG_WHY_MAX];
	size_t	i;

	if (npr > CONFIG_RANGES_MAX) {
		snprintf(err, errlen, "[acl %s] %s: more than %d values or "
		    "ranges", acl, k->name, CONFIG_RANGES_MAX);
		return -1;
	}
	for (i = 0; i < npr; i++) {
		if (config_range_check(k, pr[i]->lo, pr[i]->hi, why,
		    sizeof(why)) == -1) {
			snprintf(err, errlen, "[acl %s] %s: %s", acl, k->name,
			    why);
			return -1;
		}
		r[i].lo = pr[i]->lo;
		r[i].hi = pr[i]->hi;
	}
	*n = npr;
	return 0;
}

static int
config_proto_bus(struct config *cfg, const Sup__Config *m, char *err,
    size_t errlen)
{
	static const char *nums[] = { "channel", "deadline_ms",
	    "max_inflight" };
	const Sup__Bus		*pb;
	struct config_bus	*b;
	const struct config_key	*k;
	uint32_t		 v[3];
	char			 shown[16], why[CONFIG_WHY_MAX];
	size_t			 i, j;

	if (m->n_bus > CONFIG_BUS_MAX) {
		snprintf(err, errlen, "more than %d buses", CONFIG_BUS_MAX);
		return -1;
	}
	for (i = 0; i < m->n_bus; i++) {
		pb = m->bus[i];
		b = &cfg->bus[i];
		if (config_name_check(pb->name != NULL ? pb->name : "", why,
		    sizeof(why)) == -1) {
			snprintf(err, errlen, "bus %zu: %s", i, why);
			return -1;
		}
		for (j = 0; j < i; j++)
			if (strcmp(cfg->bus[j].name, pb->name) == 0) {
				snprintf(err, errlen, "duplicate [bus %s]",
				    pb->name);
				return -1;
			}
		if (config_bus_reserved(pb->name)) {
			snprintf(err, errlen, "[bus %s]: the name is reserved",
			    pb->name);
			return -1;
		}
		config_strlcpy(b->name, pb->name, sizeof(b->name));
		if (pb->driver == NULL || !config_driver_known(pb->driver)) {
			snprintf(err, errlen, "[bus %s] driver: unknown driver "
			    "'%s'", b->name, pb->driver != NULL ?
			    pb->driver : "");
			return -1;
		}
		config_strlcpy(b->driver, pb->driver, sizeof(b->driver));
		if (pb->device != NULL && config_strlcpy(b->device, pb->device,
		    sizeof(b->device)) >= sizeof(b->device)) {
			snprintf(err, errlen, "[bus %s] device: too long",
			    b->name);
			return -1;
		}
		v[0] = pb->channel;
		v[1] = pb->deadline_ms;
		v[2] = pb->max_inflight;
		for (j = 0; j < nitems(nums); j++) {
			k = config_key_find(CONFIG_S_BUS, nums[j]);
			snprintf(shown, sizeof(shown), "%u", v[j]);
			if (config_num_check(k, v[j], shown, why,
			    sizeof(why)) == -1) {
				snprintf(err, errlen, "[bus %s] %s: %s",
				    b->name, k->name, why);
				return -1;
			}
			config_num_store(k, b, v[j]);
		}
		cfg->n_bus = i + 1;
	}
	return 0;
}
