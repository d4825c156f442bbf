#include "Artifact.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "ArtifactTokenizer.h"
#include "ArtifactVerifier.h"
#include "Error.h"
#include "KernelLayout.h"

namespace lathe::runtime {

// Either a read-only mapping of a file or an owned, 64-byte aligned copy.
struct Artifact::Storage {
  const uint8_t* data = nullptr;
  size_t size = 0;
  bool mapped = false;

  ~Storage() {
    if (mapped) {
      munmap(const_cast<uint8_t*>(data), size);
    } else {
      std::free(const_cast<uint8_t*>(data));
    }
  }
};

namespace {

constexpr size_t kCopyAlignment = 64;

Error ioError(const std::string& path, const std::string& what) {
  return Error(LATHE_ERROR_IO, "cannot " + what + " '" + path + "': " + std::strerror(errno));
}

class FileDescriptor {
public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

private:
  int fd_;
};

}  // namespace

Artifact::Artifact(std::unique_ptr<Storage> storage) : storage_(std::move(storage)) {
  facts_ = verifyArtifact(storage_->data, storage_->size);
  root_ = fb::GetArtifact(storage_->data);
  tokenizer_ = readArtifactTokenizer(*root_);
}

Artifact::~Artifact() = default;

std::shared_ptr<const Artifact> Artifact::openFile(const std::string& path) {
  FileDescriptor fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw ioError(path, "open");
  struct stat info {};
  if (fstat(fd.get(), &info) != 0) throw ioError(path, "stat");
  if (!S_ISREG(info.st_mode)) {
    throw Error(LATHE_ERROR_IO, "cannot open '" + path + "': not a regular file");
  }
  auto storage = std::make_unique<Storage>();
  storage->size = static_cast<size_t>(info.st_size);
  if (storage->size == 0) {
    throw invalidArtifact("'" + path + "' is empty");
  }
  void* map = mmap(nullptr, storage->size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (map == MAP_FAILED) throw ioError(path, "memory-map");
  storage->data = static_cast<const uint8_t*>(map);
  storage->mapped = true;
  try {
    return std::shared_ptr<const Artifact>(new Artifact(std::move(storage)));
  } catch (const Error& error) {
    throw Error(error.status(), path + ": " + error.what());
  }
}

std::shared_ptr<const Artifact> Artifact::openMemory(const void* data, size_t size) {
  if (data == nullptr || size == 0) {
    throw Error(LATHE_ERROR_INVALID_ARGUMENT, "artifact memory is empty");
  }
  const size_t padded = (size + kCopyAlignment - 1) / kCopyAlignment * kCopyAlignment;
  void* copy = std::aligned_alloc(kCopyAlignment, padded);
  if (copy == nullptr) throw Error(LATHE_ERROR_OUT_OF_MEMORY, "cannot allocate " + std::to_string(size) + " bytes");
  std::memcpy(copy, data, size);
  auto storage = std::make_unique<Storage>();
  storage->data = static_cast<const uint8_t*>(copy);
  storage->size = size;
  return std::shared_ptr<const Artifact>(new Artifact(std::move(storage)));
}

std::vector<std::string> targetList(const std::string& targets) {
  std::vector<std::string> list;
  size_t start = 0;
  while (start <= targets.size()) {
    const size_t comma = std::min(targets.find(',', start), targets.size());
    if (comma > start) list.push_back(targets.substr(start, comma - start));
    start = comma + 1;
  }
  return list;
}

size_t Artifact::entryPointIndex(const std::string& name) const {
  const auto& entries = *root_->entry_points();
  std::string known;
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string entry_name = entries.Get(i)->name()->str();
    if (entry_name == name) return i;
    known += (known.empty() ? "" : ", ") + entry_name;
  }
  throw Error(LATHE_ERROR_NOT_FOUND, "no entry point '" + name + "' in the artifact (it has: " + known + ")");
}

bool Artifact::hasTarget(const std::string& target) const {
  for (const std::string& name : targetList(root_->target()->str())) {
    if (name == target) return true;
  }
  return false;
}

const fb::GpuProgram* Artifact::gpuProgram(const std::string& target) const {
  if (root_->gpu_programs() == nullptr) return nullptr;
  for (const fb::GpuProgram* program : *root_->gpu_programs()) {
    if (program->target()->str() == target) return program;
  }
  return nullptr;
}

std::string Artifact::shapeString(const fb::TensorSpec& spec) {
  std::string text = "[";
  const auto& shape = *spec.shape();
  for (size_t i = 0; i < shape.size(); ++i) {
    text += (i ? ", " : "") + dimToString(*shape.Get(i));
  }
  return text + "]";
}

size_t tensorIndex(const flatbuffers::Vector<flatbuffers::Offset<fb::TensorSpec>>& list, const std::string& name,
                   const char* what, const fb::EntryPoint& entry) {
  std::string known;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string tensor_name = list.Get(i)->name()->str();
    if (tensor_name == name) return i;
    known += (known.empty() ? "" : ", ") + tensor_name;
  }
  throw Error(LATHE_ERROR_NOT_FOUND, std::string("entry point '") + entry.name()->str() + "' has no " + what +
                                         " named '" + name + "' (it has: " + (known.empty() ? "none" : known) + ")");
}

}  // namespace lathe::runtime
