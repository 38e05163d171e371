# web/: the WebAssembly module behind web/bitnet.mjs (included by
# cmake/wasm.cmake). One ES module factory, bitnet-wasm.mjs + .wasm, for the
# browser (page and Web Worker) and Node; engine.mjs hands it the .wasm bytes
# itself (wasmBinary), so no environment needs Emscripten's loaders: built for
# web and worker, the factory also runs in Node (none of its Node code, which
# needs CommonJS, is emitted).
# ${CMAKE_BINARY_DIR}/web gets the module and a copy of the JavaScript files:
# that folder is the npm package (package.json) and what the page serves.
add_executable(bitnet_web web/src/bitnet_web.c)
set_target_properties(bitnet_web PROPERTIES OUTPUT_NAME bitnet-wasm SUFFIX ".mjs"
                      RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/web)
target_include_directories(bitnet_web PRIVATE ${CMAKE_SOURCE_DIR}/include)
target_compile_options(bitnet_web PRIVATE ${BITNET_WARNINGS})
target_link_libraries(bitnet_web PRIVATE bitnet)
target_link_options(bitnet_web PRIVATE ${BITNET_WASM_LINK} -sMODULARIZE=1 -sEXPORT_ES6=1
                    -sEXPORT_NAME=createBitnetWasm -sENVIRONMENT=web,worker
                    -sEXPORTED_FUNCTIONS=_malloc,_free
                    -sEXPORTED_RUNTIME_METHODS=UTF8ToString,stringToUTF8,lengthBytesUTF8)
set(BITNET_WEB_FILES bitnet.mjs bitnet.d.ts engine.mjs worker.mjs package.json index.html demo.mjs)
set(bitnet_web_copies "")
foreach(f IN LISTS BITNET_WEB_FILES)
  if(EXISTS ${CMAKE_SOURCE_DIR}/web/${f})
    add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/web/${f}
                       COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_SOURCE_DIR}/web/${f}
                               ${CMAKE_BINARY_DIR}/web/${f}
                       DEPENDS ${CMAKE_SOURCE_DIR}/web/${f})
    list(APPEND bitnet_web_copies ${CMAKE_BINARY_DIR}/web/${f})
  endif()
endforeach()
# copied again whenever a source file changes, not only when the module relinks
add_custom_target(bitnet_web_files ALL DEPENDS ${bitnet_web_copies})
