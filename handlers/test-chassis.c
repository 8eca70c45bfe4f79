/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the Chassis handler's command functions and config parser.
 *
 * chassis.c is included so that its static functions are reachable; its
 * main() is renamed out of criterion's way. Requests are built by hand as
 * the library would hand them over; no broker is involved, so no action
 * is ever carried out: the tests check the plan a Chassis Control leaves.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

int	chassis_main(int, char **);
#define main chassis_main
#include "chassis.c"
#undef main

static struct chassis_state st;
static uint8_t rsp[CHASSIS_RSP_MAX];
static size_t rsp_len;

static struct ipmic_request
request(uint8_t cmd, const uint8_t *data, size_t len, const char *bus)
{
	struct ipmic_request r;

	memset(&r, 0, sizeof(r));
	r.netfn = CHASSIS_NETFN;
	r.cmd = cmd;
	r.channel = 0x0f;
	r.data = data;
	r.len = len;
	snprintf(r.facts.bus, sizeof(r.facts.bus), "%s", bus);
	r.facts.medium = 12;
	return r;
}

static int
config(const char *text, struct chassis_config *cfg, char *err, size_t len)
{
	FILE	*f;
	int	 rv;

	f = fmemopen((void *)text, strlen(text), "r");
	cr_assert_not_null(f);
	rv = chassis_config_read(f, "t.conf", cfg, err, len);
	fclose(f);
	return rv;
}

static uint8_t
handle(uint8_t cmd, const uint8_t *data, size_t len)
{
	struct ipmic_request r = request(cmd, data, len, "bt0");

	return chassis_handle(&st, &r, rsp, &rsp_len);
}

static void
setup(void)
{
	static const char text[] =
	    "[chassis]\n"
	    "power = on\n"
	    "restore_policy = previous\n"
	    "[commands]\n"
	    "power_down = echo off\n";
	char	err[256];

	memset(&st, 0, sizeof(st));
	st.child = -1;
	memset(rsp, 0xee, sizeof(rsp));
	rsp_len = 99;
	cr_assert_eq(config(text, &st.cfg, err, sizeof(err)), 0, "%s", err);
	chassis_init(&st);
}

static void
teardown(void)
{
	chassis_config_free(&st.cfg);
}

TestSuite(chassis, .init = setup, .fini = teardown, .timeout = 5);

Test(chassis, status_reports_power_on_and_the_configured_policy)
{
	cr_assert_eq(handle(CHASSIS_GET_STATUS, NULL, 0), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 4);
	cr_assert_eq(rsp[0], 0x01 | 1 << 5, "got 0x%02x", rsp[0]);
	cr_assert_eq(rsp[1], 0x00);
	cr_assert_eq(rsp[2], 0x40, "identify off, reported: 0x%02x", rsp[2]);
	cr_assert_eq(rsp[3], 0x00);
}

Test(chassis, status_with_data_is_a_length_error)
{
	static const uint8_t d[] = { 0 };

	cr_assert_eq(handle(CHASSIS_GET_STATUS, d, 1), IPMI_CC_BAD_LENGTH);
	cr_assert_eq(rsp_len, 0);
}

Test(chassis, every_command_refuses_one_byte_too_many)
{
	static const uint8_t data[16];
	size_t i;

	for (i = 0; i < CHASSIS_NCMDS; i++)
		cr_expect_eq(handle(chassis_cmds[i].cmd, data,
		    chassis_cmds[i].max_len + 1), IPMI_CC_BAD_LENGTH,
		    "cmd 0x%02x", chassis_cmds[i].cmd);
}

Test(chassis, unknown_command_is_invalid_command)
{
	cr_assert_eq(handle(0x03, NULL, 0), IPMI_CC_INVALID_CMD);
}

Test(chassis, control_with_a_command_plans_to_run_it)
{
	static const uint8_t d[] = { CHASSIS_POWER_DOWN };

	cr_assert_eq(handle(CHASSIS_CONTROL, d, 1), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 0);
	cr_assert_eq(st.plan, CHASSIS_PLAN_COMMAND);
	cr_assert_eq(st.plan_op, CHASSIS_POWER_DOWN);
}

Test(chassis, control_without_a_command_uses_the_request_bus)
{
	static const uint8_t d[] = { CHASSIS_HARD_RESET };
	struct ipmic_request r = request(CHASSIS_CONTROL, d, 1, "vm0");

	cr_assert_eq(chassis_handle(&st, &r, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_eq(st.plan, CHASSIS_PLAN_BUS);
	cr_assert_str_eq(st.plan_bus, "vm0");
	cr_assert_eq(chassis_ops[st.plan_op].bus_op, IPMIC_CONTROL_RESET);
}

Test(chassis, power_cycle_on_a_bus_is_a_reset)
{
	cr_assert_eq(chassis_ops[CHASSIS_POWER_CYCLE].bus_op,
	    IPMIC_CONTROL_RESET);
	cr_assert_eq(chassis_ops[CHASSIS_DIAG_INTERRUPT].bus_op,
	    IPMIC_CONTROL_NMI);
	cr_assert_eq(chassis_ops[CHASSIS_SOFT_SHUTDOWN].bus_op,
	    IPMIC_CONTROL_SOFT_SHUTDOWN);
}

Test(chassis, power_up_without_a_command_is_refused_with_cc)
{
	static const uint8_t d[] = { CHASSIS_POWER_UP };
	struct ipmic_request r = request(CHASSIS_CONTROL, d, 1, "vm0");

	cr_assert_eq(chassis_handle(&st, &r, rsp, &rsp_len),
	    IPMI_CC_INVALID_FIELD);
	cr_assert_eq(st.plan, CHASSIS_PLAN_NONE);
}

Test(chassis, control_from_ctl_without_machine_bus_is_refused)
{
	static const uint8_t d[] = { CHASSIS_HARD_RESET };
	struct ipmic_request r = request(CHASSIS_CONTROL, d, 1, "ctl");

	cr_assert_eq(chassis_handle(&st, &r, rsp, &rsp_len),
	    IPMI_CC_INVALID_FIELD);
	st.cfg.bus_control = true;
	snprintf(st.cfg.machine_bus, sizeof(st.cfg.machine_bus), "vm1");
	cr_assert_eq(chassis_handle(&st, &r, rsp, &rsp_len), IPMI_CC_OK);
	cr_assert_str_eq(st.plan_bus, "vm1");
}

Test(chassis, control_with_bus_control_off_is_refused)
{
	static const uint8_t d[] = { CHASSIS_HARD_RESET };

	st.cfg.bus_control = false;
	cr_assert_eq(handle(CHASSIS_CONTROL, d, 1), IPMI_CC_INVALID_FIELD);
}

Test(chassis, control_option_out_of_range_is_invalid_field)
{
	static const uint8_t six[] = { 6 }, high[] = { 0x10 };

	cr_assert_eq(handle(CHASSIS_CONTROL, six, 1), IPMI_CC_INVALID_FIELD);
	cr_assert_eq(handle(CHASSIS_CONTROL, high, 1), IPMI_CC_INVALID_FIELD);
	cr_assert_eq(st.plan, CHASSIS_PLAN_NONE);
}

Test(chassis, control_while_a_command_runs_is_busy)
{
	static const uint8_t d[] = { CHASSIS_POWER_DOWN };

	st.child = 12345;
	cr_assert_eq(handle(CHASSIS_CONTROL, d, 1), IPMI_CC_BUSY);
	st.child = -1;
}

Test(chassis, done_power_down_turns_power_off_and_failure_sets_fault)
{
	chassis_done(&st, CHASSIS_POWER_DOWN, true);
	cr_assert_eq(handle(CHASSIS_GET_STATUS, NULL, 0), IPMI_CC_OK);
	cr_assert_eq(rsp[0] & 0x11, 0x00, "got 0x%02x", rsp[0]);
	chassis_done(&st, CHASSIS_POWER_UP, false);
	cr_assert_eq(handle(CHASSIS_GET_STATUS, NULL, 0), IPMI_CC_OK);
	cr_assert_eq(rsp[0] & 0x11, 0x10, "got 0x%02x", rsp[0]);
	chassis_done(&st, CHASSIS_POWER_UP, true);
	cr_assert_eq(handle(CHASSIS_GET_STATUS, NULL, 0), IPMI_CC_OK);
	cr_assert_eq(rsp[0] & 0x11, 0x01, "got 0x%02x", rsp[0]);
	cr_assert_eq(rsp[1], 0x10, "last event by command: 0x%02x", rsp[1]);
}

Test(chassis, identify_default_is_timed_and_force_is_indefinite)
{
	static const uint8_t off[] = { 0 }, force[] = { 0, 1 };

	cr_assert_eq(handle(CHASSIS_IDENTIFY, NULL, 0), IPMI_CC_OK);
	cr_assert_eq(handle(CHASSIS_GET_STATUS, NULL, 0), IPMI_CC_OK);
	cr_assert_eq(rsp[2], 0x40 | 0x10, "got 0x%02x", rsp[2]);
	cr_assert_eq(handle(CHASSIS_IDENTIFY, force, 2), IPMI_CC_OK);
	cr_assert_eq(handle(CHASSIS_GET_STATUS, NULL, 0), IPMI_CC_OK);
	cr_assert_eq(rsp[2], 0x40 | 0x20, "got 0x%02x", rsp[2]);
	cr_assert_eq(handle(CHASSIS_IDENTIFY, off, 1), IPMI_CC_OK);
	cr_assert_eq(handle(CHASSIS_GET_STATUS, NULL, 0), IPMI_CC_OK);
	cr_assert_eq(rsp[2], 0x40, "got 0x%02x", rsp[2]);
}

Test(chassis, identify_reserved_force_bits_are_invalid)
{
	static const uint8_t d[] = { 5, 0x02 };

	cr_assert_eq(handle(CHASSIS_IDENTIFY, d, 2), IPMI_CC_INVALID_FIELD);
}

Test(chassis, policy_is_set_and_supported_ones_listed)
{
	static const uint8_t on[] = { 2 }, ask[] = { 3 }, bad[] = { 4 };

	cr_assert_eq(handle(CHASSIS_SET_POLICY, on, 1), IPMI_CC_OK);
	cr_assert_eq(rsp_len, 1);
	cr_assert_eq(rsp[0], 0x07);
	cr_assert_eq(handle(CHASSIS_SET_POLICY, ask, 1), IPMI_CC_OK);
	cr_assert_eq(st.policy, 2);
	cr_assert_eq(handle(CHASSIS_SET_POLICY, bad, 1),
	    IPMI_CC_INVALID_FIELD);
}

/* What `ipmitool chassis bootdev pxe` sends, then bootparam get 5. */
Test(chassis, bootdev_sequence_round_trips_the_boot_flags)
{
	static const uint8_t progress[] = { 0, 1 }, ack[] = { 4, 1, 1 },
	    flags[] = { 5, 0x80, 0x04, 0, 0, 0 }, commit[] = { 0, 2 },
	    complete[] = { 0, 0 }, get[] = { 5, 0, 0 },
	    want[] = { 1, 5, 0x80, 0x04, 0, 0, 0 };

	cr_assert_eq(handle(CHASSIS_SET_BOOT_OPTIONS, progress, 2), 0);
	cr_assert_eq(handle(CHASSIS_SET_BOOT_OPTIONS, ack, 3), 0);
	cr_assert_eq(handle(CHASSIS_SET_BOOT_OPTIONS, flags, 6), 0);
	cr_assert_eq(handle(CHASSIS_SET_BOOT_OPTIONS, commit, 2), 0);
	cr_assert_eq(handle(CHASSIS_SET_BOOT_OPTIONS, complete, 2), 0);
	cr_assert_eq(handle(CHASSIS_GET_BOOT_OPTIONS, get, 3), 0);
	cr_assert_eq(rsp_len, sizeof(want));
	cr_assert_arr_eq(rsp, want, sizeof(want));
}

Test(chassis, set_in_progress_twice_is_81)
{
	static const uint8_t progress[] = { 0, 1 }, get[] = { 0, 0, 0 };

	cr_assert_eq(handle(CHASSIS_SET_BOOT_OPTIONS, progress, 2), 0);
	cr_assert_eq(handle(CHASSIS_SET_BOOT_OPTIONS, progress, 2),
	    IPMI_CC_BOOT_IN_PROGRESS);
	cr_assert_eq(handle(CHASSIS_GET_BOOT_OPTIONS, get, 3), 0);
	cr_assert_eq(rsp[2], 1, "state in progress, got %u", rsp[2]);
}

Test(chassis, boot_info_ack_writes_only_masked_bits)
{
	static const uint8_t ack[] = { 4, 0x01, 0x00 }, get[] = { 4, 0, 0 };

	cr_assert_eq(handle(CHASSIS_SET_BOOT_OPTIONS, ack, 3), 0);
	cr_assert_eq(handle(CHASSIS_GET_BOOT_OPTIONS, get, 3), 0);
	cr_assert_eq(rsp_len, 4);
	cr_assert_eq(rsp[2], 0x00, "mask reads as 0");
	cr_assert_eq(rsp[3], 0x1e, "got 0x%02x", rsp[3]);
}

Test(chassis, boot_parameter_invalid_bit_reads_back)
{
	static const uint8_t set[] = { 0x80 | 5, 0, 0x08, 0, 0, 0 },
	    get[] = { 5, 0, 0 };

	cr_assert_eq(handle(CHASSIS_SET_BOOT_OPTIONS, set, 6), 0);
	cr_assert_eq(handle(CHASSIS_GET_BOOT_OPTIONS, get, 3), 0);
	cr_assert_eq(rsp[1], 0x85);
}

Test(chassis, boot_options_errors)
{
	static const uint8_t mbox[] = { 7, 0, 0 }, shortflags[] = { 5, 0x80 },
	    reserved[] = { 0, 3 }, getbad[] = { 0x85, 0, 0 },
	    getshort[] = { 5 };

	cr_assert_eq(handle(CHASSIS_SET_BOOT_OPTIONS, mbox, 3),
	    IPMI_CC_BOOT_UNSUPPORTED);
	cr_assert_eq(handle(CHASSIS_GET_BOOT_OPTIONS, mbox, 3),
	    IPMI_CC_BOOT_UNSUPPORTED);
	cr_assert_eq(handle(CHASSIS_SET_BOOT_OPTIONS, shortflags, 2),
	    IPMI_CC_BAD_LENGTH);
	cr_assert_eq(handle(CHASSIS_SET_BOOT_OPTIONS, reserved, 2),
	    IPMI_CC_INVALID_FIELD);
	cr_assert_eq(handle(CHASSIS_GET_BOOT_OPTIONS, getbad, 3),
	    IPMI_CC_INVALID_FIELD);
	cr_assert_eq(handle(CHASSIS_GET_BOOT_OPTIONS, getshort, 1),
	    IPMI_CC_BAD_LENGTH);
}

Test(chassis, capabilities_and_poh_and_restart_cause_have_their_sizes)
{
	cr_assert_eq(handle(CHASSIS_GET_CAPABILITIES, NULL, 0), 0);
	cr_assert_eq(rsp_len, 5);
	cr_assert_eq(rsp[1], 0x20);
	cr_assert_eq(handle(CHASSIS_GET_POH, NULL, 0), 0);
	cr_assert_eq(rsp_len, 5);
	cr_assert_eq(rsp[0], 1);
	cr_assert_eq(handle(CHASSIS_GET_RESTART_CAUSE, NULL, 0), 0);
	cr_assert_eq(rsp_len, 2);
	cr_assert_eq(rsp[0], CHASSIS_CAUSE_UNKNOWN);
	chassis_done(&st, CHASSIS_HARD_RESET, true);
	cr_assert_eq(handle(CHASSIS_GET_RESTART_CAUSE, NULL, 0), 0);
	cr_assert_eq(rsp[0], CHASSIS_CAUSE_COMMAND);
}

Test(chassis, config_errors_name_file_and_line)
{
	struct chassis_config cfg = { 0 };
	char err[256];

	cr_assert_eq(config("[chassis]\npower = maybe\n", &cfg, err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "t.conf:2: power: expected on or off");
	cr_assert_eq(config("[commands]\nreboot = x\n", &cfg, err,
	    sizeof(err)), -1);
	cr_assert(strncmp(err, "t.conf:2: unknown operation", 27) == 0,
	    "%s", err);
	cr_assert_eq(config("[chassis]\ncommand_timeout = 0\n", &cfg, err,
	    sizeof(err)), -1);
	cr_assert_eq(config("[power]\n", &cfg, err, sizeof(err)), 0,
	    "an empty section is no key: %s", err);
	cr_assert_eq(config("[power]\na = b\n", &cfg, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "t.conf:2: unknown section [power]");
}

Test(chassis, config_defaults)
{
	struct chassis_config cfg = { 0 };
	char err[256];

	cr_assert_eq(config("", &cfg, err, sizeof(err)), 0);
	cr_assert(cfg.power_on);
	cr_assert(cfg.bus_control);
	cr_assert_eq(cfg.timeout_s, 30);
	cr_assert_eq(cfg.policy, CHASSIS_POLICY_ALWAYS_OFF);
	cr_assert_null(cfg.command[CHASSIS_POWER_UP]);
	chassis_config_free(&cfg);
}

Test(chassis, shipped_config_is_valid)
{
	struct chassis_config cfg = { 0 };
	char path[512], err[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/conf/chassis-handler.conf", SRCDIR);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(chassis_config_read(f, path, &cfg, err, sizeof(err)), 0,
	    "%s", err);
	fclose(f);
	chassis_config_free(&cfg);
}
