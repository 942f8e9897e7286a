/* System call numbers the supervisor handles, for both ABIs it serves
 * whatever this build's own is. */
#ifndef SOCKPOLICY_SV_SYSCALLS_H
#define SOCKPOLICY_SV_SYSCALLS_H

/* x86-64 */
#define SV64_SOCKET 41
#define SV64_CONNECT 42
#define SV64_ACCEPT 43
#define SV64_BIND 49
#define SV64_LISTEN 50
#define SV64_SETSOCKOPT 54
#define SV64_GETSOCKOPT 55
#define SV64_EXECVE 59
#define SV64_ACCEPT4 288
#define SV64_EXECVEAT 322

/* i386: socketcall(2) and the direct calls of Linux 4.3 */
#define SV32_EXECVE 11
#define SV32_SOCKETCALL 102
#define SV32_EXECVEAT 358
#define SV32_SOCKET 359
#define SV32_BIND 361
#define SV32_CONNECT 362
#define SV32_LISTEN 363
#define SV32_ACCEPT4 364
#define SV32_GETSOCKOPT 365
#define SV32_SETSOCKOPT 366

/* Calls that change a thread's credentials or namespaces.  The supervisor
 * reads a process's credentials once, and again at every call from the
 * moment the process makes one of these (its sets, binds and sockets must
 * never be made with our privileges, or in our namespace, once it has
 * dropped or left them): setuid, setgid, setreuid, setregid, setgroups,
 * setresuid, setresgid, setfsuid, setfsgid, capset, unshare, setns, and
 * i386's 16- and 32-bit id variants. */
#define SV64_CRED_CALLS 105, 106, 113, 114, 116, 117, 119, 122, 123, 126, 272, 308
#define SV32_CRED_CALLS                                                                                        \
	23, 46, 70, 71, 81, 138, 139, 164, 170, 185, 203, 204, 206, 208, 210, 213, 214, 215, 216, 310, 346

#endif
