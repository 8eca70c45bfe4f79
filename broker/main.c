/* SPDX-License-Identifier: MIT */
/*
 * ipmi-brokerd: the supervisor, or (started by it with --broker) the
 * broker. One binary, so the supervisor always starts the broker of its
 * own version.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "config.h"
#include "log.h"
#include "supervisor.h"

#ifndef IPMI_BROKER_CONFIG
#define IPMI_BROKER_CONFIG	"/etc/ipmi-broker/ipmi-broker.conf"
#endif

static void
usage(FILE *f)
{
	fprintf(f, "usage: ipmi-brokerd [-dn] [-c config]\n"
	    "  -c FILE  config file (default %s)\n"
	    "  -d       debug logging (one line per request)\n"
	    "  -n       check the config and exit\n"
	    "  -V       print the version\n", IPMI_BROKER_CONFIG);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "broker", no_argument, NULL, 'B' },
		{ "sup-fd", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*config_path = IPMI_BROKER_CONFIG;
	struct config	*cfg;
	char		 err[CONFIG_ERR_MAX], *end;
	int		 ch, debug = 0, check = 0, is_broker = 0;
	long		 sup_fd = -1;

	log_init("ipmi-brokerd", LOG_LVL_INFO);
	while ((ch = getopt_long(argc, argv, "c:dnhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'B':
			is_broker = 1;
			break;
		case 'S':
			sup_fd = strtol(optarg, &end, 10);
			if (*end != '\0' || sup_fd < 0)
				fatalx("--sup-fd: bad fd %s", optarg);
			break;
		case 'V':
			printf("ipmi-brokerd %s\n", IPMI_BROKER_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (debug)
		log_setlevel(LOG_LVL_DEBUG);
	if (is_broker) {
		if (sup_fd < 0)
			fatalx("--broker needs --sup-fd");
		return broker_main((int)sup_fd);
	}
	if (check) {
		if ((cfg = malloc(sizeof(*cfg))) == NULL)
			fatalx("out of memory");
		if (config_load(cfg, config_path, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			free(cfg);
			return 1;
		}
		printf("%s: OK\n", config_path);
		free(cfg);
		return 0;
	}
	return supervisor_main(config_path, debug);
}
