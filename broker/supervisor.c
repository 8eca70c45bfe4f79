/* SPDX-License-Identifier: MIT */
/*
 * The supervisor: the process systemd starts. It parses and validates the
 * config, creates the handler and control listening sockets and keeps them
 * for its whole life, and starts the broker, to which it sends the config
 * and the sockets over a socketpair. When the broker dies it starts a new
 * one on the same sockets (handlers reconnect by themselves); SIGHUP
 * re-reads the config and, if it is valid, sends it to the broker, while a
 * wrong one keeps the old one in force. It parses no untrusted input.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/prctl.h>

#include <event2/event.h>
#include <cap-ng.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "config.h"
#include "log.h"
#include "supervisor.h"
#include "supervisor.pb-c.h"

#define SUP_RESTART_MIN_MS	100
#define SUP_RESTART_MAX_MS	5000

static struct supervisor_state {
	struct event_base	*base;
	struct config		 cfg;
	char			 self[PATH_MAX];
	int			 hlisten;
	int			 clisten;
	pid_t			 broker_pid;
	int			 broker_fd;
	struct event		*ev_broker;
	struct event		*ev_restart;
	uint64_t		 started_ms;
	uint32_t		 backoff_ms;
	uint32_t		 restarts;
	bool			 stopping;
	int			 debug;
} sup;

static void	supervisor_start_broker(void);
static void	supervisor_dispatch_broker(int fd, short ev, void *arg);
static void	supervisor_sigchld(int sig, short ev, void *arg);
static void	supervisor_sighup(int sig, short ev, void *arg);
static void	supervisor_sigterm(int sig, short ev, void *arg);
static void	supervisor_restart(int fd, short ev, void *arg);

static uint64_t
supervisor_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
supervisor_mkdirs(const char *dir)
{
	char	 path[PATH_MAX], *p;

	snprintf(path, sizeof(path), "%s", dir);
	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* A listening SEQPACKET socket at path; refuses to steal a live one. */
static int
supervisor_listen(const char *path, mode_t mode)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd, probe;

	if (strlen(path) >= sizeof(sun.sun_path))
		fatalx("socket path %s is too long", path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sun,
	    sizeof(sun)) == 0)
		fatalx("%s: another broker is listening there", path);
	if (probe >= 0)
		close(probe);
	(void)unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		fatal("socket");
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		fatal("bind %s", path);
	if (chmod(path, mode) < 0)
		fatal("chmod %s", path);
	if (listen(fd, 128) < 0)
		fatal("listen %s", path);
	return fd;
}

void
supervisor_to_broker(const ProtobufCMessage *m, const int *fds, size_t nfds)
{
	int	r;

	if (sup.broker_fd < 0)
		return;
	if ((r = wire_send(sup.broker_fd, m, fds, nfds)) < 0)
		log_warnx("broker[%d]: cannot send: %s", (int)sup.broker_pid,
		    strerror(-r));
}

bool
supervisor_broker_up(void)
{
	return sup.broker_fd >= 0 && !sup.stopping;
}

/*
 * As root, keep only what starting children needs: changing their
 * uid/gid, clearing their bounding set, and signalling them.
 */
static void
supervisor_limit_privileges(void)
{
	if (geteuid() != 0)
		return;
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED,
	    CAP_SETUID, CAP_SETGID, CAP_SETPCAP, CAP_KILL, -1) != 0 ||
	    capng_apply(CAPNG_SELECT_CAPS) != 0)
		fatalx("cannot limit the supervisor's capabilities");
	log_info("supervisor keeps setuid, setgid, setpcap and kill only");
}

int
supervisor_main(const char *config_path, int debug)
{
	struct event	*ev_chld, *ev_hup, *ev_term, *ev_int;
	char		 err[CONFIG_ERR_MAX], abspath[PATH_MAX];
	ssize_t		 n;

	log_setname("ipmi-brokerd");
	signal(SIGPIPE, SIG_IGN);
	memset(&sup, 0, sizeof(sup));
	sup.broker_fd = -1;
	/* Reloads read the same file whatever the working directory. */
	if (realpath(config_path, abspath) != NULL)
		config_path = abspath;
	if (config_load(&sup.cfg, config_path, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		return 1;
	}
	sup.cfg.generation = 1;
	log_setlevel(sup.cfg.log_level);
	if ((n = readlink("/proc/self/exe", sup.self, sizeof(sup.self) - 1))
	    < 0)
		fatal("readlink /proc/self/exe");
	sup.self[n] = '\0';
	if (geteuid() != 0)
		log_warnx("running as uid %u, not root: nothing to drop, the "
		    "broker runs as this user", (unsigned)geteuid());
	else if (sup.cfg.user[0] == '\0')
		log_warnx("running as root and [broker] user is not set: the "
		    "broker keeps running as root");

	if (supervisor_mkdirs(sup.cfg.runtime_dir) < 0)
		fatal("runtime directory %s", sup.cfg.runtime_dir);
	sup.hlisten = supervisor_listen(sup.cfg.handler_socket,
	    sup.cfg.handler_socket_mode);
	sup.clisten = supervisor_listen(sup.cfg.control_socket,
	    sup.cfg.control_socket_mode);
	if (geteuid() == 0 && sup.cfg.user[0] != '\0') {
		/* The broker accepts on them: let its user own them. */
		if (chown(sup.cfg.control_socket, 0, sup.cfg.broker_gid) < 0)
			log_warn("chown %s", sup.cfg.control_socket);
	}

	if ((sup.base = event_base_new()) == NULL)
		fatalx("cannot create an event base");
	sup.debug = debug;
	supbus_init(sup.base, &sup.cfg, sup.self, debug ||
	    sup.cfg.log_level >= LOG_LVL_DEBUG);
	supervisor_limit_privileges();
	ev_chld = evsignal_new(sup.base, SIGCHLD, supervisor_sigchld, NULL);
	ev_hup = evsignal_new(sup.base, SIGHUP, supervisor_sighup, NULL);
	ev_term = evsignal_new(sup.base, SIGTERM, supervisor_sigterm, NULL);
	ev_int = evsignal_new(sup.base, SIGINT, supervisor_sigterm, NULL);
	sup.ev_restart = evtimer_new(sup.base, supervisor_restart, NULL);
	if (ev_chld == NULL || ev_hup == NULL || ev_term == NULL ||
	    ev_int == NULL || sup.ev_restart == NULL ||
	    event_add(ev_chld, NULL) < 0 || event_add(ev_hup, NULL) < 0 ||
	    event_add(ev_term, NULL) < 0 || event_add(ev_int, NULL) < 0)
		fatalx("cannot set up signal events");
	log_info("config %s loaded; handler socket %s, control socket %s",
	    sup.cfg.path, sup.cfg.handler_socket, sup.cfg.control_socket);

	supervisor_start_broker();
	event_base_dispatch(sup.base);

	if (sup.ev_broker != NULL)
		event_free(sup.ev_broker);
	if (sup.broker_fd >= 0)
		close(sup.broker_fd);
	supbus_stop_all();
	supbus_free_all();
	event_free(ev_chld);
	event_free(ev_hup);
	event_free(ev_term);
	event_free(ev_int);
	event_free(sup.ev_restart);
	event_base_free(sup.base);
	close(sup.hlisten);
	close(sup.clisten);
	unlink(sup.cfg.handler_socket);
	unlink(sup.cfg.control_socket);
	log_info("stopped");
	return 0;
}

/*
 * In the child, before exec: become the configured user with no
 * capabilities at all (bounding set cleared, no supplementary groups).
 */
static void
supervisor_drop_privileges(void)
{
	if (geteuid() != 0)
		return;
	capng_clear(CAPNG_SELECT_BOTH);
	if (sup.cfg.user[0] == '\0') {
		/* Root without a user to become: keep no capability. */
		if (capng_apply(CAPNG_SELECT_BOTH) != 0)
			fatalx("cannot drop capabilities");
		return;
	}
	if (capng_change_id((int)sup.cfg.broker_uid, (int)sup.cfg.broker_gid,
	    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) != 0)
		fatalx("cannot become uid %u gid %u",
		    (unsigned)sup.cfg.broker_uid,
		    (unsigned)sup.cfg.broker_gid);
}

/* Send the config to the broker. Returns 0 or -errno. */
static int
supervisor_send_config(void)
{
	Sup__Envelope		 env = SUP__ENVELOPE__INIT;
	struct config_proto	*store = NULL;
	int			 r;

	env.body_case = SUP__ENVELOPE__BODY_CONFIG;
	if ((env.config = config_to_proto(&sup.cfg, &store)) == NULL)
		return -ENOMEM;
	r = wire_send(sup.broker_fd, &env.base, NULL, 0);
	config_proto_free(store);
	return r;
}

static void
supervisor_start_broker(void)
{
	Sup__Envelope	env = SUP__ENVELOPE__INIT;
	Sup__Sockets	socks = SUP__SOCKETS__INIT;
	int		sv[2], fds[2];
	pid_t		pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		fatal("socketpair");
	if ((pid = fork()) < 0)
		fatal("fork");
	if (pid == 0) {
		/* The child keeps only sv[1], as fd 3, across exec. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (sv[1] == 3) {
			if (fcntl(3, F_SETFD, 0) < 0)
				_exit(127);
		} else if (dup2(sv[1], 3) < 0)
			_exit(127);
		supervisor_drop_privileges();
		execl(sup.self, "ipmi-brokerd", "--broker", "--sup-fd", "3",
		    (sup.debug || sup.cfg.log_level >= LOG_LVL_DEBUG) ? "-d" :
		    NULL, (char *)NULL);
		fprintf(stderr, "ipmi-brokerd: exec %s: %s\n", sup.self,
		    strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	sup.broker_pid = pid;
	sup.broker_fd = sv[0];
	sup.started_ms = supervisor_now_ms();
	sup.ev_broker = event_new(sup.base, sv[0], EV_READ | EV_PERSIST,
	    supervisor_dispatch_broker, NULL);
	if (sup.ev_broker == NULL || event_add(sup.ev_broker, NULL) < 0)
		fatalx("cannot watch the broker link");

	if (supervisor_send_config() < 0)
		log_warnx("broker[%d]: cannot send config", (int)pid);
	fds[0] = sup.hlisten;
	fds[1] = sup.clisten;
	env.body_case = SUP__ENVELOPE__BODY_SOCKETS;
	env.sockets = &socks;
	if (wire_send(sup.broker_fd, &env.base, fds, 2) < 0)
		log_warnx("broker[%d]: cannot send sockets", (int)pid);
	log_info("broker[%d] started", (int)pid);
	supbus_report_all();
	supbus_start_all();
}

static void
supervisor_dispatch_broker(int fd, short ev, void *arg)
{
	uint8_t		 buf[WIRE_MSG_MAX + 1];
	Sup__Envelope	*env;
	ssize_t		 n;

	n = wire_recv(fd, buf, NULL, NULL);
	if (n == -EAGAIN)
		return;
	if (n <= 0) {
		/* The broker is gone; SIGCHLD brings the restart. */
		event_free(sup.ev_broker);
		sup.ev_broker = NULL;
		close(sup.broker_fd);
		sup.broker_fd = -1;
		return;
	}
	if ((env = sup__envelope__unpack(NULL, n, buf)) == NULL) {
		log_warnx("broker[%d]: garbage on the supervisor link",
		    (int)sup.broker_pid);
		kill(sup.broker_pid, SIGKILL);
		return;
	}
	switch (env->body_case) {
	case SUP__ENVELOPE__BODY_HELLO:
		log_debug("broker[%d]: hello, version %u", (int)env->hello->pid,
		    env->hello->version);
		break;
	case SUP__ENVELOPE__BODY_CONFIG_RESULT:
		if (env->config_result->ok)
			log_info("broker[%d]: config generation %llu in force",
			    (int)sup.broker_pid, (unsigned long long)
			    env->config_result->generation);
		else
			log_warnx("broker[%d]: refused config generation "
			    "%llu: %s", (int)sup.broker_pid,
			    (unsigned long long)env->config_result->generation,
			    env->config_result->message);
		break;
	default:
		log_warnx("broker[%d]: unexpected message %d",
		    (int)sup.broker_pid, (int)env->body_case);
		break;
	}
	sup__envelope__free_unpacked(env, NULL);
}

static void
supervisor_child_exit(pid_t pid, int status)
{
	struct timeval	tv;
	uint64_t	ran;
	char		how[64];

	if (WIFEXITED(status))
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "killed by signal %d",
		    WTERMSIG(status));
	else
		return;
	if (pid != sup.broker_pid) {
		if (!supbus_child_exit(pid, how, supervisor_broker_up()))
			log_info("child %d %s", (int)pid, how);
		if (sup.stopping && sup.broker_pid == 0 &&
		    supbus_running() == 0)
			event_base_loopbreak(sup.base);
		return;
	}
	sup.broker_pid = 0;
	/* The drivers' links died with the broker: new ones come with the
	 * new broker, still on the same devices. */
	supbus_stop_all();
	if (sup.ev_broker != NULL) {
		event_free(sup.ev_broker);
		sup.ev_broker = NULL;
		close(sup.broker_fd);
		sup.broker_fd = -1;
	}
	if (sup.stopping) {
		if (supbus_running() == 0)
			event_base_loopbreak(sup.base);
		return;
	}
	/* A broker that ran a while restarts at once; one that keeps dying
	 * waits longer each time, so a crash loop does not spin. */
	ran = supervisor_now_ms() - sup.started_ms;
	if (ran >= 2000)
		sup.backoff_ms = 0;
	else
		sup.backoff_ms = sup.backoff_ms == 0 ? SUP_RESTART_MIN_MS :
		    (sup.backoff_ms * 2 > SUP_RESTART_MAX_MS ?
		    SUP_RESTART_MAX_MS : sup.backoff_ms * 2);
	sup.restarts++;
	log_warnx("broker[%d] %s after %llu ms; restart %u in %u ms",
	    (int)pid, how, (unsigned long long)ran, sup.restarts,
	    sup.backoff_ms);
	tv.tv_sec = sup.backoff_ms / 1000;
	tv.tv_usec = (sup.backoff_ms % 1000) * 1000;
	evtimer_add(sup.ev_restart, &tv);
}

static void
supervisor_restart(int fd, short ev, void *arg)
{
	if (!sup.stopping && sup.broker_pid == 0)
		supervisor_start_broker();
}

static void
supervisor_sigchld(int sig, short ev, void *arg)
{
	pid_t	pid;
	int	status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		supervisor_child_exit(pid, status);
}

/* Settings that need a restart: keep the running ones, say so. */
static void
supervisor_keep_fixed(struct config *next)
{
	if (strcmp(next->handler_socket, sup.cfg.handler_socket) != 0 ||
	    strcmp(next->control_socket, sup.cfg.control_socket) != 0 ||
	    strcmp(next->runtime_dir, sup.cfg.runtime_dir) != 0 ||
	    next->handler_socket_mode != sup.cfg.handler_socket_mode ||
	    next->control_socket_mode != sup.cfg.control_socket_mode ||
	    strcmp(next->user, sup.cfg.user) != 0 ||
	    strcmp(next->group, sup.cfg.group) != 0)
		log_warnx("reload: socket paths, modes, runtime directory and "
		    "user take effect only on restart; keeping the running "
		    "ones");
	memcpy(next->runtime_dir, sup.cfg.runtime_dir, sizeof(next->runtime_dir));
	memcpy(next->handler_socket, sup.cfg.handler_socket,
	    sizeof(next->handler_socket));
	memcpy(next->control_socket, sup.cfg.control_socket,
	    sizeof(next->control_socket));
	next->handler_socket_mode = sup.cfg.handler_socket_mode;
	next->control_socket_mode = sup.cfg.control_socket_mode;
	memcpy(next->user, sup.cfg.user, sizeof(next->user));
	memcpy(next->group, sup.cfg.group, sizeof(next->group));
	next->broker_uid = sup.cfg.broker_uid;
	next->broker_gid = sup.cfg.broker_gid;
}

static void
supervisor_sighup(int sig, short ev, void *arg)
{
	struct config	*next;
	char		 err[CONFIG_ERR_MAX];

	if ((next = malloc(sizeof(*next))) == NULL) {
		log_warnx("reload: out of memory; keeping the running config");
		return;
	}
	if (config_load(next, sup.cfg.path, err, sizeof(err)) < 0) {
		log_warnx("reload failed: %s; keeping config generation %llu",
		    err, (unsigned long long)sup.cfg.generation);
		free(next);
		return;
	}
	supervisor_keep_fixed(next);
	next->generation = sup.cfg.generation + 1;
	sup.cfg = *next;
	free(next);
	log_setlevel(sup.cfg.log_level);
	log_info("reload: config generation %llu read from %s",
	    (unsigned long long)sup.cfg.generation, sup.cfg.path);
	if (sup.broker_fd >= 0 && supervisor_send_config() < 0)
		log_warnx("reload: cannot send the config to the broker");
}

static void
supervisor_sigterm(int sig, short ev, void *arg)
{
	log_info("signal %d: stopping", sig);
	sup.stopping = true;
	supbus_stop_all();
	if (sup.broker_pid > 0)
		kill(sup.broker_pid, SIGTERM);
	else if (supbus_running() == 0)
		event_base_loopbreak(sup.base);
}
