// `curate_tool inspect FILE.h5`: what a curate_dist result file holds (passes, progress, calibration,
// distances), readable while a run is going (HDF5_USE_FILE_LOCKING=FALSE) and after it.
#pragma once

#include <filesystem>
#include <ostream>

namespace curate::service {

// Writes a human-readable summary of `path` to `out`. Throws StoreError for files that are not
// curate_dist results.
void inspect(const std::filesystem::path& path, std::ostream& out);

}  // namespace curate::service
