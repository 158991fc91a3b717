-- Functions that specs start by name in other states: asio.thread('spec.support.os_thread_worker.add', ...).
local M = {}

function M.add(a, b) return a + b end

M.not_a_function = 42

return M
