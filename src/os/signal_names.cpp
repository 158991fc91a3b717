// SPDX-License-Identifier: MIT
// Signal names and numbers: the table scripts name signals by.
#include "os/signal_names.hpp"
#include "os/os_config.hpp"

#include <csignal>
#include <cctype>

namespace lasio {

#if defined(LASIO_HAS_SIGNALS) || defined(LASIO_HAS_DAEMON)
namespace {

struct named_signal {
    const char* name;
    int number;
};

const named_signal names[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT},     {"ILL", SIGILL},   {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT}, {"BUS", SIGBUS},     {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},
    {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},     {"ALRM", SIGALRM}, {"TERM", SIGTERM},
    {"CHLD", SIGCHLD}, {"CONT", SIGCONT},   {"STOP", SIGSTOP},     {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},         {"SYS", SIGSYS},
#ifdef SIGPWR
    {"PWR", SIGPWR},
#endif
};

bool same_name(std::string_view given, const char* name) {
    std::size_t i = 0;
    for (; i < given.size() && name[i] != '\0'; ++i)
        if (std::toupper(static_cast<unsigned char>(given[i])) != name[i]) return false;
    return i == given.size() && name[i] == '\0';
}

} // namespace

int signal_number(std::string_view name) {
    if (name.size() > 3 && same_name(name.substr(0, 3), "SIG")) name.remove_prefix(3);
    for (const auto& s : names)
        if (same_name(name, s.name)) return s.number;
    return 0;
}

const char* signal_name(int signo) {
    for (const auto& s : names)
        if (s.number == signo) return s.name;
    return nullptr;
}

bool signal_watchable(int signo) {
    return signal_valid(signo) && signo != SIGKILL && signo != SIGSTOP && signo != SIGSEGV && signo != SIGBUS &&
           signo != SIGFPE && signo != SIGILL;
}

bool signal_valid(int signo) {
#ifdef SIGRTMAX
    return signo >= 1 && signo <= SIGRTMAX;
#else
    return signo >= 1 && signo < 32;
#endif
}
#else
int signal_number(std::string_view) { return 0; }
const char* signal_name(int) { return nullptr; }
bool signal_watchable(int) { return false; }
bool signal_valid(int) { return false; }
#endif

} // namespace lasio
