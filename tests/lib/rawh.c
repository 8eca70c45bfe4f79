/* SPDX-License-Identifier: MIT */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.pb-c.h"
#include "handler.pb-c.h"
#include "wire.h"
#include "itest.h"

/*
 * Raw protocol clients for the integration tests: a handler (rawh_*) and
 * a control client (rawc_*) built on proto/wire.h, with no library in
 * between, so a test decides every byte and every moment. Sockets are
 * blocking for sends (a test never outruns the broker by much) and every
 * receive is a poll() with a bound.
 */

/* Connect a SEQPACKET socket to path, retrying until the deadline. */
static int
raw_connect(const char *path, int timeout_ms)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int64_t			end = itest_now_ms() + timeout_ms;
	int			fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return fd;
		close(fd);
		if (errno != ENOENT && errno != ECONNREFUSED &&
		    errno != EAGAIN)
			return -1;
		if (itest_now_ms() >= end)
			return -1;
		itest_pause_ms(5);
	}
}

/* Receive one datagram, bounded. Returns its length, 0 timeout, or the
 * RAWH_EOF / RAWH_ERROR codes. */
static ssize_t
raw_recv(int fd, uint8_t *buf, int timeout_ms)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	int64_t		end = itest_now_ms() + timeout_ms, left;
	ssize_t		n;
	int		r;

	for (;;) {
		left = end - itest_now_ms();
		r = poll(&pfd, 1, left > 0 ? (int)left : 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return RAWH_ERROR;
		if (r == 0)
			return 0;
		n = wire_recv(fd, buf, NULL, NULL);
		if (n == -EAGAIN || n == -EINTR)
			continue;
		if (n == 0 || n == -ECONNRESET)
			return RAWH_EOF;
		if (n < 0)
			return RAWH_ERROR;
		return n;
	}
}

Hnd__Key
rawh_key(uint32_t netfn, bool any_cmd, uint32_t cmd)
{
	Hnd__Key	k = HND__KEY__INIT;

	k.netfn = netfn;
	k.any_cmd = any_cmd;
	k.cmd = any_cmd ? 0 : cmd;
	return k;
}

static int
rawh_send_env(struct rawh *h, Hnd__Envelope *env)
{
	return wire_send(h->fd, &env->base, NULL, 0) == 0 ? 0 : -1;
}

static int
rawh_connect_as(struct rawh *h, const char *sock, const char *name,
    int timeout_ms, bool batches)
{
	Hnd__Envelope	 env = HND__ENVELOPE__INIT;
	Hnd__Hello	 hello = HND__HELLO__INIT;
	Hnd__Envelope	*in = NULL;

	memset(h, 0, sizeof(*h));
	hello.batches = batches;
	snprintf(h->name, sizeof(h->name), "%s", name);
	if ((h->fd = raw_connect(sock, timeout_ms)) < 0)
		return -1;
	hello.version = 1;
	hello.name = (char *)name;
	env.body_case = HND__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	if (rawh_send_env(h, &env) < 0 ||
	    rawh_recv(h, &in, timeout_ms) != RAWH_MSG ||
	    in->body_case != HND__ENVELOPE__BODY_WELCOME) {
		if (in != NULL)
			hnd__envelope__free_unpacked(in, NULL);
		rawh_close(h);
		return -1;
	}
	h->version = in->welcome->version;
	h->max_payload = in->welcome->max_payload;
	h->default_deadline_ms = in->welcome->default_deadline_ms;
	h->internal_channel = in->welcome->internal_channel;
	h->broker_pid = in->welcome->broker_pid;
	h->broker_batches = in->welcome->batches;
	hnd__envelope__free_unpacked(in, NULL);
	return 0;
}

int
rawh_connect(struct rawh *h, const char *sock, const char *name,
    int timeout_ms)
{
	return rawh_connect_as(h, sock, name, timeout_ms, false);
}

int
rawh_connect_batches(struct rawh *h, const char *sock, const char *name,
    int timeout_ms)
{
	return rawh_connect_as(h, sock, name, timeout_ms, true);
}

ssize_t
rawh_recv_datagram(struct rawh *h, uint8_t *buf, int timeout_ms)
{
	if (h->fd < 0)
		return RAWH_EOF;
	return raw_recv(h->fd, buf, timeout_ms);
}

void
rawh_close(struct rawh *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}

int
rawh_recv(struct rawh *h, Hnd__Envelope **env, int timeout_ms)
{
	uint8_t	buf[WIRE_MSG_MAX + 1];
	ssize_t	n;

	*env = NULL;
	if (h->fd < 0)
		return RAWH_EOF;
	if ((n = raw_recv(h->fd, buf, timeout_ms)) <= 0)
		return (int)n;
	if ((*env = hnd__envelope__unpack(NULL, (size_t)n, buf)) == NULL)
		return RAWH_ERROR;
	return RAWH_MSG;
}

static void
rawh_result_copy(struct rawh_result *res, const Hnd__Result *m)
{
	memset(res, 0, sizeof(*res));
	res->status = (int)m->status;
	res->tag = m->tag;
	if (m->message != NULL)
		snprintf(res->message, sizeof(res->message), "%s",
		    m->message);
	if (m->holder_name != NULL)
		snprintf(res->holder_name, sizeof(res->holder_name), "%s",
		    m->holder_name);
	res->holder_pid = m->holder_pid;
	if (m->overlap != NULL) {
		res->has_overlap = true;
		res->overlap = *m->overlap;
		res->overlap.base.unknown_fields = NULL;
		res->overlap.base.n_unknown_fields = 0;
	}
}

int
rawh_register(struct rawh *h, uint32_t tag, const Hnd__Key *k,
    uint32_t deadline_ms, bool default_route, struct rawh_result *res)
{
	Hnd__Envelope	 env = HND__ENVELOPE__INIT;
	Hnd__Register	 reg = HND__REGISTER__INIT;
	Hnd__Key	 key = HND__KEY__INIT;
	Hnd__Envelope	*in;
	int		 r;

	if (k != NULL)
		key = *k;
	reg.tag = tag;
	reg.key = &key;
	reg.deadline_ms = deadline_ms;
	reg.default_route = default_route;
	env.body_case = HND__ENVELOPE__BODY_REGISTER;
	env.register_ = &reg;
	memset(res, 0, sizeof(*res));
	res->status = -1;
	if (rawh_send_env(h, &env) < 0)
		return -1;
	for (;;) {
		if ((r = rawh_recv(h, &in, 5000)) != RAWH_MSG)
			return -1;
		if (in->body_case == HND__ENVELOPE__BODY_GOODBYE)
			snprintf(res->message, sizeof(res->message),
			    "goodbye: %s", in->goodbye->reason);
		if (in->body_case == HND__ENVELOPE__BODY_RESULT &&
		    in->result->tag == tag) {
			rawh_result_copy(res, in->result);
			hnd__envelope__free_unpacked(in, NULL);
			return res->status;
		}
		hnd__envelope__free_unpacked(in, NULL);
	}
}

int
rawh_reg(struct rawh *h, uint32_t netfn, uint32_t cmd)
{
	struct rawh_result	res;
	Hnd__Key		k = rawh_key(netfn, false, cmd);

	return rawh_register(h, netfn << 8 | cmd, &k, 0, false, &res);
}

int
rawh_wait_request(struct rawh *h, struct rawh_req *rq, int timeout_ms)
{
	Hnd__Envelope	*in;
	Hnd__Request	*m;
	int		 r;

	if ((r = rawh_recv(h, &in, timeout_ms)) != RAWH_MSG)
		return r;
	if (in->body_case != HND__ENVELOPE__BODY_REQUEST) {
		hnd__envelope__free_unpacked(in, NULL);
		return RAWH_OTHER;
	}
	m = in->request;
	memset(rq, 0, sizeof(*rq));
	rq->id = m->id;
	rq->netfn = m->netfn;
	rq->lun = m->lun;
	rq->cmd = m->cmd;
	rq->channel = m->channel;
	rq->deadline_ms = m->deadline_ms;
	rq->origin_pid = m->origin_pid;
	rq->len = m->data.len < sizeof(rq->data) ? m->data.len :
	    sizeof(rq->data);
	if (rq->len > 0)
		memcpy(rq->data, m->data.data, rq->len);
	if (m->facts != NULL && m->facts->bus != NULL)
		snprintf(rq->bus, sizeof(rq->bus), "%s", m->facts->bus);
	hnd__envelope__free_unpacked(in, NULL);
	return RAWH_MSG;
}

int
rawh_respond(struct rawh *h, uint64_t id, uint32_t cc, const void *data,
    size_t len)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__Response	rsp = HND__RESPONSE__INIT;

	rsp.id = id;
	rsp.cc = cc;
	rsp.data.data = (uint8_t *)data;
	rsp.data.len = len;
	env.body_case = HND__ENVELOPE__BODY_RESPONSE;
	env.response = &rsp;
	return rawh_send_env(h, &env);
}

int
rawh_send(struct rawh *h, uint32_t tag, uint32_t netfn, uint32_t lun,
    uint32_t cmd, const void *data, size_t len)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__Send	snd = HND__SEND__INIT;

	snd.tag = tag;
	snd.netfn = netfn;
	snd.lun = lun;
	snd.cmd = cmd;
	snd.data.data = (uint8_t *)data;
	snd.data.len = len;
	env.body_case = HND__ENVELOPE__BODY_SEND;
	env.send = &snd;
	return rawh_send_env(h, &env);
}

int
rawh_send_raw(struct rawh *h, const void *buf, size_t len)
{
	return wire_send_raw(h->fd, buf, len, NULL, 0) == 0 ? 0 : -1;
}

int
rawh_wait_closed(struct rawh *h, int timeout_ms, char *reason, size_t len)
{
	int64_t		 end = itest_now_ms() + timeout_ms, left;
	Hnd__Envelope	*in;
	int		 r;

	if (reason != NULL && len > 0)
		reason[0] = '\0';
	for (;;) {
		if ((left = end - itest_now_ms()) < 0)
			return -1;
		r = rawh_recv(h, &in, (int)left);
		if (r == RAWH_EOF)
			return 0;
		if (r != RAWH_MSG)
			return -1;
		if (in->body_case == HND__ENVELOPE__BODY_GOODBYE &&
		    reason != NULL && in->goodbye->reason != NULL)
			snprintf(reason, len, "%s", in->goodbye->reason);
		hnd__envelope__free_unpacked(in, NULL);
	}
}

/* ---- a raw handler in a child process ---- */

static void
rawh_child_say(int fd, const char *word, unsigned long long v)
{
	char	line[64];
	int	n;

	n = snprintf(line, sizeof(line), "%s %llu\n", word, v);
	if (write(fd, line, (size_t)n) != n)
		_exit(3);
}

static void __attribute__((noreturn))
rawh_child_main(int rfd, int wfd, const char *sock, const char *name,
    const Hnd__Key *keys, size_t nkeys, bool stall, uint32_t cc,
    const void *data, size_t len)
{
	struct pollfd		pfd[2];
	struct rawh		h;
	struct rawh_result	res;
	struct rawh_req		rq;
	size_t			i;

	if (rawh_connect(&h, sock, name, 5000) < 0) {
		rawh_child_say(wfd, "refused", 999);
		_exit(1);
	}
	for (i = 0; i < nkeys; i++)
		if (rawh_register(&h, (uint32_t)i + 1, &keys[i], 0, false,
		    &res) != HND__STATUS__OK) {
			rawh_child_say(wfd, "refused",
			    (unsigned long long)res.status);
			_exit(1);
		}
	rawh_child_say(wfd, "ok", (unsigned long long)getpid());
	pfd[0].fd = h.fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = rfd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			_exit(2);
		if (pfd[1].revents != 0)
			_exit(0);	/* the test closed its end */
		if (pfd[0].revents == 0)
			continue;
		if (rawh_wait_request(&h, &rq, 0) != RAWH_MSG)
			_exit(0);	/* the broker closed or misbehaved */
		rawh_child_say(wfd, "req", (unsigned long long)rq.id);
		if (!stall)
			(void)rawh_respond(&h, rq.id, cc, data, len);
	}
}

int
rawh_child_start(struct rawh_child *c, const char *sock, const char *name,
    const Hnd__Key *keys, size_t nkeys, bool stall, uint32_t cc,
    const void *data, size_t len)
{
	int	down[2], up[2];
	pid_t	parent = getpid();

	c->pid = -1;
	c->rfd = c->wfd = -1;
	if (pipe2(down, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(up, O_CLOEXEC) < 0) {
		close(down[0]);
		close(down[1]);
		return -1;
	}
	if ((c->pid = fork()) < 0)
		return -1;
	if (c->pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		close(down[1]);
		close(up[0]);
		rawh_child_main(down[0], up[1], sock, name, keys, nkeys,
		    stall, cc, data, len);
	}
	close(down[0]);
	close(up[1]);
	c->wfd = down[1];
	c->rfd = up[0];
	return 0;
}

int
rawh_child_line(struct rawh_child *c, char *line, size_t len,
    int timeout_ms)
{
	struct pollfd	pfd = { .fd = c->rfd, .events = POLLIN };
	int64_t		end = itest_now_ms() + timeout_ms, left;
	size_t		n = 0;
	char		ch;

	/* Byte by byte: the child's lines must stay in the pipe for later. */
	while (n + 1 < len) {
		left = end - itest_now_ms();
		if (poll(&pfd, 1, left > 0 ? (int)left : 0) <= 0)
			return -1;
		if (read(c->rfd, &ch, 1) != 1)
			return -1;
		if (ch == '\n') {
			line[n] = '\0';
			return 0;
		}
		line[n++] = ch;
	}
	return -1;
}

void
rawh_child_stop(struct rawh_child *c)
{
	if (c->wfd >= 0)
		close(c->wfd);
	if (c->rfd >= 0)
		close(c->rfd);
	c->wfd = c->rfd = -1;
	if (c->pid > 0 && itest_wait_pid(c->pid, 2000) == -1) {
		(void)kill(c->pid, SIGKILL);
		(void)itest_wait_pid(c->pid, 2000);
	}
	c->pid = -1;
}

/* ---- raw control client ---- */

static int
rawc_send_env(struct rawc *c, Ctl__Envelope *env)
{
	return wire_send(c->fd, &env->base, NULL, 0) == 0 ? 0 : -1;
}

int
rawc_connect(struct rawc *c, const char *sock, int timeout_ms)
{
	Ctl__Envelope	 env = CTL__ENVELOPE__INIT;
	Ctl__Hello	 hello = CTL__HELLO__INIT;
	Ctl__Envelope	*in;
	uint8_t		 buf[WIRE_MSG_MAX + 1];
	int64_t		 end = itest_now_ms() + timeout_ms;
	ssize_t		 n;
	int		 ok;

	hello.version = 1;
	env.body_case = CTL__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	/* The socket exists before the broker accepts on it: retry. */
	for (;;) {
		ok = 0;
		if ((c->fd = raw_connect(sock, timeout_ms)) < 0)
			return -1;
		if (rawc_send_env(c, &env) == 0 &&
		    (n = raw_recv(c->fd, buf, 200)) > 0 &&
		    (in = ctl__envelope__unpack(NULL, (size_t)n, buf)) !=
		    NULL) {
			ok = in->body_case == CTL__ENVELOPE__BODY_WELCOME;
			ctl__envelope__free_unpacked(in, NULL);
		}
		if (ok)
			return 0;
		rawc_close(c);
		if (itest_now_ms() >= end)
			return -1;
		itest_pause_ms(5);
	}
}

void
rawc_close(struct rawc *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int
rawc_send(struct rawc *c, uint32_t netfn, uint32_t lun, uint32_t cmd,
    const void *data, size_t len)
{
	Ctl__Envelope	env = CTL__ENVELOPE__INIT;
	Ctl__Send	snd = CTL__SEND__INIT;

	snd.netfn = netfn;
	snd.lun = lun;
	snd.cmd = cmd;
	snd.data.data = (uint8_t *)data;
	snd.data.len = len;
	env.body_case = CTL__ENVELOPE__BODY_SEND;
	env.send = &snd;
	return rawc_send_env(c, &env);
}

int
rawc_wait_result(struct rawc *c, int timeout_ms, uint32_t *cc,
    uint8_t *data, size_t *len)
{
	Ctl__Envelope	*in;
	uint8_t		 buf[WIRE_MSG_MAX + 1];
	ssize_t		 n;
	int		 r = RAWH_OTHER;

	if ((n = raw_recv(c->fd, buf, timeout_ms)) <= 0)
		return (int)n;
	if ((in = ctl__envelope__unpack(NULL, (size_t)n, buf)) == NULL)
		return RAWH_ERROR;
	if (in->body_case == CTL__ENVELOPE__BODY_SEND_RESULT) {
		*cc = in->send_result->cc;
		*len = in->send_result->data.len;
		if (*len > 0)
			memcpy(data, in->send_result->data.data, *len);
		r = RAWH_MSG;
	}
	ctl__envelope__free_unpacked(in, NULL);
	return r;
}
