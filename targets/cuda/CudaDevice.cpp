#include "CudaDevice.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <list>
#include <map>

#include "Artifact.h"
#include "CudaApi.h"
#include "CubinChoice.h"
#include "CudaContext.h"
#include "Error.h"
#include "GpuDispatchPlan.h"

namespace lathe::runtime {
namespace {

using cu::check;
using cu::Context;
using cu::CUdeviceptr;

constexpr size_t kRecordingsPerEntry = 8;
constexpr size_t kParamAlignment = 16;
constexpr size_t kJitLogBytes = 16 << 10;

std::string kernelWhere(uint32_t index, const fb::GpuKernel& kernel) {
  return "gpu program 'cuda' kernel " + std::to_string(index) + " '" + kernel.name()->str() + "'";
}

// Device memory from the context's pool, returned to it on destruction.
class DeviceMemory {
public:
  DeviceMemory(std::shared_ptr<Context> context, size_t bytes)
      : context_(std::move(context)), allocation_(context_->memory().allocate(bytes)) {}
  ~DeviceMemory() { context_->memory().release(allocation_); }
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;
  CUdeviceptr address() const { return allocation_.address; }

private:
  std::shared_ptr<Context> context_;
  cu::Allocation allocation_;
};

class CudaBuffer final : public Buffer {
public:
  CudaBuffer(std::shared_ptr<Context> context, size_t bytes)
      : Buffer(bytes), memory_(std::move(context), bytes), id_(++next_id_) {}
  CUdeviceptr address() const { return memory_.address(); }
  /// Unique per buffer ever made, unlike addresses, which the pool reuses.
  uint64_t id() const { return id_; }

private:
  static inline std::atomic<uint64_t> next_id_{0};
  DeviceMemory memory_;
  uint64_t id_;
};

const CudaBuffer& cudaBuffer(const Buffer& buffer) { return static_cast<const CudaBuffer&>(buffer); }

// The kernels of one GpuProgram, loaded on first use and shared by the entry
// points that use them.
class ProgramModules {
public:
  struct Kernel {
    cu::CUmodule module = nullptr;
    cu::CUfunction function = nullptr;
    std::array<unsigned, 3> block{};
    unsigned dynamic_shared = 0;  // shared_bytes beyond what the code declares statically
  };

  ProgramModules(std::shared_ptr<Context> context, const fb::GpuProgram& program)
      : context_(std::move(context)), program_(program), kernels_(program.kernels()->size()) {}
  ~ProgramModules() {
    const auto current = context_->makeCurrent();
    for (const Kernel& kernel : kernels_) {
      if (kernel.module != nullptr) context_->api().cuModuleUnload(kernel.module);
    }
  }

  const Kernel& kernel(uint32_t index) {
    Kernel& kernel = kernels_[index];
    if (kernel.function == nullptr) load(index, kernel);
    return kernel;
  }

private:
  // Fills `kernel` only when every step succeeds, so a failed load leaves nothing behind.
  void load(uint32_t index, Kernel& kernel) {
    const fb::GpuKernel& source = *program_.kernels()->Get(index);
    const std::string where = kernelWhere(index, source);
    Kernel loaded;
    loaded.module = loadModule(source, where);
    try {
      configure(source, where, loaded);
    } catch (...) {
      context_->api().cuModuleUnload(loaded.module);
      throw;
    }
    kernel = loaded;
  }

  void configure(const fb::GpuKernel& source, const std::string& where, Kernel& kernel) {
    const cu::Api& api = context_->api();
    const std::string entry = source.entry()->str();
    check(api, api.cuModuleGetFunction(&kernel.function, kernel.module, entry.c_str()),
          where + ": finding its entry '" + entry + "'");
    for (uint32_t axis = 0; axis < 3; ++axis) kernel.block[axis] = source.workgroup_size()->Get(axis);
    const uint64_t threads = uint64_t{kernel.block[0]} * kernel.block[1] * kernel.block[2];
    int max_threads = 0;
    check(api, api.cuFuncGetAttribute(&max_threads, cu::CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, kernel.function),
          where + ": reading its thread limit");
    if (threads > static_cast<uint64_t>(max_threads)) {
      throw Error(LATHE_ERROR_UNSUPPORTED, where + " has " + std::to_string(threads) + " threads per block; on " +
                                               context_->name() + " it can run at most " + std::to_string(max_threads));
    }
    int static_shared = 0;
    check(api, api.cuFuncGetAttribute(&static_shared, cu::CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, kernel.function),
          where + ": reading its shared memory size");
    const uint32_t shared = std::max<uint32_t>(source.shared_bytes(), static_cast<uint32_t>(static_shared));
    if (shared > static_cast<uint32_t>(context_->maxSharedBytesPerBlock())) {
      throw Error(LATHE_ERROR_UNSUPPORTED, where + " needs " + std::to_string(shared) + " bytes of shared memory; " +
                                               context_->name() + " has " +
                                               std::to_string(context_->maxSharedBytesPerBlock()) + " per block");
    }
    // Kernels over 48 KiB must take the rest as dynamic shared memory, which
    // the function has to opt in to.
    kernel.dynamic_shared = shared - static_cast<uint32_t>(static_shared);
    if (kernel.dynamic_shared > 0) {
      check(api, api.cuFuncSetAttribute(kernel.function, cu::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                        static_cast<int>(kernel.dynamic_shared)),
            where + ": allowing " + std::to_string(kernel.dynamic_shared) + " bytes of dynamic shared memory");
    }
  }

  // The cubin this GPU can run (CubinChoice.h), else (or if the driver refuses
  // it, e.g. one from a newer toolkit) the PTX, compiled by the driver.
  cu::CUmodule loadModule(const fb::GpuKernel& source, const std::string& where) {
    const cu::Api& api = context_->api();
    cu::CUmodule module = nullptr;
    std::string cubin_problem = " (no cubin for it)";
    std::vector<std::string> archs;
    if (source.binaries() != nullptr) {
      for (const fb::GpuBinary* binary : *source.binaries()) archs.push_back(binary->arch()->str());
    }
    if (const std::optional<size_t> chosen = cu::chooseCubin(archs, context_->arch())) {
      const fb::GpuBinary& binary = *source.binaries()->Get(static_cast<flatbuffers::uoffset_t>(*chosen));
      const cu::CUresult result = api.cuModuleLoadDataEx(&module, binary.data()->data(), 0, nullptr, nullptr);
      if (result == cu::CUDA_SUCCESS) return module;
      if (result == cu::CUDA_ERROR_OUT_OF_MEMORY) check(api, result, where + ": loading its cubin");
      cubin_problem = " (its " + archs[*chosen] + " cubin was refused: " + cu::resultText(api, result) + ")";
    }
    const std::string ptx(reinterpret_cast<const char*>(source.code()->data()), source.code()->size());
    std::string log(kJitLogBytes, '\0');
    int options[] = {cu::CU_JIT_ERROR_LOG_BUFFER, cu::CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void* values[] = {log.data(), reinterpret_cast<void*>(static_cast<uintptr_t>(log.size()))};
    const cu::CUresult result = api.cuModuleLoadDataEx(&module, ptx.c_str(), 2, options, values);
    if (result != cu::CUDA_SUCCESS) {
      log.resize(strnlen(log.data(), log.size()));
      throw Error(result == cu::CUDA_ERROR_OUT_OF_MEMORY ? LATHE_ERROR_OUT_OF_MEMORY : LATHE_ERROR_UNSUPPORTED,
                  where + ": the driver cannot compile its PTX for " + context_->arch() + cubin_problem + ": " +
                      cu::resultText(api, result) + (log.empty() ? "" : "\n" + log));
    }
    return module;
  }

  std::shared_ptr<Context> context_;
  const fb::GpuProgram& program_;
  std::vector<Kernel> kernels_;
};

// A launch with its arguments resolved to device addresses.
struct BoundLaunch {
  size_t dispatch;
  const ProgramModules::Kernel* kernel;
  std::array<uint32_t, 3> grid;
  std::vector<CUdeviceptr> arguments;  // operands, then the parameter block
  std::vector<void*> argument_pointers;
};

// What a recording was made for.
struct RecordingKey {
  int64_t B, T;
  std::vector<uint64_t> buffers;
  bool operator==(const RecordingKey& other) const { return B == other.B && T == other.T && buffers == other.buffers; }
};

// The launches of one (B, T, buffers): made on the first call, captured into
// a CUDA graph on the second and replayed from then on.
struct Recording {
  Recording(const cu::Api& api_in, RecordingKey key_in) : api(api_in), key(std::move(key_in)) {}
  ~Recording() {
    if (graph != nullptr) api.cuGraphExecDestroy(graph);
  }
  Recording(const Recording&) = delete;
  Recording& operator=(const Recording&) = delete;

  const cu::Api& api;
  RecordingKey key;
  std::unique_ptr<DeviceMemory> params;
  std::vector<BoundLaunch> launches;
  size_t calls = 0;
  cu::CUgraphExec graph = nullptr;
};

struct CudaPreparedEntry final : PreparedEntry {
  CudaPreparedEntry(std::shared_ptr<Context> context_in, std::shared_ptr<ProgramModules> modules_in)
      : context(std::move(context_in)), modules(std::move(modules_in)) {}
  ~CudaPreparedEntry() override {
    const auto current = context->makeCurrent();
    recordings.clear();
    for (cu::CUevent event : events) context->api().cuEventDestroy(event);
  }

  std::shared_ptr<Context> context;
  std::shared_ptr<ProgramModules> modules;
  std::string name;
  std::vector<GpuDispatch> dispatches;
  std::list<Recording> recordings;  // most recently used first
  std::vector<cu::CUevent> events;  // profiling: two per launch
};

class CudaDevice final : public Device {
public:
  CudaDevice(int64_t index, const std::string& spec) : context_(std::make_shared<Context>(index, spec)) {}
  ~CudaDevice() override {
    const auto current = context_->makeCurrent();
    context_->api().cuStreamSynchronize(context_->stream());
  }

  std::string kind() const override { return "cuda"; }

  std::unique_ptr<Buffer> allocate(size_t bytes) override {
    const auto current = context_->makeCurrent();
    return std::make_unique<CudaBuffer>(context_, bytes);
  }

  void upload(Buffer& dst, const void* src, size_t bytes) override {
    const auto current = context_->makeCurrent();
    context_->upload(cudaBuffer(dst).address(), src, bytes);
  }

  void download(const Buffer& src, void* dst, size_t bytes) override {
    const auto current = context_->makeCurrent();
    context_->download(cudaBuffer(src).address(), dst, bytes);
  }

  void zero(Buffer& buffer) override {
    const auto current = context_->makeCurrent();
    const cu::Api& api = context_->api();
    check(api, api.cuMemsetD8Async(cudaBuffer(buffer).address(), 0, buffer.bytes(), context_->stream()),
          "zeroing " + std::to_string(buffer.bytes()) + " bytes");
  }

  std::unique_ptr<PreparedEntry> prepare(const Artifact& artifact, size_t entry_index) override {
    const fb::GpuProgram* program = artifact.gpuProgram("cuda");
    if (program == nullptr) {
      throw Error(LATHE_ERROR_UNSUPPORTED, "the artifact has no cuda code; compile with --target cuda");
    }
    const auto current = context_->makeCurrent();
    auto prepared = std::make_unique<CudaPreparedEntry>(context_, modulesFor(*program));
    prepared->name = artifact.entryPoint(entry_index).name()->str();
    prepared->dispatches = planGpuDispatches(artifact, *program, entry_index);
    for (const GpuDispatch& dispatch : prepared->dispatches) {  // modules are loaded now, so failures show here
      for (uint32_t kernel : dispatch.kernel_indices) prepared->modules->kernel(kernel);
    }
    return prepared;
  }

  void run(const PreparedEntry& prepared_entry, const Bindings& bindings, int64_t B, int64_t T) override {
    auto& entry = const_cast<CudaPreparedEntry&>(static_cast<const CudaPreparedEntry&>(prepared_entry));
    const auto current = context_->makeCurrent();
    Recording& recording = recordingFor(entry, bindings, B, T);
    const std::string what =
        "running entry '" + entry.name + "' (" + std::to_string(entry.dispatches.size()) + " dispatches)";
    if (profiling_) {
      launchTimed(entry, recording, what);
    } else if (recording.graph != nullptr || recording.calls > 0) {
      if (recording.graph == nullptr) capture(recording, what);
      check(context_->api(), context_->api().cuGraphLaunch(recording.graph, context_->stream()), what);
    } else {
      for (BoundLaunch& launch : recording.launches) this->launch(launch, what);
    }
    ++recording.calls;
    context_->synchronize(what);
    if (profiling_) readProfile(entry, recording);
  }

private:
  std::shared_ptr<ProgramModules> modulesFor(const fb::GpuProgram& program) {
    std::weak_ptr<ProgramModules>& cached = modules_[&program];
    std::shared_ptr<ProgramModules> modules = cached.lock();
    if (!modules) {
      modules = std::make_shared<ProgramModules>(context_, program);
      cached = modules;
    }
    return modules;
  }

  static RecordingKey keyOf(const Bindings& bindings, int64_t B, int64_t T) {
    RecordingKey key{B, T, {}};
    const auto add = [&](const Buffer* buffer) { key.buffers.push_back(buffer ? cudaBuffer(*buffer).id() : 0); };
    add(bindings.arena);
    for (const auto* list : {&bindings.weights, &bindings.inputs, &bindings.outputs, &bindings.states}) {
      key.buffers.push_back(list->size());
      for (const Buffer* buffer : *list) add(buffer);
    }
    return key;
  }

  // The recording for this call: an earlier call's with the same B, T and
  // buffers (decode steps), else a new one.
  Recording& recordingFor(CudaPreparedEntry& entry, const Bindings& bindings, int64_t B, int64_t T) {
    RecordingKey key = keyOf(bindings, B, T);
    for (auto it = entry.recordings.begin(); it != entry.recordings.end(); ++it) {
      if (it->key == key) {
        entry.recordings.splice(entry.recordings.begin(), entry.recordings, it);
        return entry.recordings.front();
      }
    }
    // Planned before anything is cached, so a call that fails leaves no recording.
    const std::vector<GpuLaunch> launches = planGpuLaunches(entry.dispatches, bindings, B, T, context_->maxGrid());
    if (entry.recordings.size() >= kRecordingsPerEntry) entry.recordings.pop_back();
    entry.recordings.emplace_front(context_->api(), std::move(key));
    try {
      bind(entry, entry.recordings.front(), launches);
    } catch (...) {
      entry.recordings.pop_front();
      throw;
    }
    return entry.recordings.front();
  }

  // Resolves operands to device addresses and uploads the parameter blocks.
  void bind(const CudaPreparedEntry& entry, Recording& recording, const std::vector<GpuLaunch>& launches) {
    std::vector<size_t> param_offsets;
    size_t param_bytes = 0;
    for (const GpuLaunch& launch : launches) {
      param_offsets.push_back(param_bytes);
      param_bytes += (std::max<size_t>(launch.params.size() * 4, 4) + kParamAlignment - 1) / kParamAlignment * kParamAlignment;
    }
    std::vector<uint32_t> words(param_bytes / 4, 0);
    for (size_t i = 0; i < launches.size(); ++i) {
      std::copy(launches[i].params.begin(), launches[i].params.end(), words.begin() + param_offsets[i] / 4);
    }
    recording.params = std::make_unique<DeviceMemory>(context_, std::max<size_t>(param_bytes, 4));
    context_->upload(recording.params->address(), words.data(), param_bytes);
    recording.launches.reserve(launches.size());
    for (size_t i = 0; i < launches.size(); ++i) {
      const GpuLaunch& launch = launches[i];
      const GpuDispatch& dispatch = entry.dispatches[launch.dispatch];
      BoundLaunch bound{launch.dispatch, &entry.modules->kernel(launch.kernel_index), launch.groups, {}, {}};
      for (const GpuOperand& operand : launch.operands) {
        const uint64_t end = operand.offset + operand.bytes.value_or(0);
        if (operand.offset > operand.buffer->bytes() || end > operand.buffer->bytes()) {
          throw Error(LATHE_ERROR_INTERNAL, operandWhere(dispatch, operand.index) + ": the operand lies outside its buffer");
        }
        bound.arguments.push_back(cudaBuffer(*operand.buffer).address() + operand.offset);
      }
      bound.arguments.push_back(recording.params->address() + param_offsets[i]);
      for (CUdeviceptr& argument : bound.arguments) bound.argument_pointers.push_back(&argument);
      recording.launches.push_back(std::move(bound));  // moving keeps the vectors' storage, so the pointers hold
    }
  }

  void launch(BoundLaunch& launch, const std::string& what) {
    const cu::Api& api = context_->api();
    const ProgramModules::Kernel& kernel = *launch.kernel;
    check(api,
          api.cuLaunchKernel(kernel.function, launch.grid[0], launch.grid[1], launch.grid[2], kernel.block[0],
                             kernel.block[1], kernel.block[2], kernel.dynamic_shared, context_->stream(),
                             launch.argument_pointers.data(), nullptr),
          what);
  }

  // Captures the launches into a graph, leaving the stream out of capture mode on failure.
  void capture(Recording& recording, const std::string& what) {
    const cu::Api& api = context_->api();
    check(api, api.cuStreamBeginCapture(context_->stream(), cu::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
          what + ": beginning a graph capture");
    cu::CUgraph graph = nullptr;
    try {
      for (BoundLaunch& launch : recording.launches) this->launch(launch, what + ": capturing");
    } catch (...) {
      if (api.cuStreamEndCapture(context_->stream(), &graph) == cu::CUDA_SUCCESS && graph != nullptr) {
        api.cuGraphDestroy(graph);
      }
      throw;
    }
    check(api, api.cuStreamEndCapture(context_->stream(), &graph), what + ": ending the graph capture");
    const cu::CUresult instantiated = api.cuGraphInstantiate(&recording.graph, graph, 0);
    api.cuGraphDestroy(graph);
    check(api, instantiated, what + ": instantiating its graph");
  }

  void launchTimed(CudaPreparedEntry& entry, Recording& recording, const std::string& what) {
    const cu::Api& api = context_->api();
    while (entry.events.size() < 2 * recording.launches.size()) {
      cu::CUevent event = nullptr;
      check(api, api.cuEventCreate(&event, cu::CU_EVENT_DEFAULT), "creating a profiling event");
      entry.events.push_back(event);
    }
    for (size_t i = 0; i < recording.launches.size(); ++i) {
      check(api, api.cuEventRecord(entry.events[2 * i], context_->stream()), what);
      launch(recording.launches[i], what);
      check(api, api.cuEventRecord(entry.events[2 * i + 1], context_->stream()), what);
    }
  }

  void readProfile(const CudaPreparedEntry& entry, const Recording& recording) {
    profile_.clear();
    for (const GpuDispatch& dispatch : entry.dispatches) {
      profile_.push_back({dispatch.name, fb::EnumNameKernelKind(dispatch.kind), 0.0});
    }
    const cu::Api& api = context_->api();
    for (size_t i = 0; i < recording.launches.size(); ++i) {
      float milliseconds = 0;
      check(api, api.cuEventElapsedTime(&milliseconds, entry.events[2 * i], entry.events[2 * i + 1]),
            "reading the time of dispatch '" + entry.dispatches[recording.launches[i].dispatch].name + "'");
      profile_[recording.launches[i].dispatch].microseconds += milliseconds * 1000.0;
    }
  }

  std::shared_ptr<Context> context_;
  std::map<const fb::GpuProgram*, std::weak_ptr<ProgramModules>> modules_;
};

}  // namespace

std::unique_ptr<Device> makeCudaDevice(int64_t index, const std::string& spec) {
  return std::make_unique<CudaDevice>(index, spec);
}

}  // namespace lathe::runtime
