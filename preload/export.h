/* The one way a symbol leaves the library: everything else is hidden by
 * -fvisibility=hidden, and libsockpolicy.map lists what is exported. */
#ifndef SOCKPOLICY_EXPORT_H
#define SOCKPOLICY_EXPORT_H

#define SP_EXPORT __attribute__((visibility("default")))

#define SP_LIKELY(x) __builtin_expect(!!(x), 1)
#define SP_UNLIKELY(x) __builtin_expect(!!(x), 0)

#endif
