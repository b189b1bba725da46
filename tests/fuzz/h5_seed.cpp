// Writes the seeds of the h5_restart and journal fuzzers: h5_seed OUT.h5 — a result file of 6 records
// with the difficulty pass complete and the profile pass half done, through the same RunFile calls as
// rank 0, and OUT.h5.journal with the same units framed as the coordinator journals them.
#include <cstdio>

#include "curate/store/journal.h"
#include "results/journal_records.h"
#include "results/layout.h"
#include "results/run_file.h"
#include "seed_plan.h"

int main(int argc, char** argv) {
  using namespace curate;
  if (argc != 2) {
    std::fprintf(stderr, "usage: h5_seed OUT.h5\n");
    return 2;
  }
  const uint64_t records = 6;
  const std::string fingerprint = "fuzz seed fingerprint";
  service::RunFile file(argv[1], fingerprint, records);
  store::Journal journal(std::string(argv[1]) + ".journal");
  journal.append(service::header_record(/*base=*/false, fingerprint));
  const auto plans = fuzz::seed_plans(records);
  for (const auto& plan : plans) {
    file.open_pass(plan);
    for (int64_t unit = 0; unit < plan.units(); ++unit) {
      for (std::size_t slot = 0; slot < plan.slots.size(); ++slot) {
        if (plan.pass == service::Pass::kProfile && unit % 2 == 1) continue;  // half done: a resume has work left
        service::UnitResult result;
        result.pass = plan.pass, result.slot = static_cast<int32_t>(slot), result.index = unit;
        result.measure = 0.5 * static_cast<double>(slot + 1);
        for (int64_t row = plan.bounds[unit]; row < plan.bounds[unit + 1]; ++row) {
          service::ExampleResult e;
          e.line = row + 1, e.source = row % 2 ? "a" : "b", e.domain = "d";
          e.prompt_tokens = 3, e.reasoning_tokens = 5, e.full_length = 9;
          e.status = row == 4 ? service::skip_status(data::SkipReason::kMalformedJson) : service::kStatusOk;
          if (service::example_ok(e.status)) e.losses = {1.5f, 2.0f, 0.25f, static_cast<float>(row)};
          result.examples.push_back(e);
        }
        if (plan.pass == service::Pass::kGradients) {  // as ResultSink's writer journals it
          journal.append(service::unit_record(result));
          file.store(plan, result);
        } else {
          const service::StoredUnit stored = service::prepare(plan, result);
          journal.append(service::stored_record(stored));
          file.store(plan, stored);
        }
        if (unit % 2 == 0) {  // a record of a kind readers skip
          const std::byte mark{'X'};
          journal.append(std::span<const std::byte>(&mark, 1));
        }
      }
    }
  }
  file.file().create_u8(service::layout::kFilterKept, {records});
  file.file().set_attribute(service::layout::kFilter, "method", "kmeans");
  file.flush();
  return 0;
}
