// SPDX-License-Identifier: MIT
// A C++ host with a Boost.Asio TCP service of its own (it answers "host: LINE") and a Lua script
// serving another port (shared_context.lua), both in one io_context run by the host on one
// thread (include/luaasio.hpp). A "quit" line to either ends the host; it then closes the Lua
// state while the script still has a server, a connection and a sleeping light thread, and runs
// its own context on: what the module left queued finds the runtime closed and does nothing.
//   shared_context SCRIPT    (prints "HOST_PORT LUA_PORT")
#include <luaasio.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <cstdio>
#include <istream>
#include <memory>
#include <string>

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

bool quit = false;

/// The host's own service: one line in, "host: LINE" out, until "quit" or the peer leaves.
void serve(std::shared_ptr<tcp::socket> sock, std::shared_ptr<net::streambuf> buf) {
    net::async_read_until(*sock, *buf, '\n', [sock, buf](boost::system::error_code ec, std::size_t) {
        if (ec) return;
        std::istream in(buf.get());
        std::string line;
        std::getline(in, line);
        if (line == "quit") quit = true;
        auto out = std::make_shared<std::string>("host: " + line + "\n");
        net::async_write(*sock, net::buffer(*out), [sock, buf, out](boost::system::error_code ec, std::size_t) {
            if (!ec) serve(sock, buf);
        });
    });
}

void accept_next(tcp::acceptor& acceptor) {
    acceptor.async_accept([&acceptor](boost::system::error_code ec, tcp::socket sock) {
        if (!ec) serve(std::make_shared<tcp::socket>(std::move(sock)), std::make_shared<net::streambuf>());
        if (acceptor.is_open()) accept_next(acceptor);
    });
}

bool lua_quit(lua_State* L) {
    lua_getglobal(L, "quit");
    bool q = lua_toboolean(L, -1) != 0;
    lua_pop(L, 1);
    return q;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s SCRIPT\n", argv[0]);
        return 2;
    }
    net::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    accept_next(acceptor);

    lua_State* L = luaL_newstate();
    luaL_openlibs(L);
    if (luaasio_use_io_context(L, io) != LUAASIO_OK || luaasio_open(L) != LUAASIO_OK) {
        std::fprintf(stderr, "luaasio: %s\n", lua_isstring(L, -1) ? lua_tostring(L, -1) : "refused");
        return 1;
    }
    lua_setglobal(L, "asio");
    if (luaL_dofile(L, argv[1]) != 0) {
        std::fprintf(stderr, "%s\n", lua_tostring(L, -1));
        return 1;
    }
    lua_getglobal(L, "port");
    std::printf("%u %d\n", static_cast<unsigned>(acceptor.local_endpoint().port()), static_cast<int>(lua_tointeger(L, -1)));
    std::fflush(stdout);
    lua_pop(L, 1);

    // One loop for both: the host's handlers and the scripts' light threads.
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!quit && !lua_quit(L) && std::chrono::steady_clock::now() < until)
        io.run_one_for(std::chrono::milliseconds(100));
    bool asked = quit || lua_quit(L);

    lua_close(L); // a server, connections and a sleeping light thread still live in the script
    // The host's context goes on: the module's handlers left in it run and do nothing.
    io.run_for(std::chrono::milliseconds(200));
    std::puts(asked ? "shared_context: done" : "shared_context: timed out");
    acceptor.close();
    return asked ? 0 : 1;
}
