# nvcc 13 writes PTX ISA 9.0, which only CUDA 13 drivers JIT-compile. The test
# kernels use nothing newer than ISA 7.8 (CUDA 11.8), so they declare that and
# run on older drivers too. Usage: cmake -DPTX=file.ptx -P LowerPtxVersion.cmake
file(READ ${PTX} text)
string(REGEX REPLACE "\n\\.version [0-9]+\\.[0-9]+\n" "\n.version 7.8\n" text "${text}")
file(WRITE ${PTX} "${text}")
