// relay/channel.cc — buffered, deadline-bounded SMTP byte streams (see channel.h).
// May call: Boost.Asio, OpenSSL (through asio::ssl).
#include "relay/channel.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

namespace trackrelay::relay {
namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadChunk = 64 * 1024;  // the most one read takes
constexpr std::size_t kMinRead = 4 * 1024;     // the least room a read gets

}  // namespace

void Watch::arm(Channel* target, std::chrono::milliseconds timeout) {
  target_ = target;
  deadline_ = std::chrono::steady_clock::now() + timeout;
  // Wake the watch only when this deadline is earlier than the one it sleeps on.
  if (deadline_ < timer_.expiry()) timer_.cancel();
}

asio::awaitable<void> Watch::run() {
  using clock = std::chrono::steady_clock;
  for (;;) {
    timer_.expires_at(target_ != nullptr ? deadline_ : clock::now() + std::chrono::hours(1));
    co_await timer_.async_wait(use_nothrow);
    const auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) co_return;
    if (target_ != nullptr && clock::now() >= deadline_) {
      Channel* c = target_;
      target_ = nullptr;
      c->on_deadline();
    }
  }
}

Channel::Channel(tcp::socket socket, Watch* watch) : socket_(std::move(socket)), watch_(watch) {}

Channel::~Channel() {
  if (watch_ != nullptr) watch_->forget(this);
}

void Channel::set_watch(Watch* watch) {
  if (watch_ != nullptr) watch_->forget(this);
  watch_ = watch;
}

void Channel::on_deadline() {
  timed_out_ = true;
  boost::system::error_code ignored;
  socket_.cancel(ignored);
}

Io Channel::result(const boost::system::error_code& ec) {
  if (watch_ != nullptr) watch_->disarm();
  error_ = ec;
  if (!ec) {
    timed_out_ = false;
    return Io::kOk;
  }
  if (timed_out_) return Io::kTimeout;
  return Io::kClosed;
}

void Channel::consume(std::size_t n) {
  begin_ += n;
  if (begin_ == end_) begin_ = end_ = 0;
}  // fill() compacts

bool Channel::line_buffered() const {
  return begin_ < end_ && std::memchr(in_.get() + begin_, '\n', end_ - begin_) != nullptr;
}

void Channel::reserve_for(std::size_t want) {
  const std::size_t held = end_ - begin_;
  if (capacity_ - end_ >= want) return;
  if (capacity_ - held >= want) {
    std::memmove(in_.get(), in_.get() + begin_, held);  // compact in place
  } else {
    const std::size_t cap = std::max(held + want, capacity_ + capacity_ / 2);
    auto bigger = std::make_unique_for_overwrite<char[]>(cap);
    if (held > 0) std::memcpy(bigger.get(), in_.get() + begin_, held);
    in_ = std::move(bigger);
    capacity_ = cap;
  }
  begin_ = 0;
  end_ = held;
}

asio::awaitable<Io> Channel::fill(std::chrono::milliseconds timeout) {
  if (!socket_.is_open()) co_return Io::kClosed;
  if (watch_ != nullptr) watch_->arm(this, timeout);
  boost::system::error_code ec;
  std::size_t ready = tls_ ? 0 : socket_.available(ec);
  if (!ec && !tls_ && ready == 0 && begin_ == end_) {
    // The peer is quiet: hold no buffer while waiting for it.
    in_.reset();
    capacity_ = begin_ = end_ = 0;
    std::tie(ec) = co_await socket_.async_wait(tcp::socket::wait_read, use_nothrow);
    if (!ec) ready = socket_.available(ec);
  }
  if (ec) co_return result(ec);
  // TLS: room for a record (16 KiB); plain: what the socket has.
  reserve_for(tls_ ? 4 * kMinRead : std::clamp(ready, kMinRead, kReadChunk));
  auto buf = asio::buffer(in_.get() + end_, std::min(capacity_ - end_, kReadChunk));
  std::size_t n = 0;
  if (tls_) {
    std::tie(ec, n) = co_await tls_->async_read_some(buf, use_nothrow);
  } else {
    std::tie(ec, n) = co_await socket_.async_read_some(buf, use_nothrow);
  }
  end_ += n;
  co_return result(ec);
}

asio::awaitable<LineRead> Channel::read_line(std::size_t limit, std::chrono::milliseconds timeout) {
  // The whole line must arrive within `timeout`, not each read: a peer that
  // trickles a command a byte at a time is cut off like a silent one.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool too_long = false;
  for (;;) {
    const std::string_view avail = buffered();
    const std::size_t nl = avail.find('\n');
    if (nl != std::string_view::npos) {
      if (too_long || nl + 1 > limit + 1) {
        consume(nl + 1);
        co_return LineRead{Io::kTooLong, {}};
      }
      std::string_view line = avail.substr(0, nl);
      const bool crlf = !line.empty() && line.back() == '\r';
      if (crlf) line.remove_suffix(1);
      consume(nl + 1);  // the view stays valid: only fill() moves the buffer
      co_return LineRead{Io::kOk, line, !crlf};
    }
    if (avail.size() > limit) {
      too_long = true;
      consume(avail.size());
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) co_return LineRead{Io::kTimeout, {}};
    const Io io = co_await fill(left);
    if (io != Io::kOk) co_return LineRead{io, {}};
  }
}

asio::awaitable<Io> Channel::connect(const tcp::resolver::results_type& endpoints,
                                     std::chrono::milliseconds timeout) {
  if (watch_ != nullptr) watch_->arm(this, timeout);
  auto [ec, ep] = co_await asio::async_connect(socket_, endpoints, use_nothrow);
  const Io io = result(ec);
  if (io == Io::kOk) {
    boost::system::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
  }
  co_return io;
}

asio::awaitable<Io> Channel::write(std::string_view data, std::chrono::milliseconds timeout) {
  if (!socket_.is_open()) co_return Io::kClosed;
  if (watch_ != nullptr) watch_->arm(this, timeout);
  boost::system::error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) = co_await asio::async_write(*tls_, asio::buffer(data), use_nothrow);
  } else {
    std::tie(ec, std::ignore) =
        co_await asio::async_write(socket_, asio::buffer(data), use_nothrow);
  }
  co_return result(ec);
}

asio::awaitable<Io> Channel::start_tls_server(asio::ssl::context& ctx,
                                              std::chrono::milliseconds timeout) {
  begin_ = end_ = 0;
  tls_.emplace(socket_, ctx);
  if (watch_ != nullptr) watch_->arm(this, timeout);
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, use_nothrow);
  co_return result(ec);
}

asio::awaitable<Io> Channel::start_tls_client(asio::ssl::context& ctx, const std::string& sni,
                                              std::chrono::milliseconds timeout) {
  begin_ = end_ = 0;
  tls_.emplace(socket_, ctx);
  if (!sni.empty()) {
    SSL_set_tlsext_host_name(tls_->native_handle(), sni.c_str());
    SSL_set1_host(tls_->native_handle(), sni.c_str());
  }
  if (watch_ != nullptr) watch_->arm(this, timeout);
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, use_nothrow);
  co_return result(ec);
}

void Channel::close_now(std::string_view last_words) {
  boost::system::error_code ignored;
  if (!socket_.is_open()) return;
  if (!last_words.empty() && !tls_) {
    socket_.non_blocking(true, ignored);
    asio::write(socket_, asio::buffer(last_words), ignored);
  }
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace trackrelay::relay
