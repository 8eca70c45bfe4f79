/* SPDX-License-Identifier: MIT */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus.pb-c.h"
#include "handler.pb-c.h"
#include "ipmi/ipmiclient.h"
#include "bench.h"

/*
 * The product: the real ipmi-brokerd (supervisor and broker) with a
 * [bus bt0] whose device is a SOCK_SEQPACKET Unix socket we listen on.
 * The supervisor connect()s to it as it would open /dev/ipmi-bt-host and
 * hands it to the production ipmi-busdrv-bt (found next to the daemon in
 * the build tree, or in libexec once installed); the connection we
 * accept is the host's end of the device. One forked process links
 * libipmiclient and holds every handler connection (one struct ipmic
 * each), registers its share of the keys and answers each request at once
 * with rsp_len bytes (the IANA first for netfn 0x2E).
 */

struct bench_product {
	pid_t		sup;
	pid_t		broker;
	pid_t		driver;
	pid_t		handlers;
	int		host;		/* our end of the BT device */
	int		ready;		/* handler process's pipe */
	long		base_kib;	/* broker VmHWM before handlers */
	long		reg_kib;	/* broker VmRSS once registered */
	char		log[PATH_MAX];
};

struct bench_hargs {
	char		sock[PATH_MAX];
	uint32_t	nconn;
	uint32_t	nregs;
	size_t		rsp_len;
	int		ready;		/* write end */
};

static unsigned	bench_product_runs;

/*
 * The datagram sizes of one request's hops, packed with the product's own
 * generated code and the values a request in the middle of a run carries
 * (a 6-digit driver token, a broker id past 2^32, the bus facts of bt0),
 * so the floor relays move as many bytes as the product does.
 */
void
bench_product_sizes(const struct bench_opts *o, struct bench_sizes *sz)
{
	Bus__Envelope	be = BUS__ENVELOPE__INIT;
	Bus__Request	brq = BUS__REQUEST__INIT;
	Bus__Response	brs = BUS__RESPONSE__INIT;
	Hnd__Envelope	he = HND__ENVELOPE__INIT;
	Hnd__Request	hrq = HND__REQUEST__INIT;
	Hnd__Response	hrs = HND__RESPONSE__INIT;
	Hnd__BusFacts	bf = HND__BUS_FACTS__INIT;
	uint8_t		data[BENCH_BT_REQ_MAX];

	memset(data, 0xa5, sizeof(data));
	sz->host_req = 4 + o->req_len;
	sz->host_rsp = 5 + o->rsp_len;

	brq.token = 150000;
	brq.netfn = BENCH_NETFN;
	brq.cmd = BENCH_CMD;
	brq.seq = 100;
	brq.data.data = data;
	brq.data.len = o->req_len;
	be.body_case = BUS__ENVELOPE__BODY_REQUEST;
	be.request = &brq;
	sz->bus_req = protobuf_c_message_get_packed_size(&be.base);

	bf.bus = "bt0";
	bf.medium = 12;
	bf.protocol = 8;
	bf.max_request = BENCH_BT_REQ_MAX;
	bf.max_response = BENCH_BT_RSP_MAX;
	bf.deadline_ms = 3000;
	bf.max_outstanding = BENCH_MAX_INFLIGHT;
	hrq.id = (150000ull << 16) | 5;
	hrq.netfn = BENCH_NETFN;
	hrq.cmd = BENCH_CMD;
	hrq.data.data = data;
	hrq.data.len = o->req_len;
	hrq.deadline_ms = 3000;
	hrq.facts = &bf;
	he.body_case = HND__ENVELOPE__BODY_REQUEST;
	he.request = &hrq;
	sz->hnd_req = protobuf_c_message_get_packed_size(&he.base);

	hrs.id = hrq.id;
	hrs.data.data = data;
	hrs.data.len = o->rsp_len;
	he.body_case = HND__ENVELOPE__BODY_RESPONSE;
	he.response = &hrs;
	sz->hnd_rsp = protobuf_c_message_get_packed_size(&he.base);

	brs.token = brq.token;
	brs.netfn = BENCH_NETFN;
	brs.cmd = BENCH_CMD;
	brs.data.data = data;
	brs.data.len = o->rsp_len;
	be.body_case = BUS__ENVELOPE__BODY_RESPONSE;
	be.response = &brs;
	sz->bus_rsp = protobuf_c_message_get_packed_size(&be.base);
}

/* ---- the handler process ---- */

static void
bench_answer(struct ipmic *c, struct ipmic_request *req, void *arg)
{
	const size_t	*len = arg;
	uint8_t		 buf[BENCH_BT_RSP_MAX];

	(void)c;
	memset(buf, 0x5a, *len);
	if (req->netfn == BENCH_NETFN_OEM && req->len >= 3 && *len >= 3)
		memcpy(buf, req->data, 3);
	(void)ipmic_reply(req, 0x00, buf, *len);
}

static void
bench_hsay(int fd, const char *what, int r)
{
	char	line[256];
	int	n;

	n = snprintf(line, sizeof(line), "%s%s%s\n", what, r ? ": " : "",
	    r ? ipmic_strerror(r) : "");
	(void)!write(fd, line, (size_t)n);
}

static int
bench_handlers_register(struct bench_hargs *a, struct ipmic **conn)
{
	struct ipmic_key	key;
	struct ipmic_error	err;
	struct bench_key	bk;
	uint32_t		i;
	int			r;

	for (i = 0; i < a->nregs; i++) {
		bench_key_of(i, &bk);
		memset(&key, 0, sizeof(key));
		key.netfn = bk.netfn;
		key.cmd = bk.cmd;
		key.iana = bk.iana;
		r = ipmic_register(conn[i % a->nconn], &key, 0, bench_answer,
		    &a->rsp_len, &err);
		if (r != 0) {
			bench_hsay(a->ready, "error: register", r);
			return -1;
		}
	}
	return 0;
}

static int
bench_handlers_main(void *arg)
{
	struct bench_hargs	*a = arg;
	struct epoll_event	 ev, evs[64];
	struct ipmic		**conn;
	char			 name[32];
	uint32_t		 i;
	int			 ep, n, r;

	bench_raise_nofile();
	if ((conn = calloc(a->nconn, sizeof(*conn))) == NULL ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return 1;
	for (i = 0; i < a->nconn; i++) {
		snprintf(name, sizeof(name), "bench-%u", i);
		if ((conn[i] = ipmic_new(name)) == NULL ||
		    ipmic_set_socket(conn[i], a->sock) < 0) {
			bench_hsay(a->ready, "error: ipmic_new", -errno);
			return 1;
		}
		if ((r = ipmic_connect(conn[i], BENCH_TIMEOUT_MS)) != 0) {
			bench_hsay(a->ready, "error: connect", r);
			return 1;
		}
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = conn[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, ipmic_fd(conn[i]), &ev) < 0)
			return 1;
	}
	if (bench_handlers_register(a, conn) < 0)
		return 1;
	/* The pipe's far end closing (we get EPOLLERR) means stop. */
	memset(&ev, 0, sizeof(ev));
	ev.data.ptr = NULL;
	(void)epoll_ctl(ep, EPOLL_CTL_ADD, a->ready, &ev);
	bench_hsay(a->ready, "ready", 0);
	for (;;) {
		n = epoll_wait(ep, evs, 64, -1);
		for (i = 0; n > 0 && i < (uint32_t)n; i++) {
			if (evs[i].data.ptr == NULL)
				return 0;
			(void)ipmic_dispatch(evs[i].data.ptr);
		}
	}
}

/* ---- the daemon ---- */

static int
bench_product_config(const char *path, const char *rundir,
    const char *device, uint32_t nconn)
{
	FILE	*f;

	if ((f = fopen(path, "we")) == NULL)
		return -errno;
	fprintf(f,
	    "[broker]\n"
	    "runtime_dir = %s\n"
	    "log_level = warning\n"
	    "max_handlers = %u\n"
	    "[limits]\n"
	    "inflight_total = 4096\n"
	    "inflight_per_handler = 1024\n"
	    "inflight_per_bus = %d\n"
	    "registrations_per_handler = 65536\n"
	    "[bus bt0]\n"
	    "driver = bt\n"
	    "device = %s\n"
	    "channel = 0\n"
	    /* Answers come in bursts of up to 64: let them all wait. */
	    "queue = 256\n",
	    rundir, nconn + 16 > 64 ? nconn + 16 : 64, BENCH_MAX_INFLIGHT,
	    device);
	return fclose(f) == 0 ? 0 : -errno;
}

static int
bench_listen(const char *path)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, 4) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static int
bench_accept(int lfd, int ms)
{
	struct pollfd	pfd = { lfd, POLLIN, 0 };

	if (poll(&pfd, 1, ms) <= 0)
		return -ETIMEDOUT;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* argv: the wrapper's words, then ipmi-brokerd -c conf. */
static pid_t
bench_daemon_spawn(const struct bench_opts *o, const char *conf,
    const char *log)
{
	char	*argv[32], *words = NULL, *w, *save;
	size_t	 n = 0;
	pid_t	 pid;

	if (o->wrapper != NULL && (words = strdup(o->wrapper)) != NULL)
		for (w = strtok_r(words, " ", &save); w != NULL && n < 28;
		    w = strtok_r(NULL, " ", &save))
			argv[n++] = w;
	argv[n++] = (char *)o->brokerd;
	argv[n++] = "-c";
	argv[n++] = (char *)conf;
	argv[n] = NULL;
	pid = bench_spawn(argv, log, NULL, 0);
	free(words);
	return pid;
}

static void
bench_product_fail(struct bench_product *p, const char *what, int e)
{
	char	cmd[PATH_MAX + 32];

	fprintf(stderr, "ipmi-bench: product: %s: %s\n", what,
	    strerror(e < 0 ? -e : e));
	fprintf(stderr, "ipmi-bench: daemon log %s ends:\n", p->log);
	snprintf(cmd, sizeof(cmd), "tail -n 15 '%s' >&2", p->log);
	(void)!system(cmd);
}

/* Daemon up, bus bt0 answering (any CC), broker pid known. */
static int
bench_product_daemon(struct bench_product *p, const struct bench_opts *o,
    uint32_t nconn, char *hsock)
{
	char		 conf[256], rundir[256], dev[256];
	struct bench_key k = { BENCH_NETFN, BENCH_CMD, 0 };
	int		 lfd, e, i;

	bench_product_runs++;
	snprintf(conf, sizeof(conf), "%s/broker-%u.conf", bench_dir,
	    bench_product_runs);
	snprintf(rundir, sizeof(rundir), "%s/run-%u", bench_dir,
	    bench_product_runs);
	snprintf(dev, sizeof(dev), "%s/bt-%u.sock", bench_dir,
	    bench_product_runs);
	snprintf(p->log, sizeof(p->log), "%s/daemon-%u.log", bench_dir,
	    bench_product_runs);
	snprintf(hsock, PATH_MAX, "%s/handler.sock", rundir);
	if ((e = bench_product_config(conf, rundir, dev, nconn)) < 0 ||
	    (lfd = e = bench_listen(dev)) < 0) {
		bench_product_fail(p, "config or device socket", e);
		return -1;
	}
	p->sup = bench_daemon_spawn(o, conf, p->log);
	p->host = bench_accept(lfd, BENCH_TIMEOUT_MS * 3);
	close(lfd);
	if (p->sup < 0 || p->host < 0) {
		bench_product_fail(p, "the supervisor did not open the device",
		    ETIMEDOUT);
		return -1;
	}
	if ((e = bench_probe(p->host, &k, o->req_len, o->rsp_len, false,
	    BENCH_TIMEOUT_MS * 3)) < 0) {
		bench_product_fail(p, "bus bt0 does not answer", e);
		return -1;
	}
	for (i = 0; i < 500 && p->broker <= 0; i++) {
		p->broker = bench_find_child(p->sup, "--broker");
		if (p->broker <= 0)
			(void)poll(NULL, 0, 10);
	}
	p->base_kib = p->broker > 0 ? bench_proc_kib(p->broker, "VmHWM") : -1;
	p->driver = bench_find_child(p->sup, "ipmi-busdrv-bt");
	return 0;
}

struct bench_product *
bench_product_start(const struct bench_opts *o, uint32_t nconn,
    uint32_t nregs)
{
	struct bench_product	*p;
	struct bench_hargs	 a;
	struct bench_key	 k;
	char			 line[256];
	int			 pfd[2] = { -1, -1 }, e;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->sup = p->handlers = p->broker = p->driver = -1;
	p->host = p->ready = -1;
	memset(&a, 0, sizeof(a));
	if (bench_product_daemon(p, o, nconn, a.sock) < 0)
		goto fail;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		goto fail;
	a.nconn = nconn;
	a.nregs = nregs;
	a.rsp_len = o->rsp_len;
	a.ready = pfd[1];
	p->handlers = bench_fork(bench_handlers_main, &a, &pfd[1], 1);
	close(pfd[1]);
	p->ready = pfd[0];
	if (p->handlers < 0 || bench_read_line(p->ready, line, sizeof(line),
	    BENCH_TIMEOUT_MS * 12) < 0 || strcmp(line, "ready") != 0) {
		bench_product_fail(p, p->handlers < 0 ? "fork" : line[0] ?
		    line : "handlers did not come up", ETIMEDOUT);
		goto fail;
	}
	bench_key_of(0, &k);
	if ((e = bench_probe(p->host, &k, o->req_len, o->rsp_len, true,
	    BENCH_TIMEOUT_MS)) < 0) {
		bench_product_fail(p, "the handler does not answer", e);
		goto fail;
	}
	p->reg_kib = p->broker > 0 ? bench_proc_kib(p->broker, "VmRSS") : -1;
	bench_log(o, "product: broker %d, %u connections, %u keys",
	    (int)p->broker, nconn, nregs);
	return p;
fail:
	bench_product_stop(p);
	return NULL;
}

int
bench_product_fd(const struct bench_product *p)
{
	return p->host;
}

const char *bench_product_procs[] = { "supervisor", "broker", "driver",
    "handlers", NULL };

size_t
bench_product_pids(const struct bench_product *p, pid_t *pids)
{
	pids[0] = p->sup;
	pids[1] = p->broker;
	pids[2] = p->driver;
	pids[3] = p->handlers;
	return 4;
}

pid_t
bench_product_broker(const struct bench_product *p)
{
	return p->broker;
}

long
bench_product_base_kib(const struct bench_product *p)
{
	return p->base_kib;
}

long
bench_product_reg_kib(const struct bench_product *p)
{
	return p->reg_kib;
}

void
bench_product_stop(struct bench_product *p)
{
	if (p == NULL)
		return;
	/* The daemon goes first: a BT device never closes under its
	 * driver, so the driver should not see ours close. */
	bench_stop(p->sup, 5000);
	if (p->ready >= 0)
		close(p->ready);
	bench_stop(p->handlers, 3000);
	if (p->host >= 0)
		close(p->host);
	free(p);
}
