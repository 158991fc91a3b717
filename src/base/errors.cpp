// SPDX-License-Identifier: MIT
// Maps error codes to the documented short strings.
#include "base/errors.hpp"

#include <boost/asio/error.hpp>
#if LASIO_WITH_TLS
#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

#include <cctype>

namespace lasio {

namespace net = boost::asio;

std::string error_string(const error_code& ec) {
    namespace e = net::error;
    if (ec == e::eof || ec == e::operation_aborted || ec == e::bad_descriptor ||
        ec == e::not_connected || ec == e::shut_down)
        return err::closed;
    if (ec == e::timed_out) return err::timeout;
#if LASIO_WITH_TLS
    // A peer that closes without close_notify has still closed; other TLS failures stay short.
    if (ec == net::ssl::error::stream_truncated) return err::closed;
    // What OpenSSL reports after the session broke (a corrupt record, say) without an OS error.
    if (ec == net::ssl::error::unspecified_system_error || ec == net::ssl::error::unexpected_result)
        return err::tls_error;
    if (ec.category() == e::get_ssl_category()) {
        switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
        case SSL_R_CERTIFICATE_VERIFY_FAILED:
            return err::certificate_verify_failed;
        case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
        case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
            return err::certificate_required;
        default:
            return err::tls_error;
        }
    }
#endif
    if (ec == e::connection_refused) return "connection refused";
    if (ec == e::connection_reset) return "connection reset";
    if (ec == e::connection_aborted) return "connection aborted";
    if (ec == e::broken_pipe) return "broken pipe";
    if (ec == e::host_not_found || ec == e::host_not_found_try_again || ec == e::no_data ||
        ec == e::no_recovery)
        return err::host_not_found;
    if (ec == e::service_not_found) return err::invalid_port;
    if (ec == e::address_in_use) return "address in use";
    if (ec == e::address_family_not_supported) return err::family_not_supported;
    if (ec == e::network_unreachable) return "network unreachable";
    if (ec == e::host_unreachable) return "host unreachable";
    if (ec == e::access_denied) return "permission denied";
    if (ec == e::no_descriptors) return "too many open files";
    if (ec == e::invalid_argument) return "invalid argument";
    if (ec == e::message_size) return err::message_too_long;
    if (ec.value() == EADDRNOTAVAIL && ec.category() == boost::system::system_category())
        return "address not available";
    std::string msg = ec.message();
    for (char& c : msg) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return msg;
}

bool would_block(const error_code& ec) {
    return ec == net::error::would_block || ec == net::error::try_again;
}

int push_fail(lua_State* L, const char* msg) {
    lua_pushnil(L);
    lua_pushstring(L, msg);
    return 2;
}

int push_fail(lua_State* L, const error_code& ec) {
    lua_pushnil(L);
    std::string s = error_string(ec);
    lua_pushlstring(L, s.data(), s.size());
    return 2;
}

int push_fail(lua_State* L, const char* msg, std::string_view partial) {
    lua_pushnil(L);
    lua_pushstring(L, msg);
    lua_pushlstring(L, partial.data(), partial.size());
    return 3;
}

int push_fail(lua_State* L, const failure& f) { return push_fail(L, f.message, f.detail); }

} // namespace lasio
