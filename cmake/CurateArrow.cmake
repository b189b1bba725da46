# Finds Arrow C++ and Parquet in the `pyarrow` Python wheel (never a system Arrow), which ships their
# headers and libraries as the torch wheel ships libtorch: CURATE_PYARROW_DIR (the pyarrow package
# folder) wins when given, otherwise CURATE_PYTHON is asked where pyarrow is (without importing it).
# Defines curate_arrow (an interface target) and CURATE_HAVE_ARROW when found; without it Parquet
# datasets are refused with a "rebuild with pyarrow" message.
if(NOT CURATE_PYARROW_DIR AND EXISTS "${CURATE_PYTHON}")
  execute_process(
    COMMAND "${CURATE_PYTHON}" -c
            "import importlib.util as u; s = u.find_spec('pyarrow'); print(s.submodule_search_locations[0], end='')"
    OUTPUT_VARIABLE _curate_pyarrow RESULT_VARIABLE _curate_pyarrow_rc ERROR_QUIET)
  if(_curate_pyarrow_rc EQUAL 0)
    set(CURATE_PYARROW_DIR "${_curate_pyarrow}")
  endif()
endif()
set(CURATE_HAVE_ARROW OFF)
if(CURATE_PYARROW_DIR)
  file(GLOB _curate_libarrow "${CURATE_PYARROW_DIR}/libarrow.so.[0-9]*")
  file(GLOB _curate_libparquet "${CURATE_PYARROW_DIR}/libparquet.so.[0-9]*")
  list(FILTER _curate_libarrow EXCLUDE REGEX "\\.so\\.[0-9]+\\.[0-9]")  # libarrow.so.2600, not .2600.1.0
  list(FILTER _curate_libparquet EXCLUDE REGEX "\\.so\\.[0-9]+\\.[0-9]")
  if(_curate_libarrow AND _curate_libparquet AND EXISTS "${CURATE_PYARROW_DIR}/include/parquet/arrow/reader.h")
    list(GET _curate_libarrow 0 _curate_libarrow)
    list(GET _curate_libparquet 0 _curate_libparquet)
    add_library(curate_arrow INTERFACE)
    target_include_directories(curate_arrow SYSTEM INTERFACE "${CURATE_PYARROW_DIR}/include")
    target_link_libraries(curate_arrow INTERFACE "${_curate_libparquet}" "${_curate_libarrow}")
    target_link_options(curate_arrow INTERFACE "LINKER:-rpath,${CURATE_PYARROW_DIR}")
    target_compile_definitions(curate_arrow INTERFACE CURATE_HAVE_ARROW)
    set(CURATE_HAVE_ARROW ON)
    message(STATUS "Arrow C++ (Parquet datasets) from ${CURATE_PYARROW_DIR}")
  endif()
endif()
if(NOT CURATE_HAVE_ARROW)
  message(STATUS "pyarrow not found (CURATE_PYARROW_DIR, or pyarrow in ${CURATE_PYTHON}): Parquet datasets are "
                 "refused; launch/setup.sh installs pyarrow into .venv")
endif()
