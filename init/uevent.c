/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Kernel uevents: wake up when devices appear instead of polling in a sleep loop. */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include <linux/netlink.h>

#include "earlyroot.h"

int uevent_open(void)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1 /* kernel events */};
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* Waits up to timeout_ms (-1: forever) for events and drains them: 1 if any came, 0 on timeout. */
int uevent_wait(int fd, int timeout_ms)
{
	char buf[8192];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r = poll(&p, 1, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (r == 0)
		return 0;
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0 || errno == ENOBUFS)
		;
	return 1;
}
