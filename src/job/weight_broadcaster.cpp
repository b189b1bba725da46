#include "job/weight_broadcaster.h"

#include <numeric>
#include <string>
#include <vector>

#include "curate/comm/mpi.h"
#include "curate/model/config.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"
#ifdef CURATE_WITH_NCCL
#include "curate/comm/nccl.h"
#endif

namespace curate::service {
namespace {

#ifdef CURATE_WITH_NCCL
constexpr bool kNcclBuilt = true;

class NcclWeightBroadcaster final : public model::WeightBroadcaster {
 public:
  NcclWeightBroadcaster(const comm::Comm& node, int device, double timeout_seconds)
      : nccl_(node, device, timeout_seconds) {}
  bool is_root() const override { return nccl_.rank() == 0; }
  void broadcast(void* data, std::size_t bytes) override { nccl_.broadcast(data, bytes, /*root=*/0); }

 private:
  comm::NcclComm nccl_;
};
#else
constexpr bool kNcclBuilt = false;
#endif

bool is_cuda(const std::string& device) { return device == "cuda" || device.starts_with("cuda:"); }

// "cuda:N" -> N; "cuda" -> 0, the first device this process sees (launch/bind_gpu.sh gives each rank one).
int cuda_ordinal(const std::string& device) {
  if (!device.starts_with("cuda:")) return 0;
  try {
    return std::stoi(device.substr(5));
  } catch (const std::exception&) {
    throw ConfigError("score.device = '" + device + "': expected cuda:N with a device number N");
  }
}

}  // namespace

std::unique_ptr<model::WeightBroadcaster> make_weight_broadcaster(const Options& options) {
  const model::WeightBroadcastMode mode = model::parse_weight_broadcast(options.engine.weight_broadcast);
  const bool cuda = is_cuda(options.engine.device);
  // Decided without talking to anyone when no node could broadcast (every rank decides alike).
  if (!model::use_weight_broadcast(mode, cuda, kNcclBuilt, /*ranks_on_node=*/2)) return nullptr;

  const comm::Comm world = comm::Comm::world();
  comm::Comm node = world;
  if (world.size() > 1) {
    std::vector<int> scoring(static_cast<std::size_t>(world.size() - 1));
    std::iota(scoring.begin(), scoring.end(), 1);
    node = world.subgroup(scoring).split_shared();
  }
  if (!model::use_weight_broadcast(mode, cuda, kNcclBuilt, node.size())) {
    log::info(cat("rank ", world.rank(), ": only scoring rank on its node; reading the weights from disk"));
    return nullptr;
  }
#ifdef CURATE_WITH_NCCL
  if (mode == model::WeightBroadcastMode::kAuto) {
    // Node rank 0 decides whether the resident copies fit and tells the others (never waits on them).
    std::string refusal;
    if (node.rank() == 0) {
      try {
        const int64_t parameters = model::load_model_config(options.engine.model).num_parameters();
        const std::size_t memory = comm::NcclComm::device_memory(cuda_ordinal(options.engine.device));
        if (!model::resident_weights_fit(parameters, options.engine.dtype, !options.engine.target.empty(), memory)) {
          refusal = cat(parameters / 1e9, "B parameters held ", options.engine.target.empty() ? 2 : 3,
                        " times would not leave room to score on a device of ", memory / double(1 << 30), " GiB");
        }
      } catch (const Error& e) {
        refusal = e.what();  // every rank meets it again when it reads the files itself
      }
    }
    refusal = node.broadcast(refusal);
    if (!refusal.empty()) {
      log::info(cat("rank ", world.rank(), ": weights read from disk (score.weight_broadcast = auto): ", refusal));
      return nullptr;
    }
  }
  if (node.rank() == 0) {
    log::info(cat("rank ", world.rank(), " reads the weights and broadcasts them over NCCL to ", node.size() - 1,
                  " other scoring rank(s) of its node"));
  }
  return std::make_unique<NcclWeightBroadcaster>(node, cuda_ordinal(options.engine.device), options.run.worker_timeout);
#else
  return nullptr;  // unreachable: use_weight_broadcast refuses nccl without an NCCL build
#endif
}

}  // namespace curate::service
