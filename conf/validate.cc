// conf/validate.cc — the checks that make `check` refuse whatever `serve`
// would: the syntax of the checked kinds of the key table (listen addresses,
// upstream, CIDRs, resolvers, password hashes, enums, paths resolved against
// the configuration file's directory, the store's file path or PostgreSQL
// URI), and the cross-key TLS rules
// (certificate and key files readable, PEM, matching, covering their names).
// `check`, `serve` and SIGHUP reload all load through here.
//
// May call: net/address.h, base/password_hash.h, OpenSSL, libpq (the syntax
// of a postgresql:// store URI).
#include <libpq-fe.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <system_error>

#include "base/password_hash.h"
#include "conf/internal.h"
#include "net/address.h"

namespace trackrelay::conf::internal {
namespace {

using internal::in_quotes;

Result<std::string> check_enum(std::string_view path, const std::string& text) {
  const std::span<const std::string_view> choices = enum_choices(path);
  std::string list;
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (choices[i] == text) return text;
    if (i > 0) list += i + 1 == choices.size() ? " or " : ", ";
    list += choices[i];
  }
  return Error{"expected " + list + ", got " + in_quotes(text)};
}

Result<std::string> check_upstream(const std::string& text, const std::string& base_dir) {
  constexpr std::string_view kMaildir = "maildir:";
  if (text.starts_with(kMaildir)) {
    const std::string dir = text.substr(kMaildir.size());
    if (dir.empty()) return Error{"maildir: needs a directory (maildir:PATH)"};
    return std::string(kMaildir) + resolve_path(base_dir, dir);
  }
  auto hp = net::parse_host_port(text, false);
  if (!hp) return Error{hp.error() + " (host:port, [v6]:port or maildir:PATH)"};
  if (hp->host.empty()) return Error{in_quotes(text) + ": empty host"};
  return text;
}

Result<std::string> check_resolver(const std::string& text) {
  const std::string form = " is not a resolver address (ip, ip:port, [v6]:port)";
  if (text.empty() || text.find(',') != std::string::npos) return Error{in_quotes(text) + form};
  boost::system::error_code ec;
  std::string host = text;
  if (text.front() == '[' && text.back() == ']') {
    host = text.substr(1, text.size() - 2);
  } else if (text.find(':') == text.rfind(':') && text.find(':') != std::string::npos) {
    auto hp = net::parse_host_port(text, false);
    if (!hp) return Error{hp.error()};
    host = hp->host;
  } else if (text.front() == '[') {
    auto hp = net::parse_host_port(text, false);
    if (!hp) return Error{hp.error()};
    host = hp->host;
  }
  (void)boost::asio::ip::make_address(host, ec);
  if (ec) return Error{in_quotes(text) + ": " + in_quotes(host) + " is not an IP address"};
  return text;
}

Result<std::string> check_auth_user(const std::string& text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string::npos || colon == 0) {
    return Error{"expected user:pbkdf2-sha256$ITERATIONS$SALT$HASH entries"};
  }
  auto h = parse_password_hash_format(std::string_view(text).substr(colon + 1));
  if (!h) return Error{"user " + in_quotes(text.substr(0, colon)) + ": " + h.error()};
  return text;
}

// --- TLS files ---

struct SslCtxFree {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
};
using SslCtx = std::unique_ptr<SSL_CTX, SslCtxFree>;

std::string openssl_error() {
  std::string msg = "not a valid PEM file";
  if (const unsigned long e = ERR_peek_last_error(); e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    msg = buf;
  }
  ERR_clear_error();
  return msg;
}

// Why `path` cannot be opened for reading; empty when it can.
std::string unreadable(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return "is a directory";
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return std::error_code(errno, std::generic_category()).message();
  std::fclose(f);
  return {};
}

// A certificate chain and its key, loaded as serve loads them. Reports on
// `cert_key`/`key_key` and returns null when they cannot be used.
SslCtx load_pair(const std::string& cert, const std::string& key, const std::string& cert_key,
                 const std::string& key_key, Reporter& report) {
  if (auto why = unreadable(cert); !why.empty()) {
    report.error(cert_key, "cannot read " + in_quotes(cert) + ": " + why);
    return nullptr;
  }
  if (auto why = unreadable(key); !why.empty()) {
    report.error(key_key, "cannot read " + in_quotes(key) + ": " + why);
    return nullptr;
  }
  SslCtx ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) {
    report.error(cert_key, "OpenSSL: " + openssl_error());
    return nullptr;
  }
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1) {
    report.error(cert_key, in_quotes(cert) + " is not a PEM certificate chain: " + openssl_error());
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    const unsigned long e = ERR_peek_last_error();
    const bool mismatch = ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH;
    const std::string why = openssl_error();
    report.error(key_key, mismatch
                              ? in_quotes(key) + " does not match certificate " + in_quotes(cert)
                              : in_quotes(key) + " is not a usable PEM private key for " +
                                    in_quotes(cert) + ": " + why);
    return nullptr;
  }
  return ctx;
}

// The certificate's DNS subject alternative names.
std::vector<std::string> dns_names(X509* cert) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type != GEN_DNS) continue;
    const ASN1_STRING* s = n->d.dNSName;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
  }
  GENERAL_NAMES_free(names);
  return out;
}

// Whether `cert` is valid for `name` (a host name, or "*.example.com": then
// the certificate must carry that wildcard itself).
bool covers(X509* cert, const std::string& name) {
  if (name.starts_with("*.")) {
    for (const std::string& n : dns_names(cert)) {
      if (lookup_form(n) == name) return true;
    }
    return false;
  }
  return X509_check_host(cert, name.data(), name.size(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
                         nullptr) == 1;
}

void validate_certificate(const TrackCertificate& c, const std::string& item, Reporter& report) {
  const std::string domains_key = item + ".domains";
  if (c.domains.empty()) {
    report.error(domains_key, "at least one domain is required");
    return;
  }
  std::vector<std::string> names;
  for (const std::string& d : c.domains) {
    const bool wildcard = d.starts_with("*.");
    Result<std::string> a = to_alabel(wildcard ? std::string_view(d).substr(2) : d);
    if (!a) {
      report.error(domains_key, a.error());
      return;
    }
    names.push_back(wildcard ? "*." + *a : *a);
  }
  SslCtx ctx = load_pair(c.cert, c.key, item + ".cert", item + ".key", report);
  if (!ctx) return;
  X509* cert = SSL_CTX_get0_certificate(ctx.get());
  for (const std::string& name : names) {
    if (cert == nullptr || !covers(cert, name)) {
      std::string has;
      for (const std::string& n : cert ? dns_names(cert) : std::vector<std::string>{}) {
        has += (has.empty() ? "" : ", ") + n;
      }
      report.error(domains_key, "certificate " + in_quotes(c.cert) + " does not cover " +
                                    in_quotes(name) +
                                    " (its names: " + (has.empty() ? "none" : has) + ")");
    }
  }
}

bool on_loopback(const std::string& listen) {
  auto ep = net::parse_listen(listen);
  return ep && net::normalize(ep->address()).is_loopback();
}

}  // namespace

std::string resolve_path(const std::string& base_dir, const std::string& path) {
  if (path.empty() || base_dir.empty() || base_dir == ".") return path;
  const std::filesystem::path p(path);
  if (p.is_absolute()) return path;
  return (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

namespace {

// `store`: a PostgreSQL URI (checked by libpq's own parser; the message
// never shows the password) or an SQLite file path (resolved).
Result<std::string> check_store(const std::string& text, const std::string& base_dir) {
  if (text.empty()) return Error{"empty file name"};
  const auto scheme = text.find("://");
  if (scheme == std::string::npos) return resolve_path(base_dir, text);
  const std::string name = text.substr(0, scheme);
  if (name != "postgresql" && name != "postgres") {
    return Error{"unsupported store URI scheme '" + name +
                 "' (a file path for SQLite, or a postgresql:// URI)"};
  }
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(text.c_str(), &err);
  if (opts != nullptr) {
    PQconninfoFree(opts);
    return text;
  }
  std::string msg = err != nullptr ? err : "out of memory";
  PQfreemem(err);
  while (!msg.empty() && msg.back() == '\n') msg.pop_back();
  // libpq quotes the URI: show it without the password of its user info.
  const auto at = text.rfind('@', text.find_first_of("/?", scheme + 3));
  const auto colon = text.find(':', scheme + 3);
  if (at != std::string::npos && at > scheme && colon < at) {
    const std::string safe = text.substr(0, colon) + text.substr(at);
    for (auto pos = msg.find(text); pos != std::string::npos; pos = msg.find(text, pos + 1)) {
      msg.replace(pos, text.size(), safe);
    }
  }
  return Error{"invalid PostgreSQL URI: " + msg};
}

}  // namespace

Result<std::string> check_value(Kind kind, std::string_view path, const std::string& text,
                                const std::string& base_dir) {
  switch (kind) {
    case Kind::kEnum:
      return check_enum(path, text);
    case Kind::kPath:
      if (path == "store") return check_store(text, base_dir);
      return resolve_path(base_dir, text);
    case Kind::kUpstream:
      if (text.empty()) return text;  // none: only an error when relay.listen is set
      return check_upstream(text, base_dir);
    case Kind::kPasswordHash: {
      if (text.empty()) return text;
      auto h = parse_password_hash_format(text);
      if (!h) return Error{h.error()};
      return text;
    }
    case Kind::kListen: {
      auto ep = net::parse_listen(text);
      if (!ep) return Error{ep.error()};
      return text;
    }
    case Kind::kCidrs: {
      auto c = net::parse_cidr(text);
      if (!c) return Error{c.error()};
      return text;
    }
    case Kind::kResolvers:
      return check_resolver(text);
    case Kind::kAuthUsers:
      return check_auth_user(text);
    case Kind::kMap:
    case Kind::kList:
    case Kind::kString:
    case Kind::kBool:
    case Kind::kPort:
    case Kind::kInt:
    case Kind::kSize:
    case Kind::kStrings:
      break;
  }
  return text;
}

void validate_tls(const Config& config, Reporter& report) {
  const RelayConfig& relay = config.relay;
  const bool has_cert = !relay.tls_cert.empty();
  const bool has_key = !relay.tls_key.empty();
  if (has_cert && !has_key) {
    report.error("relay.tls_cert", "needs relay.tls_key (the certificate's private key)");
  } else if (has_key && !has_cert) {
    report.error("relay.tls_key", "needs relay.tls_cert (the certificate chain)");
  } else if (has_cert) {
    (void)load_pair(relay.tls_cert, relay.tls_key, "relay.tls_cert", "relay.tls_key", report);
  }
  if (relay.require_tls && !has_cert) {
    report.error("relay.require_tls", "needs relay.tls_cert and relay.tls_key (STARTTLS)");
  }
  if (!relay.listen.empty() && relay.upstream.empty()) {
    report.error("relay.listen", "needs relay.upstream (host:port or maildir:PATH)");
  }
  const TrackConfig& track = config.track;
  if (!track.tls_listen.empty() && track.certificates.empty() && config.acme.directory.empty()) {
    report.error("track.tls_listen",
                 "needs at least one entry in track.certificates, or acme.directory");
  }
  if (!config.acme.directory.empty() && !config.acme.directory.starts_with("https://")) {
    report.error("acme.directory", "must be an https:// URL");
  }
  for (std::size_t i = 0; i < track.certificates.size(); ++i) {
    validate_certificate(track.certificates[i], "track.certificates[" + std::to_string(i) + "]",
                         report);
  }
}

std::string exposed_listener(const Config& config) {
  const std::pair<const char*, const std::vector<std::string>*> all[] = {
      {"relay.listen", &config.relay.listen},
      {"track.listen", &config.track.listen},
      {"track.tls_listen", &config.track.tls_listen},
      {"api.listen", &config.api.listen},
  };
  for (const auto& [key, list] : all) {
    for (const std::string& l : *list) {
      if (!on_loopback(l)) return std::string(key) + " " + in_quotes(l);
    }
  }
  return {};
}

}  // namespace trackrelay::conf::internal
