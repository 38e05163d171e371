# Man pages generated at build time from the tools' --help by help2man
# (cmake/gen-man.sh), installed under share/man/man1 with the tools. Without
# help2man (ci/install-deps.sh installs it) there are none, said here and by
# the man_pages test, which then skips.
include(GNUInstallDirs)
find_program(BITNET_HELP2MAN help2man)
if(BITNET_HELP2MAN AND TARGET bitnet_validate)
  set(BITNET_MAN_DIR ${CMAKE_BINARY_DIR}/man)
  add_custom_command(
    OUTPUT ${BITNET_MAN_DIR}/bitnet.1
    COMMAND bash ${CMAKE_SOURCE_DIR}/cmake/gen-man.sh ${BITNET_HELP2MAN} $<TARGET_FILE:bitnet_cli>
            $<TARGET_FILE:bitnet_validate> ${BITNET_MAN_DIR}
    DEPENDS bitnet_cli bitnet_validate ${CMAKE_SOURCE_DIR}/cmake/gen-man.sh
    COMMENT "Man pages from --help (help2man)")
  add_custom_target(bitnet_man ALL DEPENDS ${BITNET_MAN_DIR}/bitnet.1)
  install(DIRECTORY ${BITNET_MAN_DIR}/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT tools
          FILES_MATCHING PATTERN "*.1")
else()
  set(BITNET_MAN_DIR "")
  message(STATUS "man pages: not generated, because help2man was not found (ci/install-deps.sh)")
endif()
