#include "Commands.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <unistd.h>

namespace lathe::tool {

void writeFileAtomically(const std::string& path, const uint8_t* bytes, size_t size) {
  std::string temp = path + ".tmp." + std::to_string(getpid());
  auto fail = [&](const char* what) {
    std::string message = std::string("cannot ") + what + " '" + temp + "': " + std::strerror(errno);
    unlink(temp.c_str());
    throw std::runtime_error(message);
  };
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create '" + temp + "': " + std::strerror(errno));
  for (size_t done = 0; done < size;) {
    ssize_t n = write(fd, bytes + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { close(fd); fail("write"); }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) { close(fd); fail("sync"); }
  if (close(fd) != 0) fail("close");
  if (rename(temp.c_str(), path.c_str()) != 0) fail("rename");
}

}  // namespace lathe::tool
