/* SPDX-License-Identifier: MIT */
/*
 * validate: every envelope a peer may send is checked in one place; these
 * tests feed it what a hostile or buggy peer would send and what a correct
 * one sends, and check the verdict and the reason.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "validate.h"

static char why[256];

Test(validate, handler_envelope_without_body_is_refused)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;

	cr_assert_eq(validate_from_handler(&env, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "envelope with no body");
}

Test(validate, handler_may_not_send_a_request)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__Request	req = HND__REQUEST__INIT;

	env.body_case = HND__ENVELOPE__BODY_REQUEST;
	env.request = &req;
	cr_assert_eq(validate_from_handler(&env, why, sizeof(why)), -1);
	cr_assert(strstr(why, "not allowed from a handler") != NULL,
	    "got '%s'", why);
}

Test(validate, hello_name_must_be_short_and_printable)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__Hello	h = HND__HELLO__INIT;
	char		long_name[80];

	env.body_case = HND__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	h.name = "app";
	cr_assert_eq(validate_from_handler(&env, why, sizeof(why)), 0);
	h.name = "two\nlines";
	cr_assert_eq(validate_from_handler(&env, why, sizeof(why)), -1);
	h.name = "";
	cr_assert_eq(validate_from_handler(&env, why, sizeof(why)), -1);
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	h.name = long_name;
	cr_assert_eq(validate_from_handler(&env, why, sizeof(why)), -1);
	cr_assert(strstr(why, "hello: name") != NULL, "got '%s'", why);
}

Test(validate, register_key_ranges_are_left_to_the_registry)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__Register	r = HND__REGISTER__INIT;
	Hnd__Key	k = HND__KEY__INIT;

	/* An odd netfn is answered with Result INVALID, not a drop. */
	k.netfn = 0x07;
	r.key = &k;
	env.body_case = HND__ENVELOPE__BODY_REGISTER;
	env.register_ = &r;
	cr_assert_eq(validate_from_handler(&env, why, sizeof(why)), 0);
}

Test(validate, register_without_key_is_refused)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__Register	r = HND__REGISTER__INIT;

	env.body_case = HND__ENVELOPE__BODY_REGISTER;
	env.register_ = &r;
	cr_assert_eq(validate_from_handler(&env, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "register without a key");
}

Test(validate, default_route_register_needs_no_key)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__Register	r = HND__REGISTER__INIT;

	r.default_route = true;
	env.body_case = HND__ENVELOPE__BODY_REGISTER;
	env.register_ = &r;
	cr_assert_eq(validate_from_handler(&env, why, sizeof(why)), 0);
}

Test(validate, response_cc_above_0xff_is_refused)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__Response	rsp = HND__RESPONSE__INIT;

	rsp.cc = 0x100;
	env.body_case = HND__ENVELOPE__BODY_RESPONSE;
	env.response = &rsp;
	cr_assert_eq(validate_from_handler(&env, why, sizeof(why)), -1);
	rsp.cc = 0xff;
	cr_assert_eq(validate_from_handler(&env, why, sizeof(why)), 0);
}

Test(validate, send_from_handler_checks_netfn_lun_cmd)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__Send	s = HND__SEND__INIT;

	env.body_case = HND__ENVELOPE__BODY_SEND;
	env.send = &s;
	s.netfn = 0x40;
	cr_assert_eq(validate_from_handler(&env, why, sizeof(why)), -1);
	s.netfn = 0x0a;
	s.lun = 4;
	cr_assert_eq(validate_from_handler(&env, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "send: lun 4 out of range");
	s.lun = 3;
	cr_assert_eq(validate_from_handler(&env, why, sizeof(why)), 0);
}

Test(validate, control_send_channel_above_15_is_refused)
{
	Ctl__Envelope	env = CTL__ENVELOPE__INIT;
	Ctl__Send	s = CTL__SEND__INIT;

	env.body_case = CTL__ENVELOPE__BODY_SEND;
	env.send = &s;
	s.netfn = 0x06;
	s.cmd = 0x01;
	s.has_channel = true;
	s.channel = 16;
	cr_assert_eq(validate_from_control(&env, why, sizeof(why)), -1);
	s.channel = 15;
	cr_assert_eq(validate_from_control(&env, why, sizeof(why)), 0);
}

Test(validate, control_client_may_not_send_records)
{
	Ctl__Envelope		env = CTL__ENVELOPE__INIT;
	Ctl__Registration	r = CTL__REGISTRATION__INIT;

	env.body_case = CTL__ENVELOPE__BODY_REGISTRATION;
	env.registration = &r;
	cr_assert_eq(validate_from_control(&env, why, sizeof(why)), -1);
}

Test(validate, driver_request_with_response_netfn_is_refused)
{
	Bus__Envelope	env = BUS__ENVELOPE__INIT;
	Bus__Request	r = BUS__REQUEST__INIT;

	env.body_case = BUS__ENVELOPE__BODY_REQUEST;
	env.request = &r;
	r.netfn = 0x07;
	cr_assert_eq(validate_from_driver(&env, why, sizeof(why)), -1);
	r.netfn = 0x06;
	cr_assert_eq(validate_from_driver(&env, why, sizeof(why)), 0);
}

Test(validate, driver_hello_ranges_are_checked)
{
	Bus__Envelope	env = BUS__ENVELOPE__INIT;
	Bus__Hello	h = BUS__HELLO__INIT;

	env.body_case = BUS__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	h.name = "bt";
	h.channel = 16;
	cr_assert_eq(validate_from_driver(&env, why, sizeof(why)), -1);
	h.channel = 1;
	h.max_response = 5000;
	cr_assert_eq(validate_from_driver(&env, why, sizeof(why)), -1);
	h.max_response = 250;
	cr_assert_eq(validate_from_driver(&env, why, sizeof(why)), 0);
}

Test(validate, broker_request_with_channel_above_15_is_refused)
{
	Hnd__Envelope	env = HND__ENVELOPE__INIT;
	Hnd__Request	r = HND__REQUEST__INIT;

	env.body_case = HND__ENVELOPE__BODY_REQUEST;
	env.request = &r;
	r.netfn = 0x06;
	r.channel = 0x10;
	cr_assert_eq(validate_from_broker(&env, why, sizeof(why)), -1);
	r.channel = 0x0f;
	cr_assert_eq(validate_from_broker(&env, why, sizeof(why)), 0);
}

Test(validate, supervisor_may_not_send_hello)
{
	Sup__Envelope	env = SUP__ENVELOPE__INIT;
	Sup__Hello	h = SUP__HELLO__INIT;

	env.body_case = SUP__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	cr_assert_eq(validate_from_supervisor(&env, why, sizeof(why)), -1);
}

Test(validate, trace_filters_are_range_checked)
{
	Ctl__Envelope	env = CTL__ENVELOPE__INIT;
	Ctl__Trace	t = CTL__TRACE__INIT;

	env.body_case = CTL__ENVELOPE__BODY_TRACE;
	env.trace = &t;
	t.bus = "";
	t.handler = "";
	cr_assert_eq(validate_from_control(&env, why, sizeof(why)), 0);
	t.has_netfn = true;
	t.netfn = 0x40;
	cr_assert_eq(validate_from_control(&env, why, sizeof(why)), -1);
	t.netfn = 0x06;
	t.handler = "bad name";
	cr_assert_eq(validate_from_control(&env, why, sizeof(why)), -1);
}
