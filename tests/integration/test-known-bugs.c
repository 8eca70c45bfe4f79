/* SPDX-License-Identifier: MIT */
/*
 * Known bugs: tests that assert the behaviour the design asks for and
 * that the code does not have yet. They run only on request:
 *   meson test -C BUILD --setup knownbugs --suite known-bugs
 * When one passes, move it to the test file of its feature.
 *
 * odd netfn register: ARCHITECTURE.md and the brief want a Register with an
 * odd (response) netfn refused with Result INVALID and a reason, the way
 * registry_key_check() words it. proto/validate.c validate_key() rejects
 * the odd netfn first, as a protocol violation, so broker-handler.c drops
 * the handler with Goodbye "register: netfn 0x31 is not a request netfn"
 * and never sends a Result.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "itest.h"

static struct itest_env	env;

static void
setup(void)
{
	cr_assert_eq(itest_env_init(&env), 0, "temp dir");
	cr_assert_eq(itest_write_config(&env, NULL), 0);
	cr_assert_eq(itest_daemon_start(&env, 5000), 0,
	    "daemon did not answer on %s (log %s)", env.csock, env.log);
}

static void
teardown(void)
{
	itest_env_cleanup(&env);
}

TestSuite(known_bugs, .init = setup, .fini = teardown, .timeout = 30);

Test(known_bugs, odd_netfn_register_is_refused_invalid_with_a_reason)
{
	struct rawh		h;
	struct rawh_result	res;
	Hnd__Key		k = rawh_key(0x31, false, 0x01);

	cr_assert_eq(rawh_connect(&h, env.hsock, "odd", 3000), 0);
	cr_assert_eq(rawh_register(&h, 3, &k, 0, false, &res),
	    HND__STATUS__INVALID, "expected Result INVALID, got status %d "
	    "(%s)", res.status, res.message);
	cr_assert(strstr(res.message, "odd") != NULL, "%s", res.message);
	/* Still connected: a valid key registers. */
	cr_assert_eq(rawh_reg(&h, 0x30, 0x01), HND__STATUS__OK);
	rawh_close(&h);
	cr_assert_eq(itest_daemon_stop(&env, 5000), 0);
}
