// Giving the pages of weights that point into the mapped model file back to the kernel while
// they stay usable: the peak resident set of a full-size compile (docs/codegen.md "Compile
// time and memory"). Header-only: the importer's raising and the quantisation passes use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <sys/mman.h>
#include <unistd.h>

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

namespace mamba2::support {

/// Whether `value` is a dense_resource blob that does not own its memory: it points into the
/// mapped model file (or a loaded proto's bytes), never into a heap blob a pass made.
inline bool isUnownedBlob(mlir::ElementsAttr value) {
  auto r = llvm::dyn_cast_or_null<mlir::DenseResourceElementsAttr>(value);
  mlir::AsmResourceBlob *blob = r ? r.getRawHandle().getBlob() : nullptr;
  return blob && !blob->getDeleter() && !blob->getData().empty();
}

/// Asks the kernel to take the pages wholly inside [data, data + size) out of the resident set
/// now (MADV_PAGEOUT): a mapped file's clean pages go and are read from the file again if
/// touched. The bytes never change, so whatever points at them stays valid; memory that cannot
/// be paged out (the heap, with no swap) merely stays. Only for bytes not read for a while.
/// False when the kernel refused the hint (before Linux 5.4, no MADV_PAGEOUT): nothing changed.
inline bool dropPages(const void *data, size_t size) {
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + size) & ~(page - 1);
  return end <= begin || madvise(reinterpret_cast<void *>(begin), end - begin, MADV_PAGEOUT) == 0;
}

/// dropPages on the whole data of `value` when isUnownedBlob(value); nothing otherwise.
/// Its result is dropPages's (true when there was nothing to drop).
inline bool dropUnownedPages(mlir::ElementsAttr value) {
  if (!isUnownedBlob(value))
    return true;
  llvm::ArrayRef<char> data =
      llvm::cast<mlir::DenseResourceElementsAttr>(value).getRawHandle().getBlob()->getData();
  return dropPages(data.data(), data.size());
}

} // namespace mamba2::support
