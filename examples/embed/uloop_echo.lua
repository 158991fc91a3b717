-- The scripted side of examples/embed/uloop_style.c: an echo server whose clients also get the
-- host's stdin lines ("input: ..."), and whose "quit" line ends the host (the global quit).
local clients = {}
local last_input

local srv = asio.server('127.0.0.1', 0, function(conn)
  clients[conn] = true
  if last_input then conn:write('input: ' .. last_input .. '\n') end
  while true do
    local line = conn:read_line()
    if not line then break end
    if line == 'quit' then
      quit = true
      break
    end
    conn:write(line .. '\n')
  end
  clients[conn] = nil
  conn:close()
end)

function on_input(line)
  last_input = line
  for conn in pairs(clients) do
    asio.spawn_light_thread(function() conn:write('input: ' .. line .. '\n') end)
  end
end

local _, port = srv:local_address()
io.stdout:write(port, '\n')
io.stdout:flush()
