// track/handler.cc — routing, verification and events for one request.
// May call: token/, conf/, store/event_store.h, track/client_address.h.
#include "track/handler.h"

#include <algorithm>

#include "base/strings.h"

namespace trackrelay::track {
namespace {

constexpr unsigned char kGif[] = {0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80,
                                  0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x21, 0xF9, 0x04,
                                  0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00, 0x01,
                                  0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B};
static_assert(sizeof kGif == 43);

constexpr std::string_view kNotFound = "404 not found\n";

Reply not_found(std::string why) {
  Reply r;
  r.status = 404;
  r.body = kNotFound;
  r.why = std::move(why);
  return r;
}

// The HTTP challenge of a domain being verified (api/, dns/verify.h): the
// token is answered only on the host it was issued for.
Reply challenge(const Prepared& p, const Request& r, std::string_view token) {
  const std::string_view host = host_without_port(r.host);
  for (const conf::HttpChallenge& ch : p.config->http_challenges) {
    if (!token.empty() && token == ch.token && iequals(host, ch.domain)) {
      Reply reply;
      reply.status = 200;
      reply.no_store = true;
      reply.body = ch.token;  // alive as long as p.config
      return reply;
    }
  }
  return not_found("no such challenge for this host");
}

}  // namespace

std::string_view pixel_gif() {
  return {reinterpret_cast<const char*>(kGif), sizeof kGif};
}

Result<std::shared_ptr<const Prepared>> prepare(std::shared_ptr<const conf::Config> config) {
  auto proxies = net::parse_cidrs(config->track.trusted_proxies, "track.trusted_proxies");
  if (!proxies) return Error{proxies.error()};
  auto p = std::make_shared<Prepared>();
  for (const auto& k : config->keys) p->keys.push_back({k.id, k.secret});
  p->trusted_proxies = std::move(proxies).value();
  p->config = std::move(config);
  return std::shared_ptr<const Prepared>(std::move(p));
}

bool is_redirectable(std::string_view url) {
  std::size_t rest;
  if (istarts_with(url, "https://")) {
    rest = 8;
  } else if (istarts_with(url, "http://")) {
    rest = 7;
  } else {
    return false;
  }
  if (url.size() == rest) return false;
  return std::none_of(url.begin(), url.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c <= 0x20 || c == 0x7F;
  });
}

std::string_view host_without_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(1, close - 1);
  }
  const auto colon = host.find(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

namespace {

// /healthz: 200, or 503 while the event store fails (or spools: PostgreSQL away).
Reply healthz(const store::Health& store_health) {
  Reply reply;
  reply.no_store = true;
  if (store_health.ok) {
    reply.status = 200;
    reply.body = "ok\n";
    return reply;
  }
  reply.status = 503;
  reply.body =
      store_health.spooling
          ? "degraded: the database is unreachable (events are spooled on local disk and "
            "shipped when it is back); see the log\n"
          : "degraded: the event store is failing (events are not recorded); see the log\n";
  reply.why = store_health.reason;
  return reply;
}

}  // namespace

Reply handle(const Prepared& p, const Request& r, std::chrono::system_clock::time_point now,
             const store::Health& store_health) {
  const bool head = r.method == "HEAD";
  if (!head && r.method != "GET") return not_found("method " + std::string(r.method));
  std::string_view path = r.target.substr(0, r.target.find_first_of("?#"));
  if (path == "/healthz") return healthz(store_health);
  if (path.starts_with("/.well-known/trackrelay/")) return challenge(p, r, path.substr(24));
  const bool click = path.starts_with("/f/");
  if (!click && !path.starts_with("/q/")) return not_found("no such path");
  const std::string_view tok = path.substr(3);
  if (tok.empty() || tok.size() > token::kMaxTokenLength) return not_found("token length");
  const conf::Config& c = *p.config;
  const std::string_view host = host_without_port(r.host);
  if (host.empty() || !c.is_tracking_host(host)) {
    return not_found("host '" + std::string(host) + "' is not a tracking domain");
  }
  auto claims = token::verify(tok, p.keys, host);
  if (!claims) return not_found("token: " + claims.error());
  if (click != (claims->kind == token::Kind::kClick))
    return not_found("token kind and path differ");
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (c.track.link_max_age_days > 0 &&
      now_s - claims->issued_at > std::int64_t{c.track.link_max_age_days} * 86400) {
    return not_found("link expired");
  }
  if (click && !is_redirectable(claims->target)) {
    return not_found("target is not a redirectable http(s) URL");
  }

  Reply reply;
  reply.no_store = true;
  if (click) {
    reply.status = 302;
    reply.location = claims->target;
    reply.redirect_headers = true;
    reply.body = {};
  } else {
    reply.status = 200;
    reply.content_type = "image/gif";
    reply.body = pixel_gif();
  }
  store::Event& e = reply.event.emplace();
  e.type = std::string(token::kind_name(claims->kind));
  e.timestamp_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  e.tracking_domain = std::move(claims->tracking_domain);
  if (click) {
    e.target_link_url = std::move(claims->target);
    e.target_link_name = std::move(claims->link_name);
  }
  e.message_id = std::move(claims->message_id);
  // SparkPost's pair: rcpt_to in lower case, raw_rcpt_to as given in RCPT TO.
  // The rest of the message (metadata, tags, sender) is joined by the store
  // from the message's injection (store/event_store.h), never from here.
  e.rcpt_to = to_lower(claims->rcpt_to);
  e.raw_rcpt_to = std::move(claims->rcpt_to);
  e.transmission_id = std::move(claims->transmission_id);
  e.campaign_id = std::move(claims->campaign_id);
  e.sending_domain = std::move(claims->sending_domain);
  e.subaccount_id = claims->subaccount_id;  // the owner: event visibility follows it
  e.issued_at_s = claims->issued_at;
  e.user_agent = std::string(r.user_agent);
  e.ip_address = client_address(r.peer, r.forwarded_for, p.trusted_proxies);
  e.method = head ? "HEAD" : "GET";
  return reply;
}

}  // namespace trackrelay::track
