/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"

static bool valid_char(char c, bool directory)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || (directory && (c == '/' || c == '.'));
}

int profile_parse(const char *text, struct profile_entry **ret, int *bad_line)
{
	struct profile_entry *v = NULL;
	int n = 0, line = 0;
	*ret = NULL;
	for (const char *p = text; *p;) {
		const char *eol = strchrnul(p, '\n');
		const char *hash = memchr(p, '#', (size_t)(eol - p));
		const char *b = p, *e = hash ? hash : eol;
		line++;
		p = *eol ? eol + 1 : eol;
		while (b < e && isspace((unsigned char)*b))
			b++;
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
		if (b == e)
			continue;
		struct profile_entry ent = {.line = line};
		if (*b == '?') {
			ent.optional = true;
			b++;
		}
		ent.directory = e > b && e[-1] == '/';
		bool ok = b < e && *b != '/' && !(ent.directory && strstr(b, "..") && strstr(b, "..") < e);
		for (const char *q = b; ok && q < e; q++)
			ok = valid_char(*q, ent.directory);
		if (!ok) {
			*bad_line = line;
			profile_free(v, n);
			return -EINVAL;
		}
		struct profile_entry *nv = realloc(v, sizeof(*v) * (size_t)(n + 1));
		ent.name = strndup(b, (size_t)(e - b));
		if (!nv || !ent.name) {
			free(ent.name);
			profile_free(nv ? nv : v, n);
			return -ENOMEM;
		}
		v = nv;
		v[n++] = ent;
	}
	*ret = v;
	return n;
}

void profile_free(struct profile_entry *entries, int n)
{
	for (int i = 0; i < n; i++)
		free(entries[i].name);
	free(entries);
}
