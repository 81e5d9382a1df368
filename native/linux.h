// Kernel interfaces newer than the oldest headers this builds against (the kernel floor is
// 4.18; these are detected at run time). The numbers are the same on every architecture.
#pragma once

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000  // 5.2
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424  // 5.1
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434  // 5.3
#endif
#ifndef SYS_close_range
#define SYS_close_range 436  // 5.9
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)  // 5.11
#endif
#ifndef P_PIDFD
#define P_PIDFD 3  // waitid, 5.4
#endif
