/* SPDX-License-Identifier: MIT */
#include <sys/types.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ini.h>

#include <ipmi/ipmiclient.h>

/*
 * ipmi-handler-oem-example: a template for a company's OEM commands.
 *
 * It serves every command of the OEM netfn 0x2E under one IANA enterprise
 * number: the request data starts with the 3 IANA bytes (LS first) and so
 * does every response, errors included (ipmic_reply_cc() adds them).
 *
 *   0x01 echo          answers the request data as it came
 *   0x02 version       answers the IANA and 3 version bytes
 *   0x03 delayed echo  answers like echo, OEM_DELAY_MS later
 *   other              0xC1 (invalid command)
 *
 * The delayed echo shows the asynchronous side of libipmiclient: the
 * request is kept and answered later from a timerfd. The handler runs its
 * own poll() loop over the library's one stable fd, the timerfd and a
 * signalfd, which is how a handler joins any existing event loop. The only
 * peer is the broker; request bytes come from the host and are checked.
 */

#define OEM_DEFAULT_CONFIG	"/etc/ipmi-broker/oem-example.conf"
/* RFC 5612's enterprise number for documentation: replace with your PEN. */
#define OEM_DEFAULT_IANA	32473
#define OEM_IANA_LEN		3

#define OEM_CMD_ECHO		0x01
#define OEM_CMD_VERSION		0x02
#define OEM_CMD_DELAYED_ECHO	0x03

#define OEM_VERSION_MAJOR	1
#define OEM_VERSION_MINOR	0
#define OEM_VERSION_PATCH	0

#define OEM_DELAY_MS		100
#define OEM_PENDING_MAX		16

#define IPMI_CC_OK		0x00
#define IPMI_CC_BUSY		0xc0
#define IPMI_CC_INVALID_CMD	0xc1
#define IPMI_CC_BAD_LENGTH	0xc7

/* A delayed echo waiting for its time. */
struct oem_pending {
	struct ipmic_request	*req;
	struct timespec		 due;	/* CLOCK_MONOTONIC */
};

struct oem_state {
	struct ipmic		*client;
	uint32_t		 iana;
	int			 timer_fd;
	int			 signal_fd;
	int			 verbose;
	/* A FIFO: every delay is the same, so the head is due first. */
	struct oem_pending	 pending[OEM_PENDING_MAX];
	size_t			 head;
	size_t			 count;
};

static struct oem_state oem = { .timer_fd = -1, .signal_fd = -1 };

static void	oem_usage(void) __attribute__((noreturn));
static void	oem_log(int, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	oem_log_lib(enum ipmic_log_level, const char *, void *);
static int	oem_config_read(const char *, struct oem_state *);
static int	oem_config_set(void *, const char *, const char *,
		    const char *);
static int	oem_open_fds(struct oem_state *);
static int	oem_signalled(struct oem_state *);
static int	oem_register(struct oem_state *);
static int	oem_loop(struct oem_state *);
static void	oem_request(struct ipmic *, struct ipmic_request *, void *);
static void	oem_echo(struct oem_state *, struct ipmic_request *);
static void	oem_version(struct oem_state *, struct ipmic_request *);
static void	oem_delay(struct oem_state *, struct ipmic_request *);
static void	oem_timer(struct oem_state *);
static int	oem_timer_arm(struct oem_state *);
static void	oem_reply(struct ipmic_request *, uint8_t, const void *,
		    size_t);

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
	const char	*config = OEM_DEFAULT_CONFIG, *socket = NULL;
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
			oem.verbose = 1;
			break;
		default:
			oem_usage();
		}
	}
	if (optind != argc)
		oem_usage();
	if (oem_config_read(config, &oem) != 0)
		return 1;

	if (oem_open_fds(&oem) != 0)
		goto out;
	if ((oem.client = ipmic_new("oem-example")) == NULL) {
		oem_log(IPMIC_LOG_ERR, "ipmic_new: %s", strerror(errno));
		goto out;
	}
	ipmic_set_log(oem.client, oem_log_lib, NULL);
	if (socket != NULL &&
	    (rv = ipmic_set_socket(oem.client, socket)) != 0) {
		oem_log(IPMIC_LOG_ERR, "socket %s: %s", socket,
		    ipmic_strerror(rv));
		goto out;
	}
	/* Retry in short steps so that SIGTERM stops a long wait. */
	do {
		rv = ipmic_connect(oem.client, 1000);
	} while (rv == -ETIMEDOUT && !oem_signalled(&oem));
	if (rv == -ETIMEDOUT) {
		status = 0;
		goto out;
	}
	if (rv != 0) {
		oem_log(IPMIC_LOG_ERR, "connect: %s", ipmic_strerror(rv));
		goto out;
	}
	if (oem_register(&oem) != 0)
		goto out;
	oem_log(IPMIC_LOG_INFO, "serving netfn 0x2e, iana %u", oem.iana);

	if (oem_loop(&oem) == 0)
		status = 0;
out:
	/* Requests still pending are freed; the broker answers them 0xCE. */
	oem.client = ipmic_free(oem.client);
	if (oem.timer_fd != -1)
		close(oem.timer_fd);
	if (oem.signal_fd != -1)
		close(oem.signal_fd);
	return status;
}

static void
oem_usage(void)
{
	fprintf(stderr, "usage: ipmi-handler-oem-example [-v] [-c config] "
	    "[--socket path]\n");
	exit(1);
}

static void
oem_log(int level, const char *fmt, ...)
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
	if (level == IPMIC_LOG_DEBUG && !oem.verbose)
		return;
	fprintf(stderr, "ipmi-handler-oem-example: %s", prefix[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
oem_log_lib(enum ipmic_log_level level, const char *msg, void *arg)
{
	oem_log(level, "%s", msg);
}

/* The first error inih met, for the "file:line: what" message. */
struct oem_config_ctx {
	struct oem_state	*st;
	const char		*error;
};

static int
oem_config_read(const char *path, struct oem_state *st)
{
	struct oem_config_ctx	ctx = { .st = st };
	int			line;

	st->iana = OEM_DEFAULT_IANA;
	if ((line = ini_parse(path, oem_config_set, &ctx)) == 0)
		return 0;
	if (line < 0)
		fprintf(stderr, "%s: cannot read the file\n", path);
	else
		fprintf(stderr, "%s:%d: %s\n", path, line,
		    ctx.error != NULL ? ctx.error : "syntax error");
	return -1;
}

/* inih callback: [oem] iana = a decimal or 0x-hex number below 2^24. */
static int
oem_config_set(void *arg, const char *section, const char *name,
    const char *value)
{
	struct oem_config_ctx	*ctx = arg;
	const char		*error = NULL;
	unsigned long		 n;
	char			*end;
	int			 base = 10;

	if (strcmp(section, "oem") != 0)
		error = "unknown section";
	else if (strcmp(name, "iana") != 0)
		error = "unknown key in [oem]";
	else {
		if (value[0] == '0' && (value[1] == 'x' || value[1] == 'X')) {
			value += 2;
			base = 16;
		}
		errno = 0;
		n = strtoul(value, &end, base);
		if (!isxdigit((unsigned char)value[0]) || *end != '\0' ||
		    errno != 0 || n > 0xffffff)
			error = "iana: expected a number from 0 to 0xffffff";
		else
			ctx->st->iana = n;
	}
	if (error == NULL)
		return 1;
	if (ctx->error == NULL)
		ctx->error = error;
	return 0;
}

/* SIGTERM and SIGINT arrive on a signalfd, so poll() sees them. */
static int
oem_open_fds(struct oem_state *st)
{
	sigset_t	mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1 ||
	    (st->signal_fd = signalfd(-1, &mask,
	    SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		oem_log(IPMIC_LOG_ERR, "signalfd: %s", strerror(errno));
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	st->timer_fd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC);
	if (st->timer_fd == -1) {
		oem_log(IPMIC_LOG_ERR, "timerfd: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Whether SIGTERM or SIGINT came, without waiting. */
static int
oem_signalled(struct oem_state *st)
{
	struct signalfd_siginfo	si;

	if (read(st->signal_fd, &si, sizeof(si)) != sizeof(si))
		return 0;
	oem_log(IPMIC_LOG_INFO, "exiting on signal %u", si.ssi_signo);
	return 1;
}

/* One registration: every command of netfn 0x2E under our IANA. */
static int
oem_register(struct oem_state *st)
{
	struct ipmic_key	key;
	struct ipmic_error	err;
	int			rv;

	memset(&key, 0, sizeof(key));
	memset(&err, 0, sizeof(err));
	key.netfn = IPMIC_NETFN_OEM;
	key.iana = st->iana;
	key.any_cmd = true;
	rv = ipmic_register(st->client, &key, 0, oem_request, st, &err);
	if (rv == IPMIC_E_CONFLICT)
		oem_log(IPMIC_LOG_ERR, "register 0x2e iana %u: held by "
		    "%s[%u]: %s", st->iana, err.holder_name, err.holder_pid,
		    err.message);
	else if (rv != 0)
		oem_log(IPMIC_LOG_ERR, "register 0x2e iana %u: %s%s%s",
		    st->iana, ipmic_strerror(rv), rv > 0 ? ": " : "",
		    rv > 0 ? err.message : "");
	return rv == 0 ? 0 : -1;
}

/*
 * The event loop: the library's fd (stable across reconnects), the delay
 * timer and the signals. Returns 0 on SIGTERM/SIGINT, -1 on failure.
 */
static int
oem_loop(struct oem_state *st)
{
	struct pollfd	pfd[3];
	int		rv;

	pfd[0].fd = ipmic_fd(st->client);
	pfd[1].fd = st->timer_fd;
	pfd[2].fd = st->signal_fd;
	pfd[0].events = pfd[1].events = pfd[2].events = POLLIN;

	for (;;) {
		if (poll(pfd, 3, -1) == -1) {
			if (errno == EINTR)
				continue;
			oem_log(IPMIC_LOG_ERR, "poll: %s", strerror(errno));
			return -1;
		}
		if (pfd[2].revents & POLLIN && oem_signalled(st))
			return 0;
		if (pfd[0].revents & POLLIN &&
		    (rv = ipmic_dispatch(st->client)) < 0) {
			oem_log(IPMIC_LOG_ERR, "dispatch: %s",
			    ipmic_strerror(rv));
			return -1;
		}
		if (pfd[1].revents & POLLIN)
			oem_timer(st);
	}
}

/* The library's request callback: one line per command. */
static void
oem_request(struct ipmic *c, struct ipmic_request *req, void *arg)
{
	struct oem_state	*st = arg;

	oem_log(IPMIC_LOG_DEBUG, "cmd 0x%02x, %zu bytes, channel %u",
	    req->cmd, req->len, req->channel);
	switch (req->cmd) {
	case OEM_CMD_ECHO:
		oem_echo(st, req);
		break;
	case OEM_CMD_VERSION:
		oem_version(st, req);
		break;
	case OEM_CMD_DELAYED_ECHO:
		oem_delay(st, req);
		break;
	default:
		ipmic_reply_cc(req, IPMI_CC_INVALID_CMD);
		break;
	}
}

/*
 * The request data, IANA included, is the answer. An echo larger than the
 * bus carries is answered 0xCA by the library.
 */
static void
oem_echo(struct oem_state *st, struct ipmic_request *req)
{
	if (req->len < OEM_IANA_LEN) {	/* the broker checks; so do we */
		ipmic_reply_cc(req, IPMI_CC_BAD_LENGTH);
		return;
	}
	oem_reply(req, IPMI_CC_OK, req->data, req->len);
}

static void
oem_version(struct oem_state *st, struct ipmic_request *req)
{
	uint8_t	rsp[OEM_IANA_LEN + 3];

	if (req->len != OEM_IANA_LEN) {
		ipmic_reply_cc(req, IPMI_CC_BAD_LENGTH);
		return;
	}
	memcpy(rsp, req->data, OEM_IANA_LEN);
	rsp[OEM_IANA_LEN] = OEM_VERSION_MAJOR;
	rsp[OEM_IANA_LEN + 1] = OEM_VERSION_MINOR;
	rsp[OEM_IANA_LEN + 2] = OEM_VERSION_PATCH;
	oem_reply(req, IPMI_CC_OK, rsp, sizeof(rsp));
}

/*
 * Keep the request and answer it OEM_DELAY_MS from now. Had the broker's
 * deadline (req->deadline_ms) been shorter, the host would already have
 * 0xC3 from the broker and our late answer would be dropped there.
 */
static void
oem_delay(struct oem_state *st, struct ipmic_request *req)
{
	struct oem_pending	*p;

	if (req->len < OEM_IANA_LEN) {
		ipmic_reply_cc(req, IPMI_CC_BAD_LENGTH);
		return;
	}
	if (st->count == OEM_PENDING_MAX) {
		ipmic_reply_cc(req, IPMI_CC_BUSY);
		return;
	}
	p = &st->pending[(st->head + st->count) % OEM_PENDING_MAX];
	p->req = req;
	clock_gettime(CLOCK_MONOTONIC, &p->due);
	p->due.tv_nsec += OEM_DELAY_MS * 1000000L;
	if (p->due.tv_nsec >= 1000000000L) {
		p->due.tv_sec++;
		p->due.tv_nsec -= 1000000000L;
	}
	if (st->count++ == 0 && oem_timer_arm(st) != 0) {
		/* Without a timer there is no "later": answer now. */
		st->count = 0;
		oem_reply(req, IPMI_CC_OK, req->data, req->len);
	}
}

/* The timer fired: answer every pending echo that is due. */
static void
oem_timer(struct oem_state *st)
{
	struct oem_pending	*p;
	struct timespec		 now;
	uint64_t		 expirations;

	if (read(st->timer_fd, &expirations, sizeof(expirations)) == -1 &&
	    errno != EAGAIN)
		oem_log(IPMIC_LOG_WARN, "timerfd: %s", strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &now);
	while (st->count > 0) {
		p = &st->pending[st->head];
		if (p->due.tv_sec > now.tv_sec || (p->due.tv_sec ==
		    now.tv_sec && p->due.tv_nsec > now.tv_nsec))
			break;
		oem_reply(p->req, IPMI_CC_OK, p->req->data, p->req->len);
		p->req = NULL;
		st->head = (st->head + 1) % OEM_PENDING_MAX;
		st->count--;
	}
	if (st->count > 0)
		oem_timer_arm(st);
}

/* Arm the one-shot timer for the head of the FIFO. */
static int
oem_timer_arm(struct oem_state *st)
{
	struct itimerspec	its;

	memset(&its, 0, sizeof(its));
	its.it_value = st->pending[st->head].due;
	if (timerfd_settime(st->timer_fd, TFD_TIMER_ABSTIME, &its,
	    NULL) == -1) {
		oem_log(IPMIC_LOG_WARN, "timerfd_settime: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Answer and log a failure; the request is released either way. */
static void
oem_reply(struct ipmic_request *req, uint8_t cc, const void *data,
    size_t len)
{
	uint8_t	cmd = req->cmd;
	int	rv;

	if ((rv = ipmic_reply(req, cc, data, len)) < 0)
		oem_log(IPMIC_LOG_WARN, "cmd 0x%02x: reply: %s", cmd,
		    ipmic_strerror(rv));
}
