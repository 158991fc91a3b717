// SPDX-License-Identifier: MIT
// The raw baseline of bench/ws: a WebSocket echo server written directly on Boost.Beast (asio
// callbacks, one thread, as in Beast's own async examples), with the options asio.ws sets.
//   beast_echo PORT
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <cstdlib>
#include <memory>

namespace beast = boost::beast;
namespace bws = boost::beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct session : std::enable_shared_from_this<session> {
    bws::stream<tcp::socket> ws;
    beast::flat_buffer buf;
    explicit session(tcp::socket s) : ws(std::move(s)) {}

    void run() {
        ws.auto_fragment(false);
        ws.read_message_max(16 * 1024 * 1024);
        ws.async_accept([self = shared_from_this()](beast::error_code ec) {
            if (!ec) self->read();
        });
    }
    void read() {
        ws.async_read(buf, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return;
            self->ws.binary(self->ws.got_binary());
            self->ws.async_write(self->buf.data(), [self](beast::error_code ec, std::size_t) {
                if (ec) return;
                self->buf.consume(self->buf.size());
                self->read();
            });
        });
    }
};

void accept(tcp::acceptor& a) {
    a.async_accept([&a](beast::error_code ec, tcp::socket s) {
        if (!ec) {
            s.set_option(tcp::no_delay(true));
            std::make_shared<session>(std::move(s))->run();
        }
        accept(a);
    });
}

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    net::io_context ioc{1};
    tcp::acceptor a(ioc, {net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::atoi(argv[1]))});
    accept(a);
    ioc.run();
}
