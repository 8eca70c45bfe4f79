/* SPDX-License-Identifier: MIT */
/*
 * example-minimal: the smallest complete handler. It serves OEM netfn 0x30
 * cmd 0x01 at once from its callback, and cmd 0x02 later: that callback
 * only keeps the request, and the main loop answers it on the next turn,
 * as a handler waiting for hardware would. The socket comes from
 * $IPMI_BROKER_SOCKET (or the default path).
 */
#include <poll.h>
#include <stdio.h>

#include <ipmi/ipmiclient.h>

static struct ipmic_request *later;	/* cmd 0x02, answered from main() */

static void
get_version(struct ipmic *c, struct ipmic_request *req, void *arg)
{
	static const uint8_t version[] = { 0x01, 0x02, 0x03 };

	ipmic_reply(req, 0x00, version, sizeof(version));
}

static void
get_slow(struct ipmic *c, struct ipmic_request *req, void *arg)
{
	if (later != NULL)
		ipmic_reply_cc(req, 0xc0);	/* node busy: one at a time */
	else
		later = req;
}

int
main(void)
{
	struct ipmic_key	 k1 = { .netfn = 0x30, .cmd = 0x01 };
	struct ipmic_key	 k2 = { .netfn = 0x30, .cmd = 0x02 };
	struct ipmic_error	 err;
	struct ipmic		*c;
	struct pollfd		 pfd;
	int			 r;

	if ((c = ipmic_new("example-minimal")) == NULL)
		return 1;
	if ((r = ipmic_connect(c, 5000)) < 0 ||
	    (r = ipmic_register(c, &k1, 0, get_version, NULL, &err)) != 0 ||
	    (r = ipmic_register(c, &k2, 0, get_slow, NULL, &err)) != 0) {
		fprintf(stderr, "example-minimal: %s %s\n", ipmic_strerror(r),
		    r > 0 ? err.message : "");
		ipmic_free(c);
		return 1;
	}
	pfd.fd = ipmic_fd(c);	/* the same fd for the client's lifetime */
	pfd.events = POLLIN;
	for (;;) {
		if (poll(&pfd, 1, -1) < 0 || ipmic_dispatch(c) < 0)
			break;
		if (later != NULL) {
			/* Async answer: the callback has long returned. */
			ipmic_reply(later, 0x00, "\x2a", 1);
			later = NULL;
		}
	}
	ipmic_free(c);
	return 1;
}
