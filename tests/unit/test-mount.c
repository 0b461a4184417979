/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sys/mount.h>

#include "earlyroot.h"
#include "test.h"

int main(void)
{
	unsigned long flags = 0;
	char data[64];

	CHECK(mount_options("noatime,discard,ro,errors=remount-ro", &flags, data, sizeof(data)));
	CHECK(flags == (MS_NOATIME | MS_RDONLY));
	CHECK_STR(data, "discard,errors=remount-ro");

	flags = MS_RDONLY;
	CHECK(mount_options("rw,defaults", &flags, data, sizeof(data)));
	CHECK(flags == 0);
	CHECK_STR(data, "");

	flags = 0;
	CHECK(mount_options("", &flags, data, sizeof(data)) && flags == 0 && !data[0]);
	CHECK(mount_options(NULL, &flags, data, sizeof(data)) && flags == 0 && !data[0]);
	CHECK(mount_options(",,subvol=@,,", &flags, data, sizeof(data)));
	CHECK_STR(data, "subvol=@");

	/* data that does not fit is refused, not cut */
	char small[8];
	CHECK(!mount_options("compress=zstd:3", &flags, small, sizeof(small)));
	TEST_DONE();
}
