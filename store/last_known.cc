// store/last_known.cc — see last_known.h. May call: base/,
// store/domain_store.h, store/cert_store.h, Boost.JSON.
#include "store/last_known.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/log.h"

namespace trackrelay::store {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr int kFormat = 1;  // the files' "format": a reader refuses another

// One object's fields; a missing or mistyped field throws (the file is
// corrupt: load_*() catch it and ignore the file).
struct Fields {
  const json::object& o;
  std::string str(const char* k) const { return std::string(o.at(k).as_string()); }
  std::int64_t i64(const char* k) const { return o.at(k).to_number<std::int64_t>(); }
  int i32(const char* k) const { return o.at(k).to_number<int>(); }
  bool flag(const char* k) const { return o.at(k).as_bool(); }
};

json::object to_json(const TrackingDomainRow& r) {
  json::object o;
  o["domain"] = r.domain;
  o["subaccount_id"] = r.subaccount_id;
  o["port"] = r.port ? json::value(*r.port) : json::value(nullptr);
  o["secure"] = r.secure;
  o["is_default"] = r.is_default;
  o["default_on_verify"] = r.default_on_verify;
  o["verified"] = r.verified;
  o["cname_status"] = r.cname_status;
  o["compliance_status"] = r.compliance_status;
  o["found"] = r.found;
  o["message"] = r.message;
  o["checked_ms"] = r.checked_ms;
  o["failures"] = r.failures;
  o["http_token"] = r.http_token;
  o["created_ms"] = r.created_ms;
  return o;
}

TrackingDomainRow tracking_of(const Fields& f) {
  TrackingDomainRow r;
  r.domain = f.str("domain");
  r.subaccount_id = f.i64("subaccount_id");
  if (!f.o.at("port").is_null()) r.port = f.o.at("port").to_number<std::uint16_t>();
  r.secure = f.flag("secure");
  r.is_default = f.flag("is_default");
  r.default_on_verify = f.flag("default_on_verify");
  r.verified = f.flag("verified");
  r.cname_status = f.str("cname_status");
  r.compliance_status = f.str("compliance_status");
  r.found = f.str("found");
  r.message = f.str("message");
  r.checked_ms = f.i64("checked_ms");
  r.failures = f.i32("failures");
  r.http_token = f.str("http_token");
  r.created_ms = f.i64("created_ms");
  return r;
}

json::object to_json(const SendingDomainRow& r) {
  json::object o;
  o["domain"] = r.domain;
  o["subaccount_id"] = r.subaccount_id;
  o["tracking_domain"] = r.tracking_domain;
  o["created_ms"] = r.created_ms;
  o["verified"] = r.verified;
  o["txt_status"] = r.txt_status;
  o["txt_token"] = r.txt_token;
  o["found"] = r.found;
  o["message"] = r.message;
  o["checked_ms"] = r.checked_ms;
  return o;
}

SendingDomainRow sending_of(const Fields& f) {
  SendingDomainRow r(f.str("domain"), f.i64("subaccount_id"), f.str("tracking_domain"),
                     f.i64("created_ms"));
  r.verified = f.flag("verified");
  r.txt_status = f.str("txt_status");
  r.txt_token = f.str("txt_token");
  r.found = f.str("found");
  r.message = f.str("message");
  r.checked_ms = f.i64("checked_ms");
  return r;
}

json::object to_json(const SubaccountRow& r) {
  return {{"id", r.id}, {"name", r.name}, {"status", r.status}, {"created_ms", r.created_ms}};
}

SubaccountRow subaccount_of(const Fields& f) {
  return SubaccountRow{f.i64("id"), f.str("name"), f.str("status"), f.i64("created_ms")};
}

json::object to_json(const CertificateRow& r) {
  json::object o;
  o["domain"] = r.domain;
  o["source"] = r.source;
  o["status"] = r.status;
  o["message"] = r.message;
  o["chain_pem"] = r.chain_pem;
  o["key_pem"] = r.key_pem;
  o["not_before_ms"] = r.not_before_ms;
  o["not_after_ms"] = r.not_after_ms;
  o["serial"] = r.serial;
  o["failures"] = r.failures;
  o["next_try_ms"] = r.next_try_ms;
  o["updated_ms"] = r.updated_ms;
  return o;
}

CertificateRow certificate_of(const Fields& f) {
  CertificateRow r;
  r.domain = f.str("domain");
  r.source = f.str("source");
  r.status = f.str("status");
  r.message = f.str("message");
  r.chain_pem = f.str("chain_pem");
  r.key_pem = f.str("key_pem");
  r.not_before_ms = f.i64("not_before_ms");
  r.not_after_ms = f.i64("not_after_ms");
  r.serial = f.str("serial");
  r.failures = f.i32("failures");
  r.next_try_ms = f.i64("next_try_ms");
  r.updated_ms = f.i64("updated_ms");
  return r;
}

template <class Row>
json::array array_of(const std::vector<Row>& rows) {
  json::array a;
  for (const Row& r : rows) a.push_back(to_json(r));
  return a;
}

template <class Row, class Read>
std::vector<Row> rows_of(const json::value& v, Read read) {
  std::vector<Row> out;
  for (const json::value& item : v.as_array()) out.push_back(read(Fields{item.as_object()}));
  return out;
}

std::string domains_text(const DomainsSnapshot& s) {
  json::array live;
  for (const std::string& name : s.tls_live) live.emplace_back(name);
  json::object o{{"format", kFormat},
                 {"version", s.version},
                 {"tracking", array_of(s.tracking)},
                 {"sending", array_of(s.sending)},
                 {"subaccounts", array_of(s.subaccounts)},
                 {"tls_live", std::move(live)}};
  return json::serialize(o);
}

// The document's top object, after its format was checked (throws otherwise).
json::object document(const std::string& text) {
  json::object o = json::parse(text).as_object();
  if (o.at("format").to_number<int>() != kFormat) throw std::runtime_error("unknown format");
  return o;
}

DomainsSnapshot domains_of(const std::string& text) {
  const json::object o = document(text);
  DomainsSnapshot s;
  s.version = o.at("version").to_number<std::int64_t>();
  s.tracking = rows_of<TrackingDomainRow>(o.at("tracking"), tracking_of);
  s.sending = rows_of<SendingDomainRow>(o.at("sending"), sending_of);
  s.subaccounts = rows_of<SubaccountRow>(o.at("subaccounts"), subaccount_of);
  for (const json::value& name : o.at("tls_live").as_array()) {
    s.tls_live.insert(std::string(name.as_string()));
  }
  return s;
}

std::string errno_text() {
  return std::strerror(errno);
}

// `text` in `path`, replacing it atomically: a temporary file in the same
// directory (0600), fsync, rename, fsync of the directory.
Result<bool> write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return Error{"cannot write " + tmp + ": " + errno_text(), Errc::kUnavailable};
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  // fchmod: an older file of another mode was truncated, not created.
  const bool ok = done == text.size() && ::fchmod(fd, 0600) == 0 && ::fsync(fd) == 0;
  const std::string why = ok ? "" : errno_text();
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e{"cannot write " + path + ": " + (ok ? errno_text() : why), Errc::kUnavailable};
    ::unlink(tmp.c_str());
    return e;
  }
  const std::string dir = fs::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

}  // namespace

LastKnown::LastKnown(std::string dir) : dir_(std::move(dir)) {}

std::string LastKnown::domains_file() const {
  return dir_.empty() ? "" : (fs::path(dir_) / "last-known-domains.json").string();
}

std::string LastKnown::certificates_file() const {
  return dir_.empty() ? "" : (fs::path(dir_) / "last-known-certificates.json").string();
}

Result<bool> LastKnown::save(const std::string& path, std::string text, std::string& last) {
  if (dir_.empty()) return true;
  std::lock_guard lock(mu_);
  if (text == last) return true;
  std::error_code ec;
  fs::create_directories(dir_, ec);  // a failure shows when the file is written
  auto r = write_atomically(path, text);
  if (r) last = std::move(text);
  return r;
}

// The file's text; nullopt when it does not exist or cannot be read (logged).
std::optional<std::string> LastKnown::read(const std::string& path) {
  if (dir_.empty()) return std::nullopt;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (ec)
      log::warning("store", "last-known snapshot " + path + ": " + ec.message() + "; ignored");
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    log::warning("store", "last-known snapshot " + path + ": " + errno_text() + "; ignored");
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    log::warning("store", "last-known snapshot " + path + ": read failed; ignored");
    return std::nullopt;
  }
  return text.str();
}

Result<bool> LastKnown::save_domains(const DomainsSnapshot& domains) {
  return save(domains_file(), domains_text(domains), last_domains_);
}

std::optional<DomainsSnapshot> LastKnown::load_domains() {
  auto text = read(domains_file());
  if (!text) return std::nullopt;
  try {
    DomainsSnapshot s = domains_of(*text);
    std::lock_guard lock(mu_);
    last_domains_ = std::move(*text);
    return s;
  } catch (const std::exception& e) {
    log::warning("store", "last-known snapshot " + domains_file() + " is corrupt (" + e.what() +
                              "); ignored");
    return std::nullopt;
  }
}

Result<bool> LastKnown::save_certificates(const std::vector<CertificateRow>& rows) {
  json::object o{{"format", kFormat}, {"certificates", array_of(rows)}};
  return save(certificates_file(), json::serialize(o), last_certificates_);
}

std::optional<std::vector<CertificateRow>> LastKnown::load_certificates() {
  auto text = read(certificates_file());
  if (!text) return std::nullopt;
  try {
    auto rows = rows_of<CertificateRow>(document(*text).at("certificates"), certificate_of);
    std::lock_guard lock(mu_);
    last_certificates_ = std::move(*text);
    return rows;
  } catch (const std::exception& e) {
    log::warning("store", "last-known snapshot " + certificates_file() + " is corrupt (" +
                              e.what() + "); ignored");
    return std::nullopt;
  }
}

Result<std::vector<CertificateRow>> certificates_or_last_known(CertStore& certs, LastKnown& cache) {
  auto rows = certs.certificates();
  if (rows) {
    std::vector<CertificateRow> live;  // only what the tracker serves: active, issued
    for (const CertificateRow& r : *rows) {
      if (r.status == "active" && !r.chain_pem.empty()) live.push_back(r);
    }
    if (auto saved = cache.save_certificates(live); !saved) {
      log::warning("store", "last-known snapshot: " + saved.error());
    }
    return rows;
  }
  auto cached = cache.load_certificates();
  if (!cached) return rows;
  log::warning("store", "certificates: " + rows.error() + "; serving the last-known ones from " +
                            cache.certificates_file());
  return std::move(*cached);
}

}  // namespace trackrelay::store
