-- SPDX-License-Identifier: MIT
-- No lost wake-ups and no lost or duplicated values under a randomized schedule of 100,000
-- operations on channels, select, a mutex and a semaphore, with threads killed at random.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'

local spawn = asio.spawn_light_thread

describe('asio.sync under a randomized schedule', function()
  it('loses and duplicates nothing in 100,000 operations', function()
    helpers.run_async(function()
      math.randomseed(20240611)
      local random = math.random
      local TOTAL = 100000
      local chans = { asio.channel(0), asio.channel(0), asio.channel(1), asio.channel(4) }
      local mutex, sem = asio.mutex(), asio.semaphore(2)
      local ops, next_id = 0, 0
      local attempted, confirmed, received = {}, {}, {}
      local in_mutex, in_sem, kills = 0, 0, 0
      local workers, busy = {}, {} -- busy[th]: holding the mutex or a permit, not to be killed
      local wg = asio.waitgroup()

      local function pick_timeout()
        local r = random()
        if r < 0.4 then return 0 end
        if r < 0.9 then return random() * 0.002 end
        return nil -- forever: the janitor and the final close keep these from hanging
      end

      local function record(v)
        assert(attempted[v], 'received a value never sent: ' .. tostring(v))
        assert(not received[v], 'value received twice: ' .. tostring(v))
        received[v] = true
      end

      local function new_id()
        next_id = next_id + 1
        attempted[next_id] = true
        return next_id
      end

      local spawn_worker

      local function step(self)
        ops = ops + 1
        local r = random()
        if r < 0.3 then
          local id = new_id()
          if chans[random(#chans)]:send(id, pick_timeout()) then confirmed[id] = true end
        elseif r < 0.6 then
          local v = chans[random(#chans)]:recv(pick_timeout())
          if v then record(v) end
        elseif r < 0.8 then
          local cases, ids = {}, {}
          for k = 1, random(1, 3) do
            if random() < 0.5 then
              cases[k] = { 'recv', chans[random(#chans)] }
            else
              ids[k] = new_id()
              cases[k] = { 'send', chans[random(#chans)], ids[k] }
            end
          end
          local i, v = asio.select(cases, pick_timeout())
          if i and v ~= nil then
            if cases[i][1] == 'recv' then record(v) else confirmed[ids[i]] = true end
          end
        elseif r < 0.88 then
          if mutex:lock(pick_timeout() or 0.01) then
            busy[self] = true
            in_mutex = in_mutex + 1
            assert(in_mutex == 1, 'two threads inside the mutex')
            if random() < 0.5 then asio.yield() end
            in_mutex = in_mutex - 1
            busy[self] = nil
            mutex:unlock()
          end
        elseif r < 0.96 then
          if sem:acquire(pick_timeout() or 0.01) then
            busy[self] = true
            in_sem = in_sem + 1
            assert(in_sem <= 2, 'semaphore let 3 threads in')
            if random() < 0.5 then asio.yield() end
            in_sem = in_sem - 1
            busy[self] = nil
            sem:release()
          end
        elseif r < 0.99 then
          asio.yield()
        else
          -- Kill someone else: often a thread just handed a value or a lock, not yet resumed.
          local victim = workers[random(#workers)]
          if victim ~= self and not busy[victim] and victim:status() ~= 'dead' then
            victim:kill()
            kills = kills + 1
            wg:done() -- on the victim's behalf
            for k = 1, #workers do
              if workers[k] == victim then workers[k] = spawn_worker() end
            end
          end
        end
      end

      function spawn_worker()
        wg:add(1)
        local th
        th = spawn(function()
          local self = th or asio.current()
          while ops < TOTAL do step(self) end
          wg:done()
        end)
        return th
      end

      for k = 1, 12 do workers[k] = spawn_worker() end

      -- Keeps threads that wait forever from all waiting on each other at the same time.
      local janitor = spawn(function()
        while ops < TOTAL do
          asio.sleep(0.001)
          local ch = chans[random(#chans)]
          local v = ch:recv(0)
          if v then record(v) end
          local id = new_id()
          if chans[random(#chans)]:send(id, 0) then confirmed[id] = true end
          asio.select({ { 'send', ch, new_id() } }, 0) -- value may be lost to the count: fine
        end
      end)

      while ops < TOTAL do asio.sleep(0.01) end
      for k = 1, #chans do chans[k]:close() end
      assert.is_true(wg:wait(10), 'some worker never finished')
      janitor:join()
      for k = 1, #chans do
        while true do
          local v, err = chans[k]:recv(0)
          if v == nil then
            assert.equal('closed', err)
            break
          end
          record(v)
        end
      end
      local n_confirmed, n_received = 0, 0
      for id in pairs(confirmed) do
        assert(received[id], 'value sent but never received: ' .. id)
        n_confirmed = n_confirmed + 1
      end
      for _ in pairs(received) do n_received = n_received + 1 end
      assert.is_true(n_confirmed > 10000, 'too few values went through: ' .. n_confirmed)
      assert.is_true(n_received >= n_confirmed)
      assert.is_true(kills > 100, 'too few kills: ' .. kills)
      assert.is_false(mutex:locked())
      assert.equal(2, sem:available())
      assert.equal(0, asio._sync_pending_handoffs())
    end, { timeout = 60 })
  end)
end)
