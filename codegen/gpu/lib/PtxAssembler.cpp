#include "lathe/codegen/gpu/PtxAssembler.h"

#include <cstdlib>
#include <optional>

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

namespace lathe::codegen::gpu {

namespace {

bool isExecutable(const std::string& path) {
  return llvm::sys::fs::exists(path) && llvm::sys::fs::can_execute(path);
}

/// A temporary file removed when this goes out of scope.
struct TempFile {
  llvm::SmallString<128> path;
  std::optional<llvm::FileRemover> remover;

  bool create(llvm::StringRef suffix, std::string& error) {
    if (std::error_code ec = llvm::sys::fs::createTemporaryFile("lathe-ptx", suffix, path)) {
      error = "cannot create a temporary file: " + ec.message();
      return false;
    }
    remover.emplace(path);
    return true;
  }
};

std::string readFile(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  return buffer ? (*buffer)->getBuffer().str() : std::string();
}

}  // namespace

std::string findPtxas(std::string& error) {
  const char* missing = "ptxas not found: install the CUDA toolkit or set CUDA_ROOT";
  if (const char* root = std::getenv("CUDA_ROOT"); root && *root) {  // names the toolkit to use
    const std::string path = std::string(root) + "/bin/ptxas";
    if (isExecutable(path)) return path;
    error = std::string(missing) + " (CUDA_ROOT=" + root + " has no bin/ptxas)";
    return {};
  }
  if (isExecutable("/usr/local/cuda/bin/ptxas")) return "/usr/local/cuda/bin/ptxas";
  if (auto found = llvm::sys::findProgramByName("ptxas")) return *found;
  error = missing;
  return {};
}

bool assemblePtx(const std::string& ptxas, const std::string& ptx, const std::string& arch,
                 std::vector<uint8_t>& cubin, std::string& error) {
  TempFile input, output, messages;
  if (!input.create("ptx", error) || !output.create("cubin", error) || !messages.create("log", error)) return false;
  {
    std::error_code ec;
    llvm::raw_fd_ostream stream(input.path, ec);
    if (ec) {
      error = "cannot write " + input.path.str().str() + ": " + ec.message();
      return false;
    }
    stream << ptx;
  }
  const std::string arch_flag = "-arch=" + arch;
  llvm::SmallVector<llvm::StringRef> args = {ptxas, arch_flag, "-O3", "-o", output.path, input.path};
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, messages.path.str(), messages.path.str()};
  std::string launch_error;
  const int status = llvm::sys::ExecuteAndWait(ptxas, args, std::nullopt, redirects, /*SecondsToWait=*/0,
                                               /*MemoryLimit=*/0, &launch_error);
  if (status != 0) {
    error = launch_error.empty() ? "ptxas -arch=" + arch + " failed: " + readFile(messages.path)
                                 : "cannot run " + ptxas + ": " + launch_error;
    return false;
  }
  const std::string data = readFile(output.path);
  if (data.empty()) {
    error = "ptxas -arch=" + arch + " wrote no cubin";
    return false;
  }
  cubin.assign(data.begin(), data.end());
  return true;
}

}  // namespace lathe::codegen::gpu
