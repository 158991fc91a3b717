// SPDX-License-Identifier: MIT
// The only translation unit of the core that compiles Boost.Asio's implementation (separate
// compilation). asio/tls.so compiles what it uses of Asio inline, as headers only.
#include <boost/asio/impl/src.hpp>
