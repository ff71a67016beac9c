// metrics/endpoint.h — `metrics.listen`: GET /metrics in the Prometheus
// text format (0.0.4) over plain HTTP.
//
// Owns: the scrape listener (net/http_server.h: limits, timeouts, keep-alive)
// and its routes: GET|HEAD /metrics → 200 with Registry::render(), run on
// the endpoint's own thread (collectors may read the store); any other
// path → 404, any other method → 405. May call: metrics/registry.h,
// net/http_server.h, base/.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "metrics/registry.h"

namespace trackrelay::metrics {

inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

class Endpoint {
 public:
  // `registry` must outlive the endpoint.
  Endpoint(boost::asio::io_context& ioc, const Registry& registry);
  ~Endpoint();
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  // Binds every address ("host:port"); the error names the address and why.
  Result<bool> listen(const std::vector<std::string>& addresses);
  void stop(std::chrono::seconds grace);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trackrelay::metrics
