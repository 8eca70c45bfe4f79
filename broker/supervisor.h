/* SPDX-License-Identifier: MIT */
#ifndef SUPERVISOR_H
#define SUPERVISOR_H

int	supervisor_main(const char *config_path);

#endif /* SUPERVISOR_H */
