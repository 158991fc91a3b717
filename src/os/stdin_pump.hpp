// SPDX-License-Identifier: MIT
// asio.stdin(): standard input, whatever it is (terminal, pipe, file), as the far end of a connection.
#pragma once

#include "base/errors.hpp"
#include "net/stream.hpp"
#include "sched/runtime.hpp"

#if !defined(_WIN32)
#include <boost/asio/posix/stream_descriptor.hpp>
#endif

#include <memory>
#include <optional>

namespace lasio {

#if !defined(_WIN32)
/**
 * Copies what a duplicate of standard input brings into one end of a socket pair whose other end
 * is the script's connection, so that reading stdin is read_line, read, timeouts and all. A
 * connection's socket cannot read a terminal or a pipe itself (recvmsg on it fails), and
 * making the terminal non-blocking would change it for the shell that shares it too: the pump
 * only ever reads after poll says it will not block, and gives the open file its flags back.
 *
 * Owned by its waits in flight; they are not work (an idle terminal does not keep asio.run()
 * going: the script's read on the connection does). At end of input it closes its end: the
 * connection then reads nil, "closed". Released at lua_close like every I/O object.
 */
class stdin_pump final : public io_object, public std::enable_shared_from_this<stdin_pump> {
public:
    explicit stdin_pump(runtime_ptr rt);
    /// Takes both descriptors over (ec: neither could be registered; the caller closes them).
    error_code assign(int input_dup, int pair_end);
    void start() { wait_input(); }
    void close();

    void release_io() override;
    /// Never called: no light thread waits on the object itself.
    int cancel_wait(light_thread&, lua_State*) override { return 0; }
    void close_from_runtime() override { close(); }

private:
    void wait_input();
    void on_input_ready(const error_code& ec);

    static constexpr std::size_t chunk = 64 * 1024;
    std::optional<net::posix::stream_descriptor> input_;
    std::optional<stream::socket_type> sink_;
    std::unique_ptr<char[]> buf_;
    int original_flags_ = -1;
    bool closed_ = false;
};
#endif

} // namespace lasio
