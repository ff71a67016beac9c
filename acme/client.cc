// acme/client.cc — see client.h. May call: acme/key, acme/pem, acme/alpn, acme/https,
// base/, Boost.JSON.
#include "acme/client.h"

#include <boost/json.hpp>
#include <chrono>
#include <thread>

#include "acme/alpn.h"
#include "acme/pem.h"
#include "base/encoding.h"

namespace trackrelay::acme {
namespace {

namespace json = boost::json;

constexpr int kPolls = 60;  // about a minute of polling per wait
constexpr std::chrono::milliseconds kPollEvery{1000};

Result<json::object> parse_object(const std::string& body, const std::string& what) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return Error{what + ": the answer is not a JSON object"};
  return v.as_object();
}

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// "detail (type)" of a problem document (RFC 7807) inside `o[key]`, or of `o` itself.
std::string problem(const json::object& o, std::string_view key = {}) {
  const json::object* p = &o;
  if (!key.empty()) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_object()) return {};
    p = &v->as_object();
  }
  std::string detail = str(*p, "detail");
  const std::string type = str(*p, "type");
  if (!type.empty()) detail += (detail.empty() ? "" : " ") + ("(" + type + ")");
  return detail;
}

// Why an authorization is invalid: its failed challenge's error.
std::string authz_problem(const json::object& authz) {
  if (const json::value* cs = authz.if_contains("challenges"); cs != nullptr && cs->is_array()) {
    for (const json::value& c : cs->as_array()) {
      if (!c.is_object()) continue;
      if (std::string p = problem(c.as_object(), "error"); !p.empty()) return p;
    }
  }
  return "the authorization is invalid";
}

}  // namespace

Client::Client(HttpsOptions https, std::string directory_url, const Key& account_key,
               std::string kid, const std::atomic<bool>* stop)
    : https_(std::move(https)),
      directory_url_(std::move(directory_url)),
      key_(account_key),
      kid_(std::move(kid)),
      stop_(stop) {}

Result<bool> Client::load_directory() {
  if (!new_order_.empty()) return true;
  auto r = https_request(https_, "GET", directory_url_);
  if (!r) return Error{r.error()};
  if (r->status != 200) {
    return Error{"directory " + directory_url_ + ": HTTP " + std::to_string(r->status)};
  }
  auto dir = parse_object(r->body, "directory " + directory_url_);
  if (!dir) return Error{dir.error()};
  new_nonce_ = str(*dir, "newNonce");
  new_account_ = str(*dir, "newAccount");
  new_order_ = str(*dir, "newOrder");
  renewal_info_ = str(*dir, "renewalInfo");
  if (new_nonce_.empty() || new_account_.empty() || new_order_.empty()) {
    new_order_.clear();
    return Error{"directory " + directory_url_ + " lacks newNonce, newAccount or newOrder"};
  }
  return true;
}

Result<Client::Reply> Client::post(const std::string& url, const std::string& payload) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (nonce_.empty()) {
      auto n = https_request(https_, "HEAD", new_nonce_);
      if (!n) return Error{n.error()};
      if (n->replay_nonce.empty()) return Error{"newNonce " + new_nonce_ + " gave no nonce"};
      nonce_ = n->replay_nonce;
    }
    auto jws = sign_request(key_, kid_, nonce_, url, payload);
    if (!jws) return Error{jws.error()};
    nonce_.clear();
    auto r = https_request(https_, "POST", url, *jws, "application/jose+json");
    if (!r) return Error{r.error()};
    nonce_ = r->replay_nonce;
    Reply reply{std::move(r).value(), {}};
    if (reply.http.status >= 400) {
      auto p = parse_object(reply.http.body, url);
      reply.type = p ? str(*p, "type") : std::string();
      if (reply.type == "urn:ietf:params:acme:error:badNonce") continue;  // §6.5: retry
      return Error{"POST " + url + ": HTTP " + std::to_string(reply.http.status) +
                   (p ? ": " + problem(*p) : std::string())};
    }
    return reply;
  }
  return Error{"POST " + url + ": the server kept rejecting nonces"};
}

Result<std::string> Client::register_account(const std::string& email) {
  if (auto d = load_directory(); !d) return Error{d.error()};
  json::object payload;
  payload["termsOfServiceAgreed"] = true;
  if (!email.empty()) payload["contact"] = json::array{json::value("mailto:" + email)};
  const std::string saved = kid_;
  kid_.clear();  // newAccount is signed with the JWK
  auto r = post(new_account_, json::serialize(payload));
  kid_ = saved;
  if (!r) return Error{"newAccount: " + r.error()};
  if (r->http.location.empty()) return Error{"newAccount: no account URL (Location)"};
  kid_ = r->http.location;
  return kid_;
}

Result<std::string> Client::wait_for(const std::string& url, const std::string& until,
                                     const char* what) {
  for (int i = 0; i < kPolls; ++i) {
    if (stop_ != nullptr && stop_->load()) return Error{"stopped"};
    auto r = post(url, "");  // POST-as-GET
    if (!r) return Error{r.error()};
    auto o = parse_object(r->http.body, url);
    if (!o) return Error{o.error()};
    const std::string status = str(*o, "status");
    if (status == until) return r->http.body;
    if (status == "invalid") {
      return Error{
          std::string(what) + " is invalid: " +
          (std::string_view(what) == "authorization" ? authz_problem(*o) : problem(*o, "error"))};
    }
    if (status != "pending" && status != "processing" && status != "ready") {
      return Error{std::string(what) + " " + url + " is " + status};
    }
    std::this_thread::sleep_for(kPollEvery);
  }
  return Error{std::string(what) + " " + url + " did not become " + until + " in time"};
}

Result<bool> Client::authorize(const std::string& authz_url, const ChallengeSink& sink) {
  auto r = post(authz_url, "");
  if (!r) return Error{r.error()};
  auto authz = parse_object(r->http.body, authz_url);
  if (!authz) return Error{authz.error()};
  if (str(*authz, "status") == "valid") return true;  // reused
  std::string domain;
  if (const json::value* id = authz->if_contains("identifier"); id != nullptr && id->is_object()) {
    domain = str(id->as_object(), "value");
  }
  std::string token, url, type;
  const json::value* cs = authz->if_contains("challenges");
  for (const std::string& wanted : types_) {
    for (std::size_t i = 0; cs != nullptr && cs->is_array() && i < cs->as_array().size(); ++i) {
      const json::value& c = cs->as_array()[i];
      if (!c.is_object() || str(c.as_object(), "type") != wanted || !type.empty()) continue;
      type = wanted;
      token = str(c.as_object(), "token");
      url = str(c.as_object(), "url");
    }
  }
  std::string types;
  for (const std::string& t : types_) types += (types.empty() ? "" : " or ") + t;
  if (token.empty() || url.empty())
    return Error{domain + ": the CA offers no " + types + " challenge"};
  const std::string published = type == "tls-alpn-01" ? alpn_challenge_token(domain) : token;
  if (auto p = sink.publish(published, key_authorization(key_, token), domain); !p) {
    return Error{"cannot publish the challenge: " + p.error()};
  }
  auto answered = post(url, "{}");
  Result<std::string> done = answered ? wait_for(authz_url, "valid", "authorization")
                                      : Result<std::string>(Error{answered.error()});
  sink.withdraw(published);
  if (!done) return Error{domain + ": " + done.error()};
  return true;
}

// newOrder, with `replaces` (RFC 9773 §5) when renewing at a CA offering ARI;
// an order the CA refuses with `replaces` is placed again without it.
Result<Client::Reply> Client::new_order(const std::vector<std::string>& names) {
  json::array ids;
  for (const std::string& n : names) ids.push_back(json::object{{"type", "dns"}, {"value", n}});
  json::object payload{{"identifiers", std::move(ids)}};
  if (!replaces_.empty() && !renewal_info_.empty()) {
    json::object with = payload;
    with["replaces"] = replaces_;
    auto r = post(new_order_, json::serialize(with));
    if (r) return r;
  }
  return post(new_order_, json::serialize(payload));
}

Result<Issued> Client::issue(const std::vector<std::string>& names, const ChallengeSink& sink) {
  if (auto d = load_directory(); !d) return Error{d.error()};
  if (kid_.empty()) return Error{"no ACME account"};
  auto order = new_order(names);
  if (!order) return Error{"newOrder: " + order.error()};
  const std::string order_url = order->http.location;
  auto o = parse_object(order->http.body, "newOrder");
  if (!o) return Error{o.error()};
  if (const json::value* az = o->if_contains("authorizations"); az != nullptr && az->is_array()) {
    for (const json::value& a : az->as_array()) {
      if (!a.is_string()) continue;
      if (auto ok = authorize(std::string(a.as_string()), sink); !ok) return Error{ok.error()};
    }
  }
  auto cert_key = Key::generate();
  if (!cert_key) return Error{cert_key.error()};
  auto csr = make_csr(*cert_key, names);
  if (!csr) return Error{csr.error()};
  if (auto ready = wait_for(order_url, "ready", "order"); !ready) return Error{ready.error()};
  auto fin =
      post(str(*o, "finalize"), json::serialize(json::object{{"csr", base64url_encode(*csr)}}));
  if (!fin) return Error{"finalize: " + fin.error()};
  auto valid = wait_for(order_url, "valid", "order");
  if (!valid) return Error{valid.error()};
  auto done = parse_object(*valid, order_url);
  if (!done) return Error{done.error()};
  auto cert = post(str(*done, "certificate"), "");
  if (!cert) return Error{"certificate download: " + cert.error()};
  if (cert->http.body.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return Error{"certificate download: not a PEM chain"};
  }
  return Issued{std::move(cert->http.body), cert_key->private_pem()};
}

}  // namespace trackrelay::acme
