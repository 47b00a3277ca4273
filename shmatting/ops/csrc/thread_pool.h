// The dnnl library's thread pool, and the thread count both kernel libraries use. The pool is a
// fixed set of workers, the caller of parallel_for working too; tasks are handed out by an atomic
// counter, so uneven tasks balance themselves.
//
// An idle thread (a worker waiting for the next parallel_for, the caller waiting for the workers
// to finish) first polls for a while, yielding its core to any other runnable thread, and only
// then sleeps on a condition variable. parallel_for calls come tens of microseconds apart, within
// a kernel (reorder, convolution, reorder) and from one kernel to the next, and a sleeping worker
// takes a futex wake-up to join each: at batch 1 the polling took 4-10% off GRAPH inference on AMD
// Zen 4; polling within a kernel's call only, about half of that (docs/performance.md). It is off
// where it would take cores from threads that need them: when the pool has more threads than the
// CPUs the process may run on, and beside other ranks of a launcher (two processes polling on two
// cores: 7-12% slower). SHMATTING_KERNEL_SPIN_US sets it either way; 0 turns it off.
#pragma once

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace shm_pool {

// How long an idle thread polls by default, and at most (SHMATTING_KERNEL_SPIN_US).
constexpr int64_t kDefaultSpinNs = 100000;
constexpr double kMaxSpinUs = 1e6;

// The CPUs this process may run on.
inline int allowed_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

// SHMATTING_KERNEL_THREADS, else one thread per allowed CPU.
inline int num_threads() {
  const char* env = std::getenv("SHMATTING_KERNEL_THREADS");
  if (env != nullptr && std::atoi(env) > 0) return std::atoi(env);
  return allowed_cpus();
}

inline int64_t env_int(const char* name) {
  const char* env = std::getenv(name);
  return env == nullptr ? 0 : std::atoll(env);
}

// Nanoseconds an idle thread of a pool of ``threads`` polls before sleeping (see the top).
// SHMATTING_KERNEL_SPIN_US is validated where the library is loaded (shmatting/ops/build.py).
inline int64_t spin_ns_for(int threads) {
  if (const char* env = std::getenv("SHMATTING_KERNEL_SPIN_US")) {
    const double us = std::atof(env);  // clamped: a cast of a huge double is undefined
    return us > 0 ? static_cast<int64_t>(std::min(us, kMaxSpinUs) * 1000) : 0;
  }
  if (threads <= 1 || threads > allowed_cpus()) return 0;
  // msrun's workers and the rank-table launch's processes each run a pool over the same CPUs
  if (env_int("MS_WORKER_NUM") > 1 || env_int("RANK_SIZE") > 1) return 0;
  return kDefaultSpinNs;
}

// Whether this thread runs inside a parallel_for (nested calls run inline).
inline bool& in_parallel() {
  thread_local bool flag = false;
  return flag;
}

class Pool {
 public:
  explicit Pool(int n) : size_(n), spin_ns_(spin_ns_for(n)) {
    for (int i = 1; i < n; ++i) workers_.emplace_back([this] { work(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }
  int size() const { return size_; }
  int64_t spin_ns() const { return spin_ns_; }

  // fn(i, n) for i in [0, n), over the pool; returns when all are done.
  void parallel_for(int n, const std::function<void(int, int)>& fn) {
    if (n <= 1 || size_ == 1 || in_parallel()) {
      for (int i = 0; i < n; ++i) fn(i, n);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fn_ = &fn;
      total_ = n;
      next_.store(0);
      pending_.store(size_ - 1);
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    in_parallel() = true;
    run();
    in_parallel() = false;
    poll([this] { return pending_.load(std::memory_order_acquire) == 0; });
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_.load() == 0; });
  }

 private:
  template <class Ready>
  void poll(Ready ready) const {
    if (spin_ns_ <= 0) return;
    const auto end = std::chrono::steady_clock::now() + std::chrono::nanoseconds(spin_ns_);
    while (!ready() && std::chrono::steady_clock::now() < end) sched_yield();
  }
  void run() {
    for (int i = next_.fetch_add(1); i < total_; i = next_.fetch_add(1)) (*fn_)(i, total_);
  }
  void work() {
    in_parallel() = true;
    int64_t seen = 0;
    for (;;) {
      poll([&] { return generation_.load(std::memory_order_acquire) != seen; });
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_.load() != seen; });
        seen = generation_.load();
        if (stop_) return;
      }
      run();
      std::lock_guard<std::mutex> lock(mutex_);  // the caller may be about to sleep on done_
      if (pending_.fetch_sub(1) == 1) done_.notify_one();
    }
  }
  const int size_;
  const int64_t spin_ns_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int, int)>* fn_ = nullptr;
  std::atomic<int> next_{0};
  int total_ = 0;
  std::atomic<int> pending_{0};
  std::atomic<int64_t> generation_{0};
  bool stop_ = false;
};

}  // namespace shm_pool
