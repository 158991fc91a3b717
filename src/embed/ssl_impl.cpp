// SPDX-License-Identifier: MIT
// The static library's one compiled unit of Asio's TLS implementation: there, unlike in
// asio/tls.so, TLS shares the core's separately compiled Asio.
#include <boost/asio/ssl/impl/src.hpp>
