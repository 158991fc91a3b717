// echo_raw_tls: the floor for the TLS echo benchmark: C++ Boost.Asio + OpenSSL, one thread,
// io_context(1), ssl::stream over tcp::socket, async_read_some / async_write, 16 KiB buffer.
//
//   echo_raw_tls CERT KEY [port]     (prints the bound port on the first line, serves until killed)
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <cstdio>
#include <memory>

namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

class session : public std::enable_shared_from_this<session> {
public:
    session(tcp::socket s, ssl::context& ctx) : stream_(std::move(s), ctx) {}

    void start() {
        stream_.async_handshake(ssl::stream_base::server, [self = shared_from_this()](auto ec) {
            if (!ec) self->read();
        });
    }

private:
    void read() {
        stream_.async_read_some(net::buffer(buf_), [self = shared_from_this()](auto ec, std::size_t n) {
            if (ec) return;
            net::async_write(self->stream_, net::buffer(self->buf_, n),
                             [self](auto ec, std::size_t) {
                                 if (!ec) self->read();
                             });
        });
    }

    ssl::stream<tcp::socket> stream_;
    char buf_[16 * 1024];
};

void accept(tcp::acceptor& acceptor, ssl::context& ctx) {
    acceptor.async_accept([&](auto ec, tcp::socket s) {
        if (!ec) {
            s.set_option(tcp::no_delay(true));
            std::make_shared<session>(std::move(s), ctx)->start();
        }
        accept(acceptor, ctx);
    });
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: echo_raw_tls CERT KEY [port]\n");
        return 1;
    }
    net::io_context io(1);
    ssl::context ctx(ssl::context::tls_server);
    ctx.use_certificate_chain_file(argv[1]);
    ctx.use_private_key_file(argv[2], ssl::context::pem);
    unsigned short port = argc > 3 ? static_cast<unsigned short>(std::atoi(argv[3])) : 0;
    tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    std::printf("%u\n", acceptor.local_endpoint().port());
    std::fflush(stdout);
    accept(acceptor, ctx);
    io.run();
}
