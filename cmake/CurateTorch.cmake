# Finds libtorch from the `torch` Python wheel (never Debian's libtorch): Torch_DIR wins when given,
# otherwise CURATE_PYTHON is asked for torch.utils.cmake_prefix_path.
if(NOT Torch_DIR)
  if(NOT EXISTS "${CURATE_PYTHON}")
    message(FATAL_ERROR "libtorch not found: set Torch_DIR, or CURATE_PYTHON to a python with the torch wheel "
                        "(launch/setup.sh creates ${PROJECT_SOURCE_DIR}/.venv), or -DCURATE_WITH_TORCH=OFF")
  endif()
  execute_process(
    COMMAND "${CURATE_PYTHON}" -c "import torch.utils; print(torch.utils.cmake_prefix_path, end='')"
    OUTPUT_VARIABLE _curate_torch_prefix RESULT_VARIABLE _curate_torch_rc ERROR_QUIET)
  if(NOT _curate_torch_rc EQUAL 0)
    message(FATAL_ERROR "${CURATE_PYTHON} cannot import torch: run launch/setup.sh or set Torch_DIR")
  endif()
  list(APPEND CMAKE_PREFIX_PATH "${_curate_torch_prefix}")
endif()
# The CUDA wheel's TorchConfig wants an architecture list; a CPU-only run never uses it.
if(NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST} AND NOT TORCH_CUDA_ARCH_LIST)
  set(TORCH_CUDA_ARCH_LIST "9.0" CACHE STRING "CUDA architectures for torch extensions")
endif()
find_package(Torch REQUIRED)
message(STATUS "libtorch ${Torch_VERSION} from ${Torch_DIR}")

# curate_torch: libtorch for our targets. The torch wheel's libtorch.so exports its own copy of
# std::filesystem, and some of it (remove_all) crashes when it wins symbol lookup; listing libstdc++
# before libtorch among the needed libraries makes the system libstdc++ the one in use.
add_library(curate_torch INTERFACE)
target_link_options(curate_torch INTERFACE "LINKER:--push-state,--no-as-needed" "-lstdc++" "LINKER:--pop-state")
target_link_libraries(curate_torch INTERFACE ${TORCH_LIBRARIES})
