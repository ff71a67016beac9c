// relay/channel.h — one SMTP connection's byte stream (client side or
// upstream side), plain or TLS, with a deadline on every read and write.
//
// Owns: the read buffer (lines and DATA bytes), writes, the switch to TLS
// (STARTTLS) and the Watch that enforces timeouts. The read buffer exists
// only while bytes are coming: a plain channel with nothing buffered waits
// for the peer to send before it allocates one, and frees it when it must
// wait (an idle session or pooled upstream connection holds no buffer; a
// read takes what the socket has, 4–64 KiB at a time). A Watch is one timer per
// session: each operation arms it with its timeout before it starts; when
// the deadline passes, the watch cancels the pending operation of the
// channel it was armed for, which then reports Io::kTimeout. Running the
// watch as a sibling coroutine (session || watch) means no timer handler can
// outlive the session.
//
// May call: Boost.Asio, OpenSSL (through asio::ssl).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace trackrelay::relay {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class Channel;

class Watch {
 public:
  explicit Watch(const asio::any_io_executor& ex) : timer_(ex) {}
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

  // The next operation on `target` must finish within `timeout`.
  void arm(Channel* target, std::chrono::milliseconds timeout);
  // No deadline (work that is not I/O, e.g. the rewrite on the thread pool).
  void disarm() { target_ = nullptr; }
  // The channel is going away.
  void forget(const Channel* c) {
    if (target_ == c) target_ = nullptr;
  }
  // Runs until cancelled (by the parallel group it runs in).
  asio::awaitable<void> run();

 private:
  asio::steady_timer timer_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  Channel* target_ = nullptr;
};

enum class Io { kOk, kClosed, kTimeout, kTooLong };

struct LineRead {
  Io status = Io::kClosed;
  std::string_view line;  // without CRLF / LF; valid until the next read
  bool bare_lf = false;   // the line ended with LF alone, not CRLF
};

class Channel {
 public:
  Channel(tcp::socket socket, Watch* watch);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  void set_watch(Watch* watch);
  tcp::socket& socket() { return socket_; }
  bool is_open() const { return socket_.is_open(); }
  bool tls() const { return tls_.has_value(); }

  // Connects the (unconnected) socket to the first endpoint that answers.
  asio::awaitable<Io> connect(const tcp::resolver::results_type& endpoints,
                              std::chrono::milliseconds timeout);
  // The error of the last failed operation.
  const boost::system::error_code& error() const { return error_; }

  // One line through LF, which must be complete within `timeout` (one
  // deadline for the line, however many reads it takes). A line longer than
  // `limit` is skipped up to its LF and reported as kTooLong.
  asio::awaitable<LineRead> read_line(std::size_t limit, std::chrono::milliseconds timeout);
  // True when a complete line is already buffered (pipelined commands).
  bool line_buffered() const;
  // Bytes read but not consumed yet; consume() drops a prefix of them.
  std::string_view buffered() const { return std::string_view(in_.get() + begin_, end_ - begin_); }
  // The read buffer's size in bytes (0 when idle).
  std::size_t buffer_capacity() const { return capacity_; }
  void consume(std::size_t n);
  // Reads more bytes into the buffer.
  asio::awaitable<Io> fill(std::chrono::milliseconds timeout);
  asio::awaitable<Io> write(std::string_view data, std::chrono::milliseconds timeout);

  // TLS handshake as server or client; bytes buffered before the handshake
  // are discarded (RFC 3207 §4: none may be pipelined after STARTTLS).
  asio::awaitable<Io> start_tls_server(asio::ssl::context& ctx, std::chrono::milliseconds timeout);
  asio::awaitable<Io> start_tls_client(asio::ssl::context& ctx, const std::string& sni,
                                       std::chrono::milliseconds timeout);

  // Called by the Watch when a deadline passed.
  void on_deadline();
  // Best effort, never blocks: writes `last_words` if the socket takes them,
  // then closes.
  void close_now(std::string_view last_words = {});

 private:
  Io result(const boost::system::error_code& ec);
  // Room for at least `want` more bytes after the buffered ones.
  void reserve_for(std::size_t want);

  tcp::socket socket_;
  std::optional<asio::ssl::stream<tcp::socket&>> tls_;
  Watch* watch_;
  // The read buffer: bytes [begin_, end_) are read and not consumed.
  std::unique_ptr<char[]> in_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  bool timed_out_ = false;
  boost::system::error_code error_;
};

}  // namespace trackrelay::relay
