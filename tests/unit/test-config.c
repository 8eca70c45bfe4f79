/* SPDX-License-Identifier: MIT */
/*
 * config: the INI loader, its error messages (file:line and wording), the
 * ACL decision, and the sup.Config round trip. Each test writes its config
 * into a private temporary directory made by the suite's setup.
 */

#include <sys/stat.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "config.h"
#include "log.h"

static char	tmpdir[256];
static char	conf[PATH_MAX];		/* the file the last write used */
static char	err[CONFIG_ERR_MAX];
static struct config	*cfg;

static void
setup(void)
{
	const char	*base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/test-config-XXXXXX",
	    base != NULL ? base : "/tmp");
	cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
	cfg = calloc(1, sizeof(*cfg));
	cr_assert_not_null(cfg);
	err[0] = '\0';
}

static void
teardown(void)
{
	if (conf[0] != '\0')
		unlink(conf);
	conf[0] = '\0';
	rmdir(tmpdir);
	free(cfg);
}

TestSuite(config, .init = setup, .fini = teardown, .timeout = 10);

/* Write text to a new file in tmpdir; its path is left in conf. */
static void
write_conf(const char *text)
{
	FILE	*fp;
	int	 fd;

	if (conf[0] != '\0')
		unlink(conf);
	snprintf(conf, sizeof(conf), "%s/conf-XXXXXX", tmpdir);
	fd = mkstemp(conf);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	fp = fdopen(fd, "w");
	cr_assert_not_null(fp);
	cr_assert_eq(fputs(text, fp) >= 0, true);
	cr_assert_eq(fclose(fp), 0);
}

static int
load(const char *text)
{
	write_conf(text);
	return config_load(cfg, conf, err, sizeof(err));
}

/* Loading text fails with exactly "conf:line: msg". */
static void
assert_load_error(const char *text, int line, const char *msg)
{
	char	want[CONFIG_ERR_MAX + PATH_MAX];

	cr_assert_eq(load(text), -1, "loaded, but expected line %d: %s",
	    line, msg);
	snprintf(want, sizeof(want), "%s:%d: %s", conf, line, msg);
	cr_assert_str_eq(err, want, "expected '%s', got '%s'", want, err);
}

static void
load_ok(const char *text)
{
	cr_assert_eq(load(text), 0, "load failed: %s", err);
}

/* The shipped example, found from this file's own path. */
static void
shipped_conf_path(char *buf, size_t len)
{
	char	src[PATH_MAX], exe[PATH_MAX];
	ssize_t	n;

	snprintf(src, sizeof(src), "%s", __FILE__);
	if (src[0] == '/') {
		snprintf(buf, len, "%s/../../conf/ipmi-broker.conf",
		    dirname(src));
		return;
	}
	/* Relative to the build root, which is two above this binary. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert_gt(n, 0, "readlink: %s", strerror(errno));
	exe[n] = '\0';
	snprintf(buf, len, "%s/../../%s/../../conf/ipmi-broker.conf",
	    dirname(exe), dirname(src));
}

Test(config, defaults_are_the_documented_values)
{
	config_defaults(cfg);
	cr_assert_str_eq(cfg->runtime_dir, "/run/ipmi-broker");
	cr_assert_str_eq(cfg->handler_socket, "/run/ipmi-broker/handler.sock");
	cr_assert_str_eq(cfg->control_socket, "/run/ipmi-broker/control.sock");
	cr_assert_eq(cfg->handler_socket_mode, 0666);
	cr_assert_eq(cfg->control_socket_mode, 0660);
	cr_assert_str_empty(cfg->user);
	cr_assert_eq(cfg->broker_uid, getuid());
	cr_assert_eq(cfg->log_level, LOG_LVL_INFO);
	cr_assert_eq(cfg->max_handlers, 1024);
	cr_assert_eq(cfg->max_controls, 64);
	cr_assert_eq(cfg->deadline_ms, 3000);
	cr_assert_eq(cfg->max_deadline_ms, 4000);
	cr_assert_eq(cfg->inflight_total, 4096);
	cr_assert_eq(cfg->inflight_per_handler, 1024);
	cr_assert_eq(cfg->inflight_per_bus, 64);
	cr_assert_eq(cfg->max_registrations, 16384);
	cr_assert_eq(cfg->max_payload, 1024);
	cr_assert_eq(cfg->fallback.no_handler, 0xc1);
	cr_assert_eq(cfg->fallback.timeout, 0xc3);
	cr_assert_eq(cfg->fallback.disconnected, 0xce);
	cr_assert_eq(cfg->fallback.busy, 0xc0);
	cr_assert_eq(cfg->fallback.short_oem, 0xc7);
	cr_assert_eq(cfg->fallback.too_large, 0xca);
	cr_assert_str_empty(cfg->default_route.handler);
	cr_assert(cfg->default_route.any_uid && cfg->default_route.any_gid);
	cr_assert_eq(cfg->default_route.code, 0xc1);
	cr_assert_eq(cfg->n_acl, 0);
	cr_assert_eq(cfg->ctl_channel, 0x0f);
	cr_assert_eq(cfg->ctl_max_response, 1000);
	cr_assert_eq(cfg->internal_channel, 0x0d);
	cr_assert_eq(cfg->n_bus, 0);
}

Test(config, shipped_config_loads_and_states_the_defaults)
{
	struct config	*def;
	char		 path[PATH_MAX];

	shipped_conf_path(path, sizeof(path));
	cr_assert_eq(config_load(cfg, path, err, sizeof(err)), 0,
	    "%s", err);
	def = calloc(1, sizeof(*def));
	cr_assert_not_null(def);
	config_defaults(def);
	cr_assert_str_eq(cfg->path, path);
	memset(cfg->path, 0, sizeof(cfg->path));
	cr_assert_eq(memcmp(cfg, def, sizeof(*def)), 0,
	    "shipped config differs from config_defaults()");
	free(def);
}

Test(config, empty_file_gives_the_defaults)
{
	load_ok("");
	cr_assert_str_eq(cfg->path, conf);
	cr_assert_str_eq(cfg->handler_socket, "/run/ipmi-broker/handler.sock");
	cr_assert_eq(cfg->deadline_ms, 3000);
}

Test(config, values_are_read_in_decimal_hex_and_octal_modes)
{
	load_ok("[broker]\n"
	    "handler_socket_mode = 0600\n"
	    "control_socket_mode = 0\n"
	    "log_level = debug\n"
	    "max_handlers = 0x10\n"
	    "[limits]\n"
	    "deadline_ms = 250\n"
	    "max_payload = 0x100\n"
	    "[fallback]\n"
	    "timeout = 255\n"
	    "busy = 0xff\n"
	    "[ctl]\n"
	    "channel = 7\n"
	    "max_response = 200\n"
	    "[internal]\n"
	    "channel = 0xe\n");
	cr_assert_eq(cfg->handler_socket_mode, 0600);
	cr_assert_eq(cfg->control_socket_mode, 0);
	cr_assert_eq(cfg->log_level, LOG_LVL_DEBUG);
	cr_assert_eq(cfg->max_handlers, 16);
	cr_assert_eq(cfg->deadline_ms, 250);
	cr_assert_eq(cfg->max_payload, 256);
	cr_assert_eq(cfg->fallback.timeout, 0xff);
	cr_assert_eq(cfg->fallback.busy, 0xff);
	cr_assert_eq(cfg->ctl_channel, 7);
	cr_assert_eq(cfg->ctl_max_response, 200);
	cr_assert_eq(cfg->internal_channel, 14);
}

Test(config, indented_keys_and_inline_comments_are_plain_keys)
{
	load_ok("; a comment\n"
	    "# another\n"
	    "[limits]   ; section comment\n"
	    "    deadline_ms = 1500      ; inline\n"
	    "\tinflight_per_bus = 8\n");
	cr_assert_eq(cfg->deadline_ms, 1500);
	cr_assert_eq(cfg->inflight_per_bus, 8);
}

Test(config, byte_order_mark_and_crlf_line_ends_are_accepted)
{
	load_ok("\xef\xbb\xbf[limits]\r\ndeadline_ms = 42\r\n"
	    "  max_payload = 2000 \r\n");
	cr_assert_eq(cfg->deadline_ms, 42);
	cr_assert_eq(cfg->max_payload, 2000);
}

Test(config, relative_sockets_go_under_runtime_dir_absolute_stay)
{
	load_ok("[broker]\n"
	    "handler_socket = h.sock\n"
	    "control_socket = /tmp/elsewhere/c.sock\n"
	    "runtime_dir = /run/test-broker\n");
	cr_assert_str_eq(cfg->runtime_dir, "/run/test-broker");
	cr_assert_str_eq(cfg->handler_socket, "/run/test-broker/h.sock");
	cr_assert_str_eq(cfg->control_socket, "/tmp/elsewhere/c.sock");
}

Test(config, runtime_dir_alone_moves_both_default_sockets)
{
	load_ok("[broker]\nruntime_dir = /tmp/rd\n");
	cr_assert_str_eq(cfg->handler_socket, "/tmp/rd/handler.sock");
	cr_assert_str_eq(cfg->control_socket, "/tmp/rd/control.sock");
}

Test(config, broker_user_root_resolves_with_its_primary_group)
{
	load_ok("[broker]\nuser = root\n");
	cr_assert_str_eq(cfg->user, "root");
	cr_assert_eq(cfg->broker_uid, 0);
	cr_assert_eq(cfg->broker_gid, 0);
}

Test(config, broker_numeric_user_and_group_are_taken_as_ids)
{
	load_ok("[broker]\nuser = 4242\ngroup = 4343\n");
	cr_assert_eq(cfg->broker_uid, 4242);
	cr_assert_eq(cfg->broker_gid, 4343);
}

Test(config, numeric_broker_user_without_passwd_entry_needs_a_group)
{
	assert_load_error("[broker]\nuser = 3999999\n", 2,
	    "[broker] user: '3999999' has no passwd entry to take a group "
	    "from; set group");
}

Test(config, acl_section_is_parsed)
{
	load_ok("[acl oem]\n"
	    "user = 1000\n"
	    "netfn = 0x30-0x3e, 0x06\n"
	    "iana = 7154, 0x00a2b3-0x00a2b4\n"
	    "body = 0x00, 0xdc\n"
	    "[acl sel]\n"
	    "group = 0\n"
	    "netfn = 0x0a\n");
	cr_assert_eq(cfg->n_acl, 2);
	cr_assert_str_eq(cfg->acl[0].name, "oem");
	cr_assert_not(cfg->acl[0].any_uid);
	cr_assert_eq(cfg->acl[0].uid, 1000);
	cr_assert(cfg->acl[0].any_gid);
	cr_assert_eq(cfg->acl[0].n_netfn, 2);
	cr_assert_eq(cfg->acl[0].netfn[0].lo, 0x30);
	cr_assert_eq(cfg->acl[0].netfn[0].hi, 0x3e);
	cr_assert_eq(cfg->acl[0].netfn[1].lo, 0x06);
	cr_assert_eq(cfg->acl[0].netfn[1].hi, 0x06);
	cr_assert_eq(cfg->acl[0].n_iana, 2);
	cr_assert_eq(cfg->acl[0].iana[0].lo, 7154);
	cr_assert_eq(cfg->acl[0].iana[1].lo, 0xa2b3);
	cr_assert_eq(cfg->acl[0].iana[1].hi, 0xa2b4);
	cr_assert_eq(cfg->acl[0].n_body, 2);
	cr_assert_eq(cfg->acl[0].body[1].lo, 0xdc);
	cr_assert(cfg->acl[1].any_uid);
	cr_assert_not(cfg->acl[1].any_gid);
	cr_assert_eq(cfg->acl[1].gid, 0);
}

Test(config, bus_without_device_names_its_section)
{
	assert_load_error("[limits]\n[bus b]\ndriver = kcs\n", 2,
	    "[bus b] needs a device");
}

Test(config, bus_section_is_parsed)
{
	load_ok("[bus host-bt]\n"
	    "driver = bt\n"
	    "device = /dev/ipmi-bt-host\n"
	    "channel = 0x0f\n"
	    "deadline_ms = 2000\n"
	    "max_inflight = 1\n"
	    "user = root\n"
	    "[bus vm0]\n"
	    "driver = vm\n"
	    "device = 127.0.0.1:9002\n");
	cr_assert_eq(cfg->n_bus, 2);
	cr_assert_str_eq(cfg->bus[0].name, "host-bt");
	cr_assert_str_eq(cfg->bus[0].driver, "bt");
	cr_assert_str_eq(cfg->bus[0].device, "/dev/ipmi-bt-host");
	cr_assert_eq(cfg->bus[0].channel, 15);
	cr_assert_eq(cfg->bus[0].deadline_ms, 2000);
	cr_assert_eq(cfg->bus[0].max_inflight, 1);
	cr_assert_str_eq(cfg->bus[0].user, "root");
	cr_assert_str_eq(cfg->bus[1].driver, "vm");
	cr_assert_eq(cfg->bus[1].deadline_ms, 0);
}

Test(config, default_route_with_handler_and_user_loads)
{
	load_ok("[default_route]\nhandler = fallback\nuser = 1234\n"
	    "code = 0xD5\n");
	cr_assert_str_eq(cfg->default_route.handler, "fallback");
	cr_assert_not(cfg->default_route.any_uid);
	cr_assert_eq(cfg->default_route.uid, 1234);
	cr_assert(cfg->default_route.any_gid);
	cr_assert_eq(cfg->default_route.code, 0xd5);
}

Test(config, missing_file_is_reported_at_line_zero)
{
	char	path[PATH_MAX + 32], want[PATH_MAX + 128];

	snprintf(path, sizeof(path), "%s/no-such.conf", tmpdir);
	cr_assert_eq(config_load(cfg, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:0: cannot open: %s", path,
	    strerror(ENOENT));
	cr_assert_str_eq(err, want);
}

Test(config, failed_load_leaves_the_config_unchanged)
{
	config_defaults(cfg);
	cfg->deadline_ms = 1234;
	assert_load_error("[limits]\ndeadline_ms = 99\nfoo = 1\n", 3,
	    "unknown key 'foo' in [limits]");
	cr_assert_eq(cfg->deadline_ms, 1234);
}

Test(config, bad_number_names_file_line_and_key)
{
	assert_load_error("[broker]\n\n[limits]\ndeadline_ms = abc\n", 4,
	    "[limits] deadline_ms: 'abc' is not a number");
}

Test(config, trailing_garbage_negative_and_leading_zero_are_not_numbers)
{
	assert_load_error("[limits]\ndeadline_ms = 12ms\n", 2,
	    "[limits] deadline_ms: '12ms' is not a number");
	assert_load_error("[limits]\ndeadline_ms = -5\n", 2,
	    "[limits] deadline_ms: '-5' is not a number");
	assert_load_error("[limits]\ndeadline_ms = 010\n", 2,
	    "[limits] deadline_ms: '010' is not a number");
	assert_load_error("[limits]\ndeadline_ms = 0x\n", 2,
	    "[limits] deadline_ms: '0x' is not a number");
	assert_load_error("[limits]\ndeadline_ms =\n", 2,
	    "[limits] deadline_ms: '' is not a number");
}

Test(config, out_of_range_number_names_the_range)
{
	assert_load_error("[limits]\ndeadline_ms = 0\n", 2,
	    "[limits] deadline_ms: 0 is out of range (1-60000)");
	assert_load_error("[limits]\nmax_payload = 3801\n", 2,
	    "[limits] max_payload: 3801 is out of range (32-3800)");
	assert_load_error("[ctl]\nchannel = 16\n", 2,
	    "[ctl] channel: 16 is out of range (0-15)");
}

Test(config, overflowing_number_is_out_of_range)
{
	assert_load_error("[limits]\ninflight_total = 99999999999999999999\n",
	    2, "[limits] inflight_total: 99999999999999999999 is out of "
	    "range (1-1048576)");
}

Test(config, completion_code_above_0xff_is_refused)
{
	assert_load_error("[fallback]\n\n\n\n\n\n\n\ntimeout = 0x1C3\n", 9,
	    "[fallback] timeout: 0x1C3 is not a completion code (0x00-0xff)");
}

Test(config, socket_mode_must_be_octal)
{
	assert_load_error("[broker]\nhandler_socket_mode = 666\n", 2,
	    "[broker] handler_socket_mode: '666' is not an octal mode such "
	    "as 0660");
	assert_load_error("[broker]\ncontrol_socket_mode = 0778\n", 2,
	    "[broker] control_socket_mode: '0778' is not an octal mode such "
	    "as 0660");
	assert_load_error("[broker]\ncontrol_socket_mode = 01777\n", 2,
	    "[broker] control_socket_mode: 01777 is out of range (0-0777)");
}

Test(config, unknown_log_level_is_refused)
{
	assert_load_error("[broker]\nlog_level = loud\n", 2,
	    "[broker] log_level: 'loud' is not a log level (error, warning, "
	    "info, debug)");
}

Test(config, unknown_key_names_its_section)
{
	assert_load_error("[broker]\nuser =\nfoo = 1\n", 3,
	    "unknown key 'foo' in [broker]");
	assert_load_error("[acl x]\nuser = 0\nnetfns = 0x30\n", 3,
	    "unknown key 'netfns' in [acl x]");
}

Test(config, unknown_section_is_refused_even_when_empty)
{
	assert_load_error("[broker]\n\n\n\n\n\n[frob]\n", 7,
	    "unknown section [frob]");
	assert_load_error("[broker extra]\n", 1,
	    "unknown section [broker extra]");
}

Test(config, unnamed_acl_section_is_refused)
{
	assert_load_error("[acl]\n", 1, "section [acl] needs a name: "
	    "[acl NAME]");
}

Test(config, duplicate_key_names_the_first_line)
{
	assert_load_error("[limits]\ndeadline_ms = 10\n\ndeadline_ms = 20\n",
	    4, "[limits] deadline_ms: duplicate key (first at line 2)");
}

Test(config, duplicate_key_across_repeated_section_is_refused)
{
	assert_load_error("[limits]\ndeadline_ms = 10\n[ctl]\n[limits]\n", 4,
	    "duplicate section [limits] (first at line 1)");
}

Test(config, duplicate_key_in_acl_is_refused)
{
	assert_load_error("[acl a]\nuser = 0\nnetfn = 0x30\nnetfn = 0x32\n",
	    4, "[acl a] netfn: duplicate key");
}

Test(config, duplicate_acl_and_bus_names_are_refused)
{
	assert_load_error("[acl a]\nuser = 0\nnetfn = 0x30\n[acl a]\n", 4,
	    "duplicate [acl a] (first at line 1)");
	assert_load_error("[bus b]\ndriver = kcs\n[bus b]\n", 3,
	    "duplicate [bus b] (first at line 1)");
}

Test(config, odd_netfn_in_acl_is_refused)
{
	assert_load_error("[acl a]\nuser = 1000\nnetfn = 0x30, 0x31\n", 3,
	    "[acl a] netfn: netfn 0x31 is odd (requests use even netfns)");
}

Test(config, acl_netfn_above_0x3e_is_refused)
{
	assert_load_error("[acl a]\nuser = 1000\nnetfn = 0x40\n", 3,
	    "[acl a] netfn: 0x40 is not a request netfn (even, 0x00-0x3e)");
}

Test(config, backwards_range_is_refused)
{
	assert_load_error("[acl a]\nuser = 1000\nnetfn = 0x3e-0x30\n", 3,
	    "[acl a] netfn: range 0x3e-0x30 is backwards (lo > hi)");
}

Test(config, iana_above_24_bits_is_refused)
{
	assert_load_error("[acl a]\nuser = 1000\niana = 0x1000000\n", 3,
	    "[acl a] iana: 0x1000000 is out of range (0-0xffffff)");
}

Test(config, garbage_in_range_list_is_refused)
{
	assert_load_error("[acl a]\nuser = 1000\nbody = 1,,2\n", 3,
	    "[acl a] body: '' is not a number or a range lo-hi");
}

Test(config, unknown_user_names_the_line)
{
	assert_load_error("[broker]\n\nuser = no-such-user-xq\n", 3,
	    "[broker] user: unknown user 'no-such-user-xq'");
	assert_load_error("[acl a]\ngroup = no-such-group-xq\n", 2,
	    "[acl a] group: unknown group 'no-such-group-xq'");
}

Test(config, default_route_handler_without_identity_is_refused)
{
	assert_load_error("[default_route]\n\nhandler = x\ncode = 0xc1\n", 3,
	    "default route handler 'x' needs user or group (names are "
	    "labels, not identities)");
}

Test(config, acl_without_user_or_group_is_refused)
{
	assert_load_error("[broker]\n[acl a]\nnetfn = 0x30\n", 2,
	    "[acl a] needs user or group");
}

Test(config, acl_granting_nothing_is_refused)
{
	assert_load_error("[acl a]\nuser = 0\n", 1,
	    "[acl a] grants nothing: set netfn, iana or body");
}

Test(config, inflight_per_handler_above_total_names_the_offending_key)
{
	assert_load_error("[limits]\ninflight_total = 100\n"
	    "inflight_per_handler = 200\ninflight_per_bus = 1\n", 3,
	    "[limits] inflight_per_handler 200 is more than inflight_total "
	    "100");
}

Test(config, max_deadline_below_deadline_is_refused)
{
	assert_load_error("[limits]\ndeadline_ms = 5000\n", 2,
	    "[limits] max_deadline_ms 4000 is less than deadline_ms 5000");
}

Test(config, ctl_max_response_above_max_payload_is_refused)
{
	assert_load_error("[limits]\nmax_payload = 512\n[ctl]\n"
	    "max_response = 1000\n", 4,
	    "[ctl] max_response 1000 is more than [limits] max_payload 512");
	assert_load_error("[limits]\nmax_payload = 512\n", 2,
	    "[ctl] max_response 1000 is more than [limits] max_payload 512");
}

Test(config, unknown_bus_driver_is_refused)
{
	assert_load_error("[bus b]\ndriver = usb\n", 2,
	    "[bus b] driver: unknown driver 'usb' (bt, kcs, ipmb, ssif, "
	    "serial, vm)");
}

Test(config, bus_without_driver_is_refused)
{
	assert_load_error("[bus b]\ndevice = /dev/x\n", 1,
	    "[bus b] needs a driver");
}

Test(config, reserved_bus_name_is_refused)
{
	assert_load_error("[bus ctl]\ndriver = vm\n", 1,
	    "[bus ctl]: the name 'ctl' is reserved");
}

Test(config, key_outside_a_section_is_refused)
{
	assert_load_error("deadline_ms = 5\n", 1, "key outside any section");
}

Test(config, line_without_equals_is_a_syntax_error)
{
	assert_load_error("[broker]\nuser\n", 2,
	    "expected 'key = value', '[section]' or a comment");
	assert_load_error("[broker\n", 1, "section header without ']'");
}

Test(config, overlong_line_is_refused_not_split)
{
	char	text[512];

	snprintf(text, sizeof(text), "[broker]\nruntime_dir = /%0300d\n", 0);
	assert_load_error(text, 2, "line is longer than 199 characters");
}

Test(config, socket_path_too_long_for_sun_path_is_refused)
{
	char	text[512];

	snprintf(text, sizeof(text), "[broker]\nruntime_dir = /%0100d\n"
	    "handler_socket = h.sock\n", 0);
	cr_assert_eq(load(text), -1);
	cr_assert(strstr(err, ":3: [broker] handler_socket: ") != NULL,
	    "got '%s'", err);
	cr_assert(strstr(err, "longer than a socket path may be") != NULL,
	    "got '%s'", err);
}

Test(config, relative_runtime_dir_is_refused)
{
	assert_load_error("[broker]\nruntime_dir = run\n", 2,
	    "[broker] runtime_dir: 'run' is not an absolute path");
}

Test(config, config_too_big_for_one_datagram_is_refused)
{
	char	*text;
	size_t	 len = 0, size = 64 * 1024;
	int	 i;

	text = malloc(size);
	cr_assert_not_null(text);
	for (i = 0; i < 40; i++)
		len += snprintf(text + len, size - len, "[acl a%d]\nuser = %d\n"
		    "netfn = 0,2,4,6,8,0xa,0xc,0xe,0x10,0x12,0x14,0x16,0x18,"
		    "0x1a,0x1c,0x1e\n"
		    "iana = 0x100000,0x100001,0x100002,0x100003,0x100004\n",
		    i, 100000 + i);
	cr_assert_eq(load(text), -1);
	free(text);
	cr_assert(strstr(err, ":0: too big to send to the broker") != NULL,
	    "got '%s'", err);
}

/* An ACL for the decision tests; the broker runs as uid 500. */
static void
acl_setup(void)
{
	load_ok("[broker]\nuser = 500\ngroup = 500\n"
	    "[acl by-uid]\nuser = 1000\nnetfn = 0x30-0x34\n"
	    "[acl by-gid]\ngroup = 2000\nnetfn = 0x06\n"
	    "[acl both]\nuser = 1001\ngroup = 2001\nnetfn = 0x0a\n"
	    "[acl oem]\nuser = 1002\niana = 7154, 0xa2b3-0xa2b4\n"
	    "body = 0xdc\n"
	    "[acl any-oem]\nuser = 1003\nnetfn = 0x2c, 0x2e\n");
}

Test(config, acl_root_may_always_register)
{
	acl_setup();
	cr_assert(config_acl_allows(cfg, 0, 0, 0x3e, 0));
	cr_assert(config_acl_allows(cfg, 0, 99, 0x2e, 12345));
}

Test(config, acl_broker_uid_may_always_register)
{
	acl_setup();
	cr_assert(config_acl_allows(cfg, 500, 500, 0x00, 0));
	cr_assert(config_acl_allows(cfg, 500, 7, 0x2c, 0x42));
}

Test(config, acl_rule_by_uid_grants_its_netfn_range_only)
{
	acl_setup();
	cr_assert(config_acl_allows(cfg, 1000, 9999, 0x30, 0));
	cr_assert(config_acl_allows(cfg, 1000, 9999, 0x34, 0));
	cr_assert_not(config_acl_allows(cfg, 1000, 9999, 0x36, 0));
	cr_assert_not(config_acl_allows(cfg, 1000, 9999, 0x06, 0));
}

Test(config, acl_rule_by_gid_matches_any_uid_in_that_group)
{
	acl_setup();
	cr_assert(config_acl_allows(cfg, 3000, 2000, 0x06, 0));
	cr_assert_not(config_acl_allows(cfg, 3000, 2001, 0x06, 0));
}

Test(config, acl_rule_with_user_and_group_needs_both)
{
	acl_setup();
	cr_assert(config_acl_allows(cfg, 1001, 2001, 0x0a, 0));
	cr_assert_not(config_acl_allows(cfg, 1001, 2000, 0x0a, 0));
	cr_assert_not(config_acl_allows(cfg, 1000, 2001, 0x0a, 0));
}

Test(config, acl_iana_range_grants_netfn_0x2e_for_those_iana_only)
{
	acl_setup();
	cr_assert(config_acl_allows(cfg, 1002, 1, 0x2e, 7154));
	cr_assert(config_acl_allows(cfg, 1002, 1, 0x2e, 0xa2b4));
	cr_assert_not(config_acl_allows(cfg, 1002, 1, 0x2e, 0xa2b5));
	cr_assert_not(config_acl_allows(cfg, 1002, 1, 0x2c, 7154 & 0xff));
	cr_assert_not(config_acl_allows(cfg, 1002, 1, 0x30, 0));
}

Test(config, acl_body_grants_netfn_0x2c_for_that_body_only)
{
	acl_setup();
	cr_assert(config_acl_allows(cfg, 1002, 1, 0x2c, 0xdc));
	cr_assert_not(config_acl_allows(cfg, 1002, 1, 0x2c, 0xdd));
}

Test(config, acl_netfn_0x2c_0x2e_in_netfn_list_grants_any_key)
{
	acl_setup();
	cr_assert(config_acl_allows(cfg, 1003, 1, 0x2e, 0xffffff));
	cr_assert(config_acl_allows(cfg, 1003, 1, 0x2c, 0x00));
	cr_assert_not(config_acl_allows(cfg, 1003, 1, 0x30, 0));
}

Test(config, acl_without_matching_rule_denies)
{
	acl_setup();
	cr_assert_not(config_acl_allows(cfg, 4000, 4000, 0x30, 0));
	config_defaults(cfg);
	cfg->broker_uid = 500;
	cr_assert_not(config_acl_allows(cfg, 1000, 1000, 0x06, 0));
}

/* Through the wire: to_proto, pack, unpack, from_proto. */
static void
round_trip(const struct config *in, struct config *out)
{
	struct config_proto	*store;
	Sup__Config		*m, *u;
	uint8_t			*buf;
	size_t			 len;
	int			 rc;

	m = config_to_proto(in, &store);
	cr_assert_not_null(m);
	len = sup__config__get_packed_size(m);
	buf = malloc(len + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(sup__config__pack(m, buf), len);
	config_proto_free(store);
	u = sup__config__unpack(NULL, len, buf);
	free(buf);
	cr_assert_not_null(u);
	rc = config_from_proto(out, u, err, sizeof(err));
	sup__config__free_unpacked(u, NULL);
	cr_assert_eq(rc, 0, "from_proto: %s", err);
}

Test(config, proto_round_trip_preserves_everything_carried)
{
	struct config	*out;
	size_t		 i;

	load_ok("[broker]\nuser = 4242\ngroup = 7\nlog_level = warning\n"
	    "max_handlers = 11\nmax_controls = 12\n"
	    "[limits]\ndeadline_ms = 1001\nmax_deadline_ms = 2002\n"
	    "inflight_total = 303\ninflight_per_handler = 44\n"
	    "inflight_per_bus = 55\nregistrations_per_handler = 66\n"
	    "max_payload = 777\n"
	    "[fallback]\nno_handler = 1\ntimeout = 2\ndisconnected = 3\n"
	    "busy = 4\nshort_oem = 5\ntoo_large = 6\n"
	    "[default_route]\nhandler = dflt\ngroup = 99\ncode = 0xd0\n"
	    "[acl oem]\nuser = 1000\nnetfn = 0x30-0x3e, 0x06\n"
	    "iana = 7154, 0x00a2b3-0x00a2b4\nbody = 0x00, 0xdc\n"
	    "[acl g]\ngroup = 20\nnetfn = 0x2c\n"
	    "[ctl]\nchannel = 3\nmax_response = 700\n"
	    "[internal]\nchannel = 4\n"
	    "[bus b1]\ndriver = kcs\ndevice = /dev/kcs\nchannel = 9\n"
	    "deadline_ms = 450\nmax_inflight = 2\n"
	    "[bus b2]\ndriver = ssif\ndevice = /dev/ipmi-ssif-host\n");
	cfg->generation = 77;
	out = calloc(1, sizeof(*out));
	cr_assert_not_null(out);
	round_trip(cfg, out);

	cr_assert_eq(out->generation, 77);
	cr_assert_str_eq(out->path, cfg->path);
	cr_assert_eq(out->broker_uid, 4242);
	cr_assert_eq(out->log_level, LOG_LVL_WARN);
	cr_assert_eq(out->max_handlers, 11);
	cr_assert_eq(out->max_controls, 12);
	cr_assert_eq(out->deadline_ms, 1001);
	cr_assert_eq(out->max_deadline_ms, 2002);
	cr_assert_eq(out->inflight_total, 303);
	cr_assert_eq(out->inflight_per_handler, 44);
	cr_assert_eq(out->inflight_per_bus, 55);
	cr_assert_eq(out->max_registrations, 66);
	cr_assert_eq(out->max_payload, 777);
	cr_assert_eq(memcmp(&out->fallback, &cfg->fallback,
	    sizeof(cfg->fallback)), 0);
	cr_assert_eq(memcmp(&out->default_route, &cfg->default_route,
	    sizeof(cfg->default_route)), 0);
	cr_assert_eq(out->n_acl, 2);
	for (i = 0; i < cfg->n_acl; i++)
		cr_assert_eq(memcmp(&out->acl[i], &cfg->acl[i],
		    sizeof(cfg->acl[i])), 0, "acl %zu differs", i);
	cr_assert_eq(out->ctl_channel, 3);
	cr_assert_eq(out->ctl_max_response, 700);
	cr_assert_eq(out->internal_channel, 4);
	cr_assert_eq(out->n_bus, 2);
	for (i = 0; i < cfg->n_bus; i++) {
		cr_assert_str_eq(out->bus[i].name, cfg->bus[i].name);
		cr_assert_str_eq(out->bus[i].driver, cfg->bus[i].driver);
		cr_assert_str_eq(out->bus[i].device, cfg->bus[i].device);
		cr_assert_eq(out->bus[i].channel, cfg->bus[i].channel);
		cr_assert_eq(out->bus[i].deadline_ms, cfg->bus[i].deadline_ms);
		cr_assert_eq(out->bus[i].max_inflight,
		    cfg->bus[i].max_inflight);
	}
	free(out);
}

Test(config, proto_round_trip_of_defaults_gives_defaults)
{
	struct config	*out;

	config_defaults(cfg);
	out = calloc(1, sizeof(*out));
	cr_assert_not_null(out);
	round_trip(cfg, out);
	cr_assert_eq(memcmp(out, cfg, sizeof(*cfg)), 0);
	free(out);
}

/* from_proto of cfg after edit() fails with want in the message. */
static void
assert_proto_rejects(void (*edit)(Sup__Config *), const char *want)
{
	struct config_proto	*store;
	struct config		*out;
	Sup__Config		*m;

	load_ok("[acl a]\nuser = 1000\nnetfn = 0x30\n"
	    "[bus b]\ndriver = bt\ndevice = /dev/ipmi-bt-host\n");
	m = config_to_proto(cfg, &store);
	cr_assert_not_null(m);
	edit(m);
	out = calloc(1, sizeof(*out));
	cr_assert_not_null(out);
	config_defaults(out);
	out->deadline_ms = 4321;
	cr_assert_eq(config_from_proto(out, m, err, sizeof(err)), -1,
	    "accepted; wanted '%s'", want);
	cr_assert_str_eq(err, want);
	cr_assert_eq(out->deadline_ms, 4321, "config changed on failure");
	config_proto_free(store);
	free(out);
}

static void
edit_fallback(Sup__Config *m)
{
	m->fallback->timeout = 0x1ff;
}

static void
edit_odd_netfn(Sup__Config *m)
{
	m->acl[0]->netfn[0]->lo = 0x31;
	m->acl[0]->netfn[0]->hi = 0x31;
}

static void
edit_deadline(Sup__Config *m)
{
	m->deadline_ms = 0;
}

static void
edit_channel(Sup__Config *m)
{
	m->ctl_channel = 16;
}

static void
edit_driver(Sup__Config *m)
{
	m->bus[0]->driver = (char *)"usb";
}

static void
edit_acl_identity(Sup__Config *m)
{
	m->acl[0]->any_uid = true;
	m->acl[0]->any_gid = true;
}

static void
edit_payload(Sup__Config *m)
{
	m->ctl_max_response = 2000;
}

static void
edit_log_level(Sup__Config *m)
{
	m->log_level = 9;
}

static void
edit_route(Sup__Config *m)
{
	m->default_route->handler = (char *)"h";
}

Test(config, proto_rejects_fallback_code_above_0xff)
{
	assert_proto_rejects(edit_fallback,
	    "[fallback] timeout: 0x1ff is not a completion code (0x00-0xff)");
}

Test(config, proto_rejects_odd_acl_netfn)
{
	assert_proto_rejects(edit_odd_netfn,
	    "[acl a] netfn: netfn 0x31 is odd (requests use even netfns)");
}

Test(config, proto_rejects_out_of_range_numbers)
{
	assert_proto_rejects(edit_deadline,
	    "[limits] deadline_ms: 0 is out of range (1-60000)");
	assert_proto_rejects(edit_channel,
	    "[ctl] channel: 16 is out of range (0-15)");
	assert_proto_rejects(edit_log_level,
	    "[broker] log_level: 9 is out of range (0-3)");
}

Test(config, proto_rejects_unknown_bus_driver)
{
	assert_proto_rejects(edit_driver,
	    "[bus b] driver: unknown driver 'usb'");
}

Test(config, proto_rejects_cross_field_violations)
{
	assert_proto_rejects(edit_acl_identity, "[acl a] needs user or group");
	assert_proto_rejects(edit_payload,
	    "[ctl] max_response 2000 is more than [limits] max_payload 1024");
	assert_proto_rejects(edit_route, "default route handler 'h' needs "
	    "user or group (names are labels, not identities)");
}
