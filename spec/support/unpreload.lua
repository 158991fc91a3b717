-- busted --helper for the ThreadSanitizer run: libtsan is preloaded into this process only; the
-- children the specs start (sh, cat, sleep) are not built for it and crash when it is preloaded.
local ffi = require 'ffi'
pcall(ffi.cdef, 'int unsetenv(const char *name);')
ffi.C.unsetenv('LD_PRELOAD')
