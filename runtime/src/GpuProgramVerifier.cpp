#include "GpuProgramVerifier.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "Artifact.h"
#include "Error.h"

#ifdef LATHE_HAVE_SPIRV_TOOLS
#include <spirv-tools/libspirv.h>
#endif

namespace lathe::runtime {
namespace {

constexpr uint32_t kSpirvMagic = 0x07230203;
constexpr uint32_t kSpirvHeaderWords = 5;
constexpr uint32_t kMaxSpirvVersion = 0x00010500;  // SPIR-V 1.5, the newest Vulkan 1.2 accepts
constexpr uint16_t kOpExtension = 10;
constexpr uint16_t kOpEntryPoint = 15;
constexpr uint16_t kOpExecutionMode = 16;
constexpr uint16_t kOpCapability = 17;
constexpr uint32_t kExecutionModelGLCompute = 5;
constexpr uint32_t kExecutionModeLocalSize = 17;
/// GPU kernels read and write operands 16 bytes at a time (artifact.fbs, "GPU targets").
constexpr uint64_t kGpuOperandAlignment = 16;

bool isGpuTarget(const std::string& target) { return target == "vulkan" || target == "cuda"; }

// SPIR-V capability names as kernels declare them (the SPIR-V spec's names).
const std::map<uint32_t, std::string>& capabilityNames() {
  static const std::map<uint32_t, std::string> names = {
      {0, "Matrix"}, {1, "Shader"}, {4, "Addresses"}, {5, "Linkage"}, {6, "Kernel"},
      {9, "Float16"}, {10, "Float64"}, {11, "Int64"}, {12, "Int64Atomics"}, {22, "Int16"}, {39, "Int8"},
      {61, "GroupNonUniform"}, {62, "GroupNonUniformVote"}, {63, "GroupNonUniformArithmetic"},
      {64, "GroupNonUniformBallot"}, {65, "GroupNonUniformShuffle"}, {66, "GroupNonUniformShuffleRelative"},
      {67, "GroupNonUniformClustered"}, {68, "GroupNonUniformQuad"},
      {4433, "StorageBuffer16BitAccess"}, {4434, "UniformAndStorageBuffer16BitAccess"},
      {4435, "StoragePushConstant16"}, {4436, "StorageInputOutput16"},
      {4441, "VariablePointersStorageBuffer"}, {4442, "VariablePointers"},
      {4448, "StorageBuffer8BitAccess"}, {4449, "UniformAndStorageBuffer8BitAccess"},
      {5345, "VulkanMemoryModel"}, {5346, "VulkanMemoryModelDeviceScope"},
      {5347, "PhysicalStorageBufferAddresses"}, {6022, "CooperativeMatrixKHR"},
  };
  return names;
}

std::string capabilityName(uint32_t value) {
  const auto found = capabilityNames().find(value);
  return found == capabilityNames().end() ? "Capability(" + std::to_string(value) + ")" : found->second;
}

std::set<std::string> stringSet(const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* strings) {
  std::set<std::string> set;
  if (strings != nullptr) {
    for (const flatbuffers::String* text : *strings) set.insert(text->str());
  }
  return set;
}

// What the verifier reads from a SPIR-V module's instruction stream.
struct SpirvFacts {
  std::set<std::string> capabilities;
  std::set<std::string> extensions;
  std::map<std::string, std::pair<uint32_t, uint32_t>> entry_points;  // name -> (execution model, function id)
  std::map<uint32_t, std::vector<uint32_t>> local_sizes;               // function id -> x, y, z
};

class SpirvReader {
public:
  SpirvReader(const std::vector<uint32_t>& words, const std::string& where) : words_(words), where_(where) {}

  SpirvFacts read() {
    if (words_.size() < kSpirvHeaderWords) fail("has " + std::to_string(words_.size()) + " words, fewer than its header");
    if (words_[0] != kSpirvMagic) fail("has magic number " + hex(words_[0]) + ", expected 0x07230203");
    const uint32_t version = words_[1];
    if ((version & 0xff0000ffu) != 0 || version < 0x00010000 || version > kMaxSpirvVersion) {
      fail("has version " + hex(version) + "; Vulkan 1.2 takes SPIR-V 1.0 to 1.5");
    }
    SpirvFacts facts;
    for (size_t at = kSpirvHeaderWords; at < words_.size();) {
      const uint32_t count = words_[at] >> 16;
      const uint16_t opcode = words_[at] & 0xffffu;
      if (count == 0 || at + count > words_.size()) {
        fail("instruction at word " + std::to_string(at) + " (opcode " + std::to_string(opcode) + ") has word count " +
             std::to_string(count) + ", beyond the module's " + std::to_string(words_.size()) + " words");
      }
      const uint32_t* operands = &words_[at + 1];
      const size_t operand_count = count - 1;
      if (opcode == kOpCapability && operand_count >= 1) facts.capabilities.insert(capabilityName(operands[0]));
      if (opcode == kOpExtension) facts.extensions.insert(literal(operands, operand_count, at));
      if (opcode == kOpEntryPoint && operand_count >= 3) {
        facts.entry_points[literal(operands + 2, operand_count - 2, at)] = {operands[0], operands[1]};
      }
      if (opcode == kOpExecutionMode && operand_count == 5 && operands[1] == kExecutionModeLocalSize) {
        facts.local_sizes[operands[0]] = {operands[2], operands[3], operands[4]};
      }
      at += count;
    }
    return facts;
  }

private:
  [[noreturn]] void fail(const std::string& problem) const { throw invalidArtifact(where_ + ": SPIR-V " + problem); }

  static std::string hex(uint32_t value) {
    char text[16];
    std::snprintf(text, sizeof text, "0x%08x", value);
    return text;
  }

  // A nul-terminated string packed into words.
  std::string literal(const uint32_t* words, size_t count, size_t at) const {
    const char* bytes = reinterpret_cast<const char*>(words);
    const size_t length = strnlen(bytes, count * 4);
    if (length == count * 4) fail("instruction at word " + std::to_string(at) + " has an unterminated string");
    return std::string(bytes, length);
  }

  const std::vector<uint32_t>& words_;
  const std::string& where_;
};

#ifdef LATHE_HAVE_SPIRV_TOOLS
void runSpirvValidator(const std::vector<uint32_t>& words, const std::string& where) {
  spv_context context = spvContextCreate(SPV_ENV_VULKAN_1_2);
  spv_const_binary_t binary{words.data(), words.size()};
  spv_diagnostic diagnostic = nullptr;
  const spv_result_t result = spvValidate(context, &binary, &diagnostic);
  const std::string message = diagnostic != nullptr && diagnostic->error != nullptr ? diagnostic->error : "";
  spvDiagnosticDestroy(diagnostic);
  spvContextDestroy(context);
  if (result != SPV_SUCCESS) throw invalidArtifact(where + ": SPIR-V fails validation for Vulkan 1.2: " + message);
}
#endif

void checkSpirv(const fb::GpuKernel& kernel, const std::string& where) {
  const auto& code = *kernel.code();
  if (code.size() % 4 != 0) {
    throw invalidArtifact(where + ": SPIR-V code is " + std::to_string(code.size()) + " bytes, not whole 32-bit words");
  }
  std::vector<uint32_t> words(code.size() / 4);
  std::memcpy(words.data(), code.data(), code.size());
  const SpirvFacts facts = SpirvReader(words, where).read();
  const std::set<std::string> declared_capabilities = stringSet(kernel.capabilities());
  for (const std::string& capability : facts.capabilities) {
    if (capability != "Shader" && declared_capabilities.count(capability) == 0) {
      throw invalidArtifact(where + ": SPIR-V uses capability " + capability + ", which the kernel does not declare");
    }
  }
  const std::set<std::string> declared_extensions = stringSet(kernel.extensions());
  for (const std::string& extension : facts.extensions) {
    if (declared_extensions.count(extension) == 0) {
      throw invalidArtifact(where + ": SPIR-V uses extension " + extension + ", which the kernel does not declare");
    }
  }
  const auto entry = facts.entry_points.find(kernel.entry()->str());
  if (entry == facts.entry_points.end()) {
    throw invalidArtifact(where + ": SPIR-V has no OpEntryPoint named '" + kernel.entry()->str() + "'");
  }
  if (entry->second.first != kExecutionModelGLCompute) {
    throw invalidArtifact(where + ": SPIR-V entry point '" + kernel.entry()->str() + "' is not a GLCompute shader");
  }
  const auto local_size = facts.local_sizes.find(entry->second.second);
  if (local_size != facts.local_sizes.end()) {
    for (uint32_t axis = 0; axis < 3; ++axis) {
      if (local_size->second[axis] != kernel.workgroup_size()->Get(axis)) {
        throw invalidArtifact(where + ": SPIR-V LocalSize " + std::to_string(local_size->second[axis]) +
                              " along axis " + std::to_string(axis) + " differs from workgroup_size " +
                              std::to_string(kernel.workgroup_size()->Get(axis)));
      }
    }
  }
#ifdef LATHE_HAVE_SPIRV_TOOLS
  runSpirvValidator(words, where);
#endif
}

// The directive names and operands of PTX text, with comments removed.
struct PtxFacts {
  bool has_version = false;
  bool has_target = false;
  std::set<std::string> entries;
};

bool isIdentifierChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || c == '%'; }

PtxFacts readPtx(const std::string& text) {
  PtxFacts facts;
  std::string code;  // without // and /* */ comments, which may mention directives
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "//") == 0) {
      i = text.find('\n', i);
      if (i == std::string::npos) break;
    } else if (text.compare(i, 2, "/*") == 0) {
      i = text.find("*/", i + 2);
      if (i == std::string::npos) break;
      ++i;
      continue;
    }
    code += text[i];
  }
  const auto token_at = [&](size_t at, const char* directive) {
    const size_t length = std::strlen(directive);
    return code.compare(at, length, directive) == 0 && (at == 0 || !isIdentifierChar(code[at - 1])) &&
           at + length < code.size() && std::isspace(static_cast<unsigned char>(code[at + length]));
  };
  for (size_t at = code.find('.'); at != std::string::npos; at = code.find('.', at + 1)) {
    if (token_at(at, ".version")) facts.has_version = true;
    if (token_at(at, ".target")) facts.has_target = true;
    if (token_at(at, ".entry")) {
      size_t begin = at + 6;
      while (begin < code.size() && std::isspace(static_cast<unsigned char>(code[begin]))) ++begin;
      size_t end = begin;
      while (end < code.size() && isIdentifierChar(code[end])) ++end;
      facts.entries.insert(code.substr(begin, end - begin));
    }
  }
  return facts;
}

void checkPtx(const fb::GpuKernel& kernel, const std::string& where) {
  const auto& code = *kernel.code();
  std::string text(reinterpret_cast<const char*>(code.data()), code.size());
  while (!text.empty() && text.back() == '\0') text.pop_back();  // a terminating NUL is allowed
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c > 0x7e) {
      char byte[8];
      std::snprintf(byte, sizeof byte, "0x%02x", c);
      throw invalidArtifact(where + ": PTX code is not text (byte " + byte + " at offset " + std::to_string(i) + ")");
    }
  }
  const PtxFacts facts = readPtx(text);
  if (!facts.has_version) throw invalidArtifact(where + ": PTX code has no .version directive");
  if (!facts.has_target) throw invalidArtifact(where + ": PTX code has no .target directive");
  if (facts.entries.count(kernel.entry()->str()) == 0) {
    throw invalidArtifact(where + ": PTX code has no .entry named '" + kernel.entry()->str() + "'");
  }
}

// "sm_80", "sm_90a", "sm_100": what nvcc and ptxas name real architectures.
bool isCudaArch(const std::string& arch) {
  if (arch.compare(0, 3, "sm_") != 0) return false;
  size_t digits = 3;
  while (digits < arch.size() && std::isdigit(static_cast<unsigned char>(arch[digits]))) ++digits;
  const size_t count = digits - 3;
  const bool suffix_ok = digits == arch.size() || (digits + 1 == arch.size() && std::islower(static_cast<unsigned char>(arch[digits])));
  return count >= 2 && count <= 3 && arch[3] != '0' && suffix_ok;
}

void checkCudaBinaries(const fb::GpuKernel& kernel, const std::string& where) {
  if (kernel.binaries() == nullptr) return;
  std::set<std::string> archs;
  for (flatbuffers::uoffset_t b = 0; b < kernel.binaries()->size(); ++b) {
    const fb::GpuBinary& binary = *kernel.binaries()->Get(b);
    const std::string arch = binary.arch() ? binary.arch()->str() : "";
    const std::string binary_where = where + " binary " + std::to_string(b);
    if (!isCudaArch(arch)) {
      throw invalidArtifact(binary_where + " has architecture '" + arch + "'; expected sm_<major><minor>, e.g. sm_80");
    }
    if (!archs.insert(arch).second) throw invalidArtifact(binary_where + ": architecture " + arch + " appears twice");
    static const uint8_t kElfMagic[4] = {0x7f, 'E', 'L', 'F'};
    if (binary.data() == nullptr || binary.data()->size() < 4 || std::memcmp(binary.data()->data(), kElfMagic, 4) != 0) {
      throw invalidArtifact(binary_where + " (" + arch + ") is not a cubin: it lacks the ELF magic number");
    }
  }
}

void checkKernel(const fb::GpuKernel& kernel, const std::string& target, const std::string& where) {
  if (kernel.name() == nullptr || kernel.name()->size() == 0) throw invalidArtifact(where + " has no name");
  if (kernel.code() == nullptr || kernel.code()->size() == 0) throw invalidArtifact(where + " has no code");
  if (kernel.entry() == nullptr || kernel.entry()->size() == 0) throw invalidArtifact(where + " names no entry");
  if (kernel.workgroup_size() == nullptr || kernel.workgroup_size()->size() != 3) {
    throw invalidArtifact(where + " needs 3 workgroup sizes");
  }
  for (uint32_t size : *kernel.workgroup_size()) {
    if (size == 0) throw invalidArtifact(where + " has a workgroup size of 0");
  }
  if (kernel.grid() == nullptr || kernel.grid()->size() != 3) throw invalidArtifact(where + " needs 3 grid axes");
  for (const fb::GridAxis* axis : *kernel.grid()) {
    if (axis->divisor() == 0) throw invalidArtifact(where + " has a grid axis with divisor 0");
  }
  if (target == "vulkan") {
    if (kernel.binaries() != nullptr && kernel.binaries()->size() > 0) {
      throw invalidArtifact(where + " has machine-code binaries, which only cuda kernels carry");
    }
    checkSpirv(kernel, where);
  }
  if (target == "cuda") {
    checkPtx(kernel, where);
    checkCudaBinaries(kernel, where);
  }
}

// The dims a kernel's grid may select, and its binding count, for a dispatch.
size_t gridDimCount(const fb::Dispatch& dispatch) {
  if (dispatch.kind() == fb::KernelKind::GradNorm) return 1;  // one launch per gradient: n_i
  return dispatch.dims() == nullptr ? 0 : dispatch.dims()->size();
}

uint32_t expectedBindings(const fb::Dispatch& dispatch) {
  if (dispatch.kind() == fb::KernelKind::GradNorm) return 4;  // hyper, norm, g_i, params
  return (dispatch.buffers() == nullptr ? 0 : dispatch.buffers()->size()) + 1;
}

std::string kernelWhere(const std::string& program_where, const fb::GpuKernel& kernel, flatbuffers::uoffset_t index) {
  return program_where + " kernel " + std::to_string(index) + (kernel.name() ? " '" + kernel.name()->str() + "'" : "");
}

// A kernel's next_phase names another kernel of the program with the same
// bindings, and following next_phase from it ends (no cycle).
void checkPhaseChain(const fb::GpuProgram& program, flatbuffers::uoffset_t first, const std::string& where) {
  const auto& kernels = *program.kernels();
  const fb::GpuKernel& start = *kernels.Get(first);
  const std::string start_where = kernelWhere(where, start, first);
  std::vector<bool> seen(kernels.size(), false);
  seen[first] = true;
  for (flatbuffers::uoffset_t at = first; kernels.Get(at)->next_phase() != -1;) {
    const fb::GpuKernel& kernel = *kernels.Get(at);
    const int32_t next = kernel.next_phase();
    const std::string at_where = kernelWhere(where, kernel, at);
    if (next < 0 || static_cast<flatbuffers::uoffset_t>(next) >= kernels.size()) {
      throw invalidArtifact(at_where + " has next_phase " + std::to_string(next) + ", neither -1 (none) nor one of the " +
                            std::to_string(kernels.size()) + " kernels");
    }
    const fb::GpuKernel& successor = *kernels.Get(static_cast<flatbuffers::uoffset_t>(next));
    if (seen[next]) {
      throw invalidArtifact(start_where + ": its chain of next_phase kernels loops back to " +
                            kernelWhere(where, successor, static_cast<flatbuffers::uoffset_t>(next)));
    }
    if (successor.bindings() != kernel.bindings()) {
      throw invalidArtifact(at_where + " has " + std::to_string(kernel.bindings()) + " bindings, but its next_phase " +
                            kernelWhere(where, successor, static_cast<flatbuffers::uoffset_t>(next)) + " has " +
                            std::to_string(successor.bindings()) + "; the phases of a dispatch share its bindings");
    }
    seen[next] = true;
    at = static_cast<flatbuffers::uoffset_t>(next);
  }
}

// The bindings and grid of `kernel` fit the dispatch it runs (`uses` says where).
void checkKernelFitsDispatch(const fb::GpuKernel& kernel, const fb::Dispatch& dispatch, const std::string& uses) {
  if (kernel.bindings() != expectedBindings(dispatch)) {
    throw invalidArtifact(uses + " with " + std::to_string(kernel.bindings()) + " bindings; the dispatch needs " +
                          std::to_string(expectedBindings(dispatch)) + " (its operands + the parameter block)");
  }
  const size_t dims = gridDimCount(dispatch);
  for (uint32_t axis = 0; axis < 3; ++axis) {
    const uint32_t mask = kernel.grid()->Get(axis)->dims_mask();
    if (dims < 32 && (mask >> dims) != 0) {
      throw invalidArtifact(uses + ": grid axis " + std::to_string(axis) + " selects dims (mask " +
                            std::to_string(mask) + ") beyond the dispatch's " + std::to_string(dims));
    }
  }
}

void checkArenaAlignment(const fb::Dispatch& dispatch, const std::string& where) {
  if (dispatch.buffers() == nullptr) return;
  for (flatbuffers::uoffset_t i = 0; i < dispatch.buffers()->size(); ++i) {
    const fb::BufferRef& ref = *dispatch.buffers()->Get(i);
    if (ref.space() == fb::BufferSpace::Arena && ref.index() % kGpuOperandAlignment != 0) {
      throw invalidArtifact(where + ": operand " + std::to_string(i) + " at arena offset " + std::to_string(ref.index()) +
                            " is not a multiple of " + std::to_string(kGpuOperandAlignment) +
                            " bytes, which GPU kernels need");
    }
  }
}

void checkProgram(const fb::Artifact& artifact, const fb::GpuProgram& program, const std::string& where) {
  const std::string target = program.target()->str();
  if (program.kernels() == nullptr) throw invalidArtifact(where + " has no kernels");
  const auto& kernels = *program.kernels();
  std::set<std::string> names;
  for (flatbuffers::uoffset_t k = 0; k < kernels.size(); ++k) {
    const fb::GpuKernel& kernel = *kernels.Get(k);
    const std::string kernel_where = kernelWhere(where, kernel, k);
    checkKernel(kernel, target, kernel_where);
    if (!names.insert(kernel.name()->str()).second) throw invalidArtifact(kernel_where + ": the name appears twice");
  }
  for (flatbuffers::uoffset_t k = 0; k < kernels.size(); ++k) checkPhaseChain(program, k, where);
  const auto& entry_points = *artifact.entry_points();
  const size_t entry_count = program.entries() == nullptr ? 0 : program.entries()->size();
  if (entry_count != entry_points.size()) {
    throw invalidArtifact(where + " has " + std::to_string(entry_count) + " entries for " +
                          std::to_string(entry_points.size()) + " entry points");
  }
  for (flatbuffers::uoffset_t e = 0; e < entry_points.size(); ++e) {
    const fb::EntryPoint& entry = *entry_points.Get(e);
    const std::string entry_where = where + " entry point '" + entry.name()->str() + "'";
    const auto* kernel_of_dispatch = program.entries()->Get(e)->kernel_of_dispatch();
    const size_t dispatch_count = entry.dispatches() == nullptr ? 0 : entry.dispatches()->size();
    const size_t mapped = kernel_of_dispatch == nullptr ? 0 : kernel_of_dispatch->size();
    if (mapped != dispatch_count) {
      throw invalidArtifact(entry_where + " maps " + std::to_string(mapped) + " dispatches to kernels, but has " +
                            std::to_string(dispatch_count));
    }
    for (flatbuffers::uoffset_t d = 0; d < dispatch_count; ++d) {
      const fb::Dispatch& dispatch = *entry.dispatches()->Get(d);
      const std::string dispatch_where = entry_where + " dispatch " + std::to_string(d) +
                                         (dispatch.name() ? " '" + dispatch.name()->str() + "'" : "");
      const uint32_t index = kernel_of_dispatch->Get(d);
      if (index >= kernels.size()) {
        throw invalidArtifact(dispatch_where + " uses kernel " + std::to_string(index) + ", but the program has " +
                              std::to_string(kernels.size()));
      }
      checkArenaAlignment(dispatch, dispatch_where);
      // The first kernel and each phase after it (chains are checked above).
      for (int64_t phase = index; phase >= 0; phase = kernels.Get(static_cast<flatbuffers::uoffset_t>(phase))->next_phase()) {
        const fb::GpuKernel& kernel = *kernels.Get(static_cast<flatbuffers::uoffset_t>(phase));
        checkKernelFitsDispatch(kernel, dispatch,
                                dispatch_where + " uses kernel " + std::to_string(phase) + " '" + kernel.name()->str() + "'");
      }
    }
  }
}

}  // namespace

void verifyGpuPrograms(const fb::Artifact& artifact) {
  const std::vector<std::string> targets = targetList(artifact.target()->str());
  std::set<std::string> programs;
  if (artifact.gpu_programs() != nullptr) {
    for (flatbuffers::uoffset_t p = 0; p < artifact.gpu_programs()->size(); ++p) {
      const fb::GpuProgram& program = *artifact.gpu_programs()->Get(p);
      const std::string target = program.target() ? program.target()->str() : "";
      const std::string where = "gpu program '" + target + "'";
      if (!isGpuTarget(target)) throw invalidArtifact("gpu program " + std::to_string(p) + " has target '" + target + "', not a GPU target (vulkan, cuda)");
      if (std::find(targets.begin(), targets.end(), target) == targets.end()) {
        throw invalidArtifact(where + " is for a target the artifact does not name ('" + artifact.target()->str() + "')");
      }
      if (!programs.insert(target).second) throw invalidArtifact(where + " appears twice");
      checkProgram(artifact, program, where);
    }
  }
  for (const std::string& target : targets) {
    if (isGpuTarget(target) && programs.count(target) == 0) {
      throw invalidArtifact("the artifact names target '" + target + "' but has no gpu program for it");
    }
  }
}

}  // namespace lathe::runtime
