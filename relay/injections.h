// relay/injections.h — what the relay records when the upstream accepts a
// message: one `injection` event per accepted recipient (SparkPost's
// injection event), so reports can set clicks and opens against messages
// sent, and clicks and opens find their message's metadata and tags.
//
// An interface so that relay/ does not depend on store/: `serve` implements
// it over the event store (app/relay_injections.cc); tests may fake it.
// record() blocks until the records are durable (one group-committed store
// write per message): sessions call it on the waits pool (SessionHost::waits,
// never a rewrite thread), after the upstream's positive reply and before
// the client's. A failure is logged and
// never changes the reply: the message was accepted, and answering otherwise
// would make the client send it twice. Implementations are thread-safe.
//
// May call: rewrite/engine.h, base/, Boost.Asio.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "rewrite/engine.h"

namespace trackrelay::relay {

// One accepted recipient of one message.
struct Injection {
  std::int64_t timestamp_ms = 0;  // when the upstream accepted it
  std::string transmission_id;
  std::string message_id;
  std::string campaign_id;
  std::int64_t subaccount_id = 0;
  std::string rcpt_to;      // lower case
  std::string raw_rcpt_to;  // as given in RCPT TO
  std::string rcpt_meta;    // X-MSYS-API metadata (a JSON object's text), "" for none
  std::string rcpt_tags;    // X-MSYS-API tags (a JSON array's text), "" for none
  std::string friendly_from;
  std::string msg_from;  // the envelope sender
  std::string sending_domain;
  std::string tracking_domain;  // "" when the message was not tracked
  std::int64_t msg_size = 0;    // the bytes forwarded
};

class Injections {
 public:
  virtual ~Injections() = default;
  // Records every injection durably (blocking); the error is the store's.
  virtual Result<bool> record(std::vector<Injection> injections) = 0;
};

// The injections of a message the upstream accepted for `accepted`
// (normally envelope.rcpt_to; a copy per recipient passes its one).
std::vector<Injection> injections_of(const rewrite::Envelope& envelope,
                                     const rewrite::Outcome& outcome,
                                     const std::vector<std::string>& accepted,
                                     std::size_t forwarded_size, std::int64_t now_ms);

// Records on `blocking` (the session host's waits pool) and logs a failure; never throws.
boost::asio::awaitable<void> record_injections(boost::asio::any_io_executor blocking,
                                               std::shared_ptr<Injections> sink,
                                               std::vector<Injection> injections);

// The time now, unix milliseconds.
std::int64_t unix_now_ms();

// 18 random decimal digits (OpenSSL RAND), never starting with 0: a
// transmission id in SparkPost's style.
std::string new_transmission_id();

}  // namespace trackrelay::relay
