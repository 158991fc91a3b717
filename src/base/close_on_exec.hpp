// SPDX-License-Identifier: MIT
// Close-on-exec for the descriptors Asio opens without it (sockets, accepted connections).
#pragma once

#include "base/socket_headers.hpp"

#if !defined(_WIN32)
#include <fcntl.h>
#endif

namespace lasio {

/**
 * Asio opens and accepts sockets without SOCK_CLOEXEC: a child started meanwhile by anyone
 * (asio.spawn_process, os.execute, io.popen, a C library) would inherit them, and keep a
 * listening port bound or a connection open after the daemon closed it. One fcntl per socket.
 */
inline void close_on_exec(native_socket fd) {
#if !defined(_WIN32)
    if (fd >= 0) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
#else
    (void)fd; // Windows handles are not inherited unless asked for
#endif
}

} // namespace lasio
