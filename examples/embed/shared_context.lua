-- The scripted side of examples/embed/shared_context.cpp: a line service on its own port, in the
-- host's io_context. A "quit" line ends the host (the global quit). A light thread sleeps for
-- long, so that the host closes the state with it still waiting.
local srv = asio.server('127.0.0.1', 0, function(conn)
  while true do
    local line = conn:read_line()
    if not line then break end
    if line == 'quit' then quit = true end
    conn:write('lua: ' .. line .. '\n')
  end
  conn:close()
end)
asio.spawn_light_thread(function() asio.sleep(3600) end)
port = select(2, srv:local_address())
