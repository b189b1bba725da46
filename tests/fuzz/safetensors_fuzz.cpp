// Safetensors headers: model::parse_safetensors_header on a whole file (as SafetensorsFile passes its
// mapping). Either ModelError, or tensors that lie inside the data section, match their shapes and
// do not overlap.
#include <algorithm>
#include <span>

#include "curate/model/safetensors.h"
#include "curate/util/error.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace curate::model;
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  std::vector<TensorInfo> tensors;
  try {
    tensors = parse_safetensors_header(bytes, size, "fuzz.safetensors");
  } catch (const curate::ModelError&) {
    return 0;
  }
  uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = (header << 8) | data[i];
  std::sort(tensors.begin(), tensors.end(),
            [](const TensorInfo& a, const TensorInfo& b) { return a.offset < b.offset; });
  uint64_t end_of_previous = 8 + header;
  for (const TensorInfo& t : tensors) {
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
      CURATE_FUZZ_CHECK(d >= 0);
      numel *= static_cast<uint64_t>(d);
    }
    CURATE_FUZZ_CHECK(t.nbytes == numel * dtype_size(t.dtype));
    CURATE_FUZZ_CHECK(t.offset >= 8 + header);
    CURATE_FUZZ_CHECK(t.offset <= size && t.nbytes <= size - t.offset);
    CURATE_FUZZ_CHECK(t.nbytes == 0 || t.offset >= end_of_previous);
    end_of_previous = std::max(end_of_previous, t.offset + t.nbytes);
  }
  return 0;
}
