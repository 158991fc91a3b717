// SPDX-License-Identifier: MIT
// Whether this build has the daemon parts (src/os/): POSIX, and not left out (LASIO_WITH_DAEMON=OFF).
#pragma once

#if !defined(_WIN32) && !defined(LASIO_NO_DAEMON)
#define LASIO_HAS_DAEMON 1
#elif defined(_WIN32)
/// What the Lua functions of the daemon parts raise where they are absent.
#define LASIO_NO_DAEMON_WHY "not supported on Windows"
#else
#define LASIO_NO_DAEMON_WHY "not in this build (LASIO_WITH_DAEMON=OFF)"
#endif
