// loadgen_tls_udp: load generator of the TLS and UDP benchmarks (one thread, Boost.Asio + OpenSSL).
//
//   loadgen_tls_udp tls-pingpong   --port P --ca CA [--conns N] [--size B] [--seconds S]
//   loadgen_tls_udp tls-handshakes --port P --ca CA [--inflight K] [--seconds S]
//   loadgen_tls_udp udp-pingpong   --port P [--flows N] [--size B] [--seconds S]
//
// Common: --warmup S (default 0.5), --server-pid PID (server CPU time per operation from
// /proc/PID/stat). Echoes are verified. Only operations completed inside the measured window
// count. Output: one line of key=value pairs. Exit status 2 on a mismatch, 3 on set-up failure.
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using udp = net::ip::udp;
using error_code = boost::system::error_code;

namespace {

struct options {
    std::string mode;
    unsigned short port = 0;
    std::string ca;
    int conns = 1;
    int size = 64;
    double seconds = 3;
    double warmup = 0.5;
    long server_pid = 0;
};

options g_opt;
bool g_measuring = false;
bool g_done = false;
long g_ops = 0;       // operations completed inside the window
long g_errors = 0;
long g_mismatches = 0;
long g_resends = 0;

/// utime + stime of a process in clock ticks, or -1.
long cpu_ticks(long pid) {
    if (pid <= 0) return -1;
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(f, line)) return -1;
    auto close = line.rfind(')');
    if (close == std::string::npos) return -1;
    std::vector<std::string> fields;
    std::string field;
    for (std::size_t i = close + 2; i <= line.size(); ++i) {
        if (i == line.size() || line[i] == ' ') {
            fields.push_back(field);
            field.clear();
        } else {
            field += line[i];
        }
    }
    if (fields.size() < 13) return -1;
    return std::atol(fields[11].c_str()) + std::atol(fields[12].c_str());
}

std::string payload(int size, int seed) {
    std::string s(static_cast<std::size_t>(size), 'a');
    for (int i = 0; i < size; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>('a' + (i + seed) % 26);
    return s;
}

// --- TLS ping-pong ----------------------------------------------------------------------------

class tls_client : public std::enable_shared_from_this<tls_client> {
public:
    tls_client(net::io_context& io, ssl::context& ctx, int id)
        : stream_(io, ctx), msg_(payload(g_opt.size, id)), buf_(msg_.size()) {}

    void start() {
        tcp::endpoint ep(net::ip::make_address("127.0.0.1"), g_opt.port);
        stream_.next_layer().async_connect(ep, [self = shared_from_this()](const error_code& ec) {
            if (ec) return self->fail();
            self->stream_.next_layer().set_option(tcp::no_delay(true));
            self->stream_.async_handshake(ssl::stream_base::client, [self](const error_code& ec) {
                if (ec) return self->fail();
                self->round();
            });
        });
    }

private:
    void round() {
        if (g_done) return;
        net::async_write(stream_, net::buffer(msg_), [self = shared_from_this()](const error_code& ec, std::size_t) {
            if (ec) return self->fail();
            net::async_read(self->stream_, net::buffer(self->buf_), [self](const error_code& ec, std::size_t) {
                if (ec) return self->fail();
                if (std::memcmp(self->buf_.data(), self->msg_.data(), self->msg_.size()) != 0) ++g_mismatches;
                if (g_measuring) ++g_ops;
                self->round();
            });
        });
    }

    void fail() {
        if (!g_done) ++g_errors;
    }

    ssl::stream<tcp::socket> stream_;
    std::string msg_;
    std::vector<char> buf_;
};

// --- TLS handshakes -----------------------------------------------------------------------------

class handshaker : public std::enable_shared_from_this<handshaker> {
public:
    handshaker(net::io_context& io, ssl::context& ctx) : io_(io), ctx_(ctx) {}

    void start() {
        if (g_done) return;
        stream_ = std::make_unique<ssl::stream<tcp::socket>>(io_, ctx_);
        tcp::endpoint ep(net::ip::make_address("127.0.0.1"), g_opt.port);
        stream_->next_layer().async_connect(ep, [self = shared_from_this()](const error_code& ec) {
            if (ec) return self->fail();
            self->stream_->async_handshake(ssl::stream_base::client, [self](const error_code& ec) {
                if (ec) return self->fail();
                if (g_measuring) ++g_ops;
                error_code ignored;
                self->stream_->next_layer().close(ignored);
                self->start();
            });
        });
    }

private:
    void fail() {
        if (g_done) return;
        ++g_errors;
        start();
    }

    net::io_context& io_;
    ssl::context& ctx_;
    std::unique_ptr<ssl::stream<tcp::socket>> stream_;
};

// --- UDP ping-pong ------------------------------------------------------------------------------

class udp_flow : public std::enable_shared_from_this<udp_flow> {
public:
    udp_flow(net::io_context& io, int id)
        : socket_(io, udp::endpoint(net::ip::make_address("127.0.0.1"), 0)), timer_(io),
          msg_(payload(g_opt.size, id)), buf_(msg_.size() + 1) {
        socket_.connect(udp::endpoint(net::ip::make_address("127.0.0.1"), g_opt.port));
    }

    void start() {
        receive();
        send();
    }

private:
    void send() {
        if (g_done) return;
        socket_.async_send(net::buffer(msg_), [](const error_code&, std::size_t) {});
        // A datagram may be lost (full receive buffer): send again after a while.
        timer_.expires_after(std::chrono::milliseconds(200));
        timer_.async_wait([self = shared_from_this()](const error_code& ec) {
            if (ec || g_done) return;
            ++g_resends;
            self->send();
        });
    }

    void receive() {
        socket_.async_receive(net::buffer(buf_), [self = shared_from_this()](const error_code& ec, std::size_t n) {
            if (g_done) return;
            if (ec) {
                ++self->errors_;
                if (self->errors_ > 100) return;
            } else {
                if (n != self->msg_.size() || std::memcmp(self->buf_.data(), self->msg_.data(), n) != 0)
                    ++g_mismatches;
                if (g_measuring) ++g_ops;
                self->timer_.cancel();
                self->send();
            }
            self->receive();
        });
    }

    udp::socket socket_;
    net::steady_timer timer_;
    std::string msg_;
    std::vector<char> buf_;
    int errors_ = 0;
};

double arg_number(int& i, int argc, char** argv) {
    if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value for %s\n", argv[i]);
        std::exit(1);
    }
    return std::atof(argv[++i]);
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: loadgen_tls_udp tls-pingpong|tls-handshakes|udp-pingpong --port P ...\n");
        return 1;
    }
    g_opt.mode = argv[1];
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--port") g_opt.port = static_cast<unsigned short>(arg_number(i, argc, argv));
        else if (a == "--ca" && i + 1 < argc) g_opt.ca = argv[++i];
        else if (a == "--conns" || a == "--flows" || a == "--inflight") g_opt.conns = static_cast<int>(arg_number(i, argc, argv));
        else if (a == "--size") g_opt.size = static_cast<int>(arg_number(i, argc, argv));
        else if (a == "--seconds") g_opt.seconds = arg_number(i, argc, argv);
        else if (a == "--warmup") g_opt.warmup = arg_number(i, argc, argv);
        else if (a == "--server-pid") g_opt.server_pid = static_cast<long>(arg_number(i, argc, argv));
        else {
            std::fprintf(stderr, "unknown option %s\n", argv[i]);
            return 1;
        }
    }
    net::io_context io(1);
    ssl::context ctx(ssl::context::tls_client);
    if (g_opt.mode != "udp-pingpong") {
        ctx.load_verify_file(g_opt.ca);
        ctx.set_verify_mode(ssl::verify_peer);
    }
    try {
        for (int i = 0; i < g_opt.conns; ++i) {
            if (g_opt.mode == "tls-pingpong") std::make_shared<tls_client>(io, ctx, i)->start();
            else if (g_opt.mode == "tls-handshakes") std::make_shared<handshaker>(io, ctx)->start();
            else if (g_opt.mode == "udp-pingpong") std::make_shared<udp_flow>(io, i)->start();
            else {
                std::fprintf(stderr, "unknown mode %s\n", g_opt.mode.c_str());
                return 1;
            }
        }
    } catch (const std::exception& e) {
        std::printf("errors=1 setup=%s\n", e.what());
        return 3;
    }
    using clock = std::chrono::steady_clock;
    net::steady_timer phase(io);
    long cpu0 = -1;
    clock::time_point t0;
    phase.expires_after(std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(g_opt.warmup)));
    phase.async_wait([&](const error_code&) {
        g_measuring = true;
        g_ops = 0;
        cpu0 = cpu_ticks(g_opt.server_pid);
        t0 = clock::now();
        phase.expires_after(std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(g_opt.seconds)));
        phase.async_wait([&](const error_code&) {
            g_measuring = false;
            g_done = true;
            io.stop();
        });
    });
    io.run();
    double elapsed = std::chrono::duration<double>(clock::now() - t0).count();
    long cpu1 = cpu_ticks(g_opt.server_pid);
    double rate = g_ops / elapsed;
    std::printf("mode=%s ops=%ld ops_per_s=%.0f errors=%ld mismatches=%ld resends=%ld", g_opt.mode.c_str(), g_ops,
                rate, g_errors, g_mismatches, g_resends);
    if (cpu0 >= 0 && cpu1 >= 0 && g_ops > 0) {
        double us = (cpu1 - cpu0) * 1e6 / sysconf(_SC_CLK_TCK) / g_ops;
        std::printf(" server_cpu_us_per_op=%.2f", us);
    }
    std::printf("\n");
    return g_mismatches > 0 ? 2 : 0;
}
