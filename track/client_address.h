// track/client_address.h — which address a request comes from: the peer, or the client
// named by X-Forwarded-For when the peer is a trusted proxy.
// May call: base/, net/, Boost.Asio (ip addresses only).
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "net/address.h"

namespace trackrelay::track {

using boost::asio::ip::address;
using net::Cidr;

bool is_trusted(const address& peer, const std::vector<Cidr>& trusted);

// The client a request is from: the peer, unless the peer is a trusted proxy
// and sent X-Forwarded-For; then the right-most address of that list that is
// not itself a trusted proxy (each proxy appends the address it saw, so
// addresses left of the first untrusted one may be forged). An unparsable
// entry ends the walk at the last address that was parsed.
std::string client_address(const address& peer, std::string_view forwarded_for,
                           const std::vector<Cidr>& trusted);

}  // namespace trackrelay::track
