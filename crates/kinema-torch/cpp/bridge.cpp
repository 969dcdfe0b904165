// Kinema's C++ bridge to what tch does not expose: libtorch's c10d process groups
// (TCPStore rendezvous, Gloo on CPU, NCCL on CUDA) and autocast state for any device
// type and dtype. Every entry point catches C++ exceptions and returns them as text, so
// errors and timeouts reach Rust as errors instead of aborting the process.

#include <ATen/autocast_mode.h>
#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef KINEMA_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

struct ProcessGroupHandle {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
  std::chrono::milliseconds timeout;
};

void write_error(char* buf, size_t len, const std::string& msg) {
  if (buf == nullptr || len == 0) return;
  size_t n = std::min(len - 1, msg.size());
  std::memcpy(buf, msg.data(), n);
  buf[n] = '\0';
}

// Runs `f`, turning any exception into a message and return code 1.
template <typename F>
int guarded(char* err, size_t err_len, F&& f) {
  try {
    f();
    return 0;
  } catch (const c10::Error& e) {
    write_error(err, err_len, e.what_without_backtrace());
  } catch (const std::exception& e) {
    write_error(err, err_len, e.what());
  } catch (...) {
    write_error(err, err_len, "unknown C++ exception");
  }
  return 1;
}

void wait_for(const c10::intrusive_ptr<c10d::Work>& work, std::chrono::milliseconds timeout) {
  if (!work->wait(timeout)) {
    throw std::runtime_error("collective timed out after " + std::to_string(timeout.count()) + " ms");
  }
}

std::vector<at::Tensor> gather_tensors(at::Tensor** tensors, int n) {
  std::vector<at::Tensor> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) out.push_back(*tensors[i]);
  return out;
}

c10d::ReduceOp to_reduce_op(int op) {
  switch (op) {
    case 0: return c10d::ReduceOp::SUM;
    case 1: return c10d::ReduceOp::AVG;
    case 2: return c10d::ReduceOp::MAX;
    case 3: return c10d::ReduceOp::MIN;
    default: throw std::invalid_argument("unknown reduce op " + std::to_string(op));
  }
}

bool is_loopback(const std::string& addr) {
  return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

// The Gloo transport device: GLOO_SOCKET_IFNAME when set (as PyTorch), loopback when the
// master is on this machine's loopback, else the address this host's name resolves to.
std::shared_ptr<::gloo::transport::Device> gloo_device(bool local, const char* master_addr) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME")) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  }
  if (local || is_loopback(master_addr)) {
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

extern "C" {

// Creates a process group. backend: "gloo" or "nccl". With rank 0 the TCPStore server is
// started on `port`; joining (connecting to the store, every rank meeting the others) may
// take up to `connect_timeout_ms`, each later store operation and collective `timeout_ms`.
// `use_hash_store` (tests only): a process-wide in-memory store shared by threads,
// selected by `port` as a key.
void* kinema_pg_new(const char* backend, const char* master_addr, int port, int rank, int world_size,
                    long long timeout_ms, long long connect_timeout_ms, int use_hash_store, char* err,
                    size_t err_len) {
  ProcessGroupHandle* handle = nullptr;
  int rc = guarded(err, err_len, [&]() {
    auto timeout = std::chrono::milliseconds(timeout_ms);
    auto connect_timeout = std::chrono::milliseconds(connect_timeout_ms);
    c10::intrusive_ptr<c10d::Store> store;
    if (use_hash_store) {
      static std::mutex mutex;
      static std::map<int, c10::intrusive_ptr<c10d::Store>> stores;
      std::lock_guard<std::mutex> lock(mutex);
      auto& s = stores[port];
      if (!s) s = c10::make_intrusive<c10d::HashStore>();
      store = s;
    } else {
      c10d::TCPStoreOptions opts;
      opts.port = static_cast<std::uint16_t>(port);
      opts.isServer = rank == 0;
      opts.numWorkers = static_cast<std::size_t>(world_size);
      opts.waitWorkers = true;
      opts.timeout = connect_timeout;
      store = c10::make_intrusive<c10d::TCPStore>(std::string(master_addr), opts);
    }
    store->setTimeout(connect_timeout);
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>(std::string("kinema/") + backend, store);
    std::string name(backend);
    c10::intrusive_ptr<c10d::Backend> pg;
    if (name == "gloo") {
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      options->devices.push_back(gloo_device(use_hash_store != 0, master_addr));
      pg = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, rank, world_size, options);
    } else if (name == "nccl") {
#ifdef KINEMA_WITH_NCCL
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, rank, world_size, options);
#else
      throw std::runtime_error("this build of Kinema has no NCCL support (build with the full CUDA torch wheel)");
#endif
    } else {
      throw std::invalid_argument("unknown backend \"" + name + "\" (expected gloo or nccl)");
    }
    store->setTimeout(timeout);
    handle = new ProcessGroupHandle{store, pg, timeout};
  });
  return rc == 0 ? handle : nullptr;
}

void kinema_pg_free(void* pg) { delete static_cast<ProcessGroupHandle*>(pg); }

int kinema_pg_allreduce(void* pg, at::Tensor** tensors, int n, int op, char* err, size_t err_len) {
  return guarded(err, err_len, [&]() {
    auto* h = static_cast<ProcessGroupHandle*>(pg);
    auto ts = gather_tensors(tensors, n);
    c10d::AllreduceOptions opts;
    opts.reduceOp = to_reduce_op(op);
    wait_for(h->backend->allreduce(ts, opts), h->timeout);
  });
}

int kinema_pg_broadcast(void* pg, at::Tensor** tensors, int n, int root, char* err, size_t err_len) {
  return guarded(err, err_len, [&]() {
    auto* h = static_cast<ProcessGroupHandle*>(pg);
    auto ts = gather_tensors(tensors, n);
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    wait_for(h->backend->broadcast(ts, opts), h->timeout);
  });
}

// outputs: world_size tensors shaped like input.
int kinema_pg_allgather(void* pg, at::Tensor* input, at::Tensor** outputs, int world_size, char* err,
                        size_t err_len) {
  return guarded(err, err_len, [&]() {
    auto* h = static_cast<ProcessGroupHandle*>(pg);
    std::vector<std::vector<at::Tensor>> out(1);
    out[0] = gather_tensors(outputs, world_size);
    std::vector<at::Tensor> in{*input};
    wait_for(h->backend->allgather(out, in), h->timeout);
  });
}

int kinema_pg_barrier(void* pg, char* err, size_t err_len) {
  return guarded(err, err_len, [&]() {
    auto* h = static_cast<ProcessGroupHandle*>(pg);
    wait_for(h->backend->barrier(), h->timeout);
  });
}

// A separate connection to a process group's store (for a heartbeat thread or for
// diagnosing a failed collective without touching the group's own connection).
void* kinema_store_clone(void* pg, char* err, size_t err_len) {
  c10::intrusive_ptr<c10d::Store>* out = nullptr;
  int rc = guarded(err, err_len, [&]() {
    auto* h = static_cast<ProcessGroupHandle*>(pg);
    out = new c10::intrusive_ptr<c10d::Store>(h->store->clone());
  });
  return rc == 0 ? out : nullptr;
}

void kinema_store_free(void* store) { delete static_cast<c10::intrusive_ptr<c10d::Store>*>(store); }

int kinema_store_set(void* store, const char* key, const uint8_t* value, size_t len, char* err, size_t err_len) {
  return guarded(err, err_len, [&]() {
    auto& s = *static_cast<c10::intrusive_ptr<c10d::Store>*>(store);
    s->set(std::string(key), std::vector<uint8_t>(value, value + len));
  });
}

// Reads `key` if it exists: returns 0 and sets *found (1/0); copies at most `cap` bytes to
// `out` and the full length to *len.
int kinema_store_try_get(void* store, const char* key, uint8_t* out, size_t cap, size_t* len, int* found, char* err,
                         size_t err_len) {
  return guarded(err, err_len, [&]() {
    auto& s = *static_cast<c10::intrusive_ptr<c10d::Store>*>(store);
    std::string k(key);
    *found = s->check({k}) ? 1 : 0;
    *len = 0;
    if (*found) {
      auto v = s->get(k);
      *len = v.size();
      std::memcpy(out, v.data(), std::min(cap, v.size()));
    }
  });
}

// Autocast. device: 0 = CPU, 1 = CUDA. dtype: 0 = float16, 1 = bfloat16.
int kinema_autocast_enter(int device, int dtype, char* err, size_t err_len) {
  return guarded(err, err_len, [&]() {
    at::DeviceType dev = device == 1 ? at::kCUDA : at::kCPU;
    at::ScalarType st = dtype == 1 ? at::kBFloat16 : at::kHalf;
    at::autocast::set_autocast_dtype(dev, st);
    at::autocast::set_autocast_enabled(dev, true);
    at::autocast::increment_nesting();
  });
}

int kinema_autocast_exit(int device, int was_enabled, char* err, size_t err_len) {
  return guarded(err, err_len, [&]() {
    at::DeviceType dev = device == 1 ? at::kCUDA : at::kCPU;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(dev, was_enabled != 0);
  });
}

int kinema_autocast_is_enabled(int device) {
  return at::autocast::is_autocast_enabled(device == 1 ? at::kCUDA : at::kCPU) ? 1 : 0;
}

}  // extern "C"
