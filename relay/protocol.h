// relay/protocol.h — the SMTP wire vocabulary, without any I/O.
//
// Owns: replies (and parsing the upstream's multi-line replies), command
// parsing, MAIL/RCPT path and parameter parsing, the DATA decoder
// (dot-unstuffing, CRLF normalisation, bare CR/LF policy, line and size
// limits), canonical dot-stuffing for the upstream, xtext, RFC 3461 DSN
// parameter checks, and the one function that maps what went wrong to
// the reply a client gets (reply_for). Pure functions: unit-tested without
// sockets.
//
// May call: base/ and the standard library.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/strings.h"

namespace trackrelay::relay {

// RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including CRLF.
inline constexpr std::size_t kMaxLineOctets = 1000;
// Command lines: 512 in RFC 5321, more with extension parameters; AUTH
// initial responses (RFC 4954 §4) may be up to 12288 octets.
inline constexpr std::size_t kMaxCommandOctets = 12288;

struct Reply {
  int code = 0;
  std::vector<std::string> lines;  // the text after "250-" / "250 ", without CRLF

  bool positive() const { return code >= 200 && code < 400; }
  bool transient() const { return code >= 400 && code < 500; }
  // The reply on the wire: "250-a\r\n250 b\r\n".
  std::string wire() const;
  // "250 2.0.0 Ok" — the last line, for logs (quotes and control bytes escaped).
  std::string summary() const;
};

Reply make_reply(int code, std::string text);

// Accumulates the lines of one (possibly multi-line) reply from the upstream.
class ReplyParser {
 public:
  // `line` without CRLF. Returns true when the reply is complete; an error
  // when the line is not a reply line.
  Result<bool> feed(std::string_view line);
  Reply take() { return std::move(reply_); }

 private:
  Reply reply_;
};

// What can go wrong in a session or transaction. reply_for() is the only
// place these become SMTP replies.
enum class Failure {
  kSyntax,               // 501 5.5.4: bad arguments
  kUnknownCommand,       // 500 5.5.2
  kLineTooLong,          // 500 5.5.2: command line over the limit
  kBadSequence,          // 503 5.5.1
  kUnsupportedParam,     // 555 5.5.4: MAIL/RCPT parameter not offered
  kNeedRecipients,       // 554 5.5.1: DATA without an accepted recipient
  kTooManyRecipients,    // 452 4.5.3
  kRelayDenied,          // 554 5.7.1: not in relay.clients and not authenticated
  kAuthRequired,         // 530 5.7.0: ... and AUTH is offered
  kMessageTooBig,        // 552 5.3.4
  kDataLineTooLong,      // 550 5.6.0: a message line over 1000 octets
  kMalformedControls,    // 550 5.6.0: the engine's error (X-MSYS-API)
  kUpstreamUnavailable,  // 421 4.4.1 (greeting) / 451 4.4.1 (transaction)
  kUpstreamTimeout,      // 451 4.4.2
  kUpstreamProtocol,     // 451 4.4.2: the upstream said something that is not SMTP
  kLocalError,           // 451 4.3.0: e.g. the maildir could not be written
  kTooManyErrors,        // 421 4.7.0
  kTimeout,              // 421 4.4.2: the client was too slow
  kShuttingDown,         // 421 4.3.2
  kTooManySessions,      // 421 4.3.2
  kTlsRequired,          // 530 5.7.0: must issue STARTTLS first
  kTlsUnavailable,       // 454 4.7.0
  kAuthFailed,           // 535 5.7.8
  kAuthUnavailable,      // 503 5.5.1 / 504: no AUTH here
  kBareNewline,          // 521 5.5.2: bare <CR> or <LF> with relay.bare_newline: reject
  kWrongHello,           // 500 5.5.1: HELO/EHLO to the LMTP listener (RFC 2033 §4.1: LHLO)
  kCopiesIncomplete,     // 451 4.3.0: per-recipient copies over SMTP, not all accepted
};

// `detail` is appended to the standard text ("... : detail"). `in_session`
// distinguishes 421 (session ends) from 451 (this transaction) for upstream
// failures.
Reply reply_for(Failure failure, std::string_view detail = {}, bool at_greeting = false);
// True when the client's session ends after this reply (421, 521).
bool ends_session(const Reply& reply);

enum class Verb {
  kHelo,
  kEhlo,
  kLhlo,  // LMTP (RFC 2033)
  kMail,
  kRcpt,
  kData,
  kBdat,
  kRset,
  kNoop,
  kQuit,
  kVrfy,
  kExpn,
  kHelp,
  kStarttls,
  kAuth,
  kXforward,
  kUnknown,
};

struct Command {
  Verb verb = Verb::kUnknown;
  std::string_view args;  // after the verb and one or more spaces; trailing spaces removed
};

// `line` without its CRLF.
Command parse_command(std::string_view line);

// relay.per_recipient over SMTP: the one reply after the message, from the
// upstream's reply to each recipient's copy (`replies[i]` for `rcpts[i]`).
// Every copy accepted: `250` (the upstream's own reply for a single copy);
// every copy refused (5xx): the first refusal; anything else (a copy
// deferred, or some accepted and some refused): 451 4.3.0 saying how many
// of each and the first recipient not accepted. The client then retries
// every recipient, so copies already accepted are sent again (duplicates):
// relay.protocol: lmtp answers per recipient instead.
Reply copies_reply(const std::vector<Reply>& replies, const std::vector<std::string>& rcpts);

struct Param {
  std::string key;    // upper-case
  std::string value;  // as given ("" when the parameter has no value)
  bool has_value = false;
};

struct PathArgs {
  std::string address;  // without angle brackets; "" for the null path <>
  std::vector<Param> params;
  const Param* find(std::string_view key) const;
};

// Parses "FROM:<a@b> SIZE=10" (prefix "FROM:") or "TO:<x@y> NOTIFY=NEVER"
// (prefix "TO:"). Tolerates a space after the colon and a missing <>
// around a bare address (common client bugs); rejects spaces inside the
// path, control characters and over-long paths (RFC 5321 §4.5.3.1.3).
Result<PathArgs> parse_path(std::string_view args, std::string_view prefix);

// Rebuilds "FROM:<a@b> KEY=VALUE ..." from a path and the parameters kept.
std::string format_path(std::string_view prefix, const PathArgs& args);

// relay.bare_newline (Postfix 3.9 smtpd_forbid_bare_newline): what a bare
// <LF> (not after <CR>) or a bare <CR> (not before <LF>) from a client means.
//   kNormalize: a bare LF ends a command or content line like CRLF, but is
//     never part of the end of data; a bare CR is never a line end (it is
//     replaced by a space, so no upstream can read it as one).
//   kReject: either one is answered 521 5.5.2 and the session is closed.
enum class BareNewline { kNormalize, kReject };

// Receives the DATA stream: removes dot-stuffing, ends at "<CR><LF>.<CR><LF>"
// only (RFC 5321 §4.1.1.4: the "." line and the line end before it both
// CRLF), writes every line with CRLF (a bare LF ending becomes CRLF, a bare
// CR a space; a "." line that does not end the data stays "."), and
// enforces the size and line-length limits while still reading to the end,
// so the session stays in sync with a pipelining client. In kReject mode a
// bare CR or LF stops the decoder (bare_newline()): the session must answer
// 521 and close, since the end of data can no longer be told.
class DataDecoder {
 public:
  // `after_crlf`: the DATA command line ended with CRLF (a "." first line
  // ends the data only then).
  DataDecoder(std::size_t max_size, std::size_t max_line = kMaxLineOctets,
              BareNewline mode = BareNewline::kNormalize, bool after_crlf = true);
  // Consumes a prefix of `in`: all of it, or up to and including the
  // terminating ".<CRLF>" (or the first bare CR/LF in kReject mode).
  // Returns the number of bytes consumed.
  std::size_t feed(std::string_view in);
  bool done() const { return done_ || bare_newline_; }
  bool bare_newline() const { return bare_newline_; }
  bool too_large() const { return too_large_; }
  bool line_too_long() const { return line_too_long_; }
  std::size_t received() const { return received_; }  // octets after unstuffing
  std::string take() { return std::move(message_); }

 private:
  // Decodes one complete line (with its LF) into message_.
  void finish_line(std::string_view line);

  std::size_t max_size_;
  std::size_t max_line_;
  BareNewline mode_;
  std::string message_;
  std::string line_;  // the current, incomplete line
  bool prev_crlf_;    // the line before line_ ended with CRLF
  char last_ = '\n';  // the last byte consumed
  bool discarding_ = false;
  bool done_ = false;
  bool bare_newline_ = false;
  bool too_large_ = false;
  bool line_too_long_ = false;
  std::size_t received_ = 0;
};

// A message ready for the upstream after "DATA"/354, in canonical form so
// that neither a strict nor a lenient upstream can find an end of data or a
// command in it: every line ends with CRLF (a bare LF becomes CRLF, a bare
// CR a space), lines starting with '.' get another '.', a missing final
// CRLF is added, and ".\r\n" ends it.
std::string dot_stuff(std::string_view message);

// Raw message bytes (BDAT chunks) in canonical form: a bare LF becomes CRLF
// and a bare CR a space (relay.bare_newline: normalize).
std::string canonical_line_ends(std::string_view message);
// True when `s` has an LF not after a CR or a CR not before an LF.
bool has_bare_newline(std::string_view s);

// RFC 3461 §3.3 checks of the DSN parameters before they go upstream:
// RET=FULL|HDRS, ENVID=xtext (at most 100 characters, printable when
// decoded), NOTIFY=NEVER or a list of SUCCESS/FAILURE/DELAY, ORCPT=
// addr-type;xtext. The error says what is wrong.
Result<bool> check_dsn_param(const Param& p);

// RFC 3461 §4 xtext: '+' and bytes outside '!'..'~' and '=' become +XX.
std::string xtext_encode(std::string_view s);
// The inverse: "+" must be followed by two hex digits, and every other byte
// must be in '!'..'~' other than '='; anything else is an error.
Result<std::string> xtext_decode(std::string_view s);
// Short, log-safe rendering: control bytes escaped, at most `max` bytes.
std::string printable(std::string_view s, std::size_t max = 200);

}  // namespace trackrelay::relay
