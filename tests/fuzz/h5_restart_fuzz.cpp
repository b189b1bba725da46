// The HDF5 result file as a restart meets it: bytes written to a file, then what rank 0 does on
// start (src/results/run_file.cpp, compiled in: check_resume, RunFile opened read-write, the done
// flags of a pass read back) and what `curate_tool inspect` reads (src/results/inspect.cpp). A
// damaged file must give StoreError (exit 5, "--fresh moves it aside"), never a crash or a done-flag
// vector of the wrong size. To reach the deeper code the harness resumes with the fingerprint and
// record count the file itself claims, as a rerun of the same configuration would.
//   input: an HDF5 file (seeds: corpus/h5_restart, written by h5_seed)
#include <sstream>

#include "curate/results/inspect.h"
#include "curate/store/hdf5.h"
#include "curate/util/error.h"
#include "fuzz_support.h"
#include "results/layout.h"
#include "results/run_file.h"
#include "seed_plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace curate;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto path = fuzz::write_scratch("run.h5", bytes);

  std::ostringstream ignored;
  try {
    service::inspect(path, ignored);
  } catch (const StoreError&) {
  }

  std::string stored;
  uint64_t records = 0;
  try {
    const store::H5File file = store::H5File::open(path, false);
    stored = file.string_attribute(service::layout::kRoot, "fingerprint");
    const std::vector<uint64_t> dims = file.dims(service::layout::kStatus);
    if (dims.size() != 1 || dims[0] > 4096) return 0;  // the plans below hold one row per record
    records = dims[0];
  } catch (const StoreError&) {
    return 0;
  }
  const service::ResumeCheck check = service::check_resume(path, stored, records);
  if (check.kind != service::ResumeCheck::kResumable) {
    CURATE_FUZZ_CHECK(!check.detail.empty());
    return 0;
  }
  try {
    service::RunFile file(path, stored, records);
    for (const service::PassPlan& plan : fuzz::seed_plans(records)) {
      const std::vector<uint8_t> done = file.open_pass(plan);
      CURATE_FUZZ_CHECK(done.size() == plan.slots.size() * static_cast<std::size_t>(plan.units()));
    }
  } catch (const StoreError&) {
  }
  return 0;
}
