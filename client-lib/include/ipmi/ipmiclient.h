/* SPDX-License-Identifier: MIT */
/*
 * libipmiclient: write an IPMI command handler for ipmi-broker.
 *
 * A handler connects to the broker's handler socket, registers the
 * netfn/cmd pairs it serves and answers the requests the broker routes to
 * it, now or much later. It may also send requests of its own into the
 * broker; they are routed like host requests and arrive at their handler on
 * the broker's internal channel.
 *
 * The library hands the application one file descriptor that never changes
 * for the life of the struct ipmic, even when the broker restarts and the
 * library reconnects and registers everything again by itself. Put it in
 * any event loop (poll, epoll, libevent, glib, ...), and call
 * ipmic_dispatch() when it is readable; or call ipmic_run() to let the
 * library loop. The library never exits, aborts or prints on its own: it
 * logs through the callback set with ipmic_set_log().
 *
 * Not thread-safe: use one struct ipmic from one thread.
 *
 * Return values: 0 on success, a negative errno on system errors, or a
 * positive IPMIC_E_* code when the broker refused what was asked.
 */
#ifndef IPMI_IPMICLIENT_H
#define IPMI_IPMICLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IPMIC_DEFAULT_SOCKET	"/run/ipmi-broker/handler.sock"
#define IPMIC_SOCKET_ENV	"IPMI_BROKER_SOCKET"

/* Refusals from the broker (positive, as returned by ipmic_register()). */
#define IPMIC_E_CONFLICT	1	/* overlaps another handler's key */
#define IPMIC_E_DENIED		2	/* the broker's access rules refuse it */
#define IPMIC_E_INVALID		3	/* a field is out of range */
#define IPMIC_E_NOT_FOUND	4	/* unregister: not registered */
#define IPMIC_E_LIMIT		5	/* too many registrations */
#define IPMIC_E_UNSUPPORTED	6	/* the bus cannot do that */
#define IPMIC_E_NO_BUS		7	/* no such bus, or it is down */

#define IPMIC_LUN_ALL		0x0f
#define IPMIC_CHANNEL_ALL	0xffff

#define IPMIC_NETFN_GROUP	0x2c	/* keyed by defining-body code */
#define IPMIC_NETFN_OEM		0x2e	/* keyed by 24-bit IANA number */

struct ipmic;

/*
 * What a registration matches. netfn is a request netfn (even). For
 * IPMIC_NETFN_OEM set iana, for IPMIC_NETFN_GROUP set body; leave both 0
 * otherwise. A lun_mask or channel_mask of 0 means "all".
 */
struct ipmic_key {
	uint8_t		netfn;
	bool		any_cmd;
	uint8_t		cmd;
	uint32_t	iana;
	uint8_t		body;
	uint8_t		lun_mask;
	uint16_t	channel_mask;
};

/* Facts about the bus a request came in on. */
struct ipmic_bus_facts {
	char		bus[32];
	uint8_t		medium;		/* IPMI channel medium type */
	uint8_t		protocol;	/* IPMI channel protocol type */
	uint16_t	max_request;
	uint16_t	max_response;	/* largest data after the CC */
	uint32_t	deadline_ms;	/* the broker's deadline on that bus */
	uint16_t	max_outstanding;
};

/*
 * A request routed to this handler. The library owns it; it stays valid
 * until it is answered with ipmic_reply() or ipmic_reply_cc(), which the
 * application must call exactly once, now or later. Fields are read-only.
 */
struct ipmic_request {
	uint8_t		netfn;		/* even: the request's netfn */
	uint8_t		lun;
	uint8_t		cmd;
	uint8_t		channel;
	const uint8_t	*data;		/* after cmd; IANA/body included */
	size_t		len;
	uint32_t	deadline_ms;	/* time the broker waits for us */
	uint32_t	origin_pid;	/* internal requests: the sender */
	struct ipmic_bus_facts facts;
};

/* A refusal from the broker, filled in by ipmic_register() and friends. */
struct ipmic_error {
	int		code;		/* IPMIC_E_* or 0 */
	char		message[256];
	char		holder_name[64]; /* IPMIC_E_CONFLICT: the holder */
	uint32_t	holder_pid;
	struct ipmic_key overlap;	/* IPMIC_E_CONFLICT: its key */
};

enum ipmic_event {
	IPMIC_EV_CONNECTED,		/* welcomed by a broker */
	IPMIC_EV_DISCONNECTED,		/* lost it; reconnecting */
	IPMIC_EV_REGISTERED_AGAIN,	/* all keys re-registered */
	IPMIC_EV_REGISTRATION_LOST,	/* a key was refused on reconnect */
};

/* What the broker says of the buses (ipmic_set_bus_event()). */
enum ipmic_bus_event {
	IPMIC_BUS_HOST_RESET,		/* the host was reset: forget its
					 * state, attention included */
	IPMIC_BUS_UP,			/* a bus driver came (back) up */
	IPMIC_BUS_DOWN,			/* a bus driver went away */
};

enum ipmic_log_level { IPMIC_LOG_ERR, IPMIC_LOG_WARN, IPMIC_LOG_INFO,
    IPMIC_LOG_DEBUG };

typedef void ipmic_request_fn(struct ipmic *c, struct ipmic_request *req,
    void *arg);
typedef void ipmic_answer_fn(struct ipmic *c, int status, uint8_t cc,
    const uint8_t *data, size_t len, void *arg);
typedef void ipmic_event_fn(struct ipmic *c, enum ipmic_event ev,
    const struct ipmic_key *key, void *arg);
typedef void ipmic_log_fn(enum ipmic_log_level level, const char *msg,
    void *arg);
typedef void ipmic_bus_event_fn(struct ipmic *c, enum ipmic_bus_event ev,
    const char *bus, void *arg);

/**
 * ipmic_new() - create a client
 * @name: a label shown in the broker's listings and logs (max 63 bytes)
 *
 * Nothing is connected yet. The socket path is $IPMI_BROKER_SOCKET, else
 * IPMIC_DEFAULT_SOCKET, unless ipmic_set_socket() says otherwise.
 * Returns NULL when out of memory or when the epoll/timer fds cannot be had.
 */
struct ipmic *ipmic_new(const char *name);

/**
 * ipmic_free() - disconnect and free everything, including unanswered
 * requests. Accepts NULL. Returns NULL.
 */
struct ipmic *ipmic_free(struct ipmic *c);

/** ipmic_set_socket() - connect to @path instead of the default. */
int ipmic_set_socket(struct ipmic *c, const char *path);

/** ipmic_set_log() - route the library's log messages to @fn. */
void ipmic_set_log(struct ipmic *c, ipmic_log_fn *fn, void *arg);

/** ipmic_set_event() - be told about connects, disconnects and lost keys. */
void ipmic_set_event(struct ipmic *c, ipmic_event_fn *fn, void *arg);

/**
 * ipmic_connect() - connect and exchange hellos
 * @timeout_ms: how long to keep trying; < 0 waits forever
 *
 * Returns 0 once the broker has welcomed us, -ETIMEDOUT, or another
 * negative errno (-EACCES for a socket we may not open, -EPROTO for a
 * broker that speaks another protocol version). From then on the library
 * reconnects by itself whenever the connection is lost.
 */
int ipmic_connect(struct ipmic *c, int timeout_ms);

/**
 * ipmic_fd() - the fd to watch for readability; it never changes.
 */
int ipmic_fd(const struct ipmic *c);

/**
 * ipmic_dispatch() - do all the work that is ready, without blocking
 *
 * Calls request and answer callbacks. Returns 0, or a negative errno for a
 * failure the library cannot recover from by reconnecting.
 */
int ipmic_dispatch(struct ipmic *c);

/**
 * ipmic_run() - wait and dispatch until ipmic_stop() is called
 *
 * Returns 0 after ipmic_stop(), or a negative errno.
 */
int ipmic_run(struct ipmic *c);

/** ipmic_stop() - make ipmic_run() return; safe from a callback and from
 * a signal handler. */
void ipmic_stop(struct ipmic *c);

/**
 * ipmic_register() - serve requests that match @key
 * @deadline_ms: 0 for the bus's deadline; the broker clamps it to its cap
 * @fn: called for each request; it must answer each one exactly once
 * @err: filled in on refusal; may be NULL
 *
 * Blocks until the broker answers (other traffic is dispatched meanwhile,
 * so callbacks may run). Returns 0, IPMIC_E_* (a conflict names the
 * holder in @err), or a negative errno. The library remembers the key and
 * registers it again after a reconnect.
 */
int ipmic_register(struct ipmic *c, const struct ipmic_key *key,
    uint32_t deadline_ms, ipmic_request_fn *fn, void *arg,
    struct ipmic_error *err);

/**
 * ipmic_register_default() - receive every request nobody registered
 *
 * The broker's config names the one handler allowed to take the default
 * route, by hello name and uid/gid. Returns 0, IPMIC_E_DENIED for any other
 * handler, IPMIC_E_CONFLICT when the route is held, or a negative errno.
 * Like keys, the route is taken again after a reconnect.
 */
int ipmic_register_default(struct ipmic *c, ipmic_request_fn *fn, void *arg,
    struct ipmic_error *err);

/** ipmic_unregister_default() - give the default route back. */
int ipmic_unregister_default(struct ipmic *c, struct ipmic_error *err);

/** ipmic_unregister() - stop serving @key. Same returns as ipmic_register(). */
int ipmic_unregister(struct ipmic *c, const struct ipmic_key *key,
    struct ipmic_error *err);

/**
 * ipmic_reply() - answer a request and release it
 * @cc: the completion code
 * @data: the response data after the CC (for netfn 0x2C/0x2E it starts
 *        with the body code / IANA, as the specification wants)
 *
 * Returns 0; -ENOTCONN when the connection the request came on is gone
 * (the broker has already answered the host); -EMSGSIZE for data larger
 * than the broker carries (the request is answered 0xCA instead). In all
 * cases @req is freed.
 */
int ipmic_reply(struct ipmic_request *req, uint8_t cc, const void *data,
    size_t len);

/**
 * ipmic_reply_cc() - answer with only a completion code; for netfn
 * 0x2C/0x2E the body code / IANA of the request is echoed after it.
 */
int ipmic_reply_cc(struct ipmic_request *req, uint8_t cc);

/**
 * ipmic_send() - send a request into the broker, answer comes to @fn
 *
 * The request is routed like a host request and reaches its handler on the
 * broker's internal channel. @fn gets status 0 and the completion code and
 * data, or a negative errno (-ECONNRESET when the connection was lost
 * before the answer came). Returns 0 or a negative errno.
 */
int ipmic_send(struct ipmic *c, uint8_t netfn, uint8_t lun, uint8_t cmd,
    const void *data, size_t len, ipmic_answer_fn *fn, void *arg);

/**
 * ipmic_call() - send a request and wait for its answer
 * @cc: receives the completion code
 * @rsp, @rsp_len: in: buffer and its size; out: the data after the CC
 * @timeout_ms: < 0 waits for the broker's answer (which always comes)
 *
 * Other traffic is dispatched while waiting. Returns 0, -ETIMEDOUT,
 * -ENOBUFS when @rsp is too small (it holds the start), or a negative errno.
 */
int ipmic_call(struct ipmic *c, uint8_t netfn, uint8_t lun, uint8_t cmd,
    const void *data, size_t len, uint8_t *cc, void *rsp, size_t *rsp_len,
    int timeout_ms);

/**
 * ipmic_attention() - raise (set) or clear SMS_ATN toward the host on @bus
 * @bus: a bus name, as in struct ipmic_request's facts.bus
 *
 * Blocks until the bus driver has done it. Returns 0, IPMIC_E_NO_BUS,
 * IPMIC_E_UNSUPPORTED (e.g. clearing on BT, whose host clears it; the
 * reason is in @err->message), or a negative errno.
 */
int ipmic_attention(struct ipmic *c, const char *bus, bool set,
    struct ipmic_error *err);

/*
 * Operations on the machine a bus may offer (today: QEMU's external-BMC
 * link, "vm" buses, as far as QEMU's capabilities allow). There is no
 * power-on: that protocol cannot start a VM that was powered off.
 */
enum ipmic_control {
	IPMIC_CONTROL_POWER_OFF,
	IPMIC_CONTROL_RESET,
	IPMIC_CONTROL_NMI,
	IPMIC_CONTROL_SOFT_SHUTDOWN,	/* ACPI power button in the guest */
	IPMIC_CONTROL_IRQ_ENABLE,
	IPMIC_CONTROL_IRQ_DISABLE,
};

/**
 * ipmic_bus_control() - act on the machine behind @bus
 *
 * Blocks until the driver has done it. Answer the host's request first:
 * the broker keeps the order, so the answer reaches the host before the
 * control acts (a reset after the answer, not instead of it). Returns 0,
 * IPMIC_E_NO_BUS, IPMIC_E_UNSUPPORTED (the bus has no such control, or
 * its host side does not offer it; the reason is in @err->message), or a
 * negative errno.
 */
int ipmic_bus_control(struct ipmic *c, const char *bus, enum ipmic_control op,
    struct ipmic_error *err);

/**
 * ipmic_host_reset() - report that the host on @bus was reset (e.g. the
 * chassis handler reset it): the driver drops what the host had asked and
 * clears attention, and every handler gets IPMIC_BUS_HOST_RESET.
 */
int ipmic_host_reset(struct ipmic *c, const char *bus);

/** ipmic_set_bus_event() - be told of host resets and buses up or down. */
void ipmic_set_bus_event(struct ipmic *c, ipmic_bus_event_fn *fn, void *arg);

/** ipmic_strerror() - text for an IPMIC_E_* code or a negative errno. */
const char *ipmic_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif /* IPMI_IPMICLIENT_H */
