# NCCL for the weight broadcast within a node (target curate_nccl, src/comm/nccl.cpp). Optional: built
# when CURATE_WITH_NCCL is on and the CUDA toolkit, nccl.h and libnccl are found (NCCL_ROOT or
# NCCL_HOME, the CUDA toolkit folders, then the system paths); CURATE_HAVE_NCCL says whether it is.
option(CURATE_WITH_NCCL "Build the NCCL weight broadcast when NCCL and the CUDA toolkit are found" ON)
set(CURATE_HAVE_NCCL OFF)
if(CURATE_WITH_NCCL)
  find_package(CUDAToolkit QUIET)
  file(GLOB _curate_cuda_roots LIST_DIRECTORIES true /usr/local/cuda /usr/local/cuda-*)
  set(_curate_nccl_hints $ENV{NCCL_ROOT} $ENV{NCCL_HOME} ${CUDAToolkit_LIBRARY_ROOT} ${_curate_cuda_roots})
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${_curate_nccl_hints} PATH_SUFFIXES include)
  find_library(NCCL_LIBRARY NAMES nccl HINTS ${_curate_nccl_hints} PATH_SUFFIXES lib lib64 lib/x86_64-linux-gnu)
  if(CUDAToolkit_FOUND AND NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    set(CURATE_HAVE_NCCL ON)
    message(STATUS "NCCL: ${NCCL_LIBRARY} (headers ${NCCL_INCLUDE_DIR}), CUDA ${CUDAToolkit_VERSION}")
  else()
    message(STATUS "NCCL not found (CUDA toolkit: ${CUDAToolkit_FOUND}, nccl.h: ${NCCL_INCLUDE_DIR}, "
                   "libnccl: ${NCCL_LIBRARY}): weight broadcast falls back to reading from disk")
  endif()
endif()
