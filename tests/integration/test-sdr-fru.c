/* SPDX-License-Identifier: MIT */
/*
 * The SDR/FRU handler through the real daemon, driven by ipmi-ctl send:
 * a Get SDR walk in small chunks as ipmitool does it, readings that follow
 * their value file and command, a FRU write/read round trip down to the
 * image file, and the shipped example config serving the image that
 * ipmi-fru-build makes of the shipped description.
 *
 * Each test has its own daemon and directory. The handler's data (FRU
 * images built by the real ipmi-fru-build, sensor files) lives in that
 * directory, so nothing in the source tree is written.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"

#define SF_NCMDS	12	/* registrations of ipmi-handler-sdr-fru */
#define SEND_MAX	12	/* data bytes send() passes on */

static struct itest_env	env;
static struct itest_run	run;
static pid_t		sf_pid = -1;
static uint8_t		rsp[4096];
static size_t		rsp_len;

/* The handler config the tests use; %s is the test's directory. */
static const char sf_conf[] =
    "[mc]\n"
    "name = BMC\n"
    "device_support = 0x0b\n"
    "[sensor CPU Temp]\n"
    "number = 1\n"
    "type = temperature\n"
    "entity = 3.1\n"
    "units = degrees C\n"
    "file = cpu\n"
    "scale = 0.001\n"
    "interval = 100\n"
    "unc = 80\n"
    "ucr = 90\n"
    "[sensor FAN1]\n"
    "number = 2\n"
    "type = fan\n"
    "units = rpm\n"
    "m = 100\n"
    "command = echo 4200\n"
    "interval = 100\n"
    "[fru 0]\n"
    "file = fru0.bin\n"
    "[fru 1]\n"
    "name = PSU1 FRU\n"
    "file = fru1.bin\n"
    "writable = yes\n";

/* Run ipmi-fru-build on a shipped description, into our directory. */
static void
fru_build(const char *ini, const char *size, const char *out)
{
	char	src[512], dst[256], log[256];
	char	*argv[6];
	int	n = 0;
	pid_t	pid;

	snprintf(src, sizeof(src), "%s/conf/sdr-fru/%s",
	    itest_bin("IPMI_SRCDIR"), ini);
	snprintf(dst, sizeof(dst), "%s/%s", env.dir, out);
	snprintf(log, sizeof(log), "%s/fru-build.log", env.dir);
	argv[n++] = (char *)itest_bin("IPMI_FRU_BUILD");
	if (size != NULL) {
		argv[n++] = "-s";
		argv[n++] = (char *)size;
	}
	argv[n++] = src;
	argv[n++] = dst;
	argv[n] = NULL;
	cr_assert_not_null(argv[0], "IPMI_FRU_BUILD is not set");
	cr_assert_gt(pid = itest_spawn(log, argv, NULL), 0);
	cr_assert_eq(itest_wait_pid(pid, 5000), 0, "ipmi-fru-build %s "
	    "failed (log %s)", ini, log);
}

static void
put(const char *name, const char *text)
{
	char	path[256], tmp[272];

	/* rename() so that the handler never reads half a file. */
	snprintf(path, sizeof(path), "%s/%s", env.dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	cr_assert_eq(itest_write_file(tmp, text), 0);
	cr_assert_eq(rename(tmp, path), 0);
}

/* Start the handler with conf (a path) and wait for its registrations. */
static void
handler_start(const char *conf)
{
	static char	sockenv[256];
	char		log[256];
	char		*argv[] = { (char *)itest_bin("IPMI_HANDLER_SDR_FRU"),
			    "-c", (char *)conf, NULL };
	char		*envp[] = { sockenv, NULL };
	int		 got;

	cr_assert_not_null(argv[0], "IPMI_HANDLER_SDR_FRU is not set");
	snprintf(sockenv, sizeof(sockenv), "IPMI_BROKER_SOCKET=%s",
	    env.hsock);
	snprintf(log, sizeof(log), "%s/sdr-fru.log", env.dir);
	cr_assert_gt(sf_pid = itest_spawn(log, argv, envp), 0);
	cr_assert_eq(itest_wait_regs(&env, "sdr-fru", SF_NCMDS, 5000, &got),
	    0, "sdr-fru registrations: expected %d, got %d (log %s)",
	    SF_NCMDS, got, log);
}

/* A daemon (extra: more broker config) and the handler on sf_conf. */
static void
setup(const char *extra)
{
	char	conf[256];

	cr_assert_eq(itest_env_init(&env), 0, "temp dir");
	cr_assert_eq(itest_write_config(&env, "%s", extra), 0);
	cr_assert_eq(itest_daemon_start(&env, 5000), 0,
	    "daemon did not answer on %s (log %s)", env.csock, env.log);
	fru_build("fru0.ini", NULL, "fru0.bin");
	fru_build("fru1.ini", "256", "fru1.bin");
	put("cpu", "45000\n");
	snprintf(conf, sizeof(conf), "%s/sdr-fru.conf", env.dir);
	cr_assert_eq(itest_write_file(conf, sf_conf), 0);
	handler_start(conf);
}

/* The end of every test: handler and daemon stop cleanly on SIGTERM. */
static void
done(void)
{
	if (sf_pid > 0)
		cr_assert_eq(itest_stop_pid(sf_pid, 3000), 0,
		    "ipmi-handler-sdr-fru did not exit 0 on SIGTERM");
	sf_pid = -1;
	cr_assert_eq(itest_daemon_stop(&env, 5000), 0,
	    "the daemon did not exit 0 on SIGTERM (log %s)", env.log);
	ITEST_ASSERT_LOGS_CLEAN(&env);
}

static void
teardown(void)
{
	if (sf_pid > 0)
		itest_stop_pid(sf_pid, 3000);
	sf_pid = -1;
	itest_env_cleanup(&env);
}

TestSuite(sdr_fru, .fini = teardown, .timeout = 60);

/* ipmi-ctl --json send NETFN CMD DATA...; returns the completion code. */
static unsigned int
send(uint8_t netfn, uint8_t cmd, const uint8_t *data, size_t len)
{
	char		 hex[2 + SEND_MAX][8];
	char		*a[2 + SEND_MAX];
	unsigned int	 cc;
	size_t		 i;

	cr_assert_leq(len, SEND_MAX);
	memset(a, 0, sizeof(a));
	snprintf(hex[0], sizeof(hex[0]), "0x%02x", netfn);
	snprintf(hex[1], sizeof(hex[1]), "0x%02x", cmd);
	for (i = 0; i < len; i++)
		snprintf(hex[2 + i], sizeof(hex[0]), "0x%02x", data[i]);
	for (i = 0; i < 2 + len; i++)
		a[i] = hex[i];
	/* The argument list ends at the first NULL. */
	cr_assert_eq(itest_send_json(&env, &run, &cc, rsp, &rsp_len, a[0],
	    a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10],
	    a[11], a[12], a[13], NULL), 0, "ipmi-ctl: %s %s", run.out,
	    run.err);
	return cc;
}

static unsigned int
get_sdr(uint16_t resv, uint16_t id, uint8_t off, uint8_t count)
{
	uint8_t	d[6] = { resv & 0xff, resv >> 8, id & 0xff, id >> 8, off,
		    count };

	return send(0x0a, 0x23, d, sizeof(d));
}

static unsigned int
reading(uint8_t number)
{
	cr_assert_eq(send(0x04, 0x2d, &number, 1), 0);
	cr_assert_eq(rsp_len, 3);
	return rsp[0];
}

/* Poll a sensor until it reads want, bounded; returns the last reading. */
static unsigned int
reading_becomes(uint8_t number, unsigned int want, int bound_ms)
{
	int64_t		end = itest_now_ms() + bound_ms;
	unsigned int	got;

	while ((got = reading(number)) != want && itest_now_ms() < end)
		itest_pause_ms(50);
	return got;
}

/* Read a whole FRU device in chunks of 'chunk' bytes. */
static size_t
fru_read_all(uint8_t id, uint8_t *out, size_t max, uint8_t chunk)
{
	uint8_t	d[4];
	size_t	size, off;

	cr_assert_eq(send(0x0a, 0x10, &id, 1), 0, "fru info %u", id);
	cr_assert_eq(rsp_len, 3);
	size = rsp[0] | rsp[1] << 8;
	cr_assert_leq(size, max);
	for (off = 0; off < size; off += rsp[0]) {
		d[0] = id;
		d[1] = off & 0xff;
		d[2] = off >> 8;
		d[3] = size - off < chunk ? size - off : chunk;
		cr_assert_eq(send(0x0a, 0x11, d, sizeof(d)), 0, "at %zu",
		    off);
		cr_assert_eq(rsp_len, 1 + rsp[0]);
		cr_assert_gt(rsp[0], 0);
		memcpy(out + off, rsp + 1, rsp[0]);
	}
	return size;
}

static size_t
file_bytes(const char *name, uint8_t *out, size_t max)
{
	char	 path[512];
	size_t	 n;
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", env.dir, name);
	cr_assert_not_null(f = fopen(path, "rb"), "%s", path);
	n = fread(out, 1, max, f);
	fclose(f);
	return n;
}

Test(sdr_fru, a_get_sdr_walk_in_small_chunks_reads_every_record)
{
	static const uint8_t types[] = { 0x12, 0x01, 0x01, 0x11 };
	uint8_t		rec[64];
	uint16_t	resv, id = 0, count;
	size_t		n = 0, off, len, chunk;

	setup("");
	cr_assert_eq(send(0x0a, 0x20, NULL, 0), 0);
	cr_assert_eq(rsp[0], 0x51);
	count = rsp[1] | rsp[2] << 8;
	cr_assert_eq(count, sizeof(types));
	cr_assert_eq(send(0x0a, 0x22, NULL, 0), 0);
	resv = rsp[0] | rsp[1] << 8;
	do {
		cr_assert_eq(get_sdr(resv, id, 0, 5), 0, "header of %u", id);
		cr_assert_eq(rsp_len, 2 + 5);
		memcpy(rec, rsp + 2, 5);
		len = 5 + rec[4];
		cr_assert_lt(n, sizeof(types));
		cr_assert_eq(rec[2], 0x51);
		cr_assert_eq(rec[3], types[n], "record %zu type 0x%02x", n,
		    rec[3]);
		for (off = 5; off < len; off += chunk) {
			chunk = len - off < 6 ? len - off : 6;
			cr_assert_eq(get_sdr(resv, rec[0] | rec[1] << 8, off,
			    chunk), 0, "record %zu at %zu", n, off);
			cr_assert_eq(rsp_len, 2 + chunk);
			memcpy(rec + off, rsp + 2, chunk);
		}
		if (n == 1)
			cr_assert_eq(memcmp(rec + 48, "CPU Temp", 8), 0,
			    "ID string of the first sensor");
		id = rsp[0] | rsp[1] << 8;
		n++;
	} while (id != 0xffff);
	cr_assert_eq(n, count);
	/* A new reservation cancels the walk's. */
	cr_assert_eq(send(0x0a, 0x22, NULL, 0), 0);
	cr_assert_eq(get_sdr(resv, 2, 5, 6), 0xc5);
	done();
}

Test(sdr_fru, get_sensor_reading_follows_a_changed_value_file)
{
	setup("");
	cr_assert_eq(reading_becomes(1, 45, 3000), 45);
	put("cpu", "85000\n");
	cr_assert_eq(reading_becomes(1, 85, 3000), 85);
	cr_assert_eq(rsp[1], 0x40, "scanning, available");
	cr_assert_eq(rsp[2], 0x08, "at or above unc");
	put("cpu", "no sensor\n");
	reading_becomes(1, 0, 3000);
	cr_assert_eq(rsp[1], 0x60, "reading unavailable");
	done();
}

Test(sdr_fru, a_command_sensor_reads_what_the_command_prints)
{
	setup("");
	cr_assert_eq(reading_becomes(2, 42, 3000), 42, "4200 RPM / 100");
	done();
}

Test(sdr_fru, fru_write_then_read_round_trips_down_to_the_file)
{
	static const uint8_t w[] = { 1, 200, 0, 'w', 'r', 'i', 't', 't',
	    'e', 'n', '!' };
	uint8_t		dev[512], disk[512];
	size_t		size;

	setup("");
	cr_assert_eq(send(0x0a, 0x12, w, sizeof(w)), 0);
	cr_assert_eq(rsp_len, 1);
	cr_assert_eq(rsp[0], sizeof(w) - 3);
	size = fru_read_all(1, dev, sizeof(dev), 20);
	cr_assert_eq(size, 256);
	cr_assert_eq(memcmp(dev + 200, w + 3, sizeof(w) - 3), 0);
	cr_assert_eq(file_bytes("fru1.bin", disk, sizeof(disk)), 256);
	cr_assert_eq(memcmp(dev, disk, size), 0, "the file holds it");
	done();
}

Test(sdr_fru, fru_errors_come_back_with_the_spec_codes)
{
	static const uint8_t ro[] = { 0, 0, 0, 0x55 };
	static const uint8_t past[] = { 1, 0xff, 0, 1, 2 };
	static const uint8_t rd[] = { 0, 0x00, 0x10, 1 };
	uint8_t			 none = 9;

	setup("");
	cr_assert_eq(send(0x0a, 0x12, ro, sizeof(ro)), 0x80,
	    "read-only: write-protected");
	cr_assert_eq(send(0x0a, 0x12, past, sizeof(past)), 0xc9);
	cr_assert_eq(send(0x0a, 0x11, rd, sizeof(rd)), 0xc9);
	cr_assert_eq(send(0x0a, 0x10, &none, 1), 0xcb);
	cr_assert_eq(send(0x0a, 0x10, NULL, 0), 0xc7);
	done();
}

Test(sdr_fru, more_than_the_bus_carries_gets_ca_and_less_does_not)
{
	setup("\n[ctl]\nmax_response = 16\n");
	cr_assert_eq(get_sdr(0, 0, 0, 0xff), 0xca);
	cr_assert_eq(get_sdr(0, 0, 0, 14), 0);
	cr_assert_eq(rsp_len, 16);
	done();
}

/*
 * The shipped config with its shipped data: FRU device 0 is byte for
 * byte what ipmi-fru-build makes of conf/sdr-fru/fru0.ini, and its sensors
 * read their example files and command.
 */
Test(sdr_fru, the_example_config_serves_the_image_built_from_its_description)
{
	uint8_t		dev[1024], built[1024];
	size_t		size;
	char		conf[512];

	cr_assert_eq(itest_env_init(&env), 0, "temp dir");
	cr_assert_eq(itest_write_config(&env, NULL), 0);
	cr_assert_eq(itest_daemon_start(&env, 5000), 0,
	    "daemon did not answer on %s (log %s)", env.csock, env.log);
	snprintf(conf, sizeof(conf), "%s/conf/sdr-fru-handler.conf",
	    itest_bin("IPMI_SRCDIR"));
	handler_start(conf);
	fru_build("fru0.ini", NULL, "built0.bin");
	size = fru_read_all(0, dev, sizeof(dev), 32);
	cr_assert_eq(file_bytes("built0.bin", built, sizeof(built)), size);
	cr_assert_eq(memcmp(dev, built, size), 0);
	cr_assert_eq(reading_becomes(1, 45, 3000), 45, "CPU Temp");
	cr_assert_eq(reading_becomes(2, 121, 3000), 121, "12V in 0.1 V");
	cr_assert_eq(reading_becomes(3, 42, 5000), 42, "FAN1 / 100 RPM");
	done();
}
