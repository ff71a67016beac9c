// conf/config.cc — the key table (every configuration key: path, type,
// default, bounds, one-line doc, and where its value goes), plus the Config
// lookup helpers and Diagnostic formatting. Adding a key = one table entry
// here + the struct field in config.h + a line in docs/config.md and
// trackrelay.example.yaml (tests/conf/docs_test.cc checks the last two).
#include "conf/config.h"

#include <algorithm>
#include <limits>

#include "conf/internal.h"

namespace trackrelay::conf {
namespace internal {
namespace {

constexpr bool kRequired = true;
constexpr bool kOptional = false;
constexpr int64_t kMaxBytes = int64_t{1} << 30;  // 1 GiB

// clang-format off
constexpr KeySpec kKeys[] = {
  // path, kind, required, default, min, max, doc, bind
  {"tracking", Kind::kMap, kRequired, "", 0, 0,
   "tracking domains, signing keys and what is tracked by default", nullptr},
  {"tracking.system_domain", Kind::kString, kRequired, "", 0, 0,
   "the operator's system default tracking domain, also the CNAME target for custom domains",
   [](Config& c) -> FieldRef { return &c.system_domain; }},
  {"tracking.system_secure", Kind::kBool, kOptional, "false", 0, 0,
   "use https:// in links through the system domain",
   [](Config& c) -> FieldRef { return &c.system_secure; }},
  {"tracking.system_port", Kind::kPort, kOptional, "", 1, 65535,
   "explicit port in links through the system domain (none: the scheme's default)",
   [](Config& c) -> FieldRef { return &c.system_port; }},
  {"tracking.senders", Kind::kEnum, kOptional, "declared", 0, 0,
   "declared: only mail from a sending domain of the message's account is tracked; any: all mail",
   [](Config& c) -> FieldRef { return &c.senders; }},
  {"tracking.keys", Kind::kList, kRequired, "", 1, 0,
   "token signing keys: the first signs, every key verifies (rotation)",
   [](Config& c) -> FieldRef { c.keys.emplace_back(); return {}; }},
  {"tracking.keys[].id", Kind::kString, kRequired, "", 0, 0,
   "key id carried in tokens: 1-16 characters of A-Z a-z 0-9 _ -, unique",
   [](Config& c) -> FieldRef { return &c.keys.back().id; }},
  {"tracking.keys[].secret", Kind::kString, kOptional, "", 0, 0,
   "the secret itself, at least 32 bytes (exactly one of secret and secret_file)",
   [](Config& c) -> FieldRef { return &c.keys.back().secret; }},
  {"tracking.keys[].secret_file", Kind::kPath, kOptional, "", 0, 0,
   "file holding the secret (trailing whitespace removed); relative to the config file's directory",
   nullptr},  // read by the loader after the walk
  {"tracking.defaults", Kind::kMap, kOptional, "", 0, 0,
   "what is tracked when a message does not say otherwise", nullptr},
  {"tracking.defaults.click_tracking", Kind::kBool, kOptional, "true", 0, 0,
   "rewrite http(s) links in HTML parts",
   [](Config& c) -> FieldRef { return &c.defaults.click_tracking; }},
  {"tracking.defaults.open_tracking", Kind::kBool, kOptional, "true", 0, 0,
   "add the open pixel before </body>",
   [](Config& c) -> FieldRef { return &c.defaults.open_tracking; }},
  {"tracking.defaults.initial_open", Kind::kBool, kOptional, "true", 0, 0,
   "add the initial_open pixel right after <body>",
   [](Config& c) -> FieldRef { return &c.defaults.initial_open; }},
  {"tracking.defaults.text_tracking", Kind::kBool, kOptional, "true", 0, 0,
   "rewrite http(s) URLs in text/plain parts",
   [](Config& c) -> FieldRef { return &c.defaults.text_tracking; }},
  {"tracking.tracking_domains", Kind::kList, kOptional, "", 0, 0,
   "custom tracking domains (declared here = verified by the operator)",
   [](Config& c) -> FieldRef { c.tracking_domains.emplace_back(); return {}; }},
  {"tracking.tracking_domains[].domain", Kind::kString, kRequired, "", 0, 0,
   "the tracking domain: a subdomain of a registrable domain, never the root or a public suffix",
   [](Config& c) -> FieldRef { return &c.tracking_domains.back().domain; }},
  {"tracking.tracking_domains[].secure", Kind::kBool, kOptional, "false", 0, 0,
   "use https:// in links through this domain",
   [](Config& c) -> FieldRef { return &c.tracking_domains.back().secure; }},
  {"tracking.tracking_domains[].port", Kind::kPort, kOptional, "", 1, 65535,
   "explicit port in links through this domain (none: the scheme's default)",
   [](Config& c) -> FieldRef { return &c.tracking_domains.back().port; }},
  {"tracking.tracking_domains[].default", Kind::kBool, kOptional, "false", 0, 0,
   "the designated default tracking domain (at most one)",
   [](Config& c) -> FieldRef { return &c.tracking_domains.back().is_default; }},
  {"tracking.sending_domains", Kind::kList, kOptional, "", 0, 0,
   "sending domains (the domain of the From: address) and their tracking domains",
   [](Config& c) -> FieldRef { c.sending_domains.emplace_back(); return {}; }},
  {"tracking.sending_domains[].domain", Kind::kString, kRequired, "", 0, 0,
   "the sending domain, unique",
   [](Config& c) -> FieldRef { return &c.sending_domains.back().domain; }},
  {"tracking.sending_domains[].tracking_domain", Kind::kString, kRequired, "", 0, 0,
   "the tracking domain its mail uses; must be declared in tracking.tracking_domains",
   [](Config& c) -> FieldRef { return &c.sending_domains.back().tracking_domain; }},
  {"rewrite", Kind::kMap, kOptional, "", 0, 0,
   "bounds on the work spent rewriting one message; past them it is forwarded untouched", nullptr},
  {"rewrite.max_message_bytes", Kind::kSize, kOptional, "67108864", 1024, kMaxBytes,
   "larger messages are forwarded untouched",
   [](Config& c) -> FieldRef { return &c.rewrite.max_message_bytes; }},
  {"rewrite.max_html_part_bytes", Kind::kSize, kOptional, "8388608", 1024, kMaxBytes,
   "larger (decoded) HTML parts are forwarded untouched",
   [](Config& c) -> FieldRef { return &c.rewrite.max_html_part_bytes; }},
  {"rewrite.max_text_part_bytes", Kind::kSize, kOptional, "8388608", 1024, kMaxBytes,
   "larger (decoded) text/plain parts are forwarded untouched",
   [](Config& c) -> FieldRef { return &c.rewrite.max_text_part_bytes; }},
  {"rewrite.max_html_parse_errors", Kind::kInt, kOptional, "20000", 0, 10000000,
   "HTML parse errors after which a part is given up (forwarded untouched)",
   [](Config& c) -> FieldRef { return &c.rewrite.max_html_parse_errors; }},
  {"rewrite.max_html_depth", Kind::kInt, kOptional, "400", 1, 100000,
   "element nesting depth beyond which an HTML part is given up",
   [](Config& c) -> FieldRef { return &c.rewrite.max_html_depth; }},
  {"rewrite.max_tracked_url_length", Kind::kSize, kOptional, "2000", 16, 65536,
   "longer URLs are left untracked",
   [](Config& c) -> FieldRef { return &c.rewrite.max_tracked_url_length; }},
  {"rewrite.html_scanner", Kind::kEnum, kOptional, "fast", 0, 0,
   "HTML link scanner: fast (tokenizer; delegates tree-dependent parts to gumbo) or gumbo",
   [](Config& c) -> FieldRef { return &c.rewrite.html_scanner; }},
  {"relay", Kind::kMap, kOptional, "", 0, 0,
   "the SMTP relay filter; without relay.listen no relay runs", nullptr},
  {"relay.listen", Kind::kListen, kOptional, "", 0, 0,
   "address(es) the relay accepts SMTP on: host:port, [v6]:port; one or a list",
   [](Config& c) -> FieldRef { return &c.relay.listen; }},
  {"relay.upstream", Kind::kUpstream, kOptional, "", 0, 0,
   "the upstream MTA as host:port, or maildir:PATH to write each message to a file (PATH relative: to the configuration file's directory)",
   [](Config& c) -> FieldRef { return &c.relay.upstream; }},
  {"relay.clients", Kind::kCidrs, kOptional, "[127.0.0.0/8, ::1/128]", 0, 0,
   "networks (CIDR) that may relay without AUTH; others get 554/530 at RCPT",
   [](Config& c) -> FieldRef { return &c.relay.clients; }},
  {"relay.max_message_size", Kind::kSize, kOptional, "52428800", 1024, kMaxBytes,
   "largest message accepted (advertised as SIZE, enforced)",
   [](Config& c) -> FieldRef { return &c.relay.max_message_size; }},
  {"relay.hostname", Kind::kString, kOptional, "", 0, 0,
   "name in the greeting, EHLO reply and EHLO to the upstream (empty: the system host name)",
   [](Config& c) -> FieldRef { return &c.relay.hostname; }},
  {"relay.max_sessions", Kind::kInt, kOptional, "200", 1, 100000,
   "concurrent client sessions; more are answered 421 and closed",
   [](Config& c) -> FieldRef { return &c.relay.max_sessions; }},
  {"relay.max_recipients", Kind::kInt, kOptional, "1000", 1, 100000,
   "recipients per transaction; more get 452 4.5.3",
   [](Config& c) -> FieldRef { return &c.relay.max_recipients; }},
  {"relay.max_errors", Kind::kInt, kOptional, "20", 1, 1000,
   "error replies after which a session is closed (421 4.7.0)",
   [](Config& c) -> FieldRef { return &c.relay.max_errors; }},
  {"relay.workers", Kind::kInt, kOptional, "0", 0, 256,
   "threads that rewrite messages (0: one per CPU)",
   [](Config& c) -> FieldRef { return &c.relay.workers; }},
  {"relay.command_timeout", Kind::kInt, kOptional, "300", 1, 3600,
   "seconds to wait for the client's next command",
   [](Config& c) -> FieldRef { return &c.relay.command_timeout; }},
  {"relay.data_timeout", Kind::kInt, kOptional, "180", 1, 3600,
   "seconds for each read of message data and each write to the client",
   [](Config& c) -> FieldRef { return &c.relay.data_timeout; }},
  {"relay.upstream_connect_timeout", Kind::kInt, kOptional, "30", 1, 3600,
   "seconds to connect to the upstream",
   [](Config& c) -> FieldRef { return &c.relay.upstream_connect_timeout; }},
  {"relay.upstream_reply_timeout", Kind::kInt, kOptional, "300", 1, 3600,
   "seconds to wait for the upstream's greeting and replies to EHLO, MAIL, RCPT, DATA, RSET",
   [](Config& c) -> FieldRef { return &c.relay.upstream_reply_timeout; }},
  {"relay.upstream_data_timeout", Kind::kInt, kOptional, "600", 1, 3600,
   "seconds to send the message to the upstream and wait for its final reply",
   [](Config& c) -> FieldRef { return &c.relay.upstream_data_timeout; }},
  {"relay.tls_cert", Kind::kPath, kOptional, "", 0, 0,
   "PEM certificate chain for STARTTLS (with tls_key); re-read on SIGHUP",
   [](Config& c) -> FieldRef { return &c.relay.tls_cert; }},
  {"relay.tls_key", Kind::kPath, kOptional, "", 0, 0,
   "PEM private key of tls_cert",
   [](Config& c) -> FieldRef { return &c.relay.tls_key; }},
  {"relay.require_tls", Kind::kBool, kOptional, "false", 0, 0,
   "refuse MAIL before STARTTLS (530 5.7.0)",
   [](Config& c) -> FieldRef { return &c.relay.require_tls; }},
  {"relay.auth", Kind::kAuthUsers, kOptional, "", 0, 0,
   "AUTH PLAIN/LOGIN users as user:pbkdf2-sha256$ITERATIONS$SALT$HASH; enables AUTH",
   [](Config& c) -> FieldRef { return &c.relay.auth; }},
  {"relay.auth_over_plaintext", Kind::kBool, kOptional, "false", 0, 0,
   "offer AUTH before STARTTLS (only for loopback clients)",
   [](Config& c) -> FieldRef { return &c.relay.auth_over_plaintext; }},
  {"relay.upstream_tls", Kind::kEnum, kOptional, "opportunistic", 0, 0,
   "STARTTLS towards the upstream: none, opportunistic, or required (verified)",
   [](Config& c) -> FieldRef { return &c.relay.upstream_tls; }},
  {"relay.upstream_user", Kind::kString, kOptional, "", 0, 0,
   "AUTH PLAIN user towards the upstream (empty: no AUTH)",
   [](Config& c) -> FieldRef { return &c.relay.upstream_user; }},
  {"relay.upstream_password", Kind::kString, kOptional, "", 0, 0,
   "AUTH PLAIN password towards the upstream",
   [](Config& c) -> FieldRef { return &c.relay.upstream_password; }},
  {"relay.bare_newline", Kind::kEnum, kOptional, "normalize", 0, 0,
   "a bare LF or CR from a client: normalize (a line end, never the end of data) or reject (521)",
   [](Config& c) -> FieldRef { return &c.relay.bare_newline; }},
  {"relay.protocol", Kind::kEnum, kOptional, "smtp", 0, 0,
   "what the listener speaks: smtp, or lmtp (RFC 2033: LHLO, one reply per recipient after DATA)",
   [](Config& c) -> FieldRef { return &c.relay.protocol; }},
  {"relay.per_recipient", Kind::kBool, kOptional, "false", 0, 0,
   "SMTP: rewrite one copy per recipient, each in its own upstream transaction (always on with lmtp)",
   [](Config& c) -> FieldRef { return &c.relay.per_recipient; }},
  {"track", Kind::kMap, kOptional, "", 0, 0,
   "the tracking endpoint serving /f/ click redirects and /q/ pixels", nullptr},
  {"track.listen", Kind::kListen, kOptional, "", 0, 0,
   "address(es) for plain HTTP: host:port, [v6]:port; one or a list",
   [](Config& c) -> FieldRef { return &c.track.listen; }},
  {"track.tls_listen", Kind::kListen, kOptional, "", 0, 0,
   "address(es) for HTTPS (certificates per tracking domain, chosen by SNI)",
   [](Config& c) -> FieldRef { return &c.track.tls_listen; }},
  {"track.certificates", Kind::kList, kOptional, "", 0, 0,
   "certificates for HTTPS tracking domains, chosen by SNI; files re-read on SIGHUP",
   [](Config& c) -> FieldRef { c.track.certificates.emplace_back(); return {}; }},
  {"track.certificates[].domains", Kind::kStrings, kRequired, "", 0, 0,
   "host name(s) the certificate serves; *.example.com matches one label",
   [](Config& c) -> FieldRef { return &c.track.certificates.back().domains; }},
  {"track.certificates[].cert", Kind::kPath, kRequired, "", 0, 0,
   "PEM certificate chain file (relative: to the configuration file's directory)",
   [](Config& c) -> FieldRef { return &c.track.certificates.back().cert; }},
  {"track.certificates[].key", Kind::kPath, kRequired, "", 0, 0,
   "PEM private key file of that certificate",
   [](Config& c) -> FieldRef { return &c.track.certificates.back().key; }},
  {"track.trusted_proxies", Kind::kCidrs, kOptional, "", 0, 0,
   "CIDRs (10.0.0.0/8, ::1/128) whose X-Forwarded-For / X-Forwarded-Proto are believed",
   [](Config& c) -> FieldRef { return &c.track.trusted_proxies; }},
  {"track.link_max_age_days", Kind::kInt, kOptional, "0", 0, 36500,
   "links older than this many days no longer redirect (404); 0: links never expire",
   [](Config& c) -> FieldRef { return &c.track.link_max_age_days; }},
  {"track.classification_rules", Kind::kPath, kOptional, "", 0, 0,
   "YAML file of who-clicked rules that replace or extend the built-in table (docs/metrics.md)",
   [](Config& c) -> FieldRef { return &c.track.classification_rules; }},
  {"track.quick_click_seconds", Kind::kInt, kOptional, "0", 0, 86400,
   "a click this many seconds or less after its token was issued is classified scanner; 0: off",
   [](Config& c) -> FieldRef { return &c.track.quick_click_seconds; }},
  {"store", Kind::kPath, kOptional, "var/trackrelay.db", 0, 0,
   "the store: an SQLite file (relative: to the configuration file's directory) or a "
   "postgresql:// URI shared by many processes",
   [](Config& c) -> FieldRef { return &c.store; }},
  {"api", Kind::kMap, kOptional, "", 0, 0,
   "the management REST API (/api/v1); without api.listen no API runs", nullptr},
  {"api.listen", Kind::kListen, kOptional, "", 0, 0,
   "address(es) for the API over plain HTTP: host:port, [v6]:port; keep it on loopback or a private network",
   [](Config& c) -> FieldRef { return &c.api.listen; }},
  {"api.max_body_bytes", Kind::kSize, kOptional, "1048576", 1024, 67108864,
   "largest request body accepted; larger ones get 413",
   [](Config& c) -> FieldRef { return &c.api.max_body_bytes; }},
  {"api.store_poll_ms", Kind::kInt, kOptional, "1000", 50, 60000,
   "how often serve checks the store for domain changes made by other processes (PostgreSQL: "
   "the fallback; LISTEN/NOTIFY applies them at once)",
   [](Config& c) -> FieldRef { return &c.api.store_poll_ms; }},
  {"dashboard", Kind::kMap, kOptional, "", 0, 0,
   "the operator dashboard, served under / of api.listen", nullptr},
  {"dashboard.enabled", Kind::kBool, kOptional, "true", 0, 0,
   "serve the dashboard (and accept its session cookie) on the API listener",
   [](Config& c) -> FieldRef { return &c.dashboard.enabled; }},
  {"dashboard.admin_password_hash", Kind::kPasswordHash, kOptional, "", 0, 0,
   "admin password as pbkdf2-sha256$ITERATIONS$SALT$HASH (trackrelay hash-password); none: API keys only",
   [](Config& c) -> FieldRef { return &c.dashboard.admin_password_hash; }},
  {"dashboard.session_timeout", Kind::kInt, kOptional, "28800", 60, 2592000,
   "seconds a dashboard session lives without a request",
   [](Config& c) -> FieldRef { return &c.dashboard.session_timeout; }},
  {"dashboard.secure_cookie", Kind::kBool, kOptional, "false", 0, 0,
   "mark the session cookie Secure (set it when browsers reach the dashboard over HTTPS)",
   [](Config& c) -> FieldRef { return &c.dashboard.secure_cookie; }},
  {"dns", Kind::kMap, kOptional, "", 0, 0,
   "DNS verification of tracking domains", nullptr},
  {"dns.resolvers", Kind::kResolvers, kOptional, "", 0, 0,
   "resolvers to ask (ip, ip:port, [v6]:port); none: the system's (/etc/resolv.conf)",
   [](Config& c) -> FieldRef { return &c.dns.resolvers; }},
  {"dns.timeout_ms", Kind::kInt, kOptional, "2000", 100, 60000,
   "time for one lookup, all resolvers and tries included; then the result is pending",
   [](Config& c) -> FieldRef { return &c.dns.timeout_ms; }},
  {"dns.reverify_interval", Kind::kInt, kOptional, "3600", 0, 604800,
   "seconds between periodic re-verifications of every API domain; 0: never",
   [](Config& c) -> FieldRef { return &c.dns.reverify_interval; }},
  {"dns.reverify_failures", Kind::kInt, kOptional, "3", 1, 100,
   "consecutive definite failures (wrong or no CNAME) before a verified domain becomes invalid",
   [](Config& c) -> FieldRef { return &c.dns.reverify_failures; }},
  {"dns.http_challenge_port", Kind::kPort, kOptional, "80", 1, 65535,
   "port the HTTP challenge is fetched on (the tracking listener's public port)",
   [](Config& c) -> FieldRef { return &c.dns.http_challenge_port; }},
  {"dns.allow_private_addresses", Kind::kBool, kOptional, "false", 0, 0,
   "let the HTTP challenge connect to loopback, private, link-local and other non-global addresses (tests, labs)",
   [](Config& c) -> FieldRef { return &c.dns.allow_private_addresses; }},
  {"webhooks", Kind::kMap, kOptional, "", 0, 0,
   "signed webhooks: the dispatcher serve runs over the store", nullptr},
  {"webhooks.enabled", Kind::kBool, kOptional, "true", 0, 0,
   "run the webhook dispatcher in serve (one process per store file sends; a lease decides which)",
   [](Config& c) -> FieldRef { return &c.webhooks.enabled; }},
  {"webhooks.timeout_ms", Kind::kInt, kOptional, "10000", 100, 60000,
   "time for one webhook POST (connect, send, answer); then the batch is retried",
   [](Config& c) -> FieldRef { return &c.webhooks.timeout_ms; }},
  {"webhooks.retry_base_ms", Kind::kInt, kOptional, "30000", 100, 3600000,
   "first retry of a failed batch after this many ms; each further retry waits twice as long (at most 1 h)",
   [](Config& c) -> FieldRef { return &c.webhooks.retry_base_ms; }},
  {"webhooks.retry_for", Kind::kInt, kOptional, "28800", 1, 604800,
   "seconds a batch is retried (8 hours by default) before it is marked failed",
   [](Config& c) -> FieldRef { return &c.webhooks.retry_for; }},
  {"acme", Kind::kMap, kOptional, "", 0, 0,
   "automatic certificates for secure tracking domains (ACME, RFC 8555; docs/tls.md)", nullptr},
  {"acme.directory", Kind::kString, kOptional, "", 0, 0,
   "the ACME directory URL (https://); none: ACME is off",
   [](Config& c) -> FieldRef { return &c.acme.directory; }},
  {"acme.email", Kind::kString, kOptional, "", 0, 0,
   "contact address registered with the ACME account (expiry notices)",
   [](Config& c) -> FieldRef { return &c.acme.email; }},
  {"acme.ca_file", Kind::kPath, kOptional, "", 0, 0,
   "extra PEM CA bundle trusted for the ACME directory's HTTPS (test and private CAs)",
   [](Config& c) -> FieldRef { return &c.acme.ca_file; }},
  {"acme.renew_before_days", Kind::kInt, kOptional, "0", 0, 3650,
   "renew a certificate this many days before it expires; 0: when a third of its lifetime is left;"
   " a CA offering ARI (renewalInfo) decides instead, this (when > 0) still the latest",
   [](Config& c) -> FieldRef { return &c.acme.renew_before_days; }},
  {"acme.challenge", Kind::kEnum, kOptional, "auto", 0, 0,
   "how the CA checks a name: auto (http-01 when track.listen is set, else tls-alpn-01 on "
   "track.tls_listen), http-01, or tls-alpn-01",
   [](Config& c) -> FieldRef { return &c.acme.challenge; }},
  {"log", Kind::kMap, kOptional, "", 0, 0,
   "the log lines on stderr", nullptr},
  {"log.format", Kind::kEnum, kOptional, "text", 0, 0,
   "text (trackrelay: COMPONENT: key=value ... lines) or json (one JSON object per line); read at start",
   [](Config& c) -> FieldRef { return &c.log.format; }},
  {"metrics", Kind::kMap, kOptional, "", 0, 0,
   "Prometheus metrics (docs/metrics.md)", nullptr},
  {"metrics.listen", Kind::kListen, kOptional, "", 0, 0,
   "address(es) serving GET /metrics over plain HTTP: host:port, [v6]:port; empty: none",
   [](Config& c) -> FieldRef { return &c.metrics.listen; }},
  {"store_spool", Kind::kPath, kOptional, "var/spool", 0, 0,
   "store: postgresql://… only: the local directory where events wait while PostgreSQL is unreachable",
   [](Config& c) -> FieldRef { return &c.store_spool; }},
};
// clang-format on

}  // namespace

std::span<const KeySpec> key_table() {
  return kKeys;
}

const KeySpec* find_key(std::string_view path) {
  for (const KeySpec& k : kKeys) {
    if (k.path == path) return &k;
  }
  return nullptr;
}

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::kMap:
      return "map";
    case Kind::kList:
      return "list";
    case Kind::kString:
      return "string";
    case Kind::kBool:
      return "bool";
    case Kind::kPort:
      return "port";
    case Kind::kInt:
      return "int";
    case Kind::kSize:
      return "size";
    case Kind::kStrings:
      return "strings";
    case Kind::kEnum:
      return "enum";
    case Kind::kPath:
      return "path";
    case Kind::kUpstream:
      return "upstream";
    case Kind::kPasswordHash:
      return "password-hash";
    case Kind::kListen:
      return "listen";
    case Kind::kCidrs:
      return "cidrs";
    case Kind::kResolvers:
      return "resolvers";
    case Kind::kAuthUsers:
      return "auth-users";
  }
  return "?";
}

bool is_strings(Kind kind) {
  return kind == Kind::kStrings || kind == Kind::kListen || kind == Kind::kCidrs ||
         kind == Kind::kResolvers || kind == Kind::kAuthUsers;
}

std::span<const std::string_view> enum_choices(std::string_view path) {
  static constexpr std::string_view kScanner[] = {"fast", "gumbo"};
  static constexpr std::string_view kUpstreamTls[] = {"none", "opportunistic", "required"};
  static constexpr std::string_view kBareNewline[] = {"normalize", "reject"};
  static constexpr std::string_view kRelayProtocol[] = {"smtp", "lmtp"};
  static constexpr std::string_view kSenders[] = {"declared", "any"};
  static constexpr std::string_view kLogFormat[] = {"text", "json"};
  static constexpr std::string_view kAcmeChallenge[] = {"auto", "http-01", "tls-alpn-01"};
  if (path == "rewrite.html_scanner") return kScanner;
  if (path == "relay.upstream_tls") return kUpstreamTls;
  if (path == "relay.bare_newline") return kBareNewline;
  if (path == "relay.protocol") return kRelayProtocol;
  if (path == "tracking.senders") return kSenders;
  if (path == "log.format") return kLogFormat;
  if (path == "acme.challenge") return kAcmeChallenge;
  return {};
}

}  // namespace internal

std::vector<ConfigKey> config_keys() {
  std::vector<ConfigKey> out;
  for (const internal::KeySpec& k : internal::key_table()) {
    out.push_back(ConfigKey{.path = k.path,
                            .type = internal::kind_name(k.kind),
                            .required = k.required,
                            .default_value = k.default_value,
                            .min = k.min,
                            .max = k.max,
                            .doc = k.doc});
  }
  return out;
}

const TrackingDomain* Config::find_tracking_domain(std::string_view alabel) const {
  const std::string key = internal::lookup_form(alabel);
  if (key.empty()) return nullptr;
  for (const TrackingDomain& d : tracking_domains) {
    if (internal::lookup_form(d.domain) == key) return &d;
  }
  return nullptr;
}

const SendingDomain* Config::find_sending_domain(std::string_view alabel) const {
  const std::string key = internal::lookup_form(alabel);
  if (key.empty()) return nullptr;
  for (const SendingDomain& d : sending_domains) {
    if (internal::lookup_form(d.domain) == key) return &d;
  }
  return nullptr;
}

bool Config::is_tracking_host(std::string_view host) const {
  const std::string key = internal::lookup_form(host);
  if (key.empty()) return false;
  return internal::lookup_form(system_domain) == key || find_tracking_domain(key) != nullptr;
}

const TrackingDomain* Config::default_tracking_domain() const {
  const TrackingDomain* only = nullptr;
  int primary = 0;
  for (const TrackingDomain& d : tracking_domains) {
    if (d.subaccount_id != 0) continue;
    if (d.is_default) return &d;
    only = &d;
    ++primary;
  }
  return primary == 1 ? only : nullptr;
}

std::string Diagnostic::str() const {
  std::string out = file;
  if (line > 0) {
    out += ':' + std::to_string(line);
    if (column > 0) out += ':' + std::to_string(column);
  }
  out += severity == Severity::kError ? ": error: " : ": warning: ";
  out += message;
  return out;
}

}  // namespace trackrelay::conf
