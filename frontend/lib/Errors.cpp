// SourceLoc, ModelError and Tensor basics, plus small file helpers.
#include "Internal.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lathe {

std::string SourceLoc::str() const {
  std::string out = file;
  if (line > 0) {
    out += ":" + std::to_string(line);
    if (column > 0) out += ":" + std::to_string(column);
  }
  return out;
}

static std::string formatError(const SourceLoc& loc, const std::string& message) {
  std::string where = loc.str();
  return (where.empty() ? "" : where + ": ") + "error: " + message;
}

ModelError::ModelError(const SourceLoc& loc, const std::string& message)
    : std::runtime_error(formatError(loc, message)), loc_(loc) {}

int64_t Tensor::numel() const {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

namespace frontend_detail {

std::string readTextFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw ModelError({path}, "no such file");
  if (std::filesystem::is_directory(path, ec)) throw ModelError({path}, "is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError({path}, std::string("cannot open file: ") + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ModelError({path}, "cannot read file");
  return text.str();
}

SourceLoc locateOffset(const std::string& text, size_t offset, const std::string& file) {
  SourceLoc loc{file, 1, 1};
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++loc.line;
      loc.column = 1;
    } else {
      ++loc.column;
    }
  }
  return loc;
}

namespace {

/// Owns a file descriptor and the temporary path until the rename commits it.
class TempFile {
public:
  explicit TempFile(const std::string& target) : pattern_(target + ".tmp.XXXXXX") {
    fd_ = ::mkstemp(pattern_.data());
    if (fd_ < 0) throw ModelError({target}, std::string("cannot create temporary file: ") + std::strerror(errno));
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(pattern_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  void write(const void* data, size_t size, const std::string& target) {
    const char* bytes = static_cast<const char*>(data);
    while (size > 0) {
      ssize_t written = ::write(fd_, bytes, size);
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) throw ModelError({target}, std::string("write failed: ") + std::strerror(errno));
      bytes += written;
      size -= static_cast<size_t>(written);
    }
  }

  void commit(const std::string& target) {
    if (::fsync(fd_) != 0) throw ModelError({target}, std::string("fsync failed: ") + std::strerror(errno));
    // mkstemp creates 0600; a model file should be as readable as any other.
    ::fchmod(fd_, 0644);
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw ModelError({target}, std::string("close failed: ") + std::strerror(errno));
    if (::rename(pattern_.c_str(), target.c_str()) != 0)
      throw ModelError({target}, std::string("rename failed: ") + std::strerror(errno));
    committed_ = true;
  }

private:
  std::string pattern_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace

void writeFileAtomic(const std::string& path, const std::vector<ByteSpan>& pieces) {
  TempFile temp(path);
  for (const ByteSpan& piece : pieces) temp.write(piece.data, piece.size, path);
  temp.commit(path);
}

void writeFileAtomic(const std::string& path, const std::string& text) {
  writeFileAtomic(path, std::vector<ByteSpan>{{text.data(), text.size()}});
}

}  // namespace frontend_detail
}  // namespace lathe
