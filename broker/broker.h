/* SPDX-License-Identifier: MIT */
/*
 * broker: state shared by the broker process's files. broker.c owns the
 * process (event loop, supervisor link, listeners, timers);
 * broker-handler.c the handler connections; broker-control.c the ipmi-ctl
 * connections; broker-bus.c the bus-driver links; broker-route.c routing,
 * fallbacks and the commands the broker answers itself.
 */
#ifndef BROKER_H
#define BROKER_H

#include <sys/queue.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "inflight.h"
#include "registry.h"
#include "stats.h"
#include "trace.h"
#include "wire.h"

#define BROKER_ARENA_SIZE	(16 * 1024)
#define BROKER_OUTQ_LIMIT	4096	/* datagrams queued per peer */

struct event;
struct event_base;

/* What a request's handler is told about the bus it came in on. */
struct bus_facts {
	char		name[CONFIG_NAME_MAX];
	uint8_t		channel;
	uint8_t		medium;
	uint8_t		protocol;
	uint16_t	max_request;
	uint16_t	max_response;
	uint32_t	deadline_ms;		/* default for requests */
	uint32_t	deadline_limit_ms;	/* no registration exceeds */
	uint16_t	max_outstanding;
};

/*
 * Output to a handler or a driver. Peers that take batches (they say so in
 * their hello) get what one round of the event loop produced for them in
 * one datagram: envelopes collect in a pooled wire_batch and broker_flush()
 * sends them when the round ends. Others get each envelope at once. The
 * queue behind both holds datagrams a full socket refused.
 */
struct bout {
	TAILQ_ENTRY(bout)	 dirty;		/* listed while pend != NULL */
	int			 fd;
	struct wire_queue	*q;
	struct event		*ev_write;	/* armed while q holds any */
	struct wire_batch	*pend;
	bool			 batches;
	/* A deferred send failed (-errno): drop the peer. */
	void			(*fail)(struct bout *, int);
};

struct hconn {
	TAILQ_ENTRY(hconn)	 entry;
	int			 fd;
	struct event		*ev_read;
	struct event		*ev_write;
	struct wire_queue	 outq;
	struct bout		 out;
	char			 name[CONFIG_NAME_MAX];
	pid_t			 pid;
	uid_t			 uid;
	gid_t			 gid;
	bool			 welcomed;
	bool			 is_default;
	bool			 in_dispatch;
	bool			 dead;		/* freed when dispatch ends */
	uint64_t		 seq;		/* next request sequence */
	struct inflight_list	 targets;	/* routed to it */
	struct inflight_list	 sent;		/* it sent */
	TAILQ_HEAD(, reg_entry)	 regs;
	uint32_t		 nregs;
	uint32_t		 inflight;
	uint64_t		 served;
	uint64_t		 fallbacks;
	uint64_t		 late;
	uint64_t		 nsent;
	uint32_t		 sending;	/* its requests in flight */
	uint64_t		 connected_ns;
	uint32_t		 default_deadline_ms;
};
TAILQ_HEAD(hconn_list, hconn);

struct ctl_snapshot;

struct cconn {
	TAILQ_ENTRY(cconn)	 entry;
	int			 fd;
	struct event		*ev_read;
	struct event		*ev_write;
	struct wire_queue	 outq;
	bool			 welcomed;
	bool			 in_dispatch;
	bool			 dead;		/* freed when dispatch ends */
	uid_t			 uid;
	struct inflight_list	 sent;		/* at most one */
	struct ctl_snapshot	*snap;		/* listing being streamed */
	char			 send_bus[CONFIG_NAME_MAX]; /* its send's */
	bool			 tracing;	/* sent Trace: events only */
	LIST_ENTRY(cconn)	 trace_entry;	/* broker.tracers */
	struct trace_filter	 trace;
	uint64_t		 trace_drops;	/* not yet reported */
};
TAILQ_HEAD(cconn_list, cconn);

/* A handler waiting for a driver's answer (attention or a control). */
struct attn_wait {
	TAILQ_ENTRY(attn_wait)	 entry;
	uint32_t		 tag;		/* ours, on the bus link */
	struct hconn		*h;
	uint32_t		 htag;		/* the handler's */
};
TAILQ_HEAD(attn_list, attn_wait);

struct blink {
	TAILQ_ENTRY(blink)	 entry;
	int			 fd;
	struct event		*ev_read;
	struct event		*ev_write;
	struct wire_queue	 outq;
	struct bout		 out;
	bool			 welcomed;
	bool			 in_dispatch;
	bool			 dead;		/* freed when dispatch ends */
	struct bus_facts	 facts;
	char			 driver[CONFIG_NAME_MAX];
	char			 device[128];
	bool			 can_set_attention;
	bool			 can_clear_attention;
	bool			 peer_connected;	/* stream media */
	uint32_t		 controls;	/* ControlOps it offers now */
	uint32_t		 max_inflight;
	uint32_t		 inflight;
	struct inflight_list	 sent;
	struct attn_list	 attn;
	uint64_t		 requests;
	uint64_t		 drops;
	struct bus_stats {
		uint64_t	frames_in, frames_out, malformed,
				bad_checksum, oversize, stale, write_errors,
				cancelled;
		uint32_t	queue_depth;
	}			 stats;
};
TAILQ_HEAD(blink_list, blink);

/* What the supervisor says of a bus's driver process. */
struct bus_proc {
	char		name[CONFIG_NAME_MAX];
	char		state[16];
	uint32_t	pid;
	uint32_t	restarts;
	char		last_exit[64];
};

struct broker {
	struct event_base	*base;
	struct config		 cfg;
	bool			 configured;
	int			 sup_fd;
	struct event		*ev_sup;
	int			 hlisten;
	int			 clisten;
	struct event		*ev_hlisten;
	struct event		*ev_clisten;
	struct event		*ev_deadline;
	uint64_t		 timer_at;	/* 0: not armed */
	struct registry		*reg;
	struct inflight_pool	 pool;
	struct stats		 stats;
	struct hconn_list	 handlers;
	uint32_t		 nhandlers;
	struct cconn_list	 controls;
	uint32_t		 ncontrols;
	LIST_HEAD(, cconn)	 tracers;	/* zeroed is empty */
	uint32_t		 ntracers;
	struct blink_list	 buses;
	struct bus_proc		 procs[CONFIG_BUS_MAX];
	size_t			 nprocs;
	uint32_t		 attn_tag;
	struct hconn		*default_handler;
	struct bus_facts	 ctl_facts;
	struct bus_facts	 internal_facts;
	uint32_t		 ctl_inflight;
	uint64_t		 start_ns;
	struct wire_arena	 arena;
	uint8_t			 arena_buf[BROKER_ARENA_SIZE];
	uint8_t			 rbuf[WIRE_MSG_MAX + 1];
	bool			 quit;
};

extern struct broker broker;

/* broker.c */
uint64_t broker_now_ns(void);
void	bout_init(struct bout *o, int fd, struct wire_queue *q,
	    struct event *ev_write, void (*fail)(struct bout *, int));
int	bout_put(struct bout *o, const ProtobufCMessage *m);
void	bout_release(struct bout *o);
void	broker_flush(void);
void	broker_stop(void);
void	broker_timer_update(void);
void	broker_accept_failed(struct event *listener, const char *what);
int	broker_main(int sup_fd);

/* broker-handler.c */
void	handler_accept(int fd, short ev, void *arg);
void	handler_drop(struct hconn *h, const char *why);
int	handler_send(struct hconn *h, const ProtobufCMessage *m);
void	handler_send_request(struct hconn *h, struct inflight *f,
	    const uint8_t *data, size_t len, const struct bus_facts *facts,
	    uint32_t origin_pid);
void	handler_config_changed(void);
void	handler_close_all(void);
void	handler_result_status(struct hconn *h, uint32_t tag, int status,
	    const char *msg);
void	handler_broadcast_event(int kind, const char *bus);

/* broker-control.c */
void	control_accept(int fd, short ev, void *arg);
void	control_send_result(struct cconn *c, uint8_t cc, const uint8_t *data,
	    size_t len, const char *who, uint32_t latency_us);
void	control_close_all(void);
/* Hand one event to every trace client whose filter wants it. Routing
 * calls it only when TRACE_ACTIVE(): the one branch tracing costs when
 * nobody traces. */
void	control_trace(const struct trace_event *ev);
#define TRACE_ACTIVE()	(broker.ntracers != 0)

/* broker-bus.c */
int	bus_link_add(int fd, const char *name, uint32_t max_inflight,
	    uint32_t deadline_ms);
void	bus_send_response(struct blink *b, uint64_t token, uint8_t netfn,
	    uint8_t lun, uint8_t cmd, uint8_t cc, const uint8_t *data,
	    size_t len);
void	bus_close_all(void);
struct blink *bus_find(const char *name);
void	bus_proc_state(const char *name, const char *state, uint32_t pid,
	    uint32_t restarts, const char *last_exit);
const struct bus_proc *bus_proc_find(const char *name);
/* Handler side: attention toward the host, host resets, events. */
void	bus_attention(struct hconn *h, uint32_t tag, const char *bus,
	    bool set);
void	bus_host_reset_from_handler(struct hconn *h, const char *bus);
void	bus_control(struct hconn *h, uint32_t tag, const char *bus, int op);
void	bus_forget_handler(struct hconn *h);

/* broker-route.c */
struct route_req {
	enum inflight_origin	 kind;
	void			*origin;
	struct inflight_list	*origin_list;
	uint32_t		*origin_count;		/* per-origin in flight */
	uint32_t		 origin_limit;
	uint64_t		 token;
	uint8_t			 netfn;
	uint8_t			 lun;
	uint8_t			 cmd;
	uint8_t			 channel;
	const uint8_t		*data;
	size_t			 len;
	const struct bus_facts	*facts;
	uint32_t		 origin_pid;
};

void	route_request(const struct route_req *rq);
void	route_answer(struct hconn *h, uint64_t id, uint8_t cc,
	    const uint8_t *data, size_t len);
void	route_expire(uint64_t now_ns);
void	route_handler_gone(struct hconn *h);
void	route_origin_gone(struct inflight_list *list);
void	route_refused(struct inflight *f);

#endif /* BROKER_H */
