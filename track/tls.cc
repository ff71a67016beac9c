// track/tls.cc — CertificateSet: PEM loading, TLS settings and the SNI callback.
// May call: conf/, acme/alpn.h, base/, Boost.Asio SSL, OpenSSL.
#include "track/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fstream>
#include <iterator>
#include <system_error>

#include "acme/alpn.h"
#include "conf/config.h"

namespace trackrelay::track {
namespace {

namespace ssl = boost::asio::ssl;

// Mozilla's "intermediate" TLS 1.2 list: ECDHE key exchange, AEAD only.
// TLS 1.3 keeps OpenSSL's default suites (all AEAD).
constexpr const char* kCiphers12 =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

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

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
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

bool key_mismatch(const boost::system::error_code& ec) {
  return ec && ec.category() == boost::asio::error::get_ssl_category() &&
         ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH;
}

std::shared_ptr<ssl::context> hardened() {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  SSL_CTX* c = ctx->native_handle();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(c, kCiphers12);
  SSL_CTX_set_options(
      c, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  return ctx;
}

int on_servername(SSL* ssl, int* alert, void* arg) {
  auto* set = static_cast<CertificateSet*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  std::optional<std::size_t> i;
  if (name != nullptr) {
    i = set->choose(name);
  } else if (set->file_entries() > 0) {
    i = 0;  // no name asked for: the first configured certificate, as before
  }
  if (!i) {
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  SSL_set_SSL_CTX(ssl, set->native(*i));
  return SSL_TLSEXT_ERR_OK;
}

// The TLS-ALPN-01 validation context: the challenge certificate, "acme-tls/1".
int select_acme_tls(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                    unsigned int inlen, void*) {
  std::string_view offered(reinterpret_cast<const char*>(in), inlen);
  for (std::size_t i = 0; i < offered.size();) {
    const std::size_t n = static_cast<unsigned char>(offered[i]);
    if (offered.substr(i + 1, n) == acme::kAcmeTlsProtocol) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(n);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + n;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

int keep_context(SSL*, int*, void*) {
  return SSL_TLSEXT_ERR_OK;
}

std::shared_ptr<SSL_CTX> alpn_ctx(const acme::AlpnCertificate& cert) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) return nullptr;
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(ctx.get(), kCiphers12);
  BIO* cb = BIO_new_mem_buf(cert.cert_pem.data(), static_cast<int>(cert.cert_pem.size()));
  BIO* kb = BIO_new_mem_buf(cert.key_pem.data(), static_cast<int>(cert.key_pem.size()));
  X509* x = cb ? PEM_read_bio_X509(cb, nullptr, nullptr, nullptr) : nullptr;
  EVP_PKEY* k = kb ? PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr) : nullptr;
  const bool ok = x != nullptr && k != nullptr && SSL_CTX_use_certificate(ctx.get(), x) == 1 &&
                  SSL_CTX_use_PrivateKey(ctx.get(), k) == 1;
  X509_free(x);
  EVP_PKEY_free(k);
  BIO_free(cb);
  BIO_free(kb);
  if (!ok) {
    ERR_clear_error();
    return nullptr;
  }
  SSL_CTX_set_alpn_select_cb(ctx.get(), select_acme_tls, nullptr);
  SSL_CTX_set_tlsext_servername_callback(ctx.get(), keep_context);  // the set's would switch away
  return ctx;
}

// The protocols of a ClientHello's ALPN extension: is "acme-tls/1" among them?
bool offers_acme_tls(const unsigned char* p, std::size_t len) {
  if (len < 2) return false;
  std::string_view list(reinterpret_cast<const char*>(p) + 2, len - 2);
  for (std::size_t i = 0; i < list.size();) {
    const std::size_t n = static_cast<unsigned char>(list[i]);
    if (list.substr(i + 1, n) == acme::kAcmeTlsProtocol) return true;
    i += 1 + n;
  }
  return false;
}

// The host_name of a ClientHello's server_name extension, or "".
std::string sni_of(SSL* ssl) {
  const unsigned char* p = nullptr;
  std::size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) != 1 || len < 5) {
    return {};
  }
  // list length (2), type (1) = host_name (0), name length (2), name
  if (p[2] != TLSEXT_NAMETYPE_host_name) return {};
  const std::size_t n = (std::size_t{p[3]} << 8) | p[4];
  if (n == 0 || 5 + n > len) return {};
  return std::string(reinterpret_cast<const char*>(p) + 5, n);
}

// TLS-ALPN-01: a client offering "acme-tls/1" is the CA validating a name;
// it gets the validation certificate, or the handshake fails.
int on_client_hello(SSL* ssl, int* alert, void* arg) {
  const auto* set = static_cast<const CertificateSet*>(arg);
  const unsigned char* p = nullptr;
  std::size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &p,
                                &len) != 1 ||
      !offers_acme_tls(p, len)) {
    return SSL_CLIENT_HELLO_SUCCESS;
  }
  const std::string name = sni_of(ssl);
  std::shared_ptr<SSL_CTX> ctx = name.empty() ? nullptr : set->alpn_context(name);
  if (!ctx) {
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_CLIENT_HELLO_ERROR;
  }
  SSL_set_SSL_CTX(ssl, ctx.get());  // the connection holds its own reference
  return SSL_CLIENT_HELLO_SUCCESS;
}

}  // namespace

CertificateSet::CertificateSet(std::vector<Entry> entries, std::size_t file_count)
    : entries_(std::move(entries)), file_count_(file_count), base_(hardened()) {
  SSL_CTX_set_tlsext_servername_callback(base_->native_handle(), on_servername);
  SSL_CTX_set_tlsext_servername_arg(base_->native_handle(), this);
  SSL_CTX_set_client_hello_cb(base_->native_handle(), on_client_hello, this);
}

std::shared_ptr<SSL_CTX> CertificateSet::alpn_context(const std::string& name) const {
  if (!helpers_.alpn_challenge) return nullptr;
  const std::optional<std::string> key_authorization = helpers_.alpn_challenge(lower(name));
  if (!key_authorization) return nullptr;
  auto cert = acme::alpn_certificate(lower(name), *key_authorization);
  if (!cert) return nullptr;
  return alpn_ctx(*cert);
}

std::optional<std::size_t> CertificateSet::choose(std::string_view server_name) const {
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
  return std::nullopt;
}

Result<std::vector<CertificateSet::Entry>> CertificateSet::load_files(
    const std::vector<conf::TrackCertificate>& certs) {
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
    auto ctx = hardened();
    boost::system::error_code ec;
    ctx->use_certificate_chain_file(c.cert, ec);
    if (ec) return Error{where + ": certificate '" + c.cert + "': " + openssl_error(ec)};
    ctx->use_private_key_file(c.key, ssl::context::pem, ec);
    if (key_mismatch(ec) || (!ec && SSL_CTX_check_private_key(ctx->native_handle()) != 1)) {
      ERR_clear_error();
      return Error{where + ": key '" + c.key + "' does not match certificate '" + c.cert + "'"};
    }
    if (ec) return Error{where + ": key '" + c.key + "': " + openssl_error(ec)};
    Entry e{{}, std::move(ctx), slurp(c.cert), nullptr};
    for (const std::string& d : c.domains) e.names.push_back(lower(d));
    entries.push_back(std::move(e));
  }
  return entries;
}

Result<CertificateSet::Entry> CertificateSet::from_pem(const PemCertificate& cert) {
  auto ctx = hardened();
  boost::system::error_code ec;
  ctx->use_certificate_chain(boost::asio::buffer(cert.chain_pem), ec);
  if (ec) return Error{cert.domain + ": certificate: " + openssl_error(ec)};
  ctx->use_private_key(boost::asio::buffer(cert.key_pem), ssl::context::pem, ec);
  if (key_mismatch(ec) || (!ec && SSL_CTX_check_private_key(ctx->native_handle()) != 1)) {
    ERR_clear_error();
    return Error{cert.domain + ": the key does not match the certificate"};
  }
  if (ec) return Error{cert.domain + ": key: " + openssl_error(ec)};
  return Entry{{lower(cert.domain)}, std::move(ctx), cert.chain_pem, nullptr};
}

std::shared_ptr<CertificateSet> CertificateSet::make(std::vector<Entry> file,
                                                     std::vector<Entry> stored,
                                                     const TlsHelpers& helpers) {
  const std::size_t file_count = file.size();
  std::vector<Entry> all = std::move(file);
  for (Entry& e : stored) {
    bool covered = false;
    for (std::size_t i = 0; i < file_count && !covered; ++i) {
      for (const std::string& p : all[i].names) covered = covered || name_matches(p, e.names[0]);
    }
    if (!covered) all.push_back(std::move(e));
  }
  for (Entry& e : all) {
    if (helpers.stapler == nullptr || e.staple) continue;
    e.staple = helpers.stapler->slot(e.chain_pem, e.names.empty() ? "" : e.names[0]);
    if (e.staple) staple_from(e.ctx->native_handle(), e.staple.get());
  }
  auto set = std::make_shared<CertificateSet>(std::move(all), file_count);
  set->helpers_ = helpers;
  return set;
}

Result<std::shared_ptr<CertificateSet>> CertificateSet::load(
    const std::vector<conf::TrackCertificate>& certs) {
  auto file = load_files(certs);
  if (!file) return Error{file.error()};
  return make(std::move(file).value(), {});
}

}  // namespace trackrelay::track
