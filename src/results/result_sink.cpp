#include "results/result_sink.h"

#include "curate/util/log.h"
#include "curate/util/strings.h"
#include "results/journal_records.h"
#include "results/output_plan.h"

namespace curate::service {

ResultSink::ResultSink(std::unique_ptr<store::Journal> journal, std::unique_ptr<RunFile> file)
    : journal_(std::move(journal)), file_(std::move(file)) {}

void ResultSink::keep(const PassPlan& plan, const UnitResult& result) {
  journal_->append(unit_record(result));
  file_->store(plan, result);
}

int64_t ResultSink::replay(const PassPlan& plan, std::vector<uint8_t>& done) {
  int64_t replayed = 0;
  const int64_t units = plan.units();
  store::Journal::read(journal_->path(), [&](std::span<const std::byte> record) {
    if (record_kind(record) != JournalRecord::kUnit) return;
    const UnitResult result = unit_of(record);
    if (result.pass != plan.pass || result.slot < 0 || result.slot >= static_cast<int32_t>(plan.slots.size()) ||
        result.index < 0 || result.index >= units ||
        (plan.pass == Pass::kGradients && result.settings != plan.settings)) {  // of other gradient settings
      return;
    }
    uint8_t& flag = done[static_cast<std::size_t>(result.slot) * static_cast<std::size_t>(units) +
                         static_cast<std::size_t>(result.index)];
    if (flag) return;
    file_->store(plan, result);
    flag = 1;
    ++replayed;
  });
  if (replayed) {
    checkpoint();
    log::info(cat(pass_name(plan.pass), ": ", replayed, " unit(s) restored from the journal"));
  }
  return replayed;
}

void ResultSink::checkpoint() {
  journal_->sync();
  file_->flush();
}

void ResultSink::seal() {
  checkpoint();
  journal_->append(clean_record());
  journal_->sync();
}

void ResultSink::write_filter(const std::vector<uint8_t>& kept, const std::string& method) {
  store::H5File& f = file_->file();
  if (layout::read_filter(f) == kept) return;
  layout::write_filter(f, kept, method);
  f.flush();
}

void ResultSink::write_calibration(const layout::CalibrationTable& table) {
  layout::write_calibration(file_->file(), table);
  file_->flush();
}

void ResultSink::drop_gradients() {
  file_->file().remove(layout::kGradients);
  file_->flush();
}

void ResultSink::add_pass_cost(Pass pass, const layout::PassCost& cost) {
  layout::add_pass_cost(file_->file(), pass, cost);
  file_->flush();
}

std::unique_ptr<ResultSink> open_result_sink(const Options& options, const std::string& print, uint64_t records,
                                             const std::string& files) {
  const OutputPlan plan = prepare_output(options, print, records, files);
  const std::filesystem::path journal_file = apply_output_plan(options, plan);
  auto journal = std::make_unique<store::Journal>(journal_file);
  if (plan.new_journal) {  // synced before the result file is created or changed: a kill never leaves
    journal->append(header_record(plan.snapshot, print));  // a result file that no journal describes
    journal->sync();
  }
  auto file = std::make_unique<RunFile>(options.run.output, print, records, files);
  return std::make_unique<ResultSink>(std::move(journal), std::move(file));
}

}  // namespace curate::service
