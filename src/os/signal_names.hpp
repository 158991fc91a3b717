// SPDX-License-Identifier: MIT
// Signal names and numbers as scripts spell them ("TERM", "SIGTERM", 15).
#pragma once

#include <string_view>

namespace lasio {

/// The number of a signal named with or without "SIG", in any case; 0 when unknown (or on Windows).
int signal_number(std::string_view name);
/// The name without "SIG" ("TERM"), or nullptr for a number without one (real-time signals).
const char* signal_name(int signo);
/// Whether the process may catch signo at all and survive it: KILL and STOP cannot be caught,
/// and a handler for a fault (SEGV, BUS, FPE, ILL) would return into the faulting instruction.
bool signal_watchable(int signo);
/// Whether signo is a signal number of this system (1 to the last real-time signal).
bool signal_valid(int signo);

} // namespace lasio
