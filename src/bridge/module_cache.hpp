// SPDX-License-Identifier: MIT
// Lua modules compiled once per process: new states load their bytecode instead of parsing.
#pragma once

#include <lua.hpp>

namespace lasio {

/**
 * Puts a loader in front of package.loaders' Lua file searcher in L: it finds a module's file on
 * package.path as that searcher does, and loads it from a process-wide cache of bytecode, kept
 * per file (and checked against the file's size and modification time on each use). A state
 * started by asio.thread spends most of its start parsing asio's own Lua files; loading their
 * bytecode is several times faster. Tracebacks are unchanged (the bytecode keeps the file's name
 * and lines). Any thread; raises only as require would.
 */
void install_module_cache(lua_State* L);

} // namespace lasio
