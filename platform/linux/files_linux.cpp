#include "platform/files.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/common/file_read_text.hpp"

namespace guestpulse::platform {

namespace {

std::string errnoText(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

}  // namespace

std::string replaceFileAtomically(const std::string& path, const std::string& content,
                                  bool durable) {
  std::string temporary = path + ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return errnoText("open", temporary);
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string error = errnoText("write", temporary);
      ::close(fd);
      ::unlink(temporary.c_str());
      return error;
    }
    done += static_cast<std::size_t>(n);
  }
  if (durable && ::fsync(fd) != 0) {
    std::string error = errnoText("fsync", temporary);
    ::close(fd);
    ::unlink(temporary.c_str());
    return error;
  }
  ::close(fd);
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    std::string error = errnoText("rename to", path);
    ::unlink(temporary.c_str());
    return error;
  }
  if (durable) {
    // The rename itself is only durable once the directory is flushed.
    std::string dir = std::filesystem::path(path).parent_path().string();
    int dirFd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirFd >= 0) {
      ::fsync(dirFd);
      ::close(dirFd);
    }
  }
  return {};
}

namespace {

const char* kindOf(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a plain file";
}

}  // namespace

FileRead readRegularFile(const std::string& path, std::size_t maxBytes) {
  FileRead out;
  struct stat before {};
  // stat() first: opening a device (a tty, a tape) can have effects of its own, and
  // opening a FIFO for reading waits for a writer unless it is non-blocking.
  if (::stat(path.c_str(), &before) != 0) {
    out.missing = errno == ENOENT || errno == ENOTDIR;
    out.error = std::strerror(errno);
    return out;
  }
  if (!S_ISREG(before.st_mode)) {
    out.error = notRegularFileError(kindOf(before.st_mode));
    return out;
  }
  auto tooLarge = [&](std::size_t size) {
    out.tooLarge = true;
    out.error = fileTooLargeError(maxBytes, size);
  };
  if (static_cast<std::size_t>(before.st_size) > maxBytes) {
    tooLarge(static_cast<std::size_t>(before.st_size));
    return out;
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    out.missing = errno == ENOENT;
    out.error = std::strerror(errno);
    return out;
  }
  struct stat after {};
  if (::fstat(fd, &after) != 0 || !S_ISREG(after.st_mode)) {
    out.error = notRegularFileError(kindOf(after.st_mode));
    ::close(fd);
    return out;
  }
  std::string text;
  text.reserve(static_cast<std::size_t>(after.st_size));
  char buffer[16384];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out.error = std::strerror(errno);
      ::close(fd);
      return out;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > maxBytes) {  // it grew after the fstat
      tooLarge(text.size());
      ::close(fd);
      return out;
    }
  }
  ::close(fd);
  out.content = std::move(text);
  return out;
}

std::string ensureDirectory(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return "create " + path + ": " + ec.message();
  ::chmod(path.c_str(), 0750);
  return {};
}

}  // namespace guestpulse::platform
