/* SPDX-License-Identifier: MIT */
/*
 * The emulator core (emu.c, emu-ops.c) on the BT kind: sessions void a
 * killed predecessor's blocked call and its stray replies, READY follows
 * a change of state, a READY arriving during a call is kept, connections
 * share one device, and the counters.
 */
#include <criterion/criterion.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "emu.h"
#include "emu-proto.h"

static char		dir[64];
static char		path[100];
static struct emu	*e;

static const uint8_t	req1[] = { 3, 0x06 << 2, 0x01, 0x01 };
static const uint8_t	req2[] = { 3, 0x06 << 2, 0x02, 0x01 };

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/emu-core-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dev.sock", dir);
	cr_assert_not_null(e = emu_start(EMU_BT, path));
}

static void
teardown(void)
{
	emu_stop(e);
	rmdir(dir);
}

TestSuite(emu_core, .init = setup, .fini = teardown, .timeout = 10);

static int
dial(void)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000l + ts.tv_nsec / 1000000l;
}

/* A child opens a session on fd, makes one call, reports, and waits to
 * be killed (or, with leave, exits without reading the reply). */
static pid_t
predecessor(int fd, uint32_t type, bool leave)
{
	struct emu_msg	m;
	int		p[2];
	pid_t		pid;
	char		c;

	cr_assert_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		if (emu_dev_ops.open(fd) == NULL)
			_exit(1);
		memset(&m, 0, EMU_MSG_HDR);
		m.type = type;
		m.arg = 256;
		if (send(fd, &m, EMU_MSG_HDR, 0) < 0)
			_exit(1);
		(void)write(p[1], "x", 1);
		if (leave)
			_exit(0);
		for (;;)
			pause();
	}
	close(p[1]);
	cr_assert_eq(read(p[0], &c, 1), 1, "the predecessor failed");
	close(p[0]);
	return pid;
}

Test(emu_core, a_new_session_voids_a_killed_predecessors_blocked_read)
{
	uint8_t	buf[256];
	void	*dev;
	pid_t	pid;
	int	fd = dial(), st;

	pid = predecessor(fd, EMU_MSG_READ, false);
	cr_assert(emu_wait_sessions(e, 1, 2000));
	kill(pid, SIGKILL);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert_not_null(dev = emu_dev_ops.open(fd));
	cr_assert_eq(emu_sessions(e), 2);
	cr_assert_eq(emu_host_request(e, req1, sizeof(req1)), 0);
	cr_assert_eq(emu_dev_ops.read(dev, buf, sizeof(buf)), 4,
	    "the request went to the dead process's read");
	cr_assert_eq(buf[2], 0x01);
	emu_dev_ops.close(dev);
}

Test(emu_core, a_new_session_discards_replies_meant_for_its_predecessor)
{
	uint8_t	buf[256];
	void	*dev;
	pid_t	pid;
	int	fd = dial(), st;

	cr_assert_eq(emu_host_request(e, req1, sizeof(req1)), 0);
	cr_assert_eq(emu_host_request(e, req2, sizeof(req2)), 0);
	pid = predecessor(fd, EMU_MSG_READ, true);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert_not_null(dev = emu_dev_ops.open(fd));
	cr_assert_eq(emu_dev_ops.read(dev, buf, sizeof(buf)), 4);
	cr_assert_eq(buf[2], 0x02, "got the predecessor's reply (seq %u)",
	    buf[2]);
	emu_dev_ops.close(dev);
}

Test(emu_core, ready_follows_a_change_of_state)
{
	void	*dev;
	short	 got;
	long	 t;

	cr_assert_not_null(dev = emu_dev_ops.open(dial()));
	cr_assert_eq(emu_dev_ops.wait(dev, POLLIN, &got, NULL, 0, 50), 0);
	cr_assert_eq(got, 0);
	cr_assert_eq(emu_host_request(e, req1, sizeof(req1)), 0);
	t = now_ms();
	cr_assert_eq(emu_dev_ops.wait(dev, POLLIN, &got, NULL, 0, 2000), 0);
	cr_assert_eq(got, POLLIN);
	cr_assert(now_ms() - t < 1000);
	emu_dev_ops.close(dev);
}

Test(emu_core, a_ready_arriving_during_a_call_is_kept_for_the_next_wait)
{
	void	*dev;
	short	 got;

	cr_assert_not_null(dev = emu_dev_ops.open(dial()));
	cr_assert_eq(emu_dev_ops.wait(dev, POLLIN, &got, NULL, 0, 0), 0);
	cr_assert_eq(got, 0);
	/* The READY is on the wire before this returns... */
	cr_assert_eq(emu_host_request(e, req1, sizeof(req1)), 0);
	/* ...so it arrives while this call waits for its RET. */
	cr_assert_eq(emu_dev_ops.ioctl(dev, 0xb100), 0);
	cr_assert_eq(emu_dev_ops.wait(dev, POLLIN, &got, NULL, 0, 0), 0);
	cr_assert_eq(got, POLLIN, "the READY was lost");
	emu_dev_ops.close(dev);
}

Test(emu_core, wait_reports_an_extra_fd_without_device_events)
{
	struct pollfd	x;
	void		*dev;
	short		 got;
	int		 p[2];

	cr_assert_not_null(dev = emu_dev_ops.open(dial()));
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(write(p[1], "x", 1), 1);
	x.fd = p[0];
	x.events = POLLIN;
	cr_assert_eq(emu_dev_ops.wait(dev, POLLIN, &got, &x, 1, 1000), 0);
	cr_assert_eq(got, 0);
	cr_assert(x.revents & POLLIN);
	close(p[0]);
	close(p[1]);
	emu_dev_ops.close(dev);
}

Test(emu_core, a_changed_watch_replaces_the_old_one)
{
	void	*dev;
	short	 got;

	cr_assert_not_null(dev = emu_dev_ops.open(dial()));
	emu_host_hold(e, true);
	cr_assert_eq(emu_dev_ops.wait(dev, POLLIN, &got, NULL, 0, 0), 0);
	cr_assert_eq(emu_dev_ops.wait(dev, POLLOUT, &got, NULL, 0, 0), 0);
	cr_assert_eq(got, 0);
	cr_assert_eq(emu_host_request(e, req1, sizeof(req1)), 0);
	cr_assert_eq(emu_dev_ops.wait(dev, POLLOUT, &got, NULL, 0, 50), 0);
	cr_assert_eq(got, 0, "a READY for the replaced POLLIN watch came");
	emu_host_hold(e, false);
	cr_assert_eq(emu_dev_ops.wait(dev, POLLOUT, &got, NULL, 0, 2000), 0);
	cr_assert_eq(got, POLLOUT);
	emu_dev_ops.close(dev);
}

Test(emu_core, connections_share_one_device)
{
	uint8_t	buf[64];
	void	*a, *b;

	cr_assert_not(emu_connected(e));
	cr_assert_not_null(a = emu_dev_ops.open(dial()));
	cr_assert_not_null(b = emu_dev_ops.open(dial()));
	cr_assert(emu_connected(e));
	cr_assert_eq(emu_sessions(e), 2);
	cr_assert_eq(emu_host_request(e, req1, sizeof(req1)), 0);
	cr_assert_eq(emu_dev_ops.read(b, buf, sizeof(buf)), 4);
	cr_assert_eq(emu_dev_ops.write(a, "\x04\x1c\x01\x01\x00", 5), 5);
	cr_assert_eq(emu_host_response(e, buf, sizeof(buf), 1000), 5);
	emu_dev_ops.close(a);
	emu_dev_ops.close(b);
}

Test(emu_core, counters_count_ioctls_by_number_writes_and_refusals)
{
	void	*dev;

	cr_assert_not_null(dev = emu_dev_ops.open(dial()));
	cr_assert_eq(emu_dev_ops.ioctl(dev, 0xb100), 0);
	cr_assert_eq(emu_dev_ops.ioctl(dev, 0xb100), 0);
	cr_assert_eq(emu_dev_ops.ioctl(dev, 0xb101), -1);
	cr_assert_eq(emu_dev_ops.write(dev, "\x01\x02", 2), -1);
	cr_assert_eq(emu_dev_ops.write(dev, "\x04\x1c\x01\x01\x00", 5), 5);
	cr_assert_eq(emu_ioctl_count(e, 0xb100), 2);
	cr_assert_eq(emu_ioctl_count(e, 0xb101), 1);
	cr_assert_eq(emu_ioctl_count(e, 0xb102), 0);
	cr_assert_eq(emu_write_count(e), 2);
	cr_assert_eq(emu_refused_count(e), 1);
	emu_dev_ops.close(dev);
}

Test(emu_core, a_closed_connection_leaves_the_device_and_its_state)
{
	uint8_t	buf[64];
	void	*dev;

	cr_assert_not_null(dev = emu_dev_ops.open(dial()));
	cr_assert_eq(emu_dev_ops.ioctl(dev, 0xb100), 0);
	emu_dev_ops.close(dev);
	cr_assert_eq(emu_host_request(e, req1, sizeof(req1)), 0);
	cr_assert_not_null(dev = emu_dev_ops.open(dial()));
	cr_assert(emu_attention(e));
	cr_assert_eq(emu_dev_ops.read(dev, buf, sizeof(buf)), 4);
	emu_dev_ops.close(dev);
}

Test(emu_core, wait_reports_a_vanished_emulator_as_a_device_error)
{
	void	*dev;
	short	 got = 0;

	cr_assert_not_null(dev = emu_dev_ops.open(dial()));
	emu_stop(e);
	e = emu_start(EMU_BT, path);
	cr_assert_eq(emu_dev_ops.wait(dev, POLLIN, &got, NULL, 0, 2000), 0);
	cr_assert(got & POLLERR, "got 0x%x", got);
	emu_dev_ops.close(dev);
}
