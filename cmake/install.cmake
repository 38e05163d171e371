# `cmake --install BUILD --prefix P`: the shared and static libbitnet,
# include/bitnet.h, lib/pkgconfig/bitnet.pc, a CMake package
# (find_package(bitnet) -> bitnet::bitnet) and the CLI tools (docs/install.md).
# When scikit-build-core builds the Python package (SKBUILD), only the shared
# library goes into the wheel, as component "python".
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The version and the soname come from the header, the one place they are
# written: a project() version that disagrees with it stops the configure.
file(STRINGS ${CMAKE_SOURCE_DIR}/include/bitnet.h _abi_line REGEX "^#define BITNET_ABI_VERSION ")
file(STRINGS ${CMAKE_SOURCE_DIR}/include/bitnet.h _ver_line REGEX "^#define BITNET_VERSION_STRING ")
string(REGEX REPLACE "^#define BITNET_ABI_VERSION ([0-9]+).*" "\\1" BITNET_ABI "${_abi_line}")
string(REGEX REPLACE "^#define BITNET_VERSION_STRING \"([0-9.]+)\".*" "\\1" BITNET_HEADER_VERSION
       "${_ver_line}")
if(NOT BITNET_ABI MATCHES "^[0-9]+$" OR NOT BITNET_HEADER_VERSION STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "include/bitnet.h: BITNET_ABI_VERSION '${BITNET_ABI}' / BITNET_VERSION_STRING "
                      "'${BITNET_HEADER_VERSION}' must be a number / equal project(VERSION "
                      "${PROJECT_VERSION}) in CMakeLists.txt")
endif()
# libbitnet.so.ABI -> libbitnet.so.VERSION: the soname changes exactly when the ABI does.
set_target_properties(bitnet_shared PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${BITNET_ABI}
                      EXPORT_NAME bitnet_shared)
set_target_properties(bitnet PROPERTIES EXPORT_NAME bitnet_static)

if(SKBUILD)
  # The wheel carries one real file (wheels have no symlinks); the package
  # loads it by path, so its name need not match the soname.
  install(FILES $<TARGET_FILE:bitnet_shared> DESTINATION bitnet RENAME libbitnet.so
          COMPONENT python)
endif()

install(TARGETS bitnet bitnet_shared EXPORT bitnetTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT devel
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT devel
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${CMAKE_SOURCE_DIR}/include/bitnet.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT devel)
foreach(tool bitnet_cli bitnet_validate)
  if(TARGET ${tool})
    install(TARGETS ${tool} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tools)
  endif()
endforeach()

# pkg-config: what a static link needs beyond -lbitnet. OpenMP is written as
# -L/-l of the runtime this build used (libgomp for gcc, libomp for clang), so
# the flags do not depend on the consumer's compiler.
set(BITNET_PC_LIBS_PRIVATE "")
if(BITNET_OPENMP)
  foreach(lib IN LISTS OpenMP_C_LIB_NAMES)
    get_filename_component(_dir "${OpenMP_${lib}_LIBRARY}" DIRECTORY)
    if(_dir AND NOT _dir MATCHES "^(/usr)?/lib(64)?(/${CMAKE_LIBRARY_ARCHITECTURE})?$")
      string(APPEND BITNET_PC_LIBS_PRIVATE " -L${_dir}")
    endif()
    string(APPEND BITNET_PC_LIBS_PRIVATE " -l${lib}")
  endforeach()
endif()
string(APPEND BITNET_PC_LIBS_PRIVATE " -lm")
string(STRIP "${BITNET_PC_LIBS_PRIVATE}" BITNET_PC_LIBS_PRIVATE)
# prefix relative to the .pc file, so an installed tree can be moved
file(RELATIVE_PATH BITNET_PC_PREFIX /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
string(REGEX REPLACE "/$" "" BITNET_PC_PREFIX "${BITNET_PC_PREFIX}")
configure_file(${CMAKE_SOURCE_DIR}/cmake/bitnet.pc.in ${CMAKE_BINARY_DIR}/bitnet.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/bitnet.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT devel)

set(BITNET_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/bitnet)
install(EXPORT bitnetTargets NAMESPACE bitnet:: DESTINATION ${BITNET_CMAKE_DIR} COMPONENT devel)
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/bitnetConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/bitnetConfig.cmake
                              INSTALL_DESTINATION ${BITNET_CMAKE_DIR})
# 0.MINOR.x releases are compatible with each other only (semantic versioning before 1.0).
write_basic_package_version_file(${CMAKE_BINARY_DIR}/bitnetConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/bitnetConfig.cmake ${CMAKE_BINARY_DIR}/bitnetConfigVersion.cmake
        DESTINATION ${BITNET_CMAKE_DIR} COMPONENT devel)
