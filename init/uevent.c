/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Kernel uevents: wake up when devices appear instead of polling in a sleep loop. */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include <linux/netlink.h>

#include "earlyroot.h"

#define UEVENT_BUFFER (4 * 1024 * 1024)

int uevent_open(void)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1 /* kernel events */};
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
	if (fd < 0)
		return -errno;
	/* events pile up while modules load; a full buffer would drop a disk's "add" */
	int size = UEVENT_BUFFER;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/*
 * Waits up to timeout_ms (-1: forever), then hands each pending event to fn: 1 if any came, 0 on
 * timeout, UEVENT_LOST when the socket overflowed and events were dropped (rescan everything then).
 */
int uevent_wait(int fd, int timeout_ms, uevent_fn fn, void *userdata)
{
	char buf[8192];
	int ret = 1;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r = poll(&p, 1, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (r == 0)
		return 0;
	for (;;) {
		struct sockaddr_nl sa = {0};
		struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf) - 1};
		struct msghdr mh = {.msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0 && errno == ENOBUFS) {
			ret = UEVENT_LOST;
			continue;
		}
		if (n <= 0)
			break;
		/* only the kernel's own messages (port 0): never a process's look-alike */
		if (mh.msg_namelen != sizeof(sa) || sa.nl_pid != 0 || !fn)
			continue;
		buf[n] = 0;
		fn(userdata, buf, (size_t)n);
	}
	return ret;
}
