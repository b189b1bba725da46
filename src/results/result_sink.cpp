#include "results/result_sink.h"

#include <chrono>
#include <optional>
#include <stdexcept>

#include "curate/util/clock.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"
#include "results/journal_records.h"
#include "results/output_plan.h"

namespace curate::service {

ResultSink::ResultSink(std::unique_ptr<store::Journal> journal, std::unique_ptr<RunFile> file,
                       double write_delay_seconds)
    : journal_(std::move(journal)),
      file_(std::move(file)),
      write_delay_seconds_(write_delay_seconds),
      writer_([this] { write_loop(); }) {}

ResultSink::~ResultSink() {
  try {
    drain();
  } catch (const std::exception& e) {  // already reported where it was thrown, unless this unwinds
    log::debug(cat("result writer: ", e.what()));
  }
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  writer_.join();
}

void ResultSink::write_loop() {
  int64_t units = 0;
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stopping_ || (!queue_.empty() && !error_); });
    if (stopping_ && (queue_.empty() || error_)) {
      log::debug(cat("result writer: ", units, " unit(s) stored, ", thread_cpu_seconds(), " s CPU"));
      return;
    }
    Queued unit = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    std::exception_ptr failed;
    try {
      if (write_delay_seconds_ > 0) std::this_thread::sleep_for(std::chrono::duration<double>(write_delay_seconds_));
      if (unit.plan->pass == Pass::kGradients) {
        journal_->append(unit_record(unit.result));
        file_->store(*unit.plan, unit.result);
      } else {  // rounded once, for both: the journal holds the bytes the file gets
        const StoredUnit stored = prepare(*unit.plan, unit.result);
        journal_->append(stored_record(stored));
        file_->store(*unit.plan, stored);
      }
    } catch (...) {
      failed = std::current_exception();
    }
    lock.lock();
    ++units;
    busy_ = false;
    queued_bytes_ -= unit.bytes;
    if (failed && !error_) error_ = failed;
    changed_.notify_all();
  }
}

void ResultSink::keep(const PassPlan& plan, UnitResult result) {
  if (!plan_ || plan_->pass != plan.pass || plan_->units() != plan.units()) {
    throw std::logic_error(cat("ResultSink::keep: ", pass_name(plan.pass), " is not the pass open_pass() opened"));
  }
  std::size_t bytes = sizeof(UnitResult);
  for (const ExampleResult& e : result.examples) bytes += sizeof(ExampleResult) + e.losses.size() * sizeof(float);
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return error_ || queue_.empty() || queued_bytes_ + bytes <= kQueueBytes; });
  if (error_) std::rethrow_exception(error_);
  queued_bytes_ += bytes;
  queue_.push_back({plan_, std::move(result), bytes});
  changed_.notify_all();
}

void ResultSink::drain() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return error_ || (queue_.empty() && !busy_); });
  if (error_) std::rethrow_exception(error_);
}

std::vector<uint8_t> ResultSink::open_pass(const PassPlan& plan) {
  drain();
  plan_ = std::make_shared<const PassPlan>(plan);
  return file_->open_pass(plan);
}

void ResultSink::flush() {
  drain();
  file_->flush();
}

const store::H5File& ResultSink::file() {
  drain();
  return file_->file();
}

int64_t ResultSink::replay(const PassPlan& plan, std::vector<uint8_t>& done) {
  drain();
  int64_t replayed = 0;
  const int64_t units = plan.units();
  store::Journal::read(journal_->path(), [&](std::span<const std::byte> record) {
    const std::optional<JournalRecord> kind = record_kind(record);
    if (kind != JournalRecord::kUnit && kind != JournalRecord::kStored) return;
    // kUnit: the gradient stage's units, and every unit of a journal an older curate_dist wrote.
    std::optional<UnitResult> result;
    std::optional<StoredUnit> stored;
    if (kind == JournalRecord::kUnit) {
      result = unit_of(record);
    } else {
      stored = stored_of(record);
    }
    const Pass pass = result ? result->pass : stored->pass;
    const int32_t slot = result ? result->slot : stored->slot;
    const int64_t index = result ? result->index : stored->index;
    if (pass != plan.pass || slot < 0 || slot >= static_cast<int32_t>(plan.slots.size()) || index < 0 ||
        index >= units || (plan.pass == Pass::kGradients && result->settings != plan.settings)) {
      return;  // another pass's, or of other gradient settings
    }
    uint8_t& flag =
        done[static_cast<std::size_t>(slot) * static_cast<std::size_t>(units) + static_cast<std::size_t>(index)];
    if (flag) return;
    if (result) {
      file_->store(plan, *result);
    } else {
      file_->store(plan, *stored);
    }
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
  drain();
  journal_->sync();
  file_->flush();
}

void ResultSink::seal() {
  checkpoint();
  journal_->append(clean_record());
  journal_->sync();
}

void ResultSink::write_filter(const std::vector<uint8_t>& kept, const std::string& method) {
  drain();
  store::H5File& f = file_->file();
  if (layout::read_filter(f) == kept) return;
  layout::write_filter(f, kept, method);
  f.flush();
}

void ResultSink::write_calibration(const layout::CalibrationTable& table) {
  drain();
  layout::write_calibration(file_->file(), table);
  file_->flush();
}

void ResultSink::write_noise_search(const layout::NoiseSearchTable& search) {
  drain();
  layout::write_noise_search(file_->file(), search);
  file_->flush();
}

void ResultSink::drop_gradients() {
  drain();
  file_->file().remove(layout::kGradients);
  file_->flush();
}

void ResultSink::add_pass_cost(Pass pass, const layout::PassCost& cost) {
  drain();
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
  layout::write_settings(file->file(), settings_ini(options));  // what explain RUN.h5 ID reads
  return std::make_unique<ResultSink>(std::move(journal), std::move(file), options.test.writer_delay_seconds);
}

}  // namespace curate::service
