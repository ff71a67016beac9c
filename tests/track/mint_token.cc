// tests/track/mint_token.cc — test helper: prints a signed token with any
// claims, so tests can present tokens whose target no rewrite would produce
// (CRLF, javascript:) or that were issued for another host.
//   track_mint SECRET KIND TRACKING_DOMAIN TARGET [ISSUED_AT [SUBACCOUNT_ID]]
// KIND: click, open, initial_open. Key id "k1". May call: token/.
#include <cstdlib>
#include <iostream>
#include <string>

#include "token/token.h"

int main(int argc, char** argv) {
  namespace tk = trackrelay::token;
  if (argc < 5) {
    std::cerr << "usage: track_mint SECRET KIND TRACKING_DOMAIN TARGET [ISSUED_AT "
                 "[SUBACCOUNT_ID]]\n";
    return 64;
  }
  const std::string kind = argv[2];
  tk::Claims c;
  c.kind = kind == "click"  ? tk::Kind::kClick
           : kind == "open" ? tk::Kind::kOpen
                            : tk::Kind::kInitialOpen;
  c.tracking_domain = argv[3];
  c.target = argv[4];
  c.message_id = "minted@example.com";
  c.rcpt_to = "minted@example.net";
  c.campaign_id = "minted";
  c.sending_domain = "example.com";
  c.issued_at = argc > 5 ? std::atoll(argv[5]) : 1714564800;
  c.subaccount_id = argc > 6 ? std::atoll(argv[6]) : 0;
  std::cout << tk::encode(c, tk::Key{"k1", argv[1]}) << "\n";
  return 0;
}
