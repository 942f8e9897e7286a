/* memprobe: calls whose buffers the shim must read with care (issue 10,
 * defects 1, 2, 11, 12, 14).  Each command prints what the program saw.
 *
 *   setguard LEVEL OPT LEN   setsockopt on a TCP socket: a 4-byte int (42)
 *                            that ends where a PROT_NONE page begins, with
 *                            optlen LEN
 *   setfill LEN              setsockopt(SOL_SOCKET, 40 = SO_RXQ_OVFL) of LEN
 *                            bytes 0x01 0x00 0x00 0x00 0xab 0xab...; the
 *                            page after them is filled with 0xcd
 *   getnl                    getsockopt(SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS)
 *                            of a NETLINK_ROUTE socket in a group, into 4
 *                            bytes that end where a PROT_NONE page begins
 *   accept FAMILY MODE       a listener on ::1 (FAMILY v6) or 127.0.0.1
 *   accept4 FAMILY MODE      (v4) accepts a client of its own; MODE: small
 *                            (a 16-byte struct sockaddr), zero (addrlen 0),
 *                            null (no address), full; prints the client's
 *                            port and SO_KEEPALIVE of the accepted socket
 *   bad CALL                 bind, connect or setsockopt with an unmapped
 *                            pointer (the kernel says EFAULT)
 *   takeover PATH            a setsockopt the kernel refuses (the shim
 *                            copies its value), then every pipe above fd 2
 *                            is replaced by PATH (dup2), as a daemon that
 *                            reuses descriptors would, and once more
 *   race N T                 forks; parent and child each run T threads of
 *                            N setsockopt(SOL_SOCKET, 40) of 8 bytes: 1 and
 *                            the thread's tid, which the log must show
 *   pvr                      process_vm_readv of its own memory: ok or errno
 *   seccomp CMD [ARG]...     refuses process_vm_readv/writev with EPERM
 *                            (as systemd-nspawn without CAP_SYS_PTRACE
 *                            does), then executes CMD */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_LIST_MEMBERSHIPS
#define NETLINK_LIST_MEMBERSHIPS 9
#endif

static void die(const char *what)
{
	fprintf(stderr, "memprobe: %s: %s\n", what, strerror(errno));
	exit(3);
}

static void say(const char *what, int rc, int err)
{
	if (rc < 0)
		printf("%s=%d %s\n", what, rc, strerrorname_np(err));
	else
		printf("%s=%d\n", what, rc);
}

/* Two pages: the first readable and writable, the second PROT_NONE. */
static unsigned char *guarded(void)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *p = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	if (mprotect(p + page, (size_t)page, PROT_NONE) < 0)
		die("mprotect");
	return p + page; /* the guard's first byte */
}

static int setguard(int level, int opt, socklen_t len)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), v = 42, rc;
	unsigned char *end = guarded();

	if (fd < 0)
		die("socket");
	memcpy(end - sizeof v, &v, sizeof v);
	rc = setsockopt(fd, level, opt, end - sizeof v, len);
	say("setsockopt", rc, errno);
	return 0;
}

static int setfill(socklen_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t size = ((size_t)len / (size_t)page + 2) * (size_t)page;
	unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = socket(AF_INET, SOCK_STREAM, 0), rc;

	if (p == MAP_FAILED || fd < 0)
		die("setup");
	memset(p, 0xcd, size);
	memset(p, 0xab, len);
	p[0] = 1, p[1] = p[2] = p[3] = 0;
	rc = setsockopt(fd, SOL_SOCKET, 40, p, len);
	say("setsockopt", rc, errno);
	return 0;
}

static int getnl(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE), group = RTNLGRP_LINK, rc;
	unsigned char *end = guarded();
	socklen_t len = 4;

	if (fd < 0)
		die("socket(AF_NETLINK)");
	if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0)
		die("NETLINK_ADD_MEMBERSHIP");
	rc = getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, end - 4, &len);
	say("getsockopt", rc, errno);
	printf("len=%u\n", (unsigned)len);
	return 0;
}

static int accept_peer(int v6, int use_accept4, const char *mode)
{
	struct sockaddr_storage ss = {0};
	socklen_t len = v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int lfd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0), cfd, afd, one = 1, ka = -1;
	struct sockaddr buf16;
	struct sockaddr *addr;
	socklen_t alen, *alenp, kalen = sizeof ka;

	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(lfd, (struct sockaddr *)&ss, len) < 0 || listen(lfd, 1) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&ss, &len) < 0)
		die("listener");
	cfd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&ss, len) < 0)
		die("client");
	len = sizeof ss;
	if (getsockname(cfd, (struct sockaddr *)&ss, &len) < 0)
		die("getsockname");
	printf("client-port=%d\n", ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					    : ((struct sockaddr_in *)&ss)->sin_port));
	memset(&ss, 0, sizeof ss);
	if (!strcmp(mode, "small")) {
		addr = &buf16, alen = sizeof buf16, alenp = &alen;
	} else if (!strcmp(mode, "zero")) {
		addr = (struct sockaddr *)&ss, alen = 0, alenp = &alen;
	} else if (!strcmp(mode, "null")) {
		addr = NULL, alenp = NULL, alen = 0;
	} else {
		addr = (struct sockaddr *)&ss, alen = sizeof ss, alenp = &alen;
	}
	afd = use_accept4 ? accept4(lfd, addr, alenp, SOCK_CLOEXEC) : accept(lfd, addr, alenp);
	say("accept", afd, errno);
	printf("addrlen=%u\n", (unsigned)alen);
	if (afd >= 0 && getsockopt(afd, SOL_SOCKET, SO_KEEPALIVE, &ka, &kalen) == 0)
		printf("keepalive=%d\n", ka);
	return 0;
}

static int bad(const char *call)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), rc;
	/* mapped nowhere: the kernel answers EFAULT */
	void *nowhere = (void *)16;

	if (fd < 0)
		die("socket");
	if (!strcmp(call, "bind"))
		rc = bind(fd, nowhere, sizeof(struct sockaddr_in));
	else if (!strcmp(call, "connect"))
		rc = connect(fd, nowhere, sizeof(struct sockaddr_in));
	else if (!strcmp(call, "setsockopt"))
		rc = setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, nowhere, sizeof(int));
	else if (!strcmp(call, "getsockopt"))
		rc = getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, nowhere, (socklen_t *)32);
	else if (!strcmp(call, "accept")) {
		/* nothing waits: the kernel says EAGAIN, after the shim has
		 * looked at the length */
		struct sockaddr_in any = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		if (bind(fd, (struct sockaddr *)&any, sizeof any) < 0 || listen(fd, 1) < 0)
			die("listen");
		fcntl(fd, F_SETFL, O_NONBLOCK);
		rc = accept(fd, nowhere, (socklen_t *)32);
	}
	else
		return fprintf(stderr, "memprobe: unknown call '%s'\n", call), 2;
	say(call, rc, errno);
	return 0;
}

static int takeover(const char *path)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), file = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), taken = 0, rc;
	int v[2] = {1, 0x5eed};
	struct stat st;

	if (fd < 0 || file < 0)
		die("setup");
	/* 8 bytes of an int option: EINVAL, after the shim copied them */
	rc = setsockopt(fd, IPPROTO_TCP, 9999, v, sizeof v);
	say("first", rc, errno);
	for (int n = 3; n < 4096; n++)
		if (n != fd && n != file && fstat(n, &st) == 0 && S_ISFIFO(st.st_mode)) {
			if (dup2(file, n) < 0)
				die("dup2");
			taken++;
		}
	printf("taken=%d\n", taken);
	rc = setsockopt(fd, IPPROTO_TCP, 9999, v, sizeof v);
	say("second", rc, errno);
	if (fstat(file, &st) < 0)
		die("fstat");
	printf("file-size=%lld\n", (long long)st.st_size);
	return 0;
}

struct race_arg {
	int n;
};

static void *race_thread(void *p)
{
	const struct race_arg *a = p;
	int fd = socket(AF_INET, SOCK_STREAM, 0), v[2] = {1, (int)gettid()};

	for (int i = 0; i < a->n; i++)
		setsockopt(fd, SOL_SOCKET, 40, v, sizeof v);
	close(fd);
	return NULL;
}

static int race(int n, int threads)
{
	struct race_arg a = {n};
	pthread_t t[16];
	pid_t child;
	int status;

	if (threads < 1 || threads > 16)
		return fprintf(stderr, "memprobe: 1 to 16 threads\n"), 2;
	/* the parent has pipes of its own before the fork: the child must
	 * not share them */
	race_thread(&a);
	child = fork();
	if (child < 0)
		die("fork");
	for (int i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, race_thread, &a) != 0)
			die("pthread_create");
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	if (child == 0)
		_exit(0);
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status))
		die("child");
	printf("race=done\n");
	return 0;
}

static int pvr(void)
{
	int src = 7, dst = 0;
	struct iovec l = {&dst, sizeof dst}, r = {&src, sizeof src};

	if (process_vm_readv(getpid(), &l, 1, &r, 1, 0) == (ssize_t)sizeof dst && dst == src)
		printf("pvr=ok\n");
	else
		printf("pvr=%s\n", strerrorname_np(errno));
	return 0;
}

static int seccomp_exec(char **argv)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_vm_readv, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_vm_writev, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {sizeof f / sizeof f[0], f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die("PR_SET_NO_NEW_PRIVS");
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		die("seccomp");
	execvp(argv[0], argv);
	die(argv[0]);
	return 3;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 5 && !strcmp(argv[1], "setguard"))
		return setguard(atoi(argv[2]), atoi(argv[3]), (socklen_t)atoi(argv[4]));
	if (argc >= 3 && !strcmp(argv[1], "setfill"))
		return setfill((socklen_t)atoi(argv[2]));
	if (argc >= 2 && !strcmp(argv[1], "getnl"))
		return getnl();
	if (argc >= 4 && (!strcmp(argv[1], "accept") || !strcmp(argv[1], "accept4")))
		return accept_peer(!strcmp(argv[2], "v6"), argv[1][6] == '4', argv[3]);
	if (argc >= 3 && !strcmp(argv[1], "bad"))
		return bad(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "takeover"))
		return takeover(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "race"))
		return race(atoi(argv[2]), atoi(argv[3]));
	if (argc >= 2 && !strcmp(argv[1], "pvr"))
		return pvr();
	if (argc >= 3 && !strcmp(argv[1], "seccomp"))
		return seccomp_exec(argv + 2);
	fprintf(stderr, "usage: memprobe setguard LEVEL OPT LEN | setfill LEN | getnl | accept|accept4 v4|v6 "
			"small|zero|null|full | bad bind|connect|setsockopt|getsockopt|accept | takeover PATH | race N T | pvr | seccomp CMD...\n");
	return 2;
}
