/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Minimal assertions for the unit tests: report the failing expression and keep going. */
#pragma once
#include <stdio.h>
#include <string.h>

static int test_failures;

#define CHECK(expr)                                                                              \
	do {                                                                                     \
		if (!(expr)) {                                                                   \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
			test_failures++;                                                         \
		}                                                                                \
	} while (0)

#define CHECK_STR(a, b)                                                                                   \
	do {                                                                                              \
		const char *a_ = (a), *b_ = (b);                                                          \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                  \
			fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, \
				a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                  \
			test_failures++;                                                                  \
		}                                                                                         \
	} while (0)

#define TEST_DONE()                                                             \
	do {                                                                    \
		if (test_failures)                                              \
			fprintf(stderr, "%d check(s) failed\n", test_failures); \
		return test_failures ? 1 : 0;                                   \
	} while (0)
