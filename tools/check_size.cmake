# cmake -DFILE=path -DLIMIT=bytes -P check_size.cmake: reports FILE's size; fails above LIMIT.
file(SIZE "${FILE}" size)
get_filename_component(name "${FILE}" NAME)
if(size GREATER LIMIT)
  message(FATAL_ERROR "asio/${name}: ${size} bytes, over the limit of ${LIMIT}")
endif()
message(STATUS "asio/${name} (router size, stripped): ${size} bytes, limit ${LIMIT}")
