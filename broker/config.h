/* SPDX-License-Identifier: MIT */
/*
 * config: the daemon's settings. The supervisor reads the INI file with
 * libinih (config_load()), resolves user and group names, and sends the
 * result to the broker as a sup.Config message (config_to_proto()); the
 * broker turns it back into this struct (config_from_proto()), checking
 * every field again, and never opens the file itself.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <sys/types.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "supervisor.pb-c.h"

#define CONFIG_NAME_MAX		64
#define CONFIG_ACL_MAX		64
#define CONFIG_RANGES_MAX	16
#define CONFIG_BUS_MAX		16
#define CONFIG_ERR_MAX		512

struct config_range {
	uint32_t	lo;
	uint32_t	hi;
};

struct config_acl {
	char			name[CONFIG_NAME_MAX];
	bool			any_uid;
	uid_t			uid;
	bool			any_gid;
	gid_t			gid;
	struct config_range	netfn[CONFIG_RANGES_MAX];
	size_t			n_netfn;
	struct config_range	iana[CONFIG_RANGES_MAX];
	size_t			n_iana;
	struct config_range	body[CONFIG_RANGES_MAX];
	size_t			n_body;
};

struct config_bus {
	char		name[CONFIG_NAME_MAX];
	char		driver[CONFIG_NAME_MAX];
	char		device[PATH_MAX];
	uint8_t		channel;
	uint32_t	deadline_ms;	/* 0: the broker's default */
	uint32_t	max_inflight;	/* 0: the broker's default */
	uint32_t	queue;		/* responses waiting for the device */
	uint32_t	baud;		/* serial: line speed (0: leave it) */
	char		user[CONFIG_NAME_MAX];	/* empty: the broker's user */
	char		driver_path[PATH_MAX];	/* empty: the installed one */
};

struct config {
	uint64_t	generation;	/* set by the supervisor per load */
	char		path[PATH_MAX];

	/* [broker] */
	char		runtime_dir[PATH_MAX];
	char		handler_socket[PATH_MAX];	/* absolute */
	char		control_socket[PATH_MAX];	/* absolute */
	mode_t		handler_socket_mode;
	mode_t		control_socket_mode;
	char		user[CONFIG_NAME_MAX];	/* empty: stay who we are */
	char		group[CONFIG_NAME_MAX];
	uid_t		broker_uid;	/* resolved; our own uid if no user */
	gid_t		broker_gid;
	int		log_level;	/* enum log_level */
	uint32_t	max_handlers;
	uint32_t	max_controls;

	/* [limits] */
	uint32_t	deadline_ms;
	uint32_t	max_deadline_ms;	/* cap per registration */
	uint32_t	inflight_total;
	uint32_t	inflight_per_handler;
	uint32_t	inflight_per_bus;
	uint32_t	max_registrations;	/* per handler */
	uint32_t	max_payload;

	/* [fallback] */
	struct {
		uint8_t	no_handler;
		uint8_t	timeout;
		uint8_t	disconnected;
		uint8_t	busy;
		uint8_t	short_oem;
		uint8_t	too_large;
	} fallback;

	/* [default_route] */
	struct {
		char	handler[CONFIG_NAME_MAX];	/* empty: use code */
		bool	any_uid;
		uid_t	uid;
		bool	any_gid;
		gid_t	gid;
		uint8_t	code;
	} default_route;

	/* [acl NAME] ... */
	struct config_acl	acl[CONFIG_ACL_MAX];
	size_t			n_acl;

	/* [ctl] */
	uint8_t		ctl_channel;
	uint16_t	ctl_max_response;

	/* [internal] */
	uint8_t		internal_channel;

	/* [bus NAME] ... (drivers arrive with the bus-side work) */
	struct config_bus	bus[CONFIG_BUS_MAX];
	size_t			n_bus;
};

/* Fill in every default. */
void	config_defaults(struct config *cfg);

/*
 * Read path into cfg (defaults first). Returns 0, or -1 with
 * "path:line: what is wrong" in err (line 0 for a problem with the file
 * as a whole, such as a missing file); on failure cfg is unchanged.
 */
int	config_load(struct config *cfg, const char *path, char *err,
	    size_t errlen);

/*
 * Build a sup.Config from cfg. The result points into cfg (strings) and
 * into *store, which the caller frees with config_proto_free().
 */
struct config_proto;
Sup__Config	*config_to_proto(const struct config *cfg,
		    struct config_proto **store);
void		 config_proto_free(struct config_proto *store);

/*
 * Check a sup.Config from the supervisor and fill cfg. Socket paths and
 * the runtime directory are not carried (the broker gets sockets, not
 * paths): they keep config_defaults() values, as do broker_gid and the
 * names in user/group. Returns 0, or -1 with the reason in err; on
 * failure cfg is unchanged.
 */
int	config_from_proto(struct config *cfg, const Sup__Config *m, char *err,
	    size_t errlen);

/* Whether uid/gid may register netfn (with iana/body key) under cfg's ACL:
 * root and the broker's own uid always may; with no rule nobody else may. */
bool	config_acl_allows(const struct config *cfg, uid_t uid, gid_t gid,
	    uint8_t netfn, uint32_t key);

#endif /* CONFIG_H */
