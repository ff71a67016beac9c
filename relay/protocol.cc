// relay/protocol.cc — SMTP replies, command and path parsing, the DATA
// decoder and dot-stuffing, and the failure → reply table (see protocol.h).
// May call: base/ and the standard library.
#include "relay/protocol.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace trackrelay::relay {
namespace {

char upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Text safe inside one reply line: control bytes become '?', at most 400 bytes.
std::string one_line(std::string_view s) {
  std::string out(s.substr(0, 400));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

// RFC 5321 §4.5.3.1.3: a path is at most 256 octets.
constexpr std::size_t kMaxPath = 256;

}  // namespace

std::string Reply::wire() const {
  std::string out;
  const std::string code_text = std::to_string(code);
  if (lines.empty()) return code_text + "\r\n";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out += code_text;
    out += i + 1 < lines.size() ? '-' : ' ';
    out += lines[i];
    out += "\r\n";
  }
  return out;
}

std::string Reply::summary() const {
  std::string text = std::to_string(code);
  if (!lines.empty()) text += " " + lines.back();
  return printable(text);
}

Reply make_reply(int code, std::string text) {
  return Reply{code, {std::move(text)}};
}

Result<bool> ReplyParser::feed(std::string_view line) {
  if (line.size() < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
      line[2] < '0' || line[2] > '9' || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
    return Error{"not an SMTP reply: '" + printable(line, 80) + "'"};
  }
  const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (!reply_.lines.empty() && code != reply_.code) {
    return Error{"reply code changed inside a multi-line reply"};
  }
  reply_.code = code;
  reply_.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
  return line.size() <= 3 || line[3] == ' ';
}

Reply reply_for(Failure failure, std::string_view detail, bool at_greeting) {
  auto with = [&](int code, std::string text) {
    if (!detail.empty()) text += ": " + one_line(detail);
    return make_reply(code, std::move(text));
  };
  switch (failure) {
    case Failure::kSyntax:
      return with(501, "5.5.4 Syntax error in parameters or arguments");
    case Failure::kUnknownCommand:
      return with(500, "5.5.2 Error: command not recognized");
    case Failure::kLineTooLong:
      return with(500, "5.5.2 Error: line too long");
    case Failure::kBadSequence:
      return with(503, "5.5.1 Error: bad sequence of commands");
    case Failure::kUnsupportedParam:
      return with(555, "5.5.4 Unsupported option");
    case Failure::kNeedRecipients:
      return with(554, "5.5.1 Error: no valid recipients");
    case Failure::kTooManyRecipients:
      return with(452, "4.5.3 Error: too many recipients");
    case Failure::kRelayDenied:
      return with(554, "5.7.1 Relay access denied");
    case Failure::kAuthRequired:
      return with(530, "5.7.0 Authentication required");
    case Failure::kMessageTooBig:
      return with(552, "5.3.4 Message size exceeds fixed limit");
    case Failure::kDataLineTooLong:
      return with(550, "5.6.0 Message has a line longer than 1000 octets (RFC 5321 4.5.3.1.6)");
    case Failure::kMalformedControls:
      return with(550, "5.6.0 Malformed message controls");
    case Failure::kUpstreamUnavailable:
      return with(at_greeting ? 421 : 451, "4.4.1 Upstream MTA unavailable, try again later");
    case Failure::kUpstreamTimeout:
      return with(451, "4.4.2 Upstream MTA timed out, try again later");
    case Failure::kUpstreamProtocol:
      return with(451, "4.4.2 Upstream MTA protocol error, try again later");
    case Failure::kLocalError:
      return with(451, "4.3.0 Local error, try again later");
    case Failure::kTooManyErrors:
      return with(421, "4.7.0 Too many errors, closing connection");
    case Failure::kTimeout:
      return with(421, "4.4.2 Timeout exceeded, closing connection");
    case Failure::kShuttingDown:
      return with(421, "4.3.2 Service shutting down, closing connection");
    case Failure::kTooManySessions:
      return with(421, "4.3.2 Too many connections, try again later");
    case Failure::kTlsRequired:
      return with(530, "5.7.0 Must issue a STARTTLS command first");
    case Failure::kTlsUnavailable:
      return with(454, "4.7.0 TLS not available");
    case Failure::kAuthFailed:
      return with(535, "5.7.8 Error: authentication failed");
    case Failure::kAuthUnavailable:
      return with(503, "5.5.1 Error: authentication not enabled");
    case Failure::kBareNewline:
      return with(521, "5.5.2 Error: bare <CR> or <LF> received, closing connection");
    case Failure::kWrongHello:
      return with(500, "5.5.1 Error: this is an LMTP server, send LHLO (RFC 2033)");
    case Failure::kCopiesIncomplete:
      return with(451, "4.3.0 Not every recipient's copy was accepted, try again later");
  }
  return with(451, "4.3.0 Internal error");
}

bool ends_session(const Reply& reply) {
  return reply.code == 421 || reply.code == 521;
}

Command parse_command(std::string_view line) {
  struct Name {
    std::string_view text;
    Verb verb;
  };
  static constexpr Name kNames[] = {
      {"HELO", Verb::kHelo},         {"EHLO", Verb::kEhlo}, {"LHLO", Verb::kLhlo},
      {"MAIL", Verb::kMail},         {"RCPT", Verb::kRcpt}, {"DATA", Verb::kData},
      {"BDAT", Verb::kBdat},         {"RSET", Verb::kRset}, {"NOOP", Verb::kNoop},
      {"QUIT", Verb::kQuit},         {"VRFY", Verb::kVrfy}, {"EXPN", Verb::kExpn},
      {"HELP", Verb::kHelp},         {"AUTH", Verb::kAuth}, {"STARTTLS", Verb::kStarttls},
      {"XFORWARD", Verb::kXforward},
  };
  const std::size_t end = line.find(' ');
  const std::string_view word = line.substr(0, end);
  Command cmd;
  for (const Name& n : kNames) {
    if (iequals(word, n.text)) cmd.verb = n.verb;
  }
  if (end != std::string_view::npos) cmd.args = trim(line.substr(end));
  return cmd;
}

Reply copies_reply(const std::vector<Reply>& replies, const std::vector<std::string>& rcpts) {
  std::size_t accepted = 0;
  std::size_t refused = 0;
  const Reply* first_refusal = nullptr;
  std::size_t first_not_accepted = replies.size();
  for (std::size_t i = 0; i < replies.size(); ++i) {
    if (replies[i].positive()) {
      ++accepted;
      continue;
    }
    if (first_not_accepted == replies.size()) first_not_accepted = i;
    if (replies[i].code >= 500) {
      ++refused;
      if (first_refusal == nullptr) first_refusal = &replies[i];
    }
  }
  if (replies.empty()) return reply_for(Failure::kNeedRecipients);
  if (replies.size() == 1) return replies.front();
  if (accepted == replies.size()) {
    return make_reply(250, "2.0.0 Ok: " + std::to_string(accepted) + " of " +
                               std::to_string(replies.size()) + " copies accepted");
  }
  if (refused == replies.size()) return *first_refusal;
  const std::size_t deferred = replies.size() - accepted - refused;
  const std::string who = first_not_accepted < rcpts.size() ? rcpts[first_not_accepted] : "?";
  return reply_for(Failure::kCopiesIncomplete, std::to_string(accepted) + " accepted, " +
                                                   std::to_string(deferred) + " deferred, " +
                                                   std::to_string(refused) + " refused; <" + who +
                                                   ">: " + replies[first_not_accepted].summary());
}

const Param* PathArgs::find(std::string_view key) const {
  for (const Param& p : params) {
    if (p.key == key) return &p;
  }
  return nullptr;
}

Result<PathArgs> parse_path(std::string_view args, std::string_view prefix) {
  if (!istarts_with(args, prefix)) {
    return Error{"expected " + std::string(prefix) + "<address>"};
  }
  std::string_view rest = trim(args.substr(prefix.size()));
  PathArgs out;
  std::string_view path;
  if (!rest.empty() && rest.front() == '<') {
    const std::size_t close = rest.find('>');
    if (close == std::string_view::npos) return Error{"missing '>' after the address"};
    path = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest.front() != ' ') return Error{"garbage after the address"};
  } else {
    const std::size_t sp = rest.find(' ');
    path = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp);
    if (path.empty()) return Error{"missing address"};
  }
  if (path.size() > kMaxPath) return Error{"address too long"};
  // A source route (<@a,@b:user@c>) is ignored, as RFC 5321 §4.1.2 allows.
  if (!path.empty() && path.front() == '@') {
    const std::size_t colon = path.find(':');
    if (colon == std::string_view::npos) return Error{"bad source route"};
    path = path.substr(colon + 1);
  }
  for (char c : path) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '<' || c == '>') {
      return Error{"invalid character in the address"};
    }
  }
  out.address = std::string(path);
  rest = trim(rest);
  while (!rest.empty()) {
    const std::size_t sp = rest.find(' ');
    std::string_view word = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : trim(rest.substr(sp));
    if (word.empty()) continue;
    Param p;
    const std::size_t eq = word.find('=');
    const std::string_view key = word.substr(0, eq);
    if (key.empty()) return Error{"empty parameter name"};
    for (char c : key) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
        return Error{"bad parameter name '" + printable(key, 40) + "'"};
      }
      p.key += upper(c);
    }
    if (eq != std::string_view::npos) {
      p.value = std::string(word.substr(eq + 1));
      p.has_value = true;
    }
    out.params.push_back(std::move(p));
  }
  return out;
}

std::string format_path(std::string_view prefix, const PathArgs& args) {
  std::string out(prefix);
  out += '<';
  out += args.address;
  out += '>';
  for (const Param& p : args.params) {
    out += ' ';
    out += p.key;
    if (p.has_value) {
      out += '=';
      out += p.value;
    }
  }
  return out;
}

DataDecoder::DataDecoder(std::size_t max_size, std::size_t max_line, BareNewline mode,
                         bool after_crlf)
    : max_size_(max_size), max_line_(max_line), mode_(mode), prev_crlf_(after_crlf) {}

std::size_t DataDecoder::feed(std::string_view in) {
  std::size_t i = 0;
  while (i < in.size() && !done()) {
    const void* nl = std::memchr(in.data() + i, '\n', in.size() - i);
    const std::size_t end =
        nl != nullptr ? static_cast<std::size_t>(static_cast<const char*>(nl) - in.data()) + 1
                      : in.size();
    const std::string_view piece = in.substr(i, end - i);
    i = end;
    if (mode_ == BareNewline::kReject) {
      for (std::size_t k = 0; k < piece.size(); ++k) {
        const char prev = k > 0 ? piece[k - 1] : last_;
        if ((piece[k] == '\n') != (prev == '\r')) {
          bare_newline_ = true;  // LF without CR, or CR without LF
          return i;
        }
      }
    }
    const char before_lf = piece.size() > 1 ? piece[piece.size() - 2] : last_;
    last_ = piece.back();
    if (!discarding_ && line_.empty() && nl != nullptr) {
      // The whole line is in `in`: decoded from there, not copied into line_.
      // +1: a line ending in a bare LF is counted with the CR it should have had.
      if (piece.size() > max_line_ + 1) {
        line_too_long_ = true;
        prev_crlf_ = before_lf == '\r';
      } else {
        finish_line(piece);
      }
      continue;
    }
    if (!discarding_) {
      line_.append(piece);
      // +1: a line ending in a bare LF is counted with the CR it should have had.
      if (line_.size() > max_line_ + 1 || (nl == nullptr && line_.size() > max_line_)) {
        line_too_long_ = true;
        discarding_ = true;
        line_.clear();
      }
    }
    if (discarding_ && nl != nullptr) prev_crlf_ = before_lf == '\r';
    if (nl == nullptr) break;  // the line continues in the next read
    if (discarding_) {
      discarding_ = false;
      continue;
    }
    finish_line(line_);
  }
  return i;
}

void DataDecoder::finish_line(std::string_view line) {
  std::string_view content(line);
  content.remove_suffix(1);  // LF
  const bool crlf = !content.empty() && content.back() == '\r';
  if (crlf) content.remove_suffix(1);
  if (content.size() + 2 > max_line_) line_too_long_ = true;
  if (content == "." && crlf && prev_crlf_) {
    done_ = true;
  } else {
    // A lone "." that does not end the data is content: it stays ".".
    if (content.size() > 1 && content.front() == '.') content.remove_prefix(1);
    received_ += content.size() + 2;
    if (!too_large_) {
      if (received_ > max_size_) {
        too_large_ = true;
        std::string().swap(message_);
      } else {
        const std::size_t at = message_.size();
        message_.append(content);
        if (std::memchr(content.data(), '\r', content.size()) != nullptr) {
          std::replace(message_.begin() + static_cast<std::ptrdiff_t>(at), message_.end(), '\r',
                       ' ');
        }
        message_.append("\r\n");
      }
    }
  }
  prev_crlf_ = crlf;
  line_.clear();
}

namespace {

// Appends the bytes of `message` in canonical form: LF or CRLF -> CRLF,
// bare CR -> space, '.' doubled at the start of a line when `stuff`.
void append_canonical(std::string& out, std::string_view message, bool stuff) {
  std::size_t i = 0;
  std::size_t run = 0;  // lines from here to i are canonical: appended at once
  while (i < message.size()) {
    const void* nl = std::memchr(message.data() + i, '\n', message.size() - i);
    const std::size_t end =
        nl != nullptr ? static_cast<std::size_t>(static_cast<const char*>(nl) - message.data())
                      : message.size();
    std::string_view line = message.substr(i, end - i);
    if (nl != nullptr && !line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
      const bool stuffed = stuff && !line.empty() && line.front() == '.';
      if (!stuffed && std::memchr(line.data(), '\r', line.size()) == nullptr) {
        i = end + 1;  // already canonical
        continue;
      }
    }
    out.append(message.substr(run, i - run));
    if (stuff && !line.empty() && line.front() == '.') out += '.';
    const std::size_t at = out.size();
    out.append(line);
    std::replace(out.begin() + static_cast<std::ptrdiff_t>(at), out.end(), '\r', ' ');
    if (nl != nullptr) out += "\r\n";
    i = end + 1;
    run = i;
  }
  if (run < message.size()) out.append(message.substr(run));
}

}  // namespace

std::string dot_stuff(std::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 64 + 8);
  append_canonical(out, message, true);
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  out += ".\r\n";
  return out;
}

std::string canonical_line_ends(std::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 64 + 8);
  append_canonical(out, message, false);
  return out;
}

bool has_bare_newline(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return true;
    if (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n')) return true;
  }
  return false;
}

Result<std::string> xtext_decode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+') {
      if (i + 2 >= s.size() || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0) {
        return Error{"'+' not followed by two hex digits in xtext"};
      }
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else if (c < '!' || c > '~' || c == '=') {
      return Error{"invalid character in xtext"};
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

Result<bool> check_xtext(std::string_view value, std::size_t max, std::string_view what) {
  auto decoded = xtext_decode(value);
  if (!decoded) return Error{std::string(what) + ": " + decoded.error()};
  if (decoded->size() > max) {
    return Error{std::string(what) + " longer than " + std::to_string(max) + " characters"};
  }
  for (unsigned char c : *decoded) {
    if (c < 0x20 || c == 0x7f) return Error{std::string(what) + ": control character"};
  }
  return true;
}

}  // namespace

Result<bool> check_dsn_param(const Param& p) {
  if (!p.has_value || p.value.empty()) return Error{p.key + " needs a value"};
  if (p.key == "RET") {
    if (iequals(p.value, "FULL") || iequals(p.value, "HDRS")) return true;
    return Error{"RET must be FULL or HDRS"};
  }
  if (p.key == "ENVID") return check_xtext(p.value, 100, "ENVID");
  if (p.key == "NOTIFY") {
    if (iequals(p.value, "NEVER")) return true;
    bool seen[3] = {false, false, false};
    static constexpr std::string_view kWords[] = {"SUCCESS", "FAILURE", "DELAY"};
    std::string_view rest = p.value;
    for (;;) {
      const std::size_t comma = rest.find(',');
      const std::string_view word = rest.substr(0, comma);
      bool known = false;
      for (int w = 0; w < 3; ++w) {
        if (iequals(word, kWords[w]) && !seen[w]) seen[w] = known = true;
      }
      if (!known) return Error{"NOTIFY must be NEVER or SUCCESS,FAILURE,DELAY (each once)"};
      if (comma == std::string_view::npos) return true;
      rest = rest.substr(comma + 1);
    }
  }
  if (p.key == "ORCPT") {
    const std::size_t semi = p.value.find(';');
    if (semi == std::string::npos || semi == 0) return Error{"ORCPT must be addr-type;address"};
    for (char c : std::string_view(p.value).substr(0, semi)) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
        return Error{"ORCPT: bad address type"};
      }
    }
    const std::string_view addr = std::string_view(p.value).substr(semi + 1);
    if (addr.empty()) return Error{"ORCPT: empty address"};
    // RFC 6533 utf-8-addr-xtext may carry UTF-8 bytes; xtext rules otherwise.
    std::string ascii;
    for (char c : addr) ascii += static_cast<unsigned char>(c) >= 0x80 ? 'x' : c;
    return check_xtext(ascii, 500, "ORCPT");
  }
  return Error{"not a DSN parameter: " + p.key};
}

std::string xtext_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (c < '!' || c > '~' || c == '+' || c == '=') {
      out += '+';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string printable(std::string_view s, std::size_t max) {
  std::string out;
  for (unsigned char c : s.substr(0, max)) {
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

}  // namespace trackrelay::relay
