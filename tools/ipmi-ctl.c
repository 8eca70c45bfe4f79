/* SPDX-License-Identifier: MIT */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.pb-c.h"
#include "wire.h"
#include "ctl.h"
#include "pcap.h"

/*
 * ipmi-ctl: the command-line client of the broker's control socket.
 *
 * It connects to the SOCK_SEQPACKET control socket, says Hello, expects
 * Welcome, sends exactly one request and reads the answer: a stream of
 * records ending with ListEnd, or a single Status or SendResult, or a
 * Result carrying an error. Its only peer is the broker, which it trusts
 * to be the broker (the socket's permissions decide who may talk to it) but
 * not to be well behaved: every wait is bounded, and a datagram that does
 * not decode, has no body, or is not one the request allows ends the run
 * with a message rather than a guess. Strings from the broker are cleaned
 * before they reach a terminal.
 *
 * `trace` is the one request that does not end: after the broker's Result
 * it reads events until Ctrl-C (SIGINT or SIGTERM, exit 0 with the pcap
 * file complete) or --count events, with no time limit, printing each as
 * it comes (ctl-trace.c) and flushing before every wait.
 *
 * Exit status: 0 done, 1 the broker refused, the completion code was not
 * 0x00 or the pcap file could not be written, 2 the broker could not be
 * reached or misbehaved, 64 usage.
 */

#define CTL_TIMEOUT_MS	5000
#define CTL_VERSION	1

struct ctl_state {
	struct ctl_params	 params;
	int			 fd;
	struct ctl_out		*out;
	unsigned int		 cc;		/* of the SendResult */
	uint32_t		 latency_us;
	char			 who[128];	/* who answered it */
	uint8_t			 buf[WIRE_MSG_MAX + 1];
};

static struct ctl_state ctl = { .fd = -1 };
static volatile sig_atomic_t ctl_stop;

/*
 * The request table: for each command, the envelope to send and the cases
 * the broker may answer with besides Result. A listing streams its records
 * until ListEnd; the others get exactly one answer.
 */
static const struct ctl_request {
	enum ctl_action		 action;
	const char		*name;
	Ctl__Envelope__BodyCase	 ask;
	Ctl__Envelope__BodyCase	 rec[2];
	int			 listing;
} ctl_requests[] = {
	{ CTL_LIST, "list", CTL__ENVELOPE__BODY_LIST_REGISTRATIONS,
	    { CTL__ENVELOPE__BODY_REGISTRATION }, 1 },
	{ CTL_HANDLERS, "handlers", CTL__ENVELOPE__BODY_LIST_HANDLERS,
	    { CTL__ENVELOPE__BODY_HANDLER_INFO }, 1 },
	{ CTL_BUSES, "buses", CTL__ENVELOPE__BODY_LIST_BUSES,
	    { CTL__ENVELOPE__BODY_BUS_INFO }, 1 },
	{ CTL_STATS, "stats", CTL__ENVELOPE__BODY_GET_STATS,
	    { CTL__ENVELOPE__BODY_COMMAND_STAT, CTL__ENVELOPE__BODY_COUNTER },
	    1 },
	{ CTL_STATUS, "status", CTL__ENVELOPE__BODY_GET_STATUS,
	    { CTL__ENVELOPE__BODY_STATUS }, 0 },
	{ CTL_SEND, "send", CTL__ENVELOPE__BODY_SEND,
	    { CTL__ENVELOPE__BODY_SEND_RESULT }, 0 },
};

static int	ctl_main(int argc, char **argv);
static int	ctl_connect(const char *path);
static int	ctl_hello(void);
static int	ctl_request(const struct ctl_request *rq);
static int	ctl_dispatch(const struct ctl_request *rq,
		    const Ctl__Envelope *env, int *done);
static int	ctl_result(const struct ctl_request *rq, const Ctl__Result *r,
		    int *done);
static void	ctl_send_result(const Ctl__SendResult *r);
static int	ctl_send_report(void);
static int	ctl_ask(const struct ctl_request *rq);
static int	ctl_write(const Ctl__Envelope *env);
static int	ctl_read(Ctl__Envelope **envp);
static int	ctl_garbage(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));
static const char *ctl_case_name(Ctl__Envelope__BodyCase c);
static int	ctl_now_ms(int64_t *ms);
static int	ctl_trace(void);
static int	ctl_trace_ask(void);
static int	ctl_trace_loop(FILE *pcap, FILE *out);
static int	ctl_trace_one(const Ctl__Envelope *env, FILE *pcap, FILE *out,
		    uint64_t *n);

int
main(int argc, char **argv)
{
	int	code;

	code = ctl_main(argc, argv);
	if (ctl.fd != -1)
		close(ctl.fd);
	ctl.out = ctl_out_free(ctl.out);
	return code;
}

static int
ctl_main(int argc, char **argv)
{
	const struct ctl_request	*rq = NULL;
	char				 err[256];
	size_t				 i;
	int				 r;

	switch (ctl_parse(argc, argv, &ctl.params, err, sizeof(err))) {
	case 0:
		break;
	case CTL_E_HELP:
		ctl_usage(stdout);
		return CTL_EXIT_OK;
	case CTL_E_VERSION:
		printf("ipmi-ctl %s (control protocol %d)\n",
		    IPMI_BROKER_VERSION, CTL_VERSION);
		return CTL_EXIT_OK;
	case CTL_E_INVALID:
		fprintf(stderr, "ipmi-ctl: %s\n", err);
		return CTL_EXIT_USAGE;
	default:
		if (err[0] != '\0')
			fprintf(stderr, "ipmi-ctl: %s\n", err);
		ctl_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (ctl.params.action == CTL_TRACE) {
		if ((r = ctl_connect(ctl.params.socket)) != 0 ||
		    (r = ctl_hello()) != 0)
			return r;
		return ctl_trace();
	}
	for (i = 0; i < sizeof(ctl_requests) / sizeof(ctl_requests[0]); i++)
		if (ctl_requests[i].action == ctl.params.action)
			rq = &ctl_requests[i];
	if (rq == NULL)
		return CTL_EXIT_USAGE;
	if ((ctl.out = ctl_out_new(rq->action, ctl.params.json)) == NULL) {
		fprintf(stderr, "ipmi-ctl: out of memory\n");
		return CTL_EXIT_BROKER;
	}
	if ((r = ctl_connect(ctl.params.socket)) != 0)
		return r;
	if ((r = ctl_hello()) != 0)
		return r;
	return ctl_request(rq);
}

static int
ctl_connect(const char *path)
{
	struct sockaddr_un	 sun;
	const char		*hint = "";
	int			 e;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "ipmi-ctl: socket path too long: %s\n", path);
		return CTL_EXIT_BROKER;
	}
	strcpy(sun.sun_path, path);
	if ((ctl.fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0) {
		fprintf(stderr, "ipmi-ctl: socket: %s\n", strerror(errno));
		return CTL_EXIT_BROKER;
	}
	if (connect(ctl.fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return 0;
	e = errno;
	if (e == ENOENT || e == ECONNREFUSED)
		hint = " (is ipmi-brokerd running?)";
	else if (e == EACCES || e == EPERM)
		hint = " (run as root or a member of the socket's group)";
	fprintf(stderr, "ipmi-ctl: cannot connect to %s: %s%s\n", path,
	    strerror(e), hint);
	return CTL_EXIT_BROKER;
}

static int
ctl_hello(void)
{
	Ctl__Envelope	 env = CTL__ENVELOPE__INIT, *ans = NULL;
	Ctl__Hello	 hello = CTL__HELLO__INIT;
	char		 msg[256];
	int		 r;

	hello.version = CTL_VERSION;
	env.body_case = CTL__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	if ((r = ctl_write(&env)) != 0 || (r = ctl_read(&ans)) != 0)
		return r;
	switch (ans->body_case) {
	case CTL__ENVELOPE__BODY_WELCOME:
		if (ans->welcome->version != CTL_VERSION) {
			fprintf(stderr, "ipmi-ctl: broker speaks control "
			    "protocol %u, ipmi-ctl speaks %d\n",
			    ans->welcome->version, CTL_VERSION);
			r = CTL_EXIT_BROKER;
		}
		break;
	case CTL__ENVELOPE__BODY_RESULT:
		if (ans->result->code == CTL__CODE__OK) {
			r = ctl_garbage("result ok instead of welcome");
			break;
		}
		ctl_clean(msg, sizeof(msg), ans->result->message);
		fprintf(stderr, "ipmi-ctl: broker refused hello: %s\n", msg);
		r = CTL_EXIT_REFUSED;
		break;
	default:
		r = ctl_garbage("%s instead of welcome",
		    ctl_case_name(ans->body_case));
		break;
	}
	ctl__envelope__free_unpacked(ans, NULL);
	return r;
}

/* Sends the request and reads its answer to the end. */
static int
ctl_request(const struct ctl_request *rq)
{
	Ctl__Envelope	*env;
	int		 done = 0, r;

	if ((r = ctl_ask(rq)) != 0)
		return r;
	while (!done) {
		if ((r = ctl_read(&env)) != 0)
			return r;
		r = ctl_dispatch(rq, env, &done);
		ctl__envelope__free_unpacked(env, NULL);
		if (r != 0)
			return r;
	}
	if ((r = ctl_out_finish(ctl.out, stdout)) != 0) {
		fprintf(stderr, "ipmi-ctl: writing output: %s\n",
		    strerror(-r));
		return CTL_EXIT_BROKER;
	}
	if (rq->action == CTL_SEND)
		return ctl_send_report();
	return 0;
}

static int
ctl_dispatch(const struct ctl_request *rq, const Ctl__Envelope *env,
    int *done)
{
	Ctl__Envelope__BodyCase	c = env->body_case;

	if (c == CTL__ENVELOPE__BODY_RESULT)
		return ctl_result(rq, env->result, done);
	if (c == CTL__ENVELOPE__BODY_LIST_END && rq->listing) {
		*done = 1;
		return 0;
	}
	if (c != rq->rec[0] && c != rq->rec[1])
		return ctl_garbage("unexpected %s in answer to %s",
		    ctl_case_name(c), rq->name);
	*done = !rq->listing;
	switch (c) {
	case CTL__ENVELOPE__BODY_REGISTRATION:
		ctl_out_registration(ctl.out, env->registration);
		break;
	case CTL__ENVELOPE__BODY_HANDLER_INFO:
		ctl_out_handler(ctl.out, env->handler_info);
		break;
	case CTL__ENVELOPE__BODY_BUS_INFO:
		ctl_out_bus(ctl.out, env->bus_info);
		break;
	case CTL__ENVELOPE__BODY_COMMAND_STAT:
		ctl_out_command_stat(ctl.out, env->command_stat);
		break;
	case CTL__ENVELOPE__BODY_COUNTER:
		ctl_out_counter(ctl.out, env->counter);
		break;
	case CTL__ENVELOPE__BODY_STATUS:
		ctl_out_status(ctl.out, env->status);
		break;
	case CTL__ENVELOPE__BODY_SEND_RESULT:
		ctl_out_send_result(ctl.out, env->send_result);
		ctl_send_result(env->send_result);
		break;
	default:
		break;
	}
	return 0;
}

static int
ctl_result(const struct ctl_request *rq, const Ctl__Result *r, int *done)
{
	char		 msg[512];
	const char	*why;

	/* OK may end a listing; a status or send wants its own answer. */
	if (r->code == CTL__CODE__OK && rq->listing) {
		*done = 1;
		return 0;
	}
	if (r->code == CTL__CODE__OK)
		return ctl_garbage("result ok in answer to %s", rq->name);
	switch (r->code) {
	case CTL__CODE__INVALID:
		why = "invalid request";
		break;
	case CTL__CODE__BUSY:
		why = "broker busy";
		break;
	case CTL__CODE__UNSUPPORTED:
		why = "not supported";
		break;
	default:
		why = "error";
		break;
	}
	ctl_clean(msg, sizeof(msg), r->message);
	fprintf(stderr, "ipmi-ctl: %s: %s\n", rq->name,
	    msg[0] != '\0' ? msg : why);
	return CTL_EXIT_REFUSED;
}

/* Keeps what the exit status and the report need. */
static void
ctl_send_result(const Ctl__SendResult *r)
{
	ctl.cc = r->cc;
	ctl.latency_us = r->latency_us;
	ctl_clean(ctl.who, sizeof(ctl.who), r->handler);
}

/* After the output: who answered (-v), and any completion code other than
 * 0x00, on stderr. */
static int
ctl_send_report(void)
{
	char	t[32];

	if (ctl.params.verbose) {
		ctl_fmt_usec(ctl.latency_us, t, sizeof(t));
		fprintf(stderr, "ipmi-ctl: answered by %s in %s\n",
		    ctl.who[0] != '\0' ? ctl.who : "?", t);
	}
	if (ctl.cc == 0)
		return CTL_EXIT_OK;
	fprintf(stderr, "ipmi-ctl: completion code 0x%02x (%s)%s%s\n", ctl.cc,
	    ctl_cc_name(ctl.cc), ctl.who[0] != '\0' ? " from " : "", ctl.who);
	return CTL_EXIT_REFUSED;
}

static int
ctl_ask(const struct ctl_request *rq)
{
	Ctl__Envelope			env = CTL__ENVELOPE__INIT;
	Ctl__ListRegistrations		lr =
	    CTL__LIST_REGISTRATIONS__INIT;
	Ctl__ListHandlers		lh = CTL__LIST_HANDLERS__INIT;
	Ctl__ListBuses			lb = CTL__LIST_BUSES__INIT;
	Ctl__GetStats			gs = CTL__GET_STATS__INIT;
	Ctl__GetStatus			gt = CTL__GET_STATUS__INIT;
	Ctl__Send			sd = CTL__SEND__INIT;
	const struct ctl_params		*p = &ctl.params;

	env.body_case = rq->ask;
	switch (rq->ask) {
	case CTL__ENVELOPE__BODY_LIST_REGISTRATIONS:
		env.list_registrations = &lr;
		break;
	case CTL__ENVELOPE__BODY_LIST_HANDLERS:
		env.list_handlers = &lh;
		break;
	case CTL__ENVELOPE__BODY_LIST_BUSES:
		env.list_buses = &lb;
		break;
	case CTL__ENVELOPE__BODY_GET_STATS:
		env.get_stats = &gs;
		break;
	case CTL__ENVELOPE__BODY_GET_STATUS:
		env.get_status = &gt;
		break;
	default:
		sd.netfn = p->netfn;
		sd.lun = p->lun;
		sd.cmd = p->cmd;
		sd.data.data = (uint8_t *)p->data;
		sd.data.len = p->datalen;
		sd.has_channel = p->has_channel;
		sd.channel = p->channel;
		sd.bus = (char *)(p->bus != NULL ? p->bus : "");
		env.send = &sd;
		break;
	}
	return ctl_write(&env);
}

static int
ctl_write(const Ctl__Envelope *env)
{
	int	r;

	if ((r = wire_send(ctl.fd, &env->base, NULL, 0)) == 0)
		return 0;
	if (r == -EPIPE || r == -ECONNRESET)
		fprintf(stderr, "ipmi-ctl: broker closed the connection\n");
	else
		fprintf(stderr, "ipmi-ctl: sending to broker: %s\n",
		    strerror(-r));
	return CTL_EXIT_BROKER;
}

/* Waits at most CTL_TIMEOUT_MS for one well-formed envelope. */
static int
ctl_read(Ctl__Envelope **envp)
{
	struct pollfd	 pfd = { .fd = ctl.fd, .events = POLLIN };
	int64_t		 now, end;
	ssize_t		 len = -EAGAIN;
	int		 n;

	*envp = NULL;
	if (ctl_now_ms(&now) != 0)
		return CTL_EXIT_BROKER;
	end = now + CTL_TIMEOUT_MS;
	for (;;) {
		n = poll(&pfd, 1, (int)(end - now));
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "ipmi-ctl: poll: %s\n",
			    strerror(errno));
			return CTL_EXIT_BROKER;
		}
		if (n > 0) {
			len = wire_recv(ctl.fd, ctl.buf, NULL, NULL);
			if (len != -EAGAIN && len != -EINTR)
				break;
		}
		if (ctl_now_ms(&now) != 0)
			return CTL_EXIT_BROKER;
		if (now >= end) {
			fprintf(stderr, "ipmi-ctl: no answer from the broker "
			    "within %d s\n", CTL_TIMEOUT_MS / 1000);
			return CTL_EXIT_BROKER;
		}
	}
	if (len == 0 || len == -ECONNRESET) {
		fprintf(stderr, "ipmi-ctl: broker closed the connection\n");
		return CTL_EXIT_BROKER;
	}
	if (len == -EMSGSIZE)
		return ctl_garbage("datagram larger than %d bytes",
		    WIRE_MSG_MAX);
	if (len < 0) {
		fprintf(stderr, "ipmi-ctl: reading from broker: %s\n",
		    strerror((int)-len));
		return CTL_EXIT_BROKER;
	}
	if ((*envp = ctl__envelope__unpack(NULL, len, ctl.buf)) == NULL)
		return ctl_garbage("%zd bytes that do not decode", len);
	if ((*envp)->body_case == CTL__ENVELOPE__BODY__NOT_SET) {
		ctl__envelope__free_unpacked(*envp, NULL);
		*envp = NULL;
		return ctl_garbage("message with no body");
	}
	return 0;
}

static int
ctl_garbage(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "ipmi-ctl: garbage from broker: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CTL_EXIT_BROKER;
}

/* The envelope field's name, e.g. "send_result", for messages. */
static const char *
ctl_case_name(Ctl__Envelope__BodyCase c)
{
	const ProtobufCFieldDescriptor	*f;

	f = protobuf_c_message_descriptor_get_field(&ctl__envelope__descriptor,
	    c);
	return f != NULL ? f->name : "unknown message";
}

static int
ctl_now_ms(int64_t *ms)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
		fprintf(stderr, "ipmi-ctl: clock_gettime: %s\n",
		    strerror(errno));
		return -1;
	}
	*ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return 0;
}

static void
ctl_on_signal(int sig)
{
	ctl_stop = 1;
}

/* Trace until Ctrl-C or --count: stdout and/or the pcap file. */
static int
ctl_trace(void)
{
	const struct ctl_params	*p = &ctl.params;
	struct sigaction	 sa;
	FILE			*pcap = NULL, *out = p->quiet ? NULL : stdout;
	int			 r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ctl_on_signal;	/* no SA_RESTART: poll() returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;	/* a closed stdout is an error */
	sigaction(SIGPIPE, &sa, NULL);
	if (p->wfile != NULL) {
		if ((pcap = fopen(p->wfile, "wbe")) == NULL ||
		    pcap_write_header(pcap) != 0) {
			fprintf(stderr, "ipmi-ctl: cannot write %s: %s\n",
			    p->wfile, strerror(errno));
			if (pcap != NULL)
				fclose(pcap);
			return CTL_EXIT_REFUSED;
		}
	}
	r = ctl_trace_ask();
	if (r == 0)
		r = ctl_trace_loop(pcap, out);
	if (pcap != NULL && fclose(pcap) != 0 && r == 0) {
		fprintf(stderr, "ipmi-ctl: writing %s: %s\n", p->wfile,
		    strerror(errno));
		r = CTL_EXIT_REFUSED;
	}
	return r;
}

/* Send Trace and wait for the broker's Result. */
static int
ctl_trace_ask(void)
{
	const struct ctl_params	*p = &ctl.params;
	Ctl__Envelope		 env = CTL__ENVELOPE__INIT, *ans;
	Ctl__Trace		 t = CTL__TRACE__INIT;
	char			 msg[256];
	int			 r;

	t.bus = (char *)(p->bus != NULL ? p->bus : "");
	t.has_netfn = p->has_netfn;
	t.netfn = p->netfn;
	t.has_cmd = p->has_cmd;
	t.cmd = p->cmd;
	t.handler = (char *)(p->handler != NULL ? p->handler : "");
	t.only_errors = p->errors;
	env.body_case = CTL__ENVELOPE__BODY_TRACE;
	env.trace = &t;
	if ((r = ctl_write(&env)) != 0 || (r = ctl_read(&ans)) != 0)
		return r;
	if (ans->body_case != CTL__ENVELOPE__BODY_RESULT)
		r = ctl_garbage("%s instead of a result",
		    ctl_case_name(ans->body_case));
	else if (ans->result->code != CTL__CODE__OK) {
		ctl_clean(msg, sizeof(msg), ans->result->message);
		fprintf(stderr, "ipmi-ctl: trace: %s\n", msg);
		r = CTL_EXIT_REFUSED;
	} else
		fprintf(stderr, "ipmi-ctl: tracing%s%s, Ctrl-C to stop\n",
		    p->wfile != NULL ? " into " : "",
		    p->wfile != NULL ? p->wfile : "");
	ctl__envelope__free_unpacked(ans, NULL);
	return r;
}

static int
ctl_trace_loop(FILE *pcap, FILE *out)
{
	struct pollfd	 pfd = { .fd = ctl.fd, .events = POLLIN };
	Ctl__Envelope	*env;
	uint64_t	 n = 0;
	ssize_t		 len;
	int		 r;

	for (;;) {
		len = wire_recv(ctl.fd, ctl.buf, NULL, NULL);
		if (len == -EAGAIN || len == -EINTR) {
			if ((out != NULL && fflush(out) != 0) ||
			    (pcap != NULL && fflush(pcap) != 0)) {
				fprintf(stderr, "ipmi-ctl: writing output: "
				    "%s\n", strerror(errno));
				return CTL_EXIT_REFUSED;
			}
			if (ctl_stop)
				return CTL_EXIT_OK;
			if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
				fprintf(stderr, "ipmi-ctl: poll: %s\n",
				    strerror(errno));
				return CTL_EXIT_BROKER;
			}
			continue;
		}
		if (len == 0 || len == -ECONNRESET) {
			fprintf(stderr, "ipmi-ctl: broker closed the "
			    "connection\n");
			return CTL_EXIT_BROKER;
		}
		if (len < 0)
			return ctl_garbage("receiving: %s", strerror(-len));
		if ((env = ctl__envelope__unpack(NULL, len, ctl.buf)) == NULL)
			return ctl_garbage("%zd bytes that do not decode", len);
		r = ctl_trace_one(env, pcap, out, &n);
		ctl__envelope__free_unpacked(env, NULL);
		if (r != 0 || (ctl.params.count != 0 &&
		    n >= ctl.params.count))
			break;
	}
	if (r == 0 && ((out != NULL && fflush(out) != 0) ||
	    (pcap != NULL && fflush(pcap) != 0))) {
		fprintf(stderr, "ipmi-ctl: writing output: %s\n",
		    strerror(errno));
		r = CTL_EXIT_REFUSED;
	}
	return r;
}

/* One datagram of the trace stream; *n counts events. */
static int
ctl_trace_one(const Ctl__Envelope *env, FILE *pcap, FILE *out, uint64_t *n)
{
	struct pcap_msg	m;

	switch (env->body_case) {
	case CTL__ENVELOPE__BODY_TRACE_EVENT:
		if (out != NULL)
			ctl_trace_event(out, env->trace_event,
			    ctl.params.json);
		if (pcap != NULL) {
			ctl_trace_pcap_msg(env->trace_event, &m);
			if (pcap_write(pcap, &m) != 0) {
				fprintf(stderr, "ipmi-ctl: writing %s: %s\n",
				    ctl.params.wfile, strerror(errno));
				return CTL_EXIT_REFUSED;
			}
		}
		(*n)++;
		return 0;
	case CTL__ENVELOPE__BODY_TRACE_DROPPED:
		if (out != NULL)
			ctl_trace_dropped(out, env->trace_dropped->count,
			    ctl.params.json);
		else
			fprintf(stderr, "ipmi-ctl: %llu events dropped\n",
			    (unsigned long long)env->trace_dropped->count);
		return 0;
	default:
		return ctl_garbage("unexpected %s in a trace",
		    ctl_case_name(env->body_case));
	}
}
