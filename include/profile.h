/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* modules-list/ profiles: one module name or kernel-tree directory per line. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct profile_entry {
	char *name; /* a module name ("virtio_blk") or a directory under the modules dir ("kernel/fs/") */
	bool directory;
	bool optional; /* "?name": absent from this kernel is not an error */
	int line;
};

/*
 * Parses a profile: '#' starts a comment, blank lines are ignored, a leading '?' marks an entry
 * optional, a trailing '/' marks a directory. Returns the number of entries (>= 0) and an array in
 * *ret to free with profile_free(), or -EINVAL with *bad_line set, or -ENOMEM.
 */
int profile_parse(const char *text, struct profile_entry **ret, int *bad_line);
void profile_free(struct profile_entry *entries, int n);
