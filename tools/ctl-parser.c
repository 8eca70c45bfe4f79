/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/*
 * ctl-parser: the command line of ipmi-ctl.
 *
 * Options may come before or after the command word (GNU getopt permutes
 * argv). The command word is looked up in ctl_tokens[] by unique prefix, as
 * bgpctl does: an exact word always wins, one prefix match is taken, more
 * than one is an error naming the candidates. Bytes for `send` are hex,
 * with or without 0x, as ipmitool raw users type them ("0x06", "06", "6").
 * Everything here is pure: results go into struct ctl_params and messages
 * into the caller's buffer, so the unit test drives it directly.
 */

const struct ctl_token ctl_tokens[] = {
	{ "list",	CTL_LIST,	0, 0,
	    "list registrations and the default route" },
	{ "handlers",	CTL_HANDLERS,	0, 0,
	    "list connected handlers" },
	{ "buses",	CTL_BUSES,	0, 0,
	    "list buses and their drivers" },
	{ "stats",	CTL_STATS,	0, 0,
	    "per-command statistics and counters" },
	{ "status",	CTL_STATUS,	0, 0,
	    "show the broker's status" },
	{ "send",	CTL_SEND,	2, 2 + CTL_DATA_MAX,
	    "send a request and print the response data" },
	{ "trace",	CTL_TRACE,	0, 0,
	    "print requests and responses as they are routed" },
	{ NULL,		CTL_NONE,	0, 0,	NULL }
};

/* Long options with no short form. */
enum {
	CTL_OPT_NETFN = 256,
	CTL_OPT_CMD,
	CTL_OPT_HANDLER,
	CTL_OPT_ERRORS,
	CTL_OPT_COUNT,
};

static const struct option ctl_parse_longopts[] = {
	{ "socket",	required_argument,	NULL,	's' },
	{ "json",	no_argument,		NULL,	'j' },
	{ "verbose",	no_argument,		NULL,	'v' },
	{ "channel",	required_argument,	NULL,	'c' },
	{ "lun",	required_argument,	NULL,	'l' },
	{ "bus",	required_argument,	NULL,	'b' },
	{ "netfn",	required_argument,	NULL,	CTL_OPT_NETFN },
	{ "cmd",	required_argument,	NULL,	CTL_OPT_CMD },
	{ "handler",	required_argument,	NULL,	CTL_OPT_HANDLER },
	{ "errors",	no_argument,		NULL,	CTL_OPT_ERRORS },
	{ "count",	required_argument,	NULL,	CTL_OPT_COUNT },
	{ "write",	required_argument,	NULL,	'w' },
	{ "quiet",	no_argument,		NULL,	'q' },
	{ "help",	no_argument,		NULL,	'h' },
	{ "version",	no_argument,		NULL,	'V' },
	{ NULL,		0,			NULL,	0 }
};

static int	ctl_parse_err(char *err, size_t errlen, int code,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int	ctl_parse_small(const char *s, unsigned long max,
		    uint8_t *out);
static int	ctl_parse_options(int argc, char **argv, struct ctl_params *p,
		    char *err, size_t errlen);
static int	ctl_parse_send(int argc, char **argv, struct ctl_params *p,
		    char *err, size_t errlen);
static int	ctl_parse_trace_opt(int ch, struct ctl_params *p, char *err,
		    size_t errlen);
static int	ctl_parse_check(struct ctl_params *p, char *err,
		    size_t errlen);

/* Finds word in table: an exact match, else the only prefix match.
 * *nmatch (optional) gets the number of matches: 0 unknown, >1 ambiguous. */
const struct ctl_token *
ctl_token_match(const struct ctl_token *table, const char *word,
    size_t *nmatch)
{
	const struct ctl_token	*t, *found = NULL;
	size_t			 len, n = 0;

	len = strlen(word);
	for (t = table; len > 0 && t->word != NULL; t++) {
		if (strcmp(t->word, word) == 0) {
			found = t;
			n = 1;
			break;
		}
		if (strncmp(t->word, word, len) == 0) {
			found = t;
			n++;
		}
	}
	if (nmatch != NULL)
		*nmatch = n;
	return n == 1 ? found : NULL;
}

/* Writes the words word is a prefix of, comma separated, into buf. Returns
 * how many there are. */
size_t
ctl_token_candidates(const struct ctl_token *table, const char *word,
    char *buf, size_t len)
{
	const struct ctl_token	*t;
	size_t			 n = 0, off = 0, wlen;
	int			 r;

	wlen = strlen(word);
	if (len > 0)
		buf[0] = '\0';
	for (t = table; t->word != NULL; t++) {
		if (wlen == 0 || strncmp(t->word, word, wlen) != 0)
			continue;
		if (off < len) {
			r = snprintf(buf + off, len - off, "%s%s",
			    n > 0 ? ", " : "", t->word);
			off += r > 0 ? (size_t)r : 0;
		}
		n++;
	}
	return n;
}

/* Parses one hex byte: "0x06", "06", "6", "ff". Returns 0, -EINVAL for
 * something that is not hex, -ERANGE for a value above 0xff. */
int
ctl_parse_byte(const char *s, uint8_t *out)
{
	unsigned int	 v = 0, d;
	const char	*p = s;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	if (*p == '\0')
		return -EINVAL;
	for (; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			return -EINVAL;
		/* Keep scanning so "1zz" is -EINVAL rather than -ERANGE. */
		if (v <= 0xff)
			v = v * 16 + d;
	}
	if (v > 0xff)
		return -ERANGE;
	*out = v;
	return 0;
}

void
ctl_usage(FILE *f)
{
	const struct ctl_token	*t;

	fprintf(f, "usage: ipmi-ctl [-jv] [-s socket] command [argument ...]\n"
	    "\ncommands:\n");
	for (t = ctl_tokens; t->word != NULL; t++) {
		if (t->action == CTL_SEND)
			fprintf(f, "  send [-b bus] [-c channel] [-l lun] "
			    "netfn cmd [data ...]\n%-24s%s\n", "", t->help);
		else if (t->action == CTL_TRACE)
			fprintf(f, "  trace [-q] [-b bus] [--netfn N] "
			    "[--cmd N] [--handler NAME] [--errors]\n"
			    "        [--count N] [-w FILE.pcap]\n%-24s%s\n",
			    "", t->help);
		else
			fprintf(f, "  %-22s%s\n", t->word, t->help);
	}
	fprintf(f, "\nA command may be shortened to a unique prefix. "
	    "Bytes for send are hex\n(0x06, 06 or 6).\n"
	    "\noptions:\n"
	    "  -s, --socket PATH     control socket (default: $"
	    CTL_SOCKET_ENV ",\n"
	    "                        else " CTL_SOCKET_DEFAULT ")\n"
	    "  -j, --json            print JSON (trace: one object per line)\n"
	    "  -v, --verbose         send: also say who answered, and how "
	    "fast\n"
	    "  -c, --channel N       send: as if received on channel N "
	    "(0-15)\n"
	    "                        (default: the broker's ctl bus)\n"
	    "  -l, --lun L           send: target LUN (0-3, default 0)\n"
	    "  -b, --bus NAME        send: as if received on that bus\n"
	    "                        (its channel and facts); trace: only "
	    "that bus\n"
	    "      --netfn N         trace: only this netfn (hex; requests "
	    "and\n"
	    "                        their responses)\n"
	    "      --cmd N           trace: only this command (hex)\n"
	    "      --handler NAME    trace: only what goes to this handler "
	    "(\"broker\":\n"
	    "                        what the broker answers itself)\n"
	    "      --errors          trace: only responses with a completion "
	    "code\n"
	    "                        other than 0x00\n"
	    "      --count N         trace: stop after N events (default: at "
	    "Ctrl-C)\n"
	    "  -w, --write FILE      trace: also write a pcap file for "
	    "Wireshark\n"
	    "                        (tshark -o "
	    "ipmi.dissect_bus_commands:TRUE -r FILE)\n"
	    "  -q, --quiet           trace -w: print nothing on stdout\n"
	    "  -h, --help            this text\n"
	    "  -V, --version         print the version\n");
}

static int
ctl_parse_err(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list	ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* A small decimal (or 0x hex) number for --channel and --lun. */
static int
ctl_parse_small(const char *s, unsigned long max, uint8_t *out)
{
	unsigned long	 v;
	char		*end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (*end != '\0')
		return -EINVAL;
	if (errno != 0 || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int
ctl_parse_options(int argc, char **argv, struct ctl_params *p, char *err,
    size_t errlen)
{
	int	ch, r;

	optind = 0;	/* GNU: start over, so the test can parse twice */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":b:c:hjl:qs:vVw:",
	    ctl_parse_longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			p->socket = optarg;
			break;
		case 'j':
			p->json = 1;
			break;
		case 'v':
			p->verbose = 1;
			break;
		case 'c':
			if (ctl_parse_small(optarg, 15, &p->channel) != 0)
				return ctl_parse_err(err, errlen, CTL_E_INVALID,
				    "channel '%s' is not a number from 0 to 15",
				    optarg);
			p->has_channel = 1;
			break;
		case 'b':
			if (strlen(optarg) == 0 || strlen(optarg) > 63)
				return ctl_parse_err(err, errlen, CTL_E_INVALID,
				    "bus name '%s' is empty or too long",
				    optarg);
			p->bus = optarg;
			break;
		case 'l':
			if (ctl_parse_small(optarg, 3, &p->lun) != 0)
				return ctl_parse_err(err, errlen, CTL_E_INVALID,
				    "lun '%s' is not a number from 0 to 3",
				    optarg);
			p->has_lun = 1;
			break;
		case CTL_OPT_NETFN:
		case CTL_OPT_CMD:
		case CTL_OPT_HANDLER:
		case CTL_OPT_ERRORS:
		case CTL_OPT_COUNT:
		case 'w':
		case 'q':
			if ((r = ctl_parse_trace_opt(ch, p, err, errlen)) != 0)
				return r;
			break;
		case 'h':
			return CTL_E_HELP;
		case 'V':
			return CTL_E_VERSION;
		case ':':
			return ctl_parse_err(err, errlen, CTL_E_USAGE,
			    "option '%s' needs an argument", argv[optind - 1]);
		default:
			return ctl_parse_err(err, errlen, CTL_E_USAGE,
			    "unknown option '%s'", argv[optind - 1]);
		}
	}
	return 0;
}

/* The options only trace takes. */
static int
ctl_parse_trace_opt(int ch, struct ctl_params *p, char *err, size_t errlen)
{
	char	*end;

	switch (ch) {
	case CTL_OPT_NETFN:
		if (ctl_parse_byte(optarg, &p->netfn) != 0 || p->netfn > 0x3f)
			return ctl_parse_err(err, errlen, CTL_E_INVALID,
			    "netfn '%s' is not a hex number from 00 to 3f",
			    optarg);
		p->has_netfn = 1;
		break;
	case CTL_OPT_CMD:
		if (ctl_parse_byte(optarg, &p->cmd) != 0)
			return ctl_parse_err(err, errlen, CTL_E_INVALID,
			    "cmd '%s' is not a hex byte (00-ff)", optarg);
		p->has_cmd = 1;
		break;
	case CTL_OPT_HANDLER:
		if (strlen(optarg) == 0 || strlen(optarg) > 63)
			return ctl_parse_err(err, errlen, CTL_E_INVALID,
			    "handler name '%s' is empty or too long", optarg);
		p->handler = optarg;
		break;
	case CTL_OPT_ERRORS:
		p->errors = 1;
		break;
	case CTL_OPT_COUNT:
		errno = 0;
		if (*optarg < '1' || *optarg > '9' ||
		    (p->count = strtoull(optarg, &end, 10), *end != '\0') ||
		    errno != 0)
			return ctl_parse_err(err, errlen, CTL_E_INVALID,
			    "count '%s' is not a number above 0", optarg);
		break;
	case 'w':
		if (*optarg == '\0')
			return ctl_parse_err(err, errlen, CTL_E_INVALID,
			    "-w needs a file name");
		p->wfile = optarg;
		break;
	case 'q':
		p->quiet = 1;
		break;
	}
	return 0;
}

/* Options that do not go with the command. */
static int
ctl_parse_check(struct ctl_params *p, char *err, size_t errlen)
{
	if ((p->has_channel || p->has_lun) && p->action != CTL_SEND)
		return ctl_parse_err(err, errlen, CTL_E_INVALID,
		    "--channel and --lun apply only to send");
	if (p->bus != NULL && p->action != CTL_SEND && p->action != CTL_TRACE)
		return ctl_parse_err(err, errlen, CTL_E_INVALID,
		    "--bus applies only to send and trace");
	if ((p->has_netfn || p->has_cmd || p->handler != NULL || p->errors ||
	    p->count != 0 || p->wfile != NULL || p->quiet) &&
	    p->action != CTL_TRACE)
		return ctl_parse_err(err, errlen, CTL_E_INVALID,
		    "--netfn, --cmd, --handler, --errors, --count, -w and -q "
		    "apply only to trace");
	if (p->quiet && p->wfile == NULL)
		return ctl_parse_err(err, errlen, CTL_E_INVALID,
		    "-q goes with -w: a trace with neither prints nothing");
	return 0;
}

/* send operands: NETFN CMD [DATA...], already counted by the table. */
static int
ctl_parse_send(int argc, char **argv, struct ctl_params *p, char *err,
    size_t errlen)
{
	int	i, r;

	if ((r = ctl_parse_byte(argv[0], &p->netfn)) != 0)
		return ctl_parse_err(err, errlen, CTL_E_INVALID,
		    "netfn '%s' is not a hex byte (00-ff)", argv[0]);
	if (p->netfn & 1)
		return ctl_parse_err(err, errlen, CTL_E_INVALID,
		    "netfn 0x%02x is odd: requests use even netfns", p->netfn);
	if (p->netfn > 0x3e)
		return ctl_parse_err(err, errlen, CTL_E_INVALID,
		    "netfn 0x%02x is out of range: request netfns are "
		    "0x00-0x3e", p->netfn);
	if (ctl_parse_byte(argv[1], &p->cmd) != 0)
		return ctl_parse_err(err, errlen, CTL_E_INVALID,
		    "cmd '%s' is not a hex byte (00-ff)", argv[1]);
	for (i = 2; i < argc; i++) {
		if (ctl_parse_byte(argv[i], &p->data[i - 2]) != 0)
			return ctl_parse_err(err, errlen, CTL_E_INVALID,
			    "data byte %d '%s' is not a hex byte (00-ff)",
			    i - 1, argv[i]);
	}
	p->datalen = argc - 2;
	return 0;
}

/*
 * Fills p from argv. Returns 0, or CTL_E_USAGE (err says why when it is
 * not empty), CTL_E_INVALID (err says why), CTL_E_HELP or CTL_E_VERSION.
 */
int
ctl_parse(int argc, char **argv, struct ctl_params *p, char *err,
    size_t errlen)
{
	const struct ctl_token	*t;
	const char		*env;
	char			 cand[128];
	size_t			 n;
	int			 nargs, r;

	memset(p, 0, sizeof(*p));
	if (errlen > 0)
		err[0] = '\0';
	if ((r = ctl_parse_options(argc, argv, p, err, errlen)) != 0)
		return r;
	if (optind >= argc)
		return CTL_E_USAGE;
	if ((t = ctl_token_match(ctl_tokens, argv[optind], &n)) == NULL) {
		if (n == 0)
			return ctl_parse_err(err, errlen, CTL_E_USAGE,
			    "unknown command '%s'", argv[optind]);
		ctl_token_candidates(ctl_tokens, argv[optind], cand,
		    sizeof(cand));
		return ctl_parse_err(err, errlen, CTL_E_INVALID,
		    "ambiguous command '%s': %s", argv[optind], cand);
	}
	p->action = t->action;
	nargs = argc - optind - 1;
	if (nargs < t->min_args)
		return ctl_parse_err(err, errlen, CTL_E_USAGE,
		    "%s: missing arguments", t->word);
	if (t->max_args >= 0 && nargs > t->max_args)
		return ctl_parse_err(err, errlen, CTL_E_USAGE,
		    t->max_args == 0 ? "%s takes no arguments" :
		    "%s: too many arguments", t->word);
	if ((r = ctl_parse_check(p, err, errlen)) != 0)
		return r;
	if (p->action == CTL_SEND &&
	    (r = ctl_parse_send(nargs, argv + optind + 1, p, err, errlen)) != 0)
		return r;
	if (p->socket == NULL) {
		env = getenv(CTL_SOCKET_ENV);
		p->socket = (env != NULL && *env != '\0') ? env :
		    CTL_SOCKET_DEFAULT;
	}
	return 0;
}
