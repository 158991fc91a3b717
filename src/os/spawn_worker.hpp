// SPDX-License-Identifier: MIT
// The process-wide OS thread that starts child processes, so that no loop waits while one execs.
#pragma once

#include "sched/unique_function.hpp"

namespace lasio {

/**
 * Runs job on the spawner thread, one job after another in the order given (inline, on the
 * caller's thread, when that thread cannot be started). posix_spawn returns only once the child
 * has called exec: a fraction of a millisecond on a quiet machine, several on a loaded one or a
 * small router, during which a loop that spawned itself would serve nobody.
 *
 * The thread is started on first use, shared by every Lua state of the process, and never
 * ends (it only waits once idle); it blocks every signal, so signal handlers run elsewhere. A job
 * must not touch any runtime: it hands its result to one through the runtime's loop_mailbox.
 */
void run_on_spawner(unique_function<void()> job);

} // namespace lasio
