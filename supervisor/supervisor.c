/* The supervisor's loop: each notification decoded (x86-64, i386 direct
 * calls and socketcall), the engine asked, its verdict executed on the
 * target's own socket (pidfd_getfd) or on one made here and installed in
 * the target (SECCOMP_IOCTL_NOTIF_ADDFD), and the call answered or let
 * through (SECCOMP_USER_NOTIF_FLAG_CONTINUE).  README "Reaching every
 * program" says what a user sees. */
#include "supervisor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/net.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/eventfd.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../common/sockkind.h"
#include "../policy/decide.h"
#include "../policy/table.h"
#include "filter.h"
#include "guard.h"
#include "svlog.h"
#include "syscalls.h"

/* A process under the filter, as its threads are met (keyed by tid). */
struct proc {
	pid_t tid, tgid;
	int pidfd;
	int same_creds; /* may the supervisor act as it (uid, gid, capabilities) */
	int creds_volatile; /* it changed credentials or namespaces once: read them at every call */
	ino_t netns;
	int pending_socket; /* it made a socket we could not: at=socket rules act at its next moment */
	char prog[256];
	const struct sp_table *t; /* compiled for prog; NULL: no policy */
	struct proc *next;
};

/* A socket's bookkeeping, keyed by its inode: the same socket in every
 * process that holds it (fork, SCM_RIGHTS), as the library's fd table is
 * inherited by fork. */
struct sock {
	ino_t ino;
	unsigned char cls;
	unsigned flags; /* policy/decide.h's history bits */
	uint64_t set_by_program[SP_DEFAULT_BITS / 64];
	struct sock *next;
};

struct tab {
	char *prog;
	struct sp_table *t;
	struct tab *next;
};

#define NPROC 256
#define NSOCK 4096

struct sv {
	struct sv_config cfg;
	struct sv_routes routes;
	struct svlog log;
	pid_t parent;
	int listener;
	pthread_t thread;
	int serving;
	char own_uid[128], own_gid[128], own_cap[64];
	ino_t own_netns;
	struct proc *procs[NPROC];
	unsigned nprocs, sweep_at;
	struct sock *socks[NSOCK];
	size_t nsocks;
	struct tab *tabs;
	int warned_perm;
	int proc_read; /* the last proc_get read /proc: what it read holds while the call is pending */
	struct proc gone; /* a process that ended while we served it */
	pid_t guard;      /* guard.c: kills CMD's tree if we die */
	int guard_fd;
	int guard_pair[2]; /* CMD's child sends the guard CMD's pidfd and the listener */
	pid_t child;
	int stop;          /* an eventfd: sv_free ends the serving thread */
	int ready;         /* an eventfd: CMD's child has made the listener (or could not) */
	int flush_timer;   /* a timerfd: the log's held records are due (-1: the log holds none) */
	struct sock_filter filter[SV_FILTER_MAX];
	unsigned short filter_len; /* 0: too long */
	/* held by the serving thread while it handles a call, and by an
	 * accept worker while it finishes one: procs, socks, tabs, the log
	 * and the fields below are shared.  Never held while waiting */
	pthread_mutex_t lock;
	pthread_cond_t workers_gone;
	unsigned workers; /* blocking accepts waited for (do_accept) */
	int stopping;     /* the workers answer "continue" and end */
	int warned_workers;
	timer_t serve_timer; /* bounds the serving thread's own accepts */
	int has_serve_timer; /* 1 made, -1 could not be */
};

/* ---- routes: what the policy needs to see ---- */

static unsigned moment_calls(enum sp_moment m)
{
	switch (m) {
	case SP_AT_SOCKET: return SV_R_SOCKET;
	case SP_AT_BIND: return SV_R_BIND;
	case SP_AT_LISTEN: return SV_R_LISTEN;
	case SP_AT_CONNECT: return SV_R_CONNECT;
	case SP_AT_ACCEPT: return SV_R_ACCEPT;
	default: return 0;
	}
}

/* From the rules, not from one compiled table: prog= is decided per
 * program, and the filter serves every program CMD starts. */
static void build_routes(const struct sp_policy *p, int logged, struct sv_routes *r)
{
	memset(r, 0, sizeof *r);
	if (logged)
		r->calls = SV_R_SOCKET | SV_R_BIND | SV_R_CONNECT | SV_R_LISTEN | SV_R_ACCEPT | SV_R_SETSOCKOPT |
			   SV_R_GETSOCKOPT | SV_R_EXEC;
	for (size_t i = 0; p && i < p->nrules; i++) {
		const struct sp_rule *rule = &p->rules[i];
		for (unsigned s = 0; s < rule->nsels; s++)
			if (rule->sels[s].kind == SP_SEL_PROG)
				r->calls |= SV_R_EXEC;
		for (unsigned a = 0; a < rule->nacts; a++) {
			const struct sp_action *act = &rule->acts[a];
			switch (act->verb) {
			case SP_VERB_SET:
				r->calls |= moment_calls((enum sp_moment)rule->moment);
				break;
			case SP_VERB_DEFAULT:
				/* the program's own sets are tracked: a default does not overrule them */
				sv_routes_add_pair(r, act->level, act->opt);
				r->calls |= rule->explicit_moment ? moment_calls((enum sp_moment)rule->moment)
								  : SV_R_BIND | SV_R_LISTEN | SV_R_CONNECT;
				break;
			case SP_VERB_FORCE:
				r->calls |= moment_calls((enum sp_moment)rule->moment);
				sv_routes_add_pair(r, act->level, act->opt);
				break;
			default:
				sv_routes_add_pair(r, act->level, act->opt);
			}
		}
	}
	if (r->calls || r->npairs)
		r->calls |= SV_R_CREDS;
}

/* ---- the processes ---- */

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, total = 0;

	if (fd < 0)
		return -1;
	while ((size_t)total < size - 1 && (n = read(fd, buf + total, size - 1 - (size_t)total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	return (int)total;
}

/* The value of "Name:" in a /proc status text, into OUT. */
static void status_field(const char *status, const char *name, char *out, size_t size)
{
	const char *at = strstr(status, name);
	size_t n;

	out[0] = '\0';
	if (!at)
		return;
	at += strlen(name);
	n = strcspn(at, "\n");
	if (n >= size)
		n = size - 1;
	memcpy(out, at, n);
	out[n] = '\0';
}

static ino_t netns_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_ino : 0;
}

static const struct sp_table *table_for(struct sv *s, const char *prog)
{
	struct sp_error err;
	struct tab *t;

	if (!s->cfg.policy || !s->cfg.policy->nrules)
		return NULL;
	for (t = s->tabs; t; t = t->next)
		if (strcmp(t->prog, prog) == 0)
			return t->t;
	t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->prog = strdup(prog);
	t->t = sp_table_compile(s->cfg.policy, prog, &err);
	t->next = s->tabs;
	s->tabs = t;
	return t->t;
}

static struct proc *proc_find(struct sv *s, pid_t tid)
{
	for (struct proc *p = s->procs[(unsigned)tid % NPROC]; p; p = p->next)
		if (p->tid == tid)
			return p;
	return NULL;
}

static void proc_free(struct sv *s, struct proc *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	free(p);
	s->nprocs--;
}

/* An exec: the process's name (and table) are read again at its next call. */
static void proc_forget(struct sv *s, pid_t tgid)
{
	for (unsigned i = 0; i < NPROC; i++)
		for (struct proc **pp = &s->procs[i]; *pp;) {
			struct proc *p = *pp;
			if (p->tgid == tgid) {
				*pp = p->next;
				proc_free(s, p);
			} else {
				pp = &p->next;
			}
		}
}

/* One pidfd per process, held by its leader's entry: a thread's entry
 * asks for it, so none outlives the entry that owns it. */
static int proc_pidfd(struct sv *s, const struct proc *p)
{
	const struct proc *lead = p->tid == p->tgid ? p : proc_find(s, p->tgid);

	return lead && lead->tgid == p->tgid ? lead->pidfd : -1;
}

/* The entries of threads and processes that ended go, a whole table's
 * walk once the table has doubled since the last: the supervisor's fds
 * stay bounded by the live processes, as the target's are. */
static void proc_sweep(struct sv *s)
{
	if (s->nprocs < s->sweep_at)
		return;
	for (unsigned i = 0; i < NPROC; i++)
		for (struct proc **pp = &s->procs[i]; *pp;) {
			struct proc *p = *pp;
			struct pollfd pf = {.fd = p->pidfd, .events = POLLIN};
			int dead = p->tid == p->tgid && p->pidfd >= 0
					   ? poll(&pf, 1, 0) != 0 /* readable: the whole group ended */
					   : syscall(SYS_tgkill, p->tgid, p->tid, 0) < 0 && errno == ESRCH;
			if (dead) {
				*pp = p->next;
				proc_free(s, p);
			} else {
				pp = &p->next;
			}
		}
	s->sweep_at = s->nprocs * 2 > 64 ? s->nprocs * 2 : 64;
}

/* P's entry goes: a leader's with its process's (its pidfd is theirs). */
static void proc_drop(struct sv *s, struct proc *p)
{
	if (p->tid == p->tgid) {
		proc_forget(s, p->tgid);
		return;
	}
	for (struct proc **pp = &s->procs[(unsigned)p->tid % NPROC]; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			proc_free(s, p);
			return;
		}
}

/* Is P still the thread the kernel calls TID (a number is reused once
 * its thread is gone)?  A thread's number is in its process while that
 * process (held by the leader's pidfd) lives.  FD_FOLLOWS: the call takes
 * the target's fd (take_fd) before it uses anything of P, and
 * pidfd_getfd fails on a process that is gone: its check is that one. */
static int proc_same_task(struct sv *s, const struct proc *p, int fd_follows)
{
	int pidfd = proc_pidfd(s, p);

	if (!fd_follows && (pidfd < 0 || (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0 && errno == ESRCH)))
		return 0;
	return p->tid == p->tgid || syscall(SYS_tgkill, p->tgid, p->tid, 0) == 0 || errno != ESRCH;
}

/* A call of syscalls.h's *_CRED_CALLS from P: its process reads its
 * credentials at each call from now on.  The leader's entry carries it
 * for every thread (proc_is_volatile), P's own where there is no leader's. */
static void proc_mark_volatile(struct sv *s, struct proc *p)
{
	struct proc *lead = proc_find(s, p->tgid);

	p->creds_volatile = 1;
	if (lead)
		lead->creds_volatile = 1;
}

static int proc_is_volatile(struct sv *s, const struct proc *p)
{
	const struct proc *lead = p->tid == p->tgid ? p : proc_find(s, p->tgid);

	return p->creds_volatile || (lead && lead->creds_volatile);
}

/* The entry for TID.  Its credentials and network namespace are read when
 * it is first met, after an exec, and at every call once the process has
 * made a call that changes them (proc_mark_volatile): a program may drop
 * its privileges or leave our namespace at any moment, and the supervisor
 * must not act for it with ours after that.  The caller confirms that the
 * notification is still pending (the thread is then blocked in it, its
 * SIGSETXID deferred, so what was read here holds while we act). */
static struct proc *proc_lookup(struct sv *s, pid_t tid, int fd_follows)
{
	struct proc **slot = &s->procs[(unsigned)tid % NPROC], *p;
	char path[64], status[4096], field[128], cmdline[4096];
	long tgid;
	int same;

	s->proc_read = 0;
	p = proc_find(s, tid);
	if (p && !proc_same_task(s, p, fd_follows)) {
		/* its number now names another thread or process */
		proc_drop(s, p);
		p = NULL;
	}
	if (p && !proc_is_volatile(s, p))
		return p;
	s->proc_read = 1;
	snprintf(path, sizeof path, "/proc/%ld/status", (long)tid);
	if (read_file(path, status, sizeof status) <= 0)
		return NULL;
	status_field(status, "\nTgid:", field, sizeof field);
	tgid = strtol(field, NULL, 10);
	if (tgid <= 0)
		return NULL;
	status_field(status, "\nUid:", field, sizeof field);
	same = strcmp(field, s->own_uid) == 0;
	status_field(status, "\nGid:", field, sizeof field);
	same &= strcmp(field, s->own_gid) == 0;
	status_field(status, "\nCapEff:", field, sizeof field);
	same &= strcmp(field, s->own_cap) == 0;
	p = proc_find(s, tid);
	if (p && p->tgid != (pid_t)tgid) {
		/* the tid was reused by a thread of another process */
		proc_drop(s, p);
		p = NULL;
	}
	snprintf(path, sizeof path, "/proc/%ld/ns/net", (long)tid);
	if (p) {
		p->same_creds = same;
		p->netns = netns_of(path);
		return p;
	}
	if (tid != (pid_t)tgid && !proc_find(s, (pid_t)tgid))
		proc_lookup(s, (pid_t)tgid, 0); /* the leader's entry holds the pidfd */
	p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	s->nprocs++;
	p->tid = tid;
	p->tgid = (pid_t)tgid;
	p->same_creds = same;
	p->netns = netns_of(path);
	/* prog: the basename of argv[0] at exec (SPEC §6) */
	snprintf(path, sizeof path, "/proc/%ld/cmdline", tgid);
	if (read_file(path, cmdline, sizeof cmdline) > 0) {
		const char *slash = strrchr(cmdline, '/');
		snprintf(p->prog, sizeof p->prog, "%.255s", slash ? slash + 1 : cmdline);
	}
	p->t = table_for(s, p->prog);
	p->pidfd = tid == (pid_t)tgid ? (int)syscall(SYS_pidfd_open, (pid_t)tgid, 0) : -1;
	p->next = *slot;
	*slot = p;
	return p;
}

static struct proc *proc_get(struct sv *s, pid_t tid)
{
	return proc_lookup(s, tid, 0);
}

/* ---- the sockets ---- */

static struct sock *sock_find(struct sv *s, ino_t ino)
{
	for (struct sock *k = s->socks[ino % NSOCK]; k; k = k->next)
		if (k->ino == ino)
			return k;
	return NULL;
}

static void sock_drop(struct sv *s, ino_t ino)
{
	for (struct sock **kk = &s->socks[ino % NSOCK]; *kk; kk = &(*kk)->next)
		if ((*kk)->ino == ino) {
			struct sock *k = *kk;
			*kk = k->next;
			free(k);
			s->nsocks--;
			return;
		}
}

static struct sock *sock_new(struct sv *s, ino_t ino, enum sp_class cls)
{
	struct sock *k;

	sock_drop(s, ino);
	/* a bound on what sockets long closed may hold: every entry goes, and
	 * live ones are learnt again (their default bookkeeping lost) */
	if (s->nsocks >= 1u << 16) {
		for (unsigned i = 0; i < NSOCK; i++)
			while (s->socks[i]) {
				k = s->socks[i];
				s->socks[i] = k->next;
				free(k);
			}
		s->nsocks = 0;
	}
	k = calloc(1, sizeof *k);
	if (!k)
		return NULL;
	k->ino = ino;
	k->cls = (unsigned char)cls;
	k->next = s->socks[ino % NSOCK];
	s->socks[ino % NSOCK] = k;
	s->nsocks++;
	return k;
}

/* The state of the socket open here as FD (a copy of the target's);
 * NULL when FD is no socket.  *FRESH: it was not known. */
static struct sock *sock_of(struct sv *s, int fd, int *fresh)
{
	struct sp_sock_kind kind;
	struct stat st;
	struct sock *k;

	*fresh = 0;
	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return NULL;
	k = sock_find(s, st.st_ino);
	if (k)
		return k;
	*fresh = 1;
	if (sp_sock_kind_of(fd, getsockopt, &kind) < 0)
		return NULL;
	return sock_new(s, st.st_ino, kind.cls);
}

/* ---- one notification ---- */

struct call {
	enum sp_call call;
	int exec;
	int creds; /* a call of syscalls.h's *_CRED_CALLS */
	int compat; /* an i386 call: 32-bit pointers and struct layouts */
	uint64_t a[6];
};

struct ctx {
	struct sv *s;
	struct seccomp_notif *n;
	struct proc *p;
	struct call c;
};

static int still_valid(struct ctx *x)
{
	return ioctl(x->s->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &x->n->id) == 0;
}

static void answer(struct ctx *x, long long val, int err)
{
	struct seccomp_notif_resp r = {.id = x->n->id, .val = val, .error = err ? -err : 0};

	ioctl(x->s->listener, SECCOMP_IOCTL_NOTIF_SEND, &r);
}

static void let_through(struct ctx *x)
{
	struct seccomp_notif_resp r = {.id = x->n->id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE};

	ioctl(x->s->listener, SECCOMP_IOCTL_NOTIF_SEND, &r);
}

static ssize_t peek(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};

	if (len == 0)
		return 0;
	return process_vm_readv(pid, &local, 1, &remote, 1, 0);
}

static ssize_t poke(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	struct iovec local = {(void *)(uintptr_t)buf, len}, remote = {(void *)(uintptr_t)addr, len};

	if (len == 0)
		return 0;
	return process_vm_writev(pid, &local, 1, &remote, 1, 0);
}

static void log_rec(struct ctx *x, const struct sp_record *r, int unknown)
{
	svlog_write(&x->s->log, r, x->p->tgid, x->n->pid, x->p->prog, unknown);
}

static void warn_cannot_act(struct ctx *x, const char *why)
{
	if (x->s->warned_perm)
		return;
	x->s->warned_perm = 1;
	/* stderr may be the log's file: the records made before go first */
	svlog_flush(&x->s->log);
	fprintf(stderr,
		"sockpolicy: warning: the supervisor cannot act on process %ld (%s): %s; it runs on without the "
		"policy there\n",
		(long)x->p->tgid, x->p->prog, why);
	char msg[512];
	snprintf(msg, sizeof msg, "the supervisor cannot act on this process: %s; it runs on without the policy",
		 why);
	svlog_note(&x->s->log, x->p->tgid, x->p->prog, msg);
}

/* The target's FD, open here; -1 with errno (EBADF: not open there). */
static int take_fd(struct ctx *x, int fd)
{
	int pidfd = proc_pidfd(x->s, x->p), copy = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);

	if (copy < 0 && (pidfd < 0 || errno == ESRCH)) {
		/* the process we knew by this pid is gone: this one reuses its
		 * number (or the pidfd could not be had then): learn it again */
		pid_t tid = x->p->tid;
		proc_forget(x->s, x->p->tgid);
		x->p = proc_get(x->s, tid);
		if (!x->p) {
			/* gone for good: records name it as they can */
			x->p = &x->s->gone;
			x->p->tid = x->p->tgid = tid;
		}
		pidfd = proc_pidfd(x->s, x->p);
		if (pidfd < 0) {
			errno = ESRCH;
			return -1;
		}
		copy = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	}
	return copy;
}

/* Decodes the notification into X->c: 1 when it is a call we handle. */
static int decode(struct ctx *x)
{
	const struct seccomp_data *d = &x->n->data;
	static const struct {
		int nr;
		enum sp_call call;
	} c64[] = {{SV64_SOCKET, SP_CALL_SOCKET},   {SV64_BIND, SP_CALL_BIND},
		   {SV64_CONNECT, SP_CALL_CONNECT}, {SV64_LISTEN, SP_CALL_LISTEN},
		   {SV64_ACCEPT, SP_CALL_ACCEPT},   {SV64_ACCEPT4, SP_CALL_ACCEPT4},
		   {SV64_SETSOCKOPT, SP_CALL_SETSOCKOPT}, {SV64_GETSOCKOPT, SP_CALL_GETSOCKOPT}},
	  c32[] = {{SV32_SOCKET, SP_CALL_SOCKET},   {SV32_BIND, SP_CALL_BIND},
		   {SV32_CONNECT, SP_CALL_CONNECT}, {SV32_LISTEN, SP_CALL_LISTEN},
		   {SV32_ACCEPT4, SP_CALL_ACCEPT4}, {SV32_SETSOCKOPT, SP_CALL_SETSOCKOPT},
		   {SV32_GETSOCKOPT, SP_CALL_GETSOCKOPT}};
	/* socketcall(2) sub-calls: the call and how many arguments it has */
	static const struct {
		int sub;
		enum sp_call call;
		int nargs;
	} subs[] = {{SYS_SOCKET, SP_CALL_SOCKET, 3},         {SYS_BIND, SP_CALL_BIND, 3},
		    {SYS_CONNECT, SP_CALL_CONNECT, 3},       {SYS_LISTEN, SP_CALL_LISTEN, 2},
		    {SYS_ACCEPT, SP_CALL_ACCEPT, 3},         {SYS_ACCEPT4, SP_CALL_ACCEPT4, 4},
		    {SYS_SETSOCKOPT, SP_CALL_SETSOCKOPT, 5}, {SYS_GETSOCKOPT, SP_CALL_GETSOCKOPT, 5}};

	static const int creds64[] = {SV64_CRED_CALLS}, creds32[] = {SV32_CRED_CALLS};

	memset(&x->c, 0, sizeof x->c);
	if (d->arch == AUDIT_ARCH_X86_64) {
		if (d->nr == SV64_EXECVE || d->nr == SV64_EXECVEAT) {
			x->c.exec = 1;
			return 1;
		}
		for (size_t i = 0; i < sizeof creds64 / sizeof creds64[0]; i++)
			if (d->nr == creds64[i]) {
				x->c.creds = 1;
				return 1;
			}
		for (size_t i = 0; i < sizeof c64 / sizeof c64[0]; i++)
			if (d->nr == c64[i].nr) {
				x->c.call = c64[i].call;
				memcpy(x->c.a, d->args, sizeof x->c.a);
				return 1;
			}
		return 0;
	}
	if (d->arch != AUDIT_ARCH_I386)
		return 0;
	x->c.compat = 1;
	if (d->nr == SV32_EXECVE || d->nr == SV32_EXECVEAT) {
		x->c.exec = 1;
		return 1;
	}
	for (size_t i = 0; i < sizeof creds32 / sizeof creds32[0]; i++)
		if (d->nr == creds32[i]) {
			x->c.creds = 1;
			return 1;
		}
	if (d->nr == SV32_SOCKETCALL) {
		uint32_t args[6];
		for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
			if ((int)d->args[0] != subs[i].sub)
				continue;
			size_t len = (size_t)subs[i].nargs * 4;
			/* unreadable: the kernel answers EFAULT itself */
			if (peek(x->n->pid, (uint32_t)d->args[1], args, len) != (ssize_t)len)
				return 0;
			x->c.call = subs[i].call;
			for (int k = 0; k < subs[i].nargs; k++)
				x->c.a[k] = args[k];
			return 1;
		}
		return 0;
	}
	for (size_t i = 0; i < sizeof c32 / sizeof c32[0]; i++)
		if ((int)d->nr == c32[i].nr) {
			x->c.call = c32[i].call;
			for (int k = 0; k < 6; k++)
				x->c.a[k] = (uint32_t)d->args[k];
			return 1;
		}
	return 0;
}

/* ---- the policy's moments, executed on a copy of the target's socket ---- */

/* Options the policy set, written after the call's own record when the
 * target's fd number is known only then (socket, accept). */
struct injected {
	int level, opt, rc, err, has_eff, eff;
	union sp_kval k;
	socklen_t klen;
};
struct moment_ctx {
	struct ctx *x;
	int copy;      /* the socket, open here */
	int target_fd; /* its number in the target; -1: not known yet */
	struct injected later[32];
	unsigned nlater;
};

static int is_size_option(int level, int opt)
{
	return level == SOL_SOCKET &&
	       (opt == SO_RCVBUF || opt == SO_SNDBUF || opt == SO_RCVBUFFORCE || opt == SO_SNDBUFFORCE);
}

/* SPEC §4 `effective`: what the kernel made of a size, read back */
static int effective(int fd, int opt, int *out)
{
	socklen_t len = sizeof *out;

	opt = opt == SO_RCVBUF || opt == SO_RCVBUFFORCE ? SO_RCVBUF : SO_SNDBUF;
	return getsockopt(fd, SOL_SOCKET, opt, out, &len) == 0 && len == sizeof *out;
}

static void log_set(struct ctx *x, int copy, int fd, enum sp_act action, int rc, int err, int level, int opt,
		    const void *val, size_t len, size_t passed, const void *req, size_t req_len, size_t req_passed)
{
	struct sp_record r = {
		.call = SP_CALL_SETSOCKOPT,
		.action = action,
		.fd = fd,
		.ret = rc,
		.err = err,
		.level = level,
		.opt = opt,
		.value = {val, len < SP_RECORD_CUT ? len : SP_RECORD_CUT},
		.requested = {req, req_len < SP_RECORD_CUT ? req_len : SP_RECORD_CUT},
		.value_passed = passed ? passed : len,
		.requested_passed = req_passed ? req_passed : req_len,
	};
	if (!x->s->log.kind)
		return;
	if (rc == 0 && is_size_option(level, opt) && action != SP_ACT_IGNORE && action != SP_ACT_DENY)
		r.has_effective = effective(copy, opt, &r.effective);
	log_rec(x, &r, 0);
}

static void inject(void *vctx, const struct sp_action *a)
{
	struct moment_ctx *m = vctx;
	union sp_kval k;
	socklen_t klen = sp_value_encode(&a->value, &k);
	int rc = setsockopt(m->copy, a->level, a->opt, &k, klen), e = rc < 0 ? errno : 0;

	if (!m->x->s->log.kind)
		return;
	if (m->target_fd >= 0) {
		log_set(m->x, m->copy, m->target_fd, SP_ACT_INJECT, rc, e, a->level, a->opt, &k, klen, 0, NULL, 0,
			0);
		return;
	}
	if (m->nlater < sizeof m->later / sizeof m->later[0]) {
		struct injected *i = &m->later[m->nlater++];
		*i = (struct injected){a->level, a->opt, rc, e, 0, 0, k, klen};
		if (rc == 0 && is_size_option(a->level, a->opt))
			i->has_eff = effective(m->copy, a->opt, &i->eff);
	}
}

/* The records of what inject kept for later, now that FD is known. */
static void flush_injected(struct moment_ctx *m, int fd)
{
	for (unsigned n = 0; n < m->nlater; n++) {
		const struct injected *i = &m->later[n];
		struct sp_record r = {
			.call = SP_CALL_SETSOCKOPT,
			.action = SP_ACT_INJECT,
			.fd = fd,
			.ret = i->rc,
			.err = i->err,
			.level = i->level,
			.opt = i->opt,
			.value = {&i->k, i->klen},
			.has_effective = i->has_eff,
			.effective = i->eff,
		};
		log_rec(m->x, &r, 0);
	}
	m->nlater = 0;
}

/* What the policy sets on the socket at moment MOM (apply.c's
 * sp_apply_moment, from outside).  GIVEN: the call's address. */
static void apply_moment(struct moment_ctx *m, struct sock *k, enum sp_moment mom, const struct sockaddr *given,
			 socklen_t given_len)
{
	const struct sp_table *t = m->x->p->t;
	struct sockaddr_storage local, peer;
	struct sp_sockaddrs view = {0};
	struct sp_sockstate ss;
	unsigned needs, missing;
	socklen_t len;

	if (!t || !k || !sp_moment_due(mom, k->flags))
		return;
	needs = sp_moment_prune(sp_moment_needs(t, (enum sp_class)k->cls, mom), mom, given, given_len);
	if (needs) {
		missing = sp_moment_view(needs, mom, given, given_len, &view);
		len = sizeof local;
		if ((missing & SP_NEED_LOCAL) && getsockname(m->copy, (struct sockaddr *)&local, &len) == 0) {
			view.local = (struct sockaddr *)&local;
			view.local_len = len;
		}
		len = sizeof peer;
		if ((missing & SP_NEED_PEER) && getpeername(m->copy, (struct sockaddr *)&peer, &len) == 0) {
			view.peer = (struct sockaddr *)&peer;
			view.peer_len = len;
		}
		ss = sp_sockstate_of(k->flags, k->set_by_program);
		sp_moment_each(t, (enum sp_class)k->cls, mom, &view, &ss, inject, m);
	}
	k->flags |= sp_moment_history(t, (enum sp_class)k->cls, mom);
}

/* A socket we did not see being made, in a process that made one we could
 * not: the at=socket rules act now, at its first moment. */
static void catch_up(struct moment_ctx *m, struct sock *k, int fresh)
{
	if (fresh && m->x->p->pending_socket) {
		m->x->p->pending_socket = 0;
		apply_moment(m, k, SP_AT_SOCKET, NULL, 0);
	}
}

/* Installs M's socket (made or accepted here, and closed here after) in
 * the target as the call's result: its lowest free number under its
 * RLIMIT_NOFILE, close-on-exec as asked, as bare.  The call is answered
 * and R written, with what the moment set.  Returns the number, or -1. */
static int install(struct moment_ctx *m, struct sock *k, struct sp_record *r, int cloexec)
{
	struct ctx *x = m->x;
	struct seccomp_notif_addfd add = {
		.id = x->n->id,
		.flags = SECCOMP_ADDFD_FLAG_SEND,
		.srcfd = (uint32_t)m->copy,
		.newfd_flags = cloexec ? O_CLOEXEC : 0,
	};
	int fd = ioctl(x->s->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add), e = errno;

	close(m->copy);
	m->copy = -1;
	/* socket's record names the new socket; accept's, the listener */
	if (r->call == SP_CALL_SOCKET)
		r->fd = fd;
	if (fd < 0) {
		if (k)
			sock_drop(x->s, k->ino);
		if (e == ENOENT)
			return -1; /* the call is gone: the target died */
		answer(x, -1, e);
		r->ret = -1;
		r->err = e;
		log_rec(x, r, 0);
		return -1;
	}
	r->ret = fd;
	log_rec(x, r, 0);
	flush_injected(m, fd);
	return fd;
}

/* ---- the calls ---- */

static void do_socket(struct ctx *x)
{
	int domain = (int)x->c.a[0], type = (int)x->c.a[1], protocol = (int)x->c.a[2], e;
	struct sp_record r = {.call = SP_CALL_SOCKET, .family = domain, .type = type, .protocol = protocol};
	struct moment_ctx m = {.x = x, .target_fd = -1};
	struct stat st;
	struct sock *k = NULL;

	/* made here, the socket would be ours: our network namespace, our
	 * credentials.  Elsewhere the kernel makes it, and the policy acts at
	 * its next moment */
	if (!x->p->same_creds || proc_pidfd(x->s, x->p) < 0 || x->p->netns != x->s->own_netns) {
		x->p->pending_socket = 1;
		let_through(x);
		r.fd = -1;
		log_rec(x, &r, 1);
		return;
	}
	m.copy = socket(domain, type & ~SOCK_CLOEXEC, protocol);
	if (m.copy < 0 && (errno == EMFILE || errno == ENFILE)) {
		/* our own table is full, not the target's: the kernel makes it there */
		x->p->pending_socket = 1;
		let_through(x);
		r.fd = -1;
		log_rec(x, &r, 1);
		return;
	}
	if (m.copy < 0) {
		e = errno;
		answer(x, -1, e);
		r.fd = -1;
		r.ret = -1;
		r.err = e;
		log_rec(x, &r, 0);
		return;
	}
	/* a socket's bookkeeping serves the policy alone: an audit keeps none */
	if (x->p->t && fstat(m.copy, &st) == 0)
		k = sock_new(x->s, st.st_ino, sp_classify(domain, type, protocol));
	apply_moment(&m, k, SP_AT_SOCKET, NULL, 0);
	install(&m, k, &r, type & SOCK_CLOEXEC);
}

/* The target's fd could not be taken: EBADF is the call's own answer. */
static void no_fd(struct ctx *x, struct sp_record *r, int e)
{
	if (e == EBADF) {
		answer(x, -1, EBADF);
		r->ret = -1;
		r->err = EBADF;
		log_rec(x, r, 0);
		return;
	}
	warn_cannot_act(x, e == EPERM ? "it is not dumpable, or ptrace access to it is refused"
				      : strerror(e));
	let_through(x);
	log_rec(x, r, 1);
}

static void do_bind_connect_listen(struct ctx *x)
{
	int fd = (int)x->c.a[0], rc, e, fresh;
	struct sp_record r = {.call = x->c.call, .fd = fd};
	struct sockaddr_storage addr;
	socklen_t len = 0;
	const struct sockaddr *given = NULL;
	struct moment_ctx m = {.x = x, .target_fd = fd};
	enum sp_moment mom = x->c.call == SP_CALL_BIND ? SP_AT_BIND
			     : x->c.call == SP_CALL_LISTEN ? SP_AT_LISTEN
							  : SP_AT_CONNECT;
	struct sock *k;

	if (x->c.call == SP_CALL_LISTEN) {
		r.backlog = (int)x->c.a[1];
	} else {
		int l = (int)x->c.a[2];
		if (l > 0 && (size_t)l <= sizeof addr && peek(x->n->pid, x->c.a[1], &addr, (size_t)l) == l) {
			len = (socklen_t)l;
			given = (const struct sockaddr *)&addr;
			r.addr = (struct sp_bytes){&addr, len < SP_RECORD_CUT ? len : SP_RECORD_CUT};
			r.addr_passed = len;
		}
		if (!still_valid(x))
			return;
	}
	m.copy = take_fd(x, fd);
	if (m.copy < 0) {
		no_fd(x, &r, errno);
		return;
	}
	k = sock_of(x->s, m.copy, &fresh);
	if (!k) {
		/* not a socket: the kernel's ENOTSOCK */
		close(m.copy);
		let_through(x);
		log_rec(x, &r, 1);
		return;
	}
	catch_up(&m, k, fresh);
	apply_moment(&m, k, mom, given, len);
	/* bind, listen and a non-blocking connect of an inet socket are made
	 * here, on the target's own socket, with its credentials
	 * (same_creds): the result is the kernel's, and the log has it.  A
	 * unix path would be looked up in our directory and mount namespace,
	 * and a blocking connect would block the supervisor: the kernel
	 * finishes those in the target */
	int inet = k->cls < SP_C_UNIX_STREAM, fl = x->c.call == SP_CALL_CONNECT ? fcntl(m.copy, F_GETFL) : 0;
	if (x->p->same_creds && inet &&
	    (x->c.call == SP_CALL_LISTEN || (x->c.call == SP_CALL_BIND && given) ||
	     (x->c.call == SP_CALL_CONNECT && given && fl >= 0 && (fl & O_NONBLOCK)))) {
		rc = x->c.call == SP_CALL_LISTEN ? listen(m.copy, r.backlog)
		     : x->c.call == SP_CALL_BIND ? bind(m.copy, given, len)
						 : connect(m.copy, given, len);
		e = rc < 0 ? errno : 0;
		close(m.copy);
		answer(x, rc, e);
		r.ret = rc;
		r.err = e;
		log_rec(x, &r, 0);
		return;
	}
	close(m.copy);
	let_through(x);
	log_rec(x, &r, 1);
}

/* accept's arguments beyond the listener; TLEN: *addrlen as the call began */
struct accept_args {
	int flags, tlen;
	uint64_t addrp, lenp;
};

/* Whether thread TID has no free descriptor number under its
 * RLIMIT_NOFILE.  Bare, accept takes its number before a connection:
 * at the limit it fails with EMFILE at once and the connection stays
 * queued, so a supervisor's accept must not be made then.  The count is
 * the size of /proc/TID/fd (Linux 6.2; 0 before, and the check is
 * skipped); a table at the count is listed, as numbers opened before a
 * lowered limit can lie above it. */
static int fd_table_full(pid_t tid)
{
	struct rlimit rl;
	char path[64];
	struct stat st;
	struct dirent *d;
	rlim_t below = 0;
	DIR *dir;

	if (prlimit(tid, RLIMIT_NOFILE, NULL, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	snprintf(path, sizeof path, "/proc/%ld/fd", (long)tid);
	if (stat(path, &st) < 0 || st.st_size <= 0 || (rlim_t)st.st_size < rl.rlim_cur)
		return 0;
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((d = readdir(dir))) {
		char *end;
		unsigned long n = strtoul(d->d_name, &end, 10);
		if (end != d->d_name && !*end && n < rl.rlim_cur)
			below++;
	}
	closedir(dir);
	return below >= rl.rlim_cur;
}

/* The rest of an accept made here: NFD (or -1 and E) is accept4's
 * result.  The at=accept moment, the peer's address written back, the
 * socket installed as the call's result. */
static void accepted(struct ctx *x, struct sp_record *r, const struct accept_args *a, int nfd, int e,
		     const struct sockaddr_storage *peer, socklen_t plen)
{
	struct moment_ctx m = {.x = x, .copy = nfd, .target_fd = -1};
	struct sock *k;
	int fresh;

	if (nfd < 0) {
		answer(x, -1, e);
		r->ret = -1;
		r->err = e;
		log_rec(x, r, 0);
		return;
	}
	k = sock_of(x->s, nfd, &fresh);
	r->addr = (struct sp_bytes){peer, plen < SP_RECORD_CUT ? plen : SP_RECORD_CUT};
	if (k && x->p->t)
		k->flags |= sp_accepted_history(x->p->t, (enum sp_class)k->cls);
	apply_moment(&m, k, SP_AT_ACCEPT, (const struct sockaddr *)peer, plen);
	if (a->addrp) {
		socklen_t n = plen < (socklen_t)a->tlen ? plen : (socklen_t)a->tlen;
		int pl = (int)plen;
		if (poke(x->n->pid, a->addrp, peer, n) != (ssize_t)n ||
		    poke(x->n->pid, a->lenp, &pl, sizeof pl) != sizeof pl) {
			close(nfd);
			answer(x, -1, EFAULT);
			r->ret = -1;
			r->err = EFAULT;
			log_rec(x, r, 0);
			return;
		}
	}
	install(&m, k, r, a->flags & SOCK_CLOEXEC);
}

/* ---- blocking accepts: a worker thread each ---- */

/* A bound on the threads (and listener copies) blocking accepts hold:
 * beyond it an accept is left to the kernel, as before workers were. */
#define ACCEPT_WORKERS 256
/* How often a worker looks at its call: the program's signals, its
 * death, the supervisor's end.  A signal reaches a blocked accept at
 * most this late (a process-wide one in a threaded program, twice). */
#define ACCEPT_SLICE_MS 50

struct acceptor {
	struct sv *s;
	struct seccomp_notif n;
	struct proc p; /* the caller as it was: the serving thread may forget its entry meanwhile */
	struct ctx x;
	struct accept_args a;
	struct sp_record r;
	int copy; /* the listener, open here */
};

/* Interrupts a worker's accept4, which blocks when another acceptor of
 * the same listener (a prefork sibling) took the connection poll saw. */
static int wake_signal(void) { return SIGRTMAX - 1; }

static void on_wake(int sig) { (void)sig; }

static void wake_handler_install(void)
{
	struct sigaction act = {.sa_handler = on_wake}; /* no SA_RESTART: accept4 returns EINTR */

	sigemptyset(&act.sa_mask);
	sigaction(wake_signal(), &act, NULL);
}

/* A timer that sends wake_signal() to the calling thread; installs the
 * handler first (the signal's default would end us). */
static int wake_timer(timer_t *timer)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct sigevent ev = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = wake_signal()};

	pthread_once(&once, wake_handler_install);
	ev._sigev_un._tid = gettid();
	return timer_create(CLOCK_MONOTONIC, &ev, timer);
}

/* accept4 on COPY, a blocking listener's copy, that poll found readable:
 * should another acceptor (a prefork sibling) take the connection first,
 * TIMER, armed every TICK_NS, ends the wait with EINTR. */
static int accept_bounded(int copy, timer_t timer, long tick_ns, int flags, struct sockaddr_storage *peer,
			  socklen_t *plen)
{
	struct itimerspec tick = {{0, tick_ns}, {0, tick_ns}}, off = {{0, 0}, {0, 0}};
	int nfd, e;

	timer_settime(timer, 0, &tick, NULL);
	nfd = accept4(copy, (struct sockaddr *)peer, plen, flags & SOCK_NONBLOCK);
	e = errno;
	timer_settime(timer, 0, &off, NULL);
	errno = e;
	return nfd;
}

/* Whether the kernel would now give thread TID a signal, which its
 * blocked accept must see as bare (EINTR, or a restart): the filter's
 * WAIT_KILLABLE_RECV holds non-fatal signals while we hold the call.  A
 * process-wide signal may be taken by another thread of a threaded
 * process: it counts when it is still pending at the next look
 * (*SHARED_SEEN).  A group stop another thread began (its leader
 * stopped) waits for TID too.  -1: TID is gone. */
static int signal_due(pid_t tid, pid_t tgid, int *shared_seen)
{
	char path[64], status[4096], f[64];
	unsigned long long own, shared, open;
	long threads;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)tid);
	if (read_file(path, status, sizeof status) <= 0)
		return -1;
	status_field(status, "\nSigBlk:", f, sizeof f);
	open = ~strtoull(f, NULL, 16);
	/* an ignored signal is dropped when it is taken: no need to wake */
	status_field(status, "\nSigIgn:", f, sizeof f);
	open &= ~strtoull(f, NULL, 16);
	status_field(status, "\nSigPnd:", f, sizeof f);
	own = strtoull(f, NULL, 16) & open;
	status_field(status, "\nShdPnd:", f, sizeof f);
	shared = strtoull(f, NULL, 16) & open;
	status_field(status, "\nThreads:", f, sizeof f);
	threads = strtol(f, NULL, 10);
	if (own)
		return 1;
	if (threads > 1 && tid != tgid) {
		snprintf(path, sizeof path, "/proc/%ld/status", (long)tgid);
		if (read_file(path, status, sizeof status) > 0) {
			status_field(status, "\nState:", f, sizeof f);
			if (f[strspn(f, " \t")] == 'T')
				return 1;
		}
	}
	if (!shared) {
		*shared_seen = 0;
		return 0;
	}
	if (threads <= 1 || *shared_seen)
		return 1;
	*shared_seen = 1;
	return 0;
}

/* The serving thread and the workers share the bookkeeping and the log. */
static void sv_lock(struct sv *s)
{
	pthread_mutex_lock(&s->lock);
}

static void sv_unlock(struct sv *s)
{
	pthread_mutex_unlock(&s->lock);
}

/* A worker's records are written as it lets go of the lock, with those
 * held before them: the serving thread sets the log's timer only for a
 * batch it began itself, and one a worker began would wait for the
 * program's next call, however long that takes. */
static void worker_unlock(struct sv *s)
{
	svlog_flush(&s->log);
	sv_unlock(s);
}

static long long ms_until(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (t->tv_sec - now.tv_sec) * 1000LL + (t->tv_nsec - now.tv_nsec) / 1000000;
}

/* Waits, slice by slice, until the listener has a connection for us, the
 * program has a signal (the kernel's accept then sees it), its
 * SO_RCVTIMEO passes (EAGAIN), the program dies or the supervisor ends. */
static void accept_wait(struct acceptor *w)
{
	struct ctx *x = &w->x;
	struct timespec deadline;
	struct timeval tv = {0, 0};
	socklen_t len = sizeof tv;
	int shared_seen = 0, stopping;
	timer_t timer;

	if (wake_timer(&timer) < 0) {
		/* accept4 could block us for good: the kernel accepts */
		let_through(x);
		sv_lock(w->s);
		log_rec(x, &w->r, 1);
		worker_unlock(w->s);
		return;
	}
	getsockopt(w->copy, SOL_SOCKET, SO_RCVTIMEO, &tv, &len);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += tv.tv_sec;
	deadline.tv_nsec += tv.tv_usec * 1000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	for (;;) {
		long long left = tv.tv_sec || tv.tv_usec ? ms_until(&deadline) : ACCEPT_SLICE_MS;
		struct pollfd pf = {w->copy, POLLIN, 0};
		int ready = poll(&pf, 1, left < 0 ? 0 : left < ACCEPT_SLICE_MS ? (int)left : ACCEPT_SLICE_MS);
		/* a connection is taken before a pending signal, as the kernel's
		 * accept looks at signals only when it has to wait.  Read before
		 * the call is confirmed pending: the tid is still ours */
		int sig = ready > 0 ? 0 : signal_due(x->n->pid, x->p->tgid, &shared_seen);

		if (!still_valid(x))
			break; /* the program died, or a fatal signal ended it */
		sv_lock(w->s);
		stopping = w->s->stopping;
		sv_unlock(w->s);
		if (sig || stopping) {
			let_through(x);
			sv_lock(w->s);
			log_rec(x, &w->r, 1);
			worker_unlock(w->s);
			break;
		}
		if (ready > 0) {
			struct sockaddr_storage peer;
			socklen_t plen = sizeof peer;
			int nfd, e;
			/* bare, its descriptor number was taken as accept began; a
			 * thread of the program may have used the last since */
			if (fd_table_full(x->n->pid)) {
				sv_lock(w->s);
				accepted(x, &w->r, &w->a, -1, EMFILE, NULL, 0);
				worker_unlock(w->s);
				break;
			}
			nfd = accept_bounded(w->copy, timer, ACCEPT_SLICE_MS * 1000000L, w->a.flags, &peer, &plen);
			e = errno;
			/* EINTR: another acceptor was first; EAGAIN: and SO_RCVTIMEO is set */
			if (nfd >= 0 || (e != EINTR && e != EAGAIN)) {
				sv_lock(w->s);
				accepted(x, &w->r, &w->a, nfd, e, &peer, plen);
				worker_unlock(w->s);
				break;
			}
		}
		if ((tv.tv_sec || tv.tv_usec) && ms_until(&deadline) <= 0) {
			sv_lock(w->s);
			accepted(x, &w->r, &w->a, -1, EAGAIN, NULL, 0);
			worker_unlock(w->s);
			break;
		}
	}
	timer_delete(timer);
}

static void *accept_worker(void *arg)
{
	struct acceptor *w = arg;
	struct sv *s = w->s;
	sigset_t wake;

	sigemptyset(&wake);
	sigaddset(&wake, wake_signal());
	pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
	accept_wait(w);
	close(w->copy);
	free(w);
	pthread_mutex_lock(&s->lock);
	if (--s->workers == 0)
		pthread_cond_broadcast(&s->workers_gone);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* A blocking accept, waited for by a worker so that the serving thread
 * never blocks.  0: the worker has the call and COPY; -1: the kernel must
 * take it (too many workers: said once). */
static int accept_later(struct ctx *x, int copy, const struct accept_args *a, const struct sp_record *r)
{
	struct sv *s = x->s;
	struct acceptor *w;
	pthread_attr_t attr;
	pthread_t thread;
	int rc;

	if (s->stopping)
		return -1;
	if (s->workers >= ACCEPT_WORKERS) {
		if (!s->warned_workers) {
			char msg[256];
			s->warned_workers = 1;
			snprintf(msg, sizeof msg,
				 "more than %d blocking accepts wait at once: the kernel takes the others, without "
				 "at=accept rules",
				 ACCEPT_WORKERS);
			svlog_flush(&s->log); /* stderr may be the log's file */
			fprintf(stderr, "sockpolicy: warning: process %ld (%s): %s\n", (long)x->p->tgid, x->p->prog,
				msg);
			svlog_note(&s->log, x->p->tgid, x->p->prog, msg);
		}
		return -1;
	}
	w = calloc(1, sizeof *w);
	if (!w)
		return -1;
	w->s = s;
	w->n = *x->n;
	w->p = *x->p;
	w->p.next = NULL;
	w->p.pidfd = -1;
	w->x = (struct ctx){s, &w->n, &w->p, x->c};
	w->a = *a;
	w->r = *r;
	w->copy = copy;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	rc = pthread_create(&thread, &attr, accept_worker, w);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		free(w);
		return -1;
	}
	/* the worker takes the lock, which the serving thread holds, before it ends */
	s->workers++;
	return 0;
}

/* Ends the workers: each answers its call "continue" (the program's
 * accept goes on in the kernel) within a slice, and goes. */
static void workers_stop(struct sv *s)
{
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	while (s->workers)
		pthread_cond_wait(&s->workers_gone, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

/* A blocking accept whose connection is queued already is made by the
 * serving thread, as the kernel's accept would return at once: a thread
 * hop and its scheduling less (a busy server's every accept).  Should
 * another acceptor take the connection between poll and accept4, the
 * wait ends within a tick of 1 ms.  1: done, COPY closed. */
static int accept_queued(struct ctx *x, int copy, const struct accept_args *a, struct sp_record *r)
{
	struct sv *s = x->s;
	struct pollfd pf = {copy, POLLIN, 0};
	struct sockaddr_storage peer;
	socklen_t plen = sizeof peer;
	sigset_t wake;
	int nfd, e;

	if (!s->has_serve_timer)
		s->has_serve_timer = wake_timer(&s->serve_timer) == 0 ? 1 : -1;
	if (s->has_serve_timer < 0 || poll(&pf, 1, 0) != 1 || !(pf.revents & POLLIN))
		return 0;
	sigemptyset(&wake);
	sigaddset(&wake, wake_signal());
	pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
	nfd = accept_bounded(copy, s->serve_timer, 1000000L, a->flags, &peer, &plen);
	e = errno;
	pthread_sigmask(SIG_BLOCK, &wake, NULL);
	if (nfd < 0 && (e == EINTR || e == EAGAIN))
		return 0; /* taken by another: a worker waits for the next */
	close(copy);
	accepted(x, r, a, nfd, e, &peer, plen);
	return 1;
}

static void do_accept(struct ctx *x)
{
	int fd = (int)x->c.a[0], e, fl, listening = 0, copy, nfd;
	struct accept_args a = {.flags = x->c.call == SP_CALL_ACCEPT4 ? (int)x->c.a[3] : 0,
				.addrp = x->c.a[1],
				.lenp = x->c.a[2]};
	struct sp_record r = {.call = x->c.call, .fd = fd, .flags = a.flags};
	struct sockaddr_storage peer;
	socklen_t plen = sizeof peer, len = sizeof listening;

	copy = take_fd(x, fd);
	if (copy < 0) {
		no_fd(x, &r, errno);
		return;
	}
	fl = fcntl(copy, F_GETFL);
	/* Accepted here (or by a worker): at=accept rules act before the
	 * program has the socket */
	if (fl < 0 || !x->p->same_creds || (a.flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) ||
	    (a.addrp && (!a.lenp || peek(x->n->pid, a.lenp, &a.tlen, sizeof a.tlen) != sizeof a.tlen || a.tlen < 0))) {
		close(copy);
		let_through(x);
		log_rec(x, &r, 1);
		return;
	}
	if (!still_valid(x)) {
		close(copy);
		return;
	}
	/* the kernel's order: EMFILE before any error of the socket's */
	if (fd_table_full(x->n->pid)) {
		close(copy);
		accepted(x, &r, &a, -1, EMFILE, NULL, 0);
		return;
	}
	if (!(fl & O_NONBLOCK)) {
		/* not listening: the kernel's error, at once */
		if (getsockopt(copy, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening) {
			close(copy);
			let_through(x);
			log_rec(x, &r, 1);
			return;
		}
		if (accept_queued(x, copy, &a, &r))
			return;
		if (accept_later(x, copy, &a, &r) < 0) {
			close(copy);
			let_through(x);
			log_rec(x, &r, 1);
		}
		return;
	}
	nfd = accept4(copy, (struct sockaddr *)&peer, &plen, a.flags & SOCK_NONBLOCK);
	e = errno;
	close(copy);
	accepted(x, &r, &a, nfd, e, &peer, plen);
}

#define VALUE_MAX 4096

static void do_setsockopt(struct ctx *x)
{
	int fd = (int)x->c.a[0], level = (int)x->c.a[1], opt = (int)x->c.a[2], len = (int)x->c.a[4];
	unsigned char val[VALUE_MAX];
	struct timeval tv;
	const void *pv = val;
	size_t plen;
	struct sp_record r = {.call = SP_CALL_SETSOCKOPT, .fd = fd, .level = level, .opt = opt};
	struct sp_override ov = {0};
	struct sp_so_verdict v;
	struct sp_slot slot = {0, 0, 0};
	unsigned sflags = 0;
	int copy, rc = -1, e = 0, fresh;
	struct sock *k;

	/* a length the kernel refuses, or a value too long to copy here: the
	 * kernel answers the program itself */
	if (len < 0 || len > VALUE_MAX || peek(x->n->pid, x->c.a[3], val, (size_t)len) != len) {
		let_through(x);
		log_rec(x, &r, 1);
		return;
	}
	if (!still_valid(x))
		return;
	plen = (size_t)len;
	r.value = (struct sp_bytes){val, plen < SP_RECORD_CUT ? plen : SP_RECORD_CUT};
	r.value_passed = plen;
	copy = take_fd(x, fd);
	if (copy < 0) {
		no_fd(x, &r, errno);
		return;
	}
	k = x->p->t ? sock_of(x->s, copy, &fresh) : NULL;
	if (k) {
		struct moment_ctx m = {.x = x, .copy = copy, .target_fd = fd};
		catch_up(&m, k, fresh);
	}
	/* an i386 struct timeval is two 32-bit longs: the kernel converts it
	 * for a compat caller, and so do we for our own call */
	if (x->c.compat && level == SOL_SOCKET && (opt == SO_RCVTIMEO || opt == SO_SNDTIMEO) && plen == 8) {
		int32_t t32[2];
		memcpy(t32, val, sizeof t32);
		tv.tv_sec = t32[0];
		tv.tv_usec = t32[1];
		pv = &tv;
		plen = sizeof tv;
	}
	const struct sp_table *t = x->p->t;
	if (t && k)
		sflags = sp_table_slot(t, level, opt, &slot);
	if (sflags & SP_SLOT_OVERRIDDEN) {
		unsigned needs = sp_override_needs(t, (enum sp_class)k->cls, slot.slot);
		struct sockaddr_storage local, peer;
		struct sp_sockaddrs view = {0};
		socklen_t l = sizeof local;
		if ((needs & SP_NEED_LOCAL) && getsockname(copy, (struct sockaddr *)&local, &l) == 0) {
			view.local = (struct sockaddr *)&local;
			view.local_len = l;
		}
		l = sizeof peer;
		if ((needs & SP_NEED_PEER) && getpeername(copy, (struct sockaddr *)&peer, &l) == 0) {
			view.peer = (struct sockaddr *)&peer;
			view.peer_len = l;
		}
		sp_override_find(t, (enum sp_class)k->cls, slot.slot, &view, &ov);
	}
	sp_decide_setsockopt(&ov, level, opt, pv, plen, &v);
	if (!x->p->same_creds && (v.kind == SP_V_PASS || v.kind == SP_V_REPLACE)) {
		/* a set made here would be made with our privileges */
		if (v.kind == SP_V_REPLACE)
			warn_cannot_act(x, "it runs as another user, or with other capabilities");
		close(copy);
		let_through(x);
		log_rec(x, &r, 1);
		return;
	}
	/* the program is answered first; its records are written while it
	 * runs on (the next call waits for them, so they stay in order) */
	struct sp_so_verdict first = v;
	int first_rc = 0, first_err = 0, passed = 0;
	switch (v.kind) {
	case SP_V_SKIP:
	case SP_V_REFUSE:
		rc = v.kind == SP_V_REFUSE ? -1 : 0;
		e = v.err;
		break;
	case SP_V_REPLACE:
		rc = first_rc = setsockopt(copy, level, opt, &v.k, v.klen);
		e = first_err = rc < 0 ? errno : 0;
		if (rc == 0)
			break;
		/* refused: the program's own value goes through, and its result */
		sp_verdict_refused(&v);
		__attribute__((fallthrough));
	case SP_V_PASS:
		rc = setsockopt(copy, level, opt, pv, (socklen_t)plen);
		e = rc < 0 ? errno : 0;
		passed = 1;
		break;
	}
	answer(x, rc, e);
	if (first.kind == SP_V_SKIP || first.kind == SP_V_REFUSE) {
		r.action = first.act;
		r.ret = rc;
		r.err = e;
		log_rec(x, &r, 0);
	}
	if (first.kind == SP_V_REPLACE)
		log_set(x, copy, fd, first.act, first_rc, first_err, level, opt, &first.k, first.klen, 0, val, plen, 0);
	if (passed)
		log_set(x, copy, fd, v.act, rc, e, level, opt, val, (size_t)len, 0, NULL, 0, 0);
	if (k)
		sp_note_program_set(&slot, rc, k->set_by_program);
	close(copy);
}

static void do_getsockopt(struct ctx *x)
{
	int fd = (int)x->c.a[0], level = (int)x->c.a[1], opt = (int)x->c.a[2], tlen, copy, rc, e;
	unsigned char val[VALUE_MAX];
	struct sp_record r = {.call = SP_CALL_GETSOCKOPT, .fd = fd, .level = level, .opt = opt};
	socklen_t len;

	/* compat layouts (timeouts) and odd lengths: the kernel answers */
	if ((x->c.compat && level == SOL_SOCKET && (opt == SO_RCVTIMEO || opt == SO_SNDTIMEO)) || !x->p->same_creds || peek(x->n->pid, x->c.a[4], &tlen, sizeof tlen) != sizeof tlen ||
	    tlen < 0 || tlen > VALUE_MAX || !still_valid(x)) {
		let_through(x);
		log_rec(x, &r, 1);
		return;
	}
	copy = take_fd(x, fd);
	if (copy < 0) {
		no_fd(x, &r, errno);
		return;
	}
	len = (socklen_t)tlen;
	rc = getsockopt(copy, level, opt, val, &len);
	e = rc < 0 ? errno : 0;
	close(copy);
	if (rc == 0) {
		int l = (int)len;
		if (poke(x->n->pid, x->c.a[3], val, len) != (ssize_t)len ||
		    poke(x->n->pid, x->c.a[4], &l, sizeof l) != sizeof l) {
			rc = -1;
			e = EFAULT;
		}
	}
	answer(x, rc, e);
	r.ret = rc;
	r.err = e;
	if (rc == 0) {
		r.value = (struct sp_bytes){val, len < SP_RECORD_CUT ? len : SP_RECORD_CUT};
		r.value_passed = len;
	}
	log_rec(x, &r, 0);
}

static void handle(struct sv *s, struct seccomp_notif *n)
{
	struct ctx x = {s, n, NULL, {0}};

	if (!decode(&x)) {
		let_through(&x);
		return;
	}
	if (x.c.exec) {
		struct proc *p = proc_get(s, n->pid);
		if (p)
			proc_forget(s, p->tgid);
		let_through(&x);
		return;
	}
	if (x.c.creds) {
		/* the change is made once we let the call go: from now on this
		 * process's credentials are read at each of its calls */
		struct proc *p = proc_get(s, n->pid);
		if (p)
			proc_mark_volatile(s, p);
		let_through(&x);
		return;
	}
	proc_sweep(s);
	x.p = proc_lookup(s, n->pid, x.c.call == SP_CALL_SETSOCKOPT);
	if (!x.p) {
		let_through(&x);
		return;
	}
	/* what was just read of the process holds only while the call is
	 * pending (a setsockopt confirms it after reading the value) */
	if ((s->proc_read || x.c.call != SP_CALL_SETSOCKOPT) && !still_valid(&x))
		return;
	switch (x.c.call) {
	case SP_CALL_SOCKET: do_socket(&x); break;
	case SP_CALL_BIND:
	case SP_CALL_CONNECT:
	case SP_CALL_LISTEN: do_bind_connect_listen(&x); break;
	case SP_CALL_ACCEPT:
	case SP_CALL_ACCEPT4: do_accept(&x); break;
	case SP_CALL_SETSOCKOPT: do_setsockopt(&x); break;
	case SP_CALL_GETSOCKOPT: do_getsockopt(&x); break;
	}
}

/* Linux 6.6: the target's CPU switches straight to the supervisor and
 * back, instead of waking it wherever it sleeps (the handled call's cost
 * is mostly these two switches) */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1
#endif

static const char *seccomp_why(int err)
{
	switch (err) {
	case EBUSY: return "a seccomp notifier already supervises this process (a container runtime, another sockpolicy)";
	case EINVAL: return "this kernel has no SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19 or later is needed)";
	case EACCES:
	case EPERM: return "seccomp filters are not allowed here";
	case E2BIG: return "the policy names too many options for the filter";
	default: return strerror(err);
	}
}

/* Waits for FD to be readable, for the log's flush timer, or for
 * sv_free's stop; 0 when FD is (or hung up), 1 when the log's held
 * records are due, -1 to stop.  The timer comes before FD: a steady
 * stream of calls must not hold the records back. */
static int wait_readable(struct sv *s, int fd, short *revents)
{
	struct pollfd pf[3] = {{fd, POLLIN, 0}, {s->stop, POLLIN, 0}, {s->flush_timer, POLLIN, 0}};
	uint64_t expired;

	for (;;) {
		if (poll(pf, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pf[1].revents)
			return -1;
		if (pf[2].revents) {
			if (read(s->flush_timer, &expired, sizeof expired) < 0) {
				/* EAGAIN: nothing left to take; it is due all the same */
			}
			return 1;
		}
		*revents = pf[0].revents;
		return 0;
	}
}

/* The timer for held records due at DUE (CLOCK_MONOTONIC ns), set once a
 * batch: a poll timeout instead would arm and cancel a kernel timer at
 * every call (measured: a fifth of what holding the records saves).  If
 * it cannot be set, they are written now. */
static void flush_at(struct sv *s, int64_t due)
{
	struct itimerspec at = {{0, 0}, {(time_t)(due / 1000000000LL), (long)(due % 1000000000LL)}};

	if (timerfd_settime(s->flush_timer, TFD_TIMER_ABSTIME, &at, NULL) < 0) {
		sv_lock(s);
		svlog_flush(&s->log);
		sv_unlock(s);
	}
}

/* Said by CMD's child, which shares our memory and holds us stopped
 * (sv_spawn's clone): before anything CMD says. */
static void cannot_act(struct sv *s, int err)
{
	char note[512];

	fprintf(stderr, "sockpolicy: %s: the supervisor cannot act: %s%s\n", s->cfg.strict ? "error" : "warning",
		seccomp_why(err), s->cfg.strict ? "" : "; the program runs without the policy");
	snprintf(note, sizeof note, "the supervisor cannot act: %s%s", seccomp_why(err),
		 s->cfg.strict ? "; the program was not started" : "; the program runs without the policy");
	svlog_note(&s->log, getpid(), s->cfg.cmd ? s->cfg.cmd : "", note);
}

static void *serve(void *arg)
{
	struct sv *s = arg;
	struct seccomp_notif n;
	int64_t due, armed = 0; /* when the log's held records are due; when the timer is set for */
	sigset_t all;
	short ev;
	int rc;

	/* signals are the main thread's (forwarded to CMD) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	/* up before CMD's child exists: its exec may be a routed call, made
	 * while its parent waits for that exec (sv_spawn) */
	if (wait_readable(s, s->ready, &ev) < 0 || s->listener < 0)
		return NULL;
	/* older kernels have no such flag: their wake-ups are only slower */
	ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, (__u64)SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	/* polled with the stop: a RECV with no call pending would wait on,
	 * and only cancellation could end it */
	while ((rc = wait_readable(s, s->listener, &ev)) >= 0) {
		if (rc > 0) {
			sv_lock(s);
			svlog_flush(&s->log);
			sv_unlock(s);
			armed = 0;
			continue;
		}
		if (!(ev & POLLIN)) {
			/* POLLHUP: no process is left under the filter, and
			 * none can come: the guard is not needed any more */
			if (ev & POLLHUP)
				sv_guard_let_go(s->guard > 0 ? s->guard_fd : -1);
			if (ev & (POLLHUP | POLLERR | POLLNVAL))
				break;
			continue;
		}
		memset(&n, 0, sizeof n);
		if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_RECV, &n) == 0) {
			sv_lock(s);
			handle(s, &n);
			due = svlog_due(&s->log);
			sv_unlock(s);
			/* a new batch: the last one was written (due, full, or
			 * before a warning) */
			if (due && due != armed) {
				flush_at(s, due);
				armed = due;
			}
		} else if (errno != EINTR && errno != ENOENT)
			break;
		/* ENOENT: the caller died before we took its call */
	}
	sv_lock(s);
	svlog_flush(&s->log);
	sv_unlock(s);
	return NULL;
}

/* ---- start-up ---- */

/* Our Uid:, Gid: and CapEff: as /proc/PID/status shows them, from the
 * system calls (reading our own status file costs tens of microseconds of
 * start-up). */
static void own_credentials(struct sv *s)
{
	struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct caps[2];
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) == 0)
		snprintf(s->own_uid, sizeof s->own_uid, "\t%u\t%u\t%u\t%u", (unsigned)ru, (unsigned)eu, (unsigned)su,
			 (unsigned)setfsuid((uid_t)-1));
	if (getresgid(&rg, &eg, &sg) == 0)
		snprintf(s->own_gid, sizeof s->own_gid, "\t%u\t%u\t%u\t%u", (unsigned)rg, (unsigned)eg, (unsigned)sg,
			 (unsigned)setfsgid((gid_t)-1));
	if (syscall(SYS_capget, &head, caps) == 0)
		snprintf(s->own_cap, sizeof s->own_cap, "\t%08x%08x", caps[1].effective, caps[0].effective);
}

static int start_serving(struct sv *s)
{
	errno = pthread_create(&s->thread, NULL, serve, s);
	if (errno) {
		fprintf(stderr, "sockpolicy: cannot start the supervisor: %s\n", strerror(errno));
		return -1;
	}
	s->serving = 1;
	return 0;
}

struct sv *sv_new(const struct sv_config *cfg)
{
	struct sv *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	s->cfg = *cfg;
	s->listener = -1;
	s->guard_pair[0] = s->guard_pair[1] = -1;
	s->parent = getpid();
	s->gone.pidfd = -1;
	s->stop = s->ready = s->flush_timer = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->workers_gone, NULL);
	if (svlog_open(&s->log, cfg->log, cfg->json, cfg->strict) < 0) {
		free(s);
		return NULL;
	}
	/* held records are written when due by the serving thread, woken by
	 * this timer; without one, nothing would write them */
	if (s->log.buf) {
		s->flush_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (s->flush_timer < 0)
			svlog_hold_none(&s->log);
	}
	build_routes(cfg->policy, s->log.kind != 0, &s->routes);
	/* built here, so that CMD's child only installs it */
	s->filter_len = (unsigned short)sv_filter_build(&s->routes, s->filter);
	own_credentials(s);
	s->own_netns = netns_of("/proc/self/ns/net");
	s->stop = eventfd(0, EFD_CLOEXEC);
	s->ready = eventfd(0, EFD_CLOEXEC);
	if (s->stop < 0 || s->ready < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, s->guard_pair) < 0) {
		fprintf(stderr, "sockpolicy: cannot prepare the supervisor: %s\n", strerror(errno));
		sv_free(s);
		return NULL;
	}
	/* the guard is up before CMD exists, forked while this process has
	 * one thread: CMD never runs a moment without a listener-holder
	 * that kills it if we die */
	s->guard = sv_guard_start(s->guard_pair[0], &s->guard_fd);
	close(s->guard_pair[0]);
	s->guard_pair[0] = -1;
	/* an exec that is routed is a call of CMD's child, made while we
	 * wait for that exec: the thread must be up first.  Else it starts
	 * while CMD starts (sv_parent) */
	if ((s->routes.calls & SV_R_EXEC) && start_serving(s) < 0) {
		sv_free(s);
		return NULL;
	}
	return s;
}

int sv_child(struct sv *s)
{
	struct sock_fprog prog = {s->filter_len, s->filter};
	int listener = -1, err = 0, self;

	/* the supervisor's death is ours: never run with calls answered ENOSYS */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != s->parent)
		_exit(125);
	if (prog.len == 0)
		err = E2BIG;
	else if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		err = errno;
	else
		listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
					SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
	if (listener < 0 && !err)
		err = errno;
	/* the guard's copies before exec: CMD itself, and the listener, held
	 * in the guard's socket once sent (the guard may be gone: no guard) */
	self = sv_pidfd_open(getpid());
	sv_guard_send(s->guard_pair[1], getpid(), self, listener);
	if (self >= 0)
		close(self);
	/* close-on-exec, in the descriptor table we share with the parent:
	 * the serving thread's from now on */
	s->listener = listener;
	if (write(s->ready, &(uint64_t){1}, sizeof(uint64_t)) < 0) {
		/* an eventfd below its maximum: cannot fail */
	}
	if (listener >= 0)
		return 0;
	cannot_act(s, err);
	return s->cfg.strict ? -1 : 0;
}

int sv_parent(struct sv *s, pid_t child)
{
	close(s->guard_pair[1]);
	s->guard_pair[1] = -1;
	s->child = child;
	if (s->listener < 0)
		return s->cfg.strict ? -1 : 0; /* the child said why */
	if (s->serving || start_serving(s) == 0)
		return 0;
	/* nothing would serve CMD's calls; it is our unreaped child */
	kill(child, SIGKILL);
	return -1;
}

/* Ends the serving thread now, whatever it waits for. */
static void stop_serving(struct sv *s)
{
	if (write(s->stop, &(uint64_t){1}, sizeof(uint64_t)) < 0) {
		/* an eventfd below its maximum: cannot fail */
	}
}

void sv_wait_done(struct sv *s)
{
	/* no child was started: no listener will come */
	if (s->serving && !s->child)
		stop_serving(s);
	if (s->serving) {
		pthread_join(s->thread, NULL);
		s->serving = 0;
	}
	/* no process is left under the filter: the workers' calls are gone */
	workers_stop(s);
	/* audit reads the log next: nothing may still be held (the threads
	 * wrote theirs as they ended; this costs nothing then) */
	sv_lock(s);
	svlog_flush(&s->log);
	sv_unlock(s);
	sv_guard_release(s->guard, s->guard_fd);
	s->guard = 0;
}

void sv_end_orphans(struct sv *s)
{
	if (s->serving)
		sv_kill_orphans(s->guard);
	sv_wait_done(s);
}

pid_t sv_guard_pid(const struct sv *s) { return s->guard > 0 ? s->guard : 0; }

void sv_free(struct sv *s)
{
	if (!s)
		return;
	workers_stop(s);
	if (s->serving) {
		stop_serving(s);
		pthread_join(s->thread, NULL);
	}
	sv_guard_release(s->guard, s->guard_fd);
	for (int i = 0; i < 2; i++)
		if (s->guard_pair[i] >= 0)
			close(s->guard_pair[i]);
	if (s->listener >= 0)
		close(s->listener);
	if (s->stop >= 0)
		close(s->stop);
	if (s->ready >= 0)
		close(s->ready);
	if (s->flush_timer >= 0)
		close(s->flush_timer);
	for (unsigned i = 0; i < NPROC; i++)
		while (s->procs[i]) {
			struct proc *p = s->procs[i];
			s->procs[i] = p->next;
			if (p->pidfd >= 0)
				close(p->pidfd);
			free(p);
		}
	for (unsigned i = 0; i < NSOCK; i++)
		while (s->socks[i]) {
			struct sock *k = s->socks[i];
			s->socks[i] = k->next;
			free(k);
		}
	while (s->tabs) {
		struct tab *t = s->tabs;
		s->tabs = t->next;
		sp_table_free(t->t);
		free(t->prog);
		free(t);
	}
	if (s->has_serve_timer > 0)
		timer_delete(s->serve_timer);
	svlog_close(&s->log);
	pthread_cond_destroy(&s->workers_gone);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
