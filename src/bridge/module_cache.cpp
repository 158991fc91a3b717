// SPDX-License-Identifier: MIT
// Lua modules compiled once per process, shared as bytecode by the states asio.thread starts.
#include "bridge/module_cache.hpp"

#include "base/lua_bridge.hpp"

#include <sys/stat.h>

#include <mutex>
#include <string>
#include <unordered_map>

namespace lasio {

namespace {

struct cached_chunk {
    std::string bytecode;
    long long size = 0;
    long long mtime_ns = 0;
};

// Bounded: asio's modules and a program's own are a few dozen files.
constexpr std::size_t max_entries = 256;
constexpr long long max_file_size = 1 << 20;

std::mutex cache_mutex;
std::unordered_map<std::string, cached_chunk>& cache() {
    static auto* c = new std::unordered_map<std::string, cached_chunk>(); // never destroyed:
    return *c; // a detached thread may still load a module while the process exits
}

bool file_stamp(const char* path, long long& size, long long& mtime_ns) {
    struct stat st;
    if (stat(path, &st) != 0) return false;
    size = static_cast<long long>(st.st_size);
#if defined(__APPLE__)
    mtime_ns = static_cast<long long>(st.st_mtimespec.tv_sec) * 1000000000LL + st.st_mtimespec.tv_nsec;
#elif defined(_WIN32)
    mtime_ns = static_cast<long long>(st.st_mtime) * 1000000000LL;
#else
    mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
#endif
    return true;
}

/// Copies the cached bytecode of path, if current; false otherwise.
bool lookup(const std::string& path, long long size, long long mtime_ns, std::string& out) {
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto it = cache().find(path);
    if (it == cache().end() || it->second.size != size || it->second.mtime_ns != mtime_ns) return false;
    out = it->second.bytecode;
    return true;
}

void store(const std::string& path, long long size, long long mtime_ns, std::string bytecode) {
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto& c = cache();
    if (c.size() >= max_entries && c.find(path) == c.end()) return;
    c[path] = cached_chunk{std::move(bytecode), size, mtime_ns};
}

/// package.loaders entry: loader(name) -> the module's chunk, or nothing (the next searcher
/// then looks, and reports what it did not find).
int l_cached_loader(lua_State* L) {
    const char* name = luaL_checkstring(L, 1);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchpath");
    if (!lua_isfunction(L, -1)) return 0;
    lua_pushstring(L, name);
    lua_getfield(L, -3, "path");
    lua_call(L, 2, 1);
    if (!lua_isstring(L, -1)) return 0;
    int path_idx = lua_gettop(L);
    const char* path = lua_tostring(L, path_idx);
    long long size, mtime_ns;
    if (!file_stamp(path, size, mtime_ns) || size > max_file_size) return 0;
    bool hit;
    int rc;
    {
        std::string bytecode;
        std::string key(path);
        hit = lookup(key, size, mtime_ns, bytecode);
        // Loaded from a Lua string: loading may raise (no memory), and these strings have
        // destructors.
        if (hit) lua_pushlstring(L, bytecode.data(), bytecode.size());
    }
    if (hit) {
        std::size_t len;
        const char* code = lua_tolstring(L, -1, &len);
        lua_pushfstring(L, "@%s", path);
        rc = luaL_loadbuffer(L, code, len, lua_tostring(L, -1));
    } else {
        rc = luaL_loadfile(L, path);
        if (rc == 0) {
            std::string bytecode;
            if (dump_function(L, -1, bytecode)) {
                try {
                    store(path, size, mtime_ns, std::move(bytecode));
                } catch (...) { // no memory: it stays uncached
                }
            }
        }
    }
    if (rc != 0)
        return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, path, lua_tostring(L, -1));
    return 1;
}

} // namespace

void install_module_cache(lua_State* L) {
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "loaders");
    if (!lua_istable(L, -1)) {
        lua_pop(L, 2);
        return;
    }
    // Shift the searchers from 2 on, and put ours at 2 (after package.preload's).
    int n = static_cast<int>(lua_objlen(L, -1));
    for (int i = n; i >= 2; --i) {
        lua_rawgeti(L, -1, i);
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushcfunction(L, l_cached_loader);
    lua_rawseti(L, -2, 2);
    lua_pop(L, 2);
}

} // namespace lasio
