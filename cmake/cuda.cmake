# CUDA backend (LOWRANK_CUDA=ON): cuBLAS-based routines in src/cuda/*.cu
# (linear algebra, linked into lowrank_core so every layer above can call
# them) and the training engine's kernels in src/cuda/nn/*.cu (lowrank_cuda_nn,
# linked into lowrank_nn only: core holds no part of the nn layer, issue 27).
if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
  set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
endif()
if(NOT CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES 90)  # Hopper (H100 / H200); override on the command line
endif()
enable_language(CUDA)
set(CMAKE_CUDA_STANDARD 17)
find_package(CUDAToolkit REQUIRED)
file(GLOB LOWRANK_CUDA_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/cuda/*.cu)
file(GLOB LOWRANK_CUDA_NN_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/cuda/nn/*.cu)
add_library(lowrank_cuda STATIC ${LOWRANK_CUDA_SOURCES})
target_include_directories(lowrank_cuda PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include> PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
target_link_libraries(lowrank_cuda PUBLIC Eigen3::Eigen CUDA::cudart CUDA::cublas)
# Eigen's host code inside .cu files: silence its device annotations.
target_compile_options(lowrank_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -w>)
target_link_libraries(lowrank_core PUBLIC lowrank_cuda)
add_library(lowrank_cuda_nn STATIC ${LOWRANK_CUDA_NN_SOURCES})
target_include_directories(lowrank_cuda_nn PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
target_link_libraries(lowrank_cuda_nn PUBLIC lowrank_cuda)
target_compile_options(lowrank_cuda_nn PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -w>)
target_link_libraries(lowrank_nn PUBLIC lowrank_cuda_nn)
