// dns/resolver.cc — the c-ares Resolver. One channel per Resolver; each
// lookup runs the channel's sockets with poll() until the answer or the
// deadline (then the query is cancelled). May call: base/, c-ares, libresolv.
#include "dns/resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace trackrelay::dns {
namespace {

struct Outcome {
  bool done = false;
  int status = ARES_ETIMEOUT;
  std::vector<unsigned char> reply;
};

void on_reply(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* o = static_cast<Outcome*>(arg);
  o->done = true;
  o->status = status;
  if (abuf != nullptr && alen > 0) o->reply.assign(abuf, abuf + alen);
}

std::string describe_status(int status, int timeout_ms) {
  switch (status) {
    case ARES_ENOTFOUND:
      return "NXDOMAIN (the name does not exist)";
    case ARES_ENODATA:
      return "no record of that type";
    case ARES_ESERVFAIL:
      return "SERVFAIL from the resolver";
    case ARES_EREFUSED:
      return "the resolver refused the query";
    case ARES_ETIMEOUT:
    case ARES_ECANCELLED:
      return "no answer within " + std::to_string(timeout_ms) + " ms";
    case ARES_ECONNREFUSED:
      return "the resolver could not be reached (connection refused)";
    default:
      return std::string("lookup failed: ") + ares_strerror(status);
  }
}

std::string without_trailing_dot(std::string s) {
  while (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// TXT RDATA: one or more <length><bytes> character-strings, concatenated.
// The addresses (at most 16) of an A or AAAA reply, as text, onto *out;
// nothing when the reply does not parse.
template <class Ttl, class Addr, class Parse>
void append_addresses(const std::vector<unsigned char>& reply, Parse parse, Addr Ttl::*field,
                      int family, std::vector<std::string>* out) {
  Ttl ttls[16];
  int n = 16;
  if (parse(reply.data(), static_cast<int>(reply.size()), nullptr, ttls, &n) != ARES_SUCCESS) {
    return;
  }
  for (int i = 0; i < n; ++i) {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(family, &(ttls[i].*field), buf, sizeof buf);
    out->emplace_back(buf);
  }
}

std::string txt_strings(const unsigned char* p, std::size_t n) {
  std::string out;
  std::size_t i = 0;
  while (i < n) {
    const std::size_t len = std::min<std::size_t>(p[i], n - i - 1);
    out.append(reinterpret_cast<const char*>(p + i + 1), len);
    i += 1 + len;
  }
  return out;
}

class CaresResolver final : public Resolver {
 public:
  CaresResolver(ares_channel channel, int timeout_ms)
      : channel_(channel), timeout_ms_(timeout_ms) {}
  ~CaresResolver() override {
    ares_destroy(channel_);
    ares_library_cleanup();
  }
  CaresResolver(const CaresResolver&) = delete;
  CaresResolver& operator=(const CaresResolver&) = delete;

  Answer cname(std::string_view name) override {
    Outcome o = run(name, ns_t_cname);
    Answer a;
    if (o.status != ARES_SUCCESS) return from_status(o.status);
    ns_msg msg;
    if (ns_initparse(o.reply.data(), static_cast<int>(o.reply.size()), &msg) != 0) {
      a.detail = "unreadable answer";
      return a;
    }
    for (int i = 0; i < ns_msg_count(msg, ns_s_an); ++i) {
      ns_rr rr;
      if (ns_parserr(&msg, ns_s_an, i, &rr) != 0) continue;
      if (ns_rr_type(rr) != ns_t_cname) continue;
      char target[NS_MAXDNAME];
      if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr), target,
                             sizeof target) < 0) {
        continue;
      }
      a.values.push_back(without_trailing_dot(target));
    }
    a.kind = a.values.empty() ? Answer::Kind::kNone : Answer::Kind::kFound;
    if (a.values.empty()) a.detail = "no CNAME record";
    return a;
  }

  Answer txt(std::string_view name) override {
    Outcome o = run(name, ns_t_txt);
    if (o.status != ARES_SUCCESS) return from_status(o.status);
    Answer a;
    ns_msg msg;
    if (ns_initparse(o.reply.data(), static_cast<int>(o.reply.size()), &msg) != 0) {
      a.detail = "unreadable answer";
      return a;
    }
    for (int i = 0; i < ns_msg_count(msg, ns_s_an); ++i) {
      ns_rr rr;
      if (ns_parserr(&msg, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_txt) continue;
      a.values.push_back(txt_strings(ns_rr_rdata(rr), ns_rr_rdlen(rr)));
    }
    a.kind = a.values.empty() ? Answer::Kind::kNone : Answer::Kind::kFound;
    if (a.values.empty()) a.detail = "no TXT record";
    return a;
  }

  Answer addresses(std::string_view name) override {
    Answer out;
    out.kind = Answer::Kind::kNone;
    for (int type : {ns_t_a, ns_t_aaaa}) {
      Outcome o = run(name, type);
      if (o.status != ARES_SUCCESS) {
        Answer a = from_status(o.status);
        if (a.kind == Answer::Kind::kFailed) return a;
        continue;
      }
      if (type == ns_t_a) {
        append_addresses(o.reply, ares_parse_a_reply, &ares_addrttl::ipaddr, AF_INET, &out.values);
      } else {
        append_addresses(o.reply, ares_parse_aaaa_reply, &ares_addr6ttl::ip6addr, AF_INET6,
                         &out.values);
      }
    }
    if (!out.values.empty()) out.kind = Answer::Kind::kFound;
    if (out.values.empty()) out.detail = "no address record";
    return out;
  }

 private:
  Answer from_status(int status) const {
    Answer a;
    a.kind = status == ARES_ENOTFOUND || status == ARES_ENODATA ? Answer::Kind::kNone
                                                                : Answer::Kind::kFailed;
    a.detail = describe_status(status, timeout_ms_);
    return a;
  }

  Outcome run(std::string_view name, int type) {
    Outcome o;
    const std::string n(name);
    ares_query(channel_, n.c_str(), ns_c_in, type, on_reply, &o);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
    while (!o.done) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      if (left <= 0) {
        ares_cancel(channel_);  // runs on_reply with ARES_ECANCELLED
        if (!o.done) o.status = ARES_ETIMEOUT;
        o.done = true;
        break;
      }
      ares_socket_t socks[ARES_GETSOCK_MAXNUM];
      const int bits = ares_getsock(channel_, socks, ARES_GETSOCK_MAXNUM);
      pollfd fds[ARES_GETSOCK_MAXNUM];
      nfds_t nfds = 0;
      for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
        short events = 0;
        if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
        if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
        if (events != 0) fds[nfds++] = pollfd{socks[i], events, 0};
      }
      timeval tv_max{left / 1000, static_cast<suseconds_t>((left % 1000) * 1000)};
      timeval tv{};
      timeval* wait = ares_timeout(channel_, &tv_max, &tv);
      const int ms = static_cast<int>(wait->tv_sec * 1000 + wait->tv_usec / 1000);
      const int ready = ::poll(fds, nfds, ms > 0 ? ms : 1);
      if (ready <= 0) {
        ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
        continue;
      }
      for (nfds_t i = 0; i < nfds; ++i) {
        const bool r = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
        const bool w = (fds[i].revents & POLLOUT) != 0;
        ares_process_fd(channel_, r ? fds[i].fd : ARES_SOCKET_BAD, w ? fds[i].fd : ARES_SOCKET_BAD);
      }
    }
    if (o.status == ARES_ECANCELLED) o.status = ARES_ETIMEOUT;
    return o;
  }

  ares_channel channel_;
  int timeout_ms_;
};

std::string join(const std::vector<std::string>& servers) {
  std::string csv;
  for (const std::string& s : servers) {
    if (!csv.empty()) csv += ',';
    csv += s;
  }
  return csv;
}

}  // namespace

Answer Resolver::txt(std::string_view) {
  Answer a;
  a.detail = "this resolver does not look up TXT records";
  return a;
}

Result<void> check_servers(const std::vector<std::string>& servers) {
  for (const std::string& s : servers) {
    if (s.empty() || s.find(',') != std::string::npos) {
      return Error{"dns.resolvers: '" + s + "' is not an address (ip, ip:port, [v6]:port)"};
    }
    std::string host = s;
    if (host.front() == '[') {
      const auto close = host.find(']');
      if (close == std::string::npos) return Error{"dns.resolvers: '" + s + "': missing ']'"};
      const std::string rest = host.substr(close + 1);
      host = host.substr(1, close - 1);
      if (!rest.empty() && (rest[0] != ':' || rest.size() < 2 ||
                            rest.find_first_not_of("0123456789", 1) != std::string::npos)) {
        return Error{"dns.resolvers: '" + s + "': invalid port"};
      }
    } else if (host.find(':') == host.rfind(':') && host.find(':') != std::string::npos) {
      const std::string port = host.substr(host.find(':') + 1);
      host = host.substr(0, host.find(':'));
      if (port.empty() || port.size() > 5 ||
          port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535 ||
          std::stoi(port) == 0) {
        return Error{"dns.resolvers: '" + s + "': invalid port"};
      }
    }
    unsigned char buf[sizeof(in6_addr)];
    if (inet_pton(AF_INET, host.c_str(), buf) != 1 && inet_pton(AF_INET6, host.c_str(), buf) != 1) {
      return Error{"dns.resolvers: '" + s + "': '" + host + "' is not an IP address"};
    }
  }
  return {};
}

Result<std::unique_ptr<Resolver>> make_resolver(const std::vector<std::string>& servers,
                                                int timeout_ms) {
  if (auto r = check_servers(servers); !r) return r.failure();
  if (int rc = ares_library_init(ARES_LIB_INIT_ALL); rc != ARES_SUCCESS) {
    return Error{std::string("c-ares: ") + ares_strerror(rc)};
  }
  ares_options opts{};
  // Two tries per server within the overall deadline.
  opts.timeout = std::max(50, timeout_ms / 3);
  opts.tries = 2;
  // NOCHECKRESP: a SERVFAIL or REFUSED is reported as such (pending), not
  // retried into a misleading "connection refused".
  opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_NOCHECKRESP;
  ares_channel channel = nullptr;
  const int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS;
  if (int rc = ares_init_options(&channel, &opts, mask); rc != ARES_SUCCESS) {
    ares_library_cleanup();
    return Error{std::string("c-ares: ") + ares_strerror(rc)};
  }
  if (!servers.empty()) {
    if (int rc = ares_set_servers_ports_csv(channel, join(servers).c_str()); rc != ARES_SUCCESS) {
      ares_destroy(channel);
      ares_library_cleanup();
      return Error{"dns.resolvers: " + join(servers) + ": " + ares_strerror(rc)};
    }
  }
  return std::unique_ptr<Resolver>(std::make_unique<CaresResolver>(channel, timeout_ms));
}

}  // namespace trackrelay::dns
