# CMake toolchain for the Windows build of guestpulse: x86_64 mingw-w64 (posix threads),
# libraries from the prefix packaging/windows/build-deps.sh prints, tests run under wine.
#
#   deps=$(packaging/windows/build-deps.sh)
#   cmake -S . -B build-win -G Ninja \
#     -DCMAKE_TOOLCHAIN_FILE=packaging/windows/toolchain-mingw64.cmake \
#     -DGUESTPULSE_MINGW_DEPS="$deps"
#
# Inputs: each is a cache variable (-D...), or else read from the environment variable of the
# same name when the build directory is first configured.
#   GUESTPULSE_MINGW_DEPS   the dependency prefix build-deps.sh printed (required)
#   GUESTPULSE_WINEPREFIX   the wine prefix the .exe tests run in (default <build dir>/wineprefix);
#                           made on first use by wine-prefix.sh, never ~/.wine
#   GUESTPULSE_WINE_COM1    what COM1 maps to in a prefix made on first use (default /dev/null)

set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(_gp_triple x86_64-w64-mingw32)
# The -posix compilers: the default -win32 thread model has no std::thread or std::mutex.
set(CMAKE_C_COMPILER ${_gp_triple}-gcc-posix)
set(CMAKE_CXX_COMPILER ${_gp_triple}-g++-posix)
set(CMAKE_RC_COMPILER ${_gp_triple}-windres)

foreach(_gp_var GUESTPULSE_MINGW_DEPS GUESTPULSE_WINEPREFIX GUESTPULSE_WINE_COM1)
  if(NOT DEFINED ${_gp_var} AND DEFINED ENV{${_gp_var}})
    set(${_gp_var} "$ENV{${_gp_var}}")
  endif()
endforeach()
if(NOT GUESTPULSE_MINGW_DEPS OR NOT IS_DIRECTORY "${GUESTPULSE_MINGW_DEPS}")
  message(FATAL_ERROR "GUESTPULSE_MINGW_DEPS='${GUESTPULSE_MINGW_DEPS}' is not a directory: "
    "pass -DGUESTPULSE_MINGW_DEPS=\"$(packaging/windows/build-deps.sh)\"")
endif()
if(NOT GUESTPULSE_WINEPREFIX)
  set(GUESTPULSE_WINEPREFIX "${CMAKE_BINARY_DIR}/wineprefix")
endif()
if(NOT GUESTPULSE_WINE_COM1)
  set(GUESTPULSE_WINE_COM1 /dev/null)
endif()
set(GUESTPULSE_MINGW_DEPS "${GUESTPULSE_MINGW_DEPS}" CACHE PATH
  "mingw-w64 dependency prefix (build-deps.sh)")
set(GUESTPULSE_WINEPREFIX "${GUESTPULSE_WINEPREFIX}" CACHE PATH "wine prefix the .exe tests run in")
set(GUESTPULSE_WINE_COM1 "${GUESTPULSE_WINE_COM1}" CACHE STRING
  "COM1 in a wine prefix made on first use")
# try_compile projects read this file again; hand them the same values (whole-project checks
# such as check_ipo_supported see only the environment).
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES
  GUESTPULSE_MINGW_DEPS GUESTPULSE_WINEPREFIX GUESTPULSE_WINE_COM1)
foreach(_gp_var GUESTPULSE_MINGW_DEPS GUESTPULSE_WINEPREFIX GUESTPULSE_WINE_COM1)
  set(ENV{${_gp_var}} "${${_gp_var}}")
endforeach()

# Libraries, headers and CMake packages come only from the mingw sysroot and the dependency
# prefix; programs (code generators, wine) from the build machine.
set(CMAKE_FIND_ROOT_PATH /usr/${_gp_triple} "${GUESTPULSE_MINGW_DEPS}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Windows 10 / Server 2016 and later.
set(CMAKE_C_FLAGS_INIT "-D_WIN32_WINNT=0x0A00 -DWINVER=0x0A00")
set(CMAKE_CXX_FLAGS_INIT "-D_WIN32_WINNT=0x0A00 -DWINVER=0x0A00")
# One self-contained .exe: libstdc++, libgcc and winpthread linked in, so it imports only
# system DLLs.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -static-libgcc -static-libstdc++")

# Boost is used from Debian's headers (Asio, Beast; JSON and URL compiled from their headers):
# the prefix holds a directory with only a link to /usr/include/boost.
set(Boost_INCLUDE_DIR "${GUESTPULSE_MINGW_DEPS}/boost-headers" CACHE PATH
  "Boost headers (a directory holding only a link to /usr/include/boost)")
set(Boost_NO_BOOST_CMAKE ON)
set(Boost_NO_SYSTEM_PATHS ON)
# The prefix holds static OpenSSL only; this also makes FindOpenSSL add ws2_32 and crypt32.
set(OPENSSL_ROOT_DIR "${GUESTPULSE_MINGW_DEPS}")
set(OPENSSL_USE_STATIC_LIBS TRUE)

# ctest (and catch_discover_tests) run the .exe files under wine64 in the dedicated prefix,
# with WINEDEBUG=-all; wine-run.sh makes the prefix, COM1 remapped, before its first use.
set(CMAKE_CROSSCOMPILING_EMULATOR
  "${CMAKE_CURRENT_LIST_DIR}/wine-run.sh;${GUESTPULSE_WINEPREFIX};${GUESTPULSE_WINE_COM1}")
