// lathe-bench-gpu-matmul: GFLOP/s of the GPU Gemm kernel on a GPU device, one
// JSON object per line. Each shape is a one-dispatch artifact (A and B inputs,
// C output) carrying the kernel `lathe compile` would generate; the time is the
// median of the device's own timestamps for the dispatch (profiling), so
// uploads and submission overhead are not counted. --kernel picks the variant
// on cuda: tensor cores at fp32 precision (split TF32 operands, the default),
// at TF32 precision, or the scalar tiled kernel (Vulkan's only one).
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "Driver.h"
#include "MatmulShapes.h"
#include "SchemaVersion.h"
#include "artifact_generated.h"
#include "lathe/codegen/gpu/GpuProgramWriter.h"
#include "lathe/lathe.hpp"

namespace {

using lathe::bench::MatmulShape;
namespace fb = lathe::fb;
namespace gpu = lathe::codegen::gpu;

std::unique_ptr<fb::TensorSpecT> matrix(const std::string& name, int64_t rows, int64_t cols) {
  auto spec = std::make_unique<fb::TensorSpecT>();
  spec->name = name;
  spec->dtype = fb::DType::F32;
  spec->shape = {fb::Dim(rows, 0, 0), fb::Dim(cols, 0, 0)};
  return spec;
}

/// The GEMM variant --kernel names, as GpuProgramOptions.
gpu::GpuProgramOptions kernelOptions(const std::string& kernel) {
  gpu::GpuProgramOptions options;
  options.tensor_cores = kernel != "scalar";
  if (kernel == "tensor-tf32") options.matmul_precision = gpu::MatmulPrecision::Tf32;
  return options;
}

/// C(M,N) = A(M,K) . op(B) as an artifact for the cpu and `target`.
std::vector<uint8_t> gemmArtifact(const MatmulShape& s, const std::string& target,
                                  const gpu::GpuProgramOptions& options) {
  fb::ArtifactT a;
  a.schema_version = fb::kSchemaVersion;
  a.producer = "lathe-bench-gpu-matmul";
  a.target = "cpu," + target;
  a.max_batch = a.max_seq = 1;
  auto entry = std::make_unique<fb::EntryPointT>();
  entry->name = "gemm";
  entry->inputs.push_back(matrix("A", s.M, s.K));
  entry->inputs.push_back(s.trans_b ? matrix("B", s.N, s.K) : matrix("B", s.K, s.N));
  entry->outputs.push_back(matrix("C", s.M, s.N));
  auto dispatch = std::make_unique<fb::DispatchT>();
  dispatch->kind = fb::KernelKind::Gemm;
  dispatch->name = s.name;
  dispatch->buffers = {fb::BufferRef(fb::BufferSpace::Input, 0), fb::BufferRef(fb::BufferSpace::Input, 1),
                       fb::BufferRef(fb::BufferSpace::Output, 0)};
  dispatch->dims = {fb::Dim(s.M, 0, 0), fb::Dim(s.N, 0, 0), fb::Dim(s.K, 0, 0)};
  dispatch->int_params = {s.trans_b ? 1 : 0, 0, 0, 0};  // trans_b, act none, no bias, no residual

  gpu::EntryDispatches shapes{"gemm", {{fb::KernelKind::Gemm, gpu::operandElements(fb::KernelKind::Gemm, 3,
                                                                                   dispatch->int_params),
                                        3, dispatch->int_params, 0, {s.M, s.N, s.K}}},
                              {s.name}};
  flatbuffers::FlatBufferBuilder program_fbb;
  std::string error;
  auto program = gpu::writeGpuProgram(program_fbb, target, {shapes}, error, options);
  if (program.IsNull()) throw std::runtime_error(error);
  program_fbb.Finish(program);
  a.gpu_programs.emplace_back(flatbuffers::GetRoot<fb::GpuProgram>(program_fbb.GetBufferPointer())->UnPack());

  entry->dispatches.push_back(std::move(dispatch));
  a.entry_points.push_back(std::move(entry));
  flatbuffers::FlatBufferBuilder fbb;
  fb::FinishArtifactBuffer(fbb, fb::Artifact::Pack(fbb, &a));
  return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

double medianGflops(const MatmulShape& s, const std::string& device, const std::string& kernel, int runs) {
  const std::string target = device.substr(0, device.find(':'));
  const std::vector<uint8_t> bytes = gemmArtifact(s, target, kernelOptions(kernel));
  lathe::Session session(lathe::Artifact::fromMemory(bytes.data(), bytes.size()), device);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> A(s.M * s.K), B(s.K * s.N);
  for (float& x : A) x = dist(rng);
  for (float& x : B) x = dist(rng);
  session.setInput("gemm", "A", {s.M, s.K}, A);
  session.setInput("gemm", "B", s.trans_b ? std::vector<int64_t>{s.N, s.K} : std::vector<int64_t>{s.K, s.N}, B);
  session.run("gemm");  // warm-up: pipeline creation, first-touch
  session.setProfiling(true);
  std::vector<double> rates;
  const double flops = 2.0 * double(s.M) * double(s.N) * double(s.K);
  for (int r = 0; r < runs; ++r) {
    session.run("gemm");
    const double seconds = session.profile().at(0).microseconds * 1e-6;
    rates.push_back(flops / seconds * 1e-9);
  }
  return lathe::bench::median(rates);
}

std::string jsonEscaped(const std::string& text) {
  std::string escaped;
  for (char c : text) {
    if (c == '"' || c == '\\') escaped += '\\';
    escaped += c == '\n' ? ' ' : c;
  }
  return escaped;
}

struct Options {
  std::string device = "vulkan";
  std::string kernel = "tensor-fp32";  // on cuda; Vulkan has the scalar kernel only
  int runs = 5;
  bool large = false;               // also kLargeMatmulShapes
  std::vector<std::string> shapes;  // names from the shape tables; empty: all
};

int benchmark(Options options) {
  if (options.device.rfind("cuda", 0) != 0) options.kernel = "scalar";
  const bool large = options.large || !options.shapes.empty();  // a shape named is run
  for (const MatmulShape& s : lathe::bench::selectedShapes(options.shapes, large)) {
    double gflops = 0.0;
    try {
      gflops = medianGflops(s, options.device, options.kernel, options.runs);
    } catch (const lathe::RuntimeError& error) {  // the device refuses the shape (e.g. a binding too large): say so, go on
      std::printf("{\"shape\": \"%s\", \"skipped\": \"%s\"}\n", s.name, jsonEscaped(error.what()).c_str());
      continue;
    }
    std::printf("{\"impl\": \"lathe-%s\", \"kernel\": \"%s\", \"shape\": \"%s\", \"M\": %lld, \"N\": %lld, "
                "\"K\": %lld, \"trans_b\": %s, \"gflops\": %.1f}\n",
                options.device.c_str(), options.kernel.c_str(), s.name, (long long)s.M, (long long)s.N,
                (long long)s.K, s.trans_b ? "true" : "false", gflops);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"GFLOP/s of the GPU Gemm kernel, one JSON object per shape", "lathe-bench-gpu-matmul"};
  app.add_option("--device", options.device, "vulkan[:N] or cuda[:N]");
  app.add_option("--kernel", options.kernel,
                 "cuda's GEMM: tensor cores at fp32 precision (split TF32 operands) or TF32, or the scalar kernel")
      ->check(CLI::IsMember({"tensor-fp32", "tensor-tf32", "scalar"}));
  app.add_option("--runs", options.runs, "timed runs per shape (median is reported)")
      ->check(lathe::bench::atLeast(1));
  app.add_flag("--large", options.large, "also the shapes only fast GPUs run quickly (M = 16384, 4096 square)");
  app.add_option("--shape", options.shapes, "only this shape (repeatable)")
      ->check(CLI::IsMember(lathe::bench::matmulShapeNames(/*large=*/true)));
  return lathe::bench::runDriver(app, argc, argv, [&] { return benchmark(options); });
}
