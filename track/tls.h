// track/tls.h — the certificates of the HTTPS listeners, chosen by SNI.
//
// Owns: reading track.certificates (PEM chain + key files, checked to match)
// and the store's live certificates (ACME-issued or uploaded: PEM text,
// store/cert_store.h) into one OpenSSL context each, and picking the context
// for the name a client asks for (exact name first, then "*.example.com" for
// one label). A configuration file certificate wins over a store
// certificate for the names it covers. A name nothing covers gets the TLS
// alert unrecognized_name, never another domain's certificate; a client that
// sends no name gets the first file certificate, or the same alert. Every
// context: TLS 1.2 and 1.3 only, ECDHE with AEAD ciphers. A set is immutable;
// a reload or a store change builds a new one, and each connection keeps the
// set it started with alive. OCSP stapling: track/tls_ocsp.h. TLS-ALPN-01:
// the validation certificate for a client offering "acme-tls/1" (the
// challenge from the tracker's memory, track/store_view.h, through
// TlsHelpers: never a database round trip in a handshake). May call: conf/, net/
// (TlsContexts), track/tls_ocsp, acme/alpn.h, base/, Boost.Asio SSL, OpenSSL.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "conf/config.h"
#include "net/http_server.h"
#include "track/tls_ocsp.h"

namespace trackrelay::track {

// A certificate held as PEM text (the store's).
struct PemCertificate {
  std::string domain;
  std::string chain_pem;
  std::string key_pem;
};

// What a certificate set may use besides its certificates (all optional).
struct TlsHelpers {
  Stapler* stapler = nullptr;  // OCSP stapling (track/tls_ocsp.h)
  // TLS-ALPN-01 (RFC 8737): the key authorization the CA expects for a name
  // while an issuance validates it (the store's challenge table, as held in
  // memory), else nullopt. Called only in the handshake of a client offering
  // "acme-tls/1", on the I/O thread: it must not block.
  std::function<std::optional<std::string>(const std::string& domain)> alpn_challenge;
};

class CertificateSet final : public net::TlsContexts {
 public:
  struct Entry {
    std::vector<std::string> names;  // lower-case
    std::shared_ptr<boost::asio::ssl::context> ctx;
    std::string chain_pem;               // what OCSP stapling asks about
    std::shared_ptr<StapleSlot> staple;  // set by make() with a stapler
  };

  // The file's certificates. Fails, naming the entry and the file, when any
  // certificate or key is missing, unreadable, not PEM, or the key does not
  // match the certificate.
  static Result<std::vector<Entry>> load_files(const std::vector<conf::TrackCertificate>& certs);
  // One store certificate; the error says why it cannot be served.
  static Result<Entry> from_pem(const PemCertificate& cert);
  // File entries first; store entries whose name a file entry covers are left out.
  // With a `helpers.stapler`, every certificate naming an OCSP responder
  // staples its response (track/tls_ocsp.h).
  // A client offering only "acme-tls/1" with a name whose TLS-ALPN-01
  // challenge `helpers.alpn_challenge` knows gets the validation certificate
  // (acme/alpn.h) and that protocol; with no such challenge, the alert
  // unrecognized_name.
  static std::shared_ptr<CertificateSet> make(std::vector<Entry> file, std::vector<Entry> stored,
                                              const TlsHelpers& helpers = {});
  // load_files + make, for callers with file certificates only.
  static Result<std::shared_ptr<CertificateSet>> load(
      const std::vector<conf::TrackCertificate>& certs);

  // The context handshakes start with (no certificate of its own); its SNI
  // callback switches to the chosen certificate's context. Valid while this
  // set is alive.
  boost::asio::ssl::context& context() override { return *base_; }
  // The index of the entry serving `server_name`; nullopt when none covers it.
  std::optional<std::size_t> choose(std::string_view server_name) const;
  std::size_t file_entries() const { return file_count_; }
  std::size_t size() const { return entries_.size(); }
  SSL_CTX* native(std::size_t i) { return entries_[i].ctx->native_handle(); }
  // The TLS-ALPN-01 validation context for `name`, or null (no challenge).
  std::shared_ptr<SSL_CTX> alpn_context(const std::string& name) const;

  CertificateSet(std::vector<Entry> entries, std::size_t file_count);  // use make()

 private:
  std::vector<Entry> entries_;
  std::size_t file_count_ = 0;
  std::shared_ptr<boost::asio::ssl::context> base_;
  TlsHelpers helpers_;
};

}  // namespace trackrelay::track
