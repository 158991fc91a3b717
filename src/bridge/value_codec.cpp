// SPDX-License-Identifier: MIT
// The value codec: Lua values copied into an owned byte buffer, and back into another lua_State.
#include "bridge/value_codec.hpp"

#include "bridge/channel_handles.hpp"

#include <boost/container/small_vector.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <vector>

namespace lasio {

namespace {

// One tag byte per value. Numbers are the 8 bytes of the double in this machine's order: the
// buffer never leaves the process. A table is its array and hash size hints, its key/value
// pairs, t_end.
// A channel is its index in the buffer's refs.
enum tag : unsigned char { t_nil, t_false, t_true, t_number, t_string, t_table, t_end, t_channel };

void put_varint(std::string& out, std::uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<char>((v & 0x7f) | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<char>(v));
}

bool is_identifier(const char* s, std::size_t len) {
    if (len == 0 || len > 40) return false;
    for (std::size_t i = 0; i < len; ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
}

/// Appends the key at idx as a path step: .name, ["text"], [3], [0.5], [true].
void append_key(lua_State* L, int idx, std::string& path) {
    char text[48];
    switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
        std::size_t len;
        const char* s = lua_tolstring(L, idx, &len);
        if (is_identifier(s, len)) {
            path.push_back('.');
            path.append(s, len);
            return;
        }
        path.append("[\"");
        for (std::size_t i = 0; i < len && i < 40; ++i) {
            unsigned char c = static_cast<unsigned char>(s[i]);
            if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
                std::snprintf(text, sizeof text, "\\%d", c);
                path.append(text);
            } else {
                path.push_back(static_cast<char>(c));
            }
        }
        path.append(len > 40 ? "...\"]" : "\"]");
        return;
    }
    case LUA_TNUMBER: {
        double d = lua_tonumber(L, idx);
        if (d == std::floor(d) && std::fabs(d) < 1e15) std::snprintf(text, sizeof text, "[%.0f]", d);
        else std::snprintf(text, sizeof text, "[%.17g]", d);
        path.append(text);
        return;
    }
    default:
        path.append(lua_toboolean(L, idx) ? "[true]" : "[false]");
    }
}

class encoder {
public:
    encoder(lua_State* L, std::string& out, std::string& error, codec_refs* refs)
        : L_(L), out_(out), error_(error), refs_(refs) {}

    /// Encodes the value at (absolute) idx, named root in errors.
    bool value(int idx, const std::string& root) {
        root_ = &root;
        keys_.clear();
        tables_.clear();
        return encode(idx);
    }

private:
    bool encode(int idx) {
        switch (lua_type(L_, idx)) {
        case LUA_TNIL:
            out_.push_back(static_cast<char>(t_nil));
            return true;
        case LUA_TBOOLEAN:
            out_.push_back(static_cast<char>(lua_toboolean(L_, idx) ? t_true : t_false));
            return true;
        case LUA_TNUMBER: {
            double d = lua_tonumber(L_, idx);
            char bytes[sizeof d];
            std::memcpy(bytes, &d, sizeof d);
            out_.push_back(static_cast<char>(t_number));
            out_.append(bytes, sizeof d);
            return true;
        }
        case LUA_TSTRING: {
            std::size_t len;
            const char* s = lua_tolstring(L_, idx, &len);
            out_.push_back(static_cast<char>(t_string));
            put_varint(out_, len);
            out_.append(s, len);
            return true;
        }
        case LUA_TTABLE:
            return table(idx);
        case LUA_TUSERDATA:
            if (refs_ != nullptr) {
                if (std::shared_ptr<shared_channel> ch = channel_of(L_, idx)) {
                    out_.push_back(static_cast<char>(t_channel));
                    put_varint(out_, refs_->size());
                    refs_->emplace_back(std::move(ch));
                    return true;
                }
            }
            [[fallthrough]];
        default:
            return fail(std::string("cannot copy a ") + lua_typename(L_, lua_type(L_, idx)) +
                        " to another state");
        }
    }

    bool table(int idx) {
        const void* self = lua_topointer(L_, idx);
        for (std::size_t i = 0; i < tables_.size(); ++i)
            if (tables_[i] == self)
                return fail("cannot copy a table that contains itself (a cycle back to " + path(i) + ")");
        if (tables_.size() >= static_cast<std::size_t>(codec_max_depth))
            return fail("tables nested deeper than " + std::to_string(codec_max_depth) +
                        " levels cannot be copied");
        if (!lua_checkstack(L_, 4)) return fail("tables nested too deep to copy");
        tables_.push_back(self);
        out_.push_back(static_cast<char>(t_table));
        // Sizes for the decoder's lua_createtable: a table filled key by key from empty is
        // rehashed at every power of two. The entries are counted while they are encoded, and
        // the count written back into the byte kept for it (widened, once, past 127).
        std::size_t array_size = lua_objlen(L_, idx), entries = 0;
        put_varint(out_, array_size);
        std::size_t hash_hint_at = out_.size();
        out_.push_back(0);
        lua_pushnil(L_);
        while (lua_next(L_, idx) != 0) {
            ++entries;
            int key = lua_gettop(L_) - 1; // stack: ... key value
            int kt = lua_type(L_, key);
            if (kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN)
                return fail(std::string("cannot copy a table with a ") + lua_typename(L_, kt) + " as a key");
            keys_.push_back(key);
            encode(key); // a string, number or boolean: cannot fail
            if (!encode(key + 1)) return false;
            keys_.pop_back();
            lua_pop(L_, 1);
        }
        out_.push_back(static_cast<char>(t_end));
        std::size_t hash_hint = entries > array_size ? entries - array_size : 0;
        if (hash_hint < 0x80) {
            out_[hash_hint_at] = static_cast<char>(hash_hint);
        } else {
            std::string wide;
            put_varint(wide, hash_hint);
            out_.replace(hash_hint_at, 1, wide);
        }
        tables_.pop_back();
        return true;
    }

    /// The path of the value reached by the first depth keys.
    std::string path(std::size_t depth) const {
        std::string p = *root_;
        for (std::size_t i = 0; i < depth && i < keys_.size(); ++i) append_key(L_, keys_[i], p);
        return p;
    }

    bool fail(const std::string& why) {
        error_ = path(keys_.size()) + ": " + why;
        return false;
    }

    lua_State* L_;
    std::string& out_;
    std::string& error_;
    codec_refs* refs_;
    const std::string* root_ = nullptr;
    // Inline for the usual shallow values: a message should cost no allocation but its buffer.
    boost::container::small_vector<int, 8> keys_;           // stack indices of the keys to here
    boost::container::small_vector<const void*, 8> tables_; // the tables being encoded, outermost first
};

class decoder {
public:
    decoder(lua_State* L, std::string_view data, const codec_refs* refs)
        : L_(L), p_(reinterpret_cast<const unsigned char*>(data.data())), end_(p_ + data.size()), refs_(refs) {}

    int all() {
        int top = lua_gettop(L_);
        while (p_ != end_) value();
        return lua_gettop(L_) - top;
    }

private:
    // Nothing with a destructor lives in a decoder's frames: raising is a plain longjmp.
    [[noreturn]] void malformed(const char* why) {
        luaL_error(L_, "malformed value buffer (%s)", why);
        std::abort(); // luaL_error never returns
    }

    std::size_t left() const { return static_cast<std::size_t>(end_ - p_); }

    std::uint64_t varint() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (p_ == end_) malformed("truncated length");
            unsigned char c = *p_++;
            v |= static_cast<std::uint64_t>(c & 0x7f) << shift;
            if ((c & 0x80) == 0) return v;
        }
        malformed("length too long");
    }

    void value() {
        if (p_ == end_) malformed("truncated");
        if (!lua_checkstack(L_, 4)) luaL_error(L_, "too many values to decode");
        switch (*p_++) {
        case t_nil:
            lua_pushnil(L_);
            return;
        case t_false:
            lua_pushboolean(L_, 0);
            return;
        case t_true:
            lua_pushboolean(L_, 1);
            return;
        case t_number: {
            double d;
            if (left() < sizeof d) malformed("truncated number");
            std::memcpy(&d, p_, sizeof d);
            p_ += sizeof d;
            lua_pushnumber(L_, d);
            return;
        }
        case t_string: {
            std::uint64_t len = varint();
            if (len > left()) malformed("string longer than the buffer");
            lua_pushlstring(L_, reinterpret_cast<const char*>(p_), static_cast<std::size_t>(len));
            p_ += len;
            return;
        }
        case t_table:
            table();
            return;
        case t_channel: {
            std::uint64_t i = varint();
            if (refs_ == nullptr || i >= refs_->size()) malformed("channel reference out of range");
            push_channel_handle(L_, (*refs_)[static_cast<std::size_t>(i)].get());
            return;
        }
        case t_end:
            malformed("end of a table outside one");
        default:
            malformed("unknown tag");
        }
    }

    void table() {
        if (++depth_ > codec_max_depth) malformed("tables nested too deep");
        std::uint64_t array_hint = varint();
        std::uint64_t hash_hint = varint();
        // Hints are only hints: each entry takes at least two bytes, so no more than that.
        if (array_hint > left() / 2) array_hint = left() / 2;
        if (hash_hint > left() / 2) hash_hint = left() / 2;
        lua_createtable(L_, static_cast<int>(array_hint), static_cast<int>(hash_hint));
        for (;;) {
            if (p_ == end_) malformed("truncated table");
            if (*p_ == t_end) {
                ++p_;
                break;
            }
            value(); // stack: table key
            int kt = lua_type(L_, -1);
            if (kt == LUA_TNUMBER && lua_tonumber(L_, -1) != lua_tonumber(L_, -1)) malformed("nan key");
            if (kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN) malformed("bad key type");
            value(); // stack: table key value
            lua_rawset(L_, -3);
        }
        --depth_;
    }

    lua_State* L_;
    const unsigned char* p_;
    const unsigned char* end_;
    const codec_refs* refs_;
    int depth_ = 0;
};

} // namespace

bool encode_value(lua_State* L, int idx, const std::string& path, std::string& out, std::string& error,
                  codec_refs* refs) {
    idx = idx > 0 || idx <= LUA_REGISTRYINDEX ? idx : lua_gettop(L) + idx + 1;
    int top = lua_gettop(L);
    bool ok;
    try {
        encoder e(L, out, error, refs);
        ok = e.value(idx, path);
    } catch (const std::bad_alloc&) {
        error = "out of memory";
        ok = false;
    }
    lua_settop(L, top); // a failure leaves the keys it was walking
    return ok;
}

bool encode_values(lua_State* L, int first, int n, const char* root, std::string& out, std::string& error,
                   codec_refs* refs) {
    for (int i = 0; i < n; ++i) {
        bool ok;
        try {
            std::string path = std::string(root) + "[" + std::to_string(i + 1) + "]";
            ok = encode_value(L, first + i, path, out, error, refs);
        } catch (const std::bad_alloc&) {
            error = "out of memory";
            ok = false;
        }
        if (!ok) return false;
    }
    return true;
}

int decode_values(lua_State* L, std::string_view data, const codec_refs* refs) {
    decoder d(L, data, refs);
    return d.all();
}

} // namespace lasio
