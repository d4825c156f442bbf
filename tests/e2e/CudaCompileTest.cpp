// `lathe compile --target cpu,cuda` end to end, without a GPU: the test models
// (inference and training entry points) compile, every kernel assembles with
// ptxas for each --cuda-arch, and the artifact opens (its verifier checks the
// GPU program). Skips, with the reason, when ptxas is not installed.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "Artifact.h"
#include "lathe/codegen/gpu/PtxAssembler.h"

namespace lathe {
namespace {

struct Compiled {
  int status = -1;
  std::string output;
};

/// Runs `lathe compile ARGUMENTS` with `environment` ("NAME=value ...") prepended.
Compiled runLathe(const std::string& arguments, const std::string& environment = "") {
  // One log per process: ctest runs the tests of this file in parallel processes.
  const std::string log = ::testing::TempDir() + "/lathe_compile." + std::to_string(getpid()) + ".log";
  const std::string command =
      "env " + environment + std::string(LATHE_BIN) + " compile " + arguments + " > " + log + " 2>&1";
  Compiled result;
  const int status = std::system(command.c_str());
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::stringstream text;
  text << std::ifstream(log).rdbuf();
  result.output = text.str();
  std::remove(log.c_str());
  return result;
}

bool haveCudaToolchain(std::string& why) { return !codegen::gpu::findPtxas(why).empty(); }

struct ModelCase {
  const char* config;
  bool train;
};

class CudaCompile : public ::testing::TestWithParam<ModelCase> {};

TEST_P(CudaCompile, EveryKernelHasPtxAndCubinsForEachArch) {
  std::string why;
  if (!haveCudaToolchain(why)) GTEST_SKIP() << why;
  const ModelCase& c = GetParam();
  const std::string artifact_path = ::testing::TempDir() + "/" + c.config + (c.train ? "_train" : "") + ".lathe";
  const Compiled compiled = runLathe(std::string(LATHE_CONFIGS) + "/" + c.config + ".yaml --target cpu,cuda " +
                                     "--cuda-arch sm_90,sm_80 --max-batch 2" + (c.train ? " --train" : "") + " -o " +
                                     artifact_path);
  ASSERT_EQ(compiled.status, 0) << compiled.output;

  auto artifact = runtime::Artifact::openFile(artifact_path);  // runs the verifier
  ASSERT_TRUE(artifact->hasTarget("cuda"));
  const fb::GpuProgram* program = artifact->gpuProgram("cuda");
  ASSERT_NE(program, nullptr);
  ASSERT_GT(program->kernels()->size(), 0u);
  for (const fb::GpuKernel* kernel : *program->kernels()) {
    const std::string name = kernel->name()->str();
    const std::string ptx(kernel->code()->begin(), kernel->code()->end());
    EXPECT_NE(ptx.find(".target sm_80"), std::string::npos) << name << ": PTX for the oldest named architecture";
    EXPECT_NE(ptx.find(".entry " + kernel->entry()->str()), std::string::npos) << name;
    ASSERT_NE(kernel->capabilities(), nullptr) << name;
    ASSERT_EQ(kernel->capabilities()->size(), 1u) << name;
    EXPECT_EQ(kernel->capabilities()->Get(0)->str(), "sm_80") << name;
    ASSERT_NE(kernel->binaries(), nullptr) << name;
    std::set<std::string> archs;
    for (const fb::GpuBinary* binary : *kernel->binaries()) {
      archs.insert(binary->arch()->str());
      ASSERT_GE(binary->data()->size(), 4u) << name;
      EXPECT_EQ(std::string(binary->data()->begin(), binary->data()->begin() + 4), "\x7f" "ELF") << name;
      EXPECT_EQ(reinterpret_cast<uintptr_t>(binary->data()->data()) % 64, 0u) << name << ": cubins are aligned";
    }
    EXPECT_EQ(archs, (std::set<std::string>{"sm_80", "sm_90"})) << name;
  }
  std::remove(artifact_path.c_str());
}

INSTANTIATE_TEST_SUITE_P(TestModels, CudaCompile,
                         ::testing::Values(ModelCase{"llama_tiny", false}, ModelCase{"llama_tiny", true},
                                           ModelCase{"gpt2_tiny", false}, ModelCase{"gpt2_tiny", true}),
                         [](const ::testing::TestParamInfo<ModelCase>& info) {
                           return std::string(info.param.config) + (info.param.train ? "_train" : "_infer");
                         });

TEST(CudaCompileErrors, UnknownArchitectureIsRefusedByName) {
  std::string why;
  if (!haveCudaToolchain(why)) GTEST_SKIP() << why;
  const Compiled compiled = runLathe(std::string(LATHE_CONFIGS) + "/gpt2_tiny.yaml --target cpu,cuda --cuda-arch " +
                                     "sm_80,sm_42 -o " + ::testing::TempDir() + "/never.lathe");
  EXPECT_NE(compiled.status, 0);
  EXPECT_NE(compiled.output.find("--cuda-arch: unknown CUDA architecture 'sm_42'"), std::string::npos)
      << compiled.output;
}

TEST(CudaCompileErrors, MissingPtxasIsReported) {
  const Compiled compiled = runLathe(std::string(LATHE_CONFIGS) + "/gpt2_tiny.yaml --target cpu,cuda -o " +
                                     ::testing::TempDir() + "/never_ptxas.lathe", "CUDA_ROOT=/nonexistent ");
  EXPECT_NE(compiled.status, 0);
  EXPECT_NE(compiled.output.find("ptxas not found: install the CUDA toolkit or set CUDA_ROOT"), std::string::npos)
      << compiled.output;
}

}  // namespace
}  // namespace lathe
