// token/token.cc — see token.h for the format and its reasons.
#include "token/token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <optional>

#include "base/strings.h"

namespace trackrelay::token {
namespace {

constexpr std::uint8_t kVersion = 1;
constexpr std::uint8_t kFlagDeflated = 0x01;
constexpr std::uint8_t kFlagMessage = 0x02;  // body ends with subaccount + transmission id
constexpr std::size_t kMaxTransmissionId = 32;
constexpr std::size_t kMacLength = 16;
constexpr std::size_t kMaxKeyId = 16;
constexpr std::size_t kMaxInflated = 16 * 1024;
constexpr std::string_view kMacContext{"trackrelay/token/1\0", 19};

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool get_varint(std::string_view& in, std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return false;
    auto b = static_cast<std::uint8_t>(in.front());
    in.remove_prefix(1);
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

void put_string(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

bool get_string(std::string_view& in, std::string& s) {
  std::uint64_t n = 0;
  if (!get_varint(in, n) || n > in.size()) return false;
  s.assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}

// HMAC-SHA256 keyed with one secret and fed kMacContext, once per thread and
// secret; each MAC continues a copy of it (EVP_MAC_CTX_dup): the same bytes
// HMAC() computes over kMacContext || signed bytes, without fetching the
// algorithm and hashing the key pads for every token.
class KeyedMac {
 public:
  bool ready_for(std::string_view secret) const { return ctx_ && secret == secret_; }

  void key(std::string_view secret) {
    ctx_.reset();
    secret_.assign(secret);
    std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr),
                                                          &EVP_MAC_free);
    if (!mac) return;
    Ctx ctx(EVP_MAC_CTX_new(mac.get()), &EVP_MAC_CTX_free);
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (!ctx ||
        EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(secret.data()),
                     secret.size(), params) != 1 ||
        EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(kMacContext.data()),
                       kMacContext.size()) != 1) {
      return;
    }
    ctx_ = std::move(ctx);
  }

  // False when OpenSSL failed (the caller then uses HMAC()).
  bool mac(std::string_view bytes, std::array<unsigned char, EVP_MAX_MD_SIZE>& md) const {
    Ctx c(EVP_MAC_CTX_dup(ctx_.get()), &EVP_MAC_CTX_free);
    std::size_t len = 0;
    return c &&
           EVP_MAC_update(c.get(), reinterpret_cast<const unsigned char*>(bytes.data()),
                          bytes.size()) == 1 &&
           EVP_MAC_final(c.get(), md.data(), &len, md.size()) == 1 && len == 32;
  }

 private:
  using Ctx = std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)>;
  Ctx ctx_{nullptr, &EVP_MAC_CTX_free};
  std::string secret_;
};

std::array<unsigned char, EVP_MAX_MD_SIZE> mac_of(std::string_view secret,
                                                  std::string_view signed_bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  thread_local KeyedMac keyed;
  if (!keyed.ready_for(secret)) keyed.key(secret);
  if (keyed.ready_for(secret) && keyed.mac(signed_bytes, md)) return md;
  md.fill(0);
  std::string input;
  input.reserve(kMacContext.size() + signed_bytes.size());
  input.append(kMacContext).append(signed_bytes);
  unsigned int md_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), md.data(), &md_len);
  return md;
}

// Raw deflate (no zlib header); empty on failure. Token bodies are a few
// hundred bytes, so a 1 KiB window and a small hash table lose nothing and
// avoid zlib's ~256 KiB per-stream set-up (measured: it dominated token cost).
// inflate_raw's 32 KiB window reads streams made with any smaller window.
// One stream per thread, reset per token: deflateReset keeps the parameters,
// so every token's bytes are what a fresh stream makes.
class Deflater {
 public:
  Deflater()
      : ok_(deflateInit2(&zs_, Z_BEST_COMPRESSION, Z_DEFLATED, -10, 2, Z_DEFAULT_STRATEGY) ==
            Z_OK) {}
  ~Deflater() {
    if (ok_) deflateEnd(&zs_);
  }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  std::string run(std::string_view in) {
    if (!ok_ || deflateReset(&zs_) != Z_OK) return {};
    std::string out(deflateBound(&zs_, in.size()), '\0');
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs_.avail_in = static_cast<uInt>(in.size());
    zs_.next_out = reinterpret_cast<Bytef*>(out.data());
    zs_.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs_, Z_FINISH);
    out.resize(zs_.total_out);
    return rc == Z_STREAM_END ? out : std::string{};
  }

 private:
  z_stream zs_{};
  bool ok_ = false;
};

std::string deflate_raw(std::string_view in) {
  thread_local Deflater deflater;
  return deflater.run(in);
}

// Raw inflate bounded to kMaxInflated bytes of output, into `out`. One
// stream and one output buffer per thread, reset per token (inflateReset keeps
// the 32 KiB window allocated; the buffer is not zero-filled each time).
class Inflater {
 public:
  Inflater() : ok_(inflateInit2(&zs_, -15) == Z_OK) {}
  ~Inflater() {
    if (ok_) inflateEnd(&zs_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  Result<std::string_view> run(std::string_view in) {
    if (!ok_ || inflateReset(&zs_) != Z_OK) return Error{"inflate init failed"};
    out_.resize(kMaxInflated);
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs_.avail_in = static_cast<uInt>(in.size());
    zs_.next_out = reinterpret_cast<Bytef*>(out_.data());
    zs_.avail_out = static_cast<uInt>(out_.size());
    const int rc = inflate(&zs_, Z_FINISH);
    if (rc != Z_STREAM_END || zs_.avail_in != 0) return Error{"body does not inflate"};
    return std::string_view(out_.data(), zs_.total_out);
  }

 private:
  z_stream zs_{};
  bool ok_ = false;
  std::string out_;
};

Result<std::string_view> inflate_raw(std::string_view in) {
  thread_local Inflater inflater;
  return inflater.run(in);
}

// A varint in its shortest encoding, <= INT64_MAX; nullopt otherwise.
std::optional<std::int64_t> get_canonical_varint(std::string_view& body) {
  const std::string_view at = body;
  std::uint64_t v = 0;
  if (!get_varint(body, v) || v > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  std::string canonical;
  put_varint(canonical, v);
  if (at.substr(0, at.size() - body.size()) != canonical) return std::nullopt;
  return static_cast<std::int64_t>(v);
}

// The fields of flag bit 1: subaccount id (0 allowed), transmission id.
Result<bool> get_message_fields(std::string_view& body, Claims& c) {
  auto sub = get_canonical_varint(body);
  if (!sub) return Error{"bad subaccount id"};
  c.subaccount_id = *sub;
  if (!get_string(body, c.transmission_id)) return Error{"truncated body"};
  const std::string& t = c.transmission_id;
  if (t.empty() || t.size() > kMaxTransmissionId ||
      !std::all_of(t.begin(), t.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return Error{"bad transmission id"};
  }
  return true;
}

std::string_view strip_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') return host;  // IPv6 literal: not a tracking host
  auto colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

}  // namespace

namespace internal {

bool decode_base64url(std::string_view text, std::string& out) {
  static constexpr auto kValues = [] {
    std::array<std::int8_t, 256> v{};
    v.fill(-1);
    for (int i = 0; i < 26; ++i) {
      v['A' + i] = static_cast<std::int8_t>(i);
      v['a' + i] = static_cast<std::int8_t>(26 + i);
    }
    for (int i = 0; i < 10; ++i) v['0' + i] = static_cast<std::int8_t>(52 + i);
    v['-'] = 62;
    v['_'] = 63;
    return v;
  }();
  if (text.size() % 4 == 1) return false;
  out.resize(text.size() * 3 / 4);
  std::size_t n = 0;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char ch : text) {
    const int v = kValues[static_cast<unsigned char>(ch)];
    if (v < 0) return false;
    acc = ((acc << 6) | static_cast<std::uint32_t>(v)) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Canonical: the last character's unused low bits are zero.
  if ((acc & ((1u << bits) - 1)) != 0) return false;
  out.resize(n);
  return true;
}

}  // namespace internal

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::kClick:
      return "click";
    case Kind::kOpen:
      return "open";
    case Kind::kInitialOpen:
      return "initial_open";
  }
  return "unknown";
}

std::string encode(const Claims& c, const Key& key) {
  std::string body;
  body.push_back(static_cast<char>(c.kind));
  put_varint(body, static_cast<std::uint64_t>(std::max<std::int64_t>(c.issued_at, 0)));
  for (const std::string* s : {&c.target, &c.link_name, &c.tracking_domain, &c.message_id,
                               &c.rcpt_to, &c.campaign_id, &c.sending_domain}) {
    put_string(body, *s);
  }
  std::uint8_t flags = 0;
  if (!c.transmission_id.empty()) {
    flags |= kFlagMessage;
    put_varint(body, static_cast<std::uint64_t>(std::max<std::int64_t>(c.subaccount_id, 0)));
    put_string(body, c.transmission_id);
  } else if (c.subaccount_id > 0) {
    put_varint(body, static_cast<std::uint64_t>(c.subaccount_id));
  }
  // verify() inflates at most kMaxInflated bytes, so a longer body is never
  // deflated: every token encode() makes verifies, or is refused by its length.
  std::string packed = body.size() <= kMaxInflated ? deflate_raw(body) : std::string{};
  if (!packed.empty() && packed.size() < body.size()) {
    flags |= kFlagDeflated;
    body = std::move(packed);
  }
  std::string raw;
  raw.push_back(static_cast<char>((kVersion << 4) | flags));
  std::string_view id = std::string_view(key.id).substr(0, kMaxKeyId);
  raw.push_back(static_cast<char>(id.size()));
  raw.append(id);
  raw.append(body);
  auto md = mac_of(key.secret, raw);
  raw.append(reinterpret_cast<const char*>(md.data()), kMacLength);
  return base64url_encode(raw);
}

Result<Claims> verify(std::string_view token, std::span<const Key> keys, std::string_view host) {
  if (token.empty() || token.size() > kMaxTokenLength) return Error{"bad token length"};
  thread_local std::string decoded;  // reused: the claims below copy what they keep
  if (!internal::decode_base64url(token, decoded)) return Error{"invalid base64url"};
  const std::string_view raw = decoded;
  if (raw.size() < 2 + kMacLength + 2) return Error{"token too short"};
  auto head = static_cast<std::uint8_t>(raw[0]);
  if ((head >> 4) != kVersion) return Error{"unknown token version"};
  if ((head & 0x0f & ~(kFlagDeflated | kFlagMessage)) != 0) return Error{"unknown token flags"};
  std::size_t id_len = static_cast<std::uint8_t>(raw[1]);
  if (id_len == 0 || id_len > kMaxKeyId || raw.size() < 2 + id_len + kMacLength + 1) {
    return Error{"bad key id"};
  }
  std::string_view key_id = raw.substr(2, id_len);
  auto key = std::find_if(keys.begin(), keys.end(), [&](const Key& k) { return k.id == key_id; });
  if (key == keys.end()) return Error{"unknown key id"};
  std::string_view signed_bytes = raw.substr(0, raw.size() - kMacLength);
  auto md = mac_of(key->secret, signed_bytes);
  if (CRYPTO_memcmp(md.data(), raw.data() + signed_bytes.size(), kMacLength) != 0) {
    return Error{"bad signature"};
  }
  std::string_view body = signed_bytes.substr(2 + id_len);
  if (head & kFlagDeflated) {
    auto inflated = inflate_raw(body);
    if (!inflated) return Error{inflated.error()};
    body = *inflated;  // the thread's inflate buffer, until its next token
  }
  Claims c;
  c.key_id = std::string(key_id);
  if (body.empty()) return Error{"empty body"};
  auto kind = static_cast<std::uint8_t>(body.front());
  body.remove_prefix(1);
  if (kind < 1 || kind > 3) return Error{"unknown token kind"};
  c.kind = static_cast<Kind>(kind);
  std::uint64_t issued = 0;
  if (!get_varint(body, issued) || issued > static_cast<std::uint64_t>(INT64_MAX)) {
    return Error{"bad issue time"};
  }
  c.issued_at = static_cast<std::int64_t>(issued);
  for (std::string* s : {&c.target, &c.link_name, &c.tracking_domain, &c.message_id, &c.rcpt_to,
                         &c.campaign_id, &c.sending_domain}) {
    if (!get_string(body, *s)) return Error{"truncated body"};
  }
  if (head & kFlagMessage) {
    if (auto r = get_message_fields(body, c); !r) return Error{r.error()};
  } else if (!body.empty()) {
    // Canonical only: present when > 0, in its shortest encoding.
    auto sub = get_canonical_varint(body);
    if (!sub || *sub == 0) return Error{"bad subaccount id"};
    c.subaccount_id = *sub;
  }
  if (!body.empty()) return Error{"trailing bytes in body"};
  if (c.tracking_domain != to_lower(strip_port(host))) {
    return Error{"token was issued for " + c.tracking_domain + ", not " + std::string(host)};
  }
  return c;
}

}  // namespace trackrelay::token
