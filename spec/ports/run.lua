-- SPDX-License-Identifier: MIT
-- A small stand-in for busted where busted cannot run (LuaJIT for Windows under Wine, a target's
-- LuaJIT under qemu): describe / it / pending / before_each / after_each and the assertions the
-- specs use, TAP on stdout, and a last line "N passed, N failed, N skipped".
--   luajit spec/ports/run.lua [--target NAME] [--skip FILE] SPEC_FILE...
-- FILE lists the tests some targets skip, one "<targets> <spec file>: <full test name> -- why" a
-- line, <targets> a comma-separated list (windows, mipsel, aarch64, qemu for both of the last),
-- and "*" for the name skips the whole file;
-- a skipped test is reported as "ok N - name # SKIP why" and counted apart.

local skips, files, target, skip_file = {}, {}, nil, nil
do
  local i = 1
  while i <= #arg do
    if arg[i] == '--skip' then
      skip_file = arg[i + 1]
      i = i + 2
    elseif arg[i] == '--target' then
      target = arg[i + 1]
      i = i + 2
    else
      files[#files + 1] = arg[i]
      i = i + 1
    end
  end
  if skip_file then
    local f = assert(io.open(skip_file, 'r'), 'cannot open ' .. skip_file)
    for line in f:lines() do
      local which, file, name, why = line:match('^(%S+)%s+(%S+):%s+(.-)%s+%-%-%s+(.*)$')
      if which then
        for t in which:gmatch('[^,]+') do
          if t == target or (t == 'qemu' and (target == 'mipsel' or target == 'aarch64')) then
            skips[file .. ': ' .. name] = why
          end
        end
      end
    end
    f:close()
  end
end

-- Assertions, after luassert's names: assert.equal, assert.is_true, assert.are.same ...
local function show(v)
  if type(v) == 'string' then return string.format('%q', v) end
  return tostring(v)
end

local function deep_equal(a, b, seen)
  if a == b then return true end
  if type(a) ~= 'table' or type(b) ~= 'table' then return false end
  seen = seen or {}
  if seen[a] == b then return true end
  seen[a] = b
  for k, v in pairs(a) do
    if not deep_equal(v, b[k], seen) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

local function fail(msg, level) error(msg, (level or 1) + 2) end

local checks = {}
function checks.equal(want, got, msg)
  if want ~= got then fail(msg or ('expected ' .. show(want) .. ', got ' .. show(got))) end
end
checks.equals = checks.equal
function checks.same(want, got, msg)
  if not deep_equal(want, got) then fail(msg or ('expected the same as ' .. show(want) .. ', got ' .. show(got))) end
end
function checks.truthy(v, msg) if not v then fail(msg or ('expected a truthy value, got ' .. show(v))) end end
function checks.falsy(v, msg) if v then fail(msg or ('expected a falsy value, got ' .. show(v))) end end
function checks.is_true(v, msg) if v ~= true then fail(msg or ('expected true, got ' .. show(v))) end end
function checks.is_false(v, msg) if v ~= false then fail(msg or ('expected false, got ' .. show(v))) end end
function checks.is_nil(v, msg) if v ~= nil then fail(msg or ('expected nil, got ' .. show(v))) end end
function checks.not_nil(v, msg) if v == nil then fail(msg or 'expected a value, got nil') end end
for _, t in ipairs { 'number', 'string', 'boolean', 'table', 'function', 'userdata', 'thread' } do
  checks['is_' .. t] = function(v, msg)
    if type(v) ~= t then fail(msg or ('expected a ' .. t .. ', got ' .. type(v))) end
  end
end
function checks.matches(pattern, s, msg)
  if type(s) ~= 'string' or not s:find(pattern) then
    fail(msg or ('expected ' .. show(s) .. ' to match ' .. show(pattern)))
  end
end
function checks.near(want, got, tolerance, msg)
  if type(got) ~= 'number' or math.abs(want - got) > tolerance then
    fail(msg or ('expected ' .. show(got) .. ' within ' .. tolerance .. ' of ' .. want))
  end
end
-- has_error(fn[, message]): fn must raise; with a message, the error (less its position) is it.
function checks.has_error(fn, want, msg)
  local ok, err = pcall(fn)
  if ok then fail(msg or 'expected an error, none was raised') end
  if want ~= nil then
    local text = type(err) == 'string' and err:gsub('^[^:\n]*:%d+: ', '') or err
    if text ~= want and err ~= want then
      fail(msg or ('expected the error ' .. show(want) .. ', got ' .. show(err)))
    end
  end
end
checks.error = checks.has_error
checks.errors = checks.has_error
checks.has_no_error = function(fn, msg)
  local ok, err = pcall(fn)
  if not ok then fail(msg or ('expected no error, got ' .. show(err))) end
end

local function negate(name, f)
  return function(...)
    if pcall(f, ...) then fail('expected ' .. name .. ' to fail for ' .. show((...))) end
  end
end

-- The words luassert lets one chain (assert.is_not.equal, assert.are.same ...) are only sugar here.
local function chain(negated)
  return setmetatable({}, {
    __index = function(self, key)
      if key == 'is_not' or key == 'are_not' or key == 'not_' or key == 'no' then return chain(not negated) end
      if key == 'is' or key == 'are' or key == 'has' or key == 'was' then return self end
      local name = key:gsub('^is_not_', 'is_'):gsub('^are_', ''):gsub('^is_truthy$', 'truthy'):gsub('^is_falsy$', 'falsy')
      local neg = negated ~= (key:find('^is_not_') ~= nil)
      if name == 'is_not_nil' then name, neg = 'is_nil', not neg end
      local f = checks[name] or (name:find('^is_') and checks[name:sub(4)])
      if not f then error('spec/ports/run.lua: no assertion ' .. key, 2) end
      return neg and negate(key, f) or f
    end,
    __call = function(_, v, msg, ...)
      if negated then
        if v then fail(msg or 'assertion failed') end
        return v, msg, ...
      end
      if not v then fail(msg or 'assertion failed!') end
      return v, msg, ...
    end,
  })
end
local spec_assert = chain(false)

-- Collecting, then running, the tests of one file.
local passed, failed, skipped, n = 0, 0, 0, 0

local function run_file(path)
  local root = { name = nil, children = {}, before = {}, after = {} }
  local current = root
  local env = setmetatable({ assert = spec_assert }, { __index = _G })

  function env.describe(name, fn)
    local block = { name = name, parent = current, children = {}, before = {}, after = {} }
    current.children[#current.children + 1] = block
    local outer = current
    current = block
    fn()
    current = outer
  end
  env.context = env.describe
  function env.it(name, fn)
    current.children[#current.children + 1] = { name = name, fn = fn, parent = current }
  end
  env.test = env.it
  function env.pending(name)
    current.children[#current.children + 1] = { name = name, parent = current, pending = true }
  end
  function env.before_each(fn) current.before[#current.before + 1] = fn end
  function env.after_each(fn) current.after[#current.after + 1] = fn end
  function env.setup(fn) fn() end
  env.lazy_setup = env.setup
  env.strict_setup = env.setup
  function env.teardown(fn) current.teardown = fn end
  env.lazy_teardown = env.teardown

  local chunk, err = loadfile(path)
  if chunk then
    setfenv(chunk, env)
    local ok, e = xpcall(chunk, debug.traceback)
    if not ok then chunk, err = nil, e end
  end
  if not chunk then
    n = n + 1
    failed = failed + 1
    print(('not ok %d - %s: loading the file'):format(n, path))
    print('# ' .. tostring(err):gsub('\n', '\n# '))
    return
  end

  local function full_name(node)
    local parts = {}
    while node and node.name do
      table.insert(parts, 1, node.name)
      node = node.parent
    end
    return table.concat(parts, ' ')
  end

  local function hooks(node, field, list)
    if node.parent then hooks(node.parent, field, list) end
    for _, f in ipairs(node[field] or {}) do list[#list + 1] = f end
    return list
  end

  local function walk(block)
    for _, node in ipairs(block.children) do
      if node.children then
        walk(node)
        if node.teardown then pcall(node.teardown) end
      else
        n = n + 1
        local name = full_name(node)
        local why = skips[path .. ': ' .. name] or skips[path .. ': *']
        if node.pending then
          skipped = skipped + 1
          print(('ok %d - %s # SKIP pending'):format(n, name))
        elseif why then
          skipped = skipped + 1
          print(('ok %d - %s # SKIP %s'):format(n, name, why))
        else
          local ok, e = true, nil
          for _, f in ipairs(hooks(node.parent, 'before', {})) do
            if ok then ok, e = xpcall(f, debug.traceback) end
          end
          if ok then ok, e = xpcall(node.fn, debug.traceback) end
          local afters = hooks(node.parent, 'after', {})
          for i = #afters, 1, -1 do
            local ok2, e2 = xpcall(afters[i], debug.traceback)
            if ok and not ok2 then ok, e = ok2, e2 end
          end
          if ok then
            passed = passed + 1
            print(('ok %d - %s'):format(n, name))
          else
            failed = failed + 1
            print(('not ok %d - %s'):format(n, name))
            print('# ' .. tostring(e):gsub('\n', '\n# '))
          end
        end
        io.stdout:flush()
      end
    end
  end
  walk(root)
  if root.teardown then pcall(root.teardown) end
end

for _, path in ipairs(files) do
  print('# ' .. path)
  run_file(path)
end
print('1..' .. n)
print(('%d passed, %d failed, %d skipped'):format(passed, failed, skipped))
os.exit(failed == 0 and 0 or 1)
