/* SPDX-License-Identifier: MIT */
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
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "control.pb-c.h"
#include "wire.h"
#include "ctl.h"

/*
 * ipmi-ctl: the parser and the formatters are compiled into this test and
 * called directly; then the real binary ($IPMI_CTL_BIN) runs against a fake
 * broker this test plays on a SEQPACKET socket in a temporary directory:
 * it accepts, checks Hello, answers Welcome, checks the request, and sends
 * canned answers. Assertions are on the binary's stdout, stderr and exit
 * status. Every wait is a poll() with a bound.
 */

#define WAIT_MS		5000

struct fake {
	char	dir[64];
	char	path[128];
	int	lfd;
	int	conn;
};

struct run {
	pid_t	pid;
	int	out;
	int	err;
	char	stdout_buf[8192];
	char	stderr_buf[8192];
	int	status;		/* exit code, or -1 */
};

static struct fake fake;

static void
fake_setup(void)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };

	fake.lfd = fake.conn = -1;
	strcpy(fake.dir, "/tmp/test-ctl-XXXXXX");
	cr_assert_not_null(mkdtemp(fake.dir), "mkdtemp: %s", strerror(errno));
	snprintf(fake.path, sizeof(fake.path), "%s/control.sock", fake.dir);
	strcpy(sun.sun_path, fake.path);
	fake.lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	cr_assert_geq(fake.lfd, 0);
	cr_assert_eq(bind(fake.lfd, (struct sockaddr *)&sun, sizeof(sun)), 0,
	    "bind %s: %s", fake.path, strerror(errno));
	cr_assert_eq(listen(fake.lfd, 4), 0);
}

static void
fake_teardown(void)
{
	if (fake.conn != -1)
		close(fake.conn);
	if (fake.lfd != -1)
		close(fake.lfd);
	unlink(fake.path);
	rmdir(fake.dir);
}

static void
fake_accept(void)
{
	struct pollfd	pfd = { .fd = fake.lfd, .events = POLLIN };

	cr_assert_eq(poll(&pfd, 1, WAIT_MS), 1, "ipmi-ctl never connected");
	fake.conn = accept4(fake.lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(fake.conn, 0, "accept: %s", strerror(errno));
}

/* Waits for one envelope of the given case; the caller frees it. */
static Ctl__Envelope *
fake_expect(Ctl__Envelope__BodyCase want)
{
	struct pollfd	 pfd = { .fd = fake.conn, .events = POLLIN };
	uint8_t		 buf[WIRE_MSG_MAX + 1];
	Ctl__Envelope	*env;
	ssize_t		 len;

	cr_assert_eq(poll(&pfd, 1, WAIT_MS), 1, "no message from ipmi-ctl");
	len = wire_recv(fake.conn, buf, NULL, NULL);
	cr_assert_gt(len, 0, "expected case %d, got recv %zd", want, len);
	env = ctl__envelope__unpack(NULL, len, buf);
	cr_assert_not_null(env, "ipmi-ctl sent %zd bytes that do not decode",
	    len);
	cr_assert_eq(env->body_case, want, "expected case %d, got %d", want,
	    env->body_case);
	return env;
}

static void
fake_send(Ctl__Envelope *env)
{
	cr_assert_eq(wire_send(fake.conn, &env->base, NULL, 0), 0);
}

/* Accepts, checks Hello{version 1} and answers Welcome{version 1}. */
static void
fake_welcome(void)
{
	Ctl__Envelope	 env = CTL__ENVELOPE__INIT, *hello;
	Ctl__Welcome	 w = CTL__WELCOME__INIT;

	fake_accept();
	hello = fake_expect(CTL__ENVELOPE__BODY_HELLO);
	cr_assert_eq(hello->hello->version, 1);
	ctl__envelope__free_unpacked(hello, NULL);
	w.version = 1;
	w.broker_pid = 4242;
	env.body_case = CTL__ENVELOPE__BODY_WELCOME;
	env.welcome = &w;
	fake_send(&env);
}

static void
fake_list_end(void)
{
	Ctl__Envelope	env = CTL__ENVELOPE__INIT;
	Ctl__ListEnd	end = CTL__LIST_END__INIT;

	env.body_case = CTL__ENVELOPE__BODY_LIST_END;
	env.list_end = &end;
	fake_send(&env);
}

static void
fake_send_result(uint32_t cc, const uint8_t *data, size_t len,
    const char *who)
{
	Ctl__Envelope	 env = CTL__ENVELOPE__INIT, *req;
	Ctl__SendResult	 r = CTL__SEND_RESULT__INIT;

	req = fake_expect(CTL__ENVELOPE__BODY_SEND);
	ctl__envelope__free_unpacked(req, NULL);
	r.cc = cc;
	r.data.data = (uint8_t *)data;
	r.data.len = len;
	r.handler = (char *)who;
	r.latency_us = 12;
	env.body_case = CTL__ENVELOPE__BODY_SEND_RESULT;
	env.send_result = &r;
	fake_send(&env);
}

/* Starts ipmi-ctl with argv (NULL-terminated); env_socket, if not NULL,
 * becomes its $IPMI_CTL_SOCKET. */
static void
run_start(struct run *r, const char *env_socket, const char *const *argv)
{
	const char	*bin = getenv("IPMI_CTL_BIN");
	char		*args[32];
	int		 o[2], e[2], i;

	cr_assert_not_null(bin, "IPMI_CTL_BIN is not set");
	memset(r, 0, sizeof(*r));
	cr_assert_eq(pipe2(o, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(e, O_CLOEXEC), 0);
	args[0] = (char *)bin;
	for (i = 0; argv[i] != NULL && i < 30; i++)
		args[i + 1] = (char *)argv[i];
	args[i + 1] = NULL;
	r->pid = fork();
	cr_assert_geq(r->pid, 0);
	if (r->pid == 0) {
		dup2(o[1], 1);
		dup2(e[1], 2);
		if (env_socket != NULL)
			setenv("IPMI_CTL_SOCKET", env_socket, 1);
		else
			unsetenv("IPMI_CTL_SOCKET");
		execv(bin, args);
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	r->out = o[0];
	r->err = e[0];
}

/* Reads stdout and stderr to their end and reaps the child, within
 * WAIT_MS; on timeout the child is killed and the test fails. */
static void
run_finish(struct run *r)
{
	struct pollfd	pfd[2];
	size_t		olen = 0, elen = 0;
	ssize_t		n;
	int		st, left = 2, i;
	struct timespec	t0, t1;
	long		spent;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pfd[0] = (struct pollfd){ .fd = r->out, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = r->err, .events = POLLIN };
	while (left > 0) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		spent = (t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (spent >= WAIT_MS || poll(pfd, 2, WAIT_MS - spent) == 0) {
			kill(r->pid, SIGKILL);
			waitpid(r->pid, &st, 0);
			cr_assert_fail("ipmi-ctl did not finish in time");
		}
		for (i = 0; i < 2; i++) {
			char	*buf = i == 0 ? r->stdout_buf :
			    r->stderr_buf;
			size_t	*len = i == 0 ? &olen : &elen;

			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			n = read(pfd[i].fd, buf + *len,
			    sizeof(r->stdout_buf) - 1 - *len);
			if (n > 0) {
				*len += n;
				continue;
			}
			close(pfd[i].fd);
			pfd[i].fd = -1;
			left--;
		}
	}
	r->stdout_buf[olen] = '\0';
	r->stderr_buf[elen] = '\0';
	cr_assert_eq(waitpid(r->pid, &st, 0), r->pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Unit tests of the parser and formatters. */

TestSuite(ctl_parse, .timeout = 5);

Test(ctl_parse, unique_prefix_selects_the_command)
{
	const struct ctl_token	*t;
	size_t			 n;

	t = ctl_token_match(ctl_tokens, "l", &n);
	cr_assert_not_null(t);
	cr_assert_eq(t->action, CTL_LIST);
	t = ctl_token_match(ctl_tokens, "h", &n);
	cr_assert_not_null(t);
	cr_assert_eq(t->action, CTL_HANDLERS);
	t = ctl_token_match(ctl_tokens, "sen", &n);
	cr_assert_not_null(t);
	cr_assert_eq(t->action, CTL_SEND);
}

Test(ctl_parse, exact_word_wins_and_a_longer_word_is_unknown)
{
	size_t	n;

	cr_assert_eq(ctl_token_match(ctl_tokens, "stats", &n)->action,
	    CTL_STATS);
	cr_assert_null(ctl_token_match(ctl_tokens, "listx", &n));
	cr_assert_eq(n, 0);
	cr_assert_null(ctl_token_match(ctl_tokens, "", &n));
	cr_assert_eq(n, 0);
}

Test(ctl_parse, ambiguous_prefix_lists_the_candidates)
{
	char	buf[64];
	size_t	n;

	cr_assert_null(ctl_token_match(ctl_tokens, "st", &n));
	cr_assert_eq(n, 2);
	cr_assert_eq(ctl_token_candidates(ctl_tokens, "st", buf, sizeof(buf)),
	    2);
	cr_assert_str_eq(buf, "stats, status");
}

Test(ctl_parse, ambiguous_command_line_is_an_error_naming_candidates)
{
	struct ctl_params	 p;
	char			 err[128];
	char			*argv[] = { "ipmi-ctl", "stat", NULL };

	cr_assert_eq(ctl_parse(2, argv, &p, err, sizeof(err)), CTL_E_INVALID);
	cr_assert_str_eq(err, "ambiguous command 'stat': stats, status");
}

Test(ctl_parse, hex_bytes_parse_with_or_without_0x)
{
	uint8_t	b;

	cr_assert_eq(ctl_parse_byte("0x06", &b), 0);
	cr_assert_eq(b, 6);
	cr_assert_eq(ctl_parse_byte("06", &b), 0);
	cr_assert_eq(b, 6);
	cr_assert_eq(ctl_parse_byte("6", &b), 0);
	cr_assert_eq(b, 6);
	cr_assert_eq(ctl_parse_byte("10", &b), 0);
	cr_assert_eq(b, 0x10);
	cr_assert_eq(ctl_parse_byte("0XfF", &b), 0);
	cr_assert_eq(b, 0xff);
}

Test(ctl_parse, bad_hex_bytes_are_refused)
{
	uint8_t	b = 0x5a;

	cr_assert_eq(ctl_parse_byte("100", &b), -ERANGE);
	cr_assert_eq(ctl_parse_byte("0x1ff", &b), -ERANGE);
	cr_assert_eq(ctl_parse_byte("zz", &b), -EINVAL);
	cr_assert_eq(ctl_parse_byte("1zz", &b), -EINVAL);
	cr_assert_eq(ctl_parse_byte("", &b), -EINVAL);
	cr_assert_eq(ctl_parse_byte("0x", &b), -EINVAL);
	cr_assert_eq(ctl_parse_byte("-1", &b), -EINVAL);
	cr_assert_eq(ctl_parse_byte(" 1", &b), -EINVAL);
	cr_assert_eq(b, 0x5a);
}

Test(ctl_parse, send_takes_options_netfn_cmd_and_data)
{
	struct ctl_params	 p;
	char			 err[128];
	char			*argv[] = { "ipmi-ctl", "send", "--channel",
	    "3",
	    "-l", "2", "0x2e", "1", "57", "01", "0", "--json", NULL };

	cr_assert_eq(ctl_parse(12, argv, &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.action, CTL_SEND);
	cr_assert(p.json);
	cr_assert(p.has_channel);
	cr_assert_eq(p.channel, 3);
	cr_assert_eq(p.lun, 2);
	cr_assert_eq(p.netfn, 0x2e);
	cr_assert_eq(p.cmd, 0x01);
	cr_assert_eq(p.datalen, 3);
	cr_assert_eq(p.data[0], 0x57);
	cr_assert_eq(p.data[1], 0x01);
	cr_assert_eq(p.data[2], 0x00);
}

Test(ctl_parse, odd_netfn_is_refused_with_a_reason)
{
	struct ctl_params	 p;
	char			 err[128];
	char			*argv[] = { "ipmi-ctl", "send", "7", "1",
	    NULL };

	cr_assert_eq(ctl_parse(4, argv, &p, err, sizeof(err)), CTL_E_INVALID);
	cr_assert_str_eq(err, "netfn 0x07 is odd: requests use even netfns");
}

Test(ctl_parse, netfn_above_0x3e_is_refused)
{
	struct ctl_params	 p;
	char			 err[128];
	char			*argv[] = { "ipmi-ctl", "send", "0x40", "1",
	    NULL };

	cr_assert_eq(ctl_parse(4, argv, &p, err, sizeof(err)), CTL_E_INVALID);
	cr_assert_str_eq(err,
	    "netfn 0x40 is out of range: request netfns are 0x00-0x3e");
}

Test(ctl_parse, bad_data_byte_is_named_by_position)
{
	struct ctl_params	 p;
	char			 err[128];
	char			*argv[] = { "ipmi-ctl", "send", "6", "1",
	    "00",
	    "0x100", NULL };

	cr_assert_eq(ctl_parse(6, argv, &p, err, sizeof(err)), CTL_E_INVALID);
	cr_assert_str_eq(err, "data byte 2 '0x100' is not a hex byte (00-ff)");
}

Test(ctl_parse, socket_comes_from_option_then_environment_then_default)
{
	struct ctl_params	 p;
	char			 err[128];
	char			*a1[] = { "ipmi-ctl", "list", NULL };
	char			*a2[] = { "ipmi-ctl", "-s", "/x.sock",
	    "list",
	    NULL };

	unsetenv("IPMI_CTL_SOCKET");
	cr_assert_eq(ctl_parse(2, a1, &p, err, sizeof(err)), 0);
	cr_assert_str_eq(p.socket, "/run/ipmi-broker/control.sock");
	setenv("IPMI_CTL_SOCKET", "/env.sock", 1);
	cr_assert_eq(ctl_parse(2, a1, &p, err, sizeof(err)), 0);
	cr_assert_str_eq(p.socket, "/env.sock");
	cr_assert_eq(ctl_parse(4, a2, &p, err, sizeof(err)), 0);
	cr_assert_str_eq(p.socket, "/x.sock");
}

Test(ctl_parse, unknown_command_asks_for_usage)
{
	struct ctl_params	 p;
	char			 err[128];
	char			*argv[] = { "ipmi-ctl", "frobnicate",
	    NULL };

	cr_assert_eq(ctl_parse(2, argv, &p, err, sizeof(err)), CTL_E_USAGE);
	cr_assert_str_eq(err, "unknown command 'frobnicate'");
}

TestSuite(ctl_format, .timeout = 5);

Test(ctl_format, lun_masks_read_all_or_a_list)
{
	char	buf[64];

	ctl_fmt_luns(0x0f, buf, sizeof(buf));
	cr_assert_str_eq(buf, "all");
	ctl_fmt_luns(0x05, buf, sizeof(buf));
	cr_assert_str_eq(buf, "0,2");
	ctl_fmt_luns(0x01, buf, sizeof(buf));
	cr_assert_str_eq(buf, "0");
	ctl_fmt_luns(0x07, buf, sizeof(buf));
	cr_assert_str_eq(buf, "0-2");
}

Test(ctl_format, channel_masks_read_all_a_list_or_ranges)
{
	char	buf[64];

	ctl_fmt_channels(0xffff, buf, sizeof(buf));
	cr_assert_str_eq(buf, "all");
	ctl_fmt_channels(0x8002, buf, sizeof(buf));
	cr_assert_str_eq(buf, "1,15");
	ctl_fmt_channels(0x000f, buf, sizeof(buf));
	cr_assert_str_eq(buf, "0-3");
	ctl_fmt_channels(0x0003, buf, sizeof(buf));
	cr_assert_str_eq(buf, "0,1");
	ctl_fmt_channels(0x7f0b, buf, sizeof(buf));
	cr_assert_str_eq(buf, "0,1,3,8-14");
	ctl_fmt_channels(0, buf, sizeof(buf));
	cr_assert_str_eq(buf, "none");
}

Test(ctl_format, latencies_read_in_human_units)
{
	char	buf[32];

	ctl_fmt_usec(85, buf, sizeof(buf));
	cr_assert_str_eq(buf, "85us");
	ctl_fmt_usec(1234, buf, sizeof(buf));
	cr_assert_str_eq(buf, "1.2ms");
	ctl_fmt_usec(350000, buf, sizeof(buf));
	cr_assert_str_eq(buf, "350ms");
	ctl_fmt_usec(4000000, buf, sizeof(buf));
	cr_assert_str_eq(buf, "4.0s");
	ctl_fmt_usec(12000000, buf, sizeof(buf));
	cr_assert_str_eq(buf, "12s");
	ctl_fmt_uptime(7500000, buf, sizeof(buf));
	cr_assert_str_eq(buf, "2h05m");
}

Test(ctl_format, completion_codes_have_their_standard_names)
{
	cr_assert_str_eq(ctl_cc_name(0xc1), "invalid command");
	cr_assert_str_eq(ctl_cc_name(0xd4), "insufficient privilege");
	cr_assert_str_eq(ctl_cc_name(0xff), "unspecified");
	cr_assert_str_eq(ctl_cc_name(0x81), "command specific");
}

Test(ctl_format, json_strings_are_escaped_and_kept_valid_utf8)
{
	char	*s = NULL;
	size_t	 len = 0;
	FILE	*f;

	f = open_memstream(&s, &len);
	cr_assert_not_null(f);
	ctl_json_string(f, "a\"b\\c\n\x01 \xc3\xa9 \xff\xc3");
	fclose(f);
	cr_assert_str_eq(s,
	    "\"a\\\"b\\\\c\\n\\u0001 \xc3\xa9 \\ufffd\\ufffd\"");
	free(s);
}

Test(ctl_format, untrusted_names_lose_control_characters_in_text)
{
	Ctl__HandlerInfo	 h = CTL__HANDLER_INFO__INIT;
	struct ctl_out		*o;
	char			*s = NULL;
	size_t			 len = 0;
	FILE			*f;

	h.name = "evil\x1b[2J\xc2\x9b\xff";
	h.pid = 7;
	o = ctl_out_new(CTL_HANDLERS, 0);
	cr_assert_not_null(o);
	ctl_out_handler(o, &h);
	f = open_memstream(&s, &len);
	cr_assert_eq(ctl_out_finish(o, f), 0);
	fclose(f);
	ctl_out_free(o);
	cr_assert_str_eq(s,
	    "NAME         PID  UID  GID  REGS  INFLIGHT  SERVED  FALLBACKS  "
	    "LATE  SENT  CONNECTED  DEFAULT\n"
	    "evil?[2J???  7    0    0    0     0         0       0          "
	    "0     0     0ms        no\n");
	free(s);
}

/* End to end: the real binary against the fake broker. */

TestSuite(ctl_run, .init = fake_setup, .fini = fake_teardown,
    .timeout = 15);

Test(ctl_run, send_prints_response_bytes_like_ipmitool_raw)
{
	static const uint8_t	 data[17] = { 0x20, 0x01, 0x00, 0x48, 0x02,
	    0x9f, 0x91, 0x12, 0x00, 0x02, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00,
	    0x11 };
	struct run		 r;
	const char		*argv[] = { "-s", fake.path, "send", "6", "1",
	    NULL };

	run_start(&r, NULL, argv);
	fake_welcome();
	fake_send_result(0x00, data, sizeof(data), "app");
	run_finish(&r);
	cr_assert_str_eq(r.stdout_buf,
	    " 20 01 00 48 02 9f 91 12 00 02 0f 00 00 00 00 00\n 11\n");
	cr_assert_str_eq(r.stderr_buf, "");
	cr_assert_eq(r.status, 0);
}

Test(ctl_run, send_carries_channel_lun_and_data_to_the_broker)
{
	Ctl__Envelope	*req;
	struct run	 r;
	const char	*argv[] = { "send", "-c", "3", "--lun", "1", "0x2e",
	    "0x01", "57", "01", "00", "-s", fake.path, NULL };

	run_start(&r, NULL, argv);
	fake_welcome();
	req = fake_expect(CTL__ENVELOPE__BODY_SEND);
	cr_assert_eq(req->send->netfn, 0x2e);
	cr_assert_eq(req->send->cmd, 0x01);
	cr_assert_eq(req->send->lun, 1);
	cr_assert(req->send->has_channel);
	cr_assert_eq(req->send->channel, 3);
	cr_assert_eq(req->send->data.len, 3);
	cr_assert_eq(memcmp(req->send->data.data, "\x57\x01\x00", 3), 0);
	ctl__envelope__free_unpacked(req, NULL);
	close(fake.conn);
	fake.conn = -1;
	run_finish(&r);
	cr_assert_str_eq(r.stderr_buf,
	    "ipmi-ctl: broker closed the connection\n");
	cr_assert_eq(r.status, 2);
}

Test(ctl_run, send_with_cc_c1_names_the_code_and_exits_1)
{
	struct run	r;
	const char	*argv[] = { "-s", fake.path, "send", "0x06", "0x55",
	    NULL };

	run_start(&r, NULL, argv);
	fake_welcome();
	fake_send_result(0xc1, NULL, 0, "broker");
	run_finish(&r);
	cr_assert_str_eq(r.stdout_buf, "");
	cr_assert_str_eq(r.stderr_buf,
	    "ipmi-ctl: completion code 0xc1 (invalid command) from broker\n");
	cr_assert_eq(r.status, 1);
}

Test(ctl_run, send_json_prints_cc_data_handler_and_latency)
{
	static const uint8_t	 data[2] = { 0x57, 0x01 };
	struct run		 r;
	const char		*argv[] = { "--json", "-s", fake.path, "se",
	    "2c", "0", NULL };

	run_start(&r, NULL, argv);
	fake_welcome();
	fake_send_result(0xc1, data, sizeof(data), "broker");
	run_finish(&r);
	cr_assert_str_eq(r.stdout_buf, "{\"cc\":193,\"data\":[87,1],"
	    "\"handler\":\"broker\",\"latency_us\":12}\n");
	cr_assert_eq(r.status, 1);
}

static void
fake_registrations(void)
{
	Ctl__Envelope		 env = CTL__ENVELOPE__INIT, *req;
	Ctl__Registration	 a = CTL__REGISTRATION__INIT;
	Ctl__Registration	 b = CTL__REGISTRATION__INIT;
	Ctl__Registration	 d = CTL__REGISTRATION__INIT;

	req = fake_expect(CTL__ENVELOPE__BODY_LIST_REGISTRATIONS);
	ctl__envelope__free_unpacked(req, NULL);
	a.netfn = 0x06;
	a.cmd = 0x01;
	a.lun_mask = 0x0f;
	a.channel_mask = 0xffff;
	a.handler = "app";
	a.pid = 100;
	a.served = 5;
	b.netfn = 0x2e;
	b.any_cmd = 1;
	b.iana = 7154;
	b.lun_mask = 0x05;
	b.channel_mask = 0x8002;
	b.handler = "oem-example";
	b.pid = 2345;
	b.uid = 1000;
	b.gid = 1000;
	b.served = 123456;
	b.fallbacks = 2;
	b.deadline_ms = 500;
	d.is_default = 1;
	d.any_cmd = 1;
	d.lun_mask = 0x0f;
	d.channel_mask = 0xffff;
	d.handler = "canned";
	d.pid = 77;
	env.body_case = CTL__ENVELOPE__BODY_REGISTRATION;
	env.registration = &a;
	fake_send(&env);
	env.registration = &b;
	fake_send(&env);
	env.registration = &d;
	fake_send(&env);
	fake_list_end();
}

Test(ctl_run, list_prints_an_aligned_table)
{
	struct run	r;
	const char	*argv[] = { "-s", fake.path, "l", NULL };

	run_start(&r, NULL, argv);
	fake_welcome();
	fake_registrations();
	run_finish(&r);
	cr_assert_str_eq(r.stdout_buf,
	    "NETFN    CMD   LUNS  IANA/BODY  CHANNELS  HANDLER      PID   "
	    "UID   SERVED  FALLBACKS  DEADLINE\n"
	    "0x06     0x01  all   -          all       app          100   "
	    "0     5       0          bus\n"
	    "0x2e     any   0,2   iana 7154  1,15      oem-example  2345  "
	    "1000  123456  2          500ms\n"
	    "default  any   all   -          all       canned       77    "
	    "0     0       0          bus\n");
	cr_assert_str_eq(r.stderr_buf, "");
	cr_assert_eq(r.status, 0);
}

Test(ctl_run, list_json_prints_an_array_of_objects)
{
	struct run	r;
	const char	*argv[] = { "list", "-s", fake.path, "--json", NULL };

	run_start(&r, NULL, argv);
	fake_welcome();
	fake_registrations();
	run_finish(&r);
	cr_assert_str_eq(r.stdout_buf, "[\n"
	    "{\"netfn\":6,\"cmd\":1,\"luns\":[0,1,2,3],\"iana\":null,"
	    "\"body\":null,\"channels\":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,"
	    "15],\"handler\":\"app\",\"pid\":100,\"uid\":0,\"gid\":0,"
	    "\"served\":5,\"fallbacks\":0,\"deadline_ms\":0,"
	    "\"default\":false},\n"
	    "{\"netfn\":46,\"cmd\":null,\"luns\":[0,2],\"iana\":7154,"
	    "\"body\":null,\"channels\":[1,15],\"handler\":\"oem-example\","
	    "\"pid\":2345,\"uid\":1000,\"gid\":1000,\"served\":123456,"
	    "\"fallbacks\":2,\"deadline_ms\":500,\"default\":false},\n"
	    "{\"netfn\":0,\"cmd\":null,\"luns\":[0,1,2,3],\"iana\":null,"
	    "\"body\":null,\"channels\":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,"
	    "15],\"handler\":\"canned\",\"pid\":77,\"uid\":0,\"gid\":0,"
	    "\"served\":0,\"fallbacks\":0,\"deadline_ms\":0,"
	    "\"default\":true}\n"
	    "]\n");
	cr_assert_eq(r.status, 0);
}

Test(ctl_run, status_uses_the_socket_from_the_environment)
{
	Ctl__Envelope	 env = CTL__ENVELOPE__INIT, *req;
	Ctl__Status	 s = CTL__STATUS__INIT;
	struct run	 r;
	const char	*argv[] = { "status", NULL };

	run_start(&r, fake.path, argv);
	fake_welcome();
	req = fake_expect(CTL__ENVELOPE__BODY_GET_STATUS);
	ctl__envelope__free_unpacked(req, NULL);
	s.broker_pid = 4242;
	s.uptime_ms = 3723000;
	s.config_generation = 2;
	s.config_path = "/etc/ipmi-broker/broker.conf";
	s.handlers = 3;
	s.registrations = 17;
	s.requests = 999;
	s.default_route = "cc 0xc1";
	s.version = "0.1.0";
	env.body_case = CTL__ENVELOPE__BODY_STATUS;
	env.status = &s;
	fake_send(&env);
	run_finish(&r);
	cr_assert_str_eq(r.stdout_buf,
	    "broker pid:         4242\n"
	    "version:            0.1.0\n"
	    "uptime:             1h02m\n"
	    "config generation:  2\n"
	    "config path:        /etc/ipmi-broker/broker.conf\n"
	    "handlers:           3\n"
	    "registrations:      17\n"
	    "in flight:          0\n"
	    "requests:           999\n"
	    "default route:      cc 0xc1\n");
	cr_assert_eq(r.status, 0);
}

Test(ctl_run, result_error_prints_its_message_and_exits_1)
{
	Ctl__Envelope	 env = CTL__ENVELOPE__INIT, *req;
	Ctl__Result	 res = CTL__RESULT__INIT;
	struct run	 r;
	const char	*argv[] = { "-s", fake.path, "buses", NULL };

	run_start(&r, NULL, argv);
	fake_welcome();
	req = fake_expect(CTL__ENVELOPE__BODY_LIST_BUSES);
	ctl__envelope__free_unpacked(req, NULL);
	res.code = CTL__CODE__BUSY;
	res.message = "too many control clients";
	env.body_case = CTL__ENVELOPE__BODY_RESULT;
	env.result = &res;
	fake_send(&env);
	run_finish(&r);
	cr_assert_str_eq(r.stdout_buf, "");
	cr_assert_str_eq(r.stderr_buf,
	    "ipmi-ctl: buses: too many control clients\n");
	cr_assert_eq(r.status, 1);
}

Test(ctl_run, garbage_from_the_broker_is_reported_and_exits_2)
{
	static const uint8_t	 junk[] = { 0xff, 0xff, 0xff, 0xff };
	struct run		 r;
	const char		*argv[] = { "-s", fake.path, "handlers",
	    NULL };

	run_start(&r, NULL, argv);
	fake_welcome();
	ctl__envelope__free_unpacked(
	    fake_expect(CTL__ENVELOPE__BODY_LIST_HANDLERS), NULL);
	cr_assert_eq(wire_send_raw(fake.conn, junk, sizeof(junk), NULL, 0), 0);
	run_finish(&r);
	cr_assert_str_eq(r.stdout_buf, "");
	cr_assert_str_eq(r.stderr_buf, "ipmi-ctl: garbage from broker: "
	    "4 bytes that do not decode\n");
	cr_assert_eq(r.status, 2);
}

Test(ctl_run, unexpected_record_is_garbage)
{
	Ctl__Envelope	 env = CTL__ENVELOPE__INIT;
	Ctl__Counter	 c = CTL__COUNTER__INIT;
	struct run	 r;
	const char	*argv[] = { "-s", fake.path, "list", NULL };

	run_start(&r, NULL, argv);
	fake_welcome();
	ctl__envelope__free_unpacked(
	    fake_expect(CTL__ENVELOPE__BODY_LIST_REGISTRATIONS), NULL);
	c.name = "x";
	env.body_case = CTL__ENVELOPE__BODY_COUNTER;
	env.counter = &c;
	fake_send(&env);
	run_finish(&r);
	cr_assert_str_eq(r.stderr_buf, "ipmi-ctl: garbage from broker: "
	    "unexpected counter in answer to list\n");
	cr_assert_eq(r.status, 2);
}

Test(ctl_run, broker_down_says_so_and_exits_2)
{
	struct run	r;
	char		path[160], want[320];
	const char	*argv[] = { "-s", path, "list", NULL };

	snprintf(path, sizeof(path), "%s/missing.sock", fake.dir);
	run_start(&r, NULL, argv);
	run_finish(&r);
	snprintf(want, sizeof(want), "ipmi-ctl: cannot connect to %s: "
	    "No such file or directory (is ipmi-brokerd running?)\n", path);
	cr_assert_str_eq(r.stdout_buf, "");
	cr_assert_str_eq(r.stderr_buf, want);
	cr_assert_eq(r.status, 2);
}

Test(ctl_run, send_verbose_says_who_answered_on_stderr)
{
	static const uint8_t	 data[1] = { 0x01 };
	struct run		 r;
	const char		*argv[] = { "-v", "-s", fake.path, "send",
	    "6",
	    "0x38", "0e", "04", NULL };

	run_start(&r, NULL, argv);
	fake_welcome();
	fake_send_result(0x00, data, sizeof(data), "app");
	run_finish(&r);
	cr_assert_str_eq(r.stdout_buf, " 01\n");
	cr_assert_str_eq(r.stderr_buf, "ipmi-ctl: answered by app in 12us\n");
	cr_assert_eq(r.status, 0);
}

Test(ctl_run, stats_prints_commands_then_counters)
{
	Ctl__Envelope	 env = CTL__ENVELOPE__INIT;
	Ctl__CommandStat s = CTL__COMMAND_STAT__INIT;
	Ctl__Counter	 c = CTL__COUNTER__INIT;
	struct run	 r;
	const char	*argv[] = { "-s", fake.path, "stats", NULL };

	run_start(&r, NULL, argv);
	fake_welcome();
	ctl__envelope__free_unpacked(
	    fake_expect(CTL__ENVELOPE__BODY_GET_STATS), NULL);
	s.netfn = 0x2c;
	s.body = 0xdc;
	s.count = 1000;
	s.fallbacks = 1000;
	s.p50_us = 85;
	s.p90_us = 1234;
	s.p99_us = 45000;
	s.max_us = 2500000;
	env.body_case = CTL__ENVELOPE__BODY_COMMAND_STAT;
	env.command_stat = &s;
	fake_send(&env);
	c.name = "host_requests";
	c.value = 1000;
	env.body_case = CTL__ENVELOPE__BODY_COUNTER;
	env.counter = &c;
	fake_send(&env);
	fake_list_end();
	run_finish(&r);
	cr_assert_str_eq(r.stdout_buf,
	    "NETFN  CMD   IANA/BODY  COUNT  FALLBACKS  P50   P90    P99   "
	    "MAX\n"
	    "0x2c   0x00  body 0xdc  1000   1000       85us  1.2ms  45ms  "
	    "2.5s\n"
	    "\n"
	    "NAME           VALUE\n"
	    "host_requests  1000\n");
	cr_assert_eq(r.status, 0);
}
