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

void Scheduler::add(Unit unit) {
  auto queue =
      std::find_if(pending_.begin(), pending_.end(), [&](const auto& q) { return q.first == unit.checkpoint; });
  if (queue == pending_.end()) queue = pending_.insert(pending_.end(), {unit.checkpoint, {}});
  queue->second.push_back(std::move(unit));
  ++pending_count_;
}

void Scheduler::drop_pending() {
  pending_.clear();
  pending_count_ = 0;
}

std::optional<Unit> Scheduler::take() {
  for (auto& [checkpoint, queue] : pending_) {
    if (queue.empty()) continue;
    Unit unit = std::move(queue.front());
    queue.pop_front();
    --pending_count_;
    return unit;
  }
  return std::nullopt;
}

std::deque<Unit>& Scheduler::queue_for(int rank) {
  const auto held = held_.find(rank);
  if (held != held_.end()) {
    for (auto& [checkpoint, queue] : pending_) {
      if (checkpoint == held->second && !queue.empty()) return queue;
    }
  }
  // Rebuilding a checkpoint costs a model regeneration: join the checkpoint least served by workers.
  std::deque<Unit>* best = nullptr;
  double best_share = -1;
  for (auto& [checkpoint, queue] : pending_) {
    if (queue.empty()) continue;
    const double share = static_cast<double>(queue.size()) / static_cast<double>(holders(checkpoint) + 1);
    if (share > best_share) best = &queue, best_share = share;
  }
  return *best;
}

int& Scheduler::holders(const model::CheckpointKey& checkpoint) {
  for (auto& [key, count] : holders_) {
    if (key == checkpoint) return count;
  }
  return holders_.emplace_back(checkpoint, 0).second;
}

void Scheduler::hold(int rank, const model::CheckpointKey& checkpoint) {
  const auto held = held_.find(rank);
  if (held != held_.end() && held->second == checkpoint) return;
  if (held != held_.end()) --holders(held->second);
  held_[rank] = checkpoint;
  ++holders(checkpoint);
}

void Scheduler::release(int rank) {
  if (const auto held = held_.find(rank); held != held_.end()) {
    --holders(held->second);
    held_.erase(held);
  }
}

void Scheduler::assign() {
  for (auto it = ready_.begin(); it != ready_.end() && pending_count_ > 0;) {
    const int rank = *it;
    std::deque<Unit>& queue = queue_for(rank);
    comm::Writer writer;
    encode(writer, queue.front());
    link_.send_unit(rank, std::move(writer.bytes()));  // the worker takes it when its current unit is done
    hold(rank, queue.front().checkpoint);
    busy_[rank].push_back({std::move(queue.front()), now_()});
    ++in_flight_;
    queue.pop_front();
    --pending_count_;
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
  --in_flight_;
  if (!queue.empty()) queue.front().since = now_();
  ready_.push_back(rank);
}

void Scheduler::check_timeouts() const {
  if (now_() < next_timeout_check_) return;  // O(workers): at most once a second of the clock
  next_timeout_check_ = now_() + 1;
  for (const auto& [rank, queue] : busy_) {
    if (!queue.empty() && now_() - queue.front().since > worker_timeout_) {
      const Unit& unit = queue.front().unit;
      throw DistError(cat("rank ", rank, " has not answered for ", worker_timeout_, " s on ",
                          model::describe(unit.checkpoint), " unit ", unit.index,
                          " (hung or dead); raise run.worker_timeout if units are that slow"));
    }
  }
}

bool Scheduler::workers_busy() const { return in_flight_ > 0; }

std::size_t Scheduler::in_flight() const { return in_flight_; }

std::string Scheduler::slowest_rank() const {
  if (rates_.size() < 2) return "";
  const auto speed = [](const RankRate& r) { return static_cast<double>(r.tokens) / std::max(r.seconds, 1e-9); };
  const auto slowest = std::min_element(
      rates_.begin(), rates_.end(), [&](const auto& a, const auto& b) { return speed(a.second) < speed(b.second); });
  return cat("; slowest rank ", slowest->first, " at ", static_cast<int64_t>(speed(slowest->second)), " tokens/s");
}

void Scheduler::fail(int rank, comm::Reader& reader) {
  stopped_.insert(rank);  // it exits after sending its failure: nothing to stop or wait for
  release(rank);
  in_flight_ -= busy_[rank].size();
  busy_[rank].clear();
  rethrow(decode_failure(reader));
}

void Scheduler::stop(int rank, bool then_select) {
  link_.send_stop(rank, then_select);
  stopped_.insert(rank);
  release(rank);
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
