// SPDX-License-Identifier: MIT
// The stable short error strings of the API and the error_code -> string mapping.
#pragma once

#include <lua.hpp>

#include <boost/system/error_code.hpp>

#include <string>
#include <string_view>

namespace lasio {

using error_code = boost::system::error_code;

/// Strings scripts compare against; pinned by spec/errors_spec.lua and listed in the README.
namespace err {
inline constexpr const char* closed = "closed";
inline constexpr const char* timeout = "timeout";
inline constexpr const char* too_long = "too long";
inline constexpr const char* killed = "killed";
} // namespace err

/// A non-blocking call found nothing to do now.
bool would_block(const error_code& ec);

/// The short lower-case string for an OS, resolver or Asio error.
std::string error_string(const error_code& ec);

/// Pushes nil, msg and returns 2.
int push_fail(lua_State* L, const char* msg);
/// Pushes nil, error_string(ec) and returns 2.
int push_fail(lua_State* L, const error_code& ec);
/// Pushes nil, msg, partial and returns 3 (a read that ended early keeps what it had).
int push_fail(lua_State* L, const char* msg, std::string_view partial);

/// A failure that says more than its short string (a TLS handshake's): returned as nil, message,
/// detail. message is a string literal (never owned), like the short strings of err.
struct failure {
    const char* message = nullptr;
    std::string detail;
};
/// Pushes nil, f.message, f.detail and returns 3.
int push_fail(lua_State* L, const failure& f);

} // namespace lasio
