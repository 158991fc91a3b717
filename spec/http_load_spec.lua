-- asio.http under load: 200 light-thread clients, 50 keep-alive requests each, against the
-- module's own server in the same loop; every body is checked.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local H = require 'spec.support.http'

if not H.available() then
  describe("http load", function() pending("no asio/http_parser.so in this build") end)
  return
end
local http = require 'asio.http'

describe("http load", function()
  it("serves 200 clients x 50 keep-alive requests with every body right", function()
    local clients, rounds = 200, 50
    local accepted, ok_count, bad = 0, 0, nil
    local size = http.pool.size
    http.pool.size = clients
    helpers.run_async(function()
      local srv = http.server { routes = {
        ['GET /n/:i/:j'] = function(req) return 200, ('body %s.%s'):format(req.params.i, req.params.j) end,
      } }
      local holder = assert(asio.server('127.0.0.1', 0, function(conn) accepted = accepted + 1; srv:serve(conn) end))
      local _, port = holder:local_address()
      local threads = {}
      for i = 1, clients do
        threads[i] = asio.spawn_light_thread(function()
          for j = 1, rounds do
            local res, err = http.get(('http://127.0.0.1:%d/n/%d/%d'):format(port, i, j))
            if not res then bad = bad or err; return end
            if res.body ~= ('body %d.%d'):format(i, j) then bad = bad or ('wrong body: ' .. res.body); return end
            ok_count = ok_count + 1
          end
        end)
      end
      for i = 1, clients do threads[i]:join() end
      http.close_idle()
      srv:close(1, true)
      holder:close()
    end, { timeout = 120 })
    http.pool.size = size
    assert.is_nil(bad)
    assert.equal(clients * rounds, ok_count)
    -- Keep-alive: each client used one connection for all its requests.
    assert.equal(clients, accepted)
  end)
end)
