// relay/upstream_maildir.cc — the built-in capture upstream (relay.upstream:
// maildir:PATH): each accepted message becomes one file in a Maildir
// (PATH/tmp, PATH/new, PATH/cur). The file is written to tmp/, fsynced,
// renamed into new/, and new/ is fsynced, so a message the client was told
// "250" about survives a crash; a reader never sees a partial file. The
// file holds a Return-Path and one Delivered-To per recipient, then the
// message exactly as it would have been forwarded (CRLF line endings).
//
// May call: relay/upstream.h, relay/protocol.h, Boost.Asio (to run the file
// I/O on the blocking-work pool), POSIX file I/O.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>

#include "relay/upstream.h"

namespace trackrelay::relay {
namespace {

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

// Writes all of `data` to `fd`; false with errno set on failure.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

// The file name: time.Ppid_Qcounter.host — unique per process and message.
std::string unique_name(std::uint64_t instance, std::uint64_t counter) {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "localhost");
  for (char* p = host; *p; ++p) {
    if (*p == '/' || *p == ':') *p = '_';
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto sec = std::chrono::duration_cast<std::chrono::seconds>(now).count();
  const auto usec = std::chrono::duration_cast<std::chrono::microseconds>(now).count() % 1000000;
  return std::to_string(sec) + ".M" + std::to_string(usec) + "P" + std::to_string(::getpid()) +
         "Q" + std::to_string(instance) + "_" + std::to_string(counter) + "." + host;
}

// Runs on the blocking pool. Returns the file name or an error.
Result<std::string> deliver(const std::string& dir, const std::string& name,
                            const std::string& content) {
  for (const char* sub : {"", "/tmp", "/new", "/cur"}) {
    const std::string d = dir + sub;
    if (::mkdir(d.c_str(), 0750) != 0 && errno != EEXIST) {
      return Error{d + ": " + errno_text(errno)};
    }
  }
  const std::string tmp = dir + "/tmp/" + name;
  const std::string final_path = dir + "/new/" + name;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return Error{tmp + ": " + errno_text(errno)};
  if (!write_all(fd, content) || ::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return Error{tmp + ": " + errno_text(err)};
  }
  if (::close(fd) != 0 || ::rename(tmp.c_str(), final_path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Error{final_path + ": " + errno_text(err)};
  }
  if (!fsync_dir(dir + "/new")) return Error{dir + "/new: " + errno_text(errno)};
  return name;
}

class MaildirUpstream final : public Upstream {
 public:
  MaildirUpstream(std::string dir, asio::any_io_executor blocking, std::uint64_t instance)
      : dir_(std::move(dir)), blocking_(std::move(blocking)), instance_(instance) {
    caps_.eightbitmime = true;
    caps_.smtputf8 = true;
    caps_.pipelining = true;
  }

  const Capabilities& caps() const override { return caps_; }
  bool broken() const override { return false; }
  std::string name() const override { return "maildir:" + dir_; }
  void attach(Watch*) override {}

  asio::awaitable<Reply> mail(std::string args, const ClientInfo&) override {
    auto path = parse_path(args, "FROM:");
    if (!path) co_return reply_for(Failure::kSyntax, path.error());
    from_ = path->address;
    rcpts_.clear();
    co_return make_reply(250, "2.1.0 Ok");
  }

  asio::awaitable<Reply> rcpt(std::string args) override {
    auto path = parse_path(args, "TO:");
    if (!path) co_return reply_for(Failure::kSyntax, path.error());
    rcpts_.push_back(path->address);
    co_return make_reply(250, "2.1.5 Ok");
  }

  asio::awaitable<Reply> data(std::string message) override {
    std::string content = "Return-Path: <" + from_ + ">\r\n";
    for (const std::string& r : rcpts_) content += "Delivered-To: " + r + "\r\n";
    content += message;
    std::string().swap(message);
    const std::string name = unique_name(instance_, ++counter_);
    std::optional<Result<std::string>> done = co_await asio::co_spawn(
        blocking_,
        [&]() -> asio::awaitable<std::optional<Result<std::string>>> {
          co_return deliver(dir_, name, content);
        },
        asio::use_awaitable);
    Result<std::string>& r = *done;
    rcpts_.clear();
    if (!r) co_return reply_for(Failure::kLocalError, "maildir: " + r.error());
    co_return make_reply(250, "2.0.0 Ok: queued as " + *r);
  }

  asio::awaitable<bool> reset() override {
    rcpts_.clear();
    co_return true;
  }

  void close() override {}

 private:
  std::string dir_;
  asio::any_io_executor blocking_;
  Capabilities caps_;
  std::string from_;
  std::vector<std::string> rcpts_;
  std::uint64_t instance_;  // unique per server (the session number)
  std::uint64_t counter_ = 0;
};

}  // namespace

std::unique_ptr<Upstream> make_maildir(std::string dir, asio::any_io_executor blocking,
                                       std::uint64_t instance) {
  return std::make_unique<MaildirUpstream>(std::move(dir), std::move(blocking), instance);
}

}  // namespace trackrelay::relay
