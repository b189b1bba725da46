// curate_conformance --suite DIR: the conformance check of `curate_tool conformance` in a binary
// that builds without torch (CPU-only nodes). Exit codes as curate_tool's (docs/USAGE.md).
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "curate/select/conformance.h"
#include "curate/util/error.h"

int main(int argc, char** argv) {
  std::string suite;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf(
          "usage: curate_conformance --suite DIR\n"
          "Runs curate_dist's allocation, cluster-count rule and within-source selection on the reference\n"
          "cases in DIR (allocation.jsonl, select_given_clusters.jsonl, k_rule.json; any subset).\n");
      return 0;
    }
    if (arg == "--suite" && i + 1 < argc) {
      suite = argv[++i];
    } else if (arg.starts_with("--suite=")) {
      suite = arg.substr(8);
    } else {
      std::fprintf(stderr, "curate_conformance: unexpected argument '%s'; usage: curate_conformance --suite DIR\n",
                   arg.c_str());
      return curate::kExitConfig;
    }
  }
  if (suite.empty()) {
    std::fprintf(stderr, "curate_conformance: --suite DIR is required\n");
    return curate::kExitConfig;
  }
  try {
    return curate::select::run_conformance(suite, std::cout) == 0 ? 0 : curate::kExitInternal;
  } catch (const curate::Error& e) {
    std::fprintf(stderr, "curate_conformance: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "curate_conformance: %s\n", e.what());
    return curate::kExitInternal;
  }
}
