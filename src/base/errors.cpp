// SPDX-License-Identifier: MIT
// Maps error codes to the documented short strings.
#include "base/errors.hpp"

#include <boost/asio/error.hpp>

#include <atomic>
#include <cctype>
#include <cstring>

namespace lasio {

namespace net = boost::asio;

namespace {

std::atomic<error_strings_of_part> part_strings{nullptr};

/// Asio's categories whose codes another shared object may make with its own category object.
const boost::system::error_category* own_category_named(const char* name) {
    namespace e = net::error;
    for (const boost::system::error_category* c :
         {&e::get_misc_category(), &e::get_netdb_category(), &e::get_addrinfo_category()})
        if (std::strcmp(c->name(), name) == 0) return c;
    return nullptr;
}

} // namespace

void add_error_strings(error_strings_of_part fn) { part_strings.store(fn, std::memory_order_release); }

error_code adopt_error(const error_code& ec) {
    if (!ec || ec.category() == boost::system::system_category()) return ec;
    const boost::system::error_category* own = own_category_named(ec.category().name());
    return own != nullptr && *own != ec.category() ? error_code(ec.value(), *own) : ec;
}

std::string error_string(const error_code& given) {
    namespace e = net::error;
    error_code ec = adopt_error(given);
    if (ec == e::eof || ec == e::operation_aborted || ec == e::bad_descriptor ||
        ec == e::not_connected || ec == e::shut_down)
        return err::closed;
    if (ec == e::timed_out) return err::timeout;
    if (error_strings_of_part part = part_strings.load(std::memory_order_acquire))
        if (const char* s = part(ec)) return s;
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
    if (ec == e::operation_not_supported) return "operation not supported";
    if (ec == e::try_again || ec == e::would_block) return "resource temporarily unavailable";
    if (ec.category() == boost::system::system_category()) {
#if defined(_WIN32)
        // Winsock's codes with no name in Asio's error enum: their messages are sentences
        // ("The requested address is not valid in its context."), not Linux's strings.
        switch (ec.value()) {
        case WSAEADDRNOTAVAIL: return "address not available";
        case WSAEPROTONOSUPPORT: return "protocol not supported";
        case WSAENOPROTOOPT: return "protocol not available";
        case WSAEINVAL: return "invalid argument";
        case WSAEDESTADDRREQ: return "destination address required";
        case WSAENOBUFS: return "no buffer space available";
        case WSAEISCONN: return "transport endpoint is already connected";
        case WSAEHOSTDOWN: return "host is down";
        case WSAECONNRESET: return "connection reset";
        case ERROR_PORT_UNREACHABLE: return "connection refused";
        case ERROR_NETNAME_DELETED: return "connection reset";
        default: break;
        }
#else
        if (ec.value() == EADDRNOTAVAIL) return "address not available";
#endif
    }
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
