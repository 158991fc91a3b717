// Baseline echo server: plain C++ Boost.Asio, one thread, io_context(1),
// async_read_some / async_write with a 64 KiB buffer per connection (the
// same default read size as LuaAsio's conn:read_some()).
//
//   echo_raw_asio [port]     (default 0: a free port; printed on the first line)

#include <boost/asio.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>

using boost::asio::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket s) : sock_(std::move(s)) {}
  void start() { read(); }

 private:
  void read() {
    auto self = shared_from_this();
    sock_.async_read_some(boost::asio::buffer(buf_),
                          [this, self](boost::system::error_code ec, std::size_t n) {
                            if (ec) return;
                            write(n);
                          });
  }
  void write(std::size_t n) {
    auto self = shared_from_this();
    boost::asio::async_write(sock_, boost::asio::buffer(buf_, n),
                             [this, self](boost::system::error_code ec, std::size_t) {
                               if (ec) return;
                               read();
                             });
  }

  tcp::socket sock_;
  std::array<char, 65536> buf_;
};

void do_accept(tcp::acceptor& acc) {
  acc.async_accept([&acc](boost::system::error_code ec, tcp::socket s) {
    if (!ec) std::make_shared<Session>(std::move(s))->start();
    do_accept(acc);
  });
}

}  // namespace

int main(int argc, char** argv) {
  unsigned short port = argc > 1 ? static_cast<unsigned short>(std::atoi(argv[1])) : 0;
  boost::asio::io_context io(1);
  tcp::acceptor acc(io);
  tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), port);
  acc.open(ep.protocol());
  acc.set_option(tcp::acceptor::reuse_address(true));
  acc.bind(ep);
  acc.listen(tcp::acceptor::max_listen_connections);
  std::printf("%u\n", static_cast<unsigned>(acc.local_endpoint().port()));
  std::fflush(stdout);
  do_accept(acc);
  io.run();
  return 0;
}
