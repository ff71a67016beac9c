// rewrite/coverage.cc — see coverage.h.
#include "rewrite/coverage.h"

#include "base/strings.h"
#include "mime/codec.h"
#include "rewrite/target.h"
#include "rewrite/text_scanner.h"

namespace trackrelay::rewrite {
namespace {

constexpr int kMaxCensusDepth = 4;  // message/rfc822 inside multipart/signed inside ...
constexpr std::size_t kMaxShownUrl = 200;

UntrackedLink make(const std::string& part, const std::string& reason, std::string_view url,
                   bool opted_out) {
  return UntrackedLink{part, reason, std::string(url.substr(0, kMaxShownUrl)), opted_out};
}

bool space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}

// href values by a plain search, for HTML that the scanner refused: the
// census must not report "no links" for a part it could not parse.
std::vector<std::string> plain_hrefs(std::string_view html) {
  std::vector<std::string> out;
  const std::string lower = to_lower(html);
  for (std::size_t at = lower.find("href"); at != std::string::npos;
       at = lower.find("href", at + 4)) {
    if (at == 0 || !space(lower[at - 1])) continue;
    std::size_t p = at + 4;
    while (p < lower.size() && space(lower[p])) ++p;
    if (p >= lower.size() || lower[p] != '=') continue;
    ++p;
    while (p < lower.size() && space(lower[p])) ++p;
    if (p >= lower.size()) break;
    std::size_t end;
    if (lower[p] == '"' || lower[p] == '\'') {
      end = lower.find(lower[p], p + 1);
      ++p;
    } else {
      end = p;
      while (end < lower.size() && !space(lower[end]) && lower[end] != '>') ++end;
    }
    if (end == std::string::npos) end = lower.size();
    out.emplace_back(html.substr(p, end - p));
  }
  return out;
}

std::string decoded_or_raw(std::string_view raw, mime::TransferEncoding encoding) {
  auto d = mime::decode_body(raw, encoding);
  return d ? std::move(*d) : std::string(raw);
}

std::string inner_path(const std::string& outer, const std::string& inner) {
  return outer + ">" + inner;
}

void census_skipped_into(std::string_view message, const mime::Structure& s,
                         const std::string& path_prefix, LinkScanner& scanner,
                         const conf::Config& config, int depth, std::vector<UntrackedLink>& out);

void census_leaves_into(std::string_view message, const mime::Structure& s,
                        const std::string& path_prefix, const std::string& reason,
                        LinkScanner& scanner, const conf::Config& config, int depth,
                        std::vector<UntrackedLink>& out) {
  for (const mime::TextLeaf& leaf : s.leaves) {
    const std::string body =
        decoded_or_raw(message.substr(leaf.body_offset, leaf.body_length), leaf.encoding);
    const std::string path = path_prefix.empty() ? leaf.path : inner_path(path_prefix, leaf.path);
    auto found = census_body(body, leaf.media_type == "text/html", path, reason, scanner, config);
    out.insert(out.end(), found.begin(), found.end());
  }
  census_skipped_into(message, s, path_prefix, scanner, config, depth, out);
}

// A part analysed on its own (the entity of a multipart/signed, the body of
// a message/rfc822): its leaves are candidates left alone for `reason`.
void census_inner(std::string_view entity, const std::string& path, const std::string& reason,
                  LinkScanner& scanner, const conf::Config& config, int depth,
                  std::vector<UntrackedLink>& out) {
  if (depth >= kMaxCensusDepth) return;
  auto inner = mime::analyse(entity, mime::CrossCheck::kSkip);
  if (!inner) return;
  census_leaves_into(entity, *inner, path, reason, scanner, config, depth + 1, out);
}

void census_skipped_into(std::string_view message, const mime::Structure& s,
                         const std::string& path_prefix, LinkScanner& scanner,
                         const conf::Config& config, int depth, std::vector<UntrackedLink>& out) {
  for (const mime::SkippedPart& p : s.skipped) {
    const std::string path = path_prefix.empty() ? p.path : inner_path(path_prefix, p.path);
    const std::string reason = "part left alone: " + p.reason;
    const std::string_view body = message.substr(p.body_offset, p.body_length);
    if (p.attachment) continue;  // not a candidate (coverage.h)
    if (p.media_type == "text/html" || p.media_type == "text/plain") {
      auto found = census_body(decoded_or_raw(body, p.encoding), p.media_type == "text/html", path,
                               reason, scanner, config);
      out.insert(out.end(), found.begin(), found.end());
    } else if (p.media_type == "message/rfc822" || p.media_type == "message/global") {
      census_inner(body, path, reason, scanner, config, depth, out);
    } else if (p.media_type.starts_with("multipart/") && p.media_type != "multipart/encrypted" &&
               !p.boundary.empty()) {
      // Its parts, read as a multipart/mixed with the same boundary (the
      // analysis would skip a multipart/signed again).
      const std::string entity = "Content-Type: multipart/mixed; boundary=\"" + p.boundary +
                                 "\"\r\n\r\n" + std::string(body);
      census_inner(entity, path, reason, scanner, config, depth, out);
    }
  }
}

}  // namespace

bool is_http_link(std::string_view href) {
  while (!href.empty() && static_cast<unsigned char>(href.front()) <= 0x20) href.remove_prefix(1);
  while (!href.empty() && static_cast<unsigned char>(href.back()) <= 0x20) href.remove_suffix(1);
  std::string url;
  for (char c : href) {
    if (c != '\t' && c != '\n' && c != '\r') url.push_back(c);
  }
  const std::string lower = to_lower(url);
  std::size_t rest;
  if (lower.starts_with("http:")) {
    rest = 5;
  } else if (lower.starts_with("https:")) {
    rest = 6;
  } else {
    return false;
  }
  // "http://" alone (a template's empty placeholder) has no host: a browser
  // cannot open it, so there is no click to measure.
  while (rest < url.size() && (url[rest] == '/' || url[rest] == '\\')) ++rest;
  return rest < url.size() && std::string_view("?#").find(url[rest]) == std::string_view::npos;
}

std::vector<UntrackedLink> census_body(std::string_view body, bool html, const std::string& part,
                                       const std::string& reason, LinkScanner& scanner,
                                       const conf::Config& config) {
  std::vector<UntrackedLink> out;
  auto add = [&](std::string_view url, bool opted_out) {
    if (!is_http_link(url) || is_tracked_url(trim(url), config)) return;
    out.push_back(
        make(part, opted_out ? "opt-out (data-msys-clicktrack=\"0\")" : reason, url, opted_out));
  };
  if (!html) {
    for (const TextLink& l : scan_text(body))
      add(body.substr(l.offset, l.length), l.clicktrack_off);
    return out;
  }
  if (auto scan = scanner.scan(body)) {
    for (const HtmlLink& l : scan->links) add(l.value, l.clicktrack_off);
  } else {
    for (const std::string& href : plain_hrefs(body)) add(href, false);
  }
  return out;
}

std::vector<UntrackedLink> census_message(std::string_view message,
                                          const mime::Structure& structure,
                                          const std::string& reason, LinkScanner& scanner,
                                          const conf::Config& config) {
  std::vector<UntrackedLink> out;
  census_leaves_into(message, structure, "", reason, scanner, config, 0, out);
  return out;
}

std::vector<UntrackedLink> census_skipped(std::string_view message,
                                          const mime::Structure& structure, LinkScanner& scanner,
                                          const conf::Config& config) {
  std::vector<UntrackedLink> out;
  census_skipped_into(message, structure, "", scanner, config, 0, out);
  return out;
}

}  // namespace trackrelay::rewrite
