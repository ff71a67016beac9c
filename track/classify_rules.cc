// track/classify_rules.cc — the built-in who-clicked rules: data, each with
// its source. Order matters: the first matching rule gives the kind
// (track/classify.h). docs/metrics.md lists the same table.
// May call: track/classify.h, net/address.h.
#include "track/classify.h"

namespace trackrelay::track {
namespace {

net::Cidr cidr(std::string_view text) {
  return net::parse_cidr(text).value();  // compiled-in constants: always valid
}

Rule rule(std::string name, Kind kind, bool clicks, bool opens, std::string source) {
  Rule r;
  r.name = std::move(name);
  r.kind = kind;
  r.clicks = clicks;
  r.opens = opens;
  r.source = std::move(source);
  return r;
}

}  // namespace

std::vector<Rule> builtin_rules() {
  std::vector<Rule> t;
  // Apple Mail Privacy Protection fetches remote content (the pixel) through
  // Apple's proxies as mail arrives, whether or not it is read.
  t.push_back(rule("apple_mpp_network", Kind::kAppleMpp, false, true,
                   "https://support.apple.com/en-us/101555 (Apple's network is 17.0.0.0/8); "
                   "https://support.apple.com/guide/mail/mlhl03be2866 (Mail Privacy Protection)"));
  t.back().networks = {cidr("17.0.0.0/8")};
  t.push_back(rule("apple_mpp_user_agent", Kind::kAppleMpp, false, true,
                   "https://support.apple.com/guide/mail/mlhl03be2866 (Mail Privacy Protection "
                   "fetches remote content privately; its proxy sends the bare "
                   "User-Agent \"Mozilla/5.0\")"));
  t.back().user_agent_equals = {"Mozilla/5.0"};
  // Mailbox providers that fetch images through their own proxy: the open
  // is real (the message was displayed), the address and agent are the proxy's.
  t.push_back(rule("gmail_image_proxy", Kind::kImageProxy, false, true,
                   "https://support.google.com/mail/answer/145919 (Gmail serves images through "
                   "Google's proxy; User-Agent \"... (via ggpht.com GoogleImageProxy)\")"));
  t.back().user_agent_contains = {"GoogleImageProxy"};
  t.push_back(
      rule("yahoo_image_proxy", Kind::kImageProxy, false, true,
           "https://help.yahoo.com/kb/SLN28749.html (Yahoo Mail proxy; User-Agent "
           "\"YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html\")"));
  t.back().user_agent_contains = {"YahooMailProxy"};
  t.push_back(rule("outlook_image_proxy", Kind::kImageProxy, false, true,
                   "Outlook.com / Microsoft 365 image proxy (User-Agent contains "
                   "\"OutlookImageProxy\")"));
  t.back().user_agent_contains = {"OutlookImageProxy"};
  // Security gateways follow links (and fetch images) before the recipient does.
  t.push_back(rule("barracuda", Kind::kScanner, true, true,
                   "https://wordtothewise.com/2013/07/barracuda-filters-clicking-all-links/ "
                   "(Barracuda intent analysis; User-Agent \"Barracuda Sentinel (EE)\")"));
  t.back().user_agent_contains = {"Barracuda"};
  t.push_back(rule("proofpoint", Kind::kScanner, true, true,
                   "Proofpoint URL Defense (urldefense.proofpoint.com): its fetcher's "
                   "User-Agent contains \"Proofpoint\""));
  t.back().user_agent_contains = {"Proofpoint"};
  t.push_back(rule("mimecast", Kind::kScanner, true, true,
                   "Mimecast URL Protect (protect-*.mimecast.com): its fetcher's User-Agent "
                   "contains \"Mimecast\""));
  t.back().user_agent_contains = {"Mimecast"};
  t.push_back(rule("microsoft_defender", Kind::kScanner, true, true,
                   "Microsoft Defender for Office 365 Safe Links and Outlook link previews "
                   "(https://learn.microsoft.com/defender-office-365/safe-links-about; "
                   "https://www.bing.com/webmasters/help/which-crawlers-does-bing-use-8c184ec0: "
                   "\"BingPreview\")"));
  t.back().user_agent_contains = {"BingPreview", "SafeLinks", "Microsoft-ATP"};
  t.push_back(rule("automation_client", Kind::kScanner, true, true,
                   "HTTP libraries and command-line clients, not mail clients or browsers "
                   "(python-requests, curl, Wget, Go-http-client, Java, Apache-HttpClient)"));
  t.back().user_agent_contains = {"python-requests",   "curl/", "Wget/", "Go-http-client", "Java/",
                                  "Apache-HttpClient", "okhttp"};
  // Requests no person made by clicking.
  t.push_back(rule("head_request", Kind::kScanner, true, true,
                   "RFC 9110 section 9.3.2: HEAD asks for the headers only; a browser "
                   "following a link or showing an image sends GET"));
  t.back().methods = {"HEAD"};
  t.push_back(rule("prefetch", Kind::kScanner, true, true,
                   "https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Sec-Purpose "
                   "(Sec-Purpose: prefetch), Purpose: prefetch (Chromium), X-Moz: prefetch "
                   "(Firefox), X-Purpose: preview (Safari)"));
  t.back().headers = {{"Sec-Purpose", "prefetch"},
                      {"Purpose", "prefetch"},
                      {"X-Moz", "prefetch"},
                      {"X-Purpose", "preview"}};
  return t;
}

}  // namespace trackrelay::track
