// SPDX-License-Identifier: MIT
// Framers: where a read's result lies in the bytes received so far. Pure functions over a
// buffer, shared by every byte stream (and by protocols that frame their own lines).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lasio {

/// What a pending read waits for.
struct read_request {
    /// ready: no bytes, only the news that some are buffered (or the stream ended).
    enum class kind : unsigned char { exact, some, until, line, ready } what = kind::some;
    std::size_t n = 0;  // exact: byte count; some/until/line: the maximum
    std::string delim;  // until
};

/// A read's result within the buffered bytes: bytes [0, length) go to the reader, consume
/// bytes leave the buffer (a delimiter is consumed but not returned).
struct frame {
    enum class state : unsigned char { need_more, complete, too_long } found = state::need_more;
    std::size_t length = 0;
    std::size_t consume = 0;
};

/**
 * Finds req's frame in buffered. scanned carries, between calls on a growing buffer, how much of
 * it was already searched for a delimiter (only the delimiter's width before it is searched
 * again); reset it to 0 whenever bytes are consumed.
 */
inline frame find_frame(const read_request& req, std::string_view buffered, std::size_t& scanned) {
    frame f;
    std::size_t have = buffered.size();
    switch (req.what) {
    case read_request::kind::exact:
        if (have >= req.n) f = {frame::state::complete, req.n, req.n};
        return f;
    case read_request::kind::ready:
        if (have > 0) f = {frame::state::complete, 0, 0};
        return f;
    case read_request::kind::some:
        if (have > 0) {
            std::size_t k = have < req.n ? have : req.n;
            f = {frame::state::complete, k, k};
        }
        return f;
    default: {
        bool line = req.what == read_request::kind::line;
        std::string_view d = line ? std::string_view("\n", 1) : std::string_view(req.delim);
        std::size_t from = scanned >= d.size() ? scanned - d.size() + 1 : 0;
        std::size_t at = buffered.find(d, from);
        if (at == std::string_view::npos) {
            scanned = have;
            // Too long: the caller gets an error instead of an ever growing buffer.
            if (have > req.n + d.size()) f.found = frame::state::too_long;
            return f;
        }
        std::size_t len = at;
        if (line && at > 0 && buffered[at - 1] == '\r') --len; // CRLF lines lose their CR too
        if (len > req.n) {
            f.found = frame::state::too_long;
            return f;
        }
        return {frame::state::complete, len, at + d.size()};
    }
    }
}

} // namespace lasio
