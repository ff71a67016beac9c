// acme/client.h — one RFC 8555 conversation: account, order, HTTP-01 or
// TLS-ALPN-01, finalize, download.
//
// Owns: the directory, nonces (a badNonce answer is retried with the fresh
// nonce, §6.5), the account (newAccount with the JWK; afterwards requests
// are signed with the account URL, §6.2), and issuing one certificate for a
// list of names: newOrder, each authorization's http-01 challenge
// (published through the caller, so whichever process answers
// /.well-known/acme-challenge/ finds it), polling, finalize with a fresh
// P-256 key's CSR, and the PEM chain. Blocking: run it on a worker thread.
// May call: acme/key, acme/pem, acme/https, base/, Boost.JSON.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "acme/https.h"
#include "acme/key.h"
#include "base/result.h"

namespace trackrelay::acme {

struct Issued {
  std::string chain_pem;  // leaf first
  std::string key_pem;    // the certificate's own P-256 key (PKCS#8)
};

// Publishes (and later withdraws) the key authorization of an HTTP-01 token.
struct ChallengeSink {
  std::function<Result<bool>(const std::string& token, const std::string& key_authorization,
                             const std::string& domain)>
      publish;
  std::function<void(const std::string& token)> withdraw;
};

class Client {
 public:
  // `stop`, when set, ends waits early (the issuance fails with "stopped").
  Client(HttpsOptions https, std::string directory_url, const Key& account_key,
         std::string kid = {}, const std::atomic<bool>* stop = nullptr);

  // Registers the account (or finds it again: the same key gives the same
  // account) and returns its URL, which later requests are signed with.
  Result<std::string> register_account(const std::string& email);
  // Needs the account (register_account or a `kid` given to the constructor).
  Result<Issued> issue(const std::vector<std::string>& names, const ChallengeSink& sink);
  // The challenge types to answer, in order of preference ("http-01",
  // "tls-alpn-01"); the first one an authorization offers is used. A
  // tls-alpn-01 key authorization is published under alpn_challenge_token()
  // (acme/alpn.h). Default: http-01 only.
  void set_challenge_types(std::vector<std::string> types) { types_ = std::move(types); }
  // The ARI identifier (acme/ari.h) of the certificate this order replaces:
  // sent as newOrder's `replaces` (RFC 9773 §5) when the directory offers
  // renewalInfo; a CA refusing it gets the order again without it.
  void set_replaces(std::string ari_id) { replaces_ = std::move(ari_id); }

 private:
  struct Reply {
    HttpsResponse http;
    std::string type;  // the problem document's type when status >= 400
  };
  Result<bool> load_directory();
  Result<Reply> new_order(const std::vector<std::string>& names);
  Result<Reply> post(const std::string& url, const std::string& payload);
  Result<bool> authorize(const std::string& authz_url, const ChallengeSink& sink);
  Result<std::string> wait_for(const std::string& url, const std::string& until, const char* what);

  HttpsOptions https_;
  std::string directory_url_;
  const Key& key_;
  std::string kid_;
  const std::atomic<bool>* stop_;
  std::string nonce_;
  std::string new_nonce_, new_account_, new_order_, renewal_info_;
  std::string replaces_;
  std::vector<std::string> types_{"http-01"};
};

}  // namespace trackrelay::acme
