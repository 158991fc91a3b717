-- The value codec that copies values between Lua states: what round-trips exactly, what is
-- refused (with the path of the value at fault), and a decoder that survives arbitrary bytes.
local asio = require 'asio'
local core = require 'asio.core'
local roundtrip, encode, decode = core._codec_roundtrip, core._codec_encode, core._codec_decode

-- Deep equality where nan equals nan and -0 differs from 0.
local function same(a, b, seen)
  if type(a) ~= type(b) then return false end
  if type(a) == 'number' then
    if a ~= a then return b ~= b end
    return a == b and 1 / a == 1 / b
  end
  if type(a) ~= 'table' then return a == b end
  for k, v in pairs(a) do
    if not same(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

local function refused(pattern, ...)
  local ok, err = pcall(encode, ...)
  assert.is_false(ok)
  assert.is_string(err)
  assert.truthy(err:find(pattern, 1, true), 'expected "' .. pattern .. '" in: ' .. tostring(err))
end

describe("the value codec", function()
  it("round-trips nil, booleans and exact numbers", function()
    local values = { 0.1, -0.0, 0, 2 ^ 53, -2 ^ 53, 2 ^ 53 + 2, math.huge, -math.huge, 1e-310, math.pi, -1 }
    for _, v in ipairs(values) do
      local got = roundtrip(v)
      assert.is_true(same(v, got), tostring(v))
    end
    local nan = roundtrip(0 / 0)
    assert.is_true(nan ~= nan)
    assert.equal(5, select('#', roundtrip(nil, true, false, nil, nil)))
    assert.same({ nil, true, false }, { roundtrip(nil, true, false, nil, nil) })
  end)

  it("round-trips binary strings, zero bytes included", function()
    local bytes = {}
    for i = 0, 255 do bytes[#bytes + 1] = string.char(i) end
    for _, s in ipairs({ '', '\0', 'a\0b\0', table.concat(bytes), ('x'):rep(100000) }) do
      assert.equal(s, roundtrip(s))
    end
  end)

  it("round-trips nested tables with every kind of key, as new tables without metatables", function()
    local t = { 1, 'two', { 3, { 4, { five = 5 } } }, [true] = 'yes', [false] = 'no', [0.5] = 'half',
      [-1] = 'minus', ['two words'] = { '\0' }, empty = {}, [2 ^ 53] = 'big' }
    setmetatable(t.empty, { __index = function() return 'mt' end })
    local got = roundtrip(t)
    assert.is_true(same(t, got))
    assert.are_not.equal(t, got)
    assert.is_nil(getmetatable(got.empty))
  end)

  it("copies a table reached twice (not a cycle) twice", function()
    local shared = { 1 }
    local got = roundtrip({ a = shared, b = shared })
    assert.same({ 1 }, got.a)
    assert.are_not.equal(got.a, got.b)
  end)

  it("refuses functions, userdata, coroutines and cdata, naming the path", function()
    refused('args[1]: cannot copy a function to another state', print)
    refused('args[2].opts.cb: cannot copy a function to another state', 1, { opts = { cb = print } })
    refused('args[1][3]: cannot copy a userdata to another state', { 1, 2, io.stdout })
    refused('args[1].co: cannot copy a thread to another state', { co = coroutine.create(print) })
    refused('args[1]["two words"][1]: cannot copy a function', { ['two words'] = { print } })
    refused('args[1][true][0.5]: cannot copy a function', { [true] = { [0.5] = print } })
    refused('args[1]: cannot copy a table with a table as a key', { [{}] = 1 })
    refused('args[1].k: cannot copy a table with a function as a key', { k = { [print] = 1 } })
    local ok, ffi = pcall(require, 'ffi')
    if ok then refused('args[1]: cannot copy a cdata to another state', ffi.new('int[1]')) end
  end)

  it("sends shared channels by reference, and refuses them where no reference can go", function()
    local ch = asio.shared_channel(2)
    local a, t = roundtrip(ch, { list = { ch } })
    assert.is_true(rawequal(ch, a))
    assert.is_true(rawequal(ch, t.list[1]))
    refused("args[1]: cannot copy a userdata to another state", ch) -- a plain buffer has no references
  end)

  it("refuses a cycle, naming where it closes", function()
    local t = { a = { b = {} } }
    t.a.b.back = t
    refused('args[1].a.b.back: cannot copy a table that contains itself (a cycle back to args[1])', t)
    local self = {}
    self[1] = self
    refused('args[1][1]: cannot copy a table that contains itself (a cycle back to args[1])', self)
  end)

  it("bounds the nesting depth, encoding and decoding", function()
    local deep = {}
    local t = deep
    for _ = 1, 99 do t.x = {}; t = t.x end
    assert.is_table(roundtrip(deep))    -- 100 levels: the limit
    t.x = {}
    refused('cannot be copied', deep)    -- 101
    local ok, err = pcall(decode, ('\5\0\0'):rep(100000))
    assert.is_false(ok)
    assert.truthy(err:find('malformed value buffer (tables nested too deep)', 1, true), err)
  end)

  it("raises a clear error on malformed buffers", function()
    local cases = {
      { '\9', 'unknown tag' }, { '\6', 'end of a table outside one' }, { '\3\0\0', 'truncated number' },
      { '\4\5ab', 'string longer than the buffer' }, { '\4', 'truncated length' },
      { '\4' .. ('\255'):rep(11), 'length too long' }, { '\5\0\0\4\1a', 'truncated' },
      { '\5\0\0\0\1\6', 'bad key type' }, { '\5\0\0\3\0\0\0\0\0\0\248\127\1\6', 'nan key' },
      { '\5\0\0\5\0\0\6\1\6', 'bad key type' }, { '\5\0\0', 'truncated table' },
      { '\7\0', 'channel reference out of range' },
    }
    for _, c in ipairs(cases) do
      local ok, err = pcall(decode, c[1])
      assert.is_false(ok, c[2])
      assert.equal('malformed value buffer (' .. c[2] .. ')', err)
    end
    assert.equal(0, select('#', decode('')))
  end)

  describe("fuzzed", function()
    -- A small deterministic generator (the same inputs on every run).
    local seed = 12345
    local function rand(n)
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed % n
    end
    local atoms = { function() return nil end, function() return rand(2) == 0 end,
      function() return rand(1000000) / 7 - 5000 end, function() return -0.0 end,
      function() return 2 ^ rand(60) end, function() return math.huge * (rand(2) * 2 - 1) end,
      function() local t = {}; for i = 1, rand(20) do t[i] = string.char(rand(256)) end return table.concat(t) end }
    -- Shared channels go by reference: they come back as the same handles.
    local channels = { asio.shared_channel(1), asio.shared_channel(0) }
    atoms[#atoms + 1] = function() return channels[rand(2) + 1] end
    -- plain: no channels (for buffers encoded without references)
    local function gen(depth, plain)
      if depth > 4 or rand(3) == 0 then return atoms[rand(#atoms - (plain and 1 or 0)) + 1]() end
      local t = {}
      for _ = 1, rand(6) do
        local k = rand(3) == 0 and rand(10) + 1 or (rand(2) == 0 and ('k' .. rand(10)) or rand(2) == 0)
        t[k] = gen(depth + 1, plain)
      end
      return t
    end

    it("random nested values round-trip exactly (500 values)", function()
      for i = 1, 500 do
        local v = gen(0)
        assert.is_true(same(v, roundtrip(v)), 'value #' .. i)
      end
    end)

    it("the decoder takes arbitrary bytes and mutated buffers without harm (3000 inputs)", function()
      local function check(bytes)
        local ok, err = pcall(decode, bytes)
        if not ok then
          assert.truthy(err:find('^malformed value buffer %(') or err:find('too many values'), err)
        end
      end
      for _ = 1, 1000 do
        local t = {}
        for i = 1, rand(40) do t[i] = string.char(rand(8) == 0 and rand(256) or rand(8)) end
        check(table.concat(t))
      end
      for _ = 1, 1000 do
        local good = encode(gen(0, true), gen(0, true))
        local at = rand(#good) + 1
        check(good:sub(1, at - 1) .. string.char(rand(256)) .. good:sub(at + 1)) -- one byte changed
        check(good:sub(1, rand(#good)))                                          -- cut short
        check(good:sub(1, at) .. string.char(rand(8)) .. good:sub(at + 1))       -- one byte added
      end
    end)
  end)
end)
