# The Emscripten build's programs (included from CMakeLists.txt when
# EMSCRIPTEN): the bitnet CLI and test_kernels for Node (NODERAWFS: they read
# and write the host's files, so the native tests can compare outputs), and
# the ES module web/ loads (MODULARIZE, the model copied once into the heap).
#
# Memory: the heap grows on demand up to BITNET_WASM_MAX_MEMORY; a model or
# context that does not fit makes malloc return NULL, which the library
# reports as out of memory naming what it was allocating.
set(BITNET_WASM_MAX_MEMORY "4GB" CACHE STRING
    "Largest WebAssembly heap (-sMAXIMUM_MEMORY; 4GB is wasm32's limit)")
set(BITNET_WASM_LINK -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=${BITNET_WASM_MAX_MEMORY}
    -sTOTAL_STACK=8MB -sINITIAL_MEMORY=64MB)
set(BITNET_WASM_NODE_LINK ${BITNET_WASM_LINK} -sNODERAWFS=1 -sEXIT_RUNTIME=1 -sENVIRONMENT=node)

file(GLOB BITNET_WASM_TOOL_SOURCES CONFIGURE_DEPENDS tools/*.c)
# serve (sockets, threads), pull (libcurl) and their helpers have no place in a tab
list(REMOVE_ITEM BITNET_WASM_TOOL_SOURCES ${CMAKE_SOURCE_DIR}/tools/cmd_serve.c
     ${CMAKE_SOURCE_DIR}/tools/cmd_pull.c ${CMAKE_SOURCE_DIR}/tools/download.c)
add_executable(bitnet_cli ${BITNET_WASM_TOOL_SOURCES})
set_target_properties(bitnet_cli PROPERTIES OUTPUT_NAME bitnet SUFFIX ".js")
target_include_directories(bitnet_cli PRIVATE ${BITNET_ENGINE_INCLUDES} ${CMAKE_SOURCE_DIR}/kernels
                           ${CMAKE_SOURCE_DIR}/tools ${CJSON_INCLUDE_DIR})
target_compile_options(bitnet_cli PRIVATE ${BITNET_WARNINGS})
target_link_libraries(bitnet_cli PRIVATE bitnet)
target_link_options(bitnet_cli PRIVATE ${BITNET_WASM_NODE_LINK})

if(BITNET_BUILD_TESTS)
  add_executable(test_kernels tests/test_kernels.c)
  set_target_properties(test_kernels PROPERTIES SUFFIX ".js")
  target_include_directories(test_kernels PRIVATE ${BITNET_ENGINE_INCLUDES}
                             ${CMAKE_SOURCE_DIR}/kernels ${CMAKE_SOURCE_DIR}/tests)
  target_compile_options(test_kernels PRIVATE ${BITNET_WARNINGS})
  target_compile_definitions(test_kernels PRIVATE ${BITNET_ISA_DEFINES})
  target_link_libraries(test_kernels PRIVATE bitnet)
  target_link_options(test_kernels PRIVATE ${BITNET_WASM_NODE_LINK})
endif()

if(EXISTS ${CMAKE_SOURCE_DIR}/web/src/bitnet_web.c)
  include(${CMAKE_SOURCE_DIR}/web/module.cmake)
endif()

if(BITNET_BUILD_TESTS)
  # the same source as the native tests/wasm/logits_dump (tests/CMakeLists.txt)
  add_executable(logits_dump tests/wasm/logits_dump.c)
  set_target_properties(logits_dump PROPERTIES SUFFIX ".js")
  target_compile_options(logits_dump PRIVATE ${BITNET_WARNINGS})
  target_link_libraries(logits_dump PRIVATE bitnet)
  target_link_options(logits_dump PRIVATE ${BITNET_WASM_NODE_LINK})
endif()

# the WebAssembly table's decode kernels against the reference (docs/performance.md)
add_executable(bench_kernels_wasm bench/wasm/bench_kernels_wasm.c)
set_target_properties(bench_kernels_wasm PROPERTIES SUFFIX ".js")
target_include_directories(bench_kernels_wasm PRIVATE ${BITNET_ENGINE_INCLUDES} ${CMAKE_SOURCE_DIR}/kernels)
target_compile_options(bench_kernels_wasm PRIVATE ${BITNET_WARNINGS})
target_link_libraries(bench_kernels_wasm PRIVATE bitnet)
target_link_options(bench_kernels_wasm PRIVATE ${BITNET_WASM_NODE_LINK})
