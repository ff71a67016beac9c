// net/: endpoints and CIDR networks as the configuration writes them.
#include "net/address.h"

#include <gtest/gtest.h>

namespace trackrelay::net {
namespace {

using boost::asio::ip::make_address;

TEST(Cidr, MatchesV4V6AndMappedAddresses) {
  auto lo = parse_cidr("127.0.0.0/8");
  ASSERT_TRUE(lo.ok());
  EXPECT_TRUE(lo->contains(make_address("127.1.2.3")));
  EXPECT_TRUE(lo->contains(make_address("::ffff:127.0.0.1")));
  EXPECT_FALSE(lo->contains(make_address("128.0.0.1")));
  auto v6 = parse_cidr("2001:db8::/33");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->contains(make_address("2001:db8:7fff::1")));
  EXPECT_FALSE(v6->contains(make_address("2001:db8:8000::1")));
  EXPECT_TRUE(parse_cidr("::1")->contains(make_address("::1")));
  EXPECT_TRUE(parse_cidr("0.0.0.0/0")->contains(make_address("8.8.8.8")));
  EXPECT_TRUE(parse_cidr(" 192.168.1.7/16 ")->contains(make_address("192.168.200.1")));
}

TEST(Cidr, ErrorsNameTheEntry) {
  EXPECT_FALSE(parse_cidr("10.0.0.0/33").ok());
  EXPECT_FALSE(parse_cidr("10.0.0.0/").ok());
  EXPECT_FALSE(parse_cidr("example.com/8").ok());
  auto r = parse_cidrs({"127.0.0.0/8", "nonsense"}, "relay.clients");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("relay.clients: 'nonsense'"), std::string::npos) << r.error();
  auto nets = parse_cidrs({"10.0.0.0/8", "::1/128"}, "x");
  ASSERT_TRUE(nets.ok());
  EXPECT_TRUE(in_any(*nets, make_address("10.9.9.9")));
  EXPECT_FALSE(in_any(*nets, make_address("11.0.0.1")));
}

TEST(HostPort, Forms) {
  EXPECT_EQ(parse_host_port("127.0.0.1:25", false)->port, 25);
  EXPECT_EQ(parse_host_port("[::1]:10025", false)->host, "::1");
  EXPECT_EQ(parse_host_port("[::1]:10025", false)->str(), "[::1]:10025");
  EXPECT_EQ(parse_host_port("mx.example.net:25", false)->str(), "mx.example.net:25");
  EXPECT_FALSE(parse_host_port("::1:25", false).ok());
  EXPECT_FALSE(parse_host_port("host:0", false).ok());
  EXPECT_TRUE(parse_host_port("host:0", true).ok());
  EXPECT_FALSE(parse_host_port("host:99999", false).ok());
  EXPECT_FALSE(parse_host_port("host", false).ok());
  EXPECT_FALSE(parse_host_port("host:", false).ok());
}

TEST(Listen, Addresses) {
  EXPECT_EQ(parse_listen("127.0.0.1:8080")->port(), 8080);
  EXPECT_EQ(parse_listen("[::1]:0")->address(), make_address("::1"));
  EXPECT_EQ(parse_listen("localhost:80")->address(), make_address("127.0.0.1"));
  EXPECT_EQ(parse_listen("*:80")->address(), make_address("0.0.0.0"));
  EXPECT_EQ(parse_listen(":80")->address(), make_address("0.0.0.0"));
  EXPECT_FALSE(parse_listen("example.com:80").ok());
  EXPECT_FALSE(parse_listen("127.0.0.1").ok());
  EXPECT_FALSE(parse_listen("127.0.0.1:65536").ok());
}

// Every range an outbound connection to a tenant's name must not reach, by
// an address inside it (and at its edges), and the global neighbours that it
// must. The reason is what the operator's log says.
struct Case {
  const char* address;
  const char* reason;  // "" = global unicast
};

constexpr Case kCases[] = {
    // IPv4
    {"0.0.0.0", "unspecified (\"this network\")"},
    {"0.255.255.255", "unspecified (\"this network\")"},
    {"10.0.0.1", "RFC 1918 private"},
    {"10.255.255.255", "RFC 1918 private"},
    {"100.64.0.1", "CGNAT (100.64.0.0/10)"},
    {"100.127.255.254", "CGNAT (100.64.0.0/10)"},
    {"100.128.0.1", ""},
    {"100.63.255.255", ""},
    {"127.0.0.1", "loopback"},
    {"127.255.255.254", "loopback"},
    {"169.254.169.254", "link-local"},
    {"172.16.0.1", "RFC 1918 private"},
    {"172.31.255.255", "RFC 1918 private"},
    {"172.15.255.255", ""},
    {"172.32.0.1", ""},
    {"192.0.0.8", "IETF protocol assignments"},
    {"192.0.2.10", "documentation"},
    {"198.51.100.7", "documentation"},
    {"203.0.113.9", "documentation"},
    {"192.88.99.1", "6to4 relay anycast"},
    {"192.168.1.1", "RFC 1918 private"},
    {"198.18.0.1", "benchmarking"},
    {"198.19.255.255", "benchmarking"},
    {"224.0.0.1", "multicast"},
    {"239.255.255.250", "multicast"},
    {"240.0.0.1", "reserved"},
    {"255.255.255.255", "broadcast"},
    {"8.8.8.8", ""},
    {"93.184.216.34", ""},
    {"1.1.1.1", ""},
    // IPv6
    {"::", "unspecified"},
    {"::1", "loopback"},
    {"fc00::1", "unique local (fc00::/7)"},
    {"fd12:3456::1", "unique local (fc00::/7)"},
    {"fe80::1", "link-local"},
    {"febf::1", "link-local"},
    {"fec0::1", "site-local"},
    {"ff02::1", "multicast"},
    {"ff0e::1", "multicast"},
    {"2001:db8::1", "documentation"},
    {"3fff::1", "documentation"},
    {"2001::1", "Teredo"},
    {"100::1", "discard-only"},
    {"64:ff9b:1::1", "local-use NAT64"},
    {"4000::1", "not in global unicast space (2000::/3)"},
    {"2a00:1450:4001::1", ""},
    {"2606:4700::1111", ""},
    // IPv6 forms that embed an IPv4 address are judged by it.
    {"::ffff:127.0.0.1", "loopback"},
    {"::ffff:10.1.2.3", "RFC 1918 private"},
    {"::ffff:169.254.169.254", "link-local"},
    {"::ffff:0.0.0.0", "unspecified (\"this network\")"},
    {"::ffff:8.8.8.8", ""},
    {"::127.0.0.1", "loopback"},
    {"::192.168.0.1", "RFC 1918 private"},
    {"64:ff9b::7f00:1", "loopback"},
    {"64:ff9b::10.0.0.1", "RFC 1918 private"},
    {"64:ff9b::a9fe:a9fe", "link-local"},
    {"64:ff9b::808:808", ""},
    {"2002:7f00:1::1", "loopback"},
    {"2002:c0a8:101::1", "RFC 1918 private"},
    {"2002:6440:1::", "CGNAT (100.64.0.0/10)"},
    {"2002:808:808::1", ""},
};

TEST(Global, EveryNonGlobalRangeAndItsForms) {
  for (const Case& c : kCases) {
    const auto a = make_address(c.address);
    EXPECT_EQ(non_global_reason(a), c.reason) << c.address;
    EXPECT_EQ(is_global_unicast(a), std::string_view(c.reason).empty()) << c.address;
  }
}

}  // namespace
}  // namespace trackrelay::net
