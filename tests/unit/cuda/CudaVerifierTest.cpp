// The artifact verifier's checks of "cuda" gpu programs (PTX text, cubins),
// on artifacts with hand-written PTX: they need no GPU and no CUDA toolkit.
#include <functional>

#include "CudaArtifacts.h"

namespace lathe::test {
namespace {

using ::testing::HasSubstr;

fb::GpuKernelT& kernel(fb::ArtifactT& artifact, size_t index) { return *artifact.gpu_programs[0]->kernels[index]; }

void setPtx(fb::ArtifactT& artifact, size_t index, const std::string& text) {
  kernel(artifact, index).code.assign(text.begin(), text.end());
}

std::string ptxText(size_t index) {
  fb::ArtifactT artifact = handWrittenModel().artifact();
  const std::vector<uint8_t>& code = kernel(artifact, index).code;
  return {code.begin(), code.end()};
}

// The hand-written model after `change`, which must be refused naming `problem`.
void expectRefused(const std::function<void(fb::ArtifactT&)>& change, const std::string& problem) {
  fb::ArtifactT artifact = handWrittenModel().artifact();
  change(artifact);
  expectInvalidArtifact(artifact, problem);
}

void expectAccepted(const std::function<void(fb::ArtifactT&)>& change) {
  fb::ArtifactT artifact = handWrittenModel().artifact();
  change(artifact);
  lathe_status status = LATHE_OK;
  ArtifactHandle handle = openArtifact(artifact, &status);
  EXPECT_EQ(status, LATHE_OK) << lathe_last_error();
}

TEST(CudaVerifier, AcceptsWellFormedPrograms) {
  expectAccepted([](fb::ArtifactT&) {});
  // A terminating NUL (what cuModuleLoadData reads) and other real architecture names.
  expectAccepted([](fb::ArtifactT& a) { kernel(a, 1).code.push_back(0); });
  expectAccepted([](fb::ArtifactT& a) {
    auto binary = std::make_unique<fb::GpuBinaryT>();
    binary->arch = "sm_90a";
    binary->data = elfStub();
    kernel(a, 1).binaries.push_back(std::move(binary));
    binary = std::make_unique<fb::GpuBinaryT>();
    binary->arch = "sm_120";
    binary->data = elfStub();
    kernel(a, 1).binaries.push_back(std::move(binary));
  });
}

TEST(CudaVerifier, AcceptsTheKernelsBuiltWithNvcc) {
  std::optional<AddActModel> built = builtModel();
  if (!built) GTEST_SKIP() << "no nvcc when the tests were built";
  lathe_status status = LATHE_OK;
  ArtifactHandle handle = openArtifact(built->artifact(), &status);
  EXPECT_EQ(status, LATHE_OK) << lathe_last_error();
  EXPECT_GE(built->binary_cubins.size(), 1u);
}

TEST(CudaVerifier, RefusesPtxThatIsNotText) {
  expectRefused([](fb::ArtifactT& a) { kernel(a, 0).code = elfStub(); },
                "gpu program 'cuda' kernel 0 'binary_f32': PTX code is not text (byte 0x7f at offset 0)");
  expectRefused(
      [](fb::ArtifactT& a) {
        std::string text = ptxText(1);
        text[20] = '\0';
        setPtx(a, 1, text);
      },
      "kernel 1 'unary_f32': PTX code is not text (byte 0x00 at offset 20)");
}

TEST(CudaVerifier, RefusesPtxWithoutItsHeaderOrEntry) {
  const auto replace = [](std::string text, const std::string& from, const std::string& to) {
    text.replace(text.find(from), from.size(), to);
    return text;
  };
  expectRefused([&](fb::ArtifactT& a) { setPtx(a, 0, replace(ptxText(0), ".version 7.8", "")); },
                "kernel 0 'binary_f32': PTX code has no .version directive");
  expectRefused([&](fb::ArtifactT& a) { setPtx(a, 0, replace(ptxText(0), ".target sm_80", "// .target sm_80")); },
                "kernel 0 'binary_f32': PTX code has no .target directive");
  expectRefused([&](fb::ArtifactT& a) { kernel(a, 1).entry = "unary"; },
                "kernel 1 'unary_f32': PTX code has no .entry named 'unary'");
  // A .func is not a kernel, and an entry only mentioned in a comment does not count.
  expectRefused([&](fb::ArtifactT& a) { setPtx(a, 1, replace(ptxText(1), ".entry unary_f32", ".func unary_f32")); },
                "kernel 1 'unary_f32': PTX code has no .entry named 'unary_f32'");
  expectRefused(
      [&](fb::ArtifactT& a) {
        setPtx(a, 1, replace(ptxText(1), ".visible .entry unary_f32", "/* .entry unary_f32 */ .visible .entry other"));
      },
      "kernel 1 'unary_f32': PTX code has no .entry named 'unary_f32'");
}

TEST(CudaVerifier, RefusesMalformedBinaries) {
  for (const char* arch : {"sm80", "compute_80", "sm_8", "sm_", "SM_80", "sm_80ab", "sm_0800"}) {
    expectRefused([&](fb::ArtifactT& a) { kernel(a, 0).binaries[1]->arch = arch; },
                  std::string("kernel 0 'binary_f32' binary 1 has architecture '") + arch +
                      "'; expected sm_<major><minor>, e.g. sm_80");
  }
  expectRefused([](fb::ArtifactT& a) { kernel(a, 0).binaries[1]->arch = "sm_80"; },
                "kernel 0 'binary_f32' binary 1: architecture sm_80 appears twice");
  expectRefused([](fb::ArtifactT& a) { kernel(a, 0).binaries[0]->data = {'P', 'T', 'X', '!'}; },
                "kernel 0 'binary_f32' binary 0 (sm_80) is not a cubin: it lacks the ELF magic number");
  expectRefused([](fb::ArtifactT& a) { kernel(a, 0).binaries[0]->data.clear(); },
                "kernel 0 'binary_f32' binary 0 (sm_80) is not a cubin");
}

TEST(CudaVerifier, RefusesBinariesInVulkanKernels) {
  fb::ArtifactT artifact = handWrittenModel().artifact();
  artifact.target = "cpu,vulkan";
  artifact.gpu_programs[0]->target = "vulkan";
  lathe_status status = LATHE_OK;
  ArtifactHandle handle = openArtifact(artifact, &status);
  EXPECT_EQ(status, LATHE_ERROR_INVALID_ARTIFACT);
  EXPECT_THAT(lathe_last_error(),
              HasSubstr("gpu program 'vulkan' kernel 0 'binary_f32' has machine-code binaries, which only cuda "
                        "kernels carry"));
}

}  // namespace
}  // namespace lathe::test
