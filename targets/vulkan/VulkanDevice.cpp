#include "VulkanDevice.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <list>
#include <map>

#include "Artifact.h"
#include "Error.h"
#include "GpuDispatchPlan.h"
#include "VulkanApi.h"
#include "VulkanCapabilities.h"
#include "VulkanContext.h"

namespace lathe::runtime {
namespace {

using vk::check;
using vk::Context;

constexpr size_t kRecordingsPerEntry = 8;
constexpr VkBufferUsageFlags kStorageUsage =
    VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
constexpr VkMemoryPropertyFlags kHostCoherent = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;

VkDeviceSize roundUp(VkDeviceSize value, VkDeviceSize alignment) { return (value + alignment - 1) / alignment * alignment; }

std::string kernelWhere(uint32_t index, const fb::GpuKernel& kernel) {
  return "gpu program 'vulkan' kernel " + std::to_string(index) + " '" + kernel.name()->str() + "'";
}

class VulkanBuffer final : public Buffer {
public:
  VulkanBuffer(std::shared_ptr<Context> context, size_t bytes, const std::vector<VkMemoryPropertyFlags>& memory)
      : Buffer(bytes), context_(std::move(context)), size_(roundUp(std::max<size_t>(bytes, 4), 4)), id_(++next_id_) {
    const vk::Api& api = context_->api();
    VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    info.size = size_;
    info.usage = kStorageUsage;
    info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    check(api.vkCreateBuffer(context_->device(), &info, nullptr, &handle_),
          "creating a buffer of " + std::to_string(bytes) + " bytes");
    VkMemoryRequirements requirements;
    api.vkGetBufferMemoryRequirements(context_->device(), handle_, &requirements);
    try {
      allocation_ = context_->memory().allocate(requirements, requirements.alignment, memory);
      check(api.vkBindBufferMemory(context_->device(), handle_, allocation_.memory(), allocation_.offset),
            "binding buffer memory");
    } catch (...) {
      destroy();
      throw;
    }
  }
  ~VulkanBuffer() override { destroy(); }

  VkBuffer handle() const { return handle_; }
  /// The VkBuffer's size: bytes() rounded up to whole 32-bit words.
  VkDeviceSize size() const { return size_; }
  void* mapped() const { return allocation_.mapped(); }
  /// Unique per buffer ever made, unlike handles, which the driver may reuse.
  uint64_t id() const { return id_; }

private:
  void destroy() {
    if (allocation_.block != nullptr) context_->memory().release(allocation_);
    if (handle_ != VK_NULL_HANDLE) context_->api().vkDestroyBuffer(context_->device(), handle_, nullptr);
  }

  static inline std::atomic<uint64_t> next_id_{0};
  std::shared_ptr<Context> context_;
  VkDeviceSize size_;
  uint64_t id_;
  VkBuffer handle_ = VK_NULL_HANDLE;
  vk::Allocation allocation_;
};

const VulkanBuffer& vulkanBuffer(const Buffer& buffer) { return static_cast<const VulkanBuffer&>(buffer); }

// The compute pipelines of one GpuProgram, created on first use and shared by
// the entry points that use them.
class ProgramPipelines {
public:
  struct Kernel {
    VkShaderModule module = VK_NULL_HANDLE;
    VkPipeline pipeline = VK_NULL_HANDLE;
    VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
    VkPipelineLayout layout = VK_NULL_HANDLE;
    const fb::GpuKernel* source = nullptr;
  };

  ProgramPipelines(std::shared_ptr<Context> context, const fb::GpuProgram& program)
      : context_(std::move(context)), program_(program), kernels_(program.kernels()->size()) {}
  ~ProgramPipelines() {
    const vk::Api& api = context_->api();
    VkDevice device = context_->device();
    for (const Kernel& kernel : kernels_) {
      if (kernel.pipeline != VK_NULL_HANDLE) api.vkDestroyPipeline(device, kernel.pipeline, nullptr);
      if (kernel.module != VK_NULL_HANDLE) api.vkDestroyShaderModule(device, kernel.module, nullptr);
    }
    for (const auto& [bindings, layout] : layouts_) {
      api.vkDestroyPipelineLayout(device, layout.second, nullptr);
      api.vkDestroyDescriptorSetLayout(device, layout.first, nullptr);
    }
  }

  const Kernel& kernel(uint32_t index) {
    Kernel& kernel = kernels_[index];
    if (kernel.pipeline == VK_NULL_HANDLE) create(index, kernel);
    return kernel;
  }

private:
  void create(uint32_t index, Kernel& kernel) {
    const fb::GpuKernel& source = *program_.kernels()->Get(index);
    const std::string where = kernelWhere(index, source);
    const std::string missing = vk::missingSupport(context_->support(), source);
    if (!missing.empty()) {
      throw Error(LATHE_ERROR_UNSUPPORTED, where + " needs " + missing + " (device '" + context_->name() + "')");
    }
    const vk::Api& api = context_->api();
    // The code bytes need not be 4-byte aligned inside the artifact.
    std::vector<uint32_t> words(source.code()->size() / 4);
    std::memcpy(words.data(), source.code()->data(), words.size() * 4);
    VkShaderModuleCreateInfo module{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    module.codeSize = words.size() * 4;
    module.pCode = words.data();
    check(api.vkCreateShaderModule(context_->device(), &module, nullptr, &kernel.module), where + ": shader module");
    std::tie(kernel.set_layout, kernel.layout) = layoutFor(source.bindings());
    VkComputePipelineCreateInfo pipeline{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    pipeline.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
    pipeline.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    pipeline.stage.module = kernel.module;
    pipeline.stage.pName = source.entry()->c_str();
    pipeline.layout = kernel.layout;
    check(api.vkCreateComputePipelines(context_->device(), VK_NULL_HANDLE, 1, &pipeline, nullptr, &kernel.pipeline),
          where + ": compute pipeline");
    kernel.source = &source;
    context_->throwValidationErrors("creating " + where);
  }

  std::pair<VkDescriptorSetLayout, VkPipelineLayout> layoutFor(uint32_t bindings) {
    auto found = layouts_.find(bindings);
    if (found != layouts_.end()) return found->second;
    std::vector<VkDescriptorSetLayoutBinding> slots(bindings);
    for (uint32_t i = 0; i < bindings; ++i) {
      slots[i] = {i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
    }
    VkDescriptorSetLayoutCreateInfo set_info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    set_info.bindingCount = bindings;
    set_info.pBindings = slots.data();
    std::pair<VkDescriptorSetLayout, VkPipelineLayout> layout{};
    check(context_->api().vkCreateDescriptorSetLayout(context_->device(), &set_info, nullptr, &layout.first),
          "descriptor set layout");
    VkPipelineLayoutCreateInfo pipeline_info{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    pipeline_info.setLayoutCount = 1;
    pipeline_info.pSetLayouts = &layout.first;
    const VkResult result = context_->api().vkCreatePipelineLayout(context_->device(), &pipeline_info, nullptr, &layout.second);
    if (result != VK_SUCCESS) context_->api().vkDestroyDescriptorSetLayout(context_->device(), layout.first, nullptr);
    check(result, "pipeline layout");
    layouts_[bindings] = layout;
    return layout;
  }

  std::shared_ptr<Context> context_;
  const fb::GpuProgram& program_;
  std::vector<Kernel> kernels_;
  std::map<uint32_t, std::pair<VkDescriptorSetLayout, VkPipelineLayout>> layouts_;
};

// What a recorded command buffer was recorded for.
struct RecordingKey {
  int64_t B, T;
  bool profiling;
  std::vector<uint64_t> buffers;
  bool operator==(const RecordingKey& other) const {
    return B == other.B && T == other.T && profiling == other.profiling && buffers == other.buffers;
  }
};

struct Recording {
  RecordingKey key;
  VkCommandBuffer commands = VK_NULL_HANDLE;
  VkDescriptorPool descriptors = VK_NULL_HANDLE;
  VkQueryPool queries = VK_NULL_HANDLE;
  std::unique_ptr<VulkanBuffer> params;
  std::vector<size_t> launch_dispatch;  // the dispatch of each launch
};

struct VulkanPreparedEntry final : PreparedEntry {
  VulkanPreparedEntry(std::shared_ptr<Context> context_in, std::shared_ptr<ProgramPipelines> pipelines_in)
      : context(std::move(context_in)), pipelines(std::move(pipelines_in)) {
    VkCommandPoolCreateInfo info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    info.queueFamilyIndex = context->queueFamily();
    check(context->api().vkCreateCommandPool(context->device(), &info, nullptr, &command_pool), "command pool");
  }
  ~VulkanPreparedEntry() override {
    while (!recordings.empty()) dropOldest();
    context->api().vkDestroyCommandPool(context->device(), command_pool, nullptr);
  }
  void dropOldest() {
    destroy(recordings.back());
    recordings.pop_back();
  }
  void dropNewest() {
    destroy(recordings.front());
    recordings.pop_front();
  }
  void destroy(const Recording& recording) {
    const vk::Api& api = context->api();
    if (recording.commands != VK_NULL_HANDLE) {
      api.vkFreeCommandBuffers(context->device(), command_pool, 1, &recording.commands);
    }
    if (recording.descriptors != VK_NULL_HANDLE) {
      api.vkDestroyDescriptorPool(context->device(), recording.descriptors, nullptr);
    }
    if (recording.queries != VK_NULL_HANDLE) api.vkDestroyQueryPool(context->device(), recording.queries, nullptr);
  }

  std::shared_ptr<Context> context;
  std::shared_ptr<ProgramPipelines> pipelines;
  std::string name;
  std::vector<GpuDispatch> dispatches;
  VkCommandPool command_pool = VK_NULL_HANDLE;
  std::list<Recording> recordings;  // most recently used first
};

void memoryBarrier(const vk::Api& api, VkCommandBuffer commands, VkPipelineStageFlags from, VkAccessFlags from_access,
                   VkPipelineStageFlags to, VkAccessFlags to_access) {
  const VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, from_access, to_access};
  api.vkCmdPipelineBarrier(commands, from, to, 0, 1, &barrier, 0, nullptr, 0, nullptr);
}

constexpr VkPipelineStageFlags kWriters =
    VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT;
constexpr VkAccessFlags kWrites = VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT;

class VulkanDevice final : public Device {
public:
  explicit VulkanDevice(const std::string& selector) : context_(std::make_shared<Context>(selector)) {
    const vk::Api& api = context_->api();
    VkCommandPoolCreateInfo pool{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pool.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pool.queueFamilyIndex = context_->queueFamily();
    check(api.vkCreateCommandPool(context_->device(), &pool, nullptr, &transfer_pool_), "command pool");
    VkCommandBufferAllocateInfo allocate{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    allocate.commandPool = transfer_pool_;
    allocate.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    allocate.commandBufferCount = 1;
    check(api.vkAllocateCommandBuffers(context_->device(), &allocate, &transfer_commands_), "command buffer");
    const VkFenceCreateInfo fence{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    check(api.vkCreateFence(context_->device(), &fence, nullptr, &fence_), "fence");
  }
  ~VulkanDevice() override {
    const vk::Api& api = context_->api();
    api.vkDeviceWaitIdle(context_->device());
    api.vkDestroyFence(context_->device(), fence_, nullptr);
    api.vkDestroyCommandPool(context_->device(), transfer_pool_, nullptr);
  }

  std::string kind() const override { return "vulkan"; }

  std::unique_ptr<Buffer> allocate(size_t bytes) override {
    // Unified-memory devices map their buffers; others keep them device-local.
    if (context_->unifiedMemory()) {
      return std::make_unique<VulkanBuffer>(
          context_, bytes,
          std::vector<VkMemoryPropertyFlags>{VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | kHostCoherent, kHostCoherent,
                                             VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT});
    }
    return std::make_unique<VulkanBuffer>(
        context_, bytes, std::vector<VkMemoryPropertyFlags>{VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0});
  }

  void upload(Buffer& dst, const void* src, size_t bytes) override {
    const VulkanBuffer& buffer = vulkanBuffer(dst);
    if (bytes == 0) return;
    if (buffer.mapped() != nullptr) {
      std::memcpy(buffer.mapped(), src, bytes);
      return;
    }
    const VulkanBuffer staging = stagingBuffer(bytes);
    std::memcpy(staging.mapped(), src, bytes);
    submitTransfer("uploading " + std::to_string(bytes) + " bytes", [&](VkCommandBuffer commands) {
      const VkBufferCopy region{0, 0, bytes};
      context_->api().vkCmdCopyBuffer(commands, staging.handle(), buffer.handle(), 1, &region);
    });
  }

  void download(const Buffer& src, void* dst, size_t bytes) override {
    const VulkanBuffer& buffer = vulkanBuffer(src);
    if (bytes == 0) return;
    if (buffer.mapped() != nullptr) {
      std::memcpy(dst, buffer.mapped(), bytes);
      return;
    }
    const VulkanBuffer staging = stagingBuffer(bytes);
    submitTransfer("downloading " + std::to_string(bytes) + " bytes", [&](VkCommandBuffer commands) {
      const VkBufferCopy region{0, 0, bytes};
      context_->api().vkCmdCopyBuffer(commands, buffer.handle(), staging.handle(), 1, &region);
    });
    std::memcpy(dst, staging.mapped(), bytes);
  }

  void zero(Buffer& target) override {
    const VulkanBuffer& buffer = vulkanBuffer(target);
    if (buffer.mapped() != nullptr) {
      std::memset(buffer.mapped(), 0, buffer.size());
      return;
    }
    submitTransfer("zeroing a buffer", [&](VkCommandBuffer commands) {
      context_->api().vkCmdFillBuffer(commands, buffer.handle(), 0, VK_WHOLE_SIZE, 0);
    });
  }

  std::unique_ptr<PreparedEntry> prepare(const Artifact& artifact, size_t entry_index) override {
    const fb::GpuProgram* program = artifact.gpuProgram("vulkan");
    if (program == nullptr) {
      throw Error(LATHE_ERROR_UNSUPPORTED, "the artifact has no vulkan code; compile with --target vulkan");
    }
    auto prepared = std::make_unique<VulkanPreparedEntry>(context_, pipelinesFor(*program));
    prepared->name = artifact.entryPoint(entry_index).name()->str();
    prepared->dispatches = planGpuDispatches(artifact, *program, entry_index);
    for (const GpuDispatch& dispatch : prepared->dispatches) {  // pipelines are made now, so failures show here
      for (uint32_t kernel : dispatch.kernel_indices) prepared->pipelines->kernel(kernel);
    }
    return prepared;
  }

  void run(const PreparedEntry& prepared_entry, const Bindings& bindings, int64_t B, int64_t T) override {
    auto& entry = const_cast<VulkanPreparedEntry&>(static_cast<const VulkanPreparedEntry&>(prepared_entry));
    const bool profiling = profiling_ && context_->timestampsSupported();
    const Recording& recording = recordingFor(entry, bindings, B, T, profiling);
    submitAndWait(recording.commands, "running entry '" + entry.name + "' (" +
                                          std::to_string(entry.dispatches.size()) + " dispatches)");
    if (profiling_) readProfile(entry, recording);
  }

  void setProfiling(bool enabled) override {
    if (enabled && !context_->timestampsSupported()) {
      throw Error(LATHE_ERROR_UNSUPPORTED,
                  "Vulkan device '" + context_->name() + "' has no timestamps on its compute queue; cannot profile");
    }
    Device::setProfiling(enabled);
  }

private:
  std::shared_ptr<ProgramPipelines> pipelinesFor(const fb::GpuProgram& program) {
    std::weak_ptr<ProgramPipelines>& cached = pipelines_[&program];
    std::shared_ptr<ProgramPipelines> pipelines = cached.lock();
    if (!pipelines) {
      pipelines = std::make_shared<ProgramPipelines>(context_, program);
      cached = pipelines;
    }
    return pipelines;
  }

  VulkanBuffer stagingBuffer(size_t bytes) { return VulkanBuffer(context_, bytes, {kHostCoherent}); }

  void submitTransfer(const std::string& what, const std::function<void(VkCommandBuffer)>& record) {
    const vk::Api& api = context_->api();
    const VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, nullptr,
                                         VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    check(api.vkBeginCommandBuffer(transfer_commands_, &begin), what);
    memoryBarrier(api, transfer_commands_, kWriters, kWrites, VK_PIPELINE_STAGE_TRANSFER_BIT,
                  VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
    record(transfer_commands_);
    memoryBarrier(api, transfer_commands_, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                  VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    check(api.vkEndCommandBuffer(transfer_commands_), what);
    submitAndWait(transfer_commands_, what);
  }

  void submitAndWait(VkCommandBuffer commands, const std::string& what) {
    const vk::Api& api = context_->api();
    VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &commands;
    check(api.vkQueueSubmit(context_->queue(), 1, &submit, fence_), what);
    const VkResult waited = api.vkWaitForFences(context_->device(), 1, &fence_, VK_TRUE, UINT64_MAX);
    api.vkResetFences(context_->device(), 1, &fence_);
    check(waited, what);
    context_->throwValidationErrors(what);
  }

  static RecordingKey keyOf(const Bindings& bindings, int64_t B, int64_t T, bool profiling) {
    RecordingKey key{B, T, profiling, {}};
    const auto add = [&](const Buffer* buffer) { key.buffers.push_back(buffer ? vulkanBuffer(*buffer).id() : 0); };
    add(bindings.arena);
    for (const auto* list : {&bindings.weights, &bindings.inputs, &bindings.outputs, &bindings.states}) {
      key.buffers.push_back(list->size());
      for (const Buffer* buffer : *list) add(buffer);
    }
    return key;
  }

  // The descriptor range of a launch's operand, within the device's limits.
  VkDescriptorBufferInfo operandRange(const GpuDispatch& dispatch, const GpuOperand& operand) const {
    const VulkanBuffer& buffer = vulkanBuffer(*operand.buffer);
    const VkDeviceSize offset = operand.offset;
    const std::string where = operandWhere(dispatch, operand.index);
    const VkPhysicalDeviceLimits& limits = context_->limits();
    if (offset % limits.minStorageBufferOffsetAlignment != 0) {
      throw Error(LATHE_ERROR_UNSUPPORTED, where + ": arena offset " + std::to_string(offset) +
                                               " is not a multiple of the device's minStorageBufferOffsetAlignment " +
                                               std::to_string(limits.minStorageBufferOffsetAlignment));
    }
    VkDeviceSize bytes = buffer.size() - std::min(offset, buffer.size());
    if (operand.bytes) bytes = std::min(bytes, roundUp(std::max<uint64_t>(*operand.bytes, 4), 4));
    if (bytes == 0 || offset + bytes > buffer.size()) {
      throw Error(LATHE_ERROR_INTERNAL, where + ": the operand lies outside its buffer");
    }
    if (bytes > limits.maxStorageBufferRange) {
      throw Error(LATHE_ERROR_UNSUPPORTED, where + " spans " + std::to_string(bytes) +
                                               " bytes, more than the device's maxStorageBufferRange " +
                                               std::to_string(limits.maxStorageBufferRange));
    }
    return {buffer.handle(), offset, bytes};
  }

  std::vector<GpuLaunch> launchesOf(const VulkanPreparedEntry& entry, const Bindings& bindings, int64_t B, int64_t T) const {
    const uint32_t* counts = context_->limits().maxComputeWorkGroupCount;
    return planGpuLaunches(entry.dispatches, bindings, B, T, {counts[0], counts[1], counts[2]});
  }

  // The command buffer for this call: replayed when an earlier call had the
  // same B, T and buffers (decode steps), else recorded now.
  const Recording& recordingFor(VulkanPreparedEntry& entry, const Bindings& bindings, int64_t B, int64_t T,
                                bool profiling) {
    RecordingKey key = keyOf(bindings, B, T, profiling);
    for (auto it = entry.recordings.begin(); it != entry.recordings.end(); ++it) {
      if (it->key == key) {
        entry.recordings.splice(entry.recordings.begin(), entry.recordings, it);
        return entry.recordings.front();
      }
    }
    if (entry.recordings.size() >= kRecordingsPerEntry) entry.dropOldest();
    entry.recordings.emplace_front();
    Recording& recording = entry.recordings.front();
    recording.key = std::move(key);
    try {
      record(entry, recording, launchesOf(entry, bindings, B, T));
    } catch (...) {
      entry.dropNewest();
      throw;
    }
    return recording;
  }

  void record(VulkanPreparedEntry& entry, Recording& recording, const std::vector<GpuLaunch>& launches) {
    const vk::Api& api = context_->api();
    VkDevice device = context_->device();
    const VkDeviceSize alignment = context_->limits().minStorageBufferOffsetAlignment;

    // All parameter blocks in one host-visible buffer.
    std::vector<VkDeviceSize> param_offsets;
    VkDeviceSize param_bytes = 0;
    uint32_t descriptor_count = 0;
    for (const GpuLaunch& launch : launches) {
      param_offsets.push_back(param_bytes);
      param_bytes += roundUp(std::max<size_t>(launch.params.size() * 4, 4), alignment);
      descriptor_count += static_cast<uint32_t>(launch.operands.size() + 1);
    }
    recording.params = std::make_unique<VulkanBuffer>(
        context_, param_bytes,
        std::vector<VkMemoryPropertyFlags>{VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | kHostCoherent, kHostCoherent});
    for (size_t i = 0; i < launches.size(); ++i) {
      std::memcpy(static_cast<char*>(recording.params->mapped()) + param_offsets[i], launches[i].params.data(),
                  launches[i].params.size() * 4);
    }

    const VkDescriptorPoolSize pool_size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, std::max(descriptor_count, 1u)};
    VkDescriptorPoolCreateInfo pool{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    pool.maxSets = std::max<uint32_t>(static_cast<uint32_t>(launches.size()), 1);
    pool.poolSizeCount = 1;
    pool.pPoolSizes = &pool_size;
    check(api.vkCreateDescriptorPool(device, &pool, nullptr, &recording.descriptors), "descriptor pool");
    std::vector<VkDescriptorSetLayout> set_layouts;
    for (const GpuLaunch& launch : launches) set_layouts.push_back(entry.pipelines->kernel(launch.kernel_index).set_layout);
    std::vector<VkDescriptorSet> sets(launches.size());
    if (!launches.empty()) {
      VkDescriptorSetAllocateInfo allocate{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
      allocate.descriptorPool = recording.descriptors;
      allocate.descriptorSetCount = static_cast<uint32_t>(sets.size());
      allocate.pSetLayouts = set_layouts.data();
      check(api.vkAllocateDescriptorSets(device, &allocate, sets.data()), "descriptor sets");
    }
    std::vector<std::vector<VkDescriptorBufferInfo>> infos(launches.size());
    std::vector<VkWriteDescriptorSet> writes;
    for (size_t i = 0; i < launches.size(); ++i) {
      for (const GpuOperand& operand : launches[i].operands) {
        infos[i].push_back(operandRange(entry.dispatches[launches[i].dispatch], operand));
      }
      infos[i].push_back({recording.params->handle(), param_offsets[i],
                          std::max<VkDeviceSize>(launches[i].params.size() * 4, 4)});
      VkWriteDescriptorSet write{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
      write.dstSet = sets[i];
      write.descriptorCount = static_cast<uint32_t>(infos[i].size());
      write.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      write.pBufferInfo = infos[i].data();
      writes.push_back(write);
    }
    api.vkUpdateDescriptorSets(device, static_cast<uint32_t>(writes.size()), writes.data(), 0, nullptr);

    const uint32_t query_count = static_cast<uint32_t>(2 * launches.size());
    if (recording.key.profiling && query_count > 0) {
      VkQueryPoolCreateInfo queries{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
      queries.queryType = VK_QUERY_TYPE_TIMESTAMP;
      queries.queryCount = query_count;
      check(api.vkCreateQueryPool(device, &queries, nullptr, &recording.queries), "timestamp query pool");
    }

    VkCommandBufferAllocateInfo allocate{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    allocate.commandPool = entry.command_pool;
    allocate.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    allocate.commandBufferCount = 1;
    check(api.vkAllocateCommandBuffers(device, &allocate, &recording.commands), "command buffer");
    VkCommandBuffer commands = recording.commands;
    const VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    check(api.vkBeginCommandBuffer(commands, &begin), "recording entry '" + entry.name + "'");
    if (recording.queries != VK_NULL_HANDLE) api.vkCmdResetQueryPool(commands, recording.queries, 0, query_count);
    memoryBarrier(api, commands, kWriters, kWrites, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                  VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    for (size_t i = 0; i < launches.size(); ++i) {
      const GpuLaunch& launch = launches[i];
      const ProgramPipelines::Kernel& kernel = entry.pipelines->kernel(launch.kernel_index);
      if (i > 0) {
        memoryBarrier(api, commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                      VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
      }
      if (recording.queries != VK_NULL_HANDLE) {
        api.vkCmdWriteTimestamp(commands, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, recording.queries, 2 * i);
      }
      api.vkCmdBindPipeline(commands, VK_PIPELINE_BIND_POINT_COMPUTE, kernel.pipeline);
      api.vkCmdBindDescriptorSets(commands, VK_PIPELINE_BIND_POINT_COMPUTE, kernel.layout, 0, 1, &sets[i], 0, nullptr);
      api.vkCmdDispatch(commands, launch.groups[0], launch.groups[1], launch.groups[2]);
      if (recording.queries != VK_NULL_HANDLE) {
        api.vkCmdWriteTimestamp(commands, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, recording.queries, 2 * i + 1);
      }
      recording.launch_dispatch.push_back(launch.dispatch);
    }
    memoryBarrier(api, commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                  VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                  VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_HOST_READ_BIT);
    check(api.vkEndCommandBuffer(commands), "recording entry '" + entry.name + "'");
  }

  void readProfile(const VulkanPreparedEntry& entry, const Recording& recording) {
    profile_.clear();
    for (const GpuDispatch& dispatch : entry.dispatches) {
      profile_.push_back({dispatch.name, fb::EnumNameKernelKind(dispatch.kind), 0.0});
    }
    if (recording.queries == VK_NULL_HANDLE) return;
    std::vector<uint64_t> ticks(2 * recording.launch_dispatch.size());
    check(context_->api().vkGetQueryPoolResults(context_->device(), recording.queries, 0,
                                                static_cast<uint32_t>(ticks.size()), ticks.size() * sizeof(uint64_t),
                                                ticks.data(), sizeof(uint64_t),
                                                VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
          "reading timestamps of entry '" + entry.name + "'");
    const double nanoseconds_per_tick = context_->limits().timestampPeriod;
    for (size_t i = 0; i < recording.launch_dispatch.size(); ++i) {
      const uint64_t elapsed = ticks[2 * i + 1] >= ticks[2 * i] ? ticks[2 * i + 1] - ticks[2 * i] : 0;
      profile_[recording.launch_dispatch[i]].microseconds += elapsed * nanoseconds_per_tick / 1000.0;
    }
  }

  std::shared_ptr<Context> context_;
  std::map<const fb::GpuProgram*, std::weak_ptr<ProgramPipelines>> pipelines_;
  VkCommandPool transfer_pool_ = VK_NULL_HANDLE;
  VkCommandBuffer transfer_commands_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
};

}  // namespace

std::unique_ptr<Device> makeVulkanDevice(const std::string& selector) {
  return std::make_unique<VulkanDevice>(selector);
}

}  // namespace lathe::runtime
