// SPDX-License-Identifier: MIT
// Whether this build has the daemon parts (src/os/): POSIX, and not left out. Signals
// (LASIO_WITH_SIGNALS) are apart from processes, watches and stdin (LASIO_WITH_DAEMON) because
// the router-size build keeps them: a router daemon must stop cleanly on SIGTERM.
#pragma once

#if !defined(_WIN32) && !defined(LASIO_NO_SIGNALS)
#define LASIO_HAS_SIGNALS 1
#elif defined(_WIN32)
#define LASIO_NO_SIGNALS_WHY "not supported on Windows"
#else
#define LASIO_NO_SIGNALS_WHY "not in this build (LASIO_WITH_SIGNALS=OFF)"
#endif

#if !defined(_WIN32) && !defined(LASIO_NO_DAEMON)
#define LASIO_HAS_DAEMON 1
#elif defined(_WIN32)
/// What the Lua functions of the daemon parts raise where they are absent.
#define LASIO_NO_DAEMON_WHY "not supported on Windows"
#else
#define LASIO_NO_DAEMON_WHY "not in this build (LASIO_WITH_DAEMON=OFF)"
#endif
