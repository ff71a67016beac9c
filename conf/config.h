// conf/config.h — trackrelay's configuration: one immutable snapshot.
//
// Owns: the YAML file format (every key, type, default and bound is declared
// once, in the key table in config.cc), its validation with file:line:col
// diagnostics — the one validation `check`, `serve` and SIGHUP reload share,
// so whatever serve would refuse (listen addresses, upstream, CIDRs,
// resolvers, password hashes, enums, certificate files, the public example
// secret off loopback) is refused here (validate.cc) — and the domain rules a
// configuration must satisfy (A-label normalisation, "a tracking domain is
// never a registrable root or public suffix" via libpsl). Relative paths
// (store, certificates, secret files, maildir:) are resolved against the
// configuration file's directory at load time.
// May call: base/, net/, yaml-cpp, libpsl, libidn2, OpenSSL.
//
// A Config is built once by load_file()/load_string() and never mutated; it is
// shared as std::shared_ptr<const Config> so a reload can swap the snapshot
// atomically while in-flight work keeps the old one alive.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace trackrelay::conf {

struct SigningKey {
  std::string id;      // 1..16 bytes of [A-Za-z0-9_-]
  std::string secret;  // >= 32 bytes (from `secret:` or the contents of `secret_file:`)
};

struct TrackingDefaults {
  bool click_tracking = true;
  bool open_tracking = true;
  bool initial_open = true;
  bool text_tracking = true;  // rewrite URLs in text/plain parts
};

struct TrackingDomain {
  std::string domain;  // lower-case A-label form
  bool secure = false;
  std::optional<uint16_t> port;  // explicit port; none = scheme default
  bool is_default = false;
  // Set only in the effective configuration (api/effective.h): the domain
  // comes from the store (created through the API), and its (sub)account.
  bool from_store = false;
  std::int64_t subaccount_id = 0;  // 0: the primary account
  // Effective configuration only: `secure: true` in the file, but no live
  // certificate covers the name yet, so `secure` is false (links use
  // http://) and ACME still requests one (acme/manager.h).
  bool https_pending = false;
};

struct SendingDomain {
  std::string domain;              // lower-case A-label form
  std::string tracking_domain;     // lower-case A-label form; names a TrackingDomain
  bool from_store = false;         // effective configuration only, as above
  std::int64_t subaccount_id = 0;  // 0: the primary account
};

// An HTTP challenge the tracker answers (effective configuration only): GET
// http://<domain>/.well-known/trackrelay/<token> → 200 with the token, for
// that host only.
struct HttpChallenge {
  std::string domain;  // lower-case A-label
  std::string token;
};

// Bounds on the work the rewrite engine spends on one message part.
struct RewriteLimits {
  std::size_t max_message_bytes = 64u << 20;   // larger messages pass through untouched
  std::size_t max_html_part_bytes = 8u << 20;  // larger HTML parts pass through untouched
  std::size_t max_text_part_bytes = 8u << 20;
  int max_html_parse_errors = 20000;  // gumbo parse errors before a part is given up
  int max_html_depth = 400;           // element nesting beyond which a part is given up
  std::size_t max_tracked_url_length = 2000;
  // Which LinkScanner finds HTML links: "fast" (a tokenizer that delegates
  // anything tree-dependent to gumbo) or "gumbo" (always the full parse).
  std::string html_scanner = "fast";
};

// relay: the SMTP relay filter (relay/ extends this as it grows).
struct RelayConfig {
  std::vector<std::string> listen;  // "host:port" ("[::1]:10025" for IPv6); empty = no relay
  std::string upstream;             // "host:port", or "maildir:PATH" (built-in capture)
  std::vector<std::string> clients = {"127.0.0.0/8", "::1/128"};  // may relay without AUTH
  std::size_t max_message_size = 52428800;                        // SIZE, enforced
  std::string hostname;       // greeting/EHLO name; "" = the system host name
  int max_sessions = 200;     // concurrent client sessions
  int max_recipients = 1000;  // per transaction
  int max_errors = 20;        // error replies before the session is closed
  int workers = 0;            // rewrite threads; 0 = one per CPU
  // Timeouts in seconds (RFC 5321 §4.5.3.2 defaults).
  int command_timeout = 300;          // waiting for the client's next command
  int data_timeout = 180;             // each read of message data, each write to the client
  int upstream_connect_timeout = 30;  // TCP connect to the upstream
  int upstream_reply_timeout = 300;   // greeting, EHLO, MAIL, RCPT, DATA, RSET replies
  int upstream_data_timeout = 600;    // the reply to the end of the message
  // TLS and AUTH.
  std::string tls_cert;                        // PEM chain: enables STARTTLS for clients
  std::string tls_key;                         // PEM private key of tls_cert
  bool require_tls = false;                    // refuse MAIL before STARTTLS
  std::vector<std::string> auth;               // "user:pbkdf2-sha256$ITER$SALT$HASH": enables AUTH
  bool auth_over_plaintext = false;            // offer AUTH without TLS (loopback use)
  std::string upstream_tls = "opportunistic";  // none | opportunistic | required
  std::string upstream_user;                   // AUTH PLAIN towards the upstream when set
  std::string upstream_password;
  std::string bare_newline = "normalize";  // normalize | reject (Postfix 3.9 semantics)
  std::string protocol = "smtp";           // smtp | lmtp (RFC 2033) on the listener
  bool per_recipient = false;              // one rewritten copy per recipient (always with lmtp)
};

// One certificate of the tracking endpoint's TLS listeners, chosen by SNI.
struct TrackCertificate {
  std::vector<std::string> domains;  // host names it serves ("*.example.com": one label)
  std::string cert;                  // PEM chain file (resolved: see the file comment)
  std::string key;                   // PEM private key file
};

// track: the tracking endpoint (track/ extends this as it grows).
struct TrackConfig {
  std::vector<std::string> listen;      // plain HTTP "host:port"; empty = none
  std::vector<std::string> tls_listen;  // HTTPS "host:port"; empty = none
  std::vector<TrackCertificate> certificates;
  std::vector<std::string> trusted_proxies;  // CIDRs allowed to set X-Forwarded-For/-Proto
  int link_max_age_days = 0;                 // tokens older than this do not redirect; 0 = never
  // Who clicked (track/classify.h): the rules file ("" = built-in only), and
  // clicks this soon after the token's issue time are scanners (0 = off).
  std::string classification_rules;
  int quick_click_seconds = 0;
};

// api: the management REST API (api/).
struct ApiConfig {
  std::vector<std::string> listen;       // "host:port"; empty = no API listener
  std::size_t max_body_bytes = 1048576;  // larger request bodies get 413
  int store_poll_ms = 1000;              // how often serve looks for domain changes in the store
};

// dashboard: the operator dashboard served on the API listener (api/dashboard.h).
struct DashboardConfig {
  bool enabled = true;              // serve the dashboard under / of api.listen
  std::string admin_password_hash;  // "pbkdf2-sha256$ITER$SALT$HASH"; "" = API-key sign-in only
  int session_timeout = 28800;      // seconds a session lives without a request
  bool secure_cookie = false;       // mark the session cookie Secure (HTTPS through a proxy)
};

// dns: verification of tracking domains (dns/).
struct DnsConfig {
  std::vector<std::string> resolvers;  // "127.0.0.1:5353", "[::1]:53"; empty = the system's
  int timeout_ms = 2000;               // per lookup, all tries included
  int reverify_interval = 3600;        // seconds between periodic re-verifications; 0 = never
  int reverify_failures = 3;           // consecutive definite failures before valid → invalid
  std::optional<uint16_t> http_challenge_port = 80;  // port the HTTP challenge is fetched on
  bool allow_private_addresses = false;  // HTTP challenge may reach non-global addresses
};

// metrics: the Prometheus endpoint (metrics/).
struct MetricsConfig {
  std::vector<std::string> listen;  // "host:port" serving GET /metrics; empty = none
};

// webhooks: the dispatcher `serve` runs over the store (webhook/).
struct WebhooksConfig {
  bool enabled = true;        // run the dispatcher (one per store file: a lease row decides)
  int timeout_ms = 10000;     // one POST: connect, send and read the answer
  int retry_base_ms = 30000;  // first retry after this; doubles each time (at most 1 h)
  int retry_for = 28800;      // seconds a batch is retried before it is marked failed
};

// acme: automatic certificates for secure tracking domains (acme/, docs/tls.md).
struct AcmeConfig {
  std::string directory;      // ACME directory URL; "" = ACME off
  std::string email;          // account contact; "" = none
  std::string ca_file;        // extra CA bundle trusted for the directory's HTTPS
  int renew_before_days = 0;  // 0 = ARI's window, else when a third of the lifetime is left
  // acme.challenge: "auto" (http-01 with track.listen, else tls-alpn-01 with
  // track.tls_listen), "http-01" or "tls-alpn-01" (RFC 8737).
  std::string challenge = "auto";
};

// log: the process's log lines on stderr (base/log.h).
struct LogConfig {
  std::string format = "text";  // "text" (key=value lines) or "json" (JSON lines)
};

struct Config {
  std::string source;  // file the snapshot was loaded from ("<string>" for tests)

  std::string system_domain;  // operator's default tracking domain (lower-case A-label)
  bool system_secure = false;
  // Effective configuration only: system_secure is set in the file but no
  // live certificate covers system_domain yet (system_secure is then false).
  bool system_https_pending = false;
  std::optional<uint16_t> system_port;
  // tracking.senders: "declared" (only mail from a sending domain of the
  // message's account is tracked; other mail passes through unchanged) or
  // "any" (every message; the account's default, then the system domain).
  std::string senders = "declared";

  std::vector<SigningKey> keys;  // keys[0] signs; all verify
  TrackingDefaults defaults;
  std::vector<TrackingDomain> tracking_domains;
  std::vector<SendingDomain> sending_domains;
  RewriteLimits rewrite;
  RelayConfig relay;
  TrackConfig track;
  std::string store = "var/trackrelay.db";  // SQLite event store (resolved at load)
  ApiConfig api;
  DashboardConfig dashboard;
  DnsConfig dns;
  WebhooksConfig webhooks;
  AcmeConfig acme;
  LogConfig log;
  MetricsConfig metrics;
  // store: postgresql://… — events wait here (store/event_spool.h) while the
  // database is unreachable; one file per writer process (resolved at load).
  std::string store_spool = "var/spool";
  // Effective configuration only (api/effective.h): challenges the tracker serves.
  std::vector<HttpChallenge> http_challenges;

  // Lookup helpers (names compared in lower-case A-label form).
  const TrackingDomain* find_tracking_domain(std::string_view alabel) const;
  const SendingDomain* find_sending_domain(std::string_view alabel) const;
  // True when `host` is the system domain or any configured tracking domain.
  bool is_tracking_host(std::string_view host) const;

  // The primary account's designated default tracking domain, or its only
  // tracking domain when exactly one is declared and none is designated; null
  // otherwise. (Subaccounts' domains, from the store, never count here.)
  const TrackingDomain* default_tracking_domain() const;
  // (The full choice rule, with the system default, is rewrite/domain_choice.h.)
};

struct Diagnostic {
  enum class Severity { kWarning, kError };
  Severity severity = Severity::kError;
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
  std::string message;
  // "file:line:col: error: message" (or "warning:")
  std::string str() const;
};

struct LoadResult {
  std::shared_ptr<const Config> config;  // null when any error was found
  std::vector<Diagnostic> diagnostics;   // errors and warnings, in file order
  bool ok() const { return config != nullptr; }
};

LoadResult load_file(const std::string& path);
// `name` is used in diagnostics; relative paths (store, certificate and key
// files, secret_file, maildir:) resolve against `base_dir` ("." leaves them
// relative to the working directory: the built-in example's rule).
LoadResult load_string(std::string_view yaml, const std::string& name,
                       const std::string& base_dir = ".");

// One entry of the key table (config.cc): what docs/config.md documents.
struct ConfigKey {
  std::string_view path;           // "tracking.system_port"; "[]" marks list items
  std::string_view type;           // map, list, string, bool, port, int, size
  bool required = false;           // must be present (within its parent)
  std::string_view default_value;  // as documented; empty when there is none
  int64_t min = 0;                 // int/size/port: bounds; list: minimum items
  int64_t max = 0;                 // int/size/port: upper bound; 0 otherwise
  std::string_view doc;            // one line
};
// Every key the loader accepts, in file order (parents before children).
std::vector<ConfigKey> config_keys();

// The built-in example configuration (conf/trackrelay.example.yaml, compiled in),
// so `trackrelay` runs with no file at all.
std::string_view builtin_example_yaml();

// --- domain rules (also used by the API later) ---

// Lower-cases and converts a domain name to its A-label (punycode) form with
// IDNA2008 (libidn2). Errors say what is wrong ("empty label", "invalid
// character", ...), all with code Errc::kInvalid. A trailing dot is removed.
Result<std::string> to_alabel(std::string_view domain);

enum class TrackingDomainCheck { kOk, kPublicSuffix, kRegistrableRoot, kInvalid };
// Classifies an A-label domain with the Public Suffix List (libpsl): a tracking
// domain must be a proper subdomain of a registrable domain.
TrackingDomainCheck check_tracking_domain(std::string_view alabel);
std::string_view describe(TrackingDomainCheck);

}  // namespace trackrelay::conf
