# integration.daemon_hep (included from daemon/CMakeLists.txt): siplined
# --hep against a SIPp registrar, every packet decoded by a python3 HEPv3
# collector (daemon/tests/hep.sh).
find_program(SIPP_EXE sipp)
find_program(PYTHON3_EXE python3)
if(SIPP_EXE AND PYTHON3_EXE)
  add_test(NAME integration.daemon_hep
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/hep.sh
                   $<TARGET_FILE:siplined> $<TARGET_FILE:siplinectl>
                   ${SIPP_EXE} ${CMAKE_CURRENT_BINARY_DIR}/hep)
  set_tests_properties(integration.daemon_hep PROPERTIES
      LABELS integration TIMEOUT 60)
endif()
