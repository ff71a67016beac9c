// tests/dns/dns_test_util.h — real DNS servers for tests: dnsmasq (Debian)
// started on a free loopback port with records the test writes, and a tiny
// scripted UDP server for answers dnsmasq will not give (SERVFAIL,
// upper-case targets, silence). Both are stopped by their destructors.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace trackrelay::testing {

inline bool have_dnsmasq() {
  return access("/usr/sbin/dnsmasq", X_OK) == 0;
}

// A free UDP+TCP port on 127.0.0.1 (bound and released; good enough in tests).
inline int free_port() {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

inline std::vector<unsigned char> dns_query(const std::string& name, std::uint16_t type,
                                            std::uint16_t id = 0x4242) {
  std::vector<unsigned char> q = {static_cast<unsigned char>(id >> 8),
                                  static_cast<unsigned char>(id & 0xff),
                                  1,
                                  0,
                                  0,
                                  1,
                                  0,
                                  0,
                                  0,
                                  0,
                                  0,
                                  0};
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    q.push_back(static_cast<unsigned char>(dot - start));
    q.insert(q.end(), name.begin() + static_cast<std::ptrdiff_t>(start),
             name.begin() + static_cast<std::ptrdiff_t>(dot));
    start = dot + 1;
  }
  q.push_back(0);
  q.push_back(static_cast<unsigned char>(type >> 8));
  q.push_back(static_cast<unsigned char>(type & 0xff));
  q.push_back(0);
  q.push_back(1);
  return q;
}

// True when a UDP DNS server on 127.0.0.1:port answers `name` (type A) with
// at least one record within `ms`. Asking for a name only our own instance
// knows tells it apart from another test's server that won the port race.
inline bool dns_answers(int port, int ms, const std::string& name) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto q = dns_query(name, 1);
  sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  pollfd p{fd, POLLIN, 0};
  bool ok = poll(&p, 1, ms) == 1;
  if (ok) {
    unsigned char buf[512];
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    ok = n >= 12 && ((buf[6] << 8) | buf[7]) >= 1;  // ANCOUNT
  }
  close(fd);
  return ok;
}

class Dnsmasq {
 public:
  // `lines`: dnsmasq options as in its configuration file (cname=..., host-record=...).
  Dnsmasq(const std::filesystem::path& dir, const std::vector<std::string>& lines) {
    // free_port() only makes a collision unlikely: parallel tests may race
    // for the same port. A start that fails is retried on another one.
    for (int attempt = 0; attempt < 5 && !ready_; ++attempt) start(dir, lines);
  }
  ~Dnsmasq() { stop(); }
  Dnsmasq(const Dnsmasq&) = delete;
  Dnsmasq& operator=(const Dnsmasq&) = delete;
  bool ready() const { return ready_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void start(const std::filesystem::path& dir, const std::vector<std::string>& lines) {
    port_ = free_port();
    const std::string ready_name =
        "ready-" + std::to_string(::getpid()) + "-" + std::to_string(port_) + ".check.test";
    const std::filesystem::path conf = dir / "dnsmasq.conf";
    std::ofstream out(conf);
    out << "no-resolv\nno-hosts\nbind-interfaces\nlisten-address=127.0.0.1\n"
        << "port=" << port_ << "\npid-file=\nhost-record=" << ready_name << ",127.0.0.9\n";
    for (const std::string& l : lines) out << l << "\n";
    out.close();
    const std::string conf_arg = "--conf-file=" + conf.string();
    const std::string log_arg = "--log-facility=" + (dir / "dnsmasq.log").string();
    std::vector<std::string> args = {"/usr/sbin/dnsmasq", "--keep-in-foreground", conf_arg, log_arg,
                                     "--log-queries"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
    // Ready when it answers (never a blind sleep).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
      if (dns_answers(port_, 100, ready_name)) {
        ready_ = true;
        break;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
    }
    if (!ready_) stop();
  }
  void stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }

  pid_t pid_ = -1;
  int port_ = 0;
  bool ready_ = false;
};

// Answers by name: "servfail" → SERVFAIL; "silent" → nothing; otherwise a
// CNAME to the mapped target, sent exactly as given (case kept).
class ScriptedDns {
 public:
  enum class Mode { kServfail, kSilent, kCname };
  explicit ScriptedDns(std::map<std::string, std::pair<Mode, std::string>> names)
      : names_(std::move(names)) {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~ScriptedDns() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  ScriptedDns(const ScriptedDns&) = delete;
  ScriptedDns& operator=(const ScriptedDns&) = delete;
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int queries() const { return queries_; }

 private:
  void run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) != 1) continue;
      unsigned char buf[512];
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 17) continue;
      ++queries_;
      // The question name, lower-cased.
      std::string name;
      std::size_t i = 12;
      while (i < static_cast<std::size_t>(n) && buf[i] != 0) {
        if (!name.empty()) name += '.';
        for (std::size_t k = 1; k <= buf[i]; ++k)
          name += static_cast<char>(std::tolower(buf[i + k]));
        i += buf[i] + 1;
      }
      const std::size_t qend = i + 5;  // zero byte, type, class
      auto it = names_.find(name);
      if (it == names_.end() || it->second.first == Mode::kSilent) continue;
      std::vector<unsigned char> r(buf, buf + qend);
      r[2] = 0x81;  // response, RD
      r[3] = 0x80;  // RA
      if (it->second.first == Mode::kServfail) {
        r[3] |= 2;
      } else {
        r[7] = 1;  // ANCOUNT
        const std::vector<unsigned char> target = wire(it->second.second);
        const unsigned char rr[] = {
            0xc0, 0x0c, 0, 5, 0, 1, 0, 0, 0, 60, 0, static_cast<unsigned char>(target.size())};
        r.insert(r.end(), rr, rr + sizeof rr);
        r.insert(r.end(), target.begin(), target.end());
      }
      sendto(fd_, r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }
  static std::vector<unsigned char> wire(const std::string& name) {
    std::vector<unsigned char> out;
    std::size_t start = 0;
    while (start < name.size()) {
      std::size_t dot = name.find('.', start);
      if (dot == std::string::npos) dot = name.size();
      out.push_back(static_cast<unsigned char>(dot - start));
      out.insert(out.end(), name.begin() + static_cast<std::ptrdiff_t>(start),
                 name.begin() + static_cast<std::ptrdiff_t>(dot));
      start = dot + 1;
    }
    out.push_back(0);
    return out;
  }

  std::map<std::string, std::pair<Mode, std::string>> names_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

}  // namespace trackrelay::testing
