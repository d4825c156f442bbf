// Each rejection of the artifact verifier's gpu program checks, and that a
// well-formed program passes.
#include <cstring>
#include <functional>

#include "VulkanArtifacts.h"

namespace lathe::test {
namespace {

// The AddActModel artifact after `change`, which must be refused naming `problem`.
void expectRefused(const std::function<void(fb::ArtifactT&)>& change, const std::string& problem) {
  fb::ArtifactT artifact = AddActModel().artifact();
  change(artifact);
  expectInvalidArtifact(artifact, problem);
}

fb::GpuProgramT& program(fb::ArtifactT& artifact) { return *artifact.gpu_programs[0]; }
fb::GpuKernelT& kernel(fb::ArtifactT& artifact, size_t index) { return *program(artifact).kernels[index]; }

uint32_t word(const fb::GpuKernelT& kernel, size_t index) {
  uint32_t value;
  std::memcpy(&value, kernel.code.data() + 4 * index, 4);
  return value;
}
void setWord(fb::GpuKernelT& kernel, size_t index, uint32_t value) {
  std::memcpy(kernel.code.data() + 4 * index, &value, 4);
}
// The word index of the first instruction with `opcode`.
size_t findInstruction(const fb::GpuKernelT& kernel, uint16_t opcode) {
  for (size_t at = 5; at < kernel.code.size() / 4; at += word(kernel, at) >> 16) {
    if ((word(kernel, at) & 0xffff) == opcode) return at;
  }
  throw std::runtime_error("no instruction with opcode " + std::to_string(opcode));
}

TEST(GpuProgramVerifier, AcceptsWellFormedProgram) {
  lathe_status status = LATHE_OK;
  ArtifactHandle handle = openArtifact(AddActModel().artifact(), &status);
  EXPECT_EQ(status, LATHE_OK) << lathe_last_error();
  EXPECT_NE(handle, nullptr);
}

TEST(GpuProgramVerifier, RefusesProgramsThatDoNotMatchTheTargets) {
  expectRefused([](fb::ArtifactT& a) { a.gpu_programs.clear(); },
                "the artifact names target 'vulkan' but has no gpu program for it");
  expectRefused([](fb::ArtifactT& a) { a.target = "cpu"; },
                "gpu program 'vulkan' is for a target the artifact does not name ('cpu')");
  expectRefused([](fb::ArtifactT& a) { program(a).target = "cpu"; },
                "gpu program 0 has target 'cpu', not a GPU target");
  expectRefused(
      [](fb::ArtifactT& a) {
        auto copy = std::make_unique<fb::GpuProgramT>();
        copy->target = "vulkan";
        a.gpu_programs.push_back(std::move(copy));
      },
      "gpu program 'vulkan' appears twice");
}

TEST(GpuProgramVerifier, RefusesEntriesThatDoNotMatchTheDispatches) {
  expectRefused([](fb::ArtifactT& a) { program(a).entries.push_back(std::make_unique<fb::GpuEntryT>()); },
                "gpu program 'vulkan' has 2 entries for 1 entry points");
  expectRefused([](fb::ArtifactT& a) { program(a).entries[0]->kernel_of_dispatch.pop_back(); },
                "gpu program 'vulkan' entry point 'forward' maps 1 dispatches to kernels, but has 2");
  expectRefused([](fb::ArtifactT& a) { program(a).entries[0]->kernel_of_dispatch[1] = 7; },
                "entry point 'forward' dispatch 1 'act' uses kernel 7, but the program has 2");
  expectRefused([](fb::ArtifactT& a) { kernel(a, 0).bindings = 3; },
                "dispatch 0 'sum' uses kernel 0 'binary_f32' with 3 bindings; the dispatch needs 4");
  expectRefused([](fb::ArtifactT& a) { kernel(a, 1).grid[1] = fb::GridAxis(2, 1, false); },
                "dispatch 1 'act' uses kernel 1 'unary_f32': grid axis 1 selects dims (mask 2) beyond the dispatch's 1");
}

TEST(GpuProgramVerifier, RefusesArenaOperandsThatGpuKernelsCannotLoad16BytesAtATime) {
  expectRefused(
      [](fb::ArtifactT& a) {
        fb::EntryPointT& entry = *a.entry_points[0];
        entry.arena_bytes += 16;
        entry.dispatches[0]->buffers[2] = fb::BufferRef(fb::BufferSpace::Arena, 4);
        entry.dispatches[1]->buffers[0] = fb::BufferRef(fb::BufferSpace::Arena, 4);
      },
      "entry point 'forward' dispatch 0 'sum': operand 2 at arena offset 4 is not a multiple of 16 bytes");
}

TEST(GpuProgramVerifier, RefusesMalformedKernels) {
  expectRefused([](fb::ArtifactT& a) { kernel(a, 1).name.clear(); }, "gpu program 'vulkan' kernel 1 has no name");
  expectRefused([](fb::ArtifactT& a) { kernel(a, 1).name = "binary_f32"; },
                "kernel 1 'binary_f32': the name appears twice");
  expectRefused([](fb::ArtifactT& a) { kernel(a, 1).code.clear(); }, "kernel 1 'unary_f32' has no code");
  expectRefused([](fb::ArtifactT& a) { kernel(a, 1).entry.clear(); }, "kernel 1 'unary_f32' names no entry");
  expectRefused([](fb::ArtifactT& a) { kernel(a, 1).workgroup_size = {32, 1}; },
                "kernel 1 'unary_f32' needs 3 workgroup sizes");
  expectRefused([](fb::ArtifactT& a) { kernel(a, 1).workgroup_size[2] = 0; },
                "kernel 1 'unary_f32' has a workgroup size of 0");
  expectRefused([](fb::ArtifactT& a) { kernel(a, 1).grid.pop_back(); }, "kernel 1 'unary_f32' needs 3 grid axes");
  expectRefused([](fb::ArtifactT& a) { kernel(a, 1).grid[0] = fb::GridAxis(1, 0, false); },
                "kernel 1 'unary_f32' has a grid axis with divisor 0");
}

TEST(GpuProgramVerifier, RefusesBrokenPhaseChains) {
  expectRefused([](fb::ArtifactT& a) { kernel(a, 0).next_phase = 2; },
                "gpu program 'vulkan' kernel 0 'binary_f32' has next_phase 2, neither -1 (none) nor one of the 2 kernels");
  expectRefused([](fb::ArtifactT& a) { kernel(a, 1).next_phase = -7; },
                "kernel 1 'unary_f32' has next_phase -7, neither -1 (none) nor one of the 2 kernels");
  expectRefused([](fb::ArtifactT& a) { kernel(a, 1).next_phase = 1; },
                "kernel 1 'unary_f32': its chain of next_phase kernels loops back to gpu program 'vulkan' kernel 1 "
                "'unary_f32'");
  expectRefused(
      [](fb::ArtifactT& a) {
        kernel(a, 0).next_phase = 1;
        kernel(a, 1).next_phase = 0;
        kernel(a, 1).bindings = 4;  // the same as kernel 0's, so only the loop is wrong
      },
      "kernel 0 'binary_f32': its chain of next_phase kernels loops back to gpu program 'vulkan' kernel 0 'binary_f32'");
  expectRefused([](fb::ArtifactT& a) { kernel(a, 0).next_phase = 1; },
                "kernel 0 'binary_f32' has 4 bindings, but its next_phase gpu program 'vulkan' kernel 1 'unary_f32' has "
                "3; the phases of a dispatch share its bindings");
}

TEST(GpuProgramVerifier, ChecksEveryPhaseAgainstItsDispatch) {
  // 'act' chains a second phase (a copy of its kernel) whose grid selects a dim the dispatch lacks.
  expectRefused(
      [](fb::ArtifactT& a) {
        auto again = std::make_unique<fb::GpuKernelT>(kernel(a, 1));
        again->name = "unary_f32_again";
        again->grid[1] = fb::GridAxis(2, 1, false);
        program(a).kernels.push_back(std::move(again));
        kernel(a, 1).next_phase = 2;
      },
      "dispatch 1 'act' uses kernel 2 'unary_f32_again': grid axis 1 selects dims (mask 2) beyond the dispatch's 1");
}

TEST(GpuProgramVerifier, AcceptsPhaseChains) {
  fb::ArtifactT artifact = AddActModel().artifact();
  auto again = std::make_unique<fb::GpuKernelT>(kernel(artifact, 1));
  again->name = "unary_f32_again";
  program(artifact).kernels.push_back(std::move(again));
  kernel(artifact, 1).next_phase = 2;
  lathe_status status = LATHE_OK;
  ArtifactHandle handle = openArtifact(artifact, &status);
  EXPECT_EQ(status, LATHE_OK) << lathe_last_error();
  EXPECT_NE(handle, nullptr);
}

TEST(GpuProgramVerifier, RefusesMalformedSpirv) {
  const std::string where = "gpu program 'vulkan' kernel 1 'unary_f32': SPIR-V ";
  expectRefused([](fb::ArtifactT& a) { kernel(a, 1).code.push_back(0); },
                "kernel 1 'unary_f32': SPIR-V code is " + std::to_string(spirvCode("unary").size() + 1) +
                    " bytes, not whole 32-bit words");
  expectRefused([](fb::ArtifactT& a) { kernel(a, 1).code.resize(12); }, where + "has 3 words, fewer than its header");
  expectRefused([](fb::ArtifactT& a) { setWord(kernel(a, 1), 0, 0x12345678); },
                where + "has magic number 0x12345678, expected 0x07230203");
  expectRefused([](fb::ArtifactT& a) { setWord(kernel(a, 1), 1, 0x00020000); },
                where + "has version 0x00020000; Vulkan 1.2 takes SPIR-V 1.0 to 1.5");
  expectRefused([](fb::ArtifactT& a) { setWord(kernel(a, 1), 5, (0xffffu << 16) | 17u); },
                where + "instruction at word 5 (opcode 17) has word count 65535, beyond the module's");
  expectRefused([](fb::ArtifactT& a) { kernel(a, 1).entry = "start"; }, where + "has no OpEntryPoint named 'start'");
  expectRefused([](fb::ArtifactT& a) { kernel(a, 1).workgroup_size[0] = 64; },
                where + "LocalSize 32 along axis 0 differs from workgroup_size 64");
  expectRefused(
      [](fb::ArtifactT& a) {
        fb::GpuKernelT& unary = kernel(a, 1);
        setWord(unary, findInstruction(unary, 15) + 2, 0x7fff);  // OpEntryPoint names a function id that is not there
      },
      where + "fails validation for Vulkan 1.2");
}

TEST(GpuProgramVerifier, RefusesSpirvUsingUndeclaredCapabilitiesOrExtensions) {
  expectRefused(
      [](fb::ArtifactT& a) {
        program(a).kernels[1] = makeKernel("unary_f32", "clustered", 32, false, 3, {"Shader", "GroupNonUniform"});
      },
      "kernel 1 'unary_f32': SPIR-V uses capability GroupNonUniformClustered, which the kernel does not declare");
  expectRefused(
      [](fb::ArtifactT& a) {
        // Turn the first OpCapability into OpExtension "A" (same length).
        fb::GpuKernelT& unary = kernel(a, 1);
        const size_t at = findInstruction(unary, 17);
        setWord(unary, at, (2u << 16) | 10u);
        setWord(unary, at + 1, 'A');
      },
      "kernel 1 'unary_f32': SPIR-V uses extension A, which the kernel does not declare");
}

}  // namespace
}  // namespace lathe::test
