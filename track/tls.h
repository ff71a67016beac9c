// track/tls.h — the certificates of the HTTPS listeners, chosen by SNI.
//
// Owns: reading track.certificates (PEM chain + key, checked to match) into
// one OpenSSL context per certificate, and picking the context for the name a
// client asks for (exact name, or "*.example.com" for one label; a client that
// names no known domain gets the first certificate). A set is immutable; a
// reload builds a new one, and each connection keeps the set it started with
// alive. May call: conf/, net/ (TlsContexts), base/, Boost.Asio SSL, OpenSSL.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "conf/config.h"
#include "net/http_server.h"

namespace trackrelay::track {

class CertificateSet final : public net::TlsContexts {
 public:
  // Fails, naming the entry and the file, when any certificate or key is
  // missing, unreadable, not PEM, or the key does not match the certificate;
  // and when `certs` is empty.
  static Result<std::shared_ptr<CertificateSet>> load(
      const std::vector<conf::TrackCertificate>& certs);

  // The context handshakes start with; its SNI callback switches to the
  // chosen certificate's context. Valid while this set is alive.
  boost::asio::ssl::context& context() override { return entries_.front().ctx; }
  // The index into the configured certificates serving `server_name`.
  std::size_t choose(std::string_view server_name) const;
  SSL_CTX* native(std::size_t i) { return entries_[i].ctx.native_handle(); }

  struct Entry {
    std::vector<std::string> names;  // lower-case
    boost::asio::ssl::context ctx;
  };
  explicit CertificateSet(std::vector<Entry> entries);  // use load()

 private:
  std::vector<Entry> entries_;
};

}  // namespace trackrelay::track
