/* SPDX-License-Identifier: MIT */
/*
 * ctl: the pieces of ipmi-ctl that do no I/O on the control socket.
 *
 * ctl-parser.c turns argv into a struct ctl_params through a token table
 * (command words match by unique prefix, as in bgpctl) and parses the hex
 * bytes of `send`. ctl-output.c formats what the broker streams back, either
 * as aligned text tables or as one JSON document; each record type has one
 * text printer and one JSON printer behind struct ctl_output. Output is
 * collected and written only when the broker's answer is complete, so an
 * error half way through a listing never leaves half a table or a broken
 * JSON document on stdout. ctl-trace.c is the exception: a trace prints
 * each event as it comes, one line each, and writes pcap records
 * (pcap.c).
 */
#ifndef CTL_H
#define CTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "control.pb-c.h"

#define CTL_SOCKET_DEFAULT	"/run/ipmi-broker/control.sock"
#define CTL_SOCKET_ENV		"IPMI_CTL_SOCKET"
#define CTL_DATA_MAX		1024	/* request data after cmd */

/* Exit codes. */
#define CTL_EXIT_OK		0
#define CTL_EXIT_REFUSED	1	/* broker said no, or cc != 0x00 */
#define CTL_EXIT_BROKER		2	/* cannot talk to the broker */
#define CTL_EXIT_USAGE		64	/* bad command line, EX_USAGE */

/* Expected failures of the parser (positive). */
#define CTL_E_USAGE		1	/* print usage */
#define CTL_E_INVALID		2	/* message already in err */
#define CTL_E_HELP		3	/* -h: usage on stdout, exit 0 */
#define CTL_E_VERSION		4	/* --version */

enum ctl_action {
	CTL_NONE,
	CTL_LIST,
	CTL_HANDLERS,
	CTL_BUSES,
	CTL_STATS,
	CTL_STATUS,
	CTL_SEND,
	CTL_TRACE,
};

struct ctl_token {
	const char	*word;
	enum ctl_action	 action;
	int		 min_args;	/* operands after the word */
	int		 max_args;	/* -1: no limit */
	const char	*help;
};

struct ctl_params {
	enum ctl_action	 action;
	const char	*socket;	/* -s, $IPMI_CTL_SOCKET, default */
	int		 json;
	int		 verbose;
	int		 has_channel;
	uint8_t		 channel;
	const char	*bus;		/* send: as if from that bus;
					 * trace: only that bus */
	int		 has_lun;
	uint8_t		 lun;
	uint8_t		 netfn;
	uint8_t		 cmd;
	size_t		 datalen;
	uint8_t		 data[CTL_DATA_MAX];
	/* trace */
	int		 has_netfn;
	int		 has_cmd;
	const char	*handler;
	int		 errors;
	const char	*wfile;		/* -w: pcap file */
	int		 quiet;		/* -q: with -w, print nothing */
	uint64_t	 count;		/* stop after this many; 0 never */
};

extern const struct ctl_token ctl_tokens[];

/* ctl-parser.c */
const struct ctl_token *ctl_token_match(const struct ctl_token *table,
	    const char *word, size_t *nmatch);
size_t	ctl_token_candidates(const struct ctl_token *table,
	    const char *word, char *buf, size_t len);
int	ctl_parse_byte(const char *s, uint8_t *out);
int	ctl_parse(int argc, char **argv, struct ctl_params *p, char *err,
	    size_t errlen);
void	ctl_usage(FILE *f);

/* ctl-output.c: formatting helpers (exported for the unit test) */
void	ctl_fmt_set(uint32_t mask, unsigned int nbits, char *buf,
	    size_t len);
void	ctl_fmt_luns(uint32_t mask, char *buf, size_t len);
void	ctl_fmt_channels(uint32_t mask, char *buf, size_t len);
void	ctl_fmt_usec(uint64_t us, char *buf, size_t len);
void	ctl_fmt_uptime(uint64_t ms, char *buf, size_t len);
const char *ctl_cc_name(unsigned int cc);
void	ctl_json_string(FILE *f, const char *s);
void	ctl_clean(char *dst, size_t len, const char *src);

/* ctl-output.c: collecting and printing the broker's answer */
struct ctl_out;

struct ctl_out	*ctl_out_new(enum ctl_action action, int json);
struct ctl_out	*ctl_out_free(struct ctl_out *o);
void	ctl_out_registration(struct ctl_out *o, const Ctl__Registration *r);
void	ctl_out_handler(struct ctl_out *o, const Ctl__HandlerInfo *h);
void	ctl_out_bus(struct ctl_out *o, const Ctl__BusInfo *b);
void	ctl_out_command_stat(struct ctl_out *o, const Ctl__CommandStat *s);
void	ctl_out_counter(struct ctl_out *o, const Ctl__Counter *c);
void	ctl_out_status(struct ctl_out *o, const Ctl__Status *s);
void	ctl_out_send_result(struct ctl_out *o, const Ctl__SendResult *r);
int	ctl_out_finish(struct ctl_out *o, FILE *dst);

/* ctl-trace.c: one line per trace event, and its pcap record */
struct pcap_msg;
const char *ctl_cmd_name(unsigned int netfn, unsigned int cmd);
void	ctl_trace_event(FILE *f, const Ctl__TraceEvent *ev, int json);
void	ctl_trace_dropped(FILE *f, uint64_t count, int json);
void	ctl_trace_pcap_msg(const Ctl__TraceEvent *ev, struct pcap_msg *m);

#endif /* CTL_H */
