/* SPDX-License-Identifier: MIT */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/*
 * The peer architecture: OpenBMC's host-interface path on the same
 * emulated BT device. A private dbus-daemon (our own config, our own
 * socket in the run's directory); a service process exposing
 * xyz.openbmc_project.Ipmi.Server.execute(yyyaya{sv}) -> (yyyyay) on
 * /xyz/openbmc_project/Ipmi under the name xyz.openbmc_project.Ipmi.Host,
 * as ipmid does (netfn, lun, cmd, data and options in; netfn, lun, cmd,
 * completion code and data out), answering at once with rsp_len bytes;
 * and a bridge process that, like btbridged, reads one frame from the
 * device per wake-up, makes an asynchronous sd-bus method call per
 * request, and writes each reply back to the device as a BT frame. So the
 * hops are the product's: host -> bridge -> dbus-daemon -> service ->
 * dbus-daemon -> bridge -> host.
 */

const char *bench_dbus_procs[] = { "bridge", "dbus-daemon", "service",
    NULL };

#ifdef BENCH_HAVE_SDBUS
#include <systemd/sd-bus.h>

#define BENCH_DBUS_NAME		"xyz.openbmc_project.Ipmi.Host"
#define BENCH_DBUS_PATH		"/xyz/openbmc_project/Ipmi"
#define BENCH_DBUS_IFACE	"xyz.openbmc_project.Ipmi.Server"

struct bench_dbus {
	pid_t	daemon;
	pid_t	service;
	pid_t	bridge;
	int	host;
	int	ready[2];	/* service's and bridge's pipes */
};

struct bench_dargs {
	char	addr[PATH_MAX];
	size_t	rsp_len;
	int	dev;		/* bridge: the device's end */
	int	ready;		/* write end of our pipe */
};

static int
bench_bus_open(const char *addr, sd_bus **out)
{
	sd_bus	*b = NULL;
	int	 r;

	if ((r = sd_bus_new(&b)) < 0)
		return r;
	if ((r = sd_bus_set_address(b, addr)) < 0 ||
	    (r = sd_bus_set_bus_client(b, 1)) < 0 ||
	    (r = sd_bus_start(b)) < 0) {
		sd_bus_unref(b);
		return r;
	}
	*out = b;
	return 0;
}

/* ---- the service (ipmid's place) ---- */

static int
bench_dbus_execute(sd_bus_message *m, void *arg, sd_bus_error *err)
{
	const size_t	*rsp_len = arg;
	sd_bus_message	*reply = NULL;
	const void	*data;
	uint8_t		 netfn, lun, cmd, buf[BENCH_BT_RSP_MAX];
	size_t		 len;
	int		 r;

	(void)err;
	if ((r = sd_bus_message_read(m, "yyy", &netfn, &lun, &cmd)) < 0 ||
	    (r = sd_bus_message_read_array(m, 'y', &data, &len)) < 0 ||
	    (r = sd_bus_message_skip(m, "a{sv}")) < 0)
		return r;
	memset(buf, 0x5a, *rsp_len);
	if (netfn == BENCH_NETFN_OEM && len >= 3 && *rsp_len >= 3)
		memcpy(buf, data, 3);
	if ((r = sd_bus_message_new_method_return(m, &reply)) < 0)
		return r;
	if ((r = sd_bus_message_open_container(reply, 'r', "yyyyay")) >= 0 &&
	    (r = sd_bus_message_append(reply, "yyyy", netfn | 1, lun, cmd,
	    0)) >= 0 &&
	    (r = sd_bus_message_append_array(reply, 'y', buf,
	    *rsp_len)) >= 0 &&
	    (r = sd_bus_message_close_container(reply)) >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	return r < 0 ? r : 1;
}

static const sd_bus_vtable bench_dbus_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("execute", "yyyaya{sv}", "(yyyyay)",
	    bench_dbus_execute, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

static int
bench_service_main(void *arg)
{
	struct bench_dargs	*a = arg;
	sd_bus			*bus;
	int			 r;

	if (bench_bus_open(a->addr, &bus) < 0 ||
	    sd_bus_add_object_vtable(bus, NULL, BENCH_DBUS_PATH,
	    BENCH_DBUS_IFACE, bench_dbus_vtable, &a->rsp_len) < 0 ||
	    sd_bus_request_name(bus, BENCH_DBUS_NAME, 0) < 0) {
		(void)!write(a->ready, "error\n", 6);
		return 1;
	}
	(void)!write(a->ready, "ready\n", 6);
	for (;;) {
		if ((r = sd_bus_process(bus, NULL)) < 0)
			return 0;
		if (r > 0)
			continue;
		if (sd_bus_wait(bus, UINT64_MAX) < 0)
			return 0;
	}
}

/* ---- the bridge (btbridged's place) ---- */

static struct {
	int	dev;
	uint8_t	hdr[256][3];	/* netfn/lun byte, cmd per seq */
} bridge;

static int
bench_bridge_reply(sd_bus_message *m, void *arg, sd_bus_error *err)
{
	uint8_t		 seq = (uint8_t)(uintptr_t)arg;
	uint8_t		 frame[BENCH_FRAME_MAX], netfn, lun, cmd, cc;
	const void	*data;
	size_t		 len = 0;

	(void)err;
	if (sd_bus_message_is_method_error(m, NULL) ||
	    sd_bus_message_enter_container(m, 'r', "yyyyay") < 0 ||
	    sd_bus_message_read(m, "yyyy", &netfn, &lun, &cmd, &cc) < 0 ||
	    sd_bus_message_read_array(m, 'y', &data, &len) < 0 ||
	    len > BENCH_BT_RSP_MAX) {
		/* As btbridged: the host gets an error, not silence. */
		netfn = (uint8_t)((bridge.hdr[seq][0] >> 2) | 1);
		lun = bridge.hdr[seq][0] & 3;
		cmd = bridge.hdr[seq][1];
		cc = 0xff;
		len = 0;
	}
	frame[0] = (uint8_t)(4 + len);
	frame[1] = (uint8_t)(netfn << 2 | (lun & 3));
	frame[2] = seq;
	frame[3] = cmd;
	frame[4] = cc;
	if (len > 0)
		memcpy(frame + 5, data, len);
	if (send(bridge.dev, frame, 5 + len, MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

static int
bench_bridge_request(sd_bus *bus, const uint8_t *f, size_t n)
{
	sd_bus_message	*m = NULL;
	uint8_t		 seq;
	int		 r;

	if (n < 4)
		return 0;
	seq = f[2];
	bridge.hdr[seq][0] = f[1];
	bridge.hdr[seq][1] = f[3];
	if ((r = sd_bus_message_new_method_call(bus, &m, BENCH_DBUS_NAME,
	    BENCH_DBUS_PATH, BENCH_DBUS_IFACE, "execute")) < 0)
		return r;
	if ((r = sd_bus_message_append(m, "yyy", f[1] >> 2, f[1] & 3,
	    f[3])) >= 0 &&
	    (r = sd_bus_message_append_array(m, 'y', f + 4, n - 4)) >= 0 &&
	    (r = sd_bus_message_append(m, "a{sv}", 0)) >= 0)
		r = sd_bus_call_async(bus, NULL, m, bench_bridge_reply,
		    (void *)(uintptr_t)seq, 0);
	sd_bus_message_unref(m);
	return r;
}

static int
bench_bridge_main(void *arg)
{
	struct bench_dargs	*a = arg;
	struct pollfd		 pfd[2];
	uint8_t			 f[BENCH_FRAME_MAX + 1];
	uint64_t		 until;
	sd_bus			*bus;
	ssize_t			 n;
	int			 r, ms;

	bridge.dev = a->dev;
	if (bench_bus_open(a->addr, &bus) < 0) {
		(void)!write(a->ready, "error\n", 6);
		return 1;
	}
	(void)!write(a->ready, "ready\n", 6);
	for (;;) {
		while ((r = sd_bus_process(bus, NULL)) > 0)
			;
		if (r < 0)
			return 1;
		pfd[0].fd = a->dev;
		pfd[0].events = POLLIN;
		pfd[1].fd = sd_bus_get_fd(bus);
		pfd[1].events = (short)sd_bus_get_events(bus);
		ms = -1;
		if (sd_bus_get_timeout(bus, &until) >= 0 &&
		    until != UINT64_MAX) {
			uint64_t now = bench_now_ns() / 1000;

			ms = until > now ? (int)((until - now + 999) / 1000) :
			    0;
		}
		if (poll(pfd, 2, ms) < 0 && errno != EINTR)
			return 1;
		if (pfd[0].revents & POLLIN) {
			/* One frame per wake-up, as a BT device allows. */
			if ((n = recv(a->dev, f, sizeof(f), 0)) <= 0)
				return 0;
			if (bench_bridge_request(bus, f, (size_t)n) < 0)
				return 1;
		} else if (pfd[0].revents & (POLLHUP | POLLERR))
			return 0;
	}
}

/* ---- the topology ---- */

static bool
bench_dbus_daemon_found(void)
{
	char	*path, *dir, *save, file[PATH_MAX];
	bool	 found = false;

	if ((path = strdup(getenv("PATH") ? getenv("PATH") :
	    "/usr/bin:/bin")) == NULL)
		return false;
	for (dir = strtok_r(path, ":", &save); dir && !found;
	    dir = strtok_r(NULL, ":", &save)) {
		snprintf(file, sizeof(file), "%s/dbus-daemon", dir);
		found = access(file, X_OK) == 0;
	}
	free(path);
	return found;
}

static int
bench_dbus_config(const char *conf, const char *sock)
{
	FILE	*f;

	if ((f = fopen(conf, "we")) == NULL)
		return -1;
	fprintf(f,
	    "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-BUS Bus "
	    "Configuration 1.0//EN\"\n"
	    " \"http://www.freedesktop.org/standards/dbus/1.0/"
	    "busconfig.dtd\">\n"
	    "<busconfig>\n"
	    "  <type>session</type>\n"
	    "  <listen>unix:path=%s</listen>\n"
	    "  <auth>EXTERNAL</auth>\n"
	    "  <policy context=\"default\">\n"
	    "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
	    "    <allow eavesdrop=\"true\"/>\n"
	    "    <allow own=\"*\"/>\n"
	    "  </policy>\n"
	    "  <limit name=\"max_replies_per_connection\">50000</limit>\n"
	    "</busconfig>\n", sock);
	return fclose(f) == 0 ? 0 : -1;
}

/* Start dbus-daemon; its address goes to a->addr. */
static int
bench_dbus_daemon(struct bench_dbus *d, struct bench_dargs *a)
{
	char	conf[PATH_MAX], sock[PATH_MAX], log[PATH_MAX], arg[64];
	char	cfarg[PATH_MAX + 16];
	char	*argv[] = { "dbus-daemon", cfarg, "--nofork", arg, NULL };
	int	p[2];

	snprintf(conf, sizeof(conf), "%s/dbus.conf", bench_dir);
	snprintf(sock, sizeof(sock), "%s/dbus.sock", bench_dir);
	snprintf(log, sizeof(log), "%s/dbus-daemon.log", bench_dir);
	(void)unlink(sock);
	if (bench_dbus_config(conf, sock) < 0 || pipe2(p, O_CLOEXEC) < 0)
		return -1;
	snprintf(cfarg, sizeof(cfarg), "--config-file=%s", conf);
	snprintf(arg, sizeof(arg), "--print-address=%d", p[1]);
	d->daemon = bench_spawn(argv, log, &p[1], 1);
	close(p[1]);
	if (bench_read_line(p[0], a->addr, sizeof(a->addr),
	    BENCH_TIMEOUT_MS) < 0) {
		close(p[0]);
		return -1;
	}
	close(p[0]);
	return 0;
}

static pid_t
bench_dbus_child(int (*fn)(void *), struct bench_dargs *a, int *rfd)
{
	char	line[64];
	int	p[2], keep[2];
	pid_t	pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	a->ready = p[1];
	keep[0] = p[1];
	keep[1] = a->dev;
	pid = bench_fork(fn, a, keep, a->dev >= 0 ? 2 : 1);
	close(p[1]);
	*rfd = p[0];
	if (pid < 0 || bench_read_line(p[0], line, sizeof(line),
	    BENCH_TIMEOUT_MS) < 0 || strcmp(line, "ready") != 0)
		return pid < 0 ? -1 : -pid;
	return pid;
}

struct bench_dbus *
bench_dbus_start(const struct bench_opts *o, const char **why)
{
	struct bench_dbus	*d;
	struct bench_dargs	 a;
	struct bench_key	 k = { BENCH_NETFN, BENCH_CMD, 0 };
	int			 dev[2];

	if (!bench_dbus_daemon_found()) {
		*why = "no dbus-daemon in PATH";
		return NULL;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->daemon = d->service = d->bridge = -1;
	d->host = d->ready[0] = d->ready[1] = -1;
	memset(&a, 0, sizeof(a));
	a.rsp_len = o->rsp_len;
	a.dev = -1;
	*why = "dbus-daemon did not start";
	if (bench_dbus_daemon(d, &a) < 0)
		goto fail;
	*why = "the service did not come up";
	if ((d->service = bench_dbus_child(bench_service_main, &a,
	    &d->ready[0])) < 0) {
		d->service = -d->service;
		goto fail;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, dev) < 0)
		goto fail;
	d->host = dev[0];
	a.dev = dev[1];
	*why = "the bridge did not come up";
	d->bridge = bench_dbus_child(bench_bridge_main, &a, &d->ready[1]);
	close(dev[1]);
	if (d->bridge < 0) {
		d->bridge = -d->bridge;
		goto fail;
	}
	*why = "no answer through D-Bus";
	if (bench_probe(d->host, &k, o->req_len, o->rsp_len, true,
	    BENCH_TIMEOUT_MS) < 0)
		goto fail;
	*why = NULL;
	return d;
fail:
	bench_dbus_stop(d);
	return NULL;
}

int
bench_dbus_fd(const struct bench_dbus *d)
{
	return d->host;
}

size_t
bench_dbus_pids(const struct bench_dbus *d, pid_t *pids)
{
	pids[0] = d->bridge;
	pids[1] = d->daemon;
	pids[2] = d->service;
	return 3;
}

void
bench_dbus_stop(struct bench_dbus *d)
{
	if (d == NULL)
		return;
	if (d->host >= 0)
		close(d->host);
	bench_stop(d->bridge, 2000);
	bench_stop(d->service, 2000);
	bench_stop(d->daemon, 2000);
	if (d->ready[0] >= 0)
		close(d->ready[0]);
	if (d->ready[1] >= 0)
		close(d->ready[1]);
	free(d);
}

#else /* !BENCH_HAVE_SDBUS */

struct bench_dbus *
bench_dbus_start(const struct bench_opts *o, const char **why)
{
	(void)o;
	*why = "built without libsystemd (sd-bus)";
	return NULL;
}

int
bench_dbus_fd(const struct bench_dbus *d)
{
	(void)d;
	return -1;
}

size_t
bench_dbus_pids(const struct bench_dbus *d, pid_t *pids)
{
	(void)d;
	(void)pids;
	return 0;
}

void
bench_dbus_stop(struct bench_dbus *d)
{
	(void)d;
}

#endif /* BENCH_HAVE_SDBUS */
