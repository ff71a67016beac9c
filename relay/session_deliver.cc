// relay/session_deliver.cc — the end of a transaction: the message is
// complete, so choose its account, rewrite it on the blocking pool and
// forward it, once for all recipients or once per recipient (LMTP,
// relay.per_recipient), answer the client and log. Split from session.cc
// to keep each file readable; same class, same rules.
//
// Per-recipient copies: the transaction opened upstream at MAIL/RCPT was a
// probe (the client got the upstream's word on each recipient at RCPT
// time); it is reset, then each copy is rewritten with `rcpt_to` = its one
// recipient and forwarded in its own upstream transaction, one after the
// other, so only one copy is held at a time.
//
// May call: relay/channel.h, relay/protocol.h, relay/upstream.h,
// relay/accounts.h, relay/injections.h, rewrite/, conf/, Boost.Asio.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "relay/session.h"
#include "rewrite/account.h"
#include "rewrite/engine.h"

namespace trackrelay::relay {
namespace {

// The message's account: the session's, or the subaccount its
// X-MSYS-SUBACCOUNT names (only a primary session may choose one; a
// subaccount session may name only itself). Else the refusal. The header
// is read where the session runs (no I/O); a Lookup when the store must
// be asked (stored_account(), on the waits pool).
struct Lookup {
  std::int64_t wanted;
};
std::variant<Reply, std::int64_t, Lookup> header_account(std::string_view message,
                                                         std::int64_t session,
                                                         const Accounts* accounts) {
  auto header = rewrite::subaccount_header(message);
  if (!header) return reply_for(Failure::kMalformedControls, header.error());
  if (!*header || **header == session) return session;
  const std::int64_t wanted = **header;
  if (session != 0) {
    return make_reply(550,
                      "5.7.1 X-MSYS-SUBACCOUNT: this session is authenticated for "
                      "subaccount " +
                          std::to_string(session) + ", not " + std::to_string(wanted));
  }
  if (wanted == 0) return std::int64_t{0};
  if (accounts == nullptr) {
    return make_reply(550, "5.7.1 X-MSYS-SUBACCOUNT: no subaccounts here (no store)");
  }
  return Lookup{wanted};
}

// Whether subaccount `wanted` may send. Blocking (the store).
std::variant<Reply, std::int64_t> stored_account(std::int64_t wanted, Accounts& accounts) {
  const std::string name = "X-MSYS-SUBACCOUNT: ";
  auto status = accounts.subaccount_status(wanted);
  if (!status) return reply_for(Failure::kLocalError, "subaccount lookup failed");
  if (!*status) {
    return make_reply(550, "5.7.1 " + name + "no subaccount " + std::to_string(wanted));
  }
  if (**status != "active") {
    return make_reply(550, "5.7.1 " + name + "subaccount " + std::to_string(wanted) + " is " +
                               printable(**status, 32));
  }
  return wanted;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

asio::awaitable<void> Session::deliver(std::string message) {
  const std::size_t size_in = message.size();
  // One transmission id for the message, shared by its per-recipient copies.
  rewrite::Envelope envelope{txn_->from, txn_->rcpts, account_, new_transmission_id()};
  std::shared_ptr<Accounts> accounts = txn_->runtime->accounts;
  std::variant<Reply, std::int64_t> account = std::int64_t{0};
  std::variant<Reply, std::int64_t, Lookup> chosen =
      header_account(message, envelope.subaccount_id, accounts.get());
  if (const Lookup* lookup = std::get_if<Lookup>(&chosen)) {
    // A subaccount to look up: the store is read on the waits pool, so
    // that other sessions are not held up. No deadline while it runs.
    watch_.disarm();
    const std::int64_t wanted = lookup->wanted;
    account = co_await asio::co_spawn(
        host_.waits(),
        [&]() -> asio::awaitable<std::variant<Reply, std::int64_t>> {
          co_return stored_account(wanted, *accounts);
        },
        asio::use_awaitable);
  } else if (const Reply* r = std::get_if<Reply>(&chosen)) {
    account = *r;
  } else {
    account = std::get<std::int64_t>(chosen);
  }
  if (const Reply* refused = std::get_if<Reply>(&account)) {
    answer_all(*refused);
    log_transaction({{"status", "rejected"}, {"size", std::to_string(size_in)}}, *refused);
    co_return co_await end_transaction(true);
  }
  envelope.subaccount_id = std::get<std::int64_t>(account);
  if (rt_->per_recipient) {
    co_await deliver_copies(std::move(message), std::move(envelope));
  } else {
    co_await deliver_whole(std::move(message), std::move(envelope));
  }
}

asio::awaitable<Result<rewrite::Outcome>> Session::rewrite_on_pool(
    const std::string& message, const rewrite::Envelope& envelope) {
  std::shared_ptr<const conf::Config> config = txn_->runtime->config;
  const std::int64_t now = unix_now();
  metrics::Instruments* m = txn_->runtime->metrics;
  metrics::Histogram* hist = m ? &m->rewrite_histogram() : nullptr;
  watch_.disarm();
  // (co_spawn needs a default-constructible result, hence the optional.)
  std::optional<Result<rewrite::Outcome>> done = co_await asio::co_spawn(
      host_.blocking(),
      [&]() -> asio::awaitable<std::optional<Result<rewrite::Outcome>>> {
        auto scanner = rewrite::make_scanner(config->rewrite);
        co_return metrics::timed(hist, [&] {
          return rewrite::rewrite_message(message, envelope, *config, *scanner, now);
        });
      },
      asio::use_awaitable);
  co_return std::move(*done);
}

std::vector<log::Field> Session::outcome_fields(std::size_t size_in, std::int64_t account,
                                                const rewrite::Outcome& outcome) const {
  std::vector<log::Field> fields = {
      {"account", std::to_string(account)},
      {"size", std::to_string(size_in)},
      {"out", std::to_string(outcome.message.size())},
      {"msgid", printable(outcome.message_id, 200), log::Style::kAngle},
      {"domain", outcome.tracking.domain.empty() ? "-" : outcome.tracking.domain},
      {"links",
       std::to_string(outcome.links_tracked) + "/" + std::to_string(outcome.links_candidates)},
      {"untracked", std::to_string(outcome.links_untracked)},
      {"pixels", std::to_string(outcome.pixels_added)}};
  // Not tracked (tracking.senders: declared) says why even when the
  // X-MSYS-SUBACCOUNT removal changed the bytes.
  const bool untracked = outcome.tracking.reason == rewrite::TrackingChoice::Reason::kNone;
  if ((!outcome.changed || untracked) && !outcome.log.empty()) {
    std::string why;
    for (const std::string& l : outcome.log) why += (why.empty() ? "" : "; ") + l;
    fields.push_back({"unchanged", printable(why, 300), log::Style::kQuoted});
  }
  return fields;
}

asio::awaitable<void> Session::deliver_whole(std::string message, rewrite::Envelope envelope) {
  const std::size_t size_in = message.size();
  Result<rewrite::Outcome> outcome = co_await rewrite_on_pool(message, envelope);
  std::string().swap(message);
  if (!outcome) {
    const Reply r = reply_for(Failure::kMalformedControls, outcome.error());
    send(r);
    log_transaction({{"status", "rejected"}, {"size", std::to_string(size_in)}}, r);
    co_return co_await end_transaction(true);
  }
  std::vector<log::Field> fields = outcome_fields(size_in, envelope.subaccount_id, *outcome);
  const std::size_t size_out = outcome->message.size();
  metrics::Instruments* m = txn_->runtime->metrics;
  if (m) m->rewrite_outcome(outcome->links_tracked, outcome->untracked_links);
  Reply r = co_await up_->data(std::move(outcome->message));
  if (m) m->upstream_reply(r.code);
  // Accepted: one durable store write before the client hears it.
  if (r.positive()) co_await injected(envelope, *outcome, txn_->rcpts, size_out);
  send(r);
  fields.insert(fields.begin(), {"status", r.positive() ? "sent" : "refused"});
  log_transaction(std::move(fields), r);
  txn_.reset();
  if (up_->broken() && ends_session(r)) closing_ = true;
}

asio::awaitable<void> Session::deliver_copies(std::string message, rewrite::Envelope envelope) {
  const std::size_t size_in = message.size();
  // The probe transaction ends; each copy opens its own.
  if (txn_->upstream_open && up_ && !up_->broken()) co_await up_->reset();
  txn_->upstream_open = false;
  const std::vector<std::string>& rcpts = txn_->rcpts;
  std::vector<Reply> replies;  // SMTP: one reply for all copies at the end
  for (std::size_t i = 0; i < rcpts.size(); ++i) {
    rewrite::Envelope copy = envelope;
    copy.rcpt_to = {rcpts[i]};
    Result<rewrite::Outcome> outcome = co_await rewrite_on_pool(message, copy);
    if (!outcome) {
      // The engine refuses the message itself (X-MSYS-API): the same for
      // this copy and every one after it.
      const Reply r = reply_for(Failure::kMalformedControls, outcome.error());
      log_transaction({{"status", "rejected"}, {"size", std::to_string(size_in)}}, r);
      replies.resize(rcpts.size(), r);
      break;
    }
    std::vector<log::Field> fields = outcome_fields(size_in, copy.subaccount_id, *outcome);
    fields.push_back({"copy", std::to_string(i + 1) + "/" + std::to_string(rcpts.size())});
    const std::size_t size_out = outcome->message.size();
    metrics::Instruments* m = txn_->runtime->metrics;
    if (m) m->rewrite_outcome(outcome->links_tracked, outcome->untracked_links);
    Reply r = co_await forward_copy(i, std::move(outcome->message));
    if (m) m->upstream_reply(r.code);
    fields.insert(fields.begin(), {"status", r.positive() ? "sent" : "refused"});
    log_transaction(std::move(fields), r, rcpts[i]);
    if (r.positive()) {
      std::vector<std::string> accepted(1, rcpts[i]);
      co_await injected(copy, *outcome, accepted, size_out);
    }
    replies.push_back(std::move(r));
  }
  if (rt_->lmtp) {
    for (const Reply& r : replies) send(r);
  } else {
    send(copies_reply(replies, rcpts));
  }
  txn_.reset();
}

asio::awaitable<Reply> Session::forward_copy(std::size_t i, std::string copy) {
  if (stop_now_) co_return reply_for(Failure::kUpstreamUnavailable, "the relay is stopping");
  if (std::optional<Reply> err = co_await usable_upstream()) co_return *err;
  Reply r = co_await up_->mail(txn_->mail_args, client_info_);
  if (r.positive()) r = co_await up_->rcpt(txn_->rcpt_args[i]);
  if (r.positive()) {
    r = co_await up_->data(std::move(copy));
  } else if (!up_->broken()) {
    co_await up_->reset();
  }
  // A closed upstream fails this copy only: the next one gets a new
  // connection, and the client's session goes on.
  if (r.code == 421) r = reply_for(Failure::kUpstreamUnavailable, r.summary());
  co_return r;
}

asio::awaitable<void> Session::injected(const rewrite::Envelope& envelope,
                                        const rewrite::Outcome& outcome,
                                        const std::vector<std::string>& rcpts,
                                        std::size_t size_out) {
  std::shared_ptr<Injections> sink = txn_->runtime->injections;
  if (!sink) co_return;
  co_await record_injections(host_.waits(), std::move(sink),
                             injections_of(envelope, outcome, rcpts, size_out, unix_now_ms()));
}

}  // namespace trackrelay::relay
