/* SPDX-License-Identifier: MIT */
#ifndef SUPERVISOR_H
#define SUPERVISOR_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "config.h"

struct event_base;

int	supervisor_main(const char *config_path, int debug);
/* Send to the broker, if one is up; fds are copied by the kernel. */
void	supervisor_to_broker(const ProtobufCMessage *m, const int *fds,
	    size_t nfds);
bool	supervisor_broker_up(void);

/* supervisor-bus.c */
void	supbus_init(struct event_base *base, const struct config *cfg,
	    const char *self, int debug);
void	supbus_start_all(void);
void	supbus_stop_all(void);
size_t	supbus_running(void);
bool	supbus_child_exit(pid_t pid, const char *how, bool restart);
void	supbus_report_all(void);
void	supbus_free_all(void);

#endif /* SUPERVISOR_H */
