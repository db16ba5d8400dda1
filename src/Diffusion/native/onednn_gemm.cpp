#include "onednn_gemm.h"
#include <dlfcn.h>
#include <stdexcept>
#include <string>

namespace {

using Sgemm = int (*)(char, char, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t, float, float*, int64_t);

Sgemm find_sgemm() {
  static const Sgemm found = [] () -> Sgemm {
    void* library = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_NOLOAD);
    if (!library) return nullptr;
    return reinterpret_cast<Sgemm>(dlsym(library, "dnnl_sgemm"));
  }();
  return found;
}

}  // namespace

namespace ft::onednn {

bool available() { return find_sgemm() != nullptr; }

void sgemm(char transa, char transb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  Sgemm run = find_sgemm();
  if (!run) throw std::logic_error("oneDNN's sgemm is not loaded");
  int status = run(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  if (status != 0) throw std::runtime_error("oneDNN sgemm failed with status " + std::to_string(status));
}

}  // namespace ft::onednn
