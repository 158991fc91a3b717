@echo off
rem Builds LuaAsio on Windows through CMake (Visual Studio or MinGW).
rem Set BOOST_ROOT to your Boost (1.81 or newer), LUA_INCDIR to LuaJIT's src directory
rem (lua.h, luajit.h) and LUA_LIBDIR to where lua51.lib is. TLS needs OpenSSL (OPENSSL_ROOT_DIR);
rem pass -DLASIO_WITH_TLS=OFF as the first argument to build without it.
rem Documented, not tested here: what is tested is the mingw-w64 cross build run under Wine
rem (./build.sh ports; README, "Ports").
setlocal
cmake -S . -B build\release -DCMAKE_BUILD_TYPE=Release -DLUA_INCDIR="%LUA_INCDIR%" -DLUA_LIBDIR="%LUA_LIBDIR%" %*
if errorlevel 1 exit /b 1
cmake --build build\release --config Release
if errorlevel 1 exit /b 1
if not exist build\asio mkdir build\asio
rem core.dll is the module; tls.dll (when built with TLS) is loaded by it on the first TLS call.
for %%p in (core tls) do (
  copy /y build\release\asio\Release\%%p.dll build\asio\%%p.dll >nul 2>nul || copy /y build\release\asio\%%p.dll build\asio\%%p.dll >nul 2>nul
)
if not exist build\asio\core.dll exit /b 1
echo built build\asio\core.dll; use LUA_CPATH=build\?.dll and LUA_PATH=lua\?.lua
endlocal
