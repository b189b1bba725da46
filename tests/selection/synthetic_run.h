// A small complete result file written with the layout module (no model, no scoring): N records in
// S sources over two domains, C profile checkpoints, every record kept by the filter, and the
// dataset it was "scored" from. The selection stage and the report's gathering run on it in
// milliseconds, on one rank, without torch or mpirun.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "curate/comm/mpi.h"
#include "curate/config/options.h"
#include "curate/data/dataset.h"
#include "curate/results/fingerprint.h"
#include "curate/store/hdf5.h"
#include "results/layout.h"
#include "results/output_files.h"
#include "support/test_support.h"

namespace curate::testing {

struct SyntheticRun {
  std::filesystem::path folder;
  int64_t records = 24, sources = 3, checkpoints = 3;
  service::Options options;
  // The reasoning text of record i as JSON string content (escaped); default "reasoning i".
  std::function<std::string(uint64_t)> reasoning_text = [](uint64_t i) { return "reasoning " + std::to_string(i); };

  // Writes FOLDER/data.jsonl and FOLDER/r.h5 and sets `options` (budget 6, method temp).
  void write() {
    namespace layout = service::layout;
    options.engine.model = (folder / "model").string();
    options.run.tokenizer = (folder / "no-tokenizer").string();  // the report shows the reasoning text instead
    options.run.dataset = (folder / "data.jsonl").string();
    options.run.output = (folder / "r.h5").string();
    options.run.selected = (folder / "r.selected.jsonl").string();
    options.select.budget = 6;
    options.select.seed = 7;
    const auto n = static_cast<uint64_t>(records), c = static_cast<uint64_t>(checkpoints);
    std::vector<int64_t> line(n), prompt(n), reasoning(n), full(n), example(n);
    std::vector<std::string> id(n), source(n), domain(n);
    std::vector<float> difficulty(n), mean(c * n), first(c * n);
    {
      std::ofstream data(options.run.dataset, std::ios::binary);
      for (uint64_t i = 0; i < n; ++i) {
        line[i] = static_cast<int64_t>(i) + 1;
        id[i] = "rec-" + std::to_string(i);
        source[i] = "src" + std::to_string(i % static_cast<uint64_t>(sources));
        domain[i] = i % 2 ? "math" : "code";
        prompt[i] = 5, reasoning[i] = 20 + static_cast<int64_t>(i % 7), full[i] = prompt[i] + reasoning[i] + 3;
        example[i] = static_cast<int64_t>(i);
        difficulty[i] = 1.0f + 0.01f * static_cast<float>((i * 37) % 23);
        for (uint64_t k = 0; k < c; ++k) {
          mean[k * n + i] = difficulty[i] + 0.1f * static_cast<float>(k) * (1.0f + static_cast<float>((i * 13) % 5));
          first[k * n + i] = mean[k * n + i] * 0.9f;
        }
        data << R"({"id": ")" << id[i] << R"(", "source": ")" << source[i] << R"(", "domain": ")" << domain[i]
             << R"(", "messages": [{"role": "user", "content": "question )" << i
             << R"("}, {"role": "assistant", "content": "<|begin_of_thought|>)" << reasoning_text(i)
             << R"(<|end_of_thought|>answer"}]})"
             << "\n";
      }
    }
    const service::RunFiles run = service::RunFiles::of(options.run.output);
    service::InputContent content;
    content.dataset = data::load_or_build_index(options.run.dataset, run.index).content;
    store::H5File f = store::H5File::create(options.run.output);
    layout::create_examples(f, service::fingerprint(options, content), n, "r.selection.h5");
    f.write(layout::kLine, {0}, {n}, std::span<const int64_t>(line));
    f.write(layout::kPromptTokens, {0}, {n}, std::span<const int64_t>(prompt));
    f.write(layout::kReasoningTokens, {0}, {n}, std::span<const int64_t>(reasoning));
    f.write(layout::kFullLength, {0}, {n}, std::span<const int64_t>(full));
    f.write(layout::kId, 0, std::span<const std::string>(id));
    f.write(layout::kSource, 0, std::span<const std::string>(source));
    f.write(layout::kDomain, 0, std::span<const std::string>(domain));
    const auto pass = [&](service::Pass p, uint64_t slots, const std::vector<float>& means, const std::string& names) {
      f.create_u8(layout::path(p, layout::dataset::kDone), {slots, 1});
      f.write(layout::path(p, layout::dataset::kDone), {0, 0}, {slots, 1},
              std::span<const uint8_t>(std::vector<uint8_t>(slots, 1)));
      f.create_f32(layout::path(p, layout::dataset::kMeanLoss), {slots, n}, {1, n});
      f.write(layout::path(p, layout::dataset::kMeanLoss), {0, 0}, {slots, n}, std::span<const float>(means));
      f.create_f32(layout::path(p, layout::dataset::kNoiseStd), {slots}, {slots});
      f.write(layout::path(p, layout::dataset::kNoiseStd), {0}, {slots},
              std::span<const float>(std::vector<float>(slots, 0.01f)));
      f.set_attribute(layout::group(p), layout::attr::kCheckpoints, names);
      f.set_attribute(layout::group(p), layout::attr::kTokens, int64_t{100});
    };
    pass(service::Pass::kDifficulty, 1, difficulty, "gaussian 1");
    std::string names;
    for (uint64_t k = 0; k < c; ++k) names += (k ? ",gaussian " : "gaussian ") + std::to_string(k);
    pass(service::Pass::kProfile, c, mean, names);
    f.create_f32(layout::path(service::Pass::kProfile, layout::dataset::kMeanLossFirst), {c, n}, {1, n});
    f.write(layout::path(service::Pass::kProfile, layout::dataset::kMeanLossFirst), {0, 0}, {c, n},
            std::span<const float>(first));
    f.create_i64(layout::path(service::Pass::kProfile, layout::dataset::kExample), {n});
    f.write(layout::path(service::Pass::kProfile, layout::dataset::kExample), {0}, {n},
            std::span<const int64_t>(example));
    layout::write_filter(f, std::vector<uint8_t>(n, 1), "none");
    f.flush();
  }

  // Adds /gradients as --stage gradients writes it (layout.h): the records `examples` (ascending), row r
  // gradient(examples[r]) of `dim` values; with `complete` false, its last unit is not done.
  void write_gradients(const std::vector<int64_t>& examples, int64_t dim,
                       const std::function<std::vector<float>(int64_t)>& gradient, bool complete = true) const {
    namespace layout = service::layout;
    store::H5File f = store::H5File::open(options.run.output, /*writable=*/true);
    const auto g = static_cast<uint64_t>(examples.size()), d = static_cast<uint64_t>(dim);
    std::vector<float> projected, norm;
    for (int64_t i : examples) {
      const std::vector<float> row = gradient(i);
      projected.insert(projected.end(), row.begin(), row.end());
      norm.push_back(1.0f);
    }
    f.create_i64(layout::kGradientExample, {g});
    f.write(layout::kGradientExample, {0}, {g}, std::span<const int64_t>(examples));
    f.create_f32(layout::kGradientProjected, {g, d}, {1, d});
    f.write(layout::kGradientProjected, {0, 0}, {g, d}, std::span<const float>(projected));
    f.create_f32(layout::kGradientNorm, {g}, {g});
    f.write(layout::kGradientNorm, {0}, {g}, std::span<const float>(norm));
    std::vector<uint8_t> done = {1, 1, static_cast<uint8_t>(complete ? 1 : 0)};
    f.create_u8(layout::kGradientDone, {3});
    f.write(layout::kGradientDone, {0}, {3}, std::span<const uint8_t>(done));
    f.set_attribute(layout::kGradients, "dim", dim);
    f.set_attribute(layout::kGradients, "examples", static_cast<int64_t>(g));
    f.flush();
  }
};

// A test with a SyntheticRun in its own scratch folder (not yet written: a test sets its shape and
// calls run_.write(), or a fixture's SetUp does) and the world communicator (one rank).
class SyntheticRunTest : public ::testing::Test {
 protected:
  void SetUp() override { run_.folder = dir_.path(); }
  ScratchDir dir_;
  SyntheticRun run_;
  const comm::Comm comm_ = comm::Comm::world();
};

}  // namespace curate::testing
