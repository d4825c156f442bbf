// lathe compile MODEL [--target cpu,vulkan,cuda] [--cuda-arch sm_80,sm_90] [--weight-dtype f16] [--tokenizer DIR]
//               -o model.lathe
#include "Commands.h"

#include "lathe/codegen/ArtifactWriter.h"
#include "lathe/codegen/gpu/PtxAssembler.h"
#include "lathe/codegen/gpu/PtxLowering.h"
#include "lathe/frontend/Frontend.h"
#include "lathe/ir/LatheDialect.h"
#include "lathe/ir/ModelBuilder.h"
#include "lathe/passes/Passes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

#include <sys/stat.h>

#include <fstream>
#include <optional>
#include <iostream>
#include <memory>
#include <stdexcept>

namespace lathe::tool {
namespace {

struct CompileOptions {
  std::string model;
  std::string output = "model.lathe";
  std::string target = "cpu";
  std::vector<std::string> cuda_archs{"sm_80", "sm_90"};
  bool cuda_tensor_cores = true;
  std::string matmul_precision = "fp32";  // or "tf32"
  int64_t max_batch = 4;
  int64_t max_seq = 0;  // 0: the model's context length
  uint64_t seed = 0;
  std::string dump_lathe_ir;
  std::string dump_kernel_ir;
  std::string tokenizer;
  bool infer = true;  // also emit prefill/decode with a KV cache
  bool train = false; // also emit train_micro_step, optimizer_step and eval_loss on parameter states
  std::string weight_dtype = "f32";  // or "f16"
};

bool isDirectory(const std::string& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

/// The tokenizer to embed: --tokenizer, else one found in the model directory
/// (tokenizer.json or vocab.json + merges.txt). A found one that Lathe cannot
/// read is skipped with a warning; an explicit one must load.
std::optional<codegen::TokenizerData> findTokenizer(const CompileOptions& options, int64_t model_vocab) {
  std::optional<Tokenizer> tokenizer;
  if (!options.tokenizer.empty()) {
    tokenizer = openTokenizer(options.tokenizer);
  } else if (isDirectory(options.model)) {
    try {
      tokenizer = Tokenizer::load(options.model);
      std::cerr << "lathe: using the tokenizer in " << options.model << "\n";
    } catch (const RuntimeError& error) {
      if (error.status() != LATHE_ERROR_NOT_FOUND)
        std::cerr << "lathe: warning: not embedding the model directory's tokenizer: " << error.what() << "\n";
    }
  }
  if (!tokenizer) return std::nullopt;
  if (static_cast<int64_t>(tokenizer->tokenCount()) > model_vocab)
    throw std::runtime_error("the tokenizer has " + std::to_string(tokenizer->tokenCount()) +
                             " tokens, more than the model's vocabulary (" + std::to_string(model_vocab) + ")");
  codegen::TokenizerData data;
  for (size_t id = 0; id < tokenizer->tokenCount(); ++id) {
    data.tokens.push_back(tokenizer->tokenBytes(static_cast<int32_t>(id)));
    if (tokenizer->isSpecial(static_cast<int32_t>(id))) data.special_ids.push_back(static_cast<uint32_t>(id));
  }
  for (size_t rank = 0; rank < tokenizer->mergeCount(); ++rank) data.merges.push_back(tokenizer->merge(rank));
  return data;
}

void dumpIR(mlir::ModuleOp module, const std::string& path) {
  if (path.empty()) return;
  std::string text;
  llvm::raw_string_ostream stream(text);
  module.print(stream);
  writeFileAtomically(path, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

/// `targets` is a comma-separated list of cpu, vulkan and cuda. Returns
/// whether cuda is among them.
bool checkTargets(const std::string& targets) {
  std::stringstream list(targets);
  std::string target;
  bool any = false, cuda = false;
  while (std::getline(list, target, ',')) {
    if (target != "cpu" && target != "vulkan" && target != "cuda")
      throw std::runtime_error("--target: '" + target +
                               "' is not supported (supported: cpu, vulkan, cuda, e.g. cpu,cuda)");
    any = true;
    cuda = cuda || target == "cuda";
  }
  if (!any) throw std::runtime_error("--target names no target");
  return cuda;
}

/// The cuda target needs known architectures and ptxas: say so before compiling.
void checkCudaToolchain(const std::vector<std::string>& archs) {
  std::string error;
  if (codegen::gpu::lowestCudaArch(archs, error).empty()) throw std::runtime_error("--cuda-arch: " + error);
  if (codegen::gpu::findPtxas(error).empty()) throw std::runtime_error("--target cuda: " + error);
}

std::vector<uint8_t> compileToBytes(const CompileOptions& options, int64_t* max_seq_out) {
  if (checkTargets(options.target)) checkCudaToolchain(options.cuda_archs);
  const bool f16_weights = options.weight_dtype == "f16";
  if (f16_weights && options.train)
    throw std::runtime_error("--weight-dtype f16 cannot be combined with --train: fp16 weights are for inference "
                             "artifacts (trainable parameter states start from f32 weights)");
  Model model = loadModel(options.model, options.seed);
  int64_t max_seq = options.max_seq ? options.max_seq : model.spec.context_length;
  if (options.max_batch < 1) throw std::runtime_error("--max-batch must be at least 1");
  if (max_seq < 1 || max_seq > model.spec.context_length)
    throw std::runtime_error("--max-seq must lie in [1, " + std::to_string(model.spec.context_length) +
                             "] (the model's context length), got " + std::to_string(max_seq));
  *max_seq_out = max_seq;

  mlir::DialectRegistry registry;
  ir::registerGradientModels(registry);  // lathe-autodiff's rules (--train)
  mlir::MLIRContext context(registry);
  std::string diagnostics;
  llvm::raw_string_ostream diagnostic_stream(diagnostics);
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic& diag) {
    diagnostic_stream << diag.getLocation() << ": " << diag << "\n";
    return mlir::success();
  });
  auto fail = [&](const std::string& stage) {
    throw std::runtime_error("compiling '" + options.model + "' failed in " + stage + ":\n" + diagnostics);
  };

  mlir::OwningOpRef<mlir::ModuleOp> module =
      options.infer ? ir::buildInference(context, model.spec, options.max_batch, max_seq)
                    : ir::buildForward(context, model.spec, options.max_batch, max_seq);
  if (mlir::failed(mlir::verify(*module))) fail("IR construction");
  if (options.train) {
    mlir::PassManager training(&context);
    training.addPass(passes::createAutodiff());
    training.addPass(passes::createBuildTraining());
    if (mlir::failed(training.run(*module))) fail("building the training entry points");
  }
  dumpIR(*module, options.dump_lathe_ir);

  mlir::PassManager pm(&context);
  passes::buildKernelPipeline(pm);
  if (mlir::failed(pm.run(*module))) fail("the kernel pipeline");
  dumpIR(*module, options.dump_kernel_ir);

  codegen::ArtifactOptions artifact_options;
  artifact_options.target = options.target;
  artifact_options.cuda_archs = options.cuda_archs;
  artifact_options.cuda_tensor_cores = options.cuda_tensor_cores;
  artifact_options.tf32_matmul = options.matmul_precision == "tf32";
  artifact_options.model_json = specToJson(model.spec);
  artifact_options.tokenizer = findTokenizer(options, model.spec.vocab_size);
  artifact_options.weight_dtype = f16_weights ? DType::F16 : DType::F32;
  std::vector<uint8_t> bytes = codegen::writeArtifact(*module, model.weights, artifact_options);
  if (bytes.empty()) fail("artifact encoding");
  return bytes;
}

void compile(const CompileOptions& options) {
  int64_t max_seq = 0;
  const std::vector<uint8_t> bytes = compileToBytes(options, &max_seq);
  writeFileAtomically(options.output, bytes.data(), bytes.size());
  std::cerr << "lathe: wrote " << options.output << " (" << bytes.size() / 1024 << " KiB, target "
            << options.target << ", max batch " << options.max_batch << ", max seq " << max_seq
            << (options.tokenizer.empty() ? "" : ", with tokenizer") << (options.train ? ", with training" : "")
            << (options.weight_dtype == "f16" ? ", f16 weights" : "")
            << (options.matmul_precision == "tf32" ? ", tf32 matmuls" : "")
            << ")\n";
}

}  // namespace

std::vector<uint8_t> compileModel(const CompileRequest& request) {
  CompileOptions options;
  options.model = request.model;
  options.max_batch = request.max_batch;
  options.max_seq = request.max_seq;
  options.seed = request.seed;
  options.tokenizer = request.tokenizer;
  options.train = request.train;
  const std::string kind = request.device.substr(0, request.device.find(':'));
  options.target = kind == "cpu" ? "cpu" : "cpu," + kind;
  int64_t max_seq = 0;
  return compileToBytes(options, &max_seq);
}

void addCompileCommand(CLI::App& app) {
  auto options = std::make_shared<CompileOptions>();
  CLI::App* cmd = app.add_subcommand("compile", "Compile a model (file or directory) to an artifact");
  cmd->add_option("model", options->model,
                   "Lathe model file (.yaml), Lathe directory, or Hugging Face directory")->required();
  cmd->add_option("-o,--output", options->output, "artifact to write")->capture_default_str();
  cmd->add_option("--target", options->target,
                  "targets to generate code for, comma-separated: cpu, vulkan, cuda (e.g. cpu,vulkan)")
      ->capture_default_str();
  cmd->add_option("--cuda-arch", options->cuda_archs,
                  "CUDA architectures to assemble cubins for (target cuda), comma-separated; the PTX targets the "
                  "oldest and JITs forward")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_flag("--tensor-cores,!--no-tensor-cores", options->cuda_tensor_cores,
                "target cuda: GEMMs on tensor cores (wmma, sm_80+; default), else the scalar tiled kernels");
  cmd->add_option("--matmul-precision", options->matmul_precision,
                  "what tensor-core GEMMs compute with: fp32 (operands split in two TF32 parts, three products: "
                  "fp32-level error) or tf32 (one product on TF32-rounded operands: 3x faster, ~1e-3 relative)")
      ->check(CLI::IsMember({"fp32", "tf32"}))
      ->capture_default_str();
  cmd->add_option("--max-batch", options->max_batch, "largest batch the artifact accepts")->capture_default_str();
  cmd->add_option("--max-seq", options->max_seq, "longest sequence the artifact accepts (default: context length)");
  cmd->add_flag("--infer,!--no-infer", options->infer,
                "emit prefill/decode entry points with a KV cache of max-batch x max-seq (default) beside forward");
  cmd->add_flag("--train", options->train,
                "also emit train_micro_step, optimizer_step and eval_loss; every entry point then reads the "
                "trainable parameter states (param.<weight>) instead of the weights");
  cmd->add_option("--weight-dtype", options->weight_dtype,
                  "how weights are stored: f32, or f16 (IEEE half, round to nearest even: half the size; "
                  "inference only)")
      ->check(CLI::IsMember({"f32", "f16"}))
      ->capture_default_str();
  cmd->add_option("--seed", options->seed, "seed for random weights when the model has none")->capture_default_str();
  cmd->add_option("--tokenizer", options->tokenizer,
                   "tokenizer to embed: a directory (encoder.json + vocab.bpe, vocab.json + merges.txt, "
                   "tokenizer.json) or a tokenizer.json; default: the one in a Hugging Face model directory");
  cmd->add_option("--dump-lathe-ir", options->dump_lathe_ir, "write the lathe dialect IR to this file");
  cmd->add_option("--dump-kernel-ir", options->dump_kernel_ir, "write the planned kernel IR to this file");
  cmd->callback([options] { compile(*options); });
}

}  // namespace lathe::tool
