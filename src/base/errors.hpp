// SPDX-License-Identifier: MIT
// The stable short error strings of the API and the error_code -> string mapping.
#pragma once

#include <lua.hpp>

#include <boost/system/error_code.hpp>

#include <string>
#include <string_view>

namespace lasio {

using error_code = boost::system::error_code;

/**
 * Every short error string the module returns itself, in one place: scripts compare against
 * them (spec/errors_spec.lua pins them; the README lists them). Errors of the system, the
 * resolver and OpenSSL are mapped to strings by error_string, in errors.cpp.
 */
namespace err {
inline constexpr const char* closed = "closed";
inline constexpr const char* timeout = "timeout";
inline constexpr const char* too_long = "too long";
inline constexpr const char* killed = "killed";
inline constexpr const char* busy = "busy";
inline constexpr const char* invalid_address = "invalid address";
inline constexpr const char* invalid_port = "invalid port";
inline constexpr const char* invalid_path = "invalid path";
inline constexpr const char* host_not_found = "host not found";
inline constexpr const char* family_not_supported = "address family not supported";
inline constexpr const char* not_available = "not available";
inline constexpr const char* not_connected = "not connected";
inline constexpr const char* message_too_long = "message too long";
inline constexpr const char* clear_text_buffered = "clear text still buffered";
inline constexpr const char* tls_error = "tls error";
inline constexpr const char* handshake_failed = "handshake failed";
inline constexpr const char* certificate_verify_failed = "certificate verify failed";
inline constexpr const char* certificate_required = "certificate required";
inline constexpr const char* invalid_certificate = "invalid certificate";
inline constexpr const char* invalid_key = "invalid key";
inline constexpr const char* invalid_ca = "invalid ca";
inline constexpr const char* key_mismatch = "key does not match certificate";
// Child processes and foreign descriptors (src/os/).
inline constexpr const char* not_found = "not found";
inline constexpr const char* permission_denied = "permission denied";
inline constexpr const char* invalid_cwd = "invalid cwd";
inline constexpr const char* exited = "exited";
inline constexpr const char* reaped_elsewhere = "reaped elsewhere";
inline constexpr const char* bad_descriptor = "bad descriptor";
} // namespace err

/// A non-blocking call found nothing to do now.
bool would_block(const error_code& ec);

/// The short lower-case string for an OS, resolver, Asio or TLS error.
std::string error_string(const error_code& ec);

/**
 * ec, remade in this shared object's own Asio categories when another one (asio/tls.so, which
 * has its own copy of Asio's inline code) made it: Asio's categories compare by address, so its
 * eof would not equal ours.
 */
error_code adopt_error(const error_code& ec);

/// Maps the errors of a part loaded later (TLS) to short strings; null for any other error.
using error_strings_of_part = const char* (*)(const error_code& ec);
/// Makes error_string consult fn first. Safe from any OS thread.
void add_error_strings(error_strings_of_part fn);

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
