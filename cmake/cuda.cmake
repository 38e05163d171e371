# The CUDA kernels (kernels/cuda/*.cu) as the static library bitnet_cuda,
# built when BITNET_CUDA is ON, or AUTO and nvcc is found (on PATH, $CUDACXX
# or /usr/local/cuda/bin). libbitnet itself never links the CUDA runtime: it
# dlopens it only when a context asks for the device (kernels/cuda/cuda_probe.c).
# Sets BITNET_HAVE_CUDA, BITNET_CUDA_DEFINES and BITNET_CUDA_PROBE_LIBS.
set(BITNET_HAVE_CUDA OFF)
set(BITNET_CUDA_DEFINES "")
set(BITNET_CUDA_PROBE_LIBS "")
if(NOT BITNET_CUDA MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "BITNET_CUDA: '${BITNET_CUDA}' is not AUTO, ON or OFF")
endif()
if(BITNET_CUDA STREQUAL "OFF" OR BITNET_FUZZ OR EMSCRIPTEN)
  message(STATUS "CUDA: off (BITNET_CUDA=${BITNET_CUDA})")
  return()
endif()

if(NOT CMAKE_CUDA_COMPILER)
  if(DEFINED ENV{CUDACXX})
    set(_bn_nvcc $ENV{CUDACXX})
  else()
    find_program(_bn_nvcc nvcc HINTS /usr/local/cuda/bin NO_CACHE)
  endif()
  if(_bn_nvcc)
    set(CMAKE_CUDA_COMPILER ${_bn_nvcc})
  endif()
endif()
if(NOT CMAKE_CUDA_COMPILER)
  if(BITNET_CUDA STREQUAL "ON")
    message(FATAL_ERROR "BITNET_CUDA=ON but nvcc was not found (PATH, CUDACXX, /usr/local/cuda/bin)")
  endif()
  message(STATUS "CUDA: nvcc not found, the CUDA kernels are not built")
  return()
endif()

set(CMAKE_CUDA_ARCHITECTURES ${BITNET_CUDA_ARCHS})
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)
set(BITNET_HAVE_CUDA ON)
message(STATUS "CUDA: ${CMAKE_CUDA_COMPILER} ${CMAKE_CUDA_COMPILER_VERSION}, sm ${BITNET_CUDA_ARCHS}")

# engine/cuda/: the device forward pass (host C over the kernels and libbitnet's
# model); outside libbitnet's globs, as it needs the CUDA runtime.
file(GLOB BITNET_CUDA_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/kernels/cuda/*.cu
     ${CMAKE_SOURCE_DIR}/engine/cuda/*.c)
add_library(bitnet_cuda STATIC ${BITNET_CUDA_SOURCES})
target_include_directories(bitnet_cuda PUBLIC ${CMAKE_SOURCE_DIR}/kernels/cuda
                           ${CMAKE_SOURCE_DIR}/engine/cuda
                           PRIVATE ${CMAKE_SOURCE_DIR}/kernels ${BITNET_ENGINE_INCLUDES}
                           ${CMAKE_SOURCE_DIR}/include)
# --fmad=false: no contraction into FMA, the device twin of -ffp-contract=off,
# so that float expressions round as the CPU reference's do.
set(_bn_cuda_flags --fmad=false -Xcompiler=-Wall,-Wextra)
if(BITNET_WERROR)
  list(APPEND _bn_cuda_flags "SHELL:-Werror all-warnings" -Xcompiler=-Werror)
endif()
target_compile_options(bitnet_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:${_bn_cuda_flags}>
                       $<$<COMPILE_LANGUAGE:C>:${BITNET_WARNINGS}>)
target_link_libraries(bitnet_cuda PUBLIC CUDA::cudart bitnet)

list(APPEND BITNET_CUDA_DEFINES BITNET_HAVE_CUDA
     BITNET_CUDART_SONAME="libcudart.so.${CUDAToolkit_VERSION_MAJOR}")
# dlopen is in libc since glibc 2.34 (Debian bookworm has 2.36)
include(CheckSymbolExists)
check_symbol_exists(dlopen dlfcn.h BITNET_LIBC_HAS_DLOPEN)
if(NOT BITNET_LIBC_HAS_DLOPEN)
  set(BITNET_CUDA_PROBE_LIBS ${CMAKE_DL_LIBS})
endif()
