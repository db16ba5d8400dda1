// oneDNN's sgemm, from the copy of oneDNN that libtorch already loaded for its convolutions (linear_tuning.cpp,
// attention.cpp). It picks its kernels by the CPU's features at run time, so it runs AVX-512 on CPUs newer than
// the OpenBLAS build, where OpenBLAS falls back to AVX2.
#pragma once
#include <cstdint>

namespace ft::onednn {

// False when libtorch links oneDNN statically (its symbols are then hidden) or has none.
bool available();

// Row-major C = alpha·op(A)·op(B) + beta·C, as dnnl_sgemm; throws when oneDNN reports an error.
void sgemm(char transa, char transb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace ft::onednn
