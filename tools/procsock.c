/* The sockets of a running process: pidfd_open, /proc/PID/fd, pidfd_getfd.
 * See procsock.h. */
#include "procsock.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/sockkind.h"
#include "../policy/options.h"
#include "../log/record.h"

/* linux/capability.h's number, without the rest of that header */
#ifndef CAP_SYS_PTRACE
#define CAP_SYS_PTRACE 19
#endif

int ps_parse_pid(const char *arg, pid_t *pid)
{
	long v = 0;

	if (!*arg)
		return -1;
	for (const char *s = arg; *s; s++) {
		if (!isdigit((unsigned char)*s) || v > INT_MAX / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (v <= 0 || v > INT_MAX)
		return -1;
	*pid = (pid_t)v;
	return 0;
}

/* The first line of /proc/PID/FILE that starts with KEY, after KEY, in
 * OUT.  Returns 0, or -1. */
static int status_field(pid_t pid, const char *key, char *out, size_t size)
{
	char path[64], line[512];
	size_t klen = strlen(key);
	FILE *f;
	int rc = -1;

	if (pid)
		snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	else
		snprintf(path, sizeof path, "/proc/self/status");
	if (!(f = fopen(path, "re")))
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, key, klen) == 0) {
			const char *v = line + klen;
			while (*v == ' ' || *v == '\t')
				v++;
			snprintf(out, size, "%s", v);
			out[strcspn(out, "\n")] = '\0';
			rc = 0;
			break;
		}
	fclose(f);
	return rc;
}

/* Reads up to SIZE - 1 bytes of PATH into BUF; returns the count, or -1. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* A name cut to SIZE - 1 bytes, as the log cuts prog. */
static void copy_name(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Whether PID runs in secure-execution mode (AT_SECURE in its auxv, whose
 * words are those of its ELF class).  Unreadable: taken as not. */
static int is_secure(pid_t pid)
{
	char path[64], ident[8], auxv[4096];
	ssize_t n;
	size_t word;

	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	if (read_small(path, ident, sizeof ident) < 5 || memcmp(ident, "\177ELF", 4) != 0)
		return 0;
	word = ident[4] == 2 ? 8 : 4; /* EI_CLASS: ELFCLASS64, else 32 */
	snprintf(path, sizeof path, "/proc/%d/auxv", (int)pid);
	n = read_small(path, auxv, sizeof auxv);
	for (ssize_t i = 0; i + 2 * (ssize_t)word <= n; i += 2 * (ssize_t)word) {
		uint64_t type = 0, val = 0;
		/* little- or big-endian alike: the host's, which is the target's */
		if (word == 8) {
			memcpy(&type, auxv + i, 8);
			memcpy(&val, auxv + i + 8, 8);
		} else {
			uint32_t t32, v32;
			memcpy(&t32, auxv + i, 4);
			memcpy(&v32, auxv + i + 4, 4);
			type = t32, val = v32;
		}
		if (type == 0)
			break;
		if (type == 23) /* AT_SECURE */
			return val != 0;
	}
	return 0;
}

/* The library's name for the process: program_invocation_short_name, the
 * basename of argv[0]; under secure execution the executable's own, as
 * the caller chose argv[0] (issue 10 #13). */
static void read_prog(struct ps_proc *p)
{
	char path[64], buf[4096];
	ssize_t n;

	if (is_secure(p->pid)) {
		snprintf(path, sizeof path, "/proc/%d/exe", (int)p->pid);
		n = readlink(path, buf, sizeof buf - 1);
		if (n > 0) {
			buf[n] = '\0';
			copy_name(p->prog, sizeof p->prog, cli_basename(buf));
			return;
		}
	}
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)p->pid);
	n = read_small(path, buf, sizeof buf);
	if (n > 0 && buf[0]) {
		copy_name(p->prog, sizeof p->prog, cli_basename(buf));
		return;
	}
	/* a kernel thread or a zombie has no argv: the kernel's name */
	snprintf(path, sizeof path, "/proc/%d/comm", (int)p->pid);
	if (read_small(path, buf, sizeof buf) > 0) {
		buf[strcspn(buf, "\n")] = '\0';
		copy_name(p->prog, sizeof p->prog, buf);
	}
}

int ps_proc_open(struct ps_proc *p, pid_t pid)
{
	char tgid[32];
	int e;

	memset(p, 0, sizeof *p);
	p->pid = pid;
	p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (p->pidfd >= 0) {
		read_prog(p);
		return 0;
	}
	e = errno;
	if (e == ENOSYS)
		cli_error("%d: this kernel has no pidfd_open(2): inspect and apply need Linux 5.6 or later", (int)pid);
	else if ((e == EINVAL || e == ENOENT) && status_field(pid, "Tgid:", tgid, sizeof tgid) == 0 && atoi(tgid) != pid)
		cli_error("%d: is a thread of process %s: give the process id", (int)pid, tgid);
	else if (e == ESRCH || e == EINVAL || e == ENOENT)
		cli_error("%d: no such process", (int)pid);
	else
		cli_error("%d: pidfd_open: %s", (int)pid, strerror(e));
	return -1;
}

void ps_proc_close(struct ps_proc *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
}

static const char *user_name(uid_t uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, size, "%u (%s)", (unsigned)uid, pw->pw_name);
	else
		snprintf(buf, size, "%u", (unsigned)uid);
	return buf;
}

/* Whether this process has CAP_SYS_PTRACE in effect. */
static int have_ptrace_cap(void)
{
	char caps[64];

	if (status_field(0, "CapEff:", caps, sizeof caps) < 0)
		return geteuid() == 0;
	return (strtoull(caps, NULL, 16) >> CAP_SYS_PTRACE) & 1;
}

/* Yama's ptrace_scope, or -1 without Yama. */
static int yama_scope(void)
{
	char buf[16];

	if (read_small("/proc/sys/kernel/yama/ptrace_scope", buf, sizeof buf) <= 0)
		return -1;
	return atoi(buf);
}

/* Says why the kernel refused access to P, as far as can be told from
 * outside: ptrace_may_access(PTRACE_MODE_ATTACH_REALCREDS) wants our real
 * uid and gid to be all of the target's (real, effective, saved), the
 * target dumpable, and Yama's consent, or else CAP_SYS_PTRACE. */
static void explain_denied(const struct ps_proc *p)
{
	char uids[128], gids[128], who[96], me[96], path[64];
	unsigned tu[3] = {0, 0, 0}, tg[3] = {0, 0, 0};
	int scope = yama_scope(), have_ids;
	uid_t myuid = getuid();
	gid_t mygid = getgid();
	struct stat st;
	const char *pre = "not permitted";

	have_ids = status_field(p->pid, "Uid:", uids, sizeof uids) == 0 &&
		   status_field(p->pid, "Gid:", gids, sizeof gids) == 0 &&
		   sscanf(uids, "%u %u %u", &tu[0], &tu[1], &tu[2]) == 3 &&
		   sscanf(gids, "%u %u %u", &tg[0], &tg[1], &tg[2]) == 3;
	if (scope == 3) {
		cli_error("%d (%s): %s: Yama's kernel.yama.ptrace_scope is 3: no process may take another's "
			  "descriptors, whatever its privileges, until the next boot",
			  (int)p->pid, p->prog, pre);
		return;
	}
	if (have_ptrace_cap()) {
		cli_error("%d (%s): %s although sockpolicy has CAP_SYS_PTRACE: a security module (AppArmor, "
			  "SELinux) refuses, or the process is in a user namespace above this one",
			  (int)p->pid, p->prog, pre);
		return;
	}
	if (have_ids && (tu[0] != myuid || tu[1] != myuid || tu[2] != myuid)) {
		cli_error("%d (%s): %s: it runs as user %s and you are user %s: another user's process needs "
			  "CAP_SYS_PTRACE (run sockpolicy as root, or as that user)",
			  (int)p->pid, p->prog, pre, user_name(tu[1] != myuid ? tu[1] : tu[0] != myuid ? tu[0] : tu[2],
							  who, sizeof who),
			  user_name(myuid, me, sizeof me));
		return;
	}
	if (have_ids && (tg[0] != mygid || tg[1] != mygid || tg[2] != mygid)) {
		cli_error("%d (%s): %s: it runs with group %u and your group is %u (a setgid program): that needs "
			  "CAP_SYS_PTRACE (run sockpolicy as root)",
			  (int)p->pid, p->prog, pre, tg[1] != mygid ? tg[1] : tg[0] != mygid ? tg[0] : tg[2],
			  (unsigned)mygid);
		return;
	}
	/* /proc/PID/status belongs to root while the process is not dumpable
	 * (/proc/PID itself keeps its owner) */
	snprintf(path, sizeof path, "/proc/%d/status", (int)p->pid);
	if (have_ids && tu[1] != 0 && stat(path, &st) == 0 && st.st_uid == 0) {
		cli_error("%d (%s): %s: the process is not dumpable (it called prctl(PR_SET_DUMPABLE, 0), or "
			  "changed its user or group ids): that needs CAP_SYS_PTRACE (run sockpolicy as root)",
			  (int)p->pid, p->prog, pre);
		return;
	}
	if (scope == 2) {
		cli_error("%d (%s): %s: Yama's kernel.yama.ptrace_scope is 2: only a process with CAP_SYS_PTRACE "
			  "may take another's descriptors (run sockpolicy as root)",
			  (int)p->pid, p->prog, pre);
		return;
	}
	if (scope == 1) {
		cli_error("%d (%s): %s: Yama's kernel.yama.ptrace_scope is 1: only an ancestor of a process may "
			  "take its descriptors; run sockpolicy as root (CAP_SYS_PTRACE), or set "
			  "kernel.yama.ptrace_scope to 0",
			  (int)p->pid, p->prog, pre);
		return;
	}
	cli_error("%d (%s): %s: taking a process's sockets needs ptrace access (the same user, and the "
		  "process dumpable, or CAP_SYS_PTRACE); a security module may refuse too",
		  (int)p->pid, p->prog, pre);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int ps_proc_sockets(struct ps_proc *p, int **fds, size_t *n)
{
	char path[64], link[64];
	size_t cap = 0;
	struct dirent *d;
	DIR *dir;
	int dfd;

	*fds = NULL;
	*n = 0;
	snprintf(path, sizeof path, "/proc/%d/fd", (int)p->pid);
	if (!(dir = opendir(path))) {
		if (errno == EACCES || errno == EPERM)
			explain_denied(p);
		else if (errno == ENOENT || errno == ESRCH)
			cli_error("%d: no such process", (int)p->pid);
		else
			cli_error("%s: %s", path, strerror(errno));
		return -1;
	}
	dfd = dirfd(dir);
	while ((d = readdir(dir))) {
		char *end;
		long fd;
		ssize_t len;

		if (!isdigit((unsigned char)d->d_name[0]))
			continue; /* . and .. */
		fd = strtol(d->d_name, &end, 10);
		if (*end || fd < 0 || fd > INT_MAX)
			continue;
		len = readlinkat(dfd, d->d_name, link, sizeof link - 1);
		if (len < 0)
			continue; /* closed meanwhile */
		link[len] = '\0';
		if (strncmp(link, "socket:[", 8) != 0)
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			*fds = cli_xrealloc(*fds, cap * sizeof **fds);
		}
		(*fds)[(*n)++] = (int)fd;
	}
	closedir(dir);
	if (*n)
		qsort(*fds, *n, sizeof **fds, cmp_int);
	return 0;
}

int ps_proc_getfd(struct ps_proc *p, int fd, int *fatal)
{
	int lfd = (int)syscall(SYS_pidfd_getfd, p->pidfd, fd, 0), e;

	if (lfd >= 0)
		return lfd;
	e = errno;
	*fatal = 1;
	switch (e) {
	case EPERM:
	case EACCES:
		explain_denied(p);
		break;
	case ENOSYS:
		cli_error("%d (%s): this kernel has no pidfd_getfd(2): inspect and apply need Linux 5.6 or later",
			  (int)p->pid, p->prog);
		break;
	case ESRCH:
		cli_error("%d (%s): the process ended", (int)p->pid, p->prog);
		break;
	default:
		*fatal = 0;
	}
	errno = e;
	return -1;
}

int ps_check_pids(const char *cmd, int argc, char *const argv[], int first)
{
	pid_t pid;

	if (first >= argc) {
		cli_usage_error(cmd, "which process? give a PID");
		return -1;
	}
	for (int i = first; i < argc; i++)
		if (ps_parse_pid(argv[i], &pid) < 0) {
			cli_usage_error(cmd, "'%s' is not a process id", argv[i]);
			return -1;
		}
	return 0;
}

int ps_each_pid(int argc, char *const argv[], int first, int (*each)(void *ctx, pid_t pid), void *ctx)
{
	int rc = 0;

	for (int i = first; i < argc; i++) {
		pid_t pid;
		int r;

		ps_parse_pid(argv[i], &pid);
		r = each(ctx, pid);
		if (r > rc)
			rc = r;
		fflush(stdout);
	}
	return rc;
}

int ps_proc_each_socket(struct ps_proc *p, ps_sock_fn *each, void *ctx, size_t *listed)
{
	int *fds, rc = 0;
	size_t n;

	if (listed)
		*listed = 0;
	if (ps_proc_sockets(p, &fds, &n) < 0)
		return CLI_EX_FAIL;
	if (listed)
		*listed = n;
	for (size_t i = 0; i < n; i++) {
		struct ps_sock s;
		int fatal = 0, lfd = ps_proc_getfd(p, fds[i], &fatal);

		if (lfd < 0) {
			if (fatal) {
				rc = CLI_EX_FAIL;
				break;
			}
			if (errno != EBADF) { /* EBADF: closed meanwhile, gone */
				cli_error("%d (%s) fd %d: %s", (int)p->pid, p->prog, fds[i], strerror(errno));
				rc = 1;
			}
			continue;
		}
		if (ps_sock_describe(lfd, &s) < 0) {
			cli_error("%d (%s) fd %d: %s", (int)p->pid, p->prog, fds[i], strerror(errno));
			rc = 1;
		} else {
			s.fd = fds[i];
			if (each(ctx, p, &s, lfd) && rc == 0)
				rc = 1;
		}
		close(lfd);
	}
	free(fds);
	return rc;
}

/* ss's state words. */
static const char *tcp_state_name(unsigned s)
{
	static const char *const names[] = {
		"UNKNOWN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT",
		"UNCONN", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING", "SYN-RECV",
	};
	return s < sizeof names / sizeof names[0] ? names[s] : "UNKNOWN";
}

static int get_int(int fd, int level, int opt, int *v)
{
	socklen_t len = sizeof *v;
	return getsockopt(fd, level, opt, v, &len);
}

int ps_sock_describe(int lfd, struct ps_sock *s)
{
	socklen_t len;
	int v;

	struct sp_sock_kind kind;

	memset(s, 0, sizeof *s);
	if (sp_sock_kind_of(lfd, getsockopt, &kind) < 0)
		return -1;
	s->family = kind.family;
	s->type = kind.type;
	s->protocol = kind.protocol;
	s->cls = kind.cls;
	len = sizeof s->local;
	if (getsockname(lfd, (struct sockaddr *)&s->local, &len) == 0 && len <= sizeof s->local)
		s->local_len = len;
	len = sizeof s->peer;
	if (getpeername(lfd, (struct sockaddr *)&s->peer, &len) == 0 && len <= sizeof s->peer)
		s->peer_len = len;
	if (s->cls == SP_C_INET_TCP || s->cls == SP_C_INET6_TCP) {
		struct tcp_info ti;
		len = sizeof ti;
		memset(&ti, 0, sizeof ti);
		if (getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0) {
			s->state = tcp_state_name(ti.tcpi_state);
			return 0;
		}
	}
	if (get_int(lfd, SOL_SOCKET, SO_ACCEPTCONN, &v) == 0 && v)
		s->state = "LISTEN";
	else
		s->state = s->peer_len ? "ESTAB" : "UNCONN";
	return 0;
}

/* NAME without PREFIX, in lower case, in place: "AF_NETLINK" -> "netlink";
 * a number stays as it is. */
static const char *short_word(char *name, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(name, prefix, n) != 0)
		return name;
	for (char *c = name + n; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return name + n;
}

const char *ps_sock_kind(const struct ps_sock *s, char *buf, size_t size)
{
	const char *fam = s->family == AF_INET ? "inet" : s->family == AF_INET6 ? "inet6" : s->family == AF_UNIX ? "unix" : NULL;
	char famname[32], typename[48], proto[32];

	switch (s->cls) {
	case SP_C_INET_TCP:
	case SP_C_INET6_TCP:
		snprintf(buf, size, "%s tcp", fam);
		return buf;
	case SP_C_INET_UDP:
	case SP_C_INET6_UDP:
		snprintf(buf, size, "%s udp", fam);
		return buf;
	case SP_C_UNIX_STREAM:
		snprintf(buf, size, "unix stream");
		return buf;
	case SP_C_UNIX_DGRAM:
		snprintf(buf, size, "unix dgram");
		return buf;
	default:
		break;
	}
	/* the rest as ss words them: "netlink raw", "inet raw icmp" */
	sp_record_format_socket(0, s->family, s->family, 0, famname, sizeof famname);
	sp_record_format_socket(1, s->family, s->type & 0xf, 0, typename, sizeof typename);
	sp_record_format_socket(2, s->family, s->protocol, 0, proto, sizeof proto);
	if (s->protocol && (s->family == AF_INET || s->family == AF_INET6))
		snprintf(buf, size, "%s %s %s", fam ? fam : short_word(famname, "AF_"),
			 short_word(typename, "SOCK_"), short_word(proto, "IPPROTO_"));
	else
		snprintf(buf, size, "%s %s", fam ? fam : short_word(famname, "AF_"), short_word(typename, "SOCK_"));
	return buf;
}

int ps_option_shown(unsigned i, enum sp_class cls)
{
	const struct sp_option *o = &sp_options[i];

	if (o->flags & (SP_OPT_READONLY | SP_OPT_LOGONLY))
		return 0;
	/* write-only: their value is SO_RCVBUF's and SO_SNDBUF's */
	if (o->level == SOL_SOCKET && (o->opt == SO_RCVBUFFORCE || o->opt == SO_SNDBUFFORCE))
		return 0;
	if (cls == SP_C_UNTOUCHED)
		return o->fit == SP_FIT_ANY;
	return (sp_fit_mask((enum sp_fit)o->fit) & SP_CLASS_BIT(cls)) != 0;
}

static socklen_t value_size(int vtype)
{
	switch (vtype) {
	case SP_T_TIMEOUT: return sizeof(struct timeval);
	case SP_T_LINGER: return sizeof(struct linger);
	case SP_T_STRING: return SP_STRING_MAX + 1;
	default: return sizeof(int);
	}
}

int ps_option_read(int lfd, int level, int opt, int vtype, struct ps_optval *v)
{
	memset(v, 0, sizeof *v);
	v->len = value_size(vtype);
	if (getsockopt(lfd, level, opt, v->bytes, &v->len) == 0) {
		if (v->len > sizeof v->bytes)
			v->len = sizeof v->bytes;
		return 0;
	}
	return errno == ENOPROTOOPT || errno == EOPNOTSUPP ? 1 : -1;
}

int ps_optval_equal(int vtype, const struct ps_optval *a, const struct ps_optval *b)
{
	if (vtype == SP_T_STRING) {
		size_t la = strnlen((const char *)a->bytes, a->len), lb = strnlen((const char *)b->bytes, b->len);
		return la == lb && memcmp(a->bytes, b->bytes, la) == 0;
	}
	return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

/* A new socket per kind, kept open, with the values read from it so far:
 * inspect compares every option of 1,000 sockets against it. */
struct fresh {
	int family, type, protocol;
	int fd; /* -1: cannot be made here */
	unsigned char *have; /* per sp_options index: 0 unread, 1 read, 2 unreadable */
	struct ps_optval *vals;
};
static struct fresh *freshes;
static size_t nfresh;

static struct fresh *fresh_for(const struct ps_sock *s)
{
	int type = s->type & 0xf;
	struct fresh *f;

	for (size_t i = 0; i < nfresh; i++)
		if (freshes[i].family == s->family && freshes[i].type == type && freshes[i].protocol == s->protocol)
			return &freshes[i];
	freshes = cli_xrealloc(freshes, (nfresh + 1) * sizeof *freshes);
	f = &freshes[nfresh++];
	f->family = s->family;
	f->type = type;
	f->protocol = s->protocol;
	f->fd = socket(s->family, type | SOCK_CLOEXEC, s->protocol);
	f->have = cli_xmalloc(sp_option_count);
	memset(f->have, 0, sp_option_count);
	f->vals = cli_xmalloc(sp_option_count * sizeof *f->vals);
	return f;
}

int ps_fresh_value(const struct ps_sock *s, int level, int opt, int vtype, struct ps_optval *out)
{
	struct fresh *f = fresh_for(s);
	int idx = sp_option_index(level, opt);

	if (f->fd < 0)
		return -1;
	if (idx < 0)
		return ps_option_read(f->fd, level, opt, vtype, out) == 0 ? 0 : -1;
	if (!f->have[idx])
		f->have[idx] = ps_option_read(f->fd, level, opt, vtype, &f->vals[idx]) == 0 ? 1 : 2;
	if (f->have[idx] != 1)
		return -1;
	*out = f->vals[idx];
	return 0;
}
