/* Whose memory is this?  A vfork() child (Python's subprocess, posix_spawn
 * before it execs, clone(CLONE_VM)) runs on its parent's memory until it
 * execs or exits.  Whatever of the shim's state it changes -- the log's
 * descriptor, the per-socket registry -- is the parent's when the parent
 * resumes, and is wrong there: the child's descriptor numbers mean nothing
 * in the parent's table.  Code that changes shared state asks first. */
#ifndef SOCKPOLICY_BORROWED_H
#define SOCKPOLICY_BORROWED_H

/* 1 when this process runs on memory another live process owns (a vfork
 * child), 0 when the memory is its own.  One getpid() when it is; a few
 * system calls the first time in a new process.  Async-signal-safe. */
int sp_borrowed_memory(void);

/* Registers the fork handler that makes a forked child the owner of its
 * copy at once.  Called once at load. */
void sp_borrowed_init(void);

#endif
