/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's bus drivers. Each [bus] device is opened once, at
 * start, and held for the supervisor's whole life: a driver that dies is
 * replaced by a new one on the same fd, so the host never sees the device
 * closed (closing BT shows the host a busy BMC, closing KCS aborts). A
 * device given as a Unix socket path is connected instead of opened; the
 * tests' device emulations live behind such sockets.
 *
 * A driver starts with its device as fd 3 and its end of a new socketpair
 * to the broker as fd 4, as the [bus] user with no capabilities. The other
 * end goes to the broker in a BusLink message. A driver that keeps dying is
 * restarted with a growing delay, and every change is reported to the
 * broker (BusState) for ipmi-ctl buses.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/prctl.h>

#include <event2/event.h>
#include <cap-ng.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "supervisor.h"
#include "supervisor.pb-c.h"
#include "wire.h"

#define SUPBUS_RESTART_MIN_MS	100
#define SUPBUS_RESTART_MAX_MS	10000
#define SUPBUS_STABLE_MS	2000

#ifndef IPMI_BROKER_LIBEXECDIR
#define IPMI_BROKER_LIBEXECDIR	"/usr/libexec/ipmi-broker"
#endif

struct supbus {
	struct config_bus	 cfg;
	int			 devfd;
	pid_t			 pid;
	const char		*state;
	uint32_t		 restarts;
	char			 last_exit[64];
	uint64_t		 started_ms;
	uint32_t		 backoff_ms;
	struct event		*ev_restart;
	uid_t			 uid;
	gid_t			 gid;
	bool			 drop;		/* become uid/gid first */
	char			 program[PATH_MAX];
};

static struct supbus	 supbus[CONFIG_BUS_MAX];
static size_t		 nsupbus;
static struct sup_bus_env {
	struct event_base	*base;
	int			 debug;
} env;

static uint64_t
supbus_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * A vm bus listens for QEMU: "HOST:PORT" (loopback only: QEMU's link is
 * unauthenticated) or "unix:PATH". The listening socket is created here,
 * as root if need be, and inherited by each driver like a device fd.
 */
static int
supbus_listen(const struct config_bus *b)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	struct sockaddr_in	 sin = { .sin_family = AF_INET };
	char			 host[64], *colon, *end;
	long			 port;
	int			 fd, one = 1;

	if (strncmp(b->device, "unix:", 5) == 0) {
		if (strlen(b->device + 5) >= sizeof(sun.sun_path))
			fatalx("bus %s: socket path too long", b->name);
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
		    b->device + 5);
		(void)unlink(sun.sun_path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sun,
		    sizeof(sun)) < 0 || listen(fd, 4) < 0)
			fatal("bus %s: listen on %s", b->name, b->device);
		return fd;
	}
	snprintf(host, sizeof(host), "%s", b->device);
	if ((colon = strrchr(host, ':')) == NULL)
		fatalx("bus %s: device '%s' is not HOST:PORT or unix:PATH",
		    b->name, b->device);
	*colon = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		fatalx("bus %s: bad port in '%s'", b->name, b->device);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		fatalx("bus %s: '%s' is not an IPv4 address", b->name, host);
	if ((ntohl(sin.sin_addr.s_addr) >> 24) != 127)
		fatalx("bus %s: %s is not a loopback address; QEMU's link "
		    "has no authentication", b->name, host);
	sin.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fatal("bus %s: socket", b->name);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(fd, 4) < 0)
		fatal("bus %s: listen on %s", b->name, b->device);
	return fd;
}

/* The device: opened (or, for a socket, connected) once, for good. */
static int
supbus_open(const struct config_bus *b)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	struct stat		st;
	int			fd;

	if (strcmp(b->driver, "vm") == 0)
		return supbus_listen(b);

	if (stat(b->device, &st) == 0 && S_ISSOCK(st.st_mode)) {
		if (strlen(b->device) >= sizeof(sun.sun_path))
			fatalx("bus %s: socket path too long", b->name);
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", b->device);
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sun,
		    sizeof(sun)) < 0)
			fatal("bus %s: connect %s", b->name, b->device);
		return fd;
	}
	/* O_NONBLOCK: KCS, SSIF and IPMB honour it (BT ignores it), and
	 * the driver must never sleep in a read. O_NOCTTY: a serial line
	 * must not become our controlling terminal. */
	if ((fd = open(b->device, O_RDWR | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC)) < 0)
		fatal("bus %s: open %s", b->name, b->device);
	return fd;
}

/* Where ipmi-busdrv-<driver> lives: the config, the build tree, or the
 * installed libexec directory. */
static void
supbus_program(struct supbus *s, const char *self)
{
	char	dir[PATH_MAX], path[PATH_MAX];

	if (s->cfg.driver_path[0] != '\0') {
		snprintf(s->program, sizeof(s->program), "%s",
		    s->cfg.driver_path);
		return;
	}
	snprintf(dir, sizeof(dir), "%s", self);
	snprintf(path, sizeof(path), "%s/../bus-drivers/ipmi-busdrv-%s",
	    dirname(dir), s->cfg.driver);
	if (access(path, X_OK) == 0) {
		snprintf(s->program, sizeof(s->program), "%s", path);
		return;
	}
	snprintf(s->program, sizeof(s->program), "%s/ipmi-busdrv-%s",
	    IPMI_BROKER_LIBEXECDIR, s->cfg.driver);
}

static void
supbus_user(struct supbus *s, const struct config *cfg)
{
	struct passwd	*pw;

	s->drop = false;
	if (geteuid() != 0)
		return;
	if (s->cfg.user[0] == '\0') {
		if (cfg->user[0] == '\0')
			return;
		s->uid = cfg->broker_uid;
		s->gid = cfg->broker_gid;
		s->drop = true;
		return;
	}
	if ((pw = getpwnam(s->cfg.user)) == NULL)
		fatalx("bus %s: unknown user %s", s->cfg.name, s->cfg.user);
	s->uid = pw->pw_uid;
	s->gid = pw->pw_gid;
	s->drop = true;
}

static void	supbus_restart(int fd, short ev, void *arg);

/* Open every configured device; called once, before any child starts. */
void
supbus_init(struct event_base *base, const struct config *cfg,
    const char *self, int debug)
{
	struct supbus	*s;
	size_t		 i;

	env.base = base;
	env.debug = debug;
	for (i = 0; i < cfg->n_bus; i++) {
		s = &supbus[nsupbus++];
		memset(s, 0, sizeof(*s));
		s->cfg = cfg->bus[i];
		s->state = "starting";
		s->devfd = supbus_open(&s->cfg);
		supbus_program(s, self);
		supbus_user(s, cfg);
		if ((s->ev_restart = evtimer_new(base, supbus_restart, s)) ==
		    NULL)
			fatalx("cannot create a timer");
		log_info("bus %s: %s on %s (fd %d), driver %s", s->cfg.name,
		    s->cfg.driver, s->cfg.device, s->devfd, s->program);
	}
}

static void
supbus_state(struct supbus *s)
{
	Sup__Envelope	e = SUP__ENVELOPE__INIT;
	Sup__BusState	bs = SUP__BUS_STATE__INIT;

	bs.name = s->cfg.name;
	bs.state = (char *)s->state;
	bs.pid = (uint32_t)s->pid;
	bs.restarts = s->restarts;
	bs.last_exit = s->last_exit;
	e.body_case = SUP__ENVELOPE__BODY_BUS_STATE;
	e.bus_state = &bs;
	supervisor_to_broker(&e.base, NULL, 0);
}

static void
supbus_exec(struct supbus *s, int link)
{
	char	fdarg[16], linkarg[16], chan[8], queue[16], baud[16];

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (dup2(s->devfd, 3) < 0 || dup2(link, 4) < 0)
		_exit(127);
	if (s->drop) {
		capng_clear(CAPNG_SELECT_BOTH);
		if (capng_change_id((int)s->uid, (int)s->gid,
		    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) != 0) {
			fprintf(stderr, "bus %s: cannot become uid %u\n",
			    s->cfg.name, (unsigned)s->uid);
			_exit(127);
		}
	} else if (geteuid() == 0) {
		/* Root without a user to become: keep no capability. */
		capng_clear(CAPNG_SELECT_BOTH);
		(void)capng_apply(CAPNG_SELECT_BOTH);
	}
	snprintf(fdarg, sizeof(fdarg), "%d", 3);
	snprintf(linkarg, sizeof(linkarg), "%d", 4);
	snprintf(chan, sizeof(chan), "%u", s->cfg.channel);
	snprintf(queue, sizeof(queue), "%u", s->cfg.queue);
	snprintf(baud, sizeof(baud), "%u", s->cfg.baud);
	execl(s->program, s->program, "--fd", fdarg, "--link", linkarg,
	    "--name", s->cfg.name, "--channel", chan, "--device",
	    s->cfg.device, "--queue", queue, "--baud", baud,
	    env.debug ? "-d" : NULL, (char *)NULL);
	fprintf(stderr, "bus %s: exec %s: %s\n", s->cfg.name, s->program,
	    strerror(errno));
	_exit(127);
}

static void
supbus_start(struct supbus *s)
{
	Sup__Envelope	e = SUP__ENVELOPE__INIT;
	Sup__BusLink	bl = SUP__BUS_LINK__INIT;
	int		sv[2];
	pid_t		pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_warn("bus %s: socketpair", s->cfg.name);
		return;
	}
	if ((pid = fork()) < 0) {
		log_warn("bus %s: fork", s->cfg.name);
		close(sv[0]);
		close(sv[1]);
		return;
	}
	if (pid == 0)
		supbus_exec(s, sv[1]);
	close(sv[1]);
	s->pid = pid;
	s->state = "running";
	s->started_ms = supbus_now_ms();
	bl.name = s->cfg.name;
	bl.max_inflight = s->cfg.max_inflight;
	bl.deadline_ms = s->cfg.deadline_ms;
	e.body_case = SUP__ENVELOPE__BODY_BUS_LINK;
	e.bus_link = &bl;
	supervisor_to_broker(&e.base, &sv[0], 1);
	close(sv[0]);
	log_info("bus %s: driver[%d] started", s->cfg.name, (int)pid);
	supbus_state(s);
}

/* The broker is (again) up: start every driver that is not running. */
void
supbus_start_all(void)
{
	size_t	i;

	for (i = 0; i < nsupbus; i++)
		if (supbus[i].pid == 0 &&
		    !evtimer_pending(supbus[i].ev_restart, NULL))
			supbus_start(&supbus[i]);
}

/* The broker died: its drivers lose their links, stop them all. */
void
supbus_stop_all(void)
{
	size_t	i;

	for (i = 0; i < nsupbus; i++) {
		if (supbus[i].pid > 0)
			kill(supbus[i].pid, SIGTERM);
		evtimer_del(supbus[i].ev_restart);
	}
}

size_t
supbus_running(void)
{
	size_t	i, n = 0;

	for (i = 0; i < nsupbus; i++)
		if (supbus[i].pid > 0)
			n++;
	return n;
}

static void
supbus_restart(int fd, short ev, void *arg)
{
	struct supbus	*s = arg;

	if (s->pid == 0 && supervisor_broker_up())
		supbus_start(s);
}

/* A child exited: returns true if it was one of our drivers. */
bool
supbus_child_exit(pid_t pid, const char *how, bool restart)
{
	struct timeval	 tv;
	struct supbus	*s = NULL;
	uint64_t	 ran;
	size_t		 i;

	for (i = 0; i < nsupbus; i++)
		if (supbus[i].pid == pid)
			s = &supbus[i];
	if (s == NULL)
		return false;
	s->pid = 0;
	snprintf(s->last_exit, sizeof(s->last_exit), "%s", how);
	if (!restart) {
		s->state = "stopped";
		return true;
	}
	ran = supbus_now_ms() - s->started_ms;
	if (ran >= SUPBUS_STABLE_MS)
		s->backoff_ms = 0;
	else
		s->backoff_ms = s->backoff_ms == 0 ? SUPBUS_RESTART_MIN_MS :
		    (s->backoff_ms * 2 > SUPBUS_RESTART_MAX_MS ?
		    SUPBUS_RESTART_MAX_MS : s->backoff_ms * 2);
	s->restarts++;
	s->state = "restarting";
	log_warnx("bus %s: driver[%d] %s after %llu ms; restart %u in %u ms%s",
	    s->cfg.name, (int)pid, how, (unsigned long long)ran, s->restarts,
	    s->backoff_ms, s->backoff_ms >= SUPBUS_RESTART_MAX_MS ?
	    " (it keeps dying: check the device and the driver's log)" : "");
	supbus_state(s);
	tv.tv_sec = s->backoff_ms / 1000;
	tv.tv_usec = (s->backoff_ms % 1000) * 1000;
	evtimer_add(s->ev_restart, &tv);
	return true;
}

/* Tell a new broker what it missed about the drivers. */
void
supbus_report_all(void)
{
	size_t	i;

	for (i = 0; i < nsupbus; i++)
		supbus_state(&supbus[i]);
}

void
supbus_free_all(void)
{
	size_t	i;

	for (i = 0; i < nsupbus; i++) {
		event_free(supbus[i].ev_restart);
		close(supbus[i].devfd);
	}
	nsupbus = 0;
}
