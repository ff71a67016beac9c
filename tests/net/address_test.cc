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

}  // namespace
}  // namespace trackrelay::net
