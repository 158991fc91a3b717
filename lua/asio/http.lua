-- SPDX-License-Identifier: MIT
--- asio.http: an HTTP/1.1 server and client for light threads, on Boost.Beast's parser
-- (asio/http_parser.so). Handlers and requests look synchronous; every wait is a light-thread
-- wait on the connection.
-- @module asio.http
local server = require 'asio.http.server'
local client = require 'asio.http.client'
local util = require 'asio.http.util'

local M = {}

--- Starts a server (see the README): srv, or nil, err when it cannot listen.
M.server = server.new

--- Sends a request: res, or nil, err.
M.request = client.request

--- GET url: res, or nil, err.
M.get = client.get

--- Closes the client's idle keep-alive connections.
M.close_idle = client.close_idle

--- The client pool's settings: { size = per scheme/host/port, idle = seconds }.
M.pool = client.pool_settings

--- Opens a WebSocket to a ws:// or wss:// URL (asio.ws): ws, or nil, err [, status].
function M.websocket(url, opts)
  return require('asio.ws').connect(url, opts)
end

M.escape, M.unescape, M.parse_query, M.parse_url = util.escape, util.unescape, util.parse_query, util.parse_url
M.reasons = util.reasons

return M
