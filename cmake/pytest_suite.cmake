# synod_pytest_suite(NAME <test> LABEL <label> TIMEOUT <s> [PYTHON <python>] [ENV <VAR=...>...]):
# one ctest test running the pytest suite of the calling directory against the synod
# binary (SYNOD_BIN), serially (it starts servers of its own), with Debian's python3 by
# default (the pyenv python3 on PATH cannot see Debian's python3-* packages).
function(synod_pytest_suite)
  cmake_parse_arguments(S "" "NAME;LABEL;TIMEOUT;PYTHON" "ENV" ${ARGN})
  if(NOT S_PYTHON)
    set(S_PYTHON /usr/bin/python3)
  endif()
  add_test(NAME ${S_NAME}
           COMMAND ${S_PYTHON} -m pytest -q -x ${CMAKE_CURRENT_SOURCE_DIR}
           WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(${S_NAME} PROPERTIES
    ENVIRONMENT "SYNOD_BIN=$<TARGET_FILE:synod>;PYTHONDONTWRITEBYTECODE=1;${S_ENV}"
    TIMEOUT ${S_TIMEOUT}
    LABELS ${S_LABEL}
    RUN_SERIAL TRUE)
endfunction()
