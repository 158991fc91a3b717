// SPDX-License-Identifier: MIT
// The only translation unit that compiles Boost.Asio's implementation (separate compilation).
#include <boost/asio/impl/src.hpp>
#if LASIO_WITH_TLS
#include <boost/asio/ssl/impl/src.hpp>
#endif
