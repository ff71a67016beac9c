// tests/relay/injections_test.cc — the injection sink (relay/injections.h):
// a relay::Server on loopback with the maildir capture as its upstream and a
// sink that records what it is told; a blocking client speaks SMTP or LMTP
// to it. The sink must hear of each recipient the upstream accepted exactly
// once, with that one recipient in the envelope, and of nobody else.
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
  std::vector<std::string> rcpts;    // envelope.rcpt_to[0] of each call
  std::vector<std::string> msgids;   // outcome.message_id
  std::vector<std::size_t> sizes;    // envelope.rcpt_to.size()
  std::vector<std::size_t> message;  // outcome.message.size() (the bytes are not passed)
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
    server_ = std::make_unique<Server>(ioc_, *snapshot_);
    server_->set_injections([this](const rewrite::Envelope& e, const rewrite::Outcome& o) {
      std::lock_guard lock(mu_);
      heard_.rcpts.push_back(e.rcpt_to.empty() ? "" : e.rcpt_to.front());
      heard_.sizes.push_back(e.rcpt_to.size());
      heard_.msgids.push_back(o.message_id);
      heard_.message.push_back(o.message.size());
    });
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
  std::sort(rcpts.begin(), rcpts.end());  // the pool may run the calls in any order
  EXPECT_EQ(rcpts, (std::vector<std::string>{"alice@example.net", "bob@example.org"}));
  EXPECT_EQ(h.sizes, (std::vector<std::size_t>{1, 1}));
  EXPECT_EQ(h.msgids, (std::vector<std::string>{"inj-1@example.com", "inj-1@example.com"}));
  EXPECT_EQ(h.message, (std::vector<std::size_t>{0, 0}));
}

INSTANTIATE_TEST_SUITE_P(Modes, Injections,
                         ::testing::Values("  protocol: smtp", "  per_recipient: true",
                                           "  protocol: lmtp"));

}  // namespace
}  // namespace trackrelay::relay
