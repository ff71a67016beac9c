// acme/https.h — the small HTTPS client the ACME client talks through.
//
// Owns: one request over a new TLS connection (SNI, peer verified against the
// system's CAs plus an optional extra bundle), bounded in time, answering
// with the status, the headers ACME needs and the body. Blocking: call it on
// a worker thread. May call: base/, Boost.Beast, Boost.URL, OpenSSL.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/result.h"

namespace trackrelay::acme {

struct HttpsResponse {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string location;
  std::string replay_nonce;
  std::string retry_after;
};

struct HttpsOptions {
  std::string ca_file;  // extra trusted CAs (PEM); "" = the system's only
  std::chrono::seconds timeout{30};
};

// GET, HEAD or POST `url` (https:// only). `body` is sent with
// `content_type` when non-empty. The error names the URL and what failed.
Result<HttpsResponse> https_request(const HttpsOptions& options, std::string_view method,
                                    std::string_view url, std::string_view body = {},
                                    std::string_view content_type = {});

}  // namespace trackrelay::acme
