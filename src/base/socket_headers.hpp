// SPDX-License-Identifier: MIT
// The platform's socket API: the BSD headers, or Winsock's (which Boost.Asio uses there too).
#pragma once

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#include <afunix.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#endif

#include <boost/asio/detail/socket_types.hpp>

namespace lasio {
/// A socket as the system names it: an int descriptor, or a Winsock SOCKET (64 bits on Win64).
using native_socket = boost::asio::detail::socket_type;
} // namespace lasio
