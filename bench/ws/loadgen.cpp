// SPDX-License-Identifier: MIT
// The load generator of bench/ws: CONNS WebSocket clients on one thread (Boost.Beast), each
// sending a binary message of SIZE bytes and waiting for its echo, again and again, for SECONDS.
// Prints the number of echoes received.
//   loadgen PORT CONNS SIZE SECONDS
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace beast = boost::beast;
namespace bws = boost::beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

static long echoes = 0;
static bool stopping = false;
static int failures = 0;

struct client : std::enable_shared_from_this<client> {
    bws::stream<tcp::socket> ws;
    beast::flat_buffer buf;
    std::string msg;
    client(net::io_context& ioc, std::size_t size) : ws(ioc), msg(size, 'x') {}

    void start(tcp::endpoint ep) {
        ws.next_layer().async_connect(ep, [self = shared_from_this()](beast::error_code ec) {
            if (ec) return void(++failures);
            self->ws.next_layer().set_option(tcp::no_delay(true));
            self->ws.async_handshake("127.0.0.1", "/echo", [self](beast::error_code ec) {
                if (ec) return void(++failures);
                self->ws.binary(true);
                self->ws.auto_fragment(false);
                self->ws.read_message_max(16 * 1024 * 1024);
                self->send();
            });
        });
    }
    void send() {
        ws.async_write(net::buffer(msg), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return;
            self->ws.async_read(self->buf, [self](beast::error_code ec, std::size_t n) {
                if (ec) return;
                self->buf.consume(n);
                ++echoes;
                if (!stopping) self->send();
            });
        });
    }
};

int main(int argc, char** argv) {
    if (argc < 5) return 2;
    net::io_context ioc{1};
    tcp::endpoint ep(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::atoi(argv[1])));
    int conns = std::atoi(argv[2]);
    std::size_t size = std::strtoul(argv[3], nullptr, 10);
    double seconds = std::atof(argv[4]);
    for (int i = 0; i < conns; ++i) std::make_shared<client>(ioc, size)->start(ep);
    net::steady_timer t(ioc, std::chrono::milliseconds(static_cast<long>(seconds * 1000)));
    t.async_wait([&](beast::error_code) {
        stopping = true;
        std::printf("%ld\n", echoes);
        std::fflush(stdout);
        ioc.stop();
    });
    ioc.run();
    if (failures) std::fprintf(stderr, "%d connections failed\n", failures);
    return failures ? 1 : 0;
}
