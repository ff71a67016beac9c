// track/tls.cc — CertificateSet: PEM loading and the SNI callback.
// May call: conf/, base/, Boost.Asio SSL, OpenSSL.
#include "track/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fstream>
#include <system_error>

#include "conf/config.h"

namespace trackrelay::track {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

bool name_matches(std::string_view pattern, std::string_view name) {
  if (pattern == name) return true;
  if (!pattern.starts_with("*.")) return false;
  const auto dot = name.find('.');
  return dot != std::string_view::npos && dot > 0 && name.substr(dot) == pattern.substr(1);
}

// Why a file cannot be used, or empty when it can be opened.
std::string unreadable(const std::string& path) {
  if (path.empty()) return "no file name given";
  std::ifstream in(path);
  if (!in) return std::error_code(errno, std::generic_category()).message();
  return {};
}

std::string openssl_error(const boost::system::error_code& ec) {
  std::string msg = ec.message();
  if (unsigned long e = ERR_get_error(); e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    msg = buf;
  }
  ERR_clear_error();
  return msg;
}

int on_servername(SSL* ssl, int* /*alert*/, void* arg) {
  auto* set = static_cast<CertificateSet*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_OK;  // the first certificate
  const std::size_t i = set->choose(name);
  if (i != 0) SSL_set_SSL_CTX(ssl, set->native(i));
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

CertificateSet::CertificateSet(std::vector<Entry> entries) : entries_(std::move(entries)) {}

std::size_t CertificateSet::choose(std::string_view server_name) const {
  const std::string name = lower(server_name);
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    for (const std::string& p : entries_[i].names) {
      if (p == name) return i;
    }
  }
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    for (const std::string& p : entries_[i].names) {
      if (name_matches(p, name)) return i;
    }
  }
  return 0;
}

Result<std::shared_ptr<CertificateSet>> CertificateSet::load(
    const std::vector<conf::TrackCertificate>& certs) {
  namespace ssl = boost::asio::ssl;
  if (certs.empty()) {
    return Error{"track.tls_listen is set but track.certificates is empty"};
  }
  std::vector<Entry> entries;
  for (std::size_t i = 0; i < certs.size(); ++i) {
    const conf::TrackCertificate& c = certs[i];
    const std::string where = "track.certificates[" + std::to_string(i) + "]";
    if (c.domains.empty()) return Error{where + ": no domains"};
    if (auto why = unreadable(c.cert); !why.empty()) {
      return Error{where + ": cannot read certificate '" + c.cert + "': " + why};
    }
    if (auto why = unreadable(c.key); !why.empty()) {
      return Error{where + ": cannot read key '" + c.key + "': " + why};
    }
    ssl::context ctx(ssl::context::tls_server);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                    ssl::context::single_dh_use);
    boost::system::error_code ec;
    ctx.use_certificate_chain_file(c.cert, ec);
    if (ec) return Error{where + ": certificate '" + c.cert + "': " + openssl_error(ec)};
    ctx.use_private_key_file(c.key, ssl::context::pem, ec);
    if (ec && ec.category() == boost::asio::error::get_ssl_category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      return Error{where + ": key '" + c.key + "' does not match certificate '" + c.cert + "'"};
    }
    if (ec) return Error{where + ": key '" + c.key + "': " + openssl_error(ec)};
    if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
      ERR_clear_error();
      return Error{where + ": key '" + c.key + "' does not match certificate '" + c.cert + "'"};
    }
    Entry e{{}, std::move(ctx)};
    for (const std::string& d : c.domains) e.names.push_back(lower(d));
    entries.push_back(std::move(e));
  }
  auto set = std::make_shared<CertificateSet>(std::move(entries));
  SSL_CTX* first = set->context().native_handle();
  SSL_CTX_set_tlsext_servername_callback(first, on_servername);
  SSL_CTX_set_tlsext_servername_arg(first, set.get());
  return set;
}

}  // namespace trackrelay::track
