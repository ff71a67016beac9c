// tests/relay/injections_test.cc — the injection sink (relay/injections.h):
// a relay::Server on loopback with the maildir capture as its upstream and a
// sink that records what it is told; a blocking client speaks SMTP or LMTP
// to it. The sink must hear of each recipient the upstream accepted exactly
// once, with one transmission id per message, and of nobody else.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "conf/snapshot.h"
#include "relay/server.h"

namespace trackrelay::relay {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

struct Heard {
  std::vector<std::string> rcpts;          // Injection::rcpt_to of each injection
  std::vector<std::string> msgids;         // Injection::message_id
  std::vector<std::size_t> batches;        // injections per record() call
  std::vector<std::string> transmissions;  // Injection::transmission_id
};

// Records what the relay hands the store (relay/injections.h).
class Sink final : public relay::Injections {
 public:
  Sink(std::mutex& mu, Heard& heard) : mu_(mu), heard_(heard) {}
  Result<bool> record(std::vector<Injection> injections) override {
    std::lock_guard lock(mu_);
    heard_.batches.push_back(injections.size());
    for (const Injection& i : injections) {
      heard_.rcpts.push_back(i.rcpt_to);
      heard_.msgids.push_back(i.message_id);
      heard_.transmissions.push_back(i.transmission_id);
    }
    return true;
  }

 private:
  std::mutex& mu_;
  Heard& heard_;
};

unsigned short free_port() {
  asio::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

// A line-level client: cmd() sends a line and reads one (multi-line) reply code.
class Client {
 public:
  explicit Client(unsigned short port) : socket_(ioc_) {
    for (int i = 0; i < 100; ++i) {
      boost::system::error_code ec;
      socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
      if (!ec) return;
      socket_ = tcp::socket(ioc_);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  int reply() {
    for (;;) {
      asio::read_until(socket_, buf_, "\r\n");
      std::istream in(&buf_);
      std::string line;
      std::getline(in, line);
      if (line.size() < 4 || line[3] == ' ') return std::stoi(line.substr(0, 3));
    }
  }
  void send(const std::string& s) { asio::write(socket_, asio::buffer(s)); }
  int cmd(const std::string& line) {
    send(line + "\r\n");
    return reply();
  }

 private:
  asio::io_context ioc_;
  tcp::socket socket_;
  asio::streambuf buf_;
};

class Injections : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("trackrelay-injections-" + std::to_string(::getpid()) + "-" +
            std::to_string(std::hash<std::string>{}(GetParam())));
    std::filesystem::create_directories(dir_);
    port_ = free_port();
    const std::string yaml =
        "tracking:\n"
        "  system_domain: track.example.net\n"
        "  keys:\n"
        "    - {id: k1, secret: \"injections-test-secret-0123456789abcdefghijklmnop\"}\n"
        "  tracking_domains:\n"
        "    - {domain: click.example.com, default: true}\n"
        "  sending_domains:\n"
        "    - {domain: example.com, tracking_domain: click.example.com}\n"
        "relay:\n"
        "  listen: 127.0.0.1:" +
        std::to_string(port_) + "\n  upstream: maildir:" + (dir_ / "out").string() + "\n" +
        GetParam() + "\n";
    conf::LoadResult loaded = conf::load_string(yaml, "injections.yaml");
    ASSERT_TRUE(loaded.ok()) << (loaded.diagnostics.empty() ? "" : loaded.diagnostics[0].str());
    snapshot_ = std::make_unique<conf::Snapshot>(loaded.config);
    server_ =
        std::make_unique<Server>(ioc_, *snapshot_, nullptr, std::make_shared<Sink>(mu_, heard_));
    ASSERT_TRUE(server_->start().ok());
    thread_ = std::thread([this] { ioc_.run(); });
  }

  void TearDown() override {
    if (server_) asio::post(ioc_, [this] { server_->stop(std::chrono::seconds(0)); });
    if (thread_.joinable()) thread_.join();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  // What the sink heard once it heard `n` calls (or after 5 s), and 200 ms
  // more in which nothing else may come.
  Heard wait_for(std::size_t n) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(mu_);
        if (heard_.rcpts.size() >= n) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::lock_guard lock(mu_);
    return heard_;
  }

  bool lmtp() const { return std::string(GetParam()).find("lmtp") != std::string::npos; }
  bool per_recipient() const {
    return std::string(GetParam()).find("per_recipient") != std::string::npos;
  }

  std::filesystem::path dir_;
  unsigned short port_ = 0;
  asio::io_context ioc_;
  std::unique_ptr<conf::Snapshot> snapshot_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::mutex mu_;
  Heard heard_;
};

TEST_P(Injections, OncePerAcceptedRecipientWithThatRecipient) {
  Client c(port_);
  ASSERT_EQ(c.reply(), 220);
  ASSERT_EQ(c.cmd(std::string(lmtp() ? "LHLO" : "EHLO") + " client.example"), 250);
  ASSERT_EQ(c.cmd("MAIL FROM:<news@example.com>"), 250);
  ASSERT_EQ(c.cmd("RCPT TO:<alice@example.net>"), 250);
  ASSERT_EQ(c.cmd("RCPT TO:<bob@example.org>"), 250);
  ASSERT_EQ(c.cmd("DATA"), 354);
  c.send(
      "From: <news@example.com>\r\nMessage-ID: <inj-1@example.com>\r\n"
      "Content-Type: text/html\r\n\r\n<a href=\"https://example.org/\">x</a>\r\n.\r\n");
  EXPECT_EQ(c.reply(), 250);
  if (lmtp()) {
    EXPECT_EQ(c.reply(), 250);  // one per recipient
  }
  // A refused message (malformed X-MSYS-API) is heard of by nobody.
  ASSERT_EQ(c.cmd("MAIL FROM:<news@example.com>"), 250);
  ASSERT_EQ(c.cmd("RCPT TO:<carol@example.net>"), 250);
  ASSERT_EQ(c.cmd("DATA"), 354);
  c.send("X-MSYS-API: {\"x\":\r\nMessage-ID: <inj-2@example.com>\r\n\r\nbody\r\n.\r\n");
  EXPECT_EQ(c.reply(), 550);
  EXPECT_EQ(c.cmd("QUIT"), 221);
  const Heard h = wait_for(2);
  ASSERT_EQ(h.rcpts.size(), 2u);
  std::vector<std::string> rcpts = h.rcpts;
  std::sort(rcpts.begin(), rcpts.end());
  EXPECT_EQ(rcpts, (std::vector<std::string>{"alice@example.net", "bob@example.org"}));
  // One record() per accepted copy: one for both recipients, or one each.
  EXPECT_EQ(h.batches, lmtp() || per_recipient() ? (std::vector<std::size_t>{1, 1})
                                                 : (std::vector<std::size_t>{2}));
  EXPECT_EQ(h.msgids, (std::vector<std::string>{"inj-1@example.com", "inj-1@example.com"}));
  // One transmission for the message, shared by its copies.
  ASSERT_EQ(h.transmissions.size(), 2u);
  EXPECT_EQ(h.transmissions[0].size(), 18u);
  EXPECT_EQ(h.transmissions[0], h.transmissions[1]);
}

INSTANTIATE_TEST_SUITE_P(Modes, Injections,
                         ::testing::Values("  protocol: smtp", "  per_recipient: true",
                                           "  protocol: lmtp"));

}  // namespace
}  // namespace trackrelay::relay
