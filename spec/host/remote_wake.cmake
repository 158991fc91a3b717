# SPDX-License-Identifier: MIT
# The remote wake-up test host (spec/host/remote_wake.cpp), built with ThreadSanitizer. It links
# the code other OS threads reach, src/sched/ and src/base/, compiled again with TSan into a
# library of its own: the module itself stays uninstrumented. Included from CMakeLists.txt's
# test section; the sanitizer variant skips it (TSan and ASan cannot share a process).
if(NOT LASIO_SANITIZE AND NOT LASIO_ROUTER_SIZE AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang" AND NOT WIN32)
  file(GLOB LASIO_TSAN_SOURCES CONFIGURE_DEPENDS
    ${PROJECT_SOURCE_DIR}/src/sched/*.cpp ${PROJECT_SOURCE_DIR}/src/base/*.cpp)
  add_library(lasio_sched_tsan STATIC ${LASIO_TSAN_SOURCES})
  target_include_directories(lasio_sched_tsan PUBLIC ${PROJECT_SOURCE_DIR}/src ${LUA_INCLUDE_DIR})
  target_include_directories(lasio_sched_tsan SYSTEM PUBLIC ${Boost_INCLUDE_DIRS})
  target_compile_definitions(lasio_sched_tsan PUBLIC
    BOOST_ASIO_SEPARATE_COMPILATION
    BOOST_ASIO_NO_DEPRECATED
    BOOST_ASIO_DISABLE_BOOST_DATE_TIME
    LASIO_WITH_TLS=0)
  # -Wno-tsan: GCC warns that TSan does not model the fences in Asio's handler completion;
  # the scheduler's mutex orders what crosses threads there.
  target_compile_options(lasio_sched_tsan PUBLIC -fsanitize=thread -g -O1 $<$<CXX_COMPILER_ID:GNU>:-Wno-tsan>)
  target_link_options(lasio_sched_tsan PUBLIC -fsanitize=thread)
  target_link_libraries(lasio_sched_tsan PUBLIC ${LUAJIT_LIBRARY} Threads::Threads ${CMAKE_DL_LIBS})

  add_executable(remote_wake ${CMAKE_CURRENT_LIST_DIR}/remote_wake.cpp)
  target_compile_options(remote_wake PRIVATE -Wall -Wextra -Wno-unused-parameter)
  target_link_libraries(remote_wake PRIVATE lasio_sched_tsan)
endif()
