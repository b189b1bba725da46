#include "job/scheduler.h"

#include <algorithm>

#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::service {

void MpiWorkerLink::send_stop(int rank, bool then_select) {
  const std::byte flag{static_cast<unsigned char>(then_select ? 1 : 0)};
  comm_.send(rank, kStop, std::span<const std::byte>(&flag, 1));
}

Scheduler::Scheduler(WorkerLink& link, double worker_timeout, std::function<double()> now)
    : link_(link), worker_timeout_(worker_timeout), now_(std::move(now)) {}

std::optional<Unit> Scheduler::take() {
  if (pending_.empty()) return std::nullopt;
  Unit unit = std::move(pending_.front());
  pending_.pop_front();
  return unit;
}

void Scheduler::assign() {
  for (auto it = ready_.begin(); it != ready_.end() && !pending_.empty();) {
    const int rank = *it;
    // Prefer a unit at the checkpoint this worker holds: rebuilding a checkpoint costs a model load.
    const auto held = held_.find(rank);
    auto match = std::find_if(pending_.begin(), pending_.end(),
                              [&](const Unit& u) { return held != held_.end() && u.checkpoint == held->second; });
    if (match == pending_.end()) match = pending_.begin();
    comm::Writer writer;
    encode(writer, *match);
    link_.send_unit(rank, std::move(writer.bytes()));  // the worker takes it when its current unit is done
    held_[rank] = match->checkpoint;
    busy_[rank].push_back({std::move(*match), now_()});
    pending_.erase(match);
    it = ready_.erase(it);
  }
}

void Scheduler::step(double wait_seconds, const std::function<void(const UnitResult&)>& store) {
  assign();
  const std::optional<comm::Message> message = link_.receive(wait_seconds);
  if (!message) return;
  comm::Reader reader(message->data);
  const int rank = message->source;
  if (message->tag == kFailure) fail(rank, reader);
  if (message->tag == kResult) {
    handle_result(rank, decode_result(reader), store);
  } else if (message->tag == kRequest) {
    ready_.insert(ready_.end(), kUnitsPerWorker, rank);
  } else {
    throw DistError(cat("unexpected message tag ", message->tag, " from rank ", rank));
  }
}

void Scheduler::handle_result(int rank, const UnitResult& result, const std::function<void(const UnitResult&)>& store) {
  std::deque<Busy>& queue = busy_[rank];
  if (queue.empty() || queue.front().unit.index != result.index || queue.front().unit.pass != result.pass ||
      queue.front().unit.slot != result.slot) {
    throw DistError(cat("rank ", rank, " returned unit ", result.index, " that it was not given"));
  }
  RankRate& rate = rates_[rank];
  for (const auto& e : result.examples) rate.tokens += static_cast<int64_t>(e.losses.size());
  rate.seconds += now_() - queue.front().since;
  store(result);
  queue.pop_front();
  if (!queue.empty()) queue.front().since = now_();
  ready_.push_back(rank);
}

void Scheduler::check_timeouts() const {
  for (const auto& [rank, queue] : busy_) {
    if (!queue.empty() && now_() - queue.front().since > worker_timeout_) {
      const Unit& unit = queue.front().unit;
      throw DistError(cat("rank ", rank, " has not answered for ", worker_timeout_, " s on ",
                          model::describe(unit.checkpoint), " unit ", unit.index,
                          " (hung or dead); raise run.worker_timeout if units are that slow"));
    }
  }
}

bool Scheduler::workers_busy() const {
  return std::any_of(busy_.begin(), busy_.end(), [](const auto& entry) { return !entry.second.empty(); });
}

std::size_t Scheduler::in_flight() const {
  std::size_t n = 0;
  for (const auto& entry : busy_) n += entry.second.size();
  return n;
}

std::string Scheduler::slowest_rank() const {
  if (rates_.size() < 2) return "";
  const auto speed = [](const RankRate& r) { return static_cast<double>(r.tokens) / std::max(r.seconds, 1e-9); };
  const auto slowest = std::min_element(
      rates_.begin(), rates_.end(), [&](const auto& a, const auto& b) { return speed(a.second) < speed(b.second); });
  return cat("; slowest rank ", slowest->first, " at ", static_cast<int64_t>(speed(slowest->second)), " tokens/s");
}

void Scheduler::fail(int rank, comm::Reader& reader) {
  stopped_.insert(rank);  // it exits after sending its failure: nothing to stop or wait for
  busy_[rank].clear();
  rethrow(decode_failure(reader));
}

void Scheduler::stop(int rank, bool then_select) {
  link_.send_stop(rank, then_select);
  stopped_.insert(rank);
}

void Scheduler::finish(bool then_select) {
  for (int rank : ready_) {
    if (!stopped_.count(rank) && busy_[rank].empty()) stop(rank, then_select);
  }
  ready_.clear();
  const double start = now_();
  while (static_cast<int>(stopped_.size()) < link_.workers()) {
    const std::optional<comm::Message> message = link_.receive(0.25);
    if (!message) {
      if (now_() - start > worker_timeout_) {
        throw DistError(cat(link_.workers() - static_cast<int>(stopped_.size()),
                            " worker(s) never asked for work within ", worker_timeout_,
                            " s; raise run.worker_timeout if loading is that slow"));
      }
      continue;
    }
    comm::Reader reader(message->data);
    if (message->tag == kFailure) fail(message->source, reader);
    if (message->tag != kRequest)
      throw DistError(cat("unexpected message tag ", message->tag, " from rank ", message->source));
    stop(message->source, then_select);
  }
}

}  // namespace curate::service
