// store/event_spool.cc — see event_spool.h. May call: base/, Boost.JSON, zlib.
#include "store/event_spool.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace trackrelay::store {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::string_view kMagic = "trackrelay-event-spool 1\n";
constexpr std::size_t kRecordHeader = 8;                 // length, CRC-32
constexpr std::uint32_t kMaxPayload = 16 * 1024 * 1024;  // far above any event

std::string sys_error(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint32_t get_u32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

std::uint32_t crc_of(std::string_view bytes) {
  return static_cast<std::uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

// Writes all of `bytes` (a write() may be partial).
bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads exactly `n` bytes at `offset`; false at end of file or on an error.
bool read_at(int fd, std::uint64_t offset, std::size_t n, std::string& out) {
  out.resize(n);
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, out.data() + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    got += static_cast<std::size_t>(r);
  }
  return true;
}

// Makes a new or removed directory entry durable.
void sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

std::string text_of(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::int64_t int_of(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_int64() ? v->get_int64() : 0;
}

}  // namespace

namespace internal {

std::string spool_payload(const Event& e) {
  json::array reasons;
  for (const std::string& r : e.classification_reasons) reasons.emplace_back(r);
  json::object o{{"event_id", e.event_id},
                 {"type", e.type},
                 {"timestamp_ms", e.timestamp_ms},
                 {"tracking_domain", e.tracking_domain},
                 {"target_link_url", e.target_link_url},
                 {"target_link_name", e.target_link_name},
                 {"message_id", e.message_id},
                 {"rcpt_to", e.rcpt_to},
                 {"campaign_id", e.campaign_id},
                 {"sending_domain", e.sending_domain},
                 {"user_agent", e.user_agent},
                 {"ip_address", e.ip_address},
                 {"method", e.method},
                 {"subaccount_id", e.subaccount_id},
                 {"transmission_id", e.transmission_id},
                 {"raw_rcpt_to", e.raw_rcpt_to},
                 {"rcpt_meta", e.rcpt_meta},
                 {"rcpt_tags", e.rcpt_tags},
                 {"friendly_from", e.friendly_from},
                 {"msg_from", e.msg_from},
                 {"msg_size", e.msg_size},
                 {"classification", e.classification},
                 {"classification_reasons", std::move(reasons)}};
  return json::serialize(o);
}

Result<Event> spool_event(std::string_view payload) {
  std::error_code ec;
  json::value v = json::parse(payload, ec);
  if (ec || !v.is_object()) return Error{"not a spooled event"};
  const json::object& o = v.get_object();
  Event e;
  e.event_id = text_of(o, "event_id");
  e.type = text_of(o, "type");
  if (e.event_id.empty() || !is_event_type(e.type)) return Error{"not a spooled event"};
  e.timestamp_ms = int_of(o, "timestamp_ms");
  e.tracking_domain = text_of(o, "tracking_domain");
  e.target_link_url = text_of(o, "target_link_url");
  e.target_link_name = text_of(o, "target_link_name");
  e.message_id = text_of(o, "message_id");
  e.rcpt_to = text_of(o, "rcpt_to");
  e.campaign_id = text_of(o, "campaign_id");
  e.sending_domain = text_of(o, "sending_domain");
  e.user_agent = text_of(o, "user_agent");
  e.ip_address = text_of(o, "ip_address");
  e.method = text_of(o, "method");
  e.subaccount_id = int_of(o, "subaccount_id");
  e.transmission_id = text_of(o, "transmission_id");
  e.raw_rcpt_to = text_of(o, "raw_rcpt_to");
  e.rcpt_meta = text_of(o, "rcpt_meta");
  e.rcpt_tags = text_of(o, "rcpt_tags");
  e.friendly_from = text_of(o, "friendly_from");
  e.msg_from = text_of(o, "msg_from");
  e.msg_size = int_of(o, "msg_size");
  e.classification = text_of(o, "classification");
  if (const json::value* r = o.if_contains("classification_reasons"); r && r->is_array()) {
    for (const json::value& x : r->get_array()) {
      if (x.is_string()) e.classification_reasons.emplace_back(x.get_string());
    }
  }
  return e;
}

}  // namespace internal

EventSpool::EventSpool(std::string dir) : dir_(std::move(dir)) {}

EventSpool::~EventSpool() {
  // A file with events stays for the next drain (this process's or another's).
  if (own_fd_ >= 0) ::close(own_fd_);
}

Result<std::unique_ptr<EventSpool>> EventSpool::open(std::string dir) {
  if (dir.empty()) return Error{"the event spool directory is empty"};
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error{"event spool " + dir + ": " + ec.message(), Errc::kUnavailable};
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return Error{sys_error("event spool", dir), Errc::kUnavailable};
  }
  return std::make_unique<EventSpool>(std::move(dir));
}

Result<bool> EventSpool::create_own_file() {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  char name[96];
  std::snprintf(name, sizeof name, "events-%013lld-%d-%llu.spool", static_cast<long long>(ms),
                static_cast<int>(::getpid()), static_cast<unsigned long long>(files_made_++));
  const std::string path = (fs::path(dir_) / name).string();
  const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Error{sys_error("cannot create", path), Errc::kUnavailable};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || !write_all(fd, kMagic) || ::fdatasync(fd) != 0) {
    Error err{sys_error("cannot write", path), Errc::kUnavailable};
    ::close(fd);
    ::unlink(path.c_str());
    return err;
  }
  sync_dir(dir_);
  own_fd_ = fd;
  own_path_ = path;
  own_size_ = kMagic.size();
  return true;
}

Result<bool> EventSpool::append(std::span<const Event> events) {
  if (events.empty()) return true;
  if (own_fd_ < 0) {
    if (auto r = create_own_file(); !r) return r;
  }
  std::string records;
  for (const Event& e : events) {
    const std::string payload = internal::spool_payload(e);
    put_u32(records, static_cast<std::uint32_t>(payload.size()));
    put_u32(records, crc_of(payload));
    records += payload;
  }
  if (!write_all(own_fd_, records) || ::fdatasync(own_fd_) != 0) {
    Error err{sys_error("cannot write", own_path_), Errc::kUnavailable};
    // No half record stays behind the acknowledged ones.
    (void)::ftruncate(own_fd_, static_cast<off_t>(own_size_));
    return err;
  }
  own_size_ += records.size();
  pending_ += events.size();
  return true;
}

// Ships one file's records; the number shipped, or the first failing ship's
// error. A damaged record ends the file: it is renamed *.damaged.
Result<std::size_t> EventSpool::ship_file(const std::string& path, int fd, const Ship& ship,
                                          std::size_t batch,
                                          std::chrono::steady_clock::time_point until) {
  std::string head;
  std::uint64_t offset = kMagic.size();
  if (auto at = resume_at_.find(path); at != resume_at_.end()) offset = at->second;
  bool damaged = !read_at(fd, 0, kMagic.size(), head) || head != kMagic;
  std::size_t shipped = 0;
  std::vector<Event> events;
  std::string bytes;
  while (!damaged) {
    if (!read_at(fd, offset, kRecordHeader, bytes)) {
      struct stat st {};
      damaged = ::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) != offset;
      break;  // the end of the file, or a torn record header
    }
    const auto* h = reinterpret_cast<const unsigned char*>(bytes.data());
    const std::uint32_t len = get_u32(h);
    const std::uint32_t crc = get_u32(h + 4);
    if (len > kMaxPayload || !read_at(fd, offset + kRecordHeader, len, bytes) ||
        crc_of(bytes) != crc) {
      damaged = true;
      break;
    }
    auto e = internal::spool_event(bytes);
    if (!e) {
      damaged = true;
      break;
    }
    events.push_back(std::move(e).value());
    offset += kRecordHeader + len;
    if (events.size() >= batch) {
      if (auto r = ship(events); !r) return r.failure();
      shipped += events.size();
      events.clear();
      if (std::chrono::steady_clock::now() >= until) {  // the rest in the next drain
        resume_at_[path] = offset;
        unfinished_ = true;
        return shipped;
      }
    }
  }
  resume_at_.erase(path);
  if (!events.empty()) {
    if (auto r = ship(events); !r) return r.failure();
    shipped += events.size();
  }
  if (damaged) {
    ++damaged_;
    const std::string kept = path + ".damaged";
    std::error_code ec;
    fs::rename(path, kept, ec);
    std::fprintf(stderr,
                 "trackrelay: store: event spool %s: damaged record at byte %llu; the %zu events "
                 "before it were shipped, the file is kept as %s\n",
                 path.c_str(), static_cast<unsigned long long>(offset), shipped, kept.c_str());
  }
  return shipped;
}

Result<std::size_t> EventSpool::drain(const Ship& ship, std::size_t batch,
                                      std::chrono::steady_clock::time_point until) {
  batch = std::max<std::size_t>(batch, 1);
  std::size_t total = 0;
  unfinished_ = false;
  if (own_fd_ >= 0) {
    auto r = ship_file(own_path_, own_fd_, ship, batch, until);
    if (!r) return r;
    total += *r;
    pending_ -= std::min<std::uint64_t>(pending_.load(), *r);
    if (unfinished_) return total;
    ::unlink(own_path_.c_str());  // nothing when ship_file renamed it
    ::close(own_fd_);
    own_fd_ = -1;
    own_size_ = 0;
    pending_ = 0;
  }
  std::vector<std::string> others;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("events-") && name.ends_with(".spool")) {
      others.push_back(entry.path().string());
    }
  }
  std::sort(others.begin(), others.end());  // by creation time (the name starts with it)
  for (const std::string& path : others) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;                       // shipped and removed by another writer meanwhile
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {  // a live writer's file
      ::close(fd);
      continue;
    }
    auto r = ship_file(path, fd, ship, batch, until);
    if (r && !unfinished_) ::unlink(path.c_str());
    ::close(fd);
    if (!r) return r;
    total += *r;
    if (unfinished_) return total;
  }
  if (total > 0) sync_dir(dir_);
  return total;
}

}  // namespace trackrelay::store
