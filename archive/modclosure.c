/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * modclosure MODDIR PROFILE...: the modules a profile names, with their dependencies and softdeps,
 * resolved by libkmod against MODDIR (never the host's modprobe.d), printed as paths relative to
 * MODDIR, sorted. Built-in modules need no file and are left out. Exit 1 when a required module is
 * missing from this kernel.
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libkmod.h>

#include "profile.h"

struct closure {
	struct kmod_ctx *ctx;
	const char *moddir;
	char **paths;
	size_t n, cap;
};

static int add_path(struct closure *cl, const char *abs)
{
	size_t len = strlen(cl->moddir);
	const char *rel = strncmp(abs, cl->moddir, len) == 0 && abs[len] == '/' ? abs + len + 1 : abs;
	for (size_t i = 0; i < cl->n; i++)
		if (strcmp(cl->paths[i], rel) == 0)
			return 0; /* seen: its dependencies are in already */
	if (cl->n == cl->cap) {
		size_t cap = cl->cap ? cl->cap * 2 : 64;
		char **p = realloc(cl->paths, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		cl->paths = p;
		cl->cap = cap;
	}
	if (!(cl->paths[cl->n] = strdup(rel)))
		return -ENOMEM;
	cl->n++;
	return 1;
}

static int add_module(struct closure *cl, struct kmod_module *mod);

static int add_list(struct closure *cl, struct kmod_list *list)
{
	struct kmod_list *l;
	int r = 0;
	kmod_list_foreach(l, list)
	{
		struct kmod_module *m = kmod_module_get_module(l);
		if (r >= 0)
			r = add_module(cl, m);
		kmod_module_unref(m);
	}
	kmod_module_unref_list(list);
	return r;
}

static int add_module(struct closure *cl, struct kmod_module *mod)
{
	struct kmod_list *pre = NULL, *post = NULL;
	const char *path = kmod_module_get_path(mod);
	if (!path)
		return 0; /* built in, or a softdep this kernel does not have (modprobe ignores those too) */
	int r = add_path(cl, path);
	if (r <= 0)
		return r;
	r = add_list(cl, kmod_module_get_dependencies(mod));
	if (r < 0)
		return r;
	if (kmod_module_get_softdeps(mod, &pre, &post) == 0) {
		r = add_list(cl, pre);
		int k = add_list(cl, post);
		r = r < 0 ? r : k;
	}
	return r;
}

/* name: a module name or alias; 0 if added or built in, -ENOENT if this kernel has neither */
static int add_name(struct closure *cl, const char *name)
{
	struct kmod_module *mod = NULL;
	int r = kmod_module_new_from_name_lookup(cl->ctx, name, &mod);
	if (r < 0 || !mod) {
		struct kmod_list *list = NULL;
		if (kmod_module_new_from_lookup(cl->ctx, name, &list) < 0 || !list)
			return -ENOENT;
		return add_list(cl, list);
	}
	r = add_module(cl, mod);
	kmod_module_unref(mod);
	return r;
}

static int add_directory(struct closure *cl, const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", cl->moddir, dir);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	int r = 0, found = 0;
	for (struct dirent *e; r >= 0 && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
		if (e->d_type == DT_DIR) {
			r = add_directory(cl, path);
			found += r == 0;
		} else if (fnmatch("*.ko", e->d_name, 0) == 0 || fnmatch("*.ko.*", e->d_name, 0) == 0) {
			struct kmod_module *mod;
			char abs[2 * sizeof(path) + 2];
			snprintf(abs, sizeof(abs), "%s/%s", cl->moddir, path);
			if (kmod_module_new_from_path(cl->ctx, abs, &mod) < 0)
				continue;
			/* by name, so the module gets its modules.dep entry (and with it, its dependencies) */
			r = add_name(cl, kmod_module_get_name(mod));
			kmod_module_unref(mod);
			found++;
		}
	}
	closedir(d);
	return r < 0 ? r : found ? 0 : -ENOENT;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t size = 0;
	if (!f)
		return NULL;
	FILE *m = open_memstream(&buf, &size);
	for (int c; m && (c = fgetc(f)) != EOF;)
		fputc(c, m);
	if (m)
		fclose(m);
	fclose(f);
	return buf;
}

/* Adds what one profile file names: 0, 1 if a required module is missing, -1 if the file is unusable. */
static int add_profile(struct closure *cl, const char *path)
{
	struct profile_entry *ents;
	int bad = 0, failed = 0;
	char *text = read_all(path);
	if (!text) {
		fprintf(stderr, "modclosure: cannot read profile %s: %m\n", path);
		return -1;
	}
	int n = profile_parse(text, &ents, &bad);
	free(text);
	if (n < 0) {
		fprintf(stderr, "%s:%d: not a module name or directory\n", path, bad);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		int r = ents[i].directory ? add_directory(cl, ents[i].name) : add_name(cl, ents[i].name);
		if (r == -ENOENT && ents[i].optional)
			continue;
		if (r < 0) {
			fprintf(stderr, "%s:%d: %s %s: %s\n", path, ents[i].line,
				ents[i].directory ? "directory" : "module", ents[i].name,
				r == -ENOENT
					? "not in this kernel (mark it optional with a leading '?' if that is expected)"
					: strerror(-r));
			failed = 1;
		}
	}
	profile_free(ents, n);
	return failed;
}

int main(int argc, char **argv)
{
	/* never the host's /etc/modprobe.d: the result must not depend on the build machine */
	static const char *const no_config[] = {"/dev/null", NULL};
	int failed = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: modclosure MODDIR PROFILE...\n");
		return 2;
	}
	struct closure cl = {.moddir = argv[1]};
	cl.ctx = kmod_new(cl.moddir, no_config);
	if (!cl.ctx || kmod_load_resources(cl.ctx) < 0) {
		fprintf(stderr, "modclosure: cannot read the module indexes in %s (run depmod?)\n", cl.moddir);
		return 1;
	}
	for (int a = 2; a < argc; a++) {
		int r = add_profile(&cl, argv[a]);
		if (r < 0)
			return 1;
		failed |= r;
	}
	qsort(cl.paths, cl.n, sizeof(*cl.paths), cmp);
	for (size_t i = 0; i < cl.n; i++)
		printf("%s\n", cl.paths[i]);
	kmod_unref(cl.ctx);
	return failed;
}
