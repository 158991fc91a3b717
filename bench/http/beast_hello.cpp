// SPDX-License-Identifier: MIT
// A hello-world HTTP/1.1 server written directly on Boost.Beast with Asio callbacks, as in
// Beast's own http_server_async example, single-threaded: the C++ baseline of bench/http/run.sh.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdlib>
#include <memory>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

class session : public std::enable_shared_from_this<session> {
public:
    explicit session(tcp::socket s) : stream_(std::move(s)) {}
    void start() { do_read(); }

private:
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> req_;
    http::response<http::string_body> res_;

    void do_read() {
        req_ = {};
        http::async_read(stream_, buffer_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return self->stream_.socket().close();
            self->on_read();
        });
    }
    void on_read() {
        res_ = http::response<http::string_body>(http::status::ok, req_.version());
        res_.keep_alive(req_.keep_alive());
        res_.body() = "hello\n";
        res_.prepare_payload();
        http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec || !self->res_.keep_alive()) return self->stream_.socket().close();
            self->do_read();
        });
    }
};

void do_accept(tcp::acceptor& acc) {
    acc.async_accept([&acc](beast::error_code ec, tcp::socket s) {
        if (!ec) {
            s.set_option(tcp::no_delay(true));
            std::make_shared<session>(std::move(s))->start();
        }
        do_accept(acc);
    });
}

int main(int argc, char** argv) {
    net::io_context ioc{1};
    tcp::acceptor acc(ioc, {net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::atoi(argv[1]))});
    do_accept(acc);
    ioc.run();
}
